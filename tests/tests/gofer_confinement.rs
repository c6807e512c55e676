//! The gofer of a running sandbox is its own, confined process: seccomp
//! filter mode, no_new_privs, and a mount namespace of its own.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvisor_tests::rvisor_bin;

fn status_field(pid: u32, key: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
}

/// Children (host pids) of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if status_field(p, "PPid:").as_deref() == Some(&pid.to_string()) {
            out.push(p);
        }
    }
    out
}

#[test]
fn gofer_is_seccomp_confined_in_its_own_mount_namespace() {
    let mut sandbox = Command::new(rvisor_bin())
        .args(["do", "--", "/bin/sleep", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let me = sandbox.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let gofer = loop {
        let found = children(me).into_iter().find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|a| a == b"gofer"))
                .unwrap_or(false)
        });
        if let Some(g) = found {
            if status_field(g, "Seccomp:").as_deref() == Some("2") {
                break g;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no confined gofer child of the sandbox appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status_field(gofer, "NoNewPrivs:").as_deref(), Some("1"));
    let mine = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let its = std::fs::read_link(format!("/proc/{gofer}/ns/mnt")).unwrap();
    assert_ne!(mine, its, "the gofer shares the host's mount namespace");
    let st = sandbox.wait().unwrap();
    assert!(st.success(), "{st:?}");
}
