//! Confinement of the gofer process.
//!
//! Call [`confine`] in the gofer process *while it is still
//! single-threaded* (unsharing the mount namespace requires it), before
//! [`crate::server::serve`]:
//!
//! 1. Best effort: enter a new mount namespace whose root is the exported
//!    directory (bind-mount it onto itself, `pivot_root` into it, detach the
//!    old root), so the rest of the host file system is not even nameable.
//!    Without `CAP_SYS_ADMIN` this step is skipped with a warning; the
//!    server's walk rules alone keep fids beneath the root.
//! 2. Open the root as an `O_PATH | O_DIRECTORY` fd for `serve`.
//! 3. Clear the umask, so files the sentry creates get exactly the mode it
//!    asks for (it applies the workload's umask itself; the server also
//!    corrects a mode the umask masked, at the cost of an extra call).
//! 4. Set `no_new_privs`.
//! 5. Install the seccomp allowlist from `gofer/seccomp/gofer.json`
//!    ([`install_seccomp`]): anything else kills the process.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, pivot_root};
use seccompiler::{BpfProgram, TargetArch};

use crate::GoferError;

/// The seccomp policy, one JSON rule (with a comment naming the code path
/// that needs it) per allowed system call.
const SECCOMP_JSON: &str = include_str!("../seccomp/gofer.json");

/// The filter's key in [`SECCOMP_JSON`].
const SECCOMP_FILTER: &str = "gofer";

/// Confines the calling (single-threaded) process to `root` and returns an
/// `O_PATH | O_DIRECTORY` fd of it (for a `root` that is not a directory, of
/// a one-entry directory holding it; see [`crate::FILE_EXPORT_NAME`]) to pass to [`crate::server::serve`].
///
/// After this returns, the process may make only the system calls `serve`
/// needs; see the module documentation.
pub fn confine(root: &Path) -> Result<OwnedFd, GoferError> {
    let root = std::fs::canonicalize(root).map_err(|e| GoferError::Sys {
        op: "canonicalize gofer root",
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
    })?;
    let is_dir = std::fs::metadata(&root)
        .map(|m| m.is_dir())
        .map_err(|e| GoferError::Sys {
            op: "stat of the gofer root",
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
        })?;
    let root_fd = if is_dir {
        if pivot_into(&root)? {
            open_dir(Path::new("/"))?
        } else {
            open_dir(&root)?
        }
    } else {
        pivot_into_file(&root)?;
        open_dir(Path::new("/"))?
    };
    nix::sys::stat::umask(Mode::empty());
    nix::sys::prctl::set_no_new_privs().map_err(GoferError::sys("prctl(PR_SET_NO_NEW_PRIVS)"))?;
    install_seccomp()?;
    Ok(root_fd)
}

/// Makes `root` (absolute) the root of a new mount namespace. Returns
/// `Ok(false)`, leaving the process root unchanged, if a step before the
/// pivot fails; fails only if something breaks after the pivot.
fn pivot_into(root: &Path) -> Result<bool, GoferError> {
    let skip = |step: &str, e: nix::errno::Errno| {
        tracing::warn!("gofer: {step} failed ({e}); serving without a private mount namespace");
        Ok(false)
    };
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS) {
        return skip("unshare(CLONE_NEWNS)", e);
    }
    // Our mounts must not propagate back to the host.
    if let Err(e) = mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    ) {
        return skip("making / rslave", e);
    }
    // pivot_root needs the new root to be a mount point other than the
    // current root. Serving "/" itself (rvisor do), the tree is bind-mounted
    // onto a staging directory first: the bind lives only in this private
    // namespace.
    let stage: &Path = if root == Path::new("/") {
        Path::new("/tmp")
    } else {
        root
    };
    if let Err(e) = mount(
        Some(root),
        stage,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        return skip("bind-mounting the root", e);
    }
    if let Err(e) = chdir(stage) {
        return skip("chdir to the root", e);
    }
    // pivot_root(".", ".") stacks the old root on top of the new one, where
    // it can be detached without needing a directory to park it in.
    if let Err(e) = pivot_root(".", ".") {
        return skip("pivot_root", e);
    }
    umount2(".", MntFlags::MNT_DETACH).map_err(GoferError::sys("detaching the old root"))?;
    chdir("/").map_err(GoferError::sys("chdir(/)"))?;
    Ok(true)
}

/// Exports a single non-directory file (a file bind mount): the new mount
/// namespace's root is a small private tmpfs holding one entry,
/// [`crate::FILE_EXPORT_NAME`], onto which `file` is bind-mounted; the tmpfs
/// is then made read-only, so nothing can be created beside the file. Unlike
/// a directory export there is no fallback without a private namespace: the
/// only other way to name the file would expose its siblings.
fn pivot_into_file(file: &Path) -> Result<(), GoferError> {
    unshare(CloneFlags::CLONE_NEWNS)
        .map_err(GoferError::sys("unshare(CLONE_NEWNS) for a file export"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(GoferError::sys("making / rslave"))?;
    let stage = Path::new("/tmp");
    mount(
        Some("none"),
        stage,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=16k,mode=0755"),
    )
    .map_err(GoferError::sys("mounting the staging tmpfs"))?;
    let target = stage.join(crate::FILE_EXPORT_NAME);
    std::fs::File::create(&target).map_err(|e| GoferError::Sys {
        op: "creating the file export's mountpoint",
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    mount(
        Some(file),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(GoferError::sys("bind-mounting the exported file"))?;
    mount(
        None::<&str>,
        stage,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(GoferError::sys("making the staging tmpfs read-only"))?;
    chdir(stage).map_err(GoferError::sys("chdir to the staging tmpfs"))?;
    pivot_root(".", ".").map_err(GoferError::sys("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(GoferError::sys("detaching the old root"))?;
    chdir("/").map_err(GoferError::sys("chdir(/)"))?;
    Ok(())
}

fn open_dir(path: &Path) -> Result<OwnedFd, GoferError> {
    let raw = nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(GoferError::sys("opening the gofer root"))?;
    // SAFETY: open just returned this fd, so it is open and owned by
    // nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Compiles the gofer's seccomp allowlist for the running architecture.
pub fn seccomp_filter() -> Result<BpfProgram, GoferError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(seccompiler::Error::from)?;
    let mut filters = seccompiler::compile_from_json(SECCOMP_JSON.as_bytes(), arch)?;
    filters.remove(SECCOMP_FILTER).ok_or(GoferError::Policy(
        "no \"gofer\" filter in seccomp/gofer.json",
    ))
}

/// Installs the gofer's seccomp allowlist on every thread of the process
/// (and sets `no_new_privs`, which seccomp requires). Any system call
/// outside the list kills the whole process with `SIGSYS`. Irreversible.
pub fn install_seccomp() -> Result<(), GoferError> {
    let filter = seccomp_filter()?;
    seccompiler::apply_filter_all_threads(&filter)?;
    Ok(())
}

/// [`open_dir`] for the crate's unit tests.
#[cfg(test)]
pub(crate) fn tests_open_dir(path: &Path) -> OwnedFd {
    #[allow(clippy::unwrap_used)]
    open_dir(path).unwrap()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn policy_compiles() {
        let filter = seccomp_filter().unwrap();
        assert!(!filter.is_empty());
        assert!(
            filter.len() < 4096,
            "BPF program too long: {}",
            filter.len()
        );
    }

    #[test]
    fn policy_flag_constants_match_libc() {
        // gofer.json spells these openat flags as numbers.
        let tmpfile_only = libc::O_TMPFILE & !libc::O_DIRECTORY;
        assert!(SECCOMP_JSON.contains(&format!("\"masked_eq\": {}", libc::O_CREAT | tmpfile_only)));
        assert!(SECCOMP_JSON.contains(&format!(
            "\"masked_eq\": {}",
            libc::O_CREAT | libc::O_EXCL | tmpfile_only
        )));
        assert!(SECCOMP_JSON.contains(&format!("\"val\": {}", libc::O_CREAT | libc::O_EXCL)));
    }
}
