//! What the loop publishes after each step, and the events, logs and metrics a change
//! of what it decided is worth.

use tracing::{error, info, warn};

use super::LeaseLoop;
use crate::lease::View;
use crate::run::eligibility::Eligibility;
use crate::run::events::{reason, Facts};
use crate::run::publish::Snapshot;
use crate::store::LeaseStore;
use crate::sys::clock::Mono;

impl<S: LeaseStore> LeaseLoop<S> {
    pub(super) fn publish(&mut self) {
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
        self.note_history(&view, now);
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

    /// The first active answer of a new epoch: a change of owner to this pod, counted and
    /// handed to the history task (which writes it beside the loop, never in its way).
    fn note_history(&mut self, view: &View, now: Mono) {
        let Some(noticed) = self.witness.observe(view, view.role_at(now), now) else {
            return;
        };
        self.metrics.failover(noticed.how, noticed.gap);
        info!(
            how = noticed.how.as_str(),
            epoch = noticed.epoch,
            previous_owner = noticed.previous_owner.as_deref().unwrap_or(""),
            gap_ms = noticed.gap.map_or(-1, |g| g.as_millis() as i64),
            reason = %noticed.reason,
            "change of owner"
        );
        if let Some(history) = &self.history {
            history.record(noticed);
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
