//! `drlease run`: wires the store, the lease loop and the HTTP server together, and
//! releases the lease on SIGTERM / SIGINT.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::clock::{BootClock, Clock, Mono};
use crate::config::{duration::format_duration, Settings, StoreKind};
use crate::http::{router, AppState};
use crate::lease::{CoreConfig, LeaseCore};
use crate::lease_loop::LeaseLoop;
use crate::metrics::Metrics;
use crate::state::{channel, Identity, SharedState};
use crate::store::dynamodb::heartbeat::Heartbeat;
use crate::store::dynamodb::{connect, DynamoStore};
use crate::store::memory::MemoryStore;
use crate::store::LeaseStore;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(BootClock);
    match settings.store {
        StoreKind::Memory => {
            let store = MemoryStore::new(settings.lease_name.clone());
            serve(settings, store, clock, None).await
        }
        StoreKind::DynamoDb => {
            let table = settings
                .table
                .clone()
                .context("--table: no table configured")?;
            // The loop retries on its own schedule: no SDK retries inside a call.
            let conn = connect(&settings.connect_options(settings.timing.call_timeout(), 1))
                .await
                .map_err(anyhow::Error::msg)?;
            let store = DynamoStore::new(conn, table, settings.lease_name.clone());
            let heartbeats = settings.heartbeat.then(|| store.clone());
            serve(settings, store, clock, heartbeats).await
        }
    }
}

async fn serve<S: LeaseStore>(
    settings: Settings,
    store: S,
    clock: Arc<dyn Clock>,
    heartbeats: Option<DynamoStore>,
) -> anyhow::Result<()> {
    let timing = settings.timing.clone();
    // Random per process: tells this process from any other with the same identity.
    let session = crate::token::random_token()?;
    let metrics = Arc::new(Metrics::new(&settings.lease_name));
    // The loop never waits longer than an interval between steps; allow two, plus a call.
    let stall_limit = timing.interval.max(timing.confirm_delay) * 2
        + timing.call_timeout()
        + Duration::from_secs(1);
    let who = Identity {
        identity: settings.identity.clone(),
        lease: settings.lease_name.clone(),
        session: session.clone(),
    };
    let eligibility = crate::app_health::spawn(&settings.eligibility, timing.interval);
    let (publisher, shared) = channel(clock.clone(), who, stall_limit, *eligibility.borrow());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| {
            format!(
                "--listen: cannot listen on {}; is another process using the port? Choose another with --listen",
                settings.listen
            )
        })?;
    let bound = listener.local_addr()?;
    info!(
        listen = %bound,
        identity = %settings.identity,
        lease = %settings.lease_name,
        store = %settings.store,
        table = settings.table.as_deref().unwrap_or(""),
        interval = %format_duration(timing.interval),
        lease_duration = %format_duration(timing.lease_duration),
        renew_deadline = %format_duration(timing.renew_deadline),
        "drlease starting"
    );

    let core = LeaseCore::new(CoreConfig {
        identity: settings.identity.clone(),
        session,
        timing: timing.clone(),
        store_is_private: settings.store == StoreKind::Memory,
    });
    // Carries the release deadline once a signal arrives: everything after it ends by then.
    let (stop_tx, stop_rx) = watch::channel(None::<Mono>);
    let lease_loop = LeaseLoop::new(
        core,
        store,
        clock.clone(),
        publisher,
        metrics.clone(),
        timing.call_timeout(),
        eligibility,
    );
    let mut lease_task = tokio::spawn(lease_loop.run(stop_rx));

    let heartbeat_task = heartbeats.map(|hb_store| {
        // Heartbeats are for operators (status, handover): every 5 s at most, plus at once on
        // a role change, so they add a fraction to the store cost instead of doubling it.
        let period = timing.interval.max(Duration::from_secs(5));
        tokio::spawn(heartbeat_loop(
            hb_store,
            shared.clone(),
            period,
            stop_tx.subscribe(),
            clock.clone(),
        ))
    });

    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(AppState::new(shared, metrics));
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stop_rx.await;
            })
            .await
    });

    let exit_by = tokio::select! {
        signal = shutdown_signal() => {
            let exit_by = clock.now().plus(timing.release_deadline());
            info!(
                signal = signal?,
                within = %format_duration(timing.release_deadline()),
                "shutting down: releasing the lease first"
            );
            let _ = stop_tx.send(Some(exit_by));
            if let Err(e) = lease_task.await {
                error!(error = %e, "lease loop failed during release");
            }
            exit_by
        }
        result = &mut lease_task => {
            // The loop only ends on shutdown; anything else is a bug worth a restart.
            anyhow::bail!("lease loop ended unexpectedly: {result:?}");
        }
    };
    // The heartbeat deletion ran beside the release, bounded by the same deadline.
    let left = || exit_by.since(clock.now());
    if let Some(task) = heartbeat_task {
        let _ = tokio::time::timeout(left(), task).await;
    }
    let _ = http_stop_tx.send(());
    // Keep-alive clients can hold a graceful shutdown open; do not wait past the deadline.
    let grace = left().max(Duration::from_millis(100));
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Err(e))) => error!(error = %e, "HTTP server error"),
        Ok(Err(e)) => error!(error = %e, "HTTP server task failed"),
        _ => {}
    }
    info!("stopped");
    Ok(())
}

/// Keeps this candidate's heartbeat item fresh; removes it on shutdown.
async fn heartbeat_loop(
    store: DynamoStore,
    shared: SharedState,
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
            eligible,
            at_ms: crate::clock::wall_ms(),
            period_ms: period.as_millis() as u64,
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

async fn shutdown_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
