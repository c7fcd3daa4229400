//! When a version's clock starts and how long it is held: release markers and the longest
//! lease declared lately (a handover request in one region: `one_region.rs`).

use super::*;

/// Puts `record` in the store and runs until the next routine read (an interval after the
/// last: reads are paced from their send times) has shown it.
fn put_and_read(h: &mut Harness, record: LeaseRecord) {
    h.store.table().put("lease", record);
    h.run(INTERVAL);
}

fn declaring(owner: &str, version: &str, lease_ms: u64) -> LeaseRecord {
    LeaseRecord {
        lease_duration_ms: Some(lease_ms),
        ..foreign(owner, version, 3)
    }
}

/// Only the holder's own release of the very tenure we saw (same session, same epoch) is
/// open at once: a release by the same session at a later epoch is of a tenure we never
/// saw, and is timed like any other version.
#[test]
fn a_release_of_a_later_tenure_than_the_one_seen_is_timed() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 7));
    h.run(ms(5));
    h.store
        .table()
        .put("lease", own_release(&foreign("a", "v2", 8), "r"));
    h.run_for(LEASE - ms(5), |h| {
        assert!(h.writes.is_empty(), "took the release at {:?}", h.now)
    });
    h.run(INTERVAL * 2);
    assert_eq!(h.role(), Role::Active, "taken by timing");
}

/// A held version is timed from when it is first seen, even if it names the version
/// before it in `releasedFrom` (only an unfreeze, a released item, keeps that clock).
#[test]
fn a_held_version_is_timed_from_when_it_is_seen_whatever_release_markers_it_carries() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 3));
    h.run(ms(5));
    h.run(INTERVAL * 2);
    let written = h.now;
    h.store.table().put(
        "lease",
        LeaseRecord {
            released_from: Some("v1".into()),
            ..foreign("x", "x1", 3)
        },
    );
    h.run_for(LEASE - ms(5), |h| {
        assert!(
            h.writes.is_empty(),
            "took x1 over {:?} after it was written",
            h.now.since(written)
        )
    });
}

/// A long lease declared lately is remembered until it has gone unseen for that lease
/// plus ours, then forgotten: a version first seen after that is timed by our own lease.
#[test]
fn a_long_lease_declared_lately_is_forgotten_after_that_lease_plus_ours() {
    let mut h = Harness::new(config("b", "sb")).with_item(declaring("a", "v1", 950));
    h.run(ms(1));
    // Someone else's versions, declaring our lease, one per read: x13 is first read 1300
    // ms after a's 950 ms were last seen, past 950 + 300.
    for n in 1..=13 {
        put_and_read(&mut h, declaring("x", &format!("x{n}"), 300));
    }
    h.run(LEASE + ms(5));
    assert_eq!(h.role(), Role::Active, "x13 is timed by our own lease");
}

/// ... and still remembered at exactly that lease plus ours: a version first seen then is
/// timed by the long lease.
#[test]
fn a_long_lease_declared_lately_is_remembered_for_exactly_that_lease_plus_ours() {
    let mut h = Harness::new(config("b", "sb")).with_item(declaring("a", "v1", 900));
    h.run(ms(1));
    // x12 is first read exactly 1200 ms (900 + 300) after a's 900 ms were last seen.
    for n in 1..=12 {
        put_and_read(&mut h, declaring("x", &format!("x{n}"), 300));
    }
    taken_only_after(&mut h, ms(900));
}

/// A longer lease declared after a shorter one replaces it as the one remembered.
#[test]
fn a_longer_lease_declared_later_replaces_the_one_remembered() {
    let mut h = Harness::new(config("b", "sb")).with_item(declaring("a", "v1", 900));
    h.run(ms(1));
    put_and_read(&mut h, declaring("a", "v2", 1200));
    put_and_read(&mut h, declaring("x", "x1", 300));
    taken_only_after(&mut h, ms(1200));
}

/// A shorter lease declared later, even one longer than ours, does not replace the longer
/// one remembered: a later version is still timed by the longer.
#[test]
fn a_shorter_lease_declared_later_does_not_replace_the_longer_one_remembered() {
    let mut h = Harness::new(config("b", "sb")).with_item(declaring("a", "v1", 1200));
    h.run(ms(1));
    put_and_read(&mut h, declaring("a", "v2", 900));
    put_and_read(&mut h, declaring("x", "x1", 300));
    taken_only_after(&mut h, ms(1200));
}

/// The version read last is taken over only once `hold` has passed since it was read (no
/// write until 5 ms before), and then within an interval.
fn taken_only_after(h: &mut Harness, hold: Duration) {
    let seen = h.now;
    h.run_for(hold - ms(5), |h| {
        assert!(
            h.writes.is_empty(),
            "took it over {:?} after it was seen",
            h.now.since(seen)
        )
    });
    h.run(INTERVAL);
    assert_eq!(h.role(), Role::Active);
}
