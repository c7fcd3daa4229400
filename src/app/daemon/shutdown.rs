//! The end: on SIGTERM / SIGINT, stop granting write windows, let the lease loop release
//! once the last one ends, then stop the heartbeat and the listeners (ending every stream)
//! within the same deadline, and exit as soon as they have stopped.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracing::{error, info};

use super::spawn::Running;
use crate::run::events::Facts;
use crate::sys::clock::Clock;
use crate::sys::duration::format_duration;

/// Waits for a signal (or the loop ending, which is a bug) and shuts down in order.
pub(super) async fn shut_down(
    mut running: Running,
    signals: &mut ShutdownSignals,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let shared = &running.shared;
    let exit_by = tokio::select! {
        signal = signals.recv() => {
            // Stop granting write windows before anything else, even while the loop is
            // inside a store call; the release waits for the last one granted to end, and
            // the deadline makes room for that wait.
            let now = clock.now();
            let windows_end = shared.gate.revoke().max(now);
            let snap = shared.snapshot();
            shared.events.record(
                now,
                Facts::of(shared.gate.role_at(now), &snap.view, snap.eligibility),
                snap.view.store_reachable,
                "shutting down: no more write windows; releasing once the last one ends".into(),
            );
            let exit_by = windows_end.plus(running.release_deadline);
            info!(
                signal,
                windows_open_for = %format_duration(whole_ms(windows_end.since(now))),
                within = %format_duration(whole_ms(exit_by.since(now))),
                "shutting down: no more write windows; releasing the lease once the last one ends"
            );
            let _ = running.stop.send(Some(exit_by));
            if let Err(e) = (&mut running.lease_task).await {
                error!(error = %e, "lease loop failed during release");
            }
            exit_by
        }
        result = &mut running.lease_task => {
            // The loop only ends on shutdown; anything else is a bug worth a restart.
            anyhow::bail!("lease loop ended unexpectedly: {result:?}");
        }
    };
    // The heartbeat deletion ran beside the release, bounded by the same deadline.
    let left = || exit_by.since(clock.now());
    if let Some(task) = running.heartbeat_task {
        let _ = tokio::time::timeout(left(), task).await;
    }
    // So is the last role label (passive), best effort: a pod killed first keeps a stale one.
    if let Some(task) = running.pod_role_task {
        let _ = tokio::time::timeout(left(), task).await;
    }
    // The release is settled and the windows granted have ended: every `/watch` stream
    // sends its last events and ends, blocking queries answer, idle keep-alive connections
    // close, so the listeners end at once. A request in flight finishes; a client that
    // holds one open is not waited for past the deadline.
    let _ = running.stop_http.send(true);
    let grace = left().max(Duration::from_millis(100));
    let _ = tokio::time::timeout(grace, futures_util::future::join_all(running.servers)).await;
    info!("stopped");
    Ok(())
}

/// For the log: milliseconds are precise enough.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// SIGTERM and SIGINT, caught from the moment this is made. Made before anything is
/// served: a handler installed only once the shutdown wait is first polled left a window
/// after the first answers in which a SIGTERM killed the process without a release.
pub(super) struct ShutdownSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    pub(super) fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(ShutdownSignals {
            term: signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
