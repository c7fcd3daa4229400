//! Handovers that cannot work are refused before writing; text from the table is escaped.

use crate::*;

/// Once, a failed Scan of the heartbeats was swallowed, and the handover then called
/// a live target an "unknown candidate".
#[test]
fn handover_says_so_when_it_cannot_list_the_candidates() {
    use common::proxy::{Fault, FaultProxy};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(f) = rt.block_on(fixture()) else {
        return;
    };
    let a = f.sidecar("pod-a", &[]);
    let b = f.sidecar("pod-b", &[]);
    // The target is the passive one of the answers that settled it, not of a second ask.
    let target = if settle(&a, &b) == 0 {
        "pod-b"
    } else {
        "pod-a"
    };
    let proxy = FaultProxy::start(f.endpoint.trim_start_matches("http://").parse().unwrap());
    proxy.set(Fault::Only {
        op: "scan",
        fault: Box::new(Fault::Error {
            status: 400,
            code: "AccessDeniedException",
        }),
    });
    // The operator's own args, with the proxy as the endpoint.
    let mut args = f.common_args();
    args[1] = proxy.url();
    let out = Command::new(BIN)
        .arg("handover")
        .args(args)
        .args(["--to", target])
        .output()
        .unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot list the candidates' heartbeats")
            && !err.contains("unknown candidate"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
}

/// Issue 16: on a multi-Region eventually consistent table, a handover request written to
/// another region's replica is overwritten by the holder's renewals there and never
/// completes. The command refuses, names the holder's region, and writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn handover_refuses_to_write_to_another_regions_replica() {
    let Some(f) = fixture().await else { return };
    let store = f.store().await;
    // A holder in another region (its renewals go to that region's replica).
    hold_as_pod_far(&store).await;
    for (identity, region) in [("pod-far", "eu-west-1"), ("pod-near", "us-east-1")] {
        live_in(&store, identity, region).await;
    }
    let (code, _, err) = text(&f.cli("handover", &["--to", "pod-near"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("runs in region eu-west-1") && err.contains("nothing was written"),
        "{err}"
    );
    let item = store.read().await.unwrap().unwrap();
    assert_eq!(item.handover_to, None, "the request was not written");
}

/// The same request written again would change nothing a candidate can see, yet on a
/// global table it is a later write that can drop a renewal of the holder on its way (R27's
/// limits): a handover to the target already requested writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn handover_to_the_target_already_requested_writes_nothing() {
    let Some(f) = fixture().await else { return };
    let store = f.store().await;
    hold_as_pod_far(&store).await;
    for identity in ["pod-far", "pod-near"] {
        live_in(&store, identity, "us-east-1").await;
    }
    let request =
        drlease::lease::operator::HandoverRequest::by_operator("far.1", "pod-near", "h18");
    store.request_handover(&request).await.unwrap();
    let (_, out, err) = text(&f.cli("handover", &["--to", "pod-near", "--timeout", "1s"]));
    assert!(
        out.contains("to pod-near is already requested; nothing written"),
        "{out}{err}"
    );
}

/// A `leaseOwner` is whatever anyone with write access to the table put there. One with a
/// newline and terminal escapes used to print raw in `drlease status` (retitling the
/// window, clearing the screen) and forge lines in the sidecar's text log.
#[tokio::test(flavor = "multi_thread")]
async fn status_and_the_log_escape_what_the_table_holds() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let Some(f) = fixture().await else { return };
    let owner = "evil\nholder     admiral-0\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The shape Admiral's own checker writes.
    let store = f.store().await;
    store
        .connection()
        .client
        .put_item()
        .table_name(&f.table)
        .item("leaseName", AttributeValue::S(f.lease.clone()))
        .item("leaseOwner", AttributeValue::S(owner.into()))
        .item("updatedTime", AttributeValue::N(now_secs.to_string()))
        .item("notes", AttributeValue::S("written by hand".into()))
        .send()
        .await
        .expect("put_item");

    let status = f.cli("status", &[]);
    let (code, out, err) = text(&status);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !status.stdout.iter().any(|b| *b == 0x1b || *b == 0x07),
        "raw escapes reached the terminal: {out:?}"
    );
    assert!(
        out.contains("holder     evil\\nholder     admiral-0\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("holder")).count(),
        1,
        "a forged holder line: {out}"
    );
    let (_, json, _) = text(&f.cli("status", &["--output", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["holder"], owner,
        "JSON carries the exact owner, escaped by JSON"
    );

    // A sidecar takes over from it (its checker is not renewing) and logs why.
    let a = f.sidecar("pod-a", &[]);
    wait_until(Duration::from_secs(10), || a.is_active()).expect("took over");
    let logs = a.logs();
    assert!(
        logs.contains("took over from evil\\nholder     admiral-0\\u{1b}]0;pwned"),
        "{logs}"
    );
    assert!(
        !logs.contains('\u{1b}') && !logs.contains('\u{7}'),
        "{logs:?}"
    );
    assert!(
        !logs.lines().any(|l| l.starts_with("holder ")),
        "a forged log line: {logs}"
    );
}

/// The lease held by pod-far (version far.1, epoch 3), as its own write leaves it.
async fn hold_as_pod_far(store: &DynamoStore) {
    let held = drlease::lease::WriteRequest {
        kind: drlease::lease::WriteKind::Create,
        expect: drlease::lease::Expect::Absent,
        new: drlease::lease::LeaseState {
            owner: "pod-far".into(),
            session: "far-session".into(),
            version: "far.1".into(),
            epoch: 3,
            lease_duration_ms: 3000,
            handover: drlease::lease::HandoverWrite::Clear,
            released_by: None,
            released_from: None,
            priority: Some(0),
        },
    };
    store.write(&held).await.unwrap();
}

/// A live heartbeat of `identity`, running in `region`.
async fn live_in(store: &DynamoStore, identity: &str, region: &str) {
    store
        .put_heartbeat(&Heartbeat {
            identity: identity.into(),
            session: format!("{identity}-session"),
            region: region.into(),
            role: "passive".into(),
            eligible: true,
            at_ms: drlease::sys::clock::wall_ms(),
            period_ms: 60_000,
            priority: 0,
            observer: false,
        })
        .await
        .unwrap();
}

/// R28: a handover request is written once per id. The SDK retries an operator's calls, and
/// a retry of a request whose answer was lost after it landed would write the same id
/// again, which candidates across regions cannot tell from the first write; so the store
/// sends it once, and a failed request is read back, then reported.
#[test]
fn a_handover_request_is_sent_once_and_a_failure_says_nothing_was_written() {
    use common::proxy::{Fault, FaultProxy};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(f) = rt.block_on(fixture()) else {
        return;
    };
    let store = rt.block_on(f.store());
    rt.block_on(async {
        hold_as_pod_far(&store).await;
        for identity in ["pod-far", "pod-near"] {
            live_in(&store, identity, "us-east-1").await;
        }
    });
    let proxy = FaultProxy::start(f.endpoint.trim_start_matches("http://").parse().unwrap());
    proxy.set(Fault::Only {
        op: "updateitem",
        fault: Box::new(Fault::Error {
            status: 500,
            code: "InternalServerError",
        }),
    });
    let mut args = f.common_args();
    args[1] = proxy.url();
    let out = Command::new(BIN)
        .arg("handover")
        .args(args)
        .args(["--to", "pod-near", "--timeout", "1s"])
        .output()
        .unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("it was not written"), "{err}");
    assert_eq!(
        proxy.counts().get("updateitem").copied(),
        Some(1),
        "the request was sent more than once"
    );
    let item = rt.block_on(store.read()).unwrap().unwrap();
    assert_eq!(item.handover_to, None);
}
