//! The sandbox side of `exec`: starting a process that the boot process's
//! control socket asked for, and reporting its end on the same connection.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use crossbeam::channel::bounded;
use rvisor_sentry::boot::stdio_table;
use rvisor_sentry::fs::vfs::Location;
use rvisor_sentry::kernel::signal::send_to_group;
use rvisor_sentry::kernel::spawner::SpawnRequest;
use rvisor_sentry::kernel::{Creds, ExitStatus, FsContext, Kernel};
use rvisor_syscalls::abi::{Siginfo, SI_KERNEL};

use super::control::{self, ExecProcess, ExitReport};

/// Default PATH for the lookup of a bare program name, as runc uses.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Starts `p` in the sandbox with `fds` as its descriptors 0, 1, 2, …;
/// replies on `s` with its pid (or the error), later writes its
/// [`ExitReport`] there. If the caller closes `s` first, the process is
/// killed: the caller stands for the process, as runc's exec does.
pub fn start(kernel: &Arc<Kernel>, s: UnixStream, p: ExecProcess, fds: Vec<OwnedFd>) {
    let Some(root) = root_of(kernel) else {
        control::reply_pid(&s, Err("the sandbox has no root".into()));
        return;
    };
    if p.args.is_empty() {
        control::reply_pid(&s, Err("exec: no command".into()));
        return;
    }
    let cwd = match kernel.vfs.resolve(&root, &root, p.cwd.as_bytes(), true) {
        Ok(c) if c.attr().map(|a| a.is_dir()).unwrap_or(false) => c,
        Ok(_) => {
            control::reply_pid(&s, Err(format!("exec: cwd {}: not a directory", p.cwd)));
            return;
        }
        Err(e) => {
            control::reply_pid(&s, Err(format!("exec: cwd {}: {e}", p.cwd)));
            return;
        }
    };
    let path = match find_program(kernel, &root, &cwd, &p) {
        Ok(path) => path,
        Err(e) => {
            control::reply_pid(&s, Err(e));
            return;
        }
    };
    let (Ok(report_to), Ok(mut watch)) = (s.try_clone(), s.try_clone()) else {
        control::reply_pid(&s, Err("exec: cloning the connection failed".into()));
        return;
    };
    // The exit report must follow the reply even if the process ends at once.
    let (replied_tx, replied_rx) = bounded::<()>(1);
    let on_exit = Box::new(move |st: ExitStatus| {
        let _ = replied_rx.recv();
        let report = match st {
            ExitStatus::Exited(c) => ExitReport {
                code: Some(c),
                signal: None,
            },
            ExitStatus::Signaled(sig, _) => ExitReport {
                code: None,
                signal: Some(sig),
            },
        };
        if let Ok(mut line) = serde_json::to_vec(&report) {
            line.push(b'\n');
            let mut w = &report_to;
            let _ = w.write_all(&line);
        }
    });
    let req = SpawnRequest {
        fs: FsContext {
            root: root.clone(),
            cwd,
            umask: 0o022,
        },
        files: stdio_table(fds),
        creds: Creds::new(p.uid, p.gid, p.groups.clone()),
        path: path.clone(),
        argv: p.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: p.env.iter().map(|e| e.as_bytes().to_vec()).collect(),
        on_exit,
    };
    match kernel.spawn_process(req) {
        Ok(pid) => {
            control::reply_pid(&s, Ok(Some(pid)));
            drop(replied_tx);
            let k = kernel.clone();
            let _ = std::thread::Builder::new()
                .name(format!("exec-{pid}"))
                .spawn(move || {
                    // Nothing more is sent on the connection: EOF means the
                    // caller is gone.
                    let _ = watch.set_read_timeout(None);
                    let mut b = [0u8; 64];
                    while matches!(watch.read(&mut b), Ok(n) if n > 0) {}
                    // Still the process we started (its exit hook not yet
                    // run), not a later one with a reused pid.
                    if let Some(g) = k.group(pid) {
                        let ours = g.inner.lock().map(|i| i.on_exit.is_some()).unwrap_or(false);
                        if ours {
                            send_to_group(&g, Siginfo::kill(libc::SIGKILL, SI_KERNEL, 0, 0));
                        }
                    }
                });
        }
        Err(e) => {
            drop(replied_tx);
            control::reply_pid(
                &s,
                Err(format!(
                    "exec: {:?}: {e}",
                    String::from_utf8_lossy(&path).into_owned()
                )),
            );
        }
    }
}

/// The sandbox's root location.
pub fn root_of(kernel: &Kernel) -> Option<Location> {
    kernel.vfs.root()
}

/// `args[0]` as given if it contains '/', else the first executable regular
/// file of that name in the process's PATH, inside the sandbox.
fn find_program(
    kernel: &Kernel,
    root: &Location,
    cwd: &Location,
    p: &ExecProcess,
) -> Result<Vec<u8>, String> {
    let arg0 = &p.args[0];
    if arg0.contains('/') {
        return Ok(arg0.as_bytes().to_vec());
    }
    let path = p
        .env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = format!("{dir}/{arg0}");
        if let Ok(l) = kernel.vfs.resolve(root, cwd, cand.as_bytes(), true) {
            if let Ok(a) = l.attr() {
                if a.mode & libc::S_IFMT == libc::S_IFREG && a.mode & 0o111 != 0 {
                    return Ok(cand.into_bytes());
                }
            }
        }
    }
    Err(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    ))
}
