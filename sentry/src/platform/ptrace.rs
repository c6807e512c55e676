//! The ptrace platform: stub threads driven with `PTRACE_SYSEMU`.
//!
//! Every workload thread is one host thread of a stub process, traced by the
//! one sentry thread that runs its task (ptrace requests must come from the
//! tracer thread). `PTRACE_SYSEMU` makes every system call the workload makes
//! stop in the sentry *before* the host kernel runs it, and the kernel then
//! skips it: the sentry writes the result into `rax` and resumes.
//!
//! Host calls that the platform itself needs in the stub (mmap, munmap,
//! mprotect, fork, exit) are *injected*: the registers are pointed at the
//! trampoline (see [`super::stub`]) and the thread is resumed with
//! `PTRACE_CONT`, so the call runs for real and traps back on the `int3`
//! after it. Only those calls pass the stub's seccomp filter.

use std::io;

use libc::{c_long, c_void, pid_t, user_fpregs_struct, user_regs_struct};

use super::stub::{
    self, STUB_BASE, STUB_SCRATCH, STUB_SIZE, STUB_SOCK_FD, TRAMP_FORK, TRAMP_SYSCALL,
};
use super::{PlatformError, Stop};

/// The host signal the sentry sends a running stub thread to make it stop so
/// that its task can notice a pending (emulated) signal or an exit request.
pub const KICK_SIGNAL: i32 = libc::SIGUSR2;

const PTRACE_OPTIONS: c_long = (libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL) as c_long;

/// The ELF note type of the x86 extended state register set.
const NT_X86_XSTATE: usize = 0x202;

/// Range of host special mappings ([vvar], [vdso]) that stay in every stub.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpecialMappings {
    /// Start of the vvar pages (or of the vdso when there are none).
    pub vvar_start: u64,
    /// Start of the vDSO image.
    pub vdso_start: u64,
    /// End of the vDSO image.
    pub vdso_end: u64,
}

/// One traced host thread of a stub process, driven by the sentry thread
/// that created or seized it. Not `Send`: ptrace requests are only valid from
/// the tracer thread.
pub struct StubThread {
    tid: pid_t,
    tgid: pid_t,
    /// Registers with valid segment selectors, used as the base for
    /// injected calls.
    scratch: user_regs_struct,
    /// Where the host put vvar/vDSO in this stub process (inherited by
    /// the processes forked from it).
    special: SpecialMappings,
    _not_send: std::marker::PhantomData<*const ()>,
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn ptrace_raw(req: libc::c_uint, pid: pid_t, addr: usize, data: usize) -> Result<c_long, i32> {
    // SAFETY: ptrace with an integer request; any pointer passed in `addr`
    // or `data` is supplied by the callers below and points to a live,
    // correctly sized local of the type the request expects.
    let r = unsafe { libc::ptrace(req, pid, addr as *mut c_void, data as *mut c_void) };
    if r == -1 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// Waits for a state change of `tid` (a traced thread), retrying on EINTR.
fn wait_tid(tid: pid_t) -> Result<i32, i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into the local `status`.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == tid {
            return Ok(status);
        }
        let e = errno();
        if r == -1 && e == libc::EINTR {
            continue;
        }
        return Err(e);
    }
}

impl StubThread {
    /// Creates a brand-new stub process from the in-memory stub ELF and
    /// takes it under ptrace from the calling thread. The stub gets a
    /// parent-death signal, ignores SIGCHLD (its exited children are reaped
    /// by the host), has no file descriptors, and runs under a seccomp
    /// filter that allows only the calls the platform injects.
    pub fn spawn_initial() -> Result<(StubThread, SpecialMappings), PlatformError> {
        let memfd = stub::stub_memfd().map_err(PlatformError::Io)?;
        let stub_sock = fd_socket()?;
        let memfd_raw = std::os::fd::AsRawFd::as_raw_fd(&memfd);
        let empty: [*const libc::c_char; 1] = [std::ptr::null()];
        let path = c"";
        // Stubs stay in the sentry's pid namespace: injected clones return
        // pids that the sentry uses directly as host pids. Every stub is
        // traced with PTRACE_O_EXITKILL, so all die with the sentry.
        // SAFETY: fork in a multi-threaded program; the child only calls
        // async-signal-safe functions (raw syscalls) before execveat or
        // _exit, and touches no locks or allocator state.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(PlatformError::Os("fork stub", errno()));
        }
        if pid == 0 {
            // SAFETY: child side of fork: raw syscalls only, see above.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                for sig in 1..32 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::signal(sig, libc::SIG_DFL);
                    }
                }
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                libc::syscall(
                    libc::SYS_close_range,
                    0u32,
                    u32::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                );
                // The one descriptor the stub keeps: its end of the
                // fd-passing socket (dup2 clears close-on-exec).
                if libc::dup2(stub_sock, STUB_SOCK_FD) < 0 {
                    libc::_exit(125);
                }
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    libc::_exit(126);
                }
                libc::syscall(
                    libc::SYS_execveat,
                    memfd_raw,
                    path.as_ptr(),
                    empty.as_ptr(),
                    empty.as_ptr(),
                    libc::AT_EMPTY_PATH,
                );
                libc::_exit(127);
            }
        }
        drop(memfd);
        let status = wait_tid(pid).map_err(|e| PlatformError::Os("wait stub", e))?;
        if !libc::WIFSTOPPED(status) || libc::WSTOPSIG(status) != libc::SIGTRAP {
            return Err(PlatformError::StubStart(status));
        }
        ptrace_raw(libc::PTRACE_SETOPTIONS, pid, 0, PTRACE_OPTIONS as usize)
            .map_err(|e| PlatformError::Os("PTRACE_SETOPTIONS", e))?;
        let mut st = StubThread {
            tid: pid,
            tgid: pid,
            scratch: user_regs_struct_zeroed(),
            special: SpecialMappings::default(),
            _not_send: std::marker::PhantomData,
        };
        st.scratch = st.get_regs()?;
        let special = read_special_mappings(pid)?;
        st.special = special;
        st.clean_initial_address_space(&special)?;
        st.install_seccomp()?;
        Ok((st, special))
    }

    /// Maps the host file `fd` into this stub: passes the descriptor over
    /// the stub's socket, injects `recvmsg`, `mmap` and `close`. Returns
    /// the mapped address or the host's errno.
    pub fn map_host_fd(
        &self,
        fd: i32,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        off: u64,
    ) -> Result<Result<u64, i32>, PlatformError> {
        let stub_fd = self.receive_fd(fd)?;
        let mapped = self.inject(
            libc::SYS_mmap,
            [addr, len, prot as u64, flags as u64, stub_fd as u64, off],
        )?;
        let _ = self.inject(libc::SYS_close, [stub_fd as u64, 0, 0, 0, 0, 0])?;
        if mapped < 0 {
            return Ok(Err((-mapped) as i32));
        }
        Ok(Ok(mapped as u64))
    }

    /// Reads (`pread64`) or writes (`pwrite64`) `len` bytes between the
    /// host file `fd` at `off` and this stub's memory at `addr`, in the
    /// stub: one copy, straight between the page cache and workload memory.
    /// The caller has checked that `[addr, addr + len)` is workload memory
    /// with the right protection; `fd` and `off` are the sentry's own.
    /// Returns the byte count or the host's errno.
    pub fn host_fd_io(
        &self,
        fd: i32,
        write: bool,
        addr: u64,
        len: u64,
        off: u64,
    ) -> Result<Result<u64, i32>, PlatformError> {
        let stub_fd = self.receive_fd(fd)?;
        let nr = if write {
            libc::SYS_pwrite64
        } else {
            libc::SYS_pread64
        };
        let r = self.inject(nr, [stub_fd as u64, addr, len, off, 0, 0]);
        let _ = self.inject(libc::SYS_close, [stub_fd as u64, 0, 0, 0, 0, 0])?;
        let r = r?;
        if r < 0 {
            return Ok(Err((-r) as i32));
        }
        Ok(Ok(r as u64))
    }

    /// Passes the sentry's host descriptor `fd` into this stub process over
    /// the fd-passing socket (injected `recvmsg`); returns its number in
    /// the stub, which the caller must close there.
    fn receive_fd(&self, fd: i32) -> Result<i32, PlatformError> {
        let guard = FD_PASS_LOCK
            .lock()
            .map_err(|_| PlatformError::Os("fd passing lock", libc::EIO))?;
        let Some(sock) = FD_PASS_SOCK.get() else {
            return Err(PlatformError::Os("fd passing socket", libc::EBADF));
        };
        send_fd(*sock, fd)?;
        // msghdr { name 0, namelen 0, iov, iovlen 1, control, controllen, flags }
        // iovec  { base, len 1 } ; one data byte ; cmsg buffer (24 bytes).
        let msg = STUB_SCRATCH;
        let iov = msg + 64;
        let data = iov + 16;
        let ctrl = data + 8;
        let mut page = Vec::with_capacity(128);
        for w in [0u64, 0, iov, 1, ctrl, 24, 0] {
            page.extend_from_slice(&w.to_le_bytes());
        }
        page.resize(64, 0);
        page.extend_from_slice(&data.to_le_bytes());
        page.extend_from_slice(&1u64.to_le_bytes());
        page.resize(64 + 16 + 8 + 24, 0);
        if self.write_mem(msg, &page) != page.len() {
            return Err(PlatformError::Os("write fd-passing header", libc::EFAULT));
        }
        let r = self.inject(
            libc::SYS_recvmsg,
            [
                STUB_SOCK_FD as u64,
                msg,
                libc::MSG_CMSG_CLOEXEC as u64,
                0,
                0,
                0,
            ],
        )?;
        if r < 0 {
            return Err(PlatformError::Os("injected recvmsg", (-r) as i32));
        }
        let mut cmsg = [0u8; 24];
        if self.read_mem(ctrl, &mut cmsg) != 24 {
            return Err(PlatformError::Os("read received fd", libc::EFAULT));
        }
        drop(guard);
        let level = i32::from_le_bytes([cmsg[8], cmsg[9], cmsg[10], cmsg[11]]);
        let kind = i32::from_le_bytes([cmsg[12], cmsg[13], cmsg[14], cmsg[15]]);
        if level != libc::SOL_SOCKET || kind != libc::SCM_RIGHTS {
            return Err(PlatformError::Os("no fd received", libc::EIO));
        }
        let stub_fd = i32::from_le_bytes([cmsg[16], cmsg[17], cmsg[18], cmsg[19]]);
        Ok(stub_fd)
    }

    /// Takes under ptrace a stub thread that an injected fork/clone created
    /// and that now parks in the trampoline's pause loop; `special` is the
    /// parent stub's [`StubThread::special`].
    pub fn seize(
        tid: pid_t,
        tgid: pid_t,
        scratch: user_regs_struct,
        special: SpecialMappings,
    ) -> Result<StubThread, PlatformError> {
        ptrace_raw(libc::PTRACE_SEIZE, tid, 0, PTRACE_OPTIONS as usize)
            .map_err(|e| PlatformError::Os("PTRACE_SEIZE", e))?;
        ptrace_raw(libc::PTRACE_INTERRUPT, tid, 0, 0)
            .map_err(|e| PlatformError::Os("PTRACE_INTERRUPT", e))?;
        loop {
            let status = wait_tid(tid).map_err(|e| PlatformError::Os("wait seized", e))?;
            if libc::WIFSTOPPED(status) {
                let event = (status >> 16) & 0xff;
                if event == libc::PTRACE_EVENT_STOP {
                    break;
                }
                // A signal-delivery stop before the interrupt: suppress it.
                ptrace_raw(libc::PTRACE_CONT, tid, 0, 0)
                    .map_err(|e| PlatformError::Os("PTRACE_CONT", e))?;
                continue;
            }
            return Err(PlatformError::StubStart(status));
        }
        Ok(StubThread {
            tid,
            tgid,
            scratch,
            special,
            _not_send: std::marker::PhantomData,
        })
    }

    /// Puts the calling sentry thread and this stub thread on one CPU.
    ///
    /// A ptrace stop/resume round trip costs several times more when
    /// tracer and tracee run on different CPUs (the wake-up crosses cores),
    /// so each task's pair shares a CPU; pairs are spread round-robin over
    /// the CPUs the sentry may use.
    pub fn pin_with_tracer(&self) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        // SAFETY: cpu_set_t is a plain bit array; all-zero is valid.
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: writes the calling thread's mask into `allowed`.
        if unsafe {
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed)
        } != 0
        {
            return;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: CPU_ISSET reads a bit of a live cpu_set_t within range.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
            .collect();
        if cpus.len() < 2 {
            return;
        }
        let cpu = cpus[NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % cpus.len()];
        // SAFETY: as above, a zeroed mask with one bit set.
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` < CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut one) };
        // SAFETY: sets the affinity of this thread and of our own stub
        // thread from a live mask.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
            libc::sched_setaffinity(self.tid, std::mem::size_of::<libc::cpu_set_t>(), &one);
        }
    }

    /// Host thread id of this stub thread (in the sentry's pid namespace).
    pub fn tid(&self) -> pid_t {
        self.tid
    }

    /// Host process id of the stub this thread belongs to.
    pub fn tgid(&self) -> pid_t {
        self.tgid
    }

    /// Registers usable as the base of injected calls in this stub.
    pub fn scratch_regs(&self) -> user_regs_struct {
        self.scratch
    }

    /// The vvar/vDSO mappings of this stub's process.
    pub fn special(&self) -> SpecialMappings {
        self.special
    }

    /// Reads the thread's general registers.
    pub fn get_regs(&self) -> Result<user_regs_struct, PlatformError> {
        let mut regs = user_regs_struct_zeroed();
        ptrace_raw(
            libc::PTRACE_GETREGS,
            self.tid,
            0,
            &mut regs as *mut _ as usize,
        )
        .map_err(|e| PlatformError::Os("PTRACE_GETREGS", e))?;
        Ok(regs)
    }

    /// Writes the thread's general registers.
    pub fn set_regs(&self, regs: &user_regs_struct) -> Result<(), PlatformError> {
        ptrace_raw(libc::PTRACE_SETREGS, self.tid, 0, regs as *const _ as usize)
            .map_err(|e| PlatformError::Os("PTRACE_SETREGS", e))?;
        Ok(())
    }

    /// Reads the thread's FP/SSE state (fxsave layout).
    pub fn get_fpregs(&self) -> Result<user_fpregs_struct, PlatformError> {
        // SAFETY: user_fpregs_struct is plain old data; all-zero is valid.
        let mut fp: user_fpregs_struct = unsafe { std::mem::zeroed() };
        ptrace_raw(
            libc::PTRACE_GETFPREGS,
            self.tid,
            0,
            &mut fp as *mut _ as usize,
        )
        .map_err(|e| PlatformError::Os("PTRACE_GETFPREGS", e))?;
        Ok(fp)
    }

    /// Writes the thread's FP/SSE state (fxsave layout).
    pub fn set_fpregs(&self, fp: &user_fpregs_struct) -> Result<(), PlatformError> {
        ptrace_raw(libc::PTRACE_SETFPREGS, self.tid, 0, fp as *const _ as usize)
            .map_err(|e| PlatformError::Os("PTRACE_SETFPREGS", e))?;
        Ok(())
    }

    /// Reads the thread's full extended FP state (the xsave area, as
    /// `PTRACE_GETREGSET NT_X86_XSTATE` gives it; bytes 464..472 hold XCR0).
    pub fn get_xstate(&self) -> Result<Vec<u8>, PlatformError> {
        let mut buf = vec![0u8; 16384];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut c_void,
            iov_len: buf.len(),
        };
        ptrace_raw(
            libc::PTRACE_GETREGSET,
            self.tid,
            NT_X86_XSTATE,
            &mut iov as *mut _ as usize,
        )
        .map_err(|e| PlatformError::Os("PTRACE_GETREGSET xstate", e))?;
        let n = iov.iov_len.min(buf.len());
        buf.truncate(n);
        Ok(buf)
    }

    /// Writes the thread's full extended FP state (xsave layout).
    pub fn set_xstate(&self, data: &[u8]) -> Result<(), PlatformError> {
        let mut copy = data.to_vec();
        let mut iov = libc::iovec {
            iov_base: copy.as_mut_ptr() as *mut c_void,
            iov_len: copy.len(),
        };
        ptrace_raw(
            libc::PTRACE_SETREGSET,
            self.tid,
            NT_X86_XSTATE,
            &mut iov as *mut _ as usize,
        )
        .map_err(|e| PlatformError::Os("PTRACE_SETREGSET xstate", e))?;
        Ok(())
    }

    /// Runs the workload's register context until its next system call,
    /// fault or interruption. On return `regs` holds the thread's registers.
    pub fn run(&self, regs: &mut user_regs_struct) -> Result<Stop, PlatformError> {
        self.set_regs(regs)?;
        let mut resume_sig = 0usize;
        loop {
            ptrace_raw(libc::PTRACE_SYSEMU, self.tid, 0, resume_sig)
                .map_err(|e| PlatformError::Os("PTRACE_SYSEMU", e))?;
            resume_sig = 0;
            let status = wait_tid(self.tid).map_err(|e| PlatformError::Os("wait", e))?;
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Ok(Stop::Died(status));
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let sig = libc::WSTOPSIG(status);
            if sig == (libc::SIGTRAP | 0x80) {
                *regs = self.get_regs()?;
                return Ok(Stop::Syscall);
            }
            if (status >> 16) != 0 {
                // PTRACE_EVENT_STOP (group-stop or interrupt): just resume.
                continue;
            }
            match sig {
                libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP => {
                    let info = self.get_siginfo()?;
                    if info.si_code > 0 {
                        *regs = self.get_regs()?;
                        // SAFETY: for the fault signals above with a
                        // kernel si_code, si_addr is the valid union member.
                        let addr = unsafe { info.si_addr() } as u64;
                        return Ok(Stop::Fault {
                            signo: sig,
                            code: info.si_code,
                            addr,
                        });
                    }
                    // Sent by someone on the host: not the workload's doing.
                    continue;
                }
                KICK_SIGNAL => {
                    *regs = self.get_regs()?;
                    return Ok(Stop::Interrupted);
                }
                libc::SIGKILL => return Ok(Stop::Died(status)),
                _ => {
                    // SIGCHLD from an exiting child stub and the like: the
                    // host's business, never delivered to the workload.
                    let _ = resume_sig;
                    continue;
                }
            }
        }
    }

    fn get_siginfo(&self) -> Result<libc::siginfo_t, PlatformError> {
        // SAFETY: siginfo_t is plain old data; all-zero is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        ptrace_raw(
            libc::PTRACE_GETSIGINFO,
            self.tid,
            0,
            &mut info as *mut _ as usize,
        )
        .map_err(|e| PlatformError::Os("PTRACE_GETSIGINFO", e))?;
        Ok(info)
    }

    fn inject_at(&self, rip: u64, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        let mut regs = self.scratch;
        regs.rip = rip;
        regs.rax = nr as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = args[0];
        regs.rsi = args[1];
        regs.rdx = args[2];
        regs.r10 = args[3];
        regs.r8 = args[4];
        regs.r9 = args[5];
        self.set_regs(&regs)?;
        loop {
            ptrace_raw(libc::PTRACE_CONT, self.tid, 0, 0)
                .map_err(|e| PlatformError::Os("PTRACE_CONT", e))?;
            let status = wait_tid(self.tid).map_err(|e| PlatformError::Os("wait inject", e))?;
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(PlatformError::StubDied(status));
            }
            if libc::WIFSTOPPED(status)
                && libc::WSTOPSIG(status) == libc::SIGTRAP
                && (status >> 16) == 0
            {
                let out = self.get_regs()?;
                if out.rip == rip + 3 || (rip == TRAMP_FORK && out.rip > rip) {
                    return Ok(out.rax as i64);
                }
                return Err(PlatformError::InjectLost(out.rip));
            }
            // Any other stop (a kick, SIGCHLD): suppress and continue.
        }
    }

    /// Runs one host system call in the stub on the platform's behalf and
    /// returns its raw result (negative errno on failure).
    pub fn inject(&self, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        self.inject_at(TRAMP_SYSCALL, nr, args)
    }

    /// Injects a `clone` with `flags` (for a new process or thread). The new
    /// host thread parks in the trampoline's pause loop until seized.
    /// Returns its host tid.
    pub fn inject_clone(&self, flags: u64) -> Result<pid_t, PlatformError> {
        let r = self.inject_at(TRAMP_FORK, libc::SYS_clone, [flags, 0, 0, 0, 0, 0])?;
        if r < 0 {
            return Err(PlatformError::Os("injected clone", (-r) as i32));
        }
        Ok(r as pid_t)
    }

    /// Ends this host thread: points it at an injected `exit(0)` and detaches,
    /// so that the tracer can go away without taking the process with it.
    pub fn detach_and_exit(&self) {
        let mut regs = self.scratch;
        regs.rip = TRAMP_SYSCALL;
        regs.rax = libc::SYS_exit as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = 0;
        if self.set_regs(&regs).is_ok() {
            let _ = ptrace_raw(libc::PTRACE_DETACH, self.tid, 0, 0);
        }
    }

    /// Kills the whole stub process and reaps this thread's exit.
    pub fn kill_process(&self) {
        // SAFETY: kill with a pid the sentry owns (its own stub).
        unsafe { libc::kill(self.tgid, libc::SIGKILL) };
        loop {
            match wait_tid(self.tid) {
                Ok(status) if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) => break,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
    }

    /// Waits until this (already killed) thread is gone.
    pub fn reap(&self) {
        loop {
            match wait_tid(self.tid) {
                Ok(status) if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) => break,
                Ok(_) => {
                    let _ = ptrace_raw(libc::PTRACE_CONT, self.tid, 0, 0);
                }
                Err(_) => break,
            }
        }
    }

    /// Reads the stub's memory at `addr` into `buf`; returns bytes read
    /// (short at the first unreadable page).
    pub fn read_mem(&self, addr: u64, buf: &mut [u8]) -> usize {
        vm_rw(self.tid, addr, buf.as_mut_ptr(), buf.len(), false)
    }

    /// Writes `buf` into the stub's memory at `addr`; returns bytes written
    /// (short at the first unwritable page).
    pub fn write_mem(&self, addr: u64, buf: &[u8]) -> usize {
        vm_rw(self.tid, addr, buf.as_ptr() as *mut u8, buf.len(), true)
    }

    fn clean_initial_address_space(&self, special: &SpecialMappings) -> Result<(), PlatformError> {
        unmap_all_but_special(self, special)
    }

    fn install_seccomp(&self) -> Result<(), PlatformError> {
        let prog = super::seccomp::stub_filter()?;
        // The filter and its sock_fprog header go into a scratch anonymous
        // page, unmapped once the filter is installed.
        let len = prog.len() * 8;
        let page = self.inject(
            libc::SYS_mmap,
            [
                0,
                (len + 16 + 4095) as u64 & !4095,
                (libc::PROT_READ | libc::PROT_WRITE) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                u64::MAX,
                0,
            ],
        )?;
        if page < 0 {
            return Err(PlatformError::Os("mmap seccomp scratch", (-page) as i32));
        }
        let page = page as u64;
        let mut bytes = Vec::with_capacity(len + 16);
        bytes.extend_from_slice(&(prog.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0u8; 6]);
        bytes.extend_from_slice(&(page + 16).to_le_bytes());
        for ins in &prog {
            bytes.extend_from_slice(&ins.code.to_le_bytes());
            bytes.push(ins.jt);
            bytes.push(ins.jf);
            bytes.extend_from_slice(&ins.k.to_le_bytes());
        }
        if self.write_mem(page, &bytes) != bytes.len() {
            return Err(PlatformError::Os("write seccomp filter", libc::EFAULT));
        }
        let r = self.inject(
            libc::SYS_prctl,
            [libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0, 0],
        )?;
        if r < 0 {
            return Err(PlatformError::Os("PR_SET_NO_NEW_PRIVS", (-r) as i32));
        }
        let r = self.inject(
            libc::SYS_seccomp,
            [libc::SECCOMP_SET_MODE_FILTER as u64, 0, page, 0, 0, 0],
        )?;
        if r < 0 {
            return Err(PlatformError::Os("seccomp", (-r) as i32));
        }
        let r = self.inject(
            libc::SYS_munmap,
            [page, (len + 16 + 4095) as u64 & !4095, 0, 0, 0, 0],
        )?;
        if r < 0 {
            return Err(PlatformError::Os("munmap seccomp scratch", (-r) as i32));
        }
        Ok(())
    }

    /// Sends the kick signal to this thread so that a running workload
    /// stops in the sentry. Safe to call from any thread.
    pub fn kick(tgid: pid_t, tid: pid_t) {
        // SAFETY: tgkill on the sentry's own stub thread.
        unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, KICK_SIGNAL) };
    }
}

/// Unmaps everything in the stub except the trampoline and the host's
/// special mappings (vvar, vDSO), leaving an empty address space for a new
/// program image.
pub fn unmap_all_but_special(
    st: &StubThread,
    special: &SpecialMappings,
) -> Result<(), PlatformError> {
    const TOP: u64 = 0x7fff_ffff_f000;
    let mut keep = [
        (STUB_BASE, STUB_BASE + STUB_SIZE),
        (special.vvar_start, special.vdso_end),
    ];
    keep.sort();
    let mut cur = 0x1000u64;
    for (s, e) in keep {
        if s > cur {
            let r = st.inject(libc::SYS_munmap, [cur, s - cur, 0, 0, 0, 0])?;
            if r < 0 {
                return Err(PlatformError::Os("munmap", (-r) as i32));
            }
        }
        cur = cur.max(e);
    }
    if TOP > cur {
        let r = st.inject(libc::SYS_munmap, [cur, TOP - cur, 0, 0, 0, 0])?;
        if r < 0 {
            return Err(PlatformError::Os("munmap", (-r) as i32));
        }
    }
    Ok(())
}

/// The sentry's end of the socket every stub holds at [`STUB_SOCK_FD`].
/// All stubs descend from the first one, so they share its other end; the
/// lock makes send + injected receive one step, so a stub always receives
/// the descriptor meant for it.
static FD_PASS_SOCK: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
static FD_PASS_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Creates the fd-passing socket pair once per sentry; returns the stub's
/// end (kept open for every later stub fork of the first).
fn fd_socket() -> Result<i32, PlatformError> {
    static STUB_END: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    if let Some(fd) = STUB_END.get() {
        return Ok(*fd);
    }
    let mut fds = [0i32; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(PlatformError::Os("socketpair", errno()));
    }
    let _ = FD_PASS_SOCK.set(fds[0]);
    let _ = STUB_END.set(fds[1]);
    Ok(*STUB_END.get().unwrap_or(&fds[1]))
}

fn send_fd(sock: i32, fd: i32) -> Result<(), PlatformError> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr() as *mut c_void,
        iov_len: 1,
    };
    let mut ctrl = [0u64; 4]; // CMSG_SPACE(sizeof(int)) = 24, 8-aligned
                              // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.as_mut_ptr() as *mut c_void;
    // SAFETY: CMSG_SPACE is a pure size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
    // SAFETY: msg_control points to `ctrl`, large enough for one cmsg with
    // an int; CMSG_FIRSTHDR/CMSG_DATA stay inside it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut i32, fd);
    }
    // SAFETY: sends the message built above from live locals.
    let r = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if r != 1 {
        return Err(PlatformError::Os("sendmsg fd", errno()));
    }
    Ok(())
}

fn vm_rw(tid: pid_t, addr: u64, buf: *mut u8, len: usize, write: bool) -> usize {
    let mut done = 0usize;
    while done < len {
        let chunk = len - done;
        let local = libc::iovec {
            iov_base: buf.wrapping_add(done) as *mut c_void,
            iov_len: chunk,
        };
        let remote = libc::iovec {
            iov_base: (addr.wrapping_add(done as u64)) as *mut c_void,
            iov_len: chunk,
        };
        // SAFETY: `local` covers `chunk` bytes inside the caller's buffer
        // (`buf[done..len]`); the remote side is the stub's memory, which
        // the kernel checks.
        let r = unsafe {
            if write {
                libc::process_vm_writev(tid, &local, 1, &remote, 1, 0)
            } else {
                libc::process_vm_readv(tid, &local, 1, &remote, 1, 0)
            }
        };
        if r <= 0 {
            // Partial transfers stop at page granularity; retry the part
            // up to the next page boundary byte-exactly is not possible, so
            // report what was done.
            break;
        }
        done += r as usize;
    }
    done
}

fn user_regs_struct_zeroed() -> user_regs_struct {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// Finds the host's special mappings in a fresh stub from its maps file.
fn read_special_mappings(pid: pid_t) -> Result<SpecialMappings, PlatformError> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).map_err(PlatformError::Io)?;
    let mut sm = SpecialMappings::default();
    let mut lo = u64::MAX;
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let range = parts.next().unwrap_or("");
        let name = parts.nth(4).unwrap_or("");
        let (s, e) = range.split_once('-').unwrap_or(("0", "0"));
        let s = u64::from_str_radix(s, 16).unwrap_or(0);
        let e = u64::from_str_radix(e, 16).unwrap_or(0);
        if name.starts_with("[vvar") || name == "[vdso]" {
            lo = lo.min(s);
            sm.vdso_end = sm.vdso_end.max(e);
        }
        if name == "[vdso]" {
            sm.vdso_start = s;
        }
    }
    if sm.vdso_start == 0 {
        return Err(PlatformError::NoVdso);
    }
    sm.vvar_start = lo;
    Ok(sm)
}
