//! File systems: rvisor vs native execution vs gVisor's runsc (ptrace
//! platform), side by side in one run. `cargo bench -p rvisor-benches`.
//!
//! 1. Sequential read of a 256 MiB host file: `dd if=FILE of=/dev/null
//!    bs=1M`, GB/s from dd's own byte count and time.
//! 2. Sequential write of 256 MiB to memory: `/tmp` in the sandboxes (a
//!    tmpfs of the sandbox's own in rvisor; runsc's `do` keeps `/tmp` on
//!    its in-memory overlay root), the host's tmpfs `/dev/shm` natively:
//!    `dd if=/dev/zero bs=1M count=256`, GB/s.
//! 3. The same write to a directory of the root file system (rvisor's and
//!    runsc's in-memory overlay; natively the host's disk, page cache, no
//!    fsync). Before each write the host runs `sync` (untimed), so native
//!    runs start without a backlog of dirty pages to be throttled by.
//! 4. Random 4 KiB `pread`s at aligned offsets of a 64 MiB host file —
//!    `c/pread_random.c`, µs per call.
//! 5. A stat-heavy walk: `sh -c 'find /usr/share -type f | wc -l'`, the
//!    whole command's wall clock in ms (sandbox start-up included); every
//!    configuration must count the same files.
//! 6. Create/unlink churn in one directory of `/tmp` (natively
//!    `/dev/shm`): create, write 4 KiB, close, unlink —
//!    `c/create_unlink.c`, µs per file.
//!
//! The data files live in `<target>/bench-data` (made once, reused), which
//! the sandboxes see through the host root; the first (warm-up) round puts
//! them in the page cache. Rounds are interleaved as in `sandbox_compare`,
//! with a per-configuration budget of a few seconds per benchmark. The
//! table goes to stdout and, as the section "File systems: ...", to
//! `<target>/bench-results.md`.
//!
//! Without `--bench` (under `cargo test --benches`) this only builds the C
//! programs and runs each step natively on small files, as a smoke test.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rvisor_benches::harness::{compile, have_cc, measure, publish, report, row, setup, Runner};
use rvisor_benches::{bench_data_dir, parse_dd_rate, parse_metric, table_text, which, Cell};

/// Size of the sequentially read and written files, MiB.
const SEQ_MIB: u64 = 256;
/// Size of the randomly read file, MiB.
const RANDOM_MIB: u64 = 64;
/// preads per run natively, and under a sandbox.
const PREAD_N_NATIVE: u64 = 200_000;
const PREAD_N_SANDBOX: u64 = 20_000;
/// Files created and removed per churn run.
const CHURN_N: u64 = 2_000;
/// The tree the stat-heavy walk lists.
const WALK_DIR: &str = "/usr/share";
/// Measured rounds per benchmark (after a warm-up round).
const ROUNDS: usize = 5;
/// Wall-clock budget of one configuration in one benchmark.
const BUDGET: Duration = Duration::from_secs(6);

/// `dd` on the host (and so in the sandboxes, which see the host root).
fn dd_path() -> PathBuf {
    which("dd").unwrap_or_else(|| PathBuf::from("/bin/dd"))
}

/// Makes `path` a file of exactly `mib` MiB of pseudo-random bytes, unless
/// it already is one.
fn ensure_file(path: &Path, mib: u64) -> Result<(), String> {
    let want = mib << 20;
    if std::fs::metadata(path).is_ok_and(|m| m.len() == want) {
        return Ok(());
    }
    let fail = |e: std::io::Error| format!("writing {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("partial");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(fail)?);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).map_err(fail)?;
    }
    f.flush().map_err(fail)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Runs `dd ARGS` under `r` (through `sh -c`, then removing `cleanup` if
/// given, so sandboxes free the memory and the host keeps no file);
/// returns dd's GB/s.
fn dd(r: &Runner, args: &str, cleanup: Option<&Path>) -> Result<f64, String> {
    if let Some(p) = cleanup {
        // A file left by an interrupted native run would be truncated by
        // the next one, which costs extra.
        let _ = std::fs::remove_file(p);
        // Start every write with the host's dirty pages written back, so
        // a native run is not throttled by the previous round's (or
        // another process's) writeback. Not timed: dd times itself.
        let _ = rvisor_benches::run(
            std::process::Command::new("sync").stdout(std::process::Stdio::null()),
            rvisor_benches::harness::TIMEOUT,
        );
    }
    let mut script = format!("{} {args}", dd_path().display());
    if let Some(p) = cleanup {
        script.push_str(&format!(" && rm -f {}", p.display()));
    }
    let o = r.outcome(Path::new("/bin/sh"), &["-c".to_string(), script])?;
    parse_dd_rate(&o.stderr)
        .ok_or_else(|| format!("unexpected dd output {:?}", table_text(&o.stderr, 60)))
}

/// A program's `KEY VALUE` metric.
fn metric(r: &Runner, prog: &Path, args: &[String], key: &str) -> Result<f64, String> {
    let out = r.output(prog, args)?;
    parse_metric(&out, key).ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
}

/// The shell command of the stat-heavy walk.
fn walk_script() -> Vec<String> {
    vec!["-c".to_string(), format!("find {WALK_DIR} -type f | wc -l")]
}

/// The in-memory scratch directory of a configuration: `/tmp` in the
/// sandboxes (rvisor's own tmpfs; runsc's in-memory overlay root), and the
/// host's tmpfs `/dev/shm` natively (the host's `/tmp` may be a disk),
/// falling back to `/tmp` if `/dev/shm` is not a directory.
fn mem_dir(r: &Runner) -> &'static Path {
    if r.is_native() && Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm")
    } else {
        Path::new("/tmp")
    }
}

/// A per-process scratch name in `dir`.
fn scratch(dir: &Path, what: &str) -> PathBuf {
    dir.join(format!("rvisor-bench-{what}-{}", std::process::id()))
}

/// Under `cargo test --benches`: every step natively, on small files.
fn smoke() -> Result<(), String> {
    if !have_cc() {
        println!("fs_compare: no C compiler; smoke test skipped");
        return Ok(());
    }
    let data = bench_data_dir();
    let small = data.join("smoke-1M");
    ensure_file(&small, 1)?;
    let r = Runner::Native;
    dd(
        &r,
        &format!("if={} of=/dev/null bs=1M", small.display()),
        None,
    )?;
    let out = scratch(&data, "smoke-write");
    dd(
        &r,
        &format!("if=/dev/zero of={} bs=1M count=1", out.display()),
        Some(&out),
    )?;
    let pread = compile("pread_random")?;
    metric(
        &r,
        &pread,
        &[small.display().to_string(), "100".into()],
        "us_per_op",
    )?;
    let churn = compile("create_unlink")?;
    let dir = scratch(Path::new("/tmp"), "smoke-churn");
    let _ = std::fs::remove_dir_all(&dir);
    metric(
        &r,
        &churn,
        &[dir.display().to_string(), "10".into()],
        "us_per_file",
    )?;
    r.output(Path::new("/bin/sh"), &walk_script())?;
    println!("fs_compare: smoke test ok (run `cargo bench -p rvisor-benches` to measure)");
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        if let Err(e) = smoke() {
            eprintln!("fs_compare smoke test failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let setup = setup();
    let configs = &setup.configs;
    let data = bench_data_dir();
    let seq_file = data.join(format!("seq-{SEQ_MIB}M"));
    let random_file = data.join(format!("random-{RANDOM_MIB}M"));
    let files_ready = ensure_file(&seq_file, SEQ_MIB).and(ensure_file(&random_file, RANDOM_MIB));
    let mut rows = Vec::new();
    // Every row is a benchmark that needs something prepared first; if that
    // failed, its cells all say why.
    let missing = |why: String| vec![Cell::Missing(why); 3];
    let run = |name: &str,
               what: &str,
               ready: &Result<(), String>,
               one: &mut dyn FnMut(&Runner) -> Result<f64, String>|
     -> Vec<Cell> {
        match ready {
            Ok(()) => measure(what, configs, ROUNDS, true, BUDGET, one),
            Err(e) => {
                eprintln!("bench: {name}: {e}");
                missing(e.clone())
            }
        }
    };

    let name = format!("sequential read, {SEQ_MIB} MiB host file, `dd bs=1M` (GB/s)");
    let args = format!("if={} of=/dev/null bs=1M", seq_file.display());
    let cells = run(&name, "seq read", &files_ready, &mut |r| dd(r, &args, None));
    rows.push(row(name, cells));

    let write_args = |to: &Path| format!("if=/dev/zero of={} bs=1M count={SEQ_MIB}", to.display());
    let name = format!("sequential write {SEQ_MIB} MiB to /tmp or /dev/shm, `dd bs=1M` (GB/s)");
    let cells = run(&name, "seq write /tmp", &Ok(()), &mut |r| {
        let to = scratch(mem_dir(r), "dd");
        dd(r, &write_args(&to), Some(&to))
    });
    rows.push(row(name, cells));

    let name =
        format!("sequential write {SEQ_MIB} MiB to the root fs (overlay), `dd bs=1M` (GB/s)");
    let to = scratch(&data, "dd");
    let ready =
        std::fs::create_dir_all(&data).map_err(|e| format!("mkdir {}: {e}", data.display()));
    let cells = run(&name, "seq write root", &ready, &mut |r| {
        dd(r, &write_args(&to), Some(&to))
    });
    rows.push(row(name, cells));

    let name = format!(
        "random 4 KiB pread, {RANDOM_MIB} MiB file (µs/op; N={PREAD_N_NATIVE} native, \
         {PREAD_N_SANDBOX} sandboxed)"
    );
    let pread = compile("pread_random");
    let ready = files_ready.clone().and(
        pread
            .as_ref()
            .map(|_| ())
            .map_err(|e| format!("build failed: {e}")),
    );
    let cells = run(&name, "random pread", &ready, &mut |r| {
        let n = if r.is_native() {
            PREAD_N_NATIVE
        } else {
            PREAD_N_SANDBOX
        };
        let prog = pread.as_ref().map_err(Clone::clone)?;
        let args = [random_file.display().to_string(), n.to_string()];
        metric(r, prog, &args, "us_per_op")
    });
    rows.push(row(name, cells));

    // The walk must list the same files everywhere, or it measured
    // something else.
    let native_count = Runner::Native
        .output(Path::new("/bin/sh"), &walk_script())
        .map(|s| s.trim().to_string());
    let name = format!(
        "`find {WALK_DIR} -type f` into `wc -l`, whole command (ms; {} files)",
        native_count.as_deref().unwrap_or("?")
    );
    let ready = native_count.as_ref().map(|_| ()).map_err(Clone::clone);
    let cells = run(&name, "find walk", &ready, &mut |r| {
        let o = r.outcome(Path::new("/bin/sh"), &walk_script())?;
        let count = o.stdout.trim();
        match &native_count {
            Ok(n) if n == count => Ok(o.elapsed.as_secs_f64() * 1e3),
            _ => Err(format!(
                "counted {count:?} files, natively {native_count:?}"
            )),
        }
    });
    rows.push(row(name, cells));

    let name =
        format!("create+write 4 KiB+close+unlink in /tmp or /dev/shm (µs/file; N={CHURN_N})");
    let churn = compile("create_unlink");
    let ready = churn
        .as_ref()
        .map(|_| ())
        .map_err(|e| format!("build failed: {e}"));
    let cells = run(&name, "create/unlink", &ready, &mut |r| {
        let dir = scratch(mem_dir(r), "churn");
        let _ = std::fs::remove_dir_all(&dir);
        let prog = churn.as_ref().map_err(Clone::clone)?;
        let args = [dir.display().to_string(), CHURN_N.to_string()];
        metric(r, prog, &args, "us_per_file")
    });
    rows.push(row(name, cells));

    let method = format!(
        "medians of up to {ROUNDS} interleaved rounds after a discarded warm-up round (which \
         also brings the data files into the page cache; fewer rounds once a configuration has \
         spent {}s on a benchmark); ratios are ratios of medians. For the GB/s rows higher is \
         better: rvisor/native is the fraction of native throughput and runsc/rvisor < 1 means \
         rvisor is faster; for the time rows runsc/rvisor > 1 means rvisor is faster. \
         \"/tmp or /dev/shm\": /tmp in the sandboxes (rvisor's own tmpfs, runsc's in-memory \
         overlay root), the host's tmpfs /dev/shm natively (the host's /tmp is a disk); the \
         root fs is the host's disk natively (page cache, `sync` \
         before each write) and an in-memory overlay in both sandboxes",
        BUDGET.as_secs()
    );
    publish(&report(
        "File systems: rvisor vs native vs runsc (ptrace)",
        &setup,
        &method,
        &rows,
    ));
}
