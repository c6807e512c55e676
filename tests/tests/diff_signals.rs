//! Differential tests: signals.
#![allow(clippy::unwrap_used)]
use rvisor_tests::diff_test;

diff_test!(sig_handler, "sig_handler");
diff_test!(sig_handler_static, "sig_handler", ["-static"]);
diff_test!(sig_restart, "sig_restart");
diff_test!(sig_mask, "sig_mask");
diff_test!(sig_timedwait, "sig_timedwait");
diff_test!(signalfd_ops, "signalfd_ops");
diff_test!(sig_suspend, "sig_suspend");
diff_test!(sig_altstack, "sig_altstack");
diff_test!(sig_altstack_static_pie, "sig_altstack", ["-static-pie"]);
diff_test!(sig_avx, "sig_avx", ["-mavx2"]);
diff_test!(sig_resethand, "sig_resethand");
diff_test!(sig_nodefer, "sig_nodefer");
diff_test!(sig_chld, "sig_chld");
diff_test!(sig_pgrp, "sig_pgrp");
diff_test!(sig_pipe, "sig_pipe");
diff_test!(sig_queue, "sig_queue");

/// A container's init drops signals whose action is the default, even
/// those it sends itself, and dies only of a fault: the program runs
/// natively as init of a new pid namespace (it makes one) and as the init
/// of an OCI container under `rvisor run`; outputs and statuses must match.
#[test]
fn init_signals_in_a_container() {
    use rvisor_tests::{
        compile_c, native, run_with_timeout, rvisor_bin, scratch_dir, shell_status, show, TIMEOUT,
    };
    let bin = compile_c("init_signals", &["-static"]);
    let nat = native(&[bin.to_str().unwrap()]);

    let dir = scratch_dir().join("init-signals-bundle");
    let _ = std::fs::remove_dir_all(&dir);
    let rootfs = dir.join("rootfs");
    for d in ["proc", "dev", "tmp", "bin"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(&bin, rootfs.join("bin/init_signals")).unwrap();
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"args": ["/bin/init_signals"], "cwd": "/", "env": ["PATH=/bin"],
                    "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let state = dir.join("state");
    let out = run_with_timeout(
        std::process::Command::new(rvisor_bin())
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&dir)
            .arg("init-signals"),
        TIMEOUT,
    );
    let _ = std::process::Command::new(rvisor_bin())
        .arg("--root")
        .arg(&state)
        .args(["delete", "--force", "init-signals"])
        .output();
    assert_eq!(
        (
            shell_status(&out.status),
            String::from_utf8_lossy(&out.stdout)
        ),
        (
            shell_status(&nat.status),
            String::from_utf8_lossy(&nat.stdout)
        ),
        "{}\n{}",
        show("native", &nat),
        show("rvisor run", &out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
