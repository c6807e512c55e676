//! The caller's side of `exec`: the process that stands for the exec'd
//! process outside the sandbox. It hands its stdio to the sandbox, forwards
//! the signals it gets to the process, and exits with the process's status
//! (128 + signal if a signal killed it), so containerd's shim can wait for
//! it like for runc's exec process.

use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};

use super::control::{self, ExecProcess, ExitReport, Request};

/// Signals forwarded to the exec'd process.
const FORWARDED: [Signal; 8] = [
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

/// Starts `p` in the container whose state directory is `dir`, with `fds`
/// as its descriptors 0, 1, 2, …; tells `started` (if any) `ok` or
/// `error: …` once that is known; then waits and returns the exit code.
pub fn run(
    dir: &Path,
    p: &ExecProcess,
    fds: &[BorrowedFd<'_>],
    started: Option<File>,
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
    let sdir = dir.to_path_buf();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let Ok(sig) = set.wait() else { return };
            let req = Request::Signal {
                sig: sig as i32,
                all: false,
                pid: Some(pid),
            };
            if let Err(e) = control::request(&sdir, &req) {
                tracing::debug!("forwarding {sig:?} to {pid}: {e:#}");
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

fn tell(started: Option<File>, msg: &str) {
    if let Some(mut f) = started {
        let _ = writeln!(f, "{msg}");
    }
}
