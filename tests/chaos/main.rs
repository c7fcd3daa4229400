//! Chaos with real processes: `drlease run` sidecars against moto, each through its own
//! fault-injecting proxy, watched by pollers that record every moment two of them answered
//! active. Interval 200 ms, failure threshold 3 (lease 600 ms, renew deadline 400 ms).
//!
//! Short profile (CI): one run per scenario. Long profile: DRLEASE_CHAOS_RUNS=10.
//! The table goes to target/reliability.md, and to docs/reliability.md with
//! DRLEASE_CHAOS_WRITE_DOCS=1:
//!   DRLEASE_CHAOS_RUNS=10 DRLEASE_CHAOS_WRITE_DOCS=1 scripts/test.sh --test chaos -- --nocapture

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod failback;
mod observer;
mod promise;
mod scenarios;
mod store_restart;

use std::time::Duration;

use observer::Overlap;

pub const INTERVAL: Duration = Duration::from_millis(200);
pub const LEASE: Duration = Duration::from_millis(600);
pub const SLACK: Duration = Duration::from_secs(1);

/// What one run of a scenario measured.
pub struct RunResult {
    dual_active: Overlap,
    /// From the fault to a healthy sidecar answering active, when the scenario fails over.
    failover: Option<Duration>,
}

pub struct Scenario {
    name: &'static str,
    what: &'static str,
    /// Failover bound, when the scenario expects one.
    bound: Option<Duration>,
    run: fn(&str) -> RunResult,
}

use scenarios::*;
use store_restart::store_restarted_empty;

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
        what: "a new tenure (epoch above the frozen one) after each unfreeze",
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
        name: "failback: preferred pod killed, restarted, lease back after --failback-after 2 s; an observer beside them",
        what: "the preferred pod active again (time from it answering after its restart); the observer never active",
        bound: Some(Duration::from_millis(2000 + 600 + 200 + 1000)),
        run: failback::failback,
    },
    Scenario {
        name: "health flap during a step-down, release landed with its answer lost, link then dead",
        what: "the other pod active (from the controller turning unhealthy); the old holder never again",
        bound: Some(Duration::from_secs(5)),
        run: promise::health_flap_with_lost_release,
    },
    Scenario {
        name: "holder at 1 s x 3, candidate at 200 ms x 3, freeze and unfreeze with the short settings right after a renewal",
        what: "a pod active again (from the unfreeze), timed by the holder's 3 s lease",
        bound: Some(Duration::from_secs(8)),
        run: promise::freeze_with_shorter_settings,
    },
    Scenario {
        name: "store restarted empty",
        what: "a new tenure active, epoch above the old one (from the table back)",
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
    let commit = common::docs::git_commit();
    let report = format!(
        "Generated by `tests/chaos/` at commit `{commit}`, {runs} run(s) per scenario.\n\n{table}\n\
         Reproduce: `DRLEASE_CHAOS_RUNS={runs} DRLEASE_CHAOS_WRITE_DOCS=1 scripts/test.sh --test chaos -- --nocapture`"
    );
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-chaos.md");
    let _ = std::fs::write(&target, &report);
    if std::env::var("DRLEASE_CHAOS_WRITE_DOCS").is_ok_and(|v| v == "1") {
        common::docs::write_doc_section("reliability.md", "chaos", &report);
    }
}
