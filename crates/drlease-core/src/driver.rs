//! The one driver of the [`Step`] protocol: what the core asked for (`LeaseCore::next_step`),
//! carried out by anyone
//! (the lease loop against a real store, the core's test harness on virtual time), and
//! handed back here, which calls the matching `on_*`. No I/O: the caller does the call.
//!
//! Each [`Answered`] variant holds what was sent beside its result, so an answer cannot
//! reach the wrong handler.

use super::core::LeaseCore;
use super::operator::HandoverRequest;
pub use super::step::{Call, Step};
use super::{LeaseRecord, RegionMark, ReleaseClaim, StoreError, WriteRequest};
use crate::clock::Mono;

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
