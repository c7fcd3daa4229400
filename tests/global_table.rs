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
//! A partition between the regions is measured, not asserted, with
//! `DRLEASE_GLOBAL_PARTITION=1 scripts/test.sh --test global_table -- --nocapture`:
//! today both sides may hold during it and after the heal (README, "Across regions").

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

    // Both regions start at once: both may acquire on their own replica; the confirm read
    // two lags later tells the earlier writer that the later one won.
    for run in 0..3 {
        let (_, pods) = pair(&gt, Duration::ZERO);
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
        let (_, pods) = pair(&gt, Duration::from_millis(stagger_ms));
        let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
        settled(&pods);
        std::thread::sleep(LEASE + LAG * 2);
        let obs = obs.finish();
        report(&format!("start {stagger_ms} ms apart"), &obs, None);
    }

    // kill -9 the active: the other region takes over by timing, after the lease plus a
    // lag (it sees the last renewal one lag late) plus the confirm delay.
    {
        let (_, mut pods) = pair(&gt, Duration::ZERO);
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

    // SIGTERM the active: it releases on its replica; the release reaches the other region
    // one lag later, whose pod saw that tenure and acquires at once (then confirms).
    {
        let (_, mut pods) = pair(&gt, Duration::ZERO);
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

    // A planned handover, run against the holder's region.
    {
        let (table, pods) = pair(&gt, Duration::ZERO);
        let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
        let active = settled(&pods);
        let other = 1 - active;
        let out = std::process::Command::new(BIN)
            .arg("handover")
            .args(args(&gt, active, &table))
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

    if std::env::var("DRLEASE_GLOBAL_PARTITION").is_ok_and(|v| v == "1") {
        measure_partition(&gt);
    }
    let (applied, dropped) = gt.replicated();
    eprintln!("replicated writes: {applied} applied, {dropped} dropped by last-writer-wins");
    assert!(applied > 0, "the emulator replicated nothing");
}

/// A 5 s partition, then the heal: how long both sides answered active, during and after.
fn measure_partition(gt: &GlobalTable) {
    let (_, pods) = pair(gt, Duration::ZERO);
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    settled(&pods);
    gt.partition();
    std::thread::sleep(Duration::from_secs(5));
    let both = || pods.iter().all(|p| p.is_active());
    let during = both();
    gt.heal();
    let ended_after = wait_until(Duration::from_secs(10), || !both());
    let obs = obs.finish();
    let overlap = obs.dual_active();
    eprintln!(
        "| partition 5 s, then the heal | {} overlaps, {:.0} ms in all | both active at the heal: {during}; two actives ended {} after it |",
        overlap.events,
        overlap.total.as_secs_f64() * 1000.0,
        ended_after.map_or("not within 10 s".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
    );
}
