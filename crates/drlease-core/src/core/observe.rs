//! What the core knows about the item ([`Knowledge`]: the last observation and since when
//! it has looked like that, the highest epoch, the longest lease declared lately, the
//! release claimed) and the handler that changes it ([`Learn`]). The handler borrows the
//! knowledge mutably and nothing else of the core's state but the diagnostics it reports
//! to: learning from an answer cannot touch a tenure, the pacing or the failback state.

use std::time::Duration;

use super::diagnostics::Diagnostics;
use super::{CoreConfig, LeaseCore};
use crate::clock::Mono;
use crate::operator::HandoverRequest;
use crate::record::{LeaseRecord, VersionKey, WriteRequest};
use crate::rules::{applies, R11, R13, R2, R25, R28, R9};
use crate::timing::Timing;
use crate::RegionMark;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Item {
    Absent,
    Present(Box<LeaseRecord>),
    Malformed(String),
}

/// The last thing learned about the item, and since when it has looked like that.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Observed {
    pub(super) item: Item,
    pub(super) key: Option<VersionKey>,
    /// When this version was first received: the start of its lease, on our clock.
    pub(super) noted_at: Mono,
    /// Send time of the latest read that showed this version: how fresh this history is.
    pub(super) confirmed_sent: Mono,
    /// A released item that may be acquired at once (its holder's own release, of a tenure
    /// we saw, or the seed).
    pub(super) open: bool,
    /// How long this version must stay unchanged before it may be taken: the longest
    /// lease anyone could be timing it by (see [`Knowledge::hold_for`]).
    pub(super) hold: Duration,
}

/// The longest lease duration declared in the item lately, and when it was last seen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Declared {
    pub(super) lease: Duration,
    /// Send time of the latest read (or write) that showed it declared.
    pub(super) seen: Mono,
}

/// What the core knows about the item, from reads and from its own writes that landed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Knowledge {
    pub(super) observed: Option<Observed>,
    /// The highest epoch this process has seen or written: the floor for the next owner.
    pub(super) highest_epoch: u64,
    /// Whether this process has ever seen the item exist (or wrote it).
    pub(super) seen_item: bool,
    /// Another live process writes under our identity (a twin).
    pub(super) conflict: bool,
    /// The longest lease a holder declared lately: a later version by another writer
    /// (an operator with shorter settings, a placeholder, a restore) is timed by it too.
    pub(super) declared: Option<Declared>,
    /// The release (by version token) whose claim is settled: ours, or refused (then it is
    /// taken only after timing it in full from the refusal).
    pub(super) claimed: Option<String>,
}

impl Knowledge {
    /// The item as last observed, when it exists and parsed.
    pub(super) fn record(&self) -> Option<&LeaseRecord> {
        match &self.observed {
            Some(Observed {
                item: Item::Present(r),
                ..
            }) => Some(r),
            _ => None,
        }
    }

    /// How long a version must stay unchanged before it may be taken: the longest of our
    /// lease duration, the one its writer declared, and the longest a holder declared
    /// lately. A version written by someone other than the holder (an operator with
    /// shorter settings, a placeholder after a deletion, a restore) may still have that
    /// holder alive behind it, inside the lease *it* declared.
    pub(super) fn hold_for(&self, timing: &Timing, declared_ms: Option<u64>) -> Duration {
        if !applies(R11) {
            // R11 (revert: every version is timed by our own lease alone).
            return timing.lease_duration;
        }
        let stored = Duration::from_millis(declared_ms.unwrap_or(0));
        let lately = self.declared.as_ref().map_or(Duration::ZERO, |d| d.lease);
        timing
            .lease_duration
            .max(timing.longest_lease)
            .max(stored)
            .max(lately)
    }
}

/// The handler for what an answer teaches: it may change the knowledge and report to the
/// diagnostics; the settings it only reads.
pub(super) struct Learn<'a> {
    cfg: &'a CoreConfig,
    known: &'a mut Knowledge,
    diagnostics: &'a mut Diagnostics,
}

impl LeaseCore {
    /// The handler for what an answer teaches (borrowing only what it may change).
    pub(super) fn learn(&mut self) -> Learn<'_> {
        Learn {
            cfg: &self.cfg,
            known: &mut self.known,
            diagnostics: &mut self.diagnostics,
        }
    }
}

impl Learn<'_> {
    pub(super) fn observe(&mut self, sent: Mono, now: Mono, item: Item) {
        let key = match &item {
            Item::Present(r) => Some(r.version_key()),
            _ => None,
        };
        // A rollback is counted once, when its version first shows up, not at every read
        // of it (a restored item is read again every interval).
        let new_version = self.known.observed.as_ref().map(|o| &o.key) != Some(&key);
        self.note_epoch_and_twin(&item, &key, new_version);
        if let Item::Present(r) = &item {
            self.note_declared(sent, r.lease_duration_ms);
        }
        let highest_before = self.known.highest_epoch;
        // Only continuous history counts: forget what was last confirmed over a lease ago.
        // R13 (revert: an observation is trusted however old).
        let prev = self.known.observed.as_ref().filter(|o| {
            now.since(o.confirmed_sent) <= self.cfg.timing.lease_duration || !applies(R13)
        });
        let same = prev.is_some_and(|o| {
            o.key == key
                && std::mem::discriminant(&o.item) == std::mem::discriminant(&item)
                // R25 (revert: a request on a version keeps its clock).
                && (!self.cfg.may_span_regions() || !applies(R25) || same_request(&o.item, &item))
        });
        let (noted_at, open) = self.clock_of(prev, &item, same, highest_before, now);
        let declared_ms = match &item {
            Item::Present(r) => r.lease_duration_ms,
            _ => None,
        };
        // Timed by the longest lease anyone declared for it, however long ago we noted it.
        let hold = self
            .known
            .hold_for(&self.cfg.timing, declared_ms)
            .max(prev.filter(|_| same).map_or(Duration::ZERO, |o| o.hold));
        self.known.observed = Some(Observed {
            item,
            key,
            noted_at,
            confirmed_sent: sent,
            open,
            hold,
        });
    }

    /// Epochs (the highest seen, and a store going backwards) and a twin: another live
    /// process writing under our identity.
    fn note_epoch_and_twin(&mut self, item: &Item, key: &Option<VersionKey>, new_version: bool) {
        if let Item::Present(r) = item {
            if let Some(e) = r.epoch {
                if e < self.known.highest_epoch && new_version {
                    self.diagnostics.rollbacks += 1;
                }
                self.known.highest_epoch = self.known.highest_epoch.max(e);
            }
            self.known.seen_item = true;
            let twin = r.owner == self.cfg.identity
                && r.owner_session.as_deref() != Some(self.cfg.session.as_str());
            let changed_while_twin = matches!(
                &self.known.observed,
                Some(Observed { item: Item::Present(prev), key: prev_key, .. })
                    if prev.owner == self.cfg.identity
                        && prev.owner_session == r.owner_session
                        && prev_key.as_ref() != key.as_ref()
            );
            if !twin {
                self.known.conflict = false;
            } else if changed_while_twin {
                self.known.conflict = true;
            }
        } else if matches!(item, Item::Absent) && self.known.seen_item {
            let was_present = matches!(
                &self.known.observed,
                Some(Observed {
                    item: Item::Present(_),
                    ..
                })
            );
            if was_present {
                self.diagnostics.rollbacks += 1;
            }
        }
    }

    /// When this version's clock started, and whether it is open to acquire at once: the
    /// same version keeps both; a release may be open (its holder's own release of a tenure
    /// we saw, or the seed) or keep the clock of the version it replaced.
    fn clock_of(
        &self,
        prev: Option<&Observed>,
        item: &Item,
        same: bool,
        highest_before: u64,
        now: Mono,
    ) -> (Mono, bool) {
        match (prev, item) {
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
                // R9 (revert: every release is open at once).
                let open = own_release_of_seen_tenure || seed || !applies(R9);
                (inherited.unwrap_or(now), open)
            }
            // R2 (revert: a new version keeps the clock of the one it replaced).
            (Some(o), _) if !applies(R2) => (o.noted_at, false),
            _ => (now, false),
        }
    }

    /// Our own write landed (`sent` at, answered or found at `now`): the item is as we wrote
    /// it, a version first seen now.
    pub(super) fn written(&mut self, req: &WriteRequest, sent: Mono, now: Mono) {
        self.known.highest_epoch = self.known.highest_epoch.max(req.new.epoch);
        self.known.seen_item = true;
        if req.kind.changes_owner() {
            self.known.conflict = false;
        }
        let record = req.apply(None, 0);
        self.note_declared(sent, record.lease_duration_ms);
        self.known.observed = Some(Observed {
            key: Some(record.version_key()),
            hold: self
                .known
                .hold_for(&self.cfg.timing, record.lease_duration_ms),
            item: Item::Present(Box::new(record)),
            noted_at: now,
            confirmed_sent: sent,
            open: false,
        });
    }

    /// Our claim on release `version` landed: it is acquired at once, however often asked.
    pub(super) fn claimed(&mut self, version: &str) {
        self.known.claimed = Some(version.to_string());
    }

    /// Someone else claimed release `version` (refused at `now`): it was taken before,
    /// and what we see is a copy written back since (or its claimer never got to write).
    /// Its holder may be alive behind it, and whatever clock we had for it ran from before
    /// that tenure: time it afresh, from now, like any other version. A holder behind it
    /// wrote last before the copy came back, so a full lease from now outlasts it; and once
    /// that has passed it is taken without a claim (a claimer that died before acquiring
    /// must not pin it for good).
    pub(super) fn claim_refused(&mut self, version: &str, now: Mono) {
        self.claimed(version);
        if let Some(o) = &mut self.known.observed {
            let same = matches!(&o.item, Item::Present(r)
                if r.version.as_deref() == Some(version));
            if same {
                o.open = false;
                o.noted_at = now;
            }
        }
    }

    /// Our handover request landed at `now`. The version did not change: the item as we
    /// saw it, with our request on it, so we watch closely for the release from now on.
    /// Across regions the request may have dropped the holder's renewal (last writer
    /// wins): its version is timed again from here (R25).
    pub(super) fn requested(&mut self, req: &HandoverRequest, now: Mono) {
        let regions = self.cfg.may_span_regions();
        if let Some(o) = &mut self.known.observed {
            if let Item::Present(r) = &mut o.item {
                if r.version.as_deref() == Some(req.expect_version.as_str()) {
                    req.apply_to(r);
                    if regions {
                        o.noted_at = now;
                    }
                }
            }
        }
    }

    /// Region marks read: our own region's among them. After the item was deleted or
    /// written back to a lower epoch, a new tenure must go above every mark, or its own
    /// would be refused.
    pub(super) fn marks_seen(&mut self, marks: &[RegionMark]) {
        let top = marks.iter().map(|m| m.epoch).max().unwrap_or(0);
        self.known.highest_epoch = self.known.highest_epoch.max(top);
    }

    /// Remembers the longest lease declared lately. It is forgotten once it has not been
    /// seen for that lease plus one of ours: a holder that declared it and was then
    /// overwritten has not renewed since (its renewals are conditional on its own version),
    /// so its validity ran out before then.
    pub(super) fn note_declared(&mut self, sent: Mono, declared_ms: Option<u64>) {
        let lease = Duration::from_millis(declared_ms.unwrap_or(0));
        let own = self.cfg.timing.lease_duration;
        let stale = |d: &Declared| sent.since(d.seen) > d.lease.saturating_add(own);
        if self.known.declared.as_ref().is_some_and(stale) {
            self.known.declared = None;
        }
        if lease > own
            && self
                .known
                .declared
                .as_ref()
                .is_none_or(|d| lease >= d.lease)
        {
            self.known.declared = Some(Declared { lease, seen: sent });
        }
    }
}

/// On a table across regions, a handover request written to one replica is a write of the
/// whole item there: last writer wins may drop the holder's renewal behind it, so the
/// version it lands on is timed again from when the request is seen. Every write of a
/// request has an id of its own: the same target asked again is a new request too.
fn same_request(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Present(a), Item::Present(b)) => {
            // R28 (revert: the same target written again is the same request).
            a.handover_to == b.handover_to
                && a.handover_from == b.handover_from
                && (a.handover_id == b.handover_id || !applies(R28))
        }
        _ => true,
    }
}
