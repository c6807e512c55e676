//! The OCI commands, as containerd's go-runc and dockerd call runc.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use nix::sys::signal::{SigSet, Signal};

use super::cgroup as cgroups;
use super::control::{self, ExecProcess, Request};
use super::exec_client;
use super::hooks;
use super::spec::{self as specs, NetNs};
use super::state::{self as states, ContainerDir, State, Status};
use super::Globals;
use crate::netns::Network;
use rvisor_sentry::kernel::caps;

/// How long `delete --force` waits for a killed sandbox to go.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// `spec`.
#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Directory to write config.json in (default: the current one).
    #[arg(short = 'b', long)]
    bundle: Option<PathBuf>,
    /// A spec for a container run by an unprivileged user.
    #[arg(long)]
    rootless: bool,
}

/// `create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The bundle directory (holds config.json).
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// Write the container's pid (the sandbox process) here.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Unix socket to send a pty master to (terminal containers).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Unix socket to send a pidfd to (not supported).
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass this many extra fds (from 3) to the container (not supported).
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// The container id.
    id: String,
}

/// Commands that only take a container id.
#[derive(Args, Debug)]
pub struct IdArgs {
    /// The container id.
    id: String,
}

/// `kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to every process of the container.
    #[arg(short = 'a', long)]
    all: bool,
    /// The container id.
    id: String,
    /// Signal name (TERM, SIGTERM) or number; default TERM.
    signal: Option<String>,
}

/// `delete`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    force: bool,
    /// The container id.
    id: String,
}

/// `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// table or json.
    #[arg(short = 'f', long, default_value = "table")]
    format: String,
    /// Only the ids.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// `ps`.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// table or json.
    #[arg(short = 'f', long, default_value = "table")]
    format: String,
    /// The container id.
    id: String,
    /// ps(1) options (accepted, ignored).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

/// `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The bundle directory (holds config.json).
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// Write the container's pid (the sandbox process) here.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Return once started instead of waiting for the container.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Unix socket to send a pty master to (terminal containers).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Unix socket to send a pidfd to (not supported).
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass this many extra fds (from 3) to the container (not supported).
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Keep the container's state after it exits.
    #[arg(long)]
    keep: bool,
    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-subreaper")]
    no_subreaper: bool,
    /// The container id.
    id: String,
}

/// `events` (runc's flags; not supported yet).
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Stats collection interval.
    #[arg(long, default_value = "5s")]
    interval: String,
    /// Display the container's stats once, then exit.
    #[arg(long)]
    stats: bool,
    /// The container id.
    id: String,
}

/// `update` (runc's flags; not supported yet).
#[derive(Args, Debug)]
#[allow(dead_code)]
pub struct UpdateArgs {
    /// Resources file (JSON), "-" for stdin.
    #[arg(short = 'r', long)]
    resources: Option<String>,
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<String>,
    #[arg(long = "cpu-period")]
    cpu_period: Option<String>,
    #[arg(long = "cpu-quota")]
    cpu_quota: Option<String>,
    #[arg(long = "cpu-share")]
    cpu_share: Option<String>,
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<String>,
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<String>,
    #[arg(long = "cpu-idle")]
    cpu_idle: Option<String>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    #[arg(long = "kernel-memory")]
    kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp")]
    kernel_memory_tcp: Option<String>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long = "pids-limit")]
    pids_limit: Option<String>,
    #[arg(long = "l3-cache-schema")]
    l3_cache_schema: Option<String>,
    #[arg(long = "mem-bw-schema")]
    mem_bw_schema: Option<String>,
    /// The container id.
    id: String,
}

/// `exec` (runc's flags).
#[derive(Args, Debug)]
#[allow(dead_code)]
pub struct ExecArgs {
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    #[arg(long)]
    cwd: Option<String>,
    #[arg(short = 'e', long)]
    env: Vec<String>,
    #[arg(short = 't', long)]
    tty: bool,
    #[arg(short = 'u', long)]
    user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<String>,
    /// Process spec file (JSON).
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "process-label")]
    process_label: Option<String>,
    #[arg(long)]
    apparmor: Option<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(short = 'c', long)]
    cap: Vec<String>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    #[arg(long)]
    cgroup: Vec<String>,
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// The container id.
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// `spec`: writes runc's default config.json (minus what rvisor refuses).
pub fn spec(a: &SpecArgs) -> Result<i32> {
    let dir = a.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let v = specs::default_spec(a.rootless);
    let mut data = serde_json::to_vec_pretty(&v).context("encoding the spec")?;
    data.push(b'\n');
    std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}

/// `features`.
pub fn features() -> Result<i32> {
    println!(
        "{}",
        serde_json::to_string_pretty(&specs::features()).context("encoding")?
    );
    Ok(0)
}

/// Options shared by `create` and `run`.
struct CreateOpts<'a> {
    bundle: &'a Path,
    id: &'a str,
    pid_file: Option<&'a Path>,
    console_socket: Option<&'a Path>,
    pidfd_socket: Option<&'a Path>,
    preserve_fds: u32,
    /// `create` or `run -d`: nobody waits on the container's stdio.
    detached: bool,
}

/// How the boot process gets the container's terminal.
enum BootConsole {
    /// No terminal: the caller's stdio goes to the workload as it is.
    None,
    /// `--console-socket`: the slave of a host pty whose master went to
    /// the socket; it becomes the boot process's stdio and controlling
    /// terminal.
    Pty(OwnedFd),
    /// `run` in the foreground with `process.terminal`: the caller's
    /// stdio is the terminal.
    Stdio,
}

/// Creates the container: starts the boot process and waits for it to be
/// ready. Returns the boot process (our child) and the recorded state.
fn do_create(g: &Globals, o: &CreateOpts) -> Result<(Child, State)> {
    states::validate_id(o.id)?;
    if o.preserve_fds > 1024 {
        bail!("--preserve-fds {} is too many", o.preserve_fds);
    }
    for fd in 3..3 + o.preserve_fds as i32 {
        if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            bail!(
                "--preserve-fds {}: descriptor {fd} is not open",
                o.preserve_fds
            );
        }
    }
    if o.pidfd_socket.is_some() {
        bail!("--pidfd-socket is not supported yet");
    }
    let bundle = std::fs::canonicalize(o.bundle)
        .with_context(|| format!("bundle {}", o.bundle.display()))?;
    // Check the spec before anything starts (the boot process checks again).
    let plan = specs::load(&bundle)?;
    specs::check_console(&plan, o.console_socket.is_some(), o.detached)?;
    specs::find_program(&plan)?;
    // The terminal: a host pty whose master goes to the console socket
    // once the sandbox is ready (runc's protocol).
    let mut master = None;
    let console = match (plan.terminal, o.console_socket) {
        (false, _) => BootConsole::None,
        (true, Some(_)) => {
            let (m, slave) = host_pty(plan.console_size)?;
            master = Some(m);
            BootConsole::Pty(slave)
        }
        (true, None) => BootConsole::Stdio,
    };

    let root = absolute(&g.root)?;
    let dir = ContainerDir::create_new(&root, o.id)?;
    let g = Globals {
        root: root.clone(),
        ..g.clone()
    };
    let cg_rel = cgroups::relative_path(plan.cgroups_path.as_deref(), o.id)?;
    let cg = match cgroups::Cgroup::create(&cg_rel, plan.resources.as_ref()) {
        Ok(cg) => cg,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir.dir);
            return Err(e.context("setting up the container's cgroup"));
        }
    };
    let res = cg.procs_files().and_then(|procs| {
        spawn_boot(
            &g,
            &bundle,
            o.id,
            &dir.dir,
            HostSide {
                netns: &plan.netns,
                cgroup_procs: &procs,
                preserve_fds: o.preserve_fds,
                console,
            },
        )
    });
    let res = res.and_then(|child| {
        let pid = child.id() as i32;
        let finish = || -> Result<State> {
            if let (Some(m), Some(sock)) = (&master, o.console_socket) {
                send_console(sock, m)?;
            }
            let (_, pid_start) = states::proc_stat(pid).context("the sandbox process is gone")?;
            let st = State {
                id: o.id.to_string(),
                bundle: bundle.clone(),
                rootfs: plan.rootfs.clone(),
                pid,
                pid_start,
                status: Status::Created,
                created: states::now_rfc3339(),
                annotations: plan.annotations.clone(),
                owner: states::owner_name(),
                cgroup: Some(cg.clone()),
            };
            let mut creating = st.oci_json();
            creating["status"] = "creating".into();
            let creating = serde_json::to_vec(&creating).context("encoding the state")?;
            let h = &plan.hooks;
            hooks::run(
                "prestart",
                h.prestart().as_deref().unwrap_or_default(),
                &creating,
            )?;
            hooks::run(
                "createRuntime",
                h.create_runtime().as_deref().unwrap_or_default(),
                &creating,
            )?;
            hooks::run(
                "createContainer",
                h.create_container().as_deref().unwrap_or_default(),
                &creating,
            )?;
            dir.write(&st)?;
            if let Some(p) = o.pid_file {
                let p = absolute(p)?;
                states::write_atomic(&p, pid.to_string().as_bytes(), 0o644)?;
            }
            Ok(st)
        };
        match finish() {
            Ok(st) => Ok((child, st)),
            Err(e) => {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    });
    if res.is_err() {
        cg.remove();
        let _ = std::fs::remove_dir_all(&dir.dir);
    }
    res
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("current directory")?
            .join(p))
    }
}

/// Opens a host pty for a terminal container: its slave in raw mode (the
/// sandbox's own line discipline does the terminal work) with the window
/// size of `process.consoleSize`. Returns (master, slave).
fn host_pty(size: Option<(u16, u16)>) -> Result<(OwnedFd, OwnedFd)> {
    let ws = size.map(|(rows, cols)| nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty = nix::pty::openpty(ws.as_ref(), None).context("openpty")?;
    let mut t = nix::sys::termios::tcgetattr(&pty.slave).context("tcgetattr")?;
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
        .context("tcsetattr")?;
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .context("FD_CLOEXEC")?;
    }
    Ok((pty.master, pty.slave))
}

/// Sends the pty master to the console socket `path` as runc does: one
/// message whose payload is the master's name and whose SCM_RIGHTS
/// carries the descriptor.
fn send_console(path: &Path, master: &OwnedFd) -> Result<()> {
    let sock = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("connecting to the console socket {}", path.display()))?;
    let name = b"/dev/ptmx";
    let iov = [IoSlice::new(name)];
    let fds = [master.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .with_context(|| format!("sending the terminal to {}", path.display()))?;
    Ok(())
}

/// Where on the host the sandbox process starts: its network namespace,
/// cgroup, extra descriptors and terminal.
struct HostSide<'a> {
    netns: &'a NetNs,
    /// Open `cgroup.procs` files of the container's cgroup.
    cgroup_procs: &'a [OwnedFd],
    /// `--preserve-fds`.
    preserve_fds: u32,
    console: BootConsole,
}

/// Starts `rvisor boot` in its own session with our stdio (or the
/// terminal's) and waits for its "ready" (or its error) on a pipe.
fn spawn_boot(
    g: &Globals,
    bundle: &Path,
    id: &str,
    dir: &Path,
    host: HostSide<'_>,
) -> Result<Child> {
    let HostSide {
        netns,
        cgroup_procs,
        preserve_fds,
        console,
    } = host;
    // The sandbox gets our stdio and the preserved descriptors after them;
    // the sync pipe goes right above those.
    let sync_target = 3 + preserve_fds as i32;
    let cg_fds = cgroups::raw(cgroup_procs);
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    // --network=host: the sandbox stays in our namespace whatever the spec
    // asks (its sockets are the host's).
    let host_net = g.network == Network::Host;
    if host_net && *netns != NetNs::Host {
        // A network hook (docker's) configures the namespace of the
        // sandbox's pid, which is now the host's.
        tracing::warn!(
            "--network=host: the spec's network namespace is not used; the sandbox runs in \
             the host's (use the engine's host network mode, e.g. docker run --network=host)"
        );
    }
    let join_net: Option<OwnedFd> = match netns {
        NetNs::Join(p) if !host_net => Some(
            std::fs::File::open(p)
                .with_context(|| format!("opening the network namespace {}", p.display()))?
                .into(),
        ),
        _ => None,
    };
    let join_raw = join_net.as_ref().map(|f| f.as_raw_fd());
    let new_net = *netns == NetNs::New && !host_net;
    let exe = std::env::current_exe().context("finding the rvisor binary")?;
    let mut c = Command::new(exe);
    c.args(g.args())
        .arg("boot")
        .arg("--bundle")
        .arg(bundle)
        .arg("--id")
        .arg(id)
        .arg("--state-dir")
        .arg(dir)
        .arg("--sync-fd")
        .arg(sync_target.to_string())
        .arg("--preserve-fds")
        .arg(preserve_fds.to_string());
    let ctty = match &console {
        BootConsole::None => false,
        BootConsole::Stdio => {
            c.arg("--console");
            false
        }
        BootConsole::Pty(slave) => {
            c.arg("--console");
            for i in 0..3 {
                let fd = slave.try_clone().context("duplicating the terminal")?;
                match i {
                    0 => c.stdin(fd),
                    1 => c.stdout(fd),
                    _ => c.stderr(fd),
                };
            }
            true
        }
    };
    let raw = w.as_raw_fd();
    // SAFETY: the pre-exec closure only makes raw, async-signal-safe calls.
    unsafe {
        c.pre_exec(move || {
            for fd in 3..sync_target {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if raw == sync_target {
                if libc::fcntl(raw, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(raw, sync_target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Into the container's cgroup before anything of the sandbox
            // (sentry threads, gofers, stubs) exists.
            cgroups::join_from_pre_exec(&cg_fds)?;
            if let Some(fd) = join_raw {
                if libc::setns(fd, libc::CLONE_NEWNET) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if new_net {
                if libc::unshare(libc::CLONE_NEWNET) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // As runc: a new namespace gets its loopback up.
                crate::netns::loopback_up()?;
            }
            // The host pty becomes the sandbox process's controlling
            // terminal, so that its window-size changes reach it
            // (SIGWINCH).
            if ctty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // `run` blocks the signals it forwards; the sandbox must not.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = c.spawn().context("starting the sandbox process")?;
    drop(w);
    drop(join_net);
    drop(c);
    drop(console);
    let mut msg = String::new();
    let read = std::fs::File::from(r).read_to_string(&mut msg);
    if msg.starts_with("ready") {
        return Ok(child);
    }
    let status = child.wait();
    if let Some(err) = msg.strip_prefix("error: ") {
        bail!("{}", err.trim_end());
    }
    read.context("reading from the sandbox process")?;
    match status {
        Ok(s) => bail!("the sandbox process exited ({s}) before it was ready"),
        Err(e) => bail!("the sandbox process failed before it was ready: {e}"),
    }
}

/// `create`.
pub fn create(g: &Globals, a: &CreateArgs) -> Result<i32> {
    let _ = (a.no_pivot, a.no_new_keyring);
    do_create(
        g,
        &CreateOpts {
            bundle: &a.bundle,
            id: &a.id,
            pid_file: a.pid_file.as_deref(),
            console_socket: a.console_socket.as_deref(),
            pidfd_socket: a.pidfd_socket.as_deref(),
            preserve_fds: a.preserve_fds,
            detached: true,
        },
    )?;
    Ok(0)
}

fn do_start(g: &Globals, id: &str) -> Result<()> {
    let (d, mut st) = ContainerDir::open_existing(&g.root, id)?;
    match st.effective_status() {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        s => bail!("cannot start an already {} container", s.as_str()),
    }
    control::request(&d.dir, &Request::Start)?;
    st.status = Status::Running;
    d.write(&st)?;
    let hooks = specs::load_hooks(&st.bundle)
        .poststart()
        .clone()
        .unwrap_or_default();
    if !hooks.is_empty() {
        let state = serde_json::to_vec(&st.oci_json()).context("encoding the state")?;
        hooks::run_logged("poststart", &hooks, &state);
    }
    Ok(())
}

/// `start`.
pub fn start(g: &Globals, a: &IdArgs) -> Result<i32> {
    do_start(g, &a.id)?;
    Ok(0)
}

/// `state`.
pub fn state(g: &Globals, a: &IdArgs) -> Result<i32> {
    let (_d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&st.oci_json()).context("encoding")?
    );
    Ok(0)
}

/// `wait`: blocks until the container has stopped and prints its exit
/// code as `{"id": ID, "exitStatus": N}` (N is 128+S after signal S).
pub fn wait(g: &Globals, a: &IdArgs) -> Result<i32> {
    // Not holding the lock while waiting: other commands go on meanwhile.
    let (d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    let dir = d.dir.clone();
    drop(d);
    super::state::wait_for_exit(st.pid, st.pid_start)?;
    let text = std::fs::read_to_string(dir.join(super::boot::EXIT_FILE)).unwrap_or_default();
    let code: i32 = text.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "container {}: the sandbox ended without recording an exit status (it was killed)",
            a.id
        )
    })?;
    println!("{}", serde_json::json!({"id": a.id, "exitStatus": code}));
    Ok(0)
}

/// Parses a signal: a name with or without SIG (any case) or a number.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        bail!("invalid signal number {n}");
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')
                .and_then(|x| x.parse().ok())
                .with_context(|| format!("unknown signal {s:?}"))?
        };
        let n = libc::SIGRTMIN() + off;
        if n <= libc::SIGRTMAX() {
            return Ok(n);
        }
        bail!("unknown signal {s:?}");
    }
    Signal::from_str(&name)
        .map(|x| x as i32)
        .map_err(|_| anyhow::anyhow!("unknown signal {s:?}"))
}

/// `kill`.
pub fn kill(g: &Globals, a: &KillArgs) -> Result<i32> {
    let sig = parse_signal(a.signal.as_deref().unwrap_or("TERM"))?;
    let (d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    match st.effective_status() {
        Status::Stopped => bail!("container not running"),
        // The sandbox is frozen and cannot take requests; only KILL goes
        // through (to the host processes, thawed so they can die).
        Status::Paused if sig == libc::SIGKILL => {
            force_kill(&st)?;
            return Ok(0);
        }
        Status::Paused => bail!("container {} is paused: resume it first", a.id),
        _ => {}
    }
    control::request(
        &d.dir,
        &Request::Signal {
            sig,
            all: a.all,
            pid: None,
        },
    )?;
    Ok(0)
}

/// `delete`.
pub fn delete(g: &Globals, a: &DeleteArgs) -> Result<i32> {
    let Some(d) = ContainerDir::open(&g.root, &a.id)? else {
        if a.force {
            return Ok(0);
        }
        bail!("container {} does not exist", a.id);
    };
    let Some(st) = d.read()? else {
        // An aborted create: the directory without a state.
        std::fs::remove_dir_all(&d.dir).with_context(|| format!("removing {}", d.dir.display()))?;
        if a.force {
            return Ok(0);
        }
        bail!("container {} does not exist", a.id);
    };
    match st.effective_status() {
        Status::Stopped => {}
        Status::Created => force_kill(&st)?,
        s => {
            if !a.force {
                bail!(
                    "cannot delete container {} that is not stopped: {}",
                    a.id,
                    s.as_str()
                );
            }
            force_kill(&st)?;
        }
    }
    if let Some(cg) = &st.cgroup {
        cg.remove();
    }
    std::fs::remove_dir_all(&d.dir).with_context(|| format!("removing {}", d.dir.display()))?;
    run_poststop(&st);
    Ok(0)
}

/// Runs the container's poststop hooks (failures are logged only).
fn run_poststop(st: &State) {
    let hooks = specs::load_hooks(&st.bundle)
        .poststop()
        .clone()
        .unwrap_or_default();
    if hooks.is_empty() {
        return;
    }
    let mut stopped = st.oci_json();
    stopped["status"] = "stopped".into();
    stopped["pid"] = 0.into();
    if let Ok(state) = serde_json::to_vec(&stopped) {
        hooks::run_logged("poststop", &hooks, &state);
    }
}

fn all_states(root: &Path) -> Result<Vec<State>> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        if !e.path().is_dir() {
            continue;
        }
        match states::read_state(&e.path()) {
            Ok(Some(st)) => v.push(st),
            Ok(None) => {}
            Err(err) => tracing::warn!("{err:#}"),
        }
    }
    v.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(v)
}

/// `list`.
pub fn list(g: &Globals, a: &ListArgs) -> Result<i32> {
    let states = all_states(&g.root)?;
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => {
            let v: Vec<serde_json::Value> = states.iter().map(State::oci_json).collect();
            println!("{}", serde_json::to_string(&v).context("encoding")?);
        }
        "table" => {
            let rows: Vec<[String; 6]> = states
                .iter()
                .map(|s| {
                    let st = s.effective_status();
                    let pid = if st == Status::Stopped { 0 } else { s.pid };
                    [
                        s.id.clone(),
                        pid.to_string(),
                        st.as_str().to_string(),
                        s.bundle.display().to_string(),
                        s.created.clone(),
                        s.owner.clone(),
                    ]
                })
                .collect();
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
            let mut w = [0usize; 6];
            for r in std::iter::once(&header).chain(rows.iter()) {
                for (i, c) in r.iter().enumerate() {
                    w[i] = w[i].max(c.len());
                }
            }
            for r in std::iter::once(&header).chain(rows.iter()) {
                let mut line = String::new();
                for (i, c) in r.iter().enumerate() {
                    if i + 1 == r.len() {
                        line.push_str(c);
                    } else {
                        line.push_str(&format!("{c:<width$}   ", width = w[i]));
                    }
                }
                println!("{}", line.trim_end());
            }
        }
        f => bail!("invalid format option {f:?}"),
    }
    Ok(0)
}

/// Host pids of `pid` and all its descendants (the sandbox: the boot
/// process, its gofers and the stub processes that run the workload).
fn descendants(pid: i32) -> Vec<i32> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some(pp) = states::proc_ppid(p) {
                children.entry(pp).or_default().push(p);
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if out.insert(p) {
            todo.extend(children.get(&p).into_iter().flatten().copied());
        }
    }
    out.into_iter().collect()
}

/// `ps`: the host processes of the sandbox (the boot process, gofers and
/// stubs; not the pids the workload sees inside).
pub fn ps(g: &Globals, a: &PsArgs) -> Result<i32> {
    let (_d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    let pids = if st.effective_status() == Status::Stopped {
        Vec::new()
    } else {
        descendants(st.pid)
    };
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&pids).context("encoding")?),
        "table" => {
            println!("{:>8}  CMD", "PID");
            for p in pids {
                let cmd = std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                    .unwrap_or_default();
                println!("{p:>8}  {}", cmd.trim_end());
            }
        }
        f => bail!("invalid format option {f:?}"),
    }
    Ok(0)
}

/// Signals `run` forwards to the container's init.
const FORWARDED: [Signal; 7] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// `run`: create + start, then (unless detached) wait for the container,
/// forwarding signals to it, delete it and exit with its status.
pub fn run(g: &Globals, a: &RunArgs) -> Result<i32> {
    let _ = (a.no_pivot, a.no_new_keyring, a.no_subreaper);
    let mut set = SigSet::empty();
    if !a.detach {
        for s in FORWARDED {
            set.add(s);
        }
        set.thread_block().context("blocking signals")?;
    }
    let opts = CreateOpts {
        bundle: &a.bundle,
        id: &a.id,
        pid_file: a.pid_file.as_deref(),
        console_socket: a.console_socket.as_deref(),
        pidfd_socket: a.pidfd_socket.as_deref(),
        preserve_fds: a.preserve_fds,
        detached: a.detach,
    };
    let (mut child, st) = do_create(g, &opts)?;
    let root = absolute(&g.root)?;
    let g = Globals {
        root: root.clone(),
        ..g.clone()
    };
    let dir = root.join(&a.id);
    if let Err(e) = do_start(&g, &a.id) {
        let _ = force_kill(&st);
        let _ = child.wait();
        if let Some(cg) = &st.cgroup {
            cg.remove();
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let fdir = dir.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let Ok(sig) = set.wait() else { return };
            let req = Request::Signal {
                sig: sig as i32,
                all: false,
                pid: None,
            };
            if let Err(e) = control::request(&fdir, &req) {
                tracing::debug!("forwarding {sig:?}: {e:#}");
            }
        })
        .context("signal thread")?;
    let status = child.wait().context("waiting for the sandbox process")?;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    };
    if !a.keep {
        if let Some(d) = ContainerDir::open(&root, &a.id)? {
            if let Some(cg) = &st.cgroup {
                cg.remove();
            }
            std::fs::remove_dir_all(&d.dir)
                .with_context(|| format!("removing {}", d.dir.display()))?;
            run_poststop(&st);
        }
    }
    Ok(code)
}

/// Parses `--user uid[:gid]` (numbers only, like runc).
fn parse_user(u: &str) -> Result<(u32, Option<u32>)> {
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid
        .parse()
        .with_context(|| format!("--user {u:?}: uid must be a number"))?;
    let gid = gid
        .map(|g| g.parse())
        .transpose()
        .with_context(|| format!("--user {u:?}: gid must be a number"))?;
    Ok((uid, gid))
}

/// The process `exec` starts: `--process FILE`, or the command line with
/// the container's process as defaults.
fn exec_process(a: &ExecArgs, st: &State) -> Result<ExecProcess> {
    let base = specs::load_process(&st.bundle)?;
    let p = match &a.process {
        Some(f) => {
            let data = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            serde_json::from_slice::<oci_spec::runtime::Process>(&data)
                .with_context(|| format!("parsing {}", f.display()))?
        }
        None => {
            if a.command.is_empty() {
                bail!("exec: no command given (use --process or give a command)");
            }
            let mut p = base.clone();
            p.set_args(Some(a.command.clone()));
            p.set_terminal(Some(a.tty));
            let mut env = base.env().clone().unwrap_or_default();
            env.extend(a.env.iter().cloned());
            p.set_env(Some(env));
            if let Some(c) = &a.cwd {
                p.set_cwd(c.into());
            }
            let mut user = base.user().clone();
            if let Some(u) = &a.user {
                let (uid, gid) = parse_user(u)?;
                user.set_uid(uid);
                user.set_gid(gid.unwrap_or(0));
            }
            if !a.additional_gids.is_empty() {
                let gids = a
                    .additional_gids
                    .iter()
                    .map(|g| {
                        g.parse::<u32>()
                            .with_context(|| format!("--additional-gids {g:?}"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                user.set_additional_gids(Some(gids));
            }
            p.set_user(user);
            p
        }
    };
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        bail!("exec: process.args is empty");
    }
    let cwd = p.cwd().to_string_lossy().into_owned();
    if !cwd.starts_with('/') {
        bail!("exec: cwd {cwd:?} must be an absolute path");
    }
    let user = p.user();
    let terminal = p.terminal().unwrap_or(false);
    Ok(ExecProcess {
        args,
        env: p.env().clone().unwrap_or_default(),
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        terminal,
        console_size: p
            .console_size()
            .as_ref()
            .filter(|_| terminal)
            .map(|b| (clamp_u16(b.height()), clamp_u16(b.width()))),
        // Like runc, --cap and --no-new-privs only add to a process made
        // from the command line; a --process file is taken as it is.
        caps: exec_caps(&p, if a.process.is_some() { &[] } else { &a.cap })?,
        no_new_privs: (a.no_new_privs && a.process.is_none())
            || p.no_new_privileges().unwrap_or(false),
    })
}

/// The exec'd process's capability sets: its process.capabilities, plus
/// each `--cap` added to the bounding, effective and permitted sets (and
/// ambient when the inheritable set is not empty), like runc.
fn exec_caps(p: &oci_spec::runtime::Process, extra: &[String]) -> Result<Option<[u64; 5]>> {
    let mut sets = specs::capability_sets(p);
    if !extra.is_empty() {
        // No list in the spec means Linux's defaults: everything.
        let s = sets.get_or_insert(caps::OciSets {
            bounding: caps::CAP_FULL,
            effective: caps::CAP_FULL,
            permitted: caps::CAP_FULL,
            inheritable: 0,
            ambient: 0,
        });
        for name in extra {
            let upper = name.to_ascii_uppercase();
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            let n = caps::from_name(&full)
                .with_context(|| format!("--cap {name:?}: unknown capability"))?;
            let b = caps::bit(n);
            s.bounding |= b;
            s.effective |= b;
            s.permitted |= b;
            if s.inheritable != 0 {
                s.ambient |= b;
            }
        }
    }
    Ok(sets.map(|s| {
        [
            s.bounding,
            s.effective,
            s.permitted,
            s.inheritable,
            s.ambient,
        ]
    }))
}

fn clamp_u16(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// `exec`.
pub fn exec(g: &Globals, a: &ExecArgs) -> Result<i32> {
    let _ = (&a.process_label, &a.apparmor, &a.cgroup);
    if a.pidfd_socket.is_some() {
        bail!("--pidfd-socket is not supported yet");
    }
    let (d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    match st.effective_status() {
        Status::Running => {}
        s => bail!("cannot exec in a {} container", s.as_str()),
    }
    let p = exec_process(a, &st)?;
    if a.console_socket.is_some() && !p.terminal {
        bail!("--console-socket was given but the process has no terminal (--tty or process.terminal)");
    }
    if p.terminal && a.detach && a.console_socket.is_none() {
        bail!("a detached exec with a terminal needs --console-socket to send the terminal to");
    }
    let nfds = 3 + a.preserve_fds as i32;
    // With a console socket: a host pty whose master goes to the socket
    // (runc's protocol); its slave is the host side of the process's
    // terminal and the proxy's controlling terminal.
    let host_slave = match (&a.console_socket, p.terminal) {
        (Some(sock), true) => {
            let (m, slave) = host_pty(p.console_size)?;
            send_console(sock, &m)?;
            Some(slave)
        }
        _ => None,
    };
    let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
    for fd in 0..nfds {
        fds.push(match &host_slave {
            Some(s) if fd < 3 => s.as_fd(),
            // SAFETY: descriptors 0..nfds are our own (stdio and the
            // preserved ones the caller passed us) and stay open while
            // these borrows live.
            _ => unsafe { BorrowedFd::borrow_raw(fd) },
        });
    }
    if let Some(slave) = &host_slave {
        return exec_console_proxy(a, &d.dir, &p, &fds, slave);
    }
    // Without a console socket a terminal's host side is our stdio: a
    // terminal there is put in raw mode while the process runs.
    let raw = if p.terminal {
        RawTerminal::enter(0)?
    } else {
        None
    };
    let tty = p.terminal.then(|| exec_client::HostTerminal {
        winsize: raw.as_ref().and_then(|r| r.fd.try_clone().ok()),
    });
    if !a.detach {
        if let Some(pf) = &a.pid_file {
            states::write_atomic(
                &absolute(pf)?,
                std::process::id().to_string().as_bytes(),
                0o644,
            )?;
        }
        let code = exec_client::run(&d.dir, &p, &fds, None, tty);
        drop(raw);
        return code;
    }
    // Detached: a child process stands for the exec'd process (its pid goes
    // to --pid-file); we return once it has started.
    let child = fork_proxy(|w| exec_client::run(&d.dir, &p, &fds, Some(w), None))?;
    if let Some(pf) = &a.pid_file {
        states::write_atomic(&absolute(pf)?, child.to_string().as_bytes(), 0o644)?;
    }
    Ok(0)
}

/// `exec` with a console socket: the proxy is a child process leading its
/// own session with the host pty's `slave` as its controlling terminal, so
/// that the console-socket holder's resizes reach it as SIGWINCH. Detached,
/// we return once the process has started; otherwise we wait for the
/// proxy (forwarding signals to it) and exit with its status.
fn exec_console_proxy(
    a: &ExecArgs,
    dir: &Path,
    p: &ExecProcess,
    fds: &[BorrowedFd<'_>],
    slave: &OwnedFd,
) -> Result<i32> {
    let mut set = SigSet::empty();
    if !a.detach {
        for s in exec_client::FORWARDED {
            set.add(s);
        }
        set.thread_block().context("blocking signals")?;
        if let Some(pf) = &a.pid_file {
            states::write_atomic(
                &absolute(pf)?,
                std::process::id().to_string().as_bytes(),
                0o644,
            )?;
        }
    }
    let child = fork_proxy(|w| {
        // SAFETY: setsid and TIOCSCTTY on a descriptor we own; we are a
        // fresh child, not a process group leader.
        let ok = unsafe {
            libc::setsid() >= 0 && libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) == 0
        };
        if !ok {
            let e = std::io::Error::last_os_error();
            let mut w = w;
            let _ = writeln!(w, "error: making the terminal the exec process's own: {e}");
            return Ok(255);
        }
        let tty = exec_client::HostTerminal {
            winsize: Some(slave.try_clone().context("duplicating the terminal")?),
        };
        exec_client::run(dir, p, fds, Some(w), Some(tty))
    })?;
    if a.detach {
        if let Some(pf) = &a.pid_file {
            states::write_atomic(&absolute(pf)?, child.to_string().as_bytes(), 0o644)?;
        }
        return Ok(0);
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let Ok(sig) = set.wait() else { return };
            let _ = nix::sys::signal::kill(child, sig);
        })
        .context("signal thread")?;
    let st = nix::sys::wait::waitpid(child, None).context("waiting for the exec process")?;
    Ok(match st {
        nix::sys::wait::WaitStatus::Exited(_, c) => c,
        nix::sys::wait::WaitStatus::Signaled(_, s, _) => 128 + s as i32,
        _ => 255,
    })
}

/// Forks the process that stands for an exec'd process: the child runs
/// `proxy` (which tells the pipe it gets `ok` or `error: …` once the
/// process started) and exits with its result; we wait for that word.
/// Returns the child's pid.
fn fork_proxy(proxy: impl FnOnce(std::fs::File) -> Result<i32>) -> Result<nix::unistd::Pid> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    // SAFETY: the command line is single-threaded here, so the child may
    // run arbitrary code after fork.
    match unsafe { nix::unistd::fork() }.context("fork")? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let code = proxy(std::fs::File::from(w)).unwrap_or(255);
            std::process::exit(code);
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut msg = String::new();
            let _ = std::fs::File::from(r).read_to_string(&mut msg);
            if let Some(e) = msg.strip_prefix("error: ") {
                let _ = nix::sys::wait::waitpid(child, None);
                bail!("{}", e.trim_end());
            }
            if !msg.starts_with("ok") {
                let _ = nix::sys::wait::waitpid(child, None);
                bail!("the exec process ended before the process started");
            }
            Ok(child)
        }
    }
}

/// The caller's terminal put in raw mode for the time a process with a
/// terminal runs (the sandbox's line discipline does the terminal work);
/// the settings come back when this is dropped.
struct RawTerminal {
    /// A copy of the terminal's descriptor (our stdio is replaced).
    fd: OwnedFd,
    saved: nix::sys::termios::Termios,
}

impl RawTerminal {
    /// Raw mode for `fd` if it is a terminal.
    fn enter(fd: i32) -> Result<Option<RawTerminal>> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        // SAFETY: borrowing our own open descriptor for the calls below.
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(saved) = tcgetattr(b) else {
            return Ok(None);
        };
        let fd = b.try_clone_to_owned().context("duplicating the terminal")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&fd, SetArg::TCSANOW, &raw).context("raw mode for the terminal")?;
        Ok(Some(RawTerminal { fd, saved }))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ =
            nix::sys::termios::tcsetattr(&self.fd, nix::sys::termios::SetArg::TCSANOW, &self.saved);
    }
}

/// Kills the sandbox process (thawing a paused one first, so it can die).
fn force_kill(st: &State) -> Result<()> {
    if let Some(cg) = &st.cgroup {
        if cg.is_frozen() {
            cg.freeze(false)?;
        }
    }
    states::kill_and_wait(st.pid, st.pid_start, KILL_WAIT)
}

/// `pause` and `resume`.
pub fn pause(g: &Globals, a: &IdArgs, paused: bool) -> Result<i32> {
    let (d, mut st) = ContainerDir::open_existing(&g.root, &a.id)?;
    let want = if paused {
        Status::Running
    } else {
        Status::Paused
    };
    let now = st.effective_status();
    if now != want {
        bail!(
            "container {} is {}, not {}",
            a.id,
            now.as_str(),
            want.as_str()
        );
    }
    let Some(cg) = &st.cgroup else {
        bail!("container {} has no cgroup to freeze", a.id);
    };
    cg.freeze(paused)?;
    st.status = if paused {
        Status::Paused
    } else {
        Status::Running
    };
    d.write(&st)?;
    Ok(0)
}

/// Parses a size as `update` takes it (bytes, or with a k/m/g suffix; -1
/// for no limit).
fn parse_bytes(v: &str) -> Result<i64> {
    if v == "-1" {
        return Ok(-1);
    }
    let lower = v.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .with_context(|| format!("invalid size {v:?}"))
}

/// `update`: new memory, pids and cpu limits for a running container.
pub fn update(g: &Globals, a: &UpdateArgs) -> Result<i32> {
    let (d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
    if st.effective_status() == Status::Stopped {
        bail!("container {} is not running", a.id);
    }
    let Some(cg) = &st.cgroup else {
        bail!("container {} has no cgroup", a.id);
    };
    let unsupported = [
        ("--blkio-weight", &a.blkio_weight),
        ("--cpu-rt-period", &a.cpu_rt_period),
        ("--cpu-rt-runtime", &a.cpu_rt_runtime),
        ("--cpu-idle", &a.cpu_idle),
        ("--cpuset-cpus", &a.cpuset_cpus),
        ("--cpuset-mems", &a.cpuset_mems),
        ("--kernel-memory", &a.kernel_memory),
        ("--kernel-memory-tcp", &a.kernel_memory_tcp),
        ("--memory-reservation", &a.memory_reservation),
        ("--l3-cache-schema", &a.l3_cache_schema),
        ("--mem-bw-schema", &a.mem_bw_schema),
    ];
    if let Some((flag, _)) = unsupported.iter().find(|(_, v)| v.is_some()) {
        bail!("update {flag} is not supported by rvisor (memory, pids and cpu shares/quota are)");
    }
    let mut r: oci_spec::runtime::LinuxResources = match &a.resources {
        Some(f) => {
            let data = if f == "-" {
                let mut v = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut v)
                    .context("reading stdin")?;
                v
            } else {
                std::fs::read(f).with_context(|| format!("reading {f}"))?
            };
            serde_json::from_slice(&data).context("parsing the resources")?
        }
        None => Default::default(),
    };
    if a.memory.is_some() || a.memory_swap.is_some() {
        let old = r.memory().unwrap_or_default();
        let mut b = oci_spec::runtime::LinuxMemoryBuilder::default();
        if let Some(l) = a
            .memory
            .as_deref()
            .map(parse_bytes)
            .transpose()?
            .or(old.limit())
        {
            b = b.limit(l);
        }
        if let Some(w) = a
            .memory_swap
            .as_deref()
            .map(parse_bytes)
            .transpose()?
            .or(old.swap())
        {
            b = b.swap(w);
        }
        r.set_memory(Some(b.build().context("memory limits")?));
    }
    if let Some(v) = &a.pids_limit {
        let n: i64 = v.parse().with_context(|| format!("--pids-limit {v:?}"))?;
        let mut p = oci_spec::runtime::LinuxPids::default();
        p.set_limit(n);
        r.set_pids(Some(p));
    }
    if a.cpu_share.is_some() || a.cpu_quota.is_some() || a.cpu_period.is_some() {
        let mut c = r.cpu().clone().unwrap_or_default();
        if let Some(v) = &a.cpu_share {
            c.set_shares(Some(
                v.parse().with_context(|| format!("--cpu-share {v:?}"))?,
            ));
        }
        if let Some(v) = &a.cpu_quota {
            c.set_quota(Some(
                v.parse().with_context(|| format!("--cpu-quota {v:?}"))?,
            ));
        }
        if let Some(v) = &a.cpu_period {
            c.set_period(Some(
                v.parse().with_context(|| format!("--cpu-period {v:?}"))?,
            ));
        }
        r.set_cpu(Some(c));
    }
    cg.apply(&r)?;
    if let Some(p) = r.pids() {
        let limit = p.limit();
        control::request(&d.dir, &Request::Limits { pids: Some(limit) })?;
    }
    Ok(0)
}

/// `events`: the container's resource usage as JSON lines, once with
/// `--stats`, else every `--interval` until it stops.
pub fn events(g: &Globals, a: &EventsArgs) -> Result<i32> {
    let interval = parse_interval(&a.interval)?;
    loop {
        let (_d, st) = ContainerDir::open_existing(&g.root, &a.id)?;
        if st.effective_status() == Status::Stopped {
            if a.stats {
                bail!("container {} is not running", a.id);
            }
            return Ok(0);
        }
        let data = st
            .cgroup
            .as_ref()
            .map(|c| c.stats())
            .unwrap_or_else(|| serde_json::json!({}));
        let ev = serde_json::json!({"type": "stats", "id": a.id, "data": data});
        println!("{ev}");
        if a.stats {
            return Ok(0);
        }
        std::thread::sleep(interval);
    }
}

/// Parses runc's `--interval` (a Go duration like `5s`, `500ms`, `1m`).
fn parse_interval(v: &str) -> Result<Duration> {
    let (num, unit) = v
        .find(|c: char| !c.is_ascii_digit())
        .map_or((v, "s"), |i| (&v[..i], &v[i..]));
    let n: u64 = num.parse().with_context(|| format!("--interval {v:?}"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("--interval {v:?}: unknown unit"),
    };
    if d.is_zero() {
        bail!("--interval must be positive");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_cap_flags_add_to_the_process_sets() {
        let p: oci_spec::runtime::Process = serde_json::from_value(serde_json::json!({
            "args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                             "permitted": ["CAP_CHOWN"]}
        }))
        .expect("process");
        let both = caps::bit(caps::CHOWN) | caps::bit(caps::KILL);
        assert_eq!(
            exec_caps(&p, &["kill".into()]).expect("caps"),
            Some([both, both, both, 0, 0])
        );
        assert!(exec_caps(&p, &["CAP_NOPE".into()]).is_err());
        let plain: oci_spec::runtime::Process = serde_json::from_value(
            serde_json::json!({"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}}),
        )
        .expect("process");
        assert_eq!(exec_caps(&plain, &[]).expect("caps"), None);
        let full = caps::CAP_FULL;
        assert_eq!(
            exec_caps(&plain, &["CAP_KILL".into()]).expect("caps"),
            Some([full, full, full, 0, 0])
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM").expect("TERM"), 15);
        assert_eq!(parse_signal("SIGKILL").expect("KILL"), 9);
        assert_eq!(parse_signal("kill").expect("kill"), 9);
        assert_eq!(parse_signal("9").expect("9"), 9);
        assert_eq!(parse_signal("0").expect("0"), 0);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("65").is_err());
        assert_eq!(parse_signal("RTMIN+1").expect("rt"), libc::SIGRTMIN() + 1);
    }
}
