//! Checks on the test programs themselves, without rvisor: every program in
//! tests/c compiles (dynamic, -static, -static-pie), passes its own CHECKs
//! natively with the expected exit status, and prints the same output on two
//! runs (a differential test is only meaningful for deterministic programs).
//! Also checks that every program has a differential test.
#![allow(clippy::unwrap_used)]

use rvisor_tests::{c_programs, compile_c, native, shell_status, show};
use std::sync::Mutex;

fn expected_status(name: &str) -> i32 {
    match name {
        "crash_null" => 139,
        "div_zero" => 136,
        // init of its pid namespace, killed by the fault it ends with
        "init_signals" => 139,
        _ => 0,
    }
}

fn args_for(name: &str) -> Vec<&'static str> {
    match name {
        "many_args" => vec!["x", "y", "z"],
        _ => vec![],
    }
}

fn check_program(name: &str, flags: &[&str]) -> Result<(), String> {
    let bin = compile_c(name, flags);
    let mut cmd = vec![bin.to_str().unwrap()];
    cmd.extend(args_for(name));
    let a = native(&cmd);
    let b = native(&cmd);
    let label = format!("{name} {flags:?}");
    let out = String::from_utf8_lossy(&a.stdout);
    if out.contains("CHECK FAILED") {
        return Err(format!(
            "{label}: a CHECK failed natively\n{}",
            show("native", &a)
        ));
    }
    let st = shell_status(&a.status);
    if st != expected_status(name) {
        return Err(format!(
            "{label}: native exit status {st}, expected {}\n{}",
            expected_status(name),
            show("native", &a)
        ));
    }
    if a.stdout != b.stdout || a.status != b.status {
        return Err(format!(
            "{label}: nondeterministic output between two native runs\n{}{}",
            show("run 1", &a),
            show("run 2", &b)
        ));
    }
    Ok(())
}

fn run_all(flags: &'static [&'static str], only: Option<&[&str]>) {
    let progs: Vec<String> = c_programs()
        .into_iter()
        .filter(|p| match only {
            None => true,
            Some(o) => o.contains(&p.as_str()),
        })
        .collect();
    assert!(!progs.is_empty());
    let queue = Mutex::new(progs);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let Some(p) = queue.lock().unwrap().pop() else {
                    return;
                };
                if let Err(e) = check_program(&p, flags) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_programs_deterministic_natively() {
    assert!(c_programs().len() >= 35, "expected at least 35 C programs");
    run_all(&[], None);
}

#[test]
fn static_variants_natively() {
    run_all(
        &["-static"],
        Some(&[
            "io_basic",
            "fork_wait",
            "thread_mutex",
            "mmap_ops",
            "errors",
            "crash_null",
        ]),
    );
}

#[test]
fn static_pie_variants_natively() {
    run_all(
        &["-static-pie"],
        Some(&[
            "io_basic",
            "thread_mutex",
            "segv_recover",
            "brk_grow",
            "file_io",
        ]),
    );
}

#[test]
fn every_program_has_a_differential_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut sources = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        if name.starts_with("diff_") && name.ends_with(".rs") {
            sources.push_str(&std::fs::read_to_string(e.path()).unwrap());
        }
    }
    let missing: Vec<String> = c_programs()
        .into_iter()
        .filter(|p| !sources.contains(&format!("\"{p}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "C programs without a differential test: {missing:?}"
    );
}
