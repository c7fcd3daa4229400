//! `GET /history?limit=N`: the failover history from the table, newest first, for any
//! pod after any restart. Read by key from the current epoch back (see
//! `crate::lease::history`), cached by the history task until the epoch changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::query::Ask;
use super::reply::{bad_request, text};
use super::AppState;
use crate::lease::history::{Change, End, MAX_LIMIT};
use crate::store::history::Listing;

const DEFAULT_LIMIT: usize = 20;

#[derive(Serialize)]
struct Answer<'a> {
    lease: &'a str,
    /// The epoch the newest record should be for (the current holder's).
    epoch: Option<u64>,
    /// Newest first.
    changes: &'a [Change],
    /// Why the list stops where it does, in words (also `end.kind` for programs).
    end: End,
    /// The newest change has no record: the list starts below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    unrecorded_newest: Option<u64>,
    note: String,
}

fn limit_of(ask: &Ask) -> Result<usize, String> {
    match ask.param("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}, got '{}'",
                crate::sys::printable::Printable(&v)
            )),
        },
    }
}

pub async fn history(State(app): State<AppState>, ask: Ask) -> Response {
    let limit = match limit_of(&ask) {
        Ok(n) => n,
        Err(e) => return bad_request(e),
    };
    let Some(history) = app.history.as_ref() else {
        return text(
            StatusCode::NOT_FOUND,
            "no failover history on this listener\n",
        );
    };
    let epoch = app.shared.snapshot().view.epoch;
    let lease = app.shared.who.lease.as_str();
    let listing = match epoch {
        // No item, or not read yet: nothing can have been recorded.
        None => Listing::none(End::NotRecorded { epoch: 0 }),
        Some(head) => match history.list(head, limit).await {
            Ok(listing) => listing,
            Err(e) => return text(StatusCode::SERVICE_UNAVAILABLE, e + "\n"),
        },
    };
    let note = listing.note();
    axum::Json(Answer {
        lease,
        epoch,
        changes: &listing.entries,
        end: listing.end.clone(),
        unrecorded_newest: listing.unrecorded_newest,
        note,
    })
    .into_response()
}
