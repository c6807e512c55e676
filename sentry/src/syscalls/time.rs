//! Clocks and sleeps.

use std::time::{Duration, Instant};

use rvisor_syscalls::abi::{Timespec, Timeval};

use crate::kernel::task::{TaskCtx, ERESTART_RESTARTBLOCK};
use crate::kernel::wait::WaitResult;
use crate::{Errno, SysResult};

fn clock_valid(id: i32) -> bool {
    matches!(
        id,
        libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_PROCESS_CPUTIME_ID
            | libc::CLOCK_THREAD_CPUTIME_ID
            | libc::CLOCK_MONOTONIC_RAW
            | libc::CLOCK_REALTIME_COARSE
            | libc::CLOCK_MONOTONIC_COARSE
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_REALTIME_ALARM
            | libc::CLOCK_BOOTTIME_ALARM
            | libc::CLOCK_TAI
    )
}

/// Reads the host clock `id` (the sentry's own; time is not virtualized).
fn now(id: i32) -> SysResult<Timespec> {
    if !clock_valid(id) {
        return Err(Errno::EINVAL);
    }
    let host_id = match id {
        libc::CLOCK_PROCESS_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        libc::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
        libc::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME,
        x => x,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec into a live local.
    if unsafe { libc::clock_gettime(host_id, &mut ts) } != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Timespec {
        tv_sec: ts.tv_sec,
        tv_nsec: ts.tv_nsec,
    })
}

/// clock_gettime.
pub fn sys_clock_gettime(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let ts = now(a[0] as i32)?;
    ctx.write_val(a[1], &ts)?;
    Ok(0)
}

/// clock_getres.
pub fn sys_clock_getres(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let id = a[0] as i32;
    if !clock_valid(id) {
        return Err(Errno::EINVAL);
    }
    let res = match id {
        libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => Timespec {
            tv_sec: 0,
            tv_nsec: 4_000_000,
        },
        _ => Timespec {
            tv_sec: 0,
            tv_nsec: 1,
        },
    };
    if a[1] != 0 {
        ctx.write_val(a[1], &res)?;
    }
    Ok(0)
}

/// gettimeofday.
pub fn sys_gettimeofday(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let ts = now(libc::CLOCK_REALTIME)?;
    if a[0] != 0 {
        ctx.write_val(
            a[0],
            &Timeval {
                tv_sec: ts.tv_sec,
                tv_usec: ts.tv_nsec / 1000,
            },
        )?;
    }
    if a[1] != 0 {
        ctx.write_val(a[1], &[0i32; 2])?;
    }
    Ok(0)
}

/// time.
pub fn sys_time(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let ts = now(libc::CLOCK_REALTIME)?;
    if a[0] != 0 {
        ctx.write_val(a[0], &ts.tv_sec)?;
    }
    Ok(ts.tv_sec as u64)
}

/// Reads and validates a timespec argument.
pub fn read_timespec(ctx: &TaskCtx, addr: u64) -> SysResult<Timespec> {
    let ts: Timespec = ctx.read_val(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

/// Converts a timespec to a Duration (already validated).
pub fn ts_dur(ts: &Timespec) -> Duration {
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn sleep_until(ctx: &TaskCtx, deadline: Instant, rem_addr: u64) -> SysResult<u64> {
    loop {
        if Instant::now() >= deadline {
            return Ok(0);
        }
        if ctx.interrupted() {
            if rem_addr != 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = ctx.write_val(
                    rem_addr,
                    &Timespec {
                        tv_sec: left.as_secs() as i64,
                        tv_nsec: left.subsec_nanos() as i64,
                    },
                );
            }
            return Err(Errno::new(ERESTART_RESTARTBLOCK));
        }
        if ctx.task.waker.wait(&[], Some(deadline)) == WaitResult::TimedOut {
            return Ok(0);
        }
    }
}

/// nanosleep.
pub fn sys_nanosleep(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let ts = read_timespec(ctx, a[0])?;
    let deadline = Instant::now() + ts_dur(&ts);
    sleep_until(ctx, deadline, a[1])
}

/// clock_nanosleep.
pub fn sys_clock_nanosleep(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let id = a[0] as i32;
    let flags = a[1] as i32;
    if !clock_valid(id) || id == libc::CLOCK_THREAD_CPUTIME_ID {
        return Err(Errno::EINVAL);
    }
    if flags & !libc::TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let ts = read_timespec(ctx, a[2])?;
    let deadline = if flags & libc::TIMER_ABSTIME != 0 {
        let cur = now(id)?;
        let target = ts_dur(&ts);
        let cur = ts_dur(&cur);
        Instant::now() + target.saturating_sub(cur)
    } else {
        Instant::now() + ts_dur(&ts)
    };
    let rem = if flags & libc::TIMER_ABSTIME != 0 {
        0
    } else {
        a[3]
    };
    sleep_until(ctx, deadline, rem)
}
