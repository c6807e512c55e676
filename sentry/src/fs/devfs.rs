//! devfs: the sandbox's `/dev`, a small fixed directory served by the
//! sentry.
//!
//! * character devices `null`, `zero`, `full`, `random`, `urandom`,
//!   `tty` (the caller's controlling terminal; `ENXIO` without one) and,
//!   when the sandbox has a console terminal, `console`;
//! * `shm`, a writable tmpfs (mode 1777), and `pts`, the mountpoint of
//!   devpts;
//! * symlinks `fd`, `stdin`, `stdout`, `stderr` into `/proc/self/fd`, and
//!   `ptmx` → `pts/ptmx` (as runc sets up a container's /dev).
//!
//! Nothing can be created in `/dev` itself (`EROFS`); `shm` takes anything.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::tmpfs::Tmpfs;
use super::vfs::DirFile;
use super::{poll, Attr, DirEntry, FileOps, Inode, SetAttr, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT};
use crate::{Errno, SysResult};

/// Inode numbers of the `shm` tmpfs start above this, so they never clash
/// with devfs's own (both share one device number).
const SHM_INO_BASE: u64 = 1 << 32;

fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(_) => (0, 0),
    }
}

/// Changeable attributes of a devfs inode.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: (i64, u32),
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl Meta {
    fn new(mode: u32) -> Mutex<Self> {
        let t = now();
        Mutex::new(Meta {
            mode,
            uid: 0,
            gid: 0,
            atime: t,
            mtime: t,
            ctime: t,
        })
    }

    /// Applies chmod/chown/utimes; size changes fail with `size_err`.
    fn apply(this: &Mutex<Self>, change: &SetAttr, size_err: Errno) -> SysResult<()> {
        if change.size.is_some() {
            return Err(size_err);
        }
        let mut m = this.lock().map_err(|_| Errno::EIO)?;
        if let Some(mode) = change.mode {
            m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = change.uid {
            m.uid = uid;
        }
        if let Some(gid) = change.gid {
            m.gid = gid;
        }
        if let Some(a) = change.atime {
            m.atime = a;
        }
        if let Some(t) = change.mtime {
            m.mtime = t;
        }
        m.ctime = now();
        Ok(())
    }

    fn attr(this: &Mutex<Self>, ino: u64, dev: u64) -> SysResult<Attr> {
        let m = this.lock().map_err(|_| Errno::EIO)?;
        Ok(Attr {
            ino,
            dev,
            mode: m.mode,
            nlink: 1,
            uid: m.uid,
            gid: m.gid,
            blksize: 4096,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            ..Attr::default()
        })
    }
}

/// A fixed, read-only devfs directory (`/dev` itself and `/dev/pts`).
pub struct DevDir {
    ino: u64,
    dev: u64,
    meta: Mutex<Meta>,
    entries: BTreeMap<Vec<u8>, Arc<dyn Inode>>,
}

impl DevDir {
    fn new(ino: u64, dev: u64, entries: BTreeMap<Vec<u8>, Arc<dyn Inode>>) -> Arc<Self> {
        Arc::new(DevDir {
            ino,
            dev,
            meta: Meta::new(S_IFDIR | 0o755),
            entries,
        })
    }
}

impl Inode for DevDir {
    fn attr(&self) -> SysResult<Attr> {
        let mut a = Meta::attr(&self.meta, self.ino, self.dev)?;
        let mut subdirs = 0u64;
        for e in self.entries.values() {
            if e.attr()?.is_dir() {
                subdirs += 1;
            }
        }
        a.nlink = 2 + subdirs;
        a.size = (self.entries.len() as u64 + 2) * 20;
        Ok(a)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        self.entries.get(name).cloned().ok_or(Errno::ENOENT)
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (name, inode) in &self.entries {
            let a = inode.attr()?;
            out.push(DirEntry {
                ino: a.ino,
                dtype: a.dtype(),
                name: name.clone(),
            });
        }
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        if flags & libc::O_ACCMODE as u32 != libc::O_RDONLY as u32
            || flags & libc::O_TRUNC as u32 != 0
        {
            return Err(Errno::EISDIR);
        }
        Ok(DirFile::new(self))
    }

    fn rmdir(&self, name: &[u8]) -> SysResult<()> {
        if self.entries.contains_key(name) {
            Err(Errno::EROFS)
        } else {
            Err(Errno::ENOENT)
        }
    }

    fn unlink(&self, name: &[u8]) -> SysResult<()> {
        if self.entries.contains_key(name) {
            Err(Errno::EROFS)
        } else {
            Err(Errno::ENOENT)
        }
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        Meta::apply(&self.meta, change, Errno::EISDIR)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A devfs symbolic link.
pub struct DevLink {
    ino: u64,
    dev: u64,
    target: &'static [u8],
}

impl Inode for DevLink {
    fn attr(&self) -> SysResult<Attr> {
        Ok(Attr {
            ino: self.ino,
            dev: self.dev,
            mode: S_IFLNK | 0o777,
            nlink: 1,
            size: self.target.len() as u64,
            blksize: 4096,
            ..Attr::default()
        })
    }

    fn readlink(&self) -> SysResult<Vec<u8>> {
        Ok(self.target.to_vec())
    }

    fn open(self: Arc<Self>, _flags: u32) -> SysResult<Arc<dyn FileOps>> {
        Err(Errno::ELOOP)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Which character device a [`DevNode`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevKind {
    /// `/dev/null`: reads end at once, writes vanish.
    Null,
    /// `/dev/zero`: reads give zeros, writes vanish.
    Zero,
    /// `/dev/full`: reads give zeros, writes fail with `ENOSPC`.
    Full,
    /// `/dev/random`: host randomness.
    Random,
    /// `/dev/urandom`: host randomness.
    Urandom,
    /// `/dev/tty`: the caller's controlling terminal.
    Tty,
    /// `/dev/console`: the sandbox's console terminal.
    Console,
}

impl DevKind {
    /// The device's (major, minor) on Linux.
    pub fn numbers(self) -> (u32, u32) {
        match self {
            DevKind::Null => (1, 3),
            DevKind::Zero => (1, 5),
            DevKind::Full => (1, 7),
            DevKind::Random => (1, 8),
            DevKind::Urandom => (1, 9),
            DevKind::Tty => (5, 0),
            DevKind::Console => (5, 1),
        }
    }
}

/// A character device inode.
pub struct DevNode {
    ino: u64,
    dev: u64,
    kind: DevKind,
    meta: Mutex<Meta>,
}

impl DevNode {
    fn new(ino: u64, dev: u64, kind: DevKind) -> Arc<Self> {
        let mode = if kind == DevKind::Console {
            S_IFCHR | 0o600
        } else {
            S_IFCHR | 0o666
        };
        Arc::new(DevNode {
            ino,
            dev,
            kind,
            meta: Meta::new(mode),
        })
    }

    /// Which device this is.
    pub fn kind(&self) -> DevKind {
        self.kind
    }
}

impl Inode for DevNode {
    fn attr(&self) -> SysResult<Attr> {
        let mut a = Meta::attr(&self.meta, self.ino, self.dev)?;
        let (major, minor) = self.kind.numbers();
        a.rdev = libc::makedev(major, minor);
        Ok(a)
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        if flags & libc::O_DIRECTORY as u32 != 0 {
            return Err(Errno::ENOTDIR);
        }
        match self.kind {
            DevKind::Tty => {
                // The caller's controlling terminal; opening it never
                // makes it anyone's controlling terminal.
                let task = crate::kernel::current_task().ok_or(Errno::ENXIO)?;
                let term = crate::tty::jobctl::ctty_of(&task.tg).ok_or(Errno::ENXIO)?;
                Ok(super::devpts::open_slave(&term, self, true)?)
            }
            DevKind::Console => {
                let task = crate::kernel::current_task().ok_or(Errno::ENXIO)?;
                let term = task.kernel.console().ok_or(Errno::ENXIO)?;
                Ok(super::devpts::open_slave(&term, self, true)?)
            }
            _ => Ok(Arc::new(DevFile { node: self })),
        }
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        Meta::apply(&self.meta, change, Errno::EINVAL)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Fills `buf` from the host's random pool.
fn host_random(buf: &mut [u8]) -> SysResult<usize> {
    let mut done = 0usize;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`,
        // the sentry's own live buffer.
        let r = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            if e == libc::EINTR {
                continue;
            }
            if done > 0 {
                break;
            }
            return Err(Errno::new(e));
        }
        if r == 0 {
            break;
        }
        done += r as usize;
    }
    Ok(done)
}

/// An open character device.
pub struct DevFile {
    node: Arc<DevNode>,
}

impl FileOps for DevFile {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        match self.node.kind {
            DevKind::Null => Ok(0),
            DevKind::Zero | DevKind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            DevKind::Random | DevKind::Urandom => host_random(buf),
            DevKind::Tty | DevKind::Console => Err(Errno::ENXIO),
        }
    }

    fn discards_writes(&self) -> bool {
        matches!(self.node.kind, DevKind::Null | DevKind::Zero)
    }

    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        match self.node.kind {
            DevKind::Null | DevKind::Zero | DevKind::Random | DevKind::Urandom => Ok(buf.len()),
            DevKind::Full => Err(Errno::ENOSPC),
            DevKind::Tty | DevKind::Console => Err(Errno::ENXIO),
        }
    }

    fn seekable(&self) -> bool {
        // Linux lets lseek and pread/pwrite through on these devices.
        true
    }

    fn poll(&self) -> u32 {
        poll::IN | poll::OUT
    }

    fn stat(&self) -> SysResult<Attr> {
        self.node.attr()
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }

    fn mmap_source(&self) -> bool {
        // Only /dev/zero can be mapped (its size is 0, so a private mapping
        // is simply anonymous memory).
        self.node.kind == DevKind::Zero
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Builds the sandbox's `/dev` on device `dev` and returns its root;
/// `console` adds `/dev/console` (the sandbox has a console terminal).
pub fn new_devfs(dev: u64, console: bool) -> Arc<dyn Inode> {
    let mut next = 1u64;
    let mut ino = || {
        next += 1;
        next
    };
    let mut entries: BTreeMap<Vec<u8>, Arc<dyn Inode>> = BTreeMap::new();
    let devices = [
        ("null", DevKind::Null),
        ("zero", DevKind::Zero),
        ("full", DevKind::Full),
        ("random", DevKind::Random),
        ("urandom", DevKind::Urandom),
        ("tty", DevKind::Tty),
    ];
    for (name, kind) in devices {
        entries.insert(name.into(), DevNode::new(ino(), dev, kind));
    }
    if console {
        entries.insert(
            b"console".to_vec(),
            DevNode::new(ino(), dev, DevKind::Console),
        );
    }
    let links: [(&str, &'static [u8]); 5] = [
        ("ptmx", b"pts/ptmx"),
        ("fd", b"/proc/self/fd"),
        ("stdin", b"/proc/self/fd/0"),
        ("stdout", b"/proc/self/fd/1"),
        ("stderr", b"/proc/self/fd/2"),
    ];
    for (name, target) in links {
        entries.insert(
            name.into(),
            Arc::new(DevLink {
                ino: ino(),
                dev,
                target,
            }),
        );
    }
    entries.insert(b"pts".to_vec(), DevDir::new(ino(), dev, BTreeMap::new()));
    entries.insert(
        b"shm".to_vec(),
        Tmpfs::new_root(dev, SHM_INO_BASE, 0o1777, 0, 0, None),
    );
    DevDir::new(1, dev, entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const RDWR: u32 = libc::O_RDWR as u32;

    fn err<T>(r: SysResult<T>) -> Errno {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    fn open(root: &Arc<dyn Inode>, name: &str) -> Arc<dyn FileOps> {
        root.lookup(name.as_bytes()).unwrap().open(RDWR).unwrap()
    }

    #[test]
    fn listing_and_attrs() {
        let root = new_devfs(9, false);
        let names: Vec<String> = root
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
                "tty", "urandom", "zero"
            ]
        );
        let a = root.attr().unwrap();
        assert_eq!(a.mode, S_IFDIR | 0o755);
        assert_eq!(a.nlink, 4);
        let expect = [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
        ];
        let mut inos = std::collections::HashSet::new();
        for (name, major, minor) in expect {
            let a = root.lookup(name.as_bytes()).unwrap().attr().unwrap();
            assert_eq!(a.mode, S_IFCHR | 0o666, "{name}");
            assert_eq!(a.rdev, libc::makedev(major, minor), "{name}");
            assert_eq!(a.dev, 9);
            assert!(inos.insert(a.ino));
        }
        for e in root.readdir().unwrap() {
            assert_eq!(e.ino, root.lookup(&e.name).unwrap().attr().unwrap().ino);
        }
        let fd = root.lookup(b"fd").unwrap();
        assert_eq!(fd.readlink().unwrap(), b"/proc/self/fd");
        assert_eq!(
            root.lookup(b"stderr").unwrap().readlink().unwrap(),
            b"/proc/self/fd/2"
        );
        assert_eq!(err(root.lookup(b"nope")), Errno::ENOENT);
        assert_eq!(err(root.lookup(b"tty").unwrap().open(RDWR)), Errno::ENXIO);
    }

    #[test]
    fn null_zero_full() {
        let root = new_devfs(9, false);
        let mut b = [7u8; 64];
        let null = open(&root, "null");
        assert_eq!(null.read(&mut b, 0).unwrap(), 0);
        assert_eq!(null.write(&b, 0).unwrap(), 64);
        assert_eq!(null.stat().unwrap().rdev, libc::makedev(1, 3));

        let zero = open(&root, "zero");
        assert_eq!(zero.read(&mut b, 123).unwrap(), 64);
        assert!(b.iter().all(|&x| x == 0));
        assert_eq!(zero.write(b"abc", 0).unwrap(), 3);
        assert!(zero.mmap_source());
        assert!(!null.mmap_source());

        let full = open(&root, "full");
        b.fill(7);
        assert_eq!(full.read(&mut b, 0).unwrap(), 64);
        assert!(b.iter().all(|&x| x == 0));
        assert_eq!(err(full.write(b"x", 0)), Errno::ENOSPC);
    }

    #[test]
    fn urandom_and_random() {
        let root = new_devfs(9, false);
        for name in ["urandom", "random"] {
            let f = open(&root, name);
            let mut a = [0u8; 4096];
            let mut b = [0u8; 4096];
            assert_eq!(f.read(&mut a, 0).unwrap(), a.len());
            assert_eq!(f.read(&mut b, 0).unwrap(), b.len());
            assert_ne!(a, b);
            assert!(a.iter().any(|&x| x != 0));
            assert_eq!(f.write(b"entropy", 0).unwrap(), 7);
        }
    }

    #[test]
    fn read_only_except_shm() {
        let root = new_devfs(9, false);
        assert_eq!(err(root.create(b"x", 0o644, 0, 0)), Errno::EROFS);
        assert_eq!(err(root.mkdir(b"x", 0o755, 0, 0)), Errno::EROFS);
        assert_eq!(err(root.symlink(b"x", b"y", 0, 0)), Errno::EROFS);
        assert_eq!(err(root.unlink(b"null")), Errno::EROFS);
        assert_eq!(err(root.rmdir(b"shm")), Errno::EROFS);
        let pts = root.lookup(b"pts").unwrap();
        assert!(pts.readdir().unwrap().is_empty());
        assert_eq!(err(pts.create(b"x", 0o644, 0, 0)), Errno::EROFS);

        let shm = root.lookup(b"shm").unwrap();
        let a = shm.attr().unwrap();
        assert_eq!(a.mode, S_IFDIR | 0o1777);
        assert_eq!(a.dev, 9);
        assert!(a.ino > SHM_INO_BASE);
        let f = shm.create(b"sem.x", 0o600, 1000, 1000).unwrap();
        assert!(f.attr().unwrap().ino > SHM_INO_BASE);
        let file = f.clone().open(RDWR).unwrap();
        assert_eq!(file.write(b"shared", 0).unwrap(), 6);
        let mut b = [0u8; 6];
        assert_eq!(file.read(&mut b, 0).unwrap(), 6);
        assert_eq!(&b, b"shared");
        // Cross-fs link into shm.
        let null = root.lookup(b"null").unwrap();
        assert_eq!(err(shm.link(b"n", &null)), Errno::EXDEV);
    }

    #[test]
    fn console_node_when_asked() {
        assert!(new_devfs(9, false).lookup(b"console").is_err());
        let root = new_devfs(9, true);
        let c = root.lookup(b"console").unwrap();
        let node = c.as_any().downcast_ref::<DevNode>().unwrap();
        assert_eq!(node.kind(), DevKind::Console);
        assert_eq!(c.attr().unwrap().rdev, libc::makedev(5, 1));
        // No task on this thread: no console to open.
        assert_eq!(err(c.open(RDWR)), Errno::ENXIO);
        assert_eq!(
            root.lookup(b"ptmx").unwrap().readlink().unwrap(),
            b"pts/ptmx"
        );
    }
}
