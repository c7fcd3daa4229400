//! A multi-Region eventually consistent (MREC) table, as every model of one in the tests
//! builds it: one region's copy of a lease's keys ([`Replica`]), each call checked against
//! that copy alone under the conditions written beside the item ([`LeaseRecord::satisfies`],
//! [`ReleaseClaim::may_claim`], [`RegionMark::may_replace`], [`HandoverRequest::apply_to`]),
//! every landed write stamped and handed back as a copy to send on ([`Replicated`]), and a
//! copy arriving at another replica applied only if it was written later: last writer wins
//! ([`later_write_wins`], kept per key in a [`StampBook`]).
//!
//! Not used by the core, which must stay safe whatever a replica shows. Written once here
//! for the four models the tests build, which differ only in *when* copies arrive, so
//! delivery stays with each of them:
//!
//! - the core's unit tests across regions (`core/tests/replicas.rs`): two memory stores the
//!   cores call, each mirrored by a [`Replica`] that stamps what changed and receives what
//!   the other sends, on ticks of virtual time;
//! - the simulation (`tests/sim/replicas.rs`): an event queue with lag, jitter, spikes and
//!   partitions;
//! - the model checker (`tests/model/regions.rs`): every delivery order within the lag,
//!   stamps renumbered densely ([`Replica::restamp`]) so equal orders make equal states;
//! - the emulator's proxy in front of moto (`tests/common/global_table.rs`), which keeps
//!   only a [`StampBook`]: moto holds the items and checks the conditions itself (the
//!   point of the emulator is DynamoDB's own expressions), so the proxy cannot hold them
//!   in a [`Replica`].
//!
//! [`LeaseRecord::satisfies`]: crate::LeaseRecord::satisfies
//! [`ReleaseClaim::may_claim`]: crate::ReleaseClaim::may_claim
//! [`RegionMark::may_replace`]: crate::RegionMark::may_replace
//! [`HandoverRequest::apply_to`]: crate::operator::HandoverRequest::apply_to

mod replica;
mod stamps;
#[cfg(test)]
mod tests;

pub use replica::{Image, ItemWrite, Key, Refused, Replica, Replicated};
pub use stamps::StampBook;

/// Whether a replicated write stamped `incoming` replaces what a replica has, stamped
/// `there` (`None`: the replica has nothing of that item): only a later write does. Stamps
/// must be totally ordered the same way at every replica (the write time, then ties broken
/// alike everywhere), so that replicas agree once replication has caught up, as
/// DynamoDB's regions do.
pub fn later_write_wins<S: Ord>(there: Option<&S>, incoming: &S) -> bool {
    there.is_none_or(|t| incoming > t)
}
