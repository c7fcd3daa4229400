//! Eligibility flaps: the controller beside a candidate turns unhealthy and healthy again
//! (`LeaseCore::set_eligible`), at random moments and at the worst ones: right after a
//! holder stepped down, while its release is in flight or its answer is lost.

use drlease_core::{WriteKind, WriteRequest};

use super::{Ev, Sim};
use crate::sim::Rng;

impl Sim {
    pub(super) fn schedule_flaps(&mut self) {
        let mut r = Rng::new(self.sc.seed ^ 0x0F1A_9500);
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let interval = self.sc.longest_interval().as_nanos() as u64;
        let n = self.cands.len() as u64;
        for _ in 0..r.range(2, 8) {
            let at = r.range(lease, chaos);
            // Half of them hit whoever holds the lease then: those make it step down.
            let c = r.chance(0.5).then(|| r.range(0, n - 1) as usize);
            let for_ns = match r.range(0, 2) {
                0 => r.range(0, interval),
                1 => r.range(interval, lease),
                _ => r.range(lease, lease * 3),
            };
            self.push(at, Ev::Ineligible { c, for_ns });
        }
    }

    pub(super) fn make_ineligible(&mut self, c: Option<usize>, for_ns: u64) {
        let c = match c.or_else(|| self.actives().first().map(|(i, _)| *i)) {
            Some(c) => c,
            None => self.aim.range(0, self.cands.len() as u64 - 1) as usize,
        };
        self.set_eligible(c, false);
        self.push(self.now + for_ns, Ev::Eligible { c });
    }

    pub(super) fn make_eligible(&mut self, c: usize) {
        self.set_eligible(c, true);
    }

    /// The loop takes a change in at its next step, at once if it is waiting.
    pub(super) fn set_eligible(&mut self, c: usize, eligible: bool) {
        self.trace(|| format!("cand-{c} eligible: {eligible}"));
        self.cands[c].eligible = eligible;
        if self.cands[c].alive() && !self.cands[c].busy {
            self.wake(c, self.now);
        }
    }

    /// A holder stepping down because it is not eligible sends its release: half the time,
    /// it turns eligible again before it knows how the release went (in flight, answer
    /// lost, or the read that settles it still to come).
    pub(super) fn aim_flap_at_release(&mut self, c: usize, req: &WriteRequest) {
        if !self.sc.flaps
            || !self.faults
            || req.kind != WriteKind::Release
            || self.cands[c].eligible
            || !self.aim.chance(0.5)
        {
            return;
        }
        let s = &self.sc.settings[c];
        let unsettled = s.call_timeout + s.timing.quick_retry() + self.sc.max_delay * 4;
        let at = self.now + self.aim.range(0, unsettled.as_nanos() as u64);
        self.push(at, Ev::Eligible { c });
    }
}
