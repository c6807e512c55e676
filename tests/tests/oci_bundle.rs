//! rvisor as an OCI runtime for a plain bundle: `run`, the
//! create → start → state → delete life cycle, `kill`, `list`, `spec`,
//! `features`, what `create` refuses, and terminals (`process.terminal`
//! with runc's console socket, also for `exec`), and the network the
//! container's sockets get.
//!
//! Each test has its own state root and bundle under the scratch
//! directory; the rootfs is a copy of /bin/busybox with a few applet links.
//! `create` leaves the sandbox process running with create's stdio, so
//! commands that may do that write their output to files, not pipes.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rvisor_tests::{run_with_timeout, rvisor_bin, scratch_dir, shell_status, show, TIMEOUT};

const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "ls", "id", "hostname", "true", "ps", "kill", "pwd", "grep",
    "wc", "tty", "stty", "httpd", "wget", "mkdir",
];

/// A fresh directory for one test: `<scratch>/oci-<name>/{state,bundle}`.
fn test_dir(name: &str) -> PathBuf {
    let d = scratch_dir().join(format!("oci-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A bundle in `<dir>/bundle` whose init runs `args`.
fn bundle(dir: &Path, args: &[&str]) -> PathBuf {
    let b = dir.join("bundle");
    let rootfs = b.join("rootfs");
    for sub in ["bin", "proc", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/"
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ]
        }
    });
    write_config(&b, &config);
    b
}

fn write_config(bundle: &Path, v: &serde_json::Value) {
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(v).unwrap(),
    )
    .unwrap();
}

fn read_config(bundle: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap()
}

fn rvisor_cmd(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(rvisor_bin());
    c.arg("--root").arg(root).args(args);
    c
}

/// Runs `rvisor --root ROOT ARGS` with captured output (for commands that
/// leave nothing running behind them).
fn rvisor(root: &Path, args: &[&str]) -> Output {
    run_with_timeout(&mut rvisor_cmd(root, args), TIMEOUT)
}

/// Starts `rvisor --root ROOT ARGS` with stdout/stderr going to files
/// `<dir>/<tag>.out|.err` (the sandbox may keep them open).
fn spawn_to_files(dir: &Path, tag: &str, root: &Path, args: &[&str]) -> Child {
    let out = File::create(dir.join(format!("{tag}.out"))).unwrap();
    let err = File::create(dir.join(format!("{tag}.err"))).unwrap();
    rvisor_cmd(root, args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// Waits for `child` (killing its group after the timeout); returns the
/// shell status.
fn wait_child(mut child: Child, what: &str) -> i32 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return shell_status(&st);
        }
        if Instant::now() > deadline {
            rvisor_tests::sys::kill_group(child.id());
            let _ = child.wait();
            panic!("TIMEOUT: {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `rvisor state ID` parsed.
fn state(root: &Path, id: &str) -> serde_json::Value {
    let out = rvisor(root, &["state", id]);
    assert!(out.status.success(), "{}", show("state", &out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("state is not JSON ({e}): {}", show("state", &out)))
}

/// Polls `state` until its status is `want` (the container may not exist
/// yet: `run` is still creating it).
fn wait_status(root: &Path, id: &str, want: &str) -> serde_json::Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = rvisor(root, &["state", id]);
        let st: serde_json::Value = if out.status.success() {
            serde_json::from_slice(&out.stdout).unwrap()
        } else {
            serde_json::Value::Null
        };
        if st["status"] == want {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "container {id} never became {want}: {}",
            show("state", &out)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the sandbox processes of every container under a state root when
/// a test ends (also when it fails), so nothing outlives it.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Ok(rd) = std::fs::read_dir(&self.0) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(b) = std::fs::read(e.path().join("state.json")) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else {
                continue;
            };
            let Some(pid) = v["pid"].as_i64().and_then(|p| u32::try_from(p).ok()) else {
                continue;
            };
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains("\0boot\0") {
                // The boot process leads its own session and process group.
                rvisor_tests::sys::kill_group(pid);
            }
        }
    }
}

type Edit = Box<dyn Fn(&mut serde_json::Value)>;

fn pid_alive(pid: i64) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = s[s.rfind(')').unwrap() + 1..].split_whitespace().next();
    !matches!(state, Some("Z") | Some("X"))
}

#[test]
fn run_prints_and_exits_with_status() {
    let dir = test_dir("run");
    let b = bundle(&dir, &["sh", "-c", "echo hi; hostname; exit 3"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "id1"]);
    assert_eq!(shell_status(&out.status), 3, "{}", show("run", &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\noci-test\n");
    // `run` deletes the container once it has exited.
    assert!(!root.join("id1").exists());
    let out = rvisor(&root, &["state", "id1"]);
    assert_eq!(out.status.code(), Some(1), "{}", show("state", &out));
}

#[test]
fn create_start_state_delete() {
    let dir = test_dir("lifecycle");
    let b = bundle(
        &dir,
        &["sh", "-c", "echo ran as $(id -u); sleep 0.3; exit 5"],
    );
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let pid_file = dir.join("pid");
    let create = spawn_to_files(
        &dir,
        "create",
        &root,
        &[
            "create",
            "--bundle",
            b.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "c1",
        ],
    );
    let code = wait_child(create, "create");
    assert_eq!(code, 0, "create: {}", read(&dir, "create.err"));

    let st = state(&root, "c1");
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], "c1");
    assert_eq!(
        st["ociVersion"].as_str().map(|v| v.starts_with("1.")),
        Some(true)
    );
    assert_eq!(st["bundle"], b.canonicalize().unwrap().to_str().unwrap());
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0, "{st}");
    assert!(pid_alive(pid));
    let recorded: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(recorded, pid);
    // Nothing ran yet.
    assert_eq!(read(&dir, "create.out"), "");

    let out = rvisor(&root, &["list"]);
    assert!(out.status.success(), "{}", show("list", &out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("c1 ") && l.contains("created")),
        "{table}"
    );
    let out = rvisor(&root, &["list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], "c1", "{list}");

    let out = rvisor(&root, &["ps", "--format", "json", "c1"]);
    assert!(out.status.success(), "{}", show("ps", &out));
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(pids.contains(&pid), "{pids:?}");

    let out = rvisor(&root, &["start", "c1"]);
    assert!(out.status.success(), "{}", show("start", &out));
    let out = rvisor(&root, &["start", "c1"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "second start: {}",
        show("start", &out)
    );

    let st = wait_status(&root, "c1", "stopped");
    assert_eq!(st["pid"], 0, "{st}");
    assert_eq!(read(&dir, "create.out"), "ran as 0\n");
    assert!(!pid_alive(pid));

    let out = rvisor(&root, &["kill", "c1", "KILL"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "kill of a stopped container: {}",
        show("kill", &out)
    );

    let out = rvisor(&root, &["delete", "c1"]);
    assert!(out.status.success(), "{}", show("delete", &out));
    assert!(!root.join("c1").exists());
    let out = rvisor(&root, &["delete", "c1"]);
    assert_eq!(out.status.code(), Some(1), "{}", show("delete again", &out));
    let out = rvisor(&root, &["delete", "--force", "c1"]);
    assert!(out.status.success(), "{}", show("delete --force", &out));
}

#[test]
fn kill_sleeping_container() {
    let dir = test_dir("kill");
    let b = bundle(&dir, &["sleep", "100"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--bundle", b.to_str().unwrap(), "k1"],
    );
    let st = wait_status(&root, "k1", "running");
    let pid = st["pid"].as_i64().unwrap();

    // init (pid 1 inside) has no TERM handler: like a pid namespace's init
    // signalled from outside, it ignores TERM.
    let out = rvisor(&root, &["kill", "k1"]);
    assert!(out.status.success(), "{}", show("kill TERM", &out));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state(&root, "k1")["status"], "running");

    let out = rvisor(&root, &["delete", "k1"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        show("delete running", &out)
    );

    let out = rvisor(&root, &["kill", "k1", "KILL"]);
    assert!(out.status.success(), "{}", show("kill KILL", &out));
    let code = wait_child(run, "run");
    assert_eq!(code, 137, "run: {}", read(&dir, "run.err"));
    assert!(!pid_alive(pid));
}

#[test]
fn kill_with_handler_and_all() {
    let dir = test_dir("killtrap");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--bundle", b.to_str().unwrap(), "t1"],
    );
    wait_status(&root, "t1", "running");
    let deadline = Instant::now() + TIMEOUT;
    while !read(&dir, "run.out").contains("ready") {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = rvisor(&root, &["kill", "--all", "t1", "SIGTERM"]);
    assert!(out.status.success(), "{}", show("kill --all", &out));
    let code = wait_child(run, "run");
    assert_eq!(code, 7, "run: {}", read(&dir, "run.err"));
    assert!(read(&dir, "run.out").contains("got TERM"));
}

#[test]
fn delete_created_container_kills_it() {
    let dir = test_dir("delcreated");
    let b = bundle(&dir, &["true"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let create = spawn_to_files(
        &dir,
        "create",
        &root,
        &["create", "--bundle", b.to_str().unwrap(), "d1"],
    );
    assert_eq!(
        wait_child(create, "create"),
        0,
        "{}",
        read(&dir, "create.err")
    );
    let pid = state(&root, "d1")["pid"].as_i64().unwrap();
    assert!(pid_alive(pid));
    // The same id cannot be created twice.
    let again = spawn_to_files(
        &dir,
        "again",
        &root,
        &["create", "--bundle", b.to_str().unwrap(), "d1"],
    );
    assert_eq!(wait_child(again, "create again"), 1);
    assert!(read(&dir, "again.err").contains("already exists"));

    let out = rvisor(&root, &["delete", "d1"]);
    assert!(out.status.success(), "{}", show("delete", &out));
    assert!(!pid_alive(pid));
    assert!(!root.join("d1").exists());
}

#[test]
fn create_refuses_unsupported_settings() {
    let dir = test_dir("refuse");
    let b = bundle(&dir, &["true"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let base = read_config(&b);
    let cases: Vec<(&str, Edit)> = vec![
        (
            // A detached container with a terminal needs a console socket
            // to send the terminal to (runc refuses it too).
            "console-socket",
            Box::new(|c| c["process"]["terminal"] = true.into()),
        ),
        (
            "/cg",
            Box::new(|c| {
                c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
                    {"destination": "/cg", "type": "cgroup", "source": "cgroup"}
                ))
            }),
        ),
        (
            "/data",
            Box::new(|c| {
                c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
                    {"destination": "/data", "type": "bind", "source": "/dev/null", "options": ["rbind"]}
                ))
            }),
        ),
        (
            "executable file not found",
            Box::new(|c| c["process"]["args"] = serde_json::json!(["nosuchprogram"])),
        ),
        (
            "/nonexistent",
            Box::new(|c| c["process"]["cwd"] = "/nonexistent".into()),
        ),
        (
            // IPC limits are kernel state the sandbox does not emulate.
            "kernel.shmmax: not supported",
            Box::new(|c| c["linux"]["sysctl"] = serde_json::json!({"kernel.shmmax": "1024"})),
        ),
        (
            // net.* needs a network namespace of the container's own.
            "need the container's own network namespace",
            Box::new(|c| {
                c["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}, {"type": "mount"}]);
                c["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
            }),
        ),
        (
            "no_such_knob",
            Box::new(|c| {
                c["linux"]["sysctl"] = serde_json::json!({"net.ipv4.no_such_knob": "1"});
            }),
        ),
    ];
    for (i, (needle, edit)) in cases.iter().enumerate() {
        let mut c = base.clone();
        edit(&mut c);
        write_config(&b, &c);
        let tag = format!("refuse{i}");
        let id = format!("r{i}");
        let child = spawn_to_files(
            &dir,
            &tag,
            &root,
            &["create", "--bundle", b.to_str().unwrap(), &id],
        );
        let code = wait_child(child, "create");
        let err = read(&dir, &format!("{tag}.err"));
        assert_eq!(code, 1, "case {needle}: {err}");
        assert!(err.contains(needle), "case {needle}: {err}");
        assert!(!root.join(&id).exists(), "case {needle}: state left behind");
    }
}

#[test]
fn spec_writes_a_valid_config() {
    let dir = test_dir("spec");
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["spec", "--bundle", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show("spec", &out));
    let spec = oci_spec::runtime::Spec::load(dir.join("config.json")).unwrap();
    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &vec!["sh".to_string()]);
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("rootfs"));
    // runc refuses to overwrite an existing config.json, and so do we.
    let out = rvisor(&root, &["spec", "--bundle", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show("spec again", &out));

    let rl = dir.join("rootless");
    std::fs::create_dir_all(&rl).unwrap();
    let out = rvisor(
        &root,
        &["spec", "--rootless", "--bundle", rl.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", show("spec --rootless", &out));
    let spec = oci_spec::runtime::Spec::load(rl.join("config.json")).unwrap();
    assert!(spec.linux().as_ref().unwrap().uid_mappings().is_some());
}

#[test]
fn features_lists_what_rvisor_supports() {
    let dir = test_dir("features");
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["features"]);
    assert!(out.status.success(), "{}", show("features", &out));
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0", "{f}");
    assert!(
        f["linux"]["namespaces"].as_array().unwrap().len() >= 5,
        "{f}"
    );
    assert_eq!(
        f["hooks"],
        serde_json::json!([
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ])
    );
}

#[test]
fn writable_root_changes_reach_the_bundle() {
    let dir = test_dir("rwroot");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "echo data > /etc/made && mkdir /etc/d && mv /etc/made /etc/d/moved && ln -s moved /etc/d/link && chmod 600 /etc/d/moved && cat /etc/d/link && rm /bin/cat && echo done",
        ],
    );
    let mut cfg = read_config(&b);
    cfg["root"]["readonly"] = serde_json::json!(false);
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "rw1"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "data\ndone\n");
    let rootfs = b.join("rootfs");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/d/moved")).unwrap(),
        "data\n"
    );
    assert!(!rootfs.join("etc/made").exists());
    assert_eq!(
        std::fs::read_link(rootfs.join("etc/d/link")).unwrap(),
        PathBuf::from("moved")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(rootfs.join("etc/d/moved"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::symlink_metadata(rootfs.join("bin/cat")).is_err(),
        "rm inside reached the bundle"
    );
}

#[test]
fn readonly_root_refuses_writes() {
    let dir = test_dir("roroot");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "echo x > /etc/nope 2>/dev/null && echo wrote || echo refused",
        ],
    );
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "ro1"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "refused\n");
    assert!(!b.join("rootfs/etc/nope").exists());
}

/// Copies the static `xattr_ops` tool into the bundle's rootfs as
/// `/bin/xattr_ops`.
fn install_xattr_tool(b: &Path) {
    let tool = rvisor_tests::compile_c("xattr_ops", &["-static"]);
    std::fs::copy(tool, b.join("rootfs/bin/xattr_ops")).unwrap();
}

/// Runs the `xattr_ops` tool on the host.
fn host_xattrs(args: &[&str]) -> String {
    let tool = rvisor_tests::compile_c("xattr_ops", &[]);
    let out = run_with_timeout(Command::new(tool).args(args), TIMEOUT);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn xattrs_through_the_gofer() {
    // Writable root: attributes set inside reach the bundle's files;
    // read-only root: they can be read but not changed (EROFS).
    let dir = test_dir("xattr");
    let b = bundle(
        &dir,
        &[
            "xattr_ops",
            "get",
            "/etc/f",
            "user.host",
            "set",
            "/etc/f",
            "user.a",
            "A",
            "set",
            "/etc",
            "user.d",
            "D",
            "rm",
            "/etc/f",
            "user.host",
            "list",
            "/etc/f",
            "get",
            "/etc/f",
            "user.a",
            "set",
            "/bin/sh",
            "user.l",
            "x",
            "rm",
            "/etc/f",
            "user.none",
        ],
    );
    install_xattr_tool(&b);
    let f = b.join("rootfs/etc/f");
    std::fs::write(&f, "f\n").unwrap();
    let f = f.to_str().unwrap().to_string();
    assert_eq!(
        host_xattrs(&["set", &f, "user.host", "H"]),
        "set user.host: 0\n",
        "the host's file system must support user xattrs"
    );
    let mut cfg = read_config(&b);
    cfg["root"]["readonly"] = serde_json::json!(false);
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "xrw"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    // /bin/sh is a symlink to busybox: set follows it to a regular file.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "get user.host: 1 \"H\"\nset user.a: 0\nset user.d: 0\nrm user.host: 0\n\
         list: 7 [user.a]\nget user.a: 1 \"A\"\nset user.l: 0\nrm user.none: ENODATA\n",
        "{}",
        show("run", &out)
    );
    let etc = b.join("rootfs/etc");
    let busybox = b.join("rootfs/bin/busybox");
    assert_eq!(
        host_xattrs(&[
            "list",
            &f,
            "get",
            etc.to_str().unwrap(),
            "user.d",
            "get",
            busybox.to_str().unwrap(),
            "user.l",
        ]),
        "list: 7 [user.a]\nget user.d: 1 \"D\"\nget user.l: 1 \"x\"\n"
    );

    cfg["root"]["readonly"] = serde_json::json!(true);
    cfg["process"]["args"] = serde_json::json!([
        "xattr_ops",
        "get",
        "/etc/f",
        "user.a",
        "set",
        "/etc/f",
        "user.b",
        "B",
        "rm",
        "/etc/f",
        "user.a",
        "list",
        "/etc/f"
    ]);
    write_config(&b, &cfg);
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "xro"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "get user.a: 1 \"A\"\nset user.b: EROFS\nrm user.a: EROFS\nlist: 7 [user.a]\n",
        "{}",
        show("run", &out)
    );
    assert_eq!(host_xattrs(&["list", &f]), "list: 7 [user.a]\n");
}

#[test]
fn symlinks_and_dotdot_never_leave_the_rootfs() {
    let dir = test_dir("escape");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "for p in /up/secret /abs/secret /deep/secret /../secret /../../bundle/secret /etc/../../secret; do cat $p 2>/dev/null && echo LEAK $p; done; ln /up/secret /tmp/x 2>/dev/null && echo LINKED; echo checked",
        ],
    );
    std::fs::write(b.join("secret"), "host secret\n").unwrap();
    let rootfs = b.join("rootfs");
    std::os::unix::fs::symlink("..", rootfs.join("up")).unwrap();
    std::os::unix::fs::symlink("/..", rootfs.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../../../..", rootfs.join("deep")).unwrap();
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "esc1"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "checked\n",
        "{}",
        show("run", &out)
    );
}

#[test]
fn bind_mounts_rw_ro_and_files() {
    let dir = test_dir("binds");
    let host = dir.join("host");
    for d in ["rw", "ro", "files"] {
        std::fs::create_dir_all(host.join(d)).unwrap();
    }
    std::fs::write(host.join("rw/existing"), "old\n").unwrap();
    std::fs::write(host.join("ro/existing"), "kept\n").unwrap();
    std::fs::write(host.join("files/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::write(host.join("files/hostname"), "ro-name\n").unwrap();
    std::fs::write(host.join("files/secret"), "SIBLING\n").unwrap();
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "cat /rw/existing; echo new > /rw/new && mkdir /rw/sub && echo deep > /rw/sub/f && rm /rw/existing && echo rw-ok; \
             cat /ro/existing; (echo x > /ro/nope) 2>&1; (rm /ro/existing) 2>&1; \
             cat /etc/hosts; echo '10.0.0.1 added' >> /etc/hosts && echo file-rw-ok; \
             cat /etc/hostname; (echo y > /etc/hostname) 2>&1; \
             ls /etc/secret 2>&1; (rm /etc/hosts) 2>&1; echo end",
        ],
    );
    let mut cfg = read_config(&b);
    let mounts = cfg["mounts"].as_array_mut().unwrap();
    let h = |p: &str| host.join(p).to_str().unwrap().to_string();
    mounts.push(serde_json::json!({"destination": "/rw", "type": "bind", "source": h("rw"), "options": ["rbind", "rprivate"]}));
    mounts.push(serde_json::json!({"destination": "/ro", "type": "bind", "source": h("ro"), "options": ["rbind", "ro"]}));
    mounts.push(serde_json::json!({"destination": "/etc/hosts", "type": "bind", "source": h("files/hosts"), "options": ["rbind", "rprivate"]}));
    mounts.push(serde_json::json!({"destination": "/etc/hostname", "type": "bind", "source": h("files/hostname"), "options": ["rbind", "ro"]}));
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "binds1"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let want = "old\nrw-ok\nkept\n\
        sh: can't create /ro/nope: Read-only file system\n\
        rm: can't remove '/ro/existing': Read-only file system\n\
        127.0.0.1 localhost\nfile-rw-ok\nro-name\n\
        sh: can't create /etc/hostname: Read-only file system\n\
        ls: /etc/secret: No such file or directory\n\
        rm: can't remove '/etc/hosts': Read-only file system\nend\n";
    assert_eq!(stdout, want, "{}", show("run", &out));
    // rw writes reached the host; ro and file siblings untouched.
    assert_eq!(
        std::fs::read_to_string(host.join("rw/new")).unwrap(),
        "new\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("rw/sub/f")).unwrap(),
        "deep\n"
    );
    assert!(!host.join("rw/existing").exists());
    assert!(!host.join("ro/nope").exists());
    assert_eq!(
        std::fs::read_to_string(host.join("ro/existing")).unwrap(),
        "kept\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("files/hosts")).unwrap(),
        "127.0.0.1 localhost\n10.0.0.1 added\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("files/hostname")).unwrap(),
        "ro-name\n"
    );
    // The file mountpoints were created in the rootfs, like runc does.
    assert!(b.join("rootfs/etc/hosts").is_file());
}

#[test]
fn exec_runs_processes_in_the_running_container() {
    let dir = test_dir("exec");
    let b = bundle(&dir, &["sleep", "60"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--detach", "--bundle", b.to_str().unwrap(), "x1"],
    );
    assert_eq!(wait_child(run, "run -d"), 0, "{}", read(&dir, "run.err"));
    wait_status(&root, "x1", "running");

    // Foreground: output, exit status, the container's env and cwd, --user.
    let out = rvisor(
        &root,
        &[
            "exec",
            "--user",
            "1000:1000",
            "--cwd",
            "/tmp",
            "--env",
            "X=y",
            "x1",
            "sh",
            "-c",
            "echo $X $(id -u) $(pwd) $PATH; exit 5",
        ],
    );
    assert_eq!(shell_status(&out.status), 5, "{}", show("exec", &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "y 1000 /tmp /bin\n");

    // --process FILE, as containerd passes it.
    let pf = dir.join("process.json");
    std::fs::write(
        &pf,
        serde_json::to_vec(&serde_json::json!({
            "args": ["sh", "-c", "echo from-file; kill -TERM $$"],
            "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }))
        .unwrap(),
    )
    .unwrap();
    let out = rvisor(&root, &["exec", "--process", pf.to_str().unwrap(), "x1"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-file\n");
    assert_eq!(
        shell_status(&out.status),
        128 + 15,
        "{}",
        show("exec", &out)
    );

    // Capabilities and no_new_privs of the exec'd process: from
    // process.json, plus --cap and --no-new-privs on the command line.
    std::fs::write(
        &pf,
        serde_json::to_vec(&serde_json::json!({
            "args": ["grep", "-E", "^(CapEff|CapBnd|NoNewPrivs)", "/proc/self/status"],
            "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                             "permitted": ["CAP_CHOWN"]}
        }))
        .unwrap(),
    )
    .unwrap();
    let out = rvisor(&root, &["exec", "--process", pf.to_str().unwrap(), "x1"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "CapEff:\t0000000000000001\nCapBnd:\t0000000000000001\nNoNewPrivs:\t0\n",
        "{}",
        show("exec caps", &out)
    );
    // On the command line (not with --process, as runc), --cap adds to the
    // container's sets (here: every capability, no spec list) and
    // --no-new-privs sets the flag.
    let out = rvisor(
        &root,
        &[
            "exec",
            "--cap",
            "CAP_KILL",
            "--no-new-privs",
            "x1",
            "grep",
            "-E",
            "^(CapEff|CapBnd|NoNewPrivs)",
            "/proc/self/status",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t1\n",
        "{}",
        show("exec --cap --no-new-privs", &out)
    );

    // Detached: the pid file names a process that stands for the exec'd
    // one; a signal to it reaches the process inside.
    let pid_file = dir.join("exec.pid");
    // (The exec'd process keeps its stdio: files, not pipes, here.)
    let exec_d = spawn_to_files(
        &dir,
        "exec-d",
        &root,
        &[
            "exec",
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "x1",
            "sleep",
            "50",
        ],
    );
    assert_eq!(
        wait_child(exec_d, "exec -d"),
        0,
        "{}",
        read(&dir, "exec-d.err")
    );
    let proxy: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(pid_alive(proxy.into()));
    let out = rvisor(&root, &["exec", "x1", "ps"]);
    let ps = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(ps.contains("sleep 50") && ps.contains("sleep 60"), "{ps}");
    rvisor_tests::sys::signal(proxy, 15);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_alive(proxy.into()) {
        assert!(Instant::now() < deadline, "the exec proxy did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = rvisor(&root, &["exec", "x1", "ps"]);
    let ps = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!ps.contains("sleep 50"), "{ps}");

    // Errors: a missing program; a stopped container.
    let out = rvisor(&root, &["exec", "x1", "nosuchprogram"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("executable file not found"),
        "{}",
        show("exec", &out)
    );
    let out = rvisor(&root, &["kill", "x1", "KILL"]);
    assert!(out.status.success(), "{}", show("kill", &out));
    wait_status(&root, "x1", "stopped");
    let out = rvisor(&root, &["exec", "x1", "true"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stopped"),
        "{}",
        show("exec", &out)
    );
    let out = rvisor(&root, &["delete", "x1"]);
    assert!(out.status.success(), "{}", show("delete", &out));
}

#[test]
fn pause_resume_update_and_events() {
    let dir = test_dir("pause");
    let b = bundle(&dir, &["sh", "-c", "while true; do sleep 0.05; done"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--detach", "--bundle", b.to_str().unwrap(), "p1"],
    );
    assert_eq!(wait_child(run, "run -d"), 0, "{}", read(&dir, "run.err"));
    wait_status(&root, "p1", "running");
    let pid = state(&root, "p1")["pid"].as_i64().unwrap();

    let out = rvisor(&root, &["pause", "p1"]);
    assert!(out.status.success(), "{}", show("pause", &out));
    assert_eq!(state(&root, "p1")["status"], "paused");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let s = stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap();
    assert!(s == 'D' || s == 'S', "frozen sandbox state {s}");
    let out = rvisor(&root, &["exec", "p1", "true"]);
    assert!(!out.status.success(), "exec in a paused container");
    let out = rvisor(&root, &["pause", "p1"]);
    assert!(!out.status.success(), "pause twice");
    let out = rvisor(&root, &["resume", "p1"]);
    assert!(out.status.success(), "{}", show("resume", &out));
    assert_eq!(state(&root, "p1")["status"], "running");
    let out = rvisor(&root, &["exec", "p1", "echo", "alive"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "alive\n",
        "{}",
        show("exec", &out)
    );

    // update: a pids limit the sentry enforces too.
    let out = rvisor(&root, &["update", "--pids-limit", "3", "p1"]);
    assert!(out.status.success(), "{}", show("update", &out));
    let out = rvisor(
        &root,
        &[
            "exec",
            "p1",
            "sh",
            "-c",
            "sleep 1 & sleep 1 & sleep 1 & wait",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("can't fork"),
        "{}",
        show("exec under pids limit", &out)
    );
    let out = rvisor(&root, &["update", "--pids-limit", "0", "p1"]);
    assert!(out.status.success(), "{}", show("update", &out));
    let out = rvisor(&root, &["update", "--cpuset-cpus", "0", "p1"]);
    assert!(!out.status.success(), "unsupported update flag accepted");

    let out = rvisor(&root, &["events", "--stats", "p1"]);
    assert!(out.status.success(), "{}", show("events", &out));
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{ev}"
    );
    assert!(ev["data"]["pids"]["current"].as_u64().unwrap() >= 2, "{ev}");

    // A paused container can still be deleted by force, cgroup and all.
    let out = rvisor(&root, &["pause", "p1"]);
    assert!(out.status.success(), "{}", show("pause", &out));
    let out = rvisor(&root, &["delete", "--force", "p1"]);
    assert!(out.status.success(), "{}", show("delete -f", &out));
    assert!(!pid_alive(pid));
    for c in ["memory", "pids", "freezer"] {
        let d = Path::new("/sys/fs/cgroup").join(c).join("rvisor/p1");
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn a_killed_sandbox_is_still_deleted_cleanly() {
    let dir = test_dir("killed");
    let b = bundle(&dir, &["sh", "-c", "sleep 100 & sleep 100"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--detach", "--bundle", b.to_str().unwrap(), "k1"],
    );
    assert_eq!(wait_child(run, "run -d"), 0, "{}", read(&dir, "run.err"));
    wait_status(&root, "k1", "running");
    let pid = state(&root, "k1")["pid"].as_i64().unwrap();
    let cg = Path::new("/sys/fs/cgroup/pids/rvisor/k1/cgroup.procs");
    let procs = std::fs::read_to_string(cg).unwrap_or_default();
    assert!(
        procs.lines().count() >= 3,
        "sandbox, gofer and stubs in the cgroup: {procs:?}"
    );
    // The sentry dies without any chance to clean up.
    rvisor_tests::sys::signal(pid as i32, 9);
    wait_status(&root, "k1", "stopped");
    let out = rvisor(&root, &["delete", "--force", "k1"]);
    assert!(out.status.success(), "{}", show("delete --force", &out));
    assert!(!root.join("k1").exists(), "state directory left");
    let deadline = Instant::now() + Duration::from_secs(10);
    for p in procs.lines().filter_map(|l| l.trim().parse::<i64>().ok()) {
        while pid_alive(p) {
            assert!(
                Instant::now() < deadline,
                "process {p} of the sandbox survived"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(!cg.parent().unwrap().exists(), "cgroup left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(b.to_str().unwrap()),
        "mount left: {mounts}"
    );
}

#[test]
fn process_settings_masked_and_readonly_paths() {
    let dir = test_dir("settings");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "umask; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; cat /proc/sys/kernel/domainname; \
             ls /etc/hidden | wc -l; cat /etc/secret; echo x > /tmp/f 2>/dev/null || echo tmp-read-only; echo end",
        ],
    );
    let rootfs = b.join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc/hidden")).unwrap();
    std::fs::write(rootfs.join("etc/hidden/a"), "a").unwrap();
    std::fs::write(rootfs.join("etc/secret"), "SECRET\n").unwrap();
    let mut cfg = read_config(&b);
    cfg["process"]["user"]["umask"] = serde_json::json!(0o027);
    cfg["process"]["rlimits"] =
        serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]);
    cfg["process"]["noNewPrivileges"] = serde_json::json!(true);
    cfg["domainname"] = serde_json::json!("example.org");
    cfg["linux"]["maskedPaths"] = serde_json::json!(["/etc/hidden", "/etc/secret", "/nonexistent"]);
    cfg["linux"]["readonlyPaths"] = serde_json::json!(["/tmp"]);
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "s1"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0027\n100\n200\nNoNewPrivs:\t1\nexample.org\n0\ntmp-read-only\nend\n",
        "{}",
        show("run", &out)
    );
}

#[test]
fn preserve_fds_reach_the_container() {
    let dir = test_dir("preserve");
    let b = bundle(&dir, &["sh", "-c", "cat <&3; echo to-four >&4"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    std::fs::write(dir.join("in"), "from-three\n").unwrap();
    let script = format!(
        "exec 3<{in} 4>{out}; exec {bin} --root {root} run --preserve-fds 2 --bundle {b} pf1",
        in = dir.join("in").display(),
        out = dir.join("out").display(),
        bin = rvisor_tests::rvisor_bin().display(),
        root = root.display(),
        b = b.display()
    );
    let out = run_with_timeout(Command::new("sh").arg("-c").arg(&script), TIMEOUT);
    assert!(out.status.success(), "{}", show("run --preserve-fds", &out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-three\n");
    assert_eq!(read(&dir, "out"), "to-four\n");
    // Descriptors that are not open are refused.
    let out = rvisor(
        &root,
        &[
            "run",
            "--preserve-fds",
            "5",
            "--bundle",
            b.to_str().unwrap(),
            "pf2",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not open"),
        "{}",
        show("run", &out)
    );
}

/// Runs the static C test program `prog` with `args` natively and as the
/// init of a bundle whose root is writable (a gofer mount), and asserts
/// identical output: the program works in a fresh directory under its
/// argument, so natively it writes to the host's /tmp and in the bundle to
/// the rootfs's /tmp through the gofer.
fn writable_root_matches_native(name: &str, prog: &str, args: &[&str]) {
    let bin = rvisor_tests::compile_c(prog, &["-static"]);
    let mut native_cmd = Command::new(&bin);
    native_cmd.args(args);
    let native = run_with_timeout(&mut native_cmd, TIMEOUT);
    assert_eq!(
        shell_status(&native.status),
        0,
        "{}",
        show("native", &native)
    );
    let dir = test_dir(name);
    let inside = format!("/bin/{prog}");
    let mut init = vec![inside.as_str()];
    init.extend_from_slice(args);
    let b = bundle(&dir, &init);
    std::fs::copy(&bin, b.join("rootfs/bin").join(prog)).unwrap();
    let mut cfg = read_config(&b);
    cfg["root"]["readonly"] = serde_json::json!(false);
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), name]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&native.stdout),
        "{}",
        show("run", &out)
    );
}

#[test]
fn writable_root_rename_flags() {
    writable_root_matches_native("rwren2", "rename_flags", &["/tmp"]);
}

#[test]
fn writable_root_inotify() {
    writable_root_matches_native("rwino", "inotify_events", &["/tmp"]);
}

/// A console socket server like containerd's: accepts one connection and
/// receives the pty master (one message: the name as payload, the fd in
/// SCM_RIGHTS), then reads the terminal until it closes.
fn console_server(path: &Path) -> std::thread::JoinHandle<(String, Vec<u8>)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut name = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut name)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let mut fds = Vec::new();
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(v) = c {
                fds.extend(v);
            }
        }
        let n = msg.bytes;
        assert_eq!(fds.len(), 1, "one descriptor expected");
        let name = String::from_utf8_lossy(&name[..n]).into_owned();
        // SAFETY: the descriptor was just received and is ours.
        let master = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut b = [0u8; 4096];
        use std::io::Read;
        // Until the slave side is gone (EIO).
        while let Ok(n) = f.read(&mut b) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[..n]);
        }
        (name, out)
    })
}

#[test]
fn run_with_a_console_socket() {
    let dir = test_dir("console");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "tty; stty size; test -t 0 && echo stdin-tty; ls /dev/console",
        ],
    );
    let mut cfg = read_config(&b);
    cfg["process"]["terminal"] = true.into();
    cfg["process"]["consoleSize"] = serde_json::json!({"height": 24, "width": 80});
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let sock = dir.join("console.sock");
    let server = console_server(&sock);
    let out = rvisor(
        &root,
        &[
            "run",
            "--console-socket",
            sock.to_str().unwrap(),
            "--bundle",
            b.to_str().unwrap(),
            "con1",
        ],
    );
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    let (name, screen) = server.join().unwrap();
    assert_eq!(name, "/dev/ptmx");
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(
        screen,
        "/dev/pts/0\r\n24 80\r\nstdin-tty\r\n/dev/console\r\n",
        "{}",
        show("run", &out)
    );
}

#[test]
fn create_with_a_console_socket_and_input() {
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let dir = test_dir("console-create");
    let b = bundle(&dir, &["sh", "-c", "read x; echo got=$x; stty size"]);
    let mut cfg = read_config(&b);
    cfg["process"]["terminal"] = true.into();
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let sock = dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let child = spawn_to_files(
        &dir,
        "create",
        &root,
        &[
            "create",
            "--console-socket",
            sock.to_str().unwrap(),
            "--bundle",
            b.to_str().unwrap(),
            "con2",
        ],
    );
    assert_eq!(
        wait_child(child, "create"),
        0,
        "{}",
        read(&dir, "create.err")
    );
    // The master is waiting in the socket for whoever accepts.
    let (conn, _) = listener.accept().unwrap();
    let mut name = [0u8; 64];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            nix::sys::socket::ControlMessageOwned::ScmRights(v) => v.first().copied(),
            _ => None,
        })
        .unwrap();
    // SAFETY: the descriptor was just received and is ours.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // Resize before start, as `docker run -t` does.
    nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, nix::pty::Winsize);
    let ws = nix::pty::Winsize {
        ws_row: 33,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the live local.
    unsafe { set_winsize(master.as_raw_fd(), &ws) }.unwrap();
    let out = rvisor(&root, &["start", "con2"]);
    assert!(out.status.success(), "{}", show("start", &out));
    let mut f = std::fs::File::from(master);
    f.write_all(b"typed\r").unwrap();
    let mut screen = Vec::new();
    let mut buf = [0u8; 1024];
    use std::io::Read;
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        screen.extend_from_slice(&buf[..n]);
    }
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(screen, "typed\r\ngot=typed\r\n33 101\r\n");
    wait_status(&root, "con2", "stopped");
    let out = rvisor(&root, &["delete", "con2"]);
    assert!(out.status.success(), "{}", show("delete", &out));
}

#[test]
fn run_with_a_terminal_in_the_foreground() {
    // No console socket: `run` lends its own stdio (here not a terminal)
    // to the container's terminal, sized by consoleSize.
    let dir = test_dir("console-fg");
    let b = bundle(&dir, &["sh", "-c", "tty; stty size; echo err >&2"]);
    let mut cfg = read_config(&b);
    cfg["process"]["terminal"] = true.into();
    cfg["process"]["consoleSize"] = serde_json::json!({"height": 10, "width": 20});
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(&root, &["run", "--bundle", b.to_str().unwrap(), "fg1"]);
    assert_eq!(shell_status(&out.status), 0, "{}", show("run", &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/dev/pts/0\r\n10 20\r\nerr\r\n"
    );
    // Detached, it needs a console socket.
    let out = rvisor(
        &root,
        &["run", "-d", "--bundle", b.to_str().unwrap(), "fg2"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show("run -d", &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("console-socket"));
}

/// Accepts one connection on a console socket and receives the pty
/// master (payload name, one descriptor), as containerd's shim does.
fn receive_master(listener: &std::os::unix::net::UnixListener) -> (String, std::fs::File) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    listener.set_nonblocking(false).unwrap();
    let (conn, _) = listener.accept().unwrap();
    let mut name = [0u8; 64];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let n = msg.bytes;
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            nix::sys::socket::ControlMessageOwned::ScmRights(v) => v.first().copied(),
            _ => None,
        })
        .expect("a descriptor with the console message");
    let name = String::from_utf8_lossy(&name[..n]).into_owned();
    // SAFETY: the descriptor was just received and is ours.
    (
        name,
        std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }),
    )
}

/// Reads the pty master `f` into `screen` until it contains `want` (None:
/// until the terminal's other side is gone, EIO), within the time limit.
fn read_screen(f: &mut std::fs::File, screen: &mut Vec<u8>, want: Option<&str>) {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(w) = want {
            if String::from_utf8_lossy(screen).contains(w) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "TIMEOUT waiting for {want:?} on the terminal; so far: {:?}",
            String::from_utf8_lossy(screen)
        );
        let mut pfd = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one live pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 200) } <= 0 {
            continue;
        }
        let mut b = [0u8; 4096];
        match f.read(&mut b) {
            Ok(n) if n > 0 => screen.extend_from_slice(&b[..n]),
            _ => {
                assert!(
                    want.is_none(),
                    "the terminal closed before {want:?}: {:?}",
                    String::from_utf8_lossy(screen)
                );
                return;
            }
        }
    }
}

/// Sets the window size of the pty master `f` (as containerd's resize).
fn resize(f: &std::fs::File, rows: u16, cols: u16) {
    use std::os::fd::AsRawFd;
    nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, nix::pty::Winsize);
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the live local.
    unsafe { set_winsize(f.as_raw_fd(), &ws) }.unwrap();
}

#[test]
fn exec_with_a_terminal() {
    use std::io::Write;
    let dir = test_dir("exec-tty");
    // The container has a terminal of its own: /dev/pts/0.
    let b = bundle(&dir, &["sleep", "60"]);
    let mut cfg = read_config(&b);
    cfg["process"]["terminal"] = true.into();
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let sock0 = dir.join("console0.sock");
    let _init_console = console_server(&sock0);
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &[
            "run",
            "--detach",
            "--console-socket",
            sock0.to_str().unwrap(),
            "--bundle",
            b.to_str().unwrap(),
            "t1",
        ],
    );
    assert_eq!(wait_child(run, "run -d"), 0, "{}", read(&dir, "run.err"));
    wait_status(&root, "t1", "running");

    // As containerd's shim does it: detached, --process with terminal and
    // consoleSize, the master over the console socket, then resizes.
    let pf = dir.join("process.json");
    // (The trap ends the shell wherever the signal finds it.)
    let script = "tty; stty size; read x; echo got=$x; \
                  trap 'stty size; echo done; exit' WINCH; echo resize-me; sleep 30 & wait";
    std::fs::write(
        &pf,
        serde_json::to_vec(&serde_json::json!({
            "terminal": true,
            "consoleSize": {"height": 24, "width": 80},
            "args": ["sh", "-c", script],
            "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }))
        .unwrap(),
    )
    .unwrap();
    let sock1 = dir.join("console1.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock1).unwrap();
    let pid_file = dir.join("exec.pid");
    let exec_d = spawn_to_files(
        &dir,
        "exec-d",
        &root,
        &[
            "exec",
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--console-socket",
            sock1.to_str().unwrap(),
            "--process",
            pf.to_str().unwrap(),
            "t1",
        ],
    );
    assert_eq!(
        wait_child(exec_d, "exec -d -t"),
        0,
        "{}",
        read(&dir, "exec-d.err")
    );
    let proxy: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (name, mut m) = receive_master(&listener);
    assert_eq!(name, "/dev/ptmx");
    let mut screen = Vec::new();
    read_screen(&mut m, &mut screen, Some("24 80\r\n"));
    m.write_all(b"typed\r").unwrap();
    read_screen(&mut m, &mut screen, Some("resize-me\r\n"));
    resize(&m, 33, 101);
    // Until the process is gone and the host pty released (EIO).
    read_screen(&mut m, &mut screen, None);
    assert_eq!(
        String::from_utf8_lossy(&screen),
        "/dev/pts/1\r\n24 80\r\ntyped\r\ngot=typed\r\nresize-me\r\n33 101\r\ndone\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_alive(proxy) {
        assert!(Instant::now() < deadline, "the exec proxy did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }

    // In the foreground with a console socket: ^C typed on the master
    // interrupts the process; its status is the caller's.
    let sock2 = dir.join("console2.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock2).unwrap();
    let fg = spawn_to_files(
        &dir,
        "exec-fg",
        &root,
        &[
            "exec",
            "--tty",
            "--console-socket",
            sock2.to_str().unwrap(),
            "t1",
            "sh",
            "-c",
            "tty; echo interrupt-me; sleep 30; echo not-interrupted",
        ],
    );
    let (_, mut m) = receive_master(&listener);
    let mut screen = Vec::new();
    read_screen(&mut m, &mut screen, Some("interrupt-me\r\n"));
    m.write_all(b"\x03").unwrap();
    read_screen(&mut m, &mut screen, None);
    assert_eq!(
        wait_child(fg, "exec -t (^C)"),
        128 + 2,
        "{}",
        read(&dir, "exec-fg.err")
    );
    assert_eq!(
        String::from_utf8_lossy(&screen),
        "/dev/pts/1\r\ninterrupt-me\r\n^C"
    );

    // If the proxy dies, the process is killed and the terminals (the
    // sandbox's pair, the host pty) are released.
    let sock3 = dir.join("console3.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock3).unwrap();
    let pid_file3 = dir.join("exec3.pid");
    let exec_d = spawn_to_files(
        &dir,
        "exec-d3",
        &root,
        &[
            "exec",
            "-d",
            "-t",
            "--pid-file",
            pid_file3.to_str().unwrap(),
            "--console-socket",
            sock3.to_str().unwrap(),
            "t1",
            "sh",
            "-c",
            "echo up; sleep 100",
        ],
    );
    assert_eq!(
        wait_child(exec_d, "exec -d -t"),
        0,
        "{}",
        read(&dir, "exec-d3.err")
    );
    let (_, mut m) = receive_master(&listener);
    let mut screen = Vec::new();
    read_screen(&mut m, &mut screen, Some("up\r\n"));
    let proxy: i32 = std::fs::read_to_string(&pid_file3)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    rvisor_tests::sys::signal(proxy, libc::SIGKILL);
    read_screen(&mut m, &mut screen, None);
    let out = rvisor(&root, &["exec", "t1", "ps"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("sleep 100"),
        "{}",
        show("ps", &out)
    );

    // No console socket: the caller's stdio (here not a terminal) is the
    // terminal's host side.
    let out = rvisor(
        &root,
        &[
            "exec",
            "-t",
            "t1",
            "sh",
            "-c",
            "tty; test -t 0 && echo tty-in; exit 3",
        ],
    );
    assert_eq!(shell_status(&out.status), 3, "{}", show("exec -t", &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/dev/pts/1\r\ntty-in\r\n"
    );

    // Every exec'd terminal is gone again.
    let out = rvisor(&root, &["exec", "t1", "ls", "/dev/pts"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\nptmx\n",
        "{}",
        show("ls", &out)
    );

    // What runc refuses too.
    let out = rvisor(&root, &["exec", "-d", "-t", "t1", "true"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("console-socket"),
        "{}",
        show("exec -d -t", &out)
    );
    let out = rvisor(
        &root,
        &[
            "exec",
            "--console-socket",
            sock2.to_str().unwrap(),
            "t1",
            "true",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no terminal"),
        "{}",
        show("exec --console-socket", &out)
    );
    let out = rvisor(&root, &["kill", "t1", "KILL"]);
    assert!(out.status.success(), "{}", show("kill", &out));
    wait_status(&root, "t1", "stopped");
    let out = rvisor(&root, &["delete", "t1"]);
    assert!(out.status.success(), "{}", show("delete", &out));
}

#[test]
fn overlay_root_keeps_the_bundle_unchanged() {
    let dir = test_dir("overlay");
    let b = bundle(
        &dir,
        &[
            "sh",
            "-c",
            "echo data > /etc/made && cat /etc/made && rm /bin/cat && ls /bin/cat 2>/dev/null || echo cat-gone; grep ' / ' /proc/mounts | cut -d' ' -f3",
        ],
    );
    let mut cfg = read_config(&b);
    cfg["root"]["readonly"] = serde_json::json!(false);
    write_config(&b, &cfg);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let out = rvisor(
        &root,
        &["--overlay", "run", "--bundle", b.to_str().unwrap(), "ov1"],
    );
    assert_eq!(
        shell_status(&out.status),
        0,
        "{}",
        show("run --overlay", &out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "data\ncat-gone\noverlay\n"
    );
    let rootfs = b.join("rootfs");
    assert!(
        !rootfs.join("etc/made").exists(),
        "an overlay write reached the bundle"
    );
    assert!(
        std::fs::symlink_metadata(rootfs.join("bin/cat")).is_ok(),
        "an overlay removal reached the bundle"
    );
}

/// `rvisor wait` blocks until the container stops and prints its exit
/// code; a container ended by a signal reports 128+N; waiting on a stopped
/// container answers at once.
#[test]
fn wait_reports_the_exit_status() {
    let dir = test_dir("wait");
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let b = bundle(&dir, &["sh", "-c", "read line; exit 5"]);
    let create = spawn_to_files(
        &dir,
        "create",
        &root,
        &["create", "--bundle", b.to_str().unwrap(), "w1"],
    );
    assert_eq!(
        wait_child(create, "create"),
        0,
        "{}",
        read(&dir, "create.err")
    );
    // The waiter starts before the container does and outlives `start`.
    let waiter = spawn_to_files(&dir, "wait", &root, &["wait", "w1"]);
    let out = rvisor(&root, &["start", "w1"]);
    assert!(out.status.success(), "{}", show("start", &out));
    // stdin is /dev/null: `read` sees end of file and the shell exits 5.
    assert_eq!(wait_child(waiter, "wait"), 0, "{}", read(&dir, "wait.err"));
    let v: serde_json::Value = serde_json::from_str(read(&dir, "wait.out").trim()).unwrap();
    assert_eq!(v, serde_json::json!({"id": "w1", "exitStatus": 5}));
    // Already stopped: the same answer at once.
    let out = rvisor(&root, &["wait", "w1"]);
    assert!(out.status.success(), "{}", show("wait again", &out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exitStatus"], 5);

    let dir2 = test_dir("wait-killed");
    let b = bundle(&dir2, &["sleep", "100"]);
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--bundle", b.to_str().unwrap(), "w2"],
    );
    wait_status(&root, "w2", "running");
    let waiter = spawn_to_files(&dir, "wait2", &root, &["wait", "w2"]);
    let out = rvisor(&root, &["kill", "w2", "KILL"]);
    assert!(out.status.success(), "{}", show("kill", &out));
    assert_eq!(
        wait_child(waiter, "wait2"),
        0,
        "{}",
        read(&dir, "wait2.err")
    );
    let v: serde_json::Value = serde_json::from_str(read(&dir, "wait2.out").trim()).unwrap();
    assert_eq!(v["exitStatus"], 137, "{v}");
    assert_eq!(wait_child(run, "run"), 137);

    let out = rvisor(&root, &["wait", "nosuch"]);
    assert_eq!(out.status.code(), Some(1), "{}", show("wait nosuch", &out));
}

/// net.* sysctls are written in the container's own network namespace
/// (where the sentry's sockets live), not the host's.
#[test]
fn net_sysctls_apply_to_the_container_network_namespace() {
    let dir = test_dir("sysctl");
    let b = bundle(&dir, &["sleep", "100"]);
    let root = dir.join("state");
    let _cleanup = Cleanup(root.clone());
    let mut c = read_config(&b);
    c["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_default_ttl": "33"});
    write_config(&b, &c);
    let run = spawn_to_files(
        &dir,
        "run",
        &root,
        &["run", "--bundle", b.to_str().unwrap(), "s1"],
    );
    let st = wait_status(&root, "s1", "running");
    let pid = st["pid"].as_i64().unwrap();
    let ns = format!("/proc/{pid}/ns/net");
    let inside = Command::new("nsenter")
        .args([
            "--net=".to_string() + &ns,
            "cat".into(),
            "/proc/sys/net/ipv4/ip_default_ttl".into(),
        ])
        .output()
        .unwrap();
    assert!(inside.status.success(), "{}", show("nsenter", &inside));
    assert_eq!(String::from_utf8_lossy(&inside.stdout).trim(), "33");
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl").unwrap();
    assert_ne!(host.trim(), "33", "the host's namespace was changed");
    let out = rvisor(&root, &["kill", "s1", "KILL"]);
    assert!(out.status.success(), "{}", show("kill", &out));
    assert_eq!(wait_child(run, "run"), 137);
}

/// A tiny HTTP responder on the host's 127.0.0.1 (answers every request
/// with "host"), until the returned flag is set.
fn host_http_responder() -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut b = [0u8; 1024];
                    let _ = c.read(&mut b);
                    let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhost\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (port, stop)
}

/// The container's sockets live in its own network namespace (the spec
/// asks for a new one: loopback is up, the host's loopback is out of
/// reach); with `--network=host` they are the host's; with
/// `--network=none` there are none.
#[test]
fn network_namespace_of_a_container() {
    let (port, stop) = host_http_responder();
    let script = format!(
        "mkdir -p /tmp/w && echo via container loopback > /tmp/w/i && \
         httpd -p 127.0.0.1:18477 -h /tmp/w && wget -q -O- http://127.0.0.1:18477/i; \
         wget -q -O- http://127.0.0.1:{port}/ 2>/dev/null || echo host unreachable"
    );
    for (mode, want) in [
        ("sandbox", "via container loopback\nhost unreachable\n"),
        ("host", "via container loopback\nhost\n"),
        ("none", "host unreachable\n"),
    ] {
        let dir = test_dir(&format!("net-{mode}"));
        let b = bundle(&dir, &["sh", "-c", &script]);
        let root = dir.join("state");
        let _cleanup = Cleanup(root.clone());
        let net = format!("--network={mode}");
        let out = rvisor(
            &root,
            &[&net, "run", "--bundle", b.to_str().unwrap(), "net1"],
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            want,
            "{mode}: {}",
            show("run", &out)
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
}
