//! What each choice does to the world. The candidates' calls (`calls.rs`) go through the
//! one driver of the Step protocol as the lease loop's do; after every call a publish
//! hands the core the end of the latest window its gate granted (`set_granted_until`, as
//! `Gate::set` returns it).

use drlease_core::{CoreConfig, LeaseCore, Regions};

use super::actions::Action;
use super::calls::stop;
use super::state::{local, model_time, Cand, Fate, Io, Orphan, Reply, State};
use super::store::Rules;
use super::world::{quanta, Mode, OperatorKind, REGIONS};
use super::LeaseModel;

impl LeaseModel {
    pub fn apply(&self, s: &mut State, action: Action) {
        match action {
            Action::Step(c) => self.step(s, c),
            Action::Land(c) => self.land(s, c),
            Action::Deliver(c) => {
                self.land(s, c);
                self.answer(s, c);
            }
            Action::Answer(c) => self.answer(s, c),
            Action::LoseAnswer(c) => {
                s.budget.network -= 1;
                self.set_fate(s, c, Fate::AnswerLost);
            }
            Action::LoseRequest(c) => {
                s.budget.network -= 1;
                self.set_fate(s, c, Fate::Lost);
            }
            Action::Delay(c) => {
                s.budget.network -= 1;
                self.set_fate(s, c, Fate::Late);
            }
            Action::Timeout(c) => self.time_out(s, c),
            Action::LandOrphan(i) => {
                let orphan = s.orphans.remove(i);
                if !self.cut_off(s, orphan.from) {
                    s.land(
                        self.world.replica_of(orphan.from),
                        &orphan.req,
                        self.rules(),
                    );
                }
            }
            Action::Tick => {
                s.now += 1;
                let now = s.now;
                s.orphans.retain(|o| o.expiry >= now);
            }
            Action::Grant(c) => self.grant(s, c),
            Action::Eligible(..) | Action::Kill(_) | Action::Term(_) | Action::Pause(_) => {
                self.process(s, action)
            }
            Action::Resume(c) => s.cands[c].paused = false,
            Action::Restart(c) => self.restart(s, c),
            Action::Freeze
            | Action::Unfreeze
            | Action::Handover(_)
            | Action::Delete
            | Action::Seed
            | Action::Restore(_) => {
                s.budget.operator -= 1;
                self.operate(s, action);
            }
            Action::Replicate(_)
            | Action::Partition
            | Action::Heal
            | Action::CutOff(_)
            | Action::Reconnect
            | Action::Conflict(_) => self.region(s, action),
        }
        self.after_action(s);
    }

    /// After every choice: stamps renumbered, waits taken, eager controllers granted, epochs
    /// handed out (MREC: when a tenure answers active), idleness noted (liveness).
    fn after_action(&self, s: &mut State) {
        s.renumber_stamps();
        for c in 0..s.cands.len() {
            self.settle(s, c);
            if self.world.eager_controllers && self.grant_extends(s, c) {
                self.grant(s, c);
            }
        }
        if !self.rules().epochs_at_landing {
            let per_region = matches!(self.world.mode, Mode::Mrec { marks: true, .. });
            for c in s.actives() {
                if let Some(epoch) = s.cands[c].core.as_ref().and_then(|k| k.view().epoch) {
                    let session = session(c, s.cands[c].generation);
                    s.hand_out(epoch, &session, per_region);
                }
            }
        }
        if self.world.liveness {
            // Someone was active, nobody is, and no process fault has happened: a lapse.
            let was_active = s.idle_since.is_none();
            let unfaulted = s.budget.process == self.world.faults.process;
            if was_active && unfaulted && s.actives().is_empty() {
                s.lapsed = true;
            }
            s.idle_since = if s.actives().is_empty() {
                s.idle_since.or(Some(s.now))
            } else {
                None
            };
        }
    }

    /// A process fault: eligibility flips, kill -9, SIGTERM.
    fn process(&self, s: &mut State, action: Action) {
        match action {
            Action::Eligible(c, eligible) => {
                s.budget.process -= 1;
                let cand = &mut s.cands[c];
                if let Some(core) = cand.core.as_mut() {
                    // The loop applies it and publishes at once (an ineligible holder stops
                    // answering active now), then steps.
                    core.set_eligible(eligible);
                }
                self.publish(cand, c);
                cand.io = Io::Idle { wake_at: s.now };
            }
            Action::Kill(c) => {
                s.budget.process -= 1;
                let cand = &mut s.cands[c];
                if let Io::Busy(op) = &cand.io {
                    if matches!(op.fate, Fate::Flying | Fate::Late) {
                        // Already on the wire: it may still land, in this quantum (or, in
                        // slow worlds, until its call would have timed out).
                        let expiry = if self.world.faults.slow {
                            op.timeout_at
                        } else {
                            s.now
                        };
                        s.orphans.push(Orphan {
                            from: c,
                            req: op.req.clone(),
                            expiry,
                        });
                    }
                }
                stop(cand);
            }
            Action::Term(c) => {
                s.budget.process -= 1;
                // The signal handler revokes the gate at once, even during a store call, and
                // gives the loop until the last window ends plus the release deadline.
                let release = quanta(self.world.cands[c].timing().release_deadline());
                let cand = &mut s.cands[c];
                cand.release_deadline = Some(cand.gate_until.max(s.now) + release);
                if let Io::Idle { wake_at } = &mut cand.io {
                    *wake_at = s.now;
                }
            }
            Action::Pause(c) => {
                s.budget.process -= 1;
                s.cands[c].paused = true;
            }
            _ => unreachable!("not a process fault: {action:?}"),
        }
    }

    /// What replication and the regions do: a write reaching the other copy, a partition
    /// and its heal, MRSC's cut-off region and write conflicts.
    fn region(&self, s: &mut State, action: Action) {
        match action {
            Action::Replicate(i) => s.replicate(i),
            Action::Partition => {
                s.budget.region -= 1;
                s.partitioned = true;
                // Both sides may hold until the heal, each at an epoch of its own choosing:
                // epochs may repeat after it (docs/regions.md, "Across regions").
                s.rolled_back = true;
            }
            Action::Heal => s.heal(self.lag()),
            Action::CutOff(r) => {
                s.budget.region -= 1;
                s.cut_off = Some(r);
            }
            Action::Reconnect => s.cut_off = None,
            Action::Conflict(c) => {
                s.budget.region -= 1;
                self.set_fate(s, c, Fate::Landed(Box::new(Reply::WriteConflict)));
            }
            _ => unreachable!("not a region event: {action:?}"),
        }
    }

    pub fn keep_history(&self) -> bool {
        self.world
            .faults
            .operator_kinds
            .contains(&OperatorKind::Restore)
            && self.world.faults.operator > 0
    }

    pub fn rules(&self) -> Rules {
        let mrec = matches!(self.world.mode, Mode::Mrec { .. });
        Rules {
            keep_history: self.keep_history(),
            lag: mrec.then(|| self.lag()),
            epochs_at_landing: !mrec,
        }
    }

    pub fn lag(&self) -> u32 {
        match self.world.mode {
            Mode::Mrec { lag, .. } => lag,
            _ => 0,
        }
    }

    /// MRSC: candidate `c`'s region is cut off from the others.
    pub(super) fn cut_off(&self, s: &State, c: usize) -> bool {
        s.cut_off.is_some_and(|r| r as usize == c)
    }

    fn regions(&self, c: usize) -> Option<Regions> {
        let Mode::Mrec { marks: true, .. } = self.world.mode else {
            return None;
        };
        let n = self.world.replicas();
        Some(Regions {
            own: REGIONS[c % n].into(),
            peers: (0..n)
                .filter(|&r| r != c % n)
                .map(|r| REGIONS[r].into())
                .collect(),
        })
    }

    pub fn start(&self, c: usize, generation: u8) -> LeaseCore {
        let core = LeaseCore::new(CoreConfig {
            identity: self.identities[c].clone(),
            session: session(c, generation),
            timing: drlease_core::timing::Timing {
                longest_lease: std::time::Duration::from_millis(
                    self.world.longest_lease() as u64 * super::world::QUANTUM_MS,
                ),
                ..self.world.cands[c].timing()
            },
            store_is_private: false,
            affinity: Default::default(),
            regions: self.regions(c),
        });
        // R7: a process that has read nothing has decided nothing.
        let role = core.view().role_at(super::state::local(c, 0));
        assert_eq!(
            role,
            drlease_core::Role::Unknown,
            "a fresh process answers {role:?} before its first read"
        );
        core
    }

    fn restart(&self, s: &mut State, c: usize) {
        let cand = &mut s.cands[c];
        cand.generation += 1;
        cand.core = Some(self.start(c, cand.generation));
        cand.io = Io::Idle { wake_at: s.now };
        cand.gate_until = 0;
        cand.release_deadline = None;
    }

    /// The loop publishes its view after every call; `Gate::set` hands back where the latest
    /// window granted ends, and the core is told (unless the world is the negative control
    /// that shows the checker catches windows outliving a release).
    pub(super) fn publish(&self, cand: &mut Cand, c: usize) {
        let until = local(c, cand.gate_until);
        if let Some(core) = cand.core.as_mut().filter(|_| self.world.honour_windows) {
            core.set_granted_until(until);
        }
    }

    /// Would the controller get a window now that ends later than every earlier one?
    pub fn grant_extends(&self, s: &State, c: usize) -> bool {
        self.granted_window(s, c)
            .is_some_and(|until| until > s.cands[c].gate_until)
    }

    /// The window an "active" answer grants now (as `Gate::ask` does): up to the validity
    /// left, at most the configured window. None when the gate grants nothing.
    fn granted_window(&self, s: &State, c: usize) -> Option<u32> {
        let cand = &s.cands[c];
        if cand.release_deadline.is_some() || cand.paused || !cand.is_active(c, s.now) {
            return None;
        }
        let until = cand.core.as_ref()?.view().active_until?;
        Some(model_time(c, until).min(s.now + self.world.cands[c].window))
    }

    fn grant(&self, s: &mut State, c: usize) {
        if let Some(until) = self.granted_window(s, c) {
            let cand = &mut s.cands[c];
            cand.gate_until = cand.gate_until.max(until);
            cand.controller_until = cand.controller_until.max(until);
        }
    }
}

/// A process's session: its candidate's letter and how many times it was started before,
/// so that twins (one identity) still have sessions of their own.
pub fn session(c: usize, generation: u8) -> String {
    format!("{}{generation}", ["a", "b", "c"][c])
}
