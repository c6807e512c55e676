//! Internet sockets (AF_INET, AF_INET6; TCP and UDP) served through host
//! sockets that the sentry opens and owns, in the network namespace the
//! sandbox runs in (gVisor's "hostinet").
//!
//! The workload never holds the host descriptor. Every operation here is
//! one host call the sentry makes with its own buffers and checked values
//! (addresses from [`super::sockaddr`], option values sized by
//! [`super::sockopt`]); the host descriptor is always `O_NONBLOCK`, so a
//! call that would block returns EAGAIN and the system call layer
//! (`syscalls/inet.rs`) waits for the descriptor's readiness, interruptible
//! by signals, honouring the socket's timeouts. The host kernel does the
//! protocol work and answers with Linux's own errors.

use std::any::Any;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sockaddr::SockAddr;
use crate::fs::{Attr, FileOps, IoctlIo};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

fn last_errno() -> Errno {
    Errno::new(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn check(r: libc::c_int) -> SysResult<libc::c_int> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

fn check_size(r: isize) -> SysResult<usize> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r as usize)
    }
}

/// A socket's blocking timeouts (SO_RCVTIMEO, SO_SNDTIMEO): None waits
/// forever; zero does not wait at all (what a negative `tv_sec` sets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Receiving and accepting.
    pub rcv: Option<Duration>,
    /// Sending and connecting.
    pub snd: Option<Duration>,
}

/// What one receive returned.
#[derive(Debug, Default)]
pub struct Received {
    /// Bytes placed in the buffer.
    pub len: usize,
    /// The sender's address (empty for connected streams).
    pub from: SockAddr,
    /// Control messages the host produced.
    pub control: Vec<u8>,
    /// `msg_flags` (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_ERRQUEUE).
    pub flags: i32,
}

/// An internet socket backed by a host socket.
pub struct InetSocket {
    fd: OwnedFd,
    /// AF_INET or AF_INET6.
    pub family: i32,
    /// SOCK_STREAM or SOCK_DGRAM.
    pub kind: i32,
    ino: u64,
    /// Notified after every operation: edge-triggered epoll reports a
    /// socket again only after its generation moved, and a waiter that
    /// left out readiness it already reported looks again.
    queue: WaitQueue,
    timeouts: Mutex<Timeouts>,
}

impl InetSocket {
    /// A new host socket. `kind` is SOCK_STREAM (TCP) or SOCK_DGRAM (UDP)
    /// and `protocol` the matching IPPROTO_* (the caller checked both).
    pub fn create(family: i32, kind: i32, protocol: i32, ino: u64) -> SysResult<Arc<Self>> {
        // SAFETY: socket(2) with plain integer arguments; returns a new fd
        // or -1.
        let fd = check(unsafe {
            libc::socket(
                family,
                kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                protocol,
            )
        })
        .map_err(|e| {
            // Out of host descriptors is the sandbox's ENFILE-like
            // condition; the workload sees ENOBUFS as Linux gives when it
            // cannot allocate a socket.
            if e == Errno::EMFILE || e == Errno::ENFILE {
                Errno::ENOBUFS
            } else {
                e
            }
        })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self::wrap(fd, family, kind, ino, Timeouts::default()))
    }

    fn wrap(fd: OwnedFd, family: i32, kind: i32, ino: u64, t: Timeouts) -> Arc<Self> {
        Arc::new(InetSocket {
            fd,
            family,
            kind,
            ino,
            queue: WaitQueue::new(),
            timeouts: Mutex::new(t),
        })
    }

    /// The host descriptor (for waiting on its readiness).
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn touched(&self) {
        self.queue.notify_all();
    }

    /// The socket's timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts.lock().map(|t| *t).unwrap_or_default()
    }

    /// Sets the receive (`rcv`) or send timeout.
    pub fn set_timeout(&self, rcv: bool, t: Option<Duration>) {
        if let Ok(mut g) = self.timeouts.lock() {
            if rcv {
                g.rcv = t;
            } else {
                g.snd = t;
            }
        }
    }

    /// bind(2).
    pub fn bind(&self, addr: &SockAddr) -> SysResult<()> {
        let (p, l) = addr.as_host();
        // SAFETY: `p` points to `l` initialised bytes of the sentry's copy.
        let r = check(unsafe { libc::bind(self.raw(), p, l) });
        self.touched();
        r.map(|_| ())
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> SysResult<()> {
        // SAFETY: listen(2) with integer arguments.
        let r = check(unsafe { libc::listen(self.raw(), backlog) });
        self.touched();
        r.map(|_| ())
    }

    /// connect(2) on the non-blocking host socket: EINPROGRESS while a
    /// TCP handshake runs, EALREADY if one already does.
    pub fn connect(&self, addr: &SockAddr) -> SysResult<()> {
        let (p, l) = addr.as_host();
        // SAFETY: `p` points to `l` initialised bytes of the sentry's copy.
        let r = check(unsafe { libc::connect(self.raw(), p, l) });
        self.touched();
        r.map(|_| ())
    }

    /// Takes the pending socket error (SO_ERROR), 0 when none.
    pub fn take_error(&self) -> SysResult<i32> {
        let v = self.getsockopt(libc::SOL_SOCKET, libc::SO_ERROR, 4)?;
        Ok(i32::from_ne_bytes(
            v.get(..4).and_then(|b| b.try_into().ok()).unwrap_or([0; 4]),
        ))
    }

    /// accept(2): a queued connection as a new socket (inheriting this
    /// one's timeouts, as Linux's clone of the listener does) and the
    /// peer's address; EAGAIN when none is queued.
    pub fn accept(&self, ino: u64) -> SysResult<(Arc<InetSocket>, SockAddr)> {
        let mut addr = SockAddr::empty();
        let (p, mut l) = addr.as_host_mut();
        // SAFETY: `p` is the sentry's 128-byte address buffer, `l` its size.
        let r = unsafe {
            libc::accept4(
                self.raw(),
                p,
                &mut l,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        self.touched();
        let fd = check(r).map_err(|e| {
            if e == Errno::EMFILE || e == Errno::ENFILE {
                Errno::ENOBUFS
            } else {
                e
            }
        })?;
        addr.set_len(l);
        // SAFETY: accept4 returned a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok((
            Self::wrap(fd, self.family, self.kind, ino, self.timeouts()),
            addr,
        ))
    }

    /// getsockname(2) (`peer` false) or getpeername(2).
    pub fn name(&self, peer: bool) -> SysResult<SockAddr> {
        let mut addr = SockAddr::empty();
        let (p, mut l) = addr.as_host_mut();
        // SAFETY: `p` is the sentry's 128-byte address buffer, `l` its size.
        let r = unsafe {
            if peer {
                libc::getpeername(self.raw(), p, &mut l)
            } else {
                libc::getsockname(self.raw(), p, &mut l)
            }
        };
        check(r)?;
        addr.set_len(l);
        Ok(addr)
    }

    /// shutdown(2).
    pub fn shutdown(&self, how: i32) -> SysResult<()> {
        // SAFETY: shutdown(2) with integer arguments.
        let r = check(unsafe { libc::shutdown(self.raw(), how) });
        self.touched();
        r.map(|_| ())
    }

    /// One host sendmsg of `data` (to `to` if given, with checked control
    /// messages `control`), never blocking and never raising SIGPIPE in
    /// the sentry (the caller delivers it to the workload).
    pub fn send(
        &self,
        data: &[u8],
        to: Option<&SockAddr>,
        control: &[u8],
        flags: i32,
    ) -> SysResult<usize> {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: msghdr is plain data; every pointer set below refers to
        // a live sentry buffer of the stated length.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        if let Some(a) = to {
            let (p, l) = a.as_host();
            m.msg_name = p as *mut libc::c_void;
            m.msg_namelen = l;
        }
        if !control.is_empty() {
            m.msg_control = control.as_ptr() as *mut libc::c_void;
            m.msg_controllen = control.len();
        }
        // SAFETY: `m` describes sentry-owned buffers only; the host reads
        // them and writes nothing.
        let r = unsafe {
            libc::sendmsg(
                self.raw(),
                &m,
                flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        self.touched();
        check_size(r)
    }

    /// One host recvmsg into `buf` (with up to `control_cap` control
    /// bytes), never blocking.
    pub fn recv(&self, buf: &mut [u8], control_cap: usize, flags: i32) -> SysResult<Received> {
        let mut out = Received {
            control: vec![0u8; control_cap.min(super::control::RECV_MAX)],
            ..Received::default()
        };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; every pointer set below refers to
        // a live sentry buffer of the stated length.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        let (np, nl) = out.from.as_host_mut();
        m.msg_name = np as *mut libc::c_void;
        m.msg_namelen = nl;
        if !out.control.is_empty() {
            m.msg_control = out.control.as_mut_ptr() as *mut libc::c_void;
            m.msg_controllen = out.control.len();
        }
        // SAFETY: `m` describes sentry-owned buffers of the given sizes.
        let r = unsafe { libc::recvmsg(self.raw(), &mut m, flags | libc::MSG_DONTWAIT) };
        self.touched();
        out.len = check_size(r)?;
        out.from.set_len(m.msg_namelen);
        out.control
            .truncate(m.msg_controllen.min(out.control.len()));
        out.flags = m.msg_flags;
        Ok(out)
    }

    /// getsockopt(2) on the host socket with a value buffer of `len` bytes
    /// (the caller bounded it); returns the bytes the host produced.
    pub fn getsockopt(&self, level: i32, name: i32, len: usize) -> SysResult<Vec<u8>> {
        let mut v = vec![0u8; len];
        let mut l = len as libc::socklen_t;
        // SAFETY: `v` is a live buffer of `l` bytes.
        check(unsafe {
            libc::getsockopt(
                self.raw(),
                level,
                name,
                v.as_mut_ptr() as *mut libc::c_void,
                &mut l,
            )
        })?;
        v.truncate((l as usize).min(len));
        Ok(v)
    }

    /// setsockopt(2) on the host socket with the sentry's copy of the value.
    pub fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> SysResult<()> {
        // SAFETY: `val` is a live buffer of the stated length.
        let r = check(unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                val.as_ptr() as *const libc::c_void,
                val.len() as libc::socklen_t,
            )
        });
        self.touched();
        r.map(|_| ())
    }

    /// Host readiness now, as poll(2) bits.
    pub fn ready(&self, events: i16) -> u32 {
        let mut p = libc::pollfd {
            fd: self.raw(),
            events,
            revents: 0,
        };
        // SAFETY: one live pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) };
        p.revents as u16 as u32
    }

    /// An ioctl whose argument is an int the host writes (FIONREAD,
    /// SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK).
    fn ioctl_int(&self, cmd: u64) -> SysResult<i32> {
        let mut v: libc::c_int = 0;
        // SAFETY: these requests write one int into the live local.
        check(unsafe { libc::ioctl(self.raw(), cmd as _, &mut v) })?;
        Ok(v)
    }
}

/// SIOCOUTQ (the same number as TIOCOUTQ).
const SIOCOUTQ: u64 = 0x5411;
/// SIOCOUTQNSD: unsent bytes in the send queue.
const SIOCOUTQNSD: u64 = 0x894b;
/// SIOCATMARK: at the urgent mark.
const SIOCATMARK: u64 = 0x8905;

impl FileOps for InetSocket {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.recv(buf, 0, 0).map(|r| r.len)
    }
    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.send(buf, None, &[], 0)
    }
    fn poll(&self) -> u32 {
        self.ready(libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP)
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
    fn host_fd(&self) -> Option<RawFd> {
        Some(self.raw())
    }
    fn stat(&self) -> SysResult<Attr> {
        Ok(super::socket_attr(self.ino))
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
        match cmd as u64 {
            libc::FIONREAD | SIOCOUTQ | SIOCOUTQNSD | SIOCATMARK => {
                let v = self.ioctl_int(cmd as u64)?;
                io.write(arg, &v.to_ne_bytes())?;
                Ok(0)
            }
            _ => super::ifreq::ioctl(self.raw(), cmd, arg, io),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
