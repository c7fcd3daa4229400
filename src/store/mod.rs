//! Where the lease item lives. One trait, two implementations: DynamoDB for real use and
//! an in-process map for single-process runs and the simulation tests.

use std::future::Future;

use crate::lease::operator::HandoverRequest;
use crate::lease::{LeaseRecord, RegionMark, ReleaseClaim, WriteRequest};

pub mod dynamodb;
pub mod history;
pub mod memory;

pub use history::HistoryStore;

pub use crate::lease::StoreError;

/// One lease item in one store. Implementations must make `write` atomic and conditional
/// on `req.expect`, and `read` strongly consistent.
pub trait LeaseStore: Send + Sync + 'static {
    /// The item, `None` when it does not exist, `Err(Malformed)` when it cannot be parsed.
    fn read(&self) -> impl Future<Output = Result<Option<LeaseRecord>, StoreError>> + Send;

    /// Sets the drlease attributes of the item to `req.new` if `req.expect` holds and
    /// returns the item as written; `Err(ConditionFailed)` if the condition does not hold.
    fn write(
        &self,
        req: &WriteRequest,
    ) -> impl Future<Output = Result<LeaseRecord, StoreError>> + Send;

    /// Writes a handover request onto the item without changing its version, if the
    /// request's condition holds ([`HandoverRequest::apply_to`] is the rule);
    /// `Err(ConditionFailed)` if it does not.
    fn request_handover(
        &self,
        req: &HandoverRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates the claim item of one release (see [`crate::lease::claim`]) unless another
    /// session's claim is there: `Ok` when it is now ours (also when it already was),
    /// `Err(ConditionFailed)` when someone else claimed it.
    fn claim(&self, claim: &ReleaseClaim) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The marks of these regions that exist (see [`crate::lease::region`]), strongly
    /// consistent reads of this replica.
    fn read_marks(
        &self,
        regions: &[String],
    ) -> impl Future<Output = Result<Vec<RegionMark>, StoreError>> + Send;

    /// Writes this region's mark unless the mark there has a higher epoch
    /// (`Err(ConditionFailed)`).
    fn write_mark(&self, mark: &RegionMark) -> impl Future<Output = Result<(), StoreError>> + Send;
}
