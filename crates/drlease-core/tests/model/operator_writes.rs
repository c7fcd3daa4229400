//! Writers of the item other than the candidates, each through the CLI's own request
//! builders (`drlease_core::operator`) and with settings of its own: an operator reads
//! and writes in one instant.

use drlease_core::operator::{self, HandoverRequest};

use super::actions::Action;
use super::state::State;
use super::world::QUANTUM_MS;
use super::LeaseModel;

impl LeaseModel {
    pub fn operate(&self, s: &mut State, action: Action) {
        // The CLI declares (and create-table waits) the longest lease in force.
        let lease_ms = self.world.longest_lease() as u64 * QUANTUM_MS;
        let rules = self.rules();
        s.operator_writes += 1;
        let token = format!("op{}", s.operator_writes);
        match action {
            Action::Freeze => {
                let req = operator::freeze(s.item(), token, lease_ms);
                let next = req.apply(s.item(), 0);
                s.set_item(0, Some(next), rules);
            }
            Action::Unfreeze => {
                if let Some(frozen) = s.item().cloned().filter(|r| r.is_frozen()) {
                    let req = operator::unfreeze(&frozen, token, lease_ms);
                    s.set_item(0, Some(req.apply(Some(&frozen), 0)), rules);
                }
            }
            Action::Handover(target) => self.request_handover(s, &target, &token),
            Action::Delete => {
                s.rolled_back = true;
                s.set_item(0, None, rules);
            }
            Action::Seed => {
                if s.item().is_none() {
                    let req = operator::seed(token, lease_ms);
                    s.set_item(0, Some(req.apply(None, 0)), rules);
                }
            }
            Action::Restore(i) => {
                let restored = s.history[i].0.clone();
                s.rolled_back = true;
                s.set_item(0, Some(restored), rules);
            }
            _ => unreachable!("not an operator's write: {action:?}"),
        }
    }

    /// `drlease handover --to target` on the item at east's replica, written with `id`.
    pub fn request_handover(&self, s: &mut State, target: &str, id: &str) {
        if let Some(mut r) = s.item().cloned() {
            let version = r.version.clone().unwrap_or_default();
            if HandoverRequest::by_operator(&version, target, id).apply_to(&mut r) {
                // Changes no version: the item is edited in place, no history.
                let rules = super::store::Rules {
                    keep_history: false,
                    ..self.rules()
                };
                s.set_item(0, Some(r), rules);
            }
        }
    }
}
