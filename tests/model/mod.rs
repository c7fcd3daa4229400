//! The model: a small world around the real lease core, for stateright to explore.

use std::sync::Mutex;

use drlease::lease::{operator, LeaseRecord};
use stateright::{Model, Property};

mod actions;
mod apply;
pub mod catalog;
mod operator_writes;
mod report;
mod state;
mod store;
mod trace;
pub mod world;

pub use actions::Action;
pub use report::check;
pub use state::State;
use state::{Budget, Cand, Io};
use world::{Init, World, QUANTUM_MS};

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
            .map(|s| s.to_string())
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
            Init::Backup => {
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
        let held = LeaseRecord {
            owner: "z".into(),
            version: Some("z0.1".into()),
            epoch: Some(5),
            lease_duration_ms: Some(lease_ms),
            owner_session: Some("z0".into()),
            ..Default::default()
        };
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

pub const TWO_ACTIVE: &str = "never two candidates active at one instant";
pub const TWO_WINDOWS: &str = "never two controllers' write windows open at one instant";
pub const EPOCH_TWICE: &str = "no epoch handed out twice while no version went backwards";
pub const FAILOVER: &str = "someone active within the failover bound";
/// The path search's only property: "this state is never reached".
pub const SOUGHT: &str = "the state sought is not reached";
/// Not a safety property: shows the world is not vacuous (someone does become active).
pub const SOMEONE_ACTIVE: &str = "(sanity) someone becomes active";
/// Liveness worlds: a lease is taken over (after a kill) within the depth, so the bound is
/// really put to the test.
pub const TAKEOVER: &str = "(sanity) a takeover lands";

impl Model for LeaseModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let (item, epochs) = self.initial_item();
        let f = &self.world.faults;
        vec![State {
            now: 0,
            cands: (0..self.world.cands.len())
                .map(|c| Cand {
                    core: Some(self.start(c, 0)),
                    io: Io::Idle { wake_at: 0 },
                    generation: 0,
                    gate_until: 0,
                    controller_until: 0,
                    release_deadline: None,
                })
                .collect(),
            absent_since: item.is_none().then_some(0),
            item,
            history: self.initial_history(),
            orphans: Vec::new(),
            budget: Budget {
                network: f.network,
                process: f.process,
                operator: f.operator,
            },
            operator_writes: 0,
            rolled_back: false,
            epochs,
            epoch_reuse: None,
            // A release in the backup was superseded before the run: whoever took it
            // claimed it, and claims are kept (they are never expired).
            claims: self
                .initial_history()
                .iter()
                .filter(|(r, _)| r.is_released())
                .filter_map(|(r, _)| r.version.clone())
                .map(|v| (v, "z-successor".to_string()))
                .collect(),
            takeovers: 0,
            idle_since: self.world.liveness.then_some(0),
        }]
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
        if self.seeking.is_some() {
            return vec![Property::always(SOUGHT, |m: &LeaseModel, s: &State| {
                m.seeking.as_ref() != Some(s)
            })];
        }
        vec![
            Property::always(TWO_ACTIVE, |m: &LeaseModel, s: &State| {
                m.holds(TWO_ACTIVE, s.actives().len() <= 1, s)
            }),
            Property::always(TWO_WINDOWS, |m: &LeaseModel, s: &State| {
                m.holds(TWO_WINDOWS, s.open_windows().len() <= 1, s)
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
            Property::sometimes(SOMEONE_ACTIVE, |_, s: &State| !s.actives().is_empty()),
            Property::sometimes(TAKEOVER, |m: &LeaseModel, s: &State| {
                !m.world.liveness || s.takeovers > 0
            }),
        ]
    }
}
