//! mount, umount2 and chroot inside the sandbox (for its root user, who
//! holds CAP_SYS_ADMIN and CAP_SYS_CHROOT there). These change only the
//! sentry's own mount table: tmpfs, proc, sysfs and bind mounts of what the
//! sandbox already sees.

use std::sync::Arc;

use super::path::resolve_at;
use crate::fs::procfs::new_procfs;
use crate::fs::sysfs::new_sysfs;
use crate::fs::tmpfs::Tmpfs;
use crate::fs::Inode;
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// Device numbers for file systems mounted from inside the sandbox.
static NEXT_DEV: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x200);

/// Mount flags that only change propagation (no source, no type).
const PROPAGATION: u64 = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;
/// Per-mount flags accepted (and, apart from MS_RDONLY, not enforced: the
/// sandbox has no devices or setuid programs of its own to guard).
const ACCEPTED: u64 = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_SYNCHRONOUS
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_SILENT
    | libc::MS_LAZYTIME
    | libc::MS_BIND
    | libc::MS_REC
    | PROPAGATION
    | 0xC0ED_0000; // MS_MGC_VAL, the old magic in the high bits

fn is_root(ctx: &TaskCtx) -> SysResult<bool> {
    Ok(ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?.creds.euid == 0)
}

fn read_opt_string(ctx: &TaskCtx, addr: u64, max: usize) -> SysResult<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    Ok(Some(ctx.read_cstr(addr, max)?))
}

/// tmpfs options: mode=, size= (bytes, k/m/g or %), uid=, gid=, and the
/// generic ones Linux passes along; unknown options are EINVAL.
fn tmpfs_from_options(data: &[u8]) -> SysResult<Arc<dyn Inode>> {
    let mut mode = 0o1777;
    let mut size = None;
    let mut uid = 0;
    let mut gid = 0;
    for opt in data.split(|b| *b == b',').filter(|o| !o.is_empty()) {
        let o = std::str::from_utf8(opt).map_err(|_| Errno::EINVAL)?;
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        match k {
            "mode" => mode = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777,
            "size" => size = Some(parse_size(v)?),
            "uid" => uid = v.parse().map_err(|_| Errno::EINVAL)?,
            "gid" => gid = v.parse().map_err(|_| Errno::EINVAL)?,
            "nr_inodes" | "nr_blocks" | "huge" | "mpol" | "inode64" | "inode32" | "noswap" => {}
            "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "strictatime"
            | "noatime" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Tmpfs::new(dev, mode, uid, gid, size))
}

fn parse_size(v: &str) -> SysResult<u64> {
    let (num, mul) = match v.chars().last() {
        Some('k') | Some('K') => (&v[..v.len() - 1], 1u64 << 10),
        Some('m') | Some('M') => (&v[..v.len() - 1], 1 << 20),
        Some('g') | Some('G') => (&v[..v.len() - 1], 1 << 30),
        Some('%') => {
            let pct: u64 = v[..v.len() - 1].parse().map_err(|_| Errno::EINVAL)?;
            // Of "RAM": the sandbox reports the host's memory.
            let total = crate::syscalls::process::total_ram();
            return Ok(total / 100 * pct);
        }
        _ => (v, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or(Errno::EINVAL)
}

/// mount.
pub fn sys_mount(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3];
    if !is_root(ctx)? {
        return Err(Errno::EPERM);
    }
    let target = ctx.read_path(a[1])?;
    let at = resolve_at(ctx, libc::AT_FDCWD, &target, true, false)?;
    if flags & !ACCEPTED != 0 || flags & (libc::MS_REMOUNT | libc::MS_MOVE) != 0 {
        // Remounts and moves are not supported.
        return Err(Errno::EINVAL);
    }
    if flags & PROPAGATION != 0 {
        // One mount namespace with no peers: propagation types change
        // nothing that can be observed.
        return Ok(0);
    }
    let readonly = flags & libc::MS_RDONLY != 0;
    let kernel = ctx.kernel().clone();
    if flags & libc::MS_BIND != 0 {
        let src = ctx.read_path(a[0])?;
        let from = resolve_at(ctx, libc::AT_FDCWD, &src, true, false)?;
        // Like Linux, a new bind mount ignores MS_RDONLY (it takes a
        // remount, which is not supported) and keeps the source's mode.
        kernel.vfs.mount_at(
            &at,
            from.dentry.inode.clone(),
            &from.mount.fstype,
            &from.mount.source,
            from.mount.readonly,
        )?;
        return Ok(0);
    }
    let fstype = read_opt_string(ctx, a[2], 256)?.ok_or(Errno::EFAULT)?;
    let source = read_opt_string(ctx, a[0], 4096)?.unwrap_or_else(|| b"none".to_vec());
    let data = read_opt_string(ctx, a[4], 4096)?.unwrap_or_default();
    let source = String::from_utf8_lossy(&source).into_owned();
    if !at.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let (root, name): (Arc<dyn Inode>, &str) = match fstype.as_slice() {
        b"tmpfs" => (tmpfs_from_options(&data)?, "tmpfs"),
        b"proc" => {
            let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (new_procfs(Arc::downgrade(&kernel), dev), "proc")
        }
        b"sysfs" => {
            let dev = NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (new_sysfs(dev, crate::syscalls::process::ncpus())?, "sysfs")
        }
        _ => return Err(Errno::ENODEV),
    };
    kernel
        .vfs
        .mount_at(&at, root, name, &source, readonly || name == "sysfs")?;
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
    if !is_root(ctx)? {
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
    ctx.kernel()
        .vfs
        .unmount(&at, flags & libc::MNT_DETACH != 0)?;
    Ok(0)
}

/// chroot.
pub fn sys_chroot(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = ctx.read_path(a[0])?;
    let loc = resolve_at(ctx, libc::AT_FDCWD, &path, true, false)?;
    if !loc.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !is_root(ctx)? {
        return Err(Errno::EPERM);
    }
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    fs.lock().map_err(|_| Errno::EIO)?.root = loc;
    Ok(0)
}
