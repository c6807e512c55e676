//! overlay: a writable file system made of a read-only lower layer (the
//! host root through the gofer, in practice) and a writable upper layer
//! (a tmpfs), in the manner of Linux overlayfs and gVisor's overlay.
//!
//! * Lookup: an entry of the upper directory wins. A non-directory in the
//!   upper hides the lower entry of the same name; an upper directory is
//!   merged with a lower directory of the same name unless it is "opaque".
//!   A "whiteout" hides a lower entry that was removed. Whiteouts and
//!   opaque marks are kept in sentry memory, per upper directory (keyed by
//!   the upper inode number), instead of as char-device files or xattrs.
//! * Listing a directory gives the upper entries, then the lower ones that
//!   are neither whited out nor shadowed by an upper name (none at all for
//!   an opaque directory).
//! * Copy-up: before a lower-only file is modified (opened for writing or
//!   with `O_TRUNC`, setattr, hard-linked, renamed, or a directory gets a
//!   new entry) it is copied into the upper layer, its parent chain
//!   first: directories by `mkdir`, regular files by copying the data in
//!   1 MiB chunks, symlinks by `readlink` + `symlink`, FIFOs and sockets by
//!   `mknod`; then mode, owner and times follow with `setattr`. FIFOs are
//!   copied up on every open, so that their pipe lives in the sandbox.
//! * Extended attributes are read from the upper file if there is one,
//!   else from the lower; setting or removing one copies the file up
//!   first (removing a name the lower file lacks fails with `ENODATA`
//!   without a copy-up). A copy-up carries the lower file's attributes
//!   along (all the lower reports: `user.*` and `trusted.*` from the
//!   gofer; never `trusted.overlay.*`, which belongs to a host overlayfs).
//! * Inode numbers: a file keeps its lower inode number after copy-up (as
//!   Linux overlayfs does), because the copy's "origin" is remembered.
//!   Files created in the sandbox get their upper number with bit 63 set,
//!   so they never collide with lower ones. Lower files on another host
//!   device than the lower root get a number mixed with their device.
//! * Renaming a directory copies its whole lower subtree up first (data
//!   included) and marks every copied directory opaque. That costs time
//!   and memory proportional to the subtree, like the copy `mv` does when
//!   Linux overlayfs (without `redirect_dir`) answers `EXDEV`.
//!
//! Locking: namespace changes and copy-ups hold the file system's `tree`
//! lock for writing; lookups that are not cached and directory listings
//! hold it for reading. Overlay inodes are cached per directory through
//! weak references, so one name has one overlay inode while it is in use;
//! everything an overlay inode knows can be rebuilt from the layers and
//! the whiteout/opaque/origin tables, so dropping unused ones is safe.
//!
//! Limitations: a copy-up holds the tree lock for writing while copying
//! data, which stalls uncached lookups meanwhile; hard links between lower
//! files are broken by copy-up (each name gets its own copy); device nodes
//! cannot be copied up (the upper tmpfs refuses them).

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};

use super::vfs::DirFile;
use super::{
    Attr, DirEntry, FileOps, Inode, IoctlIo, SetAttr, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG,
};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// Size of one copy-up read/write.
const COPY_CHUNK: usize = 1 << 20;
/// Marks the inode numbers of files that exist only in the upper layer.
const UPPER_ONLY_INO: u64 = 1 << 63;
/// Longest name of a directory entry.
const NAME_MAX: usize = 255;
/// Cached child entries before dead ones are pruned.
const CHILD_CACHE_MIN: usize = 64;

fn lock<T>(m: &Mutex<T>) -> SysResult<MutexGuard<'_, T>> {
    m.lock().map_err(|_| Errno::EIO)
}

/// Checks a name for a new directory entry (as tmpfs does).
fn check_name(name: &[u8]) -> SysResult<()> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// Per upper directory: what it hides of the lower layer.
#[derive(Default)]
struct DirMeta {
    /// Lower names removed in the sandbox (and not recreated).
    whiteouts: HashSet<Vec<u8>>,
    /// No lower entry shows through at all.
    opaque: bool,
}

/// What all inodes of one overlay share.
struct OvlFs {
    dev: u64,
    /// Device of the lower root: lower inode numbers on it are used as is.
    lower_dev: u64,
    /// Write: namespace changes and copy-ups. Read: lookups and listings.
    tree: RwLock<()>,
    /// Upper directory inode number → its whiteouts and opacity.
    dirs: Mutex<HashMap<u64, DirMeta>>,
    /// Upper inode number → the overlay inode number of the file it was
    /// copied up from.
    origins: Mutex<HashMap<u64, u64>>,
}

impl OvlFs {
    /// The overlay inode number of a lower file.
    fn lower_ino(&self, a: &Attr) -> u64 {
        if a.dev == self.lower_dev {
            a.ino
        } else {
            // Another host device below the lower root: fold the device
            // into bits 48..62 (never 0, and bit 63 stays clear).
            let h = (a.dev.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 49) | 1;
            (h << 48) | (a.ino & 0xFFFF_FFFF_FFFF)
        }
    }

    fn origin(&self, upper_ino: u64) -> Option<u64> {
        self.origins.lock().ok()?.get(&upper_ino).copied()
    }

    fn is_opaque(&self, dir: u64) -> bool {
        self.dirs
            .lock()
            .map(|d| d.get(&dir).is_some_and(|m| m.opaque))
            .unwrap_or(false)
    }

    fn is_whiteout(&self, dir: u64, name: &[u8]) -> bool {
        self.dirs
            .lock()
            .map(|d| d.get(&dir).is_some_and(|m| m.whiteouts.contains(name)))
            .unwrap_or(false)
    }

    fn whiteouts(&self, dir: u64) -> SysResult<HashSet<Vec<u8>>> {
        Ok(lock(&self.dirs)?
            .get(&dir)
            .map(|m| m.whiteouts.clone())
            .unwrap_or_default())
    }

    fn set_whiteout(&self, dir: u64, name: &[u8], on: bool) -> SysResult<()> {
        let mut d = lock(&self.dirs)?;
        if on {
            d.entry(dir).or_default().whiteouts.insert(name.to_vec());
        } else if let Some(m) = d.get_mut(&dir) {
            m.whiteouts.remove(name);
            if m.whiteouts.is_empty() && !m.opaque {
                d.remove(&dir);
            }
        }
        Ok(())
    }

    /// Makes an upper directory opaque (its whiteouts are moot then).
    fn set_opaque(&self, dir: u64) -> SysResult<()> {
        let mut d = lock(&self.dirs)?;
        let m = d.entry(dir).or_default();
        m.opaque = true;
        m.whiteouts.clear();
        Ok(())
    }

    /// Forgets everything about an upper inode that no longer exists.
    fn forget(&self, upper: &Upper) {
        let gone = upper.inode.attr().map(|a| a.nlink == 0).unwrap_or(true);
        if !gone {
            return;
        }
        if let Ok(mut d) = self.dirs.lock() {
            d.remove(&upper.ino);
        }
        if let Ok(mut o) = self.origins.lock() {
            o.remove(&upper.ino);
        }
    }
}

/// An inode of the upper layer and its (upper) inode number.
#[derive(Clone)]
struct Upper {
    inode: Arc<dyn Inode>,
    ino: u64,
}

impl Upper {
    fn new(inode: Arc<dyn Inode>) -> SysResult<(Self, Attr)> {
        let a = inode.attr()?;
        Ok((Upper { inode, ino: a.ino }, a))
    }
}

/// Where an overlay inode sits in the tree.
struct Link {
    /// The directory containing it (`None` for the root).
    parent: Option<Arc<OvlInode>>,
    /// Its name there.
    name: Vec<u8>,
    /// Set once it was unlinked, removed or replaced.
    removed: bool,
}

#[derive(Default)]
struct Children {
    map: HashMap<Vec<u8>, Weak<OvlInode>>,
    /// Prune dead entries when the map reaches this size.
    prune_at: usize,
}

/// An inode of an overlay.
pub struct OvlInode {
    fs: Arc<OvlFs>,
    me: Weak<OvlInode>,
    /// File type bits (never change).
    fmt: u32,
    /// The inode number the overlay reports (never changes).
    ino: u64,
    /// The lower-layer inode, if the file came from there.
    lower: Option<Arc<dyn Inode>>,
    /// The upper-layer inode once the file exists there.
    upper: Mutex<Option<Upper>>,
    /// Set with `upper`, for a lock-free check on the read path.
    has_upper: AtomicBool,
    link: Mutex<Link>,
    /// Overlay inodes of this directory's entries that are in use.
    children: Mutex<Children>,
}

/// Builds an overlay of the read-only `lower` tree under the writable
/// `upper_root` directory (an empty tmpfs in practice), on device `dev`,
/// and returns its root directory.
pub fn new_overlay(lower: Arc<dyn Inode>, upper_root: Arc<dyn Inode>, dev: u64) -> Arc<dyn Inode> {
    let la = lower.attr().unwrap_or_default();
    // The root shows the lower root's permissions, owner and times.
    let _ = upper_root.setattr(&SetAttr {
        mode: Some(la.mode & 0o7777),
        uid: Some(la.uid),
        gid: Some(la.gid),
        atime: Some(la.atime),
        mtime: Some(la.mtime),
        size: None,
    });
    let ua = upper_root.attr().unwrap_or_default();
    let fs = Arc::new(OvlFs {
        dev,
        lower_dev: la.dev,
        tree: RwLock::new(()),
        dirs: Mutex::default(),
        origins: Mutex::default(),
    });
    if let Ok(mut o) = fs.origins.lock() {
        o.insert(ua.ino, la.ino);
    }
    // The root is never copied up: it starts with the lower root's
    // extended attributes. Best effort: a root whose attributes cannot be
    // read starts without them.
    let _ = copy_xattrs(&lower, &upper_root);
    Arc::new_cyclic(|me| OvlInode {
        fs: fs.clone(),
        me: me.clone(),
        fmt: S_IFDIR,
        ino: la.ino,
        lower: Some(lower),
        upper: Mutex::new(Some(Upper {
            inode: upper_root,
            ino: ua.ino,
        })),
        has_upper: AtomicBool::new(true),
        link: Mutex::new(Link {
            parent: None,
            name: Vec::new(),
            removed: false,
        }),
        children: Mutex::default(),
    })
}

impl OvlInode {
    /// A new overlay inode for `name` in `parent` from its layers (at least
    /// one of which is present).
    fn new_node(
        fs: &Arc<OvlFs>,
        parent: Arc<OvlInode>,
        name: &[u8],
        lower: Option<Arc<dyn Inode>>,
        upper: Option<(Upper, Attr)>,
    ) -> SysResult<Arc<Self>> {
        let (fmt, ino) = match (&upper, &lower) {
            (Some((u, a)), l) => {
                let ino = match (fs.origin(u.ino), l) {
                    (Some(o), _) => o,
                    (None, Some(l)) => fs.lower_ino(&l.attr()?),
                    (None, None) => UPPER_ONLY_INO | u.ino,
                };
                (a.mode & S_IFMT, ino)
            }
            (None, Some(l)) => {
                let a = l.attr()?;
                (a.mode & S_IFMT, fs.lower_ino(&a))
            }
            (None, None) => return Err(Errno::ENOENT),
        };
        let has_upper = upper.is_some();
        Ok(Arc::new_cyclic(|me| OvlInode {
            fs: fs.clone(),
            me: me.clone(),
            fmt,
            ino,
            lower,
            upper: Mutex::new(upper.map(|(u, _)| u)),
            has_upper: AtomicBool::new(has_upper),
            link: Mutex::new(Link {
                parent: Some(parent),
                name: name.to_vec(),
                removed: false,
            }),
            children: Mutex::default(),
        }))
    }

    fn arc(&self) -> SysResult<Arc<Self>> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    fn is_dir(&self) -> bool {
        self.fmt == S_IFDIR
    }

    fn upper(&self) -> Option<Upper> {
        self.upper.lock().ok()?.clone()
    }

    fn parent(&self) -> Option<Arc<OvlInode>> {
        self.link.lock().ok()?.parent.clone()
    }

    fn removed(&self) -> bool {
        self.link.lock().map(|l| l.removed).unwrap_or(true)
    }

    fn mark_removed(&self) {
        if let Ok(mut l) = self.link.lock() {
            l.removed = true;
        }
    }

    /// The lower directory whose entries show through this one, if any.
    fn effective_lower(&self) -> Option<Arc<dyn Inode>> {
        if let Some(u) = self.upper() {
            if self.fs.is_opaque(u.ino) {
                return None;
            }
        }
        self.lower.clone()
    }

    /// Whether the lower layer shows an entry `name` in this directory
    /// (ignoring whiteouts).
    fn lower_has(&self, name: &[u8]) -> bool {
        self.effective_lower()
            .is_some_and(|l| l.lookup(name).is_ok())
    }

    fn cached(&self, name: &[u8]) -> SysResult<Option<Arc<OvlInode>>> {
        Ok(lock(&self.children)?.map.get(name).and_then(Weak::upgrade))
    }

    /// Remembers `node` as the entry `name`, unless another live inode
    /// got there first (then that one is returned).
    fn cache(&self, name: &[u8], node: Arc<OvlInode>) -> SysResult<Arc<OvlInode>> {
        let mut c = lock(&self.children)?;
        if let Some(old) = c.map.get(name).and_then(Weak::upgrade) {
            return Ok(old);
        }
        if c.map.len() >= c.prune_at.max(CHILD_CACHE_MIN) {
            c.map.retain(|_, w| w.strong_count() > 0);
            c.prune_at = 2 * c.map.len();
        }
        c.map.insert(name.to_vec(), Arc::downgrade(&node));
        Ok(node)
    }

    /// Replaces the cached entry `name` (a namespace change made it so).
    fn set_cached(&self, name: &[u8], node: Option<&Arc<OvlInode>>) -> SysResult<()> {
        let mut c = lock(&self.children)?;
        match node {
            Some(n) => {
                c.map.insert(name.to_vec(), Arc::downgrade(n));
            }
            None => {
                c.map.remove(name);
            }
        }
        Ok(())
    }

    /// Looks `name` up; the caller holds the tree lock (either way).
    fn lookup_locked(&self, name: &[u8]) -> SysResult<Arc<OvlInode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(Errno::ENOENT);
        }
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        if let Some(c) = self.cached(name)? {
            return Ok(c);
        }
        let mut up_child: Option<(Upper, Attr)> = None;
        let mut hide_lower = false;
        if let Some(u) = self.upper() {
            match u.inode.lookup(name) {
                Ok(c) => {
                    let (cu, ca) = Upper::new(c)?;
                    hide_lower = !ca.is_dir() || self.fs.is_opaque(cu.ino);
                    up_child = Some((cu, ca));
                }
                Err(e) if e == Errno::ENOENT => hide_lower = self.fs.is_whiteout(u.ino, name),
                Err(e) => return Err(e),
            }
        }
        let mut low_child = None;
        if !hide_lower {
            if let Some(l) = self.effective_lower() {
                match l.lookup(name) {
                    Ok(c) => low_child = Some(c),
                    Err(e) if e == Errno::ENOENT || e == Errno::ENOTDIR => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if up_child.is_some() {
            // Only directories merge.
            if let Some(l) = &low_child {
                if !l.attr()?.is_dir() {
                    low_child = None;
                }
            }
        }
        if up_child.is_none() && low_child.is_none() {
            return Err(Errno::ENOENT);
        }
        let node = Self::new_node(&self.fs, self.arc()?, name, low_child, up_child)?;
        self.cache(name, node)
    }

    /// Lists the union; the caller holds the tree lock (either way).
    fn readdir_locked(&self) -> SysResult<Vec<DirEntry>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        let upper = self.upper();
        let lower_entries = match self.effective_lower() {
            Some(l) => l.readdir()?,
            None => Vec::new(),
        };
        let whiteouts = match &upper {
            Some(u) => self.fs.whiteouts(u.ino)?,
            None => HashSet::new(),
        };
        let mut out = Vec::new();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        if let Some(u) = &upper {
            let lower_dirs: HashMap<&[u8], u64> = lower_entries
                .iter()
                .filter(|e| e.dtype == libc::DT_DIR)
                .map(|e| (e.name.as_slice(), e.ino))
                .collect();
            for e in u.inode.readdir()? {
                let ino = match self.fs.origin(e.ino) {
                    Some(o) => o,
                    None => match lower_dirs.get(e.name.as_slice()) {
                        Some(&l) if e.dtype == libc::DT_DIR && !self.fs.is_opaque(e.ino) => l,
                        _ => UPPER_ONLY_INO | e.ino,
                    },
                };
                seen.insert(e.name.clone());
                out.push(DirEntry {
                    ino,
                    dtype: e.dtype,
                    name: e.name,
                });
            }
        }
        for e in lower_entries {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            if seen.contains(&e.name) || whiteouts.contains(&e.name) {
                continue;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// Makes sure this file exists in the upper layer, copying up its
    /// parent chain first. Regular files get their data unless
    /// `with_data` is false (they are about to be truncated). The caller
    /// holds the tree lock for writing.
    fn copy_up(&self, with_data: bool) -> SysResult<Upper> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        let mut chain = vec![self.arc()?];
        loop {
            let Some(p) = chain.last().and_then(|n| n.parent()) else {
                // Only the root has no parent, and it is always in the
                // upper layer.
                return Err(Errno::EIO);
            };
            if p.upper().is_some() {
                break;
            }
            chain.push(p);
        }
        if chain.iter().any(|n| n.removed()) {
            return Err(Errno::ENOENT);
        }
        let mut last = None;
        for (i, n) in chain.iter().enumerate().rev() {
            last = Some(n.copy_up_one(with_data || i != 0)?);
        }
        last.ok_or(Errno::EIO)
    }

    /// Copies this file up; its parent is already in the upper layer.
    fn copy_up_one(&self, with_data: bool) -> SysResult<Upper> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        let (parent, name) = {
            let l = lock(&self.link)?;
            (l.parent.clone().ok_or(Errno::EIO)?, l.name.clone())
        };
        let pu = parent.upper().ok_or(Errno::EIO)?;
        let lower = self.lower.clone().ok_or(Errno::EIO)?;
        let la = lower.attr()?;
        let perm = la.mode & 0o7777;
        let created = match la.mode & S_IFMT {
            S_IFDIR => pu.inode.mkdir(&name, perm, la.uid, la.gid)?,
            S_IFREG => {
                let f = pu.inode.create(&name, perm, la.uid, la.gid)?;
                if with_data {
                    if let Err(e) = copy_data(&lower, &f) {
                        let _ = pu.inode.unlink(&name);
                        return Err(e);
                    }
                }
                f
            }
            S_IFLNK => pu
                .inode
                .symlink(&name, &lower.readlink()?, la.uid, la.gid)?,
            _ => pu.inode.mknod(&name, la.mode, la.rdev, la.uid, la.gid)?,
        };
        let attrs = SetAttr {
            mode: if la.is_symlink() { None } else { Some(perm) },
            uid: Some(la.uid),
            gid: Some(la.gid),
            size: None,
            atime: Some(la.atime),
            mtime: Some(la.mtime),
        };
        if let Err(e) = created
            .setattr(&attrs)
            .and_then(|()| copy_xattrs(&lower, &created))
        {
            let _ = if la.is_dir() {
                pu.inode.rmdir(&name)
            } else {
                pu.inode.unlink(&name)
            };
            return Err(e);
        }
        let (u, _) = Upper::new(created)?;
        lock(&self.fs.origins)?.insert(u.ino, self.ino);
        *lock(&self.upper)? = Some(u.clone());
        self.has_upper.store(true, Ordering::Release);
        Ok(u)
    }

    /// Copies up this directory and everything below it, then makes all
    /// those directories opaque (they no longer need the lower layer).
    /// Costs a full copy of the lower subtree.
    fn copy_up_tree(&self) -> SysResult<()> {
        let mut stack = vec![self.arc()?];
        let mut dirs = Vec::new();
        while let Some(n) = stack.pop() {
            let u = n.copy_up(true)?;
            if !n.is_dir() {
                continue;
            }
            if n.effective_lower().is_some() {
                for e in n.readdir_locked()? {
                    stack.push(n.lookup_locked(&e.name)?);
                }
            }
            dirs.push(u.ino);
        }
        for d in dirs {
            self.fs.set_opaque(d)?;
        }
        Ok(())
    }

    /// First half of creating `name`: checks it is free and copies this
    /// directory up. Returns the upper directory and whether `name` was
    /// whited out.
    fn prepare_create(&self, name: &[u8]) -> SysResult<(Upper, bool)> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_name(name)?;
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        match self.lookup_locked(name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(e) if e == Errno::ENOENT => {}
            Err(e) => return Err(e),
        }
        let u = self.copy_up(false)?;
        let whiteout = self.fs.is_whiteout(u.ino, name);
        Ok((u, whiteout))
    }

    /// Second half of creating `name`: the upper layer has `created`.
    fn finish_create(
        &self,
        dir: &Upper,
        name: &[u8],
        created: Arc<dyn Inode>,
        whiteout: bool,
    ) -> SysResult<Arc<dyn Inode>> {
        let (u, a) = Upper::new(created)?;
        if whiteout {
            self.fs.set_whiteout(dir.ino, name, false)?;
        }
        if whiteout && a.is_dir() {
            // A directory replacing a removed lower one starts empty.
            self.fs.set_opaque(u.ino)?;
        }
        let node = Self::new_node(&self.fs, self.arc()?, name, None, Some((u, a)))?;
        self.set_cached(name, Some(&node))?;
        Ok(node)
    }

    /// True if this inode is `dir` or lies below it.
    fn is_within(self: &Arc<Self>, dir: &Arc<OvlInode>) -> bool {
        let mut cur = Some(self.clone());
        while let Some(c) = cur {
            if Arc::ptr_eq(&c, dir) {
                return true;
            }
            cur = c.parent();
        }
        false
    }

    /// The RENAME_EXCHANGE half of `rename`: `src` (entry `name` here) and
    /// `dst` (entry `new_name` of `nd`) swap places. Both are copied up
    /// (directories with their whole subtree, which then stand alone:
    /// opaque) and swapped in the upper layer. The caller holds the tree
    /// lock for writing.
    fn exchange(
        &self,
        name: &[u8],
        nd: &Arc<OvlInode>,
        new_name: &[u8],
        src: Arc<OvlInode>,
        dst: Arc<OvlInode>,
    ) -> SysResult<()> {
        let me = self.arc()?;
        if dst.is_dir() && me.is_within(&dst) {
            return Err(Errno::EINVAL);
        }
        for n in [&src, &dst] {
            if n.is_dir() {
                n.copy_up_tree()?;
            } else {
                n.copy_up(true)?;
            }
        }
        let old_dir = self.copy_up(false)?;
        let new_upper = nd.copy_up(false)?;
        old_dir
            .inode
            .rename(name, &new_upper.inode, new_name, libc::RENAME_EXCHANGE)?;
        for n in [&src, &dst] {
            if let Some(u) = n.upper() {
                if n.is_dir() {
                    self.fs.set_opaque(u.ino)?;
                }
            }
        }
        self.fs.set_whiteout(old_dir.ino, name, false)?;
        self.fs.set_whiteout(new_upper.ino, new_name, false)?;
        self.set_cached(name, Some(&dst))?;
        nd.set_cached(new_name, Some(&src))?;
        {
            let mut l = lock(&src.link)?;
            l.parent = Some(nd.clone());
            l.name = new_name.to_vec();
        }
        let mut l = lock(&dst.link)?;
        l.parent = Some(me);
        l.name = name.to_vec();
        Ok(())
    }

    /// The upper file, copied up (with its data) if need be, for an
    /// extended attribute change.
    fn copy_up_for_xattr(&self) -> SysResult<Upper> {
        let _g = self.write_lock()?;
        if self.removed() && self.upper().is_none() {
            return Err(Errno::ENOENT);
        }
        self.copy_up(true)
    }

    fn write_lock(&self) -> SysResult<std::sync::RwLockWriteGuard<'_, ()>> {
        self.fs.tree.write().map_err(|_| Errno::EIO)
    }

    fn read_lock(&self) -> SysResult<std::sync::RwLockReadGuard<'_, ()>> {
        self.fs.tree.read().map_err(|_| Errno::EIO)
    }
}

/// Copies the extended attributes of `src` (a lower file) to `dst` (its
/// new upper copy), except a host overlayfs's own `trusted.overlay.*`.
/// A lower file system without xattrs has nothing to copy; names the
/// upper cannot hold are skipped; any other failure fails the copy-up.
fn copy_xattrs(src: &Arc<dyn Inode>, dst: &Arc<dyn Inode>) -> SysResult<()> {
    let names = match src.listxattr() {
        Ok(n) => n,
        Err(e) if e == Errno::EOPNOTSUPP => return Ok(()),
        Err(e) => return Err(e),
    };
    for name in names {
        if name.starts_with(b"trusted.overlay.") {
            continue;
        }
        let value = match src.getxattr(&name) {
            Ok(v) => v,
            // Removed on the host meanwhile, or not served after all.
            Err(e) if e == Errno::ENODATA || e == Errno::EOPNOTSUPP => continue,
            Err(e) => return Err(e),
        };
        match dst.setxattr(&name, &value, 0) {
            Err(e) if e == Errno::EOPNOTSUPP => {}
            r => r?,
        }
    }
    Ok(())
}

/// Copies a lower regular file's data into the new upper file `dst`.
/// Chunks that are all zeros are skipped (left as holes).
fn copy_data(src: &Arc<dyn Inode>, dst: &Arc<dyn Inode>) -> SysResult<()> {
    let from = src.clone().open(libc::O_RDONLY as u32)?;
    let to = match dst.clone().open(libc::O_WRONLY as u32) {
        Ok(t) => t,
        Err(e) => {
            from.release();
            return Err(e);
        }
    };
    let mut buf = vec![0u8; COPY_CHUNK];
    let result = (|| {
        let mut off = 0u64;
        loop {
            let n = match from.read(&mut buf, off) {
                Ok(n) => n,
                Err(e) if e == Errno::EINTR => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            if buf[..n].iter().any(|&b| b != 0) {
                let mut done = 0;
                while done < n {
                    let w = to.write(&buf[done..n], off + done as u64)?;
                    if w == 0 {
                        return Err(Errno::EIO);
                    }
                    done += w;
                }
            }
            off += n as u64;
        }
        dst.setattr(&SetAttr {
            size: Some(off),
            ..Default::default()
        })
    })();
    from.release();
    to.release();
    result
}

impl Inode for OvlInode {
    fn attr(&self) -> SysResult<Attr> {
        let upper = self.upper();
        let mut a = match (&upper, &self.lower) {
            (Some(u), _) => u.inode.attr()?,
            (None, Some(l)) => l.attr()?,
            (None, None) => return Err(Errno::EIO),
        };
        a.dev = self.fs.dev;
        a.ino = self.ino;
        if self.removed() && (upper.is_none() || self.is_dir()) {
            a.nlink = 0;
        } else if self.is_dir()
            && self.lower.is_some()
            && upper.as_ref().is_some_and(|u| !self.fs.is_opaque(u.ino))
        {
            // A merged directory: its subdirectory count is unknown (as
            // Linux overlayfs reports it).
            a.nlink = 1;
        }
        Ok(a)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name == b"." {
            return Ok(self.arc()?);
        }
        if name == b".." {
            return Ok(self.parent().unwrap_or(self.arc()?));
        }
        if let Some(c) = self.cached(name)? {
            return Ok(c);
        }
        let _g = self.read_lock()?;
        Ok(self.lookup_locked(name)?)
    }

    fn readlink(&self) -> SysResult<Vec<u8>> {
        match (self.upper(), &self.lower) {
            (Some(u), _) => u.inode.readlink(),
            (None, Some(l)) => l.readlink(),
            (None, None) => Err(Errno::EINVAL),
        }
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        let _g = self.read_lock()?;
        self.readdir_locked()
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        let acc = flags & libc::O_ACCMODE as u32;
        let trunc = flags & libc::O_TRUNC as u32 != 0;
        let wants_write = acc != libc::O_RDONLY as u32 || trunc;
        match self.fmt {
            S_IFDIR => {
                if wants_write {
                    return Err(Errno::EISDIR);
                }
                return Ok(DirFile::new(self));
            }
            S_IFLNK => return Err(Errno::ELOOP),
            _ => {}
        }
        if flags & libc::O_DIRECTORY as u32 != 0 {
            return Err(Errno::ENOTDIR);
        }
        let needs_copy = (wants_write && self.fmt == S_IFREG) || self.fmt == S_IFIFO;
        let upper = if needs_copy {
            let _g = self.write_lock()?;
            Some(self.copy_up(!trunc)?)
        } else {
            self.upper()
        };
        let (inner, on_lower) = match (upper, &self.lower) {
            (Some(u), _) => (u.inode.open(flags)?, false),
            (None, Some(l)) => (l.clone().open(flags)?, true),
            (None, None) => return Err(Errno::EIO),
        };
        Ok(Arc::new(OvlFile {
            node: self,
            inner,
            on_lower,
            flags,
            reopened: OnceLock::new(),
        }))
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        let _g = self.write_lock()?;
        let (dir, wh) = self.prepare_create(name)?;
        let c = dir.inode.create(name, mode, uid, gid)?;
        self.finish_create(&dir, name, c, wh)
    }

    fn tmpfile(&self, mode: u32, uid: u32, gid: u32, linkable: bool) -> SysResult<Arc<dyn Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let _g = self.write_lock()?;
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        let dir = self.copy_up(false)?;
        let (u, a) = Upper::new(dir.inode.tmpfile(mode, uid, gid, linkable)?)?;
        // An unnamed file: it has a parent to be linked into, no name.
        let node = Self::new_node(&self.fs, self.arc()?, b"", None, Some((u, a)))?;
        node.mark_removed();
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        let _g = self.write_lock()?;
        let (dir, wh) = self.prepare_create(name)?;
        let c = dir.inode.mkdir(name, mode, uid, gid)?;
        self.finish_create(&dir, name, c, wh)
    }

    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> SysResult<Arc<dyn Inode>> {
        let _g = self.write_lock()?;
        let (dir, wh) = self.prepare_create(name)?;
        let c = dir.inode.mknod(name, mode, rdev, uid, gid)?;
        self.finish_create(&dir, name, c, wh)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        let _g = self.write_lock()?;
        let (dir, wh) = self.prepare_create(name)?;
        let c = dir.inode.symlink(name, target, uid, gid)?;
        self.finish_create(&dir, name, c, wh)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> SysResult<()> {
        let t = target
            .as_any()
            .downcast_ref::<OvlInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        let _g = self.write_lock()?;
        if t.removed() && t.upper().is_none() {
            return Err(Errno::ENOENT);
        }
        let (dir, wh) = self.prepare_create(name)?;
        let tu = t.copy_up(true)?;
        dir.inode.link(name, &tu.inode)?;
        self.finish_create(&dir, name, tu.inode, wh)?;
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> SysResult<()> {
        let _g = self.write_lock()?;
        let child = self.lookup_locked(name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        let in_lower = self.lower_has(name);
        let dir = if in_lower {
            Some(self.copy_up(false)?)
        } else {
            self.upper()
        };
        if let Some(cu) = child.upper() {
            let dir = dir.as_ref().ok_or(Errno::EIO)?;
            dir.inode.unlink(name)?;
            self.fs.forget(&cu);
        }
        if in_lower {
            let dir = dir.as_ref().ok_or(Errno::EIO)?;
            self.fs.set_whiteout(dir.ino, name, true)?;
        }
        child.mark_removed();
        self.set_cached(name, None)
    }

    fn rmdir(&self, name: &[u8]) -> SysResult<()> {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let _g = self.write_lock()?;
        let child = self.lookup_locked(name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !child.readdir_locked()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        let in_lower = self.lower_has(name);
        let dir = if in_lower {
            Some(self.copy_up(false)?)
        } else {
            self.upper()
        };
        if let Some(cu) = child.upper() {
            let dir = dir.as_ref().ok_or(Errno::EIO)?;
            dir.inode.rmdir(name)?;
            self.fs.forget(&cu);
        }
        if in_lower {
            let dir = dir.as_ref().ok_or(Errno::EIO)?;
            self.fs.set_whiteout(dir.ino, name, true)?;
        }
        child.mark_removed();
        self.set_cached(name, None)
    }

    fn rename(
        &self,
        name: &[u8],
        new_dir: &Arc<dyn Inode>,
        new_name: &[u8],
        flags: u32,
    ) -> SysResult<()> {
        if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let nd = new_dir
            .as_any()
            .downcast_ref::<OvlInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&nd.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        if name == b"." || name == b".." || new_name == b"." || new_name == b".." {
            return Err(Errno::EBUSY);
        }
        if !self.is_dir() || !nd.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_name(new_name)?;
        let _g = self.write_lock()?;
        let src = self.lookup_locked(name)?;
        if nd.removed() {
            return Err(Errno::ENOENT);
        }
        let dst = match nd.lookup_locked(new_name) {
            Ok(d) => Some(d),
            Err(e) if e == Errno::ENOENT => None,
            Err(e) => return Err(e),
        };
        if flags & libc::RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        if flags & libc::RENAME_EXCHANGE != 0 && dst.is_none() {
            return Err(Errno::ENOENT);
        }
        if let Some(d) = &dst {
            let same = Arc::ptr_eq(d, &src)
                || match (d.upper(), src.upper()) {
                    (Some(a), Some(b)) => a.ino == b.ino,
                    (None, None) => d.ino == src.ino,
                    _ => false,
                };
            if same {
                // Two names of one file: rename(2) does nothing.
                return Ok(());
            }
        }
        let nd_arc = nd.arc()?;
        if src.is_dir() && nd_arc.is_within(&src) {
            // Not into its own subtree.
            return Err(Errno::EINVAL);
        }
        if flags & libc::RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            return self.exchange(name, &nd_arc, new_name, src, dst);
        }
        if let Some(d) = &dst {
            if d.is_dir() && self.arc()?.is_within(d) {
                // The target contains the source.
                return Err(Errno::ENOTEMPTY);
            }
            match (src.is_dir(), d.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) => {
                    if !d.readdir_locked()?.is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                }
                (false, false) => {}
            }
        }
        // Everything checked: copy up and move within the upper layer.
        if src.is_dir() {
            src.copy_up_tree()?;
        } else {
            src.copy_up(true)?;
        }
        let old_dir = self.copy_up(false)?;
        let new_upper = nd.copy_up(false)?;
        let dst_upper = dst.as_ref().and_then(|d| d.upper());
        old_dir.inode.rename(name, &new_upper.inode, new_name, 0)?;
        if let Some(su) = src.upper() {
            if src.is_dir() {
                self.fs.set_opaque(su.ino)?;
            }
        }
        if let Some(d) = &dst {
            d.mark_removed();
            if let Some(du) = &dst_upper {
                self.fs.forget(du);
            }
        }
        if self.lower_has(name) {
            self.fs.set_whiteout(old_dir.ino, name, true)?;
        }
        self.fs.set_whiteout(new_upper.ino, new_name, false)?;
        self.set_cached(name, None)?;
        nd.set_cached(new_name, Some(&src))?;
        let mut l = lock(&src.link)?;
        l.parent = Some(nd_arc);
        l.name = new_name.to_vec();
        Ok(())
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        let u = {
            let _g = self.write_lock()?;
            if self.removed() && self.upper().is_none() {
                return Err(Errno::ENOENT);
            }
            self.copy_up(change.size != Some(0))?
        };
        u.inode.setattr(change)
    }

    fn getxattr(&self, name: &[u8]) -> SysResult<Vec<u8>> {
        match (self.upper(), &self.lower) {
            (Some(u), _) => u.inode.getxattr(name),
            (None, Some(l)) => l.getxattr(name),
            (None, None) => Err(Errno::EIO),
        }
    }

    fn listxattr(&self) -> SysResult<Vec<Vec<u8>>> {
        match (self.upper(), &self.lower) {
            (Some(u), _) => u.inode.listxattr(),
            (None, Some(l)) => l.listxattr(),
            (None, None) => Err(Errno::EIO),
        }
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> SysResult<()> {
        // Nothing to copy up for a name no layer can hold.
        super::xattr::check_storable(name)?;
        self.copy_up_for_xattr()?.inode.setxattr(name, value, flags)
    }

    fn removexattr(&self, name: &[u8]) -> SysResult<()> {
        super::xattr::check_storable(name)?;
        if self.upper().is_none() {
            if let Some(l) = &self.lower {
                // As Linux overlayfs: no copy-up to remove what is not there.
                l.getxattr(name)?;
            }
        }
        self.copy_up_for_xattr()?.inode.removexattr(name)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open non-directory of an overlay: the layer's open file, with the
/// overlay's attributes. A read-only open of a lower file switches to the
/// upper copy once the file has been copied up, so it sees later writes.
pub struct OvlFile {
    node: Arc<OvlInode>,
    inner: Arc<dyn FileOps>,
    /// `inner` is the lower file.
    on_lower: bool,
    flags: u32,
    /// The upper copy, opened read-only after a copy-up.
    reopened: OnceLock<Arc<dyn FileOps>>,
}

impl OvlFile {
    /// The file that serves operations now.
    fn cur(&self) -> &Arc<dyn FileOps> {
        if !self.on_lower {
            return &self.inner;
        }
        if let Some(r) = self.reopened.get() {
            return r;
        }
        if !self.node.has_upper.load(Ordering::Acquire) {
            return &self.inner;
        }
        if let Some(u) = self.node.upper() {
            let fl = libc::O_RDONLY as u32 | (self.flags & libc::O_NONBLOCK as u32);
            if let Ok(f) = u.inode.open(fl) {
                if let Err(f) = self.reopened.set(f) {
                    f.release();
                }
            }
        }
        self.reopened.get().unwrap_or(&self.inner)
    }
}

impl FileOps for OvlFile {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        self.cur().read(buf, off)
    }
    fn write(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        self.cur().write(buf, off)
    }
    fn seekable(&self) -> bool {
        self.inner.seekable()
    }
    fn poll(&self) -> u32 {
        self.cur().poll()
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.cur().wait_queue()
    }
    fn host_fd(&self) -> Option<RawFd> {
        self.cur().host_fd()
    }
    fn stat(&self) -> SysResult<Attr> {
        self.node.attr()
    }
    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
        self.cur().ioctl(cmd, arg, io)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn mmap_source(&self) -> bool {
        self.cur().mmap_source()
    }
    fn host_mmap_fd(&self) -> Option<RawFd> {
        self.cur().host_mmap_fd()
    }
    fn direct_io_fd(&self) -> Option<RawFd> {
        self.cur().direct_io_fd()
    }
    fn discards_writes(&self) -> bool {
        self.cur().discards_writes()
    }
    fn sync(&self, datasync: bool) -> SysResult<()> {
        self.cur().sync(datasync)
    }
    fn release(&self) {
        self.inner.release();
        if let Some(r) = self.reopened.get() {
            r.release();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::fs::tmpfs::Tmpfs;
    use crate::fs::S_IFSOCK;

    const RDONLY: u32 = libc::O_RDONLY as u32;
    const WRONLY: u32 = libc::O_WRONLY as u32;
    const RDWR: u32 = libc::O_RDWR as u32;
    const TRUNC: u32 = libc::O_TRUNC as u32;
    const OVL_DEV: u64 = 100;

    struct Fixture {
        lower: Arc<dyn Inode>,
        upper: Arc<dyn Inode>,
        root: Arc<dyn Inode>,
    }

    fn put(dir: &Arc<dyn Inode>, name: &str, data: &[u8], mode: u32) -> Arc<dyn Inode> {
        let f = dir.create(name.as_bytes(), mode, 0, 0).unwrap();
        let file = f.clone().open(WRONLY).unwrap();
        assert_eq!(file.write(data, 0).unwrap(), data.len());
        f
    }

    fn big_data() -> Vec<u8> {
        (0..(5 * COPY_CHUNK / 2) as u32)
            .map(|i| (i % 251) as u8)
            .collect()
    }

    /// lower: /etc/{hostname,passwd,hn -> hostname}, /usr/share/{doc/readme,
    /// info}, /usr/bin/tool (2.5 MiB), /d/{x,sub/y}, /empty, /fifo.
    fn fixture() -> Fixture {
        let lower = Tmpfs::new(7, 0o755, 0, 0, None);
        let etc = lower.mkdir(b"etc", 0o755, 0, 0).unwrap();
        put(&etc, "hostname", b"host\n", 0o644);
        let pw = put(&etc, "passwd", b"root:x\n", 0o600);
        pw.setattr(&SetAttr {
            uid: Some(5),
            gid: Some(6),
            mtime: Some((1000, 5)),
            ..Default::default()
        })
        .unwrap();
        etc.symlink(b"hn", b"hostname", 0, 0).unwrap();
        let usr = lower.mkdir(b"usr", 0o755, 0, 0).unwrap();
        let share = usr.mkdir(b"share", 0o755, 0, 0).unwrap();
        let doc = share.mkdir(b"doc", 0o755, 0, 0).unwrap();
        put(&doc, "readme", b"doc", 0o644);
        put(&share, "info", b"info", 0o644);
        let bin = usr.mkdir(b"bin", 0o755, 0, 0).unwrap();
        put(&bin, "tool", &big_data(), 0o755);
        let d = lower.mkdir(b"d", 0o700, 0, 0).unwrap();
        put(&d, "x", b"x", 0o644);
        let sub = d.mkdir(b"sub", 0o755, 0, 0).unwrap();
        put(&sub, "y", b"y", 0o644);
        lower.mkdir(b"empty", 0o755, 0, 0).unwrap();
        lower.mknod(b"fifo", S_IFIFO | 0o644, 0, 0, 0).unwrap();
        let upper = Tmpfs::new(9, 0o755, 0, 0, None);
        let root = new_overlay(lower.clone(), upper.clone(), OVL_DEV);
        Fixture { lower, upper, root }
    }

    fn walk(dir: &Arc<dyn Inode>, path: &str) -> SysResult<Arc<dyn Inode>> {
        let mut cur = dir.clone();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            cur = cur.lookup(c.as_bytes())?;
        }
        Ok(cur)
    }

    fn get(dir: &Arc<dyn Inode>, path: &str) -> Arc<dyn Inode> {
        walk(dir, path).unwrap()
    }

    fn err<T>(r: SysResult<T>) -> Errno {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    fn read_file(f: &Arc<dyn FileOps>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf, out.len() as u64).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn read_all(i: &Arc<dyn Inode>) -> Vec<u8> {
        read_file(&i.clone().open(RDONLY).unwrap())
    }

    fn write_at(i: &Arc<dyn Inode>, flags: u32, data: &[u8], off: u64) {
        let f = i.clone().open(flags).unwrap();
        assert_eq!(f.write(data, off).unwrap(), data.len());
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
        dir.readdir()
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect()
    }

    #[test]
    fn xattrs_read_lower_and_copy_up() {
        let fx = fixture();
        let lower_pw = get(&fx.lower, "etc/passwd");
        lower_pw.setxattr(b"user.a", b"1", 0).unwrap();
        lower_pw.setxattr(b"trusted.t", b"T", 0).unwrap();
        lower_pw
            .setxattr(b"trusted.overlay.origin", b"o", 0)
            .unwrap();
        get(&fx.lower, "etc")
            .setxattr(b"user.dir", b"d", 0)
            .unwrap();
        let r = &fx.root;
        let pw = get(r, "etc/passwd");
        // Read from the lower: nothing is copied up.
        assert_eq!(pw.getxattr(b"user.a").unwrap(), b"1");
        assert_eq!(pw.listxattr().unwrap().len(), 3);
        assert_eq!(err(pw.getxattr(b"user.none")), Errno::ENODATA);
        assert_eq!(err(pw.removexattr(b"user.none")), Errno::ENODATA);
        assert_eq!(err(pw.setxattr(b"bogus.x", b"", 0)), Errno::EOPNOTSUPP);
        assert!(fx.upper.readdir().unwrap().is_empty());
        // Setting one copies the file (and its parent) up with the lower's
        // attributes, leaving the lower file as it was.
        pw.setxattr(b"user.b", b"2", 0).unwrap();
        let up = get(&fx.upper, "etc/passwd");
        assert_eq!(
            up.listxattr().unwrap(),
            vec![
                b"trusted.t".to_vec(),
                b"user.a".to_vec(),
                b"user.b".to_vec()
            ]
        );
        assert_eq!(read_all(&up), b"root:x\n");
        assert_eq!(get(&fx.upper, "etc").getxattr(b"user.dir").unwrap(), b"d");
        assert_eq!(err(lower_pw.getxattr(b"user.b")), Errno::ENODATA);
        assert_eq!(pw.getxattr(b"user.b").unwrap(), b"2");
        pw.removexattr(b"user.a").unwrap();
        assert_eq!(err(pw.getxattr(b"user.a")), Errno::ENODATA);
        assert_eq!(lower_pw.getxattr(b"user.a").unwrap(), b"1");
        // Removing a lower-only file's attribute copies it up too.
        let lower_host = get(&fx.lower, "etc/hostname");
        lower_host.setxattr(b"user.h", b"h", 0).unwrap();
        get(r, "etc/hostname").removexattr(b"user.h").unwrap();
        assert!(get(&fx.upper, "etc/hostname")
            .listxattr()
            .unwrap()
            .is_empty());
        assert_eq!(lower_host.getxattr(b"user.h").unwrap(), b"h");
        // Symlinks keep trusted.* on copy-up; files made in the sandbox
        // have the upper's attributes only.
        get(&fx.lower, "etc/hn")
            .setxattr(b"trusted.l", b"L", 0)
            .unwrap();
        let hn = get(r, "etc/hn");
        hn.setxattr(b"trusted.m", b"M", 0).unwrap();
        assert_eq!(
            get(&fx.upper, "etc/hn").listxattr().unwrap(),
            vec![b"trusted.l".to_vec(), b"trusted.m".to_vec()]
        );
        let new = get(r, "etc").create(b"new", 0o644, 0, 0).unwrap();
        new.setxattr(b"user.n", b"", 0).unwrap();
        assert_eq!(get(&fx.upper, "etc/new").getxattr(b"user.n").unwrap(), b"");
    }

    #[test]
    fn overlay_root_starts_with_lower_root_xattrs() {
        let lower = Tmpfs::new(7, 0o755, 0, 0, None);
        lower.setxattr(b"user.root", b"r", 0).unwrap();
        let upper = Tmpfs::new(9, 0o755, 0, 0, None);
        let root = new_overlay(lower, upper, OVL_DEV);
        assert_eq!(root.getxattr(b"user.root").unwrap(), b"r");
    }

    #[test]
    fn reads_lower_through_overlay() {
        let fx = fixture();
        let r = &fx.root;
        assert_eq!(read_all(&get(r, "etc/hostname")), b"host\n");
        assert_eq!(read_all(&get(r, "usr/bin/tool")), big_data());
        assert_eq!(get(r, "etc/hn").readlink().unwrap(), b"hostname");
        assert_eq!(err(walk(r, "etc/nope")), Errno::ENOENT);
        assert_eq!(err(walk(r, "etc/hostname/x")), Errno::ENOTDIR);
        let a = get(r, "etc/passwd").attr().unwrap();
        assert_eq!(
            (a.dev, a.mode, a.uid, a.gid),
            (OVL_DEV, S_IFREG | 0o600, 5, 6)
        );
        let ra = r.attr().unwrap();
        assert!(ra.is_dir());
        assert_eq!(ra.ino, fx.lower.attr().unwrap().ino);
        // Reading copies nothing up.
        assert!(fx.upper.readdir().unwrap().is_empty());
        // One name, one overlay inode while in use.
        let a1 = get(r, "etc/hostname");
        let a2 = get(r, "etc/hostname");
        assert!(std::ptr::eq(
            a1.as_any() as *const dyn Any as *const u8,
            a2.as_any() as *const dyn Any as *const u8
        ));
        // An fstat of an open file shows the overlay's numbers.
        let st = a1.clone().open(RDONLY).unwrap().stat().unwrap();
        assert_eq!((st.dev, st.ino), (OVL_DEV, a1.attr().unwrap().ino));
    }

    #[test]
    fn write_copies_up_and_lower_is_unchanged() {
        let fx = fixture();
        let r = &fx.root;
        let f = get(r, "etc/passwd");
        let before = f.attr().unwrap();
        let ro = f.clone().open(RDONLY).unwrap();
        write_at(&f, WRONLY, b"ROOT", 0);
        assert_eq!(read_all(&f), b"ROOT:x\n");
        // The read-only descriptor opened before the copy-up sees it too.
        assert_eq!(read_file(&ro), b"ROOT:x\n");
        let after = f.attr().unwrap();
        assert_eq!(after.ino, before.ino);
        assert_eq!((after.mode, after.uid, after.gid), (before.mode, 5, 6));
        assert_eq!(after.dev, OVL_DEV);
        assert_eq!(read_all(&get(&fx.lower, "etc/passwd")), b"root:x\n");
        assert_eq!(read_all(&get(&fx.upper, "etc/passwd")), b"ROOT:x\n");
        // Only the parent chain was copied, with the lower's attributes.
        assert_eq!(names(&fx.upper), ["etc"]);
        assert_eq!(names(&get(&fx.upper, "etc")), ["passwd"]);
        assert_eq!(get(&fx.upper, "etc").attr().unwrap().mode, S_IFDIR | 0o755);
        // O_TRUNC copies up without the data.
        let h = get(r, "etc/hostname");
        write_at(&h, WRONLY | TRUNC, b"box", 0);
        assert_eq!(read_all(&h), b"box");
        assert_eq!(read_all(&get(&fx.lower, "etc/hostname")), b"host\n");
        // A big file is copied whole.
        let t = get(r, "usr/bin/tool");
        write_at(&t, RDWR, b"ZZ", 3);
        let mut want = big_data();
        want[3..5].copy_from_slice(b"ZZ");
        assert_eq!(read_all(&t), want);
        assert_eq!(read_all(&get(&fx.lower, "usr/bin/tool")), big_data());
        // After every handle is gone, a fresh lookup finds the copy.
        drop((f, h, t, ro));
        assert_eq!(read_all(&get(r, "etc/passwd")), b"ROOT:x\n");
        assert_eq!(get(r, "etc/passwd").attr().unwrap().ino, before.ino);
    }

    #[test]
    fn unlink_hides_lower_file() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        let ino = get(r, "etc/passwd").attr().unwrap().ino;
        etc.unlink(b"passwd").unwrap();
        assert_eq!(err(etc.lookup(b"passwd")), Errno::ENOENT);
        assert_eq!(names(&etc), ["hn", "hostname"]);
        assert_eq!(err(etc.unlink(b"passwd")), Errno::ENOENT);
        assert_eq!(read_all(&get(&fx.lower, "etc/passwd")), b"root:x\n");
        // Recreate: a new, empty file with its own number.
        let n = etc.create(b"passwd", 0o644, 0, 0).unwrap();
        assert_eq!(read_all(&n), b"");
        assert_ne!(n.attr().unwrap().ino, ino);
        assert_eq!(names(&etc), ["passwd", "hn", "hostname"]);
        write_at(&n, WRONLY, b"new", 0);
        assert_eq!(read_all(&get(r, "etc/passwd")), b"new");
        // Removing it again hides the lower file again.
        etc.unlink(b"passwd").unwrap();
        assert_eq!(err(etc.lookup(b"passwd")), Errno::ENOENT);
        assert_eq!(names(&etc), ["hn", "hostname"]);
        // Upper-only files just go.
        etc.create(b"tmp", 0o644, 0, 0).unwrap();
        etc.unlink(b"tmp").unwrap();
        assert_eq!(err(etc.lookup(b"tmp")), Errno::ENOENT);
        assert_eq!(names(&get(&fx.upper, "etc")), Vec::<String>::new());
        // Symlinks and directories.
        etc.unlink(b"hn").unwrap();
        assert_eq!(err(etc.lookup(b"hn")), Errno::ENOENT);
        assert_eq!(err(r.unlink(b"etc")), Errno::EISDIR);
        assert_eq!(err(etc.rmdir(b"hostname")), Errno::ENOTDIR);
    }

    #[test]
    fn rmdir_then_mkdir_is_opaque() {
        let fx = fixture();
        let r = &fx.root;
        let d = get(r, "d");
        assert_eq!(err(r.rmdir(b"d")), Errno::ENOTEMPTY);
        assert_eq!(err(d.rmdir(b"sub")), Errno::ENOTEMPTY);
        get(r, "d/sub").unlink(b"y").unwrap();
        d.rmdir(b"sub").unwrap();
        d.unlink(b"x").unwrap();
        assert!(names(&d).is_empty());
        r.rmdir(b"d").unwrap();
        assert_eq!(err(r.lookup(b"d")), Errno::ENOENT);
        assert!(!names(r).contains(&"d".to_string()));
        // The removed directory is dead: nothing comes back through it.
        assert_eq!(d.attr().unwrap().nlink, 0);
        assert_eq!(err(d.create(b"z", 0o644, 0, 0)), Errno::ENOENT);
        assert_eq!(err(d.lookup(b"x")), Errno::ENOENT);
        // A new directory of that name starts empty.
        let nd = r.mkdir(b"d", 0o755, 0, 0).unwrap();
        assert!(names(&nd).is_empty());
        assert_eq!(err(nd.lookup(b"x")), Errno::ENOENT);
        assert_eq!(err(nd.lookup(b"sub")), Errno::ENOENT);
        drop(nd);
        assert!(names(&get(r, "d")).is_empty());
        nd_create_and_list(&get(r, "d"));
        // Lower unchanged.
        assert_eq!(names(&get(&fx.lower, "d")), ["sub", "x"]);
        // An empty lower directory can go at once.
        r.rmdir(b"empty").unwrap();
        assert_eq!(err(r.lookup(b"empty")), Errno::ENOENT);
    }

    fn nd_create_and_list(d: &Arc<dyn Inode>) {
        d.create(b"x", 0o644, 0, 0).unwrap();
        assert_eq!(names(d), ["x"]);
        assert_eq!(read_all(&d.lookup(b"x").unwrap()), b"");
    }

    #[test]
    fn rename_file_across_directories() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        let f = get(r, "etc/hostname");
        let ino = f.attr().unwrap().ino;
        let dst = r.mkdir(b"var", 0o755, 0, 0).unwrap();
        etc.rename(b"hostname", &dst, b"h", 0).unwrap();
        assert_eq!(err(etc.lookup(b"hostname")), Errno::ENOENT);
        assert!(!names(&etc).contains(&"hostname".to_string()));
        assert_eq!(read_all(&get(r, "var/h")), b"host\n");
        assert_eq!(get(r, "var/h").attr().unwrap().ino, ino);
        assert_eq!(f.attr().unwrap().ino, ino);
        drop(f);
        assert_eq!(get(r, "var/h").attr().unwrap().ino, ino);
        assert_eq!(read_all(&get(&fx.lower, "etc/hostname")), b"host\n");
        // Back onto a lower name (replacing the lower file).
        dst.rename(b"h", &etc, b"passwd", 0).unwrap();
        assert_eq!(read_all(&get(r, "etc/passwd")), b"host\n");
        assert_eq!(names(&etc), ["passwd", "hn"]);
        // Renaming onto itself does nothing.
        etc.rename(b"passwd", &etc, b"passwd", 0).unwrap();
        assert_eq!(read_all(&get(r, "etc/passwd")), b"host\n");
        // A file moved over a whiteout.
        etc.unlink(b"hn").unwrap();
        etc.rename(b"passwd", &etc, b"hn", 0).unwrap();
        assert_eq!(names(&etc), ["hn"]);
        assert_eq!(read_all(&get(r, "etc/hn")), b"host\n");
    }

    #[test]
    fn rename_directory_with_children() {
        let fx = fixture();
        let r = &fx.root;
        let usr = get(r, "usr");
        let share_ino = get(r, "usr/share").attr().unwrap().ino;
        let cwd = get(r, "usr/share/doc");
        let opt = r.mkdir(b"opt", 0o755, 0, 0).unwrap();
        usr.rename(b"share", &opt, b"s", 0).unwrap();
        assert_eq!(err(usr.lookup(b"share")), Errno::ENOENT);
        assert_eq!(names(&usr), ["bin"]);
        assert_eq!(names(&get(r, "opt/s")), ["doc", "info"]);
        assert_eq!(read_all(&get(r, "opt/s/doc/readme")), b"doc");
        assert_eq!(read_all(&get(r, "opt/s/info")), b"info");
        assert_eq!(get(r, "opt/s").attr().unwrap().ino, share_ino);
        // A directory held open across the move keeps working.
        assert_eq!(names(&cwd), ["readme"]);
        cwd.create(b"new", 0o644, 0, 0).unwrap();
        assert_eq!(names(&get(r, "opt/s/doc")), ["new", "readme"]);
        // Lower unchanged.
        assert_eq!(names(&get(&fx.lower, "usr/share")), ["doc", "info"]);
        assert_eq!(names(&get(&fx.lower, "usr/share/doc")), ["readme"]);
        // A directory created in the sandbox, with children, moves too.
        let a = r.mkdir(b"a", 0o755, 0, 0).unwrap();
        let b = a.mkdir(b"b", 0o755, 0, 0).unwrap();
        put(&b, "f", b"y", 0o644);
        r.rename(b"a", &get(r, "etc"), b"c", 0).unwrap();
        assert_eq!(read_all(&get(r, "etc/c/b/f")), b"y");
        assert_eq!(err(r.lookup(b"a")), Errno::ENOENT);
        // Moving the lower /d over the removed-then-recreated... keep rules:
        // a directory moved onto a lower name whose entries were removed
        // must not show them again.
        let d = get(r, "d");
        d.unlink(b"x").unwrap();
        get(r, "d/sub").unlink(b"y").unwrap();
        d.rmdir(b"sub").unwrap();
        let e = r.mkdir(b"e", 0o755, 0, 0).unwrap();
        drop(e);
        r.rename(b"e", r, b"d", 0).unwrap();
        assert!(names(&get(r, "d")).is_empty());
        assert_eq!(err(walk(r, "d/x")), Errno::ENOENT);
    }

    #[test]
    fn tmpfile_in_a_lower_directory() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        let t = etc.tmpfile(0o600, 0, 0, true).unwrap();
        write_at(&t, WRONLY, b"tmp", 0);
        assert_eq!(t.attr().unwrap().nlink, 0);
        assert_eq!(names(&etc), ["hn", "hostname", "passwd"]);
        etc.link(b"named", &t).unwrap();
        assert_eq!(read_all(&get(r, "etc/named")), b"tmp");
        assert_eq!(
            get(r, "etc/named").attr().unwrap().ino,
            t.attr().unwrap().ino
        );
        assert_eq!(t.attr().unwrap().nlink, 1);
        assert!(walk(&fx.lower, "etc/named").is_err());
        let x = etc.tmpfile(0o600, 0, 0, false).unwrap();
        assert_eq!(err(etc.link(b"x", &x)), Errno::ENOENT);
    }

    #[test]
    fn rename_noreplace_and_exchange() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        let x = libc::RENAME_EXCHANGE;
        assert_eq!(
            err(etc.rename(b"hostname", &etc, b"passwd", libc::RENAME_NOREPLACE)),
            Errno::EEXIST
        );
        assert_eq!(
            err(etc.rename(b"hostname", &etc, b"nope", x)),
            Errno::ENOENT
        );
        etc.rename(b"hostname", &etc, b"new", libc::RENAME_NOREPLACE)
            .unwrap();
        assert_eq!(read_all(&get(r, "etc/new")), b"host\n");
        assert_eq!(err(walk(r, "etc/hostname")), Errno::ENOENT);
        // Two lower files swap (both copied up); the lower is unchanged.
        let pw_ino = get(r, "etc/passwd").attr().unwrap().ino;
        etc.rename(b"new", &etc, b"passwd", x).unwrap();
        assert_eq!(read_all(&get(r, "etc/passwd")), b"host\n");
        assert_eq!(read_all(&get(r, "etc/new")), b"root:x\n");
        assert_eq!(get(r, "etc/new").attr().unwrap().ino, pw_ino);
        assert_eq!(read_all(&get(&fx.lower, "etc/passwd")), b"root:x\n");
        // A lower directory and a lower file in another directory swap.
        let d = get(r, "d");
        r.rename(b"usr", &d, b"x", x).unwrap();
        assert!(get(r, "d/x").attr().unwrap().is_dir());
        assert_eq!(read_all(&get(r, "d/x/share/doc/readme")), b"doc");
        assert_eq!(read_all(&get(r, "usr")), b"x");
        assert_eq!(names(&get(r, "d/x")), ["bin", "share"]);
        assert!(get(&fx.lower, "usr").attr().unwrap().is_dir());
        // Not with an ancestor.
        let dx = get(r, "d/x");
        assert_eq!(err(d.rename(b"x", r, b"d", x)), Errno::EINVAL);
        assert_eq!(err(r.rename(b"d", &dx, b"share", x)), Errno::EINVAL);
        // A file onto the directory that contains it.
        let share = get(r, "d/x/share");
        assert_eq!(err(share.rename(b"info", r, b"d", 0)), Errno::ENOTEMPTY);
    }

    #[test]
    fn rename_rules() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        assert_eq!(err(etc.rename(b"nope", r, b"x", 0)), Errno::ENOENT);
        // Onto a non-empty merged or lower directory.
        assert_eq!(err(r.rename(b"empty", r, b"d", 0)), Errno::ENOTEMPTY);
        get(r, "d").create(b"up", 0o644, 0, 0).unwrap();
        assert_eq!(err(r.rename(b"empty", r, b"usr", 0)), Errno::ENOTEMPTY);
        // Type mismatches.
        assert_eq!(
            err(r.rename(b"empty", &etc, b"hostname", 0)),
            Errno::ENOTDIR
        );
        assert_eq!(err(etc.rename(b"hostname", r, b"empty", 0)), Errno::EISDIR);
        // Into its own subtree.
        let share = get(r, "usr/share");
        assert_eq!(err(r.rename(b"usr", &share, b"x", 0)), Errno::EINVAL);
        let usr = get(r, "usr");
        assert_eq!(err(r.rename(b"usr", &usr, b"x", 0)), Errno::EINVAL);
        // Other file systems.
        let other: Arc<dyn Inode> = Tmpfs::new(3, 0o755, 0, 0, None);
        assert_eq!(err(etc.rename(b"hostname", &other, b"x", 0)), Errno::EXDEV);
        assert_eq!(err(etc.rename(b".", r, b"x", 0)), Errno::EBUSY);
        // Failed renames changed nothing in the lower, and nothing visible.
        assert_eq!(names(&etc), ["hn", "hostname", "passwd"]);
        // A directory onto an empty lower one.
        let src = r.mkdir(b"src", 0o755, 0, 0).unwrap();
        put(&src, "f", b"f", 0o644);
        r.rename(b"src", r, b"empty", 0).unwrap();
        assert_eq!(names(&get(r, "empty")), ["f"]);
        assert!(names(&get(&fx.lower, "empty")).is_empty());
    }

    #[test]
    fn hard_links() {
        let fx = fixture();
        let r = &fx.root;
        let f = get(r, "etc/hostname");
        let ino = f.attr().unwrap().ino;
        let root_dir = r.mkdir(b"root", 0o700, 0, 0).unwrap();
        root_dir.link(b"hn", &f).unwrap();
        let l = get(r, "root/hn");
        assert_eq!(l.attr().unwrap().ino, ino);
        assert_eq!(f.attr().unwrap().ino, ino);
        assert_eq!(f.attr().unwrap().nlink, 2);
        write_at(&l, WRONLY, b"HOST", 0);
        assert_eq!(read_all(&f), b"HOST\n");
        assert_eq!(read_all(&get(&fx.lower, "etc/hostname")), b"host\n");
        assert_eq!(err(root_dir.link(b"hn", &f)), Errno::EEXIST);
        assert_eq!(err(root_dir.link(b"e", &get(r, "etc"))), Errno::EPERM);
        let other: Arc<dyn Inode> = Tmpfs::new(3, 0o755, 0, 0, None);
        assert_eq!(err(root_dir.link(b"o", &other)), Errno::EXDEV);
        get(r, "etc").unlink(b"hostname").unwrap();
        assert_eq!(read_all(&l), b"HOST\n");
        assert_eq!(l.attr().unwrap().nlink, 1);
        // Renaming one name onto another of the same file does nothing.
        root_dir.link(b"hn2", &l).unwrap();
        root_dir.rename(b"hn", &root_dir, b"hn2", 0).unwrap();
        assert_eq!(names(&root_dir), ["hn", "hn2"]);
    }

    #[test]
    fn setattr_copies_up() {
        let fx = fixture();
        let r = &fx.root;
        let f = get(r, "etc/passwd");
        f.setattr(&SetAttr {
            mode: Some(0o640),
            ..Default::default()
        })
        .unwrap();
        let a = f.attr().unwrap();
        assert_eq!((a.mode, a.uid, a.gid), (S_IFREG | 0o640, 5, 6));
        assert_eq!(a.mtime, (1000, 5));
        assert_eq!(read_all(&f), b"root:x\n");
        assert_eq!(
            get(&fx.lower, "etc/passwd").attr().unwrap().mode,
            S_IFREG | 0o600
        );
        // Truncation.
        let h = get(r, "etc/hostname");
        h.setattr(&SetAttr {
            size: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(read_all(&h), b"ho");
        let t = get(r, "usr/bin/tool");
        t.setattr(&SetAttr {
            size: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.attr().unwrap().size, 0);
        // Directories and symlinks.
        let etc = get(r, "etc");
        etc.setattr(&SetAttr {
            mode: Some(0o700),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(etc.attr().unwrap().mode, S_IFDIR | 0o700);
        assert_eq!(names(&etc), ["hostname", "passwd", "hn"]);
        let l = get(r, "etc/hn");
        l.setattr(&SetAttr {
            uid: Some(9),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(l.readlink().unwrap(), b"hostname");
        assert_eq!(l.attr().unwrap().uid, 9);
        assert_eq!(get(&fx.lower, "etc").attr().unwrap().mode, S_IFDIR | 0o755);
        // A FIFO is copied up to open it, and works in the sandbox.
        let p = get(r, "fifo");
        let rw = p.clone().open(RDWR).unwrap();
        rw.write(b"hi", 0).unwrap();
        let mut b = [0u8; 2];
        assert_eq!(rw.read(&mut b, 0).unwrap(), 2);
        rw.release();
        assert_eq!(p.attr().unwrap().mode, S_IFIFO | 0o644);
    }

    #[test]
    fn readdir_union_order_without_duplicates() {
        let fx = fixture();
        let r = &fx.root;
        assert_eq!(names(r), ["d", "empty", "etc", "fifo", "usr"]);
        r.create(b"zzz", 0o644, 0, 0).unwrap();
        r.create(b"aaa", 0o644, 0, 0).unwrap();
        write_at(&get(r, "etc/hostname"), WRONLY, b"H", 0);
        // Upper entries first (etc is in both layers: listed once).
        assert_eq!(names(r), ["aaa", "etc", "zzz", "d", "empty", "fifo", "usr"]);
        assert_eq!(names(&get(r, "etc")), ["hostname", "hn", "passwd"]);
        // Entry numbers agree with stat, before and after copy-up.
        for e in r.readdir().unwrap() {
            let a = r.lookup(&e.name).unwrap().attr().unwrap();
            assert_eq!(e.ino, a.ino, "{:?}", String::from_utf8_lossy(&e.name));
            assert_eq!(e.dtype, a.dtype());
        }
        for e in get(r, "etc").readdir().unwrap() {
            let a = get(r, "etc").lookup(&e.name).unwrap().attr().unwrap();
            assert_eq!(e.ino, a.ino);
        }
        // Directory handles list through the overlay.
        let f = get(r, "etc").open(RDONLY).unwrap();
        assert_eq!(f.inode().unwrap().readdir().unwrap().len(), 3);
    }

    #[test]
    fn inode_numbers_stable() {
        let fx = fixture();
        let r = &fx.root;
        let paths = [
            "etc",
            "etc/hostname",
            "etc/hn",
            "usr/share/doc/readme",
            "d/sub",
        ];
        let before: Vec<u64> = paths
            .iter()
            .map(|p| get(r, p).attr().unwrap().ino)
            .collect();
        for (p, ino) in paths.iter().zip(&before) {
            assert_eq!(get(&fx.lower, p).attr().unwrap().ino, *ino);
        }
        // Copy everything up in various ways.
        write_at(&get(r, "etc/hostname"), WRONLY, b"x", 0);
        get(r, "etc/hn")
            .setattr(&SetAttr {
                gid: Some(1),
                ..Default::default()
            })
            .unwrap();
        get(r, "usr/share/doc").create(b"n", 0o644, 0, 0).unwrap();
        get(r, "d/sub").create(b"n", 0o644, 0, 0).unwrap();
        let after: Vec<u64> = paths
            .iter()
            .map(|p| get(r, p).attr().unwrap().ino)
            .collect();
        assert_eq!(before, after);
        // Files made in the sandbox get numbers of their own.
        let n = get(r, "d/sub/n").attr().unwrap();
        assert_ne!(n.ino & UPPER_ONLY_INO, 0);
        assert_eq!(n.dev, OVL_DEV);
        let m = get(r, "usr/share/doc/n").attr().unwrap();
        assert_ne!(n.ino, m.ino);
        // Merged directories report nlink 1.
        assert_eq!(get(r, "d/sub").attr().unwrap().nlink, 1);
    }

    #[test]
    fn concurrent_copy_ups_and_lookups() {
        let fx = fixture();
        let r = fx.root.clone();
        let dir = get(&r, "usr/share/doc");
        for i in 0..16 {
            put(
                &get(&fx.lower, "usr/share/doc"),
                &format!("f{i}"),
                b"lower",
                0o644,
            );
        }
        drop(dir);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for round in 0..20 {
                        for i in 0..16 {
                            let p = format!("usr/share/doc/f{i}");
                            let f = get(&r, &p);
                            if (i + t) % 8 == 0 {
                                write_at(&f, WRONLY, b"UP", 0);
                            } else {
                                let d = read_all(&f);
                                assert!(d == b"lower" || d == b"UPwer", "{d:?}");
                            }
                            if round % 5 == 0 {
                                assert_eq!(get(&r, "usr/share/doc").readdir().unwrap().len(), 17);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for i in 0..16 {
            assert_eq!(read_all(&get(&r, &format!("usr/share/doc/f{i}"))), b"UPwer");
            assert_eq!(
                read_all(&get(&fx.lower, &format!("usr/share/doc/f{i}"))),
                b"lower"
            );
        }
    }

    #[test]
    fn create_rules() {
        let fx = fixture();
        let r = &fx.root;
        let etc = get(r, "etc");
        assert_eq!(err(etc.create(b"hostname", 0o644, 0, 0)), Errno::EEXIST);
        assert_eq!(err(etc.mkdir(b"hn", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(err(r.mkdir(b"usr", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(err(etc.create(b"a/b", 0o644, 0, 0)), Errno::EINVAL);
        assert_eq!(err(etc.mkdir(b".", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(
            err(get(r, "etc/hostname").create(b"x", 0o644, 0, 0)),
            Errno::ENOTDIR
        );
        // Creating deep inside lower-only directories copies the chain up.
        let doc = get(r, "usr/share/doc");
        doc.symlink(b"l", b"readme", 1, 2).unwrap();
        assert_eq!(get(r, "usr/share/doc/l").readlink().unwrap(), b"readme");
        assert_eq!(names(&doc), ["l", "readme"]);
        assert_eq!(names(&get(&fx.upper, "usr/share/doc")), ["l"]);
        assert_eq!(names(&get(&fx.upper, "usr/share")), ["doc"]);
        // A file replaced by a directory.
        etc.unlink(b"passwd").unwrap();
        let pd = etc.mkdir(b"passwd", 0o755, 0, 0).unwrap();
        assert!(pd.attr().unwrap().is_dir());
        assert!(names(&pd).is_empty());
        assert!(get(r, "etc/passwd").attr().unwrap().is_dir());
        etc.rmdir(b"passwd").unwrap();
        assert_eq!(err(etc.lookup(b"passwd")), Errno::ENOENT);
        assert_eq!(names(&etc), ["hn", "hostname"]);
        // mknod.
        let s = etc.mknod(b"sock", S_IFSOCK | 0o600, 0, 0, 0).unwrap();
        assert_eq!(s.attr().unwrap().mode, S_IFSOCK | 0o600);
    }
}
