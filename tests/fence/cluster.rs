//! The two target clusters: real kube-apiservers started by scripts/test.sh
//! (scripts/kube.sh), configured with kubectl as an operator would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Everything the fencing tests need from outside; `None` (skip) outside scripts/test.sh.
pub struct Env {
    /// One kubeconfig per target cluster (contexts admin, writer-a, writer-b, nobody).
    pub kubeconfigs: [String; 2],
    pub kubectl: String,
    /// clients/go/fence/cmd/fence-writer, built by scripts/test.sh.
    pub writer: String,
    /// clients/go/fence/cmd/drlease-fence, built by scripts/test.sh.
    pub raiser: String,
}

pub fn env() -> Option<Env> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(Env {
            kubeconfigs: [
                var("DRLEASE_TEST_KUBECONFIG")?,
                var("DRLEASE_TEST_KUBECONFIG_B")?,
            ],
            kubectl: var("DRLEASE_TEST_KUBECTL")?,
            writer: var("DRLEASE_TEST_FENCE_WRITER")?,
            raiser: var("DRLEASE_TEST_FENCE_RAISER")?,
        })
    })();
    if found.is_none() {
        assert!(
            std::env::var("DRLEASE_REQUIRE_KUBE").as_deref() != Ok("1"),
            "DRLEASE_REQUIRE_KUBE=1 but the API servers are not set up: run scripts/test.sh"
        );
        eprintln!("skipped: no API servers (scripts/test.sh starts two)");
    }
    found
}

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/fence")
}

impl Env {
    /// `kubectl --kubeconfig <cluster> ARGS`, with `stdin` piped in; panics on failure.
    pub fn kubectl(&self, cluster: usize, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfigs[cluster])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?} on cluster {cluster}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The Fence CRD and the policies, on both clusters, as deploy/kubernetes/fence ships them.
    pub fn install(&self) {
        for cluster in 0..2 {
            for file in ["crd.yaml", "policies.yaml"] {
                let path = manifests().join(file);
                self.kubectl(
                    cluster,
                    &[
                        "apply",
                        "--server-side",
                        "--force-conflicts",
                        "-f",
                        path.to_str().unwrap(),
                    ],
                    "",
                );
            }
            self.kubectl(
                cluster,
                &[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    "crd/fences.drlease.io",
                ],
                "",
            );
        }
    }

    /// Binds the epoch policy to `lease`'s labelled objects, on both clusters.
    pub fn bind_epoch(&self, lease: &str) {
        let binding = format!(
            "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: drlease-fence-epoch-{lease}}}
spec:
  policyName: drlease-fence-epoch
  validationActions: [Deny]
  paramRef: {{name: {lease}, parameterNotFoundAction: Deny}}
  matchResources:
    objectSelector: {{matchLabels: {{drlease.io/lease: {lease}}}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: drlease-fence-epoch-{lease}-probe}}
spec:
  policyName: drlease-fence-epoch
  validationActions: [Deny]
  paramRef: {{name: {lease}, parameterNotFoundAction: Deny}}
  matchResources:
    objectSelector: {{matchLabels: {{drlease.io/probe: {lease}}}}}
"
        );
        for cluster in 0..2 {
            self.kubectl(cluster, &["apply", "-f", "-"], &binding);
        }
    }

    /// Writer-identity mode for `lease`: a namespace of its own whose ConfigMaps the two
    /// regions' writers (fence-writer-a, fence-writer-b) may write, guarded by the writer
    /// policy; returns the namespace.
    pub fn bind_writers(&self, lease: &str) -> String {
        let ns = format!("w-{lease}");
        let objects = format!(
            "apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: writer, namespace: {ns}}}
rules:
- {{apiGroups: [\"\"], resources: [configmaps], verbs: [get, list, create, update, patch, delete]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: writers, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: writer}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: fence-writer-a}}
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: fence-writer-b}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: drlease-fence-writer-{lease}}}
spec:
  policyName: drlease-fence-writer
  validationActions: [Deny]
  paramRef: {{name: {lease}, parameterNotFoundAction: Deny}}
  matchResources:
    namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}
    resourceRules:
    - {{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE, DELETE], resources: [configmaps]}}
"
        );
        for cluster in 0..2 {
            self.kubectl(cluster, &["apply", "-f", "-"], &objects);
        }
        ns
    }

    /// The epoch the fence of `lease` holds in `cluster`.
    pub fn fence(&self, cluster: usize, lease: &str) -> Option<u64> {
        let out = self.kubectl(
            cluster,
            &[
                "get",
                "fences.drlease.io",
                lease,
                "-o",
                "jsonpath={.spec.epoch}",
                "--ignore-not-found",
            ],
            "",
        );
        out.trim().parse().ok()
    }
}
