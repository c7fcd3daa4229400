//! The HTTP API: role endpoints whose status code is the answer (and which grant write
//! windows), pushed role changes, probes and metrics. Nothing here changes the lease;
//! operator actions go through the CLI and IAM.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use crate::run::history::HistoryHandle;
use crate::run::metrics::Metrics;
use crate::run::publish::Reader;

pub mod accept;
pub mod gate_endpoints;
pub mod handlers;
pub mod history;
pub mod query;
mod reply;
pub mod serve;
pub mod watch;

use watch::WatcherSlots;

/// What the handlers share. Cloned per request by axum's `State` extractor, hence one
/// `Arc` (a single atomic increment) rather than a struct of several.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub shared: Reader,
    pub metrics: Arc<Metrics>,
    /// This listener's own budget: a flood of streams on one cannot refuse the other.
    pub watchers: WatcherSlots,
    pub listener: Listener,
    /// The failover history (`/history`, main listener only).
    pub history: Option<HistoryHandle>,
    /// Turns true when the process shuts down, once the release is settled: every
    /// `/watch` stream sends what is left and ends, every blocking `/role` answers.
    pub closing: Closing,
}

/// The shutdown switch the long answers (`/watch`, blocking `/role`) wait on besides their
/// own events; without one (tests), they never close on their own.
#[derive(Clone, Default)]
pub struct Closing(Option<tokio::sync::watch::Receiver<bool>>);

impl Closing {
    pub fn new(switch: tokio::sync::watch::Receiver<bool>) -> Self {
        Closing(Some(switch))
    }

    /// Returns once the switch is on (or its sender is gone: the process is ending).
    pub async fn wait(&mut self) {
        match &mut self.0 {
            Some(switch) => {
                let _ = switch.wait_for(|on| *on).await;
            }
            None => std::future::pending().await,
        }
    }
}

/// What differs between the two listeners. The main port is reachable from any pod, the
/// gate listener (`--gate-listen`, on loopback) only from inside this one: a window
/// longer than `--write-window` delays every release by as much, so only the gate
/// listener grants one.
#[derive(Clone, Copy, Debug)]
pub struct Listener {
    /// The longest `min_validity` this listener accepts.
    pub longest_min_validity: Duration,
    /// The longest validity a renewal gives (the renew deadline).
    pub renew_deadline: Duration,
}

impl Listener {
    /// The main port: `min_validity` up to the write window, so nothing asked there can
    /// make a release wait longer than `--write-window`.
    pub fn main(write_window: Duration, renew_deadline: Duration) -> Self {
        Listener {
            longest_min_validity: write_window.min(renew_deadline),
            renew_deadline,
        }
    }

    /// The gate listener: the controller may ask for any window a renewal can give.
    pub fn gate(renew_deadline: Duration) -> Self {
        Listener {
            longest_min_validity: renew_deadline,
            renew_deadline,
        }
    }
}

impl AppState {
    pub fn new(
        shared: Reader,
        metrics: Arc<Metrics>,
        max_watchers: usize,
        listener: Listener,
    ) -> Self {
        AppState(Arc::new(AppInner {
            shared,
            metrics,
            watchers: WatcherSlots::new(max_watchers),
            listener,
            history: None,
            closing: Closing::default(),
        }))
    }

    /// Ends `/watch` streams and blocking `/role` queries when `switch` turns true. Only at
    /// start-up, before the state is cloned.
    pub fn with_closing(self, switch: tokio::sync::watch::Receiver<bool>) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.closing = Closing::new(switch);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Serves `/history` from this task. Only at start-up, before the state is cloned
    /// (a state already shared keeps answering without it).
    pub fn with_history(self, history: HistoryHandle) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.history = Some(history);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// GET (and so HEAD) on every route; other methods 405, unknown paths 404.
pub fn router(state: AppState) -> Router {
    gate_routes()
        .route("/events", get(watch::events))
        .route("/history", get(history::history))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .with_state(state)
}

/// Only what the controller needs (`--gate-listen`): the role endpoints and `/watch`.
pub fn gate_router(state: AppState) -> Router {
    gate_routes()
        .fallback(handlers::not_found_on_gate)
        .with_state(state)
}

fn gate_routes() -> Router<AppState> {
    Router::new()
        .route("/role", get(gate_endpoints::role))
        .route("/active", get(gate_endpoints::active))
        .route("/passive", get(gate_endpoints::passive))
        .route("/health/ready", get(gate_endpoints::admiral_ready))
        .route("/watch", get(watch::watch))
}

#[cfg(test)]
mod tests;
