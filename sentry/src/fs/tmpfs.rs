//! tmpfs: a file system kept entirely in sentry memory.
//!
//! Regular file data lives in fixed-size pages keyed by page index, so a
//! sparse file costs only the pages actually written and holes read as
//! zeros. Directories keep their entries in a `BTreeMap`, which gives a
//! stable listing order. FIFOs share one [`Pipe`] per inode between all
//! their openers. Every inode (symlinks and special files included) can
//! hold extended attributes; their total size per file system is bounded
//! ([`XATTR_SPACE_MAX`], or the size limit if smaller).
//!
//! Permission checks are the system call layer's job; this module only
//! enforces the file system's own rules (types, emptiness, same-fs, space).
//!
//! Locking: every namespace change (create, link, unlink, rmdir, rename)
//! holds the file system's `tree` lock, so at most one of them runs at a
//! time; readers (lookup, readdir, attr) take only one directory lock at a
//! time. A directory's or file's own lock may be held while taking an
//! inode's `meta` lock, never the other way round.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use super::pipe::{Pipe, PipeEnd};
use super::vfs::DirFile;
use super::xattr::{XattrMap, XattrSpace};
use super::{
    poll, Attr, DirEntry, FileOps, Inode, IoctlIo, SetAttr, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
    S_IFREG, S_IFSOCK,
};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// Size of one page of file data.
pub const PAGE_SIZE: usize = 4096;
/// Largest file size (Linux's `MAX_LFS_FILESIZE`).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// Longest symlink target (PATH_MAX - 1, the terminating NUL excluded).
const MAX_SYMLINK_LEN: usize = 4095;
/// Longest name of a directory entry.
const NAME_MAX: usize = 255;
/// What each directory entry adds to a directory's size (Linux's
/// `BOGO_DIRENT_SIZE`).
const BOGO_DIRENT_SIZE: u64 = 20;
/// Most bytes of extended attributes (names, values and per-entry
/// overhead) one tmpfs holds; beyond, setting one fails with `ENOSPC`.
pub const XATTR_SPACE_MAX: u64 = 16 << 20;

type Page = Box<[u8; PAGE_SIZE]>;

/// The current wall-clock time as (seconds, nanoseconds).
fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(_) => (0, 0),
    }
}

/// Checks a name for a new directory entry.
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

/// One tmpfs instance: what all of its inodes share.
pub struct Tmpfs {
    dev: u64,
    next_ino: AtomicU64,
    /// Most bytes of file data (a whole number of pages; `u64::MAX`: no
    /// limit). Changed by a remount.
    size_limit: AtomicU64,
    /// Bytes held in file pages across the whole file system.
    used: AtomicU64,
    /// Inodes whose link count reached 0 (some may still be open, which
    /// keeps a remount read-only from succeeding, as on Linux).
    orphans: Mutex<Orphans>,
    /// Serialises namespace changes.
    tree: Mutex<()>,
    /// Space used by the extended attributes of all inodes.
    xattr_space: XattrSpace,
}

impl Tmpfs {
    /// Creates a tmpfs on device `dev` and returns its root directory with
    /// permission bits `mode` owned by `uid`:`gid`. `size_limit` caps the
    /// bytes of file data (in whole pages); writes beyond it fail with
    /// `ENOSPC`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(dev: u64, mode: u32, uid: u32, gid: u32, size_limit: Option<u64>) -> Arc<dyn Inode> {
        Self::new_root(dev, 0, mode, uid, gid, size_limit)
    }

    /// Like [`Tmpfs::new`] but numbering inodes from `ino_base + 1`, for a
    /// tmpfs that shares a device number with another file system (devfs's
    /// `shm`).
    pub fn new_root(
        dev: u64,
        ino_base: u64,
        mode: u32,
        uid: u32,
        gid: u32,
        size_limit: Option<u64>,
    ) -> Arc<TmpInode> {
        let fs = Arc::new(Tmpfs {
            dev,
            next_ino: AtomicU64::new(ino_base + 1),
            size_limit: AtomicU64::new(size_limit.map_or(u64::MAX, round_to_pages)),
            used: AtomicU64::new(0),
            orphans: Mutex::new(Orphans::default()),
            tree: Mutex::new(()),
            xattr_space: XattrSpace::new(
                size_limit.map_or(XATTR_SPACE_MAX, |l| l.min(XATTR_SPACE_MAX)),
            ),
        });
        TmpInode::new(
            &fs,
            new_dir_kind(Weak::new()),
            S_IFDIR | (mode & 0o7777),
            uid,
            gid,
            0,
        )
    }

    /// Accounts for one more page of file data, or fails with `ENOSPC`.
    fn reserve_page(&self) -> SysResult<()> {
        let page = PAGE_SIZE as u64;
        let limit = self.size_limit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(page).filter(|&n| n <= limit)
            })
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    /// Returns `n` pages to the free space.
    fn release_pages(&self, n: u64) {
        let bytes = n.saturating_mul(PAGE_SIZE as u64);
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }
}

/// A byte count rounded up to whole pages (saturating).
fn round_to_pages(bytes: u64) -> u64 {
    bytes
        .div_ceil(PAGE_SIZE as u64)
        .saturating_mul(PAGE_SIZE as u64)
}

/// Inodes that lost their last name: weak references, pruned as they die.
#[derive(Default)]
struct Orphans {
    list: Vec<Weak<TmpInode>>,
    /// Prune dead entries when the list reaches this length.
    prune_at: usize,
}

/// Attributes every inode has.
struct Meta {
    /// Type and permission bits.
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: (i64, u32),
    mtime: (i64, u32),
    ctime: (i64, u32),
}

struct DirState {
    entries: BTreeMap<Vec<u8>, Arc<TmpInode>>,
    /// The directory containing this one (dangling for the root).
    parent: Weak<TmpInode>,
    /// Set once the directory has been removed: nothing can be created in
    /// it any more.
    removed: bool,
}

#[derive(Default)]
struct FileData {
    pages: BTreeMap<u64, Page>,
    size: u64,
    /// Once the file has been memory-mapped, its data lives in a host
    /// memfd instead of `pages`, so that the stub can map the same pages
    /// (MAP_SHARED writes are then seen by read() and vice versa).
    memfd: Option<std::os::fd::OwnedFd>,
}

fn host_errno() -> Errno {
    Errno::new(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

impl FileData {
    /// Moves the data into a memfd (once) and returns its descriptor.
    fn memfd(&mut self, fs: &Tmpfs) -> SysResult<std::os::fd::RawFd> {
        use std::os::fd::{AsRawFd, FromRawFd};
        if let Some(fd) = &self.memfd {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: memfd_create with a static NUL-terminated name.
        let raw = unsafe { libc::memfd_create(c"rvisor-tmpfs".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(host_errno());
        }
        // SAFETY: memfd_create just returned this descriptor; we own it.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
        // SAFETY: ftruncate on our own memfd.
        if unsafe { libc::ftruncate(raw, self.size as libc::off_t) } != 0 {
            return Err(host_errno());
        }
        for (&idx, page) in &self.pages {
            let off = idx * PAGE_SIZE as u64;
            let n = (PAGE_SIZE as u64).min(self.size.saturating_sub(off)) as usize;
            // SAFETY: writes `n` bytes of a live page into our own memfd.
            if unsafe {
                libc::pwrite(
                    raw,
                    page.as_ptr() as *const libc::c_void,
                    n,
                    off as libc::off_t,
                )
            } != n as isize
            {
                return Err(host_errno());
            }
        }
        fs.release_pages(self.pages.len() as u64);
        self.pages.clear();
        self.memfd = Some(fd);
        Ok(raw)
    }
}

#[derive(Default)]
struct FifoState {
    /// The pipe while any end of it is open.
    pipe: Weak<Pipe>,
    /// Read-side opens so far (lets a blocked writer see a reader came).
    r_opens: u64,
    /// Write-side opens so far.
    w_opens: u64,
}

enum Kind {
    Dir(Mutex<DirState>),
    File(Mutex<FileData>),
    Symlink(Vec<u8>),
    Fifo(Mutex<FifoState>),
    Socket,
}

fn new_dir_kind(parent: Weak<TmpInode>) -> Kind {
    Kind::Dir(Mutex::new(DirState {
        entries: BTreeMap::new(),
        parent,
        removed: false,
    }))
}

/// An inode of a tmpfs.
pub struct TmpInode {
    fs: Arc<Tmpfs>,
    /// This inode's own `Arc`, for handing itself out.
    me: Weak<TmpInode>,
    ino: u64,
    meta: Mutex<Meta>,
    kind: Kind,
    /// An O_TMPFILE file that may be linked while its link count is 0.
    linkable: AtomicBool,
    /// Extended attributes (never locked together with another lock).
    xattrs: Mutex<XattrMap>,
}

impl TmpInode {
    fn new(fs: &Arc<Tmpfs>, kind: Kind, mode: u32, uid: u32, gid: u32, rdev: u64) -> Arc<Self> {
        let t = now();
        let nlink = if mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        Arc::new_cyclic(|me| TmpInode {
            fs: fs.clone(),
            me: me.clone(),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            meta: Mutex::new(Meta {
                mode,
                uid,
                gid,
                nlink,
                rdev,
                atime: t,
                mtime: t,
                ctime: t,
            }),
            kind,
            linkable: AtomicBool::new(false),
            xattrs: Mutex::default(),
        })
    }

    fn xattrs(&self) -> SysResult<std::sync::MutexGuard<'_, XattrMap>> {
        self.xattrs.lock().map_err(|_| Errno::EIO)
    }

    /// Bytes the extended attributes of this file system take.
    pub fn xattr_usage(&self) -> u64 {
        self.fs.xattr_space.used()
    }

    fn meta(&self) -> SysResult<std::sync::MutexGuard<'_, Meta>> {
        self.meta.lock().map_err(|_| Errno::EIO)
    }

    fn dir(&self) -> SysResult<std::sync::MutexGuard<'_, DirState>> {
        match &self.kind {
            Kind::Dir(d) => d.lock().map_err(|_| Errno::EIO),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    /// Sets mtime and ctime to now (a directory's contents or a file's data
    /// changed).
    fn touch_modified(&self) -> SysResult<()> {
        let t = now();
        let mut m = self.meta()?;
        m.mtime = t;
        m.ctime = t;
        Ok(())
    }

    /// Sets ctime to now (the inode's status changed).
    fn touch_changed(&self) -> SysResult<()> {
        self.meta()?.ctime = now();
        Ok(())
    }

    /// Adds `delta` to the link count (saturating at 0).
    fn add_nlink(&self, delta: i64) -> SysResult<()> {
        let mut m = self.meta()?;
        let was = m.nlink;
        m.nlink = m.nlink.saturating_add_signed(delta);
        m.ctime = now();
        let gone = was != 0 && m.nlink == 0;
        drop(m);
        if gone {
            self.orphaned();
        }
        Ok(())
    }

    /// Bytes of file data the file system holds, its limit, and the number
    /// of inodes handed out so far (for statfs).
    pub fn fs_usage(&self) -> (u64, Option<u64>, u64) {
        (
            self.fs.used.load(Ordering::Relaxed),
            Some(self.fs.size_limit.load(Ordering::Relaxed)).filter(|&l| l != u64::MAX),
            self.fs.next_ino.load(Ordering::Relaxed),
        )
    }

    /// Changes the file system's size limit, as `mount -o remount,size=`
    /// does on Linux: `bytes` (rounded up to pages) or, for 0, no limit.
    /// Limiting a file system that had no limit, or to less than it
    /// holds, is EINVAL.
    pub fn set_size_limit(&self, bytes: u64) -> SysResult<()> {
        let fs = &self.fs;
        if bytes == 0 {
            fs.size_limit.store(u64::MAX, Ordering::Relaxed);
            return Ok(());
        }
        let limit = round_to_pages(bytes);
        if fs.size_limit.load(Ordering::Relaxed) == u64::MAX
            || fs.used.load(Ordering::Relaxed) > limit
        {
            return Err(Errno::EINVAL);
        }
        fs.size_limit.store(limit, Ordering::Relaxed);
        Ok(())
    }

    /// Some inode of this file system has no name left but is still in
    /// use (an open unlinked file, a removed working directory, an
    /// unlinked O_TMPFILE file): Linux refuses a read-only remount then.
    pub fn has_orphans(&self) -> bool {
        let Ok(o) = self.fs.orphans.lock() else {
            return false;
        };
        o.list.iter().any(|w| {
            w.upgrade()
                .is_some_and(|i| i.meta().map(|m| m.nlink == 0).unwrap_or(false))
        })
    }

    /// Records that this inode's link count reached 0.
    fn orphaned(&self) {
        if let Ok(mut o) = self.fs.orphans.lock() {
            if o.list.len() >= o.prune_at {
                o.list.retain(|w| w.strong_count() > 0);
                o.prune_at = (o.list.len() * 2).max(64);
            }
            o.list.push(self.me.clone());
        }
    }

    /// Reads file data at `off`; holes read as zeros.
    fn read_at(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        let Kind::File(data) = &self.kind else {
            return Err(Errno::EINVAL);
        };
        let d = data.lock().map_err(|_| Errno::EIO)?;
        if let Some(fd) = &d.memfd {
            use std::os::fd::AsRawFd;
            // The size lives in the memfd (a shared mapping cannot grow it).
            // SAFETY: reads into the caller's buffer from our own memfd.
            let r = unsafe {
                libc::pread(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    off as libc::off_t,
                )
            };
            drop(d);
            if r < 0 {
                return Err(host_errno());
            }
            self.touch_accessed();
            return Ok(r as usize);
        }
        if off >= d.size || buf.is_empty() {
            return Ok(0);
        }
        let len = (buf.len() as u64).min(d.size - off) as usize;
        let out = &mut buf[..len];
        out.fill(0);
        let end = off + len as u64;
        let first = off / PAGE_SIZE as u64;
        let last = (end - 1) / PAGE_SIZE as u64;
        for (&idx, page) in d.pages.range(first..=last) {
            let page_start = idx * PAGE_SIZE as u64;
            let from = off.max(page_start);
            let to = end.min(page_start + PAGE_SIZE as u64);
            let src = &page[(from - page_start) as usize..(to - page_start) as usize];
            out[(from - off) as usize..(to - off) as usize].copy_from_slice(src);
        }
        drop(d);
        self.touch_accessed();
        Ok(len)
    }

    /// relatime: updates atime when it is not newer than mtime or ctime.
    fn touch_accessed(&self) {
        if let Ok(mut m) = self.meta.lock() {
            if m.atime <= m.mtime || m.atime <= m.ctime {
                m.atime = now();
            }
        }
    }

    /// Writes file data at `off`, extending the file (the gap reads as
    /// zeros). Short when space runs out part way.
    fn write_at(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        let Kind::File(data) = &self.kind else {
            return Err(Errno::EINVAL);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        if off >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let len = (buf.len() as u64).min(MAX_FILE_SIZE - off) as usize;
        let mut d = data.lock().map_err(|_| Errno::EIO)?;
        if let Some(fd) = &d.memfd {
            use std::os::fd::AsRawFd;
            // SAFETY: writes `len` bytes of the caller's buffer to our memfd.
            let r = unsafe {
                libc::pwrite(
                    fd.as_raw_fd(),
                    buf.as_ptr() as *const libc::c_void,
                    len,
                    off as libc::off_t,
                )
            };
            if r < 0 {
                return Err(host_errno());
            }
            d.size = d.size.max(off + r as u64);
            drop(d);
            self.touch_modified()?;
            return Ok(r as usize);
        }
        let mut done = 0usize;
        while done < len {
            let pos = off + done as u64;
            let idx = pos / PAGE_SIZE as u64;
            let in_page = (pos % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - in_page).min(len - done);
            let page = match d.pages.entry(idx) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    if let Err(err) = self.fs.reserve_page() {
                        if done > 0 {
                            break;
                        }
                        return Err(err);
                    }
                    e.insert(Box::new([0u8; PAGE_SIZE]))
                }
            };
            page[in_page..in_page + n].copy_from_slice(&buf[done..done + n]);
            done += n;
        }
        d.size = d.size.max(off + done as u64);
        drop(d);
        self.touch_modified()?;
        Ok(done)
    }

    /// Sets a regular file's size: shrinking frees whole pages past the end
    /// and zeroes the tail of the last one (so a later extension reads
    /// zeros); growing allocates nothing.
    fn set_size(&self, size: u64) -> SysResult<()> {
        let Kind::File(data) = &self.kind else {
            return Err(if self.is_dir() {
                Errno::EISDIR
            } else {
                Errno::EINVAL
            });
        };
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut d = data.lock().map_err(|_| Errno::EIO)?;
        if let Some(fd) = &d.memfd {
            use std::os::fd::AsRawFd;
            // SAFETY: ftruncate on our own memfd.
            if unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) } != 0 {
                return Err(host_errno());
            }
            d.size = size;
            return Ok(());
        }
        if size < d.size {
            let keep = size.div_ceil(PAGE_SIZE as u64);
            let gone = d.pages.split_off(&keep);
            self.fs.release_pages(gone.len() as u64);
            drop(gone);
            let tail = (size % PAGE_SIZE as u64) as usize;
            if tail != 0 {
                if let Some(p) = d.pages.get_mut(&(size / PAGE_SIZE as u64)) {
                    p[tail..].fill(0);
                }
            }
        }
        d.size = size;
        Ok(())
    }

    /// Inserts a new child built by `make` under `name`.
    fn add_child(
        &self,
        name: &[u8],
        make: impl FnOnce() -> Arc<TmpInode>,
    ) -> SysResult<Arc<TmpInode>> {
        check_name(name)?;
        let _tree = self.fs.tree.lock().map_err(|_| Errno::EIO)?;
        let mut d = self.dir()?;
        if d.removed {
            return Err(Errno::ENOENT);
        }
        if d.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let child = make();
        let is_dir = child.is_dir();
        d.entries.insert(name.to_vec(), child.clone());
        drop(d);
        if is_dir {
            self.add_nlink(1)?;
        }
        self.touch_modified()?;
        Ok(child)
    }

    /// The RENAME_EXCHANGE half of `rename`: `name` here holds `src`,
    /// `new_name` in `nd` holds `dst`; they swap. Call with the tree lock
    /// held.
    fn exchange(
        &self,
        name: &[u8],
        nd: &TmpInode,
        new_name: &[u8],
        src: Arc<TmpInode>,
        dst: Arc<TmpInode>,
    ) -> SysResult<()> {
        if Arc::ptr_eq(&src, &dst) {
            return Ok(());
        }
        let same_dir = std::ptr::eq(self, nd);
        if dst.is_dir() && !same_dir && self.is_within(&dst)? {
            return Err(Errno::EINVAL);
        }
        nd.dir()?.entries.insert(new_name.to_vec(), src.clone());
        self.dir()?.entries.insert(name.to_vec(), dst.clone());
        if !same_dir {
            if src.is_dir() {
                src.dir()?.parent = nd.me.clone();
            }
            if dst.is_dir() {
                dst.dir()?.parent = self.me.clone();
            }
            match (src.is_dir(), dst.is_dir()) {
                (true, false) => {
                    self.add_nlink(-1)?;
                    nd.add_nlink(1)?;
                }
                (false, true) => {
                    nd.add_nlink(-1)?;
                    self.add_nlink(1)?;
                }
                _ => {}
            }
        }
        src.touch_changed()?;
        dst.touch_changed()?;
        self.touch_modified()?;
        if !same_dir {
            nd.touch_modified()?;
        }
        Ok(())
    }

    /// True if `self` is `dir` or lies below it. Call with the tree lock
    /// held so parents stay put.
    fn is_within(&self, dir: &TmpInode) -> SysResult<bool> {
        let mut cur = self.me.upgrade();
        let mut steps = 0u64;
        while let Some(c) = cur {
            if std::ptr::eq(Arc::as_ptr(&c), dir) {
                return Ok(true);
            }
            steps += 1;
            if steps > 1 << 24 {
                return Err(Errno::ELOOP);
            }
            cur = c.dir()?.parent.upgrade();
        }
        Ok(false)
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        if let Ok(x) = self.xattrs.get_mut() {
            x.clear(&self.fs.xattr_space);
        }
        match &mut self.kind {
            Kind::File(data) => {
                if let Ok(d) = data.get_mut() {
                    self.fs.release_pages(d.pages.len() as u64);
                }
            }
            Kind::Dir(dir) => {
                // Tear deep trees down iteratively rather than by recursion.
                let Ok(d) = dir.get_mut() else { return };
                let mut stack: Vec<Arc<TmpInode>> =
                    std::mem::take(&mut d.entries).into_values().collect();
                while let Some(child) = stack.pop() {
                    if let Some(mut inner) = Arc::into_inner(child) {
                        if let Kind::Dir(cd) = &mut inner.kind {
                            if let Ok(cd) = cd.get_mut() {
                                stack.extend(std::mem::take(&mut cd.entries).into_values());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Inode for TmpInode {
    fn attr(&self) -> SysResult<Attr> {
        let (size, blocks) = match &self.kind {
            Kind::Dir(_) => {
                let n = self.dir()?.entries.len() as u64;
                ((n + 2) * BOGO_DIRENT_SIZE, 0)
            }
            Kind::File(data) => {
                let d = data.lock().map_err(|_| Errno::EIO)?;
                (d.size, d.pages.len() as u64 * (PAGE_SIZE as u64 / 512))
            }
            Kind::Symlink(t) => (t.len() as u64, 0),
            Kind::Fifo(_) | Kind::Socket => (0, 0),
        };
        let m = self.meta()?;
        Ok(Attr {
            ino: self.ino,
            dev: self.fs.dev,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: PAGE_SIZE as u64,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        })
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        let d = self.dir()?;
        if name == b"." {
            drop(d);
            return self
                .me
                .upgrade()
                .map(|i| i as Arc<dyn Inode>)
                .ok_or(Errno::ENOENT);
        }
        if name == b".." {
            let p = d.parent.upgrade().or_else(|| self.me.upgrade());
            return p.map(|i| i as Arc<dyn Inode>).ok_or(Errno::ENOENT);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        match d.entries.get(name) {
            Some(c) => Ok(c.clone()),
            None => Err(Errno::ENOENT),
        }
    }

    fn readlink(&self) -> SysResult<Vec<u8>> {
        match &self.kind {
            Kind::Symlink(t) => {
                self.touch_accessed();
                Ok(t.clone())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        let d = self.dir()?;
        let mut out = Vec::with_capacity(d.entries.len());
        for (name, child) in &d.entries {
            let mode = child.meta()?.mode;
            out.push(DirEntry {
                ino: child.ino,
                dtype: super::mode_to_dtype(mode),
                name: name.clone(),
            });
        }
        drop(d);
        self.touch_accessed();
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        let acc = flags & libc::O_ACCMODE as u32;
        let is_directory_flag = flags & libc::O_DIRECTORY as u32 != 0;
        match &self.kind {
            Kind::Dir(_) => {
                if acc != libc::O_RDONLY as u32 || flags & libc::O_TRUNC as u32 != 0 {
                    return Err(Errno::EISDIR);
                }
                Ok(DirFile::new(self))
            }
            _ if is_directory_flag => Err(Errno::ENOTDIR),
            Kind::File(_) => {
                if flags & libc::O_TRUNC as u32 != 0 {
                    self.set_size(0)?;
                    self.touch_modified()?;
                }
                Ok(Arc::new(TmpFile { inode: self }))
            }
            Kind::Symlink(_) => Err(Errno::ELOOP),
            Kind::Socket => Err(Errno::ENXIO),
            Kind::Fifo(_) => FifoFile::open(self, flags).map(|f| f as Arc<dyn FileOps>),
        }
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        let fs = self.fs.clone();
        let c = self.add_child(name, || {
            TmpInode::new(
                &fs,
                Kind::File(Mutex::new(FileData::default())),
                S_IFREG | (mode & 0o7777),
                uid,
                gid,
                0,
            )
        })?;
        Ok(c)
    }

    fn tmpfile(&self, mode: u32, uid: u32, gid: u32, linkable: bool) -> SysResult<Arc<dyn Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let f = TmpInode::new(
            &self.fs,
            Kind::File(Mutex::new(FileData::default())),
            S_IFREG | (mode & 0o7777),
            uid,
            gid,
            0,
        );
        f.meta()?.nlink = 0;
        f.orphaned();
        f.linkable.store(linkable, Ordering::Relaxed);
        Ok(f)
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        let fs = self.fs.clone();
        let parent = self.me.clone();
        let c = self.add_child(name, || {
            TmpInode::new(
                &fs,
                new_dir_kind(parent),
                S_IFDIR | (mode & 0o7777),
                uid,
                gid,
                0,
            )
        })?;
        Ok(c)
    }

    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        _rdev: u64,
        uid: u32,
        gid: u32,
    ) -> SysResult<Arc<dyn Inode>> {
        let kind = match mode & S_IFMT {
            0 | S_IFREG => return self.create(name, mode, uid, gid),
            S_IFIFO => Kind::Fifo(Mutex::new(FifoState::default())),
            S_IFSOCK => Kind::Socket,
            super::S_IFCHR | 0o060000 | S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let fs = self.fs.clone();
        let c = self.add_child(name, || {
            TmpInode::new(&fs, kind, mode & (S_IFMT | 0o7777), uid, gid, 0)
        })?;
        Ok(c)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() > MAX_SYMLINK_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let fs = self.fs.clone();
        let c = self.add_child(name, || {
            TmpInode::new(
                &fs,
                Kind::Symlink(target.to_vec()),
                S_IFLNK | 0o777,
                uid,
                gid,
                0,
            )
        })?;
        Ok(c)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> SysResult<()> {
        let t = target
            .as_any()
            .downcast_ref::<TmpInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        let t = t.me.upgrade().ok_or(Errno::ENOENT)?;
        check_name(name)?;
        let _tree = self.fs.tree.lock().map_err(|_| Errno::EIO)?;
        // An O_TMPFILE file (without O_EXCL) may get its first name.
        if t.meta()?.nlink == 0 && !t.linkable.load(Ordering::Relaxed) {
            return Err(Errno::ENOENT);
        }
        let mut d = self.dir()?;
        if d.removed {
            return Err(Errno::ENOENT);
        }
        if d.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        d.entries.insert(name.to_vec(), t.clone());
        drop(d);
        t.linkable.store(false, Ordering::Relaxed);
        t.add_nlink(1)?;
        self.touch_modified()
    }

    fn unlink(&self, name: &[u8]) -> SysResult<()> {
        let _tree = self.fs.tree.lock().map_err(|_| Errno::EIO)?;
        let mut d = self.dir()?;
        let child = d.entries.get(name).ok_or(Errno::ENOENT)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        let child = d.entries.remove(name).ok_or(Errno::ENOENT)?;
        drop(d);
        child.add_nlink(-1)?;
        self.touch_modified()
    }

    fn rmdir(&self, name: &[u8]) -> SysResult<()> {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let _tree = self.fs.tree.lock().map_err(|_| Errno::EIO)?;
        let mut d = self.dir()?;
        let child = d.entries.get(name).ok_or(Errno::ENOENT)?;
        {
            let mut cd = child.dir()?;
            if !cd.entries.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            cd.removed = true;
        }
        let child = d.entries.remove(name).ok_or(Errno::ENOENT)?;
        drop(d);
        {
            let mut m = child.meta()?;
            m.nlink = 0;
            m.ctime = now();
        }
        child.orphaned();
        self.add_nlink(-1)?;
        self.touch_modified()
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
            .downcast_ref::<TmpInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&nd.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        if name == b"." || name == b".." || new_name == b"." || new_name == b".." {
            return Err(Errno::EBUSY);
        }
        check_name(new_name)?;
        let _tree = self.fs.tree.lock().map_err(|_| Errno::EIO)?;
        let same_dir = std::ptr::eq(self, nd);
        // Everything is checked before anything changes; the tree lock
        // keeps the checked state stable.
        let src = self
            .dir()?
            .entries
            .get(name)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        let (dst, nd_removed) = {
            let d = nd.dir()?;
            (d.entries.get(new_name).cloned(), d.removed)
        };
        if nd_removed {
            return Err(Errno::ENOENT);
        }
        if flags & libc::RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        let src_is_dir = src.is_dir();
        if src_is_dir && !same_dir && nd.is_within(&src)? {
            return Err(Errno::EINVAL);
        }
        if flags & libc::RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            return self.exchange(name, nd, new_name, src, dst);
        }
        if let Some(dst) = &dst {
            if Arc::ptr_eq(dst, &src) {
                // Two names of one inode: rename(2) does nothing.
                return Ok(());
            }
            if dst.is_dir() && !same_dir && self.is_within(dst)? {
                // The target contains the source.
                return Err(Errno::ENOTEMPTY);
            }
            match (src_is_dir, dst.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) => {
                    if !dst.dir()?.entries.is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                }
                (false, false) => {}
            }
        }
        // Point the new name at the source first, so the new name never
        // disappears while it is replaced; then drop the old name.
        nd.dir()?.entries.insert(new_name.to_vec(), src.clone());
        self.dir()?.entries.remove(name);
        if let Some(dst) = dst {
            if dst.is_dir() {
                dst.dir()?.removed = true;
                {
                    let mut m = dst.meta()?;
                    m.nlink = 0;
                    m.ctime = now();
                }
                dst.orphaned();
                nd.add_nlink(-1)?;
            } else {
                dst.add_nlink(-1)?;
            }
        }
        if src_is_dir && !same_dir {
            src.dir()?.parent = nd.me.clone();
            self.add_nlink(-1)?;
            nd.add_nlink(1)?;
        }
        src.touch_changed()?;
        self.touch_modified()?;
        if !same_dir {
            nd.touch_modified()?;
        }
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> SysResult<Vec<u8>> {
        self.xattrs()?.get(name)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> SysResult<()> {
        self.xattrs()?
            .set(name, value, flags, &self.fs.xattr_space)?;
        self.touch_changed()
    }

    fn listxattr(&self) -> SysResult<Vec<Vec<u8>>> {
        Ok(self.xattrs()?.names())
    }

    fn removexattr(&self, name: &[u8]) -> SysResult<()> {
        self.xattrs()?.remove(name, &self.fs.xattr_space)?;
        self.touch_changed()
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        if let Some(size) = change.size {
            self.set_size(size)?;
        }
        let t = now();
        let mut m = self.meta()?;
        if let Some(mode) = change.mode {
            m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = change.uid {
            m.uid = uid;
        }
        if let Some(gid) = change.gid {
            m.gid = gid;
        }
        if change.size.is_some() {
            m.mtime = t;
        }
        if let Some(a) = change.atime {
            m.atime = a;
        }
        if let Some(mt) = change.mtime {
            m.mtime = mt;
        }
        m.ctime = t;
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open regular tmpfs file.
pub struct TmpFile {
    inode: Arc<TmpInode>,
}

impl FileOps for TmpFile {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        self.inode.read_at(buf, off)
    }

    fn host_mmap_fd(&self) -> Option<std::os::fd::RawFd> {
        let Kind::File(data) = &self.inode.kind else {
            return None;
        };
        let mut d = data.lock().ok()?;
        d.memfd(&self.inode.fs).ok()
    }

    fn write(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        self.inode.write_at(buf, off)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn poll(&self) -> u32 {
        poll::IN | poll::OUT
    }

    fn stat(&self) -> SysResult<Attr> {
        self.inode.attr()
    }

    fn ioctl(&self, _cmd: u32, _arg: u64, _io: &mut dyn IoctlIo) -> SysResult<u64> {
        Err(Errno::ENOTTY)
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.inode.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open tmpfs FIFO: one or both ends of the inode's shared pipe.
///
/// Linux blocks `open` of a FIFO for reading until a writer opens it (and
/// for writing until a reader does). Here `open` never blocks; instead a
/// blocking open that is still waiting for its partner is "pending":
/// [`FifoFile::open_pending`] reports it, reads and writes fail with
/// `EAGAIN` until the partner arrives (so a blocking read or write waits on
/// [`FileOps::wait_queue`] for it), and poll reports neither HUP nor OUT.
/// The system call layer may also wait in open itself while
/// `open_pending()` is true; it should wrap the file in its `OpenFile`
/// first so that an interrupted wait releases the end.
pub struct FifoFile {
    inode: Arc<TmpInode>,
    rd: Option<Arc<PipeEnd>>,
    wr: Option<Arc<PipeEnd>>,
    pending: AtomicBool,
    /// The partner side's open count when this end was opened.
    partner_seen: u64,
}

impl FifoFile {
    fn open(inode: Arc<TmpInode>, flags: u32) -> SysResult<Arc<Self>> {
        let Kind::Fifo(state) = &inode.kind else {
            return Err(Errno::EINVAL);
        };
        let nonblock = flags & libc::O_NONBLOCK as u32 != 0;
        let acc = flags & libc::O_ACCMODE as u32;
        let mut st = state.lock().map_err(|_| Errno::EIO)?;
        let pipe = match st.pipe.upgrade() {
            Some(p) if p.ends()? != (0, 0) => p,
            _ => {
                let p = Pipe::new_unattached(inode.ino);
                st.pipe = Arc::downgrade(&p);
                p
            }
        };
        let (readers, writers) = pipe.ends()?;
        let (rd, wr, pending, partner_seen) = if acc == libc::O_RDONLY as u32 {
            let rd = pipe.open_end(false)?;
            st.r_opens += 1;
            (Some(rd), None, !nonblock && writers == 0, st.w_opens)
        } else if acc == libc::O_WRONLY as u32 {
            if readers == 0 && nonblock {
                return Err(Errno::ENXIO);
            }
            let wr = pipe.open_end(true)?;
            st.w_opens += 1;
            (None, Some(wr), !nonblock && readers == 0, st.r_opens)
        } else if acc == libc::O_RDWR as u32 {
            let rd = pipe.open_end(false)?;
            let wr = pipe.open_end(true)?;
            st.r_opens += 1;
            st.w_opens += 1;
            (Some(rd), Some(wr), false, 0)
        } else {
            return Err(Errno::EINVAL);
        };
        drop(st);
        Ok(Arc::new(FifoFile {
            inode,
            rd,
            wr,
            pending: AtomicBool::new(pending),
            partner_seen,
        }))
    }

    /// True while a blocking open still waits for the other side's first
    /// open (a reader for a writer, a writer for a reader).
    pub fn open_pending(&self) -> bool {
        if !self.pending.load(Ordering::Relaxed) {
            return false;
        }
        let Kind::Fifo(state) = &self.inode.kind else {
            return false;
        };
        let Ok(st) = state.lock() else { return false };
        let partner_opens = if self.rd.is_some() {
            st.w_opens
        } else {
            st.r_opens
        };
        if partner_opens != self.partner_seen {
            self.pending.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }
}

impl FileOps for FifoFile {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        let rd = self.rd.as_ref().ok_or(Errno::EBADF)?;
        match rd.read(buf, off) {
            Ok(0) if !buf.is_empty() && self.open_pending() => Err(Errno::EAGAIN),
            r => r,
        }
    }

    fn write(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        let wr = self.wr.as_ref().ok_or(Errno::EBADF)?;
        if self.open_pending() {
            return Err(Errno::EAGAIN);
        }
        wr.write(buf, off)
    }

    fn poll(&self) -> u32 {
        let mut m = 0;
        if let Some(rd) = &self.rd {
            m |= rd.poll();
        }
        if let Some(wr) = &self.wr {
            m |= wr.poll();
        }
        if self.open_pending() {
            m &= !(poll::HUP | poll::OUT | poll::ERR);
        }
        m
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        match (&self.rd, &self.wr) {
            (Some(rd), _) => rd.wait_queue(),
            (None, Some(wr)) => wr.wait_queue(),
            (None, None) => None,
        }
    }

    fn stat(&self) -> SysResult<Attr> {
        self.inode.attr()
    }

    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
        match (&self.rd, &self.wr) {
            (Some(rd), _) => rd.ioctl(cmd, arg, io),
            (None, Some(wr)) => wr.ioctl(cmd, arg, io),
            (None, None) => Err(Errno::ENOTTY),
        }
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.inode.clone())
    }

    fn mmap_source(&self) -> bool {
        false
    }

    fn release(&self) {
        if let Some(rd) = &self.rd {
            rd.release();
        }
        if let Some(wr) = &self.wr {
            wr.release();
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

    const RDONLY: u32 = libc::O_RDONLY as u32;
    const WRONLY: u32 = libc::O_WRONLY as u32;
    const RDWR: u32 = libc::O_RDWR as u32;
    const NONBLOCK: u32 = libc::O_NONBLOCK as u32;

    fn root() -> Arc<dyn Inode> {
        Tmpfs::new(42, 0o1777, 0, 0, None)
    }

    fn err<T>(r: SysResult<T>) -> Errno {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
        dir.readdir()
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect()
    }

    fn write_all(f: &Arc<dyn FileOps>, data: &[u8], off: u64) {
        assert_eq!(f.write(data, off).unwrap(), data.len());
    }

    fn read_vec(f: &Arc<dyn FileOps>, off: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0xAAu8; len];
        let n = f.read(&mut b, off).unwrap();
        b.truncate(n);
        b
    }

    #[test]
    fn root_attrs() {
        let r = root();
        let a = r.attr().unwrap();
        assert!(a.is_dir());
        assert_eq!(a.mode, S_IFDIR | 0o1777);
        assert_eq!(a.dev, 42);
        assert_eq!(a.nlink, 2);
        assert_eq!(a.ino, 1);
    }

    #[test]
    fn create_write_read_truncate() {
        let r = root();
        let f = r.create(b"a", 0o644, 1000, 1000).unwrap();
        assert_eq!(err(r.create(b"a", 0o644, 0, 0)), Errno::EEXIST);
        let a = f.attr().unwrap();
        assert!(a.is_reg());
        assert_eq!(a.mode, S_IFREG | 0o644);
        assert_eq!((a.uid, a.gid, a.nlink, a.size), (1000, 1000, 1, 0));
        assert_ne!(a.ino, r.attr().unwrap().ino);

        let file = f.clone().open(RDWR).unwrap();
        assert!(file.seekable());
        assert_eq!(file.poll(), poll::IN | poll::OUT);
        assert!(file.inode().is_some());
        write_all(&file, b"hello world", 0);
        assert_eq!(read_vec(&file, 0, 100), b"hello world");
        assert_eq!(read_vec(&file, 6, 3), b"wor");
        assert_eq!(read_vec(&file, 11, 10), b"");
        assert_eq!(read_vec(&file, 1000, 10), b"");
        assert_eq!(file.stat().unwrap().size, 11);
        assert_eq!(file.stat().unwrap().blocks, 8);

        // Write past EOF: the gap reads as zeros.
        write_all(&file, b"X", 20);
        assert_eq!(read_vec(&file, 0, 100), b"hello world\0\0\0\0\0\0\0\0\0X");

        // Across a page boundary.
        let big: Vec<u8> = (0..10000u32).map(|i| i as u8).collect();
        write_all(&file, &big, 4000);
        assert_eq!(read_vec(&file, 4000, 10000), big);
        assert_eq!(f.attr().unwrap().size, 14000);
        assert_eq!(f.attr().unwrap().blocks, 4 * 8);

        // Shrink then grow: the old tail must read as zeros.
        f.setattr(&SetAttr {
            size: Some(5),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.attr().unwrap().size, 5);
        assert_eq!(f.attr().unwrap().blocks, 8);
        f.setattr(&SetAttr {
            size: Some(8192),
            ..Default::default()
        })
        .unwrap();
        let back = read_vec(&file, 0, 9000);
        assert_eq!(back.len(), 8192);
        assert_eq!(&back[..5], b"hello");
        assert!(back[5..].iter().all(|&b| b == 0));

        // O_TRUNC on open.
        let _ = f.clone().open(WRONLY | libc::O_TRUNC as u32).unwrap();
        assert_eq!(f.attr().unwrap().size, 0);
        assert_eq!(f.attr().unwrap().blocks, 0);
        assert_eq!(
            err(r.setattr(&SetAttr {
                size: Some(0),
                ..Default::default()
            })),
            Errno::EISDIR
        );
        assert_eq!(
            err(f.clone().open(RDONLY | libc::O_DIRECTORY as u32)),
            Errno::ENOTDIR
        );
        assert_eq!(err(r.clone().open(WRONLY)), Errno::EISDIR);
        assert!(r.clone().open(RDONLY).is_ok());
    }

    #[test]
    fn sparse_write_far_away() {
        let r = root();
        let f = r.create(b"sparse", 0o600, 0, 0).unwrap();
        let file = f.clone().open(RDWR).unwrap();
        let off = 1u64 << 40;
        write_all(&file, b"tail", off);
        let a = f.attr().unwrap();
        assert_eq!(a.size, off + 4);
        assert_eq!(a.blocks, 8, "only one page may be allocated");
        assert_eq!(read_vec(&file, off - 3, 7), b"\0\0\0tail");
        let zeros = read_vec(&file, 12345, 1 << 16);
        assert_eq!(zeros.len(), 1 << 16);
        assert!(zeros.iter().all(|&b| b == 0));
        let (used, _, _) = f.as_any().downcast_ref::<TmpInode>().unwrap().fs_usage();
        assert_eq!(used, PAGE_SIZE as u64);
        // Truncating a sparse giant is cheap too.
        f.setattr(&SetAttr {
            size: Some(1 << 50),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.attr().unwrap().blocks, 8);
        f.setattr(&SetAttr {
            size: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.attr().unwrap().blocks, 0);
        assert_eq!(err(file.write(b"x", i64::MAX as u64)), Errno::EFBIG);
    }

    #[test]
    fn size_limit_gives_enospc() {
        let r = Tmpfs::new(1, 0o755, 0, 0, Some(2 * PAGE_SIZE as u64));
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        let file = f.clone().open(RDWR).unwrap();
        // A write crossing the limit is short...
        assert_eq!(file.write(&[1u8; 3 * PAGE_SIZE], 0).unwrap(), 2 * PAGE_SIZE);
        // ...and one that cannot allocate anything fails.
        assert_eq!(err(file.write(b"x", 2 * PAGE_SIZE as u64)), Errno::ENOSPC);
        // Rewriting allocated pages still works.
        assert_eq!(file.write(b"y", 0).unwrap(), 1);
        // Freed space can be reused, also by other files.
        let g = r.create(b"g", 0o644, 0, 0).unwrap().open(RDWR).unwrap();
        assert_eq!(err(g.write(b"z", 0)), Errno::ENOSPC);
        r.unlink(b"f").unwrap();
        drop(file);
        drop(f);
        assert_eq!(g.write(b"z", 0).unwrap(), 1);
    }

    #[test]
    fn times_change() {
        let r = root();
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        let old = (1, 0);
        f.setattr(&SetAttr {
            atime: Some(old),
            mtime: Some(old),
            ..Default::default()
        })
        .unwrap();
        let a = f.attr().unwrap();
        assert_eq!((a.atime, a.mtime), (old, old));
        assert!(a.ctime > old);
        f.clone().open(WRONLY).unwrap().write(b"x", 0).unwrap();
        assert!(f.attr().unwrap().mtime > old);

        r.setattr(&SetAttr {
            mtime: Some(old),
            ..Default::default()
        })
        .unwrap();
        r.create(b"g", 0o644, 0, 0).unwrap();
        assert!(r.attr().unwrap().mtime > old);

        f.setattr(&SetAttr {
            mode: Some(0o4700 | S_IFDIR),
            uid: Some(7),
            gid: Some(8),
            ..Default::default()
        })
        .unwrap();
        let a = f.attr().unwrap();
        assert_eq!(a.mode, S_IFREG | 0o4700);
        assert_eq!((a.uid, a.gid), (7, 8));
    }

    #[test]
    fn dir_nlink_and_rmdir() {
        let r = root();
        let d = r.mkdir(b"d", 0o755, 0, 0).unwrap();
        assert_eq!(r.attr().unwrap().nlink, 3);
        assert_eq!(d.attr().unwrap().nlink, 2);
        d.mkdir(b"sub", 0o755, 0, 0).unwrap();
        d.create(b"file", 0o644, 0, 0).unwrap();
        assert_eq!(d.attr().unwrap().nlink, 3);
        assert_eq!(err(r.rmdir(b"d")), Errno::ENOTEMPTY);
        assert_eq!(err(d.rmdir(b"file")), Errno::ENOTDIR);
        assert_eq!(err(d.rmdir(b"nope")), Errno::ENOENT);
        assert_eq!(err(d.unlink(b"sub")), Errno::EISDIR);
        d.rmdir(b"sub").unwrap();
        d.unlink(b"file").unwrap();
        assert_eq!(d.attr().unwrap().nlink, 2);
        r.rmdir(b"d").unwrap();
        assert_eq!(r.attr().unwrap().nlink, 2);
        assert_eq!(d.attr().unwrap().nlink, 0);
        // Nothing can be created in a removed directory.
        assert_eq!(err(d.create(b"x", 0o644, 0, 0)), Errno::ENOENT);
        assert_eq!(err(r.lookup(b"d")), Errno::ENOENT);
    }

    #[test]
    fn hard_links() {
        let r = root();
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        let d = r.mkdir(b"d", 0o755, 0, 0).unwrap();
        d.link(b"g", &f).unwrap();
        r.link(b"h", &f).unwrap();
        assert_eq!(f.attr().unwrap().nlink, 3);
        assert_eq!(err(r.link(b"h", &f)), Errno::EEXIST);
        assert_eq!(err(r.link(b"dd", &d)), Errno::EPERM);
        let other = root().create(b"x", 0o644, 0, 0).unwrap();
        assert_eq!(err(r.link(b"x", &other)), Errno::EXDEV);
        let g = d.lookup(b"g").unwrap();
        assert_eq!(g.attr().unwrap().ino, f.attr().unwrap().ino);
        f.clone().open(WRONLY).unwrap().write(b"shared", 0).unwrap();
        let mut b = [0u8; 6];
        g.open(RDONLY).unwrap().read(&mut b, 0).unwrap();
        assert_eq!(&b, b"shared");
        r.unlink(b"f").unwrap();
        d.unlink(b"g").unwrap();
        assert_eq!(f.attr().unwrap().nlink, 1);
        r.unlink(b"h").unwrap();
        assert_eq!(f.attr().unwrap().nlink, 0);
        assert_eq!(err(r.link(b"again", &f)), Errno::ENOENT);
    }

    #[test]
    fn symlinks_and_special_nodes() {
        let r = root();
        let l = r.symlink(b"l", b"/some/where", 3, 4).unwrap();
        let a = l.attr().unwrap();
        assert!(a.is_symlink());
        assert_eq!(a.mode, S_IFLNK | 0o777);
        assert_eq!(a.size, 11);
        assert_eq!(l.readlink().unwrap(), b"/some/where");
        assert_eq!(err(r.readlink()), Errno::EINVAL);
        assert_eq!(err(l.clone().open(RDONLY)), Errno::ELOOP);
        assert_eq!(err(r.symlink(b"l", b"x", 0, 0)), Errno::EEXIST);
        assert_eq!(err(r.symlink(b"e", b"", 0, 0)), Errno::ENOENT);

        let s = r.mknod(b"sock", S_IFSOCK | 0o755, 0, 0, 0).unwrap();
        assert_eq!(s.attr().unwrap().mode, S_IFSOCK | 0o755);
        assert_eq!(err(s.open(RDWR)), Errno::ENXIO);
        assert_eq!(
            err(r.mknod(b"c", super::super::S_IFCHR | 0o600, 0x103, 0, 0)),
            Errno::EPERM
        );
        assert_eq!(err(r.mknod(b"b", 0o060600, 0x103, 0, 0)), Errno::EPERM);
        let reg = r.mknod(b"reg", 0o640, 0, 0, 0).unwrap();
        assert_eq!(reg.attr().unwrap().mode, S_IFREG | 0o640);
        let dtypes: Vec<u8> = r.readdir().unwrap().iter().map(|e| e.dtype).collect();
        assert_eq!(dtypes, vec![libc::DT_LNK, libc::DT_REG, libc::DT_SOCK]);
    }

    #[test]
    fn xattrs_on_files_symlinks_and_links() {
        use crate::fs::xattr::{CREATE, REPLACE};
        let r = root();
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        let before = f.attr().unwrap().ctime;
        f.setxattr(b"user.b", b"2", 0).unwrap();
        f.setxattr(b"user.a", b"1", CREATE).unwrap();
        f.setxattr(b"trusted.t", b"", 0).unwrap();
        assert!(f.attr().unwrap().ctime >= before);
        assert_eq!(err(f.setxattr(b"user.a", b"x", CREATE)), Errno::EEXIST);
        assert_eq!(err(f.setxattr(b"user.c", b"x", REPLACE)), Errno::ENODATA);
        assert_eq!(err(f.setxattr(b"user.", b"x", 0)), Errno::EINVAL);
        assert_eq!(err(f.setxattr(b"other.x", b"x", 0)), Errno::EOPNOTSUPP);
        assert_eq!(
            err(f.getxattr(b"system.posix_acl_access")),
            Errno::EOPNOTSUPP
        );
        assert_eq!(f.getxattr(b"user.a").unwrap(), b"1");
        assert_eq!(f.getxattr(b"trusted.t").unwrap(), b"");
        assert_eq!(err(f.getxattr(b"user.zz")), Errno::ENODATA);
        // Sorted by name.
        assert_eq!(
            f.listxattr().unwrap(),
            vec![
                b"trusted.t".to_vec(),
                b"user.a".to_vec(),
                b"user.b".to_vec()
            ]
        );
        // A hard link is the same inode: same attributes.
        r.link(b"g", &f).unwrap();
        let g = r.lookup(b"g").unwrap();
        assert_eq!(g.getxattr(b"user.b").unwrap(), b"2");
        g.removexattr(b"user.b").unwrap();
        assert_eq!(err(f.getxattr(b"user.b")), Errno::ENODATA);
        assert_eq!(err(f.removexattr(b"user.b")), Errno::ENODATA);
        // Symlinks hold trusted.* and security.* (the VFS refuses user.*).
        let l = r.symlink(b"l", b"f", 0, 0).unwrap();
        l.setxattr(b"security.s", b"v", 0).unwrap();
        assert_eq!(l.listxattr().unwrap(), vec![b"security.s".to_vec()]);
        // Space comes back when the inodes go.
        let t = r.as_any().downcast_ref::<TmpInode>().unwrap();
        assert!(t.xattr_usage() > 0);
        drop((f, g, l));
        r.unlink(b"f").unwrap();
        r.unlink(b"g").unwrap();
        r.unlink(b"l").unwrap();
        assert_eq!(t.xattr_usage(), 0);
    }

    #[test]
    fn xattr_space_is_bounded() {
        let r = Tmpfs::new(43, 0o755, 0, 0, Some(8192));
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        f.setxattr(b"user.a", &[7; 4000], 0).unwrap();
        f.setxattr(b"user.b", &[7; 4000], 0).unwrap();
        assert_eq!(err(f.setxattr(b"user.c", &[7; 4000], 0)), Errno::ENOSPC);
        f.removexattr(b"user.a").unwrap();
        f.setxattr(b"user.c", &[7; 4000], 0).unwrap();
        let big = Tmpfs::new(44, 0o755, 0, 0, None);
        let h = big.create(b"h", 0o644, 0, 0).unwrap();
        h.setxattr(b"user.max", &[1; 65536], 0).unwrap();
        assert_eq!(h.getxattr(b"user.max").unwrap().len(), 65536);
    }

    #[test]
    fn readdir_is_sorted_and_stable() {
        let r = root();
        for n in ["zeta", "alpha", "mid", "beta"] {
            r.create(n.as_bytes(), 0o644, 0, 0).unwrap();
        }
        r.mkdir(b"dir", 0o755, 0, 0).unwrap();
        assert_eq!(names(&r), ["alpha", "beta", "dir", "mid", "zeta"]);
        assert_eq!(names(&r), ["alpha", "beta", "dir", "mid", "zeta"]);
        let e = r.readdir().unwrap();
        assert_eq!(e[2].dtype, libc::DT_DIR);
        assert_eq!(e[2].ino, r.lookup(b"dir").unwrap().attr().unwrap().ino);
        assert_eq!(r.attr().unwrap().size, (5 + 2) * BOGO_DIRENT_SIZE);
        assert_eq!(err(r.create(b"a/b", 0o644, 0, 0)), Errno::EINVAL);
        assert_eq!(err(r.mkdir(b".", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(
            err(r.create(&[b'x'; 256], 0o644, 0, 0)),
            Errno::ENAMETOOLONG
        );
    }

    #[test]
    fn tmpfile_links_once_unless_excl() {
        let r = root();
        let t = r.tmpfile(0o600, 0, 0, true).unwrap();
        assert_eq!(t.attr().unwrap().nlink, 0);
        assert!(names(&r).is_empty());
        r.link(b"a", &t).unwrap();
        assert_eq!(t.attr().unwrap().nlink, 1);
        r.unlink(b"a").unwrap();
        assert_eq!(err(r.link(b"b", &t)), Errno::ENOENT);
        let x = r.tmpfile(0o600, 0, 0, false).unwrap();
        assert_eq!(err(r.link(b"c", &x)), Errno::ENOENT);
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        assert_eq!(err(f.tmpfile(0o600, 0, 0, true)), Errno::ENOTDIR);
    }

    #[test]
    fn rename_noreplace_and_exchange() {
        let r = root();
        let a = r.mkdir(b"a", 0o755, 0, 0).unwrap();
        let b = r.mkdir(b"b", 0o755, 0, 0).unwrap();
        a.create(b"f", 0o644, 0, 0).unwrap();
        b.mkdir(b"sub", 0o755, 0, 0).unwrap();
        let x = libc::RENAME_EXCHANGE;
        assert_eq!(
            err(a.rename(b"f", &b, b"sub", libc::RENAME_NOREPLACE)),
            Errno::EEXIST
        );
        assert_eq!(err(a.rename(b"f", &b, b"none", x)), Errno::ENOENT);
        a.rename(b"f", &b, b"sub", x).unwrap();
        assert!(a.lookup(b"f").unwrap().attr().unwrap().is_dir());
        assert!(b.lookup(b"sub").unwrap().attr().unwrap().is_reg());
        assert_eq!(a.attr().unwrap().nlink, 3);
        assert_eq!(b.attr().unwrap().nlink, 2);
        // The moved directory's ".." follows it.
        let moved = a.lookup(b"f").unwrap();
        assert!(Arc::ptr_eq(&moved.lookup(b"..").unwrap(), &a));
        assert_eq!(err(a.rename(b"f", &moved, b"x", x)), Errno::EINVAL);
        assert_eq!(err(r.rename(b"a", &moved, b"x", x)), Errno::EINVAL);
        assert_eq!(err(moved.rename(b"..", &r, b"b", x)), Errno::EBUSY);
        r.rename(b"a", &r, b"b", x).unwrap();
        assert!(r.lookup(b"b").unwrap().lookup(b"f").is_ok());
    }

    #[test]
    fn rename_rules() {
        let r = root();
        let a = r.mkdir(b"a", 0o755, 0, 0).unwrap();
        let b = a.mkdir(b"b", 0o755, 0, 0).unwrap();
        let f1 = r.create(b"f1", 0o644, 0, 0).unwrap();
        let f2 = r.create(b"f2", 0o644, 0, 0).unwrap();
        let empty = r.mkdir(b"empty", 0o755, 0, 0).unwrap();
        let rdyn = r.clone();
        let adyn = a.clone();
        let bdyn = b.clone();

        // File over file: the victim loses a link.
        r.rename(b"f1", &rdyn, b"f2", 0).unwrap();
        assert_eq!(f2.attr().unwrap().nlink, 0);
        assert_eq!(
            r.lookup(b"f2").unwrap().attr().unwrap().ino,
            f1.attr().unwrap().ino
        );
        assert_eq!(err(r.lookup(b"f1")), Errno::ENOENT);

        // Missing source.
        assert_eq!(err(r.rename(b"f1", &rdyn, b"x", 0)), Errno::ENOENT);
        // File onto dir, dir onto file.
        assert_eq!(err(r.rename(b"f2", &rdyn, b"empty", 0)), Errno::EISDIR);
        assert_eq!(err(r.rename(b"empty", &rdyn, b"f2", 0)), Errno::ENOTDIR);
        // Dir onto non-empty dir.
        assert_eq!(err(r.rename(b"empty", &rdyn, b"a", 0)), Errno::ENOTEMPTY);
        // A dir into its own subtree, or onto itself as a child.
        assert_eq!(err(r.rename(b"a", &bdyn, b"x", 0)), Errno::EINVAL);
        assert_eq!(err(r.rename(b"a", &adyn, b"x", 0)), Errno::EINVAL);
        // Cross file system.
        let other: Arc<dyn Inode> = root();
        assert_eq!(err(r.rename(b"f2", &other, b"f2", 0)), Errno::EXDEV);
        // Renaming onto itself does nothing.
        r.rename(b"f2", &rdyn, b"f2", 0).unwrap();
        assert_eq!(f1.attr().unwrap().nlink, 1);

        // Dir onto empty dir; link counts follow.
        assert_eq!(r.attr().unwrap().nlink, 4); // a, empty
        a.rename(b"b", &rdyn, b"empty", 0).unwrap();
        assert_eq!(empty.attr().unwrap().nlink, 0);
        assert_eq!(err(empty.create(b"x", 0o644, 0, 0)), Errno::ENOENT);
        assert_eq!(r.attr().unwrap().nlink, 4); // a, empty(=b)
        assert_eq!(a.attr().unwrap().nlink, 2);
        assert_eq!(
            r.lookup(b"empty").unwrap().attr().unwrap().ino,
            b.attr().unwrap().ino
        );
        // b's parent is now the root: moving the root's child "a" into b
        // is fine, and then moving b into a is a loop.
        r.rename(b"a", &bdyn, b"a", 0).unwrap();
        assert_eq!(r.attr().unwrap().nlink, 3);
        assert_eq!(b.attr().unwrap().nlink, 3);
        assert_eq!(err(r.rename(b"empty", &adyn, b"loop", 0)), Errno::EINVAL);
        // Hard links of one file: no-op.
        r.link(b"f3", &f1).unwrap();
        r.rename(b"f2", &rdyn, b"f3", 0).unwrap();
        assert_eq!(names(&r), ["empty", "f2", "f3"]);
        assert_eq!(f1.attr().unwrap().nlink, 2);
        // Renaming into a subdirectory.
        r.rename(b"f3", &bdyn, b"moved", 0).unwrap();
        assert_eq!(names(&bdyn), ["a", "moved"]);
        assert_eq!(names(&r), ["empty", "f2"]);
    }

    #[test]
    fn fifo_nonblocking_ends() {
        let r = root();
        let p = r.mknod(b"p", S_IFIFO | 0o644, 0, 0, 0).unwrap();
        assert_eq!(p.attr().unwrap().mode, S_IFIFO | 0o644);
        assert_eq!(err(p.clone().open(WRONLY | NONBLOCK)), Errno::ENXIO);
        let rd = p.clone().open(RDONLY | NONBLOCK).unwrap();
        assert!(!rd.seekable());
        let mut b = [0u8; 8];
        // No writer has ever come: a nonblocking reader sees EOF.
        assert_eq!(rd.read(&mut b, 0).unwrap(), 0);
        let wr = p.clone().open(WRONLY | NONBLOCK).unwrap();
        assert_eq!(err(rd.read(&mut b, 0)), Errno::EAGAIN);
        assert_eq!(wr.write(b"hi", 0).unwrap(), 2);
        assert_ne!(rd.poll() & poll::IN, 0);
        assert_eq!(rd.read(&mut b, 0).unwrap(), 2);
        assert_eq!(&b[..2], b"hi");
        assert_eq!(rd.stat().unwrap().ino, p.attr().unwrap().ino);
        wr.release();
        assert_eq!(rd.read(&mut b, 0).unwrap(), 0);
        assert_ne!(rd.poll() & poll::HUP, 0);
        rd.release();
    }

    #[test]
    fn fifo_blocking_open_rendezvous() {
        let r = root();
        let p = r.mknod(b"p", S_IFIFO | 0o644, 0, 0, 0).unwrap();
        let rd = p.clone().open(RDONLY).unwrap();
        let pending = |f: &Arc<dyn FileOps>| {
            f.as_any()
                .downcast_ref::<FifoFile>()
                .unwrap()
                .open_pending()
        };
        assert!(pending(&rd));
        let mut b = [0u8; 8];
        // Blocking reader before any writer: wait, not EOF, no HUP.
        assert_eq!(err(rd.read(&mut b, 0)), Errno::EAGAIN);
        assert_eq!(rd.poll() & poll::HUP, 0);
        let wr = p.clone().open(WRONLY).unwrap();
        assert!(!pending(&wr), "a reader is already there");
        assert!(!pending(&rd));
        wr.write(b"abc", 0).unwrap();
        assert_eq!(rd.read(&mut b, 0).unwrap(), 3);
        wr.release();
        rd.release();

        // Writer first: writes wait for a reader instead of EPIPE.
        let wr = p.clone().open(WRONLY).unwrap();
        assert!(pending(&wr));
        assert_eq!(err(wr.write(b"x", 0)), Errno::EAGAIN);
        assert_eq!(wr.poll() & (poll::OUT | poll::ERR), 0);
        let rd = p.clone().open(RDONLY).unwrap();
        assert!(!pending(&wr));
        assert_eq!(wr.write(b"x", 0).unwrap(), 1);
        // The reader closes: EPIPE.
        rd.release();
        assert_eq!(err(wr.write(b"x", 0)), Errno::EPIPE);
        wr.release();

        // O_RDWR never waits; a fresh pipe starts empty.
        let both = p.clone().open(RDWR).unwrap();
        assert!(!pending(&both));
        assert_eq!(err(both.read(&mut b, 0)), Errno::EAGAIN);
        both.write(b"loop", 0).unwrap();
        assert_eq!(both.read(&mut b, 0).unwrap(), 4);
        assert!(both.wait_queue().is_some());
        both.release();
    }

    #[test]
    fn deep_tree_drops_without_recursion() {
        let r = root();
        let mut cur = r.clone();
        for _ in 0..100_000 {
            cur = cur.mkdir(b"d", 0o755, 0, 0).unwrap();
        }
        drop(cur);
        drop(r);
    }

    #[test]
    fn lookup_errors() {
        let r = root();
        let f = r.create(b"f", 0o644, 0, 0).unwrap();
        assert_eq!(err(r.lookup(b"missing")), Errno::ENOENT);
        assert_eq!(err(f.lookup(b"x")), Errno::ENOTDIR);
        assert_eq!(err(f.readdir()), Errno::ENOTDIR);
        assert_eq!(err(f.mkdir(b"x", 0o755, 0, 0)), Errno::ENOTDIR);
    }
}
