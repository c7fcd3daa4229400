//! Across regions, on a global table as it behaves: two moto servers (us-east-1 and
//! us-west-2), each behind a proxy that checks conditions against its own replica and
//! replicates every landed write to the other after a lag, last writer wins
//! (tests/common/global_table.rs). One sidecar per region, each on its own replica.
//!
//! Replication lag 300 ms + up to 50 ms of jitter; interval 500 ms x 5 (lease 2.5 s,
//! renew deadline 2 s) and `confirmDelay` 750 ms: at least twice the worst lag, as the
//! README's rule says. Asserted: 0 ms of two overlapping write windows through concurrent
//! and staggered starts, kill -9, SIGTERM and a handover at the holder's region.
//!
//! `DRLEASE_GLOBAL_INTERVAL=200ms DRLEASE_GLOBAL_CONFIRM=350ms` runs the same with the
//! settings of the report in issue 16 (a confirm delay above the lag but below twice it):
//! the first concurrent start then gives two actives for the whole observation (2.9 s),
//! which is what the rule is for.
//!
//! A partition longer than the lease: the cut-off region takes over (MREC keeps both sides
//! writing, by design), and after the heal the region marks end the double holder within
//! a lag plus a renew period (asserted with slack). `DRLEASE_GLOBAL_NO_MARKS=1` runs
//! without `--peer-regions`, to measure what the marks are for.

mod common;
// The chaos suite's observer: a poller per sidecar, overlaps of granted write windows.
#[allow(dead_code)]
#[path = "chaos/observer.rs"]
mod observer;

use std::time::{Duration, Instant};

use common::global_table::GlobalTable;
use common::sidecar::{role_json, Sidecar, BIN};
use common::wait_until;
use observer::Observer;

const LAG: Duration = Duration::from_millis(300);
const JITTER: Duration = Duration::from_millis(50);
const LEASE: Duration = Duration::from_millis(2500);
const SLACK: Duration = Duration::from_secs(3);

/// `DRLEASE_GLOBAL_CONFIRM` overrides the confirm delay, to measure what a shorter one does.
fn confirm_delay() -> String {
    std::env::var("DRLEASE_GLOBAL_CONFIRM").unwrap_or_else(|_| "750ms".into())
}

fn args(gt: &GlobalTable, region: usize, table: &str) -> Vec<String> {
    let confirm = confirm_delay();
    let peer = gt.region(1 - region).to_string();
    let interval = std::env::var("DRLEASE_GLOBAL_INTERVAL").unwrap_or_else(|_| "500ms".into());
    [
        "--store",
        "dynamodb",
        "--endpoint-url",
        &gt.endpoint(region),
        "--region",
        gt.region(region),
        "--table",
        table,
        "--lease-name",
        "global",
        "--interval",
        &interval,
        "--failure-threshold",
        "5",
        "--confirm-delay",
        &confirm,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(
        // `DRLEASE_GLOBAL_NO_MARKS=1`: without region marks, to measure what they are for.
        (!std::env::var("DRLEASE_GLOBAL_NO_MARKS").is_ok_and(|v| v == "1"))
            .then(|| ["--peer-regions".to_string(), peer])
            .into_iter()
            .flatten(),
    )
    .collect()
}

/// A table of its own and one sidecar per region, the second started `stagger` later.
fn pair(gt: &GlobalTable, stagger: Duration) -> (String, Vec<Sidecar>) {
    let table = common::unique("global");
    gt.create_table(&table);
    let east = Sidecar::start("pod-east", &args(gt, 0, &table));
    std::thread::sleep(stagger);
    let west = Sidecar::start("pod-west", &args(gt, 1, &table));
    (table, vec![east, west])
}

fn active_index(pods: &[Sidecar]) -> Option<usize> {
    pods.iter()
        .position(|p| role_json(p.port).is_some_and(|v| v["role"] == "active"))
}

/// Waits for one pod active and the other decided passive, for `settle`; returns the active.
fn settled(pods: &[Sidecar]) -> usize {
    let mut found = None;
    wait_until(LEASE * 3 + SLACK, || {
        let roles: Vec<_> = pods
            .iter()
            .map(|p| role_json(p.port).and_then(|v| v["role"].as_str().map(String::from)))
            .collect();
        let actives = roles
            .iter()
            .filter(|r| r.as_deref() == Some("active"))
            .count();
        let passives = roles
            .iter()
            .filter(|r| r.as_deref() == Some("passive"))
            .count();
        found = (actives == 1 && passives == pods.len() - 1)
            .then(|| active_index(pods))
            .flatten();
        found.is_some()
    })
    .expect("one pod active, the other passive");
    found.unwrap()
}

fn report(what: &str, obs: &Observer, took: Option<Duration>) {
    let overlap = obs.dual_active();
    eprintln!(
        "| {what} | {} overlaps, {:.0} ms | {} |",
        overlap.events,
        overlap.total.as_secs_f64() * 1000.0,
        took.map_or("-".into(), |t| format!(
            "{:.0} ms",
            t.as_secs_f64() * 1000.0
        ))
    );
    assert_eq!(
        overlap.events, 0,
        "{what}: two write windows overlapped for {:?}",
        overlap.total
    );
}

#[test]
fn across_two_regions_never_two_actives() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    starts(&gt);
    kill9_the_active(&gt);
    sigterm_the_active(&gt);
    handover_at_the_holders_region(&gt);
    for run in 0..2 {
        partition_then_heal(&gt, run);
    }
    let (applied, dropped) = gt.replicated();
    eprintln!("replicated writes: {applied} applied, {dropped} dropped by last-writer-wins");
    assert!(applied > 0, "the emulator replicated nothing");
}

/// Both regions start at once, or within one lag of each other: never two actives.
fn starts(gt: &GlobalTable) {
    // Both regions start at once: both may acquire on their own replica; the confirm read
    // two lags later tells the earlier writer that the later one won.
    for run in 0..3 {
        let (_, pods) = pair(gt, Duration::ZERO);
        let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
        settled(&pods);
        // Watch a little longer than a lease: a double holder would show by now.
        std::thread::sleep(LEASE + LAG * 2);
        let obs = obs.finish();
        report(&format!("concurrent start, run {run}"), &obs, None);
    }

    // The second region starts within one lag of the first: its replica has not seen the
    // first acquire yet.
    for stagger_ms in [100, 200, 300] {
        let (_, pods) = pair(gt, Duration::from_millis(stagger_ms));
        let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
        settled(&pods);
        std::thread::sleep(LEASE + LAG * 2);
        let obs = obs.finish();
        report(&format!("start {stagger_ms} ms apart"), &obs, None);
    }
}

/// kill -9 the active: the other region takes over by timing, after the lease plus a
/// lag (it sees the last renewal one lag late) plus the confirm delay.
fn kill9_the_active(gt: &GlobalTable) {
    let (_, mut pods) = pair(gt, Duration::ZERO);
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    let active = settled(&pods);
    let t = Instant::now();
    pods[active].kill9();
    let other = 1 - active;
    let took = wait_until(LEASE * 2 + SLACK, || pods[other].is_active())
        .expect("the other region took over");
    let obs = obs.finish();
    report("kill -9 the active", &obs, Some(took));
    let _ = t;
}

/// SIGTERM the active: it releases on its replica; the release reaches the other region
/// one lag later, whose pod saw that tenure and acquires at once (then confirms).
fn sigterm_the_active(gt: &GlobalTable) {
    let (_, mut pods) = pair(gt, Duration::ZERO);
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    let active = settled(&pods);
    pods[active].signal(libc::SIGTERM);
    pods[active]
        .wait_exit(Duration::from_secs(10))
        .expect("the active exits after SIGTERM");
    let other = 1 - active;
    let took = wait_until(LEASE * 2 + SLACK, || pods[other].is_active())
        .expect("the other region took over");
    let obs = obs.finish();
    report("SIGTERM the active", &obs, Some(took));
}

/// A planned handover, run against the holder's region.
fn handover_at_the_holders_region(gt: &GlobalTable) {
    let (table, pods) = pair(gt, Duration::ZERO);
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    let active = settled(&pods);
    let other = 1 - active;
    let out = std::process::Command::new(BIN)
        .arg("handover")
        .args(args(gt, active, &table))
        .args(["--to", &pods[other].identity, "--timeout", "20s"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "handover: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until(LEASE + SLACK, || pods[other].is_active()).expect("the target holds");
    std::thread::sleep(LAG * 2);
    let obs = obs.finish();
    report("handover at the holder's region", &obs, None);
}

/// How long after the heal two holders may remain, with region marks: the other
/// region's mark arrives within a lag (plus jitter), the lower holder reads it after its
/// next renewal (a renew period) and stops. Slack for a loaded machine on top.
const AFTER_HEAL_BOUND: Duration = Duration::from_millis(350 + 500 + 2000);

/// A 3 s partition (longer than the lease): the cut-off region takes over, so both hold
/// during it (MREC keeps writing on both sides, by design); after the heal the lower
/// region mark stops within the bound.
fn partition_then_heal(gt: &GlobalTable, run: usize) {
    let marks = !std::env::var("DRLEASE_GLOBAL_NO_MARKS").is_ok_and(|v| v == "1");
    let (_, pods) = pair(gt, Duration::ZERO);
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    let active = settled(&pods);
    gt.partition();
    let other = 1 - active;
    let took_over = wait_until(LEASE * 2 + SLACK, || pods[other].is_active());
    let both = || pods.iter().all(|p| p.is_active());
    let during = both();
    gt.heal();
    let ended_after = wait_until(Duration::from_secs(10), || !both());
    // A double holder that ended must stay ended.
    std::thread::sleep(LEASE);
    let still = both();
    let obs = obs.finish();
    let overlap = obs.dual_active();
    let conflicts: u64 = pods
        .iter()
        .filter_map(|p| role_json(p.port).and_then(|v| v["region_conflicts"].as_u64()))
        .sum();
    eprintln!(
        "| partition, run {run}: other region took over after {:?}, both active at the heal: {during} | {:.0} ms of overlap in all | after the heal two actives ended {}; region conflicts counted {conflicts} |",
        took_over,
        overlap.total.as_secs_f64() * 1000.0,
        ended_after.map_or("not within 10 s".into(), |d| format!("after {:.0} ms", d.as_secs_f64() * 1000.0))
    );
    if marks {
        let ended = ended_after.expect("two holders remained 10 s after the heal");
        assert!(
            ended <= AFTER_HEAL_BOUND,
            "two holders remained {ended:?} after the heal, past {AFTER_HEAL_BOUND:?}"
        );
        assert!(!still, "two holders again after the heal");
        if during {
            assert!(conflicts >= 1, "a region conflict was not counted");
        }
    }
}

/// Review finding 4 (fixed: the command refuses): `drlease freeze` against the replica of
/// the region that does not hold would be dropped by last writer wins whenever the holder
/// renews within a lag after it, while the command reported success. Now it is refused,
/// naming the holder's region, and nothing is written; against the holder's region the
/// freeze holds: both pods passive and frozen.
#[test]
fn freeze_only_where_the_holder_renews() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let (table, pods) = pair(&gt, Duration::ZERO);
    let active = settled(&pods);
    let other = 1 - active;
    // The holder's heartbeat must have reached the other replica for the command to know
    // where it runs: wait for it rather than for a guess of the lag.
    let refused = |region: usize| {
        let out = std::process::Command::new(BIN)
            .arg("freeze")
            .args(args(&gt, region, &table))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let mut last = (None, String::new());
    wait_until(LEASE * 2, || {
        last = refused(other);
        last.0 != Some(0) || !pods[active].is_active()
    })
    .expect("the freeze command answers");
    let (code, err) = last;
    assert_ne!(code, Some(0), "freeze at the other region's replica: {err}");
    assert!(
        err.contains(&format!("runs in region {}", gt.region(active)))
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(pods[active].is_active(), "a refused freeze changed nothing");
    let (code, err) = refused(active);
    assert_eq!(code, Some(0), "freeze at the holder's region: {err}");
    wait_until(LEASE * 2, || {
        pods.iter().all(|p| {
            role_json(p.port).is_some_and(|v| v["role"] == "passive" && v["frozen"] == true)
        })
    })
    .expect("both pods passive and frozen after a freeze at the holder's region");
}

/// Review finding 2 (fixed: each region hands out its own epochs), with real processes: during a partition, east's holder shuts
/// down (SIGTERM: a release), east's other pod takes the release and west, cut off, takes
/// over east's last version: both at the same epoch (one above the last they saw), both
/// active. README: "Only a store that forgot an epoch (an item deleted or restored) before a
/// pod that never saw it acquires can hand the same number out twice".
#[test]
fn a_partition_never_hands_one_epoch_to_two_tenures() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("global");
    gt.create_table(&table);
    let mut first = Sidecar::start("pod-east-1", &args(&gt, 0, &table));
    wait_until(LEASE * 3 + SLACK, || first.is_active()).expect("east's first pod holds");
    let second = Sidecar::start("pod-east-2", &args(&gt, 0, &table));
    let west = Sidecar::start("pod-west", &args(&gt, 1, &table));
    // Both newcomers see the tenure (a read or two, plus the lag for west).
    std::thread::sleep(LEASE);
    assert!(first.is_active(), "east's first pod still holds");
    gt.partition();
    first.signal(libc::SIGTERM);
    first.wait_exit(Duration::from_secs(10)).expect("exits");
    let both = wait_until(LEASE * 3 + SLACK, || second.is_active() && west.is_active());
    let epoch = |p: &Sidecar| role_json(p.port).and_then(|v| v["epoch"].as_u64());
    let (east_epoch, west_epoch) = (epoch(&second), epoch(&west));
    eprintln!("both active after {both:?}: east epoch {east_epoch:?}, west epoch {west_epoch:?}");
    gt.heal();
    assert!(
        both.is_some(),
        "both sides hold during the partition (as documented)"
    );
    assert_ne!(east_epoch, west_epoch, "two active tenures at one epoch");
}

/// Review 4, finding 4 with real processes (the core test:
/// `a_dead_peers_mark_does_not_stop_the_only_holder_at_the_heal`). A partition longer
/// than the lease: the cut-off region takes over (its mark above the first holder's),
/// then its pod is killed (-9) while still cut off. At the heal the first region's
/// holder, the only live pod holding, reads the dead pod's mark, stops, and nobody is
/// active until its own last version is timed out. README (*Across regions*): "of two
/// holders, the one whose mark ranks lower stops".
#[test]
#[ignore = "review 4 finding 4, a limit (availability, README: the gap after a heal): a dead peer's stale mark stops the only live holder at the heal"]
fn a_dead_peers_mark_does_not_stop_the_only_holder_at_the_heal() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let (_, mut pods) = pair(&gt, Duration::ZERO);
    let active = settled(&pods);
    let other = 1 - active;
    gt.partition();
    wait_until(LEASE * 2 + SLACK, || pods[other].is_active())
        .expect("the cut-off region took over");
    pods[other].kill9();
    // The first holder goes on alone on its side for a while, then the heal.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        pods[active].is_active(),
        "the first holder holds on its side"
    );
    gt.heal();
    let healed = Instant::now();
    let stopped = wait_until(Duration::from_secs(3), || !pods[active].is_active());
    let back = stopped.and_then(|_| wait_until(LEASE * 3 + SLACK, || pods[active].is_active()));
    let conflicts = role_json(pods[active].port).and_then(|v| v["region_conflicts"].as_u64());
    eprintln!(
        "| dead peer's mark at the heal | the only holder stopped {:?} after the heal; active again {:?} later; region conflicts {conflicts:?} |",
        stopped,
        back
    );
    assert!(
        stopped.is_none(),
        "the only live holder stopped {:?} after the heal (nobody active for {back:?}; \
         {:?} since the heal)",
        stopped,
        healed.elapsed()
    );
}

/// Review 4, finding 7. With the sidecars' heartbeats off (`--heartbeat false`, a
/// documented setting), `drlease freeze` against the replica of the region that does not
/// hold finds no heartbeat for the holder and goes ahead silently: exit 0, "froze lease",
/// no warning (only a failed heartbeat listing warns, `ops/freeze.rs`). By the earlier
/// review's finding 4 the holder's renewal on its own replica, the later write, drops such
/// a freeze whenever one falls within a lag after it; in 4 runs here the freeze held each
/// time (all pods passive and frozen two leases later), so what is shown is the missing
/// warning, not a lost freeze. README (*Across regions*): "without
/// heartbeats `freeze` warns and asks you to confirm with `status`".
#[test]
fn without_heartbeats_a_freeze_at_the_other_replica_warns_or_holds() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let table = common::unique("global");
    gt.create_table(&table);
    let with_off = |region: usize| {
        let mut a = args(&gt, region, &table);
        a.extend(["--heartbeat".to_string(), "false".to_string()]);
        a
    };
    let pods = vec![
        Sidecar::start("pod-east", &with_off(0)),
        Sidecar::start("pod-west", &with_off(1)),
    ];
    let active = settled(&pods);
    let other = 1 - active;
    let out = std::process::Command::new(BIN)
        .arg("freeze")
        .args(args(&gt, other, &table))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "| freeze at the other replica, heartbeats off | exit {:?}; said {:?} |",
        out.status.code(),
        said.trim()
    );
    // Whether the freeze was lost is a race (a renewal within a lag after it drops it);
    // what the README promises is the warning.
    assert!(
        out.status.code() != Some(0) || said.contains("warning"),
        "freeze exited 0 without a warning: {said}"
    );
}
