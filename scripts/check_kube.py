"""Installs the deployment artifacts into a real Kubernetes API server and checks that
every object was admitted: the chart with real helm in each documented configuration
(the Admiral embedding first), the Prometheus Operator's CRDs applied first, and the
kustomize overlays with server-side apply. Every object is also sent once more with
strict field validation (an unknown or duplicate field is an error, not a warning), and a
Pod is created from each Deployment's template (no kubelet runs: it stays Pending, but
it is admitted as a Pod, native sidecar and all). Run by scripts/check-kube.sh.

Usage: python check_kube.py KUBECTL HELM KUBECONFIG CRD_DIR
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "drlease"
FAILURES = []


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        FAILURES.append(what)


class Cluster:
    def __init__(self, kubectl, helm, kubeconfig, home):
        self.kubectl, self.helm, self.kubeconfig = kubectl, helm, kubeconfig
        self.env = dict(os.environ, HOME=home, KUBECONFIG=kubeconfig,
                        HELM_CACHE_HOME=f"{home}/cache", HELM_CONFIG_HOME=f"{home}/config",
                        HELM_DATA_HOME=f"{home}/data")

    def run(self, tool, *args, stdin=None):
        out = subprocess.run([tool, *args], input=stdin, capture_output=True, text=True,
                             env=self.env, timeout=300)
        return out.returncode, out.stdout, out.stderr

    def k(self, *args, stdin=None):
        return self.run(self.kubectl, "--kubeconfig", self.kubeconfig, *args, stdin=stdin)

    def h(self, *args):
        return self.run(self.helm, "--kubeconfig", self.kubeconfig, *args)


def docs_of(text):
    return [d for d in yaml.safe_load_all(text) if d]


def admitted(c, docs, namespace, where):
    """Every object exists in the API server, passes strict validation, and every
    Deployment's pod template is admitted as a Pod."""
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
        ns = d["metadata"].get("namespace", namespace)
        code, out, err = c.k("get", kind, name, "-n", ns, "-o", "json")
        check(code == 0, f"{where}: {kind}/{name} admitted {'' if code == 0 else err.strip()}")
    manifest = yaml.safe_dump_all(docs)
    code, _, err = c.k("apply", "--server-side", "--dry-run=server", "--validate=strict",
                       "--force-conflicts", "--field-manager=check-kube", "-n", namespace, "-f", "-",
                       stdin=manifest)
    check(code == 0, f"{where}: every object passes strict field validation {err.strip()}")
    for d in docs:
        if d["kind"] != "Deployment":
            continue
        template = d["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{d['metadata']['name']}-pod", "namespace": namespace,
                            "labels": template["metadata"].get("labels", {}),
                            "annotations": template["metadata"].get("annotations", {})},
               "spec": template["spec"]}
        code, out, err = c.k("create", "--validate=strict", "-o", "json", "-f", "-", stdin=json.dumps(pod))
        check(code == 0, f"{where}: a Pod of Deployment {d['metadata']['name']} is admitted {err.strip()}")
        if code == 0:
            stored = json.loads(out)
            side = [x for x in stored["spec"].get("initContainers", []) if x["name"] == "drlease"]
            check(bool(side) and side[0].get("restartPolicy") == "Always",
                  f"{where}: the stored Pod keeps drlease as a native sidecar")


def helm_install(c, name, chart, namespace, values, where):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values or {}, f)
    t = time.monotonic()
    code, out, err = c.h("install", name, str(chart), "--namespace", namespace, "--create-namespace",
                         "-f", f.name, "--timeout", "120s")
    check(code == 0, f"{where}: helm install ({time.monotonic() - t:.1f} s) {err.strip()}")
    if code != 0:
        return []
    code, manifest, err = c.h("get", "manifest", name, "--namespace", namespace)
    check(code == 0, f"{where}: helm get manifest {err.strip()}")
    docs = docs_of(manifest)
    admitted(c, docs, namespace, where)
    return docs


def fence_chart(c):
    """charts/drlease-fence, for the clusters a controller writes to: rendered by helm with
    both modes, RBAC and the alert, every object dry-run applied server-side with strict
    validation (the CRD and policies themselves are applied for real by the fencing tests,
    which share this API server, so the chart cannot own them here)."""
    print("charts/drlease-fence (target clusters), every object server-side dry-run")
    values = {"leases": [{"name": "mylease", "mode": "epoch"},
                         {"name": "admiral-lease", "mode": "writer",
                          "writers": ["system:serviceaccount:admiral-sync:admiral-us-east-1",
                                      "system:serviceaccount:admiral-sync:admiral-us-west-2"]}],
              "raisers": [{"kind": "ServiceAccount", "name": "drlease-fence", "namespace": "admiral-sync"}],
              "prometheusRule": {"enabled": True}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values, f)
    code, rendered, err = c.h("template", "drlease-fence", str(ROOT / "charts" / "drlease-fence"),
                              "--include-crds", "-f", f.name)
    check(code == 0, f"drlease-fence: helm template {err.strip()}")
    docs = docs_of(rendered)
    kinds = sorted(d["kind"] for d in docs)
    check(kinds.count("ValidatingAdmissionPolicyBinding") == 4 and "CustomResourceDefinition" in kinds
          and "ClusterRoleBinding" in kinds and "PrometheusRule" in kinds, f"drlease-fence: objects {kinds}")
    code, _, err = c.k("apply", "--server-side", "--dry-run=server", "--validate=strict",
                       "--force-conflicts", "--field-manager=check-kube", "-f", "-", stdin=rendered)
    check(code == 0, f"drlease-fence: every object admitted (dry run) {err.strip()}")
    bad = {"leases": [{"name": "Bad_Name", "mode": "epoch"}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(bad, f)
    code, _, err = c.h("template", "x", str(ROOT / "charts" / "drlease-fence"), "-f", f.name)
    check(code != 0 and "not a valid Fence name" in err, "drlease-fence: a bad lease name fails rendering, saying why")


def main():
    kubectl, helm, kubeconfig, crds = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as home:
        c = Cluster(kubectl, helm, kubeconfig, home)
        code, out, _ = c.k("version", "-o", "json")
        server = json.loads(out)["serverVersion"]["gitVersion"] if code == 0 else "?"
        check(code == 0, f"the API server answers ({server})")
        run_id = f"{int(time.time()) % 100000}"

        print("the Prometheus Operator's CRDs, applied first")
        for crd in ["servicemonitors", "prometheusrules"]:
            path = Path(crds) / f"monitoring.coreos.com_{crd}.yaml"
            code, _, err = c.k("apply", "--server-side", "--validate=strict", "--force-conflicts", "-f", str(path))
            check(code == 0, f"CRD {crd}.monitoring.coreos.com applied {err.strip()}")
            code, _, err = c.k("wait", "--for=condition=Established", f"crd/{crd}.monitoring.coreos.com", "--timeout=60s")
            check(code == 0, f"CRD {crd} established {err.strip()}")

        print("the Admiral embedding (deploy/admiral-chart, drlease as its subchart)")
        parent = Path(home) / "admiral-chart"
        shutil.copytree(ROOT / "deploy" / "admiral-chart", parent)
        shutil.copytree(CHART, parent / "charts" / "drlease")
        ns = f"admiral-{run_id}"
        docs = helm_install(c, "admiral", parent, ns, None, "admiral embedding")
        kinds = sorted(d["kind"] for d in docs)
        check(kinds == ["ConfigMap", "Deployment", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"],
              f"admiral embedding: objects {kinds}")
        code, out, _ = c.k("get", "pod", "admiral-pod", "-n", ns, "-o", "json")
        if code == 0:
            check(json.loads(out)["spec"].get("serviceAccountName") == "admiral",
                  "admiral embedding: the Pod runs as Admiral's ServiceAccount")

        configs = [
            ("native sidecar with the gate listener (defaults, example on)", {"example": {"enabled": True}}),
            ("everything (ci/example-values.yaml: ServiceMonitor, PrometheusRule, NetworkPolicy)",
             yaml.safe_load((CHART / "ci" / "example-values.yaml").read_text())),
            ("global alert layout, no gate listener",
             {"example": {"enabled": True}, "gateListen": "", "prometheusRule": {"enabled": True, "layout": "global"}}),
            ("one write region with failback (docs/deploy.md: priority and failbackAfter)",
             {"example": {"enabled": True}, "lease": {"priority": 10, "failbackAfter": "10m"}}),
            ("an observer (neverAcquire)", {"example": {"enabled": True, "replicas": 1}, "lease": {"neverAcquire": True}}),
        ]
        for i, (what, values) in enumerate(configs):
            print(f"chart: {what}")
            helm_install(c, "drlease", CHART, f"drlease-{run_id}-{i}", values, what)

        print("chart: a helm upgrade that changes the config rolls the pods")
        ns = f"drlease-{run_id}-0"

        def template_annotations():
            code, out, _ = c.k("get", "deployment", "drlease-example", "-n", ns, "-o", "json")
            return json.loads(out)["spec"]["template"]["metadata"].get("annotations", {}) if code == 0 else {}

        before = template_annotations()
        code, _, err = c.h("upgrade", "drlease", str(CHART), "--namespace", ns, "--reuse-values",
                           "--set", "lease.longestLease=90s")
        check(code == 0, f"helm upgrade {err.strip()}")
        after = template_annotations()
        check(before.get("checksum/drlease-config") and after.get("checksum/drlease-config")
              and before != after, "the pod template's checksum/drlease-config changed: the Deployment rolls")

        print("kustomize overlays, server-side apply with strict validation")
        code, _, err = c.k("create", "namespace", "admiral")
        check(code == 0 or "AlreadyExists" in err, f"namespace admiral {err.strip()}")
        for overlay in ["us-west-2", "us-east-1"]:
            path = ROOT / "deploy" / "kubernetes" / "overlays" / overlay
            code, rendered, err = c.k("kustomize", str(path))
            check(code == 0, f"overlay {overlay} renders {err.strip()}")
            t = time.monotonic()
            code, _, err = c.k("apply", "--server-side", "--validate=strict", "-k", str(path))
            check(code == 0, f"overlay {overlay}: applied ({time.monotonic() - t:.1f} s) {err.strip()}")
            admitted(c, docs_of(rendered), "admiral", f"overlay {overlay}")
            c.k("delete", "pod", "controller-pod", "-n", "admiral", "--wait=false")
            c.k("delete", "-k", str(path), "--wait=false")

        fence_chart(c)

    if FAILURES:
        sys.exit(f"\n{len(FAILURES)} check(s) against the real API server failed:\n  " + "\n  ".join(FAILURES))
    print("\nevery object admitted by the real API server")


if __name__ == "__main__":
    main()
