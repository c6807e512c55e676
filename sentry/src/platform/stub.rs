//! The stub: the host process that holds a workload's address space.
//!
//! A stub starts as a tiny static ELF that rvisor builds in memory (no file on
//! disk): one read+execute page at [`STUB_BASE`] holding the *trampoline*, the
//! only code the platform ever runs in the stub on its own behalf:
//!
//! ```text
//! TRAMP+0x00      syscall ; int3          <- generic injected call, traps after
//! TRAMP+0x10      syscall                  <- injected fork/clone
//!                 test rax, rax
//!                 jnz  parent
//! child_loop:     mov eax, SYS_pause       <- new child/thread parks here
//!                 syscall                     until its sentry thread seizes it
//!                 jmp child_loop
//! parent:         int3
//! ```
//!
//! Everything else in the stub's address space belongs to the workload.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

/// Where the trampoline page is mapped in every stub. Far from where Linux
/// places executables (0x400000, 0x55..), mmap areas and stacks (0x7f..).
pub const STUB_BASE: u64 = 0x2000_0000_0000;
/// Size of the platform's reserved region: the trampoline page and, after
/// it, one read-write scratch page for injected calls' arguments.
pub const STUB_SIZE: u64 = 0x2000;
/// The read-write scratch page (message headers for fd passing).
pub const STUB_SCRATCH: u64 = STUB_BASE + 0x1000;
/// The descriptor number where every stub holds its end of the fd-passing
/// socket.
pub const STUB_SOCK_FD: i32 = 100;
/// The trampoline code sits at this offset from `STUB_BASE` in the stub
/// image (after the ELF and program headers).
pub const CODE_OFFSET: u64 = 0x100;
/// Address of the generic `syscall; int3` sequence.
pub const TRAMP_SYSCALL: u64 = STUB_BASE + CODE_OFFSET;
/// Address of the fork/clone sequence whose child parks in a pause loop.
pub const TRAMP_FORK: u64 = TRAMP_SYSCALL + 0x10;
/// Address of the child's pause loop (also the ELF entry point).
pub const TRAMP_CHILD_LOOP: u64 = TRAMP_FORK + 7;

/// The trampoline's machine code, placed at offset 0 of the stub page.
fn trampoline_code() -> Vec<u8> {
    let mut code = vec![0x0f, 0x05, 0xcc]; // syscall; int3
    code.resize(0x10, 0xcc);
    // TRAMP_FORK:
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
    code.extend_from_slice(&[0x48, 0x85, 0xc0]); // test rax, rax
    code.extend_from_slice(&[0x75, 0x09]); // jnz +9 -> parent
                                           // child_loop (TRAMP_FORK + 7):
    code.extend_from_slice(&[0xb8, 0x22, 0x00, 0x00, 0x00]); // mov eax, 34 (pause)
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
    code.extend_from_slice(&[0xeb, 0xf7]); // jmp child_loop (-9)
                                           // parent:
    code.push(0xcc); // int3
    code
}

/// Builds the stub executable: an ELF64 header, one PT_LOAD program header
/// and the trampoline, laid out so that file offset 0 maps at [`STUB_BASE`].
pub fn stub_elf() -> Vec<u8> {
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    const CODE_OFF: usize = CODE_OFFSET as usize;
    let code = trampoline_code();
    let mut elf = vec![0u8; CODE_OFF];
    // e_ident
    elf[0..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // ELFCLASS64
    elf[5] = 1; // little endian
    elf[6] = 1; // EV_CURRENT
    let put16 =
        |b: &mut Vec<u8>, off: usize, v: u16| b[off..off + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let put64 =
        |b: &mut Vec<u8>, off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put16(&mut elf, 16, 2); // ET_EXEC
    put16(&mut elf, 18, 62); // EM_X86_64
    put32(&mut elf, 20, 1); // EV_CURRENT
    put64(&mut elf, 24, TRAMP_CHILD_LOOP); // e_entry
    put64(&mut elf, 32, EHDR as u64); // e_phoff
    put64(&mut elf, 40, 0); // e_shoff
    put32(&mut elf, 48, 0); // e_flags
    put16(&mut elf, 52, EHDR as u16); // e_ehsize
    put16(&mut elf, 54, PHDR as u16); // e_phentsize
    put16(&mut elf, 56, 2); // e_phnum
                            // Program header: PT_LOAD R+X covering the whole file.
    let total = (CODE_OFF + code.len()) as u64;
    let p = EHDR;
    put32(&mut elf, p, 1); // PT_LOAD
    put32(&mut elf, p + 4, 5); // PF_R | PF_X
    put64(&mut elf, p + 8, 0); // p_offset
    put64(&mut elf, p + 16, STUB_BASE); // p_vaddr
    put64(&mut elf, p + 24, STUB_BASE); // p_paddr
    put64(&mut elf, p + 32, total); // p_filesz
    put64(&mut elf, p + 40, total); // p_memsz
    put64(&mut elf, p + 48, 0x1000); // p_align
                                     // Program header: PT_LOAD R+W scratch page (no file bytes).
    let p = EHDR + PHDR;
    put32(&mut elf, p, 1); // PT_LOAD
    put32(&mut elf, p + 4, 6); // PF_R | PF_W
    put64(&mut elf, p + 8, 0); // p_offset
    put64(&mut elf, p + 16, STUB_SCRATCH); // p_vaddr
    put64(&mut elf, p + 24, STUB_SCRATCH); // p_paddr
    put64(&mut elf, p + 32, 0); // p_filesz
    put64(&mut elf, p + 40, 0x1000); // p_memsz
    put64(&mut elf, p + 48, 0x1000); // p_align
    elf.extend_from_slice(&code);
    elf
}

/// Writes the stub ELF into a sealed memfd that can be executed with
/// `execveat(fd, "", AT_EMPTY_PATH)`.
pub fn stub_memfd() -> std::io::Result<OwnedFd> {
    use std::io::Write;
    let name = CString::new("rvisor-stub").map_err(std::io::Error::other)?;
    let fd = nix::sys::memfd::memfd_create(&name, nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&stub_elf())?;
    let _ = file.as_raw_fd();
    Ok(OwnedFd::from(file))
}
