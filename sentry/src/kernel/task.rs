//! A task's sentry thread: the loop that runs the workload until it stops,
//! serves the system call or fault, delivers signals, and finally exits.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use libc::user_regs_struct;
use rvisor_syscalls::abi::{Sigcontext, Siginfo, StackT, Ucontext};
use zerocopy::{FromBytes, IntoBytes};

use super::signal::{self, bit, default_action, DefaultAction, SigAction, SIG_DFL, SIG_IGN};
use super::{Creds, ExitStatus, FsContext, Kernel, Task, TaskInner, ThreadGroup, ThreadGroupInner};
use crate::fs::FdTable;
use crate::mm::Mm;
use crate::platform::ptrace::StubThread;
use crate::platform::Stop;
use crate::{Errno, SysResult};

/// Internal restart codes (never seen by the workload).
pub const ERESTARTSYS: i32 = 512;
/// Restart even if a handler ran.
pub const ERESTARTNOINTR: i32 = 513;
/// Restart only if no handler ran.
pub const ERESTARTNOHAND: i32 = 514;
/// Restart through restart_syscall (treated like ERESTARTNOHAND here).
pub const ERESTART_RESTARTBLOCK: i32 = 516;

/// The state a sentry thread owns while running its task.
pub struct TaskCtx {
    /// The task.
    pub task: Arc<Task>,
    /// Its stub thread (only this OS thread may drive it).
    pub stub: StubThread,
    /// The workload's registers.
    pub regs: user_regs_struct,
    /// Set when the current syscall must exit the task (exit, exit_group).
    pub exit_now: Option<ExitKind>,
    /// The task's address space is being replaced (execve set it).
    pub syscall_nr: u64,
}

/// How the task leaves.
#[derive(Debug, Clone, Copy)]
pub enum ExitKind {
    /// exit(2): this thread only.
    Thread(i32),
    /// exit_group(2) or a fatal signal.
    Group(ExitStatus),
}

fn rlimits_default() -> [(u64, u64); super::RLIM_NLIMITS] {
    let inf = u64::MAX;
    let mut r = [(inf, inf); super::RLIM_NLIMITS];
    r[libc::RLIMIT_STACK as usize] = (8 << 20, inf);
    r[libc::RLIMIT_CORE as usize] = (0, inf);
    r[libc::RLIMIT_NOFILE as usize] = (crate::fs::fdtable::DEFAULT_NOFILE, 1 << 20);
    r[libc::RLIMIT_NPROC as usize] = (63_000, 63_000);
    r[libc::RLIMIT_SIGPENDING as usize] = (63_000, 63_000);
    r[libc::RLIMIT_MEMLOCK as usize] = (8 << 20, 8 << 20);
    r[libc::RLIMIT_MSGQUEUE as usize] = (819_200, 819_200);
    r[libc::RLIMIT_NICE as usize] = (0, 0);
    r[libc::RLIMIT_RTPRIO as usize] = (0, 0);
    r
}

/// A fresh thread-group state.
pub fn new_group_inner(
    parent: Option<&Arc<ThreadGroup>>,
    pgid: i32,
    sid: i32,
    creds: Creds,
) -> ThreadGroupInner {
    ThreadGroupInner {
        parent: parent.map(Arc::downgrade),
        children: Vec::new(),
        threads: Vec::new(),
        pgid,
        sid,
        pending: Default::default(),
        exiting: None,
        zombie: None,
        stop_report: None,
        stopped: false,
        rlimits: rlimits_default(),
        creds,
        exit_signal: libc::SIGCHLD,
        exe: None,
        no_new_privs: false,
        unkillable: false,
        dumpable: true,
        did_exec: false,
        child_times: (0, 0),
        itimer_real: Default::default(),
        on_exit: None,
        ctty: None,
    }
}

/// The fpstate area of a signal frame for the stub thread's current FP
/// state: xsave layout with Linux's software-reserved header and trailing
/// magic2 when extended state exists, else the 512-byte fxsave image.
fn fp_frame(stub: &StubThread) -> SysResult<Vec<u8>> {
    if let Ok(mut x) = stub.get_xstate() {
        if x.len() > 576 {
            let size = x.len() as u32;
            let xcr0 = u64::from_le_bytes(x[464..472].try_into().map_err(|_| Errno::EFAULT)?);
            let mut sw = [0u8; 48];
            sw[0..4].copy_from_slice(&rvisor_syscalls::abi::FP_XSTATE_MAGIC1.to_le_bytes());
            sw[4..8].copy_from_slice(&(size + 4).to_le_bytes());
            sw[8..16].copy_from_slice(&xcr0.to_le_bytes());
            sw[16..20].copy_from_slice(&size.to_le_bytes());
            x[464..512].copy_from_slice(&sw);
            x.extend_from_slice(&rvisor_syscalls::abi::FP_XSTATE_MAGIC2.to_le_bytes());
            return Ok(x);
        }
    }
    let fp = stub.get_fpregs().map_err(|_| Errno::EFAULT)?;
    // SAFETY: user_fpregs_struct is 512 bytes of plain integers.
    let bytes: [u8; 512] = unsafe { std::mem::transmute(fp) };
    Ok(bytes.to_vec())
}

/// Entry point of the init task's thread.
pub fn run_init(
    kernel: Arc<Kernel>,
    fs: FsContext,
    files: Arc<FdTable>,
    creds: Creds,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) {
    let (stub, _special) = match StubThread::spawn_initial() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot start the stub: {e}");
            kernel.set_init_exited(ExitStatus::Exited(126));
            return;
        }
    };
    // The last step that needs host paths or exec (forking the first stub
    // from its memfd, reading its maps) is done: confine the whole sentry.
    if let Err(e) = crate::confine::install_sentry_seccomp() {
        tracing::error!("cannot confine the sentry: {e}");
        stub.kill_process();
        kernel.set_init_exited(ExitStatus::Exited(126));
        return;
    }
    stub.pin_with_tracer();
    let inner = TaskInner::fresh(files, fs, &path);
    let settings = (
        kernel.config.init_rlimits.clone(),
        kernel.config.init_no_new_privs,
    );
    let console = kernel.console();
    let Some(task) = kernel.new_task(
        None,
        |pid| {
            let mut g = new_group_inner(None, pid, pid, creds);
            for (res, soft, hard) in settings.0 {
                if let Some(l) = g.rlimits.get_mut(res as usize) {
                    *l = (soft, hard);
                }
            }
            g.no_new_privs = settings.1;
            // init leads the first session; the console (if any) is its
            // controlling terminal with init's group in the foreground.
            if let Some(t) = &console {
                let _ = t.with_control(|c| {
                    c.session = Some(pid);
                    c.pgrp = Some(pid);
                });
                g.ctty = Some(t.clone());
            }
            g
        },
        inner,
    ) else {
        kernel.set_init_exited(ExitStatus::Exited(126));
        return;
    };
    task.set_host(&stub);
    crate::fs::procfs::set_current(task.tg.tgid, task.tid);
    super::set_current_task(&task);
    let regs = stub.scratch_regs();
    let mut ctx = TaskCtx {
        task,
        stub,
        regs,
        exit_now: None,
        syscall_nr: 0,
    };
    match crate::loader::execve(&mut ctx, &path, argv, envp) {
        Ok(()) => {}
        Err(e) => {
            let name = rvisor_syscalls::errno::errno_name(e.into_raw());
            eprintln!(
                "rvisor: cannot execute {}: {name}",
                String::from_utf8_lossy(&path)
            );
            let code = if e == Errno::ENOENT { 127 } else { 126 };
            ctx.exit_now = Some(ExitKind::Group(ExitStatus::Exited(code)));
        }
    }
    ctx.run();
}

impl TaskCtx {
    /// The kernel.
    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.task.kernel
    }

    /// Runs the task until it exits.
    pub fn run(mut self) {
        let mut restart: Option<i32> = None;
        loop {
            if self.exit_now.is_none() {
                self.check_killed();
            }
            if let Some(kind) = self.exit_now.take() {
                self.do_exit(kind);
                return;
            }
            // Group stop: park until continued or killed.
            self.wait_while_stopped();
            if self.task.killed.load(Ordering::SeqCst) {
                continue;
            }
            let handled = self.deliver_signals(restart.take());
            if self.exit_now.is_some() {
                continue;
            }
            let _ = handled;
            self.task.set_running(true);
            if self.has_deliverable_signal() || self.task.killed.load(Ordering::SeqCst) {
                self.task.set_running(false);
                continue;
            }
            let stop = self.stub.run(&mut self.regs);
            self.task.set_running(false);
            match stop {
                Ok(Stop::Syscall) => {
                    restart = self.handle_syscall();
                }
                Ok(Stop::Fault { signo, code, addr }) => {
                    self.force_signal(Siginfo::fault(signo, code, addr));
                }
                Ok(Stop::Interrupted) => {}
                Ok(Stop::Died(_)) | Err(_) => {
                    // The host took the stub away (killed along with its
                    // group, or OOM): the process is gone.
                    let st = self.task.tg.inner.lock().ok().and_then(|g| g.exiting);
                    self.exit_now = Some(ExitKind::Group(
                        st.unwrap_or(ExitStatus::Signaled(libc::SIGKILL, false)),
                    ));
                }
            }
        }
    }

    fn check_killed(&mut self) {
        if self.task.killed.load(Ordering::SeqCst) {
            let st = self.task.tg.inner.lock().ok().and_then(|g| g.exiting);
            self.exit_now = Some(match st {
                Some(s) => ExitKind::Group(s),
                None => ExitKind::Thread(0),
            });
        }
    }

    fn wait_while_stopped(&mut self) {
        loop {
            let stopped = self
                .task
                .tg
                .inner
                .lock()
                .map(|g| g.stopped)
                .unwrap_or(false);
            if !stopped || self.task.killed.load(Ordering::SeqCst) {
                return;
            }
            let _r = self.task.tg.stop_events.register(&self.task.waker);
            let stopped = self
                .task
                .tg
                .inner
                .lock()
                .map(|g| g.stopped)
                .unwrap_or(false);
            if !stopped {
                return;
            }
            self.task.waker.wait(&[], None);
        }
    }

    /// Serves the system call the workload stopped at. Returns the restart
    /// code when the call was interrupted.
    fn handle_syscall(&mut self) -> Option<i32> {
        let nr = self.regs.orig_rax;
        self.syscall_nr = nr;
        let args = [
            self.regs.rdi,
            self.regs.rsi,
            self.regs.rdx,
            self.regs.r10,
            self.regs.r8,
            self.regs.r9,
        ];
        let strace = self.kernel().config.strace;
        let call_text = if strace {
            Some(self.strace_call(nr, &args))
        } else {
            None
        };
        let result = crate::syscalls::dispatch(self, nr, args);
        if nr == libc::SYS_rt_sigreturn as u64 && result.is_ok() {
            if let Some(t) = call_text {
                self.kernel()
                    .strace_line(&format!("[{}] {} = ?", self.task.tid, t));
            }
            return None;
        }
        let ret: i64 = match result {
            Ok(v) => v as i64,
            Err(e) => -(e.into_raw() as i64),
        };
        if let Some(t) = call_text {
            let is_exec = nr == libc::SYS_execve as u64 || nr == libc::SYS_execveat as u64;
            let shown = if is_exec && ret >= 0 { 0 } else { ret };
            let line = format!(
                "[{}] {}{}",
                self.task.tid,
                t,
                rvisor_syscalls::strace::format_return(nr, shown)
            );
            self.kernel().strace_line(&line);
        }
        if (nr == libc::SYS_execve as u64 || nr == libc::SYS_execveat as u64) && ret >= 0 {
            // Registers were replaced by the loader.
            return None;
        }
        self.regs.rax = ret as u64;
        let code = (-ret) as i32;
        if ret < 0
            && matches!(
                code,
                ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK
            )
        {
            return Some(code);
        }
        None
    }

    fn strace_call(&self, nr: u64, args: &[u64; 6]) -> String {
        struct Reader<'a>(&'a StubThread);
        impl rvisor_syscalls::strace::ArgReader for Reader<'_> {
            fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
                let mut v = vec![0u8; len.min(4096)];
                let n = self.0.read_mem(addr, &mut v);
                v.truncate(n);
                Some(v)
            }
            fn read_cstring(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
                let mut v = vec![0u8; max.min(4096)];
                let n = self.0.read_mem(addr, &mut v);
                v.truncate(n);
                let end = v.iter().position(|&b| b == 0)?;
                v.truncate(end);
                Some(v)
            }
        }
        rvisor_syscalls::strace::format_call(nr, args, &Reader(&self.stub))
    }

    // ---- memory access -------------------------------------------------

    /// Reads exactly `buf.len()` bytes of workload memory (EFAULT if not).
    pub fn read_into(&self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        if addr.checked_add(buf.len() as u64).is_none() {
            return Err(Errno::EFAULT);
        }
        if self.stub.read_mem(addr, buf) != buf.len() {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// Reads `len` bytes of workload memory.
    pub fn read_bytes(&self, addr: u64, len: usize) -> SysResult<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_into(addr, &mut v)?;
        Ok(v)
    }

    /// Writes bytes into workload memory (EFAULT if not all written).
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> SysResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        if addr.checked_add(data.len() as u64).is_none() {
            return Err(Errno::EFAULT);
        }
        if self.stub.write_mem(addr, data) != data.len() {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// Reads a plain-data value.
    pub fn read_val<T: FromBytes + IntoBytes>(&self, addr: u64) -> SysResult<T> {
        let mut v = T::new_zeroed();
        self.read_into(addr, v.as_mut_bytes())?;
        Ok(v)
    }

    /// Writes a plain-data value.
    pub fn write_val<T: IntoBytes + zerocopy::Immutable>(&self, addr: u64, v: &T) -> SysResult<()> {
        self.write_bytes(addr, v.as_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (ENAMETOOLONG
    /// past it), page by page so an unmapped page after the string is fine.
    pub fn read_cstr(&self, addr: u64, max: usize) -> SysResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut cur = addr;
        loop {
            let page_left = (crate::mm::PAGE - (cur % crate::mm::PAGE)) as usize;
            let want = page_left.min(max + 1 - out.len());
            let mut buf = vec![0u8; want];
            let n = self.stub.read_mem(cur, &mut buf);
            if n == 0 {
                return Err(Errno::EFAULT);
            }
            if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..z]);
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            cur = cur.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }

    /// Reads a path argument (PATH_MAX bound; empty → ENOENT unless allowed).
    pub fn read_path(&self, addr: u64) -> SysResult<Vec<u8>> {
        self.read_cstr(addr, crate::fs::vfs::PATH_MAX - 1)
    }

    // ---- signals -------------------------------------------------------

    fn has_deliverable_signal(&self) -> bool {
        let Ok(i) = self.task.inner.lock() else {
            return false;
        };
        let mask = i.sigmask;
        let mine = i.pending.mask();
        drop(i);
        let group = self
            .task
            .tg
            .inner
            .lock()
            .map(|g| g.pending.mask())
            .unwrap_or(0);
        (mine | group) & !mask != 0
    }

    fn dequeue_signal(&self) -> Option<Siginfo> {
        let mut i = self.task.inner.lock().ok()?;
        let mask = i.sigmask;
        if let Some(s) = i.pending.take(mask) {
            return Some(s);
        }
        drop(i);
        let mut g = self.task.tg.inner.lock().ok()?;
        g.pending.take(mask)
    }

    /// Queues a fault signal; if it is blocked or ignored, the default
    /// action is forced, as Linux does for synchronous faults.
    pub fn force_signal(&mut self, info: Siginfo) {
        let sig = info.si_signo;
        let blocked = self
            .task
            .inner
            .lock()
            .map(|i| i.sigmask & bit(sig) != 0)
            .unwrap_or(false);
        let mut to_default = false;
        if let Ok(mut a) = self.task.tg.actions.lock() {
            if let Some(act) = a.get_mut(sig as usize) {
                if blocked || act.handler == SIG_IGN {
                    *act = SigAction::default();
                }
                to_default = act.handler == SIG_DFL;
            }
        }
        // A fault that will kill makes even init killable (Linux's
        // force_sig_info_to_task).
        if to_default {
            if let Ok(mut g) = self.task.tg.inner.lock() {
                g.unkillable = false;
            }
        }
        if let Ok(mut i) = self.task.inner.lock() {
            i.sigmask &= !bit(sig);
            i.pending.push(info);
        }
    }

    fn restart_fixup(&mut self, restart: Option<i32>, handler: Option<&SigAction>) {
        let Some(code) = restart else { return };
        let do_restart = match handler {
            None => true,
            Some(act) => match code {
                ERESTARTNOINTR => true,
                ERESTARTSYS => act.flags & libc::SA_RESTART as u64 != 0,
                _ => false,
            },
        };
        if do_restart {
            self.regs.rax = self.regs.orig_rax;
            self.regs.rip -= 2;
        } else {
            self.regs.rax = (-libc::EINTR) as i64 as u64;
        }
    }

    /// Delivers pending signals: default actions, or a handler frame.
    /// Returns true if a handler frame was set up.
    fn deliver_signals(&mut self, restart: Option<i32>) -> bool {
        loop {
            let Some(info) = self.dequeue_signal() else {
                self.restart_fixup(restart, None);
                self.restore_saved_mask();
                return false;
            };
            let sig = info.si_signo;
            let act = self
                .task
                .tg
                .actions
                .lock()
                .ok()
                .and_then(|a| a.get(sig as usize).copied())
                .unwrap_or_default();
            if act.handler == SIG_IGN && sig != libc::SIGKILL && sig != libc::SIGSTOP {
                continue;
            }
            if act.handler == SIG_DFL || sig == libc::SIGKILL || sig == libc::SIGSTOP {
                // init drops default-action signals at delivery too (those
                // queued while blocked), SIGKILL/SIGSTOP aside: those only
                // arrive from outside the sandbox.
                let kernel_only = sig == libc::SIGKILL || sig == libc::SIGSTOP;
                if !kernel_only
                    && self
                        .task
                        .tg
                        .inner
                        .lock()
                        .map(|g| g.unkillable)
                        .unwrap_or(false)
                {
                    continue;
                }
                match default_action(sig) {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => {
                        // Terminal stop signals do nothing to an orphaned
                        // process group (POSIX; Linux's get_signal).
                        if sig != libc::SIGSTOP {
                            let pgid = self.task.tg.inner.lock().map(|g| g.pgid).unwrap_or(0);
                            if crate::tty::jobctl::pgrp_orphaned(self.kernel(), pgid) {
                                continue;
                            }
                        }
                        self.group_stop(sig);
                        continue;
                    }
                    DefaultAction::Terminate => {
                        self.exit_now = Some(ExitKind::Group(ExitStatus::Signaled(sig, false)));
                        return false;
                    }
                    DefaultAction::Core => {
                        self.exit_now = Some(ExitKind::Group(ExitStatus::Signaled(sig, false)));
                        return false;
                    }
                }
            }
            self.restart_fixup(restart, Some(&act));
            if self.setup_frame(&info, &act).is_err() {
                // Could not write the frame: the process dies of SIGSEGV.
                self.exit_now = Some(ExitKind::Group(ExitStatus::Signaled(libc::SIGSEGV, false)));
            }
            return true;
        }
    }

    fn restore_saved_mask(&mut self) {
        if let Ok(mut i) = self.task.inner.lock() {
            if let Some(m) = i.saved_mask.take() {
                i.sigmask = m;
            }
        }
    }

    fn group_stop(&mut self, sig: i32) {
        let mut deferred = None;
        if let Ok(mut g) = self.task.tg.inner.lock() {
            if !g.stopped {
                g.stopped = true;
                g.stop_report = Some((sig << 8) | 0x7f);
                deferred = signal::notify_parent_stop_change(
                    &g,
                    self.task.tg.tgid,
                    libc::CLD_STOPPED,
                    sig,
                );
                for t in &g.threads {
                    if t.tid != self.task.tid {
                        t.interrupt();
                    }
                }
            }
        }
        if let Some((p, info)) = deferred {
            signal::send_to_group(&p, info);
        }
    }

    fn setup_frame(&mut self, info: &Siginfo, act: &SigAction) -> SysResult<()> {
        let sig = info.si_signo;
        let (old_mask, altstack) = {
            let i = self.task.inner.lock().map_err(|_| Errno::EIO)?;
            (i.saved_mask.unwrap_or(i.sigmask), i.altstack)
        };
        let mut sp = self.regs.rsp;
        let on_alt = altstack.ss_flags & libc::SS_DISABLE == 0
            && sp > altstack.ss_sp
            && sp <= altstack.ss_sp.wrapping_add(altstack.ss_size);
        if act.flags & libc::SA_ONSTACK as u64 != 0
            && altstack.ss_flags & libc::SS_DISABLE == 0
            && !on_alt
        {
            sp = altstack.ss_sp.wrapping_add(altstack.ss_size);
        } else {
            sp = sp.wrapping_sub(128);
        }
        // FP state: the whole xsave area, 64-byte aligned, tagged as Linux
        // does (sw_reserved magic1/sizes/features, magic2 after it), so the
        // handler may use AVX freely and the interrupted code gets its
        // registers back.
        let fp_bytes = fp_frame(&self.stub)?;
        sp = sp.wrapping_sub(fp_bytes.len() as u64) & !63;
        let fpstate = sp;
        self.write_bytes(fpstate, &fp_bytes)?;
        let xstate = fp_bytes.len() > 512;
        let uc_size = std::mem::size_of::<Ucontext>() as u64;
        let frame_size = 8 + uc_size + 128;
        sp = (sp.wrapping_sub(frame_size) & !15).wrapping_sub(8);
        let r = &self.regs;
        let mc = Sigcontext {
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rdi: r.rdi,
            rsi: r.rsi,
            rbp: r.rbp,
            rbx: r.rbx,
            rdx: r.rdx,
            rax: r.rax,
            rcx: r.rcx,
            rsp: r.rsp,
            rip: r.rip,
            eflags: r.eflags,
            cs: r.cs as u16,
            gs: 0,
            fs: 0,
            ss: r.ss as u16,
            err: 0,
            trapno: if info.si_signo == libc::SIGSEGV {
                14
            } else {
                0
            },
            oldmask: old_mask,
            cr2: if matches!(sig, libc::SIGSEGV | libc::SIGBUS) {
                info.fields[0]
            } else {
                0
            },
            fpstate,
            reserved1: [0; 8],
        };
        let uc = Ucontext {
            uc_flags: rvisor_syscalls::abi::UC_SIGCONTEXT_SS
                | rvisor_syscalls::abi::UC_STRICT_RESTORE_SS
                | if xstate {
                    rvisor_syscalls::abi::UC_FP_XSTATE
                } else {
                    0
                },
            uc_link: 0,
            uc_stack: StackT {
                ss_sp: altstack.ss_sp,
                ss_flags: if on_alt {
                    libc::SS_ONSTACK
                } else {
                    altstack.ss_flags
                },
                _pad: 0,
                ss_size: altstack.ss_size,
            },
            uc_mcontext: mc,
            uc_sigmask: old_mask,
        };
        let restorer = if act.flags & rvisor_syscalls::abi::SA_RESTORER != 0 {
            act.restorer
        } else {
            0
        };
        if restorer == 0 {
            // Without a restorer the handler's return would jump to 0.
            return Err(Errno::EFAULT);
        }
        let mut frame = Vec::with_capacity(frame_size as usize);
        frame.extend_from_slice(&restorer.to_le_bytes());
        frame.extend_from_slice(uc.as_bytes());
        frame.extend_from_slice(info.as_bytes());
        self.write_bytes(sp, &frame)?;
        let regs = &mut self.regs;
        regs.rsp = sp;
        regs.rip = act.handler;
        regs.rdi = sig as u64;
        regs.rsi = sp + 8 + uc_size;
        regs.rdx = sp + 8;
        regs.rax = 0;
        regs.eflags &= !(0x400 | 0x100); // DF, TF
        regs.orig_rax = u64::MAX;
        if let Ok(mut i) = self.task.inner.lock() {
            let mut m = old_mask | act.mask;
            if act.flags & libc::SA_NODEFER as u64 == 0 {
                m |= bit(sig);
            }
            i.sigmask = m & !signal::UNBLOCKABLE;
            i.saved_mask = None;
            if altstack.ss_flags & rvisor_syscalls::abi::SS_AUTODISARM != 0 {
                i.altstack = StackT {
                    ss_flags: libc::SS_DISABLE,
                    ..Default::default()
                };
            }
        }
        if act.flags & libc::SA_RESETHAND as u64 != 0 {
            if let Ok(mut a) = self.task.tg.actions.lock() {
                if let Some(x) = a.get_mut(sig as usize) {
                    *x = SigAction::default();
                }
            }
        }
        Ok(())
    }

    /// rt_sigreturn: restores the context saved by [`Self::setup_frame`].
    pub fn sigreturn(&mut self) -> SysResult<u64> {
        let uc_addr = self.regs.rsp;
        let uc: Ucontext = self.read_val(uc_addr)?;
        let mc = uc.uc_mcontext;
        let r = &mut self.regs;
        r.r8 = mc.r8;
        r.r9 = mc.r9;
        r.r10 = mc.r10;
        r.r11 = mc.r11;
        r.r12 = mc.r12;
        r.r13 = mc.r13;
        r.r14 = mc.r14;
        r.r15 = mc.r15;
        r.rdi = mc.rdi;
        r.rsi = mc.rsi;
        r.rbp = mc.rbp;
        r.rbx = mc.rbx;
        r.rdx = mc.rdx;
        r.rax = mc.rax;
        r.rcx = mc.rcx;
        r.rsp = mc.rsp;
        r.rip = mc.rip;
        const FIX_EFLAGS: u64 = 0x40DD5;
        r.eflags = (r.eflags & !FIX_EFLAGS) | (mc.eflags & FIX_EFLAGS);
        r.orig_rax = u64::MAX;
        if mc.fpstate != 0 {
            self.restore_fp_frame(mc.fpstate)?;
        }
        if let Ok(mut i) = self.task.inner.lock() {
            i.sigmask = uc.uc_sigmask & !signal::UNBLOCKABLE;
            let st = uc.uc_stack;
            if st.ss_flags & libc::SS_ONSTACK == 0 {
                i.altstack = StackT {
                    ss_flags: st.ss_flags & libc::SS_DISABLE,
                    ..st
                };
            }
        }
        Ok(self.regs.rax)
    }

    /// Restores FP state from a signal frame's fpstate area: the full xsave
    /// area when magic1 says it is there, else the legacy fxsave part.
    fn restore_fp_frame(&self, addr: u64) -> SysResult<()> {
        let mut legacy = [0u8; 512];
        self.read_into(addr, &mut legacy)?;
        let magic1 = u32::from_le_bytes([legacy[464], legacy[465], legacy[466], legacy[467]]);
        let size =
            u32::from_le_bytes([legacy[480], legacy[481], legacy[482], legacy[483]]) as usize;
        if magic1 == rvisor_syscalls::abi::FP_XSTATE_MAGIC1 && (576..=16384).contains(&size) {
            let mut full = self.read_bytes(addr, size)?;
            // The regset's sw_reserved carries XCR0 in its first word.
            let xcr0 = u64::from_le_bytes(full[472..480].try_into().map_err(|_| Errno::EFAULT)?);
            full[464..512].fill(0);
            full[464..472].copy_from_slice(&xcr0.to_le_bytes());
            // MXCSR reserved bits would make the restore fail: clear them.
            let mxcsr = u32::from_le_bytes([full[24], full[25], full[26], full[27]]) & 0xffff;
            full[24..28].copy_from_slice(&mxcsr.to_le_bytes());
            if self.stub.set_xstate(&full).is_ok() {
                return Ok(());
            }
        }
        // SAFETY: user_fpregs_struct is 512 bytes of plain integers; any bit
        // pattern is a valid value (MXCSR's reserved bits are cleared).
        let mut fp: libc::user_fpregs_struct = unsafe { std::mem::transmute(legacy) };
        fp.mxcsr &= 0xffff;
        let _ = self.stub.set_fpregs(&fp);
        Ok(())
    }

    // ---- exit ----------------------------------------------------------

    /// Starts a group exit: every thread of the process leaves.
    pub fn begin_group_exit(&self, st: ExitStatus) -> ExitStatus {
        let threads;
        let final_st;
        {
            let Ok(mut g) = self.task.tg.inner.lock() else {
                return st;
            };
            if g.exiting.is_none() {
                g.exiting = Some(st);
            }
            final_st = g.exiting.unwrap_or(st);
            threads = g.threads.clone();
        }
        for t in threads {
            t.killed.store(true, Ordering::SeqCst);
            if t.tid != self.task.tid {
                t.interrupt();
            }
        }
        final_st
    }

    fn do_exit(mut self, kind: ExitKind) {
        let (group, status) = match kind {
            ExitKind::Group(st) => (true, self.begin_group_exit(st)),
            ExitKind::Thread(code) => {
                let last = self
                    .task
                    .tg
                    .inner
                    .lock()
                    .map(|g| g.threads.len() <= 1)
                    .unwrap_or(true);
                let exiting = self.task.tg.inner.lock().ok().and_then(|g| g.exiting);
                match exiting {
                    Some(st) => (true, st),
                    None => (last, ExitStatus::Exited(code)),
                }
            }
        };
        // vfork parent may continue.
        let vfork = self
            .task
            .inner
            .lock()
            .ok()
            .and_then(|mut i| i.vfork_done.take());
        if let Some(c) = vfork {
            c.complete();
        }
        // CLONE_CHILD_CLEARTID: only meaningful if the address space lives on.
        let ctid = self
            .task
            .inner
            .lock()
            .map(|i| i.clear_child_tid)
            .unwrap_or(0);
        if ctid != 0 && !group {
            let _ = self.write_val(ctid, &0u32);
            let key = self.futex_key(ctid);
            self.kernel().futexes.wake(key, 1, u32::MAX);
        }
        if group {
            // Kill the stub process (and with it every thread of it).
            self.stub.kill_process();
        }
        let remaining = {
            let Ok(mut g) = self.task.tg.inner.lock() else {
                return;
            };
            g.threads.retain(|t| t.tid != self.task.tid);
            g.threads.len()
        };
        self.kernel().remove_task(self.task.tid);
        if !group {
            self.stub.detach_and_exit();
        }
        if remaining == 0 {
            self.finish_group(status);
        }
        // Drop our references to shared state.
        if let Ok(mut i) = self.task.inner.lock() {
            i.files = FdTable::new();
            i.mm = Arc::new(Mm::default());
        }
    }

    /// The last thread left: close files, reparent children, become a
    /// zombie and tell the parent.
    fn finish_group(&mut self, status: ExitStatus) {
        let tg = self.task.tg.clone();
        super::reclock::table().release(super::reclock::Owner::Process(tg.tgid), None);
        let kernel = self.kernel().clone();
        // A session leader's exit takes the session's controlling
        // terminal away (its foreground group gets SIGHUP).
        let leader = tg.inner.lock().map(|g| g.sid == tg.tgid).unwrap_or(false);
        if leader {
            crate::tty::jobctl::disassociate(&kernel, &tg, true);
        }
        if let Ok(mut g) = tg.inner.lock() {
            g.ctty = None;
        }
        if let Ok(i) = self.task.inner.lock() {
            i.files.clear();
        }
        // Cancel timers.
        if let Ok(g) = tg.inner.lock() {
            g.itimer_real.set(
                std::sync::Weak::new(),
                std::time::Duration::ZERO,
                std::time::Duration::ZERO,
            );
        }
        // Reparent children to init (or, for init, kill everything).
        let children: Vec<Arc<ThreadGroup>> = tg
            .inner
            .lock()
            .map(|mut g| std::mem::take(&mut g.children))
            .unwrap_or_default();
        if tg.tgid == 1 {
            for g in kernel.groups() {
                if g.tgid != 1 {
                    signal::send_to_group(
                        &g,
                        Siginfo::kill(libc::SIGKILL, rvisor_syscalls::abi::SI_KERNEL, 0, 0),
                    );
                }
            }
        } else if let Some(init) = kernel.group(1) {
            let mut zombies = false;
            for c in &children {
                if let Ok(mut ci) = c.inner.lock() {
                    ci.parent = Some(Arc::downgrade(&init));
                    zombies |= ci.zombie.is_some();
                    // PR_SET_PDEATHSIG
                    for t in &ci.threads {
                        let pd = t.inner.lock().map(|i| i.pdeathsig).unwrap_or(0);
                        if pd != 0 {
                            t.send_signal(Siginfo::kill(pd, rvisor_syscalls::abi::SI_USER, 0, 0));
                        }
                    }
                }
            }
            crate::tty::jobctl::orphan_stopped_groups(&kernel, &tg, &children);
            if let Ok(mut ii) = init.inner.lock() {
                ii.children.extend(children);
            }
            if zombies {
                init.child_events.notify_all();
            }
        }
        let parent = tg
            .inner
            .lock()
            .ok()
            .and_then(|g| g.parent.as_ref().and_then(|p| p.upgrade()));
        let exit_signal = tg
            .inner
            .lock()
            .map(|g| g.exit_signal)
            .unwrap_or(libc::SIGCHLD);
        let uid = tg.inner.lock().map(|g| g.creds.uid).unwrap_or(0);
        let on_exit = tg.inner.lock().ok().and_then(|mut g| {
            g.zombie = Some(status);
            g.on_exit.take()
        });
        if let Some(hook) = on_exit {
            hook(status);
        }
        if tg.tgid == 1 {
            kernel.remove_group(1);
            kernel.set_init_exited(status);
            return;
        }
        match parent {
            Some(p) => {
                let act = p
                    .actions
                    .lock()
                    .ok()
                    .map(|a| a[libc::SIGCHLD as usize])
                    .unwrap_or_default();
                let autoreap = exit_signal == libc::SIGCHLD
                    && (act.handler == SIG_IGN || act.flags & libc::SA_NOCLDWAIT as u64 != 0);
                if autoreap {
                    if let Ok(mut pi) = p.inner.lock() {
                        pi.children.retain(|c| c.tgid != tg.tgid);
                    }
                    kernel.remove_group(tg.tgid);
                } else if exit_signal > 0 {
                    let (code, st) = match status {
                        ExitStatus::Exited(c) => (libc::CLD_EXITED, c),
                        ExitStatus::Signaled(s, true) => (libc::CLD_DUMPED, s),
                        ExitStatus::Signaled(s, false) => (libc::CLD_KILLED, s),
                    };
                    let mut info = Siginfo::child(code, tg.tgid, uid, st, 0, 0);
                    info.si_signo = exit_signal;
                    signal::send_to_group(&p, info);
                }
                p.child_events.notify_all();
            }
            None => kernel.remove_group(tg.tgid),
        }
    }

    /// Futex key of `addr` in this task's address space.
    pub fn futex_key(&self, addr: u64) -> super::futex::FutexKey {
        let mm = self
            .task
            .inner
            .lock()
            .map(|i| Arc::as_ptr(&i.mm) as usize)
            .unwrap_or(0);
        (mm, addr)
    }

    /// True if a signal that is not blocked is pending (blocking calls
    /// then return ERESTARTSYS/EINTR).
    pub fn interrupted(&self) -> bool {
        self.task.killed.load(Ordering::SeqCst) || self.has_deliverable_signal()
    }
}
