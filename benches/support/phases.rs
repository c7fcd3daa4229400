//! The measurements after failover, one function each, in the order the benchmark runs
//! them: pushes to watchers, a loss by deadline, the role endpoint, store cost (plain and
//! with region affinity), and the footprint process that runs beside them all.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::proxy::FaultProxy;
use crate::common::sidecar::{free_port, http, Sidecar};
use crate::common::{self, lease_args, poll_until, wait_until};
use crate::measure::{cpu_secs, rss_kb, wrk, Wrk};
use crate::{fill_table, per_hour, push, settle, start};

/// Requests per hour, in total and by operation.
pub type PerHour = (f64, String);

/// Section 6: Push latency: 100 watchers; the controller's health flips every 300 ms, and each
/// flip is a role change (step down, acquire again) pushed to all of them. Returns the
/// deliveries counted, and their p50 and p99 in ms.
pub fn push_latency(bin: &str) -> (usize, f64, f64) {
    let health = push::HealthToggle::start();
    let pusher = start(
        bin,
        "push",
        &[
            "--store".into(),
            "memory".into(),
            "--interval".into(),
            "100ms".into(),
            "--app-health-url".into(),
            format!("http://127.0.0.1:{}/health", health.port),
            "--app-health-failures".into(),
            "1".into(),
        ],
        Some("0"),
    );
    wait_until(Duration::from_secs(5), || pusher.is_active()).expect("push sidecar active");
    let watchers = push::Watchers::start(pusher.port, 100);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        let h = health.healthy.load(std::sync::atomic::Ordering::Relaxed);
        health
            .healthy
            .store(!h, std::sync::atomic::Ordering::Relaxed);
    }
    std::thread::sleep(Duration::from_millis(500));
    let push_delays = watchers.finish();
    let push_count = push_delays.len();
    let (push_p50, push_p99) = push::p50_p99(push_delays);
    drop(pusher);
    (push_count, push_p50, push_p99)
}

/// Section 7: A loss by deadline while the store is black-holed: pushed how late? Returns how
/// late each push arrived (ms) and how many the deadline timer pushed.
pub fn deadline_pushes(bin: &str, endpoint: &str, dl_table: &str) -> (Vec<f64>, u32) {
    let dl_addr: SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
    let dl_proxy = FaultProxy::start(dl_addr);
    {
        let dl = start(
            bin,
            "deadline",
            &lease_args(&dl_proxy.url(), dl_table, "deadline", "200ms", "3"),
            None,
        );
        let mut late = Vec::new();
        let mut by_timer = 0u32;
        for _ in 0..10 {
            dl_proxy.set(common::proxy::Fault::Pass);
            wait_until(Duration::from_secs(10), || dl.is_active())
                .expect("deadline sidecar active");
            let mut w = common::sse::SseReader::open(dl.port, "/watch").unwrap();
            w.next(Duration::from_secs(2)).expect("current state");
            dl_proxy.set(common::proxy::Fault::Blackhole);
            if let Some(e) = w.next(Duration::from_secs(5)) {
                let now = drlease::sys::clock::Clock::now(&drlease::sys::clock::BootClock)
                    .as_duration()
                    .as_nanos() as f64;
                late.push((now - e["decided_at_ns"].as_f64().unwrap_or(now)) / 1e6);
                if e["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("at the deadline")
                {
                    by_timer += 1;
                }
            }
        }
        (late, by_timer)
    }
}

/// What wrk measured on drlease (`/active`, `/role`) and on the two baselines.
pub struct RoleEndpoint {
    pub active: Wrk,
    pub role: Wrk,
    pub base: Wrk,
    pub axum: Wrk,
}

/// Section 3: Role endpoint, server on CPU 0, wrk on CPU 1.
pub fn role_endpoint(bin: &str, baseline: &str) -> RoleEndpoint {
    let mem = start(
        bin,
        "bench",
        &["--store".into(), "memory".into()],
        Some("0"),
    );
    wait_until(Duration::from_secs(5), || mem.is_active()).expect("memory sidecar active");
    let base_port = free_port();
    let mut base = Command::new("taskset")
        .args(["-c", "0", baseline, &format!("127.0.0.1:{base_port}")])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the baseline server");
    let axum_port = free_port();
    let mut axum_base = Command::new("taskset")
        .args([
            "-c",
            "0",
            baseline,
            &format!("127.0.0.1:{axum_port}"),
            "axum",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the axum baseline");
    wait_until(Duration::from_secs(5), || {
        http(base_port, "GET", "/").is_some() && http(axum_port, "GET", "/").is_some()
    })
    .expect("baselines up");
    let _ = wrk(mem.port, "/active", 2); // warm up
    let _ = wrk(base_port, "/", 2);
    let _ = wrk(axum_port, "/", 2);
    let w_active = wrk(mem.port, "/active", 10);
    let w_role = wrk(mem.port, "/role", 10);
    let w_base = wrk(base_port, "/", 10);
    let w_axum = wrk(axum_port, "/", 10);
    for p in [&mut base, &mut axum_base] {
        let _ = p.kill();
        let _ = p.wait();
    }
    drop(mem);
    RoleEndpoint {
        active: w_active,
        role: w_role,
        base: w_base,
        axum: w_axum,
    }
}

/// Section 6: Store cost: an active and a passive per table size, each behind a counting proxy.
pub fn store_cost(
    bin: &str,
    endpoint: &str,
    rt: &tokio::runtime::Runtime,
    conn: &drlease::store::dynamodb::Connection,
    new_table: &dyn Fn() -> String,
    window: Duration,
) -> Vec<(usize, PerHour, PerHour)> {
    let mut cost = Vec::new();
    for others in [1usize, 100, 10_000] {
        let t = new_table();
        rt.block_on(fill_table(conn, &t, others));
        let addr: SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
        let (pa, pb) = (FaultProxy::start(addr), FaultProxy::start(addr));
        let mut a = start(
            bin,
            "cost-a",
            &lease_args(&pa.url(), &t, "cost", "1s", "3"),
            None,
        );
        let mut b = start(
            bin,
            "cost-b",
            &lease_args(&pb.url(), &t, "cost", "1s", "3"),
            None,
        );
        let (active_port, _) = {
            let (act, _) = settle(&mut a, &mut b);
            (act.port, ())
        };
        let (act_proxy, pas_proxy) = if active_port == a.port {
            (&pa, &pb)
        } else {
            (&pb, &pa)
        };
        act_proxy.reset_counts();
        pas_proxy.reset_counts();
        std::thread::sleep(window);
        cost.push((
            others,
            per_hour(act_proxy.counts(), window),
            per_hour(pas_proxy.counts(), window),
        ));
    }
    cost
}

/// Section 6b: Store cost with region affinity: pod-b (priority 0) holds; pod-a (priority 10,
/// failback after 3 s) joins and takes the lease back. One failback episode, then the
/// steady state with both on --failback-after. Returns each pod's steady cost, how long
/// the episode took and the requests it cost.
pub fn affinity_cost(
    bin: &str,
    endpoint: &str,
    rt: &tokio::runtime::Runtime,
    conn: &drlease::store::dynamodb::Connection,
    t: &str,
    window: Duration,
) -> (PerHour, PerHour, Duration, u64) {
    rt.block_on(fill_table(conn, t, 100));
    let addr: SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
    let (pa, pb) = (FaultProxy::start(addr), FaultProxy::start(addr));
    let with = |url: &str, priority: &str| {
        let mut args = lease_args(url, t, "cost", "1s", "3");
        args.extend(["--priority", priority, "--failback-after", "3s"].map(String::from));
        args
    };
    let b = start(bin, "cost-b", &with(&pb.url(), "0"), None);
    poll_until(Duration::from_secs(15), Duration::from_millis(5), || {
        b.is_active()
    })
    .expect("pod-b active");
    std::thread::sleep(Duration::from_secs(2));
    pa.reset_counts();
    pb.reset_counts();
    let episode_start = std::time::Instant::now();
    let a = start(bin, "cost-a", &with(&pa.url(), "10"), None);
    poll_until(Duration::from_secs(20), Duration::from_millis(5), || {
        a.is_active()
    })
    .expect("pod-a fails back");
    let episode = episode_start.elapsed();
    let episode_counts: u64 = pa.counts().values().sum::<u64>() + pb.counts().values().sum::<u64>();
    std::thread::sleep(Duration::from_secs(2));
    pa.reset_counts();
    pb.reset_counts();
    std::thread::sleep(window);
    (
        per_hour(pa.counts(), window),
        per_hour(pb.counts(), window),
        episode,
        episode_counts,
    )
}

/// Section 4: The footprint process: runs from the start, alone on its own lease, while the rest
/// goes on.
pub struct Footprint {
    sidecar: Sidecar,
    started: Instant,
    cpu0: f64,
}

/// What the footprint process used: seconds it ran, RSS (KiB), CPU seconds, and whether
/// it was still active at the end.
pub struct FootprintFigures {
    pub elapsed: f64,
    pub rss: u64,
    pub cpu: f64,
    pub still_active: bool,
}

impl Footprint {
    pub fn start(bin: &str, endpoint: &str, fp_table: &str) -> Footprint {
        let fp = start(
            bin,
            "footprint",
            &lease_args(endpoint, fp_table, "footprint", "1s", "3"),
            None,
        );
        let fp_started = Instant::now();
        wait_until(Duration::from_secs(10), || fp.is_active()).expect("footprint sidecar active");
        let fp_cpu0 = cpu_secs(fp.pid() as u32);
        Footprint {
            sidecar: fp,
            started: fp_started,
            cpu0: fp_cpu0,
        }
    }

    /// Waits out the window, then reads.
    pub fn finish(self, footprint_secs: u64) -> FootprintFigures {
        let remaining = Duration::from_secs(footprint_secs).saturating_sub(self.started.elapsed());
        std::thread::sleep(remaining);
        let fp = self.sidecar;
        let fp_elapsed = self.started.elapsed().as_secs_f64();
        let rss = rss_kb(fp.pid() as u32);
        let cpu = cpu_secs(fp.pid() as u32) - self.cpu0;
        let still_active = fp.is_active();
        drop(fp);
        FootprintFigures {
            elapsed: fp_elapsed,
            rss,
            cpu,
            still_active,
        }
    }
}
