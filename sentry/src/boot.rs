//! Boot: assembles a sandbox (mounts, stdio, the first process) and runs it
//! until its init process exits.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use rvisor_gofer::client::GoferClient;

use crate::fs::devfs::new_devfs;
use crate::fs::devpts::{new_devpts, TTY_GID};
use crate::fs::gofer::GoferInode;
use crate::fs::host::HostFile;
use crate::fs::overlay::new_overlay;
use crate::fs::procfs::new_procfs;
use crate::fs::sysfs::new_sysfs;
use crate::fs::tmpfs::Tmpfs;
use crate::fs::vfs::Vfs;
use crate::fs::vfs::MOUNT_FLAGS;
use crate::fs::{FdTable, OpenFile};
use crate::kernel::{Creds, ExitStatus, FsContext, Kernel, KernelConfig};
use crate::tty::bridge::{Bridge, Console};

/// The release string `uname -r` shows inside every sandbox.
pub const RELEASE: &str = "5.15.0-rvisor";
/// The version string `uname -v` shows.
pub const VERSION: &str = "#1 SMP rvisor";

/// What to run and how.
pub struct BootSpec {
    /// Program path (resolved inside the sandbox).
    pub path: Vec<u8>,
    /// argv.
    pub argv: Vec<Vec<u8>>,
    /// envp.
    pub envp: Vec<Vec<u8>>,
    /// Working directory inside the sandbox.
    pub cwd: Vec<u8>,
    /// Start in "/" if `cwd` does not exist inside the sandbox (e.g. the
    /// caller's directory is under /tmp, which the sandbox replaces).
    pub cwd_fallback: bool,
    /// Credentials of the first process.
    pub creds: Creds,
    /// Log every system call.
    pub strace: bool,
    /// Write strace lines here instead of stderr.
    pub strace_log: Option<std::fs::File>,
    /// Hostname.
    pub hostname: String,
    /// The sentry's end of the gofer connection for the root.
    pub gofer: OwnedFd,
    /// Whether the root is read-only.
    pub root_readonly: bool,
    /// The first process's descriptors 0, 1, 2, ….
    pub stdio: Vec<Stdio>,
    /// A console: an emulated terminal (`/dev/pts/0`, `/dev/console`,
    /// init's controlling terminal) bridged to these host descriptors.
    pub console: Option<Console>,
    /// The first process's umask, resource limits and no_new_privs, and
    /// the sandbox's domain name.
    pub process: ProcessSettings,
    /// Allow starting processes from outside later
    /// ([`Kernel::spawn_process`], for `exec`).
    pub spawning: bool,
    /// Serve internet sockets through host sockets in the network
    /// namespace this process runs in (false: EAFNOSUPPORT).
    pub inet: bool,
}

/// Settings of the first process beyond its command line.
#[derive(Debug, Clone)]
pub struct ProcessSettings {
    /// File mode creation mask.
    pub umask: u32,
    /// Resource limits, (resource, soft, hard).
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Start with no_new_privs set.
    pub no_new_privs: bool,
    /// The UTS domain name (None keeps "(none)").
    pub domainname: Option<String>,
    /// The process is a container's init: signals whose action is the
    /// default are dropped, as for a pid namespace's init.
    pub container_init: bool,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        ProcessSettings {
            umask: 0o022,
            rlimits: Vec::new(),
            no_new_privs: false,
            domainname: None,
            container_init: false,
        }
    }
}

/// One of the first process's standard descriptors.
pub enum Stdio {
    /// A host descriptor, passed through.
    Host(OwnedFd),
    /// The console terminal's slave (needs [`BootSpec::console`]).
    Console,
}

/// Errors that stop a sandbox from booting.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The gofer did not answer for the root.
    #[error("gofer root: {0}")]
    GoferRoot(crate::Errno),
    /// A mount could not be set up.
    #[error("mount {0}: {1}")]
    Mount(&'static str, crate::Errno),
    /// The working directory does not exist in the sandbox.
    #[error("working directory {0}: {1}")]
    Cwd(String, crate::Errno),
    /// A host resource could not be created.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn host_status_flags(fd: &OwnedFd) -> u32 {
    // SAFETY: F_GETFL only inspects the descriptor.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if fl < 0 {
        libc::O_RDWR as u32
    } else {
        (fl & (libc::O_ACCMODE | libc::O_APPEND | libc::O_NONBLOCK)) as u32
    }
}

/// An open file for a host descriptor given to the workload as one of its
/// standard descriptors.
fn host_stdio_file(fd: OwnedFd) -> Arc<OpenFile> {
    let flags = host_status_flags(&fd);
    OpenFile::new(HostFile::new_stdio(fd), flags, None)
}

/// A descriptor table holding `fds` (host descriptors: the caller's stdio
/// and any preserved ones) as descriptors 0, 1, 2, … in order.
pub fn stdio_table(fds: Vec<OwnedFd>) -> Arc<FdTable> {
    let files = FdTable::new();
    for (i, fd) in fds.into_iter().enumerate() {
        let _ = files.insert_at(
            i as i32,
            host_stdio_file(fd),
            false,
            crate::fs::fdtable::MAX_NOFILE,
        );
    }
    files
}

/// A descriptor table with the terminal `slave` as descriptors 0, 1 and 2
/// and the host descriptors `extra` as 3, 4, … (an exec'd process with a
/// terminal and preserved descriptors).
pub fn terminal_table(slave: &Arc<OpenFile>, extra: Vec<OwnedFd>) -> Arc<FdTable> {
    let files = FdTable::new();
    let max = crate::fs::fdtable::MAX_NOFILE;
    for i in 0..3 {
        let _ = files.insert_at(i, slave.clone(), false, max);
    }
    for (i, fd) in extra.into_iter().enumerate() {
        let _ = files.insert_at(3 + i as i32, host_stdio_file(fd), false, max);
    }
    files
}

/// Called once the sandbox is assembled (root, standard mounts, /proc, the
/// kernel), right before init starts: the OCI runtime adds the bundle's
/// extra mounts there, reports "created" and waits for `start`. An error
/// stops the boot; the working directory is resolved after it.
pub type StartGate = Box<dyn FnOnce(&Arc<Kernel>) -> std::io::Result<()> + Send>;

/// Boots the sandbox described by `spec` and returns init's exit status.
pub fn run(spec: BootSpec) -> Result<ExitStatus, BootError> {
    run_with_gate(spec, None)
}

/// [`run`] with an overlay root: the gofer root (read-only) below an
/// in-memory writable layer, so the workload may change any file while the
/// host's files stay as they are.
pub fn run_overlay(spec: BootSpec) -> Result<ExitStatus, BootError> {
    boot(spec, None, true)
}

/// [`run`], calling `start_gate` (if any) right before init starts.
pub fn run_with_gate(
    spec: BootSpec,
    start_gate: Option<StartGate>,
) -> Result<ExitStatus, BootError> {
    boot(spec, start_gate, false)
}

/// [`run_overlay`], calling `start_gate` (if any) right before init starts.
pub fn run_overlay_with_gate(
    spec: BootSpec,
    start_gate: Option<StartGate>,
) -> Result<ExitStatus, BootError> {
    boot(spec, start_gate, true)
}

fn boot(
    spec: BootSpec,
    start_gate: Option<StartGate>,
    overlay: bool,
) -> Result<ExitStatus, BootError> {
    crate::syscalls::process::record_ncpus();
    raise_nofile();
    let client = Arc::new(GoferClient::new(spec.gofer));
    let root_inode = GoferInode::root(client, spec.root_readonly).map_err(BootError::GoferRoot)?;
    let vfs = Vfs::new();
    let root = if overlay {
        let upper = Tmpfs::new(DEV_OVERLAY, 0o755, 0, 0, None);
        let ovl = new_overlay(root_inode, upper, DEV_OVERLAY);
        vfs.mount_root(ovl, "overlay", "overlay", false)
    } else {
        vfs.mount_root(root_inode, "9p", "/", spec.root_readonly)
    };
    mount_standard(&vfs, &root, spec.console.is_some())?;
    let config = KernelConfig {
        strace: spec.strace,
        strace_log: spec.strace_log.map(|f| Arc::new(std::sync::Mutex::new(f))),
        release: RELEASE.into(),
        version: VERSION.into(),
        init_rlimits: spec.process.rlimits.clone(),
        init_no_new_privs: spec.process.no_new_privs,
        init_unkillable: spec.process.container_init,
        inet: spec.inet,
        unprivileged_port_start: std::fs::read_to_string(
            "/proc/sys/net/ipv4/ip_unprivileged_port_start",
        )
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1024),
    };
    if spec.inet {
        // Routing netlink requests of the workload go to a host socket
        // opened now, in the sandbox's network namespace: the sentry's
        // seccomp filter allows no netlink socket later.
        if let Err(e) = crate::net::netlink::open_host() {
            tracing::warn!("no routing netlink for the workload: {e}");
        }
    }
    let kernel = Kernel::new(vfs.clone(), config, spec.hostname);
    if let Some(d) = &spec.process.domainname {
        if let Ok(mut g) = kernel.domainname.lock() {
            g.clone_from(d);
        }
    }
    if spec.spawning {
        kernel.enable_spawning()?;
    }
    let proc_dir = vfs
        .resolve(&root, &root, b"/proc", true)
        .map_err(|e| BootError::Mount("/proc", e))?;
    vfs.mount_at_with_flags(
        &proc_dir,
        new_procfs(Arc::downgrade(&kernel), DEV_PROC),
        "proc",
        "proc",
        false,
        MOUNT_FLAGS,
    )
    .map_err(|e| BootError::Mount("/proc", e))?;
    let pts_mount = |e| BootError::Mount("/dev/pts", e);
    let pts_dir = vfs
        .resolve(&root, &root, b"/dev/pts", true)
        .map_err(pts_mount)?;
    let (pts, pts_root) = new_devpts(DEV_PTS, Arc::downgrade(&kernel));
    vfs.mount_at(&pts_dir, pts_root, "devpts", "devpts", false)
        .map_err(pts_mount)?;
    pts.set_mount(
        vfs.resolve(&root, &root, b"/dev/pts", true)
            .map_err(pts_mount)?,
    );
    kernel.set_devpts(pts.clone());

    // The console: pty 0, its slave open for init, its master bridged to
    // the host.
    let mut console_file = None;
    let mut bridge = None;
    if let Some(c) = spec.console {
        let (master, slave) = pts.open_pair(spec.creds.uid, TTY_GID).map_err(pts_mount)?;
        console_file = Some(slave);
        kernel.set_console(master.terminal().clone());
        bridge = Some(Bridge::start(c, master)?);
    }
    let files = FdTable::new();
    for (i, s) in spec.stdio.into_iter().enumerate() {
        let file = match s {
            Stdio::Host(fd) => host_stdio_file(fd),
            Stdio::Console => match &console_file {
                Some(f) => f.clone(),
                None => continue,
            },
        };
        let _ = files.insert_at(i as i32, file, false, crate::fs::fdtable::MAX_NOFILE);
    }
    drop(console_file);
    if let Some(gate) = start_gate {
        gate(&kernel)?;
    }
    let cwd = match vfs.resolve(&root, &root, &spec.cwd, true) {
        Ok(c) => c,
        Err(e) if spec.cwd_fallback => {
            tracing::warn!(
                "working directory {} is not in the sandbox ({e}); starting in /",
                String::from_utf8_lossy(&spec.cwd)
            );
            root.clone()
        }
        Err(e) => {
            return Err(BootError::Cwd(
                String::from_utf8_lossy(&spec.cwd).into_owned(),
                e,
            ))
        }
    };

    let fs = FsContext {
        root: root.clone(),
        cwd,
        umask: spec.process.umask & 0o777,
    };
    let _init = kernel.start_init(fs, files, spec.creds, spec.path, spec.argv, spec.envp)?;
    let status = kernel.wait_init();
    if let Some(b) = bridge {
        b.finish(std::time::Duration::from_secs(2));
    }
    Ok(status)
}

/// Device numbers of the sandbox's own file systems (as /proc/PID/maps
/// and stat show them).
const DEV_TMP: u64 = 0x2a;
const DEV_DEV: u64 = 0x05;
const DEV_PROC: u64 = 0x16;
const DEV_OVERLAY: u64 = 0x2b;
const DEV_PTS: u64 = 0x18;
const DEV_SYS: u64 = 0x15;

/// Mounts the sandbox's own /tmp and /dev over the root (/proc and
/// /dev/pts follow once the kernel exists); `console` adds /dev/console.
fn mount_standard(
    vfs: &Arc<Vfs>,
    root: &crate::fs::vfs::Location,
    console: bool,
) -> Result<(), BootError> {
    let tmp = vfs
        .resolve(root, root, b"/tmp", true)
        .map_err(|e| BootError::Mount("/tmp", e))?;
    vfs.mount_at(
        &tmp,
        Tmpfs::new(DEV_TMP, 0o1777, 0, 0, None),
        "tmpfs",
        "tmpfs",
        false,
    )
    .map_err(|e| BootError::Mount("/tmp", e))?;
    let dev = vfs
        .resolve(root, root, b"/dev", true)
        .map_err(|e| BootError::Mount("/dev", e))?;
    vfs.mount_at(&dev, new_devfs(DEV_DEV, console), "devtmpfs", "dev", false)
        .map_err(|e| BootError::Mount("/dev", e))?;
    // /sys only where the root has a place for it.
    if let Ok(sys) = vfs.resolve(root, root, b"/sys", true) {
        if sys.attr().map(|a| a.is_dir()).unwrap_or(false) {
            let tree = new_sysfs(DEV_SYS, crate::syscalls::process::ncpus())
                .map_err(|e| BootError::Mount("/sys", e))?;
            vfs.mount_at_with_flags(&sys, tree, "sysfs", "sysfs", true, MOUNT_FLAGS)
                .map_err(|e| BootError::Mount("/sys", e))?;
        }
    }
    Ok(())
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit: the sentry
/// keeps host fds for cached read-only files, eventfds per task and the
/// workload's stdio, far more than the usual soft limit of 1024.
pub fn raise_nofile() {
    // SAFETY: rlimit is plain data; getrlimit/setrlimit read and write a
    // live local.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}
