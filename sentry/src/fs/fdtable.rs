//! Per-process file descriptor tables.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::OpenFile;
use crate::{Errno, SysResult};

/// Default RLIMIT_NOFILE, and the hard cap on descriptor numbers.
pub const DEFAULT_NOFILE: u64 = 1024;
/// Largest number of descriptors a table may ever hold.
pub const MAX_NOFILE: u64 = 1 << 20;

/// One descriptor slot.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file description.
    pub file: Arc<OpenFile>,
    /// FD_CLOEXEC.
    pub cloexec: bool,
}

/// A descriptor table; shared between tasks by `CLONE_FILES`.
#[derive(Default)]
pub struct FdTable {
    inner: Mutex<BTreeMap<i32, FdEntry>>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> Arc<Self> {
        Arc::new(FdTable::default())
    }

    /// A copy of this table (fork without CLONE_FILES).
    pub fn fork(&self) -> Arc<Self> {
        let map = self.inner.lock().map(|m| m.clone()).unwrap_or_default();
        Arc::new(FdTable {
            inner: Mutex::new(map),
        })
    }

    /// The open file at `fd`.
    pub fn get(&self, fd: i32) -> SysResult<Arc<OpenFile>> {
        self.get_entry(fd).map(|e| e.file)
    }

    /// The slot at `fd`.
    pub fn get_entry(&self, fd: i32) -> SysResult<FdEntry> {
        let m = self.inner.lock().map_err(|_| Errno::EIO)?;
        m.get(&fd).cloned().ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor ≥ `min`, below `limit`.
    pub fn insert_from(
        &self,
        min: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
        limit: u64,
    ) -> SysResult<i32> {
        let mut m = self.inner.lock().map_err(|_| Errno::EIO)?;
        let mut fd = min.max(0);
        for (&k, _) in m.range(fd..) {
            if k == fd {
                fd += 1;
            } else {
                break;
            }
        }
        if fd as u64 >= limit.min(MAX_NOFILE) {
            return Err(Errno::EMFILE);
        }
        m.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    /// Installs `file` at exactly `fd`, returning what was there.
    pub fn insert_at(
        &self,
        fd: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
        limit: u64,
    ) -> SysResult<Option<FdEntry>> {
        if fd < 0 || fd as u64 >= limit.min(MAX_NOFILE) {
            return Err(Errno::EBADF);
        }
        let mut m = self.inner.lock().map_err(|_| Errno::EIO)?;
        Ok(m.insert(fd, FdEntry { file, cloexec }))
    }

    /// Removes `fd`.
    pub fn remove(&self, fd: i32) -> SysResult<FdEntry> {
        let mut m = self.inner.lock().map_err(|_| Errno::EIO)?;
        m.remove(&fd).ok_or(Errno::EBADF)
    }

    /// Sets or clears FD_CLOEXEC.
    pub fn set_cloexec(&self, fd: i32, on: bool) -> SysResult<()> {
        let mut m = self.inner.lock().map_err(|_| Errno::EIO)?;
        m.get_mut(&fd).map(|e| e.cloexec = on).ok_or(Errno::EBADF)
    }

    /// Closes every descriptor in `[lo, hi]`, or marks them close-on-exec.
    pub fn close_range(&self, lo: u32, hi: u32, cloexec_only: bool) -> Vec<FdEntry> {
        let mut removed = Vec::new();
        if let Ok(mut m) = self.inner.lock() {
            let lo = lo.min(i32::MAX as u32) as i32;
            let hi = hi.min(i32::MAX as u32) as i32;
            let keys: Vec<i32> = m.range(lo..=hi).map(|(k, _)| *k).collect();
            for k in keys {
                if cloexec_only {
                    if let Some(e) = m.get_mut(&k) {
                        e.cloexec = true;
                    }
                } else if let Some(e) = m.remove(&k) {
                    removed.push(e);
                }
            }
        }
        removed
    }

    /// Takes every close-on-exec descriptor out of the table (execve) and
    /// returns them, for the caller to release what a close releases and
    /// then drop.
    pub fn close_on_exec(&self) -> Vec<FdEntry> {
        let Ok(mut m) = self.inner.lock() else {
            return Vec::new();
        };
        let keys: Vec<i32> = m
            .iter()
            .filter(|(_, e)| e.cloexec)
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter().filter_map(|k| m.remove(&k)).collect()
    }

    /// Snapshot of all descriptors (for /proc/PID/fd and poll setup).
    pub fn snapshot(&self) -> Vec<(i32, FdEntry)> {
        self.inner
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    /// Drops every descriptor (process exit).
    pub fn clear(&self) {
        let old = self.inner.lock().map(|mut m| std::mem::take(&mut *m));
        drop(old);
    }
}
