//! The boot process's control socket, `<root>/<id>/control.sock`: one JSON
//! request line per connection (with descriptors attached by SCM_RIGHTS for
//! `exec`), one JSON reply line. An `exec` connection stays open: the boot
//! process writes the process's [`ExitReport`] line when it ends, and kills
//! the process if the caller goes away first; the caller may send
//! [`ExecUpdate`] lines on it meanwhile (window-size changes of the
//! process's terminal).

use std::fs::File;
use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::{Deserialize, Serialize};

/// File name of the socket in the container directory.
pub const SOCKET: &str = "control.sock";

/// A request to the boot process.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Run init (`rvisor start`).
    Start,
    /// Deliver a signal to init, or to every process with `all`, or to the
    /// process `pid` (an exec'd one).
    Signal {
        /// Signal number.
        sig: i32,
        /// Every process of the sandbox, not only init.
        all: bool,
        /// A process id inside the sandbox instead of init.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<i32>,
    },
    /// Start a new process in the running sandbox; its stdio (and any
    /// preserved descriptors) are the descriptors attached to the request,
    /// numbered 0, 1, 2, … in order.
    Exec(ExecProcess),
    /// New limits the sentry enforces itself (`update`).
    Limits {
        /// Most tasks (threads) of the sandbox; 0 or negative: no limit.
        pids: Option<i64>,
    },
}

/// A process to start with `exec`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ExecProcess {
    /// argv (argv\[0\] is looked up in PATH inside the sandbox if it has
    /// no '/').
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<String>,
    /// Working directory inside the sandbox.
    pub cwd: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// The process gets a new terminal of the sandbox (a devpts pair) as
    /// its stdio and controlling terminal; the first two attached
    /// descriptors are then the host side's input and output (the third
    /// is ignored), the rest become descriptors 3, 4, ….
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub terminal: bool,
    /// The terminal's initial window size (rows, columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<(u16, u16)>,
    /// process.capabilities as masks: bounding, effective, permitted,
    /// inheritable, ambient (None: Linux's defaults for the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<[u64; 5]>,
    /// process.noNewPrivileges (or `exec --no-new-privs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_privs: bool,
}

/// What the caller of an `exec` sends on its open connection after the
/// reply, one JSON line each.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ExecUpdate {
    /// The host terminal changed its window size: the process's terminal
    /// follows (its foreground group gets SIGWINCH).
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
}

/// How an exec'd process ended, written on its connection.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitReport {
    /// Exit code (when it exited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number (when a signal killed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// Most descriptors one request may carry.
pub const MAX_FDS: usize = 64;

/// The reply.
#[derive(Serialize, Deserialize, Debug)]
pub struct Reply {
    /// Done.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The new process's pid inside the sandbox (`exec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
}

/// The socket's path, usable with bind/connect even when the full path is
/// longer than `sockaddr_un` allows: then it goes through
/// `/proc/self/fd/N/` of an open directory (returned, keep it open).
fn socket_path(dir: &Path) -> Result<(PathBuf, Option<File>)> {
    let full = dir.join(SOCKET);
    if full.as_os_str().len() < 100 {
        return Ok((full, None));
    }
    let d = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .with_context(|| format!("opening {}", dir.display()))?;
    let p = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET}", d.as_raw_fd()));
    Ok((p, Some(d)))
}

/// Binds the control socket in `dir` (replacing a stale one).
pub fn bind(dir: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(dir.join(SOCKET));
    let (path, _keep) = socket_path(dir)?;
    UnixListener::bind(&path).with_context(|| format!("binding {}", dir.join(SOCKET).display()))
}

/// Sends `req` to the boot process of the container in `dir`.
pub fn request(dir: &Path, req: &Request) -> Result<()> {
    request_with_fds(dir, req, &[]).map(|_| ())
}

/// Sends `req` with `fds` attached; returns the connection (an `exec` one
/// later carries the [`ExitReport`]) and the new pid if the reply had one.
pub fn request_with_fds(
    dir: &Path,
    req: &Request,
    fds: &[BorrowedFd<'_>],
) -> Result<(BufReader<UnixStream>, Option<i32>)> {
    let (path, _keep) = socket_path(dir)?;
    let s = UnixStream::connect(&path).with_context(|| {
        format!(
            "connecting to the sandbox's control socket {}",
            dir.join(SOCKET).display()
        )
    })?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let mut sent = 0;
    while sent < line.len() {
        let iov = [IoSlice::new(&line[sent..])];
        let cmsg = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage] = if sent == 0 && !raw.is_empty() {
            &cmsg
        } else {
            &[]
        };
        sent += sendmsg::<()>(s.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None)
            .context("sending to the sandbox")?;
    }
    let mut r = BufReader::new(s);
    let mut reply = String::new();
    r.read_line(&mut reply)
        .context("reading the sandbox's reply")?;
    if reply.is_empty() {
        bail!("the sandbox closed the control connection without a reply");
    }
    let rep: Reply = serde_json::from_str(&reply).context("parsing the sandbox's reply")?;
    if !rep.ok {
        bail!("{}", rep.error.unwrap_or_else(|| "request refused".into()));
    }
    Ok((r, rep.pid))
}

/// Reads one request from an accepted connection, with the descriptors
/// attached to it (at most [`MAX_FDS`]; more is an error).
pub fn read_request(s: &UnixStream) -> Result<(Request, Vec<OwnedFd>)> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = Vec::new();
    let mut fds = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            s.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .context("reading a control request")?;
        for c in msg.cmsgs().context("control message")? {
            if let ControlMessageOwned::ScmRights(v) = c {
                for fd in v {
                    // SAFETY: the kernel just installed this descriptor in
                    // our table for us; nothing else owns it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            bail!("too many descriptors with a control request");
        }
        let n = msg.bytes;
        if n == 0 {
            break;
        }
        line.extend_from_slice(&buf[..n]);
        if line.contains(&b'\n') || line.len() > 1 << 20 {
            break;
        }
    }
    let end = line.iter().position(|b| *b == b'\n').unwrap_or(line.len());
    let req = serde_json::from_slice(&line[..end]).with_context(|| {
        format!(
            "bad control request {:?}",
            String::from_utf8_lossy(&line[..end.min(200)])
        )
    })?;
    Ok((req, fds))
}

/// Writes the reply to an accepted connection.
pub fn reply(s: &UnixStream, res: Result<(), String>) {
    reply_pid(s, res.map(|()| None))
}

/// Writes a reply carrying a pid (`exec`).
pub fn reply_pid(mut s: &UnixStream, res: Result<Option<i32>, String>) {
    let r = match res {
        Ok(pid) => Reply {
            ok: true,
            error: None,
            pid,
        },
        Err(e) => Reply {
            ok: false,
            error: Some(e),
            pid: None,
        },
    };
    if let Ok(mut line) = serde_json::to_vec(&r) {
        line.push(b'\n');
        let _ = s.write_all(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding() {
        let r = Request::Signal {
            sig: 9,
            all: true,
            pid: None,
        };
        let s = serde_json::to_string(&r).expect("encode");
        assert_eq!(s, r#"{"op":"signal","sig":9,"all":true}"#);
        let back: Request = serde_json::from_str(&s).expect("decode");
        assert_eq!(back, r);
        let s: Request = serde_json::from_str(r#"{"op":"start"}"#).expect("decode");
        assert_eq!(s, Request::Start);
        let u = ExecUpdate::Resize {
            rows: 40,
            cols: 100,
        };
        let s = serde_json::to_string(&u).expect("encode");
        assert_eq!(s, r#"{"op":"resize","rows":40,"cols":100}"#);
    }
}
