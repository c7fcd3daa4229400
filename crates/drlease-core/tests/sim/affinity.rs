//! Region affinity in the simulation: after the chaos, with everyone healthy, every
//! failback that is due happens, and then the lease stays put (no ping-pong).

use super::{Sim, Violation};

impl Sim {
    pub(super) fn check_failback_settled(&mut self) -> Result<(), Violation> {
        let Some(longest) = self
            .sc
            .affinity
            .iter()
            .filter_map(|a| a.failback_after)
            .max()
        else {
            return Ok(());
        };
        let lease = self.lease_ns();
        let interval = self.sc.longest_interval().as_nanos() as u64;
        // Every candidate's health clock, then a chain of failbacks up the priorities (0 to
        // 3), each a request, a renewal, a release after the windows, an acquire.
        let one = lease * 2 + interval * 4;
        let wait = longest.as_nanos() as u64 + one * 4;
        self.run_until(self.now + wait, |_| false)?;
        if let Some(item) = self.replica.item().cloned() {
            for (i, k) in self.cands.iter().enumerate() {
                let Some(core) = k.core.as_ref() else {
                    continue;
                };
                if core.wants_failback_from(&item) {
                    if self.failback_across_regions(i, &item.owner) {
                        // MREC: a request written to another region's replica is lost
                        // whenever the holder renews before it arrives (last writer wins),
                        // so failback across regions is not promised; counted, and the
                        // lease may still move later (no ping-pong check).
                        self.stats.failbacks_unreached += 1;
                        self.run_until(self.now + lease * 8, |_| false)?;
                        return Ok(());
                    }
                    return Err(self.violation(format!(
                        "a failback is due but never happened: {}#{i} (priority {}) still \
                         defers to {} (priority {})",
                        k.identity,
                        self.sc.affinity[i].priority,
                        item.owner,
                        item.priority()
                    )));
                }
            }
        }
        let before = self.stats.owner_changes;
        self.run_until(self.now + lease * 8, |_| false)?;
        let moved = self.stats.owner_changes - before;
        if moved > 0 {
            return Err(self.violation(format!(
                "the lease moved {moved} times with every candidate healthy and settled (ping-pong)"
            )));
        }
        Ok(())
    }
}
