//! futex(2): wait, wake, requeue, bitsets; private and shared keyed by the
//! caller's address space.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::kernel::futex::{FutexWaiter, Futexes};
use crate::kernel::task::{TaskCtx, ERESTARTSYS};
use crate::kernel::wait::WaitResult;
use crate::{Errno, SysResult};

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

/// futex.
pub fn sys_futex(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let addr = a[0];
    let op = a[1] as i32;
    let val = a[2] as u32;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let key = ctx.futex_key(addr);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT {
                u32::MAX
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let deadline = if a[3] != 0 {
                let ts = super::time::read_timespec(ctx, a[3])?;
                let d = super::time::ts_dur(&ts);
                if cmd == FUTEX_WAIT {
                    Some(Instant::now() + d)
                } else {
                    // Absolute timeout on CLOCK_MONOTONIC or REALTIME.
                    let clock = if op & FUTEX_CLOCK_REALTIME != 0 {
                        libc::CLOCK_REALTIME
                    } else {
                        libc::CLOCK_MONOTONIC
                    };
                    let mut now = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    };
                    // SAFETY: writes one timespec into a live local.
                    unsafe { libc::clock_gettime(clock, &mut now) };
                    let now = std::time::Duration::new(
                        now.tv_sec.max(0) as u64,
                        now.tv_nsec.clamp(0, 999_999_999) as u32,
                    );
                    Some(Instant::now() + d.saturating_sub(now))
                }
            } else {
                None
            };
            futex_wait(ctx, key, addr, val, bitset, deadline)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE {
                u32::MAX
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(ctx.kernel().futexes.wake(key, val as usize, bitset) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let n_requeue = a[3] as u32 as usize;
            let addr2 = a[4];
            if !addr2.is_multiple_of(4) || (a[3] as i32) < 0 || (val as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            let key2 = ctx.futex_key(addr2);
            let mut q = ctx.kernel().futexes.lock().ok_or(Errno::EIO)?;
            if cmd == FUTEX_CMP_REQUEUE {
                let cur: u32 = ctx.read_val(addr)?;
                if cur != a[5] as u32 {
                    return Err(Errno::EAGAIN);
                }
            }
            Ok(Futexes::requeue_locked(&mut q, key, key2, val as usize, n_requeue) as u64)
        }
        FUTEX_WAKE_OP => futex_wake_op(ctx, key, a),
        _ => Err(Errno::ENOSYS),
    }
}

fn futex_wait(
    ctx: &TaskCtx,
    key: (usize, u64),
    addr: u64,
    val: u32,
    bitset: u32,
    deadline: Option<Instant>,
) -> SysResult<u64> {
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut q = ctx.kernel().futexes.lock().ok_or(Errno::EIO)?;
        let cur: u32 = ctx.read_val(addr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        q.entry(key).or_default().push(FutexWaiter {
            waker: ctx.task.waker.clone(),
            bitset,
            woken: woken.clone(),
        });
    }
    loop {
        if woken.load(Ordering::SeqCst) {
            return Ok(0);
        }
        if ctx.interrupted() {
            ctx.kernel().futexes.cancel(key, &woken);
            if woken.load(Ordering::SeqCst) {
                return Ok(0);
            }
            return Err(Errno::new(ERESTARTSYS));
        }
        if ctx.task.waker.wait(&[], deadline) == WaitResult::TimedOut
            && !woken.load(Ordering::SeqCst)
        {
            ctx.kernel().futexes.cancel(key, &woken);
            if woken.load(Ordering::SeqCst) {
                return Ok(0);
            }
            return Err(Errno::ETIMEDOUT);
        }
    }
}

fn futex_wake_op(ctx: &TaskCtx, key: (usize, u64), a: [u64; 6]) -> SysResult<u64> {
    let addr2 = a[4];
    if !addr2.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let key2 = ctx.futex_key(addr2);
    let encoded = a[5] as u32;
    let op = (encoded >> 28) & 7;
    let shift = encoded & (8 << 28) != 0;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = (encoded >> 12) & 0xfff;
    let cmparg = encoded & 0xfff;
    if shift {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let mut q = ctx.kernel().futexes.lock().ok_or(Errno::EIO)?;
    let old: u32 = ctx.read_val(addr2)?;
    let new = match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    ctx.write_val(addr2, &new)?;
    let n1 = Futexes::wake_locked(&mut q, key, a[2] as u32 as usize, u32::MAX);
    let (o, c) = (old as i32, cmparg as i32);
    let hit = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    let n2 = if hit {
        Futexes::wake_locked(&mut q, key2, a[3] as u32 as usize, u32::MAX)
    } else {
        0
    };
    Ok((n1 + n2) as u64)
}
