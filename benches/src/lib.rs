//! Helpers for the benchmarks (`cargo bench -p rvisor-benches`):
//! `benches/sandbox_compare.rs` (system calls, process creation, start-up)
//! and `benches/fs_compare.rs` (file systems).
//!
//! This file holds the parts that are worth unit-testing: locating
//! binaries, running a command with a timeout, parsing the programs'
//! output, medians, the Markdown table and merging it into the results
//! file; [`harness`] holds what the benchmark binaries share (the three
//! configurations, measurement rounds, the report).

pub mod harness;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Root of the Cargo workspace (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root if relative), else `<workspace>/target`.
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

/// Directory for the benchmark's compiled C programs. It must be visible
/// inside the sandboxes, which have their own `/tmp`: `<target>/bench-bin`,
/// unless the target directory lives under `/tmp` or `/dev/shm`, in which
/// case `/var/tmp/rvisor-bench-bin`.
pub fn bench_bin_dir() -> PathBuf {
    let t = target_dir();
    if t.starts_with("/tmp") || t.starts_with("/dev/shm") {
        PathBuf::from("/var/tmp/rvisor-bench-bin")
    } else {
        t.join("bench-bin")
    }
}

/// Directory for the file-system benchmark's data files (visible inside
/// the sandboxes, like [`bench_bin_dir`]): `<target>/bench-data`, or
/// `/var/tmp/rvisor-bench-data` if the target directory is under `/tmp` or
/// `/dev/shm`.
pub fn bench_data_dir() -> PathBuf {
    let t = target_dir();
    if t.starts_with("/tmp") || t.starts_with("/dev/shm") {
        PathBuf::from("/var/tmp/rvisor-bench-data")
    } else {
        t.join("bench-data")
    }
}

/// The `rvisor` binary: `RVISOR_BIN`, else `<target>/release/rvisor`.
/// The error says how to build it.
pub fn rvisor_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RVISOR_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("RVISOR_BIN={} does not exist", p.display()))
        };
    }
    let p = target_dir().join("release").join("rvisor");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found (run `cargo build --release -p rvisor` or set RVISOR_BIN)",
            p.display()
        ))
    }
}

/// Finds an executable named `name` on `PATH` (like `which`).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Newest modification time of any file under `dir` (recursively), if any.
pub fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest: Option<SystemTime> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                newest = Some(newest.map_or(m, |n| n.max(m)));
            }
        }
    }
    newest
}

/// What running one command produced.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status, or `None` if the command was killed for taking longer
    /// than its timeout.
    pub status: Option<ExitStatus>,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
    /// Wall-clock time from just before spawning to the reaping of the
    /// process.
    pub elapsed: Duration,
}

impl Outcome {
    /// `Ok(stdout)` if the command exited with status 0, else a one-line
    /// description of what went wrong (status and the first line of
    /// stderr).
    pub fn success(&self) -> Result<&str, String> {
        let what = match self.status {
            None => "timed out".to_string(),
            Some(s) if s.success() => return Ok(&self.stdout),
            Some(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => format!("signal {sig}"),
                (None, None) => format!("{s}"),
            },
        };
        let first = self
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        if first.is_empty() {
            Err(what)
        } else {
            Err(format!("{what}: {first}"))
        }
    }
}

/// Runs `cmd` with stdin from `/dev/null` and stdout/stderr captured,
/// killing it (by its process id) if it runs longer than `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Outcome, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child: Child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let pid = child.id();
    let out_reader = child.stdout.take().map(spawn_reader);
    let err_reader = child.stderr.take().map(spawn_reader);

    // Watchdog: kill the child if it is still running after `timeout`.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(timeout) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            true
        } else {
            false
        }
    });
    let waited = child.wait();
    let elapsed = start.elapsed();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let status = waited.map_err(|e| format!("wait failed: {e}"))?;

    // After a timeout, descendants of the killed process may still hold the
    // pipes open: leave the readers behind rather than wait for them.
    let (stdout, stderr) = if timed_out {
        (String::new(), String::new())
    } else {
        (
            out_reader.map(join_reader).unwrap_or_default(),
            err_reader.map(join_reader).unwrap_or_default(),
        )
    };
    Ok(Outcome {
        status: if timed_out { None } else { Some(status) },
        stdout,
        stderr,
        elapsed,
    })
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn join_reader(h: thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// Finds the line `KEY VALUE` in a benchmark program's output and parses
/// VALUE.
pub fn parse_metric(output: &str, key: &str) -> Option<f64> {
    output.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        if it.next()? != key {
            return None;
        }
        let v: f64 = it.next()?.parse().ok()?;
        v.is_finite().then_some(v)
    })
}

/// Throughput in GB/s (10^9 bytes per second) from the summary line GNU
/// `dd` prints on stderr (`N bytes (...) copied, T s, ...`): N / T, which
/// is more precise than dd's own rounded rate.
pub fn parse_dd_rate(stderr: &str) -> Option<f64> {
    let line = stderr.lines().rev().find(|l| l.contains(" copied, "))?;
    let bytes: f64 = line.split_whitespace().next()?.parse().ok()?;
    let secs: f64 = line
        .split(" copied, ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let rate = bytes / secs / 1e9;
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

/// `old` (a Markdown file of `## ` sections) with the section that has the
/// same `## ` heading as `section` replaced by it, or `section` appended
/// if there is none. Text before the first heading is kept.
pub fn merge_section(old: &str, section: &str) -> String {
    let heading = section.lines().next().unwrap_or("");
    let mut parts: Vec<String> = Vec::new();
    for line in old.lines() {
        if line.starts_with("## ") || parts.is_empty() {
            parts.push(String::new());
        }
        if let Some(p) = parts.last_mut() {
            p.push_str(line);
            p.push('\n');
        }
    }
    let body = format!("{}\n", section.trim_end());
    let mut replaced = false;
    for p in parts.iter_mut() {
        if p.lines().next() == Some(heading) {
            *p = body.clone();
            replaced = true;
        }
    }
    if !replaced {
        parts.push(body);
    }
    let parts: Vec<&str> = parts
        .iter()
        .map(|p| p.trim_end())
        .filter(|p| !p.is_empty())
        .collect();
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

/// Median of `samples` (mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One configuration's result for one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// All samples (one per round), in the benchmark's unit.
    Samples(Vec<f64>),
    /// Why there is no number (not installed, failed, ...).
    Missing(String),
}

impl Cell {
    /// Median of the samples, if there are any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Samples(s) => median(s),
            Cell::Missing(_) => None,
        }
    }

    fn render(&self) -> String {
        match self {
            Cell::Samples(s) => match median(s) {
                Some(m) => format_number(m),
                None => "no samples".to_string(),
            },
            Cell::Missing(why) => table_text(why, 70),
        }
    }
}

/// A row of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Benchmark name, including its unit.
    pub name: String,
    /// Native execution.
    pub native: Cell,
    /// Under `rvisor do`.
    pub rvisor: Cell,
    /// Under `runsc --platform=ptrace do`.
    pub runsc: Cell,
}

/// Three significant digits or so, without scientific notation.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn ratio(num: Option<f64>, den: Option<f64>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => format!("{}×", format_number(n / d)),
        _ => "—".to_string(),
    }
}

/// Makes `s` safe for one Markdown table cell: one line, no `|`, at most
/// `max` characters.
pub fn table_text(s: &str, max: usize) -> String {
    let one_line: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The results as a Markdown table: benchmark | native | rvisor |
/// runsc-ptrace | rvisor/native | runsc/rvisor (medians; ratios of
/// medians).
pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| benchmark | native | rvisor | runsc-ptrace | rvisor/native | runsc/rvisor |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let (n, v, g) = (r.native.value(), r.rvisor.value(), r.runsc.value());
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            table_text(&r.name, 80),
            r.native.render(),
            r.rvisor.render(),
            r.runsc.render(),
            ratio(v, n),
            ratio(g, v),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn parse_metric_finds_key() {
        let out = "noise\nns_per_call 123.5\n";
        assert_eq!(parse_metric(out, "ns_per_call"), Some(123.5));
        assert_eq!(parse_metric(out, "us_per_iter"), None);
        assert_eq!(parse_metric("ns_per_call nan", "ns_per_call"), None);
        assert_eq!(parse_metric("ns_per_call", "ns_per_call"), None);
    }

    #[test]
    fn dd_rate_from_the_summary_line() {
        let err = "256+0 records in\n256+0 records out\n\
                   268435456 bytes (268 MB, 256 MiB) copied, 0.25 s, 1.1 GB/s\n";
        let r = parse_dd_rate(err).expect("a rate");
        assert!((r - 1.073741824).abs() < 1e-9, "{r}");
        assert_eq!(parse_dd_rate("dd: error"), None);
        assert_eq!(parse_dd_rate("0 bytes copied, 0 s, 0 B/s"), None);
    }

    #[test]
    fn merge_section_replaces_or_appends() {
        let a = "## A\n\nold a\n";
        let b = "## B\n\nb\n";
        let both = merge_section(&merge_section("", a), b);
        assert_eq!(both, "## A\n\nold a\n\n## B\n\nb\n");
        let new_a = merge_section(&both, "## A\n\nnew a\n");
        assert_eq!(new_a, "## A\n\nnew a\n\n## B\n\nb\n");
        // A file from before sections were merged is replaced only if its
        // heading matches.
        assert_eq!(merge_section("preamble\n", b), "preamble\n\n## B\n\nb\n");
    }

    #[test]
    fn table_text_is_one_safe_line() {
        assert_eq!(table_text("a |\n b", 80), "a / b");
        assert_eq!(table_text("abcdef", 4), "abc…");
    }

    #[test]
    fn table_has_ratios_and_dashes() {
        let rows = vec![
            Row {
                name: "x (ns)".into(),
                native: Cell::Samples(vec![100.0, 100.0, 300.0]),
                rvisor: Cell::Samples(vec![5000.0]),
                runsc: Cell::Samples(vec![20000.0]),
            },
            Row {
                name: "y (ms)".into(),
                native: Cell::Samples(vec![1.0]),
                rvisor: Cell::Missing("failed: exit 1".into()),
                runsc: Cell::Missing("runsc not installed".into()),
            },
        ];
        let t = render_table(&rows);
        assert!(
            t.contains("| x (ns) | 100 | 5000 | 20000 | 50.0× | 4.00× |"),
            "{t}"
        );
        assert!(
            t.contains("| y (ms) | 1.00 | failed: exit 1 | runsc not installed | — | — |"),
            "{t}"
        );
    }

    #[test]
    fn run_reports_status_output_and_timeout() {
        let ok = run(
            Command::new("/bin/sh").args(["-c", "echo out; echo err >&2"]),
            Duration::from_secs(10),
        )
        .expect("run sh");
        assert_eq!(ok.success(), Ok("out\n"));
        assert_eq!(ok.stderr, "err\n");

        let bad = run(
            Command::new("/bin/sh").args(["-c", "echo oops >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .expect("run sh");
        assert_eq!(bad.success(), Err("exit 3: oops".to_string()));

        let slow = run(
            Command::new("/bin/sh").args(["-c", "exec sleep 10"]),
            Duration::from_millis(100),
        )
        .expect("run sh");
        assert!(slow.status.is_none());
        assert!(slow.elapsed < Duration::from_secs(5));
    }
}
