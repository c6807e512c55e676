//! x86-64 Linux system call ABI for rvisor.
//!
//! - [`abi`]: `#[repr(C)]` kernel structures (zerocopy-enabled) and constants
//!   libc lacks.
//! - [`errno`]: errno names and descriptions.
//! - [`table`]: syscall names and per-argument kinds.
//! - [`status`]: the sentry's per-syscall support table.
//! - [`strace`]: strace-style formatting of syscall entries and returns.

#![warn(missing_docs)]

pub mod abi;
pub mod errno;
pub mod status;
pub mod strace;
pub mod table;

pub use syscalls::{Errno, Sysno};
