//! Path system calls: open, the stat family, readlink, access, getcwd,
//! chdir, and the namespace operations (mkdir, unlink, rename, …).

use std::sync::Arc;

use rvisor_syscalls::abi::{Stat, Statx, StatxTimestamp};

use super::file::{files, install};
use super::notify;
use super::perm;
use super::perm::creds;
use crate::fs::inotify;
use crate::fs::vfs::Location;
use crate::fs::{Attr, OpenFile};
use crate::kernel::task::TaskCtx;
use crate::kernel::FsContext;
use crate::{Errno, SysResult};

/// Converts attributes to `struct stat`.
pub fn to_stat(a: &Attr) -> Stat {
    Stat {
        st_dev: a.dev,
        st_ino: a.ino,
        st_nlink: a.nlink,
        st_mode: a.mode,
        st_uid: a.uid,
        st_gid: a.gid,
        st_rdev: a.rdev,
        st_size: a.size as i64,
        st_blksize: a.blksize as i64,
        st_blocks: a.blocks as i64,
        st_atime: a.atime.0,
        st_atime_nsec: a.atime.1 as i64,
        st_mtime: a.mtime.0,
        st_mtime_nsec: a.mtime.1 as i64,
        st_ctime: a.ctime.0,
        st_ctime_nsec: a.ctime.1 as i64,
        ..Default::default()
    }
}

/// The caller's root, cwd and umask.
pub fn fs_ctx(ctx: &TaskCtx) -> SysResult<FsContext> {
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    let f = fs.lock().map_err(|_| Errno::EIO)?.clone();
    Ok(f)
}

/// The directory `dirfd` names (AT_FDCWD → cwd).
fn dir_of(ctx: &TaskCtx, fs: &FsContext, dirfd: i32) -> SysResult<Location> {
    if dirfd == libc::AT_FDCWD {
        return Ok(fs.cwd.clone());
    }
    let f = files(ctx)?.get(dirfd)?;
    f.location.clone().ok_or(Errno::ENOTDIR)
}

/// Resolves `path` relative to `dirfd` as the *at() calls do. An empty
/// path with `empty_ok` names `dirfd` itself (AT_EMPTY_PATH).
pub fn resolve_at(
    ctx: &TaskCtx,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    empty_ok: bool,
) -> SysResult<Location> {
    let fs = fs_ctx(ctx)?;
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd == libc::AT_FDCWD {
            return Ok(fs.cwd.clone());
        }
        let f = files(ctx)?.get(dirfd)?;
        return f.location.clone().ok_or(Errno::EBADF);
    }
    let start = if path[0] == b'/' {
        fs.root.clone()
    } else {
        dir_of(ctx, &fs, dirfd)?
    };
    if path[0] != b'/' && !start.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let may_search = searcher(ctx)?;
    ctx.kernel()
        .vfs
        .resolve_with(&fs.root, &start, path, follow, &may_search)
}

/// The calling task's search-permission check for path walks (execute
/// permission on every directory a name is looked up in).
pub fn searcher(ctx: &TaskCtx) -> SysResult<impl Fn(&crate::fs::Attr) -> bool> {
    let c = creds(ctx)?;
    Ok(move |a: &crate::fs::Attr| super::perm::may_access(&c, a, super::perm::X))
}

const OPEN_FLAGS: u32 = (libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_SYNC
    | libc::O_PATH
    | libc::O_TMPFILE) as u32;

/// The bit that makes `O_TMPFILE` (which also carries `O_DIRECTORY`).
const TMPFILE_BIT: u32 = (libc::O_TMPFILE & !libc::O_DIRECTORY) as u32;

fn do_open(ctx: &TaskCtx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SysResult<u64> {
    let flags = flags & OPEN_FLAGS;
    let path_only = flags & libc::O_PATH as u32 != 0;
    let acc = flags & libc::O_ACCMODE as u32;
    if !path_only && flags & TMPFILE_BIT != 0 {
        // O_PATH drops every other flag, O_TMPFILE included.
        if flags & (TMPFILE_BIT | libc::O_DIRECTORY as u32 | libc::O_CREAT as u32)
            != libc::O_TMPFILE as u32
            || acc == libc::O_RDONLY as u32
        {
            return Err(Errno::EINVAL);
        }
    }
    if acc == 3 && !path_only {
        return Err(Errno::EINVAL);
    }
    if !path_only && flags & TMPFILE_BIT != 0 {
        return open_tmpfile(ctx, dirfd, path, flags, mode);
    }
    let creat = flags & libc::O_CREAT as u32 != 0 && !path_only;
    let follow = flags & libc::O_NOFOLLOW as u32 == 0;
    let cr = creds(ctx)?;
    let loc = if creat {
        let fs = fs_ctx(ctx)?;
        let start = if path.first() == Some(&b'/') {
            fs.root.clone()
        } else {
            dir_of(ctx, &fs, dirfd)?
        };
        let may_search = searcher(ctx)?;
        let (parent, name) =
            ctx.kernel()
                .vfs
                .resolve_parent_with(&fs.root, &start, path, &may_search)?;
        if path.ends_with(b"/") {
            return Err(Errno::EISDIR);
        }
        match ctx
            .kernel()
            .vfs
            .resolve_with(&fs.root, &parent, &name, follow, &may_search)
        {
            Ok(l) => {
                if flags & libc::O_EXCL as u32 != 0 {
                    return Err(Errno::EEXIST);
                }
                l
            }
            Err(e) if e == Errno::ENOENT => {
                if name == b"." || name == b".." {
                    return Err(Errno::EISDIR);
                }
                let pattr = parent.attr()?;
                if !perm::may_access(&cr, &pattr, perm::W | perm::X) {
                    return Err(Errno::EACCES);
                }
                if parent.mount.is_readonly() {
                    return Err(Errno::EROFS);
                }
                let gid = if pattr.mode & libc::S_ISGID != 0 {
                    pattr.gid
                } else {
                    cr.fsgid
                };
                let inode = parent.dentry.inode.create(
                    &name,
                    (mode & 0o7777) & !fs.umask,
                    cr.fsuid,
                    gid,
                )?;
                notify::created(&parent, &name, false);
                let dentry =
                    crate::fs::vfs::Dentry::new(inode, name.clone(), Some(parent.dentry.clone()));
                let loc = Location {
                    mount: parent.mount.clone(),
                    dentry,
                };
                let guard = WriteGuard::take(&loc.mount, writes(flags))?;
                let ops = loc
                    .dentry
                    .inode
                    .clone()
                    .open(flags & !(libc::O_TRUNC as u32))?;
                let file = OpenFile::new(
                    ops,
                    flags
                        & !(libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOCTTY
                            | libc::O_TRUNC
                            | libc::O_CLOEXEC) as u32,
                    Some(loc),
                );
                guard.hand_to(&file)?;
                return install_opened(ctx, file, flags, false);
            }
            Err(e) => return Err(e),
        }
    } else {
        resolve_at(ctx, dirfd, path, follow, false)?
    };
    let attr = loc.attr()?;
    if attr.is_symlink() {
        if path_only && !follow {
            // O_PATH|O_NOFOLLOW opens the link itself.
        } else {
            return Err(Errno::ELOOP);
        }
    }
    if flags & libc::O_DIRECTORY as u32 != 0 && !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let status_flags = flags
        & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC) as u32;
    if path_only {
        let file = OpenFile::new(
            Arc::new(PathFile {
                inode: loc.dentry.inode.clone(),
            }),
            status_flags & (libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW) as u32,
            Some(loc),
        );
        return install(ctx, file, flags & libc::O_CLOEXEC as u32 != 0);
    }
    if attr.is_dir() && (acc != libc::O_RDONLY as u32 || flags & libc::O_TRUNC as u32 != 0) {
        return Err(Errno::EISDIR);
    }
    let mut want = 0;
    if acc == libc::O_RDONLY as u32 || acc == libc::O_RDWR as u32 {
        want |= perm::R;
    }
    if acc == libc::O_WRONLY as u32
        || acc == libc::O_RDWR as u32
        || flags & libc::O_TRUNC as u32 != 0
    {
        want |= perm::W;
    }
    if !perm::may_access(&cr, &attr, want) {
        return Err(Errno::EACCES);
    }
    if want & perm::W != 0
        && loc.mount.is_readonly()
        && !attr.is_dir()
        && attr.mode & libc::S_IFMT != libc::S_IFCHR
        && attr.mode & libc::S_IFMT != libc::S_IFIFO
    {
        return Err(Errno::EROFS);
    }
    let guard = WriteGuard::take(&loc.mount, writes(flags) && attr.is_reg())?;
    let ops = loc.dentry.inode.clone().open(flags)?;
    let file = OpenFile::new(ops, status_flags, Some(loc));
    guard.hand_to(&file)?;
    let truncated = attr.is_reg() && flags & libc::O_TRUNC as u32 != 0;
    install_opened(ctx, file, flags, truncated)
}

/// O_TMPFILE: an unnamed regular file on the file system of the directory
/// `path` names. Its dentry is "#<ino>" in that directory, never hashed,
/// so /proc/PID/fd shows "<dir>/#<ino> (deleted)" as on Linux, and
/// `linkat` (AT_EMPTY_PATH, or the /proc/PID/fd link followed) can name it
/// once unless O_EXCL was given.
fn open_tmpfile(ctx: &TaskCtx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SysResult<u64> {
    let follow = flags & libc::O_NOFOLLOW as u32 == 0;
    let dir = resolve_at(ctx, dirfd, path, follow, false)?;
    let dattr = dir.attr()?;
    if !dattr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if dir.mount.is_readonly() {
        return Err(Errno::EROFS);
    }
    let cr = creds(ctx)?;
    if !perm::may_access(&cr, &dattr, perm::W | perm::X) {
        return Err(Errno::EACCES);
    }
    let gid = if dattr.mode & libc::S_ISGID != 0 {
        dattr.gid
    } else {
        cr.fsgid
    };
    let umask = fs_ctx(ctx)?.umask;
    let linkable = flags & libc::O_EXCL as u32 == 0;
    let inode = dir
        .dentry
        .inode
        .tmpfile((mode & 0o7777) & !umask, cr.fsuid, gid, linkable)?;
    let name = format!("#{}", inode.attr()?.ino).into_bytes();
    let loc = Location {
        mount: dir.mount.clone(),
        dentry: crate::fs::vfs::Dentry::unnamed(inode, name, dir.dentry.clone()),
    };
    let open_flags = flags & !(TMPFILE_BIT | (libc::O_DIRECTORY | libc::O_CREAT) as u32);
    let guard = WriteGuard::take(&loc.mount, writes(flags))?;
    let ops = loc.dentry.inode.clone().open(open_flags)?;
    // F_GETFL shows O_TMPFILE, as on Linux.
    let status = flags
        & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC) as u32;
    let file = OpenFile::new(ops, status, Some(loc));
    guard.hand_to(&file)?;
    install_opened(ctx, file, flags, false)
}

/// The access mode of open flags includes writing.
fn writes(flags: u32) -> bool {
    let acc = flags & libc::O_ACCMODE as u32;
    acc == libc::O_WRONLY as u32 || acc == libc::O_RDWR as u32
}

/// Write access to a mount taken before a regular file is opened for
/// writing (so the mount cannot turn read-only in between) and handed
/// to the open file, which keeps it until its last close.
struct WriteGuard(Option<Arc<crate::fs::vfs::Mount>>);

impl WriteGuard {
    /// Takes write access when `write` (EROFS on a read-only mount).
    fn take(mount: &Arc<crate::fs::vfs::Mount>, write: bool) -> SysResult<Self> {
        if !write {
            return Ok(WriteGuard(None));
        }
        mount.get_write()?;
        Ok(WriteGuard(Some(mount.clone())))
    }

    /// Gives the open file its own write access, then drops this one.
    fn hand_to(self, file: &OpenFile) -> SysResult<()> {
        if self.0.is_some() {
            file.get_write_access()?;
        }
        Ok(())
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            m.put_write();
        }
    }
}

/// Installs a file just opened by path and reports `IN_OPEN` (then
/// `IN_MODIFY` when an existing file was truncated, as Linux does).
fn install_opened(
    ctx: &TaskCtx,
    file: Arc<OpenFile>,
    flags: u32,
    truncated: bool,
) -> SysResult<u64> {
    let fd = install(ctx, file.clone(), flags & libc::O_CLOEXEC as u32 != 0)?;
    if inotify::active() {
        inotify::notify_file(&file, libc::IN_OPEN);
        if truncated {
            inotify::notify_file(&file, libc::IN_MODIFY);
        }
    }
    Ok(fd)
}

/// The open file of an O_PATH descriptor: only stat and use as a dirfd.
struct PathFile {
    inode: Arc<dyn crate::fs::Inode>,
}

impl crate::fs::FileOps for PathFile {
    fn read(&self, _b: &mut [u8], _o: u64) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _b: &[u8], _o: u64) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    fn stat(&self) -> SysResult<Attr> {
        self.inode.attr()
    }
    fn inode(&self) -> Option<Arc<dyn crate::fs::Inode>> {
        Some(self.inode.clone())
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// open.
pub fn sys_open(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    do_open(ctx, libc::AT_FDCWD, &p, a[1] as u32, a[2] as u32)
}

/// creat: open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
pub fn sys_creat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32;
    do_open(ctx, libc::AT_FDCWD, &p, flags, a[1] as u32)
}

/// openat.
pub fn sys_openat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[1])?;
    do_open(ctx, a[0] as i32, &p, a[2] as u32, a[3] as u32)
}

fn stat_common(ctx: &TaskCtx, dirfd: i32, path_addr: u64, flags: i32) -> SysResult<Attr> {
    if flags
        & !(libc::AT_SYMLINK_NOFOLLOW
            | libc::AT_EMPTY_PATH
            | libc::AT_NO_AUTOMOUNT
            | libc::AT_STATX_SYNC_TYPE)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path_addr)?;
    if p.is_empty() && flags & libc::AT_EMPTY_PATH != 0 && dirfd != libc::AT_FDCWD {
        return files(ctx)?.get(dirfd)?.ops.stat();
    }
    let loc = resolve_at(
        ctx,
        dirfd,
        &p,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    loc.attr()
}

/// stat.
pub fn sys_stat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let at = stat_common(ctx, libc::AT_FDCWD, a[0], 0)?;
    ctx.write_val(a[1], &to_stat(&at))?;
    Ok(0)
}

/// lstat.
pub fn sys_lstat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let at = stat_common(ctx, libc::AT_FDCWD, a[0], libc::AT_SYMLINK_NOFOLLOW)?;
    ctx.write_val(a[1], &to_stat(&at))?;
    Ok(0)
}

/// newfstatat.
pub fn sys_newfstatat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let at = stat_common(ctx, a[0] as i32, a[1], a[3] as i32)?;
    ctx.write_val(a[2], &to_stat(&at))?;
    Ok(0)
}

/// statx.
pub fn sys_statx(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as i32;
    if a[3] as u32 & 0x8000_0000 != 0 {
        return Err(Errno::EINVAL); // STATX__RESERVED
    }
    let at = stat_common(ctx, a[0] as i32, a[1], flags & !libc::AT_STATX_SYNC_TYPE)?;
    let ts = |t: (i64, u32)| StatxTimestamp {
        tv_sec: t.0,
        tv_nsec: t.1,
        ..Default::default()
    };
    let sx = Statx {
        stx_mask: 0x7ff, // STATX_BASIC_STATS
        stx_blksize: at.blksize as u32,
        stx_nlink: at.nlink as u32,
        stx_uid: at.uid,
        stx_gid: at.gid,
        stx_mode: at.mode as u16,
        stx_ino: at.ino,
        stx_size: at.size,
        stx_blocks: at.blocks,
        stx_atime: ts(at.atime),
        stx_btime: StatxTimestamp::default(),
        stx_ctime: ts(at.ctime),
        stx_mtime: ts(at.mtime),
        stx_rdev_major: ((at.rdev >> 8) & 0xfff) as u32,
        stx_rdev_minor: ((at.rdev & 0xff) | ((at.rdev >> 12) & 0xfff00)) as u32,
        stx_dev_major: ((at.dev >> 8) & 0xfff) as u32,
        stx_dev_minor: ((at.dev & 0xff) | ((at.dev >> 12) & 0xfff00)) as u32,
        ..Default::default()
    };
    ctx.write_val(a[4], &sx)?;
    Ok(0)
}

fn readlink_common(
    ctx: &TaskCtx,
    dirfd: i32,
    path_addr: u64,
    buf: u64,
    size: u64,
) -> SysResult<u64> {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path_addr)?;
    let loc = resolve_at(ctx, dirfd, &p, false, true)?;
    if !loc.attr()?.is_symlink() {
        return Err(if p.is_empty() {
            Errno::ENOENT
        } else {
            Errno::EINVAL
        });
    }
    let target = loc.dentry.inode.readlink()?;
    let n = target.len().min(size as usize);
    ctx.write_bytes(buf, &target[..n])?;
    Ok(n as u64)
}

/// readlink.
pub fn sys_readlink(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    readlink_common(ctx, libc::AT_FDCWD, a[0], a[1], a[2])
}

/// readlinkat.
pub fn sys_readlinkat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    readlink_common(ctx, a[0] as i32, a[1], a[2], a[3])
}

fn access_common(
    ctx: &TaskCtx,
    dirfd: i32,
    path_addr: u64,
    mode: u32,
    flags: i32,
) -> SysResult<u64> {
    if mode & !7 != 0
        || flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path_addr)?;
    let loc = resolve_at(
        ctx,
        dirfd,
        &p,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    let attr = loc.attr()?;
    let mut c = creds(ctx)?;
    if flags & libc::AT_EACCESS == 0 {
        // access(2) checks with the real ids.
        c.fsuid = c.uid;
        c.fsgid = c.gid;
        c.euid = c.uid;
    }
    if mode & 2 != 0 && loc.mount.is_readonly() && attr.mode & libc::S_IFMT != libc::S_IFCHR {
        return Err(Errno::EROFS);
    }
    if !perm::may_access(&c, &attr, mode) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

/// access.
pub fn sys_access(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    access_common(ctx, libc::AT_FDCWD, a[0], a[1] as u32, 0)
}

/// faccessat.
pub fn sys_faccessat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    access_common(ctx, a[0] as i32, a[1], a[2] as u32, 0)
}

/// faccessat2.
pub fn sys_faccessat2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    access_common(ctx, a[0] as i32, a[1], a[2] as u32, a[3] as i32)
}

/// getcwd.
pub fn sys_getcwd(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let fs = fs_ctx(ctx)?;
    let cwd_attr = fs.cwd.attr()?;
    if cwd_attr.is_dir() && cwd_attr.nlink == 0 {
        // The working directory was removed.
        return Err(Errno::ENOENT);
    }
    let (mut p, reached) = ctx.kernel().vfs.path_from(&fs.cwd, &fs.root);
    if !reached {
        // Outside the caller's root (a detached mount, above a chroot):
        // Linux's marker, which the C library turns into ENOENT.
        p.splice(0..0, b"(unreachable)".iter().copied());
    }
    p.push(0);
    if p.len() as u64 > a[1] {
        return Err(Errno::ERANGE);
    }
    ctx.write_bytes(a[0], &p)?;
    Ok(p.len() as u64)
}

fn set_cwd(ctx: &TaskCtx, loc: Location) -> SysResult<u64> {
    let attr = loc.attr()?;
    if !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !perm::may_access(&creds(ctx)?, &attr, perm::X) {
        return Err(Errno::EACCES);
    }
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    fs.lock().map_err(|_| Errno::EIO)?.cwd = loc;
    Ok(0)
}

/// chdir.
pub fn sys_chdir(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
    set_cwd(ctx, loc)
}

/// fchdir.
pub fn sys_fchdir(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let loc = f.location.clone().ok_or(Errno::ENOTDIR)?;
    set_cwd(ctx, loc)
}
