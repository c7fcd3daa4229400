//! Renewing, stepping down, releasing, and answering active only while valid.

use super::*;

#[test]
fn the_active_renews_every_interval_and_never_lapses() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run_for(LEASE * 10, |h| assert_eq!(h.role(), Role::Active));
    let renewals = h
        .writes
        .iter()
        .filter(|(_, w)| w.kind == WriteKind::Renew)
        .count();
    assert!((29..=31).contains(&renewals), "renewals: {renewals}");
    let (last_sent, last) = h.writes.last().unwrap();
    assert_eq!(
        h.item().unwrap().version.as_deref(),
        Some(last.new.version.as_str())
    );
    assert_eq!(h.item().unwrap().epoch, Some(1), "renewal keeps the epoch");
    assert_eq!(
        h.core.view().active_until,
        Some(last_sent.plus(RENEW_DEADLINE))
    );
}

#[test]
fn a_renew_deadline_of_one_interval_still_never_lapses() {
    // failure threshold 2 with the default renew deadline (lease - interval = interval).
    let mut cfg = private("a", "sa");
    cfg.timing.lease_duration = INTERVAL * 2;
    cfg.timing.renew_deadline = INTERVAL;
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    h.run_for(INTERVAL * 30, |h| assert_eq!(h.role(), Role::Active));
    let renewals = h
        .writes
        .iter()
        .filter(|(_, w)| w.kind == WriteKind::Renew)
        .count();
    assert!(
        (58..=61).contains(&renewals),
        "renews every half deadline: {renewals}"
    );
}

#[test]
fn release_stops_answering_active_before_writing() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(INTERVAL * 3);
    assert_eq!(h.role(), Role::Active);
    let epoch = h.item().unwrap().epoch;
    h.core.begin_release();
    assert_eq!(h.role(), Role::Passive, "passive before any store call");
    let Step::Call(Call::Write(req)) = h.core.next_step(h.now) else {
        panic!("expected the release write")
    };
    assert_eq!(req.kind, WriteKind::Release);
    assert!(matches!(req.expect, Expect::Held { .. }));
    h.core.on_write(&req, h.now, h.now, h.store.write_now(&req));
    assert_eq!(h.core.next_step(h.now), Step::Done);
    let item = h.item().unwrap();
    assert_eq!(item.owner, "");
    assert_eq!(item.epoch, epoch, "release keeps the epoch");
}

#[test]
fn a_passive_candidate_releases_nothing() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 1));
    h.run(ms(5));
    h.core.begin_release();
    assert_eq!(h.core.next_step(h.now), Step::Done);
    assert_eq!(h.item().unwrap().owner, "a");
}

#[test]
fn freezing_under_an_active_makes_it_passive_at_its_next_renewal() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    freeze(&h);
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Passive);
    h.run(LEASE * 10);
    assert_eq!(h.item().unwrap().owner, FROZEN_OWNER);
}

#[test]
fn a_stalled_loop_stops_answering_active_at_the_deadline() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(INTERVAL * 2 + ms(50));
    let view = h.core.view();
    let until = view.active_until.unwrap();
    // No more steps: the loop is stalled. The published view expires on its own.
    assert_eq!(view.role_at(until), Role::Passive);
    assert_eq!(
        view.role_at(Mono::from_duration(until.as_duration() - ms(1))),
        Role::Active
    );
}

#[test]
fn a_store_outage_costs_the_lease_only_at_the_deadline() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    let outage_start = h.now;
    h.outage_until = h.now.plus(LEASE * 3);
    let until = h.core.view().active_until.unwrap();
    h.run_for(LEASE * 2, |h| {
        let expected = if h.now < until {
            Role::Active
        } else {
            Role::Passive
        };
        assert_eq!(h.role(), expected, "at {:?}", h.now.since(outage_start));
    });
    // The store comes back with our item as we left it, a lease and more after our last
    // renewal. It may be a restored copy for all we know: it is timed like any other
    // version, then taken under a new epoch.
    h.run(LEASE * 2 + INTERVAL);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.item().unwrap().epoch, Some(2));
}

#[test]
fn confirm_delay_withholds_active_until_the_reread_agrees() {
    let mut cfg = private("a", "sa");
    cfg.timing.confirm_delay = ms(50);
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    assert_eq!(h.role(), Role::Passive, "acquired but not yet confirmed");
    h.run(ms(50));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn confirm_delay_drops_an_acquire_that_another_region_overwrote() {
    let mut cfg = private("a", "sa");
    cfg.timing.confirm_delay = ms(50);
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    h.store.table().put("lease", foreign("z", "vz", 1));
    h.run(ms(60));
    assert_eq!(h.role(), Role::Passive);
    assert_eq!(h.item().unwrap().owner, "z");
}

#[test]
fn a_handover_request_moves_the_lease_to_its_target_only() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    assert_eq!(a.role(), Role::Active);
    // The target watches the holder, as a running candidate does.
    let mut b = beside(&a, config("b", "sb"));
    b.run(ms(5));
    let version = a.item().unwrap().version.unwrap();
    a.store
        .request_handover_now(&operator::HandoverRequest::by_operator(&version, "b", "h5"))
        .unwrap();
    assert_eq!(
        a.item().unwrap().version.unwrap(),
        version,
        "the request keeps the version"
    );
    // The holder sees it in the item its next renewal returns, and steps down.
    a.run(INTERVAL + ms(5));
    assert_eq!(a.role(), Role::Passive);
    let item = a.item().unwrap();
    assert!(item.is_released());
    assert_eq!(item.handover_to.as_deref(), Some("b"));
    assert_eq!(item.handover_from.as_deref(), Some("a"));
    // Someone else waits as for a held lease...
    let mut c = beside(&a, config("c", "sc"));
    c.run(LEASE - ms(10));
    assert!(
        c.writes.is_empty(),
        "only the target may acquire during the handover"
    );
    // ...while the target acquires at its next read.
    b.run(INTERVAL + ms(5));
    assert_eq!(b.role(), Role::Active);
    let item = b.item().unwrap();
    assert_eq!(
        item.epoch,
        Some(2),
        "a took 1 when it acquired; the target gets 2"
    );
    assert_eq!(item.handover_to, None, "a new owner clears the handover");
}

#[test]
fn a_handover_to_a_dead_target_still_moves_the_lease_after_a_lease_duration() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    let version = a.item().unwrap().version.unwrap();
    a.store
        .request_handover_now(&operator::HandoverRequest::by_operator(
            &version, "gone", "h6",
        ))
        .unwrap();
    a.run(INTERVAL + ms(5));
    let mut c = beside(&a, config("c", "sc"));
    c.run(LEASE + ms(10));
    assert_eq!(c.role(), Role::Active);
}

#[test]
fn an_ineligible_holder_steps_down_to_anyone_else_and_does_not_return() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    assert_eq!(a.role(), Role::Active);
    let mut c = beside(&a, config("c", "sc"));
    c.run(ms(5));
    a.core.set_eligible(false);
    assert_eq!(a.role(), Role::Passive, "passive before any store call");
    a.run(ms(5));
    let item = a.item().unwrap();
    assert!(item.is_released());
    assert_eq!(item.handover_to.as_deref(), Some(crate::HANDOVER_ANY));
    a.run(LEASE * 3);
    assert_eq!(a.role(), Role::Passive);
    assert!(a.item().unwrap().is_released());
    c.run(INTERVAL + ms(5));
    assert_eq!(
        c.role(),
        Role::Active,
        "anyone else who saw a hold it acquires at its next read"
    );
}

/// Shutting down is a state the loop asks for (`is_releasing`): from `begin_release` on.
#[test]
fn begin_release_is_seen_as_releasing_from_then_on() {
    let mut h = Harness::new(config("a", "sa")).with_item(seed());
    h.run(ms(5));
    assert!(!h.core.is_releasing());
    h.core.begin_release();
    assert!(h.core.is_releasing());
    h.run(INTERVAL * 3);
    assert!(h.core.is_releasing(), "still releasing, or done");
}

/// A read of a healthy item leaves no error to show: an exhausted epoch or a malformed
/// item is said only while it is true (a passive pod's last call is a read).
#[test]
fn a_healthy_read_shows_no_error() {
    let mut b = Harness::new(config("b", "sb")).with_item(seed());
    b.run(ms(5));
    let mut a = beside(&b, config("a", "sa"));
    run_together(&mut [&mut a, &mut b], INTERVAL * 2, |_| {});
    assert_eq!(a.role(), Role::Passive);
    assert_eq!(a.core.view().last_error, None);
}

/// R5 at its first site: a refused renewal ends the tenure when its answer arrives, not
/// after the read that follows it (which could be lost, or late).
#[test]
fn a_refused_renewal_ends_the_tenure_when_it_is_answered() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
    freeze(&h);
    h.step_to_next_write();
    assert_eq!(h.writes.last().unwrap().1.kind, WriteKind::Renew);
    assert_eq!(h.role(), Role::Passive, "still active after the refusal");
}

/// R16 for a tenure the store shows under our session that we do not hold (a restore of an
/// old version of ours, say): an ineligible pod gives it back to anyone at once, instead of
/// leaving the lease without a holder until others time it out.
#[test]
fn an_ineligible_pod_gives_back_a_tenure_of_its_own_it_finds_in_the_store() {
    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    h.core.set_eligible(false);
    h.run(INTERVAL * 2);
    let ours = LeaseRecord {
        owner_session: Some("sb".into()),
        ..foreign("b", "restored", 5)
    };
    h.store.table().put("lease", ours);
    h.run(INTERVAL * 2);
    let item = h.item().unwrap();
    assert!(item.is_released(), "still held under our session: {item:?}");
    assert_ne!(h.role(), Role::Active);
}

/// A handover request is the holder's to answer: a candidate that saw one between others
/// (a to c) and later takes the lease over by timing keeps it, instead of handing it to c.
#[test]
fn a_handover_request_seen_between_others_is_not_ours_to_answer() {
    let held = LeaseRecord {
        handover_to: Some("c".into()),
        handover_from: Some("a".into()),
        ..foreign("a", "v1", 3)
    };
    let mut b = Harness::new(config("b", "sb")).with_item(held);
    b.run(LEASE * 3);
    assert_eq!(
        b.role(),
        Role::Active,
        "b took the dead holder's lease over"
    );
    let item = b.item().unwrap();
    assert_eq!(item.owner, "b", "handed over: {item:?}");
}

/// R5 at its first site, for a release: a step-down whose release is refused (the item
/// changed under it) is over when the refusal is answered; the view no longer says it is
/// stepping down from a tenure it does not hold.
#[test]
fn a_refused_release_ends_the_tenure_when_it_is_answered() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
    h.core.set_eligible(false);
    assert_eq!(
        h.core.view().stepping_down.as_deref(),
        Some(crate::HANDOVER_ANY)
    );
    freeze(&h);
    h.step_to_next_write();
    assert_eq!(h.writes.last().unwrap().1.kind, WriteKind::Release);
    assert_eq!(
        h.core.view().stepping_down,
        None,
        "still stepping down after the refusal"
    );
}

/// An operator's freeze, written over whatever the item was.
fn freeze(h: &Harness) {
    h.store.table().put(
        "lease",
        LeaseRecord {
            owner: FROZEN_OWNER.into(),
            ..Default::default()
        },
    );
}
