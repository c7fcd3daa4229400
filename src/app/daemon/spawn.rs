//! Start-up, second part: the lease loop, the heartbeat task, the deadline timer and the
//! HTTP listeners, started on what `build` made.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::build::Built;
use crate::config::Settings;
use crate::http::accept::{accept_loop, Limits};
use crate::http::serve::Served;
use crate::http::{AppState, Listener};
use crate::run::history::HistoryHandle;
use crate::run::lease_loop::LeaseLoop;
use crate::run::metrics::Metrics;
use crate::run::publish::Reader;
use crate::store::dynamodb::DynamoStore;
use crate::store::{HistoryStore, LeaseStore};
use crate::sys::clock::{Clock, Mono};
use tokio::net::TcpListener;

/// The running tasks and the switches that stop them.
pub(super) struct Running {
    pub(super) shared: Reader,
    pub(super) lease_task: JoinHandle<()>,
    pub(super) heartbeat_task: Option<JoinHandle<()>>,
    /// The role label on the pod's own Pod, when on.
    pub(super) pod_role_task: Option<JoinHandle<()>>,
    pub(super) servers: Vec<JoinHandle<()>>,
    /// Carries the release deadline once a signal arrives: everything after it ends by then.
    pub(super) stop: watch::Sender<Option<Mono>>,
    pub(super) stop_http: watch::Sender<bool>,
    pub(super) release_deadline: Duration,
}

pub(super) fn spawn<S: LeaseStore + HistoryStore>(
    built: Built,
    store: S,
    heartbeats: Option<DynamoStore>,
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Running {
    let timing = &settings.timing;
    let (stop, stop_rx) = watch::channel(None::<Mono>);
    let who = built.shared.who.clone();
    let history = crate::run::history::spawn(
        store.clone(),
        timing.call_timeout(),
        &who.identity,
        &who.session,
        settings.region.as_deref().unwrap_or(""),
    );
    let lease_loop = LeaseLoop::new(
        built.core,
        store,
        clock.clone(),
        built.publisher,
        built.metrics.clone(),
        timing.call_timeout(),
        built.eligibility,
    )
    .with_history(history.clone());
    let lease_task = tokio::spawn(lease_loop.run(stop_rx));
    let shared = built.shared;
    let pod_role_task = built.pod_role.map(|api| {
        tokio::spawn(crate::run::pod_role::run(
            api,
            shared.events.clone(),
            stop.subscribe(),
            clock.clone(),
        ))
    });
    let heartbeat_task = heartbeats.map(|hb_store| {
        // Heartbeats are for operators (status, handover): every 5 s at most, plus at once on
        // a role change, so they add a fraction to the store cost instead of doubling it.
        let period = timing.interval.max(Duration::from_secs(5));
        tokio::spawn(crate::run::heartbeat::run(
            hb_store,
            shared.clone(),
            period,
            stop.subscribe(),
            clock,
        ))
    });
    tokio::spawn(crate::run::deadline::run(shared.clone()));
    let (stop_http, servers) = serve(
        &shared,
        built.metrics,
        history,
        (built.listener, built.main_cap),
        built.gate_listener.map(|l| (l, built.gate_cap)),
        settings,
    );
    Running {
        shared,
        lease_task,
        heartbeat_task,
        pod_role_task,
        servers,
        stop,
        stop_http,
        release_deadline: timing.release_deadline(),
    }
}

/// The HTTP listeners, one state each: each has its own watcher budget and its own
/// longest window (see `Listener`); `/history` is served on the main one only.
fn serve(
    shared: &Reader,
    metrics: Arc<Metrics>,
    history: HistoryHandle,
    main: (TcpListener, usize),
    gate: Option<(TcpListener, usize)>,
    settings: &Settings,
) -> (watch::Sender<bool>, Vec<JoinHandle<()>>) {
    let timing = &settings.timing;
    // One state per listener: each has its own watcher budget and its own longest
    // window (see `Listener`).
    let max_watchers = settings.serving.max_watchers as usize;
    let (stop_http, stop_http_rx) = watch::channel(false);
    let app = AppState::new(
        shared.clone(),
        metrics.clone(),
        max_watchers,
        Listener::main(settings.serving.write_window, timing.renew_deadline),
    )
    .with_history(history)
    .with_closing(stop_http_rx.clone());
    let gate_app = AppState::new(
        shared.clone(),
        metrics,
        max_watchers,
        Listener::gate(timing.renew_deadline),
    )
    .with_closing(stop_http_rx.clone());
    let limits = |max_connections| Limits {
        header_timeout: Limits::HEADER_TIMEOUT,
        write_stall: Limits::WRITE_STALL,
        max_connections,
    };
    let mut servers = vec![tokio::spawn(accept_loop(
        main.0,
        Served::main(app),
        limits(main.1),
        "main",
        stop_http_rx.clone(),
    ))];
    if let Some((gate_listener, gate_cap)) = gate {
        servers.push(tokio::spawn(accept_loop(
            gate_listener,
            Served::gate(gate_app),
            limits(gate_cap),
            "gate",
            stop_http_rx,
        )));
    }
    (stop_http, servers)
}
