//! fcntl record locks (POSIX and open-file-description locks), held in the
//! sentry and keyed by the file's (device, inode).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::wait::WaitQueue;

/// Who owns a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A process (classic POSIX locks: F_SETLK).
    Process(i32),
    /// An open file description (F_OFD_SETLK), by address.
    Description(usize),
}

/// One held lock: [start, end) with `end == u64::MAX` meaning "to EOF and
/// beyond".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// Owner.
    pub owner: Owner,
    /// True for a write lock.
    pub write: bool,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The sentry's record-lock table.
#[derive(Default)]
pub struct RecordLocks {
    files: Mutex<HashMap<(u64, u64), Vec<Lock>>>,
    /// Woken whenever a lock is released or changed.
    pub changed: WaitQueue,
}

/// The one table of the sentry process.
pub fn table() -> &'static RecordLocks {
    static T: OnceLock<RecordLocks> = OnceLock::new();
    T.get_or_init(RecordLocks::default)
}

fn overlaps(a: &Lock, start: u64, end: u64) -> bool {
    a.start < end && start < a.end
}

/// Removes [start, end) from `owner`'s locks in `list`, splitting as needed.
fn carve(list: &mut Vec<Lock>, owner: Owner, start: u64, end: u64) {
    let mut out = Vec::with_capacity(list.len() + 1);
    for l in list.drain(..) {
        if l.owner != owner || !overlaps(&l, start, end) {
            out.push(l);
            continue;
        }
        if l.start < start {
            out.push(Lock { end: start, ..l });
        }
        if l.end > end {
            out.push(Lock { start: end, ..l });
        }
    }
    *list = out;
}

impl RecordLocks {
    /// The first lock of another owner that conflicts with the request.
    pub fn conflict(
        &self,
        key: (u64, u64),
        owner: Owner,
        write: bool,
        start: u64,
        end: u64,
    ) -> Option<Lock> {
        let files = self.files.lock().ok()?;
        files
            .get(&key)?
            .iter()
            .find(|l| l.owner != owner && overlaps(l, start, end) && (write || l.write))
            .copied()
    }

    /// Takes the lock if nothing conflicts; false otherwise.
    pub fn try_set(
        &self,
        key: (u64, u64),
        owner: Owner,
        write: bool,
        start: u64,
        end: u64,
    ) -> bool {
        let Ok(mut files) = self.files.lock() else {
            return false;
        };
        let list = files.entry(key).or_default();
        if list
            .iter()
            .any(|l| l.owner != owner && overlaps(l, start, end) && (write || l.write))
        {
            return false;
        }
        carve(list, owner, start, end);
        list.push(Lock {
            owner,
            write,
            start,
            end,
        });
        drop(files);
        self.changed.notify_all();
        true
    }

    /// Releases `owner`'s locks on [start, end).
    pub fn unlock(&self, key: (u64, u64), owner: Owner, start: u64, end: u64) {
        if let Ok(mut files) = self.files.lock() {
            if let Some(list) = files.get_mut(&key) {
                carve(list, owner, start, end);
                if list.is_empty() {
                    files.remove(&key);
                }
            }
        }
        self.changed.notify_all();
    }

    /// Releases every lock of `owner` (on one file, or on all with `None`).
    pub fn release(&self, owner: Owner, key: Option<(u64, u64)>) {
        let mut any = false;
        if let Ok(mut files) = self.files.lock() {
            files.retain(|k, list| {
                if key.is_none_or(|want| want == *k) {
                    let before = list.len();
                    list.retain(|l| l.owner != owner);
                    any |= before != list.len();
                }
                !list.is_empty()
            });
        }
        if any {
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_conflict_split_and_release() {
        let t = RecordLocks::default();
        let k = (1, 1);
        let a = Owner::Process(10);
        let b = Owner::Process(11);
        assert!(t.try_set(k, a, true, 0, 100));
        assert!(!t.try_set(k, b, false, 50, 60));
        assert!(t.try_set(k, b, false, 100, 200));
        // Unlocking the middle of a's lock splits it.
        t.unlock(k, a, 40, 60);
        assert!(t.try_set(k, b, true, 45, 55));
        assert!(t.conflict(k, b, false, 0, 10).is_some());
        // Two read locks share.
        assert!(t.try_set(k, a, false, 150, 160));
        t.release(a, None);
        assert!(t.conflict(k, b, true, 0, 40).is_none());
    }
}
