//! Linux x86-64 ABI structures and constants.
//!
//! Every structure here is `#[repr(C)]` (or `#[repr(C, packed)]` where the
//! kernel packs it), has explicit padding fields so that it contains no
//! implicit padding, and derives the `zerocopy` traits so it can be copied to
//! and from tracee memory as raw bytes. Sizes and the offsets of the
//! interesting fields are checked at compile time against the x86-64 kernel
//! ABI.
//!
//! Constants that `libc` already provides are not duplicated here; only the
//! ones `libc` lacks (or declares with an inconvenient type) are defined.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

// ---------------------------------------------------------------------------
// File status
// ---------------------------------------------------------------------------

/// `struct stat` as returned by `stat(2)`, `fstat(2)`, `lstat(2)` and
/// `newfstatat(2)` on x86-64 (144 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Stat {
    /// ID of the device containing the file.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Number of hard links.
    pub st_nlink: u64,
    /// File type and mode.
    pub st_mode: u32,
    /// Owner user ID.
    pub st_uid: u32,
    /// Owner group ID.
    pub st_gid: u32,
    /// Padding (explicit, always zero).
    pub __pad0: i32,
    /// Device ID (if special file).
    pub st_rdev: u64,
    /// Total size in bytes.
    pub st_size: i64,
    /// Block size for filesystem I/O.
    pub st_blksize: i64,
    /// Number of 512-byte blocks allocated.
    pub st_blocks: i64,
    /// Last access time, seconds.
    pub st_atime: i64,
    /// Last access time, nanoseconds.
    pub st_atime_nsec: i64,
    /// Last modification time, seconds.
    pub st_mtime: i64,
    /// Last modification time, nanoseconds.
    pub st_mtime_nsec: i64,
    /// Last status change time, seconds.
    pub st_ctime: i64,
    /// Last status change time, nanoseconds.
    pub st_ctime_nsec: i64,
    /// Reserved.
    pub __unused: [i64; 3],
}

/// `struct statx_timestamp` (16 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// Reserved (explicit padding).
    pub __reserved: i32,
}

/// `struct statx` as filled by `statx(2)` (256 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Statx {
    /// Mask of bits indicating filled fields (`STATX_*`).
    pub stx_mask: u32,
    /// Block size for filesystem I/O.
    pub stx_blksize: u32,
    /// Extra file attribute indicators (`STATX_ATTR_*`).
    pub stx_attributes: u64,
    /// Number of hard links.
    pub stx_nlink: u32,
    /// Owner user ID.
    pub stx_uid: u32,
    /// Owner group ID.
    pub stx_gid: u32,
    /// File type and mode.
    pub stx_mode: u16,
    /// Padding (explicit).
    pub __spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Total size in bytes.
    pub stx_size: u64,
    /// Number of 512-byte blocks allocated.
    pub stx_blocks: u64,
    /// Mask to show what's supported in `stx_attributes`.
    pub stx_attributes_mask: u64,
    /// Last access time.
    pub stx_atime: StatxTimestamp,
    /// Creation time.
    pub stx_btime: StatxTimestamp,
    /// Last status change time.
    pub stx_ctime: StatxTimestamp,
    /// Last modification time.
    pub stx_mtime: StatxTimestamp,
    /// Major device ID (if special file).
    pub stx_rdev_major: u32,
    /// Minor device ID (if special file).
    pub stx_rdev_minor: u32,
    /// Major ID of the containing device.
    pub stx_dev_major: u32,
    /// Minor ID of the containing device.
    pub stx_dev_minor: u32,
    /// Mount ID.
    pub stx_mnt_id: u64,
    /// Memory buffer alignment for direct I/O.
    pub stx_dio_mem_align: u32,
    /// File offset alignment for direct I/O.
    pub stx_dio_offset_align: u32,
    /// Subvolume identifier.
    pub stx_subvol: u64,
    /// Minimum size for direct atomic writes.
    pub stx_atomic_write_unit_min: u32,
    /// Maximum size for direct atomic writes.
    pub stx_atomic_write_unit_max: u32,
    /// Maximum iovecs for direct atomic writes.
    pub stx_atomic_write_segments_max: u32,
    /// Reserved (explicit padding).
    pub __spare1: u32,
    /// Reserved for future expansion.
    pub __spare3: [u64; 9],
}

/// `struct statfs` as filled by `statfs(2)`/`fstatfs(2)` on x86-64 (120 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Statfs {
    /// Filesystem type magic.
    pub f_type: i64,
    /// Optimal transfer block size.
    pub f_bsize: i64,
    /// Total data blocks.
    pub f_blocks: u64,
    /// Free blocks.
    pub f_bfree: u64,
    /// Free blocks available to unprivileged users.
    pub f_bavail: u64,
    /// Total inodes.
    pub f_files: u64,
    /// Free inodes.
    pub f_ffree: u64,
    /// Filesystem ID.
    pub f_fsid: [i32; 2],
    /// Maximum filename length.
    pub f_namelen: i64,
    /// Fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Reserved.
    pub f_spare: [i64; 4],
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// `struct timespec` (16 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}

/// `struct timeval` (16 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}

/// `struct itimerval` for `getitimer(2)`/`setitimer(2)` (32 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Itimerval {
    /// Interval for periodic timer.
    pub it_interval: Timeval,
    /// Time until next expiration.
    pub it_value: Timeval,
}

/// `struct itimerspec` for POSIX timers and timerfd (32 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Itimerspec {
    /// Interval for periodic timer.
    pub it_interval: Timespec,
    /// Time until next expiration.
    pub it_value: Timespec,
}

/// `struct timezone` for `gettimeofday(2)` (8 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}

/// `struct tms` for `times(2)` (32 bytes, values in clock ticks).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Tms {
    /// User CPU time.
    pub tms_utime: i64,
    /// System CPU time.
    pub tms_stime: i64,
    /// User CPU time of waited-for children.
    pub tms_cutime: i64,
    /// System CPU time of waited-for children.
    pub tms_cstime: i64,
}

// ---------------------------------------------------------------------------
// Resources and system information
// ---------------------------------------------------------------------------

/// `struct rlimit` / `struct rlimit64` (16 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Rlimit {
    /// Soft limit.
    pub rlim_cur: u64,
    /// Hard limit (ceiling for `rlim_cur`).
    pub rlim_max: u64,
}

/// `struct rusage` for `getrusage(2)` and `wait4(2)` (144 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Rusage {
    /// User CPU time used.
    pub ru_utime: Timeval,
    /// System CPU time used.
    pub ru_stime: Timeval,
    /// Maximum resident set size (KiB).
    pub ru_maxrss: i64,
    /// Integral shared memory size.
    pub ru_ixrss: i64,
    /// Integral unshared data size.
    pub ru_idrss: i64,
    /// Integral unshared stack size.
    pub ru_isrss: i64,
    /// Page reclaims (soft page faults).
    pub ru_minflt: i64,
    /// Page faults (hard page faults).
    pub ru_majflt: i64,
    /// Swaps.
    pub ru_nswap: i64,
    /// Block input operations.
    pub ru_inblock: i64,
    /// Block output operations.
    pub ru_oublock: i64,
    /// IPC messages sent.
    pub ru_msgsnd: i64,
    /// IPC messages received.
    pub ru_msgrcv: i64,
    /// Signals received.
    pub ru_nsignals: i64,
    /// Voluntary context switches.
    pub ru_nvcsw: i64,
    /// Involuntary context switches.
    pub ru_nivcsw: i64,
}

/// Length of each field of [`Utsname`], including the terminating NUL.
pub const UTSNAME_LEN: usize = 65;

/// `struct new_utsname` for `uname(2)` (390 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Utsname {
    /// Operating system name (e.g. "Linux").
    pub sysname: [u8; UTSNAME_LEN],
    /// Network node hostname.
    pub nodename: [u8; UTSNAME_LEN],
    /// Operating system release.
    pub release: [u8; UTSNAME_LEN],
    /// Operating system version.
    pub version: [u8; UTSNAME_LEN],
    /// Hardware identifier (e.g. "x86_64").
    pub machine: [u8; UTSNAME_LEN],
    /// NIS or YP domain name.
    pub domainname: [u8; UTSNAME_LEN],
}

impl Default for Utsname {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Utsname {
    /// Copies `value` into a utsname field, truncating it to 64 bytes and
    /// NUL-filling the remainder.
    pub fn set_field(field: &mut [u8; UTSNAME_LEN], value: &[u8]) {
        *field = [0; UTSNAME_LEN];
        let n = value.len().min(UTSNAME_LEN - 1);
        if let (Some(dst), Some(src)) = (field.get_mut(..n), value.get(..n)) {
            dst.copy_from_slice(src);
        }
    }

    /// Returns the bytes of a utsname field up to (not including) the first NUL.
    pub fn field_bytes(field: &[u8; UTSNAME_LEN]) -> &[u8] {
        let end = field.iter().position(|&b| b == 0).unwrap_or(UTSNAME_LEN);
        field.get(..end).unwrap_or(&[])
    }
}

/// `struct sysinfo` for `sysinfo(2)` on x86-64 (112 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages (scaled by `1 << SI_LOAD_SHIFT`).
    pub loads: [u64; 3],
    /// Total usable main memory size.
    pub totalram: u64,
    /// Available memory size.
    pub freeram: u64,
    /// Amount of shared memory.
    pub sharedram: u64,
    /// Memory used by buffers.
    pub bufferram: u64,
    /// Total swap space size.
    pub totalswap: u64,
    /// Swap space still available.
    pub freeswap: u64,
    /// Number of current processes.
    pub procs: u16,
    /// Explicit padding (kernel field `pad`).
    pub pad: u16,
    /// Explicit padding to align `totalhigh`.
    pub _pad2: u32,
    /// Total high memory size.
    pub totalhigh: u64,
    /// Available high memory size.
    pub freehigh: u64,
    /// Memory unit size in bytes.
    pub mem_unit: u32,
    /// Explicit tail padding.
    pub _f: [u8; 4],
}

/// Shift applied to [`Sysinfo::loads`] values.
pub const SI_LOAD_SHIFT: u32 = 16;

// ---------------------------------------------------------------------------
// I/O
// ---------------------------------------------------------------------------

/// `struct iovec` (16 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Iovec {
    /// Start address in tracee memory.
    pub iov_base: u64,
    /// Number of bytes.
    pub iov_len: u64,
}

/// `struct pollfd` (8 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PollFd {
    /// File descriptor.
    pub fd: i32,
    /// Requested events.
    pub events: i16,
    /// Returned events.
    pub revents: i16,
}

/// `struct epoll_event`, which is packed on x86-64 (12 bytes).
#[repr(C, packed)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct EpollEvent {
    /// Event mask (`EPOLLIN`, ...).
    pub events: u32,
    /// User data.
    pub data: u64,
}

/// Offset of the name within a `struct linux_dirent64` record.
pub const DIRENT64_NAME_OFFSET: usize = 19;

/// Header of `struct linux_dirent64` (as returned by `getdents64(2)`); the
/// real header is 19 bytes followed by the NUL-terminated name, so this
/// struct is only descriptive. Use [`encode_dirent64`] to produce records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinuxDirent64Header {
    /// Inode number.
    pub d_ino: u64,
    /// Offset to the next record (opaque cookie).
    pub d_off: i64,
    /// Length of this record, a multiple of 8.
    pub d_reclen: u16,
    /// File type (`DT_*`).
    pub d_type: u8,
}

/// Longest name [`encode_dirent64`] will encode; longer names are truncated so
/// that `d_reclen` fits in a `u16`. (Real names are at most 255 bytes.)
pub const DIRENT64_MAX_NAME: usize = 0xfff0 - DIRENT64_NAME_OFFSET - 1;

/// Returns the record length (`d_reclen`) of a `linux_dirent64` entry whose
/// name is `name_len` bytes long: header + name + NUL, rounded up to 8.
pub fn dirent64_reclen(name_len: usize) -> usize {
    let n = name_len.min(DIRENT64_MAX_NAME);
    (DIRENT64_NAME_OFFSET + n + 1 + 7) & !7
}

/// Appends one `struct linux_dirent64` record to `buf`: 19-byte header, the
/// name, a NUL terminator, and zero padding up to the 8-byte aligned
/// `d_reclen`. Names longer than [`DIRENT64_MAX_NAME`] are truncated.
pub fn encode_dirent64(buf: &mut Vec<u8>, ino: u64, off: i64, dtype: u8, name: &[u8]) {
    let name = name.get(..name.len().min(DIRENT64_MAX_NAME)).unwrap_or(&[]);
    let reclen = dirent64_reclen(name.len());
    let start = buf.len();
    buf.reserve(reclen);
    buf.extend_from_slice(&ino.to_le_bytes());
    buf.extend_from_slice(&off.to_le_bytes());
    // `reclen` is at most 0xfff0 thanks to DIRENT64_MAX_NAME.
    buf.extend_from_slice(&u16::try_from(reclen).unwrap_or(u16::MAX).to_le_bytes());
    buf.push(dtype);
    buf.extend_from_slice(name);
    buf.resize(start + reclen, 0);
}

/// `struct sockaddr_un` (110 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SockaddrUn {
    /// Address family (`AF_UNIX`).
    pub sun_family: u16,
    /// Path name (NUL-terminated unless it fills the array; abstract
    /// addresses start with a NUL byte).
    pub sun_path: [u8; 108],
}

impl Default for SockaddrUn {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl SockaddrUn {
    /// Builds an `AF_UNIX` address for `path`; returns `None` if the path
    /// does not fit in `sun_path`.
    pub fn new(path: &[u8]) -> Option<Self> {
        let mut s = Self {
            sun_family: libc::AF_UNIX as u16,
            ..Self::default()
        };
        s.sun_path.get_mut(..path.len())?.copy_from_slice(path);
        Some(s)
    }
}

/// `struct robust_list_head` for `set_robust_list(2)` (24 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RobustListHead {
    /// Pointer to the first `struct robust_list` (the head itself when empty).
    pub list: u64,
    /// Offset from a list entry to its futex word.
    pub futex_offset: i64,
    /// Entry being acquired or released, if any.
    pub list_op_pending: u64,
}

/// `struct clone_args` for `clone3(2)` (88 bytes, `CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CloneArgs {
    /// Flags bit mask (`CLONE_*`).
    pub flags: u64,
    /// Where to store the pidfd (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// Where to store the child TID in child memory (`CLONE_CHILD_SETTID`).
    pub child_tid: u64,
    /// Where to store the child TID in parent memory (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// Signal delivered to the parent on child termination.
    pub exit_signal: u64,
    /// Lowest address of the child stack.
    pub stack: u64,
    /// Size of the child stack.
    pub stack_size: u64,
    /// Thread-local storage descriptor (`CLONE_SETTLS`).
    pub tls: u64,
    /// Pointer to an array of TIDs (VER1).
    pub set_tid: u64,
    /// Number of elements in `set_tid` (VER1).
    pub set_tid_size: u64,
    /// Cgroup file descriptor (`CLONE_INTO_CGROUP`, VER2).
    pub cgroup: u64,
}

/// Size of the first published `struct clone_args`.
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// Size of `struct clone_args` with `set_tid`/`set_tid_size`.
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// Size of `struct clone_args` with `cgroup`.
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// Kernel `struct sigaction` as used by `rt_sigaction(2)` on x86-64 (32 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SigactionRaw {
    /// Handler address, or `SIG_DFL` (0) / `SIG_IGN` (1).
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// Restorer trampoline (`SA_RESTORER`).
    pub restorer: u64,
    /// Signals blocked while the handler runs (bit `n-1` for signal `n`).
    pub mask: u64,
}

/// `stack_t` for `sigaltstack(2)` and `ucontext` (24 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StackT {
    /// Base address of the stack.
    pub ss_sp: u64,
    /// `SS_ONSTACK`, `SS_DISABLE`, `SS_AUTODISARM`.
    pub ss_flags: i32,
    /// Explicit padding.
    pub _pad: i32,
    /// Size of the stack.
    pub ss_size: u64,
}

/// `siginfo_t` (128 bytes).
///
/// The union following the common header is represented as `fields`; use the
/// constructors and accessors below to read or write the per-layout members
/// at the offsets the kernel uses on x86-64:
///
/// | layout   | `fields[0]`            | `fields[1]`          | `fields[2]` | `fields[3]` |
/// |----------|------------------------|----------------------|-------------|-------------|
/// | kill     | pid (lo) / uid (hi)    |                      |             |             |
/// | timer    | tid (lo) / overrun (hi)| sigval               |             |             |
/// | rt       | pid (lo) / uid (hi)    | sigval               |             |             |
/// | sigchld  | pid (lo) / uid (hi)    | status (lo)          | utime       | stime       |
/// | sigfault | addr                   |                      |             |             |
/// | sigpoll  | band                   | fd (lo)              |             |             |
/// | sigsys   | call_addr              | syscall (lo)/arch(hi)|             |             |
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Siginfo {
    /// Signal number.
    pub si_signo: i32,
    /// Errno value (usually 0).
    pub si_errno: i32,
    /// Signal code (`SI_USER`, `CLD_EXITED`, `SEGV_MAPERR`, ...).
    pub si_code: i32,
    /// Explicit padding before the 8-byte aligned union.
    pub _pad: i32,
    /// The union, as 14 little-endian 64-bit words.
    pub fields: [u64; 14],
}

fn lo_hi(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

impl Siginfo {
    /// A siginfo with only the header set.
    pub fn new(signo: i32, code: i32) -> Self {
        Self {
            si_signo: signo,
            si_code: code,
            ..Self::default()
        }
    }

    /// `kill(2)`-style siginfo (`SI_USER`, `SI_TKILL`, ...) carrying sender pid and uid.
    pub fn kill(signo: i32, code: i32, pid: i32, uid: u32) -> Self {
        let mut s = Self::new(signo, code);
        s.set_pid_uid(pid, uid);
        s
    }

    /// `SIGCHLD` siginfo for a child state change. `code` is a `CLD_*` value,
    /// `status` the exit code or signal number, `utime`/`stime` in clock ticks.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> Self {
        let mut s = Self::new(libc::SIGCHLD, code);
        s.set_pid_uid(pid, uid);
        s.set_child(status, utime, stime);
        s
    }

    /// Fault siginfo (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`) with the faulting address.
    pub fn fault(signo: i32, code: i32, addr: u64) -> Self {
        let mut s = Self::new(signo, code);
        s.set_addr(addr);
        s
    }

    /// POSIX timer siginfo (`SI_TIMER`) with timer id, overrun count and sigval.
    pub fn timer(signo: i32, timer_id: i32, overrun: i32, value: u64) -> Self {
        let mut s = Self::new(signo, SI_TIMER);
        s.set_timer(timer_id, overrun, value);
        s
    }

    /// `sigqueue(3)`/`rt_sigqueueinfo(2)`-style siginfo with sender pid, uid and sigval.
    pub fn sigqueue(signo: i32, code: i32, pid: i32, uid: u32, value: u64) -> Self {
        let mut s = Self::new(signo, code);
        s.set_pid_uid(pid, uid);
        s.set_value(value);
        s
    }

    /// Seccomp `SIGSYS` siginfo (`SYS_SECCOMP`).
    pub fn sigsys(call_addr: u64, syscall: i32, arch: u32) -> Self {
        let mut s = Self::new(libc::SIGSYS, SYS_SECCOMP);
        s.fields[0] = call_addr;
        s.fields[1] = lo_hi(syscall as u32, arch);
        s
    }

    /// `SIGIO`/`SIGPOLL` siginfo with band and fd.
    pub fn poll(signo: i32, code: i32, band: i64, fd: i32) -> Self {
        let mut s = Self::new(signo, code);
        s.fields[0] = band as u64;
        s.fields[1] = u64::from(fd as u32);
        s
    }

    /// Sets `si_pid` and `si_uid` (kill, rt and sigchld layouts).
    pub fn set_pid_uid(&mut self, pid: i32, uid: u32) {
        self.fields[0] = lo_hi(pid as u32, uid);
    }

    /// Sets `si_status`, `si_utime`, `si_stime` (sigchld layout).
    pub fn set_child(&mut self, status: i32, utime: i64, stime: i64) {
        self.fields[1] = u64::from(status as u32);
        self.fields[2] = utime as u64;
        self.fields[3] = stime as u64;
    }

    /// Sets `si_addr` (sigfault layout).
    pub fn set_addr(&mut self, addr: u64) {
        self.fields[0] = addr;
    }

    /// Sets `si_tid`, `si_overrun` and `si_value` (timer layout).
    pub fn set_timer(&mut self, timer_id: i32, overrun: i32, value: u64) {
        self.fields[0] = lo_hi(timer_id as u32, overrun as u32);
        self.fields[1] = value;
    }

    /// Sets `si_value` (rt and timer layouts).
    pub fn set_value(&mut self, value: u64) {
        self.fields[1] = value;
    }

    /// `si_pid` (kill, rt, sigchld layouts).
    pub fn pid(&self) -> i32 {
        self.fields[0] as u32 as i32
    }

    /// `si_uid` (kill, rt, sigchld layouts).
    pub fn uid(&self) -> u32 {
        (self.fields[0] >> 32) as u32
    }

    /// `si_status` (sigchld layout).
    pub fn status(&self) -> i32 {
        self.fields[1] as u32 as i32
    }

    /// `si_utime` (sigchld layout).
    pub fn utime(&self) -> i64 {
        self.fields[2] as i64
    }

    /// `si_stime` (sigchld layout).
    pub fn stime(&self) -> i64 {
        self.fields[3] as i64
    }

    /// `si_addr` (sigfault layout).
    pub fn addr(&self) -> u64 {
        self.fields[0]
    }

    /// `si_value` (rt and timer layouts).
    pub fn value(&self) -> u64 {
        self.fields[1]
    }

    /// `si_tid` (timer layout: the kernel timer id).
    pub fn timer_id(&self) -> i32 {
        self.fields[0] as u32 as i32
    }

    /// `si_overrun` (timer layout).
    pub fn overrun(&self) -> i32 {
        (self.fields[0] >> 32) as u32 as i32
    }
}

/// x86-64 `struct sigcontext` (the `uc_mcontext` of a signal frame, 256 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Sigcontext {
    /// r8.
    pub r8: u64,
    /// r9.
    pub r9: u64,
    /// r10.
    pub r10: u64,
    /// r11.
    pub r11: u64,
    /// r12.
    pub r12: u64,
    /// r13.
    pub r13: u64,
    /// r14.
    pub r14: u64,
    /// r15.
    pub r15: u64,
    /// rdi.
    pub rdi: u64,
    /// rsi.
    pub rsi: u64,
    /// rbp.
    pub rbp: u64,
    /// rbx.
    pub rbx: u64,
    /// rdx.
    pub rdx: u64,
    /// rax.
    pub rax: u64,
    /// rcx.
    pub rcx: u64,
    /// rsp.
    pub rsp: u64,
    /// rip.
    pub rip: u64,
    /// rflags.
    pub eflags: u64,
    /// cs selector.
    pub cs: u16,
    /// gs selector.
    pub gs: u16,
    /// fs selector.
    pub fs: u16,
    /// ss selector (only restored with `UC_STRICT_RESTORE_SS`).
    pub ss: u16,
    /// Hardware error code.
    pub err: u64,
    /// Trap number.
    pub trapno: u64,
    /// Old signal mask (legacy).
    pub oldmask: u64,
    /// Faulting address (page faults).
    pub cr2: u64,
    /// Pointer to the FPU/XSAVE state in the frame, or 0.
    pub fpstate: u64,
    /// Reserved.
    pub reserved1: [u64; 8],
}

/// x86-64 kernel `struct ucontext` as laid out in an rt signal frame (304 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Ucontext {
    /// `UC_*` flags.
    pub uc_flags: u64,
    /// Linked context (unused by the kernel).
    pub uc_link: u64,
    /// Alternate signal stack in effect.
    pub uc_stack: StackT,
    /// Saved registers.
    pub uc_mcontext: Sigcontext,
    /// Signal mask to restore on return.
    pub uc_sigmask: u64,
}

/// x86-64 `struct rt_sigframe` (without the trailing FPU state, 440 bytes).
/// The stack pointer at handler entry points at `pretcode`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RtSigframe {
    /// Return address: the `sa_restorer` trampoline.
    pub pretcode: u64,
    /// Saved user context.
    pub uc: Ucontext,
    /// Signal information passed to `SA_SIGINFO` handlers.
    pub info: Siginfo,
}

// ---------------------------------------------------------------------------
// Constants libc lacks (or types inconveniently)
// ---------------------------------------------------------------------------

/// Number of signals (`_NSIG`); valid signals are `1..=NSIG`.
pub const NSIG: u32 = 64;
/// `sa_flags`: `sa_restorer` is valid.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `ss_flags`: disarm the alternate stack on handler entry.
pub const SS_AUTODISARM: i32 = 1 << 31;
/// `uc_flags`: the frame contains extended (XSAVE) FPU state.
pub const UC_FP_XSTATE: u64 = 0x1;
/// `uc_flags`: `ss` in sigcontext is valid.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `uc_flags`: restore `ss` from sigcontext on sigreturn.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// `_fpx_sw_bytes.magic1` marking an XSAVE frame.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// Trailer magic after the XSAVE area in a signal frame.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

/// `si_code`: sent by `kill(2)`.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `si_code`: sent by `sigqueue(3)`.
pub const SI_QUEUE: i32 = -1;
/// `si_code`: POSIX timer expiry.
pub const SI_TIMER: i32 = -2;
/// `si_code`: message queue state change.
pub const SI_MESGQ: i32 = -3;
/// `si_code`: AIO completion.
pub const SI_ASYNCIO: i32 = -4;
/// `si_code`: queued SIGIO.
pub const SI_SIGIO: i32 = -5;
/// `si_code`: sent by `tkill(2)`/`tgkill(2)`.
pub const SI_TKILL: i32 = -6;

/// `SIGSEGV` code: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// `SIGSEGV` code: invalid permissions for mapped object.
pub const SEGV_ACCERR: i32 = 2;
/// `SIGSEGV` code: failed address bound checks.
pub const SEGV_BNDERR: i32 = 3;
/// `SIGSEGV` code: protection key check failure.
pub const SEGV_PKUERR: i32 = 4;
/// `SIGBUS` code: invalid address alignment.
pub const BUS_ADRALN: i32 = 1;
/// `SIGBUS` code: non-existent physical address.
pub const BUS_ADRERR: i32 = 2;
/// `SIGBUS` code: object-specific hardware error.
pub const BUS_OBJERR: i32 = 3;
/// `SIGILL` code: illegal opcode.
pub const ILL_ILLOPC: i32 = 1;
/// `SIGILL` code: illegal operand.
pub const ILL_ILLOPN: i32 = 2;
/// `SIGILL` code: privileged opcode.
pub const ILL_PRVOPC: i32 = 5;
/// `SIGFPE` code: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `SIGFPE` code: integer overflow.
pub const FPE_INTOVF: i32 = 2;
/// `SIGFPE` code: floating-point divide by zero.
pub const FPE_FLTDIV: i32 = 3;
/// `SIGTRAP` code: process breakpoint.
pub const TRAP_BRKPT: i32 = 1;
/// `SIGTRAP` code: process trace trap.
pub const TRAP_TRACE: i32 = 2;
/// `SIGSYS` code: seccomp-triggered.
pub const SYS_SECCOMP: i32 = 1;

/// `arch_prctl(2)`: set the GS base.
pub const ARCH_SET_GS: u64 = 0x1001;
/// `arch_prctl(2)`: set the FS base.
pub const ARCH_SET_FS: u64 = 0x1002;
/// `arch_prctl(2)`: get the FS base.
pub const ARCH_GET_FS: u64 = 0x1003;
/// `arch_prctl(2)`: get the GS base.
pub const ARCH_GET_GS: u64 = 0x1004;
/// `arch_prctl(2)`: query CPUID faulting.
pub const ARCH_GET_CPUID: u64 = 0x1011;
/// `arch_prctl(2)`: enable/disable CPUID faulting.
pub const ARCH_SET_CPUID: u64 = 0x1012;
/// `arch_prctl(2)`: get supported XSAVE features.
pub const ARCH_GET_XCOMP_SUPP: u64 = 0x1021;
/// `arch_prctl(2)`: get permitted XSAVE features.
pub const ARCH_GET_XCOMP_PERM: u64 = 0x1022;
/// `arch_prctl(2)`: request XSAVE feature permission.
pub const ARCH_REQ_XCOMP_PERM: u64 = 0x1023;

/// Futex word bit: there are waiters (robust/PI futexes).
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// Futex word bit: the owner died (robust futexes).
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Futex word mask for the owner TID.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Bitset matching every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u32 = 0xffff_ffff;
/// Mask selecting the futex command from the op argument.
pub const FUTEX_CMD_MASK: u32 = !(128 | 256);
/// Maximum number of robust list entries walked on exit.
pub const ROBUST_LIST_LIMIT: usize = 2048;

/// `rseq` signature expected before abort handlers (x86).
pub const RSEQ_SIG: u32 = 0x5305_3053;

/// `clone3` flag: reset signal handlers to default in the child.
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// `clone3` flag: place the child in the cgroup given by `cgroup`.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// Clone flag: new time namespace (shares a bit with the exit signal byte).
pub const CLONE_NEWTIME: u64 = 0x80;

// ---------------------------------------------------------------------------
// Compile-time layout checks against the Linux x86-64 ABI
// ---------------------------------------------------------------------------

const _: () = assert!(size_of::<Stat>() == 144);
const _: () = assert!(offset_of!(Stat, st_mode) == 24);
const _: () = assert!(offset_of!(Stat, st_rdev) == 40);
const _: () = assert!(offset_of!(Stat, st_size) == 48);
const _: () = assert!(offset_of!(Stat, st_atime) == 72);
const _: () = assert!(size_of::<StatxTimestamp>() == 16);
const _: () = assert!(size_of::<Statx>() == 256);
const _: () = assert!(offset_of!(Statx, stx_atime) == 0x40);
const _: () = assert!(offset_of!(Statx, stx_rdev_major) == 0x80);
const _: () = assert!(offset_of!(Statx, stx_mnt_id) == 0x90);
const _: () = assert!(offset_of!(Statx, __spare3) == 0xb8);
const _: () = assert!(size_of::<Statfs>() == 120);
const _: () = assert!(size_of::<Timespec>() == 16);
const _: () = assert!(size_of::<Timeval>() == 16);
const _: () = assert!(size_of::<Itimerval>() == 32);
const _: () = assert!(size_of::<Itimerspec>() == 32);
const _: () = assert!(size_of::<Timezone>() == 8);
const _: () = assert!(size_of::<Tms>() == 32);
const _: () = assert!(size_of::<Rlimit>() == 16);
const _: () = assert!(size_of::<Rusage>() == 144);
const _: () = assert!(size_of::<Utsname>() == 390);
const _: () = assert!(size_of::<Sysinfo>() == 112);
const _: () = assert!(offset_of!(Sysinfo, procs) == 80);
const _: () = assert!(offset_of!(Sysinfo, totalhigh) == 88);
const _: () = assert!(offset_of!(Sysinfo, mem_unit) == 104);
const _: () = assert!(size_of::<Iovec>() == 16);
const _: () = assert!(size_of::<PollFd>() == 8);
const _: () = assert!(size_of::<EpollEvent>() == 12);
const _: () = assert!(size_of::<SockaddrUn>() == 110);
const _: () = assert!(size_of::<RobustListHead>() == 24);
const _: () = assert!(size_of::<CloneArgs>() == CLONE_ARGS_SIZE_VER2);
const _: () = assert!(size_of::<SigactionRaw>() == 32);
const _: () = assert!(size_of::<StackT>() == 24);
const _: () = assert!(size_of::<Siginfo>() == 128);
const _: () = assert!(offset_of!(Siginfo, fields) == 16);
const _: () = assert!(size_of::<Sigcontext>() == 256);
const _: () = assert!(offset_of!(Sigcontext, rip) == 128);
const _: () = assert!(offset_of!(Sigcontext, eflags) == 136);
const _: () = assert!(offset_of!(Sigcontext, cs) == 144);
const _: () = assert!(offset_of!(Sigcontext, err) == 152);
const _: () = assert!(offset_of!(Sigcontext, fpstate) == 184);
const _: () = assert!(size_of::<Ucontext>() == 304);
const _: () = assert!(offset_of!(Ucontext, uc_mcontext) == 40);
const _: () = assert!(offset_of!(Ucontext, uc_sigmask) == 296);
const _: () = assert!(size_of::<RtSigframe>() == 440);
const _: () = assert!(offset_of!(RtSigframe, info) == 312);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn sizes_match_libc() {
        assert_eq!(size_of::<Stat>(), size_of::<libc::stat>());
        assert_eq!(size_of::<Statx>(), size_of::<libc::statx>());
        assert_eq!(size_of::<Statfs>(), size_of::<libc::statfs>());
        assert_eq!(size_of::<Timespec>(), size_of::<libc::timespec>());
        assert_eq!(size_of::<Timeval>(), size_of::<libc::timeval>());
        assert_eq!(size_of::<Itimerval>(), size_of::<libc::itimerval>());
        assert_eq!(size_of::<Itimerspec>(), size_of::<libc::itimerspec>());
        assert_eq!(size_of::<Rlimit>(), size_of::<libc::rlimit>());
        assert_eq!(size_of::<Rusage>(), size_of::<libc::rusage>());
        assert_eq!(size_of::<Tms>(), size_of::<libc::tms>());
        assert_eq!(size_of::<Utsname>(), size_of::<libc::utsname>());
        assert_eq!(size_of::<Sysinfo>(), size_of::<libc::sysinfo>());
        assert_eq!(size_of::<Iovec>(), size_of::<libc::iovec>());
        assert_eq!(size_of::<PollFd>(), size_of::<libc::pollfd>());
        assert_eq!(size_of::<EpollEvent>(), size_of::<libc::epoll_event>());
        assert_eq!(size_of::<SockaddrUn>(), size_of::<libc::sockaddr_un>());
        assert_eq!(size_of::<StackT>(), size_of::<libc::stack_t>());
        assert_eq!(size_of::<Siginfo>(), size_of::<libc::siginfo_t>());
        assert_eq!(size_of::<Sigcontext>(), 256);
    }

    #[test]
    fn stat_field_offsets_match_libc() {
        let s = Stat {
            st_ino: 0x1122,
            st_mode: 0o100644,
            st_size: 4096,
            st_mtime: 77,
            ..Default::default()
        };
        // SAFETY: libc::stat is plain old data and the byte slice is exactly its size.
        let l: libc::stat = unsafe { core::ptr::read_unaligned(s.as_bytes().as_ptr().cast()) };
        assert_eq!(l.st_ino, 0x1122);
        assert_eq!(l.st_mode, 0o100644);
        assert_eq!(l.st_size, 4096);
        assert_eq!(l.st_mtime, 77);
    }

    #[test]
    fn epoll_event_is_packed() {
        let e = EpollEvent {
            events: 0x1,
            data: 0x1122_3344_5566_7788,
        };
        let b = e.as_bytes();
        assert_eq!(b.len(), 12);
        assert_eq!(&b[..4], &[1, 0, 0, 0]);
        assert_eq!(&b[4..], &0x1122_3344_5566_7788u64.to_le_bytes());
        let back = EpollEvent::read_from_bytes(b).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn siginfo_layouts() {
        let s = Siginfo::kill(libc::SIGTERM, SI_USER, 42, 1000);
        let b = s.as_bytes();
        assert_eq!(&b[0..4], &libc::SIGTERM.to_le_bytes());
        assert_eq!(&b[16..20], &42i32.to_le_bytes());
        assert_eq!(&b[20..24], &1000u32.to_le_bytes());
        assert_eq!((s.pid(), s.uid()), (42, 1000));

        let c = Siginfo::child(libc::CLD_EXITED, 7, 0, 3, 11, 12);
        let b = c.as_bytes();
        assert_eq!(c.si_signo, libc::SIGCHLD);
        assert_eq!(&b[24..28], &3i32.to_le_bytes());
        assert_eq!(&b[32..40], &11i64.to_le_bytes());
        assert_eq!(&b[40..48], &12i64.to_le_bytes());
        assert_eq!((c.status(), c.utime(), c.stime()), (3, 11, 12));

        let f = Siginfo::fault(libc::SIGSEGV, SEGV_MAPERR, 0xdead_beef);
        assert_eq!(&f.as_bytes()[16..24], &0xdead_beefu64.to_le_bytes());
        assert_eq!(f.addr(), 0xdead_beef);

        let t = Siginfo::timer(libc::SIGALRM, 5, -1, 99);
        assert_eq!((t.timer_id(), t.overrun(), t.value()), (5, -1, 99));
        assert_eq!(t.si_code, SI_TIMER);

        let q = Siginfo::sigqueue(libc::SIGUSR1, SI_QUEUE, -3, 4, 0x55);
        assert_eq!((q.pid(), q.uid(), q.value()), (-3, 4, 0x55));
        assert_eq!(&q.as_bytes()[24..32], &0x55u64.to_le_bytes());

        let sy = Siginfo::sigsys(0x1000, 59, 0xc000_003e);
        assert_eq!(&sy.as_bytes()[24..28], &59i32.to_le_bytes());
        assert_eq!(&sy.as_bytes()[28..32], &0xc000_003eu32.to_le_bytes());

        // Compare with libc's view of the kill layout.
        // SAFETY: siginfo_t is plain old data of the same size.
        let l: libc::siginfo_t = unsafe { core::ptr::read_unaligned(s.as_bytes().as_ptr().cast()) };
        // SAFETY: the accessor only reads the union bytes, which are initialized.
        let (pid, uid) = unsafe { (l.si_pid(), l.si_uid()) };
        assert_eq!((pid, uid), (42, 1000));
    }

    #[test]
    fn dirent_encoding() {
        let mut buf = Vec::new();
        encode_dirent64(&mut buf, 5, 1, libc::DT_REG, b"a");
        assert_eq!(buf.len(), 24);
        assert_eq!(&buf[0..8], &5u64.to_le_bytes());
        assert_eq!(&buf[8..16], &1i64.to_le_bytes());
        assert_eq!(&buf[16..18], &24u16.to_le_bytes());
        assert_eq!(buf[18], libc::DT_REG);
        assert_eq!(buf[19], b'a');
        assert!(buf[20..].iter().all(|&b| b == 0));

        // 19 + 5 + 1 = 25 -> 32.
        encode_dirent64(&mut buf, 6, 2, libc::DT_DIR, b"hello");
        assert_eq!(buf.len(), 24 + 32);
        assert_eq!(&buf[24 + 16..24 + 18], &32u16.to_le_bytes());
        assert_eq!(&buf[24 + 19..24 + 24], b"hello");
        assert_eq!(buf[24 + 24], 0);

        // Exactly fills: 19 + 4 + 1 = 24.
        let mut b2 = Vec::new();
        encode_dirent64(&mut b2, 1, 1, 0, b"abcd");
        assert_eq!(b2.len(), 24);
        for n in 0..300 {
            let r = dirent64_reclen(n);
            assert_eq!(r % 8, 0);
            assert!(r > DIRENT64_NAME_OFFSET + n);
            assert!(r <= DIRENT64_NAME_OFFSET + n + 8);
        }

        // Huge names are truncated rather than overflowing d_reclen.
        let big = vec![b'x'; 70_000];
        let mut b3 = Vec::new();
        encode_dirent64(&mut b3, 1, 1, 0, &big);
        let reclen = u16::from_le_bytes([b3[16], b3[17]]);
        assert_eq!(usize::from(reclen), b3.len());
        assert_eq!(b3.len() % 8, 0);
    }

    #[test]
    fn utsname_and_sockaddr_helpers() {
        let mut u = Utsname::default();
        Utsname::set_field(&mut u.sysname, b"Linux");
        Utsname::set_field(&mut u.nodename, &[b'h'; 100]);
        assert_eq!(Utsname::field_bytes(&u.sysname), b"Linux");
        assert_eq!(Utsname::field_bytes(&u.nodename).len(), 64);
        assert_eq!(u.nodename[64], 0);

        let a = SockaddrUn::new(b"/tmp/sock").unwrap();
        assert_eq!(a.sun_family, libc::AF_UNIX as u16);
        assert_eq!(&a.sun_path[..9], b"/tmp/sock");
        assert!(SockaddrUn::new(&[b'a'; 109]).is_none());
        assert!(SockaddrUn::new(&[b'a'; 108]).is_some());
    }
}
