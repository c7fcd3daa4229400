//! Parsing items strictly, and updates that declare exactly the names and values they use.

use super::*;
use crate::lease::{LeaseState, WriteKind};

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn parses_an_admiral_item() {
    let r = parse(&item(&[
        (KEY, s("mylease")),
        (OWNER, s("admiral-0")),
        (UPDATED, n(1700000000)),
        (NOTES, s("Created at 1")),
    ]))
    .unwrap();
    assert_eq!(r.owner, "admiral-0");
    assert_eq!(r.updated_time, Some(1700000000));
    assert_eq!(r.version, None);
}

#[test]
fn wrong_types_are_errors_that_name_the_attribute() {
    let e = parse(&item(&[(OWNER, n(5))])).unwrap_err();
    assert!(e.contains("leaseOwner is a number (N)"), "{e}");
    let e = parse(&item(&[(OWNER, s("a")), (EPOCH, s("7"))])).unwrap_err();
    assert!(e.contains("epoch is a string"), "{e}");
    let e = parse(&item(&[(OWNER, s("a")), (EPOCH, n(-1))])).unwrap_err();
    assert!(e.contains("epoch is -1"), "{e}");
    // Issue 19, item 4: an epoch past u64::MAX is malformed for good; say what to do.
    let e = parse(&item(&[
        (OWNER, s("a")),
        (EPOCH, n("18446744073709551616")),
    ]))
    .unwrap_err();
    assert!(e.contains("epoch is 18446744073709551616"), "{e}");
    assert!(e.contains("delete the item"), "{e}");
    let e = parse(&item(&[(OWNER, s("a")), (DURATION, n(u64::MAX))])).unwrap_err();
    assert!(e.contains("leaseDurationMs"), "{e}");
    let e = parse(&item(&[(KEY, s("x"))])).unwrap_err();
    assert!(e.contains("leaseOwner is missing"), "{e}");
}

fn req(expect: Expect) -> WriteRequest {
    WriteRequest {
        kind: WriteKind::Takeover,
        expect,
        new: LeaseState {
            owner: "b".into(),
            session: "sb".into(),
            version: "sb.1".into(),
            epoch: 2,
            lease_duration_ms: 1000,
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: None,
            priority: Some(3),
        },
    }
}

/// Every placeholder in the expressions is declared, and every declared one is used
/// (as a whole token: `#r` is not used by `#rb`).
fn assert_declares_exactly(u: &Update, what: &str) {
    let text = format!("{} {}", u.update_expression, u.condition_expression);
    let tokens: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '#' || c == ':'))
        .collect();
    for k in u.names.keys().chain(u.values.keys()) {
        assert!(tokens.contains(&k.as_str()), "{k} unused for {what}");
    }
    for token in tokens {
        if token.starts_with('#') {
            assert!(u.names.contains_key(token), "{token} undeclared for {what}");
        }
        if token.starts_with(':') {
            assert!(
                u.values.contains_key(token),
                "{token} undeclared for {what}"
            );
        }
    }
}

#[test]
fn a_handover_request_declares_what_it_uses_and_a_failback_never_replaces_one() {
    for failback in [false, true] {
        let u = handover_request(&HandoverRequest {
            expect_version: "v".into(),
            target: "a".into(),
            failback,
            id: "h1".into(),
        });
        assert_declares_exactly(&u, &format!("failback {failback}"));
        assert_eq!(
            u.condition_expression
                .contains("attribute_not_exists(#h) OR #h = #o"),
            failback
        );
    }
}

#[test]
fn declares_exactly_the_names_and_values_it_uses() {
    for expect in [
        Expect::Absent,
        Expect::Version(VersionKey::Token("t".into())),
        Expect::Version(VersionKey::Legacy {
            owner: "a".into(),
            updated_time: Some(3),
        }),
        Expect::Version(VersionKey::Legacy {
            owner: "a".into(),
            updated_time: None,
        }),
        Expect::Held {
            owner: "a".into(),
            session: "s".into(),
            version: "v".into(),
        },
        Expect::AsRead {
            key: VersionKey::Token("t".into()),
            handover_to: Some("b".into()),
            handover_id: Some("h1".into()),
        },
        Expect::AsRead {
            key: VersionKey::Token("t".into()),
            handover_to: None,
            handover_id: None,
        },
    ] {
        for priority in [Some(3), None] {
            let mut r = req(expect.clone());
            r.new.priority = priority;
            assert_declares_exactly(&update_for(&r, 10), &format!("{expect:?}"));
        }
    }
}
