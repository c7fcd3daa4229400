//! The candidate's side: what an observation means (history, timing, who may take a
//! released item at once) and when to acquire or take over.

use std::time::Duration;

use super::*;
use crate::lease::record::HANDOVER_ANY;

impl LeaseCore {
    /// Not holding: decide from the last observation.
    pub(super) fn candidate_step(&mut self, now: Mono) -> Step {
        let read_at = self.next_read_at.max(self.not_before);
        // Decide only on continuous history: after a pause or an outage longer than a lease,
        // the version we remember may since have gone and come back (a restore).
        let Some(obs) = self
            .observed
            .as_ref()
            .filter(|o| now.since(o.confirmed_sent) <= self.cfg.timing.lease_duration)
        else {
            return self.gated(now, self.not_before, Step::Read);
        };
        if let Item::Present(r) = &obs.item {
            // Held under our session but not by our reckoning: an acquire we stopped
            // resending when we became ineligible landed after all, or a restore brought back an
            // old version of ours. Unwanted, it goes back to anyone else; wanted, it is timed
            // like any other version below (a restored copy is no lease of ours).
            if r.is_held_by(&self.cfg.identity, &self.cfg.session) && !self.may_acquire() {
                if let Some(version) = r.version.clone() {
                    let epoch = r.epoch.unwrap_or(self.highest_epoch);
                    return self.release_to(now, HANDOVER_ANY.to_string(), version, epoch);
                }
            }
        }
        if !self.may_acquire() {
            // Not allowed to acquire: keep watching, so the view stays current.
            return self.gated(now, read_at, Step::Read);
        }
        match &obs.item {
            Item::Malformed(_) => self.gated(now, read_at, Step::Read),
            Item::Absent if self.cfg.store_is_private => match self.next_epoch(None) {
                Some(epoch) => {
                    self.start_write_gated(now, WriteKind::Create, Expect::Absent, epoch)
                }
                None => self.gated(now, read_at, Step::Read),
            },
            // In a shared table someone may still hold a lease on an item deleted under them,
            // and absence has no version: two reads that both found nothing do not prove that
            // nothing came and went in between. So fill the gap with a released placeholder
            // (a version of our own making) and time that like any other.
            Item::Absent => {
                let epoch = self.highest_epoch;
                self.start_write_gated(now, WriteKind::Placeholder, Expect::Absent, epoch)
            }
            Item::Present(r) if r.is_frozen() => self.gated(now, read_at, Step::Read),
            Item::Present(r) if r.is_released() && r.open_to(&self.cfg.identity) => {
                let expect = Expect::Version(r.version_key());
                if obs.open {
                    if let Some(claim) = self.claim_first(r) {
                        return self.gated(now, self.not_before, Step::Claim(Box::new(claim)));
                    }
                    if let Some(step) = self.marks_before_acquiring(now) {
                        return step;
                    }
                    return match self.next_epoch(r.epoch) {
                        Some(epoch) => {
                            self.start_write_gated(now, WriteKind::Acquire, expect, epoch)
                        }
                        None => self.gated(now, read_at, Step::Read),
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
                // A handover to us is under way: watch closely for the release.
                let read_at = if !r.is_released()
                    && r.handover_to.is_some()
                    && r.open_to_after_release(&self.cfg.identity)
                {
                    read_at
                        .min(self.last_read_sent.plus(self.cfg.timing.interval / 4))
                        .max(self.not_before)
                } else {
                    read_at
                };
                let expiry = obs.noted_at.plus(obs.hold);
                let expect = Expect::Version(r.version_key());
                self.wait_for_expiry(now, expiry, read_at, WriteKind::Takeover, expect)
            }
        }
    }

    /// How long a version must stay unchanged before it may be taken: the longest of our
    /// lease duration, the one its writer declared, and the longest a holder declared
    /// lately. A version written by someone other than the holder (an operator with
    /// shorter settings, a placeholder after a deletion, a restore) may still have that
    /// holder alive behind it, inside the lease *it* declared.
    pub(super) fn hold_for(&self, declared_ms: Option<u64>) -> Duration {
        let stored = Duration::from_millis(declared_ms.unwrap_or(0));
        let lately = self.declared.as_ref().map_or(Duration::ZERO, |d| d.lease);
        self.cfg
            .timing
            .lease_duration
            .max(self.cfg.timing.longest_lease)
            .max(stored)
            .max(lately)
    }

    /// Remembers the longest lease declared lately. It is forgotten once it has not been
    /// seen for that lease plus one of ours: a holder that declared it and was then
    /// overwritten has not renewed since (its renewals are conditional on its own version),
    /// so its validity ran out before then.
    pub(super) fn note_declared(&mut self, sent: Mono, declared_ms: Option<u64>) {
        let lease = Duration::from_millis(declared_ms.unwrap_or(0));
        let own = self.cfg.timing.lease_duration;
        let stale = |d: &Declared| sent.since(d.seen) > d.lease.saturating_add(own);
        if self.declared.as_ref().is_some_and(stale) {
            self.declared = None;
        }
        if lease > own && self.declared.as_ref().is_none_or(|d| lease >= d.lease) {
            self.declared = Some(Declared { lease, seen: sent });
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
        let expiry = expiry.max(self.not_before);
        if now >= expiry {
            // A released item taken by timing is claimed too: the claim records that this
            // release was used, so a copy written back later is not taken at once by a pod
            // that never saw what came after (the seed, above all).
            // Whatever the write's kind: a release meant for someone else, taken by timing,
            // is claimed too, or its copy could later be taken at once by its target.
            let claim = self
                .observed_record()
                .filter(|r| r.is_released())
                .and_then(|r| self.claim_first(r));
            if let Some(claim) = claim {
                return self.gated(now, self.not_before, Step::Claim(Box::new(claim)));
            }
            if let Some(step) = self.marks_before_acquiring(now) {
                return step;
            }
            let stored_epoch = self.observed_record().and_then(|r| r.epoch);
            return match self.next_epoch(stored_epoch) {
                Some(epoch) => self.start_write(now, kind, expect, epoch),
                None => self.gated(now, read_at, Step::Read),
            };
        }
        if now >= read_at {
            return Step::Read;
        }
        Step::Wait(read_at.min(expiry))
    }

    pub(super) fn acquires_at_once(&self) -> bool {
        if self.holding.is_some()
            || self.pending.is_some()
            || self.phase != Phase::Running
            || !self.may_acquire()
        {
            return false;
        }
        let Some(obs) = &self.observed else {
            return false;
        };
        match &obs.item {
            Item::Absent => self.cfg.store_is_private,
            Item::Present(r) => obs.open && r.open_to(&self.cfg.identity),
            _ => false,
        }
    }

    pub(super) fn observe(&mut self, sent: Mono, now: Mono, item: Item) {
        let key = match &item {
            Item::Present(r) => Some(r.version_key()),
            _ => None,
        };
        // A rollback is counted once, when its version first shows up, not at every read
        // of it (a restored item is read again every interval).
        let new_version = self.observed.as_ref().map(|o| &o.key) != Some(&key);
        if let Item::Present(r) = &item {
            if let Some(e) = r.epoch {
                if e < self.highest_epoch && new_version {
                    self.rollbacks += 1;
                }
                self.highest_epoch = self.highest_epoch.max(e);
            }
            self.seen_item = true;
            let twin = r.owner == self.cfg.identity
                && r.owner_session.as_deref() != Some(self.cfg.session.as_str());
            let changed_while_twin = matches!(
                &self.observed,
                Some(Observed { item: Item::Present(prev), key: prev_key, .. })
                    if prev.owner == self.cfg.identity
                        && prev.owner_session == r.owner_session
                        && prev_key.as_ref() != key.as_ref()
            );
            if !twin {
                self.conflict = false;
            } else if changed_while_twin {
                self.conflict = true;
            }
        } else if matches!(item, Item::Absent) && self.seen_item {
            let was_present = matches!(
                &self.observed,
                Some(Observed {
                    item: Item::Present(_),
                    ..
                })
            );
            if was_present {
                self.rollbacks += 1;
            }
        }
        if let Item::Present(r) = &item {
            self.note_declared(sent, r.lease_duration_ms);
        }
        let highest_before = self.highest_epoch;
        // Only continuous history counts: forget what was last confirmed over a lease ago.
        let prev = self
            .observed
            .as_ref()
            .filter(|o| now.since(o.confirmed_sent) <= self.cfg.timing.lease_duration);
        let same = prev.is_some_and(|o| {
            o.key == key
                && std::mem::discriminant(&o.item) == std::mem::discriminant(&item)
                && (self.cfg.regions.is_none() || same_request(&o.item, &item))
        });
        let (noted_at, open) = match (prev, &item) {
            (Some(o), _) if same => (o.noted_at, o.open),
            (prev, Item::Present(r)) if r.is_released() => {
                let own_release_of_seen_tenure = r.released_by.is_some()
                    && r.epoch.unwrap_or(0) >= highest_before
                    && prev.is_some_and(|o| match &o.item {
                        Item::Present(p) => {
                            !p.is_released()
                                && !p.is_frozen()
                                && p.owner_session == r.released_by
                                && p.epoch == r.epoch
                        }
                        _ => false,
                    });
                let seed = r.is_seed() && highest_before == 0;
                // An unfreeze naming the frozen version we saw keeps that version's clock. A
                // holder's own release does not: it is either taken at once (claimed) or,
                // if it is a copy written back after someone took it, timed from now.
                let inherited = prev
                    .filter(|o| {
                        r.released_by.is_none()
                            && r.released_from.is_some()
                            && o.key.as_ref().map(VersionKey::marker) == r.released_from
                    })
                    .map(|o| o.noted_at);
                (inherited.unwrap_or(now), own_release_of_seen_tenure || seed)
            }
            _ => (now, false),
        };
        let declared_ms = match &item {
            Item::Present(r) => r.lease_duration_ms,
            _ => None,
        };
        // Timed by the longest lease anyone declared for it, however long ago we noted it.
        let hold = self
            .hold_for(declared_ms)
            .max(prev.filter(|_| same).map_or(Duration::ZERO, |o| o.hold));
        self.observed = Some(Observed {
            item,
            key,
            noted_at,
            confirmed_sent: sent,
            open,
            hold,
        });
    }
}

/// On a table across regions, a handover request written to one replica is a write of the
/// whole item there: last writer wins may drop the holder's renewal behind it, so the
/// version it lands on is timed again from when the request is seen.
fn same_request(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Present(a), Item::Present(b)) => {
            a.handover_to == b.handover_to && a.handover_from == b.handover_from
        }
        _ => true,
    }
}
