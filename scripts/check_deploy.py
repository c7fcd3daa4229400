"""Checks the deployment artifacts: the Helm chart rendered with real helm (default and
example values), the kustomize overlays rendered with kubectl, the config they carry
(through the real drlease binary), the alert rules' copy in the chart, and the dashboard's
metric names. Run by scripts/check-deploy.sh; fails loudly on the first broken promise.

Usage: python check_deploy.py DRLEASE_BINARY KUBECTL
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "drlease"
FAILURES = []


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def render_chart(values_file):
    args = [sys.executable, str(ROOT / "scripts" / "render_chart.py"), str(CHART)]
    if values_file:
        args.append(str(values_file))
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"helm could not render the chart with {values_file or 'default values'}:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def check_sidecar(pod_spec, where):
    inits = pod_spec.get("initContainers") or []
    side = [c for c in inits if c.get("name") == "drlease"]
    check(len(side) == 1, f"{where}: drlease is an init container")
    if not side:
        return
    c = side[0]
    sc = c.get("securityContext", {})
    check(c.get("restartPolicy") == "Always", f"{where}: native sidecar (restartPolicy: Always)")
    check(c.get("startupProbe", {}).get("httpGet", {}).get("path") == "/readyz", f"{where}: startup probe on /readyz")
    check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", f"{where}: liveness probe on /healthz")
    check(sc.get("runAsNonRoot") is True, f"{where}: runs as non-root")
    check(sc.get("readOnlyRootFilesystem") is True, f"{where}: read-only root filesystem")
    check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{where}: drops all capabilities")
    check(sc.get("allowPrivilegeEscalation") is False, f"{where}: no privilege escalation")
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
          f"{where}: identity from the pod name (downward API)")
    check(any(p.get("containerPort") == 9797 for p in c.get("ports", [])), f"{where}: port 9797")
    volumes = {v["name"] for v in pod_spec.get("volumes", [])}
    check(all(m["name"] in volumes for m in c.get("volumeMounts", [])), f"{where}: every mount has a volume")
    others = [x for x in pod_spec.get("containers", [])]
    check(len(others) >= 1, f"{where}: a controller container beside it")


def check_config(binary, docs, where, region=None):
    cms = [d for d in by_kind(docs, "ConfigMap") if "dr.yaml" in d.get("data", {})]
    check(len(cms) == 1, f"{where}: one ConfigMap with dr.yaml")
    if not cms:
        return
    text = cms[0]["data"]["dr.yaml"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    # POD_NAME as the Downward API sets it in the pod (podRoleLabel needs it).
    out = subprocess.run([binary, "check-config", "--config", f.name, "--identity", "ci"],
                         capture_output=True, text=True, env={**os.environ, "POD_NAME": "ci"})
    check(out.returncode == 0, f"{where}: drlease accepts the rendered config ({out.stderr.strip() or 'check-config ok'})")
    if region:
        check(yaml.safe_load(text)["dynamoDB"]["region"] == region, f"{where}: region {region}")


POD_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]


def check_pod_role_label(binary, kubectl):
    """podRoleLabel (chart) and components/pod-role-label (kustomize): exactly the RBAC the
    role label needs, bound to the sidecar's ServiceAccount, and the setting turned on with
    the pod's namespace; nothing when off (the default render has no Role)."""
    print("chart with podRoleLabel: true")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as on:
        on.write("podRoleLabel: true\nexample:\n  enabled: true\n")
        on.flush()
        docs = render_chart(on.name)
    roles, bindings = by_kind(docs, "Role"), by_kind(docs, "RoleBinding")
    check(len(roles) == 1 and roles[0]["rules"] == POD_ROLE_RULES, "Role: patch pods, create events, nothing else")
    sa = by_kind(docs, "ServiceAccount")[0]["metadata"]["name"]
    check(len(bindings) == 1 and bindings[0]["roleRef"]["name"] == roles[0]["metadata"]["name"]
          and [s["name"] for s in bindings[0]["subjects"]] == [sa], "RoleBinding: that Role to the chart's ServiceAccount")
    for d in by_kind(docs, "Deployment"):
        side = [c for c in d["spec"]["template"]["spec"]["initContainers"] if c["name"] == "drlease"][0]
        env = {e["name"]: e for e in side.get("env", [])}
        check(env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace",
              "the sidecar gets POD_NAMESPACE (downward API)")
    text = [d for d in by_kind(docs, "ConfigMap") if "dr.yaml" in d.get("data", {})][0]["data"]["dr.yaml"]
    check(yaml.safe_load(text)["drlease"].get("podRoleLabel") is True, "the config turns podRoleLabel on")
    check_config(binary, docs, "podRoleLabel values")

    print("kustomize component pod-role-label")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "kubernetes"
        shutil.copytree(ROOT / "deploy" / "kubernetes", base)
        overlay = base / "overlays" / "us-west-2" / "kustomization.yaml"
        overlay.write_text(overlay.read_text() + "components:\n  - ../../components/pod-role-label\n")
        out = subprocess.run([kubectl, "kustomize", str(overlay.parent)], capture_output=True, text=True)
    check(out.returncode == 0, f"an overlay with the component renders {out.stderr.strip()}")
    if out.returncode != 0:
        return
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    roles, bindings = by_kind(docs, "Role"), by_kind(docs, "RoleBinding")
    check(len(roles) == 1 and roles[0]["rules"] == POD_ROLE_RULES, "component Role: patch pods, create events, nothing else")
    subject = bindings[0]["subjects"][0] if bindings else {}
    check(subject.get("name") == "drlease" and subject.get("namespace") == roles[0]["metadata"].get("namespace"),
          "component RoleBinding: the drlease ServiceAccount in the overlay's namespace")
    side = [c for d in by_kind(docs, "Deployment") for c in d["spec"]["template"]["spec"]["initContainers"]][0]
    env = {e["name"]: e for e in side.get("env", [])}
    check(env.get("DRLEASE_POD_ROLE_LABEL", {}).get("value") == "true" and "POD_NAMESPACE" in env,
          "component turns the setting on, with POD_NAMESPACE")


def main():
    binary, kubectl = sys.argv[1], sys.argv[2]
    schema = json.loads((CHART / "values.schema.json").read_text())
    print("chart values against values.schema.json")
    for vf in [CHART / "values.yaml", CHART / "ci" / "example-values.yaml"]:
        merged = yaml.safe_load((CHART / "values.yaml").read_text())
        override = yaml.safe_load(vf.read_text()) or {}

        def merge(a, b):
            for k, v in b.items():
                a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
            return a

        try:
            jsonschema.validate(merge(merged, override), schema)
            check(True, f"{vf.relative_to(ROOT)} validates")
        except jsonschema.ValidationError as e:
            check(False, f"{vf.relative_to(ROOT)} validates: {e.message}")
    bad = yaml.safe_load((CHART / "values.yaml").read_text())
    bad["lease"]["failureThreshold"] = 1
    try:
        jsonschema.validate(bad, schema)
        check(False, "the schema refuses failureThreshold 1")
    except jsonschema.ValidationError:
        check(True, "the schema refuses failureThreshold 1")

    print("chart rendered with default values")
    docs = render_chart(None)
    kinds = sorted(d["kind"] for d in docs)
    check(kinds == ["ConfigMap", "Service", "ServiceAccount"], f"default objects: {kinds}")
    check_config(binary, docs, "default values")

    print("chart rendered with ci/example-values.yaml")
    docs = render_chart(CHART / "ci" / "example-values.yaml")
    kinds = sorted(d["kind"] for d in docs)
    check(kinds == ["ConfigMap", "Deployment", "NetworkPolicy", "PrometheusRule", "Service",
                    "ServiceAccount", "ServiceMonitor"], f"example objects: {kinds}")
    for d in by_kind(docs, "Deployment"):
        check_sidecar(d["spec"]["template"]["spec"], "chart example Deployment")
    sa = by_kind(docs, "ServiceAccount")[0]
    check(sa["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "").startswith("arn:aws:iam::"),
          "ServiceAccount carries the IRSA role")
    rule = by_kind(docs, "PrometheusRule")[0]
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    check(rule["spec"] == alerts, "PrometheusRule holds deploy/prometheus/alerts.yaml")
    check(by_kind(docs, "ServiceMonitor")[0]["spec"]["endpoints"][0]["path"] == "/metrics", "ServiceMonitor scrapes /metrics")
    np_ports = [p["port"] for r in by_kind(docs, "NetworkPolicy")[0]["spec"]["ingress"] for p in r["ports"]]
    check(np_ports == [9797], "NetworkPolicy opens only the sidecar's port")
    check_config(binary, docs, "example values")

    print("chart refuses failbackAfter with peerRegions")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as both:
        both.write("lease:\n  peerRegions: us-east-1\n  failbackAfter: 10m\n")
        both.flush()
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_chart.py"), str(CHART), both.name],
                             capture_output=True, text=True, timeout=300)
        check(out.returncode != 0 and "cannot be set with lease.peerRegions" in out.stderr,
              "rendering with both fails, naming the reason")

    print("chart copy of the alert rules")
    check((CHART / "files" / "alerts.yaml").read_text() == (ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text(),
          "charts/drlease/files/alerts.yaml equals deploy/prometheus/alerts.yaml")

    print("chart README documents every value")
    readme = (CHART / "README.md").read_text()

    # Free-form blocks (Kubernetes objects, label maps) are documented as a whole.
    free_form = {"resources"}

    def leaves(d, prefix=""):
        for k, v in d.items():
            path = f"{prefix}{k}"
            if isinstance(v, dict) and v and path not in free_form:
                yield from leaves(v, path + ".")
            else:
                yield path

    missing = [p for p in leaves(yaml.safe_load((CHART / "values.yaml").read_text())) if f"`{p}`" not in readme]
    check(not missing, f"values documented in charts/drlease/README.md (missing: {missing})")

    print("kustomize overlays")
    for overlay in ["us-west-2", "us-east-1"]:
        path = ROOT / "deploy" / "kubernetes" / "overlays" / overlay
        out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True)
        check(out.returncode == 0, f"overlay {overlay} renders")
        if out.returncode != 0:
            print(out.stderr)
            continue
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        for d in by_kind(docs, "Deployment"):
            check_sidecar(d["spec"]["template"]["spec"], f"overlay {overlay} Deployment")
        role = by_kind(docs, "ServiceAccount")[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")
        check(role.endswith(f"drlease-{overlay}"), f"overlay {overlay}: its own IAM role")
        check_config(binary, docs, f"overlay {overlay}", region=overlay)

    check_pod_role_label(binary, kubectl)

    print("dashboard")
    dash = json.loads((ROOT / "deploy" / "grafana" / "drlease-dashboard.json").read_text())
    metrics_rs = (ROOT / "src" / "run" / "metrics.rs").read_text()
    known = set(re.findall(
        r'(?:s|self)\.(?:int_gauge|gauge|int_counter|int_gauge_vec|int_counter_vec)\(\s*"([a-z_]+)"',
        metrics_rs))
    known |= {"store_request_duration_seconds"}
    known |= set(re.findall(r'HistogramOpts::new\(\s*"([a-z_]+)"', metrics_rs))
    used = set()
    for p in dash["panels"]:
        for t in p["targets"]:
            used |= {m[len("drlease_"):] for m in re.findall(r"drlease_[a-z_]+", t["expr"])}
    used = {re.sub(r"_(bucket|sum|count)$", "", u) for u in used}
    check(used <= known, f"dashboard metrics exist in src/run/metrics.rs (unknown: {sorted(used - known)})")

    if FAILURES:
        sys.exit(f"\n{len(FAILURES)} deployment check(s) failed:\n  " + "\n  ".join(FAILURES))
    print("\nall deployment checks passed")


if __name__ == "__main__":
    main()
