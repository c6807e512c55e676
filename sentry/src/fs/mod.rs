//! Files: the interfaces every file system and anonymous file implements,
//! open file descriptions and per-process descriptor tables.
//!
//! * [`Inode`] — a node in some file system (gofer, tmpfs, proc, dev…):
//!   attributes, lookup, readlink, readdir, open.
//! * [`FileOps`] — what an open file can do: read/write at an offset,
//!   readiness, ioctl. Operations never block: they return `EAGAIN` and the
//!   system call layer waits on [`FileOps::wait_queue`] / [`FileOps::host_fd`]
//!   and retries, so that signals can interrupt every wait.
//! * [`OpenFile`] — an open file description (offset, status flags), shared
//!   by dup'ed descriptors and across fork.
//! * [`FdTable`] — a process's descriptor table (shared by `CLONE_FILES`).
//! * [`xattr`] — extended attribute names, limits and the in-memory store.

pub mod anon;
pub mod devfs;
pub mod devpts;
pub mod fdtable;
pub mod gofer;
pub mod host;
pub mod inotify;
pub mod overlay;
pub mod pipe;
pub mod procfs;
pub mod signalfd;
pub mod sysfs;
pub mod tmpfs;
pub mod vfs;
pub mod xattr;

use std::any::Any;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::kernel::wait::WaitQueue;
use crate::Errno;
use crate::SysResult;

pub use fdtable::FdTable;

/// File type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;

/// Attributes of an inode (what `stat` reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attr {
    /// Inode number.
    pub ino: u64,
    /// Device of the file system.
    pub dev: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number for device files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size.
    pub blksize: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Modification time.
    pub mtime: (i64, u32),
    /// Status change time.
    pub ctime: (i64, u32),
}

impl Attr {
    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    /// True for symbolic links.
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
    /// True for regular files.
    pub fn is_reg(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    /// The `d_type` value for directory entries.
    pub fn dtype(&self) -> u8 {
        mode_to_dtype(self.mode)
    }
}

/// Converts `st_mode` type bits to a `d_type`.
pub fn mode_to_dtype(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFDIR => libc::DT_DIR,
        S_IFREG => libc::DT_REG,
        S_IFLNK => libc::DT_LNK,
        S_IFCHR => libc::DT_CHR,
        S_IFIFO => libc::DT_FIFO,
        S_IFSOCK => libc::DT_SOCK,
        0o060000 => libc::DT_BLK,
        _ => libc::DT_UNKNOWN,
    }
}

/// An attribute change; `None` fields stay as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetAttr {
    /// New permission bits (type bits ignored).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (truncate).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<(i64, u32)>,
    /// New modification time.
    pub mtime: Option<(i64, u32)>,
}

/// One directory entry as file systems report it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// `d_type`.
    pub dtype: u8,
    /// Name (no '/' or NUL).
    pub name: Vec<u8>,
}

/// A node of a file system.
pub trait Inode: Send + Sync + 'static {
    /// Current attributes.
    fn attr(&self) -> SysResult<Attr>;
    /// Looks `name` up in this directory (never "." or "..").
    fn lookup(&self, _name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// Target of a symbolic link.
    fn readlink(&self) -> SysResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }
    /// Lists this directory's entries (without "." and "..").
    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }
    /// Opens the inode with `open(2)` flags (O_ACCMODE and friends).
    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>>;
    /// Creates a regular file `name` in this directory (EEXIST if present).
    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::EROFS)
    }
    /// Creates an unnamed regular file (O_TMPFILE) on this directory's
    /// file system, with link count 0. Unless `linkable` (O_EXCL was
    /// given), `link` refuses it with ENOENT while its link count is 0.
    fn tmpfile(
        &self,
        _mode: u32,
        _uid: u32,
        _gid: u32,
        _linkable: bool,
    ) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Creates a directory.
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::EROFS)
    }
    /// Creates a FIFO, socket or (refused) device node.
    fn mknod(
        &self,
        _name: &[u8],
        _mode: u32,
        _rdev: u64,
        _uid: u32,
        _gid: u32,
    ) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::EROFS)
    }
    /// Creates a symbolic link `name` → `target`.
    fn symlink(
        &self,
        _name: &[u8],
        _target: &[u8],
        _uid: u32,
        _gid: u32,
    ) -> SysResult<Arc<dyn Inode>> {
        Err(Errno::EROFS)
    }
    /// Adds a hard link `name` to `target` (same file system).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> SysResult<()> {
        Err(Errno::EROFS)
    }
    /// Removes the non-directory entry `name`.
    fn unlink(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EROFS)
    }
    /// Removes the empty directory `name`.
    fn rmdir(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EROFS)
    }
    /// Moves entry `name` of this directory to `new_name` in `new_dir`
    /// (same file system), replacing what is there as rename(2) allows.
    /// `flags` may hold `RENAME_NOREPLACE` (`EEXIST` if `new_name`
    /// exists) or `RENAME_EXCHANGE` (both names must exist and swap their
    /// inodes); other flags are the caller's to refuse.
    fn rename(
        &self,
        _name: &[u8],
        _new_dir: &Arc<dyn Inode>,
        _new_name: &[u8],
        _flags: u32,
    ) -> SysResult<()> {
        Err(Errno::EROFS)
    }
    /// Changes attributes (chmod, chown, truncate, utimes).
    fn setattr(&self, _change: &SetAttr) -> SysResult<()> {
        Err(Errno::EROFS)
    }
    /// The whole value of the extended attribute `name` (at most
    /// [`xattr::SIZE_MAX`] bytes); `ENODATA` if the inode has none of
    /// that name. Permission and namespace checks were made by the
    /// caller. File systems without xattrs: `EOPNOTSUPP`.
    fn getxattr(&self, _name: &[u8]) -> SysResult<Vec<u8>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Sets the extended attribute `name` to `value`; `flags` is a subset
    /// of [`xattr::CREATE`] | [`xattr::REPLACE`] (`EEXIST` / `ENODATA`).
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: u32) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The names of all extended attributes, of every namespace (the
    /// caller hides what the calling process may not see). A file system
    /// without xattrs has none.
    fn listxattr(&self) -> SysResult<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
    /// Removes the extended attribute `name` (`ENODATA` if absent).
    fn removexattr(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// For magic links (/proc/PID/exe, /proc/PID/fd/N): where they lead,
    /// bypassing readlink text.
    fn magic_link(&self) -> Option<vfs::Location> {
        None
    }
    /// Downcasting support.
    fn as_any(&self) -> &dyn Any;
}

/// Readiness bits (poll(2) events).
pub mod poll {
    /// Readable.
    pub const IN: u32 = libc::POLLIN as u32;
    /// Writable.
    pub const OUT: u32 = libc::POLLOUT as u32;
    /// Error.
    pub const ERR: u32 = libc::POLLERR as u32;
    /// Hang-up.
    pub const HUP: u32 = libc::POLLHUP as u32;
    /// Priority data.
    pub const PRI: u32 = libc::POLLPRI as u32;
    /// Peer closed its writing half.
    pub const RDHUP: u32 = libc::POLLRDHUP as u32;
    /// Invalid descriptor.
    pub const NVAL: u32 = libc::POLLNVAL as u32;
}

/// Operations on an open file. Nothing here blocks.
pub trait FileOps: Any + Send + Sync {
    /// Reads at `off` (ignored by stream files). `EAGAIN` when it would block.
    fn read(&self, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    /// Writes at `off` (ignored by stream files). `EAGAIN` when it would block.
    fn write(&self, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    /// Whether offsets are meaningful (lseek allowed).
    fn seekable(&self) -> bool {
        false
    }
    /// Current readiness, a mask of [`poll`] bits.
    fn poll(&self) -> u32 {
        poll::IN | poll::OUT
    }
    /// Queue notified when readiness may have changed.
    fn wait_queue(&self) -> Option<&WaitQueue> {
        None
    }
    /// Host descriptor whose host readiness is this file's readiness.
    fn host_fd(&self) -> Option<RawFd> {
        None
    }
    /// Attributes (fstat).
    fn stat(&self) -> SysResult<Attr>;
    /// ioctl(2).
    fn ioctl(&self, _cmd: u32, _arg: u64, _io: &mut dyn IoctlIo) -> SysResult<u64> {
        Err(Errno::ENOTTY)
    }
    /// The inode for directory listing and path reports, when there is one.
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        None
    }
    /// Whether the file can back a memory mapping (by copy, or directly
    /// when [`Self::host_mmap_fd`] gives a host descriptor).
    fn mmap_source(&self) -> bool {
        self.seekable()
    }
    /// A host descriptor whose pages can be mapped straight into the stub
    /// (files donated by the gofer). `None` means mappings are filled by
    /// copying.
    fn host_mmap_fd(&self) -> Option<RawFd> {
        None
    }
    /// A host descriptor of a regular file that large reads and writes may
    /// use straight from the stub (an injected `pread64`/`pwrite64`
    /// between the page cache and workload memory, one copy instead of
    /// two). Only for files whose contents live entirely in that host file.
    fn direct_io_fd(&self) -> Option<RawFd> {
        None
    }
    /// Writes vanish without the data being looked at (`/dev/null`): a
    /// write returns its count without reading workload memory.
    fn discards_writes(&self) -> bool {
        false
    }
    /// fsync/fdatasync: makes written data durable. Files kept in sentry
    /// memory have nothing to write back.
    fn sync(&self, _datasync: bool) -> SysResult<()> {
        Ok(())
    }
    /// Called when the last descriptor to the open file is closed.
    fn release(&self) {}
    /// Downcasting support.
    fn as_any(&self) -> &dyn Any;
}

/// Access to the calling task's memory for ioctls with pointer arguments.
pub trait IoctlIo {
    /// Reads `buf.len()` bytes from workload memory.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> SysResult<()>;
    /// Writes bytes into workload memory.
    fn write(&mut self, addr: u64, buf: &[u8]) -> SysResult<()>;
}

/// An open file description.
pub struct OpenFile {
    /// The file's operations.
    pub ops: Arc<dyn FileOps>,
    /// Where it was opened (for /proc/PID/fd and getcwd via fchdir).
    pub location: Option<vfs::Location>,
    /// Status flags (O_APPEND, O_NONBLOCK, access mode…).
    flags: AtomicU32,
    /// File offset.
    pub pos: Mutex<u64>,
    /// Directory listing state for getdents64: a snapshot and a cursor.
    pub dir_cache: Mutex<Option<Vec<DirEntry>>>,
    /// What inotify events through this file report to (computed once,
    /// when a watch first exists).
    pub(crate) notify: OnceLock<Option<inotify::FileTarget>>,
    /// Holds write access to its mount (a regular file opened for
    /// writing): a remount read-only is EBUSY meanwhile.
    writer: AtomicBool,
}

impl OpenFile {
    /// Wraps `ops` as a new open file description.
    pub fn new(ops: Arc<dyn FileOps>, flags: u32, location: Option<vfs::Location>) -> Arc<Self> {
        Arc::new(OpenFile {
            ops,
            location,
            flags: AtomicU32::new(flags),
            pos: Mutex::new(0),
            dir_cache: Mutex::new(None),
            notify: OnceLock::new(),
            writer: AtomicBool::new(false),
        })
    }
    /// Takes write access to the file's mount for as long as the file is
    /// open (Linux's FMODE_WRITER): EROFS when the mount is read-only.
    /// For regular files opened for writing.
    pub fn get_write_access(&self) -> SysResult<()> {
        if let Some(l) = &self.location {
            if !self.writer.swap(true, Ordering::SeqCst) {
                if let Err(e) = l.mount.get_write() {
                    self.writer.store(false, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
    /// Current status flags.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }
    /// Replaces the changeable status flags (O_APPEND, O_NONBLOCK, O_ASYNC,
    /// O_DIRECT, O_NOATIME), as F_SETFL does.
    pub fn set_status_flags(&self, new: u32) {
        let changeable =
            (libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME)
                as u32;
        let old = self.flags();
        self.flags
            .store((old & !changeable) | (new & changeable), Ordering::Relaxed);
    }
    /// True when O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.flags() & libc::O_NONBLOCK as u32 != 0
    }
    /// True when opened for reading.
    pub fn readable(&self) -> bool {
        let acc = self.flags() & libc::O_ACCMODE as u32;
        acc == libc::O_RDONLY as u32 || acc == libc::O_RDWR as u32
    }
    /// True when opened for writing.
    pub fn writable(&self) -> bool {
        let acc = self.flags() & libc::O_ACCMODE as u32;
        acc == libc::O_WRONLY as u32 || acc == libc::O_RDWR as u32
    }
    /// True for O_PATH descriptors.
    pub fn is_path(&self) -> bool {
        self.flags() & libc::O_PATH as u32 != 0
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        crate::kernel::flock::table().release_owner(self as *const OpenFile as usize);
        crate::kernel::reclock::table().release(
            crate::kernel::reclock::Owner::Description(self as *const OpenFile as usize),
            None,
        );
        inotify::file_released(self);
        self.ops.release();
        if *self.writer.get_mut() {
            if let Some(l) = &self.location {
                l.mount.put_write();
            }
        }
    }
}
