//! A step-down is a release: once sent, the tenure never answers active again, whatever
//! eligibility does next, and a resend waits for every window granted.

use super::*;

/// Steps until the core has sent a release; returns its send time.
fn until_release_sent(h: &mut Harness) -> Mono {
    for _ in 0..1000 {
        if let Some((sent, _)) = h.writes.iter().find(|(_, w)| w.kind == WriteKind::Release) {
            return *sent;
        }
        h.step();
    }
    panic!("no release was sent");
}

/// The reported hole: the controller turns unhealthy, the holder steps down, its release
/// lands but the answer is lost and the store link then drops everything; the controller
/// turns healthy again. The old holder answered active at once, while a candidate that saw
/// the holder's own release acquired it at once: two actives until the old deadline.
#[test]
fn a_step_down_whose_release_answer_was_lost_stays_passive_when_eligible_again() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    assert_eq!(a.role(), Role::Active);
    let mut b = beside(&a, config("b", "sb"));
    b.run(ms(5));
    a.core.set_eligible(false);
    a.fault = Fault::LoseReply;
    until_release_sent(&mut a);
    assert!(a.item().unwrap().is_released(), "the release landed");
    // The link drops everything from here on, for longer than the lease.
    a.outage_until = a.now.plus(LEASE * 2);
    a.core.set_eligible(true);
    b.now = a.now;
    run_together(&mut [&mut a, &mut b], LEASE * 2, |hs| {
        assert!(
            !(hs[0].role() == Role::Active && hs[1].role() == Role::Active),
            "two actives at {:?}",
            hs[0].now
        );
        assert_ne!(hs[0].role(), Role::Active, "the old tenure answered again");
    });
    assert_eq!(b.role(), Role::Active, "the candidate took the release");
}

/// The variant: the release did not land, the pod turns eligible again, grants windows and
/// resends the release without waiting for them. Now it grants nothing until the release
/// is settled, and the resend comes after every window granted before it.
#[test]
fn a_step_down_whose_release_did_not_land_grants_nothing_before_it_is_settled() {
    let mut h = Harness::new(config("a", "sa")).with_item(seed());
    h.window = Some(ms(60));
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
    h.core.set_eligible(false);
    h.fault = Fault::Unreachable;
    until_release_sent(&mut h);
    let granted_before = h.granted;
    h.core.set_eligible(true);
    h.run_for(ms(50), |h| {
        assert_ne!(
            h.role(),
            Role::Active,
            "granting while a release is unsettled"
        )
    });
    assert_eq!(
        h.granted, granted_before,
        "a window granted behind a release"
    );
    h.fault = Fault::None;
    h.run_for(LEASE, |h| assert_ne!(h.role(), Role::Active));
    let resends: Vec<Mono> = h
        .writes
        .iter()
        .filter(|(_, w)| w.kind == WriteKind::Release)
        .map(|(sent, _)| *sent)
        .collect();
    assert!(resends.len() >= 2, "the release was resent: {resends:?}");
    assert!(resends.iter().all(|sent| *sent >= h.granted));
    assert!(h.item().unwrap().is_released());
}

/// A failback request seen on someone else's tenure is that holder's to answer, not ours: a
/// pod that later gives back a tenure of its own it found in the store (ineligible) counts
/// no failback lost for it.
#[test]
fn giving_back_a_tenure_found_in_the_store_counts_no_failback_lost() {
    let mut b = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 3));
    b.store
        .request_handover_now(&operator::HandoverRequest {
            expect_version: "v1".into(),
            target: "c".into(),
            failback: true,
            id: "f1".into(),
        })
        .unwrap();
    b.run(INTERVAL);
    assert!(b.core.view().handover_is_failback, "b saw the request");
    b.core.set_eligible(false);
    let ours = LeaseRecord {
        owner_session: Some("sb".into()),
        ..foreign("b", "restored", 5)
    };
    b.store.table().put("lease", ours);
    b.run(INTERVAL * 2);
    assert!(b.item().unwrap().is_released(), "not given back");
    assert_eq!(b.core.view().failbacks_lost, 0);
}

/// What `/role` shows while a step-down's release is unsettled: the step-down, to its
/// target, even once the pod is eligible again (the release may have landed: R14).
#[test]
fn a_sent_release_is_shown_as_a_step_down_until_it_is_settled() {
    let mut h = Harness::new(config("a", "sa")).with_item(seed());
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
    h.core.set_eligible(false);
    h.fault = Fault::Unreachable;
    until_release_sent(&mut h);
    h.core.set_eligible(true);
    assert_eq!(
        h.core.view().stepping_down.as_deref(),
        Some(crate::HANDOVER_ANY),
        "the sent release is no longer shown"
    );
}
