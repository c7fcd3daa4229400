//! The HTTP API: role endpoints whose status code is the answer (and which grant write
//! windows), pushed role changes, probes and metrics. Nothing here changes the lease;
//! operator actions go through the CLI and IAM.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use crate::metrics::Metrics;
use crate::state::SharedState;

pub mod gate_endpoints;
pub mod handlers;
pub mod serve;
pub mod watch;

use watch::WatcherSlots;

/// What the handlers share. Cloned per request by axum's `State` extractor, hence one
/// `Arc` (a single atomic increment) rather than a struct of several.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub shared: SharedState,
    pub metrics: Arc<Metrics>,
    pub watchers: WatcherSlots,
    /// The longest validity a renewal gives (the renew deadline): `min_validity` above it
    /// can never be granted.
    pub longest_validity: Duration,
}

impl AppState {
    pub fn new(
        shared: SharedState,
        metrics: Arc<Metrics>,
        max_watchers: usize,
        longest_validity: Duration,
    ) -> Self {
        AppState(Arc::new(AppInner {
            shared,
            metrics,
            watchers: WatcherSlots::new(max_watchers),
            longest_validity,
        }))
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
