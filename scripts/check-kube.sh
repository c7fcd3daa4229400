#!/usr/bin/env bash
# Installs the deployment artifacts into a real Kubernetes API server (scripts/kube.sh):
# the Helm chart with real helm in every documented configuration (the Admiral embedding
# of deploy/admiral-chart first), with the Prometheus Operator's CRDs applied first, and
# the kustomize overlays with server-side apply; every object strictly validated
# (unknown or duplicate fields are errors) and admitted. Called by scripts/check-deploy.sh.
#
#   scripts/check-kube.sh KUBECTL PYTHON
#
# Uses the API server of $DRLEASE_TEST_KUBECONFIG (scripts/test.sh starts one), else
# starts one of its own and stops it at the end. helm (helm.sh/helm/v4, pinned in
# scripts/kube/helm) and controller-gen with the operator's API types (pinned in
# scripts/kube/crds) are built once and cached beside kube.sh's binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBECTL=$1
PYTHON=$2
CACHE=${DRLEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drlease}

die() { echo "check-kube: $*" >&2; exit 1; }
command -v go >/dev/null || die "no Go tool chain on PATH (helm and the CRDs are built from Go modules): install Go 1.26 or later"

pinned() { # DIR: the cache folder for what scripts/kube/DIR pins
  echo "$CACHE/$1-$(sha256sum "$ROOT/scripts/kube/$1/go.mod" | cut -c1-12)"
}

HELM_DIR=$(pinned helm)
if [ ! -x "$HELM_DIR/helm" ]; then
  echo "== building helm into $HELM_DIR (once)"
  start=$SECONDS
  mkdir -p "$HELM_DIR"
  (cd "$ROOT/scripts/kube/helm" && go build -mod=readonly -trimpath -o "$HELM_DIR/helm.tmp" helm.sh/helm/v4/cmd/helm) \
    || die "building helm failed (scripts/kube/helm)"
  mv "$HELM_DIR/helm.tmp" "$HELM_DIR/helm"
  echo "   built in $((SECONDS - start)) s"
fi
CRD_DIR=$(pinned crds)
if [ ! -f "$CRD_DIR/monitoring.coreos.com_servicemonitors.yaml" ]; then
  echo "== generating the Prometheus Operator's CRDs into $CRD_DIR (once)"
  start=$SECONDS
  mkdir -p "$CRD_DIR"
  (cd "$ROOT/scripts/kube/crds" \
    && go build -mod=readonly -trimpath -o "$CRD_DIR/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen \
    && "$CRD_DIR/controller-gen" crd:crdVersions=v1,maxDescLen=0 \
         paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
         output:crd:dir="$CRD_DIR.tmp") \
    || die "generating the CRDs failed (scripts/kube/crds)"
  mv "$CRD_DIR.tmp"/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$CRD_DIR/"
  rm -rf "$CRD_DIR.tmp"
  echo "   generated in $((SECONDS - start)) s"
fi

KUBECONFIG_FILE=${DRLEASE_TEST_KUBECONFIG:-}
OWN=""
if [ -z "$KUBECONFIG_FILE" ]; then
  OWN=$(mktemp -d)
  trap '"$ROOT/scripts/kube.sh" stop "$OWN" >/dev/null 2>&1 || true; rm -rf "$OWN"' EXIT
  start=$SECONDS
  KUBECONFIG_FILE=$("$ROOT/scripts/kube.sh" start "$OWN" | tail -1)
  echo "== started an API server for these checks in $((SECONDS - start)) s"
fi

start=$SECONDS
"$PYTHON" "$ROOT/scripts/check_kube.py" "$KUBECTL" "$HELM_DIR/helm" "$KUBECONFIG_FILE" "$CRD_DIR"
echo "== installs into the real API server took $((SECONDS - start)) s"
