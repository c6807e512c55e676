//! The sentry ⇄ gofer wire protocol.
//!
//! One message travels in one `SOCK_SEQPACKET` packet. Messages are serde
//! types encoded with [`postcard`]; a request is a [`RequestMessage`] and its
//! reply a [`ResponseMessage`] carrying the same `tag`. A host file
//! descriptor is donated with `SCM_RIGHTS` alongside a [`Response::Opened`]
//! or [`Response::Created`] reply, and never alongside anything else.
//!
//! # Evolving the protocol
//!
//! postcard encodes an enum variant by its index, so new requests and
//! responses must be *appended* to [`Request`] / [`Response`] (as the
//! write requests from [`Request::Create`] on were); existing variants must never be
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

/// Largest encoded message, in bytes, in either direction: room for a
/// [`MAX_XATTR_VALUE_LEN`]-byte extended attribute value plus its request
/// or reply framing.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 + 4096;

/// Longest single path component, in bytes (Linux `NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// Most components one [`Request::Walk`] may carry.
pub const MAX_WALK_COMPONENTS: usize = 64;

/// Longest symlink target [`Request::Symlink`] accepts, in bytes (Linux
/// `PATH_MAX - 1`).
pub const MAX_SYMLINK_TARGET_LEN: usize = 4095;

/// Longest extended attribute name, in bytes, namespace prefix included
/// (Linux `XATTR_NAME_MAX`).
pub const MAX_XATTR_NAME_LEN: usize = 255;

/// Largest extended attribute value, in bytes (Linux `XATTR_SIZE_MAX`).
pub const MAX_XATTR_VALUE_LEN: usize = 64 * 1024;

/// Largest extended attribute name list, in bytes (Linux `XATTR_LIST_MAX`).
pub const MAX_XATTR_LIST_LEN: usize = 64 * 1024;

/// Extended attribute namespaces the gofer serves; names in any other
/// namespace are refused with `EOPNOTSUPP`.
pub const XATTR_NAMESPACES: [&[u8]; 2] = [b"user.", b"trusted."];

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

/// The attribute changes of a [`Request::Setattr`], for
/// [`crate::client::GoferClient::setattr`]. `None` leaves an attribute
/// alone.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (`mode & 0o7777` is applied).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (regular files only).
    pub size: Option<u64>,
    /// New access time as (seconds, nanoseconds); the nanoseconds may be
    /// `UTIME_NOW` or `UTIME_OMIT`.
    pub atime: Option<(i64, u32)>,
    /// New modification time, as `atime`.
    pub mtime: Option<(i64, u32)>,
}

/// A request from the sentry to the gofer.
///
/// Append new variants at the end only (see the module documentation).
///
/// # Write requests
///
/// Every request from [`Request::Create`] on that modifies the host file
/// system (all but [`Request::Fsync`], [`Request::GetXattr`] and
/// [`Request::ListXattr`]) is refused with `EROFS` by a read-only server.
/// Names are single components checked like [`Request::Walk`]'s
/// ([`validate_name`]); every operation is made relative to the parent
/// directory's fd, never follows a symlink, and a `dir` fid that is not a
/// directory (a symlink included) fails with `ENOTDIR`.
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
    /// Create the regular file `name` in `dir` (`O_CREAT | O_EXCL`, so an
    /// existing name, a symlink included, is `EEXIST`) and open it. The
    /// reply is [`Response::Created`] with a fid for the new file and the
    /// opened fd in `SCM_RIGHTS`.
    Create {
        /// Directory to create in.
        dir: Fid,
        /// Name of the new file.
        name: Vec<u8>,
        /// Open flags: an access mode plus any of `O_APPEND`,
        /// `O_NONBLOCK`, `O_DSYNC`, `O_SYNC`, `O_DIRECT`, `O_NOATIME`,
        /// `O_LARGEFILE`, `O_CLOEXEC`, `O_NOCTTY`, `O_NOFOLLOW`,
        /// `O_ASYNC`, and the no-ops `O_CREAT`, `O_EXCL` and `O_TRUNC`;
        /// anything else (`O_DIRECTORY`, `O_TMPFILE`, `O_PATH`) is
        /// `EINVAL`.
        flags: u32,
        /// Permission bits; exactly `mode & 0o7777` is applied (the
        /// gofer's umask does not apply: the sentry applies the
        /// workload's).
        mode: u32,
        /// Owner of the new file (applied when the gofer may chown).
        uid: u32,
        /// Group of the new file (applied when the gofer may chown).
        gid: u32,
    },
    /// Create the directory `name` in `dir`; replies [`Response::NewNode`].
    Mkdir {
        /// Parent directory.
        dir: Fid,
        /// Name of the new directory.
        name: Vec<u8>,
        /// Permission bits (`mode & 0o7777`).
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// Create a FIFO, a socket inode or an empty regular file, as the
    /// `S_IFMT` bits of `mode` say (0 means regular); replies
    /// [`Response::NewNode`]. Device nodes and directories are `EPERM`,
    /// any other type `EINVAL`.
    Mknod {
        /// Parent directory.
        dir: Fid,
        /// Name of the new node.
        name: Vec<u8>,
        /// File type and permission bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// Create the symlink `name` in `dir` pointing at `target` (1 to
    /// [`MAX_SYMLINK_TARGET_LEN`] bytes, no NUL; anything else is allowed
    /// since the gofer never follows it); replies [`Response::NewNode`].
    Symlink {
        /// Parent directory.
        dir: Fid,
        /// Name of the new symlink.
        name: Vec<u8>,
        /// Link target, stored verbatim.
        target: Vec<u8>,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// Make `name` in `dir` a new hard link to the file behind `target`
    /// (not a directory: `EPERM`); replies [`Response::Ok`].
    Link {
        /// Directory for the new name.
        dir: Fid,
        /// The new name.
        name: Vec<u8>,
        /// The file to link to.
        target: Fid,
    },
    /// Remove `name` from `dir`: `flags` is 0 for a non-directory or
    /// `AT_REMOVEDIR` for an empty directory (anything else `EINVAL`).
    /// Replies [`Response::Ok`].
    Unlink {
        /// Parent directory.
        dir: Fid,
        /// Name to remove.
        name: Vec<u8>,
        /// 0 or `AT_REMOVEDIR`.
        flags: u32,
    },
    /// `renameat2(old_dir, old_name, new_dir, new_name, flags)` with
    /// `flags` a subset of `RENAME_NOREPLACE | RENAME_EXCHANGE` (else
    /// `EINVAL`). Fids of the moved file(s) keep working and reopen
    /// through the new name. Replies [`Response::Ok`].
    Rename {
        /// Directory holding the old name.
        old_dir: Fid,
        /// Old name.
        old_name: Vec<u8>,
        /// Directory for the new name.
        new_dir: Fid,
        /// New name.
        new_name: Vec<u8>,
        /// `RENAME_*` flags.
        flags: u32,
    },
    /// Change attributes of the file behind `fid`, in the order owner,
    /// mode, size, times; replies [`Response::Attr`] with the result.
    /// A mode on a symlink is `EOPNOTSUPP` (as `fchmodat` with
    /// `AT_SYMLINK_NOFOLLOW`); a size on a directory is `EISDIR` and on
    /// anything else but a regular file `EINVAL`.
    Setattr {
        /// File to change.
        fid: Fid,
        /// New permission bits (`mode & 0o7777`).
        mode: Option<u32>,
        /// New owner.
        uid: Option<u32>,
        /// New group.
        gid: Option<u32>,
        /// New size.
        size: Option<u64>,
        /// New access time (seconds, nanoseconds or `UTIME_NOW` /
        /// `UTIME_OMIT`).
        atime: Option<(i64, u32)>,
        /// New modification time, as `atime`.
        mtime: Option<(i64, u32)>,
    },
    /// Flush the regular file or directory behind `fid` to storage
    /// (`fdatasync` if `datasync`, else `fsync`); other file types are
    /// `EINVAL`. Replies [`Response::Ok`].
    Fsync {
        /// File to flush.
        fid: Fid,
        /// Flush only the data and the metadata needed to read it.
        datasync: bool,
    },
    /// Read the extended attribute `name` (only the
    /// [`XATTR_NAMESPACES`]; others are `EOPNOTSUPP`). With `size` 0 the
    /// reply is [`Response::XattrLen`]; otherwise [`Response::Xattr`], or
    /// `ERANGE` if the value is longer than `size`.
    GetXattr {
        /// File to read from.
        fid: Fid,
        /// Attribute name, namespace prefix included.
        name: Vec<u8>,
        /// Caller's buffer size, or 0 to ask for the length.
        size: u32,
    },
    /// List the extended attribute names (of the [`XATTR_NAMESPACES`]
    /// only), NUL-terminated and concatenated. With `size` 0 the reply is
    /// [`Response::XattrLen`]; otherwise [`Response::Xattr`], or `ERANGE`
    /// if the list is longer than `size`.
    ListXattr {
        /// File to list.
        fid: Fid,
        /// Caller's buffer size, or 0 to ask for the length.
        size: u32,
    },
    /// Set the extended attribute `name` to `value` (at most
    /// [`MAX_XATTR_VALUE_LEN`] bytes) with `flags` a subset of
    /// `XATTR_CREATE | XATTR_REPLACE`. Replies [`Response::Ok`].
    SetXattr {
        /// File to change.
        fid: Fid,
        /// Attribute name, namespace prefix included.
        name: Vec<u8>,
        /// New value.
        value: Vec<u8>,
        /// `XATTR_*` flags.
        flags: u32,
    },
    /// Remove the extended attribute `name`. Replies [`Response::Ok`].
    RemoveXattr {
        /// File to change.
        fid: Fid,
        /// Attribute name, namespace prefix included.
        name: Vec<u8>,
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
    /// Reply to [`Request::Create`]: a fid for the new file (as if walked
    /// to) and its attributes; the fd opened by the creation rides in
    /// `SCM_RIGHTS`.
    Created {
        /// Fid of the new file.
        fid: Fid,
        /// Its attributes.
        attr: FileAttr,
    },
    /// Reply to [`Request::Mkdir`], [`Request::Mknod`] and
    /// [`Request::Symlink`]: a fid for the new file and its attributes.
    NewNode {
        /// Fid of the new file.
        fid: Fid,
        /// Its attributes.
        attr: FileAttr,
    },
    /// Reply to [`Request::GetXattr`] (a value) or [`Request::ListXattr`]
    /// (NUL-terminated names), never longer than the request's `size`.
    Xattr(Vec<u8>),
    /// Reply to [`Request::GetXattr`] or [`Request::ListXattr`] with
    /// `size` 0: the length a buffer needs.
    XattrLen(u64),
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

/// Checks an extended attribute name: `ERANGE` if empty or longer than
/// [`MAX_XATTR_NAME_LEN`], `EINVAL` with a NUL or with nothing after the
/// namespace prefix, `EOPNOTSUPP` outside the [`XATTR_NAMESPACES`].
pub fn validate_xattr_name(name: &[u8]) -> Result<(), i32> {
    if name.is_empty() || name.len() > MAX_XATTR_NAME_LEN {
        return Err(libc::ERANGE);
    }
    if name.contains(&0) {
        return Err(libc::EINVAL);
    }
    match XATTR_NAMESPACES.iter().find(|ns| name.starts_with(ns)) {
        Some(ns) if name.len() == ns.len() => Err(libc::EINVAL),
        Some(_) => Ok(()),
        None => Err(libc::EOPNOTSUPP),
    }
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
        // The largest extended attribute value, both ways.
        let req = RequestMessage {
            tag: u64::MAX,
            request: Request::SetXattr {
                fid: u64::MAX,
                name: vec![b'x'; MAX_XATTR_NAME_LEN],
                value: vec![0xff; MAX_XATTR_VALUE_LEN],
                flags: u32::MAX,
            },
        };
        assert!(encode(&req).is_ok());
        let resp = ResponseMessage {
            tag: u64::MAX,
            response: Response::Xattr(vec![0xff; MAX_XATTR_VALUE_LEN.max(MAX_XATTR_LIST_LEN)]),
        };
        assert!(encode(&resp).is_ok());
        let req = RequestMessage {
            tag: u64::MAX,
            request: Request::Symlink {
                dir: u64::MAX,
                name: vec![b'x'; MAX_NAME_LEN],
                target: vec![b'x'; MAX_SYMLINK_TARGET_LEN],
                uid: u32::MAX,
                gid: u32::MAX,
            },
        };
        assert!(encode(&req).is_ok());
    }

    #[test]
    fn existing_variants_keep_their_indices() {
        // postcard encodes the variant index right after the tag; the
        // read-side variants must keep the numbers older peers know.
        let idx = |r: Request| encode(&RequestMessage { tag: 0, request: r }).unwrap()[1];
        assert_eq!(idx(Request::Statfs { fid: 0 }), 6);
        assert_eq!(
            idx(Request::RemoveXattr {
                fid: 0,
                name: vec![]
            }),
            19
        );
        let idx = |r: Response| {
            encode(&ResponseMessage {
                tag: 0,
                response: r,
            })
            .unwrap()[1]
        };
        assert_eq!(idx(Response::Error { errno: 1 }), 7);
        assert_eq!(idx(Response::XattrLen(0)), 11);
    }

    #[test]
    fn xattr_names() {
        assert_eq!(validate_xattr_name(b"user.a"), Ok(()));
        assert_eq!(validate_xattr_name(b"trusted.overlay.x"), Ok(()));
        assert_eq!(validate_xattr_name(b"user."), Err(libc::EINVAL));
        assert_eq!(validate_xattr_name(b"user.a\0"), Err(libc::EINVAL));
        assert_eq!(validate_xattr_name(b""), Err(libc::ERANGE));
        assert_eq!(validate_xattr_name(&[b'a'; 256]), Err(libc::ERANGE));
        for ns in [
            &b"security.selinux"[..],
            b"system.posix_acl_access",
            b"usera",
        ] {
            assert_eq!(validate_xattr_name(ns), Err(libc::EOPNOTSUPP));
        }
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
