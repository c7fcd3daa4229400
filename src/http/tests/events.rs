//! Events, blocking `/role`, `/watch` and its cap, the gate listener.

use super::*;

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
    let open = |app: serve::Served, uri: &'static str| async move {
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

/// An open `/watch` stream must not hold a SIGTERM's exit until the release deadline.
/// On the shutdown switch a stream sends what happened since its last event (the release)
/// and ends, and a blocking query answers at once.
#[tokio::test]
async fn on_shutdown_a_stream_sends_the_last_events_and_ends_and_a_blocking_query_answers() {
    let f = fixture();
    f.passive();
    f.shared_events_record();
    let open = |app: serve::Served, uri: &'static str| async move {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        app.oneshot(req).await.unwrap()
    };
    let mut stream = open(f.gate.clone(), "/watch").await.into_body();
    let first = stream.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("id: 1"));
    // As the daemon does it: the release is published, then the switch turns on.
    f.events.record(
        Mono::ZERO,
        facts(Role::Active),
        Some(true),
        "released the lease".into(),
    );
    // At the current index: only the switch can answer it before its 10 minutes.
    let blocking = tokio::spawn(open(f.app.clone(), "/role?index=2&wait=10m"));
    f.closing.send(true).unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(5), stream.collect())
        .await
        .expect("the stream ends")
        .unwrap()
        .to_bytes();
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.contains("released the lease"), "{rest}");
    let answer = tokio::time::timeout(Duration::from_secs(5), blocking)
        .await
        .expect("the blocking query answers")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}
