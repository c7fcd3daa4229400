//! The run: the chaos phase, then a quiet phase that checks liveness (every due failback
//! happened; after the settled holder is killed, a healthy candidate within the bound).

use std::time::Duration;

use super::{Outcome, Sim, Violation, MS};

impl Sim {
    /// The chaos phase, then a quiet phase that checks liveness: once the settled holder
    /// dies and the store is reachable, a healthy candidate is active within the bound.
    pub fn run(mut self) -> Result<Outcome, Violation> {
        let chaos_end = self.sc.chaos.as_nanos() as u64;
        self.run_until(chaos_end, |_| false)?;

        self.quiet_down();
        // Scaled on the slowest candidate: the longest lease and interval.
        let lease = self.lease_ns();
        let interval = self.sc.longest_interval().as_nanos() as u64;
        // Restarts and late landings from the chaos phase all finish within this.
        let settle = self.now + lease * 6 + interval * 4;
        self.run_until(settle, |_| false)?;
        let restart_pending = self.cands.iter().any(|k| !k.alive());
        if restart_pending {
            for c in 0..self.cands.len() {
                if !self.cands[c].alive() {
                    self.start(c, self.now);
                }
            }
            let again = self.now + lease * 6 + interval * 4;
            self.run_until(again, |_| false)?;
        }
        self.check_failback_settled()?;
        if self.stats.failbacks_unreached > 0 {
            // A failback request from another region can drop the holder's renewal (last
            // writer wins): nobody is active until the version is timed out again.
            let settle = self.now + lease * 3;
            self.run_until(settle, |s| s.actives().len() == 1)?;
        }
        let actives = self.actives();
        if actives.len() != 1 {
            return Err(self.violation(format!(
                "after settling, {} candidates are active (expected 1)",
                actives.len()
            )));
        }
        // Kill the holder; measure the failover.
        let (holder, _) = actives[0];
        self.cands[holder].core = None;
        self.cands[holder].generation += 1;
        let killed = self.now;
        let bound = self.failover_bound();
        let became_active = self.run_until(killed + bound * 2, |s| !s.actives().is_empty())?;
        let took = self.now - killed;
        self.stats.failover = Duration::from_nanos(took);
        self.stats.failover_bound = Duration::from_nanos(bound);
        if !became_active || took > bound {
            return Err(self.violation(format!(
                "no failover within the bound: took {:.1} ms, bound {:.1} ms (longest lease {:?}, \
                 longest interval {:?})",
                took as f64 / MS as f64,
                bound as f64 / MS as f64,
                self.sc.longest_lease(),
                self.sc.longest_interval()
            )));
        }
        Ok(self.stats)
    }

    /// How long after the settled holder is killed a healthy candidate must answer active:
    /// a lease and an interval on the slowest clock, plus what each setting adds.
    fn failover_bound(&self) -> u64 {
        let lease = self.lease_ns();
        let interval = self.sc.longest_interval().as_nanos() as u64;
        let rtt = 2 * self.sc.max_delay.as_nanos() as u64;
        let slow = 1.0 / (1.0 - self.sc.drift);
        // A confirm delay adds its wait and one more read after the takeover. With settings
        // that differ, every term is the longest any candidate has: whoever takes over
        // times the holder's version for at least the holder's lease, and no later than
        // the longest lease after it last saw it.
        let confirm = self.sc.longest_confirm_delay().as_nanos() as u64;
        let confirm_cost = if confirm > 0 {
            (confirm as f64 * slow) as u64 + rtt
        } else {
            0
        };
        // With failback, a candidate of lower priority may win the takeover and, while it
        // is still confirming (so before it ever answers active), be asked to hand over to a
        // preferred one, which may in turn be asked by a more preferred one while it
        // confirms: each of those handovers (a close read by the target, and its own
        // confirm) is part of the failover, at most one per priority level that fails back.
        let mut levels: Vec<i32> = self
            .sc
            .affinity
            .iter()
            .filter(|a| a.failback_after.is_some())
            .map(|a| a.priority)
            .collect();
        levels.sort();
        levels.dedup();
        let failback_cost = if confirm > 0 {
            (((interval / 4) as f64 * slow) as u64 + confirm_cost + 2 * rtt) * levels.len() as u64
        } else {
            0
        };
        // After the store went backwards (a deletion or a restore) an epoch a pod saw may be
        // above the item's: a holder's own release is then timed rather than taken at once,
        // and a claim refused to one taker re-times it for that one. One lease more, once.
        let rollback_cost = if self.rolled_back {
            (lease as f64 * slow) as u64 + 2 * rtt
        } else {
            0
        };
        // MREC: the holder's last write reaches another region a lag later; marks are read
        // before acquiring and written before answering active.
        ((lease + interval) as f64 * slow) as u64
            + self.region_failover_cost()
            + 2 * rtt
            + confirm_cost
            + failback_cost
            + rollback_cost
            + MS
    }

    /// Quiet: no new faults; bring everyone back; the operator ends any maintenance.
    fn quiet_down(&mut self) {
        self.faults = false;
        self.outage_until = 0;
        // Partitions heal, spikes end: double holders must end within the stated bound.
        self.heal_all();
        self.unfreeze_everywhere();
        for c in 0..self.cands.len() {
            self.cands[c].paused_until = 0;
            self.cands[c].eligible = true;
            if self.cands[c].alive() {
                self.wake(c, self.now);
            }
        }
    }
}
