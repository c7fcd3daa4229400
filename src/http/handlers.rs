//! Probes, metrics, and the answer to an unknown path.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::query::Ask;
use super::reply::text;
use super::AppState;

/// Liveness: fails only when the lease loop stops making progress, never because the
/// store is unreachable (restarting the pod would not fix the store).
pub async fn healthz(State(app): State<AppState>, _: Ask) -> Response {
    let snap = app.shared.snapshot();
    let idle = app.shared.now().since(snap.progress_at);
    if idle <= app.shared.stall_limit {
        text(StatusCode::OK, "ok\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "lease loop stalled: no progress for {:.1}s\n",
                idle.as_secs_f64()
            ),
        )
    }
}

/// Readiness: the first decision (active or passive) has been made.
pub async fn readyz(State(app): State<AppState>, _: Ask) -> Response {
    if app.shared.snapshot().view.initialized {
        text(StatusCode::OK, "ready\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no decision yet: the lease store has not answered\n",
        )
    }
}

pub async fn metrics(State(app): State<AppState>, _: Ask) -> Response {
    let snap = app.shared.snapshot();
    let (role, now) = app.shared.role();
    // An empty 200 would read to Prometheus as "every series vanished": say it failed.
    let body = match app.metrics.render(&snap, role, now) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics; see the sidecar's log\n",
            );
        }
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found; endpoints: /role /active /passive /health/ready /watch /events /history /healthz /readyz /metrics\n",
    )
}

pub async fn not_found_on_gate() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found on the gate listener, which serves /role /active /passive /health/ready /watch; \
         probes, /events, /history and /metrics are on the main listener\n",
    )
}
