//! `rvisor gofer`: serves one file tree to a sentry over an inherited
//! socket, confined to that tree.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use rvisor_gofer::server::{serve, ServerOptions};

/// Arguments of `rvisor gofer`.
#[derive(Args, Debug)]
pub struct GoferArgs {
    /// The directory to serve.
    #[arg(long)]
    root: PathBuf,
    /// The inherited socket descriptor.
    #[arg(long = "sock-fd")]
    sock_fd: i32,
    /// Refuse every write.
    #[arg(long)]
    readonly: bool,
}

/// Runs the gofer until the sentry closes the connection.
pub fn run(args: &GoferArgs) -> Result<()> {
    if args.sock_fd < 3 {
        anyhow::bail!("--sock-fd must be an inherited descriptor >= 3");
    }
    // SAFETY: the parent passed this descriptor to us for our exclusive use.
    let sock = unsafe { OwnedFd::from_raw_fd(args.sock_fd) };
    // Every walked file is an open O_PATH fd here while the sentry caches it.
    rvisor_sentry::boot::raise_nofile();
    // Mount namespace + pivot_root where possible, no_new_privs, seccomp.
    let root = rvisor_gofer::confine::confine(&args.root).context("confining the gofer")?;
    serve(
        sock,
        root,
        ServerOptions {
            readonly: args.readonly,
        },
    )
    .context("gofer")?;
    Ok(())
}

/// Starts `rvisor gofer` (this binary) serving `root`, with `sock` as its
/// descriptor 3; returns the gofer process. The gofer dies with the thread
/// that started it (PR_SET_PDEATHSIG), so call this from a thread that
/// lives as long as the sandbox.
pub fn spawn(root: &Path, readonly: bool, sock: OwnedFd) -> Result<Child> {
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
            // dup2 onto itself would keep close-on-exec: clear it instead.
            if raw == 3 {
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    let child = c
        .spawn()
        .with_context(|| format!("starting the gofer for {}", root.display()))?;
    drop(sock);
    Ok(child)
}
