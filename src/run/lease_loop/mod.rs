//! The tokio task that runs the lease core against a store and publishes what it decides:
//! the loop here, the store calls in `carry.rs`, what it publishes and reports in
//! `report.rs`.

mod carry;
mod report;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use crate::lease::driver::{self, Step};
use crate::lease::{LeaseCore, Role, View};
use crate::run::eligibility::Eligibility;
use crate::run::history::witness::Witness;
use crate::run::history::HistoryHandle;
use crate::run::metrics::Metrics;
use crate::run::publish::Publisher;
use crate::store::LeaseStore;
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
    /// Names each change of owner to this pod; the history task records it.
    witness: Witness,
    history: Option<HistoryHandle>,
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
        let witness = Witness::new(&core.config().identity, core.config().affinity.priority);
        LeaseLoop {
            witness,
            history: None,
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

    /// Records each change of owner to this pod in the failover history.
    pub fn with_history(mut self, history: HistoryHandle) -> Self {
        self.history = Some(history);
        self
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
                Step::Wait(at) => self.wait(at.since(now), left, &mut shutdown).await,
                Step::Call(call) => {
                    let sent = self.clock.now();
                    let answered = self.carry(call, left).await;
                    driver::deliver(&mut self.core, sent, self.clock.now(), answered);
                }
            }
            self.publish();
        }
        self.publish();
    }

    /// Sleeps until the core's next step is due; while running (not releasing), a shutdown
    /// or an eligibility change wakes it early.
    async fn wait(
        &mut self,
        wait: Duration,
        left: Option<Duration>,
        shutdown: &mut watch::Receiver<Option<Mono>>,
    ) {
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
}

#[cfg(test)]
mod tests;
