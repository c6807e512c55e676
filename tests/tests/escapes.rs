//! Escape attempts against the gofer and the sentry's file stack: nothing
//! outside a container's root may be read, written or linked.
//!
//! * Hard links: a workload tries `link`/`linkat` (plain, through `..`
//!   and symlinks, `AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH`, `/proc/self/fd`)
//!   on files outside its root; host sentinels keep `st_nlink` 1 and no
//!   inode of the rootfs is theirs.
//! * Symlink races: a directory is swapped for a symlink to `/` or
//!   `../../..`, by the workload itself and by the host, while the
//!   workload reads through it; a host secret next to the rootfs is never
//!   seen.
//! * The gofer binary (`rvisor gofer`, started the way the sentry starts
//!   it) gets raw requests naming `..`, `/etc`, empty names, names with `/`
//!   or NUL, and malformed frames; it answers each with an error and keeps
//!   serving.
//!
//! (The gofer's seccomp filter killing `socket(AF_INET)` is proven by
//! `gofer/tests/seccomp.rs`; the gofer's own walk under a host race,
//! without the mount namespace, by `gofer/tests/race.rs`.)
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rvisor_gofer::protocol::{
    decode, encode, FileAttr, Request, RequestMessage, Response, ResponseMessage, MAX_MESSAGE_SIZE,
    ROOT_FID,
};
use rvisor_tests::{compile_c, rvisor_bin, scratch_dir, sys, TIMEOUT};

// ---------------------------------------------------------------------------
// Bundles

/// A secret no read from inside a sandbox may ever return.
fn secret() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("HOST-SECRET-{}-{nanos}\n", std::process::id())
}

/// A fresh `<scratch>/esc-<name>` directory.
fn test_dir(name: &str) -> PathBuf {
    let d = scratch_dir().join(format!("esc-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `<dir>/bundle` with a rootfs holding the static test program `prog` as
/// `args[0]`, whose init runs `args` with a writable root and the given
/// extra `mounts`.
fn bundle(dir: &Path, prog: &Path, args: &[&str], mounts: &[serde_json::Value]) -> PathBuf {
    let b = dir.join("bundle");
    let rootfs = b.join("rootfs");
    for sub in ["proc", "dev", "tmp", "bin"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy(prog, rootfs.join(args[0].trim_start_matches('/'))).unwrap();
    let mut all = vec![serde_json::json!(
        {"destination": "/proc", "type": "proc", "source": "proc"}
    )];
    all.extend_from_slice(mounts);
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "escape-test",
        "mounts": all,
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
    });
    std::fs::write(
        b.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    b
}

/// Starts `rvisor --root <dir>/state run --bundle B ID` with stdout going
/// to `stdout` and stderr to `<dir>/run.err`.
fn start_container(dir: &Path, bundle: &Path, id: &str, stdout: File) -> Child {
    let err = File::create(dir.join("run.err")).unwrap();
    Command::new(rvisor_bin())
        .arg("--root")
        .arg(dir.join("state"))
        .args(["run", "--bundle", bundle.to_str().unwrap(), id])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap()
}

/// Waits for a container started by [`start_container`]; returns its exit
/// code. Kills its process group after the timeout.
fn wait_container(mut child: Child, dir: &Path) -> i32 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return rvisor_tests::shell_status(&st);
        }
        if Instant::now() > deadline {
            sys::kill_group(child.id());
            let _ = child.wait();
            panic!(
                "TIMEOUT; stderr:\n{}",
                std::fs::read_to_string(dir.join("run.err")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills what a test's containers left behind (the boot processes lead
/// their own process groups), also when the test fails.
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
                sys::kill_group(pid);
            }
        }
    }
}

/// (dev, ino, nlink) of a host file.
fn identity(p: &Path) -> (u64, u64, u64) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.dev(), m.ino(), m.nlink())
}

/// Every (dev, ino) under `dir` (not following symlinks), with its path.
fn inodes_under(dir: &Path) -> Vec<((u64, u64), PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            out.push(((m.dev(), m.ino()), e.path()));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// 1. Hard links

#[test]
fn hard_links_never_reach_files_outside_the_rootfs() {
    let dir = test_dir("link");
    let prog = compile_c("hostile/link_escape", &["-static"]);
    let secret = secret();
    // Host files outside the rootfs, on the same file system as the
    // rootfs (so a host link(2) would succeed if the gofer were fooled).
    let outside_secret = dir.join("bundle/secret");
    let bind_src = dir.join("bind-src");
    std::fs::create_dir_all(&bind_src).unwrap();
    let bind_sentinel = bind_src.join("bind-sentinel");
    let stdout_path = dir.join("stdout.txt");

    let b = bundle(
        &dir,
        &prog,
        &["/link_escape", outside_secret.to_str().unwrap()],
        &[serde_json::json!({
            "destination": "/bind", "type": "bind",
            "source": bind_src.to_str().unwrap(), "options": ["rbind", "ro"]
        })],
    );
    std::fs::write(&outside_secret, &secret).unwrap();
    std::fs::write(dir.join("secret"), &secret).unwrap();
    std::fs::write(&bind_sentinel, &secret).unwrap();
    let rootfs = b.join("rootfs");
    std::fs::create_dir(rootfs.join("bind")).unwrap();
    std::os::unix::fs::symlink("..", rootfs.join("up")).unwrap();
    std::os::unix::fs::symlink("/..", rootfs.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../../../..", rootfs.join("deep")).unwrap();

    let stdout = File::create(&stdout_path).unwrap();
    let sentinels = [
        outside_secret.clone(),
        dir.join("secret"),
        bind_sentinel.clone(),
        stdout_path.clone(),
    ];
    let before: Vec<_> = sentinels.iter().map(|p| identity(p)).collect();
    for (p, (_, _, nlink)) in sentinels.iter().zip(&before) {
        assert_eq!(*nlink, 1, "{}", p.display());
    }

    let _cleanup = Cleanup(dir.join("state"));
    let child = start_container(&dir, &b, "link1", stdout);
    let status = wait_container(child, &dir);
    let out = std::fs::read_to_string(&stdout_path).unwrap();
    let err = std::fs::read_to_string(dir.join("run.err")).unwrap_or_default();
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");

    // What Linux says for each attempt in a container whose root is the
    // rootfs: ".." at the root stays there (ENOENT), and a file of another
    // mount cannot be linked (EXDEV).
    let want = "\
link /up/secret: ENOENT
link /../secret: ENOENT
link /deep/secret: ENOENT
link /abs/secret: ENOENT
link host path: ENOENT
link ../../secret from /bin: ENOENT
linkat rootfd ../secret: ENOENT
linkat rootfd ../../secret follow: ENOENT
follow /s-rel: ENOENT
follow /s-abs: ENOENT
follow /s-host: ENOENT
follow /s-stdout: EXDEV
nofollow /s-rel (allowed): LINKED
read /x13: ENOENT
follow /proc/self/fd/1: EXDEV
follow /proc/self/fd/0: EXDEV
empty path fd 1: EXDEV
empty path fd 0: EXDEV
nofollow /proc/self/fd/1: EXDEV
follow /proc/self/root/../secret: ENOENT
follow /proc/self/cwd/../../secret: ENOENT
link /bind/bind-sentinel: EXDEV
follow /proc/self/fd/<bind file>: EXDEV
empty path <bind file>: EXDEV
link into /bind: EXDEV
rename /up/secret: ENOENT
read /up/secret: ENOENT
read /deep/secret: ENOENT
read /s-host: ENOENT
read host path: ENOENT
done
";
    assert_eq!(out, want, "stderr:\n{err}");
    assert!(!out.contains("HOST-SECRET"), "{out}");

    // No host file outside the root gained a link, and none of their
    // inodes appears anywhere in the rootfs.
    let after: Vec<_> = sentinels.iter().map(|p| identity(p)).collect();
    assert_eq!(before, after, "a host file outside the rootfs changed");
    let rootfs_inodes = inodes_under(&rootfs);
    for ((dev, ino, _), p) in before.iter().zip(&sentinels) {
        if let Some((_, inside)) = rootfs_inodes.iter().find(|(k, _)| *k == (*dev, *ino)) {
            panic!(
                "{} is linked into the rootfs as {}",
                p.display(),
                inside.display()
            );
        }
    }
    // The one link that was allowed is a symlink inside the rootfs.
    assert_eq!(
        std::fs::read_link(rootfs.join("x13")).unwrap(),
        PathBuf::from("../../secret")
    );
}

// ---------------------------------------------------------------------------
// 2. Symlink races

/// Writes the host secret next to the rootfs (in the bundle directory and
/// its parent, where `..`, `../..` and `/` would lead if followed on the
/// host) and the harmless files the sandbox may legitimately read.
fn race_tree(dir: &Path, rootfs: &Path, secret: &str) {
    std::fs::write(dir.join("secret-sentinel"), secret).unwrap();
    std::fs::write(dir.join("bundle/secret-sentinel"), secret).unwrap();
    std::fs::write(rootfs.join("secret-sentinel"), "inside-root\n").unwrap();
    std::fs::create_dir_all(rootfs.join("race")).unwrap();
}

/// Asserts a race run saw no leak and returns its stdout.
fn check_race_output(dir: &Path, status: i32, stdout_path: &Path) -> String {
    let out = std::fs::read_to_string(stdout_path).unwrap();
    let err = std::fs::read_to_string(dir.join("run.err")).unwrap_or_default();
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!out.contains("HOST-SECRET"), "{out}");
    assert!(!out.contains("LEAK"), "{out}");
    assert!(!out.contains("CHECK FAILED"), "{out}\n{err}");
    eprintln!(
        "race counts: {}",
        err.lines()
            .filter(|l| l.starts_with("rounds"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    out
}

#[test]
fn directory_swapped_for_a_symlink_inside_the_sandbox_never_leaks() {
    let dir = test_dir("race-in");
    let prog = compile_c("hostile/symlink_race", &["-static"]);
    let secret = secret();
    let b = bundle(
        &dir,
        &prog,
        &["/symlink_race", "race", "/race", "1000"],
        &[],
    );
    let rootfs = b.join("rootfs");
    race_tree(&dir, &rootfs, &secret);
    let stdout_path = dir.join("stdout.txt");
    let _cleanup = Cleanup(dir.join("state"));
    let child = start_container(&dir, &b, "race1", File::create(&stdout_path).unwrap());
    let status = wait_container(child, &dir);
    let out = check_race_output(&dir, status, &stdout_path);
    assert_eq!(
        out, "child leaks 0\nchild: exited 0\nrenames 4000 of 4000\nleaks 0\n",
        "{out}"
    );
    // The swaps happened in the rootfs, and nothing outside it changed.
    assert!(rootfs.join("race/d").is_dir());
    assert_eq!(
        std::fs::read_link(rootfs.join("race/s-root")).unwrap(),
        PathBuf::from("/")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("secret-sentinel")).unwrap(),
        secret
    );
}

#[test]
fn directory_swapped_for_a_symlink_on_the_host_is_never_followed() {
    let dir = test_dir("race-host");
    let prog = compile_c("hostile/symlink_race", &["-static"]);
    let secret = secret();
    let b = bundle(&dir, &prog, &["/symlink_race", "read", "/race"], &[]);
    let rootfs = b.join("rootfs");
    race_tree(&dir, &rootfs, &secret);
    let race = rootfs.join("race");
    std::fs::create_dir(race.join("d")).unwrap();
    std::fs::write(race.join("d/secret-sentinel"), "inside-d\n").unwrap();
    // Symlinks to where the secret is on the host: "/" and "../../.."
    // (relative to rootfs/race that is the test directory) and the host's
    // absolute path of the test directory.
    let links = [race.join("s-root"), race.join("s-up"), race.join("s-host")];
    std::os::unix::fs::symlink("/", &links[0]).unwrap();
    std::os::unix::fs::symlink("../../..", &links[1]).unwrap();
    std::os::unix::fs::symlink(&dir, &links[2]).unwrap();
    assert_eq!(
        std::fs::read_to_string(links[1].join("secret-sentinel")).unwrap(),
        secret,
        "the host-side symlinks must lead to the secret when followed on the host"
    );

    let stdout_path = dir.join("stdout.txt");
    let _cleanup = Cleanup(dir.join("state"));
    let mut child = start_container(&dir, &b, "race2", File::create(&stdout_path).unwrap());
    let deadline = Instant::now() + TIMEOUT;
    while !race.join("started").exists() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "the container ended ({st:?}) before its reader started: {}",
                std::fs::read_to_string(dir.join("run.err")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the reader never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let d = race.join("d");
    let away = race.join("d-away");
    // Each state lasts 0 to 400 µs, so that the sandbox's reads (tens of
    // µs per path component) land on both and on the windows between.
    let hold = |i: usize| std::thread::sleep(Duration::from_micros((i % 5) as u64 * 100));
    for i in 0..1000 {
        let link = &links[i % links.len()];
        std::fs::rename(&d, &away).unwrap();
        std::fs::rename(link, &d).unwrap();
        hold(i);
        std::fs::rename(&d, link).unwrap();
        std::fs::rename(&away, &d).unwrap();
        hold(i + 2);
    }
    File::create(race.join("stop")).unwrap();
    let status = wait_container(child, &dir);
    let out = check_race_output(&dir, status, &stdout_path);
    assert_eq!(out, "leaks 0\n");
}

// ---------------------------------------------------------------------------
// 3. Raw requests to `rvisor gofer`

/// A running `rvisor gofer` and the client end of its socket.
struct GoferProc {
    child: Child,
    sock: OwnedFd,
    next_tag: u64,
}

impl GoferProc {
    /// Starts `rvisor gofer --root ROOT --sock-fd 3` the way the sentry
    /// does (`runsc-cli/src/cmd_do.rs`): one end of a `SOCK_SEQPACKET`
    /// pair as fd 3, dying with its parent thread.
    fn spawn(root: &Path, readonly: bool) -> GoferProc {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let mut c = Command::new(rvisor_bin());
        c.arg("gofer")
            .arg("--root")
            .arg(root)
            .args(["--sock-fd", "3"]);
        if readonly {
            c.arg("--readonly");
        }
        c.stdin(Stdio::null()).stdout(Stdio::null());
        let raw = theirs.as_raw_fd();
        // SAFETY: the pre-exec closure only makes async-signal-safe calls
        // on integers.
        unsafe {
            c.pre_exec(move || {
                if libc::dup2(raw, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
        let child = c.spawn().unwrap();
        drop(theirs);
        let mut g = GoferProc {
            child,
            sock: ours,
            next_tag: 1,
        };
        g.assert_serving();
        g
    }

    /// Sends `bytes` as one packet, with `fds` in `SCM_RIGHTS` if any.
    fn send(&self, bytes: &[u8], fds: &[i32]) {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
        let iov = [std::io::IoSlice::new(bytes)];
        let cmsg = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
        let n = sendmsg::<()>(
            self.sock.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .unwrap();
        assert_eq!(n, bytes.len());
    }

    /// Receives one reply (5 s at most), closing any fd that came with it.
    fn recv(&self) -> (ResponseMessage, usize) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&self.sock),
            PollFlags::POLLIN,
        )];
        let n = poll(&mut fds, PollTimeout::from(5000u16)).unwrap();
        assert_eq!(n, 1, "the gofer did not answer within 5 s");
        let mut buf = vec![0u8; MAX_MESSAGE_SIZE + 1];
        let mut cmsg = nix::cmsg_space!([i32; 4]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            self.sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .unwrap();
        let len = msg.bytes;
        let mut nfds = 0;
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    nfds += 1;
                    // SAFETY: the kernel just installed this fd for us and
                    // nothing else owns it.
                    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
                }
            }
        }
        assert!(len > 0, "the gofer closed the connection");
        assert!(len <= MAX_MESSAGE_SIZE, "reply of {len} bytes");
        (decode(&buf[..len]).unwrap(), nfds)
    }

    /// Sends a well-formed request; returns the reply (checking its tag).
    fn call(&mut self, request: Request) -> Response {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.send(&encode(&RequestMessage { tag, request }).unwrap(), &[]);
        let (r, _) = self.recv();
        assert_eq!(r.tag, tag);
        r.response
    }

    /// The gofer process is alive and answers a stat of its root.
    fn assert_serving(&mut self) -> FileAttr {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the gofer died: {:?}",
            self.child.try_wait()
        );
        match self.call(Request::Stat { fid: ROOT_FID }) {
            Response::Attr(a) => {
                assert!(a.is_dir());
                a
            }
            other => panic!("stat of the root: {other:?}"),
        }
    }

    /// The gofer's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Closes the connection; the gofer must exit 0 (not die of a signal).
    fn finish(mut self) {
        drop(self.sock);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert_eq!(st.code(), Some(0), "gofer ended with {st:?}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the gofer did not exit when its socket closed");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// `<dir>/root` (served, holding `sub/inner.txt`) next to `<dir>/secret`.
fn gofer_tree(dir: &Path, secret: &str) -> PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/inner.txt"), "inner\n").unwrap();
    std::fs::write(dir.join("secret"), secret).unwrap();
    std::fs::create_dir_all(dir.join("outside-dir")).unwrap();
    root
}

/// Names no request may carry, and the error each one earns.
fn bad_names() -> Vec<(Vec<u8>, i32)> {
    let einval = libc::EINVAL;
    vec![
        (b"..".to_vec(), einval),
        (b"../".to_vec(), einval),
        (b"../secret".to_vec(), einval),
        (b"../../etc/passwd".to_vec(), einval),
        (b"/etc".to_vec(), einval),
        (b"/".to_vec(), einval),
        (b"".to_vec(), einval),
        (b".".to_vec(), einval),
        (b"sub/inner.txt".to_vec(), einval),
        (b"sub/".to_vec(), einval),
        (b"sub\0".to_vec(), einval),
        (b"\0".to_vec(), einval),
        (b"secret\0../x".to_vec(), einval),
        (vec![b'a'; 256], libc::ENAMETOOLONG),
    ]
}

#[test]
fn gofer_refuses_escaping_names_in_every_request_and_keeps_serving() {
    let dir = test_dir("gofer-names");
    let secret = secret();
    let root = gofer_tree(&dir, &secret);
    let outside_before: Vec<_> = inodes_under(&dir)
        .into_iter()
        .filter(|(_, p)| !p.starts_with(&root))
        .collect();
    let secret_id = identity(&dir.join("secret"));
    let mut g = GoferProc::spawn(&root, false);

    // A fid for a regular file inside, to be the target of links.
    let inner = match g.call(Request::Walk {
        fid: ROOT_FID,
        names: vec![b"sub".to_vec(), b"inner.txt".to_vec()],
    }) {
        Response::Walked { entries } if entries.len() == 2 => entries[1].0,
        other => panic!("walk to sub/inner.txt: {other:?}"),
    };

    for (name, want) in bad_names() {
        let requests = vec![
            Request::Walk {
                fid: ROOT_FID,
                names: vec![name.clone()],
            },
            Request::Walk {
                fid: ROOT_FID,
                names: vec![b"sub".to_vec(), name.clone()],
            },
            Request::Create {
                dir: ROOT_FID,
                name: name.clone(),
                flags: libc::O_RDWR as u32,
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
            Request::Mkdir {
                dir: ROOT_FID,
                name: name.clone(),
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
            Request::Mknod {
                dir: ROOT_FID,
                name: name.clone(),
                mode: libc::S_IFIFO | 0o644,
                uid: 0,
                gid: 0,
            },
            Request::Symlink {
                dir: ROOT_FID,
                name: name.clone(),
                target: b"/".to_vec(),
                uid: 0,
                gid: 0,
            },
            Request::Link {
                dir: ROOT_FID,
                name: name.clone(),
                target: inner,
            },
            Request::Unlink {
                dir: ROOT_FID,
                name: name.clone(),
                flags: 0,
            },
            Request::Unlink {
                dir: ROOT_FID,
                name: name.clone(),
                flags: libc::AT_REMOVEDIR as u32,
            },
            Request::Rename {
                old_dir: ROOT_FID,
                old_name: name.clone(),
                new_dir: ROOT_FID,
                new_name: b"moved-in".to_vec(),
                flags: 0,
            },
            Request::Rename {
                old_dir: ROOT_FID,
                old_name: b"sub".to_vec(),
                new_dir: ROOT_FID,
                new_name: name.clone(),
                flags: 0,
            },
        ];
        for request in requests {
            let what = format!("{request:?}");
            let reply = g.call(request);
            assert_eq!(reply, Response::Error { errno: want }, "{what}");
            g.assert_serving();
        }
    }

    // Fids that the gofer never handed out (a host fd number, say) name
    // nothing: a link "to an fd from outside" cannot be expressed.
    for fid in [3, 4, 1000, u64::MAX] {
        let reply = g.call(Request::Link {
            dir: ROOT_FID,
            name: b"x".to_vec(),
            target: fid,
        });
        assert_eq!(reply, Response::Error { errno: libc::EBADF });
        let reply = g.call(Request::Walk {
            fid,
            names: vec![b"secret".to_vec()],
        });
        assert_eq!(reply, Response::Error { errno: libc::EBADF });
    }
    // Walking from a file is ENOTDIR; 65 components EINVAL.
    assert_eq!(
        g.call(Request::Walk {
            fid: inner,
            names: vec![b"x".to_vec()]
        }),
        Response::Error {
            errno: libc::ENOTDIR
        }
    );
    assert_eq!(
        g.call(Request::Walk {
            fid: ROOT_FID,
            names: vec![b"sub".to_vec(); 65]
        }),
        Response::Error {
            errno: libc::EINVAL
        }
    );
    // An fd of a directory outside the root pushed along with a request
    // is discarded by the kernel: it never becomes something to walk from.
    let outside = File::open(dir.join("outside-dir")).unwrap();
    let bytes = encode(&RequestMessage {
        tag: 9999,
        request: Request::Walk {
            fid: ROOT_FID,
            names: vec![b"secret".to_vec()],
        },
    })
    .unwrap();
    g.send(&bytes, &[outside.as_raw_fd()]);
    let (r, _) = g.recv();
    assert_eq!(
        (r.tag, r.response),
        (
            9999,
            Response::Error {
                errno: libc::ENOENT
            }
        )
    );
    let outside_ino = std::fs::metadata(dir.join("outside-dir")).unwrap().ino();
    for e in std::fs::read_dir(format!("/proc/{}/fd", g.child.id()))
        .unwrap()
        .flatten()
    {
        if let Ok(m) = std::fs::metadata(e.path()) {
            assert_ne!(m.ino(), outside_ino, "the gofer kept a donated fd");
        }
    }
    g.assert_serving();
    g.finish();

    // Nothing outside the root was made, removed or linked.
    let outside_after: Vec<_> = inodes_under(&dir)
        .into_iter()
        .filter(|(_, p)| !p.starts_with(&root))
        .collect();
    assert_eq!(outside_before, outside_after);
    assert_eq!(identity(&dir.join("secret")), secret_id);
    assert_eq!(std::fs::read_to_string(dir.join("secret")).unwrap(), secret);
}

/// Valid encodings of one request of every kind (with harmless names).
fn sample_requests() -> Vec<Request> {
    vec![
        Request::Walk {
            fid: ROOT_FID,
            names: vec![b"sub".to_vec(), b"inner.txt".to_vec()],
        },
        Request::Stat { fid: 300 },
        Request::Open {
            fid: 70000,
            flags: libc::O_RDONLY as u32,
        },
        Request::Getdents {
            fid: ROOT_FID,
            offset: 1 << 40,
        },
        Request::Symlink {
            dir: ROOT_FID,
            name: b"never-made".to_vec(),
            target: b"/some/where".to_vec(),
            uid: 1000,
            gid: 1000,
        },
        Request::Rename {
            old_dir: ROOT_FID,
            old_name: b"absent-a".to_vec(),
            new_dir: ROOT_FID,
            new_name: b"absent-b".to_vec(),
            flags: 0,
        },
        Request::SetXattr {
            fid: 12345,
            name: b"user.k".to_vec(),
            value: vec![7u8; 300],
            flags: 0,
        },
    ]
}

/// A tiny deterministic PRNG (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn gofer_survives_malformed_frames() {
    let dir = test_dir("gofer-frames");
    let secret = secret();
    let root = gofer_tree(&dir, &secret);
    let secret_id = identity(&dir.join("secret"));
    let mut g = GoferProc::spawn(&root, false);
    let rss_start = g.rss_kib();
    let einval = Response::Error {
        errno: libc::EINVAL,
    };

    // Every strict prefix of a valid request is a truncated frame: EINVAL,
    // with the tag echoed once the tag itself is complete.
    for (i, request) in sample_requests().into_iter().enumerate() {
        let tag = 0x1234_5678 + i as u64;
        let bytes = encode(&RequestMessage { tag, request }).unwrap();
        for cut in 0..bytes.len() {
            g.send(&bytes[..cut], &[]);
            let (r, nfds) = g.recv();
            assert_eq!(r.response, einval, "prefix of {cut} bytes of request {i}");
            assert_eq!(nfds, 0);
            assert!(r.tag == tag || r.tag == 0, "tag {:#x}", r.tag);
        }
        g.assert_serving();
    }

    // Length prefixes claiming far more than the packet holds: a walk of
    // 2^32 names, a name of 2^64-1 bytes, a symlink target and an xattr
    // value of 4 GiB. None may be allocated.
    let huge: [&[u8]; 5] = [
        &[0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
        &[
            0x02, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        &[
            0x03, 0x0a, 0x00, 0x01, b'x', 0xff, 0xff, 0xff, 0xff, 0x0f, b'/',
        ],
        &[
            0x04, 0x12, 0x00, 0x06, b'u', b's', b'e', b'r', b'.', b'k', 0xff, 0xff, 0xff, 0xff,
            0x0f, 0x00,
        ],
        // A varint longer than any u64.
        &[
            0x05, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
    ];
    for (i, bytes) in huge.iter().enumerate() {
        g.send(bytes, &[]);
        let (r, _) = g.recv();
        assert_eq!(r.response, einval, "huge length {i}");
        assert_eq!(r.tag, u64::from(bytes[0]));
        g.assert_serving();
    }

    // Oversized packets: EMSGSIZE, and the next request is fine.
    for len in [MAX_MESSAGE_SIZE + 1, 150_000] {
        let mut big = vec![0xffu8; len];
        big[0] = 0x33;
        g.send(&big, &[]);
        let (r, _) = g.recv();
        assert_eq!(
            (r.tag, r.response),
            (
                0x33,
                Response::Error {
                    errno: libc::EMSGSIZE
                }
            )
        );
        g.assert_serving();
    }

    // Garbage: every packet gets exactly one reply (an error, or an answer
    // if the bytes happen to decode), and the gofer stays up.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..2000 {
        let len = match i % 4 {
            0 => (rng.next() % 8) as usize,
            1 => (rng.next() % 64) as usize,
            2 => (rng.next() % 1024) as usize,
            _ => (rng.next() % 70_000) as usize,
        };
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        g.send(&bytes, &[]);
        let _ = g.recv();
        if i % 100 == 0 {
            g.assert_serving();
        }
    }
    g.assert_serving();
    let rss_end = g.rss_kib();
    assert!(
        rss_end < rss_start + 64 * 1024,
        "the gofer grew from {rss_start} KiB to {rss_end} KiB"
    );
    g.finish();

    // Whatever the garbage decoded to, nothing outside the root changed.
    assert_eq!(identity(&dir.join("secret")), secret_id);
    assert_eq!(std::fs::read_to_string(dir.join("secret")).unwrap(), secret);
    let outside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let mut outside = outside;
    outside.sort();
    assert_eq!(outside, ["outside-dir", "root", "secret"]);
}
