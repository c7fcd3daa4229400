//! The tokio task that runs the lease core against a store and publishes what it decides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::lease::{LeaseCore, Role, Step, View, WriteKind};
use crate::run::eligibility::Eligibility;
use crate::run::events::{reason, Facts};
use crate::run::metrics::Metrics;
use crate::run::state::{Publisher, Snapshot};
use crate::store::{LeaseStore, StoreError};
use crate::sys::clock::{Clock, Mono};

pub struct LeaseLoop<S> {
    core: LeaseCore,
    store: S,
    clock: Arc<dyn Clock>,
    publisher: Publisher,
    metrics: Arc<Metrics>,
    call_timeout: Duration,
    eligibility: watch::Receiver<Eligibility>,
    last: View,
    last_role: Role,
    unreachable_since: Option<String>,
}

/// Resolves when the eligibility changes; never, once nobody can change it any more.
async fn eligibility_changed(eligibility: &mut watch::Receiver<Eligibility>) {
    if eligibility.changed().await.is_err() {
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
        eligibility: watch::Receiver<Eligibility>,
    ) -> Self {
        LeaseLoop {
            core,
            store,
            clock,
            publisher,
            metrics,
            call_timeout,
            eligibility,
            last: View::default(),
            last_role: Role::Unknown,
            unreachable_since: None,
        }
    }

    /// Runs until `shutdown` carries a deadline and the lease is released, or the deadline
    /// passes. From the moment it sees the deadline, every wait and every store call ends by
    /// it: a store outage must not hold the process past its release deadline.
    pub async fn run(mut self, mut shutdown: watch::Receiver<Option<Mono>>) {
        let mut release_deadline: Option<Mono> = None;
        loop {
            if let (None, Some(deadline)) = (release_deadline, *shutdown.borrow()) {
                self.core.begin_release();
                // Publish before any store call: from here on nobody sees "active".
                self.publish();
                release_deadline = Some(deadline);
            }
            let eligible = self.eligibility.borrow().eligible();
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
            // What is left before the release deadline, if releasing.
            let left = release_deadline.map(|d| d.since(now));
            match self.core.next_step(now) {
                Step::Done => break,
                Step::Wait(at) => {
                    let wait = at.since(now);
                    if let Some(left) = left {
                        tokio::time::sleep(wait.min(left)).await;
                    } else {
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => {}
                            _ = eligibility_changed(&mut self.eligibility) => {}
                        }
                    }
                }
                Step::Read => {
                    let sent = self.clock.now();
                    let started = Instant::now();
                    let result = self.bounded(self.store.read(), left).await;
                    self.count("read", &result, started);
                    debug!(?result, "read lease item");
                    self.core.on_read(sent, self.clock.now(), result);
                }
                Step::Write(req) => {
                    let sent = self.clock.now();
                    let started = Instant::now();
                    let result = self.bounded(self.store.write(&req), left).await;
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
                Step::RequestHandover(req) => {
                    let started = Instant::now();
                    let result = self.bounded(self.store.request_handover(&req), left).await;
                    self.count("handover_request", &result, started);
                    match &result {
                        Ok(()) => info!(
                            holder = self.last.holder.as_deref().unwrap_or(""),
                            holder_priority = self.last.holder_priority.unwrap_or(0),
                            priority = self.core.config().affinity.priority,
                            "asked the holder of lower priority to hand the lease over (failback)"
                        ),
                        Err(e) => debug!(error = %e, "failback request not applied"),
                    }
                    self.core
                        .on_handover_request(&req, self.clock.now(), result);
                }
                Step::ReadMarks => {
                    // Every region's mark, our own included (its epoch is the floor for
                    // a new tenure of ours).
                    let peers: Vec<String> = self
                        .core
                        .config()
                        .regions
                        .as_ref()
                        .map(|r| {
                            std::iter::once(r.own.clone())
                                .chain(r.peers.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let sent = self.clock.now();
                    let started = Instant::now();
                    let result = self.bounded(self.store.read_marks(&peers), left).await;
                    self.count("read_marks", &result, started);
                    debug!(?result, "read the other regions' marks");
                    self.core.on_marks(sent, self.clock.now(), result);
                }
                Step::WriteMark(mark) => {
                    let started = Instant::now();
                    let result = self.bounded(self.store.write_mark(&mark), left).await;
                    self.count("write_mark", &result, started);
                    debug!(?result, epoch = mark.epoch, "wrote this region's mark");
                    self.core.on_mark_written(&mark, self.clock.now(), result);
                }
                Step::Claim(claim) => {
                    let started = Instant::now();
                    let result = self.bounded(self.store.claim(&claim), left).await;
                    self.count("claim", &result, started);
                    match &result {
                        Err(StoreError::ConditionFailed) => warn!(
                            release = %claim.release_version,
                            "this release was claimed by another candidate already: the lease \
                             item was written back (a restore?); timing it like any other version"
                        ),
                        _ => debug!(?result, "claimed the release"),
                    }
                    self.core.on_claim(&claim, self.clock.now(), result);
                }
            }
            self.publish();
        }
        self.publish();
    }

    /// Every call is bounded here too, whatever the store does on its own, and by the
    /// release deadline (`left`) when releasing.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
        left: Option<Duration>,
    ) -> Result<T, StoreError> {
        let limit = left.map_or(self.call_timeout, |l| l.min(self.call_timeout));
        match tokio::time::timeout(limit, call).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(limit)),
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
        let eligibility = *self.eligibility.borrow();
        match view.store_reachable {
            Some(false) if self.unreachable_since.is_none() => {
                self.unreachable_since =
                    Some(httpdate::fmt_http_date(std::time::SystemTime::now()));
            }
            Some(true) => self.unreachable_since = None,
            _ => {}
        }
        let granted_until = self.publisher.publish(Snapshot {
            view: view.clone(),
            progress_at: now,
            eligibility,
            unreachable_since: self.unreachable_since.clone(),
        });
        // Read after the publish: if this view stopped granting, no window can end later.
        self.core.set_granted_until(granted_until);
        self.record_event(&view, eligibility, now);
        self.report_changes(&view, now);
        self.last = view;
    }

    /// An event for `/events` and `/watch` when the role, holder, epoch, frozen or
    /// eligibility changed since the latest one (which the deadline timer may have written).
    fn record_event(&mut self, view: &View, eligibility: Eligibility, now: Mono) {
        if !view.initialized {
            return;
        }
        let facts = Facts::of(view.role_at(now), view, eligibility);
        let events = &self.publisher.events;
        let latest = events.latest();
        let prev = latest.as_ref().map(|e| &e.facts);
        if prev == Some(&facts) {
            return;
        }
        let cx = reason::Context {
            identity: &self.core.config().identity,
            priority: self.core.config().affinity.priority,
            before: Some(&self.last).filter(|v| v.initialized),
            view,
            eligibility,
            unreachable_since: self.unreachable_since.as_deref(),
        };
        let why = reason::describe(prev, &facts, &cx);
        if events
            .record(now, facts, view.store_reachable, why.clone())
            .is_some()
        {
            info!(reason = %why, "lease event");
        }
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
        if view.region_conflicts > self.last.region_conflicts {
            self.metrics.region_conflict();
            error!(
                "{}",
                view.region_conflict
                    .as_deref()
                    .unwrap_or("another region holds this lease")
            );
        }
        if view.epoch_exhausted && !self.last.epoch_exhausted {
            error!("{}", crate::lease::core::EPOCH_EXHAUSTED);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::lease::operator::HandoverRequest;
    use crate::lease::timing::Timing;
    use crate::lease::{CoreConfig, LeaseRecord, WriteRequest};
    use crate::run::eligibility::{AppHealth, Eligibility};
    use crate::run::state::{channel, Identity};
    use crate::store::memory::MemoryStore;

    /// Tokio's clock as a `Clock`, so that paused test time drives the core too.
    struct TokioClock(tokio::time::Instant);

    impl Clock for TokioClock {
        fn now(&self) -> Mono {
            Mono::from_duration(self.0.elapsed())
        }
    }

    /// The memory store, until `down` is set: then every call hangs, as a blackholed
    /// network does.
    #[derive(Clone)]
    struct Flaky {
        inner: MemoryStore,
        down: Arc<AtomicBool>,
    }

    impl Flaky {
        async fn hang_if_down(&self) {
            if self.down.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
        }
    }

    impl LeaseStore for Flaky {
        async fn read(&self) -> Result<Option<LeaseRecord>, StoreError> {
            self.hang_if_down().await;
            self.inner.read().await
        }

        async fn write(&self, req: &WriteRequest) -> Result<LeaseRecord, StoreError> {
            self.hang_if_down().await;
            self.inner.write(req).await
        }

        async fn request_handover(&self, req: &HandoverRequest) -> Result<(), StoreError> {
            self.hang_if_down().await;
            self.inner.request_handover(req).await
        }

        async fn claim(&self, claim: &crate::lease::ReleaseClaim) -> Result<(), StoreError> {
            self.hang_if_down().await;
            self.inner.claim(claim).await
        }

        async fn read_marks(
            &self,
            regions: &[String],
        ) -> Result<Vec<crate::lease::RegionMark>, StoreError> {
            self.hang_if_down().await;
            self.inner.read_marks(regions).await
        }

        async fn write_mark(&self, mark: &crate::lease::RegionMark) -> Result<(), StoreError> {
            self.hang_if_down().await;
            self.inner.write_mark(mark).await
        }
    }

    /// Review bug: with the defaults (interval 15 s, call timeout 5 s, release deadline
    /// 10 s), SIGTERM during an outage after the lease had lapsed slept a full interval past
    /// the release deadline.
    #[tokio::test(start_paused = true)]
    async fn a_release_during_an_outage_ends_by_the_release_deadline() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock(tokio::time::Instant::now()));
        let interval = Duration::from_secs(15);
        let call_timeout = Duration::from_secs(5);
        let core = LeaseCore::new(CoreConfig {
            identity: "a".into(),
            session: "sa".into(),
            timing: Timing {
                interval,
                lease_duration: interval * 3,
                renew_deadline: interval * 2,
                confirm_delay: Duration::ZERO,
                longest_lease: interval * 3,
            },
            store_is_private: true,
            affinity: Default::default(),
            regions: None,
        });
        let who = Identity {
            identity: "a".into(),
            lease: "l".into(),
            session: "sa".into(),
            affinity: Default::default(),
        };
        let eligible = Eligibility {
            warm: true,
            app: AppHealth::NotChecked,
        };
        let (publisher, shared) = channel(
            clock.clone(),
            who,
            interval * 3,
            eligible,
            Duration::from_secs(2),
        );
        let (_eligibility_tx, eligibility) = watch::channel(eligible);
        let down = Arc::new(AtomicBool::new(false));
        let store = Flaky {
            inner: MemoryStore::new("l"),
            down: down.clone(),
        };
        let metrics = Arc::new(Metrics::new("l"));
        let lease_loop = LeaseLoop::new(
            core,
            store,
            clock.clone(),
            publisher,
            metrics,
            call_timeout,
            eligibility,
        );
        let (stop_tx, stop_rx) = watch::channel(None);
        let task = tokio::spawn(lease_loop.run(stop_rx));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(shared.role().0, Role::Active);
        down.store(true, Ordering::SeqCst);
        // Just past the renew deadline (30 s), with the back-off after the failed call that
        // found it lapsed running until 47 s.
        tokio::time::sleep(interval * 2 + Duration::from_secs(2)).await;
        assert_eq!(shared.role().0, Role::Passive);
        let release_deadline = call_timeout * 2;
        let signalled = clock.now();
        stop_tx
            .send(Some(signalled.plus(release_deadline)))
            .unwrap();
        task.await.unwrap();
        let took = clock.now().since(signalled);
        assert!(
            took <= release_deadline,
            "the release took {took:?}, past its deadline of {release_deadline:?}"
        );
    }
}
