//! The scenario: a kill -9 failover, a SIGTERM handover, a freeze/unfreeze and a
//! failback, then every pod restarted; the history lists them in order, on any pod and
//! through `drlease history`, with reasons and gaps.

use crate::*;

/// The changes this test makes, oldest first, after the first holder.
const MADE: [&str; 5] = [
    "first",
    "takeover",
    "acquired_release",
    "after_unfreeze",
    "failback",
];

#[tokio::test(flavor = "multi_thread")]
async fn kill_sigterm_freeze_and_failback_are_listed_in_order_after_every_pod_restarted() {
    let Some(f) = fixture().await else {
        return;
    };
    let mut a = f.sidecar("pod-a", &[]);
    newest_is(&a, "first");
    let mut b = f.sidecar("pod-b", &[]);
    wait_until(STARTUP, || b.role().as_deref() == Some("passive")).expect("b decides");

    // kill -9 of the holder: b takes over once a's lease ran out.
    a.kill9();
    let took = newest_is(&b, "takeover");
    let change = &took["changes"][0];
    assert_eq!(change["previous_owner"], "pod-a", "{took}");
    // A takeover waits a whole lease from the last renewal it saw: never a shorter gap.
    let gap = change["gap_ms"].as_u64().expect("a takeover knows its gap");
    assert!(
        gap >= LEASE.as_millis() as u64,
        "gap {gap} ms below a lease"
    );

    // SIGTERM of the holder: it releases, and a (restarted) acquires the release.
    a.restart();
    wait_until(STARTUP, || a.role().as_deref() == Some("passive")).expect("a decides");
    b.signal(libc::SIGTERM);
    assert_eq!(b.wait_exit(STARTUP), Some(0));
    let released = newest_is(&a, "acquired_release");
    assert_eq!(released["changes"][0]["previous_owner"], "pod-b");
    b.restart();
    wait_until(STARTUP, || b.role().as_deref() == Some("passive")).expect("b decides");

    // Freeze, then unfreeze: whoever acquires records it after the unfreeze.
    let (code, _, err) = text(&f.cli("freeze", &[]));
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = text(&f.cli("unfreeze", &[]));
    assert_eq!(code, Some(0), "{err}");
    let pods = [&a, &b];
    let holder = pods[active_one(&pods)];
    newest_is(holder, "after_unfreeze");

    // A preferred pod gets the lease back once it has been eligible for 1 s.
    let mut c = f.sidecar("pod-c", &["--priority", "10", "--failback-after", "1s"]);
    let back = newest_is(&c, "failback");
    assert_eq!(back["changes"][0]["owner"], "pod-c");

    // Every pod restarted (kill -9: nothing released, nothing recorded on the way out).
    for pod in [&mut a, &mut b, &mut c] {
        pod.kill9();
    }
    for pod in [&mut a, &mut b, &mut c] {
        pod.restart();
    }
    for pod in [&a, &b, &c] {
        let listed = wait_for_history(pod);
        let h = hows(&listed);
        assert_eq!(&h[..MADE.len()], MADE, "{} lists {h:?}", pod.identity);
        for change in listed["changes"].as_array().unwrap() {
            assert!(!change["reason"].as_str().unwrap().is_empty(), "{change}");
            if change["how"] != "first" {
                assert!(change["gap_ms"].is_u64(), "a gap for {change}");
            }
        }
        assert_eq!(listed["end"]["kind"], "first", "{listed}");
    }

    operators_view_lists_the_same(&f);
}

/// The operator's view of the same, from the table: `drlease history` (JSON and text,
/// newest first) and the last change in `drlease status`.
fn operators_view_lists_the_same(f: &Fixture) {
    let (code, out, err) = cli_history(f, &["-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(&hows(&json)[..MADE.len()], MADE, "{out}");
    let (code, out, err) = cli_history(f, &[]);
    assert_eq!(code, Some(0), "{err}");
    eprintln!("{out}");
    let order: Vec<usize> = [
        "failback  pod-",
        "after_unfreeze  pod-",
        "acquired_release  pod-b -> pod-a",
        "takeover  pod-a -> pod-b",
        "first  - -> pod-a",
    ]
    .iter()
    .map(|s| out.find(s).unwrap_or_else(|| panic!("no {s:?} in:\n{out}")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first:\n{out}"
    );
    assert!(
        out.contains("that was the first holder of this lease"),
        "{out}"
    );
    let (code, status, err) = text(&f.cli("status", &[]));
    assert_eq!(code, Some(0), "{err}");
    assert!(status.contains("last change "), "{status}");
}

/// The history a restarted pod answers once it has read the item, and at least the
/// changes this test made.
fn wait_for_history(pod: &Sidecar) -> Value {
    let mut last = Value::Null;
    wait_until(STARTUP, || {
        last = history_of(pod.port, 50).unwrap_or(Value::Null);
        hows(&last).len() >= MADE.len()
    })
    .unwrap_or_else(|| panic!("{}: {last}\n{}", pod.identity, pod.logs()));
    last
}
