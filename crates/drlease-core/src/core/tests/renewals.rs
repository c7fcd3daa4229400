//! When a holder renews and when it wakes: its schedule, its deadline, the bound of a
//! tenure, and a back-off after a failed call.

use super::*;

/// A renewal resent late (its first attempt lost in an outage) keeps the first attempt's
/// deadline, which then comes before the next renewal is due: the holder wakes at the
/// deadline, so the loss is noticed on time, and from there waits for the renewal.
#[test]
fn a_holder_whose_next_renewal_is_due_after_its_deadline_wakes_at_the_deadline() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    let first = h.writes.last().unwrap().0.plus(INTERVAL);
    // The first renewal and its read-backs fail; the read-back after the old deadline
    // finds the item unchanged, and the very same renewal is resent.
    h.outage_until = first.plus(ms(90));
    h.step_to_next_write();
    assert_eq!(h.writes.last().unwrap().0, first, "the first renewal");
    h.step_to_next_write();
    let (resent, req) = h.writes.last().unwrap().clone();
    assert_eq!(req.kind, WriteKind::Renew);
    let deadline = first.plus(RENEW_DEADLINE);
    let renew_at = resent.plus(h.core.cfg.timing.renew_period());
    assert!(h.now < deadline && deadline < renew_at);
    assert_eq!(h.core.view().active_until, Some(deadline));
    assert_eq!(h.core.next_step(h.now), Step::Wait(deadline));
    assert_eq!(h.core.next_step(deadline), Step::Wait(renew_at));
}

/// R13's bound for a holder is a whole lease: a loop stalled for exactly a lease after the
/// last write still renews the tenure; a moment later the tenure is over and it reads.
#[test]
fn a_tenure_is_renewed_up_to_a_whole_lease_after_its_last_write() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    let last = h.writes.last().unwrap().0;
    let mut late = h.core.clone();
    let renewal = h.core.next_step(last.plus(LEASE));
    assert!(
        matches!(&renewal, Step::Call(Call::Write(w)) if w.kind == WriteKind::Renew),
        "{renewal:?}"
    );
    assert_eq!(late.next_step(last.plus(LEASE + ms(1))), Step::READ);
}

/// A back-off after a failed call, later than the last write, schedules the renewal at its
/// end rather than a renew period after that write. A holder meets it only after a failed
/// region mark write (the other failed calls are read back, or are not the holder's): once
/// the retried mark is written, it renews at once, and reads the peers' marks after that
/// renewal rather than before it.
#[test]
fn after_a_failed_mark_write_the_holder_renews_as_soon_as_the_mark_is_written() {
    let cfg = CoreConfig {
        regions: Some(crate::Regions {
            own: "east".into(),
            peers: vec!["west".into()],
        }),
        ..config("a", "sa")
    };
    let mut h = Harness::new(cfg).with_item(seed());
    h.step_to_next_write();
    let acquired = h.writes.last().unwrap().0;
    h.fault = Fault::Unreachable;
    assert!(h.step(), "the mark write");
    h.fault = Fault::None;
    while h.role() != Role::Active {
        assert!(h.step());
    }
    let marked = h.now;
    assert!(marked < acquired.plus(h.core.cfg.timing.renew_period()));
    let Step::Call(Call::Write(renewal)) = h.core.next_step(h.now) else {
        panic!("no renewal once the mark was written")
    };
    assert_eq!(renewal.kind, WriteKind::Renew);
}
