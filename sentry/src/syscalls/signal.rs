//! Signal system calls: dispositions, masks, sending, waiting, alternate
//! stacks and interval timers.

use std::time::{Duration, Instant};

use rvisor_syscalls::abi::{
    Itimerval, SigactionRaw, Siginfo, StackT, Timespec, Timeval, SI_QUEUE, SI_TKILL, SI_USER,
};

use crate::kernel::signal::{self as ksig, bit, SigAction, UNBLOCKABLE};
use crate::kernel::task::{TaskCtx, ERESTARTNOHAND};
use crate::kernel::{Task, ThreadGroup};
use crate::{Errno, SysResult};

fn valid_sig(sig: i32) -> bool {
    (1..=64).contains(&sig)
}

/// rt_sigaction.
pub fn sys_rt_sigaction(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[0] as i32;
    if !valid_sig(sig) || a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if a[1] != 0 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let r: SigactionRaw = ctx.read_val(a[1])?;
        Some(SigAction {
            handler: r.handler,
            flags: r.flags,
            restorer: r.restorer,
            mask: r.mask & !UNBLOCKABLE,
        })
    } else {
        None
    };
    let old = {
        let mut acts = ctx.task.tg.actions.lock().map_err(|_| Errno::EIO)?;
        let slot = acts.get_mut(sig as usize).ok_or(Errno::EINVAL)?;
        let old = *slot;
        if let Some(n) = new {
            *slot = n;
        }
        old
    };
    if let Some(n) = new {
        // Setting SIG_IGN (or SIG_DFL for a default-ignored signal)
        // discards pending instances.
        let ignored = n.handler == ksig::SIG_IGN
            || (n.handler == ksig::SIG_DFL
                && ksig::default_action(sig) == ksig::DefaultAction::Ignore);
        if ignored {
            discard_pending(&ctx.task.tg, bit(sig));
        }
    }
    if a[2] != 0 {
        let raw = SigactionRaw {
            handler: old.handler,
            flags: old.flags,
            restorer: old.restorer,
            mask: old.mask,
        };
        ctx.write_val(a[2], &raw)?;
    }
    Ok(0)
}

fn discard_pending(tg: &ThreadGroup, mask: u64) {
    if let Ok(mut g) = tg.inner.lock() {
        g.pending.discard(mask);
        for t in &g.threads {
            if let Ok(mut i) = t.inner.lock() {
                i.pending.discard(mask);
            }
        }
    }
}

/// rt_sigprocmask.
pub fn sys_rt_sigprocmask(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let how = a[0] as i32;
    let set = if a[1] != 0 {
        Some(ctx.read_val::<u64>(a[1])?)
    } else {
        None
    };
    let old = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.sigmask;
    if let Some(set) = set {
        let new = match how {
            libc::SIG_BLOCK => old | set,
            libc::SIG_UNBLOCK => old & !set,
            libc::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
        ctx.task.inner.lock().map_err(|_| Errno::EIO)?.sigmask = new & !UNBLOCKABLE;
    }
    if a[2] != 0 {
        ctx.write_val(a[2], &old)?;
    }
    Ok(0)
}

/// rt_sigreturn.
pub fn sys_rt_sigreturn(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    match ctx.sigreturn() {
        Ok(v) => Ok(v),
        Err(_) => {
            // A corrupt frame kills the process with SIGSEGV, as on Linux.
            ctx.force_signal(Siginfo::kill(
                libc::SIGSEGV,
                rvisor_syscalls::abi::SI_KERNEL,
                0,
                0,
            ));
            Err(Errno::EFAULT)
        }
    }
}

/// rt_sigpending.
pub fn sys_rt_sigpending(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let (mine, mask) = {
        let i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
        (i.pending.mask(), i.sigmask)
    };
    let group = ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .pending
        .mask();
    let v = (mine | group) & mask;
    ctx.write_bytes(a[0], &v.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

/// rt_sigsuspend: waits with a temporary mask until a handler runs.
pub fn sys_rt_sigsuspend(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = ctx.read_val(a[0])?;
    {
        let mut i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
        i.saved_mask = Some(i.sigmask);
        i.sigmask = mask & !UNBLOCKABLE;
    }
    loop {
        if ctx.interrupted() {
            return Err(Errno::new(ERESTARTNOHAND));
        }
        ctx.task.waker.wait(&[], None);
    }
}

/// pause.
pub fn sys_pause(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    loop {
        if ctx.interrupted() {
            return Err(Errno::new(ERESTARTNOHAND));
        }
        ctx.task.waker.wait(&[], None);
    }
}

/// rt_sigtimedwait.
pub fn sys_rt_sigtimedwait(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set: u64 = ctx.read_val::<u64>(a[0])? & !UNBLOCKABLE;
    let deadline = if a[2] != 0 {
        let ts: Timespec = ctx.read_val(a[2])?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    } else {
        None
    };
    loop {
        let got = {
            let mut i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
            i.pending.take_in(set)
        };
        let got = match got {
            Some(s) => Some(s),
            None => ctx
                .task
                .tg
                .inner
                .lock()
                .map_err(|_| Errno::EIO)?
                .pending
                .take_in(set),
        };
        if let Some(info) = got {
            if a[1] != 0 {
                ctx.write_val(a[1], &info)?;
            }
            return Ok(info.si_signo as u64);
        }
        // Other (unblocked, not waited-for) signals interrupt the wait.
        if ctx.interrupted() {
            return Err(Errno::EINTR);
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Err(Errno::EAGAIN);
            }
        }
        ctx.task.waker.wait(&[], deadline);
    }
}

/// sigaltstack.
pub fn sys_sigaltstack(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let cur = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.altstack;
    let sp = ctx.regs.rsp;
    let on = cur.ss_flags & libc::SS_DISABLE == 0
        && sp > cur.ss_sp
        && sp <= cur.ss_sp.wrapping_add(cur.ss_size);
    if a[0] != 0 {
        let new: StackT = ctx.read_val(a[0])?;
        if on {
            return Err(Errno::EPERM);
        }
        let mode = new.ss_flags & !rvisor_syscalls::abi::SS_AUTODISARM;
        if mode != 0 && mode != libc::SS_DISABLE && mode != libc::SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        let st = if mode == libc::SS_DISABLE {
            StackT {
                ss_flags: libc::SS_DISABLE,
                ..Default::default()
            }
        } else {
            if new.ss_size < libc::MINSIGSTKSZ as u64 {
                return Err(Errno::ENOMEM);
            }
            StackT {
                ss_flags: new.ss_flags & rvisor_syscalls::abi::SS_AUTODISARM,
                ..new
            }
        };
        ctx.task.inner.lock().map_err(|_| Errno::EIO)?.altstack = st;
    }
    if a[1] != 0 {
        let mut out = cur;
        if cur.ss_flags & libc::SS_DISABLE != 0 {
            out = StackT {
                ss_flags: libc::SS_DISABLE,
                ..Default::default()
            };
        } else if on {
            out.ss_flags |= libc::SS_ONSTACK;
        }
        ctx.write_val(a[1], &out)?;
    }
    Ok(0)
}

fn my_uid(ctx: &TaskCtx) -> u32 {
    ctx.task.tg.inner.lock().map(|g| g.creds.uid).unwrap_or(0)
}

/// kill.
pub fn sys_kill(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let sig = a[1] as i32;
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let info = Siginfo::kill(sig, SI_USER, ctx.task.tg.tgid, my_uid(ctx));
    send_by_pid(ctx, pid, info)
}

/// Whether a signal sent from inside the sandbox to `g` is dropped at
/// once because `g` is init and has neither a handler for it nor it
/// blocked (in `thread`, or its first thread): a pid namespace's init is
/// not killed by its own namespace, not even by itself. Linux never drops
/// a blocked signal at generation, so signalfd and sigwait see it.
fn init_drops(g: &ThreadGroup, thread: Option<&Task>, sig: i32) -> bool {
    let Ok(inner) = g.inner.lock() else {
        return false;
    };
    if !inner.unkillable {
        return false;
    }
    let first = inner.threads.first().cloned();
    drop(inner);
    let handled = g
        .actions
        .lock()
        .map(|a| a[sig as usize].handler > ksig::SIG_IGN)
        .unwrap_or(false);
    let blocked = thread
        .or(first.as_deref())
        .and_then(|t| t.inner.lock().ok().map(|ti| ti.sigmask & bit(sig) != 0))
        .unwrap_or(false);
    !handled && !blocked
}

/// Whether the caller may send `sig` to `target` (Linux's
/// check_kill_permission): its own process, SIGCONT within its session,
/// a process whose real or saved user id is the caller's real or
/// effective one, or anything with CAP_KILL.
fn may_signal(ctx: &TaskCtx, target: &ThreadGroup, sig: i32) -> bool {
    if std::ptr::eq(ctx.task.tg.as_ref(), target) {
        return true;
    }
    let Ok((me, my_sid)) = ctx.task.tg.inner.lock().map(|g| (g.creds.clone(), g.sid)) else {
        return false;
    };
    let Ok((uid, suid, sid)) = target
        .inner
        .lock()
        .map(|g| (g.creds.uid, g.creds.suid, g.sid))
    else {
        return false;
    };
    (sig == libc::SIGCONT && sid == my_sid)
        || [me.uid, me.euid].iter().any(|u| *u == uid || *u == suid)
        || me.capable(crate::kernel::caps::KILL)
}

fn send_by_pid(ctx: &TaskCtx, pid: i32, info: Siginfo) -> SysResult<u64> {
    let kernel = ctx.kernel().clone();
    let targets: Vec<_> = if pid > 0 {
        vec![kernel.group(pid).ok_or(Errno::ESRCH)?]
    } else {
        let pgid = if pid == 0 {
            ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?.pgid
        } else if pid == -1 {
            -1
        } else {
            pid.checked_neg().ok_or(Errno::ESRCH)?
        };
        kernel
            .groups()
            .into_iter()
            .filter(|g| {
                if pgid == -1 {
                    g.tgid != 1 && g.tgid != ctx.task.tg.tgid
                } else {
                    g.inner.lock().map(|i| i.pgid == pgid).unwrap_or(false)
                }
            })
            .collect()
    };
    let mut sent = false;
    let mut denied = false;
    for g in targets {
        if !may_signal(ctx, &g, info.si_signo) {
            denied = true;
            continue;
        }
        if info.si_signo != 0 && init_drops(&g, None, info.si_signo) {
            sent = true;
            continue;
        }
        if ksig::send_to_group(&g, info) {
            sent = true;
        }
    }
    // kill(-1, …) succeeds when there was anything to signal, even if
    // every one of them was refused (Linux).
    if sent || (denied && pid == -1) {
        Ok(0)
    } else if denied {
        Err(Errno::EPERM)
    } else {
        Err(Errno::ESRCH)
    }
}

fn send_to_thread(
    ctx: &TaskCtx,
    tgid: Option<i32>,
    tid: i32,
    sig: i32,
    info: Siginfo,
) -> SysResult<u64> {
    if tid <= 0 || !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let t = ctx.kernel().task(tid).ok_or(Errno::ESRCH)?;
    if let Some(g) = tgid {
        if t.tg.tgid != g {
            return Err(Errno::ESRCH);
        }
    }
    if !may_signal(ctx, &t.tg, sig) {
        return Err(Errno::EPERM);
    }
    if sig == 0 || init_drops(&t.tg, Some(&t), sig) {
        return Ok(0);
    }
    // Thread-directed signals still follow the group's disposition rules
    // for stop/continue/kill.
    if sig == libc::SIGKILL
        || sig == libc::SIGCONT
        || ksig::default_action(sig) == ksig::DefaultAction::Stop
    {
        ksig::send_to_group(&t.tg, info);
        return Ok(0);
    }
    let ignored = t
        .tg
        .actions
        .lock()
        .map(|a| {
            let h = a[sig as usize].handler;
            h == ksig::SIG_IGN
                || (h == ksig::SIG_DFL && ksig::default_action(sig) == ksig::DefaultAction::Ignore)
        })
        .unwrap_or(false);
    if !ignored {
        t.send_signal(info);
    }
    Ok(0)
}

/// tgkill.
pub fn sys_tgkill(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[2] as i32;
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = Siginfo::kill(sig, SI_TKILL, ctx.task.tg.tgid, my_uid(ctx));
    send_to_thread(ctx, Some(a[0] as i32), a[1] as i32, sig, info)
}

/// tkill.
pub fn sys_tkill(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[1] as i32;
    let info = Siginfo::kill(sig, SI_TKILL, ctx.task.tg.tgid, my_uid(ctx));
    send_to_thread(ctx, None, a[0] as i32, sig, info)
}

fn read_queue_info(ctx: &TaskCtx, addr: u64, sig: i32, target_is_self: bool) -> SysResult<Siginfo> {
    let mut info: Siginfo = ctx.read_val(addr)?;
    // Only the kernel may send SI_USER/SI_KERNEL-coded (code >= 0)
    // signals to others, and tkill's code is reserved.
    if !target_is_self && (info.si_code >= 0 || info.si_code == SI_TKILL) {
        return Err(Errno::EPERM);
    }
    info.si_signo = sig;
    Ok(info)
}

/// rt_sigqueueinfo.
pub fn sys_rt_sigqueueinfo(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let sig = a[1] as i32;
    if !(0..=64).contains(&sig) || pid <= 0 {
        return Err(if pid <= 0 {
            Errno::ESRCH
        } else {
            Errno::EINVAL
        });
    }
    let info = read_queue_info(ctx, a[2], sig, pid == ctx.task.tg.tgid)?;
    let g = ctx.kernel().group(pid).ok_or(Errno::ESRCH)?;
    ksig::send_to_group(&g, info);
    Ok(0)
}

/// rt_tgsigqueueinfo.
pub fn sys_rt_tgsigqueueinfo(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[2] as i32;
    let info = read_queue_info(ctx, a[3], sig, a[0] as i32 == ctx.task.tg.tgid)?;
    let _ = SI_QUEUE;
    send_to_thread(ctx, Some(a[0] as i32), a[1] as i32, sig, info)
}

// ---- timers ------------------------------------------------------------

fn tv_to_dur(tv: &Timeval) -> SysResult<Duration> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
}

fn dur_to_tv(d: Duration) -> Timeval {
    // Round up so a pending timer never reads as 0.
    let us = d.as_micros();
    Timeval {
        tv_sec: (us / 1_000_000) as i64,
        tv_usec: (us % 1_000_000) as i64,
    }
}

/// setitimer (ITIMER_REAL only).
pub fn sys_setitimer(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let which = a[0] as i32;
    if which != libc::ITIMER_REAL {
        return Err(if (0..=2).contains(&which) {
            Errno::EOPNOTSUPP
        } else {
            Errno::EINVAL
        });
    }
    let new: Itimerval = if a[1] != 0 {
        ctx.read_val(a[1])?
    } else {
        Itimerval::default()
    };
    let value = tv_to_dur(&new.it_value)?;
    let interval = tv_to_dur(&new.it_interval)?;
    let weak = std::sync::Arc::downgrade(&ctx.task.tg);
    let (ov, oi) = {
        let g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
        g.itimer_real.set(weak, value, interval)
    };
    if a[2] != 0 {
        ctx.write_val(
            a[2],
            &Itimerval {
                it_interval: dur_to_tv(oi),
                it_value: dur_to_tv(ov),
            },
        )?;
    }
    Ok(0)
}

/// getitimer.
pub fn sys_getitimer(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let which = a[0] as i32;
    let (v, i) = match which {
        libc::ITIMER_REAL => ctx
            .task
            .tg
            .inner
            .lock()
            .map_err(|_| Errno::EIO)?
            .itimer_real
            .get(),
        libc::ITIMER_VIRTUAL | libc::ITIMER_PROF => (Duration::ZERO, Duration::ZERO),
        _ => return Err(Errno::EINVAL),
    };
    ctx.write_val(
        a[1],
        &Itimerval {
            it_interval: dur_to_tv(i),
            it_value: dur_to_tv(v),
        },
    )?;
    Ok(0)
}

/// alarm.
pub fn sys_alarm(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let secs = a[0] as u32;
    let weak = std::sync::Arc::downgrade(&ctx.task.tg);
    let (old, _) = {
        let g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
        g.itimer_real
            .set(weak, Duration::from_secs(secs as u64), Duration::ZERO)
    };
    let mut s = old.as_secs();
    if old.subsec_nanos() >= 500_000_000 || (s == 0 && !old.is_zero()) {
        s += 1;
    }
    Ok(s)
}

fn signalfd_common(
    ctx: &TaskCtx,
    fd: i32,
    mask_addr: u64,
    size: u64,
    flags: i32,
) -> SysResult<u64> {
    if flags & !(libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    // SIGKILL and SIGSTOP can never be read; Linux drops them silently.
    let mask = ctx.read_val::<u64>(mask_addr)? & !UNBLOCKABLE;
    if fd != -1 {
        let f = super::file::files(ctx)?.get(fd)?;
        let sfd = f
            .ops
            .as_any()
            .downcast_ref::<crate::fs::signalfd::SignalFd>()
            .ok_or(Errno::EINVAL)?;
        sfd.set_mask(mask);
        return Ok(fd as u64);
    }
    let file = crate::fs::signalfd::SignalFd::new(ctx.kernel(), mask, ctx.kernel().next_ino());
    let st = libc::O_RDWR as u32 | (flags & libc::SFD_NONBLOCK) as u32;
    super::file::install(
        ctx,
        crate::fs::OpenFile::new(file, st, None),
        flags & libc::SFD_CLOEXEC != 0,
    )
}

/// signalfd4.
pub fn sys_signalfd4(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    signalfd_common(ctx, a[0] as i32, a[1], a[2], a[3] as i32)
}

/// signalfd (no flags).
pub fn sys_signalfd(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    signalfd_common(ctx, a[0] as i32, a[1], a[2], 0)
}
