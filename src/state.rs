//! What the lease loop publishes and the HTTP handlers read. Readers never block the
//! loop, and they compute the role against their own reading of the clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app_health::GateState;
use crate::clock::{Clock, Mono};
use crate::lease::{Role, View};

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub view: View,
    /// When the loop last finished a step; `/healthz` fails if this gets too old.
    pub progress_at: Mono,
    /// Warm-up and controller health, as the loop last applied them.
    pub gate: GateState,
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
}

/// The write side, owned by the lease loop.
pub struct Publisher {
    tx: watch::Sender<Snapshot>,
}

/// `gate` is the eligibility the process starts with, so that readers (the heartbeat)
/// see it before the loop's first publish.
pub fn channel(
    clock: Arc<dyn Clock>,
    who: Identity,
    stall_limit: Duration,
    gate: GateState,
) -> (Publisher, SharedState) {
    let start = Snapshot {
        view: View::default(),
        progress_at: clock.now(),
        gate,
    };
    let (tx, rx) = watch::channel(start);
    (
        Publisher { tx },
        SharedState {
            clock,
            who: Arc::new(who),
            stall_limit,
            rx,
        },
    )
}

impl Publisher {
    pub fn publish(&self, view: View, progress_at: Mono, gate: GateState) {
        self.tx.send_replace(Snapshot {
            view,
            progress_at,
            gate,
        });
    }
}

impl SharedState {
    pub fn snapshot(&self) -> Snapshot {
        self.rx.borrow().clone()
    }

    /// The role right now, and the clock reading it was computed at. Cheap: no clone.
    pub fn role(&self) -> (Role, Mono) {
        let now = self.clock.now();
        (self.rx.borrow().view.role_at(now), now)
    }

    pub fn now(&self) -> Mono {
        self.clock.now()
    }
}
