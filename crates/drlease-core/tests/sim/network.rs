//! The network and the store: requests that are delayed, lost, or land after the caller
//! gave up, against one item under the memory store's conditional-write rules. Each
//! request is applied to its candidate's region's copy (`replicas.rs`).

use drlease_core::clock::Mono;
use drlease_core::driver::{self, Answered, Call};
use drlease_core::operator::HandoverRequest;
use drlease_core::StoreError;
use drlease_core::{LeaseRecord, RegionMark, ReleaseClaim, VersionKey, WriteRequest};

use drlease_core::replication::Replicated;

use super::replicas::Stamp;
use super::topology::Mode;
use super::{trace, Ev, Sim};

/// What landing a request changed, beyond its answer: done once the op is settled.
#[derive(Default)]
struct Effects {
    /// A landed write's copy, for the other replicas (MREC).
    sent: Option<Replicated<Stamp>>,
    landed: Option<(usize, u64, Box<WriteRequest>, Option<LeaseRecord>)>,
    acquired_a_release: bool,
}

/// What the store answered: the item (a read, a write), the marks, or just done.
#[derive(Clone)]
pub(super) enum Answer {
    Item(Box<Option<LeaseRecord>>),
    Marks(Vec<RegionMark>),
    Done,
}

impl Answer {
    fn item(self) -> Option<LeaseRecord> {
        match self {
            Answer::Item(item) => *item,
            _ => None,
        }
    }
}

pub(super) struct Reply {
    kind: Call,
    sent_local: Mono,
}

pub(super) struct Op {
    c: usize,
    generation: u64,
    kind: Call,
    sent_local: Mono,
    /// Real time it was sent.
    sent_at: u64,
    timed_out: bool,
    /// Whether the request reaches the store at all.
    lands: bool,
    responded: bool,
    applied: Option<Result<Answer, StoreError>>,
}

impl Sim {
    pub(super) fn delay(&mut self, c: usize) -> u64 {
        let max = self.sc.max_delay.as_nanos() as u64;
        if self.faults && self.rng.chance(0.04) {
            // A slow path: sometimes past the call timeout, so the request lands late.
            let timeout = self.sc.settings[c].call_timeout.as_nanos() as u64;
            self.rng.range(max, timeout * 2)
        } else {
            self.rng.range(max / 50, max)
        }
    }

    pub(super) fn send(&mut self, c: usize, kind: Call) {
        let id = self.next_op;
        self.next_op += 1;
        let timeout = self.sc.settings[c].call_timeout.as_nanos() as u64;
        let d1 = self.delay(c);
        let d2 = self.delay(c);
        let mut lands = true;
        let mut respond_at = self.now + d1 + d2;
        let mut timed_out = false;
        if self.faults {
            if self.rng.chance(0.03) {
                // Lost reply: it lands, the answer never comes.
                respond_at = self.now + timeout;
                timed_out = true;
            } else if self.rng.chance(0.03) {
                lands = false;
                respond_at = self.now + timeout;
                timed_out = true;
            }
        }
        if d1 + d2 > timeout {
            respond_at = self.now + timeout;
            timed_out = true;
        }
        // What the regions' bound assumes: every call answered within the round trip. A
        // call that will not be is a fault until its answer (or timeout) comes.
        if timed_out || !lands || d1 + d2 > 2 * self.sc.max_delay.as_nanos() as u64 {
            self.cands[c].faulted_at = self.cands[c].faulted_at.max(respond_at);
        }
        let cand = &self.cands[c];
        let op = Op {
            c,
            generation: cand.generation,
            kind,
            sent_local: cand.local(self.now),
            sent_at: self.now,
            timed_out,
            lands,
            responded: false,
            applied: None,
        };
        self.ops.insert(id, op);
        self.cands[c].busy = true;
        if lands {
            // Pushed first, so at equal times the store sees it before the answer goes out.
            self.push(self.now + d1, Ev::Apply { op: id });
        }
        self.push(respond_at, Ev::Respond { op: id });
    }

    /// A request reaches its candidate's region's copy of the store.
    pub(super) fn apply(&mut self, id: u64) -> Result<(), String> {
        let Some(c) = self.ops.get(&id).map(|op| op.c) else {
            return Ok(());
        };
        let region = self.sc.topology.home[c];
        // MREC: the region's own replica; otherwise the one copy.
        let mrec = self.sc.topology.mode == Mode::Mrec;
        self.hold_replica(if mrec { region } else { 0 });
        let result = self.apply_here(id, region);
        self.hold_replica(0);
        result
    }

    fn apply_here(&mut self, id: u64, region: usize) -> Result<(), String> {
        // MRSC: a region cut off from the others cannot read or write at all.
        let cut = self.sc.topology.mode == Mode::Mrsc && self.cut_off(region);
        let down = self.now < self.outage_until || cut;
        let Some(op) = self.ops.get_mut(&id) else {
            return Ok(());
        };
        if down {
            let why = if cut { "region cut off" } else { "outage" };
            op.applied = Some(Err(StoreError::Unavailable(why.into())));
            if op.responded {
                self.ops.remove(&id);
            }
            return Ok(());
        }
        let (c, generation, kind) = (op.c, op.generation, op.kind.clone());
        let mut effects = Effects::default();
        let result = match &kind {
            Call::Read => Ok(Answer::Item(Box::new(self.replica.item().cloned()))),
            Call::Write(req) => self.land_write(c, generation, req, &mut effects)?,
            Call::Claim(claim) => self.land_claim(c, claim, &mut effects),
            Call::RequestHandover(req) => self.land_request(c, req, &mut effects),
            Call::ReadMarks(_) => Ok(Answer::Marks(self.replica.marks().cloned().collect())),
            Call::WriteMark(mark) => self.land_mark(c, mark, &mut effects),
        };
        let op = self.ops.get_mut(&id).expect("the op applied");
        op.applied = Some(result);
        if op.responded {
            // The sender gave up long ago; the write landed anyway.
            self.ops.remove(&id);
        }
        self.replicate_landed(effects.sent.take());
        if let Some((c, generation, req, replaced)) = effects.landed {
            self.note_landed((c, generation), &req, replaced.as_ref());
        }
        if effects.acquired_a_release {
            self.aim_restore_at_acquire();
        }
        Ok(())
    }

    /// A write of the lease item reaches this copy: applied if its condition holds.
    /// `Err` for what must never happen (an epoch going down or handed out twice).
    fn land_write(
        &mut self,
        c: usize,
        generation: u64,
        req: &WriteRequest,
        effects: &mut Effects,
    ) -> Result<Result<Answer, StoreError>, String> {
        let stamp = self.stamp();
        let Ok(written) = self.replica.write(req, stamp) else {
            return Ok(Err(StoreError::ConditionFailed));
        };
        let stored_epoch = written.replaced.as_ref().and_then(|r| r.epoch).unwrap_or(0);
        if req.new.epoch < stored_epoch {
            return Err(format!(
                "write lowers the epoch {stored_epoch} -> {}",
                req.new.epoch
            ));
        }
        // Outside one store two regions can both hand out max + 1 (MREC), so uniqueness of
        // the epochs handed out is checked only on one store (and MRSC's one copy).
        let one_copy = self.sc.topology.mode != Mode::Mrec;
        if req.kind.changes_owner() {
            if req.new.epoch <= self.highest_landed_epoch && !self.rolled_back && one_copy {
                return Err(format!(
                    "new owner {} got epoch {} but {} was handed out before",
                    req.new.owner, req.new.epoch, self.highest_landed_epoch
                ));
            }
            self.stats.owner_changes += 1;
        }
        self.highest_landed_epoch = self.highest_landed_epoch.max(req.new.epoch);
        let replaced = written.replaced.clone();
        effects.landed = Some((c, generation, Box::new(req.clone()), replaced));
        if let Some(old) = written.replaced {
            let released = old.released_by.is_some();
            self.history.push((old, self.now));
            effects.acquired_a_release = released && req.kind.changes_owner();
        }
        trace(self.now, self.replica.item(), || {
            format!("cand-{c} {}", req.kind.as_str())
        });
        effects.sent = written.sent;
        Ok(Ok(Answer::Item(Box::new(self.replica.item().cloned()))))
    }

    /// A claim on a release: an item of its own, first writer keeps it.
    fn land_claim(
        &mut self,
        c: usize,
        claim: &ReleaseClaim,
        effects: &mut Effects,
    ) -> Result<Answer, StoreError> {
        // A resend finding its own claim lands again unchanged; only a new claim is sent on.
        let new = self.replica.claimed_by(&claim.release_version).is_none();
        let stamp = if new { self.stamp() } else { None };
        let landed = self.replica.claim(claim, stamp);
        let ours = landed.is_ok();
        trace(self.now, self.replica.item(), || {
            format!("cand-{c} claims {}: {ours}", claim.release_version)
        });
        effects.sent = landed.map_err(|_| StoreError::ConditionFailed)?;
        Ok(Answer::Done)
    }

    /// A failback request: lands on the item without changing its version.
    fn land_request(
        &mut self,
        c: usize,
        req: &HandoverRequest,
        effects: &mut Effects,
    ) -> Result<Answer, StoreError> {
        let stamp = self.stamp();
        let landed = self.replica.request_handover(req, stamp);
        let applied = landed.is_ok();
        trace(self.now, self.replica.item(), || {
            format!("cand-{c} failback request applied: {applied}")
        });
        effects.sent = landed.map_err(|_| StoreError::ConditionFailed)?;
        Ok(Answer::Done)
    }

    /// This region's mark, unless a higher epoch is there.
    fn land_mark(
        &mut self,
        c: usize,
        mark: &RegionMark,
        effects: &mut Effects,
    ) -> Result<Answer, StoreError> {
        let stamp = self.stamp();
        let landed = self.replica.write_mark(mark, stamp);
        let written = landed.is_ok();
        trace(self.now, self.replica.item(), || {
            format!("cand-{c} marks {mark:?}: {written}")
        });
        effects.sent = landed.map_err(|_| StoreError::ConditionFailed)?;
        Ok(Answer::Done)
    }

    pub(super) fn respond(&mut self, id: u64) {
        let Some(op) = self.ops.get(&id) else { return };
        let c = op.c;
        if self.cands[c].generation == op.generation
            && self.cands[c].alive()
            && self.cands[c].paused_until > self.now
        {
            let at = self.cands[c].paused_until;
            self.push(at, Ev::Respond { op: id });
            return;
        }
        let op = self.ops.get_mut(&id).unwrap();
        op.responded = true;
        let timeout = self.sc.settings[c].call_timeout;
        let outcome = if op.timed_out {
            Err(StoreError::Timeout(timeout))
        } else {
            op.applied
                .clone()
                .unwrap_or(Err(StoreError::Timeout(timeout)))
        };
        let (generation, sent_local) = (op.generation, op.sent_local);
        // What the regions' bound assumes: every call answered within the round trip.
        let rtt = 2 * self.sc.max_delay.as_nanos() as u64;
        let failed = matches!(&outcome, Err(e) if !matches!(e, StoreError::ConditionFailed));
        if failed || self.now - op.sent_at > rtt {
            self.cands[c].faulted_at = self.now;
        }
        let kind = if !op.lands || op.applied.is_some() {
            self.ops.remove(&id).unwrap().kind
        } else {
            // Still in the network: keep it for its Apply, answer with a copy.
            op.kind.clone()
        };
        let op = Reply { kind, sent_local };
        if self.cands[c].generation != generation || !self.cands[c].alive() {
            return; // the process that sent it is gone
        }
        // What this process now believes the item to be, for the restores it cannot see.
        match (&op.kind, &outcome) {
            (Call::Read, Ok(Answer::Item(item))) => {
                self.cands[c].received = item.as_ref().as_ref().map(|r| r.version_key());
            }
            (Call::Write(req), Ok(_)) => {
                self.cands[c].received = Some(VersionKey::Token(req.new.version.clone()));
            }
            _ => {}
        }
        let now_local = self.cands[c].local(self.now);
        let core = self.cands[c].core.as_mut().unwrap();
        if let Call::Read = &op.kind {
            trace(self.now, None, || {
                format!(
                    "cand-{c} read answered {:?}",
                    outcome.clone().map(|r| r.item().and_then(|r| r.version))
                )
            });
        }
        let answered = match op.kind {
            Call::Read => Answered::Read(outcome.map(Answer::item)),
            Call::Write(req) => Answered::Write(
                req,
                outcome.map(|written| written.item().expect("a landed write returns the item")),
            ),
            Call::RequestHandover(req) => Answered::RequestHandover(req, outcome.map(|_| ())),
            Call::Claim(claim) => Answered::Claim(claim, outcome.map(|_| ())),
            Call::ReadMarks(_) => Answered::ReadMarks(outcome.map(|a| match a {
                Answer::Marks(marks) => marks,
                _ => Vec::new(),
            })),
            Call::WriteMark(mark) => Answered::WriteMark(mark, outcome.map(|_| ())),
        };
        // The one driver of the Step protocol, as the lease loop and the core's harness use.
        driver::deliver(core, op.sent_local, now_local, answered);
        self.cands[c].busy = false;
        self.wake(c, self.now);
    }
}

impl Sim {
    /// The versions live processes have been shown and will go on taking for the item:
    /// each one's last answer, and answers already decided but still on their way.
    /// Written back, one of those is no change at all to that process (nothing that polls
    /// can tell), so a restore does not pick it.
    pub(super) fn versions_in_view(&self) -> Vec<VersionKey> {
        let mut seen: Vec<VersionKey> = self
            .cands
            .iter()
            .filter(|k| k.alive())
            .filter_map(|k| k.received.clone())
            .collect();
        for op in self.ops.values() {
            let k = &self.cands[op.c];
            if !k.alive() || k.generation != op.generation || op.responded || op.timed_out {
                continue;
            }
            if let Some(Ok(Answer::Item(item))) = &op.applied {
                if let Some(r) = item.as_ref() {
                    seen.push(r.version_key());
                }
            }
        }
        seen
    }
}
