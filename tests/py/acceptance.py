"""Acceptance workload for rvisor: run natively and under `rvisor do`; the
outputs must be identical. Prints only deterministic facts."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time


def out(*args):
    print(*args)
    sys.stdout.flush()


def threads_with_lock():
    counter = 0
    lock = threading.Lock()

    def work():
        nonlocal counter
        for _ in range(20000):
            with lock:
                counter += 1

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out("threads: counter", counter, "alive", sum(t.is_alive() for t in ts))


def subprocess_run():
    r = subprocess.run(["sh", "-c", "echo sub; exit 5"], capture_output=True)
    out("subprocess: stdout", repr(r.stdout), "stderr", repr(r.stderr), "returncode", r.returncode)
    r = subprocess.run(["/bin/sh", "-c", "kill -TERM $$"], capture_output=True)
    out("subprocess: killed returncode", r.returncode)
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    o, _ = p.communicate(b"through a pipe\n" * 1000)
    out("subprocess: cat round trip", len(o), o[:15], p.returncode)


def fork_wait():
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os._exit(17)
    wpid, status = os.waitpid(pid, 0)
    out("fork: waited right pid", wpid == pid, "exit status", os.waitstatus_to_exitcode(status))
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    out("fork: killed child", os.WIFSIGNALED(status), os.WTERMSIG(status))


def wait_for(pred, limit=10.0):
    deadline = time.monotonic() + limit
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.005)


def signals():
    hits = []

    def handler(signum, frame):
        hits.append(signum)

    old = signal.signal(signal.SIGALRM, handler)
    out("signal: previous handler is default", old == signal.SIG_DFL)
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    wait_for(lambda: len(hits) >= 1)
    out("signal: setitimer fired", hits == [signal.SIGALRM], "after >= 0.05s", time.monotonic() - t0 >= 0.05)
    t0 = time.monotonic()
    signal.alarm(1)
    wait_for(lambda: len(hits) >= 2)
    out("signal: alarm fired", len(hits) == 2, "after >= 1s", time.monotonic() - t0 >= 1.0)
    # Repeating timer.
    signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    wait_for(lambda: len(hits) >= 5)
    signal.setitimer(signal.ITIMER_REAL, 0)
    out("signal: interval timer fired at least 3 more times", len(hits) >= 5)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    os.kill(os.getpid(), signal.SIGUSR1)
    wait_for(lambda: got)
    out("signal: SIGUSR1 to self handled", got == [signal.SIGUSR1])


def hashing():
    data = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    out("sha256 of", len(data), "bytes:", hashlib.sha256(data).hexdigest())


def json_round_trip():
    obj = {
        "name": "rvisor",
        "list": [1, 2.5, None, True, "x" * 10],
        "nested": {"a": {"b": [{"c": i} for i in range(5)]}},
        "unicode": "h\u00e9llo \u4e16\u754c",
    }
    s = json.dumps(obj, sort_keys=True)
    back = json.loads(s)
    out("json: equal after round trip", back == obj, "length", len(s))
    out("json:", s)


def sleeping():
    t0 = time.monotonic()
    time.sleep(0.05)
    out("sleep: slept >= 0.05s", time.monotonic() - t0 >= 0.05)


def files():
    # The host root is read-only in the sandbox; /tmp is a private tmpfs.
    path = "/tmp/rvisor-acceptance-%d" % os.getpid()
    with open(path, "w") as f:
        f.write("hello file\n")
    with open(path) as f:
        out("files: read back", repr(f.read()))
    os.unlink(path)
    with open("/etc/passwd") as f:
        out("files: /etc/passwd starts with root", f.readline().startswith("root:"))
    out("files: listdir /usr has bin", "bin" in os.listdir("/usr"))


def main():
    out("python", sys.version_info[0], "start")
    threads_with_lock()
    subprocess_run()
    fork_wait()
    signals()
    hashing()
    json_round_trip()
    sleeping()
    files()
    out("done")


if __name__ == "__main__":
    main()
