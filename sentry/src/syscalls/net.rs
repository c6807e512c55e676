//! Socket system calls: Unix domain sockets are served here; calls on
//! internet sockets go to [`super::inet`] (when the sandbox has a network;
//! otherwise AF_INET/AF_INET6 are EAFNOSUPPORT like every other family).

use std::sync::Arc;

use super::file::{files, install};
use super::inet::{self, inet_of};
use super::netlink::{self as nl, netlink_of};
use super::path::fs_ctx;
use super::{block_on, perm};
use crate::fs::OpenFile;
use crate::kernel::task::TaskCtx;
use crate::net::unix::{UnixName, UnixSocket, SCM_MAX_FD};
use crate::{Errno, SysResult};

/// Largest sockaddr_un (family + 108 path bytes).
const SOCKADDR_UN_LEN: usize = 110;
/// Largest single message moved in one call.
const MAX_MSG: usize = 1 << 20;

/// The open file of descriptor `fd` if it is an internet socket (EBADF
/// for a bad descriptor).
fn inet_file(ctx: &TaskCtx, fd: i32) -> SysResult<Option<Arc<OpenFile>>> {
    let f = files(ctx)?.get(fd)?;
    Ok(inet_of(&f).is_some().then_some(f))
}

/// Runs `$body` with `$s` bound to the internet socket of descriptor
/// `$fd` (and `$f` to its open file) and returns its result, if the
/// descriptor is one.
macro_rules! on_inet {
    ($ctx:expr, $fd:expr, |$f:ident, $s:ident| $body:expr) => {
        if let Some($f) = inet_file($ctx, $fd)? {
            if let Some($s) = inet_of(&$f) {
                return $body;
            }
        }
    };
}

/// Like `on_inet!`, for routing netlink sockets.
macro_rules! on_netlink {
    ($ctx:expr, $fd:expr, |$f:ident, $s:ident| $body:expr) => {
        let file = files($ctx)?.get($fd)?;
        if let Some($s) = netlink_of(&file) {
            let $f: &OpenFile = &file;
            let _ = $f;
            return $body;
        }
    };
}

fn socket_of(ctx: &TaskCtx, fd: i32) -> SysResult<(Arc<OpenFile>, Arc<UnixSocket>)> {
    let f = files(ctx)?.get(fd)?;
    let any: Arc<dyn std::any::Any + Send + Sync> = f.ops.clone();
    let sock = any.downcast::<UnixSocket>().map_err(|_| Errno::ENOTSOCK)?;
    Ok((f, sock))
}

fn creds(ctx: &TaskCtx) -> (i32, u32, u32) {
    let (uid, gid) = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| (g.creds.uid, g.creds.gid))
        .unwrap_or((0, 0));
    (ctx.task.tg.tgid, uid, gid)
}

fn type_flags(ty: i32) -> SysResult<(i32, bool, bool)> {
    let kind = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    if ty & !(0xf | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    match kind {
        libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_SEQPACKET => {}
        _ => return Err(Errno::EINVAL),
    }
    Ok((
        kind,
        ty & libc::SOCK_NONBLOCK != 0,
        ty & libc::SOCK_CLOEXEC != 0,
    ))
}

/// Whether `family` is an internet family the sandbox serves.
fn is_inet(ctx: &TaskCtx, family: i32) -> bool {
    matches!(family, libc::AF_INET | libc::AF_INET6) && ctx.kernel().config.inet
}

fn wrap(sock: Arc<UnixSocket>, nonblock: bool) -> Arc<OpenFile> {
    let fl = libc::O_RDWR as u32 | if nonblock { libc::O_NONBLOCK as u32 } else { 0 };
    OpenFile::new(sock, fl, None)
}

/// socket.
pub fn sys_socket(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let family = a[0] as i32;
    if is_inet(ctx, family) {
        return inet::socket(ctx, family, a[1] as i32, a[2] as i32);
    }
    if family == libc::AF_NETLINK && ctx.kernel().config.inet {
        return nl::socket(ctx, a[1] as i32, a[2] as i32);
    }
    if family != libc::AF_UNIX {
        // Linux checks the type flags and range before it finds no such
        // family.
        let ty = a[1] as i32;
        if ty & !(0xf | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 || ty & 0xf >= 11 {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::EAFNOSUPPORT);
    }
    let (kind, nb, ce) = type_flags(a[1] as i32)?;
    if a[2] != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let s = UnixSocket::new(kind, ctx.kernel().next_ino(), creds(ctx));
    install(ctx, wrap(s, nb), ce)
}

/// socketpair.
pub fn sys_socketpair(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if is_inet(ctx, a[0] as i32) {
        // Internet protocols have no socket pairs.
        inet::check_type(a[1] as i32, a[2] as i32)?;
        return Err(Errno::EOPNOTSUPP);
    }
    if a[0] as i32 == libc::AF_NETLINK && ctx.kernel().config.inet {
        // Nor does netlink.
        nl::check_type(a[1] as i32, a[2] as i32)?;
        return Err(Errno::EOPNOTSUPP);
    }
    let (kind, nb, ce) = type_flags(a[1] as i32)?;
    if a[0] as i32 != libc::AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if a[2] != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let k = ctx.kernel();
    let (x, y) = UnixSocket::pair(kind, (k.next_ino(), k.next_ino()), creds(ctx));
    let t = files(ctx)?;
    let lim = super::file::nofile(ctx);
    let fa = t.insert_from(0, wrap(x, nb), ce, lim)?;
    let fb = match t.insert_from(0, wrap(y, nb), ce, lim) {
        Ok(f) => f,
        Err(e) => {
            let _ = t.remove(fa);
            return Err(e);
        }
    };
    if let Err(e) = ctx.write_val(a[3], &[fa, fb]) {
        let _ = t.remove(fa);
        let _ = t.remove(fb);
        return Err(e);
    }
    Ok(0)
}

/// Parses a sockaddr_un; for path names, resolves (bind: creates) the
/// socket file.
fn read_addr(ctx: &TaskCtx, addr: u64, len: u64, create: bool) -> SysResult<UnixName> {
    let len = len as usize;
    if !(2..=SOCKADDR_UN_LEN).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let raw = ctx.read_bytes(addr, len)?;
    if u16::from_le_bytes([raw[0], raw[1]]) != libc::AF_UNIX as u16 {
        return Err(Errno::EINVAL);
    }
    let path = &raw[2..];
    if path.is_empty() {
        // Autobind is not supported.
        return Err(Errno::EINVAL);
    }
    if path[0] == 0 {
        return Ok(UnixName::Abstract(path[1..].to_vec()));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    let p = path[..end].to_vec();
    let fs = fs_ctx(ctx)?;
    let vfs = &ctx.kernel().vfs;
    if create {
        let may_search = super::path::searcher(ctx)?;
        let (parent, name) = vfs.resolve_parent_with(&fs.root, &fs.cwd, &p, &may_search)?;
        let c = ctx
            .task
            .tg
            .inner
            .lock()
            .map_err(|_| Errno::EIO)?
            .creds
            .clone();
        if !perm::may_access(&c, &parent.attr()?, perm::W | perm::X) {
            return Err(Errno::EACCES);
        }
        if vfs.lookup_child(&parent, &name).is_ok() {
            return Err(Errno::EADDRINUSE);
        }
        if parent.mount.is_readonly() {
            return Err(Errno::EROFS);
        }
        let inode = parent.dentry.inode.mknod(
            &name,
            libc::S_IFSOCK | (0o777 & !fs.umask),
            0,
            c.fsuid,
            c.fsgid,
        )?;
        super::notify::created(&parent, &name, false);
        let at = inode.attr()?;
        return Ok(UnixName::Path((at.dev, at.ino), p));
    }
    let may_search = super::path::searcher(ctx)?;
    let loc = vfs.resolve_with(&fs.root, &fs.cwd, &p, true, &may_search)?;
    let at = loc.attr()?;
    if at.mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno::ECONNREFUSED);
    }
    Ok(UnixName::Path((at.dev, at.ino), p))
}

/// bind.
pub fn sys_bind(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::bind(
        ctx,
        s,
        a[1],
        a[2] as i32
    ));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::bind(
        ctx,
        s,
        a[1],
        a[2] as i32
    ));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    if s.name().is_some() {
        return Err(Errno::EINVAL);
    }
    let name = read_addr(ctx, a[1], a[2], true)?;
    s.bind(name)?;
    Ok(0)
}

/// listen.
pub fn sys_listen(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::listen(s, a[1] as i32));
    on_netlink!(ctx, a[0] as i32, |_f, _s| Err(Errno::EOPNOTSUPP));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    s.listen(a[1] as i32)?;
    Ok(0)
}

/// connect.
pub fn sys_connect(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::connect(
        ctx,
        &f,
        s,
        a[1],
        a[2] as i32
    ));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::connect(
        ctx,
        s,
        a[1],
        a[2] as i32
    ));
    let (f, s) = socket_of(ctx, a[0] as i32)?;
    let name = read_addr(ctx, a[1], a[2], false)?;
    let target = UnixSocket::lookup(&name)?;
    if s.kind == libc::SOCK_DGRAM {
        s.connect_dgram(&target)?;
        return Ok(0);
    }
    if !target.is_listening() {
        return Err(Errno::ECONNREFUSED);
    }
    let ino = ctx.kernel().next_ino();
    if f.nonblocking() {
        return s.connect_stream(&target, ino).map(|()| 0);
    }
    block_on(ctx, &[target.as_ref()], None, || {
        s.connect_stream(&target, ino)
    })
    .map(|()| 0)
}

fn write_addr(ctx: &TaskCtx, name: Option<&UnixName>, addr: u64, len_addr: u64) -> SysResult<()> {
    if addr == 0 || len_addr == 0 {
        return Ok(());
    }
    let cap: u32 = ctx.read_val(len_addr)?;
    if (cap as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = match name {
        Some(n) => n.to_sockaddr(),
        None => (libc::AF_UNIX as u16).to_le_bytes().to_vec(),
    };
    let n = bytes.len().min(cap as usize);
    ctx.write_bytes(addr, &bytes[..n])?;
    ctx.write_val(len_addr, &(bytes.len() as u32))?;
    Ok(())
}

fn do_accept(ctx: &TaskCtx, a: [u64; 6], flags: i32) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::accept(
        ctx, &f, s, a[1], a[2], flags
    ));
    on_netlink!(ctx, a[0] as i32, |_f, _s| Err(Errno::EOPNOTSUPP));
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = socket_of(ctx, a[0] as i32)?;
    if !s.is_listening() {
        return Err(Errno::EINVAL);
    }
    let conn = if f.nonblocking() {
        s.accept()?
    } else {
        block_on(ctx, &[s.as_ref()], None, || s.accept())?
    };
    let peer_name = conn.peer_name().ok().flatten();
    write_addr(ctx, peer_name.as_ref(), a[1], a[2])?;
    install(
        ctx,
        wrap(conn, flags & libc::SOCK_NONBLOCK != 0),
        flags & libc::SOCK_CLOEXEC != 0,
    )
}

/// accept.
pub fn sys_accept(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    do_accept(ctx, a, 0)
}

/// accept4.
pub fn sys_accept4(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    do_accept(ctx, a, a[3] as i32)
}

/// getsockname.
pub fn sys_getsockname(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::name(
        ctx, s, false, a[1], a[2]
    ));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::name(
        ctx, s, false, a[1], a[2]
    ));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    write_addr(ctx, s.name().as_ref(), a[1], a[2])?;
    Ok(0)
}

/// getpeername.
pub fn sys_getpeername(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::name(
        ctx, s, true, a[1], a[2]
    ));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::name(ctx, s, true, a[1], a[2]));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    let n = s.peer_name()?;
    write_addr(ctx, n.as_ref(), a[1], a[2])?;
    Ok(0)
}

/// shutdown.
pub fn sys_shutdown(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::shutdown(s, a[1] as i32));
    on_netlink!(ctx, a[0] as i32, |_f, _s| Err(Errno::EOPNOTSUPP));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    s.shutdown(a[1] as i32)?;
    Ok(0)
}

const SEND_FLAGS: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | libc::MSG_EOR | libc::MSG_MORE;
const RECV_FLAGS: i32 = libc::MSG_DONTWAIT
    | libc::MSG_PEEK
    | libc::MSG_TRUNC
    | libc::MSG_WAITALL
    | libc::MSG_CMSG_CLOEXEC;

fn send_common(
    ctx: &TaskCtx,
    fd: i32,
    data: &[u8],
    files_sent: Vec<Arc<OpenFile>>,
    flags: i32,
    to: Option<UnixName>,
) -> SysResult<u64> {
    if flags & !SEND_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (f, s) = socket_of(ctx, fd)?;
    let dest = match to {
        Some(n) => Some(UnixSocket::lookup(&n)?),
        None => None,
    };
    if dest.is_some() && s.kind != libc::SOCK_DGRAM {
        return Err(Errno::EISCONN);
    }
    let nb = f.nonblocking() || flags & libc::MSG_DONTWAIT != 0;
    let mut sent = 0usize;
    let mut pending = Some(files_sent);
    loop {
        let chunk = &data[sent..];
        let attempt = |files: Vec<Arc<OpenFile>>| s.send(chunk, files, dest.clone());
        let r = if nb {
            attempt(pending.take().unwrap_or_default())
        } else {
            let mut files = pending.take();
            let peer: Option<Arc<UnixSocket>> = dest.clone();
            let waiter: &UnixSocket = peer.as_deref().unwrap_or(&s);
            block_on(ctx, &[waiter], None, || {
                attempt(files.take().unwrap_or_default())
            })
        };
        match r {
            Ok(n) => {
                sent += n;
                if sent >= data.len() || s.kind != libc::SOCK_STREAM || nb {
                    return Ok(sent as u64);
                }
            }
            Err(e) if e == Errno::EPIPE => {
                if flags & libc::MSG_NOSIGNAL == 0 {
                    let info = rvisor_syscalls::abi::Siginfo::kill(
                        libc::SIGPIPE,
                        rvisor_syscalls::abi::SI_KERNEL,
                        0,
                        0,
                    );
                    ctx.task.send_signal(info);
                }
                return if sent > 0 { Ok(sent as u64) } else { Err(e) };
            }
            Err(e) => return if sent > 0 { Ok(sent as u64) } else { Err(e) },
        }
    }
}

/// sendto.
pub fn sys_sendto(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::sendto(ctx, &f, s, a));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::sendto(ctx, s, a));
    let len = (a[2] as usize).min(MAX_MSG);
    let data = ctx.read_bytes(a[1], len)?;
    let to = if a[4] != 0 {
        Some(read_addr(ctx, a[4], a[5], false)?)
    } else {
        None
    };
    send_common(ctx, a[0] as i32, &data, Vec::new(), a[3] as i32, to)
}

/// Received bytes plus what came with them.
struct Got {
    data: Vec<u8>,
    full: usize,
    files: Vec<Arc<OpenFile>>,
    from: Option<UnixName>,
}

fn recv_common(ctx: &TaskCtx, fd: i32, len: usize, flags: i32) -> SysResult<Got> {
    if flags & !RECV_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (f, s) = socket_of(ctx, fd)?;
    let mut buf = vec![0u8; len.min(MAX_MSG)];
    let peek = flags & libc::MSG_PEEK != 0;
    let r = if f.nonblocking() || flags & libc::MSG_DONTWAIT != 0 {
        s.recv(&mut buf, peek)?
    } else {
        block_on(ctx, &[s.as_ref()], None, || s.recv(&mut buf, peek))?
    };
    buf.truncate(r.len);
    Ok(Got {
        data: buf,
        full: r.full_len,
        files: r.files,
        from: r.from,
    })
}

/// recvfrom.
pub fn sys_recvfrom(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::recvfrom(ctx, &f, s, a));
    on_netlink!(ctx, a[0] as i32, |f, s| nl::recvfrom(ctx, f, s, a));
    let flags = a[3] as i32;
    let Got {
        data, full, from, ..
    } = recv_common(ctx, a[0] as i32, a[2] as usize, flags)?;
    ctx.write_bytes(a[1], &data)?;
    write_addr(ctx, from.as_ref(), a[4], a[5])?;
    Ok(if flags & libc::MSG_TRUNC != 0 {
        full as u64
    } else {
        data.len() as u64
    })
}

/// Reads a msghdr: (name, namelen, iov, iovlen, control, controllen).
fn read_msghdr(ctx: &TaskCtx, addr: u64) -> SysResult<[u64; 6]> {
    let b = ctx.read_bytes(addr, 56)?;
    let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    Ok([w(0), w(8) & 0xffff_ffff, w(16), w(24), w(32), w(40)])
}

fn read_iov(ctx: &TaskCtx, iov: u64, n: u64) -> SysResult<Vec<(u64, u64)>> {
    if n > super::file::UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let raw = ctx.read_bytes(iov, n as usize * 16)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])),
                u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8])),
            )
        })
        .collect())
}

/// sendmsg (SCM_RIGHTS passes descriptors; other control messages are
/// refused with EINVAL).
pub fn sys_sendmsg(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::sendmsg(
        ctx,
        &f,
        s,
        a[1],
        a[2] as i32
    ));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::sendmsg(
        ctx,
        s,
        a[1],
        a[2] as i32
    ));
    let m = read_msghdr(ctx, a[1])?;
    let mut data = Vec::new();
    for (base, len) in read_iov(ctx, m[2], m[3])? {
        if data.len() + len as usize > MAX_MSG {
            return Err(Errno::EMSGSIZE);
        }
        data.extend(ctx.read_bytes(base, len as usize)?);
    }
    let mut sent_files = Vec::new();
    if m[4] != 0 && m[5] != 0 {
        let ctl = ctx.read_bytes(m[4], (m[5] as usize).min(65536))?;
        let mut off = 0;
        while off + 16 <= ctl.len() {
            let clen = u64::from_le_bytes(ctl[off..off + 8].try_into().unwrap_or([0; 8])) as usize;
            let level = i32::from_le_bytes(ctl[off + 8..off + 12].try_into().unwrap_or([0; 4]));
            let ty = i32::from_le_bytes(ctl[off + 12..off + 16].try_into().unwrap_or([0; 4]));
            if clen < 16 || off + clen > ctl.len() {
                return Err(Errno::EINVAL);
            }
            if level != libc::SOL_SOCKET || ty != libc::SCM_RIGHTS {
                return Err(Errno::EINVAL);
            }
            let t = files(ctx)?;
            for c in ctl[off + 16..off + clen].chunks_exact(4) {
                if sent_files.len() >= SCM_MAX_FD {
                    return Err(Errno::EINVAL);
                }
                sent_files.push(t.get(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))?);
            }
            off += (clen + 7) & !7;
        }
    }
    let to = if m[0] != 0 && m[1] != 0 {
        Some(read_addr(ctx, m[0], m[1], false)?)
    } else {
        None
    };
    send_common(ctx, a[0] as i32, &data, sent_files, a[2] as i32, to)
}

/// recvmsg.
pub fn sys_recvmsg(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |f, s| inet::recvmsg(
        ctx,
        &f,
        s,
        a[1],
        a[2] as i32
    ));
    on_netlink!(ctx, a[0] as i32, |f, s| nl::recvmsg(
        ctx,
        f,
        s,
        a[1],
        a[2] as i32
    ));
    let flags = a[2] as i32;
    let m = read_msghdr(ctx, a[1])?;
    let iov = read_iov(ctx, m[2], m[3])?;
    let want: usize = iov
        .iter()
        .map(|(_, l)| *l as usize)
        .fold(0usize, |s, l| s.saturating_add(l));
    let Got {
        data,
        full,
        files: got_files,
        from,
    } = recv_common(ctx, a[0] as i32, want, flags)?;
    let mut off = 0;
    for (base, len) in iov {
        if off >= data.len() {
            break;
        }
        let n = (len as usize).min(data.len() - off);
        ctx.write_bytes(base, &data[off..off + n])?;
        off += n;
    }
    let mut msg_flags = 0i32;
    if full > data.len() {
        msg_flags |= libc::MSG_TRUNC;
    }
    // Control data: SCM_RIGHTS for received descriptions.
    let mut ctl_len = 0u64;
    if !got_files.is_empty() {
        let cap = m[5] as usize;
        let fit = if cap >= 16 {
            ((cap - 16) / 4).min(got_files.len())
        } else {
            0
        };
        if fit < got_files.len() {
            msg_flags |= libc::MSG_CTRUNC;
        }
        if fit > 0 {
            let cloexec = flags & libc::MSG_CMSG_CLOEXEC != 0;
            let mut fds = Vec::with_capacity(fit);
            for f in got_files.into_iter().take(fit) {
                fds.push(install(ctx, f, cloexec)? as i32);
            }
            let clen = 16 + 4 * fds.len();
            let mut ctl = Vec::with_capacity(clen);
            ctl.extend_from_slice(&(clen as u64).to_le_bytes());
            ctl.extend_from_slice(&libc::SOL_SOCKET.to_le_bytes());
            ctl.extend_from_slice(&libc::SCM_RIGHTS.to_le_bytes());
            for fd in &fds {
                ctl.extend_from_slice(&fd.to_le_bytes());
            }
            ctx.write_bytes(m[4], &ctl)?;
            ctl_len = ((clen + 7) & !7).min(cap) as u64;
        }
    }
    // msg_namelen, msg_controllen, msg_flags.
    if m[0] != 0 {
        let bytes = from.as_ref().map(|n| n.to_sockaddr()).unwrap_or_default();
        let n = bytes.len().min(m[1] as usize);
        ctx.write_bytes(m[0], &bytes[..n])?;
        ctx.write_val(a[1] + 8, &(bytes.len() as u32))?;
    }
    ctx.write_val(a[1] + 40, &ctl_len)?;
    ctx.write_val(a[1] + 48, &msg_flags)?;
    Ok(if flags & libc::MSG_TRUNC != 0 {
        full as u64
    } else {
        data.len() as u64
    })
}

/// getsockopt (SOL_SOCKET basics).
pub fn sys_getsockopt(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::getsockopt(ctx, s, a));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::getsockopt(ctx, s, a));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    if a[1] as i32 != libc::SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    let (rcv, snd) = s.bufs();
    let val: Vec<u8> = match a[2] as i32 {
        libc::SO_TYPE => s.kind.to_le_bytes().to_vec(),
        libc::SO_DOMAIN => libc::AF_UNIX.to_le_bytes().to_vec(),
        libc::SO_PROTOCOL | libc::SO_ERROR => 0i32.to_le_bytes().to_vec(),
        libc::SO_ACCEPTCONN => (s.is_listening() as i32).to_le_bytes().to_vec(),
        libc::SO_RCVBUF => (rcv as i32).to_le_bytes().to_vec(),
        libc::SO_SNDBUF => (snd as i32).to_le_bytes().to_vec(),
        libc::SO_PEERCRED => {
            let (pid, uid, gid) = s.peer_creds().unwrap_or((0, u32::MAX, u32::MAX));
            let mut v = pid.to_le_bytes().to_vec();
            v.extend_from_slice(&uid.to_le_bytes());
            v.extend_from_slice(&gid.to_le_bytes());
            v
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let cap: u32 = ctx.read_val(a[4])?;
    if (cap as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = val.len().min(cap as usize);
    ctx.write_bytes(a[3], &val[..n])?;
    ctx.write_val(a[4], &(n as u32))?;
    Ok(0)
}

/// setsockopt (buffer sizes; other options ENOPROTOOPT).
pub fn sys_setsockopt(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    on_inet!(ctx, a[0] as i32, |_f, s| inet::setsockopt(ctx, s, a));
    on_netlink!(ctx, a[0] as i32, |_f, s| nl::setsockopt(ctx, s, a));
    let (_, s) = socket_of(ctx, a[0] as i32)?;
    if a[1] as i32 != libc::SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    if a[4] < 4 {
        return Err(Errno::EINVAL);
    }
    let v: i32 = ctx.read_val(a[3])?;
    match a[2] as i32 {
        libc::SO_RCVBUF => s.set_buf(true, v.max(0) as usize),
        libc::SO_SNDBUF => s.set_buf(false, v.max(0) as usize),
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

/// `sizeof(struct mmsghdr)`: a msghdr and its `msg_len`, padded.
const MMSGHDR: u64 = 64;
/// Offset of `msg_len` in a mmsghdr.
const MSG_LEN_OFF: u64 = 56;
/// recvmmsg: block for the first message only.
const MSG_WAITFORONE: i32 = 0x10000;

fn mmsg_at(vec: u64, i: u64) -> SysResult<u64> {
    vec.checked_add(i * MMSGHDR).ok_or(Errno::EFAULT)
}

/// sendmmsg: sendmsg for each of up to UIO_MAXIOV messages, storing each
/// one's byte count; the number sent, or the first message's error.
pub fn sys_sendmmsg(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let vlen = (a[2] as u32 as u64).min(super::file::UIO_MAXIOV);
    let mut n = 0u64;
    while n < vlen {
        let m = mmsg_at(a[1], n)?;
        match sys_sendmsg(ctx, [a[0], m, a[3], 0, 0, 0]) {
            Ok(sent) => {
                if let Err(e) = ctx.write_val(m + MSG_LEN_OFF, &(sent as u32)) {
                    return if n == 0 { Err(e) } else { Ok(n) };
                }
                n += 1;
            }
            Err(e) => return if n == 0 { Err(e) } else { Ok(n) },
        }
    }
    Ok(n)
}

/// recvmmsg: recvmsg for each of up to UIO_MAXIOV messages, storing each
/// one's byte count. MSG_WAITFORONE stops waiting after the first; the
/// timeout is checked after each message (as Linux does), and the time
/// left is written back.
pub fn sys_recvmmsg(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let vlen = (a[2] as u32 as u64).min(super::file::UIO_MAXIOV);
    let flags = a[3] as i32;
    let deadline = if a[4] != 0 {
        if flags & libc::MSG_ERRQUEUE != 0 {
            return Err(Errno::EINVAL);
        }
        let ts = super::time::read_timespec(ctx, a[4])?;
        Some(std::time::Instant::now() + super::time::ts_dur(&ts))
    } else {
        None
    };
    let mut n = 0u64;
    let mut err = None;
    while n < vlen {
        let m = mmsg_at(a[1], n)?;
        let mut fl = flags & !MSG_WAITFORONE;
        if n > 0 && flags & MSG_WAITFORONE != 0 {
            fl |= libc::MSG_DONTWAIT;
        }
        match sys_recvmsg(ctx, [a[0], m, fl as u32 as u64, 0, 0, 0]) {
            Ok(got) => {
                if let Err(e) = ctx.write_val(m + MSG_LEN_OFF, &(got as u32)) {
                    err = Some(e);
                    break;
                }
                n += 1;
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
        if flags & libc::MSG_OOB != 0 {
            break;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
    if let (Some(d), true) = (deadline, n > 0 || err.is_none()) {
        let left = d.saturating_duration_since(std::time::Instant::now());
        ctx.write_val(
            a[4],
            &rvisor_syscalls::abi::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            },
        )?;
    }
    match err {
        Some(e) if n == 0 => Err(e),
        _ => Ok(n),
    }
}
