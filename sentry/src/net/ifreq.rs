//! Network-interface ioctls on sockets (`SIOCGIF*`): what programs use to
//! list interfaces and read their names, indexes, flags, addresses and
//! MTUs. The answers are the host's for the network namespace the sandbox
//! runs in (its own, unless `--network=host`). The sentry copies the
//! `struct ifreq` (40 plain bytes, no pointers) in and out and asks the
//! host; `SIOCGIFCONF`'s buffer is the sentry's own, bounded. Changing an
//! interface (`SIOCSIF*`, `SIOCADDRT`, …) needs CAP_NET_ADMIN, which the
//! workload does not get: EPERM.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::fs::IoctlIo;
use crate::{Errno, SysResult};

/// `sizeof(struct ifreq)`.
const IFREQ: usize = 40;
/// `sizeof(struct ifconf)`.
const IFCONF: usize = 16;
/// Most bytes of interface list one SIOCGIFCONF returns.
const IFCONF_MAX: usize = 64 << 10;

const SIOCGIFNAME: u32 = 0x8910;
const SIOCGIFCONF: u32 = 0x8912;
const SIOCGIFFLAGS: u32 = 0x8913;
const SIOCGIFADDR: u32 = 0x8915;
const SIOCGIFDSTADDR: u32 = 0x8917;
const SIOCGIFBRDADDR: u32 = 0x8919;
const SIOCGIFNETMASK: u32 = 0x891b;
const SIOCGIFMETRIC: u32 = 0x891d;
const SIOCGIFMTU: u32 = 0x8921;
const SIOCGIFHWADDR: u32 = 0x8927;
const SIOCGIFINDEX: u32 = 0x8933;
const SIOCGIFTXQLEN: u32 = 0x8942;

/// Whether `cmd` is an interface ioctl this module answers (reads and the
/// refused changes).
pub fn is_interface_ioctl(cmd: u32) -> bool {
    is_get(cmd) || cmd == SIOCGIFCONF || is_set(cmd)
}

fn is_get(cmd: u32) -> bool {
    matches!(
        cmd,
        SIOCGIFNAME
            | SIOCGIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFDSTADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMETRIC
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
    )
}

/// Requests that change interfaces or routes: SIOCADDRT, SIOCDELRT and
/// the SIOCS* / SIOCADDMULTI / SIOCDELMULTI / SIOCDIFADDR requests.
fn is_set(cmd: u32) -> bool {
    matches!(
        cmd,
        0x890b // SIOCADDRT
            | 0x890c // SIOCDELRT
            | 0x8911 // SIOCSIFLINK
            | 0x8914 // SIOCSIFFLAGS
            | 0x8916 // SIOCSIFADDR
            | 0x8918 // SIOCSIFDSTADDR
            | 0x891a // SIOCSIFBRDADDR
            | 0x891c // SIOCSIFNETMASK
            | 0x891e // SIOCSIFMETRIC
            | 0x8920 // SIOCSIFMEM
            | 0x8922 // SIOCSIFMTU
            | 0x8923 // SIOCSIFNAME
            | 0x8924 // SIOCSIFHWADDR
            | 0x8926 // SIOCSIFENCAP
            | 0x8930 // SIOCSIFSLAVE
            | 0x8931 // SIOCADDMULTI
            | 0x8932 // SIOCDELMULTI
            | 0x8934 // SIOCSIFPFLAGS
            | 0x8936 // SIOCDIFADDR
            | 0x8937 // SIOCSIFHWBROADCAST
            | 0x8941 // SIOCSIFBR
            | 0x8943 // SIOCSIFTXQLEN
            | 0x8971 // SIOCSIFMAP
    )
}

/// Serves interface ioctl `cmd` on host socket `fd`; ENOTTY for requests
/// that are not interface ioctls.
pub fn ioctl(fd: RawFd, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
    if cmd == SIOCGIFCONF {
        return ifconf(fd, arg, io);
    }
    if !is_get(cmd) && !is_set(cmd) {
        return Err(Errno::ENOTTY);
    }
    let mut req = [0u8; IFREQ];
    io.read(arg, &mut req)?;
    if is_set(cmd) {
        return Err(Errno::EPERM);
    }
    // SAFETY: every listed request reads and writes one struct ifreq (40
    // bytes, no pointers) at the given address: the sentry's buffer.
    let r = unsafe { libc::ioctl(fd, cmd as _, req.as_mut_ptr()) };
    if r < 0 {
        return Err(last_errno());
    }
    io.write(arg, &req)?;
    Ok(0)
}

/// Serves an interface ioctl made on a socket that has no host socket (a
/// Unix socket: glibc's `if_nametoindex` and friends open one) through a
/// short-lived host UDP socket.
pub fn ioctl_detached(cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
    // SAFETY: socket(2) with integer arguments; returns a new fd or -1.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::IPPROTO_UDP,
        )
    };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    ioctl(fd.as_raw_fd(), cmd, arg, io)
}

fn ifconf(fd: RawFd, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
    let mut raw = [0u8; IFCONF];
    io.read(arg, &mut raw)?;
    let len = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let ptr = u64::from_ne_bytes(raw[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    let cap = if ptr == 0 {
        0
    } else {
        (len.max(0) as usize).min(IFCONF_MAX)
    };
    let mut buf = vec![0u8; cap];
    // SAFETY: ifconf is plain data; its buffer pointer is the sentry's
    // `buf` of `cap` bytes, or NULL to ask for the needed length.
    let mut c: libc::ifconf = unsafe { std::mem::zeroed() };
    c.ifc_len = cap as i32;
    c.ifc_ifcu.ifcu_buf = if ptr == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr() as *mut libc::c_char
    };
    // SAFETY: SIOCGIFCONF reads and writes the live `c` and at most
    // `c.ifc_len` bytes at its buffer.
    let r = unsafe { libc::ioctl(fd, SIOCGIFCONF as _, &mut c) };
    if r < 0 {
        return Err(last_errno());
    }
    let got = (c.ifc_len.max(0) as usize).min(if ptr == 0 { usize::MAX } else { cap });
    if ptr != 0 {
        io.write(ptr, &buf[..got])?;
    }
    io.write(arg, &(got.min(i32::MAX as usize) as i32).to_ne_bytes())?;
    Ok(0)
}

fn last_errno() -> Errno {
    Errno::new(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}
