//! The exhaustive per-syscall support status of the sentry.
//!
//! [`support`] is the single source of truth: edit its `match` (one arm per
//! line) when a syscall gains or loses support.

use crate::table::all_sysnos;
use crate::Sysno;

/// How completely the sentry implements a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Fully implemented.
    Implemented,
    /// Implemented for common cases; the string says what is supported /
    /// rejected.
    Partial(&'static str),
    /// Not implemented; the sentry returns `ENOSYS`.
    Unsupported,
}

/// What the sentry supports of `ioctl`.
const IOCTL_NOTE: &str = "FIONREAD FIONBIO FIOCLEX FIONCLEX; on internet sockets: SIOCINQ SIOCOUTQ SIOCOUTQNSD SIOCATMARK; on sockets (with a network): SIOCGIFNAME SIOCGIFCONF SIOCGIFFLAGS SIOCGIFADDR SIOCGIFDSTADDR SIOCGIFBRDADDR SIOCGIFNETMASK SIOCGIFMETRIC SIOCGIFMTU SIOCGIFHWADDR SIOCGIFINDEX SIOCGIFTXQLEN (interface changes EPERM); on ptys (devpts): TCGETS TCSETS TCSETSW TCSETSF (and the termios2 and termio forms) TIOCGWINSZ TIOCSWINSZ TIOCSCTTY TIOCNOTTY TIOCGPGRP TIOCSPGRP TIOCGSID TIOCINQ TIOCOUTQ TCFLSH TCXONC TCSBRK TCSBRKP TIOCGDEV TIOCGETD TIOCSETD TIOCSTI (root) and on masters TIOCGPTN TIOCSPTLCK TIOCGPTLCK TIOCGPTPEER TIOCSIG TIOCGPKT TIOCPKT (off only); host terminals passed through: TCGETS TIOCGWINSZ; others ENOTTY/EINVAL";
/// What the sentry supports of `madvise`.
const MADVISE_NOTE: &str = "MADV_DONTNEED MADV_FREE honoured; other advice accepted as a no-op";
/// What the sentry supports of `prctl`.
const PRCTL_NOTE: &str = "PR_SET_NAME PR_GET_NAME PR_SET_PDEATHSIG PR_GET_PDEATHSIG PR_SET_NO_NEW_PRIVS PR_GET_NO_NEW_PRIVS PR_GET_DUMPABLE PR_SET_DUMPABLE PR_CAPBSET_READ PR_CAPBSET_DROP PR_CAP_AMBIENT PR_GET_KEEPCAPS PR_SET_KEEPCAPS PR_GET_SECUREBITS PR_SET_SECUREBITS";
/// What the sentry supports of `arch_prctl`.
const ARCH_PRCTL_NOTE: &str = "ARCH_SET_FS ARCH_GET_FS only";
/// What the sentry supports of the xattr calls.
const XATTR_NOTE: &str = "user. trusted. security. on tmpfs and the overlay (copy-up carries them); user. trusted. of host files through the gofer; system. (ACLs) and other namespaces EOPNOTSUPP";
/// What the sentry supports of `socket`.
const SOCKET_NOTE: &str = "AF_UNIX stream, datagram and seqpacket in the sentry; AF_INET/AF_INET6 TCP and UDP through host sockets the sentry owns in the sandbox's network namespace, raw sockets EPERM, other internet types ESOCKTNOSUPPORT/EPROTONOSUPPORT; AF_NETLINK NETLINK_ROUTE for reading the configuration (changes EPERM, no multicast groups); with --network=none internet and netlink sockets EAFNOSUPPORT; other families EAFNOSUPPORT";
/// What the sentry supports of socket options.
const SOCKOPT_NOTE: &str = "AF_UNIX: SOL_SOCKET SO_TYPE SO_DOMAIN SO_PROTOCOL SO_ERROR SO_ACCEPTCONN SO_RCVBUF SO_SNDBUF SO_PEERCRED; internet sockets: an allowlist of SOL_SOCKET (SO_RCVTIMEO/SO_SNDTIMEO kept by the sentry), IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP (TCP_INFO read) and IPPROTO_UDP options set on the host socket; options needing CAP_NET_ADMIN/CAP_NET_RAW EPERM; others ENOPROTOOPT";
/// What the sentry supports of sendmsg.
const SENDMSG_NOTE: &str = "AF_UNIX: SCM_RIGHTS (other control messages EINVAL); internet sockets: IP_PKTINFO IP_TTL IP_TOS IPV6_PKTINFO IPV6_HOPLIMIT IPV6_TCLASS IPV6_DONTFRAG SO_TIMESTAMPING SCM_TXTIME, SCM_RIGHTS and other levels ignored, SO_MARK SO_PRIORITY EPERM, others EINVAL";
/// What the sentry supports of the mlock family.
const MLOCK_NOTE: &str = "ranges checked and accepted; pages are not pinned on the host";
/// What the sentry supports of inotify watches.
const INOTIFY_NOTE: &str =
    "events for changes made inside the sandbox only (host-side changes to gofer mounts are not seen); names are those a file was opened by";
/// What the sentry supports of `futex`.
const FUTEX_NOTE: &str = "FUTEX_WAIT WAKE REQUEUE CMP_REQUEUE WAIT_BITSET WAKE_BITSET; no PI";

/// Returns the support status of a syscall. Every x86-64 syscall not listed
/// explicitly is [`Support::Unsupported`].
pub fn support(s: Sysno) -> Support {
    use Support::{Implemented, Partial, Unsupported};
    match s {
        Sysno::read => Implemented,
        Sysno::write => Implemented,
        Sysno::open => Implemented,
        Sysno::close => Implemented,
        Sysno::stat => Implemented,
        Sysno::fstat => Implemented,
        Sysno::lstat => Implemented,
        Sysno::poll => Implemented,
        Sysno::lseek => Implemented,
        Sysno::mmap => Implemented,
        Sysno::mprotect => Implemented,
        Sysno::munmap => Implemented,
        Sysno::brk => Implemented,
        Sysno::rt_sigaction => Implemented,
        Sysno::rt_sigprocmask => Implemented,
        Sysno::rt_sigreturn => Implemented,
        Sysno::ioctl => Partial(IOCTL_NOTE),
        Sysno::pread64 => Implemented,
        Sysno::pwrite64 => Implemented,
        Sysno::readv => Implemented,
        Sysno::writev => Implemented,
        Sysno::access => Implemented,
        Sysno::pipe => Implemented,
        Sysno::select => Implemented,
        Sysno::sched_yield => Implemented,
        Sysno::mremap => Implemented,
        Sysno::msync => Implemented,
        Sysno::mincore => Implemented,
        Sysno::madvise => Partial(MADVISE_NOTE),
        Sysno::dup => Implemented,
        Sysno::dup2 => Implemented,
        Sysno::pause => Implemented,
        Sysno::nanosleep => Implemented,
        Sysno::getitimer => Implemented,
        Sysno::alarm => Implemented,
        Sysno::setitimer => Implemented,
        Sysno::getpid => Implemented,
        Sysno::clone => Implemented,
        Sysno::fork => Implemented,
        Sysno::vfork => Implemented,
        Sysno::execve => Implemented,
        Sysno::exit => Implemented,
        Sysno::wait4 => Implemented,
        Sysno::kill => Implemented,
        Sysno::uname => Implemented,
        Sysno::fcntl => Implemented,
        Sysno::getdents64 => Implemented,
        Sysno::getcwd => Implemented,
        Sysno::chdir => Implemented,
        Sysno::fchdir => Implemented,
        Sysno::readlink => Implemented,
        Sysno::umask => Implemented,
        Sysno::gettimeofday => Implemented,
        Sysno::getrlimit => Implemented,
        Sysno::getrusage => Implemented,
        Sysno::sysinfo => Implemented,
        Sysno::times => Implemented,
        Sysno::getuid => Implemented,
        Sysno::getgid => Implemented,
        Sysno::setuid => Implemented,
        Sysno::setgid => Implemented,
        Sysno::geteuid => Implemented,
        Sysno::getegid => Implemented,
        Sysno::setpgid => Implemented,
        Sysno::getppid => Implemented,
        Sysno::getpgrp => Implemented,
        Sysno::setsid => Implemented,
        Sysno::setreuid => Implemented,
        Sysno::setregid => Implemented,
        Sysno::getgroups => Implemented,
        Sysno::setgroups => Implemented,
        Sysno::setresuid => Implemented,
        Sysno::setfsuid => Implemented,
        Sysno::setfsgid => Implemented,
        Sysno::capget => Implemented,
        Sysno::capset => Implemented,
        Sysno::getresuid => Implemented,
        Sysno::setresgid => Implemented,
        Sysno::getresgid => Implemented,
        Sysno::getpgid => Implemented,
        Sysno::getsid => Implemented,
        Sysno::rt_sigpending => Implemented,
        Sysno::rt_sigtimedwait => Implemented,
        Sysno::rt_sigqueueinfo => Implemented,
        Sysno::rt_sigsuspend => Implemented,
        Sysno::sigaltstack => Implemented,
        Sysno::sched_getparam => Implemented,
        Sysno::sched_getscheduler => Implemented,
        Sysno::mlock => Partial(MLOCK_NOTE),
        Sysno::munlock => Partial(MLOCK_NOTE),
        Sysno::mlockall => Partial(MLOCK_NOTE),
        Sysno::munlockall => Partial(MLOCK_NOTE),
        Sysno::prctl => Partial(PRCTL_NOTE),
        Sysno::arch_prctl => Partial(ARCH_PRCTL_NOTE),
        Sysno::setrlimit => Implemented,
        Sysno::gettid => Implemented,
        Sysno::tkill => Implemented,
        Sysno::time => Implemented,
        Sysno::futex => Partial(FUTEX_NOTE),
        Sysno::sched_getaffinity => Implemented,
        Sysno::epoll_create => Implemented,
        Sysno::set_tid_address => Implemented,
        Sysno::clock_gettime => Implemented,
        Sysno::clock_getres => Implemented,
        Sysno::clock_nanosleep => Implemented,
        Sysno::exit_group => Implemented,
        Sysno::epoll_wait => Implemented,
        Sysno::epoll_ctl => Implemented,
        Sysno::tgkill => Implemented,
        Sysno::waitid => Implemented,
        Sysno::openat => Implemented,
        Sysno::newfstatat => Implemented,
        Sysno::readlinkat => Implemented,
        Sysno::faccessat => Implemented,
        Sysno::pselect6 => Implemented,
        Sysno::ppoll => Implemented,
        Sysno::set_robust_list => Implemented,
        Sysno::get_robust_list => Implemented,
        Sysno::epoll_pwait => Implemented,
        Sysno::eventfd => Implemented,
        Sysno::eventfd2 => Implemented,
        Sysno::epoll_create1 => Implemented,
        Sysno::dup3 => Implemented,
        Sysno::pipe2 => Implemented,
        Sysno::preadv => Implemented,
        Sysno::pwritev => Implemented,
        Sysno::prlimit64 => Implemented,
        Sysno::getcpu => Implemented,
        Sysno::getrandom => Implemented,
        Sysno::execveat => Implemented,
        Sysno::mlock2 => Partial(MLOCK_NOTE),
        Sysno::statx => Implemented,
        Sysno::close_range => Implemented,
        Sysno::faccessat2 => Implemented,
        Sysno::mkdir => Implemented,
        Sysno::mkdirat => Implemented,
        Sysno::mknod => Partial("FIFOs, sockets and regular files; device nodes EPERM"),
        Sysno::mknodat => Partial("FIFOs, sockets and regular files; device nodes EPERM"),
        Sysno::unlink => Implemented,
        Sysno::unlinkat => Implemented,
        Sysno::rmdir => Implemented,
        Sysno::rename => Implemented,
        Sysno::renameat => Implemented,
        Sysno::renameat2 => Partial("RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT: EINVAL"),
        Sysno::symlink => Implemented,
        Sysno::symlinkat => Implemented,
        Sysno::link => Implemented,
        Sysno::linkat => Implemented,
        Sysno::chmod => Implemented,
        Sysno::fchmod => Implemented,
        Sysno::fchmodat => Implemented,
        Sysno::chown => Implemented,
        Sysno::lchown => Implemented,
        Sysno::fchown => Implemented,
        Sysno::fchownat => Implemented,
        Sysno::truncate => Implemented,
        Sysno::ftruncate => Implemented,
        Sysno::utimensat => Implemented,
        Sysno::statfs => Implemented,
        Sysno::fstatfs => Implemented,
        Sysno::fsync => Implemented,
        Sysno::fdatasync => Implemented,
        Sysno::sync => Partial("flushes the files the calling process has open"),
        Sysno::syncfs => Implemented,
        Sysno::sethostname => Implemented,
        Sysno::mount => Partial("tmpfs (mode/size/uid/gid), proc, sysfs, bind mounts (MS_REC too), MS_REMOUNT (with and without MS_BIND: read-only state, tmpfs size=), MS_MOVE, by the sandbox's root; propagation types accepted (one namespace, no peers); MS_NOSUID/NODEV/NOEXEC accepted, not enforced; other types ENODEV"),
        Sysno::umount2 => Partial("the topmost mount at the path (\".\" after pivot_root . . too); MNT_DETACH (the mounts taken out are disconnected), UMOUNT_NOFOLLOW, MNT_FORCE (nothing to abort); MNT_EXPIRE never expires (EAGAIN)"),
        Sysno::pivot_root => Implemented,
        Sysno::chroot => Implemented,
        Sysno::fallocate => Partial("modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE (size and content); blocks are not reserved ahead; COLLAPSE_RANGE/INSERT_RANGE EOPNOTSUPP"),
        Sysno::signalfd => Implemented,
        Sysno::signalfd4 => Implemented,
        Sysno::rt_tgsigqueueinfo => Implemented,
        Sysno::getxattr => Partial(XATTR_NOTE),
        Sysno::setxattr => Partial(XATTR_NOTE),
        Sysno::listxattr => Partial(XATTR_NOTE),
        Sysno::removexattr => Partial(XATTR_NOTE),
        Sysno::lgetxattr => Partial(XATTR_NOTE),
        Sysno::lsetxattr => Partial(XATTR_NOTE),
        Sysno::llistxattr => Partial(XATTR_NOTE),
        Sysno::lremovexattr => Partial(XATTR_NOTE),
        Sysno::fgetxattr => Partial(XATTR_NOTE),
        Sysno::fsetxattr => Partial(XATTR_NOTE),
        Sysno::flistxattr => Partial(XATTR_NOTE),
        Sysno::fremovexattr => Partial(XATTR_NOTE),
        Sysno::fadvise64 => Implemented,
        Sysno::getpriority => Partial("every task reports nice 0"),
        Sysno::setpriority => Partial("nice 0 only; other values EPERM/EACCES"),
        Sysno::sched_get_priority_max => Implemented,
        Sysno::sched_get_priority_min => Implemented,
        Sysno::flock => Implemented,
        Sysno::socket => Partial(SOCKET_NOTE),
        Sysno::socketpair => Implemented,
        Sysno::bind => Implemented,
        Sysno::listen => Implemented,
        Sysno::connect => Implemented,
        Sysno::accept => Implemented,
        Sysno::accept4 => Implemented,
        Sysno::getsockname => Implemented,
        Sysno::getpeername => Implemented,
        Sysno::shutdown => Implemented,
        Sysno::sendto => Implemented,
        Sysno::recvfrom => Implemented,
        Sysno::sendmsg => Partial(SENDMSG_NOTE),
        Sysno::recvmsg => Implemented,
        Sysno::getsockopt => Partial(SOCKOPT_NOTE),
        Sysno::setsockopt => Partial(SOCKOPT_NOTE),
        Sysno::sendmmsg => Partial(SENDMSG_NOTE),
        Sysno::recvmmsg => Implemented,
        Sysno::sendfile => Implemented,
        Sysno::copy_file_range => Implemented,
        Sysno::splice => Implemented,
        Sysno::tee => Partial("between pipes made by pipe(2); named FIFOs: EINVAL"),
        Sysno::creat => Implemented,
        Sysno::inotify_init => Implemented,
        Sysno::inotify_init1 => Implemented,
        Sysno::inotify_add_watch => Partial(INOTIFY_NOTE),
        Sysno::inotify_rm_watch => Implemented,
        Sysno::rseq => Unsupported,
        _ => Unsupported,
    }
}

/// Extra note shown in [`markdown_table`] for a syscall (the partial-support
/// description, or what an unsupported call returns).
pub fn notes(s: Sysno) -> &'static str {
    match support(s) {
        Support::Implemented => "",
        Support::Partial(n) => n,
        Support::Unsupported => "returns ENOSYS",
    }
}

/// Returns `(implemented, partial, unsupported)` counts over every x86-64 syscall.
pub fn counts() -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for s in all_sysnos() {
        match support(s) {
            Support::Implemented => c.0 += 1,
            Support::Partial(_) => c.1 += 1,
            Support::Unsupported => c.2 += 1,
        }
    }
    c
}

/// Renders the status of every x86-64 syscall as a Markdown table with
/// columns number | name | status | notes, in numeric order.
pub fn markdown_table() -> String {
    let mut out = String::from("| number | name | status | notes |\n|---:|---|---|---|\n");
    for s in all_sysnos() {
        let status = match support(s) {
            Support::Implemented => "implemented",
            Support::Partial(_) => "partial",
            Support::Unsupported => "unsupported",
        };
        let note = notes(s).replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            s.id(),
            s.name(),
            status,
            note
        ));
    }
    out
}

/// Returns every syscall the sentry serves at least partially
/// ([`Support::Implemented`] or [`Support::Partial`]), in numeric order.
pub fn implemented_set() -> Vec<Sysno> {
    all_sysnos()
        .filter(|&s| support(s) != Support::Unsupported)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::table::{arg_kinds, ArgKind};

    #[test]
    fn every_sysno_is_classified() {
        let mut n = 0;
        for s in Sysno::iter() {
            let _ = support(s);
            n += 1;
        }
        assert!(n > 300);
        let (i, p, u) = counts();
        assert_eq!(i + p + u, Sysno::count());
        assert_eq!(i + p + u, all_sysnos().count());
        assert!(p >= 5, "partial {p}");
        assert!(i > 120, "implemented {i}");
    }

    #[test]
    fn spot_checks() {
        assert_eq!(support(Sysno::read), Support::Implemented);
        assert_eq!(support(Sysno::setresgid), Support::Implemented);
        assert!(matches!(support(Sysno::ioctl), Support::Partial(_)));
        assert!(matches!(support(Sysno::futex), Support::Partial(s) if s.contains("no PI")));
        assert_eq!(support(Sysno::rseq), Support::Unsupported);
        assert!(matches!(support(Sysno::socket), Support::Partial(s) if s.contains("AF_UNIX")));
        assert_eq!(support(Sysno::io_uring_setup), Support::Unsupported);
        assert_eq!(support(Sysno::lsm_list_modules), Support::Unsupported);
    }

    #[test]
    fn implemented_set_matches_counts() {
        let set = implemented_set();
        let (i, p, _) = counts();
        assert_eq!(set.len(), i + p);
        assert!(set.contains(&Sysno::openat));
        assert!(set.contains(&Sysno::prctl));
        assert!(!set.contains(&Sysno::rseq));
        assert!(set.windows(2).all(|w| w[0].id() < w[1].id()));
    }

    #[test]
    fn implemented_syscalls_have_real_arg_tables() {
        for s in implemented_set() {
            let k = arg_kinds(s);
            assert!(
                !(k.len() == 6 && k.iter().all(|&a| a == ArgKind::Hex)),
                "{s} has no argument table"
            );
        }
    }

    #[test]
    fn markdown() {
        let t = markdown_table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2 + Sysno::count());
        assert_eq!(lines[0], "| number | name | status | notes |");
        assert_eq!(lines[2], "| 0 | read | implemented |  |");
        assert!(t.contains("| 16 | ioctl | partial | FIONREAD"));
        assert!(t.contains("| 334 | rseq | unsupported | returns ENOSYS |"));
    }

    #[test]
    fn initial_classification() {
        let expected = [
            Sysno::read,
            Sysno::write,
            Sysno::open,
            Sysno::close,
            Sysno::stat,
            Sysno::fstat,
            Sysno::lstat,
            Sysno::poll,
            Sysno::lseek,
            Sysno::mmap,
            Sysno::mprotect,
            Sysno::munmap,
            Sysno::brk,
            Sysno::rt_sigaction,
            Sysno::rt_sigprocmask,
            Sysno::rt_sigreturn,
            Sysno::ioctl,
            Sysno::pread64,
            Sysno::pwrite64,
            Sysno::readv,
            Sysno::writev,
            Sysno::access,
            Sysno::pipe,
            Sysno::select,
            Sysno::sched_yield,
            Sysno::mremap,
            Sysno::msync,
            Sysno::mincore,
            Sysno::madvise,
            Sysno::dup,
            Sysno::dup2,
            Sysno::pause,
            Sysno::nanosleep,
            Sysno::getitimer,
            Sysno::alarm,
            Sysno::setitimer,
            Sysno::getpid,
            Sysno::clone,
            Sysno::fork,
            Sysno::vfork,
            Sysno::execve,
            Sysno::exit,
            Sysno::wait4,
            Sysno::kill,
            Sysno::uname,
            Sysno::fcntl,
            Sysno::getdents64,
            Sysno::getcwd,
            Sysno::chdir,
            Sysno::fchdir,
            Sysno::readlink,
            Sysno::umask,
            Sysno::gettimeofday,
            Sysno::getrlimit,
            Sysno::getrusage,
            Sysno::sysinfo,
            Sysno::times,
            Sysno::getuid,
            Sysno::getgid,
            Sysno::getegid,
            Sysno::geteuid,
            Sysno::setpgid,
            Sysno::getppid,
            Sysno::getpgrp,
            Sysno::setsid,
            Sysno::getgroups,
            Sysno::getpgid,
            Sysno::getsid,
            Sysno::rt_sigpending,
            Sysno::rt_sigtimedwait,
            Sysno::rt_sigqueueinfo,
            Sysno::rt_sigsuspend,
            Sysno::sigaltstack,
            Sysno::arch_prctl,
            Sysno::prctl,
            Sysno::setrlimit,
            Sysno::gettid,
            Sysno::time,
            Sysno::futex,
            Sysno::sched_getaffinity,
            Sysno::set_tid_address,
            Sysno::clock_gettime,
            Sysno::clock_getres,
            Sysno::clock_nanosleep,
            Sysno::exit_group,
            Sysno::epoll_wait,
            Sysno::epoll_ctl,
            Sysno::tgkill,
            Sysno::tkill,
            Sysno::waitid,
            Sysno::openat,
            Sysno::newfstatat,
            Sysno::readlinkat,
            Sysno::faccessat,
            Sysno::pselect6,
            Sysno::ppoll,
            Sysno::set_robust_list,
            Sysno::get_robust_list,
            Sysno::epoll_pwait,
            Sysno::eventfd2,
            Sysno::epoll_create1,
            Sysno::dup3,
            Sysno::pipe2,
            Sysno::preadv,
            Sysno::pwritev,
            Sysno::prlimit64,
            Sysno::getrandom,
            Sysno::execveat,
            Sysno::statx,
            Sysno::close_range,
            Sysno::faccessat2,
            Sysno::getcpu,
            Sysno::mlock,
            Sysno::munlock,
            Sysno::mlockall,
            Sysno::munlockall,
            Sysno::mlock2,
            Sysno::epoll_create,
            Sysno::eventfd,
            Sysno::sched_getscheduler,
            Sysno::sched_getparam,
            Sysno::setuid,
            Sysno::setgid,
            Sysno::setreuid,
            Sysno::setregid,
            Sysno::setresuid,
            Sysno::setresgid,
            Sysno::getresuid,
            Sysno::getresgid,
            Sysno::setgroups,
        ];
        let set = implemented_set();
        for s in expected {
            assert!(set.contains(&s), "{s} should be implemented");
        }
        let partial = [
            Sysno::ioctl,
            Sysno::madvise,
            Sysno::arch_prctl,
            Sysno::prctl,
            Sysno::futex,
        ];
        for s in partial {
            assert!(matches!(support(s), Support::Partial(_)), "{s}");
        }
    }
}
