//! The sentry's side of the gofer protocol.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;

use crate::protocol::{
    decode, encode, validate_name, DirEntry, Fid, FileAttr, FsStat, Request, RequestMessage,
    Response, ResponseMessage, SetAttr, MAX_MESSAGE_SIZE, MAX_WALK_COMPONENTS,
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

    /// Creates the regular file `name` in the directory `dir` (failing
    /// with `EEXIST` if the name exists, even as a symlink) and opens it
    /// with `flags` (an access mode plus status flags such as `O_APPEND`;
    /// see [`Request::Create`]). The new file gets exactly `mode & 0o7777`
    /// and, where the gofer may chown, `uid`/`gid`. Returns a fid for it,
    /// its attributes, and the open host fd (close-on-exec here).
    pub fn create(
        &self,
        dir: Fid,
        name: &[u8],
        flags: i32,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, FileAttr, OwnedFd), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        let request = Request::Create {
            dir,
            name: name.to_vec(),
            flags: u32::from_ne_bytes(flags.to_ne_bytes()),
            mode,
            uid,
            gid,
        };
        match self.call(request)? {
            (Response::Created { fid, attr }, Some(fd)) => Ok((fid, attr, fd)),
            other => Err(unexpected(other)),
        }
    }

    /// Creates the directory `name` in `dir` with `mode & 0o7777` and
    /// owner `uid`/`gid`; returns a fid for it and its attributes.
    pub fn mkdir(
        &self,
        dir: Fid,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, FileAttr), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        self.new_node(Request::Mkdir {
            dir,
            name: name.to_vec(),
            mode,
            uid,
            gid,
        })
    }

    /// Creates a FIFO, socket inode or empty regular file `name` in `dir`
    /// as `mode`'s `S_IFMT` bits say (device nodes are `EPERM`); returns a
    /// fid for it and its attributes.
    pub fn mknod(
        &self,
        dir: Fid,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, FileAttr), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        self.new_node(Request::Mknod {
            dir,
            name: name.to_vec(),
            mode,
            uid,
            gid,
        })
    }

    /// Creates the symlink `name` in `dir` pointing at `target`; returns a
    /// fid for it and its attributes.
    pub fn symlink(
        &self,
        dir: Fid,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, FileAttr), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        self.new_node(Request::Symlink {
            dir,
            name: name.to_vec(),
            target: target.to_vec(),
            uid,
            gid,
        })
    }

    /// Makes `name` in `dir` a hard link to the file behind `target`.
    pub fn link(&self, dir: Fid, name: &[u8], target: Fid) -> Result<(), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        self.ok(Request::Link {
            dir,
            name: name.to_vec(),
            target,
        })
    }

    /// Removes `name` from `dir`; `flags` is 0 or `AT_REMOVEDIR`.
    pub fn unlink(&self, dir: Fid, name: &[u8], flags: i32) -> Result<(), GoferError> {
        validate_name(name).map_err(GoferError::Errno)?;
        self.ok(Request::Unlink {
            dir,
            name: name.to_vec(),
            flags: u32::from_ne_bytes(flags.to_ne_bytes()),
        })
    }

    /// Renames `old_name` in `old_dir` to `new_name` in `new_dir`, with
    /// `flags` a subset of `RENAME_NOREPLACE | RENAME_EXCHANGE`. Fids of
    /// the moved file(s) stay valid.
    pub fn rename(
        &self,
        old_dir: Fid,
        old_name: &[u8],
        new_dir: Fid,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), GoferError> {
        validate_name(old_name).map_err(GoferError::Errno)?;
        validate_name(new_name).map_err(GoferError::Errno)?;
        self.ok(Request::Rename {
            old_dir,
            old_name: old_name.to_vec(),
            new_dir,
            new_name: new_name.to_vec(),
            flags,
        })
    }

    /// Applies the changes in `attr` to the file behind `fid` (owner, then
    /// mode, size and times) and returns its new attributes.
    pub fn setattr(&self, fid: Fid, attr: &SetAttr) -> Result<FileAttr, GoferError> {
        let request = Request::Setattr {
            fid,
            mode: attr.mode,
            uid: attr.uid,
            gid: attr.gid,
            size: attr.size,
            atime: attr.atime,
            mtime: attr.mtime,
        };
        match self.call(request)? {
            (Response::Attr(attr), None) => Ok(attr),
            other => Err(unexpected(other)),
        }
    }

    /// Flushes the regular file or directory behind `fid` to storage
    /// (`fdatasync` if `datasync`).
    pub fn fsync(&self, fid: Fid, datasync: bool) -> Result<(), GoferError> {
        self.ok(Request::Fsync { fid, datasync })
    }

    /// Reads the extended attribute `name` (`user.*` or `trusted.*`) into
    /// a value of at most `size` bytes (`ERANGE` if it is longer). `size`
    /// must not be 0: use [`GoferClient::getxattr_size`] for the length.
    pub fn getxattr(&self, fid: Fid, name: &[u8], size: u32) -> Result<Vec<u8>, GoferError> {
        if size == 0 {
            return Err(GoferError::Errno(libc::EINVAL));
        }
        let request = Request::GetXattr {
            fid,
            name: name.to_vec(),
            size,
        };
        self.xattr(request, size)
    }

    /// The length of the extended attribute `name`'s value.
    pub fn getxattr_size(&self, fid: Fid, name: &[u8]) -> Result<u64, GoferError> {
        self.xattr_len(Request::GetXattr {
            fid,
            name: name.to_vec(),
            size: 0,
        })
    }

    /// Lists the extended attribute names (`user.*` and `trusted.*` only)
    /// as NUL-terminated names, at most `size` bytes in all (`ERANGE` if
    /// longer). `size` must not be 0: use
    /// [`GoferClient::listxattr_size`] for the length.
    pub fn listxattr(&self, fid: Fid, size: u32) -> Result<Vec<u8>, GoferError> {
        if size == 0 {
            return Err(GoferError::Errno(libc::EINVAL));
        }
        self.xattr(Request::ListXattr { fid, size }, size)
    }

    /// The length of [`GoferClient::listxattr`]'s list.
    pub fn listxattr_size(&self, fid: Fid) -> Result<u64, GoferError> {
        self.xattr_len(Request::ListXattr { fid, size: 0 })
    }

    /// Sets the extended attribute `name` to `value`; `flags` is a subset
    /// of `XATTR_CREATE | XATTR_REPLACE`.
    pub fn setxattr(
        &self,
        fid: Fid,
        name: &[u8],
        value: &[u8],
        flags: i32,
    ) -> Result<(), GoferError> {
        self.ok(Request::SetXattr {
            fid,
            name: name.to_vec(),
            value: value.to_vec(),
            flags: u32::from_ne_bytes(flags.to_ne_bytes()),
        })
    }

    /// Removes the extended attribute `name`.
    pub fn removexattr(&self, fid: Fid, name: &[u8]) -> Result<(), GoferError> {
        self.ok(Request::RemoveXattr {
            fid,
            name: name.to_vec(),
        })
    }

    /// A request answered by [`Response::NewNode`].
    fn new_node(&self, request: Request) -> Result<(Fid, FileAttr), GoferError> {
        match self.call(request)? {
            (Response::NewNode { fid, attr }, None) => Ok((fid, attr)),
            other => Err(unexpected(other)),
        }
    }

    /// A request answered by [`Response::Ok`].
    fn ok(&self, request: Request) -> Result<(), GoferError> {
        match self.call(request)? {
            (Response::Ok, None) => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// An xattr request answered by at most `size` bytes.
    fn xattr(&self, request: Request, size: u32) -> Result<Vec<u8>, GoferError> {
        match self.call(request)? {
            (Response::Xattr(data), None) => {
                if u32::try_from(data.len()).map_or(true, |len| len > size) {
                    return Err(GoferError::Protocol(format!(
                        "{} bytes of xattr data for a {size}-byte buffer",
                        data.len()
                    )));
                }
                Ok(data)
            }
            other => Err(unexpected(other)),
        }
    }

    /// An xattr request answered by a length.
    fn xattr_len(&self, request: Request) -> Result<u64, GoferError> {
        match self.call(request)? {
            (Response::XattrLen(len), None) => Ok(len),
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
        Response::Created { .. } => "Created",
        Response::NewNode { .. } => "NewNode",
        Response::Xattr(_) => "Xattr",
        Response::XattrLen(_) => "XattrLen",
    };
    let fd = if fd.is_some() { " with an fd" } else { "" };
    GoferError::Protocol(format!("unexpected reply {what}{fd}"))
}
