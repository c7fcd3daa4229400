//! The review's cross-region scenarios on two MREC replicas (`replicas.rs`): what held,
//! and the findings (ignored, so the suite stays green; each says what docs/regions.md
//! promised instead).

use super::replicas::{actives, east_holds_then_west_starts, in_region, Replicas};
use super::*;

/// A lag above the renew period: each replica's own renewals stay newer than what arrives,
/// so only the region marks can end a double holder (docs/regions.md, *Across regions*).
const SLOW_LAG: Duration = Duration::from_millis(150);

fn slow_lag_timing(cfg: &mut CoreConfig) {
    long_lease(cfg, SLOW_LAG * 2);
}

/// Interval 100 ms, lease 1 s (renew period 100 ms): a lease well above a handover's cost.
fn long_lease(cfg: &mut CoreConfig, confirm: Duration) {
    cfg.timing = Timing {
        interval: ms(100),
        lease_duration: ms(1000),
        renew_deadline: ms(800),
        confirm_delay: confirm,
        longest_lease: ms(1000),
    };
}

/// Partitions the replicas until the west pod takes over, then heals; returns how long
/// after the heal two actives remained (None: still two at the end of `watch`).
fn partition_until_both_hold_then_heal(
    r: &mut Replicas,
    a: &mut Harness,
    b: &mut Harness,
    watch: Duration,
) -> Option<Duration> {
    r.run(&mut [&mut *a, &mut *b], ms(2000), |_, hs, t| {
        assert!(actives(hs, t) <= 1, "two actives before the partition");
    });
    r.partitioned = true;
    let mut both_at = None;
    r.run(&mut [&mut *a, &mut *b], ms(4000), |_, hs, t| {
        if both_at.is_none() && actives(hs, t) == 2 {
            both_at = Some(t);
        }
    });
    assert!(
        both_at.is_some(),
        "west never took over during the partition"
    );
    r.partitioned = false;
    let healed = a.now.max(b.now);
    let mut last_two = None;
    r.run(&mut [&mut *a, &mut *b], watch, |_, hs, t| {
        if actives(hs, t) == 2 {
            last_two = Some(t);
        }
    });
    match last_two {
        Some(t) if t.plus(ms(500)) >= a.now.min(b.now) => None,
        Some(t) => Some(t.since(healed)),
        None => Some(Duration::ZERO),
    }
}

/// Held: with marks on both sides and a lag above the renew period, the double holder a
/// partition leaves ends within one lag plus one renew period plus a round trip of the heal.
#[test]
fn after_a_partition_the_marks_end_the_double_holder_within_the_bound() {
    let mut r = Replicas::new(["east", "west"], SLOW_LAG);
    let mut east = in_region("a", "sa", "east", &["west"], Duration::ZERO);
    let mut west = in_region("b", "sb", "west", &["east"], Duration::ZERO);
    slow_lag_timing(&mut east);
    slow_lag_timing(&mut west);
    let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
    let ended = partition_until_both_hold_then_heal(&mut r, &mut a, &mut b, ms(5000))
        .expect("two holders remained to the end");
    let bound = SLOW_LAG + ms(100) + RTT * 4;
    assert!(
        ended <= bound,
        "ended {ended:?} after the heal, past {bound:?}"
    );
    assert_eq!(
        a.core.view().region_conflicts,
        1,
        "east (lower epoch) stopped"
    );
}

/// Finding 1. Rolling `--peer-regions` out, or a peer list with a wrong region name (it is
/// checked for form only): a pod that reads no mark of the other region holds beside that
/// region's holder after a partition, and the double holder never ends (docs/regions.md: "once
/// replication works, a double holder ends within one replication lag plus one renew period
/// plus a round trip"). East runs without `--peer-regions` (as before the change reaches
/// it), then with a misspelled peer; west is configured right.
#[test]
#[ignore = "a limit: a pod without (or with a wrong) --peer-regions keeps a double holder alive after a heal; docs/regions.md's rollout order for peer regions"]
fn limit_a_pod_without_peer_regions_keeps_a_double_holder_after_the_heal() {
    let mut outcomes = Vec::new();
    for east_peers in [None, Some("west-1")] {
        let mut r = Replicas::new(["east", "west"], SLOW_LAG);
        let mut east = match east_peers {
            None => config("a", "sa"),
            Some(peer) => in_region("a", "sa", "east", &[peer], Duration::ZERO),
        };
        let mut west = in_region("b", "sb", "west", &["east"], Duration::ZERO);
        slow_lag_timing(&mut east);
        slow_lag_timing(&mut west);
        let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
        let ended = partition_until_both_hold_then_heal(&mut r, &mut a, &mut b, ms(5000));
        outcomes.push((east_peers, ended));
    }
    let bound = SLOW_LAG + ms(100) + RTT * 4;
    assert!(
        outcomes.iter().all(|(_, e)| e.is_some_and(|d| d <= bound)),
        "east's peers, and how long two holders remained after the heal (None: still both \
         active 5 s later): {outcomes:?}; bound {bound:?}"
    );
}

/// Fixed (each region hands out its own epochs). During a
/// partition east's holder shuts down (SIGTERM: a release), east's other pod acquires the
/// release at `max + 1`, and west, cut off, takes over east's last version at `max + 1`
/// too. README (*How it keeps that promise*): "Only a store that forgot an epoch (an item
/// deleted or restored) before a pod that never saw it acquires can hand the same number out
/// twice". A controller that fences on the epoch (`X-Drlease-Epoch`) cannot tell the two
/// writers apart, where distinct epochs would fence one side off.
#[test]
fn a_partition_never_hands_one_epoch_to_two_active_tenures() {
    let lag = ms(30);
    let mut r = Replicas::new(["east", "west"], lag);
    let confirm = lag * 2;
    let east = in_region("a", "sa", "east", &["west"], confirm);
    let (mut a, mut b) = east_holds_then_west_starts(
        &mut r,
        east,
        in_region("b", "sb", "west", &["east"], confirm),
    );
    let mut a2 = r.pod(0, in_region("a2", "sa2", "east", &["west"], confirm), a.now);
    r.run(&mut [&mut a, &mut a2, &mut b], ms(1000), |_, hs, t| {
        assert!(actives(hs, t) <= 1);
    });
    assert_eq!(a.role(), Role::Active);
    let before = a.core.view().epoch.unwrap();
    r.partitioned = true;
    a.core.begin_release();
    let mut both = None;
    r.run(&mut [&mut a, &mut a2, &mut b], LEASE * 4, |_, hs, t| {
        if both.is_none() && actives(hs, t) == 2 {
            let epochs: Vec<_> = hs.iter().map(|h| h.core.view().epoch).collect();
            both = Some((t, epochs));
        }
    });
    let (_, epochs) = both.expect("both sides hold during the partition (as documented)");
    assert_eq!(a2.role(), Role::Active, "east's other pod took the release");
    assert_eq!(b.role(), Role::Active, "west took over");
    let (east_epoch, west_epoch) = (a2.core.view().epoch, b.core.view().epoch);
    assert_ne!(
        east_epoch, west_epoch,
        "two active tenures at one epoch (east {east_epoch:?}, west {west_epoch:?}, was {before}; \
         all three when both were first active: {epochs:?})"
    );
}

fn with_affinity(
    mut cfg: CoreConfig,
    priority: i32,
    failback_after: Option<Duration>,
) -> CoreConfig {
    cfg.affinity = Affinity {
        priority,
        failback_after,
        never_acquire: false,
    };
    cfg
}

/// Finding 3. Failback across regions, docs/regions.md's own setup ("a higher priority in the
/// primary region"): the preferred pod writes its request onto its own replica, on the
/// version it last read there, one lag behind the holder's renewals. Last writer wins then
/// either drops the request (the holder renewed after it) or writes that older version back
/// over the holder's newer renewal: the holder's next renewal is refused, it stops without a
/// release, and nobody holds until a lease runs out. docs/regions.md (*Region affinity*): "No gap
/// beyond the handover itself"; the holder "releases to the one that asked, and that pod
/// (watching at a quarter interval) acquires at once". (`drlease handover` refuses another
/// region's replica for this very reason; the failback request does not check.)
#[test]
#[ignore = "a limit: a failback request from another region is lost or stops the holder without a release (a lease of nobody); so --failback-after with --peer-regions is refused at start"]
fn limit_failback_from_another_region_is_not_a_handover() {
    let lag = ms(30);
    let mut r = Replicas::new(["east", "west"], lag);
    let confirm = lag * 2;
    let after = ms(500);
    let mut east = with_affinity(in_region("b", "sb", "east", &["west"], confirm), 0, None);
    let mut west = with_affinity(
        in_region("a", "sa", "west", &["east"], confirm),
        10,
        Some(after),
    );
    long_lease(&mut east, confirm);
    long_lease(&mut west, confirm);
    let (mut b, mut a) = east_holds_then_west_starts(&mut r, east, west);
    let start = a.now;
    let mut nobody_since: Option<Mono> = None;
    let mut longest_gap = Duration::ZERO;
    let mut moved_at = None;
    r.run(&mut [&mut a, &mut b], after + ms(4000), |_, hs, t| {
        let n = actives(hs, t);
        assert!(n <= 1, "two actives");
        match (n, nobody_since) {
            (0, None) => nobody_since = Some(t),
            (1, Some(since)) => {
                longest_gap = longest_gap.max(t.since(since));
                nobody_since = None;
            }
            _ => {}
        }
        if moved_at.is_none() && hs[0].core.view().role_at(t) == Role::Active {
            moved_at = Some(t);
        }
    });
    let requests = a.requests.clone();
    let moved = moved_at.map(|t| t.since(start));
    eprintln!(
        "moved after {moved:?}; longest gap {longest_gap:?}; failbacks lost by the holder {}; requests {:?}",
        b.core.view().failbacks_lost,
        requests.iter().map(|(t, _, ok)| (t.since(start), *ok)).collect::<Vec<_>>()
    );
    // A handover's gap: the holder's next renewal, the release's lag, a quarter-interval
    // read, the confirm delay; with an interval to spare.
    let handover_gap = INTERVAL * 2 + lag * 2 + confirm;
    assert!(
        longest_gap <= handover_gap,
        "nobody active for {longest_gap:?} (a handover's gap: {handover_gap:?})"
    );
    // The single-region bound (tests/failback.rs) plus the two lags and the confirm delay.
    let bound = after + INTERVAL * 3 + lag * 2 + confirm;
    assert!(
        moved.is_some_and(|m| m <= bound),
        "failback took {moved:?}, past {bound:?}"
    );
    assert_eq!(
        b.core.view().failbacks_lost,
        1,
        "the holder released for the failback"
    );
}

/// Finding 4. `drlease freeze` run against a replica other than the holder's (it does not
/// refuse, unlike `handover`) is lost when the holder renews within a lag after it: the
/// renewal is the later write, so last writer wins drops the freeze on both replicas. The
/// command reported success; the holder never saw it. docs/operations.md (*Freeze*): "every candidate
/// is passive within one interval (the active's next conditional renewal fails) and none
/// takes the lease over"; *Across regions* recommends `drlease freeze` against each
/// region's endpoint, and only `handover` is said to need the holder's region.
#[test]
#[ignore = "a limit: a freeze written to a non-holder region's replica is overwritten by the holder's next renewal (last writer wins); so drlease freeze refuses another region's replica"]
fn limit_a_freeze_at_another_regions_replica_is_lost() {
    let lag = ms(30);
    let mut r = Replicas::new(["east", "west"], lag);
    let confirm = lag * 2;
    let mut east = in_region("b", "sb", "east", &["west"], confirm);
    let mut west = in_region("a", "sa", "west", &["east"], confirm);
    long_lease(&mut east, confirm);
    long_lease(&mut west, confirm);
    let (mut b, mut a) = east_holds_then_west_starts(&mut r, east, west);
    // Up to a renewal of the holder, then to 80 ms after it: the west replica shows that
    // renewal (one lag), the next renewal is 20 ms away.
    let renewals = |h: &Harness| {
        h.writes
            .iter()
            .filter(|(_, w)| w.kind == WriteKind::Renew)
            .count()
    };
    let seen = renewals(&b);
    r.run_while(&mut [&mut a, &mut b], ms(1000), |_, hs, _| {
        renewals(hs[1]) == seen
    });
    let renewed = b.writes.last().unwrap().0;
    let freeze_at = renewed.plus(ms(80));
    r.run_while(&mut [&mut a, &mut b], ms(1000), |_, hs, _| {
        hs.iter().map(|h| h.now).min().unwrap() < freeze_at
    });
    let west_item = r.stores[1].table().get("lease");
    assert_eq!(
        west_item.as_ref().unwrap().owner,
        "b",
        "west shows b's renewal"
    );
    let freeze = operator::freeze(west_item.as_ref(), "frozen-by-operator".into(), 1000);
    r.stores[1]
        .write_now(&freeze)
        .expect("the operator's freeze lands on west's replica");
    r.tick(freeze_at);
    r.run(&mut [&mut a, &mut b], ms(2000), |_, _, _| {});
    let east_item = r.stores[0].table().get("lease").unwrap();
    let west_item = r.stores[1].table().get("lease").unwrap();
    assert!(
        east_item.is_frozen() && west_item.is_frozen() && b.role() == Role::Passive,
        "2 s after a freeze that succeeded: east holds {:?}, west holds {:?}, the holder is {:?}",
        east_item.owner,
        west_item.owner,
        b.role()
    );
}

/// A region mark outlives its tenure: nothing removes or supersedes
/// it when that holder dies or releases. During a partition longer than the lease west
/// takes over (its mark above east's), then west's holder dies (kill -9, or a SIGTERM
/// during a rollout) while still cut off. East's holder was the only holder on its side
/// all along. At the heal it reads west's mark, finds it outranks its own and stops at
/// once, though nobody else holds: then nobody is active until a candidate times east's
/// last version out (a lease). docs/regions.md (*Across regions*): "of two holders, the one whose
/// mark ranks lower stops"; a gap after a heal is described only for two live holders
/// that both stop. Expected: a sole surviving holder keeps the lease across the heal.
#[test]
#[ignore = "a limit (availability, docs/regions.md: the gap after a heal): a dead peer's stale mark stops the only live holder at the heal; nobody active for about a lease"]
fn a_dead_peers_mark_does_not_stop_the_only_holder_at_the_heal() {
    let mut r = Replicas::new(["east", "west"], ms(30));
    let mut east = in_region("a", "sa", "east", &["west"], ms(70));
    let mut west = in_region("b", "sb", "west", &["east"], ms(70));
    long_lease(&mut east, ms(70));
    long_lease(&mut west, ms(70));
    let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
    r.run(&mut [&mut a, &mut b], ms(1000), |_, hs, t| {
        assert!(actives(hs, t) <= 1, "two actives before the partition");
    });
    r.partitioned = true;
    r.run_while(&mut [&mut a, &mut b], ms(4000), |_, hs, t| {
        actives(hs, t) < 2
    });
    assert_eq!(
        b.role(),
        Role::Active,
        "west took over during the partition"
    );
    // West's holder dies, still cut off; east goes on alone for a while.
    r.run(&mut [&mut a], ms(500), |_, _, _| {});
    assert_eq!(a.role(), Role::Active, "east holds on its side");
    r.partitioned = false;
    let healed = a.now;
    let mut passive_for = Duration::ZERO;
    let mut since: Option<Mono> = None;
    r.run(&mut [&mut a], ms(3000), |_, hs, t| {
        if hs[0].core.view().role_at(t) == Role::Active {
            if let Some(s) = since.take() {
                passive_for = passive_for.max(t.since(s));
            }
        } else if since.is_none() {
            since = Some(t);
        }
    });
    if let Some(s) = since {
        // Still nobody at the end of the watch.
        passive_for = passive_for.max(a.now.since(s));
    }
    assert_eq!(
        passive_for,
        Duration::ZERO,
        "the only live holder stopped at the heal and nobody was active for {passive_for:?} \
         (lease 1 s; region conflicts counted by east: {}; heal at {healed:?})",
        a.core.view().region_conflicts
    );
}
