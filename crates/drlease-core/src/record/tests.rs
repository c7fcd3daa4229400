//! The item's conditions and versions.

use super::*;

fn held(owner: &str, session: &str, version: &str) -> LeaseRecord {
    LeaseRecord {
        owner: owner.into(),
        owner_session: Some(session.into()),
        version: Some(version.into()),
        ..Default::default()
    }
}

#[test]
fn legacy_items_are_versioned_by_owner_and_time() {
    let a = LeaseRecord {
        owner: "admiral-0".into(),
        updated_time: Some(100),
        ..Default::default()
    };
    let mut b = a.clone();
    assert_eq!(a.version_key(), b.version_key());
    b.updated_time = Some(115);
    assert_ne!(a.version_key(), b.version_key());
}

/// R27: on a replicated table a handover request written on a version the holder has
/// renewed since brings that version back without changing it; a candidate's takeover
/// that read no request must not land on it.
#[test]
fn a_takeover_lands_only_on_the_request_it_read() {
    let plain = held("a", "s1", "v1");
    let requested = LeaseRecord {
        handover_to: Some("b".into()),
        handover_id: Some("h1".into()),
        ..plain.clone()
    };
    let read = |to: Option<&str>, id: Option<&str>| Expect::AsRead {
        key: VersionKey::Token("v1".into()),
        handover_to: to.map(str::to_string),
        handover_id: id.map(str::to_string),
    };
    assert!(LeaseRecord::satisfies(Some(&plain), &read(None, None)));
    assert!(!LeaseRecord::satisfies(Some(&requested), &read(None, None)));
    assert!(LeaseRecord::satisfies(
        Some(&requested),
        &read(Some("b"), Some("h1"))
    ));
    assert!(!LeaseRecord::satisfies(
        Some(&requested),
        &read(Some("c"), Some("h1"))
    ));
    assert!(!LeaseRecord::satisfies(
        Some(&plain),
        &read(Some("b"), None)
    ));
    // The same target written again (a new id): not the request that was read.
    assert!(!LeaseRecord::satisfies(
        Some(&requested),
        &read(Some("b"), Some("h0"))
    ));
    // A request written by an older drlease (no id) is told apart by its target alone.
    let old = LeaseRecord {
        handover_id: None,
        ..requested.clone()
    };
    assert!(LeaseRecord::satisfies(Some(&old), &read(Some("b"), None)));
    assert!(!LeaseRecord::satisfies(
        Some(&old),
        &read(Some("b"), Some("h1"))
    ));
}

/// Every write of the item keeps, clears or carries the request's id as it does the
/// request: a renewal keeps it, a release for the handover keeps it, anything else clears.
#[test]
fn a_request_id_lives_and_ends_with_its_request() {
    let requested = LeaseRecord {
        handover_to: Some("b".into()),
        handover_id: Some("h1".into()),
        ..held("a", "s1", "v1")
    };
    let write = |handover| WriteRequest {
        kind: WriteKind::Renew,
        expect: Expect::Version(VersionKey::Token("v1".into())),
        new: LeaseState {
            owner: "a".into(),
            session: "s1".into(),
            version: "v2".into(),
            epoch: 1,
            lease_duration_ms: 1000,
            handover,
            released_by: None,
            released_from: None,
            priority: None,
        },
    };
    let id = |h| write(h).apply(Some(&requested), 0).handover_id;
    assert_eq!(id(HandoverWrite::Keep), Some("h1".into()));
    let set = HandoverWrite::Set {
        to: "b".into(),
        from: "a".into(),
    };
    assert_eq!(id(set), Some("h1".into()));
    assert_eq!(id(HandoverWrite::Clear), None);
}

#[test]
fn conditions_match_only_the_exact_write() {
    let r = held("a", "s1", "v1");
    assert!(LeaseRecord::satisfies(None, &Expect::Absent));
    assert!(!LeaseRecord::satisfies(Some(&r), &Expect::Absent));
    let same = Expect::Version(VersionKey::Token("v1".into()));
    let other = Expect::Version(VersionKey::Token("v2".into()));
    assert!(LeaseRecord::satisfies(Some(&r), &same));
    assert!(!LeaseRecord::satisfies(Some(&r), &other));
    assert!(!LeaseRecord::satisfies(None, &same));
    let mine = Expect::Held {
        owner: "a".into(),
        session: "s1".into(),
        version: "v1".into(),
    };
    assert!(LeaseRecord::satisfies(Some(&r), &mine));
    assert!(!LeaseRecord::satisfies(Some(&held("a", "s2", "v1")), &mine));
    assert!(!LeaseRecord::satisfies(Some(&held("b", "s1", "v1")), &mine));
}

#[test]
fn a_handover_opens_a_released_item_to_its_target_only() {
    let mut r = LeaseRecord::default();
    assert!(r.open_to("anyone"));
    r.handover_to = Some("b".into());
    r.handover_from = Some("a".into());
    assert!(r.open_to("b"));
    assert!(!r.open_to("c"));
    r.handover_to = Some(HANDOVER_ANY.into());
    assert!(r.open_to("c"));
    assert!(
        !r.open_to("a"),
        "the one that stepped down does not take it back"
    );
}

#[test]
fn a_legacy_condition_never_matches_a_versioned_item() {
    let legacy = Expect::Version(VersionKey::Legacy {
        owner: "a".into(),
        updated_time: None,
    });
    assert!(!LeaseRecord::satisfies(Some(&held("a", "s", "v")), &legacy));
}
