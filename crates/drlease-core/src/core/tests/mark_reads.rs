//! When a holder across regions reads the other regions' marks: right after each renewal,
//! while there is time before the next one.

use super::regions::in_region;
use super::*;
use crate::RegionMark;

fn holding_in_west() -> Harness {
    let mut west = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    west.run(INTERVAL * 2);
    assert_eq!(west.role(), Role::Active);
    west
}

/// East's replica holds a tenure at a higher epoch, and its mark has replicated here.
fn east_mark_above(west: &Harness) {
    let mark = RegionMark {
        region: "east".into(),
        epoch: 10,
        session: "sa".into(),
        owner: "a".into(),
    };
    west.store.write_mark_now(&mark).unwrap();
}

#[test]
fn a_holder_reads_the_peers_marks_right_after_each_renewal() {
    let mut west = holding_in_west();
    east_mark_above(&west);
    west.step_to_next_write();
    assert_eq!(west.writes.last().unwrap().1.kind, WriteKind::Renew);
    west.run(ms(5));
    assert_eq!(west.core.view().region_conflicts, 1, "the marks were read");
    assert_eq!(west.role(), Role::Passive);
}

/// A renewal answered only when the next one is due leaves no time for the marks: the
/// next renewal goes first.
#[test]
fn a_renewal_answered_when_the_next_is_due_is_followed_by_the_next_renewal() {
    let mut west = holding_in_west();
    let (sent, call) = loop {
        match west.core.next_step(west.now) {
            Step::Wait(t) => west.now = t,
            Step::Call(Call::Write(req)) if req.kind == WriteKind::Renew => {
                break (west.now, Call::Write(req))
            }
            Step::Call(call) => {
                let sent = west.now;
                west.now = sent.plus(RTT);
                let answered = west.answer(call, sent);
                driver::deliver(&mut west.core, sent, west.now, answered);
            }
            Step::Done => panic!("the core stopped"),
        }
    };
    west.now = sent.plus(west.core.config().timing.renew_period());
    let answered = west.answer(call, sent);
    driver::deliver(&mut west.core, sent, west.now, answered);
    assert_eq!(west.role(), Role::Active, "the renewal counted");
    match west.core.next_step(west.now) {
        Step::Call(Call::Write(req)) => assert_eq!(req.kind, WriteKind::Renew),
        other => panic!("not the next renewal: {other:?}"),
    }
}
