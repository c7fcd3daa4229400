//! Who may take a released item at once, and how every other writer is timed.

use super::*;

#[test]
fn a_holders_own_release_of_a_tenure_we_saw_is_acquired_at_once() {
    let held = foreign("a", "v1", 7);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    // The holder renews (a version we never see) and then releases.
    let renewed = foreign("a", "v2", 7);
    h.store.table().put("lease", own_release(&renewed, "r"));
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes[0].1.kind, WriteKind::Acquire);
    assert_eq!(h.item().unwrap().epoch, Some(8));
}

#[test]
fn a_fresh_candidate_times_a_release_whose_tenure_it_did_not_see() {
    let released = own_release(&foreign("a", "v1", 7), "r");
    let mut h = Harness::new(config("b", "sb")).with_item(released);
    h.run(LEASE - ms(2));
    assert!(
        h.writes.is_empty(),
        "a restored release looks just like this"
    );
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn a_release_claiming_another_tenure_is_timed() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 7));
    h.run(ms(5));
    // Released "by a" but at another epoch: not the tenure we saw.
    let mut other = foreign("a", "v2", 6);
    other.owner_session = Some("a-session".into());
    h.store.table().put("lease", own_release(&other, "r"));
    h.run(LEASE - ms(5));
    assert!(h.writes.is_empty());
}

/// The bug this rule fixes: `freeze` then `unfreeze` at once wrote a released item while
/// the holder was still inside its validity, and a candidate acquired it at once.
#[test]
fn freeze_then_unfreeze_at_once_is_timed_from_when_the_candidate_saw_the_freeze() {
    let held = foreign("a", "v1", 3);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    let freeze = operator::freeze(Some(&held), "f".into(), LEASE.as_millis() as u64);
    h.store.write_now(&freeze).unwrap();
    let frozen_at = h.now;
    h.run(INTERVAL);
    let frozen = h.item().unwrap();
    h.store
        .write_now(&operator::unfreeze(&frozen, "u".into(), 300))
        .unwrap();
    h.run_for(LEASE - INTERVAL - ms(5), |h| {
        assert_ne!(h.role(), Role::Active, "the holder may still be active")
    });
    h.run(INTERVAL * 2);
    assert_eq!(h.role(), Role::Active);
    let (sent, req) = &h.writes[0];
    assert_eq!(req.kind, WriteKind::Acquire);
    assert!(*sent >= frozen_at.plus(LEASE));
}

#[test]
fn an_unfreeze_after_a_long_freeze_is_acquired_at_the_next_read() {
    let frozen = operator::freeze(None, "f".into(), 300).apply(None, 0);
    let mut h = Harness::new(config("b", "sb")).with_item(frozen.clone());
    h.run(LEASE * 2);
    h.store
        .write_now(&operator::unfreeze(&frozen, "u".into(), 300))
        .unwrap();
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn the_seed_is_acquired_at_once_unless_a_higher_epoch_was_seen() {
    let mut fresh = Harness::new(config("b", "sb")).with_item(seed());
    fresh.run(ms(5));
    assert_eq!(fresh.role(), Role::Active);
    assert_eq!(fresh.item().unwrap().epoch, Some(1));

    // Someone who saw epoch 4 treats a seed that reappears as a restore: timed.
    let mut h = Harness::new(config("c", "sc")).with_item(foreign("a", "v1", 4));
    h.run(ms(5));
    h.store.table().put("lease", seed());
    h.run(LEASE - ms(10));
    assert!(h.writes.is_empty());
    // Counted once for the version that went back, not once per read of it (issue 16: 9
    // counts in 8 s of one restored item).
    assert_eq!(h.core.view().rollbacks, 1);
}

#[test]
fn history_older_than_a_lease_is_forgotten() {
    // We saw a's tenure, then read nothing for longer than a lease (paused, or the store
    // was unreachable). The release we read now may be a restored copy: time it.
    let held = foreign("a", "v1", 7);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    h.outage_until = h.now.plus(LEASE * 2);
    h.run(LEASE * 2);
    h.store.table().put("lease", own_release(&held, "r"));
    h.run(INTERVAL * 2);
    assert!(h.item().unwrap().is_released());
    assert_eq!(h.role(), Role::Passive);
    h.run(LEASE);
    assert_eq!(h.role(), Role::Active);
}

/// Issue 19, item 2, as the candidate sees it: a holder with long settings (3 s) is
/// frozen and unfrozen by an operator with the candidate's short ones (300 ms), as during
/// a rolling change. The candidate must time the unfrozen version by the holder's lease.
#[test]
fn a_freeze_with_shorter_settings_is_timed_by_the_holders_lease() {
    let mut held = foreign("a", "v1", 3);
    held.lease_duration_ms = Some(3000);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    let freeze = operator::freeze(Some(&held), "f".into(), LEASE.as_millis() as u64);
    h.store.write_now(&freeze).unwrap();
    let frozen = h.item().unwrap();
    h.store
        .write_now(&operator::unfreeze(&frozen, "u".into(), 300))
        .unwrap();
    let unfrozen_at = h.now;
    h.run_for(ms(2900), |h| {
        assert!(h.writes.is_empty(), "took the item at {:?}", h.now)
    });
    h.run(INTERVAL * 2 + ms(5));
    assert_eq!(h.role(), Role::Active);
    assert!(h.writes[0].0 >= unfrozen_at.plus(ms(3000)));
}

/// The candidate's own memory, for writers that do not carry the lease over (an older
/// drlease's freeze, a tool, a restore): the longest lease a holder declared lately.
#[test]
fn a_version_declaring_a_shorter_lease_is_timed_by_the_longest_declared_lately() {
    let mut held = foreign("a", "v1", 3);
    held.lease_duration_ms = Some(3000);
    let mut h = Harness::new(config("b", "sb")).with_item(held);
    h.run(ms(5));
    let mut tool = foreign("tool", "t1", 3);
    tool.lease_duration_ms = Some(300);
    h.store.table().put("lease", tool);
    h.run_for(ms(2900), |h| {
        assert!(h.writes.is_empty(), "took the item at {:?}", h.now)
    });
    h.run(INTERVAL * 2 + ms(5));
    assert_eq!(h.role(), Role::Active);
}

/// A placeholder after a deletion declares that longest lease too, so a candidate that
/// never saw the holder times it as long as the one that did.
#[test]
fn a_placeholder_declares_the_longest_lease_seen_lately() {
    let mut held = foreign("a", "v1", 3);
    held.lease_duration_ms = Some(3000);
    let mut h = Harness::new(config("b", "sb")).with_item(held);
    h.run(ms(5));
    h.store.table().remove("lease");
    h.run(INTERVAL + ms(5));
    let (_, placeholder) = &h.writes[0];
    assert_eq!(placeholder.kind, WriteKind::Placeholder);
    assert_eq!(placeholder.new.lease_duration_ms, 3000);
}

/// Issue 19, item 3: a holder's own release, written back by a restore after the next
/// holder acquired it, was acquired at once by a second candidate that saw the old tenure:
/// two actives until the first one's next renewal failed. Each release is claimed once,
/// in an item of its own that a restore of the lease item does not bring back.
#[test]
fn a_release_restored_after_it_was_acquired_is_timed() {
    let held = foreign("a", "v1", 7);
    let mut b = Harness::new(config("b", "sb")).with_item(held.clone());
    b.run(ms(5));
    let mut c = beside(&b, config("c", "sc"));
    c.run(ms(5));
    let release = own_release(&held, "r");
    b.store.table().put("lease", release.clone());
    b.run(INTERVAL + ms(5));
    assert_eq!(b.role(), Role::Active, "b acquired the release at once");
    // Right after b's renewal (so b stays active for a while), the release is written
    // back; c's last read still showed a's tenure.
    b.step_to_next_write();
    assert_eq!(b.writes.last().unwrap().1.kind, WriteKind::Renew);
    b.store.table().put("lease", release);
    c.now = b.now;
    run_together(&mut [&mut b, &mut c], LEASE * 3, |hs| {
        assert!(
            !(hs[0].role() == Role::Active && hs[1].role() == Role::Active),
            "two actives at {:?}",
            hs[0].now
        );
    });
    assert!(c.claims.iter().all(|(_, ok)| !ok), "c's claim was refused");
    assert!(b.role() == Role::Active || c.role() == Role::Active);
}

/// A lost answer to a claim is asked again: the claim item already names us, so it holds.
#[test]
fn a_claim_whose_answer_was_lost_is_ours_when_asked_again() {
    let held = foreign("a", "v1", 7);
    let mut b = Harness::new(config("b", "sb")).with_item(held.clone());
    b.run(ms(5));
    b.store.table().put("lease", own_release(&held, "r"));
    let claim = crate::ReleaseClaim {
        release_version: "r".into(),
        session: "sb".into(),
        owner: "b".into(),
    };
    // As if an earlier attempt landed and its answer was lost.
    b.store.claim_now(&claim).unwrap();
    b.run(INTERVAL + ms(5));
    assert_eq!(b.role(), Role::Active);
    assert!(b.claims.iter().all(|(_, ok)| *ok));
}

/// R13 at the candidate's decision: back from a pause longer than a lease, a candidate
/// reads before it acts on what it saw. Here the version it saw was written back by a
/// restore while it was paused, under a holder that renewed past it: taking it over at
/// once would make a second active until the holder's next renewal is refused.
#[test]
fn a_candidate_back_from_a_pause_reads_before_it_takes_over() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    let mut b = beside(&a, config("b", "sb"));
    run_together(&mut [&mut a, &mut b], INTERVAL * 2, |_| {});
    let seen = match &b.core.known.observed.as_ref().unwrap().item {
        Item::Present(r) => (**r).clone(),
        _ => panic!("b read no item"),
    };
    // b is paused for two leases; a keeps renewing; then, just after a renewal (so a stays
    // active for an interval), a restore writes back what b saw.
    a.run(LEASE * 2);
    a.step_to_next_write();
    a.store.table().put("lease", seen);
    b.now = a.now;
    run_together(&mut [&mut a, &mut b], LEASE * 2, |hs| {
        assert!(
            !(hs[0].role() == Role::Active && hs[1].role() == Role::Active),
            "two actives at {:?}",
            hs[0].now
        );
    });
}
