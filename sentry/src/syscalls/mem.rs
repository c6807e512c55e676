//! Memory system calls: brk, the mmap family, madvise, mincore, mlock.

use std::sync::Arc;

use crate::kernel::task::TaskCtx;
use crate::mm::{self, page_up, touches_trampoline, Mm, Vma, VmaName, PAGE, TASK_SIZE};
use crate::{Errno, SysResult};

fn mm_of(ctx: &TaskCtx) -> SysResult<Arc<Mm>> {
    Ok(ctx.task.inner.lock().map_err(|_| Errno::EIO)?.mm.clone())
}

fn check_range(addr: u64, len: u64) -> SysResult<u64> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if end > TASK_SIZE {
        return Err(Errno::EINVAL);
    }
    if touches_trampoline(addr, end) {
        return Err(Errno::EINVAL);
    }
    Ok(end)
}

/// brk.
pub fn sys_brk(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let mm = mm_of(ctx)?;
    let mut m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    let want = a[0];
    let cur = m.brk;
    if want < m.brk_start || want > TASK_SIZE {
        return Ok(cur);
    }
    let old_top = page_up(cur).ok_or(Errno::ENOMEM)?;
    let new_top = page_up(want).ok_or(Errno::ENOMEM)?;
    let limit = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| g.rlimits[libc::RLIMIT_DATA as usize].0)
        .unwrap_or(u64::MAX);
    if want - m.brk_start > limit {
        return Ok(cur);
    }
    if new_top > old_top {
        if touches_trampoline(old_top, new_top) {
            return Ok(cur);
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        match mm::host_mmap(
            &ctx.stub,
            old_top,
            new_top - old_top,
            (libc::PROT_READ | libc::PROT_WRITE) as u32,
            flags as u32,
        ) {
            Ok(addr) if addr == old_top => {}
            Ok(addr) => {
                let _ = mm::host_call(
                    &ctx.stub,
                    libc::SYS_munmap,
                    [addr, new_top - old_top, 0, 0, 0, 0],
                );
                return Ok(cur);
            }
            Err(_) => return Ok(cur),
        }
        let heap_start = page_up(m.brk_start).unwrap_or(old_top);
        m.insert(Vma {
            start: heap_start,
            end: new_top,
            prot: (libc::PROT_READ | libc::PROT_WRITE) as u32,
            shared: false,
            name: VmaName::Heap,
        });
    } else if new_top < old_top {
        mm::host_call(
            &ctx.stub,
            libc::SYS_munmap,
            [new_top, old_top - new_top, 0, 0, 0, 0],
        )?;
        m.remove_range(new_top, old_top);
    }
    m.brk = want;
    Ok(want)
}

const MMAP_PASS_FLAGS: u32 = (libc::MAP_SHARED
    | libc::MAP_PRIVATE
    | libc::MAP_FIXED
    | libc::MAP_ANONYMOUS
    | libc::MAP_NORESERVE
    | libc::MAP_FIXED_NOREPLACE
    | libc::MAP_POPULATE
    | libc::MAP_STACK
    | libc::MAP_32BIT
    | libc::MAP_GROWSDOWN) as u32;

/// mmap.
pub fn sys_mmap(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, prot, flags, fd, off) =
        (a[0], a[1], a[2] as u32, a[3] as u32, a[4] as i32, a[5]);
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_up(len).ok_or(Errno::ENOMEM)?;
    if plen > TASK_SIZE {
        return Err(Errno::ENOMEM);
    }
    if prot & !((libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u32) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = flags & libc::MAP_TYPE as u32;
    let shared = match kind {
        x if x == libc::MAP_PRIVATE as u32 => false,
        x if x == libc::MAP_SHARED as u32 || x == libc::MAP_SHARED_VALIDATE as u32 => true,
        _ => return Err(Errno::EINVAL),
    };
    if kind == libc::MAP_SHARED_VALIDATE as u32
        && flags & !(MMAP_PASS_FLAGS | libc::MAP_SHARED_VALIDATE as u32 | libc::MAP_LOCKED as u32)
            != 0
    {
        return Err(Errno::EOPNOTSUPP);
    }
    if off % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) as u32 != 0;
    if fixed {
        check_range(addr, plen)?;
    } else if addr != 0 && touches_trampoline(addr, addr.saturating_add(plen)) {
        return mmap_inner(ctx, 0, plen, prot, flags, shared, fd, off);
    }
    mmap_inner(ctx, addr, plen, prot, flags, shared, fd, off)
}

#[allow(clippy::too_many_arguments)]
fn mmap_inner(
    ctx: &mut TaskCtx,
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
    shared: bool,
    fd: i32,
    off: u64,
) -> SysResult<u64> {
    let mm = mm_of(ctx)?;
    let base_flags = (flags & MMAP_PASS_FLAGS & !(libc::MAP_SHARED as u32))
        | if shared {
            libc::MAP_SHARED as u32
        } else {
            libc::MAP_PRIVATE as u32
        };
    if flags & libc::MAP_ANONYMOUS as u32 != 0 {
        let a = mm::host_mmap(
            &ctx.stub,
            addr,
            len,
            prot,
            base_flags | libc::MAP_ANONYMOUS as u32,
        )?;
        mm.inner.lock().map_err(|_| Errno::EIO)?.insert(Vma {
            start: a,
            end: a + len,
            prot,
            shared,
            name: VmaName::Anon,
        });
        return Ok(a);
    }
    // File mapping.
    let files = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.files.clone();
    let file = files.get(fd)?;
    if file.is_path() || !file.readable() {
        return Err(Errno::EACCES);
    }
    if !file.ops.mmap_source() {
        return Err(Errno::ENODEV);
    }
    if shared && prot & libc::PROT_WRITE as u32 != 0 && !file.writable() {
        return Err(Errno::EACCES);
    }
    // No executable mappings of files on a noexec mount.
    if prot & libc::PROT_EXEC as u32 != 0
        && file.location.as_ref().is_some_and(|l| l.mount.noexec())
    {
        return Err(Errno::EPERM);
    }
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    let attr = file.ops.stat()?;
    let path = match &file.location {
        Some(loc) => {
            let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
            let root = fs.lock().map_err(|_| Errno::EIO)?.root.clone();
            ctx.kernel().vfs.path_of(loc, &root)
        }
        None => Vec::new(),
    };
    let noexec = file.location.as_ref().is_some_and(|l| l.mount.noexec());
    let max_prot = libc::PROT_READ as u32
        | if !shared || file.writable() {
            libc::PROT_WRITE as u32
        } else {
            0
        }
        | if noexec { 0 } else { libc::PROT_EXEC as u32 };
    let name = VmaName::File {
        path,
        dev: attr.dev,
        ino: attr.ino,
        offset: off,
        max_prot,
    };
    if let Some(hfd) = file.ops.host_mmap_fd() {
        // The host file's own pages, shared with the page cache.
        let a = mm::host_mmap_fd(&ctx.stub, hfd, addr, len, prot, base_flags, off)?;
        mm.inner.lock().map_err(|_| Errno::EIO)?.insert(Vma {
            start: a,
            end: a + len,
            prot,
            shared,
            name,
        });
        return Ok(a);
    }
    if shared && prot & libc::PROT_WRITE as u32 != 0 {
        // A writable shared mapping of a sentry-memory file would need the
        // file's pages shared with the stub; not supported yet.
        return Err(Errno::ENODEV);
    }
    // Sentry-memory files: anonymous memory filled with the contents.
    let anon_flags = (base_flags & !(libc::MAP_SHARED as u32))
        | (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u32;
    let a = mm::host_mmap(
        &ctx.stub,
        addr,
        len,
        (libc::PROT_READ | libc::PROT_WRITE) as u32,
        anon_flags,
    )?;
    let avail = attr.size.saturating_sub(off).min(len);
    let mut done = 0u64;
    let mut buf = vec![0u8; (avail.min(1 << 20)) as usize];
    while done < avail {
        let chunk = (avail - done).min(1 << 20) as usize;
        let n = match file.ops.read(&mut buf[..chunk], off + done) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = mm::host_call(&ctx.stub, libc::SYS_munmap, [a, len, 0, 0, 0, 0]);
                return Err(e);
            }
        };
        mm::fill(&ctx.stub, a + done, &buf[..n])?;
        done += n as u64;
    }
    if prot != (libc::PROT_READ | libc::PROT_WRITE) as u32 {
        mm::host_call(
            &ctx.stub,
            libc::SYS_mprotect,
            [a, len, prot as u64, 0, 0, 0],
        )?;
    }
    mm.inner.lock().map_err(|_| Errno::EIO)?.insert(Vma {
        start: a,
        end: a + len,
        prot,
        shared,
        name,
    });
    Ok(a)
}

/// munmap.
pub fn sys_munmap(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    let end = check_range(a[0], a[1])?;
    let mm = mm_of(ctx)?;
    let mut m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    mm::host_call(&ctx.stub, libc::SYS_munmap, [a[0], end - a[0], 0, 0, 0, 0])?;
    m.remove_range(a[0], end);
    Ok(0)
}

/// mprotect.
pub fn sys_mprotect(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let prot = a[2] as u32;
    if prot
        & !((libc::PROT_READ
            | libc::PROT_WRITE
            | libc::PROT_EXEC
            | libc::PROT_GROWSDOWN
            | libc::PROT_GROWSUP) as u32)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let prot = prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u32;
    let end = check_range(a[0], a[1])?;
    if end == a[0] {
        return Ok(0);
    }
    let mm = mm_of(ctx)?;
    let mut m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    if !m.is_mapped(a[0], end) {
        return Err(Errno::ENOMEM);
    }
    m.check_protect(a[0], end, prot)?;
    mm::host_call(
        &ctx.stub,
        libc::SYS_mprotect,
        [a[0], end - a[0], prot as u64, 0, 0, 0],
    )?;
    m.protect(a[0], end, prot)?;
    Ok(0)
}

/// mremap.
pub fn sys_mremap(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3] as i32, a[4]);
    if flags & !(libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | 4) != 0 || old % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::MREMAP_FIXED != 0 && flags & libc::MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    let old_len_p = page_up(old_len).ok_or(Errno::EINVAL)?;
    let new_len_p = page_up(new_len).ok_or(Errno::EINVAL)?;
    if new_len_p == 0 {
        return Err(Errno::EINVAL);
    }
    check_range(old, old_len_p.max(PAGE))?;
    if flags & libc::MREMAP_FIXED != 0 {
        check_range(new_addr, new_len_p)?;
    }
    let mm = mm_of(ctx)?;
    let mut m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    let vma = m.find(old).cloned().ok_or(Errno::EFAULT)?;
    if old_len_p != 0 && !m.is_mapped(old, old + old_len_p) {
        return Err(Errno::EFAULT);
    }
    let r = ctx
        .stub
        .inject(
            libc::SYS_mremap,
            [old, old_len_p, new_len_p, flags as u64, new_addr, 0],
        )
        .map_err(|_| Errno::EFAULT)?;
    if r < 0 {
        return Err(Errno::new((-r) as i32));
    }
    let na = r as u64;
    if touches_trampoline(na, na + new_len_p) {
        return Err(Errno::ENOMEM);
    }
    if old_len_p != 0 {
        m.remove_range(old, old + old_len_p);
    }
    let mut nv = vma;
    if let VmaName::File { offset, .. } = &mut nv.name {
        *offset += old - nv.start;
    }
    nv.start = na;
    nv.end = na + new_len_p;
    m.insert(nv);
    Ok(na)
}

/// madvise: advice that changes memory contents is carried out in the
/// stub; the rest is accepted as a hint.
pub fn sys_madvise(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let advice = a[2] as i32;
    let end = check_range(a[0], a[1])?;
    let known = [
        libc::MADV_NORMAL,
        libc::MADV_RANDOM,
        libc::MADV_SEQUENTIAL,
        libc::MADV_WILLNEED,
        libc::MADV_DONTNEED,
        libc::MADV_FREE,
        libc::MADV_REMOVE,
        libc::MADV_DONTFORK,
        libc::MADV_DOFORK,
        libc::MADV_MERGEABLE,
        libc::MADV_UNMERGEABLE,
        libc::MADV_HUGEPAGE,
        libc::MADV_NOHUGEPAGE,
        libc::MADV_DONTDUMP,
        libc::MADV_DODUMP,
        libc::MADV_WIPEONFORK,
        libc::MADV_KEEPONFORK,
        libc::MADV_COLD,
        libc::MADV_PAGEOUT,
    ];
    if !known.contains(&advice) {
        return Err(Errno::EINVAL);
    }
    let mm = mm_of(ctx)?;
    let m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    if !m.is_mapped(a[0], end) {
        return Err(Errno::ENOMEM);
    }
    match advice {
        libc::MADV_DONTNEED
        | libc::MADV_FREE
        | libc::MADV_WIPEONFORK
        | libc::MADV_KEEPONFORK
        | libc::MADV_DONTFORK
        | libc::MADV_DOFORK => {
            mm::host_call(
                &ctx.stub,
                libc::SYS_madvise,
                [a[0], end - a[0], advice as u64, 0, 0, 0],
            )?;
        }
        _ => {}
    }
    Ok(0)
}

/// msync: shared file mappings are synced by the host (MS_SYNC);
/// private and anonymous memory has nothing to write back.
pub fn sys_msync(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as i32;
    if flags & !(libc::MS_ASYNC | libc::MS_SYNC | libc::MS_INVALIDATE) != 0
        || (flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0)
    {
        return Err(Errno::EINVAL);
    }
    let end = check_range(a[0], a[1])?;
    let mm = mm_of(ctx)?;
    let m = mm.inner.lock().map_err(|_| Errno::EIO)?;
    if !m.is_mapped(a[0], end) {
        return Err(Errno::ENOMEM);
    }
    // Shared file mappings are the host file's pages: write them back
    // where the workload asked for it.
    let shared = m
        .vmas
        .range(..end)
        .any(|(_, v)| v.end > a[0] && v.shared && matches!(v.name, VmaName::File { .. }));
    if shared && flags & libc::MS_SYNC != 0 {
        mm::host_call(
            &ctx.stub,
            libc::SYS_msync,
            [a[0], end - a[0], flags as u64, 0, 0, 0],
        )?;
    }
    Ok(0)
}

/// mincore: mapped pages are reported resident.
pub fn sys_mincore(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let end = check_range(a[0], a[1])?;
    let pages = ((end - a[0]) / PAGE) as usize;
    if pages > 1 << 24 {
        return Err(Errno::ENOMEM);
    }
    let mm = mm_of(ctx)?;
    let mapped = mm
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .is_mapped(a[0], end);
    if !mapped {
        return Err(Errno::ENOMEM);
    }
    ctx.write_bytes(a[2], &vec![1u8; pages])?;
    Ok(0)
}

/// mlock, munlock, mlock2: checked and accepted (memory is never swapped
/// out from under the sandbox by rvisor itself).
pub fn sys_mlock(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if ctx.syscall_nr == libc::SYS_mlock2 as u64 && a[2] & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    let start = a[0] & !(PAGE - 1);
    let end = page_up(a[0].checked_add(a[1]).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
    let mm = mm_of(ctx)?;
    if !mm
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .is_mapped(start, end)
    {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// mlockall.
pub fn sys_mlockall(_ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = a[0] as i32;
    if f == 0 || f & !(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// munlockall.
pub fn sys_munlockall(_ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(0)
}
