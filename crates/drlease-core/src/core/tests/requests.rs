//! Handover requests on a table across regions (R25, R28): a request is a write of the whole
//! item at one replica, and under last writer wins it may drop the holder's renewals behind
//! it; a candidate times the version again from each request write it sees.

use super::regions::in_region;
use super::*;

/// Found by the simulation with regions (seed 13034, MREC(2) within the rule): a failback
/// request written to east's replica on the holder's previous version carried a later write
/// time than the holder's renewal in west, so last writer wins dropped that renewal in east
/// (and took west back to the old version). East's candidate kept timing the old version
/// from when it first saw it and took over while the holder was valid: two writers. A
/// handover request appearing on the version restarts its clock, on a table across regions.
#[test]
fn a_handover_request_from_another_region_restarts_the_clock_of_the_version_it_lands_on() {
    let mut h =
        Harness::new(in_region("a", "sa", "east", "west")).with_item(foreign("b", "b.1", 1));
    h.run(ms(200));
    assert!(h.writes.is_empty());
    // A failback request lands here on b.1; b's renewal b.2 (in west) is older, so it is
    // dropped here and never arrives: b is valid until that renewal's deadline.
    let requested = h.now;
    h.store
        .request_handover_now(&operator::HandoverRequest::by_operator("b.1", "c", "h9"))
        .unwrap();
    h.run_for(LEASE - ms(5), |h| {
        assert!(
            h.writes.is_empty(),
            "took over {:?} after the request landed, within a lease of it",
            h.now.since(requested)
        )
    });
}

/// R28: the same request written again (the same target, on the same version) is a new
/// write of the item at that replica, which may have dropped a renewal behind it just as
/// the first did: its own id makes it a new request, and the version is timed again.
#[test]
fn the_same_request_written_again_restarts_the_clock_of_its_version() {
    let mut h =
        Harness::new(in_region("a", "sa", "east", "west")).with_item(foreign("b", "b.1", 1));
    let ask = |h: &Harness, id: &str| {
        h.store
            .request_handover_now(&operator::HandoverRequest::by_operator("b.1", "c", id))
            .unwrap()
    };
    ask(&h, "h1");
    h.run(ms(300));
    assert!(h.writes.is_empty());
    let rewritten = h.now;
    ask(&h, "h2");
    h.run_for(LEASE - ms(5), |h| {
        assert!(
            h.writes.is_empty(),
            "took over {:?} after the request was written again, within a lease of it",
            h.now.since(rewritten)
        )
    });
}

/// The same for the candidate that wrote the request (seed 31172): it puts its request on
/// the item as it saw it, and times that version again from then.
#[test]
fn the_candidate_asking_for_failback_across_regions_times_the_version_again() {
    let cfg = CoreConfig {
        affinity: Affinity {
            priority: 1,
            failback_after: Some(ms(150)),
            never_acquire: false,
        },
        ..in_region("a", "sa", "west", "east")
    };
    let mut h = Harness::new(cfg).with_item(foreign("b", "b.1", 1));
    h.run_for(LEASE, |h| assert!(h.writes.is_empty()));
    let (asked, _, applied) = h.requests.first().cloned().expect("asked for failback");
    assert!(applied);
    h.run_for(asked.plus(LEASE - ms(5)).since(h.now), |h| {
        assert!(
            h.writes.is_empty(),
            "took over {:?} after asking, within a lease of it",
            h.now.since(asked)
        )
    });
}
