//! Worlds that start from a holder cut off from its own replica (`Init::CutOffHolder`).
//!
//! Last writer wins across regions bites when a renewal lands late in its tenure: the
//! other region's candidate has been timing the previous write since it first saw it, and a
//! write that lands at about the moment it takes over (the late renewal itself, or a
//! handover request on the previous version in the other region) decides which write every
//! replica keeps. Getting there from a fresh start takes a confirm delay, the mark, and
//! several renewals lost in a row, one fault each: far past the depth a CI world can
//! explore. So these worlds start there, by one fixed interleaving: the seed acquired by
//! the second candidate (region west), the first (east) timing it from its first read, and
//! every call of the holder lost from then on for a few quanta. Those losses come on top of
//! the world's fault budget; the checker explores every choice from there on.

use super::actions::Action;
use super::state::{Fate, Io, State};
use super::world::{CutOff, Init};
use super::LeaseModel;

/// The candidate that holds: the second region's, so that the operator (who writes to the
/// first region's replica) writes to the other region's replica.
pub const HOLDER: usize = 1;

impl LeaseModel {
    /// The holder comes to hold (every step of its own first, each write replicated at
    /// once, then the others' steps), then its calls are lost for `cut.quanta` quanta; then,
    /// answered at once, it lands `cut.renewals` writes, the latest not yet replicated; then
    /// the operator's handover request, if any.
    pub fn holder_cut_off(&self, s: State, cut: CutOff) -> State {
        let mut s = self.run_by(s, "the holder did not come to hold", |m, s, out| {
            m.pick_holding_first(s, out)
        });
        let until = s.now + cut.quanta;
        let budget = s.budget;
        s.budget.network = u8::MAX;
        let done = move |s: &State| s.now >= until;
        let mut s = self.run_by_until(s, done, |m, s, out| m.pick_losing_the_holder(s, out));
        s.budget = budget;
        let r = self.world.replica_of(HOLDER);
        let mut seen = s.replicas[r].item().cloned();
        let mut landed = 0;
        let done = move |s: &State| {
            if s.replicas[r].item() != seen.as_ref() {
                seen = s.replicas[r].item().cloned();
                landed += 1;
            }
            landed >= cut.renewals
        };
        let mut s = self.run_by_until(s, done, |m, s, out| m.pick_replicating_last(s, out));
        if cut.request {
            // The operator's write, outside the world's operator budget too.
            s.budget.operator += 1;
            self.apply(&mut s, Action::Handover(self.identities[0].clone()));
        }
        // The same request written again at east's replica, each time right after a renewal
        // of the holder landed at west and before it reached east (a known limit of R27).
        for _ in 0..cut.rewrites {
            let mut seen = s.replicas[r].item().cloned();
            let done = move |s: &State| {
                let changed = s.replicas[r].item() != seen.as_ref();
                seen = s.replicas[r].item().cloned();
                changed
            };
            s = self.run_by_until(s, done, |m, s, out| m.pick_replicating_last(s, out));
            s.budget.operator += 1;
            if cut.retry_same_id {
                // The same UpdateItem sent again (an SDK's retry): the id already there.
                let id = s
                    .item()
                    .and_then(|r| r.handover_id.clone())
                    .unwrap_or_default();
                self.request_handover(&mut s, &self.identities[0], &id);
            } else {
                self.apply(&mut s, Action::Handover(self.identities[0].clone()));
            }
        }
        s
    }

    /// May candidate `c`'s messages be lost (the budget allowing)?
    pub fn may_lose(&self, c: usize) -> bool {
        match self.world.init {
            Init::CutOffHolder(cut) if cut.holder_loses_only => c == HOLDER,
            _ => true,
        }
    }

    fn holding(&self, s: &State) -> bool {
        s.actives() == [HOLDER]
            && s.cands.iter().enumerate().all(|(c, cand)| {
                c == HOLDER
                    || cand.core.as_ref().is_some_and(|k| {
                        k.view().holder.as_deref() == Some(self.identities[HOLDER].as_str())
                    })
            })
    }

    fn run_by(
        &self,
        s: State,
        failed: &str,
        pick: impl Fn(&Self, &State, &[Action]) -> Option<Action>,
    ) -> State {
        let s = self.run_by_until(s, |s| self.holding(s), pick);
        assert!(self.holding(&s), "world {}: {failed}", self.world.name);
        s
    }

    fn run_by_until(
        &self,
        mut s: State,
        mut done: impl FnMut(&State) -> bool,
        pick: impl Fn(&Self, &State, &[Action]) -> Option<Action>,
    ) -> State {
        for _ in 0..400 {
            if done(&s) {
                return s;
            }
            let mut enabled = Vec::new();
            self.enabled(&s, &mut enabled);
            let next = pick(self, &s, &enabled)
                .unwrap_or_else(|| panic!("world {}: stuck at {:?}", self.world.name, enabled));
            self.apply(&mut s, next);
        }
        panic!("world {}: the start did not settle", self.world.name);
    }

    /// The holder's answers and steps, then replication, then the others', then time.
    fn pick_holding_first(&self, _: &State, enabled: &[Action]) -> Option<Action> {
        let order: [&dyn Fn(&Action) -> bool; 5] = [
            &|a| matches!(a, Action::Deliver(c) | Action::Step(c) if *c == HOLDER),
            &|a| matches!(a, Action::Replicate(_)),
            &|a| matches!(a, Action::Deliver(_)),
            &|a| matches!(a, Action::Step(_)),
            &|a| matches!(a, Action::Tick),
        ];
        order
            .iter()
            .find_map(|pick| enabled.iter().find(|a| pick(a)).cloned())
    }

    /// Every call answered at once, the holder's first; replication only when time cannot
    /// pass without it.
    fn pick_replicating_last(&self, _: &State, enabled: &[Action]) -> Option<Action> {
        let order: [&dyn Fn(&Action) -> bool; 5] = [
            &|a| matches!(a, Action::Deliver(c) | Action::Step(c) | Action::Timeout(c) if *c == HOLDER),
            &|a| matches!(a, Action::Deliver(_)),
            &|a| matches!(a, Action::Step(_)),
            &|a| matches!(a, Action::Tick),
            &|a| matches!(a, Action::Replicate(_)),
        ];
        order
            .iter()
            .find_map(|pick| enabled.iter().find(|a| pick(a)).cloned())
    }

    /// Every call of the holder is lost (and times out); the others' are answered at once.
    fn pick_losing_the_holder(&self, s: &State, enabled: &[Action]) -> Option<Action> {
        let lost = match &s.cands[HOLDER].io {
            Io::Busy(op) if op.fate == Fate::Flying => Some(Action::LoseRequest(HOLDER)),
            _ => None,
        };
        let order: [&dyn Fn(&Action) -> bool; 5] = [
            &|a| matches!(a, Action::Timeout(c) if *c == HOLDER),
            &|a| matches!(a, Action::Replicate(_)),
            &|a| matches!(a, Action::Deliver(c) if *c != HOLDER),
            &|a| matches!(a, Action::Step(_)),
            &|a| matches!(a, Action::Tick),
        ];
        lost.or_else(|| {
            order
                .iter()
                .find_map(|pick| enabled.iter().find(|a| pick(a)).cloned())
        })
    }
}
