//! freeze/unfreeze, create-table and check-config.

use crate::*;

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
    let other = create_wrong_schema_table(&endpoint).await;
    let (code, _, err) = text(&run(&other, &[]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("exists with key schema id (N, HASH)") && err.contains("leaseName"),
        "{err}"
    );
}

/// A table keyed by a number `id` instead of `leaseName`; returns its name.
async fn create_wrong_schema_table(endpoint: &str) -> String {
    let conn = common::connection(endpoint).await;
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
    other
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

/// `drlease check-config | head -1`: the reader goes away, and the command ends quietly
/// (exit 0) instead of panicking on the closed pipe.
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe() fills both descriptors, which are ours alone from here on.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // Closed before the command starts: its first line meets a broken pipe, every time.
    drop(read_end);
    let out = Command::new(BIN)
        .args(["check-config", "--store", "memory", "--identity", "me"])
        .stdout(write_end)
        .output()
        .unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Once, a `drlease:` section whose keys are not indented gave `check-config` exit 0
/// and no warning, its region settings dropped. Refused (exit 2) naming the key and where
/// it belongs; `DRLEASE_ALLOW_UNKNOWN_KEYS=true` makes it a warning and exit 0.
#[test]
fn check_config_refuses_settings_outside_their_section() {
    let dir = std::env::temp_dir().join(common::unique("cc"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dr.yaml");
    std::fs::write(
        &file,
        "dynamoDB:\n  leaseName: l\n  tableName: t\n  region: us-east-1\n\
         drlease:\nconfirmDelay: 1s\npeerRegions: us-west-2\n",
    )
    .unwrap();
    let run = |allow: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["check-config", "--config", file.to_str().unwrap()])
            .args(["--identity", "me"]);
        if let Some(allow) = allow {
            cmd.env("DRLEASE_ALLOW_UNKNOWN_KEYS", allow);
        }
        text(&cmd.output().unwrap())
    };
    let (code, out, err) = run(None);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("confirmDelay is a drlease setting but sits at the top level of the file")
            && err.contains("indent it under drlease:")
            && err.contains("peerRegions is a drlease setting"),
        "{err}"
    );
    let (code, out, err) = run(Some("true"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("warning: confirmDelay is a drlease setting"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("allow-unknown-keys") && l.ends_with("env")),
        "{out}"
    );
}
