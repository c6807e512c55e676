//! The caller's side of `exec`: the process that stands for the exec'd
//! process outside the sandbox. It hands its stdio to the sandbox, forwards
//! the signals it gets to the process, and exits with the process's status
//! (128 + signal if a signal killed it), so containerd's shim can wait for
//! it like for runc's exec process.
//!
//! With a terminal, the host side of the process's terminal is a host
//! terminal: the slave of a host pty whose master went to the console
//! socket (this process then leads a session with that slave as its
//! controlling terminal), or the caller's own terminal. Either way its
//! window-size changes arrive here as SIGWINCH; they are read from the
//! host terminal and sent to the sandbox on the exec connection
//! ([`ExecUpdate::Resize`]) instead of being forwarded as a signal. A
//! SIGHUP from the kernel (the host terminal hung up) is not forwarded
//! either: the sandbox's bridge sees the hangup and hangs the process's
//! terminal up, as Linux would.

use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};

use super::control::{self, ExecProcess, ExecUpdate, ExitReport, Request};

/// Signals forwarded to the exec'd process.
pub const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Status when the sandbox went away without reporting the process's end.
const LOST: i32 = 255;

/// The host side of an exec'd process's terminal, as the proxy sees it.
pub struct HostTerminal {
    /// The host terminal whose window size the process's terminal
    /// follows (None: the host side is not a terminal).
    pub winsize: Option<OwnedFd>,
}

/// Starts `p` in the container whose state directory is `dir`, with `fds`
/// as its descriptors 0, 1, 2, … (with a terminal: its host side's input
/// and output, then a third that is ignored, then the preserved ones);
/// tells `started` (if any) `ok` or `error: …` once that is known; then
/// waits and returns the exit code.
pub fn run(
    dir: &Path,
    p: &ExecProcess,
    fds: &[BorrowedFd<'_>],
    started: Option<File>,
    tty: Option<HostTerminal>,
) -> Result<i32> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.thread_block().context("blocking signals")?;
    let res = control::request_with_fds(dir, &Request::Exec(p.clone()), fds);
    let (mut conn, pid) = match res {
        Ok((c, Some(pid))) => (c, pid),
        Ok((_, None)) => {
            let e = anyhow::anyhow!("the sandbox did not say which process it started");
            tell(started, &format!("error: {e}"));
            return Err(e);
        }
        Err(e) => {
            tell(started, &format!("error: {e:#}"));
            return Err(e);
        }
    };
    tell(started, "ok");
    // Our copies of the process's stdio are not needed any more: let the
    // readers of its output see EOF when it closes them.
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let updates = match &tty {
        Some(_) => Some(
            conn.get_ref()
                .try_clone()
                .context("cloning the exec connection")?,
        ),
        None => None,
    };
    let sdir = dir.to_path_buf();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let Some((sig, code)) = wait_signal(&set) else {
                return;
            };
            if let (Some(t), Some(conn)) = (&tty, &updates) {
                if sig == libc::SIGWINCH {
                    if let Some(w) = &t.winsize {
                        send_size(conn, w);
                    }
                    continue;
                }
                if sig == libc::SIGHUP && code == libc::SI_KERNEL {
                    continue;
                }
            }
            let req = Request::Signal {
                sig,
                all: false,
                pid: Some(pid),
            };
            if let Err(e) = control::request(&sdir, &req) {
                tracing::debug!("forwarding signal {sig} to {pid}: {e:#}");
            }
        })
        .context("signal thread")?;
    let _ = conn.get_ref().set_read_timeout(None);
    let mut line = String::new();
    if conn.read_line(&mut line).unwrap_or(0) == 0 {
        tracing::warn!("the sandbox closed the connection of process {pid} without its status");
        return Ok(LOST);
    }
    let r: ExitReport = serde_json::from_str(&line).context("parsing the exit report")?;
    Ok(match (r.code, r.signal) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => LOST,
    })
}

/// Waits for one of the (blocked) signals of `set`: its number and
/// `si_code`. None if waiting fails for good.
fn wait_signal(set: &SigSet) -> Option<(i32, i32)> {
    loop {
        // SAFETY: siginfo_t is plain data; all-zero is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo reads the live set and fills the live `info`.
        let sig = unsafe { libc::sigwaitinfo(set.as_ref(), &mut info) };
        if sig > 0 {
            return Some((sig, info.si_code));
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}

/// Reads the window size of host terminal `w` and sends it to the sandbox.
fn send_size(mut conn: &UnixStream, w: &OwnedFd) {
    // SAFETY: winsize is plain data; all-zero is valid.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one struct winsize into the live `ws`.
    if unsafe { libc::ioctl(w.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } != 0 {
        return;
    }
    let u = ExecUpdate::Resize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    };
    if let Ok(mut line) = serde_json::to_vec(&u) {
        line.push(b'\n');
        let _ = conn.write_all(&line);
    }
}

fn tell(started: Option<File>, msg: &str) {
    if let Some(mut f) = started {
        let _ = writeln!(f, "{msg}");
    }
}
