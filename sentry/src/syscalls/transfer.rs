//! In-kernel copies between descriptors: sendfile, copy_file_range,
//! splice and tee. Data moves through a sentry buffer between the two files'
//! operations; the workload's memory is never touched except for offsets.

use std::sync::Arc;

use rvisor_syscalls::abi::{Siginfo, SI_KERNEL};

use super::file::{files, MAX_RW_COUNT};
use super::{block_on, block_on_events};
use crate::fs::inotify;
use crate::fs::OpenFile;
use crate::kernel::task::{TaskCtx, ERESTARTSYS};
use crate::{Errno, SysResult};

/// Bytes moved per step.
const CHUNK: usize = 128 * 1024;

/// Where one side reads or writes: an explicit offset (not changing the
/// file position), the file position, or nothing (streams).
enum At {
    Explicit(u64),
    Position,
    Stream,
}

fn side(file: &OpenFile, explicit: Option<u64>) -> SysResult<At> {
    match (file.ops.seekable(), explicit) {
        (true, Some(o)) => Ok(At::Explicit(o)),
        (true, None) => Ok(At::Position),
        (false, Some(_)) => Err(Errno::ESPIPE),
        (false, None) => Ok(At::Stream),
    }
}

fn offset_now(file: &OpenFile, at: &At) -> SysResult<u64> {
    Ok(match at {
        At::Explicit(o) => *o,
        At::Position => *file.pos.lock().map_err(|_| Errno::EIO)?,
        At::Stream => 0,
    })
}

fn advance(file: &OpenFile, at: &mut At, n: u64) -> SysResult<()> {
    match at {
        At::Explicit(o) => *o += n,
        At::Position => *file.pos.lock().map_err(|_| Errno::EIO)? += n,
        At::Stream => {}
    }
    Ok(())
}

/// Copies up to `count` bytes from `src` to `dst`. Blocks on streams only
/// for the first byte (like Linux, a partial transfer is returned rather
/// than waiting again).
fn transfer(
    ctx: &TaskCtx,
    src: &Arc<OpenFile>,
    from: At,
    dst: &Arc<OpenFile>,
    to: At,
    count: u64,
    nonblock: bool,
) -> SysResult<(u64, At, At)> {
    let r = copy(ctx, src, from, dst, to, count, nonblock)?;
    if r.0 > 0 {
        inotify::notify_file(src, libc::IN_ACCESS);
        inotify::notify_file(dst, libc::IN_MODIFY);
    }
    Ok(r)
}

/// The copy loop of [`transfer`].
fn copy(
    ctx: &TaskCtx,
    src: &Arc<OpenFile>,
    mut from: At,
    dst: &Arc<OpenFile>,
    mut to: At,
    count: u64,
    nonblock: bool,
) -> SysResult<(u64, At, At)> {
    if !src.readable() || !dst.writable() || src.is_path() || dst.is_path() {
        return Err(Errno::EBADF);
    }
    if dst.flags() & libc::O_APPEND as u32 != 0 && !matches!(to, At::Stream) {
        return Err(Errno::EINVAL);
    }
    let count = count.min(MAX_RW_COUNT);
    let mut done = 0u64;
    let mut buf = vec![0u8; (count as usize).min(CHUNK)];
    while done < count {
        let want = ((count - done) as usize).min(CHUNK);
        let roff = offset_now(src, &from)?;
        let r = if done == 0 && matches!(from, At::Stream) && !(nonblock || src.nonblocking()) {
            block_on_events(ctx, &[src.ops.as_ref()], libc::POLLIN, None, || {
                src.ops.read(&mut buf[..want], roff)
            })
        } else {
            src.ops.read(&mut buf[..want], roff)
        };
        let n = match r {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done > 0 && (e == Errno::EAGAIN || e.into_raw() == ERESTARTSYS) => break,
            Err(e) => return Err(e),
        };
        let mut sent = 0;
        while sent < n {
            let woff = offset_now(dst, &to)?;
            let w = if matches!(to, At::Stream) && !(nonblock || dst.nonblocking()) {
                block_on_events(ctx, &[dst.ops.as_ref()], libc::POLLOUT, None, || {
                    dst.ops.write(&buf[sent..n], woff)
                })
            } else {
                dst.ops.write(&buf[sent..n], woff)
            };
            match w {
                Ok(0) => break,
                Ok(m) => {
                    sent += m;
                    advance(dst, &mut to, m as u64)?;
                }
                Err(e) => {
                    if e == Errno::EPIPE {
                        ctx.task
                            .send_signal(Siginfo::kill(libc::SIGPIPE, SI_KERNEL, 0, 0));
                    }
                    advance(src, &mut from, sent as u64)?;
                    if done + sent as u64 > 0 {
                        return Ok((done + sent as u64, from, to));
                    }
                    return Err(e);
                }
            }
        }
        advance(src, &mut from, sent as u64)?;
        done += sent as u64;
        if sent < n {
            break;
        }
        if matches!(from, At::Stream) && n < want {
            break;
        }
    }
    Ok((done, from, to))
}

fn read_off(ctx: &TaskCtx, addr: u64) -> SysResult<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    let v: i64 = ctx.read_val(addr)?;
    if v < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v as u64))
}

fn write_off(ctx: &TaskCtx, addr: u64, at: &At) -> SysResult<()> {
    if let (true, At::Explicit(o)) = (addr != 0, at) {
        ctx.write_val(addr, &(*o as i64))?;
    }
    Ok(())
}

/// sendfile(out_fd, in_fd, offset, count).
pub fn sys_sendfile(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = files(ctx)?;
    let out = t.get(a[0] as i32)?;
    let inp = t.get(a[1] as i32)?;
    if !inp.ops.seekable() && a[2] != 0 {
        return Err(Errno::ESPIPE);
    }
    let from = side(&inp, read_off(ctx, a[2])?)?;
    let to = side(&out, None)?;
    let (n, from, _) = transfer(ctx, &inp, from, &out, to, a[3], false)?;
    write_off(ctx, a[2], &from)?;
    Ok(n)
}

/// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags).
pub fn sys_copy_file_range(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let t = files(ctx)?;
    let inp = t.get(a[0] as i32)?;
    let out = t.get(a[2] as i32)?;
    for f in [&inp, &out] {
        let attr = f.ops.stat()?;
        if attr.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !attr.is_reg() {
            return Err(Errno::EINVAL);
        }
    }
    let from = side(&inp, read_off(ctx, a[1])?)?;
    let to = side(&out, read_off(ctx, a[3])?)?;
    let (n, from, to) = transfer(ctx, &inp, from, &out, to, a[4], false)?;
    write_off(ctx, a[1], &from)?;
    write_off(ctx, a[3], &to)?;
    Ok(n)
}

/// splice(fd_in, off_in, fd_out, off_out, len, flags): one side must be a
/// pipe; data is copied (SPLICE_F_MOVE is only a hint on Linux too).
pub fn sys_splice(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[5] as u32;
    if flags
        & !(libc::SPLICE_F_MOVE
            | libc::SPLICE_F_NONBLOCK
            | libc::SPLICE_F_MORE
            | libc::SPLICE_F_GIFT)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let t = files(ctx)?;
    let inp = t.get(a[0] as i32)?;
    let out = t.get(a[2] as i32)?;
    let is_pipe = |f: &OpenFile| {
        f.ops
            .as_any()
            .downcast_ref::<crate::fs::pipe::PipeEnd>()
            .is_some()
    };
    if !is_pipe(&inp) && !is_pipe(&out) {
        return Err(Errno::EINVAL);
    }
    if (is_pipe(&inp) && a[1] != 0) || (is_pipe(&out) && a[3] != 0) {
        return Err(Errno::ESPIPE);
    }
    let from = side(&inp, read_off(ctx, a[1])?)?;
    let to = side(&out, read_off(ctx, a[3])?)?;
    let nb = flags & libc::SPLICE_F_NONBLOCK != 0;
    let (n, from, to) = transfer(ctx, &inp, from, &out, to, a[4], nb)?;
    write_off(ctx, a[1], &from)?;
    write_off(ctx, a[3], &to)?;
    Ok(n)
}

/// tee(fd_in, fd_out, len, flags): duplicates up to `len` bytes at the
/// front of one pipe onto the end of another without consuming them.
pub fn sys_tee(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32;
    if flags
        & !(libc::SPLICE_F_MOVE
            | libc::SPLICE_F_NONBLOCK
            | libc::SPLICE_F_MORE
            | libc::SPLICE_F_GIFT)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let len = a[2].min(MAX_RW_COUNT) as usize;
    if len == 0 {
        return Ok(0);
    }
    let t = files(ctx)?;
    let inp = t.get(a[0] as i32)?;
    let out = t.get(a[1] as i32)?;
    if inp.is_path() || out.is_path() || !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    let pipe_of = |f: &OpenFile| {
        f.ops
            .as_any()
            .downcast_ref::<crate::fs::pipe::PipeEnd>()
            .map(|e| e.pipe().clone())
    };
    let (Some(ip), Some(op)) = (pipe_of(&inp), pipe_of(&out)) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(&ip, &op) {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & libc::SPLICE_F_NONBLOCK != 0 || inp.nonblocking() || out.nonblocking();
    let r = if nonblock {
        ip.tee_into(&op, len)
    } else {
        block_on(ctx, &[inp.ops.as_ref(), out.ops.as_ref()], None, || {
            ip.tee_into(&op, len)
        })
    };
    if r == Err(Errno::EPIPE) {
        ctx.task
            .send_signal(Siginfo::kill(libc::SIGPIPE, SI_KERNEL, 0, 0));
    }
    Ok(r? as u64)
}
