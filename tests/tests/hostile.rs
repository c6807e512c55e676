//! Hostile workloads: the sandbox must contain them and keep working.
#![allow(clippy::unwrap_used)]

use rvisor_tests::{compile_c, sandbox};

#[test]
fn random_syscalls_with_wild_arguments_leave_the_sentry_standing() {
    let prog = compile_c("hostile/random_syscalls", &[]);
    let out = sandbox(&[prog.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "parent outlived 12 hostile children\n");
    // And the next sandbox works.
    let next = sandbox(&["/bin/true"]);
    assert_eq!(next.status.code(), Some(0));
}

#[test]
fn socket_calls_with_garbage_arguments_leave_the_sentry_standing() {
    let prog = compile_c("hostile/socket_fuzz", &[]);
    let out = sandbox(&[prog.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "parent outlived 8 hostile socket children\n");
}
