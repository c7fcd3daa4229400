//! The worlds across regions (docs/regions.md, "Across regions"): MREC with the confirm delay at
//! twice the lag, MREC partitions and their heal, MRSC with a region cut off, and the
//! negative control with the confirm delay below twice the lag.

use super::catalog::{faults, ALL_PROCESS, CRASHES};
use super::world::{Faults, Init, Mode, OperatorKind, Settings, Split, World};

/// One quantum of replication lag: writes reach the other replica within 100 ms.
const LAG: u32 = 1;

fn mrec(marks: bool) -> Mode {
    Mode::Mrec { lag: LAG, marks }
}

fn world(name: &'static str, cands: Vec<Settings>, faults: Faults, mode: Mode) -> World {
    World {
        name,
        cands,
        operator_lease: 3,
        faults,
        init: Init::Seed,
        depth: 0,
        liveness: false,
        honour_windows: true,
        mode,
        eager_controllers: true,
        staggered: false,
        twins: false,
    }
}

pub fn ci() -> Vec<World> {
    use Settings as S;
    vec![
        World {
            depth: 30,
            ..world(
                "MREC within the rules (lag 1, confirm 3: above twice the lag): both start at once",
                vec![S::MREC, S::MREC],
                faults(0, 0, 0),
                mrec(true),
            )
        },
        World {
            depth: 26,
            ..world(
                "MREC within the rules: both start at once; kill or SIGTERM",
                vec![S::MREC, S::MREC],
                Faults {
                    process_kinds: CRASHES,
                    ..faults(0, 1, 0)
                },
                mrec(true),
            )
        },
        World {
            depth: 44,
            staggered: true,
            twins: false,
            ..world(
                "MREC within the rules: the second region's pod starts at any moment",
                vec![S::MREC, S::MREC],
                faults(0, 0, 0),
                mrec(true),
            )
        },
        World {
            depth: 26,
            ..world(
                "MREC within the rules: both start at once; a lost message",
                vec![S::MREC, S::MREC],
                faults(1, 0, 0),
                mrec(true),
            )
        },
        operator_handover(),
        World {
            depth: 28,
            ..world(
                "MREC partitioned from the start, then the heal: both hold, the lower mark stops within lag + renew period",
                vec![S::MREC, S::MREC],
                Faults {
                    split: Split::HealingNow,
                    ..faults(0, 0, 0)
                },
                mrec(true),
            )
        },
        World {
            depth: 18,
            ..world(
                "MRSC: a region cut off or a write conflict; a lost message, eligibility, kill, SIGTERM",
                vec![S::SHORT, S::SHORT],
                Faults {
                    region: 1,
                    process_kinds: ALL_PROCESS,
                    ..faults(1, 1, 0)
                },
                Mode::Mrsc,
            )
        },
    ]
}

/// An operator's handover request, written to region a's replica whoever holds (so at times
/// to the other region's): a whole-item write there, under last writer wins.
fn operator_handover() -> World {
    World {
        depth: 30,
        ..world(
            "MREC within the rules: both start at once; an operator's handover request at region a's replica",
            vec![Settings::MREC, Settings::MREC],
            Faults {
                operator_kinds: &[OperatorKind::Handover],
                ..faults(0, 0, 1)
            },
            mrec(true),
        )
    }
}

/// Failover under MREC: someone active within lease + interval + confirm delay + lag after a
/// kill -9 or SIGTERM.
fn liveness(depth: usize) -> World {
    World {
        depth,
        liveness: true,
        ..world(
            "MREC liveness: no faults but a kill -9 or SIGTERM",
            vec![Settings::MREC, Settings::MREC],
            Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            mrec(true),
        )
    }
}

pub fn deep() -> Vec<World> {
    use Settings as S;
    vec![
        liveness(64),
        World {
            depth: 36,
            ..world(
                "deep: MREC partitioned, both holding, the heal at any moment",
                vec![S::MREC, S::MREC],
                Faults {
                    split: Split::BothHolding,
                    ..faults(0, 0, 0)
                },
                mrec(true),
            )
        },
        World {
            depth: 34,
            staggered: true,
            twins: false,
            ..world(
                "deep: MREC within the rules, the second pod starts at any moment; a lost message, kill or SIGTERM",
                vec![S::MREC, S::MREC],
                Faults {
                    process_kinds: CRASHES,
                    ..faults(1, 1, 0)
                },
                mrec(true),
            )
        },
    ]
}

/// The negative controls across regions: with the confirm delay at one lag, two acquires
/// that land on the two replicas at once both answer active; at exactly twice the lag, so
/// do two acquires one lag apart, every replication taking the longest it may.
pub fn negative_controls() -> Vec<World> {
    use Settings as S;
    vec![
        World {
            depth: 26,
            ..world(
                "negative control: MREC with a confirm delay of one lag, both start at once",
                vec![S::MREC_HASTY, S::MREC_HASTY],
                faults(0, 0, 0),
                mrec(true),
            )
        },
        World {
            depth: 40,
            staggered: true,
            twins: false,
            ..world(
                "negative control: MREC with a confirm delay of exactly twice the lag, staggered starts",
                vec![S::MREC_TWICE, S::MREC_TWICE],
                faults(0, 0, 0),
                mrec(true),
            )
        },
    ]
}
