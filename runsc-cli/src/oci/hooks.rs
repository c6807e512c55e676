//! OCI lifecycle hooks: host programs the runtime runs at fixed points of a
//! container's life, each given the container's state JSON on stdin.
//!
//! Like runc: `prestart` and `createRuntime` run in `create` once the
//! sandbox process exists (docker's network setup is a `prestart` hook that
//! needs its pid), then `createContainer`; `poststart` after `start`;
//! `poststop` in `delete`. All run in the runtime's namespaces (rvisor has no
//! host-level container namespace to enter; the sandbox's own kernel cannot
//! run host programs), which is why `startContainer` hooks, meant to run
//! inside the container, are refused by `create`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Hook;

/// Runs `hooks` in order with `state` (OCI state JSON) on their stdin; the
/// first one that fails (non-zero exit, killed, or past its `timeout`)
/// stops the rest and is returned as the error, naming `stage`.
pub fn run(stage: &str, hooks: &[Hook], state: &[u8]) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state).with_context(|| format!("{stage} hook #{i} ({})", h.path().display()))?;
    }
    Ok(())
}

/// [`run`], but a failure is only logged: what the spec asks for
/// `poststart` and `poststop` hooks.
pub fn run_logged(stage: &str, hooks: &[Hook], state: &[u8]) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state) {
            tracing::warn!("{stage} hook #{i} ({}): {e:#}", h.path().display());
        }
    }
}

fn run_one(h: &Hook, state: &[u8]) -> Result<()> {
    let mut c = Command::new(h.path());
    let args = h.args().clone().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut c, arg0);
        c.args(rest);
    }
    c.env_clear();
    for kv in h.env().as_deref().unwrap_or_default() {
        match kv.split_once('=') {
            Some((k, v)) => c.env(k, v),
            None => c.env(kv, ""),
        };
    }
    c.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().context("starting it")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state);
    }
    let stderr = child.stderr.take();
    let pid = child.id();
    let (tx, rx) = crossbeam::channel::bounded(1);
    std::thread::spawn(move || {
        let mut err = String::new();
        if let Some(mut s) = stderr {
            let _ = std::io::Read::read_to_string(&mut s, &mut err);
        }
        let _ = tx.send((child.wait(), err));
    });
    let timeout = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let got = match timeout {
        Some(t) => rx.recv_timeout(t).ok(),
        None => rx.recv().ok(),
    };
    let Some((status, err)) = got else {
        // SAFETY: kill only sends a signal; the pid is our unreaped child.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        bail!("timed out after {} s", timeout.map_or(0, |t| t.as_secs()));
    };
    let status = status.context("waiting for it")?;
    if !status.success() {
        bail!("{status}: {}", err.trim_end());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(v: serde_json::Value) -> Hook {
        serde_json::from_value(v).expect("hook json")
    }

    #[test]
    fn hooks_get_state_args_env_and_report_failure() {
        let dir = std::env::temp_dir().join(format!("rvisor-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let out = dir.join("out");
        let script = format!("cat > {0}; echo \"$0 $1 $FOO\" >> {0}", out.display());
        let ok = hook(serde_json::json!({
            "path": "/bin/sh", "args": ["myhook", "-c", script, "a0", "a1"], "env": ["FOO=bar"]
        }));
        run("prestart", &[ok], b"{\"id\":\"x\"}\n").expect("hook runs");
        assert_eq!(
            std::fs::read_to_string(&out).expect("read"),
            "{\"id\":\"x\"}\na0 a1 bar\n"
        );
        let bad = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo oops >&2; exit 3"]}),
        );
        let e = format!(
            "{:#}",
            run("createRuntime", &[bad], b"{}").expect_err("fails")
        );
        assert!(
            e.contains("createRuntime hook #0") && e.contains("oops"),
            "{e}"
        );
        let slow = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 30"], "timeout": 1}),
        );
        let e = format!(
            "{:#}",
            run("prestart", &[slow], b"{}").expect_err("times out")
        );
        assert!(e.contains("timed out"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
