//! Conditional writes: creates, renewals, takeovers and releases, and the races between them.

use crate::*;

#[tokio::test]
async fn create_then_read_back_every_attribute() {
    let Some(f) = fixture().await else { return };
    assert_eq!(f.store.read().await, Ok(None));
    f.store
        .write(&write(WriteKind::Create, Expect::Absent, "a", "v1", 1))
        .await
        .unwrap();
    let r = f.store.read().await.unwrap().unwrap();
    assert_eq!(r.owner, "a");
    assert_eq!(r.owner_session.as_deref(), Some("a-session"));
    assert_eq!(r.version.as_deref(), Some("v1"));
    assert_eq!(r.epoch, Some(1));
    assert_eq!(r.lease_duration_ms, Some(45_000));
    assert!(
        r.updated_time.unwrap() > 1_700_000_000,
        "updatedTime is wall-clock seconds"
    );
    assert!(r.notes.unwrap().starts_with("Created by drlease"));
    assert_eq!(
        r.owner_priority,
        Some(7),
        "the holder's priority is in the item"
    );
}

/// Many rounds of writers racing on fresh items: exactly one conditional create lands in
/// each. (moto's stock threaded server fails this; scripts/moto_server.py serializes it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_create_wins_every_race() {
    let Some(f) = fixture().await else { return };
    for round in 0..20 {
        let lease = format!("race-{round}");
        let stores: Vec<DynamoStore> = (0..4)
            .map(|_| DynamoStore::new(f.conn.clone(), f.table.clone(), lease.clone()))
            .collect();
        let mut tasks = Vec::new();
        for (i, store) in stores.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let owner = format!("w{i}");
                store
                    .write(&write(WriteKind::Create, Expect::Absent, &owner, &owner, 1))
                    .await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(wins, 1, "round {round}: {wins} conditional creates landed");
    }
}

#[tokio::test]
async fn renew_needs_owner_session_and_version() {
    let Some(f) = fixture().await else { return };
    f.store
        .write(&write(WriteKind::Create, Expect::Absent, "a", "v1", 1))
        .await
        .unwrap();
    let renew = write(WriteKind::Renew, held("a", "v1"), "a", "v2", 1);
    f.store.write(&renew).await.unwrap();
    // Same request again: the version moved on, so it is refused.
    assert_eq!(
        f.store.write(&renew).await,
        Err(StoreError::ConditionFailed)
    );
    // Another session with the same identity cannot renew it.
    let twin = write(
        WriteKind::Renew,
        Expect::Held {
            owner: "a".into(),
            session: "other".into(),
            version: "v2".into(),
        },
        "a",
        "v3",
        1,
    );
    assert_eq!(f.store.write(&twin).await, Err(StoreError::ConditionFailed));
    assert_eq!(
        f.store.read().await.unwrap().unwrap().version.as_deref(),
        Some("v2")
    );
}

#[tokio::test]
async fn takeover_is_conditional_on_the_observed_version_and_one_racer_wins() {
    let Some(f) = fixture().await else { return };
    f.store
        .write(&write(WriteKind::Create, Expect::Absent, "a", "v1", 4))
        .await
        .unwrap();
    let stale = write(WriteKind::Takeover, token("v0"), "b", "vb", 5);
    assert_eq!(
        f.store.write(&stale).await,
        Err(StoreError::ConditionFailed)
    );
    let b = write(WriteKind::Takeover, token("v1"), "b", "vb", 5);
    let c = write(WriteKind::Takeover, token("v1"), "c", "vc", 5);
    let (rb, rc) = tokio::join!(f.store.write(&b), f.store.write(&c));
    assert!(rb.is_ok() ^ rc.is_ok(), "one takeover lands: {rb:?} {rc:?}");
    let r = f.store.read().await.unwrap().unwrap();
    assert_eq!(r.epoch, Some(5));
    assert!(r.owner == "b" || r.owner == "c");
}

#[tokio::test]
async fn release_clears_the_owner_and_keeps_the_epoch() {
    let Some(f) = fixture().await else { return };
    f.store
        .write(&write(WriteKind::Create, Expect::Absent, "a", "v1", 9))
        .await
        .unwrap();
    let mut release = write(WriteKind::Release, held("a", "v1"), "", "v2", 9);
    release.new.session = String::new();
    f.store.write(&release).await.unwrap();
    let r = f.store.read().await.unwrap().unwrap();
    assert!(r.is_released());
    assert_eq!(r.epoch, Some(9));
}
