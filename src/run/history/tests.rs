use std::time::Duration;

use super::witness::Noticed;
use super::*;
use crate::lease::history::How;
use crate::store::memory::MemoryStore;

fn noticed(epoch: u64, previous: Option<u64>, how: How) -> Noticed {
    Noticed {
        epoch,
        previous_epoch: previous,
        previous_owner: previous.map(|p| format!("pod-{p}")),
        how,
        reason: format!("{} to {epoch}", how.as_str()),
        gap: Some(Duration::from_millis(1500)),
    }
}

/// Waits until the record of `epoch` is in the store (the write is queued, not awaited).
async fn recorded(store: &MemoryStore, epoch: u64) -> Change {
    loop {
        if let Some(c) = store.get_change(epoch).await.unwrap() {
            if c.epoch == epoch {
                return c;
            }
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn changes_are_listed_newest_first_along_their_links() {
    let store = MemoryStore::new("l");
    let h = spawn(store.clone(), Duration::from_secs(1), "me", "s1", "r1");
    assert_eq!(
        h.list(3, 10).await.unwrap(),
        Listing::none(End::NotRecorded { epoch: 3 }),
        "a table without history: no record, no error"
    );
    h.record(noticed(1, None, How::First));
    h.record(noticed(3, Some(1), How::Takeover));
    let c = recorded(&store, 3).await;
    assert_eq!((c.owner.as_str(), c.region.as_str()), ("me", "r1"));
    assert_eq!(c.gap_ms, Some(1500));
    let listing = h.list(3, 10).await.unwrap();
    let epochs: Vec<u64> = listing.entries.iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, [3, 1]);
    assert_eq!(listing.end, End::First);
    let one = h.list(3, 1).await.unwrap();
    assert_eq!((one.entries.len(), one.end), (1, End::Limit));
}

#[tokio::test]
async fn a_resend_replaces_its_own_record_and_nobody_elses() {
    let store = MemoryStore::new("l");
    let h = spawn(store.clone(), Duration::from_secs(1), "me", "s1", "r1");
    h.record(noticed(300, Some(299), How::Handover));
    recorded(&store, 300).await;
    // Another process (another session) naming the same epoch is refused; its list
    // answers after its queued write is done.
    let other = spawn(store.clone(), Duration::from_secs(1), "other", "s2", "r1");
    other.record(noticed(300, Some(299), How::Takeover));
    other.list(300, 1).await.unwrap();
    assert_eq!(store.get_change(300).await.unwrap().unwrap().owner, "me");
    // A resend of this process's own record goes through (and changes nothing).
    h.record(noticed(300, Some(299), How::Handover));
    // An older epoch of the same slot is refused.
    h.record(noticed(44, Some(43), How::Takeover));
    h.list(300, 1).await.unwrap();
    assert_eq!(store.get_change(44).await.unwrap().unwrap().epoch, 300);
    // A newer one takes the slot.
    h.record(noticed(556, Some(300), How::Failback));
    recorded(&store, 556).await;
    let listing = h.list(556, 10).await.unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].how, How::Failback);
    assert_eq!(
        listing.end,
        End::Overwritten { epoch: 300 },
        "the ring wrapped onto epoch 300's slot"
    );
}

#[tokio::test]
async fn a_newest_change_without_a_record_does_not_hide_the_ones_before() {
    let store = MemoryStore::new("l");
    let h = spawn(store.clone(), Duration::from_secs(1), "me", "s1", "r1");
    h.record(noticed(1, None, How::First));
    h.record(noticed(3, Some(1), How::Takeover));
    recorded(&store, 3).await;
    // Epoch 5's holder could not write its record (3 and 5: regions stripe epochs).
    let listing = h.list(5, 10).await.unwrap();
    assert_eq!(listing.unrecorded_newest, Some(5));
    let epochs: Vec<u64> = listing.entries.iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, [3, 1]);
    assert!(listing.note().contains("epoch 5"), "{}", listing.note());
    // Too far below (more than PROBE epochs): nothing found, said plainly.
    let far = h
        .list(3 + crate::store::history::PROBE + 1, 10)
        .await
        .unwrap();
    assert!(far.entries.is_empty());
    assert!(
        far.note().starts_with("no history recorded"),
        "{}",
        far.note()
    );
}

/// A flood of `/history` cannot crowd a change of owner out: records have a queue of their
/// own, and listings past the queue's room are answered busy at once.
#[tokio::test]
async fn a_flood_of_listings_never_drops_a_record() {
    let (h, mut queues) = handle("me", "s1", "r1");
    let mut waiting = Vec::new();
    loop {
        let (reply, answer) = oneshot::channel();
        let request = ListRequest {
            head: 1,
            limit: 1,
            reply,
        };
        if h.lists.try_send(request).is_err() {
            break;
        }
        waiting.push(answer);
    }
    assert_eq!(waiting.len(), LISTS_QUEUED);
    h.record(noticed(7, Some(6), How::Takeover));
    assert_eq!(queues.records.try_recv().unwrap().epoch, 7);
    let busy = h.list(1, 1).await.unwrap_err();
    assert!(busy.contains("busy"), "{busy}");
}
