//! Where the store's copies are, drawn per seed from a stream of its own (seeds drawn with
//! one store keep their exact behaviour): one store as before, a multi-Region eventually
//! consistent table (MREC, 2 or 3 replicas), or a strongly consistent one (MRSC).
//!
//! On MREC every candidate lives in a region and talks to that region's replica; a write
//! that landed reaches the other replicas after the lag plus up to the jitter. docs/regions.md's
//! rule (*Across regions*) is `confirmDelay > 2 x (lag + jitter)`: seeds within it have
//! every candidate's confirm delay drawn there (from 1 ns above twice) (and below half the renew deadline, as
//! `Timing::validate` wants). Seeds outside it add lag spikes above half the confirm delay,
//! partitions, or both; there the stated bound is checked instead.

use std::time::Duration;

use super::scenario::{Rng, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One store, as before regions were simulated.
    One,
    /// Multi-Region eventual consistency: a replica per region, last writer wins.
    Mrec,
    /// Multi-Region strong consistency: one linearizable copy; a region cut off fails
    /// every call.
    Mrsc,
}

#[derive(Clone, Debug)]
pub struct Topology {
    pub mode: Mode,
    /// Region names: replica `i` is `regions[i]` (one, unnamed, with `Mode::One`).
    pub regions: Vec<String>,
    /// Each candidate's region.
    pub home: Vec<usize>,
    /// MREC: replication lag, and the most jitter on top of it.
    pub lag: Duration,
    pub jitter: Duration,
    /// MREC outside the rule: replication slows past half the confirm delay at times.
    pub spikes: bool,
    /// MREC: replication between a region and the others stops at times (and heals).
    /// MRSC: a region is cut off at times (every call from it fails).
    pub partitions: bool,
    /// MREC: the cores are told their regions and write and read region marks (false with
    /// `DRLEASE_SIM_NO_MARKS=1`, to see what they change).
    pub marks: bool,
}

impl Topology {
    pub fn one(candidates: usize) -> Topology {
        Topology {
            mode: Mode::One,
            regions: vec!["r0".into()],
            home: vec![0; candidates],
            lag: Duration::ZERO,
            jitter: Duration::ZERO,
            spikes: false,
            partitions: false,
            marks: true,
        }
    }

    /// MREC with neither spikes nor partitions: every check of one store applies.
    pub fn within_rule(&self) -> bool {
        self.mode != Mode::Mrec || !(self.spikes || self.partitions)
    }

    /// Half the seeds one store; the rest MREC with 2 replicas, MREC with 3, MRSC (3).
    /// MREC draws the lag and jitter and refits every candidate's confirm delay to the
    /// rule; `settings` are the candidates' own.
    pub fn draw(seed: u64, settings: &mut [Settings]) -> Topology {
        let mut r = Rng::new(seed ^ 0x0BE9_1055);
        let n = settings.len();
        let (mode, replicas) = match r.range(0, 5) {
            0..=2 => return Topology::one(n),
            3 => (Mode::Mrec, 2),
            4 => (Mode::Mrec, 3),
            _ => (Mode::Mrsc, 3),
        };
        let regions: Vec<String> = ["east", "west", "south"][..replicas]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Spread: every region gets a candidate when there are enough of them.
        let offset = r.range(0, replicas as u64 - 1) as usize;
        let home = (0..n).map(|c| (c + offset) % replicas).collect();
        let mut t = Topology {
            mode,
            regions,
            home,
            lag: Duration::ZERO,
            jitter: Duration::ZERO,
            spikes: false,
            partitions: false,
            marks: true,
        };
        if mode == Mode::Mrsc {
            t.partitions = r.chance(0.7);
            return t;
        }
        // Outside the rule in two seeds of five: spikes, partitions, or both.
        if r.chance(0.4) {
            match r.range(0, 2) {
                0 => t.spikes = true,
                1 => t.partitions = true,
                _ => (t.spikes, t.partitions) = (true, true),
            }
        }
        // lag + jitter <= half of the smallest (renew deadline / 2), so that every
        // candidate has room for a confirm delay of twice that below half its deadline.
        let room = settings
            .iter()
            .map(|s| (s.timing.renew_deadline / 2).as_nanos() as u64 - 1)
            .min()
            .unwrap_or(0)
            / 2;
        let lag = r.range(room / 20, room * 7 / 10);
        let jitter = r.range(0, room - lag);
        t.lag = Duration::from_nanos(lag);
        t.jitter = Duration::from_nanos(jitter);
        for s in settings.iter_mut() {
            // More than twice: at exactly twice the model checker finds two actives.
            let lo = 2 * (lag + jitter) + 1;
            let hi = (s.timing.renew_deadline / 2).as_nanos() as u64 - 1;
            // Often right at the rule's edge: where a hole would be.
            let confirm = if r.chance(0.3) { lo } else { r.range(lo, hi) };
            s.timing.confirm_delay = Duration::from_nanos(confirm);
            if let Err(e) = s.timing.validate() {
                panic!("seed {seed} fitted a confirm delay the config refuses: {e}");
            }
        }
        t
    }

    /// The group a seed is counted in: the mode, and for MREC whether within the rule.
    pub fn label(&self) -> String {
        match self.mode {
            Mode::Mrec if !self.within_rule() => {
                format!("MREC({}) outside the rule", self.regions.len())
            }
            _ => self.name(),
        }
    }

    pub fn name(&self) -> String {
        match self.mode {
            Mode::One => "one store".into(),
            Mode::Mrsc => "MRSC(3)".into(),
            Mode::Mrec => format!(
                "MREC({}){}",
                self.regions.len(),
                match (self.spikes, self.partitions) {
                    (false, false) => "",
                    (true, false) => " with lag spikes",
                    (false, true) => " with partitions",
                    (true, true) => " with lag spikes and partitions",
                }
            ),
        }
    }
}
