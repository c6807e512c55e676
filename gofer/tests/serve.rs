//! End-to-end tests: `serve` on a thread over a socketpair, driven by
//! `GoferClient` and by hand-crafted packets.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::thread::JoinHandle;

use common::*;
use rvisor_gofer::client::GoferClient;
use rvisor_gofer::protocol::{
    encode, Request, RequestMessage, Response, MAX_MESSAGE_SIZE, ROOT_FID,
};
use rvisor_gofer::server::{serve, ServerOptions};
use rvisor_gofer::GoferError;

struct Gofer {
    dir: tempfile::TempDir,
    thread: Option<JoinHandle<Result<(), GoferError>>>,
}

impl Gofer {
    /// Starts a server over a fresh tree; returns it and the client end.
    fn start(opts: ServerOptions) -> (Gofer, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        populate(dir.path());
        let (client_end, server_end) = seqpacket_pair();
        let root = open_root(dir.path());
        let thread = std::thread::spawn(move || serve(server_end, root, opts));
        (
            Gofer {
                dir,
                thread: Some(thread),
            },
            client_end,
        )
    }

    fn client(opts: ServerOptions) -> (Gofer, GoferClient) {
        let (g, sock) = Self::start(opts);
        (g, GoferClient::new(sock))
    }

    /// Waits for the server to finish (the client end must be closed).
    fn join(mut self) -> Result<(), GoferError> {
        self.thread.take().unwrap().join().unwrap()
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

#[test]
fn walk_stat_open_read() {
    let (g, c) = Gofer::client(rw());
    let root = c.stat(ROOT_FID).unwrap();
    assert!(root.is_dir());

    let walked = c.walk(ROOT_FID, &[b"sub", b"inner.txt"]).unwrap();
    assert_eq!(walked.len(), 2);
    assert!(walked[0].1.is_dir());
    let (fid, attr) = &walked[1];
    assert_eq!(attr.size, 5);
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFREG);
    assert_ne!(walked[0].0, walked[1].0);
    assert_eq!(&c.stat(*fid).unwrap(), attr);

    let fd = c.open(*fid, libc::O_RDONLY).unwrap();
    let flags = nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .unwrap();
    assert_ne!(
        flags & libc::FD_CLOEXEC,
        0,
        "donated fd must be close-on-exec"
    );
    let fl = nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        nix::fcntl::FcntlArg::F_GETFL,
    )
    .unwrap();
    assert_eq!(
        fl & libc::O_NONBLOCK,
        0,
        "O_NONBLOCK must not leak into regular files"
    );
    let mut s = String::new();
    File::from(fd).read_to_string(&mut s).unwrap();
    assert_eq!(s, "inner");

    // Stat of the same file by another fid agrees.
    let again = c.walk(walked[0].0, &[b"inner.txt"]).unwrap();
    assert_eq!(again[0].1.ino, attr.ino);

    let st = c.statfs(ROOT_FID).unwrap();
    assert!(st.bsize > 0 && st.namelen >= 255);

    drop(c);
    g.join().unwrap();
}

#[test]
fn walk_stops_at_missing_component() {
    let (_g, c) = Gofer::client(rw());
    let walked = c.walk(ROOT_FID, &[b"sub", b"missing", b"x"]).unwrap();
    assert_eq!(walked.len(), 1);
    assert!(walked[0].1.is_dir());
    assert_eq!(errno(c.walk(ROOT_FID, &[b"missing"])), libc::ENOENT);
    assert_eq!(errno(c.walk(ROOT_FID, &[b"missing", b"sub"])), libc::ENOENT);
    // Through a regular file: not a directory, and no fids are leaked.
    assert_eq!(
        errno(c.walk(ROOT_FID, &[b"hello.txt", b"x"])),
        libc::ENOTDIR
    );
    // Zero names walks nothing.
    assert!(c.walk(ROOT_FID, &[]).unwrap().is_empty());
}

#[test]
fn refuses_escaping_names() {
    let (_g, sock) = Gofer::start(rw());
    // Hand-crafted requests, so the server's checks (not the client's) are
    // what is exercised.
    let bad: [(&[u8], i32); 8] = [
        (b"..", libc::EINVAL),
        (b".", libc::EINVAL),
        (b"", libc::EINVAL),
        (b"/etc", libc::EINVAL),
        (b"sub/inner.txt", libc::EINVAL),
        (b"sub\0", libc::EINVAL),
        (b"/", libc::EINVAL),
        (&[b'a'; 256], libc::ENAMETOOLONG),
    ];
    for (i, (name, want)) in bad.iter().enumerate() {
        let tag = 100 + i as u64;
        let reply = raw_call(
            &sock,
            tag,
            Request::Walk {
                fid: ROOT_FID,
                names: vec![b"sub".to_vec(), name.to_vec()],
            },
        );
        assert_eq!(reply.tag, tag);
        assert_eq!(reply.response, Response::Error { errno: *want }, "{name:?}");
    }
    // Too many components.
    let reply = raw_call(
        &sock,
        1,
        Request::Walk {
            fid: ROOT_FID,
            names: vec![b"sub".to_vec(); 65],
        },
    );
    assert_eq!(
        reply.response,
        Response::Error {
            errno: libc::EINVAL
        }
    );

    // The client refuses the same names before sending.
    let c = GoferClient::new(sock);
    assert_eq!(errno(c.walk(ROOT_FID, &[b".."])), libc::EINVAL);
    assert_eq!(errno(c.walk(ROOT_FID, &[b"/etc"])), libc::EINVAL);
    assert_eq!(errno(c.walk(ROOT_FID, &[b"a/b"])), libc::EINVAL);
    assert_eq!(errno(c.walk(ROOT_FID, &[&[b'a'; 256]])), libc::ENAMETOOLONG);
}

#[test]
fn symlinks_are_never_followed() {
    let (_g, c) = Gofer::client(rw());
    for name in [&b"escape"[..], b"up", b"link"] {
        // Walking through the link stops at the link itself.
        let walked = c.walk(ROOT_FID, &[name, b"etc", b"passwd"]).unwrap();
        assert_eq!(walked.len(), 1, "{name:?}");
        let (fid, attr) = &walked[0];
        assert!(attr.is_symlink());
        assert_eq!(errno(c.open(*fid, libc::O_RDONLY)), libc::ELOOP);
        assert_eq!(errno(c.getdents(*fid, 0)), libc::ENOTDIR);
        assert_eq!(errno(c.walk(*fid, &[b"etc"])), libc::ENOTDIR);
    }
    let walked = c.walk(ROOT_FID, &[b"escape"]).unwrap();
    assert_eq!(c.readlink(walked[0].0).unwrap(), b"/");
    let walked = c.walk(ROOT_FID, &[b"link"]).unwrap();
    assert_eq!(c.readlink(walked[0].0).unwrap(), b"hello.txt");
    // Readlink of a non-symlink is EINVAL, as readlink(2).
    assert_eq!(errno(c.readlink(ROOT_FID)), libc::EINVAL);
}

#[test]
fn getdents_lists_a_large_directory_in_batches() {
    let (_g, c) = Gofer::client(rw());
    let many = c.walk(ROOT_FID, &[b"many"]).unwrap()[0].0;
    let mut names = HashSet::new();
    let mut offset = 0;
    let mut batches = 0;
    loop {
        let (entries, next, eof) = c.getdents(many, offset).unwrap();
        batches += 1;
        for e in entries {
            assert_ne!(e.name, b".");
            assert_ne!(e.name, b"..");
            assert_eq!(e.dtype, libc::DT_REG);
            assert!(names.insert(e.name), "duplicate entry");
        }
        if eof {
            break;
        }
        assert_ne!(next, offset, "no progress");
        offset = next;
        assert!(batches < 100);
    }
    assert_eq!(names.len(), MANY);
    for i in 0..MANY {
        assert!(names.contains(many_name(i).as_bytes()));
    }
    assert!(batches >= 3, "expected several batches, got {batches}");

    // The root lists exactly the fixture, without . and ..
    let (entries, _, eof) = c.getdents(ROOT_FID, 0).unwrap();
    assert!(eof);
    let mut root: Vec<_> = entries
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect();
    root.sort();
    assert_eq!(
        root,
        [
            "escape",
            "fifo",
            "hello.txt",
            "link",
            "many",
            "null",
            "sub",
            "up"
        ]
    );
    // Not a directory.
    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    assert_eq!(errno(c.getdents(hello, 0)), libc::ENOTDIR);
    // A cookie that is not a valid offset is refused, not a panic.
    assert_eq!(errno(c.getdents(many, u64::MAX)), libc::EINVAL);
}

#[test]
fn hostile_packets_get_error_replies() {
    let (g, sock) = Gofer::start(rw());
    let ok = |sock: &OwnedFd, tag| {
        let r = raw_call(sock, tag, Request::Stat { fid: ROOT_FID });
        assert_eq!(r.tag, tag);
        assert!(matches!(r.response, Response::Attr(_)), "{r:?}");
    };

    // Garbage: the tag varint is readable, the rest is not.
    send_raw(&sock, &[0x07, 0xff, 0xff, 0xff, 0xff, 0x01], None);
    let (r, fds) = recv_reply(&sock);
    assert_eq!(
        (r.tag, r.response),
        (
            7,
            Response::Error {
                errno: libc::EINVAL
            }
        )
    );
    assert!(fds.is_empty());
    ok(&sock, 8);

    // Unknown request variant (a future message).
    send_raw(&sock, &[0x09, 0x7f, 0x00], None);
    let (r, _) = recv_reply(&sock);
    assert_eq!(
        (r.tag, r.response),
        (
            9,
            Response::Error {
                errno: libc::EINVAL
            }
        )
    );

    // Trailing bytes after a valid request.
    let mut bytes = encode(&RequestMessage {
        tag: 10,
        request: Request::Stat { fid: ROOT_FID },
    })
    .unwrap();
    bytes.extend_from_slice(b"junk");
    send_raw(&sock, &bytes, None);
    assert_eq!(
        recv_reply(&sock).0.response,
        Response::Error {
            errno: libc::EINVAL
        }
    );

    // A walk claiming 2^32 names of 2^32 bytes.
    send_raw(
        &sock,
        &[0x0b, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
        None,
    );
    assert_eq!(
        recv_reply(&sock).0.response,
        Response::Error {
            errno: libc::EINVAL
        }
    );

    // An empty packet.
    send_raw(&sock, &[], None);
    let (r, _) = recv_reply(&sock);
    assert_eq!(
        (r.tag, r.response),
        (
            0,
            Response::Error {
                errno: libc::EINVAL
            }
        )
    );
    ok(&sock, 12);

    // An oversized packet.
    let mut big = vec![0u8; MAX_MESSAGE_SIZE + 100];
    big[0] = 13;
    send_raw(&sock, &big, None);
    let (r, _) = recv_reply(&sock);
    assert_eq!(
        (r.tag, r.response),
        (
            13,
            Response::Error {
                errno: libc::EMSGSIZE
            }
        )
    );
    ok(&sock, 14);

    // An fd pushed at the server is discarded, and the request served.
    let devnull = File::open("/dev/null").unwrap();
    let bytes = encode(&RequestMessage {
        tag: 15,
        request: Request::Stat { fid: ROOT_FID },
    })
    .unwrap();
    send_raw(
        &sock,
        &bytes,
        Some(std::os::fd::AsRawFd::as_raw_fd(&devnull)),
    );
    assert!(matches!(recv_reply(&sock).0.response, Response::Attr(_)));

    // Unknown fids and bad open flags.
    for (tag, request, want) in [
        (16, Request::Stat { fid: 12345 }, libc::EBADF),
        (17, Request::Clunk { fid: 12345 }, libc::EBADF),
        (18, Request::Clunk { fid: ROOT_FID }, libc::EINVAL),
        (
            19,
            Request::Open {
                fid: ROOT_FID,
                flags: u32::MAX,
            },
            libc::EINVAL,
        ),
        (
            20,
            Request::Open {
                fid: ROOT_FID,
                flags: libc::O_ACCMODE as u32,
            },
            libc::EINVAL,
        ),
        (
            21,
            Request::Open {
                fid: ROOT_FID,
                flags: libc::O_PATH as u32,
            },
            libc::EINVAL,
        ),
        (
            22,
            Request::Walk {
                fid: 999,
                names: vec![b"sub".to_vec()],
            },
            libc::EBADF,
        ),
    ] {
        let r = raw_call(&sock, tag, request);
        assert_eq!((r.tag, r.response), (tag, Response::Error { errno: want }));
    }

    ok(&sock, 23);
    drop(sock);
    g.join().unwrap();
}

#[test]
fn readonly_refuses_writes() {
    let (_g, c) = Gofer::client(ro());
    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    for flags in [
        libc::O_WRONLY,
        libc::O_RDWR,
        libc::O_RDONLY | libc::O_TRUNC,
        libc::O_RDONLY | libc::O_CREAT,
        libc::O_WRONLY | libc::O_APPEND,
        libc::O_TMPFILE | libc::O_RDWR,
    ] {
        assert_eq!(errno(c.open(hello, flags)), libc::EROFS, "flags {flags:#o}");
    }
    let mut s = String::new();
    File::from(c.open(hello, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello gofer");
}

#[test]
fn read_write_open() {
    let (g, c) = Gofer::client(rw());
    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    // Open never creates files; Request::Create does (tests/write.rs).
    assert_eq!(
        errno(c.open(hello, libc::O_RDWR | libc::O_CREAT)),
        libc::EOPNOTSUPP
    );
    let mut f = File::from(c.open(hello, libc::O_WRONLY | libc::O_TRUNC).unwrap());
    f.write_all(b"rewritten").unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(g.dir.path().join("hello.txt")).unwrap(),
        b"rewritten"
    );
    assert_eq!(c.stat(hello).unwrap().size, 9);

    // Directories: readable, never writable.
    let sub = c.walk(ROOT_FID, &[b"sub"]).unwrap()[0].0;
    assert_eq!(errno(c.open(sub, libc::O_WRONLY)), libc::EISDIR);
    let dirfd = c.open(sub, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&dirfd)).unwrap();
    assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFDIR);
    assert!(c.open(ROOT_FID, libc::O_RDONLY).is_ok());
    // O_DIRECTORY on a file.
    assert_eq!(
        errno(c.open(hello, libc::O_RDONLY | libc::O_DIRECTORY)),
        libc::ENOTDIR
    );
}

#[test]
fn special_files() {
    let (_g, c) = Gofer::client(rw());
    // A FIFO with no writer must not block the gofer: it comes back
    // non-blocking.
    let fifo = c.walk(ROOT_FID, &[b"fifo"]).unwrap()[0].0;
    let fd = c.open(fifo, libc::O_RDONLY).unwrap();
    let fl = nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        nix::fcntl::FcntlArg::F_GETFL,
    )
    .unwrap();
    assert_ne!(fl & libc::O_NONBLOCK, 0);
    // A FIFO without a reader cannot be opened for writing non-blockingly.
    drop(fd);
    assert_eq!(errno(c.open(fifo, libc::O_WRONLY)), libc::ENXIO);
    // Host device nodes are never handed out.
    let null = c.walk(ROOT_FID, &[b"null"]).unwrap()[0].0;
    assert_eq!(errno(c.open(null, libc::O_RDONLY)), libc::EPERM);
}

#[test]
fn clunk_and_fid_lifetimes() {
    let (g, c) = Gofer::client(rw());
    let sub = c.walk(ROOT_FID, &[b"sub"]).unwrap()[0].0;
    let inner = c.walk(sub, &[b"inner.txt"]).unwrap()[0].0;
    // The child stays usable (its parent fd is kept) after the parent fid
    // is clunked.
    c.clunk(sub).unwrap();
    assert_eq!(errno(c.stat(sub)), libc::EBADF);
    assert_eq!(errno(c.clunk(sub)), libc::EBADF);
    let mut s = String::new();
    File::from(c.open(inner, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "inner");
    c.clunk(inner).unwrap();
    assert_eq!(errno(c.clunk(ROOT_FID)), libc::EINVAL);
    assert!(c.stat(ROOT_FID).is_ok());

    // A name replaced on the host after the walk is not opened blindly.
    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    std::fs::write(g.dir.path().join("other"), b"other").unwrap();
    std::fs::rename(g.dir.path().join("other"), g.dir.path().join("hello.txt")).unwrap();
    assert_eq!(errno(c.open(hello, libc::O_RDONLY)), libc::ESTALE);
}

#[test]
fn client_is_shareable_between_threads() {
    let (g, c) = Gofer::client(rw());
    let c = Arc::new(c);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let walked = c.walk(ROOT_FID, &[b"sub", b"inner.txt"]).unwrap();
                    assert_eq!(walked[1].1.size, 5);
                    for (fid, _) in walked {
                        c.clunk(fid).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(c);
    g.join().unwrap();
}

#[test]
fn client_reports_a_dead_server() {
    let (client_end, server_end) = seqpacket_pair();
    drop(server_end);
    let c = GoferClient::new(client_end);
    let err = c.stat(ROOT_FID).unwrap_err();
    assert!(matches!(err, GoferError::Closed), "{err:?}");
    assert_eq!(err.errno(), libc::EIO);
}

#[test]
fn client_rejects_hostile_replies() {
    use rvisor_gofer::protocol::ResponseMessage;
    let (client_end, server_end) = seqpacket_pair();
    let fake = std::thread::spawn(move || {
        let reply = |sock: &OwnedFd, tag: u64, response: Response, fd: Option<i32>| {
            send_raw(
                sock,
                &encode(&ResponseMessage { tag, response }).unwrap(),
                fd,
            );
        };
        let devnull = File::open("/dev/null").unwrap();
        let null = Some(std::os::fd::AsRawFd::as_raw_fd(&devnull));
        // 1: wrong reply type. 2: an fd with a Stat reply. 3: Opened with
        // no fd. 4: a future tag. 5: a stale tag, then the real reply.
        // 6: negative errno. 7: garbage.
        let mut buf = vec![0u8; 70000];
        let mut n = 0;
        loop {
            let r = nix::sys::socket::recv(
                std::os::fd::AsRawFd::as_raw_fd(&server_end),
                &mut buf,
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
            if r == 0 {
                break;
            }
            n += 1;
            match n {
                1 => reply(&server_end, 1, Response::Ok, None),
                2 => reply(&server_end, 2, Response::Link(b"x".to_vec()), null),
                3 => reply(&server_end, 3, Response::Opened, None),
                4 => reply(&server_end, 99, Response::Ok, None),
                5 => {
                    reply(&server_end, 1, Response::Ok, None);
                    reply(&server_end, 5, Response::Link(b"y".to_vec()), None);
                }
                6 => reply(&server_end, 6, Response::Error { errno: -5 }, None),
                _ => send_raw(&server_end, &[0x07, 0xff, 0xff], None),
            }
        }
    });
    let c = GoferClient::new(client_end);
    assert!(matches!(c.stat(ROOT_FID), Err(GoferError::Protocol(_))));
    assert!(matches!(c.readlink(ROOT_FID), Err(GoferError::Protocol(_))));
    assert!(matches!(c.open(ROOT_FID, 0), Err(GoferError::Protocol(_))));
    assert!(matches!(c.clunk(1), Err(GoferError::Protocol(_))));
    assert_eq!(c.readlink(ROOT_FID).unwrap(), b"y");
    assert!(matches!(c.clunk(1), Err(GoferError::Protocol(_))));
    let err = c.clunk(1).unwrap_err();
    assert!(matches!(err, GoferError::Codec(_)), "{err:?}");
    assert_eq!(err.errno(), libc::EIO);
    drop(c);
    fake.join().unwrap();
}
