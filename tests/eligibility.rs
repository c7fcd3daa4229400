//! Leadership only for a healthy controller: the health gate and the warm-up, with real
//! sidecars on moto.

mod common;

use std::time::{Duration, Instant};

use common::controller::FakeController;
use common::operator::fixture;
use common::sidecar::{http, role_json, wait_active, Sidecar, STARTUP};
use common::steady::steady;
use common::wait_until;

/// Lease 600 ms (interval 200 ms, threshold 3), as in the fixture.
const LEASE: Duration = Duration::from_millis(600);

/// The reasons a sidecar gave for its role changes, oldest first.
fn reasons(s: &Sidecar) -> Vec<String> {
    s.events()
        .iter()
        .filter_map(|e| e["reason"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unhealthy_controller_does_not_pin_the_lease() {
    let Some(f) = fixture().await else { return };
    let app = FakeController::start(200);
    let a = f.sidecar(
        "pod-a",
        &["--app-health-url", &app.url(), "--app-health-failures", "2"],
    );
    wait_until(STARTUP, || a.is_active()).expect("a (healthy) becomes active");
    let b = f.sidecar("pod-b", &[]);
    wait_until(STARTUP, || b.role().as_deref() == Some("passive")).unwrap();

    app.set(503);
    let broke = Instant::now();
    let tenure =
        wait_active(&b, LEASE * 10).unwrap_or_else(|| panic!("b did not take over:\n{}", a.logs()));
    eprintln!(
        "controller failed; other pod active after {:?}",
        broke.elapsed()
    );
    // b acquires only once a's tenure is over (released, or run out), and a, ineligible,
    // does not start another: a passive answer now cannot be a stale one.
    assert!(!a.is_active());
    let v = role_json(a.port).unwrap();
    assert_eq!(v["app_health"], "unhealthy");
    assert_eq!(v["eligible"], false);
    let metrics = http(a.port, "GET", "/metrics").unwrap().1;
    assert!(
        metrics.contains(&format!("drlease_app_healthy{{lease=\"{}\"}} 0", f.lease)),
        "{metrics}"
    );
    // It stepped down (a release, not an expiry): told by the reasons the two pods give,
    // not by a time bound that a loaded machine could break.
    let a_said = reasons(&a);
    assert!(
        a_said.iter().any(|r| r.starts_with("stepping down: ")),
        "{a_said:?}"
    );
    assert_eq!(
        b.acquired_because().as_deref(),
        Some("acquired the released lease"),
        "{:?}",
        reasons(&b)
    );

    // Healthy again: eligible, but the lease stays where it is. A candidate with history
    // takes a lease only after it ran out, so two leases of watching, every 20 ms, would
    // see a wrong takeover from b while b renews.
    app.set(200);
    wait_until(Duration::from_secs(3), || {
        role_json(a.port).is_some_and(|v| v["eligible"] == true)
    })
    .expect("a eligible again");
    steady(&b, &tenure, &[&a], LEASE * 2);
}

/// Waiting from outside for the passive answer during the warm-up would race its end: a
/// start-up of 2 s on a loaded machine and it is over before the first answer. The events
/// carry the sidecar's decision instants on the host's CLOCK_BOOTTIME, and the warm-up
/// cannot end before 2 s after the spawn: every decision before that must be passive and
/// ineligible, and every active one after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_in_warm_up_does_not_acquire() {
    use drlease::sys::clock::{BootClock, Clock};
    let Some(f) = fixture().await else { return };
    const WARMUP: Duration = Duration::from_secs(2);
    let spawned_ns = BootClock.now().as_duration().as_nanos() as u64;
    let a = f.sidecar("pod-a", &["--warmup", "2s"]);
    let took = wait_until(STARTUP + WARMUP, || a.is_active()).expect("active after warm-up");
    eprintln!("active {took:?} after the spawn (warm-up 2s, start-up included)");
    let warm_from = spawned_ns + WARMUP.as_nanos() as u64;
    let events = a.events();
    assert!(!events.is_empty());
    for e in &events {
        let at = e["decided_at_ns"].as_u64().expect("a decision instant");
        if e["role"] == "active" {
            assert!(at >= warm_from, "acquired during warm-up: {e}");
        }
        if at < warm_from {
            assert!(
                e["role"] == "passive" && e["eligible"] == false,
                "during warm-up: {e}"
            );
        }
    }
    let first = &events[0];
    eprintln!(
        "first decision {} ms after the spawn: {first}",
        first["decided_at_ns"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(spawned_ns)
            / 1_000_000
    );
}
