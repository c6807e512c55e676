//! Shared fixtures for the gofer integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::symlink;
use std::path::Path;

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use rvisor_gofer::protocol::{decode, encode, Request, RequestMessage, ResponseMessage};

/// Number of files in `many/`.
pub const MANY: usize = 1000;

/// Name of the `i`th file in `many/`; long enough that listing them takes
/// several getdents batches.
pub fn many_name(i: usize) -> String {
    format!("file-{i:04}-{}", "x".repeat(60))
}

/// Builds the test tree:
///
/// ```text
/// hello.txt            "hello gofer"
/// sub/inner.txt        "inner"
/// many/<many_name(i)>  1000 empty files
/// link    -> hello.txt
/// escape  -> /
/// up      -> ..
/// fifo                 a FIFO
/// null                 char device 1:3
/// ```
pub fn populate(root: &Path) {
    fs::write(root.join("hello.txt"), b"hello gofer").unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    fs::write(root.join("sub/inner.txt"), b"inner").unwrap();
    fs::create_dir(root.join("many")).unwrap();
    for i in 0..MANY {
        fs::write(root.join("many").join(many_name(i)), b"").unwrap();
    }
    symlink("hello.txt", root.join("link")).unwrap();
    symlink("/", root.join("escape")).unwrap();
    symlink("..", root.join("up")).unwrap();
    nix::unistd::mkfifo(
        &root.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    nix::sys::stat::mknod(
        &root.join("null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
}

/// A connected `SOCK_SEQPACKET` pair.
pub fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap()
}

/// `O_PATH | O_DIRECTORY` fd of `path`.
pub fn open_root(path: &Path) -> OwnedFd {
    let raw = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    // SAFETY: open just returned this fd; we are its only owner.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Sends raw bytes as one packet, optionally with an fd.
pub fn send_raw(sock: &OwnedFd, bytes: &[u8], fd: Option<RawFd>) {
    let iov = [IoSlice::new(bytes)];
    let fds;
    let cmsg;
    let cmsgs: &[ControlMessage<'_>] = match fd {
        Some(fd) => {
            fds = [fd];
            cmsg = [ControlMessage::ScmRights(&fds)];
            &cmsg
        }
        None => &[],
    };
    let n = sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None).unwrap();
    assert_eq!(n, bytes.len());
}

/// Receives one reply packet, returning it decoded and any fds with it.
pub fn recv_reply(sock: &OwnedFd) -> (ResponseMessage, Vec<OwnedFd>) {
    let mut buf = vec![0u8; 128 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: the kernel just installed these fds for us.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let n = msg.bytes;
    assert!(
        n <= rvisor_gofer::protocol::MAX_MESSAGE_SIZE,
        "reply of {n} bytes"
    );
    (decode(&buf[..n]).unwrap(), fds)
}

/// Sends a well-formed request and returns the reply.
pub fn raw_call(sock: &OwnedFd, tag: u64, request: Request) -> ResponseMessage {
    send_raw(
        sock,
        &encode(&RequestMessage { tag, request }).unwrap(),
        None,
    );
    recv_reply(sock).0
}
