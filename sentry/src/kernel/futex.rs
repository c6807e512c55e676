//! Futexes, kept entirely in the sentry: waiters queue on (address space,
//! address) and are woken by FUTEX_WAKE/REQUEUE from any task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::wait::Waker;

/// One waiter.
pub struct FutexWaiter {
    /// Wakes the waiting task.
    pub waker: Arc<Waker>,
    /// FUTEX_WAIT_BITSET mask.
    pub bitset: u32,
    /// Set by the waker.
    pub woken: Arc<AtomicBool>,
}

/// Key: (address-space id, user address).
pub type FutexKey = (usize, u64);

/// All futex queues.
#[derive(Default)]
pub struct Futexes {
    queues: Mutex<HashMap<FutexKey, Vec<FutexWaiter>>>,
}

impl Futexes {
    /// Locks the table (the caller reads the futex word under it).
    pub fn lock(&self) -> Option<MutexGuard<'_, HashMap<FutexKey, Vec<FutexWaiter>>>> {
        self.queues.lock().ok()
    }

    /// Wakes up to `n` waiters on `key` whose bitset intersects `bitset`.
    pub fn wake(&self, key: FutexKey, n: usize, bitset: u32) -> usize {
        let Some(mut q) = self.lock() else { return 0 };
        Self::wake_locked(&mut q, key, n, bitset)
    }

    /// [`Self::wake`] with the table already locked.
    pub fn wake_locked(
        q: &mut HashMap<FutexKey, Vec<FutexWaiter>>,
        key: FutexKey,
        n: usize,
        bitset: u32,
    ) -> usize {
        let Some(list) = q.get_mut(&key) else {
            return 0;
        };
        let mut woken = 0;
        let mut i = 0;
        while i < list.len() && woken < n {
            if list[i].bitset & bitset != 0 {
                let w = list.remove(i);
                w.woken.store(true, Ordering::SeqCst);
                w.waker.wake();
                woken += 1;
            } else {
                i += 1;
            }
        }
        if list.is_empty() {
            q.remove(&key);
        }
        woken
    }

    /// Removes a waiter that gave up (timeout, signal).
    pub fn cancel(&self, key: FutexKey, woken: &Arc<AtomicBool>) {
        if let Some(mut q) = self.lock() {
            // It may have been requeued: search every list.
            let mut empty = None;
            for (k, list) in q.iter_mut() {
                if let Some(i) = list.iter().position(|w| Arc::ptr_eq(&w.woken, woken)) {
                    list.remove(i);
                    if list.is_empty() {
                        empty = Some(*k);
                    }
                    break;
                }
            }
            let _ = key;
            if let Some(k) = empty {
                q.remove(&k);
            }
        }
    }

    /// Wakes `n_wake` waiters on `from` and moves up to `n_requeue` more to `to`.
    pub fn requeue_locked(
        q: &mut HashMap<FutexKey, Vec<FutexWaiter>>,
        from: FutexKey,
        to: FutexKey,
        n_wake: usize,
        n_requeue: usize,
    ) -> usize {
        let woken = Self::wake_locked(q, from, n_wake, u32::MAX);
        let mut moved = Vec::new();
        if let Some(list) = q.get_mut(&from) {
            let k = n_requeue.min(list.len());
            moved = list.drain(..k).collect();
            if list.is_empty() {
                q.remove(&from);
            }
        }
        let n = moved.len();
        if n > 0 {
            q.entry(to).or_default().extend(moved);
        }
        woken + n
    }
}
