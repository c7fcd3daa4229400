#!/usr/bin/env bash
# The benchmarks: failover and handover times, the role endpoint against a minimal hyper
# server (throughput under wrk, and instructions per request under callgrind), footprint
# (10 minutes by default) and store cost. Installs what it needs (wrk and valgrind from
# Debian, moto from PyPI), starts moto on a free loopback port, and writes
# docs/benchmarks.md. About 14 minutes; DRLEASE_BENCH_FOOTPRINT_SECS=60 for a quick run.
#
# scripts/bench.sh --instructions: only the instructions per request of the role endpoint
# and its baselines (no store, a minute or two once built), printed, not written.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null || ! command -v taskset >/dev/null || ! command -v valgrind >/dev/null; then
  echo "== installing wrk, taskset and valgrind from Debian"
  apt-get update -qq && apt-get install -y -qq wrk util-linux valgrind >/dev/null
fi

if [ "${1:-}" = "--instructions" ]; then
  echo "== building the release binary and the baseline server"
  cargo build --release --locked --bin drlease --example static_server
  DRLEASE_BENCH_ONLY=instructions \
    DRLEASE_BENCH_BIN="$PWD/target/release/drlease" \
    DRLEASE_BENCH_BASELINE="$PWD/target/release/examples/static_server" \
    cargo bench --locked --bench drlease
  exit 0
fi

MOTO_VERSION=5.2.5
VENV=.venv
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

echo "== building the release binary and the baseline server"
cargo build --release --locked --bin drlease --example static_server

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p target
"$VENV/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$PORT" > target/moto-bench.log 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
"$VENV/bin/python" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1); sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("moto did not start")
PY

export DRLEASE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
export DRLEASE_BENCH_BIN="$PWD/target/release/drlease"
export DRLEASE_BENCH_BASELINE="$PWD/target/release/examples/static_server"
export DRLEASE_BENCH_OUT="${DRLEASE_BENCH_OUT:-$PWD/docs/benchmarks.md}"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
cargo bench --locked --bench drlease
