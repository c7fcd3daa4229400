//! Building the writes: the version token, the epoch, the release markers.
//!
//! Sets directly: `write_seq`, `unsettled`, `diagnostics.last_error`, `epoch_exhausted`.

use super::unsettled::Unsettled;
use super::{Call, LeaseCore, Step};
use crate::clock::Mono;
use crate::record::{Expect, HandoverWrite, LeaseState, WriteKind, WriteRequest};
use crate::rules::{applies, R18};

/// What an operator sees when no higher fencing token exists.
pub const EPOCH_EXHAUSTED: &str = "the lease epoch is at its limit (18446744073709551615): no new \
     owner can get a higher fencing token, so none is acquired; stop every drlease of this \
     lease, delete the lease item and its region marks (<lease>/regions/*, if any) or run \
     create-table's seed again, then start them";

impl LeaseCore {
    /// `step` once `at` has come, else a wait until then.
    pub(super) fn when_due(&self, now: Mono, at: Mono, step: Step) -> Step {
        if now >= at {
            step
        } else {
            Step::Wait(at)
        }
    }

    /// `req` once `at` has come (an unsettled write then counts as resent), else a wait.
    pub(super) fn write_when_due(&mut self, now: Mono, at: Mono, req: WriteRequest) -> Step {
        if now < at {
            return Step::Wait(at);
        }
        if let Some(p) = &mut self.unsettled {
            p.resend = false;
        }
        Step::Call(Call::Write(Box::new(req)))
    }

    /// A new write once the back-off after a failed call is over, else a wait.
    pub(super) fn start_write_when_due(
        &mut self,
        now: Mono,
        kind: WriteKind,
        expect: Expect,
        epoch: u64,
    ) -> Step {
        if now < self.pacing.not_before {
            return Step::Wait(self.pacing.not_before);
        }
        self.start_write(now, kind, expect, epoch)
    }

    /// The fencing token for a new owner: above every epoch stored or seen (across regions,
    /// one of this region's own: `Regions::next_epoch_above`). `None` when
    /// none is left (the epoch is at `u64::MAX`): handing out the same token twice would
    /// let two tenures' writes pass the same fence, so nothing is acquired until an
    /// operator resets the lease (see [`EPOCH_EXHAUSTED`]).
    pub(super) fn next_epoch(&mut self, stored: Option<u64>) -> Option<u64> {
        if !applies(R18) {
            // R18 (revert: one above the stored epoch, saturating at the limit).
            return Some(stored.unwrap_or(0).saturating_add(1));
        }
        let base = stored.unwrap_or(0).max(self.known.highest_epoch);
        let next = match &self.cfg.regions {
            Some(regions) => regions.next_epoch_above(base),
            None => base.checked_add(1),
        };
        self.epoch_exhausted = next.is_none();
        if self.epoch_exhausted {
            self.diagnostics.last_error = Some(EPOCH_EXHAUSTED.to_string());
        }
        next
    }

    pub(super) fn start_write(
        &mut self,
        now: Mono,
        kind: WriteKind,
        expect: Expect,
        epoch: u64,
    ) -> Step {
        // A renewal keeps a handover request made since; everything else here clears it.
        let handover = if kind == WriteKind::Renew {
            HandoverWrite::Keep
        } else {
            HandoverWrite::Clear
        };
        self.start_write_with(now, kind, expect, epoch, handover)
    }

    pub(super) fn start_write_with(
        &mut self,
        now: Mono,
        kind: WriteKind,
        expect: Expect,
        epoch: u64,
        handover: HandoverWrite,
    ) -> Step {
        self.write_seq += 1;
        // Unique across processes because the session is random; a counter rather than
        // fresh randomness keeps the core deterministic for the simulation tests.
        let version = format!("{}.{}", self.cfg.session, self.write_seq);
        let (owner, session) = if matches!(kind, WriteKind::Release | WriteKind::Placeholder) {
            (String::new(), String::new())
        } else {
            (self.cfg.identity.clone(), self.cfg.session.clone())
        };
        // A release names the version it replaces, and, when it is the release of the
        // lease we hold (validity and all), says so: the one thing that lets a candidate
        // who saw our tenure acquire at once. Releasing an item we found under our name
        // but never held (a restored copy) claims nothing.
        let (released_by, released_from) = match (&kind, &expect) {
            (WriteKind::Release, Expect::Held { version, .. }) => {
                let ours = self.holding.as_ref().is_some_and(|h| &h.version == version);
                (
                    ours.then(|| self.cfg.session.clone()),
                    Some(version.clone()),
                )
            }
            _ => (None, None),
        };
        // A placeholder is timed by everyone who reads it: it declares the longest lease a
        // holder declared lately, since that holder may still be alive behind the deletion.
        let own_lease = self.cfg.timing.lease_duration.as_millis() as u64;
        let lease_duration_ms = if kind == WriteKind::Placeholder {
            self.known.hold_for(&self.cfg.timing, None).as_millis() as u64
        } else {
            own_lease
        };
        // A holder publishes its priority in the item, for candidates deciding on failback.
        let priority = (!owner.is_empty()).then_some(self.cfg.affinity.priority);
        let req = WriteRequest {
            kind,
            expect,
            new: LeaseState {
                owner,
                session,
                version,
                epoch,
                lease_duration_ms,
                handover,
                released_by,
                released_from,
                priority,
            },
        };
        self.unsettled = Some(Unsettled {
            req: req.clone(),
            first_sent: now,
            needs_check: false,
            resend: false,
        });
        Step::Call(Call::Write(Box::new(req)))
    }
}
