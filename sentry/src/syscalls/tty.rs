//! Terminal system calls: the ioctls of pty masters and slaves (settings,
//! window size, job control, pty management), and reads and writes with
//! Linux's rules — canonical reads return a line, non-canonical reads
//! follow VMIN/VTIME, background processes get SIGTTIN/SIGTTOU.
//!
//! `file.rs` sends every read, write and ioctl of a
//! [`MasterFile`](crate::fs::devpts::MasterFile) or
//! [`SlaveFile`](crate::fs::devpts::SlaveFile) here (found with
//! [`tty_file`]). Settings and job-control ioctls on a master act on its
//! slave, as Linux's `tty_pair_get_tty` makes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::block_on;
use super::file::install;
use crate::fs::devpts::{open_slave, tty_file, TtyEnd};
use crate::fs::{FileOps, OpenFile};
use crate::kernel::task::{TaskCtx, ERESTARTSYS};
use crate::tty::jobctl;
use crate::tty::ldisc::{Termios, TERMIOS2_SIZE, TERMIOS_SIZE, TERMIO_SIZE};
use crate::tty::terminal::SlaveRead;
use crate::tty::{Terminal, Winsize};
use crate::{Errno, SysResult};

/// Bytes moved per step between the workload and a terminal.
const CHUNK: usize = 64 * 1024;

/// Whether `ops` is a terminal end (reads, writes and ioctls go here).
pub fn is_tty(ops: &dyn FileOps) -> bool {
    tty_file(ops).is_some()
}

fn ends(end: &TtyEnd<'_>) -> (Arc<Terminal>, bool) {
    match end {
        TtyEnd::Master(m) => (m.terminal().clone(), true),
        TtyEnd::Slave(s) => (s.terminal().clone(), false),
    }
}

/// Whether the caller holds CAP_SYS_ADMIN (stealing a controlling
/// terminal, TIOCSTI).
fn privileged(ctx: &TaskCtx) -> bool {
    super::perm::capable(ctx, crate::kernel::caps::SYS_ADMIN).unwrap_or(false)
}

/// `new_encode_dev` of a slave's device number.
fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

// ---- ioctl -------------------------------------------------------------

/// ioctl on a terminal end.
pub fn ioctl(ctx: &TaskCtx, file: &Arc<OpenFile>, cmd: u32, arg: u64) -> SysResult<u64> {
    let Some(end) = tty_file(file.ops.as_ref()) else {
        return Err(Errno::ENOTTY);
    };
    let (term, master) = ends(&end);
    let pts = match &end {
        TtyEnd::Master(m) => Some(m.devpts().clone()),
        TtyEnd::Slave(_) => None,
    };
    let cmd = cmd as u64;
    if !master && term.hung_up() {
        // Linux's hung_up_tty_ioctl.
        return Err(if cmd == libc::TIOCSPGRP {
            Errno::ENOTTY
        } else {
            Errno::EIO
        });
    }
    let task = &ctx.task;
    let kernel = ctx.kernel();
    match cmd {
        libc::TCGETS => {
            ctx.write_bytes(arg, &term.termios()?.to_termios())?;
            Ok(0)
        }
        libc::TCGETS2 => {
            ctx.write_bytes(arg, &term.termios()?.to_termios2())?;
            Ok(0)
        }
        libc::TCGETA => {
            ctx.write_bytes(arg, &term.termios()?.to_termio())?;
            Ok(0)
        }
        libc::TCSETS | libc::TCSETSW | libc::TCSETSF => {
            jobctl::check_change(task, &term, libc::SIGTTOU)?;
            let mut b = [0u8; TERMIOS_SIZE];
            ctx.read_into(arg, &mut b)?;
            let t = Termios::from_termios(&b, &term.termios()?);
            term.set_termios(t, cmd == libc::TCSETSF)?;
            Ok(0)
        }
        libc::TCSETS2 | libc::TCSETSW2 | libc::TCSETSF2 => {
            jobctl::check_change(task, &term, libc::SIGTTOU)?;
            let mut b = [0u8; TERMIOS2_SIZE];
            ctx.read_into(arg, &mut b)?;
            term.set_termios(Termios::from_termios2(&b), cmd == libc::TCSETSF2)?;
            Ok(0)
        }
        libc::TCSETA | libc::TCSETAW | libc::TCSETAF => {
            jobctl::check_change(task, &term, libc::SIGTTOU)?;
            let mut b = [0u8; TERMIO_SIZE];
            ctx.read_into(arg, &mut b)?;
            let t = Termios::from_termio(&b, &term.termios()?);
            term.set_termios(t, cmd == libc::TCSETAF)?;
            Ok(0)
        }
        libc::TIOCGWINSZ => {
            ctx.write_bytes(arg, &term.winsize()?.to_bytes())?;
            Ok(0)
        }
        libc::TIOCSWINSZ => {
            let mut b = [0u8; 8];
            ctx.read_into(arg, &mut b)?;
            term.set_winsize(Winsize::from_bytes(&b))?;
            Ok(0)
        }
        libc::TIOCSCTTY => {
            jobctl::set_ctty(
                kernel,
                &task.tg,
                &term,
                arg as i32 == 1,
                file.readable(),
                privileged(ctx),
            )?;
            Ok(0)
        }
        libc::TIOCNOTTY => {
            if master {
                return Err(Errno::ENOTTY);
            }
            jobctl::no_tty(kernel, &task.tg, &term)?;
            Ok(0)
        }
        libc::TIOCGPGRP => {
            if !master && !jobctl::is_ctty(&task.tg, &term) {
                return Err(Errno::ENOTTY);
            }
            let pgrp = term.control().pgrp.unwrap_or(0);
            ctx.write_bytes(arg, &pgrp.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCSPGRP => {
            match jobctl::check_change(task, &term, libc::SIGTTOU) {
                Err(e) if e == Errno::EIO => return Err(Errno::ENOTTY),
                r => r?,
            }
            let mut b = [0u8; 4];
            ctx.read_into(arg, &mut b)?;
            let pgrp = i32::from_ne_bytes(b);
            if pgrp < 0 {
                return Err(Errno::EINVAL);
            }
            let my_sid = task.tg.inner.lock().map_err(|_| Errno::EIO)?.sid;
            if !jobctl::is_ctty(&task.tg, &term) || term.control().session != Some(my_sid) {
                return Err(Errno::ENOTTY);
            }
            let sid = jobctl::session_of_pgrp(kernel, pgrp).ok_or(Errno::ESRCH)?;
            if sid != my_sid {
                return Err(Errno::EPERM);
            }
            term.with_control(|c| c.pgrp = Some(pgrp))?;
            Ok(0)
        }
        libc::TIOCGSID => {
            if !master && !jobctl::is_ctty(&task.tg, &term) {
                return Err(Errno::ENOTTY);
            }
            let sid = term.control().session.ok_or(Errno::ENOTTY)?;
            ctx.write_bytes(arg, &sid.to_ne_bytes())?;
            Ok(0)
        }
        libc::FIONREAD => {
            let n = if master {
                term.master_inq()?
            } else {
                term.slave_inq()?
            };
            ctx.write_bytes(arg, &(n.min(i32::MAX as usize) as i32).to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCOUTQ => {
            // Linux's ptys keep no driver-side output count: always 0.
            ctx.write_bytes(arg, &0i32.to_ne_bytes())?;
            Ok(0)
        }
        libc::TCFLSH => {
            if !master {
                jobctl::check_change(task, &term, libc::SIGTTOU)?;
            }
            term.flush(arg as i32, master)?;
            Ok(0)
        }
        libc::TCXONC => {
            if !master {
                jobctl::check_change(task, &term, libc::SIGTTOU)?;
            }
            term.flow(arg as i32)?;
            Ok(0)
        }
        libc::TCSBRK | libc::TCSBRKP => {
            // Output to a pty is never pending in a driver and a pty has
            // no break: tcdrain and tcsendbreak return at once.
            if !master {
                jobctl::check_change(task, &term, libc::SIGTTOU)?;
            }
            Ok(0)
        }
        libc::TIOCGDEV => {
            let d = encode_dev(crate::fs::devpts::PTS_MAJOR, term.index);
            ctx.write_bytes(arg, &d.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCGETD => {
            ctx.write_bytes(arg, &0i32.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCSETD => {
            let mut b = [0u8; 4];
            ctx.read_into(arg, &mut b)?;
            // Only N_TTY exists here.
            if i32::from_ne_bytes(b) != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        libc::TIOCSTI => {
            // Linux 6.2+ refuses unprivileged TIOCSTI (legacy_tiocsti off).
            if !privileged(ctx) {
                return Err(Errno::EIO);
            }
            let mut b = [0u8; 1];
            ctx.read_into(arg, &mut b)?;
            match term.master_write(&b) {
                Err(e) if e != Errno::EAGAIN => Err(e),
                _ => Ok(0),
            }
        }
        // The pty-management requests exist on masters only.
        libc::TIOCGPTN if master => {
            ctx.write_bytes(arg, &term.index.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCSPTLCK if master => {
            let mut b = [0u8; 4];
            ctx.read_into(arg, &mut b)?;
            term.set_locked(i32::from_ne_bytes(b) != 0)?;
            Ok(0)
        }
        libc::TIOCGPTLCK if master => {
            let v = term.locked()? as i32;
            ctx.write_bytes(arg, &v.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCGPKT if master => {
            // Packet mode is never on.
            ctx.write_bytes(arg, &0i32.to_ne_bytes())?;
            Ok(0)
        }
        libc::TIOCPKT if master => {
            let mut b = [0u8; 4];
            ctx.read_into(arg, &mut b)?;
            if i32::from_ne_bytes(b) != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            Ok(0)
        }
        libc::TIOCSIG if master => {
            term.signal_foreground(arg as i32)?;
            Ok(0)
        }
        libc::TIOCGPTPEER if master => {
            let pts = pts.ok_or(Errno::EIO)?;
            let flags = arg as u32;
            let loc = pts.slave_location(term.index)?;
            let noctty = flags & libc::O_NOCTTY as u32 != 0;
            let ops = open_slave(&term, loc.dentry.inode.clone(), noctty)?;
            let status = flags
                & (libc::O_ACCMODE | libc::O_NONBLOCK | libc::O_APPEND | libc::O_LARGEFILE) as u32;
            let f = OpenFile::new(ops, status, Some(loc));
            install(ctx, f, flags & libc::O_CLOEXEC as u32 != 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

// ---- read --------------------------------------------------------------

/// read(2) of a terminal end into workload memory (`addr`, `len` already
/// checked and non-zero).
pub fn read(ctx: &TaskCtx, file: &OpenFile, addr: u64, len: u64) -> SysResult<u64> {
    let Some(end) = tty_file(file.ops.as_ref()) else {
        return Err(Errno::EINVAL);
    };
    let (term, master) = ends(&end);
    let ops = file.ops.as_ref();
    let want = (len as usize).min(CHUNK);
    let mut buf = vec![0u8; want];
    if master {
        let n = if file.nonblocking() {
            term.master_read(&mut buf)?
        } else {
            block_on(ctx, &[ops], None, || term.master_read(&mut buf))?
        };
        ctx.write_bytes(addr, &buf[..n])?;
        return Ok(n as u64);
    }
    if term.hung_up() {
        return Ok(0);
    }
    jobctl::check_change(&ctx.task, &term, libc::SIGTTIN)?;
    let t = term.termios()?;
    // Linux's n_tty_read: `minimum` bytes end the read; `timeout` bounds
    // the wait for input (None: forever); `interbyte` restarts it after
    // each arrival (VMIN > 0 and VTIME > 0).
    let tenths = |v: u8| Duration::from_millis(100 * v as u64);
    let (minimum, mut timeout, interbyte) = if t.canonical() {
        (0usize, None, None)
    } else if t.vmin() > 0 {
        let ib = (t.vtime() > 0).then(|| tenths(t.vtime()));
        (t.vmin() as usize, None, ib)
    } else {
        (1, Some(tenths(t.vtime())), None)
    };
    let mut done = 0usize;
    loop {
        let deadline = timeout.map(|d| Instant::now() + d);
        let mut attempt = || match term.slave_read(&mut buf[done..]) {
            Ok(SlaveRead::Empty) => Err(Errno::EAGAIN),
            r => r,
        };
        let r = if timeout == Some(Duration::ZERO) || file.nonblocking() {
            attempt()
        } else {
            block_on(ctx, &[ops], deadline, attempt)
        };
        match r {
            Ok(SlaveRead::HungUp) => break,
            Ok(SlaveRead::Data { n, .. }) => {
                done += n;
                if t.canonical() || done >= minimum || done >= want {
                    break;
                }
                if let Some(ib) = interbyte {
                    timeout = Some(ib);
                }
            }
            Ok(SlaveRead::Empty) => break,
            Err(e) if e == Errno::EAGAIN => {
                if timeout == Some(Duration::ZERO) || done > 0 {
                    break;
                }
                return Err(e);
            }
            Err(e) if e == Errno::ETIMEDOUT => break,
            Err(e) if e.into_raw() == ERESTARTSYS && done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    ctx.write_bytes(addr, &buf[..done])?;
    Ok(done as u64)
}

// ---- write -------------------------------------------------------------

/// write(2) of workload memory to a terminal end (`len` non-zero).
pub fn write(ctx: &TaskCtx, file: &OpenFile, addr: u64, len: u64) -> SysResult<u64> {
    let Some(end) = tty_file(file.ops.as_ref()) else {
        return Err(Errno::EINVAL);
    };
    let (term, master) = ends(&end);
    let ops = file.ops.as_ref();
    if !master {
        if term.hung_up() {
            return Err(Errno::EIO);
        }
        if term.termios()?.tostop() {
            jobctl::check_change(&ctx.task, &term, libc::SIGTTOU)?;
        }
    }
    let put = |b: &[u8]| {
        if master {
            term.master_write(b)
        } else {
            term.slave_write(b)
        }
    };
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(CHUNK);
        let data = ctx.read_bytes(addr + done, want)?;
        let mut sent = 0usize;
        while sent < data.len() {
            let r = if file.nonblocking() {
                put(&data[sent..])
            } else {
                block_on(ctx, &[ops], None, || put(&data[sent..]))
            };
            match r {
                Ok(n) => sent += n,
                Err(e) => {
                    let total = done + sent as u64;
                    if total > 0 {
                        return Ok(total);
                    }
                    return Err(e);
                }
            }
        }
        done += sent as u64;
    }
    Ok(done)
}
