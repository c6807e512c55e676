//! The kernel: tasks, thread groups, the virtual pid space, process groups
//! and sessions, signals, futexes and timers.
//!
//! One sentry OS thread runs one task (see [`task::TaskCtx::run`]); shared
//! state lives behind mutexes in [`Kernel`], [`ThreadGroup`] and [`Task`].
//! Lock order, outermost first: `Kernel::tables` → `ThreadGroup::inner` →
//! `Task::inner`.

pub mod caps;
pub mod flock;
pub mod futex;
pub mod reclock;
pub mod signal;
pub mod spawner;
pub mod task;
pub mod timer;
pub mod wait;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

use rvisor_syscalls::abi::{Siginfo, StackT};

use crate::fs::vfs::{Location, Vfs};
use crate::fs::FdTable;
use crate::mm::Mm;
use crate::platform::ptrace::StubThread;
use signal::{SigAction, SigQueue};
use wait::{WaitQueue, Waker};

/// Highest pid handed out before wrapping (Linux's default pid_max).
pub const PID_MAX: i32 = 4_194_304;
/// Number of resource limits (RLIMIT_NLIMITS).
pub const RLIM_NLIMITS: usize = 16;

/// Settings fixed at boot.
#[derive(Clone)]
pub struct KernelConfig {
    /// Log every system call like strace.
    pub strace: bool,
    /// Where strace lines go (stderr when None).
    pub strace_log: Option<Arc<Mutex<std::fs::File>>>,
    /// `uname -r` inside the sandbox.
    pub release: String,
    /// `uname -v`.
    pub version: String,
    /// Resource limits of the first process, (resource, soft, hard); the
    /// rest keep their defaults.
    pub init_rlimits: Vec<(u32, u64, u64)>,
    /// The first process starts with no_new_privs set.
    pub init_no_new_privs: bool,
    /// The first process is a pid namespace's init as in a container: it
    /// drops signals whose action is the default (SIGNAL_UNKILLABLE).
    /// Off for `rvisor do`, whose command behaves as when run directly.
    pub init_unkillable: bool,
    /// Internet sockets are served (through host sockets in the network
    /// namespace the sandbox runs in); false: AF_INET/AF_INET6 are
    /// EAFNOSUPPORT (`--network=none`).
    pub inet: bool,
    /// Ports below this need CAP_NET_BIND_SERVICE to bind (the network
    /// namespace's net.ipv4.ip_unprivileged_port_start, read at boot).
    pub unprivileged_port_start: u16,
}

/// Credentials of a thread group.
#[derive(Debug, Clone, Default)]
pub struct Creds {
    /// Real, effective, saved and filesystem user ids.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Filesystem user id.
    pub fsuid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Capability sets and securebits.
    pub caps: caps::Caps,
}

impl Creds {
    /// All ids set to `uid`/`gid`.
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        Creds {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups,
            caps: caps::Caps::for_uid(uid),
        }
    }

    /// Whether capability `cap` (a `caps::*` number) is effective.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.has(cap)
    }

    /// The user ids, as the capability rules see them.
    pub fn uids(&self) -> caps::Uids {
        caps::Uids {
            r: self.uid,
            e: self.euid,
            s: self.suid,
            fs: self.fsuid,
        }
    }

    /// Sets the user ids to `new` and adjusts the capabilities the way a
    /// set*uid call does.
    pub fn set_uids(&mut self, new: caps::Uids) {
        let old = self.uids();
        self.uid = new.r;
        self.euid = new.e;
        self.suid = new.s;
        self.fsuid = new.fs;
        self.caps.fix_setuid(old, new);
    }
}

/// Root, working directory and umask of a task (shared by CLONE_FS).
#[derive(Clone)]
pub struct FsContext {
    /// The root directory.
    pub root: Location,
    /// The working directory.
    pub cwd: Location,
    /// File creation mask.
    pub umask: u32,
}

/// How a thread group ended, as wait(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(code).
    Exited(i32),
    /// Killed by a signal (with "core dumped" flag).
    Signaled(i32, bool),
}

impl ExitStatus {
    /// The wait status word.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Signaled(s, core) => (s & 0x7f) | if core { 0x80 } else { 0 },
        }
    }
    /// The exit code a shell reports (128+N after signal N).
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled(s, _) => 128 + s,
        }
    }
}

/// Per-thread-group state.
pub struct ThreadGroupInner {
    /// The parent process (None for init).
    pub parent: Option<Weak<ThreadGroup>>,
    /// Child processes (live and zombie).
    pub children: Vec<Arc<ThreadGroup>>,
    /// Live threads.
    pub threads: Vec<Arc<Task>>,
    /// Process group id.
    pub pgid: i32,
    /// Session id.
    pub sid: i32,
    /// Signals pending for the whole group.
    pub pending: SigQueue,
    /// Set once the group is exiting (exit_group, fatal signal).
    pub exiting: Option<ExitStatus>,
    /// Set once every thread is gone: the status wait(2) reports.
    pub zombie: Option<ExitStatus>,
    /// A stop or continue to report to the parent (WUNTRACED/WCONTINUED):
    /// Some(wait status).
    pub stop_report: Option<i32>,
    /// The group is stopped (SIGSTOP and friends).
    pub stopped: bool,
    /// Resource limits (cur, max).
    pub rlimits: [(u64, u64); RLIM_NLIMITS],
    /// Credentials.
    pub creds: Creds,
    /// Signal sent to the parent at exit (SIGCHLD, or what clone said).
    pub exit_signal: i32,
    /// The executable's path as resolved at execve.
    pub exe: Option<Location>,
    /// PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
    /// PR_SET_DUMPABLE.
    pub dumpable: bool,
    /// Has execve'd since fork (setpgid EACCES rule).
    pub did_exec: bool,
    /// CPU time consumed by exited children (user, system) in µs.
    pub child_times: (u64, u64),
    /// The ITIMER_REAL timer.
    pub itimer_real: timer::ItimerReal,
    /// Told the exit status when the process ends (processes started from
    /// outside the sandbox, see [`spawner`]).
    pub on_exit: Option<spawner::ExitHook>,
    /// The controlling terminal (Linux's `signal->tty`): inherited by
    /// fork, dropped by setsid; see [`crate::tty::jobctl`].
    pub ctty: Option<Arc<crate::tty::Terminal>>,
    /// SIGNAL_UNKILLABLE: the sandbox's init (pid 1) drops signals whose
    /// action is the default (except SIGKILL/SIGSTOP from outside), until
    /// a fault forces one.
    pub unkillable: bool,
}

/// A process.
pub struct ThreadGroup {
    /// Thread group id (the process's pid).
    pub tgid: i32,
    /// Mutable state.
    pub inner: Mutex<ThreadGroupInner>,
    /// Signal dispositions (shared by every thread).
    pub actions: Mutex<[SigAction; 65]>,
    /// Woken when a child changes state (wait4 blocks here).
    pub child_events: WaitQueue,
    /// Woken when the group stops or continues.
    pub stop_events: WaitQueue,
    /// Start time.
    pub start: Instant,
}

/// Per-task (thread) state that other threads may touch.
pub struct TaskInner {
    /// Address space.
    pub mm: Arc<Mm>,
    /// Descriptor table.
    pub files: Arc<FdTable>,
    /// Root, cwd, umask.
    pub fs: Arc<Mutex<FsContext>>,
    /// Blocked signals.
    pub sigmask: u64,
    /// Mask to restore after sigsuspend/ppoll/pselect once a handler ran.
    pub saved_mask: Option<u64>,
    /// Signals pending for this thread only.
    pub pending: SigQueue,
    /// sigaltstack.
    pub altstack: StackT,
    /// CLONE_CHILD_CLEARTID / set_tid_address.
    pub clear_child_tid: u64,
    /// set_robust_list head.
    pub robust_list: (u64, u64),
    /// Name (PR_SET_NAME, /proc/PID/comm), at most 15 bytes.
    pub comm: Vec<u8>,
    /// Completed when a vfork child execs or exits.
    pub vfork_done: Option<Arc<Completion>>,
    /// PR_SET_PDEATHSIG.
    pub pdeathsig: i32,
}

/// A thread.
pub struct Task {
    /// Thread id.
    pub tid: i32,
    /// Its process.
    pub tg: Arc<ThreadGroup>,
    /// The kernel.
    pub kernel: Arc<Kernel>,
    /// Wakes this task from any wait.
    pub waker: Arc<Waker>,
    /// Mutable state.
    pub inner: Mutex<TaskInner>,
    /// Host (tgid, tid) of its stub thread, for kicks.
    host_tgid: AtomicI32,
    host_tid: AtomicI32,
    /// True while the workload runs (not in the sentry).
    running: AtomicBool,
    /// Must stop running and exit (group exit, execve by another thread).
    pub killed: AtomicBool,
    /// CPU time used (user µs, system µs) — wall-clock based estimate.
    pub times: Mutex<(u64, u64)>,
}

/// A one-shot event (vfork completion).
#[derive(Default)]
pub struct Completion {
    done: Mutex<bool>,
    queue: WaitQueue,
}

impl Completion {
    /// Marks done and wakes waiters.
    pub fn complete(&self) {
        if let Ok(mut d) = self.done.lock() {
            *d = true;
        }
        self.queue.notify_all();
    }
    /// Done yet?
    pub fn is_done(&self) -> bool {
        self.done.lock().map(|d| *d).unwrap_or(true)
    }
    /// The queue to wait on.
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }
}

struct Tables {
    tasks: BTreeMap<i32, Arc<Task>>,
    groups: BTreeMap<i32, Arc<ThreadGroup>>,
    next_pid: i32,
}

/// The sandbox's kernel.
pub struct Kernel {
    /// Mounts and path resolution.
    pub vfs: Arc<Vfs>,
    /// Boot settings.
    pub config: KernelConfig,
    /// Futex wait queues.
    pub futexes: futex::Futexes,
    /// Boot instant (uptime, start times).
    pub boot: Instant,
    /// Hostname (UTS namespace).
    pub hostname: Mutex<String>,
    /// Domain name.
    pub domainname: Mutex<String>,
    /// The console terminal: init's controlling terminal and
    /// `/dev/console`, when the sandbox has one.
    console: Mutex<Option<Arc<crate::tty::Terminal>>>,
    /// The devpts instance at /dev/pts.
    devpts: OnceLock<Arc<crate::fs::devpts::Devpts>>,
    tables: Mutex<Tables>,
    init_status: Mutex<Option<ExitStatus>>,
    init_cv: Condvar,
    next_ino: AtomicU64,
    unimplemented_logged: Mutex<std::collections::BTreeSet<u64>>,
    spawner: std::sync::OnceLock<spawner::Spawner>,
    /// Most tasks (threads) the sandbox may have, like a pids cgroup's
    /// `pids.max` (u64::MAX: no limit).
    task_limit: AtomicU64,
}

impl Kernel {
    /// A new kernel over `vfs`.
    pub fn new(vfs: Arc<Vfs>, config: KernelConfig, hostname: String) -> Arc<Self> {
        Arc::new(Kernel {
            vfs,
            config,
            futexes: futex::Futexes::default(),
            boot: Instant::now(),
            hostname: Mutex::new(hostname),
            domainname: Mutex::new("(none)".into()),
            console: Mutex::new(None),
            devpts: OnceLock::new(),
            tables: Mutex::new(Tables {
                tasks: BTreeMap::new(),
                groups: BTreeMap::new(),
                next_pid: 1,
            }),
            init_status: Mutex::new(None),
            init_cv: Condvar::new(),
            next_ino: AtomicU64::new(1 << 32),
            spawner: std::sync::OnceLock::new(),
            task_limit: AtomicU64::new(u64::MAX),
            unimplemented_logged: Mutex::new(Default::default()),
        })
    }

    /// Writes one strace line to the strace log or stderr.
    pub fn strace_line(&self, line: &str) {
        use std::io::Write;
        match &self.config.strace_log {
            Some(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = writeln!(f, "{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }

    /// Makes `term` the sandbox's console: init's controlling terminal
    /// and what `/dev/console` opens.
    pub fn set_console(&self, term: Arc<crate::tty::Terminal>) {
        if let Ok(mut c) = self.console.lock() {
            *c = Some(term);
        }
    }

    /// The console terminal, if the sandbox has one.
    pub fn console(&self) -> Option<Arc<crate::tty::Terminal>> {
        self.console.lock().ok().and_then(|c| c.clone())
    }

    /// Records the devpts instance mounted at /dev/pts.
    pub fn set_devpts(&self, pts: Arc<crate::fs::devpts::Devpts>) {
        let _ = self.devpts.set(pts);
    }

    /// The devpts instance mounted at /dev/pts.
    pub fn devpts(&self) -> Option<&Arc<crate::fs::devpts::Devpts>> {
        self.devpts.get()
    }

    /// A fresh inode number for anonymous files (pipes, eventfds…).
    pub fn next_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// Logs an unimplemented system call once per number; true the first time.
    pub fn note_unimplemented(&self, nr: u64) -> bool {
        self.unimplemented_logged
            .lock()
            .map(|mut s| s.insert(nr))
            .unwrap_or(false)
    }

    /// Allocates an unused pid.
    fn alloc_pid(t: &mut Tables) -> Option<i32> {
        for _ in 0..PID_MAX {
            let pid = t.next_pid;
            t.next_pid = if t.next_pid >= PID_MAX {
                300
            } else {
                t.next_pid + 1
            };
            if !t.tasks.contains_key(&pid) && !t.groups.contains_key(&pid) {
                return Some(pid);
            }
        }
        None
    }

    /// Creates a task (and, when `tg` is None, a new thread group for it).
    pub fn new_task(
        self: &Arc<Self>,
        tg: Option<Arc<ThreadGroup>>,
        mk_group: impl FnOnce(i32) -> ThreadGroupInner,
        inner: TaskInner,
    ) -> Option<Arc<Task>> {
        let mut t = self.tables.lock().ok()?;
        let tid = Self::alloc_pid(&mut t)?;
        let tg = match tg {
            Some(g) => g,
            None => {
                let mut inner = mk_group(tid);
                inner.unkillable = tid == 1 && self.config.init_unkillable;
                let g = Arc::new(ThreadGroup {
                    tgid: tid,
                    inner: Mutex::new(inner),
                    actions: Mutex::new([SigAction::default(); 65]),
                    child_events: WaitQueue::new(),
                    stop_events: WaitQueue::new(),
                    start: Instant::now(),
                });
                t.groups.insert(tid, g.clone());
                g
            }
        };
        let waker = Arc::new(Waker::new().ok()?);
        let task = Arc::new(Task {
            tid,
            tg: tg.clone(),
            kernel: self.clone(),
            waker,
            inner: Mutex::new(inner),
            host_tgid: AtomicI32::new(0),
            host_tid: AtomicI32::new(0),
            running: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            times: Mutex::new((0, 0)),
        });
        t.tasks.insert(tid, task.clone());
        drop(t);
        if let Ok(mut g) = tg.inner.lock() {
            g.threads.push(task.clone());
        }
        Some(task)
    }

    /// Copies the signal dispositions of `from` into `to` (fork).
    pub fn copy_actions(from: &ThreadGroup, to: &ThreadGroup) {
        if let (Ok(a), Ok(mut b)) = (from.actions.lock(), to.actions.lock()) {
            *b = *a;
        }
    }

    /// The task with thread id `tid`.
    pub fn task(&self, tid: i32) -> Option<Arc<Task>> {
        self.tables.lock().ok()?.tasks.get(&tid).cloned()
    }

    /// The live (not reaped) process with id `pid`.
    pub fn group(&self, pid: i32) -> Option<Arc<ThreadGroup>> {
        self.tables.lock().ok()?.groups.get(&pid).cloned()
    }

    /// All processes.
    pub fn groups(&self) -> Vec<Arc<ThreadGroup>> {
        self.tables
            .lock()
            .map(|t| t.groups.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every live task.
    pub fn tasks(&self) -> Vec<Arc<Task>> {
        self.tables
            .lock()
            .map(|t| t.tasks.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a task that has exited.
    pub fn remove_task(&self, tid: i32) {
        if let Ok(mut t) = self.tables.lock() {
            t.tasks.remove(&tid);
        }
    }

    /// Forgets a reaped process.
    pub fn remove_group(&self, tgid: i32) {
        if let Ok(mut t) = self.tables.lock() {
            t.groups.remove(&tgid);
        }
    }

    /// Records init's exit: the sandbox is over.
    pub fn set_init_exited(&self, st: ExitStatus) {
        if let Ok(mut s) = self.init_status.lock() {
            if s.is_none() {
                *s = Some(st);
            }
        }
        self.init_cv.notify_all();
    }

    /// Blocks until init exits and returns its status.
    pub fn wait_init(&self) -> ExitStatus {
        let Ok(mut s) = self.init_status.lock() else {
            return ExitStatus::Exited(1);
        };
        loop {
            if let Some(st) = *s {
                return st;
            }
            s = match self.init_cv.wait(s) {
                Ok(g) => g,
                Err(_) => return ExitStatus::Exited(1),
            };
        }
    }

    /// Limits the number of tasks (threads of every process), like the pids
    /// controller of a cgroup: clone and fork fail with EAGAIN at the limit.
    pub fn set_task_limit(&self, limit: Option<u64>) {
        self.task_limit
            .store(limit.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Whether one more task would exceed [`Kernel::set_task_limit`]. Like
    /// a pids cgroup, zombies count until they are reaped.
    pub fn at_task_limit(&self) -> bool {
        let limit = self.task_limit.load(Ordering::Relaxed);
        if limit == u64::MAX {
            return false;
        }
        let Ok((live, groups)) = self.tables.lock().map(|t| {
            (
                t.tasks.len() as u64,
                t.groups.values().cloned().collect::<Vec<_>>(),
            )
        }) else {
            return true;
        };
        if live >= limit {
            return true;
        }
        let zombies = groups
            .iter()
            .filter(|g| {
                g.inner
                    .lock()
                    .map(|i| i.threads.is_empty())
                    .unwrap_or(false)
            })
            .count() as u64;
        live + zombies >= limit
    }

    /// Lets processes be started from outside the sandbox later
    /// ([`Kernel::spawn_process`]). Must be called before init starts.
    pub fn enable_spawning(self: &Arc<Self>) -> std::io::Result<()> {
        let sp = spawner::Spawner::start(Arc::downgrade(self))?;
        let _ = self.spawner.set(sp);
        Ok(())
    }

    /// Starts a new process in the sandbox (see [`spawner`]); returns its
    /// pid. ENOSYS if [`Kernel::enable_spawning`] was not called.
    pub fn spawn_process(&self, req: spawner::SpawnRequest) -> Result<i32, crate::Errno> {
        self.spawner.get().ok_or(crate::Errno::ENOSYS)?.spawn(req)
    }

    /// Runs the first process: `argv[0]` resolved in `fs`, with stdio `files`.
    pub fn start_init(
        self: &Arc<Self>,
        fs: FsContext,
        files: Arc<FdTable>,
        creds: Creds,
        path: Vec<u8>,
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let kernel = self.clone();
        std::thread::Builder::new()
            .name("task-1".into())
            .spawn(move || {
                task::run_init(kernel, fs, files, creds, path, argv, envp);
            })
    }
}

impl TaskInner {
    /// The state of the only thread of a process that starts from nothing
    /// (init, or a process started from outside): an empty address space
    /// for execve to fill, no signals, no altstack.
    pub fn fresh(files: Arc<FdTable>, fs: FsContext, path: &[u8]) -> Self {
        TaskInner {
            mm: Arc::new(Mm::default()),
            files,
            fs: Arc::new(Mutex::new(fs)),
            sigmask: 0,
            saved_mask: None,
            pending: Default::default(),
            altstack: StackT {
                ss_flags: libc::SS_DISABLE,
                ..Default::default()
            },
            clear_child_tid: 0,
            robust_list: (0, 0),
            comm: comm_from(path),
            vfork_done: None,
            pdeathsig: 0,
        }
    }
}

impl Task {
    /// Records the host identity of this task's stub thread.
    pub fn set_host(&self, st: &StubThread) {
        self.host_tgid.store(st.tgid(), Ordering::SeqCst);
        self.host_tid.store(st.tid(), Ordering::SeqCst);
    }

    /// Host thread id of this task's stub thread (0 before it starts);
    /// procfs reads other processes' memory (cmdline, environ) through it.
    pub fn host_tid(&self) -> i32 {
        self.host_tid.load(Ordering::SeqCst)
    }

    /// Marks the workload as running or not (kicks go only to running tasks).
    pub fn set_running(&self, on: bool) {
        self.running.store(on, Ordering::SeqCst);
    }

    /// Makes the task notice new work: wakes a sentry-side wait and kicks the
    /// stub if the workload is running.
    pub fn interrupt(&self) {
        self.waker.wake();
        if self.running.load(Ordering::SeqCst) {
            let tgid = self.host_tgid.load(Ordering::SeqCst);
            let tid = self.host_tid.load(Ordering::SeqCst);
            if tid > 0 {
                StubThread::kick(tgid, tid);
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.tg.tgid
    }

    /// Queues a signal for this thread only (tkill, faults).
    pub fn send_signal(&self, info: Siginfo) {
        if let Ok(mut i) = self.inner.lock() {
            i.pending.push(info);
        }
        self.interrupt();
    }
}

thread_local! {
    /// The task this sentry thread runs.
    static CURRENT_TASK: RefCell<Option<Weak<Task>>> = const { RefCell::new(None) };
}

/// Records that this sentry thread runs `task` (inode operations without
/// a caller argument, like opening a terminal, look it up).
pub fn set_current_task(task: &Arc<Task>) {
    CURRENT_TASK.with(|c| *c.borrow_mut() = Some(Arc::downgrade(task)));
}

/// The task this sentry thread runs, if any.
pub fn current_task() -> Option<Arc<Task>> {
    CURRENT_TASK.with(|c| c.borrow().as_ref().and_then(Weak::upgrade))
}

/// Copies a name into a comm (at most 15 bytes).
pub fn comm_from(name: &[u8]) -> Vec<u8> {
    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    base.iter().take(15).copied().collect()
}
