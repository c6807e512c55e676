//! Namespace and attribute system calls: mkdir, mknod, unlink, rmdir,
//! rename, symlink, link, chmod, chown, truncate, utimensat, statfs, sync.

use std::sync::Arc;

use rvisor_syscalls::abi::{Statfs, Timespec};

use super::file::files;
use super::notify;
use super::path::{fs_ctx, resolve_at};
use super::perm;
use super::perm::creds;
use crate::fs::inotify;
use crate::fs::vfs::Location;
use crate::fs::SetAttr;
use crate::kernel::caps;
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// Resolves the parent directory of `path` (relative to `dirfd`) and the
/// final name, checking write+search permission and a writable mount.
fn parent_for_change(ctx: &TaskCtx, dirfd: i32, path: &[u8]) -> SysResult<(Location, Vec<u8>)> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let fs = fs_ctx(ctx)?;
    let start = if path[0] == b'/' {
        fs.root.clone()
    } else if dirfd == libc::AT_FDCWD {
        fs.cwd.clone()
    } else {
        files(ctx)?
            .get(dirfd)?
            .location
            .clone()
            .ok_or(Errno::ENOTDIR)?
    };
    let may_search = super::path::searcher(ctx)?;
    let (parent, name) =
        ctx.kernel()
            .vfs
            .resolve_parent_with(&fs.root, &start, path, &may_search)?;
    let pattr = parent.attr()?;
    if !pattr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !perm::may_access(&creds(ctx)?, &pattr, perm::W | perm::X) {
        return Err(Errno::EACCES);
    }
    Ok((parent, name))
}

fn check_writable_mount(loc: &Location) -> SysResult<()> {
    if loc.mount.is_readonly() {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// Sticky-directory rule: only the owner of the file or the directory (or
/// root) may remove or rename entries in a sticky directory.
fn sticky_ok(ctx: &TaskCtx, dir: &Location, victim: &Location) -> SysResult<()> {
    let d = dir.attr()?;
    if d.mode & libc::S_ISVTX == 0 {
        return Ok(());
    }
    let c = creds(ctx)?;
    let v = victim.attr()?;
    if c.capable(caps::FOWNER) || c.fsuid == d.uid || c.fsuid == v.uid {
        return Ok(());
    }
    Err(Errno::EPERM)
}

fn mkdir_common(ctx: &TaskCtx, dirfd: i32, path_addr: u64, mode: u32) -> SysResult<u64> {
    let p = ctx.read_path(path_addr)?;
    let (parent, name) = parent_for_change(ctx, dirfd, &p)?;
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    if ctx.kernel().vfs.lookup_child(&parent, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    check_writable_mount(&parent)?;
    let c = creds(ctx)?;
    let umask = fs_ctx(ctx)?.umask;
    let pattr = parent.attr()?;
    let (gid, sgid) = if pattr.mode & libc::S_ISGID != 0 {
        (pattr.gid, libc::S_ISGID)
    } else {
        (c.fsgid, 0)
    };
    parent
        .dentry
        .inode
        .mkdir(&name, ((mode & 0o7777) & !umask) | sgid, c.fsuid, gid)?;
    notify::created(&parent, &name, true);
    Ok(0)
}

/// mkdir.
pub fn sys_mkdir(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    mkdir_common(ctx, libc::AT_FDCWD, a[0], a[1] as u32)
}

/// mkdirat.
pub fn sys_mkdirat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    mkdir_common(ctx, a[0] as i32, a[1], a[2] as u32)
}

fn mknod_common(ctx: &TaskCtx, dirfd: i32, path_addr: u64, mode: u32, dev: u64) -> SysResult<u64> {
    let p = ctx.read_path(path_addr)?;
    let (parent, name) = parent_for_change(ctx, dirfd, &p)?;
    let kind = mode & libc::S_IFMT;
    let kind = if kind == 0 { libc::S_IFREG } else { kind };
    match kind {
        libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK => {}
        libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
        libc::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    if ctx.kernel().vfs.lookup_child(&parent, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    check_writable_mount(&parent)?;
    let c = creds(ctx)?;
    let umask = fs_ctx(ctx)?.umask;
    let perm_bits = (mode & 0o7777) & !umask;
    if kind == libc::S_IFREG {
        parent
            .dentry
            .inode
            .create(&name, perm_bits, c.fsuid, c.fsgid)?;
    } else {
        parent
            .dentry
            .inode
            .mknod(&name, kind | perm_bits, dev, c.fsuid, c.fsgid)?;
    }
    notify::created(&parent, &name, false);
    Ok(0)
}

/// mknod.
pub fn sys_mknod(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    mknod_common(ctx, libc::AT_FDCWD, a[0], a[1] as u32, a[2])
}

/// mknodat.
pub fn sys_mknodat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    mknod_common(ctx, a[0] as i32, a[1], a[2] as u32, a[3])
}

fn unlink_common(ctx: &TaskCtx, dirfd: i32, path_addr: u64, dir: bool) -> SysResult<u64> {
    let p = ctx.read_path(path_addr)?;
    let (parent, name) = parent_for_change(ctx, dirfd, &p)?;
    if dir {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
    }
    let victim = ctx.kernel().vfs.lookup_child(&parent, &name)?;
    check_writable_mount(&parent)?;
    if victim.mount.id != parent.mount.id {
        return Err(Errno::EBUSY);
    }
    sticky_ok(ctx, &parent, &victim)?;
    let is_dir = victim.attr()?.is_dir();
    let watched = notify::target(&victim).map(|v| (v, notify::target(&parent)));
    if dir {
        if !is_dir {
            return Err(Errno::ENOTDIR);
        }
        parent.dentry.inode.rmdir(&name)?;
    } else {
        if is_dir {
            return Err(Errno::EISDIR);
        }
        if p.ends_with(b"/") {
            return Err(Errno::ENOTDIR);
        }
        parent.dentry.inode.unlink(&name)?;
    }
    if let Some((v, d)) = watched {
        notify::removed(ctx, d, &name, v, &victim);
    }
    Ok(0)
}

/// unlink.
pub fn sys_unlink(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    unlink_common(ctx, libc::AT_FDCWD, a[0], false)
}

/// rmdir.
pub fn sys_rmdir(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    unlink_common(ctx, libc::AT_FDCWD, a[0], true)
}

/// unlinkat.
pub fn sys_unlinkat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as i32;
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    unlink_common(ctx, a[0] as i32, a[1], flags & libc::AT_REMOVEDIR != 0)
}

fn rename_common(
    ctx: &TaskCtx,
    olddir: i32,
    oldp: u64,
    newdir: i32,
    newp: u64,
    flags: u32,
) -> SysResult<u64> {
    const NOREPLACE: u32 = libc::RENAME_NOREPLACE;
    const EXCHANGE: u32 = libc::RENAME_EXCHANGE;
    const WHITEOUT: u32 = libc::RENAME_WHITEOUT;
    if flags & !(NOREPLACE | EXCHANGE | WHITEOUT) != 0
        || (flags & (NOREPLACE | WHITEOUT) != 0 && flags & EXCHANGE != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & WHITEOUT != 0 {
        // No file system of the sandbox keeps whiteout device nodes (the
        // overlay records its whiteouts itself, as Linux overlayfs refuses
        // RENAME_WHITEOUT too).
        return Err(Errno::EINVAL);
    }
    let op = ctx.read_path(oldp)?;
    let np = ctx.read_path(newp)?;
    let (opar, oname) = parent_for_change(ctx, olddir, &op)?;
    let (npar, nname) = parent_for_change(ctx, newdir, &np)?;
    if opar.mount.id != npar.mount.id {
        return Err(Errno::EXDEV);
    }
    if oname == b"." || oname == b".." {
        return Err(Errno::EBUSY);
    }
    if nname == b"." || nname == b".." {
        return Err(if flags & NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    check_writable_mount(&opar)?;
    let victim = ctx.kernel().vfs.lookup_child(&opar, &oname)?;
    if victim.mount.id != opar.mount.id {
        return Err(Errno::EXDEV);
    }
    let target = match ctx.kernel().vfs.lookup_child(&npar, &nname) {
        Ok(t) => Some(t),
        Err(e) if e == Errno::ENOENT => None,
        Err(e) => return Err(e),
    };
    if flags & NOREPLACE != 0 && target.is_some() {
        return Err(Errno::EEXIST);
    }
    let vattr = victim.attr()?;
    let tattr = target.as_ref().map(|t| t.attr()).transpose()?;
    if flags & EXCHANGE != 0 {
        match &tattr {
            None => return Err(Errno::ENOENT),
            Some(t) if !t.is_dir() && np.ends_with(b"/") => return Err(Errno::ENOTDIR),
            Some(_) => {}
        }
    }
    if !vattr.is_dir() && (op.ends_with(b"/") || (flags & EXCHANGE == 0 && np.ends_with(b"/"))) {
        return Err(Errno::ENOTDIR);
    }
    if tattr.is_some_and(|t| (t.dev, t.ino) == (vattr.dev, vattr.ino)) {
        // Two names of one inode: rename(2) does nothing.
        return Ok(0);
    }
    sticky_ok(ctx, &opar, &victim)?;
    if let Some(t) = &target {
        sticky_ok(ctx, &npar, t)?;
    }
    let watched = inotify::active().then(|| {
        (
            inotify::Target::of(&vattr),
            tattr.as_ref().map(inotify::Target::of),
            notify::target(&opar),
            notify::target(&npar),
        )
    });
    let new_dir_inode: Arc<dyn crate::fs::Inode> = npar.dentry.inode.clone();
    opar.dentry.inode.rename(
        &oname,
        &new_dir_inode,
        &nname,
        flags & (NOREPLACE | EXCHANGE),
    )?;
    if let Some((src, dst, od, nd)) = watched {
        if flags & EXCHANGE != 0 {
            if let Some(dst) = dst {
                notify::exchanged((od, &oname), (nd, &nname), src, dst);
            }
        } else {
            notify::moved(
                ctx,
                (od, &oname),
                (nd, &nname),
                src,
                dst.zip(target.as_ref()),
            );
        }
    }
    Ok(0)
}

/// rename.
pub fn sys_rename(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    rename_common(ctx, libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
}

/// renameat.
pub fn sys_renameat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    rename_common(ctx, a[0] as i32, a[1], a[2] as i32, a[3], 0)
}

/// renameat2: RENAME_NOREPLACE and RENAME_EXCHANGE (RENAME_WHITEOUT:
/// EINVAL).
pub fn sys_renameat2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    rename_common(ctx, a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32)
}

fn symlink_common(ctx: &TaskCtx, target_addr: u64, dirfd: i32, path_addr: u64) -> SysResult<u64> {
    let target = ctx.read_path(target_addr)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = ctx.read_path(path_addr)?;
    let (parent, name) = parent_for_change(ctx, dirfd, &p)?;
    if ctx.kernel().vfs.lookup_child(&parent, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    check_writable_mount(&parent)?;
    let c = creds(ctx)?;
    parent
        .dentry
        .inode
        .symlink(&name, &target, c.fsuid, c.fsgid)?;
    notify::created(&parent, &name, false);
    Ok(0)
}

/// symlink.
pub fn sys_symlink(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    symlink_common(ctx, a[0], libc::AT_FDCWD, a[1])
}

/// symlinkat.
pub fn sys_symlinkat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    symlink_common(ctx, a[0], a[1] as i32, a[2])
}

fn link_common(
    ctx: &TaskCtx,
    olddir: i32,
    oldp: u64,
    newdir: i32,
    newp: u64,
    flags: i32,
) -> SysResult<u64> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let op = ctx.read_path(oldp)?;
    let np = ctx.read_path(newp)?;
    // `None`: an fd with no path in the sandbox (a pipe, a socket, a host
    // file passed in as stdio). It lives on no mount of the sandbox, so
    // as for a file of another mount on Linux the answer is EXDEV, once
    // the new name has been checked.
    let src = if op.is_empty() && flags & libc::AT_EMPTY_PATH != 0 && olddir != libc::AT_FDCWD {
        files(ctx)?.get(olddir)?.location.clone()
    } else {
        Some(resolve_at(
            ctx,
            olddir,
            &op,
            flags & libc::AT_SYMLINK_FOLLOW != 0,
            flags & libc::AT_EMPTY_PATH != 0,
        )?)
    };
    if let Some(src) = &src {
        if src.attr()?.is_dir() {
            return Err(Errno::EPERM);
        }
    }
    let (parent, name) = parent_for_change(ctx, newdir, &np)?;
    if ctx.kernel().vfs.lookup_child(&parent, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let Some(src) = src else {
        return Err(Errno::EXDEV);
    };
    if src.mount.id != parent.mount.id {
        return Err(Errno::EXDEV);
    }
    check_writable_mount(&parent)?;
    parent.dentry.inode.link(&name, &src.dentry.inode)?;
    if let Some(t) = notify::target(&src) {
        inotify::notify_inode(t, libc::IN_ATTRIB);
        notify::created(&parent, &name, false);
    }
    Ok(0)
}

/// link.
pub fn sys_link(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    link_common(ctx, libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
}

/// linkat.
pub fn sys_linkat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    link_common(ctx, a[0] as i32, a[1], a[2] as i32, a[3], a[4] as i32)
}

/// Applies `change` to the file at `loc` after the ownership checks
/// chmod/chown/utimes need.
fn setattr_checked(ctx: &TaskCtx, loc: &Location, mut change: SetAttr) -> SysResult<u64> {
    check_writable_mount(loc)?;
    let c = creds(ctx)?;
    let a = loc.attr()?;
    let owner = c.capable(caps::FOWNER) || c.fsuid == a.uid;
    if change.mode.is_some() && !owner {
        return Err(Errno::EPERM);
    }
    if let Some(m) = change.mode.as_mut() {
        // Clear setgid if the caller is not in the file's group.
        if !c.capable(caps::FSETID) && a.gid != c.fsgid && !c.groups.contains(&a.gid) {
            *m &= !libc::S_ISGID;
        }
    }
    if change.uid.is_some_and(|u| u != a.uid) && !c.capable(caps::CHOWN) {
        return Err(Errno::EPERM);
    }
    if let Some(g) = change.gid {
        if g != a.gid
            && !c.capable(caps::CHOWN)
            && !(c.fsuid == a.uid && (g == c.fsgid || c.groups.contains(&g)))
        {
            return Err(Errno::EPERM);
        }
    }
    loc.dentry.inode.setattr(&change)?;
    inotify::notify_path(loc, change_mask(&change));
    Ok(0)
}

/// The inotify events of an attribute change (Linux's `fsnotify_change`).
fn change_mask(c: &SetAttr) -> u32 {
    let mut m = 0;
    if c.uid.is_some() || c.gid.is_some() || c.mode.is_some() {
        m |= libc::IN_ATTRIB;
    }
    if c.size.is_some() {
        m |= libc::IN_MODIFY;
    }
    match (c.atime.is_some(), c.mtime.is_some()) {
        (true, true) => m |= libc::IN_ATTRIB,
        (true, false) => m |= libc::IN_ACCESS,
        (false, true) => m |= libc::IN_MODIFY,
        (false, false) => {}
    }
    m
}

/// chmod.
pub fn sys_chmod(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
    setattr_checked(
        ctx,
        &loc,
        SetAttr {
            mode: Some(a[1] as u32 & 0o7777),
            ..Default::default()
        },
    )
}

/// fchmodat.
pub fn sys_fchmodat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[1])?;
    let loc = resolve_at(ctx, a[0] as i32, &p, true, false)?;
    setattr_checked(
        ctx,
        &loc,
        SetAttr {
            mode: Some(a[2] as u32 & 0o7777),
            ..Default::default()
        },
    )
}

fn fd_location(ctx: &TaskCtx, fd: i32) -> SysResult<Location> {
    files(ctx)?.get(fd)?.location.clone().ok_or(Errno::EINVAL)
}

/// fchmod.
pub fn sys_fchmod(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let loc = fd_location(ctx, a[0] as i32)?;
    setattr_checked(
        ctx,
        &loc,
        SetAttr {
            mode: Some(a[1] as u32 & 0o7777),
            ..Default::default()
        },
    )
}

fn owner_change(u: u64, g: u64) -> SetAttr {
    let id = |v: u64| {
        if v as u32 == u32::MAX {
            None
        } else {
            Some(v as u32)
        }
    };
    SetAttr {
        uid: id(u),
        gid: id(g),
        ..Default::default()
    }
}

/// chown.
pub fn sys_chown(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
    setattr_checked(ctx, &loc, owner_change(a[1], a[2]))
}

/// lchown.
pub fn sys_lchown(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, false, false)?;
    setattr_checked(ctx, &loc, owner_change(a[1], a[2]))
}

/// fchown.
pub fn sys_fchown(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let loc = fd_location(ctx, a[0] as i32)?;
    setattr_checked(ctx, &loc, owner_change(a[1], a[2]))
}

/// fchownat.
pub fn sys_fchownat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[4] as i32;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(a[1])?;
    let loc = resolve_at(
        ctx,
        a[0] as i32,
        &p,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    setattr_checked(ctx, &loc, owner_change(a[2], a[3]))
}

fn truncate_loc(loc: &Location, len: u64) -> SysResult<u64> {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let a = loc.attr()?;
    if a.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !a.is_reg() {
        return Err(Errno::EINVAL);
    }
    check_writable_mount(loc)?;
    loc.dentry.inode.setattr(&SetAttr {
        size: Some(len),
        ..Default::default()
    })?;
    inotify::notify_path(loc, libc::IN_MODIFY);
    Ok(0)
}

/// truncate.
pub fn sys_truncate(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
    if !perm::may_access(&creds(ctx)?, &loc.attr()?, perm::W) {
        return Err(Errno::EACCES);
    }
    truncate_loc(&loc, a[1])
}

/// ftruncate.
pub fn sys_ftruncate(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    if !f.writable() {
        return Err(Errno::EINVAL);
    }
    let loc = f.location.clone().ok_or(Errno::EINVAL)?;
    truncate_loc(&loc, a[1])
}

/// utimensat.
pub fn sys_utimensat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let flags = a[3] as i32;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let loc = if a[1] == 0 {
        fd_location(ctx, a[0] as i32)?
    } else {
        let p = ctx.read_path(a[1])?;
        resolve_at(
            ctx,
            a[0] as i32,
            &p,
            flags & libc::AT_SYMLINK_NOFOLLOW == 0,
            flags & libc::AT_EMPTY_PATH != 0,
        )?
    };
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let now = (now.tv_sec, now.tv_nsec as u32);
    let times: [Timespec; 2] = if a[2] == 0 {
        [Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        }; 2]
    } else {
        ctx.read_val(a[2])?
    };
    let conv = |t: &Timespec| -> SysResult<Option<(i64, u32)>> {
        match t.tv_nsec {
            UTIME_OMIT => Ok(None),
            UTIME_NOW => Ok(Some(now)),
            n if (0..1_000_000_000).contains(&n) => Ok(Some((t.tv_sec, n as u32))),
            _ => Err(Errno::EINVAL),
        }
    };
    let change = SetAttr {
        atime: conv(&times[0])?,
        mtime: conv(&times[1])?,
        ..Default::default()
    };
    let c = creds(ctx)?;
    let attr = loc.attr()?;
    let explicit = times
        .iter()
        .any(|t| t.tv_nsec != UTIME_NOW && t.tv_nsec != UTIME_OMIT);
    if !c.capable(caps::FOWNER)
        && c.fsuid != attr.uid
        && (explicit || !perm::may_access(&c, &attr, perm::W))
    {
        return Err(if explicit {
            Errno::EPERM
        } else {
            Errno::EACCES
        });
    }
    check_writable_mount(&loc)?;
    if change.atime.is_none() && change.mtime.is_none() {
        return Ok(0);
    }
    loc.dentry.inode.setattr(&change)?;
    inotify::notify_path(&loc, change_mask(&change));
    Ok(0)
}

fn statfs_of(loc: &Location) -> Statfs {
    let magic: i64 = match loc.mount.fstype.as_str() {
        "tmpfs" => 0x0102_1994,
        "proc" => 0x9fa0,
        "devtmpfs" => 0x0102_1994,
        _ => 0x0102_1997, // V9FS_MAGIC, as gVisor reports for gofer mounts
    };
    // A tmpfs with a size limit reports it, and its free space, in pages
    // (Linux's shmem_statfs); other file systems a nominal size.
    let (blocks, free) = match loc
        .dentry
        .inode
        .as_any()
        .downcast_ref::<crate::fs::tmpfs::TmpInode>()
        .map(|t| t.fs_usage())
    {
        Some((used, Some(limit), _)) => (limit / 4096, limit.saturating_sub(used) / 4096),
        _ => (1 << 20, 1 << 19),
    };
    Statfs {
        f_type: magic,
        f_bsize: 4096,
        f_blocks: blocks,
        f_bfree: free,
        f_bavail: free,
        f_files: 1 << 20,
        f_ffree: 1 << 19,
        f_namelen: 255,
        f_frsize: 4096,
        // Linux's flags_by_mnt: ST_VALID, relatime (every mount here), and
        // the per-mount flags (MS_NOSUID/NODEV/NOEXEC equal ST_*).
        f_flags: (libc::ST_RELATIME
            | 0x20 // ST_VALID
            | if loc.mount.is_readonly() {
                libc::ST_RDONLY
            } else {
                0
            }
            | loc.mount.flags()) as i64,
        ..Default::default()
    }
}

/// statfs.
pub fn sys_statfs(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
    ctx.write_val(a[1], &statfs_of(&loc))?;
    Ok(0)
}

/// fstatfs.
pub fn sys_fstatfs(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    let st = match &f.location {
        Some(l) => statfs_of(l),
        None => Statfs {
            f_type: 0x5049_5045,
            f_bsize: 4096,
            f_namelen: 255,
            f_frsize: 4096,
            ..Default::default()
        },
    };
    ctx.write_val(a[1], &st)?;
    Ok(0)
}

/// fsync, fdatasync, syncfs: the file's own write-back (host fsync for
/// host-backed files; nothing to do for sentry-memory files).
pub fn sys_fsync(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    f.ops.sync(ctx.syscall_nr == libc::SYS_fdatasync as u64)?;
    Ok(0)
}

/// sync: flushes what the calling process has open (a workload may not
/// make the host flush every file system).
pub fn sys_sync(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    for (_, e) in files(ctx)?.snapshot() {
        let _ = e.file.ops.sync(false);
    }
    Ok(0)
}

/// fallocate: the size and content effects Linux's modes have. Blocks are
/// not reserved ahead on any file system of the sandbox (tmpfs is sparse;
/// host files grow by truncate), so mode 0 and FALLOC_FL_KEEP_SIZE succeed
/// without a later write being guaranteed space.
pub fn sys_fallocate(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    const KEEP_SIZE: i32 = libc::FALLOC_FL_KEEP_SIZE;
    const PUNCH_HOLE: i32 = libc::FALLOC_FL_PUNCH_HOLE;
    const ZERO_RANGE: i32 = libc::FALLOC_FL_ZERO_RANGE;
    const COLLAPSE: i32 = libc::FALLOC_FL_COLLAPSE_RANGE;
    const INSERT: i32 = libc::FALLOC_FL_INSERT_RANGE;
    let f = files(ctx)?.get(a[0] as i32)?;
    let mode = a[1] as i32;
    let (off, len) = (a[2] as i64, a[3] as i64);
    if mode & !(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE | COLLAPSE | INSERT) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // Linux's order of checks (vfs_fallocate).
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & PUNCH_HOLE != 0 && mode & KEEP_SIZE == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & PUNCH_HOLE != 0 && mode & ZERO_RANGE != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & (COLLAPSE | INSERT) != 0 && mode != COLLAPSE && mode != INSERT {
        return Err(Errno::EINVAL);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let a0 = f.ops.stat()?;
    if a0.is_dir() {
        return Err(Errno::EISDIR);
    }
    if a0.mode & libc::S_IFMT == libc::S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    if !a0.is_reg() {
        return Err(Errno::ENODEV);
    }
    let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if mode & (COLLAPSE | INSERT) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if f.flags() & libc::O_APPEND as u32 != 0 && mode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
        return Err(Errno::EPERM);
    }
    let loc = f.location.clone().ok_or(Errno::EOPNOTSUPP)?;
    check_writable_mount(&loc)?;
    let size = a0.size;
    if mode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
        // Zero what exists of the range (holes read as zeros anyway).
        let zero_end = end.min(size);
        let zeros = vec![0u8; (zero_end.saturating_sub(off as u64)).min(1 << 20) as usize];
        let mut at = off as u64;
        while at < zero_end {
            let n = ((zero_end - at) as usize).min(zeros.len());
            let w = f.ops.write(&zeros[..n], at)?;
            if w == 0 {
                return Err(Errno::EIO);
            }
            at += w as u64;
        }
    }
    if mode & (KEEP_SIZE | PUNCH_HOLE) == 0 && end > size {
        loc.dentry.inode.setattr(&SetAttr {
            size: Some(end),
            ..Default::default()
        })?;
    }
    if mode != KEEP_SIZE {
        inotify::notify_path(&loc, libc::IN_MODIFY);
    }
    Ok(0)
}
