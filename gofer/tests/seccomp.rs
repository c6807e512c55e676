//! The seccomp policy, tested in forked children (the filter cannot be
//! removed once installed). One test per binary keeps the parent
//! single-threaded apart from libtest's idle main thread.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use common::*;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult, Pid};
use rvisor_gofer::client::GoferClient;
use rvisor_gofer::confine::install_seccomp;
use rvisor_gofer::protocol::{Response, SetAttr, ROOT_FID};
use rvisor_gofer::server::{serve, ServerOptions};

/// Forks; `None` in the child, which must end with [`child_exit`].
fn fork_test() -> Option<Pid> {
    // SAFETY: the child only runs test code and then `_exit`s (see
    // `child_exit`), never returning into the harness; glibc keeps malloc
    // usable after fork, and no other thread of this process holds a lock
    // the child needs (the harness runs this binary's single test alone).
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => None,
        ForkResult::Parent { child } => Some(child),
    }
}

/// Runs `body` in the forked child and exits with its result (101 if it
/// panics).
fn child_exit(body: impl FnOnce() -> i32) -> ! {
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
    // SAFETY: _exit is async-signal-safe and ends the child at once.
    unsafe { libc::_exit(code) }
}

fn exercise(c: &GoferClient) {
    assert!(c.stat(ROOT_FID).unwrap().is_dir());
    let walked = c.walk(ROOT_FID, &[b"sub", b"inner.txt"]).unwrap();
    let mut s = String::new();
    File::from(c.open(walked[1].0, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "inner");
    let mut f = File::from(c.open(walked[1].0, libc::O_WRONLY | libc::O_TRUNC).unwrap());
    f.write_all(b"written").unwrap();
    let many = c.walk(ROOT_FID, &[b"many"]).unwrap()[0].0;
    let (mut n, mut off) = (0, 0);
    loop {
        let (entries, next, eof) = c.getdents(many, off).unwrap();
        n += entries.len();
        if eof {
            break;
        }
        off = next;
    }
    assert_eq!(n, MANY);
    let link = c.walk(ROOT_FID, &[b"escape", b"etc"]).unwrap()[0].0;
    assert_eq!(c.readlink(link).unwrap(), b"/");
    assert_eq!(
        c.open(link, libc::O_RDONLY).unwrap_err().errno(),
        libc::ELOOP
    );
    let fifo = c.walk(ROOT_FID, &[b"fifo"]).unwrap()[0].0;
    drop(c.open(fifo, libc::O_RDONLY).unwrap());
    assert!(c.statfs(ROOT_FID).unwrap().bsize > 0);
    assert_eq!(
        c.walk(ROOT_FID, &[b"nope"]).unwrap_err().errno(),
        libc::ENOENT
    );
    for (fid, _) in walked {
        c.clunk(fid).unwrap();
    }
    exercise_writes(c);
}

/// Every write request, successes and refusals, so that each system call
/// they need is made under the filter.
fn exercise_writes(c: &GoferClient) {
    let (uid, gid) = (1234, 5678);
    // The child inherited the test's umask, so modes need correcting
    // (fchmod for Create, fchmodat2 for Mkdir/Mknod).
    let (file, attr, fd) = c
        .create(ROOT_FID, b"new", libc::O_RDWR, 0o666, uid, gid)
        .unwrap();
    assert_eq!(attr.mode & 0o7777, 0o666);
    File::from(fd).write_all(b"0123456789").unwrap();
    assert_eq!(
        c.create(ROOT_FID, b"new", libc::O_RDWR, 0o666, uid, gid)
            .unwrap_err()
            .errno(),
        libc::EEXIST
    );
    let (dir, attr) = c.mkdir(ROOT_FID, b"dir", 0o777, uid, gid).unwrap();
    assert_eq!(attr.mode & 0o7777, 0o777);
    let (fifo, _) = c
        .mknod(dir, b"fifo", libc::S_IFIFO | 0o666, uid, gid)
        .unwrap();
    let (sl, _) = c.symlink(dir, b"sl", b"/etc/passwd", uid, gid).unwrap();
    assert_eq!(c.readlink(sl).unwrap(), b"/etc/passwd");
    c.link(dir, b"hard", file).unwrap();
    c.rename(dir, b"hard", ROOT_FID, b"hard2", 0).unwrap();
    c.rename(ROOT_FID, b"hard2", dir, b"sl", libc::RENAME_EXCHANGE)
        .unwrap();
    let attr = c
        .setattr(
            file,
            &SetAttr {
                mode: Some(0o600),
                uid: Some(42),
                gid: Some(43),
                size: Some(4),
                atime: Some((1, 2)),
                mtime: Some((3, 4)),
            },
        )
        .unwrap();
    assert_eq!(
        (attr.mode & 0o7777, attr.uid, attr.size, attr.mtime),
        (0o600, 42, 4, (3, 4))
    );
    assert_eq!(
        c.setattr(
            sl,
            &SetAttr {
                mode: Some(0o600),
                ..SetAttr::default()
            }
        )
        .unwrap_err()
        .errno(),
        libc::EOPNOTSUPP
    );
    c.setattr(
        fifo,
        &SetAttr {
            mode: Some(0o600),
            ..SetAttr::default()
        },
    )
    .unwrap();
    c.fsync(file, false).unwrap();
    c.fsync(file, true).unwrap();
    c.fsync(dir, false).unwrap();
    c.setxattr(file, b"user.k", b"v", 0).unwrap();
    assert_eq!(c.getxattr_size(file, b"user.k").unwrap(), 1);
    assert_eq!(c.getxattr(file, b"user.k", 8).unwrap(), b"v");
    assert_eq!(c.listxattr(file, 64).unwrap(), b"user.k\0");
    c.removexattr(file, b"user.k").unwrap();
    c.unlink(ROOT_FID, b"new", 0).unwrap();
    c.unlink(dir, b"fifo", 0).unwrap();
    c.unlink(dir, b"sl", 0).unwrap();
    c.unlink(ROOT_FID, b"hard2", 0).unwrap();
    c.unlink(ROOT_FID, b"dir", libc::AT_REMOVEDIR).unwrap();
    // Refused requests fail cleanly, too.
    assert_eq!(
        c.mknod(ROOT_FID, b"dev", libc::S_IFCHR | 0o666, uid, gid)
            .unwrap_err()
            .errno(),
        libc::EPERM
    );
    for fid in [file, dir, fifo, sl] {
        c.clunk(fid).unwrap();
    }
}

#[test]
fn serve_runs_under_the_filter_and_anything_else_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path());

    // A filtered child serves a full session, reports that serve()
    // returned cleanly, then tries to open an AF_INET socket.
    let (client_end, server_end) = seqpacket_pair();
    let (report_r, report_w) = pipe().unwrap();
    let root = open_root(dir.path());
    let Some(child) = fork_test() else {
        drop(client_end);
        drop(report_r);
        child_exit(move || {
            if install_seccomp().is_err() {
                return 2;
            }
            let served = serve(server_end, root, ServerOptions { readonly: false });
            let mut report = File::from(report_w);
            let _ = report.write_all(if served.is_ok() { b"ok" } else { b"er" });
            // SAFETY: plain socket(2) call; not allowed by the filter.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            if fd >= 0 {
                return 3;
            }
            4
        })
    };
    drop(server_end);
    drop(report_w);
    drop(root);

    exercise(&GoferClient::new(client_end));
    let mut report = String::new();
    File::from(report_r).read_to_string(&mut report).unwrap();
    let status = waitpid(child, None).unwrap();
    assert_eq!(
        report, "ok",
        "serve() under seccomp failed; child ended {status:?}"
    );
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
        "socket(AF_INET) must kill the gofer with SIGSYS, got {status:?}"
    );

    // Hostile packets are answered (not fatal) under the filter, too.
    let (client_end, server_end) = seqpacket_pair();
    let root = open_root(dir.path());
    let Some(child) = fork_test() else {
        drop(client_end);
        child_exit(move || {
            if install_seccomp().is_err() {
                return 2;
            }
            match serve(server_end, root, ServerOptions { readonly: true }) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        })
    };
    drop(server_end);
    drop(root);
    exercise_garbage(client_end);
    assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));

    // openat may create only with O_EXCL (Create), never plain O_CREAT
    // (which could open an existing file through a symlink's target) or
    // O_TMPFILE.
    let cdir = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
    for (flags, allowed) in [
        (libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, true),
        (libc::O_CREAT | libc::O_WRONLY, false),
        (libc::O_CREAT | libc::O_TRUNC | libc::O_RDWR, false),
        (libc::O_TMPFILE | libc::O_RDWR, false),
        (libc::O_TMPFILE | libc::O_EXCL | libc::O_RDWR, false),
    ] {
        let Some(child) = fork_test() else {
            let cdir = cdir.clone();
            child_exit(move || {
                if install_seccomp().is_err() {
                    return 2;
                }
                // SAFETY: plain openat(2) on a live C string; the result
                // is not used.
                let fd = unsafe {
                    libc::openat(
                        libc::AT_FDCWD,
                        cdir.as_ptr(),
                        libc::O_DIRECTORY | libc::O_PATH,
                    )
                };
                // SAFETY: as above, relative to the fd just opened.
                unsafe { libc::openat(fd, c"created-in-child".as_ptr(), flags, 0o600) };
                0
            })
        };
        let status = waitpid(child, None).unwrap();
        if allowed {
            assert_eq!(status, WaitStatus::Exited(child, 0), "flags {flags:#o}");
        } else {
            assert!(
                matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
                "openat flags {flags:#o} must be killed, got {status:?}"
            );
        }
        let _ = std::fs::remove_file(dir.path().join("created-in-child"));
    }
}

fn exercise_garbage(sock: OwnedFd) {
    send_raw(&sock, &[0x05, 0xff, 0xff, 0xff], None);
    assert_eq!(
        recv_reply(&sock).0.response,
        Response::Error {
            errno: libc::EINVAL
        }
    );
    send_raw(&sock, &[], None);
    assert_eq!(
        recv_reply(&sock).0.response,
        Response::Error {
            errno: libc::EINVAL
        }
    );
    send_raw(&sock, &vec![1u8; 100_000], None);
    assert_eq!(
        recv_reply(&sock).0.response,
        Response::Error {
            errno: libc::EMSGSIZE
        }
    );
    let c = GoferClient::new(sock);
    drop(c.open(ROOT_FID, libc::O_RDONLY).unwrap());
    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    assert_eq!(
        c.open(hello, libc::O_WRONLY).unwrap_err().errno(),
        libc::EROFS
    );
}
