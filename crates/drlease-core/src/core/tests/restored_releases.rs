//! Releases restored after someone took them (R9, R10): each
//! sequence gave two actives before every take of a release claimed it and a refused
//! claim re-timed the release from the refusal.

use super::*;

/// How long two of `hs` answered active at the same instant: after every step, the roles
/// at the earliest clock among them (each core's view holds until its own clock).
fn together_measuring_overlap(
    hs: &mut [&mut Harness],
    d: Duration,
    mut event: impl FnMut(&mut [&mut Harness]),
) -> Duration {
    let mut overlap = Duration::ZERO;
    let mut since: Option<Mono> = None;
    let until = hs.iter().map(|h| h.now).max().unwrap().plus(d);
    run_together(hs, d, |hs| {
        event(hs);
        let t = hs.iter().map(|h| h.now).min().unwrap();
        let actives = hs
            .iter()
            .filter(|h| h.core.view().role_at(t) == Role::Active)
            .count();
        match (actives > 1, since) {
            (true, None) => since = Some(t),
            (false, Some(s)) => {
                overlap += t.since(s);
                since = None;
            }
            _ => {}
        }
    });
    if let Some(s) = since {
        overlap += until.since(s);
    }
    overlap
}

/// A release timed in full (here an unfreeze, which inherits the clock of the freeze it
/// names) is claimed and acquired by `b`. A restore writes it back before `c`'s next read.
/// `c`'s previous read showed the freeze, so it inherits the freeze's old clock for the
/// restored unfreeze, finds the claim taken, and, having "already timed it in full",
/// acquires it at once, beside `b`. Default renew deadline (lease - interval).
#[test]
fn a_restored_unfreeze_is_acquired_at_once_beside_the_holder_that_claimed_it() {
    let held = foreign("a", "v1", 3);
    let mut b = Harness::new(config("b", "sb")).with_item(held.clone());
    b.run(ms(5));
    // c starts (and reads) half an interval after b.
    let mut c = beside(&b, config("c", "sc"));
    c.now = c.now.plus(INTERVAL / 2);
    let lease_ms = LEASE.as_millis() as u64;
    run_together(&mut [&mut b, &mut c], ms(5), |_| {});
    b.store
        .write_now(&operator::freeze(Some(&held), "f".into(), lease_ms))
        .unwrap();
    run_together(&mut [&mut b, &mut c], LEASE * 2, |_| {});
    let store = b.store.clone();
    let mut unfrozen: Option<LeaseRecord> = None;
    let mut restored = false;
    let c_last_read = c.core.pacing.last_read_sent;
    let overlap = together_measuring_overlap(&mut [&mut b, &mut c], LEASE * 2, |hs| {
        // Just after c's next read of the freeze, an operator unfreezes.
        if unfrozen.is_none() && hs[1].core.pacing.last_read_sent > c_last_read {
            let frozen = store.table().get("lease").unwrap();
            store
                .write_now(&operator::unfreeze(&frozen, "u".into(), lease_ms))
                .unwrap();
            unfrozen = store.table().get("lease");
        }
        // As soon as b holds it, a restore writes the unfreeze back.
        if !restored && hs[0].core.holding.is_some() {
            store.table().put("lease", unfrozen.clone().unwrap());
            restored = true;
        }
    });
    show(&[("b", &b), ("c", &c)], overlap);
    assert!(restored);
    assert_eq!(overlap, Duration::ZERO, "two actives for {overlap:?}");
}

/// A handover to `x` that `x` cannot take (it is ineligible for a while) is taken by `y`
/// after a full lease, as a *takeover*: no claim is written for it. A restore writes the
/// release back before `x`'s next read, just as `x` is eligible again. `x` saw the tenure
/// (its history is continuous: it kept reading while ineligible), so the release is open
/// to it; its claim succeeds (nobody claimed this release) and it acquires at once, beside
/// `y`. Default renew deadline.
#[test]
fn a_handover_taken_by_timing_leaves_no_claim_and_its_restored_copy_is_taken_at_once() {
    let held = foreign("a", "v1", 7);
    let mut x = Harness::new(config("x", "sx")).with_item(held.clone());
    let mut y = beside(&x, config("y", "sy"));
    // x reads half an interval after y.
    x.now = x.now.plus(INTERVAL / 2);
    run_together(&mut [&mut x, &mut y], ms(5), |_| {});
    // x's controller turns unhealthy; then a hands the lease over to x (own release).
    x.core.set_eligible(false);
    let release = LeaseRecord {
        handover_to: Some("x".into()),
        handover_from: Some("a".into()),
        ..own_release(&held, "r")
    };
    x.store.table().put("lease", release.clone());
    let store = x.store.clone();
    let mut restored = false;
    let overlap = together_measuring_overlap(&mut [&mut x, &mut y], LEASE * 3, |hs| {
        // As soon as y holds it (by timing), a restore writes the release back and x is
        // healthy again, before x's next read.
        if !restored && hs[1].core.holding.is_some() {
            store.table().put("lease", release.clone());
            hs[0].core.set_eligible(true);
            restored = true;
        }
    });
    show(&[("x", &x), ("y", &y)], overlap);
    assert!(restored, "y never took the lease");
    assert_eq!(overlap, Duration::ZERO, "two actives for {overlap:?}");
}

/// docs/operations.md's own case: "a holder's own release written back after someone acquired it
/// is not taken at once again". `a` steps down (its controller is unhealthy, and so are
/// the others': nobody takes the release for a while). `c` started after the release (it
/// did not see the tenure) and timed it in full while ineligible. `b` saw the tenure and
/// takes the release at once when it is healthy again (its claim lands). A restore writes
/// the release back before `c`'s next read, as `c` turns healthy: `c`'s claim is refused,
/// but the release "was already timed in full", so `c` acquires it at once, beside `b`.
#[test]
fn a_restored_own_release_is_acquired_at_once_by_a_pod_that_had_timed_it_while_ineligible() {
    let overlap = restored_own_release(false);
    assert_eq!(overlap, Duration::ZERO, "two actives for {overlap:?}");
}

/// The same, with `b` cut off from the store just after it acquired (its renewals time
/// out instead of being refused): the two actives last until `b`'s renew deadline.
#[test]
fn a_restored_own_release_taken_at_once_overlaps_a_cut_off_holder_until_its_deadline() {
    let overlap = restored_own_release(true);
    assert_eq!(overlap, Duration::ZERO, "two actives for {overlap:?}");
}

fn restored_own_release(cut_off: bool) -> Duration {
    let held = foreign("a", "v1", 7);
    let mut b = Harness::new(config("b", "sb")).with_item(held.clone());
    b.run(ms(5));
    b.core.set_eligible(false);
    let release = LeaseRecord {
        handover_to: Some(crate::record::HANDOVER_ANY.into()),
        handover_from: Some("a".into()),
        ..own_release(&held, "r")
    };
    b.store.table().put("lease", release.clone());
    // c starts after the release, half an interval out of phase with b, ineligible.
    let mut c = beside(&b, config("c", "sc"));
    c.now = c.now.plus(INTERVAL / 2);
    c.core.set_eligible(false);
    run_together(&mut [&mut b, &mut c], LEASE * 2, |_| {});
    assert!(b.writes.is_empty() && c.writes.is_empty());
    b.core.set_eligible(true);
    let store = b.store.clone();
    let mut restored = false;
    let overlap = together_measuring_overlap(&mut [&mut b, &mut c], LEASE * 2, |hs| {
        if !restored && hs[0].core.holding.is_some() {
            store.table().put("lease", release.clone());
            hs[1].core.set_eligible(true);
            if cut_off {
                hs[0].outage_until = hs[0].now.plus(LEASE * 2);
            }
            restored = true;
        }
    });
    show(&[("b", &b), ("c", &c)], overlap);
    assert!(restored, "b never took the release");
    overlap
}

/// Liveness, region marks on: the lease item is deleted (or written back with a lower
/// epoch) and the pods restart, so none remembers the old epoch. The own region's mark
/// still carries it (57). A candidate reads only the *peers'* marks before acquiring, so it
/// acquires at epoch 1; its own mark is refused ("a later holder of our own region"), the
/// tenure ends without answering active, and it learns nothing from the refusal: it times
/// its own version for a lease and takes over at epoch 2, and so on, one epoch per lease.
/// No pod answers active until the epoch climbs past the old mark: 56 lease durations
/// (42 minutes at 15 s x 3). This is also the recovery from an exhausted epoch in docs/regions.md
/// (stop every drlease, delete the lease item, start them): the marks keep u64::MAX, so
/// with `--peer-regions` no tenure is ever marked again.
#[test]
fn an_own_region_mark_above_the_items_epoch_keeps_the_lease_without_an_active() {
    let cfg = CoreConfig {
        regions: Some(crate::Regions {
            own: "east".into(),
            peers: vec!["west".into()],
        }),
        ..config("a", "sa")
    };
    let mut h = Harness::new(cfg);
    h.store
        .write_mark_now(&crate::RegionMark {
            region: "east".into(),
            epoch: 57,
            session: "old".into(),
            owner: "a".into(),
        })
        .unwrap();
    let mut active_at = None;
    let start = h.now;
    h.run_for(LEASE * 10, |h| {
        if active_at.is_none() && h.role() == Role::Active {
            active_at = Some(h.now);
        }
    });
    let tenures = h
        .writes
        .iter()
        .filter(|(_, r)| r.kind.changes_owner())
        .count();
    eprintln!(
        "after {:?}: active at {active_at:?}; {tenures} tenures, epoch now {:?}",
        h.now.since(start),
        h.item().and_then(|r| r.epoch)
    );
    assert!(
        active_at.is_some(),
        "no active for ten lease durations ({tenures} tenures, none marked)"
    );
}

/// What each pod wrote and claimed, for a failing run's output.
fn show(pods: &[(&str, &Harness)], overlap: Duration) {
    for (name, h) in pods {
        let writes: Vec<_> = h.writes.iter().map(|(t, r)| (t, r.kind)).collect();
        eprintln!("{name} writes: {writes:?}; claims: {:?}", h.claims);
    }
    eprintln!("overlap {overlap:?}");
}
