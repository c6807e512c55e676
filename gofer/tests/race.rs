//! The gofer's walks and opens under a host-side race: names inside the
//! root are swapped, on the host, between a directory (or a file) and a
//! symlink (or a hard link) to something outside the root, while a client
//! walks, lists, opens and creates through them. The server runs here
//! without `confine` (no private mount namespace), so the outside is
//! nameable and only the server's rules (one component at a time,
//! `O_NOFOLLOW`, inode checks on reopen) keep it out of reach.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use rvisor_gofer::client::GoferClient;
use rvisor_gofer::protocol::{Fid, ROOT_FID};
use rvisor_gofer::server::{serve, ServerOptions};
use rvisor_gofer::GoferError;

const SECRET: &str = "outside the root: must never be read\n";
const SWAPS: usize = 1000;

/// `<tmp>/root` (served) and `<tmp>/outside` (holding the secret).
struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(root.join("d")).unwrap();
    fs::write(root.join("d/secret-sentinel"), "inside-d\n").unwrap();
    fs::write(root.join("f"), "inside-f\n").unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret-sentinel"), SECRET).unwrap();
    fs::write(outside.join("outside-only"), SECRET).unwrap();
    Tree {
        _tmp: tmp,
        root,
        outside,
    }
}

fn start(root: &Path) -> (GoferClient, std::thread::JoinHandle<Result<(), GoferError>>) {
    let (client_end, server_end) = seqpacket_pair();
    let root_fd = open_root(root);
    let server =
        std::thread::spawn(move || serve(server_end, root_fd, ServerOptions { readonly: false }));
    (GoferClient::new(client_end), server)
}

fn read_fid(c: &GoferClient, fid: Fid) -> Result<String, i32> {
    let fd = c.open(fid, libc::O_RDONLY).map_err(|e| e.errno())?;
    let mut s = String::new();
    fs::File::from(fd).read_to_string(&mut s).unwrap();
    Ok(s)
}

/// Swaps `name` in `root` with each of `replacements` in turn, `SWAPS`
/// times, restoring it after each.
fn swapper(root: PathBuf, name: &'static str, replacements: Vec<PathBuf>, done: Arc<AtomicBool>) {
    let orig = root.join(name);
    let away = root.join(format!("{name}-away"));
    for i in 0..SWAPS {
        let r = &replacements[i % replacements.len()];
        fs::rename(&orig, &away).unwrap();
        fs::rename(r, &orig).unwrap();
        std::thread::yield_now();
        fs::rename(&orig, r).unwrap();
        fs::rename(&away, &orig).unwrap();
        std::thread::yield_now();
    }
    done.store(true, Ordering::SeqCst);
}

#[test]
fn directory_swapped_for_a_symlink_is_never_followed() {
    let t = tree();
    // Symlinks to the outside directory, absolute and relative, waiting
    // in the root to be swapped in for d.
    let abs = t.root.join("link-abs");
    let rel = t.root.join("link-rel");
    symlink(&t.outside, &abs).unwrap();
    symlink("../outside", &rel).unwrap();
    assert_eq!(
        fs::read_to_string(rel.join("secret-sentinel")).unwrap(),
        SECRET
    );
    let (c, server) = start(&t.root);

    let done = Arc::new(AtomicBool::new(false));
    let swap = {
        let (root, done) = (t.root.clone(), done.clone());
        std::thread::spawn(move || swapper(root, "d", vec![abs, rel], done))
    };
    let (mut as_dir, mut as_link, mut failed, mut made) = (0, 0, 0, 0);
    while !done.load(Ordering::SeqCst) {
        // One walk through d.
        match c.walk(ROOT_FID, &[b"d", b"secret-sentinel"]) {
            Ok(walked) if walked.len() == 2 => {
                as_dir += 1;
                match read_fid(&c, walked[1].0) {
                    Ok(s) => assert_eq!(s, "inside-d\n"),
                    Err(_) => failed += 1,
                }
                for (fid, _) in walked {
                    c.clunk(fid).unwrap();
                }
            }
            Ok(walked) => {
                as_link += 1;
                assert_eq!(walked.len(), 1);
                let (fid, attr) = &walked[0];
                assert!(attr.is_symlink(), "{attr:?}");
                assert_eq!(
                    c.open(*fid, libc::O_RDONLY).unwrap_err().errno(),
                    libc::ELOOP
                );
                assert_eq!(c.getdents(*fid, 0).unwrap_err().errno(), libc::ENOTDIR);
                c.clunk(*fid).unwrap();
            }
            Err(_) => failed += 1,
        }
        // d as a fid of its own: list it, walk on from it, create in it.
        let Ok(walked) = c.walk(ROOT_FID, &[b"d"]) else {
            failed += 1;
            continue;
        };
        let (d, attr) = walked[0].clone();
        if attr.is_dir() {
            let (entries, _, _) = c.getdents(d, 0).unwrap();
            for e in &entries {
                assert_ne!(e.name, b"outside-only", "listed the outside directory");
            }
            if let Ok(w) = c.walk(d, &[b"secret-sentinel"]) {
                if let Ok(s) = read_fid(&c, w[0].0) {
                    assert_eq!(s, "inside-d\n");
                }
                c.clunk(w[0].0).unwrap();
            }
            let (f, _, _) = c
                .create(d, b"made-here", libc::O_WRONLY, 0o644, 0, 0)
                .unwrap();
            c.unlink(d, b"made-here", 0).unwrap();
            c.clunk(f).unwrap();
            made += 1;
        } else {
            assert!(attr.is_symlink());
            assert_eq!(
                c.create(d, b"made-here", libc::O_WRONLY, 0o644, 0, 0)
                    .unwrap_err()
                    .errno(),
                libc::ENOTDIR
            );
            assert_eq!(
                c.mkdir(d, b"made-here", 0o755, 0, 0).unwrap_err().errno(),
                libc::ENOTDIR
            );
        }
        c.clunk(d).unwrap();
    }
    swap.join().unwrap();
    eprintln!(
        "d seen as a directory {as_dir}, as a symlink {as_link}, mid-swap {failed}, created {made}"
    );
    assert!(as_dir > 0);

    // The outside directory is as it was.
    let mut names: Vec<_> = fs::read_dir(&t.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["outside-only", "secret-sentinel"]);
    drop(c);
    server.join().unwrap().unwrap();
}

#[test]
fn file_swapped_for_a_symlink_or_an_outside_hard_link_is_never_opened() {
    let t = tree();
    let secret = t.outside.join("secret-sentinel");
    // Replacements for f: symlinks to the secret, and a hard link to it
    // (the same file system, so the host can make one).
    let abs = t.root.join("f-abs");
    let rel = t.root.join("f-rel");
    let hard = t.root.join("f-hard");
    symlink(&secret, &abs).unwrap();
    symlink("../outside/secret-sentinel", &rel).unwrap();
    fs::hard_link(&secret, &hard).unwrap();
    let (c, server) = start(&t.root);
    // A fid of f taken before the race: it names the inside file's inode.
    let held = c.walk(ROOT_FID, &[b"f"]).unwrap()[0].0;

    let done = Arc::new(AtomicBool::new(false));
    let swap = {
        let (root, done) = (t.root.clone(), done.clone());
        std::thread::spawn(move || swapper(root, "f", vec![abs, rel, hard], done))
    };
    let (mut inside, mut refused) = (0, 0);
    while !done.load(Ordering::SeqCst) {
        // Reopening the held fid goes through its parent and name: a
        // symlink there is ELOOP, another inode ESTALE.
        match read_fid(&c, held) {
            Ok(s) => {
                assert_eq!(s, "inside-f\n");
                inside += 1;
            }
            Err(e) => {
                assert!(
                    [libc::ELOOP, libc::ESTALE, libc::ENOENT].contains(&e),
                    "{e}"
                );
                refused += 1;
            }
        }
        // A fresh walk may land on the hard link: that one *is* inside
        // the root now (the host put it there), so it may be read; a
        // symlink never is.
        if let Ok(w) = c.walk(ROOT_FID, &[b"f"]) {
            let (fid, attr) = &w[0];
            if attr.is_symlink() {
                assert_eq!(
                    c.open(*fid, libc::O_RDONLY).unwrap_err().errno(),
                    libc::ELOOP
                );
            }
            c.clunk(*fid).unwrap();
        }
    }
    swap.join().unwrap();
    eprintln!("held fid read inside {inside}, refused {refused}");
    assert_eq!(read_fid(&c, held).unwrap(), "inside-f\n");
    drop(c);
    server.join().unwrap().unwrap();
}
