//! `rvisor boot` (hidden): the sandbox process of one OCI container.
//!
//! `create` starts it detached (its own session) with the container's
//! stdio as its fds 0-2 and the write end of a sync pipe as `--sync-fd`.
//! It spawns the gofer(s), assembles the sandbox, adds the bundle's extra
//! mounts, writes `ready` (or `error: …`) to the sync pipe, then waits on
//! the control socket for `start`; signals sent before that end it the way
//! they would end a process that has no handlers. After `start` a thread
//! keeps serving the socket (signals go into the sandbox) while init runs;
//! the process exits with init's status (`ExitStatus::shell_code`).
//!
//! With `--console` (`process.terminal`), the workload's stdio is an
//! emulated terminal bridged to this process's stdin/stdout: either the
//! slave of a host pty whose master went to the console socket (then it
//! is this process's controlling terminal, set up by `create`, and its
//! SIGWINCH arrives on a signalfd), or the stdio of a foreground `run`
//! (put in raw mode while the container runs; `run` forwards SIGWINCH,
//! which re-reads the window size).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use clap::Args;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use rvisor_gofer::client::GoferClient;
use rvisor_sentry::boot::{self as sboot, BootSpec, Stdio as SandboxStdio};
use rvisor_sentry::fs::gofer::GoferInode;
use rvisor_sentry::fs::tmpfs::Tmpfs;
use rvisor_sentry::fs::vfs::Location;
use rvisor_sentry::fs::Inode;
use rvisor_sentry::kernel::signal::{default_action, send_to_group, DefaultAction, SIG_DFL};
use rvisor_sentry::kernel::Kernel;
use rvisor_sentry::tty::bridge::{sync_winsize, Console};
use rvisor_sentry::tty::Winsize;
use rvisor_syscalls::abi::{Siginfo, SI_USER};

use super::control::{self, Request};
use super::exec;
use super::spec::{self, ExtraMount, Plan};
use super::Globals;

/// Arguments of `rvisor boot`.
#[derive(Args, Debug)]
pub struct BootArgs {
    /// The bundle directory.
    #[arg(long)]
    bundle: PathBuf,
    /// The container id.
    #[arg(long)]
    id: String,
    /// The container's state directory (`<root>/<id>`).
    #[arg(long = "state-dir")]
    state_dir: PathBuf,
    /// Write end of the pipe `create` waits on for "ready".
    #[arg(long = "sync-fd")]
    sync_fd: i32,
    /// Descriptors 3..3+N are given to the container too (after stdio).
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// stdin/stdout are the container's terminal.
    #[arg(long)]
    console: bool,
}

/// First device number of the extra tmpfs mounts.
const DEV_EXTRA: u64 = 0x100;
/// First device number of the empty tmpfs mounts over masked paths.
const DEV_MASK: u64 = 0x180;

type Sync = Arc<Mutex<Option<File>>>;

/// The name of the file in the state directory where the boot process
/// records the container's exit code (read by `rvisor wait`).
pub const EXIT_FILE: &str = "exit_status";

/// `<state dir>/exit_status`, opened before the sandbox starts: the
/// sentry's seccomp filter allows writing to an open file but not opening
/// one, so the exit paths only `pwrite` to it.
static EXIT_RECORD: OnceLock<File> = OnceLock::new();

/// Records `code` as the container's exit code (for `rvisor wait`).
fn record_exit(code: i32) {
    use std::os::unix::fs::FileExt;
    if let Some(f) = EXIT_RECORD.get() {
        let _ = f.write_all_at(format!("{code}\n").as_bytes(), 0);
    }
}

/// Ends the boot process with `code`, recording it first.
fn exit_container(code: i32) -> ! {
    record_exit(code);
    std::process::exit(code)
}

fn report(sync: &Sync, msg: &str) {
    if let Ok(mut g) = sync.lock() {
        if let Some(mut f) = g.take() {
            let _ = f.write_all(msg.as_bytes());
        }
    }
}

/// Runs the boot process; returns the exit code (init's status).
pub fn run(g: &Globals, a: &BootArgs) -> i32 {
    if a.sync_fd < 3 {
        eprintln!("rvisor boot: --sync-fd must be an inherited descriptor >= 3");
        return 1;
    }
    // SAFETY: `create` passed this descriptor to us for our exclusive use.
    let sync = unsafe { OwnedFd::from_raw_fd(a.sync_fd) };
    // Keep it from every process we start (gofers, stubs).
    // SAFETY: F_SETFD on a descriptor we own.
    unsafe { libc::fcntl(sync.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    let sync: Sync = Arc::new(Mutex::new(Some(File::from(sync))));
    match File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(a.state_dir.join(EXIT_FILE))
    {
        Ok(f) => {
            let _ = EXIT_RECORD.set(f);
        }
        Err(e) => tracing::warn!("cannot record the exit status: {e}"),
    }
    let mut gofers = Vec::new();
    let res = boot(g, a, &sync, &mut gofers);
    for mut c in gofers {
        let _ = c.kill();
        let _ = c.wait();
    }
    match res {
        Ok(code) => {
            record_exit(code);
            code
        }
        Err(e) => {
            if g.log.is_some() || g.debug_log.is_some() {
                tracing::error!("boot of container {}: {e:#}", a.id);
            }
            let was_ready = sync.lock().map(|g| g.is_none()).unwrap_or(true);
            if was_ready {
                eprintln!("rvisor: container {}: {e:#}", a.id);
            } else {
                report(&sync, &format!("error: {e:#}\n"));
            }
            record_exit(1);
            1
        }
    }
}

/// Starts `rvisor gofer` serving `root` over a new socket; returns the
/// sentry's end. Must be called on the main thread: the gofer dies with the
/// thread that started it (PR_SET_PDEATHSIG).
fn spawn_gofer(root: &Path, readonly: bool, gofers: &mut Vec<Child>) -> Result<OwnedFd> {
    let (sentry_end, gofer_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the gofer")?;
    gofers.push(crate::cmd_gofer::spawn(root, readonly, gofer_end)?);
    Ok(sentry_end)
}

fn boot(g: &Globals, a: &BootArgs, sync: &Sync, gofers: &mut Vec<Child>) -> Result<i32> {
    let plan = spec::load(&a.bundle)?;
    if g.network == crate::netns::Network::Host && !plan.sysctls.is_empty() {
        anyhow::bail!(
            "linux.sysctl: net.* sysctls need the container's own network namespace, and \
             --network=host keeps the sandbox in the host's"
        );
    }
    spec::apply_sysctls(&plan.sysctls)?;
    for w in &plan.ignored {
        tracing::warn!("container {}: not applied: {w}", a.id);
    }
    let path = spec::find_program(&plan)?;
    // Mountpoints of the extra mounts are made in the rootfs on the host,
    // like runc does (also for a read-only root: that is the container's
    // view), never following a symlink out of the rootfs.
    for m in &plan.mounts {
        let create = match m {
            ExtraMount::Bind { dir: false, .. } => spec::Create::DirsAndFile,
            _ => spec::Create::Dirs,
        };
        spec::resolve_in_root(&plan.rootfs, m.dest(), create)
            .with_context(|| format!("creating the mountpoint {}", m.dest().display()))?;
    }
    let listener = control::bind(&a.state_dir)?;

    // --overlay: the rootfs is only read (through the gofer); writes go to
    // an in-memory layer. A read-only root stays read-only.
    let overlay = g.overlay && !plan.readonly;
    let root_sock = spawn_gofer(&plan.rootfs, plan.readonly || overlay, gofers)?;
    let mut binds = Vec::new();
    for m in &plan.mounts {
        if let ExtraMount::Bind {
            source, readonly, ..
        } = m
        {
            binds.push(spawn_gofer(source, *readonly, gofers)?);
        }
    }

    // Before any thread exists: host SIGWINCH waits in a signalfd for the
    // console (every thread inherits the blocked mask).
    let console = if a.console {
        Some(HostConsole::take()?)
    } else {
        None
    };
    // Close-on-exec copies: the gofers this process starts must not hold
    // the container's stdio. With a console, 0-2 are the terminal.
    let mut stdio = Vec::new();
    for fd in 0..3 + a.preserve_fds as i32 {
        stdio.push(if console.is_some() && fd < 3 {
            SandboxStdio::Console
        } else {
            SandboxStdio::Host(dup(fd)?)
        });
    }
    for fd in 3..3 + a.preserve_fds as i32 {
        // Our own copies of the preserved descriptors are not needed.
        let _ = nix::unistd::close(fd);
    }
    let sandbox_console = match &console {
        Some(c) => match c.console(plan.console_size) {
            Ok(x) => Some(x),
            Err(e) => {
                c.restore();
                return Err(e);
            }
        },
        None => None,
    };
    let hostname = plan.hostname.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "rvisor".into())
    });
    let bspec = BootSpec {
        path: path.clone(),
        argv: plan.args.iter().map(|s| s.as_bytes().to_vec()).collect(),
        envp: plan.env.iter().map(|s| s.as_bytes().to_vec()).collect(),
        cwd: plan.cwd.as_os_str().as_bytes().to_vec(),
        cwd_fallback: false,
        creds: spec::creds(plan.uid, plan.gid, plan.groups.clone(), plan.caps.as_ref()),
        strace: g.strace,
        strace_log: g.debug_log.as_ref().and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        }),
        hostname,
        gofer: root_sock,
        root_readonly: plan.readonly || overlay,
        stdio,
        spawning: true,
        process: plan.process.clone(),
        console: sandbox_console,
        inet: g.network.inet(),
    };
    let gate_sync = sync.clone();
    let gate: sboot::StartGate = Box::new(move |kernel: &Arc<Kernel>| {
        gate(kernel, &plan, path, binds, listener, &gate_sync).map_err(std::io::Error::other)
    });
    let status = if overlay {
        sboot::run_overlay_with_gate(bspec, Some(gate))
    } else {
        sboot::run_with_gate(bspec, Some(gate))
    };
    if let Some(c) = &console {
        c.restore();
    }
    let status = status.map_err(|e| anyhow::anyhow!("booting the sandbox: {e}"))?;
    Ok(status.shell_code())
}

/// Runs in the sentry right before init: extra mounts, checks, "ready",
/// then waits for `start`.
fn gate(
    kernel: &Arc<Kernel>,
    plan: &Plan,
    path: Vec<u8>,
    binds: Vec<OwnedFd>,
    listener: UnixListener,
    sync: &Sync,
) -> Result<(), String> {
    kernel.set_task_limit(plan.pids_limit());
    let vfs = &kernel.vfs;
    let root = exec::root_of(kernel).ok_or("the sandbox has no root")?;
    let mut binds = binds.into_iter();
    for (i, m) in plan.mounts.iter().enumerate() {
        let dest = m.dest();
        let at = vfs
            .resolve(&root, &root, dest.as_os_str().as_bytes(), true)
            .map_err(|e| format!("mount {}: mountpoint: {e}", dest.display()))?;
        let res = match m {
            ExtraMount::Tmpfs {
                mode,
                size,
                readonly,
                flags,
                ..
            } => vfs.mount_at_with_flags(
                &at,
                Tmpfs::new(DEV_EXTRA + i as u64, *mode, 0, 0, *size),
                "tmpfs",
                "tmpfs",
                *readonly,
                *flags,
            ),
            ExtraMount::Bind {
                source,
                dir,
                readonly,
                flags,
                ..
            } => {
                let sock = binds.next().ok_or("missing bind-mount gofer")?;
                let client = Arc::new(GoferClient::new(sock));
                let inode: Result<Arc<dyn Inode>, _> = if *dir {
                    GoferInode::root(client, *readonly).map(|i| i as Arc<dyn Inode>)
                } else {
                    GoferInode::file_export(client, *readonly)
                };
                let inode =
                    inode.map_err(|e| format!("mount {}: gofer root: {e}", dest.display()))?;
                vfs.mount_at_with_flags(
                    &at,
                    inode,
                    "9p",
                    &source.to_string_lossy(),
                    *readonly,
                    *flags,
                )
            }
        };
        res.map_err(|e| format!("mount {}: {e}", dest.display()))?;
    }
    mask_and_protect(kernel, &root, plan)?;
    let cwd = plan.cwd.as_os_str().as_bytes();
    match vfs.resolve(&root, &root, cwd, true) {
        Ok(l) if l.attr().map(|a| a.is_dir()).unwrap_or(false) => {}
        Ok(_) => {
            return Err(format!(
                "process.cwd {}: not a directory",
                plan.cwd.display()
            ))
        }
        Err(e) => return Err(format!("process.cwd {}: {e}", plan.cwd.display())),
    }
    if path.first() == Some(&b'/') {
        vfs.resolve(&root, &root, &path, true).map_err(|e| {
            format!(
                "exec: {:?}: {e}",
                String::from_utf8_lossy(&path).into_owned()
            )
        })?;
    }

    report(sync, "ready\n");
    // Created: wait for start.
    loop {
        let (s, _) = listener
            .accept()
            .map_err(|e| format!("control socket: {e}"))?;
        match control::read_request(&s).map(|(r, _fds)| r) {
            Ok(Request::Start) => {
                control::reply(&s, Ok(()));
                let k = kernel.clone();
                std::thread::Builder::new()
                    .name("control".into())
                    .spawn(move || serve(listener, k))
                    .map_err(|e| format!("control thread: {e}"))?;
                return Ok(());
            }
            Ok(Request::Signal { sig, .. }) => {
                if !(0..=64).contains(&sig) {
                    control::reply(&s, Err(format!("invalid signal {sig}")));
                    continue;
                }
                control::reply(&s, Ok(()));
                // Nothing runs yet: a signal whose default action ends a
                // process ends the container.
                if sig == libc::SIGKILL
                    || (sig != 0
                        && matches!(
                            default_action(sig),
                            DefaultAction::Terminate | DefaultAction::Core
                        ))
                {
                    tracing::info!("signal {sig} before start: the container ends");
                    exit_container(128 + sig);
                }
            }
            Ok(Request::Exec(_)) | Ok(Request::Limits { .. }) => {
                control::reply(&s, Err("the container has not been started".into()))
            }
            Err(e) => control::reply(&s, Err(format!("{e:#}"))),
        }
    }
}

/// Applies linux.maskedPaths (an empty read-only tmpfs over a directory,
/// the sandbox's /dev/null over anything else) and linux.readonlyPaths (the
/// same file system mounted again, read-only), like runc. Paths that do not
/// exist in the sandbox are skipped.
fn mask_and_protect(kernel: &Arc<Kernel>, root: &Location, plan: &Plan) -> Result<(), String> {
    let vfs = &kernel.vfs;
    for (i, p) in plan.masked_paths.iter().enumerate() {
        let Ok(at) = vfs.resolve(root, root, p.as_bytes(), true) else {
            continue;
        };
        let is_dir = at.attr().map(|a| a.is_dir()).unwrap_or(false);
        let res = if is_dir {
            let empty = Tmpfs::new(DEV_MASK + i as u64, 0o555, 0, 0, Some(0));
            vfs.mount_at(&at, empty, "tmpfs", "tmpfs", true)
        } else {
            match vfs.resolve(root, root, b"/dev/null", true) {
                Ok(null) => vfs.mount_at(&at, null.dentry.inode.clone(), "devtmpfs", "dev", true),
                Err(e) => Err(e),
            }
        };
        res.map_err(|e| format!("masking {p}: {e}"))?;
    }
    for p in &plan.readonly_paths {
        let Ok(at) = vfs.resolve(root, root, p.as_bytes(), true) else {
            continue;
        };
        let (fstype, source) = (at.mount.fstype.clone(), at.mount.source.clone());
        vfs.mount_at(&at, at.dentry.inode.clone(), &fstype, &source, true)
            .map_err(|e| format!("making {p} read-only: {e}"))?;
    }
    Ok(())
}

/// Serves the control socket while init runs.
fn serve(listener: UnixListener, kernel: Arc<Kernel>) {
    for s in listener.incoming() {
        let Ok(s) = s else { continue };
        match control::read_request(&s) {
            Ok((Request::Start, _)) => {
                control::reply(&s, Err("the container has already been started".into()))
            }
            Ok((Request::Signal { sig, all, pid }, _)) => {
                let res = match pid {
                    Some(p) => deliver_to(&kernel, sig, p),
                    None => deliver(&kernel, sig, all),
                };
                control::reply(&s, res);
            }
            Ok((Request::Exec(p), fds)) => exec::start(&kernel, s, p, fds),
            Ok((Request::Limits { pids }, _)) => {
                if let Some(p) = pids {
                    kernel.set_task_limit(u64::try_from(p).ok().filter(|n| *n > 0));
                }
                control::reply(&s, Ok(()));
            }
            Err(e) => control::reply(&s, Err(format!("{e:#}"))),
        }
    }
}

/// Delivers `sig` to the process `pid` of the sandbox (an exec'd one, from
/// its proxy).
fn deliver_to(kernel: &Arc<Kernel>, sig: i32, pid: i32) -> Result<(), String> {
    if !(0..=64).contains(&sig) {
        return Err(format!("invalid signal {sig}"));
    }
    let g = kernel
        .group(pid)
        .ok_or_else(|| format!("no process {pid} in the sandbox"))?;
    if sig != 0 {
        send_to_group(&g, Siginfo::kill(sig, SI_USER, 0, 0));
    }
    Ok(())
}

/// Delivers `sig` to init (or every process) as a signal from outside the
/// sandbox's pid namespace: init only gets signals it handles, plus
/// SIGKILL and SIGSTOP, like the init of a Linux pid namespace.
fn deliver(kernel: &Arc<Kernel>, sig: i32, all: bool) -> Result<(), String> {
    if !(0..=64).contains(&sig) {
        return Err(format!("invalid signal {sig}"));
    }
    if sig == libc::SIGWINCH {
        if let Some(term) = kernel.console() {
            // `run` forwards its terminal's resizes: the console follows
            // the host terminal (the workload gets SIGWINCH from it).
            sync_winsize(&term, 0);
            return Ok(());
        }
    }
    let targets = if all {
        kernel.groups()
    } else {
        kernel.group(1).into_iter().collect()
    };
    if !targets.iter().any(|g| g.tgid == 1) {
        if sig == libc::SIGKILL {
            // init is not there yet (or any more): end the sandbox.
            exit_container(128 + sig);
        }
        if !all {
            return Err("the container's init process is not running".into());
        }
    }
    for g in targets {
        if g.tgid == 1 && sig != libc::SIGKILL && sig != libc::SIGSTOP && sig != 0 {
            let handled = g
                .actions
                .lock()
                .map(|a| a[sig as usize].handler != SIG_DFL)
                .unwrap_or(false);
            if !handled {
                continue;
            }
        }
        if sig != 0 {
            send_to_group(&g, Siginfo::kill(sig, SI_USER, 0, 0));
        }
    }
    Ok(())
}

/// A close-on-exec copy of our descriptor `fd`.
fn dup(fd: i32) -> Result<OwnedFd> {
    let d = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
        .with_context(|| format!("duplicating descriptor {fd}"))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

/// The host side of the container's terminal: this process's stdin and
/// stdout.
struct HostConsole {
    /// A signalfd for SIGWINCH when stdin is our controlling terminal.
    signals: Option<OwnedFd>,
    /// Settings to put back when the terminal is the caller's (`run`).
    saved: Option<libc::termios>,
}

impl HostConsole {
    fn take() -> Result<HostConsole> {
        // SAFETY: isatty/tcgetsid/getpid only inspect.
        let (tty, ours) = unsafe { (libc::isatty(0) == 1, libc::tcgetsid(0) == libc::getpid()) };
        let mut c = HostConsole {
            signals: None,
            saved: None,
        };
        if ours {
            // The host pty from `create`: already raw. Its hangup (the
            // console socket's peer went away) must not end us: the
            // console notices and hangs the emulated terminal up.
            // SAFETY: sets SIGHUP to SIG_IGN; blocks SIGWINCH in this
            // (the only) thread; signalfd reads the live mask.
            unsafe {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                let mut mask: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut mask);
                libc::sigaddset(&mut mask, libc::SIGWINCH);
                libc::pthread_sigmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
                let sfd = libc::signalfd(-1, &mask, libc::SFD_CLOEXEC);
                if sfd >= 0 {
                    c.signals = Some(OwnedFd::from_raw_fd(sfd));
                }
            }
        } else if tty {
            // SAFETY: termios is plain data; tcgetattr fills the live
            // local, tcsetattr reads the raw copy.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut t) == 0 {
                    let mut raw = t;
                    libc::cfmakeraw(&mut raw);
                    if libc::tcsetattr(0, libc::TCSANOW, &raw) == 0 {
                        c.saved = Some(t);
                    }
                }
            }
        }
        Ok(c)
    }

    /// The console for the sandbox; `size` is process.consoleSize (the
    /// host terminal's size, if there is one, wins).
    fn console(&self, size: Option<(u16, u16)>) -> Result<Console> {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(0) == 1 };
        Ok(Console {
            input: dup(0)?,
            output: dup(1)?,
            size: size.map(|(row, col)| Winsize {
                row,
                col,
                xpixel: 0,
                ypixel: 0,
            }),
            winsize: if tty { Some(dup(0)?) } else { None },
            signals: match &self.signals {
                Some(s) => Some(s.try_clone().context("signalfd")?),
                None => None,
            },
            on_signal: None,
        })
    }

    /// Puts the caller's terminal settings back.
    fn restore(&self) {
        if let Some(t) = &self.saved {
            // SAFETY: tcsetattr reads one termios from `t`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}
