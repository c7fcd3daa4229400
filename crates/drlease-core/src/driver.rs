//! The one driver of the `Step` protocol: what the core asked for, carried out by anyone
//! (the lease loop against a real store, the core's test harness on virtual time), and
//! handed back here, which calls the matching `on_*`. No I/O: the caller does the call.
//!
//! Each [`Answered`] variant holds what was sent beside its result, so an answer cannot
//! reach the wrong handler.

use super::core::{LeaseCore, Step};
use super::operator::HandoverRequest;
use super::{LeaseRecord, RegionMark, ReleaseClaim, StoreError, WriteRequest};
use crate::clock::Mono;

/// A store call the core asked for: every [`Step`] but `Wait` and `Done`.
#[derive(Clone, Debug)]
pub enum Call {
    Read,
    Write(Box<WriteRequest>),
    RequestHandover(Box<HandoverRequest>),
    Claim(Box<ReleaseClaim>),
    /// Read these regions' marks: this one's and its peers'.
    ReadMarks(Vec<String>),
    WriteMark(Box<RegionMark>),
}

/// What to do next: nothing until a time, stop, or a store call.
#[derive(Clone, Debug)]
pub enum Next {
    Wait(Mono),
    Done,
    Call(Call),
}

/// A call with its result.
#[derive(Debug)]
pub enum Answered {
    Read(Result<Option<LeaseRecord>, StoreError>),
    Write(Box<WriteRequest>, Result<LeaseRecord, StoreError>),
    RequestHandover(Box<HandoverRequest>, Result<(), StoreError>),
    Claim(Box<ReleaseClaim>, Result<(), StoreError>),
    ReadMarks(Result<Vec<RegionMark>, StoreError>),
    WriteMark(Box<RegionMark>, Result<(), StoreError>),
}

/// The core's next step at `now`, as a call to carry out.
pub fn next(core: &mut LeaseCore, now: Mono) -> Next {
    match core.next_step(now) {
        Step::Wait(at) => Next::Wait(at),
        Step::Done => Next::Done,
        Step::Read => Next::Call(Call::Read),
        Step::Write(req) => Next::Call(Call::Write(req)),
        Step::RequestHandover(req) => Next::Call(Call::RequestHandover(req)),
        Step::Claim(claim) => Next::Call(Call::Claim(claim)),
        Step::ReadMarks => Next::Call(Call::ReadMarks(regions_to_read(core))),
        Step::WriteMark(mark) => Next::Call(Call::WriteMark(mark)),
    }
}

/// Every region's mark, this one's included (its epoch is the floor for a new tenure of
/// ours).
fn regions_to_read(core: &LeaseCore) -> Vec<String> {
    core.config()
        .regions
        .as_ref()
        .map(|r| {
            std::iter::once(r.own.clone())
                .chain(r.peers.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Hands an answer to the core: `sent` is when the call was sent, `now` when it answered.
pub fn deliver(core: &mut LeaseCore, sent: Mono, now: Mono, answered: Answered) {
    match answered {
        Answered::Read(result) => core.on_read(sent, now, result),
        Answered::Write(req, result) => core.on_write(&req, sent, now, result),
        Answered::RequestHandover(req, result) => core.on_handover_request(&req, now, result),
        Answered::Claim(claim, result) => core.on_claim(&claim, now, result),
        Answered::ReadMarks(result) => core.on_marks(sent, now, result),
        Answered::WriteMark(mark, result) => core.on_mark_written(&mark, now, result),
    }
}
