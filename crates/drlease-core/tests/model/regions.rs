//! Across regions: MREC replication (delivery within the lag, partitions and heals; each
//! replica applies what arrives by last writer wins, `drlease_core::replication`) and
//! MRSC's cut-off regions.

use drlease_core::replication::Key;

use super::actions::Action;
use super::state::State;
use super::LeaseModel;

impl LeaseModel {
    /// Partition worlds start where the partition has done its work: each side acquired the
    /// seed on its own replica and answers active. The way there is one fixed interleaving
    /// of the candidates' own steps (each on its own replica, cut off from the other, they
    /// cannot affect each other, so any interleaving ends in the same state); the checker
    /// explores every choice from there on, the heal among them.
    pub fn both_holding(&self, s: State) -> State {
        self.run_until(s, "the two sides did not both come to hold", |s| {
            s.actives().len() == s.cands.len()
        })
    }

    /// The first candidate holds the lease and every other one has read it: fault free,
    /// answers at once, steps before time passes.
    pub fn first_holding(&self, s: State) -> State {
        self.run_until(s, "the first candidate did not come to hold", |s| {
            s.actives() == [0]
                && s.cands.iter().skip(1).all(|c| {
                    c.core
                        .as_ref()
                        .is_some_and(|k| k.view().holder.as_deref() == Some("a"))
                })
        })
    }

    fn run_until(&self, mut s: State, failed: &str, done: impl Fn(&State) -> bool) -> State {
        for _ in 0..200 {
            if done(&s) {
                return s;
            }
            let mut enabled = Vec::new();
            self.enabled(&s, &mut enabled);
            let next = [
                |a: &Action| matches!(a, Action::Deliver(_)),
                |a: &Action| matches!(a, Action::Step(_)),
                |a: &Action| matches!(a, Action::Tick),
            ]
            .iter()
            .find_map(|pick| enabled.iter().find(|a| pick(a)).cloned())
            .expect("a step, an answer or time passing is always possible");
            self.apply(&mut s, next);
        }
        panic!("world {}: {failed}", self.world.name);
    }
}

impl State {
    /// Replicated write `i` arrives at its replica: it replaces what is there only if it was
    /// written later (last writer wins; a claim or mark the replica lacks, or has from
    /// before the run, counts as written before).
    pub fn replicate(&mut self, i: usize) {
        let msg = self.replication.remove(i);
        let r = msg.to as usize;
        if self.replicas[r].receive(&msg.copy) && msg.copy.key() == Key::Item {
            self.item_replaced(r, None, false);
        }
    }

    /// Would replicated write `i` replace what its replica has?
    pub fn replication_wins(&self, i: usize) -> bool {
        let msg = &self.replication[i];
        self.replicas[msg.to as usize].is_later(&msg.copy)
    }

    /// Time may pass only once every replicated write that is due now has arrived, unless a
    /// partition holds them back.
    pub fn replication_in_time(&self) -> bool {
        self.partitioned || self.replication.iter().all(|m| m.due > self.now)
    }

    /// The partition heals: everything held back arrives within the lag from now.
    pub fn heal(&mut self, lag: u32) {
        self.partitioned = false;
        self.healed_at = Some(self.now);
        for m in &mut self.replication {
            m.due = self.now + lag;
        }
    }

    /// Renumbers the write times densely, keeping their order: two states that differ only
    /// in how many writes came before are the same state.
    pub fn renumber_stamps(&mut self) {
        let mut all: Vec<u32> = self
            .replicas
            .iter()
            .flat_map(|r| r.stamps().copied())
            .chain(self.replication.iter().map(|m| m.copy.stamp))
            .filter(|&at| at > 0)
            .collect();
        all.sort_unstable();
        all.dedup();
        let rank = |at: &u32| {
            if *at == 0 {
                0
            } else {
                all.binary_search(at).map_or(*at, |i| i as u32 + 1)
            }
        };
        for r in &mut self.replicas {
            r.restamp(rank);
        }
        for m in &mut self.replication {
            m.copy.stamp = rank(&m.copy.stamp);
        }
        self.replication.sort_by_key(|m| (m.to, m.copy.stamp));
        self.stamps = all.len() as u32;
    }
}
