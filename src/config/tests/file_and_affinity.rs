//! Admiral's file, drlease's own section, affinity and the environment's names.

use super::*;

#[test]
fn affinity_is_off_by_default_and_set_by_flag_or_file() {
    let s = resolve(&memory(), "").unwrap();
    assert_eq!(s.affinity, crate::lease::core::Affinity::default());
    let s = resolve(
        &with(|c| {
            c.priority = Some("-2".into());
            c.failback_after = Some("5m".into());
        }),
        "",
    )
    .unwrap();
    assert_eq!(s.affinity.priority, -2);
    assert_eq!(s.affinity.failback_after, Some(Duration::from_secs(300)));
    let s = resolve(
        &memory(),
        "drlease:\n  priority: 10\n  failbackAfter: 30s\n",
    )
    .unwrap();
    assert_eq!(s.affinity.priority, 10);
    assert_eq!(s.affinity.failback_after, Some(Duration::from_secs(30)));
    let s = resolve(&memory(), "drlease:\n  neverAcquire: true\n").unwrap();
    assert!(s.affinity.never_acquire);
    let s = resolve(&with(|c| c.failback_after = Some("off".into())), "").unwrap();
    assert_eq!(s.affinity.failback_after, None);
    let shown: Vec<_> = s
        .provenance
        .iter()
        .map(|(k, v, _)| (*k, v.as_str()))
        .collect();
    assert!(shown.contains(&("failback-after", "off")), "{shown:?}");
    assert!(shown.contains(&("priority", "0")), "{shown:?}");
}

#[test]
fn bad_affinity_settings_are_named() {
    let e = err(&with(|c| c.priority = Some("high".into())), "");
    assert!(
        e.starts_with("--priority:") && e.contains("whole number"),
        "{e}"
    );
    let e = err(&with(|c| c.priority = Some("99999999999".into())), "");
    assert!(e.starts_with("--priority:"), "{e}");
    let e = err(&with(|c| c.failback_after = Some("soon".into())), "");
    assert!(
        e.starts_with("--failback-after:") && e.contains("off"),
        "{e}"
    );
    let e = err(&with(|c| c.failback_after = Some("0s".into())), "");
    assert!(e.contains("greater than zero"), "{e}");
    let e = err(&with(|c| c.never_acquire = Some("maybe".into())), "");
    assert!(e.starts_with("--never-acquire:"), "{e}");
    let e = err(
        &with(|c| {
            c.never_acquire = Some("true".into());
            c.failback_after = Some("1m".into());
        }),
        "",
    );
    assert!(e.contains("observer") && e.contains("failback"), "{e}");
    // Failback on an eventually consistent global table: refused from the flag or the file.
    let e = err(
        &with(|c| {
            c.peer_regions = Some("us-west-2".into());
            c.failback_after = Some("1m".into());
        }),
        "",
    );
    assert!(
        e.starts_with("--failback-after:") && e.contains("drlease handover --to"),
        "{e}"
    );
    let e = err(
        &memory(),
        "drlease:\n  peerRegions: us-west-2\n  failbackAfter: 1m\n",
    );
    assert!(e.starts_with("drlease.failbackAfter"), "{e}");
    // Either one alone is fine.
    assert!(resolve(
        &memory(),
        "drlease:\n  peerRegions: us-west-2\n  confirmDelay: 1s\n"
    )
    .is_ok());
    let e = FileConfig::parse("drlease:\n  priority: first\n").unwrap_err();
    assert!(e.contains("priority"), "{e}");
}

#[test]
fn an_unknown_drlease_variable_is_a_warning_naming_the_closest_one() {
    let env = Environment {
        drlease_vars: vec![
            "DRLEASE_INTERVALL".into(),
            "DRLEASE_INTERVAL".into(),
            "DRLEASE_TEST_DYNAMODB_ENDPOINT".into(),
            "DRLEASE_GATE_LISTN".into(),
        ],
        ..env()
    };
    let s = Settings::resolve_with_file(&memory(), &env, &file("")).unwrap();
    assert_eq!(
        s.warnings,
        [
            "environment variable DRLEASE_INTERVALL is not a setting and is ignored; did you mean DRLEASE_INTERVAL?",
            "environment variable DRLEASE_GATE_LISTN is not a setting and is ignored; did you mean DRLEASE_GATE_LISTEN?",
        ]
    );
}

/// Peer regions without a confirm delay must not be accepted silently: region marks on a
/// table whose confirm rule is broken from the start.
#[test]
fn peer_regions_without_a_confirm_delay_are_refused_naming_both() {
    for (c, text, source) in [
        (
            with(|c| c.peer_regions = Some("us-west-2".into())),
            "",
            "--peer-regions:",
        ),
        (
            memory(),
            "drlease:\n  peerRegions: us-west-2\n",
            "drlease.peerRegions in the config file:",
        ),
        (
            with(|c| c.confirm_delay = Some("0s".into())),
            "drlease:\n  peerRegions: us-west-2,eu-west-1\n  confirmDelay: 1s\n",
            "drlease.peerRegions in the config file:",
        ),
    ] {
        let e = err(&c, text);
        assert!(e.starts_with(source), "{e}");
        assert!(
            e.contains("confirmDelay is 0") && e.contains("--confirm-delay"),
            "{e}"
        );
    }
}
