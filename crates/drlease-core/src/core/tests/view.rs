//! What the view shows besides the role: who released the item, what kind of handover is
//! pending, shutting down, and the diagnostics (rollbacks, a twin conflict).

use super::*;

#[test]
fn a_holders_own_release_is_not_shown_as_released_by_an_operator() {
    let held = foreign("a", "v1", 7);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.core.set_eligible(false);
    h.run(ms(5));
    h.store.table().put("lease", own_release(&held, "r"));
    h.run(INTERVAL);
    let view = h.core.view();
    assert_eq!(view.holder.as_deref(), Some(""), "the release was read");
    assert!(!view.released_by_operator);
}

#[test]
fn an_unfreeze_is_shown_as_released_by_an_operator_and_the_seed_is_not() {
    let frozen = operator::freeze(None, "f".into(), 300).apply(None, 0);
    let unfrozen = operator::unfreeze(&frozen, "u".into(), 300).apply(Some(&frozen), 0);
    let mut h = Harness::new(config("b", "sb")).with_item(unfrozen);
    h.core.set_eligible(false);
    h.run(ms(5));
    assert!(h.core.view().released_by_operator);

    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    h.core.set_eligible(false);
    h.run(ms(5));
    assert_eq!(
        h.core.view().holder.as_deref(),
        Some(""),
        "the seed was read"
    );
    assert!(!h.core.view().released_by_operator);
}

#[test]
fn an_operators_handover_request_is_pending_and_not_a_failback() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 3));
    h.store
        .request_handover_now(&operator::HandoverRequest::by_operator("v1", "c", "h10"))
        .unwrap();
    h.run(ms(5));
    let view = h.core.view();
    assert!(view.handover_pending);
    assert_eq!(view.handover_to.as_deref(), Some("c"));
    assert!(!view.handover_is_failback);
}

#[test]
fn the_view_shows_releasing_only_from_begin_release_on() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
    assert!(!h.core.view().releasing);
    h.core.begin_release();
    assert!(h.core.view().releasing);
}

#[test]
fn renewals_seen_by_a_candidate_are_no_rollback() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 3));
    for n in 1..=5 {
        h.run(INTERVAL);
        h.store
            .table()
            .put("lease", foreign("a", &format!("v{n}"), 3));
    }
    h.run(INTERVAL);
    assert_eq!(h.role(), Role::Passive);
    assert_eq!(h.core.view().rollbacks, 0);
}

#[test]
fn an_item_that_turns_malformed_is_no_rollback() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 3));
    h.run(ms(5));
    h.malformed = true;
    h.run(INTERVAL * 2);
    let view = h.core.view();
    assert!(
        view.last_error.is_some_and(|e| e.contains("malformed")),
        "the malformed item was read"
    );
    assert_eq!(view.rollbacks, 0);
}

/// A twin (our identity, another session) is a conflict while it keeps writing; once
/// someone else holds the item, there is no twin to report.
#[test]
fn a_twin_conflict_clears_once_someone_else_holds_the_item() {
    let twin = |v: &str| LeaseRecord {
        owner_session: Some("twin-session".into()),
        ..foreign("a", v, 3)
    };
    let mut h = Harness::new(config("a", "sa")).with_item(twin("v0"));
    for n in 1..=3 {
        h.run(INTERVAL);
        h.store.table().put("lease", twin(&format!("v{n}")));
    }
    h.run(INTERVAL);
    assert!(h.core.view().conflict);
    h.store.table().put("lease", foreign("c", "c1", 4));
    h.run(INTERVAL);
    assert_eq!(h.core.view().holder.as_deref(), Some("c"));
    assert!(!h.core.view().conflict);
}
