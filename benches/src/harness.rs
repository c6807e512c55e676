//! What every benchmark binary shares: the three configurations (native,
//! `rvisor do`, `runsc --platform=ptrace do`), interleaved measurement
//! rounds with a time budget, compiling the C programs, and the Markdown
//! report (one `## ` section per benchmark binary in
//! `<target>/bench-results.md`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{
    bench_bin_dir, format_number, newest_mtime, render_table, run, rvisor_bin, target_dir, which,
    workspace_root, Cell, Outcome, Row,
};

/// Longest any single command may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How a program is run.
pub enum Runner {
    /// Directly on the host.
    Native,
    /// `rvisor do -- PROG ARGS` with this rvisor binary.
    Rvisor(PathBuf),
    /// `runsc FLAGS do PROG ARGS`.
    Runsc {
        /// The runsc binary.
        bin: PathBuf,
        /// Global flags (`--platform=ptrace` and what else it needs).
        flags: Vec<String>,
    },
}

impl Runner {
    /// The command running `prog args` under this runner.
    pub fn command(&self, prog: &Path, args: &[String]) -> Command {
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

    /// Whether this is the native configuration.
    pub fn is_native(&self) -> bool {
        matches!(self, Runner::Native)
    }

    /// Short name of the configuration, for progress and error messages.
    pub fn label(&self) -> &'static str {
        match self {
            Runner::Native => "native",
            Runner::Rvisor(_) => "rvisor",
            Runner::Runsc { .. } => "runsc",
        }
    }

    /// Runs `prog args` under this runner; what it did, if it exited 0.
    pub fn outcome(&self, prog: &Path, args: &[String]) -> Result<Outcome, String> {
        let o = run(&mut self.command(prog, args), TIMEOUT)?;
        o.success()?;
        Ok(o)
    }

    /// Runs `prog args` under this runner; its stdout if it exited 0.
    pub fn output(&self, prog: &Path, args: &[String]) -> Result<String, String> {
        self.outcome(prog, args).map(|o| o.stdout)
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
pub struct Config {
    /// The runner, or why there is none.
    pub runner: Result<Runner, String>,
}

/// Runs `one` for every available configuration, in up to `rounds`
/// interleaved rounds (rotating which configuration goes first), after one
/// warm-up round (results discarded) if `warm_up`. A configuration that
/// fails once is not run again for this benchmark; one that has spent
/// `budget` (and has a sample) takes no more rounds.
pub fn measure(
    name: &str,
    configs: &[Config],
    rounds: usize,
    warm_up: bool,
    budget: Duration,
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
            let i = (k + round) % configs.len();
            let (Ok(runner), Cell::Samples(samples)) = (&configs[i].runner, &mut cells[i]) else {
                continue;
            };
            if spent[i] >= budget && !samples.is_empty() {
                continue;
            }
            let start = Instant::now();
            let result = one(runner);
            spent[i] += start.elapsed();
            match result {
                Ok(v) if round > 0 => samples.push(v),
                Ok(_) => {}
                Err(e) => {
                    eprint!("[{} failed: {e}] ", runner.label());
                    cells[i] = Cell::Missing(format!("failed: {e}"));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    cells
}

/// Compiles `benches/c/<name>.c` with `cc -O2` into the bench-bin
/// directory (visible inside the sandboxes).
pub fn compile(name: &str) -> Result<PathBuf, String> {
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

/// Whether a C compiler (`$CC`, else `cc`) is on `PATH`.
pub fn have_cc() -> bool {
    which(&std::env::var("CC").unwrap_or_else(|_| "cc".to_string())).is_some()
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
pub fn line_of(cmd: &mut Command) -> String {
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

/// The three configurations of a run and how to describe them.
pub struct Setup {
    /// Native, rvisor, runsc, in table order.
    pub configs: [Config; 3],
    /// "`rvisor do` (version)" or why it is missing.
    pub rvisor_desc: String,
    /// "`runsc ... do` (version)" or why it is missing.
    pub runsc_desc: String,
    /// Notes for the report (e.g. a stale rvisor binary).
    pub notes: Vec<String>,
}

/// Finds rvisor (`RVISOR_BIN`, else `<target>/release/rvisor`) and runsc
/// (`RUNSC_BIN`, else on `PATH`, checked with `do /bin/true`).
pub fn setup() -> Setup {
    let mut notes = Vec::new();
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
    Setup {
        configs: [
            Config {
                runner: Ok(Runner::Native),
            },
            Config {
                runner: rvisor.map(Runner::Rvisor),
            },
            Config { runner: runsc },
        ],
        rvisor_desc,
        runsc_desc,
        notes,
    }
}

/// A table row from the cells [`measure`] returned (native, rvisor,
/// runsc).
pub fn row(name: String, cells: Vec<Cell>) -> Row {
    let mut it = cells.into_iter();
    let mut next = || it.next().unwrap_or(Cell::Missing("—".to_string()));
    Row {
        native: next(),
        rvisor: next(),
        runsc: next(),
        name,
    }
}

/// The Markdown report of one benchmark binary: `## title`, the machine,
/// the configurations, `method` (one paragraph on how the numbers were
/// taken), the table, each row's range of samples, and the notes (plus
/// any configuration that failed).
pub fn report(title: &str, setup: &Setup, method: &str, rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## {title}\n");
    let _ = writeln!(
        md,
        "{} · {} · {} CPUs\n",
        line_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        line_of(Command::new("uname").args(["-sr"])),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(md, "- rvisor: {}", setup.rvisor_desc);
    let _ = writeln!(md, "- runsc-ptrace: {}", setup.runsc_desc);
    let _ = writeln!(md, "- {method}\n");
    md.push_str(&render_table(rows));
    let mut notes = setup.notes.clone();
    let mut spread = String::new();
    for r in rows {
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
                        format_number(lo),
                        format_number(hi),
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
    md
}

/// Prints `md` (one `## ` section) and stores it in
/// `<target>/bench-results.md`, replacing the section with the same
/// heading from an earlier run and keeping the others.
pub fn publish(md: &str) {
    println!("{md}");
    let path = target_dir().join("bench-results.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    match std::fs::write(&path, crate::merge_section(&old, md)) {
        Ok(()) => eprintln!("bench: results written to {}", path.display()),
        Err(e) => eprintln!("bench: cannot write {}: {e}", path.display()),
    }
}
