//! A real Kubernetes API server for the role-label tests: scripts/kube.sh starts one
//! (scripts/test.sh does, and exports DRLEASE_TEST_KUBECONFIG with its admin kubeconfig).
//! Pods are objects only (no kubelet): they stay Pending, which is all the label needs.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drlease::sys::kube_client::{connect, KubeSource};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::config::Kubeconfig;
use kube::Client;

/// The admin kubeconfig of the API server scripts/test.sh started. Without one these tests
/// are skipped (loudly), unless DRLEASE_REQUIRE_KUBE=1 makes that a failure.
pub fn kubeconfig() -> Option<PathBuf> {
    match std::env::var("DRLEASE_TEST_KUBECONFIG") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            if std::env::var("DRLEASE_REQUIRE_KUBE").is_ok_and(|v| v == "1") {
                panic!(
                    "DRLEASE_TEST_KUBECONFIG is not set and DRLEASE_REQUIRE_KUBE=1: run \
                     scripts/test.sh, or scripts/kube.sh start DIR and export \
                     DRLEASE_TEST_KUBECONFIG=DIR/kubeconfig"
                );
            }
            eprintln!(
                "SKIPPED: DRLEASE_TEST_KUBECONFIG not set; scripts/test.sh starts a real API \
                 server (or: scripts/kube.sh start DIR, export DRLEASE_TEST_KUBECONFIG=DIR/kubeconfig)"
            );
            None
        }
    }
}

pub async fn client(kubeconfig: &Path) -> Client {
    connect(
        &KubeSource::Kubeconfig(kubeconfig.to_path_buf()),
        Duration::from_secs(10),
    )
    .await
    .expect("kubeconfig")
    .client
}

/// The permissions the chart's Role grants with podRoleLabel: true.
pub fn chart_rules() -> Vec<PolicyRule> {
    let rule = |resource: &str, verb: &str| PolicyRule {
        api_groups: Some(vec!["".into()]),
        resources: Some(vec![resource.into()]),
        verbs: vec![verb.into()],
        ..Default::default()
    };
    vec![rule("pods", "patch"), rule("events", "create")]
}

fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(String::from),
        ..Default::default()
    }
}

/// A namespace of its own with a Pod object per name.
pub async fn namespace_with_pods(client: &Client, prefix: &str, pods: &[&str]) -> String {
    let ns = super::unique(prefix);
    let pp = PostParams::default();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &pp,
            &Namespace {
                metadata: meta(&ns, None),
                ..Default::default()
            },
        )
        .await
        .expect("create namespace");
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for name in pods {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name },
            "spec": { "containers": [{ "name": "controller", "image": "registry.k8s.io/pause:3.10" }] }
        }))
        .unwrap();
        api.create(&pp, &pod).await.expect("create pod");
    }
    ns
}

/// A kubeconfig for a new ServiceAccount `sa` in `ns`, with the chart's Role bound to it
/// when `grant`, none otherwise; written beside the tests' other files.
pub async fn service_account(
    client: &Client,
    admin: &Path,
    ns: &str,
    sa: &str,
    grant: bool,
) -> PathBuf {
    let pp = PostParams::default();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    accounts
        .create(
            &pp,
            &ServiceAccount {
                metadata: meta(sa, Some(ns)),
                ..Default::default()
            },
        )
        .await
        .expect("create service account");
    if grant {
        let roles: Api<Role> = Api::namespaced(client.clone(), ns);
        roles
            .create(
                &pp,
                &Role {
                    metadata: meta(sa, Some(ns)),
                    rules: Some(chart_rules()),
                },
            )
            .await
            .expect("create role");
        let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
        let binding = RoleBinding {
            metadata: meta(sa, Some(ns)),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: sa.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: sa.into(),
                namespace: Some(ns.into()),
                ..Default::default()
            }]),
        };
        bindings
            .create(&pp, &binding)
            .await
            .expect("create binding");
    }
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = accounts
        .create_token_request(sa, &pp, &request)
        .await
        .expect("token request")
        .status
        .expect("token")
        .token;
    let admin_config = Kubeconfig::read_from(admin).unwrap();
    let cluster = admin_config.clusters[0].cluster.clone().unwrap();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority-data: \"{}\"}}\n\
         users:\n- name: sa\n  user: {{token: \"{token}\"}}\ncontexts:\n- name: sa\n  context: {{cluster: c, user: sa, namespace: {ns}}}\n\
         current-context: sa\n",
        cluster.server.unwrap(),
        cluster.certificate_authority_data.unwrap(),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kubeconfigs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{ns}-{sa}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The Pod's `drlease.io/role` label (`None`: no label, or the server did not answer).
pub async fn label(client: &Client, ns: &str, pod: &str) -> Option<String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod = api.get(pod).await.ok()?;
    pod.metadata.labels?.get("drlease.io/role").cloned()
}

/// The Events about `pod`, oldest first: (reason, message).
pub async fn events(client: &Client, ns: &str, pod: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return Vec::new();
    };
    let mut items: Vec<Event> = list
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(pod))
        .collect();
    // Creation timestamps have whole seconds: order by the store's revision instead.
    let revision = |e: &Event| {
        e.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    };
    items.sort_by_key(revision);
    items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

/// Waits until `cond` holds; a guard against a hang, not a claim about speed.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the Pod's label is `role`.
pub async fn wait_label(client: &Client, ns: &str, pod: &str, role: &str, limit: Duration) {
    eventually(limit, &format!("pod {pod} labelled {role}"), || async {
        label(client, ns, pod).await.as_deref() == Some(role)
    })
    .await;
}

/// `scripts/kube.sh start|stop DIR`: a private API server, for a test that stops it.
pub fn kube_sh(command: &str, dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kube.sh");
    let out = std::process::Command::new(script)
        .arg(command)
        .arg(dir)
        .output()
        .expect("run scripts/kube.sh");
    assert!(
        out.status.success(),
        "scripts/kube.sh {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
