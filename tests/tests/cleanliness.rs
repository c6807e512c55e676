//! 100 sequential `rvisor do /bin/true` leave nothing behind: no rvisor or
//! stub processes, no living descendants, no leaked file descriptors.
//!
//! This is the only test in its binary on purpose: it makes the test process
//! a child subreaper and counts its own fds, so nothing may run beside it.
#![allow(clippy::unwrap_used)]

use rvisor_tests::{assert_rvisor_exited, rvisor_bin, sandbox, show, sys};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

struct Proc {
    pid: u32,
    ppid: u32,
    state: char,
    comm: String,
    exe: Option<PathBuf>,
    cmdline: String,
}

fn processes() -> Vec<Proc> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may contain spaces and parentheses.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim_end()
            .to_string();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        v.push(Proc {
            pid,
            ppid,
            state,
            comm,
            exe,
            cmdline,
        });
    }
    v
}

fn is_rvisor(p: &Proc, bin: &PathBuf) -> bool {
    p.comm == "rvisor"
        || p.comm == "rvisor-stub"
        || p.exe.as_ref().is_some_and(|e| e == bin)
        || p.cmdline.starts_with(&format!("{} ", bin.display()))
}

fn describe(p: &Proc) -> String {
    format!(
        "pid {} ppid {} state {} comm {:?} exe {:?} cmdline {:?}",
        p.pid, p.ppid, p.state, p.comm, p.exe, p.cmdline
    )
}

#[test]
fn h_hundred_runs_leave_no_processes_or_fds() {
    let bin = rvisor_bin();
    let bin_canon = std::fs::canonicalize(&bin).unwrap_or(bin.clone());
    assert!(
        sys::set_child_subreaper(),
        "prctl(PR_SET_CHILD_SUBREAPER) failed"
    );
    let me = std::process::id();

    // Warm up once (lazy statics in the harness open nothing afterwards).
    let warm = sandbox(&["/bin/true"]);
    assert_rvisor_exited(&warm, "/bin/true");
    sys::reap_zombies();
    let before: BTreeSet<u32> = processes()
        .iter()
        .filter(|p| is_rvisor(p, &bin_canon))
        .map(|p| p.pid)
        .collect();
    let fds_before = fd_count();

    for i in 0..100 {
        let out = sandbox(&["/bin/true"]);
        assert_rvisor_exited(&out, "/bin/true");
        assert!(
            out.status.success(),
            "run {i} failed\n{}",
            show("rvisor do /bin/true", &out)
        );
    }

    // Give stragglers a moment, reaping zombies that were re-parented to us.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (leaked, children) = loop {
        sys::reap_zombies();
        let procs = processes();
        let leaked: Vec<String> = procs
            .iter()
            .filter(|p| is_rvisor(p, &bin_canon) && !before.contains(&p.pid) && p.state != 'Z')
            .map(describe)
            .collect();
        let children: Vec<String> = procs
            .iter()
            .filter(|p| p.ppid == me && p.state != 'Z')
            .map(describe)
            .collect();
        if (leaked.is_empty() && children.is_empty()) || Instant::now() >= deadline {
            break (leaked, children);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        leaked.is_empty(),
        "rvisor/stub processes left behind after 100 runs:\n{}",
        leaked.join("\n")
    );
    assert!(
        children.is_empty(),
        "orphaned descendants of rvisor are still alive:\n{}",
        children.join("\n")
    );

    let fds_after = fd_count();
    assert_eq!(
        fds_before, fds_after,
        "the test process's fd count changed: {fds_before} -> {fds_after}"
    );
}
