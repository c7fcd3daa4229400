//! The review's sweeps across two MREC replicas (`replicas.rs`): starts within a lag and
//! failovers at many phases and jitter draws, at docs/regions.md's confirm rule (never two
//! actives) and below it (the same sweep finds some, so it can tell).

use super::replicas::{actives, east_holds_then_west_starts, in_region, Replicas};
use super::*;

/// Both regions start on the seed, the second 0 to 80 ms later (the lag is 30 ms, up to
/// `jitter` more), under `seeds` jitter draws: the most pods active at once.
fn starts_sweep(lag: Duration, jitter: Duration, confirm: Duration, seeds: u64) -> Vec<(u64, u64)> {
    let mut bad = Vec::new();
    for draw in 1..=seeds {
        for stagger in 0..80u64 {
            let mut r = Replicas::new(["east", "west"], lag);
            r.jitter = jitter;
            r.seed = draw;
            r.stores[0].table().put("lease", seed());
            r.stores[1].table().put("lease", seed());
            let start = Mono::from_duration(Duration::from_secs(1000));
            r.tick(start);
            let mut a = r.pod(0, in_region("a", "sa", "east", &["west"], confirm), start);
            let west = in_region("b", "sb", "west", &["east"], confirm);
            let mut b = r.pod(1, west, start.plus(ms(stagger)));
            let mut worst = 0;
            r.run(&mut [&mut a, &mut b], ms(1500), |_, hs, t| {
                worst = worst.max(actives(hs, t));
            });
            if worst > 1 {
                bad.push((draw, stagger));
            }
        }
    }
    bad
}

/// Held: starts within a lag of each other, confirm delay exactly twice the worst lag (the
/// docs/regions.md's rule), with and without jitter: never two actives.
#[test]
fn starts_within_a_lag_at_the_readmes_confirm_rule_never_give_two_actives() {
    assert_eq!(starts_sweep(ms(30), Duration::ZERO, ms(60), 1), vec![]);
    assert_eq!(starts_sweep(ms(25), ms(5), ms(60), 20), vec![]);
}

/// And the sweep can tell: 10 ms below the rule, some starts give two actives.
#[test]
fn below_the_readmes_confirm_rule_the_same_sweep_finds_two_actives() {
    let bad = starts_sweep(ms(25), ms(5), ms(50), 5);
    assert!(!bad.is_empty(), "no two actives below the rule");
}

#[derive(Clone, Copy, Debug)]
enum Event {
    Sigterm,
    Kill,
    HandoverToWest,
    EligibilityLost,
    /// `freeze` then `unfreeze` back to back, against one region's replica (0: east).
    FreezeUnfreeze(usize),
}

/// An operator's `freeze` and, at once, `unfreeze` against `side`'s replica.
fn freeze_unfreeze(r: &Replicas, side: usize) {
    let store = &r.stores[side];
    let current = store.table().get("lease");
    let freeze = operator::freeze(current.as_ref(), format!("freeze.{side}"), 300);
    if let Ok(frozen) = store.write_now(&freeze) {
        let _ = store.write_now(&operator::unfreeze(
            &frozen,
            format!("unfreeze.{side}"),
            300,
        ));
    }
}

/// East's `a` holds, `a2` (east) and `b` (west) watch; at `phase` after settling, `event`
/// happens to the holder; then 3 s. The most pods active at one instant, and whether
/// another pod holds at the end.
fn failover(event: Event, phase: Duration, draw: u64, confirm: Duration) -> (usize, bool) {
    let mut r = Replicas::new(["east", "west"], ms(25));
    r.jitter = ms(5);
    r.seed = draw;
    let east = in_region("a", "sa", "east", &["west"], confirm);
    let west = in_region("b", "sb", "west", &["east"], confirm);
    let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
    // Read cadences out of phase with each other, by draw.
    b.now = b.now.plus(ms(draw * 37 % 100));
    let a2_cfg = in_region("a2", "sa2", "east", &["west"], confirm);
    let mut a2 = r.pod(0, a2_cfg, a.now.plus(ms(draw * 61 % 100)));
    let mut worst = 0;
    let mut count = |_: &mut Replicas, hs: &mut [&mut Harness], t: Mono| {
        worst = worst.max(actives(hs, t));
    };
    r.run(&mut [&mut a, &mut a2, &mut b], ms(1000) + phase, &mut count);
    match event {
        Event::Sigterm => a.core.begin_release(),
        Event::Kill => {}
        Event::HandoverToWest => {
            let v = r.stores[0].table().get("lease").and_then(|x| x.version);
            let req = operator::HandoverRequest::by_operator(&v.unwrap(), "b", "h8");
            let _ = r.stores[0].request_handover_now(&req);
        }
        Event::EligibilityLost => a.core.set_eligible(false),
        Event::FreezeUnfreeze(side) => freeze_unfreeze(&r, side),
    }
    if matches!(event, Event::Kill) {
        // Its last answers still count until they run out.
        let dead = a.core.view();
        let mut with_dead = 0;
        r.run(&mut [&mut a2, &mut b], ms(3000), |_, hs, t| {
            let n = actives(hs, t) + usize::from(dead.role_at(t) == Role::Active);
            with_dead = with_dead.max(n);
        });
        worst = worst.max(with_dead);
    } else {
        r.run(&mut [&mut a, &mut a2, &mut b], ms(3000), &mut count);
    }
    (worst, a2.role() == Role::Active || b.role() == Role::Active)
}

/// Held: SIGTERM, kill -9, an operator's handover to the other region (at the holder's
/// region) and a step-down, each at 15 phases of the holder's renew period under 4 jitter
/// draws (lag 25 ms + up to 5, confirm 60 ms): never two actives, and the lease moves.
#[test]
fn failovers_across_regions_never_give_two_actives() {
    let mut bad = Vec::new();
    for event in [
        Event::Sigterm,
        Event::Kill,
        Event::HandoverToWest,
        Event::EligibilityLost,
    ] {
        for draw in 1..=4 {
            for phase in (0..100).step_by(7) {
                let (n, moved) = failover(event, ms(phase), draw, ms(60));
                if n > 1 || !moved {
                    bad.push((event, draw, phase, n, moved));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

/// And the sweep can tell: with a confirm delay of 10 ms (below twice the lag), some
/// failovers give two actives (90 of the 240 when written).
#[test]
fn below_the_confirm_rule_the_failover_sweep_finds_two_actives() {
    let mut bad = 0;
    for event in [
        Event::Sigterm,
        Event::Kill,
        Event::HandoverToWest,
        Event::EligibilityLost,
    ] {
        for draw in 1..=4 {
            for phase in (0..100).step_by(7) {
                bad += usize::from(failover(event, ms(phase), draw, ms(10)).0 > 1);
            }
        }
    }
    assert!(bad > 0, "no two actives below the rule");
}

/// Held: partitions of 2.5 s (longer than the lease) that heal for 20 to 400 ms (shorter
/// and longer than the bound) and cut again, three times, then heal for good: the double
/// holder ends within the bound of the last heal, at a lag below and above the renew period.
#[test]
fn partitions_that_heal_and_cut_again_end_within_the_bound_of_the_last_heal() {
    let mut bad = Vec::new();
    for heal_ms in [20u64, 60, 120, 160, 200, 260, 400] {
        for lag_ms in [30u64, 150] {
            let lag = ms(lag_ms);
            let mut r = Replicas::new(["east", "west"], lag);
            let mut east = in_region("a", "sa", "east", &["west"], lag * 2);
            let mut west = in_region("b", "sb", "west", &["east"], lag * 2);
            for c in [&mut east, &mut west] {
                c.timing = Timing {
                    interval: ms(100),
                    lease_duration: ms(1000),
                    renew_deadline: ms(800),
                    confirm_delay: lag * 2,
                    longest_lease: ms(1000),
                };
            }
            let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
            r.run(&mut [&mut a, &mut b], ms(1000), |_, _, _| {});
            for _ in 0..3 {
                r.partitioned = true;
                r.run(&mut [&mut a, &mut b], ms(2500), |_, _, _| {});
                r.partitioned = false;
                r.run(&mut [&mut a, &mut b], ms(heal_ms), |_, _, _| {});
            }
            let healed = a.now.max(b.now);
            let mut last_two = None;
            r.run(&mut [&mut a, &mut b], ms(4000), |_, hs, t| {
                if actives(hs, t) == 2 {
                    last_two = Some(t.since(healed));
                }
            });
            let bound = lag + ms(100) + RTT * 4;
            let one_at_the_end = (a.role() == Role::Active) != (b.role() == Role::Active);
            if last_two.is_some_and(|d| d > bound) || !one_at_the_end {
                bad.push((heal_ms, lag_ms, last_two, a.role(), b.role()));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

/// Finding 5. After a partition heals at a lag below the renew period, the mark that
/// ranks higher does not keep the lease in about half the phases: the lower holder's last
/// renewal is the later write, reaches the higher holder's replica first and its next
/// renewal is refused; the lower one then reads the marks and stops too. Nobody is active
/// for about a lease (1.06 s of a 1 s lease here; 45-60 s with the defaults), then both
/// regions time the last version and race to take it over. docs/regions.md (*Across regions*): the
/// lower mark "stops at once without writing, and the other's renewals then win the lease
/// item everywhere".
#[test]
#[ignore = "a limit (availability, documented in docs/regions.md): after a heal at a lag below the renew period both holders may stop: nobody active for up to a lease"]
fn limit_after_a_heal_both_holders_may_stop_and_nobody_holds_for_a_lease() {
    let mut gaps = Vec::new();
    for phase in (0..100).step_by(9) {
        let lag = ms(30);
        let mut r = Replicas::new(["east", "west"], lag);
        let mut east = in_region("a", "sa", "east", &["west"], lag * 2);
        let mut west = in_region("b", "sb", "west", &["east"], lag * 2);
        for c in [&mut east, &mut west] {
            c.timing = Timing {
                interval: ms(100),
                lease_duration: ms(1000),
                renew_deadline: ms(800),
                confirm_delay: lag * 2,
                longest_lease: ms(1000),
            };
        }
        let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
        b.now = b.now.plus(ms(phase * 7 % 100));
        r.run(&mut [&mut a, &mut b], ms(1000), |_, _, _| {});
        r.partitioned = true;
        r.run(&mut [&mut a, &mut b], ms(2500 + phase), |_, _, _| {});
        assert!(a.role() == Role::Active && b.role() == Role::Active);
        r.partitioned = false;
        let (mut nobody_since, mut gap) = (None, Duration::ZERO);
        r.run(&mut [&mut a, &mut b], ms(4000), |_, hs, t| {
            match (actives(hs, t), nobody_since) {
                (0, None) => nobody_since = Some(t),
                (n, Some(s)) if n > 0 => {
                    gap = gap.max(t.since(s));
                    nobody_since = None;
                }
                _ => {}
            }
        });
        let conflicts = (
            a.core.view().region_conflicts,
            b.core.view().region_conflicts,
        );
        gaps.push((phase, gap, conflicts));
    }
    let none_beyond = ms(100) + ms(30) * 2 + RTT * 4;
    let long: Vec<_> = gaps.iter().filter(|(_, g, _)| *g > none_beyond).collect();
    assert!(
        long.is_empty(),
        "nobody active after the heal for (phase, gap, region conflicts east/west): {long:?}"
    );
}

/// Held: `freeze` and `unfreeze` back to back against either region's replica, at 15
/// phases under 4 jitter draws: never two actives (the freeze may be lost at the other
/// region's replica, last writer wins, but nobody takes over beside the holder). It rests on the
/// confirm delay: with none, 20-odd of these 120 runs gave two actives when written.
#[test]
fn freeze_and_unfreeze_at_either_region_never_give_two_actives() {
    let mut bad = Vec::new();
    for side in [0, 1] {
        for draw in 1..=4 {
            for phase in (0..100).step_by(7) {
                let (n, _) = failover(Event::FreezeUnfreeze(side), ms(phase), draw, ms(60));
                if n > 1 {
                    bad.push((side, draw, phase, n));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

/// Held: a lag spike (400 ms, far above half the 60 ms confirm delay) while east's holder
/// shuts down gives two holders, as documented; once the lag is back to 25 ms the double
/// holder ends within the bound counted with the spike's lag (40 runs: phases x draws).
#[test]
fn a_double_holder_from_a_lag_spike_ends_within_the_bound() {
    let (mut doubled, mut bad) = (0, Vec::new());
    for draw in 1..=4u64 {
        for phase in (0..100).step_by(11) {
            let mut r = Replicas::new(["east", "west"], ms(25));
            r.jitter = ms(5);
            r.seed = draw;
            let confirm = ms(60);
            let east = in_region("a", "sa", "east", &["west"], confirm);
            let west = in_region("b", "sb", "west", &["east"], confirm);
            let (mut a, mut b) = east_holds_then_west_starts(&mut r, east, west);
            b.now = b.now.plus(ms(draw * 37 % 100));
            let mut a2 = r.pod(
                0,
                in_region("a2", "sa2", "east", &["west"], confirm),
                a.now.plus(ms(draw * 61 % 100)),
            );
            r.run(
                &mut [&mut a, &mut a2, &mut b],
                ms(1000) + ms(phase),
                |_, _, _| {},
            );
            r.lag = ms(400);
            a.core.begin_release();
            let mut two = false;
            r.run(&mut [&mut a, &mut a2, &mut b], ms(600), |_, hs, t| {
                two |= actives(hs, t) > 1;
            });
            r.lag = ms(25);
            let spike_end = a2.now.max(b.now);
            let mut last_two = None;
            r.run(&mut [&mut a, &mut a2, &mut b], ms(3000), |_, hs, t| {
                if actives(hs, t) > 1 {
                    last_two = Some(t.since(spike_end));
                }
            });
            doubled += usize::from(two);
            if last_two.is_some_and(|d| d > ms(400) + ms(100) + RTT * 4) {
                bad.push((draw, phase, last_two));
            }
        }
    }
    assert!(
        doubled > 0,
        "the spike never gave two holders: the sweep cannot tell"
    );
    assert!(bad.is_empty(), "{bad:?}");
}
