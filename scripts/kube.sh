#!/usr/bin/env bash
# A real Kubernetes API server on loopback, for the tests and by hand:
#
#   scripts/kube.sh start DIR    starts etcd and kube-apiserver, prints DIR/kubeconfig
#   scripts/kube.sh stop DIR     stops them; `start DIR` again restarts the same cluster
#                                (same data, keys, tokens and port); delete DIR to forget it
#   scripts/kube.sh build        only builds (or finds) the binaries, prints their folder
#
# Both come from their Go modules at the versions pinned in scripts/kube/*/go.mod
# (k8s.io/kubernetes v1.37.2 with its staging modules at v0.37.2; go.etcd.io/etcd v3.6),
# built once with the ordinary Go tool chain and cached outside the repository, under
# ${DRLEASE_CACHE:-~/.cache/drlease}/kube-<hash of the pins>/. No kubelet, scheduler or
# controller manager runs: objects are stored and admitted, Pods stay Pending, no
# ServiceAccount is created for you (the ServiceAccount admission plugin is off, so Pods
# without one are admitted).
#
# One DIR is one cluster; start two DIRs for two clusters. Authorization is RBAC. The
# kubeconfig has four contexts, one per static-token user (DIR/tokens.csv):
#   admin     user drlease-admin, group system:masters (the current context)
#   writer-a  user fence-writer-a, no permissions until RBAC grants some
#   writer-b  user fence-writer-b, likewise
#   nobody    user nobody, likewise
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PINS="$ROOT/scripts/kube"

die() { echo "kube.sh: $*" >&2; exit 1; }

cache_dir() {
  local hash
  hash=$( (cat "$PINS"/apiserver/go.mod "$PINS"/etcd/go.mod; version_flags) | sha256sum | cut -c1-12)
  echo "${DRLEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drlease}/kube-$hash"
}

# The release the API server reports (/version): a `go build` of the module leaves it at
# v0.0.0-master, which clients refuse (helm's kubeVersion check of a chart needing 1.29).
# Stamped as the Kubernetes release build does, from the pinned module version.
version_flags() {
  local v
  v=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$PINS/apiserver/go.mod")
  [ -n "$v" ] || v=$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' "$PINS/apiserver/go.mod")
  local major=${v#v}; major=${major%%.*}
  local minor=${v#v*.}; minor=${minor%%.*}
  local p=k8s.io/component-base/version
  echo "-X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
}

build() {
  local bin
  bin=$(cache_dir)
  if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ]; then echo "$bin"; return; fi
  command -v go >/dev/null || die "no Go tool chain on PATH: install Go 1.26 or later"
  mkdir -p "$bin"
  local start=$SECONDS
  echo "kube.sh: building etcd and kube-apiserver into $bin (once; a few minutes)" >&2
  # -mod=readonly: a go.sum that misses an entry fails here, loudly, instead of resolving
  # other versions than the pinned ones.
  (cd "$PINS/etcd" && go build -mod=readonly -trimpath -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3) \
    || die "building etcd failed (scripts/kube/etcd)"
  (cd "$PINS/apiserver" && go build -mod=readonly -trimpath -ldflags "$(version_flags)" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver) \
    || die "building kube-apiserver failed (scripts/kube/apiserver)"
  mv "$bin/etcd.tmp" "$bin/etcd" && mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  echo "kube.sh: built in $((SECONDS - start)) s" >&2
  echo "$bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

certs() { # DIR: a CA, the API server's serving certificate, the ServiceAccount key pair
  local d=$1/pki
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=drlease-test-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >"$d/san.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -extfile "$d/san.ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

token() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

kubeconfig() { # DIR PORT
  local dir=$1 port=$2 ca
  ca=$(base64 -w0 <"$dir/pki/ca.crt")
  {
    echo "apiVersion: v1"
    echo "kind: Config"
    echo "clusters:"
    echo "- name: drlease-test"
    echo "  cluster: {server: \"https://127.0.0.1:$port\", certificate-authority-data: \"$ca\"}"
    echo "users:"
    while IFS=, read -r tok user _; do
      echo "- name: $user"
      echo "  user: {token: \"$tok\"}"
    done <"$dir/tokens.csv"
    echo "contexts:"
    for pair in admin:drlease-admin writer-a:fence-writer-a writer-b:fence-writer-b nobody:nobody; do
      echo "- name: ${pair%%:*}"
      echo "  context: {cluster: drlease-test, user: ${pair#*:}, namespace: default}"
    done
    echo "current-context: admin"
  } >"$dir/kubeconfig"
  chmod 600 "$dir/kubeconfig"
}

wait_ready() { # DIR PORT
  local dir=$1 port=$2 tok
  tok=$(head -1 "$dir/tokens.csv" | cut -d, -f1)
  for _ in $(seq 1 600); do
    if curl -sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $tok" \
        "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      return 0
    fi
    for p in "$dir"/etcd.pid "$dir"/apiserver.pid; do
      kill -0 "$(cat "$p")" 2>/dev/null || die "$(basename "$p" .pid) exited; see $dir/*.log"
    done
    sleep 0.2
  done
  die "kube-apiserver not ready on :$port after 120 s; see $dir/apiserver.log"
}

start() {
  local dir=$1 bin etcd_port peer_port port
  bin=$(build)
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  if [ -f "$dir/apiserver.pid" ] && kill -0 "$(cat "$dir/apiserver.pid")" 2>/dev/null; then
    echo "$dir/kubeconfig"; return
  fi
  # A DIR started before is started again with its data, keys, tokens and ports, so a
  # client holding its kubeconfig reconnects (a restart, not a new cluster).
  if [ ! -f "$dir/ports" ]; then
    certs "$dir"
    {
      echo "$(token),drlease-admin,drlease-admin,\"system:masters\""
      echo "$(token),fence-writer-a,fence-writer-a"
      echo "$(token),fence-writer-b,fence-writer-b"
      echo "$(token),nobody,nobody"
    } >"$dir/tokens.csv"
    chmod 600 "$dir/tokens.csv"
    echo "$(free_port) $(free_port) $(free_port)" >"$dir/ports"
  fi
  read -r etcd_port peer_port port <"$dir/ports"
  "$bin/etcd" --name test --data-dir "$dir/etcd-data" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "test=http://127.0.0.1:$peer_port" >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/24 \
    --authorization-mode RBAC --token-auth-file "$dir/tokens.csv" \
    --disable-admission-plugins ServiceAccount \
    --endpoint-reconciler-type none --profiling=false --enable-priority-and-fairness=false \
    ${DRLEASE_KUBE_APISERVER_ARGS:-} >"$dir/apiserver.log" 2>&1 &
  echo $! >"$dir/apiserver.pid"
  kubeconfig "$dir" "$port"
  wait_ready "$dir" "$port"
  echo "$dir/kubeconfig"
}

stop() {
  local dir=$1 p pid
  for p in apiserver etcd; do
    [ -f "$dir/$p.pid" ] || continue
    pid=$(cat "$dir/$p.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$p.pid"
  done
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: scripts/kube.sh start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: scripts/kube.sh stop DIR"; stop "$2" ;;
  build) build ;;
  *) die "usage: scripts/kube.sh start DIR | stop DIR | build" ;;
esac
