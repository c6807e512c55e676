//! System calls on internet sockets (`net/inet.rs`): checking the
//! workload's arguments, copying between workload memory and the sentry's
//! buffers, and blocking.
//!
//! The host socket never blocks; a blocking call waits here for the host
//! descriptor's readiness in the task's waker (so signals interrupt it),
//! until the socket's SO_RCVTIMEO/SO_SNDTIMEO (EAGAIN; EINPROGRESS for
//! connect, as Linux). Interrupted calls restart (ERESTARTSYS) unless the
//! socket has a timeout, in which case they fail with EINTR (Linux's
//! `sock_intr_errno`). A call that moved data before the interruption or
//! the timeout returns the count moved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rvisor_syscalls::abi::{Siginfo, SI_KERNEL};

use super::file::{install, read_iovecs, user_prefix, IoBuf, UIO_MAXIOV};
use crate::fs::OpenFile;
use crate::kernel::task::{TaskCtx, ERESTARTSYS};
use crate::net::control;
use crate::net::inet::InetSocket;
use crate::net::sockaddr::{SockAddr, SOCKADDR_MAX};
use crate::net::sockopt::{self, Handling};
use crate::{Errno, SysResult};

/// Most payload bytes one host call moves (larger stream transfers loop;
/// no datagram is this large).
pub const MAX_MSG: usize = 1 << 20;
/// Linux's IPPROTO_MAX (protocol numbers at or above it are EINVAL).
const IPPROTO_MAX: i32 = 263;
/// Linux's SOCK_MAX: socket types at or above it are EINVAL.
const SOCK_MAX: i32 = 11;

/// send/sendto/sendmsg flags accepted on internet sockets.
const SEND_FLAGS: i32 = libc::MSG_OOB
    | libc::MSG_DONTROUTE
    | libc::MSG_DONTWAIT
    | libc::MSG_EOR
    | libc::MSG_NOSIGNAL
    | libc::MSG_MORE
    | libc::MSG_CONFIRM;
/// recv/recvfrom/recvmsg flags accepted on internet sockets.
const RECV_FLAGS: i32 = libc::MSG_OOB
    | libc::MSG_PEEK
    | libc::MSG_DONTWAIT
    | libc::MSG_TRUNC
    | libc::MSG_WAITALL
    | libc::MSG_CMSG_CLOEXEC
    | libc::MSG_ERRQUEUE;

/// The internet socket behind `f`, if it is one.
pub fn inet_of(f: &OpenFile) -> Option<&InetSocket> {
    f.ops.as_any().downcast_ref::<InetSocket>()
}

/// Checks socket(2)'s type and protocol for an internet family and
/// returns (kind, protocol, nonblock, cloexec), with Linux's errors:
/// unknown type flags or types EINVAL, protocols out of range EINVAL,
/// raw sockets EPERM (the workload has no CAP_NET_RAW), other types
/// ESOCKTNOSUPPORT, a protocol that does not fit the type
/// EPROTONOSUPPORT.
pub fn check_type(ty: i32, protocol: i32) -> SysResult<(i32, i32, bool, bool)> {
    if ty & !(0xf | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = ty & 0xf;
    if kind >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if !(0..IPPROTO_MAX).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    let proto = match kind {
        libc::SOCK_STREAM => match protocol {
            0 | libc::IPPROTO_TCP => libc::IPPROTO_TCP,
            _ => return Err(Errno::EPROTONOSUPPORT),
        },
        libc::SOCK_DGRAM => match protocol {
            0 | libc::IPPROTO_UDP => libc::IPPROTO_UDP,
            _ => return Err(Errno::EPROTONOSUPPORT),
        },
        libc::SOCK_RAW => return Err(Errno::EPERM),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok((
        kind,
        proto,
        ty & libc::SOCK_NONBLOCK != 0,
        ty & libc::SOCK_CLOEXEC != 0,
    ))
}

fn wrap(sock: Arc<InetSocket>, nonblock: bool) -> Arc<OpenFile> {
    let fl = libc::O_RDWR as u32 | if nonblock { libc::O_NONBLOCK as u32 } else { 0 };
    OpenFile::new(sock, fl, None)
}

/// socket(2) for AF_INET / AF_INET6.
pub fn socket(ctx: &TaskCtx, family: i32, ty: i32, protocol: i32) -> SysResult<u64> {
    let (kind, proto, nb, ce) = check_type(ty, protocol)?;
    let s = InetSocket::create(family, kind, proto, ctx.kernel().next_ino())?;
    install(ctx, wrap(s, nb), ce)
}

// ---- waiting --------------------------------------------------------------

/// How long a call may block.
#[derive(Clone, Copy)]
struct Block {
    /// O_NONBLOCK or MSG_DONTWAIT: never wait.
    nonblock: bool,
    /// The socket's timeout for this direction (None: forever).
    timeout: Option<Duration>,
    /// When the timeout runs out.
    deadline: Option<Instant>,
}

impl Block {
    fn new(nonblock: bool, timeout: Option<Duration>) -> Block {
        Block {
            nonblock: nonblock || timeout == Some(Duration::ZERO),
            timeout,
            deadline: timeout.map(|d| Instant::now() + d),
        }
    }
}

/// Runs `attempt` until it stops returning EAGAIN, waiting for `events` on
/// the host socket in between. EAGAIN when not blocking or at the
/// deadline; ERESTARTSYS (EINTR with a timeout) when a signal arrives.
fn wait_ready<T>(
    ctx: &TaskCtx,
    s: &InetSocket,
    events: i16,
    b: Block,
    mut attempt: impl FnMut() -> SysResult<T>,
) -> SysResult<T> {
    loop {
        match attempt() {
            Err(e) if e == Errno::EAGAIN && !b.nonblock => {}
            r => return r,
        }
        if ctx.interrupted() {
            return Err(if b.timeout.is_some() {
                Errno::EINTR
            } else {
                Errno::new(ERESTARTSYS)
            });
        }
        if b.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Errno::EAGAIN);
        }
        ctx.task.waker.wait(&[(s.raw(), events)], b.deadline);
    }
}

// ---- addresses ------------------------------------------------------------

/// Copies an address argument (`len` is the C `int` addrlen): negative or
/// longer than a sockaddr_storage is EINVAL, as Linux's
/// `move_addr_to_kernel`.
fn read_addr(ctx: &TaskCtx, addr: u64, len: i32) -> SysResult<SockAddr> {
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = ctx.read_bytes(addr, len as usize)?;
    SockAddr::from_workload(&raw)
}

/// Writes `a` out as Linux's `move_addr_to_user`: the caller's length at
/// `ulen` caps the bytes copied (negative: EINVAL), and the full length
/// is stored back.
fn put_addr(ctx: &TaskCtx, a: &SockAddr, uaddr: u64, ulen: u64) -> SysResult<()> {
    let len: i32 = ctx.read_val(ulen)?;
    let klen = a.len() as i32;
    let n = len.min(klen);
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    if n > 0 {
        ctx.write_bytes(uaddr, &a.as_bytes()[..n as usize])?;
    }
    ctx.write_val(ulen, &klen)
}

/// Binding a port below the namespace's ip_unprivileged_port_start (1024
/// unless set; docker sets 0) needs CAP_NET_BIND_SERVICE (the host's
/// check would see the sentry's own credentials).
fn check_bind_port(ctx: &TaskCtx, a: &SockAddr) -> SysResult<()> {
    let Some(port) = a.port() else {
        return Ok(());
    };
    if port == 0 || port >= ctx.kernel().config.unprivileged_port_start {
        return Ok(());
    }
    if !super::perm::capable(ctx, crate::kernel::caps::NET_BIND_SERVICE)? {
        return Err(Errno::EACCES);
    }
    Ok(())
}

// ---- connection calls -----------------------------------------------------

/// bind(2).
pub fn bind(ctx: &TaskCtx, s: &InetSocket, addr: u64, len: i32) -> SysResult<u64> {
    let a = read_addr(ctx, addr, len)?;
    check_bind_port(ctx, &a)?;
    s.bind(&a)?;
    Ok(0)
}

/// listen(2).
pub fn listen(s: &InetSocket, backlog: i32) -> SysResult<u64> {
    s.listen(backlog)?;
    Ok(0)
}

/// connect(2). A blocking TCP connect waits for the handshake (up to
/// SO_SNDTIMEO, then EINPROGRESS) and returns its outcome, which the host
/// reports to a repeated connect; a restarted one finds the handshake
/// running (EALREADY) and waits again, as on Linux.
pub fn connect(ctx: &TaskCtx, f: &OpenFile, s: &InetSocket, addr: u64, len: i32) -> SysResult<u64> {
    let a = read_addr(ctx, addr, len)?;
    match s.connect(&a) {
        Ok(()) => return Ok(0),
        Err(e)
            if (e == Errno::EINPROGRESS || e == Errno::EALREADY)
                && !f.nonblocking()
                && s.kind == libc::SOCK_STREAM => {}
        Err(e) => return Err(e),
    }
    let b = Block::new(false, s.timeouts().snd);
    let r = wait_ready(ctx, s, libc::POLLOUT, b, || {
        if s.ready(libc::POLLOUT) == 0 {
            return Err(Errno::EAGAIN);
        }
        match s.connect(&a) {
            Err(e) if e == Errno::EALREADY || e == Errno::EINPROGRESS => Err(Errno::EAGAIN),
            r => r,
        }
    });
    match r {
        Ok(()) => Ok(0),
        Err(e) if e == Errno::EAGAIN => Err(Errno::EINPROGRESS),
        Err(e) => Err(e),
    }
}

/// accept(2) / accept4(2).
pub fn accept(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    uaddr: u64,
    ulen: u64,
    flags: i32,
) -> SysResult<u64> {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let ino = ctx.kernel().next_ino();
    let b = Block::new(f.nonblocking(), s.timeouts().rcv);
    let (conn, peer) = wait_ready(ctx, s, libc::POLLIN, b, || s.accept(ino))?;
    if uaddr != 0 {
        // A bad address loses the connection, as on Linux.
        put_addr(ctx, &peer, uaddr, ulen)?;
    }
    install(
        ctx,
        wrap(conn, flags & libc::SOCK_NONBLOCK != 0),
        flags & libc::SOCK_CLOEXEC != 0,
    )
}

/// getsockname(2) / getpeername(2).
pub fn name(ctx: &TaskCtx, s: &InetSocket, peer: bool, uaddr: u64, ulen: u64) -> SysResult<u64> {
    let a = s.name(peer)?;
    put_addr(ctx, &a, uaddr, ulen)?;
    Ok(0)
}

/// shutdown(2).
pub fn shutdown(s: &InetSocket, how: i32) -> SysResult<u64> {
    s.shutdown(how)?;
    Ok(0)
}

// ---- data -----------------------------------------------------------------

/// A walk over the workload's iovecs.
struct Iov {
    v: Vec<(u64, u64)>,
    idx: usize,
    off: u64,
}

impl Iov {
    fn new(v: Vec<(u64, u64)>) -> Iov {
        Iov { v, idx: 0, off: 0 }
    }

    fn total(&self) -> u64 {
        self.v.iter().fold(0u64, |s, (_, l)| s.saturating_add(*l))
    }

    /// Reads the next bytes into `out` (as many as fit); how many (EFAULT
    /// on an unreadable byte).
    fn next_chunk(&mut self, ctx: &TaskCtx, out: &mut [u8]) -> SysResult<usize> {
        let mut done = 0usize;
        while done < out.len() && self.idx < self.v.len() {
            let (base, len) = self.v[self.idx];
            let left = len - self.off;
            let n = left.min((out.len() - done) as u64) as usize;
            if n > 0 {
                ctx.read_into(base.wrapping_add(self.off), &mut out[done..done + n])?;
            }
            done += n;
            self.off += n as u64;
            if self.off >= len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Ok(done)
    }

    /// How many bytes from the start can be written without a fault (a
    /// receive into a buffer that is bad from its first byte is EFAULT
    /// before any data is taken from the host socket).
    fn writable(&self, ctx: &TaskCtx, max: u64) -> SysResult<u64> {
        let mut total = 0u64;
        for &(base, len) in &self.v {
            if total >= max {
                break;
            }
            let want = len.min(max - total);
            if want == 0 {
                continue;
            }
            match user_prefix(ctx, base, want, true) {
                Ok(n) => {
                    total += n;
                    if n < want {
                        break;
                    }
                }
                Err(e) => {
                    if total == 0 {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Writes `data` across the iovecs, starting `at` bytes in.
    fn scatter_at(&self, ctx: &TaskCtx, at: u64, data: &[u8]) -> SysResult<()> {
        let mut skip = at;
        let mut off = 0usize;
        for &(base, len) in &self.v {
            if off >= data.len() {
                break;
            }
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = ((len - skip) as usize).min(data.len() - off);
            ctx.write_bytes(base + skip, &data[off..off + n])?;
            off += n;
            skip = 0;
        }
        Ok(())
    }
}

fn sigpipe(ctx: &TaskCtx) {
    ctx.task
        .send_signal(Siginfo::kill(libc::SIGPIPE, SI_KERNEL, 0, 0));
}

/// Sends the bytes of `iov` (to `to` if given). A blocking stream send
/// moves everything unless a signal, the timeout or an error stops it
/// (then the count so far, if any); a datagram is one host send.
fn send_iov(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    mut iov: Iov,
    to: Option<SockAddr>,
    control: &[u8],
    flags: i32,
) -> SysResult<u64> {
    if flags & !SEND_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let stream = s.kind == libc::SOCK_STREAM;
    let total = iov.total();
    if !stream && total > MAX_MSG as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let b = Block::new(
        f.nonblocking() || flags & libc::MSG_DONTWAIT != 0,
        s.timeouts().snd,
    );
    let host_flags = flags & !(libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL);
    let mut sent = 0u64;
    let mut first = true;
    let mut io = IoBuf::take((total as usize).min(MAX_MSG));
    let buf = io.as_mut();
    loop {
        let chunk = match iov.next_chunk(ctx, buf) {
            Ok(n) => &buf[..n],
            Err(_) if sent > 0 => return Ok(sent),
            Err(e) => return Err(e),
        };
        let mut done = 0usize;
        loop {
            let ctl = if first { control } else { &[] };
            let r = wait_ready(ctx, s, libc::POLLOUT, b, || {
                s.send(&chunk[done..], to.as_ref(), ctl, host_flags)
            });
            match r {
                Ok(n) => {
                    first = false;
                    done += n;
                    sent += n as u64;
                    if !stream || done >= chunk.len() {
                        break;
                    }
                    if b.nonblock {
                        return Ok(sent);
                    }
                }
                Err(e) => {
                    if sent > 0 {
                        return Ok(sent);
                    }
                    if e == Errno::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
                        sigpipe(ctx);
                    }
                    return Err(e);
                }
            }
        }
        if !stream || sent >= total || chunk.is_empty() {
            return Ok(sent);
        }
    }
}

/// What a receive produced for the workload.
struct Got {
    /// The call's return value (the datagram's full length with MSG_TRUNC).
    ret: u64,
    from: SockAddr,
    control: Vec<u8>,
    flags: i32,
}

/// Receives into `iov`. MSG_WAITALL on a stream keeps receiving (a
/// window of at most [`MAX_MSG`] bytes at a time) until the buffer is
/// full, the peer is done, or a signal/timeout/error (then the count so
/// far).
fn recv_iov(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    iov: &Iov,
    control_cap: usize,
    flags: i32,
) -> SysResult<Got> {
    if flags & !RECV_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let stream = s.kind == libc::SOCK_STREAM;
    let total = iov.total().min(super::file::MAX_RW_COUNT);
    let avail = if total > 0 {
        iov.writable(ctx, total)?
    } else {
        0
    };
    let mut window = avail.min(MAX_MSG as u64) as usize;
    let nonblock =
        f.nonblocking() || flags & (libc::MSG_DONTWAIT | libc::MSG_OOB | libc::MSG_ERRQUEUE) != 0;
    let b = Block::new(nonblock, s.timeouts().rcv);
    let host_flags =
        flags & (libc::MSG_OOB | libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_ERRQUEUE);
    let mut io = IoBuf::take(window);
    let buf = io.as_mut();
    let events = if flags & libc::MSG_OOB != 0 {
        libc::POLLPRI
    } else {
        libc::POLLIN
    };
    let first = wait_ready(ctx, s, events, b, || {
        s.recv(&mut buf[..window], control_cap, host_flags)
    })?;
    let mut got = first.len.min(window);
    let waitall = stream
        && flags & libc::MSG_WAITALL != 0
        && flags & (libc::MSG_PEEK | libc::MSG_TRUNC) == 0
        && first.len > 0;
    if !waitall {
        // A stream's MSG_TRUNC discards the bytes without copying them.
        if !(stream && flags & libc::MSG_TRUNC != 0) {
            iov.scatter_at(ctx, 0, &buf[..got])?;
        }
        return Ok(Got {
            ret: first.len as u64,
            from: first.from,
            control: first.control,
            flags: first.flags,
        });
    }
    let mut done = 0u64;
    loop {
        let mut ended = false;
        while got < window {
            let r = wait_ready(ctx, s, libc::POLLIN, b, || {
                s.recv(&mut buf[got..window], 0, host_flags)
            });
            match r {
                Ok(r) if r.len > 0 => got += r.len.min(window - got),
                _ => {
                    ended = true;
                    break;
                }
            }
        }
        iov.scatter_at(ctx, done, &buf[..got])?;
        done += got as u64;
        if ended || done >= avail {
            break;
        }
        window = (avail - done).min(MAX_MSG as u64) as usize;
        got = 0;
    }
    Ok(Got {
        ret: done,
        from: first.from,
        control: first.control,
        flags: first.flags,
    })
}

/// read(2) / readv(2) on an internet socket: recv with no flags.
pub fn read(ctx: &TaskCtx, f: &OpenFile, s: &InetSocket, iov: Vec<(u64, u64)>) -> SysResult<u64> {
    recv_iov(ctx, f, s, &Iov::new(iov), 0, 0).map(|g| g.ret)
}

/// write(2) / writev(2) on an internet socket: send with no flags.
pub fn write(ctx: &TaskCtx, f: &OpenFile, s: &InetSocket, iov: Vec<(u64, u64)>) -> SysResult<u64> {
    send_iov(ctx, f, s, Iov::new(iov), None, &[], 0)
}

/// sendto(2).
pub fn sendto(ctx: &TaskCtx, f: &OpenFile, s: &InetSocket, a: [u64; 6]) -> SysResult<u64> {
    let to = if a[4] != 0 {
        Some(read_addr(ctx, a[4], a[5] as i32)?)
    } else {
        None
    };
    let len = (a[2] as usize).min(super::file::MAX_RW_COUNT as usize);
    send_iov(
        ctx,
        f,
        s,
        Iov::new(vec![(a[1], len as u64)]),
        to,
        &[],
        a[3] as i32,
    )
}

/// recvfrom(2).
pub fn recvfrom(ctx: &TaskCtx, f: &OpenFile, s: &InetSocket, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[2] as usize).min(super::file::MAX_RW_COUNT as usize);
    let g = recv_iov(
        ctx,
        f,
        s,
        &Iov::new(vec![(a[1], len as u64)]),
        0,
        a[3] as i32,
    )?;
    if a[4] != 0 {
        put_addr(ctx, &g.from, a[4], a[5])?;
    }
    Ok(g.ret)
}

/// A user msghdr, checked.
pub(crate) struct MsgHdr {
    /// msg_name.
    pub name: u64,
    /// msg_namelen (0 without a name, at most a sockaddr_storage).
    pub namelen: i32,
    /// The iovecs (base, length).
    pub iov: Vec<(u64, u64)>,
    /// msg_control.
    pub control: u64,
    /// msg_controllen.
    pub controllen: u64,
}

/// Reads and checks a msghdr as Linux's `copy_msghdr_from_user`: more
/// than UIO_MAXIOV iovecs is EMSGSIZE, a negative name length EINVAL, a
/// longer one is cut to a sockaddr_storage.
pub(crate) fn read_msghdr(ctx: &TaskCtx, addr: u64) -> SysResult<MsgHdr> {
    let b = ctx.read_bytes(addr, 56)?;
    let w = |i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let name = w(0);
    let mut namelen = w(8) as u32 as i32;
    if name == 0 {
        namelen = 0;
    }
    if namelen < 0 {
        return Err(Errno::EINVAL);
    }
    let namelen = namelen.min(SOCKADDR_MAX as i32);
    let iovlen = w(24);
    if iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(ctx, w(16), iovlen)?
        .into_iter()
        .map(|v| (v.iov_base, v.iov_len))
        .collect();
    Ok(MsgHdr {
        name,
        namelen,
        iov,
        control: w(32),
        controllen: w(40),
    })
}

/// sendmsg(2): the address, data and allowed control messages of the
/// msghdr at `addr`.
pub fn sendmsg(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    addr: u64,
    flags: i32,
) -> SysResult<u64> {
    let m = read_msghdr(ctx, addr)?;
    if m.controllen > i32::MAX as u64 || m.controllen as usize > control::SEND_MAX {
        return Err(Errno::ENOBUFS);
    }
    let ctl = if m.controllen > 0 {
        ctx.read_bytes(m.control, m.controllen as usize)?
    } else {
        Vec::new()
    };
    let to = if m.name != 0 {
        Some(read_addr(ctx, m.name, m.namelen)?)
    } else {
        None
    };
    let ctl = control::filter_send(&ctl)?;
    send_iov(ctx, f, s, Iov::new(m.iov), to, &ctl, flags)
}

/// recvmsg(2): data into the msghdr's iovecs, then its name, control
/// messages and flags.
pub fn recvmsg(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    addr: u64,
    flags: i32,
) -> SysResult<u64> {
    let m = read_msghdr(ctx, addr)?;
    let control_cap = if m.control == 0 {
        0
    } else {
        (m.controllen.min(control::RECV_MAX as u64)) as usize
    };
    let g = recv_iov(ctx, f, s, &Iov::new(m.iov), control_cap, flags)?;
    if m.name != 0 {
        put_addr(ctx, &g.from, m.name, addr + 8)?;
    }
    if !g.control.is_empty() {
        ctx.write_bytes(m.control, &g.control)?;
    }
    ctx.write_val(addr + 40, &(g.control.len() as u64))?;
    ctx.write_val(addr + 48, &g.flags)?;
    Ok(g.ret)
}

// ---- options --------------------------------------------------------------

/// A timeout as Linux's `sock_set_timeout` reads it: a 16-byte timeval,
/// microseconds in [0, 1e6) (EDOM otherwise); zero means forever, a
/// negative time means not at all.
fn read_timeout(ctx: &TaskCtx, addr: u64, len: i32) -> SysResult<Option<Duration>> {
    if (len as usize) < 16 {
        return Err(Errno::EINVAL);
    }
    let b = ctx.read_bytes(addr, 16)?;
    let sec = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let usec = i64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(Duration::new(sec as u64, usec as u32 * 1000)))
}

fn timeval_bytes(t: Option<Duration>) -> [u8; 16] {
    let (s, us) = match t {
        None => (0i64, 0i64),
        Some(d) => (d.as_secs() as i64, d.subsec_micros() as i64),
    };
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&s.to_ne_bytes());
    v[8..].copy_from_slice(&us.to_ne_bytes());
    v
}

/// setsockopt(2).
pub fn setsockopt(ctx: &TaskCtx, s: &InetSocket, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, val, len) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    match sockopt::for_set(level, name) {
        None => Err(Errno::ENOPROTOOPT),
        Some(Handling::Privileged) => Err(Errno::EPERM),
        Some(Handling::Timeout(rcv)) => {
            let t = read_timeout(ctx, val, len)?;
            s.set_timeout(rcv, t);
            Ok(0)
        }
        Some(Handling::Priority) => {
            if (len as usize) < 4 {
                return Err(Errno::EINVAL);
            }
            let v: i32 = ctx.read_val(val)?;
            if !(0..=6).contains(&v) {
                return Err(Errno::EPERM);
            }
            s.setsockopt(level, name, &v.to_ne_bytes())?;
            Ok(0)
        }
        Some(Handling::Host(max)) => {
            let v = ctx.read_bytes(val, (len as usize).min(max))?;
            s.setsockopt(level, name, &v)?;
            Ok(0)
        }
    }
}

/// getsockopt(2).
pub fn getsockopt(ctx: &TaskCtx, s: &InetSocket, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, val, ulen) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    let len: i32 = ctx.read_val(ulen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v: Vec<u8> = match sockopt::for_get(level, name) {
        None if !sockopt::known_level(level) && s.family == libc::AF_INET => {
            return Err(Errno::EOPNOTSUPP)
        }
        None => return Err(Errno::ENOPROTOOPT),
        Some(Handling::Privileged) => return Err(Errno::EPERM),
        Some(Handling::Timeout(rcv)) => {
            let t = s.timeouts();
            let b = timeval_bytes(if rcv { t.rcv } else { t.snd });
            b[..(len as usize).min(16)].to_vec()
        }
        Some(Handling::Priority) => s.getsockopt(level, name, (len as usize).min(4))?,
        Some(Handling::Host(max)) => s.getsockopt(level, name, (len as usize).min(max))?,
    };
    ctx.write_bytes(val, &v)?;
    ctx.write_val(ulen, &(v.len() as i32))?;
    Ok(0)
}
