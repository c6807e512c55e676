//! The memory manager: the sentry's record of a workload address space.
//!
//! Design ("the stub owns its memory"): anonymous memory is the stub
//! process's own host memory, created by injecting `mmap` into the stub;
//! the sentry reads and writes it with `process_vm_readv`/`writev`; fork is
//! a host fork of the stub, so copy-on-write comes from the host kernel.
//! Private file mappings are anonymous host memory filled by the sentry from
//! the file. The host kernel picks addresses; the sentry keeps the VMA list
//! (for /proc/PID/maps, brk, validation and refusing to touch the
//! trampoline).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::platform::ptrace::StubThread;
use crate::platform::stub::{STUB_BASE, STUB_SIZE};
use crate::{Errno, SysResult};

/// Page size.
pub const PAGE: u64 = 4096;
/// Top of the user address space (47-bit).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// Rounds up to a page (None on overflow).
pub fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// Rounds down to a page.
pub fn page_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// What a mapping shows as in /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaName {
    /// Anonymous.
    Anon,
    /// A file: path, device, inode, offset of the mapping's start.
    File {
        /// Path as opened.
        path: Vec<u8>,
        /// Device number.
        dev: u64,
        /// Inode number.
        ino: u64,
        /// File offset of `start`.
        offset: u64,
        /// The PROT_* bits mprotect may grant (Linux's VM_MAYWRITE and
        /// VM_MAYEXEC): no PROT_WRITE for a shared mapping of a file not
        /// open for writing, no PROT_EXEC for a file on a noexec mount.
        max_prot: u32,
    },
    /// The brk heap.
    Heap,
    /// The main thread's stack.
    Stack,
    /// The vDSO.
    Vdso,
    /// The vvar pages.
    Vvar,
}

/// One mapping.
#[derive(Debug, Clone)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// PROT_* bits.
    pub prot: u32,
    /// MAP_SHARED.
    pub shared: bool,
    /// What it is.
    pub name: VmaName,
}

/// Mutable address-space state.
#[derive(Default)]
pub struct MmInner {
    /// Mappings by start address.
    pub vmas: BTreeMap<u64, Vma>,
    /// Start of the brk heap.
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// argv range (for /proc/PID/cmdline).
    pub arg_range: (u64, u64),
    /// envp range (for /proc/PID/environ).
    pub env_range: (u64, u64),
    /// AT_* auxiliary vector as given to the program.
    pub auxv: Vec<(u64, u64)>,
}

/// An address space (shared by CLONE_VM).
#[derive(Default)]
pub struct Mm {
    /// Mutable state.
    pub inner: Mutex<MmInner>,
}

impl MmInner {
    /// Removes [start, end) from the VMA list, splitting as needed.
    pub fn remove_range(&mut self, start: u64, end: u64) {
        let overlapping: Vec<u64> = self
            .vmas
            .range(..end)
            .filter(|(_, v)| v.end > start)
            .map(|(k, _)| *k)
            .collect();
        for k in overlapping {
            let Some(v) = self.vmas.remove(&k) else {
                continue;
            };
            if v.start < start {
                let mut left = v.clone();
                left.end = start;
                self.vmas.insert(left.start, left);
            }
            if v.end > end {
                let mut right = v.clone();
                if let VmaName::File { offset, .. } = &mut right.name {
                    *offset += end - v.start;
                }
                right.start = end;
                self.vmas.insert(right.start, right);
            }
        }
    }

    /// Records a new mapping, replacing what was there.
    pub fn insert(&mut self, vma: Vma) {
        self.remove_range(vma.start, vma.end);
        self.vmas.insert(vma.start, vma);
    }

    /// Changes protections on [start, end), splitting as needed. ENOMEM if
    /// part of the range is unmapped.
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) -> SysResult<()> {
        if !self.is_mapped(start, end) {
            return Err(Errno::ENOMEM);
        }
        let parts: Vec<Vma> = self
            .vmas
            .range(..end)
            .filter(|(_, v)| v.end > start)
            .map(|(_, v)| v.clone())
            .collect();
        for v in parts {
            let s = v.start.max(start);
            let e = v.end.min(end);
            let mut nv = v.clone();
            if let VmaName::File { offset, .. } = &mut nv.name {
                *offset += s - v.start;
            }
            nv.start = s;
            nv.end = e;
            nv.prot = prot;
            self.insert(nv);
        }
        Ok(())
    }

    /// EACCES if a file mapping in [start, end) may not get `prot` (see
    /// `VmaName::File::max_prot`).
    pub fn check_protect(&self, start: u64, end: u64, prot: u32) -> SysResult<()> {
        let denied = self.vmas.range(..end).filter(|(_, v)| v.end > start).any(
            |(_, v)| matches!(v.name, VmaName::File { max_prot, .. } if prot & !max_prot != 0),
        );
        if denied {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// True if every page of [start, end) is mapped.
    pub fn is_mapped(&self, start: u64, end: u64) -> bool {
        let mut cur = start;
        for (_, v) in self.vmas.range(..end) {
            if v.end <= cur {
                continue;
            }
            if v.start > cur {
                return false;
            }
            cur = v.end;
            if cur >= end {
                return true;
            }
        }
        cur >= end
    }

    /// The mapping containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
    }
}

/// True if [start, end) touches the trampoline page, which the workload may
/// never map over, unmap or reprotect.
pub fn touches_trampoline(start: u64, end: u64) -> bool {
    start < STUB_BASE + STUB_SIZE && end > STUB_BASE
}

/// Injects `mmap` into the stub and returns the address or errno.
pub fn host_mmap(st: &StubThread, addr: u64, len: u64, prot: u32, flags: u32) -> SysResult<u64> {
    let r = st
        .inject(
            libc::SYS_mmap,
            [addr, len, prot as u64, flags as u64, u64::MAX, 0],
        )
        .map_err(|_| Errno::EFAULT)?;
    if r < 0 {
        return Err(Errno::new((-r) as i32));
    }
    let a = r as u64;
    if touches_trampoline(a, a.saturating_add(len)) {
        let _ = st.inject(libc::SYS_munmap, [a, len, 0, 0, 0, 0]);
        return Err(Errno::ENOMEM);
    }
    Ok(a)
}

/// Maps `len` bytes of the host file `fd` at `off` into the stub (fd
/// passing); returns the address or errno.
pub fn host_mmap_fd(
    st: &StubThread,
    fd: i32,
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
    off: u64,
) -> SysResult<u64> {
    let a = match st.map_host_fd(fd, addr, len, prot, flags, off) {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return Err(Errno::new(e)),
        Err(e) => {
            tracing::warn!("mapping a host file into the stub failed: {e}");
            return Err(Errno::EIO);
        }
    };
    if touches_trampoline(a, a.saturating_add(len)) {
        let _ = st.inject(libc::SYS_munmap, [a, len, 0, 0, 0, 0]);
        return Err(Errno::ENOMEM);
    }
    Ok(a)
}

/// Injects a call that returns 0 or -errno.
pub fn host_call(st: &StubThread, nr: i64, args: [u64; 6]) -> SysResult<u64> {
    let r = st.inject(nr, args).map_err(|_| Errno::EFAULT)?;
    if r < 0 {
        return Err(Errno::new((-r) as i32));
    }
    Ok(r as u64)
}

/// Writes `data` into the stub at `addr` in chunks; EFAULT if short.
pub fn fill(st: &StubThread, addr: u64, data: &[u8]) -> SysResult<()> {
    if st.write_mem(addr, data) != data.len() {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// Formats one /proc/PID/maps line.
pub fn maps_line(v: &Vma) -> String {
    let r = if v.prot & libc::PROT_READ as u32 != 0 {
        'r'
    } else {
        '-'
    };
    let w = if v.prot & libc::PROT_WRITE as u32 != 0 {
        'w'
    } else {
        '-'
    };
    let x = if v.prot & libc::PROT_EXEC as u32 != 0 {
        'x'
    } else {
        '-'
    };
    let p = if v.shared { 's' } else { 'p' };
    let (off, dev, ino, name) = match &v.name {
        VmaName::Anon => (0, 0, 0, String::new()),
        VmaName::File {
            path,
            dev,
            ino,
            offset,
            ..
        } => (
            *offset,
            *dev,
            *ino,
            String::from_utf8_lossy(path).into_owned(),
        ),
        VmaName::Heap => (0, 0, 0, "[heap]".into()),
        VmaName::Stack => (0, 0, 0, "[stack]".into()),
        VmaName::Vdso => (0, 0, 0, "[vdso]".into()),
        VmaName::Vvar => (0, 0, 0, "[vvar]".into()),
    };
    let major = (dev >> 8) & 0xfff;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    let head = format!(
        "{:08x}-{:08x} {r}{w}{x}{p} {:08x} {:02x}:{:02x} {}",
        v.start, v.end, off, major, minor, ino
    );
    if name.is_empty() {
        format!("{head} \n")
    } else {
        format!("{head:<72} {name}\n")
    }
}
