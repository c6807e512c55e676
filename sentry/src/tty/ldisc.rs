//! The line discipline of a pseudo-terminal, after Linux's N_TTY
//! (`drivers/tty/n_tty.c`): the terminal's settings ([`Termios`]), the
//! input path from the master to the slave (signal characters, canonical
//! line editing, echo) and the output path from the slave to the master
//! (output post-processing).
//!
//! ```text
//!  master write ─► pending ─(input processing)─► read_buf ─► slave read
//!                                 │ echo
//!                                 ▼
//!  master read  ◄──────────────── out ◄─(output processing)── slave write
//! ```
//!
//! Everything here is plain data: no locks, no waiting, no signals. The
//! caller ([`super::terminal::Terminal`]) holds it under a mutex, wakes
//! waiters and sends the signals that input processing asks for.
//!
//! Bounds: the processed input holds at most [`N_TTY_BUF_SIZE`] bytes
//! (Linux's: a canonical line is at most 4095 characters plus its
//! terminator; characters past that are dropped until the line ends),
//! bytes written by the master wait in `pending` (at most [`PENDING_MAX`])
//! until there is room, and output waits in `out` (at most
//! [`OUTPUT_MAX`]) until the master reads it.

use std::collections::VecDeque;

/// Size of the processed input buffer (Linux's `N_TTY_BUF_SIZE`).
pub const N_TTY_BUF_SIZE: usize = 4096;
/// Bytes the master may write ahead of input processing (Linux lets a
/// pty's flip buffers hold 64 KiB).
pub const PENDING_MAX: usize = 65536;
/// Output bytes held for the master.
pub const OUTPUT_MAX: usize = 65536;
/// Room echoes may take past [`OUTPUT_MAX`] (echo never blocks input).
const ECHO_SLACK: usize = 4096;

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;
/// Size of the kernel's `struct termios` (TCGETS).
pub const TERMIOS_SIZE: usize = 36;
/// Size of `struct termios2` (TCGETS2).
pub const TERMIOS2_SIZE: usize = 44;
/// Size of `struct termio` (TCGETA).
pub const TERMIO_SIZE: usize = 18;
/// Control characters in `struct termio`.
const NCC: usize = 8;

/// `_POSIX_VDISABLE`: a control character set to this is disabled.
const VDISABLE: u8 = 0;

// c_cc indices.
const VINTR: usize = libc::VINTR;
const VQUIT: usize = libc::VQUIT;
const VERASE: usize = libc::VERASE;
const VKILL: usize = libc::VKILL;
const VEOF: usize = libc::VEOF;
const VTIME: usize = libc::VTIME;
const VMIN: usize = libc::VMIN;
const VSTART: usize = libc::VSTART;
const VSTOP: usize = libc::VSTOP;
const VSUSP: usize = libc::VSUSP;
const VEOL: usize = libc::VEOL;
const VREPRINT: usize = libc::VREPRINT;
const VWERASE: usize = libc::VWERASE;
const VLNEXT: usize = libc::VLNEXT;
const VEOL2: usize = libc::VEOL2;

// Flags, as u32.
const IGNCR: u32 = libc::IGNCR;
const ICRNL: u32 = libc::ICRNL;
const INLCR: u32 = libc::INLCR;
const ISTRIP: u32 = libc::ISTRIP;
const IUCLC: u32 = libc::IUCLC;
const IXON: u32 = libc::IXON;
const IXANY: u32 = libc::IXANY;
const IUTF8: u32 = libc::IUTF8;
const PARMRK: u32 = libc::PARMRK;
const OPOST: u32 = libc::OPOST;
const OLCUC: u32 = libc::OLCUC;
const ONLCR: u32 = libc::ONLCR;
const OCRNL: u32 = libc::OCRNL;
const ONOCR: u32 = libc::ONOCR;
const ONLRET: u32 = libc::ONLRET;
const TABDLY: u32 = libc::TABDLY;
const XTABS: u32 = libc::TAB3;
const ISIG: u32 = libc::ISIG;
const ICANON: u32 = libc::ICANON;
const ECHO: u32 = libc::ECHO;
const ECHOE: u32 = libc::ECHOE;
const ECHOK: u32 = libc::ECHOK;
const ECHONL: u32 = libc::ECHONL;
const NOFLSH: u32 = libc::NOFLSH;
const ECHOCTL: u32 = libc::ECHOCTL;
const ECHOKE: u32 = libc::ECHOKE;
const IEXTEN: u32 = libc::IEXTEN;
const CBAUD: u32 = libc::CBAUD;
const BOTHER: u32 = libc::BOTHER;
const IBSHIFT: u32 = libc::IBSHIFT;

/// Terminal settings (the kernel's `struct ktermios`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termios {
    /// Input modes.
    pub iflag: u32,
    /// Output modes.
    pub oflag: u32,
    /// Control modes.
    pub cflag: u32,
    /// Local modes.
    pub lflag: u32,
    /// Line discipline number (always N_TTY, 0).
    pub line: u8,
    /// Control characters.
    pub cc: [u8; NCCS],
    /// Input speed (baud).
    pub ispeed: u32,
    /// Output speed (baud).
    pub ospeed: u32,
}

/// The speeds the `B*` codes stand for (index = code, then `BOTHER|n`).
const BAUD_TABLE: [u32; 32] = [
    0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 0, 57600,
    115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000,
    3000000, 3500000, 4000000,
];

/// The speed a `CBAUD` code stands for (`BOTHER` gives `other`).
fn baud(code: u32, other: u32) -> u32 {
    if code == BOTHER {
        return other;
    }
    let idx = if code & BOTHER != 0 {
        16 + (code & 0o17) as usize
    } else {
        (code & 0o17) as usize
    };
    BAUD_TABLE.get(idx).copied().unwrap_or(0)
}

impl Termios {
    /// A pseudo-terminal slave's settings when it is created (Linux's
    /// `tty_std_termios` with the pty driver's control modes).
    pub fn pty_default() -> Termios {
        let mut cc = [0u8; NCCS];
        // Linux's INIT_C_CC.
        let init: [u8; 17] = [
            3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0,
        ];
        cc[..init.len()].copy_from_slice(&init);
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: libc::B38400 | libc::CS8 | libc::CREAD,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
            ispeed: 38400,
            ospeed: 38400,
        }
    }

    fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }
    fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }
    fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }

    /// Canonical mode (ICANON).
    pub fn canonical(&self) -> bool {
        self.l(ICANON)
    }

    /// `c_cc[VMIN]`.
    pub fn vmin(&self) -> u8 {
        self.cc[VMIN]
    }

    /// `c_cc[VTIME]` (tenths of a second).
    pub fn vtime(&self) -> u8 {
        self.cc[VTIME]
    }

    /// Whether job-control stops on background writes are on (TOSTOP).
    pub fn tostop(&self) -> bool {
        self.l(libc::TOSTOP)
    }

    /// Whether control character `idx` is `c` (and enabled).
    fn is(&self, idx: usize, c: u8) -> bool {
        self.cc[idx] != VDISABLE && self.cc[idx] == c
    }

    /// The kernel's `struct termios` (TCGETS): 36 bytes.
    pub fn to_termios(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        b[0..4].copy_from_slice(&self.iflag.to_ne_bytes());
        b[4..8].copy_from_slice(&self.oflag.to_ne_bytes());
        b[8..12].copy_from_slice(&self.cflag.to_ne_bytes());
        b[12..16].copy_from_slice(&self.lflag.to_ne_bytes());
        b[16] = self.line;
        b[17..17 + NCCS].copy_from_slice(&self.cc);
        b
    }

    /// `struct termios2` (TCGETS2): termios plus the two speeds.
    pub fn to_termios2(&self) -> [u8; TERMIOS2_SIZE] {
        let mut b = [0u8; TERMIOS2_SIZE];
        b[..TERMIOS_SIZE].copy_from_slice(&self.to_termios());
        b[36..40].copy_from_slice(&self.ispeed.to_ne_bytes());
        b[40..44].copy_from_slice(&self.ospeed.to_ne_bytes());
        b
    }

    /// `struct termio` (TCGETA): the low 16 bits of each mode and 8
    /// control characters.
    pub fn to_termio(&self) -> [u8; TERMIO_SIZE] {
        let mut b = [0u8; TERMIO_SIZE];
        b[0..2].copy_from_slice(&(self.iflag as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&(self.oflag as u16).to_ne_bytes());
        b[4..6].copy_from_slice(&(self.cflag as u16).to_ne_bytes());
        b[6..8].copy_from_slice(&(self.lflag as u16).to_ne_bytes());
        b[8] = self.line;
        b[9..9 + NCC].copy_from_slice(&self.cc[..NCC]);
        b
    }

    fn word(b: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u32::from_ne_bytes(w)
    }

    /// Settings from a `struct termios` (TCSETS*); the speeds follow
    /// the `CBAUD` codes, as Linux computes them.
    pub fn from_termios(b: &[u8; TERMIOS_SIZE], old: &Termios) -> Termios {
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..17 + NCCS]);
        let mut t = Termios {
            iflag: Self::word(b, 0),
            oflag: Self::word(b, 4),
            cflag: Self::word(b, 8),
            lflag: Self::word(b, 12),
            line: b[16],
            cc,
            ispeed: old.ispeed,
            ospeed: old.ospeed,
        };
        t.fix_speeds();
        t
    }

    /// Settings from a `struct termios2` (TCSETS2*): speeds as given for
    /// `BOTHER`.
    pub fn from_termios2(b: &[u8; TERMIOS2_SIZE]) -> Termios {
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..17 + NCCS]);
        let mut t = Termios {
            iflag: Self::word(b, 0),
            oflag: Self::word(b, 4),
            cflag: Self::word(b, 8),
            lflag: Self::word(b, 12),
            line: b[16],
            cc,
            ispeed: Self::word(b, 36),
            ospeed: Self::word(b, 40),
        };
        t.fix_speeds();
        t
    }

    /// Settings from a `struct termio` (TCSETA*): replaces the low 16
    /// bits of each mode and the first 8 control characters of `old`.
    pub fn from_termio(b: &[u8; TERMIO_SIZE], old: &Termios) -> Termios {
        let half = |at: usize| u16::from_ne_bytes([b[at], b[at + 1]]) as u32;
        let mut t = *old;
        t.iflag = (old.iflag & 0xffff_0000) | half(0);
        t.oflag = (old.oflag & 0xffff_0000) | half(2);
        t.cflag = (old.cflag & 0xffff_0000) | half(4);
        t.lflag = (old.lflag & 0xffff_0000) | half(6);
        t.line = b[8];
        t.cc[..NCC].copy_from_slice(&b[9..9 + NCC]);
        t.fix_speeds();
        t
    }

    /// Loads `ispeed`/`ospeed` from the `CBAUD` codes (Linux's
    /// `tty_termios_baud_rate` / `tty_termios_input_baud_rate`).
    fn fix_speeds(&mut self) {
        let out = baud(self.cflag & CBAUD, self.ospeed);
        let in_code = (self.cflag >> IBSHIFT) & CBAUD;
        let inp = if in_code == 0 {
            out
        } else {
            baud(in_code, self.ispeed)
        };
        self.ospeed = out;
        self.ispeed = inp;
    }
}

/// One byte of processed input.
#[derive(Debug, Clone, Copy)]
struct In {
    c: u8,
    /// A line ends after this byte (canonical mode).
    eol: bool,
    /// This is an end-of-file mark (VEOF): it ends a line and is never
    /// returned to the reader.
    eof: bool,
}

/// What the input processing wants done besides queueing: signals for
/// the terminal's foreground process group.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InputEffects {
    /// Signals to send, in order.
    pub signals: Vec<i32>,
}

/// The line discipline state of one pseudo-terminal.
#[derive(Debug)]
pub struct LineDiscipline {
    /// Current settings.
    pub termios: Termios,
    /// Bytes written by the master, not processed yet.
    pending: VecDeque<u8>,
    /// Processed input for the slave's reader.
    read_buf: VecDeque<In>,
    /// Number of `read_buf` entries that belong to complete lines (in
    /// non-canonical mode: every entry).
    complete: usize,
    /// Output for the master's reader.
    out: VecDeque<u8>,
    /// Echo output held while output is stopped.
    held: Vec<u8>,
    /// Output column (for tabs and erasing).
    column: usize,
    /// Column where the current input line started echoing.
    canon_column: usize,
    /// The previous character was VLNEXT: take the next one literally.
    lnext: bool,
    /// Output stopped by the stop character (IXON).
    stopped: bool,
    /// Output stopped by TCXONC(TCOOFF).
    tco_stopped: bool,
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

fn is_continuation(c: u8, utf8: bool) -> bool {
    utf8 && (c & 0xc0) == 0x80
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDiscipline {
    /// A line discipline with the pty defaults.
    pub fn new() -> Self {
        LineDiscipline {
            termios: Termios::pty_default(),
            pending: VecDeque::new(),
            read_buf: VecDeque::new(),
            complete: 0,
            out: VecDeque::new(),
            held: Vec::new(),
            column: 0,
            canon_column: 0,
            lnext: false,
            stopped: false,
            tco_stopped: false,
        }
    }

    // ---- settings ----------------------------------------------------

    /// Installs new settings (TCSETS and friends). A pty always keeps
    /// `CS8 | CREAD` and no parity, like Linux's `pty_set_termios`.
    /// Switching canonical mode on or off makes everything already
    /// queued readable; input waiting for room is processed.
    pub fn set_termios(&mut self, mut t: Termios) -> InputEffects {
        t.cflag &= !(libc::CSIZE | libc::PARENB);
        t.cflag |= libc::CS8 | libc::CREAD;
        let old = self.termios;
        self.termios = t;
        if (old.lflag ^ t.lflag) & ICANON != 0 {
            // Linux's n_tty_set_termios: whatever is queued becomes one
            // readable unit.
            if t.canonical() {
                if let Some(last) = self.read_buf.back_mut() {
                    last.eol = true;
                }
            }
            self.complete = self.read_buf.len();
            self.lnext = false;
        }
        if !t.i(IXON) && old.i(IXON) && self.stopped && !self.tco_stopped {
            self.start_output();
        }
        self.process()
    }

    // ---- the master side ----------------------------------------------

    /// The master writes `buf`: queues what fits in `pending` and
    /// processes what the input buffer has room for. Returns how many
    /// bytes were taken (0 means the caller must wait) and the signals
    /// the input asked for.
    pub fn master_write(&mut self, buf: &[u8]) -> (usize, InputEffects) {
        let room = PENDING_MAX.saturating_sub(self.pending.len());
        let n = room.min(buf.len());
        self.pending.extend(&buf[..n]);
        let fx = self.process();
        (n, fx)
    }

    /// Bytes the master can read now (0 while output is stopped).
    pub fn master_readable(&self) -> usize {
        self.out.len()
    }

    /// The master reads processed output.
    pub fn master_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.out.len());
        for (dst, b) in buf.iter_mut().zip(self.out.drain(..n)) {
            *dst = b;
        }
        n
    }

    /// Whether a master write would take at least one byte now.
    pub fn master_writable(&self) -> bool {
        self.pending.len() < PENDING_MAX
    }

    // ---- the slave side -----------------------------------------------

    /// Bytes of input the slave could read (FIONREAD): complete lines in
    /// canonical mode (end-of-file marks not counted), everything
    /// otherwise.
    pub fn inq(&self) -> usize {
        if self.termios.canonical() {
            self.read_buf
                .iter()
                .take(self.complete)
                .filter(|i| !i.eof)
                .count()
        } else {
            self.read_buf.len()
        }
    }

    /// Whether a slave read finds input. With `for_poll`, in
    /// non-canonical mode with `VTIME` 0 and `VMIN` > 0, `VMIN` bytes are
    /// needed (Linux's `input_available_p`).
    pub fn slave_readable(&self, for_poll: bool) -> bool {
        if self.termios.canonical() {
            return self.complete > 0;
        }
        let t = &self.termios;
        let amt = if for_poll && t.vtime() == 0 && t.vmin() > 0 {
            t.vmin() as usize
        } else {
            1
        };
        self.read_buf.len() >= amt
    }

    /// The slave reads: in canonical mode at most one line (an
    /// end-of-file mark ends it and is consumed), otherwise whatever is
    /// queued. Returns (bytes copied, whether anything was consumed).
    pub fn slave_read(&mut self, buf: &mut [u8]) -> (usize, bool) {
        let mut n = 0;
        let mut consumed = false;
        if self.termios.canonical() {
            while self.complete > 0 {
                let Some(front) = self.read_buf.front().copied() else {
                    break;
                };
                if front.eof {
                    self.pop_front();
                    consumed = true;
                    break;
                }
                if n == buf.len() {
                    break;
                }
                buf[n] = front.c;
                n += 1;
                self.pop_front();
                consumed = true;
                if front.eol {
                    break;
                }
                if n == buf.len() {
                    // A line ended by an end-of-file mark right here is
                    // done: the mark goes with it.
                    if let Some(next) = self.read_buf.front() {
                        if next.eof && self.complete > 0 {
                            self.pop_front();
                        }
                    }
                    break;
                }
            }
        } else {
            while n < buf.len() {
                let Some(front) = self.read_buf.pop_front() else {
                    break;
                };
                self.complete = self.complete.saturating_sub(1);
                consumed = true;
                if front.eof {
                    continue;
                }
                buf[n] = front.c;
                n += 1;
            }
        }
        (n, consumed)
    }

    fn pop_front(&mut self) {
        if self.read_buf.pop_front().is_some() {
            self.complete = self.complete.saturating_sub(1);
        }
    }

    /// Whether a slave write would take at least one byte now.
    pub fn slave_writable(&self) -> bool {
        !self.stopped && self.out.len() + 8 <= OUTPUT_MAX
    }

    /// The slave writes: output processing into the master's queue, as
    /// far as there is room. Returns how many bytes were taken.
    pub fn slave_write(&mut self, buf: &[u8]) -> usize {
        if self.stopped {
            return 0;
        }
        let mut n = 0;
        for &c in buf {
            let mut tmp = [0u8; 8];
            let (len, col) = self.output_char(c, &mut tmp);
            if self.out.len() + len > OUTPUT_MAX {
                break;
            }
            self.out.extend(&tmp[..len]);
            self.column = col;
            n += 1;
        }
        n
    }

    /// Output processing of one character (Linux's `do_output_char`):
    /// the bytes to emit into `dst` and the column after them.
    fn output_char(&mut self, c: u8, dst: &mut [u8; 8]) -> (usize, usize) {
        let t = self.termios;
        let mut col = self.column;
        if !t.o(OPOST) {
            dst[0] = c;
            return (1, col);
        }
        match c {
            b'\n' => {
                if t.o(ONLRET) {
                    col = 0;
                }
                if t.o(ONLCR) {
                    dst[0] = b'\r';
                    dst[1] = b'\n';
                    self.canon_column = 0;
                    return (2, 0);
                }
                self.canon_column = col;
                dst[0] = b'\n';
                (1, col)
            }
            b'\r' => {
                if t.o(ONOCR) && col == 0 {
                    return (0, col);
                }
                if t.o(OCRNL) {
                    dst[0] = b'\n';
                    if t.o(ONLRET) {
                        col = 0;
                        self.canon_column = 0;
                    }
                    return (1, col);
                }
                self.canon_column = 0;
                dst[0] = b'\r';
                (1, 0)
            }
            b'\t' => {
                let spaces = 8 - (col & 7);
                if t.oflag & TABDLY == XTABS {
                    dst[..spaces].fill(b' ');
                    return (spaces, col + spaces);
                }
                dst[0] = b'\t';
                (1, col + spaces)
            }
            8 => {
                dst[0] = 8;
                (1, col.saturating_sub(1))
            }
            _ => {
                let mut c = c;
                if !is_cntrl(c) {
                    if t.o(OLCUC) {
                        c = c.to_ascii_uppercase();
                    }
                    if !is_continuation(c, t.i(IUTF8)) {
                        col += 1;
                    }
                }
                dst[0] = c;
                (1, col)
            }
        }
    }

    // ---- echo ----------------------------------------------------------

    /// Emits echo bytes (already processed), held while output is stopped.
    fn emit_echo(&mut self, bytes: &[u8]) {
        if self.stopped {
            if self.held.len() + bytes.len() <= ECHO_SLACK {
                self.held.extend_from_slice(bytes);
            }
            return;
        }
        if self.out.len() + bytes.len() <= OUTPUT_MAX + ECHO_SLACK {
            self.out.extend(bytes);
        }
    }

    /// Echoes one character through output processing.
    fn echo_raw(&mut self, c: u8) {
        if !self.termios.o(OPOST) {
            self.emit_echo(&[c]);
            return;
        }
        let mut tmp = [0u8; 8];
        let (len, col) = self.output_char(c, &mut tmp);
        self.column = col;
        self.emit_echo(&tmp[..len]);
    }

    /// Echoes a character as the user typed it: control characters as
    /// `^X` when ECHOCTL is on (Linux's `echo_char`).
    fn echo_char(&mut self, c: u8) {
        if self.termios.l(ECHOCTL) && is_cntrl(c) && c != b'\t' {
            self.emit_echo(&[b'^', c ^ 0o100]);
            self.column += 2;
        } else {
            self.echo_raw(c);
        }
    }

    /// Records the column where the current input line starts, before the
    /// first character of a line is echoed.
    fn mark_line_start(&mut self) {
        if self.read_buf.len() == self.complete {
            self.canon_column = self.column;
        }
    }

    // ---- input processing ---------------------------------------------

    /// Processes pending input while the input buffer has room.
    pub fn process(&mut self) -> InputEffects {
        let mut fx = InputEffects::default();
        while let Some(&c) = self.pending.front() {
            if !self.receive(c, &mut fx) {
                break;
            }
            self.pending.pop_front();
        }
        fx
    }

    /// Whether there is room to store one more input character; in
    /// canonical mode with no complete line, a full buffer still takes
    /// characters (and drops all but line terminators) so that erase and
    /// kill keep working.
    fn room(&self) -> Room {
        let len = self.read_buf.len();
        if len < N_TTY_BUF_SIZE - 1 {
            Room::Yes
        } else if self.termios.canonical() && self.complete == 0 {
            Room::Overflow
        } else {
            Room::No
        }
    }

    /// Processes one input character; false if there is no room for it
    /// yet (it stays pending).
    fn receive(&mut self, c: u8, fx: &mut InputEffects) -> bool {
        let room = self.room();
        if room == Room::No {
            return false;
        }
        let t = self.termios;
        let mut c = c;
        if t.i(ISTRIP) {
            c &= 0x7f;
        }
        if t.i(IUCLC) && t.l(IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            self.receive_normal(c, room);
            return true;
        }
        if t.i(IXON) {
            if t.is(VSTART, c) {
                self.start_output();
                return true;
            }
            if t.is(VSTOP, c) {
                self.stop_output();
                return true;
            }
        }
        if t.l(ISIG) {
            let sig = if t.is(VINTR, c) {
                Some(libc::SIGINT)
            } else if t.is(VQUIT, c) {
                Some(libc::SIGQUIT)
            } else if t.is(VSUSP, c) {
                Some(libc::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                fx.signals.push(sig);
                if !t.l(NOFLSH) {
                    self.flush_input_processed();
                    self.flush_output();
                }
                if t.i(IXON) {
                    self.start_output();
                }
                if t.l(ECHO) {
                    self.echo_char(c);
                }
                return true;
            }
        }
        if self.stopped && !self.tco_stopped && t.i(IXON) && t.i(IXANY) {
            self.start_output();
        }
        if c == b'\r' {
            if t.i(IGNCR) {
                return true;
            }
            if t.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(INLCR) {
            c = b'\r';
        }
        if t.canonical() {
            if t.is(VERASE, c) || t.is(VKILL, c) || (t.is(VWERASE, c) && t.l(IEXTEN)) {
                self.erase(c);
                return true;
            }
            if t.is(VLNEXT, c) && t.l(IEXTEN) {
                self.lnext = true;
                if t.l(ECHO) && t.l(ECHOCTL) {
                    self.echo_raw(b'^');
                    self.echo_raw(8);
                }
                return true;
            }
            if t.is(VREPRINT, c) && t.l(ECHO) && t.l(IEXTEN) {
                self.reprint(c);
                return true;
            }
            if c == b'\n' {
                if t.l(ECHO) || t.l(ECHONL) {
                    self.echo_raw(b'\n');
                }
                self.push_line_end(c, false);
                return true;
            }
            if t.is(VEOF, c) {
                self.push_line_end(0, true);
                return true;
            }
            if t.is(VEOL, c) || (t.is(VEOL2, c) && t.l(IEXTEN)) {
                if t.l(ECHO) {
                    self.mark_line_start();
                    self.echo_char(c);
                }
                self.push_line_end(c, false);
                return true;
            }
        }
        if t.l(ECHO) && c == b'\n' {
            // Non-canonical newline: echoed as a newline, not as ^J.
            self.echo_raw(b'\n');
            self.store(c, room);
            return true;
        }
        self.receive_normal(c, room);
        true
    }

    /// A character with no special meaning: echo and store.
    fn receive_normal(&mut self, c: u8, room: Room) {
        let t = self.termios;
        if room == Room::Overflow {
            // The line is full: drop it (no room to show it either).
            return;
        }
        if t.l(ECHO) {
            self.mark_line_start();
            self.echo_char(c);
        }
        if c == 0o377 && t.i(PARMRK) {
            self.store(c, room);
        }
        self.store(c, room);
    }

    fn store(&mut self, c: u8, room: Room) {
        if room == Room::Overflow || self.read_buf.len() >= N_TTY_BUF_SIZE {
            return;
        }
        self.read_buf.push_back(In {
            c,
            eol: false,
            eof: false,
        });
        if !self.termios.canonical() {
            self.complete = self.read_buf.len();
        }
    }

    /// Ends the current line with `c` (or an end-of-file mark).
    fn push_line_end(&mut self, c: u8, eof: bool) {
        if self.read_buf.len() >= N_TTY_BUF_SIZE {
            return;
        }
        self.read_buf.push_back(In { c, eol: true, eof });
        self.complete = self.read_buf.len();
    }

    /// VERASE, VWERASE and VKILL (Linux's `eraser`).
    fn erase(&mut self, c: u8) {
        #[derive(PartialEq)]
        enum Kind {
            Erase,
            Werase,
            Kill,
        }
        let t = self.termios;
        if self.read_buf.len() == self.complete {
            return;
        }
        let kind = if t.is(VERASE, c) {
            Kind::Erase
        } else if t.is(VWERASE, c) {
            Kind::Werase
        } else {
            Kind::Kill
        };
        if kind == Kind::Kill {
            if !t.l(ECHO) {
                self.read_buf.truncate(self.complete);
                return;
            }
            if !t.l(ECHOK) || !t.l(ECHOKE) || !t.l(ECHOE) {
                self.read_buf.truncate(self.complete);
                self.echo_char(c);
                if t.l(ECHOK) {
                    self.echo_raw(b'\n');
                }
                return;
            }
        }
        let utf8 = t.i(IUTF8);
        let mut seen_alnums = 0;
        while self.read_buf.len() > self.complete {
            let mut start = self.read_buf.len() - 1;
            while start > self.complete && is_continuation(self.read_buf[start].c, utf8) {
                start -= 1;
            }
            let ch = self.read_buf[start].c;
            if kind == Kind::Werase {
                if ch.is_ascii_alphanumeric() || ch == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            self.read_buf.truncate(start);
            if t.l(ECHO) {
                if kind == Kind::Erase && !t.l(ECHOE) {
                    self.echo_char(t.cc[VERASE]);
                } else if ch == b'\t' {
                    self.erase_tab();
                } else {
                    if is_cntrl(ch) && t.l(ECHOCTL) {
                        self.echo_raw_seq(b"\x08 \x08");
                    }
                    if !is_cntrl(ch) || t.l(ECHOCTL) {
                        self.echo_raw_seq(b"\x08 \x08");
                    }
                }
            }
            if kind == Kind::Erase {
                break;
            }
        }
    }

    fn echo_raw_seq(&mut self, s: &[u8]) {
        for &b in s {
            self.echo_raw(b);
        }
    }

    /// Backs the cursor over a tab just erased: to the column the rest of
    /// the line leaves it at.
    fn erase_tab(&mut self) {
        let t = self.termios;
        let utf8 = t.i(IUTF8);
        let mut col = self.canon_column;
        for i in self.complete..self.read_buf.len() {
            let ch = self.read_buf[i].c;
            if ch == b'\t' {
                col = (col | 7) + 1;
            } else if is_cntrl(ch) {
                if t.l(ECHOCTL) {
                    col += 2;
                }
            } else if !is_continuation(ch, utf8) {
                col += 1;
            }
        }
        let n = 8 - (col & 7);
        for _ in 0..n {
            self.emit_echo(&[8]);
            self.column = self.column.saturating_sub(1);
        }
    }

    /// VREPRINT: shows the reprint character, a newline and the current
    /// line again.
    fn reprint(&mut self, c: u8) {
        self.echo_char(c);
        self.echo_raw(b'\n');
        let line: Vec<u8> = self
            .read_buf
            .iter()
            .skip(self.complete)
            .map(|i| i.c)
            .collect();
        self.canon_column = self.column;
        for ch in line {
            self.echo_char(ch);
        }
    }

    // ---- flow control and flushing ------------------------------------

    fn stop_output(&mut self) {
        self.stopped = true;
    }

    fn start_output(&mut self) {
        if !self.stopped || self.tco_stopped {
            return;
        }
        self.stopped = false;
        let held = std::mem::take(&mut self.held);
        self.emit_echo(&held);
    }

    /// TCXONC(TCOOFF): suspends output.
    pub fn tco_off(&mut self) {
        if !self.tco_stopped {
            self.tco_stopped = true;
            self.stopped = true;
        }
    }

    /// TCXONC(TCOON): resumes output.
    pub fn tco_on(&mut self) {
        if self.tco_stopped {
            self.tco_stopped = false;
            self.start_output();
        }
    }

    /// TCXONC(TCIOFF/TCION): sends the stop or start character to the
    /// other end (appears in the master's input).
    pub fn send_flow_char(&mut self, start: bool) {
        let c = self.termios.cc[if start { VSTART } else { VSTOP }];
        if c != VDISABLE && self.out.len() < OUTPUT_MAX + ECHO_SLACK {
            self.out.push_back(c);
        }
    }

    fn flush_input_processed(&mut self) {
        self.read_buf.clear();
        self.complete = 0;
        self.lnext = false;
    }

    /// TCIFLUSH on the slave: discards unread input, processed or not.
    pub fn flush_input(&mut self) {
        self.flush_input_processed();
        self.pending.clear();
    }

    /// Discards output the master has not read.
    pub fn flush_output(&mut self) {
        self.out.clear();
        self.held.clear();
    }

    /// Discards input the master wrote that is not processed yet.
    pub fn flush_pending(&mut self) {
        self.pending.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    Yes,
    Overflow,
    No,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read_all_master(ld: &mut LineDiscipline) -> Vec<u8> {
        let mut b = vec![0u8; 1 << 17];
        let n = ld.master_read(&mut b);
        b.truncate(n);
        b
    }

    fn slave_read(ld: &mut LineDiscipline, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        let (n, _) = ld.slave_read(&mut b);
        b.truncate(n);
        b
    }

    #[test]
    fn defaults_match_linux() {
        let t = Termios::pty_default();
        assert_eq!(t.iflag, 0o2400);
        assert_eq!(t.oflag, 5);
        assert_eq!(t.cflag, 0o277);
        assert_eq!(t.lflag, 0o105073);
        assert_eq!(
            &t.cc[..],
            &[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0]
        );
        let b = t.to_termios();
        assert_eq!(Termios::from_termios(&b, &t), t);
        let b2 = t.to_termios2();
        assert_eq!(Termios::from_termios2(&b2), t);
        assert_eq!(Termios::from_termio(&t.to_termio(), &t), t);
    }

    #[test]
    fn canonical_line_echo_and_onlcr() {
        let mut ld = LineDiscipline::new();
        let (n, fx) = ld.master_write(b"hello");
        assert_eq!((n, fx.signals.len()), (5, 0));
        assert!(!ld.slave_readable(false));
        assert_eq!(ld.inq(), 0);
        ld.master_write(b"\r");
        assert!(ld.slave_readable(false));
        assert_eq!(ld.inq(), 6);
        assert_eq!(slave_read(&mut ld, 100), b"hello\n");
        assert_eq!(read_all_master(&mut ld), b"hello\r\n");
        assert_eq!(ld.slave_write(b"a\nb"), 3);
        assert_eq!(read_all_master(&mut ld), b"a\r\nb");
    }

    #[test]
    fn erase_kill_werase() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"abc\x7f\x7fd\n");
        assert_eq!(slave_read(&mut ld, 100), b"ad\n");
        assert_eq!(read_all_master(&mut ld), b"abc\x08 \x08\x08 \x08d\r\n");
        ld.master_write(b"one two\x17x\n");
        assert_eq!(slave_read(&mut ld, 100), b"one x\n");
        ld.master_write(b"garbage\x15ok\n");
        assert_eq!(slave_read(&mut ld, 100), b"ok\n");
        // ECHOK without ECHOKE: the kill character and a newline.
        let mut t = ld.termios;
        t.lflag &= !ECHOKE;
        ld.set_termios(t);
        read_all_master(&mut ld);
        ld.master_write(b"xy\x15");
        assert_eq!(read_all_master(&mut ld), b"xy^U\r\n");
    }

    #[test]
    fn eof_marks() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"ab\x04");
        assert_eq!(ld.inq(), 2);
        assert_eq!(slave_read(&mut ld, 100), b"ab");
        ld.master_write(b"\x04");
        assert!(ld.slave_readable(false));
        let mut b = [0u8; 10];
        assert_eq!(ld.slave_read(&mut b), (0, true));
        assert!(!ld.slave_readable(false));
        // A short read of a line ended by EOF takes the mark too.
        ld.master_write(b"xyz\x04q\n");
        assert_eq!(slave_read(&mut ld, 3), b"xyz");
        assert_eq!(slave_read(&mut ld, 10), b"q\n");
        // EOF is not echoed.
        assert_eq!(read_all_master(&mut ld), b"abxyzq\r\n");
    }

    #[test]
    fn signals_flush_and_echo() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"abc");
        let (_, fx) = ld.master_write(b"\x03");
        assert_eq!(fx.signals, vec![libc::SIGINT]);
        assert_eq!(read_all_master(&mut ld), b"^C");
        ld.master_write(b"x\n");
        assert_eq!(slave_read(&mut ld, 100), b"x\n");
        let (_, fx) = ld.master_write(b"\x1c\x1a");
        assert_eq!(fx.signals, vec![libc::SIGQUIT, libc::SIGTSTP]);
        let mut t = ld.termios;
        t.lflag &= !ISIG;
        ld.set_termios(t);
        let (_, fx) = ld.master_write(b"\x03\n");
        assert!(fx.signals.is_empty());
        assert_eq!(slave_read(&mut ld, 100), b"\x03\n");
    }

    #[test]
    fn raw_mode_and_switching() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"par");
        let mut t = ld.termios;
        t.lflag &= !(ICANON | ECHO);
        ld.set_termios(t);
        assert!(ld.slave_readable(false));
        assert_eq!(slave_read(&mut ld, 2), b"pa");
        assert_eq!(slave_read(&mut ld, 10), b"r");
        ld.master_write(b"\r\x7f");
        assert_eq!(slave_read(&mut ld, 10), b"\n\x7f");
        // VMIN for poll.
        t.cc[VMIN] = 3;
        ld.set_termios(t);
        ld.master_write(b"ab");
        assert!(ld.slave_readable(false));
        assert!(!ld.slave_readable(true));
        ld.master_write(b"c");
        assert!(ld.slave_readable(true));
        // Back to canonical: what is queued is one readable unit.
        t.lflag |= ICANON;
        ld.set_termios(t);
        assert_eq!(slave_read(&mut ld, 10), b"abc");
    }

    #[test]
    fn bounded_queues() {
        let mut ld = LineDiscipline::new();
        let mut t = ld.termios;
        t.lflag &= !ECHO;
        ld.set_termios(t);
        // A canonical line keeps 4095 characters plus its newline.
        let long = vec![b'a'; 5000];
        ld.master_write(&long);
        ld.master_write(b"\n");
        let line = slave_read(&mut ld, 10000);
        assert_eq!(line.len(), N_TTY_BUF_SIZE);
        assert_eq!(line.last(), Some(&b'\n'));
        // Raw mode: at most 4095 processed, the rest pending, master
        // writes stop at the pending limit.
        t.lflag &= !ICANON;
        ld.set_termios(t);
        let big = vec![b'x'; PENDING_MAX + 10_000];
        let (n, _) = ld.master_write(&big);
        assert_eq!(n, PENDING_MAX);
        assert_eq!(ld.inq(), N_TTY_BUF_SIZE - 1);
        // What was processed made room in `pending`; now it is full.
        let (m, _) = ld.master_write(&big);
        assert_eq!(m, N_TTY_BUF_SIZE - 1);
        assert!(!ld.master_writable());
        assert_eq!(ld.master_write(b"z").0, 0);
        let mut total = 0;
        loop {
            let got = slave_read(&mut ld, 1000).len();
            if got == 0 {
                ld.process();
                if !ld.slave_readable(false) {
                    break;
                }
                continue;
            }
            total += got;
            ld.process();
        }
        assert_eq!(total, n + m);
        // Output stops at OUTPUT_MAX.
        let out = vec![b'y'; OUTPUT_MAX + 5];
        assert_eq!(ld.slave_write(&out), OUTPUT_MAX);
        assert!(!ld.slave_writable());
    }

    #[test]
    fn ixon_stops_output() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"\x13");
        assert!(!ld.slave_writable());
        assert_eq!(ld.slave_write(b"x"), 0);
        ld.master_write(b"a");
        assert_eq!(read_all_master(&mut ld), b"");
        ld.master_write(b"\x11");
        assert_eq!(read_all_master(&mut ld), b"a");
        assert_eq!(ld.slave_write(b"x"), 1);
    }

    #[test]
    fn lnext_and_tabs() {
        let mut ld = LineDiscipline::new();
        ld.master_write(b"\x16\x03\n");
        assert_eq!(slave_read(&mut ld, 10), b"\x03\n");
        read_all_master(&mut ld);
        ld.master_write(b"ab\t\x7f");
        assert_eq!(read_all_master(&mut ld), b"ab\t\x08\x08\x08\x08\x08\x08");
    }
}
