//! The runc-compatible commands: rvisor as an OCI runtime for a plain
//! bundle (`spec`, `create`, `start`, `state`, `kill`, `delete`, `list`,
//! `ps`, `run`, `exec`, `pause`, `resume`, `events`, `update`, `features`).
//!
//! Processes: `create` re-executes `rvisor boot` (hidden, see [`boot`])
//! detached; that process is the sandbox (the sentry) and its pid is the
//! container's pid. It exits with the container init's status.

pub mod boot;
pub mod cgroup;
pub mod commands;
pub mod control;
pub mod exec;
pub mod exec_client;
pub mod hooks;
pub mod spec;
pub mod state;

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

pub use commands::{
    CreateArgs, DeleteArgs, EventsArgs, ExecArgs, IdArgs, KillArgs, ListArgs, PsArgs, RunArgs,
    SpecArgs, UpdateArgs,
};

/// Global options the OCI commands use (and pass on to `rvisor boot`).
#[derive(Debug, Clone)]
pub struct Globals {
    /// --root.
    pub root: PathBuf,
    /// --log.
    pub log: Option<PathBuf>,
    /// --log-format.
    pub log_format: String,
    /// --debug.
    pub debug: bool,
    /// --debug-log.
    pub debug_log: Option<PathBuf>,
    /// --strace.
    pub strace: bool,
    /// --overlay: an in-memory writable layer over the root.
    pub overlay: bool,
    /// --network.
    pub network: crate::netns::Network,
}

impl Globals {
    /// The global flags for a re-executed `rvisor`.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec!["--root".into(), self.root.clone().into()];
        if let Some(l) = &self.log {
            v.push("--log".into());
            v.push(l.clone().into());
        }
        v.push("--log-format".into());
        v.push(self.log_format.clone().into());
        if self.debug {
            v.push("--debug".into());
        }
        if let Some(l) = &self.debug_log {
            v.push("--debug-log".into());
            v.push(l.clone().into());
        }
        if self.strace {
            v.push("--strace".into());
        }
        if self.overlay {
            v.push("--overlay".into());
        }
        v.push("--network".into());
        v.push(self.network.as_str().into());
        v
    }
}

/// The OCI subcommands (flattened into the top-level command list).
#[derive(Subcommand, Debug)]
pub enum OciCommand {
    /// Create a new specification file (config.json).
    Spec(SpecArgs),
    /// Create a container from a bundle (it waits for `start`).
    Create(Box<CreateArgs>),
    /// Start a created container.
    Start(IdArgs),
    /// Output the state of a container.
    State(IdArgs),
    /// Send a signal to the container's init process.
    Kill(KillArgs),
    /// Delete a container and its state.
    Delete(DeleteArgs),
    /// List containers.
    List(ListArgs),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Create and start a container.
    Run(Box<RunArgs>),
    /// Show what this runtime supports (JSON).
    Features,
    /// Suspend all processes of a container.
    Pause(IdArgs),
    /// Resume a paused container.
    Resume(IdArgs),
    /// Display container events.
    Events(EventsArgs),
    /// Update container resource limits.
    Update(Box<UpdateArgs>),
    /// Run a new process in a running container.
    Exec(Box<ExecArgs>),
    /// Wait until a container stops; print its exit status (JSON).
    Wait(IdArgs),
    /// The sandbox process of one container (started by `create`).
    #[command(hide = true)]
    Boot(boot::BootArgs),
}

/// Runs an OCI subcommand; returns the exit code. Errors are printed to
/// stderr and logged (in runc's JSON shape with `--log-format json`, which
/// containerd reads back), and give exit code 1.
pub fn run(g: &Globals, cmd: &OciCommand) -> i32 {
    let res = match cmd {
        OciCommand::Spec(a) => commands::spec(a),
        OciCommand::Create(a) => commands::create(g, a),
        OciCommand::Start(a) => commands::start(g, a),
        OciCommand::State(a) => commands::state(g, a),
        OciCommand::Kill(a) => commands::kill(g, a),
        OciCommand::Delete(a) => commands::delete(g, a),
        OciCommand::List(a) => commands::list(g, a),
        OciCommand::Ps(a) => commands::ps(g, a),
        OciCommand::Run(a) => commands::run(g, a),
        OciCommand::Features => commands::features(),
        OciCommand::Pause(a) => commands::pause(g, a, true),
        OciCommand::Resume(a) => commands::pause(g, a, false),
        OciCommand::Events(a) => commands::events(g, a),
        OciCommand::Update(a) => commands::update(g, a),
        OciCommand::Exec(a) => commands::exec(g, a),
        OciCommand::Wait(a) => commands::wait(g, a),
        OciCommand::Boot(a) => Ok(boot::run(g, a)),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            if g.log.is_some() || g.debug_log.is_some() {
                // Without a log file the log is stderr: say it once.
                tracing::error!("{msg}");
            }
            if g.log_format == "json" {
                if let Some(p) = &g.log {
                    if let Ok(mut f) = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)
                    {
                        let line = serde_json::json!({
                            "level": "error",
                            "msg": msg,
                            "time": state::now_rfc3339(),
                        });
                        let _ = writeln!(f, "{line}");
                    }
                }
            }
            eprintln!("rvisor: {msg}");
            1
        }
    }
}
