//! `rvisor`: the command line. runc-compatible commands (`oci`), `do` to
//! run a command sandboxed over the host's root, and the hidden `gofer`
//! subcommand the runtime re-executes itself with.

mod cmd_do;
mod cmd_gofer;
mod netns;
mod oci;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// rvisor: a sandbox runtime for Linux containers.
#[derive(Parser, Debug)]
#[command(name = "rvisor", version, about)]
struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/rvisor")]
    root: PathBuf,
    /// Log file for runtime messages.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    log_format: String,
    /// Verbose logging.
    #[arg(long, global = true)]
    debug: bool,
    /// Write the sentry's debug log to this file.
    #[arg(long = "debug-log", global = true)]
    debug_log: Option<PathBuf>,
    /// Log every system call of the workload (strace style) to stderr, or
    /// to the --debug-log file when one is given.
    #[arg(long, global = true)]
    strace: bool,
    /// Platform: only "ptrace" exists.
    #[arg(long, global = true, default_value = "ptrace")]
    platform: String,
    /// Network of the workload's internet sockets (served by the sentry
    /// through host sockets it owns): "sandbox" = the sandbox's own network
    /// namespace (`do`: a new one with only loopback up; OCI: the one the
    /// spec asks for), "host" = the host's network namespace, "none" = no
    /// internet sockets (EAFNOSUPPORT).
    #[arg(long, global = true, value_enum, default_value = "sandbox")]
    network: netns::Network,
    /// Accepted for runc compatibility.
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// OCI containers with a writable root get an in-memory writable layer
    /// over a read-only root (writes never reach the bundle's rootfs).
    #[arg(long, global = true)]
    overlay: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command sandboxed over the host's root (read-only, with the
    /// sandbox's own /tmp, /dev and /proc).
    Do(cmd_do::DoArgs),
    /// The file proxy (started by rvisor itself).
    #[command(hide = true)]
    Gofer(cmd_gofer::GoferArgs),
    /// Print the system call status table (Markdown) and its counts.
    SyscallStatus,
    #[command(flatten)]
    Oci(oci::OciCommand),
}

fn init_logging(cli: &Cli) {
    let level = if cli.debug {
        "debug"
    } else if cli.debug_log.is_some() {
        "info"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RVISOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let path = cli.debug_log.as_ref().or(cli.log.as_ref());
    let file = path.and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match (file, cli.log_format.as_str()) {
        (Some(f), "json") => builder
            .json()
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (Some(f), _) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (None, _) => builder.with_writer(std::io::stderr).try_init(),
    };
}

fn main() {
    let cli = Cli::parse();
    init_logging(&cli);
    if cli.platform != "ptrace" {
        eprintln!(
            "rvisor: unsupported platform {:?} (only \"ptrace\")",
            cli.platform
        );
        std::process::exit(125);
    }
    let _ = (&cli.root, cli.systemd_cgroup);
    let result = match &cli.command {
        Command::Do(args) => cmd_do::run(&cli_opts(&cli), args),
        Command::Gofer(args) => cmd_gofer::run(args).map(|()| 0),
        Command::SyscallStatus => {
            let (i, p, u) = rvisor_syscalls::status::counts();
            println!("{}", rvisor_syscalls::status::markdown_table());
            println!("implemented: {i}, partial: {p}, unsupported: {u}");
            Ok(0)
        }
        Command::Oci(c) => Ok(oci::run(&oci_globals(&cli), c)),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("rvisor: {e:#}");
            std::process::exit(125);
        }
    }
}

/// Global options the subcommands use.
pub struct GlobalOpts {
    /// --strace.
    pub strace: bool,
    /// --debug-log: strace lines go there instead of stderr.
    pub debug_log: Option<PathBuf>,
    /// --network.
    pub network: netns::Network,
}

fn cli_opts(cli: &Cli) -> GlobalOpts {
    GlobalOpts {
        strace: cli.strace,
        debug_log: cli.debug_log.clone(),
        network: cli.network,
    }
}

fn oci_globals(cli: &Cli) -> oci::Globals {
    oci::Globals {
        root: cli.root.clone(),
        log: cli.log.clone(),
        log_format: cli.log_format.clone(),
        debug: cli.debug,
        debug_log: cli.debug_log.clone(),
        strace: cli.strace,
        overlay: cli.overlay,
        network: cli.network,
    }
}
