//! The seccomp filter every stub runs under.
//!
//! Workload system calls never reach it: `PTRACE_SYSEMU` skips them before
//! seccomp runs. It sees only what the stub executes for real, which should
//! be nothing but the calls the platform injects from the trampoline page. So
//! the filter allows a short list of calls, and only when the instruction
//! pointer is inside the trampoline page; anything else kills the stub
//! process.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use super::stub::{STUB_BASE, STUB_SIZE};
use super::PlatformError;

/// The calls the platform injects into stubs, each with its reason.
const ALLOWED: &[(i64, &str)] = &[
    (
        libc::SYS_mmap,
        "mm: map anonymous memory and program images",
    ),
    (
        libc::SYS_munmap,
        "mm: unmap; execve clears the address space",
    ),
    (libc::SYS_mprotect, "mm: mprotect and segment protections"),
    (libc::SYS_mremap, "mm: mremap"),
    (libc::SYS_madvise, "mm: MADV_DONTNEED and friends"),
    (libc::SYS_msync, "mm: msync of shared mappings"),
    (libc::SYS_mlock, "mm: mlock family"),
    (libc::SYS_munlock, "mm: mlock family"),
    (
        libc::SYS_clone,
        "kernel: fork/vfork/clone of the address space or a thread",
    ),
    (
        libc::SYS_pause,
        "new children park in the trampoline until seized",
    ),
    (
        libc::SYS_restart_syscall,
        "a parked child's pause restarted by the host",
    ),
    (libc::SYS_exit, "a workload thread's host thread ends"),
    (libc::SYS_exit_group, "the stub process ends"),
    (
        libc::SYS_recvmsg,
        "mm: receive a host fd to map a file (fd passing)",
    ),
    (
        libc::SYS_close,
        "mm/fs: close the received fd after mapping it or reading it",
    ),
    (
        libc::SYS_pread64,
        "fs: large reads of a donated host file straight into workload memory",
    ),
    (
        libc::SYS_pwrite64,
        "fs: large writes to a donated host file straight from workload memory",
    ),
];

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JA: u16 = 0x05;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Offset of `instruction_pointer` in `struct seccomp_data`.
const IP_OFFSET: u32 = 8;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> seccompiler::sock_filter {
    seccompiler::sock_filter { code, jt, jf, k }
}

/// Builds the stub filter: an instruction-pointer check written here,
/// followed by the syscall allowlist compiled by `seccompiler`.
pub fn stub_filter() -> Result<BpfProgram, PlatformError> {
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        ALLOWED.iter().map(|(nr, _why)| (*nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )
    .map_err(|e| PlatformError::Seccomp(e.to_string()))?;
    let allowlist: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| PlatformError::Seccomp(e.to_string()))?;
    let hi = (STUB_BASE >> 32) as u32;
    let lo = STUB_BASE as u32;
    let mut prog = vec![
        ins(BPF_LD_W_ABS, 0, 0, IP_OFFSET + 4),      // 0: A = ip >> 32
        ins(BPF_JEQ_K, 0, 4, hi),                    // 1: != hi -> 6 (kill)
        ins(BPF_LD_W_ABS, 0, 0, IP_OFFSET),          // 2: A = ip & 0xffffffff
        ins(BPF_JGE_K, 0, 2, lo),                    // 3: < lo -> 6 (kill)
        ins(BPF_JGE_K, 1, 0, lo + STUB_SIZE as u32), // 4: >= end -> 6 (kill)
        ins(BPF_JA, 0, 0, 1),                        // 5: -> 7 (allowlist)
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS), // 6
    ];
    prog.extend(allowlist);
    Ok(prog)
}
