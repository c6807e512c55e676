//! End-to-end acceptance checks of `rvisor do`.
#![allow(clippy::unwrap_used)]

use rvisor_tests::{
    assert_rvisor_exited, compile_c, native, rvisor_do, sandbox, scratch_dir, shell_status, show,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert the sandboxed run's shell status and exact stdout.
fn expect(out: &Output, status: i32, want_stdout: &str, what: &str) {
    assert_rvisor_exited(out, what);
    assert!(
        shell_status(&out.status) == status && out.stdout == want_stdout.as_bytes(),
        "{what}: expected status {status} and stdout {want_stdout:?}\n{}",
        show("rvisor do", out)
    );
}

/// Run `cmd` natively and in the sandbox; assert same stdout and status.
fn same_as_native(cmd: &[&str]) -> (Output, Output) {
    let nat = native(cmd);
    let sb = sandbox(cmd);
    assert_rvisor_exited(&sb, cmd[0]);
    assert!(
        nat.stdout == sb.stdout && shell_status(&nat.status) == shell_status(&sb.status),
        "`{}` differs between native and rvisor\n{}\n{}",
        cmd.join(" ").chars().take(300).collect::<String>(),
        show("native", &nat),
        show("rvisor do", &sb)
    );
    (nat, sb)
}

// ---- a. busybox ------------------------------------------------------------

#[test]
fn a_busybox_pipeline_and_exit_status() {
    let out = sandbox(&[
        "/bin/busybox",
        "sh",
        "-c",
        "echo hello; seq 1 5 | sort -r | head -n 2; exit 7",
    ]);
    expect(&out, 7, "hello\n5\n4\n", "busybox sh");
}

// ---- b. bash ---------------------------------------------------------------

#[test]
fn b_bash_trap_subshell_background_wait() {
    let out = sandbox(&[
        "/bin/bash",
        "-c",
        r#"trap "echo got TERM" TERM; kill -TERM $$; echo after; (exit 3); echo $?; sleep 0.1 & wait $!; echo waited"#,
    ]);
    expect(&out, 0, "got TERM\nafter\n3\nwaited\n", "bash");
}

// ---- c. python -------------------------------------------------------------

#[test]
fn c_python_acceptance_script_matches_native() {
    // Copy the script into the sandbox-visible scratch directory (the source
    // tree might live under /tmp, which the sandbox does not see).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/acceptance.py");
    let script = scratch_dir().join("acceptance.py");
    std::fs::copy(&src, &script).unwrap();
    let script = script.to_str().unwrap();
    let (nat, _) = same_as_native(&["/usr/bin/python3", script]);
    assert!(
        nat.status.success() && stdout(&nat).ends_with("done\n"),
        "the script itself failed natively\n{}",
        show("native", &nat)
    );
}

// ---- d. sandbox identity: kernel version, pids, /proc ------------------------

#[test]
fn d_uname_release_differs_from_host() {
    let host = native(&["uname", "-r"]);
    assert!(host.status.success());
    let out = sandbox(&["uname", "-r"]);
    assert_rvisor_exited(&out, "uname -r");
    assert!(out.status.success(), "{}", show("rvisor do uname -r", &out));
    let release = stdout(&out);
    assert!(!release.trim().is_empty(), "empty release");
    assert_ne!(
        release,
        stdout(&host),
        "the sandbox must report its own kernel release, not the host's"
    );
}

#[test]
fn d_proc_self_status_has_small_pid() {
    let out = sandbox(&["cat", "/proc/self/status"]);
    assert_rvisor_exited(&out, "cat /proc/self/status");
    assert!(
        out.status.success(),
        "{}",
        show("cat /proc/self/status", &out)
    );
    let text = stdout(&out);
    let pid: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap_or_else(|| panic!("no Pid: line in\n{text}"))
        .trim()
        .parse()
        .unwrap();
    assert!(pid < 10, "sandbox pid should be small, got {pid}");
}

#[test]
fn d_ls_proc_shows_only_sandbox_pids() {
    let out = sandbox(&["ls", "/proc"]);
    assert_rvisor_exited(&out, "ls /proc");
    assert!(out.status.success(), "{}", show("ls /proc", &out));
    let text = stdout(&out);
    let pids: Vec<u32> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(!pids.is_empty(), "no pid directories in /proc:\n{text}");
    assert!(
        pids.iter().all(|&p| p < 100),
        "pid directories must be sandbox pids (< 100): {pids:?}"
    );
    let me = std::process::id();
    assert!(
        !pids.contains(&me),
        "the host test process ({me}) is visible inside the sandbox"
    );
    let host: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    assert!(
        host.len() > pids.len(),
        "host /proc is leaking through: {pids:?}"
    );
}

#[test]
fn d_proc_self_maps_names_the_binary() {
    let out = sandbox(&["cat", "/proc/self/maps"]);
    assert_rvisor_exited(&out, "cat /proc/self/maps");
    assert!(
        out.status.success(),
        "{}",
        show("cat /proc/self/maps", &out)
    );
    assert!(
        stdout(&out).contains("/usr/bin/cat"),
        "/proc/self/maps does not mention /usr/bin/cat\n{}",
        show("cat /proc/self/maps", &out)
    );
}

// ---- e. unimplemented system call --------------------------------------------

#[test]
fn e_unimplemented_syscall_enosys_and_strace() {
    let bin = compile_c("enosys", &[]);
    let bin = bin.to_str().unwrap();
    let out = sandbox(&[bin]);
    assert_rvisor_exited(&out, "enosys");
    assert!(
        out.status.success()
            && stdout(&out).contains("syscall(536) = -1 errno=ENOSYS")
            && stdout(&out).ends_with("alive\n"),
        "{}",
        show("enosys", &out)
    );

    let out = rvisor_do(&["--strace", "--", bin]);
    assert_rvisor_exited(&out, "--strace enosys");
    assert!(
        out.status.success() && stdout(&out).ends_with("alive\n"),
        "{}",
        show("--strace enosys", &out)
    );
    let err = stderr(&out);
    let line = err.lines().find(|l| {
        l.contains("ENOSYS") && (l.contains("0x218") || l.contains("536") || l.contains("syscall_"))
    });
    assert!(
        line.is_some(),
        "--strace output has no line naming syscall 536 (0x218) with ENOSYS\n{}",
        show("--strace enosys", &out)
    );
    // strace output goes to stderr only; stdout is the program's.
    assert!(
        !stdout(&out).contains("ENOSYS ("),
        "strace leaked into stdout"
    );
}

// ---- f. environment, scripts, argv, ELF interpreter ---------------------------

#[test]
fn f_env_dash_i() {
    let out = sandbox(&["/usr/bin/env", "-i", "FOO=bar", "/usr/bin/env"]);
    expect(&out, 0, "FOO=bar\n", "env -i FOO=bar env");
}

#[test]
fn f_dash_e_sets_environment() {
    let out = rvisor_do(&[
        "-e",
        "RVISOR_T1=one",
        "-e",
        "RVISOR_T2=two words",
        "--",
        "/bin/sh",
        "-c",
        "echo \"$RVISOR_T1|$RVISOR_T2\"",
    ]);
    expect(&out, 0, "one|two words\n", "-e K=V");
}

#[test]
fn f_cwd_flag() {
    let out = rvisor_do(&[
        "--cwd",
        "/usr/share",
        "--",
        "/bin/sh",
        "-c",
        "pwd; /bin/pwd",
    ]);
    expect(&out, 0, "/usr/share\n/usr/share\n", "--cwd /usr/share");
}

#[test]
fn f_shebang_script() {
    let dir = scratch_dir().join("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("hello.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"script $0 got $# args: $1 $2\"\necho \"stderr line\" >&2\nexit 9\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.to_str().unwrap();
    let (nat, _) = same_as_native(&[s, "one", "two"]);
    assert_eq!(shell_status(&nat.status), 9);

    // A script whose interpreter line has an argument.
    let script2 = dir.join("awk.sh");
    std::fs::write(
        &script2,
        "#!/usr/bin/awk -f\nBEGIN { print \"awk ran\"; exit 4 }\n",
    )
    .unwrap();
    std::fs::set_permissions(&script2, std::fs::Permissions::from_mode(0o755)).unwrap();
    same_as_native(&[script2.to_str().unwrap()]);
}

#[test]
fn f_echo_with_10000_arguments() {
    let args: Vec<String> = (0..10_000).map(|i| format!("w{i}")).collect();
    let mut cmd = vec!["/bin/echo"];
    cmd.extend(args.iter().map(String::as_str));
    let (nat, _) = same_as_native(&cmd);
    assert!(nat.stdout.len() > 50_000);
}

/// Copy `src` to `dst` and replace its PT_INTERP path by a missing one.
fn patch_interp(src: &Path, dst: &Path) {
    let mut elf = std::fs::read(src).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "expected a 64-bit ELF");
    assert_eq!(elf[5], 1, "expected little-endian ELF");
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let phoff = u64_at(&elf, 0x20);
    let phentsize = u16_at(&elf, 0x36);
    let phnum = u16_at(&elf, 0x38);
    let mut patched = false;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(&elf, ph) == 3 {
            // PT_INTERP
            let off = u64_at(&elf, ph + 8);
            let size = u64_at(&elf, ph + 32);
            let missing = b"/nonexistent/ld.so";
            assert!(missing.len() < size);
            let field = &mut elf[off..off + size];
            field.fill(0);
            field[..missing.len()].copy_from_slice(missing);
            patched = true;
        }
    }
    assert!(patched, "{} has no PT_INTERP", src.display());
    std::fs::write(dst, &elf).unwrap();
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn f_missing_elf_interpreter_is_enoent() {
    let truebin = std::fs::canonicalize("/bin/true").unwrap();
    let dst: PathBuf = scratch_dir().join("true-missing-interp");
    patch_interp(&truebin, &dst);
    let d = dst.to_str().unwrap();
    let nat = native(&["/bin/sh", "-c", d]);
    assert_eq!(
        shell_status(&nat.status),
        127,
        "natively the shell should report 127\n{}",
        show("native", &nat)
    );
    let sb = sandbox(&["/bin/sh", "-c", d]);
    assert_rvisor_exited(&sb, "sh -c <bad interp>");
    assert_eq!(
        shell_status(&sb.status),
        127,
        "execve of a binary with a missing interpreter must fail with ENOENT (shell status 127)\n{}",
        show("rvisor do", &sb)
    );
    // dash reports ENOENT as "not found" (EACCES would be "Permission denied").
    let nat_msg = stderr(&nat).contains("not found");
    assert_eq!(
        nat_msg,
        stderr(&sb).contains("not found"),
        "the shell's error message differs\n{}\n{}",
        show("native", &nat),
        show("rvisor do", &sb)
    );
    // Run directly, rvisor must fail too (not hang, not succeed).
    let direct = sandbox(&[d]);
    assert!(
        !direct.status.success(),
        "running a binary whose interpreter is missing succeeded?\n{}",
        show("rvisor do", &direct)
    );
}

// ---- g. faults and signal exit statuses ----------------------------------------

#[test]
fn g_null_deref_is_139_and_next_run_is_fine() {
    let bin = compile_c("crash_null", &[]);
    let out = sandbox(&[bin.to_str().unwrap()]);
    assert_rvisor_exited(&out, "crash_null");
    assert_eq!(
        shell_status(&out.status),
        139,
        "{}",
        show("crash_null", &out)
    );
    assert_eq!(stdout(&out), "about to dereference NULL\n");
    let next = sandbox(&["/bin/true"]);
    expect(&next, 0, "", "/bin/true after a crash");
}

#[test]
fn g_kill_9_self_is_137() {
    let out = sandbox(&["/bin/sh", "-c", "kill -9 $$"]);
    expect(&out, 137, "", "sh -c 'kill -9 $$'");
}

#[test]
fn g_sigfpe_is_136() {
    let bin = compile_c("div_zero", &[]);
    let out = sandbox(&[bin.to_str().unwrap()]);
    expect(&out, 136, "dividing by zero\n", "div_zero");
}

#[test]
fn g_exit_codes_pass_through() {
    for code in [0, 1, 42, 255] {
        let out = sandbox(&["/bin/sh", "-c", &format!("exit {code}")]);
        expect(&out, code, "", &format!("exit {code}"));
    }
    let out = sandbox(&["/bin/false"]);
    expect(&out, 1, "", "/bin/false");
}

#[test]
fn debug_log_flag_writes_file() {
    let log = scratch_dir().join("debug-log-flag.log");
    let _ = std::fs::remove_file(&log);
    let out = rvisor_do(&["--debug-log", log.to_str().unwrap(), "--", "/bin/true"]);
    expect(&out, 0, "", "--debug-log FILE /bin/true");
    assert!(
        log.is_file(),
        "--debug-log did not create {}",
        log.display()
    );
}

// ---- sandbox file system ---------------------------------------------------

#[test]
fn tmp_is_private_and_writable() {
    // Leave a marker in the host's /tmp: the sandbox must not see it.
    let marker = Path::new("/tmp").join(format!("rvisor-host-marker-{}", std::process::id()));
    std::fs::write(&marker, "host").unwrap();
    let m = marker.to_str().unwrap();
    let script =
        format!("test -e {m} && echo sees-host-tmp; echo data > /tmp/f && cat /tmp/f; ls -A /tmp");
    let out = sandbox(&["/bin/sh", "-c", &script]);
    let _ = std::fs::remove_file(&marker);
    expect(&out, 0, "data\nf\n", "private /tmp");
}

#[test]
fn host_root_writes_stay_in_the_sandbox() {
    // `rvisor do` gives the workload the host root with an in-memory
    // writable layer: writes and deletions succeed inside and never reach
    // the host.
    let dir = scratch_dir().join("ro-probe");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("written-from-sandbox");
    let keep = dir.join("kept-on-host");
    std::fs::write(&keep, "host\n").unwrap();
    let t = target.to_str().unwrap();
    let k = keep.to_str().unwrap();
    let out = sandbox(&[
        "/bin/sh",
        "-c",
        &format!("echo x > {t} && cat {t} && rm {k} && test ! -e {k} && echo removed"),
    ]);
    assert!(
        !target.exists(),
        "the sandbox wrote to the host file system ({t})"
    );
    assert_eq!(
        std::fs::read_to_string(&keep).unwrap(),
        "host\n",
        "the sandbox removed a host file"
    );
    expect(&out, 0, "x\nremoved\n", "write to the overlay root");
}

#[test]
fn xattrs_of_host_files_and_copy_up() {
    // A host file with user attributes: the sandbox reads them through
    // the gofer; changing them copies the file up with its attributes and
    // never touches the host file.
    let tool = compile_c("xattr_ops", &[]);
    let tool = tool.to_str().unwrap();
    let dir = scratch_dir().join("xattr-host");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("f");
    std::fs::write(&f, "data\n").unwrap();
    let f = f.to_str().unwrap();
    let set = native(&[tool, "set", f, "user.host", "H", "set", f, "user.keep", "K"]);
    assert_eq!(
        stdout(&set),
        "set user.host: 0\nset user.keep: 0\n",
        "the host's file system must support user xattrs\n{}",
        show("native", &set)
    );
    let d = dir.to_str().unwrap();
    let out = sandbox(&[
        tool,
        "get",
        f,
        "user.host",
        "list",
        f,
        "list",
        d,
        "set",
        f,
        "user.new",
        "N",
        "rm",
        f,
        "user.host",
        "list",
        f,
        "get",
        f,
        "user.keep",
        "rm",
        f,
        "user.none",
        "set",
        d,
        "user.d",
        "D",
        "list",
        d,
    ]);
    expect(
        &out,
        0,
        "get user.host: 1 \"H\"\n\
         list: 20 [user.host user.keep]\n\
         list: 0 []\n\
         set user.new: 0\n\
         rm user.host: 0\n\
         list: 19 [user.keep user.new]\n\
         get user.keep: 1 \"K\"\n\
         rm user.none: ENODATA\n\
         set user.d: 0\n\
         list: 7 [user.d]\n",
        "xattrs over the overlay root",
    );
    let host = native(&[tool, "list", f, "list", d]);
    assert_eq!(
        stdout(&host),
        "list: 20 [user.host user.keep]\nlist: 0 []\n",
        "the sandbox changed the host file's attributes"
    );
}

// ---- the sentry's own confinement ------------------------------------------

/// The `Seccomp:` field of a /proc status file.
fn seccomp_mode(status_path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(status_path).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(|v| v.trim().to_string())
}

#[test]
fn sentry_runs_under_its_seccomp_filter() {
    // `rvisor do` becomes the sentry: while the workload runs, every one
    // of its threads (main, task-N) is in seccomp filter mode.
    let mut child = std::process::Command::new(rvisor_tests::rvisor_bin())
        .args(["do", "/bin/sleep", "2"])
        .env_remove("RVISOR_SECCOMP")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    let mut seen: Option<Vec<(String, Option<String>)>> = None;
    while std::time::Instant::now() < deadline {
        // The init task's thread exists once the workload runs.
        let threads: Vec<(String, Option<String>)> = std::fs::read_dir(proc_dir.join("task"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| {
                        let comm = std::fs::read_to_string(e.path().join("comm"))
                            .unwrap_or_default()
                            .trim()
                            .to_string();
                        (comm, seccomp_mode(&e.path().join("status")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let has_task = threads.iter().any(|(c, _)| c == "task-1");
        if has_task && threads.iter().all(|(_, m)| m.as_deref() == Some("2")) {
            seen = Some(threads);
            break;
        }
        if has_task {
            seen = Some(threads);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let main_mode = seccomp_mode(&proc_dir.join("status"));
    let status = child.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let threads = seen.expect("the sentry never started its init task (no task-1 thread)");
    assert!(
        threads.iter().all(|(_, m)| m.as_deref() == Some("2")),
        "sentry threads not in seccomp filter mode: {threads:?}"
    );
    assert_eq!(main_mode.as_deref(), Some("2"), "sentry main thread");
    assert!(
        status.success(),
        "rvisor do sleep 2 under the sentry filter: {status:?}\n{err}"
    );
}

#[test]
fn sysfs_is_the_sandboxs_own() {
    // What glibc and runtimes read agrees with the host...
    same_as_native(&[
        "/bin/sh",
        "-c",
        "cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; getconf _NPROCESSORS_CONF; getconf _NPROCESSORS_ONLN",
    ]);
    // ...but nothing else of the host's /sys is there, and it is read-only.
    let out = sandbox(&[
        "/bin/sh",
        "-c",
        "ls /sys/block /sys/firmware 2>/dev/null || echo hidden; echo x > /sys/probe 2>/dev/null || echo read-only",
    ]);
    expect(&out, 0, "hidden\nread-only\n", "sysfs");
}
