//! devpts: the sandbox's `/dev/pts`, where pseudo-terminal pairs live.
//!
//! Opening `ptmx` (`/dev/pts/ptmx`; `/dev/ptmx` is a symlink to it)
//! creates a pair ([`Terminal`]) with the lowest free number N and gives
//! its master; the slave appears as `/dev/pts/N` (character device 136:N,
//! owned by the creator, group tty, mode 0620, locked until TIOCSPTLCK
//! unlocks it) and disappears when the master's last descriptor closes.
//! Opening a slave without O_NOCTTY makes it the controlling terminal of
//! a session leader that has none.
//!
//! [`MasterFile`] and [`SlaveFile`] are the open files. Their plain
//! [`FileOps`] reads and writes never block and do no job control; the
//! system-call layer (`syscalls::tty`) recognises them with
//! [`tty_file`] and adds blocking, VMIN/VTIME, job control and the
//! terminal ioctls.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use super::vfs::{Dentry, DirFile, Location};
use super::{Attr, DirEntry, FileOps, Inode, OpenFile, SetAttr, S_IFCHR, S_IFDIR, S_IFMT};
use crate::kernel::wait::WaitQueue;
use crate::kernel::Kernel;
use crate::tty::{jobctl, Terminal};
use crate::{Errno, SysResult};

/// Most pairs at once (Linux's default `/proc/sys/kernel/pty/max`).
pub const PTY_MAX: u32 = 4096;
/// Major number of pty slaves (`/dev/pts/N`).
pub const PTS_MAJOR: u32 = 136;
/// The group that owns slaves (`tty`), as Docker mounts devpts.
pub const TTY_GID: u32 = 5;
/// Inode number of `ptmx` (the root is 1; slave N is N + 3).
const PTMX_INO: u64 = 2;

fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(_) => (0, 0),
    }
}

/// Changeable attributes of a devpts node.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: (i64, u32),
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl Meta {
    fn new(mode: u32, uid: u32, gid: u32) -> Mutex<Meta> {
        let t = now();
        Mutex::new(Meta {
            mode,
            uid,
            gid,
            atime: t,
            mtime: t,
            ctime: t,
        })
    }

    fn attr(m: &Mutex<Meta>, ino: u64, dev: u64, rdev: u64) -> SysResult<Attr> {
        let m = *m.lock().map_err(|_| Errno::EIO)?;
        Ok(Attr {
            ino,
            dev,
            mode: m.mode,
            nlink: if m.mode & S_IFMT == S_IFDIR { 2 } else { 1 },
            uid: m.uid,
            gid: m.gid,
            rdev,
            blksize: 1024,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            ..Attr::default()
        })
    }

    fn apply(m: &Mutex<Meta>, change: &SetAttr) -> SysResult<()> {
        if change.size.is_some() {
            return Err(Errno::EINVAL);
        }
        let mut m = m.lock().map_err(|_| Errno::EIO)?;
        if let Some(mode) = change.mode {
            m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
        }
        if let Some(u) = change.uid {
            m.uid = u;
        }
        if let Some(g) = change.gid {
            m.gid = g;
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
}

/// One devpts instance.
pub struct Devpts {
    dev: u64,
    kernel: Weak<Kernel>,
    ptys: Mutex<BTreeMap<u32, Arc<SlaveNode>>>,
    ptmx: OnceLock<Arc<PtmxNode>>,
    /// Where it is mounted (for the paths of slaves opened by
    /// TIOCGPTPEER and the console).
    mount: OnceLock<Location>,
    root_meta: Mutex<Meta>,
}

/// Creates a devpts instance on device `dev`; returns it and its root
/// directory inode.
pub fn new_devpts(dev: u64, kernel: Weak<Kernel>) -> (Arc<Devpts>, Arc<dyn Inode>) {
    let pts = Arc::new(Devpts {
        dev,
        kernel,
        ptys: Mutex::new(BTreeMap::new()),
        ptmx: OnceLock::new(),
        mount: OnceLock::new(),
        root_meta: Meta::new(S_IFDIR | 0o755, 0, 0),
    });
    let _ = pts.ptmx.set(Arc::new(PtmxNode {
        pts: Arc::downgrade(&pts),
        meta: Meta::new(S_IFCHR | 0o666, 0, 0),
    }));
    let root: Arc<dyn Inode> = Arc::new(DevptsRoot { pts: pts.clone() });
    (pts, root)
}

impl Devpts {
    /// Records where this instance is mounted.
    pub fn set_mount(&self, at: Location) {
        let _ = self.mount.set(at);
    }

    /// The `ptmx` node.
    fn ptmx(&self) -> SysResult<Arc<PtmxNode>> {
        self.ptmx.get().cloned().ok_or(Errno::ENODEV)
    }

    /// Creates a new pair (as opening `ptmx` does) owned by `uid`/`gid`:
    /// its master file, ready to be installed.
    pub fn open_master(self: &Arc<Self>, uid: u32, gid: u32) -> SysResult<Arc<MasterFile>> {
        let mut ptys = self.ptys.lock().map_err(|_| Errno::EIO)?;
        let index = (0..PTY_MAX)
            .find(|i| !ptys.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        let term = Terminal::new(index, self.kernel.clone());
        let node = Arc::new(SlaveNode {
            term: term.clone(),
            dev: self.dev,
            meta: Meta::new(S_IFCHR | 0o620, uid, gid),
        });
        ptys.insert(index, node);
        drop(ptys);
        Ok(Arc::new(MasterFile {
            term,
            pts: self.clone(),
            node: self.ptmx()?,
        }))
    }

    /// Creates a new pair owned by `uid`/`gid`, unlocked, with its slave
    /// opened read-write without becoming anyone's controlling terminal
    /// (for a terminal the sentry hands to a process it starts: the
    /// console, an exec'd process's terminal). Returns (master, slave).
    pub fn open_pair(
        self: &Arc<Self>,
        uid: u32,
        gid: u32,
    ) -> SysResult<(Arc<MasterFile>, Arc<OpenFile>)> {
        let master = self.open_master(uid, gid)?;
        let term = master.terminal().clone();
        let slave = (|| {
            term.set_locked(false)?;
            let loc = self.slave_location(term.index)?;
            let slave = open_slave(&term, loc.dentry.inode.clone(), true)?;
            Ok(OpenFile::new(slave, libc::O_RDWR as u32, Some(loc)))
        })();
        match slave {
            Ok(s) => Ok((master, s)),
            Err(e) => {
                master.release();
                Err(e)
            }
        }
    }

    /// The slave node of pair `index`.
    pub fn slave_node(&self, index: u32) -> SysResult<Arc<SlaveNode>> {
        self.ptys
            .lock()
            .map_err(|_| Errno::EIO)?
            .get(&index)
            .cloned()
            .ok_or(Errno::ENOENT)
    }

    /// The location of `/dev/pts/<index>` under this instance's mount.
    pub fn slave_location(&self, index: u32) -> SysResult<Location> {
        let node = self.slave_node(index)?;
        let at = self.mount.get().ok_or(Errno::ENODEV)?;
        Ok(Location {
            mount: at.mount.clone(),
            dentry: Dentry::new(
                node,
                index.to_string().into_bytes(),
                Some(at.dentry.clone()),
            ),
        })
    }

    fn remove(&self, index: u32) {
        if let Ok(mut p) = self.ptys.lock() {
            p.remove(&index);
        }
    }
}

/// The devpts root directory.
struct DevptsRoot {
    pts: Arc<Devpts>,
}

impl Inode for DevptsRoot {
    fn attr(&self) -> SysResult<Attr> {
        let mut a = Meta::attr(&self.pts.root_meta, 1, self.pts.dev, 0)?;
        a.size = 0;
        Ok(a)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        if name == b"ptmx" {
            return Ok(self.pts.ptmx()?);
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        // Only canonical decimal numbers name slaves.
        if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
            return Err(Errno::ENOENT);
        }
        let index: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        Ok(self.pts.slave_node(index)?)
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        let mut out = vec![DirEntry {
            ino: PTMX_INO,
            dtype: libc::DT_CHR,
            name: b"ptmx".to_vec(),
        }];
        let ptys = self.pts.ptys.lock().map_err(|_| Errno::EIO)?;
        for i in ptys.keys() {
            out.push(DirEntry {
                ino: *i as u64 + 3,
                dtype: libc::DT_CHR,
                name: i.to_string().into_bytes(),
            });
        }
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        if flags & libc::O_ACCMODE as u32 != libc::O_RDONLY as u32 {
            return Err(Errno::EISDIR);
        }
        Ok(DirFile::new(self))
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        Meta::apply(&self.pts.root_meta, change)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `/dev/pts/ptmx`: each open creates a pair.
pub struct PtmxNode {
    pts: Weak<Devpts>,
    meta: Mutex<Meta>,
}

impl Inode for PtmxNode {
    fn attr(&self) -> SysResult<Attr> {
        let dev = self.pts.upgrade().map(|p| p.dev).unwrap_or(0);
        Meta::attr(&self.meta, PTMX_INO, dev, libc::makedev(5, 2))
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        if flags & libc::O_DIRECTORY as u32 != 0 {
            return Err(Errno::ENOTDIR);
        }
        let pts = self.pts.upgrade().ok_or(Errno::ENODEV)?;
        let uid = crate::kernel::current_task()
            .and_then(|t| t.tg.inner.lock().ok().map(|g| g.creds.fsuid))
            .unwrap_or(0);
        Ok(pts.open_master(uid, TTY_GID)?)
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        Meta::apply(&self.meta, change)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `/dev/pts/N`.
pub struct SlaveNode {
    term: Arc<Terminal>,
    dev: u64,
    meta: Mutex<Meta>,
}

impl SlaveNode {
    /// The pair.
    pub fn terminal(&self) -> &Arc<Terminal> {
        &self.term
    }
}

/// Opens the slave of `term` as a file whose attributes are `node`'s
/// (the slave itself, `/dev/tty` or `/dev/console`). Without `noctty`,
/// a session leader with no controlling terminal acquires it.
pub fn open_slave(
    term: &Arc<Terminal>,
    node: Arc<dyn Inode>,
    noctty: bool,
) -> SysResult<Arc<SlaveFile>> {
    term.open_slave()?;
    let file = Arc::new(SlaveFile {
        term: term.clone(),
        node,
    });
    if !noctty {
        if let Some(task) = crate::kernel::current_task() {
            jobctl::acquire_on_open(&task.tg, term);
        }
    }
    Ok(file)
}

impl Inode for SlaveNode {
    fn attr(&self) -> SysResult<Attr> {
        Meta::attr(
            &self.meta,
            self.term.index as u64 + 3,
            self.dev,
            libc::makedev(PTS_MAJOR, self.term.index),
        )
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        if flags & libc::O_DIRECTORY as u32 != 0 {
            return Err(Errno::ENOTDIR);
        }
        let term = self.term.clone();
        let noctty = flags & libc::O_NOCTTY as u32 != 0;
        Ok(open_slave(&term, self, noctty)?)
    }

    fn setattr(&self, change: &SetAttr) -> SysResult<()> {
        Meta::apply(&self.meta, change)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open master.
pub struct MasterFile {
    term: Arc<Terminal>,
    pts: Arc<Devpts>,
    node: Arc<PtmxNode>,
}

impl MasterFile {
    /// The pair.
    pub fn terminal(&self) -> &Arc<Terminal> {
        &self.term
    }

    /// The devpts instance the pair lives in.
    pub fn devpts(&self) -> &Arc<Devpts> {
        &self.pts
    }
}

impl FileOps for MasterFile {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.term.master_read(buf)
    }
    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.term.master_write(buf)
    }
    fn poll(&self) -> u32 {
        self.term.master_poll()
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.term.master_queue)
    }
    fn stat(&self) -> SysResult<Attr> {
        self.node.attr()
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn release(&self) {
        self.pts.remove(self.term.index);
        self.term.hang_up();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open slave (through `/dev/pts/N`, `/dev/tty` or `/dev/console`).
pub struct SlaveFile {
    term: Arc<Terminal>,
    node: Arc<dyn Inode>,
}

impl SlaveFile {
    /// The pair.
    pub fn terminal(&self) -> &Arc<Terminal> {
        &self.term
    }
}

impl FileOps for SlaveFile {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        use crate::tty::terminal::SlaveRead;
        match self.term.slave_read(buf)? {
            SlaveRead::Data { n, .. } => Ok(n),
            SlaveRead::Empty => Err(Errno::EAGAIN),
            SlaveRead::HungUp => Ok(0),
        }
    }
    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.term.slave_write(buf)
    }
    fn poll(&self) -> u32 {
        self.term.slave_poll()
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.term.slave_queue)
    }
    fn stat(&self) -> SysResult<Attr> {
        self.node.attr()
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn release(&self) {
        self.term.release_slave();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Which end of a pair an open file is.
pub enum TtyEnd<'a> {
    /// A master.
    Master(&'a MasterFile),
    /// A slave.
    Slave(&'a SlaveFile),
}

/// The terminal end behind `ops`, if it is one.
pub fn tty_file(ops: &dyn FileOps) -> Option<TtyEnd<'_>> {
    let any = ops.as_any();
    if let Some(m) = any.downcast_ref::<MasterFile>() {
        return Some(TtyEnd::Master(m));
    }
    any.downcast_ref::<SlaveFile>().map(TtyEnd::Slave)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::fs::poll;

    #[test]
    fn ptmx_creates_numbered_slaves() {
        let (pts, root) = new_devpts(7, Weak::new());
        let ptmx = root.lookup(b"ptmx").unwrap();
        assert_eq!(ptmx.attr().unwrap().rdev, libc::makedev(5, 2));
        let m0 = ptmx.clone().open(libc::O_RDWR as u32).unwrap();
        let m1 = ptmx.clone().open(libc::O_RDWR as u32).unwrap();
        let names: Vec<Vec<u8>> = root
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, vec![b"ptmx".to_vec(), b"0".to_vec(), b"1".to_vec()]);
        let s0 = root.lookup(b"0").unwrap();
        let a = s0.attr().unwrap();
        assert_eq!(a.rdev, libc::makedev(PTS_MAJOR, 0));
        assert_eq!(a.mode, S_IFCHR | 0o620);
        assert_eq!(a.gid, TTY_GID);
        assert!(root.lookup(b"00").is_err());
        // Locked until unlocked.
        let flags = (libc::O_RDWR | libc::O_NOCTTY) as u32;
        assert_eq!(s0.clone().open(flags).err(), Some(Errno::EIO));
        let t0 = match tty_file(m0.as_ref()) {
            Some(TtyEnd::Master(m)) => m.terminal().clone(),
            _ => panic!("not a master"),
        };
        t0.set_locked(false).unwrap();
        let slave = s0.clone().open(flags).unwrap();
        assert!(matches!(tty_file(slave.as_ref()), Some(TtyEnd::Slave(_))));
        assert_eq!(slave.write(b"x\n", 0).unwrap(), 2);
        let mut b = [0u8; 8];
        assert_eq!(m0.read(&mut b, 0).unwrap(), 3);
        // Closing a master frees its number and hangs the slave up.
        m0.release();
        assert_eq!(root.lookup(b"0").err(), Some(Errno::ENOENT));
        assert_eq!(slave.read(&mut b, 0).unwrap(), 0);
        assert_eq!(slave.poll(), poll::IN | poll::OUT | poll::ERR | poll::HUP);
        let m2 = ptmx.open(libc::O_RDWR as u32).unwrap();
        match tty_file(m2.as_ref()) {
            Some(TtyEnd::Master(m)) => assert_eq!(m.terminal().index, 0),
            _ => panic!("not a master"),
        }
        drop((m1, pts));
    }
}
