//! The virtual file system: dentries, mounts and path resolution, all done
//! in the sentry. File systems only answer one-component lookups; symlinks,
//! `..`, mount crossing and ELOOP are decided here.

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// What every mount of one file system instance shares (the parts of
/// Linux's `super_block` the sandbox keeps): the instance's read-only
/// state and how many files are open for writing on it.
pub struct SuperBlock {
    readonly: AtomicBool,
    writers: AtomicUsize,
}

impl SuperBlock {
    /// A new instance, read-only or not.
    pub fn new(readonly: bool) -> Arc<Self> {
        Arc::new(SuperBlock {
            readonly: AtomicBool::new(readonly),
            writers: AtomicUsize::new(0),
        })
    }
    /// The file system instance is read-only (SB_RDONLY).
    pub fn is_readonly(&self) -> bool {
        self.readonly.load(Ordering::SeqCst)
    }
    /// Regular files open for writing through any mount of the instance.
    pub fn writers(&self) -> usize {
        self.writers.load(Ordering::SeqCst)
    }
}

/// Where a mount is attached: the location it covers in its parent mount
/// and that location's (dev, ino), by which path walks find the mount.
pub type MountPoint = (Location, (u64, u64));

/// A mounted file system.
pub struct Mount {
    /// Unique id (also /proc/PID/mountinfo's).
    pub id: u64,
    /// The file system's root.
    pub root: Arc<Dentry>,
    /// Where it is mounted; `None` for the sandbox's root (and mounts
    /// outside every tree). Changed only with the mount table locked.
    mountpoint: RwLock<Option<MountPoint>>,
    /// File system type name ("tmpfs", "proc", …).
    pub fstype: String,
    /// Mount source ("none", the host path…).
    pub source: String,
    /// The file system instance, shared by bind mounts of it.
    pub sb: Arc<SuperBlock>,
    /// This mount is read-only (MNT_READONLY), whatever the instance is.
    readonly: AtomicBool,
    /// Regular files open for writing through this mount.
    writers: AtomicUsize,
    /// MS_NOSUID, MS_NODEV and MS_NOEXEC of this mount.
    flags: AtomicU64,
}

/// The per-mount flags kept besides MS_RDONLY.
pub const MOUNT_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;

impl Mount {
    /// A mount of `root` (on instance `sb`) attached at `mountpoint`.
    pub fn new(
        root: Arc<Dentry>,
        mountpoint: Option<MountPoint>,
        fstype: &str,
        source: &str,
        sb: Arc<SuperBlock>,
        readonly: bool,
    ) -> Arc<Self> {
        Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root,
            mountpoint: RwLock::new(mountpoint),
            fstype: fstype.into(),
            source: source.into(),
            sb,
            readonly: AtomicBool::new(readonly),
            writers: AtomicUsize::new(0),
            flags: AtomicU64::new(0),
        })
    }

    /// A mount that is in no table and never will be, with id 0 (the home
    /// of files that have no path, for /proc/PID/fd).
    pub fn outside(root: Arc<Dentry>, fstype: &str) -> Arc<Self> {
        Arc::new(Mount {
            id: 0,
            root,
            mountpoint: RwLock::new(None),
            fstype: fstype.into(),
            source: fstype.into(),
            sb: SuperBlock::new(false),
            readonly: AtomicBool::new(false),
            writers: AtomicUsize::new(0),
            flags: AtomicU64::new(0),
        })
    }

    /// Where the mount is attached (`None` for the root).
    pub fn mountpoint(&self) -> Option<MountPoint> {
        self.mountpoint.read().ok().and_then(|m| m.clone())
    }

    /// The id of the mount this one is attached to.
    pub fn parent_id(&self) -> Option<u64> {
        self.mountpoint
            .read()
            .ok()
            .and_then(|m| m.as_ref().map(|(p, _)| p.mount.id))
    }

    fn set_mountpoint(&self, mp: Option<MountPoint>) {
        if let Ok(mut m) = self.mountpoint.write() {
            *m = mp;
        }
    }

    /// Writes through this mount fail with EROFS: the mount or its file
    /// system instance is read-only.
    pub fn is_readonly(&self) -> bool {
        self.readonly.load(Ordering::SeqCst) || self.sb.is_readonly()
    }

    /// Its MS_NOSUID/MS_NODEV/MS_NOEXEC flags.
    pub fn flags(&self) -> u64 {
        self.flags.load(Ordering::SeqCst)
    }

    /// Replaces its MS_NOSUID/MS_NODEV/MS_NOEXEC flags (other bits are
    /// ignored).
    pub fn set_flags(&self, flags: u64) {
        self.flags.store(flags & MOUNT_FLAGS, Ordering::SeqCst);
    }

    /// Set-user-id and set-group-id bits are ignored by execve here.
    pub fn nosuid(&self) -> bool {
        self.flags() & libc::MS_NOSUID != 0
    }

    /// Programs may not be executed (nor files mapped executable) here.
    pub fn noexec(&self) -> bool {
        self.flags() & libc::MS_NOEXEC != 0
    }

    /// Device files may not be opened here.
    pub fn nodev(&self) -> bool {
        self.flags() & libc::MS_NODEV != 0
    }

    /// The mount's own read-only flag (MNT_READONLY).
    pub fn mount_readonly(&self) -> bool {
        self.readonly.load(Ordering::SeqCst)
    }

    /// Takes write access for a regular file opened for writing (Linux's
    /// `mnt_want_write` held by an open file): EROFS on a read-only mount.
    /// Counted first and checked second, so a concurrent remount either
    /// sees the writer (EBUSY) or the writer sees the read-only state.
    pub fn get_write(&self) -> SysResult<()> {
        self.writers.fetch_add(1, Ordering::SeqCst);
        self.sb.writers.fetch_add(1, Ordering::SeqCst);
        if self.is_readonly() {
            self.put_write();
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// Gives back what [`Mount::get_write`] took.
    pub fn put_write(&self) {
        self.writers.fetch_sub(1, Ordering::SeqCst);
        self.sb.writers.fetch_sub(1, Ordering::SeqCst);
    }
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

/// Most mounts the table holds (Linux's default `fs.mount-max`): more is
/// ENOSPC.
pub const MAX_MOUNTS: usize = 100_000;

/// `m` is in the table (Linux's `check_mnt`): not unmounted.
fn attached(table: &[Arc<Mount>], m: &Mount) -> bool {
    table.iter().any(|x| x.id == m.id)
}

/// A new mount of `m`'s file system instance showing `root`, with `m`'s
/// read-only and other per-mount flags (Linux's `clone_mnt`).
fn clone_mount(m: &Mount, root: Arc<dyn Inode>, mountpoint: Option<MountPoint>) -> Arc<Mount> {
    let c = Mount::new(
        Dentry::new(root, Vec::new(), None),
        mountpoint,
        &m.fstype,
        &m.source,
        m.sb.clone(),
        m.mount_readonly(),
    );
    c.set_flags(m.flags());
    c
}

/// The same inode: the same dentry, or the same (dev, ino).
fn same_inode(a: &Arc<Dentry>, b: &Arc<Dentry>) -> bool {
    if Arc::ptr_eq(a, b) || Arc::ptr_eq(&a.inode, &b.inode) {
        return true;
    }
    match (a.inode.attr(), b.inode.attr()) {
        (Ok(x), Ok(y)) => (x.dev, x.ino) == (y.dev, y.ino),
        _ => false,
    }
}

/// Names and inodes of a path down from some directory, outermost first.
type Chain = Vec<(Vec<u8>, Arc<dyn Inode>)>;

/// The chain leading from `base` down to `d` (both in one mount); `None`
/// when `d` is not at or below `base`.
fn chain_below(d: &Arc<Dentry>, base: &Arc<Dentry>) -> Option<Chain> {
    let mut chain = Vec::new();
    let mut cur = d.clone();
    for _ in 0..PATH_MAX {
        if same_inode(&cur, base) {
            chain.reverse();
            return Some(chain);
        }
        let parent = cur.parent.clone()?;
        chain.push((cur.name.clone(), cur.inode.clone()));
        cur = parent;
    }
    None
}

/// Dentries for `chain` below `root`; the last one.
fn rebuild(root: &Arc<Dentry>, chain: Chain) -> Arc<Dentry> {
    let mut cur = root.clone();
    for (name, inode) in chain {
        cur = Dentry::new(inode, name, Some(cur));
    }
    cur
}

/// [`Vfs::cross_mounts`] with the table already locked.
fn cross_in(table: &[Arc<Mount>], mut loc: Location) -> Location {
    for _ in 0..16 {
        let Ok(a) = loc.attr() else { return loc };
        let found = table
            .iter()
            .rev()
            .find(|m| {
                m.mountpoint
                    .read()
                    .map(|mp| {
                        matches!(&*mp, Some((p, id)) if p.mount.id == loc.mount.id && *id == (a.dev, a.ino))
                    })
                    .unwrap_or(false)
            })
            .cloned();
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

/// Linux's `is_path_reachable`: going up from `loc` through mountpoints
/// reaches `root`'s mount at or below `root`.
fn reachable(loc: &Location, root: &Location) -> bool {
    let mut cur = loc.clone();
    for _ in 0..=MAX_MOUNTS {
        if cur.mount.id == root.mount.id {
            return chain_below(&cur.dentry, &root.dentry).is_some();
        }
        match cur.mount.mountpoint() {
            Some((p, _)) => cur = p,
            None => return false,
        }
    }
    false
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
        let m = Mount::new(
            Dentry::new(root, Vec::new(), None),
            None,
            fstype,
            source,
            SuperBlock::new(readonly),
            readonly,
        );
        if let Ok(mut v) = self.mounts.write() {
            v.push(m.clone());
        }
        Location {
            dentry: m.root.clone(),
            mount: m,
        }
    }

    /// Mounts a new file system instance with root `root` at `at` (a
    /// directory over a directory, a file over a non-directory);
    /// `readonly` makes both the instance and the mount read-only.
    pub fn mount_at(
        &self,
        at: &Location,
        root: Arc<dyn Inode>,
        fstype: &str,
        source: &str,
        readonly: bool,
    ) -> SysResult<()> {
        self.mount_at_with_flags(at, root, fstype, source, readonly, 0)
    }

    /// [`Vfs::mount_at`] with MS_NOSUID/MS_NODEV/MS_NOEXEC `flags`.
    pub fn mount_at_with_flags(
        &self,
        at: &Location,
        root: Arc<dyn Inode>,
        fstype: &str,
        source: &str,
        readonly: bool,
        flags: u64,
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
        let m = Mount::new(
            Dentry::new(root, Vec::new(), None),
            Some((at.clone(), (a.dev, a.ino))),
            fstype,
            source,
            SuperBlock::new(readonly),
            readonly,
        );
        m.set_flags(flags);
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        if v.len() >= MAX_MOUNTS {
            return Err(Errno::ENOSPC);
        }
        v.push(m);
        Ok(())
    }

    /// A bind mount: what `from` shows (and, with `recursive`, copies of
    /// the mounts below it at the corresponding places) appears at `at`.
    /// The copies share their file system instances and keep their own
    /// read-only flags. Both places must be in the mount table (EINVAL);
    /// a directory goes only over a directory and a non-directory only
    /// over a non-directory (ENOTDIR).
    pub fn bind_at(&self, at: &Location, from: &Location, recursive: bool) -> SysResult<()> {
        let a = at.attr()?;
        let from_dir = from.attr()?.is_dir();
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        if !attached(&v, &at.mount) || !attached(&v, &from.mount) {
            return Err(Errno::EINVAL);
        }
        if a.is_dir() != from_dir {
            return Err(Errno::ENOTDIR);
        }
        let top = clone_mount(
            &from.mount,
            from.dentry.inode.clone(),
            Some((at.clone(), (a.dev, a.ino))),
        );
        let mut new = vec![top.clone()];
        if recursive {
            // Depth first in mount order, as Linux's copy_tree: a copy's
            // parent is copied before it, mounts stacked at one place keep
            // their order, and the new ids follow Linux's.
            let children = |m: &Mount| -> Vec<Arc<Mount>> {
                let mut c: Vec<_> = v
                    .iter()
                    .filter(|c| c.parent_id() == Some(m.id))
                    .cloned()
                    .collect();
                c.reverse();
                c
            };
            // (children of an original still to copy, last first; its
            // copy; the dentry of the original the copy shows)
            let mut stack = vec![(children(&from.mount), top, from.dentry.clone())];
            while let Some((todo, copy, base)) = stack.last_mut() {
                let Some(c) = todo.pop() else {
                    stack.pop();
                    continue;
                };
                let Some((mp, key)) = c.mountpoint() else {
                    continue;
                };
                let Some(chain) = chain_below(&mp.dentry, base) else {
                    continue;
                };
                if v.len() + new.len() >= MAX_MOUNTS {
                    return Err(Errno::ENOSPC);
                }
                let place = Location {
                    dentry: rebuild(&copy.root, chain),
                    mount: copy.clone(),
                };
                let cc = clone_mount(&c, c.root.inode.clone(), Some((place, key)));
                new.push(cc.clone());
                stack.push((children(&c), cc, c.root.clone()));
            }
        }
        if v.len() + new.len() > MAX_MOUNTS {
            return Err(Errno::ENOSPC);
        }
        v.extend(new);
        Ok(())
    }

    /// EINVAL unless `at` is the root of a mount in the table (what
    /// remounts and propagation changes act on).
    pub fn check_mount_root(&self, at: &Location) -> SysResult<()> {
        let v = self.mounts.read().map_err(|_| Errno::EIO)?;
        if !attached(&v, &at.mount) || !Arc::ptr_eq(&at.dentry, &at.mount.root) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Sets the read-only and the MS_NOSUID/NODEV/NOEXEC flags of the mount
    /// `at` is the root of (a bind remount). Making it read-only while files are open for writing
    /// through it is EBUSY; the file system instance is left as it is.
    pub fn remount_mount(&self, at: &Location, readonly: bool, flags: u64) -> SysResult<()> {
        self.check_mount_root(at)?;
        let _serial = self.mounts.write().map_err(|_| Errno::EIO)?;
        let m = &at.mount;
        m.set_flags(flags);
        if readonly && !m.is_readonly() {
            m.readonly.store(true, Ordering::SeqCst);
            if m.writers.load(Ordering::SeqCst) > 0 {
                m.readonly.store(false, Ordering::SeqCst);
                return Err(Errno::EBUSY);
            }
        }
        m.readonly.store(readonly, Ordering::SeqCst);
        Ok(())
    }

    /// Reconfigures the file system instance of the mount `at` is the
    /// root of, as a plain remount does (Linux's `reconfigure_super`):
    /// `sb_readonly` is the instance's new state, `mnt_readonly` the
    /// mount's. Going read-write on a `backing_readonly` instance is
    /// EACCES; going read-only while files are open for writing on it,
    /// or while `busy` (unlinked files still open), is EBUSY;
    /// `reconfigure` applies the file system's own options and may fail,
    /// which undoes the read-only change.
    pub fn remount_super(
        &self,
        at: &Location,
        sb_readonly: bool,
        mnt_readonly: bool,
        backing_readonly: bool,
        busy: bool,
        reconfigure: &mut dyn FnMut() -> SysResult<()>,
    ) -> SysResult<()> {
        self.check_mount_root(at)?;
        let _serial = self.mounts.write().map_err(|_| Errno::EIO)?;
        let sb = &at.mount.sb;
        let was = sb.is_readonly();
        if !sb_readonly && was && backing_readonly {
            return Err(Errno::EACCES);
        }
        if sb_readonly && !was {
            sb.readonly.store(true, Ordering::SeqCst);
            if busy || sb.writers() > 0 {
                sb.readonly.store(false, Ordering::SeqCst);
                return Err(Errno::EBUSY);
            }
        }
        if let Err(e) = reconfigure() {
            sb.readonly.store(was, Ordering::SeqCst);
            return Err(e);
        }
        sb.readonly.store(sb_readonly, Ordering::SeqCst);
        at.mount.readonly.store(mnt_readonly, Ordering::SeqCst);
        Ok(())
    }

    /// Moves the mount `from` is the root of (with everything mounted
    /// below it) to `to`, as MS_MOVE does. EINVAL when `from` is not a
    /// mount root, either place is outside the table or one is a
    /// directory and the other not; ELOOP when `to` is inside the mount
    /// being moved (which includes moving the root).
    pub fn move_mount(&self, from: &Location, to: &Location) -> SysResult<()> {
        let a = to.attr()?;
        let from_dir = from.attr()?.is_dir();
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        let m = from.mount.clone();
        if !attached(&v, &m) || !attached(&v, &to.mount) {
            return Err(Errno::EINVAL);
        }
        if !Arc::ptr_eq(&from.dentry, &m.root) || a.is_dir() != from_dir {
            return Err(Errno::EINVAL);
        }
        // The root is attached too (to an invisible rootfs, as a
        // container's root is), so it can never be moved below itself.
        let mut p = to.mount.clone();
        for _ in 0..=v.len() {
            if p.id == m.id {
                return Err(Errno::ELOOP);
            }
            match p.mountpoint() {
                Some((loc, _)) => p = loc.mount,
                None => break,
            }
        }
        m.set_mountpoint(Some((to.clone(), (a.dev, a.ino))));
        // On top of whatever else is there.
        if let Some(i) = v.iter().position(|x| x.id == m.id) {
            let e = v.remove(i);
            v.push(e);
        }
        Ok(())
    }

    /// pivot_root: the mount `new` is the root of becomes the root, and
    /// the mount `root` (the caller's root) is attached at `put_old`,
    /// with Linux's checks: EINVAL when a mount is outside the table,
    /// ENOENT when `new` was removed, EBUSY when `new` or `put_old` is on
    /// the current root's mount, EINVAL when `root` or `new` is not a
    /// mount root, `put_old` is not at or below `new` or `new` not below
    /// `root`. Returns the old and the new root locations; moving the
    /// tasks is the caller's part.
    pub fn pivot_root(
        &self,
        root: &Location,
        new: &Location,
        put_old: &Location,
    ) -> SysResult<(Location, Location)> {
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        // Like Linux's lock_mount: put_old's place is the top of any stack
        // of mounts there.
        let old = cross_in(&v, put_old.clone());
        let (root_m, new_m) = (&root.mount, &new.mount);
        if !attached(&v, root_m) || !attached(&v, new_m) {
            return Err(Errno::EINVAL);
        }
        if new.attr()?.nlink == 0 {
            // Removed from its directory (Linux's d_unlinked).
            return Err(Errno::ENOENT);
        }
        if new_m.id == root_m.id || old.mount.id == root_m.id {
            return Err(Errno::EBUSY);
        }
        if !Arc::ptr_eq(&root.dentry, &root_m.root)
            || !Arc::ptr_eq(&new.dentry, &new_m.root)
            || new_m.mountpoint().is_none()
            || !reachable(&old, new)
            || !reachable(new, root)
        {
            return Err(Errno::EINVAL);
        }
        let key = {
            let a = old.attr()?;
            (a.dev, a.ino)
        };
        if v.len() >= MAX_MOUNTS {
            return Err(Errno::ENOSPC);
        }
        let root_place = root_m.mountpoint();
        new_m.set_mountpoint(root_place);
        root_m.set_mountpoint(Some((old, key)));
        // Keep the old root's entry after new_m's, so walks that meet both
        // at one place find the one mounted last.
        if let Some(i) = v.iter().position(|x| x.id == root_m.id) {
            let e = v.remove(i);
            v.push(e);
        }
        Ok((
            root.clone(),
            Location {
                mount: new_m.clone(),
                dentry: new_m.root.clone(),
            },
        ))
    }

    /// Removes the mount `at` is the root of. Without `detach`, a mount
    /// still in use (an open file, a working directory, a mount on top of
    /// it) is EBUSY; with it, the mount and everything mounted below it
    /// leave the tree at once and go away when their last user does.
    pub fn unmount(&self, at: &Location, detach: bool) -> SysResult<()> {
        let m = &at.mount;
        if m.mountpoint().is_none() || !Arc::ptr_eq(&at.dentry, &m.root) {
            return Err(Errno::EINVAL);
        }
        let mut v = self.mounts.write().map_err(|_| Errno::EIO)?;
        if !attached(&v, m) {
            return Err(Errno::EINVAL);
        }
        // The mount and everything below it.
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        for c in v.iter() {
            if let Some(p) = c.parent_id() {
                children.entry(p).or_default().push(c.id);
            }
        }
        let mut gone = HashSet::from([m.id]);
        let mut todo = vec![m.id];
        while let Some(id) = todo.pop() {
            for &c in children.get(&id).map(Vec::as_slice).unwrap_or_default() {
                if gone.insert(c) {
                    todo.push(c);
                }
            }
        }
        // Users of the mount: the table, the caller's location, and anyone
        // else (open files, cwds, roots, mounts stacked on it).
        if !detach && (gone.len() > 1 || Arc::strong_count(m) > 2) {
            return Err(Errno::EBUSY);
        }
        // Each mount taken out is on its own now, as Linux's umount_tree
        // leaves them: ".." stays at its root and paths within it are
        // unreachable from every root.
        v.retain(|x| {
            if gone.contains(&x.id) {
                x.set_mountpoint(None);
                false
            } else {
                true
            }
        });
        Ok(())
    }

    /// Every mount, in mount order.
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        self.mounts.read().map(|v| v.clone()).unwrap_or_default()
    }

    /// The root of the mount tree (the mount attached nowhere).
    pub fn root(&self) -> Option<Location> {
        let v = self.mounts.read().ok()?;
        let m = v.iter().find(|m| m.mountpoint().is_none())?.clone();
        Some(Location {
            dentry: m.root.clone(),
            mount: m,
        })
    }

    /// `loc` is at or below `root`, following mounts up to their
    /// mountpoints (Linux's `is_path_reachable`).
    pub fn is_reachable(&self, loc: &Location, root: &Location) -> bool {
        reachable(loc, root)
    }

    /// If a file system is mounted on `loc`, the root of the topmost one.
    pub fn cross_mounts(&self, loc: Location) -> Location {
        match self.mounts.read() {
            Ok(v) => cross_in(&v, loc),
            Err(_) => loc,
        }
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
            match cur.mount.mountpoint() {
                Some((p, _)) => cur = p,
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
        self.path_from(loc, root).0
    }

    /// [`Vfs::path_of`], and whether the walk up from `loc` met `root`
    /// (false for a place outside a chroot or in a detached mount; the
    /// path is then the one from the top it reached).
    pub fn path_from(&self, loc: &Location, root: &Location) -> (Vec<u8>, bool) {
        let mut reached = false;
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.mount.id == root.mount.id && same_inode(&cur.dentry, &root.dentry) {
                reached = true;
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
            match cur.mount.mountpoint() {
                Some((p, _)) => cur = p,
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
        (out, reached)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fs::tmpfs::Tmpfs;

    /// A table with a tmpfs root holding directories `dirs` (paths).
    fn table(dirs: &[&str]) -> (Arc<Vfs>, Location) {
        let vfs = Vfs::new();
        let root = vfs.mount_root(Tmpfs::new(1, 0o755, 0, 0, None), "tmpfs", "root", false);
        for d in dirs {
            let (parent, name) = vfs.resolve_parent(&root, &root, d.as_bytes()).unwrap();
            parent.dentry.inode.mkdir(&name, 0o755, 0, 0).unwrap();
        }
        (vfs, root)
    }

    fn at(vfs: &Vfs, root: &Location, p: &str) -> Location {
        vfs.resolve(root, root, p.as_bytes(), true).unwrap()
    }

    fn tmpfs_at(vfs: &Vfs, root: &Location, p: &str, dev: u64) {
        let l = at(vfs, root, p);
        vfs.mount_at(&l, Tmpfs::new(dev, 0o755, 0, 0, None), "tmpfs", "t", false)
            .unwrap();
    }

    #[test]
    fn bind_remount_and_writers() {
        let (vfs, root) = table(&["/t", "/b", "/plain"]);
        tmpfs_at(&vfs, &root, "/t", 2);
        let t = at(&vfs, &root, "/t");
        vfs.bind_at(&at(&vfs, &root, "/b"), &t, false).unwrap();
        let b = at(&vfs, &root, "/b");
        assert!(Arc::ptr_eq(&t.mount.sb, &b.mount.sb));
        b.mount.get_write().unwrap();
        assert_eq!(vfs.remount_mount(&b, true, 0), Err(Errno::EBUSY));
        // A writer on the bind mount does not stop the source's flag.
        vfs.remount_mount(&t, true, 0).unwrap();
        assert!(t.mount.is_readonly() && !b.mount.is_readonly());
        vfs.remount_mount(&t, false, 0).unwrap();
        // ... but it stops the file system going read-only.
        let ok = &mut || Ok(());
        assert_eq!(
            vfs.remount_super(&t, true, true, false, false, ok),
            Err(Errno::EBUSY)
        );
        b.mount.put_write();
        vfs.remount_super(&t, true, true, false, false, ok).unwrap();
        assert!(b.mount.is_readonly() && !b.mount.mount_readonly());
        assert_eq!(b.mount.get_write(), Err(Errno::EROFS));
        assert_eq!(
            vfs.remount_super(&t, false, false, true, false, ok),
            Err(Errno::EACCES)
        );
        let fail = &mut || Err(Errno::EINVAL);
        assert_eq!(
            vfs.remount_super(&t, false, false, false, false, fail),
            Err(Errno::EINVAL)
        );
        assert!(t.mount.sb.is_readonly());
        vfs.remount_super(&t, false, false, false, false, ok)
            .unwrap();
        assert!(!b.mount.is_readonly());
        // Only a mount's root can be remounted.
        assert_eq!(
            vfs.remount_mount(&at(&vfs, &root, "/plain"), true, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn recursive_bind_copies_submounts() {
        let (vfs, root) = table(&["/src", "/src/a", "/src/x", "/d", "/e"]);
        tmpfs_at(&vfs, &root, "/src/a", 2);
        at(&vfs, &root, "/src/a")
            .dentry
            .inode
            .mkdir(b"b", 0o755, 0, 0)
            .unwrap();
        tmpfs_at(&vfs, &root, "/src/a/b", 3);
        at(&vfs, &root, "/src/a/b")
            .dentry
            .inode
            .create(b"f", 0o644, 0, 0)
            .unwrap();
        let src = at(&vfs, &root, "/src");
        vfs.bind_at(&at(&vfs, &root, "/d"), &src, false).unwrap();
        assert!(vfs.resolve(&root, &root, b"/d/a/b/f", true).is_err());
        vfs.bind_at(&at(&vfs, &root, "/e"), &src, true).unwrap();
        let f = at(&vfs, &root, "/e/a/b/f");
        assert_eq!(vfs.path_of(&f, &root), b"/e/a/b/f");
        assert_eq!(f.attr().unwrap().dev, 3);
        // Copies are mounts of their own.
        let copy = at(&vfs, &root, "/e/a/b");
        vfs.unmount(&copy, true).unwrap();
        assert!(vfs.resolve(&root, &root, b"/e/a/b/f", true).is_err());
        assert!(vfs.resolve(&root, &root, b"/src/a/b/f", true).is_ok());
        // A bind from a detached mount is EINVAL.
        assert_eq!(
            vfs.bind_at(&at(&vfs, &root, "/d"), &copy, false),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn move_mount_checks() {
        let (vfs, root) = table(&["/m1", "/m2", "/m3"]);
        tmpfs_at(&vfs, &root, "/m1", 2);
        let m1 = at(&vfs, &root, "/m1");
        m1.dentry.inode.mkdir(b"in", 0o755, 0, 0).unwrap();
        assert_eq!(
            vfs.move_mount(&m1, &at(&vfs, &root, "/m1/in")),
            Err(Errno::ELOOP)
        );
        assert_eq!(
            vfs.move_mount(&root, &at(&vfs, &root, "/m3")),
            Err(Errno::ELOOP)
        );
        assert_eq!(
            vfs.move_mount(&at(&vfs, &root, "/m1/in"), &at(&vfs, &root, "/m3")),
            Err(Errno::EINVAL)
        );
        vfs.move_mount(&m1, &at(&vfs, &root, "/m2")).unwrap();
        assert_eq!(at(&vfs, &root, "/m2").attr().unwrap().dev, 2);
        assert_eq!(at(&vfs, &root, "/m1").attr().unwrap().dev, 1);
        // A location held from before the move names its new place.
        assert_eq!(vfs.path_of(&m1, &root), b"/m2");
    }

    #[test]
    fn pivot_root_swaps_roots() {
        let (vfs, root) = table(&["/new"]);
        tmpfs_at(&vfs, &root, "/new", 2);
        let new = at(&vfs, &root, "/new");
        new.dentry.inode.mkdir(b"old", 0o755, 0, 0).unwrap();
        let put_old = at(&vfs, &root, "/new/old");
        assert_eq!(
            vfs.pivot_root(&root, &root, &put_old).err(),
            Some(Errno::EBUSY)
        );
        let (old, new_root) = vfs.pivot_root(&root, &new, &put_old).unwrap();
        assert!(old.same(&root));
        assert_eq!(vfs.root().unwrap().mount.id, new.mount.id);
        assert_eq!(vfs.path_of(&root, &new_root), b"/old");
        let (p, reached) = vfs.path_from(&new_root, &root);
        assert!(!reached, "{:?}", String::from_utf8_lossy(&p));
        let old_at = at(&vfs, &new_root, "/old");
        assert_eq!(old_at.mount.id, root.mount.id);
        vfs.unmount(&old_at, true).unwrap();
        assert_eq!(at(&vfs, &new_root, "/old").mount.id, new.mount.id);
    }
}
