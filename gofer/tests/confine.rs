//! `confine` in a forked child: private mount namespace rooted at the
//! export, no_new_privs, seccomp — and the gofer still serves.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;

use common::*;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use rvisor_gofer::client::GoferClient;
use rvisor_gofer::confine::confine;
use rvisor_gofer::protocol::ROOT_FID;
use rvisor_gofer::server::{serve, ServerOptions};

#[test]
fn confined_gofer_serves_only_its_root() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path());
    let (client_end, server_end) = seqpacket_pair();

    // SAFETY: the child only runs the closure below and then `_exit`s,
    // never returning into the harness; glibc keeps malloc usable after
    // fork, and no other thread holds a lock the child needs (this binary
    // has a single test).
    let child = match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(client_end);
            let code = std::panic::catch_unwind(|| {
                let Ok(root) = confine(dir.path()) else {
                    return 2;
                };
                match serve(server_end, root, ServerOptions { readonly: true }) {
                    Ok(()) => 0,
                    Err(_) => 1,
                }
            })
            .unwrap_or(101);
            // SAFETY: _exit is async-signal-safe and ends the child at once.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(server_end);

    let c = GoferClient::new(client_end);
    let root = c.stat(ROOT_FID).unwrap();
    assert!(root.is_dir());
    // The root is the export, not the host's /.
    let host_root = std::fs::metadata(dir.path()).unwrap();
    assert_eq!(root.ino, std::os::unix::fs::MetadataExt::ino(&host_root));
    let (entries, _, eof) = c.getdents(ROOT_FID, 0).unwrap();
    assert!(eof);
    assert!(entries.iter().any(|e| e.name == b"hello.txt"));
    assert!(!entries
        .iter()
        .any(|e| e.name == b"etc" || e.name == b"proc"));

    let hello = c.walk(ROOT_FID, &[b"hello.txt"]).unwrap()[0].0;
    let mut s = String::new();
    std::fs::File::from(c.open(hello, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello gofer");
    assert_eq!(
        c.open(hello, libc::O_RDWR).unwrap_err().errno(),
        libc::EROFS
    );
    let walked = c.walk(ROOT_FID, &[b"escape", b"etc", b"passwd"]).unwrap();
    assert_eq!(walked.len(), 1);
    assert!(walked[0].1.is_symlink());

    // The child really is confined.
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
    let ours = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let theirs = std::fs::read_link(format!("/proc/{child}/ns/mnt")).unwrap();
    assert_ne!(ours, theirs, "gofer should be in its own mount namespace");
    let mountinfo = std::fs::read_to_string(format!("/proc/{child}/mountinfo")).unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap();
    let root_mount = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no / mount in {mountinfo}"));
    assert!(
        root_mount.contains(name),
        "gofer / is not the export: {mountinfo}"
    );

    drop(c);
    assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
}
