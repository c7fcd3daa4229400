//! What a world is: each candidate's own settings, the operator's, what may go wrong and
//! how often, and how deep to look. The worlds themselves are in `catalog.rs`.

use std::time::Duration;

use drlease_core::timing::Timing;

/// One quantum of model time. Every setting is a whole number of quanta, so every deadline
/// the core computes falls on a quantum boundary: checking the properties in every state
/// (each state is one instant) checks them at every instant of real time.
pub const QUANTUM_MS: u64 = 100;

/// A candidate's settings, in quanta. Each is accepted by [`Timing::validate`] (checked
/// when a world is built).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub name: &'static str,
    pub interval: u32,
    pub lease: u32,
    pub deadline: u32,
    pub confirm: u32,
    /// The longest write window its controller is granted (capped by the validity left).
    pub window: u32,
}

impl Settings {
    /// The smallest lease the quantum allows: interval 100 ms, lease 300 ms, deadline 200 ms;
    /// a window as long as the whole validity.
    pub const SHORT: Settings = Settings {
        name: "short (interval 1, lease 3, deadline 2, window 2)",
        interval: 1,
        lease: 3,
        deadline: 2,
        confirm: 0,
        window: 2,
    };
    /// A lease more than twice as long, renewed half as often.
    pub const LONG: Settings = Settings {
        name: "long (interval 2, lease 8, deadline 6, window 4)",
        interval: 2,
        lease: 8,
        deadline: 6,
        confirm: 0,
        window: 4,
    };
    /// With a confirm delay: a new owner re-reads before answering active.
    pub const CONFIRM: Settings = Settings {
        name: "confirm (interval 1, lease 4, deadline 3, confirm 1, window 2)",
        interval: 1,
        lease: 4,
        deadline: 3,
        confirm: 1,
        window: 2,
    };

    /// For MREC over a lag of (up to) one quantum: a confirm delay above twice the lag (the
    /// docs/regions.md's rule), so a lease of 8 and a deadline of 7 (the delay must stay below half
    /// of it).
    pub const MREC: Settings = Settings {
        name: "mrec (interval 1, lease 8, deadline 7, confirm 3, window 2)",
        interval: 1,
        lease: 8,
        deadline: 7,
        confirm: 3,
        window: 2,
    };
    /// The same with a confirm delay of exactly twice the lag: outside the rule, by the
    /// boundary only.
    pub const MREC_TWICE: Settings = Settings {
        name: "mrec, confirm exactly twice the lag (interval 1, lease 8, deadline 7, confirm 2, window 2)",
        confirm: 2,
        ..Settings::MREC
    };
    /// The same with a confirm delay of one lag: well outside the rule.
    pub const MREC_HASTY: Settings = Settings {
        name: "mrec, confirm of one lag (interval 1, lease 8, deadline 7, confirm 1, window 2)",
        confirm: 1,
        ..Settings::MREC
    };

    /// Renews at half its deadline, not at its interval (R8): interval 2, deadline 2.
    pub const HALF: Settings = Settings {
        name: "half (interval 2, lease 4, deadline 2, window 2): renews every deadline / 2",
        interval: 2,
        lease: 4,
        deadline: 2,
        confirm: 0,
        window: 2,
    };

    /// These settings with the longest renew deadline `Timing::validate` accepts (R26), in
    /// whole quanta up to twice the lease: a world built on it tests the relation itself,
    /// not one safe value below it.
    pub fn longest_deadline_allowed(self) -> Settings {
        let deadline = (self.interval..=2 * self.lease)
            .rev()
            .find(|&d| {
                Settings {
                    deadline: d,
                    ..self
                }
                .timing()
                .validate()
                .is_ok()
            })
            .expect("some renew deadline is valid");
        let name = if deadline == self.deadline {
            self.name
        } else {
            Box::leak(format!("{} with deadline {deadline}", self.name).into_boxed_str())
        };
        Settings {
            name,
            deadline,
            ..self
        }
    }

    pub fn timing(&self) -> Timing {
        let q = |n: u32| Duration::from_millis(n as u64 * QUANTUM_MS);
        Timing {
            interval: q(self.interval),
            lease_duration: q(self.lease),
            renew_deadline: q(self.deadline),
            confirm_delay: q(self.confirm),
            longest_lease: q(self.lease),
        }
    }

    /// The call timeout in quanta (the loop bounds every store call by it).
    pub fn call_timeout(&self) -> u32 {
        quanta(self.timing().call_timeout())
    }
}

/// A duration in whole quanta; the worlds are chosen so that nothing is cut.
pub fn quanta(d: Duration) -> u32 {
    let ms = d.as_millis() as u64;
    assert_eq!(ms % QUANTUM_MS, 0, "{d:?} is not a whole number of quanta");
    (ms / QUANTUM_MS) as u32
}

/// The writes an operator (or a tool, or a restore) may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorKind {
    Freeze,
    Unfreeze,
    Handover,
    Delete,
    /// `create-table`'s seed into an empty slot, one operator lease after the item vanished.
    Seed,
    /// Any version the item had, not current for at least two leases (see `operator.rs`).
    Restore,
}

/// Faults of the candidates' processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessKind {
    /// The controller's health (eligibility) flips.
    Eligibility,
    /// kill -9; the process may be started again later (fresh core, new session).
    Kill,
    /// SIGTERM: release, then exit.
    Term,
    /// SIGSTOP, and SIGCONT at a moment of the checker's choosing (a process or VM paused
    /// longer than a lease: R13).
    Pause,
}

/// How many faults of each class one run may contain, and which.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Lost answers and lost requests (and, in slow worlds, requests that land after their
    /// caller gave up).
    pub network: u8,
    pub process: u8,
    pub process_kinds: &'static [ProcessKind],
    pub operator: u8,
    pub operator_kinds: &'static [OperatorKind],
    /// Answers may arrive quanta later (up to the call timeout), and a request may land after
    /// its caller timed out (up to twice the call timeout after it was sent).
    pub slow: bool,
    /// MREC: partitions (each until a heal); MRSC: a region cut off (until it is back), or
    /// a write refused for another region's write at the same moment.
    pub region: u8,
    /// MREC: how the world starts (a partition already under way, or just healed).
    pub split: Split,
}

/// MREC worlds about the heal: they start where a partition has done its work, each side
/// holding on its own replica, so the checker's depth goes to what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Connected at the start.
    No,
    /// Partitioned, both holding; the heal may come at any moment.
    BothHolding,
    /// Both holding, and the partition heals now.
    HealingNow,
}

/// How the table behaves across regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One copy every pod writes to: one write region, or a single-region table.
    OneStore,
    /// Multi-Region eventual consistency: a replica in each candidate's region, conditions
    /// checked against it alone; every landed write reaches the other replica within `lag`
    /// quanta (at a moment of the checker's choosing) unless a partition holds it back, and
    /// the later write wins. `marks`: the core's region marks (`--peer-regions`) on.
    Mrec { lag: u32, marks: bool },
    /// Multi-Region strong consistency: one linearizable copy, each candidate in a region of
    /// its own; a region cut off from the others fails every request of its pods.
    Mrsc,
}

/// The regions' names, a candidate's by its index (`a` in the first).
pub const REGIONS: [&str; 3] = ["east", "west", "south"];

/// The item the world starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// `create-table`'s seed: the first candidate acquires at once.
    Seed,
    /// No item: candidates write a placeholder and time it.
    Absent,
    /// A release by a process long gone, at the second-highest epoch there is: the next two
    /// owners exhaust the epochs.
    TopEpoch,
    /// The seed of a recreated table, with a backup of the old table's last versions (a
    /// tenure of a process long gone at epoch 5, and its own release) that a restore may
    /// write back at any time.
    Backup,
    /// The seed, already acquired by the first candidate and read by the others (fault
    /// free, before the checker starts): the depth goes to what a tenure meets.
    SeedHeld,
    /// Held by a process long gone (epoch 5, the longest lease): every candidate times it
    /// from its first read, and with equal settings they take it over at the same instant.
    Orphan,
    /// `create-table`'s seed (epoch 0) over the region marks an earlier item left, east's
    /// at epoch 6 and west's at 7: the item was deleted (or the recovery from an exhausted
    /// epoch run without deleting the marks), and no process remembers the old epochs.
    SeedOverMarks,
    /// A holder in west whose calls were lost late in its tenure (`cut_off_holder.rs`).
    CutOffHolder(CutOff),
}

/// How a world that starts from a cut-off holder gets there, before the checker starts (on
/// top of the fault budget): the seed acquired by the second candidate (region west) and
/// read by the first, then every call of the holder lost for `quanta` quanta, then
/// `renewals` writes of the holder landed (the latest not yet replicated), and, if
/// `request`, an operator's handover request to the first candidate written at east's
/// replica on the version there. `holder_loses_only`: from there on, only the holder's
/// messages may be lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutOff {
    pub quanta: u32,
    pub renewals: u8,
    pub request: bool,
    pub holder_loses_only: bool,
    /// The request written again this many times at east, each behind a renewal at west.
    pub rewrites: u8,
    /// The rewrites carry the id already on the item (an SDK's retry), not a fresh one.
    pub retry_same_id: bool,
}

impl World {
    /// The longest lease any pod or operator of this world uses: every pod and operator
    /// runs with `--longest-lease` set to it, as the rolling-change procedure of docs/operations.md says.
    pub fn longest_lease(&self) -> u32 {
        self.cands
            .iter()
            .map(|c| c.lease)
            .chain(std::iter::once(self.operator_lease))
            .max()
            .unwrap_or(self.operator_lease)
    }
}

#[derive(Clone, Debug)]
pub struct World {
    pub name: &'static str,
    pub cands: Vec<Settings>,
    /// The lease duration the operator's commands run with (`leaseDurationMs` they write).
    pub operator_lease: u32,
    pub faults: Faults,
    pub init: Init,
    pub depth: usize,
    /// Check that someone is active within the failover bound (quanta), fault-free worlds.
    pub liveness: bool,
    /// The core is told where the windows granted end (false only in the negative control).
    pub honour_windows: bool,
    pub mode: Mode,
    /// Each controller asks for a window at every instant its sidecar answers active (the
    /// longest windows there can be) instead of at moments of the checker's choosing: fewer
    /// states, for the worlds across regions.
    pub eager_controllers: bool,
    /// Only the first candidate runs at the start; the others start at moments of the
    /// checker's choosing (staggered starts).
    pub staggered: bool,
    /// Every candidate runs under the first one's identity (a misconfiguration: two pods
    /// given one name), each process with its own session.
    pub twins: bool,
}

impl World {
    pub fn validate(&self) {
        for s in &self.cands {
            if let Err(e) = s.timing().validate() {
                panic!("world {}: settings {} refused: {e}", self.name, s.name);
            }
            s.call_timeout();
            quanta(s.timing().release_deadline());
        }
    }

    /// The replica candidate `c` talks to: its region's under MREC, else the one copy.
    pub fn replica_of(&self, c: usize) -> usize {
        match self.mode {
            Mode::Mrec { .. } => c % 2,
            _ => 0,
        }
    }

    pub fn replicas(&self) -> usize {
        match self.mode {
            Mode::Mrec { .. } => 2.min(self.cands.len()),
            _ => 1,
        }
    }

    /// docs/regions.md's bound on a double holder once a partition heals ("Across regions"):
    /// one replication lag, one renew period, and a round trip. In quanta: the lag is
    /// `lag` (every held write arrives by heal + lag), the renew period is the longest any
    /// candidate's core uses (`Timing::renew_period`, the interval here), and a round trip
    /// is no quantum at all, since a fault-free call lands and is answered within the
    /// quantum it was sent in (the partition worlds lose no messages). Two actives are
    /// allowed while partitioned and up to this many quanta after the heal.
    pub fn conflict_bound(&self) -> u32 {
        let Mode::Mrec { lag, .. } = self.mode else {
            return 0;
        };
        let renew = self
            .cands
            .iter()
            .map(|s| quanta(s.timing().renew_period()))
            .max()
            .unwrap_or(0);
        lag + renew
    }

    pub fn max_window(&self) -> u32 {
        self.cands.iter().map(|s| s.window).max().unwrap_or(0)
    }

    pub fn max_lease(&self) -> u32 {
        self.cands.iter().map(|s| s.lease).max().unwrap_or(0)
    }

    /// The documented failover bound (docs/operations.md, "Unplanned failover"; the simulation's quiet
    /// phase): the longest lease duration any holder declares, plus the survivor's interval
    /// (when it last read before noticing), plus a confirm delay and its read. Store round
    /// trips take no time in a fault-free world.
    pub fn failover_bound(&self) -> u32 {
        let lease = self.max_lease();
        let interval = self.cands.iter().map(|s| s.interval).max().unwrap_or(0);
        let confirm = self.cands.iter().map(|s| s.confirm).max().unwrap_or(0);
        // Under MREC the survivor hears of the holder's last write up to one lag late
        // (docs/regions.md, "Across regions": failover is lease + lag + delay, and the interval).
        // And from a start race one more confirm delay: the model checker found two
        // acquires landing, the later one's pod killed before its confirm read, and the
        // other's confirm read failing on it before it could start timing it (58 actions).
        let (lag, race) = match self.mode {
            Mode::Mrec { lag, .. } => (lag, confirm),
            _ => (0, 0),
        };
        lease + interval + confirm + lag + race
    }

    pub fn settings_names(&self) -> String {
        let mut names: Vec<String> = self
            .cands
            .iter()
            .zip(["a", "b", "c"])
            .map(|(s, id)| format!("{id}: {}", s.name))
            .collect();
        if self.faults.operator > 0 {
            names.push(format!("operator lease {}", self.operator_lease));
        }
        match self.mode {
            Mode::OneStore => {}
            Mode::Mrec { lag, marks } => names.push(format!(
                "MREC, lag {lag}, region marks {}",
                if marks { "on" } else { "off" }
            )),
            Mode::Mrsc => names.push("MRSC".into()),
        }
        names.join("; ")
    }
}
