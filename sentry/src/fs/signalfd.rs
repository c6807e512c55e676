//! signalfd: a file whose reads take pending signals out of the reading
//! task's queues (its own, then its process's) instead of delivering them.
//! Like Linux, it is always about the task that reads or polls it, not the
//! one that made it: the sentry thread's current task is looked up here.

use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

use rvisor_syscalls::abi::Siginfo;

use super::{poll, Attr, FileOps};
use crate::kernel::{Kernel, Task};
use crate::{Errno, SysResult};

/// Size of `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// A signalfd.
pub struct SignalFd {
    mask: Mutex<u64>,
    kernel: Weak<Kernel>,
    ino: u64,
}

impl SignalFd {
    /// A signalfd for the signals in `mask` (bit n-1 for signal n).
    pub fn new(kernel: &Arc<Kernel>, mask: u64, ino: u64) -> Arc<Self> {
        Arc::new(SignalFd {
            mask: Mutex::new(mask),
            kernel: Arc::downgrade(kernel),
            ino,
        })
    }

    /// Replaces the mask (signalfd4 on an existing descriptor).
    pub fn set_mask(&self, mask: u64) {
        if let Ok(mut m) = self.mask.lock() {
            *m = mask;
        }
    }

    fn current(&self) -> Option<Arc<Task>> {
        let (_, tid) = crate::fs::procfs::current()?;
        self.kernel.upgrade()?.task(tid)
    }

    fn mask(&self) -> u64 {
        self.mask.lock().map(|m| *m).unwrap_or(0)
    }

    /// Takes one signal in the mask, the task's own queue first.
    fn take(&self, task: &Task) -> Option<Siginfo> {
        let mask = self.mask();
        if let Some(s) = task.inner.lock().ok()?.pending.take_in(mask) {
            return Some(s);
        }
        task.tg.inner.lock().ok()?.pending.take_in(mask)
    }
}

/// `struct signalfd_siginfo` for `info`, filled the way Linux's
/// signalfd_copyinfo does for each siginfo layout.
pub fn encode(info: &Siginfo) -> [u8; SIGINFO_SIZE] {
    let mut b = [0u8; SIGINFO_SIZE];
    let put32 = |b: &mut [u8; SIGINFO_SIZE], off: usize, v: u32| {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    };
    let put64 = |b: &mut [u8; SIGINFO_SIZE], off: usize, v: u64| {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    };
    let (signo, code) = (info.si_signo, info.si_code);
    put32(&mut b, 0, signo as u32);
    put32(&mut b, 4, info.si_errno as u32);
    put32(&mut b, 8, code as u32);
    let w0 = info.fields[0];
    let (lo, hi) = (w0 as u32, (w0 >> 32) as u32);
    let value = info.fields[1];
    const PID: usize = 12;
    const UID: usize = 16;
    const FD: usize = 20;
    const TID: usize = 24;
    const BAND: usize = 28;
    const OVERRUN: usize = 32;
    const STATUS: usize = 40;
    const INT: usize = 44;
    const PTR: usize = 48;
    const UTIME: usize = 56;
    const STIME: usize = 64;
    const ADDR: usize = 72;
    let fault = matches!(
        signo,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
    );
    if code > 0 && signo == libc::SIGCHLD {
        put32(&mut b, PID, lo);
        put32(&mut b, UID, hi);
        put32(&mut b, STATUS, value as u32);
        put64(&mut b, UTIME, info.fields[2]);
        put64(&mut b, STIME, info.fields[3]);
    } else if code > 0 && fault {
        put64(&mut b, ADDR, w0);
    } else if code > 0 && signo == libc::SIGPOLL {
        put32(&mut b, BAND, w0 as u32);
        put32(&mut b, FD, value as u32);
    } else if code == libc::SI_TIMER {
        put32(&mut b, TID, lo);
        put32(&mut b, OVERRUN, hi);
        put64(&mut b, PTR, value);
        put32(&mut b, INT, value as u32);
    } else if code < 0 && code != libc::SI_TKILL {
        // sigqueue and friends: sender and value.
        put32(&mut b, PID, lo);
        put32(&mut b, UID, hi);
        put64(&mut b, PTR, value);
        put32(&mut b, INT, value as u32);
    } else {
        put32(&mut b, PID, lo);
        put32(&mut b, UID, hi);
    }
    b
}

impl FileOps for SignalFd {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let task = self.current().ok_or(Errno::EIO)?;
        let mut n = 0;
        while n + SIGINFO_SIZE <= buf.len() {
            let Some(info) = self.take(&task) else { break };
            buf[n..n + SIGINFO_SIZE].copy_from_slice(&encode(&info));
            n += SIGINFO_SIZE;
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn poll(&self) -> u32 {
        let Some(task) = self.current() else {
            return 0;
        };
        let mask = self.mask();
        let own = task.inner.lock().map(|i| i.pending.mask()).unwrap_or(0);
        let group = task.tg.inner.lock().map(|g| g.pending.mask()).unwrap_or(0);
        if (own | group) & mask != 0 {
            poll::IN
        } else {
            0
        }
    }

    fn stat(&self) -> SysResult<Attr> {
        Ok(Attr {
            ino: self.ino,
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Default::default()
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let k = encode(&Siginfo::kill(libc::SIGUSR1, 0, 42, 1000));
        assert_eq!(
            u32::from_le_bytes(k[0..4].try_into().unwrap_or_default()),
            10
        );
        assert_eq!(
            u32::from_le_bytes(k[12..16].try_into().unwrap_or_default()),
            42
        );
        assert_eq!(
            u32::from_le_bytes(k[16..20].try_into().unwrap_or_default()),
            1000
        );
        let c = encode(&Siginfo::child(libc::CLD_EXITED, 7, 0, 3, 0, 0));
        assert_eq!(
            u32::from_le_bytes(c[40..44].try_into().unwrap_or_default()),
            3
        );
        let q = encode(&Siginfo::sigqueue(34, -1, 5, 0, 99));
        assert_eq!(
            u64::from_le_bytes(q[48..56].try_into().unwrap_or_default()),
            99
        );
        assert_eq!(
            u32::from_le_bytes(q[44..48].try_into().unwrap_or_default()),
            99
        );
    }
}
