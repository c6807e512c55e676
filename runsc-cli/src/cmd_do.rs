//! `rvisor do`: run a command sandboxed over the host's root, read-only,
//! with the sandbox's own /tmp, /dev and /proc. No bundle needed.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use rvisor_sentry::boot::{self, BootSpec};
use rvisor_sentry::kernel::Creds;

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

fn spawn_gofer(root: &Path, sock: OwnedFd, readonly: bool) -> Result<std::process::Child> {
    let exe = std::env::current_exe().context("finding the rvisor binary")?;
    let mut c = Command::new(exe);
    c.arg("gofer")
        .arg("--root")
        .arg(root)
        .arg("--sock-fd")
        .arg("3");
    if readonly {
        c.arg("--readonly");
    }
    c.stdin(Stdio::null()).stdout(Stdio::null());
    let raw = sock.as_raw_fd();
    // SAFETY: the pre-exec closure only makes raw, async-signal-safe calls.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    let child = c.spawn().context("starting the gofer")?;
    drop(sock);
    Ok(child)
}

/// Runs `rvisor do`; returns the exit code to exit with.
pub fn run(g: &GlobalOpts, args: &DoArgs) -> Result<i32> {
    let (sentry_end, gofer_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the gofer")?;
    let mut gofer = spawn_gofer(Path::new("/"), gofer_end, true)?;

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
    let stdio: Vec<OwnedFd> = (0..3)
        .map(|fd| {
            nix::unistd::dup(fd).map(|d| {
                // SAFETY: dup returned a new descriptor we now own.
                unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(d) }
            })
        })
        .collect::<Result<_, _>>()
        .context("duplicating stdio")?;
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
    };
    let status = boot::run_overlay(spec).context("booting the sandbox")?;
    let _ = gofer.kill();
    let _ = gofer.wait();
    Ok(status.shell_code())
}
