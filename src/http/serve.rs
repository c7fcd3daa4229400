//! What one connection runs for each request: the listener's router, with `GET /active`
//! answered directly, and a watch on how long the connection waits for a request.
//!
//! The header-read timeout is kept here rather than by hyper: hyper allocates and arms a
//! new timer for every request it reads (and cancels it once the headers are in), some
//! 1,000 instructions a request on the gate's hot path. Here one timer per connection
//! wakes once per timeout and looks at when the connection last went idle; a request
//! only stores a counter and, when its answer is sent, a clock reading.
//!
//! `GET /active` is what a controller asks before every write: it skips the router (its
//! path lookup, the matched-path extension it allocates for every request, the handler's
//! boxed future) and calls the same answer the `/active` route does. Every other request,
//! `HEAD /active` included, goes through the router.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::Instant;
use tower_service::Service as _;

use super::gate_endpoints::active_answer;
use super::query::Ask;
use super::reply::bad_request;
use super::AppState;

/// What a listener serves: its router, and its state for the direct `GET /active`.
#[derive(Clone)]
pub struct Served {
    router: Router,
    state: AppState,
}

impl Served {
    /// The main listener: every route.
    pub fn main(state: AppState) -> Self {
        Served {
            router: super::router(state.clone()),
            state,
        }
    }

    /// The gate listener (`--gate-listen`): the role endpoints and `/watch`.
    pub fn gate(state: AppState) -> Self {
        Served {
            router: super::gate_router(state.clone()),
            state,
        }
    }

    /// The service for one connection, reporting to `activity`.
    pub fn connection(&self, activity: Arc<Activity>) -> ConnectionService {
        ConnectionService {
            served: self.clone(),
            activity,
        }
    }
}

/// When a connection last had nothing to do: no request in flight, no answer being sent.
pub struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Nanoseconds after `opened` at which the last answer was sent in full.
    idle_since: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        })
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    fn end(&self) {
        let since = self.opened.elapsed().as_nanos() as u64;
        self.idle_since.store(since, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// When the connection will have waited `limit` for a request; `None` while one is
    /// being answered.
    fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = Duration::from_nanos(self.idle_since.load(Ordering::Relaxed));
        Some(self.opened + since + limit)
    }

    /// Returns once the connection has waited `limit` for a request's headers (since it
    /// opened, or since its last answer was sent). Wakes once per `limit` at most.
    pub async fn idle_for(&self, limit: Duration) {
        let timer = tokio::time::sleep(limit);
        tokio::pin!(timer);
        loop {
            timer.as_mut().await;
            let now = Instant::now();
            match self.idle_deadline(limit) {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => timer.as_mut().reset(deadline),
                // Busy: look again in `limit` (an answer sent meanwhile moves the deadline).
                None => timer.as_mut().reset(now + limit),
            }
        }
    }
}

/// Called by the tests as the connection calls it (without the activity).
impl<B> tower_service::Service<Request<B>> for Served
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Answer {
        self.answer(request)
    }
}

impl Served {
    fn answer<B>(&self, request: Request<B>) -> Answer
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        if request.method() == Method::GET && request.uri().path() == "/active" {
            let response = match Ask::read(request.uri(), request.headers()) {
                Ok(ask) => active_answer(&self.state, &ask),
                Err(refusal) => bad_request(refusal),
            };
            return Answer::Ready(Some(response));
        }
        Answer::Routed(self.router.clone().call(request))
    }
}

/// The answer to one request: at once, or once the router has it.
pub enum Answer {
    Ready(Option<Response<Body>>),
    Routed(RouteFuture<Infallible>),
}

impl Future for Answer {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Answer::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("an answer is polled once ready")))
            }
            Answer::Routed(routed) => Pin::new(routed).poll(cx),
        }
    }
}

/// The hyper service of one connection: the listener's answers, each counted in the
/// connection's [`Activity`] until its body is sent.
pub struct ConnectionService {
    served: Served,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Tracked;

    fn call(&self, request: Request<Incoming>) -> Tracked {
        self.activity.begin();
        Tracked {
            answer: self.served.answer(request),
            activity: Some(self.activity.clone()),
        }
    }
}

/// An answer whose body, once there is one, reports to the connection's activity.
pub struct Tracked {
    answer: Answer,
    activity: Option<Arc<Activity>>,
}

impl Future for Tracked {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Poll::Ready(Ok(response)) = Pin::new(&mut this.answer).poll(cx) else {
            return Poll::Pending;
        };
        let activity = this.activity.take();
        Poll::Ready(Ok(response.map(|inner| TrackedBody { inner, activity })))
    }
}

/// A response body that tells the connection's [`Activity`] when it is gone: sent in full,
/// or dropped with the connection. A `/watch` stream keeps its connection busy for as
/// long as it runs.
pub struct TrackedBody {
    inner: Body,
    activity: Option<Arc<Activity>>,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if let Some(activity) = self.activity.take() {
            activity.end();
        }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn idle_after(activity: &Activity, limit: Duration) -> Duration {
        let started = Instant::now();
        activity.idle_for(limit).await;
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_nothing_is_idle_after_the_limit() {
        let activity = Activity::new();
        assert_eq!(
            idle_after(&activity, Duration::from_secs(5)).await,
            Duration::from_secs(5)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_counts_from_the_last_answer_sent() {
        let activity = Activity::new();
        let watcher = activity.clone();
        let answering = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            watcher.begin();
            tokio::time::sleep(Duration::from_secs(7)).await;
            watcher.end();
        });
        // Busy from 1 s to 8 s, then idle: 8 + 5.
        let idle = idle_after(&activity, Duration::from_secs(5)).await;
        assert_eq!(idle, Duration::from_secs(13));
        answering.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_answering_is_never_idle() {
        let activity = Activity::new();
        activity.begin();
        let idle = tokio::time::timeout(
            Duration::from_secs(600),
            activity.idle_for(Duration::from_secs(5)),
        )
        .await;
        assert!(idle.is_err(), "a /watch stream runs for as long as it runs");
    }
}
