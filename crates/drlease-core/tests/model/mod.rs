//! The model: a small world around the real lease core, for stateright to explore.

use std::sync::Mutex;

use drlease_core::{operator, LeaseRecord};
use stateright::{Model, Property};

mod actions;
mod apply;
mod calls;
pub mod catalog;
mod cut_off_holder;
pub mod lww_worlds;
mod operator_writes;
pub mod region_worlds;
mod regions;
mod report;
mod request_worlds;
mod restore_worlds;
mod state;
mod store;
mod trace;
pub mod world;

pub use actions::Action;
pub use report::check;
pub use state::State;
use state::{Budget, Cand, Io, Replica};
use world::{Init, Mode, Split, World, QUANTUM_MS};

pub struct LeaseModel {
    pub world: World,
    pub identities: Vec<String>,
    /// The first state found violating each property. stateright keeps the *latest*
    /// violating path it finds, which after a full breadth-first run is one of the longest;
    /// the first one found, breadth first on one thread, is one of the shortest.
    pub first_violations: Mutex<Vec<(&'static str, State)>>,
    /// Set when this model only looks for the path to one state (see `report.rs`).
    pub seeking: Option<State>,
}

impl LeaseModel {
    pub fn new(world: World) -> Self {
        world.validate();
        let identities = ["a", "b", "c"][..world.cands.len()]
            .iter()
            .map(|s| if world.twins { "a" } else { s }.to_string())
            .collect();
        LeaseModel {
            world,
            identities,
            first_violations: Mutex::new(Vec::new()),
            seeking: None,
        }
    }

    /// Evaluates a safety property, noting the first state that violates it.
    fn holds(&self, name: &'static str, ok: bool, s: &State) -> bool {
        if !ok {
            let mut first = self
                .first_violations
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !first.iter().any(|(n, _)| *n == name) {
                first.push((name, s.clone()));
            }
        }
        ok
    }

    fn initial_item(&self) -> (Option<LeaseRecord>, Vec<(u64, String)>) {
        // The CLI declares (and create-table waits) the longest lease in force.
        let lease_ms = self.world.longest_lease() as u64 * QUANTUM_MS;
        match self.world.init {
            Init::Seed => {
                let seed = operator::seed("op0".into(), lease_ms).apply(None, 0);
                (Some(seed), Vec::new())
            }
            Init::Absent => (None, Vec::new()),
            Init::TopEpoch => {
                let epoch = u64::MAX - 1;
                let released = LeaseRecord {
                    owner: String::new(),
                    version: Some("z0.2".into()),
                    epoch: Some(epoch),
                    lease_duration_ms: Some(self.world.cands[0].lease as u64 * QUANTUM_MS),
                    owner_session: Some(String::new()),
                    released_by: Some("z0".into()),
                    released_from: Some("z0.1".into()),
                    ..Default::default()
                };
                (Some(released), vec![(epoch, "z0".to_string())])
            }
            Init::Orphan => (Some(gone_holder(lease_ms)), vec![(5, "z0".to_string())]),
            Init::Backup | Init::SeedHeld | Init::SeedOverMarks | Init::CutOffHolder(_) => {
                let seed = operator::seed("op0".into(), lease_ms).apply(None, 0);
                (Some(seed), Vec::new())
            }
        }
    }

    /// What a restore may pick from at the start.
    fn initial_history(&self) -> Vec<(LeaseRecord, Option<u32>)> {
        if self.world.init != Init::Backup {
            return Vec::new();
        }
        let lease_ms = self.world.cands[0].lease as u64 * QUANTUM_MS;
        let held = gone_holder(lease_ms);
        let released = LeaseRecord {
            owner: String::new(),
            version: Some("z0.2".into()),
            epoch: Some(5),
            lease_duration_ms: Some(lease_ms),
            owner_session: Some(String::new()),
            released_by: Some("z0".into()),
            released_from: Some("z0.1".into()),
            ..Default::default()
        };
        vec![(held, None), (released, None)]
    }
}

impl LeaseModel {
    /// The region marks there before the run, written before any write of it (stamp 0).
    fn initial_marks(&self) -> Vec<drlease_core::RegionMark> {
        if self.world.init != Init::SeedOverMarks {
            return Vec::new();
        }
        [(6, "z0", "z"), (7, "y0", "y")]
            .into_iter()
            .enumerate()
            .map(|(r, (epoch, session, owner))| drlease_core::RegionMark {
                region: world::REGIONS[r].into(),
                epoch,
                session: session.into(),
                owner: owner.into(),
            })
            .collect()
    }
}

/// The tenure of a process long gone (`z`, epoch 5): the orphan worlds start with it, and the
/// backup holds it for restores.
fn gone_holder(lease_ms: u64) -> LeaseRecord {
    LeaseRecord {
        owner: "z".into(),
        version: Some("z0.1".into()),
        epoch: Some(5),
        lease_duration_ms: Some(lease_ms),
        owner_session: Some("z0".into()),
        ..Default::default()
    }
}

pub const TWO_ACTIVE: &str = "never two candidates active at one instant";
pub const TWO_WINDOWS: &str = "never two controllers' write windows open at one instant";
pub const EPOCH_TWICE: &str = "no epoch handed out twice while no version went backwards";
pub const FAILOVER: &str = "someone active within the failover bound";
/// Liveness worlds: a holder renews in time (R8), so with no fault nobody stops being active.
pub const NO_LAPSE: &str = "no active holder lapses without a fault";
/// An unhealthy controller's pod steps down at once (R16): it never answers active.
pub const INELIGIBLE_ACTIVE: &str = "a pod whose controller is unhealthy never answers active";
/// The path search's only property: "this state is never reached".
pub const SOUGHT: &str = "the state sought is not reached";
/// Not a safety property: shows the world is not vacuous (someone does become active).
pub const SOMEONE_ACTIVE: &str = "(sanity) someone becomes active";
/// Liveness worlds with kills: a lease is taken over (after a kill) within the depth, so the
/// bound is really put to the test.
pub const TAKEOVER: &str = "(sanity) a takeover lands";

impl Model for LeaseModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let start = self.initial();
        match self.world.faults.split {
            Split::No if self.world.init == Init::SeedHeld => vec![self.first_holding(start)],
            Split::No => match self.world.init {
                Init::CutOffHolder(cut) => vec![self.holder_cut_off(start, cut)],
                _ => vec![start],
            },
            Split::BothHolding => vec![self.both_holding(start)],
            Split::HealingNow => {
                let mut healed = self.both_holding(start);
                self.apply(&mut healed, Action::Heal);
                vec![healed]
            }
        }
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.enabled(state, actions);
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut next = last.clone();
        self.apply(&mut next, action);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.checked()
    }
}

impl LeaseModel {
    fn initial(&self) -> State {
        let (item, epochs) = self.initial_item();
        let f = &self.world.faults;
        // A release in the backup was superseded before the run: whoever took it claimed
        // it, and claims are kept (they are never expired).
        // Every replica starts alike: what was there before the run has replicated.
        let mut replica = Replica::new(item.clone());
        for (r, _) in self.initial_history() {
            if let Some(v) = r.version.clone().filter(|_| r.is_released()) {
                replica = replica.with_claim(v, "z-successor".to_string());
            }
        }
        for mark in self.initial_marks() {
            replica = replica.with_mark(mark);
        }
        State {
            now: 0,
            cands: (0..self.world.cands.len())
                .map(|c| Cand {
                    core: (c == 0 || !self.world.staggered).then(|| self.start(c, 0)),
                    io: if c == 0 || !self.world.staggered {
                        Io::Idle { wake_at: 0 }
                    } else {
                        Io::Stopped
                    },
                    generation: 0,
                    gate_until: 0,
                    controller_until: 0,
                    release_deadline: None,
                    paused: false,
                })
                .collect(),
            absent_since: item.is_none().then_some(0),
            replicas: vec![replica; self.world.replicas()],
            replication: Vec::new(),
            stamps: 0,
            partitioned: f.split != Split::No,
            healed_at: None,
            cut_off: None,
            history: self.initial_history(),
            orphans: Vec::new(),
            budget: Budget {
                network: f.network,
                process: f.process,
                operator: f.operator,
                region: f.region,
            },
            operator_writes: 0,
            rolled_back: f.split != Split::No,
            epochs,
            epoch_reuse: None,
            takeovers: 0,
            idle_since: self.world.liveness.then_some(0),
            lapsed: false,
        }
    }

    fn checked(&self) -> Vec<Property<Self>> {
        if self.seeking.is_some() {
            return vec![Property::always(SOUGHT, |m: &LeaseModel, s: &State| {
                m.seeking.as_ref() != Some(s)
            })];
        }
        vec![
            Property::always(TWO_ACTIVE, |m: &LeaseModel, s: &State| {
                let ok = s.actives().len() <= 1 || m.double_allowed(s, 0);
                m.holds(TWO_ACTIVE, ok, s)
            }),
            Property::always(TWO_WINDOWS, |m: &LeaseModel, s: &State| {
                let ok = s.open_windows().len() <= 1 || m.double_allowed(s, m.world.max_window());
                m.holds(TWO_WINDOWS, ok, s)
            }),
            Property::always(EPOCH_TWICE, |m: &LeaseModel, s: &State| {
                m.holds(EPOCH_TWICE, s.epoch_reuse.is_none(), s)
            }),
            Property::always(FAILOVER, |m: &LeaseModel, s: &State| {
                let ok = s
                    .idle_since
                    .is_none_or(|t| s.now - t <= m.world.failover_bound());
                m.holds(FAILOVER, ok, s)
            }),
            Property::always(NO_LAPSE, |m: &LeaseModel, s: &State| {
                m.holds(NO_LAPSE, !s.lapsed, s)
            }),
            Property::always(INELIGIBLE_ACTIVE, |m: &LeaseModel, s: &State| {
                let ok = s
                    .actives()
                    .into_iter()
                    .all(|c| s.cands[c].core.as_ref().is_none_or(|k| k.is_eligible()));
                m.holds(INELIGIBLE_ACTIVE, ok, s)
            }),
            Property::sometimes(SOMEONE_ACTIVE, |_, s: &State| !s.actives().is_empty()),
            Property::sometimes(TAKEOVER, |m: &LeaseModel, s: &State| {
                !m.world.liveness || m.world.faults.process == 0 || s.takeovers > 0
            }),
            Property::sometimes(RACE, |m: &LeaseModel, s: &State| {
                !matches!(m.world.mode, Mode::Mrec { .. }) || s.diverged()
            }),
            Property::sometimes(PARTITIONED_PAIR, |m: &LeaseModel, s: &State| {
                let split = s.partitioned || s.healed_at == Some(s.now);
                !m.partitions() || (split && s.actives().len() > 1)
            }),
            Property::sometimes(PAST_BOUND, |m: &LeaseModel, s: &State| {
                let bound = m.world.conflict_bound();
                !m.partitions() || s.healed_at.is_some_and(|h| s.now > h + bound)
            }),
            Property::sometimes(CONFLICT_FOUND, |m: &LeaseModel, s: &State| {
                !m.partitions()
                    || (s.healed_at.is_some()
                        && s.cands.iter().any(|c| {
                            c.core
                                .as_ref()
                                .is_some_and(|k| k.view().region_conflicts > 0)
                        }))
            }),
        ]
    }
}

/// MREC sanity: the replicas' items are held by two different tenures at once (two
/// acquires both landed, each on its own replica), so the race the confirm delay is for
/// is really explored.
pub const RACE: &str = "(sanity) both replicas held by different tenures at once";
/// Partition worlds: both sides hold during a partition (so the bound after the heal is put
/// to the test), and the region marks end it.
pub const PARTITIONED_PAIR: &str = "(sanity) two actives during a partition or at its heal";
/// Partition worlds look past the end of the bound after a heal (else it is not tested).
pub const PAST_BOUND: &str = "(sanity) time passes beyond the bound after a heal";
pub const CONFLICT_FOUND: &str = "(sanity) a region conflict found after the heal";

impl LeaseModel {
    /// MREC worlds with partitions.
    fn partitions(&self) -> bool {
        let f = &self.world.faults;
        matches!(self.world.mode, Mode::Mrec { .. }) && (f.region > 0 || f.split != Split::No)
    }

    /// Two actives (or two windows, `slack` quanta longer) are outside the promise only
    /// while a partition lasts, and up to docs/regions.md's bound after it heals.
    fn double_allowed(&self, s: &State, slack: u32) -> bool {
        s.partitioned
            || s.healed_at
                .is_some_and(|h| s.now <= h + self.world.conflict_bound() + slack)
    }
}

impl State {
    fn diverged(&self) -> bool {
        let held = |r: &Replica| {
            r.item()
                .filter(|i| i.is_held())
                .and_then(|i| i.owner_session.clone())
        };
        self.replicas.len() > 1 && {
            let (a, b) = (held(&self.replicas[0]), held(&self.replicas[1]));
            a.is_some() && b.is_some() && a != b
        }
    }
}
