//! Watching, timing, taking over, and what keeps a candidate passive.

use super::*;

#[test]
fn fresh_start_on_a_private_store_becomes_active_at_once() {
    let mut h = Harness::new(private("a", "sa"));
    assert_eq!(h.role(), Role::Unknown);
    h.run_for(ms(5), |h| {
        assert_ne!(
            h.role(),
            Role::Passive,
            "no passive blip before the create lands"
        )
    });
    assert_eq!(h.role(), Role::Active);
    let item = h.item().unwrap();
    assert_eq!(item.owner, "a");
    assert_eq!(item.epoch, Some(1));
    assert_eq!(h.writes[0].1.kind, WriteKind::Create);
    assert_eq!(h.writes[0].1.expect, Expect::Absent);
}

#[test]
fn a_missing_item_in_a_shared_table_is_created_only_after_a_lease() {
    let mut h = Harness::new(config("a", "sa"));
    let start = h.now;
    h.run_for(LEASE, |h| assert_ne!(h.role(), Role::Active));
    assert_eq!(
        h.role(),
        Role::Passive,
        "decided: passive while the absence is timed"
    );
    h.run(ms(10));
    assert_eq!(h.role(), Role::Active);
    // Absence has no version to time: a released placeholder fills it, then is timed.
    let (sent, w) = &h.writes[0];
    assert_eq!(w.kind, WriteKind::Placeholder);
    assert_eq!(*sent, start.plus(RTT));
    let (sent, w) = &h.writes[1];
    assert_eq!(w.kind, WriteKind::Acquire);
    // Timed from the placeholder, then claimed (one round trip), then acquired.
    assert_eq!(*sent, start.plus(RTT * 3).plus(LEASE));
    assert_eq!(h.claims.len(), 1);
    assert_eq!(w.new.epoch, 1);
}

/// Found by the simulation's deletion actor: the item was created and deleted between two
/// reads that both found nothing, and the candidate took the second absence for the first.
#[test]
fn an_item_created_and_deleted_between_two_reads_does_not_shorten_the_wait() {
    let mut h = Harness::new(config("b", "sb"));
    h.run(ms(5));
    // Between our reads: a placeholder of ours is replaced by a holder, then deleted.
    h.store.table().put("lease", foreign("a", "v1", 1));
    h.store.table().remove("lease");
    let gone = h.now;
    h.run(LEASE * 3);
    let acquire = h
        .writes
        .iter()
        .find(|(_, w)| w.kind == WriteKind::Acquire)
        .expect("acquires in the end");
    assert!(acquire.0.since(gone) >= LEASE);
}

#[test]
fn foreign_renewals_keep_a_candidate_passive() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 4));
    let mut n = 0;
    let mut last_renew = h.now;
    // Renew on the holder's behalf every interval while the candidate runs.
    for _ in 0..400 {
        if h.now.since(last_renew) >= INTERVAL {
            n += 1;
            h.store
                .table()
                .put("lease", foreign("a", &format!("v{n}"), 4));
            last_renew = h.now;
        }
        h.step();
        assert_ne!(h.role(), Role::Active);
    }
    assert!(
        h.now.since(last_renew) < INTERVAL * 2 && n > 20,
        "ran {n} renewals"
    );
    assert!(h.writes.is_empty());
    assert_eq!(h.item().unwrap().owner, "a");
}

#[test]
fn takeover_is_sent_the_moment_the_observed_lease_runs_out() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 4));
    let start = h.now;
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    let (sent, w) = &h.writes[0];
    assert_eq!(w.kind, WriteKind::Takeover);
    // First read answered at start + RTT: that is when the version was noted.
    assert_eq!(*sent, start.plus(RTT).plus(LEASE));
    assert_eq!(w.new.epoch, 5, "epoch moves past the stored one");
    assert_eq!(h.item().unwrap().owner, "b");
}

#[test]
fn a_longer_lease_duration_in_the_item_is_honoured() {
    let mut item = foreign("a", "v0", 1);
    item.lease_duration_ms = Some(1000);
    let mut h = Harness::new(config("b", "sb")).with_item(item);
    let start = h.now;
    h.run(ms(990));
    assert!(h.writes.is_empty());
    h.run(ms(100));
    assert_eq!(h.writes[0].0, start.plus(RTT).plus(ms(1000)));
}

#[test]
fn a_fresh_process_waits_a_full_lease_even_when_updated_time_is_ancient() {
    let mut item = foreign("a", "v0", 1);
    item.updated_time = Some(0);
    let mut h = Harness::new(config("b", "sb")).with_item(item);
    h.run(LEASE - ms(1));
    assert!(h.writes.is_empty());
    assert_eq!(h.role(), Role::Passive);
}

#[test]
fn a_frozen_lease_is_never_taken() {
    let mut h = Harness::new(config("b", "sb")).with_item(LeaseRecord {
        owner: FROZEN_OWNER.into(),
        updated_time: Some(5),
        ..Default::default()
    });
    h.run_for(LEASE * 20, |h| assert_eq!(h.role(), Role::Passive));
    assert!(h.writes.is_empty());
    assert!(h.core.view().frozen);
}

#[test]
fn a_live_twin_with_the_same_identity_is_a_conflict_and_keeps_us_passive() {
    let twin = |v: &str| LeaseRecord {
        owner_session: Some("twin-session".into()),
        ..foreign("a", v, 3)
    };
    let mut h = Harness::new(config("a", "sa")).with_item(twin("v0"));
    for n in 1..=20 {
        h.run(INTERVAL);
        h.store.table().put("lease", twin(&format!("v{n}")));
        assert_ne!(h.role(), Role::Active);
    }
    assert!(h.core.view().conflict);
    assert!(h.writes.is_empty());
    // The twin dies: its item stops changing, and it is taken over like any other.
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    assert!(!h.core.view().conflict);
}

#[test]
fn an_earlier_incarnation_is_not_a_conflict_and_is_taken_over() {
    let old = LeaseRecord {
        owner_session: Some("old-session".into()),
        ..foreign("a", "v0", 3)
    };
    let mut h = Harness::new(config("a", "sa")).with_item(old);
    h.run(LEASE + ms(10));
    assert!(!h.core.view().conflict);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.item().unwrap().epoch, Some(4));
}

#[test]
fn a_malformed_item_is_never_taken_over() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 1));
    h.malformed = true;
    h.run_for(LEASE * 20, |h| assert_eq!(h.role(), Role::Passive));
    assert!(h.writes.is_empty());
    assert!(h.core.view().last_error.unwrap().contains("malformed"));
}

#[test]
fn an_item_that_vanishes_is_recreated_only_after_a_lease_and_above_the_old_epoch() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 41));
    h.run(INTERVAL);
    h.store.table().remove("lease");
    let gone = h.now;
    h.run(INTERVAL + ms(5));
    assert!(
        h.writes
            .iter()
            .all(|(_, w)| w.kind == WriteKind::Placeholder),
        "someone may still believe they hold it"
    );
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes[0].1.kind, WriteKind::Placeholder);
    let (sent, w) = &h.writes[1];
    assert_eq!(w.kind, WriteKind::Acquire);
    assert!(sent.since(gone) >= LEASE);
    assert_eq!(w.new.epoch, 42);
    assert_eq!(h.core.view().rollbacks, 1);
}

#[test]
fn two_candidates_racing_for_a_released_lease_get_one_winner() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    let mut b = Harness::new(config("b", "sb"));
    b.store = a.store.clone();
    b.now = a.now;
    // Both read the released item before either writes.
    assert_eq!(a.core.next_step(a.now), Step::READ);
    assert_eq!(b.core.next_step(b.now), Step::READ);
    a.core.on_read(a.now, a.now, Ok(a.item()));
    b.core.on_read(b.now, b.now, Ok(b.item()));
    a.run(ms(10));
    b.run(ms(10));
    assert_eq!(a.role(), Role::Active);
    assert_eq!(b.role(), Role::Passive);
    assert_eq!(a.item().unwrap().epoch, Some(1));
}

#[test]
fn an_ineligible_candidate_never_acquires_until_it_becomes_eligible() {
    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    h.core.set_eligible(false);
    h.run_for(LEASE * 5, |h| assert_ne!(h.role(), Role::Active));
    assert!(h.writes.is_empty());
    assert_eq!(
        h.role(),
        Role::Passive,
        "still decides (passive) while ineligible"
    );
    h.core.set_eligible(true);
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
}

/// Issue 19, item 4: the epoch saturated at u64::MAX, so every later tenure got the same
/// fencing token, silently. Now nothing is acquired and the view says why.
#[test]
fn no_tenure_is_handed_an_epoch_that_cannot_go_up() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", u64::MAX));
    h.run(LEASE * 3);
    assert!(h.writes.is_empty(), "wrote {:?}", h.writes);
    assert_eq!(h.role(), Role::Passive);
    let view = h.core.view();
    assert!(view.epoch_exhausted);
    assert_eq!(view.last_error.as_deref(), Some(EPOCH_EXHAUSTED));
    // A released item at the limit is not acquired at once either.
    let released = own_release(&foreign("a", "v1", u64::MAX), "r");
    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    h.store.table().put("lease", released);
    h.run(LEASE * 3);
    assert!(h.writes.is_empty());
    // One below the limit is still fine: the last token is handed out once.
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", u64::MAX - 1));
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.item().unwrap().epoch, Some(u64::MAX));
    assert!(!h.core.view().epoch_exhausted);
}

/// A passive pod whose routine reads fail keeps to its interval (a store that is down is
/// not hammered by every candidate); only a holder's or an unsettled write's read is
/// retried at once.
#[test]
fn failed_routine_reads_are_retried_an_interval_apart() {
    let mut b = Harness::new(config("b", "sb")).with_item(seed());
    b.run(ms(5));
    let mut a = beside(&b, config("a", "sa"));
    run_together(&mut [&mut a, &mut b], INTERVAL * 2, |_| {});
    assert_eq!(a.role(), Role::Passive);
    a.outage_until = a.now.plus(INTERVAL * 8);
    let mut calls = 0;
    while a.down() {
        a.step();
        calls += 1;
    }
    // A step is a wait or a call: two a read, so 16 at the interval (64 at quick retries).
    assert!(calls <= 20, "{calls} steps in 8 intervals of outage");
}

/// While a handover to us is under way (requested, not yet released), we read four times
/// an interval, so the release is taken within about a quarter interval of landing: a
/// planned handover costs the controller that much, not an interval.
#[test]
fn the_target_of_a_handover_takes_the_release_within_a_quarter_interval() {
    let held = LeaseRecord {
        handover_to: Some("b".into()),
        handover_from: Some("a".into()),
        ..foreign("a", "v1", 3)
    };
    let mut b = Harness::new(config("b", "sb")).with_item(held.clone());
    b.run(INTERVAL * 2);
    assert!(b.writes.is_empty());
    // The release lands just after one of b's reads.
    let read = b.core.pacing.last_read_sent;
    while b.core.pacing.last_read_sent == read {
        assert!(b.step());
    }
    let released = LeaseRecord {
        handover_to: Some("b".into()),
        handover_from: Some("a".into()),
        ..own_release(&held, "r")
    };
    b.store.table().put("lease", released);
    let landed = b.now;
    while b.role() != Role::Active {
        assert!(b.step());
    }
    let taken = b.now.since(landed);
    assert!(
        taken <= INTERVAL / 4 + ms(5),
        "taken {taken:?} after the release"
    );
}

/// A first read that leads straight to an acquire is no decision yet: the pod answers
/// `unknown` until the acquire lands, never `passive` for that one round trip (a
/// controller would log a needless demotion at every start).
#[test]
fn a_fresh_pod_taking_a_release_at_once_never_answers_passive_first() {
    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    let mut roles = Vec::new();
    while h.role() != Role::Active {
        assert!(h.step());
        roles.push(h.role());
        assert!(roles.len() < 20, "not active after {roles:?}");
    }
    assert!(!roles.contains(&Role::Passive), "{roles:?}");
}

/// An exhausted epoch is said after every read too, not only after the decisions that find
/// it again: a view published between a read and the next step still shows the error.
#[test]
fn an_exhausted_epoch_stays_in_the_view_after_every_read() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", u64::MAX));
    h.run(LEASE * 2);
    assert!(h.core.view().epoch_exhausted);
    h.run_for(LEASE * 2, |h| {
        assert_eq!(
            h.core.view().last_error.as_deref(),
            Some(EPOCH_EXHAUSTED),
            "the error gone from the view {:?} into the wait",
            h.now
        )
    });
}

/// A failed read backs the candidate off for an interval, even when what it saw before (a
/// missing item in a private table) lets it write: made eligible during the back-off, it
/// creates the item the moment the back-off ends.
#[test]
fn a_write_decided_during_a_back_off_is_sent_when_the_back_off_ends() {
    let mut h = Harness::new(private("a", "sa"));
    h.core.set_eligible(false);
    h.run(ms(5));
    assert!(h.item().is_none());
    h.outage_until = h.now.plus(INTERVAL);
    while h.core.view().store_reachable != Some(false) {
        assert!(h.step());
    }
    let failed = h.now;
    h.outage_until = failed;
    h.core.set_eligible(true);
    h.run(INTERVAL + ms(5));
    let (sent, req) = h.writes.first().expect("the item was created");
    assert_eq!(req.kind, WriteKind::Create);
    assert_eq!(*sent, failed.plus(INTERVAL));
}
