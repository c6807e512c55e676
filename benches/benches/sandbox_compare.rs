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
//! benchmark, which bounds the whole run to about two minutes. The table goes
//! to stdout and, as the section "rvisor vs native vs runsc (ptrace)", to
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

use std::path::Path;
use std::time::Duration;

use rvisor_benches::harness::{compile, have_cc, measure, publish, report, row, setup, Runner};
use rvisor_benches::{parse_metric, run, table_text, Cell};

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
const TIMEOUT: Duration = rvisor_benches::harness::TIMEOUT;

/// Under `cargo test --benches`: build the C programs and run them natively.
fn smoke() -> Result<(), String> {
    if !have_cc() {
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

    let setup = setup();
    let configs = &setup.configs;

    // ---- benchmarks -------------------------------------------------------
    let mut rows = Vec::new();

    let name = format!(
        "getpid round trip (ns/call; N={GETPID_N_NATIVE} native, {GETPID_N_SANDBOX} sandboxed)"
    );
    let cells = match compile("getpid_loop") {
        Ok(prog) => measure("getpid", configs, ROUNDS, true, BUDGET, |r| {
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
        Ok(prog) => measure("fork+exec+wait", configs, ROUNDS, false, BUDGET, |r| {
            let out = r.output(&prog, &[FORK_EXEC_N.to_string(), "/bin/true".to_string()])?;
            parse_metric(&out, "us_per_iter")
                .ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
        }),
        Err(e) => vec![Cell::Missing(format!("build failed: {e}")); 3],
    };
    rows.push(row(name, cells));

    let name = format!("`do /bin/true` start to exit (ms; K={DO_TRUE_K})");
    let cells = measure("do /bin/true", configs, DO_TRUE_K, true, BUDGET, |r| {
        let o = run(&mut r.command(Path::new("/bin/true"), &[]), TIMEOUT)?;
        o.success()?;
        Ok(o.elapsed.as_secs_f64() * 1e3)
    });
    rows.push(row(name, cells));

    // ---- report -----------------------------------------------------------
    let method = format!(
        "medians of up to {ROUNDS} interleaved rounds ({DO_TRUE_K} for `do /bin/true`; fewer \
         once a configuration has spent {}s on a benchmark), after a discarded warm-up round \
         (none for fork+exec+wait); ratios are ratios of medians (runsc/rvisor > 1: rvisor is \
         faster)",
        BUDGET.as_secs()
    );
    publish(&report(
        "rvisor vs native vs runsc (ptrace)",
        &setup,
        &method,
        &rows,
    ));
}
