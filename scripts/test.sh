#!/usr/bin/env bash
# The one command that installs what the tests need, builds rvisor and runs
# every test of the workspace. Idempotent; meant to run as root (CI does).
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -- acceptance   # extra args go to `cargo test`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ---- system packages the tests use -----------------------------------------
# busybox-static: /bin/busybox for the busybox acceptance test
# gcc, libc6-dev: compile tests/c/*.c (dynamic, -static, -static-pie)
# python3, bash, coreutils: acceptance workloads
# docker.io, containerd, runc: the docker/containerd tests (tests/tests/docker.rs
#   start their own private dockerd with rvisor registered)
# sqlite3: the sqlite acceptance checks of the file systems
PKGS=(busybox-static gcc libc6-dev python3 bash coreutils docker.io containerd runc sqlite3)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing missing packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${PKGS[@]}"
fi
for f in /bin/busybox /usr/bin/python3 /bin/bash /usr/bin/cc /usr/sbin/dockerd /usr/bin/ctr /usr/bin/sqlite3; do
    [ -x "$f" ] || { echo "error: $f is missing after installing packages" >&2; exit 1; }
done

# ---- Rust toolchain ---------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found" >&2; exit 1; }

# ---- build, lint and test ---------------------------------------------------
cargo build --release --workspace
cargo clippy --release --workspace --all-targets -- -D warnings

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export RVISOR_BIN="$target_dir/release/rvisor"
[ -x "$RVISOR_BIN" ] || { echo "error: $RVISOR_BIN was not built" >&2; exit 1; }
export RUST_BACKTRACE="${RUST_BACKTRACE:-0}"

# All tests of all crates, in parallel within each test binary; keep going
# after a failing binary so one run reports every failure.
if [ "${1:-}" = "--" ]; then shift; fi
# The docker tests start a private dockerd (see tests/src/docker.rs); stop it
# when the run ends.
stop_test_dockerd() {
    local pidfile=/run/rvisor-test-docker/dockerd.pid
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
}
trap stop_test_dockerd EXIT
cargo test --release --workspace --no-fail-fast "$@"
