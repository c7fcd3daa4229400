//! Writers of the item other than the candidates: operators' commands, deletion, restores,
//! a recreated table. They write at an instant, through the CLI's own request builders.

use std::collections::HashSet;

use drlease_core::{operator, LeaseRecord, VersionKey};

use super::topology::Mode;
use super::{Ev, Sim};
use crate::sim::Rng;

/// A write to the item by someone other than a candidate, at a random time.
#[derive(Clone, Copy, Debug)]
pub(super) enum Action {
    /// `drlease freeze`.
    Freeze,
    /// `drlease unfreeze` (if frozen).
    Unfreeze,
    /// `drlease handover` to a candidate, to nobody alive, or to anyone (`*`).
    Handover(Option<usize>),
    /// The item deleted by hand.
    Delete,
    /// An older version written back in place (a restore, or a tool replaying a copy): any
    /// version the item ever had (`Some`: that one in the history), at any time, even the
    /// moment after it was replaced. Two are left out, as nothing that polls can tell them:
    /// a version some live process was last shown (to it, no change at all), and the seed
    /// (to a fresh candidate, a new table). Without `restore_any`, as before: only a
    /// version not current for at least two leases.
    Restore(Option<usize>),
    /// The table dropped and recreated by `drlease create-table`: the item vanishes, and the
    /// seed is written one lease duration (the operator's) later: the command's wait.
    Recreate,
    /// `create-table`'s seed, conditional on the item's absence.
    Seed,
}

impl Sim {
    pub(super) fn schedule_operators(&mut self) {
        let mut r = Rng::new(self.sc.seed ^ 0x0FE2_A702);
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let interval = self.sc.longest_interval().as_nanos() as u64;
        let n = self.cands.len() as u64;
        for _ in 0..r.range(2, 8) {
            let at = r.range(lease, chaos);
            let action = match r.range(0, 9) {
                // The reported bug: freeze, then unfreeze at once.
                0 | 1 => {
                    self.push(at + r.range(0, interval), Ev::Operator(Action::Unfreeze));
                    Action::Freeze
                }
                2 => Action::Freeze,
                3 => Action::Unfreeze,
                4 => Action::Handover(Some(r.range(0, n) as usize)), // n: nobody alive
                5 => Action::Handover(None),
                6 => Action::Delete,
                7 => Action::Restore(None),
                _ => Action::Recreate,
            };
            self.push(at, Ev::Operator(action));
        }
    }

    /// An operator's unconditional write of the item in hand (`None`: deleted).
    pub(super) fn set_item(&mut self, item: Option<LeaseRecord>) {
        let stamp = self.stamp();
        let written = self.replica.put_item(item, stamp);
        if let Some(old) = written.replaced {
            self.history.push((old, self.now));
        }
        self.replicate_landed(written.sent);
    }

    pub(super) fn token(&mut self) -> String {
        self.op_tokens += 1;
        format!("op{}", self.op_tokens)
    }

    pub(super) fn operate(&mut self, action: Action) {
        let region = self.operator_region(action);
        self.hold_replica(region);
        self.operate_quietly(action);
        self.trace(|| {
            format!(
                "operator {action:?} in {}",
                self.sc.topology.regions[region]
            )
        });
        self.hold_replica(0);
    }

    /// The region whose replica an operator's command writes to (MREC): the holder's for a
    /// handover (the CLI refuses another, and the operator runs it again there), any other
    /// time the operator's own, drawn.
    fn operator_region(&mut self, action: Action) -> usize {
        let t = &self.sc.topology;
        if t.mode != Mode::Mrec {
            return 0;
        }
        let drawn = self.regions_rng.range(0, t.regions.len() as u64 - 1) as usize;
        if !matches!(action, Action::Handover(_)) {
            return drawn;
        }
        self.hold_replica(drawn);
        let owner = self.replica.item().map(|r| r.owner.clone());
        self.hold_replica(0);
        let holder = owner.and_then(|o| self.cands.iter().position(|k| k.identity == o));
        holder.map_or(drawn, |c| self.sc.topology.home[c])
    }

    /// The quiet phase's unfreeze, in every region whose replica is frozen: each freeze is
    /// there in the region it was written to (or something later has replaced it), and the
    /// unfreeze, written later, wins everywhere.
    pub(super) fn unfreeze_everywhere(&mut self) {
        for r in 0..self.sc.topology.regions.len() {
            self.hold_replica(r);
            let frozen = self.replica.item().is_some_and(|i| i.is_frozen());
            if frozen {
                self.operate_quietly(Action::Unfreeze);
                self.trace(|| format!("operator Unfreeze in {}", self.sc.topology.regions[r]));
            }
        }
        self.hold_replica(0);
    }

    pub(super) fn operate_quietly(&mut self, action: Action) {
        let before = self.replica.item().map(|r| r.version_key());
        self.operate_on_item(action);
        if self.replica.item().map(|r| r.version_key()) != before {
            self.note_written(|| format!("operator {action:?}"));
        }
    }

    fn operate_on_item(&mut self, action: Action) {
        // The operator's own configuration, not the candidates', with `--longest-lease` set
        // as the procedure for a rolling change in docs/operations.md says (the CLI declares that).
        let lease_ms = self.sc.longest_in_force().as_millis() as u64;
        match action {
            Action::Freeze => {
                if !self.replica.item().is_some_and(|r| r.is_frozen()) {
                    let token = self.token();
                    let req = operator::freeze(self.replica.item(), token, lease_ms);
                    let next = req.apply(self.replica.item(), 0);
                    self.set_item(Some(next));
                }
            }
            Action::Unfreeze => {
                if let Some(frozen) = self.replica.item().cloned().filter(|r| r.is_frozen()) {
                    let req = operator::unfreeze(&frozen, self.token(), lease_ms);
                    self.set_item(Some(req.apply(Some(&frozen), 0)));
                }
            }
            Action::Handover(target) => {
                let target = match target {
                    Some(i) if i < self.cands.len() => self.cands[i].identity.clone(),
                    Some(_) => "gone".to_string(),
                    None => drlease_core::HANDOVER_ANY.to_string(),
                };
                if let Some(mut r) = self.replica.item().cloned() {
                    let version = r.version.clone().unwrap_or_default();
                    let id = self.token();
                    let req = operator::HandoverRequest::by_operator(&version, &target, &id);
                    if req.apply_to(&mut r) {
                        self.set_item(Some(r));
                    }
                }
            }
            Action::Delete => {
                self.rolled_back = true;
                self.set_item(None);
            }
            Action::Restore(pick) => {
                if let Some(r) = self.restorable(pick) {
                    self.rolled_back = true;
                    self.set_item(Some(r));
                }
            }
            Action::Recreate => {
                self.rolled_back = true;
                self.set_item(None);
                // create-table waits its own lease duration on its own clock, which may run
                // fast.
                let operator_lease = self.sc.longest_in_force().as_nanos() as u64;
                let wait = (operator_lease as f64 * (1.0 - self.sc.drift)) as u64;
                self.push(self.now + wait, Ev::Operator(Action::Seed));
            }
            Action::Seed => {
                if self.replica.item().is_none() {
                    let req = operator::seed(self.token(), lease_ms);
                    self.set_item(Some(req.apply(None, 0)));
                }
            }
        }
    }

    /// What a restore writes back: the version at `pick` in the history, or one drawn from
    /// all it may pick.
    fn restorable(&mut self, pick: Option<usize>) -> Option<LeaseRecord> {
        let current = self.replica.item().map(|r| r.version_key());
        let barred: HashSet<VersionKey> = if self.sc.restore_any {
            // To the process shown it, such a version written back is no change at all.
            self.versions_in_view().into_iter().collect()
        } else {
            // As before: only a version not current for two leases, measured from the last
            // time it was replaced (a version restored before counts from then).
            let recent = self.now.saturating_sub(2 * self.lease_ns());
            self.history
                .iter()
                .filter(|(_, replaced)| *replaced > recent)
                .map(|(r, _)| r.version_key())
                .collect()
        };
        let allowed = |r: &LeaseRecord| {
            let key = r.version_key();
            !r.is_seed() && Some(&key) != current.as_ref() && !barred.contains(&key)
        };
        if let Some(i) = pick {
            return self
                .history
                .get(i)
                .map(|(r, _)| r)
                .filter(|r| allowed(r))
                .cloned();
        }
        let choices: Vec<LeaseRecord> = self
            .history
            .iter()
            .map(|(r, _)| r)
            .filter(|r| allowed(r))
            .cloned()
            .collect();
        if choices.is_empty() {
            return None;
        }
        let at = self.rng.range(0, choices.len() as u64 - 1) as usize;
        Some(choices[at].clone())
    }

    /// A holder's own release just acquired by the next holder: a quarter of the time, it is
    /// written back within two intervals, while a candidate may still remember the tenure
    /// it ended.
    pub(super) fn aim_restore_at_acquire(&mut self) {
        if !(self.sc.operators && self.sc.restore_any && self.faults && self.aim.chance(0.25)) {
            return;
        }
        let index = self.history.len() - 1;
        let within = 2 * self.sc.longest_interval().as_nanos() as u64;
        let at = self.now + self.aim.range(0, within);
        self.push(at, Ev::Operator(Action::Restore(Some(index))));
    }
}
