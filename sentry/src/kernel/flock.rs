//! flock(2) locks, held in the sentry: whole-file advisory locks owned by
//! open file descriptions, keyed by the file's (device, inode).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::wait::WaitQueue;

/// Who holds a lock: the open file description's address.
pub type Owner = usize;

#[derive(Default)]
struct FileLocks {
    /// Shared holders.
    shared: Vec<Owner>,
    /// The exclusive holder.
    exclusive: Option<Owner>,
}

/// The sentry's flock table.
#[derive(Default)]
pub struct FlockTable {
    files: Mutex<HashMap<(u64, u64), FileLocks>>,
    /// Woken whenever any lock is released.
    pub released: WaitQueue,
}

/// The one table of the sentry process.
pub fn table() -> &'static FlockTable {
    static T: OnceLock<FlockTable> = OnceLock::new();
    T.get_or_init(FlockTable::default)
}

impl FlockTable {
    /// Tries to take (or convert to) a lock; false if it conflicts.
    pub fn try_lock(&self, key: (u64, u64), owner: Owner, exclusive: bool) -> bool {
        let Ok(mut files) = self.files.lock() else {
            return false;
        };
        let l = files.entry(key).or_default();
        let others_shared = l.shared.iter().any(|o| *o != owner);
        let other_excl = l.exclusive.is_some_and(|o| o != owner);
        if other_excl || (exclusive && others_shared) {
            return false;
        }
        l.shared.retain(|o| *o != owner);
        l.exclusive = None;
        if exclusive {
            l.exclusive = Some(owner);
        } else {
            l.shared.push(owner);
        }
        true
    }

    /// Drops `owner`'s lock on `key` (LOCK_UN).
    pub fn unlock(&self, key: (u64, u64), owner: Owner) {
        if let Ok(mut files) = self.files.lock() {
            if let Some(l) = files.get_mut(&key) {
                l.shared.retain(|o| *o != owner);
                if l.exclusive == Some(owner) {
                    l.exclusive = None;
                }
                if l.shared.is_empty() && l.exclusive.is_none() {
                    files.remove(&key);
                }
            }
        }
        self.released.notify_all();
    }

    /// Drops every lock `owner` holds (its description was closed).
    pub fn release_owner(&self, owner: Owner) {
        let mut any = false;
        if let Ok(mut files) = self.files.lock() {
            files.retain(|_, l| {
                let before = l.shared.len() + usize::from(l.exclusive.is_some());
                l.shared.retain(|o| *o != owner);
                if l.exclusive == Some(owner) {
                    l.exclusive = None;
                }
                any |= before != l.shared.len() + usize::from(l.exclusive.is_some());
                !(l.shared.is_empty() && l.exclusive.is_none())
            });
        }
        if any {
            self.released.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_exclusive_rules() {
        let t = FlockTable::default();
        let k = (1, 2);
        assert!(t.try_lock(k, 10, false));
        assert!(t.try_lock(k, 11, false));
        assert!(!t.try_lock(k, 12, true));
        t.unlock(k, 11);
        // The remaining shared holder may upgrade.
        assert!(t.try_lock(k, 10, true));
        assert!(!t.try_lock(k, 11, false));
        t.release_owner(10);
        assert!(t.try_lock(k, 11, true));
    }
}
