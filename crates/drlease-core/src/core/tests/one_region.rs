//! One region (no peer regions, no confirm delay): R19's switch is off, and the guards
//! against last writer wins cost nothing there.

use super::*;

/// In one region a handover request appearing on a dead holder's version does not restart
/// its clock (R25 is for tables across regions only): the takeover comes a lease after the
/// version was first seen, not a lease after the request.
#[test]
fn in_one_region_a_handover_request_keeps_the_clock_of_the_version_it_lands_on() {
    let mut h = Harness::new(config("a", "sa")).with_item(foreign("b", "b.1", 1));
    assert!(h.step(), "the first read");
    let seen = h.now;
    h.run(ms(200));
    assert!(h.writes.is_empty());
    h.store
        .request_handover_now(&operator::HandoverRequest::by_operator("b.1", "c", "h7"))
        .unwrap();
    h.step_to_next_write();
    let (sent, w) = h.writes.last().unwrap();
    assert_eq!(w.kind, WriteKind::Takeover);
    assert!(
        sent.since(seen) <= LEASE,
        "took over {:?} after first seeing the version",
        sent.since(seen)
    );
}
