//! `rvisor do`: run a command sandboxed over the host's root, read-only,
//! with the sandbox's own /tmp, /dev and /proc. No bundle needed.
//!
//! When stdin is a terminal, the workload gets an emulated one
//! (`/dev/pts/0`, its controlling terminal) bridged to it: the caller's
//! terminal is put in raw mode for the duration (restored at the end, and
//! on SIGTERM/SIGHUP/SIGINT/SIGQUIT to rvisor), stdout/stderr that are
//! the same terminal become the emulated one too, and the window size
//! follows the caller's (SIGWINCH). Without a terminal on stdin, the
//! descriptors are passed through as they are.
//!
//! Network (`--network`): by default the sandbox gets a new network
//! namespace with only loopback up (`netns::isolate`), so the workload's
//! internet sockets reach 127.0.0.1/::1 of the sandbox and nothing else;
//! `--network=host` keeps rvisor's namespace, `--network=none` refuses
//! internet sockets.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use rvisor_sentry::boot::{self, BootSpec, Stdio as SandboxStdio};
use rvisor_sentry::kernel::Creds;
use rvisor_sentry::tty::bridge::Console;

use crate::netns::Network;
use crate::GlobalOpts;

/// Arguments of `rvisor do`.
#[derive(Args, Debug)]
pub struct DoArgs {
    /// Working directory inside the sandbox (default: the current one).
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Set an environment variable (K=V); repeatable.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

/// Finds `cmd` in $PATH the way a shell would (names with '/' as given).
fn find_in_path(cmd: &OsString) -> Vec<u8> {
    let b = cmd.as_bytes();
    if b.contains(&b'/') {
        return b.to_vec();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(cmd);
        if let Ok(md) = std::fs::metadata(&cand) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return cand.as_os_str().as_bytes().to_vec();
            }
        }
    }
    b.to_vec()
}

/// Runs `rvisor do`; returns the exit code to exit with.
pub fn run(g: &GlobalOpts, args: &DoArgs) -> Result<i32> {
    // First, while this process has one thread: everything started from
    // here on (gofer, sentry threads, stubs) is in that namespace.
    if g.network == Network::Sandbox {
        crate::netns::isolate()?;
    }
    let (sentry_end, gofer_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the gofer")?;
    let mut gofer = crate::cmd_gofer::spawn(Path::new("/"), true, gofer_end)?;

    let mut envp: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.as_bytes().to_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_bytes());
            e
        })
        .collect();
    for kv in &args.env {
        let key = kv.split('=').next().unwrap_or("");
        envp.retain(|e| !e.starts_with(format!("{key}=").as_bytes()));
        envp.push(kv.as_bytes().to_vec());
    }
    let cwd = match &args.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    };
    let terminal = if is_tty(0) {
        Some(HostTerminal::take()?)
    } else {
        None
    };
    let prepared = (|| -> Result<(Vec<SandboxStdio>, Option<Console>)> {
        let mut stdio = Vec::new();
        for fd in 0..3 {
            match &terminal {
                Some(t) if t.same_terminal(fd) => stdio.push(SandboxStdio::Console),
                _ => stdio.push(SandboxStdio::Host(dup(fd)?)),
            }
        }
        let console = match &terminal {
            Some(t) => Some(t.console()?),
            None => None,
        };
        Ok((stdio, console))
    })();
    let (stdio, console) = match prepared {
        Ok(p) => p,
        Err(e) => {
            if let Some(t) = &terminal {
                t.restore();
            }
            return Err(e);
        }
    };
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "rvisor".into());
    let spec = BootSpec {
        path: find_in_path(&args.command[0]),
        argv: args.command.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp,
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        cwd_fallback: args.cwd.is_none(),
        creds: Creds::new(uid, gid, vec![]),
        strace: g.strace,
        strace_log: g.debug_log.as_ref().and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        }),
        hostname,
        gofer: sentry_end,
        root_readonly: true,
        stdio,
        spawning: false,
        process: Default::default(),
        console,
        inet: g.network.inet(),
    };
    let status = boot::run_overlay(spec);
    if let Some(t) = &terminal {
        t.restore();
    }
    let status = status.context("booting the sandbox")?;
    let _ = gofer.kill();
    let _ = gofer.wait();
    Ok(status.shell_code())
}

fn dup(fd: i32) -> Result<OwnedFd> {
    let d = nix::unistd::dup(fd).context("duplicating stdio")?;
    // SAFETY: dup returned a new descriptor we now own.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(d) })
}

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

fn rdev(fd: i32) -> Option<u64> {
    nix::sys::stat::fstat(fd).ok().map(|st| st.st_rdev)
}

/// Host signals the console watches while the caller's terminal is raw:
/// SIGWINCH (window size) and the ones that end rvisor (terminal
/// restored first).
const CONSOLE_SIGNALS: [i32; 5] = [
    libc::SIGWINCH,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
];

/// The caller's terminal (stdin), in raw mode while the sandbox runs.
struct HostTerminal {
    fd: OwnedFd,
    saved: libc::termios,
    rdev: Option<u64>,
}

impl HostTerminal {
    /// Saves stdin's settings and puts it in raw mode; blocks the console
    /// signals in this thread (every sentry thread inherits that, so they
    /// wait in the signalfd).
    fn take() -> Result<HostTerminal> {
        let fd = dup(0)?;
        // SAFETY: termios is plain data; tcgetattr fills the live local.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr writes one termios into `saved`.
        if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error()).context("reading the terminal settings");
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw edits the live local.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: tcsetattr reads one termios from `raw`.
        if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &raw) } != 0 {
            return Err(std::io::Error::last_os_error())
                .context("setting the terminal to raw mode");
        }
        let mut set = nix::sys::signal::SigSet::empty();
        for s in CONSOLE_SIGNALS {
            if let Ok(sig) = nix::sys::signal::Signal::try_from(s) {
                set.add(sig);
            }
        }
        let t = HostTerminal {
            rdev: rdev(fd.as_raw_fd()),
            fd,
            saved,
        };
        if let Err(e) = set.thread_block() {
            t.restore();
            return Err(e).context("blocking the console signals");
        }
        Ok(t)
    }

    /// Whether `fd` is this terminal.
    fn same_terminal(&self, fd: i32) -> bool {
        is_tty(fd) && self.rdev.is_some() && rdev(fd) == self.rdev
    }

    /// The console: input from stdin, output to stdout or stderr if one
    /// is this terminal (else stdin itself), window size from stdin, and
    /// a signalfd for the console signals.
    fn console(&self) -> Result<Console> {
        let out = [1, 2]
            .into_iter()
            .find(|&fd| self.same_terminal(fd))
            .unwrap_or(0);
        // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset.
        let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigemptyset/sigaddset edit the live local.
        unsafe {
            libc::sigemptyset(&mut mask);
            for s in CONSOLE_SIGNALS {
                libc::sigaddset(&mut mask, s);
            }
        }
        // SAFETY: signalfd reads the live mask and returns a new fd or -1.
        let sfd = unsafe { libc::signalfd(-1, &mask, libc::SFD_CLOEXEC) };
        if sfd < 0 {
            return Err(std::io::Error::last_os_error()).context("signalfd");
        }
        // SAFETY: signalfd returned a new descriptor we now own.
        let signals = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(sfd) };
        let restore_fd = self.fd.as_raw_fd();
        let saved = self.saved;
        Ok(Console {
            input: dup(0)?,
            output: dup(out)?,
            size: None,
            winsize: Some(dup(0)?),
            signals: Some(signals),
            on_signal: Some(Box::new(move |sig| {
                // SAFETY: restores the saved settings on a descriptor that
                // stays open until the process exits, then exits at once
                // (the stubs and the gofer die with us).
                unsafe {
                    libc::tcsetattr(restore_fd, libc::TCSANOW, &saved);
                    libc::_exit(128 + sig);
                }
            })),
        })
    }

    /// Puts the saved settings back.
    fn restore(&self) {
        // SAFETY: tcsetattr reads one termios from `saved`.
        unsafe { libc::tcsetattr(self.fd.as_raw_fd(), libc::TCSANOW, &self.saved) };
    }
}
