//! The memory store answers every condition, handover request and claim as DynamoDB does.

use crate::*;

/// The memory store must refuse and accept exactly what DynamoDB does, or the simulation
/// tests would prove things about a different store.
#[tokio::test]
async fn memory_and_dynamodb_agree_on_every_condition() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let starts = condition_starts();
    let expects = condition_expects();
    for (i, (name, start)) in starts.iter().enumerate() {
        for (j, expect) in expects.iter().enumerate() {
            let lease = format!("case-{i}-{j}");
            let dynamo = DynamoStore::new(conn.clone(), table.clone(), lease.clone());
            let memory = MemoryStore::new(lease.clone());
            if let Some(record) = start {
                memory.table().put(&lease, record.clone());
                put_raw(&conn, &table, &lease, record).await;
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

/// The items the conditions are tried on: none, Admiral's, ours, and ours or Admiral's with
/// handover requests of every kind.
fn condition_starts() -> Vec<(&'static str, Option<LeaseRecord>)> {
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
    let requested = LeaseRecord {
        handover_to: Some("b".into()),
        handover_id: Some("h1".into()),
        ..ours.clone()
    };
    vec![
        ("absent", None),
        ("admiral", Some(admiral)),
        ("ours", Some(ours)),
        ("ours with a handover request to b", Some(requested.clone())),
        (
            "ours with a handover request to b by an older drlease (no id)",
            Some(LeaseRecord {
                handover_id: None,
                ..requested.clone()
            }),
        ),
        (
            "ours with an empty handoverTo",
            Some(LeaseRecord {
                handover_to: Some("".into()),
                ..requested.clone()
            }),
        ),
        (
            "ours with a handover request to *",
            Some(LeaseRecord {
                handover_to: Some("*".into()),
                ..requested.clone()
            }),
        ),
        (
            "admiral with a handoverTo",
            Some(LeaseRecord {
                owner: "admiral-0".into(),
                updated_time: Some(100),
                handover_to: Some("b".into()),
                ..Default::default()
            }),
        ),
        (
            "admiral without updatedTime",
            Some(LeaseRecord {
                owner: "admiral-0".into(),
                ..Default::default()
            }),
        ),
    ]
}

/// Every kind of condition a write carries, matching and not.
fn condition_expects() -> Vec<Expect> {
    vec![
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
        as_read("v1", None, None),
        as_read("v1", Some("b"), Some("h1")),
        as_read("v1", Some("b"), Some("h2")),
        as_read("v1", Some("b"), None),
        as_read("v1", Some("c"), Some("h1")),
        as_read("v2", None, None),
        as_read("v1", Some(""), Some("h1")),
        as_read("v1", Some("*"), Some("h1")),
        Expect::AsRead {
            key: VersionKey::Legacy {
                owner: "admiral-0".into(),
                updated_time: Some(100),
            },
            handover_to: None,
            handover_id: None,
        },
        Expect::AsRead {
            key: VersionKey::Legacy {
                owner: "admiral-0".into(),
                updated_time: Some(100),
            },
            handover_to: Some("b".into()),
            handover_id: None,
        },
        Expect::AsRead {
            key: VersionKey::Legacy {
                owner: "admiral-0".into(),
                updated_time: None,
            },
            handover_to: None,
            handover_id: None,
        },
    ]
}

/// `record` as the item of `lease`, written as it is (no condition), with only the
/// attributes the conditions look at.
async fn put_raw(conn: &Connection, table: &str, lease: &str, record: &LeaseRecord) {
    let mut item = HashMap::from([
        ("leaseName".to_string(), s(lease)),
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
    if let Some(to) = &record.handover_to {
        item.insert("handoverTo".into(), s(to));
    }
    if let Some(id) = &record.handover_id {
        item.insert("handoverId".into(), s(id));
    }
    conn.client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// Handover requests (an operator's, and a failback a preferred candidate makes for
/// itself) on both stores, from every kind of item: the same outcome, the same item after.
#[tokio::test]
async fn memory_and_dynamodb_agree_on_handover_requests() {
    let Some(f) = fixture().await else { return };
    let starts = handover_starts();
    let requests = [
        HandoverRequest::by_operator("v1", "a", "h16"),
        HandoverRequest::by_operator("v0", "a", "h17"),
        HandoverRequest {
            expect_version: "v1".into(),
            target: "a".into(),
            failback: true,
            id: "h18".into(),
        },
    ];
    for (i, (name, start)) in starts.iter().enumerate() {
        for (j, req) in requests.iter().enumerate() {
            let lease = format!("handover-{i}-{j}");
            let dynamo = DynamoStore::new(f.conn.clone(), f.table.clone(), lease.clone());
            let memory = MemoryStore::new(lease.clone());
            memory.table().put(&lease, start.clone());
            put_as_written(&f, &lease, start).await;
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
/// The items a handover request may meet: held (with or without a request on it, or a
/// stale one naming the holder), frozen, released.
fn handover_starts() -> [(&'static str, LeaseRecord); 5] {
    let held_item = |handover: Option<&str>| LeaseRecord {
        owner: "b".into(),
        owner_session: Some("b-session".into()),
        version: Some("v1".into()),
        epoch: Some(2),
        handover_to: handover.map(str::to_string),
        ..Default::default()
    };
    [
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
    ]
}

/// Puts `start` into the DynamoDB table under `lease` unconditionally: the same item the
/// memory store starts from.
async fn put_as_written(f: &Fixture, lease: &str, start: &LeaseRecord) {
    let mut item = HashMap::from([
        ("leaseName".to_string(), s(lease)),
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
}

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
