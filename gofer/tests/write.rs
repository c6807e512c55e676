//! The write side of the protocol: create, mkdir, mknod, symlink, link,
//! unlink, rename, setattr, fsync and xattrs, served on a thread over a
//! socketpair.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use common::*;
use rvisor_gofer::client::GoferClient;
use rvisor_gofer::protocol::{
    encode, Fid, Request, Response, ResponseMessage, SetAttr, MAX_XATTR_VALUE_LEN, ROOT_FID,
};
use rvisor_gofer::server::{serve, ServerOptions};
use rvisor_gofer::GoferError;

/// A served tree:
///
/// ```text
/// <tmp>/export/          the gofer root, with common::populate's tree plus
///     out -> ../outside  (relative symlink out of the root)
///     abs -> <tmp>/outside
/// <tmp>/outside/secret   must never be touched
/// ```
struct Gofer {
    tmp: tempfile::TempDir,
    thread: Option<JoinHandle<Result<(), GoferError>>>,
}

impl Gofer {
    /// Starts a server over a fresh tree; `setup` runs first on the server
    /// thread.
    fn start_with(
        opts: ServerOptions,
        setup: impl FnOnce() + Send + 'static,
    ) -> (Gofer, GoferClient) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("export");
        let outside = tmp.path().join("outside");
        fs::create_dir(&root).unwrap();
        populate(&root);
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), b"secret").unwrap();
        symlink("../outside", root.join("out")).unwrap();
        symlink(&outside, root.join("abs")).unwrap();
        let (client_end, server_end) = seqpacket_pair();
        let root_fd = open_root(&root);
        let thread = std::thread::spawn(move || {
            setup();
            serve(server_end, root_fd, opts)
        });
        (
            Gofer {
                tmp,
                thread: Some(thread),
            },
            GoferClient::new(client_end),
        )
    }

    fn start(opts: ServerOptions) -> (Gofer, GoferClient) {
        Self::start_with(opts, || {})
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("export")
    }

    fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// The outside directory still holds exactly the untouched secret.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
        assert_eq!(fs::read(self.outside().join("secret")).unwrap(), b"secret");
        let meta = fs::metadata(self.outside().join("secret")).unwrap();
        assert_eq!(meta.len(), 6);
    }

    /// Waits for the server to finish after the client is dropped.
    fn join(mut self, c: GoferClient) {
        drop(c);
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

fn rw() -> ServerOptions {
    ServerOptions { readonly: false }
}

fn ro() -> ServerOptions {
    ServerOptions { readonly: true }
}

fn errno<T: std::fmt::Debug>(r: Result<T, GoferError>) -> i32 {
    match r {
        Err(GoferError::Errno(e)) => e,
        other => panic!("expected an errno reply, got {other:?}"),
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The owner to give new files: someone else when we may chown, else us.
fn owner() -> (u32, u32) {
    if is_root() {
        (1234, 5678)
    } else {
        (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    }
}

fn walk1(c: &GoferClient, dir: Fid, name: &[u8]) -> Fid {
    let walked = c.walk(dir, &[name]).unwrap();
    assert_eq!(walked.len(), 1);
    walked[0].0
}

fn read_fid(c: &GoferClient, fid: Fid) -> String {
    let mut s = String::new();
    File::from(c.open(fid, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn lmeta(p: &Path) -> fs::Metadata {
    fs::symlink_metadata(p).unwrap()
}

#[test]
fn create_makes_opens_and_names_a_file() {
    let (g, c) = Gofer::start(rw());
    let (uid, gid) = owner();
    // 0o666 is what a umask would mask: the gofer applies it exactly.
    let (fid, attr, fd) = c
        .create(ROOT_FID, b"new.txt", libc::O_RDWR, 0o666, uid, gid)
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFREG | 0o666);
    assert_eq!((attr.uid, attr.gid), (uid, gid));
    assert_eq!(attr.size, 0);
    let host = lmeta(&g.root().join("new.txt"));
    assert_eq!((host.ino(), host.mode()), (attr.ino, attr.mode));
    assert_eq!((host.uid(), host.gid()), (uid, gid));

    // The donated fd is the created file, open read-write, close-on-exec.
    let fdflags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(fdflags & libc::FD_CLOEXEC, 0);
    let fl = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_eq!(fl & libc::O_ACCMODE, libc::O_RDWR);
    let mut f = File::from(fd);
    f.write_all(b"fresh").unwrap();
    f.rewind().unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "fresh");
    assert_eq!(fs::read(g.root().join("new.txt")).unwrap(), b"fresh");
    // The fid names the new file like a walked one.
    assert_eq!(c.stat(fid).unwrap().size, 5);
    assert_eq!(read_fid(&c, fid), "fresh");

    // O_EXCL always: existing names, symlinks included, are never opened.
    for name in [
        &b"new.txt"[..],
        b"hello.txt",
        b"link",
        b"escape",
        b"out",
        b"sub",
    ] {
        assert_eq!(
            errno(c.create(ROOT_FID, name, libc::O_WRONLY, 0o644, uid, gid)),
            libc::EEXIST,
            "{name:?}"
        );
    }
    assert_eq!(
        fs::read(g.root().join("hello.txt")).unwrap(),
        b"hello gofer"
    );

    // Mode 0 still yields a writable fd (creation grants the access).
    let (_, attr, fd) = c
        .create(
            ROOT_FID,
            b"locked",
            libc::O_WRONLY | libc::O_APPEND,
            0,
            uid,
            gid,
        )
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFREG);
    let fl = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_ne!(fl & libc::O_APPEND, 0);
    File::from(fd).write_all(b"x").unwrap();
    assert_eq!(fs::read(g.root().join("locked")).unwrap(), b"x");

    // Set-id bits survive the chown that follows creation.
    let (_, attr, _) = c
        .create(ROOT_FID, b"suid", libc::O_RDONLY, 0o6755, uid, gid)
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFREG | 0o6755);
    assert_eq!(lmeta(&g.root().join("suid")).mode(), libc::S_IFREG | 0o6755);

    // In a walked subdirectory; no-op flags are accepted.
    let sub = walk1(&c, ROOT_FID, b"sub");
    let (fid, _, _) = c
        .create(
            sub,
            b"deep",
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_CLOEXEC,
            0o600,
            uid,
            gid,
        )
        .unwrap();
    assert!(g.root().join("sub/deep").is_file());
    assert_eq!(
        c.walk(sub, &[b"deep"]).unwrap()[0].1.ino,
        c.stat(fid).unwrap().ino
    );

    // Flags that do not create a plain open file.
    for flags in [
        libc::O_RDONLY | libc::O_DIRECTORY,
        libc::O_RDWR | libc::O_TMPFILE,
        libc::O_PATH,
        libc::O_ACCMODE,
    ] {
        assert_eq!(
            errno(c.create(ROOT_FID, b"bad", flags, 0o644, uid, gid)),
            libc::EINVAL,
            "{flags:#o}"
        );
    }
    assert!(!g.root().join("bad").exists());
    // Not a directory.
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    assert_eq!(
        errno(c.create(hello, b"x", libc::O_RDWR, 0o644, uid, gid)),
        libc::ENOTDIR
    );
    g.join(c);
}

#[test]
fn mkdir_mknod_symlink() {
    let (g, c) = Gofer::start(rw());
    let (uid, gid) = owner();

    let (d, attr) = c.mkdir(ROOT_FID, b"d", 0o777, uid, gid).unwrap();
    assert_eq!(attr.mode, libc::S_IFDIR | 0o777);
    assert_eq!((attr.uid, attr.gid), (uid, gid));
    let host = lmeta(&g.root().join("d"));
    assert!(host.is_dir());
    assert_eq!((host.mode(), host.uid()), (attr.mode, uid));
    // The new fid is a usable directory fid.
    c.create(d, b"inside", libc::O_RDWR, 0o644, uid, gid)
        .unwrap();
    let (entries, _, _) = c.getdents(d, 0).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        errno(c.mkdir(ROOT_FID, b"d", 0o755, uid, gid)),
        libc::EEXIST
    );
    assert_eq!(
        errno(c.mkdir(ROOT_FID, b"link", 0o755, uid, gid)),
        libc::EEXIST
    );
    // A directory inherits S_ISGID from its parent.
    let (sg, _) = c.mkdir(ROOT_FID, b"sgid", 0o2755, uid, gid).unwrap();
    let (_, attr) = c.mkdir(sg, b"child", 0o700, uid, gid).unwrap();
    assert_eq!(attr.mode, libc::S_IFDIR | libc::S_ISGID | 0o700);

    for (name, mode, want) in [
        (&b"fifo2"[..], libc::S_IFIFO | 0o620, libc::S_IFIFO | 0o620),
        (b"sock", libc::S_IFSOCK | 0o755, libc::S_IFSOCK | 0o755),
        (b"reg", libc::S_IFREG | 0o640, libc::S_IFREG | 0o640),
        (b"reg0", 0o604, libc::S_IFREG | 0o604),
    ] {
        let (fid, attr) = c.mknod(ROOT_FID, name, mode, uid, gid).unwrap();
        assert_eq!(attr.mode, want, "{name:?}");
        assert_eq!((attr.uid, attr.gid), (uid, gid));
        assert_eq!(c.stat(fid).unwrap(), attr);
        let host = lmeta(&g.root().join(std::str::from_utf8(name).unwrap()));
        assert_eq!(host.mode(), want);
    }
    assert!(lmeta(&g.root().join("fifo2")).file_type().is_fifo());
    assert!(lmeta(&g.root().join("sock")).file_type().is_socket());
    for (mode, want) in [
        (libc::S_IFCHR | 0o666, libc::EPERM),
        (libc::S_IFBLK | 0o666, libc::EPERM),
        (libc::S_IFDIR | 0o755, libc::EPERM),
        (libc::S_IFLNK | 0o777, libc::EINVAL),
    ] {
        assert_eq!(errno(c.mknod(ROOT_FID, b"dev", mode, uid, gid)), want);
    }
    assert!(!g.root().join("dev").exists());

    // Symlink targets are stored verbatim and never followed.
    let target = b"../../../etc/passwd";
    let (sl, attr) = c.symlink(ROOT_FID, b"sl", target, uid, gid).unwrap();
    assert!(attr.is_symlink());
    assert_eq!((attr.uid, attr.gid), (uid, gid));
    assert_eq!(c.readlink(sl).unwrap(), target);
    assert_eq!(
        fs::read_link(g.root().join("sl")).unwrap(),
        Path::new("../../../etc/passwd")
    );
    let walked = c.walk(ROOT_FID, &[b"sl", b"x"]).unwrap();
    assert_eq!(walked.len(), 1);
    let long = vec![b'a'; 4095];
    let (fid, _) = c.symlink(ROOT_FID, b"long", &long, uid, gid).unwrap();
    assert_eq!(c.readlink(fid).unwrap(), long);
    assert_eq!(
        errno(c.symlink(ROOT_FID, b"x", &[b'a'; 4096], uid, gid)),
        libc::ENAMETOOLONG
    );
    assert_eq!(
        errno(c.symlink(ROOT_FID, b"x", b"", uid, gid)),
        libc::ENOENT
    );
    assert_eq!(
        errno(c.symlink(ROOT_FID, b"x", b"a\0b", uid, gid)),
        libc::EINVAL
    );
    assert_eq!(
        errno(c.symlink(ROOT_FID, b"sl", b"y", uid, gid)),
        libc::EEXIST
    );
    assert!(!g.root().join("x").exists());
    g.join(c);
}

#[test]
fn link_and_unlink() {
    let (g, c) = Gofer::start(rw());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    let sub = walk1(&c, ROOT_FID, b"sub");
    c.link(sub, b"hard", hello).unwrap();
    assert_eq!(c.stat(hello).unwrap().nlink, 2);
    assert_eq!(
        lmeta(&g.root().join("sub/hard")).ino(),
        c.stat(hello).unwrap().ino
    );
    assert_eq!(errno(c.link(sub, b"hard", hello)), libc::EEXIST);
    assert_eq!(errno(c.link(ROOT_FID, b"d", sub)), libc::EPERM);
    // A symlink is linked itself, not its target.
    let escape = walk1(&c, ROOT_FID, b"escape");
    c.link(ROOT_FID, b"escape2", escape).unwrap();
    assert_eq!(
        fs::read_link(g.root().join("escape2")).unwrap(),
        Path::new("/")
    );
    assert_eq!(lmeta(&g.root().join("escape2")).nlink(), 2);

    c.unlink(sub, b"hard", 0).unwrap();
    assert!(!g.root().join("sub/hard").exists());
    assert_eq!(c.stat(hello).unwrap().nlink, 1);
    assert_eq!(errno(c.unlink(sub, b"hard", 0)), libc::ENOENT);
    assert_eq!(errno(c.unlink(ROOT_FID, b"sub", 0)), libc::EISDIR);
    assert_eq!(
        errno(c.unlink(ROOT_FID, b"hello.txt", libc::AT_REMOVEDIR)),
        libc::ENOTDIR
    );
    assert_eq!(
        errno(c.unlink(ROOT_FID, b"sub", libc::AT_REMOVEDIR)),
        libc::ENOTEMPTY
    );
    assert_eq!(errno(c.unlink(ROOT_FID, b"hello.txt", 0x1)), libc::EINVAL);
    // A symlink is removed itself, never its target.
    c.unlink(ROOT_FID, b"out", 0).unwrap();
    c.unlink(ROOT_FID, b"abs", 0).unwrap();
    assert!(!g.root().join("out").exists());
    g.assert_outside_untouched();
    // An empty directory.
    c.unlink(sub, b"inner.txt", 0).unwrap();
    c.unlink(ROOT_FID, b"sub", libc::AT_REMOVEDIR).unwrap();
    assert!(!g.root().join("sub").exists());
    // A fid of an unlinked file still stats.
    c.unlink(ROOT_FID, b"hello.txt", 0).unwrap();
    assert_eq!(c.stat(hello).unwrap().nlink, 0);
    g.join(c);
}

#[test]
fn link_links_the_fid_not_the_name() {
    let (g, c) = Gofer::start(rw());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    // The name the fid was walked by now holds another file.
    fs::rename(g.root().join("hello.txt"), g.root().join("renamed")).unwrap();
    fs::write(g.root().join("hello.txt"), b"impostor").unwrap();
    match c.link(ROOT_FID, b"hard", hello) {
        // flink(2): the inode itself.
        Ok(()) => assert_eq!(fs::read(g.root().join("hard")).unwrap(), b"hello gofer"),
        // By name (no CAP_DAC_READ_SEARCH): the impostor is refused.
        Err(e) => {
            assert_eq!(e.errno(), libc::ESTALE);
            assert!(!g.root().join("hard").exists());
        }
    }
    g.join(c);
}

#[test]
fn rename_keeps_fids_usable() {
    let (g, c) = Gofer::start(rw());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    let sub = walk1(&c, ROOT_FID, b"sub");
    let inner = walk1(&c, sub, b"inner.txt");

    c.rename(ROOT_FID, b"hello.txt", sub, b"moved.txt", 0)
        .unwrap();
    assert!(!g.root().join("hello.txt").exists());
    assert_eq!(
        fs::read(g.root().join("sub/moved.txt")).unwrap(),
        b"hello gofer"
    );
    // The old fid reopens through its new name.
    assert_eq!(read_fid(&c, hello), "hello gofer");
    let mut f = File::from(c.open(hello, libc::O_WRONLY | libc::O_TRUNC).unwrap());
    f.write_all(b"still me").unwrap();
    drop(f);
    assert_eq!(
        fs::read(g.root().join("sub/moved.txt")).unwrap(),
        b"still me"
    );
    // Metadata through the fid, too.
    let attr = c
        .setattr(
            hello,
            &SetAttr {
                size: Some(5),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.size, 5);
    c.fsync(hello, false).unwrap();

    // Renaming a directory keeps both it and its children's fids.
    c.rename(ROOT_FID, b"sub", ROOT_FID, b"sub2", 0).unwrap();
    assert_eq!(read_fid(&c, inner), "inner");
    assert_eq!(read_fid(&c, hello), "still");
    assert_eq!(c.getdents(sub, 0).unwrap().0.len(), 2);
    // And renaming back and forth again through the recorded names.
    c.rename(sub, b"moved.txt", ROOT_FID, b"hello.txt", 0)
        .unwrap();
    assert_eq!(read_fid(&c, hello), "still");
    assert_eq!(fs::read(g.root().join("hello.txt")).unwrap(), b"still");

    // RENAME_NOREPLACE and RENAME_EXCHANGE.
    assert_eq!(
        errno(c.rename(
            ROOT_FID,
            b"hello.txt",
            sub,
            b"inner.txt",
            libc::RENAME_NOREPLACE
        )),
        libc::EEXIST
    );
    c.rename(
        ROOT_FID,
        b"hello.txt",
        sub,
        b"inner.txt",
        libc::RENAME_EXCHANGE,
    )
    .unwrap();
    assert_eq!(fs::read(g.root().join("hello.txt")).unwrap(), b"inner");
    assert_eq!(fs::read(g.root().join("sub2/inner.txt")).unwrap(), b"still");
    assert_eq!(read_fid(&c, hello), "still");
    assert_eq!(read_fid(&c, inner), "inner");
    for flags in [4, 8, u32::MAX] {
        assert_eq!(
            errno(c.rename(ROOT_FID, b"hello.txt", ROOT_FID, b"x", flags)),
            libc::EINVAL
        );
    }

    // Replacing a file: the replaced file's fid can no longer be reopened
    // (its name now holds another file), the moved one can.
    c.rename(sub, b"inner.txt", ROOT_FID, b"hello.txt", 0)
        .unwrap();
    assert_eq!(errno(c.open(inner, libc::O_RDONLY)), libc::ESTALE);
    assert_eq!(read_fid(&c, hello), "still");

    // Onto a symlink out of the root: the link itself is replaced.
    c.rename(ROOT_FID, b"hello.txt", ROOT_FID, b"out", 0)
        .unwrap();
    assert!(lmeta(&g.root().join("out")).is_file());
    g.assert_outside_untouched();
    // A symlink moves as itself.
    c.rename(ROOT_FID, b"abs", sub, b"abs", 0).unwrap();
    assert!(lmeta(&g.root().join("sub2/abs")).file_type().is_symlink());
    g.assert_outside_untouched();
    assert_eq!(
        errno(c.rename(ROOT_FID, b"missing", ROOT_FID, b"x", 0)),
        libc::ENOENT
    );
    g.join(c);
}

#[test]
fn setattr_changes_what_it_is_asked_to() {
    let (g, c) = Gofer::start(rw());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    let host = g.root().join("hello.txt");

    let attr = c
        .setattr(
            hello,
            &SetAttr {
                mode: Some(0o4600 | libc::S_IFDIR),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFREG | 0o4600);
    assert_eq!(lmeta(&host).mode(), libc::S_IFREG | 0o4600);
    assert_eq!(attr, c.stat(hello).unwrap());

    if is_root() {
        let attr = c
            .setattr(
                hello,
                &SetAttr {
                    uid: Some(1000),
                    gid: Some(2000),
                    ..SetAttr::default()
                },
            )
            .unwrap();
        assert_eq!((attr.uid, attr.gid), (1000, 2000));
        let attr = c
            .setattr(
                hello,
                &SetAttr {
                    gid: Some(3000),
                    ..SetAttr::default()
                },
            )
            .unwrap();
        assert_eq!((attr.uid, attr.gid), (1000, 3000));
        assert_eq!((lmeta(&host).uid(), lmeta(&host).gid()), (1000, 3000));
    }

    let attr = c
        .setattr(
            hello,
            &SetAttr {
                size: Some(5),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.size, 5);
    assert_eq!(fs::read(&host).unwrap(), b"hello");
    c.setattr(
        hello,
        &SetAttr {
            size: Some(8),
            ..SetAttr::default()
        },
    )
    .unwrap();
    assert_eq!(fs::read(&host).unwrap(), b"hello\0\0\0");

    let attr = c
        .setattr(
            hello,
            &SetAttr {
                atime: Some((1_000_000_000, 5)),
                mtime: Some((1_500_000_000, 7)),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.atime, (1_000_000_000, 5));
    assert_eq!(attr.mtime, (1_500_000_000, 7));
    let meta = lmeta(&host);
    assert_eq!((meta.atime(), meta.atime_nsec()), (1_000_000_000, 5));
    assert_eq!((meta.mtime(), meta.mtime_nsec()), (1_500_000_000, 7));
    // One time alone leaves the other; UTIME_NOW is understood.
    let attr = c
        .setattr(
            hello,
            &SetAttr {
                atime: Some((0, libc::UTIME_NOW as u32)),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert!(attr.atime.0 > 1_600_000_000);
    assert_eq!(attr.mtime, (1_500_000_000, 7));
    assert_eq!(
        errno(c.setattr(
            hello,
            &SetAttr {
                mtime: Some((0, 1_000_000_000)),
                ..SetAttr::default()
            }
        )),
        libc::EINVAL
    );

    // Directories.
    let sub = walk1(&c, ROOT_FID, b"sub");
    let attr = c
        .setattr(
            sub,
            &SetAttr {
                mode: Some(0o700),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFDIR | 0o700);
    let size = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(sub, &size)), libc::EISDIR);
    let fifo = walk1(&c, ROOT_FID, b"fifo");
    assert_eq!(errno(c.setattr(fifo, &size)), libc::EINVAL);
    let attr = c
        .setattr(
            fifo,
            &SetAttr {
                mode: Some(0o600),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.mode, libc::S_IFIFO | 0o600);
    let huge = SetAttr {
        size: Some(u64::MAX),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(hello, &huge)), libc::EINVAL);

    // Symlinks: no mode (as Linux), no size; owner and times apply to the
    // link itself, never to what it points at.
    let out = walk1(&c, ROOT_FID, b"out");
    let outside_before = fs::metadata(g.outside()).unwrap();
    let chmod = SetAttr {
        mode: Some(0o777),
        uid: Some(4242),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(out, &chmod)), libc::EOPNOTSUPP);
    assert_eq!(errno(c.setattr(out, &size)), libc::EINVAL);
    // Nothing was applied before the refusal.
    assert_ne!(lmeta(&g.root().join("out")).uid(), 4242);
    let attr = c
        .setattr(
            out,
            &SetAttr {
                mtime: Some((1_234_567_890, 0)),
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(attr.mtime, (1_234_567_890, 0));
    assert_eq!(lmeta(&g.root().join("out")).mtime(), 1_234_567_890);
    if is_root() {
        let attr = c
            .setattr(
                out,
                &SetAttr {
                    uid: Some(4242),
                    ..SetAttr::default()
                },
            )
            .unwrap();
        assert_eq!(attr.uid, 4242);
        assert_eq!(lmeta(&g.root().join("out")).uid(), 4242);
    }
    let outside_after = fs::metadata(g.outside()).unwrap();
    assert_eq!(outside_after.mode(), outside_before.mode());
    assert_eq!(outside_after.uid(), outside_before.uid());
    assert_eq!(outside_after.mtime(), outside_before.mtime());
    g.assert_outside_untouched();

    // A name replaced on the host is never truncated through the fid.
    fs::write(g.root().join("other"), b"other").unwrap();
    fs::rename(g.root().join("other"), &host).unwrap();
    let five = SetAttr {
        size: Some(1),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(hello, &five)), libc::ESTALE);
    assert_eq!(fs::read(&host).unwrap(), b"other");
    assert_eq!(errno(c.setattr(9999, &five)), libc::EBADF);
    g.join(c);
}

#[test]
fn fsync_files_and_directories() {
    let (g, c) = Gofer::start(rw());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    c.fsync(hello, false).unwrap();
    c.fsync(hello, true).unwrap();
    c.fsync(ROOT_FID, false).unwrap();
    // Write-only files are flushed through a write-only fd.
    fs::set_permissions(
        g.root().join("hello.txt"),
        fs::Permissions::from_mode(0o200),
    )
    .unwrap();
    c.fsync(hello, true).unwrap();
    for name in [&b"link"[..], b"fifo", b"null"] {
        let fid = walk1(&c, ROOT_FID, name);
        assert_eq!(errno(c.fsync(fid, false)), libc::EINVAL, "{name:?}");
    }
    g.join(c);
}

/// Whether the file system under `dir` stores `user.*` xattrs.
fn user_xattrs_supported(dir: &Path) -> bool {
    let probe = dir.join(".xattr-probe");
    let f = File::create(&probe).unwrap();
    // SAFETY: `f` is open and the name and value are static.
    let rc = unsafe {
        libc::fsetxattr(
            f.as_raw_fd(),
            c"user.probe".as_ptr(),
            c"1".as_ptr().cast(),
            1,
            0,
        )
    };
    fs::remove_file(&probe).unwrap();
    rc == 0
}

#[test]
fn xattrs() {
    let (g, c) = Gofer::start(rw());
    if !user_xattrs_supported(g.tmp.path()) {
        eprintln!("skipped: no user xattrs on this file system");
        return;
    }
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    c.setxattr(hello, b"user.color", b"blue", 0).unwrap();
    assert_eq!(c.getxattr_size(hello, b"user.color").unwrap(), 4);
    assert_eq!(c.getxattr(hello, b"user.color", 64).unwrap(), b"blue");
    assert_eq!(c.getxattr(hello, b"user.color", 4).unwrap(), b"blue");
    assert_eq!(errno(c.getxattr(hello, b"user.color", 3)), libc::ERANGE);
    assert_eq!(errno(c.getxattr(hello, b"user.color", 0)), libc::EINVAL);
    assert_eq!(errno(c.getxattr(hello, b"user.nope", 64)), libc::ENODATA);
    assert_eq!(
        errno(c.setxattr(hello, b"user.color", b"red", libc::XATTR_CREATE)),
        libc::EEXIST
    );
    assert_eq!(
        errno(c.setxattr(hello, b"user.nope", b"red", libc::XATTR_REPLACE)),
        libc::ENODATA
    );
    assert_eq!(errno(c.setxattr(hello, b"user.x", b"v", 4)), libc::EINVAL);
    c.setxattr(hello, b"user.color", b"red", libc::XATTR_REPLACE)
        .unwrap();
    c.setxattr(hello, b"user.empty", b"", libc::XATTR_CREATE)
        .unwrap();
    assert_eq!(c.getxattr(hello, b"user.empty", 8).unwrap(), b"");

    // Names outside user.* and trusted.* are never served, even where
    // the host has them.
    let host = g.root().join("hello.txt");
    let chost = std::ffi::CString::new(host.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: all pointers are live C strings / a 1-byte value.
    let security = unsafe {
        libc::lsetxattr(
            chost.as_ptr(),
            c"security.rvisor".as_ptr(),
            c"s".as_ptr().cast(),
            1,
            0,
        )
    } == 0;
    let mut want = b"user.color\0user.empty\0".to_vec();
    if is_root() {
        c.setxattr(hello, b"trusted.t", b"tt", 0).unwrap();
        assert_eq!(c.getxattr(hello, b"trusted.t", 8).unwrap(), b"tt");
        want.extend_from_slice(b"trusted.t\0");
    }
    let mut names: Vec<_> = c
        .listxattr(hello, 4096)
        .unwrap()
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    names.sort();
    let mut want_names: Vec<_> = want
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    want_names.sort();
    assert_eq!(names, want_names);
    assert_eq!(c.listxattr_size(hello).unwrap(), want.len() as u64);
    assert_eq!(errno(c.listxattr(hello, 3)), libc::ERANGE);
    if security {
        assert_eq!(
            errno(c.getxattr(hello, b"security.rvisor", 8)),
            libc::EOPNOTSUPP
        );
    }
    for (name, want) in [
        (&b"security.selinux"[..], libc::EOPNOTSUPP),
        (b"system.posix_acl_access", libc::EOPNOTSUPP),
        (b"color", libc::EOPNOTSUPP),
        (b"user.", libc::EINVAL),
        (b"user.a\0b", libc::EINVAL),
        (b"", libc::ERANGE),
        (&[b'u'; 256], libc::ERANGE),
    ] {
        assert_eq!(errno(c.getxattr(hello, name, 8)), want, "{name:?}");
        assert_eq!(errno(c.setxattr(hello, name, b"v", 0)), want, "{name:?}");
        assert_eq!(errno(c.removexattr(hello, name)), want, "{name:?}");
    }
    assert_eq!(
        errno(c.setxattr(hello, b"user.big", &vec![0; MAX_XATTR_VALUE_LEN + 1], 0)),
        libc::E2BIG
    );

    c.removexattr(hello, b"user.color").unwrap();
    assert_eq!(errno(c.getxattr(hello, b"user.color", 8)), libc::ENODATA);
    assert_eq!(errno(c.removexattr(hello, b"user.color")), libc::ENODATA);

    // Directories have xattrs, too.
    let sub = walk1(&c, ROOT_FID, b"sub");
    c.setxattr(sub, b"user.d", b"dir", 0).unwrap();
    assert_eq!(c.getxattr(sub, b"user.d", 8).unwrap(), b"dir");

    // Symlinks, FIFOs, devices: no user.* xattrs, as on Linux.
    for name in [&b"out"[..], b"fifo", b"null"] {
        let fid = walk1(&c, ROOT_FID, name);
        assert_eq!(errno(c.getxattr(fid, b"user.x", 8)), libc::ENODATA);
        assert_eq!(errno(c.setxattr(fid, b"user.x", b"v", 0)), libc::EPERM);
        assert_eq!(errno(c.removexattr(fid, b"user.x")), libc::EPERM);
        assert_eq!(errno(c.getxattr(fid, b"trusted.x", 8)), libc::EOPNOTSUPP);
        assert_eq!(c.listxattr_size(fid).unwrap(), 0);
    }
    g.assert_outside_untouched();
    g.join(c);
}

#[test]
fn readonly_refuses_every_write() {
    let (g, c) = Gofer::start(ro());
    let before = tree(&g.root());
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    let (u, gi) = owner();
    assert_eq!(
        errno(c.create(ROOT_FID, b"n", libc::O_RDWR, 0o644, u, gi)),
        libc::EROFS
    );
    assert_eq!(errno(c.mkdir(ROOT_FID, b"n", 0o755, u, gi)), libc::EROFS);
    assert_eq!(
        errno(c.mknod(ROOT_FID, b"n", libc::S_IFIFO | 0o644, u, gi)),
        libc::EROFS
    );
    assert_eq!(errno(c.symlink(ROOT_FID, b"n", b"t", u, gi)), libc::EROFS);
    assert_eq!(errno(c.link(ROOT_FID, b"n", hello)), libc::EROFS);
    assert_eq!(errno(c.unlink(ROOT_FID, b"hello.txt", 0)), libc::EROFS);
    assert_eq!(
        errno(c.rename(ROOT_FID, b"hello.txt", ROOT_FID, b"n", 0)),
        libc::EROFS
    );
    for attr in [
        SetAttr {
            mode: Some(0o777),
            ..SetAttr::default()
        },
        SetAttr {
            uid: Some(0),
            ..SetAttr::default()
        },
        SetAttr {
            size: Some(0),
            ..SetAttr::default()
        },
        SetAttr {
            mtime: Some((0, 0)),
            ..SetAttr::default()
        },
        SetAttr::default(),
    ] {
        assert_eq!(errno(c.setattr(hello, &attr)), libc::EROFS, "{attr:?}");
    }
    assert_eq!(errno(c.setxattr(hello, b"user.x", b"v", 0)), libc::EROFS);
    assert_eq!(errno(c.removexattr(hello, b"user.x")), libc::EROFS);
    // Reading requests still work.
    c.fsync(hello, false).unwrap();
    c.listxattr_size(hello).unwrap();
    assert_eq!(errno(c.getxattr(hello, b"user.x", 8)), libc::ENODATA);
    assert_eq!(tree(&g.root()), before);
    g.join(c);
}

/// Every path, type, mode, size and mtime under `dir`, without following
/// symlinks.
fn tree(dir: &Path) -> Vec<(PathBuf, u32, u64, i64)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = lmeta(&p);
        out.push((p.clone(), m.mode(), m.len(), m.mtime()));
        if m.is_dir() {
            out.extend(tree(&p));
        }
    }
    out.sort();
    out
}

#[test]
fn escapes_are_refused() {
    let (g, c) = Gofer::start(rw());
    let (uid, gid) = owner();
    let hello = walk1(&c, ROOT_FID, b"hello.txt");
    let sub = walk1(&c, ROOT_FID, b"sub");
    let before = tree(&g.root());

    // Hand-crafted requests with bad names: the server's checks.
    let bad: [(&[u8], i32); 8] = [
        (b"..", libc::EINVAL),
        (b".", libc::EINVAL),
        (b"", libc::EINVAL),
        (b"../outside/secret", libc::EINVAL),
        (b"sub/x", libc::EINVAL),
        (b"x\0", libc::EINVAL),
        (b"/tmp", libc::EINVAL),
        (&[b'a'; 256], libc::ENAMETOOLONG),
    ];
    let (g2, sock) = start_raw();
    for (i, (name, want)) in bad.iter().enumerate() {
        let name = name.to_vec();
        let requests = [
            Request::Create {
                dir: ROOT_FID,
                name: name.clone(),
                flags: libc::O_RDWR as u32,
                mode: 0o644,
                uid,
                gid,
            },
            Request::Mkdir {
                dir: ROOT_FID,
                name: name.clone(),
                mode: 0o755,
                uid,
                gid,
            },
            Request::Mknod {
                dir: ROOT_FID,
                name: name.clone(),
                mode: libc::S_IFIFO | 0o644,
                uid,
                gid,
            },
            Request::Symlink {
                dir: ROOT_FID,
                name: name.clone(),
                target: b"t".to_vec(),
                uid,
                gid,
            },
            Request::Link {
                dir: ROOT_FID,
                name: name.clone(),
                target: ROOT_FID,
            },
            Request::Unlink {
                dir: ROOT_FID,
                name: name.clone(),
                flags: 0,
            },
            Request::Rename {
                old_dir: ROOT_FID,
                old_name: name.clone(),
                new_dir: ROOT_FID,
                new_name: b"x".to_vec(),
                flags: 0,
            },
            Request::Rename {
                old_dir: ROOT_FID,
                old_name: b"hello.txt".to_vec(),
                new_dir: ROOT_FID,
                new_name: name.clone(),
                flags: 0,
            },
        ];
        for (j, request) in requests.into_iter().enumerate() {
            let tag = (i * 100 + j) as u64 + 1;
            let r = raw_call(&sock, tag, request.clone());
            assert_eq!(r.tag, tag);
            assert_eq!(r.response, Response::Error { errno: *want }, "{request:?}");
        }
    }
    drop(sock);
    g2.join_raw();

    // Directory fids that are symlinks (out of the root, to /, to ..) are
    // not directories to the gofer: nothing is made or removed through
    // them.
    let mut marker = format!("rvisor-gofer-escape-{}", std::process::id()).into_bytes();
    for link in [&b"out"[..], b"abs", b"escape", b"up"] {
        let d = walk1(&c, ROOT_FID, link);
        assert_eq!(
            errno(c.create(d, &marker, libc::O_RDWR, 0o644, uid, gid)),
            libc::ENOTDIR
        );
        assert_eq!(errno(c.mkdir(d, &marker, 0o755, uid, gid)), libc::ENOTDIR);
        assert_eq!(
            errno(c.mknod(d, &marker, libc::S_IFIFO | 0o644, uid, gid)),
            libc::ENOTDIR
        );
        assert_eq!(errno(c.symlink(d, &marker, b"t", uid, gid)), libc::ENOTDIR);
        assert_eq!(errno(c.link(d, &marker, hello)), libc::ENOTDIR);
        assert_eq!(errno(c.unlink(d, b"secret", 0)), libc::ENOTDIR);
        assert_eq!(
            errno(c.rename(d, b"secret", ROOT_FID, b"stolen", 0)),
            libc::ENOTDIR
        );
        assert_eq!(
            errno(c.rename(ROOT_FID, b"hello.txt", d, &marker, 0)),
            libc::ENOTDIR
        );
        // Walking through it stops at the link, so no fid of the target
        // directory can be had to work around this.
        assert_eq!(c.walk(ROOT_FID, &[link, b"secret"]).unwrap().len(), 1);
    }
    g.assert_outside_untouched();
    marker.insert(0, b'/');
    assert!(!Path::new(std::str::from_utf8(&marker).unwrap()).exists());
    assert!(!g.tmp.path().join("stolen").exists());
    // Nothing changed in the export either.
    assert_eq!(tree(&g.root()), before);

    // Unknown fids.
    assert_eq!(
        errno(c.create(4242, b"x", libc::O_RDWR, 0o644, uid, gid)),
        libc::EBADF
    );
    assert_eq!(errno(c.link(sub, b"x", 4242)), libc::EBADF);
    assert_eq!(
        errno(c.rename(ROOT_FID, b"hello.txt", 4242, b"x", 0)),
        libc::EBADF
    );
    assert_eq!(errno(c.fsync(4242, false)), libc::EBADF);
    assert_eq!(errno(c.getxattr(4242, b"user.x", 8)), libc::EBADF);
    g.join(c);
}

/// A server on a fresh tree, for hand-crafted packets.
/// (server thread, its tree, kept until the server is done)
struct RawGofer(
    Option<JoinHandle<Result<(), GoferError>>>,
    #[allow(dead_code)] tempfile::TempDir,
);

impl RawGofer {
    fn join_raw(mut self) {
        self.0.take().unwrap().join().unwrap().unwrap();
    }
}

fn start_raw() -> (RawGofer, OwnedFd) {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path());
    let (client_end, server_end) = seqpacket_pair();
    let root = open_root(dir.path());
    let thread = std::thread::spawn(move || serve(server_end, root, rw()));
    (RawGofer(Some(thread), dir), client_end)
}

#[test]
fn client_rejects_malformed_write_replies() {
    let (client_end, server_end) = seqpacket_pair();
    let fake = std::thread::spawn(move || {
        let reply = |tag: u64, response: Response, fd: Option<i32>| {
            send_raw(
                &server_end,
                &encode(&ResponseMessage { tag, response }).unwrap(),
                fd,
            );
        };
        let devnull = File::open("/dev/null").unwrap();
        let attr = {
            let st = fs::metadata("/").unwrap();
            rvisor_gofer::protocol::FileAttr {
                ino: st.ino(),
                dev: st.dev(),
                mode: st.mode(),
                nlink: st.nlink(),
                uid: 0,
                gid: 0,
                rdev: 0,
                size: 0,
                blksize: 0,
                blocks: 0,
                atime: (0, 0),
                mtime: (0, 0),
                ctime: (0, 0),
            }
        };
        let mut buf = vec![0u8; 80_000];
        let mut n = 0;
        loop {
            let r = nix::sys::socket::recv(
                server_end.as_raw_fd(),
                &mut buf,
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
            if r == 0 {
                break;
            }
            n += 1;
            match n {
                // Created without its fd.
                1 => reply(
                    1,
                    Response::Created {
                        fid: 5,
                        attr: attr.clone(),
                    },
                    None,
                ),
                // NewNode with an fd.
                2 => reply(
                    2,
                    Response::NewNode {
                        fid: 5,
                        attr: attr.clone(),
                    },
                    Some(devnull.as_raw_fd()),
                ),
                // More xattr data than asked for.
                3 => reply(3, Response::Xattr(vec![0; 9]), None),
                // A length where data was asked for.
                _ => reply(n, Response::XattrLen(3), None),
            }
        }
    });
    let c = GoferClient::new(client_end);
    assert!(matches!(
        c.create(ROOT_FID, b"x", libc::O_RDWR, 0o644, 0, 0),
        Err(GoferError::Protocol(_))
    ));
    assert!(matches!(
        c.mkdir(ROOT_FID, b"x", 0o755, 0, 0),
        Err(GoferError::Protocol(_))
    ));
    assert!(matches!(
        c.getxattr(ROOT_FID, b"user.x", 8),
        Err(GoferError::Protocol(_))
    ));
    assert!(matches!(
        c.listxattr(ROOT_FID, 8),
        Err(GoferError::Protocol(_))
    ));
    drop(c);
    fake.join().unwrap();
}
