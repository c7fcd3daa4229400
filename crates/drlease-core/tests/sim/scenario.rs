//! What one seed runs: its timing, its candidates, its faults, drawn from a seeded generator.

use std::time::Duration;

use drlease_core::core::Affinity;
use drlease_core::timing::Timing;

use super::topology::{Mode, Topology};

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

/// One candidate's settings: what its own configuration says, and the write window its
/// controller is granted.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Drawn from the ranges [`Timing::validate`] accepts, and checked by it.
    pub timing: Timing,
    pub call_timeout: Duration,
    /// The write window each "active" answer grants the controller (capped by validity).
    pub write_window: Duration,
}

/// What one seed runs.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub candidates: usize,
    /// The seed's first draw: every candidate's settings before rolling changes were
    /// simulated, and what [`Scenario::old_draws`] puts back.
    pub base: Settings,
    /// Each candidate's own settings: in most seeds a mix, as during a rolling change of
    /// the configuration (some still on the base, the others on settings of their own).
    pub settings: Vec<Settings>,
    /// The lease duration the operators' commands write (`freeze`, `unfreeze`, the seed)
    /// and the one `create-table` waits: their own configuration, not the candidates'.
    pub operator_lease: Duration,
    /// Clock rates lie in [1 - drift, 1 + drift].
    pub drift: f64,
    /// Two candidates share an identity.
    pub twins: bool,
    pub chaos: Duration,
    /// Normal one-way network delay bound.
    pub max_delay: Duration,
    /// Operators and other tools write the item too (see [`Action`]).
    pub operators: bool,
    /// The core is told about the windows granted (false only to show the checker can
    /// fail without it).
    pub honour_windows: bool,
    /// Each candidate's priority, failback delay and observer flag (all default: off).
    pub affinity: Vec<Affinity>,
    /// The cores are told which candidates are observers (false only to show the checker
    /// can fail without it).
    pub tell_observers: bool,
    /// Candidates turn ineligible and eligible again at random moments (a controller
    /// going unhealthy), some of them aimed at a holder stepping down.
    pub flaps: bool,
    /// A restore may bring back any version the item ever had, at any time, rather than
    /// only one superseded two leases ago.
    pub restore_any: bool,
    /// One store, or a table across regions (MREC, MRSC): `topology.rs`.
    pub topology: Topology,
}

impl Scenario {
    pub fn from_seed(seed: u64) -> Scenario {
        let mut r = Rng::new(seed);
        let timing = draw_timing(&mut r);
        if let Err(e) = timing.validate() {
            panic!("seed {seed} drew a timing the config refuses: {e}");
        }
        let lease = timing.lease_duration;
        let candidates = r.range(3, 5) as usize;
        let affinity = draw_affinity(seed, candidates, &timing);
        let base = Settings {
            call_timeout: timing.call_timeout(),
            // A stream of its own: from 1 ms to twice the lease (the cap at the validity
            // left then decides).
            write_window: Duration::from_millis(
                Rng::new(seed ^ 0x0057_1D0E).range(1, lease.as_millis() as u64 * 2),
            ),
            timing,
        };
        let twins = r.chance(0.15);
        // Every draw below comes from a stream of its own, so the draws above are those of
        // earlier versions of this simulation and old regression seeds replay as they did
        // (through `old_draws`).
        let operators = Rng::new(seed ^ 0x0DE5_EED5).chance(0.6);
        let (mut settings, operator_lease) = draw_rolling_change(seed, candidates, &base);
        // Last: on MREC it refits the confirm delays drawn above to docs/regions.md's rule.
        let topology = Topology::draw(seed, &mut settings);
        let mut sc = Scenario {
            seed,
            candidates,
            base,
            settings,
            operator_lease,
            // With renew deadline at 99% of the lease, rates within +/-0.4% keep the
            // holder's deadline before any candidate's takeover.
            drift: 0.004,
            twins,
            chaos: Duration::ZERO,
            max_delay: Duration::from_millis(5),
            operators,
            honour_windows: true,
            affinity,
            tell_observers: true,
            flaps: Rng::new(seed ^ 0x0E11_6B1E).chance(0.7),
            restore_any: true,
            topology,
        };
        // `--failback-after` with `--peer-regions` is refused at start (docs/regions.md, *Region
        // affinity*): on MREC with region marks no candidate fails back.
        if sc.topology.mode == Mode::Mrec && sc.topology.marks {
            for a in &mut sc.affinity {
                a.failback_after = None;
            }
        }
        sc.chaos = sc.longest_lease() * 25;
        sc.tell_longest_lease();
        sc
    }

    /// Every pod and operator runs with `--longest-lease` set to the longest lease in force
    /// (the procedure for a rolling change in docs/operations.md): a pod that never read the holder's
    /// declared lease cannot know it otherwise.
    fn tell_longest_lease(&mut self) {
        let longest = self.longest_in_force();
        self.base.timing.longest_lease = longest;
        for s in &mut self.settings {
            s.timing.longest_lease = longest;
        }
    }

    /// The longest lease any pod or operator uses.
    pub fn longest_in_force(&self) -> Duration {
        self.longest_lease().max(self.operator_lease)
    }

    /// The scenario as this simulation drew it before rolling changes, eligibility flaps,
    /// restores of any version and regions: what the old regression seeds were found with.
    pub fn old_draws(mut self) -> Scenario {
        self.settings = vec![self.base.clone(); self.candidates];
        self.operator_lease = self.base.timing.lease_duration;
        self.flaps = false;
        self.restore_any = false;
        self.topology = Topology::one(self.candidates);
        self.chaos = self.longest_lease() * 25;
        self.tell_longest_lease();
        self
    }

    /// The longest lease any candidate runs with: what the fault schedule, the chaos and
    /// the quiet phase are scaled on.
    pub fn longest_lease(&self) -> Duration {
        self.settings
            .iter()
            .map(|s| s.timing.lease_duration)
            .max()
            .unwrap_or(self.base.timing.lease_duration)
    }

    pub fn longest_interval(&self) -> Duration {
        self.settings
            .iter()
            .map(|s| s.timing.interval)
            .max()
            .unwrap_or(self.base.timing.interval)
    }

    pub fn longest_confirm_delay(&self) -> Duration {
        self.settings
            .iter()
            .map(|s| s.timing.confirm_delay)
            .max()
            .unwrap_or_default()
    }
}

/// Anywhere the config accepts: an interval of 50-200 ms, a failure threshold of 2-5, a
/// renew deadline from the interval to 99% of the lease (often the maximum), sometimes a
/// confirm delay.
fn draw_timing(r: &mut Rng) -> Timing {
    let interval = Duration::from_millis(r.range(50, 200));
    let threshold = r.range(2, 5) as u32;
    let mut timing = Timing {
        interval,
        lease_duration: interval * threshold,
        renew_deadline: Duration::ZERO,
        confirm_delay: Duration::ZERO,
        longest_lease: interval * threshold,
    };
    let lo = interval.as_nanos() as u64;
    let hi = timing.max_renew_deadline().as_nanos() as u64;
    timing.renew_deadline = Duration::from_nanos(if r.chance(0.3) { hi } else { r.range(lo, hi) });
    if r.chance(0.2) {
        let below_half = timing.renew_deadline.as_nanos() as u64 / 2 - 1;
        timing.confirm_delay = Duration::from_nanos(r.range(0, below_half));
    }
    timing
}

/// In four seeds of five, a rolling change: each candidate either still runs the base
/// settings or has its own (interval, failure threshold, renew deadline, confirm delay,
/// write window), and the operators run with a lease duration of their own. Otherwise
/// everyone shares the base.
fn draw_rolling_change(seed: u64, candidates: usize, base: &Settings) -> (Vec<Settings>, Duration) {
    let mut r = Rng::new(seed ^ 0x0E4C_A7D5);
    if !r.chance(0.8) {
        return (vec![base.clone(); candidates], base.timing.lease_duration);
    }
    let settings = (0..candidates)
        .map(|_| {
            if r.chance(0.35) {
                return base.clone();
            }
            let timing = draw_timing(&mut r);
            if let Err(e) = timing.validate() {
                panic!("seed {seed} drew a timing the config refuses: {e}");
            }
            let lease_ms = timing.lease_duration.as_millis() as u64;
            Settings {
                call_timeout: timing.call_timeout(),
                write_window: Duration::from_millis(r.range(1, lease_ms * 2)),
                timing,
            }
        })
        .collect();
    let operator_lease = draw_timing(&mut r).lease_duration;
    (settings, operator_lease)
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
