//! Regions in the checks: each candidate's region, the bounds docs/regions.md states
//! (*Across regions*), and which double holders they excuse.
//!
//! Within the rule (MREC with `confirmDelay > 2 x (lag + jitter)`, no partition, no
//! spike) nothing is excused: every check of one store holds. Outside it, two actives (two
//! writers) are allowed while replication is disturbed and, once it works again, for the
//! stated bound: one lag (with its jitter) plus one renew period plus the round trips of
//! the renewal and of the marks read that finds the other holder (plus the write window
//! for two writers); the quiet phase then checks that they never persist.

use drlease_core::Regions;

use super::topology::Mode;
use super::{Sim, MS};

/// Since when two candidates have been active, and since when two may write.
#[derive(Default)]
pub(super) struct Episodes {
    actives_since: Option<u64>,
    writers_since: Option<u64>,
}

impl Sim {
    /// On MREC the candidate's region and the others (`--peer-regions`): region marks on.
    /// One store and MRSC need none (docs/regions.md: `confirmDelay` 0, no `peerRegions`).
    pub(super) fn regions_of(&self, c: usize) -> Option<Regions> {
        let t = &self.sc.topology;
        if t.mode != Mode::Mrec || !t.marks {
            return None;
        }
        let own = t.home[c];
        Some(Regions {
            own: t.regions[own].clone(),
            peers: (0..t.regions.len())
                .filter(|&r| r != own)
                .map(|r| t.regions[r].clone())
                .collect(),
        })
    }

    /// Whether candidate `c` asks a holder named `owner` in another region (MREC).
    pub(super) fn failback_across_regions(&self, c: usize, owner: &str) -> bool {
        let t = &self.sc.topology;
        t.mode == Mode::Mrec
            && self
                .cands
                .iter()
                .position(|k| k.identity == owner)
                .is_some_and(|h| t.home[h] != t.home[c])
    }

    /// What a region's replica adds to a store call's path, for the failover bound: the
    /// lag (the other region's candidate sees the holder's last write that much later), a
    /// read of the marks before acquiring and the mark written before answering active.
    pub(super) fn region_failover_cost(&self) -> u64 {
        let t = &self.sc.topology;
        if t.mode != Mode::Mrec {
            return 0;
        }
        let rtt = 2 * self.sc.max_delay.as_nanos() as u64;
        (t.lag + t.jitter).as_nanos() as u64 + 2 * rtt
    }

    /// The stated bound on a double holder once replication works: the other's mark
    /// arrives within a lag, the lower holder reads the marks after its next renewal.
    pub(super) fn double_holder_bound(&self) -> u64 {
        let t = &self.sc.topology;
        let slow = 1.0 / (1.0 - self.sc.drift);
        let renew = self
            .sc
            .settings
            .iter()
            .map(|s| s.timing.renew_period().as_nanos() as u64)
            .max()
            .unwrap_or(0);
        let rtt = 2 * self.sc.max_delay.as_nanos() as u64;
        (t.lag + t.jitter).as_nanos() as u64 + (renew as f64 * slow) as u64 + 2 * rtt + MS
    }

    fn longest_window(&self) -> u64 {
        let slow = 1.0 / (1.0 - self.sc.drift);
        let w = self
            .sc
            .settings
            .iter()
            .map(|s| s.write_window.min(s.timing.renew_deadline).as_nanos() as u64)
            .max()
            .unwrap_or(0);
        (w as f64 * slow) as u64
    }

    /// Outside the rule: whether two actives, and two writers, are excused right now.
    /// `Err` says how far past the bound a double holder has gone.
    pub(super) fn excuse_double_holders(
        &mut self,
        active: &[usize],
        writing: &[usize],
    ) -> Result<(bool, bool), String> {
        let (actives, writers) = (active.len(), writing.len());
        if self.sc.topology.within_rule() {
            return Ok((false, false));
        }
        let now = self.now;
        if actives > 1 {
            if self.dual.actives_since.is_none() {
                self.stats.double_holders += 1;
            }
            self.dual.actives_since.get_or_insert(now);
        } else {
            self.dual.actives_since = None;
        }
        if writers > 1 {
            self.dual.writers_since.get_or_insert(now);
        } else {
            self.dual.writers_since = None;
        }
        if self.replication_disturbed() {
            return Ok((actives > 1, writers > 1));
        }
        let bound = self.double_holder_bound();
        let settled = self.repl.settled_at;
        // The bound assumes the holders' calls go through: a call failed or slow, or a
        // pause, starts it again.
        let faulted = |who: &[usize]| {
            who.iter()
                .map(|&i| self.cands[i].faulted_at)
                .max()
                .unwrap_or(0)
        };
        let (active_fault, writer_fault) = (faulted(active), faulted(writing));
        if let Some(since) = self.dual.actives_since {
            let from = since.max(settled).max(active_fault);
            let ratio = now.saturating_sub(from) as f64 / bound as f64;
            self.stats.double_after_heal = self.stats.double_after_heal.max(ratio);
            if now > from + bound {
                return Err(format!(
                    "[MREC outside the rule: a double holder past the stated bound] two actives \
                     {:.1} ms after replication worked again (bound {:.1} ms: lag + jitter + renew \
                     period + two round trips)",
                    (now - from) as f64 / MS as f64,
                    bound as f64 / MS as f64
                ));
            }
        }
        if let Some(since) = self.dual.writers_since {
            let from = since.max(settled).max(writer_fault);
            let bound = bound + self.longest_window();
            if now > from + bound {
                return Err(format!(
                    "[MREC outside the rule: two writers past the stated bound] two writers \
                     {:.1} ms after replication worked again (bound {:.1} ms with the write \
                     window)",
                    (now - from) as f64 / MS as f64,
                    bound as f64 / MS as f64
                ));
            }
        }
        Ok((actives > 1, writers > 1))
    }
}
