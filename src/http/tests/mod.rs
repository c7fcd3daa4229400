use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::lease::Role;
use crate::lease::View;
use crate::run::publish::{test_channel, Publisher, Snapshot};
use crate::sys::clock::{Clock, ManualClock, Mono};

mod events;
mod history;
mod roles;
mod windows;

pub(super) struct Fixture {
    /// Both listeners as their connections serve them (`GET /active` without the router).
    app: serve::Served,
    gate: serve::Served,
    shared: crate::run::publish::Reader,
    events: Arc<crate::run::events::EventLog>,
    clock: Arc<ManualClock>,
    publisher: Publisher,
    /// The shutdown switch both listeners' long answers wait on.
    closing: tokio::sync::watch::Sender<bool>,
}

pub(super) fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::new(Duration::from_secs(100)));
    let (publisher, shared) = test_channel(clock.clone());
    let events = shared.events.clone();
    let metrics = Arc::new(Metrics::new("mylease"));
    let renew_deadline = Duration::from_secs(10);
    // The test channel's write window is 2 s.
    let main = Listener::main(Duration::from_secs(2), renew_deadline);
    let (closing, switch) = tokio::sync::watch::channel(false);
    let state =
        AppState::new(shared.clone(), metrics.clone(), 2, main).with_closing(switch.clone());
    let gate_state = AppState::new(shared.clone(), metrics, 2, Listener::gate(renew_deadline))
        .with_closing(switch);
    Fixture {
        app: serve::Served::main(state),
        gate: serve::Served::gate(gate_state),
        shared,
        events,
        clock,
        publisher,
        closing,
    }
}

impl Fixture {
    pub(super) fn set(&self, view: View) {
        self.publisher.publish(Snapshot {
            view,
            progress_at: self.clock.now(),
            eligibility: Default::default(),
            unreachable_since: None,
        });
    }

    pub(super) fn active_for(&self, secs: u64) {
        self.set(View {
            initialized: true,
            active_until: Some(self.clock.now().plus(Duration::from_secs(secs))),
            holder: Some("pod-a".into()),
            epoch: Some(7),
            holder_since: Some(self.clock.now()),
            store_reachable: Some(true),
            ..Default::default()
        });
    }

    pub(super) fn passive(&self) {
        self.set(View {
            initialized: true,
            holder: Some("pod-b".into()),
            epoch: Some(6),
            ..Default::default()
        });
    }

    pub(super) async fn call(&self, method: Method, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = self.request(&self.app, method, uri).await;
        (status, body)
    }

    pub(super) async fn request(
        &self,
        app: &serve::Served,
        method: Method,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    pub(super) async fn headers(&self, uri: &str) -> (StatusCode, axum::http::HeaderMap) {
        let (status, headers, _) = self.request(&self.app, Method::GET, uri).await;
        (status, headers)
    }

    pub(super) async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.call(Method::GET, uri).await
    }

    pub(super) async fn get_on_gate(
        &self,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        self.request(&self.gate, Method::GET, uri).await
    }
}

pub(super) fn header(h: &axum::http::HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().unwrap().to_string())
}

pub(super) fn facts(role: Role) -> crate::run::events::Facts {
    crate::run::events::Facts {
        role,
        holder: Some("pod-a".into()),
        epoch: Some(7),
        frozen: false,
        eligible: true,
    }
}

impl Fixture {
    pub(super) fn shared_events_record(&self) {
        self.events.record(
            Mono::ZERO,
            facts(Role::Passive),
            Some(true),
            "test event".into(),
        );
    }
}
