//! The virtual file system: dentries, mounts and path resolution, all done
//! in the sentry. File systems only answer one-component lookups; symlinks,
//! `..`, mount crossing and ELOOP are decided here.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::{Attr, DirEntry, FileOps, Inode};
use crate::{Errno, SysResult};

/// Longest path accepted from the workload (PATH_MAX).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed in one resolution before ELOOP (Linux: 40).
pub const MAX_SYMLINKS: u32 = 40;

static NEXT_MOUNT_ID: AtomicU64 = AtomicU64::new(1);

/// A name in the tree: an inode reached by a name from a parent.
pub struct Dentry {
    /// The inode.
    pub inode: Arc<dyn Inode>,
    /// The name it was reached by (empty for a mount root).
    pub name: Vec<u8>,
    /// The parent within the same mount; `None` for a mount root.
    pub parent: Option<Arc<Dentry>>,
    /// Never in the directory under `name` (an O_TMPFILE file): paths of
    /// it read "… (deleted)".
    pub unnamed: bool,
}

impl Dentry {
    /// A new dentry.
    pub fn new(inode: Arc<dyn Inode>, name: Vec<u8>, parent: Option<Arc<Dentry>>) -> Arc<Self> {
        Arc::new(Dentry {
            inode,
            name,
            parent,
            unnamed: false,
        })
    }

    /// A dentry for an inode that has no name in `parent` (O_TMPFILE):
    /// `name` is only what paths of it show.
    pub fn unnamed(inode: Arc<dyn Inode>, name: Vec<u8>, parent: Arc<Dentry>) -> Arc<Self> {
        Arc::new(Dentry {
            inode,
            name,
            parent: Some(parent),
            unnamed: true,
        })
    }
}

/// A mounted file system.
pub struct Mount {
    /// Unique id (also /proc/PID/mountinfo's).
    pub id: u64,
    /// The file system's root.
    pub root: Arc<Dentry>,
    /// Where it is mounted: (parent location, (dev, ino) of the mountpoint).
    pub mountpoint: Option<(Location, (u64, u64))>,
    /// File system type name ("tmpfs", "proc", …).
    pub fstype: String,
    /// Mount source ("none", the host path…).
    pub source: String,
    /// Mounted read-only.
    pub readonly: bool,
}

/// A position in the tree: a dentry in a mount.
#[derive(Clone)]
pub struct Location {
    /// The mount.
    pub mount: Arc<Mount>,
    /// The dentry in it.
    pub dentry: Arc<Dentry>,
}

impl Location {
    /// Same mount and same dentry object.
    pub fn same(&self, other: &Location) -> bool {
        self.mount.id == other.mount.id && Arc::ptr_eq(&self.dentry, &other.dentry)
    }
    /// Attributes of the inode.
    pub fn attr(&self) -> SysResult<Attr> {
        self.dentry.inode.attr()
    }
}

/// The mount table.
#[derive(Default)]
pub struct Vfs {
    mounts: RwLock<Vec<Arc<Mount>>>,
}

/// Splits a path into its components, dropping empty ones.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl Vfs {
    /// An empty mount table.
    pub fn new() -> Arc<Self> {
        Arc::new(Vfs::default())
    }

    /// Mounts `root` as the root file system.
    pub fn mount_root(
        &self,
        root: Arc<dyn Inode>,
        fstype: &str,
        source: &str,
        readonly: bool,
    ) -> Location {
        let m = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new(root, Vec::new(), None),
            mountpoint: None,
            fstype: fstype.into(),
            source: source.into(),
            readonly,
        });
        if let Ok(mut v) = self.mounts.write() {
            v.push(m.clone());
        }
        Location {
            dentry: m.root.clone(),
            mount: m,
        }
    }

    /// Mounts `root` at `at` (a directory over a directory, a file over a
    /// non-directory).
    pub fn mount_at(
        &self,
        at: &Location,
        root: Arc<dyn Inode>,
        fstype: &str,
        source: &str,
        readonly: bool,
    ) -> SysResult<()> {
        let a = at.attr()?;
        // Like a bind mount on Linux: a directory only over a directory, a
        // non-directory only over a non-directory.
        let root_is_dir = root.attr()?.is_dir();
        if a.is_dir() != root_is_dir {
            return Err(if root_is_dir {
                Errno::ENOTDIR
            } else {
                Errno::EISDIR
            });
        }
        let m = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new(root, Vec::new(), None),
            mountpoint: Some((at.clone(), (a.dev, a.ino))),
            fstype: fstype.into(),
            source: source.into(),
            readonly,
        });
        self.mounts.write().map_err(|_| Errno::EIO)?.push(m);
        Ok(())
    }

    /// Removes the mount `at` is the root of. Without `detach`, a mount
    /// still in use (an open file, a working directory, a mount on top of
    /// it) is EBUSY; with it, the mount and everything mounted below it
    /// leave the tree at once and go away when their last user does.
    pub fn unmount(&self, at: &Location, detach: bool) -> SysResult<()> {
        let m = &at.mount;
        if m.mountpoint.is_none() || !Arc::ptr_eq(&at.dentry, &m.root) {
            return Err(Errno::EINVAL);
        }
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        let mut gone = vec![m.id];
        let mut i = 0;
        while i < gone.len() {
            let parent = gone[i];
            for c in v.iter() {
                if matches!(&c.mountpoint, Some((p, _)) if p.mount.id == parent)
                    && !gone.contains(&c.id)
                {
                    gone.push(c.id);
                }
            }
            i += 1;
        }
        // Users of the mount: the table, the caller's location, and anyone
        // else (open files, cwds, roots, mounts stacked on it).
        if !detach && (gone.len() > 1 || Arc::strong_count(m) > 2) {
            return Err(Errno::EBUSY);
        }
        v.retain(|x| !gone.contains(&x.id));
        Ok(())
    }

    /// Every mount, in mount order.
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        self.mounts.read().map(|v| v.clone()).unwrap_or_default()
    }

    /// If a file system is mounted on `loc`, the root of the topmost one.
    fn cross_mounts(&self, mut loc: Location) -> Location {
        for _ in 0..16 {
            let Ok(a) = loc.attr() else { return loc };
            let found = self.mounts.read().ok().and_then(|v| {
                v.iter()
                    .rev()
                    .find(|m| matches!(&m.mountpoint, Some((p, id)) if p.mount.id == loc.mount.id && *id == (a.dev, a.ino)))
                    .cloned()
            });
            match found {
                Some(m) => {
                    loc = Location {
                        dentry: m.root.clone(),
                        mount: m,
                    }
                }
                None => return loc,
            }
        }
        loc
    }

    /// The parent of `loc`, not going above `root`.
    pub fn parent(&self, loc: &Location, root: &Location) -> Location {
        let mut cur = loc.clone();
        loop {
            if cur.same(root) {
                return cur;
            }
            if let Some(p) = &cur.dentry.parent {
                return Location {
                    mount: cur.mount.clone(),
                    dentry: p.clone(),
                };
            }
            // At a mount root: continue from the mountpoint.
            match &cur.mount.mountpoint {
                Some((p, _)) => cur = p.clone(),
                None => return cur,
            }
        }
    }

    /// Looks up one component `name` in directory `dir` (no "." / "..").
    pub fn lookup_child(&self, dir: &Location, name: &[u8]) -> SysResult<Location> {
        let inode = dir.dentry.inode.lookup(name)?;
        let child = Location {
            mount: dir.mount.clone(),
            dentry: Dentry::new(inode, name.to_vec(), Some(dir.dentry.clone())),
        };
        Ok(self.cross_mounts(child))
    }

    /// Resolves `path` starting at `start` (for relative paths) or `root`
    /// (absolute), following symlinks, and the last component's symlink
    /// only when `follow_last`.
    pub fn resolve(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
        follow_last: bool,
    ) -> SysResult<Location> {
        self.resolve_with(root, start, path, follow_last, &|_| true)
    }

    /// [`Vfs::resolve`] for a caller whose search permission is checked:
    /// every directory the walk looks a name up in must pass `may_search`
    /// (execute permission for the caller's credentials), else EACCES.
    pub fn resolve_with(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
        follow_last: bool,
        may_search: &dyn Fn(&Attr) -> bool,
    ) -> SysResult<Location> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let must_be_dir = path.ends_with(b"/");
        let mut cur = if path[0] == b'/' {
            root.clone()
        } else {
            start.clone()
        };
        let mut comps: VecDeque<Vec<u8>> = components(path).map(|c| c.to_vec()).collect();
        let mut links = 0u32;
        while let Some(c) = comps.pop_front() {
            if c.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            let dir_attr = cur.attr()?;
            if !dir_attr.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if !may_search(&dir_attr) {
                return Err(Errno::EACCES);
            }
            if c == b"." {
                continue;
            }
            if c == b".." {
                cur = self.parent(&cur, root);
                continue;
            }
            let child = self.lookup_child(&cur, &c)?;
            let last = comps.is_empty();
            if (!last || follow_last || must_be_dir) && child.attr()?.is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if let Some(target) = child.dentry.inode.magic_link() {
                    cur = target;
                    continue;
                }
                let target = child.dentry.inode.readlink()?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
                    cur = root.clone();
                }
                for t in components(&target).collect::<Vec<_>>().into_iter().rev() {
                    comps.push_front(t.to_vec());
                }
                continue;
            }
            cur = child;
        }
        if must_be_dir && !cur.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Resolves all but the last component: returns (parent dir, last name).
    /// The name is "." for paths like "/" or "a/..".
    pub fn resolve_parent(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
    ) -> SysResult<(Location, Vec<u8>)> {
        self.resolve_parent_with(root, start, path, &|_| true)
    }

    /// [`Vfs::resolve_parent`] with search permission checked (see
    /// [`Vfs::resolve_with`]).
    pub fn resolve_parent_with(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
        may_search: &dyn Fn(&Attr) -> bool,
    ) -> SysResult<(Location, Vec<u8>)> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let trimmed = {
            let mut p = path;
            while p.len() > 1 && p.ends_with(b"/") {
                p = &p[..p.len() - 1];
            }
            p
        };
        let searchable = |dir: Location| -> SysResult<Location> {
            let a = dir.attr()?;
            if a.is_dir() && !may_search(&a) {
                return Err(Errno::EACCES);
            }
            Ok(dir)
        };
        match trimmed.iter().rposition(|&b| b == b'/') {
            None => Ok((searchable(start.clone())?, trimmed.to_vec())),
            Some(i) => {
                let dir = if i == 0 { &trimmed[..1] } else { &trimmed[..i] };
                let name = &trimmed[i + 1..];
                let parent = searchable(self.resolve_with(root, start, dir, true, may_search)?)?;
                let name = if name.is_empty() {
                    b".".to_vec()
                } else {
                    name.to_vec()
                };
                Ok((parent, name))
            }
        }
    }

    /// The absolute path of `loc` as seen from `root` (getcwd, /proc links).
    pub fn path_of(&self, loc: &Location, root: &Location) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                break;
            }
            if let Some(p) = &cur.dentry.parent {
                parts.push(cur.dentry.name.clone());
                cur = Location {
                    mount: cur.mount.clone(),
                    dentry: p.clone(),
                };
                continue;
            }
            match &cur.mount.mountpoint {
                Some((p, _)) => cur = p.clone(),
                None => break,
            }
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }
}

/// The open-file face of a directory: read fails with EISDIR; getdents64
/// lists the inode.
pub struct DirFile {
    inode: Arc<dyn Inode>,
}

impl DirFile {
    /// Wraps a directory inode.
    pub fn new(inode: Arc<dyn Inode>) -> Arc<Self> {
        Arc::new(DirFile { inode })
    }
}

impl FileOps for DirFile {
    fn read(&self, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EISDIR)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn stat(&self) -> SysResult<Attr> {
        self.inode.attr()
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.inode.clone())
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Lists a directory for getdents64: "." and ".." first, then the entries.
pub fn list_with_dots(loc: &Location, inode: &Arc<dyn Inode>) -> SysResult<Vec<DirEntry>> {
    let a = inode.attr()?;
    let mut v = vec![
        DirEntry {
            ino: a.ino,
            dtype: libc::DT_DIR,
            name: b".".to_vec(),
        },
        DirEntry {
            ino: a.ino,
            dtype: libc::DT_DIR,
            name: b"..".to_vec(),
        },
    ];
    let _ = loc;
    v.extend(inode.readdir()?);
    Ok(v)
}
