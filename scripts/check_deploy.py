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


def render_parent():
    """Renders deploy/admiral-chart with charts/drlease as its unpacked dependency."""
    import shutil
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp) / "admiral-chart"
        shutil.copytree(ROOT / "deploy" / "admiral-chart", parent)
        shutil.copytree(CHART, parent / "charts" / "drlease")
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_chart.py"), str(parent)],
                             capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"helm could not render deploy/admiral-chart:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def kustomize(kubectl, tree, overlay):
    out = subprocess.run([kubectl, "kustomize", str(tree / "overlays" / overlay)], capture_output=True, text=True)
    check(out.returncode == 0, f"overlay {overlay} renders")
    if out.returncode != 0:
        print(out.stderr)
        return None
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
    check(c.get("startupProbe", {}).get("httpGet", {}).get("path") == "/healthz",
          f"{where}: startup probe on /healthz (an unreachable store must not restart the sidecar)")
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


def sidecar_env(docs):
    """The literal environment of the first Deployment's drlease container."""
    for d in by_kind(docs, "Deployment"):
        for c in d["spec"]["template"]["spec"].get("initContainers") or []:
            if c.get("name") == "drlease":
                return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
    return {}


def check_config(binary, docs, where, region=None, env=None):
    """drlease check-config on the rendered config file (with the sidecar's DRLEASE_*
    variables, which beat the file); returns {setting: value} as drlease resolved it."""
    cms = [d for d in by_kind(docs, "ConfigMap") if "dr.yaml" in d.get("data", {})]
    check(len(cms) == 1, f"{where}: one ConfigMap with dr.yaml")
    if not cms:
        return {}
    text = cms[0]["data"]["dr.yaml"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    import os
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEASE_")}
    run_env.update({k: v for k, v in (env or {}).items() if k.startswith("DRLEASE_")})
    # POD_NAME as the Downward API sets it in the pod (podRoleLabel needs it).
    run_env["POD_NAME"] = "ci"
    out = subprocess.run([binary, "check-config", "--config", f.name, "--identity", "ci"],
                         capture_output=True, text=True, env=run_env)
    check(out.returncode == 0, f"{where}: drlease accepts the rendered config ({out.stderr.strip() or 'check-config ok'})")
    settings = {}
    for line in out.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3:
            settings[parts[0]] = parts[1]
    if region:
        check(settings.get("region") == region, f"{where}: region {region} (drlease resolved {settings.get('region')})")
    return settings


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
    def refuses(edit, what):
        bad = yaml.safe_load((CHART / "values.yaml").read_text())
        edit(bad)
        try:
            jsonschema.validate(bad, schema)
            check(False, f"the schema refuses {what}")
        except jsonschema.ValidationError:
            check(True, f"the schema refuses {what}")

    refuses(lambda v: v["lease"].__setitem__("failureThreshold", 1), "failureThreshold 1")
    refuses(lambda v: v["lease"].__setitem__("longestLeas", "90s"), "a typo in lease (longestLeas)")
    refuses(lambda v: v.__setitem__("extraArg", []), "a typo at the top (extraArg)")
    with_global = yaml.safe_load((CHART / "values.yaml").read_text())
    with_global["global"] = {"imageRegistry": "example.com", "anything": {"nested": True}}
    try:
        jsonschema.validate(with_global, schema)
        check(True, "the schema accepts `global` (Helm passes a parent's globals to subcharts)")
    except jsonschema.ValidationError as e:
        check(False, f"the schema accepts `global`: {e.message}")

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
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts-region.yaml").read_text())
    check(rule["spec"] == alerts, "PrometheusRule holds deploy/prometheus/alerts-region.yaml (layout region, the default)")
    dep = by_kind(docs, "Deployment")[0]
    side = [c for c in dep["spec"]["template"]["spec"]["initContainers"] if c["name"] == "drlease"][0]
    env = {e["name"]: e.get("value") for e in side.get("env", [])}
    check(env.get("DRLEASE_IDENTITY") == "$(POD_NAME).us-west-2", "identity rendered as DRLEASE_IDENTITY after POD_NAME")
    check([e["name"] for e in side["env"]].index("POD_NAME") < [e["name"] for e in side["env"]].index("DRLEASE_IDENTITY"),
          "POD_NAME comes before DRLEASE_IDENTITY (so $(POD_NAME) expands)")
    check(env.get("AWS_STS_REGIONAL_ENDPOINTS") == "regional", "extraEnv rendered")
    check(side["args"][-2:] == ["--warmup", "45s"], "extraArgs rendered after run --config")
    config = yaml.safe_load(by_kind(docs, "ConfigMap")[0]["data"]["dr.yaml"])["drlease"]
    check(config.get("longestLease") == "90s" and config.get("maxWatchers") == 64
          and config.get("endpointUrl") == "https://dynamodb.us-west-2.amazonaws.com",
          "longestLease, maxWatchers, endpointUrl in the config")
    annotation = dep["spec"]["template"]["metadata"].get("annotations", {}).get("checksum/drlease-config", "")
    check(len(annotation) == 64, "pod template carries checksum/drlease-config")
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

    print("chart: the config's checksum follows the config; the global alert layout")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as other:
        values = yaml.safe_load((CHART / "ci" / "example-values.yaml").read_text())
        values["lease"]["longestLease"] = "120s"
        values["prometheusRule"]["layout"] = "global"
        yaml.safe_dump(values, other)
        other.flush()
        docs2 = render_chart(Path(other.name))
    annotation2 = by_kind(docs2, "Deployment")[0]["spec"]["template"]["metadata"]["annotations"]["checksum/drlease-config"]
    check(annotation2 != annotation, "a config change changes the pods' checksum annotation (helm upgrade rolls them)")
    alerts_global = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts-global.yaml").read_text())
    check(by_kind(docs2, "PrometheusRule")[0]["spec"] == alerts_global,
          "prometheusRule.layout=global: PrometheusRule holds deploy/prometheus/alerts-global.yaml")

    print("the Admiral embedding example (deploy/admiral-chart)")
    docs3 = render_parent()
    kinds = sorted(d["kind"] for d in docs3)
    check(kinds == ["ConfigMap", "Deployment", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"],
          f"admiral example objects: {kinds}")
    sas = by_kind(docs3, "ServiceAccount")
    check([a["metadata"]["name"] for a in sas] == ["admiral"], "only Admiral's own ServiceAccount (drlease creates none)")
    check(sas and sas[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "").startswith("arn:aws:iam::"),
          "the IRSA role is on Admiral's ServiceAccount, which the sidecar runs as")
    admiral = by_kind(docs3, "Deployment")[0]
    pod = admiral["spec"]["template"]
    check(pod["spec"].get("serviceAccountName") == "admiral", "Admiral's pod keeps Admiral's ServiceAccount")
    check_sidecar(pod["spec"], "admiral example Deployment")
    service = by_kind(docs3, "Service")[0]
    check(all(pod["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items()),
          f"the Service selects Admiral's pods ({service['spec']['selector']})")
    monitor = by_kind(docs3, "ServiceMonitor")[0]
    check(all(service["metadata"]["labels"].get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items()),
          "the ServiceMonitor selects that Service")
    mounted = {v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v}
    check(mounted == {by_kind(docs3, "ConfigMap")[0]["metadata"]["name"]}, "the pod mounts the subchart's ConfigMap")
    check("checksum/drlease-config" in pod["metadata"].get("annotations", {}), "Admiral's pods carry the config checksum")
    admiral_env = {e["name"]: e.get("value") for c in pod["spec"]["containers"] for e in c.get("env", [])}
    gate = yaml.safe_load(by_kind(docs3, "ConfigMap")[0]["data"]["dr.yaml"])["drlease"].get("gateListen")
    check(gate and admiral_env.get("DRLEASE_GATE_URL") == f"http://{gate}",
          f"Admiral is told the gate listener ({admiral_env.get('DRLEASE_GATE_URL')})")
    check_config(binary, docs3, "admiral example")

    print("chart refuses an IRSA role for a ServiceAccount it does not create")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as wrong:
        wrong.write("serviceAccount:\n  create: false\naws:\n  irsaRoleArn: arn:aws:iam::123456789012:role/x\n")
        wrong.flush()
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_chart.py"), str(CHART), wrong.name],
                             capture_output=True, text=True, timeout=300)
        check(out.returncode != 0 and "annotate that one" in out.stderr,
              "rendering fails, saying to annotate the pod's own ServiceAccount")

    print("chart copies of the alert rules")
    for layout in ["region", "global"]:
        name = f"alerts-{layout}.yaml"
        check((CHART / "files" / name).read_text() == (ROOT / "deploy" / "prometheus" / name).read_text(),
              f"charts/drlease/files/{name} equals deploy/prometheus/{name}")
    groups = {layout: {g["name"]: g for g in yaml.safe_load(
        (ROOT / "deploy" / "prometheus" / f"alerts-{layout}.yaml").read_text())["groups"]} for layout in ["region", "global"]}
    check(groups["region"]["drlease-pod"] == groups["global"]["drlease-pod"],
          "the per-pod rule group is the same in both layouts")

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
    for overlay, other in [("us-west-2", "us-east-1"), ("us-east-1", "us-west-2")]:
        docs = kustomize(kubectl, ROOT / "deploy" / "kubernetes", overlay)
        if docs is None:
            continue
        for d in by_kind(docs, "Deployment"):
            check_sidecar(d["spec"]["template"]["spec"], f"overlay {overlay} Deployment")
        role = by_kind(docs, "ServiceAccount")[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")
        check(role.endswith(f"drlease-{overlay}"), f"overlay {overlay}: its own IAM role")
        settings = check_config(binary, docs, f"overlay {overlay}", region=overlay, env=sidecar_env(docs))
        check(settings.get("peer-regions") == other, f"overlay {overlay}: peer regions {other} ({settings.get('peer-regions')})")
        check(settings.get("priority") == "0" and settings.get("failback-after") in ("off", None),
              f"overlay {overlay}: no priority, no failback on MREC (priority {settings.get('priority')})")
        pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
        side = [c for c in pod["initContainers"] if c["name"] == "drlease"][0]
        check(side["image"].startswith(f"123456789012.dkr.ecr.{overlay}.amazonaws.com/drlease:"),
              f"overlay {overlay}: its registry through images: ({side['image']})")
        gate = settings.get("gate-listen")
        controller_env = {e["name"]: e.get("value") for c in pod["containers"] for e in c.get("env", [])}
        check(gate and controller_env.get("DRLEASE_GATE_URL") == f"http://{gate}",
              f"overlay {overlay}: the controller is told the gate listener ({controller_env.get('DRLEASE_GATE_URL')})")

    print("kustomize: an edit of the base's config reaches every overlay")
    import shutil
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "kubernetes"
        shutil.copytree(ROOT / "deploy" / "kubernetes", tree)
        cm = tree / "base" / "configmap.yaml"
        cm.write_text(cm.read_text().replace("waitTimeInSeconds: 15", "waitTimeInSeconds: 7"))
        for overlay in ["us-west-2", "us-east-1"]:
            docs = kustomize(kubectl, tree, overlay) or []
            settings = check_config(binary, docs, f"edited base, overlay {overlay}", env=sidecar_env(docs))
            check(settings.get("interval") == "7s", f"overlay {overlay} carries the base's edit (interval {settings.get('interval')})")

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
