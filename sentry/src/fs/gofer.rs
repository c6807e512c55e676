//! The gofer file system: the host root (or a bind mount) reached only
//! through the gofer process. Each inode holds a gofer fid; opening a
//! regular file asks the gofer for a host fd, after which reads go to that
//! fd directly without a round trip per call.

use std::any::Any;
use std::sync::{Arc, Mutex};

use rvisor_gofer::client::GoferClient;
use rvisor_gofer::protocol::{Fid, FileAttr};

use super::host::HostFile;
use super::vfs::DirFile;
use super::{Attr, DirEntry, FileOps, Inode};
use crate::{Errno, SysResult};

/// An inode on the gofer-backed file system.
pub struct GoferInode {
    client: Arc<GoferClient>,
    fid: Fid,
    attr: Mutex<Attr>,
    readonly: bool,
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

impl GoferInode {
    /// The root inode (fid 0) of a gofer connection.
    pub fn root(client: Arc<GoferClient>, readonly: bool) -> SysResult<Arc<Self>> {
        let attr = client.stat(0).map_err(gerr)?;
        Ok(Arc::new(GoferInode {
            client,
            fid: 0,
            attr: Mutex::new(convert(&attr)),
            readonly,
        }))
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if self.fid != 0 {
            let _ = self.client.clunk(self.fid);
        }
    }
}

impl Inode for GoferInode {
    fn attr(&self) -> SysResult<Attr> {
        self.attr.lock().map(|a| *a).map_err(|_| Errno::EIO)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        if !self.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let walked = self.client.walk(self.fid, &[name]).map_err(gerr)?;
        let (fid, attr) = walked.into_iter().next().ok_or(Errno::ENOENT)?;
        Ok(Arc::new(GoferInode {
            client: self.client.clone(),
            fid,
            attr: Mutex::new(convert(&attr)),
            readonly: self.readonly,
        }))
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
        let fd = self.client.open(self.fid, host_flags).map_err(gerr)?;
        let inode: Arc<dyn Inode> = self;
        Ok(HostFile::new(fd, Some(inode)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
