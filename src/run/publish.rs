//! What the lease loop publishes and the HTTP handlers read. Readers never block the
//! loop, and they compute the role against their own reading of the clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::lease::gate::{Answer, Gate};
use crate::lease::{Role, View};
use crate::run::eligibility::Eligibility;
use crate::run::events::EventLog;
use crate::sys::clock::{Clock, Mono};

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub view: View,
    /// When the loop last finished a step; `/healthz` fails if this gets too old.
    pub progress_at: Mono,
    /// Warm-up and controller health, as the loop last applied them.
    pub eligibility: Eligibility,
    /// Wall-clock time the store has been failing since, while it is.
    pub unreachable_since: Option<String>,
}

/// Facts that do not change while the process runs.
#[derive(Clone, Debug)]
pub struct Identity {
    pub identity: String,
    pub lease: String,
    pub session: String,
    /// Priority, failback, observer: fixed for the life of the process.
    pub affinity: crate::lease::core::Affinity,
    /// What the table is and the rules in force (DynamoDB only).
    pub table: Option<Arc<crate::run::table_state::TableState>>,
}

/// The read side, cloned into every handler: a watch receiver of what the loop published,
/// with the gate and the event log beside it.
#[derive(Clone)]
pub struct Reader {
    pub clock: Arc<dyn Clock>,
    pub who: Arc<Identity>,
    /// How long the loop may go without finishing a step before it counts as stalled.
    pub stall_limit: Duration,
    rx: watch::Receiver<Snapshot>,
    /// The role answers and the write windows they grant.
    pub gate: Arc<Gate>,
    pub events: Arc<EventLog>,
}

/// The write side, owned by the lease loop.
pub struct Publisher {
    tx: watch::Sender<Snapshot>,
    gate: Arc<Gate>,
    pub events: Arc<EventLog>,
}

/// `eligibility` is the one the process starts with, so that readers (the heartbeat) see it
/// before the loop's first publish; `write_window` the longest window an active answer
/// grants by default.
pub fn channel(
    clock: Arc<dyn Clock>,
    who: Identity,
    stall_limit: Duration,
    eligibility: Eligibility,
    write_window: Duration,
) -> (Publisher, Reader) {
    let start = Snapshot {
        view: View::default(),
        progress_at: clock.now(),
        eligibility,
        unreachable_since: None,
    };
    let (tx, rx) = watch::channel(start);
    let gate = Arc::new(Gate::new(write_window));
    let events = Arc::new(EventLog::default());
    (
        Publisher {
            tx,
            gate: gate.clone(),
            events: events.clone(),
        },
        Reader {
            clock,
            who: Arc::new(who),
            stall_limit,
            rx,
            gate,
            events,
        },
    )
}

impl Publisher {
    /// Returns where the latest write window granted ends, read after the gate took the
    /// new view: a view that stops granting is in force by then.
    pub fn publish(&self, snapshot: Snapshot) -> Mono {
        // Stop answering active through the gate first, then publish the rest.
        let granted_until = self.gate.set(&snapshot.view);
        self.tx.send_replace(snapshot);
        granted_until
    }
}

impl Reader {
    pub fn snapshot(&self) -> Snapshot {
        self.rx.borrow().clone()
    }

    /// Wakes on every publish of the loop.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.rx.clone()
    }

    /// The role right now, and the clock reading it was computed at; grants nothing.
    pub fn role(&self) -> (Role, Mono) {
        let now = self.clock.now();
        (self.gate.role_at(now), now)
    }

    /// The role right now for a caller about to write: grants a window when active with at
    /// least `min_validity` left.
    pub fn ask(&self, min_validity: Duration) -> Answer {
        self.gate.ask(self.clock.now(), min_validity)
    }

    pub fn now(&self) -> Mono {
        self.clock.now()
    }
}

/// A channel for tests: identity `pod-a` on lease `mylease`, a 10 s stall limit, default
/// eligibility, a 2 s write window.
#[cfg(test)]
pub fn test_channel(clock: Arc<dyn Clock>) -> (Publisher, Reader) {
    let who = Identity {
        identity: "pod-a".into(),
        lease: "mylease".into(),
        session: "s1".into(),
        affinity: Default::default(),
        table: None,
    };
    channel(
        clock,
        who,
        Duration::from_secs(10),
        Eligibility::default(),
        Duration::from_secs(2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::clock::ManualClock;

    #[test]
    fn the_gate_agrees_with_the_view() {
        let clock = Arc::new(ManualClock::new(Duration::from_secs(10)));
        let (publisher, shared) = test_channel(clock.clone());
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
            publisher.publish(Snapshot {
                view: view.clone(),
                progress_at: clock.now(),
                eligibility: Eligibility::default(),
                unreachable_since: None,
            });
            for step in [0, 1, 2, 3] {
                let now = clock.now().plus(Duration::from_secs(step));
                assert_eq!(shared.gate.role_at(now), view.role_at(now), "at +{step}s");
            }
        }
    }
}
