//! Shared helpers for rvisor end-to-end tests.
//!
//! * [`rvisor_bin`] finds the binary under test (`RVISOR_BIN`, else
//!   `target/release/rvisor`, else `target/debug/rvisor`).
//! * [`rvisor_do`] runs `rvisor do ARGS...` with a hard timeout.
//! * [`compile_c`] builds one of the programs in `tests/c/` (once per test
//!   binary run) into a directory that the sandbox can see.
//! * [`differential`] runs a program natively and under `rvisor do` and
//!   asserts that stdout and the exit status are identical.
//!
//! Every process is started in its own process group with stdin at
//! `/dev/null`, and killed (the whole group) after [`TIMEOUT`]: no test hangs.
//!
//! Files the sandbox must see live under [`scratch_dir`], never under `/tmp`:
//! inside the sandbox `/tmp` is a fresh, empty tmpfs.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Hard limit for any single process a test starts.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub mod docker;

/// Thin bindings to the few libc functions the harness needs (the C library
/// is linked into every Rust program anyway, so no extra crate is needed).
pub mod sys {
    use std::os::raw::c_int;

    pub const SIGKILL: c_int = 9;
    pub const WNOHANG: c_int = 1;
    pub const PR_SET_CHILD_SUBREAPER: c_int = 36;

    extern "C" {
        fn kill(pid: c_int, sig: c_int) -> c_int;
        fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
        fn prctl(option: c_int, ...) -> c_int;
    }

    /// `kill(pid, sig)`: send one signal; errors (the process is gone) are
    /// ignored.
    pub fn signal(pid: i32, sig: i32) {
        if pid <= 1 {
            return;
        }
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            kill(pid, sig);
        }
    }

    /// `kill(-pgid, SIGKILL)`: kill a whole process group. Errors (e.g. the
    /// group is already gone) are ignored.
    pub fn kill_group(pgid: u32) {
        let Ok(pgid) = c_int::try_from(pgid) else {
            return;
        };
        if pgid <= 1 {
            return;
        }
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            kill(-pgid, SIGKILL);
        }
    }

    /// Reap every zombie child without blocking; returns how many were reaped.
    pub fn reap_zombies() -> usize {
        let mut n = 0;
        loop {
            let mut status: c_int = 0;
            // SAFETY: `status` is a valid, writable c_int for the duration of the call.
            let r = unsafe { waitpid(-1, &mut status, WNOHANG) };
            if r <= 0 {
                return n;
            }
            n += 1;
        }
    }

    /// Make the calling process a child subreaper: orphaned descendants are
    /// re-parented to it instead of to init, so leaks can be found.
    pub fn set_child_subreaper() -> bool {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument and
        // touches no memory of ours.
        unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1 as std::os::raw::c_ulong) == 0 }
    }
}

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent directory")
        .to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` if set, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Path of the `rvisor` binary under test.
///
/// `RVISOR_BIN` wins; otherwise `target/release/rvisor`, then
/// `target/debug/rvisor`. Panics with instructions when none exists.
pub fn rvisor_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("RVISOR_BIN") {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "RVISOR_BIN={} does not exist (build it with `cargo build --release -p rvisor`)",
                p.display()
            );
            return p;
        }
        let target = target_dir();
        for profile in ["release", "debug"] {
            let p = target.join(profile).join("rvisor");
            if p.is_file() {
                return p;
            }
        }
        panic!(
            "rvisor binary not found: set RVISOR_BIN or build it first with \
             `cargo build --release -p rvisor` (looked in {}/{{release,debug}}/rvisor)",
            target.display()
        );
    })
    .clone()
}

fn path_is_under(p: &Path, dir: &str) -> bool {
    p.starts_with(dir)
}

/// A per-process scratch directory on the host that the sandbox can see
/// (read-only). It is `$RVISOR_TEST_TMPDIR/<pid>` if that is set, else
/// `<target>/rvisor-test-tmp/<pid>` — unless the workspace itself lives
/// under `/tmp` (invisible in the sandbox), in which case
/// `/var/tmp/rvisor-test-tmp/<pid>` is used. Directories left behind by
/// earlier test processes that no longer exist are removed.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = match std::env::var_os("RVISOR_TEST_TMPDIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => {
                let t = target_dir().join("rvisor-test-tmp");
                if path_is_under(&t, "/tmp") || path_is_under(&t, "/dev/shm") {
                    PathBuf::from("/var/tmp/rvisor-test-tmp")
                } else {
                    t
                }
            }
        };
        std::fs::create_dir_all(&base)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", base.display()));
        // Remove directories of test processes that are gone.
        if let Ok(rd) = std::fs::read_dir(&base) {
            for entry in rd.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = base.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
    .clone()
}

/// Directory holding the C test programs.
pub fn c_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c")
}

/// Names (without `.c`) of all C test programs, sorted.
pub fn c_programs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(c_source_dir())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".c").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

/// Compile `tests/c/<name>.c` with `cc -O1 -Wall -Werror -pthread` plus
/// `extra_flags` (e.g. `["-static"]` or `["-static-pie"]`) and return the
/// path of the executable. Each (name, flags) pair is compiled once per test
/// binary run; concurrent callers wait for the same compilation.
pub fn compile_c(name: &str, extra_flags: &[&str]) -> PathBuf {
    type Cache = Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = std::iter::once(name)
        .chain(extra_flags.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let cell = {
        let mut map = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    };
    cell.get_or_init(|| compile_now(name, extra_flags)).clone()
}

fn compile_now(name: &str, extra_flags: &[&str]) -> PathBuf {
    let src = c_source_dir().join(format!("{name}.c"));
    assert!(src.is_file(), "no such test program: {}", src.display());
    let mut out_name = name.to_string();
    for f in extra_flags {
        out_name.push_str(&f.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    }
    let out = scratch_dir().join("bin").join(out_name);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let tmp = out.with_extension("partial");
    let mut cmd = Command::new("cc");
    cmd.args(["-O1", "-Wall", "-Werror", "-pthread", "-I"])
        .arg(c_source_dir())
        .args(extra_flags)
        .arg("-o")
        .arg(&tmp)
        .arg(&src);
    let res = run_with_timeout(&mut cmd, TIMEOUT);
    assert!(
        res.status.success(),
        "compiling {} {:?} failed ({}):\n{}{}",
        src.display(),
        extra_flags,
        res.status,
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// Exit status the way a shell reports it: the exit code, or 128+N for a
/// process killed by signal N.
pub fn shell_status(status: &ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => -1,
    }
}

fn describe_cmd(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    let args: Vec<&OsStr> = cmd.get_args().collect();
    for a in args.iter().take(12) {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    if args.len() > 12 {
        let _ = write!(s, " ... ({} args in total)", args.len());
    }
    s
}

/// Run `cmd` with stdin at /dev/null, stdout and stderr captured, in its own
/// process group. Panics (after killing the group) if it runs longer than
/// `timeout`, or if it exits but something it left behind keeps its output
/// pipes open past the deadline.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let what = describe_cmd(cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let pgid = child.id();

    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>)>();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    for (i, pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        let Some(mut pipe) = pipe else {
            let _ = tx.send((i, Vec::new()));
            continue;
        };
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            // Close our end before reporting, so that callers counting fds
            // see it gone once this function has returned.
            drop(pipe);
            let _ = tx.send((i, buf));
        });
    }
    drop(tx);

    let mut sleep = Duration::from_millis(1);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= deadline {
            sys::kill_group(pgid);
            let _ = child.kill();
            let _ = child.wait();
            let mut bufs = [Vec::new(), Vec::new()];
            while let Ok((i, b)) = rx.recv_timeout(Duration::from_secs(2)) {
                bufs[i] = b;
            }
            panic!(
                "TIMEOUT: `{what}` still running after {timeout:?}; killed.\n--- stdout ---\n{}\n--- stderr ---\n{}",
                tail(&bufs[0], 8192),
                tail(&bufs[1], 8192)
            );
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(20));
    };

    let mut bufs: [Option<Vec<u8>>; 2] = [None, None];
    while bufs.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, b)) => bufs[i] = Some(b),
            Err(_) => {
                sys::kill_group(pgid);
                panic!(
                    "`{what}` exited ({status}) but its stdout/stderr stayed open until the \
                     {timeout:?} deadline: a descendant process leaked and holds them"
                );
            }
        }
    }
    let [stdout, stderr] = bufs.map(Option::unwrap_or_default);
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Last `max` bytes of `b` as lossy UTF-8.
pub fn tail(b: &[u8], max: usize) -> String {
    let start = b.len().saturating_sub(max);
    let mut s = String::new();
    if start > 0 {
        let _ = write!(s, "[... {start} bytes cut ...]");
    }
    s.push_str(&String::from_utf8_lossy(&b[start..]));
    s
}

/// Run `rvisor do ARGS...` (pass `--` before the command yourself) with the
/// standard timeout.
///
/// With `RVISOR_TEST_DEBUG_LOG=1` in the environment, `--debug-log FILE` is
/// added and the log's path is printed to the test's output.
pub fn rvisor_do(args: &[&str]) -> Output {
    let mut cmd = Command::new(rvisor_bin());
    cmd.arg("do");
    if std::env::var_os("RVISOR_TEST_DEBUG_LOG").is_some_and(|v| v == "1") {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = scratch_dir().join(format!("debug-{n}.log"));
        println!("rvisor debug log: {}", log.display());
        cmd.arg("--debug-log").arg(log);
    }
    cmd.args(args);
    run_with_timeout(&mut cmd, TIMEOUT)
}

/// Run `rvisor do -- CMD...`.
pub fn sandbox(cmd: &[&str]) -> Output {
    let mut args = vec!["--"];
    args.extend_from_slice(cmd);
    rvisor_do(&args)
}

/// Run `CMD...` natively with the standard timeout.
pub fn native(cmd: &[&str]) -> Output {
    let (prog, args) = cmd.split_first().expect("empty command");
    run_with_timeout(Command::new(prog).args(args), TIMEOUT)
}

/// Human-readable summary of a finished process.
pub fn show(label: &str, out: &Output) -> String {
    format!(
        "=== {label}: status {} (shell status {})\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
        out.status,
        shell_status(&out.status),
        tail(&out.stdout, 16384),
        tail(&out.stderr, 8192)
    )
}

/// First line where two outputs differ, for a readable failure message.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (None, None) => return "outputs differ only in the final newline".into(),
            (x, y) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "first difference at line {n}:\n  native: {}\n  rvisor: {}",
                    x.unwrap_or("<end of output>"),
                    y.unwrap_or("<end of output>")
                )
            }
        }
    }
}

/// Assert that `rvisor` itself ended normally (its exit code encodes the
/// workload's status; rvisor must not die of a signal).
pub fn assert_rvisor_exited(out: &Output, context: &str) {
    assert!(
        out.status.code().is_some(),
        "rvisor itself was killed by a signal ({}) while running {context}\n{}",
        out.status,
        show("rvisor", out)
    );
}

/// Run `prog ARGS...` natively and under `rvisor do`, and assert that stdout
/// and the exit status (a signal death counts as 128+N) are identical.
pub fn differential(prog: &Path, args: &[&str]) {
    let prog_s = prog.to_str().expect("program path is UTF-8");
    let mut cmd = vec![prog_s];
    cmd.extend_from_slice(args);
    let nat = native(&cmd);
    let sb = sandbox(&cmd);
    assert_rvisor_exited(&sb, prog_s);
    let ns = shell_status(&nat.status);
    let ss = shell_status(&sb.status);
    if nat.stdout != sb.stdout || ns != ss {
        let mut msg = format!(
            "differential test of {} failed: ",
            prog.file_name().unwrap().to_string_lossy()
        );
        if ns != ss {
            let _ = write!(msg, "exit status native={ns} rvisor={ss}; ");
        }
        if nat.stdout != sb.stdout {
            msg.push_str(&first_difference(&nat.stdout, &sb.stdout));
        } else {
            msg.push_str("stdout identical");
        }
        panic!(
            "{msg}\n\n{}\n{}",
            show("native", &nat),
            show("rvisor do", &sb)
        );
    }
}

/// Compile `name` with `flags` and run [`differential`] on it.
pub fn differential_c(name: &str, flags: &[&str], args: &[&str]) {
    let bin = compile_c(name, flags);
    differential(&bin, args);
}

/// Declare one `#[test]` per C program:
/// `diff_test!(test_name, "program")`,
/// `diff_test!(test_name, "program", ["-static"])`,
/// `diff_test!(test_name, "program", [], ["arg1", "arg2"])`.
#[macro_export]
macro_rules! diff_test {
    ($test:ident, $prog:expr) => {
        $crate::diff_test!($test, $prog, [], []);
    };
    ($test:ident, $prog:expr, [$($flag:expr),*]) => {
        $crate::diff_test!($test, $prog, [$($flag),*], []);
    };
    ($test:ident, $prog:expr, [$($flag:expr),*], [$($arg:expr),*]) => {
        #[test]
        fn $test() {
            $crate::differential_c($prog, &[$($flag),*], &[$($arg),*]);
        }
    };
}

#[cfg(test)]
mod harness_tests {
    use super::*;

    #[test]
    #[should_panic(expected = "TIMEOUT")]
    fn timeout_kills_and_panics() {
        run_with_timeout(
            Command::new("/bin/sh").args(["-c", "sleep 30"]),
            Duration::from_millis(300),
        );
    }

    #[test]
    #[should_panic(expected = "stayed open")]
    fn leaked_descendant_holding_stdout_is_reported() {
        run_with_timeout(
            Command::new("/bin/sh").args(["-c", "sleep 30 & exit 0"]),
            Duration::from_millis(500),
        );
    }

    #[test]
    fn captures_output_and_status() {
        let out = run_with_timeout(
            Command::new("/bin/sh").args(["-c", "echo out; echo err >&2; kill -SEGV $$"]),
            TIMEOUT,
        );
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(shell_status(&out.status), 139);
    }

    #[test]
    fn first_difference_names_the_line() {
        let d = first_difference(b"a\nb\nc\n", b"a\nB\nc\n");
        assert!(d.contains("line 2") && d.contains("native: b") && d.contains("rvisor: B"));
    }
}
