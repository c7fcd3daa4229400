"""Render the Helm chart with real helm, without a cluster.

helm is not in Debian's packages; PyPI's helm-sdkpy ships helm as a library, but exposes
install and lint, not template. So this starts a minimal fake Kubernetes API server on
loopback (discovery, secrets for helm's release storage, and create/get for any object),
runs `helm install` against it with the given values, and prints every object helm
created as one YAML stream on stdout.

Usage: python render_chart.py CHART [VALUES.yaml]   (Python 3.12 with helm-sdkpy, PyYAML)
"""

import asyncio
import json
import os
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import yaml

# The kinds the chart may create, by group/version: (resource, kind, namespaced).
RESOURCES = {
    "v1": [
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("services", "Service", True),
        ("namespaces", "Namespace", False),
    ],
    "apps/v1": [("deployments", "Deployment", True), ("statefulsets", "StatefulSet", True)],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
    "rbac.authorization.k8s.io/v1": [("roles", "Role", True), ("rolebindings", "RoleBinding", True)],
    "monitoring.coreos.com/v1": [
        ("servicemonitors", "ServiceMonitor", True),
        ("prometheusrules", "PrometheusRule", True),
    ],
}

STORE = {}  # path -> object
CREATED = []  # objects created by helm, in order (not helm's own release secrets)
LOCK = threading.Lock()


def resource_list(gv):
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for name, kind, namespaced in RESOURCES[gv]
        ],
    }


def group_list():
    groups = {}
    for gv in RESOURCES:
        if "/" in gv:
            group, version = gv.split("/")
            groups.setdefault(group, []).append(version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": g,
                "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
            }
            for g, vs in groups.items()
        ],
    }


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self):
        self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "NotFound", "code": 404, "message": "not found"})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        if "protobuf" in (self.headers.get("Content-Type") or ""):
            # Only helm's own release records come as protobuf; their contents do not
            # matter here, their name does.
            m = re.search(rb"sh\.helm\.release\.v1\.[a-z0-9.-]+\.v[0-9]+", raw)
            name = m.group(0).decode() if m else "unknown"
            return {"kind": "Secret", "apiVersion": "v1",
                    "metadata": {"name": name, "namespace": "default",
                                 "labels": {"owner": "helm"}}}
        return json.loads(raw or b"{}")

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/version":
            return self.send(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0",
                                   "platform": "linux/amd64"})
        if path == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self.send(200, group_list())
        if path == "/api/v1":
            return self.send(200, resource_list("v1"))
        if path.startswith("/apis/") and path.count("/") == 3:
            gv = path[len("/apis/"):]
            if gv in RESOURCES:
                return self.send(200, resource_list(gv))
        with LOCK:
            if path in STORE:
                return self.send(200, STORE[path])
            # A list (helm lists its release secrets): everything under the path.
            items = [o for p, o in STORE.items() if p.startswith(path + "/")]
        if path.endswith("s") and "/namespaces/" in path and path.rsplit("/", 1)[-1] in {
            r for rs in RESOURCES.values() for r, _, _ in rs
        }:
            return self.send(200, {"kind": "List", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": "1"}, "items": items})
        return self.not_found()

    def do_POST(self):
        path = urlparse(self.path).path
        obj = self.body()
        meta = obj.setdefault("metadata", {})
        meta.setdefault("resourceVersion", "1")
        meta.setdefault("uid", f"uid-{len(STORE)}")
        with LOCK:
            STORE[f"{path}/{meta.get('name')}"] = obj
            owner = meta.get("labels", {}).get("owner")
            if not (obj.get("kind") == "Secret" and owner == "helm"):
                CREATED.append(obj)
        self.send(201, obj)

    def do_PUT(self):
        path = urlparse(self.path).path
        obj = self.body()
        with LOCK:
            STORE[path] = obj
        self.send(200, obj)

    def do_PATCH(self):
        self.do_PUT()

    def do_DELETE(self):
        self.send(200, {"kind": "Status", "status": "Success"})


def main():
    chart = os.path.abspath(sys.argv[1])
    values = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            values = yaml.safe_load(f) or {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "fake", "user": {"token": "fake"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                   "namespace": "default"}}],
    }
    with tempfile.TemporaryDirectory() as home:
        path = os.path.join(home, "kubeconfig")
        with open(path, "w") as f:
            json.dump(kubeconfig, f)
        os.environ["HOME"] = home
        os.environ["HELM_CACHE_HOME"] = os.path.join(home, "cache")
        os.environ["HELM_CONFIG_HOME"] = os.path.join(home, "config")
        os.environ["HELM_DATA_HOME"] = os.path.join(home, "data")
        from helm_sdkpy import Configuration, Install

        config = Configuration(namespace="default", kubeconfig=path)
        asyncio.run(Install(config).run("drlease", chart, values=values, wait=False, timeout=60))
    server.shutdown()
    yaml.safe_dump_all(CREATED, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
