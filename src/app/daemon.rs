//! `drlease run`: wires the store, the lease loop and the HTTP server together, and
//! releases the lease on SIGTERM / SIGINT.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{Settings, StoreKind};
use crate::http::serve::{self as http_serve, Limits};
use crate::http::{gate_router, router, AppState, Listener};
use crate::lease::{CoreConfig, LeaseCore};
use crate::run::events::Facts;
use crate::run::lease_loop::LeaseLoop;
use crate::run::metrics::Metrics;
use crate::run::state::{channel, Identity};
use crate::store::dynamodb::{connect, DynamoStore};
use crate::store::memory::MemoryStore;
use crate::store::LeaseStore;
use crate::sys::clock::{BootClock, Clock, Mono};
use crate::sys::duration::format_duration;

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
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
            if settings.peer_regions.contains(&conn.region) {
                anyhow::bail!(
                    "--peer-regions lists {}, this pod's own region: list only the other regions",
                    conn.region
                );
            }
            // The region marks are keyed by the region the SDK resolved.
            settings.region = Some(conn.region.clone());
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
    let mut signals = ShutdownSignals::install()?;
    let timing = settings.timing.clone();
    // Random per process: tells this process from any other with the same identity.
    let session = crate::sys::token::random_token()?;
    let metrics = Arc::new(Metrics::new(&settings.lease_name));
    metrics.set_priority(settings.affinity.priority);
    // The loop never waits longer than an interval between steps; allow two, plus a call.
    let stall_limit = timing.interval.max(timing.confirm_delay) * 2
        + timing.call_timeout()
        + Duration::from_secs(1);
    let who = Identity {
        identity: settings.identity.clone(),
        lease: settings.lease_name.clone(),
        session: session.clone(),
        affinity: settings.affinity.clone(),
    };
    let eligibility = crate::run::eligibility::spawn(&settings.eligibility, timing.interval);
    let (publisher, shared) = channel(
        clock.clone(),
        who,
        stall_limit,
        *eligibility.borrow(),
        settings.serving.write_window,
    );
    let (open_files, raise_error) = crate::sys::fd_limit::raise();
    let (main_cap, gate_cap) =
        crate::sys::fd_limit::connection_caps(open_files, settings.serving.gate_listen.is_some());
    match &raise_error {
        None => info!(
            open_files = open_files.map_or("unlimited".into(), |n| n.to_string()),
            max_connections = main_cap,
            gate_max_connections = gate_cap,
            "open-file limit"
        ),
        Some(e) => warn!(
            open_files = open_files.map_or("unlimited".into(), |n| n.to_string()),
            error = %e,
            max_connections = main_cap,
            "cannot raise the open-file limit to its hard limit; HTTP connections are capped under the current one"
        ),
    }
    let listener = bind(settings.listen, "--listen").await?;
    let gate_listener = match settings.serving.gate_listen {
        Some(addr) => Some(bind(addr, "--gate-listen").await?),
        None => None,
    };
    let bound = listener.local_addr()?;
    let gate_bound = match &gate_listener {
        Some(l) => l.local_addr()?.to_string(),
        None => String::new(),
    };
    info!(
        listen = %bound,
        gate_listen = %gate_bound,
        write_window = %format_duration(settings.serving.write_window),
        identity = %settings.identity,
        lease = %settings.lease_name,
        store = %settings.store,
        table = settings.table.as_deref().unwrap_or(""),
        interval = %format_duration(timing.interval),
        lease_duration = %format_duration(timing.lease_duration),
        renew_deadline = %format_duration(timing.renew_deadline),
        priority = settings.affinity.priority,
        failback_after = %settings.affinity.failback_after.map_or("off".to_string(), format_duration),
        observer = settings.affinity.never_acquire,
        "drlease starting"
    );

    let core = LeaseCore::new(CoreConfig {
        identity: settings.identity.clone(),
        session,
        timing: timing.clone(),
        store_is_private: settings.store == StoreKind::Memory,
        affinity: settings.affinity.clone(),
        regions: (settings.store == StoreKind::DynamoDb && !settings.peer_regions.is_empty()).then(
            || crate::lease::Regions {
                own: settings.region.clone().unwrap_or_default(),
                peers: settings.peer_regions.clone(),
            },
        ),
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
        tokio::spawn(crate::run::heartbeat::run(
            hb_store,
            shared.clone(),
            period,
            stop_tx.subscribe(),
            clock.clone(),
        ))
    });

    let gate = shared.gate.clone();
    let events = shared.events.clone();
    tokio::spawn(crate::run::deadline::run(shared.clone()));
    // One state per listener: each has its own watcher budget and its own longest
    // window (see `Listener`).
    let max_watchers = settings.serving.max_watchers as usize;
    let app = AppState::new(
        shared.clone(),
        metrics.clone(),
        max_watchers,
        Listener::main(settings.serving.write_window, timing.renew_deadline),
    );
    let gate_app = AppState::new(
        shared.clone(),
        metrics,
        max_watchers,
        Listener::gate(timing.renew_deadline),
    );
    let (http_stop_tx, http_stop_rx) = watch::channel(false);
    let limits = |max_connections| Limits {
        header_timeout: Limits::HEADER_TIMEOUT,
        write_stall: Limits::WRITE_STALL,
        max_connections,
    };
    let mut servers = vec![tokio::spawn(http_serve::serve(
        listener,
        router(app),
        limits(main_cap),
        "main",
        http_stop_rx.clone(),
    ))];
    if let Some(gate_listener) = gate_listener {
        servers.push(tokio::spawn(http_serve::serve(
            gate_listener,
            gate_router(gate_app),
            limits(gate_cap),
            "gate",
            http_stop_rx,
        )));
    }

    let exit_by = tokio::select! {
        signal = signals.recv() => {
            // Stop granting write windows before anything else, even while the loop is
            // inside a store call; the release waits for the last one granted to end, and
            // the deadline makes room for that wait.
            let now = clock.now();
            let windows_end = gate.revoke().max(now);
            let snap = shared.snapshot();
            events.record(
                now,
                Facts::of(gate.role_at(now), &snap.view, snap.eligibility),
                snap.view.store_reachable,
                "shutting down: no more write windows; releasing once the last one ends".into(),
            );
            let exit_by = windows_end.plus(timing.release_deadline());
            info!(
                signal,
                windows_open_for = %format_duration(whole_ms(windows_end.since(now))),
                within = %format_duration(whole_ms(exit_by.since(now))),
                "shutting down: no more write windows; releasing the lease once the last one ends"
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
    let _ = http_stop_tx.send(true);
    // Keep-alive clients and watchers can hold a graceful shutdown open; do not wait past
    // the deadline.
    let grace = left().max(Duration::from_millis(100));
    let _ = tokio::time::timeout(grace, futures_util::future::join_all(servers)).await;
    info!("stopped");
    Ok(())
}

/// For the log: milliseconds are precise enough.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

async fn bind(addr: std::net::SocketAddr, flag: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "{flag}: cannot listen on {addr}; is another process using the port? Choose another with {flag}"
        )
    })
}

/// SIGTERM and SIGINT, caught from the moment this is made. Made before anything is
/// served: a handler installed only once the shutdown wait is first polled left a window
/// after the first answers in which a SIGTERM killed the process without a release.
struct ShutdownSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
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
