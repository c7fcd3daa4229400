//! A candidate's store calls, as the lease loop makes them: the next step through the one
//! driver of the Step protocol (`drlease_core::driver`), the request landing on its
//! region's copy, and its answer (or a failure) handed back the same way.

use drlease_core::clock::Mono;
use drlease_core::driver::{self, Answered, Call, Step};
use drlease_core::{LeaseCore, StoreError};

use super::state::{local, model_time, Cand, Fate, Io, Op, Orphan, Reply, Request, State};
use super::LeaseModel;

impl LeaseModel {
    pub(super) fn step(&self, s: &mut State, c: usize) {
        let now = s.now;
        let timeout = self.world.cands[c].call_timeout();
        let cand = &mut s.cands[c];
        let Some(core) = cand.core.as_mut() else {
            return;
        };
        if let Some(deadline) = cand.release_deadline {
            if !core.is_releasing() {
                core.begin_release();
                self.publish(cand, c);
            }
            if now >= deadline {
                // Gave up releasing in time: the process exits.
                stop(cand);
                return;
            }
        }
        let core = cand.core.as_mut().expect("alive");
        let next = core.next_step(local(c, now));
        self.publish(cand, c);
        let timeout_at = (now + timeout).min(cand.release_deadline.unwrap_or(u32::MAX));
        let op = |req| {
            Io::Busy(Box::new(Op {
                req,
                sent: now,
                timeout_at,
                fate: Fate::Flying,
            }))
        };
        cand.io = match next {
            Step::Done => {
                stop(cand);
                return;
            }
            Step::Wait(at) => {
                let wake = model_time(c, at).max(now + 1);
                Io::Idle {
                    wake_at: wake.min(cand.release_deadline.unwrap_or(u32::MAX)),
                }
            }
            Step::Call(call) => op(request_of(call)),
        };
    }

    /// A due step that only waits is taken at once: the loop calls `next_step` as soon as
    /// it is free, and a wait sends nothing, so no other choice could come between that
    /// matters. (Shorter paths, and fewer states.)
    pub(super) fn settle(&self, s: &mut State, c: usize) {
        let now = s.now;
        let cand = &mut s.cands[c];
        let (Some(core), Io::Idle { wake_at }) = (cand.core.as_ref(), &cand.io) else {
            return;
        };
        if cand.paused
            || *wake_at > now
            || cand
                .release_deadline
                .is_some_and(|d| now >= d || !core.is_releasing())
        {
            return;
        }
        let mut probe = core.clone();
        if let Step::Wait(at) = probe.next_step(local(c, now)) {
            let wake = model_time(c, at).max(now + 1);
            cand.core = Some(probe);
            cand.io = Io::Idle {
                wake_at: wake.min(cand.release_deadline.unwrap_or(u32::MAX)),
            };
            self.publish(cand, c);
        }
    }

    pub(super) fn land(&self, s: &mut State, c: usize) {
        let Io::Busy(op) = &s.cands[c].io else {
            return;
        };
        let req = op.req.clone();
        let reply = if self.cut_off(s, c) {
            Reply::Unavailable
        } else {
            s.land(self.world.replica_of(c), &req, self.rules())
        };
        self.set_fate(s, c, Fate::Landed(Box::new(reply)));
    }

    pub(super) fn set_fate(&self, s: &mut State, c: usize, fate: Fate) {
        if let Io::Busy(op) = &mut s.cands[c].io {
            op.fate = fate;
        }
    }

    pub(super) fn answer(&self, s: &mut State, c: usize) {
        let now = local(c, s.now);
        let cand = &mut s.cands[c];
        let Io::Busy(op) = std::mem::replace(&mut cand.io, Io::Idle { wake_at: s.now }) else {
            return;
        };
        let Fate::Landed(reply) = op.fate else {
            cand.io = Io::Busy(op);
            return;
        };
        let core = cand.core.as_mut().expect("a busy candidate is alive");
        let sent = local(c, op.sent);
        let reply = *reply;
        let failed = match &reply {
            Reply::Unavailable => Some(StoreError::Unavailable("region cut off".into())),
            Reply::WriteConflict => Some(StoreError::WriteConflict("model".into())),
            _ => None,
        };
        if let Some(err) = failed {
            fail(core, &op.req, sent, now, err);
            self.publish(cand, c);
            return;
        }
        let answered = answered(op.req, reply);
        driver::deliver(core, sent, now, answered);
        self.publish(cand, c);
    }

    pub(super) fn time_out(&self, s: &mut State, c: usize) {
        let now = local(c, s.now);
        let timeout = self.world.cands[c].timing().call_timeout();
        let cand = &mut s.cands[c];
        let Io::Busy(op) = std::mem::replace(&mut cand.io, Io::Idle { wake_at: s.now }) else {
            return;
        };
        if matches!(op.fate, Fate::Flying | Fate::Landed(_)) {
            // Slow, not lost: still a fault of the network.
            s.budget.network -= 1;
        }
        if op.fate == Fate::Late {
            s.orphans.push(Orphan {
                from: c,
                req: op.req.clone(),
                expiry: op.sent + 2 * self.world.cands[c].call_timeout(),
            });
        }
        let cand = &mut s.cands[c];
        let core = cand.core.as_mut().expect("a busy candidate is alive");
        let sent = local(c, op.sent);
        fail(core, &op.req, sent, now, StoreError::Timeout(timeout));
        self.publish(cand, c);
    }
}

/// The call failed with `err` (a timeout, or MRSC's refusals): the core is told so.
fn fail(core: &mut LeaseCore, req: &Request, sent: Mono, now: Mono, err: StoreError) {
    let answered = match req.clone() {
        Request::Read => Answered::Read(Err(err)),
        Request::Write(req) => Answered::Write(req, Err(err)),
        Request::Handover(req) => Answered::RequestHandover(req, Err(err)),
        Request::Claim(claim) => Answered::Claim(claim, Err(err)),
        Request::ReadMarks => Answered::ReadMarks(Err(err)),
        Request::WriteMark(mark) => Answered::WriteMark(mark, Err(err)),
    };
    driver::deliver(core, sent, now, answered);
}

/// The model's record of a call (hashable, for the explored states).
fn request_of(call: Call) -> Request {
    match call {
        Call::Read => Request::Read,
        Call::Write(req) => Request::Write(req),
        Call::RequestHandover(req) => Request::Handover(req),
        Call::Claim(claim) => Request::Claim(claim),
        Call::ReadMarks(_) => Request::ReadMarks,
        Call::WriteMark(mark) => Request::WriteMark(mark),
    }
}

/// A landed request with the store's reply, as the driver hands it to the core.
fn answered(req: Request, reply: Reply) -> Answered {
    match (req, reply) {
        (Request::Read, Reply::Read(item)) => Answered::Read(Ok(item)),
        (Request::Write(req), Reply::Written(r)) => Answered::Write(req, Ok(r)),
        (Request::Write(req), _) => Answered::Write(req, Err(StoreError::ConditionFailed)),
        (Request::Handover(req), Reply::HandoverSet) => Answered::RequestHandover(req, Ok(())),
        (Request::Handover(req), _) => {
            Answered::RequestHandover(req, Err(StoreError::ConditionFailed))
        }
        (Request::Claim(claim), Reply::Claimed) => Answered::Claim(claim, Ok(())),
        (Request::Claim(claim), _) => Answered::Claim(claim, Err(StoreError::ConditionFailed)),
        (Request::ReadMarks, Reply::Marks(marks)) => Answered::ReadMarks(Ok(marks)),
        (Request::WriteMark(mark), Reply::MarkWritten) => Answered::WriteMark(mark, Ok(())),
        (Request::WriteMark(mark), _) => {
            Answered::WriteMark(mark, Err(StoreError::ConditionFailed))
        }
        (Request::Read | Request::ReadMarks, _) => {
            unreachable!("a read is answered with what it read")
        }
    }
}

pub(super) fn stop(cand: &mut Cand) {
    cand.core = None;
    cand.io = Io::Stopped;
    cand.gate_until = 0;
    cand.release_deadline = None;
    cand.paused = false;
}
