//! Reading the failover history: from the newest record back along `previous_epoch`,
//! one GetItem per record, until the limit or where the history ends
//! (`crate::lease::history` has the rules).

use std::future::Future;

use serde::Serialize;

use crate::lease::history::{self, Change, End, MAX_LIMIT};
use crate::lease::StoreError;

/// Where the history records live; by key only.
pub trait HistoryStore: Send + Sync + Clone + 'static {
    /// Writes `change` into its slot if [`Change::may_replace`] allows it;
    /// `Err(ConditionFailed)` when a newer change (or another process's record of the
    /// same epoch) is there.
    fn put_change(&self, change: &Change) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What the slot of `epoch` holds (a record of another epoch when the ring wrapped).
    fn get_change(
        &self,
        epoch: u64,
    ) -> impl Future<Output = Result<Option<Change>, StoreError>> + Send;
}

/// Records newest first, and why the list stops where it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub entries: Vec<Change>,
    pub end: End,
}

/// The history from the change that made epoch `head`, at most `limit` records (clamped
/// to 1..=50).
pub async fn list<S: HistoryStore>(
    store: &S,
    head: u64,
    limit: usize,
) -> Result<Listing, StoreError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut entries: Vec<Change> = Vec::new();
    let mut epoch = head;
    let end = loop {
        let change = match history::link(epoch, store.get_change(epoch).await?) {
            Ok(change) => change,
            Err(end) => break end,
        };
        let next = history::next(&change);
        entries.push(change);
        match next {
            Err(end) => break end,
            Ok(_) if entries.len() >= limit => break End::Limit,
            Ok(previous) => epoch = previous,
        }
    };
    Ok(Listing { entries, end })
}
