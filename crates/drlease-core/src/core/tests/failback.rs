//! Region affinity: failback by priority, no ping-pong, observers.

use super::*;

fn preferred(identity: &str, session: &str, priority: i32, after: Duration) -> CoreConfig {
    CoreConfig {
        affinity: Affinity {
            priority,
            failback_after: Some(after),
            never_acquire: false,
        },
        ..config(identity, session)
    }
}

fn with_priority(identity: &str, session: &str, priority: i32) -> CoreConfig {
    CoreConfig {
        affinity: Affinity {
            priority,
            ..Affinity::default()
        },
        ..config(identity, session)
    }
}

fn actives(hs: &[&mut Harness]) -> usize {
    hs.iter().filter(|h| h.role() == Role::Active).count()
}

/// b holds (priority 0); a (priority 10, failback after 1 s) starts beside it.
fn b_holds_and_a_arrives(after: Duration) -> (Harness, Harness) {
    let mut b = Harness::new(with_priority("b", "sb", 0)).with_item(seed());
    b.run(ms(5));
    assert_eq!(b.role(), Role::Active);
    assert_eq!(
        b.item().unwrap().owner_priority,
        Some(0),
        "the holder publishes its priority"
    );
    let a = beside(&b, preferred("a", "sa", 10, after));
    (a, b)
}

#[test]
fn a_preferred_candidate_gets_the_lease_back_after_failback_after_and_never_overlaps() {
    let after = Duration::from_secs(1);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    let start = a.now;
    let mut overlap = false;
    let mut moved_at = None;
    run_together(&mut [&mut a, &mut b], after + LEASE * 2, |hs| {
        overlap |= actives(hs) > 1;
        if moved_at.is_none() && hs[0].role() == Role::Active {
            moved_at = Some(hs[0].now);
        }
    });
    assert!(!overlap, "two actives during the failback");
    let moved_at = moved_at.expect("the preferred candidate never got the lease");
    let took = moved_at.since(start);
    assert!(took >= after, "failback after {took:?}, before {after:?}");
    // The request goes out at the first read after `after`; the holder answers it at its
    // next renewal; the target acquires at its next close read.
    assert!(took <= after + INTERVAL * 3, "failback took {took:?}");
    // One request lands (one more may be refused: the holder renewed in between).
    let landed: Vec<_> = a.requests.iter().filter(|(_, _, ok)| *ok).collect();
    assert_eq!(landed.len(), 1, "requests: {:?}", a.requests);
    assert!(landed[0].1.failback);
    let asked = a.requests.len();
    let view = a.core.view();
    assert_eq!(view.failbacks_gained, 1);
    assert_eq!(b.core.view().failbacks_lost, 1);
    assert_eq!(a.item().unwrap().owner_priority, Some(10));
    // And it stays: nobody asks again.
    run_together(&mut [&mut a, &mut b], LEASE * 10, |hs| {
        assert_eq!(hs[0].role(), Role::Active);
    });
    assert_eq!(a.requests.len(), asked);
    assert!(b.requests.is_empty());
}

#[test]
fn a_blip_of_ill_health_restarts_the_failback_clock() {
    let after = Duration::from_secs(1);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    run_together(&mut [&mut a, &mut b], after - ms(200), |_| {});
    a.core.set_eligible(false);
    run_together(&mut [&mut a, &mut b], ms(50), |_| {});
    a.core.set_eligible(true);
    run_together(&mut [&mut a, &mut b], after - ms(100), |_| {});
    assert!(
        a.requests.is_empty(),
        "asked before a full `after` of health"
    );
    assert_eq!(b.role(), Role::Active);
    run_together(&mut [&mut a, &mut b], INTERVAL * 5, |_| {});
    assert_eq!(a.role(), Role::Active);
}

/// The loop reports the controller's health at every probe, healthy or not: a healthy
/// report on a healthy pod is no blip, and must not restart the clock failback runs on.
#[test]
fn healthy_reports_repeated_do_not_restart_the_failback_clock() {
    let after = Duration::from_secs(1);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    run_together(&mut [&mut a, &mut b], after + INTERVAL * 5, |hs| {
        hs[0].core.set_eligible(true);
    });
    assert_eq!(
        a.role(),
        Role::Active,
        "failed back despite the repeated reports"
    );
}

#[test]
fn equal_or_lower_priority_never_asks_and_nor_does_an_unconfigured_candidate() {
    for cfg in [
        preferred("a", "sa", 0, ms(100)),
        preferred("a", "sa", -5, ms(100)),
        with_priority("a", "sa", 10),
    ] {
        let mut b = Harness::new(with_priority("b", "sb", 0)).with_item(seed());
        b.run(ms(5));
        let mut a = beside(&b, cfg);
        run_together(&mut [&mut a, &mut b], LEASE * 10, |_| {});
        assert!(a.requests.is_empty());
        assert_eq!(b.role(), Role::Active);
    }
}

#[test]
fn an_operators_handover_is_never_replaced_and_sticks_against_failback() {
    let after = ms(500);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    run_together(&mut [&mut a, &mut b], after + INTERVAL * 3, |_| {});
    assert_eq!(a.role(), Role::Active, "failed back");
    // The operator moves the lease to b on purpose (maintenance in a's region).
    let version = a.item().unwrap().version.unwrap();
    a.store
        .request_handover_now(&operator::HandoverRequest::by_operator(&version, "b", "h1"))
        .unwrap();
    run_together(&mut [&mut a, &mut b], INTERVAL * 3, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert_eq!(b.role(), Role::Active, "handed over");
    // a is healthy and preferred, but does not take back what it was asked to give.
    let asked = a.requests.len();
    run_together(&mut [&mut a, &mut b], after + LEASE * 10, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert_eq!(b.role(), Role::Active, "the operator's handover was undone");
    assert_eq!(a.requests.len(), asked);
    // Once that tenure ends (b restarts as b2, which takes the lease while a's controller
    // is unhealthy), failback resumes: a asks b2.
    a.core.set_eligible(false);
    let mut b2 = beside(&b, with_priority("b", "sb2", 0));
    run_together(&mut [&mut a, &mut b2], LEASE * 2 + INTERVAL * 2, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert_eq!(b2.role(), Role::Active);
    a.core.set_eligible(true);
    run_together(&mut [&mut a, &mut b2], after + INTERVAL * 6, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert!(a.requests.len() > asked, "never asked the next tenure");
    assert_eq!(a.role(), Role::Active);
}

#[test]
fn a_pending_request_on_the_item_is_left_alone() {
    let after = ms(200);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    let version = b.item().unwrap().version.unwrap();
    b.store
        .request_handover_now(&operator::HandoverRequest::by_operator(&version, "c", "h2"))
        .unwrap();
    run_together(&mut [&mut a, &mut b], after + INTERVAL * 2, |_| {});
    assert!(
        a.requests.is_empty(),
        "asked while a handover to c was pending"
    );
}

#[test]
fn a_holder_that_lost_by_failback_does_not_take_it_back_even_if_priorities_change() {
    let after = ms(300);
    // b has priority 5 and fails back too; a (priority 10) takes the lease from it.
    let mut b = Harness::new(preferred("b", "sb", 5, after)).with_item(seed());
    b.run(ms(5));
    let mut a = beside(&b, preferred("a", "sa", 10, after));
    run_together(&mut [&mut a, &mut b], after + INTERVAL * 3, |_| {});
    assert_eq!(a.role(), Role::Active);
    // a's item now claims a lower priority than b's (a misconfigured restart would show
    // this); b still does not ask for the tenure it handed over.
    let mut item = a.item().unwrap();
    item.owner_priority = Some(1);
    a.store.table().put("lease", item);
    run_together(&mut [&mut a, &mut b], LEASE * 10, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert!(b.requests.is_empty(), "ping-pong: {:?}", b.requests);
}

#[test]
fn a_failed_request_is_not_repeated_within_a_lease() {
    // A holder that never answers (its lease declared long, so nobody takes over), and
    // every request failing on the way: one request per lease, not one per read.
    let mut holder = foreign("b", "v1", 3);
    holder.lease_duration_ms = Some(60_000);
    let mut a = Harness::new(preferred("a", "sa", 10, ms(200))).with_item(holder);
    a.fault = Fault::DropRequests;
    a.run(Duration::from_secs(3));
    let times: Vec<Mono> = a.requests.iter().map(|(t, _, _)| *t).collect();
    assert!(times.len() >= 2, "asked {} times", times.len());
    for pair in times.windows(2) {
        assert!(
            pair[1].since(pair[0]) >= LEASE,
            "asked again after {:?}",
            pair[1].since(pair[0])
        );
    }
}

#[test]
fn an_observer_never_writes_and_never_holds() {
    let observer = CoreConfig {
        affinity: Affinity {
            priority: 100,
            failback_after: None,
            never_acquire: true,
        },
        ..config("o", "so")
    };
    // Not on a seed, not on an abandoned lease, not on a released one.
    for item in [seed(), foreign("gone", "v1", 3)] {
        let mut o = Harness::new(observer.clone()).with_item(item);
        o.run(LEASE * 5);
        assert!(o.writes.is_empty(), "an observer wrote {:?}", o.writes);
        assert_eq!(o.role(), Role::Passive);
        assert!(o.core.view().initialized, "it still answers");
    }
    // Nor on a missing item (no placeholder either).
    let mut o = Harness::new(observer);
    o.run(LEASE * 5);
    assert!(o.writes.is_empty());
}

/// A failback request that landed is on the item as we now see it: the requester watches
/// for the release as a handover's target does, four reads an interval.
#[test]
fn after_its_request_lands_the_requester_reads_four_times_an_interval() {
    let after = ms(200);
    let (mut a, mut b) = b_holds_and_a_arrives(after);
    for _ in 0..100 {
        if a.requests.iter().any(|r| r.2) {
            break;
        }
        run_together(&mut [&mut a, &mut b], ms(10), |_| {});
    }
    assert!(a.requests.iter().any(|r| r.2), "no request of a's applied");
    let asked = a.requests.iter().find(|r| r.2).unwrap().0;
    // The holder has not answered yet (only a runs from here): a watches closely.
    let mut reads = vec![asked];
    while reads.len() < 5 {
        assert!(a.step());
        if a.core.pacing.last_read_sent > *reads.last().unwrap() {
            reads.push(a.core.pacing.last_read_sent);
        }
    }
    let gaps: Vec<Duration> = reads.windows(2).map(|w| w[1].since(w[0])).collect();
    assert!(
        gaps.iter().all(|g| *g <= INTERVAL / 4 + ms(5)),
        "reads after the request {gaps:?} apart"
    );
}

/// An operator's handover to us is no failback: the acquire that takes it counts no
/// failback gained (only a release made for our own request does).
#[test]
fn an_operators_handover_to_us_is_not_counted_as_a_failback() {
    let (mut a, mut b) = b_holds_and_a_arrives(Duration::from_secs(60));
    run_together(&mut [&mut a, &mut b], INTERVAL, |_| {});
    let version = b.item().unwrap().version.unwrap();
    b.store
        .request_handover_now(&operator::HandoverRequest::by_operator(&version, "a", "h3"))
        .unwrap();
    run_together(&mut [&mut a, &mut b], INTERVAL * 3, |hs| {
        assert!(actives(hs) <= 1)
    });
    assert_eq!(a.role(), Role::Active, "handed over");
    assert_eq!(a.core.view().failbacks_gained, 0);
    assert_eq!(b.core.view().failbacks_lost, 0);
}

/// a held the lease; an operator handed it over to `target`. Returns a's tenure as it was.
fn a_hands_over_to(target: &str) -> (Harness, LeaseRecord) {
    let mut a = Harness::new(preferred("a", "sa", 10, ms(200))).with_item(seed());
    a.run(ms(5));
    let tenure = a.item().unwrap();
    let version = tenure.version.clone().unwrap();
    a.store
        .request_handover_now(&operator::HandoverRequest::by_operator(
            &version, target, "h4",
        ))
        .unwrap();
    a.run(INTERVAL + ms(5));
    assert!(a.item().unwrap().is_released(), "not handed over");
    (a, tenure)
}

/// A handover sticks for the tenure it was made to only: after an operator's handover to b,
/// a holder that is not b (b never came; c took the lease over) is asked for failback.
#[test]
fn a_handover_to_one_pod_does_not_keep_failback_from_another() {
    let (mut a, _) = a_hands_over_to("b");
    a.store.table().put("lease", foreign("c", "c.1", 2));
    a.run(LEASE - ms(20));
    assert!(
        a.requests.iter().any(|(_, r, _)| r.expect_version == "c.1"),
        "c was never asked: {:?}",
        a.requests
    );
}

/// A handover to anyone sticks for the next tenure above our release: a copy of our own
/// tenure written back in between (a restore) is not that tenure, and c, which took the
/// lease next, is not asked for failback.
#[test]
fn a_handover_to_anyone_sticks_for_the_next_tenure_even_after_a_restored_copy_of_ours() {
    let (mut a, ours) = a_hands_over_to(crate::HANDOVER_ANY);
    a.store.table().put("lease", ours);
    a.run(INTERVAL + ms(5));
    a.store.table().put("lease", foreign("c", "c.1", 2));
    a.run(LEASE - ms(20));
    assert!(a.requests.is_empty(), "asked: {:?}", a.requests);
}
