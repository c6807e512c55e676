//! Terminals: pseudo-terminal pairs emulated in the sentry.
//!
//! * [`ldisc`] — the line discipline (termios, canonical editing, echo,
//!   signal characters, output processing), plain data;
//! * [`terminal`] — one master/slave pair around a line discipline, with
//!   its window size and open/hang-up state;
//! * [`jobctl`] — controlling terminals of sessions and the job-control
//!   rules (foreground groups, SIGTTIN/SIGTTOU, hangups);
//! * [`bridge`] — a console: a host descriptor (a host terminal, or any
//!   pair of host fds) connected to the master of an emulated pty whose
//!   slave is the workload's terminal.
//!
//! The files (`/dev/ptmx`, `/dev/pts/N`, `/dev/tty`) are in
//! [`crate::fs::devpts`]; the system-call side (ioctls, blocking reads
//! with VMIN/VTIME, job-control checks) in [`crate::syscalls::tty`].

pub mod bridge;
pub mod jobctl;
pub mod ldisc;
pub mod terminal;

pub use terminal::{Terminal, Winsize};
