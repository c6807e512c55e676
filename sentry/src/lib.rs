//! The sentry: rvisor's userspace kernel.
//!
//! See ARCHITECTURE.md at the repository root for the map of this crate and
//! the path of a system call from the stub to its handler and back.

pub mod boot;
pub mod confine;
pub mod fs;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod net;
pub mod platform;
pub mod syscalls;
pub mod tty;

pub use rvisor_syscalls::Errno;

/// Result of a system call handler or kernel operation: a value or errno.
pub type SysResult<T> = Result<T, Errno>;
