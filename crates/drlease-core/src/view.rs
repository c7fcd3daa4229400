//! What the lease loop publishes, and the role computed from it at read time.

use std::time::Duration;

use serde::Serialize;

use crate::clock::Mono;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// No decision made yet (the first read has not answered).
    Unknown,
    Active,
    Passive,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Unknown => "unknown",
            Role::Active => "active",
            Role::Passive => "passive",
        }
    }

    pub const ALL: [Role; 3] = [Role::Unknown, Role::Active, Role::Passive];
}

/// A snapshot of the core's state. It holds the validity deadline rather than a role, so
/// that a reader computes the role against its own reading of the clock: a loop that
/// stalls cannot keep anyone answering "active" past the deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub initialized: bool,
    /// Active until this instant; `None` when not holding (or releasing, or confirming).
    pub active_until: Option<Mono>,
    /// The owner in the last observed item (`""` when released).
    pub holder: Option<String>,
    pub epoch: Option<u64>,
    /// When the holder's current version was first observed.
    pub holder_since: Option<Mono>,
    pub store_reachable: Option<bool>,
    pub frozen: bool,
    /// The observed item carries a handover request or a handover in progress.
    pub handover_pending: bool,
    /// The observed item's handover: who released it (or is asked to), and to whom.
    pub handover_from: Option<String>,
    pub handover_to: Option<String>,
    /// That handover is a failback (the target asked for it by priority).
    pub handover_is_failback: bool,
    /// The observed item is released without a releasing session, naming the version it
    /// replaced: an operator's unfreeze (or, rarely, a release of a restored copy). Only
    /// the failover history reads it, to name an unfreeze its holder never saw frozen.
    pub released_by_operator: bool,
    /// The holder's priority, as written in the item (0 when it wrote none).
    pub holder_priority: Option<i32>,
    /// Failbacks this process gained (acquired on its own request) and lost.
    pub failbacks_gained: u64,
    pub failbacks_lost: u64,
    /// Holding, but handing over to this target (`*`: anyone): no longer answering active.
    pub stepping_down: Option<String>,
    /// Shutting down: releasing, or done.
    pub releasing: bool,
    pub conflict: bool,
    /// The epoch is at `u64::MAX`: no new owner can get a higher fencing token, so nothing
    /// is acquired until an operator resets the lease.
    pub epoch_exhausted: bool,
    /// Times this pod stopped holding because another region's holder outranked it.
    pub region_conflicts: u64,
    pub region_conflict: Option<String>,
    /// Times the store was seen going backwards (epoch lower than seen before, item gone).
    pub rollbacks: u64,
    pub last_error: Option<String>,
}

impl View {
    pub fn role_at(&self, now: Mono) -> Role {
        role_at(self.initialized, self.active_until, now)
    }

    /// Validity left at `now`, zero when not active.
    pub fn validity_left(&self, now: Mono) -> Duration {
        self.active_until
            .map(|until| until.since(now))
            .unwrap_or_default()
    }
}

/// The one rule that turns published state into a role, used by the view and by the gate:
/// unknown before the first decision, active strictly before the validity deadline,
/// passive from it on (so a stalled loop stops anyone answering active on its own).
pub fn role_at(initialized: bool, active_until: Option<Mono>, now: Mono) -> Role {
    if !initialized {
        return Role::Unknown;
    }
    match active_until {
        Some(until) if now < until => Role::Active,
        _ => Role::Passive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Mono {
        Mono::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn role_expires_on_its_own_at_the_deadline() {
        let view = View {
            initialized: true,
            active_until: Some(at(1000)),
            ..Default::default()
        };
        assert_eq!(view.role_at(at(999)), Role::Active);
        assert_eq!(view.role_at(at(1000)), Role::Passive);
        assert_eq!(view.validity_left(at(400)), Duration::from_millis(600));
        assert_eq!(view.validity_left(at(4000)), Duration::ZERO);
    }

    #[test]
    fn role_is_unknown_before_the_first_decision() {
        let view = View {
            active_until: Some(at(1000)),
            ..Default::default()
        };
        assert_eq!(view.role_at(at(1)), Role::Unknown);
    }
}
