//! What the lease loop publishes and the HTTP handlers read. Readers never block the
//! loop, and they compute the role against their own reading of the clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app_health::Eligibility;
use crate::clock::{Clock, Mono};
use crate::lease::{Role, View};

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub view: View,
    /// When the loop last finished a step; `/healthz` fails if this gets too old.
    pub progress_at: Mono,
    /// Warm-up and controller health, as the loop last applied them.
    pub eligibility: Eligibility,
}

/// Facts that do not change while the process runs.
#[derive(Clone, Debug)]
pub struct Identity {
    pub identity: String,
    pub lease: String,
    pub session: String,
}

/// The read side, cloned into every handler.
#[derive(Clone)]
pub struct SharedState {
    pub clock: Arc<dyn Clock>,
    pub who: Arc<Identity>,
    /// How long the loop may go without finishing a step before it counts as stalled.
    pub stall_limit: Duration,
    rx: watch::Receiver<Snapshot>,
    role_cell: Arc<RoleCell>,
}

/// The two facts a role answer needs, readable without a lock: the gate endpoints are
/// asked before every write the controller makes.
#[derive(Debug, Default)]
struct RoleCell {
    /// `View::active_until` in nanoseconds on the shared clock; 0 when not active.
    active_until_ns: AtomicU64,
    initialized: AtomicBool,
}

impl RoleCell {
    fn set(&self, view: &View) {
        let until = view
            .active_until
            .map(|t| t.as_duration().as_nanos() as u64)
            .unwrap_or(0);
        self.active_until_ns.store(until, Ordering::Release);
        self.initialized.store(view.initialized, Ordering::Release);
    }

    fn role_at(&self, now: Mono) -> Role {
        if !self.initialized.load(Ordering::Acquire) {
            return Role::Unknown;
        }
        let until = self.active_until_ns.load(Ordering::Acquire);
        if until != 0 && (now.as_duration().as_nanos() as u64) < until {
            Role::Active
        } else {
            Role::Passive
        }
    }
}

/// The write side, owned by the lease loop.
pub struct Publisher {
    tx: watch::Sender<Snapshot>,
    role_cell: Arc<RoleCell>,
}

/// `gate` is the eligibility the process starts with, so that readers (the heartbeat)
/// see it before the loop's first publish.
pub fn channel(
    clock: Arc<dyn Clock>,
    who: Identity,
    stall_limit: Duration,
    eligibility: Eligibility,
) -> (Publisher, SharedState) {
    let start = Snapshot {
        view: View::default(),
        progress_at: clock.now(),
        eligibility,
    };
    let (tx, rx) = watch::channel(start);
    let role_cell = Arc::new(RoleCell::default());
    (
        Publisher {
            tx,
            role_cell: role_cell.clone(),
        },
        SharedState {
            clock,
            who: Arc::new(who),
            stall_limit,
            rx,
            role_cell,
        },
    )
}

impl Publisher {
    pub fn publish(&self, view: View, progress_at: Mono, eligibility: Eligibility) {
        // Stop answering active through the fast path first, then publish the rest.
        self.role_cell.set(&view);
        self.tx.send_replace(Snapshot {
            view,
            progress_at,
            eligibility,
        });
    }
}

impl SharedState {
    pub fn snapshot(&self) -> Snapshot {
        self.rx.borrow().clone()
    }

    /// The role right now, and the clock reading it was computed at: two atomic loads
    /// and a clock read, no lock.
    pub fn role(&self) -> (Role, Mono) {
        let now = self.clock.now();
        (self.role_cell.role_at(now), now)
    }

    pub fn now(&self) -> Mono {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn the_lock_free_role_agrees_with_the_view() {
        let clock = Arc::new(ManualClock::new(Duration::from_secs(10)));
        let who = Identity {
            identity: "a".into(),
            lease: "l".into(),
            session: "s".into(),
        };
        let (publisher, shared) = channel(
            clock.clone(),
            who,
            Duration::from_secs(5),
            Eligibility::default(),
        );
        assert_eq!(shared.role().0, Role::Unknown);
        let views = [
            View {
                initialized: true,
                ..Default::default()
            },
            View {
                initialized: true,
                active_until: Some(clock.now().plus(Duration::from_secs(2))),
                ..Default::default()
            },
        ];
        for view in views {
            publisher.publish(view.clone(), clock.now(), Eligibility::default());
            for step in [0, 1, 2, 3] {
                let now = clock.now().plus(Duration::from_secs(step));
                assert_eq!(
                    shared.role_cell.role_at(now),
                    view.role_at(now),
                    "at +{step}s"
                );
            }
        }
    }
}
