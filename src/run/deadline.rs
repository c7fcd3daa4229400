//! Pushes a loss of validity at the deadline instant. The lease loop notices it only
//! when its current store call returns (up to a call timeout later); watchers must not
//! wait for that, so this timer runs as a task of its own beside the loop.

use crate::run::events::Facts;
use crate::run::publish::Reader;

pub async fn run(shared: Reader) {
    let mut rx = shared.subscribe();
    loop {
        let snap = rx.borrow_and_update().clone();
        if let (Some(until), true) = (snap.view.active_until, snap.view.initialized) {
            let now = shared.now();
            if now < until {
                tokio::select! {
                    _ = tokio::time::sleep(until.since(now)) => continue,
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            }
            // The loop has not published since: the deadline passed with no renewal.
            let role = shared.gate.role_at(shared.now());
            let facts = Facts::of(role, &snap.view, snap.eligibility);
            let reason = match &snap.unreachable_since {
                Some(since) => format!(
                    "validity ran out at the deadline: no renewal confirmed; store unreachable since {since}"
                ),
                None => "validity ran out at the deadline: no renewal confirmed".into(),
            };
            shared
                .events
                .record(until, facts, snap.view.store_reachable, reason);
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::lease::{Role, View};
    use crate::run::publish::{test_channel, Snapshot};
    use crate::sys::clock::{BootClock, Clock};

    /// The loop publishes an active view and then nothing (stuck in a store call): the
    /// loss is still recorded, at the deadline instant.
    #[tokio::test]
    async fn a_deadline_passing_unseen_by_the_loop_is_recorded_at_the_deadline() {
        let clock: Arc<dyn Clock> = Arc::new(BootClock);
        let (publisher, shared) = test_channel(clock.clone());
        let until = clock.now().plus(Duration::from_millis(80));
        publisher.publish(Snapshot {
            view: View {
                initialized: true,
                active_until: Some(until),
                holder: Some("a".into()),
                epoch: Some(3),
                ..Default::default()
            },
            progress_at: clock.now(),
            eligibility: Default::default(),
            unreachable_since: Some("Sun, 22 Nov 2026 03:12:00 GMT".into()),
        });
        let mut changes = shared.events.subscribe();
        tokio::spawn(super::run(shared.clone()));
        tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .expect("pushed")
            .unwrap();
        let event = shared.events.latest().unwrap();
        assert_eq!(event.facts.role, Role::Passive);
        assert_eq!(event.decided_at_ns, until.as_duration().as_nanos() as u64);
        assert!(event.reason.contains("at the deadline"), "{}", event.reason);
        assert!(event.reason.contains("03:12:00"), "{}", event.reason);
        drop(publisher);
    }
}
