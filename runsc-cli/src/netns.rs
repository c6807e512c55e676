//! Network modes (the global `--network` flag) and the host network
//! namespace a sandbox runs in.
//!
//! Internet sockets of the workload are host sockets the sentry opens, so
//! the network the workload sees is the one of the namespace the sandbox
//! process is in:
//! - `sandbox` (default): the sandbox's own namespace. `rvisor do` makes a
//!   new one with only the loopback interface, up (127.0.0.1 and ::1 work,
//!   nothing else is reachable); an OCI container gets the namespace its
//!   spec asks for (joined by path, or a new one with loopback up, as runc
//!   does; docker then plugs its interfaces into it).
//! - `host`: the namespace rvisor was started in (no new one, the spec's
//!   is not joined).
//! - `none`: no internet sockets at all (EAFNOSUPPORT); OCI containers
//!   still get their namespace as the spec asks.

use std::io;

use anyhow::{Context, Result};

/// The global `--network` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Network {
    /// Internet sockets in the sandbox's own network namespace.
    Sandbox,
    /// Internet sockets in the host's (rvisor's) network namespace.
    Host,
    /// No internet sockets.
    None,
}

impl Network {
    /// The flag's spelling, for re-executed rvisor processes.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Sandbox => "sandbox",
            Network::Host => "host",
            Network::None => "none",
        }
    }

    /// Whether the sentry serves internet sockets.
    pub fn inet(self) -> bool {
        self != Network::None
    }
}

/// Moves the calling process (which must be single-threaded: namespaces
/// are per thread, and the threads and children started later inherit the
/// caller's) into a new network namespace and brings its loopback
/// interface up. Without CAP_SYS_ADMIN (rvisor run by a user), a new user
/// namespace that maps only the caller's own ids comes with it and grants
/// the capability over the new network namespace.
pub fn isolate() -> Result<()> {
    // SAFETY: unshare(2) with a flag; affects only this process.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(e).context("creating a network namespace (unshare CLONE_NEWNET)");
        }
        unprivileged_isolate().with_context(|| {
            format!(
                "creating a network namespace: {e}; run as root, or choose \
                 --network=host or --network=none"
            )
        })?;
    }
    loopback_up().context("bringing up the loopback interface")?;
    Ok(())
}

/// `unshare(CLONE_NEWUSER | CLONE_NEWNET)` with the caller's uid and gid
/// mapped to themselves.
fn unprivileged_isolate() -> Result<()> {
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare(2) with flags; affects only this process.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error()).context("unshare CLONE_NEWUSER|CLONE_NEWNET");
    }
    std::fs::write("/proc/self/setgroups", "deny").context("/proc/self/setgroups")?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1")).context("uid_map")?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1")).context("gid_map")?;
    Ok(())
}

/// Sets IFF_UP on `lo` in the caller's network namespace (a new namespace
/// has it down; bringing it up gives it 127.0.0.1/8 and ::1). Only raw,
/// async-signal-safe calls: usable between fork and exec.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket(2) with integer arguments; the descriptor is closed
    // below on every path.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ifreq is plain data; the name is copied into its first bytes.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the live `req`.
    let r = unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            -1
        } else {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &req)
        }
    };
    let err = io::Error::last_os_error();
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    if r < 0 {
        return Err(err);
    }
    Ok(())
}
