//! R19, the switch across regions, as the table's description sets it: attacks with real
//! processes on the emulator.
//! Run: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored --nocapture`.

use crate::*;
use common::global_table::Description;
use common::sidecar::{http, STARTUP};

/// A replication lag of 1 s: the lag the confirm-delay rule assumes (ASSUMED_LAG). At the
/// emulator's usual 300 ms the two pods' first acquires land more than one lag apart (each
/// reads the description first), so no double acquire happens at all.
const LAG_1S: Duration = Duration::from_secs(1);

fn pod_args(gt: &GlobalTable, region: usize, table: &str, confirm: &str) -> Vec<String> {
    pod_args_at(gt, region, table, confirm, "500ms")
}

fn pod_args_at(
    gt: &GlobalTable,
    region: usize,
    table: &str,
    confirm: &str,
    interval: &str,
) -> Vec<String> {
    let mut args = gt.sidecar_args(region, table, "global", interval, "5", confirm);
    args.extend(["--table-reread".to_string(), "1s".to_string()]);
    args
}

fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http(port, "GET", "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Four pods, two per region, on `table`. `rounds` times: stop the active (SIGTERM, then
/// kill -9 in turn), watch the three others for 6 s, and start it again. The longest time
/// two pods answered active at once, and the pods.
fn overlaps_at_failover(
    gt: &GlobalTable,
    table: &str,
    confirm: &str,
    rounds: usize,
) -> (Duration, Vec<Sidecar>) {
    overlaps_with(gt, table, confirm, &[], rounds, "500ms")
}

/// `overlaps_at_failover` with `extra` arguments for every pod.
fn overlaps_with(
    gt: &GlobalTable,
    table: &str,
    confirm: &str,
    extra: &[&str],
    rounds: usize,
    interval: &str,
) -> (Duration, Vec<Sidecar>) {
    let window = Duration::from_secs(6)
        + 5 * Duration::from_millis(if interval == "500ms" { 500 } else { 2000 });
    let mut pods: Vec<Sidecar> = (0..4)
        .map(|i| {
            let mut args = pod_args_at(gt, i % 2, table, confirm, interval);
            args.extend(extra.iter().map(|s| s.to_string()));
            Sidecar::start(&format!("{table}-pod-{i}"), &args)
        })
        .collect();
    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        let mut active = 0;
        wait_until(Duration::from_secs(40), || {
            let a: Vec<usize> = (0..pods.len()).filter(|&i| pods[i].is_active()).collect();
            active = a.first().copied().unwrap_or(0);
            a.len() == 1
        })
        .unwrap_or_else(|| panic!("{table} round {round}: never exactly one active"));
        if round % 2 == 0 {
            pods[active].signal(15);
            pods[active].wait_exit(Duration::from_secs(10));
        } else {
            pods[active].kill9();
        }
        let start = Instant::now();
        let mut both = Duration::ZERO;
        while start.elapsed() < window {
            let t = Instant::now();
            let n = pods.iter().filter(|p| p.is_active()).count();
            std::thread::sleep(Duration::from_millis(20));
            if n > 1 {
                both += t.elapsed();
            }
        }
        eprintln!(
            "| {table} round {round} ({}, active was in {}) | two actives {both:?} |",
            if round % 2 == 0 { "SIGTERM" } else { "kill -9" },
            gt.region(active % 2)
        );
        worst = worst.max(both);
        pods[active].restart();
        if !worst.is_zero() {
            break;
        }
    }
    (worst, pods)
}

/// A replicated (MREC) table whose `DescribeTable` lists no replica is taken for one
/// region: `confirmDelay` 0 is accepted, no peer regions are read, `/role` says
/// `one-region`, and a double acquire answers active in both regions. That is what a
/// version 2017.11.29 (legacy) global table answers: AWS identifies such a replica only by
/// `DescribeGlobalTable` ("Determining the version of a global table": describe-table
/// carries `GlobalTableVersion` for 2019.11.21 replicas; for legacy ones call
/// describe-global-table), so docs/table-mode.md's legacy row (a description with
/// `GlobalTableVersion` 2017.11.29) is not what the pod meets, and "never a fall back to
/// one-region rules" does not hold. The emulator's `Description { consistency: None }`
/// (moto's own answer, no replicas, no version) is that answer while it replicates.
///
/// Reproduction: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored
/// --nocapture`: four pods (two per region, lag 1 s) with `--confirm-delay 0s`, each says
/// `table.mode` `one-region`; the active is stopped (SIGTERM, kill -9 in turn) and a pod
/// of each region takes over at once: two answer active. Fix: when the description lists no
/// replica, call `DescribeGlobalTable` (AccessDenied / GlobalTableNotFoundException: one
/// region) and treat a hit as the legacy MREC row; or refuse `confirmDelay` 0 unless the
/// mode is stated; at least document that a legacy table reads as one region.
#[test]
#[ignore = "review 25, a documented limit (docs/table-mode.md): a replicated table whose DescribeTable lists no replica (a legacy 2017.11.29 global table may) is taken for one region; state --table-mode mrec"]
fn a_replicated_table_described_without_replicas_never_gives_two_actives() {
    let Some(gt) = GlobalTable::start(LAG_1S, JITTER) else {
        return;
    };
    gt.describe_as(Description {
        consistency: None,
        ..Description::default()
    });
    let table = common::unique("legacy");
    gt.create_table(&table);
    let (worst, pods) = overlaps_at_failover(&gt, &table, "0s", 8);
    for v in pods.iter().filter_map(|p| role_json(p.port)) {
        assert_eq!(v["table"]["mode"], "one-region", "{v}");
        assert_eq!(v["table"]["outside_rule"], serde_json::Value::Null, "{v}");
    }
    assert!(
        worst.is_zero(),
        "two actives for {worst:?} on a replicated table the sidecar took for one region"
    );
}

/// A table that becomes MREC under a pod started with `confirmDelay` 0 on one region (a
/// replica added: docs/regions.md's way from Admiral's single-region table to MREC). The pod
/// keeps its rules (documented); but it is now where a start would be refused, and
/// neither `/role` `table.outside_rule` nor `drlease_outside_rule` says the promise is
/// outside its rule: only `table.changed`, which reads like a note, and its warning says
/// "restart every pod", where the restart is refused (exit 2: confirmDelay 0 on MREC).
///
/// Reproduction: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored
/// --nocapture`. Fix: on a re-read that gives MREC to a pod without a confirm delay, set
/// `outside_rule` (and the metric, and a `DrleaseOutsideRule` alert), and say in the
/// warning that `confirmDelay` must be set before the restart.
#[test]
fn a_table_that_becomes_mrec_under_a_confirm_delay_0_pod_says_it_is_outside_the_rule() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("grows");
    gt.create_table(&table);
    gt.describe_as(Description {
        consistency: None,
        ..Description::default()
    });
    let pod = Sidecar::start("pod-grows", &pod_args(&gt, 0, &table, "0s"));
    wait_until(STARTUP, || pod.is_active()).expect("one region, confirmDelay 0: it runs");
    gt.describe_as(Description::default());
    wait_until(STARTUP, || {
        role_json(pod.port).is_some_and(|v| v["table"]["changed"].as_str().is_some())
    })
    .expect("the replica added is noticed");
    let v = role_json(pod.port).unwrap();
    let outside = metric(pod.port, "drlease_outside_rule");
    eprintln!("| the table became MREC under a confirmDelay 0 pod | /role table = {} | drlease_outside_rule = {outside:?} |", v["table"]);
    let logs = pod.logs();
    let warning = logs
        .lines()
        .find(|l| l.contains("the table changed since this pod started"))
        .unwrap_or("")
        .to_string();
    eprintln!("warning: {warning}");
    assert!(
        v["table"]["outside_rule"].is_string() && outside == Some(1.0),
        "MREC with confirmDelay 0 and nothing accepted, yet /role says outside_rule {} and drlease_outside_rule is {outside:?}",
        v["table"]["outside_rule"]
    );
}

/// On MREC only a `confirmDelay` of exactly 0 is refused; the error states the rule as
/// "more than twice the replication lag (assuming up to 1s: more than 2s)", yet 1 ms starts
/// without a word: `/role` `table.outside_rule` null, `drlease_outside_rule` 0, no note,
/// and a double acquire answers active in both regions as with 0.
///
/// Reproduction: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored
/// --nocapture`: four pods (two per region, lag 1 s), `--confirm-delay 1ms`, the peer regions
/// from the table; the active stopped in turn until a double takeover answers active twice.
/// Fix: treat a confirm delay at or under twice ASSUMED_LAG as outside the rule (refused
/// unless --accept-outside-rule, or at least `outside_rule` set, the metric 1 and a note),
/// or document that only 0 is checked.
#[test]
#[ignore = "review 25, a documented limit (docs/table-mode.md): the sidecar does not know the replication lag, so on MREC only a confirm delay of 0 is refused; 1ms under a 1 s lag gives two actives"]
fn on_mrec_a_confirm_delay_under_the_rule_is_refused_or_said() {
    let Some(gt) = GlobalTable::start(LAG_1S, JITTER) else {
        return;
    };
    let table = common::unique("tiny");
    gt.create_table(&table);
    let (worst, pods) = overlaps_at_failover(&gt, &table, "1ms", 8);
    let mut flagged = true;
    for p in &pods {
        let Some(v) = role_json(p.port) else { continue };
        assert_eq!(v["table"]["mode"], "mrec", "{v}");
        flagged &= v["table"]["outside_rule"].is_string()
            && metric(p.port, "drlease_outside_rule") == Some(1.0);
    }
    eprintln!(
        "| MREC, confirmDelay 1ms: flagged outside the rule: {flagged} | two actives {worst:?} |"
    );
    assert!(
        flagged || worst.is_zero(),
        "MREC with confirmDelay 1ms: started unflagged, and two actives for {worst:?}"
    );
}

/// The control for the two above: the same failovers (four pods, lag 1 s, SIGTERM and
/// kill -9 of the active in turn) on an MREC table described as such, within the rule
/// (`confirmDelay` 2500 ms, more than twice the lag; peer regions from the table; interval
/// 2 s, as a confirm delay must be under half the renew deadline): no two actives. What the two above measure is the rule missing, not the harness.
#[test]
fn on_mrec_within_the_rule_a_failover_never_gives_two_actives() {
    let Some(gt) = GlobalTable::start(LAG_1S, JITTER) else {
        return;
    };
    let table = common::unique("rule");
    gt.create_table(&table);
    let (worst, _pods) = overlaps_with(&gt, &table, "2500ms", &[], 4, "2s");
    assert!(worst.is_zero(), "two actives for {worst:?} within the rule");
}

/// `--table-mode one-write-region` stated where the pods write their own regions' replicas
/// (each pod's `--region` its own, as an operator following "each sidecar's own region"
/// would have it, with the mode copied from Admiral's example): the description is not
/// read, `confirmDelay` 0 and no marks are accepted, `/role` says `one-write-region` with
/// no `outside_rule`, and a failover gives two actives. docs/table-mode.md does not say
/// what the sidecar promises when the mode stated is wrong, and nothing checks it, though
/// the pod could: the description (when readable) says MREC, and the holder's heartbeat
/// says which region the holder writes from.
///
/// Reproduction: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored
/// --nocapture`. Fix: with `one-write-region`, read the description when allowed and warn
/// (or refuse) when it is MREC and a holder's heartbeat names another region; document
/// that the mode stated by hand is trusted and what a wrong one costs (two actives).
#[test]
#[ignore = "review 25, a documented limit (docs/table-mode.md): a mode stated by hand is trusted; one-write-region stated for pods in two regions gives two actives at a failover"]
fn one_write_region_stated_for_pods_in_two_regions_never_gives_two_actives() {
    let Some(gt) = GlobalTable::start(LAG_1S, JITTER) else {
        return;
    };
    let table = common::unique("onewrite");
    gt.create_table(&table);
    let (worst, pods) = overlaps_with(
        &gt,
        &table,
        "0s",
        &["--table-mode", "one-write-region"],
        8,
        "500ms",
    );
    for v in pods.iter().filter_map(|p| role_json(p.port)) {
        assert_eq!(v["table"]["mode"], "one-write-region", "{v}");
        assert_eq!(v["table"]["outside_rule"], serde_json::Value::Null, "{v}");
    }
    assert!(
        worst.is_zero(),
        "two actives for {worst:?} under a one-write-region stated for pods in two regions"
    );
}

/// A pod that starts before its table exists waits passive (documented); if the
/// description is then refused (a role without `dynamodb:DescribeTable`, the usual state
/// of a policy written before this change), docs/table-mode.md says the start is refused
/// with exit 1 naming the permission. Here the pod never exits: `settle_later`
/// (src/run/table_watch.rs) treats every error as "may pass", holds the lease calls back
/// with it and tries again forever, so the pod stays out of the lease for good (`/role`
/// role `unknown`, not even the documented passive, `table.mode` `unread`); the lease
/// loop repeats "lease store problem: store refused the credentials ... check the IAM
/// policy for the table" (41 lines in 25 s) as if its own GetItem/UpdateItem were refused,
/// without the start's message (the policy file, `--table-mode`).
///
/// Reproduction: `scripts/test.sh --test global_table -- switch_across_regions --include-ignored
/// --nocapture`: a pod started on a table not created yet, then `describe_as(denied)` and
/// the table created. Fix: in `settle_later`, on an error that `may_pass` does not accept,
/// log `unreadable(..)` and exit 1, as at start.
#[test]
fn a_description_refused_after_a_late_table_stops_the_pod_naming_the_permission() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("latedenied");
    let mut pod = Sidecar::start("pod-late-denied", &pod_args(&gt, 0, &table, "750ms"));
    wait_until(STARTUP, || {
        role_json(pod.port).is_some_and(|v| v["table"]["mode"] == "unread")
    })
    .unwrap_or_else(|| panic!("not waiting for the description\n{}", pod.logs()));
    gt.describe_as(Description {
        denied: true,
        ..Description::default()
    });
    gt.create_table(&table);
    let code = pod.wait_exit(Duration::from_secs(20));
    let logs = pod.logs();
    if code.is_none() {
        let v = role_json(pod.port).unwrap();
        eprintln!(
            "| refused after a late table | still running after 20 s: role {} table.mode {} last_error {} | log names the permission: {} |",
            v["role"],
            v["table"]["mode"],
            v["last_error"],
            logs.matches("DescribeTable").count() > 1
        );
    }
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("dynamodb:DescribeTable"), "{logs}");
}
