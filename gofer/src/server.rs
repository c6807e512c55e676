//! The gofer's request loop.
//!
//! Every fid maps to an `O_PATH` host fd. Fids are only ever created by
//! walking one validated component at a time with
//! `openat(dir, name, O_PATH | O_NOFOLLOW)`, starting from the root fd, or
//! by creating a validated name in a directory fid, so no fid can name a
//! file outside the root: a component is never `..`, never contains `/`,
//! and a symlink is never followed (walks stop at it).
//!
//! Files are opened for I/O without `/proc`: a directory is reopened
//! through its own fd (`openat(fd, ".")`), anything else through its
//! parent's fd and its name (`openat(parent, name, O_NOFOLLOW)`), and the
//! result is checked to be the same inode the fid names (`ESTALE` if the
//! name was replaced on the host in between). A rename made through the
//! gofer updates the recorded parent and name of the fids it moves.
//!
//! Write operations likewise work only on a directory fd plus one
//! validated name (`mkdirat`, `unlinkat`, `renameat2`, ...) or on a fid's
//! own fd (`fchownat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`, ...),
//! so they can neither follow a symlink nor reach outside the root.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{fcntl, readlinkat, AtFlags, FcntlArg, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};
use nix::unistd::{lseek, Whence};

use crate::protocol::{
    decode, encode, peek_tag, validate_name, validate_xattr_name, DirEntry, Fid, FileAttr, FsStat,
    Request, RequestMessage, Response, ResponseMessage, SetAttr, GETDENTS_BATCH_BYTES,
    MAX_MESSAGE_SIZE, MAX_SYMLINK_TARGET_LEN, MAX_WALK_COMPONENTS, MAX_XATTR_LIST_LEN,
    MAX_XATTR_VALUE_LEN, ROOT_FID, XATTR_NAMESPACES,
};
use crate::transport::{peer_hung_up, recv_packet, send_packet};
use crate::GoferError;

/// How the gofer serves its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Refuse every open that could modify a file (write access, `O_TRUNC`,
    /// `O_CREAT`) and every request that modifies the file system
    /// (create, mkdir, mknod, symlink, link, unlink, rename, setattr,
    /// setxattr, removexattr) with `EROFS`.
    pub readonly: bool,
}

/// Serves requests on `sock` until the peer closes it.
///
/// `sock` is one end of a `SOCK_SEQPACKET` socketpair; `root` is an
/// `O_PATH | O_DIRECTORY` fd of the directory exported as [`ROOT_FID`].
/// Malformed or hostile requests get an error reply; only a failure of the
/// socket itself ends the loop with an error. Any fds the peer sends are
/// discarded by the kernel.
pub fn serve(sock: OwnedFd, root: OwnedFd, opts: ServerOptions) -> Result<(), GoferError> {
    let mut server = Server::new(root, opts)?;
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE];
    loop {
        let pkt = match recv_packet(sock.as_fd(), &mut buf, 0) {
            Ok(pkt) => pkt,
            Err(Errno::ECONNRESET) => return Ok(()),
            Err(e) => return Err(GoferError::Transport(e)),
        };
        // Zero bytes is either EOF or an empty packet; only the former ends
        // the session.
        if pkt.len == 0 && !pkt.truncated && peer_hung_up(sock.as_fd()) {
            return Ok(());
        }
        let bytes = buf.get(..pkt.len).unwrap_or_default();
        let tag = peek_tag(bytes).unwrap_or(0);
        let (response, fd) = if pkt.truncated {
            tracing::warn!(tag, "gofer: request larger than {MAX_MESSAGE_SIZE} bytes");
            (error(Errno::EMSGSIZE), None)
        } else {
            match decode::<RequestMessage>(bytes) {
                Ok(msg) => {
                    tracing::trace!(tag, request = ?msg.request, "gofer request");
                    match server.handle(msg.request) {
                        Ok(reply) => reply,
                        Err(e) => (error(e), None),
                    }
                }
                Err(e) => {
                    tracing::warn!(tag, len = pkt.len, "gofer: malformed request: {e}");
                    (error(Errno::EINVAL), None)
                }
            }
        };
        let bytes = match encode(&ResponseMessage { tag, response }) {
            Ok(bytes) => bytes,
            // Replies are bounded by construction; if one is not, say so.
            Err(e) => {
                tracing::error!(tag, "gofer: cannot encode reply: {e}");
                encode(&ResponseMessage {
                    tag,
                    response: error(Errno::EIO),
                })?
            }
        };
        match send_packet(sock.as_fd(), &bytes, fd.as_ref().map(|fd| fd.as_fd())) {
            Ok(()) => {}
            Err(Errno::EPIPE | Errno::ECONNRESET) => return Ok(()),
            Err(e) => return Err(GoferError::Transport(e)),
        }
    }
}

fn error(e: Errno) -> Response {
    Response::Error { errno: e as i32 }
}

/// Bytes charged against [`GETDENTS_BATCH_BYTES`] per entry on top of its
/// name: worst-case varints for `ino` and the name length, plus `dtype`.
const DIRENT_OVERHEAD: usize = 16;

/// Size of the buffer handed to `getdents64`.
const GETDENTS_BUF: usize = 32 * 1024;

/// Offset of `d_name` in `struct linux_dirent64`.
const DIRENT64_NAME_OFFSET: usize = 19;

/// A host inode's identity: `(st_dev, st_ino)`.
type InodeKey = (u64, u64);

fn key(attr: &FileAttr) -> InodeKey {
    (attr.dev, attr.ino)
}

/// A walked file.
struct Node {
    /// `O_PATH` fd of the file itself. Shared with the children walked from
    /// it, which need it to reopen themselves.
    fd: Rc<OwnedFd>,
    /// The identity of the inode behind `fd` (it never changes).
    key: InodeKey,
    /// Where the file was last seen; `None` for the root.
    parent: Option<Parent>,
}

/// A directory entry: a directory's `O_PATH` fd and one name in it.
struct Parent {
    /// The directory.
    fd: Rc<OwnedFd>,
    /// The directory's identity, to match entries on rename.
    key: InodeKey,
    /// The name in it.
    name: CString,
}

struct Server {
    fids: BTreeMap<Fid, Node>,
    next_fid: Fid,
    opts: ServerOptions,
    /// Whether the gofer runs with euid 0 (so a failed chown of a new file
    /// is an error rather than expected).
    is_root: bool,
}

type Reply = (Response, Option<OwnedFd>);

/// `O_*` flags as nix flags, bit for bit.
fn oflags(flags: u32) -> OFlag {
    OFlag::from_bits_retain(i32::from_ne_bytes(flags.to_ne_bytes()))
}

/// A validated single path component.
fn component(name: Vec<u8>) -> Result<CString, Errno> {
    validate_name(&name).map_err(Errno::from_raw)?;
    CString::new(name).map_err(|_| Errno::EINVAL)
}

impl Server {
    fn new(root: OwnedFd, opts: ServerOptions) -> Result<Self, GoferError> {
        let attr = stat_fd(root.as_fd()).map_err(GoferError::sys("stat of the gofer root"))?;
        let mut fids = BTreeMap::new();
        fids.insert(
            ROOT_FID,
            Node {
                fd: Rc::new(root),
                key: key(&attr),
                parent: None,
            },
        );
        // SAFETY: geteuid has no preconditions and cannot fail.
        let is_root = unsafe { libc::geteuid() } == 0;
        Ok(Server {
            fids,
            next_fid: ROOT_FID + 1,
            opts,
            is_root,
        })
    }

    fn handle(&mut self, request: Request) -> Result<Reply, Errno> {
        let response = match request {
            Request::Walk { fid, names } => self.walk(fid, names)?,
            Request::Stat { fid } => Response::Attr(stat_fd(self.node(fid)?.fd.as_fd())?),
            Request::Open { fid, flags } => return self.open(fid, flags),
            Request::Getdents { fid, offset } => self.getdents(fid, offset)?,
            Request::Readlink { fid } => self.readlink(fid)?,
            Request::Clunk { fid } => self.clunk(fid)?,
            Request::Statfs { fid } => Response::Statfs(statfs_fd(self.node(fid)?.fd.as_fd())?),
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => return self.create(dir, name, flags, mode, (uid, gid)),
            Request::Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => self.mkdir(dir, name, mode, (uid, gid))?,
            Request::Mknod {
                dir,
                name,
                mode,
                uid,
                gid,
            } => self.mknod(dir, name, mode, (uid, gid))?,
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => self.symlink(dir, name, target, (uid, gid))?,
            Request::Link { dir, name, target } => self.link(dir, name, target)?,
            Request::Unlink { dir, name, flags } => self.unlink(dir, name, flags)?,
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => self.rename(old_dir, old_name, new_dir, new_name, flags)?,
            Request::Setattr {
                fid,
                mode,
                uid,
                gid,
                size,
                atime,
                mtime,
            } => self.setattr(
                fid,
                &SetAttr {
                    mode,
                    uid,
                    gid,
                    size,
                    atime,
                    mtime,
                },
            )?,
            Request::Fsync { fid, datasync } => self.fsync(fid, datasync)?,
            Request::GetXattr { fid, name, size } => self.getxattr(fid, name, size)?,
            Request::ListXattr { fid, size } => self.listxattr(fid, size)?,
            Request::SetXattr {
                fid,
                name,
                value,
                flags,
            } => self.setxattr(fid, name, value, flags)?,
            Request::RemoveXattr { fid, name } => self.removexattr(fid, name)?,
        };
        Ok((response, None))
    }

    fn node(&self, fid: Fid) -> Result<&Node, Errno> {
        self.fids.get(&fid).ok_or(Errno::EBADF)
    }

    fn walk(&mut self, fid: Fid, names: Vec<Vec<u8>>) -> Result<Response, Errno> {
        if names.len() > MAX_WALK_COMPONENTS {
            return Err(Errno::EINVAL);
        }
        let mut cnames = Vec::with_capacity(names.len());
        for name in names {
            validate_name(&name).map_err(Errno::from_raw)?;
            cnames.push(CString::new(name).map_err(|_| Errno::EINVAL)?);
        }
        let start = self.node(fid)?;
        let mut dir = Rc::clone(&start.fd);
        let mut dir_key = start.key;
        let mut walked: Vec<(Node, FileAttr)> = Vec::with_capacity(cnames.len());
        for name in cnames {
            let fd = match openat(
                dir.as_fd(),
                &name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            ) {
                Ok(fd) => Rc::new(fd),
                Err(Errno::ENOENT) if !walked.is_empty() => break,
                // Nothing is allocated on failure: `walked` closes its fds.
                Err(e) => return Err(e),
            };
            let attr = stat_fd(fd.as_fd())?;
            let is_symlink = attr.is_symlink();
            let child_key = key(&attr);
            walked.push((
                Node {
                    fd: Rc::clone(&fd),
                    key: child_key,
                    parent: Some(Parent {
                        fd: dir,
                        key: dir_key,
                        name,
                    }),
                },
                attr,
            ));
            dir = fd;
            dir_key = child_key;
            if is_symlink {
                break;
            }
        }
        let count = u64::try_from(walked.len()).map_err(|_| Errno::EINVAL)?;
        self.next_fid.checked_add(count).ok_or(Errno::ENFILE)?;
        let mut entries = Vec::with_capacity(walked.len());
        for (node, attr) in walked {
            let fid = self.next_fid;
            self.next_fid += 1;
            self.fids.insert(fid, node);
            entries.push((fid, attr));
        }
        Ok(Response::Walked { entries })
    }

    fn open(&self, fid: Fid, flags: u32) -> Result<Reply, Errno> {
        let node = self.node(fid)?;
        let flags = oflags(flags);
        let known = OFlag::O_ACCMODE
            | OFlag::O_APPEND
            | OFlag::O_TRUNC
            | OFlag::O_NONBLOCK
            | OFlag::O_DSYNC
            | OFlag::O_SYNC
            | OFlag::O_DIRECT
            | OFlag::O_LARGEFILE
            | OFlag::O_DIRECTORY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NOATIME
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY
            | OFlag::O_CREAT
            | OFlag::O_EXCL
            | OFlag::O_TMPFILE
            | OFlag::O_PATH
            | OFlag::O_ASYNC;
        if !known.contains(flags) {
            return Err(Errno::EINVAL);
        }
        let access = flags & OFlag::O_ACCMODE;
        if access == OFlag::O_ACCMODE || flags.contains(OFlag::O_PATH) {
            return Err(Errno::EINVAL);
        }
        let creates = flags.contains(OFlag::O_CREAT) || flags.contains(OFlag::O_TMPFILE);
        if self.opts.readonly
            && (access != OFlag::O_RDONLY || flags.contains(OFlag::O_TRUNC) || creates)
        {
            return Err(Errno::EROFS);
        }
        if creates {
            // Files are made only by Request::Create, never by open.
            return Err(Errno::EOPNOTSUPP);
        }

        let attr = stat_fd(node.fd.as_fd())?;
        let ftype = attr.file_type();
        let is_dir = ftype == libc::S_IFDIR;
        match ftype {
            libc::S_IFLNK => return Err(Errno::ELOOP),
            libc::S_IFSOCK => return Err(Errno::ENXIO),
            // Host device nodes are never handed to the sandbox.
            libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
            libc::S_IFDIR => {
                if access != OFlag::O_RDONLY || flags.contains(OFlag::O_TRUNC) {
                    return Err(Errno::EISDIR);
                }
            }
            libc::S_IFREG | libc::S_IFIFO => {
                if flags.contains(OFlag::O_DIRECTORY) {
                    return Err(Errno::ENOTDIR);
                }
            }
            _ => return Err(Errno::EPERM),
        }

        let wants_nonblock = flags.contains(OFlag::O_NONBLOCK);
        let fd = reopen(
            node.fd.as_fd(),
            node.parent.as_ref(),
            &attr,
            flags - OFlag::O_ASYNC - OFlag::O_EXCL,
        )?;
        // FIFOs stay non-blocking: the sentry must never block on them in a
        // host read. Everything else gets exactly the flags asked for.
        if !is_dir && ftype != libc::S_IFIFO && !wants_nonblock {
            let status = OFlag::from_bits_retain(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
            fcntl(
                fd.as_raw_fd(),
                FcntlArg::F_SETFL(status - OFlag::O_NONBLOCK),
            )?;
        }
        Ok((Response::Opened, Some(fd)))
    }

    fn getdents(&self, fid: Fid, offset: u64) -> Result<Response, Errno> {
        let node = self.node(fid)?;
        let start = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        let dir = openat(
            node.fd.as_fd(),
            c".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        )?;
        if start != 0 {
            lseek(dir.as_raw_fd(), start, Whence::SeekSet)?;
        }
        let mut buf = vec![0u8; GETDENTS_BUF];
        let mut entries = Vec::new();
        let mut budget = GETDENTS_BATCH_BYTES;
        let mut next_offset = offset;
        let mut eof = false;
        'fill: loop {
            let n = getdents64(dir.as_fd(), &mut buf)?;
            if n == 0 {
                eof = true;
                break;
            }
            let mut records = buf.get(..n).ok_or(Errno::EIO)?;
            while !records.is_empty() {
                let rec = Dirent64::parse(records).ok_or(Errno::EIO)?;
                if rec.name != b"." && rec.name != b".." {
                    let cost = DIRENT_OVERHEAD + rec.name.len();
                    if cost > budget {
                        // Not consumed: the next batch resumes here.
                        break 'fill;
                    }
                    budget -= cost;
                    entries.push(DirEntry {
                        ino: rec.ino,
                        dtype: rec.dtype,
                        name: rec.name.to_vec(),
                    });
                }
                next_offset = rec.next_offset;
                records = records.get(rec.reclen..).ok_or(Errno::EIO)?;
            }
        }
        Ok(Response::Dirents {
            entries,
            next_offset,
            eof,
        })
    }

    fn readlink(&self, fid: Fid) -> Result<Response, Errno> {
        let node = self.node(fid)?;
        if !stat_fd(node.fd.as_fd())?.is_symlink() {
            return Err(Errno::EINVAL);
        }
        let target = readlinkat(Some(node.fd.as_raw_fd()), "")?;
        Ok(Response::Link(std::os::unix::ffi::OsStringExt::into_vec(
            target,
        )))
    }

    fn clunk(&mut self, fid: Fid) -> Result<Response, Errno> {
        if fid == ROOT_FID {
            return Err(Errno::EINVAL);
        }
        self.fids.remove(&fid).ok_or(Errno::EBADF)?;
        Ok(Response::Ok)
    }

    // ---- write side ----

    fn writable(&self) -> Result<(), Errno> {
        if self.opts.readonly {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// A fid's fd and identity, to make, remove or rename an entry in it
    /// (the host says `ENOTDIR` if it is not a directory).
    fn dir(&self, fid: Fid) -> Result<(Rc<OwnedFd>, InodeKey), Errno> {
        let node = self.node(fid)?;
        Ok((Rc::clone(&node.fd), node.key))
    }

    /// Fails, before anything is made on the host, if no fid is left to
    /// name a new file.
    fn check_fid_space(&self) -> Result<(), Errno> {
        if self.next_fid == Fid::MAX {
            Err(Errno::ENFILE)
        } else {
            Ok(())
        }
    }

    /// Allocates a fid for `node`; [`Server::check_fid_space`] must have
    /// passed.
    fn insert(&mut self, node: Node) -> Fid {
        let fid = self.next_fid;
        self.next_fid = self.next_fid.saturating_add(1);
        self.fids.insert(fid, node);
        fid
    }

    /// Opens a non-`O_PATH` fd for metadata work (fsync, xattrs, chmod on
    /// old kernels) on a regular file, directory or FIFO: read-only, or
    /// write-only for a regular file the gofer may not read.
    fn open_meta(
        &self,
        fd: BorrowedFd<'_>,
        parent: Option<&Parent>,
        attr: &FileAttr,
    ) -> Result<OwnedFd, Errno> {
        match reopen(fd, parent, attr, OFlag::O_RDONLY) {
            Err(Errno::EACCES) if attr.file_type() == libc::S_IFREG && !self.opts.readonly => {
                reopen(fd, parent, attr, OFlag::O_WRONLY)
            }
            r => r,
        }
    }

    /// Sets the permission bits of the file behind `fd` (`O_PATH`),
    /// without following a symlink.
    fn chmod(
        &self,
        fd: BorrowedFd<'_>,
        parent: Option<&Parent>,
        attr: &FileAttr,
        mode: u32,
    ) -> Result<(), Errno> {
        if attr.is_symlink() {
            // As fchmodat(AT_SYMLINK_NOFOLLOW) on Linux.
            return Err(Errno::EOPNOTSUPP);
        }
        match fchmodat2_empty(fd, mode) {
            Err(Errno::ENOSYS) => {}
            r => return r,
        }
        // Before Linux 6.6 there is no chmod through an O_PATH fd; go
        // through a real one where the file type allows opening it.
        match attr.file_type() {
            libc::S_IFREG | libc::S_IFDIR | libc::S_IFIFO => {
                fchmod(self.open_meta(fd, parent, attr)?.as_fd(), mode)
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// Finishes a file just made as `parent.name`: looks it up (`O_PATH`),
    /// checks it is the file made (of type `ftype`, and the inode of
    /// `made` if given), gives it `owner` and then exactly `mode` (plus an
    /// `S_ISGID` a directory inherited). Returns its `O_PATH` fd and final
    /// attributes. `ESTALE` means the name was replaced on the host.
    fn adopt(
        &self,
        parent: &Parent,
        ftype: u32,
        made: Option<&OwnedFd>,
        mode: Option<u32>,
        (uid, gid): (u32, u32),
    ) -> Result<(OwnedFd, FileAttr), Errno> {
        let fd = openat(
            parent.fd.as_fd(),
            &parent.name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        )?;
        let mut attr = stat_fd(fd.as_fd())?;
        if attr.file_type() != ftype {
            return Err(Errno::ESTALE);
        }
        if let Some(made) = made {
            if key(&stat_fd(made.as_fd())?) != key(&attr) {
                return Err(Errno::ESTALE);
            }
        }
        if (attr.uid, attr.gid) != (uid, gid) {
            match fchownat_empty(fd.as_fd(), uid, gid) {
                Ok(()) => attr = stat_fd(fd.as_fd())?,
                // An unprivileged gofer keeps its own ownership.
                Err(Errno::EPERM) if !self.is_root => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(mode) = mode {
            // The process umask may have masked bits, and chown may have
            // cleared S_ISUID / S_ISGID.
            let inherited = if ftype == libc::S_IFDIR {
                attr.mode & libc::S_ISGID
            } else {
                0
            };
            let want = mode | inherited;
            if attr.mode & 0o7777 != want {
                match made {
                    Some(made) => fchmod(made.as_fd(), want)?,
                    None => self.chmod(fd.as_fd(), Some(parent), &attr, want)?,
                }
                attr = stat_fd(fd.as_fd())?;
            }
        }
        Ok((fd, attr))
    }

    /// Gives a file just made a fid, or removes it again if finishing it
    /// failed.
    fn new_node(
        &mut self,
        parent: Parent,
        ftype: u32,
        made: Option<&OwnedFd>,
        mode: Option<u32>,
        owner: (u32, u32),
    ) -> Result<(Fid, FileAttr), Errno> {
        match self.adopt(&parent, ftype, made, mode, owner) {
            Ok((fd, attr)) => {
                let fid = self.insert(Node {
                    fd: Rc::new(fd),
                    key: key(&attr),
                    parent: Some(parent),
                });
                Ok((fid, attr))
            }
            Err(e) => {
                // ESTALE: the name is no longer ours to remove.
                if e != Errno::ESTALE {
                    let flags = if ftype == libc::S_IFDIR {
                        libc::AT_REMOVEDIR
                    } else {
                        0
                    };
                    if let Err(undo) = unlinkat(parent.fd.as_fd(), &parent.name, flags) {
                        tracing::warn!(
                            name = ?parent.name,
                            "gofer: cannot remove a half-made file: {undo}"
                        );
                    }
                }
                Err(e)
            }
        }
    }

    fn create(
        &mut self,
        dir: Fid,
        name: Vec<u8>,
        flags: u32,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<Reply, Errno> {
        self.writable()?;
        let name = component(name)?;
        let flags = oflags(flags);
        let allowed = OFlag::O_ACCMODE
            | OFlag::O_APPEND
            | OFlag::O_TRUNC
            | OFlag::O_NONBLOCK
            | OFlag::O_DSYNC
            | OFlag::O_SYNC
            | OFlag::O_DIRECT
            | OFlag::O_LARGEFILE
            | OFlag::O_NOATIME
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY
            | OFlag::O_NOFOLLOW
            | OFlag::O_CREAT
            | OFlag::O_EXCL
            | OFlag::O_ASYNC;
        if !allowed.contains(flags) || flags & OFlag::O_ACCMODE == OFlag::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        self.check_fid_space()?;
        let (dir_fd, dir_key) = self.dir(dir)?;
        let mode = mode & 0o7777;
        // O_EXCL: an existing name, a symlink included, is EEXIST; nothing
        // is ever followed or truncated.
        let host_flags = (flags - OFlag::O_ASYNC - OFlag::O_TRUNC)
            | OFlag::O_CREAT
            | OFlag::O_EXCL
            | OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY;
        let file = match openat_mode(dir_fd.as_fd(), &name, host_flags, mode) {
            Ok(file) => file,
            // Linux checks O_DIRECT support only after making the file (and
            // O_EXCL means an existing name fails earlier, with EEXIST):
            // remove the empty file left behind.
            Err(Errno::EINVAL) if flags.contains(OFlag::O_DIRECT) => {
                if let Ok(left) = stat_at(dir_fd.as_fd(), &name) {
                    if left.file_type() == libc::S_IFREG && left.size == 0 && left.nlink == 1 {
                        let _ = unlinkat(dir_fd.as_fd(), &name, 0);
                    }
                }
                return Err(Errno::EINVAL);
            }
            Err(e) => return Err(e),
        };
        let parent = Parent {
            fd: dir_fd,
            key: dir_key,
            name,
        };
        let (fid, attr) = self.new_node(parent, libc::S_IFREG, Some(&file), Some(mode), owner)?;
        Ok((Response::Created { fid, attr }, Some(file)))
    }

    fn mkdir(
        &mut self,
        dir: Fid,
        name: Vec<u8>,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<Response, Errno> {
        self.writable()?;
        let name = component(name)?;
        self.check_fid_space()?;
        let (dir_fd, dir_key) = self.dir(dir)?;
        let mode = mode & 0o7777;
        mkdirat(dir_fd.as_fd(), &name, mode)?;
        let parent = Parent {
            fd: dir_fd,
            key: dir_key,
            name,
        };
        let (fid, attr) = self.new_node(parent, libc::S_IFDIR, None, Some(mode), owner)?;
        Ok(Response::NewNode { fid, attr })
    }

    fn mknod(
        &mut self,
        dir: Fid,
        name: Vec<u8>,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<Response, Errno> {
        self.writable()?;
        let name = component(name)?;
        let ftype = match mode & libc::S_IFMT {
            0 | libc::S_IFREG => libc::S_IFREG,
            libc::S_IFIFO => libc::S_IFIFO,
            libc::S_IFSOCK => libc::S_IFSOCK,
            // Host device nodes are never made; directories have Mkdir.
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        self.check_fid_space()?;
        let (dir_fd, dir_key) = self.dir(dir)?;
        let perm = mode & 0o7777;
        mknodat(dir_fd.as_fd(), &name, ftype | perm)?;
        let parent = Parent {
            fd: dir_fd,
            key: dir_key,
            name,
        };
        let (fid, attr) = self.new_node(parent, ftype, None, Some(perm), owner)?;
        Ok(Response::NewNode { fid, attr })
    }

    fn symlink(
        &mut self,
        dir: Fid,
        name: Vec<u8>,
        target: Vec<u8>,
        owner: (u32, u32),
    ) -> Result<Response, Errno> {
        self.writable()?;
        let name = component(name)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() > MAX_SYMLINK_TARGET_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let target = CString::new(target).map_err(|_| Errno::EINVAL)?;
        self.check_fid_space()?;
        let (dir_fd, dir_key) = self.dir(dir)?;
        symlinkat(&target, dir_fd.as_fd(), &name)?;
        let parent = Parent {
            fd: dir_fd,
            key: dir_key,
            name,
        };
        let (fid, attr) = self.new_node(parent, libc::S_IFLNK, None, None, owner)?;
        Ok(Response::NewNode { fid, attr })
    }

    fn link(&mut self, dir: Fid, name: Vec<u8>, target: Fid) -> Result<Response, Errno> {
        self.writable()?;
        let name = component(name)?;
        let (dir_fd, _) = self.dir(dir)?;
        let node = self.node(target)?;
        if stat_fd(node.fd.as_fd())?.is_dir() {
            return Err(Errno::EPERM);
        }
        match linkat(
            node.fd.as_fd(),
            c"",
            dir_fd.as_fd(),
            &name,
            libc::AT_EMPTY_PATH,
        ) {
            // Without CAP_DAC_READ_SEARCH (or if the file is gone):
            // link through the name the fid was found by instead.
            Err(Errno::ENOENT) => {}
            r => return r.map(|()| Response::Ok),
        }
        let parent = node.parent.as_ref().ok_or(Errno::ENOENT)?;
        if key(&stat_at(parent.fd.as_fd(), &parent.name)?) != node.key {
            return Err(Errno::ESTALE);
        }
        // Flags 0: a symlink is linked itself, not followed.
        linkat(parent.fd.as_fd(), &parent.name, dir_fd.as_fd(), &name, 0)?;
        if stat_at(dir_fd.as_fd(), &name).map(|a| key(&a)) != Ok(node.key) {
            // The name was swapped on the host between check and link.
            let _ = unlinkat(dir_fd.as_fd(), &name, 0);
            return Err(Errno::ESTALE);
        }
        Ok(Response::Ok)
    }

    fn unlink(&mut self, dir: Fid, name: Vec<u8>, flags: u32) -> Result<Response, Errno> {
        self.writable()?;
        let name = component(name)?;
        let flags = match i32::try_from(flags) {
            Ok(0) => 0,
            Ok(libc::AT_REMOVEDIR) => libc::AT_REMOVEDIR,
            _ => return Err(Errno::EINVAL),
        };
        let (dir_fd, _) = self.dir(dir)?;
        unlinkat(dir_fd.as_fd(), &name, flags)?;
        Ok(Response::Ok)
    }

    fn rename(
        &mut self,
        old_dir: Fid,
        old_name: Vec<u8>,
        new_dir: Fid,
        new_name: Vec<u8>,
        flags: u32,
    ) -> Result<Response, Errno> {
        self.writable()?;
        let old_name = component(old_name)?;
        let new_name = component(new_name)?;
        if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let (old_fd, old_key) = self.dir(old_dir)?;
        let (new_fd, new_key) = self.dir(new_dir)?;
        // What moves, so the fids naming it can follow.
        let moved = key(&stat_at(old_fd.as_fd(), &old_name)?);
        let swapped = if flags & libc::RENAME_EXCHANGE != 0 {
            Some(key(&stat_at(new_fd.as_fd(), &new_name)?))
        } else {
            None
        };
        renameat2(old_fd.as_fd(), &old_name, new_fd.as_fd(), &new_name, flags)?;
        for node in self.fids.values_mut() {
            let Some(p) = node.parent.as_mut() else {
                continue;
            };
            if node.key == moved && p.key == old_key && p.name == old_name {
                *p = Parent {
                    fd: Rc::clone(&new_fd),
                    key: new_key,
                    name: new_name.clone(),
                };
            } else if Some(node.key) == swapped && p.key == new_key && p.name == new_name {
                *p = Parent {
                    fd: Rc::clone(&old_fd),
                    key: old_key,
                    name: old_name.clone(),
                };
            }
        }
        Ok(Response::Ok)
    }

    fn setattr(&mut self, fid: Fid, set: &SetAttr) -> Result<Response, Errno> {
        let SetAttr {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        } = *set;
        self.writable()?;
        let node = self.node(fid)?;
        let fd = node.fd.as_fd();
        let attr = stat_fd(fd)?;
        // Check everything before changing anything.
        if mode.is_some() && attr.is_symlink() {
            return Err(Errno::EOPNOTSUPP);
        }
        let size = match size {
            None => None,
            Some(_) if attr.is_dir() => return Err(Errno::EISDIR),
            Some(_) if attr.file_type() != libc::S_IFREG => return Err(Errno::EINVAL),
            Some(size) => Some(libc::off_t::try_from(size).map_err(|_| Errno::EINVAL)?),
        };
        let times = [timespec(atime)?, timespec(mtime)?];

        if uid.is_some() || gid.is_some() {
            // u32::MAX is chown's "leave unchanged".
            fchownat_empty(fd, uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX))?;
        }
        if let Some(mode) = mode {
            self.chmod(fd, node.parent.as_ref(), &attr, mode & 0o7777)?;
        }
        if let Some(size) = size {
            // Never truncate by path: through a fresh fd on the same inode.
            let file = reopen(fd, node.parent.as_ref(), &attr, OFlag::O_WRONLY)?;
            ftruncate(file.as_fd(), size)?;
        }
        if times.iter().any(|t| t.tv_nsec != libc::UTIME_OMIT) {
            utimensat_empty(fd, &times)?;
        }
        Ok(Response::Attr(stat_fd(fd)?))
    }

    fn fsync(&self, fid: Fid, datasync: bool) -> Result<Response, Errno> {
        let node = self.node(fid)?;
        let attr = stat_fd(node.fd.as_fd())?;
        if !matches!(attr.file_type(), libc::S_IFREG | libc::S_IFDIR) {
            return Err(Errno::EINVAL);
        }
        let file = self.open_meta(node.fd.as_fd(), node.parent.as_ref(), &attr)?;
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is open (owned by `file`) for the whole call.
        sys(|| unsafe {
            if datasync {
                libc::fdatasync(fd)
            } else {
                libc::fsync(fd)
            }
        })?;
        Ok(Response::Ok)
    }

    /// A real fd for the xattr calls on `fid`: regular files and
    /// directories only (`None` for anything else, which the gofer cannot
    /// open without `/proc`).
    fn xattr_fd(&self, fid: Fid) -> Result<Option<OwnedFd>, Errno> {
        let node = self.node(fid)?;
        let attr = stat_fd(node.fd.as_fd())?;
        match attr.file_type() {
            libc::S_IFREG | libc::S_IFDIR => Ok(Some(self.open_meta(
                node.fd.as_fd(),
                node.parent.as_ref(),
                &attr,
            )?)),
            _ => Ok(None),
        }
    }

    fn getxattr(&self, fid: Fid, name: Vec<u8>, size: u32) -> Result<Response, Errno> {
        let name = xattr_name(name)?;
        let Some(file) = self.xattr_fd(fid)? else {
            return Err(no_xattrs(&name, false));
        };
        let size = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(MAX_XATTR_VALUE_LEN);
        let mut buf = vec![0u8; size];
        let n = fgetxattr(file.as_fd(), &name, &mut buf)?;
        if size == 0 {
            return Ok(Response::XattrLen(num(n)));
        }
        buf.truncate(n);
        Ok(Response::Xattr(buf))
    }

    fn listxattr(&self, fid: Fid, size: u32) -> Result<Response, Errno> {
        let mut list = Vec::new();
        if let Some(file) = self.xattr_fd(fid)? {
            let mut buf = vec![0u8; MAX_XATTR_LIST_LEN];
            let n = match flistxattr(file.as_fd(), &mut buf) {
                // Longer than Linux allows a caller to receive.
                Err(Errno::ERANGE) => return Err(Errno::E2BIG),
                r => r?,
            };
            for name in buf.get(..n).unwrap_or_default().split(|&b| b == 0) {
                if XATTR_NAMESPACES
                    .iter()
                    .any(|ns| name.len() > ns.len() && name.starts_with(ns))
                {
                    list.extend_from_slice(name);
                    list.push(0);
                }
            }
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size == 0 {
            return Ok(Response::XattrLen(num(list.len())));
        }
        if list.len() > size {
            return Err(Errno::ERANGE);
        }
        Ok(Response::Xattr(list))
    }

    fn setxattr(
        &mut self,
        fid: Fid,
        name: Vec<u8>,
        value: Vec<u8>,
        flags: u32,
    ) -> Result<Response, Errno> {
        self.writable()?;
        let name = xattr_name(name)?;
        if value.len() > MAX_XATTR_VALUE_LEN {
            return Err(Errno::E2BIG);
        }
        let flags = i32::try_from(flags).map_err(|_| Errno::EINVAL)?;
        if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(file) = self.xattr_fd(fid)? else {
            return Err(no_xattrs(&name, true));
        };
        fsetxattr(file.as_fd(), &name, &value, flags)?;
        Ok(Response::Ok)
    }

    fn removexattr(&mut self, fid: Fid, name: Vec<u8>) -> Result<Response, Errno> {
        self.writable()?;
        let name = xattr_name(name)?;
        let Some(file) = self.xattr_fd(fid)? else {
            return Err(no_xattrs(&name, true));
        };
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is open for the call and `name` is a live C string.
        sys(|| unsafe { libc::fremovexattr(fd, name.as_ptr()) })?;
        Ok(Response::Ok)
    }
}

/// A validated extended attribute name.
fn xattr_name(name: Vec<u8>) -> Result<CString, Errno> {
    validate_xattr_name(&name).map_err(Errno::from_raw)?;
    CString::new(name).map_err(|_| Errno::EINVAL)
}

/// The error for an xattr call on a file that is neither a regular file
/// nor a directory, as Linux reports it for `user.*` (`ENODATA` to read,
/// `EPERM` to write); `trusted.*` on such files is not served.
fn no_xattrs(name: &CStr, write: bool) -> Errno {
    if name.to_bytes().starts_with(b"user.") {
        if write {
            Errno::EPERM
        } else {
            Errno::ENODATA
        }
    } else {
        Errno::EOPNOTSUPP
    }
}

/// A `utimensat` time: `UTIME_OMIT` for `None`; `EINVAL` for nanoseconds
/// that are neither below one second nor `UTIME_NOW` / `UTIME_OMIT`.
fn timespec(t: Option<(i64, u32)>) -> Result<libc::timespec, Errno> {
    let (sec, nsec) = match t {
        None => (0, libc::UTIME_OMIT),
        Some((sec, nsec)) => {
            let nsec = libc::c_long::from(nsec);
            if nsec >= 1_000_000_000 && nsec != libc::UTIME_NOW && nsec != libc::UTIME_OMIT {
                return Err(Errno::EINVAL);
            }
            (sec, nsec)
        }
    };
    Ok(libc::timespec {
        tv_sec: libc::time_t::try_from(sec).map_err(|_| Errno::EINVAL)?,
        tv_nsec: nsec,
    })
}

/// Opens the file `fd` (`O_PATH`) names for I/O with `flags`: a directory
/// through `fd` itself, anything else through its parent and name
/// (non-blocking, so a FIFO without a peer cannot block the gofer). The
/// result must be the inode `attr` describes (`ESTALE` otherwise).
fn reopen(
    fd: BorrowedFd<'_>,
    parent: Option<&Parent>,
    attr: &FileAttr,
    flags: OFlag,
) -> Result<OwnedFd, Errno> {
    let flags = flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NOFOLLOW;
    let file = if attr.is_dir() {
        openat(fd, c".", flags | OFlag::O_DIRECTORY)?
    } else {
        let parent = parent.ok_or(Errno::EINVAL)?;
        openat(parent.fd.as_fd(), &parent.name, flags | OFlag::O_NONBLOCK)?
    };
    if key(&stat_fd(file.as_fd())?) != key(attr) {
        return Err(Errno::ESTALE);
    }
    Ok(file)
}

/// Runs a libc call that reports failure as -1 and `errno`, retrying on
/// `EINTR`.
fn sys<T: nix::errno::ErrnoSentinel + PartialEq>(mut call: impl FnMut() -> T) -> Result<T, Errno> {
    loop {
        match Errno::result(call()) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> Result<FileAttr, Errno> {
    let st = fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    Ok(attr_from_stat(&st))
}

fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: `dir` is open for the call and `name` is a live C string.
    sys(|| unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: `dir` is open for the call and `name` is a live C string.
    sys(|| unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) }).map(drop)
}

fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> Result<(), Errno> {
    // SAFETY: `dir` is open for the call; both strings are live C strings.
    sys(|| unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: i32,
) -> Result<(), Errno> {
    // SAFETY: both fds are open for the call; both strings are live C
    // strings.
    sys(|| unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: i32) -> Result<(), Errno> {
    // SAFETY: `dir` is open for the call and `name` is a live C string.
    sys(|| unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// The raw `renameat2` system call (glibc may turn flags 0 into
/// `renameat`, which the seccomp policy does not allow).
fn renameat2(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: u32,
) -> Result<(), Errno> {
    // SAFETY: both fds are open for the call; both strings are live C
    // strings; renameat2 takes exactly these five arguments.
    sys(|| unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`:
/// chown of the file an `O_PATH` fd names, a symlink itself included.
fn fchownat_empty(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call; the path is a static C string.
    sys(|| unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// The raw `fchmodat2(fd, "", mode, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`
/// (Linux 6.6+; `ENOSYS` before): chmod of the file an `O_PATH` fd names.
fn fchmodat2_empty(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call; the path is a static C string;
    // fchmodat2 takes exactly these four arguments.
    sys(|| unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call.
    sys(|| unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: times
/// of the file an `O_PATH` fd names (Linux 5.8+).
fn utimensat_empty(fd: BorrowedFd<'_>, times: &[libc::timespec; 2]) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call; the path is a static C string and
    // `times` points at two timespecs.
    sys(|| unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

fn ftruncate(fd: BorrowedFd<'_>, size: libc::off_t) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call.
    sys(|| unsafe { libc::ftruncate(fd.as_raw_fd(), size) }).map(drop)
}

/// `fgetxattr`; an empty `buf` asks for the value's length.
fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `fd` is open for the call, `name` is a live C string, and
    // the kernel writes at most `buf.len()` bytes into `buf`, which we
    // exclusively borrow.
    let n = sys(|| unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    })?;
    usize::try_from(n).map_err(|_| Errno::EIO)
}

fn flistxattr(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `fd` is open for the call and the kernel writes at most
    // `buf.len()` bytes into `buf`, which we exclusively borrow.
    let n =
        sys(|| unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
    usize::try_from(n).map_err(|_| Errno::EIO)
}

fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8], flags: i32) -> Result<(), Errno> {
    // SAFETY: `fd` is open for the call, `name` is a live C string, and
    // the kernel reads at most `value.len()` bytes from `value`.
    sys(|| unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    })
    .map(drop)
}

/// `openat(2)` with a creation mode, returning an owned fd; retries on
/// `EINTR`.
fn openat_mode(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: OFlag,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    loop {
        match nix::fcntl::openat(
            Some(dir.as_raw_fd()),
            name,
            flags,
            Mode::from_bits_retain(mode),
        ) {
            // SAFETY: openat just returned this fd, so it is open and owned
            // by nothing else.
            Ok(raw) => return Ok(unsafe { OwnedFd::from_raw_fd(raw) }),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `openat(2)` returning an owned fd; retries on `EINTR`.
fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    openat_mode(dir, name, flags, 0)
}

/// Converts a host integer of whatever width the target uses.
fn num<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

fn nsec<T: TryInto<u32>>(v: T) -> u32 {
    v.try_into().unwrap_or(0)
}

fn attr_from_stat(st: &FileStat) -> FileAttr {
    FileAttr {
        ino: num(st.st_ino),
        dev: num(st.st_dev),
        mode: st.st_mode,
        nlink: num(st.st_nlink),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: num(st.st_rdev),
        size: num(st.st_size),
        blksize: num(st.st_blksize),
        blocks: num(st.st_blocks),
        atime: (st.st_atime, nsec(st.st_atime_nsec)),
        mtime: (st.st_mtime, nsec(st.st_mtime_nsec)),
        ctime: (st.st_ctime, nsec(st.st_ctime_nsec)),
    }
}

/// Stats the file an fd (usually `O_PATH`) refers to, never following a
/// symlink.
fn stat_fd(fd: BorrowedFd<'_>) -> Result<FileAttr, Errno> {
    let st = fstatat(
        Some(fd.as_raw_fd()),
        "",
        nix::fcntl::AtFlags::AT_EMPTY_PATH | nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(attr_from_stat(&st))
}

fn statfs_fd(fd: BorrowedFd<'_>) -> Result<FsStat, Errno> {
    let mut st = MaybeUninit::<libc::statfs64>::uninit();
    // SAFETY: `fd` is a live fd for the duration of the call and `st` is
    // writable storage for exactly one `struct statfs64`.
    let rc = unsafe { libc::fstatfs64(fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(rc)?;
    // SAFETY: fstatfs succeeded, so the kernel filled in all of `st`.
    let st = unsafe { st.assume_init() };
    Ok(FsStat {
        fs_type: num(st.f_type),
        bsize: num(st.f_bsize),
        blocks: num(st.f_blocks),
        bfree: num(st.f_bfree),
        bavail: num(st.f_bavail),
        files: num(st.f_files),
        ffree: num(st.f_ffree),
        namelen: num(st.f_namelen),
        frsize: num(st.f_frsize),
        flags: num(st.f_flags),
    })
}

/// Reads directory records into `buf`; returns the number of bytes filled
/// (0 at the end of the directory).
fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `dir` is a live directory fd and the kernel writes at most
        // `buf.len()` bytes into `buf`, which we exclusively borrow.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        match Errno::result(n) {
            Ok(n) => return usize::try_from(n).map_err(|_| Errno::EIO),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One parsed `struct linux_dirent64`.
struct Dirent64<'a> {
    ino: u64,
    next_offset: u64,
    reclen: usize,
    dtype: u8,
    name: &'a [u8],
}

impl<'a> Dirent64<'a> {
    /// Parses the record at the start of `buf`, bounds-checking everything.
    fn parse(buf: &'a [u8]) -> Option<Self> {
        let ino = u64::from_ne_bytes(buf.get(0..8)?.try_into().ok()?);
        let off = i64::from_ne_bytes(buf.get(8..16)?.try_into().ok()?);
        let reclen = usize::from(u16::from_ne_bytes(buf.get(16..18)?.try_into().ok()?));
        let dtype = *buf.get(18)?;
        let name = buf.get(DIRENT64_NAME_OFFSET..reclen)?;
        let len = name.iter().position(|&b| b == 0)?;
        Some(Dirent64 {
            ino,
            next_offset: u64::try_from(off).ok()?,
            reclen,
            dtype,
            name: name.get(..len)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: i32,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    /// Drops `cap` from the calling thread's effective set, which also
    /// gives the thread a new credential object.
    fn drop_effective_cap(cap: u32) {
        let mut hdr = CapHeader {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget writes one header and two data structs we own.
        let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
        assert_eq!(rc, 0);
        data[0].effective &= !(1 << cap);
        // SAFETY: capset reads one header and two data structs we own.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
        assert_eq!(rc, 0);
    }

    #[test]
    fn link_falls_back_to_the_name_without_flink() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to drop CAP_DAC_READ_SEARCH");
            return;
        }
        // Capabilities are per thread: only this one loses them.
        std::thread::spawn(|| {
            const CAP_DAC_READ_SEARCH: u32 = 2;
            const CAP_SYS_NICE: u32 = 23;
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("f"), b"data").unwrap();
            let root = crate::confine::tests_open_dir(dir.path());
            drop_effective_cap(CAP_DAC_READ_SEARCH);
            let mut server = Server::new(root, ServerOptions::default()).unwrap();
            let walk = Request::Walk {
                fid: ROOT_FID,
                names: vec![b"f".to_vec()],
            };
            let fid = match server.handle(walk).unwrap().0 {
                Response::Walked { entries } => entries[0].0,
                other => panic!("{other:?}"),
            };
            // Since Linux 6.10 flink works without the capability for fds
            // opened with the caller's current credentials; new ones make
            // the walked fd someone else's.
            drop_effective_cap(CAP_SYS_NICE);
            let target = Rc::clone(&server.node(fid).unwrap().fd);
            let root_fd = Rc::clone(&server.node(ROOT_FID).unwrap().fd);
            assert_eq!(
                linkat(
                    target.as_fd(),
                    c"",
                    root_fd.as_fd(),
                    c"probe",
                    libc::AT_EMPTY_PATH
                ),
                Err(Errno::ENOENT)
            );

            let link = |name: &[u8]| Request::Link {
                dir: ROOT_FID,
                name: name.to_vec(),
                target: fid,
            };
            assert_eq!(server.handle(link(b"g")).unwrap().0, Response::Ok);
            let ino = |name: &str| {
                std::fs::symlink_metadata(dir.path().join(name))
                    .unwrap()
                    .ino()
            };
            assert_eq!(ino("g"), ino("f"));
            // By name, only the file the fid names is linked.
            std::fs::rename(dir.path().join("f"), dir.path().join("f2")).unwrap();
            std::fs::write(dir.path().join("f"), b"impostor").unwrap();
            assert_eq!(server.handle(link(b"h")).unwrap_err(), Errno::ESTALE);
            assert!(!dir.path().join("h").exists());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn dirent_parse_is_bounds_checked() {
        let mut rec = vec![0u8; 24];
        rec[0..8].copy_from_slice(&5u64.to_ne_bytes());
        rec[8..16].copy_from_slice(&77i64.to_ne_bytes());
        rec[16..18].copy_from_slice(&24u16.to_ne_bytes());
        rec[18] = libc::DT_REG;
        rec[19..22].copy_from_slice(b"abc");
        let d = Dirent64::parse(&rec).unwrap();
        assert_eq!(
            (d.ino, d.next_offset, d.reclen, d.dtype),
            (5, 77, 24, libc::DT_REG)
        );
        assert_eq!(d.name, b"abc");
        // reclen past the buffer, reclen too small, no NUL: all rejected.
        assert!(Dirent64::parse(&rec[..20]).is_none());
        rec[16..18].copy_from_slice(&10u16.to_ne_bytes());
        assert!(Dirent64::parse(&rec).is_none());
        rec[16..18].copy_from_slice(&22u16.to_ne_bytes());
        assert!(Dirent64::parse(&rec).is_none());
    }
}
