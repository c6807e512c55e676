//! inotify system calls (the instance and its events live in
//! `fs/inotify.rs`), and the helpers the other handlers use to report
//! file system events.

use std::collections::HashSet;
use std::sync::Arc;

use super::file::{files, install};
use super::path::resolve_at;
use super::perm;
use crate::fs::inotify::{self, Inotify, Target};
use crate::fs::vfs::Location;
use crate::fs::OpenFile;
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

fn new_instance(ctx: &TaskCtx, flags: u32) -> SysResult<u64> {
    if flags & !(libc::IN_CLOEXEC | libc::IN_NONBLOCK) as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    let inst = Inotify::new(ctx.kernel().next_ino())?;
    let status = libc::O_RDONLY as u32 | (flags & libc::IN_NONBLOCK as u32);
    install(
        ctx,
        OpenFile::new(inst, status, None),
        flags & libc::IN_CLOEXEC as u32 != 0,
    )
}

/// inotify_init.
pub fn sys_inotify_init(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    new_instance(ctx, 0)
}

/// inotify_init1(flags): IN_NONBLOCK and IN_CLOEXEC.
pub fn sys_inotify_init1(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    new_instance(ctx, a[0] as u32)
}

fn instance_of(f: &OpenFile) -> SysResult<&Inotify> {
    f.ops
        .as_any()
        .downcast_ref::<Inotify>()
        .ok_or(Errno::EINVAL)
}

/// inotify_add_watch(fd, path, mask).
pub fn sys_inotify_add_watch(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let mask = a[2] as u32;
    Inotify::check_mask(mask)?;
    let f = files(ctx)?.get(a[0] as i32)?;
    if mask & libc::IN_MASK_ADD != 0 && mask & libc::IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let inst = instance_of(&f)?;
    let path = ctx.read_path(a[1])?;
    let follow = mask & libc::IN_DONT_FOLLOW == 0;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &path, follow, false)?;
    let attr = loc.attr()?;
    if mask & libc::IN_ONLYDIR != 0 && !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let creds = ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .creds
        .clone();
    if !perm::may_access(&creds, &attr, perm::R) {
        return Err(Errno::EACCES);
    }
    Ok(inst.add_watch(Target::of(&attr), mask)? as u64)
}

/// inotify_rm_watch(fd, wd).
pub fn sys_inotify_rm_watch(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    instance_of(&f)?.rm_watch(a[1] as i32)?;
    Ok(0)
}

/// Every open file of the sandbox's descriptor tables (for the delete-self
/// rule: an inode is gone once no descriptor refers to it).
pub fn open_files(ctx: &TaskCtx) -> Vec<Arc<OpenFile>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for g in ctx.kernel().groups() {
        let threads = match g.inner.lock() {
            Ok(i) => i.threads.clone(),
            Err(_) => continue,
        };
        for t in threads {
            let Ok(table) = t.inner.lock().map(|i| i.files.clone()) else {
                continue;
            };
            if !seen.insert(Arc::as_ptr(&table) as usize) {
                continue;
            }
            out.extend(table.snapshot().into_iter().map(|(_, e)| e.file));
        }
    }
    out
}

/// The inotify target at `loc`, when some watch exists.
pub fn target(loc: &Location) -> Option<Target> {
    if inotify::active() {
        Target::at(loc)
    } else {
        None
    }
}

/// `name` appeared in `dir` (create, mkdir, mknod, symlink, link).
pub fn created(dir: &Location, name: &[u8], is_dir: bool) {
    if let Some(d) = target(dir) {
        let mask = libc::IN_CREATE | if is_dir { libc::IN_ISDIR } else { 0 };
        inotify::notify_dirent(d.key, name, mask, 0);
    }
}

/// After a name of `victim` (reached as `loc`) was removed from `dir`:
/// the link count change, delete-self when it was the last link, and
/// `IN_DELETE` in the directory (Linux's `vfs_unlink`/`vfs_rmdir` order).
pub fn removed(ctx: &TaskCtx, dir: Option<Target>, name: &[u8], victim: Target, loc: &Location) {
    if !inotify::active() {
        return;
    }
    if !victim.is_dir {
        inotify::notify_inode(victim, libc::IN_ATTRIB);
    }
    let nlink = loc.attr().map(|a| a.nlink).unwrap_or(0);
    inotify::unlinked(victim, nlink, dir.map(|d| d.key), name, || open_files(ctx));
    if let Some(d) = dir {
        let mask = libc::IN_DELETE | if victim.is_dir { libc::IN_ISDIR } else { 0 };
        inotify::notify_dirent(d.key, name, mask, 0);
    }
}

/// After `src` moved from `from` (directory, name) to `to`, replacing
/// `dst` (its target and where it was reached) if any: the move pair with
/// one cookie, the replaced file's link count, move-self, and the replaced
/// file's delete-self (Linux's `fsnotify_move` order).
pub fn moved(
    ctx: &TaskCtx,
    from: (Option<Target>, &[u8]),
    to: (Option<Target>, &[u8]),
    src: Target,
    dst: Option<(Target, &Location)>,
) {
    if !inotify::active() {
        return;
    }
    move_pair(from, to, src);
    if let Some((d, _)) = dst {
        inotify::notify_inode(d, libc::IN_ATTRIB);
    }
    inotify::notify_inode(src, libc::IN_MOVE_SELF);
    if let Some((d, loc)) = dst {
        let nlink = loc.attr().map(|a| a.nlink).unwrap_or(0);
        inotify::unlinked(d, nlink, to.0.map(|t| t.key), to.1, || open_files(ctx));
    }
}

/// After `a` (at `x`) and `b` (at `y`) swapped names (RENAME_EXCHANGE):
/// two moves, each followed by its move-self, as Linux reports them.
pub fn exchanged(x: (Option<Target>, &[u8]), y: (Option<Target>, &[u8]), a: Target, b: Target) {
    if !inotify::active() {
        return;
    }
    move_pair(x, y, a);
    inotify::notify_inode(a, libc::IN_MOVE_SELF);
    move_pair(y, x, b);
    inotify::notify_inode(b, libc::IN_MOVE_SELF);
}

/// `IN_MOVED_FROM` and `IN_MOVED_TO` for `src`, sharing a fresh cookie.
fn move_pair(from: (Option<Target>, &[u8]), to: (Option<Target>, &[u8]), src: Target) {
    let cookie = inotify::next_cookie();
    let isdir = if src.is_dir { libc::IN_ISDIR } else { 0 };
    if let Some(d) = from.0 {
        inotify::notify_dirent(d.key, from.1, libc::IN_MOVED_FROM | isdir, cookie);
    }
    if let Some(d) = to.0 {
        inotify::notify_dirent(d.key, to.1, libc::IN_MOVED_TO | isdir, cookie);
    }
}
