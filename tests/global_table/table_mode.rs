//! The sidecar reads what the table is (`DescribeTable`) and acts on it (docs/regions.md, *Across
//! regions*), with real processes on the emulator, whose description is a real global
//! table's: MREC of us-east-1 and us-west-2, or MRSC, or a replica added, or refused.

use crate::*;
use common::global_table::Description;
use common::sidecar::{http, STARTUP};

/// The settings of the test above, without `--peer-regions`: the table gives them.
/// `DRLEASE_GLOBAL_INTERVAL` and `DRLEASE_GLOBAL_THRESHOLD` override the interval and the
/// failure threshold (issue 25's run: 200ms and 10, with `DRLEASE_GLOBAL_CONFIRM=700ms`).
fn base(gt: &GlobalTable, region: usize, table: &str, confirm: &str) -> Vec<String> {
    let interval = std::env::var("DRLEASE_GLOBAL_INTERVAL").unwrap_or_else(|_| "500ms".into());
    let threshold = std::env::var("DRLEASE_GLOBAL_THRESHOLD").unwrap_or_else(|_| "5".into());
    gt.sidecar_args(region, table, "global", &interval, &threshold, confirm)
}

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A sidecar that must refuse to start with exit code `code`: what it said.
fn refused_with(code: i32, args: &[String]) -> String {
    let mut pod = Sidecar::start(&common::unique("refused"), args);
    let got = pod.wait_exit(STARTUP);
    let logs = pod.logs();
    assert_eq!(got, Some(code), "expected a refusal to start\n{logs}");
    logs
}

/// Settings the table refuses: exit 2, as any bad setting.
fn refused(args: &[String]) -> String {
    refused_with(2, args)
}

fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http(port, "GET", "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The run: `peerRegions` left out, a partition longer than the lease, then the
/// heal, three times in a row on the same pods. Each pod takes the other region from the
/// table, so after every heal the double holder ends within docs/regions.md's bound.
#[test]
fn without_peer_regions_every_heal_ends_the_double_holder_within_the_bound() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("nopeers");
    gt.create_table(&table);
    let pods: Vec<Sidecar> = (0..2)
        .map(|r| Sidecar::start(&format!("pod-{r}"), &base(&gt, r, &table, &confirm_delay())))
        .collect();
    for p in &pods {
        let v = wait_until(STARTUP, || role_json(p.port).is_some()).map(|_| role_json(p.port));
        let v = v.flatten().expect("the pod answers /role");
        assert_eq!(v["table"]["mode"], "mrec", "{v}");
        assert_eq!(
            v["table"]["peer_regions"].as_array().unwrap().len(),
            1,
            "{v}"
        );
    }
    for run in 0..3 {
        let active = settled(&pods);
        gt.partition();
        wait_until(LEASE * 2 + SLACK, || pods[1 - active].is_active())
            .expect("the cut-off region takes over during the partition");
        let both = || pods.iter().all(|p| p.is_active());
        gt.heal();
        let ended = wait_until(Duration::from_secs(10), || !both());
        eprintln!("| heal {run} without peerRegions | two actives ended after {ended:?} |");
        let ended = ended.expect("two holders remained 10 s after the heal");
        assert!(
            ended <= AFTER_HEAL_BOUND,
            "heal {run}: two holders remained {ended:?}, past {AFTER_HEAL_BOUND:?}"
        );
    }
}

/// Each refusal on an MREC table names the setting, the rule and the way out; the
/// explicit acceptance starts and says so in `/role`, the log and a metric.
#[test]
fn on_mrec_each_refusal_names_what_to_change() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("refusals");
    gt.create_table(&table);
    let logs = refused(&base(&gt, 0, &table, "0s"));
    assert!(
        logs.contains("confirmDelay is 0")
            && logs.contains("more than twice the replication lag")
            && logs.contains("lag of up to 1s")
            && logs.contains("--accept-outside-rule"),
        "{logs}"
    );
    let logs = refused(&with(
        base(&gt, 0, &table, "750ms"),
        &["--peer-regions", "eu-west-1"],
    ));
    assert!(
        logs.contains("[eu-west-1]") && logs.contains("[us-west-2]"),
        "{logs}"
    );
    let logs = refused(&with(
        base(&gt, 0, &table, "750ms"),
        &["--failback-after", "1m"],
    ));
    assert!(
        logs.contains("--failback-after: failback cannot work"),
        "{logs}"
    );
    let logs = refused(&with(
        base(&gt, 0, &table, "750ms"),
        &["--peer-regions", "west-2"],
    ));
    assert!(
        logs.contains("'west-2' is not an AWS region name"),
        "{logs}"
    );
    // Accepted by name: it starts, and says the promise is outside its rule everywhere.
    let pod = Sidecar::start(
        "pod-outside",
        &with(base(&gt, 0, &table, "0s"), &["--accept-outside-rule"]),
    );
    wait_until(STARTUP, || pod.is_active()).expect("accepted outside its rule: it runs");
    let v = role_json(pod.port).unwrap();
    assert!(
        v["table"]["outside_rule"]
            .as_str()
            .is_some_and(|w| w.contains("confirmDelay is 0")),
        "{v}"
    );
    assert_eq!(metric(pod.port, "drlease_outside_rule"), Some(1.0));
    assert!(pod.logs().contains("the promise is outside its rule"));
    check_config_and_status(&gt, &table);
}

/// `check-config` and `status` print the mode, the replica regions and what came from the
/// table; `check-config` refuses what `run` would refuse.
fn check_config_and_status(gt: &GlobalTable, table: &str) {
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let mut args = vec!["check-config".to_string()];
    args.extend(base(gt, 0, table, "750ms"));
    let (code, out, err) = run(args);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("table-mode") && out.contains("mrec (from the table's description)"),
        "{out}"
    );
    assert!(
        out.contains("us-east-1,us-west-2; this pod: us-east-1"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("peer-regions")
            && l.contains("us-west-2")
            && l.ends_with("table")),
        "{out}"
    );
    let mut args = vec!["check-config".to_string()];
    args.extend(base(gt, 0, table, "0s"));
    let (code, _, err) = run(args);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("confirmDelay is 0"), "{err}");
    let mut args = vec!["status".to_string()];
    args.extend(base(gt, 0, table, "750ms"));
    let (code, out, err) = run(args);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("table      mrec: replica regions us-east-1,us-west-2")
            && out.contains("(from the table: peer-regions=us-west-2)"),
        "{out}"
    );
}

/// Without `dynamodb:DescribeTable` the start is refused, naming the permission and the
/// way to state the mode by hand; stated by hand, it starts. MRSC needs neither marks nor
/// a confirm delay. A replica added under a running pod is noticed at the next read,
/// logged once, and shown until the table is as it was.
#[test]
fn unreadable_mrsc_and_a_table_changed_under_a_running_pod() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("modes");
    gt.create_table(&table);
    gt.describe_as(Description {
        denied: true,
        ..Description::default()
    });
    let logs = refused_with(1, &base(&gt, 0, &table, "750ms"));
    assert!(
        logs.contains("dynamodb:DescribeTable") && logs.contains("--table-mode"),
        "{logs}"
    );
    assert!(
        !logs.contains("drlease starting"),
        "served before the table was read\n{logs}"
    );
    let by_hand = Sidecar::start(
        "pod-by-hand",
        &with(
            base(&gt, 0, &table, "750ms"),
            &["--table-mode", "mrec", "--peer-regions", "us-west-2"],
        ),
    );
    wait_until(STARTUP, || by_hand.is_active()).expect("the mode stated by hand: it runs");
    assert_eq!(role_json(by_hand.port).unwrap()["table"]["mode"], "mrec");
    drop(by_hand);

    gt.describe_as(Description::mrsc());
    let strong = common::unique("mrsc");
    gt.create_table(&strong);
    let pod = Sidecar::start("pod-mrsc", &base(&gt, 0, &strong, "0s"));
    wait_until(STARTUP, || pod.is_active()).expect("MRSC with confirmDelay 0: it runs");
    let v = role_json(pod.port).unwrap();
    assert_eq!(v["table"]["mode"], "mrsc", "{v}");
    assert_eq!(v["table"]["peer_regions"], serde_json::json!([]), "{v}");
    assert!(pod
        .logs()
        .contains("no region marks and no confirm delay are needed"));
    drop(pod);
    a_replica_added_under_a_running_pod(&gt, &table);
}

/// A replica added under a running pod is noticed at the next read, logged once, and
/// shown until the table is as it was; the pod keeps its rules until restarted.
fn a_replica_added_under_a_running_pod(gt: &GlobalTable, table: &str) {
    gt.describe_as(Description::default());
    let pod = Sidecar::start(
        "pod-change",
        &with(base(gt, 0, table, "750ms"), &["--table-reread", "1s"]),
    );
    wait_until(STARTUP, || pod.is_active()).expect("the pod runs");
    gt.describe_as(Description {
        extra_regions: vec!["eu-west-1".into()],
        ..Description::default()
    });
    let changed =
        |p: &Sidecar| role_json(p.port).is_some_and(|v| v["table"]["changed"].as_str().is_some());
    wait_until(STARTUP, || changed(&pod)).expect("the added replica is noticed");
    let v = role_json(pod.port).unwrap();
    assert!(
        v["table"]["changed"]
            .as_str()
            .unwrap()
            .contains("eu-west-1"),
        "{v}"
    );
    assert_eq!(metric(pod.port, "drlease_table_changed"), Some(1.0));
    assert!(
        pod.is_active(),
        "the pod keeps its rules (and the lease) until restarted"
    );
    // Logged once, however many reads see it: three more re-read periods.
    std::thread::sleep(Duration::from_secs(3));
    let logs = pod.logs();
    assert_eq!(
        logs.matches("the table changed since this pod started")
            .count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("until it is restarted"), "{logs}");
    gt.describe_as(Description::default());
    wait_until(STARTUP, || !changed(&pod)).expect("the table as it was: no change shown");
    assert_eq!(metric(pod.port, "drlease_table_changed"), Some(0.0));
}

/// A one-region moto table (no replicas) with a confirm delay of 0 starts as before.
#[test]
fn a_one_region_table_with_no_confirm_delay_starts_as_before() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let table = common::unique("oneregion");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conn = common::connection_with_timeout(&endpoint, Duration::from_secs(30));
        drlease::store::dynamodb::table::create_table(&conn, &table)
            .await
            .unwrap();
    });
    let args = common::lease_args(&endpoint, &table, "one", "200ms", "3");
    let pod = Sidecar::start("pod-one", &args);
    wait_until(STARTUP, || pod.is_active()).expect("one region, confirmDelay 0: it runs");
    let v = role_json(pod.port).unwrap();
    assert_eq!(v["table"]["mode"], "one-region", "{v}");
    assert_eq!(v["table"]["outside_rule"], serde_json::Value::Null, "{v}");
}

/// A table created after its pods started: each waits passive, its lease calls held back,
/// until it can read the description. One started with the peer regions the table then
/// gives goes through and holds; one that would take them from the table exits, having
/// held nothing, so that its restart takes them.
#[test]
fn a_table_created_after_the_pods_started() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("late");
    let listed = Sidecar::start(
        "pod-listed",
        &with(
            base(&gt, 0, &table, "750ms"),
            &["--peer-regions", "us-west-2"],
        ),
    );
    let mut taken = Sidecar::start("pod-taken", &base(&gt, 0, &table, "750ms"));
    for p in [&listed, &taken] {
        wait_until(STARTUP, || {
            role_json(p.port).is_some_and(|v| v["table"]["mode"] == "unread")
        })
        .unwrap_or_else(|| panic!("not waiting for the description\n{}", p.logs()));
        assert!(!p.is_active());
    }
    gt.create_table(&table);
    let code = taken.wait_exit(STARTUP);
    let logs = taken.logs();
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("not the [] this pod started with"), "{logs}");
    wait_until(STARTUP, || listed.is_active()).unwrap_or_else(|| {
        panic!(
            "the pod with the table's peers never held\n{}",
            listed.logs()
        )
    });
    let v = role_json(listed.port).unwrap();
    assert_eq!(v["table"]["mode"], "mrec", "{v}");
}
