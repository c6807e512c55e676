//! x86-64 Linux system call ABI for rvisor.
pub use syscalls::{Errno, Sysno};
