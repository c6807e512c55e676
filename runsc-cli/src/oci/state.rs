//! Container state on disk.
//!
//! Each container has a directory `<root>/<id>/` holding `state.json`
//! (replaced atomically: temp file, fsync, rename), `lock` (every command
//! that reads and then changes the state holds an exclusive `flock` on it)
//! and `control.sock` (the boot process's control socket).
//!
//! The recorded status is only `created` or `running`; whether the container
//! is `stopped` is derived: its boot process (pid + start time from
//! `/proc/PID/stat`, so a recycled pid is not mistaken for it) is gone or a
//! zombie.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

/// The OCI runtime-spec version rvisor reports in `state`.
pub const OCI_VERSION: &str = "1.0.2";

/// A container's life-cycle status (OCI runtime spec).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, waiting for `start`.
    Created,
    /// Started.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The boot process is gone.
    Stopped,
}

impl Status {
    /// The OCI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What `state.json` records.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct State {
    /// Container id.
    pub id: String,
    /// Absolute bundle directory.
    pub bundle: PathBuf,
    /// Absolute root file system directory.
    pub rootfs: PathBuf,
    /// Host pid of the boot process (the sandbox).
    pub pid: i32,
    /// Its start time (`/proc/PID/stat` field 22, clock ticks after boot).
    pub pid_start: u64,
    /// Recorded status: created or running.
    pub status: Status,
    /// Creation time, RFC 3339 (UTC).
    pub created: String,
    /// Annotations from config.json.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Owner (user name of the creator, like runc's `list`).
    #[serde(default)]
    pub owner: String,
    /// The sandbox's host cgroup.
    #[serde(default)]
    pub cgroup: Option<super::cgroup::Cgroup>,
}

impl State {
    /// The status with `stopped` derived from the boot process being gone.
    pub fn effective_status(&self) -> Status {
        if self.status == Status::Stopped || !pid_alive(self.pid, self.pid_start) {
            Status::Stopped
        } else {
            self.status
        }
    }

    /// The OCI state document (`rvisor state` / `list --format json`).
    pub fn oci_json(&self) -> serde_json::Value {
        let status = self.effective_status();
        let pid = if status == Status::Stopped {
            0
        } else {
            self.pid
        };
        serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }
}

/// Checks a container id the way runc does: letters, digits and `_+-.`,
/// not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if !ok {
        bail!("invalid container id {id:?}: use letters, digits, '_', '+', '-' and '.'");
    }
    Ok(())
}

/// A container directory with its lock held (released on drop).
pub struct ContainerDir {
    /// `<root>/<id>`.
    pub dir: PathBuf,
    _lock: Flock<File>,
}

fn lock_file(dir: &Path) -> Result<Flock<File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join("lock"))
        .with_context(|| format!("opening {}/lock", dir.display()))?;
    Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("locking {}/lock", dir.display()))
}

impl ContainerDir {
    /// Creates `<root>/<id>` (failing if it exists) and locks it.
    pub fn create_new(root: &Path, id: &str) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .with_context(|| format!("creating the state root {}", root.display()))?;
        let dir = root.join(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container with id {id} already exists")
            }
            Err(e) => {
                return Err(e).with_context(|| format!("creating {}", dir.display()));
            }
        }
        let lock = lock_file(&dir)?;
        Ok(ContainerDir { dir, _lock: lock })
    }

    /// Locks the existing `<root>/<id>`; None if there is no such directory.
    pub fn open(root: &Path, id: &str) -> Result<Option<Self>> {
        validate_id(id)?;
        let dir = root.join(id);
        if !dir.is_dir() {
            return Ok(None);
        }
        let lock = lock_file(&dir)?;
        Ok(Some(ContainerDir { dir, _lock: lock }))
    }

    /// Locks `<root>/<id>` and reads its state; errors if it does not exist.
    pub fn open_existing(root: &Path, id: &str) -> Result<(Self, State)> {
        let Some(d) = Self::open(root, id)? else {
            bail!("container {id} does not exist");
        };
        let Some(st) = d.read()? else {
            bail!("container {id} does not exist");
        };
        Ok((d, st))
    }

    /// The recorded state; None if `state.json` was never written.
    pub fn read(&self) -> Result<Option<State>> {
        read_state(&self.dir)
    }

    /// Replaces `state.json` atomically.
    pub fn write(&self, st: &State) -> Result<()> {
        let data = serde_json::to_vec(st).context("encoding the state")?;
        write_atomic(&self.dir.join("state.json"), &data, 0o600)
    }
}

/// Reads `<dir>/state.json` without locking (it is only ever replaced by
/// rename, so a reader sees a whole file).
pub fn read_state(dir: &Path) -> Result<Option<State>> {
    let path = dir.join("state.json");
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(
            serde_json::from_slice(&b).with_context(|| format!("parsing {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `data` to `path` atomically: a temp file beside it, fsync,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", path.display()))
}

/// State letter and start time of host process `pid` (`/proc/PID/stat`
/// fields 3 and 22).
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    if pid <= 0 {
        return None;
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may contain spaces and ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 is fields[19].
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// The parent pid of host process `pid` (field 4).
pub fn proc_ppid(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is a live (non-zombie) process started at `start`.
pub fn pid_alive(pid: i32, start: u64) -> bool {
    matches!(proc_stat(pid), Some((st, s)) if s == start && st != 'Z' && st != 'X')
}

/// Blocks until host process `pid` (started at `start`) has exited (or
/// is a zombie). Returns at once if it is already gone. Uses a pidfd, so
/// the caller need not be its parent and a recycled pid is not waited on.
pub fn wait_for_exit(pid: i32, start: u64) -> Result<()> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(e).context("pidfd_open");
    }
    // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
    // The pid may have been reused between reading the state and opening
    // the pidfd: only wait if it is still the recorded process.
    if !pid_alive(pid, start) {
        return Ok(());
    }
    loop {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd on the stack.
        let n = unsafe { libc::poll(&mut p, 1, -1) };
        if n > 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if n < 0 && e.raw_os_error() != Some(libc::EINTR) {
            return Err(e).context("poll on a pidfd");
        }
    }
}

/// Sends SIGKILL to the boot process (if it is still the recorded one) and
/// waits up to `timeout` for it to die.
pub fn kill_and_wait(pid: i32, start: u64, timeout: Duration) -> Result<()> {
    if !pid_alive(pid, start) {
        return Ok(());
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let deadline = Instant::now() + timeout;
    while pid_alive(pid, start) {
        if Instant::now() >= deadline {
            bail!("process {pid} did not die after SIGKILL");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Now as RFC 3339 with nanoseconds, UTC (`2006-01-02T15:04:05.999999999Z`).
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The name of the current user (for `list`'s OWNER column).
pub fn owner_name() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        assert!(validate_id("..").is_err());
        assert!(validate_id("a/b").is_err());
        assert!(validate_id("").is_err());
    }

    #[test]
    fn own_stat() {
        let pid = std::process::id() as i32;
        let (st, start) = proc_stat(pid).expect("own stat");
        assert_ne!(st, 'Z');
        assert!(pid_alive(pid, start));
        assert!(!pid_alive(pid, start + 1));
    }
}
