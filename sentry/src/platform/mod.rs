//! Platforms: how the sentry runs a workload's register context and gets
//! control back at every system call and fault.
//!
//! The only platform today is [`ptrace`]: stub processes driven with
//! `PTRACE_SYSEMU`. Memory follows the "stub owns its memory" design (see
//! ARCHITECTURE.md): anonymous memory is the stub's own host memory, the
//! sentry reads and writes it with `process_vm_readv`/`writev`, and fork is a
//! host fork of the stub, so copy-on-write comes from the host kernel.

pub mod ptrace;
pub mod seccomp;
pub mod stub;

/// Why a workload's context stopped running.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// It made a system call; the number is in `orig_rax`.
    Syscall,
    /// It faulted: `signo` (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) with
    /// the kernel's `si_code` and fault address.
    Fault {
        /// Host signal number of the fault.
        signo: i32,
        /// The kernel's si_code for it.
        code: i32,
        /// Faulting address (si_addr).
        addr: u64,
    },
    /// The sentry kicked it (a signal or exit is pending for its task).
    Interrupted,
    /// The stub thread is gone (killed); the raw wait status.
    Died(i32),
}

/// Failures of the platform itself (never the workload's fault).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A host call failed.
    #[error("{0}: errno {1}")]
    Os(&'static str, i32),
    /// Reading host state failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The stub did not start as expected (raw wait status).
    #[error("stub failed to start (status {0:#x})")]
    StubStart(i32),
    /// The stub died during an injected call (raw wait status).
    #[error("stub died during an injected call (status {0:#x})")]
    StubDied(i32),
    /// An injected call trapped somewhere unexpected.
    #[error("injected call returned at unexpected rip {0:#x}")]
    InjectLost(u64),
    /// The host gave the stub no vDSO.
    #[error("no vDSO in the stub")]
    NoVdso,
    /// The seccomp filter could not be built.
    #[error("seccomp filter: {0}")]
    Seccomp(String),
}
