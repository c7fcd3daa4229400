//! The view the core publishes: the validity deadline (not a role, so the reader's clock
//! decides), and what it last learned about the item, for the HTTP side.
//!
//! Sets nothing: a read of the state.

use super::{LeaseCore, Phase};
use crate::view::View;

impl LeaseCore {
    /// What the loop publishes for the HTTP layer.
    pub fn view(&self) -> View {
        let record = self.known.record();
        let active_until = match (&self.holding, self.phase) {
            (Some(h), Phase::Running) if h.stage.grants() && self.step_down_target().is_none() => {
                Some(h.valid_until)
            }
            _ => None,
        };
        View {
            initialized: self.initialized,
            active_until,
            holder: record.map(|r| r.owner.clone()),
            epoch: self
                .holding
                .as_ref()
                .map(|h| h.epoch)
                .or_else(|| record.and_then(|r| r.epoch)),
            holder_since: self.known.observed.as_ref().map(|o| o.noted_at),
            store_reachable: self.diagnostics.store_reachable,
            frozen: record.is_some_and(|r| r.is_frozen()),
            handover_pending: record.is_some_and(|r| r.handover_to.is_some()),
            handover_from: record.and_then(|r| r.handover_from.clone()),
            handover_to: record.and_then(|r| r.handover_to.clone()),
            handover_is_failback: record
                .is_some_and(|r| r.handover_to.is_some() && r.is_failback()),
            released_by_operator: record.is_some_and(|r| {
                r.is_released()
                    && r.released_by.is_none()
                    && r.released_from.as_deref().is_some_and(|f| !f.is_empty())
            }),
            holder_priority: record.filter(|r| r.is_held()).map(|r| r.priority()),
            failbacks_gained: self.diagnostics.failbacks_gained,
            failbacks_lost: self.diagnostics.failbacks_lost,
            stepping_down: self.step_down_target(),
            releasing: self.phase != Phase::Running,
            conflict: self.known.conflict,
            epoch_exhausted: self.epoch_exhausted,
            region_conflicts: self.region_conflicts,
            region_conflict: self.diagnostics.region_conflict.clone(),
            rollbacks: self.diagnostics.rollbacks,
            last_error: self.diagnostics.last_error.clone(),
        }
    }
}
