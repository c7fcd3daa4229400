//! Write windows: granted with every active answer, capped by validity, `min_validity`.

use super::*;

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
