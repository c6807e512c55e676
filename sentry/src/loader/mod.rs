//! execve: loads an ELF program (static, static-PIE or dynamic through
//! PT_INTERP) or a `#!` script into a fresh address space and builds the
//! initial stack (argv, envp, auxv).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::program_header::{ProgramHeader, PT_INTERP, PT_LOAD, PT_PHDR};
use goblin::elf::Elf;

use crate::fs::vfs::Location;
use crate::fs::{FileOps, OpenFile};
use crate::kernel::signal::{SigAction, SIG_IGN};
use crate::kernel::task::TaskCtx;
use crate::kernel::Creds;
use crate::mm::{self, page_down, page_up, Mm, Vma, VmaName, PAGE};
use crate::platform::ptrace::{unmap_all_but_special, StubThread};
use crate::{Errno, SysResult};

/// Longest single argument or environment string (MAX_ARG_STRLEN).
pub const MAX_ARG_STRLEN: usize = 32 * PAGE as usize;
/// Most argv + envp entries.
pub const MAX_ARG_STRINGS: usize = 0x7FFF_FFFF;
/// Stack size given to new programs.
const STACK_SIZE: u64 = 8 << 20;
/// Where PIE executables go (as Linux without randomization).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Most nested `#!` interpreters.
const MAX_INTERP_DEPTH: u32 = 4;

/// A program file opened for execution.
struct Image {
    file: Arc<dyn FileOps>,
    loc: Location,
    /// The path as the caller named it (argv, AT_EXECFN, `#!` argument).
    path: Vec<u8>,
    /// The canonical path inside the sandbox (/proc/PID/maps).
    shown_path: Vec<u8>,
    /// The exec raises privilege: AT_SECURE (set by [`exec_creds`]).
    secure: bool,
}

fn read_at(f: &dyn FileOps, off: u64, len: usize) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.read(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

fn open_exec(ctx: &TaskCtx, path: &[u8], follow: bool) -> SysResult<Image> {
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    let (root, cwd) = {
        let f = fs.lock().map_err(|_| Errno::EIO)?;
        (f.root.clone(), f.cwd.clone())
    };
    let may_search = crate::syscalls::path::searcher(ctx)?;
    let loc = ctx
        .kernel()
        .vfs
        .resolve_with(&root, &cwd, path, follow, &may_search)?;
    open_exec_at(ctx, loc, path)
}

fn open_exec_at(ctx: &TaskCtx, loc: Location, path: &[u8]) -> SysResult<Image> {
    let attr = loc.attr()?;
    if attr.is_symlink() {
        return Err(Errno::ELOOP);
    }
    if !attr.is_reg() {
        return Err(Errno::EACCES);
    }
    let creds = ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .creds
        .clone();
    if !crate::syscalls::perm::may_exec(&creds, &attr) || loc.mount.noexec() {
        return Err(Errno::EACCES);
    }
    let file = loc.dentry.inode.clone().open(libc::O_RDONLY as u32)?;
    let fs = ctx.task.inner.lock().map_err(|_| Errno::EIO)?.fs.clone();
    let root = fs.lock().map_err(|_| Errno::EIO)?.root.clone();
    let shown_path = ctx.kernel().vfs.path_of(&loc, &root);
    Ok(Image {
        file,
        loc,
        path: path.to_vec(),
        shown_path,
        secure: false,
    })
}

/// The credentials after executing `img` (Linux's bprm_fill_uid and
/// cap_bprm_creds_from_file): the file's set-user-id and set-group-id bits
/// take effect unless its mount is nosuid or the process has
/// no_new_privs; the saved and filesystem ids follow the effective ones;
/// the capability sets are recomputed. Also whether the exec raises
/// privilege (AT_SECURE).
fn exec_creds(ctx: &TaskCtx, img: &Image) -> SysResult<(Creds, bool)> {
    let attr = img.loc.attr()?;
    let g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    let mut c = g.creds.clone();
    let honour = !img.loc.mount.nosuid() && !g.no_new_privs;
    drop(g);
    let (old_euid, old_egid) = (c.euid, c.egid);
    if honour && attr.mode & libc::S_ISUID != 0 {
        c.euid = attr.uid;
    }
    if honour && attr.mode & libc::S_ISGID != 0 && attr.mode & libc::S_IXGRP != 0 {
        c.egid = attr.gid;
    }
    let setid = c.euid != old_euid || c.egid != old_egid;
    c.suid = c.euid;
    c.fsuid = c.euid;
    c.sgid = c.egid;
    c.fsgid = c.egid;
    let (ruid, euid) = (c.uid, c.euid);
    c.caps.on_exec(ruid, euid, setid);
    let secure = setid
        || c.euid != c.uid
        || c.egid != c.gid
        || (c.uid != 0 && c.caps.permitted & !c.caps.ambient != 0);
    Ok((c, secure))
}

struct Loaded {
    entry: u64,
    bias: u64,
    phdr: u64,
    phnum: u64,
    end: u64,
}

fn parse_elf(img: &Image) -> SysResult<(goblin::elf::Header, Vec<ProgramHeader>)> {
    let head = read_at(img.file.as_ref(), 0, 64)?;
    if head.len() < 64 || &head[..4] != b"\x7fELF" {
        return Err(Errno::ENOEXEC);
    }
    let h = Elf::parse_header(&head).map_err(|_| Errno::ENOEXEC)?;
    if h.e_machine != goblin::elf::header::EM_X86_64
        || h.e_ident[goblin::elf::header::EI_CLASS] != goblin::elf::header::ELFCLASS64
        || !(h.e_type == goblin::elf::header::ET_EXEC || h.e_type == goblin::elf::header::ET_DYN)
    {
        return Err(Errno::ENOEXEC);
    }
    if h.e_phentsize as usize != 56 || h.e_phnum == 0 || h.e_phnum > 1024 {
        return Err(Errno::ENOEXEC);
    }
    let ph_bytes = read_at(img.file.as_ref(), h.e_phoff, h.e_phnum as usize * 56)?;
    let ctx = Ctx {
        container: Container::Big,
        le: Endian::Little,
    };
    let phdrs =
        ProgramHeader::parse(&ph_bytes, 0, h.e_phnum as usize, ctx).map_err(|_| Errno::ENOEXEC)?;
    Ok((h, phdrs))
}

fn prot_of(ph: &ProgramHeader) -> u32 {
    let mut p = 0;
    if ph.is_read() {
        p |= libc::PROT_READ;
    }
    if ph.is_write() {
        p |= libc::PROT_WRITE;
    }
    if ph.is_executable() {
        p |= libc::PROT_EXEC;
    }
    p as u32
}

/// Maps the PT_LOAD segments of `img` into the (empty) stub.
fn map_image(
    st: &StubThread,
    mm: &mut mm::MmInner,
    img: &Image,
    h: &goblin::elf::Header,
    phdrs: &[ProgramHeader],
    hint: u64,
) -> SysResult<Loaded> {
    let loads: Vec<&ProgramHeader> = phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    if loads.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let lo = loads
        .iter()
        .map(|p| page_down(p.p_vaddr))
        .min()
        .unwrap_or(0);
    let hi = loads
        .iter()
        .map(|p| p.p_vaddr.checked_add(p.p_memsz).and_then(page_up))
        .try_fold(0u64, |m, v| v.map(|v| m.max(v)))
        .ok_or(Errno::ENOEXEC)?;
    if hi <= lo || hi - lo > (1 << 40) {
        return Err(Errno::ENOEXEC);
    }
    let dynamic = h.e_type == goblin::elf::header::ET_DYN;
    let bias = if dynamic {
        let base = mm::host_mmap(
            st,
            hint,
            hi - lo,
            libc::PROT_NONE as u32,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u32,
        )?;
        mm.insert(Vma {
            start: base,
            end: base + (hi - lo),
            prot: 0,
            shared: false,
            name: VmaName::Anon,
        });
        base.wrapping_sub(lo)
    } else {
        0
    };
    let attr = img.loc.attr()?;
    let shown_path = img.shown_path.clone();
    let mut end = 0;
    for p in &loads {
        let vaddr = bias.wrapping_add(p.p_vaddr);
        let start = page_down(vaddr);
        let seg_end =
            page_up(vaddr.checked_add(p.p_memsz).ok_or(Errno::ENOEXEC)?).ok_or(Errno::ENOEXEC)?;
        if p.p_filesz > p.p_memsz || seg_end <= start || mm::touches_trampoline(start, seg_end) {
            return Err(Errno::ENOEXEC);
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED;
        mm::host_mmap(
            st,
            start,
            seg_end - start,
            (libc::PROT_READ | libc::PROT_WRITE) as u32,
            flags as u32,
        )?;
        // Copy the file part.
        let mut off = 0u64;
        while off < p.p_filesz {
            let chunk = (p.p_filesz - off).min(1 << 20) as usize;
            let data = read_at(img.file.as_ref(), p.p_offset + off, chunk)?;
            if data.is_empty() {
                break;
            }
            mm::fill(st, vaddr + off, &data)?;
            off += data.len() as u64;
        }
        let prot = prot_of(p);
        if prot != (libc::PROT_READ | libc::PROT_WRITE) as u32 {
            mm::host_call(
                st,
                libc::SYS_mprotect,
                [start, seg_end - start, prot as u64, 0, 0, 0],
            )?;
        }
        let file_end = page_up(vaddr + p.p_filesz).unwrap_or(seg_end).min(seg_end);
        let file_start_off = p.p_offset - (vaddr - start);
        mm.insert(Vma {
            start,
            end: file_end.max(start + PAGE).min(seg_end),
            prot,
            shared: false,
            name: VmaName::File {
                path: shown_path.clone(),
                dev: attr.dev,
                ino: attr.ino,
                offset: file_start_off,
                max_prot: (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u32,
            },
        });
        if seg_end > file_end && file_end > start {
            mm.insert(Vma {
                start: file_end,
                end: seg_end,
                prot,
                shared: false,
                name: VmaName::Anon,
            });
        }
        end = end.max(seg_end);
    }
    let phdr = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        Some(p) => bias.wrapping_add(p.p_vaddr),
        None => {
            let first = loads
                .iter()
                .find(|p| p.p_offset <= h.e_phoff && h.e_phoff < p.p_offset + p.p_filesz);
            match first {
                Some(p) => bias.wrapping_add(p.p_vaddr - p.p_offset + h.e_phoff),
                None => 0,
            }
        }
    };
    Ok(Loaded {
        entry: bias.wrapping_add(h.e_entry),
        bias,
        phdr,
        phnum: h.e_phnum as u64,
        end,
    })
}

/// Resolves the `#!` line of a script: (interpreter, optional argument).
fn parse_shebang(head: &[u8]) -> SysResult<(Vec<u8>, Option<Vec<u8>>)> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = &head[2..line_end];
    let line: &[u8] = {
        let s = line
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(line.len());
        let e = line
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t' && b != b'\r')
            .map(|i| i + 1)
            .unwrap_or(0);
        if s >= e {
            &[]
        } else {
            &line[s..e]
        }
    };
    if line.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let split = line.iter().position(|&b| b == b' ' || b == b'\t');
    match split {
        None => Ok((line.to_vec(), None)),
        Some(i) => {
            let arg = &line[i..];
            let s = arg
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(arg.len());
            let arg = &arg[s..];
            Ok((
                line[..i].to_vec(),
                if arg.is_empty() {
                    None
                } else {
                    Some(arg.to_vec())
                },
            ))
        }
    }
}

/// Replaces the calling task's program. On success the task's registers
/// point at the new program's entry and the call does not return to the
/// old image.
pub fn execve(
    ctx: &mut TaskCtx,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult<()> {
    let img = open_exec(ctx, path, true)?;
    execve_image(ctx, img, argv, envp, 0)
}

/// execveat with an already resolved location.
pub fn execve_loc(
    ctx: &mut TaskCtx,
    loc: Location,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult<()> {
    let img = open_exec_at(ctx, loc, path)?;
    execve_image(ctx, img, argv, envp, 0)
}

fn execve_image(
    ctx: &mut TaskCtx,
    mut img: Image,
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    depth: u32,
) -> SysResult<()> {
    // Size limits, as Linux checks them (E2BIG).
    let total: usize = argv
        .iter()
        .chain(envp.iter())
        .map(|s| s.len() + 1 + 8)
        .sum();
    let stack_lim = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| g.rlimits[libc::RLIMIT_STACK as usize].0)
        .unwrap_or(8 << 20);
    let arg_max = (stack_lim / 4).clamp(128 * 1024, 6 << 20) as usize;
    if total > arg_max
        || argv
            .iter()
            .chain(envp.iter())
            .any(|s| s.len() + 1 > MAX_ARG_STRLEN)
        || argv.len() + envp.len() > MAX_ARG_STRINGS
    {
        return Err(Errno::E2BIG);
    }
    let head = read_at(img.file.as_ref(), 0, 256)?;
    if head.starts_with(b"#!") {
        if depth >= MAX_INTERP_DEPTH {
            return Err(Errno::ELOOP);
        }
        let (interp, arg) = parse_shebang(&head)?;
        let mut new_argv = vec![interp.clone()];
        if let Some(a) = arg {
            new_argv.push(a);
        }
        new_argv.push(img.path.clone());
        new_argv.extend(argv.drain(..).skip(1));
        let interp_img = open_exec(ctx, &interp, true)?;
        return execve_image(ctx, interp_img, new_argv, envp, depth + 1);
    }
    let (h, phdrs) = parse_elf(&img)?;
    let interp = match phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        Some(p) => {
            if p.p_filesz == 0 || p.p_filesz > 4096 {
                return Err(Errno::ENOEXEC);
            }
            let mut name = read_at(img.file.as_ref(), p.p_offset, p.p_filesz as usize)?;
            if let Some(z) = name.iter().position(|&b| b == 0) {
                name.truncate(z);
            }
            let i = open_exec(ctx, &name, true)?;
            let (ih, iph) = parse_elf(&i).map_err(|_| Errno::ELIBBAD)?;
            Some((i, ih, iph))
        }
        None => None,
    };

    let (creds, secure) = exec_creds(ctx, &img)?;
    img.secure = secure;

    // ---- point of no return ----
    if let Ok(mut g) = ctx.task.tg.inner.lock() {
        g.creds = creds;
    }
    de_thread(ctx);
    new_address_space(ctx)?;
    let mut inner = mm::MmInner::default();
    let main = map_image(&ctx.stub, &mut inner, &img, &h, &phdrs, PIE_BASE)?;
    let (entry, base) = match &interp {
        Some((i, ih, iph)) => {
            let l = map_image(&ctx.stub, &mut inner, i, ih, iph, 0)?;
            (l.entry, l.bias)
        }
        None => (main.entry, 0),
    };
    let sp = build_stack(ctx, &mut inner, &img, &main, entry, base, &argv, &envp)?;
    inner.brk_start = main.end;
    inner.brk = main.end;
    let special = ctx.stub.special();
    if special.vvar_start < special.vdso_start {
        inner.insert(Vma {
            start: special.vvar_start,
            end: special.vdso_start,
            prot: libc::PROT_READ as u32,
            shared: false,
            name: VmaName::Vvar,
        });
    }
    inner.insert(Vma {
        start: special.vdso_start,
        end: special.vdso_end,
        prot: (libc::PROT_READ | libc::PROT_EXEC) as u32,
        shared: false,
        name: VmaName::Vdso,
    });
    let mm = Arc::new(Mm {
        inner: std::sync::Mutex::new(inner),
    });

    // Registers: a clean slate.
    let mut regs = ctx.stub.scratch_regs();
    regs.rax = 0;
    regs.rbx = 0;
    regs.rcx = 0;
    regs.rdx = 0;
    regs.rsi = 0;
    regs.rdi = 0;
    regs.rbp = 0;
    regs.r8 = 0;
    regs.r9 = 0;
    regs.r10 = 0;
    regs.r11 = 0;
    regs.r12 = 0;
    regs.r13 = 0;
    regs.r14 = 0;
    regs.r15 = 0;
    regs.rip = entry;
    regs.rsp = sp;
    regs.fs_base = 0;
    regs.gs_base = 0;
    regs.orig_rax = u64::MAX;
    regs.eflags = 0x202;
    ctx.regs = regs;
    // SAFETY: user_fpregs_struct is plain integers; all-zero is valid.
    let mut fp: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
    fp.cwd = 0x37f;
    fp.mxcsr = 0x1f80;
    fp.mxcr_mask = 0xffff;
    let _ = ctx.stub.set_fpregs(&fp);

    // Process state changes that execve makes.
    let files = {
        let mut i = ctx.task.inner.lock().map_err(|_| Errno::EIO)?;
        i.mm = mm;
        i.comm = crate::kernel::comm_from(&img.path);
        if i.altstack.ss_flags & libc::SS_DISABLE == 0 {
            i.altstack = rvisor_syscalls::abi::StackT {
                ss_flags: libc::SS_DISABLE,
                ..Default::default()
            };
        }
        if let Some(c) = i.vfork_done.take() {
            c.complete();
        }
        i.files.clone()
    };
    // Closing a descriptor drops the process's POSIX record locks on its
    // file, and execve's closing of FD_CLOEXEC descriptors is no exception.
    let closed = files.close_on_exec();
    for e in &closed {
        crate::syscalls::file::release_posix_locks(ctx, &e.file);
    }
    drop(closed);
    if let Ok(mut a) = ctx.task.tg.actions.lock() {
        for act in a.iter_mut() {
            if act.handler != SIG_IGN {
                *act = SigAction::default();
            }
        }
    }
    if let Ok(mut g) = ctx.task.tg.inner.lock() {
        g.exe = Some(img.loc.clone());
        g.did_exec = true;
    }
    Ok(())
}

/// Makes the calling task the only thread of its process (execve).
fn de_thread(ctx: &mut TaskCtx) {
    let others: Vec<_> = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| {
            g.threads
                .iter()
                .filter(|t| t.tid != ctx.task.tid)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if others.is_empty() {
        return;
    }
    for t in &others {
        t.killed.store(true, Ordering::SeqCst);
        t.interrupt();
    }
    let _r = ctx.task.tg.child_events.register(&ctx.task.waker);
    loop {
        let n = ctx
            .task
            .tg
            .inner
            .lock()
            .map(|g| g.threads.len())
            .unwrap_or(1);
        if n <= 1 {
            break;
        }
        ctx.task.waker.wait(
            &[],
            Some(std::time::Instant::now() + std::time::Duration::from_millis(5)),
        );
    }
}

/// Gives the task an empty address space: in place if nobody shares it,
/// else in a new stub process forked from the current one.
fn new_address_space(ctx: &mut TaskCtx) -> SysResult<()> {
    let shared = ctx
        .task
        .inner
        .lock()
        .map(|i| Arc::strong_count(&i.mm) > 1)
        .unwrap_or(false);
    let special = ctx.stub.special();
    if shared {
        let child = ctx
            .stub
            .inject_clone(libc::SIGCHLD as u64)
            .map_err(|_| Errno::ENOMEM)?;
        let scratch = ctx.stub.scratch_regs();
        let new = StubThread::seize(child, child, scratch, special).map_err(|_| Errno::ENOMEM)?;
        let old = std::mem::replace(&mut ctx.stub, new);
        old.detach_and_exit();
        ctx.task.set_host(&ctx.stub);
        ctx.stub.pin_with_tracer();
    }
    unmap_all_but_special(&ctx.stub, &special).map_err(|_| Errno::ENOMEM)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build_stack(
    ctx: &TaskCtx,
    mm: &mut mm::MmInner,
    img: &Image,
    main: &Loaded,
    _entry: u64,
    interp_base: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> SysResult<u64> {
    let st = &ctx.stub;
    let base = mm::host_mmap(
        st,
        0,
        STACK_SIZE,
        (libc::PROT_READ | libc::PROT_WRITE) as u32,
        (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as u32,
    )?;
    let top = base + STACK_SIZE;
    mm.insert(Vma {
        start: base,
        end: top,
        prot: (libc::PROT_READ | libc::PROT_WRITE) as u32,
        shared: false,
        name: VmaName::Stack,
    });

    // Strings area, built downward from the top.
    let mut strings: Vec<u8> = Vec::new();
    let mut offsets_argv = Vec::with_capacity(argv.len());
    for a in argv {
        offsets_argv.push(strings.len());
        strings.extend_from_slice(a);
        strings.push(0);
    }
    let argv_len = strings.len();
    let mut offsets_env = Vec::with_capacity(envp.len());
    for e in envp {
        offsets_env.push(strings.len());
        strings.extend_from_slice(e);
        strings.push(0);
    }
    let env_end = strings.len();
    let execfn_off = strings.len();
    strings.extend_from_slice(&img.path);
    strings.push(0);
    let platform_off = strings.len();
    strings.extend_from_slice(b"x86_64\0");
    let random_off = strings.len();
    let mut rnd = [0u8; 16];
    let _ = getrandom_host(&mut rnd);
    strings.extend_from_slice(&rnd);
    let strings_start = (top - 8 - strings.len() as u64) & !15;
    let creds = ctx
        .task
        .tg
        .inner
        .lock()
        .map(|g| g.creds.clone())
        .unwrap_or_default();

    // SAFETY: getauxval only reads the sentry's own auxiliary vector.
    let (hwcap, hwcap2, minsig) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
            libc::getauxval(51),
        )
    };
    let mut auxv: Vec<(u64, u64)> = vec![
        (libc::AT_SYSINFO_EHDR, ctx.stub.special().vdso_start),
        (51, minsig.max(2048)),
        (libc::AT_HWCAP, hwcap),
        (libc::AT_PAGESZ, PAGE),
        (libc::AT_CLKTCK, 100),
        (libc::AT_PHDR, main.phdr),
        (libc::AT_PHENT, 56),
        (libc::AT_PHNUM, main.phnum),
        (libc::AT_BASE, interp_base),
        (libc::AT_FLAGS, 0),
        (libc::AT_ENTRY, main.entry),
        (libc::AT_UID, creds.uid as u64),
        (libc::AT_EUID, creds.euid as u64),
        (libc::AT_GID, creds.gid as u64),
        (libc::AT_EGID, creds.egid as u64),
        (libc::AT_SECURE, u64::from(img.secure)),
        (libc::AT_RANDOM, strings_start + random_off as u64),
        (libc::AT_HWCAP2, hwcap2),
        (libc::AT_EXECFN, strings_start + execfn_off as u64),
        (libc::AT_PLATFORM, strings_start + platform_off as u64),
    ];
    let _ = main.bias;
    auxv.push((libc::AT_NULL, 0));
    let words = 1 + argv.len() + 1 + envp.len() + 1 + auxv.len() * 2;
    let mut sp = strings_start - (words as u64) * 8;
    sp &= !15;
    if sp < base + PAGE {
        return Err(Errno::E2BIG);
    }
    let mut table: Vec<u8> = Vec::with_capacity(words * 8);
    table.extend_from_slice(&(argv.len() as u64).to_le_bytes());
    for o in &offsets_argv {
        table.extend_from_slice(&(strings_start + *o as u64).to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for o in &offsets_env {
        table.extend_from_slice(&(strings_start + *o as u64).to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for (k, v) in &auxv {
        table.extend_from_slice(&k.to_le_bytes());
        table.extend_from_slice(&v.to_le_bytes());
    }
    mm::fill(st, strings_start, &strings)?;
    mm::fill(st, sp, &table)?;
    mm.arg_range = (strings_start, strings_start + argv_len as u64);
    mm.env_range = (
        strings_start + argv_len as u64,
        strings_start + env_end as u64,
    );
    mm.auxv = auxv;
    Ok(sp)
}

fn getrandom_host(buf: &mut [u8]) -> bool {
    // SAFETY: getrandom writes at most buf.len() bytes into buf.
    let r = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    r == buf.len() as isize
}

/// Reads a whole (small) file for the loader's callers.
pub fn read_file(f: &OpenFile, max: usize) -> SysResult<Vec<u8>> {
    read_at(f.ops.as_ref(), 0, max)
}
