//! What one seed runs: its timing, its candidates, its faults, drawn from a seeded generator.

use std::time::Duration;

use drlease::lease::core::Affinity;
use drlease::timing::Timing;

/// SplitMix64: small, seedable, good enough for fault schedules.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo + 1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() as f64 / u64::MAX as f64) < p
    }
    pub fn unit(&mut self) -> f64 {
        self.next() as f64 / u64::MAX as f64
    }
}

/// What one seed runs.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub candidates: usize,
    /// Drawn from the ranges [`Timing::validate`] accepts, and checked by it.
    pub timing: Timing,
    pub call_timeout: Duration,
    /// Clock rates lie in [1 - drift, 1 + drift].
    pub drift: f64,
    /// Two candidates share an identity.
    pub twins: bool,
    pub chaos: Duration,
    /// Normal one-way network delay bound.
    pub max_delay: Duration,
    /// Operators and other tools write the item too (see [`Action`]).
    pub operators: bool,
    /// The write window each "active" answer grants the controller (capped by validity).
    pub write_window: Duration,
    /// The core is told about the windows granted (false only to show the checker can
    /// fail without it).
    pub honour_windows: bool,
    /// Each candidate's priority, failback delay and observer flag (all default: off).
    pub affinity: Vec<Affinity>,
    /// The cores are told which candidates are observers (false only to show the checker
    /// can fail without it).
    pub tell_observers: bool,
}

impl Scenario {
    pub fn from_seed(seed: u64) -> Scenario {
        let mut r = Rng::new(seed);
        let interval = Duration::from_millis(r.range(50, 200));
        let threshold = r.range(2, 5) as u32;
        let mut timing = Timing {
            interval,
            lease_duration: interval * threshold,
            renew_deadline: Duration::ZERO,
            confirm_delay: Duration::ZERO,
        };
        // Anywhere the config accepts: at least the interval, at most 99% of the lease.
        let lo = interval.as_nanos() as u64;
        let hi = timing.max_renew_deadline().as_nanos() as u64;
        timing.renew_deadline =
            Duration::from_nanos(if r.chance(0.3) { hi } else { r.range(lo, hi) });
        if r.chance(0.2) {
            let below_half = timing.renew_deadline.as_nanos() as u64 / 2 - 1;
            timing.confirm_delay = Duration::from_nanos(r.range(0, below_half));
        }
        if let Err(e) = timing.validate() {
            panic!("seed {seed} drew a timing the config refuses: {e}");
        }
        let lease = timing.lease_duration;
        let candidates = r.range(3, 5) as usize;
        let affinity = draw_affinity(seed, candidates, &timing);
        Scenario {
            seed,
            candidates,
            call_timeout: timing.call_timeout(),
            timing,
            // With renew deadline at 99% of the lease, rates within +/-0.4% keep the
            // holder's deadline before any candidate's takeover.
            drift: 0.004,
            twins: r.chance(0.15),
            chaos: lease * 25,
            max_delay: Duration::from_millis(5),
            // From a stream of its own, so the draws above are those of earlier versions
            // of this simulation and old regression seeds replay as they did.
            operators: Rng::new(seed ^ 0x0DE5_EED5).chance(0.6),
            // Also a stream of its own: from 1 ms to twice the lease (the cap at the
            // validity left then decides).
            write_window: Duration::from_millis(
                Rng::new(seed ^ 0x0057_1D0E).range(1, lease.as_millis() as u64 * 2),
            ),
            honour_windows: true,
            affinity,
            tell_observers: true,
        }
    }
}

/// From a stream of its own (old seeds keep their schedules). In half the seeds: random
/// priorities, failback on for most candidates (after a quarter lease to three leases), and
/// sometimes one observer (never the first candidate, so two can always hold).
fn draw_affinity(seed: u64, candidates: usize, timing: &Timing) -> Vec<Affinity> {
    let mut r = Rng::new(seed ^ 0x0AFF_1917);
    if !r.chance(0.5) {
        return vec![Affinity::default(); candidates];
    }
    let lease = timing.lease_duration.as_nanos() as u64;
    let observer = r
        .chance(0.3)
        .then(|| r.range(1, candidates as u64 - 1) as usize);
    (0..candidates)
        .map(|i| Affinity {
            priority: r.range(0, 3) as i32,
            failback_after: r
                .chance(0.7)
                .then(|| Duration::from_nanos(r.range(lease / 4, lease * 3)))
                .filter(|_| observer != Some(i)),
            never_acquire: observer == Some(i),
        })
        .collect()
}
