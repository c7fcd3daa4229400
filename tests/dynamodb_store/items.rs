//! What the store reads and reports: Admiral's items, malformed items, a missing table, bad credentials, an unreachable endpoint.

use crate::*;

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
