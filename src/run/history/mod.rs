//! The failover-history task, beside the lease loop: writes the record of each change
//! of owner this pod makes (named by the [`witness::Witness`] in the loop), and lists
//! the history for `/history`, cached until the epoch changes. A record that cannot be
//! written is a warning: it never touches the lease or the role.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::lease::history::{Change, End};
use crate::store::history::{list, Listing};
use crate::store::{HistoryStore, StoreError};

pub mod witness;

use witness::Noticed;

/// Attempts per record: the write is conditional on epoch and session, so a resend of a
/// write whose answer was lost cannot make a second record.
const ATTEMPTS: u32 = 3;

/// A listing asked for by `/history`.
struct ListRequest {
    head: u64,
    limit: usize,
    reply: oneshot::Sender<Result<Listing, String>>,
}

/// Listings waiting at most: past it `/history` answers busy at once. Records have a
/// queue of their own, so no flood of listings can crowd a change of owner out.
const LISTS_QUEUED: usize = 64;

/// The loop's and the HTTP side's way to the task.
#[derive(Clone, Debug)]
pub struct HistoryHandle {
    /// Unbounded: one record per change of owner this pod makes, which the lease's own
    /// pace bounds; a record is never dropped for want of room.
    records: mpsc::UnboundedSender<Change>,
    lists: mpsc::Sender<ListRequest>,
    owner: String,
    session: String,
    region: String,
}

impl std::fmt::Debug for ListRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("history listing request")
    }
}

/// Starts the task; it ends when every handle is dropped.
pub fn spawn<S: HistoryStore>(
    store: S,
    call_timeout: Duration,
    owner: &str,
    session: &str,
    region: &str,
) -> HistoryHandle {
    let (handle, queues) = handle(owner, session, region);
    tokio::spawn(run(store, queues, call_timeout));
    handle
}

/// What the task reads: records first, then listings.
struct Queues {
    records: mpsc::UnboundedReceiver<Change>,
    lists: mpsc::Receiver<ListRequest>,
}

fn handle(owner: &str, session: &str, region: &str) -> (HistoryHandle, Queues) {
    let (records, records_rx) = mpsc::unbounded_channel();
    let (lists, lists_rx) = mpsc::channel(LISTS_QUEUED);
    let handle = HistoryHandle {
        records,
        lists,
        owner: owner.into(),
        session: session.into(),
        region: region.into(),
    };
    let queues = Queues {
        records: records_rx,
        lists: lists_rx,
    };
    (handle, queues)
}

impl HistoryHandle {
    /// Queues the record of a change this pod made; never waits.
    pub fn record(&self, noticed: Noticed) {
        let change = Change {
            epoch: noticed.epoch,
            previous_epoch: noticed.previous_epoch,
            previous_owner: noticed.previous_owner,
            owner: self.owner.clone(),
            session: self.session.clone(),
            how: noticed.how,
            reason: noticed.reason,
            region: self.region.clone(),
            at_ms: crate::sys::clock::wall_ms(),
            gap_ms: noticed.gap.map(|g| g.as_millis() as u64),
        };
        if self.records.send(change).is_err() {
            warn!("the failover-history task has stopped: this change of owner is not recorded");
        }
    }

    /// The history from the change that made epoch `head`, newest first. With
    /// `LISTS_QUEUED` listings already waiting, an error at once: a flood of `/history`
    /// is answered busy instead of piling up.
    pub async fn list(&self, head: u64, limit: usize) -> Result<Listing, String> {
        let (reply, answer) = oneshot::channel();
        self.lists
            .try_send(ListRequest { head, limit, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    "the failover history is busy with other listings; ask again".to_string()
                }
                mpsc::error::TrySendError::Closed(_) => "the history task has stopped".to_string(),
            })?;
        answer
            .await
            .map_err(|_| "the history task has stopped".to_string())?
    }
}

/// The last listing read, for its head epoch.
struct Cached {
    head: u64,
    limit: usize,
    listing: Listing,
}

impl Cached {
    fn answers(&self, head: u64, limit: usize) -> bool {
        self.head == head && (limit <= self.limit || self.listing.end != End::Limit)
    }
}

async fn run<S: HistoryStore>(store: S, mut queues: Queues, call_timeout: Duration) {
    let mut cache: Option<Cached> = None;
    loop {
        tokio::select! {
            // Records first: a change of owner waits for one listing at most.
            biased;
            Some(change) = queues.records.recv() => {
                write(&store, &change, call_timeout).await;
                cache = None;
            }
            Some(request) = queues.lists.recv() => {
                let answer = listing(&store, &mut cache, &request, call_timeout).await;
                let _ = request.reply.send(answer);
            }
            else => break,
        }
    }
}

/// The listing `request` asks for, from the cache when it answers it.
async fn listing<S: HistoryStore>(
    store: &S,
    cache: &mut Option<Cached>,
    request: &ListRequest,
    call_timeout: Duration,
) -> Result<Listing, String> {
    let (head, limit) = (request.head, request.limit);
    if let Some(c) = cache.as_ref().filter(|c| c.answers(head, limit)) {
        return Ok(truncated(&c.listing, limit));
    }
    let read = tokio::time::timeout(call_timeout * 4, list(store, head, limit)).await;
    let answer = match read {
        Ok(Ok(listing)) => Ok(listing),
        Ok(Err(e)) => Err(format!("cannot read the failover history: {e}")),
        Err(_) => Err("reading the failover history timed out".to_string()),
    };
    // A head not recorded yet may be on its way: read it again next time.
    if let Ok(listing) = &answer {
        if !listing.entries.is_empty() {
            *cache = Some(Cached {
                head,
                limit,
                listing: listing.clone(),
            });
        }
    }
    answer
}

fn truncated(listing: &Listing, limit: usize) -> Listing {
    if listing.entries.len() <= limit {
        return listing.clone();
    }
    Listing {
        entries: listing.entries[..limit].to_vec(),
        end: End::Limit,
        unrecorded_newest: listing.unrecorded_newest,
    }
}

async fn write<S: HistoryStore>(store: &S, change: &Change, call_timeout: Duration) {
    for attempt in 1..=ATTEMPTS {
        let result = tokio::time::timeout(call_timeout, store.put_change(change)).await;
        match result {
            Ok(Ok(())) => {
                info!(
                    epoch = change.epoch,
                    how = change.how.as_str(),
                    "failover history recorded"
                );
                return;
            }
            Ok(Err(StoreError::ConditionFailed)) => {
                debug!(
                    epoch = change.epoch,
                    "a newer failover history record is already there"
                );
                return;
            }
            Ok(Err(e)) if attempt == ATTEMPTS => {
                warn!(error = %e, epoch = change.epoch, "cannot record the failover history (the lease is not affected)");
            }
            Err(_) if attempt == ATTEMPTS => {
                warn!(
                    epoch = change.epoch,
                    "recording the failover history timed out (the lease is not affected)"
                );
            }
            _ => tokio::time::sleep(Duration::from_millis(500) * attempt).await,
        }
    }
}

#[cfg(test)]
mod tests;
