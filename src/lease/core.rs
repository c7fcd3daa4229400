//! The lease decision logic: no I/O, no clock of its own.
//!
//! The loop asks [`LeaseCore::next_step`] what to do at time `now`, performs it against a
//! store, and reports the answer back with [`LeaseCore::on_read`] / [`LeaseCore::on_write`].
//! Every safety rule lives here:
//!
//! * The holder is active until `send time of its last successful write + renewDeadline`.
//!   The send time is taken before sending, so the deadline can only be early.
//! * A candidate takes over only after the item's version has stayed the same for a full
//!   lease duration, timed on its own clock from the moment it *received* that version.
//!   That moment is after the write landed, which is after the holder's send time, so the
//!   candidate's takeover comes after the holder's deadline (with `leaseDuration -
//!   renewDeadline` to spare for clock-rate drift).
//! * Every write is conditional on exactly what was observed, so of two racing writes at
//!   most one lands.
//! * A write whose answer was lost is resolved by reading the item back: version tokens
//!   are unique, so finding our own token means our write landed.
//! * **Only the holder's own release makes the item acquirable at once.** The holder
//!   stopped answering active before it sent it, and it is conditional on the holder's own
//!   version, so nobody else can be active behind it. It names the releasing session
//!   (`releasedBy`), and a candidate acquires it at once only if it saw that very tenure
//!   (same session, same epoch) held on its previous read. Every other version (a freeze,
//!   an unfreeze, a deletion, a restored item, a write by a tool we do not know) may have a
//!   live holder behind it that has not noticed yet, so it is timed like a held version: a
//!   full lease duration unchanged on our clock. A release that names the version it
//!   replaced (`releasedFrom`, as `unfreeze` does) keeps the clock of that version when we
//!   saw it, so a lease frozen for longer than a lease duration is taken at once.
//!   `create-table`'s seed (released, epoch 0, replacing nothing) is acquired at once by a
//!   candidate that has never seen a higher epoch: the command waits a lease duration after
//!   creating the table before it writes it, so no holder of an earlier table survives.
//! * Absence has no version: two reads that both found no item do not prove that nothing
//!   came and went between them. In a shared table a candidate fills a missing item with a
//!   released placeholder of its own and times that version like any other.
//! * History counts only while it is continuous: an observation confirmed more than a lease
//!   duration ago is forgotten, no decision is made on it, an unsettled write is not resent
//!   more than a lease after it was first sent, and a holder whose last successful write is
//!   more than a lease old no longer holds anything. A restore brings back a version long
//!   superseded; a candidate that read it before and nothing since must not trust its old
//!   clock for it, nor let a conditional write land on the copy.
//! * The holder steps down (stops answering active, then releases to anyone else) whenever
//!   it is not eligible, derived afresh at every step rather than latched once: a write
//!   that lands late still leads to a step-down.

use std::time::Duration;

use super::record::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    HANDOVER_ANY,
};
use super::view::View;
use crate::clock::Mono;
use crate::store::StoreError;

/// Timing and identity, validated by the config layer before they get here.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub identity: String,
    /// Random per process: tells this process from an earlier one with the same identity.
    pub session: String,
    pub interval: Duration,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    /// Wait this long after acquiring and re-read before answering active (for eventually
    /// consistent multi-Region tables). Zero disables it.
    pub confirm_delay: Duration,
    /// No other process can reach the store (the memory store). Only then is a missing
    /// item created at once: in a shared table the item may have been deleted, or the
    /// table recreated, while some holder is still inside its validity.
    pub store_is_private: bool,
}

impl CoreConfig {
    /// How often the holder renews. Normally the interval; with a renew deadline under two
    /// intervals, half the deadline, so that a renewal (a call is bounded by half the
    /// deadline) lands before the validity it extends runs out. Renewing more often never
    /// weakens safety: it only changes the version more often.
    pub fn renew_period(&self) -> Duration {
        self.interval.min(self.renew_deadline / 2)
    }

    /// How soon a failed call is retried while the outcome matters (holding, or a write
    /// whose fate is unknown). Quick, so a blip does not cost the lease.
    fn quick_retry(&self) -> Duration {
        (self.interval / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// What the loop should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do before this time (the loop may be woken earlier by a shutdown).
    Wait(Mono),
    /// A strongly consistent read of the item.
    Read,
    /// A conditional write.
    Write(Box<WriteRequest>),
    /// Released (or never held) after a shutdown request: the loop can stop.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    Releasing,
    Done,
}

/// The lease as this process holds it, from its last successful write.
#[derive(Clone, Debug)]
struct Holding {
    version: String,
    epoch: u64,
    /// Active until here (send time of the first attempt of the write + renewDeadline).
    valid_until: Mono,
    /// Send time of the latest successful write; renewals are paced from it.
    last_sent: Mono,
    /// With a confirm delay: not active until a read at this time still shows our write.
    confirm_at: Option<Mono>,
}

#[derive(Clone, Debug)]
enum Item {
    Absent,
    Present(Box<LeaseRecord>),
    Malformed(String),
}

/// The last thing learned about the item, and since when it has looked like that.
#[derive(Clone, Debug)]
struct Observed {
    item: Item,
    key: Option<VersionKey>,
    /// When this version was first received: the start of its lease, on our clock.
    noted_at: Mono,
    /// Send time of the latest read that showed this version: how fresh this history is.
    confirmed_sent: Mono,
    /// A released item that may be acquired at once (its holder's own release, of a tenure
    /// we saw, or the seed).
    open: bool,
}

/// A write that was sent and whose outcome is not settled yet.
#[derive(Clone, Debug)]
struct Pending {
    req: WriteRequest,
    /// Send time of the first attempt: if any attempt landed, it landed after this.
    first_sent: Mono,
    /// The answer was lost or refused: read the item back before doing anything else.
    needs_check: bool,
    /// A read showed the item unchanged: the same request (same token) may be sent again.
    resend: bool,
}

#[derive(Debug)]
pub struct LeaseCore {
    cfg: CoreConfig,
    phase: Phase,
    write_seq: u64,
    holding: Option<Holding>,
    observed: Option<Observed>,
    pending: Option<Pending>,
    /// The highest epoch this process has seen or written: the floor for the next owner.
    highest_epoch: u64,
    /// Whether this process has ever seen the item exist (or wrote it).
    seen_item: bool,
    next_read_at: Mono,
    last_read_sent: Mono,
    not_before: Mono,
    initialized: bool,
    store_reachable: Option<bool>,
    conflict: bool,
    rollbacks: u64,
    last_error: Option<String>,
    /// May this process acquire? False during warm-up or while the controller next to it
    /// is unhealthy. An ineligible holder steps down.
    eligible: bool,
    /// Holding, but handing the lease over to this target (`*`: anyone else): no longer
    /// answering active, releasing next.
    stepping_down: Option<String>,
}

impl LeaseCore {
    pub fn new(cfg: CoreConfig) -> Self {
        LeaseCore {
            cfg,
            phase: Phase::Running,
            write_seq: 0,
            holding: None,
            observed: None,
            pending: None,
            highest_epoch: 0,
            seen_item: false,
            next_read_at: Mono::ZERO,
            last_read_sent: Mono::ZERO,
            not_before: Mono::ZERO,
            initialized: false,
            store_reachable: None,
            conflict: false,
            rollbacks: 0,
            last_error: None,
            eligible: true,
            stepping_down: None,
        }
    }

    /// Whether this process may hold the lease. While it is off, a holder hands the lease
    /// to any other candidate (see [`LeaseCore::step_down_target`]).
    pub fn set_eligible(&mut self, eligible: bool) {
        self.eligible = eligible;
    }

    /// Whether this process wants to hold the lease at all right now.
    fn wants_to_hold(&self) -> bool {
        self.eligible && self.phase == Phase::Running
    }

    /// Holding, but handing over: to a requested target, or to anyone else while not
    /// eligible. Derived at every step, so however the lease was gained, it is let go.
    fn step_down_target(&self) -> Option<String> {
        self.holding.as_ref()?;
        self.stepping_down
            .clone()
            .or_else(|| (!self.eligible).then(|| HANDOVER_ANY.to_string()))
    }

    pub fn is_eligible(&self) -> bool {
        self.eligible
    }

    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// Stop answering active at once, then give the lease up if this process holds it.
    pub fn begin_release(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Releasing;
        }
    }

    pub fn is_releasing(&self) -> bool {
        self.phase != Phase::Running
    }

    /// What to do at `now`. A returned write is taken as sent at `now`.
    pub fn next_step(&mut self, now: Mono) -> Step {
        if self.phase == Phase::Done {
            return Step::Done;
        }
        // A tenure unconfirmed for a whole lease is over: others may have taken over since,
        // and our version may be back only as a restored copy, which a renewal must not
        // mistake for the lease it held.
        if self
            .holding
            .as_ref()
            .is_some_and(|h| now.since(h.last_sent) > self.cfg.lease_duration)
        {
            self.end_tenure();
        }
        if let Some(p) = &self.pending {
            if p.needs_check {
                return self.gated(now, self.not_before, Step::Read);
            }
            if p.resend && p.req.kind.changes_owner() && !self.wants_to_hold() {
                // Became ineligible (or is shutting down) since: do not resend. If the first
                // attempt lands after all, a read shows the item held by us and we release it.
                self.pending = None;
            } else if p.resend {
                let req = p.req.clone();
                return self.gated_write(now, self.not_before, req);
            }
        }
        if self.phase == Phase::Releasing {
            return self.release_step(now);
        }
        if let (Some(h), Some(target)) = (&self.holding, self.step_down_target()) {
            let expect = self.expect_held(h.version.clone());
            let handover = HandoverWrite::Set {
                to: target,
                from: self.cfg.identity.clone(),
            };
            let epoch = h.epoch;
            if now < self.not_before {
                return Step::Wait(self.not_before);
            }
            return self.start_write_with(now, WriteKind::Release, expect, epoch, handover);
        }
        if let Some(h) = &self.holding {
            if let Some(confirm_at) = h.confirm_at {
                return self.gated(now, confirm_at.max(self.not_before), Step::Read);
            }
            let renew_at = if self.not_before > h.last_sent {
                self.not_before
            } else {
                h.last_sent.plus(self.cfg.renew_period())
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
            let expect = self.expect_held(h.version.clone());
            let epoch = h.epoch;
            return self.start_write(now, WriteKind::Renew, expect, epoch);
        }
        self.candidate_step(now)
    }

    /// Not holding: decide from the last observation.
    fn candidate_step(&mut self, now: Mono) -> Step {
        let read_at = self.next_read_at.max(self.not_before);
        // Decide only on continuous history: after a pause or an outage longer than a lease,
        // the version we remember may since have gone and come back (a restore).
        let Some(obs) = self
            .observed
            .as_ref()
            .filter(|o| now.since(o.confirmed_sent) <= self.cfg.lease_duration)
        else {
            return self.gated(now, self.not_before, Step::Read);
        };
        if let Item::Present(r) = &obs.item {
            // Held under our session but not by our reckoning: an acquire we stopped
            // resending when we became ineligible landed after all, or a restore brought back an
            // old version of ours. Unwanted, it goes back to anyone else; wanted, it is timed
            // like any other version below (a restored copy is no lease of ours).
            if r.is_held_by(&self.cfg.identity, &self.cfg.session) && !self.eligible {
                if let Some(version) = r.version.clone() {
                    if now < self.not_before {
                        return Step::Wait(self.not_before);
                    }
                    let epoch = r.epoch.unwrap_or(self.highest_epoch);
                    let expect = self.expect_held(version);
                    let handover = HandoverWrite::Set {
                        to: HANDOVER_ANY.to_string(),
                        from: self.cfg.identity.clone(),
                    };
                    return self.start_write_with(now, WriteKind::Release, expect, epoch, handover);
                }
            }
        }
        if !self.eligible {
            // Not allowed to acquire: keep watching, so the view stays current.
            return self.gated(now, read_at, Step::Read);
        }
        match &obs.item {
            Item::Malformed(_) => self.gated(now, read_at, Step::Read),
            Item::Absent if self.cfg.store_is_private => {
                let epoch = self.next_epoch(None);
                self.start_write_gated(now, WriteKind::Create, Expect::Absent, epoch)
            }
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
                    let epoch = self.next_epoch(r.epoch);
                    return self.start_write_gated(now, WriteKind::Acquire, expect, epoch);
                }
                // Released by someone other than its holder: timed like a held version.
                let expiry = obs.noted_at.plus(self.hold_for(r));
                self.wait_for_expiry(now, expiry, read_at, WriteKind::Acquire, expect)
            }
            Item::Present(r) => {
                // A handover to us is under way: watch closely for the release.
                let read_at = if !r.is_released()
                    && r.handover_to.is_some()
                    && r.open_to_after_release(&self.cfg.identity)
                {
                    read_at
                        .min(self.last_read_sent.plus(self.cfg.interval / 4))
                        .max(self.not_before)
                } else {
                    read_at
                };
                let expiry = obs.noted_at.plus(self.hold_for(r));
                let expect = Expect::Version(r.version_key());
                self.wait_for_expiry(now, expiry, read_at, WriteKind::Takeover, expect)
            }
        }
    }

    /// How long a version must stay unchanged before it may be taken: our lease duration,
    /// or the longer one its writer declared.
    fn hold_for(&self, r: &LeaseRecord) -> Duration {
        let stored_ms = r.lease_duration_ms.unwrap_or(0);
        self.cfg
            .lease_duration
            .max(Duration::from_millis(stored_ms))
    }

    fn expect_held(&self, version: String) -> Expect {
        Expect::Held {
            owner: self.cfg.identity.clone(),
            session: self.cfg.session.clone(),
            version,
        }
    }

    /// Take over at `expiry` exactly (not on the next tick), reading on the usual cadence
    /// until then to notice renewals.
    fn wait_for_expiry(
        &mut self,
        now: Mono,
        expiry: Mono,
        read_at: Mono,
        kind: WriteKind,
        expect: Expect,
    ) -> Step {
        let expiry = expiry.max(self.not_before);
        if now >= expiry {
            let stored_epoch = match &self.observed {
                Some(Observed {
                    item: Item::Present(r),
                    ..
                }) => r.epoch,
                _ => None,
            };
            let epoch = self.next_epoch(stored_epoch);
            return self.start_write(now, kind, expect, epoch);
        }
        if now >= read_at {
            return Step::Read;
        }
        Step::Wait(read_at.min(expiry))
    }

    fn release_step(&mut self, now: Mono) -> Step {
        let held_version = match (&self.holding, &self.observed) {
            (Some(h), _) => Some((h.version.clone(), h.epoch)),
            (
                None,
                Some(Observed {
                    item: Item::Present(r),
                    ..
                }),
            ) if r.is_held_by(&self.cfg.identity, &self.cfg.session) => r
                .version
                .clone()
                .map(|v| (v, r.epoch.unwrap_or(self.highest_epoch))),
            _ => None,
        };
        let Some((version, epoch)) = held_version else {
            self.phase = Phase::Done;
            return Step::Done;
        };
        let expect = self.expect_held(version);
        let not_before = self.not_before;
        if now < not_before {
            return Step::Wait(not_before);
        }
        self.start_write(now, WriteKind::Release, expect, epoch)
    }

    fn gated(&self, now: Mono, at: Mono, step: Step) -> Step {
        if now >= at {
            step
        } else {
            Step::Wait(at)
        }
    }

    fn gated_write(&mut self, now: Mono, at: Mono, req: WriteRequest) -> Step {
        if now < at {
            return Step::Wait(at);
        }
        if let Some(p) = &mut self.pending {
            p.resend = false;
        }
        Step::Write(Box::new(req))
    }

    fn start_write_gated(
        &mut self,
        now: Mono,
        kind: WriteKind,
        expect: Expect,
        epoch: u64,
    ) -> Step {
        if now < self.not_before {
            return Step::Wait(self.not_before);
        }
        self.start_write(now, kind, expect, epoch)
    }

    fn next_epoch(&self, stored: Option<u64>) -> u64 {
        stored
            .unwrap_or(0)
            .max(self.highest_epoch)
            .saturating_add(1)
    }

    fn start_write(&mut self, now: Mono, kind: WriteKind, expect: Expect, epoch: u64) -> Step {
        // A renewal keeps a handover request made since; everything else here clears it.
        let handover = if kind == WriteKind::Renew {
            HandoverWrite::Keep
        } else {
            HandoverWrite::Clear
        };
        self.start_write_with(now, kind, expect, epoch, handover)
    }

    fn start_write_with(
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
        let req = WriteRequest {
            kind,
            expect,
            new: LeaseState {
                owner,
                session,
                version,
                epoch,
                lease_duration_ms: self.cfg.lease_duration.as_millis() as u64,
                handover,
                released_by,
                released_from,
            },
        };
        self.pending = Some(Pending {
            req: req.clone(),
            first_sent: now,
            needs_check: false,
            resend: false,
        });
        Step::Write(Box::new(req))
    }

    /// The answer to a read sent at `sent`, received at `now`.
    pub fn on_read(
        &mut self,
        sent: Mono,
        now: Mono,
        result: Result<Option<LeaseRecord>, StoreError>,
    ) {
        let routine = self.pending.is_none() && self.holding.is_none();
        if routine {
            // Pace routine reads from the send time so the cadence does not drift.
            self.next_read_at = sent.plus(self.cfg.interval);
            self.last_read_sent = sent;
        }
        let item = match result {
            Ok(Some(r)) => Item::Present(Box::new(r)),
            Ok(None) => Item::Absent,
            Err(StoreError::Malformed(why)) => Item::Malformed(why),
            Err(e) => {
                self.store_failed(now, &e, !routine);
                return;
            }
        };
        self.store_reachable = Some(true);
        self.not_before = Mono::ZERO;
        self.last_error = match &item {
            Item::Malformed(why) => Some(format!("lease item is malformed: {why}")),
            _ => None,
        };
        self.observe(sent, now, item);
        self.resolve_pending(now);
        self.check_holding();
        if let Some(Observed {
            item: Item::Present(r),
            ..
        }) = &self.observed
        {
            let r = r.clone();
            self.observe_handover_request(&r);
        }
        // A read that leads straight to a write is not a decision yet: answering "passive"
        // for the one round trip before an acquire lands would only be noise.
        if !self.acquires_at_once() {
            self.initialized = true;
        }
    }

    fn acquires_at_once(&self) -> bool {
        if self.holding.is_some()
            || self.pending.is_some()
            || self.phase != Phase::Running
            || !self.eligible
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

    fn observe(&mut self, sent: Mono, now: Mono, item: Item) {
        let key = match &item {
            Item::Present(r) => Some(r.version_key()),
            _ => None,
        };
        if let Item::Present(r) = &item {
            if let Some(e) = r.epoch {
                if e < self.highest_epoch {
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
        let highest_before = self.highest_epoch;
        // Only continuous history counts: forget what was last confirmed over a lease ago.
        let prev = self
            .observed
            .as_ref()
            .filter(|o| now.since(o.confirmed_sent) <= self.cfg.lease_duration);
        let same = prev.is_some_and(|o| {
            o.key == key && std::mem::discriminant(&o.item) == std::mem::discriminant(&item)
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
                // A release naming a version we saw keeps that version's clock.
                let inherited = prev
                    .filter(|o| {
                        r.released_from.is_some()
                            && o.key.as_ref().map(VersionKey::marker) == r.released_from
                    })
                    .map(|o| o.noted_at);
                (inherited.unwrap_or(now), own_release_of_seen_tenure || seed)
            }
            _ => (now, false),
        };
        self.observed = Some(Observed {
            item,
            key,
            noted_at,
            confirmed_sent: sent,
            open,
        });
    }

    /// After a read: did the write whose answer we lost land?
    fn resolve_pending(&mut self, now: Mono) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let stored = match &self.observed {
            Some(Observed {
                item: Item::Present(r),
                ..
            }) => Some(r.as_ref()),
            _ => None,
        };
        if stored.and_then(|r| r.version.as_deref()) == Some(p.req.new.version.as_str()) {
            self.write_landed(&p.req, p.first_sent, p.first_sent, now);
            return;
        }
        // A decision is good for one lease at most: past that, the item may have changed and
        // been restored to what we expected, and the resend would land on the copy.
        let fresh = now.since(p.first_sent) <= self.cfg.lease_duration;
        if p.needs_check && fresh && LeaseRecord::satisfies(stored, &p.req.expect) {
            // Nothing changed, so the write did not land (yet). Send the very same request
            // again: if the first attempt is still in flight, only one of them can land.
            self.pending = Some(Pending {
                needs_check: false,
                resend: true,
                ..p
            });
        }
    }

    /// A handover requested on the item we hold: stop answering active and release to it.
    fn observe_handover_request(&mut self, record: &LeaseRecord) {
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
            }
        }
    }

    /// After a read: is what we hold still what the store has?
    fn check_holding(&mut self) {
        let Some(h) = &mut self.holding else {
            return;
        };
        let still_ours = matches!(
            &self.observed,
            Some(Observed { item: Item::Present(r), .. }) if r.version.as_deref() == Some(h.version.as_str())
        );
        if !still_ours {
            self.end_tenure();
        } else if h.confirm_at.is_some() {
            h.confirm_at = None;
        }
    }

    /// The answer to a write sent at `sent`, received at `now`.
    /// The answer to a write sent at `sent`, received at `now`; on success, the item as
    /// the store holds it after the write.
    pub fn on_write(
        &mut self,
        req: &WriteRequest,
        sent: Mono,
        now: Mono,
        result: Result<LeaseRecord, StoreError>,
    ) {
        let first_sent = match &self.pending {
            Some(p) if p.req.new.version == req.new.version => p.first_sent,
            _ => sent,
        };
        match result {
            Ok(record) => {
                self.pending = None;
                self.store_reachable = Some(true);
                self.not_before = Mono::ZERO;
                self.last_error = None;
                self.write_landed(req, first_sent, sent, now);
                // The item as written may carry a handover request made since our last
                // renewal (it does not change the version, so the renewal went through).
                self.observe_handover_request(&record);
            }
            Err(StoreError::ConditionFailed) => {
                self.store_reachable = Some(true);
                // The item changed under us. If we held the lease, we stop at once: the
                // check read below restores it only if the change was our own write.
                if req.kind == WriteKind::Renew || req.kind == WriteKind::Release {
                    self.end_tenure();
                }
                self.mark_unknown(req, first_sent);
            }
            Err(e) => {
                self.store_failed(now, &e, true);
                self.mark_unknown(req, first_sent);
            }
        }
    }

    fn mark_unknown(&mut self, req: &WriteRequest, first_sent: Mono) {
        self.pending = Some(Pending {
            req: req.clone(),
            first_sent,
            needs_check: true,
            resend: false,
        });
    }

    fn store_failed(&mut self, now: Mono, e: &StoreError, urgent: bool) {
        self.store_reachable = Some(false);
        self.last_error = Some(e.to_string());
        // Once a held lease has lapsed there is no deadline left to save: back off.
        let lapsed = matches!(&self.holding, Some(h) if now >= h.valid_until);
        let delay = if urgent && !lapsed {
            self.cfg.quick_retry()
        } else {
            self.cfg.interval
        };
        self.not_before = now.plus(delay);
    }

    fn write_landed(&mut self, req: &WriteRequest, first_sent: Mono, sent: Mono, now: Mono) {
        self.initialized = true;
        self.highest_epoch = self.highest_epoch.max(req.new.epoch);
        self.seen_item = true;
        if req.kind.changes_owner() {
            self.conflict = false;
            self.stepping_down = None;
        }
        let record = req.apply(None, 0);
        self.observed = Some(Observed {
            key: Some(record.version_key()),
            item: Item::Present(Box::new(record)),
            noted_at: now,
            confirmed_sent: sent,
            open: false,
        });
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
        let needs_confirm = req.kind.changes_owner() && !self.cfg.confirm_delay.is_zero();
        self.holding = Some(Holding {
            version: req.new.version.clone(),
            epoch: req.new.epoch,
            valid_until: first_sent.plus(self.cfg.renew_deadline),
            last_sent: sent,
            confirm_at: needs_confirm.then(|| now.plus(self.cfg.confirm_delay)),
        });
    }

    /// The lease is no longer ours: a handover requested of this tenure ends with it.
    fn end_tenure(&mut self) {
        self.holding = None;
        self.stepping_down = None;
    }

    /// What the loop publishes for the HTTP layer.
    pub fn view(&self) -> View {
        let record = match &self.observed {
            Some(Observed {
                item: Item::Present(r),
                ..
            }) => Some(r),
            _ => None,
        };
        let active_until = match (&self.holding, self.phase) {
            (Some(h), Phase::Running)
                if h.confirm_at.is_none() && self.step_down_target().is_none() =>
            {
                Some(h.valid_until)
            }
            _ => None,
        };
        View {
            initialized: self.initialized,
            active_until,
            holder: record.map(|r| r.owner.clone()),
            epoch: self
                .holding
                .as_ref()
                .map(|h| h.epoch)
                .or_else(|| record.and_then(|r| r.epoch)),
            holder_since: self.observed.as_ref().map(|o| o.noted_at),
            store_reachable: self.store_reachable,
            frozen: record.is_some_and(|r| r.is_frozen()),
            handover_pending: record.is_some_and(|r| r.handover_to.is_some()),
            conflict: self.conflict,
            rollbacks: self.rollbacks,
            last_error: self.last_error.clone(),
        }
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
