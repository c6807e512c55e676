//! rvisor under docker and containerd: `docker run --runtime=rvisor` must
//! behave like runc from the outside. A private daemon with rvisor
//! registered is started on demand (see `rvisor_tests::docker`).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rvisor_tests::docker::{self, IMAGE};
use rvisor_tests::{run_with_timeout, scratch_dir, show};

/// `docker ARGS` against the private daemon (started if needed).
fn docker(args: &[&str]) -> Output {
    docker::ensure();
    docker::run(args)
}

/// `docker run --rm --runtime=rvisor [OPTS] IMAGE CMD…`.
fn run_rvisor(opts: &[&str], cmd: &[&str]) -> Output {
    let mut v = vec!["run", "--rm", "--runtime=rvisor"];
    v.extend_from_slice(opts);
    v.push(IMAGE);
    v.extend_from_slice(cmd);
    docker(&v)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a detached container; returns its id.
fn run_detached(opts: &[&str], cmd: &[&str]) -> String {
    let mut v = vec!["run", "-d", "--runtime=rvisor"];
    v.extend_from_slice(opts);
    v.push(IMAGE);
    v.extend_from_slice(cmd);
    let out = docker(&v);
    assert!(out.status.success(), "{}", show("docker run -d", &out));
    stdout(&out).trim().to_string()
}

/// Removes a container when the test ends, also on failure.
struct Rm(String);

impl Drop for Rm {
    fn drop(&mut self) {
        let _ = docker::run(&["rm", "-f", &self.0]);
    }
}

#[test]
fn run_prints_exits_and_shows_rvisor_kernel() {
    let out = run_rvisor(&[], &["echo", "hi"]);
    assert!(out.status.success(), "{}", show("docker run", &out));
    assert_eq!(stdout(&out), "hi\n");
    let out = run_rvisor(&[], &["sh", "-c", "exit 42"]);
    assert_eq!(out.status.code(), Some(42), "{}", show("docker run", &out));
    let out = run_rvisor(&[], &["uname", "-r"]);
    assert!(
        stdout(&out).trim_end().ends_with("-rvisor"),
        "{}",
        show("uname", &out)
    );
}

#[test]
fn stdin_reaches_the_container() {
    docker::ensure();
    let mut child = docker::docker()
        .args(["run", "-i", "--rm", "--runtime=rvisor", IMAGE, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"data\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show("docker run -i", &out));
    assert_eq!(stdout(&out), "data\n");
}

#[test]
fn exec_top_logs_and_stop_with_a_trap() {
    let id = run_detached(
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo started; while true; do sleep 0.1; done",
        ],
    );
    let _rm = Rm(id.clone());
    let out = docker(&["exec", &id, "sh", "-c", "echo in-exec; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", show("docker exec", &out));
    assert_eq!(stdout(&out), "in-exec\n");
    let out = docker(&[
        "exec",
        "-u",
        "1000:1000",
        "-w",
        "/tmp",
        "-e",
        "V=w",
        &id,
        "sh",
        "-c",
        "echo $(id -u) $(pwd) $V",
    ]);
    assert_eq!(
        stdout(&out),
        "1000 /tmp w\n",
        "{}",
        show("docker exec", &out)
    );
    let out = docker(&["top", &id]);
    assert!(out.status.success(), "{}", show("docker top", &out));
    let out = docker(&["exec", &id, "ps"]);
    assert!(
        stdout(&out).contains("while true") || stdout(&out).contains("sh -c"),
        "{}",
        show("ps", &out)
    );
    let t = Instant::now();
    let out = docker(&["stop", &id]);
    assert!(out.status.success(), "{}", show("docker stop", &out));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        t.elapsed()
    );
    let out = docker(&["inspect", "-f", "{{.State.ExitCode}}", &id]);
    assert_eq!(stdout(&out).trim(), "7", "{}", show("inspect", &out));
    let out = docker(&["logs", &id]);
    assert_eq!(
        stdout(&out),
        "started\ngot-term\n",
        "{}",
        show("logs", &out)
    );
}

#[test]
fn kill_gives_137_and_rm_f_leaves_nothing() {
    let id = run_detached(&[], &["sleep", "100"]);
    let _rm = Rm(id.clone());
    let out = docker(&["kill", "-s", "KILL", &id]);
    assert!(out.status.success(), "{}", show("docker kill", &out));
    let out = docker(&["wait", &id]);
    assert_eq!(stdout(&out).trim(), "137", "{}", show("docker wait", &out));

    let id2 = run_detached(&[], &["sleep", "100"]);
    let _rm2 = Rm(id2.clone());
    let out = docker(&["rm", "-f", &id2]);
    assert!(out.status.success(), "{}", show("docker rm -f", &out));
    // No state directory of it in any runtime root, no process of it.
    let exec_root = std::path::Path::new(docker::BASE).join("exec");
    let found = run_with_timeout(
        std::process::Command::new("find")
            .arg(&exec_root)
            .arg("-name")
            .arg(&id2),
        Duration::from_secs(30),
    );
    let left: Vec<_> = stdout(&found)
        .lines()
        .filter(|l| l.contains("runtime-"))
        .map(String::from)
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let ps = run_with_timeout(
        std::process::Command::new("ps").args(["-eo", "args"]),
        Duration::from_secs(10),
    );
    assert!(
        !stdout(&ps).contains(&id2),
        "a process of the removed container is still running"
    );
}

#[test]
fn volumes_read_only_tmpfs_env_workdir_user_hostname() {
    let host = scratch_dir().join("docker-vol");
    let _ = std::fs::remove_dir_all(&host);
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from-host\n").unwrap();
    let h = host.to_str().unwrap();
    let rw = format!("{h}:/data");
    let out = run_rvisor(
        &["-v", &rw],
        &["sh", "-c", "cat /data/in && echo written > /data/out"],
    );
    assert!(out.status.success(), "{}", show("-v rw", &out));
    assert_eq!(stdout(&out), "from-host\n");
    assert_eq!(
        std::fs::read_to_string(host.join("out")).unwrap(),
        "written\n"
    );

    let ro = format!("{h}:/data:ro");
    let out = run_rvisor(&["-v", &ro], &["sh", "-c", "echo x > /data/nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        show("-v ro", &out)
    );
    assert!(!host.join("nope").exists());

    let out = run_rvisor(&["--read-only"], &["sh", "-c", "echo x > /x"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        show("--read-only", &out)
    );

    let out = run_rvisor(
        &["--read-only", "--tmpfs", "/run"],
        &["sh", "-c", "echo t > /run/f && cat /run/f"],
    );
    assert_eq!(stdout(&out), "t\n", "{}", show("--tmpfs", &out));

    let out = run_rvisor(
        &[
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "-u",
            "1000:1000",
            "--hostname",
            "myhost",
        ],
        &["sh", "-c", "echo $FOO; pwd; id; hostname"],
    );
    assert_eq!(
        stdout(&out),
        "bar\n/tmp\nuid=1000(user) gid=1000(user) groups=1000(user)\nmyhost\n",
        "{}",
        show("options", &out)
    );
}

#[test]
fn ten_containers_in_parallel() {
    docker::ensure();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            std::thread::spawn(move || {
                let cmd = format!("echo c{i}; exit {i}");
                let out =
                    docker::run(&["run", "--rm", "--runtime=rvisor", IMAGE, "sh", "-c", &cmd]);
                (i, out)
            })
        })
        .collect();
    for h in handles {
        let (i, out) = h.join().unwrap();
        assert_eq!(out.status.code(), Some(i), "{}", show("parallel run", &out));
        assert_eq!(stdout(&out), format!("c{i}\n"));
    }
}

#[test]
fn containerd_runs_rvisor_through_the_runc_shim() {
    docker::ensure();
    let sock = docker::containerd_socket();
    let sock = sock.to_str().unwrap();
    let ns = "rvisor-test";
    let import =
        format!("docker save {IMAGE} | ctr --address {sock} --namespace {ns} images import -");
    let out = run_with_timeout(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&import)
            .env("DOCKER_HOST", docker::host()),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", show("ctr import", &out));
    let id = format!("rvt-{}", std::process::id());
    let link = docker::runtime_link();
    let out = run_with_timeout(
        std::process::Command::new("ctr").args([
            "--address",
            sock,
            "--namespace",
            ns,
            "run",
            "--rm",
            "--runc-binary",
            link.to_str().unwrap(),
            &format!("docker.io/library/{IMAGE}"),
            &id,
            "sh",
            "-c",
            "echo hi; uname -r; exit 4",
        ]),
        Duration::from_secs(120),
    );
    let o = stdout(&out);
    assert!(
        o.starts_with("hi\n") && o.contains("-rvisor"),
        "{}",
        show("ctr run", &out)
    );
    assert_eq!(out.status.code(), Some(4), "{}", show("ctr run", &out));
}

#[test]
fn memory_limit_oom_kills_and_pids_limit_stops_a_fork_bomb() {
    // 64 MiB for the whole sandbox; the workload tries to hold 300 MB.
    let out = run_rvisor(
        &["--memory", "64m"],
        &[
            "sh",
            "-c",
            "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(137),
        "{}",
        show("--memory 64m", &out)
    );

    let id = run_detached(
        &["--pids-limit", "50"],
        &["sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 100"],
    );
    let _rm = Rm(id.clone());
    // The bomb hits the limit: inside, fork fails with EAGAIN.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = docker(&["logs", &id]);
        if String::from_utf8_lossy(&out.stderr).contains("can't fork") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", show("logs", &out));
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = docker(&["rm", "-f", &id]);
    assert!(out.status.success(), "{}", show("docker rm -f", &out));
    let ps = run_with_timeout(
        std::process::Command::new("ps").args(["-eo", "args"]),
        Duration::from_secs(10),
    );
    assert!(
        !stdout(&ps).contains(&id),
        "a process of the removed container is still running"
    );
}

#[test]
fn run_with_a_terminal_shows_the_pty_and_its_size() {
    docker::ensure();
    // `script` gives the docker client a terminal of a known size, so
    // `docker run -t` allocates a pty of that size for the container.
    let cmd = format!(
        "stty rows 40 cols 100; docker run -t --rm --runtime=rvisor {IMAGE} sh -c 'tty; stty size; test -t 0 && echo stdin-is-tty'"
    );
    let out = run_with_timeout(
        std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("DOCKER_HOST", docker::host()),
        Duration::from_secs(120),
    );
    let text = stdout(&out).replace('\r', "");
    assert_eq!(
        text,
        "/dev/pts/0\n40 100\nstdin-is-tty\n",
        "{}",
        show("docker run -t", &out)
    );
}

#[test]
fn exec_with_a_terminal_gets_a_pty_and_its_resizes() {
    let id = run_detached(&[], &["sleep", "100"]);
    let _rm = Rm(id.clone());
    // docker 20.10 gives an exec's terminal its size only by a resize once
    // the process runs (no consoleSize), as with runc: the process polls
    // until the size the client's terminal has reaches it. The container
    // has no terminal, so the exec's is the first pty of its devpts.
    let cmd = format!(
        "stty rows 40 cols 100; docker exec -t {id} sh -c 'tty; for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n \"$s\" ] && break; sleep 0.1; done; echo $s; test -t 0 && echo stdin-is-tty; exit 3'"
    );
    let out = run_with_timeout(
        std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("DOCKER_HOST", docker::host()),
        Duration::from_secs(120),
    );
    let text = stdout(&out).replace('\r', "");
    assert_eq!(
        text,
        "/dev/pts/0\n40 100\nstdin-is-tty\n",
        "{}",
        show("docker exec -t", &out)
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        show("docker exec -t", &out)
    );
    // The terminal went with the process.
    let out = docker(&["exec", &id, "ls", "/dev/pts"]);
    assert_eq!(stdout(&out), "ptmx\n", "{}", show("ls /dev/pts", &out));
}

/// The capability sets a container's processes get (run and exec, root
/// and another user, docker's defaults and --cap-drop/--cap-add) are the
/// ones runc gives, and privilege checks follow them: mounting needs
/// CAP_SYS_ADMIN, which docker's default set leaves out.
#[test]
fn capabilities_match_runc() {
    let caps = ["grep", "Cap", "/proc/self/status"];
    let cases: [&[&str]; 3] = [
        &[],
        &[
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--cap-add",
            "KILL",
        ],
        &["-u", "1000:1000", "--cap-add", "NET_ADMIN"],
    ];
    for opts in cases {
        let mut runc = vec!["run", "--rm", "--runtime=runc"];
        runc.extend_from_slice(opts);
        runc.push(IMAGE);
        runc.extend_from_slice(&caps);
        let want = docker(&runc);
        assert!(want.status.success(), "{}", show("runc", &want));
        let got = run_rvisor(opts, &caps);
        assert!(got.status.success(), "{}", show("rvisor", &got));
        assert_eq!(stdout(&got), stdout(&want), "options {opts:?}");
    }

    // exec'd processes: the same sets as runc's exec.
    let runc_id = {
        let out = docker(&["run", "-d", "--runtime=runc", IMAGE, "sleep", "60"]);
        assert!(out.status.success(), "{}", show("runc -d", &out));
        stdout(&out).trim().to_string()
    };
    let _rm_runc = Rm(runc_id.clone());
    let id = run_detached(&[], &["sleep", "60"]);
    let _rm = Rm(id.clone());
    for user in ["0", "1000"] {
        let want = docker(&[
            "exec",
            "-u",
            user,
            &runc_id,
            "grep",
            "Cap",
            "/proc/self/status",
        ]);
        let got = docker(&["exec", "-u", user, &id, "grep", "Cap", "/proc/self/status"]);
        assert!(got.status.success(), "{}", show("exec", &got));
        assert_eq!(stdout(&got), stdout(&want), "exec -u {user}");
    }

    let mount = [
        "sh",
        "-c",
        "mkdir -p /m && mount -t tmpfs none /m && echo mounted",
    ];
    let out = run_rvisor(&[], &mount);
    assert!(
        !out.status.success(),
        "{}",
        show("mount, default caps", &out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ermission denied")
            || String::from_utf8_lossy(&out.stderr).contains("not permitted"),
        "{}",
        show("mount, default caps", &out)
    );
    let out = run_rvisor(&["--cap-add", "SYS_ADMIN"], &mount);
    assert_eq!(
        stdout(&out),
        "mounted\n",
        "{}",
        show("mount, SYS_ADMIN", &out)
    );
}

/// A container under rvisor serves and fetches over its own loopback
/// (busybox httpd and wget: the workload's internet sockets are host
/// sockets of the sentry in the container's network namespace).
#[test]
fn loopback_http_server_and_client_in_a_container() {
    let out = run_rvisor(
        &[],
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www && echo served over loopback > /tmp/www/index.html && \
             httpd -p 127.0.0.1:8080 -h /tmp/www && \
             wget -q -O- http://127.0.0.1:8080/index.html",
        ],
    );
    assert!(out.status.success(), "{}", show("docker run", &out));
    assert_eq!(stdout(&out), "served over loopback\n");
}

/// Fetches `path` from `127.0.0.1:port` over HTTP/1.0, retrying while the
/// server is not up yet; returns the response body.
fn http_get_from_host(port: u16, path: &str) -> String {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())?;
            let mut r = String::new();
            s.read_to_string(&mut r)?;
            Ok(r)
        })();
        match attempt {
            Ok(r) if r.contains("\r\n\r\n") => {
                return r
                    .split_once("\r\n\r\n")
                    .map(|x| x.1)
                    .unwrap_or("")
                    .to_string()
            }
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            other => panic!("GET {path} from 127.0.0.1:{port}: {other:?}"),
        }
    }
}

/// On a docker bridge network (the private daemon runs without the
/// default bridge, so the test creates a user-defined one): a second
/// container reaches the server's eth0 address, and the port docker
/// publishes on the host (its userland proxy; the daemon runs without
/// iptables) reaches the server too.
#[test]
fn bridge_network_between_containers_and_a_published_port() {
    let net = "rvisor-test-bridge";
    let bridge = "rvtestbr0";
    if !docker(&["network", "inspect", net]).status.success() {
        let opt = format!("com.docker.network.bridge.name={bridge}");
        let out = docker(&["network", "create", "--driver", "bridge", "-o", &opt, net]);
        assert!(
            out.status.success() || stdout(&out).contains("already exists"),
            "{}",
            show("docker network create", &out)
        );
    }
    // The private daemon runs with --iptables=false, so nothing accepts
    // traffic forwarded between the ports of its bridge; on a host whose
    // FORWARD policy is DROP with bridge netfilter on (a system docker
    // sets that up), containers on it could not talk even under runc.
    // Accept forwarding within this test bridge only.
    let rule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"];
    let present = std::process::Command::new("iptables")
        .arg("-C")
        .args(rule)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(true);
    if !present {
        let _ = std::process::Command::new("iptables")
            .arg("-I")
            .args(rule)
            .status();
    }
    let id = run_detached(
        &["--network", net, "-p", "127.0.0.1::80"],
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www && echo hello from rvisor > /tmp/www/index.html && \
             exec httpd -f -p 80 -h /tmp/www",
        ],
    );
    let _rm = Rm(id.clone());
    let out = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &id,
    ]);
    let ip = stdout(&out).trim().to_string();
    assert!(
        ip.parse::<std::net::Ipv4Addr>().is_ok(),
        "{}",
        show("docker inspect", &out)
    );
    // Container to container over the bridge.
    let url = format!("http://{ip}/index.html");
    let script = format!(
        "for i in $(seq 1 50); do timeout 5 wget -q -O- {url} 2>/dev/null && exit 0; sleep 0.2; done; exit 1"
    );
    let out = run_rvisor(&["--network", net], &["sh", "-c", &script]);
    assert!(out.status.success(), "{}", show("client container", &out));
    assert_eq!(stdout(&out), "hello from rvisor\n");
    // Host to container through the published port.
    let out = docker(&["port", &id, "80/tcp"]);
    let port: u16 = stdout(&out)
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}", show("docker port", &out)));
    assert_eq!(
        http_get_from_host(port, "/index.html"),
        "hello from rvisor\n"
    );
}

/// Binding a low port as a user follows the container's
/// net.ipv4.ip_unprivileged_port_start as under runc: docker sets it to 0,
/// `--sysctl` can set it back to 1024 (then only CAP_NET_BIND_SERVICE,
/// which a user does not have, binds port 80).
#[test]
fn unprivileged_ports_follow_the_containers_sysctl() {
    let script = [
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; \
         timeout 1 nc -l -p 80 2>&1; echo status=$?",
    ];
    for opts in [
        &["-u", "1000"][..],
        &[
            "-u",
            "1000",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=1024",
        ][..],
    ] {
        let mut runc = vec!["run", "--rm", "--runtime=runc"];
        runc.extend_from_slice(opts);
        runc.push(IMAGE);
        runc.extend_from_slice(&script);
        let want = docker(&runc);
        let got = run_rvisor(opts, &script);
        assert_eq!(
            stdout(&got),
            stdout(&want),
            "options {opts:?}\n{}\n{}",
            show("runc", &want),
            show("rvisor", &got)
        );
    }
}
