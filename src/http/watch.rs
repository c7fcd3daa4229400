//! Pushed role changes: `/watch` (Server-Sent Events) and `/events` (the recent log).
//! Bounded: a cap on open streams, and a stream that is only written as fast as its
//! reader reads (a slow reader skips ahead to what is current, nothing queues up).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::query::Ask;
use super::reply::text;
use super::AppState;
use crate::run::events::{Event, EventLog};

/// Keep-alive comments: often enough for proxies and clients to see a live stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Counts open `/watch` streams and blocking `/role` queries against a cap.
#[derive(Debug)]
pub struct WatcherSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One slot, given back when dropped (the stream ends, the client goes away).
pub struct WatcherSlot(Arc<AtomicUsize>);

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WatcherSlots {
    pub fn new(max: usize) -> Self {
        WatcherSlots {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    pub fn try_acquire(&self) -> Option<WatcherSlot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| WatcherSlot(self.open.clone()))
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

pub fn too_many_watchers(app: &AppState) -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "too many watchers: {} streams and blocking queries are open on this listener \
             (--max-watchers, counted per listener); close some, or poll /active instead\n",
            app.watchers.max()
        ),
    )
}

fn sse_event(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.index.to_string())
        .event("role")
        .data(&*e.json)
}

const NO_DECISION: &str =
    r#"{"index":0,"role":"unknown","reason":"no decision yet: the lease store has not answered"}"#;

struct Watcher {
    log: Arc<EventLog>,
    changes: tokio::sync::watch::Receiver<u64>,
    queued: VecDeque<Arc<Event>>,
    sent: u64,
    first: Option<SseEvent>,
    closing: super::Closing,
    closed: bool,
    _slot: WatcherSlot,
}

impl Watcher {
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            if let Some(e) = self.queued.pop_front() {
                self.sent = e.index;
                return Some(sse_event(&e));
            }
            if self.closed {
                return None;
            }
            // On shutdown: whatever happened since the last event sent (the release), then
            // the end of the stream, so the connection closes and the process can exit.
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                _ = self.closing.wait() => self.closed = true,
            }
            self.changes.borrow_and_update();
            self.queued = self.log.after(self.sent).into();
        }
    }
}

/// `GET /watch`: the current state at once, then one event per change, each with its
/// reason. With `Last-Event-ID`, resumes after that event while it is still in the log.
/// On shutdown, once the release is settled, the last events and then the end.
pub async fn watch(State(app): State<AppState>, _: Ask, headers: HeaderMap) -> Response {
    let Some(slot) = app.watchers.try_acquire() else {
        return too_many_watchers(&app);
    };
    let log = app.shared.events.clone();
    let mut changes = log.subscribe();
    changes.borrow_and_update();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut watcher = Watcher {
        log: log.clone(),
        changes,
        queued: VecDeque::new(),
        sent: 0,
        first: None,
        closing: app.closing.clone(),
        closed: false,
        _slot: slot,
    };
    match (resume, log.latest()) {
        (Some(after), Some(latest)) if after <= latest.index && after > 0 => {
            watcher.queued = log.after(after).into();
            watcher.sent = after;
        }
        (_, Some(latest)) => {
            watcher.sent = latest.index;
            watcher.first = Some(sse_event(&latest));
        }
        (_, None) => {
            watcher.first = Some(SseEvent::default().id("0").event("role").data(NO_DECISION));
        }
    }
    let stream = futures_util::stream::unfold(watcher, |mut w| async move {
        let event = w.next().await?;
        Some((Ok::<_, Infallible>(event), w))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

/// `GET /events`: the last events (up to 100), oldest first.
pub async fn events(State(app): State<AppState>, _: Ask) -> Response {
    let events = app.shared.events.recent();
    let mut body = String::with_capacity(64 + events.len() * 256);
    body.push_str("{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push_str("]}\n");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
