//! End to end: real `drlease run` processes against moto on loopback.
//! Interval 200 ms, failure threshold 3: lease 600 ms, renew deadline 400 ms.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::sidecar::{
    decided_at, http, http_with_head, settle, valid_for_ms, wait_active, Sidecar, BIN, STARTUP,
};
use common::steady::steady;
use common::wait_until;

const INTERVAL: Duration = Duration::from_millis(200);
const LEASE: Duration = Duration::from_millis(600);

struct Lease {
    args: Vec<String>,
}

async fn dynamo_lease() -> Option<Lease> {
    let endpoint = common::endpoint()?;
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    Some(Lease {
        args: args(&endpoint, &table),
    })
}

fn args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "e2e", "200ms", "3")
}

/// Polls every sidecar's /active every few ms on its own thread and counts the rounds in
/// which two answered 200 with write windows that share an instant. The requests of a
/// round go one after the other: two 200s alone could be a holder that answered, ended its
/// window, released, and a successor that acquired before it was asked (a stalled thread on
/// a loaded machine is enough). Each answer carries its decision instant (the host's
/// CLOCK_BOOTTIME) and the window it granted, so the windows tell.
struct DualActiveWatch {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u32>,
}

/// The write window an active answer granted, [decided, decided + valid) in ns.
fn window(port: u16) -> Option<(u64, u64)> {
    let (status, head, _) = http_with_head(port, "GET", "/active")?;
    if status != 200 {
        return None;
    }
    let at = decided_at(&head).expect("an active answer carries its decision instant");
    let valid = valid_for_ms(&head).expect("an active answer carries its window");
    Some((at, at + valid * 1_000_000))
}

impl DualActiveWatch {
    fn start(ports: Vec<u16>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut overlaps = 0;
            while !flag.load(Ordering::Relaxed) {
                let windows: Vec<(u64, u64)> = ports.iter().filter_map(|p| window(*p)).collect();
                let overlap = windows
                    .iter()
                    .enumerate()
                    .any(|(i, a)| windows[i + 1..].iter().any(|b| a.0.max(b.0) < a.1.min(b.1)));
                if overlap {
                    eprintln!("two write windows at once: {windows:?}");
                    overlaps += 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            overlaps
        });
        DualActiveWatch { stop, handle }
    }

    fn finish(self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

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

fn run_expecting_failure(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env_remove("DRLEASE_STORE")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_exit_2_with_one_line_naming_the_field() {
    let dir = std::env::temp_dir().join(common::unique("drlease-cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_yaml = dir.join("bad.yaml");
    std::fs::write(&bad_yaml, "dynamoDB:\n  leaseName: l\n   tableName: t\n").unwrap();
    let bad_yaml = bad_yaml.to_str().unwrap().to_string();
    let octal = dir.join("octal.yaml");
    std::fs::write(&octal, "drlease:\n  store: memory\n  maxWatchers: 010\n").unwrap();
    let octal = octal.to_str().unwrap().to_string();
    let big = dir.join("big.yaml");
    std::fs::write(&big, "#".repeat(2 * 1024 * 1024)).unwrap();
    let big = big.to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run"], "drlease: --store: no store configured"),
        (
            vec!["run", "--store", "memory", "--interval", "0s"],
            "drlease: --interval:",
        ),
        (
            vec!["run", "--store", "memory", "--failure-threshold", "1"],
            "drlease: --failure-threshold:",
        ),
        (
            vec!["run", "--store", "memory", "--renew-deadline", "45s"],
            "drlease: --renew-deadline:",
        ),
        (
            vec!["run", "--store", "memory", "--listen", "nowhere"],
            "drlease: --listen:",
        ),
        (
            vec!["run", "--store", "mongodb"],
            "drlease: --store: unknown store",
        ),
        (
            vec![
                "run",
                "--store",
                "dynamodb",
                "--table",
                "t",
                "--lease-name",
                "",
            ],
            "drlease: --lease-name:",
        ),
        (
            vec!["run", "--config", "/no/such/file.yaml"],
            "drlease: --config: cannot read /no/such/file.yaml",
        ),
        (vec!["run", "--config", &bad_yaml], "line 3"),
        (vec!["run", "--config", &big], "is over 1024 KiB"),
        (
            vec!["run", "--config", &octal],
            "drlease.maxWatchers: '010' has a leading zero, which YAML 1.1 reads as octal",
        ),
        (
            vec!["run", "--store", "memory", "--priority", "top"],
            "drlease: --priority:",
        ),
        (
            vec!["run", "--store", "memory", "--failback-after", "later"],
            "drlease: --failback-after:",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--never-acquire",
                "--failback-after",
                "1m",
            ],
            "drlease: --never-acquire: an observer",
        ),
        (
            vec!["run", "--store", "memory", "--identity", "*"],
            "drlease: --identity: '*' is reserved",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--identity",
                "evil\nINFO forged",
            ],
            "drlease: --identity: identity 'evil\\nINFO forged' contains the control character",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://[::1/x",
            ],
            "drlease: --app-health-url: 'http://[::1/x' opens an IPv6 address",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://a b/",
            ],
            "drlease: --app-health-url: 'http://a b/' contains a space",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://a/x\r\nX: 1",
            ],
            "drlease: --app-health-url: 'http://a/x\\r\\nX: 1' contains the character \\r",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://user:pw@a/",
            ],
            "carries credentials (user:password@): they are not supported",
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run_expecting_failure(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr:?}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {stderr:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (code, stderr) = run_expecting_failure(&["run", "--store", "memory", "--listen", &listen]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--listen: cannot listen on"), "{stderr}");
}

/// Review bug: SIGTERM during a store outage slept a full interval past the release
/// deadline once the lease had lapsed, and the heartbeat's deletion and the HTTP server
/// waited on fixed timeouts of their own after it (6.1 s to exit at interval 2 s, where the
/// deadline is 4 s).
#[test]
fn sigterm_during_a_store_outage_exits_within_the_release_deadline() {
    use common::proxy::{Fault, FaultProxy};
    use drlease::lease::operator;
    use drlease::store::dynamodb::DynamoStore;
    use drlease::store::LeaseStore;
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    // The proxy runs its own runtime: set the table up on another, outside any runtime.
    // Seeded as create-table does, so the sidecar is active at once.
    let table = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = common::connection(&endpoint).await;
        let table = common::new_table(&conn).await;
        let store = DynamoStore::new(conn, table.clone(), "outage");
        store
            .write(&operator::seed("seed".into(), 6000))
            .await
            .unwrap();
        table
    });
    let upstream = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("moto endpoint is http://IP:PORT");
    let proxy = FaultProxy::start(upstream);
    // Interval 3 s, threshold 2: renew deadline 3 s, call timeout 1.5 s, release deadline 3 s.
    let args = common::lease_args(&proxy.url(), &table, "outage", "3s", "2");
    let mut a = Sidecar::start("pod-a", &args);
    wait_until(STARTUP, || a.is_active()).expect("a becomes active");
    proxy.set(Fault::Blackhole);
    wait_until(Duration::from_secs(10), || !a.is_active()).expect("the lease lapses");
    a.signal(libc::SIGTERM);
    let sent = Instant::now();
    let code = a.wait_exit(Duration::from_secs(15));
    let took = sent.elapsed();
    eprintln!("exit after SIGTERM during an outage: {took:?} (release deadline 3s)");
    assert_eq!(code, Some(0), "clean exit:\n{}", a.logs());
    assert!(
        took < Duration::from_secs(3) + Duration::from_secs(1),
        "took {took:?}:\n{}",
        a.logs()
    );
    assert!(a.logs().contains("gave up releasing"), "{}", a.logs());
}
