//! The candidate heartbeat task: keeps this pod's heartbeat item fresh for `drlease
//! status` and handover; removes it on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use crate::run::publish::Reader;
use crate::store::dynamodb::heartbeat::Heartbeat;
use crate::store::dynamodb::DynamoStore;
use crate::sys::clock::{Clock, Mono};

/// Keeps this candidate's heartbeat item fresh; removes it on shutdown.
pub async fn run(
    store: DynamoStore,
    shared: Reader,
    period: Duration,
    mut stop: watch::Receiver<Option<Mono>>,
    clock: Arc<dyn Clock>,
) {
    let who = shared.who.clone();
    let region = store.connection().region.clone();
    let mut failing = false;
    loop {
        let (role, _) = shared.role();
        let eligible = shared.snapshot().eligibility.eligible();
        let hb = Heartbeat {
            identity: who.identity.clone(),
            session: who.session.clone(),
            region: region.clone(),
            role: role.as_str().to_string(),
            // An observer never holds: `handover --to` it is refused like an ineligible pod.
            eligible: eligible && !who.affinity.never_acquire,
            at_ms: crate::sys::clock::wall_ms(),
            period_ms: period.as_millis() as u64,
            priority: who.affinity.priority,
            observer: who.affinity.never_acquire,
        };
        let result = tokio::time::timeout(period, store.put_heartbeat(&hb)).await;
        match result {
            Ok(Ok(())) => failing = false,
            Ok(Err(e)) if !failing => {
                warn!(error = %e, "cannot write the candidate heartbeat (status and handover will not see this pod)");
                failing = true;
            }
            Err(_) if !failing => {
                warn!("candidate heartbeat write timed out");
                failing = true;
            }
            _ => {}
        }
        // Until the period is over, or the role or eligibility changes (checked 4x a second).
        let written = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = stop.changed() => {
                    let left = stop.borrow().map_or(Duration::ZERO, |by| by.since(clock.now()));
                    let _ = tokio::time::timeout(
                        left,
                        store.delete_heartbeat(&who.identity, &who.session),
                    )
                    .await;
                    return;
                }
            }
            let changed =
                shared.role().0 != role || shared.snapshot().eligibility.eligible() != eligible;
            if changed || written.elapsed() >= period {
                break;
            }
        }
    }
}
