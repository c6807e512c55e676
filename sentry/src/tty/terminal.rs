//! A pseudo-terminal pair: one [`LineDiscipline`] between a master and a
//! slave, the window size, the pair's open/locked/hung-up state, and the
//! job-control state of the slave (its session and foreground process
//! group).
//!
//! Reads and writes here never block: they return `EAGAIN` and the
//! caller waits on [`Terminal::master_queue`] / [`Terminal::slave_queue`].
//! Signals that input processing or a window-size change generates are
//! sent after the terminal's locks are released.
//!
//! Lock order: a thread group's `inner` may be held while taking
//! `ctrl`; `state` and `ctrl` are never held together, and neither is
//! held while signals are sent.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::jobctl;
use super::ldisc::{InputEffects, LineDiscipline, Termios};
use crate::fs::poll;
use crate::kernel::wait::WaitQueue;
use crate::kernel::Kernel;
use crate::{Errno, SysResult};

/// `struct winsize`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Winsize {
    /// Rows.
    pub row: u16,
    /// Columns.
    pub col: u16,
    /// Width in pixels.
    pub xpixel: u16,
    /// Height in pixels.
    pub ypixel: u16,
}

impl Winsize {
    /// The 8 bytes of `struct winsize`.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0..2].copy_from_slice(&self.row.to_ne_bytes());
        b[2..4].copy_from_slice(&self.col.to_ne_bytes());
        b[4..6].copy_from_slice(&self.xpixel.to_ne_bytes());
        b[6..8].copy_from_slice(&self.ypixel.to_ne_bytes());
        b
    }

    /// From the 8 bytes of `struct winsize`.
    pub fn from_bytes(b: &[u8; 8]) -> Winsize {
        let h = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Winsize {
            row: h(0),
            col: h(2),
            xpixel: h(4),
            ypixel: h(6),
        }
    }
}

/// Open/locked/hung-up state and the line discipline.
struct PairState {
    ld: LineDiscipline,
    winsize: Winsize,
    /// The slave may not be opened (TIOCSPTLCK; set at creation).
    locked: bool,
    /// Open file descriptions of the slave.
    slaves: usize,
    /// The slave was open and its last description was closed (Linux's
    /// TTY_OTHER_CLOSED on the master): master reads end with EIO once
    /// drained, master poll reports POLLHUP.
    slave_closed: bool,
    /// The master is gone: the slave is hung up.
    hung_up: bool,
}

/// Job-control state of the slave (Linux's `tty->ctrl`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Control {
    /// The session whose controlling terminal this is.
    pub session: Option<i32>,
    /// The foreground process group.
    pub pgrp: Option<i32>,
}

/// One pseudo-terminal pair.
pub struct Terminal {
    /// Its number: the slave is `/dev/pts/<index>`.
    pub index: u32,
    state: Mutex<PairState>,
    ctrl: Mutex<Control>,
    /// Notified when the master's readiness may have changed.
    pub master_queue: WaitQueue,
    /// Notified when the slave's readiness may have changed.
    pub slave_queue: WaitQueue,
    kernel: Weak<Kernel>,
}

/// Result of a slave read attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveRead {
    /// Bytes copied (0 with `consumed` set: an end-of-file mark).
    Data {
        /// Bytes copied into the buffer.
        n: usize,
        /// Whether input was consumed (an end-of-file mark counts).
        consumed: bool,
    },
    /// Nothing to read yet.
    Empty,
    /// The master is gone: end of file.
    HungUp,
}

impl Terminal {
    /// A new pair numbered `index`, slave locked, default settings.
    pub fn new(index: u32, kernel: Weak<Kernel>) -> Arc<Terminal> {
        Arc::new(Terminal {
            index,
            state: Mutex::new(PairState {
                ld: LineDiscipline::new(),
                winsize: Winsize::default(),
                locked: true,
                slaves: 0,
                slave_closed: false,
                hung_up: false,
            }),
            ctrl: Mutex::new(Control::default()),
            master_queue: WaitQueue::new(),
            slave_queue: WaitQueue::new(),
            kernel,
        })
    }

    fn st(&self) -> SysResult<MutexGuard<'_, PairState>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// The kernel this terminal belongs to.
    pub fn kernel(&self) -> Option<Arc<Kernel>> {
        self.kernel.upgrade()
    }

    fn notify_both(&self) {
        self.master_queue.notify_all();
        self.slave_queue.notify_all();
    }

    /// Sends the signals input processing asked for to the foreground
    /// process group.
    fn deliver(&self, fx: InputEffects) {
        if fx.signals.is_empty() {
            return;
        }
        let Some(pgrp) = self.control().pgrp else {
            return;
        };
        if let Some(k) = self.kernel() {
            for sig in fx.signals {
                jobctl::signal_pgrp(&k, pgrp, sig);
            }
        }
    }

    // ---- job control state --------------------------------------------

    /// The slave's session and foreground group.
    pub fn control(&self) -> Control {
        self.ctrl.lock().map(|c| *c).unwrap_or_default()
    }

    /// Changes the job-control state under its lock.
    pub fn with_control<T>(&self, f: impl FnOnce(&mut Control) -> T) -> SysResult<T> {
        let mut c = self.ctrl.lock().map_err(|_| Errno::EIO)?;
        Ok(f(&mut c))
    }

    // ---- lock and open/close ------------------------------------------

    /// TIOCSPTLCK.
    pub fn set_locked(&self, locked: bool) -> SysResult<()> {
        self.st()?.locked = locked;
        Ok(())
    }

    /// TIOCGPTLCK.
    pub fn locked(&self) -> SysResult<bool> {
        Ok(self.st()?.locked)
    }

    /// Whether the master is gone.
    pub fn hung_up(&self) -> bool {
        self.state.lock().map(|s| s.hung_up).unwrap_or(true)
    }

    /// A new open of the slave: EIO while locked or after the master
    /// closed (Linux's `pty_open`).
    pub fn open_slave(&self) -> SysResult<()> {
        let mut s = self.st()?;
        if s.locked || s.hung_up {
            return Err(Errno::EIO);
        }
        s.slaves += 1;
        s.slave_closed = false;
        drop(s);
        self.master_queue.notify_all();
        Ok(())
    }

    /// The last reference to one open of the slave went away.
    pub fn release_slave(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.slaves = s.slaves.saturating_sub(1);
            if s.slaves == 0 {
                s.slave_closed = true;
            }
        }
        self.master_queue.notify_all();
    }

    /// The master's last descriptor was closed: the slave is hung up.
    /// Like Linux's `tty_vhangup`, the session loses its controlling
    /// terminal and its leader gets SIGHUP and SIGCONT.
    pub fn hang_up(self: &Arc<Self>) {
        if let Ok(mut s) = self.state.lock() {
            s.hung_up = true;
        }
        self.notify_both();
        let ctrl = self.with_control(std::mem::take).unwrap_or_default();
        if let (Some(sid), Some(k)) = (ctrl.session, self.kernel()) {
            jobctl::hangup_session(&k, self, sid);
        }
    }

    // ---- data ---------------------------------------------------------

    /// The master writes: EAGAIN when nothing fits.
    pub fn master_write(&self, buf: &[u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut s = self.st()?;
        let (n, fx) = s.ld.master_write(buf);
        let echoed = s.ld.master_readable() > 0;
        drop(s);
        self.slave_queue.notify_all();
        if echoed {
            self.master_queue.notify_all();
        }
        self.deliver(fx);
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    /// The master reads: EAGAIN when there is nothing, EIO once the slave
    /// has been closed and everything is read.
    pub fn master_read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut s = self.st()?;
        let n = s.ld.master_read(buf);
        if n == 0 {
            return Err(if s.slave_closed {
                Errno::EIO
            } else {
                Errno::EAGAIN
            });
        }
        drop(s);
        self.slave_queue.notify_all();
        Ok(n)
    }

    /// Readiness of the master.
    pub fn master_poll(&self) -> u32 {
        let Ok(s) = self.state.lock() else {
            return poll::ERR;
        };
        let mut m = 0;
        if s.ld.master_readable() > 0 {
            m |= poll::IN;
        }
        if s.ld.master_writable() {
            m |= poll::OUT;
        }
        if s.slave_closed {
            m |= poll::HUP;
        }
        m
    }

    /// One slave read attempt into `buf`.
    pub fn slave_read(&self, buf: &mut [u8]) -> SysResult<SlaveRead> {
        let mut s = self.st()?;
        if s.hung_up {
            return Ok(SlaveRead::HungUp);
        }
        if !s.ld.slave_readable(false) {
            return Ok(SlaveRead::Empty);
        }
        let (n, consumed) = s.ld.slave_read(buf);
        let fx = s.ld.process();
        drop(s);
        self.master_queue.notify_all();
        self.slave_queue.notify_all();
        self.deliver(fx);
        Ok(SlaveRead::Data { n, consumed })
    }

    /// The slave writes: EAGAIN when nothing fits (or output is stopped),
    /// EIO after a hangup.
    pub fn slave_write(&self, buf: &[u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut s = self.st()?;
        if s.hung_up {
            return Err(Errno::EIO);
        }
        let n = s.ld.slave_write(buf);
        drop(s);
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        self.master_queue.notify_all();
        Ok(n)
    }

    /// Readiness of the slave.
    pub fn slave_poll(&self) -> u32 {
        let Ok(s) = self.state.lock() else {
            return poll::ERR;
        };
        if s.hung_up {
            return poll::IN | poll::OUT | poll::ERR | poll::HUP;
        }
        let mut m = 0;
        if s.ld.slave_readable(true) {
            m |= poll::IN;
        }
        if s.ld.slave_writable() {
            m |= poll::OUT;
        }
        m
    }

    // ---- settings -------------------------------------------------------

    /// The slave's settings.
    pub fn termios(&self) -> SysResult<Termios> {
        Ok(self.st()?.ld.termios)
    }

    /// Installs settings; with `flush`, unread input is discarded first
    /// (TCSETSF).
    pub fn set_termios(&self, t: Termios, flush: bool) -> SysResult<()> {
        let mut s = self.st()?;
        if flush {
            s.ld.flush_input();
        }
        let fx = s.ld.set_termios(t);
        drop(s);
        self.notify_both();
        self.deliver(fx);
        Ok(())
    }

    /// The window size.
    pub fn winsize(&self) -> SysResult<Winsize> {
        Ok(self.st()?.winsize)
    }

    /// Sets the window size; a change sends SIGWINCH to the foreground
    /// process group (Linux's `pty_resize`).
    pub fn set_winsize(&self, ws: Winsize) -> SysResult<()> {
        let mut s = self.st()?;
        if s.winsize == ws {
            return Ok(());
        }
        s.winsize = ws;
        drop(s);
        if let (Some(pgrp), Some(k)) = (self.control().pgrp, self.kernel()) {
            jobctl::signal_pgrp(&k, pgrp, libc::SIGWINCH);
        }
        Ok(())
    }

    /// FIONREAD on the slave.
    pub fn slave_inq(&self) -> SysResult<usize> {
        Ok(self.st()?.ld.inq())
    }

    /// FIONREAD on the master.
    pub fn master_inq(&self) -> SysResult<usize> {
        Ok(self.st()?.ld.master_readable())
    }

    /// TCFLSH. `master` says which end the call was made on: the master's
    /// input is the slave's output and the other way round.
    pub fn flush(&self, queue: i32, master: bool) -> SysResult<()> {
        let (input, output) = match queue {
            libc::TCIFLUSH => (true, false),
            libc::TCOFLUSH => (false, true),
            libc::TCIOFLUSH => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let mut s = self.st()?;
        if master {
            if input {
                s.ld.flush_output();
            }
            if output {
                s.ld.flush_pending();
            }
        } else {
            if input {
                s.ld.flush_input();
            }
            if output {
                s.ld.flush_output();
            }
        }
        drop(s);
        self.notify_both();
        Ok(())
    }

    /// TCXONC.
    pub fn flow(&self, action: i32) -> SysResult<()> {
        let mut s = self.st()?;
        match action {
            libc::TCOOFF => s.ld.tco_off(),
            libc::TCOON => s.ld.tco_on(),
            libc::TCIOFF => s.ld.send_flow_char(false),
            libc::TCION => s.ld.send_flow_char(true),
            _ => return Err(Errno::EINVAL),
        }
        drop(s);
        self.notify_both();
        Ok(())
    }

    /// TIOCSIG on the master: `sig` (SIGINT, SIGQUIT or SIGTSTP) to the
    /// slave's foreground group.
    pub fn signal_foreground(&self, sig: i32) -> SysResult<()> {
        if sig != libc::SIGINT && sig != libc::SIGQUIT && sig != libc::SIGTSTP {
            return Err(Errno::EINVAL);
        }
        self.deliver(InputEffects { signals: vec![sig] });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn open_close_and_hangup_states() {
        let t = Terminal::new(0, Weak::new());
        assert_eq!(t.open_slave(), Err(Errno::EIO));
        t.set_locked(false).unwrap();
        assert_eq!(t.master_poll(), poll::OUT);
        t.open_slave().unwrap();
        assert_eq!(t.slave_write(b"hi\n").unwrap(), 3);
        assert_eq!(t.master_poll(), poll::IN | poll::OUT);
        t.release_slave();
        assert_eq!(t.master_poll(), poll::IN | poll::OUT | poll::HUP);
        let mut b = [0u8; 10];
        assert_eq!(t.master_read(&mut b).unwrap(), 4);
        assert_eq!(&b[..4], b"hi\r\n");
        assert_eq!(t.master_read(&mut b), Err(Errno::EIO));
        t.open_slave().unwrap();
        assert_eq!(t.master_read(&mut b), Err(Errno::EAGAIN));
        t.hang_up();
        assert_eq!(t.slave_read(&mut b).unwrap(), SlaveRead::HungUp);
        assert_eq!(t.slave_write(b"x"), Err(Errno::EIO));
        assert_eq!(t.open_slave(), Err(Errno::EIO));
        assert_eq!(t.slave_poll(), poll::IN | poll::OUT | poll::ERR | poll::HUP);
    }

    #[test]
    fn winsize_roundtrip() {
        let w = Winsize {
            row: 24,
            col: 80,
            xpixel: 1,
            ypixel: 2,
        };
        assert_eq!(Winsize::from_bytes(&w.to_bytes()), w);
        let t = Terminal::new(3, Weak::new());
        t.set_winsize(w).unwrap();
        assert_eq!(t.winsize().unwrap(), w);
    }
}
