//! Anonymous files that live only in the sentry: eventfd and epoll.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use super::{poll, Attr, FileOps, OpenFile};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// An eventfd counter.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    queue: WaitQueue,
    ino: u64,
}

impl EventFd {
    /// A new eventfd with initial value `init`.
    pub fn new(init: u64, semaphore: bool, ino: u64) -> Arc<Self> {
        Arc::new(EventFd {
            count: Mutex::new(init),
            semaphore,
            queue: WaitQueue::new(),
            ino,
        })
    }
}

impl FileOps for EventFd {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock().map_err(|_| Errno::EIO)?;
        if *c == 0 {
            return Err(Errno::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        drop(c);
        buf[..8].copy_from_slice(&v.to_le_bytes());
        self.queue.notify_all();
        Ok(8)
    }

    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[..8]);
        let v = u64::from_le_bytes(b);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock().map_err(|_| Errno::EIO)?;
        if u64::MAX - 1 - *c < v {
            return Err(Errno::EAGAIN);
        }
        *c += v;
        drop(c);
        self.queue.notify_all();
        Ok(8)
    }

    fn poll(&self) -> u32 {
        let c = self.count.lock().map(|c| *c).unwrap_or(0);
        let mut m = 0;
        if c > 0 {
            m |= poll::IN;
        }
        if c < u64::MAX - 1 {
            m |= poll::OUT;
        }
        m
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn stat(&self) -> SysResult<Attr> {
        Ok(Attr {
            ino: self.ino,
            dev: 0xd,
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Attr::default()
        })
    }

    fn mmap_source(&self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One registration in an epoll set.
#[derive(Clone)]
pub struct Interest {
    /// The watched open file (weak: closing the last reference removes it).
    pub file: Weak<OpenFile>,
    /// EPOLL* event mask asked for.
    pub events: u32,
    /// User data returned with events.
    pub data: u64,
    /// EPOLLONESHOT fired and not yet re-armed.
    pub disabled: bool,
    /// For EPOLLET: the file's wait-queue generation when last reported.
    pub last_generation: Option<u64>,
    /// For EPOLLET: the readiness last reported. A file whose readiness
    /// changes without a notification of its queue (a host socket whose
    /// peer sent data) is reported again when bits appear that were not
    /// set then.
    pub last_ready: u32,
}

/// An epoll instance: the interest list keyed by descriptor number.
pub struct Epoll {
    /// Interests by (fd, open-file identity).
    pub interests: Mutex<BTreeMap<(i32, usize), Interest>>,
    ino: u64,
}

impl Epoll {
    /// An empty epoll set.
    pub fn new(ino: u64) -> Arc<Self> {
        Arc::new(Epoll {
            interests: Mutex::new(BTreeMap::new()),
            ino,
        })
    }

    /// Ready events now: (data, events) for up to `max` interests, marking
    /// one-shot interests disabled.
    pub fn collect(&self, max: usize) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        let Ok(mut map) = self.interests.lock() else {
            return out;
        };
        map.retain(|_, i| i.file.strong_count() > 0);
        for i in map.values_mut() {
            if out.len() >= max {
                break;
            }
            if i.disabled {
                continue;
            }
            let Some(f) = i.file.upgrade() else { continue };
            let ready = f.ops.poll() & (i.events | poll::ERR | poll::HUP);
            if ready != 0 {
                if i.events & libc::EPOLLET as u32 != 0 {
                    // Edge-triggered: report again only after a new event
                    // on the file (files without a queue stay level).
                    let generation = f.ops.wait_queue().map(|q| q.generation());
                    if generation.is_some()
                        && generation == i.last_generation
                        && ready & !i.last_ready == 0
                    {
                        continue;
                    }
                    i.last_generation = generation;
                    i.last_ready = ready;
                }
                out.push((i.data, ready));
                if i.events & libc::EPOLLONESHOT as u32 != 0 {
                    i.disabled = true;
                }
            }
        }
        out
    }

    /// Host descriptors to wait on, each with the events its interest asks
    /// for. An edge-triggered interest already reported at the file's
    /// current generation waits only for the events it did not report (a
    /// host poll would otherwise return at once for readiness that is not
    /// reported again, and epoll_wait would spin); once it reported a
    /// hang-up or error it is not waited on at all (poll reports those
    /// whatever the events).
    pub fn host_waits(&self) -> Vec<(std::os::fd::RawFd, i16)> {
        let Ok(map) = self.interests.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for i in map.values() {
            if i.disabled {
                continue;
            }
            let Some(f) = i.file.upgrade() else { continue };
            let Some(fd) = f.ops.host_fd() else { continue };
            let mut ev = i.events & (poll::IN | poll::OUT | poll::PRI | poll::RDHUP);
            if i.events & libc::EPOLLET as u32 != 0 {
                let generation = f.ops.wait_queue().map(|q| q.generation());
                if generation.is_some() && generation == i.last_generation {
                    if i.last_ready & (poll::ERR | poll::HUP) != 0 {
                        continue;
                    }
                    ev &= !i.last_ready;
                }
            }
            out.push((fd, ev as i16));
        }
        out
    }

    /// Live watched files (for registering wait queues).
    pub fn files(&self) -> Vec<Arc<OpenFile>> {
        self.interests
            .lock()
            .map(|m| {
                m.values()
                    .filter(|i| !i.disabled)
                    .filter_map(|i| i.file.upgrade())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl FileOps for Epoll {
    fn read(&self, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    fn poll(&self) -> u32 {
        if self.collect_peek() {
            poll::IN
        } else {
            0
        }
    }
    fn stat(&self) -> SysResult<Attr> {
        Ok(Attr {
            ino: self.ino,
            dev: 0xd,
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Attr::default()
        })
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Epoll {
    fn collect_peek(&self) -> bool {
        let Ok(map) = self.interests.lock() else {
            return false;
        };
        map.values().any(|i| {
            !i.disabled
                && i.file
                    .upgrade()
                    .map(|f| f.ops.poll() & (i.events | poll::ERR | poll::HUP) != 0)
                    .unwrap_or(false)
        })
    }
}
