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
/// How many times a run whose failover missed its bound (or never came) is made before it
/// counts as a failure (see `chaos_never_two_actives`).
const MISSED_BOUND_ATTEMPTS: usize = 3;

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
        let mut tally = run_scenario(sc, &endpoint, runs);
        failures.append(&mut tally.failures);
        let line = tally.row(sc, runs);
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

/// What the runs of one scenario measured, and what failed.
#[derive(Default)]
struct Tally {
    dual: Duration,
    events: u32,
    times: Vec<Duration>,
    retried: usize,
    failures: Vec<String>,
}

/// Runs `sc` `runs` times. A failover late or missing is tried again, twice at most: the
/// bound assumes the sidecars and moto get the CPU, which a loaded 2-core machine may
/// withhold for seconds (seen at load 6). Two actives are never tried again: one is a
/// failure, however the machine was loaded.
fn run_scenario(sc: &Scenario, endpoint: &str, runs: usize) -> Tally {
    let mut t = Tally::default();
    for run in 0..runs {
        for attempt in 1..=MISSED_BOUND_ATTEMPTS {
            let missed = match std::panic::catch_unwind(|| (sc.run)(endpoint)) {
                Ok(r) => t.count(sc, run, r),
                Err(_) => Some("panicked (see above)".to_string()),
            };
            match missed {
                None => break,
                Some(why) if attempt == MISSED_BOUND_ATTEMPTS => t.failures.push(format!(
                    "{} run {run}: {why}, {MISSED_BOUND_ATTEMPTS} times in a row",
                    sc.name
                )),
                Some(why) => {
                    t.retried += 1;
                    eprintln!("{} run {run}: {why}; trying it again", sc.name);
                }
            }
        }
    }
    t.times.sort();
    t
}

impl Tally {
    /// Counts one run; says why its failover missed the bound, if it did.
    fn count(&mut self, sc: &Scenario, run: usize, r: RunResult) -> Option<String> {
        self.dual += r.dual_active.total;
        self.events += r.dual_active.events;
        if r.dual_active.events > 0 {
            self.failures.push(format!(
                "{} run {run}: two actives {} time(s), {:?} in all",
                sc.name, r.dual_active.events, r.dual_active.total
            ));
        }
        match (r.failover, sc.bound) {
            (Some(t), Some(bound)) if t > bound => {
                Some(format!("failover {t:?} over the bound {bound:?}"))
            }
            (Some(t), _) => {
                self.times.push(t);
                None
            }
            _ => None,
        }
    }

    /// The scenario's row of the report.
    fn row(&self, sc: &Scenario, runs: usize) -> String {
        let spread = match (self.times.first(), self.times.last()) {
            (Some(min), Some(max)) => format!(
                "{} / {} / {}",
                fmt_ms(*min),
                fmt_ms(self.times[self.times.len() / 2]),
                fmt_ms(*max)
            ),
            _ => "-".to_string(),
        };
        let bound = sc.bound.map(fmt_ms).unwrap_or_else(|| "-".into());
        let runs_cell = if self.retried > 0 {
            format!("{runs} ({} tried again)", self.retried)
        } else {
            runs.to_string()
        };
        format!(
            "| {} | {runs_cell} | {} ({} overlaps) | {spread} | {bound} | {} |\n",
            sc.name,
            fmt_ms(self.dual),
            self.events,
            sc.what
        )
    }
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
