//! Per-syscall argument kinds, used for strace-style decoding.

use crate::Sysno;

/// How a syscall argument should be decoded for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Signed integer (a C `int`, or `long`/`off_t` where the syscall takes one).
    Int,
    /// Unsigned integer (sizes, counts).
    Uint,
    /// Integer shown in hexadecimal (flags without a decoder, opaque values).
    Hex,
    /// File descriptor.
    Fd,
    /// NUL-terminated string in tracee memory.
    Path,
    /// Buffer whose length is in the next argument (e.g. `write`).
    Str,
    /// Output buffer (filled by the kernel; shown as a pointer at entry).
    OutBuf,
    /// Pointer to an input structure.
    Ptr,
    /// `O_*` open flags.
    OpenFlags,
    /// File mode (octal, with `S_IF*` type bits).
    Mode,
    /// Signal number.
    Signal,
    /// `SIG_BLOCK` / `SIG_UNBLOCK` / `SIG_SETMASK`.
    SigprocmaskHow,
    /// `PROT_*` flags.
    MmapProt,
    /// `MAP_*` flags.
    MmapFlags,
    /// `CLONE_*` flags (plus the exit signal in the low byte for `clone`).
    CloneFlags,
    /// Futex operation (`FUTEX_*`, with `_PRIVATE` / `FUTEX_CLOCK_REALTIME`).
    FutexOp,
    /// Directory file descriptor (`AT_FDCWD` or an fd).
    Dirfd,
    /// `AT_*` flags.
    AtFlags,
    /// `SEEK_*`.
    Whence,
    /// ioctl request number.
    Ioctl,
    /// `F_*` fcntl command.
    FcntlCmd,
    /// `ARCH_*` arch_prctl code.
    ArchPrctl,
    /// `PR_*` prctl option.
    PrctlOption,
    /// `CLOCK_*` clock id.
    ClockId,
    /// `RLIMIT_*` resource.
    Rlimit,
    /// `AF_*` address family.
    SocketFamily,
    /// NULL-terminated array of string pointers (e.g. `execve` argv).
    Argv,
}

use ArgKind::{
    ArchPrctl, Argv, AtFlags, ClockId, CloneFlags, Dirfd, FcntlCmd, Fd, FutexOp, Hex, Int, Ioctl,
    MmapFlags, MmapProt, Mode, OpenFlags, OutBuf, Path, PrctlOption, Ptr, Rlimit, Signal,
    SigprocmaskHow, SocketFamily, Str, Uint, Whence,
};

/// Generic table for syscalls whose arguments are unknown.
const UNKNOWN: &[ArgKind] = &[Hex, Hex, Hex, Hex, Hex, Hex];

/// Converts a raw syscall number into a [`Sysno`], if it is a valid x86-64
/// syscall number.
pub fn sysno(nr: u64) -> Option<Sysno> {
    usize::try_from(nr).ok().and_then(Sysno::new)
}

/// Returns the syscall name for a raw number (`"getpid"`), or
/// `"syscall_0x1234"` for unknown numbers.
pub fn nr_name(nr: u64) -> String {
    match sysno(nr) {
        Some(s) => s.name().to_string(),
        None => format!("syscall_{nr:#x}"),
    }
}

/// Iterates over every x86-64 syscall known to the `syscalls` crate, in
/// numeric order. (Unlike `Sysno::iter()` in syscalls 0.6, this includes the
/// last entry of the table.)
pub fn all_sysnos() -> impl Iterator<Item = Sysno> {
    let first = u64::try_from(Sysno::first().id()).unwrap_or(0);
    let last = u64::try_from(Sysno::last().id()).unwrap_or(0);
    (first..=last).filter_map(sysno)
}

/// Returns the argument kinds of a syscall, one per argument the kernel
/// reads (so the slice length is the syscall's arity). Syscalls whose
/// arguments are not described fall back to six [`ArgKind::Hex`].
pub fn arg_kinds(s: Sysno) -> &'static [ArgKind] {
    match s {
        Sysno::read => &[Fd, OutBuf, Uint],
        Sysno::write => &[Fd, Str, Uint],
        Sysno::open => &[Path, OpenFlags, Mode],
        Sysno::close => &[Fd],
        Sysno::stat => &[Path, OutBuf],
        Sysno::fstat => &[Fd, OutBuf],
        Sysno::lstat => &[Path, OutBuf],
        Sysno::poll => &[Ptr, Uint, Int],
        Sysno::lseek => &[Fd, Int, Whence],
        Sysno::mmap => &[Ptr, Uint, MmapProt, MmapFlags, Fd, Hex],
        Sysno::mprotect => &[Ptr, Uint, MmapProt],
        Sysno::munmap => &[Ptr, Uint],
        Sysno::brk => &[Ptr],
        Sysno::rt_sigaction => &[Signal, Ptr, OutBuf, Uint],
        Sysno::rt_sigprocmask => &[SigprocmaskHow, Ptr, OutBuf, Uint],
        Sysno::rt_sigreturn => &[],
        Sysno::ioctl => &[Fd, Ioctl, Hex],
        Sysno::pread64 => &[Fd, OutBuf, Uint, Int],
        Sysno::pwrite64 => &[Fd, Str, Uint, Int],
        Sysno::readv => &[Fd, Ptr, Int],
        Sysno::writev => &[Fd, Ptr, Int],
        Sysno::access => &[Path, Mode],
        Sysno::pipe => &[OutBuf],
        Sysno::select => &[Int, Ptr, Ptr, Ptr, Ptr],
        Sysno::sched_yield => &[],
        Sysno::mremap => &[Ptr, Uint, Uint, Hex, Ptr],
        Sysno::msync => &[Ptr, Uint, Hex],
        Sysno::mincore => &[Ptr, Uint, OutBuf],
        Sysno::madvise => &[Ptr, Uint, Int],
        Sysno::shmget => &[Hex, Uint, Hex],
        Sysno::shmat => &[Int, Ptr, Hex],
        Sysno::shmctl => &[Int, Int, Ptr],
        Sysno::dup => &[Fd],
        Sysno::dup2 => &[Fd, Fd],
        Sysno::pause => &[],
        Sysno::nanosleep => &[Ptr, OutBuf],
        Sysno::getitimer => &[Int, OutBuf],
        Sysno::alarm => &[Uint],
        Sysno::setitimer => &[Int, Ptr, OutBuf],
        Sysno::getpid => &[],
        Sysno::sendfile => &[Fd, Fd, Ptr, Uint],
        Sysno::socket => &[SocketFamily, Hex, Int],
        Sysno::connect => &[Fd, Ptr, Uint],
        Sysno::accept => &[Fd, OutBuf, Ptr],
        Sysno::sendto => &[Fd, Str, Uint, Hex, Ptr, Uint],
        Sysno::recvfrom => &[Fd, OutBuf, Uint, Hex, OutBuf, Ptr],
        Sysno::sendmsg => &[Fd, Ptr, Hex],
        Sysno::recvmsg => &[Fd, Ptr, Hex],
        Sysno::shutdown => &[Fd, Int],
        Sysno::bind => &[Fd, Ptr, Uint],
        Sysno::listen => &[Fd, Int],
        Sysno::getsockname => &[Fd, OutBuf, Ptr],
        Sysno::getpeername => &[Fd, OutBuf, Ptr],
        Sysno::socketpair => &[SocketFamily, Hex, Int, OutBuf],
        Sysno::setsockopt => &[Fd, Int, Int, Ptr, Uint],
        Sysno::getsockopt => &[Fd, Int, Int, OutBuf, Ptr],
        Sysno::clone => &[CloneFlags, Ptr, Ptr, Ptr, Hex],
        Sysno::fork => &[],
        Sysno::vfork => &[],
        Sysno::execve => &[Path, Argv, Ptr],
        Sysno::exit => &[Int],
        Sysno::wait4 => &[Int, OutBuf, Hex, OutBuf],
        Sysno::kill => &[Int, Signal],
        Sysno::uname => &[OutBuf],
        Sysno::semget => &[Hex, Int, Hex],
        Sysno::semop => &[Int, Ptr, Uint],
        Sysno::semctl => &[Int, Int, Int, Hex],
        Sysno::shmdt => &[Ptr],
        Sysno::msgget => &[Hex, Hex],
        Sysno::msgsnd => &[Int, Ptr, Uint, Hex],
        Sysno::msgrcv => &[Int, OutBuf, Uint, Int, Hex],
        Sysno::msgctl => &[Int, Int, Ptr],
        Sysno::fcntl => &[Fd, FcntlCmd, Hex],
        Sysno::flock => &[Fd, Hex],
        Sysno::fsync => &[Fd],
        Sysno::fdatasync => &[Fd],
        Sysno::truncate => &[Path, Int],
        Sysno::ftruncate => &[Fd, Int],
        Sysno::getdents => &[Fd, OutBuf, Uint],
        Sysno::getcwd => &[OutBuf, Uint],
        Sysno::chdir => &[Path],
        Sysno::fchdir => &[Fd],
        Sysno::rename => &[Path, Path],
        Sysno::mkdir => &[Path, Mode],
        Sysno::rmdir => &[Path],
        Sysno::creat => &[Path, Mode],
        Sysno::link => &[Path, Path],
        Sysno::unlink => &[Path],
        Sysno::symlink => &[Path, Path],
        Sysno::readlink => &[Path, OutBuf, Uint],
        Sysno::chmod => &[Path, Mode],
        Sysno::fchmod => &[Fd, Mode],
        Sysno::chown => &[Path, Int, Int],
        Sysno::fchown => &[Fd, Int, Int],
        Sysno::lchown => &[Path, Int, Int],
        Sysno::umask => &[Mode],
        Sysno::gettimeofday => &[OutBuf, OutBuf],
        Sysno::getrlimit => &[Rlimit, OutBuf],
        Sysno::getrusage => &[Int, OutBuf],
        Sysno::sysinfo => &[OutBuf],
        Sysno::times => &[OutBuf],
        Sysno::ptrace => &[Int, Int, Ptr, Ptr],
        Sysno::getuid => &[],
        Sysno::syslog => &[Int, OutBuf, Int],
        Sysno::getgid => &[],
        Sysno::setuid => &[Int],
        Sysno::setgid => &[Int],
        Sysno::geteuid => &[],
        Sysno::getegid => &[],
        Sysno::setpgid => &[Int, Int],
        Sysno::getppid => &[],
        Sysno::getpgrp => &[],
        Sysno::setsid => &[],
        Sysno::setreuid => &[Int, Int],
        Sysno::setregid => &[Int, Int],
        Sysno::getgroups => &[Int, OutBuf],
        Sysno::setgroups => &[Int, Ptr],
        Sysno::setresuid => &[Int, Int, Int],
        Sysno::getresuid => &[OutBuf, OutBuf, OutBuf],
        Sysno::setresgid => &[Int, Int, Int],
        Sysno::getresgid => &[OutBuf, OutBuf, OutBuf],
        Sysno::getpgid => &[Int],
        Sysno::setfsuid => &[Int],
        Sysno::setfsgid => &[Int],
        Sysno::getsid => &[Int],
        Sysno::capget => &[Ptr, OutBuf],
        Sysno::capset => &[Ptr, Ptr],
        Sysno::rt_sigpending => &[OutBuf, Uint],
        Sysno::rt_sigtimedwait => &[Ptr, OutBuf, Ptr, Uint],
        Sysno::rt_sigqueueinfo => &[Int, Signal, Ptr],
        Sysno::rt_sigsuspend => &[Ptr, Uint],
        Sysno::sigaltstack => &[Ptr, OutBuf],
        Sysno::utime => &[Path, Ptr],
        Sysno::mknod => &[Path, Mode, Hex],
        Sysno::uselib => &[Path],
        Sysno::personality => &[Hex],
        Sysno::ustat => &[Hex, OutBuf],
        Sysno::statfs => &[Path, OutBuf],
        Sysno::fstatfs => &[Fd, OutBuf],
        Sysno::sysfs => &[Int, Hex, Hex],
        Sysno::getpriority => &[Int, Int],
        Sysno::setpriority => &[Int, Int, Int],
        Sysno::sched_setparam => &[Int, Ptr],
        Sysno::sched_getparam => &[Int, OutBuf],
        Sysno::sched_setscheduler => &[Int, Int, Ptr],
        Sysno::sched_getscheduler => &[Int],
        Sysno::sched_get_priority_max => &[Int],
        Sysno::sched_get_priority_min => &[Int],
        Sysno::sched_rr_get_interval => &[Int, OutBuf],
        Sysno::mlock => &[Ptr, Uint],
        Sysno::munlock => &[Ptr, Uint],
        Sysno::mlockall => &[Hex],
        Sysno::munlockall => &[],
        Sysno::vhangup => &[],
        Sysno::modify_ldt => &[Int, Ptr, Uint],
        Sysno::pivot_root => &[Path, Path],
        Sysno::_sysctl => &[Ptr],
        Sysno::prctl => &[PrctlOption, Hex, Hex, Hex, Hex],
        Sysno::arch_prctl => &[ArchPrctl, Hex],
        Sysno::adjtimex => &[Ptr],
        Sysno::setrlimit => &[Rlimit, Ptr],
        Sysno::chroot => &[Path],
        Sysno::sync => &[],
        Sysno::acct => &[Path],
        Sysno::settimeofday => &[Ptr, Ptr],
        Sysno::mount => &[Path, Path, Path, Hex, Ptr],
        Sysno::umount2 => &[Path, Hex],
        Sysno::swapon => &[Path, Hex],
        Sysno::swapoff => &[Path],
        Sysno::reboot => &[Hex, Hex, Hex, Ptr],
        Sysno::sethostname => &[Str, Uint],
        Sysno::setdomainname => &[Str, Uint],
        Sysno::iopl => &[Uint],
        Sysno::ioperm => &[Hex, Uint, Int],
        Sysno::create_module => &[Path, Uint],
        Sysno::init_module => &[Ptr, Uint, Path],
        Sysno::delete_module => &[Path, Hex],
        Sysno::get_kernel_syms => &[OutBuf],
        Sysno::query_module => &[Path, Int, OutBuf, Uint, Ptr],
        Sysno::quotactl => &[Hex, Path, Int, Ptr],
        Sysno::nfsservctl => &[Int, Ptr, Ptr],
        Sysno::gettid => &[],
        Sysno::readahead => &[Fd, Int, Uint],
        Sysno::setxattr => &[Path, Path, Ptr, Uint, Hex],
        Sysno::lsetxattr => &[Path, Path, Ptr, Uint, Hex],
        Sysno::fsetxattr => &[Fd, Path, Ptr, Uint, Hex],
        Sysno::getxattr => &[Path, Path, OutBuf, Uint],
        Sysno::lgetxattr => &[Path, Path, OutBuf, Uint],
        Sysno::fgetxattr => &[Fd, Path, OutBuf, Uint],
        Sysno::listxattr => &[Path, OutBuf, Uint],
        Sysno::llistxattr => &[Path, OutBuf, Uint],
        Sysno::flistxattr => &[Fd, OutBuf, Uint],
        Sysno::removexattr => &[Path, Path],
        Sysno::lremovexattr => &[Path, Path],
        Sysno::fremovexattr => &[Fd, Path],
        Sysno::tkill => &[Int, Signal],
        Sysno::time => &[OutBuf],
        Sysno::futex => &[Ptr, FutexOp, Int, Ptr, Ptr, Hex],
        Sysno::sched_setaffinity => &[Int, Uint, Ptr],
        Sysno::sched_getaffinity => &[Int, Uint, OutBuf],
        Sysno::set_thread_area => &[Ptr],
        Sysno::io_setup => &[Uint, OutBuf],
        Sysno::io_destroy => &[Hex],
        Sysno::io_getevents => &[Hex, Int, Int, OutBuf, Ptr],
        Sysno::io_submit => &[Hex, Int, Ptr],
        Sysno::io_cancel => &[Hex, Ptr, OutBuf],
        Sysno::get_thread_area => &[OutBuf],
        Sysno::lookup_dcookie => &[Hex, OutBuf, Uint],
        Sysno::epoll_create => &[Int],
        Sysno::remap_file_pages => &[Ptr, Uint, Hex, Uint, Hex],
        Sysno::getdents64 => &[Fd, OutBuf, Uint],
        Sysno::set_tid_address => &[Ptr],
        Sysno::restart_syscall => &[],
        Sysno::semtimedop => &[Int, Ptr, Uint, Ptr],
        Sysno::fadvise64 => &[Fd, Int, Int, Int],
        Sysno::timer_create => &[ClockId, Ptr, OutBuf],
        Sysno::timer_settime => &[Int, Hex, Ptr, OutBuf],
        Sysno::timer_gettime => &[Int, OutBuf],
        Sysno::timer_getoverrun => &[Int],
        Sysno::timer_delete => &[Int],
        Sysno::clock_settime => &[ClockId, Ptr],
        Sysno::clock_gettime => &[ClockId, OutBuf],
        Sysno::clock_getres => &[ClockId, OutBuf],
        Sysno::clock_nanosleep => &[ClockId, Hex, Ptr, OutBuf],
        Sysno::exit_group => &[Int],
        Sysno::epoll_wait => &[Fd, OutBuf, Int, Int],
        Sysno::epoll_ctl => &[Fd, Int, Fd, Ptr],
        Sysno::tgkill => &[Int, Int, Signal],
        Sysno::utimes => &[Path, Ptr],
        Sysno::mbind => &[Ptr, Uint, Int, Ptr, Uint, Hex],
        Sysno::set_mempolicy => &[Int, Ptr, Uint],
        Sysno::get_mempolicy => &[OutBuf, OutBuf, Uint, Ptr, Hex],
        Sysno::mq_open => &[Path, OpenFlags, Mode, Ptr],
        Sysno::mq_unlink => &[Path],
        Sysno::mq_timedsend => &[Fd, Str, Uint, Uint, Ptr],
        Sysno::mq_timedreceive => &[Fd, OutBuf, Uint, OutBuf, Ptr],
        Sysno::mq_notify => &[Fd, Ptr],
        Sysno::mq_getsetattr => &[Fd, Ptr, OutBuf],
        Sysno::kexec_load => &[Hex, Uint, Ptr, Hex],
        Sysno::waitid => &[Int, Int, OutBuf, Hex, OutBuf],
        Sysno::add_key => &[Path, Path, Ptr, Uint, Int],
        Sysno::request_key => &[Path, Path, Path, Int],
        Sysno::keyctl => &[Int, Hex, Hex, Hex, Hex],
        Sysno::ioprio_set => &[Int, Int, Int],
        Sysno::ioprio_get => &[Int, Int],
        Sysno::inotify_init => &[],
        Sysno::inotify_add_watch => &[Fd, Path, Hex],
        Sysno::inotify_rm_watch => &[Fd, Int],
        Sysno::migrate_pages => &[Int, Uint, Ptr, Ptr],
        Sysno::openat => &[Dirfd, Path, OpenFlags, Mode],
        Sysno::mkdirat => &[Dirfd, Path, Mode],
        Sysno::mknodat => &[Dirfd, Path, Mode, Hex],
        Sysno::fchownat => &[Dirfd, Path, Int, Int, AtFlags],
        Sysno::futimesat => &[Dirfd, Path, Ptr],
        Sysno::newfstatat => &[Dirfd, Path, OutBuf, AtFlags],
        Sysno::unlinkat => &[Dirfd, Path, AtFlags],
        Sysno::renameat => &[Dirfd, Path, Dirfd, Path],
        Sysno::linkat => &[Dirfd, Path, Dirfd, Path, AtFlags],
        Sysno::symlinkat => &[Path, Dirfd, Path],
        Sysno::readlinkat => &[Dirfd, Path, OutBuf, Uint],
        Sysno::fchmodat => &[Dirfd, Path, Mode],
        Sysno::faccessat => &[Dirfd, Path, Mode],
        Sysno::pselect6 => &[Int, Ptr, Ptr, Ptr, Ptr, Ptr],
        Sysno::ppoll => &[Ptr, Uint, Ptr, Ptr, Uint],
        Sysno::unshare => &[CloneFlags],
        Sysno::set_robust_list => &[Ptr, Uint],
        Sysno::get_robust_list => &[Int, OutBuf, OutBuf],
        Sysno::splice => &[Fd, Ptr, Fd, Ptr, Uint, Hex],
        Sysno::tee => &[Fd, Fd, Uint, Hex],
        Sysno::sync_file_range => &[Fd, Int, Int, Hex],
        Sysno::vmsplice => &[Fd, Ptr, Uint, Hex],
        Sysno::move_pages => &[Int, Uint, Ptr, Ptr, OutBuf, Hex],
        Sysno::utimensat => &[Dirfd, Path, Ptr, AtFlags],
        Sysno::epoll_pwait => &[Fd, OutBuf, Int, Int, Ptr, Uint],
        Sysno::signalfd => &[Fd, Ptr, Uint],
        Sysno::timerfd_create => &[ClockId, OpenFlags],
        Sysno::eventfd => &[Uint],
        Sysno::fallocate => &[Fd, Hex, Int, Int],
        Sysno::timerfd_settime => &[Fd, Hex, Ptr, OutBuf],
        Sysno::timerfd_gettime => &[Fd, OutBuf],
        Sysno::accept4 => &[Fd, OutBuf, Ptr, OpenFlags],
        Sysno::signalfd4 => &[Fd, Ptr, Uint, OpenFlags],
        Sysno::eventfd2 => &[Uint, OpenFlags],
        Sysno::epoll_create1 => &[OpenFlags],
        Sysno::dup3 => &[Fd, Fd, OpenFlags],
        Sysno::pipe2 => &[OutBuf, OpenFlags],
        Sysno::inotify_init1 => &[OpenFlags],
        Sysno::preadv => &[Fd, Ptr, Int, Hex, Hex],
        Sysno::pwritev => &[Fd, Ptr, Int, Hex, Hex],
        Sysno::rt_tgsigqueueinfo => &[Int, Int, Signal, Ptr],
        Sysno::perf_event_open => &[Ptr, Int, Int, Fd, Hex],
        Sysno::recvmmsg => &[Fd, Ptr, Uint, Hex, Ptr],
        Sysno::fanotify_init => &[Hex, Hex],
        Sysno::fanotify_mark => &[Fd, Hex, Hex, Dirfd, Path],
        Sysno::prlimit64 => &[Int, Rlimit, Ptr, OutBuf],
        Sysno::name_to_handle_at => &[Dirfd, Path, OutBuf, OutBuf, AtFlags],
        Sysno::open_by_handle_at => &[Fd, Ptr, OpenFlags],
        Sysno::clock_adjtime => &[ClockId, Ptr],
        Sysno::syncfs => &[Fd],
        Sysno::sendmmsg => &[Fd, Ptr, Uint, Hex],
        Sysno::setns => &[Fd, CloneFlags],
        Sysno::getcpu => &[OutBuf, OutBuf, Ptr],
        Sysno::process_vm_readv => &[Int, Ptr, Uint, Ptr, Uint, Hex],
        Sysno::process_vm_writev => &[Int, Ptr, Uint, Ptr, Uint, Hex],
        Sysno::kcmp => &[Int, Int, Int, Hex, Hex],
        Sysno::finit_module => &[Fd, Path, Hex],
        Sysno::sched_setattr => &[Int, Ptr, Hex],
        Sysno::sched_getattr => &[Int, OutBuf, Uint, Hex],
        Sysno::renameat2 => &[Dirfd, Path, Dirfd, Path, Hex],
        Sysno::seccomp => &[Uint, Hex, Ptr],
        Sysno::getrandom => &[OutBuf, Uint, Hex],
        Sysno::memfd_create => &[Path, Hex],
        Sysno::kexec_file_load => &[Fd, Fd, Uint, Path, Hex],
        Sysno::bpf => &[Int, Ptr, Uint],
        Sysno::execveat => &[Dirfd, Path, Argv, Ptr, AtFlags],
        Sysno::userfaultfd => &[OpenFlags],
        Sysno::membarrier => &[Int, Hex, Int],
        Sysno::mlock2 => &[Ptr, Uint, Hex],
        Sysno::copy_file_range => &[Fd, Ptr, Fd, Ptr, Uint, Hex],
        Sysno::preadv2 => &[Fd, Ptr, Int, Hex, Hex, Hex],
        Sysno::pwritev2 => &[Fd, Ptr, Int, Hex, Hex, Hex],
        Sysno::pkey_mprotect => &[Ptr, Uint, MmapProt, Int],
        Sysno::pkey_alloc => &[Hex, Hex],
        Sysno::pkey_free => &[Int],
        Sysno::statx => &[Dirfd, Path, AtFlags, Hex, OutBuf],
        Sysno::io_pgetevents => &[Hex, Int, Int, OutBuf, Ptr, Ptr],
        Sysno::rseq => &[Ptr, Uint, Hex, Hex],
        Sysno::pidfd_send_signal => &[Fd, Signal, Ptr, Hex],
        Sysno::io_uring_setup => &[Uint, Ptr],
        Sysno::io_uring_enter => &[Fd, Uint, Uint, Hex, Ptr, Uint],
        Sysno::io_uring_register => &[Fd, Uint, Ptr, Uint],
        Sysno::open_tree => &[Dirfd, Path, Hex],
        Sysno::move_mount => &[Dirfd, Path, Dirfd, Path, Hex],
        Sysno::fsopen => &[Path, Hex],
        Sysno::fsconfig => &[Fd, Uint, Path, Ptr, Int],
        Sysno::fsmount => &[Fd, Hex, Hex],
        Sysno::fspick => &[Dirfd, Path, Hex],
        Sysno::pidfd_open => &[Int, Hex],
        Sysno::clone3 => &[Ptr, Uint],
        Sysno::close_range => &[Uint, Uint, Hex],
        Sysno::openat2 => &[Dirfd, Path, Ptr, Uint],
        Sysno::pidfd_getfd => &[Fd, Fd, Hex],
        Sysno::faccessat2 => &[Dirfd, Path, Mode, AtFlags],
        Sysno::process_madvise => &[Fd, Ptr, Uint, Int, Hex],
        Sysno::epoll_pwait2 => &[Fd, OutBuf, Int, Ptr, Ptr, Uint],
        Sysno::mount_setattr => &[Dirfd, Path, AtFlags, Ptr, Uint],
        Sysno::quotactl_fd => &[Fd, Hex, Int, Ptr],
        Sysno::landlock_create_ruleset => &[Ptr, Uint, Hex],
        Sysno::landlock_add_rule => &[Fd, Int, Ptr, Hex],
        Sysno::landlock_restrict_self => &[Fd, Hex],
        Sysno::memfd_secret => &[Hex],
        Sysno::process_mrelease => &[Fd, Hex],
        Sysno::futex_waitv => &[Ptr, Uint, Hex, Ptr, ClockId],
        Sysno::set_mempolicy_home_node => &[Ptr, Uint, Uint, Hex],
        Sysno::cachestat => &[Fd, Ptr, OutBuf, Hex],
        Sysno::fchmodat2 => &[Dirfd, Path, Mode, AtFlags],
        Sysno::map_shadow_stack => &[Ptr, Uint, Hex],
        Sysno::futex_wake => &[Ptr, Hex, Int, Hex],
        Sysno::futex_wait => &[Ptr, Hex, Hex, Hex, Ptr, ClockId],
        Sysno::futex_requeue => &[Ptr, Hex, Int, Int],
        Sysno::statmount => &[Ptr, OutBuf, Uint, Hex],
        Sysno::listmount => &[Ptr, OutBuf, Uint, Hex],
        Sysno::lsm_get_self_attr => &[Uint, OutBuf, Ptr, Hex],
        Sysno::lsm_set_self_attr => &[Uint, Ptr, Uint, Hex],
        Sysno::lsm_list_modules => &[OutBuf, Ptr, Hex],
        _ => UNKNOWN,
    }
}

/// Returns whether argument `idx` of `s` is a 64-bit signed quantity
/// (`off_t`, `loff_t`, `long`) rather than a C `int`, for [`ArgKind::Int`]
/// display purposes.
pub(crate) fn is_long_int(s: Sysno, idx: usize) -> bool {
    matches!(
        (s, idx),
        (Sysno::lseek, 1)
            | (Sysno::pread64, 3)
            | (Sysno::pwrite64, 3)
            | (Sysno::truncate, 1)
            | (Sysno::ftruncate, 1)
            | (Sysno::readahead, 1)
            | (Sysno::fadvise64, 1 | 2)
            | (Sysno::fallocate, 2 | 3)
            | (Sysno::sync_file_range, 1 | 2)
            | (Sysno::msgrcv, 3)
            | (Sysno::ptrace, 0)
            | (Sysno::keyctl, 0)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(nr_name(39), "getpid");
        assert_eq!(nr_name(0), "read");
        assert_eq!(nr_name(461), "lsm_list_modules");
        assert_eq!(nr_name(0x1234), "syscall_0x1234");
        assert_eq!(nr_name(335), "syscall_0x14f");
        assert_eq!(nr_name(u64::MAX), "syscall_0xffffffffffffffff");
    }

    #[test]
    fn arities() {
        assert_eq!(arg_kinds(Sysno::getpid).len(), 0);
        assert_eq!(arg_kinds(Sysno::write), &[Fd, Str, Uint]);
        assert_eq!(arg_kinds(Sysno::openat).len(), 4);
        assert_eq!(arg_kinds(Sysno::mmap).len(), 6);
        assert_eq!(arg_kinds(Sysno::execve), &[Path, Argv, Ptr]);
        assert_eq!(arg_kinds(Sysno::tuxcall), UNKNOWN);
        for s in all_sysnos() {
            let k = arg_kinds(s);
            assert!(k.len() <= 6, "{s}");
            // Str must be followed by its length.
            for (i, kind) in k.iter().enumerate() {
                if *kind == Str {
                    assert!(i + 1 < k.len(), "{s}: Str without length");
                }
            }
        }
    }

    #[test]
    fn all_sysnos_includes_last() {
        let v: Vec<Sysno> = all_sysnos().collect();
        assert_eq!(v.first(), Some(&Sysno::read));
        assert_eq!(v.last(), Some(&Sysno::last()));
        assert!(v.len() >= Sysno::iter().count());
        assert_eq!(v.len(), Sysno::count());
        assert!(v.windows(2).all(|w| w[0].id() < w[1].id()));
    }
}
