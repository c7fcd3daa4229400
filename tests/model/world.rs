//! The worlds the checker explores: each candidate's own settings, the operator's, what
//! may go wrong and how often, and how deep to look.

use std::time::Duration;

use drlease::timing::Timing;

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
}

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
}

impl World {
    /// The longest lease any pod or operator of this world uses: every pod and operator
    /// runs with `--longest-lease` set to it, as the README's rolling-change procedure says.
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

    pub fn max_lease(&self) -> u32 {
        self.cands.iter().map(|s| s.lease).max().unwrap_or(0)
    }

    /// The documented failover bound (README, "Unplanned failover"; the simulation's quiet
    /// phase): the longest lease duration any holder declares, plus the survivor's interval
    /// (when it last read before noticing), plus a confirm delay and its read. Store round
    /// trips take no time in a fault-free world.
    pub fn failover_bound(&self) -> u32 {
        let lease = self.max_lease();
        let interval = self.cands.iter().map(|s| s.interval).max().unwrap_or(0);
        let confirm = self.cands.iter().map(|s| s.confirm).max().unwrap_or(0);
        lease + interval + confirm
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
        names.join("; ")
    }
}

const ALL_PROCESS: &[ProcessKind] = &[
    ProcessKind::Eligibility,
    ProcessKind::Kill,
    ProcessKind::Term,
];
const CRASHES: &[ProcessKind] = &[ProcessKind::Kill, ProcessKind::Term];
const FREEZES: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
];
const DELETIONS: &[OperatorKind] = &[OperatorKind::Delete, OperatorKind::Seed];
const MAINTENANCE: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
    OperatorKind::Delete,
    OperatorKind::Seed,
];
const ALL_OPERATOR: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
    OperatorKind::Delete,
    OperatorKind::Seed,
    OperatorKind::Restore,
];

fn faults(network: u8, process: u8, operator: u8) -> Faults {
    Faults {
        network,
        process,
        process_kinds: ALL_PROCESS,
        operator,
        operator_kinds: MAINTENANCE,
        slow: false,
    }
}

/// The CI run: two candidates, small budgets, depths that finish in about two minutes of
/// a debug build.
pub fn ci_worlds() -> Vec<World> {
    use Settings as S;
    vec![
        World {
            name: "equal short settings; lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: faults(1, 2, 0),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
        },
        World {
            name:
                "long and short settings; operator (short settings) freezes, unfreezes, hands over",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: FREEZES,
                ..faults(1, 0, 2)
            },
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "long and short settings; operator (short settings) deletes, create-table seeds",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: DELETIONS,
                ..faults(1, 0, 2)
            },
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "short and long settings; lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::LONG],
            operator_lease: 3,
            faults: faults(1, 1, 0),
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "equal settings with a confirm delay; operator with the same settings",
            cands: vec![S::CONFIRM, S::CONFIRM],
            operator_lease: S::CONFIRM.lease,
            faults: faults(1, 0, 2),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "long and short settings; restores from a backup, lost messages",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: &[OperatorKind::Restore],
                ..faults(1, 0, 2)
            },
            init: Init::Backup,
            depth: 18,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "epochs near the top; SIGTERM and restart",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::TopEpoch,
            depth: 30,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "liveness: no faults but a kill -9 or SIGTERM, long and short settings",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::Seed,
            depth: 40,
            liveness: true,
            honour_windows: true,
        },
    ]
}

/// `DRLEASE_MODEL_DEEP=1` (with `--release`): three candidates with every kind of fault
/// (one of each class, so it stays within memory), and two-candidate worlds deeper, with a
/// slow network (late answers, requests landing after their caller gave up) and restores.
pub fn deep_worlds() -> Vec<World> {
    use Settings as S;
    let one_each = Faults {
        network: 1,
        process: 1,
        process_kinds: ALL_PROCESS,
        operator: 1,
        operator_kinds: MAINTENANCE,
        slow: false,
    };
    vec![
        World {
            name: "deep: three candidates, short, long, confirm; one fault of each class",
            cands: vec![S::SHORT, S::LONG, S::CONFIRM],
            operator_lease: S::SHORT.lease,
            faults: one_each.clone(),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "deep: three equal candidates from no item; one fault of each class",
            cands: vec![S::SHORT, S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: one_each,
            init: Init::Absent,
            depth: 22,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "deep: equal short settings; slow network, lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                slow: true,
                ..faults(2, 2, 0)
            },
            init: Init::Seed,
            depth: 16,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "deep: equal short settings; every operator write and restores from a backup, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                process_kinds: CRASHES,
                operator_kinds: ALL_OPERATOR,
                ..faults(0, 2, 2)
            },
            init: Init::Backup,
            depth: 16,
            liveness: false,
            honour_windows: true,
        },
        World {
            name: "deep liveness: three candidates, kill -9 or SIGTERM",
            cands: vec![S::CONFIRM, S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::Seed,
            depth: 44,
            liveness: true,
            honour_windows: true,
        },
    ]
}

/// The negative control: a core never told of the windows its gate granted releases while
/// one is open, and the next holder's window overlaps it. The checker must find that.
pub fn blind_to_windows() -> World {
    World {
        name: "negative control: the core is not told of the windows granted",
        cands: vec![Settings::SHORT, Settings::SHORT],
        operator_lease: 3,
        faults: Faults {
            process_kinds: CRASHES,
            ..faults(0, 1, 0)
        },
        init: Init::Seed,
        depth: 18,
        liveness: false,
        honour_windows: false,
    }
}
