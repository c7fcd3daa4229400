//! The holder's side: renewing, stepping down, releasing, and knowing when a tenure is
//! over. The rules are stated once, at the top of the core (mod.rs).
//!
//! Sets directly: `phase`, `holding`, `stepping_down`, `initialized`; when a write lands,
//! what it teaches through the `learn` handler (`observe.rs`) and the failback bookkeeping
//! through `track_failback` (`failback.rs`).

use super::stage::Stage;
use super::{CoreConfig, LeaseCore, Phase, Step};
use crate::clock::Mono;
use crate::record::{Expect, HandoverWrite, LeaseRecord, WriteKind, WriteRequest, HANDOVER_ANY};
use crate::rules::{applies, R1, R13, R15, R16, R19, R20, R24, R5};

/// The lease as this process holds it, from its last successful write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Holding {
    pub(super) version: String,
    pub(super) epoch: u64,
    /// Active until here (send time of the first attempt of the write + renewDeadline).
    pub(super) valid_until: Mono,
    /// Send time of the latest successful write; renewals are paced from it.
    pub(super) last_sent: Mono,
    /// Confirming, marking, granting, or released (`stage.rs`).
    pub(super) stage: Stage,
    /// Regions on: the other regions' marks are to be read (after each renewal).
    pub(super) check_peers: bool,
}

impl LeaseCore {
    /// Whether this process wants to hold the lease at all right now.
    pub(super) fn wants_to_hold(&self) -> bool {
        self.may_acquire() && self.phase == Phase::Running
    }

    /// Eligible, and not an observer (`--never-acquire`).
    pub(super) fn may_acquire(&self) -> bool {
        self.eligible && !self.cfg.affinity.never_acquire
    }

    /// Holding, but handing over: to a requested target, or to anyone else while not
    /// eligible. Derived at every step, so however the lease was gained, it is let go.
    pub(super) fn step_down_target(&self) -> Option<String> {
        let h = self.holding.as_ref()?;
        h.stage
            .released_to()
            .map(str::to_string)
            .or_else(|| self.stepping_down.clone())
            // R16 (revert: an ineligible holder keeps its tenure).
            .or_else(|| (!self.may_acquire() && applies(R16)).then(|| HANDOVER_ANY.to_string()))
    }

    pub(super) fn expect_held(&self, version: String) -> Expect {
        Expect::Held {
            owner: self.cfg.identity.clone(),
            session: self.cfg.session.clone(),
            version,
        }
    }

    pub(super) fn release_step(&mut self, now: Mono) -> Step {
        let held_version = match &self.holding {
            Some(h) => Some((h.version.clone(), h.epoch)),
            None => self
                .known
                .record()
                .filter(|r| r.is_held_by(&self.cfg.identity, &self.cfg.session))
                .and_then(|r| {
                    let epoch = r.epoch.unwrap_or(self.known.highest_epoch);
                    r.version.clone().map(|v| (v, epoch))
                }),
        };
        let Some((version, epoch)) = held_version else {
            self.phase = Phase::Done;
            return Step::Done;
        };
        let expect = self.expect_held(version);
        let not_before = self.release_not_before();
        if now < not_before {
            return Step::Wait(not_before);
        }
        self.start_write(now, WriteKind::Release, expect, epoch)
    }

    /// A handover requested on the item we hold: stop answering active and release to it.
    pub(super) fn observe_handover_request(&mut self, record: &LeaseRecord) {
        let ours = self.holding.as_ref().is_some_and(|h| {
            record.version.as_deref() == Some(h.version.as_str())
                && record.is_held_by(&self.cfg.identity, &self.cfg.session)
        });
        if !ours || self.stepping_down.is_some() {
            return;
        }
        if let Some(target) = &record.handover_to {
            if target != &self.cfg.identity {
                self.stepping_down = Some(target.clone());
                self.failback.releasing_for_failback = record.is_failback();
            }
        }
    }

    /// After a read sent at `sent`: is what we hold still what the store has? Only a read
    /// sent at the confirm time confirms a new tenure: the read-back that finds an acquire
    /// whose answer was lost comes right after it landed, before another region's acquire
    /// of the same moment could have replicated here.
    pub(super) fn check_holding(&mut self, sent: Mono) {
        let Some(held) = self.holding.as_ref().map(|h| h.version.clone()) else {
            return;
        };
        let still_ours = self
            .known
            .record()
            .is_some_and(|r| r.version.as_deref() == Some(held.as_str()));
        let Some(h) = &mut self.holding else {
            return;
        };
        // R5 (revert: another version read leaves the tenure to its deadline).
        if !still_ours && applies(R5) {
            self.end_tenure();
        } else {
            h.stage.read_ours(sent);
        }
    }

    pub(super) fn write_landed(
        &mut self,
        req: &WriteRequest,
        first_sent: Mono,
        sent: Mono,
        now: Mono,
    ) {
        self.initialized = true;
        if req.kind.changes_owner() {
            self.stepping_down = None;
            self.track_failback().acquired();
        }
        if req.kind == WriteKind::Release {
            let target = self.stepping_down.clone();
            self.track_failback().handed_over(target, req.new.epoch);
        }
        self.learn().written(req, sent, now);
        if req.kind == WriteKind::Placeholder {
            // Not ours to hold: a version to time, from now.
            return;
        }
        if req.kind == WriteKind::Release {
            self.end_tenure();
            if self.phase == Phase::Releasing {
                self.phase = Phase::Done;
            }
            return;
        }
        // Across regions a renewal must reach every region before anyone there can time the
        // previous write out: known to have landed (answered, or found) by
        // `renewal_budget` after that write was sent, or it does not count and the tenure
        // is over. A renewal settled after its tenure was over (a resend that landed late)
        // does not bring the tenure back either.
        // R24 (revert: a renewal counts whenever it lands).
        if req.kind == WriteKind::Renew && self.cfg.may_span_regions() && applies(R24) {
            let budget = self.renewal_budget();
            let in_time = self
                .holding
                .as_ref()
                .is_some_and(|h| now <= h.last_sent.plus(budget));
            if !in_time {
                self.end_tenure();
                return;
            }
        }
        // R20 (revert: a new tenure answers active at once).
        let needs_confirm =
            req.kind.changes_owner() && !self.cfg.timing.confirm_delay.is_zero() && applies(R20);
        // A renewal keeps what the tenure owes; a new tenure owes its region mark.
        let stage = match (&self.holding, req.kind) {
            (Some(h), WriteKind::Renew) => h.stage.clone().renewed(),
            _ => Stage::new_tenure(
                needs_confirm.then(|| now.plus(self.cfg.timing.confirm_delay)),
                self.own_mark(req.new.epoch),
            ),
        };
        // Read after each renewal; a mark owed is written first (`mark_step`).
        let check_peers = self.cfg.regions.is_some();
        self.holding = Some(Holding {
            version: req.new.version.clone(),
            epoch: req.new.epoch,
            // R1 (revert: counted from the answer's receipt, not the first send).
            valid_until: if applies(R1) { first_sent } else { now }
                .plus(self.cfg.timing.renew_deadline),
            last_sent: sent,
            stage,
            check_peers,
        });
    }

    /// The lease is no longer ours: a handover requested of this tenure ends with it.
    pub(super) fn end_tenure(&mut self) {
        self.holding = None;
        self.stepping_down = None;
        self.failback.releasing_for_failback = false;
    }

    /// A release lets the next holder in at once: not before a retry is due, nor before
    /// every write window granted to the controller has ended.
    pub(super) fn release_not_before(&self) -> Mono {
        if !applies(R15) {
            // R15 (revert: a release goes out under open windows).
            return self.pacing.not_before;
        }
        self.pacing.not_before.max(self.granted_until)
    }

    /// Releases `version` (ours) so that only `target` (`*`: anyone but us) may take it at
    /// once: a planned handover, or a step-down.
    pub(super) fn release_to(
        &mut self,
        now: Mono,
        target: String,
        version: String,
        epoch: u64,
    ) -> Step {
        let not_before = self.release_not_before();
        if now < not_before {
            return Step::Wait(not_before);
        }
        let expect = self.expect_held(version);
        if let Some(h) = &mut self.holding {
            // A step-down is a release: once one is sent, this tenure never grants again,
            // whatever eligibility does next. The release may have landed with its answer
            // lost, and then the next holder is already in.
            h.stage = Stage::Released { to: target.clone() };
        }
        let handover = HandoverWrite::Set {
            to: target,
            from: self.cfg.identity.clone(),
        };
        self.start_write_with(now, WriteKind::Release, expect, epoch, handover)
    }

    /// Holding: hand over if asked to or no longer eligible, else renew on schedule.
    pub(super) fn holder_step(&mut self, now: Mono) -> Step {
        let Some(h) = &self.holding else {
            return self.candidate_step(now);
        };
        if let Some(target) = self.step_down_target() {
            let (version, epoch) = (h.version.clone(), h.epoch);
            return self.release_to(now, target, version, epoch);
        }
        if let Some(confirm_at) = h.stage.confirm_at() {
            return self.when_due(now, confirm_at.max(self.pacing.not_before), Step::READ);
        }
        let renew_at = if self.pacing.not_before > h.last_sent {
            self.pacing.not_before
        } else {
            h.last_sent.plus(self.cfg.timing.renew_period())
        };
        if let Some(step) = self.mark_step(now, renew_at) {
            return step;
        }
        let Some(h) = &self.holding else {
            return self.candidate_step(now);
        };
        if now < renew_at {
            // Wake at the deadline too, so the loss is noticed and logged on time.
            let wake = if now < h.valid_until {
                renew_at.min(h.valid_until)
            } else {
                renew_at
            };
            return Step::Wait(wake);
        }
        // Across regions a tenure past its renewal budget is over: its renewal could land
        // after the write another region's candidates are timing, and reach them after
        // they took over. (Past its validity but within the budget it may still renew: it
        // answers passive until the renewal is answered.)
        if self.cfg.may_span_regions()
            && applies(R24)
            && now >= h.last_sent.plus(self.renewal_budget())
        {
            self.end_tenure();
            return self.candidate_step(now);
        }
        let expect = self.expect_held(h.version.clone());
        let epoch = h.epoch;
        self.start_write(now, WriteKind::Renew, expect, epoch)
    }

    /// Across regions: how long after a write was sent its renewal may still be known to
    /// have landed. Every candidate times the write by at least our lease, from no earlier
    /// than its landing, so a takeover lands no earlier than that (less the drift that
    /// `Timing::MAX_DEADLINE_SHARE` covers); our renewal must reach their replica first,
    /// and it takes at most the lag to get there, which the rule keeps below half the
    /// confirm delay. So: the longest renew deadline the lease allows, less half the
    /// confirm delay. Not the configured renew deadline: with a short one, a tenure's
    /// first renewal (after the confirm read and the mark write) could never make it.
    pub(super) fn renewal_budget(&self) -> std::time::Duration {
        let timing = &self.cfg.timing;
        timing
            .max_renew_deadline()
            .saturating_sub(timing.confirm_delay / 2)
    }

    /// A tenure unconfirmed for a whole lease is over: others may have taken over since,
    /// and our version may be back only as a restored copy, which a renewal must not
    /// mistake for the lease it held.
    pub(super) fn expire_stale_tenure(&mut self, now: Mono) {
        // R13 (revert: a tenure is kept however old its last write).
        if applies(R13)
            && self
                .holding
                .as_ref()
                .is_some_and(|h| now.since(h.last_sent) > self.cfg.timing.lease_duration)
        {
            self.end_tenure();
        }
    }
}

impl CoreConfig {
    /// Whether the table may be eventually consistent across regions: region marks on, or
    /// a confirm delay (which only such a table needs). The rules that guard against
    /// last writer wins follow this, not `--peer-regions` alone: during the rollout of
    /// peer regions a pod may have its confirm delay and not yet its peers.
    pub(super) fn may_span_regions(&self) -> bool {
        // R19 (revert: only with peer regions).
        self.regions.is_some() || (!self.timing.confirm_delay.is_zero() && applies(R19))
    }
}
