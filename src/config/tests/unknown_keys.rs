//! Keys that are no setting, anywhere in the file: refused, naming the key and the closest
//! known one or where it belongs; `--allow-unknown-keys` makes them warnings.

use super::*;

const BASE: &str = "dynamoDB:\n  leaseName: l\n  tableName: t\n  region: us-east-1\n";

fn refused(c: &CommandLine, text: &str) -> String {
    let e = err(c, &format!("{BASE}{text}"));
    assert!(e.starts_with("--config: the config file: "), "{e}");
    assert!(e.contains("--allow-unknown-keys"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

/// Each of these once gave `check-config` exit 0 and no warning, the region settings
/// silently dropped.
#[test]
fn settings_outside_their_section_are_refused_naming_where_they_belong() {
    let cases = [
        (
            "drlease:\nconfirmDelay: 1s\npeerRegions: us-west-2\n",
            &[
                "confirmDelay is a drlease setting but sits at the top level of the file, where nothing reads it: indent it under drlease:",
                "peerRegions is a drlease setting but sits at the top level of the file",
            ][..],
        ),
        (
            "confirmDelay: 1s\n",
            &["confirmDelay is a drlease setting but sits at the top level"][..],
        ),
        (
            "drLease:\n  confirmDelay: 1s\n",
            &["drLease is not a section; did you mean drlease? (names are case-sensitive)"][..],
        ),
        (
            "drleas:\n  confirmDelay: 1s\n",
            &["drleas is not a section; did you mean drlease?"][..],
        ),
        (
            "waitTimeInSeconds: 5\n",
            &["waitTimeInSeconds is a dynamoDB setting but sits at the top level"][..],
        ),
        (
            "settings:\n  a: 1\n",
            &["settings is not a section (the file has dynamoDB: and drlease:; keys starting with x- are free for YAML anchors)"][..],
        ),
        (
            "drlease:\n  tableName: other\n",
            &["drlease.tableName is not a setting; it is a dynamoDB setting: move it under dynamoDB:"][..],
        ),
    ];
    for (text, expected) in cases {
        let e = refused(&memory(), text);
        for part in expected {
            assert!(e.contains(part), "{text:?}: {e}");
        }
    }
}

/// A typo inside Admiral's section must not only warn while the setting goes unapplied.
#[test]
fn a_typo_in_either_section_is_refused_naming_the_closest_key() {
    let e = refused(&memory(), "  waitTimeInSecnds: 5\n");
    assert!(
        e.contains("dynamoDB.waitTimeInSecnds is not a setting; did you mean waitTimeInSeconds?"),
        "{e}"
    );
    let e = refused(&memory(), "drlease:\n  confirmDelya: 1s\n");
    assert!(
        e.contains("drlease.confirmDelya is not a setting; did you mean confirmDelay?"),
        "{e}"
    );
}

#[test]
fn admirals_own_keys_and_anchor_keys_are_accepted() {
    let s = resolve(&cli(), ADMIRAL).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let s = resolve(
        &memory(),
        "x-timing: &t\n  interval: 2s\ndrlease:\n  <<: *t\n  warmup: 1s\n",
    )
    .unwrap();
    assert_eq!(s.timing.interval, Duration::from_secs(2));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

/// For a fleet where some pods run a version that knows a key others do not: the switch
/// makes each unknown key a warning, and the rest of the file still applies.
#[test]
fn allow_unknown_keys_makes_them_warnings() {
    let text = format!("{BASE}drlease:\n  interval: 2s\n  someNewSetting: 1\nconfirmDelay: 1s\n");
    for source in [Source::Flag, Source::Env] {
        let c = with(|c| {
            c.allow_unknown_keys = Some("true".into());
            c.sources = vec![("allow-unknown-keys".into(), source)];
        });
        let s = resolve(&c, &text).unwrap();
        assert_eq!(s.timing.interval, Duration::from_secs(2));
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("confirmDelay is a drlease setting"));
        assert!(s.warnings[1].starts_with("drlease.someNewSetting is not a setting; did you mean"));
        assert!(s.warnings[1].ends_with("(in the config file)"));
        assert!(s
            .provenance
            .contains(&("allow-unknown-keys", "true".into(), source)));
    }
    let c = with(|c| c.allow_unknown_keys = Some("false".into()));
    refused(&c, "  somethingElse: 1\n");
    let c = with(|c| c.allow_unknown_keys = Some("maybe".into()));
    assert!(err(&c, "").starts_with("--allow-unknown-keys: 'maybe' is not true or false"));
}
