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
//! * **Each release is acquired at once by one candidate only** (`claims.rs`). Before the
//!   acquire, the candidate creates a claim item keyed by the release's version token, only
//!   if absent or already its own. From the lease item alone, a release written back by a
//!   restore after the next holder took it looks exactly like the live one; the claim item
//!   is not written back with it, so a second candidate finds the release claimed and times
//!   it from then like any other version.
//! * **A version is timed by the longest lease anyone could be timing it by**: our own,
//!   the one it declares (`leaseDurationMs`), and the longest a holder declared lately
//!   (`hold_for`). Settings differ between pods during any rolling change, and a version
//!   written by someone other than the holder (an operator, a placeholder, a restore) may
//!   have that holder alive behind it, inside the lease *it* declared. So operators'
//!   writes never declare less than the item did, a placeholder declares what we remember,
//!   and we remember the longest declared lease until it has gone unseen for that lease
//!   plus one of ours (the holder's renewals are conditional on its own version, so once
//!   overwritten it has not renewed since).
//! * **A step-down is a release.** Once a holder has stopped granting and sent a release,
//!   that tenure never answers active again, whatever its eligibility does next: the
//!   release may have landed with its answer lost, and then the next holder is already in.
//! * Absence has no version: two reads that both found no item do not prove that nothing
//!   came and went between them. In a shared table a candidate fills a missing item with a
//!   released placeholder of its own and times that version like any other.
//! * History counts only while it is continuous: an observation confirmed more than a lease
//!   duration ago is forgotten, no decision is made on it, an unsettled write is not resent
//!   more than a lease after it was first sent, and a holder whose last successful write is
//!   more than a lease old no longer holds anything. A restore brings back a version long
//!   superseded; a candidate that read it before and nothing since must not trust its old
//!   clock for it, nor let a conditional write land on the copy.
//! * **Write windows.** Every "active" answer grants the controller a window to write in,
//!   never longer than the validity left (the HTTP side caps it, see `crate::gate`). A lease
//!   lost without a release (a renewal refused or never answered) needs nothing more: the
//!   windows end by the validity deadline, which comes before any takeover by the rule
//!   above. A release is different: it lets the next holder in at once. So the holder first
//!   stops granting (the view stops saying active), then sends its release only once every
//!   window already granted has ended ([`LeaseCore::set_granted_until`]). This applies to
//!   every release: shutdown, planned handover, step-down.
//! * The holder steps down (stops answering active, then releases to anyone else) whenever
//!   it is not eligible, derived afresh at every step rather than latched once: a write
//!   that lands late still leads to a step-down.
//! * **Failback is only a request** (`failback.rs`). A candidate of higher priority asks for
//!   the lease by writing a handover request onto the item, which changes no version: every
//!   rule above holds as it is, and the holder answers it like an operator's handover (stop
//!   granting, wait for the windows, release to the target). An observer never writes.
//!
//! What follows is the whole design, every rule named (R1, R2, ...) with its code, tests and
//! limits: `docs/design.md`, included here.
// Only when documenting: a build (the image's, say) needs no docs/ beside the sources.
#![cfg_attr(doc, doc = include_str!("../../../../docs/design.md"))]

use super::record::{LeaseRecord, WriteKind, WriteRequest};
use super::StoreError;
use crate::clock::Mono;
use crate::rules::{applies, R4, R5, R6, R7};
pub use crate::step::{Call, Step};
use crate::timing::Timing;
use diagnostics::Diagnostics;
pub use failback::Affinity;
use failback::Failback;
use holder::Holding;
use observe::{Item, Knowledge};
use pacing::Pacing;
use unsettled::Unsettled;
pub use writes::EPOCH_EXHAUSTED;

mod candidate;
mod claims;
mod diagnostics;
mod failback;
mod holder;
mod observe;
mod pacing;
mod regions;
mod stage;
mod unsettled;
mod view;
mod writes;

/// Identity and timing, validated before they get here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreConfig {
    pub identity: String,
    /// Random per process: tells this process from an earlier one with the same identity.
    pub session: String,
    /// Validated by [`Timing::validate`] before it gets here; the core relies on it.
    pub timing: Timing,
    /// No other process can reach the store (the memory store). Only then is a missing
    /// item created at once: in a shared table the item may have been deleted, or the
    /// table recreated, while some holder is still inside its validity.
    pub store_is_private: bool,
    /// Priority, failback and observer (see `failback.rs`).
    pub affinity: Affinity,
    /// On a multi-Region eventually consistent table: this pod's region and the others
    /// (see `regions.rs`). `None`: one write region, MRSC, or a single-region table.
    pub regions: Option<crate::Regions>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Phase {
    Running,
    Releasing,
    Done,
}

/// The core's state, in parts that say what they are. The step functions (`next_step`, the
/// holder's and candidate's steps) and the `on_*` answers read the whole and decide; the
/// bookkeeping they share is done by handlers that borrow only their parts, so the compiler
/// keeps each from the rest (the way openraft's engine handlers do):
///
/// | handler | may change | only reads |
/// |---|---|---|
/// | `learn()` (`observe.rs`) | `known`, `diagnostics` | `cfg` |
/// | `answers()` (`pacing.rs`) | `pacing`, `diagnostics` | `cfg.timing` |
/// | `track_failback()` (`failback.rs`) | `failback`, `diagnostics` | `cfg`, `known` |
///
/// The tenure (`holding`, its `Stage`, `stepping_down`, `phase`) is changed by the step
/// functions and the answers to the holder's own calls alone.
///
/// Clone, Eq and Hash let a model checker (tests/model.rs) keep and compare whole states;
/// the diagnostics are not part of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LeaseCore {
    /// Identity, timing, affinity, regions: never changed after `new`.
    cfg: CoreConfig,
    phase: Phase,
    /// The tenure this process holds, from its last write that landed (`holder.rs`).
    holding: Option<Holding>,
    /// Holding, but handing the lease over to this target (`*`: anyone else): no longer
    /// answering active, releasing next.
    stepping_down: Option<String>,
    /// Every write window granted to the controller ends by here: no release before it.
    granted_until: Mono,
    /// What reads and our own landed writes taught (`observe.rs`).
    known: Knowledge,
    /// The write whose answer was lost or refused, until settled (`unsettled.rs`).
    unsettled: Option<Unsettled>,
    /// Makes every version token of this process unique (`writes.rs`).
    write_seq: u64,
    /// When the next calls may go out (`pacing.rs`).
    pacing: Pacing,
    /// A decision has been made (R7): until then the role is "unknown".
    initialized: bool,
    /// May this process acquire? False during warm-up or while the controller next to it
    /// is unhealthy. An ineligible holder steps down.
    eligible: bool,
    /// Health since when, requests made, whom we handed over to (`failback.rs`).
    failback: Failback,
    /// The next owner would need an epoch above `u64::MAX`: nothing is acquired.
    epoch_exhausted: bool,
    /// Times this process stopped holding because another region's holder outranked it
    /// (a model property reads it, so it stays in the state; the text is a diagnostic).
    region_conflicts: u64,
    /// Reported, never decided on: left out of equality and hashing.
    diagnostics: Diagnostics,
}

impl LeaseCore {
    /// What to do at `now`. A returned write is taken as sent at `now`.
    pub fn next_step(&mut self, now: Mono) -> Step {
        if self.phase == Phase::Done {
            return Step::Done;
        }
        self.expire_stale_tenure(now);
        let eligible = self.eligible;
        self.track_failback().health(eligible, now);
        if let Some(step) = self.unsettled_step(now) {
            return step;
        }
        if self.phase == Phase::Releasing {
            return self.release_step(now);
        }
        if self.holding.is_some() {
            return self.holder_step(now);
        }
        self.candidate_step(now)
    }

    pub fn new(mut cfg: CoreConfig) -> Self {
        if !applies(R6) {
            // R6 (revert: one session per identity, not per process: a restarted process
            // or a twin writes the same version tokens and takes the other's for its own).
            cfg.session = cfg.identity.clone();
        }
        LeaseCore {
            cfg,
            phase: Phase::Running,
            write_seq: 0,
            holding: None,
            known: Knowledge::default(),
            unsettled: None,
            pacing: Pacing::default(),
            // R7 (revert: "passive" from the start, before anything was read).
            initialized: !applies(R7),
            diagnostics: Diagnostics::default(),
            eligible: true,
            stepping_down: None,
            granted_until: Mono::ZERO,
            failback: Failback::default(),
            epoch_exhausted: false,
            region_conflicts: 0,
        }
    }

    /// Whether this process may hold the lease. While it is off, a holder hands the lease
    /// to any other candidate (see `LeaseCore::step_down_target`).
    pub fn set_eligible(&mut self, eligible: bool) {
        self.eligible = eligible;
        if !eligible {
            // Even a blip restarts the clock `failback_after` runs on.
            self.track_failback().health_broken();
        }
    }

    /// The end of the latest write window the HTTP side has granted. The loop reports it
    /// after publishing a view that stopped granting, so it cannot grow behind a release.
    pub fn set_granted_until(&mut self, until: Mono) {
        self.granted_until = self.granted_until.max(until);
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

    /// The answer to a read sent at `sent`, received at `now`.
    pub fn on_read(
        &mut self,
        sent: Mono,
        now: Mono,
        result: Result<Option<LeaseRecord>, StoreError>,
    ) {
        let routine = self.unsettled.is_none() && self.holding.is_none();
        if routine {
            // Pace routine reads from the send time so the cadence does not drift.
            self.pacing.next_read_at = sent.plus(self.cfg.timing.interval);
            self.pacing.last_read_sent = sent;
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
        self.answers().done();
        self.diagnostics.last_error = match &item {
            Item::Malformed(why) => Some(format!("lease item is malformed: {why}")),
            // Still true until the next decision says otherwise: keep saying it.
            _ if self.epoch_exhausted => Some(EPOCH_EXHAUSTED.to_string()),
            _ => None,
        };
        self.learn().observe(sent, now, item);
        self.resolve_unsettled(now);
        self.check_holding(sent);
        if let Some(r) = self.known.record().cloned() {
            self.observe_handover_request(&r);
        }
        self.track_failback().after_read();
        // A read that leads straight to a write is not a decision yet: answering "passive"
        // for the one round trip before an acquire lands would only be noise.
        if !self.acquires_at_once() {
            self.initialized = true;
        }
    }

    /// The answer to a write sent at `sent`, received at `now`; on success, the item as
    /// the store holds it after the write.
    pub fn on_write(
        &mut self,
        req: &WriteRequest,
        sent: Mono,
        now: Mono,
        result: Result<LeaseRecord, StoreError>,
    ) {
        let first_sent = match &self.unsettled {
            Some(p) if p.req.new.version == req.new.version => p.first_sent,
            _ => sent,
        };
        match result {
            Ok(record) => {
                self.unsettled = None;
                self.answers().done();
                self.diagnostics.last_error = None;
                self.write_landed(req, first_sent, sent, now);
                // The item as written may carry a handover request made since our last
                // renewal (it does not change the version, so the renewal went through).
                self.observe_handover_request(&record);
            }
            Err(StoreError::ConditionFailed) => {
                self.answers().reached();
                // The item changed under us. If we held the lease, we stop at once: the
                // check read below restores it only if the change was our own write.
                // R5 (revert: a refused renewal leaves the tenure to its deadline).
                let holders_write = req.kind == WriteKind::Renew || req.kind == WriteKind::Release;
                if holders_write && applies(R5) {
                    self.end_tenure();
                }
                self.mark_unsettled(req, first_sent);
            }
            Err(e) if !applies(R4) => {
                // R4 (revert: a lost answer is guessed to have landed, nothing read back).
                self.store_failed(now, &e, true);
                self.unsettled = None;
                self.write_landed(req, first_sent, sent, now);
            }
            Err(e) => {
                self.store_failed(now, &e, true);
                self.mark_unsettled(req, first_sent);
            }
        }
    }
}

#[cfg(test)]
mod tests;
