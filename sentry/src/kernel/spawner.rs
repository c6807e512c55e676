//! Starting new processes in a running sandbox from outside it (`rvisor
//! exec`, `docker exec`).
//!
//! A workload process is created by injecting `clone` into an existing stub
//! from that stub's tracer thread, and stubs cannot be started from scratch
//! once the sentry's seccomp filter is on. So a sandbox that may receive
//! exec requests starts a [`Spawner`] first: a sentry thread that owns an
//! idle *template* stub. For each request it creates the new process's task
//! (a process of its own, no parent inside the sandbox, its own session, like
//! a process entering a pid namespace from outside; optionally with a
//! terminal as its controlling terminal), forks the template stub
//! for its host side, and hands the child to a new task thread, which
//! execve's the requested program into it and runs it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use crossbeam::channel::{bounded, unbounded, Sender};

use super::task::{new_group_inner, ExitKind, TaskCtx};
use super::{Creds, ExitStatus, FsContext, Kernel, Task, TaskInner};
use crate::fs::FdTable;
use crate::platform::ptrace::{SpecialMappings, StubThread};
use crate::tty::Terminal;
use crate::Errno;

/// Called once with the exit status of a spawned process.
pub type ExitHook = Box<dyn FnOnce(ExitStatus) + Send>;

/// What to run.
pub struct SpawnRequest {
    /// Root, working directory and umask.
    pub fs: FsContext,
    /// The new process's descriptors.
    pub files: Arc<FdTable>,
    /// Its credentials.
    pub creds: Creds,
    /// Program path (resolved in `fs`).
    pub path: Vec<u8>,
    /// argv.
    pub argv: Vec<Vec<u8>>,
    /// envp.
    pub envp: Vec<Vec<u8>>,
    /// Told the exit status once the process has exited.
    pub on_exit: ExitHook,
    /// A terminal that becomes the controlling terminal of the process's
    /// new session, with the process's group in the foreground (as after
    /// `setsid` and `TIOCSCTTY`). It must belong to no session.
    pub ctty: Option<Arc<Terminal>>,
    /// Start with no_new_privs set.
    pub no_new_privs: bool,
}

struct Job {
    req: SpawnRequest,
    reply: Sender<Result<i32, Errno>>,
}

/// Handle to the spawner thread of a sandbox.
pub struct Spawner {
    jobs: Mutex<Sender<Job>>,
}

impl Spawner {
    /// Starts the spawner thread and its template stub. Must run before the
    /// sentry's seccomp filter is installed (before init starts).
    pub fn start(kernel: Weak<Kernel>) -> std::io::Result<Spawner> {
        let (tx, rx) = unbounded::<Job>();
        let (ready_tx, ready_rx) = bounded::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("spawner".into())
            .spawn(move || {
                let template = match StubThread::spawn_initial() {
                    Ok((s, _)) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                for job in rx {
                    let Some(kernel) = kernel.upgrade() else {
                        let _ = job.reply.send(Err(Errno::ESRCH));
                        continue;
                    };
                    spawn_one(&kernel, &template, job);
                }
                template.kill_process();
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Spawner {
                jobs: Mutex::new(tx),
            }),
            Ok(Err(e)) => Err(std::io::Error::other(format!("template stub: {e}"))),
            Err(_) => Err(std::io::Error::other("the spawner thread died")),
        }
    }

    /// Starts `req`'s program as a new process; returns its pid once execve
    /// succeeded, or execve's error (the process is then gone).
    pub fn spawn(&self, req: SpawnRequest) -> Result<i32, Errno> {
        let (reply, answer) = bounded(1);
        self.jobs
            .lock()
            .map_err(|_| Errno::EIO)?
            .send(Job { req, reply })
            .map_err(|_| Errno::ESRCH)?;
        answer.recv().map_err(|_| Errno::ESRCH)?
    }
}

fn spawn_one(kernel: &Arc<Kernel>, template: &StubThread, job: Job) {
    let Job { req, reply } = job;
    let SpawnRequest {
        fs,
        files,
        creds,
        path,
        argv,
        envp,
        on_exit,
        ctty,
        no_new_privs,
    } = req;
    let inner = TaskInner::fresh(files, fs, &path);
    if kernel.at_task_limit() {
        let _ = reply.send(Err(Errno::EAGAIN));
        return;
    }
    let task = kernel.new_task(
        None,
        |pid| {
            let mut g = new_group_inner(None, pid, pid, creds);
            g.on_exit = Some(on_exit);
            g.no_new_privs = no_new_privs;
            if let Some(t) = &ctty {
                let _ = t.with_control(|c| {
                    c.session = Some(pid);
                    c.pgrp = Some(pid);
                });
                g.ctty = Some(t.clone());
            }
            g
        },
        inner,
    );
    let Some(task) = task else {
        let _ = reply.send(Err(Errno::EAGAIN));
        return;
    };
    let forget = |task: &Arc<Task>| {
        kernel.remove_task(task.tid);
        kernel.remove_group(task.tg.tgid);
    };
    let host_tid = match template.inject_clone(libc::SIGCHLD as u64) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("exec: forking the template stub failed: {e}");
            forget(&task);
            let _ = reply.send(Err(Errno::EAGAIN));
            return;
        }
    };
    let scratch = template.scratch_regs();
    let special = template.special();
    let t2 = task.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("task-{}", task.tid))
        .spawn(move || run_spawned(t2, host_tid, (scratch, special), path, argv, envp, reply));
    if let Err(e) = spawned {
        tracing::warn!("exec: cannot start a sentry thread: {e}");
        // SAFETY: kill the parked host child just forked from the template.
        unsafe { libc::kill(host_tid, libc::SIGKILL) };
        forget(&task);
    }
}

fn run_spawned(
    task: Arc<Task>,
    host_tid: i32,
    (scratch, special): (libc::user_regs_struct, SpecialMappings),
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    reply: Sender<Result<i32, Errno>>,
) {
    let stub = match StubThread::seize(host_tid, host_tid, scratch, special) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("exec: cannot seize the new stub: {e}");
            // SAFETY: kill the host process we failed to take over.
            unsafe { libc::kill(host_tid, libc::SIGKILL) };
            task.killed.store(true, Ordering::SeqCst);
            let _ = reply.send(Err(Errno::EAGAIN));
            return;
        }
    };
    task.set_host(&stub);
    stub.pin_with_tracer();
    crate::fs::procfs::set_current(task.tg.tgid, task.tid);
    let regs = stub.scratch_regs();
    let mut ctx = TaskCtx {
        task,
        stub,
        regs,
        exit_now: None,
        syscall_nr: 0,
    };
    match crate::loader::execve(&mut ctx, &path, argv, envp) {
        Ok(()) => {
            let _ = reply.send(Ok(ctx.task.tg.tgid));
        }
        Err(e) => {
            let _ = reply.send(Err(e));
            let code = if e == Errno::ENOENT { 127 } else { 126 };
            ctx.exit_now = Some(ExitKind::Group(ExitStatus::Exited(code)));
        }
    }
    ctx.run();
}
