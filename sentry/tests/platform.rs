//! Platform tests: a real stub process under ptrace.
#![allow(clippy::unwrap_used)]

use rvisor_sentry::platform::ptrace::StubThread;
use rvisor_sentry::platform::PlatformError;

#[test]
fn injected_mmap_and_memory_access() {
    let (stub, special) = StubThread::spawn_initial().unwrap();
    assert!(special.vdso_start > 0);
    let addr = stub
        .inject(
            libc::SYS_mmap,
            [
                0,
                8192,
                3,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                u64::MAX,
                0,
            ],
        )
        .unwrap();
    assert!(addr > 0, "mmap returned {addr}");
    assert_eq!(stub.write_mem(addr as u64, b"hello stub"), 10);
    let mut buf = [0u8; 10];
    assert_eq!(stub.read_mem(addr as u64, &mut buf), 10);
    assert_eq!(&buf, b"hello stub");
    // Unmapped memory reads as nothing, not a sentry crash.
    assert_eq!(stub.read_mem(0x1000, &mut buf), 0);
    stub.kill_process();
}

#[test]
fn seccomp_kills_a_host_call_the_platform_never_injects() {
    let (stub, _) = StubThread::spawn_initial().unwrap();
    // socket(AF_INET, SOCK_STREAM, 0) from the trampoline: not on the list.
    match stub.inject(libc::SYS_socket, [2, 1, 0, 0, 0, 0]) {
        Err(PlatformError::StubDied(status)) => {
            assert!(libc::WIFSIGNALED(status));
            assert_eq!(libc::WTERMSIG(status), libc::SIGSYS);
        }
        other => panic!("expected the stub to die with SIGSYS, got {other:?}"),
    }
}

#[test]
fn forked_stub_is_seized_by_another_thread() {
    let (stub, _) = StubThread::spawn_initial().unwrap();
    let child = stub.inject_clone(libc::SIGCHLD as u64).unwrap();
    let scratch = stub.scratch_regs();
    let special = stub.special();
    let h = std::thread::spawn(move || {
        let c = StubThread::seize(child, child, scratch, special).unwrap();
        let r = c
            .inject(
                libc::SYS_mmap,
                [
                    0,
                    4096,
                    3,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                    u64::MAX,
                    0,
                ],
            )
            .unwrap();
        assert!(r > 0);
        c.kill_process();
    });
    h.join().unwrap();
    stub.kill_process();
}
