//! System calls on routing netlink sockets (`net/netlink.rs`): socket
//! creation, addresses (`struct sockaddr_nl`), sending requests, receiving
//! replies (blocking on the socket's queue), buffer-size options. What
//! netlink does not offer (listen, accept, shutdown, out-of-band data) is
//! EOPNOTSUPP as on Linux.

use super::block_on;
use super::file::install;
use super::inet::read_msghdr;
use crate::fs::OpenFile;
use crate::kernel::task::TaskCtx;
use crate::net::netlink::{self, NetlinkSocket, MAX_REQUEST, SOCKADDR_NL_LEN};
use crate::{Errno, SysResult};

/// The netlink socket behind `f`, if it is one.
pub fn netlink_of(f: &OpenFile) -> Option<&NetlinkSocket> {
    f.ops.as_any().downcast_ref::<NetlinkSocket>()
}

fn tgid(ctx: &TaskCtx) -> i32 {
    ctx.task.tg.tgid
}

/// socket(AF_NETLINK, type, protocol): SOCK_RAW or SOCK_DGRAM of
/// NETLINK_ROUTE (other types ESOCKTNOSUPPORT, other protocols
/// EPROTONOSUPPORT); EAFNOSUPPORT without the host routing socket.
pub fn socket(ctx: &TaskCtx, ty: i32, protocol: i32) -> SysResult<u64> {
    let kind = check_type(ty, protocol)?;
    let s = NetlinkSocket::new(kind, ctx.kernel().next_ino());
    let nb = if ty & libc::SOCK_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    install(
        ctx,
        OpenFile::new(s, libc::O_RDWR as u32 | nb, None),
        ty & libc::SOCK_CLOEXEC != 0,
    )
}

/// Checks socket(2)'s type and protocol for AF_NETLINK as Linux does
/// (type flags and range EINVAL, then the family, the type, the
/// protocol); returns the socket type.
pub fn check_type(ty: i32, protocol: i32) -> SysResult<i32> {
    if ty & !(0xf | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 || ty & 0xf >= 11 {
        return Err(Errno::EINVAL);
    }
    if !netlink::available() {
        return Err(Errno::EAFNOSUPPORT);
    }
    let kind = ty & 0xf;
    if kind != libc::SOCK_RAW && kind != libc::SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != libc::NETLINK_ROUTE {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(kind)
}

/// Reads a sockaddr_nl: (port, groups). Short or of another family:
/// EINVAL.
fn read_addr(ctx: &TaskCtx, addr: u64, len: i32) -> SysResult<(u32, u32)> {
    if len < 0 || len as usize > crate::net::sockaddr::SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    if (len as usize) < SOCKADDR_NL_LEN {
        return Err(Errno::EINVAL);
    }
    let b = ctx.read_bytes(addr, SOCKADDR_NL_LEN)?;
    if u16::from_ne_bytes([b[0], b[1]]) != libc::AF_NETLINK as u16 {
        return Err(Errno::EINVAL);
    }
    let w = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((w(4), w(8)))
}

/// Writes an address out as Linux's `move_addr_to_user`.
fn put_addr(ctx: &TaskCtx, a: &[u8], uaddr: u64, ulen: u64) -> SysResult<()> {
    let len: i32 = ctx.read_val(ulen)?;
    let n = len.min(a.len() as i32);
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    if n > 0 {
        ctx.write_bytes(uaddr, &a[..n as usize])?;
    }
    ctx.write_val(ulen, &(a.len() as i32))
}

/// bind(2): a port (0: one is chosen); multicast groups are not offered
/// (EPERM).
pub fn bind(ctx: &TaskCtx, s: &NetlinkSocket, addr: u64, len: i32) -> SysResult<u64> {
    let (port, groups) = read_addr(ctx, addr, len)?;
    if groups != 0 {
        return Err(Errno::EPERM);
    }
    s.bind(port, tgid(ctx))?;
    Ok(0)
}

/// connect(2): only to the kernel (port 0); AF_UNSPEC dissolves it.
pub fn connect(ctx: &TaskCtx, s: &NetlinkSocket, addr: u64, len: i32) -> SysResult<u64> {
    if len >= 2 {
        let fam: u16 = ctx.read_val(addr)?;
        if fam == libc::AF_UNSPEC as u16 {
            return Ok(0);
        }
    }
    let (port, groups) = read_addr(ctx, addr, len)?;
    if groups != 0 {
        return Err(Errno::EPERM);
    }
    if port != 0 {
        return Err(Errno::ECONNREFUSED);
    }
    s.bind(0, tgid(ctx))?;
    Ok(0)
}

/// getsockname(2) / getpeername(2) (the peer is always the kernel).
pub fn name(ctx: &TaskCtx, s: &NetlinkSocket, peer: bool, uaddr: u64, ulen: u64) -> SysResult<u64> {
    let a = if peer {
        NetlinkSocket::kernel_addr()
    } else {
        netlink::addr(s.port(), 0)
    };
    put_addr(ctx, &a, uaddr, ulen)?;
    Ok(0)
}

/// Gathers a request: at most [`MAX_REQUEST`] bytes (EMSGSIZE beyond).
fn gather(ctx: &TaskCtx, iov: &[(u64, u64)]) -> SysResult<Vec<u8>> {
    let total = iov.iter().fold(0u64, |t, (_, l)| t.saturating_add(*l));
    if total > MAX_REQUEST as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut data = Vec::with_capacity(total as usize);
    for &(base, len) in iov {
        data.extend(ctx.read_bytes(base, len as usize)?);
    }
    Ok(data)
}

fn send(
    ctx: &TaskCtx,
    s: &NetlinkSocket,
    iov: &[(u64, u64)],
    to: Option<(u64, i32)>,
    flags: i32,
) -> SysResult<u64> {
    if flags & libc::MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if let Some((addr, len)) = to {
        let (port, groups) = read_addr(ctx, addr, len)?;
        if groups != 0 {
            return Err(Errno::EPERM);
        }
        if port != 0 {
            return Err(Errno::ECONNREFUSED);
        }
    }
    let data = gather(ctx, iov)?;
    s.send(&data, tgid(ctx)).map(|n| n as u64)
}

/// sendto(2).
pub fn sendto(ctx: &TaskCtx, s: &NetlinkSocket, a: [u64; 6]) -> SysResult<u64> {
    let to = (a[4] != 0).then_some((a[4], a[5] as i32));
    send(ctx, s, &[(a[1], a[2])], to, a[3] as i32)
}

/// sendmsg(2). Control messages are refused (EINVAL).
pub fn sendmsg(ctx: &TaskCtx, s: &NetlinkSocket, addr: u64, flags: i32) -> SysResult<u64> {
    let m = read_msghdr(ctx, addr)?;
    if m.controllen as usize >= std::mem::size_of::<libc::cmsghdr>() {
        return Err(Errno::EINVAL);
    }
    let to = (m.name != 0).then_some((m.name, m.namelen));
    send(ctx, s, &m.iov, to, flags)
}

/// recv flags netlink sockets take.
const RECV_FLAGS: i32 = libc::MSG_PEEK
    | libc::MSG_TRUNC
    | libc::MSG_DONTWAIT
    | libc::MSG_WAITALL
    | libc::MSG_CMSG_CLOEXEC;

/// Receives one datagram into `iov`: (return value, MSG_TRUNC if cut).
fn recv(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &NetlinkSocket,
    iov: &[(u64, u64)],
    flags: i32,
) -> SysResult<(u64, i32)> {
    if flags & libc::MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & !RECV_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let want = iov
        .iter()
        .fold(0usize, |t, (_, l)| t.saturating_add(*l as usize))
        .min(super::inet::MAX_MSG);
    let mut buf = vec![0u8; want];
    let peek = flags & libc::MSG_PEEK != 0;
    let r = if f.nonblocking() || flags & libc::MSG_DONTWAIT != 0 {
        s.recv(&mut buf, peek)?
    } else {
        block_on(ctx, &[s as &dyn crate::fs::FileOps], None, || {
            s.recv(&mut buf, peek)
        })?
    };
    let mut off = 0usize;
    for &(base, len) in iov {
        if off >= r.len {
            break;
        }
        let n = (len as usize).min(r.len - off);
        ctx.write_bytes(base, &buf[off..off + n])?;
        off += n;
    }
    let truncated = r.full_len > r.len;
    let ret = if flags & libc::MSG_TRUNC != 0 {
        r.full_len
    } else {
        r.len
    };
    Ok((ret as u64, if truncated { libc::MSG_TRUNC } else { 0 }))
}

/// recvfrom(2): the sender is the kernel.
pub fn recvfrom(ctx: &TaskCtx, f: &OpenFile, s: &NetlinkSocket, a: [u64; 6]) -> SysResult<u64> {
    let (n, _) = recv(ctx, f, s, &[(a[1], a[2])], a[3] as i32)?;
    if a[4] != 0 {
        put_addr(ctx, &NetlinkSocket::kernel_addr(), a[4], a[5])?;
    }
    Ok(n)
}

/// recvmsg(2): no control messages; msg_flags says MSG_TRUNC when cut.
pub fn recvmsg(
    ctx: &TaskCtx,
    f: &OpenFile,
    s: &NetlinkSocket,
    addr: u64,
    flags: i32,
) -> SysResult<u64> {
    let m = read_msghdr(ctx, addr)?;
    let (n, mflags) = recv(ctx, f, s, &m.iov, flags)?;
    if m.name != 0 {
        put_addr(ctx, &NetlinkSocket::kernel_addr(), m.name, addr + 8)?;
    }
    ctx.write_val(addr + 40, &0u64)?;
    ctx.write_val(addr + 48, &mflags)?;
    Ok(n)
}

/// setsockopt(2): SO_RCVBUF / SO_SNDBUF; the FORCE forms need
/// CAP_NET_ADMIN (EPERM); everything else ENOPROTOOPT (netlink's own
/// options, such as NETLINK_EXT_ACK, are not offered).
pub fn setsockopt(ctx: &TaskCtx, s: &NetlinkSocket, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, val, len) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if level != libc::SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    match name {
        libc::SO_RCVBUF | libc::SO_SNDBUF => {
            if (len as usize) < 4 {
                return Err(Errno::EINVAL);
            }
            let v: i32 = ctx.read_val(val)?;
            s.set_buf(name == libc::SO_RCVBUF, v.max(0) as usize);
            Ok(0)
        }
        libc::SO_RCVBUFFORCE | libc::SO_SNDBUFFORCE => Err(Errno::EPERM),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// getsockopt(2): the socket's type, family, protocol, buffer sizes.
pub fn getsockopt(ctx: &TaskCtx, s: &NetlinkSocket, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, val, ulen) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    let len: i32 = ctx.read_val(ulen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if level != libc::SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    let (rcv, snd) = s.bufs();
    let v: i32 = match name {
        libc::SO_TYPE => s.kind,
        libc::SO_DOMAIN => libc::AF_NETLINK,
        libc::SO_PROTOCOL => libc::NETLINK_ROUTE,
        libc::SO_ERROR | libc::SO_ACCEPTCONN => 0,
        libc::SO_RCVBUF => rcv as i32,
        libc::SO_SNDBUF => snd as i32,
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let b = v.to_ne_bytes();
    let n = (len as usize).min(4);
    ctx.write_bytes(val, &b[..n])?;
    ctx.write_val(ulen, &(n as i32))?;
    Ok(0)
}
