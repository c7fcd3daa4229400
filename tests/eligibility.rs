//! Leadership only for a healthy controller: the health gate and the warm-up, with real
//! sidecars on moto.

mod common;

use std::time::{Duration, Instant};

use common::controller::FakeController;
use common::operator::fixture;
use common::sidecar::{http, role_json};
use common::wait_until;

#[tokio::test(flavor = "multi_thread")]
async fn an_unhealthy_controller_does_not_pin_the_lease() {
    let Some(f) = fixture().await else { return };
    let app = FakeController::start(200);
    let a = f.sidecar(
        "pod-a",
        &["--app-health-url", &app.url(), "--app-health-failures", "2"],
    );
    wait_until(Duration::from_secs(5), || a.is_active()).expect("a (healthy) becomes active");
    let b = f.sidecar("pod-b", &[]);
    wait_until(Duration::from_secs(5), || {
        b.role().as_deref() == Some("passive")
    })
    .unwrap();

    app.set(503);
    let broke = Instant::now();
    let took = wait_until(Duration::from_secs(3), || b.is_active())
        .unwrap_or_else(|| panic!("b did not take over:\n{}", a.logs()));
    eprintln!("controller failed; other pod active after {took:?}");
    assert!(!a.is_active());
    let v = role_json(a.port).unwrap();
    assert_eq!(v["app_health"], "unhealthy");
    assert_eq!(v["eligible"], false);
    let metrics = http(a.port, "GET", "/metrics").unwrap().1;
    assert!(
        metrics.contains(&format!("drlease_app_healthy{{lease=\"{}\"}} 0", f.lease)),
        "{metrics}"
    );
    // It stepped down (a release, not an expiry): well under a lease duration.
    assert!(broke.elapsed() < Duration::from_secs(2));

    // Healthy again: eligible, but the lease stays where it is.
    app.set(200);
    wait_until(Duration::from_secs(3), || {
        role_json(a.port).is_some_and(|v| v["eligible"] == true)
    })
    .expect("a eligible again");
    std::thread::sleep(Duration::from_millis(600));
    assert!(b.is_active() && !a.is_active());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_in_warm_up_does_not_acquire() {
    let Some(f) = fixture().await else { return };
    let started = Instant::now();
    let a = f.sidecar("pod-a", &["--warmup", "2s"]);
    wait_until(Duration::from_secs(3), || {
        role_json(a.port).is_some_and(|v| v["eligible"] == false && v["role"] == "passive")
    })
    .expect("a decides passive and ineligible during warm-up");
    let took = wait_until(Duration::from_secs(6), || a.is_active()).expect("active after warm-up");
    let since_start = started.elapsed();
    eprintln!("active {since_start:?} after start (warm-up 2s), {took:?} after the first check");
    assert!(
        since_start >= Duration::from_secs(2),
        "acquired during warm-up"
    );
}
