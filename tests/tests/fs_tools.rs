//! Everyday file tools on rvisor's file systems give the native answers:
//! tar czf/xzf of /usr/share/doc into the sandbox's tmpfs (/tmp) and its
//! overlay root (/root), diff -r, cp -a, mv across mounts, find and du
//! (tests/scripts/fs_tools.sh, run natively on host scratch directories
//! and under `rvisor do`).
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use rvisor_tests::{run_with_timeout, rvisor_bin, scratch_dir, show, workspace_root};

#[test]
fn tar_cp_mv_find_du_match_native() {
    // The scratch directory is visible inside the sandbox (the workspace
    // may be under /tmp, which the sandbox replaces).
    let script = scratch_dir().join("fs_tools.sh");
    std::fs::copy(workspace_root().join("tests/scripts/fs_tools.sh"), &script).unwrap();
    let dir = scratch_dir().join("fs-tools");
    let _ = std::fs::remove_dir_all(&dir);
    let native = run_with_timeout(
        Command::new("/bin/sh")
            .arg(&script)
            .arg(dir.join("a"))
            .arg(dir.join("b")),
        Duration::from_secs(300),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let sandbox = run_with_timeout(
        Command::new(rvisor_bin())
            .args(["do", "--", "/bin/sh"])
            .arg(&script)
            .args(["/tmp/fs-tools", "/root/fs-tools"]),
        Duration::from_secs(300),
    );
    assert!(native.status.success(), "{}", show("native", &native));
    assert!(sandbox.status.success(), "{}", show("rvisor do", &sandbox));
    let n = String::from_utf8_lossy(&native.stdout);
    // (diff -r exits 2 natively too: /usr/share/doc has dangling symlinks.)
    assert!(
        n.contains("cp -a: 0") && n.contains("mv across mounts: 0"),
        "{n}"
    );
    assert_eq!(
        n,
        String::from_utf8_lossy(&sandbox.stdout),
        "{}\n{}",
        show("native", &native),
        show("rvisor do", &sandbox)
    );
}
