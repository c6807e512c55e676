//! Readiness: poll, ppoll, select, pselect6, epoll and eventfd.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rvisor_syscalls::abi::{EpollEvent, PollFd, Timespec, Timeval};

use super::file::{files, install};
use crate::fs::anon::{Epoll, EventFd, Interest};
use crate::fs::{poll, OpenFile};
use crate::kernel::task::{TaskCtx, ERESTARTNOHAND};
use crate::kernel::wait::WaitResult;
use crate::{Errno, SysResult};

/// Most descriptors one poll call may name.
const MAX_POLL_FDS: usize = 1 << 20;

/// Waits until any of `items` (fd, events) is ready; fills revents and
/// returns how many are ready. `deadline` None waits forever.
fn poll_items(
    ctx: &TaskCtx,
    items: &mut [(i32, u32, u32)],
    deadline: Option<Instant>,
) -> SysResult<usize> {
    let table = files(ctx)?;
    loop {
        let resolved: Vec<Option<Arc<OpenFile>>> = items
            .iter()
            .map(|(fd, _, _)| if *fd < 0 { None } else { table.get(*fd).ok() })
            .collect();
        // Register before checking, so that no event is missed.
        let regs: Vec<_> = resolved
            .iter()
            .flatten()
            .filter_map(|f| f.ops.wait_queue().map(|q| q.register(&ctx.task.waker)))
            .collect();
        let mut n = 0;
        let mut host: Vec<(i32, i16)> = Vec::new();
        for (i, item) in items.iter_mut().enumerate() {
            let (fd, events, ref mut revents) = *item;
            *revents = 0;
            if fd < 0 {
                continue;
            }
            match &resolved[i] {
                None => *revents = poll::NVAL,
                Some(f) => {
                    *revents = f.ops.poll() & (events | poll::ERR | poll::HUP);
                    if let Some(h) = f.ops.host_fd() {
                        host.push((h, (events & 0xffff) as i16));
                    }
                }
            }
            if *revents != 0 {
                n += 1;
            }
        }
        if n > 0 {
            return Ok(n);
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(0);
            }
        }
        if ctx.interrupted() {
            return Err(Errno::new(ERESTARTNOHAND));
        }
        let r = ctx.task.waker.wait(&host, deadline);
        drop(regs);
        if r == WaitResult::TimedOut {
            // One last check happens at the top of the loop.
            if deadline.map(|d| Instant::now() >= d).unwrap_or(false) {
                continue;
            }
        }
    }
}

fn do_poll(ctx: &TaskCtx, addr: u64, nfds: u64, deadline: Option<Instant>) -> SysResult<u64> {
    if nfds as usize > MAX_POLL_FDS
        || nfds
            > ctx
                .task
                .tg
                .inner
                .lock()
                .map(|g| g.rlimits[libc::RLIMIT_NOFILE as usize].0)
                .unwrap_or(1024)
                .max(1024)
    {
        return Err(Errno::EINVAL);
    }
    let raw = ctx.read_bytes(addr, nfds as usize * 8)?;
    let mut items: Vec<(i32, u32, u32)> = raw
        .chunks_exact(8)
        .map(|c| {
            (
                i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u16::from_le_bytes([c[4], c[5]]) as u32,
                0,
            )
        })
        .collect();
    let n = poll_items(ctx, &mut items, deadline)?;
    let out: Vec<u8> = items
        .iter()
        .flat_map(|(fd, ev, rev)| {
            let p = PollFd {
                fd: *fd,
                events: *ev as u16 as i16,
                revents: *rev as u16 as i16,
            };
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&p.fd.to_le_bytes());
            b[4..6].copy_from_slice(&p.events.to_le_bytes());
            b[6..].copy_from_slice(&p.revents.to_le_bytes());
            b
        })
        .collect();
    ctx.write_bytes(addr, &out)?;
    Ok(n as u64)
}

/// poll.
pub fn sys_poll(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = a[2] as i32;
    let deadline = if t < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(t as u64))
    };
    do_poll(ctx, a[0], a[1], deadline)
}

/// Sets a temporary signal mask for ppoll/pselect6 (restored after the
/// call, or after the handler when a signal interrupts it).
fn set_temp_mask(ctx: &TaskCtx, addr: u64, size: u64) -> SysResult<()> {
    if addr == 0 {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = ctx.read_val(addr)?;
    let mut i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
    i.saved_mask = Some(i.sigmask);
    i.sigmask = m & !crate::kernel::signal::UNBLOCKABLE;
    Ok(())
}

fn ts_deadline(ctx: &TaskCtx, addr: u64) -> SysResult<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = super::time::read_timespec(ctx, addr)?;
    Ok(Some(Instant::now() + super::time::ts_dur(&ts)))
}

/// ppoll.
pub fn sys_ppoll(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = ts_deadline(ctx, a[2])?;
    set_temp_mask(ctx, a[3], a[4])?;
    let r = do_poll(ctx, a[0], a[1], deadline);
    write_remaining_ts(ctx, a[2], deadline);
    r
}

fn write_remaining_ts(ctx: &TaskCtx, addr: u64, deadline: Option<Instant>) {
    if let (true, Some(d)) = (addr != 0, deadline) {
        let left = d.saturating_duration_since(Instant::now());
        let _ = ctx.write_val(
            addr,
            &Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            },
        );
    }
}

fn do_select(
    ctx: &TaskCtx,
    nfds: u64,
    sets: [u64; 3],
    deadline: Option<Instant>,
) -> SysResult<u64> {
    let n = nfds as i64;
    if n < 0
        || n as u64
            > ctx
                .task
                .tg
                .inner
                .lock()
                .map(|g| g.rlimits[libc::RLIMIT_NOFILE as usize].0)
                .unwrap_or(1024)
                .max(1024)
    {
        return Err(Errno::EINVAL);
    }
    let n = n as usize;
    let bytes = n.div_ceil(64) * 8;
    let mut in_sets: [Vec<u8>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (k, addr) in sets.iter().enumerate() {
        if *addr != 0 {
            in_sets[k] = ctx.read_bytes(*addr, bytes)?;
        }
    }
    let isset = |v: &Vec<u8>, fd: usize| !v.is_empty() && v[fd / 8] & (1 << (fd % 8)) != 0;
    let masks = [
        poll::IN | poll::HUP | poll::ERR,
        poll::OUT | poll::ERR,
        poll::PRI,
    ];
    let mut items = Vec::new();
    let table = files(ctx)?;
    for fd in 0..n {
        let mut ev = 0;
        for k in 0..3 {
            if isset(&in_sets[k], fd) {
                ev |= masks[k];
            }
        }
        if ev != 0 {
            if table.get(fd as i32).is_err() {
                return Err(Errno::EBADF);
            }
            items.push((fd as i32, ev, 0u32));
        }
    }
    poll_items(ctx, &mut items, deadline)?;
    let mut out: [Vec<u8>; 3] = [vec![0; bytes], vec![0; bytes], vec![0; bytes]];
    let mut count = 0;
    for (fd, _, rev) in &items {
        let fd = *fd as usize;
        for k in 0..3 {
            if isset(&in_sets[k], fd) && rev & masks[k] != 0 {
                out[k][fd / 8] |= 1 << (fd % 8);
                count += 1;
            }
        }
    }
    for (k, addr) in sets.iter().enumerate() {
        if *addr != 0 {
            ctx.write_bytes(*addr, &out[k])?;
        }
    }
    Ok(count)
}

/// select.
pub fn sys_select(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] != 0 {
        let tv: Timeval = ctx.read_val(a[4])?;
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
    } else {
        None
    };
    let r = do_select(ctx, a[0], [a[1], a[2], a[3]], deadline);
    if let (true, Some(d)) = (a[4] != 0, deadline) {
        let left = d.saturating_duration_since(Instant::now());
        let _ = ctx.write_val(
            a[4],
            &Timeval {
                tv_sec: left.as_secs() as i64,
                tv_usec: left.subsec_micros() as i64,
            },
        );
    }
    r
}

/// pselect6.
pub fn sys_pselect6(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = ts_deadline(ctx, a[4])?;
    if a[5] != 0 {
        let (mask_addr, size): (u64, u64) = (ctx.read_val(a[5])?, ctx.read_val(a[5] + 8)?);
        set_temp_mask(ctx, mask_addr, size)?;
    }
    let r = do_select(ctx, a[0], [a[1], a[2], a[3]], deadline);
    write_remaining_ts(ctx, a[4], deadline);
    r
}

// ---- epoll ---------------------------------------------------------------

fn new_epoll(ctx: &TaskCtx, cloexec: bool) -> SysResult<u64> {
    let ep = Epoll::new(ctx.kernel().next_ino());
    install(ctx, OpenFile::new(ep, libc::O_RDWR as u32, None), cloexec)
}

/// epoll_create.
pub fn sys_epoll_create(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(ctx, false)
}

/// epoll_create1.
pub fn sys_epoll_create1(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] as i32;
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(ctx, flags != 0)
}

fn epoll_of(f: &OpenFile) -> SysResult<&Epoll> {
    f.ops.as_any().downcast_ref::<Epoll>().ok_or(Errno::EINVAL)
}

/// epoll_ctl.
pub fn sys_epoll_ctl(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = files(ctx)?;
    let epf = t.get(a[0] as i32)?;
    let fd = a[2] as i32;
    let target = t.get(fd)?;
    let ep = epoll_of(&epf)?;
    if Arc::ptr_eq(&epf, &target) {
        return Err(Errno::EINVAL);
    }
    if target.ops.seekable()
        && target
            .ops
            .inode()
            .map(|i| i.attr().map(|a| a.is_reg() || a.is_dir()).unwrap_or(false))
            .unwrap_or(false)
    {
        return Err(Errno::EPERM);
    }
    let op = a[1] as i32;
    let key = (fd, Arc::as_ptr(&target) as usize);
    let mut map = ep.interests.lock().map_err(|_| Errno::EIO)?;
    match op {
        libc::EPOLL_CTL_ADD | libc::EPOLL_CTL_MOD => {
            let ev: EpollEvent = ctx.read_val(a[3])?;
            let events = ev.events;
            let data = ev.data;
            if op == libc::EPOLL_CTL_ADD {
                if map.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                map.insert(
                    key,
                    Interest {
                        file: Arc::downgrade(&target),
                        events,
                        data,
                        disabled: false,
                        last_generation: None,
                        last_ready: 0,
                    },
                );
            } else {
                let i = map.get_mut(&key).ok_or(Errno::ENOENT)?;
                i.events = events;
                i.data = data;
                i.disabled = false;
                i.last_generation = None;
                i.last_ready = 0;
            }
            Ok(0)
        }
        libc::EPOLL_CTL_DEL => {
            map.remove(&key).ok_or(Errno::ENOENT)?;
            let _: Weak<OpenFile> = Weak::new();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn epoll_wait_common(ctx: &TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let max = a[2] as i32;
    if max <= 0 || max as usize > (i32::MAX as usize) / 12 {
        return Err(Errno::EINVAL);
    }
    let t = files(ctx)?;
    let epf = t.get(a[0] as i32)?;
    let ep = epoll_of(&epf)?;
    let timeout = a[3] as i32;
    let deadline = if timeout < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(timeout as u64))
    };
    let max = (max as usize).min(4096);
    loop {
        let watched = ep.files();
        let regs: Vec<_> = watched
            .iter()
            .filter_map(|f| f.ops.wait_queue().map(|q| q.register(&ctx.task.waker)))
            .collect();
        let ready = ep.collect(max);
        if !ready.is_empty() {
            let mut out = Vec::with_capacity(ready.len() * 12);
            for (data, events) in &ready {
                out.extend_from_slice(&events.to_le_bytes());
                out.extend_from_slice(&data.to_le_bytes());
            }
            ctx.write_bytes(a[1], &out)?;
            return Ok(ready.len() as u64);
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(0);
            }
        }
        if ctx.interrupted() {
            return Err(Errno::EINTR);
        }
        let host = ep.host_waits();
        ctx.task.waker.wait(&host, deadline);
        drop(regs);
    }
}

/// epoll_wait.
pub fn sys_epoll_wait(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    epoll_wait_common(ctx, a)
}

/// epoll_pwait.
pub fn sys_epoll_pwait(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    set_temp_mask(ctx, a[4], a[5])?;
    epoll_wait_common(ctx, a)
}

/// eventfd.
pub fn sys_eventfd(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let e = EventFd::new(a[0] as u32 as u64, false, ctx.kernel().next_ino());
    install(ctx, OpenFile::new(e, libc::O_RDWR as u32, None), false)
}

/// eventfd2.
pub fn sys_eventfd2(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as i32;
    if flags & !(libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = EventFd::new(
        a[0] as u32 as u64,
        flags & libc::EFD_SEMAPHORE != 0,
        ctx.kernel().next_ino(),
    );
    let st = libc::O_RDWR as u32 | (flags & libc::EFD_NONBLOCK) as u32;
    install(
        ctx,
        OpenFile::new(e, st, None),
        flags & libc::EFD_CLOEXEC != 0,
    )
}
