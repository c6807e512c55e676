//! procfs: the sandbox's `/proc`, generated from the kernel's own state.
//!
//! Nothing here reads the host's `/proc` once the workload runs: processes,
//! mounts, limits and memory maps come from [`Kernel`]; `cpuinfo` is built
//! from the host's first CPU block read once when the file system is made.
//!
//! Files are generated when opened (and again when read at offset 0 after a
//! first read, as Linux's seq files do, so `lseek(0)` + `read` polls work);
//! reads are served from that snapshot. Everything is read-only except
//! `comm` (sets the task name) and `oom_score_adj` (remembered, no effect).
//!
//! `/proc/self` depends on who asks. [`Inode::readlink`] has no caller, so
//! every sentry thread records the task it runs with [`set_current`].

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::anon::{Epoll, EventFd};
use super::fdtable::FdEntry;
use super::pipe::PipeEnd;
use super::vfs::{Dentry, DirFile, Location, Mount};
use super::{
    Attr, DirEntry, FdTable, FileOps, Inode, IoctlIo, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
    S_IFREG, S_IFSOCK,
};
use crate::kernel::wait::WaitQueue;
use crate::kernel::{Creds, FsContext, Kernel, Task, ThreadGroup, RLIM_NLIMITS};
use crate::mm::{maps_line, Mm, Vma, VmaName, PAGE};
use crate::{Errno, SysResult};

/// Clock ticks per second (USER_HZ, AT_CLKTCK).
pub const HZ: u64 = 100;
/// Most bytes read from a process's memory for cmdline/environ.
const MAX_REMOTE: usize = 128 * 1024;
/// RLIM_INFINITY.
const RLIM_INFINITY: u64 = u64::MAX;
/// O_LARGEFILE on x86_64 (libc reports 0 there).
const O_LARGEFILE: u32 = 0o100000;
/// uid_map/gid_map of the (only) user namespace.
const ID_MAP: &str = "         0          0 4294967295\n";

thread_local! {
    /// (tgid, tid) of the task this sentry thread runs.
    static CURRENT: RefCell<Option<(i32, i32)>> = const { RefCell::new(None) };
}

/// Records that this sentry thread runs task `tid` of process `tgid`;
/// `/proc/self` and `/proc/thread-self` resolve from it. Call when a task's
/// thread starts, and again if its ids change (execve by a non-leader).
pub fn set_current(tgid: i32, tid: i32) {
    CURRENT.with(|c| *c.borrow_mut() = Some((tgid, tid)));
}

/// Forgets this thread's task.
pub fn clear_current() {
    CURRENT.with(|c| *c.borrow_mut() = None);
}

/// The (tgid, tid) recorded by [`set_current`] on this thread.
pub fn current() -> Option<(i32, i32)> {
    CURRENT.with(|c| *c.borrow())
}

fn lock<T>(m: &Mutex<T>) -> SysResult<MutexGuard<'_, T>> {
    m.lock().map_err(|_| Errno::EIO)
}

// ---------------------------------------------------------------------------
// The tree.

/// What a top-level generated file shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gen {
    CpuInfo,
    MemInfo,
    Stat,
    Uptime,
    LoadAvg,
    Version,
    Filesystems,
    Hostname,
    Domainname,
    OsRelease,
    KernelVersion,
    Uuid,
    BootId,
    Text(&'static str),
    /// net.ipv4.ip_unprivileged_port_start as the sandbox enforces it.
    UnprivilegedPortStart,
    /// A file of the host's /proc/net for the sandbox's network namespace
    /// (index into [`HOST_NET_FILES`]).
    HostNet(usize),
}

/// The /proc/net files shown when the sandbox has internet sockets: read
/// from the host's /proc/self/net of the sentry's network namespace
/// (descriptors opened at the boot-time mount, before the sentry's seccomp
/// filter), so they list the namespace's interfaces, routes and the
/// sockets the sentry holds for the workload.
const HOST_NET_FILES: [&str; 7] = ["dev", "if_inet6", "route", "tcp", "tcp6", "udp", "udp6"];
/// Most bytes one generated /proc/net file may have.
const HOST_NET_MAX: usize = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaticKind {
    Dir,
    File(Gen),
    Link(&'static str),
}

/// Fixed entries, by path below /proc (parents listed before children).
const STATIC: &[(&str, StaticKind)] = &[
    ("cpuinfo", StaticKind::File(Gen::CpuInfo)),
    ("filesystems", StaticKind::File(Gen::Filesystems)),
    ("loadavg", StaticKind::File(Gen::LoadAvg)),
    ("meminfo", StaticKind::File(Gen::MemInfo)),
    ("mounts", StaticKind::Link("self/mounts")),
    ("stat", StaticKind::File(Gen::Stat)),
    ("uptime", StaticKind::File(Gen::Uptime)),
    ("version", StaticKind::File(Gen::Version)),
    ("net", StaticKind::Dir),
    ("net/dev", StaticKind::File(Gen::HostNet(0))),
    ("net/if_inet6", StaticKind::File(Gen::HostNet(1))),
    ("net/route", StaticKind::File(Gen::HostNet(2))),
    ("net/tcp", StaticKind::File(Gen::HostNet(3))),
    ("net/tcp6", StaticKind::File(Gen::HostNet(4))),
    ("net/udp", StaticKind::File(Gen::HostNet(5))),
    ("net/udp6", StaticKind::File(Gen::HostNet(6))),
    ("sys", StaticKind::Dir),
    ("sys/fs", StaticKind::Dir),
    ("sys/fs/nr_open", StaticKind::File(Gen::Text("1048576\n"))),
    ("sys/kernel", StaticKind::Dir),
    (
        "sys/kernel/cap_last_cap",
        StaticKind::File(Gen::Text("40\n")),
    ),
    ("sys/kernel/domainname", StaticKind::File(Gen::Domainname)),
    ("sys/kernel/hostname", StaticKind::File(Gen::Hostname)),
    (
        "sys/kernel/ngroups_max",
        StaticKind::File(Gen::Text("65536\n")),
    ),
    ("sys/kernel/osrelease", StaticKind::File(Gen::OsRelease)),
    ("sys/kernel/ostype", StaticKind::File(Gen::Text("Linux\n"))),
    (
        "sys/kernel/pid_max",
        StaticKind::File(Gen::Text("4194304\n")),
    ),
    ("sys/kernel/random", StaticKind::Dir),
    ("sys/kernel/random/boot_id", StaticKind::File(Gen::BootId)),
    (
        "sys/kernel/random/entropy_avail",
        StaticKind::File(Gen::Text("256\n")),
    ),
    ("sys/kernel/random/uuid", StaticKind::File(Gen::Uuid)),
    ("sys/kernel/version", StaticKind::File(Gen::KernelVersion)),
    ("sys/net", StaticKind::Dir),
    ("sys/net/core", StaticKind::Dir),
    ("sys/net/ipv4", StaticKind::Dir),
    (
        "sys/net/ipv4/ip_unprivileged_port_start",
        StaticKind::File(Gen::UnprivilegedPortStart),
    ),
    (
        "sys/net/core/somaxconn",
        StaticKind::File(Gen::Text("4096\n")),
    ),
    ("sys/vm", StaticKind::Dir),
    (
        "sys/vm/max_map_count",
        StaticKind::File(Gen::Text("65530\n")),
    ),
    (
        "sys/vm/overcommit_memory",
        StaticKind::File(Gen::Text("0\n")),
    ),
];

/// The parent path of a static path ("" for top-level entries).
fn static_parent(p: &str) -> &str {
    p.rfind('/').map(|i| &p[..i]).unwrap_or("")
}

/// Entries of /proc/PID and /proc/PID/task/TID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PidKind {
    Auxv,
    Cgroup,
    Cmdline,
    Comm,
    Cwd,
    Environ,
    Exe,
    Fd,
    FdInfo,
    GidMap,
    Limits,
    LoginUid,
    Maps,
    MountInfo,
    Mounts,
    OomScore,
    OomScoreAdj,
    Root,
    SessionId,
    Setgroups,
    Stat,
    Statm,
    Status,
    Task,
    UidMap,
}

const PID_ENTRIES: &[(&str, PidKind)] = &[
    ("auxv", PidKind::Auxv),
    ("cgroup", PidKind::Cgroup),
    ("cmdline", PidKind::Cmdline),
    ("comm", PidKind::Comm),
    ("cwd", PidKind::Cwd),
    ("environ", PidKind::Environ),
    ("exe", PidKind::Exe),
    ("fd", PidKind::Fd),
    ("fdinfo", PidKind::FdInfo),
    ("gid_map", PidKind::GidMap),
    ("limits", PidKind::Limits),
    ("loginuid", PidKind::LoginUid),
    ("maps", PidKind::Maps),
    ("mountinfo", PidKind::MountInfo),
    ("mounts", PidKind::Mounts),
    ("oom_score", PidKind::OomScore),
    ("oom_score_adj", PidKind::OomScoreAdj),
    ("root", PidKind::Root),
    ("sessionid", PidKind::SessionId),
    ("setgroups", PidKind::Setgroups),
    ("stat", PidKind::Stat),
    ("statm", PidKind::Statm),
    ("status", PidKind::Status),
    ("task", PidKind::Task),
    ("uid_map", PidKind::UidMap),
];

impl PidKind {
    fn name(self) -> &'static str {
        PID_ENTRIES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
    fn is_dir(self) -> bool {
        matches!(self, PidKind::Fd | PidKind::FdInfo | PidKind::Task)
    }
    fn is_link(self) -> bool {
        matches!(self, PidKind::Exe | PidKind::Cwd | PidKind::Root)
    }
    fn writable(self) -> bool {
        matches!(self, PidKind::Comm | PidKind::OomScoreAdj)
    }
    /// Permission bits, as Linux has them.
    fn perm(self) -> u32 {
        match self {
            PidKind::Fd | PidKind::FdInfo => 0o500,
            PidKind::Task => 0o555,
            PidKind::Exe | PidKind::Cwd | PidKind::Root => 0o777,
            PidKind::Environ | PidKind::Auxv => 0o400,
            PidKind::Comm | PidKind::OomScoreAdj => 0o644,
            _ => 0o444,
        }
    }
}

/// Which process (and thread) a /proc/PID or /proc/PID/task/TID dir shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PidRef {
    tgid: i32,
    /// The thread; equal to `tgid` for /proc/PID.
    tid: i32,
    /// Reached through task/ (per-thread view, no task/ subdirectory).
    thread: bool,
}

impl PidRef {
    fn path(&self) -> String {
        if self.thread {
            format!("/{}/task/{}", self.tgid, self.tid)
        } else {
            format!("/{}", self.tid)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Root,
    SelfLink,
    ThreadSelfLink,
    Static(usize),
    PidDir(PidRef),
    PidEntry(PidRef, PidKind),
    Fd(PidRef, i32),
    FdInfo(PidRef, i32),
}

impl Node {
    fn path(&self) -> String {
        match self {
            Node::Root => "/".into(),
            Node::SelfLink => "/self".into(),
            Node::ThreadSelfLink => "/thread-self".into(),
            Node::Static(i) => format!("/{}", STATIC[*i].0),
            Node::PidDir(p) => p.path(),
            Node::PidEntry(p, k) => format!("{}/{}", p.path(), k.name()),
            Node::Fd(p, fd) => format!("{}/fd/{fd}", p.path()),
            Node::FdInfo(p, fd) => format!("{}/fdinfo/{fd}", p.path()),
        }
    }

    fn pid(&self) -> Option<PidRef> {
        match self {
            Node::PidDir(p) | Node::PidEntry(p, _) | Node::Fd(p, _) | Node::FdInfo(p, _) => {
                Some(*p)
            }
            _ => None,
        }
    }

    /// File type bits.
    fn ftype(&self) -> u32 {
        match self {
            Node::Root | Node::PidDir(_) => S_IFDIR,
            Node::SelfLink | Node::ThreadSelfLink | Node::Fd(..) => S_IFLNK,
            Node::Static(i) => match STATIC[*i].1 {
                StaticKind::Dir => S_IFDIR,
                StaticKind::File(_) => S_IFREG,
                StaticKind::Link(_) => S_IFLNK,
            },
            Node::PidEntry(_, k) if k.is_dir() => S_IFDIR,
            Node::PidEntry(_, k) if k.is_link() => S_IFLNK,
            Node::PidEntry(..) | Node::FdInfo(..) => S_IFREG,
        }
    }

    fn dtype(&self) -> u8 {
        super::mode_to_dtype(self.ftype())
    }
}

/// A stable inode number for a path (FNV-1a; 1 is the root's).
fn ino_of(path: &str) -> u64 {
    if path == "/" {
        return 1;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    if h < 2 {
        h + 2
    } else {
        h
    }
}

/// Parses a decimal id the way Linux's name_to_int does (no sign, no
/// leading zeros).
fn parse_id(name: &[u8]) -> Option<i32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    if !name.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse::<i32>().ok()
}

// ---------------------------------------------------------------------------
// The file system.

struct ProcFs {
    kernel: Weak<Kernel>,
    dev: u64,
    ncpus: usize,
    /// The host's first /proc/cpuinfo block: (raw key with padding, value).
    cpu_block: Vec<(String, String)>,
    boot_id: String,
    /// oom_score_adj written by processes (by tgid).
    oom_adj: Mutex<BTreeMap<i32, i32>>,
    /// Wall-clock time of the sandbox's boot, since the epoch.
    boot_wall: OnceLock<Duration>,
    /// The host's /proc/net files (by [`HOST_NET_FILES`] index), when the
    /// sandbox has internet sockets; without them there is no /proc/net.
    host_net: Option<Arc<Vec<Option<std::fs::File>>>>,
}

/// Makes the /proc file system: mount the returned root at /proc.
pub fn new_procfs(kernel: Weak<Kernel>, dev: u64) -> Arc<dyn Inode> {
    // Host facts are read once, at the first (boot-time) mount: a proc
    // mounted later from inside the sandbox runs under the sentry's seccomp
    // filter, which allows no opening of host files.
    static HOST_CPU: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let cpu_block = HOST_CPU
        .get_or_init(|| {
            parse_cpu_block(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
        })
        .clone();
    static HOST_NET: OnceLock<Option<Arc<Vec<Option<std::fs::File>>>>> = OnceLock::new();
    let inet = kernel.upgrade().is_some_and(|k| k.config.inet);
    let host_net = HOST_NET
        .get_or_init(|| {
            inet.then(|| {
                Arc::new(
                    HOST_NET_FILES
                        .iter()
                        .map(|n| std::fs::File::open(format!("/proc/self/net/{n}")).ok())
                        .collect(),
                )
            })
        })
        .clone()
        .filter(|_| inet);
    let fs = Arc::new(ProcFs {
        host_net,
        kernel,
        dev,
        ncpus: crate::syscalls::process::ncpus().clamp(1, 1024),
        cpu_block,
        boot_id: uuid_string(&random16()),
        oom_adj: Mutex::new(BTreeMap::new()),
        boot_wall: OnceLock::new(),
    });
    Arc::new(ProcInode {
        fs,
        node: Node::Root,
    })
}

/// Subject of a per-process file: the process and the thread it shows
/// (None for a zombie whose threads are gone).
struct Subject {
    kernel: Arc<Kernel>,
    tg: Arc<ThreadGroup>,
    task: Option<Arc<Task>>,
}

/// What procfs copies out of a task's shared state.
struct TaskSnap {
    tid: i32,
    comm: Vec<u8>,
    sigmask: u64,
    pending: u64,
    mm: Arc<Mm>,
    files: Arc<FdTable>,
    fs: Arc<Mutex<FsContext>>,
}

fn snap_task(t: &Task) -> SysResult<TaskSnap> {
    let i = lock(&t.inner)?;
    Ok(TaskSnap {
        tid: t.tid,
        comm: i.comm.clone(),
        sigmask: i.sigmask,
        pending: i.pending.mask(),
        mm: i.mm.clone(),
        files: i.files.clone(),
        fs: i.fs.clone(),
    })
}

impl ProcFs {
    fn kernel(&self) -> SysResult<Arc<Kernel>> {
        self.kernel.upgrade().ok_or(Errno::ENOENT)
    }

    fn boot_wall(&self, k: &Kernel) -> Duration {
        *self.boot_wall.get_or_init(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            now.saturating_sub(k.boot.elapsed())
        })
    }

    fn subject(&self, p: PidRef) -> SysResult<Subject> {
        let kernel = self.kernel()?;
        let tg = kernel.group(p.tgid).ok_or(Errno::ENOENT)?;
        let task = if p.thread || p.tid != p.tgid {
            let t = kernel
                .task(p.tid)
                .filter(|t| t.tg.tgid == p.tgid)
                .ok_or(Errno::ENOENT)?;
            Some(t)
        } else {
            let threads = lock(&tg.inner)?.threads.clone();
            threads
                .iter()
                .find(|t| t.tid == p.tgid)
                .or(threads.first())
                .cloned()
        };
        Ok(Subject { kernel, tg, task })
    }

    /// The caller's root directory (for printing paths), else `fallback`'s,
    /// else the root of the first mount.
    fn caller_root(&self, k: &Kernel, fallback: Option<&Task>) -> Option<Location> {
        let from_task = |t: &Task| -> Option<Location> {
            let fs = t.inner.lock().ok()?.fs.clone();
            let r = fs.lock().ok()?.root.clone();
            Some(r)
        };
        if let Some((_, tid)) = current() {
            if let Some(r) = k.task(tid).and_then(|t| from_task(&t)) {
                return Some(r);
            }
        }
        if let Some(r) = fallback.and_then(from_task) {
            return Some(r);
        }
        k.vfs.root()
    }

    /// Owner and time of a per-process node.
    fn pid_owner(&self, p: PidRef) -> SysResult<(u32, u32, Duration)> {
        let s = self.subject(p)?;
        let g = lock(&s.tg.inner)?;
        let (uid, gid) = if g.dumpable {
            (g.creds.euid, g.creds.egid)
        } else {
            (0, 0)
        };
        drop(g);
        let start = s.tg.start.saturating_duration_since(s.kernel.boot);
        Ok((uid, gid, self.boot_wall(&s.kernel) + start))
    }

    /// The descriptor `fd` of the thread `p` shows.
    fn fd_entry(&self, p: PidRef, fd: i32) -> SysResult<FdEntry> {
        let s = self.subject(p)?;
        let t = s.task.ok_or(Errno::ENOENT)?;
        let files = lock(&t.inner)?.files.clone();
        files.get_entry(fd).map_err(|_| Errno::ENOENT)
    }

    fn fds(&self, p: PidRef) -> SysResult<Vec<(i32, FdEntry)>> {
        let s = self.subject(p)?;
        let Some(t) = s.task else {
            return Ok(Vec::new());
        };
        let files = lock(&t.inner)?.files.clone();
        Ok(files.snapshot())
    }

    /// Host thread of some live stub thread of the subject's address space.
    fn host_tid(s: &Subject) -> Option<i32> {
        if let Some(t) = &s.task {
            let h = t.host_tid();
            if h > 0 {
                return Some(h);
            }
        }
        let threads = s.tg.inner.lock().ok()?.threads.clone();
        threads.iter().map(|t| t.host_tid()).find(|&h| h > 0)
    }

    /// Everything stat/status need about `p`.
    fn proc_info(&self, p: PidRef) -> SysResult<ProcInfo> {
        let s = self.subject(p)?;
        let snap = match &s.task {
            Some(t) => Some(snap_task(t)?),
            None => None,
        };
        let g = lock(&s.tg.inner)?;
        let parent = g.parent.as_ref().and_then(|w| w.upgrade());
        let threads = g.threads.clone();
        let mut info = ProcInfo {
            tgid: s.tg.tgid,
            pgid: g.pgid,
            sid: g.sid,
            num_threads: threads.len().max(1),
            rlimits: g.rlimits,
            creds: g.creds.clone(),
            exit_signal: g.exit_signal,
            exit_code: g.zombie.map(|z| z.wait_status()).unwrap_or(0),
            no_new_privs: g.no_new_privs,
            cutime_us: g.child_times.0,
            cstime_us: g.child_times.1,
            shared_pending: g.pending.mask(),
            ncpus: self.ncpus,
            tty: g.ctty.as_ref().map(|t| {
                let minor = t.index;
                let dev =
                    (minor & 0xff) | (crate::fs::devpts::PTS_MAJOR << 8) | ((minor & !0xff) << 12);
                (dev, t.control().pgrp.unwrap_or(0))
            }),
            ..ProcInfo::default()
        };
        let zombie = g.zombie.is_some();
        let stopped = g.stopped;
        let exe = g.exe.clone();
        drop(g);
        info.ppid = parent.map(|p| p.tgid).unwrap_or(0);
        info.pid = if p.thread || p.tid != p.tgid {
            p.tid
        } else {
            s.tg.tgid
        };
        // CPU time: the thread's, or the whole group's.
        let counted: Vec<&Arc<Task>> = if p.thread {
            s.task.iter().collect()
        } else {
            threads.iter().collect()
        };
        for t in counted {
            if let Ok(tm) = t.times.lock() {
                info.utime_us += tm.0;
                info.stime_us += tm.1;
            }
        }
        info.start_ticks = duration_ticks(s.tg.start.saturating_duration_since(s.kernel.boot));
        info.state = if zombie {
            'Z'
        } else if stopped {
            'T'
        } else if snap.is_some() && current().map(|c| c.1) == snap.as_ref().map(|t| t.tid) {
            'R'
        } else {
            'S'
        };
        if let Ok(acts) = s.tg.actions.lock() {
            for (sig, a) in acts.iter().enumerate().skip(1) {
                let b = 1u64 << (sig - 1);
                if a.handler == crate::kernel::signal::SIG_IGN {
                    info.sig_ignored |= b;
                } else if a.handler != crate::kernel::signal::SIG_DFL {
                    info.sig_caught |= b;
                }
            }
        }
        match snap {
            Some(t) => {
                info.comm = t.comm.clone();
                info.sig_blocked = t.sigmask;
                info.sig_pending = t.pending;
                if !zombie {
                    let mi = lock(&t.mm.inner)?;
                    info.vm = Some(vm_counts(mi.vmas.values()));
                    info.brk_start = mi.brk_start;
                    info.arg_range = mi.arg_range;
                    info.env_range = mi.env_range;
                }
                info.umask = t.fs.lock().map(|f| f.umask).unwrap_or(0o022);
                let max_fd = t.files.snapshot().last().map(|(fd, _)| *fd).unwrap_or(0);
                info.fdsize = fd_size(max_fd);
            }
            None => {
                info.comm = exe
                    .map(|e| crate::kernel::comm_from(&e.dentry.name))
                    .unwrap_or_default();
                info.umask = 0o022;
            }
        }
        Ok(info)
    }

    // -- generators ---------------------------------------------------------

    /// The whole of host /proc/net file `i` (a seq file: read from offset
    /// 0 with pread, so concurrent readers do not share a position).
    fn host_net_file(&self, i: usize) -> SysResult<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let f = self
            .host_net
            .as_ref()
            .and_then(|v| v.get(i))
            .and_then(|f| f.as_ref())
            .ok_or(Errno::ENOENT)?;
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        while out.len() < HOST_NET_MAX {
            let n = f
                .read_at(&mut chunk, out.len() as u64)
                .map_err(|e| Errno::new(e.raw_os_error().unwrap_or(libc::EIO)))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(out)
    }

    /// Whether static entry `i` exists in this sandbox (/proc/net only
    /// with internet sockets, each file only if the host has it).
    fn static_visible(&self, i: usize) -> bool {
        let (p, kind) = STATIC[i];
        if p == "net" {
            return self.host_net.is_some();
        }
        match kind {
            StaticKind::File(Gen::HostNet(n)) => self
                .host_net
                .as_ref()
                .is_some_and(|v| v.get(n).is_some_and(|f| f.is_some())),
            _ => true,
        }
    }

    fn gen_static(&self, g: Gen) -> SysResult<Vec<u8>> {
        let k = self.kernel()?;
        let s = match g {
            Gen::Text(t) => t.to_string(),
            Gen::HostNet(i) => return self.host_net_file(i),
            Gen::CpuInfo => format_cpuinfo(&self.cpu_block, self.ncpus),
            Gen::MemInfo => format_meminfo(&host_sysinfo()),
            Gen::Stat => self.gen_stat(&k),
            Gen::Uptime => {
                let up = k.boot.elapsed().as_secs_f64();
                format_uptime(up, up * self.ncpus as f64 - self.cpu_used(&k).as_secs_f64())
            }
            Gen::LoadAvg => {
                let (total, last) = self.task_counts(&k);
                format!("0.00 0.00 0.00 1/{total} {last}\n")
            }
            Gen::Version => format!(
                "Linux version {} (rvisor) {}\n",
                k.config.release, k.config.version
            ),
            Gen::Filesystems => {
                let mut names: Vec<String> = [
                    "sysfs",
                    "tmpfs",
                    "proc",
                    "devtmpfs",
                    "9p",
                    "pipefs",
                    "anon_inodefs",
                    "sockfs",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                for m in k.vfs.mounts() {
                    if !names.contains(&m.fstype) {
                        names.push(m.fstype.clone());
                    }
                }
                names.iter().map(|n| format!("nodev\t{n}\n")).collect()
            }
            Gen::Hostname => format!("{}\n", lock(&k.hostname)?),
            Gen::UnprivilegedPortStart => format!("{}\n", k.config.unprivileged_port_start),
            Gen::Domainname => format!("{}\n", lock(&k.domainname)?),
            Gen::OsRelease => format!("{}\n", k.config.release),
            Gen::KernelVersion => format!("{}\n", k.config.version),
            Gen::Uuid => format!("{}\n", uuid_string(&random16())),
            Gen::BootId => format!("{}\n", self.boot_id),
        };
        Ok(s.into_bytes())
    }

    /// CPU time used by every live task.
    fn cpu_used(&self, k: &Kernel) -> Duration {
        let mut us = 0u64;
        for g in k.groups() {
            let threads = g
                .inner
                .lock()
                .map(|i| i.threads.clone())
                .unwrap_or_default();
            for t in threads {
                if let Ok(tm) = t.times.lock() {
                    us += tm.0 + tm.1;
                }
            }
        }
        Duration::from_micros(us)
    }

    /// (number of threads, highest thread id).
    fn task_counts(&self, k: &Kernel) -> (usize, i32) {
        let mut total = 0;
        let mut last = 0;
        for g in k.groups() {
            last = last.max(g.tgid);
            let threads = g
                .inner
                .lock()
                .map(|i| i.threads.clone())
                .unwrap_or_default();
            total += threads.len();
            for t in threads {
                last = last.max(t.tid);
            }
        }
        (total, last)
    }

    fn gen_stat(&self, k: &Kernel) -> String {
        let mut user = 0u64;
        let mut system = 0u64;
        for g in k.groups() {
            let threads = g
                .inner
                .lock()
                .map(|i| i.threads.clone())
                .unwrap_or_default();
            for t in threads {
                if let Ok(tm) = t.times.lock() {
                    user += tm.0;
                    system += tm.1;
                }
            }
        }
        let (user, system) = (user / (1_000_000 / HZ), system / (1_000_000 / HZ));
        let up = duration_ticks(k.boot.elapsed());
        let idle = (up * self.ncpus as u64).saturating_sub(user + system);
        let (_, last) = self.task_counts(k);
        format_proc_stat(
            self.ncpus,
            (user, system, idle),
            self.boot_wall(k).as_secs(),
            last as u64,
        )
    }

    fn gen_pid(&self, p: PidRef, kind: PidKind) -> SysResult<Vec<u8>> {
        match kind {
            PidKind::Stat => return Ok(format_stat(&self.proc_info(p)?).into_bytes()),
            PidKind::Status => return Ok(format_status(&self.proc_info(p)?).into_bytes()),
            PidKind::Cgroup => return Ok(b"0::/\n".to_vec()),
            PidKind::OomScore => return Ok(b"0\n".to_vec()),
            PidKind::LoginUid | PidKind::SessionId => return Ok(b"4294967295".to_vec()),
            PidKind::UidMap | PidKind::GidMap => return Ok(ID_MAP.as_bytes().to_vec()),
            PidKind::Setgroups => return Ok(b"allow\n".to_vec()),
            _ => {}
        }
        let s = self.subject(p)?;
        let snap = match &s.task {
            Some(t) => Some(snap_task(t)?),
            None => None,
        };
        let zombie = lock(&s.tg.inner)?.zombie.is_some();
        let mm = snap.as_ref().filter(|_| !zombie).map(|t| t.mm.clone());
        Ok(match kind {
            PidKind::Comm => {
                let mut c = match &snap {
                    Some(t) => t.comm.clone(),
                    None => Vec::new(),
                };
                c.push(b'\n');
                c
            }
            PidKind::Statm => {
                let vm = match &mm {
                    Some(m) => vm_counts(lock(&m.inner)?.vmas.values()),
                    None => VmCounts::default(),
                };
                format_statm(&vm).into_bytes()
            }
            PidKind::Maps => match &mm {
                Some(m) => format_maps(lock(&m.inner)?.vmas.values()).into_bytes(),
                None => Vec::new(),
            },
            PidKind::Auxv => match &mm {
                Some(m) => format_auxv(&lock(&m.inner)?.auxv),
                None => Vec::new(),
            },
            PidKind::Cmdline | PidKind::Environ => {
                let Some(m) = &mm else {
                    return Ok(Vec::new());
                };
                let (arg, env) = {
                    let mi = lock(&m.inner)?;
                    (mi.arg_range, mi.env_range)
                };
                let Some(host) = Self::host_tid(&s) else {
                    return Ok(Vec::new());
                };
                if kind == PidKind::Environ {
                    read_range(host, env)
                } else {
                    read_cmdline(host, arg)
                }
            }
            PidKind::Limits => {
                let r = lock(&s.tg.inner)?.rlimits;
                format_limits(&r).into_bytes()
            }
            PidKind::OomScoreAdj => {
                let v = lock(&self.oom_adj)?.get(&p.tgid).copied().unwrap_or(0);
                format!("{v}\n").into_bytes()
            }
            PidKind::Mounts | PidKind::MountInfo => {
                // Paths as the target process sees them.
                let root = match &snap {
                    Some(t) => t.fs.lock().map(|f| f.root.clone()).ok(),
                    None => self.caller_root(&s.kernel, None),
                };
                let Some(root) = root else {
                    return Ok(Vec::new());
                };
                self.gen_mounts(&s.kernel, &root, kind == PidKind::MountInfo)
                    .into_bytes()
            }
            _ => return Err(Errno::EINVAL),
        })
    }

    fn gen_mounts(&self, k: &Kernel, root: &Location, info: bool) -> String {
        let mut out = String::new();
        // Like Linux, only mounts the reader's root reaches are listed.
        let whole_tree =
            root.mount.mountpoint().is_none() && Arc::ptr_eq(&root.dentry, &root.mount.root);
        // In mount id order, as Linux (6.8 on) lists a namespace's mounts.
        let mut mounts = k.vfs.mounts();
        mounts.sort_by_key(|m| m.id);
        for m in mounts {
            let mountpoint = m.mountpoint();
            let top = Location {
                dentry: m.root.clone(),
                mount: m.clone(),
            };
            if !whole_tree && !k.vfs.is_reachable(&top, root) {
                continue;
            }
            // Where the mount's root shows to the reader (its mountpoint,
            // or "/" for the reader's root).
            let mp = k.vfs.path_of(&top, root);
            let mp = mangle(&mp);
            // /proc/PID/mounts shows the mount's effective state,
            // mountinfo the mount's flag and the file system's apart.
            let rw_of = |ro: bool| if ro { "ro" } else { "rw" };
            let rw = rw_of(if info {
                m.mount_readonly()
            } else {
                m.is_readonly()
            });
            let mut opts = rw.to_string();
            for (bit, name) in [
                (libc::MS_NOSUID, ",nosuid"),
                (libc::MS_NODEV, ",nodev"),
                (libc::MS_NOEXEC, ",noexec"),
            ] {
                if m.flags() & bit != 0 {
                    opts.push_str(name);
                }
            }
            opts.push_str(",relatime");
            let source = mangle(m.source.as_bytes());
            if info {
                let parent = match &mountpoint {
                    Some((loc, _)) => loc.mount.id,
                    None => m.id,
                };
                let dev = m.root.inode.attr().map(|a| a.dev).unwrap_or(0);
                let (maj, min) = dev_split(dev);
                let _ = writeln!(
                    out,
                    "{} {} {maj}:{min} / {mp} {opts} - {} {source} {}",
                    m.id,
                    parent,
                    m.fstype,
                    rw_of(m.sb.is_readonly())
                );
            } else {
                let _ = writeln!(out, "{source} {mp} {} {opts} 0 0", m.fstype);
            }
        }
        out
    }

    fn gen_fdinfo(&self, p: PidRef, fd: i32) -> SysResult<Vec<u8>> {
        let e = self.fd_entry(p, fd)?;
        let f = &e.file;
        let pos = f.pos.lock().map(|p| *p).unwrap_or(0);
        let real = f
            .location
            .as_ref()
            .is_some_and(|l| l.dentry.inode.as_any().downcast_ref::<FdReopen>().is_none());
        let mut flags = f.flags();
        if e.cloexec {
            flags |= libc::O_CLOEXEC as u32;
        }
        if real {
            flags |= O_LARGEFILE;
        }
        let mnt = f.location.as_ref().map(|l| l.mount.id).unwrap_or(0);
        let ino = f.ops.stat().map(|a| a.ino).unwrap_or(0);
        Ok(format_fdinfo(pos, flags, mnt, ino).into_bytes())
    }

    /// What /proc/PID/fd/N reads as.
    fn fd_link_text(&self, k: &Kernel, p: PidRef, e: &FdEntry) -> Vec<u8> {
        if let Some(loc) = &e.file.location {
            if let Some(r) = loc.dentry.inode.as_any().downcast_ref::<FdReopen>() {
                return r.name.clone();
            }
            let task = self.subject(p).ok().and_then(|s| s.task);
            if let Some(root) = self.caller_root(k, task.as_deref()) {
                let mut path = k.vfs.path_of(loc, &root);
                // Linux marks files whose name is gone.
                if loc.dentry.unnamed || loc.attr().is_ok_and(|a| a.nlink == 0) {
                    path.extend_from_slice(b" (deleted)");
                }
                return path;
            }
        }
        anon_name(&e.file.ops)
    }

    fn write_comm(&self, p: PidRef, buf: &[u8]) -> SysResult<usize> {
        // Linux: only threads of the same process may rename.
        if current().map(|c| c.0) != Some(p.tgid) {
            return Err(Errno::EINVAL);
        }
        let t = self.subject(p)?.task.ok_or(Errno::ESRCH)?;
        let mut name = buf;
        if let Some(b'\n') = name.last() {
            name = &name[..name.len() - 1];
        }
        let comm: Vec<u8> = name
            .iter()
            .take(15)
            .take_while(|&&b| b != 0)
            .copied()
            .collect();
        lock(&t.inner)?.comm = comm;
        Ok(buf.len())
    }

    fn write_oom_adj(&self, p: PidRef, buf: &[u8]) -> SysResult<usize> {
        let v: i32 = std::str::from_utf8(buf)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(Errno::EINVAL)?;
        if !(-1000..=1000).contains(&v) {
            return Err(Errno::EINVAL);
        }
        let k = self.kernel()?;
        let mut m = lock(&self.oom_adj)?;
        m.retain(|pid, _| k.group(*pid).is_some());
        m.insert(p.tgid, v);
        Ok(buf.len())
    }
}

// ---------------------------------------------------------------------------
// Inodes.

struct ProcInode {
    fs: Arc<ProcFs>,
    node: Node,
}

impl ProcInode {
    fn child(&self, node: Node) -> Arc<dyn Inode> {
        Arc::new(ProcInode {
            fs: self.fs.clone(),
            node,
        })
    }

    fn entry(&self, node: Node, name: impl Into<Vec<u8>>) -> DirEntry {
        DirEntry {
            ino: ino_of(&node.path()),
            dtype: node.dtype(),
            name: name.into(),
        }
    }

    /// The static path this node stands for ("" for the root).
    fn static_path(&self) -> Option<&'static str> {
        match self.node {
            Node::Root => Some(""),
            Node::Static(i) => Some(STATIC[i].0),
            _ => None,
        }
    }

    fn generate(&self) -> SysResult<Vec<u8>> {
        match self.node {
            Node::Static(i) => match STATIC[i].1 {
                StaticKind::File(g) => self.fs.gen_static(g),
                _ => Err(Errno::EISDIR),
            },
            Node::PidEntry(p, k) => self.fs.gen_pid(p, k),
            Node::FdInfo(p, fd) => self.fs.gen_fdinfo(p, fd),
            _ => Err(Errno::EISDIR),
        }
    }

    fn write_value(&self, buf: &[u8]) -> SysResult<usize> {
        match self.node {
            Node::PidEntry(p, PidKind::Comm) => self.fs.write_comm(p, buf),
            Node::PidEntry(p, PidKind::OomScoreAdj) => self.fs.write_oom_adj(p, buf),
            _ => Err(Errno::EACCES),
        }
    }

    fn writable(&self) -> bool {
        matches!(self.node, Node::PidEntry(_, k) if k.writable())
    }
}

impl Inode for ProcInode {
    fn attr(&self) -> SysResult<Attr> {
        let ftype = self.node.ftype();
        let mut perm = match ftype {
            S_IFDIR => 0o555,
            S_IFLNK => 0o777,
            _ => 0o444,
        };
        let mut nlink = 1;
        let (uid, gid, time) = match self.node.pid() {
            Some(p) => self.fs.pid_owner(p)?,
            None => {
                let k = self.fs.kernel()?;
                (0, 0, self.fs.boot_wall(&k))
            }
        };
        match self.node {
            Node::Root => {
                let k = self.fs.kernel()?;
                let subdirs = STATIC
                    .iter()
                    .enumerate()
                    .filter(|(i, (p, s))| {
                        *s == StaticKind::Dir
                            && static_parent(p).is_empty()
                            && self.fs.static_visible(*i)
                    })
                    .count();
                nlink = 2 + subdirs as u64 + k.groups().len() as u64;
            }
            Node::Static(i) => {
                if STATIC[i].1 == StaticKind::Dir {
                    let me = STATIC[i].0;
                    let subdirs = STATIC
                        .iter()
                        .filter(|(p, s)| *s == StaticKind::Dir && static_parent(p) == me)
                        .count();
                    nlink = 2 + subdirs as u64;
                }
            }
            Node::PidDir(p) => nlink = if p.thread { 4 } else { 5 },
            Node::PidEntry(_, k) => {
                perm = k.perm();
                if k.is_dir() {
                    nlink = 2;
                }
            }
            Node::Fd(p, fd) => {
                let e = self.fs.fd_entry(p, fd)?;
                perm = 0;
                if e.file.readable() {
                    perm |= 0o500;
                }
                if e.file.writable() {
                    perm |= 0o300;
                }
            }
            Node::FdInfo(p, fd) => {
                self.fs.fd_entry(p, fd)?;
            }
            Node::SelfLink | Node::ThreadSelfLink => {}
        }
        let t = (time.as_secs() as i64, time.subsec_nanos());
        Ok(Attr {
            ino: ino_of(&self.node.path()),
            dev: self.fs.dev,
            mode: ftype | perm,
            nlink,
            uid,
            gid,
            rdev: 0,
            size: 0,
            blksize: 1024,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
        })
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<dyn Inode>> {
        if let Some(dir) = self.static_path() {
            if self.node.ftype() != S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            if dir.is_empty() {
                match name {
                    b"self" => return Ok(self.child(Node::SelfLink)),
                    b"thread-self" => return Ok(self.child(Node::ThreadSelfLink)),
                    _ => {}
                }
                if let Some(id) = parse_id(name) {
                    let k = self.fs.kernel()?;
                    if let Some(g) = k.group(id) {
                        return Ok(self.child(Node::PidDir(PidRef {
                            tgid: g.tgid,
                            tid: g.tgid,
                            thread: false,
                        })));
                    }
                    // Like Linux, /proc/TID works for every thread though
                    // only thread group ids are listed.
                    if let Some(t) = k.task(id) {
                        return Ok(self.child(Node::PidDir(PidRef {
                            tgid: t.tg.tgid,
                            tid: id,
                            thread: false,
                        })));
                    }
                    return Err(Errno::ENOENT);
                }
            }
            let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
            let want = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            return STATIC
                .iter()
                .position(|(p, _)| *p == want)
                .filter(|&i| self.fs.static_visible(i))
                .map(|i| self.child(Node::Static(i)))
                .ok_or(Errno::ENOENT);
        }
        match self.node {
            Node::PidDir(p) => {
                self.fs.subject(p)?;
                PID_ENTRIES
                    .iter()
                    .find(|(n, k)| n.as_bytes() == name && !(p.thread && *k == PidKind::Task))
                    .map(|(_, k)| self.child(Node::PidEntry(p, *k)))
                    .ok_or(Errno::ENOENT)
            }
            Node::PidEntry(p, PidKind::Fd) | Node::PidEntry(p, PidKind::FdInfo) => {
                let fd = parse_id(name).ok_or(Errno::ENOENT)?;
                self.fs.fd_entry(p, fd)?;
                Ok(self.child(if self.node == Node::PidEntry(p, PidKind::Fd) {
                    Node::Fd(p, fd)
                } else {
                    Node::FdInfo(p, fd)
                }))
            }
            Node::PidEntry(p, PidKind::Task) => {
                let tid = parse_id(name).ok_or(Errno::ENOENT)?;
                let k = self.fs.kernel()?;
                let t = k.task(tid).ok_or(Errno::ENOENT)?;
                if t.tg.tgid != p.tgid {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::PidDir(PidRef {
                    tgid: p.tgid,
                    tid,
                    thread: true,
                })))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn readlink(&self) -> SysResult<Vec<u8>> {
        match self.node {
            Node::SelfLink => {
                let (tgid, _) = current().ok_or(Errno::ENOENT)?;
                Ok(tgid.to_string().into_bytes())
            }
            Node::ThreadSelfLink => {
                let (tgid, tid) = current().ok_or(Errno::ENOENT)?;
                Ok(format!("{tgid}/task/{tid}").into_bytes())
            }
            Node::Static(i) => match STATIC[i].1 {
                StaticKind::Link(t) => Ok(t.as_bytes().to_vec()),
                _ => Err(Errno::EINVAL),
            },
            Node::PidEntry(p, k) if k.is_link() => {
                let loc = self.magic_link().ok_or(Errno::ENOENT)?;
                let s = self.fs.subject(p)?;
                let root = self
                    .fs
                    .caller_root(&s.kernel, s.task.as_deref())
                    .ok_or(Errno::ENOENT)?;
                Ok(s.kernel.vfs.path_of(&loc, &root))
            }
            Node::Fd(p, fd) => {
                let k = self.fs.kernel()?;
                let e = self.fs.fd_entry(p, fd)?;
                Ok(self.fs.fd_link_text(&k, p, &e))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn readdir(&self) -> SysResult<Vec<DirEntry>> {
        if let Some(dir) = self.static_path() {
            if self.node.ftype() != S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            let mut out: Vec<DirEntry> = STATIC
                .iter()
                .enumerate()
                .filter(|(i, (p, _))| static_parent(p) == dir && self.fs.static_visible(*i))
                .map(|(i, (p, _))| {
                    let base = p.rsplit('/').next().unwrap_or(p);
                    self.entry(Node::Static(i), base.as_bytes())
                })
                .collect();
            if dir.is_empty() {
                out.push(self.entry(Node::SelfLink, b"self".to_vec()));
                out.push(self.entry(Node::ThreadSelfLink, b"thread-self".to_vec()));
                let k = self.fs.kernel()?;
                for g in k.groups() {
                    let p = PidRef {
                        tgid: g.tgid,
                        tid: g.tgid,
                        thread: false,
                    };
                    out.push(self.entry(Node::PidDir(p), g.tgid.to_string().into_bytes()));
                }
            }
            return Ok(out);
        }
        match self.node {
            Node::PidDir(p) => {
                self.fs.subject(p)?;
                Ok(PID_ENTRIES
                    .iter()
                    .filter(|(_, k)| !(p.thread && *k == PidKind::Task))
                    .map(|(n, k)| self.entry(Node::PidEntry(p, *k), n.as_bytes()))
                    .collect())
            }
            Node::PidEntry(p, PidKind::Fd) => Ok(self
                .fs
                .fds(p)?
                .iter()
                .map(|(fd, _)| self.entry(Node::Fd(p, *fd), fd.to_string().into_bytes()))
                .collect()),
            Node::PidEntry(p, PidKind::FdInfo) => Ok(self
                .fs
                .fds(p)?
                .iter()
                .map(|(fd, _)| self.entry(Node::FdInfo(p, *fd), fd.to_string().into_bytes()))
                .collect()),
            Node::PidEntry(p, PidKind::Task) => {
                let s = self.fs.subject(p)?;
                let threads = lock(&s.tg.inner)?.threads.clone();
                let mut tids: Vec<i32> = threads.iter().map(|t| t.tid).collect();
                tids.sort_unstable();
                Ok(tids
                    .into_iter()
                    .map(|tid| {
                        let r = PidRef {
                            tgid: p.tgid,
                            tid,
                            thread: true,
                        };
                        self.entry(Node::PidDir(r), tid.to_string().into_bytes())
                    })
                    .collect())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn open(self: Arc<Self>, flags: u32) -> SysResult<Arc<dyn FileOps>> {
        let acc = flags & libc::O_ACCMODE as u32;
        let wants_write = acc != libc::O_RDONLY as u32 || flags & libc::O_TRUNC as u32 != 0;
        match self.node.ftype() {
            S_IFDIR => {
                if wants_write {
                    return Err(Errno::EISDIR);
                }
                // Fail now for a vanished process rather than at getdents.
                self.attr()?;
                Ok(DirFile::new(self))
            }
            S_IFLNK => Err(Errno::ELOOP),
            _ => {
                if wants_write && !self.writable() {
                    return Err(Errno::EACCES);
                }
                let data = if acc == libc::O_WRONLY as u32 {
                    self.attr()?;
                    Vec::new()
                } else {
                    self.generate()?
                };
                Ok(Arc::new(ProcFile {
                    inode: self,
                    data: Mutex::new((data, false)),
                }))
            }
        }
    }

    fn magic_link(&self) -> Option<Location> {
        match self.node {
            Node::PidEntry(p, PidKind::Exe) => {
                let s = self.fs.subject(p).ok()?;
                let g = s.tg.inner.lock().ok()?;
                g.exe.clone()
            }
            Node::PidEntry(p, k @ (PidKind::Cwd | PidKind::Root)) => {
                let t = self.fs.subject(p).ok()?.task?;
                let fs = t.inner.lock().ok()?.fs.clone();
                let f = fs.lock().ok()?;
                Some(if k == PidKind::Cwd {
                    f.cwd.clone()
                } else {
                    f.root.clone()
                })
            }
            Node::Fd(p, fd) => {
                let e = self.fs.fd_entry(p, fd).ok()?;
                if let Some(l) = &e.file.location {
                    return Some(l.clone());
                }
                let name = anon_name(&e.file.ops);
                Some(detached(Arc::new(FdReopen {
                    ops: e.file.ops.clone(),
                    name,
                })))
            }
            _ => None,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open generated file.
struct ProcFile {
    inode: Arc<ProcInode>,
    /// The snapshot, and whether it has been read since it was made.
    data: Mutex<(Vec<u8>, bool)>,
}

impl FileOps for ProcFile {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        let mut st = lock(&self.data)?;
        if off == 0 && st.1 {
            st.0 =
                self.inode.generate().map_err(
                    |e| {
                        if e == Errno::ENOENT {
                            Errno::ESRCH
                        } else {
                            e
                        }
                    },
                )?;
        }
        st.1 = true;
        let data = &st.0;
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.inode.write_value(buf)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self) -> SysResult<Attr> {
        self.inode.attr()
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.inode.clone())
    }

    fn mmap_source(&self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---------------------------------------------------------------------------
// Reopening descriptors that have no path (pipes, host stdio, eventfds):
// opening /proc/PID/fd/N (or /dev/stdout → /proc/self/fd/1) gives the same
// file, as Linux does.

/// A detached inode standing for an open file without a location.
struct FdReopen {
    ops: Arc<dyn FileOps>,
    /// What readlink of the descriptor shows ("pipe:[12]").
    name: Vec<u8>,
}

impl Inode for FdReopen {
    fn attr(&self) -> SysResult<Attr> {
        self.ops.stat()
    }

    fn open(self: Arc<Self>, _flags: u32) -> SysResult<Arc<dyn FileOps>> {
        let a = self.ops.stat()?;
        if a.mode & S_IFMT == S_IFSOCK {
            return Err(Errno::ENXIO);
        }
        Ok(Arc::new(Reopened {
            inner: self.ops.clone(),
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A Location outside every mount for `inode` (mount id 0 is never used by
/// real mounts).
fn detached(inode: Arc<dyn Inode>) -> Location {
    let dentry = Dentry::new(inode, Vec::new(), None);
    let mount = Mount::outside(dentry.clone(), "anon_inodefs");
    Location { mount, dentry }
}

/// A second open of a path-less file: everything goes to the original
/// except `release`, which belongs to the original's last close.
struct Reopened {
    inner: Arc<dyn FileOps>,
}

impl FileOps for Reopened {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        self.inner.read(buf, off)
    }
    fn write(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        self.inner.write(buf, off)
    }
    fn seekable(&self) -> bool {
        self.inner.seekable()
    }
    fn poll(&self) -> u32 {
        self.inner.poll()
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.inner.wait_queue()
    }
    fn host_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.host_fd()
    }
    fn stat(&self) -> SysResult<Attr> {
        self.inner.stat()
    }
    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
        self.inner.ioctl(cmd, arg, io)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        self.inner.inode()
    }
    fn mmap_source(&self) -> bool {
        self.inner.mmap_source()
    }
    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }
}

/// readlink text for an open file without a path.
fn anon_name(ops: &Arc<dyn FileOps>) -> Vec<u8> {
    let a = ops.stat().unwrap_or_default();
    let any = ops.as_any();
    let s = if any.downcast_ref::<PipeEnd>().is_some() {
        format!("pipe:[{}]", a.ino)
    } else if any.downcast_ref::<EventFd>().is_some() {
        "anon_inode:[eventfd]".into()
    } else if any.downcast_ref::<Epoll>().is_some() {
        "anon_inode:[eventpoll]".into()
    } else {
        match a.mode & S_IFMT {
            S_IFIFO => format!("pipe:[{}]", a.ino),
            S_IFSOCK => format!("socket:[{}]", a.ino),
            S_IFCHR => char_dev_path(a.rdev),
            _ => format!("anon_inode:[{}]", a.ino),
        }
    };
    s.into_bytes()
}

/// The usual /dev path of a character device number.
fn char_dev_path(rdev: u64) -> String {
    let (maj, min) = dev_split(rdev);
    match (maj, min) {
        (1, 3) => "/dev/null".into(),
        (1, 5) => "/dev/zero".into(),
        (1, 7) => "/dev/full".into(),
        (1, 8) => "/dev/random".into(),
        (1, 9) => "/dev/urandom".into(),
        (5, 0) => "/dev/tty".into(),
        (5, 1) => "/dev/console".into(),
        (5, 2) => "/dev/ptmx".into(),
        (136..=143, _) => format!("/dev/pts/{}", (maj - 136) * 256 + min),
        _ => format!("/dev/char/{maj}:{min}"),
    }
}

/// (major, minor) of a Linux dev_t.
fn dev_split(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

// ---------------------------------------------------------------------------
// Process memory.

/// Reads up to `len` bytes of process `pid`'s memory at `addr`, stopping at
/// the first unreadable page.
fn read_remote(pid: i32, addr: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    while done < len {
        let local = libc::iovec {
            iov_base: out[done..].as_mut_ptr().cast(),
            iov_len: len - done,
        };
        let remote = libc::iovec {
            iov_base: addr.wrapping_add(done as u64) as *mut libc::c_void,
            iov_len: len - done,
        };
        // SAFETY: `local` covers `out[done..len]`, which we own; the remote
        // side is another process's memory, which the kernel checks.
        let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if r <= 0 {
            break;
        }
        done += r as usize;
    }
    out.truncate(done);
    out
}

fn read_range(pid: i32, (start, end): (u64, u64)) -> Vec<u8> {
    if end <= start {
        return Vec::new();
    }
    let len = usize::try_from(end - start)
        .unwrap_or(MAX_REMOTE)
        .min(MAX_REMOTE);
    read_remote(pid, start, len)
}

/// argv as Linux shows it: the argument area, or, when the program has
/// overwritten the final NUL (setproctitle), the string at its start.
fn read_cmdline(pid: i32, range: (u64, u64)) -> Vec<u8> {
    let data = read_range(pid, range);
    if !matches!(data.last(), Some(&b) if b != 0) {
        return data;
    }
    let mut t = read_remote(pid, range.0, PAGE as usize);
    if let Some(n) = t.iter().position(|&b| b == 0) {
        t.truncate(n);
    }
    t
}

// ---------------------------------------------------------------------------
// Host facts and randomness.

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    // SAFETY: getrandom writes at most 16 bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != 16 {
        // Fall back to a clock-derived value; uniqueness, not secrecy.
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut x = t as u64 ^ 0x9e37_79b9_7f4a_7c15;
        for c in b.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
    }
    b
}

/// A version-4 UUID from 16 random bytes, in the usual text form.
pub fn uuid_string(r: &[u8; 16]) -> String {
    let mut b = *r;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Memory figures for meminfo (bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct MemFigures {
    /// Total RAM.
    pub total: u64,
    /// Free RAM.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Shared memory.
    pub shared: u64,
    /// Total swap.
    pub swap_total: u64,
    /// Free swap.
    pub swap_free: u64,
}

fn host_sysinfo() -> MemFigures {
    // SAFETY: sysinfo is plain old data; all-zero is valid.
    let mut h: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is a live sysinfo buffer.
    if unsafe { libc::sysinfo(&mut h) } != 0 {
        return MemFigures::default();
    }
    let u = (h.mem_unit as u64).max(1);
    MemFigures {
        total: h.totalram as u64 * u,
        free: h.freeram as u64 * u,
        buffers: h.bufferram as u64 * u,
        shared: h.sharedram as u64 * u,
        swap_total: h.totalswap as u64 * u,
        swap_free: h.freeswap as u64 * u,
    }
}

// ---------------------------------------------------------------------------
// Pure formatting (unit-tested).

/// Whole clock ticks in `d`.
fn duration_ticks(d: Duration) -> u64 {
    (d.as_millis() / (1000 / HZ as u128)) as u64
}

/// Linux's max_fds for a table whose highest descriptor is `max_fd`.
fn fd_size(max_fd: i32) -> usize {
    ((max_fd.max(0) as usize) + 1).next_power_of_two().max(64)
}

/// Escapes space, tab, newline and backslash as octal, as /proc/mounts does.
pub fn mangle(s: &[u8]) -> String {
    let mut v = Vec::with_capacity(s.len());
    for &b in s {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => v.extend(format!("\\{b:03o}").bytes()),
            _ => v.push(b),
        }
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// Memory use derived from the VMA list (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmCounts {
    /// Total mapped.
    pub size: u64,
    /// Accessible anonymous memory (our stand-in for resident anon).
    pub rss_anon: u64,
    /// Accessible file-backed memory (stand-in for resident file pages).
    pub rss_file: u64,
    /// Private writable, not stack.
    pub data: u64,
    /// Stack.
    pub stk: u64,
    /// Executable mappings of the main program.
    pub exe: u64,
    /// Other executable mappings.
    pub lib: u64,
}

impl VmCounts {
    /// Resident set estimate.
    pub fn rss(&self) -> u64 {
        self.rss_anon + self.rss_file
    }
}

/// Sums a VMA list. The sentry does not know which pages are resident, so
/// every accessible page counts as resident.
pub fn vm_counts<'a>(vmas: impl Iterator<Item = &'a Vma> + Clone) -> VmCounts {
    let main_path = vmas.clone().find_map(|v| match &v.name {
        VmaName::File { path, .. } => Some(path.clone()),
        _ => None,
    });
    let mut c = VmCounts::default();
    for v in vmas {
        let len = v.end.saturating_sub(v.start);
        c.size += len;
        let is_file = matches!(v.name, VmaName::File { .. });
        if v.prot != 0 {
            if is_file {
                c.rss_file += len;
            } else {
                c.rss_anon += len;
            }
        }
        let stack = v.name == VmaName::Stack;
        if stack {
            c.stk += len;
        }
        let write = v.prot & libc::PROT_WRITE as u32 != 0;
        let exec = v.prot & libc::PROT_EXEC as u32 != 0;
        if write && !v.shared && !stack {
            c.data += len;
        }
        if exec && !write && !stack {
            match &v.name {
                VmaName::File { path, .. } if Some(path) == main_path.as_ref() => c.exe += len,
                _ => c.lib += len,
            }
        }
    }
    c
}

/// /proc/PID/maps.
pub fn format_maps<'a>(vmas: impl Iterator<Item = &'a Vma>) -> String {
    vmas.map(maps_line).collect()
}

/// /proc/PID/statm: size resident shared text lib data dt, in pages.
pub fn format_statm(vm: &VmCounts) -> String {
    format!(
        "{} {} {} {} 0 {} 0\n",
        vm.size / PAGE,
        vm.rss() / PAGE,
        vm.rss_file / PAGE,
        vm.exe / PAGE,
        (vm.data + vm.stk) / PAGE
    )
}

/// /proc/PID/auxv: (type, value) pairs as native words, ending in AT_NULL.
pub fn format_auxv(auxv: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity((auxv.len() + 1) * 16);
    for (k, v) in auxv {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    if !matches!(auxv.last(), Some((0, _))) {
        out.extend_from_slice(&[0u8; 16]);
    }
    out
}

/// /proc/PID/fdinfo/N.
pub fn format_fdinfo(pos: u64, flags: u32, mnt_id: u64, ino: u64) -> String {
    format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n")
}

/// /proc/PID/limits.
pub fn format_limits(r: &[(u64, u64); RLIM_NLIMITS]) -> String {
    const NAMES: [(&str, &str); RLIM_NLIMITS] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let lim = |v: u64| {
        if v == RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    let mut out = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (i, (name, unit)) in NAMES.iter().enumerate() {
        let _ = write!(out, "{:<25} {:<20} {:<20} ", name, lim(r[i].0), lim(r[i].1));
        if unit.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{unit:<10}");
        }
    }
    out
}

/// What /proc/PID/stat and /proc/PID/status show about a process or thread.
#[derive(Debug, Clone, Default)]
pub struct ProcInfo {
    /// The id shown as Pid (tgid, or tid for a thread view).
    pub pid: i32,
    /// Thread group id.
    pub tgid: i32,
    /// Name.
    pub comm: Vec<u8>,
    /// R, S, T or Z.
    pub state: char,
    /// Parent's pid (0 for init).
    pub ppid: i32,
    /// Process group.
    pub pgid: i32,
    /// Session.
    pub sid: i32,
    /// Live threads.
    pub num_threads: usize,
    /// User CPU time (µs).
    pub utime_us: u64,
    /// System CPU time (µs).
    pub stime_us: u64,
    /// Reaped children's user time (µs).
    pub cutime_us: u64,
    /// Reaped children's system time (µs).
    pub cstime_us: u64,
    /// Start time in clock ticks after boot.
    pub start_ticks: u64,
    /// Memory (None without an address space: zombies).
    pub vm: Option<VmCounts>,
    /// Start of the brk heap.
    pub brk_start: u64,
    /// Controlling terminal: (encoded device number, its foreground
    /// process group or 0).
    pub tty: Option<(u32, i32)>,
    /// argv area.
    pub arg_range: (u64, u64),
    /// envp area.
    pub env_range: (u64, u64),
    /// Resource limits.
    pub rlimits: [(u64, u64); RLIM_NLIMITS],
    /// Signals pending for the thread.
    pub sig_pending: u64,
    /// Signals pending for the process.
    pub shared_pending: u64,
    /// Blocked signals.
    pub sig_blocked: u64,
    /// Ignored signals.
    pub sig_ignored: u64,
    /// Caught signals.
    pub sig_caught: u64,
    /// Signal sent to the parent at exit.
    pub exit_signal: i32,
    /// Wait status of a zombie.
    pub exit_code: i32,
    /// Credentials.
    pub creds: Creds,
    /// File creation mask.
    pub umask: u32,
    /// Descriptor table size.
    pub fdsize: usize,
    /// PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
    /// CPUs the sandbox has.
    pub ncpus: usize,
}

fn state_name(c: char) -> &'static str {
    match c {
        'R' => "R (running)",
        'T' => "T (stopped)",
        'Z' => "Z (zombie)",
        'D' => "D (disk sleep)",
        'X' => "X (dead)",
        _ => "S (sleeping)",
    }
}

/// /proc/PID/stat: the 52 fields of Linux 5.x.
pub fn format_stat(i: &ProcInfo) -> String {
    const LOW: u64 = 0x7fff_ffff;
    let us_ticks = |us: u64| us / (1_000_000 / HZ);
    let vm = i.vm.unwrap_or_default();
    let mm = i.vm.is_some();
    let state = if i.state == '\0' { 'S' } else { i.state };
    let rest: Vec<String> = vec![
        state.to_string(),                                      // 3 state
        i.ppid.to_string(),                                     // 4 ppid
        i.pgid.to_string(),                                     // 5 pgrp
        i.sid.to_string(),                                      // 6 session
        i.tty.map(|t| t.0).unwrap_or(0).to_string(),            // 7 tty_nr
        i.tty.map(|t| t.1).unwrap_or(-1).to_string(),           // 8 tpgid
        "4194304".into(),                                       // 9 flags (PF_RANDOMIZE)
        "0".into(),                                             // 10 minflt
        "0".into(),                                             // 11 cminflt
        "0".into(),                                             // 12 majflt
        "0".into(),                                             // 13 cmajflt
        us_ticks(i.utime_us).to_string(),                       // 14 utime
        us_ticks(i.stime_us).to_string(),                       // 15 stime
        us_ticks(i.cutime_us).to_string(),                      // 16 cutime
        us_ticks(i.cstime_us).to_string(),                      // 17 cstime
        "20".into(),                                            // 18 priority
        "0".into(),                                             // 19 nice
        i.num_threads.to_string(),                              // 20 num_threads
        "0".into(),                                             // 21 itrealvalue
        i.start_ticks.to_string(),                              // 22 starttime
        vm.size.to_string(),                                    // 23 vsize
        (vm.rss() / PAGE).to_string(),                          // 24 rss
        i.rlimits[libc::RLIMIT_RSS as usize].0.to_string(),     // 25 rsslim
        "0".into(),                                             // 26 startcode
        "0".into(),                                             // 27 endcode
        if mm { i.arg_range.0 } else { 0 }.to_string(),         // 28 startstack
        "0".into(),                                             // 29 kstkesp
        "0".into(),                                             // 30 kstkeip
        ((i.sig_pending | i.shared_pending) & LOW).to_string(), // 31 signal
        (i.sig_blocked & LOW).to_string(),                      // 32 blocked
        (i.sig_ignored & LOW).to_string(),                      // 33 sigignore
        (i.sig_caught & LOW).to_string(),                       // 34 sigcatch
        "0".into(),                                             // 35 wchan
        "0".into(),                                             // 36 nswap
        "0".into(),                                             // 37 cnswap
        i.exit_signal.to_string(),                              // 38 exit_signal
        "0".into(),                                             // 39 processor
        "0".into(),                                             // 40 rt_priority
        "0".into(),                                             // 41 policy
        "0".into(),                                             // 42 delayacct_blkio_ticks
        "0".into(),                                             // 43 guest_time
        "0".into(),                                             // 44 cguest_time
        "0".into(),                                             // 45 start_data
        "0".into(),                                             // 46 end_data
        if mm { i.brk_start } else { 0 }.to_string(),           // 47 start_brk
        if mm { i.arg_range.0 } else { 0 }.to_string(),         // 48 arg_start
        if mm { i.arg_range.1 } else { 0 }.to_string(),         // 49 arg_end
        if mm { i.env_range.0 } else { 0 }.to_string(),         // 50 env_start
        if mm { i.env_range.1 } else { 0 }.to_string(),         // 51 env_end
        i.exit_code.to_string(),                                // 52 exit_code
    ];
    format!(
        "{} ({}) {}\n",
        i.pid,
        String::from_utf8_lossy(&i.comm),
        rest.join(" ")
    )
}

/// Hex CPU mask in Linux's "%*pb" form (32-bit groups, comma separated).
pub fn cpu_mask(n: usize) -> String {
    let n = n.max(1);
    let groups = n.div_ceil(32);
    let mut parts = Vec::with_capacity(groups);
    for g in (0..groups).rev() {
        let bits = (n - g * 32).min(32);
        let v: u64 = if bits == 32 {
            0xffff_ffff
        } else {
            (1u64 << bits) - 1
        };
        if g == groups - 1 {
            let width = bits.div_ceil(4);
            parts.push(format!("{v:0width$x}"));
        } else {
            parts.push(format!("{v:08x}"));
        }
    }
    parts.join(",")
}

/// CPU list ("0-7", or "0").
pub fn cpu_list(n: usize) -> String {
    if n <= 1 {
        "0".into()
    } else {
        format!("0-{}", n - 1)
    }
}

/// Escapes a task name as /proc/PID/status does (newline and backslash).
fn escape_comm(c: &[u8]) -> String {
    let mut v = Vec::with_capacity(c.len());
    for &b in c {
        match b {
            b'\n' => v.extend_from_slice(b"\\n"),
            b'\\' => v.extend_from_slice(b"\\\\"),
            _ => v.push(b),
        }
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// /proc/PID/status.
pub fn format_status(i: &ProcInfo) -> String {
    let c = &i.creds;
    let state = if i.state == '\0' { 'S' } else { i.state };
    let mut o = String::new();
    let _ = writeln!(o, "Name:\t{}", escape_comm(&i.comm));
    let _ = writeln!(o, "Umask:\t{:04o}", i.umask);
    let _ = writeln!(o, "State:\t{}", state_name(state));
    let _ = writeln!(o, "Tgid:\t{}", i.tgid);
    let _ = writeln!(o, "Ngid:\t0");
    let _ = writeln!(o, "Pid:\t{}", i.pid);
    let _ = writeln!(o, "PPid:\t{}", i.ppid);
    let _ = writeln!(o, "TracerPid:\t0");
    let _ = writeln!(o, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
    let _ = writeln!(o, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
    let _ = writeln!(o, "FDSize:\t{}", i.fdsize.max(64));
    o.push_str("Groups:\t");
    let groups: Vec<String> = c.groups.iter().map(|g| g.to_string()).collect();
    o.push_str(&groups.join(" "));
    o.push_str(" \n");
    let _ = writeln!(o, "NStgid:\t{}", i.tgid);
    let _ = writeln!(o, "NSpid:\t{}", i.pid);
    let _ = writeln!(o, "NSpgid:\t{}", i.pgid);
    let _ = writeln!(o, "NSsid:\t{}", i.sid);
    if let Some(vm) = &i.vm {
        let kb = |b: u64| b / 1024;
        let rss = vm.rss();
        for (name, v) in [
            ("VmPeak", vm.size),
            ("VmSize", vm.size),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", rss),
            ("VmRSS", rss),
            ("RssAnon", vm.rss_anon),
            ("RssFile", vm.rss_file),
            ("RssShmem", 0),
            ("VmData", vm.data),
            ("VmStk", vm.stk),
            ("VmExe", vm.exe),
            ("VmLib", vm.lib),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            let _ = writeln!(o, "{name}:\t{:>8} kB", kb(v));
        }
        let _ = writeln!(o, "HugetlbPages:\t{:>8} kB", 0);
    }
    let _ = writeln!(o, "CoreDumping:\t0");
    let _ = writeln!(o, "THP_enabled:\t1");
    let _ = writeln!(o, "Threads:\t{}", i.num_threads);
    let queued = (i.sig_pending.count_ones() + i.shared_pending.count_ones()) as u64;
    let sigq_max = i.rlimits[libc::RLIMIT_SIGPENDING as usize].0;
    let _ = writeln!(o, "SigQ:\t{queued}/{sigq_max}");
    let _ = writeln!(o, "SigPnd:\t{:016x}", i.sig_pending);
    let _ = writeln!(o, "ShdPnd:\t{:016x}", i.shared_pending);
    let _ = writeln!(o, "SigBlk:\t{:016x}", i.sig_blocked);
    let _ = writeln!(o, "SigIgn:\t{:016x}", i.sig_ignored);
    let _ = writeln!(o, "SigCgt:\t{:016x}", i.sig_caught);
    let k = &c.caps;
    let _ = writeln!(o, "CapInh:\t{:016x}", k.inheritable);
    let _ = writeln!(o, "CapPrm:\t{:016x}", k.permitted);
    let _ = writeln!(o, "CapEff:\t{:016x}", k.effective);
    let _ = writeln!(o, "CapBnd:\t{:016x}", k.bounding);
    let _ = writeln!(o, "CapAmb:\t{:016x}", k.ambient);
    let _ = writeln!(o, "NoNewPrivs:\t{}", u8::from(i.no_new_privs));
    let _ = writeln!(o, "Seccomp:\t0");
    let _ = writeln!(o, "Seccomp_filters:\t0");
    let _ = writeln!(o, "Speculation_Store_Bypass:\tthread vulnerable");
    let _ = writeln!(o, "Cpus_allowed:\t{}", cpu_mask(i.ncpus));
    let _ = writeln!(o, "Cpus_allowed_list:\t{}", cpu_list(i.ncpus));
    let _ = writeln!(o, "Mems_allowed:\t00000001");
    let _ = writeln!(o, "Mems_allowed_list:\t0");
    let _ = writeln!(o, "voluntary_ctxt_switches:\t0");
    let _ = writeln!(o, "nonvoluntary_ctxt_switches:\t0");
    o
}

/// /proc/stat from (user, system, idle) ticks over all CPUs.
pub fn format_proc_stat(
    ncpus: usize,
    total: (u64, u64, u64),
    btime: u64,
    processes: u64,
) -> String {
    let n = ncpus.max(1) as u64;
    let (u, s, idle) = total;
    let mut o = format!("cpu  {u} 0 {s} {idle} 0 0 0 0 0 0\n");
    for c in 0..n {
        let _ = writeln!(o, "cpu{c} {} 0 {} {} 0 0 0 0 0 0", u / n, s / n, idle / n);
    }
    let _ = writeln!(o, "intr 0");
    let _ = writeln!(o, "ctxt 0");
    let _ = writeln!(o, "btime {btime}");
    let _ = writeln!(o, "processes {processes}");
    let _ = writeln!(o, "procs_running 1");
    let _ = writeln!(o, "procs_blocked 0");
    let _ = writeln!(o, "softirq 0 0 0 0 0 0 0 0 0 0 0");
    o
}

/// /proc/uptime.
pub fn format_uptime(up: f64, idle: f64) -> String {
    format!("{:.2} {:.2}\n", up, idle.max(0.0))
}

/// /proc/meminfo.
pub fn format_meminfo(m: &MemFigures) -> String {
    let kb = |b: u64| b / 1024;
    let mut o = String::new();
    let mut line = |name: &str, v: u64| {
        let _ = writeln!(o, "{:<16}{:>8} kB", format!("{name}:"), v);
    };
    let available = m.free + m.buffers;
    line("MemTotal", kb(m.total));
    line("MemFree", kb(m.free));
    line("MemAvailable", kb(available));
    line("Buffers", kb(m.buffers));
    line("Cached", 0);
    line("SwapCached", 0);
    line("Active", kb(m.total.saturating_sub(m.free)));
    line("Inactive", 0);
    line("Active(anon)", kb(m.total.saturating_sub(m.free)));
    line("Inactive(anon)", 0);
    line("Active(file)", 0);
    line("Inactive(file)", 0);
    line("Unevictable", 0);
    line("Mlocked", 0);
    line("SwapTotal", kb(m.swap_total));
    line("SwapFree", kb(m.swap_free));
    line("Dirty", 0);
    line("Writeback", 0);
    line("AnonPages", kb(m.total.saturating_sub(m.free)));
    line("Mapped", 0);
    line("Shmem", kb(m.shared));
    line("KReclaimable", 0);
    line("Slab", 0);
    line("SReclaimable", 0);
    line("SUnreclaim", 0);
    line("KernelStack", 0);
    line("PageTables", 0);
    line("NFS_Unstable", 0);
    line("Bounce", 0);
    line("WritebackTmp", 0);
    line("CommitLimit", kb(m.total / 2 + m.swap_total));
    line("Committed_AS", kb(m.total.saturating_sub(m.free)));
    line("VmallocTotal", 34_359_738_367);
    line("VmallocUsed", 0);
    line("VmallocChunk", 0);
    line("Percpu", 0);
    line("AnonHugePages", 0);
    line("ShmemHugePages", 0);
    line("ShmemPmdMapped", 0);
    line("FileHugePages", 0);
    line("FilePmdMapped", 0);
    let _ = writeln!(o, "HugePages_Total:       0");
    let _ = writeln!(o, "HugePages_Free:        0");
    let _ = writeln!(o, "HugePages_Rsvd:        0");
    let _ = writeln!(o, "HugePages_Surp:        0");
    let _ = writeln!(o, "{:<16}{:>8} kB", "Hugepagesize:", 2048);
    let _ = writeln!(o, "{:<16}{:>8} kB", "Hugetlb:", 0);
    o
}

/// The first processor block of a host /proc/cpuinfo, as (raw key, value).
fn parse_cpu_block(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !out.is_empty() {
                break;
            }
            continue;
        }
        match line.find(':') {
            Some(i) => out.push((line[..i].to_string(), line[i + 1..].trim().to_string())),
            None => out.push((line.to_string(), String::new())),
        }
    }
    if out.is_empty() {
        out = vec![
            ("processor\t".into(), "0".into()),
            ("vendor_id\t".into(), "unknown".into()),
            ("model name\t".into(), "unknown".into()),
        ];
    }
    out
}

/// /proc/cpuinfo: `n` copies of the host block, renumbered.
pub fn format_cpuinfo(block: &[(String, String)], n: usize) -> String {
    let mut o = String::new();
    for cpu in 0..n.max(1) {
        for (raw, val) in block {
            let v = match raw.trim() {
                "processor" | "core id" | "apicid" | "initial apicid" => cpu.to_string(),
                "physical id" => "0".to_string(),
                "siblings" | "cpu cores" => n.max(1).to_string(),
                _ => val.clone(),
            };
            if v.is_empty() {
                let _ = writeln!(o, "{raw}:");
            } else {
                let _ = writeln!(o, "{raw}: {v}");
            }
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ProcInfo {
        ProcInfo {
            pid: 42,
            tgid: 42,
            comm: b"my prog) x".to_vec(),
            state: 'S',
            ppid: 1,
            pgid: 42,
            sid: 1,
            num_threads: 3,
            utime_us: 1_230_000,
            stime_us: 40_000,
            start_ticks: 77,
            vm: Some(VmCounts {
                size: 10 * PAGE,
                rss_anon: 2 * PAGE,
                rss_file: 3 * PAGE,
                data: 2 * PAGE,
                stk: PAGE,
                exe: PAGE,
                lib: 0,
            }),
            brk_start: 0x5000,
            arg_range: (0x7ffd_0000, 0x7ffd_0010),
            env_range: (0x7ffd_0010, 0x7ffd_0100),
            rlimits: [(u64::MAX, u64::MAX); RLIM_NLIMITS],
            sig_blocked: 1 << 9,
            sig_ignored: 1 << 12,
            sig_caught: 1 << 1,
            exit_signal: 17,
            creds: Creds::new(1000, 1000, vec![4, 24]),
            umask: 0o022,
            fdsize: 64,
            ncpus: 8,
            ..ProcInfo::default()
        }
    }

    #[test]
    fn stat_has_52_fields() {
        let s = format_stat(&info());
        assert!(s.ends_with('\n'));
        assert!(s.starts_with("42 (my prog) x) S 1 42 1 0 -1 "));
        // Parse as programs do: comm ends at the last ')'.
        let close = s.rfind(')').unwrap_or(0);
        let rest: Vec<&str> = s[close + 2..].split_whitespace().collect();
        assert_eq!(rest.len() + 2, 52);
        assert_eq!(rest[14 - 3], "123"); // utime in ticks
        assert_eq!(rest[15 - 3], "4"); // stime
        assert_eq!(rest[20 - 3], "3"); // num_threads
        assert_eq!(rest[22 - 3], "77"); // starttime
        assert_eq!(rest[23 - 3], (10 * PAGE).to_string()); // vsize
        assert_eq!(rest[24 - 3], "5"); // rss pages
        assert_eq!(rest[25 - 3], u64::MAX.to_string()); // rsslim
        assert_eq!(rest[32 - 3], "512"); // blocked
        assert_eq!(rest[33 - 3], "4096"); // sigignore
        assert_eq!(rest[34 - 3], "2"); // sigcatch
        assert_eq!(rest[38 - 3], "17"); // exit_signal
        assert_eq!(rest[47 - 3], (0x5000).to_string()); // start_brk
        assert_eq!(rest[51 - 3], (0x7ffd_0100u64).to_string()); // env_end
        assert_eq!(rest[52 - 3], "0"); // exit_code
    }

    #[test]
    fn status_layout() {
        let s = format_status(&info());
        let keys: Vec<&str> = s
            .lines()
            .map(|l| l.split(':').next().unwrap_or(""))
            .collect();
        let want = [
            "Name",
            "Umask",
            "State",
            "Tgid",
            "Ngid",
            "Pid",
            "PPid",
            "TracerPid",
            "Uid",
            "Gid",
            "FDSize",
            "Groups",
            "NStgid",
            "NSpid",
            "NSpgid",
            "NSsid",
            "VmPeak",
            "VmSize",
        ];
        assert_eq!(&keys[..want.len()], &want);
        for k in [
            "VmRSS",
            "Threads",
            "SigQ",
            "SigPnd",
            "ShdPnd",
            "SigBlk",
            "SigIgn",
            "SigCgt",
            "CapInh",
            "CapPrm",
            "CapEff",
            "CapBnd",
            "CapAmb",
            "NoNewPrivs",
            "Seccomp",
            "Cpus_allowed_list",
            "voluntary_ctxt_switches",
            "nonvoluntary_ctxt_switches",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert!(s.contains("Name:\tmy prog) x\n"));
        assert!(s.contains("Umask:\t0022\n"));
        assert!(s.contains("State:\tS (sleeping)\n"));
        assert!(s.contains("Uid:\t1000\t1000\t1000\t1000\n"));
        assert!(s.contains("Groups:\t4 24 \n"));
        assert!(s.contains("VmSize:\t      40 kB\n"));
        assert!(s.contains("VmRSS:\t      20 kB\n"));
        assert!(s.contains("SigBlk:\t0000000000000200\n"));
        assert!(s.contains("SigIgn:\t0000000000001000\n"));
        assert!(s.contains("CapEff:\t0000000000000000\n"));
        assert!(s.contains("CapBnd:\t000001ffffffffff\n"));
        assert!(s.contains("Cpus_allowed:\tff\n"));
        assert!(s.contains("Cpus_allowed_list:\t0-7\n"));
        assert!(s.ends_with("nonvoluntary_ctxt_switches:\t0\n"));
    }

    #[test]
    fn status_zombie_and_root() {
        let mut i = info();
        i.vm = None;
        i.state = 'Z';
        i.creds = Creds::new(0, 0, vec![]);
        let s = format_status(&i);
        assert!(!s.contains("VmSize"));
        assert!(s.contains("State:\tZ (zombie)\n"));
        assert!(s.contains("Groups:\t \n"));
        assert!(s.contains("CapEff:\t000001ffffffffff\n"));
        let st = format_stat(&i);
        assert!(st.contains(") Z 1 "));
    }

    #[test]
    fn maps_and_statm() {
        let vmas = [
            Vma {
                start: 0x400000,
                end: 0x401000,
                prot: (libc::PROT_READ | libc::PROT_EXEC) as u32,
                shared: false,
                name: VmaName::File {
                    path: b"/bin/true".to_vec(),
                    dev: 0x803,
                    ino: 1234,
                    offset: 0,
                    max_prot: 7,
                },
            },
            Vma {
                start: 0x7f00_0000_0000,
                end: 0x7f00_0000_2000,
                prot: (libc::PROT_READ | libc::PROT_WRITE) as u32,
                shared: false,
                name: VmaName::Anon,
            },
            Vma {
                start: 0x7ffd_0000_0000,
                end: 0x7ffd_0002_1000,
                prot: (libc::PROT_READ | libc::PROT_WRITE) as u32,
                shared: false,
                name: VmaName::Stack,
            },
        ];
        let m = format_maps(vmas.iter());
        let lines: Vec<&str> = m.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("00400000-00401000 r-xp 00000000 08:03 1234"));
        assert!(lines[0].ends_with(" /bin/true"));
        // Linux ends an unnamed mapping's line with a space after the inode.
        assert_eq!(lines[1], "7f0000000000-7f0000002000 rw-p 00000000 00:00 0 ");
        assert!(lines[2].ends_with(" [stack]"));
        // Linux pads the name column to 73 characters.
        assert_eq!(lines[0].find("/bin/true"), Some(73));
        let vm = vm_counts(vmas.iter());
        assert_eq!(vm.size, 0x1000 + 0x2000 + 0x21000);
        assert_eq!(vm.exe, 0x1000);
        assert_eq!(vm.stk, 0x21000);
        assert_eq!(vm.data, 0x2000);
        assert_eq!(vm.rss_file, 0x1000);
        assert_eq!(format_statm(&vm), "36 36 1 1 0 35 0\n");
    }

    #[test]
    fn limits_table() {
        let mut r = [(RLIM_INFINITY, RLIM_INFINITY); RLIM_NLIMITS];
        r[libc::RLIMIT_NOFILE as usize] = (1024, 1048576);
        let s = format_limits(&r);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 17);
        assert_eq!(
            lines[0],
            "Limit                     Soft Limit           Hard Limit           Units     "
        );
        assert_eq!(
            lines[8],
            "Max open files            1024                 1048576              files     "
        );
        assert_eq!(
            lines[14],
            "Max nice priority         unlimited            unlimited            "
        );
    }

    #[test]
    fn small_formats() {
        assert_eq!(cpu_mask(8), "ff");
        assert_eq!(cpu_mask(1), "1");
        assert_eq!(cpu_mask(40), "ff,ffffffff");
        assert_eq!(cpu_mask(64), "ffffffff,ffffffff");
        assert_eq!(cpu_list(1), "0");
        assert_eq!(cpu_list(4), "0-3");
        assert_eq!(fd_size(0), 64);
        assert_eq!(fd_size(64), 128);
        assert_eq!(
            format_fdinfo(5, 0o2 | 0o2000000, 3, 9),
            "pos:\t5\nflags:\t02000002\nmnt_id:\t3\nino:\t9\n"
        );
        assert_eq!(mangle(b"/a b\\c"), "/a\\040b\\134c");
        let u = uuid_string(&[0xab; 16]);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(u.matches('-').count(), 4);
        let a = format_auxv(&[(6, 4096)]);
        assert_eq!(a.len(), 32);
        assert_eq!(&a[16..], &[0u8; 16]);
        assert_eq!(format_auxv(&[(6, 4096), (0, 0)]).len(), 32);
        assert_eq!(format_uptime(12.345, 40.0), "12.35 40.00\n");
        assert_eq!(parse_id(b"12"), Some(12));
        assert_eq!(parse_id(b"012"), None);
        assert_eq!(parse_id(b"+1"), None);
        assert_eq!(parse_id(b"self"), None);
        assert_eq!(dev_split(0x8803), (0x88, 3));
        assert_eq!(char_dev_path(0x103), "/dev/null");
        assert_eq!(char_dev_path((136 << 8) | 2), "/dev/pts/2");
    }

    #[test]
    fn meminfo_and_stat() {
        let m = format_meminfo(&MemFigures {
            total: 16 << 30,
            free: 8 << 30,
            ..MemFigures::default()
        });
        assert!(m.starts_with("MemTotal:       16777216 kB\nMemFree:         8388608 kB\n"));
        let s = format_proc_stat(2, (10, 4, 100), 1_700_000_000, 9);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "cpu  10 0 4 100 0 0 0 0 0 0");
        assert_eq!(lines[1], "cpu0 5 0 2 50 0 0 0 0 0 0");
        assert!(s.contains("btime 1700000000\n"));
        assert!(s.contains("processes 9\n"));
    }

    #[test]
    fn cpuinfo_renumbers() {
        let host = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\n\
                    physical id\t: 1\nsiblings\t: 16\ncore id\t\t: 3\ncpu cores\t: 8\n\
                    power management:\n\nprocessor\t: 1\n";
        let block = parse_cpu_block(host);
        assert_eq!(block.len(), 8);
        let s = format_cpuinfo(&block, 2);
        let cpus: Vec<&str> = s.split("\n\n").filter(|b| !b.is_empty()).collect();
        assert_eq!(cpus.len(), 2);
        assert!(cpus[1].contains("processor\t: 1\n"));
        assert!(cpus[1].contains("core id\t\t: 1\n"));
        assert!(cpus[1].contains("siblings\t: 2\n"));
        assert!(cpus[1].contains("model name\t: Test CPU\n"));
        assert!(cpus[1].contains("physical id\t: 0\n"));
        assert!(cpus[0].ends_with("power management:"));
    }

    #[test]
    fn static_table_is_consistent() {
        for (i, (p, _)) in STATIC.iter().enumerate() {
            let parent = static_parent(p);
            if !parent.is_empty() {
                let pi = STATIC.iter().position(|(q, _)| *q == parent);
                assert!(
                    matches!(pi, Some(j) if j < i && STATIC[j].1 == StaticKind::Dir),
                    "{p}"
                );
            }
            assert_eq!(STATIC.iter().filter(|(q, _)| q == p).count(), 1);
        }
        let mut seen = std::collections::BTreeSet::new();
        for (n, _) in PID_ENTRIES {
            assert!(seen.insert(*n));
        }
        assert_ne!(ino_of("/1/stat"), ino_of("/1/status"));
        assert_eq!(ino_of("/"), 1);
    }

    /// A kernel with a tmpfs root, procfs on /proc and one task (pid 1)
    /// whose fd 0 is a pipe and fd 1 a tmpfs file.
    fn sandbox() -> Option<(Arc<Kernel>, Location, Arc<Task>)> {
        use crate::fs::tmpfs::Tmpfs;
        use crate::fs::vfs::Vfs;
        use crate::fs::OpenFile;
        use crate::kernel::{KernelConfig, TaskInner};

        let vfs = Vfs::new();
        let rootfs = Tmpfs::new(0x2a, 0o755, 0, 0, None);
        rootfs.mkdir(b"proc", 0o555, 0, 0).ok()?;
        let dir = rootfs.mkdir(b"work dir", 0o755, 0, 0).ok()?;
        let file = dir.create(b"f", 0o644, 0, 0).ok()?;
        let root = vfs.mount_root(rootfs, "tmpfs", "none", false);
        let config = KernelConfig {
            strace: false,
            strace_log: None,
            release: "5.15.0-rvisor".into(),
            version: "#1 SMP rvisor".into(),
            init_rlimits: Vec::new(),
            init_no_new_privs: false,
            init_unkillable: false,
            inet: false,
            unprivileged_port_start: 1024,
        };
        let kernel = Kernel::new(vfs.clone(), config, "box".into());
        let proc_dir = vfs.resolve(&root, &root, b"/proc", true).ok()?;
        vfs.mount_at_with_flags(
            &proc_dir,
            new_procfs(Arc::downgrade(&kernel), 0x30),
            "proc",
            "proc",
            false,
            crate::fs::vfs::MOUNT_FLAGS,
        )
        .ok()?;
        let cwd = vfs.resolve(&root, &root, b"/work dir", true).ok()?;
        let floc = vfs.resolve(&root, &root, b"/work dir/f", true).ok()?;
        let files = FdTable::new();
        let (r, _w) = crate::fs::pipe::Pipe::new_pair(77);
        files
            .insert_at(
                0,
                OpenFile::new(r, libc::O_RDONLY as u32, None),
                false,
                1024,
            )
            .ok()?;
        let fops = file.clone().open(libc::O_RDWR as u32).ok()?;
        files
            .insert_at(
                1,
                OpenFile::new(fops, libc::O_RDWR as u32, Some(floc)),
                true,
                1024,
            )
            .ok()?;
        let inner = TaskInner {
            mm: Arc::new(Mm::default()),
            files,
            fs: Arc::new(Mutex::new(FsContext {
                root: root.clone(),
                cwd,
                umask: 0o027,
            })),
            sigmask: 0,
            saved_mask: None,
            pending: Default::default(),
            altstack: Default::default(),
            clear_child_tid: 0,
            robust_list: (0, 0),
            comm: b"init".to_vec(),
            vfork_done: None,
            pdeathsig: 0,
        };
        let task = kernel.new_task(
            None,
            |pid| {
                crate::kernel::task::new_group_inner(None, pid, pid, Creds::new(1000, 1000, vec![]))
            },
            inner,
        )?;
        Some((kernel, root, task))
    }

    fn read_all(k: &Kernel, root: &Location, path: &[u8]) -> SysResult<Vec<u8>> {
        let loc = k.vfs.resolve(root, root, path, true)?;
        let f = loc.dentry.inode.clone().open(libc::O_RDONLY as u32)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 100];
        loop {
            let n = f.read(&mut buf, out.len() as u64)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn names(k: &Kernel, root: &Location, path: &[u8]) -> Vec<String> {
        let loc = k.vfs.resolve(root, root, path, true).expect("resolve");
        loc.dentry
            .inode
            .readdir()
            .expect("readdir")
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect()
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn end_to_end() {
        let (k, root, task) = sandbox().expect("sandbox");
        let pid = task.tid;
        set_current(pid, pid);
        let vfs = &k.vfs;
        let rl = |p: &[u8]| {
            let l = vfs.resolve(&root, &root, p, false).unwrap();
            String::from_utf8(l.dentry.inode.readlink().unwrap()).unwrap()
        };
        assert_eq!(rl(b"/proc/self"), pid.to_string());
        assert_eq!(rl(b"/proc/thread-self"), format!("{pid}/task/{pid}"));
        assert_eq!(rl(b"/proc/mounts"), "self/mounts");
        assert_eq!(rl(b"/proc/self/cwd"), "/work dir");
        assert_eq!(rl(b"/proc/self/root"), "/");
        assert_eq!(rl(b"/proc/self/fd/1"), "/work dir/f");
        assert!(rl(b"/proc/self/fd/0").starts_with("pipe:["));
        // Magic links lead to the real place.
        let cwd = vfs
            .resolve(&root, &root, b"/proc/self/cwd/f", true)
            .unwrap();
        assert!(cwd.attr().unwrap().is_reg());
        let via_fd = vfs.resolve(&root, &root, b"/proc/self/fd/1", true).unwrap();
        assert_eq!(vfs.path_of(&via_fd, &root), b"/work dir/f");
        let pipe = vfs.resolve(&root, &root, b"/proc/self/fd/0", true).unwrap();
        assert_eq!(pipe.attr().unwrap().mode & S_IFMT, S_IFIFO);
        assert!(pipe.dentry.inode.clone().open(0).is_ok());
        // Listings match lookups.
        let top = names(&k, &root, b"/proc");
        for n in ["self", "thread-self", "cpuinfo", "sys", &pid.to_string()] {
            assert!(top.iter().any(|t| t == n), "{n} in {top:?}");
        }
        for n in &top {
            assert!(vfs
                .resolve(&root, &root, format!("/proc/{n}").as_bytes(), false)
                .is_ok());
        }
        let pd = names(&k, &root, b"/proc/self");
        for n in &pd {
            let p = format!("/proc/self/{n}");
            let l = vfs.resolve(&root, &root, p.as_bytes(), false).unwrap();
            let a = l.attr().unwrap();
            assert_eq!(a.dev, 0x30);
            assert_eq!(a.uid, 1000, "{p}");
            if a.is_reg() && a.mode & 0o444 != 0 {
                read_all(&k, &root, p.as_bytes()).unwrap();
            }
        }
        assert_eq!(names(&k, &root, b"/proc/self/fd"), ["0", "1"]);
        assert_eq!(names(&k, &root, b"/proc/self/task"), [pid.to_string()]);
        assert!(!names(&k, &root, b"/proc/self/task/1").contains(&"task".to_string()));
        assert!(vfs.resolve(&root, &root, b"/proc/2", false).is_err());
        assert!(vfs
            .resolve(&root, &root, b"/proc/self/fd/7", false)
            .is_err());
        // Contents.
        let status = String::from_utf8(read_all(&k, &root, b"/proc/self/status").unwrap()).unwrap();
        assert!(status.starts_with("Name:\tinit\nUmask:\t0027\nState:\tR (running)\n"));
        assert!(status.contains("\nPPid:\t0\n"));
        let stat = String::from_utf8(read_all(&k, &root, b"/proc/1/task/1/stat").unwrap()).unwrap();
        assert!(stat.starts_with("1 (init) R 0 1 1 "));
        let fdinfo =
            String::from_utf8(read_all(&k, &root, b"/proc/self/fdinfo/1").unwrap()).unwrap();
        assert!(
            fdinfo.starts_with("pos:\t0\nflags:\t02100002\n"),
            "{fdinfo}"
        );
        let mounts = String::from_utf8(read_all(&k, &root, b"/proc/mounts").unwrap()).unwrap();
        assert_eq!(
            mounts,
            "none / tmpfs rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        );
        let mi = String::from_utf8(read_all(&k, &root, b"/proc/self/mountinfo").unwrap()).unwrap();
        assert!(
            mi.lines().nth(1).unwrap().contains(" 0:48 / /proc rw,"),
            "{mi}"
        );
        assert_eq!(
            read_all(&k, &root, b"/proc/sys/kernel/hostname").unwrap(),
            b"box\n"
        );
        assert_eq!(
            read_all(&k, &root, b"/proc/sys/kernel/ostype").unwrap(),
            b"Linux\n"
        );
        let v = read_all(&k, &root, b"/proc/version").unwrap();
        assert_eq!(v, b"Linux version 5.15.0-rvisor (rvisor) #1 SMP rvisor\n");
        let u1 = read_all(&k, &root, b"/proc/sys/kernel/random/uuid").unwrap();
        let u2 = read_all(&k, &root, b"/proc/sys/kernel/random/uuid").unwrap();
        assert_ne!(u1, u2);
        let b1 = read_all(&k, &root, b"/proc/sys/kernel/random/boot_id").unwrap();
        assert_eq!(
            b1,
            read_all(&k, &root, b"/proc/sys/kernel/random/boot_id").unwrap()
        );
        assert!(read_all(&k, &root, b"/proc/stat")
            .unwrap()
            .starts_with(b"cpu  "));
        assert!(read_all(&k, &root, b"/proc/meminfo")
            .unwrap()
            .starts_with(b"MemTotal:"));
        assert!(read_all(&k, &root, b"/proc/cpuinfo")
            .unwrap()
            .starts_with(b"processor"));
        // Writes: refused except comm and oom_score_adj.
        let ver = vfs.resolve(&root, &root, b"/proc/version", true).unwrap();
        assert_eq!(
            ver.dentry.inode.clone().open(libc::O_WRONLY as u32).err(),
            Some(Errno::EACCES)
        );
        let comm = vfs.resolve(&root, &root, b"/proc/self/comm", true).unwrap();
        let f = comm
            .dentry
            .inode
            .clone()
            .open(libc::O_WRONLY as u32)
            .unwrap();
        assert_eq!(f.write(b"renamed-to-something-long\n", 0).unwrap(), 26);
        assert_eq!(
            read_all(&k, &root, b"/proc/self/comm").unwrap(),
            b"renamed-to-some\n"
        );
        let adj = vfs
            .resolve(&root, &root, b"/proc/self/oom_score_adj", true)
            .unwrap();
        let f = adj
            .dentry
            .inode
            .clone()
            .open(libc::O_WRONLY as u32)
            .unwrap();
        assert!(f.write(b"500\n", 0).is_ok());
        assert_eq!(f.write(b"5000", 0).err(), Some(Errno::EINVAL));
        assert_eq!(
            read_all(&k, &root, b"/proc/self/oom_score_adj").unwrap(),
            b"500\n"
        );
        // A re-read at offset 0 regenerates.
        let st = vfs.resolve(&root, &root, b"/proc/self/comm", true).unwrap();
        let f = st.dentry.inode.clone().open(0).unwrap();
        let mut b = [0u8; 64];
        assert_eq!(f.read(&mut b, 0).unwrap(), 16);
        task.inner.lock().unwrap().comm = b"x".to_vec();
        assert_eq!(f.read(&mut b, 0).unwrap(), 2);
        clear_current();
        assert!(vfs
            .resolve(&root, &root, b"/proc/self/status", true)
            .is_err());
    }
}
