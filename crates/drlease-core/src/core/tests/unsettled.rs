//! Writes whose answer was lost: settled by reading back, never doubled.

use super::*;

#[test]
fn a_renewal_whose_answer_was_lost_counts_once_the_item_shows_it() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run(INTERVAL - ms(5));
    h.fault = Fault::LoseReply;
    let before = h.writes.len();
    // The renew (lost answer), the check read, and nothing else.
    while h.writes.len() == before {
        h.step();
    }
    let (lost_sent, lost) = h.writes.last().unwrap().clone();
    // The check read comes after a short back-off; the lease stays valid meanwhile.
    h.run_for(INTERVAL / 2, |h| assert_eq!(h.role(), Role::Active));
    assert_eq!(
        h.core.view().active_until,
        Some(lost_sent.plus(RENEW_DEADLINE))
    );
    assert_eq!(h.item().unwrap().version, Some(lost.new.version.clone()));
    assert_eq!(
        h.writes.len(),
        before + 1,
        "no second write for a landed renewal"
    );
}

#[test]
fn a_renewal_that_did_not_land_is_resent_with_the_same_token() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run(INTERVAL - ms(5));
    h.fault = Fault::Unreachable;
    let before = h.writes.len();
    while h.writes.len() == before {
        h.step();
    }
    h.fault = Fault::None;
    while h.writes.len() == before + 1 {
        h.step();
    }
    let first = &h.writes[before].1;
    let second = &h.writes[before + 1].1;
    assert_eq!(first, second, "the retry must reuse the token");
    h.step();
    assert_eq!(h.role(), Role::Active);
    // Validity counts from the first attempt, which might have been the one to land.
    assert_eq!(
        h.core.view().active_until,
        Some(h.writes[before].0.plus(RENEW_DEADLINE))
    );
}

#[test]
fn a_takeover_whose_answer_was_lost_still_makes_us_active() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 2));
    h.run(LEASE - ms(1));
    h.fault = Fault::LoseReply;
    h.run(INTERVAL / 2);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes.len(), 1);
}

/// Once, the pod became ineligible while an acquire was unsettled; the resend went out,
/// landed, and the pod held the lease for good (the step-down was latched only when already
/// holding).
#[test]
fn an_acquire_unsettled_when_the_pod_becomes_ineligible_never_makes_an_active() {
    for fault in [Fault::Unreachable, Fault::LoseReply] {
        let mut h = Harness::new(config("b", "sb")).with_item(seed());
        // The release is claimed first; the fault hits the acquire that follows.
        for _ in 0..100 {
            if h.claims.iter().any(|(_, ok)| *ok) {
                break;
            }
            h.step();
        }
        assert!(
            h.claims.iter().any(|(_, ok)| *ok),
            "the release was never claimed"
        );
        h.fault = fault;
        h.step();
        assert_eq!(h.writes.len(), 1, "the acquire went out, its fate unknown");
        h.fault = Fault::None;
        h.core.set_eligible(false);
        h.run_for(LEASE * 5, |h| assert_ne!(h.role(), Role::Active));
        let item = h.item().unwrap();
        assert_ne!(item.owner, "b", "an ineligible pod must not keep the lease");
        let acquires = h.writes.iter().filter(|(_, w)| w.kind.changes_owner());
        assert_eq!(
            acquires.count(),
            1,
            "the acquire was sent again while ineligible"
        );
    }
}

/// The read that settles a write whose answer was lost is urgent: when it fails, it is
/// retried at once (a quarter interval), not an interval later like a routine read.
#[test]
fn a_failed_read_back_of_a_lost_acquire_is_retried_at_once() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 2));
    h.run(LEASE - ms(1));
    h.fault = Fault::LoseReply;
    h.step_to_next_write();
    // The acquire landed, its answer was lost; the read back, a quick retry later, fails.
    h.outage_until = h.now.plus(INTERVAL / 4 + ms(5));
    let since = h.now;
    while h.role() != Role::Active {
        assert!(h.step());
        assert!(
            h.now.since(since) < INTERVAL,
            "not settled within an interval"
        );
    }
}

/// An acquire that did not land is sent again with the same token while we still want
/// the lease: if the first attempt lands late after all, the two are one write.
#[test]
fn an_acquire_that_did_not_land_is_resent_with_the_same_token() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 2));
    h.run(LEASE - ms(1));
    h.fault = Fault::Unreachable;
    h.step_to_next_write();
    h.fault = Fault::None;
    h.run(INTERVAL);
    assert_eq!(h.role(), Role::Active);
    assert!(h.writes.len() >= 2, "never sent again");
    assert_eq!(h.writes[0].1.kind, h.writes[1].1.kind);
    assert_eq!(h.writes[0].1.new.version, h.writes[1].1.new.version);
}
