//! The sqlite3 command-line program on rvisor's file systems: a
//! 20,000-row insert in one transaction, then `PRAGMA integrity_check`, on
//! the sandbox's tmpfs, on the overlay root of `rvisor do`, and on a
//! writable bind mount of an OCI bundle (whose database file the host then
//! checks with its own sqlite3).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rvisor_tests::{run_with_timeout, rvisor_bin, rvisor_do, scratch_dir, show, TIMEOUT};

const ROWS: usize = 20_000;

/// A fresh directory with the SQL script; returns (dir, script path).
fn script(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut sql = String::from("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\nBEGIN;\n");
    for i in 1..=ROWS {
        sql.push_str(&format!(
            "INSERT INTO t VALUES({i}, 'row {i} {}');\n",
            "x".repeat(i % 50)
        ));
    }
    sql.push_str("COMMIT;\nPRAGMA integrity_check;\nSELECT count(*), sum(a) FROM t;\n");
    let path = dir.join("script.sql");
    std::fs::write(&path, sql).unwrap();
    (dir, path)
}

fn expected() -> String {
    format!("ok\n{ROWS}|{}\n", ROWS * (ROWS + 1) / 2)
}

#[test]
fn sqlite_on_tmpfs_and_on_the_overlay_root() {
    let (_dir, sql) = script("sqlite-do");
    for db in ["/tmp/rvt.db", "/root/rvt.db"] {
        let cmd = format!("sqlite3 {db} < {} && ls -l {db} >/dev/null", sql.display());
        let out = rvisor_do(&["--", "/bin/sh", "-c", &cmd]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected(),
            "{}",
            show(db, &out)
        );
    }
    assert!(
        !Path::new("/root/rvt.db").exists(),
        "the overlay write reached the host"
    );
}

#[test]
fn sqlite_on_a_writable_bind_mount_of_a_bundle() {
    let (dir, _sql) = script("sqlite-bundle");
    let data = dir.clone();
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    for d in ["usr", "etc", "proc", "dev", "tmp", "data"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    // The host's merged-/usr layout; /usr itself comes read-only from the host.
    for (l, t) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        std::os::unix::fs::symlink(t, rootfs.join(l)).unwrap();
    }
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/usr/bin/sqlite3", "/data/t.db", ".read /data/script.sql"],
            "env": ["PATH=/usr/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs", "readonly": true},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
            {"destination": "/data", "type": "bind", "source": data, "options": ["rbind", "rw"]}
        ],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
    });
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    let state = dir.join("state");
    let out = run_with_timeout(
        Command::new(rvisor_bin())
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("sqlite-{}", std::process::id())),
        TIMEOUT,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected(),
        "{}",
        show("rvisor run", &out)
    );
    // The host's sqlite3 finds a valid database with every row.
    let out = run_with_timeout(
        Command::new("sqlite3")
            .arg(data.join("t.db"))
            .arg("PRAGMA integrity_check; SELECT count(*), sum(a) FROM t;"),
        TIMEOUT,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected(),
        "{}",
        show("host sqlite3", &out)
    );
}
