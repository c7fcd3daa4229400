//! What the core asks for next ([`Step`]), and the store calls among them ([`Call`]): the
//! one description of a store call, shared by the core that asks, the driver that hands
//! answers back, and everyone who carries calls out (the lease loop, the test harness, the
//! simulation, the model checker).

use crate::clock::Mono;
use crate::operator::HandoverRequest;
use crate::{RegionMark, ReleaseClaim, WriteRequest};

/// What the loop should do next.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Nothing to do before this time (the loop may be woken earlier by a shutdown).
    Wait(Mono),
    /// A store call; its answer goes back through `driver::deliver`.
    Call(Call),
    /// Released (or never held) after a shutdown request: the loop can stop.
    Done,
}

/// A store call the core asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// A strongly consistent read of the item.
    Read,
    /// A conditional write.
    Write(Box<WriteRequest>),
    /// A request that the holder hand the lease to us (failback); changes no version.
    RequestHandover(Box<HandoverRequest>),
    /// Claim a release before acquiring it at once (`crate::claim`).
    Claim(Box<ReleaseClaim>),
    /// Read these regions' marks: this one's and its peers' (`core/regions.rs`).
    ReadMarks(Vec<String>),
    /// Write this region's mark.
    WriteMark(Box<RegionMark>),
}

impl Step {
    /// The read of the item, the step asked for most.
    pub const READ: Step = Step::Call(Call::Read);
}
