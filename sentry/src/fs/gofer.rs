//! The gofer file system: the host root (or a bind mount) reached only
//! through the gofer process. Each inode holds a gofer fid; opening a
//! regular file asks the gofer for a host fd, after which reads go to that
//! fd directly without a round trip per call. Extended attributes go
//! through the gofer's xattr requests (only `user.*` and `trusted.*`, of
//! regular files and directories, are served; writes need a writable
//! mount, which the gofer enforces as well). They are never cached.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rvisor_gofer::client::GoferClient;
use rvisor_gofer::protocol::{Fid, FileAttr};

use super::host::HostFile;
use super::vfs::DirFile;
use super::{Attr, DirEntry, FileOps, Inode};
use crate::{Errno, SysResult};

/// Most names cached per directory (positive and negative entries).
const DIR_CACHE_MAX: usize = 4096;
/// Most inodes held by lookup caches in the whole sentry.
const CACHE_TOTAL_MAX: usize = 8192;
/// Inodes currently held by lookup caches.
static CACHED_INODES: AtomicUsize = AtomicUsize::new(0);

/// An inode on the gofer-backed file system.
///
/// On a read-only mount nothing inside the sandbox can change the tree, so
/// lookups are cached per directory (including "no such name"), which
/// saves a gofer round trip per path component on every later resolution.
pub struct GoferInode {
    client: Arc<GoferClient>,
    fid: Fid,
    attr: Mutex<Attr>,
    readonly: bool,
    children: Mutex<HashMap<Vec<u8>, Option<Arc<GoferInode>>>>,
    /// A read-only host fd kept from the first read-only open (on a
    /// read-only mount); later opens get a dup instead of a round trip.
    ro_fd: Mutex<Option<std::os::fd::OwnedFd>>,
}

fn convert(a: &FileAttr) -> Attr {
    Attr {
        ino: a.ino,
        dev: a.dev,
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size,
        blksize: a.blksize,
        blocks: a.blocks,
        atime: a.atime,
        mtime: a.mtime,
        ctime: a.ctime,
    }
}

fn gerr(e: rvisor_gofer::GoferError) -> Errno {
    Errno::new(e.errno())
}

/// The buffer asked of the gofer for one xattr value: the largest there is.
const XATTR_VALUE_MAX: u32 = super::xattr::SIZE_MAX as u32;
/// The buffer asked of the gofer for a name list.
const XATTR_LIST_MAX: u32 = super::xattr::LIST_MAX as u32;

/// Checks an xattr name before a round trip, as the gofer would:
/// `EOPNOTSUPP` outside `user.` and `trusted.` (`security.*` of host files
/// is not exposed), `EINVAL` for a bare prefix.
fn gofer_xattr_name(name: &[u8]) -> SysResult<()> {
    rvisor_gofer::protocol::validate_xattr_name(name).map_err(Errno::new)
}

impl GoferInode {
    /// The gofer serves this file system read-only: no remount can make
    /// it writable.
    pub fn is_readonly(&self) -> bool {
        self.readonly
    }

    /// The root inode (fid 0) of a gofer connection.
    pub fn root(client: Arc<GoferClient>, readonly: bool) -> SysResult<Arc<Self>> {
        Self::attach(client, readonly)
    }

    /// The exported file of a gofer serving a single non-directory file (a
    /// file bind mount; see [`rvisor_gofer::FILE_EXPORT_NAME`]).
    pub fn file_export(client: Arc<GoferClient>, readonly: bool) -> SysResult<Arc<dyn Inode>> {
        let dir = Self::attach(client, readonly)?;
        let file = dir.lookup(rvisor_gofer::FILE_EXPORT_NAME.as_bytes())?;
        if file.attr()?.is_dir() {
            return Err(Errno::EISDIR);
        }
        Ok(file)
    }

    fn attach(client: Arc<GoferClient>, readonly: bool) -> SysResult<Arc<Self>> {
        let attr = client.stat(0).map_err(gerr)?;
        Ok(Arc::new(GoferInode::new(
            client,
            0,
            convert(&attr),
            readonly,
        )))
    }
}

impl GoferInode {
    fn writable(&self) -> SysResult<()> {
        if self.readonly {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    fn child(&self, fid: Fid, attr: &FileAttr) -> Arc<dyn Inode> {
        Arc::new(GoferInode::new(
            self.client.clone(),
            fid,
            convert(attr),
            self.readonly,
        ))
    }

    fn new(client: Arc<GoferClient>, fid: Fid, attr: Attr, readonly: bool) -> Self {
        GoferInode {
            client,
            fid,
            attr: Mutex::new(attr),
            readonly,
            children: Mutex::default(),
            ro_fd: Mutex::default(),
        }
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if let Ok(cache) = self.children.get_mut() {
            let held = cache.values().filter(|v| v.is_some()).count();
            CACHED_INODES.fetch_sub(held, Ordering::Relaxed);
        }
        if self.fid != 0 {
            let _ = self.client.clunk(self.fid);
        }
    }
}

impl Inode for GoferInode {
    fn attr(&self) -> SysResult<Attr> {
        if !self.readonly {
            // On a writable mount the host file changes under us (writes
            // through donated fds, other containers): ask the gofer.
            let a = convert(&self.client.stat(self.fid).map_err(gerr)?);
            *self.attr.lock().map_err(|_| Errno::EIO)? = a;
            return Ok(a);
        }
        self.attr.lock().map(|a| *a).map_err(|_| Errno::EIO)
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        self.writable()?;
        let (fid, attr, _fd) = self
            .client
            .create(self.fid, name, libc::O_RDONLY, mode, uid, gid)
            .map_err(gerr)?;
        Ok(self.child(fid, &attr))
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        self.writable()?;
        let (fid, attr) = self
            .client
            .mkdir(self.fid, name, mode, uid, gid)
            .map_err(gerr)?;
        Ok(self.child(fid, &attr))
    }

    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        _rdev: u64,
        uid: u32,
        gid: u32,
    ) -> SysResult<Arc<dyn Inode>> {
        self.writable()?;
        let (fid, attr) = self
            .client
            .mknod(self.fid, name, mode, uid, gid)
            .map_err(gerr)?;
        Ok(self.child(fid, &attr))
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> SysResult<Arc<dyn Inode>> {
        self.writable()?;
        let (fid, attr) = self
            .client
            .symlink(self.fid, name, target, uid, gid)
            .map_err(gerr)?;
        Ok(self.child(fid, &attr))
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> SysResult<()> {
        self.writable()?;
        let t = target
            .as_any()
            .downcast_ref::<GoferInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.client, &self.client) {
            return Err(Errno::EXDEV);
        }
        self.client.link(self.fid, name, t.fid).map_err(gerr)
    }

    fn unlink(&self, name: &[u8]) -> SysResult<()> {
        self.writable()?;
        self.client.unlink(self.fid, name, 0).map_err(gerr)
    }

    fn rmdir(&self, name: &[u8]) -> SysResult<()> {
        self.writable()?;
        self.client
            .unlink(self.fid, name, libc::AT_REMOVEDIR)
            .map_err(gerr)
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
        self.writable()?;
        let d = new_dir
            .as_any()
            .downcast_ref::<GoferInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&d.client, &self.client) {
            return Err(Errno::EXDEV);
        }
        self.client
            .rename(self.fid, name, d.fid, new_name, flags)
            .map_err(gerr)
    }

    fn setattr(&self, change: &super::SetAttr) -> SysResult<()> {
        self.writable()?;
        let req = rvisor_gofer::protocol::SetAttr {
            mode: change.mode,
            uid: change.uid,
            gid: change.gid,
            size: change.size,
            atime: change.atime,
            mtime: change.mtime,
        };
        let a = self.client.setattr(self.fid, &req).map_err(gerr)?;
        *self.attr.lock().map_err(|_| Errno::EIO)? = convert(&a);
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> SysResult<Vec<u8>> {
        gofer_xattr_name(name)?;
        self.client
            .getxattr(self.fid, name, XATTR_VALUE_MAX)
            .map_err(gerr)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> SysResult<()> {
        self.writable()?;
        gofer_xattr_name(name)?;
        let flags = i32::try_from(flags).map_err(|_| Errno::EINVAL)?;
        self.client
            .setxattr(self.fid, name, value, flags)
            .map_err(gerr)
    }

    fn listxattr(&self) -> SysResult<Vec<Vec<u8>>> {
        let list = self
            .client
            .listxattr(self.fid, XATTR_LIST_MAX)
            .map_err(gerr)?;
        Ok(super::xattr::split_names(&list))
    }

    fn removexattr(&self, name: &[u8]) -> SysResult<()> {
        self.writable()?;
        gofer_xattr_name(name)?;
        self.client.removexattr(self.fid, name).map_err(gerr)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        if !self.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.readonly {
            if let Some(hit) = self.children.lock().map_err(|_| Errno::EIO)?.get(name) {
                return match hit {
                    Some(i) => Ok(i.clone()),
                    None => Err(Errno::ENOENT),
                };
            }
        }
        let found = match self.client.walk(self.fid, &[name]).map_err(gerr) {
            Ok(walked) => walked.into_iter().next(),
            Err(e) if e == Errno::ENOENT => None,
            Err(e) => return Err(e),
        };
        let child = found.map(|(fid, attr)| {
            Arc::new(GoferInode::new(
                self.client.clone(),
                fid,
                convert(&attr),
                self.readonly,
            ))
        });
        // Every cached inode keeps a gofer fid (a host fd in the gofer)
        // open, so positive entries are bounded sandbox-wide; past the
        // bound, lookups still work, uncached.
        let cache_it = child.is_none() || CACHED_INODES.load(Ordering::Relaxed) < CACHE_TOTAL_MAX;
        if self.readonly && cache_it {
            let mut cache = self.children.lock().map_err(|_| Errno::EIO)?;
            if cache.len() >= DIR_CACHE_MAX {
                let dropped = cache.values().filter(|v| v.is_some()).count();
                CACHED_INODES.fetch_sub(dropped, Ordering::Relaxed);
                cache.clear();
            }
            if child.is_some() {
                CACHED_INODES.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(Some(_)) = cache.insert(name.to_vec(), child.clone()) {
                CACHED_INODES.fetch_sub(1, Ordering::Relaxed);
            }
        }
        match child {
            Some(c) => Ok(c),
            None => Err(Errno::ENOENT),
        }
    }

    fn readlink(&self) -> SysResult<Vec<u8>> {
        if !self.attr()?.is_symlink() {
            return Err(Errno::EINVAL);
        }
        self.client.readlink(self.fid).map_err(gerr)
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut off = 0u64;
        loop {
            let (entries, next, eof) = self.client.getdents(self.fid, off).map_err(gerr)?;
            out.extend(entries.into_iter().map(|e| DirEntry {
                ino: e.ino,
                dtype: e.dtype,
                name: e.name,
            }));
            if eof || next == off {
                break;
            }
            off = next;
            if out.len() > 1 << 20 {
                return Err(Errno::ENOMEM);
            }
        }
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        let attr = self.attr()?;
        let acc = flags & libc::O_ACCMODE as u32;
        let wants_write =
            acc != libc::O_RDONLY as u32 || flags & (libc::O_TRUNC | libc::O_CREAT) as u32 != 0;
        if attr.is_dir() {
            if wants_write {
                return Err(Errno::EISDIR);
            }
            return Ok(DirFile::new(self));
        }
        if wants_write && self.readonly {
            return Err(Errno::EROFS);
        }
        if attr.is_symlink() {
            return Err(Errno::ELOOP);
        }
        let host_flags = (flags & (libc::O_ACCMODE | libc::O_TRUNC) as u32) as i32
            | libc::O_CLOEXEC
            | libc::O_NOCTTY;
        let cacheable =
            self.readonly && host_flags & libc::O_ACCMODE == libc::O_RDONLY && attr.is_reg();
        let cached = if cacheable {
            self.ro_fd
                .lock()
                .map_err(|_| Errno::EIO)?
                .as_ref()
                .and_then(|f| f.try_clone().ok())
        } else {
            None
        };
        let fd = match cached {
            Some(fd) => fd,
            None => {
                let fd = self.client.open(self.fid, host_flags).map_err(gerr)?;
                if cacheable {
                    if let Ok(copy) = fd.try_clone() {
                        *self.ro_fd.lock().map_err(|_| Errno::EIO)? = Some(copy);
                    }
                }
                fd
            }
        };
        let inode: Arc<dyn Inode> = self;
        Ok(HostFile::new(fd, Some(inode)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
