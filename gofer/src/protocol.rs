//! The sentry ⇄ gofer wire protocol.
//!
//! One message travels in one `SOCK_SEQPACKET` packet. Messages are serde
//! types encoded with [`postcard`]; a request is a [`RequestMessage`] and its
//! reply a [`ResponseMessage`] carrying the same `tag`. A host file
//! descriptor is donated with `SCM_RIGHTS` alongside a [`Response::Opened`]
//! reply, and never alongside anything else.
//!
//! # Evolving the protocol
//!
//! postcard encodes an enum variant by its index, so new requests and
//! responses (create, mkdir, unlink, rename, setattr, xattrs, ...) must be
//! *appended* to [`Request`] / [`Response`]; existing variants must never be
//! reordered or removed. A server that receives a variant it does not know
//! fails to decode it and replies `EINVAL`, so a newer sentry talking to an
//! older gofer gets a clean error instead of a hang.

use serde::{Deserialize, Serialize};

use crate::GoferError;

/// A file identifier: the sentry's handle on a file the gofer has walked to.
///
/// Fids are allocated by the gofer (returned by [`Request::Walk`]) and are
/// valid until clunked. [`ROOT_FID`] always exists.
pub type Fid = u64;

/// The fid of the root directory; valid for the whole session and cannot be
/// clunked.
pub const ROOT_FID: Fid = 0;

/// Largest encoded message, in bytes, in either direction.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Longest single path component, in bytes (Linux `NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// Most components one [`Request::Walk`] may carry.
pub const MAX_WALK_COMPONENTS: usize = 64;

/// Approximate budget, in encoded bytes, of the entries in one
/// [`Response::Dirents`] reply.
pub const GETDENTS_BATCH_BYTES: usize = 32 * 1024;

/// Attributes of a host file, as returned by `stat(2)`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FileAttr {
    /// Inode number.
    pub ino: u64,
    /// Device containing the file.
    pub dev: u64,
    /// File type and permission bits (`st_mode`).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Device number, for device special files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size.
    pub blksize: u64,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access time as (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Last modification time as (seconds, nanoseconds).
    pub mtime: (i64, u32),
    /// Last status change time as (seconds, nanoseconds).
    pub ctime: (i64, u32),
}

impl FileAttr {
    /// The file type bits of [`FileAttr::mode`] (`mode & S_IFMT`).
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }
}

/// One directory entry returned by [`Request::Getdents`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number, as reported by the host's `getdents64`.
    pub ino: u64,
    /// `DT_*` file type (may be `DT_UNKNOWN`).
    pub dtype: u8,
    /// Entry name (never `.` or `..`).
    pub name: Vec<u8>,
}

/// File system statistics, as returned by `statfs(2)`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FsStat {
    /// File system type magic (`f_type`).
    pub fs_type: u64,
    /// Optimal transfer block size (`f_bsize`).
    pub bsize: u64,
    /// Total data blocks, in units of `frsize`.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Maximum file name length.
    pub namelen: u64,
    /// Fragment size (`f_frsize`).
    pub frsize: u64,
    /// Mount flags (`ST_*`).
    pub flags: u64,
}

/// A request from the sentry to the gofer.
///
/// Append new variants at the end only (see the module documentation).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Walk `names` one component at a time starting at `fid`, allocating
    /// a new fid per component walked. Each name must be a single
    /// component: not empty, `.`, `..`, and without `/` or NUL (`EINVAL`),
    /// at most [`MAX_NAME_LEN`] bytes (`ENAMETOOLONG`); at most
    /// [`MAX_WALK_COMPONENTS`] names. Symlinks are never followed.
    Walk {
        /// Directory to start from.
        fid: Fid,
        /// Components to walk.
        names: Vec<Vec<u8>>,
    },
    /// Stat the file behind `fid` (without following a symlink).
    Stat {
        /// File to stat.
        fid: Fid,
    },
    /// Open the file behind `fid` with `open(2)` `flags`; the host fd comes
    /// back in `SCM_RIGHTS` with [`Response::Opened`].
    Open {
        /// File to open.
        fid: Fid,
        /// `O_*` flags; `O_CREAT`, `O_TMPFILE` and `O_PATH` are refused.
        flags: u32,
    },
    /// List the directory behind `fid` starting at `offset` (0 for the
    /// beginning, else a `next_offset` from an earlier reply).
    Getdents {
        /// Directory to list.
        fid: Fid,
        /// Opaque resume cookie.
        offset: u64,
    },
    /// Read the target of the symlink behind `fid`.
    Readlink {
        /// Symlink to read.
        fid: Fid,
    },
    /// Forget `fid`, releasing its host fd.
    Clunk {
        /// Fid to release.
        fid: Fid,
    },
    /// File system statistics for the file system holding `fid`.
    Statfs {
        /// Any fid on the file system.
        fid: Fid,
    },
}

/// A reply from the gofer to the sentry.
///
/// Append new variants at the end only (see the module documentation).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Reply to [`Request::Walk`]: one `(new fid, attributes)` per component
    /// actually walked, in order. The walk stops early (fewer entries than
    /// names) at a missing component if at least one component was walked
    /// (if the first is missing the reply is `Error { ENOENT }`), and stops
    /// *at* a symlink: the symlink itself is the last entry and is not
    /// followed. Any other failure is an [`Response::Error`] and allocates
    /// no fids.
    Walked {
        /// Walked components.
        entries: Vec<(Fid, FileAttr)>,
    },
    /// Reply to [`Request::Stat`].
    Attr(FileAttr),
    /// Reply to [`Request::Open`]; the opened fd rides in `SCM_RIGHTS`.
    Opened,
    /// Reply to [`Request::Getdents`].
    Dirents {
        /// Entries, excluding `.` and `..`.
        entries: Vec<DirEntry>,
        /// Cookie to pass as the next request's `offset`.
        next_offset: u64,
        /// Whether the end of the directory was reached.
        eof: bool,
    },
    /// Reply to [`Request::Readlink`]: the link target.
    Link(Vec<u8>),
    /// Success without a payload (e.g. [`Request::Clunk`]).
    Ok,
    /// Reply to [`Request::Statfs`].
    Statfs(FsStat),
    /// The request failed with this (positive) errno.
    Error {
        /// Positive `errno` value.
        errno: i32,
    },
}

/// A tagged request: what one packet from the sentry holds.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// Caller-chosen tag echoed in the reply. Encoded first, so a server can
    /// recover it even when the rest of the message is malformed.
    pub tag: u64,
    /// The request.
    pub request: Request,
}

/// A tagged reply: what one packet from the gofer holds.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ResponseMessage {
    /// The tag of the request this answers.
    pub tag: u64,
    /// The reply.
    pub response: Response,
}

/// Encodes a message, refusing results larger than [`MAX_MESSAGE_SIZE`].
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, GoferError> {
    let bytes = postcard::to_allocvec(msg)?;
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(GoferError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Decodes a message, refusing inputs larger than [`MAX_MESSAGE_SIZE`] and
/// inputs with trailing bytes.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, GoferError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(GoferError::TooLarge(bytes.len()));
    }
    let (msg, rest) = postcard::take_from_bytes(bytes)?;
    if !rest.is_empty() {
        return Err(GoferError::Protocol(format!(
            "{} trailing bytes after message",
            rest.len()
        )));
    }
    Ok(msg)
}

/// Recovers the tag of a possibly malformed message: the leading varint,
/// or `None` if even that is unreadable.
pub fn peek_tag(bytes: &[u8]) -> Option<u64> {
    postcard::take_from_bytes::<u64>(bytes)
        .ok()
        .map(|(tag, _)| tag)
}

/// Checks that `name` is a single path component the gofer will walk:
/// returns `EINVAL` for empty, `.`, `..`, or names containing `/` or NUL,
/// and `ENAMETOOLONG` for names over [`MAX_NAME_LEN`] bytes.
pub fn validate_name(name: &[u8]) -> Result<(), i32> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(libc::EINVAL);
    }
    if name.contains(&0) {
        return Err(libc::EINVAL);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(libc::ENAMETOOLONG);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attr() -> FileAttr {
        FileAttr {
            ino: 1,
            dev: 2,
            mode: libc::S_IFREG | 0o644,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: u64::MAX,
            blksize: 4096,
            blocks: 8,
            atime: (i64::MIN, 999_999_999),
            mtime: (0, 0),
            ctime: (i64::MAX, 1),
        }
    }

    #[test]
    fn roundtrip_request_and_response() {
        let req = RequestMessage {
            tag: u64::MAX,
            request: Request::Walk {
                fid: 7,
                names: vec![b"a".to_vec(), vec![0xff; 255]],
            },
        };
        let bytes = encode(&req).unwrap();
        assert_eq!(decode::<RequestMessage>(&bytes).unwrap(), req);
        assert_eq!(peek_tag(&bytes), Some(u64::MAX));

        let resp = ResponseMessage {
            tag: 3,
            response: Response::Walked {
                entries: vec![(1, attr()), (2, attr())],
            },
        };
        let bytes = encode(&resp).unwrap();
        assert_eq!(decode::<ResponseMessage>(&bytes).unwrap(), resp);
    }

    #[test]
    fn worst_case_replies_fit() {
        // A full walk reply with maximal varints.
        let resp = ResponseMessage {
            tag: u64::MAX,
            response: Response::Walked {
                entries: vec![(u64::MAX, attr()); MAX_WALK_COMPONENTS],
            },
        };
        assert!(encode(&resp).is_ok());
        // A full walk request of maximal names.
        let req = RequestMessage {
            tag: u64::MAX,
            request: Request::Walk {
                fid: u64::MAX,
                names: vec![vec![b'x'; MAX_NAME_LEN]; MAX_WALK_COMPONENTS],
            },
        };
        assert!(encode(&req).is_ok());
    }

    #[test]
    fn decode_rejects_garbage_and_trailing_bytes() {
        assert!(decode::<RequestMessage>(&[]).is_err());
        assert!(decode::<RequestMessage>(&[0x01, 0xff, 0xff]).is_err());
        let mut bytes = encode(&RequestMessage {
            tag: 1,
            request: Request::Stat { fid: 0 },
        })
        .unwrap();
        bytes.push(0);
        assert!(decode::<RequestMessage>(&bytes).is_err());
        assert!(decode::<RequestMessage>(&vec![0u8; MAX_MESSAGE_SIZE + 1]).is_err());
        // A huge claimed length must fail cleanly, not allocate it.
        let evil = [0x05, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(decode::<RequestMessage>(&evil).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(validate_name(b"ok"), Ok(()));
        assert_eq!(validate_name(b"..."), Ok(()));
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0"] {
            assert_eq!(validate_name(bad), Err(libc::EINVAL), "{bad:?}");
        }
        assert_eq!(validate_name(&[b'a'; 256]), Err(libc::ENAMETOOLONG));
        assert_eq!(validate_name(&[b'a'; 255]), Ok(()));
    }
}
