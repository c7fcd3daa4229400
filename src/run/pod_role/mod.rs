//! The role on this pod's own Pod (opt-in, `--pod-role-label`): the label
//! `drlease.io/role=active|passive`, and a Kubernetes Event on every change of role. A hint
//! for people and routing, never the gate.
//!
//! Its own task, fed by the event log the lease loop and the deadline timer publish: the
//! lease loop never waits on the API server, and the HTTP answers never read this. When the
//! API server is down, slow or refuses, the task retries on its own schedule and then
//! converges on the latest role (one label patch, one Event for the latest change), not a
//! replay of what it missed. Each kind of failure is logged once until it clears.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::lease::Role;
use crate::run::events::EventLog;
use crate::sys::clock::{Clock, Mono};

pub mod api;
mod follow;

pub use follow::{Change, Follower};

/// The label's key on the Pod.
pub const LABEL: &str = "drlease.io/role";
/// Retries start this soon after a failure and double up to `RETRY_MAX`; a new change of
/// role is tried at once.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Why a call to the API server failed, as far as what to tell the operator goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Forbidden: the permission missing, and the server's own words.
    Refused {
        permission: String,
        message: String,
    },
    /// The credentials were not accepted (401).
    Unauthenticated(String),
    /// The Pod named by POD_NAME / POD_NAMESPACE, or its namespace, does not exist.
    NotFound(String),
    /// No answer: connection refused, reset, or timed out.
    Unreachable(String),
    Other(String),
}

impl Failure {
    /// Failures of the same kind are logged once.
    fn kind(&self) -> u8 {
        match self {
            Failure::Refused { .. } => 0,
            Failure::Unauthenticated(_) => 1,
            Failure::NotFound(_) => 2,
            Failure::Unreachable(_) => 3,
            Failure::Other(_) => 4,
        }
    }
}

/// The two things the task asks of the API server.
pub trait PodApi {
    /// Sets the label on this pod's Pod.
    fn set_label(&self, role: Role) -> impl Future<Output = Result<(), Failure>> + Send;
    /// Records a Kubernetes Event about `change` on this pod's Pod.
    fn record_event(&self, change: &Change) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// What the API server shows already, and the failures already logged.
#[derive(Default)]
struct Shown {
    label: Option<Role>,
    /// The sequence number of the change the last Event recorded.
    event: Option<u64>,
    label_failing: Option<u8>,
    event_failing: Option<u8>,
}

impl Shown {
    /// Brings the label and the Events up to `change`; true when both are.
    async fn converge<A: PodApi>(&mut self, api: &A, change: &Change) -> bool {
        let mut done = true;
        if self.label != Some(change.role) || self.event != Some(change.seq) {
            debug!(
                role = change.role.as_str(),
                "asking the API server for the pod role"
            );
        }
        if self.label != Some(change.role) {
            match api.set_label(change.role).await {
                Ok(()) => {
                    info!(
                        role = change.role.as_str(),
                        label = LABEL,
                        "pod role label set"
                    );
                    if self.label_failing.take().is_some() {
                        info!("the pod role label caught up with the role");
                    }
                    self.label = Some(change.role);
                }
                Err(f) => {
                    log_once(&mut self.label_failing, &f, "cannot set the pod role label");
                    done = false;
                }
            }
        }
        if self.event != Some(change.seq) {
            match api.record_event(change).await {
                Ok(()) => {
                    if self.event_failing.take().is_some() {
                        info!("role-change Events are recorded again (the latest change only)");
                    }
                    self.event = Some(change.seq);
                }
                Err(f) => {
                    log_once(
                        &mut self.event_failing,
                        &f,
                        "cannot record the role-change Event",
                    );
                    done = false;
                }
            }
        }
        done
    }
}

/// Logs `f` unless a failure of its kind is the one logged last; true when it logged.
fn log_once(failing: &mut Option<u8>, f: &Failure, what: &str) -> bool {
    if *failing == Some(f.kind()) {
        return false;
    }
    *failing = Some(f.kind());
    let after = "the lease is not affected; retrying, up to every 10s";
    match f {
        Failure::Refused {
            permission,
            message,
        } => warn!(
            missing_permission = %permission,
            error = %message,
            "{what}: the API server refused; grant the pod's service account {permission} \
             (the chart's podRoleLabel: true does); {after}"
        ),
        Failure::Unauthenticated(message) => warn!(
            error = %message,
            "{what}: the API server did not accept the credentials (is the service account \
             token mounted and valid?); {after}"
        ),
        Failure::NotFound(message) => warn!(
            error = %message,
            "{what}: not found; POD_NAME and POD_NAMESPACE must name this pod (Downward \
             API fieldRef metadata.name and metadata.namespace); {after}"
        ),
        Failure::Unreachable(message) => {
            warn!(error = %message, "{what}: the API server is unreachable; {after}")
        }
        Failure::Other(message) => warn!(error = %message, "{what}; {after}"),
    }
    true
}

/// Follows the event log and keeps the Pod's label and Events on the latest role until
/// `stop` carries the release deadline; then, within that deadline, shows passive (see
/// [`Change::stopping`]) and returns.
pub async fn run<A: PodApi>(
    api: A,
    events: Arc<EventLog>,
    mut stop: watch::Receiver<Option<Mono>>,
    clock: Arc<dyn Clock>,
) {
    let mut notify = events.subscribe();
    let mut follower = Follower::default();
    let mut shown = Shown::default();
    let mut retry = RETRY_MIN;
    loop {
        follower.update(&events);
        let done = match follower.latest() {
            Some(change) => shown.converge(&api, &change).await,
            None => true,
        };
        if done {
            retry = RETRY_MIN;
        }
        tokio::select! {
            changed = notify.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(retry), if !done => retry = (retry * 2).min(RETRY_MAX),
            _ = stop.changed() => {
                let left = stop.borrow().map_or(Duration::ZERO, |by| by.since(clock.now()));
                follower.update(&events);
                let last = Change::stopping(follower.latest());
                let _ = tokio::time::timeout(left, shown.converge(&api, &last)).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
