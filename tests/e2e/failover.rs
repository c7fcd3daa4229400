//! One active, failover on kill -9 and on SIGTERM, a missing table, the memory quickstart, an observer.

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn exactly_one_active_then_failover_on_kill_and_the_restarted_one_is_passive() {
    let Some(lease) = dynamo_lease().await else {
        return;
    };
    let mut a = Sidecar::start("pod-a", &lease.args);
    let mut b = Sidecar::start("pod-b", &lease.args);
    let watch = DualActiveWatch::start(vec![a.port, b.port]);

    // Which one is active comes from the same answers that showed one active and the
    // other decided: asking again afterwards could meet a lease that moved in between.
    let (active, passive) = match settle(&[&a, &b], STARTUP) {
        0 => (&a, &b),
        _ => (&b, &a),
    };
    let survivor_id = passive.identity.clone();
    // A few lease durations of steady state: the passive one never takes over, and the
    // holder keeps its tenure. (A renewal late past its deadline on a loaded machine makes
    // the holder answer passive for a moment, in the same tenure; a store stall longer
    // than that ends the tenure by the rules: see common::steady.)
    let tenure = wait_active(active, LEASE).expect("the settled holder answers active");
    steady(active, &tenure, &[passive], LEASE * 3);

    let (victim, survivor) = if a.identity == survivor_id {
        (&mut b, &a)
    } else {
        (&mut a, &b)
    };
    victim.kill9();
    let killed = Instant::now();
    let took = wait_until(LEASE + INTERVAL + Duration::from_secs(1), || {
        survivor.is_active()
    })
    .unwrap_or_else(|| panic!("no failover in time:\n{}", survivor.logs()));
    eprintln!("failover after kill -9: {took:?} (lease {LEASE:?})");
    assert!(
        killed.elapsed() >= LEASE / 2,
        "took over implausibly fast: {took:?}"
    );

    // Same identity, new process: the old tenure is over (the survivor took over after it
    // ran out), so the restarted one must find the survivor's and stay passive.
    victim.restart();
    wait_until(STARTUP, || victim.role().as_deref() == Some("passive")).unwrap_or_else(|| {
        panic!(
            "restarted one did not come back passive:\n{}",
            victim.logs()
        )
    });
    // The restarted one does not take the lease back from a survivor that renews it.
    let kept = wait_active(survivor, LEASE).expect("the survivor answers active");
    steady(survivor, &kept, &[&*victim], LEASE * 2);
    assert_eq!(watch.finish(), 0, "two sidecars answered active at once");
}

/// SIGTERM releases the lease, and the other pod acquires the released lease at its next
/// read instead of waiting for it to run out. Told apart by the reason the new holder
/// gives, not by a time bound that a loaded machine could break either way.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_hands_over_through_a_release() {
    let Some(lease) = dynamo_lease().await else {
        return;
    };
    let mut a = Sidecar::start("pod-a", &lease.args);
    wait_until(STARTUP, || a.is_active()).expect("a becomes active");
    let b = Sidecar::start("pod-b", &lease.args);
    wait_until(STARTUP, || b.role().as_deref() == Some("passive")).expect("b decides passive");
    let watch = DualActiveWatch::start(vec![a.port, b.port]);

    a.signal(libc::SIGTERM);
    let took = wait_until(LEASE * 10, || b.is_active())
        .unwrap_or_else(|| panic!("no handover:\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    eprintln!("handover after SIGTERM: {took:?} (interval {INTERVAL:?})");
    assert_eq!(a.wait_exit(Duration::from_secs(5)), Some(0), "clean exit");
    assert!(a.logs().contains("released the lease"));
    assert_eq!(
        b.acquired_because().as_deref(),
        Some("acquired the released lease"),
        "{:?}",
        b.events()
    );
    assert_eq!(watch.finish(), 0, "two sidecars answered active at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_keeps_the_loop_running_passive_until_it_appears() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let table = common::unique("drlease-late");
    let a = Sidecar::start("pod-a", &args(&endpoint, &table));
    wait_until(STARTUP, || {
        common::sidecar::role_json(a.port)
            .and_then(|v| {
                v["last_error"]
                    .as_str()
                    .map(|e| e.contains("does not exist"))
            })
            .unwrap_or(false)
    })
    .unwrap_or_else(|| panic!("no clear error in /role:\n{}", a.logs()));
    assert_ne!(a.role().as_deref(), Some("active"));
    assert_eq!(http(a.port, "GET", "/healthz").map(|r| r.0), Some(200));
    assert_eq!(http(a.port, "GET", "/readyz").map(|r| r.0), Some(503));
    assert!(a.logs().contains(&table), "the log names the table");

    let conn = common::connection(&endpoint).await;
    drlease::store::dynamodb::table::create_table(&conn, &table)
        .await
        .unwrap();
    wait_until(Duration::from_secs(5), || a.is_active())
        .unwrap_or_else(|| panic!("did not recover once the table existed:\n{}", a.logs()));
    assert_eq!(http(a.port, "GET", "/readyz").map(|r| r.0), Some(200));
}

/// The memory store has nobody to wait for: the first decision is active, not a passive
/// one and an acquisition a lease later. (Timed from the spawn, this would time the
/// process start-up, which a loaded machine stretches to seconds.)
#[tokio::test(flavor = "multi_thread")]
async fn the_memory_quickstart_is_active_at_its_first_decision() {
    let mut a = Sidecar::start("local", &["--store".to_string(), "memory".to_string()]);
    let took = wait_until(STARTUP, || a.view().is_some_and(|v| v.active()))
        .unwrap_or_else(|| panic!("never active:\n{}", a.logs()));
    eprintln!("memory store active {took:?} after the spawn (start-up included)");
    let first = a.events().first().cloned();
    assert_eq!(
        first
            .as_ref()
            .map(|e| (e["role"].clone(), e["reason"].clone())),
        Some(("active".into(), "acquired the lease".into())),
        "first event: {first:?}"
    );
    assert_eq!(http(a.port, "HEAD", "/active").map(|r| r.0), Some(200));
    assert_eq!(http(a.port, "POST", "/active").map(|r| r.0), Some(405));
    assert_eq!(http(a.port, "GET", "/nope").map(|r| r.0), Some(404));
    a.signal(libc::SIGINT);
    assert_eq!(a.wait_exit(Duration::from_secs(5)), Some(0));
}

/// An observer on the memory store, where any other pod would be active at once: it
/// decides (passive), says it is an observer, and never becomes active.
#[tokio::test(flavor = "multi_thread")]
async fn an_observer_serves_the_role_and_never_holds() {
    let args: Vec<String> = ["--store", "memory", "--never-acquire", "--priority", "7"]
        .map(String::from)
        .to_vec();
    let mut o = Sidecar::start("watcher", &args);
    wait_until(STARTUP, || o.role().as_deref() == Some("passive"))
        .unwrap_or_else(|| panic!("no decision:\n{}", o.logs()));
    let v = common::sidecar::role_json(o.port).unwrap();
    assert_eq!(v["observer"], true);
    assert_eq!(v["priority"], 7);
    std::thread::sleep(LEASE);
    assert_eq!(o.role().as_deref(), Some("passive"));
    assert_eq!(http(o.port, "GET", "/readyz").map(|r| r.0), Some(200));
    assert_eq!(http(o.port, "GET", "/active").map(|r| r.0), Some(503));
    o.signal(libc::SIGTERM);
    assert_eq!(o.wait_exit(Duration::from_secs(5)), Some(0));
}
