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

enum Request {
    Record(Change),
    List {
        head: u64,
        limit: usize,
        reply: oneshot::Sender<Result<Listing, String>>,
    },
}

/// The loop's and the HTTP side's way to the task.
#[derive(Clone, Debug)]
pub struct HistoryHandle {
    tx: mpsc::Sender<Request>,
    owner: String,
    session: String,
    region: String,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("history request")
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
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(store, rx, call_timeout));
    HistoryHandle {
        tx,
        owner: owner.into(),
        session: session.into(),
        region: region.into(),
    }
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
        if self.tx.try_send(Request::Record(change)).is_err() {
            warn!("failover history busy: this change of owner is not recorded");
        }
    }

    /// The history from the change that made epoch `head`, newest first.
    pub async fn list(&self, head: u64, limit: usize) -> Result<Listing, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::List { head, limit, reply })
            .await
            .map_err(|_| "the history task has stopped".to_string())?;
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

async fn run<S: HistoryStore>(store: S, mut rx: mpsc::Receiver<Request>, call_timeout: Duration) {
    let mut cache: Option<Cached> = None;
    while let Some(request) = rx.recv().await {
        match request {
            Request::Record(change) => {
                write(&store, &change, call_timeout).await;
                cache = None;
            }
            Request::List { head, limit, reply } => {
                if let Some(c) = cache.as_ref().filter(|c| c.answers(head, limit)) {
                    let _ = reply.send(Ok(truncated(&c.listing, limit)));
                    continue;
                }
                let read = tokio::time::timeout(call_timeout * 4, list(&store, head, limit)).await;
                let answer = match read {
                    Ok(Ok(listing)) => Ok(listing),
                    Ok(Err(e)) => Err(format!("cannot read the failover history: {e}")),
                    Err(_) => Err("reading the failover history timed out".to_string()),
                };
                // A head not recorded yet may be on its way: read it again next time.
                if let Ok(listing) = &answer {
                    if !listing.entries.is_empty() {
                        cache = Some(Cached {
                            head,
                            limit,
                            listing: listing.clone(),
                        });
                    }
                }
                let _ = reply.send(answer);
            }
        }
    }
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
