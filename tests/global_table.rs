//! Across regions, on a global table as it behaves: two moto servers (us-east-1 and
//! us-west-2), each behind a proxy that checks conditions against its own replica and
//! replicates every landed write to the other after a lag, last writer wins
//! (tests/common/global_table.rs). One sidecar per region, each on its own replica.
//!
//! Replication lag 300 ms + up to 50 ms of jitter; interval 500 ms x 5 (lease 2.5 s,
//! renew deadline 2 s) and `confirmDelay` 750 ms: more than twice the worst lag, as the
//! docs/regions.md's rule says. Asserted: 0 ms of two overlapping write windows through concurrent
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

/// Across regions with real processes, one file per subject: tests/global_table/.
mod global_table {
    mod marks_and_freeze;
    mod random_faults;
    mod switch_across_regions;
    mod table_mode;
}

use std::time::{Duration, Instant};

use common::global_table::GlobalTable;
use common::sidecar::{role_json, Sidecar, BIN};
use common::wait_until;
use observer::Observer;

const LAG: Duration = Duration::from_millis(300);
const JITTER: Duration = Duration::from_millis(50);
const LEASE: Duration = Duration::from_millis(2500);
const SLACK: Duration = Duration::from_secs(3);

/// `DRLEASE_GLOBAL_NO_MARKS=1`: no region marks (no `--peer-regions`, and a table that
/// describes itself as one region, so that none are taken from it).
fn no_marks() -> bool {
    std::env::var("DRLEASE_GLOBAL_NO_MARKS").is_ok_and(|v| v == "1")
}

/// `DRLEASE_GLOBAL_CONFIRM` overrides the confirm delay, to measure what a shorter one does.
fn confirm_delay() -> String {
    std::env::var("DRLEASE_GLOBAL_CONFIRM").unwrap_or_else(|_| "750ms".into())
}

fn args(gt: &GlobalTable, region: usize, table: &str) -> Vec<String> {
    let confirm = confirm_delay();
    let peer = gt.region(1 - region).to_string();
    let interval = std::env::var("DRLEASE_GLOBAL_INTERVAL").unwrap_or_else(|_| "500ms".into());
    gt.sidecar_args(region, table, "global", &interval, "5", &confirm)
        .into_iter()
        .chain(
            // `DRLEASE_GLOBAL_NO_MARKS=1`: without region marks, to measure what they are for.
            (!no_marks())
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
    if no_marks() {
        // The sidecars would take the peer regions from an MREC description: the table
        // says it is in one region (moto's own answer), so no pod reads marks.
        gt.describe_as(common::global_table::Description {
            consistency: None,
            ..Default::default()
        });
    }
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
    let marks = !no_marks();
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
        // Not asserted: that a region conflict was counted. The double holder can also
        // end by the lower holder's renewal being refused once the other region's write
        // has replicated, before it reads the other mark: then no conflict is counted, and
        // the promise held all the same (the bound above is what it is about).
    }
}
