//! Extended attributes (xattr(7)): the Linux limits, the namespaces a
//! name can belong to, and [`XattrMap`], the in-memory store a file system
//! keeps per inode (tmpfs, and so the overlay's upper layer), with its
//! space charged to a per-file-system [`XattrSpace`].
//!
//! Who may read or write which namespace is the system call layer's
//! decision (`syscalls/xattr.rs`); file systems get names that passed it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Errno, SysResult};

/// Longest attribute name in bytes (Linux `XATTR_NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Largest attribute value in bytes (Linux `XATTR_SIZE_MAX`).
pub const SIZE_MAX: usize = 64 * 1024;
/// Largest name list a caller can receive (Linux `XATTR_LIST_MAX`).
pub const LIST_MAX: usize = 64 * 1024;
/// `setxattr` flag: fail with `EEXIST` if the attribute exists.
pub const CREATE: u32 = libc::XATTR_CREATE as u32;
/// `setxattr` flag: fail with `ENODATA` if the attribute does not exist.
pub const REPLACE: u32 = libc::XATTR_REPLACE as u32;

/// The namespace of an attribute name, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `user.`: any file's owner rules (regular files and directories).
    User,
    /// `trusted.`: privileged processes only.
    Trusted,
    /// `security.`: security modules; writing needs privilege.
    Security,
    /// `system.`: POSIX ACLs and the like (not supported here).
    System,
    /// Any other prefix (`EOPNOTSUPP` everywhere).
    Unknown,
}

const PREFIXES: [(&[u8], Namespace); 4] = [
    (b"user.", Namespace::User),
    (b"trusted.", Namespace::Trusted),
    (b"security.", Namespace::Security),
    (b"system.", Namespace::System),
];

/// The namespace `name` belongs to.
pub fn namespace(name: &[u8]) -> Namespace {
    PREFIXES
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .map_or(Namespace::Unknown, |(_, ns)| *ns)
}

/// Checks that `name` is one a file system with `user.`, `trusted.` and
/// `security.` attributes can hold, as Linux resolves a handler:
/// `EOPNOTSUPP` for other namespaces (ACLs in `system.` included), and
/// `EINVAL` for a bare prefix with nothing after it.
pub fn check_storable(name: &[u8]) -> SysResult<()> {
    match PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
        Some((_, Namespace::System)) | None => Err(Errno::EOPNOTSUPP),
        Some((p, _)) if name.len() == p.len() => Err(Errno::EINVAL),
        Some(_) => Ok(()),
    }
}

/// Bytes one attribute costs its file system: name, value and a fixed
/// overhead for the entry (Linux's `simple_xattr_space` is similar).
pub fn entry_cost(name: &[u8], value: &[u8]) -> u64 {
    const OVERHEAD: u64 = 48;
    OVERHEAD + name.len() as u64 + value.len() as u64
}

/// The attribute space of one file system: bytes in use and the limit,
/// past which setting an attribute fails with `ENOSPC`.
#[derive(Debug)]
pub struct XattrSpace {
    used: AtomicU64,
    limit: u64,
}

impl XattrSpace {
    /// An empty space of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        XattrSpace {
            used: AtomicU64::new(0),
            limit,
        }
    }

    /// Takes `n` bytes, or fails with `ENOSPC`.
    fn reserve(&self, n: u64) -> SysResult<()> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(n).filter(|&t| t <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    /// Gives `n` bytes back.
    pub fn release(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// The extended attributes of one inode, kept in name order (so listings
/// are stable, as Linux's rbtree of `simple_xattr`s).
#[derive(Debug, Default)]
pub struct XattrMap {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    /// What the entries cost in their file system's [`XattrSpace`].
    cost: u64,
}

impl XattrMap {
    /// The value of `name` (`ENODATA` if there is none).
    pub fn get(&self, name: &[u8]) -> SysResult<Vec<u8>> {
        check_storable(name)?;
        self.map.get(name).cloned().ok_or(Errno::ENODATA)
    }

    /// Sets `name` to `value`. `flags` is a subset of [`CREATE`] |
    /// [`REPLACE`]: `EEXIST` if `CREATE` and it exists, `ENODATA` if
    /// `REPLACE` and it does not (both flags together: whichever applies).
    /// The new entry is charged to `space` before the old one is released,
    /// as Linux tmpfs does (`ENOSPC` when it does not fit).
    pub fn set(
        &mut self,
        name: &[u8],
        value: &[u8],
        flags: u32,
        space: &XattrSpace,
    ) -> SysResult<()> {
        check_storable(name)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ERANGE);
        }
        if value.len() > SIZE_MAX {
            return Err(Errno::E2BIG);
        }
        let old = self.map.get(name);
        if old.is_some() && flags & CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        if old.is_none() && flags & REPLACE != 0 {
            return Err(Errno::ENODATA);
        }
        let new_cost = entry_cost(name, value);
        space.reserve(new_cost)?;
        if let Some(old) = self.map.insert(name.to_vec(), value.to_vec()) {
            let old_cost = entry_cost(name, &old);
            space.release(old_cost);
            self.cost = self.cost.saturating_sub(old_cost);
        }
        self.cost = self.cost.saturating_add(new_cost);
        Ok(())
    }

    /// Removes `name` (`ENODATA` if there is none).
    pub fn remove(&mut self, name: &[u8], space: &XattrSpace) -> SysResult<()> {
        check_storable(name)?;
        let old = self.map.remove(name).ok_or(Errno::ENODATA)?;
        let old_cost = entry_cost(name, &old);
        space.release(old_cost);
        self.cost = self.cost.saturating_sub(old_cost);
        Ok(())
    }

    /// Every name, in order.
    pub fn names(&self) -> Vec<Vec<u8>> {
        self.map.keys().cloned().collect()
    }

    /// Drops every entry and gives their space back (the inode is gone).
    pub fn clear(&mut self, space: &XattrSpace) {
        self.map.clear();
        space.release(std::mem::take(&mut self.cost));
    }
}

/// Joins names into the NUL-terminated list `listxattr(2)` returns.
pub fn join_names<'a>(names: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(n);
        out.push(0);
    }
    out
}

/// Splits a NUL-terminated name list into names (empty pieces dropped).
pub fn split_names(list: &[u8]) -> Vec<Vec<u8>> {
    list.split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn namespaces_and_storable_names() {
        assert_eq!(namespace(b"user.a"), Namespace::User);
        assert_eq!(namespace(b"trusted.a"), Namespace::Trusted);
        assert_eq!(namespace(b"security.a"), Namespace::Security);
        assert_eq!(namespace(b"system.posix_acl_access"), Namespace::System);
        assert_eq!(namespace(b"users.a"), Namespace::Unknown);
        assert_eq!(check_storable(b"user.a"), Ok(()));
        assert_eq!(check_storable(b"user."), Err(Errno::EINVAL));
        assert_eq!(check_storable(b"security."), Err(Errno::EINVAL));
        assert_eq!(check_storable(b"system.x"), Err(Errno::EOPNOTSUPP));
        assert_eq!(check_storable(b"foo.x"), Err(Errno::EOPNOTSUPP));
        assert_eq!(check_storable(b"user"), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn create_replace_and_both() {
        let space = XattrSpace::new(1 << 20);
        let mut m = XattrMap::default();
        assert_eq!(m.set(b"user.a", b"1", REPLACE, &space), Err(Errno::ENODATA));
        assert_eq!(
            m.set(b"user.a", b"1", CREATE | REPLACE, &space),
            Err(Errno::ENODATA)
        );
        m.set(b"user.a", b"1", CREATE, &space).unwrap();
        assert_eq!(m.set(b"user.a", b"2", CREATE, &space), Err(Errno::EEXIST));
        assert_eq!(
            m.set(b"user.a", b"2", CREATE | REPLACE, &space),
            Err(Errno::EEXIST)
        );
        m.set(b"user.a", b"22", REPLACE, &space).unwrap();
        assert_eq!(m.get(b"user.a").unwrap(), b"22");
        assert_eq!(m.get(b"user.b"), Err(Errno::ENODATA));
        assert_eq!(m.remove(b"user.b", &space), Err(Errno::ENODATA));
        m.remove(b"user.a", &space).unwrap();
        assert_eq!(space.used(), 0);
    }

    #[test]
    fn limits_and_space() {
        let space = XattrSpace::new(entry_cost(b"user.a", &[0; 100]) + 10);
        let mut m = XattrMap::default();
        assert_eq!(
            m.set(b"user.a", &[0; SIZE_MAX + 1], 0, &space),
            Err(Errno::E2BIG)
        );
        let mut long = b"user.".to_vec();
        long.resize(NAME_MAX + 1, b'a');
        assert_eq!(m.set(&long, b"", 0, &space), Err(Errno::ERANGE));
        long.pop();
        let big = XattrSpace::new(1 << 20);
        m.set(&long, b"", 0, &big).unwrap();
        m.remove(&long, &big).unwrap();
        m.set(b"user.a", &[0; 100], 0, &space).unwrap();
        assert_eq!(m.set(b"user.b", b"x", 0, &space), Err(Errno::ENOSPC));
        // Replacing charges the new value before the old one is released.
        assert_eq!(m.set(b"user.a", &[1; 100], 0, &space), Err(Errno::ENOSPC));
        assert_eq!(m.get(b"user.a").unwrap(), vec![0; 100]);
        m.remove(b"user.a", &space).unwrap();
        m.set(b"user.a", b"", 0, &space).unwrap();
        assert_eq!(space.used(), entry_cost(b"user.a", b""));
        m.clear(&space);
        assert_eq!(space.used(), 0);
    }

    #[test]
    fn name_lists() {
        let names = vec![b"user.a".to_vec(), b"trusted.b".to_vec()];
        let list = join_names(&names);
        assert_eq!(list, b"user.a\0trusted.b\0");
        assert_eq!(split_names(&list), names);
        assert!(split_names(b"").is_empty());
    }
}
