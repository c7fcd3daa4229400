//! What a run of many seeds adds up to: per mode (`topology.rs`) and in all, and the
//! failing seeds grouped by what went wrong.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Outcome, Violation};

/// One mode's share of a run.
#[derive(Default)]
struct ModeFigures {
    seeds: u64,
    events: u64,
    owner_changes: u64,
    failed: u64,
    time: Duration,
    double_holders: u64,
    double_after_heal: f64,
    failbacks_unreached: u64,
}

#[derive(Default)]
pub struct Figures {
    pub events: u64,
    pub owner_changes: u64,
    pub failures: Vec<Violation>,
    ratios: Vec<f64>,
    modes: BTreeMap<String, ModeFigures>,
}

impl Figures {
    pub fn add(&mut self, mode: String, took: Duration, result: Result<Outcome, Violation>) {
        let m = self.modes.entry(mode).or_default();
        m.time += took;
        m.seeds += 1;
        match result {
            Ok(o) => {
                self.events += o.events;
                self.owner_changes += o.owner_changes;
                m.events += o.events;
                m.owner_changes += o.owner_changes;
                m.double_holders += o.double_holders;
                m.double_after_heal = m.double_after_heal.max(o.double_after_heal);
                m.failbacks_unreached += o.failbacks_unreached;
                self.ratios
                    .push(o.failover.as_secs_f64() / o.failover_bound.as_secs_f64());
            }
            Err(v) => {
                m.failed += 1;
                self.failures.push(v)
            }
        }
    }

    /// One line per mode.
    pub fn by_mode(&self) -> Vec<String> {
        self.modes
            .iter()
            .map(|(label, m)| {
                let doubles = if m.double_holders > 0 {
                    format!(
                        ", {} double holders (longest once replication worked: {:.2} of the stated bound)",
                        m.double_holders, m.double_after_heal
                    )
                } else {
                    String::new()
                };
                let unreached = if m.failbacks_unreached > 0 {
                    format!(
                        ", {} failbacks across regions not done when checked",
                        m.failbacks_unreached
                    )
                } else {
                    String::new()
                };
                format!(
                    "{label}: {} seeds, {} events, {} owner changes, {} failed, {:.1} s{doubles}{unreached}",
                    m.seeds,
                    m.events,
                    m.owner_changes,
                    m.failed,
                    m.time.as_secs_f64()
                )
            })
            .collect()
    }

    /// Failover as a fraction of its bound: the median and the largest.
    pub fn failover_ratios(&mut self) -> (f64, f64) {
        self.ratios.sort_by(|a, b| a.total_cmp(b));
        let median = self
            .ratios
            .get(self.ratios.len() / 2)
            .copied()
            .unwrap_or(0.0);
        let max = self.ratios.last().copied().unwrap_or(0.0);
        (median, max)
    }

    /// Prints the failing seeds, grouped by what went wrong (the known hole, when one
    /// fits), with how to replay them, and fails.
    pub fn fail_on_failures(&self, seeds: u64) {
        if self.failures.is_empty() {
            return;
        }
        let mut kinds: Vec<(String, Vec<u64>)> = Vec::new();
        for v in &self.failures {
            let kind = v.kind();
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, seeds)) => seeds.push(v.seed),
                None => kinds.push((kind, vec![v.seed])),
            }
        }
        for (kind, seeds) in &kinds {
            let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
            eprintln!("{} seeds, {kind}: {}", seeds.len(), list.join(" "));
        }
        for v in self.failures.iter().take(10) {
            eprintln!(
                "seed {} at {:.1} ms: {}\n  replay: DRLEASE_SIM_SEED={} cargo test --test simulation -- --nocapture",
                v.seed, v.at_ms, v.what, v.seed
            );
        }
        panic!(
            "{} of {seeds} seeds failed (first: seed {})",
            self.failures.len(),
            self.failures[0].seed
        );
    }
}
