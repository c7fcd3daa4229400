//! The candidate's side: what an observation means (history, timing, who may take a
//! released item at once) and when to acquire or take over.
//!
//! Sets directly: nothing: it decides the next step and leaves the state to the handlers it
//! calls (writes, claims, regions, failback).

use super::observe::{Item, Observed};
use super::{Call, LeaseCore, Phase, Step};
use crate::clock::Mono;
use crate::record::{Expect, LeaseRecord, WriteKind, HANDOVER_ANY};
use crate::rules::{applies, R12, R13, R16};

impl LeaseCore {
    /// Not holding: decide from the last observation.
    pub(super) fn candidate_step(&mut self, now: Mono) -> Step {
        let read_at = self.pacing.next_read_at.max(self.pacing.not_before);
        // Decide only on continuous history: after a pause or an outage longer than a lease,
        // the version we remember may since have gone and come back (a restore).
        // R13 (revert: a decision on an observation however old).
        let Some(obs) = self.known.observed.as_ref().filter(|o| {
            now.since(o.confirmed_sent) <= self.cfg.timing.lease_duration || !applies(R13)
        }) else {
            return self.when_due(now, self.pacing.not_before, Step::READ);
        };
        if let Some((version, epoch)) = self.unwanted_tenure(obs) {
            return self.release_to(now, HANDOVER_ANY.to_string(), version, epoch);
        }
        if !self.may_acquire() {
            // Not allowed to acquire: keep watching, so the view stays current.
            return self.when_due(now, read_at, Step::READ);
        }
        match &obs.item {
            Item::Malformed(_) => self.when_due(now, read_at, Step::READ),
            // R12 (revert: a missing item is created at once in a shared table too).
            Item::Absent if self.cfg.store_is_private || !applies(R12) => {
                match self.next_epoch(None) {
                    Some(epoch) => {
                        self.start_write_when_due(now, WriteKind::Create, Expect::Absent, epoch)
                    }
                    None => self.when_due(now, read_at, Step::READ),
                }
            }
            // In a shared table someone may still hold a lease on an item deleted under them,
            // and absence has no version: two reads that both found nothing do not prove that
            // nothing came and went in between. So fill the gap with a released placeholder
            // (a version of our own making) and time that like any other.
            Item::Absent => {
                let epoch = self.known.highest_epoch;
                self.start_write_when_due(now, WriteKind::Placeholder, Expect::Absent, epoch)
            }
            Item::Present(r) if r.is_frozen() => self.when_due(now, read_at, Step::READ),
            Item::Present(r) if r.is_released() && r.open_to(&self.cfg.identity) => {
                let expect = Self::as_read(r);
                if obs.open {
                    if let Some(claim) = self.claim_first(r) {
                        return self.when_due(
                            now,
                            self.pacing.not_before,
                            Step::Call(Call::Claim(Box::new(claim))),
                        );
                    }
                    if let Some(step) = self.marks_before_acquiring(now) {
                        return step;
                    }
                    return match self.next_epoch(r.epoch) {
                        Some(epoch) => {
                            self.start_write_when_due(now, WriteKind::Acquire, expect, epoch)
                        }
                        None => self.when_due(now, read_at, Step::READ),
                    };
                }
                // Released by someone other than its holder: timed like a held version.
                let expiry = obs.noted_at.plus(obs.hold);
                self.wait_for_expiry(now, expiry, read_at, WriteKind::Acquire, expect)
            }
            Item::Present(r) => {
                if let Some(req) = self.failback_due(now, obs.confirmed_sent, r) {
                    return self.ask_for_failback(now, req);
                }
                let read_at = self.read_at_during_handover(r, read_at);
                let expiry = obs.noted_at.plus(obs.hold);
                let expect = Self::as_read(r);
                self.wait_for_expiry(now, expiry, read_at, WriteKind::Takeover, expect)
            }
        }
    }

    /// A takeover's or acquire's condition: the item as read, its handover request
    /// included (R27).
    fn as_read(r: &LeaseRecord) -> Expect {
        Expect::AsRead {
            key: r.version_key(),
            handover_to: r.handover_to.clone(),
            handover_id: r.handover_id.clone(),
        }
    }

    /// Held under our session but not by our reckoning: an acquire we stopped
    /// resending when we became ineligible landed after all, or a restore brought back an
    /// old version of ours. Unwanted, it goes back to anyone else (its version and epoch
    /// here); wanted, it is timed like any other version (a restored copy is no lease of
    /// ours).
    fn unwanted_tenure(&self, obs: &Observed) -> Option<(String, u64)> {
        if let Item::Present(r) = &obs.item {
            // R16 (revert: a tenure of ours we do not hold is kept, eligible or not).
            let ours = r.is_held_by(&self.cfg.identity, &self.cfg.session);
            if ours && !self.may_acquire() && applies(R16) {
                if let Some(version) = r.version.clone() {
                    let epoch = r.epoch.unwrap_or(self.known.highest_epoch);
                    return Some((version, epoch));
                }
            }
        }
        None
    }

    /// A handover to us is under way: watch closely for the release.
    fn read_at_during_handover(&self, r: &LeaseRecord, read_at: Mono) -> Mono {
        if !r.is_released()
            && r.handover_to.is_some()
            && r.open_to_after_release(&self.cfg.identity)
        {
            read_at
                .min(
                    self.pacing
                        .last_read_sent
                        .plus(self.cfg.timing.interval / 4),
                )
                .max(self.pacing.not_before)
        } else {
            read_at
        }
    }

    /// Take over at `expiry` exactly (not on the next tick), reading on the usual cadence
    /// until then to notice renewals.
    pub(super) fn wait_for_expiry(
        &mut self,
        now: Mono,
        expiry: Mono,
        read_at: Mono,
        kind: WriteKind,
        expect: Expect,
    ) -> Step {
        let expiry = expiry.max(self.pacing.not_before);
        if now >= expiry {
            // A released item taken by timing is claimed too: the claim records that this
            // release was used, so a copy written back later is not taken at once by a pod
            // that never saw what came after (the seed, above all).
            // Whatever the write's kind: a release meant for someone else, taken by timing,
            // is claimed too, or its copy could later be taken at once by its target.
            let claim = self
                .known
                .record()
                .filter(|r| r.is_released())
                .and_then(|r| self.claim_first(r));
            if let Some(claim) = claim {
                return self.when_due(
                    now,
                    self.pacing.not_before,
                    Step::Call(Call::Claim(Box::new(claim))),
                );
            }
            if let Some(step) = self.marks_before_acquiring(now) {
                return step;
            }
            let stored_epoch = self.known.record().and_then(|r| r.epoch);
            return match self.next_epoch(stored_epoch) {
                Some(epoch) => self.start_write(now, kind, expect, epoch),
                None => self.when_due(now, read_at, Step::READ),
            };
        }
        if now >= read_at {
            return Step::READ;
        }
        Step::Wait(read_at.min(expiry))
    }

    pub(super) fn acquires_at_once(&self) -> bool {
        if self.holding.is_some()
            || self.unsettled.is_some()
            || self.phase != Phase::Running
            || !self.may_acquire()
        {
            return false;
        }
        let Some(obs) = &self.known.observed else {
            return false;
        };
        match &obs.item {
            Item::Absent => self.cfg.store_is_private,
            Item::Present(r) => obs.open && r.open_to(&self.cfg.identity),
            _ => false,
        }
    }
}
