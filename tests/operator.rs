//! Operator commands against moto, with real sidecars: status, handover, freeze,
//! unfreeze, create-table, check-config. (The controller health gate: tests/eligibility.rs.)

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::operator::{fixture, settle, text, INTERVAL};
use common::sidecar::{role_json, wait_active, Sidecar, BIN, STARTUP};
use common::wait_until;
use drlease::store::dynamodb::heartbeat::Heartbeat;
use drlease::store::dynamodb::DynamoStore;
use drlease::store::LeaseStore;

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_holder_and_every_live_candidate() {
    let Some(f) = fixture().await else { return };
    let a = f.sidecar("pod-a", &["--priority", "3"]);
    let b = f.sidecar("pod-b", &["--priority", "-1"]);
    let active = settle(&a, &b);
    let holder = [&a, &b][active].identity.clone();
    let priority_of = |id: &str| if id == "pod-a" { 3 } else { -1 };
    // Heartbeats come every second: wait until both are listed.
    let json = wait_until(Duration::from_secs(5), || {
        let (code, out, _) = text(&f.cli("status", &["--output", "json"]));
        code == Some(0)
            && serde_json::from_str::<serde_json::Value>(&out)
                .is_ok_and(|v| v["candidates"].as_array().is_some_and(|c| c.len() == 2))
    });
    assert!(json.is_some(), "status never listed both candidates");
    let (_, out, _) = text(&f.cli("status", &["--output", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["state"], "held");
    assert_eq!(v["holder"], holder.as_str());
    assert_eq!(v["epoch"], 1);
    assert_eq!(v["frozen"], false);
    assert_eq!(v["holder_priority"], priority_of(&holder), "{v}");
    for c in v["candidates"].as_array().unwrap() {
        assert_eq!(c["alive"], true);
        assert_eq!(c["region"], "us-east-1");
        assert_eq!(c["priority"], priority_of(c["identity"].as_str().unwrap()));
        assert_eq!(c["observer"], false);
    }
    let (code, out, _) = text(&f.cli("status", &[]));
    assert_eq!(code, Some(0));
    assert!(out.contains(&format!("holder     {holder}")), "{out}");
    assert!(out.contains("pod-a") && out.contains("pod-b"), "{out}");
}

/// A planned handover: the holder releases at its next renewal and the target acquires at
/// once. Told from a takeover after the lease ran out by the reason the target gives (the
/// command's own figure is printed; a bound on it is one a loaded machine can break).
#[tokio::test(flavor = "multi_thread")]
async fn handover_moves_the_lease_to_the_target_through_a_release() {
    let Some(f) = fixture().await else { return };
    let a = f.sidecar("pod-a", &[]);
    let b = f.sidecar("pod-b", &[]);
    let active = settle(&a, &b);
    let (from, to) = if active == 0 { (&a, &b) } else { (&b, &a) };
    wait_until(Duration::from_secs(5), || {
        text(&f.cli("status", &["--output", "json"]))
            .1
            .contains(&to.identity)
    })
    .expect("the target's heartbeat is listed");
    let started = Instant::now();
    let (code, out, err) = text(&f.cli("handover", &["--to", &to.identity]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("from {} to {}", from.identity, to.identity)),
        "{out}"
    );
    // The command reports how long the handover took, measured from its request.
    let took: f64 = out
        .rsplit("in ")
        .next()
        .and_then(|s| s.trim().trim_end_matches('s').parse().ok())
        .expect("the command prints the time it took");
    eprintln!(
        "handover took {took:.3}s (interval {INTERVAL:?}); command ran {:?}",
        started.elapsed()
    );
    // The command returns once the item names the target, which can be before the
    // target's own write has come back to it: wait for the target's answer (role and
    // epoch in one), not for the first request after the command.
    let tenure = wait_active(to, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("the target never answered active:\n{}", to.logs()));
    assert_eq!(tenure.epoch, 2);
    // The old holder stopped answering active before it released: its tenure is over.
    assert!(!from.is_active());
    assert_eq!(
        to.acquired_because().as_deref(),
        Some(format!("acquired: handed over by {}", from.identity).as_str()),
        "{:?}",
        to.events()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn handover_refuses_what_it_cannot_do_with_a_clear_message() {
    let Some(f) = fixture().await else { return };
    // No item yet.
    let (code, _, err) = text(&f.cli("handover", &[]));
    assert_eq!(code, Some(1));
    assert!(err.contains("nothing to hand over"), "{err}");

    let a = f.sidecar("pod-a", &[]);
    wait_until(STARTUP, || a.is_active()).expect("a active");
    wait_until(Duration::from_secs(5), || {
        text(&f.cli("status", &["--output", "json"]))
            .1
            .contains("pod-a")
    })
    .expect("a's heartbeat is listed");
    let (code, _, err) = text(&f.cli("handover", &[]));
    assert_eq!(code, Some(1));
    assert!(err.contains("no other live candidate"), "{err}");
    let (_, _, err) = text(&f.cli("handover", &["--to", "pod-z"]));
    assert!(
        err.contains("unknown candidate 'pod-z'") && err.contains("pod-a"),
        "{err}"
    );
    let (_, _, err) = text(&f.cli("handover", &["--to", "pod-a"]));
    assert!(err.contains("already holds"), "{err}");
    // A candidate whose heartbeat stopped a minute ago.
    f.store()
        .await
        .put_heartbeat(&Heartbeat {
            identity: "pod-old".into(),
            session: "s".into(),
            region: "us-east-1".into(),
            role: "passive".into(),
            eligible: true,
            at_ms: drlease::sys::clock::wall_ms() - 60_000,
            period_ms: 1000,
            priority: 0,
            observer: false,
        })
        .await
        .unwrap();
    let (_, _, err) = text(&f.cli("handover", &["--to", "pod-old"]));
    assert!(err.contains("not alive"), "{err}");
    // An observer never holds: it is no target.
    let observer = f.sidecar("pod-watch", &["--never-acquire", "--priority", "5"]);
    wait_until(STARTUP, || {
        text(&f.cli("status", &["--output", "json"]))
            .1
            .contains("pod-watch")
    })
    .expect("the observer's heartbeat is listed");
    let (_, out, _) = text(&f.cli("status", &[]));
    assert!(out.contains("(observer)"), "{out}");
    let (_, _, err) = text(&f.cli("handover", &["--to", "pod-watch"]));
    assert!(err.contains("observer"), "{err}");
    drop(observer);
    // A target that is alive but never shows up to acquire: nothing happens in time...
    let b = f.sidecar("pod-b", &["--app-health-url", "http://127.0.0.1:9/none"]);
    wait_until(STARTUP, || {
        text(&f.cli("status", &["--output", "json"]))
            .1
            .contains("pod-b")
    })
    .expect("b's heartbeat is listed");
    let (code, _, err) = text(&f.cli("handover", &["--to", "pod-b"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("ineligible"), "{err}");
    drop(b);
    // Frozen: unfreeze first.
    assert_eq!(f.cli("freeze", &[]).status.code(), Some(0));
    let (_, _, err) = text(&f.cli("handover", &[]));
    assert!(err.contains("unfreeze it first"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn freeze_keeps_everyone_passive_until_unfreeze() {
    let Some(f) = fixture().await else { return };
    let a = f.sidecar("pod-a", &[]);
    let b = f.sidecar("pod-b", &[]);
    let active = settle(&a, &b);
    let holder = [&a, &b][active].identity.clone();
    let (code, out, err) = text(&f.cli("freeze", &[]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("was held by {holder} (epoch 1)")),
        "{out}"
    );
    wait_until(INTERVAL * 3, || !a.is_active() && !b.is_active())
        .expect("both passive within about an interval");
    let frozen = Instant::now();
    while frozen.elapsed() < Duration::from_millis(600) * 3 {
        assert!(!a.is_active() && !b.is_active(), "a frozen lease was taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(role_json(a.port).unwrap()["frozen"], true);
    let (_, out, _) = text(&f.cli("freeze", &[]));
    assert!(out.contains("already frozen"), "{out}");
    let (code, out, _) = text(&f.cli("unfreeze", &[]));
    assert_eq!(code, Some(0));
    assert!(out.contains("released"), "{out}");
    // Both were seen passive for three leases: the frozen tenure is over, and a pod active
    // now is a new tenure, with an epoch above it.
    common::sidecar::wait_new_tenure(&[&a, &b], 1, Duration::from_secs(3))
        .expect("one active again, in a new tenure");
    let (code, _, err) = text(&f.cli("unfreeze", &[]));
    assert_eq!(code, Some(1));
    assert!(err.contains("is not frozen"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_table_is_idempotent_and_refuses_a_wrong_schema() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let table = common::unique("ct");
    let run = |table: &str, extra: &[&str]| {
        Command::new(BIN)
            .args([
                "create-table",
                "--endpoint-url",
                &endpoint,
                "--region",
                "us-east-1",
            ])
            .args(["--table", table, "--lease-name", "x"])
            .args(["--interval", "200ms", "--failure-threshold", "3"])
            .args(extra)
            .output()
            .unwrap()
    };
    let started = Instant::now();
    let (code, out, err) = text(&run(&table, &[]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("created table") && out.contains("TTL on expiresAt is on"),
        "{out}"
    );
    // Seeded, one lease duration (600 ms) after the table was created.
    assert!(out.contains("seeded lease x"), "{out}");
    assert!(started.elapsed() >= Duration::from_millis(600));
    let store = DynamoStore::new(common::connection(&endpoint).await, table.clone(), "x");
    let seed = store.read().await.unwrap().expect("the seed item");
    assert!(seed.is_seed(), "{seed:?}");
    // A first candidate on the new table is active at once, not a lease later: its first
    // decision is active. (Timed from the spawn, this would time the process start-up and
    // its first DynamoDB call, which a loaded machine stretches past a lease.)
    let a = Sidecar::start(
        "pod-a",
        &common::lease_args(&endpoint, &table, "x", "200ms", "3"),
    );
    let took = wait_until(STARTUP, || a.is_active()).expect("active");
    eprintln!("first start on a seeded table: active {took:?} after the spawn");
    let first = a.events().first().cloned();
    assert_eq!(
        first.as_ref().map(|e| e["role"].clone()),
        Some("active".into()),
        "first event: {first:?}"
    );
    drop(a);
    let (code, out, _) = text(&run(&table, &["--wait"]));
    assert_eq!(code, Some(0));
    assert!(
        out.contains("already exists with the right key schema") && !out.contains("seeded"),
        "an existing table is left as it is: {out}"
    );

    // A table with another key schema.
    let conn = common::connection(&endpoint).await;
    let other = common::unique("wrong");
    use aws_sdk_dynamodb::types::*;
    conn.client
        .create_table()
        .table_name(&other)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let (code, _, err) = text(&run(&other, &[]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("exists with key schema id (N, HASH)") && err.contains("leaseName"),
        "{err}"
    );
}

#[test]
fn check_config_prints_each_value_and_its_source() {
    let dir = std::env::temp_dir().join(common::unique("cc"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dr.yaml");
    std::fs::write(
        &file,
        "dynamoDB:\n  leaseName: mylease\n  tableName: t\n  waitTimeInSeconds: 5\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "check-config",
            "--config",
            file.to_str().unwrap(),
            "--identity",
            "me",
        ])
        .env("DRLEASE_FAILURE_THRESHOLD", "4")
        .env("DRLEASE_INTERVALL", "1s")
        .output()
        .unwrap();
    let (code, out, err) = text(&out);
    assert_eq!(code, Some(0), "{err}");
    // A misspelt variable is not applied (the interval is the file's), and is said so.
    assert!(
        out.contains(
            "warning: environment variable DRLEASE_INTERVALL is not a setting and is ignored; \
             did you mean DRLEASE_INTERVAL?"
        ),
        "{out}"
    );
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("identity").ends_with("flag"), "{out}");
    assert!(
        line("failure-threshold").contains('4') && line("failure-threshold").ends_with("env"),
        "{out}"
    );
    assert!(
        line("interval").contains("5s") && line("interval").ends_with("file"),
        "{out}"
    );
    assert!(line("listen").ends_with("default"), "{out}");
    assert!(line("renew-deadline").contains("15s"), "{out}");
}

/// Review bug: a failed Scan of the heartbeats was swallowed, and the handover then called
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
    for (identity, region) in [("pod-far", "eu-west-1"), ("pod-near", "us-east-1")] {
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
    let (code, _, err) = text(&f.cli("handover", &["--to", "pod-near"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("runs in region eu-west-1") && err.contains("nothing was written"),
        "{err}"
    );
    let item = store.read().await.unwrap().unwrap();
    assert_eq!(item.handover_to, None, "the request was not written");
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
