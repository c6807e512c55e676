//! Network modes of `rvisor do` with real programs: a python HTTP server
//! and clients (python, busybox wget) over loopback inside one sandbox;
//! isolation of the default mode from the host's loopback, `--network=host`
//! reaching it, `--network=none` refusing internet sockets.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::Output;
use std::time::Duration;

use rvisor_tests::{assert_rvisor_exited, run_with_timeout, rvisor_bin, show};

fn rvisor(global: &[&str], cmd: &[&str]) -> Output {
    let mut c = std::process::Command::new(rvisor_bin());
    c.args(global).arg("do").arg("--").args(cmd);
    run_with_timeout(&mut c, Duration::from_secs(120))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A python HTTP server in the background and two clients in the same
/// sandbox, over 127.0.0.1 and ::1.
#[test]
fn http_server_and_clients_in_one_sandbox() {
    let script = r#"
import http.server, socket, subprocess, threading, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + self.path + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class V6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
for cls, host, url in ((http.server.ThreadingHTTPServer, "127.0.0.1", "127.0.0.1"), (V6, "::1", "[::1]")):
    srv = cls((host, 0), H)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(urllib.request.urlopen("http://%s:%d/python" % (url, port), timeout=20).read().decode(), end="")
    if host == "127.0.0.1":
        out = subprocess.run(["busybox", "wget", "-q", "-O-", "http://127.0.0.1:%d/wget" % port], capture_output=True, timeout=20)
        print(out.stdout.decode(), end="")
    srv.shutdown()
print("done")
"#;
    let out = rvisor(&[], &["python3", "-c", script]);
    assert_rvisor_exited(&out, "python http server");
    assert_eq!(
        stdout(&out),
        "hello from /python\nhello from /wget\nhello from /python\ndone\n",
        "{}",
        show("rvisor do", &out)
    );
}

/// `python3 -m http.server` serving a directory, fetched with busybox wget.
#[test]
fn python_m_http_server_with_busybox_wget() {
    let dir = rvisor_tests::scratch_dir().join("http-root");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.txt"), "served by python\n").unwrap();
    let sh = format!(
        "cd {} && python3 -m http.server 18931 --bind 127.0.0.1 >/dev/null 2>&1 & \
         for i in $(seq 1 100); do busybox wget -q -O- http://127.0.0.1:18931/index.txt 2>/dev/null && break; sleep 0.1; done; \
         kill $!",
        dir.display()
    );
    let out = rvisor(&[], &["sh", "-c", &sh]);
    assert_rvisor_exited(&out, "python -m http.server");
    assert_eq!(
        stdout(&out),
        "served by python\n",
        "{}",
        show("rvisor do", &out)
    );
}

/// Connects from the sandbox to a listener the test opens on the host's
/// 127.0.0.1 and reports what happened.
fn connect_to_host_listener(global: &[&str]) -> (String, Output) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            match l.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut b = [0u8; 5];
                    let _ = s.read_exact(&mut b);
                    let _ = s.write_all(b"pong\n");
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let code = format!(
        "import socket\n\
         try:\n\
         \x20   s = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n\
         \x20   s.sendall(b'ping\\n')\n\
         \x20   print('reply', s.recv(10).decode().strip())\n\
         except OSError as e:\n\
         \x20   print('error', e.errno)\n"
    );
    let out = rvisor(global, &["python3", "-c", &code]);
    assert_rvisor_exited(&out, "connect to the host");
    if stdout(&out).starts_with("reply") {
        server.join().unwrap();
    }
    (stdout(&out).trim().to_string(), out)
}

#[test]
fn default_network_is_isolated_from_the_host() {
    let (r, out) = connect_to_host_listener(&[]);
    assert_eq!(
        r,
        format!("error {}", libc::ECONNREFUSED),
        "{}",
        show("rvisor do", &out)
    );
}

#[test]
fn network_host_reaches_the_host_loopback() {
    let (r, out) = connect_to_host_listener(&["--network=host"]);
    assert_eq!(r, "reply pong", "{}", show("rvisor do", &out));
}

#[test]
fn network_none_has_no_internet_sockets() {
    let code = "import socket\n\
                for f in (socket.AF_INET, socket.AF_INET6):\n\
                \x20   try:\n\
                \x20       socket.socket(f, socket.SOCK_STREAM)\n\
                \x20       print('created')\n\
                \x20   except OSError as e:\n\
                \x20       print('error', e.errno)\n\
                a, b = socket.socketpair()\n\
                a.send(b'unix ok')\n\
                print(b.recv(10).decode())\n";
    let out = rvisor(&["--network=none"], &["python3", "-c", code]);
    assert_rvisor_exited(&out, "--network=none");
    let want = format!("error {0}\nerror {0}\nunix ok\n", libc::EAFNOSUPPORT);
    assert_eq!(stdout(&out), want, "{}", show("rvisor do", &out));
}

/// The sandbox's namespace has loopback only: SIOCGIFCONF lists `lo`
/// alone and there is no route anywhere else.
#[test]
fn default_network_has_only_loopback() {
    let code = "import array, fcntl, socket, struct\n\
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                buf = array.array('B', bytes(40 * 16))\n\
                r = fcntl.ioctl(s.fileno(), 0x8912, struct.pack('iL', len(buf), buf.buffer_info()[0]))\n\
                n = struct.unpack('iL', r)[0]\n\
                print([bytes(buf[i:i + 16]).split(b'\\0')[0].decode() for i in range(0, n, 40)])\n\
                try:\n\
                \x20   s.connect(('192.0.2.1', 53))\n\
                \x20   print('connected')\n\
                except OSError as e:\n\
                \x20   print('error', e.errno)\n";
    let out = rvisor(&[], &["python3", "-c", code]);
    assert_rvisor_exited(&out, "interfaces");
    assert_eq!(
        stdout(&out),
        format!("['lo']\nerror {}\n", libc::ENETUNREACH),
        "{}",
        show("rvisor do", &out)
    );
}

/// /proc/net shows the sandbox's namespace: its interfaces (only `lo`)
/// and the listening socket the workload opened; without a network there
/// is no /proc/net.
#[test]
fn proc_net_shows_the_sandboxs_namespace() {
    let code = "import socket\n\
                s = socket.socket()\n\
                s.bind(('127.0.0.1', 0))\n\
                s.listen()\n\
                port = s.getsockname()[1]\n\
                rows = [l.split() for l in open('/proc/net/tcp').read().splitlines()[1:]]\n\
                print('listener listed:', any(r[1] == '0100007F:%04X' % port and r[3] == '0A' for r in rows))\n\
                devs = [l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]]\n\
                print('interfaces:', devs)\n";
    let out = rvisor(&[], &["python3", "-c", code]);
    assert_rvisor_exited(&out, "/proc/net");
    assert_eq!(
        stdout(&out),
        "listener listed: True\ninterfaces: ['lo']\n",
        "{}",
        show("rvisor do", &out)
    );
    let out = rvisor(
        &["--network=none"],
        &["sh", "-c", "test -e /proc/net || echo none"],
    );
    assert_eq!(stdout(&out), "none\n", "{}", show("rvisor do", &out));
}

/// Routing netlink reads the sandbox's configuration (`ip addr` shows
/// loopback only, `if_nameindex` too); changing it is refused as for an
/// unprivileged process, and event subscriptions are not offered; without
/// a network there is no netlink.
#[test]
fn netlink_reads_the_configuration_and_refuses_changes() {
    let out = rvisor(&[], &["ip", "-o", "addr"]);
    assert_rvisor_exited(&out, "ip addr");
    let o = stdout(&out);
    assert!(
        o.lines().count() == 2
            && o.contains("1: lo    inet 127.0.0.1/8")
            && o.contains("1: lo    inet6 ::1/128"),
        "{}",
        show("ip -o addr", &out)
    );
    let out = rvisor(&[], &["ip", "link", "set", "lo", "down"]);
    assert_eq!(out.status.code(), Some(2), "{}", show("ip link set", &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        show("ip link set", &out)
    );
    let code = "import socket\n\
                print(socket.if_nameindex())\n\
                s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)\n\
                try:\n\
                \x20   s.bind((0, 1))\n\
                \x20   print('subscribed')\n\
                except OSError as e:\n\
                \x20   print('bind to a group:', e.errno)\n";
    let out = rvisor(&[], &["python3", "-c", code]);
    assert_eq!(
        stdout(&out),
        format!("[(1, 'lo')]\nbind to a group: {}\n", libc::EPERM),
        "{}",
        show("rvisor do", &out)
    );
    let code = "import socket\n\
                try:\n\
                \x20   socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n\
                except OSError as e:\n\
                \x20   print(e.errno)\n";
    let out = rvisor(&["--network=none"], &["python3", "-c", code]);
    assert_eq!(
        stdout(&out),
        format!("{}\n", libc::EAFNOSUPPORT),
        "{}",
        show("rvisor do", &out)
    );
}
