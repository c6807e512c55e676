//! The sandbox side of `exec`: starting a process that the boot process's
//! control socket asked for, and reporting its end on the same connection.
//!
//! With a terminal (`process.terminal`), the process gets a new pair of
//! the sandbox's devpts: the slave is its stdio and the controlling
//! terminal of its new session, the master is bridged
//! ([`rvisor_sentry::tty::bridge`]) to the host descriptors the caller
//! attached (the slave of a host pty whose master went to the console
//! socket, or the caller's own terminal). The caller reports the host
//! terminal's resizes on the connection ([`ExecUpdate::Resize`]). When the
//! process ends, the bridge delivers what it wrote, lets the host
//! descriptors go and closes the master (hanging up anything of the
//! session still holding the terminal) before the exit report is written.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam::channel::bounded;
use rvisor_sentry::boot::{stdio_table, terminal_table};
use rvisor_sentry::fs::devpts::{MasterFile, TTY_GID};
use rvisor_sentry::fs::vfs::Location;
use rvisor_sentry::fs::{FdTable, FileOps};
use rvisor_sentry::kernel::caps::OciSets;
use rvisor_sentry::kernel::signal::send_to_group;
use rvisor_sentry::kernel::spawner::SpawnRequest;
use rvisor_sentry::kernel::{ExitStatus, FsContext, Kernel};
use rvisor_sentry::tty::bridge::{Bridge, Console};
use rvisor_sentry::tty::Winsize;
use rvisor_syscalls::abi::{Siginfo, SI_KERNEL};

use super::control::{self, ExecProcess, ExecUpdate, ExitReport};
use super::spec;

/// How long the end of a process waits for its terminal output to reach
/// a host side that does not read.
const DRAIN: Duration = Duration::from_secs(2);

/// An exec'd process's terminal: the bridge and the master it serves.
struct ExecConsole {
    bridge: Bridge,
    master: Arc<MasterFile>,
}

/// The terminal of one exec'd process, closed once (at its exit, or when
/// it could not be started).
type ConsoleSlot = Arc<Mutex<Option<ExecConsole>>>;

fn close_console(slot: &ConsoleSlot) {
    let c = slot.lock().ok().and_then(|mut g| g.take());
    if let Some(c) = c {
        c.bridge.finish(DRAIN);
        c.master.release();
    }
}

/// A new terminal for `p`: its descriptor table (the slave as 0-2, the
/// attached descriptors after the first three as 3, …) and its console,
/// bridged to the first two attached descriptors (input, output).
fn open_terminal(
    kernel: &Kernel,
    p: &ExecProcess,
    fds: Vec<OwnedFd>,
) -> Result<(Arc<FdTable>, ExecConsole), String> {
    let mut fds = fds.into_iter();
    let (Some(input), Some(output)) = (fds.next(), fds.next()) else {
        return Err("exec: a terminal needs the host side's input and output".into());
    };
    let _unused = fds.next();
    let pts = kernel.devpts().ok_or("exec: the sandbox has no /dev/pts")?;
    let (master, slave) = pts
        .open_pair(p.uid, TTY_GID)
        .map_err(|e| format!("exec: opening a terminal: {e}"))?;
    let files = terminal_table(&slave, fds.collect());
    drop(slave);
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(input.as_raw_fd()) } == 1;
    let winsize = if tty { input.try_clone().ok() } else { None };
    let console = Console {
        input,
        output,
        size: p.console_size.map(|(row, col)| Winsize {
            row,
            col,
            xpixel: 0,
            ypixel: 0,
        }),
        winsize,
        signals: None,
        on_signal: None,
    };
    match Bridge::start(console, master.clone()) {
        Ok(bridge) => Ok((files, ExecConsole { bridge, master })),
        Err(e) => {
            master.release();
            Err(format!("exec: connecting the terminal: {e}"))
        }
    }
}

/// Default PATH for the lookup of a bare program name, as runc uses.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Starts `p` in the sandbox with `fds` as its descriptors 0, 1, 2, …;
/// replies on `s` with its pid (or the error), later writes its
/// [`ExitReport`] there. If the caller closes `s` first, the process is
/// killed: the caller stands for the process, as runc's exec does.
pub fn start(kernel: &Arc<Kernel>, s: UnixStream, p: ExecProcess, fds: Vec<OwnedFd>) {
    let Some(root) = root_of(kernel) else {
        control::reply_pid(&s, Err("the sandbox has no root".into()));
        return;
    };
    if p.args.is_empty() {
        control::reply_pid(&s, Err("exec: no command".into()));
        return;
    }
    let cwd = match kernel.vfs.resolve(&root, &root, p.cwd.as_bytes(), true) {
        Ok(c) if c.attr().map(|a| a.is_dir()).unwrap_or(false) => c,
        Ok(_) => {
            control::reply_pid(&s, Err(format!("exec: cwd {}: not a directory", p.cwd)));
            return;
        }
        Err(e) => {
            control::reply_pid(&s, Err(format!("exec: cwd {}: {e}", p.cwd)));
            return;
        }
    };
    let path = match find_program(kernel, &root, &cwd, &p) {
        Ok(path) => path,
        Err(e) => {
            control::reply_pid(&s, Err(e));
            return;
        }
    };
    let (Ok(report_to), Ok(watch)) = (s.try_clone(), s.try_clone()) else {
        control::reply_pid(&s, Err("exec: cloning the connection failed".into()));
        return;
    };
    let (files, console) = if p.terminal {
        match open_terminal(kernel, &p, fds) {
            Ok((f, c)) => (f, Some(c)),
            Err(e) => {
                control::reply_pid(&s, Err(e));
                return;
            }
        }
    } else {
        (stdio_table(fds), None)
    };
    let term = console.as_ref().map(|c| c.master.terminal().clone());
    let console: ConsoleSlot = Arc::new(Mutex::new(console));
    let exit_console = console.clone();
    // The exit report must follow the reply even if the process ends at once.
    let (replied_tx, replied_rx) = bounded::<()>(1);
    let on_exit = Box::new(move |st: ExitStatus| {
        // Its terminal output reaches the host before its status does.
        close_console(&exit_console);
        let _ = replied_rx.recv();
        let report = match st {
            ExitStatus::Exited(c) => ExitReport {
                code: Some(c),
                signal: None,
            },
            ExitStatus::Signaled(sig, _) => ExitReport {
                code: None,
                signal: Some(sig),
            },
        };
        if let Ok(mut line) = serde_json::to_vec(&report) {
            line.push(b'\n');
            let mut w = &report_to;
            let _ = w.write_all(&line);
        }
    });
    let req = SpawnRequest {
        fs: FsContext {
            root: root.clone(),
            cwd,
            umask: 0o022,
        },
        files,
        creds: spec::creds(
            p.uid,
            p.gid,
            p.groups.clone(),
            p.caps
                .map(
                    |[bounding, effective, permitted, inheritable, ambient]| OciSets {
                        bounding,
                        effective,
                        permitted,
                        inheritable,
                        ambient,
                    },
                )
                .as_ref(),
        ),
        path: path.clone(),
        argv: p.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: p.env.iter().map(|e| e.as_bytes().to_vec()).collect(),
        on_exit,
        ctty: term.clone(),
        no_new_privs: p.no_new_privs,
    };
    match kernel.spawn_process(req) {
        Ok(pid) => {
            control::reply_pid(&s, Ok(Some(pid)));
            drop(replied_tx);
            let k = kernel.clone();
            let _ = std::thread::Builder::new()
                .name(format!("exec-{pid}"))
                .spawn(move || {
                    // Until EOF (the caller is gone): window-size changes.
                    let _ = watch.set_read_timeout(None);
                    let mut r = BufReader::new(watch);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        // Bounded: a line longer than any update ends it.
                        match (&mut r).take(4096).read_until(b'\n', &mut line) {
                            Ok(n) if n > 0 && line.ends_with(b"\n") => {}
                            _ => break,
                        }
                        match serde_json::from_slice::<ExecUpdate>(&line) {
                            Ok(ExecUpdate::Resize { rows, cols }) => {
                                if let Some(t) = &term {
                                    let _ = t.set_winsize(Winsize {
                                        row: rows,
                                        col: cols,
                                        xpixel: 0,
                                        ypixel: 0,
                                    });
                                }
                            }
                            Err(e) => tracing::debug!("exec {pid}: bad update: {e}"),
                        }
                    }
                    // Still the process we started (its exit hook not yet
                    // run), not a later one with a reused pid.
                    if let Some(g) = k.group(pid) {
                        let ours = g.inner.lock().map(|i| i.on_exit.is_some()).unwrap_or(false);
                        if ours {
                            send_to_group(&g, Siginfo::kill(libc::SIGKILL, SI_KERNEL, 0, 0));
                        }
                    }
                });
        }
        Err(e) => {
            drop(replied_tx);
            close_console(&console);
            control::reply_pid(
                &s,
                Err(format!(
                    "exec: {:?}: {e}",
                    String::from_utf8_lossy(&path).into_owned()
                )),
            );
        }
    }
}

/// The sandbox's root location.
pub fn root_of(kernel: &Kernel) -> Option<Location> {
    kernel.vfs.root()
}

/// `args[0]` as given if it contains '/', else the first executable regular
/// file of that name in the process's PATH, inside the sandbox.
fn find_program(
    kernel: &Kernel,
    root: &Location,
    cwd: &Location,
    p: &ExecProcess,
) -> Result<Vec<u8>, String> {
    let arg0 = &p.args[0];
    if arg0.contains('/') {
        return Ok(arg0.as_bytes().to_vec());
    }
    let path = p
        .env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = format!("{dir}/{arg0}");
        if let Ok(l) = kernel.vfs.resolve(root, cwd, cand.as_bytes(), true) {
            if let Ok(a) = l.attr() {
                if a.mode & libc::S_IFMT == libc::S_IFREG && a.mode & 0o111 != 0 {
                    return Ok(cand.into_bytes());
                }
            }
        }
    }
    Err(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    ))
}
