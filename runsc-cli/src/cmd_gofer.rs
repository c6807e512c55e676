//! `rvisor gofer`: serves one file tree to a sentry over an inherited
//! socket, confined to that tree.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

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
