//! Emulated signals: dispositions, pending queues, default actions and the
//! choice of which thread takes a process-directed signal. Frames are built
//! and torn down in [`super::task`].

use std::sync::Arc;

use rvisor_syscalls::abi::Siginfo;

use super::{Task, ThreadGroup};

/// SIG_DFL.
pub const SIG_DFL: u64 = 0;
/// SIG_IGN.
pub const SIG_IGN: u64 = 1;

/// A signal disposition (the kernel's struct sigaction).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigAction {
    /// Handler address, SIG_DFL or SIG_IGN.
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// sa_restorer.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// What a signal does when it is not caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate with a core dump.
    Core,
    /// Nothing.
    Ignore,
    /// Stop the process.
    Stop,
    /// Continue a stopped process.
    Continue,
}

/// The bit for signal `sig` in a mask.
pub fn bit(sig: i32) -> u64 {
    if (1..=64).contains(&sig) {
        1u64 << (sig - 1)
    } else {
        0
    }
}

/// Signals that can never be blocked or caught.
pub const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));

/// Synchronous fault signals, delivered before others.
pub const SYNCHRONOUS: u64 = (1 << (libc::SIGSEGV - 1))
    | (1 << (libc::SIGBUS - 1))
    | (1 << (libc::SIGILL - 1))
    | (1 << (libc::SIGTRAP - 1))
    | (1 << (libc::SIGFPE - 1))
    | (1 << (libc::SIGSYS - 1));

/// The default action of `sig`.
pub fn default_action(sig: i32) -> DefaultAction {
    use DefaultAction::*;
    match sig {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => Ignore,
        libc::SIGCONT => Continue,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Stop,
        libc::SIGQUIT
        | libc::SIGILL
        | libc::SIGTRAP
        | libc::SIGABRT
        | libc::SIGBUS
        | libc::SIGFPE
        | libc::SIGSEGV
        | libc::SIGXCPU
        | libc::SIGXFSZ
        | libc::SIGSYS => Core,
        _ => Terminate,
    }
}

/// Pending signals: one instance per standard signal, queued real-time ones.
#[derive(Debug, Default, Clone)]
pub struct SigQueue {
    queue: Vec<Siginfo>,
}

/// Most real-time signals queued per queue (RLIMIT_SIGPENDING-like bound).
const MAX_QUEUED: usize = 4096;

impl SigQueue {
    /// Queues `info` (a standard signal already pending is not queued twice).
    pub fn push(&mut self, info: Siginfo) {
        let sig = info.si_signo;
        if sig < 32 && self.queue.iter().any(|i| i.si_signo == sig) {
            return;
        }
        if self.queue.len() >= MAX_QUEUED {
            return;
        }
        self.queue.push(info);
    }

    /// Mask of pending signals.
    pub fn mask(&self) -> u64 {
        self.queue.iter().fold(0, |m, i| m | bit(i.si_signo))
    }

    /// Removes and returns the best pending signal not in `blocked`:
    /// synchronous ones first, then the lowest number.
    pub fn take(&mut self, blocked: u64) -> Option<Siginfo> {
        let avail = self.mask() & !blocked;
        if avail == 0 {
            return None;
        }
        let pick = if avail & SYNCHRONOUS != 0 {
            avail & SYNCHRONOUS
        } else {
            avail
        };
        let sig = pick.trailing_zeros() as i32 + 1;
        let idx = self.queue.iter().position(|i| i.si_signo == sig)?;
        Some(self.queue.remove(idx))
    }

    /// Removes every instance of the signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.queue.retain(|i| bit(i.si_signo) & mask == 0);
    }

    /// Removes and returns a specific signal among `set` (sigtimedwait).
    pub fn take_in(&mut self, set: u64) -> Option<Siginfo> {
        let avail = self.mask() & set;
        if avail == 0 {
            return None;
        }
        let sig = avail.trailing_zeros() as i32 + 1;
        let idx = self.queue.iter().position(|i| i.si_signo == sig)?;
        Some(self.queue.remove(idx))
    }
}

/// True when `sig` would be discarded at generation time by `tg`.
fn ignored_at_send(tg: &ThreadGroup, sig: i32) -> bool {
    let Ok(a) = tg.actions.lock() else {
        return false;
    };
    let Some(act) = a.get(sig as usize) else {
        return true;
    };
    act.handler == SIG_IGN
        || (act.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
}

/// Sends a process-directed signal to `tg` and makes one thread that does
/// not block it notice. Returns false if the group is already dead.
pub fn send_to_group(tg: &Arc<ThreadGroup>, info: Siginfo) -> bool {
    let sig = info.si_signo;
    let threads: Vec<Arc<Task>>;
    let mut deferred = None;
    {
        let Ok(mut g) = tg.inner.lock() else {
            return false;
        };
        if g.zombie.is_some() {
            return false;
        }
        if sig == 0 {
            return true;
        }
        if default_action(sig) == DefaultAction::Stop || sig == libc::SIGKILL {
            g.pending.discard(bit(libc::SIGCONT));
            for t in &g.threads {
                if let Ok(mut i) = t.inner.lock() {
                    i.pending.discard(bit(libc::SIGCONT));
                }
            }
        }
        if sig == libc::SIGCONT || sig == libc::SIGKILL {
            let stop_mask =
                bit(libc::SIGSTOP) | bit(libc::SIGTSTP) | bit(libc::SIGTTIN) | bit(libc::SIGTTOU);
            g.pending.discard(stop_mask);
            for t in &g.threads {
                if let Ok(mut i) = t.inner.lock() {
                    i.pending.discard(stop_mask);
                }
            }
            if g.stopped {
                g.stopped = false;
                g.stop_report = Some(0xffff); // WCONTINUED
                tg.stop_events.notify_all();
                deferred =
                    notify_parent_stop_change(&g, tg.tgid, libc::CLD_CONTINUED, libc::SIGCONT);
            }
        }
        // Like Linux's sig_ignored(): a blocked signal is never discarded
        // at generation (its disposition may change before it is
        // unblocked, and signalfd or sigwaitinfo may take it).
        let blocked = g
            .threads
            .first()
            .and_then(|t| t.inner.lock().ok().map(|i| i.sigmask & bit(sig) != 0))
            .unwrap_or(false);
        if sig != libc::SIGKILL && !blocked && ignored_at_send(tg, sig) {
            threads = Vec::new();
        } else {
            g.pending.push(info);
            threads = g.threads.clone();
        }
    }
    if let Some((parent, pinfo)) = deferred {
        send_to_group(&parent, pinfo);
    }
    // Wake a thread that does not block it (or all, cheaply: they re-check).
    let mut woke = false;
    for t in &threads {
        let blocked = t.inner.lock().map(|i| i.sigmask).unwrap_or(0);
        if blocked & bit(sig) == 0 || sig == libc::SIGKILL {
            t.interrupt();
            woke = true;
            if sig != libc::SIGKILL {
                break;
            }
        }
    }
    if !woke {
        // Everyone blocks it: still wake waiters in sigtimedwait.
        for t in &threads {
            t.waker.wake();
        }
    }
    true
}

/// Tells the parent that a child stopped or continued: wakes its wait4 and
/// returns the SIGCHLD to send (unless SA_NOCLDSTOP) once the caller has
/// released the child's group lock.
pub fn notify_parent_stop_change(
    g: &super::ThreadGroupInner,
    pid: i32,
    code: i32,
    status: i32,
) -> Option<(Arc<ThreadGroup>, Siginfo)> {
    let parent = g.parent.as_ref().and_then(|p| p.upgrade())?;
    let nocldstop = parent
        .actions
        .lock()
        .map(|a| a[libc::SIGCHLD as usize].flags & libc::SA_NOCLDSTOP as u64 != 0)
        .unwrap_or(false);
    parent.child_events.notify_all();
    if nocldstop {
        return None;
    }
    Some((parent, Siginfo::child(code, pid, g.creds.uid, status, 0, 0)))
}
