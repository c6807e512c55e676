//! System call dispatch: one table from number to handler.
//!
//! Handlers are small functions over the raw argument words; each checks
//! what it reads from the workload (pointers through [`TaskCtx`]'s copy
//! helpers, which return EFAULT; lengths and flags against Linux's limits).
//! A number without a handler returns ENOSYS and is logged once by name.
//! The status table in the `rvisor-syscalls` crate must agree with this
//! table; a unit test checks it.

pub mod caps;
pub mod file;
pub mod fsops;
pub mod futex;
pub mod inet;
pub mod mem;
pub mod misc;
pub mod mount;
pub mod net;
pub mod netlink;
pub mod notify;
pub mod path;
pub mod perm;
pub mod poll;
pub mod process;
pub mod signal;
pub mod time;
pub mod transfer;
pub mod tty;
pub mod xattr;

use std::time::Instant;

use crate::fs::FileOps;
use crate::kernel::task::{TaskCtx, ERESTARTSYS};
use crate::kernel::wait::WaitResult;
use crate::{Errno, SysResult};

/// A handler: raw argument words in, return value or errno out.
pub type Handler = fn(&mut TaskCtx, [u64; 6]) -> SysResult<u64>;

/// The handler for `nr`, if rvisor implements it.
#[allow(non_upper_case_globals)]
pub fn handler(nr: u64) -> Option<Handler> {
    use libc::*;
    let nr = i64::try_from(nr).ok()?;
    let h: Handler = match nr {
        SYS_read => file::sys_read,
        SYS_write => file::sys_write,
        SYS_open => path::sys_open,
        SYS_close => file::sys_close,
        SYS_stat => path::sys_stat,
        SYS_fstat => file::sys_fstat,
        SYS_lstat => path::sys_lstat,
        SYS_poll => poll::sys_poll,
        SYS_lseek => file::sys_lseek,
        SYS_mmap => mem::sys_mmap,
        SYS_mprotect => mem::sys_mprotect,
        SYS_munmap => mem::sys_munmap,
        SYS_brk => mem::sys_brk,
        SYS_rt_sigaction => signal::sys_rt_sigaction,
        SYS_rt_sigprocmask => signal::sys_rt_sigprocmask,
        SYS_rt_sigreturn => signal::sys_rt_sigreturn,
        SYS_ioctl => file::sys_ioctl,
        SYS_pread64 => file::sys_pread64,
        SYS_pwrite64 => file::sys_pwrite64,
        SYS_readv => file::sys_readv,
        SYS_writev => file::sys_writev,
        SYS_access => path::sys_access,
        SYS_pipe => file::sys_pipe,
        SYS_select => poll::sys_select,
        SYS_sched_yield => process::sys_sched_yield,
        SYS_mremap => mem::sys_mremap,
        SYS_msync => mem::sys_msync,
        SYS_mincore => mem::sys_mincore,
        SYS_madvise => mem::sys_madvise,
        SYS_dup => file::sys_dup,
        SYS_dup2 => file::sys_dup2,
        SYS_pause => signal::sys_pause,
        SYS_nanosleep => time::sys_nanosleep,
        SYS_getitimer => signal::sys_getitimer,
        SYS_alarm => signal::sys_alarm,
        SYS_setitimer => signal::sys_setitimer,
        SYS_getpid => process::sys_getpid,
        SYS_clone => process::sys_clone,
        SYS_fork => process::sys_fork,
        SYS_vfork => process::sys_vfork,
        SYS_execve => process::sys_execve,
        SYS_exit => process::sys_exit,
        SYS_wait4 => process::sys_wait4,
        SYS_kill => signal::sys_kill,
        SYS_uname => process::sys_uname,
        SYS_fcntl => file::sys_fcntl,
        SYS_getdents64 => file::sys_getdents64,
        SYS_getcwd => path::sys_getcwd,
        SYS_chdir => path::sys_chdir,
        SYS_fchdir => path::sys_fchdir,
        SYS_readlink => path::sys_readlink,
        SYS_umask => process::sys_umask,
        SYS_gettimeofday => time::sys_gettimeofday,
        SYS_getrlimit => process::sys_getrlimit,
        SYS_getrusage => process::sys_getrusage,
        SYS_sysinfo => process::sys_sysinfo,
        SYS_times => process::sys_times,
        SYS_getuid => process::sys_getuid,
        SYS_getgid => process::sys_getgid,
        SYS_setuid => process::sys_setuid,
        SYS_setgid => process::sys_setgid,
        SYS_geteuid => process::sys_geteuid,
        SYS_getegid => process::sys_getegid,
        SYS_setpgid => process::sys_setpgid,
        SYS_getppid => process::sys_getppid,
        SYS_getpgrp => process::sys_getpgrp,
        SYS_setsid => process::sys_setsid,
        SYS_setreuid => process::sys_setreuid,
        SYS_setregid => process::sys_setregid,
        SYS_getgroups => process::sys_getgroups,
        SYS_setgroups => process::sys_setgroups,
        SYS_setresuid => process::sys_setresuid,
        SYS_getresuid => process::sys_getresuid,
        SYS_setresgid => process::sys_setresgid,
        SYS_getresgid => process::sys_getresgid,
        SYS_setfsuid => process::sys_setfsuid,
        SYS_setfsgid => process::sys_setfsgid,
        SYS_capget => caps::sys_capget,
        SYS_capset => caps::sys_capset,
        SYS_getpgid => process::sys_getpgid,
        SYS_getsid => process::sys_getsid,
        SYS_rt_sigpending => signal::sys_rt_sigpending,
        SYS_rt_sigtimedwait => signal::sys_rt_sigtimedwait,
        SYS_rt_sigqueueinfo => signal::sys_rt_sigqueueinfo,
        SYS_rt_sigsuspend => signal::sys_rt_sigsuspend,
        SYS_sigaltstack => signal::sys_sigaltstack,
        SYS_arch_prctl => process::sys_arch_prctl,
        SYS_prctl => process::sys_prctl,
        SYS_setrlimit => process::sys_setrlimit,
        SYS_gettid => process::sys_gettid,
        SYS_time => time::sys_time,
        SYS_futex => futex::sys_futex,
        SYS_sched_getaffinity => process::sys_sched_getaffinity,
        SYS_sched_getscheduler => process::sys_sched_getscheduler,
        SYS_sched_getparam => process::sys_sched_getparam,
        SYS_set_tid_address => process::sys_set_tid_address,
        SYS_clock_gettime => time::sys_clock_gettime,
        SYS_clock_getres => time::sys_clock_getres,
        SYS_clock_nanosleep => time::sys_clock_nanosleep,
        SYS_exit_group => process::sys_exit_group,
        SYS_epoll_wait => poll::sys_epoll_wait,
        SYS_epoll_ctl => poll::sys_epoll_ctl,
        SYS_tgkill => signal::sys_tgkill,
        SYS_tkill => signal::sys_tkill,
        SYS_waitid => process::sys_waitid,
        SYS_openat => path::sys_openat,
        SYS_newfstatat => path::sys_newfstatat,
        SYS_readlinkat => path::sys_readlinkat,
        SYS_faccessat => path::sys_faccessat,
        SYS_faccessat2 => path::sys_faccessat2,
        SYS_pselect6 => poll::sys_pselect6,
        SYS_ppoll => poll::sys_ppoll,
        SYS_set_robust_list => process::sys_set_robust_list,
        SYS_get_robust_list => process::sys_get_robust_list,
        SYS_epoll_pwait => poll::sys_epoll_pwait,
        SYS_eventfd => poll::sys_eventfd,
        SYS_eventfd2 => poll::sys_eventfd2,
        SYS_epoll_create => poll::sys_epoll_create,
        SYS_epoll_create1 => poll::sys_epoll_create1,
        SYS_dup3 => file::sys_dup3,
        SYS_pipe2 => file::sys_pipe2,
        SYS_preadv => file::sys_preadv,
        SYS_pwritev => file::sys_pwritev,
        SYS_prlimit64 => process::sys_prlimit64,
        SYS_getrandom => process::sys_getrandom,
        SYS_execveat => process::sys_execveat,
        SYS_statx => path::sys_statx,
        SYS_close_range => file::sys_close_range,
        SYS_getcpu => process::sys_getcpu,
        SYS_mlock => mem::sys_mlock,
        SYS_munlock => mem::sys_mlock,
        SYS_mlock2 => mem::sys_mlock,
        SYS_mlockall => mem::sys_mlockall,
        SYS_munlockall => mem::sys_munlockall,
        SYS_sethostname => process::sys_sethostname,
        SYS_mount => mount::sys_mount,
        SYS_signalfd => signal::sys_signalfd,
        SYS_signalfd4 => signal::sys_signalfd4,
        SYS_umount2 => mount::sys_umount2,
        SYS_chroot => mount::sys_chroot,
        SYS_pivot_root => mount::sys_pivot_root,
        SYS_rt_tgsigqueueinfo => signal::sys_rt_tgsigqueueinfo,
        SYS_mkdir => fsops::sys_mkdir,
        SYS_mkdirat => fsops::sys_mkdirat,
        SYS_mknod => fsops::sys_mknod,
        SYS_mknodat => fsops::sys_mknodat,
        SYS_unlink => fsops::sys_unlink,
        SYS_unlinkat => fsops::sys_unlinkat,
        SYS_rmdir => fsops::sys_rmdir,
        SYS_rename => fsops::sys_rename,
        SYS_renameat => fsops::sys_renameat,
        SYS_renameat2 => fsops::sys_renameat2,
        SYS_symlink => fsops::sys_symlink,
        SYS_symlinkat => fsops::sys_symlinkat,
        SYS_link => fsops::sys_link,
        SYS_linkat => fsops::sys_linkat,
        SYS_chmod => fsops::sys_chmod,
        SYS_fchmod => fsops::sys_fchmod,
        SYS_fchmodat => fsops::sys_fchmodat,
        SYS_chown => fsops::sys_chown,
        SYS_lchown => fsops::sys_lchown,
        SYS_fchown => fsops::sys_fchown,
        SYS_fchownat => fsops::sys_fchownat,
        SYS_truncate => fsops::sys_truncate,
        SYS_ftruncate => fsops::sys_ftruncate,
        SYS_fallocate => fsops::sys_fallocate,
        SYS_utimensat => fsops::sys_utimensat,
        SYS_statfs => fsops::sys_statfs,
        SYS_fstatfs => fsops::sys_fstatfs,
        SYS_fsync => fsops::sys_fsync,
        SYS_fdatasync => fsops::sys_fsync,
        SYS_sync => fsops::sys_sync,
        SYS_syncfs => fsops::sys_fsync,
        SYS_getxattr => xattr::sys_getxattr,
        SYS_setxattr => xattr::sys_setxattr,
        SYS_listxattr => xattr::sys_listxattr,
        SYS_removexattr => xattr::sys_removexattr,
        SYS_lgetxattr => xattr::sys_lgetxattr,
        SYS_lsetxattr => xattr::sys_lsetxattr,
        SYS_llistxattr => xattr::sys_llistxattr,
        SYS_lremovexattr => xattr::sys_lremovexattr,
        SYS_fgetxattr => xattr::sys_fgetxattr,
        SYS_fsetxattr => xattr::sys_fsetxattr,
        SYS_flistxattr => xattr::sys_flistxattr,
        SYS_fremovexattr => xattr::sys_fremovexattr,
        SYS_fadvise64 => misc::sys_fadvise64,
        SYS_getpriority => misc::sys_getpriority,
        SYS_setpriority => misc::sys_setpriority,
        SYS_sched_get_priority_max => misc::sys_sched_priority_range,
        SYS_sched_get_priority_min => misc::sys_sched_priority_range,
        SYS_flock => misc::sys_flock,
        SYS_socket => net::sys_socket,
        SYS_socketpair => net::sys_socketpair,
        SYS_bind => net::sys_bind,
        SYS_listen => net::sys_listen,
        SYS_connect => net::sys_connect,
        SYS_accept => net::sys_accept,
        SYS_accept4 => net::sys_accept4,
        SYS_getsockname => net::sys_getsockname,
        SYS_getpeername => net::sys_getpeername,
        SYS_shutdown => net::sys_shutdown,
        SYS_sendto => net::sys_sendto,
        SYS_recvfrom => net::sys_recvfrom,
        SYS_sendmsg => net::sys_sendmsg,
        SYS_recvmsg => net::sys_recvmsg,
        SYS_getsockopt => net::sys_getsockopt,
        SYS_setsockopt => net::sys_setsockopt,
        SYS_sendmmsg => net::sys_sendmmsg,
        SYS_recvmmsg => net::sys_recvmmsg,
        SYS_sendfile => transfer::sys_sendfile,
        SYS_copy_file_range => transfer::sys_copy_file_range,
        SYS_splice => transfer::sys_splice,
        SYS_tee => transfer::sys_tee,
        SYS_creat => path::sys_creat,
        SYS_inotify_init => notify::sys_inotify_init,
        SYS_inotify_init1 => notify::sys_inotify_init1,
        SYS_inotify_add_watch => notify::sys_inotify_add_watch,
        SYS_inotify_rm_watch => notify::sys_inotify_rm_watch,
        _ => return None,
    };
    Some(h)
}

/// Serves system call `nr` for the calling task.
pub fn dispatch(ctx: &mut TaskCtx, nr: u64, args: [u64; 6]) -> SysResult<u64> {
    match handler(nr) {
        Some(h) => h(ctx, args),
        None => {
            if ctx.kernel().note_unimplemented(nr) {
                tracing::warn!(syscall = %rvisor_syscalls::table::nr_name(nr), "unimplemented system call");
            }
            Err(Errno::ENOSYS)
        }
    }
}

/// Runs `attempt` until it stops returning EAGAIN, waiting for readiness of
/// `files` between tries. Returns ERESTARTSYS when a signal arrives and
/// ETIMEDOUT at `deadline`. Host descriptors are waited on for either
/// direction; [`block_on_events`] names the one the call needs.
pub fn block_on<T>(
    ctx: &TaskCtx,
    files: &[&dyn FileOps],
    deadline: Option<Instant>,
    attempt: impl FnMut() -> SysResult<T>,
) -> SysResult<T> {
    block_on_events(ctx, files, libc::POLLIN | libc::POLLOUT, deadline, attempt)
}

/// [`block_on`] waiting for `events` (POLLIN for a read, POLLOUT for a
/// write) on the files' host descriptors, so that a host descriptor
/// ready in the other direction does not wake the wait over and over.
pub fn block_on_events<T>(
    ctx: &TaskCtx,
    files: &[&dyn FileOps],
    events: i16,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> SysResult<T>,
) -> SysResult<T> {
    loop {
        match attempt() {
            Err(e) if e == Errno::EAGAIN => {}
            r => return r,
        }
        let regs: Vec<_> = files
            .iter()
            .filter_map(|f| f.wait_queue())
            .map(|q| q.register(&ctx.task.waker))
            .collect();
        match attempt() {
            Err(e) if e == Errno::EAGAIN => {}
            r => return r,
        }
        if ctx.interrupted() {
            return Err(Errno::new(ERESTARTSYS));
        }
        let host: Vec<(i32, i16)> = files
            .iter()
            .filter_map(|f| f.host_fd())
            .map(|fd| (fd, events))
            .collect();
        let r = ctx.task.waker.wait(&host, deadline);
        drop(regs);
        if r == WaitResult::TimedOut {
            return Err(Errno::ETIMEDOUT);
        }
        if !host.is_empty() && events == libc::POLLIN | libc::POLLOUT {
            // Host fds report readiness for either direction; avoid a busy
            // loop when only the other direction is ready.
            std::thread::yield_now();
        }
    }
}

/// Waits until `cond` holds, re-checking whenever `queue` is notified.
/// ERESTARTSYS on a signal; ETIMEDOUT at `deadline`.
pub fn wait_until(
    ctx: &TaskCtx,
    queue: &crate::kernel::wait::WaitQueue,
    deadline: Option<Instant>,
    mut cond: impl FnMut() -> bool,
) -> SysResult<()> {
    loop {
        if cond() {
            return Ok(());
        }
        let _r = queue.register(&ctx.task.waker);
        if cond() {
            return Ok(());
        }
        if ctx.interrupted() {
            return Err(Errno::new(ERESTARTSYS));
        }
        if ctx.task.waker.wait(&[], deadline) == WaitResult::TimedOut && !cond() {
            return Err(Errno::ETIMEDOUT);
        }
    }
}

#[cfg(test)]
mod tests {
    use rvisor_syscalls::status::{support, Support};

    #[test]
    fn status_table_matches_dispatch() {
        for s in rvisor_syscalls::table::all_sysnos() {
            let nr = s.id() as u64;
            let has = super::handler(nr).is_some();
            let claimed = !matches!(support(s), Support::Unsupported);
            assert_eq!(
                has,
                claimed,
                "{} ({nr}): handler={has}, status table says implemented={claimed}",
                s.name()
            );
        }
    }
}
