//! The HTTP API: role endpoints whose status code is the answer, probes and metrics.
//! Nothing here changes the lease; operator actions go through the CLI and IAM.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::metrics::Metrics;
use crate::state::SharedState;

pub mod handlers;

/// What the handlers share. Cloned per request by axum's `State` extractor, hence one
/// `Arc` (a single atomic increment) rather than a struct of several.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub shared: SharedState,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(shared: SharedState, metrics: Arc<Metrics>) -> Self {
        AppState(Arc::new(AppInner { shared, metrics }))
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
    Router::new()
        .route("/role", get(handlers::role))
        .route("/active", get(handlers::active))
        .route("/passive", get(handlers::passive))
        .route("/health/ready", get(handlers::admiral_ready))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .with_state(state)
}

#[cfg(test)]
mod tests;
