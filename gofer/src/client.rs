//! The sentry's side of the gofer protocol.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;

use crate::protocol::{
    decode, encode, validate_name, DirEntry, Fid, FileAttr, FsStat, Request, RequestMessage,
    Response, ResponseMessage, MAX_MESSAGE_SIZE, MAX_WALK_COMPONENTS,
};
use crate::transport::{peer_hung_up, recv_packet, send_packet};
use crate::GoferError;

/// Largest errno the client accepts from the server (Linux `MAX_ERRNO`).
const MAX_ERRNO: i32 = 4095;

/// A connection to a gofer.
///
/// Calls are serialized: each sends one tagged request and waits for the
/// reply with the same tag. The client is `Send + Sync` and may be shared
/// between sentry threads.
pub struct GoferClient {
    inner: Mutex<Inner>,
}

struct Inner {
    sock: OwnedFd,
    next_tag: u64,
    buf: Vec<u8>,
}

impl std::fmt::Debug for GoferClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoferClient").finish_non_exhaustive()
    }
}

impl GoferClient {
    /// Wraps one end of a `SOCK_SEQPACKET` socketpair whose other end is
    /// served by [`crate::server::serve`].
    pub fn new(sock: OwnedFd) -> Self {
        GoferClient {
            inner: Mutex::new(Inner {
                sock,
                next_tag: 1,
                buf: vec![0u8; MAX_MESSAGE_SIZE],
            }),
        }
    }

    /// Walks `names` from `fid`, one component each, returning a new fid
    /// and the attributes of every component walked. Fewer entries than
    /// names means the walk stopped at a missing component or at a symlink
    /// (which is then the last entry); a missing first component is
    /// `Errno(ENOENT)`.
    pub fn walk(&self, fid: Fid, names: &[&[u8]]) -> Result<Vec<(Fid, FileAttr)>, GoferError> {
        if names.len() > MAX_WALK_COMPONENTS {
            return Err(GoferError::Errno(libc::EINVAL));
        }
        for name in names {
            validate_name(name).map_err(GoferError::Errno)?;
        }
        let count = names.len();
        let names = names.iter().map(|n| n.to_vec()).collect();
        match self.call(Request::Walk { fid, names })? {
            (Response::Walked { entries }, None) => {
                // At most one entry per name, and none only for no names.
                if entries.len() > count || (entries.is_empty() && count > 0) {
                    return Err(GoferError::Protocol(format!(
                        "walk of {count} names returned {} entries",
                        entries.len()
                    )));
                }
                Ok(entries)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Stats the file behind `fid` (a symlink is not followed).
    pub fn stat(&self, fid: Fid) -> Result<FileAttr, GoferError> {
        match self.call(Request::Stat { fid })? {
            (Response::Attr(attr), None) => Ok(attr),
            other => Err(unexpected(other)),
        }
    }

    /// Opens the file behind `fid` with `open(2)` `flags` and returns the
    /// host fd (close-on-exec in this process). FIFOs come back
    /// non-blocking regardless of `flags`.
    pub fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd, GoferError> {
        let flags = u32::from_ne_bytes(flags.to_ne_bytes());
        match self.call(Request::Open { fid, flags })? {
            (Response::Opened, Some(fd)) => Ok(fd),
            other => Err(unexpected(other)),
        }
    }

    /// Reads a batch of directory entries (without `.` and `..`) starting
    /// at `offset` (0 for the start). Returns the entries, the offset to
    /// pass next, and whether the end was reached.
    pub fn getdents(
        &self,
        fid: Fid,
        offset: u64,
    ) -> Result<(Vec<DirEntry>, u64, bool), GoferError> {
        match self.call(Request::Getdents { fid, offset })? {
            (
                Response::Dirents {
                    entries,
                    next_offset,
                    eof,
                },
                None,
            ) => Ok((entries, next_offset, eof)),
            other => Err(unexpected(other)),
        }
    }

    /// Reads the target of the symlink behind `fid`.
    pub fn readlink(&self, fid: Fid) -> Result<Vec<u8>, GoferError> {
        match self.call(Request::Readlink { fid })? {
            (Response::Link(target), None) => Ok(target),
            other => Err(unexpected(other)),
        }
    }

    /// Releases `fid`.
    pub fn clunk(&self, fid: Fid) -> Result<(), GoferError> {
        match self.call(Request::Clunk { fid })? {
            (Response::Ok, None) => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// File system statistics for the file system holding `fid`.
    pub fn statfs(&self, fid: Fid) -> Result<FsStat, GoferError> {
        match self.call(Request::Statfs { fid })? {
            (Response::Statfs(st), None) => Ok(st),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `request` and waits for its reply. A [`Response::Error`] is
    /// turned into [`GoferError::Errno`].
    fn call(&self, request: Request) -> Result<(Response, Option<OwnedFd>), GoferError> {
        // A panic while the lock was held cannot leave `Inner` half-updated
        // in a way tags do not catch, so a poisoned lock is still usable.
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        let tag = inner.next_tag;
        inner.next_tag = inner.next_tag.wrapping_add(1);
        let bytes = encode(&RequestMessage { tag, request })?;
        send_packet(inner.sock.as_fd(), &bytes, None).map_err(transport)?;
        loop {
            let pkt = recv_packet(inner.sock.as_fd(), &mut inner.buf, 1).map_err(transport)?;
            if pkt.len == 0 && !pkt.truncated {
                if peer_hung_up(inner.sock.as_fd()) {
                    return Err(GoferError::Closed);
                }
                return Err(GoferError::Protocol("empty reply".into()));
            }
            if pkt.truncated {
                return Err(GoferError::TooLarge(pkt.len));
            }
            if pkt.fds_truncated {
                return Err(GoferError::Protocol("too many fds with a reply".into()));
            }
            let bytes = inner.buf.get(..pkt.len).unwrap_or_default();
            let msg: ResponseMessage = decode(bytes)?;
            if msg.tag != tag {
                if msg.tag < tag {
                    // A late reply to a call that gave up (its fds, if any,
                    // are closed here). Keep waiting for ours.
                    tracing::warn!(got = msg.tag, want = tag, "gofer: stale reply dropped");
                    continue;
                }
                return Err(GoferError::Protocol(format!(
                    "reply tag {} does not match request tag {tag}",
                    msg.tag
                )));
            }
            let mut fds = pkt.fds.into_iter();
            let fd = fds.next();
            if fds.next().is_some() {
                return Err(GoferError::Protocol("more than one fd with a reply".into()));
            }
            if let Response::Error { errno } = msg.response {
                if fd.is_some() || !(1..=MAX_ERRNO).contains(&errno) {
                    return Err(GoferError::Protocol(format!("bad error reply {errno}")));
                }
                return Err(GoferError::Errno(errno));
            }
            return Ok((msg.response, fd));
        }
    }
}

fn transport(e: Errno) -> GoferError {
    match e {
        Errno::EPIPE | Errno::ECONNRESET => GoferError::Closed,
        e => GoferError::Transport(e),
    }
}

fn unexpected((response, fd): (Response, Option<OwnedFd>)) -> GoferError {
    let what = match response {
        Response::Walked { .. } => "Walked",
        Response::Attr(_) => "Attr",
        Response::Opened => "Opened",
        Response::Dirents { .. } => "Dirents",
        Response::Link(_) => "Link",
        Response::Ok => "Ok",
        Response::Statfs(_) => "Statfs",
        Response::Error { .. } => "Error",
    };
    let fd = if fd.is_some() { " with an fd" } else { "" };
    GoferError::Protocol(format!("unexpected reply {what}{fd}"))
}
