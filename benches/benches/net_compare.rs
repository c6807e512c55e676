//! TCP over loopback: rvisor vs native vs gVisor's runsc (ptrace platform),
//! side by side in one run. `cargo bench -p rvisor-benches --bench
//! net_compare`.
//!
//! 1. stream throughput — `c/tcp_loopback.c stream 256`: 256 MiB from a
//!    client to a forked server over 127.0.0.1 in 64 KiB writes, MB/s.
//! 2. request/response — `c/tcp_loopback.c rr N`: N round trips of 64
//!    bytes each way (TCP_NODELAY), µs per round trip.
//!
//! rvisor runs with its default network (the sandbox's own namespace,
//! loopback only; sockets served through host sockets the sentry owns).
//! runsc runs as in the other benchmarks, `--network=none`, which keeps
//! loopback in gVisor's own network stack (netstack); its `--network=host`
//! (hostinet, rvisor's design) cannot be used with `runsc do` in the
//! host's root network namespace, and in a new one `do` gets no loopback.
//! Rounds, budget and report as in `sandbox_compare`.

use std::time::Duration;

use rvisor_benches::harness::{compile, have_cc, measure, publish, report, row, setup, Runner};
use rvisor_benches::{parse_metric, table_text, Cell};

/// MiB per stream run.
const STREAM_MIB: u64 = 256;
/// Round trips per run natively and sandboxed.
const RR_N_NATIVE: u64 = 50_000;
const RR_N_SANDBOX: u64 = 5_000;
/// Measured rounds.
const ROUNDS: usize = 5;
/// Wall-clock budget of one configuration in one benchmark.
const BUDGET: Duration = Duration::from_secs(15);

fn smoke() -> Result<(), String> {
    if !have_cc() {
        println!("net_compare: no C compiler; smoke test skipped");
        return Ok(());
    }
    let prog = compile("tcp_loopback")?;
    let out = Runner::Native.output(&prog, &["stream".into(), "4".into()])?;
    parse_metric(&out, "mb_per_s").ok_or(format!("tcp_loopback printed {out:?}"))?;
    let out = Runner::Native.output(&prog, &["rr".into(), "100".into()])?;
    parse_metric(&out, "us_per_rr").ok_or(format!("tcp_loopback printed {out:?}"))?;
    println!("net_compare: smoke test ok (run `cargo bench -p rvisor-benches` to measure)");
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        if let Err(e) = smoke() {
            eprintln!("net_compare smoke test failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let setup = setup();
    let configs = &setup.configs;
    let mut rows = Vec::new();
    let prog = compile("tcp_loopback");

    let name = format!("TCP stream over 127.0.0.1, 64 KiB writes (MB/s; {STREAM_MIB} MiB)");
    let cells = match &prog {
        Ok(p) => measure("tcp stream", configs, ROUNDS, true, BUDGET, |r| {
            let out = r.output(p, &["stream".into(), STREAM_MIB.to_string()])?;
            parse_metric(&out, "mb_per_s")
                .ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
        }),
        Err(e) => vec![Cell::Missing(format!("build failed: {e}")); 3],
    };
    rows.push(row(name, cells));

    let name = format!(
        "TCP request/response, 64 bytes each way (µs/round trip; N={RR_N_NATIVE} native, \
         {RR_N_SANDBOX} sandboxed)"
    );
    let cells = match &prog {
        Ok(p) => measure("tcp rr", configs, ROUNDS, true, BUDGET, |r| {
            let n = if r.is_native() {
                RR_N_NATIVE
            } else {
                RR_N_SANDBOX
            };
            let out = r.output(p, &["rr".into(), n.to_string()])?;
            parse_metric(&out, "us_per_rr")
                .ok_or_else(|| format!("unexpected output {:?}", table_text(&out, 40)))
        }),
        Err(e) => vec![Cell::Missing(format!("build failed: {e}")); 3],
    };
    rows.push(row(name, cells));

    let method = format!(
        "medians of up to {ROUNDS} interleaved rounds after a discarded warm-up round (fewer \
         once a configuration has spent {}s on a benchmark); ratios are ratios of medians; \
         for MB/s higher is better (rvisor/native is the fraction of native throughput)",
        BUDGET.as_secs()
    );
    publish(&report(
        "TCP over loopback: rvisor vs native vs runsc (ptrace, netstack loopback)",
        &setup,
        &method,
        &rows,
    ));
}
