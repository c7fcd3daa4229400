//! The role on the pod's own Pod (`--pod-role-label`), against a real Kubernetes API server
//! (scripts/kube.sh) with real drlease processes on moto: the label follows kill -9,
//! SIGTERM and handover; it catches up after the API server was stopped and started
//! again; without the RBAC it needs, the refusal is logged once, naming the permission,
//! and the lease goes on. Pods are objects only (Pending: no kubelet).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::kubernetes::{self as k8s, label, wait_label};
use common::operator::{fixture, settle, text, Fixture};
use common::sidecar::{wait_active, wait_new_tenure, Launch, Sidecar};
use kube::Client;

/// A guard against a hang, not a claim about speed: the role label retries at most every
/// 10 s, and a loaded 2-core machine is slow to start processes.
const LIMIT: Duration = Duration::from_secs(90);

struct Setup {
    fx: Fixture,
    client: Client,
    ns: String,
    /// The kubeconfig the sidecars use.
    kubeconfig: PathBuf,
}

/// A lease on moto, a namespace with `pods`, and a ServiceAccount kubeconfig with the
/// chart's Role bound (`grant`) or nothing; `None` (skipped) without moto or the API server.
async fn setup(admin: &Path, prefix: &str, pods: &[&str], grant: bool) -> Option<Setup> {
    let fx = fixture().await?;
    let client = k8s::client(admin).await;
    let ns = k8s::namespace_with_pods(&client, prefix, pods).await;
    let kubeconfig = k8s::service_account(&client, admin, &ns, "drlease", grant).await;
    Some(Setup {
        fx,
        client,
        ns,
        kubeconfig,
    })
}

impl Setup {
    /// The lease at interval 500 ms x 3: the release deadline (two call timeouts, 1 s),
    /// within which a terminated sidecar relabels itself, leaves room on a loaded machine.
    fn lease_args(&self) -> Vec<String> {
        let f = &self.fx;
        common::lease_args(&f.endpoint, &f.table, &f.lease, "500ms", "3")
    }

    /// `drlease <sub>` as an operator would, on the same lease.
    fn cli(&self, sub: &str, extra: &[&str]) -> std::process::Output {
        std::process::Command::new(common::sidecar::BIN)
            .arg(sub)
            .args(self.lease_args())
            .args(extra)
            .output()
            .unwrap()
    }

    /// `drlease run` for Pod `pod`, its name and namespace in the Downward API's variables.
    fn sidecar(&self, pod: &str) -> Sidecar {
        let mut args = self.lease_args();
        args.extend(["--pod-role-label".to_string(), "--kubeconfig".to_string()]);
        args.push(self.kubeconfig.display().to_string());
        let launch = Launch {
            env: vec![
                ("POD_NAME".into(), pod.into()),
                ("POD_NAMESPACE".into(), self.ns.clone()),
            ],
            ..Launch::default()
        };
        Sidecar::start_with(launch, pod, &args)
    }

    async fn wait_label(&self, pod: &str, role: &str) {
        wait_label(&self.client, &self.ns, pod, role, LIMIT).await;
    }

    async fn label(&self, pod: &str) -> Option<String> {
        label(&self.client, &self.ns, pod).await
    }
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_follows_a_kill_9_and_the_dead_pods_label_stays_stale() {
    let Some(admin) = k8s::kubeconfig() else {
        return;
    };
    let Some(t) = setup(&admin, "kill9", &["pod-a", "pod-b"], true).await else {
        return;
    };
    let mut pods = [t.sidecar("pod-a"), t.sidecar("pod-b")];
    let i = blocking(|| settle(&pods[0], &pods[1]));
    let (dead, survivor) = (pods[i].identity.clone(), pods[1 - i].identity.clone());
    t.wait_label(&dead, "active").await;
    t.wait_label(&survivor, "passive").await;
    let epoch = pods[i].view().expect("view").epoch;
    pods[i].kill9();
    let (_, new_epoch, _) = blocking(|| wait_new_tenure(&[&pods[1 - i]], epoch, LIMIT))
        .expect("the survivor takes over");
    t.wait_label(&survivor, "active").await;
    assert_eq!(
        t.label(&dead).await.as_deref(),
        Some("active"),
        "a pod killed with -9 cannot relabel itself: its label stays stale (documented)"
    );
    // An Event per change of role, with the reason, epoch and holder (recorded just after
    // the label; a loaded machine can add a lapse and a renewal after the takeover).
    let takeover = format!(
        "active: took over from {dead} after its lease ran out; lease {}, epoch {new_epoch}, holder {survivor}",
        t.fx.lease
    );
    k8s::eventually(LIMIT, &format!("the Event {takeover}"), || async {
        let events = k8s::events(&t.client, &t.ns, &survivor).await;
        events
            .iter()
            .any(|(r, m)| r == "BecameActive" && *m == takeover)
    })
    .await;
    let events = k8s::events(&t.client, &t.ns, &survivor).await;
    assert_eq!(
        events.first().map(|e| e.0.as_str()),
        Some("BecamePassive"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_follows_a_handover_and_a_sigterm() {
    let Some(admin) = k8s::kubeconfig() else {
        return;
    };
    let Some(t) = setup(&admin, "handover", &["pod-a", "pod-b"], true).await else {
        return;
    };
    let mut pods = [t.sidecar("pod-a"), t.sidecar("pod-b")];
    let i = blocking(|| settle(&pods[0], &pods[1]));
    let (from, to) = (pods[i].identity.clone(), pods[1 - i].identity.clone());
    t.wait_label(&from, "active").await;
    t.wait_label(&to, "passive").await;
    let out = blocking(|| t.cli("handover", &["--to", &to]));
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    t.wait_label(&to, "active").await;
    t.wait_label(&from, "passive").await;
    // SIGTERM the new holder: it labels itself passive on the way out, the other takes over.
    pods[1 - i].signal(libc::SIGTERM);
    assert_eq!(blocking(|| pods[1 - i].wait_exit(LIMIT)), Some(0));
    assert_eq!(t.label(&to).await.as_deref(), Some("passive"));
    blocking(|| wait_active(&pods[i], LIMIT)).expect("the other takes over");
    t.wait_label(&from, "active").await;
    // Its Events: passive at first, active (with the lease, epoch and itself as holder),
    // and passive last.
    let events = k8s::events(&t.client, &t.ns, &to).await;
    assert_eq!(
        events.first().map(|e| e.0.as_str()),
        Some("BecamePassive"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(r, m)| r == "BecameActive"
            && m.contains(&format!("lease {}, epoch ", t.fx.lease))
            && m.ends_with(&format!("holder {to}"))),
        "{events:?}"
    );
    // Usually "shutting down"; on a loaded machine a lapse just before the SIGTERM can
    // be the last change (the shutdown then changes nothing the Event shows).
    assert_eq!(
        events.last().map(|e| e.0.as_str()),
        Some("BecamePassive"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_permissions_the_refusal_is_logged_once_and_the_lease_goes_on() {
    let Some(admin) = k8s::kubeconfig() else {
        return;
    };
    let Some(t) = setup(&admin, "norbac", &["pod-a"], false).await else {
        return;
    };
    let a = t.sidecar("pod-a");
    blocking(|| wait_active(&a, LIMIT)).expect("the lease does not wait on the API server");
    let refused_label = "cannot set the pod role label: the API server refused";
    let refused_event = "cannot record the role-change Event: the API server refused";
    let attempts = "asking the API server for the pod role";
    // Both refused, and asked again at least twice since (retries back off from 1 s).
    k8s::eventually(LIMIT, "refusals and retries in the log", || async {
        let logs = a.logs();
        logs.contains(refused_label)
            && logs.contains(refused_event)
            && logs.matches(attempts).count() >= 3
    })
    .await;
    let logs = a.logs();
    assert_eq!(logs.matches(refused_label).count(), 1, "{logs}");
    assert_eq!(logs.matches(refused_event).count(), 1, "{logs}");
    assert!(
        logs.contains(&format!("patch on pods in namespace {}", t.ns))
            && logs.contains(&format!("create on events in namespace {}", t.ns)),
        "the missing permissions are named: {logs}"
    );
    assert_eq!(t.label("pod-a").await, None);
    assert!(a.is_active(), "still active");
}

/// Stops its private API server, even when the test fails.
struct PrivateCluster(PathBuf);

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        k8s::kube_sh("stop", &self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_catches_up_when_the_api_server_comes_back() {
    // The shared API server is not stopped under the other tests: a private one.
    if k8s::kubeconfig().is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(common::unique("kube-restart"));
    let admin = blocking(|| k8s::kube_sh("start", &dir));
    let cluster = PrivateCluster(dir);
    let Some(t) = setup(&admin, "restart", &["pod-a", "pod-b"], true).await else {
        return;
    };
    let pods = [t.sidecar("pod-a"), t.sidecar("pod-b")];
    let i = blocking(|| settle(&pods[0], &pods[1]));
    let (from, to) = (pods[i].identity.clone(), pods[1 - i].identity.clone());
    t.wait_label(&from, "active").await;
    t.wait_label(&to, "passive").await;
    let epoch = pods[i].view().expect("view").epoch;
    blocking(|| k8s::kube_sh("stop", &cluster.0));
    // The lease moves while the API server is down: the role label never holds it up.
    let out = blocking(|| t.cli("handover", &["--to", &to]));
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    blocking(|| wait_new_tenure(&[&pods[1 - i]], epoch, LIMIT)).expect("handed over");
    blocking(|| k8s::kube_sh("start", &cluster.0));
    t.wait_label(&to, "active").await;
    t.wait_label(&from, "passive").await;
    // Both changed role while it was down: each logged that once, and the catching up.
    let unreachable = "cannot set the pod role label: the API server is unreachable";
    for pod in &pods {
        let logs = pod.logs();
        assert_eq!(logs.matches(unreachable).count(), 1, "{logs}");
        assert!(logs.contains("the pod role label caught up"), "{logs}");
    }
}
