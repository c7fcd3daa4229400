//! The tokio task that runs the lease core against a store and publishes what it decides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::app_health::GateState;
use crate::clock::{Clock, Mono};
use crate::lease::{LeaseCore, Role, Step, View, WriteKind};
use crate::metrics::Metrics;
use crate::state::Publisher;
use crate::store::{LeaseStore, StoreError};

pub struct LeaseLoop<S> {
    core: LeaseCore,
    store: S,
    clock: Arc<dyn Clock>,
    publisher: Publisher,
    metrics: Arc<Metrics>,
    call_timeout: Duration,
    gate: watch::Receiver<GateState>,
    last: View,
    last_role: Role,
}

/// Resolves when the gate changes; never, once nobody can change it any more.
async fn gate_changed(gate: &mut watch::Receiver<GateState>) {
    if gate.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl<S: LeaseStore> LeaseLoop<S> {
    pub fn new(
        core: LeaseCore,
        store: S,
        clock: Arc<dyn Clock>,
        publisher: Publisher,
        metrics: Arc<Metrics>,
        call_timeout: Duration,
        gate: watch::Receiver<GateState>,
    ) -> Self {
        LeaseLoop {
            core,
            store,
            clock,
            publisher,
            metrics,
            call_timeout,
            gate,
            last: View::default(),
            last_role: Role::Unknown,
        }
    }

    /// Runs until `shutdown` turns true and the lease is released (or the release gave up).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut release_deadline: Option<Mono> = None;
        loop {
            if *shutdown.borrow() && release_deadline.is_none() {
                self.core.begin_release();
                // Publish before any store call: from here on nobody sees "active".
                self.publish();
                release_deadline = Some(self.clock.now().plus(self.call_timeout * 2));
            }
            let eligible = self.gate.borrow().eligible();
            if eligible != self.core.is_eligible() {
                self.core.set_eligible(eligible);
                // An ineligible holder stops answering active now, not at its next step.
                self.publish();
            }
            let now = self.clock.now();
            if release_deadline.is_some_and(|d| now >= d) {
                warn!(
                    "gave up releasing the lease in time; a candidate takes over when it expires"
                );
                break;
            }
            match self.core.next_step(now) {
                Step::Done => break,
                Step::Wait(at) => {
                    let wait = at.since(now);
                    if release_deadline.is_some() {
                        tokio::time::sleep(wait).await;
                    } else {
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => {}
                            _ = gate_changed(&mut self.gate) => {}
                        }
                    }
                }
                Step::Read => {
                    let sent = self.clock.now();
                    let started = Instant::now();
                    let result = self.bounded(self.store.read()).await;
                    self.count("read", &result, started);
                    debug!(?result, "read lease item");
                    self.core.on_read(sent, self.clock.now(), result);
                }
                Step::Write(req) => {
                    let sent = self.clock.now();
                    let started = Instant::now();
                    let result = self.bounded(self.store.write(&req)).await;
                    self.count(req.kind.as_str(), &result, started);
                    debug!(
                        kind = req.kind.as_str(),
                        epoch = req.new.epoch,
                        ?result,
                        "wrote lease item"
                    );
                    if result.is_ok() && req.kind == WriteKind::Release {
                        info!("released the lease");
                    }
                    self.core.on_write(&req, sent, self.clock.now(), result);
                }
            }
            self.publish();
        }
        self.publish();
    }

    /// Every call is bounded here too, whatever the store does on its own.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(self.call_timeout)),
        }
    }

    fn count<T>(&self, op: &str, result: &Result<T, StoreError>, started: Instant) {
        let label = match result {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        self.metrics
            .store_request(op, label, started.elapsed().as_secs_f64());
    }

    fn publish(&mut self) {
        let now = self.clock.now();
        let view = self.core.view();
        let gate = *self.gate.borrow();
        self.publisher.publish(view.clone(), now, gate);
        self.report_changes(&view, now);
        self.last = view;
    }

    /// Logs and counts what an operator cares about, once per change.
    fn report_changes(&mut self, view: &View, now: Mono) {
        let role = view.role_at(now);
        if role != self.last_role {
            info!(
                from = self.last_role.as_str(),
                to = role.as_str(),
                holder = view.holder.as_deref().unwrap_or(""),
                epoch = view.epoch.unwrap_or(0),
                "role changed"
            );
            self.metrics.transition(self.last_role, role);
            self.last_role = role;
        }
        if view.conflict && !self.last.conflict {
            error!(
                identity = %self.core.config().identity,
                "another live process is renewing the lease under this pod's identity; \
                 staying passive: give every candidate a distinct identity"
            );
        }
        if view.frozen != self.last.frozen {
            if view.frozen {
                info!("lease is frozen (SKIP-LEASE-POD): staying passive until it is unfrozen");
            } else {
                info!("lease is no longer frozen");
            }
        }
        if view.last_error != self.last.last_error {
            match &view.last_error {
                Some(e) => warn!(error = %e, "lease store problem"),
                None if self.last.last_error.is_some() => info!("lease store reachable again"),
                None => {}
            }
        }
        if view.rollbacks > self.last.rollbacks {
            warn!(
                "the lease item went backwards (lower epoch, or deleted): a restored or \
                 recreated table? The next owner still gets an epoch above any seen here"
            );
        }
        self.metrics.set_rollbacks(view.rollbacks);
    }
}
