//! The endpoints a controller asks before it writes: `/active`, `/passive`, `/role` and
//! Admiral's `/health/ready`. Every answer that says "active" grants a write window
//! (`X-Drlease-Valid-For-Ms`, `X-Drlease-Epoch`); see `crate::lease::gate`.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::query::Ask;
use super::reply::{bad_request, text};
use super::AppState;
use crate::lease::gate::{Answer, Grant};
use crate::lease::Role;
use crate::run::eligibility::AppHealth;
use crate::sys::clock::Mono;
use crate::sys::duration::{format_duration, parse_duration};

/// The sidecar's clock reading (CLOCK_BOOTTIME, nanoseconds) at which a role answer was
/// computed. The clock is shared by every process on a host, so answers from several
/// sidecars can be put on one timeline exactly (the chaos tests do).
pub const DECIDED_AT: &str = "x-drlease-decided-at-ns";

/// With every "active" answer: how long from the decision instant the caller may write.
pub const VALID_FOR_MS: &str = "x-drlease-valid-for-ms";
/// With every "active" answer: the tenure's fencing token.
pub const EPOCH: &str = "x-drlease-epoch";
/// With every `/role` answer: the index of the latest event (for blocking queries).
pub const INDEX: &str = "x-drlease-index";

// The names above as `HeaderName`s, checked once at compile time: a `&str` name is parsed,
// checked and lower-cased on every insert, some 200 instructions a header on the gate's
// hot path.
const DECIDED_AT_NAME: HeaderName = HeaderName::from_static(DECIDED_AT);
const VALID_FOR_MS_NAME: HeaderName = HeaderName::from_static(VALID_FOR_MS);
const EPOCH_NAME: HeaderName = HeaderName::from_static(EPOCH);
const INDEX_NAME: HeaderName = HeaderName::from_static(INDEX);

/// The decision stamp (on request) and the grant (when there is one).
fn decorate(mut response: Response, answer: &Answer, ask: &Ask) -> Response {
    let headers = response.headers_mut();
    if ask.want_stamp {
        let nanos = answer.at.as_duration().as_nanos() as u64;
        headers.insert(DECIDED_AT_NAME, HeaderValue::from(nanos));
    }
    if let Some(grant) = answer.grant {
        headers.insert(
            VALID_FOR_MS_NAME,
            HeaderValue::from(grant.valid_for.as_millis() as u64),
        );
        headers.insert(EPOCH_NAME, HeaderValue::from(grant.epoch));
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

/// The gate before every write: 200 (with a window) only while this pod holds a valid
/// lease, and with `min_validity=D` only if it stays active for at least D.
pub async fn active(State(app): State<AppState>, ask: Ask) -> Response {
    active_answer(&app, &ask)
}

/// `/active`'s answer. Also called directly by the connection's service for a GET, without
/// the router (`super::serve`): the gate is asked before every write.
pub fn active_answer(app: &AppState, ask: &Ask) -> Response {
    let min_validity = match ask.param("min_validity") {
        None => Duration::ZERO,
        Some(raw) => match parse_duration(&raw) {
            Ok(d) if d <= app.listener.longest_min_validity => d,
            Ok(d) if d > app.listener.renew_deadline => {
                return bad_request(format!(
                    "min_validity={} can never be granted: a renewal keeps the lease valid for at most {} (the renew deadline)",
                    format_duration(d),
                    format_duration(app.listener.renew_deadline)
                ))
            }
            Ok(d) => {
                // Any pod can reach the main port, and every window granted delays the
                // next release: longer ones only for the controller, on its own listener.
                return bad_request(format!(
                    "min_validity={} is longer than the write window ({}), which is the most this port grants; \
                     a controller that needs longer windows asks on the gate listener (--gate-listen)",
                    format_duration(d),
                    format_duration(app.listener.longest_min_validity)
                ));
            }
            Err(e) => {
                return bad_request(format!(
                    "min_validity: {e}"
                ))
            }
        },
    };
    let answer = app.shared.ask(min_validity);
    let response = match (answer.role, answer.grant) {
        (Role::Active, Some(_)) => text(StatusCode::OK, role_word(Role::Active)),
        (Role::Active, None) if min_validity.is_zero() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "active for less than a millisecond more: nothing to grant\n",
        ),
        (Role::Active, None) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "active, but valid for less than min_validity={}\n",
                format_duration(min_validity)
            ),
        ),
        (role, _) => text(StatusCode::SERVICE_UNAVAILABLE, role_word(role)),
    };
    decorate(response, &answer, ask)
}

/// 200 only when a decision was made and it is passive. Grants nothing.
pub async fn passive(State(app): State<AppState>, ask: Ask) -> Response {
    let (role, at) = app.shared.role();
    let status = if role == Role::Passive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let answer = Answer {
        role,
        at,
        grant: None,
    };
    decorate(text(status, role_word(role)), &answer, &ask)
}

/// `checkifreadonly` as Admiral reads it (`admiral/pkg/apis/admiral/routes/handlers.go`):
/// the name exactly, the value decoded, its spaces removed, then Go's `strconv.ParseBool`.
/// Empty (or absent) is no check; anything ParseBool refuses is a 400.
fn admiral_check(value: &str) -> Result<bool, ()> {
    match value.replace(' ', "").as_str() {
        "" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(()),
    }
}

/// Admiral's own endpoint, answering as Admiral does: with `checkifreadonly` true, 503
/// while read-only (passive or undecided) and 200 (a write window) while active; false,
/// empty or absent, plain liveness; a value that is no boolean, 400.
pub async fn admiral_ready(State(app): State<AppState>, ask: Ask) -> Response {
    let value = ask.param("checkifreadonly").unwrap_or_default();
    match admiral_check(&value) {
        Ok(true) => {}
        Ok(false) => return text(StatusCode::OK, "ok\n"),
        Err(()) => {
            return bad_request(format!(
                "checkifreadonly='{}' is not a boolean: send true or false (Admiral also reads \
                 1, t, T, TRUE, True and 0, f, F, FALSE, False)",
                crate::sys::printable::Printable(&value)
            ))
        }
    }
    let answer = app.shared.ask(Duration::ZERO);
    let response = match answer.grant {
        Some(_) => text(StatusCode::OK, "read-write\n"),
        None => text(StatusCode::SERVICE_UNAVAILABLE, "read-only\n"),
    };
    decorate(response, &answer, &ask)
}

#[derive(Serialize)]
struct RoleBody<'a> {
    role: Role,
    identity: &'a str,
    lease: &'a str,
    /// The owner in the last observed item; `""` when released, null before any read.
    holder: Option<&'a str>,
    epoch: Option<u64>,
    /// The write window this answer grants; null unless active.
    valid_for_ms: Option<u64>,
    validity_left_seconds: f64,
    holder_last_change_age_seconds: Option<f64>,
    store_reachable: Option<bool>,
    frozen: bool,
    conflict: bool,
    /// No fencing token is left above the current epoch: nothing is acquired.
    epoch_exhausted: bool,
    /// Times this pod stopped holding because another region's holder outranked it.
    region_conflicts: u64,
    session: &'a str,
    last_error: Option<&'a str>,
    /// May this pod hold the lease (warm-up over, controller healthy or not checked)?
    eligible: bool,
    /// `not_checked` without an app health URL, else `unknown`, `healthy`, `unhealthy`.
    app_health: AppHealth,
    /// The latest event's index (as `X-Drlease-Index`).
    index: u64,
    /// This pod's failover priority (`--priority`; higher is preferred).
    priority: i32,
    /// The holder's priority as written in the lease item; null unless held.
    holder_priority: Option<i32>,
    /// `--failback-after` in seconds; null when failback is off.
    failback_after_seconds: Option<f64>,
    /// `--never-acquire`: this pod serves the role and never holds the lease.
    observer: bool,
    /// Failbacks this process gained (took the lease on its own request) and lost.
    failbacks_gained: u64,
    failbacks_lost: u64,
    /// The table's mode and regions, whether the promise is outside its rule, and what
    /// changed in the table since start; null on the memory store.
    table: Option<crate::run::table_state::TableReport>,
}

/// The longest a blocking `/role` query may wait.
pub const MAX_WAIT: Duration = Duration::from_secs(600);
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The full state as JSON (or the bare word with `format=text`). With `index=N`, a
/// blocking query: answers once the event index passes N, or after `wait` (default 60 s).
pub async fn role(State(app): State<AppState>, ask: Ask) -> Response {
    let json = match ask.param("format").as_deref() {
        None | Some("json") => true,
        Some("text") => false,
        Some(other) => {
            return bad_request(format!(
                "unknown format '{}': use format=json (default) or format=text",
                crate::sys::printable::Printable(other)
            ))
        }
    };
    if let Some(raw) = ask.param("index") {
        let Ok(index) = raw.parse::<u64>() else {
            let raw = crate::sys::printable::Printable(&raw);
            return bad_request(format!(
                "index='{raw}' is not a whole number; pass the X-Drlease-Index of the last answer"
            ));
        };
        let wait = match ask.param("wait").as_deref().map(parse_duration) {
            None => DEFAULT_WAIT,
            Some(Ok(d)) if d <= MAX_WAIT => d,
            Some(Ok(_)) | Some(Err(_)) => {
                return bad_request(format!(
                    "wait='{}': use a duration of at most {}, such as 30s",
                    crate::sys::printable::Printable(&ask.param("wait").unwrap_or_default()),
                    format_duration(MAX_WAIT)
                ))
            }
        };
        // Waits only while nothing happened since the caller's index. An index from the
        // future (this process restarted and counts from 1 again) answers at once.
        if index == app.shared.events.index() {
            let Some(_slot) = app.watchers.try_acquire() else {
                return super::watch::too_many_watchers(&app);
            };
            let mut changes = app.shared.events.subscribe();
            let mut closing = app.closing.clone();
            // Shutting down answers at once: the process is about to exit.
            tokio::select! {
                _ = tokio::time::timeout(wait, changes.wait_for(|latest| *latest != index)) => {}
                _ = closing.wait() => {}
            }
        }
    }
    let answer = app.shared.ask(Duration::ZERO);
    let index = app.shared.events.index();
    let mut response = if json {
        role_json(&app, &answer, index)
    } else {
        text(StatusCode::OK, role_word(answer.role))
    };
    response
        .headers_mut()
        .insert(INDEX_NAME, HeaderValue::from(index));
    decorate(response, &answer, &ask)
}

fn role_json(app: &AppState, answer: &Answer, index: u64) -> Response {
    let snap = app.shared.snapshot();
    let now: Mono = answer.at;
    let who = &app.shared.who;
    let v = &snap.view;
    Json(RoleBody {
        role: answer.role,
        identity: &who.identity,
        lease: &who.lease,
        holder: v.holder.as_deref(),
        epoch: answer.grant.map(|g: Grant| g.epoch).or(v.epoch),
        valid_for_ms: answer.grant.map(|g| g.valid_for.as_millis() as u64),
        // The gate's answer, not the view's: after a SIGTERM the view may still say active.
        validity_left_seconds: match answer.role {
            Role::Active => v.validity_left(now).as_secs_f64(),
            _ => 0.0,
        },
        holder_last_change_age_seconds: v.holder_since.map(|t| now.since(t).as_secs_f64()),
        store_reachable: v.store_reachable,
        frozen: v.frozen,
        conflict: v.conflict,
        epoch_exhausted: v.epoch_exhausted,
        region_conflicts: v.region_conflicts,
        session: &who.session,
        last_error: v.last_error.as_deref(),
        eligible: snap.eligibility.eligible(),
        app_health: snap.eligibility.app,
        index,
        priority: who.affinity.priority,
        holder_priority: v.holder_priority,
        failback_after_seconds: who.affinity.failback_after.map(|d| d.as_secs_f64()),
        observer: who.affinity.never_acquire,
        failbacks_gained: v.failbacks_gained,
        failbacks_lost: v.failbacks_lost,
        table: who.table.as_ref().map(|t| t.report()),
    })
    .into_response()
}
