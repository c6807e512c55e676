//! Reading a bundle's config.json: what rvisor supports, what it refuses
//! (with a message naming the setting), and the plan the boot process runs.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Hooks, LinuxNamespaceType, PosixRlimitType, Spec};
use rvisor_sentry::boot::ProcessSettings;
use rvisor_sentry::kernel::caps::{self, OciSets};
use rvisor_sentry::kernel::Creds;

/// PATH used when the process has none (runc's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A mount the boot process adds on top of the sentry's standard ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraMount {
    /// A fresh tmpfs.
    Tmpfs {
        /// Destination inside the container.
        dest: PathBuf,
        /// Root directory mode.
        mode: u32,
        /// Size limit in bytes.
        size: Option<u64>,
        /// Mounted read-only.
        readonly: bool,
        /// MS_NOSUID/MS_NODEV/MS_NOEXEC from the options.
        flags: u64,
    },
    /// A read-only bind mount of a host directory (served by its own gofer).
    Bind {
        /// Destination inside the container.
        dest: PathBuf,
        /// Absolute host path (a directory or a file).
        source: PathBuf,
        /// Whether the source is a directory.
        dir: bool,
        /// Mounted read-only (writes give EROFS).
        readonly: bool,
        /// MS_NOSUID/MS_NODEV/MS_NOEXEC from the options.
        flags: u64,
    },
}

impl ExtraMount {
    /// Destination inside the container.
    pub fn dest(&self) -> &Path {
        match self {
            ExtraMount::Tmpfs { dest, .. } | ExtraMount::Bind { dest, .. } => dest,
        }
    }
}

/// Everything the boot process needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Absolute, canonical root file system directory.
    pub rootfs: PathBuf,
    /// root.readonly.
    pub readonly: bool,
    /// process.args.
    pub args: Vec<String>,
    /// process.env.
    pub env: Vec<String>,
    /// process.cwd.
    pub cwd: PathBuf,
    /// process.user.uid.
    pub uid: u32,
    /// process.user.gid.
    pub gid: u32,
    /// process.user.additionalGids.
    pub groups: Vec<u32>,
    /// hostname.
    pub hostname: Option<String>,
    /// Mounts to add in the sandbox, in order.
    pub mounts: Vec<ExtraMount>,
    /// Settings accepted but not applied (logged as warnings).
    pub ignored: Vec<String>,
    /// annotations.
    pub annotations: BTreeMap<String, String>,
    /// Lifecycle hooks (see [`super::hooks`]).
    pub hooks: Hooks,
    /// The host network namespace the sandbox process lives in.
    pub netns: NetNs,
    /// umask, rlimits, noNewPrivileges and domainname.
    pub process: ProcessSettings,
    /// linux.maskedPaths: hidden inside the sandbox (an empty read-only
    /// directory or /dev/null mounted over them).
    pub masked_paths: Vec<String>,
    /// linux.readonlyPaths: made read-only inside the sandbox.
    pub readonly_paths: Vec<String>,
    /// linux.resources (applied to the sandbox's cgroup).
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// linux.cgroupsPath.
    pub cgroups_path: Option<PathBuf>,
    /// process.capabilities (None: Linux's defaults for the user).
    pub caps: Option<OciSets>,
    /// process.terminal: the process runs on a terminal.
    pub terminal: bool,
    /// process.consoleSize as (rows, columns).
    pub console_size: Option<(u16, u16)>,
    /// linux.sysctl: only `net.*` keys, as (path below /proc/sys, value),
    /// written in the sandbox's own network namespace by [`apply_sysctls`].
    pub sysctls: Vec<(PathBuf, String)>,
}

impl Plan {
    /// The pids limit, if one is set (for the sentry's own task limit).
    pub fn pids_limit(&self) -> Option<u64> {
        self.resources
            .as_ref()?
            .pids()
            .as_ref()
            .map(|p| p.limit())
            .filter(|l| *l > 0)
            .map(|l| l as u64)
    }
}

/// The host network namespace of the sandbox process: the workload's
/// internet sockets are host sockets the sentry opens there (unless
/// `--network=host` keeps the runtime's, or `--network=none` has none);
/// docker's network hook configures interfaces in the namespace of the
/// container's pid, which must not be the host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNs {
    /// No network namespace in the spec: stay in the runtime's.
    Host,
    /// A new, empty one.
    New,
    /// Join the one at this path (a Kubernetes pod's).
    Join(PathBuf),
}

/// Loads `<bundle>/config.json` and checks it.
pub fn load(bundle: &Path) -> Result<Plan> {
    let path = bundle.join("config.json");
    let spec = Spec::load(&path).with_context(|| format!("loading {}", path.display()))?;
    check(&spec, bundle)
}

/// The `process` of the bundle's config.json (what `exec` takes its
/// defaults from).
pub fn load_process(bundle: &Path) -> Result<oci_spec::runtime::Process> {
    let path = bundle.join("config.json");
    let spec = Spec::load(&path).with_context(|| format!("loading {}", path.display()))?;
    spec.process()
        .clone()
        .with_context(|| format!("{} has no process", path.display()))
}

/// The hooks of the bundle's config.json (none if it cannot be read: the
/// bundle may be gone by the time `delete` runs).
pub fn load_hooks(bundle: &Path) -> Hooks {
    Spec::load(bundle.join("config.json"))
        .ok()
        .and_then(|s| s.hooks().clone())
        .unwrap_or_default()
}

/// Checks that the container's terminal can be provided the way runc
/// would: a detached container (`create`, `run -d`) with
/// `process.terminal` needs a console socket to send the pty master to;
/// a console socket without `process.terminal` is a mistake.
pub fn check_console(plan: &Plan, console_socket: bool, detached: bool) -> Result<()> {
    if plan.terminal && !console_socket && detached {
        bail!("process.terminal is true but no --console-socket was given: a detached container needs one to send its terminal to (set \"terminal\": false to use the caller's stdio)");
    }
    if !plan.terminal && console_socket {
        bail!("--console-socket was given but process.terminal is false");
    }
    Ok(())
}

fn check(spec: &Spec, bundle: &Path) -> Result<Plan> {
    let mut ignored = Vec::new();
    let v = spec.version();
    if !v.starts_with("1.") {
        bail!("unsupported ociVersion {v:?}: rvisor supports 1.0.0 to 1.2.x");
    }

    let Some(root) = spec.root() else {
        bail!("config.json has no root");
    };
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&rootfs)
        .with_context(|| format!("root.path {}", rootfs.display()))?;
    if !rootfs.is_dir() {
        bail!("root.path {} is not a directory", rootfs.display());
    }
    let readonly = root.readonly().unwrap_or(false);

    let Some(process) = spec.process() else {
        bail!("config.json has no process");
    };
    let terminal = process.terminal().unwrap_or(false);
    let console_size = process.console_size().map(|b| {
        (
            b.height().min(u16::MAX as u64) as u16,
            b.width().min(u16::MAX as u64) as u16,
        )
    });
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        bail!("process.args is empty");
    }
    if process.command_line().is_some() {
        bail!("process.commandLine (Windows) is not supported");
    }
    if !process.cwd().is_absolute() {
        bail!(
            "process.cwd {:?} must be an absolute path",
            process.cwd().display()
        );
    }
    let user = process.user();
    let mut settings = ProcessSettings {
        umask: user.umask().unwrap_or(0o022) & 0o777,
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        domainname: spec.domainname().clone().filter(|d| !d.is_empty()),
        container_init: true,
        ..Default::default()
    };
    for r in process.rlimits().as_deref().unwrap_or_default() {
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits: {:?} soft limit above the hard limit",
                r.typ()
            );
        }
        settings
            .rlimits
            .push((rlimit_number(r.typ()), r.soft(), r.hard()));
    }
    if process.apparmor_profile().is_some() || process.selinux_label().is_some() {
        ignored.push("process.apparmorProfile / selinuxLabel".into());
    }
    if process.oom_score_adj().is_some() {
        ignored.push("process.oomScoreAdj".into());
    }

    let hooks = spec.hooks().clone().unwrap_or_default();
    if hooks
        .start_container()
        .as_ref()
        .is_some_and(|v| !v.is_empty())
    {
        bail!("hooks.startContainer: rvisor cannot run host programs inside the sandbox");
    }

    let mut mounts = Vec::new();
    for m in spec.mounts().as_deref().unwrap_or_default() {
        if let Some(x) = check_mount(m, bundle, &mut ignored)? {
            mounts.push(x);
        }
    }

    let mut netns = NetNs::Host;
    let mut resources = None;
    let mut cgroups_path = None;
    let mut masked_paths = Vec::new();
    let mut readonly_paths = Vec::new();
    let mut sysctls = Vec::new();
    if let Some(linux) = spec.linux() {
        let mut have = Vec::new();
        for ns in linux.namespaces().as_deref().unwrap_or_default() {
            match (ns.typ(), ns.path()) {
                (LinuxNamespaceType::Network, Some(p)) => netns = NetNs::Join(p.clone()),
                (LinuxNamespaceType::Network, None) => netns = NetNs::New,
                (LinuxNamespaceType::User, _) | (LinuxNamespaceType::Cgroup, _) => {}
                (t, Some(p)) => ignored.push(format!(
                    "linux.namespaces: the {t:?} namespace at {} is not joined (the sandbox emulates its own)",
                    p.display()
                )),
                (_, None) => {}
            }
            have.push(ns.typ());
        }
        for t in [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Ipc,
        ] {
            if !have.contains(&t) {
                ignored.push(format!(
                    "no {t:?} namespace requested: the sandbox always has its own"
                ));
            }
        }
        resources = linux.resources().clone();
        cgroups_path = linux.cgroups_path().clone();
        if let Some(r) = &resources {
            if r.block_io().is_some()
                || r.hugepage_limits().is_some()
                || r.network().is_some()
                || r.rdma().is_some()
            {
                ignored
                    .push("linux.resources: only memory, pids and cpu limits are applied".into());
            }
        }
        if linux.seccomp().is_some() {
            ignored.push("linux.seccomp (the sentry serves system calls itself)".into());
        }
        for (key, value) in linux.sysctl().as_ref().into_iter().flatten() {
            sysctls.push(check_sysctl(key, value, &netns)?);
        }
        if linux.devices().as_ref().is_some_and(|d| !d.is_empty()) {
            ignored.push("linux.devices (the sandbox's /dev is fixed)".into());
        }
        masked_paths = linux.masked_paths().clone().unwrap_or_default();
        readonly_paths = linux.readonly_paths().clone().unwrap_or_default();
    }

    Ok(Plan {
        rootfs,
        readonly,
        args,
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().clone(),
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        mounts,
        ignored,
        hooks,
        netns,
        process: settings,
        masked_paths,
        readonly_paths,
        resources,
        cgroups_path,
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        terminal,
        console_size,
        sysctls,
        caps: capability_sets(process),
    })
}

/// The Linux resource number of an OCI rlimit type.
fn rlimit_number(t: PosixRlimitType) -> u32 {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Parses a tmpfs `size=` value (bytes, or with k/m/g suffix).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn check_mount(
    m: &oci_spec::runtime::Mount,
    bundle: &Path,
    ignored: &mut Vec<String>,
) -> Result<Option<ExtraMount>> {
    let dest = m.destination();
    let typ = m.typ().clone().unwrap_or_default();
    let opts: Vec<String> = m.options().clone().unwrap_or_default();
    let has = |o: &str| opts.iter().any(|x| x == o);
    let name = format!("mount {} (type {typ:?})", dest.display());
    if !dest.is_absolute() || dest.components().any(|c| c == Component::ParentDir) {
        bail!("{name}: the destination must be an absolute path without \"..\"");
    }
    let d = dest.as_os_str().as_bytes();
    let d = if d.len() > 1 {
        d.strip_suffix(b"/").unwrap_or(d)
    } else {
        d
    };
    let is_bind = typ == "bind" || has("bind") || has("rbind");
    if is_bind {
        let Some(src) = m.source() else {
            bail!("{name}: a bind mount needs a source");
        };
        let src = if src.is_absolute() {
            src.clone()
        } else {
            bundle.join(src)
        };
        let md =
            std::fs::metadata(&src).with_context(|| format!("{name}: source {}", src.display()))?;
        if !md.is_dir() && !md.is_file() {
            bail!(
                "{name}: only directories and regular files can be bind-mounted ({} is neither)",
                src.display()
            );
        }
        if d == b"/" || d == b"/proc" || d == b"/dev" || d.starts_with(b"/proc/") {
            bail!("{name}: a bind mount cannot replace {}", dest.display());
        }
        if d == b"/dev/shm" {
            // docker binds a per-container host directory here; the sandbox
            // keeps its own /dev/shm (a tmpfs whose mapped files are memfds),
            // which is what POSIX shared memory inside it needs.
            ignored.push(format!("{name}: /dev/shm stays the sandbox's own tmpfs"));
            return Ok(None);
        }
        if d.starts_with(b"/dev/") {
            bail!("{name}: only the sandbox's own file systems can be under /dev");
        }
        let source = std::fs::canonicalize(&src)
            .with_context(|| format!("{name}: source {}", src.display()))?;
        return Ok(Some(ExtraMount::Bind {
            dest: dest.clone(),
            source,
            dir: md.is_dir(),
            readonly: has("ro"),
            flags: mount_flags(&opts),
        }));
    }
    match typ.as_str() {
        "proc" if d == b"/proc" => Ok(None),
        "proc" => bail!("{name}: proc is only supported at /proc"),
        // The sentry mounts its own read-only sysfs at /sys.
        "sysfs" if d == b"/sys" => Ok(None),
        "mqueue" if d == b"/dev/mqueue" => {
            ignored.push(format!("{name}: no POSIX message queues in the sandbox yet"));
            Ok(None)
        }
        "devpts" if d == b"/dev/pts" => Ok(None),
        "cgroup" | "cgroup2" if d == b"/sys/fs/cgroup" => {
            ignored.push(format!("{name}: the sandbox has no cgroup file system"));
            Ok(None)
        }
        "sysfs" | "mqueue" | "devpts" | "cgroup" | "cgroup2" => {
            bail!("{name}: {typ} is only supported at its standard place")
        }
        // The sentry's own /dev (devices, /dev/shm, /dev/pts) and /tmp.
        "tmpfs" if d == b"/dev" || d == b"/dev/shm" || d == b"/tmp" => Ok(None),
        "tmpfs" => {
            let mut mode = 0o1777;
            let mut size = None;
            for o in &opts {
                if let Some(v) = o.strip_prefix("mode=") {
                    mode = u32::from_str_radix(v, 8)
                        .with_context(|| format!("{name}: bad option {o:?}"))?;
                } else if let Some(v) = o.strip_prefix("size=") {
                    size = Some(parse_size(v).with_context(|| format!("{name}: bad option {o:?}"))?);
                }
            }
            if d.starts_with(b"/dev/") || d.starts_with(b"/proc/") {
                bail!("{name}: only the sandbox's own file systems can be under /dev and /proc");
            }
            Ok(Some(ExtraMount::Tmpfs {
                dest: dest.clone(),
                mode: mode & 0o7777,
                size,
                readonly: has("ro"),
                flags: mount_flags(&opts),
            }))
        }
        _ => bail!("{name} is not supported (rvisor supports proc, sysfs, tmpfs, devpts, mqueue, cgroup and bind mounts)"),
    }
}

/// The MS_NOSUID/MS_NODEV/MS_NOEXEC flags that mount options ask for (a
/// later "suid", "dev" or "exec" undoes its "no" form, as with mount(8)).
fn mount_flags(opts: &[String]) -> u64 {
    let mut f = 0;
    for o in opts {
        match o.as_str() {
            "nosuid" => f |= libc::MS_NOSUID,
            "suid" => f &= !libc::MS_NOSUID,
            "nodev" => f |= libc::MS_NODEV,
            "dev" => f &= !libc::MS_NODEV,
            "noexec" => f |= libc::MS_NOEXEC,
            "exec" => f &= !libc::MS_NOEXEC,
            _ => {}
        }
    }
    f
}

/// What [`resolve_in_root`] creates when a component is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Nothing: a missing component gives `Ok(None)`.
    Nothing,
    /// Every missing component as a directory (mode 0755).
    Dirs,
    /// Missing directories, and the last component as an empty file (the
    /// mountpoint of a file bind mount).
    DirsAndFile,
}

/// Resolves `path` (absolute, as the container sees it) to a host path under
/// `rootfs`, following symlinks inside the rootfs (never out of it),
/// creating what `create` says. Returns None if a component is missing and
/// `create` is [`Create::Nothing`].
pub fn resolve_in_root(rootfs: &Path, path: &Path, create: Create) -> Result<Option<PathBuf>> {
    let mut todo: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::new(); // relative to rootfs
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let host = rootfs.join(&next);
        match std::fs::symlink_metadata(&host) {
            Ok(md) if md.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    bail!("too many symlinks resolving {}", path.display());
                }
                let target = std::fs::read_link(&host)?;
                if target.is_absolute() {
                    cur = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => todo.push(n.to_os_string()),
                        Component::ParentDir => todo.push("..".into()),
                        _ => {}
                    }
                }
            }
            Ok(_) => cur = next,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if create == Create::Nothing {
                    return Ok(None);
                }
                if create == Create::DirsAndFile && todo.is_empty() {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .open(&host)
                        .with_context(|| format!("creating {}", host.display()))?;
                } else {
                    std::fs::DirBuilder::new()
                        .mode(0o755)
                        .create(&host)
                        .with_context(|| format!("creating {}", host.display()))?;
                }
                cur = next;
            }
            Err(e) => return Err(e).with_context(|| format!("{}", host.display())),
        }
    }
    Ok(Some(rootfs.join(cur)))
}

/// Finds the program to run the way runc does: `args[0]` as given if it
/// contains '/', else the first executable file named so in the process's
/// `process.capabilities` as masks; None when the spec has none (the
/// process then gets Linux's defaults: everything for root, nothing for
/// other users).
pub fn capability_sets(process: &oci_spec::runtime::Process) -> Option<OciSets> {
    let c = process.capabilities().as_ref()?;
    let mask = |set: &Option<oci_spec::runtime::Capabilities>| -> u64 {
        set.iter()
            .flatten()
            .filter_map(|cap| caps::from_name(&format!("CAP_{cap}")))
            .fold(0, |m, n| m | caps::bit(n))
    };
    Some(OciSets {
        bounding: mask(c.bounding()),
        effective: mask(c.effective()),
        permitted: mask(c.permitted()),
        inheritable: mask(c.inheritable()),
        ambient: mask(c.ambient()),
    })
}

/// The credentials of a process started as `uid`/`gid` with the spec's
/// capability sets (or Linux's defaults without them).
pub fn creds(uid: u32, gid: u32, groups: Vec<u32>, sets: Option<&OciSets>) -> Creds {
    let mut c = Creds::new(uid, gid, groups);
    if let Some(s) = sets {
        c.caps = caps::Caps::after_runtime_exec(s, uid);
    }
    c
}

/// Checks one linux.sysctl entry. Only `net.*` keys are accepted, and only
/// with a network namespace of the container's own: the sentry's sockets
/// are host sockets in that namespace, so these settings take effect there
/// (as under runc). Everything else (`kernel.*` IPC limits, `fs.mqueue.*`)
/// describes kernel state the sandbox does not emulate and is refused.
fn check_sysctl(key: &str, value: &str, netns: &NetNs) -> Result<(PathBuf, String)> {
    let rel = key.replace('.', "/");
    let ok_chars = rel
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-/".contains(&b));
    if !ok_chars || rel.split('/').any(|c| c.is_empty()) {
        bail!("linux.sysctl: invalid key {key:?}");
    }
    if !key.starts_with("net.") {
        bail!("linux.sysctl {key}: not supported (rvisor applies only net.* sysctls)");
    }
    if *netns == NetNs::Host {
        bail!("linux.sysctl {key}: net.* sysctls need the container's own network namespace");
    }
    if value.contains('\n') {
        bail!("linux.sysctl {key}: invalid value {value:?}");
    }
    Ok((PathBuf::from(rel), value.to_owned()))
}

/// Writes the accepted linux.sysctl settings under `/proc/sys` of the
/// calling process's network namespace (the boot process's, before the
/// sandbox starts).
pub fn apply_sysctls(sysctls: &[(PathBuf, String)]) -> Result<()> {
    for (rel, value) in sysctls {
        let path = Path::new("/proc/sys").join(rel);
        std::fs::write(&path, value.as_bytes()).with_context(|| {
            format!(
                "linux.sysctl {}: writing {value:?} to {}",
                rel.display().to_string().replace('/', "."),
                path.display()
            )
        })?;
    }
    Ok(())
}

/// PATH, looked up inside the rootfs.
pub fn find_program(plan: &Plan) -> Result<Vec<u8>> {
    let arg0 = &plan.args[0];
    if arg0.contains('/') {
        return Ok(arg0.as_bytes().to_vec());
    }
    let path = plan
        .env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let cand = Path::new(dir).join(arg0);
        if let Ok(Some(host)) = resolve_in_root(&plan.rootfs, &cand, Create::Nothing) {
            if let Ok(md) = std::fs::metadata(&host) {
                if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                    return Ok(cand.as_os_str().as_bytes().to_vec());
                }
            }
        }
    }
    bail!("exec: {arg0:?}: executable file not found in $PATH")
}

/// A default config.json (`rvisor spec`), runc's default without what
/// rvisor does not support (the cgroup mount).
pub fn default_spec(rootless: bool) -> serde_json::Value {
    let caps = serde_json::json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut namespaces = vec![
        serde_json::json!({"type": "pid"}),
        serde_json::json!({"type": "ipc"}),
        serde_json::json!({"type": "uts"}),
        serde_json::json!({"type": "mount"}),
        serde_json::json!({"type": "cgroup"}),
    ];
    if !rootless {
        namespaces.insert(1, serde_json::json!({"type": "network"}));
    }
    let mut devpts_opts = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !rootless {
        devpts_opts.push("gid=5");
    }
    let mut linux = serde_json::json!({
        "namespaces": namespaces,
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
        ],
        "readonlyPaths": [
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
        ]
    });
    if rootless {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        if let Some(l) = linux.as_object_mut() {
            if let Some(serde_json::Value::Array(ns)) = l.get_mut("namespaces") {
                ns.push(serde_json::json!({"type": "user"}));
            }
            l.insert(
                "uidMappings".into(),
                serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]),
            );
            l.insert(
                "gidMappings".into(),
                serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]),
            );
        }
    } else if let Some(l) = linux.as_object_mut() {
        l.insert(
            "resources".into(),
            serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]}),
        );
    }
    serde_json::json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [format!("PATH={DEFAULT_PATH}"), "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "rvisor",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": devpts_opts},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": linux
    })
}

/// `rvisor features`: what this runtime supports, in runc's format.
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "poststart", "poststop"],
        "mountOptions": [
            "ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec",
            "strictatime", "relatime", "noatime", "private", "rprivate"
        ],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": caps::CAP_NAMES.as_slice(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.rvisor.version": env!("CARGO_PKG_VERSION"),
            "io.github.rvisor.platform": "ptrace",
            "io.github.rvisor.network": "sandbox (default: the container's network namespace), host, none",
            "io.github.rvisor.mountTypes": "proc,sysfs(ignored),tmpfs,devpts,mqueue(ignored),cgroup(ignored),bind(directories and files, ro or rw)"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rvisor-spec-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("rootfs/bin")).expect("mkdir");
        d
    }

    #[test]
    fn default_spec_parses_and_checks() {
        let d = scratch("default");
        let v = default_spec(false);
        let spec: Spec = serde_json::from_value(v).expect("parses as an OCI spec");
        let plan = check(&spec, &d).expect("checks");
        assert!(plan.terminal);
        // terminal: true needs a console socket unless run in the
        // foreground.
        let err = check_console(&plan, false, true).expect_err("terminal");
        assert!(format!("{err}").contains("console-socket"), "{err}");
        check_console(&plan, true, true).expect("console socket");
        check_console(&plan, false, false).expect("foreground run");
        let mut v = default_spec(true);
        v["process"]["terminal"] = serde_json::json!(false);
        v["process"]["consoleSize"] = serde_json::json!({"height": 24, "width": 80});
        let spec: Spec = serde_json::from_value(v).expect("parses");
        let plan = check(&spec, &d).expect("checks");
        assert!(!plan.terminal);
        assert_eq!(plan.console_size, Some((24, 80)));
        assert!(check_console(&plan, true, true).is_err());
        assert_eq!(plan.args, vec!["sh".to_string()]);
        assert!(plan.readonly);
        assert!(plan.mounts.is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn mounts_checked() {
        let d = scratch("mounts");
        let mut v = default_spec(false);
        v["process"]["terminal"] = serde_json::json!(false);
        v["mounts"]
            .as_array_mut()
            .expect("array")
            .push(serde_json::json!({"destination": "/sys/fs/cgroup/x", "type": "cgroup", "source": "cgroup"}));
        let spec: Spec = serde_json::from_value(v.clone()).expect("parses");
        let err = format!("{:#}", check(&spec, &d).expect_err("cgroup"));
        assert!(err.contains("/sys/fs/cgroup"), "{err}");
        v["mounts"].as_array_mut().expect("array").pop();
        let host = d.join("hostfile");
        std::fs::write(&host, "x").expect("write");
        v["mounts"].as_array_mut().expect("array").push(serde_json::json!({"destination": "/data", "type": "bind", "source": "/", "options": ["rbind"]}));
        v["mounts"].as_array_mut().expect("array").push(serde_json::json!({"destination": "/etc/hosts", "type": "bind", "source": host, "options": ["rbind", "ro"]}));
        let spec: Spec = serde_json::from_value(v.clone()).expect("parses");
        let plan = check(&spec, &d).expect("binds");
        assert_eq!(
            plan.mounts,
            vec![
                ExtraMount::Bind {
                    dest: "/data".into(),
                    source: "/".into(),
                    dir: true,
                    readonly: false,
                    flags: 0
                },
                ExtraMount::Bind {
                    dest: "/etc/hosts".into(),
                    source: std::fs::canonicalize(&host).expect("canonicalize"),
                    dir: false,
                    readonly: true,
                    flags: 0
                }
            ]
        );
        v["mounts"].as_array_mut().expect("array").pop();
        v["mounts"].as_array_mut().expect("array").pop();
        v["mounts"].as_array_mut().expect("array").push(serde_json::json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755", "size=1m", "nosuid", "noexec"]}));
        let spec: Spec = serde_json::from_value(v).expect("parses");
        let plan = check(&spec, &d).expect("tmpfs");
        assert_eq!(
            plan.mounts,
            vec![ExtraMount::Tmpfs {
                dest: "/run".into(),
                mode: 0o755,
                size: Some(1 << 20),
                readonly: false,
                flags: libc::MS_NOSUID | libc::MS_NOEXEC
            }]
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn resolve_stays_inside() {
        let d = scratch("resolve");
        let r = d.join("rootfs");
        std::os::unix::fs::symlink("/etc", r.join("link")).expect("symlink");
        std::os::unix::fs::symlink("../../..", r.join("bin/up")).expect("symlink");
        let p = resolve_in_root(&r, Path::new("/link/x"), Create::Dirs)
            .expect("resolve")
            .expect("some");
        assert_eq!(p, r.join("etc/x"));
        assert!(p.is_dir());
        let p = resolve_in_root(&r, Path::new("/bin/up/etc"), Create::Nothing)
            .expect("resolve")
            .expect("some");
        assert_eq!(p, r.join("etc"));
        assert_eq!(
            resolve_in_root(&r, Path::new("/nope"), Create::Nothing).expect("resolve"),
            None
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536k"), Some(65536 << 10));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("x"), None);
    }
}
