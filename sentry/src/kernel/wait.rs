//! Waiting: every task has a [`Waker`] (an eventfd) and blocks in `ppoll` on
//! it plus any host fds it waits for. Sentry objects that can become ready
//! (pipes, child exits, futexes, signals) keep a [`WaitQueue`] of the wakers
//! interested in them and poke each on an event.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A task's wake-up channel.
#[derive(Debug)]
pub struct Waker {
    efd: OwnedFd,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken (an event happened, or a host fd became ready).
    Woken,
    /// The deadline passed.
    TimedOut,
}

impl AsRawFd for Waker {
    /// The eventfd: readable while a wake-up is pending, for a `poll` that
    /// also waits for other host descriptors.
    fn as_raw_fd(&self) -> RawFd {
        self.efd.as_raw_fd()
    }
}

impl Waker {
    /// Creates a waker. Fails only if the host is out of file descriptors.
    pub fn new() -> std::io::Result<Self> {
        // SAFETY: eventfd returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a freshly created descriptor that we own.
        let efd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Waker { efd })
    }

    /// Wakes the task if it waits (or makes its next wait return at once).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe {
            libc::write(
                self.efd.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            )
        };
    }

    fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd.
        unsafe {
            libc::read(
                self.efd.as_raw_fd(),
                &mut v as *mut u64 as *mut libc::c_void,
                8,
            )
        };
    }

    /// Blocks until woken, until one of `host` (fd, poll events) is ready, or
    /// until `deadline`.
    pub fn wait(&self, host: &[(RawFd, i16)], deadline: Option<Instant>) -> WaitResult {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(host.len() + 1);
        fds.push(libc::pollfd {
            fd: self.efd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for &(fd, ev) in host {
            fds.push(libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        }
        let ts;
        let tsp = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                ts = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                };
                &ts as *const libc::timespec
            }
            None => std::ptr::null(),
        };
        // SAFETY: `fds` is a live array of `fds.len()` pollfds; `tsp` is null
        // or points to the live local `ts`.
        let r = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                tsp,
                std::ptr::null(),
            )
        };
        if fds[0].revents != 0 {
            self.drain();
        }
        if r == 0 {
            WaitResult::TimedOut
        } else {
            WaitResult::Woken
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A list of wakers interested in one object's events.
#[derive(Debug, Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<(u64, Arc<Waker>)>>,
    /// Counts notifications (edge-triggered epoll compares it).
    generation: AtomicU64,
}

/// A registration in a [`WaitQueue`]; dropping it unregisters.
pub struct Registration<'a> {
    queue: &'a WaitQueue,
    id: u64,
}

impl WaitQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `w` until the returned guard is dropped.
    pub fn register(&self, w: &Arc<Waker>) -> Registration<'_> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = self.waiters.lock() {
            v.push((id, w.clone()));
        }
        Registration { queue: self, id }
    }

    /// Registers `w` with no guard; the caller must call [`Self::unregister`].
    pub fn register_raw(&self, w: &Arc<Waker>) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = self.waiters.lock() {
            v.push((id, w.clone()));
        }
        id
    }

    /// Removes a registration made with [`Self::register_raw`].
    pub fn unregister(&self, id: u64) {
        if let Ok(mut v) = self.waiters.lock() {
            v.retain(|(i, _)| *i != id);
        }
    }

    /// How many times this queue has been notified.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Wakes every registered waiter.
    pub fn notify_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(v) = self.waiters.lock() {
            for (_, w) in v.iter() {
                w.wake();
            }
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.queue.unregister(self.id);
    }
}
