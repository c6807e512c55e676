//! mount, umount2, pivot_root and chroot inside the sandbox (for its root
//! user, who holds CAP_SYS_ADMIN and CAP_SYS_CHROOT there). These change
//! only the sentry's own mount table: tmpfs, proc, sysfs, bind mounts
//! (recursive too) of what the sandbox already sees, remounts, moves.

use std::sync::Arc;

use super::path::resolve_at;
use super::perm::capable;
use crate::fs::gofer::GoferInode;
use crate::fs::procfs::new_procfs;
use crate::fs::sysfs::new_sysfs;
use crate::fs::tmpfs::{TmpInode, Tmpfs};
use crate::fs::vfs::Location;
use crate::fs::Inode;
use crate::kernel::caps;
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// Device numbers for file systems mounted from inside the sandbox.
static NEXT_DEV: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x200);

/// The old magic number callers may put in the high bits of the flags.
const MS_MGC_VAL: u64 = 0xC0ED_0000;
/// The mask that magic number is recognised under.
const MS_MGC_MSK: u64 = 0xFFFF_0000;
/// Mount flags that only change propagation (no source, no type).
const PROPAGATION: u64 = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;
/// Per-mount flags accepted. MS_RDONLY, MS_NOSUID, MS_NODEV and
/// MS_NOEXEC are kept and enforced; the atime and sync flags are accepted
/// without effect.
const ACCEPTED: u64 = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_SYNCHRONOUS
    | libc::MS_DIRSYNC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_SILENT
    | libc::MS_LAZYTIME
    | libc::MS_REMOUNT
    | libc::MS_BIND
    | libc::MS_MOVE
    | libc::MS_REC
    | PROPAGATION;

/// A string argument of mount(2) (type, source): at most PATH_MAX bytes
/// with its NUL, else EINVAL (Linux's `strndup_user`).
fn read_mount_string(ctx: &TaskCtx, addr: u64) -> SysResult<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    match ctx.read_cstr(addr, crate::fs::vfs::PATH_MAX - 1) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e == Errno::ENAMETOOLONG => Err(Errno::EINVAL),
        Err(e) => Err(e),
    }
}

/// mount(2)'s data page: up to one page is copied, as much as is readable
/// (EFAULT only when nothing is), and read as a string ending at the
/// first NUL or the page's last byte.
fn read_mount_data(ctx: &TaskCtx, addr: u64) -> SysResult<Vec<u8>> {
    if addr == 0 {
        return Ok(Vec::new());
    }
    const PAGE: usize = 4096;
    let mut out = Vec::new();
    let mut cur = addr;
    while out.len() < PAGE {
        let page_left = (crate::mm::PAGE - (cur % crate::mm::PAGE)) as usize;
        let mut buf = vec![0u8; page_left.min(PAGE - out.len())];
        let n = ctx.stub.read_mem(cur, &mut buf);
        out.extend_from_slice(&buf[..n]);
        if let Some(z) = out.iter().position(|&b| b == 0) {
            out.truncate(z);
            return Ok(out);
        }
        if n < buf.len() {
            break;
        }
        let Some(next) = cur.checked_add(n as u64) else {
            break;
        };
        cur = next;
    }
    if out.is_empty() {
        return Err(Errno::EFAULT);
    }
    out.truncate(PAGE - 1);
    Ok(out)
}

/// tmpfs options from mount(2)'s data.
#[derive(Default)]
struct TmpfsOptions {
    mode: Option<u32>,
    size: Option<u64>,
    uid: Option<u32>,
    gid: Option<u32>,
    /// "ro" / "rw" in the data set the file system's read-only state.
    readonly: Option<bool>,
}

/// Parses tmpfs options: mode=, size= (k/m/g/t/p/e or %), nr_blocks=,
/// uid=, gid=, the other tmpfs options Linux knows (accepted, no effect
/// here) and the generic flag words; anything else is EINVAL.
fn parse_tmpfs(data: &[u8]) -> SysResult<TmpfsOptions> {
    let mut o = TmpfsOptions::default();
    for opt in data.split(|b| *b == b',').filter(|o| !o.is_empty()) {
        let s = std::str::from_utf8(opt).map_err(|_| Errno::EINVAL)?;
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        match k {
            "mode" => o.mode = Some(u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777),
            "size" => o.size = Some(parse_size(v)?),
            "nr_blocks" => {
                let (n, rest) = memparse(v)?;
                if !rest.is_empty() {
                    return Err(Errno::EINVAL);
                }
                o.size = Some(n.checked_mul(4096).ok_or(Errno::EINVAL)?);
            }
            "uid" => o.uid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
            "gid" => o.gid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
            "nr_inodes" | "huge" | "mpol" | "inode64" | "inode32" | "noswap" => {}
            _ => o.readonly = generic_option(k, o.readonly)?,
        }
    }
    Ok(o)
}

/// A flag word in mount data that any file system accepts: "ro"/"rw"
/// change the file system's read-only state, the others nothing here.
fn generic_option(word: &str, readonly: Option<bool>) -> SysResult<Option<bool>> {
    match word {
        "ro" => Ok(Some(true)),
        "rw" => Ok(Some(false)),
        "nosuid" | "nodev" | "noexec" | "relatime" | "strictatime" | "noatime" | "sync"
        | "async" | "dirsync" | "lazytime" | "nolazytime" | "silent" => Ok(readonly),
        _ => Err(Errno::EINVAL),
    }
}

/// Options of a file system with none of its own.
fn parse_generic(data: &[u8]) -> SysResult<Option<bool>> {
    let mut ro = None;
    for opt in data.split(|b| *b == b',').filter(|o| !o.is_empty()) {
        let s = std::str::from_utf8(opt).map_err(|_| Errno::EINVAL)?;
        ro = generic_option(s, ro)?;
    }
    Ok(ro)
}

/// Linux's `memparse`: a number in C notation (0x hex, leading 0 octal)
/// with an optional K/M/G/T/P/E suffix; returns it and what follows.
fn memparse(v: &str) -> SysResult<(u64, &str)> {
    let (radix, digits) = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        (16, h)
    } else if v.len() > 1 && v.starts_with('0') {
        (8, &v[1..])
    } else {
        (10, v)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 && radix != 8 {
        return Err(Errno::EINVAL);
    }
    let n = if end == 0 {
        0
    } else {
        u64::from_str_radix(&digits[..end], radix).map_err(|_| Errno::EINVAL)?
    };
    let rest = &digits[end..];
    let shift = match rest.chars().next() {
        Some('k' | 'K') => 10,
        Some('m' | 'M') => 20,
        Some('g' | 'G') => 30,
        Some('t' | 'T') => 40,
        Some('p' | 'P') => 50,
        Some('e' | 'E') => 60,
        _ => return Ok((n, rest)),
    };
    Ok((
        n.checked_shl(shift)
            .filter(|r| r >> shift == n)
            .ok_or(Errno::EINVAL)?,
        &rest[1..],
    ))
}

/// A tmpfs size: bytes with a suffix, or a percentage of memory.
fn parse_size(v: &str) -> SysResult<u64> {
    let (n, rest) = memparse(v)?;
    match rest {
        "" => Ok(n),
        "%" => {
            // Of "RAM": the sandbox reports the host's memory.
            let total = crate::syscalls::process::total_ram();
            Ok(total / 100 * n)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// A new tmpfs from its options (size=0 means no limit, as on Linux).
fn new_tmpfs(o: &TmpfsOptions) -> Arc<dyn Inode> {
    let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Tmpfs::new(
        dev,
        o.mode.unwrap_or(0o1777),
        o.uid.unwrap_or(0),
        o.gid.unwrap_or(0),
        o.size.filter(|&s| s != 0),
    )
}

/// mount.
pub fn sys_mount(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    // Linux copies the strings and the data page first, then looks the
    // target up, then checks the flags and the caller.
    let fstype = read_mount_string(ctx, a[2])?;
    let source = read_mount_string(ctx, a[0])?;
    let data = read_mount_data(ctx, a[4])?;
    let target = ctx.read_path(a[1])?;
    let at = resolve_at(ctx, libc::AT_FDCWD, &target, true, false)?;
    let mut flags = a[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    if flags & !ACCEPTED != 0 {
        return Err(Errno::EINVAL);
    }
    if !capable(ctx, caps::SYS_ADMIN)? {
        return Err(Errno::EPERM);
    }
    let readonly = flags & libc::MS_RDONLY != 0;
    let kernel = ctx.kernel().clone();
    let vfs = &kernel.vfs;
    // The order in which Linux's path_mount picks the operation.
    if flags & (libc::MS_REMOUNT | libc::MS_BIND) == libc::MS_REMOUNT | libc::MS_BIND {
        vfs.remount_mount(&at, readonly, flags)?;
        return Ok(0);
    }
    if flags & libc::MS_REMOUNT != 0 {
        return remount(ctx, &at, readonly, flags, &data);
    }
    if flags & libc::MS_BIND != 0 {
        let from = source_location(ctx, source.as_deref())?;
        // A new bind mount keeps the source mount's read-only flag;
        // MS_RDONLY takes a remount, as on Linux.
        vfs.bind_at(&at, &from, flags & libc::MS_REC != 0)?;
        return Ok(0);
    }
    if flags & PROPAGATION != 0 {
        // Exactly one propagation type (MS_REC and MS_SILENT aside), on a
        // mount's root. One mount namespace with no peers: the type itself
        // changes nothing that can be observed.
        let kind = flags & !(libc::MS_REC | libc::MS_SILENT);
        if !kind.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        vfs.check_mount_root(&at)?;
        return Ok(0);
    }
    if flags & libc::MS_MOVE != 0 {
        let from = source_location(ctx, source.as_deref())?;
        vfs.move_mount(&from, &at)?;
        return Ok(0);
    }
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    let source = String::from_utf8_lossy(source.as_deref().unwrap_or(b"none")).into_owned();
    let (root, name, sb_ro): (Arc<dyn Inode>, &str, Option<bool>) = match fstype.as_slice() {
        b"tmpfs" => {
            let o = parse_tmpfs(&data)?;
            (new_tmpfs(&o), "tmpfs", o.readonly)
        }
        b"proc" => {
            let ro = parse_generic(&data)?;
            let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (new_procfs(Arc::downgrade(&kernel), dev), "proc", ro)
        }
        b"sysfs" => {
            parse_generic(&data)?;
            let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (
                new_sysfs(dev, crate::syscalls::process::ncpus())?,
                "sysfs",
                Some(true),
            )
        }
        _ => return Err(Errno::ENODEV),
    };
    if !at.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    vfs.mount_at_with_flags(&at, root, name, &source, readonly, flags)?;
    if let Some(ro) = sb_ro {
        // "ro"/"rw" in the data are the file system's, not the mount's.
        let new = vfs.cross_mounts(at);
        vfs.remount_super(&new, ro, readonly, false, false, &mut || Ok(()))?;
    }
    Ok(0)
}

/// The source of a bind mount or a move: EINVAL when absent or empty.
fn source_location(ctx: &TaskCtx, source: Option<&[u8]>) -> SysResult<Location> {
    match source {
        None | Some([]) => Err(Errno::EINVAL),
        Some(p) => resolve_at(ctx, libc::AT_FDCWD, p, true, false),
    }
}

/// A remount without MS_BIND: the file system's options and read-only
/// state, and the mount's read-only flag, change together.
fn remount(
    ctx: &TaskCtx,
    at: &Location,
    readonly: bool,
    flags: u64,
    data: &[u8],
) -> SysResult<u64> {
    let vfs = &ctx.kernel().vfs;
    vfs.check_mount_root(at)?;
    let root = at.mount.root.inode.clone();
    let tmp = root.as_any().downcast_ref::<TmpInode>();
    let (size, sb_ro) = match tmp {
        Some(_) if at.mount.fstype == "tmpfs" => {
            // mode=, uid= and gid= are accepted and ignored on a remount,
            // as Linux does.
            let o = parse_tmpfs(data)?;
            (o.size, o.readonly)
        }
        _ => (None, parse_generic(data)?),
    };
    let backing_readonly = at.mount.fstype == "sysfs"
        || root
            .as_any()
            .downcast_ref::<GoferInode>()
            .is_some_and(|g| g.is_readonly());
    let busy = tmp.is_some_and(|t| t.has_orphans());
    vfs.remount_super(
        at,
        sb_ro.unwrap_or(readonly),
        readonly,
        backing_readonly,
        busy,
        &mut || match (tmp, size) {
            (Some(t), Some(s)) => t.set_size_limit(s),
            _ => Ok(()),
        },
    )?;
    at.mount.set_flags(flags);
    Ok(0)
}

/// umount2.
pub fn sys_umount2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as i32;
    if flags & !(libc::MNT_FORCE | libc::MNT_DETACH | libc::MNT_EXPIRE | libc::UMOUNT_NOFOLLOW) != 0
        || (flags & libc::MNT_EXPIRE != 0 && flags & (libc::MNT_FORCE | libc::MNT_DETACH) != 0)
    {
        return Err(Errno::EINVAL);
    }
    if !capable(ctx, caps::SYS_ADMIN)? {
        return Err(Errno::EPERM);
    }
    if flags & libc::MNT_EXPIRE != 0 {
        // Expiry marks are not kept: nothing is ever ready to expire.
        return Err(Errno::EAGAIN);
    }
    let target = ctx.read_path(a[0])?;
    let at = resolve_at(
        ctx,
        libc::AT_FDCWD,
        &target,
        flags & libc::UMOUNT_NOFOLLOW == 0,
        false,
    )?;
    // Like Linux's LOOKUP_MOUNTPOINT: the topmost mount at the place named,
    // even when that is "." or "/" (after `pivot_root . .`).
    let vfs = &ctx.kernel().vfs;
    let at = vfs.cross_mounts(at);
    vfs.unmount(&at, flags & libc::MNT_DETACH != 0)?;
    Ok(0)
}

/// pivot_root: `new_root` becomes the root and the old root appears at
/// `put_old`; every task whose root or working directory was the old root
/// now has the new one.
pub fn sys_pivot_root(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if !capable(ctx, caps::SYS_ADMIN)? {
        return Err(Errno::EPERM);
    }
    let dir = |ctx: &TaskCtx, addr: u64| -> SysResult<Location> {
        let p = ctx.read_path(addr)?;
        let loc = resolve_at(ctx, libc::AT_FDCWD, &p, true, false)?;
        if !loc.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(loc)
    };
    let new = dir(ctx, a[0])?;
    let put_old = dir(ctx, a[1])?;
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    let root = fs.lock().map_err(|_| Errno::EIO)?.root.clone();
    let kernel = ctx.kernel().clone();
    let (old_root, new_root) = kernel.vfs.pivot_root(&root, &new, &put_old)?;
    drop((root, new, put_old));
    // Linux's chroot_fs_refs.
    let is_old = |l: &Location| {
        l.mount.id == old_root.mount.id
            && (Arc::ptr_eq(&l.dentry, &old_root.dentry)
                || match (l.attr(), old_root.attr()) {
                    (Ok(x), Ok(y)) => (x.dev, x.ino) == (y.dev, y.ino),
                    _ => false,
                })
    };
    for t in kernel.tasks() {
        let Ok(inner) = t.inner.lock() else { continue };
        let fs = inner.fs.clone();
        drop(inner);
        let Ok(mut f) = fs.lock() else { continue };
        if is_old(&f.root) {
            f.root = new_root.clone();
        }
        if is_old(&f.cwd) {
            f.cwd = new_root.clone();
        }
    }
    Ok(0)
}

/// chroot.
pub fn sys_chroot(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &path, true, false)?;
    if !loc.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !capable(ctx, caps::SYS_CHROOT)? {
        return Err(Errno::EPERM);
    }
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    fs.lock().map_err(|_| Errno::EIO)?.root = loc;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn memparse_like_linux() {
        assert_eq!(memparse("64k").unwrap(), (65536, ""));
        assert_eq!(memparse("0x10M").unwrap(), (16 << 20, ""));
        assert_eq!(memparse("010").unwrap(), (8, ""));
        assert_eq!(memparse("0").unwrap(), (0, ""));
        assert_eq!(memparse("3%").unwrap(), (3, "%"));
        assert!(memparse("k").is_err());
        assert!(memparse("99999999999E").is_err());
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert!(parse_size("12q").is_err());
    }

    #[test]
    fn tmpfs_options() {
        let o = parse_tmpfs(b"size=64k,mode=0710,uid=5,ro,nosuid").unwrap();
        assert_eq!(
            (o.size, o.mode, o.uid, o.gid, o.readonly),
            (Some(65536), Some(0o710), Some(5), None, Some(true))
        );
        assert!(parse_tmpfs(b"bogus").is_err());
        assert!(parse_tmpfs(b"size=1x").is_err());
        assert_eq!(parse_generic(b"rw,noatime").unwrap(), Some(false));
        assert!(parse_generic(b"hidepid=2").is_err());
    }
}
