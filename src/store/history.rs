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

/// Epochs searched below a newest change that has no record, for the newest one that
/// has (regions stripe epochs, so the change before is rarely more than a few below).
pub const PROBE: u64 = 8;

/// Records newest first, and why the list stops where it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub entries: Vec<Change>,
    pub end: End,
    /// The newest change (to this epoch) has no record (its write failed, or is on its
    /// way): the entries start at the newest record found below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded_newest: Option<u64>,
}

/// The history from the change that made epoch `head`, at most `limit` records (clamped
/// to 1..=50). When that change has no record, from the newest record within
/// [`PROBE`] epochs below it: one failed write must not hide the history before it.
pub async fn list<S: HistoryStore>(
    store: &S,
    head: u64,
    limit: usize,
) -> Result<Listing, StoreError> {
    let listing = follow(store, head, limit).await?;
    if listing.end != (End::NotRecorded { epoch: head }) || !listing.entries.is_empty() {
        return Ok(listing);
    }
    for epoch in (head.saturating_sub(PROBE)..head).rev() {
        if store
            .get_change(epoch)
            .await?
            .is_some_and(|c| c.epoch == epoch)
        {
            return Ok(Listing {
                unrecorded_newest: Some(head),
                ..follow(store, epoch, limit).await?
            });
        }
    }
    Ok(listing)
}

impl Listing {
    /// Nothing listed: where the history ends, as [`End::describe`] says.
    pub fn none(end: End) -> Listing {
        Listing {
            entries: Vec::new(),
            end,
            unrecorded_newest: None,
        }
    }

    /// The line for a person under the list: where it ends, and what is missing above.
    pub fn note(&self) -> String {
        let end = self.end.describe();
        match (self.entries.is_empty(), self.unrecorded_newest) {
            (true, _) => format!("no history recorded: {end}"),
            (false, Some(e)) => format!(
                "the newest change (to epoch {e}) has no record (its write failed, or is on its \
                 way); listed from the newest record below it. {end}"
            ),
            (false, None) => end,
        }
    }
}

async fn follow<S: HistoryStore>(
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
    Ok(Listing {
        entries,
        end,
        unrecorded_newest: None,
    })
}
