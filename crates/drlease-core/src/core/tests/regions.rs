//! Region marks on a multi-Region eventually consistent table: two holders, one per
//! replica (as after a partition), find each other through the marks and the lower one
//! stops; a candidate acquires above every mark it can see.

use super::*;
use crate::{RegionMark, Regions};

pub(super) fn in_region(identity: &str, session: &str, own: &str, peer: &str) -> CoreConfig {
    CoreConfig {
        regions: Some(Regions {
            own: own.into(),
            peers: vec![peer.into()],
        }),
        ..config(identity, session)
    }
}

/// Copies one replica's mark of `region` into another, as replication would.
fn replicate_mark(from: &Harness, to: &Harness, region: &str) {
    for m in from.store.read_marks_now(&[region.to_string()]) {
        to.store.write_mark_now(&m).unwrap();
    }
}

#[test]
fn of_two_regions_holding_the_lower_mark_stops_at_its_next_renewal() {
    // Each region's replica on its own: both acquire (a partition, or a lag past the
    // confirm delay), each writes its mark, both are active.
    let mut east = Harness::new(in_region("a", "sa", "east", "west")).with_item(seed());
    let mut west = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    east.run(ms(10));
    west.now = east.now;
    west.run(ms(10));
    assert_eq!(east.role(), Role::Active);
    assert_eq!(west.role(), Role::Active);
    // Two tenures at once, but never one fencing token: each region hands out its own
    // (sorted names: east's are even, west's odd).
    assert_eq!(east.item().unwrap().epoch, Some(2));
    assert_eq!(west.item().unwrap().epoch, Some(1));
    // The heal: each replica gets the other's mark.
    replicate_mark(&east, &west, "east");
    replicate_mark(&west, &east, "west");
    // East's epoch is the higher: east keeps the lease.
    let healed = east.now;
    east.run(INTERVAL + ms(10));
    west.now = healed;
    west.run(INTERVAL + ms(10));
    assert_eq!(east.role(), Role::Active, "the higher mark keeps holding");
    assert_eq!(west.role(), Role::Passive, "the lower mark stops");
    assert_eq!(west.core.view().region_conflicts, 1);
    assert_eq!(east.core.view().region_conflicts, 0);
    let stopped = west.core.view().region_conflict.unwrap_or_default();
    assert!(
        stopped.contains("region east holds this lease too"),
        "{stopped}"
    );
}

#[test]
fn a_holder_answers_active_only_once_its_mark_is_written() {
    let mut h = Harness::new(in_region("a", "sa", "east", "west")).with_item(seed());
    h.fault = Fault::None;
    // Acquire, then make the mark write fail.
    h.step_to_next_write();
    h.fault = Fault::Unreachable;
    h.run_for(ms(50), |h| assert_ne!(h.role(), Role::Active));
    h.fault = Fault::None;
    h.run(INTERVAL);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.store.read_marks_now(&["east".into()]).len(), 1);
}

#[test]
fn a_candidate_acquires_above_every_mark_it_can_see() {
    let mut h = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    h.store
        .write_mark_now(&RegionMark {
            region: "east".into(),
            epoch: 9,
            session: "sa".into(),
            owner: "a".into(),
        })
        .unwrap();
    h.run(ms(10));
    assert_eq!(h.role(), Role::Active);
    // Above 9, and west's own (odd): 11.
    assert_eq!(h.item().unwrap().epoch, Some(11));
}

/// Found by the simulation with regions (seed 972, MREC with confirmDelay at 2 x (lag +
/// jitter)) and, independently, by the model checker (MREC, 37 actions): an acquire whose answer was lost is resolved by reading the item back, and that
/// read, a few milliseconds after the write landed, also counted as the confirm read. The
/// other region's acquire, landed within a lag after ours, reached our replica only later:
/// both answered active.
#[test]
fn a_lost_acquire_found_by_its_read_back_still_waits_its_confirm_delay() {
    let mut cfg = in_region("a", "sa", "east", "west");
    cfg.timing.confirm_delay = ms(60);
    let mut h = Harness::new(cfg).with_item(seed());
    h.fault = Fault::LoseReply;
    h.step_to_next_write();
    let sent = h.writes[0].0;
    // The read-back finds our write (the harness lost only its answer).
    h.run_for(ms(40), |h| {
        assert_ne!(h.role(), Role::Active, "active before its confirm delay");
    });
    assert_eq!(h.item().unwrap().owner, "a");
    // West's acquire, landed after ours within a lag, replicates here: it wins.
    h.store.table().put("lease", foreign("b", "west.1", 1));
    h.run_for(INTERVAL, |h| {
        assert_ne!(
            h.role(),
            Role::Active,
            "active {:?} after sending the acquire, though the confirm read would show west's",
            h.now.since(sent)
        )
    });
}

/// How long after a write was sent its renewal may still be known to have landed, across
/// regions (`LeaseCore::renewal_budget`): 99% of the lease less half the confirm delay.
fn renewal_budget(confirm: Duration) -> Duration {
    LEASE.mul_f64(0.99) - confirm / 2
}

/// Found by the simulation with regions (seed 25885, MREC(2) within the rule): a new
/// holder's confirm read timed out, the next one passed late, and it renewed the lapsed
/// tenure. The renewal landed in its region a lease after the acquire, and reached the
/// other region after that region's candidate had timed the acquire out and taken over:
/// two writers. Across regions a tenure past its renewal budget is over; it is not renewed.
#[test]
fn across_regions_a_tenure_past_its_renewal_budget_is_not_renewed() {
    // A long lease and confirm delay, so quick retries reach the store past the budget but
    // within the lease (usually the first retry falls past the lease, where R13 acts first).
    let mut cfg = in_region("a", "sa", "east", "west");
    cfg.timing.lease_duration = ms(1000);
    cfg.timing.longest_lease = ms(1000);
    cfg.timing.renew_deadline = ms(900);
    cfg.timing.confirm_delay = ms(400);
    cfg.timing.validate().unwrap();
    let budget = ms(1000).mul_f64(0.99) - ms(400) / 2;
    let mut h = Harness::new(cfg).with_item(seed());
    h.step_to_next_write();
    let budget_over = h.writes[0].0.plus(budget);
    let lease_over = h.writes[0].0.plus(ms(1000));
    // The confirm read and its retries fail until just past the budget.
    h.outage_until = budget_over.plus(ms(5));
    h.run(ms(1100));
    let renewed_late = h
        .writes
        .iter()
        .find(|(sent, w)| w.kind == WriteKind::Renew && *sent >= budget_over && *sent < lease_over);
    assert!(
        renewed_late.is_none(),
        "renewed {:?} after its budget",
        renewed_late.map(|(sent, _)| sent.since(budget_over))
    );
    assert_ne!(h.role(), Role::Active, "active after its budget ran out");
}

/// Found by the simulation with regions (seeds 6098, 34476 and others of 100,000, MREC):
/// with a short renew deadline a tenure's first renewal, after the confirm read and the
/// mark write, came after the deadline, and an earlier rule ended every such tenure, so
/// nobody held the lease. Past its validity but within its renewal budget a tenure still
/// renews (answering passive meanwhile), and is active again once the renewal is answered.
#[test]
fn across_regions_a_tenure_past_its_deadline_but_within_its_budget_renews() {
    let mut cfg = in_region("a", "sa", "east", "west");
    cfg.timing.confirm_delay = ms(60);
    let mut h = Harness::new(cfg).with_item(seed());
    h.step_to_next_write();
    let deadline = h.writes[0].0.plus(RENEW_DEADLINE);
    // The confirm read fails until just past the deadline, well inside the budget.
    h.outage_until = deadline.plus(ms(5));
    h.run_for(ms(20), |h| {
        if h.now >= deadline {
            assert_ne!(h.role(), Role::Active, "active past its deadline")
        }
    });
    h.run(LEASE);
    assert_eq!(
        h.role(),
        Role::Active,
        "the tenure renewed within its budget"
    );
    assert!(h
        .writes
        .iter()
        .any(|(sent, w)| w.kind == WriteKind::Renew && *sent >= deadline));
}

/// Found by the simulation with regions (seeds 36424, 39870, 67143, 76207, 99104 of
/// 100,000, MREC within the rule): a renewal landed late (a slow network, its answer lost)
/// and was adopted by the read-back; in the other region a candidate had timed the previous
/// write out, and its takeover, written a little later, won everywhere while the holder
/// answered active on the late renewal. Across regions a renewal counts only if it is known
/// to have landed within the renewal budget of the previous write's send time: then it
/// reaches every region (within a lag, below half the confirm delay by the rule) before
/// anyone there can time the previous one out.
#[test]
fn across_regions_a_renewal_known_to_have_landed_late_does_not_count() {
    let mut cfg = in_region("a", "sa", "east", "west");
    cfg.timing.confirm_delay = ms(60);
    let mut h = Harness::new(cfg).with_item(seed());
    h.run_for(ms(200), |_| {});
    assert_eq!(h.role(), Role::Active);
    let prev = h.writes.last().unwrap().0;
    // Renewals fail until late in the tenure; the first that gets through lands with its
    // answer lost...
    h.outage_until = prev.plus(ms(165));
    h.fault = Fault::LoseReply;
    while h.fault == Fault::LoseReply {
        h.step();
    }
    // ...and the read-back finds it only after the budget.
    h.outage_until = prev.plus(renewal_budget(ms(60))).plus(ms(5));
    let deadline = prev.plus(RENEW_DEADLINE);
    h.run_for(prev.plus(ms(400)).since(h.now), |h| {
        assert!(
            h.now < deadline || h.role() != Role::Active,
            "active {:?} after the previous write's deadline, on a renewal known to have \
             landed only after its renewal budget",
            h.now.since(deadline)
        )
    });
}

/// The DynamoDB store reads the peers' marks one GetItem each and
/// fails the whole read (`StoreError::Malformed`) if any one of them does not parse
/// (`store/dynamodb/marks.rs`); the core then treats it as an unreachable store. A mark
/// item that does not parse (written by hand, by another version, or by another lease
/// whose name collides with it) therefore (a) blocks every candidate of every
/// region for as long as it is there, since a candidate must read the marks before it
/// acquires, and (b) silences the holder's peer check, so a double holder after a
/// partition is never ended by the marks. docs/regions.md (*Across regions*): a candidate "reads
/// the marks before it acquires"; failover within lease + interval + confirm + lag; a
/// double holder ends within one lag plus one renew period plus two round trips once
/// replication works. Expected: a mark that does not parse is skipped (and said), not a
/// failed read.
#[test]
#[ignore = "fixed in the store: a malformed mark counts as no mark (tests/e2e/marks_in_the_table.rs); this core test models the whole read failing, which the DynamoDB store no longer does for one bad mark"]
fn a_malformed_peer_mark_blocks_every_candidate_and_silences_the_holder() {
    // (a) A released lease (the seed) and nobody holding: no acquire in ten leases.
    let mut c = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    c.fault = Fault::MalformedMarks;
    c.run(LEASE * 10);
    let acquired = c.writes.len();
    // (b) Two holders, one per replica (as after a partition); the lower one's marks read
    // finds a malformed mark beside the higher holder's.
    let mut east = Harness::new(in_region("a", "sa", "east", "west")).with_item(seed());
    let mut west = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    east.run(ms(10));
    west.now = east.now;
    west.run(ms(10));
    replicate_mark(&east, &west, "east");
    replicate_mark(&west, &east, "west");
    west.fault = Fault::MalformedMarks;
    let healed = east.now;
    east.run(INTERVAL * 5);
    west.now = healed;
    west.run(INTERVAL * 5);
    let mut broken = Vec::new();
    if acquired == 0 {
        broken.push("a candidate never acquired a released lease in ten leases");
    }
    if (east.role(), west.role()) != (Role::Active, Role::Passive) {
        broken.push("both still active five renew periods after the heal");
    }
    assert!(broken.is_empty(), "{broken:?}");
}

/// The rules the simulation found necessary for safety on MREC
/// *within* the lag rule (a renewal counts only within its budget; a tenure past it is
/// over; a handover request restarts a version's clock) are switched on by
/// `--peer-regions`, not by the confirm delay that marks an MREC pod. A pod with
/// `confirmDelay` set and no `--peer-regions` (every pod during docs/regions.md's rollout of
/// peer regions, "turning region marks on ... is a rolling change", or an MREC setup
/// that skipped the marks) runs without them, and does what
/// `across_regions_a_renewal_known_to_have_landed_late_does_not_count` shows gives two
/// writers (seeds 36424, 39870, 67143, 76207, 99104): active on a renewal known to have
/// landed only after its budget. docs/regions.md: during the rollout "a partition then is not
/// bounded by the marks"; nothing says the lag rule stops holding without a partition.
#[test]
fn a_confirm_delay_without_peer_regions_also_refuses_a_renewal_landed_late() {
    let mut cfg = config("a", "sa");
    cfg.timing.confirm_delay = ms(60);
    let mut h = Harness::new(cfg).with_item(seed());
    h.run_for(ms(200), |_| {});
    assert_eq!(h.role(), Role::Active);
    let prev = h.writes.last().unwrap().0;
    h.outage_until = prev.plus(ms(165));
    h.fault = Fault::LoseReply;
    while h.fault == Fault::LoseReply {
        h.step();
    }
    h.outage_until = prev.plus(renewal_budget(ms(60))).plus(ms(5));
    let deadline = prev.plus(RENEW_DEADLINE);
    let mut active_past = None;
    h.run_for(prev.plus(ms(400)).since(h.now), |h| {
        if h.now >= deadline && h.role() == Role::Active && active_past.is_none() {
            active_past = Some(h.now.since(deadline));
        }
    });
    assert_eq!(
        active_past, None,
        "active past the previous write's deadline on a renewal known to have landed only \
         after its renewal budget (no --peer-regions, confirm delay 60 ms)"
    );
}

/// (outside docs/regions.md's stated inputs, which name deleted and restored
/// *lease items*, not marks). A tenure writes its mark once, when it starts, and never
/// again. If the higher holder's mark is gone from the lower holder's replica (deleted by
/// hand, as the epoch-limit recovery (docs/regions.md) tells operators to do with the marks, or a
/// tool cleaning up `<lease>/regions/*`) while both hold, the lower one never learns it is
/// lower and the higher one sees nothing to stop for: the double holder of a partition
/// never ends. docs/regions.md: "once replication works, a double holder ends within one
/// replication lag plus one renew period plus two round trips".
#[test]
#[ignore = "a limit outside the stated inputs (docs/regions.md: never delete region marks while pods run): the higher holder's mark deleted, a double holder never ends"]
fn a_double_holder_ends_even_if_the_higher_mark_was_deleted() {
    let mut east = Harness::new(in_region("a", "sa", "east", "west")).with_item(seed());
    let mut west = Harness::new(in_region("b", "sb", "west", "east")).with_item(seed());
    east.run(ms(10));
    west.now = east.now;
    west.run(ms(10));
    assert_eq!(east.item().unwrap().epoch, Some(2), "east is the higher");
    // The heal: west's mark reaches east; east's mark is deleted before it reaches west
    // (here: never copied), and no later write of it comes.
    replicate_mark(&west, &east, "west");
    let healed = east.now;
    east.run(LEASE * 10);
    west.now = healed;
    west.run(LEASE * 10);
    assert_ne!(
        (east.role(), west.role()),
        (Role::Active, Role::Active),
        "both still active ten leases after the heal"
    );
}
