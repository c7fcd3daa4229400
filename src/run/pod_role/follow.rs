//! The changes of role in the event log: the log records every change of role, holder,
//! epoch, freeze and eligibility; the Pod shows only the role.

use crate::lease::Role;
use crate::run::events::EventLog;

/// One change of role, as the event that made it recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Counts the changes seen: the task records an Event for a change it has not yet.
    pub seq: u64,
    pub role: Role,
    /// The one-line reason the lease loop gave.
    pub reason: String,
    pub epoch: Option<u64>,
    /// The owner in the lease item (`""`: released).
    pub holder: Option<String>,
}

impl Change {
    /// The Event's reason, in the API's CamelCase.
    pub fn event_reason(&self) -> &'static str {
        match self.role {
            Role::Active => "BecameActive",
            _ => "BecamePassive",
        }
    }

    /// The Event's message: what happened, with the lease, epoch and holder.
    pub fn event_message(&self, lease: &str) -> String {
        let epoch = self.epoch.map_or("none".to_string(), |e| e.to_string());
        let holder = match self.holder.as_deref() {
            None => "unknown",
            Some("") => "none (released)",
            Some(h) => h,
        };
        format!(
            "{}: {}; lease {lease}, epoch {epoch}, holder {holder}",
            self.role.as_str(),
            self.reason
        )
    }
}

impl Change {
    /// What a sidecar shows last on its way out: passive, since it grants nothing more
    /// once the shutdown began, even if the lease loop, finishing a step, still recorded
    /// a renewal after that; the latest change when it is passive already.
    pub fn stopping(latest: Option<Change>) -> Change {
        match latest {
            Some(c) if c.role == Role::Passive => c,
            Some(c) => Change {
                seq: c.seq + 1,
                role: Role::Passive,
                reason: SHUTTING_DOWN.into(),
                ..c
            },
            None => Change {
                seq: 1,
                role: Role::Passive,
                reason: SHUTTING_DOWN.into(),
                epoch: None,
                holder: None,
            },
        }
    }
}

const SHUTTING_DOWN: &str = "shutting down: no more write windows; releasing the lease";

/// Reads the log from where it left off; remembers the latest change to active or
/// passive (no decision yet is no change).
#[derive(Default)]
pub struct Follower {
    seen: u64,
    role: Option<Role>,
    latest: Option<Change>,
}

impl Follower {
    pub fn update(&mut self, log: &EventLog) {
        for event in log.after(self.seen) {
            self.seen = event.index;
            let role = event.facts.role;
            if role == Role::Unknown || self.role == Some(role) {
                continue;
            }
            self.role = Some(role);
            self.latest = Some(Change {
                seq: self.latest.as_ref().map_or(1, |c| c.seq + 1),
                role,
                reason: event.reason.clone(),
                epoch: event.facts.epoch,
                holder: event.facts.holder.clone(),
            });
        }
    }

    pub fn latest(&self) -> Option<Change> {
        self.latest.clone()
    }
}
