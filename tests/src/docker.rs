//! A private docker daemon for the docker and containerd tests, with rvisor
//! registered as the runtime `rvisor`.
//!
//! The daemon gets its own socket, data root and exec root under
//! [`BASE`], so it neither needs nor disturbs a docker the machine may
//! already run; it has no default bridge and leaves iptables alone (the
//! network test creates its own bridge network). The first test that
//! needs it starts it (and it
//! stays up for the next test binaries; `scripts/test.sh` stops it at the
//! end). The runtime path is a symlink, [`runtime_link`], re-pointed at the
//! binary under test each time, so a daemon left from another checkout runs
//! this one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{run_with_timeout, rvisor_bin, show};

/// Everything of the private daemon lives under here.
pub const BASE: &str = "/run/rvisor-test-docker";
/// Its data root (images, containers).
const DATA_ROOT: &str = "/var/lib/rvisor-test-docker";
/// The busybox image the tests run (made from the host's busybox-static).
pub const IMAGE: &str = "rvisor-busybox:test";

/// The daemon's socket, as a DOCKER_HOST value.
pub fn host() -> String {
    format!("unix://{BASE}/docker.sock")
}

/// The symlink the daemon's `rvisor` runtime points at.
pub fn runtime_link() -> PathBuf {
    Path::new(BASE).join("rvisor")
}

/// containerd's socket (the daemon's managed containerd).
pub fn containerd_socket() -> PathBuf {
    Path::new(BASE).join("exec/containerd/containerd.sock")
}

/// `docker` talking to the private daemon.
pub fn docker() -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_HOST", host());
    c
}

/// Runs `docker ARGS` with a time limit and captured output.
pub fn run(args: &[&str]) -> Output {
    run_with_timeout(docker().args(args), Duration::from_secs(120))
}

/// Starts the daemon if it is not answering, points the runtime at the
/// binary under test and imports [`IMAGE`] if missing. Panics with the
/// daemon's log if anything fails: these tests are never skipped.
pub fn ensure() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        std::fs::create_dir_all(BASE).expect("creating the docker test directory");
        let link = runtime_link();
        let tmp = link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(rvisor_bin(), &tmp).expect("runtime symlink");
        std::fs::rename(&tmp, &link).expect("runtime symlink");
        if !answering() {
            start_daemon();
        }
        if !run(&["image", "inspect", IMAGE]).status.success() {
            import_image();
        }
    });
}

fn answering() -> bool {
    docker()
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

// The daemon is left running on purpose (it serves the next tests too); a
// failed start is reaped by `try_wait` below.
#[allow(clippy::zombie_processes)]
fn start_daemon() {
    let base = Path::new(BASE);
    let config = base.join("daemon.json");
    let mut runtimes = serde_json::json!({"rvisor": {"path": runtime_link()}});
    if Path::new("/usr/bin/runsc").exists() {
        runtimes["runsc"] = serde_json::json!({"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", "--network=none"]});
    }
    let cfg = serde_json::json!({"runtimes": runtimes});
    std::fs::write(&config, serde_json::to_vec_pretty(&cfg).expect("json")).expect("daemon.json");
    let log_path = base.join("dockerd.log");
    let log = std::fs::File::create(&log_path).expect("dockerd log");
    let mut c = Command::new("dockerd");
    c.arg("--config-file")
        .arg(&config)
        .arg("--host")
        .arg(host())
        .arg("--data-root")
        .arg(DATA_ROOT)
        .arg("--exec-root")
        .arg(base.join("exec"))
        .arg("--pidfile")
        .arg(base.join("dockerd.pid"))
        .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    // Its own session: it outlives this test process on purpose.
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let mut child = c
        .spawn()
        .expect("starting dockerd (is docker.io installed? scripts/test.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(90);
    while !answering() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "dockerd exited ({st}): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "dockerd did not answer within 90 s: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Builds a rootfs of busybox-static with every applet linked and imports
/// it with `docker import`.
fn import_image() {
    let dir = crate::scratch_dir().join("busybox-image");
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["bin", "etc", "proc", "dev", "sys", "tmp", "root", "data"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("copying /bin/busybox");
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if !applet.is_empty() && applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
        }
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::write(dir.join("etc/group"), "root:x:0:\nuser:x:1000:\n").expect("group");
    let cmd = format!(
        "tar -C {} -c . | docker import -c 'ENV PATH=/bin' - {IMAGE}",
        dir.display()
    );
    let out = run_with_timeout(
        Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .env("DOCKER_HOST", host()),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", show("docker import", &out));
    let _ = std::fs::remove_dir_all(&dir);
}
