//! Smaller system calls that real programs make on start-up: file advice,
//! scheduling priority, flock.

use super::file::files;
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// fadvise64: advice only affects caching; checked and accepted.
pub fn sys_fadvise64(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    if (a[2] as i64) < 0 || a[3] as i32 > libc::POSIX_FADV_NOREUSE || (a[3] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

fn priority_target_ok(ctx: &TaskCtx, which: u32, who: i32) -> SysResult<()> {
    match which {
        libc::PRIO_PROCESS => {
            if who != 0 && ctx.kernel().task(who).is_none() && ctx.kernel().group(who).is_none() {
                return Err(Errno::ESRCH);
            }
        }
        libc::PRIO_PGRP | libc::PRIO_USER => {}
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

/// getpriority: every task runs at nice 0 (the syscall returns 20 - nice).
pub fn sys_getpriority(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    priority_target_ok(ctx, a[0] as u32, a[1] as i32)?;
    Ok(20)
}

/// setpriority: nice values are not emulated; raising priority needs
/// privilege, lowering it is refused as not supported.
pub fn sys_setpriority(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    priority_target_ok(ctx, a[0] as u32, a[1] as i32)?;
    let nice = (a[2] as i32).clamp(-20, 19);
    if nice == 0 {
        return Ok(0);
    }
    let capable = super::perm::capable(ctx, crate::kernel::caps::SYS_NICE).unwrap_or(false);
    if nice < 0 && !capable {
        return Err(Errno::EACCES);
    }
    Err(Errno::EPERM)
}

/// sched_get_priority_max / sched_get_priority_min.
pub fn sys_sched_priority_range(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let max = ctx.syscall_nr == libc::SYS_sched_get_priority_max as u64;
    match a[0] as i32 {
        libc::SCHED_OTHER | libc::SCHED_BATCH | libc::SCHED_IDLE => Ok(0),
        libc::SCHED_FIFO | libc::SCHED_RR => Ok(if max { 99 } else { 1 }),
        _ => Err(Errno::EINVAL),
    }
}

/// flock: whole-file advisory locks owned by the open file description.
pub fn sys_flock(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = files(ctx)?.get(a[0] as i32)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    let op = a[1] as i32;
    // LOCK_MAND (32) is obsolete; Linux ignores such requests and succeeds.
    if op & 32 != 0 {
        return Ok(0);
    }
    let nb = op & libc::LOCK_NB != 0;
    let attr = f.ops.stat()?;
    let key = (attr.dev, attr.ino);
    let owner = std::sync::Arc::as_ptr(&f) as usize;
    let table = crate::kernel::flock::table();
    let exclusive = match op & !libc::LOCK_NB {
        libc::LOCK_UN => {
            table.unlock(key, owner);
            return Ok(0);
        }
        libc::LOCK_SH => false,
        libc::LOCK_EX => true,
        _ => return Err(Errno::EINVAL),
    };
    if nb {
        return if table.try_lock(key, owner, exclusive) {
            Ok(0)
        } else {
            Err(Errno::EWOULDBLOCK)
        };
    }
    super::wait_until(ctx, &table.released, None, || {
        table.try_lock(key, owner, exclusive)
    })?;
    Ok(0)
}
