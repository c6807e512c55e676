//! Process and thread system calls: ids, clone/fork/vfork, execve, exit,
//! wait, process groups and sessions, credentials, limits, prctl.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use rvisor_syscalls::abi::{Rlimit, Rusage, Siginfo, Sysinfo, Timeval, Tms, Utsname};

use super::perm::creds;
use crate::fs::FdTable;
use crate::kernel::caps;
use crate::kernel::task::{new_group_inner, ExitKind, TaskCtx};
use crate::kernel::{Completion, ExitStatus, Task, TaskInner, ThreadGroup};
use crate::mm::Mm;
use crate::platform::ptrace::StubThread;
use crate::{Errno, SysResult};

/// getpid.
pub fn sys_getpid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.task.tg.tgid as u64)
}

/// gettid.
pub fn sys_gettid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.task.tid as u64)
}

/// getppid.
pub fn sys_getppid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    let p = ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .parent
        .as_ref()
        .and_then(|p| p.upgrade());
    Ok(p.map(|p| p.tgid as u64).unwrap_or(0))
}

/// getuid.
pub fn sys_getuid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(creds(ctx)?.uid as u64)
}
/// geteuid.
pub fn sys_geteuid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(creds(ctx)?.euid as u64)
}
/// getgid.
pub fn sys_getgid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(creds(ctx)?.gid as u64)
}
/// getegid.
pub fn sys_getegid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(creds(ctx)?.egid as u64)
}

/// getresuid.
pub fn sys_getresuid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let c = creds(ctx)?;
    ctx.write_val(a[0], &c.uid)?;
    ctx.write_val(a[1], &c.euid)?;
    ctx.write_val(a[2], &c.suid)?;
    Ok(0)
}

/// getresgid.
pub fn sys_getresgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let c = creds(ctx)?;
    ctx.write_val(a[0], &c.gid)?;
    ctx.write_val(a[1], &c.egid)?;
    ctx.write_val(a[2], &c.sgid)?;
    Ok(0)
}

/// getgroups.
pub fn sys_getgroups(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let c = creds(ctx)?;
    let size = a[0] as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(c.groups.len() as u64);
    }
    if (size as usize) < c.groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = c.groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    ctx.write_bytes(a[1], &bytes)?;
    Ok(c.groups.len() as u64)
}

/// Which of the set*id calls is asking (their permission and saved-id
/// rules differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetId {
    /// setuid/setgid: everything with the capability, else the effective
    /// id to the real or saved one.
    One,
    /// setreuid/setregid.
    Re,
    /// setresuid/setresgid.
    Res,
}

/// Applies a set*uid (`user`) or set*gid change with Linux's permission
/// rules (CAP_SETUID/CAP_SETGID lifts them) and, for user ids, its
/// capability adjustments.
fn set_ids(
    ctx: &TaskCtx,
    user: bool,
    kind: SetId,
    r: Option<u32>,
    e: Option<u32>,
    s: Option<u32>,
) -> SysResult<u64> {
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    let c = &mut g.creds;
    let capable = c.capable(if user { caps::SETUID } else { caps::SETGID });
    let (or, oe, os) = if user {
        (c.uid, c.euid, c.suid)
    } else {
        (c.gid, c.egid, c.sgid)
    };
    let (nr, ne, ns) = match kind {
        SetId::One => {
            let id = e.ok_or(Errno::EINVAL)?;
            if capable {
                (id, id, id)
            } else if id == or || id == os {
                (or, id, os)
            } else {
                return Err(Errno::EPERM);
            }
        }
        SetId::Re => {
            if !capable
                && (r.is_some_and(|v| v != or && v != oe)
                    || e.is_some_and(|v| v != or && v != oe && v != os))
            {
                return Err(Errno::EPERM);
            }
            let nr = r.unwrap_or(or);
            let ne = e.unwrap_or(oe);
            // The saved id follows the effective one when the real id is
            // set or the effective one becomes other than the old real id.
            let ns = if r.is_some() || e.is_some_and(|v| v != or) {
                ne
            } else {
                os
            };
            (nr, ne, ns)
        }
        SetId::Res => {
            if !capable
                && [r, e, s]
                    .into_iter()
                    .flatten()
                    .any(|v| v != or && v != oe && v != os)
            {
                return Err(Errno::EPERM);
            }
            (r.unwrap_or(or), e.unwrap_or(oe), s.unwrap_or(os))
        }
    };
    if user {
        c.set_uids(caps::Uids {
            r: nr,
            e: ne,
            s: ns,
            fs: ne,
        });
    } else {
        c.gid = nr;
        c.egid = ne;
        c.sgid = ns;
        c.fsgid = ne;
    }
    Ok(0)
}

fn id_arg(v: u64) -> Option<u32> {
    let v = v as u32;
    if v == u32::MAX {
        None
    } else {
        Some(v)
    }
}

/// setuid.
pub fn sys_setuid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let id = id_arg(a[0]).ok_or(Errno::EINVAL)?;
    set_ids(ctx, true, SetId::One, None, Some(id), None)
}

/// setgid.
pub fn sys_setgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let id = id_arg(a[0]).ok_or(Errno::EINVAL)?;
    set_ids(ctx, false, SetId::One, None, Some(id), None)
}

/// setreuid.
pub fn sys_setreuid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set_ids(ctx, true, SetId::Re, id_arg(a[0]), id_arg(a[1]), None)
}
/// setregid.
pub fn sys_setregid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set_ids(ctx, false, SetId::Re, id_arg(a[0]), id_arg(a[1]), None)
}
/// setresuid.
pub fn sys_setresuid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set_ids(
        ctx,
        true,
        SetId::Res,
        id_arg(a[0]),
        id_arg(a[1]),
        id_arg(a[2]),
    )
}
/// setresgid.
pub fn sys_setresgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set_ids(
        ctx,
        false,
        SetId::Res,
        id_arg(a[0]),
        id_arg(a[1]),
        id_arg(a[2]),
    )
}

/// setfsuid: always returns the old filesystem user id; changes it to one
/// of the real, effective, saved or current filesystem ids, or to anything
/// with CAP_SETUID.
pub fn sys_setfsuid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    let c = &mut g.creds;
    let old = c.fsuid;
    let id = a[0] as u32;
    if id != u32::MAX
        && ([c.uid, c.euid, c.suid, c.fsuid].contains(&id) || c.capable(caps::SETUID))
        && id != old
    {
        c.fsuid = id;
        c.caps.fix_setfsuid(old, id);
    }
    Ok(old as u64)
}

/// setfsgid: like setfsuid for the filesystem group id (CAP_SETGID).
pub fn sys_setfsgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    let c = &mut g.creds;
    let old = c.fsgid;
    let id = a[0] as u32;
    if id != u32::MAX && ([c.gid, c.egid, c.sgid, c.fsgid].contains(&id) || c.capable(caps::SETGID))
    {
        c.fsgid = id;
    }
    Ok(old as u64)
}

/// setgroups.
pub fn sys_setgroups(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let n = a[0] as usize;
    if n > 65536 {
        return Err(Errno::EINVAL);
    }
    let bytes = ctx.read_bytes(a[1], n * 4)?;
    let groups: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    if !g.creds.capable(caps::SETGID) {
        return Err(Errno::EPERM);
    }
    g.creds.groups = groups;
    Ok(0)
}

/// umask.
pub fn sys_umask(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    let mut f = fs.lock().map_err(|_| Errno::EIO)?;
    let old = f.umask;
    f.umask = (a[0] as u32) & 0o777;
    Ok(old as u64)
}

/// sched_yield.
pub fn sys_sched_yield(_ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    std::thread::yield_now();
    Ok(0)
}

/// Number of CPUs the sandbox reports.
pub fn ncpus() -> usize {
    *NCPUS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(1024)
    })
}

/// The CPU count, read once before any sentry thread is pinned to a CPU
/// (see [`record_ncpus`]).
static NCPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Records the CPU count the sandbox reports; call at boot from an
/// unpinned thread.
pub fn record_ncpus() {
    let _ = ncpus();
}

/// sched_getaffinity: every CPU.
pub fn sys_sched_getaffinity(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let len = a[1] as usize;
    let n = ncpus();
    let need = n.div_ceil(64) * 8;
    if len < need || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    if a[0] != 0 && !task_exists(ctx, a[0] as i32) {
        return Err(Errno::ESRCH);
    }
    let mut mask = vec![0u8; need];
    for i in 0..n {
        mask[i / 8] |= 1 << (i % 8);
    }
    ctx.write_bytes(a[2], &mask)?;
    Ok(need as u64)
}

fn task_exists(ctx: &TaskCtx, tid: i32) -> bool {
    tid > 0 && ctx.kernel().task(tid).is_some()
}

/// sched_getscheduler: SCHED_OTHER.
pub fn sys_sched_getscheduler(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && !task_exists(ctx, pid) {
        return Err(Errno::ESRCH);
    }
    Ok(0)
}

/// sched_getparam: priority 0.
pub fn sys_sched_getparam(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && !task_exists(ctx, pid) {
        return Err(Errno::ESRCH);
    }
    ctx.write_val(a[1], &0i32)?;
    Ok(0)
}

/// getcpu.
pub fn sys_getcpu(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    // SAFETY: sched_getcpu takes no arguments.
    let cpu = unsafe { libc::sched_getcpu() }.max(0) as u32;
    if a[0] != 0 {
        ctx.write_val(a[0], &cpu)?;
    }
    if a[1] != 0 {
        ctx.write_val(a[1], &0u32)?;
    }
    Ok(0)
}

fn copy_field(dst: &mut [u8; 65], s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(64);
    dst[..n].copy_from_slice(&b[..n]);
}

/// uname: rvisor's own release string.
pub fn sys_uname(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let k = ctx.kernel();
    let mut u = Utsname::default();
    copy_field(&mut u.sysname, "Linux");
    copy_field(
        &mut u.nodename,
        &k.hostname.lock().map(|h| h.clone()).unwrap_or_default(),
    );
    copy_field(&mut u.release, &k.config.release);
    copy_field(&mut u.version, &k.config.version);
    copy_field(&mut u.machine, "x86_64");
    copy_field(
        &mut u.domainname,
        &k.domainname.lock().map(|h| h.clone()).unwrap_or_default(),
    );
    ctx.write_val(a[0], &u)?;
    Ok(0)
}

/// sethostname (needs CAP_SYS_ADMIN: root inside).
pub fn sys_sethostname(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let len = a[1] as usize;
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    if !creds(ctx)?.capable(caps::SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let b = ctx.read_bytes(a[0], len)?;
    *ctx.kernel().hostname.lock().map_err(|_| Errno::EIO)? =
        String::from_utf8_lossy(&b).into_owned();
    Ok(0)
}

/// getrandom.
pub fn sys_getrandom(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as u32;
    if flags & !(libc::GRND_NONBLOCK | libc::GRND_RANDOM | 0x4) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = (a[1] as usize).min(1 << 20);
    let mut buf = vec![0u8; len];
    // SAFETY: fills the sentry's own buffer.
    let r = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, len, 0) };
    if r < 0 {
        return Err(Errno::EIO);
    }
    ctx.write_bytes(a[0], &buf[..r as usize])?;
    Ok(r as u64)
}

// ---- limits and usage --------------------------------------------------

fn rlimit_get(ctx: &TaskCtx, res: u32) -> SysResult<(u64, u64)> {
    let g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    g.rlimits.get(res as usize).copied().ok_or(Errno::EINVAL)
}

fn rlimit_set(tg: &ThreadGroup, res: u32, cur: u64, max: u64) -> SysResult<()> {
    if cur > max {
        return Err(Errno::EINVAL);
    }
    let mut g = tg.inner.lock().map_err(|_| Errno::EIO)?;
    let old = *g.rlimits.get(res as usize).ok_or(Errno::EINVAL)?;
    if max > old.1 && !g.creds.capable(caps::SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    if res == libc::RLIMIT_NOFILE && max > crate::fs::fdtable::MAX_NOFILE {
        return Err(Errno::EPERM);
    }
    g.rlimits[res as usize] = (cur, max);
    Ok(())
}

/// getrlimit.
pub fn sys_getrlimit(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let (cur, max) = rlimit_get(ctx, a[0] as u32)?;
    ctx.write_val(
        a[1],
        &Rlimit {
            rlim_cur: cur,
            rlim_max: max,
        },
    )?;
    Ok(0)
}

/// setrlimit.
pub fn sys_setrlimit(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let r: Rlimit = ctx.read_val(a[1])?;
    rlimit_set(&ctx.task.tg, a[0] as u32, r.rlim_cur, r.rlim_max)?;
    Ok(0)
}

/// prlimit64.
pub fn sys_prlimit64(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let tg = if pid == 0 {
        ctx.task.tg.clone()
    } else {
        ctx.kernel().group(pid).ok_or(Errno::ESRCH)?
    };
    let res = a[1] as u32;
    let old = {
        let g = tg.inner.lock().map_err(|_| Errno::EIO)?;
        *g.rlimits.get(res as usize).ok_or(Errno::EINVAL)?
    };
    if a[2] != 0 {
        let r: Rlimit = ctx.read_val(a[2])?;
        rlimit_set(&tg, res, r.rlim_cur, r.rlim_max)?;
    }
    if a[3] != 0 {
        ctx.write_val(
            a[3],
            &Rlimit {
                rlim_cur: old.0,
                rlim_max: old.1,
            },
        )?;
    }
    Ok(0)
}

fn host_times() -> (u64, u64) {
    // SAFETY: rusage is plain old data; getrusage fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a live rusage buffer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// getrusage: times are the sentry thread's (an approximation of the
/// workload's, which runs in the stub).
pub fn sys_getrusage(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let who = a[0] as i32;
    let (u, s) = match who {
        libc::RUSAGE_SELF | libc::RUSAGE_THREAD => host_times(),
        libc::RUSAGE_CHILDREN => ctx
            .task
            .tg
            .inner
            .lock()
            .map(|g| g.child_times)
            .unwrap_or((0, 0)),
        _ => return Err(Errno::EINVAL),
    };
    let ru = Rusage {
        ru_utime: Timeval {
            tv_sec: (u / 1_000_000) as i64,
            tv_usec: (u % 1_000_000) as i64,
        },
        ru_stime: Timeval {
            tv_sec: (s / 1_000_000) as i64,
            tv_usec: (s % 1_000_000) as i64,
        },
        ..Default::default()
    };
    ctx.write_val(a[1], &ru)?;
    Ok(0)
}

/// times.
pub fn sys_times(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let (u, s) = host_times();
    let (cu, cs) = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| g.child_times)
        .unwrap_or((0, 0));
    let t = Tms {
        tms_utime: (u / 10_000) as i64,
        tms_stime: (s / 10_000) as i64,
        tms_cutime: (cu / 10_000) as i64,
        tms_cstime: (cs / 10_000) as i64,
    };
    if a[0] != 0 {
        ctx.write_val(a[0], &t)?;
    }
    Ok((ctx.kernel().boot.elapsed().as_millis() / 10) as u64 + 100_000)
}

/// The host's RAM in bytes (what the sandbox reports as its memory).
pub fn total_ram() -> u64 {
    // SAFETY: sysinfo is plain old data; the host fills it in.
    let mut h: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is a live sysinfo buffer.
    if unsafe { libc::sysinfo(&mut h) } != 0 {
        return 0;
    }
    (h.totalram as u64).saturating_mul(u64::from(h.mem_unit.max(1)))
}

/// sysinfo.
pub fn sys_sysinfo(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    // SAFETY: sysinfo is plain old data; the host fills it in.
    let mut h: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is a live sysinfo buffer.
    unsafe { libc::sysinfo(&mut h) };
    let s = Sysinfo {
        uptime: ctx.kernel().boot.elapsed().as_secs() as i64,
        totalram: h.totalram,
        freeram: h.freeram,
        sharedram: h.sharedram,
        bufferram: h.bufferram,
        procs: ctx.kernel().groups().len() as u16,
        mem_unit: h.mem_unit,
        ..Default::default()
    };
    ctx.write_val(a[0], &s)?;
    Ok(0)
}

// ---- prctl / arch_prctl / tid address ----------------------------------

/// arch_prctl: FS base only.
pub fn sys_arch_prctl(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_GET_GS: u64 = 0x1004;
    match a[0] {
        ARCH_SET_FS => {
            if a[1] >= crate::mm::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            ctx.regs.fs_base = a[1];
            Ok(0)
        }
        ARCH_GET_FS => {
            ctx.write_val(a[1], &ctx.regs.fs_base)?;
            Ok(0)
        }
        ARCH_SET_GS | ARCH_GET_GS => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

/// prctl: the options real programs use.
pub fn sys_prctl(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if let Some(r) = super::caps::prctl(ctx, a) {
        return r;
    }
    match a[0] as i32 {
        libc::PR_SET_NAME => {
            let name = ctx.read_cstr(a[1], 4096)?;
            ctx.task.inner.lock().map_err(|_| Errno::EIO)?.comm =
                name.into_iter().take(15).collect();
            Ok(0)
        }
        libc::PR_GET_NAME => {
            let mut c = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.comm.clone();
            c.resize(16, 0);
            ctx.write_bytes(a[1], &c)?;
            Ok(0)
        }
        libc::PR_SET_PDEATHSIG => {
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            ctx.task.inner.lock().map_err(|_| Errno::EIO)?.pdeathsig = a[1] as i32;
            Ok(0)
        }
        libc::PR_GET_PDEATHSIG => {
            let s = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.pdeathsig;
            ctx.write_val(a[1], &s)?;
            Ok(0)
        }
        libc::PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            ctx.task
                .tg
                .inner
                .lock()
                .map_err(|_| Errno::EIO)?
                .no_new_privs = true;
            Ok(0)
        }
        libc::PR_GET_NO_NEW_PRIVS => Ok(ctx
            .task
            .tg
            .inner
            .lock()
            .map_err(|_| Errno::EIO)?
            .no_new_privs as u64),
        libc::PR_GET_DUMPABLE => {
            Ok(ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?.dumpable as u64)
        }
        libc::PR_SET_DUMPABLE => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?.dumpable = a[1] == 1;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// set_tid_address.
pub fn sys_set_tid_address(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.task
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .clear_child_tid = a[0];
    Ok(ctx.task.tid as u64)
}

/// set_robust_list: recorded (robust futex cleanup at exit is not done).
pub fn sys_set_robust_list(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    ctx.task.inner.lock().map_err(|_| Errno::EIO)?.robust_list = (a[0], a[1]);
    Ok(0)
}

/// get_robust_list.
pub fn sys_get_robust_list(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = if a[0] == 0 {
        ctx.task.clone()
    } else {
        ctx.kernel().task(a[0] as i32).ok_or(Errno::ESRCH)?
    };
    let (head, len) = t.inner.lock().map_err(|_| Errno::EIO)?.robust_list;
    ctx.write_val(a[1], &head)?;
    ctx.write_val(a[2], &len)?;
    Ok(0)
}

// ---- process groups and sessions ---------------------------------------

/// The process `pid` names (0: the caller's), for getpgid/getsid.
fn group_arg(ctx: &TaskCtx, pid: u64) -> SysResult<Arc<ThreadGroup>> {
    match pid as i32 {
        0 => Ok(ctx.task.tg.clone()),
        p => ctx.kernel().group(p).ok_or(Errno::ESRCH),
    }
}

/// getpgid.
pub fn sys_getpgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let tg = group_arg(ctx, a[0])?;
    let pgid = tg.inner.lock().map_err(|_| Errno::EIO)?.pgid;
    Ok(pgid as u64)
}

/// getpgrp.
pub fn sys_getpgrp(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    sys_getpgid(ctx, [0; 6])
}

/// getsid.
pub fn sys_getsid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let tg = group_arg(ctx, a[0])?;
    let sid = tg.inner.lock().map_err(|_| Errno::EIO)?.sid;
    Ok(sid as u64)
}

/// setsid.
pub fn sys_setsid(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    let me = ctx.task.tg.tgid;
    let in_use = ctx
        .kernel()
        .groups()
        .iter()
        .any(|g| g.inner.lock().map(|i| i.pgid == me).unwrap_or(false) && g.tgid != me);
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    if g.pgid == me || in_use {
        return Err(Errno::EPERM);
    }
    g.pgid = me;
    g.sid = me;
    g.ctty = None;
    Ok(me as u64)
}

/// setpgid.
pub fn sys_setpgid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let me = ctx.task.tg.clone();
    let pid = if a[0] == 0 { me.tgid } else { a[0] as i32 };
    let pgid = if a[1] == 0 { pid } else { a[1] as i32 };
    if pid < 0 || pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = ctx.kernel().group(pid).ok_or(Errno::ESRCH)?;
    let my_sid = me.inner.lock().map_err(|_| Errno::EIO)?.sid;
    if target.tgid != me.tgid {
        let t = target.inner.lock().map_err(|_| Errno::EIO)?;
        let is_child = t
            .parent
            .as_ref()
            .and_then(|p| p.upgrade())
            .map(|p| p.tgid == me.tgid)
            .unwrap_or(false);
        if !is_child {
            return Err(Errno::ESRCH);
        }
        if t.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if t.did_exec {
            return Err(Errno::EACCES);
        }
    }
    {
        let t = target.inner.lock().map_err(|_| Errno::EIO)?;
        if t.sid == target.tgid {
            return Err(Errno::EPERM); // session leader
        }
    }
    if pgid != pid {
        let exists = ctx.kernel().groups().iter().any(|g| {
            g.inner
                .lock()
                .map(|i| i.pgid == pgid && i.sid == my_sid && i.zombie.is_none())
                .unwrap_or(false)
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    target.inner.lock().map_err(|_| Errno::EIO)?.pgid = pgid;
    Ok(0)
}

// ---- exit ------------------------------------------------------------

/// exit: ends the calling thread.
pub fn sys_exit(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.exit_now = Some(ExitKind::Thread((a[0] & 0xff) as i32));
    Ok(0)
}

/// exit_group: ends the process.
pub fn sys_exit_group(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.exit_now = Some(ExitKind::Group(ExitStatus::Exited((a[0] & 0xff) as i32)));
    Ok(0)
}

// ---- clone ------------------------------------------------------------

const CLONE_SUPPORTED: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_PTRACE
    | libc::CLONE_VFORK
    | libc::CLONE_PARENT
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID
    | libc::CLONE_DETACHED
    | libc::CLONE_UNTRACED
    | libc::CLONE_CHILD_SETTID
    | libc::CLONE_IO) as u64
    | 0xff;

/// clone(flags, stack, parent_tid, child_tid, tls).
pub fn sys_clone(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    do_clone(ctx, a[0], a[1], a[2], a[3], a[4])
}

/// fork.
pub fn sys_fork(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    do_clone(ctx, libc::SIGCHLD as u64, 0, 0, 0, 0)
}

/// vfork.
pub fn sys_vfork(ctx: &mut TaskCtx, _a: [u64; 6]) -> SysResult<u64> {
    do_clone(
        ctx,
        (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64,
        0,
        0,
        0,
        0,
    )
}

fn do_clone(
    ctx: &mut TaskCtx,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult<u64> {
    if flags & !CLONE_SUPPORTED != 0 {
        // Namespaces and pidfds are not supported yet.
        return Err(Errno::EINVAL);
    }
    let thread = flags & libc::CLONE_THREAD as u64 != 0;
    let vm = flags & libc::CLONE_VM as u64 != 0;
    let sighand = flags & libc::CLONE_SIGHAND as u64 != 0;
    if (thread && !sighand) || (sighand && !vm) {
        return Err(Errno::EINVAL);
    }
    let exit_signal = (flags & 0xff) as i32;
    if exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if ctx.kernel().at_task_limit() {
        return Err(Errno::EAGAIN);
    }
    if !thread {
        let nproc = ctx
            .task
            .tg
            .inner
            .lock()
            .map(|g| g.rlimits[libc::RLIMIT_NPROC as usize].0)
            .unwrap_or(u64::MAX);
        if ctx.kernel().groups().len() as u64 >= nproc {
            return Err(Errno::EAGAIN);
        }
    }
    let host_flags = if thread {
        (libc::CLONE_VM | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64
    } else if vm {
        (libc::CLONE_VM | libc::SIGCHLD) as u64
    } else {
        libc::SIGCHLD as u64
    };

    // Build the child's kernel state.
    let parent_inner = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
    let mm = if vm {
        parent_inner.mm.clone()
    } else {
        let src = parent_inner.mm.inner.lock().map_err(|_| Errno::EIO)?;
        let copy = crate::mm::MmInner {
            vmas: src.vmas.clone(),
            brk_start: src.brk_start,
            brk: src.brk,
            arg_range: src.arg_range,
            env_range: src.env_range,
            auxv: src.auxv.clone(),
        };
        Arc::new(Mm {
            inner: Mutex::new(copy),
        })
    };
    let files = if flags & libc::CLONE_FILES as u64 != 0 {
        parent_inner.files.clone()
    } else {
        parent_inner.files.fork()
    };
    let fs = if flags & libc::CLONE_FS as u64 != 0 {
        parent_inner.fs.clone()
    } else {
        let f = parent_inner.fs.lock().map_err(|_| Errno::EIO)?.clone();
        Arc::new(Mutex::new(f))
    };
    let vfork_done = if flags & libc::CLONE_VFORK as u64 != 0 {
        Some(Arc::new(Completion::default()))
    } else {
        None
    };
    let child_inner = TaskInner {
        mm,
        files,
        fs,
        sigmask: parent_inner.sigmask,
        saved_mask: None,
        pending: Default::default(),
        altstack: if vm && flags & libc::CLONE_VFORK as u64 == 0 {
            rvisor_syscalls::abi::StackT {
                ss_flags: libc::SS_DISABLE,
                ..Default::default()
            }
        } else {
            parent_inner.altstack
        },
        clear_child_tid: if flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
            ctid
        } else {
            0
        },
        robust_list: (0, 0),
        comm: parent_inner.comm.clone(),
        vfork_done: vfork_done.clone(),
        pdeathsig: 0,
    };
    drop(parent_inner);

    let parent_tg = ctx.task.tg.clone();
    let (pgid, sid, creds, rlimits, exe, no_new_privs, ctty) = {
        let g = parent_tg.inner.lock().map_err(|_| Errno::EIO)?;
        (
            g.pgid,
            g.sid,
            g.creds.clone(),
            g.rlimits,
            g.exe.clone(),
            g.no_new_privs,
            g.ctty.clone(),
        )
    };
    let real_parent = if flags & libc::CLONE_PARENT as u64 != 0 {
        parent_tg
            .inner
            .lock()
            .ok()
            .and_then(|g| g.parent.as_ref().and_then(|p| p.upgrade()))
            .unwrap_or(parent_tg.clone())
    } else {
        parent_tg.clone()
    };
    let task = ctx
        .kernel()
        .new_task(
            if thread {
                Some(parent_tg.clone())
            } else {
                None
            },
            |_pid| {
                let mut g = new_group_inner(Some(&real_parent), pgid, sid, creds);
                g.rlimits = rlimits;
                g.exit_signal = exit_signal;
                g.exe = exe;
                // Inherited over fork (and kept over execve), like Linux.
                g.no_new_privs = no_new_privs;
                g.ctty = ctty;
                g
            },
            child_inner,
        )
        .ok_or(Errno::EAGAIN)?;
    if !thread {
        crate::kernel::Kernel::copy_actions(&parent_tg, &task.tg);
        if let Ok(mut p) = real_parent.inner.lock() {
            p.children.push(task.tg.clone());
        }
    }

    // Create the host side.
    let host_tid = match ctx.stub.inject_clone(host_flags) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("clone: injecting into the stub failed: {e}");
            abandon_child(ctx, &task, thread);
            return Err(Errno::EAGAIN);
        }
    };
    let host_tgid = if thread { ctx.stub.tgid() } else { host_tid };
    let mut regs = ctx.regs;
    regs.rax = 0;
    regs.orig_rax = u64::MAX;
    if stack != 0 {
        regs.rsp = stack;
    }
    if flags & libc::CLONE_SETTLS as u64 != 0 {
        regs.fs_base = tls;
    }
    let child_tid = task.tid;
    if flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
        let _ = ctx.write_val(ptid, &(child_tid as u32));
    }
    let set_ctid = if flags & libc::CLONE_CHILD_SETTID as u64 != 0 {
        Some(ctid)
    } else {
        None
    };
    let scratch = (ctx.stub.scratch_regs(), ctx.stub.special());
    let t2 = task.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("task-{child_tid}"))
        .spawn(move || {
            child_main(t2, host_tid, host_tgid, scratch, regs, set_ctid);
        });
    if let Err(e) = spawned {
        tracing::warn!("clone: cannot start a sentry thread: {e}");
        // SAFETY: kill the parked host child we just created.
        unsafe { libc::kill(host_tid, libc::SIGKILL) };
        abandon_child(ctx, &task, thread);
        return Err(Errno::EAGAIN);
    }
    if let Some(done) = vfork_done {
        // The parent sleeps until the child execs or exits (not
        // interruptible by signals other than fatal ones, like Linux).
        loop {
            let _r = done.queue().register(&ctx.task.waker);
            if done.is_done() || ctx.task.killed.load(Ordering::SeqCst) {
                break;
            }
            ctx.task.waker.wait(&[], None);
        }
    }
    Ok(child_tid as u64)
}

fn abandon_child(ctx: &TaskCtx, task: &Arc<Task>, thread: bool) {
    ctx.kernel().remove_task(task.tid);
    if let Ok(mut g) = task.tg.inner.lock() {
        g.threads.retain(|t| t.tid != task.tid);
    }
    if !thread {
        if let Ok(mut p) = ctx.task.tg.inner.lock() {
            p.children.retain(|c| c.tgid != task.tg.tgid);
        }
        ctx.kernel().remove_group(task.tg.tgid);
    }
}

fn child_main(
    task: Arc<Task>,
    host_tid: i32,
    host_tgid: i32,
    (scratch, special): (
        libc::user_regs_struct,
        crate::platform::ptrace::SpecialMappings,
    ),
    regs: libc::user_regs_struct,
    set_ctid: Option<u64>,
) {
    let stub = match StubThread::seize(host_tid, host_tgid, scratch, special) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot seize new stub thread: {e}");
            // SAFETY: kill the host thread we failed to take over.
            unsafe { libc::syscall(libc::SYS_tgkill, host_tgid, host_tid, libc::SIGKILL) };
            let mut ctx_fail = None::<TaskCtx>;
            let _ = ctx_fail.take();
            task.killed.store(true, Ordering::SeqCst);
            return;
        }
    };
    task.set_host(&stub);
    stub.pin_with_tracer();
    crate::fs::procfs::set_current(task.tg.tgid, task.tid);
    crate::kernel::set_current_task(&task);
    let ctx = TaskCtx {
        task,
        stub,
        regs,
        exit_now: None,
        syscall_nr: 0,
    };
    if let Some(addr) = set_ctid {
        let _ = ctx.write_val(addr, &(ctx.task.tid as u32));
    }
    ctx.run();
}

// ---- execve ------------------------------------------------------------

fn read_string_array(ctx: &TaskCtx, addr: u64) -> SysResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0.. {
        let p: u64 = ctx.read_val(addr.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
        if p == 0 {
            break;
        }
        let s = ctx.read_cstr(p, crate::loader::MAX_ARG_STRLEN)?;
        total += s.len() + 1 + 8;
        if total > 32 << 20 {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

/// execve.
pub fn sys_execve(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = ctx.read_path(a[0])?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let argv = read_string_array(ctx, a[1])?;
    let envp = read_string_array(ctx, a[2])?;
    crate::loader::execve(ctx, &path, argv, envp)?;
    Ok(0)
}

/// execveat.
pub fn sys_execveat(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[4] as i32;
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.read_path(a[1])?;
    let argv = read_string_array(ctx, a[2])?;
    let envp = read_string_array(ctx, a[3])?;
    let loc = super::path::resolve_at(
        ctx,
        a[0] as i32,
        &path,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    let shown = if path.is_empty() {
        format!("/dev/fd/{}", a[0] as i32).into_bytes()
    } else {
        path
    };
    crate::loader::execve_loc(ctx, loc, &shown, argv, envp)?;
    Ok(0)
}

// ---- wait --------------------------------------------------------------

enum Selector {
    Any,
    Pid(i32),
    Pgid(i32),
}

struct Reaped {
    pid: i32,
    status: i32,
    code: i32,
    uid: u32,
}

/// Finds a child matching `sel` whose state change `options` asks for.
/// Returns Ok(None) if there are matching children but none ready.
fn find_waitable(
    ctx: &TaskCtx,
    sel: &Selector,
    options: i32,
    consume: bool,
) -> SysResult<Option<Reaped>> {
    let me = ctx.task.tg.clone();
    let mut mine = me.inner.lock().map_err(|_| Errno::EIO)?;
    let my_pgid = mine.pgid;
    let mut any = false;
    let mut reap_idx = None;
    let mut result = None;
    for (idx, c) in mine.children.iter().enumerate() {
        let mut ci = c.inner.lock().map_err(|_| Errno::EIO)?;
        let matches = match sel {
            Selector::Any => true,
            Selector::Pid(p) => c.tgid == *p,
            Selector::Pgid(g) => ci.pgid == if *g == 0 { my_pgid } else { *g },
        };
        if !matches {
            continue;
        }
        // __WCLONE: only children whose exit signal is not SIGCHLD.
        let clone_child = ci.exit_signal != libc::SIGCHLD;
        if options & libc::__WALL == 0 && (options & libc::__WCLONE != 0) != clone_child {
            continue;
        }
        any = true;
        if let Some(st) = ci.zombie {
            if options & libc::WEXITED != 0 {
                let (code, status_val) = match st {
                    ExitStatus::Exited(c) => (libc::CLD_EXITED, c),
                    ExitStatus::Signaled(s, true) => (libc::CLD_DUMPED, s),
                    ExitStatus::Signaled(s, false) => (libc::CLD_KILLED, s),
                };
                result = Some(Reaped {
                    pid: c.tgid,
                    status: st.wait_status(),
                    code,
                    uid: ci.creds.uid,
                });
                let _ = status_val;
                if consume {
                    reap_idx = Some(idx);
                }
                break;
            }
            continue;
        }
        if let Some(rep) = ci.stop_report {
            let is_cont = rep == 0xffff;
            if (is_cont && options & libc::WCONTINUED != 0)
                || (!is_cont && options & libc::WUNTRACED != 0)
            {
                let code = if is_cont {
                    libc::CLD_CONTINUED
                } else {
                    libc::CLD_STOPPED
                };
                result = Some(Reaped {
                    pid: c.tgid,
                    status: rep,
                    code,
                    uid: ci.creds.uid,
                });
                if consume {
                    ci.stop_report = None;
                }
                break;
            }
        }
    }
    if let Some(i) = reap_idx {
        let c = mine.children.remove(i);
        drop(mine);
        ctx.kernel().remove_group(c.tgid);
    }
    if result.is_some() {
        return Ok(result);
    }
    if !any {
        return Err(Errno::ECHILD);
    }
    Ok(None)
}

fn wait_common(
    ctx: &TaskCtx,
    sel: Selector,
    options: i32,
    consume: bool,
) -> SysResult<Option<Reaped>> {
    loop {
        let _r = ctx.task.tg.child_events.register(&ctx.task.waker);
        if let Some(r) = find_waitable(ctx, &sel, options, consume)? {
            return Ok(Some(r));
        }
        if options & libc::WNOHANG != 0 {
            return Ok(None);
        }
        if ctx.interrupted() {
            return Err(Errno::new(crate::kernel::task::ERESTARTSYS));
        }
        ctx.task.waker.wait(&[], None);
    }
}

/// wait4.
pub fn sys_wait4(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let options = a[2] as i32;
    if options
        & !(libc::WNOHANG
            | libc::WUNTRACED
            | libc::WCONTINUED
            | libc::__WALL
            | libc::__WCLONE
            | libc::__WNOTHREAD)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let sel = match pid {
        -1 => Selector::Any,
        0 => Selector::Pgid(0),
        p if p < -1 => Selector::Pgid(p.checked_neg().ok_or(Errno::ESRCH)?),
        p => Selector::Pid(p),
    };
    match wait_common(ctx, sel, options | libc::WEXITED, true)? {
        None => Ok(0),
        Some(r) => {
            if a[1] != 0 {
                ctx.write_val(a[1], &r.status)?;
            }
            if a[3] != 0 {
                ctx.write_val(a[3], &Rusage::default())?;
            }
            Ok(r.pid as u64)
        }
    }
}

/// waitid.
pub fn sys_waitid(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let idtype = a[0] as u32;
    let id = a[1] as i32;
    let options = a[3] as i32;
    if options
        & !(libc::WNOHANG
            | libc::WSTOPPED
            | libc::WCONTINUED
            | libc::WEXITED
            | libc::WNOWAIT
            | libc::__WALL
            | libc::__WCLONE
            | libc::__WNOTHREAD)
        != 0
        || options & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let sel = match idtype {
        libc::P_ALL => Selector::Any,
        libc::P_PID if id > 0 => Selector::Pid(id),
        libc::P_PGID if id >= 0 => Selector::Pgid(id),
        _ => return Err(Errno::EINVAL),
    };
    let consume = options & libc::WNOWAIT == 0;
    let r = wait_common(ctx, sel, options, consume)?;
    if a[2] != 0 {
        let info = match &r {
            Some(r) => {
                let st = match r.code {
                    libc::CLD_EXITED => (r.status >> 8) & 0xff,
                    libc::CLD_CONTINUED => libc::SIGCONT,
                    libc::CLD_STOPPED => (r.status >> 8) & 0xff,
                    _ => r.status & 0x7f,
                };
                Siginfo::child(r.code, r.pid, r.uid, st, 0, 0)
            }
            None => Siginfo::default(),
        };
        ctx.write_val(a[2], &info)?;
    }
    if a[4] != 0 {
        ctx.write_val(a[4], &Rusage::default())?;
    }
    Ok(0)
}

/// The empty descriptor table new sandboxes start with.
pub fn empty_files() -> Arc<FdTable> {
    FdTable::new()
}
