//! Routing netlink sockets (AF_NETLINK, NETLINK_ROUTE) for reading the
//! network configuration: what `getifaddrs`, `if_nameindex`, `ip addr`
//! and `ip route` use.
//!
//! The workload's netlink socket lives in the sentry (a queue of reply
//! datagrams and a port id). Requests that only read — RTM_GETLINK,
//! RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETRULE — are passed one
//! message at a time to one host NETLINK_ROUTE socket that the sentry
//! opened at boot in the sandbox's network namespace ([`open_host`]; the
//! sentry's seccomp filter lets it create no netlink socket later); the
//! host's replies are queued for the workload with their port id set to
//! the workload socket's. Every other request changes the configuration
//! and needs CAP_NET_ADMIN, which the workload does not get: it is
//! answered with an NLMSG_ERROR carrying EPERM, as Linux answers an
//! unprivileged caller. Multicast groups (event subscriptions) are not
//! offered (EPERM on bind).

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use crate::fs::{poll, Attr, FileOps};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct sockaddr_nl)`.
pub const SOCKADDR_NL_LEN: usize = 12;
/// Most bytes one request datagram may have.
pub const MAX_REQUEST: usize = 64 << 10;
/// Most reply bytes one request may queue, and most queued on one
/// socket (or its receive buffer size if larger). Replies that do not fit
/// are dropped and the socket reports ENOBUFS once its queue is read, as
/// a Linux netlink socket reports an overrun.
const MAX_QUEUED: usize = 8 << 20;
/// Host receive buffer per reply datagram (dump batches are smaller).
const HOST_DGRAM: usize = 64 << 10;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_MIN_TYPE: u16 = 0x10;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;

/// RTM_GET* requests that only read: LINK, ADDR, ROUTE, NEIGH, RULE.
fn read_only(ty: u16) -> bool {
    matches!(ty, 18 | 22 | 26 | 30 | 34)
}

/// The host routing socket, opened at boot.
struct HostRoute {
    fd: Mutex<OwnedFd>,
}

static HOST: OnceLock<Option<HostRoute>> = OnceLock::new();

/// Opens the host NETLINK_ROUTE socket requests are passed to, in the
/// calling process's network namespace. Call once at boot, before the
/// sentry's seccomp filter (which allows no netlink socket); without it
/// netlink sockets are refused.
pub fn open_host() -> std::io::Result<()> {
    let mut err = None;
    HOST.get_or_init(|| {
        // SAFETY: socket(2) with integer arguments; returns a new fd or -1.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            err = Some(std::io::Error::last_os_error());
            return None;
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Some(HostRoute { fd: Mutex::new(fd) })
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether netlink requests can be served (the host socket is open).
pub fn available() -> bool {
    HOST.get().is_some_and(|h| h.is_some())
}

fn nl_u16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|x| x.try_into().ok())
        .map(u16::from_ne_bytes)
        .unwrap_or(0)
}

fn nl_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|x| x.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

impl HostRoute {
    /// Passes one request message to the host and returns the reply
    /// datagrams (until NLMSG_DONE/NLMSG_ERROR of a dump, or until the
    /// host has nothing more: rtnetlink answers synchronously).
    /// The second value is true when the replies were cut at
    /// [`MAX_QUEUED`] bytes.
    fn exchange(&self, msg: &[u8]) -> SysResult<(Vec<Vec<u8>>, bool)> {
        let fd = self.fd.lock().map_err(|_| Errno::EIO)?;
        let raw = fd.as_raw_fd();
        let mut buf = vec![0u8; HOST_DGRAM];
        // Leftovers of an earlier exchange that stopped early.
        // SAFETY: reads into the live `buf` of its length.
        while unsafe { libc::recv(raw, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) } > 0 {}
        // An unconnected netlink socket sends to the kernel (port 0).
        // SAFETY: sends `msg`, a live buffer of its length.
        let r = unsafe { libc::send(raw, msg.as_ptr() as *const libc::c_void, msg.len(), 0) };
        if r < 0 {
            return Err(last_errno());
        }
        let mut out = Vec::new();
        let mut total = 0usize;
        loop {
            // SAFETY: reads into the live `buf` of its length.
            let n = unsafe { libc::recv(raw, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n < 0 {
                let e = last_errno();
                if e == Errno::EAGAIN || e == Errno::EINTR {
                    break;
                }
                return Err(e);
            }
            let n = (n as usize).min(buf.len());
            if n == 0 {
                break;
            }
            let d = buf[..n].to_vec();
            let end = ends_exchange(&d);
            total += n;
            out.push(d);
            if end {
                break;
            }
            if total >= MAX_QUEUED {
                return Ok((out, true));
            }
        }
        Ok((out, false))
    }
}

/// Whether a reply datagram ends the exchange: it holds NLMSG_DONE (the
/// end of a dump) or NLMSG_ERROR (an error, or the ACK, always last).
/// Replies without either end when the host has nothing more.
fn ends_exchange(d: &[u8]) -> bool {
    let mut off = 0;
    while d.len() - off >= NLMSG_HDRLEN {
        let len = nl_u32(d, off) as usize;
        let ty = nl_u16(d, off + 4);
        if ty == NLMSG_DONE || ty == NLMSG_ERROR {
            return true;
        }
        if len < NLMSG_HDRLEN || len > d.len() - off {
            break;
        }
        off += (len + 3) & !3;
    }
    false
}

fn last_errno() -> Errno {
    Errno::new(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Port ids in use by the sandbox's netlink sockets.
fn ports() -> &'static Mutex<HashSet<u32>> {
    static P: OnceLock<Mutex<HashSet<u32>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

struct State {
    /// Bound port id (0: not yet).
    port: u32,
    rx: VecDeque<Vec<u8>>,
    rx_bytes: usize,
    rcvbuf: usize,
    sndbuf: usize,
    /// Replies were dropped: the next receive on an empty queue is ENOBUFS.
    overrun: bool,
}

/// A NETLINK_ROUTE socket of the workload.
pub struct NetlinkSocket {
    /// SOCK_RAW or SOCK_DGRAM.
    pub kind: i32,
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
}

/// One received datagram.
pub struct Received {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// The datagram's whole length.
    pub full_len: usize,
}

impl NetlinkSocket {
    /// A new unbound socket.
    pub fn new(kind: i32, ino: u64) -> Arc<Self> {
        Arc::new(NetlinkSocket {
            kind,
            state: Mutex::new(State {
                port: 0,
                rx: VecDeque::new(),
                rx_bytes: 0,
                rcvbuf: crate::net::unix::DEFAULT_BUF,
                sndbuf: crate::net::unix::DEFAULT_BUF,
                overrun: false,
            }),
            queue: WaitQueue::new(),
            ino,
        })
    }

    fn st(&self) -> SysResult<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Binds to `port` (0: pick one, `tgid` first as Linux does, then
    /// negative numbers from -4096 down). EINVAL if bound to another
    /// port already, EADDRINUSE if taken.
    pub fn bind(&self, port: u32, tgid: i32) -> SysResult<()> {
        let mut st = self.st()?;
        if st.port != 0 {
            return if port == 0 || port == st.port {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            };
        }
        let mut used = ports().lock().map_err(|_| Errno::EIO)?;
        let chosen = if port != 0 {
            if used.contains(&port) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else if tgid > 0 && !used.contains(&(tgid as u32)) {
            tgid as u32
        } else {
            let mut p: i32 = -4096;
            while used.contains(&(p as u32)) {
                p = p.wrapping_sub(1);
            }
            p as u32
        };
        used.insert(chosen);
        st.port = chosen;
        Ok(())
    }

    /// The bound port id (0 if unbound).
    pub fn port(&self) -> u32 {
        self.st().map(|s| s.port).unwrap_or(0)
    }

    /// (rcvbuf, sndbuf).
    pub fn bufs(&self) -> (usize, usize) {
        self.st().map(|s| (s.rcvbuf, s.sndbuf)).unwrap_or((0, 0))
    }

    /// Sets SO_RCVBUF / SO_SNDBUF (doubled, as Linux stores them).
    pub fn set_buf(&self, rcv: bool, v: usize) {
        if let Ok(mut s) = self.st() {
            let v = v.clamp(1152, 1 << 24) * 2;
            if rcv {
                s.rcvbuf = v;
            } else {
                s.sndbuf = v;
            }
        }
    }

    fn push(&self, st: &mut State, d: Vec<u8>) -> bool {
        if st.rx_bytes + d.len() > MAX_QUEUED.max(st.rcvbuf) {
            st.overrun = true;
            return false;
        }
        st.rx_bytes += d.len();
        st.rx.push_back(d);
        true
    }

    /// Sends one request datagram to the kernel (binding first if
    /// needed): each message is served as the module doc says and its
    /// replies queued. Returns the bytes accepted (all of them).
    pub fn send(&self, data: &[u8], tgid: i32) -> SysResult<usize> {
        if data.len() > MAX_REQUEST {
            return Err(Errno::EMSGSIZE);
        }
        if self.port() == 0 {
            self.bind(0, tgid)?;
        }
        let port = self.port();
        let host = HOST
            .get()
            .and_then(|h| h.as_ref())
            .ok_or(Errno::ECONNREFUSED)?;
        let mut off = 0usize;
        while data.len() - off >= NLMSG_HDRLEN {
            let len = nl_u32(data, off) as usize;
            if len < NLMSG_HDRLEN || len > data.len() - off {
                break;
            }
            let msg = &data[off..off + len];
            let ty = nl_u16(msg, 4);
            let flags = nl_u16(msg, 6);
            let mut cut = false;
            let replies = if flags & NLM_F_REQUEST == 0 || ty < NLMSG_MIN_TYPE {
                // Not a request, or a control message: nothing to do;
                // acknowledged if asked.
                if flags & NLM_F_ACK != 0 {
                    vec![error_reply(msg, 0, port)]
                } else {
                    Vec::new()
                }
            } else if read_only(ty) {
                let mut m = msg.to_vec();
                m[12..16].copy_from_slice(&0u32.to_ne_bytes());
                let (mut r, c) = host.exchange(&m)?;
                cut = c;
                for d in &mut r {
                    set_port(d, port);
                }
                r
            } else {
                vec![error_reply(msg, -libc::EPERM, port)]
            };
            {
                let mut st = self.st()?;
                st.overrun |= cut;
                for d in replies {
                    if !self.push(&mut st, d) {
                        break;
                    }
                }
            }
            off += (len + 3) & !3;
        }
        self.queue.notify_all();
        Ok(data.len())
    }

    /// Receives one datagram into `buf` (truncated to it; its whole
    /// length second). EAGAIN when none is queued; ENOBUFS once after
    /// replies were dropped.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> SysResult<Received> {
        let mut st = self.st()?;
        if st.rx.is_empty() && st.overrun {
            st.overrun = false;
            return Err(Errno::ENOBUFS);
        }
        let d = st.rx.front().ok_or(Errno::EAGAIN)?;
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        let full = d.len();
        if !peek {
            st.rx.pop_front();
            st.rx_bytes -= full;
        }
        Ok(Received {
            len: n,
            full_len: full,
        })
    }

    /// The kernel's address, as recvfrom and getpeername report it.
    pub fn kernel_addr() -> Vec<u8> {
        addr(0, 0)
    }
}

/// A sockaddr_nl for `port` and `groups`.
pub fn addr(port: u32, groups: u32) -> Vec<u8> {
    let mut v = (libc::AF_NETLINK as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&port.to_ne_bytes());
    v.extend_from_slice(&groups.to_ne_bytes());
    v
}

/// Sets the port id of every message in a reply datagram.
fn set_port(d: &mut [u8], port: u32) {
    let mut off = 0;
    while d.len() - off >= NLMSG_HDRLEN {
        let len = nl_u32(d, off) as usize;
        d[off + 12..off + 16].copy_from_slice(&port.to_ne_bytes());
        if len < NLMSG_HDRLEN || len > d.len() - off {
            break;
        }
        off += (len + 3) & !3;
    }
}

/// An NLMSG_ERROR answering `req` with `err` (0 is an ACK): the error
/// and the request's header, plus its payload for a failure (Linux's
/// netlink_ack without NETLINK_CAP_ACK).
fn error_reply(req: &[u8], err: i32, port: u32) -> Vec<u8> {
    let echoed = if err == 0 { &req[..NLMSG_HDRLEN] } else { req };
    let len = NLMSG_HDRLEN + 4 + echoed.len();
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&(len as u32).to_ne_bytes());
    v.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    v.extend_from_slice(&0u16.to_ne_bytes());
    v.extend_from_slice(&req[8..12]);
    v.extend_from_slice(&port.to_ne_bytes());
    v.extend_from_slice(&err.to_ne_bytes());
    v.extend_from_slice(echoed);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

impl FileOps for NetlinkSocket {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.recv(buf, false).map(|r| r.len)
    }
    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        let tgid = crate::fs::procfs::current().map(|c| c.0).unwrap_or(0);
        self.send(buf, tgid)
    }
    fn poll(&self) -> u32 {
        let ready = self
            .st()
            .map(|s| !s.rx.is_empty() || s.overrun)
            .unwrap_or(false);
        poll::OUT | if ready { poll::IN } else { 0 }
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
    fn stat(&self) -> SysResult<Attr> {
        Ok(super::socket_attr(self.ino))
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn release(&self) {
        if let Ok(mut st) = self.state.lock() {
            if st.port != 0 {
                if let Ok(mut used) = ports().lock() {
                    used.remove(&st.port);
                }
                st.port = 0;
            }
            st.rx.clear();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = ((NLMSG_HDRLEN + payload.len()) as u32)
            .to_ne_bytes()
            .to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&77u32.to_ne_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn errors_echo_the_request() {
        let req = msg(20, NLM_F_REQUEST | NLM_F_ACK, 9, &[1, 2, 3, 4]);
        let e = error_reply(&req, -libc::EPERM, 55);
        assert_eq!(nl_u32(&e, 0) as usize, e.len());
        assert_eq!(nl_u16(&e, 4), NLMSG_ERROR);
        assert_eq!(nl_u32(&e, 8), 9);
        assert_eq!(nl_u32(&e, 12), 55);
        assert_eq!(nl_u32(&e, 16) as i32, -libc::EPERM);
        assert_eq!(&e[20..], &req[..]);
        let ack = error_reply(&req, 0, 55);
        assert_eq!(ack.len(), 36);
    }

    #[test]
    fn ports_are_rewritten_and_exchanges_end() {
        let mut d = msg(16, 2, 1, &[0; 8]);
        d.extend(msg(NLMSG_DONE, 2, 1, &[0; 4]));
        set_port(&mut d, 1234);
        assert_eq!(nl_u32(&d, 12), 1234);
        assert_eq!(nl_u32(&d, 24 + 12), 1234);
        assert!(ends_exchange(&d));
        assert!(!ends_exchange(&msg(16, 2, 1, &[])));
        // Malformed lengths never loop or panic.
        let mut bad = msg(16, 2, 1, &[]);
        bad[..4].copy_from_slice(&3u32.to_ne_bytes());
        set_port(&mut bad, 1);
        assert!(!ends_exchange(&bad));
    }

    #[test]
    fn binding_picks_free_ports() {
        let a = NetlinkSocket::new(libc::SOCK_RAW, 1);
        let b = NetlinkSocket::new(libc::SOCK_RAW, 2);
        a.bind(0, 999_991).unwrap();
        assert_eq!(a.port(), 999_991);
        b.bind(0, 999_991).unwrap();
        assert_eq!(b.port() as i32, -4096);
        let c = NetlinkSocket::new(libc::SOCK_RAW, 3);
        assert_eq!(c.bind(999_991, 1), Err(Errno::EADDRINUSE));
        a.release();
        b.release();
        c.bind(999_991, 1).unwrap();
        c.release();
    }
}
