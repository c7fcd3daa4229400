//! Chaos with real processes: `drlease run` sidecars against moto, each through its own
//! fault-injecting proxy, watched by pollers that record every moment two of them answered
//! active. Interval 200 ms, failure threshold 3 (lease 600 ms, renew deadline 400 ms).
//!
//! Short profile (CI): one run per scenario. Long profile: DRLEASE_CHAOS_RUNS=10.
//! The table goes to target/reliability.md, and to docs/reliability.md with
//! DRLEASE_CHAOS_WRITE_DOCS=1:
//!   DRLEASE_CHAOS_RUNS=10 DRLEASE_CHAOS_WRITE_DOCS=1 scripts/test.sh --test chaos -- --nocapture

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::proxy::{Fault, FaultProxy};
use common::sidecar::{decided_at, free_port, http, http_with_head, role_json, Sidecar, BIN};
use common::wait_until;

const INTERVAL: Duration = Duration::from_millis(200);
const LEASE: Duration = Duration::from_millis(600);
const SLACK: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------
// Observation

#[derive(Clone, Copy)]
struct Sample {
    recv: Instant,
    /// When the sidecar computed the answer, on the host's shared CLOCK_BOOTTIME.
    at_ns: u64,
    active: bool,
}

/// Polls every sidecar's /active on its own thread (a stopped process must not slow the
/// others' sampling) every ~3 ms. Each answer carries the instant the sidecar decided it,
/// so answers from all sidecars sit on one exact timeline.
struct Observer {
    stop: Arc<AtomicBool>,
    samples: Vec<Arc<Mutex<Vec<Sample>>>>,
    threads: Vec<JoinHandle<()>>,
}

/// Where two sidecars were both active.
struct Overlap {
    events: u32,
    total: Duration,
}

impl Observer {
    fn start(ports: &[u16]) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let mut all = Vec::new();
        let mut threads = Vec::new();
        for &port in ports {
            let samples = Arc::new(Mutex::new(Vec::new()));
            let (s, st) = (samples.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    if let Some((status, head, _)) = http_with_head(port, "GET", "/active") {
                        if let Some(at_ns) = decided_at(&head) {
                            s.lock().unwrap().push(Sample {
                                recv: Instant::now(),
                                at_ns,
                                active: status == 200,
                            });
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }));
            all.push(samples);
        }
        Observer {
            stop,
            samples: all,
            threads,
        }
    }

    /// Runs of consecutive active answers of sidecar `i`, as [first, last] decision
    /// instants (ns). A single active answer is a run of length zero.
    fn runs(&self, i: usize) -> Vec<(u64, u64)> {
        let mut samples = self.samples[i].lock().unwrap().clone();
        samples.sort_by_key(|s| s.at_ns);
        let mut runs = Vec::new();
        let mut open: Option<(u64, u64)> = None;
        for s in &samples {
            match (s.active, &mut open) {
                (true, Some((_, end))) => *end = s.at_ns,
                (true, None) => open = Some((s.at_ns, s.at_ns)),
                (false, Some(run)) => {
                    runs.push(*run);
                    open = None;
                }
                (false, None) => {}
            }
        }
        runs.extend(open);
        runs
    }

    /// Every pair of runs from two sidecars that share an instant.
    fn dual_active(&self) -> Overlap {
        let mut o = Overlap {
            events: 0,
            total: Duration::ZERO,
        };
        for i in 0..self.samples.len() {
            for j in i + 1..self.samples.len() {
                for (a0, a1) in self.runs(i) {
                    for (b0, b1) in self.runs(j) {
                        let (start, end) = (a0.max(b0), a1.min(b1));
                        if start <= end {
                            o.events += 1;
                            o.total += Duration::from_nanos(end - start);
                            eprintln!(
                                "  overlap: sidecar {i} active {a0}..{a1} ns, sidecar {j} active {b0}..{b1} ns"
                            );
                        }
                    }
                }
            }
        }
        o
    }

    /// When sidecar `i` was first seen active in an answer received after `t`.
    fn first_active_after(&self, i: usize, t: Instant) -> Option<Instant> {
        let samples = self.samples[i].lock().unwrap();
        samples
            .iter()
            .find(|s| s.active && s.recv >= t)
            .map(|s| s.recv)
    }

    fn finish(mut self) -> Self {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
        self
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sidecar_args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "chaos", "200ms", "3")
}

/// The timing of the reported freeze/unfreeze bug: interval 1 s, failure threshold 3. At
/// 200 ms the operator's two commands take longer than the holder's renew period, so the
/// holder always notices the freeze before the unfreeze lands and the race never opens.
const SLOW_INTERVAL: Duration = Duration::from_secs(1);
const SLOW_LEASE: Duration = Duration::from_secs(3);

fn slow_args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "chaos", "1s", "3")
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

fn new_table(endpoint: &str) -> String {
    runtime().block_on(async {
        let conn = common::connection(endpoint).await;
        common::new_table(&conn).await
    })
}

/// Two or more sidecars, each behind its own proxy to one store.
struct Cluster {
    sidecars: Vec<Sidecar>,
    proxies: Vec<FaultProxy>,
    /// Where the operator's commands go: straight to the store, past the proxies.
    endpoint: String,
    table: String,
}

impl Cluster {
    fn new(endpoint: &str, identities: &[&str]) -> Cluster {
        Self::on(endpoint, &new_table(endpoint), identities)
    }

    fn on(endpoint: &str, table: &str, identities: &[&str]) -> Cluster {
        Self::with_args(endpoint, table, identities, sidecar_args)
    }

    fn with_args(
        endpoint: &str,
        table: &str,
        identities: &[&str],
        args: fn(&str, &str) -> Vec<String>,
    ) -> Cluster {
        let mut proxies = Vec::new();
        let mut sidecars = Vec::new();
        for id in identities {
            let proxy = FaultProxy::start(addr_of(endpoint));
            sidecars.push(Sidecar::start(id, &args(&proxy.url(), table)));
            proxies.push(proxy);
        }
        Cluster {
            sidecars,
            proxies,
            endpoint: endpoint.to_string(),
            table: table.to_string(),
        }
    }

    /// Runs `drlease <sub> <extra>` as an operator would; returns its exit code and stderr.
    fn operator(&self, sub: &str, extra: &[&str]) -> (Option<i32>, String) {
        self.operator_with(sidecar_args, sub, extra)
    }

    fn operator_with(
        &self,
        settings: fn(&str, &str) -> Vec<String>,
        sub: &str,
        extra: &[&str],
    ) -> (Option<i32>, String) {
        let out = Command::new(BIN)
            .arg(sub)
            .args(settings(&self.endpoint, &self.table))
            .args(extra)
            .env_remove("DRLEASE_STORE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    fn any_active(&self) -> bool {
        self.sidecars.iter().any(|s| s.is_active())
    }

    fn ports(&self) -> Vec<u16> {
        self.sidecars.iter().map(|s| s.port).collect()
    }

    /// Waits for exactly one active and everyone else decided passive; returns the active.
    fn settle(&self) -> usize {
        let all: Vec<&Sidecar> = self.sidecars.iter().collect();
        common::sidecar::settle(&all, Duration::from_secs(10))
    }

    fn epoch_of(&self, i: usize) -> u64 {
        role_json(self.sidecars[i].port)
            .and_then(|v| v["epoch"].as_u64())
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// What one run of a scenario measured.
struct RunResult {
    dual_active: Overlap,
    /// From the fault to a healthy sidecar answering active, when the scenario fails over.
    failover: Option<Duration>,
}

struct Scenario {
    name: &'static str,
    what: &'static str,
    /// Failover bound, when the scenario expects one.
    bound: Option<Duration>,
    run: fn(&str) -> RunResult,
}

fn failover_to(obs: &Observer, survivor: usize, from: Instant, limit: Duration) -> Duration {
    let deadline = from + limit + Duration::from_millis(500);
    while Instant::now() < deadline {
        if let Some(t) = obs.first_active_after(survivor, from) {
            return t - from;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no failover within {limit:?}");
}

fn other(i: usize) -> usize {
    1 - i
}

fn kill9(endpoint: &str) -> RunResult {
    let mut c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.sidecars[active].kill9();
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

fn sigstop(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let victim = &c.sidecars[active];
    let t = Instant::now();
    victim.signal(libc::SIGSTOP);
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    std::thread::sleep((LEASE * 2).saturating_sub(t.elapsed()));
    // A request queued while it is frozen is answered the instant it wakes: passive.
    let port = victim.port;
    let queued = std::thread::spawn(move || http(port, "GET", "/role?format=text"));
    std::thread::sleep(Duration::from_millis(50));
    victim.signal(libc::SIGCONT);
    let first = queued.join().unwrap();
    assert_eq!(
        first.map(|(_, body)| body),
        Some("passive\n".into()),
        "the woken process must answer passive at once"
    );
    wait_until(Duration::from_secs(3), || {
        role_json(port).and_then(|v| v["holder"].as_str().map(String::from))
            == Some(c.sidecars[other(active)].identity.clone())
    })
    .expect("the woken process learns the new holder");
    std::thread::sleep(LEASE);
    assert!(!c.sidecars[active].is_active());
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

fn sigterm(endpoint: &str) -> RunResult {
    let mut c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.sidecars[active].signal(libc::SIGTERM);
    let took = failover_to(&obs, other(active), t, INTERVAL + SLACK);
    assert_eq!(
        c.sidecars[active].wait_exit(Duration::from_secs(5)),
        Some(0)
    );
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

/// Breaks the active's link to the store with `fault`; the other sidecar must take over,
/// and the old active must not come back when the link heals.
fn link_fault(endpoint: &str, fault: Fault, limit: Duration) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.proxies[active].set(fault);
    let took = failover_to(&obs, other(active), t, limit);
    std::thread::sleep(LEASE);
    c.proxies[active].set(Fault::Pass);
    std::thread::sleep(LEASE * 2);
    assert!(
        c.sidecars[other(active)].is_active(),
        "the new holder keeps the lease"
    );
    assert!(
        !c.sidecars[active].is_active(),
        "the old holder stays passive once healed"
    );
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

fn blackhole(endpoint: &str) -> RunResult {
    link_fault(endpoint, Fault::Blackhole, LEASE + INTERVAL + SLACK)
}

fn latency(endpoint: &str) -> RunResult {
    // Above the interval (and the 200 ms call timeout): writes still land, but late.
    let added = Duration::from_millis(250);
    link_fault(
        endpoint,
        Fault::Latency(added),
        LEASE + INTERVAL + added + SLACK,
    )
}

fn reset(endpoint: &str) -> RunResult {
    link_fault(endpoint, Fault::Reset, LEASE + INTERVAL + SLACK)
}

fn http500(endpoint: &str) -> RunResult {
    let fault = Fault::Error {
        status: 500,
        code: "InternalServerError",
    };
    link_fault(endpoint, fault, LEASE + INTERVAL + SLACK)
}

/// Short throttling bursts on every link: the holder rides them out (same epoch, nobody
/// else ever active); then a long burst on the active's link forces a failover.
fn throttling(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let epoch = c.epoch_of(active);
    let throttle = Fault::Error {
        status: 400,
        code: "ThrottlingException",
    };
    for _ in 0..5 {
        for p in &c.proxies {
            p.set(throttle.clone());
        }
        std::thread::sleep(Duration::from_millis(100));
        for p in &c.proxies {
            p.set(Fault::Pass);
        }
        std::thread::sleep(INTERVAL * 2);
    }
    wait_until(Duration::from_secs(2), || c.sidecars[active].is_active())
        .expect("the holder is active after the bursts");
    assert_eq!(
        c.epoch_of(active),
        epoch,
        "short bursts must not change the owner"
    );
    assert!(!c.sidecars[other(active)].is_active());
    let t = Instant::now();
    c.proxies[active].set(throttle);
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

fn same_identity(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["twin", "twin"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let passive = other(active);
    wait_until(Duration::from_secs(3), || {
        role_json(c.sidecars[passive].port).is_some_and(|v| v["conflict"] == true)
    })
    .expect("the passive twin reports the conflict");
    std::thread::sleep(LEASE * 3);
    assert!(c.sidecars[active].is_active() && !c.sidecars[passive].is_active());
    let metrics = http(c.sidecars[passive].port, "GET", "/metrics").unwrap().1;
    assert!(metrics.contains("drlease_identity_conflict{lease=\"chaos\"} 1"));
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: None,
    }
}

/// The store restarted empty: a moto of our own, killed and started again on the same
/// port, without the table or the item. Nobody who saw an epoch hands out a lower one.
fn store_restarted_empty(_shared_endpoint: &str) -> RunResult {
    let moto = std::env::var("DRLEASE_TEST_MOTO_SERVER")
        .expect("DRLEASE_TEST_MOTO_SERVER is set by scripts/test.sh");
    let python = std::env::var("DRLEASE_TEST_PYTHON")
        .expect("DRLEASE_TEST_PYTHON is set by scripts/test.sh");
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let start_moto = || -> Child {
        let child = Command::new(&python)
            .args([moto.as_str(), "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        wait_until(Duration::from_secs(20), || {
            http(port, "GET", "/moto-api/").is_some()
        })
        .expect("moto answers");
        child
    };
    let create_table = |table: &str| {
        runtime().block_on(async {
            let conn = common::connection(&endpoint).await;
            drlease::store::dynamodb::table::create_table(&conn, table)
                .await
                .unwrap();
        })
    };
    let mut store = start_moto();
    let table = common::unique("restart");
    create_table(&table);
    let c = Cluster::on(&endpoint, &table, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    // Hand the lease around a little so the epoch is above 1.
    c.proxies[active].set(Fault::Blackhole);
    wait_until(Duration::from_secs(5), || {
        c.sidecars[other(active)].is_active()
    })
    .unwrap();
    c.proxies[active].set(Fault::Pass);
    let before = c.epoch_of(other(active));
    assert!(before >= 2, "epoch before the restart: {before}");
    // The rule is about epochs a process has *seen*: let both see the current one. (A
    // process that never saw it cannot carry it across a store that forgot it.)
    wait_until(Duration::from_secs(3), || c.epoch_of(active) == before)
        .expect("the old holder observes the new epoch");

    store.kill().unwrap();
    store.wait().unwrap();
    let t = Instant::now();
    let mut store = start_moto();
    create_table(&table);
    wait_until(Duration::from_secs(10), || {
        c.sidecars.iter().any(|s| s.is_active())
    })
    .expect("someone is active again after the store restart");
    let took = t.elapsed();
    let holder = c.sidecars.iter().position(|s| s.is_active()).unwrap();
    let after = c.epoch_of(holder);
    assert!(
        after > before,
        "epoch went from {before} to {after} across the restart"
    );
    store.kill().unwrap();
    let _ = store.wait();
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

/// A random duration in [0, max), for faults at random phases of the renewal cycle.
fn random_below(max: Duration) -> Duration {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    max.mul_f64(u64::from_le_bytes(b) as f64 / u64::MAX as f64)
}

/// The reported bug: `drlease freeze` then `drlease unfreeze` at once left both pods
/// answering active for about half a second (interval 1 s, threshold 3). Repeated at random
/// phases of the renewal cycle; "failover" is the longest time from an unfreeze to a pod
/// active again.
fn freeze_unfreeze(endpoint: &str) -> RunResult {
    let table = new_table(endpoint);
    let c = Cluster::with_args(endpoint, &table, &["pod-a", "pod-b"], slow_args);
    let obs = Observer::start(&c.ports());
    c.settle();
    let mut slowest = Duration::ZERO;
    for _ in 0..4 {
        std::thread::sleep(random_below(SLOW_INTERVAL));
        let (code, err) = c.operator_with(slow_args, "freeze", &[]);
        assert_eq!(code, Some(0), "freeze: {err}");
        let (code, err) = c.operator_with(slow_args, "unfreeze", &[]);
        assert_eq!(code, Some(0), "unfreeze: {err}");
        let took = wait_until(SLOW_LEASE + SLOW_INTERVAL + SLACK * 2, || c.any_active())
            .expect("a pod is active again after the unfreeze");
        slowest = slowest.max(took);
    }
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(slowest),
    }
}

/// A planned handover racing a takeover: the holder is frozen (SIGSTOP) at a random phase,
/// an operator asks it to hand over to the other pod, and it wakes (SIGCONT) at a random
/// moment around the other pod's takeover, to find its own handover request.
fn handover_races_takeover(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let target = c.sidecars[other(active)].identity.clone();
    std::thread::sleep(random_below(INTERVAL));
    let t = Instant::now();
    c.sidecars[active].signal(libc::SIGSTOP);
    std::thread::sleep(random_below(LEASE / 2));
    let (endpoint, table) = (c.endpoint.clone(), c.table.clone());
    let handover = std::thread::spawn(move || {
        let op = Cluster {
            sidecars: Vec::new(),
            proxies: Vec::new(),
            endpoint,
            table,
        };
        op.operator("handover", &["--to", &target, "--timeout", "5s"])
    });
    std::thread::sleep(random_below(LEASE));
    c.sidecars[active].signal(libc::SIGCONT);
    let (code, err) = handover.join().unwrap();
    // Either the handover completes, or the takeover got there first and the request found
    // the lease changed: both are fine, two actives are not.
    assert!(
        code == Some(0) || err.contains("the lease changed"),
        "handover: {err}"
    );
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    std::thread::sleep(LEASE);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kill -9 the active",
        what: "survivor active",
        bound: Some(Duration::from_millis(1800)),
        run: kill9,
    },
    Scenario {
        name: "SIGSTOP the active 1.2 s, SIGCONT",
        what: "survivor active; woken one passive at once",
        bound: Some(Duration::from_millis(1800)),
        run: sigstop,
    },
    Scenario {
        name: "SIGTERM the active",
        what: "other active",
        bound: Some(Duration::from_millis(1200)),
        run: sigterm,
    },
    Scenario {
        name: "black-hole the active's store link",
        what: "other active",
        bound: Some(Duration::from_millis(1800)),
        run: blackhole,
    },
    Scenario {
        name: "250 ms latency on the active's link (> interval)",
        what: "other active",
        bound: Some(Duration::from_millis(2050)),
        run: latency,
    },
    Scenario {
        name: "connection resets on the active's link",
        what: "other active",
        bound: Some(Duration::from_millis(1800)),
        run: reset,
    },
    Scenario {
        name: "HTTP 500 on the active's link",
        what: "other active",
        bound: Some(Duration::from_millis(1800)),
        run: http500,
    },
    Scenario {
        name: "throttling: 5 x 100 ms bursts on all links, then a long one",
        what: "holder keeps the lease through the short bursts; other active after the long one",
        bound: Some(Duration::from_millis(1800)),
        run: throttling,
    },
    Scenario {
        name: "two processes with the same identity",
        what: "one active, the other passive with conflict",
        bound: None,
        run: same_identity,
    },
    Scenario {
        name: "freeze then unfreeze at once, 4 times at random phases (interval 1 s)",
        what: "a pod active again after each unfreeze",
        bound: Some(Duration::from_millis(5000)),
        run: freeze_unfreeze,
    },
    Scenario {
        name: "handover racing a takeover (holder SIGSTOPped, asked to hand over, SIGCONT)",
        what: "the target active",
        bound: Some(Duration::from_millis(1800)),
        run: handover_races_takeover,
    },
    Scenario {
        name: "store restarted empty",
        what: "active again, epoch above the old one",
        bound: Some(Duration::from_secs(10)),
        run: store_restarted_empty,
    },
];

fn fmt_ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[test]
fn chaos_never_two_actives() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let runs: usize = std::env::var("DRLEASE_CHAOS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut table = String::from(
        "| scenario | runs | dual-active total | failover min / median / max | bound | measured until |\n|---|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    let only = std::env::var("DRLEASE_CHAOS_ONLY").unwrap_or_default();
    for sc in SCENARIOS.iter().filter(|s| s.name.contains(only.as_str())) {
        let mut dual = Duration::ZERO;
        let mut events = 0;
        let mut times = Vec::new();
        for run in 0..runs {
            let result = std::panic::catch_unwind(|| (sc.run)(&endpoint));
            match result {
                Ok(r) => {
                    dual += r.dual_active.total;
                    events += r.dual_active.events;
                    if r.dual_active.events > 0 {
                        failures.push(format!(
                            "{} run {run}: two actives {} time(s), {:?} in all",
                            sc.name, r.dual_active.events, r.dual_active.total
                        ));
                    }
                    if let (Some(t), Some(bound)) = (r.failover, sc.bound) {
                        if t > bound {
                            failures.push(format!(
                                "{} run {run}: failover {t:?} over the bound {bound:?}",
                                sc.name
                            ));
                        }
                        times.push(t);
                    }
                }
                Err(_) => failures.push(format!("{} run {run}: panicked (see above)", sc.name)),
            }
        }
        times.sort();
        let spread = if times.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{} / {} / {}",
                fmt_ms(times[0]),
                fmt_ms(times[times.len() / 2]),
                fmt_ms(*times.last().unwrap())
            )
        };
        let bound = sc.bound.map(fmt_ms).unwrap_or_else(|| "-".into());
        let line = format!(
            "| {} | {runs} | {} ({events} overlaps) | {spread} | {bound} | {} |\n",
            sc.name,
            fmt_ms(dual),
            sc.what
        );
        eprint!("{line}");
        table.push_str(&line);
    }
    write_report(&table, runs);
    assert!(
        failures.is_empty(),
        "chaos failures:\n{}",
        failures.join("\n")
    );
}

fn write_report(table: &str, runs: usize) {
    let commit = common::git_commit();
    let report = format!(
        "Generated by `tests/chaos.rs` at commit `{commit}`, {runs} run(s) per scenario.\n\n{table}\n\
         Reproduce: `DRLEASE_CHAOS_RUNS={runs} DRLEASE_CHAOS_WRITE_DOCS=1 scripts/test.sh --test chaos -- --nocapture`"
    );
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-chaos.md");
    let _ = std::fs::write(&target, &report);
    if std::env::var("DRLEASE_CHAOS_WRITE_DOCS").is_ok_and(|v| v == "1") {
        common::write_doc_section("reliability.md", "chaos", &report);
    }
}
