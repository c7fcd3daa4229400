//! Region affinity: a candidate of higher priority than the holder asks for the lease
//! (failback) once it has been eligible for `failback_after`; an observer never acquires.
//!
//! Safety is not at stake here: a failback is only a request. It changes no version, so
//! every timing rule at the top of the core holds as it is, and the holder answers it as
//! it answers `drlease handover`: it stops granting, waits for the windows it granted to
//! end, and releases to the one that asked. What this file guards is cost and calm:
//!
//! * Only the lease item is read: the holder writes its priority into it with every
//!   renewal (`ownerPriority`), so the cost does not grow with the table (no Scan).
//! * At most one request per fresh read, none while any request is on the item (the store
//!   refuses to replace one: an operator's handover wins), and after a request that was
//!   not refused outright, none again for a lease duration.
//! * Only a strictly higher priority asks, so two candidates cannot take the lease from
//!   each other by priority. And a process that handed the lease over on request (a
//!   failback, or an operator's handover) does not ask for it back from the tenure it
//!   handed it to: an operator's handover sticks while that holder lives.
//!
//! The bookkeeping is a handler of its own ([`Tracking`]): it changes the failback state and
//! its counts, and only reads what the core knows.

use super::diagnostics::Diagnostics;
use super::observe::Knowledge;
use super::{Call, CoreConfig, LeaseCore, Phase, Step};
use crate::clock::Mono;
use crate::operator::HandoverRequest;
use crate::record::{LeaseRecord, HANDOVER_ANY};
use crate::StoreError;

/// Region affinity, validated with the rest of the settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Affinity {
    /// Published in the heartbeat and, while holding, in the lease item.
    pub priority: i32,
    /// Ask a holder of lower priority for the lease once eligible this long; `None`: never.
    pub failback_after: Option<std::time::Duration>,
    /// An observer: serves the role, never acquires, never asks.
    pub never_acquire: bool,
}

/// The tenure a process handed the lease to on request: it does not ask it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HandedOver {
    /// The handover's target (`*`: whoever acquired next).
    target: String,
    /// The epoch of our release: the tenure is the next one above it.
    after_epoch: u64,
    /// That tenure's session, once seen.
    session: Option<String>,
}

impl HandedOver {
    fn is_tenure_of(&self, r: &LeaseRecord) -> bool {
        r.is_held()
            && r.epoch.unwrap_or(0) > self.after_epoch
            && (self.target == HANDOVER_ANY || r.owner == self.target)
            && (self.session.is_none() || r.owner_session == self.session)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Failback {
    /// Eligible without a break since this instant (of this process's life).
    healthy_since: Option<Mono>,
    /// When the last request was sent: the next one needs a read sent after it.
    last_ask: Option<Mono>,
    /// No request before this (after one that was not refused outright).
    quiet_until: Mono,
    handed_over: Option<HandedOver>,
    /// Holding, and releasing because of a failback request.
    pub(super) releasing_for_failback: bool,
    /// The latest read showed a release made for our failback request: the acquire that
    /// follows (however its answer comes back) completes a failback.
    release_for_us_seen: bool,
}

impl LeaseCore {
    /// A failback request to make now, if this candidate is due one against holder `r`
    /// (last confirmed by a read sent at `confirmed_sent`).
    pub(super) fn failback_due(
        &self,
        now: Mono,
        confirmed_sent: Mono,
        r: &LeaseRecord,
    ) -> Option<HandoverRequest> {
        let after = self.cfg.affinity.failback_after?;
        let ready = self.may_acquire()
            && self.phase == Phase::Running
            && self.unsettled.is_none()
            && now >= self.pacing.not_before
            && now >= self.failback.quiet_until
            && self.failback.last_ask.is_none_or(|at| confirmed_sent > at)
            && self
                .failback
                .healthy_since
                .is_some_and(|since| now.since(since) >= after);
        if !(ready && !r.has_live_request() && self.wants_failback_from(r)) {
            return None;
        }
        // Admiral's own checker writes no version: it cannot be asked, only outlived.
        let version = r.version.clone()?;
        Some(HandoverRequest {
            expect_version: version,
            target: self.cfg.identity.clone(),
            failback: true,
            // Given when the request is made (`ask_for_failback`).
            id: String::new(),
        })
    }

    /// Whether this process would, given time, ask the holder in `r` for the lease: it
    /// fails back, may acquire, and `r` is held by someone of lower priority that is not
    /// the tenure it handed the lease to. (Also the simulation's liveness check.)
    pub fn wants_failback_from(&self, r: &LeaseRecord) -> bool {
        self.cfg.affinity.failback_after.is_some()
            && self.may_acquire()
            && r.is_held()
            && r.version.is_some()
            && r.owner != self.cfg.identity
            && r.priority() < self.cfg.affinity.priority
            && !self
                .failback
                .handed_over
                .as_ref()
                .is_some_and(|h| h.is_tenure_of(r))
    }

    pub(super) fn ask_for_failback(&mut self, now: Mono, mut req: HandoverRequest) -> Step {
        self.failback.last_ask = Some(now);
        // A write of its own: an id as unique as a version token (`writes.rs`).
        self.write_seq += 1;
        req.id = format!("{}.{}", self.cfg.session, self.write_seq);
        Step::Call(Call::RequestHandover(Box::new(req)))
    }

    /// The answer to a handover request sent at `sent`, received at `now`.
    pub fn on_handover_request(
        &mut self,
        req: &HandoverRequest,
        now: Mono,
        result: Result<(), StoreError>,
    ) {
        match result {
            Ok(()) => {
                self.answers().reached();
                self.failback.quiet_until = now.plus(self.cfg.timing.lease_duration);
                self.learn().requested(req, now);
            }
            // The holder renewed (or anything else changed) in between: ask again after the
            // next read, if still due.
            Err(StoreError::ConditionFailed) => self.answers().reached(),
            Err(e) => {
                // Lost or failed: it may have landed. Either way, no new request for a lease.
                self.failback.quiet_until = now.plus(self.cfg.timing.lease_duration);
                self.store_failed(now, &e, false);
            }
        }
    }

    /// The handler for the failback bookkeeping after a step or an answer: it may change
    /// the failback state and its counts; the settings and what the core knows it only reads.
    pub(super) fn track_failback(&mut self) -> Tracking<'_> {
        Tracking {
            cfg: &self.cfg,
            known: &self.known,
            failback: &mut self.failback,
            diagnostics: &mut self.diagnostics,
        }
    }
}

/// The failback bookkeeping (borrowing only what it may change).
pub(super) struct Tracking<'a> {
    cfg: &'a CoreConfig,
    known: &'a Knowledge,
    failback: &'a mut Failback,
    diagnostics: &'a mut Diagnostics,
}

impl Tracking<'_> {
    /// Eligibility without a break is what `failback_after` measures: even a blip (an
    /// ineligible report between two steps) restarts its clock.
    pub(super) fn health(&mut self, eligible: bool, now: Mono) {
        if !eligible {
            self.health_broken();
        } else if self.failback.healthy_since.is_none() {
            self.failback.healthy_since = Some(now);
        }
    }

    /// Eligibility broke: the clock `failback_after` runs on starts again when it returns.
    pub(super) fn health_broken(&mut self) {
        self.failback.healthy_since = None;
    }

    /// A release of ours landed at `epoch`: if it answered a request (to `target`),
    /// remember whom we handed the lease to, and count a failback lost.
    pub(super) fn handed_over(&mut self, target: Option<String>, epoch: u64) {
        let Some(target) = target else {
            return;
        };
        if self.failback.releasing_for_failback {
            self.diagnostics.failbacks_lost += 1;
        }
        self.failback.handed_over = Some(HandedOver {
            target,
            after_epoch: epoch,
            session: None,
        });
    }

    /// Our acquire landed: a failback if it took a release made for our request.
    pub(super) fn acquired(&mut self) {
        if std::mem::take(&mut self.failback.release_for_us_seen) {
            self.diagnostics.failbacks_gained += 1;
        }
    }

    /// After a read: is a failback release waiting for us? And the first sight of the
    /// tenure we handed the lease over to fixes its session.
    pub(super) fn after_read(&mut self) {
        let Some(r) = self.known.record() else {
            self.failback.release_for_us_seen = false;
            return;
        };
        self.failback.release_for_us_seen = r.is_released()
            && r.is_failback()
            && r.handover_to.as_deref() == Some(self.cfg.identity.as_str());
        if let Some(h) = &mut self.failback.handed_over {
            if h.session.is_none() && h.is_tenure_of(r) {
                h.session = r.owner_session.clone();
            }
        }
    }
}
