//! The extended attribute calls (xattr(7)): getxattr, setxattr, listxattr
//! and removexattr, each by path (following symlinks), by path without
//! following a final symlink (`l*`) and by descriptor (`f*`).
//!
//! Order of checks, as Linux 6.x makes them: the flags (`EINVAL`), the
//! name (`ERANGE` if empty or longer than 255 bytes, `EFAULT`), the value
//! (`E2BIG` past 64 KiB, `EFAULT`), then the path or descriptor (`EBADF`,
//! also for `O_PATH` descriptors); then the mount (`EROFS` for changes),
//! the namespace's permission rules (`xattr_permission` in
//! `fs/xattr.c`), the security-module rules for `security.*`, and last
//! the file system, which answers for the name itself (`EOPNOTSUPP`,
//! `EINVAL` for a bare prefix) and the attribute (`ENODATA`, `EEXIST`,
//! `ENOSPC`).
//!
//! Privilege (`CAP_SYS_ADMIN` for `trusted.*` and writing `security.*`)
//! is an effective uid of 0 in the sandbox; overriding file permissions
//! and ownership (`CAP_DAC_OVERRIDE`, `CAP_FOWNER`) follows the
//! file-system uid, as the sentry's other permission checks do.

use std::sync::Arc;

use super::file::files;
use super::path::resolve_at;
use super::perm;
use super::perm::creds;
use crate::fs::xattr::{self, Namespace};
use crate::fs::{Attr, Inode};
use crate::kernel::caps;
use crate::kernel::task::TaskCtx;
use crate::kernel::Creds;
use crate::{Errno, SysResult};

/// How a call names its file.
#[derive(Clone, Copy)]
enum By {
    /// A path; whether a final symlink is followed.
    Path(u64, bool),
    /// A descriptor.
    Fd(i32),
}

/// The file an xattr call works on.
struct Target {
    /// Its inode; `None` for files outside any file system here (pipes,
    /// sockets, host descriptors), which hold no attributes.
    inode: Option<Arc<dyn Inode>>,
    /// Its attributes (type, mode and owner for the permission rules).
    attr: Attr,
    /// It is on a read-only mount.
    readonly: bool,
}

/// Reads an attribute name: at most 255 bytes plus the NUL, else
/// `ERANGE` (as for an empty name).
fn read_name(ctx: &TaskCtx, addr: u64) -> SysResult<Vec<u8>> {
    match ctx.read_cstr(addr, xattr::NAME_MAX) {
        Ok(n) if n.is_empty() => Err(Errno::ERANGE),
        Ok(n) => Ok(n),
        Err(e) if e == Errno::ENAMETOOLONG => Err(Errno::ERANGE),
        Err(e) => Err(e),
    }
}

/// Resolves the file the call names.
fn target(ctx: &TaskCtx, by: By) -> SysResult<Target> {
    let loc = match by {
        By::Path(addr, follow) => {
            let p = ctx.read_path(addr)?;
            resolve_at(ctx, libc::AT_FDCWD, &p, follow, false)?
        }
        By::Fd(fd) => {
            let f = files(ctx)?.get(fd)?;
            if f.is_path() {
                return Err(Errno::EBADF);
            }
            match &f.location {
                Some(l) => l.clone(),
                None => {
                    return Ok(Target {
                        inode: f.ops.inode(),
                        attr: f.ops.stat()?,
                        readonly: false,
                    })
                }
            }
        }
    };
    Ok(Target {
        attr: loc.attr()?,
        inode: Some(loc.dentry.inode.clone()),
        readonly: loc.mount.is_readonly(),
    })
}

/// Linux's `xattr_permission`: whether `c` may read (or write) the
/// attribute `name` of the file `a`.
fn permission(c: &Creds, a: &Attr, name: &[u8], write: bool) -> SysResult<()> {
    match xattr::namespace(name) {
        // Left to the security module and the file system.
        Namespace::Security | Namespace::System => return Ok(()),
        Namespace::Trusted => {
            return match (c.capable(caps::SYS_ADMIN), write) {
                (true, _) => Ok(()),
                (false, true) => Err(Errno::EPERM),
                (false, false) => Err(Errno::ENODATA),
            };
        }
        Namespace::User => {
            // Only regular files and directories have user attributes.
            if !a.is_reg() && !a.is_dir() {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
            // In a sticky directory only its owner writes them.
            let sticky = a.is_dir() && a.mode & libc::S_ISVTX != 0;
            if write && sticky && !c.capable(caps::FOWNER) && c.fsuid != a.uid {
                return Err(Errno::EPERM);
            }
        }
        Namespace::Unknown => {}
    }
    let want = if write { perm::W } else { perm::R };
    if perm::may_access(c, a, want) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// The security module's say on changing `name` (commoncap): only a
/// privileged process sets or removes `security.*` attributes.
fn security_write_allowed(c: &Creds, name: &[u8]) -> SysResult<()> {
    if xattr::namespace(name) == Namespace::Security && !c.capable(caps::SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// `security.capability` values are file capabilities: Linux accepts only
/// a revision 2 (20 bytes) or revision 3 (24 bytes) `vfs_cap_data`.
fn check_file_caps(name: &[u8], value: &[u8]) -> SysResult<()> {
    const REVISION_2: u32 = 0x0200_0000;
    const REVISION_3: u32 = 0x0300_0000;
    const FLAGS_EFFECTIVE: u32 = 0x1;
    if name != b"security.capability" || value.is_empty() {
        return Ok(());
    }
    let magic = value
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_le_bytes(b) & !FLAGS_EFFECTIVE);
    match (value.len(), magic) {
        (20, Some(REVISION_2)) | (24, Some(REVISION_3)) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

fn get(ctx: &TaskCtx, by: By, name_addr: u64, value_addr: u64, size: u64) -> SysResult<u64> {
    let name = read_name(ctx, name_addr)?;
    let t = target(ctx, by)?;
    permission(&creds(ctx)?, &t.attr, &name, false)?;
    let value = t.inode.ok_or(Errno::EOPNOTSUPP)?.getxattr(&name)?;
    if size == 0 {
        return Ok(value.len() as u64);
    }
    let room = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(xattr::SIZE_MAX);
    if value.len() > room {
        // A value longer than any buffer could be: E2BIG, as Linux says.
        return Err(if room >= xattr::SIZE_MAX {
            Errno::E2BIG
        } else {
            Errno::ERANGE
        });
    }
    ctx.write_bytes(value_addr, &value)?;
    Ok(value.len() as u64)
}

fn set(
    ctx: &TaskCtx,
    by: By,
    name_addr: u64,
    value_addr: u64,
    size: u64,
    flags: u64,
) -> SysResult<u64> {
    // `flags` is an int: the upper half of the register is ignored.
    let flags = flags as u32;
    if flags & !(xattr::CREATE | xattr::REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(ctx, name_addr)?;
    let size = usize::try_from(size).map_err(|_| Errno::E2BIG)?;
    if size > xattr::SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = ctx.read_bytes(value_addr, size)?;
    let t = target(ctx, by)?;
    if t.readonly {
        return Err(Errno::EROFS);
    }
    let c = creds(ctx)?;
    check_file_caps(&name, &value)?;
    permission(&c, &t.attr, &name, true)?;
    security_write_allowed(&c, &name)?;
    t.inode
        .ok_or(Errno::EOPNOTSUPP)?
        .setxattr(&name, &value, flags)?;
    Ok(0)
}

fn list(ctx: &TaskCtx, by: By, list_addr: u64, size: u64) -> SysResult<u64> {
    let t = target(ctx, by)?;
    let names = match &t.inode {
        Some(i) => i.listxattr()?,
        None => Vec::new(),
    };
    // Unprivileged callers do not see trusted.* names.
    let privileged = creds(ctx)?.capable(caps::SYS_ADMIN);
    let shown = names
        .iter()
        .filter(|n| privileged || xattr::namespace(n) != Namespace::Trusted);
    let list = xattr::join_names(shown);
    if size == 0 {
        return Ok(list.len() as u64);
    }
    let room = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(xattr::LIST_MAX);
    if list.len() > room {
        return Err(if room >= xattr::LIST_MAX {
            Errno::E2BIG
        } else {
            Errno::ERANGE
        });
    }
    ctx.write_bytes(list_addr, &list)?;
    Ok(list.len() as u64)
}

fn remove(ctx: &TaskCtx, by: By, name_addr: u64) -> SysResult<u64> {
    let name = read_name(ctx, name_addr)?;
    let t = target(ctx, by)?;
    if t.readonly {
        return Err(Errno::EROFS);
    }
    let c = creds(ctx)?;
    permission(&c, &t.attr, &name, true)?;
    security_write_allowed(&c, &name)?;
    t.inode.ok_or(Errno::EOPNOTSUPP)?.removexattr(&name)?;
    Ok(0)
}

/// getxattr(path, name, value, size).
pub fn sys_getxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    get(ctx, By::Path(a[0], true), a[1], a[2], a[3])
}

/// lgetxattr: getxattr without following a final symlink.
pub fn sys_lgetxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    get(ctx, By::Path(a[0], false), a[1], a[2], a[3])
}

/// fgetxattr(fd, name, value, size).
pub fn sys_fgetxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    get(ctx, By::Fd(a[0] as i32), a[1], a[2], a[3])
}

/// setxattr(path, name, value, size, flags).
pub fn sys_setxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set(ctx, By::Path(a[0], true), a[1], a[2], a[3], a[4])
}

/// lsetxattr: setxattr without following a final symlink.
pub fn sys_lsetxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set(ctx, By::Path(a[0], false), a[1], a[2], a[3], a[4])
}

/// fsetxattr(fd, name, value, size, flags).
pub fn sys_fsetxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set(ctx, By::Fd(a[0] as i32), a[1], a[2], a[3], a[4])
}

/// listxattr(path, list, size).
pub fn sys_listxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    list(ctx, By::Path(a[0], true), a[1], a[2])
}

/// llistxattr: listxattr without following a final symlink.
pub fn sys_llistxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    list(ctx, By::Path(a[0], false), a[1], a[2])
}

/// flistxattr(fd, list, size).
pub fn sys_flistxattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    list(ctx, By::Fd(a[0] as i32), a[1], a[2])
}

/// removexattr(path, name).
pub fn sys_removexattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    remove(ctx, By::Path(a[0], true), a[1])
}

/// lremovexattr: removexattr without following a final symlink.
pub fn sys_lremovexattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    remove(ctx, By::Path(a[0], false), a[1])
}

/// fremovexattr(fd, name).
pub fn sys_fremovexattr(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    remove(ctx, By::Fd(a[0] as i32), a[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG};

    fn attr(mode: u32, uid: u32) -> Attr {
        Attr {
            mode,
            uid,
            gid: uid,
            ..Default::default()
        }
    }

    fn user(uid: u32) -> Creds {
        Creds::new(uid, uid, vec![])
    }

    #[test]
    fn user_namespace_rules() {
        let file = attr(S_IFREG | 0o644, 0);
        assert_eq!(permission(&user(1000), &file, b"user.a", false), Ok(()));
        assert_eq!(
            permission(&user(1000), &file, b"user.a", true),
            Err(Errno::EACCES)
        );
        assert_eq!(permission(&user(0), &file, b"user.a", true), Ok(()));
        // Ownership alone does not grant writing.
        let mine = attr(S_IFREG | 0o444, 1000);
        assert_eq!(
            permission(&user(1000), &mine, b"user.a", true),
            Err(Errno::EACCES)
        );
        let secret = attr(S_IFREG | 0o600, 0);
        assert_eq!(
            permission(&user(1000), &secret, b"user.a", false),
            Err(Errno::EACCES)
        );
        for kind in [S_IFLNK, S_IFCHR] {
            let a = attr(kind | 0o777, 0);
            assert_eq!(
                permission(&user(0), &a, b"user.a", false),
                Err(Errno::ENODATA)
            );
            assert_eq!(permission(&user(0), &a, b"user.a", true), Err(Errno::EPERM));
        }
        let sticky = attr(S_IFDIR | 0o1777, 0);
        assert_eq!(
            permission(&user(1000), &sticky, b"user.a", true),
            Err(Errno::EPERM)
        );
        let own_sticky = attr(S_IFDIR | 0o1777, 1000);
        assert_eq!(
            permission(&user(1000), &own_sticky, b"user.a", true),
            Ok(())
        );
    }

    #[test]
    fn trusted_security_and_other_namespaces() {
        let secret = attr(S_IFREG | 0o600, 0);
        let link = attr(S_IFLNK | 0o777, 0);
        assert_eq!(
            permission(&user(1000), &secret, b"trusted.a", false),
            Err(Errno::ENODATA)
        );
        assert_eq!(
            permission(&user(1000), &secret, b"trusted.a", true),
            Err(Errno::EPERM)
        );
        assert_eq!(permission(&user(0), &link, b"trusted.a", true), Ok(()));
        // security.* is not the VFS's business (reading needs nothing)…
        assert_eq!(
            permission(&user(1000), &secret, b"security.a", false),
            Ok(())
        );
        // …but writing it needs privilege.
        assert_eq!(
            security_write_allowed(&user(1000), b"security.a"),
            Err(Errno::EPERM)
        );
        assert_eq!(security_write_allowed(&user(1000), b"user.a"), Ok(()));
        // Unknown namespaces are checked like data, then refused by the
        // file system.
        assert_eq!(
            permission(&user(1000), &secret, b"foo.a", false),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn file_capability_headers() {
        let mut v2 = vec![0u8; 20];
        v2[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
        assert_eq!(check_file_caps(b"security.capability", &v2), Ok(()));
        assert_eq!(
            check_file_caps(b"security.capability", &v2[..16]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            check_file_caps(b"security.capability", b"junk"),
            Err(Errno::EINVAL)
        );
        assert_eq!(check_file_caps(b"security.other", b"junk"), Ok(()));
    }
}
