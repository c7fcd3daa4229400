//! The DynamoDB store against a real DynamoDB-compatible server (moto, started by
//! scripts/test.sh): conditional writes, Admiral's items, missing tables, bad credentials
//! and garbage items.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use drlease::lease::operator::HandoverRequest;
use drlease::lease::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    FROZEN_OWNER,
};
use drlease::store::dynamodb::item::{n, s};
use drlease::store::dynamodb::{Connection, DynamoStore};
use drlease::store::memory::MemoryStore;
use drlease::store::{LeaseStore, StoreError};

fn write(kind: WriteKind, expect: Expect, owner: &str, version: &str, epoch: u64) -> WriteRequest {
    WriteRequest {
        kind,
        expect,
        new: LeaseState {
            owner: owner.into(),
            session: format!("{owner}-session"),
            version: version.into(),
            epoch,
            lease_duration_ms: 45_000,
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: None,
            priority: (!owner.is_empty()).then_some(7),
        },
    }
}

fn held(owner: &str, version: &str) -> Expect {
    Expect::Held {
        owner: owner.into(),
        session: format!("{owner}-session"),
        version: version.into(),
    }
}

fn token(v: &str) -> Expect {
    Expect::Version(VersionKey::Token(v.into()))
}

struct Fixture {
    conn: Connection,
    table: String,
    store: DynamoStore,
}

async fn fixture() -> Option<Fixture> {
    let endpoint = common::endpoint()?;
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let store = DynamoStore::new(conn.clone(), table.clone(), "mylease");
    Some(Fixture { conn, table, store })
}

impl Fixture {
    /// Writes an item as Admiral (or a careless human) would: unconditional PutItem.
    async fn put_raw(&self, attrs: &[(&str, AttributeValue)]) {
        let mut item: HashMap<String, AttributeValue> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        item.insert("leaseName".into(), AttributeValue::S("mylease".into()));
        self.conn
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put_item");
    }
}

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

#[tokio::test]
async fn an_admiral_item_is_read_and_taken_over_by_owner_and_time() {
    let Some(f) = fixture().await else { return };
    f.put_raw(&[
        ("leaseOwner", s("admiral-0")),
        ("updatedTime", n(1_700_000_000)),
        ("notes", s("Created at 1699999999")),
    ])
    .await;
    let r = f.store.read().await.unwrap().unwrap();
    assert_eq!(r.owner, "admiral-0");
    assert_eq!(r.version, None);
    let wrong_time = Expect::Version(VersionKey::Legacy {
        owner: "admiral-0".into(),
        updated_time: Some(1_700_000_015),
    });
    let attempt = write(WriteKind::Takeover, wrong_time, "b", "vb", 1);
    assert_eq!(
        f.store.write(&attempt).await,
        Err(StoreError::ConditionFailed)
    );
    let attempt = write(
        WriteKind::Takeover,
        Expect::Version(r.version_key()),
        "b",
        "vb",
        1,
    );
    f.store.write(&attempt).await.unwrap();
    let r = f.store.read().await.unwrap().unwrap();
    assert_eq!(r.owner, "b");
    assert_eq!(
        r.notes.as_deref(),
        Some("Created at 1699999999"),
        "Admiral's notes are kept"
    );
}

#[tokio::test]
async fn a_missing_table_is_a_clear_error() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let conn = common::connection(&endpoint).await;
    let store = DynamoStore::new(conn, "no-such-table", "mylease");
    let err = store.read().await.unwrap_err();
    assert!(matches!(err, StoreError::TableMissing(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no-such-table") && text.contains("us-east-1"),
        "{text}"
    );
    let err = store
        .write(&write(WriteKind::Create, Expect::Absent, "a", "v", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TableMissing(_)), "{err:?}");
}

#[tokio::test]
async fn items_with_wrong_attribute_types_are_malformed_not_a_panic() {
    let Some(f) = fixture().await else { return };
    let cases: Vec<(Vec<(&str, AttributeValue)>, &str)> = vec![
        (vec![("leaseOwner", n(7))], "leaseOwner is a number"),
        (vec![("updatedTime", n(1))], "leaseOwner is missing"),
        (
            vec![("leaseOwner", s("a")), ("updatedTime", s("yesterday"))],
            "updatedTime is a string",
        ),
        (
            vec![
                ("leaseOwner", s("a")),
                ("epoch", AttributeValue::Bool(true)),
            ],
            "epoch is a boolean",
        ),
        (
            vec![("leaseOwner", s("a")), ("leaseDurationMs", n(-5))],
            "leaseDurationMs is -5",
        ),
        (
            vec![
                ("leaseOwner", s("a")),
                ("leaseVersion", AttributeValue::Ss(vec!["x".into()])),
            ],
            "leaseVersion is a string set",
        ),
    ];
    for (attrs, expected) in cases {
        f.put_raw(&attrs).await;
        match f.store.read().await {
            Err(StoreError::Malformed(why)) => assert!(why.contains(expected), "{why}"),
            other => panic!("expected Malformed({expected}), got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_credentials_are_an_auth_error_that_says_what_to_check() {
    let Some(endpoint) = common::endpoint_var("DRLEASE_TEST_DYNAMODB_AUTH_ENDPOINT") else {
        return;
    };
    // The auth-checking server knows no keys at all, so the environment's are bad.
    let conn = common::connection(&endpoint).await;
    let store = DynamoStore::new(conn, "any-table", "mylease");
    let err = store.read().await.unwrap_err();
    assert!(matches!(err, StoreError::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("credentials"), "{err}");
    assert!(
        !err.to_string().contains("testing"),
        "no secret in the message: {err}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_fast() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let conn = common::connection_with_timeout(
        &format!("http://127.0.0.1:{port}"),
        Duration::from_millis(500),
    );
    let store = DynamoStore::new(conn, "t", "l");
    let started = std::time::Instant::now();
    let err = store.read().await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// The memory store must refuse and accept exactly what DynamoDB does, or the simulation
/// tests would prove things about a different store.
#[tokio::test]
async fn memory_and_dynamodb_agree_on_every_condition() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let admiral = LeaseRecord {
        owner: "admiral-0".into(),
        updated_time: Some(100),
        ..Default::default()
    };
    let ours = LeaseRecord {
        owner: "a".into(),
        owner_session: Some("a-session".into()),
        version: Some("v1".into()),
        epoch: Some(2),
        ..Default::default()
    };
    let starts: Vec<(&str, Option<LeaseRecord>)> = vec![
        ("absent", None),
        ("admiral", Some(admiral)),
        ("ours", Some(ours)),
    ];
    let expects = [
        Expect::Absent,
        token("v1"),
        token("v2"),
        Expect::Version(VersionKey::Legacy {
            owner: "admiral-0".into(),
            updated_time: Some(100),
        }),
        Expect::Version(VersionKey::Legacy {
            owner: "admiral-0".into(),
            updated_time: None,
        }),
        held("a", "v1"),
        held("a", "v2"),
        held("b", "v1"),
    ];
    for (i, (name, start)) in starts.iter().enumerate() {
        for (j, expect) in expects.iter().enumerate() {
            let lease = format!("case-{i}-{j}");
            let dynamo = DynamoStore::new(conn.clone(), table.clone(), lease.clone());
            let memory = MemoryStore::new(lease.clone());
            if let Some(record) = start {
                memory.table().put(&lease, record.clone());
                let mut item = HashMap::from([
                    ("leaseName".to_string(), s(&lease)),
                    ("leaseOwner".to_string(), s(&record.owner)),
                ]);
                if let Some(t) = record.updated_time {
                    item.insert("updatedTime".into(), n(t));
                }
                if let Some(v) = &record.version {
                    item.insert("leaseVersion".into(), s(v));
                }
                if let Some(ss) = &record.owner_session {
                    item.insert("ownerSession".into(), s(ss));
                }
                conn.client
                    .put_item()
                    .table_name(&table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .unwrap();
            }
            let req = write(WriteKind::Takeover, expect.clone(), "z", "vz", 3);
            let from_memory = memory.write(&req).await.map(|r| r.owner);
            let from_dynamo = dynamo.write(&req).await.map(|r| r.owner);
            assert_eq!(
                from_memory, from_dynamo,
                "start {name}, expect {expect:?}: memory and DynamoDB disagree"
            );
        }
    }
}

/// Handover requests (an operator's, and a failback a preferred candidate makes for
/// itself) on both stores, from every kind of item: the same outcome, the same item after.
#[tokio::test]
async fn memory_and_dynamodb_agree_on_handover_requests() {
    let Some(f) = fixture().await else { return };
    let held_item = |handover: Option<&str>| LeaseRecord {
        owner: "b".into(),
        owner_session: Some("b-session".into()),
        version: Some("v1".into()),
        epoch: Some(2),
        handover_to: handover.map(str::to_string),
        ..Default::default()
    };
    let starts = [
        ("held", held_item(None)),
        ("held, a request on it", held_item(Some("c"))),
        (
            "held, a stale request naming the holder",
            held_item(Some("b")),
        ),
        (
            "frozen",
            LeaseRecord {
                owner: FROZEN_OWNER.into(),
                ..held_item(None)
            },
        ),
        (
            "released",
            LeaseRecord {
                owner: String::new(),
                ..held_item(None)
            },
        ),
    ];
    let requests = [
        HandoverRequest::by_operator("v1", "a"),
        HandoverRequest::by_operator("v0", "a"),
        HandoverRequest {
            expect_version: "v1".into(),
            target: "a".into(),
            failback: true,
        },
    ];
    for (i, (name, start)) in starts.iter().enumerate() {
        for (j, req) in requests.iter().enumerate() {
            let lease = format!("handover-{i}-{j}");
            let dynamo = DynamoStore::new(f.conn.clone(), f.table.clone(), lease.clone());
            let memory = MemoryStore::new(lease.clone());
            memory.table().put(&lease, start.clone());
            let mut item = HashMap::from([
                ("leaseName".to_string(), s(&lease)),
                ("leaseOwner".to_string(), s(&start.owner)),
                ("leaseVersion".to_string(), s("v1")),
                ("ownerSession".to_string(), s("b-session")),
                ("epoch".to_string(), n(2)),
            ]);
            if let Some(to) = &start.handover_to {
                item.insert("handoverTo".into(), s(to));
            }
            f.conn
                .client
                .put_item()
                .table_name(&f.table)
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
            let from_memory = memory.request_handover(req).await;
            let from_dynamo = dynamo.request_handover(req).await;
            assert_eq!(
                from_memory, from_dynamo,
                "start {name}, {req:?}: memory and DynamoDB disagree"
            );
            let after_memory = memory.read().await.unwrap().unwrap();
            let after_dynamo = dynamo.read().await.unwrap().unwrap();
            assert_eq!(
                (
                    &after_memory.handover_to,
                    &after_memory.handover_reason,
                    &after_memory.version
                ),
                (
                    &after_dynamo.handover_to,
                    &after_dynamo.handover_reason,
                    &after_dynamo.version
                ),
                "start {name}, {req:?}: the items differ after the request"
            );
        }
    }
}

/// A release is claimed once (issue 19, item 3): the claim is an item of its own, created
/// only if absent or already ours, so a resend after a lost answer succeeds and another
/// session is refused; the memory store answers alike, and the lease item is untouched.
#[tokio::test]
async fn a_release_is_claimed_once_and_the_memory_store_agrees() {
    let Some(f) = fixture().await else { return };
    let memory = MemoryStore::new("mylease");
    let claim = |session: &str| drlease::lease::ReleaseClaim {
        release_version: "r1".into(),
        session: session.into(),
        owner: format!("{session}-pod"),
    };
    for (what, c, ok) in [
        ("first claim", claim("sb"), true),
        ("resend by the same session", claim("sb"), true),
        ("another session", claim("sc"), false),
    ] {
        let dynamo = f.store.claim(&c).await;
        let mem = memory.claim(&c).await;
        assert_eq!(dynamo.is_ok(), ok, "{what}: {dynamo:?}");
        if !ok {
            assert_eq!(dynamo, Err(StoreError::ConditionFailed), "{what}");
        }
        assert_eq!(mem.is_ok(), ok, "{what}: memory says {mem:?}");
    }
    // Another release is a claim of its own.
    let other = drlease::lease::ReleaseClaim {
        release_version: "r2".into(),
        ..claim("sc")
    };
    assert_eq!(f.store.claim(&other).await, Ok(()));
    // The claim items live beside the lease item, which stays absent.
    assert_eq!(f.store.read().await, Ok(None));
    let out = f
        .conn
        .client
        .get_item()
        .table_name(&f.table)
        .key("leaseName", AttributeValue::S("mylease/claims/r1".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = out.item().expect("the claim item exists");
    assert_eq!(item.get("claimedBy"), Some(&s("sb")));
    assert!(
        !item.contains_key("expiresAt"),
        "claims are kept: a restore from any backup must find them"
    );
}
