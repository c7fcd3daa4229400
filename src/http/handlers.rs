use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::AppState;
use crate::app_health::AppHealth;
use crate::clock::Mono;
use crate::lease::Role;

#[derive(Serialize)]
struct RoleBody<'a> {
    role: Role,
    identity: &'a str,
    lease: &'a str,
    /// The owner in the last observed item; `""` when released, null before any read.
    holder: Option<&'a str>,
    epoch: Option<u64>,
    validity_left_seconds: f64,
    holder_last_change_age_seconds: Option<f64>,
    store_reachable: Option<bool>,
    frozen: bool,
    conflict: bool,
    session: &'a str,
    last_error: Option<&'a str>,
    /// May this pod hold the lease (warm-up over, controller healthy or not checked)?
    eligible: bool,
    /// `not_checked` without an app health URL, else `unknown`, `healthy`, `unhealthy`.
    app_health: AppHealth,
}

/// The sidecar's clock reading (CLOCK_BOOTTIME, nanoseconds) at which a role answer was
/// computed. The clock is shared by every process on a host, so answers from several
/// sidecars can be put on one timeline exactly (the chaos tests do).
pub const DECIDED_AT: &str = "x-drlease-decided-at-ns";

/// Ask for `DECIDED_AT` by sending this request header (any value). Opt-in: formatting
/// the stamp costs the gate endpoints some 12% of their throughput.
pub const WANT_DECIDED_AT: &str = "x-drlease-want-decided-at";

/// Whether the request asked for the decision instant. Looks the header up without
/// cloning the header map, as axum's `HeaderMap` extractor would.
pub struct WantsStamp(bool);

impl<S: Send + Sync> FromRequestParts<S> for WantsStamp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(WantsStamp(parts.headers.contains_key(WANT_DECIDED_AT)))
    }
}

fn stamped(mut response: Response, at: Mono, want: WantsStamp) -> Response {
    if want.0 {
        let nanos = at.as_duration().as_nanos() as u64;
        response
            .headers_mut()
            .insert(DECIDED_AT, HeaderValue::from(nanos));
    }
    response
}

/// The role gates answer on every write the controller makes: no allocation for the body.
fn role_word(role: Role) -> &'static str {
    match role {
        Role::Active => "active\n",
        Role::Passive => "passive\n",
        Role::Unknown => "unknown\n",
    }
}

fn text(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

pub async fn role(
    State(app): State<AppState>,
    want: WantsStamp,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let snap = app.shared.snapshot();
    let now = app.shared.now();
    let role = snap.view.role_at(now);
    match q.get("format").map(String::as_str) {
        None | Some("json") => {}
        Some("text") => return stamped(text(StatusCode::OK, role_word(role)), now, want),
        Some(other) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("unknown format '{other}': use format=json (default) or format=text\n"),
            )
        }
    }
    let who = &app.shared.who;
    let v = &snap.view;
    let body = Json(RoleBody {
        role,
        identity: &who.identity,
        lease: &who.lease,
        holder: v.holder.as_deref(),
        epoch: v.epoch,
        validity_left_seconds: v.validity_left(now).as_secs_f64(),
        holder_last_change_age_seconds: v.holder_since.map(|t| now.since(t).as_secs_f64()),
        store_reachable: v.store_reachable,
        frozen: v.frozen,
        conflict: v.conflict,
        session: &who.session,
        last_error: v.last_error.as_deref(),
        eligible: snap.eligibility.eligible(),
        app_health: snap.eligibility.app,
    })
    .into_response();
    stamped(body, now, want)
}

/// The gate before every write: 200 only while this pod holds a valid lease.
pub async fn active(State(app): State<AppState>, want: WantsStamp) -> Response {
    role_gate(&app, Role::Active, want)
}

/// 200 only when a decision was made and it is passive.
pub async fn passive(State(app): State<AppState>, want: WantsStamp) -> Response {
    role_gate(&app, Role::Passive, want)
}

fn role_gate(app: &AppState, wanted: Role, want: WantsStamp) -> Response {
    let (role, at) = app.shared.role();
    let status = if role == wanted {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    stamped(text(status, role_word(role)), at, want)
}

/// Admiral's own endpoint: with `checkifreadonly=true`, 503 while read-only (passive or
/// undecided) and 200 while active; without it, plain liveness of the server.
pub async fn admiral_ready(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let check = q
        .get("checkifreadonly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !check {
        return text(StatusCode::OK, "ok\n");
    }
    match app.shared.role().0 {
        Role::Active => text(StatusCode::OK, "read-write\n"),
        _ => text(StatusCode::SERVICE_UNAVAILABLE, "read-only\n"),
    }
}

/// Liveness: fails only when the lease loop stops making progress, never because the
/// store is unreachable (restarting the pod would not fix the store).
pub async fn healthz(State(app): State<AppState>) -> Response {
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
pub async fn readyz(State(app): State<AppState>) -> Response {
    if app.shared.snapshot().view.initialized {
        text(StatusCode::OK, "ready\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no decision yet: the lease store has not answered\n",
        )
    }
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    let snap = app.shared.snapshot();
    // An empty 200 would read to Prometheus as "every series vanished": say it failed.
    let body = match app.metrics.render(&snap, app.shared.now()) {
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
        "not found; endpoints: /role /active /passive /health/ready /healthz /readyz /metrics\n",
    )
}
