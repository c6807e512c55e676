//! Controlling terminals and job control, as Linux's `tty_jobctrl.c`
//! does them: which session a terminal belongs to, its foreground process
//! group, the checks that stop background processes (SIGTTIN/SIGTTOU),
//! and what happens when a session leader leaves its terminal.
//!
//! A process's controlling terminal is [`ThreadGroupInner::ctty`]
//! (Linux's `signal->tty`): inherited by fork, dropped by setsid, cleared
//! in the whole session when the session leader exits or the terminal
//! hangs up. The terminal's side ([`Terminal::control`]) names the
//! session and the foreground group.
//!
//! [`ThreadGroupInner::ctty`]: crate::kernel::ThreadGroupInner::ctty

use std::sync::Arc;

use rvisor_syscalls::abi::{Siginfo, SI_KERNEL};

use super::terminal::Terminal;
use crate::kernel::signal::{self, bit, SIG_DFL, SIG_IGN};
use crate::kernel::task::ERESTARTSYS;
use crate::kernel::{Kernel, Task, ThreadGroup};
use crate::{Errno, SysResult};

/// Sends a kernel-generated signal to every process of group `pgid`. A
/// container's init only gets it if it has a handler (like the init of a
/// pid namespace; see `ThreadGroupInner::unkillable`).
pub fn signal_pgrp(kernel: &Kernel, pgid: i32, sig: i32) {
    for g in kernel.groups() {
        let (member, unkillable) = g
            .inner
            .lock()
            .map(|i| (i.pgid == pgid && i.zombie.is_none(), i.unkillable))
            .unwrap_or((false, false));
        if !member {
            continue;
        }
        if unkillable && !handled(&g, sig) {
            continue;
        }
        signal::send_to_group(&g, Siginfo::kill(sig, SI_KERNEL, 0, 0));
    }
}

/// Whether `g` has a handler (not SIG_DFL) for `sig`.
fn handled(g: &ThreadGroup, sig: i32) -> bool {
    g.actions
        .lock()
        .ok()
        .and_then(|a| a.get(sig as usize).map(|x| x.handler != SIG_DFL))
        .unwrap_or(false)
}

/// Sends `sig` to one process (kernel-generated), with the init rule.
fn signal_process(g: &Arc<ThreadGroup>, sig: i32) {
    let unkillable = g.inner.lock().map(|i| i.unkillable).unwrap_or(false);
    if unkillable && !handled(g, sig) {
        return;
    }
    signal::send_to_group(g, Siginfo::kill(sig, SI_KERNEL, 0, 0));
}

/// The controlling terminal of `tg`.
pub fn ctty_of(tg: &ThreadGroup) -> Option<Arc<Terminal>> {
    tg.inner.lock().ok().and_then(|g| g.ctty.clone())
}

/// Whether `term` is the controlling terminal of `tg`.
pub fn is_ctty(tg: &ThreadGroup, term: &Arc<Terminal>) -> bool {
    ctty_of(tg).is_some_and(|c| Arc::ptr_eq(&c, term))
}

/// Makes `term` the controlling terminal of `tg`'s session if an open of
/// the slave without O_NOCTTY by a session leader with none should
/// (Linux's `tty_open_proc_set_tty`).
pub fn acquire_on_open(tg: &ThreadGroup, term: &Arc<Terminal>) {
    let Ok(mut g) = tg.inner.lock() else { return };
    if g.sid != tg.tgid || g.ctty.is_some() {
        return;
    }
    let (sid, pgid) = (g.sid, g.pgid);
    let took = term
        .with_control(|c| {
            if c.session.is_some() {
                return false;
            }
            c.session = Some(sid);
            c.pgrp = Some(pgid);
            true
        })
        .unwrap_or(false);
    if took {
        g.ctty = Some(term.clone());
    }
}

/// TIOCSCTTY: the caller, a session leader without a controlling
/// terminal, takes `term`; `steal` (arg 1, root only) takes it from
/// another session.
pub fn set_ctty(
    kernel: &Kernel,
    tg: &ThreadGroup,
    term: &Arc<Terminal>,
    steal: bool,
    readable: bool,
    privileged: bool,
) -> SysResult<()> {
    let (sid, pgid, leader, has) = {
        let g = tg.inner.lock().map_err(|_| Errno::EIO)?;
        (g.sid, g.pgid, g.sid == tg.tgid, g.ctty.is_some())
    };
    let owner = term.control().session;
    if leader && owner == Some(sid) {
        return Ok(());
    }
    if !leader || has {
        return Err(Errno::EPERM);
    }
    if let Some(other) = owner {
        if steal && privileged {
            session_clear_tty(kernel, other);
        } else {
            return Err(Errno::EPERM);
        }
    }
    if !readable && !privileged {
        return Err(Errno::EPERM);
    }
    let mut g = tg.inner.lock().map_err(|_| Errno::EIO)?;
    term.with_control(|c| {
        c.session = Some(sid);
        c.pgrp = Some(pgid);
    })?;
    g.ctty = Some(term.clone());
    Ok(())
}

/// Clears the controlling terminal of every process in session `sid`
/// (Linux's `session_clear_tty`).
pub fn session_clear_tty(kernel: &Kernel, sid: i32) {
    for g in kernel.groups() {
        if let Ok(mut i) = g.inner.lock() {
            if i.sid == sid {
                i.ctty = None;
            }
        }
    }
}

/// A session leader gives up its controlling terminal (TIOCNOTTY by the
/// leader, or the leader's exit): the foreground group gets SIGHUP (and
/// SIGCONT unless exiting), the terminal forgets the session, and every
/// process of the session loses it (Linux's `disassociate_ctty`).
pub fn disassociate(kernel: &Kernel, tg: &ThreadGroup, on_exit: bool) {
    let (sid, tty) = match tg.inner.lock() {
        Ok(g) => (g.sid, g.ctty.clone()),
        Err(_) => return,
    };
    let Some(tty) = tty else { return };
    if let Some(pgrp) = tty.control().pgrp {
        signal_pgrp(kernel, pgrp, libc::SIGHUP);
        if !on_exit {
            signal_pgrp(kernel, pgrp, libc::SIGCONT);
        }
    }
    let _ = tty.with_control(|c| {
        if c.session == Some(sid) {
            c.session = None;
            c.pgrp = None;
        }
    });
    session_clear_tty(kernel, sid);
}

/// TIOCNOTTY: the caller gives up `term`, its controlling terminal; a
/// session leader takes the whole session with it.
pub fn no_tty(kernel: &Kernel, tg: &ThreadGroup, term: &Arc<Terminal>) -> SysResult<()> {
    if !is_ctty(tg, term) {
        return Err(Errno::ENOTTY);
    }
    let leader = tg
        .inner
        .lock()
        .map(|g| g.sid == tg.tgid)
        .map_err(|_| Errno::EIO)?;
    if leader {
        disassociate(kernel, tg, false);
    }
    tg.inner.lock().map_err(|_| Errno::EIO)?.ctty = None;
    Ok(())
}

/// The terminal of session `sid` hung up: every process of the session
/// loses it, and the session leader gets SIGHUP and SIGCONT (Linux's
/// `tty_signal_session_leader`).
pub fn hangup_session(kernel: &Kernel, term: &Arc<Terminal>, sid: i32) {
    let mut leader = None;
    for g in kernel.groups() {
        if let Ok(mut i) = g.inner.lock() {
            if i.sid != sid {
                continue;
            }
            if i.ctty.as_ref().is_some_and(|c| Arc::ptr_eq(c, term)) {
                i.ctty = None;
            }
            if g.tgid == sid && i.zombie.is_none() {
                leader = Some(g.clone());
            }
        }
    }
    if let Some(l) = leader {
        signal_process(&l, libc::SIGHUP);
        signal_process(&l, libc::SIGCONT);
    }
}

/// Whether process group `pgid` is orphaned: no member has a parent in
/// another group of the same session (Linux's `will_become_orphaned_pgrp`).
pub fn pgrp_orphaned(kernel: &Kernel, pgid: i32) -> bool {
    pgrp_orphaned_without(kernel, pgid, None)
}

/// [`pgrp_orphaned`], not counting process `ignore` (which is exiting).
fn pgrp_orphaned_without(kernel: &Kernel, pgid: i32, ignore: Option<i32>) -> bool {
    for g in kernel.groups() {
        if Some(g.tgid) == ignore {
            continue;
        }
        let (parent, sid) = match g.inner.lock() {
            Ok(i) if i.pgid == pgid && i.zombie.is_none() => {
                (i.parent.as_ref().and_then(|p| p.upgrade()), i.sid)
            }
            _ => continue,
        };
        let Some(p) = parent else { continue };
        let outside = p
            .inner
            .lock()
            .map(|pi| pi.pgid != pgid && pi.sid == sid)
            .unwrap_or(false);
        if outside {
            return false;
        }
    }
    true
}

/// Whether a process of group `pgid` is stopped.
fn has_stopped_jobs(kernel: &Kernel, pgid: i32) -> bool {
    kernel.groups().iter().any(|g| {
        g.inner
            .lock()
            .map(|i| i.pgid == pgid && i.stopped && i.zombie.is_none())
            .unwrap_or(false)
    })
}

/// Process `tg` exits (its children already reparented): a process group
/// that it kept from being orphaned — its own, or one of its children's —
/// and that has stopped members gets SIGHUP and SIGCONT, so that nothing
/// stays stopped with no one left to continue it (POSIX; Linux's
/// `kill_orphaned_pgrp`).
pub fn orphan_stopped_groups(kernel: &Kernel, tg: &ThreadGroup, children: &[Arc<ThreadGroup>]) {
    let (pgid, sid, parent) = match tg.inner.lock() {
        Ok(g) => (g.pgid, g.sid, g.parent.as_ref().and_then(|p| p.upgrade())),
        Err(_) => return,
    };
    let hup = |pg: i32| {
        signal_pgrp(kernel, pg, libc::SIGHUP);
        signal_pgrp(kernel, pg, libc::SIGCONT);
    };
    let mut done = Vec::new();
    for c in children {
        let (cpg, csid) = match c.inner.lock() {
            Ok(i) if i.zombie.is_none() => (i.pgid, i.sid),
            _ => continue,
        };
        if cpg != pgid
            && csid == sid
            && !done.contains(&cpg)
            && pgrp_orphaned_without(kernel, cpg, Some(tg.tgid))
            && has_stopped_jobs(kernel, cpg)
        {
            done.push(cpg);
            hup(cpg);
        }
    }
    let Some(p) = parent else { return };
    let (ppg, psid) = match p.inner.lock() {
        Ok(i) => (i.pgid, i.sid),
        Err(_) => return,
    };
    if ppg != pgid
        && psid == sid
        && pgrp_orphaned_without(kernel, pgid, Some(tg.tgid))
        && has_stopped_jobs(kernel, pgid)
    {
        hup(pgid);
    }
}

/// The session of process group (or process) `n`, for TIOCSPGRP.
pub fn session_of_pgrp(kernel: &Kernel, n: i32) -> Option<i32> {
    let groups = kernel.groups();
    let by_pgrp = groups.iter().find_map(|g| {
        g.inner
            .lock()
            .ok()
            .filter(|i| i.pgid == n && i.zombie.is_none())
            .map(|i| i.sid)
    });
    by_pgrp.or_else(|| {
        groups
            .iter()
            .find(|g| g.tgid == n)
            .and_then(|g| g.inner.lock().ok().map(|i| i.sid))
    })
}

/// The job-control check before a background process touches its
/// controlling terminal (Linux's `__tty_check_change`): `sig` is SIGTTOU
/// (settings, writes with TOSTOP) or SIGTTIN (reads). Returns
/// ERESTARTSYS after signalling the caller's group, EIO where Linux
/// refuses without a signal, Ok when the caller may go on.
pub fn check_change(task: &Task, term: &Arc<Terminal>, sig: i32) -> SysResult<()> {
    let tg = &task.tg;
    if !is_ctty(tg, term) {
        return Ok(());
    }
    let my_pgrp = tg.inner.lock().map_err(|_| Errno::EIO)?.pgid;
    let Some(fg) = term.control().pgrp else {
        return Ok(());
    };
    if fg == my_pgrp {
        return Ok(());
    }
    let blocked = task
        .inner
        .lock()
        .map(|i| i.sigmask & bit(sig) != 0)
        .unwrap_or(false);
    let ignored = tg
        .actions
        .lock()
        .ok()
        .and_then(|a| a.get(sig as usize).map(|x| x.handler == SIG_IGN))
        .unwrap_or(false);
    if blocked || ignored {
        return if sig == libc::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    let kernel = task.kernel.clone();
    if pgrp_orphaned(&kernel, my_pgrp) {
        return Err(Errno::EIO);
    }
    signal_pgrp(&kernel, my_pgrp, sig);
    Err(Errno::new(ERESTARTSYS))
}
