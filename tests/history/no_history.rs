//! A table without history items (an older table, a restore): "no history recorded",
//! clearly, and no error.

use crate::*;
use drlease::lease::{Expect, HandoverWrite, LeaseState, WriteKind, WriteRequest};
use drlease::store::LeaseStore;

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_history_items_says_no_history_recorded() {
    let Some(f) = fixture().await else {
        return;
    };
    let (code, out, err) = cli_history(&f, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("no history recorded"), "{out}");

    // An item an older drlease left, held at epoch 41, with no history beside it.
    let store = f.store().await;
    let written = store
        .write(&WriteRequest {
            expect: Expect::Absent,
            new: LeaseState {
                owner: "old-pod".into(),
                session: "old".into(),
                version: "v41".into(),
                epoch: 41,
                lease_duration_ms: 600_000,
                handover: HandoverWrite::Clear,
                released_by: None,
                released_from: None,
                priority: Some(0),
            },
            kind: WriteKind::Create,
        })
        .await;
    assert!(written.is_ok(), "{written:?}");
    let (code, out, err) = cli_history(&f, &["-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["end"]["kind"], "not_recorded");
    assert!(v["note"]
        .as_str()
        .unwrap()
        .starts_with("no history recorded"));
    let (_, out, _) = text(&f.cli("status", &[]));
    assert!(out.contains("last change no history recorded"), "{out}");

    // A sidecar on it answers the same on /history, while passive behind the old holder.
    let a = f.sidecar("pod-a", &[]);
    let mut seen = Value::Null;
    wait_until(STARTUP, || {
        seen = history_of(a.port, 5).unwrap_or(Value::Null);
        seen["epoch"] == 41
    })
    .unwrap_or_else(|| panic!("no /history answer: {seen}\n{}", a.logs()));
    assert!(
        seen["note"]
            .as_str()
            .unwrap()
            .starts_with("no history recorded"),
        "{seen}"
    );
}
