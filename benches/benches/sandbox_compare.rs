//! rvisor vs native execution vs gVisor's runsc (ptrace platform), measured
//! side by side in one run. `cargo bench -p rvisor-benches`.
//!
//! 1. getpid round trip — `c/getpid_loop.c`, ns per `syscall(SYS_getpid)`.
//! 2. fork + exec + wait of `/bin/true` — `c/fork_exec_loop.c`, µs per
//!    iteration.
//! 3. `do /bin/true` start to exit — wall clock of the whole command, ms.
//!
//! Every benchmark runs in interleaved rounds (native, rvisor, runsc, in a
//! rotating order), after one discarded warm-up round (except fork+exec+wait,
//! which warms itself up), so that the three columns see the same machine
//! noise; cells are medians of the rounds and ratios are ratios of medians.
//! A configuration stops taking rounds once it has spent `BUDGET` on one
//! benchmark, which bounds the whole run to about two minutes. The table goes to stdout and to
//! `<target>/bench-results.md`; progress goes to stderr.
//!
//! The rvisor binary is `RVISOR_BIN`, else `<target>/release/rvisor` (build
//! it first: `cargo build --release`). runsc is `RUNSC_BIN`, else `runsc` on
//! `PATH`; it runs as `runsc --platform=ptrace --network=none do`, adding
//! `--rootless=false` if that alone fails. A configuration that fails is
//! shown as "failed: ..." in its cell; the others go on.
//!
//! Without `--bench` (that is, under `cargo test --benches`) this only
//! compiles the C programs and runs them natively once, as a smoke test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rvisor_benches::{
    bench_bin_dir, newest_mtime, parse_metric, render_table, run, rvisor_bin, table_text,
    target_dir, which, workspace_root, Cell, Row,
};

/// getpid calls per run natively, and under a sandbox (where each call costs
/// ~100× more).
const GETPID_N_NATIVE: u64 = 200_000;
const GETPID_N_SANDBOX: u64 = 20_000;
/// fork+exec+wait iterations per run.
const FORK_EXEC_N: u64 = 200;
/// Measured rounds for the two in-program benchmarks.
const ROUNDS: usize = 5;
/// Measured runs of `do /bin/true`.
const DO_TRUE_K: usize = 10;
/// Wall-clock budget of one configuration in one benchmark: once spent, the
/// configuration takes no more rounds (it keeps the samples it has, at
/// least one), so a slow sandbox cannot stretch the whole run much past
/// ~2 minutes.
const BUDGET: Duration = Duration::from_secs(12);
/// Longest any single command may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How a program is run.
enum Runner {
    Native,
    Rvisor(PathBuf),
    Runsc { bin: PathBuf, flags: Vec<String> },
}

impl Runner {
    fn command(&self, prog: &Path, args: &[String]) -> Command {
        let mut cmd = self.base_command(prog, args);
        // `cargo bench` prepends its target and toolchain directories to
        // LD_LIBRARY_PATH; the dynamic loader of every program would then
        // search those (large) directories for libc before the system ones,
        // which costs little natively but a lot under a sandbox. Measure
        // with the caller's own setting.
        match clean_ld_library_path() {
            Some(v) => cmd.env("LD_LIBRARY_PATH", v),
            None => cmd.env_remove("LD_LIBRARY_PATH"),
        };
        cmd
    }

    fn base_command(&self, prog: &Path, args: &[String]) -> Command {
        match self {
            Runner::Native => {
                let mut c = Command::new(prog);
                c.args(args);
                c
            }
            Runner::Rvisor(bin) => {
                let mut c = Command::new(bin);
                c.arg("do").arg("--").arg(prog).args(args);
                c
            }
            Runner::Runsc { bin, flags } => {
                let mut c = Command::new(bin);
                c.args(flags).arg("do").arg(prog).args(args);
                c
            }
        }
    }

    fn is_native(&self) -> bool {
        matches!(self, Runner::Native)
    }

    /// Runs `prog args` under this runner; its stdout if it succeeded.
    fn output(&self, prog: &Path, args: &[String]) -> Result<String, String> {
        let o = run(&mut self.command(prog, args), TIMEOUT)?;
        o.success().map(str::to_owned)
    }
}

/// LD_LIBRARY_PATH without the entries `cargo` adds (directories under the
/// target directory and the Rust toolchain's library directories); `None`
/// if nothing is left.
fn clean_ld_library_path() -> Option<std::ffi::OsString> {
    let v = std::env::var_os("LD_LIBRARY_PATH")?;
    let target = target_dir();
    let kept: Vec<PathBuf> = std::env::split_paths(&v)
        .filter(|d| {
            !d.as_os_str().is_empty()
                && !d.starts_with(&target)
                && !d.components().any(|c| c.as_os_str() == "rustlib")
                && !d.join("rustlib").is_dir()
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        std::env::join_paths(kept).ok()
    }
}

/// One column of the table: a runner, or why it is not available.
struct Config {
    runner: Result<Runner, String>,
}

/// Runs `one` for every available configuration, in up to `rounds`
/// interleaved rounds, after one warm-up round (results discarded) if
/// `warm_up`. A configuration that fails once is not run again for this
/// benchmark; one that has spent [`BUDGET`] (and has a sample) takes no
/// more rounds.
fn measure(
    name: &str,
    configs: &[Config],
    rounds: usize,
    warm_up: bool,
    mut one: impl FnMut(&Runner) -> Result<f64, String>,
) -> Vec<Cell> {
    eprint!("bench: {name}: ");
    let mut cells: Vec<Cell> = configs
        .iter()
        .map(|c| match &c.runner {
            Ok(_) => Cell::Samples(Vec::new()),
            Err(why) => Cell::Missing(why.clone()),
        })
        .collect();
    let mut spent = vec![Duration::ZERO; configs.len()];
    let first = if warm_up { 0 } else { 1 };
    for round in first..=rounds {
        for k in 0..configs.len() {
            // Rotate the order so no configuration always goes first.
            let i = (k + round) % configs.len();
            let (Ok(runner), Cell::Samples(samples)) = (&configs[i].runner, &mut cells[i]) else {
                continue;
            };
            if spent[i] >= BUDGET && !samples.is_empty() {
                continue;
            }
            let start = Instant::now();
            let result = one(runner);
            spent[i] += start.elapsed();
            match result {
                Ok(v) if round > 0 => samples.push(v),
                Ok(_) => {}
                Err(e) => {
                    eprint!("[{} failed: {e}] ", label(runner));
                    cells[i] = Cell::Missing(format!("failed: {e}"));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    cells
}

fn label(r: &Runner) -> &'static str {
    match r {
        Runner::Native => "native",
        Runner::Rvisor(_) => "rvisor",
        Runner::Runsc { .. } => "runsc",
    }
}

/// Compiles `benches/c/<name>.c` with `cc -O2` into the bench-bin directory.
fn compile(name: &str) -> Result<PathBuf, String> {
    let src = workspace_root()
        .join("benches")
        .join("c")
        .join(format!("{name}.c"));
    let dir = bench_bin_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let out = dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(&cc);
    cmd.args(["-O2", "-Wall", "-o"]).arg(&out).arg(&src);
    let o = run(&mut cmd, TIMEOUT)?;
    o.success()
        .map(|_| out)
        .map_err(|e| format!("`{cc} -O2 {}` failed: {e}", src.display()))
}

/// runsc as a runner: the binary, and flags that make `do /bin/true` work.
fn find_runsc(version: &mut String) -> Result<Runner, String> {
    let bin = match std::env::var_os("RUNSC_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => which("runsc").ok_or_else(|| "runsc not installed".to_string())?,
    };
    if let Ok(o) = run(Command::new(&bin).arg("--version"), TIMEOUT) {
        *version = o.stdout.lines().next().unwrap_or("").trim().to_string();
    }
    let base = ["--platform=ptrace", "--network=none"];
    let mut first_err = None;
    for extra in [&[][..], &["--rootless=false"][..]] {
        let flags: Vec<String> = base.iter().chain(extra).map(|s| s.to_string()).collect();
        let r = Runner::Runsc {
            bin: bin.clone(),
            flags,
        };
        match r.output(Path::new("/bin/true"), &[]) {
            Ok(_) => return Ok(r),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(format!(
        "failed: {}",
        first_err.unwrap_or_else(|| "unknown error".to_string())
    ))
}

/// One-line output of a command, or "" if it fails.
fn line_of(cmd: &mut Command) -> String {
    run(cmd, TIMEOUT)
        .ok()
        .and_then(|o| {
            o.success()
                .ok()
                .map(|s| s.lines().next().unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

/// A warning if the rvisor binary is older than the workspace sources.
fn staleness_warning(bin: &Path) -> Option<String> {
    let built = bin.metadata().and_then(|m| m.modified()).ok()?;
    let root = workspace_root();
    let newest = ["syscalls", "sentry", "gofer", "runsc-cli"]
        .iter()
        .filter_map(|d| newest_mtime(&root.join(d).join("src")))
        .max()?;
    (newest > built).then(|| {
        format!(
            "{} is older than the sources; rebuild it with `cargo build --release`",
            bin.display()
        )
    })
}

/// Under `cargo test --benches`: build the C programs and run them natively.
fn smoke() -> Result<(), String> {
    if which(&std::env::var("CC").unwrap_or_else(|_| "cc".to_string())).is_none() {
        println!("sandbox_compare: no C compiler; smoke test skipped");
        return Ok(());
    }
    let getpid = compile("getpid_loop")?;
    let fork = compile("fork_exec_loop")?;
    let out = Runner::Native.output(&getpid, &["1000".to_string()])?;
    parse_metric(&out, "ns_per_call").ok_or(format!("getpid_loop printed {out:?}"))?;
    let out = Runner::Native.output(&fork, &["2".to_string()])?;
    parse_metric(&out, "us_per_iter").ok_or(format!("fork_exec_loop printed {out:?}"))?;
    println!("sandbox_compare: smoke test ok (run `cargo bench -p rvisor-benches` to measure)");
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        if let Err(e) = smoke() {
            eprintln!("sandbox_compare smoke test failed: {e}");
            std::process::exit(1);
        }
        return;
    }

    let mut notes: Vec<String> = Vec::new();

    // ---- the three configurations ---------------------------------------
    let rvisor = rvisor_bin();
    let mut rvisor_version = String::new();
    if let Ok(bin) = &rvisor {
        rvisor_version = line_of(Command::new(bin).arg("--version"));
        if let Some(w) = staleness_warning(bin) {
            eprintln!("warning: {w}");
            notes.push(format!("warning: {w}"));
        }
    }
    let mut runsc_version = String::new();
    let runsc = find_runsc(&mut runsc_version);
    let runsc_desc = match &runsc {
        Ok(Runner::Runsc { bin, flags }) => {
            format!(
                "`{} {} do` ({runsc_version})",
                bin.display(),
                flags.join(" ")
            )
        }
        Ok(_) => String::new(),
        Err(e) => e.clone(),
    };
    let rvisor_desc = match &rvisor {
        Ok(bin) => format!("`{} do` ({rvisor_version})", bin.display()),
        Err(e) => e.clone(),
    };
    let configs = [
        Config {
            runner: Ok(Runner::Native),
        },
        Config {
            runner: rvisor.map(Runner::Rvisor),
        },
        Config { runner: runsc },
    ];

    // ---- benchmarks -------------------------------------------------------
    let mut rows = Vec::new();

    let name = format!(
        "getpid round trip (ns/call; N={GETPID_N_NATIVE} native, {GETPID_N_SANDBOX} sandboxed)"
    );
    let cells = match compile("getpid_loop") {
        Ok(prog) => measure("getpid", &configs, ROUNDS, true, |r| {
            let n = if r.is_native() {
                GETPID_N_NATIVE
            } else {
                GETPID_N_SANDBOX
            };
            let out = r.output(&prog, &[n.to_string()])?;
            parse_metric(&out, "ns_per_call")
                .ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
        }),
        Err(e) => vec![Cell::Missing(format!("build failed: {e}")); 3],
    };
    rows.push(row(name, cells));

    let name = format!("fork+exec+wait /bin/true (µs/iter; N={FORK_EXEC_N})");
    let cells = match compile("fork_exec_loop") {
        Ok(prog) => measure("fork+exec+wait", &configs, ROUNDS, false, |r| {
            let out = r.output(&prog, &[FORK_EXEC_N.to_string(), "/bin/true".to_string()])?;
            parse_metric(&out, "us_per_iter")
                .ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
        }),
        Err(e) => vec![Cell::Missing(format!("build failed: {e}")); 3],
    };
    rows.push(row(name, cells));

    let name = format!("`do /bin/true` start to exit (ms; K={DO_TRUE_K})");
    let cells = measure("do /bin/true", &configs, DO_TRUE_K, true, |r| {
        let o = run(&mut r.command(Path::new("/bin/true"), &[]), TIMEOUT)?;
        o.success()?;
        Ok(o.elapsed.as_secs_f64() * 1e3)
    });
    rows.push(row(name, cells));

    // ---- report -----------------------------------------------------------
    let mut md = String::new();
    let _ = writeln!(md, "## rvisor vs native vs runsc (ptrace)\n");
    let _ = writeln!(
        md,
        "{} · {} · {} CPUs\n",
        line_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        line_of(Command::new("uname").args(["-sr"])),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(md, "- rvisor: {rvisor_desc}");
    let _ = writeln!(md, "- runsc-ptrace: {runsc_desc}");
    let _ = writeln!(
        md,
        "- medians of up to {ROUNDS} interleaved rounds ({DO_TRUE_K} for `do /bin/true`; fewer \
         once a configuration has spent {}s on a benchmark), after a discarded warm-up round \
         (none for fork+exec+wait); ratios are ratios of medians (runsc/rvisor > 1: rvisor is \
         faster)\n",
        BUDGET.as_secs()
    );
    md.push_str(&render_table(&rows));
    let mut spread = String::new();
    for r in &rows {
        for (col, cell) in [
            ("native", &r.native),
            ("rvisor", &r.rvisor),
            ("runsc", &r.runsc),
        ] {
            match cell {
                Cell::Samples(s) if !s.is_empty() => {
                    let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let _ = write!(
                        spread,
                        "{col} {}–{} (n={}), ",
                        rvisor_benches::format_number(lo),
                        rvisor_benches::format_number(hi),
                        s.len()
                    );
                }
                Cell::Missing(why) if why.starts_with("failed") || why.starts_with("build") => {
                    notes.push(format!("{} / {col}: {why}", r.name));
                }
                _ => {}
            }
        }
        if !spread.is_empty() {
            let _ = writeln!(
                md,
                "\n{}: range {}",
                r.name,
                spread.trim_end_matches([',', ' '])
            );
            spread.clear();
        }
    }
    for n in &notes {
        let _ = writeln!(md, "\n{n}");
    }

    println!("{md}");
    let path = target_dir().join("bench-results.md");
    match std::fs::write(&path, &md) {
        Ok(()) => eprintln!("bench: results written to {}", path.display()),
        Err(e) => eprintln!("bench: cannot write {}: {e}", path.display()),
    }
}

fn row(name: String, cells: Vec<Cell>) -> Row {
    let mut it = cells.into_iter();
    let mut next = || it.next().unwrap_or(Cell::Missing("—".to_string()));
    Row {
        native: next(),
        rvisor: next(),
        runsc: next(),
        name,
    }
}
