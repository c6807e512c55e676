//! The boot process's control socket, `<root>/<id>/control.sock`: one JSON
//! request line per connection, one JSON reply line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// File name of the socket in the container directory.
pub const SOCKET: &str = "control.sock";

/// A request to the boot process.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Run init (`rvisor start`).
    Start,
    /// Deliver a signal to init, or to every process with `all`.
    Signal {
        /// Signal number.
        sig: i32,
        /// Every process of the sandbox, not only init.
        all: bool,
    },
}

/// The reply.
#[derive(Serialize, Deserialize, Debug)]
pub struct Reply {
    /// Done.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    let (path, _keep) = socket_path(dir)?;
    let mut s = UnixStream::connect(&path).with_context(|| {
        format!(
            "connecting to the sandbox's control socket {}",
            dir.join(SOCKET).display()
        )
    })?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    s.write_all(&line).context("sending to the sandbox")?;
    let mut reply = String::new();
    BufReader::new(&s)
        .read_line(&mut reply)
        .context("reading the sandbox's reply")?;
    if reply.is_empty() {
        bail!("the sandbox closed the control connection without a reply");
    }
    let r: Reply = serde_json::from_str(&reply).context("parsing the sandbox's reply")?;
    if !r.ok {
        bail!("{}", r.error.unwrap_or_else(|| "request refused".into()));
    }
    Ok(())
}

/// Reads one request from an accepted connection.
pub fn read_request(s: &UnixStream) -> Result<Request> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line)?;
    serde_json::from_str(&line).with_context(|| format!("bad control request {line:?}"))
}

/// Writes the reply to an accepted connection.
pub fn reply(mut s: &UnixStream, res: Result<(), String>) {
    let r = match res {
        Ok(()) => Reply {
            ok: true,
            error: None,
        },
        Err(e) => Reply {
            ok: false,
            error: Some(e),
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
        let r = Request::Signal { sig: 9, all: true };
        let s = serde_json::to_string(&r).expect("encode");
        assert_eq!(s, r#"{"op":"signal","sig":9,"all":true}"#);
        let back: Request = serde_json::from_str(&s).expect("decode");
        assert_eq!(back, r);
        let s: Request = serde_json::from_str(r#"{"op":"start"}"#).expect("decode");
        assert_eq!(s, Request::Start);
    }
}
