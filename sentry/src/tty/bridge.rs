//! A console: the master of an emulated pty connected to host
//! descriptors. What arrives on the host input goes to the master (and
//! through the line discipline to the workload's terminal); what the
//! workload writes comes out of the master and goes to the host output.
//!
//! The host side is usually a terminal in raw mode (the caller's own for
//! `rvisor do`, the slave of a host pty for an OCI console socket); the
//! emulated line discipline does all the echoing, line editing and
//! signal generation. The window size is copied from a host terminal at
//! start and whenever a host SIGWINCH is read from the console's
//! signalfd (or [`sync_winsize`] is called).
//!
//! Two host threads: one blocks in `poll` on the host input (and the
//! signalfd) and feeds the master; one waits for master output and
//! writes it to the host. [`Bridge::finish`] lets the second drain what
//! the workload wrote before the sandbox ends.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::{Terminal, Winsize};
use crate::fs::devpts::MasterFile;
use crate::fs::FileOps;
use crate::kernel::wait::Waker;
use crate::Errno;

/// A callback for host signals other than SIGWINCH read from the
/// console's signalfd.
pub type SignalHook = Box<dyn Fn(i32) + Send + Sync>;

/// The host side of a console.
pub struct Console {
    /// Where the terminal's input comes from.
    pub input: OwnedFd,
    /// Where the terminal's output goes.
    pub output: OwnedFd,
    /// The window size to start with (before `winsize` is read).
    pub size: Option<Winsize>,
    /// A host terminal whose window size the emulated one follows.
    pub winsize: Option<OwnedFd>,
    /// A signalfd with the host signals to watch: SIGWINCH re-reads the
    /// window size, anything else goes to `on_signal`.
    pub signals: Option<OwnedFd>,
    /// Called with other signals read from `signals`.
    pub on_signal: Option<SignalHook>,
}

/// A running console bridge.
pub struct Bridge {
    stop: Arc<AtomicBool>,
    out_waker: Arc<Waker>,
    in_waker: Arc<Waker>,
    out_done: mpsc::Receiver<()>,
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Reads the window size of host terminal `fd` into `term` (a change
/// sends SIGWINCH to the foreground group).
pub fn sync_winsize(term: &Terminal, fd: RawFd) {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills the live local.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one struct winsize into `ws`.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
        let _ = term.set_winsize(Winsize {
            row: ws.ws_row,
            col: ws.ws_col,
            xpixel: ws.ws_xpixel,
            ypixel: ws.ws_ypixel,
        });
    }
}

/// Writes all of `buf` to host `fd`; false if the host side is gone.
fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: writes from the live slice `buf`.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[r as usize..];
    }
    true
}

impl Bridge {
    /// Connects `console` to `master` and starts the two threads.
    pub fn start(console: Console, master: Arc<MasterFile>) -> io::Result<Bridge> {
        let term = master.terminal().clone();
        if let Some(ws) = console.size {
            let _ = term.set_winsize(ws);
        }
        if let Some(w) = &console.winsize {
            sync_winsize(&term, w.as_raw_fd());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let out_waker = Arc::new(Waker::new()?);
        let in_waker = Arc::new(Waker::new()?);
        let (done_tx, out_done) = mpsc::channel();

        let Console {
            input,
            output,
            winsize,
            signals,
            on_signal,
            ..
        } = console;
        {
            let term = term.clone();
            let stop = stop.clone();
            let waker = out_waker.clone();
            std::thread::Builder::new()
                .name("console-out".into())
                .spawn(move || {
                    output_loop(&term, output.as_raw_fd(), &stop, &waker);
                    let _ = done_tx.send(());
                })?;
        }
        {
            let stop = stop.clone();
            let in_waker = in_waker.clone();
            std::thread::Builder::new()
                .name("console-in".into())
                .spawn(move || {
                    input_loop(
                        &master,
                        input.as_raw_fd(),
                        winsize.as_ref().map(|w| w.as_raw_fd()),
                        signals.as_ref().map(|s| s.as_raw_fd()),
                        on_signal.as_deref(),
                        &stop,
                        &in_waker,
                    );
                    drop((input, winsize, signals));
                })?;
        }
        Ok(Bridge {
            stop,
            out_waker,
            in_waker,
            out_done,
        })
    }

    /// Stops the bridge once what the workload wrote has reached the
    /// host (waiting at most `max` for a host that does not read). The
    /// input side stops reading the host at once and lets its
    /// descriptors go.
    pub fn finish(self, max: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        self.in_waker.wake();
        self.out_waker.wake();
        let _ = self.out_done.recv_timeout(max);
    }
}

/// Copies master output to the host until stopped (and drained).
fn output_loop(term: &Terminal, out: RawFd, stop: &AtomicBool, waker: &Arc<Waker>) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut host_gone = false;
    loop {
        let reg = term.master_queue.register(waker);
        match term.master_read(&mut buf) {
            Ok(n) => {
                drop(reg);
                if !host_gone && !write_all(out, &buf[..n]) {
                    // Keep draining so that the workload never blocks on
                    // a terminal nobody reads any more.
                    host_gone = true;
                }
            }
            Err(e) if e == Errno::EAGAIN || e == Errno::EIO => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                waker.wait(&[], None);
            }
            Err(_) => return,
        }
    }
}

/// Feeds host input (and handles host signals) until the host input ends
/// or the bridge is stopped (`waker` woken with `stop` set).
fn input_loop(
    master: &Arc<MasterFile>,
    input: RawFd,
    winsize: Option<RawFd>,
    signals: Option<RawFd>,
    on_signal: Option<&(dyn Fn(i32) + Send + Sync)>,
    stop: &AtomicBool,
    waker: &Arc<Waker>,
) {
    let term = master.terminal().clone();
    let mut buf = vec![0u8; 4096];
    let mut input_open = true;
    // SAFETY: isatty only inspects the descriptor.
    let input_is_tty = unsafe { libc::isatty(input) } == 1;
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut fds = Vec::with_capacity(3);
        fds.push(libc::pollfd {
            fd: waker.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        if input_open {
            fds.push(libc::pollfd {
                fd: input,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(s) = signals {
            fds.push(libc::pollfd {
                fd: s,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if fds.len() == 1 {
            return;
        }
        // SAFETY: `fds` is a live array of pollfds; no timeout.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return;
        }
        for p in &fds {
            if p.revents == 0 {
                continue;
            }
            if p.fd == waker.as_raw_fd() {
                // Woken: `stop` is checked at the top of the loop (the
                // feeding below also uses the waker, so drain it here).
                waker.wait(&[], Some(std::time::Instant::now()));
                continue;
            }
            if Some(p.fd) == signals {
                handle_signals(&term, p.fd, winsize, on_signal);
                continue;
            }
            // SAFETY: reads at most buf.len() bytes into the live buffer.
            let n = unsafe { libc::read(input, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && matches!(errno(), libc::EINTR | libc::EAGAIN) {
                continue;
            }
            if n <= 0 {
                // The host side is gone. A terminal that hung up hangs the
                // emulated one up too (SIGHUP to the session, like a
                // closed pty master); the end of a plain input just ends.
                input_open = false;
                if input_is_tty {
                    if !stop.load(Ordering::SeqCst) {
                        master.release();
                    }
                    return;
                }
                continue;
            }
            feed(&term, &buf[..n as usize], stop, waker);
        }
    }
}

/// Writes `data` into the master, waiting for room.
fn feed(term: &Terminal, mut data: &[u8], stop: &AtomicBool, waker: &Arc<Waker>) {
    while !data.is_empty() && !stop.load(Ordering::SeqCst) {
        let reg = term.master_queue.register(waker);
        match term.master_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e == Errno::EAGAIN => {
                waker.wait(
                    &[],
                    Some(std::time::Instant::now() + Duration::from_secs(1)),
                );
            }
            Err(_) => return,
        }
        drop(reg);
    }
}

/// Reads pending signals from the signalfd `fd`.
fn handle_signals(
    term: &Terminal,
    fd: RawFd,
    winsize: Option<RawFd>,
    on_signal: Option<&(dyn Fn(i32) + Send + Sync)>,
) {
    // SAFETY: signalfd_siginfo is plain data; all-zero is valid.
    let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // One signal per wake-up: poll reports the fd again if more are queued.
    // SAFETY: reads one signalfd_siginfo into the live local.
    let n = unsafe { libc::read(fd, (&mut si as *mut libc::signalfd_siginfo).cast(), size) };
    if n != size as isize {
        return;
    }
    let sig = si.ssi_signo as i32;
    if sig == libc::SIGWINCH {
        if let Some(w) = winsize {
            sync_winsize(term, w);
        }
    } else if let Some(f) = on_signal {
        f(sig);
    }
}
