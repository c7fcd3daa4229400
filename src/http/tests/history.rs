use super::*;
use crate::lease::history::{Change, How};
use crate::store::memory::MemoryStore;
use crate::store::HistoryStore;

#[tokio::test]
async fn history_answers_from_the_store_and_says_when_there_is_none() {
    let f = fixture();
    let store = MemoryStore::new("mylease");
    let handle = crate::run::history::spawn(store.clone(), Duration::from_secs(1), "a", "s", "");
    let app = serve::Served::main(
        AppState::new(
            f.shared.clone(),
            Arc::new(Metrics::new("x")),
            2,
            Listener::main(Duration::from_secs(2), Duration::from_secs(10)),
        )
        .with_history(handle),
    );
    f.passive();
    let (status, _, body) = f.request(&app, Method::GET, "/history").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(0));
    assert!(
        v["note"]
            .as_str()
            .unwrap()
            .starts_with("no history recorded"),
        "{v}"
    );

    let change = Change {
        epoch: 6,
        previous_epoch: Some(5),
        previous_owner: Some("pod-a".into()),
        owner: "pod-b".into(),
        session: "s".into(),
        how: How::Takeover,
        reason: "took over from pod-a after its lease ran out".into(),
        region: String::new(),
        at_ms: 1,
        gap_ms: Some(45_000),
    };
    store.put_change(&change).await.unwrap();
    let (status, _, body) = f.request(&app, Method::GET, "/history?limit=5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["changes"][0]["how"], "takeover");
    assert_eq!(v["changes"][0]["gap_ms"], 45_000);
    assert_eq!(v["end"]["kind"], "not_recorded", "epoch 5 has no record");

    for bad in ["limit=0", "limit=51", "limit=x", "limit=1&limit=2"] {
        let (status, _, body) = f
            .request(&app, Method::GET, &format!("/history?{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _, body) = f.get_on_gate("/history").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("main listener"), "{body}");
}
