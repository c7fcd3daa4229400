//! "Never two actives", proven by deterministic simulation over thousands of seeds.
//!
//! Each seed picks 3-5 candidates and a schedule of faults: delayed requests, writes that
//! land but whose reply is lost, requests that never land or land after the caller gave
//! up, pauses longer than the lease, crashes and restarts with the same identity, graceful
//! stops, store outages, clock-rate drift and (sometimes) two candidates sharing one
//! identity. What each seed draws besides:
//! * settings: in four seeds of five, a rolling change of the configuration: each
//!   candidate either keeps the seed's base settings or draws its own (interval, failure
//!   threshold, renew deadline, confirm delay, write window), anywhere `Timing::validate`
//!   accepts; the operators' commands run with a lease duration of their own;
//! * operators (in most seeds): freeze, unfreeze (also right after a freeze), handover
//!   requests with and without a target, deletion, a table recreated by `create-table`
//!   (which waits the operator's lease), and restores of any version the item ever had, at
//!   any time, some aimed at a holder's own release just after the next holder acquired it
//!   (left out: a version some live process was last shown, and the seed, which nothing
//!   that polls can tell from the real thing);
//! * eligibility flaps (in most seeds): a candidate's controller turns unhealthy and
//!   healthy again at random moments, aimed half the time at the holder, and at a holder
//!   stepping down while its release is in flight or its answer was lost;
//! * affinity (in half the seeds): priorities, failback, an observer;
//! * regions (`sim/topology.rs`, a stream of its own: seeds drawn with one store run as
//!   before, event for event): half the seeds one store; a sixth each a multi-Region
//!   eventually consistent table (MREC) with 2 replicas, with 3, and a strongly consistent
//!   one (MRSC, one linearizable copy, 3 regions). Each candidate lives in a region. On
//!   MREC it talks to its region's replica, which checks every conditional write against
//!   its own copy; every landed write (lease item, claims, region marks, handover requests,
//!   operators' writes) reaches the other replicas after a drawn lag plus jitter, and last
//!   writer wins by the origin's write time (ties by region, then write order); the cores
//!   run with region marks (`--peer-regions`); operators write to the holder's region for a
//!   handover, to any region otherwise. Three MREC seeds of five are within docs/regions.md's
//!   rule (every candidate's confirm delay drawn from just above `2 x (lag + jitter)` to what
//!   `Timing::validate` accepts); the others add lag spikes above half the confirm delay,
//!   partitions (a region's replication held, delivered after the heal; some heal only
//!   with the quiet phase), or both. On MRSC a region is cut off at times: every call from
//!   it fails as unavailable.
//!
//! Checked after every event: at most one candidate answers active or holds a write window;
//! epochs strictly increase from one owner to the next; an observer never answers active.
//! On MREC within the rule every one of those holds too (only the epochs handed out may
//! repeat: two regions can both write max + 1, which the confirm delay keeps from ever
//! answering active). Outside the rule two actives are excused while replication is
//! disturbed and then for docs/regions.md's stated bound: one lag (with jitter) + one renew
//! period + the round trips of the renewal and of the marks read (+ the write window for
//! two writers), counted from when replication works again and the holders' own calls go
//! through (a failed or slow call, or a pause, starts it again). Then, with faults off,
//! every partition healed and everyone eligible, a single holder must have settled (a double
//! holder never persists), the settled holder is killed and a healthy candidate must be
//! active within the longest lease + the longest interval + two store round trips (adjusted
//! for drift, confirm delays and failback; on MREC + the lag and jitter, a marks read and a
//! mark write). A failing seed says which known hole it fits (`sim/blame.rs`) and its mode;
//! the run lists the failing seeds by kind, and its figures by mode.
//!
//! Replay one seed:  DRLEASE_SIM_SEED=123 DRLEASE_SIM_TRACE=1 cargo test --test simulation -- --nocapture
//! A longer run:     DRLEASE_SIM_SEEDS=100000 cargo test --release --test simulation
//! The old draws:    DRLEASE_SIM_OLD_DRAWS=1 (no rolling change, flaps, restores of any
//!                   version or regions: the runs before them, event for event);
//!                   DRLEASE_SIM_DRAWS=settings,flaps,restores,regions keeps only the new
//!                   draws named.

/// Only the docs writer of the binary crate's tests: the simulation needs no moto,
/// sidecars or proxies.
#[path = "../../../tests/common/docs.rs"]
mod docs;
mod sim;

use std::time::{Duration, Instant};

use sim::{Figures, Scenario, Sim, Topology};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `DRLEASE_SIM_OLD_DRAWS=1`: every seed as drawn before rolling changes, eligibility flaps,
/// restores of any version and regions (the old runs, event for event). `DRLEASE_SIM_DRAWS`
/// names the new draws to keep (`settings`, `flaps`, `restores`, `regions`,
/// comma-separated): what tells which of them a failure needs.
fn scenario(seed: u64) -> Scenario {
    let mut sc = Scenario::from_seed(seed);
    sc.topology.marks = std::env::var("DRLEASE_SIM_NO_MARKS").is_err();
    if std::env::var("DRLEASE_SIM_OLD_DRAWS").is_ok_and(|v| v == "1") {
        return sc.old_draws();
    }
    let Ok(draws) = std::env::var("DRLEASE_SIM_DRAWS") else {
        return sc;
    };
    let mut before = sc.clone().old_draws();
    for draw in draws.split(',') {
        match draw.trim() {
            "settings" => {
                before.settings = sc.settings.clone();
                before.operator_lease = sc.operator_lease;
                before.chaos = sc.chaos;
            }
            "flaps" => before.flaps = sc.flaps,
            "restores" => before.restore_any = sc.restore_any,
            "regions" => {}
            other => panic!("DRLEASE_SIM_DRAWS: unknown draw {other:?}"),
        }
    }
    // Last: on MREC it refits the confirm delays of the settings kept to the rule.
    if draws.split(',').any(|d| d.trim() == "regions") {
        before.topology = Topology::draw(sc.seed, &mut before.settings);
    }
    before
}

fn run_seed(seed: u64) -> Result<sim::Outcome, sim::Violation> {
    Sim::new(scenario(seed)).run()
}

#[test]
fn never_two_actives_and_failover_within_the_bound() {
    if let Some(seed) = env_u64("DRLEASE_SIM_SEED") {
        let sc = scenario(seed);
        eprintln!("{sc:#?}");
        match run_seed(seed) {
            Ok(o) => eprintln!("seed {seed}: ok {o:?}"),
            Err(v) => panic!("seed {seed}: {v:?}"),
        }
        return;
    }
    let seeds = env_u64("DRLEASE_SIM_SEEDS").unwrap_or(2000);
    let first = env_u64("DRLEASE_SIM_SEED_START").unwrap_or(0);
    let mut run = Figures::default();
    for seed in first..first + seeds {
        let sc = scenario(seed);
        let label = sc.topology.label();
        let started = Instant::now();
        let result = Sim::new(sc).run();
        run.add(label, started.elapsed(), result);
    }
    let by_mode = run.by_mode();
    for line in &by_mode {
        eprintln!("  {line}");
    }
    let (median, max) = run.failover_ratios();
    let (events, owner_changes) = (run.events, run.owner_changes);
    eprintln!(
        "simulation: {seeds} seeds, {events} events, {owner_changes} owner changes; \
         failover / bound: median {median:.2}, max {max:.2}"
    );
    if std::env::var("DRLEASE_SIM_WRITE_DOCS").is_ok_and(|v| v == "1") {
        let report = format!(
            "Seeds {first} to {}: {seeds} seeds, {events} events, {owner_changes} owner changes, \
             {} failed. Dual-active instants: {}. Failover after the settled holder is killed, \
             as a fraction of its bound: median {median:.2}, max {max:.2}.\n\n\
             By mode:\n\n{}\n\n\
             Reproduce: `DRLEASE_SIM_SEEDS={seeds} DRLEASE_SIM_SEED_START={first} \
             DRLEASE_SIM_WRITE_DOCS=1 cargo test --release --test simulation never_two -- --nocapture`",
            first + seeds - 1,
            run.failures.len(),
            run.failures
                .iter()
                .filter(|v| v.what.contains("two actives"))
                .count(),
            by_mode
                .iter()
                .map(|l| format!("- {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        docs::write_doc_section("reliability.md", "simulation", &report);
    }
    run.fail_on_failures(seeds);
}

/// The checker must be able to fail: with a renew deadline longer than the lease (which the
/// config refuses), a paused or slow holder outlives its lease and the simulation has to
/// catch two actives.
#[test]
fn the_checker_catches_an_unsafe_renew_deadline() {
    let caught = (0..300).find_map(|seed| {
        // Shared settings, no flaps, restores as before: only the unsafe deadline is new.
        let mut sc = Scenario::from_seed(seed).old_draws();
        for s in sc.settings.iter_mut() {
            s.timing.renew_deadline = s.timing.lease_duration * 2;
            s.call_timeout = s.timing.interval;
        }
        Sim::new(sc)
            .run()
            .err()
            .filter(|v| v.what.contains("two actives") || v.what.contains("two writers"))
    });
    let v = caught.expect("no seed exposed the unsafe configuration: the checker is blind");
    eprintln!("caught as expected: seed {} {}", v.seed, v.what);
}

/// The window checker must be able to fail too: a core never told about the windows it
/// granted releases while the controller may still write, and the next holder is let in.
#[test]
fn the_checker_catches_a_release_inside_a_granted_window() {
    let caught = (0..300).find_map(|seed| {
        let mut sc = Scenario::from_seed(seed).old_draws();
        sc.honour_windows = false;
        Sim::new(sc)
            .run()
            .err()
            .filter(|v| v.what.contains("two writers"))
    });
    let v = caught.expect("no seed exposed releases inside windows: the checker is blind");
    eprintln!("caught as expected: seed {} {}", v.seed, v.what);
}

/// The observer check must be able to fail: cores never told they are observers acquire,
/// and the simulation has to say so.
#[test]
fn the_checker_catches_an_observer_that_acquires() {
    let caught = (0..300).find_map(|seed| {
        let mut sc = Scenario::from_seed(seed).old_draws();
        if !sc.affinity.iter().any(|a| a.never_acquire) {
            return None;
        }
        sc.tell_observers = false;
        Sim::new(sc)
            .run()
            .err()
            .filter(|v| v.what.contains("observer"))
    });
    let v = caught.expect("no seed exposed an acquiring observer: the checker is blind");
    eprintln!("caught as expected: seed {} {}", v.seed, v.what);
}

/// The regions' checks must be able to fail: on MREC within the rule but with no confirm
/// delay, two regions' acquires of the same moment both answer active.
#[test]
fn the_checker_catches_a_confirm_delay_below_the_rule() {
    let caught = (0..300).find_map(|seed| {
        let mut sc = Scenario::from_seed(seed);
        if sc.topology.mode != sim::Mode::Mrec || !sc.topology.within_rule() {
            return None;
        }
        for s in sc.settings.iter_mut() {
            s.timing.confirm_delay = Duration::ZERO;
        }
        Sim::new(sc)
            .run()
            .err()
            .filter(|v| v.what.contains("two actives") || v.what.contains("two writers"))
    });
    let v = caught.expect("no seed exposed a confirm delay below the rule: the checker is blind");
    eprintln!("caught as expected: seed {} {}", v.seed, v.what);
}
