//! Region affinity with real processes: the preferred pod dies, the other takes over; the
//! preferred pod comes back and gets the lease back after `--failback-after`, through a
//! planned handover; an observer beside them never answers active.

use std::time::{Duration, Instant};

use crate::cluster::{addr_of, new_table, sidecar_args, Cluster};
use crate::common::proxy::FaultProxy;
use crate::common::sidecar::{role_json, wait_active, Sidecar, STARTUP};
use crate::common::steady::{steady, Steady};
use crate::common::wait_until;
use crate::observer::Observer;
use crate::scenarios::failover_to;
use crate::{RunResult, INTERVAL, LEASE, SLACK};

pub const FAILBACK_AFTER: Duration = Duration::from_secs(2);

const A: usize = 0;
const B: usize = 1;
const OBSERVER: usize = 2;

fn cluster(endpoint: &str) -> Cluster {
    let table = new_table(endpoint);
    let after = format!("{}ms", FAILBACK_AFTER.as_millis());
    let extra: [&[&str]; 3] = [
        &["--priority", "10", "--failback-after", &after],
        &["--priority", "0", "--failback-after", &after],
        &["--never-acquire", "--priority", "20"],
    ];
    let mut proxies = Vec::new();
    let mut sidecars = Vec::new();
    for (id, extra) in ["pod-a", "pod-b", "pod-watch"].iter().zip(extra) {
        let proxy = FaultProxy::start(addr_of(endpoint));
        let mut args = sidecar_args(&proxy.url(), &table);
        args.extend(extra.iter().map(|s| s.to_string()));
        sidecars.push(Sidecar::start(id, &args));
        proxies.push(proxy);
    }
    Cluster {
        sidecars,
        proxies,
        endpoint: endpoint.to_string(),
        table,
    }
}

fn holder_seen_by_observer(c: &Cluster) -> Option<String> {
    role_json(c.sidecars[OBSERVER].port).and_then(|v| v["holder"].as_str().map(String::from))
}

/// Returns the time from the preferred pod answering again after its restart to it
/// answering active again.
pub fn failback(endpoint: &str) -> RunResult {
    let mut c = cluster(endpoint);
    let obs = Observer::start(&c.ports());
    // Whoever acquires first, the preferred pod holds within failback-after (plus a
    // handover) of starting, and of three processes starting on a shared machine.
    wait_until(STARTUP + FAILBACK_AFTER + LEASE * 4, || {
        c.sidecars[A].is_active()
    })
    .expect("the preferred pod never held the lease");
    // It dies: the other takes over, by timing.
    let t = Instant::now();
    c.sidecars[A].kill9();
    let took = failover_to(&obs, B, t, LEASE + INTERVAL + SLACK);
    eprintln!(
        "  failback: pod-b took over {:.0} ms after kill -9",
        took.as_secs_f64() * 1e3
    );
    // It comes back, and gets the lease back once healthy for failback-after, no sooner.
    c.sidecars[A].restart();
    let restarted = Instant::now();
    // Its failback time is counted from when it is up: the process start-up before that
    // (seconds, on a loaded machine) is no part of failback-after or the handover.
    wait_until(STARTUP, || c.sidecars[A].view().is_some())
        .unwrap_or_else(|| panic!("pod-a does not answer after its restart\n{}", c.logs()));
    let up = Instant::now();
    wait_until(FAILBACK_AFTER + LEASE * 4 + SLACK, || {
        c.sidecars[A].is_active()
    })
    .unwrap_or_else(|| panic!("no failback\n{}", c.logs()));
    let active_at = obs
        .first_active_after(A, restarted)
        .unwrap_or_else(Instant::now);
    // Counted from before the restart, so that start-up cannot hide an early failback.
    assert!(
        active_at - restarted >= FAILBACK_AFTER,
        "failed back {:?} after the restart, before --failback-after {FAILBACK_AFTER:?}",
        active_at - restarted
    );
    let back = active_at.saturating_duration_since(up);
    eprintln!(
        "  failback: pod-a active again {:.0} ms after it was up again",
        back.as_secs_f64() * 1e3
    );
    // It stays there (no ping-pong), and everyone sees it: pod-b never active again, and
    // pod-a in the same tenure after three leases.
    let tenure = wait_active(&c.sidecars[A], LEASE).expect("pod-a answers active");
    let held = steady(&c.sidecars[A], &tenure, &[&c.sidecars[B]], LEASE * 3);
    let a = role_json(c.sidecars[A].port).unwrap();
    assert_eq!(a["priority"], 10);
    let b = role_json(c.sidecars[B].port).unwrap();
    // Once now; once more at the start if pod-b happened to acquire first.
    assert!(b["failbacks_lost"].as_u64() >= Some(1), "{b}");
    // What everyone sees of the holder, unless a store stall ended pod-a's tenure (then
    // the lease moved by the rules and these describe a later state).
    if held == Steady::Held {
        assert_eq!(holder_seen_by_observer(&c).as_deref(), Some("pod-a"));
        assert_eq!(a["failbacks_gained"], 1, "{a}");
        assert_eq!(b["holder_priority"], 10);
    }
    let obs = obs.finish();
    assert!(
        obs.runs(OBSERVER).is_empty(),
        "the observer (--never-acquire) answered active"
    );
    let watch = role_json(c.sidecars[OBSERVER].port).unwrap();
    assert_eq!(watch["observer"], true);
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(back),
    }
}
