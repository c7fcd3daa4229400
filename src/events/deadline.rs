//! Pushes a loss of validity at the deadline instant. The lease loop notices it only
//! when its current store call returns (up to a call timeout later); watchers must not
//! wait for that, so the HTTP side owns this timer.

use super::Facts;
use crate::state::SharedState;

pub async fn run(shared: SharedState) {
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
            let facts = Facts {
                role: shared.gate.role_at(shared.now()),
                holder: snap.view.holder.clone(),
                epoch: snap.view.epoch,
                frozen: snap.view.frozen,
                eligible: snap.eligibility.eligible(),
            };
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
