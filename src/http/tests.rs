use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::lease::Role;
use crate::lease::View;
use crate::run::state::{test_channel, Publisher, Snapshot};
use crate::sys::clock::{Clock, ManualClock, Mono};

struct Fixture {
    app: Router,
    gate: Router,
    shared: crate::run::state::SharedState,
    events: Arc<crate::run::events::EventLog>,
    clock: Arc<ManualClock>,
    publisher: Publisher,
}

fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::new(Duration::from_secs(100)));
    let (publisher, shared) = test_channel(clock.clone());
    let events = shared.events.clone();
    let metrics = Arc::new(Metrics::new("mylease"));
    let renew_deadline = Duration::from_secs(10);
    // The test channel's write window is 2 s.
    let main = Listener::main(Duration::from_secs(2), renew_deadline);
    let state = AppState::new(shared.clone(), metrics.clone(), 2, main);
    let gate_state = AppState::new(shared.clone(), metrics, 2, Listener::gate(renew_deadline));
    Fixture {
        app: router(state),
        gate: gate_router(gate_state),
        shared,
        events,
        clock,
        publisher,
    }
}

impl Fixture {
    fn set(&self, view: View) {
        self.publisher.publish(Snapshot {
            view,
            progress_at: self.clock.now(),
            eligibility: Default::default(),
            unreachable_since: None,
        });
    }

    fn active_for(&self, secs: u64) {
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

    fn passive(&self) {
        self.set(View {
            initialized: true,
            holder: Some("pod-b".into()),
            epoch: Some(6),
            ..Default::default()
        });
    }

    async fn call(&self, method: Method, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = self.request(&self.app, method, uri).await;
        (status, body)
    }

    async fn request(
        &self,
        app: &Router,
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

    async fn headers(&self, uri: &str) -> (StatusCode, axum::http::HeaderMap) {
        let (status, headers, _) = self.request(&self.app, Method::GET, uri).await;
        (status, headers)
    }

    async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.call(Method::GET, uri).await
    }

    async fn get_on_gate(&self, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        self.request(&self.gate, Method::GET, uri).await
    }
}

#[tokio::test]
async fn role_json_has_the_documented_keys() {
    let f = fixture();
    let (status, body) = f.get("/role").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["role"], "unknown");
    f.active_for(5);
    let (_, body) = f.get("/role").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["role"], "active");
    assert_eq!(v["identity"], "pod-a");
    assert_eq!(v["lease"], "mylease");
    assert_eq!(v["holder"], "pod-a");
    assert_eq!(v["epoch"], 7);
    assert_eq!(v["validity_left_seconds"], 5.0);
    assert_eq!(v["store_reachable"], true);
    for key in [
        "holder_last_change_age_seconds",
        "frozen",
        "conflict",
        "epoch_exhausted",
        "region_conflicts",
        "session",
        "last_error",
        "priority",
        "holder_priority",
        "failback_after_seconds",
        "observer",
        "failbacks_gained",
        "failbacks_lost",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn role_text_format_is_the_bare_word() {
    let f = fixture();
    f.passive();
    assert_eq!(
        f.get("/role?format=text").await,
        (StatusCode::OK, "passive\n".into())
    );
    let (status, body) = f.get("/role?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("format=text"));
}

#[tokio::test]
async fn active_is_200_only_while_the_lease_is_valid() {
    let f = fixture();
    assert_eq!(f.get("/active").await.0, StatusCode::SERVICE_UNAVAILABLE);
    f.active_for(5);
    assert_eq!(f.get("/active").await.0, StatusCode::OK);
    // Nothing republished: the loop is stalled. The deadline alone ends it.
    f.clock.advance(Duration::from_secs(5));
    assert_eq!(f.get("/active").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(f.get("/role?format=text").await.1, "passive\n");
    f.passive();
    assert_eq!(f.get("/active").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn role_answers_carry_the_instant_they_were_decided_at_on_request() {
    let f = fixture();
    f.active_for(5);
    for uri in ["/active", "/passive", "/role", "/role?format=text"] {
        let req = Request::builder()
            .uri(uri)
            .header(gate_endpoints::WANT_DECIDED_AT, "1")
            .body(Body::empty())
            .unwrap();
        let res = f.app.clone().oneshot(req).await.unwrap();
        let at = res.headers()[gate_endpoints::DECIDED_AT]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            at,
            f.clock.now().as_duration().as_nanos().to_string(),
            "{uri}"
        );
        // Only on request: the stamp costs the gate endpoints throughput.
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let res = f.app.clone().oneshot(req).await.unwrap();
        assert!(
            res.headers().get(gate_endpoints::DECIDED_AT).is_none(),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn passive_is_200_only_when_initialised_and_passive() {
    let f = fixture();
    assert_eq!(f.get("/passive").await.0, StatusCode::SERVICE_UNAVAILABLE);
    f.passive();
    assert_eq!(f.get("/passive").await.0, StatusCode::OK);
    f.active_for(5);
    assert_eq!(f.get("/passive").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn admiral_health_ready_keeps_its_semantics() {
    let f = fixture();
    let check = "/health/ready?checkifreadonly=true";
    assert_eq!(f.get(check).await.0, StatusCode::SERVICE_UNAVAILABLE);
    f.passive();
    assert_eq!(f.get(check).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(f.get("/health/ready").await.0, StatusCode::OK);
    f.active_for(5);
    assert_eq!(f.get(check).await.0, StatusCode::OK);
}

#[tokio::test]
async fn healthz_fails_only_when_the_loop_stalls() {
    let f = fixture();
    f.set(View {
        initialized: true,
        store_reachable: Some(false),
        last_error: Some("store unavailable".into()),
        ..Default::default()
    });
    assert_eq!(
        f.get("/healthz").await.0,
        StatusCode::OK,
        "an unreachable store is not a liveness failure"
    );
    f.clock.advance(Duration::from_secs(11));
    let (status, body) = f.get("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("stalled"));
}

#[tokio::test]
async fn readyz_waits_for_the_first_decision() {
    let f = fixture();
    assert_eq!(f.get("/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    f.passive();
    assert_eq!(f.get("/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let f = fixture();
    f.active_for(5);
    let (status, body) = f.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("drlease_is_active{lease=\"mylease\"} 1"),
        "{body}"
    );
}

#[tokio::test]
async fn head_works_other_methods_405_unknown_paths_404() {
    let f = fixture();
    f.active_for(5);
    let (status, body) = f.call(Method::HEAD, "/active").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(f.call(Method::HEAD, "/role").await.0, StatusCode::OK);
    assert_eq!(
        f.call(Method::POST, "/active").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        f.call(Method::DELETE, "/role").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(f.get("/nope").await.0, StatusCode::NOT_FOUND);
}

fn header(h: &axum::http::HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn every_active_answer_grants_a_window_capped_by_the_validity_left() {
    let f = fixture();
    f.active_for(5);
    for uri in [
        "/active",
        "/role",
        "/role?format=text",
        "/health/ready?checkifreadonly=true",
    ] {
        let (status, h) = f.headers(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(
            header(&h, gate_endpoints::VALID_FOR_MS).as_deref(),
            Some("2000"),
            "{uri}"
        );
        assert_eq!(
            header(&h, gate_endpoints::EPOCH).as_deref(),
            Some("7"),
            "{uri}"
        );
    }
    let (_, body) = f.get("/role").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["valid_for_ms"], 2000);
    f.clock.advance(Duration::from_millis(4500));
    let (_, h) = f.headers("/active").await;
    assert_eq!(
        header(&h, gate_endpoints::VALID_FOR_MS).as_deref(),
        Some("500")
    );
    f.passive();
    let (status, h) = f.headers("/active").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.get(gate_endpoints::VALID_FOR_MS).is_none());
    assert!(h.get(gate_endpoints::EPOCH).is_none());
    let (_, body) = f.get("/role").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["valid_for_ms"], serde_json::Value::Null);
}

#[tokio::test]
async fn min_validity_is_granted_in_full_refused_or_a_bad_request() {
    let f = fixture();
    f.active_for(5);
    let (status, h, _) = f.get_on_gate("/active?min_validity=4s").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&h, gate_endpoints::VALID_FOR_MS).as_deref(),
        Some("4000")
    );
    let (status, _, body) = f.get_on_gate("/active?min_validity=6s").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("less than min_validity=6s"), "{body}");
    for bad in [
        "/active?min_validity=soon",
        "/active?min_validity=11s",
        "/active?min_validity=",
    ] {
        for (status, body) in [f.get(bad).await, {
            let (s, _, b) = f.get_on_gate(bad).await;
            (s, b)
        }] {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert!(body.contains("min_validity"), "{bad}: {body}");
        }
    }
}

/// Any pod reaches the main port, and every window granted delays the next release: a
/// neighbour asking there for more than the write window is refused, and granted nothing.
#[tokio::test]
async fn the_main_port_grants_no_window_longer_than_the_write_window() {
    let f = fixture();
    f.active_for(9);
    let (status, h) = f.headers("/active?min_validity=2s").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&h, gate_endpoints::VALID_FOR_MS).as_deref(),
        Some("2000")
    );
    let (status, body) = f.get("/active?min_validity=2001ms").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("longer than the write window (2s)") && body.contains("--gate-listen"),
        "{body}"
    );
    let now = f.clock.now();
    assert_eq!(
        f.shared.gate.granted_until(),
        now.plus(Duration::from_secs(2)),
        "the refusal granted nothing"
    );
    // The same ask on the controller's own listener is granted.
    let (status, h, _) = f.get_on_gate("/active?min_validity=8s").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&h, gate_endpoints::VALID_FOR_MS).as_deref(),
        Some("8000")
    );
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_a_bad_request() {
    let f = fixture();
    f.active_for(9);
    for uri in [
        "/active?min_validity=1s&min_validity=40s",
        "/role?format=text&format=json",
        "/role?index=1&wait=1s&index=2",
        "/health/ready?checkifreadonly=true&checkifreadonly=false",
        "/passive?x&x",
    ] {
        let (status, body) = f.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(
            body.contains("more than once; send it once"),
            "{uri}: {body}"
        );
    }
    let (status, body) = f.get("/active?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("too many query parameters"), "{body}");
    assert_eq!(f.get("/active?min_validity=1s&").await.0, StatusCode::OK);
}

/// A SIGTERM revokes the gate before the loop publishes anything: every surface says
/// passive from that instant, `/metrics` included.
#[tokio::test]
async fn metrics_read_the_gate_like_every_other_surface() {
    let f = fixture();
    f.active_for(9);
    let (_, body) = f.get("/metrics").await;
    assert!(
        body.contains("drlease_is_active{lease=\"mylease\"} 1"),
        "{body}"
    );
    f.shared.gate.revoke();
    assert_eq!(f.get("/role?format=text").await.1, "passive\n");
    let (_, body) = f.get("/metrics").await;
    assert!(
        body.contains("drlease_is_active{lease=\"mylease\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("drlease_role{lease=\"mylease\",role=\"passive\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("drlease_lease_validity_seconds{lease=\"mylease\"} 0"),
        "{body}"
    );
    let (_, body) = f.get("/role").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["role"].as_str(), v["validity_left_seconds"].as_f64()),
        (Some("passive"), Some(0.0))
    );
}

#[tokio::test]
async fn events_list_changes_with_reasons_and_role_carries_the_index() {
    let f = fixture();
    f.passive();
    f.shared_events_record();
    let (_, h) = f.headers("/role").await;
    assert_eq!(header(&h, gate_endpoints::INDEX).as_deref(), Some("1"));
    let (status, body) = f.get("/events").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["events"][0]["reason"], "test event");
    assert_eq!(v["events"][0]["index"], 1);
}

#[tokio::test]
async fn a_blocking_role_query_answers_on_the_next_event_or_at_its_wait() {
    let f = fixture();
    f.passive();
    f.shared_events_record();
    // Nothing new: waits out its 50 ms.
    let started = std::time::Instant::now();
    let (status, h) = f.headers("/role?index=1&wait=50ms").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(header(&h, gate_endpoints::INDEX).as_deref(), Some("1"));
    // An older index answers at once; a bad one is refused.
    let (_, h) = f.headers("/role?index=0&wait=10m").await;
    assert_eq!(header(&h, gate_endpoints::INDEX).as_deref(), Some("1"));
    assert_eq!(f.get("/role?index=x").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        f.get("/role?index=1&wait=11m").await.0,
        StatusCode::BAD_REQUEST
    );
    // A change wakes a waiting query.
    let events = f.events.clone();
    let waiter = tokio::spawn({
        let app = f.app.clone();
        async move {
            let req = Request::builder()
                .uri("/role?index=1&wait=10m")
                .body(Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    events.record(
        Mono::ZERO,
        facts(Role::Active),
        Some(true),
        "acquired".into(),
    );
    let res = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.headers()[gate_endpoints::INDEX], "2");
}

#[tokio::test]
async fn watchers_past_the_cap_get_a_clear_503() {
    let f = fixture();
    f.passive();
    f.shared_events_record();
    let open = |app: Router, uri: &'static str| async move {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        app.oneshot(req).await.unwrap()
    };
    let first = open(f.app.clone(), "/watch").await;
    let _second = open(f.app.clone(), "/watch").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.headers()[axum::http::header::CONTENT_TYPE],
        "text/event-stream"
    );
    let third = open(f.app.clone(), "/watch").await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = third.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("too many watchers"));
    // A closed stream gives its slot back.
    drop(first);
    assert_eq!(open(f.app.clone(), "/watch").await.status(), StatusCode::OK);
    // The main port's streams do not count against the gate listener's budget: the
    // controller still gets its stream and its blocking query.
    let gate_watch = open(f.gate.clone(), "/watch").await;
    assert_eq!(gate_watch.status(), StatusCode::OK);
    let blocking = tokio::time::timeout(
        Duration::from_secs(5),
        open(f.gate.clone(), "/role?index=1&wait=10ms"),
    )
    .await
    .expect("a blocking query with a short wait answers");
    assert_eq!(blocking.status(), StatusCode::OK);
    // The first event of a stream is the current state.
    let mut body = gate_watch.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(
        text.contains("id: 1") && text.contains("test event"),
        "{text}"
    );
}

#[tokio::test]
async fn the_gate_listener_serves_only_the_role_endpoints() {
    let f = fixture();
    f.active_for(5);
    for uri in ["/active", "/role", "/passive", "/health/ready"] {
        let (status, _, _) = f.request(&f.gate, Method::GET, uri).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    for uri in ["/metrics", "/healthz", "/events", "/readyz"] {
        let (status, _, body) = f.request(&f.gate, Method::GET, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body.contains("main listener"), "{body}");
    }
}

fn facts(role: Role) -> crate::run::events::Facts {
    crate::run::events::Facts {
        role,
        holder: Some("pod-a".into()),
        epoch: Some(7),
        frozen: false,
        eligible: true,
    }
}

impl Fixture {
    fn shared_events_record(&self) {
        self.events.record(
            Mono::ZERO,
            facts(Role::Passive),
            Some(true),
            "test event".into(),
        );
    }
}
