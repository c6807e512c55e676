//! The gofer's request loop.
//!
//! Every fid maps to an `O_PATH` host fd. Fids are only ever created by
//! walking one validated component at a time with
//! `openat(dir, name, O_PATH | O_NOFOLLOW)`, starting from the root fd, so
//! no fid can name a file outside the root: a component is never `..`,
//! never contains `/`, and a symlink is never followed (walks stop at it).
//!
//! Files are opened for I/O without `/proc`: a directory is reopened
//! through its own fd (`openat(fd, ".")`), anything else through its
//! parent's fd and its name (`openat(parent, name, O_NOFOLLOW)`), and the
//! result is checked to be the same inode the fid names (`ESTALE` if the
//! name was replaced on the host in between).

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{fcntl, readlinkat, FcntlArg, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};
use nix::unistd::{lseek, Whence};

use crate::protocol::{
    decode, encode, peek_tag, validate_name, DirEntry, Fid, FileAttr, FsStat, Request,
    RequestMessage, Response, ResponseMessage, GETDENTS_BATCH_BYTES, MAX_MESSAGE_SIZE,
    MAX_WALK_COMPONENTS, ROOT_FID,
};
use crate::transport::{peer_hung_up, recv_packet, send_packet};
use crate::GoferError;

/// How the gofer serves its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Refuse every open that could modify a file (write access, `O_TRUNC`,
    /// `O_CREAT`) with `EROFS`.
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
    let mut server = Server::new(root, opts);
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

/// A walked file.
struct Node {
    /// `O_PATH` fd of the file itself. Shared with the children walked from
    /// it, which need it to reopen themselves.
    fd: Rc<OwnedFd>,
    /// The parent directory's `O_PATH` fd and this file's name in it;
    /// `None` for the root.
    parent: Option<(Rc<OwnedFd>, CString)>,
}

struct Server {
    fids: BTreeMap<Fid, Node>,
    next_fid: Fid,
    opts: ServerOptions,
}

type Reply = (Response, Option<OwnedFd>);

impl Server {
    fn new(root: OwnedFd, opts: ServerOptions) -> Self {
        let mut fids = BTreeMap::new();
        fids.insert(
            ROOT_FID,
            Node {
                fd: Rc::new(root),
                parent: None,
            },
        );
        Server {
            fids,
            next_fid: ROOT_FID + 1,
            opts,
        }
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
        let mut dir = Rc::clone(&self.node(fid)?.fd);
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
            walked.push((
                Node {
                    fd: Rc::clone(&fd),
                    parent: Some((dir, name)),
                },
                attr,
            ));
            dir = fd;
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
        let flags = OFlag::from_bits_retain(i32::from_ne_bytes(flags.to_ne_bytes()));
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
            // Until a Create request exists, open never makes files.
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
        let host_flags = (flags - OFlag::O_ASYNC - OFlag::O_EXCL)
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY
            | OFlag::O_NOFOLLOW;
        let fd = if is_dir {
            openat(node.fd.as_fd(), c".", host_flags | OFlag::O_DIRECTORY)?
        } else {
            let (parent, name) = node.parent.as_ref().ok_or(Errno::EINVAL)?;
            // O_NONBLOCK so that the gofer can never block in open(), e.g. on a
            // FIFO without a peer or on a file swapped for one on the host.
            openat(parent.as_fd(), name, host_flags | OFlag::O_NONBLOCK)?
        };
        let opened = stat_fd(fd.as_fd())?;
        if (opened.dev, opened.ino) != (attr.dev, attr.ino) {
            return Err(Errno::ESTALE);
        }
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
}

/// `openat(2)` returning an owned fd; retries on `EINTR`.
fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    loop {
        match nix::fcntl::openat(Some(dir.as_raw_fd()), name, flags, Mode::empty()) {
            // SAFETY: openat just returned this fd, so it is open and owned
            // by nothing else.
            Ok(raw) => return Ok(unsafe { OwnedFd::from_raw_fd(raw) }),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
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
