//! Descriptor system calls: read/write and their vector and positional
//! forms, lseek, close, dup, fcntl, ioctl, pipe, getdents64, fstat.

use std::sync::Arc;

use rvisor_syscalls::abi::{dirent64_reclen, encode_dirent64, Iovec, Siginfo, SI_KERNEL};

use super::block_on_events;
use crate::fs::fdtable::FdTable;
use crate::fs::inotify::{self, Inotify};
use crate::fs::pipe::Pipe;
use crate::fs::{IoctlIo, OpenFile};
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// Largest single transfer (Linux's MAX_RW_COUNT).
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// Bytes moved per step between the workload and a file.
const CHUNK: usize = 1 << 20;
/// Reads and writes of at least this many bytes on files with a
/// [`crate::fs::FileOps::direct_io_fd`] go straight between the host file
/// and workload memory inside the stub; smaller ones are cheaper copied
/// through the sentry than the extra injected calls.
const DIRECT_MIN: u64 = 64 << 10;
/// A sentry thread's reusable transfer buffer for read/write: copying
/// through a fresh megabyte per call cost more in allocation, page faults and
/// zeroing than the copy itself. Taken out of the thread-local slot for the
/// duration of one call (a nested call gets a fresh one) and put back when
/// dropped; its contents are always overwritten before use.
pub(crate) struct IoBuf {
    buf: Vec<u8>,
    len: usize,
}

thread_local! {
    static IO_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl IoBuf {
    /// A buffer of `len` bytes (at most [`CHUNK`]).
    pub(crate) fn take(len: usize) -> IoBuf {
        let mut buf = IO_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        if buf.len() < len {
            buf.resize(len, 0);
        }
        IoBuf { buf, len }
    }

    pub(crate) fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }
}

impl Drop for IoBuf {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        IO_BUF.with(|b| {
            if let Ok(mut slot) = b.try_borrow_mut() {
                if slot.capacity() < buf.capacity() {
                    *slot = buf;
                }
            }
        });
    }
}

/// Largest iovec count (UIO_MAXIOV).
pub const UIO_MAXIOV: u64 = 1024;

/// The calling task's descriptor table.
pub fn files(ctx: &TaskCtx) -> SysResult<Arc<FdTable>> {
    Ok(ctx.task.inner.lock().map_err(|_| Errno::EIO)?.files.clone())
}

/// RLIMIT_NOFILE's soft limit.
pub fn nofile(ctx: &TaskCtx) -> u64 {
    ctx.task
        .tg
        .inner
        .lock()
        .map(|g| g.rlimits[libc::RLIMIT_NOFILE as usize].0)
        .unwrap_or(1024)
}

/// Installs `file` at the lowest free descriptor.
pub fn install(ctx: &TaskCtx, file: Arc<OpenFile>, cloexec: bool) -> SysResult<u64> {
    let lim = nofile(ctx);
    Ok(files(ctx)?.insert_from(0, file, cloexec, lim)? as u64)
}

/// How much of [addr, addr+len) is mapped with the needed protection, from
/// `addr` on without a gap. Like Linux, a read or write moves data until
/// the first byte it cannot copy, so a buffer whose tail is unmapped gives a
/// short count; one whose first byte is bad gives EFAULT.
pub(crate) fn user_prefix(ctx: &TaskCtx, addr: u64, len: u64, write: bool) -> SysResult<u64> {
    if len == 0 {
        return Ok(0);
    }
    let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
    let mm = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.mm.clone();
    let m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    let need = if write {
        libc::PROT_WRITE
    } else {
        libc::PROT_READ
    } as u32;
    let mut cur = addr;
    while cur < end {
        match m.find(cur) {
            Some(v) if v.prot & need != 0 => cur = v.end,
            _ => break,
        }
    }
    let ok = cur.min(end) - addr;
    if ok == 0 {
        return Err(Errno::EFAULT);
    }
    Ok(ok)
}

/// Reads from `file` into workload memory; `off` None uses and advances
/// the file position.
fn read_into_user(
    ctx: &TaskCtx,
    file: &OpenFile,
    addr: u64,
    len: u64,
    off: Option<u64>,
) -> SysResult<u64> {
    if !file.readable() || file.is_path() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT);
    if let Some(s) = super::inet::inet_of(file) {
        if off.is_some() {
            return Err(Errno::ESPIPE);
        }
        return super::inet::read(ctx, file, s, vec![(addr, len)]);
    }
    if len == 0 && !file.ops.as_any().is::<Inotify>() {
        // (inotify answers even an empty read: EINVAL when an event waits.)
        return Ok(0);
    }
    let len = user_prefix(ctx, addr, len, true)?;
    let seekable = file.ops.seekable();
    if off.is_some() && !seekable {
        return Err(Errno::ESPIPE);
    }
    if super::tty::is_tty(file.ops.as_ref()) {
        return super::tty::read(ctx, file, addr, len);
    }
    let mut pos_guard = if off.is_none() && seekable {
        Some(file.pos.lock().map_err(|_| Errno::EIO)?)
    } else {
        None
    };
    if let Some(fd) = file.ops.direct_io_fd().filter(|_| len >= DIRECT_MIN) {
        let at = match (&off, &pos_guard) {
            (Some(o), _) => *o,
            (None, Some(p)) => **p,
            (None, None) => 0,
        };
        if let Ok(r) = ctx.stub.host_fd_io(fd, false, addr, len, at) {
            let n = r.map_err(Errno::new)?;
            if let Some(p) = pos_guard.as_mut() {
                **p += n;
            }
            return Ok(n);
        }
        // The stub could not take the descriptor: copy through the sentry.
    }
    let mut done = 0u64;
    let mut io = IoBuf::take((len as usize).min(CHUNK));
    let buf = io.as_mut();
    loop {
        let want = ((len - done) as usize).min(CHUNK);
        let at = match (&off, &pos_guard) {
            (Some(o), _) => o + done,
            (None, Some(p)) => **p,
            (None, None) => 0,
        };
        let r = if seekable || file.nonblocking() {
            file.ops.read(&mut buf[..want], at)
        } else {
            block_on_events(ctx, &[file.ops.as_ref()], libc::POLLIN, None, || {
                file.ops.read(&mut buf[..want], at)
            })
        };
        let n = match r {
            Ok(n) => n,
            Err(e)
                if done > 0
                    && (e == Errno::EAGAIN || e.into_raw() == crate::kernel::task::ERESTARTSYS) =>
            {
                break
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        ctx.write_bytes(addr + done, &buf[..n])?;
        done += n as u64;
        if let Some(p) = pos_guard.as_mut() {
            **p += n as u64;
        }
        if !seekable || n < want || done >= len {
            break;
        }
    }
    Ok(done)
}

/// Writes workload memory to `file`.
fn write_from_user(
    ctx: &TaskCtx,
    file: &OpenFile,
    addr: u64,
    len: u64,
    off: Option<u64>,
) -> SysResult<u64> {
    if !file.writable() || file.is_path() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT);
    if let Some(s) = super::inet::inet_of(file) {
        // (No shortcut for zero bytes: that is an empty datagram.)
        if off.is_some() {
            return Err(Errno::ESPIPE);
        }
        return super::inet::write(ctx, file, s, vec![(addr, len)]);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = user_prefix(ctx, addr, len, false)?;
    let seekable = file.ops.seekable();
    if off.is_some() && !seekable {
        return Err(Errno::ESPIPE);
    }
    if super::tty::is_tty(file.ops.as_ref()) {
        return super::tty::write(ctx, file, addr, len);
    }
    let append = file.flags() & libc::O_APPEND as u32 != 0;
    let mut pos_guard = if off.is_none() && seekable {
        Some(file.pos.lock().map_err(|_| Errno::EIO)?)
    } else {
        None
    };
    if append && off.is_none() {
        if let Some(p) = pos_guard.as_mut() {
            **p = file.ops.stat()?.size;
        }
    }
    // RLIMIT_FSIZE: a regular file may not grow past the limit.
    let mut len = len;
    if seekable && file.ops.stat().map(|a| a.is_reg()).unwrap_or(false) {
        let limit = ctx
            .task
            .tg
            .inner
            .lock()
            .map(|g| g.rlimits[libc::RLIMIT_FSIZE as usize].0)
            .unwrap_or(u64::MAX);
        let start = match (&off, &pos_guard) {
            (Some(o), _) => *o,
            (None, Some(p)) => **p,
            (None, None) => 0,
        };
        if start.saturating_add(len) > limit {
            if start >= limit {
                ctx.task
                    .send_signal(Siginfo::kill(libc::SIGXFSZ, SI_KERNEL, 0, 0));
                return Err(Errno::EFBIG);
            }
            len = limit - start;
        }
    }
    if file.ops.discards_writes() {
        return Ok(len);
    }
    if let Some(fd) = file.ops.direct_io_fd().filter(|_| len >= DIRECT_MIN) {
        let at = match (&off, &pos_guard) {
            (Some(o), _) => *o,
            (None, Some(p)) => **p,
            (None, None) => 0,
        };
        if let Ok(r) = ctx.stub.host_fd_io(fd, true, addr, len, at) {
            let n = r.map_err(Errno::new)?;
            if let Some(p) = pos_guard.as_mut() {
                **p += n;
            }
            return Ok(n);
        }
    }
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(CHUNK);
        let mut io = IoBuf::take(want);
        let data = io.as_mut();
        ctx.read_into(addr + done, data)?;
        let data = &*data;
        let mut sent = 0usize;
        while sent < data.len() {
            let at = match (&off, &pos_guard) {
                (Some(o), _) => o + done + sent as u64,
                (None, Some(p)) => **p,
                (None, None) => 0,
            };
            let r = if seekable || file.nonblocking() {
                file.ops.write(&data[sent..], at)
            } else {
                block_on_events(ctx, &[file.ops.as_ref()], libc::POLLOUT, None, || {
                    file.ops.write(&data[sent..], at)
                })
            };
            match r {
                Ok(n) => {
                    sent += n;
                    if let Some(p) = pos_guard.as_mut() {
                        **p += n as u64;
                    }
                    if n == 0 {
                        break;
                    }
                }
                Err(e) if e == Errno::EPIPE => {
                    ctx.task
                        .send_signal(Siginfo::kill(libc::SIGPIPE, SI_KERNEL, 0, 0));
                    if done + sent as u64 > 0 {
                        return Ok(done + sent as u64);
                    }
                    return Err(e);
                }
                Err(e) => {
                    if done + (sent as u64) > 0 {
                        return Ok(done + sent as u64);
                    }
                    return Err(e);
                }
            }
            if file.nonblocking() && sent < data.len() {
                return Ok(done + sent as u64);
            }
        }
        done += sent as u64;
        if sent < want {
            break;
        }
    }
    Ok(done)
}

/// Reports `IN_ACCESS` for a read that returned `n` bytes (read and
/// pread report only when data moved; readv and preadv always, as Linux).
fn accessed(file: &OpenFile, n: u64, always: bool) -> u64 {
    if n > 0 || always {
        inotify::notify_file(file, libc::IN_ACCESS);
    }
    n
}

/// Reports `IN_MODIFY` for a write that moved `n` > 0 bytes.
fn modified(file: &OpenFile, n: u64) -> u64 {
    if n > 0 {
        inotify::notify_file(file, libc::IN_MODIFY);
    }
    n
}

/// read.
pub fn sys_read(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    Ok(accessed(
        &f,
        read_into_user(ctx, &f, a[1], a[2], None)?,
        false,
    ))
}

/// write.
pub fn sys_write(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    Ok(modified(&f, write_from_user(ctx, &f, a[1], a[2], None)?))
}

fn pos_arg(v: u64) -> SysResult<u64> {
    if (v as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// pread64.
pub fn sys_pread64(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let n = read_into_user(ctx, &f, a[1], a[2], Some(pos_arg(a[3])?))?;
    Ok(accessed(&f, n, false))
}

/// pwrite64.
pub fn sys_pwrite64(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let n = write_from_user(ctx, &f, a[1], a[2], Some(pos_arg(a[3])?))?;
    Ok(modified(&f, n))
}

pub(crate) fn read_iovecs(ctx: &TaskCtx, addr: u64, count: u64) -> SysResult<Vec<Iovec>> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let bytes = ctx.read_bytes(addr, count as usize * 16)?;
    let mut v = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for c in bytes.chunks_exact(16) {
        let base = u64::from_le_bytes(c[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(c[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.checked_add(len).ok_or(Errno::EINVAL)?;
        if total > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        v.push(Iovec {
            iov_base: base,
            iov_len: len,
        });
    }
    Ok(v)
}

fn vec_io(ctx: &TaskCtx, a: [u64; 6], write: bool, positional: bool) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let n = vec_io_on(ctx, &f, a, write, positional)?;
    Ok(if write {
        modified(&f, n)
    } else {
        accessed(&f, n, true)
    })
}

fn vec_io_on(
    ctx: &TaskCtx,
    f: &OpenFile,
    a: [u64; 6],
    write: bool,
    positional: bool,
) -> SysResult<u64> {
    if f.is_path() || (write && !f.writable()) || (!write && !f.readable()) {
        return Err(Errno::EBADF);
    }
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    if let Some(s) = super::inet::inet_of(f) {
        // One receive or send over all the buffers (a datagram is
        // scattered or gathered whole).
        if positional {
            return Err(Errno::ESPIPE);
        }
        let v = iovs.iter().map(|i| (i.iov_base, i.iov_len)).collect();
        return if write {
            super::inet::write(ctx, f, s, v)
        } else {
            super::inet::read(ctx, f, s, v)
        };
    }
    let mut off = if positional {
        Some(pos_arg(a[3])?)
    } else {
        None
    };
    let mut total = 0u64;
    for iov in iovs {
        if iov.iov_len == 0 {
            continue;
        }
        let r = if write {
            write_from_user(ctx, f, iov.iov_base, iov.iov_len, off)
        } else {
            read_into_user(ctx, f, iov.iov_base, iov.iov_len, off)
        };
        match r {
            Ok(n) => {
                total += n;
                if let Some(o) = off.as_mut() {
                    *o += n;
                }
                if n < iov.iov_len {
                    break;
                }
            }
            Err(e) => {
                if total > 0 {
                    break;
                }
                return Err(e);
            }
        }
        if total >= MAX_RW_COUNT {
            break;
        }
    }
    Ok(total)
}

/// readv.
pub fn sys_readv(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    vec_io(ctx, a, false, false)
}
/// writev.
pub fn sys_writev(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    vec_io(ctx, a, true, false)
}
/// preadv.
pub fn sys_preadv(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    vec_io(ctx, a, false, true)
}
/// pwritev.
pub fn sys_pwritev(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    vec_io(ctx, a, true, true)
}

/// lseek.
pub fn sys_lseek(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    if f.ops.as_any().is::<Inotify>() {
        // noop_llseek: the position stays 0.
        return Ok(0);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let off = a[1] as i64;
    let mut pos = f.pos.lock().map_err(|_| Errno::EIO)?;
    let new = match a[2] as i32 {
        libc::SEEK_SET => off,
        libc::SEEK_CUR => (*pos as i64).checked_add(off).ok_or(Errno::EOVERFLOW)?,
        libc::SEEK_END => (f.ops.stat()?.size as i64)
            .checked_add(off)
            .ok_or(Errno::EOVERFLOW)?,
        libc::SEEK_DATA => {
            let size = f.ops.stat()?.size as i64;
            if off >= size {
                return Err(Errno::ENXIO);
            }
            off
        }
        libc::SEEK_HOLE => {
            let size = f.ops.stat()?.size as i64;
            if off >= size {
                return Err(Errno::ENXIO);
            }
            size
        }
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *pos = new as u64;
    if new == 0 {
        if let Ok(mut c) = f.dir_cache.lock() {
            *c = None;
        }
    }
    Ok(new as u64)
}

/// close.
pub fn sys_close(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let e = files(ctx)?.remove(a[0] as i32)?;
    release_posix_locks(ctx, &e.file);
    drop(e);
    Ok(0)
}

/// close_range.
pub fn sys_close_range(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let (lo, hi, flags) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if lo > hi || flags & !(libc::CLOSE_RANGE_CLOEXEC | libc::CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::CLOSE_RANGE_UNSHARE != 0 {
        let mut i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
        i.files = i.files.fork();
    }
    let removed = files(ctx)?.close_range(lo, hi, flags & libc::CLOSE_RANGE_CLOEXEC != 0);
    for e in &removed {
        release_posix_locks(ctx, &e.file);
    }
    drop(removed);
    Ok(0)
}

/// dup.
pub fn sys_dup(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = files(ctx)?;
    let f = t.get(a[0] as i32)?;
    Ok(t.insert_from(0, f, false, nofile(ctx))? as u64)
}

/// dup2.
pub fn sys_dup2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = files(ctx)?;
    let f = t.get(a[0] as i32)?;
    if a[0] == a[1] {
        return Ok(a[1]);
    }
    let old = t.insert_at(a[1] as i32, f, false, nofile(ctx))?;
    if let Some(e) = &old {
        release_posix_locks(ctx, &e.file);
    }
    drop(old);
    Ok(a[1])
}

/// dup3.
pub fn sys_dup3(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as i32;
    if flags & !libc::O_CLOEXEC != 0 || a[0] == a[1] {
        return Err(Errno::EINVAL);
    }
    let t = files(ctx)?;
    let f = t.get(a[0] as i32)?;
    let old = t.insert_at(a[1] as i32, f, flags & libc::O_CLOEXEC != 0, nofile(ctx))?;
    if let Some(e) = &old {
        release_posix_locks(ctx, &e.file);
    }
    drop(old);
    Ok(a[1])
}

/// fcntl.
pub fn sys_fcntl(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let fd = a[0] as i32;
    let cmd = a[1] as i32;
    let t = files(ctx)?;
    let e = t.get_entry(fd)?;
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = a[2] as i64;
            if min < 0 || min as u64 >= nofile(ctx) {
                return Err(Errno::EINVAL);
            }
            Ok(t.insert_from(
                min as i32,
                e.file,
                cmd == libc::F_DUPFD_CLOEXEC,
                nofile(ctx),
            )? as u64)
        }
        libc::F_GETFD => Ok(if e.cloexec {
            libc::FD_CLOEXEC as u64
        } else {
            0
        }),
        libc::F_SETFD => {
            t.set_cloexec(fd, a[2] & libc::FD_CLOEXEC as u64 != 0)?;
            Ok(0)
        }
        libc::F_GETFL => Ok((e.file.flags() | libc::O_LARGEFILE as u32) as u64),
        libc::F_SETFL => {
            if e.file.is_path() {
                return Err(Errno::EBADF);
            }
            e.file.set_status_flags(a[2] as u32);
            Ok(0)
        }
        libc::F_GETPIPE_SZ | libc::F_SETPIPE_SZ => {
            if e.file
                .ops
                .as_any()
                .downcast_ref::<crate::fs::pipe::PipeEnd>()
                .is_none()
            {
                return Err(Errno::EBADF);
            }
            if cmd == libc::F_SETPIPE_SZ && a[2] as i64 > crate::fs::pipe::PIPE_BUF_SIZE as i64 {
                // Pipes have a fixed capacity here.
                return Err(Errno::EPERM);
            }
            Ok(crate::fs::pipe::PIPE_BUF_SIZE as u64)
        }
        libc::F_GETOWN => Ok(0),
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => record_lock(ctx, &e.file, cmd, a[2]),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct flock` as x86-64 Linux lays it out (32 bytes).
#[derive(
    Clone,
    Copy,
    Default,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
#[repr(C)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    _pad: i32,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
    _pad2: i32,
}

/// fcntl record locks: F_GETLK/F_SETLK/F_SETLKW and their OFD forms.
fn record_lock(ctx: &TaskCtx, file: &Arc<OpenFile>, cmd: i32, addr: u64) -> SysResult<u64> {
    use crate::kernel::reclock::{table, Owner};
    let mut fl: Flock = ctx.read_val(addr)?;
    let ofd = matches!(
        cmd,
        libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW
    );
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let owner = if ofd {
        Owner::Description(Arc::as_ptr(file) as usize)
    } else {
        Owner::Process(ctx.task.tg.tgid)
    };
    let attr = file.ops.stat()?;
    let key = (attr.dev, attr.ino);
    let base: i64 = match fl.l_whence as i32 {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => *file.pos.lock().map_err(|_| Errno::EIO)? as i64,
        libc::SEEK_END => attr.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match fl.l_len {
        0 => (start, i64::MAX),
        n if n > 0 => (start, start.checked_add(n).ok_or(Errno::EOVERFLOW)?),
        n => (start.checked_add(n).ok_or(Errno::EINVAL)?, start),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let (start, end) = (
        start as u64,
        if end == i64::MAX {
            u64::MAX
        } else {
            end as u64
        },
    );
    let write = match fl.l_type as i32 {
        libc::F_RDLCK => false,
        libc::F_WRLCK => true,
        libc::F_UNLCK => {
            if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
                return Err(Errno::EINVAL);
            }
            table().unlock(key, owner, start, end);
            return Ok(0);
        }
        _ => return Err(Errno::EINVAL),
    };
    if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
        match table().conflict(key, owner, write, start, end) {
            None => fl.l_type = libc::F_UNLCK as i16,
            Some(l) => {
                fl.l_type = if l.write {
                    libc::F_WRLCK as i16
                } else {
                    libc::F_RDLCK as i16
                };
                fl.l_whence = libc::SEEK_SET as i16;
                fl.l_start = l.start as i64;
                fl.l_len = if l.end == u64::MAX {
                    0
                } else {
                    (l.end - l.start) as i64
                };
                fl.l_pid = match l.owner {
                    Owner::Process(p) => p,
                    Owner::Description(_) => -1,
                };
            }
        }
        ctx.write_val(addr, &fl)?;
        return Ok(0);
    }
    if (write && !file.writable()) || (!write && !file.readable()) {
        return Err(Errno::EBADF);
    }
    if table().try_set(key, owner, write, start, end) {
        return Ok(0);
    }
    if matches!(cmd, libc::F_SETLK | libc::F_OFD_SETLK) {
        return Err(Errno::EAGAIN);
    }
    super::wait_until(ctx, &table().changed, None, || {
        table().try_set(key, owner, write, start, end)
    })?;
    Ok(0)
}

/// Drops the calling process's POSIX record locks on `file` (any close of
/// a descriptor for the file does that, as on Linux).
pub(crate) fn release_posix_locks(ctx: &TaskCtx, file: &OpenFile) {
    if let Ok(a) = file.ops.stat() {
        let owner = crate::kernel::reclock::Owner::Process(ctx.task.tg.tgid);
        crate::kernel::reclock::table().release(owner, Some((a.dev, a.ino)));
    }
}

/// Workload memory access for ioctls.
struct CtxIo<'a>(&'a TaskCtx);

impl IoctlIo for CtxIo<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        self.0.read_into(addr, buf)
    }
    fn write(&mut self, addr: u64, buf: &[u8]) -> SysResult<()> {
        self.0.write_bytes(addr, buf)
    }
}

/// ioctl.
pub fn sys_ioctl(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let fd = a[0] as i32;
    let cmd = a[1] as u32;
    let t = files(ctx)?;
    let f = t.get(fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    match cmd as u64 {
        libc::FIOCLEX => {
            t.set_cloexec(fd, true)?;
            Ok(0)
        }
        libc::FIONCLEX => {
            t.set_cloexec(fd, false)?;
            Ok(0)
        }
        libc::FIONBIO => {
            let on: i32 = ctx.read_val(a[2])?;
            let fl = f.flags();
            let nb = libc::O_NONBLOCK as u32;
            f.set_status_flags(if on != 0 { fl | nb } else { fl & !nb });
            Ok(0)
        }
        libc::FIOASYNC => Err(Errno::EINVAL),
        _ if super::tty::is_tty(f.ops.as_ref()) => super::tty::ioctl(ctx, &f, cmd, a[2]),
        // Interface ioctls work on any socket on Linux; a Unix socket (what
        // glibc's if_nametoindex opens) asks through a short-lived host
        // one, when the sandbox has a network.
        _ if crate::net::ifreq::is_interface_ioctl(cmd)
            && ctx.kernel().config.inet
            && f.ops.as_any().is::<crate::net::unix::UnixSocket>() =>
        {
            crate::net::ifreq::ioctl_detached(cmd, a[2], &mut CtxIo(ctx))
        }
        _ => f.ops.ioctl(cmd, a[2], &mut CtxIo(ctx)),
    }
}

fn make_pipe(ctx: &TaskCtx, addr: u64, flags: i32) -> SysResult<u64> {
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = Pipe::new_pair(ctx.kernel().next_ino());
    let nb = (flags & libc::O_NONBLOCK) as u32;
    let rf = OpenFile::new(r, libc::O_RDONLY as u32 | nb, None);
    let wf = OpenFile::new(w, libc::O_WRONLY as u32 | nb, None);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let t = files(ctx)?;
    let lim = nofile(ctx);
    let rfd = t.insert_from(0, rf, cloexec, lim)?;
    let wfd = match t.insert_from(0, wf, cloexec, lim) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.remove(rfd);
            return Err(e);
        }
    };
    let fds = [rfd, wfd];
    if let Err(e) = ctx.write_val(addr, &fds) {
        let _ = t.remove(rfd);
        let _ = t.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

/// pipe.
pub fn sys_pipe(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    make_pipe(ctx, a[0], 0)
}

/// pipe2.
pub fn sys_pipe2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    make_pipe(ctx, a[0], a[1] as i32)
}

/// getdents64.
pub fn sys_getdents64(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    let inode = f.ops.inode().ok_or(Errno::ENOTDIR)?;
    if !inode.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let count = (a[2] as usize).min(1 << 20);
    let mut cache = f.dir_cache.lock().map_err(|_| Errno::EIO)?;
    let mut pos = f.pos.lock().map_err(|_| Errno::EIO)?;
    if cache.is_none() || *pos == 0 {
        let loc = f.location.clone();
        let list = match &loc {
            Some(l) => crate::fs::vfs::list_with_dots(l, &inode)?,
            None => {
                let mut v = vec![
                    crate::fs::DirEntry {
                        ino: 1,
                        dtype: libc::DT_DIR,
                        name: b".".to_vec(),
                    },
                    crate::fs::DirEntry {
                        ino: 1,
                        dtype: libc::DT_DIR,
                        name: b"..".to_vec(),
                    },
                ];
                v.extend(inode.readdir()?);
                v
            }
        };
        *cache = Some(list);
    }
    let list = cache.as_ref().ok_or(Errno::EIO)?;
    let mut out = Vec::with_capacity(count.min(65536));
    let mut idx = *pos as usize;
    while idx < list.len() {
        let e = &list[idx];
        if out.len() + dirent64_reclen(e.name.len()) > count {
            break;
        }
        encode_dirent64(&mut out, e.ino, (idx + 1) as i64, e.dtype, &e.name);
        idx += 1;
    }
    if out.is_empty() && idx < list.len() {
        return Err(Errno::EINVAL);
    }
    ctx.write_bytes(a[1], &out)?;
    *pos = idx as u64;
    drop(pos);
    drop(cache);
    inotify::notify_file(&f, libc::IN_ACCESS);
    Ok(out.len() as u64)
}

/// fstat.
pub fn sys_fstat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let st = super::path::to_stat(&f.ops.stat()?);
    ctx.write_val(a[1], &st)?;
    Ok(0)
}
