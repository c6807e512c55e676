//! Networking: Unix domain sockets held in the sentry (`unix`), and
//! internet sockets (`inet`) served through host sockets the sentry owns in
//! the sandbox's network namespace, with their addresses (`sockaddr`),
//! option allowlist (`sockopt`), control messages (`control`) and
//! interface ioctls (`ifreq`); routing netlink sockets (`netlink`) that
//! read the network configuration through a host socket opened at boot.
//! Without a network (`--network=none`) internet and netlink sockets are
//! refused (EAFNOSUPPORT).

pub mod control;
pub mod ifreq;
pub mod inet;
pub mod netlink;
pub mod sockaddr;
pub mod sockopt;
pub mod unix;

/// What fstat shows for a socket: the sockfs device, mode 0777, its inode.
pub fn socket_attr(ino: u64) -> crate::fs::Attr {
    crate::fs::Attr {
        ino,
        dev: 0x8,
        mode: crate::fs::S_IFSOCK | 0o777,
        nlink: 1,
        blksize: 4096,
        ..crate::fs::Attr::default()
    }
}
