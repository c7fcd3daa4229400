//! The role label and Events through the Kubernetes API: a merge patch of one label on
//! this pod's Pod (RBAC: `patch` on `pods`) and a core/v1 Event about it (RBAC: `create`
//! on `events`), both in the pod's namespace. Nothing is read first, so nothing else is
//! needed.

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::{Change, Failure, PodApi, LABEL};
use crate::lease::Role;
use crate::sys::kube_client::KubeConnection;

/// The most one call may take, on top of the client's own timeouts: a slow API server
/// delays only the label, never the lease.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Who the Events say recorded them.
const COMPONENT: &str = "drlease";

pub struct KubePodApi {
    pods: Api<Pod>,
    events: Api<Event>,
    pod: String,
    namespace: String,
    lease: String,
    identity: String,
    /// The Pod's uid, from the first patch's answer: the Events name the Pod by it too.
    uid: Mutex<Option<String>>,
}

impl KubePodApi {
    /// `namespace`: the pod's (POD_NAMESPACE), else the connection's default.
    pub fn new(
        conn: KubeConnection,
        pod: String,
        namespace: Option<String>,
        lease: String,
        identity: String,
    ) -> KubePodApi {
        let namespace = namespace.unwrap_or(conn.default_namespace);
        KubePodApi {
            pods: Api::namespaced(conn.client.clone(), &namespace),
            events: Api::namespaced(conn.client, &namespace),
            pod,
            namespace,
            lease,
            identity,
            uid: Mutex::new(None),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn uid(&self) -> Option<String> {
        self.uid.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The Event for `change`, on this pod's Pod.
    pub fn event_for(&self, change: &Change) -> Event {
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", self.pod)),
                namespace: Some(self.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(self.pod.clone()),
                namespace: Some(self.namespace.clone()),
                uid: self.uid(),
                ..Default::default()
            },
            reason: Some(change.event_reason().into()),
            message: Some(change.event_message(&self.lease)),
            type_: Some("Normal".into()),
            source: Some(EventSource {
                component: Some(COMPONENT.into()),
                host: None,
            }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some(COMPONENT.into()),
            reporting_instance: Some(self.identity.chars().take(128).collect()),
            ..Default::default()
        }
    }
}

impl PodApi for KubePodApi {
    async fn set_label(&self, role: Role) -> Result<(), Failure> {
        let patch = serde_json::json!({ "metadata": { "labels": { LABEL: role.as_str() } } });
        let params = PatchParams {
            field_manager: Some(COMPONENT.into()),
            ..Default::default()
        };
        let patch = Patch::Merge(&patch);
        let pod = within(self.pods.patch(&self.pod, &params, &patch))
            .await
            .map_err(|e| classify(e, &format!("patch on pods in namespace {}", self.namespace)))?;
        if let Some(uid) = pod.metadata.uid {
            *self.uid.lock().unwrap_or_else(|e| e.into_inner()) = Some(uid);
        }
        Ok(())
    }

    async fn record_event(&self, change: &Change) -> Result<(), Failure> {
        let event = self.event_for(change);
        let params = PostParams::default();
        within(self.events.create(&params, &event))
            .await
            .map(drop)
            .map_err(|e| {
                classify(
                    e,
                    &format!("create on events in namespace {}", self.namespace),
                )
            })
    }
}

/// A call that failed: an error from the client, or no answer within `CALL_TIMEOUT`.
pub enum CallError {
    Client(kube::Error),
    TimedOut,
}

async fn within<T>(
    call: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(CallError::Client(e)),
        Err(_) => Err(CallError::TimedOut),
    }
}

/// What an error from the API means for the operator; `permission` is the one the call
/// needs (`patch on pods in namespace x`).
pub fn classify(error: CallError, permission: &str) -> Failure {
    let error = match error {
        CallError::Client(e) => e,
        CallError::TimedOut => {
            return Failure::Unreachable(format!("no answer within {}s", CALL_TIMEOUT.as_secs()))
        }
    };
    match &error {
        kube::Error::Api(status) => match status.code {
            403 => Failure::Refused {
                permission: permission.to_string(),
                message: status.message.clone(),
            },
            401 => Failure::Unauthenticated(status.message.clone()),
            404 => Failure::NotFound(status.message.clone()),
            _ => Failure::Other(format!("{} ({})", status.message, status.code)),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            Failure::Unreachable(error.to_string())
        }
        _ => Failure::Other(error.to_string()),
    }
}
