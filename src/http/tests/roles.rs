//! Role answers, probes, metrics and methods: each endpoint's status and body.

use super::*;

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
        "table",
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
            .header(query::WANT_DECIDED_AT, "1")
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

/// Admiral's handler reads `checkifreadonly` (that exact name) with Go's
/// `strconv.ParseBool` after removing spaces: these forms are true, these false, the
/// empty value is no check, anything else 400.
#[tokio::test]
async fn admiral_health_ready_reads_checkifreadonly_as_admiral_does() {
    let f = fixture();
    let trues = ["1", "t", "T", "TRUE", "true", "True", "+true", "%20t%20"];
    let falses = ["0", "f", "F", "FALSE", "false", "False", ""];
    let bad = ["yes", "y", "on", "2", "tRUE", "truee", "%zz"];
    for (state, check_status) in [
        ("undecided", StatusCode::SERVICE_UNAVAILABLE),
        ("passive", StatusCode::SERVICE_UNAVAILABLE),
        ("active", StatusCode::OK),
    ] {
        match state {
            "passive" => f.passive(),
            "active" => f.active_for(5),
            _ => {}
        }
        for v in trues {
            let (status, body) = f.get(&format!("/health/ready?checkifreadonly={v}")).await;
            assert_eq!(status, check_status, "{state} {v:?}: {body}");
        }
        for v in falses {
            let uri = format!("/health/ready?checkifreadonly={v}");
            assert_eq!(f.get(&uri).await.0, StatusCode::OK, "{state} {v:?}");
        }
        for uri in ["/health/ready", "/health/ready?checkifreadonly"] {
            assert_eq!(f.get(uri).await.0, StatusCode::OK, "{state} {uri}");
        }
        for v in bad {
            let (status, body) = f.get(&format!("/health/ready?checkifreadonly={v}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{state} {v:?}: {body}");
            assert!(body.contains("checkifreadonly"), "{body}");
        }
        // Admiral reads the name exactly; any other name is refused, not ignored.
        let (status, body) = f.get("/health/ready?checkIfReadOnly=true").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{state}: {body}");
        assert!(body.contains("it reads checkifreadonly"), "{body}");
    }
}

/// A parameter an endpoint does not read is a 400 naming the ones it does, on every
/// endpoint and both listeners: it would otherwise be ignored, and the answer given to a
/// question nobody asked (`minValidity=5s` granting the default window).
#[tokio::test]
async fn every_endpoint_refuses_a_parameter_it_does_not_read() {
    let f = fixture();
    f.active_for(9);
    let cases = [
        ("/active?minValidity=5s", "it reads min_validity"),
        ("/role?min_validity=3s", "it reads format, index, wait"),
        ("/role?frmat=text", "it reads format, index, wait"),
        ("/health/ready?check=true", "it reads checkifreadonly"),
        ("/history?limt=3", "it reads limit"),
        ("/passive?format=text", "/passive takes no query parameters"),
        ("/watch?index=1", "/watch takes no query parameters"),
        ("/events?limit=5", "/events takes no query parameters"),
        ("/healthz?verbose", "/healthz takes no query parameters"),
        ("/readyz?x=1", "/readyz takes no query parameters"),
        (
            "/metrics?name%5B%5D=drlease_role",
            "/metrics takes no query parameters",
        ),
    ];
    for (uri, expected) in cases {
        let (status, body) = f.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(expected), "{uri}: {body}");
        let path = uri.split('?').next().unwrap();
        if ["/active", "/role", "/passive", "/health/ready", "/watch"].contains(&path) {
            let (status, _, body) = f.get_on_gate(uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "gate {uri}: {body}");
        }
    }
    for uri in [
        "/active?min_validity=1s",
        "/role?format=text&index=0&wait=1ms",
        "/history?limit=3",
        "/healthz",
        "/metrics?",
    ] {
        let (status, body) = f.get(uri).await;
        assert_ne!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
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
