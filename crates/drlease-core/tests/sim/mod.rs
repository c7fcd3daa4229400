//! A deterministic discrete-event simulation of several lease candidates sharing one
//! store, under seeded faults. It drives the real `LeaseCore`; the store applies the same
//! conditional-write rules as `MemoryStore` (which the moto tests hold to DynamoDB's).
//!
//! Time is virtual (nanoseconds of "real" time). Each candidate sees it through its own
//! clock, which may run fast or slow within the drift the configuration allows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use drlease_core::clock::Mono;
use drlease_core::core::Affinity;
use drlease_core::driver::{Call, Step};
use drlease_core::{CoreConfig, LeaseCore, LeaseRecord, Role, VersionKey};

mod affinity;
mod blame;
mod candidates;
mod checks;
mod eligibility;
mod figures;
mod network;
mod operators;
mod quiet;
mod regions;
mod regressions;
mod replicas;
mod scenario;
mod topology;

use candidates::Candidate;
pub use figures::Figures;
use network::Op;
use operators::Action;
pub use scenario::{Rng, Scenario};
pub use topology::{Mode, Topology};

const MS: u64 = 1_000_000;

/// `Ineligible`: the controller beside `c` turns unhealthy (`None`: beside whoever holds
/// the lease then) for a while; `Eligible`: healthy again.
#[derive(Debug)]
enum Ev {
    Wake {
        c: usize,
        seq: u64,
    },
    Apply {
        op: u64,
    },
    Respond {
        op: u64,
    },
    Pause {
        c: usize,
        for_ns: u64,
    },
    Crash {
        c: usize,
        down_ns: u64,
    },
    Stop {
        c: usize,
        down_ns: u64,
    },
    Restart {
        c: usize,
    },
    Outage {
        for_ns: u64,
    },
    Operator(Action),
    Ineligible {
        c: Option<usize>,
        for_ns: u64,
    },
    Eligible {
        c: usize,
    },
    /// A landed write reaching another replica (MREC).
    Replicate(Box<replicas::Replication>),
    /// A region cut off from the others (MREC), or from the table (MRSC).
    Partition {
        region: usize,
        for_ns: u64,
    },
    Heal,
    /// Replication slower than half the confirm delay for a while (MREC).
    Spike {
        for_ns: u64,
        lag_ns: u64,
    },
}

/// `DRLEASE_SIM_TRACE=1` with `DRLEASE_SIM_SEED`: every write and read answer, as it happens.
/// The line is built only when tracing: this sits on the simulation's hot path.
fn trace(now: u64, item: Option<&LeaseRecord>, what: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("DRLEASE_SIM_TRACE").is_some()) {
        eprintln!("{:>10.3} ms  {}: {item:?}", now as f64 / MS as f64, what());
    }
}

/// What went wrong in a run, with enough to replay it.
#[derive(Debug)]
pub struct Violation {
    pub seed: u64,
    pub at_ms: f64,
    pub what: String,
    /// One store, MREC or MRSC (`topology.rs`).
    pub mode: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub events: u64,
    pub owner_changes: u64,
    /// Time from killing the settled holder to a healthy candidate answering active.
    pub failover: Duration,
    pub failover_bound: Duration,
    /// MREC outside the rule: times two candidates answered active at once (each episode
    /// counted once), and the longest any of them lasted once replication worked again,
    /// as a fraction of the stated bound.
    pub double_holders: u64,
    pub double_after_heal: f64,
    /// MREC: a failback due from a holder in another region that had not happened when
    /// checked (`affinity.rs`).
    pub failbacks_unreached: u64,
}

pub struct Sim {
    sc: Scenario,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Ev>>,
    ops: HashMap<u64, Op>,
    next_op: u64,
    cands: Vec<Candidate>,
    /// The copy in hand (`replicas.rs`): the lease item, the release claims (a restore of
    /// the lease item does not bring them back, as in DynamoDB, where they are items of
    /// their own), the region marks, and the write time of each key (MREC).
    replica: replicas::Replica,
    outage_until: u64,
    faults: bool,
    highest_landed_epoch: u64,
    last_active: Option<(String, u64)>,
    stats: Outcome,
    /// Every version the item had, with the time it was replaced: what a restore picks from.
    history: Vec<(LeaseRecord, u64)>,
    /// A deletion or restore happened: epochs can repeat from here on (a candidate that
    /// never saw the higher epoch hands out the same number again), so only the promise of
    /// one active at a time is checked.
    rolled_back: bool,
    op_tokens: u64,
    repl: replicas::ReplState,
    /// Replication lags and the operators' regions draw from this stream (MREC only).
    regions_rng: Rng,
    /// Since when two candidates have been active, and two writing (MREC outside the rule).
    dual: regions::Episodes,
    /// Eligibility flaps and restores aimed at a moment draw from this stream, so the
    /// network's draws stay those of seeds without them.
    aim: Rng,
    blame: blame::Provenance,
}

impl Sim {
    pub fn new(sc: Scenario) -> Sim {
        let mut rng = Rng::new(sc.seed.wrapping_mul(31).wrapping_add(7));
        let sc_seed = sc.seed;
        let mut cands = Vec::new();
        for i in 0..sc.candidates {
            let identity = if sc.twins && i == 1 {
                "cand-0".to_string()
            } else {
                format!("cand-{i}")
            };
            let rate = 1.0 + (rng.unit() * 2.0 - 1.0) * sc.drift;
            cands.push(Candidate {
                identity,
                core: None,
                generation: 0,
                rate,
                offset_ns: rng.range(1, 10_000) * MS,
                paused_until: 0,
                wake_seq: 0,
                busy: false,
                restarts: 0,
                granted_until: Mono::ZERO,
                eligible: true,
                received: None,
                gained: None,
                release_sent: None,
                active_after_release: false,
                faulted_at: 0,
            });
        }
        let mut sim = Sim {
            sc,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            ops: HashMap::new(),
            next_op: 0,
            cands,
            replica: Default::default(),
            outage_until: 0,
            faults: true,
            highest_landed_epoch: 0,
            last_active: None,
            stats: Outcome::default(),
            history: Vec::new(),
            rolled_back: false,
            repl: Default::default(),
            regions_rng: Rng::new(sc_seed ^ 0x0EE9_0A75),
            dual: Default::default(),
            op_tokens: 0,
            aim: Rng::new(sc_seed ^ 0x0A1A_ED00),
            blame: Default::default(),
        };
        for c in 0..sim.cands.len() {
            let start = sim.rng.range(0, sim.interval_ns(c));
            sim.start(c, start);
        }
        sim.schedule_faults();
        if sim.sc.operators {
            sim.schedule_operators();
        }
        if sim.sc.flaps {
            sim.schedule_flaps();
        }
        sim.schedule_regions();
        sim
    }

    fn push(&mut self, at: u64, ev: Ev) {
        let id = self.events.len();
        self.events.push(Some(ev));
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, id)));
    }

    /// The longest lease of any candidate: the scale of faults and phases.
    /// The longest lease in force: every pod times versions by at least this
    /// (`--longest-lease`), so faults, settling and the failover bound scale on it.
    fn lease_ns(&self) -> u64 {
        self.sc.longest_in_force().as_nanos() as u64
    }

    fn interval_ns(&self, c: usize) -> u64 {
        self.sc.settings[c].timing.interval.as_nanos() as u64
    }

    fn schedule_faults(&mut self) {
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let n = self.cands.len();
        let count = self.rng.range(3, 10);
        for _ in 0..count {
            let at = self.rng.range(lease, chaos);
            let c = self.rng.range(0, n as u64 - 1) as usize;
            let ev = match self.rng.range(0, 3) {
                0 => Ev::Pause {
                    c,
                    for_ns: self.rng.range(lease / 10, lease * 3),
                },
                1 => Ev::Crash {
                    c,
                    down_ns: self.rng.range(0, lease * 2),
                },
                2 => Ev::Stop {
                    c,
                    down_ns: self.rng.range(0, lease * 2),
                },
                _ => Ev::Outage {
                    for_ns: self.rng.range(lease / 5, lease * 2),
                },
            };
            self.push(at, ev);
        }
    }

    fn trace(&self, what: impl FnOnce() -> String) {
        trace(self.now, self.replica.item(), what);
    }
}

impl Sim {
    /// Runs events until virtual time `until`; `stop_when` ends it early.
    fn run_until(
        &mut self,
        until: u64,
        mut stop_when: impl FnMut(&Sim) -> bool,
    ) -> Result<bool, Violation> {
        while let Some(Reverse((at, _, id))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = at;
            self.stats.events += 1;
            // A controller asking at the last instant before this event changes anything.
            self.grant_windows();
            let ev = self.events[id].take().expect("each event runs once");
            match ev {
                Ev::Wake { c, seq } if self.cands[c].wake_seq == seq => self.step_candidate(c),
                Ev::Apply { op } => self.apply(op).map_err(|e| self.violation(e))?,
                Ev::Respond { op } => self.respond(op),
                Ev::Pause { c, for_ns } if self.faults && self.cands[c].alive() => {
                    self.cands[c].paused_until = self.now + for_ns;
                    self.cands[c].faulted_at = self.now + for_ns;
                }
                Ev::Crash { c, down_ns } if self.faults && self.cands[c].alive() => {
                    self.cands[c].core = None;
                    self.cands[c].generation += 1;
                    self.push(self.now + down_ns, Ev::Restart { c });
                }
                Ev::Stop { c, down_ns } if self.faults => {
                    if let Some(core) = self.cands[c].core.as_mut() {
                        core.begin_release();
                        self.push(self.now + down_ns, Ev::Restart { c });
                    }
                }
                Ev::Restart { c } => {
                    if !self.cands[c].alive() {
                        self.start(c, self.now);
                    } else if self.cands[c]
                        .core
                        .as_ref()
                        .is_some_and(|k| k.is_releasing())
                    {
                        // Still releasing: try again shortly.
                        self.push(self.now + self.interval_ns(c), Ev::Restart { c });
                    }
                }
                Ev::Outage { for_ns } if self.faults => {
                    self.outage_until = self.outage_until.max(self.now + for_ns);
                }
                // A seed or an unfreeze already on its way completes; new actions stop with
                // the chaos phase.
                Ev::Operator(a @ (Action::Seed | Action::Unfreeze)) => self.operate(a),
                Ev::Operator(a) if self.faults => self.operate(a),
                Ev::Ineligible { c, for_ns } if self.faults => self.make_ineligible(c, for_ns),
                Ev::Eligible { c } => self.make_eligible(c),
                Ev::Replicate(rep) => self.replicate(rep),
                Ev::Partition { region, for_ns } if self.faults => self.partition(region, for_ns),
                Ev::Heal => self.heal(),
                Ev::Spike { for_ns, lag_ns } if self.faults => self.spike(for_ns, lag_ns),
                _ => {}
            }
            self.check().map_err(|e| self.violation(e))?;
            if stop_when(self) {
                return Ok(true);
            }
        }
        self.now = self.now.max(until);
        Ok(false)
    }
}
