//! Confinement of the sentry process.
//!
//! Once the sandbox is assembled and the first stub exists (the gofer is
//! spawned, the stub was forked and `execveat`-ed from its memfd, host
//! files such as `/proc/cpuinfo` and the stub's maps were read), the sentry
//! needs only a short list of host system calls: ptrace and memory access
//! of its stubs, I/O on host fds it already holds or receives from the
//! gofer, its own threads, memory and clocks. [`install_sentry_seccomp`]
//! installs that allowlist (`sentry/seccomp/sentry.json`, one JSON rule
//! with a comment naming the code path per allowed call) on every thread of
//! the process; anything else kills the process with `SIGSYS`. In
//! particular no `open`/`openat` of host paths and no `execve`; sockets
//! only of the internet families for TCP and UDP (the workload's internet
//! sockets, `net::inet`), so no netlink, packet, raw or Unix socket can be
//! created after boot.
//!
//! `RVISOR_SECCOMP` switches the policy for diagnosis:
//! - `log`: calls outside the list are allowed but logged by the host
//!   kernel (`SECCOMP_RET_LOG`; `dmesg | grep type=1326` shows `syscall=NR`);
//! - `off`: no filter at all;
//! - anything else (or unset): calls outside the list kill the process.
//!
//! Before the filter goes on, glibc malloc is made to read the host files
//! it would otherwise read lazily later ([`prime_glibc_malloc`]).

use seccompiler::{BpfProgram, TargetArch};

/// The seccomp policy, one JSON rule (with a comment naming the code path
/// that needs it) per allowed system call.
const SECCOMP_JSON: &str = include_str!("../seccomp/sentry.json");

/// The filter's key in [`SECCOMP_JSON`].
const SECCOMP_FILTER: &str = "sentry";

/// The environment variable that selects the [`Mode`].
pub const MODE_ENV: &str = "RVISOR_SECCOMP";

/// The policy's action for calls outside the list, exactly as the JSON
/// spells it (replaced for [`Mode::Log`]).
const KILL_ACTION: &str = "\"mismatch_action\": \"kill_process\"";
const LOG_ACTION: &str = "\"mismatch_action\": \"log\"";

/// Errors installing the sentry's filter.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The policy did not compile or could not be applied.
    #[error("seccomp: {0}")]
    Seccomp(#[from] seccompiler::Error),
    /// The policy file is malformed.
    #[error("seccomp policy: {0}")]
    Policy(&'static str),
}

/// What to do with system calls outside the allowlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Kill the process (`SECCOMP_RET_KILL_PROCESS`, the default).
    Kill,
    /// Allow and log (`SECCOMP_RET_LOG`).
    Log,
    /// Install no filter.
    Off,
}

impl Mode {
    /// The mode `RVISOR_SECCOMP` asks for.
    pub fn from_env() -> Mode {
        match std::env::var(MODE_ENV).as_deref() {
            Ok("log") => Mode::Log,
            Ok("off") => Mode::Off,
            _ => Mode::Kill,
        }
    }
}

/// Compiles the sentry's allowlist for the running architecture; calls
/// outside it get `mode`'s action (`Mode::Off` compiles the kill policy).
pub fn seccomp_filter(mode: Mode) -> Result<BpfProgram, ConfineError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(seccompiler::Error::from)?;
    let json = match mode {
        Mode::Log => SECCOMP_JSON.replace(KILL_ACTION, LOG_ACTION),
        Mode::Kill | Mode::Off => SECCOMP_JSON.to_owned(),
    };
    let mut filters = seccompiler::compile_from_json(json.as_bytes(), arch)?;
    filters.remove(SECCOMP_FILTER).ok_or(ConfineError::Policy(
        "no \"sentry\" filter in seccomp/sentry.json",
    ))
}

/// Installs the sentry's seccomp allowlist on every thread of the process
/// (TSYNC; threads started later inherit it) and sets `no_new_privs`.
/// Call it once everything that needs host paths, sockets or exec is done:
/// after the gofer is spawned and the first stub exists. Irreversible.
/// `RVISOR_SECCOMP` selects the [`Mode`].
pub fn install_sentry_seccomp() -> Result<(), ConfineError> {
    let mode = Mode::from_env();
    if mode == Mode::Off {
        tracing::warn!("{MODE_ENV}=off: the sentry runs without its seccomp filter");
        return Ok(());
    }
    let filter = seccomp_filter(mode)?;
    prime_glibc_malloc();
    seccompiler::apply_filter_all_threads(&filter)?;
    tracing::debug!("sentry seccomp filter installed ({mode:?})");
    Ok(())
}

/// glibc's malloc reads two host files lazily, long after boot; both
/// reads would be an `openat` the filter kills, so they are done now:
///
/// - the arena limit, computed the first time more than 8 arenas are in
///   use (many sentry threads allocating at once) from
///   `/sys/devices/system/cpu/online`: set it to glibc's own default
///   (8 arenas per online CPU) so malloc never looks;
/// - whether a thread arena's heap may shrink, read from
///   `/proc/sys/vm/overcommit_memory` the first time such a heap is
///   trimmed (a thread freeing a lot, e.g. at its exit): trim one now, in
///   a short-lived thread, so glibc caches the answer.
fn prime_glibc_malloc() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: sysconf only queries a value (glibc reads the sysfs
        // file now, before the filter).
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.clamp(1, 1 << 16);
        // SAFETY: mallopt only sets a malloc tunable.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, (cpus * 8) as libc::c_int) };
        // A new thread allocates from a thread arena; 2 MiB in blocks
        // below the mmap threshold grow its heap, and freeing them leaves
        // a top chunk above the trim threshold: heap_trim -> shrink_heap
        // -> check_may_shrink_heap.
        let _ = std::thread::Builder::new()
            .name("malloc-prime".into())
            .spawn(|| {
                let blocks: Vec<Vec<u8>> = (0..64)
                    .map(|_| std::hint::black_box(vec![1u8; 32 * 1024]))
                    .collect();
                drop(std::hint::black_box(blocks));
            })
            .and_then(|t| t.join().map_err(|_| std::io::Error::other("panicked")));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn policy_compiles() {
        for mode in [Mode::Kill, Mode::Log] {
            let filter = seccomp_filter(mode).unwrap();
            assert!(!filter.is_empty());
            assert!(
                filter.len() < 4096,
                "BPF program too long: {}",
                filter.len()
            );
        }
        assert_ne!(
            seccomp_filter(Mode::Kill).unwrap(),
            seccomp_filter(Mode::Log).unwrap()
        );
    }

    #[test]
    fn policy_spells_the_kill_action_once() {
        assert_eq!(SECCOMP_JSON.matches(KILL_ACTION).count(), 1);
    }

    #[test]
    fn policy_has_no_forbidden_calls() {
        let doc: &str = SECCOMP_JSON;
        for name in ["open", "openat", "openat2", "execve", "execveat"] {
            assert!(
                !doc.contains(&format!("\"syscall\": \"{name}\"")),
                "{name} must not be allowed"
            );
        }
    }

    #[test]
    fn policy_allows_only_internet_tcp_and_udp_sockets() {
        let doc: serde_json::Value = serde_json::from_str(SECCOMP_JSON).unwrap();
        let rules: Vec<&serde_json::Value> = doc["sentry"]["filter"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["syscall"] == "socket")
            .collect();
        assert_eq!(rules.len(), 4);
        for r in rules {
            let args = r["args"].as_array().expect("socket rules have conditions");
            let val = |i: u64| {
                args.iter()
                    .find(|a| a["index"] == i)
                    .and_then(|a| a["val"].as_u64())
                    .expect("condition on the argument")
            };
            assert!([libc::AF_INET as u64, libc::AF_INET6 as u64].contains(&val(0)));
            let (ty, proto) = (val(1), val(2));
            assert!(
                (ty, proto) == (libc::SOCK_STREAM as u64, libc::IPPROTO_TCP as u64)
                    || (ty, proto) == (libc::SOCK_DGRAM as u64, libc::IPPROTO_UDP as u64),
                "{ty} {proto}"
            );
        }
    }

    /// Runs `f` in a child process under the sentry's filter (kill mode)
    /// and returns its wait status.
    fn under_filter(f: fn() -> i32) -> i32 {
        let filter = seccomp_filter(Mode::Kill).unwrap();
        // SAFETY: the child makes only raw system calls and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = match seccompiler::apply_filter(&filter) {
                Ok(()) => f(),
                Err(_) => 100,
            };
            // SAFETY: ends the child.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child into a live local.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        status
    }

    fn try_socket(domain: i32, ty: i32, proto: i32) -> i32 {
        // SAFETY: socket(2) with integer arguments.
        let fd =
            unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) };
        if fd >= 0 {
            0
        } else {
            1
        }
    }

    #[test]
    fn filter_lets_the_sentry_open_internet_sockets_only() {
        let ok: [fn() -> i32; 4] = [
            || try_socket(libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_TCP),
            || try_socket(libc::AF_INET6, libc::SOCK_STREAM, libc::IPPROTO_TCP),
            || try_socket(libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_UDP),
            || try_socket(libc::AF_INET6, libc::SOCK_DGRAM, libc::IPPROTO_UDP),
        ];
        for f in ok {
            let st = under_filter(f);
            assert!(
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
                "status {st:#x}"
            );
        }
        let killed: [fn() -> i32; 5] = [
            || try_socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
            || try_socket(libc::AF_PACKET, libc::SOCK_RAW, 0),
            || try_socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP),
            || try_socket(libc::AF_UNIX, libc::SOCK_STREAM, 0),
            || try_socket(libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_UDP),
        ];
        for f in killed {
            let st = under_filter(f);
            assert!(
                libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGSYS,
                "status {st:#x}"
            );
        }
    }

    #[test]
    fn policy_constants_match_libc() {
        for (what, v) in [
            ("SIGKILL", libc::SIGKILL as u64),
            ("SIGUSR2", libc::SIGUSR2 as u64),
            ("SIGABRT", libc::SIGABRT as u64),
            ("TCGETS", libc::TCGETS),
            ("TIOCGWINSZ", libc::TIOCGWINSZ),
            ("TCSETS", libc::TCSETS),
            ("PR_SET_NAME", libc::PR_SET_NAME as u64),
            ("F_DUPFD_CLOEXEC", libc::F_DUPFD_CLOEXEC as u64),
            ("F_GETFL", libc::F_GETFL as u64),
            ("SOL_SOCKET", libc::SOL_SOCKET as u64),
            ("SO_RCVTIMEO", libc::SO_RCVTIMEO as u64),
        ] {
            assert!(
                SECCOMP_JSON.contains(&format!("\"val\": {v},")),
                "{what} ({v}) not spelled in sentry.json"
            );
        }
        assert_eq!(
            crate::platform::ptrace::KICK_SIGNAL,
            libc::SIGUSR2,
            "sentry.json allows tgkill with SIGUSR2 for kicks"
        );
    }
}
