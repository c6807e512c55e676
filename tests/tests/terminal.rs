//! `rvisor do` on a terminal: the test opens a host pty, runs rvisor with
//! the slave as its stdio (and controlling terminal) and plays the user at
//! the master. The workload must see its own terminal (`/dev/pts/0`) with
//! the host's window size, follow resizes, get SIGINT from ^C, and the
//! host terminal's settings must be back when rvisor exits.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{openpty, Winsize};
use rvisor_tests::rvisor_bin;

/// What the master has read so far, shared with the reader thread.
type Screen = Arc<Mutex<Vec<u8>>>;

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// Starts `rvisor do -- ARGS` on a fresh pty of `rows`x`cols`; returns
/// the child, the master and the screen being filled by a reader thread.
fn start(args: &[&str], rows: u16, cols: u16) -> (std::process::Child, OwnedFd, Screen) {
    let pty = openpty(Some(&winsize(rows, cols)), None).unwrap();
    let slave = pty.slave;
    let mut cmd = Command::new(rvisor_bin());
    cmd.arg("do").arg("--").args(args);
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: setsid and ioctl are async-signal-safe raw calls.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(slave);
    let screen: Screen = Arc::default();
    let mut reader = std::fs::File::from(pty.master.try_clone().unwrap());
    let s = screen.clone();
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        loop {
            match reader.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => s.lock().unwrap().extend_from_slice(&b[..n]),
            }
        }
    });
    (child, pty.master, screen)
}

fn text(screen: &Screen) -> String {
    String::from_utf8_lossy(&screen.lock().unwrap()).into_owned()
}

/// Waits until the screen contains `needle`.
fn wait_for(screen: &Screen, needle: &str, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text(screen).contains(needle) {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("never saw {needle:?}; screen:\n{}", text(screen));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the child (killing it after a deadline); returns its code.
fn wait_exit(child: &mut std::process::Child, screen: &Screen) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rvisor did not exit; screen:\n{}", text(screen));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn do_on_a_terminal() {
    let (mut child, master, screen) = start(
        &[
            "/bin/sh",
            "-c",
            "tty; stty size; read x; echo got=$x; stty size; trap 'echo trapped' INT; \
             sleep 100; echo status=$?",
        ],
        24,
        80,
    );
    wait_for(&screen, "24 80", &mut child);
    assert!(
        text(&screen).contains("/dev/pts/0\r\n"),
        "{}",
        text(&screen)
    );
    // A resize of the host terminal reaches the sandbox's.
    nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, Winsize);
    // SAFETY: TIOCSWINSZ reads one winsize from the live local.
    unsafe { set_winsize(master.as_raw_fd(), &winsize(30, 100)) }.unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut w = std::fs::File::from(master.try_clone().unwrap());
    // Typed input is echoed by the sandbox's line discipline; Enter (CR)
    // ends the line.
    w.write_all(b"hello\r").unwrap();
    wait_for(&screen, "got=hello", &mut child);
    wait_for(&screen, "30 100", &mut child);
    std::thread::sleep(Duration::from_millis(300));
    // ^C sends SIGINT to the foreground group: `sleep` dies, the shell
    // runs its trap (repeated in case it came before `sleep` started).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text(&screen).contains("status=") && Instant::now() < deadline {
        w.write_all(b"\x03").unwrap();
        std::thread::sleep(Duration::from_millis(1000));
    }
    wait_for(&screen, "status=130", &mut child);
    let code = wait_exit(&mut child, &screen);
    assert_eq!(code, 0, "{}", text(&screen));
    let out = text(&screen);
    assert!(out.contains("hello\r\n"), "echo missing:\n{out}");
    assert!(out.contains("^C"), "^C echo missing:\n{out}");
    assert!(out.contains("trapped"), "the shell got no SIGINT:\n{out}");
    // The host terminal is cooked again.
    let t = nix::sys::termios::tcgetattr(&master).unwrap();
    use nix::sys::termios::LocalFlags;
    assert!(
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "terminal left raw: {:?}",
        t.local_flags
    );
}

#[test]
fn do_on_a_terminal_with_redirected_stdout() {
    // stdout to a pipe: only stdin and stderr are the terminal.
    let pty = openpty(Some(&winsize(24, 80)), None).unwrap();
    let out = Command::new(rvisor_bin())
        .args([
            "do",
            "--",
            "/bin/sh",
            "-c",
            "test -t 0 && echo in-tty; test -t 1 || echo out-pipe; tty <&2; echo err >&2",
        ])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    drop(pty.slave);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "in-tty\nout-pipe\n/dev/pts/0\n"
    );
    let mut screen = Vec::new();
    let mut m = std::fs::File::from(pty.master);
    nix::fcntl::fcntl(
        m.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut b = [0u8; 1024];
    while let Ok(n) = m.read(&mut b) {
        if n == 0 {
            break;
        }
        screen.extend_from_slice(&b[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&screen), "err\r\n");
}
