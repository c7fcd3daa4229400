//! drlease benchmarks: failover at the floor, the role endpoint at line rate, footprint
//! and store cost. Run by `scripts/bench.sh`, which builds the release binary, starts moto
//! and writes `docs/benchmarks.md`. Figures are written down, never asserted.
//!
//! Environment (set by scripts/bench.sh): DRLEASE_TEST_DYNAMODB_ENDPOINT,
//! DRLEASE_BENCH_BIN (the release drlease), DRLEASE_BENCH_BASELINE (static_server),
//! DRLEASE_BENCH_FOOTPRINT_SECS (600 by default), DRLEASE_BENCH_OUT (the report path).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/instructions.rs"]
mod instructions;
#[path = "support/measure.rs"]
mod measure;
#[path = "support/phases.rs"]
mod phases;
#[path = "support/push.rs"]
mod push;
#[path = "support/report.rs"]
mod report;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use common::sidecar::{http, Launch, Sidecar};
use common::{lease_args, poll_until};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench.sh"))
}

/// A release `drlease run` with quiet logs, optionally pinned to CPUs with taskset.
fn start(bin: &str, identity: &str, args: &[String], cpus: Option<&str>) -> Sidecar {
    let launch = Launch {
        bin: bin.to_string(),
        cpus: cpus.map(String::from),
        log_filter: "warn".into(),
        nofile: None,
        env: Vec::new(),
    };
    Sidecar::start_with(launch, identity, args)
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// Polls `cond` every millisecond; the time until it held.
fn time_until(limit: Duration, cond: impl FnMut() -> bool) -> Option<Duration> {
    poll_until(limit, Duration::from_millis(1), cond)
}

fn settle<'a>(a: &'a mut Sidecar, b: &'a mut Sidecar) -> (&'a mut Sidecar, &'a mut Sidecar) {
    let active = common::sidecar::settle(&[&*a, &*b], Duration::from_secs(15));
    // Both decided; give the passive a few reads of the steady state.
    std::thread::sleep(Duration::from_millis(600));
    if active == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

// --- 1 and 2: failover and handover -----------------------------------------------------

/// A small deterministic generator, so the phases below are the same on every run.
struct Phase(u64);

impl Phase {
    /// Milliseconds in [0, max).
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % max
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Strike {
    Kill9,
    Sigterm,
    /// SIGTERM while a controller asks the holder's /active every millisecond: the release
    /// waits for the last write window granted.
    SigtermWithController,
    /// `drlease handover --to` the other pod, with a controller asking as above.
    HandoverCommand,
}

fn failover(bin: &str, endpoint: &str, table: &str, runs: usize, strike: Strike) -> Vec<f64> {
    let planned = strike != Strike::Kill9;
    let mut times = Vec::new();
    let mut phase = Phase(if planned { 7 } else { 11 });
    for run in 0..runs {
        let name = match strike {
            Strike::Kill9 => "failover",
            Strike::Sigterm => "handover",
            Strike::SigtermWithController => "windows",
            Strike::HandoverCommand => "command",
        };
        let lease = format!("{name}-{run}");
        let args = lease_args(endpoint, table, &lease, "200ms", "5");
        let mut a = start(bin, "pod-a", &args, None);
        // Nothing ties a pod's start, or a crash, to the holder's renewal cycle: start the
        // second pod, and strike, at a random phase of it. With a fixed phase the result
        // sits at one point anywhere between the lease and lease + interval.
        std::thread::sleep(Duration::from_millis(phase.next_ms(200)));
        let mut b = start(bin, "pod-b", &args, None);
        let (active, survivor) = settle(&mut a, &mut b);
        std::thread::sleep(Duration::from_millis(phase.next_ms(200)));
        let controller = matches!(
            strike,
            Strike::SigtermWithController | Strike::HandoverCommand
        )
        .then(|| push::Controller::start(active.port));
        if controller.is_some() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let target = survivor.identity.clone();
        let t0 = Instant::now();
        match strike {
            Strike::Kill9 => active.kill9(),
            Strike::Sigterm | Strike::SigtermWithController => active.signal(libc::SIGTERM),
            Strike::HandoverCommand => {
                let status = Command::new(bin)
                    .arg("handover")
                    .args(&args)
                    .args(["--to", &target, "--timeout", "5s"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("run drlease handover");
                drop(status);
            }
        }
        let took =
            time_until(Duration::from_secs(10), || survivor.is_active()).expect("survivor active");
        let _ = t0;
        drop(controller);
        times.push(took.as_secs_f64() * 1000.0);
    }
    times
}

// --- 3: the role endpoint ----------------------------------------------------------------

fn first_decision(bin: &str, args: &[String]) -> f64 {
    let t0 = Instant::now();
    let p = start(bin, "probe", args, None);
    let took = time_until(Duration::from_secs(20), || {
        matches!(http(p.port, "GET", "/readyz"), Some((200, _)))
    })
    .expect("first decision");
    let _ = t0;
    took.as_secs_f64() * 1000.0
}

// --- 5: store cost -------------------------------------------------------------------------

/// Requests counted over `window`, scaled to one hour: the total and each operation's.
fn per_hour(counts: HashMap<String, u64>, window: Duration) -> (f64, String) {
    let scale = 3600.0 / window.as_secs_f64();
    let total: u64 = counts.values().sum();
    let mut ops: Vec<String> = counts
        .iter()
        .map(|(k, v)| format!("{k} {:.0}", *v as f64 * scale))
        .collect();
    ops.sort();
    (total as f64 * scale, ops.join(", "))
}

async fn fill_table(conn: &drlease::store::dynamodb::Connection, table: &str, n: usize) {
    let mut i = 0;
    while i < n {
        let batch: Vec<WriteRequest> = (i..(i + 25).min(n))
            .map(|k| {
                let item = HashMap::from([
                    (
                        "leaseName".to_string(),
                        AttributeValue::S(format!("other-{k}")),
                    ),
                    (
                        "leaseOwner".to_string(),
                        AttributeValue::S("someone".into()),
                    ),
                    ("updatedTime".to_string(), AttributeValue::N("1".into())),
                ]);
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        conn.client
            .batch_write_item()
            .request_items(table, batch)
            .send()
            .await
            .expect("batch write");
        i += 25;
    }
}

/// How long the store-cost phases count requests.
const COST_WINDOW: Duration = Duration::from_secs(60);

/// The store-cost phase's figures, one line per table size.
fn print_store_cost(cost: &[(usize, phases::PerHour, phases::PerHour)]) {
    for (others, (at, aops), (pt, pops)) in cost {
        println!(
            "other items {others}: active {at:.0}/hour ({aops}); passive {pt:.0}/hour ({pops})"
        );
    }
}

/// Instructions per request alone (`scripts/bench.sh --instructions`): no store needed,
/// a minute or two.
fn print_instructions(bin: &str, baseline: &str) {
    let i = instructions::instructions(bin, baseline);
    for line in report::instruction_lines(&i) {
        println!("{line}");
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let bin = env("DRLEASE_BENCH_BIN");
    let baseline = env("DRLEASE_BENCH_BASELINE");
    if std::env::var("DRLEASE_BENCH_ONLY").as_deref() == Ok("instructions") {
        print_instructions(&bin, &baseline);
        return;
    }
    let endpoint = env("DRLEASE_TEST_DYNAMODB_ENDPOINT");
    let out = env("DRLEASE_BENCH_OUT");
    let footprint_secs = env_number("DRLEASE_BENCH_FOOTPRINT_SECS", 600);
    let runs = env_number("DRLEASE_BENCH_RUNS", 20) as usize;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let conn = rt.block_on(common::connection(&endpoint));
    let new_table = || rt.block_on(common::new_table(&conn));

    // One phase alone, printed rather than reported: the whole run takes some 14 minutes.
    if std::env::var("DRLEASE_BENCH_ONLY").as_deref() == Ok("store_cost") {
        let cost = phases::store_cost(&bin, &endpoint, &rt, &conn, &new_table, COST_WINDOW);
        print_store_cost(&cost);
        return;
    }
    // The footprint process runs from the start, alone on its own lease, while the rest goes on.
    let fp = phases::Footprint::start(&bin, &endpoint, &new_table());
    // 1. Unplanned failover.
    let table = new_table();
    let kill = stats(failover(&bin, &endpoint, &table, runs, Strike::Kill9));
    // 2. Planned handover.
    let term = stats(failover(&bin, &endpoint, &table, runs, Strike::Sigterm));
    let term_w = stats(failover(
        &bin,
        &endpoint,
        &table,
        runs,
        Strike::SigtermWithController,
    ));
    let cmd_w = stats(failover(
        &bin,
        &endpoint,
        &table,
        runs,
        Strike::HandoverCommand,
    ));
    let pushes = phases::push_latency(&bin);
    let deadline_pushes = phases::deadline_pushes(&bin, &endpoint, &new_table());
    let role = phases::role_endpoint(&bin, &baseline);
    let instructions = instructions::instructions(&bin, &baseline);
    let cost = phases::store_cost(&bin, &endpoint, &rt, &conn, &new_table, COST_WINDOW);
    let affinity_cost =
        phases::affinity_cost(&bin, &endpoint, &rt, &conn, &new_table(), COST_WINDOW);
    // 4. Footprint: wait out the window, then read.
    let footprint = fp.finish(footprint_secs);
    let bin_size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    let first_mem = first_decision(&bin, &["--store".into(), "memory".into()]);
    let fd_table = new_table();
    let first_dyn = first_decision(&bin, &lease_args(&endpoint, &fd_table, "first", "1s", "3"));
    let results = report::Results {
        runs,
        kill,
        term,
        term_w,
        cmd_w,
        role,
        instructions,
        footprint,
        bin_size,
        first_mem,
        first_dyn,
        pushes,
        deadline_pushes,
        cost,
        affinity_cost,
    };
    report::write(&results, &out);
}
