//! The worlds the test runs: the CI set, the deep set, and the negative control.

use super::world::{Faults, Init, Mode, OperatorKind, ProcessKind, Settings, Split, World};

pub const ALL_PROCESS: &[ProcessKind] = &[
    ProcessKind::Eligibility,
    ProcessKind::Kill,
    ProcessKind::Term,
];
pub const CRASHES: &[ProcessKind] = &[ProcessKind::Kill, ProcessKind::Term];
const FREEZES: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
];
const DELETIONS: &[OperatorKind] = &[OperatorKind::Delete, OperatorKind::Seed];
const MAINTENANCE: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
    OperatorKind::Delete,
    OperatorKind::Seed,
];
const ALL_OPERATOR: &[OperatorKind] = &[
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
    OperatorKind::Handover,
    OperatorKind::Delete,
    OperatorKind::Seed,
    OperatorKind::Restore,
];

pub fn faults(network: u8, process: u8, operator: u8) -> Faults {
    Faults {
        network,
        process,
        process_kinds: ALL_PROCESS,
        operator,
        operator_kinds: MAINTENANCE,
        slow: false,
        region: 0,
        split: Split::No,
    }
}

/// The CI run: two candidates, small budgets, depths that finish in about two minutes of
/// a debug build.
pub fn ci_worlds() -> Vec<World> {
    use Settings as S;
    let mut worlds = vec![
        World {
            name: "equal short settings; lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: faults(1, 2, 0),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name:
                "long and short settings; operator (short settings) freezes, unfreezes, hands over",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: FREEZES,
                ..faults(1, 0, 2)
            },
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "long and short settings; operator (short settings) deletes, create-table seeds",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: DELETIONS,
                ..faults(1, 0, 2)
            },
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "short and long settings; lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::LONG],
            operator_lease: 3,
            faults: faults(1, 1, 0),
            init: Init::Seed,
            depth: 20,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "equal settings with a confirm delay; operator with the same settings",
            cands: vec![S::CONFIRM, S::CONFIRM],
            operator_lease: S::CONFIRM.lease,
            faults: faults(1, 0, 2),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "long and short settings; restores from a backup, lost messages",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                operator_kinds: &[OperatorKind::Restore],
                ..faults(1, 0, 2)
            },
            init: Init::Backup,
            depth: 18,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "epochs near the top; SIGTERM and restart",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::TopEpoch,
            depth: 30,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "liveness: no faults but a kill -9 or SIGTERM, long and short settings",
            cands: vec![S::LONG, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::Seed,
            depth: 40,
            liveness: true,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        one_store(
            "from a holder, equal short settings; its controller's health flips, lost messages",
            vec![S::SHORT, S::SHORT],
            Faults {
                process_kinds: &[ProcessKind::Eligibility],
                ..faults(1, 2, 0)
            },
            Init::SeedHeld,
            22,
        ),
        World {
            twins: true,
            ..one_store(
                "twins: two processes under one identity, equal short settings; lost messages, eligibility, kill, SIGTERM",
                vec![S::SHORT, S::SHORT],
                faults(1, 1, 0),
                Init::Seed,
                20,
            )
        },
        one_store(
            "a holder long gone, equal short settings: both time it out at once; lost messages",
            vec![S::SHORT, S::SHORT],
            faults(1, 0, 0),
            Init::Orphan,
            28,
        ),
        one_store(
            "from a holder, equal short settings at the longest renew deadline allowed; lost messages",
            vec![S::SHORT.longest_deadline_allowed(); 2],
            faults(2, 0, 0),
            Init::SeedHeld,
            22,
        ),
        World {
            operator_lease: 4,
            liveness: true,
            ..one_store(
                "liveness: from a holder that renews at half its deadline; kill -9 or SIGTERM",
                vec![S::HALF, S::HALF],
                Faults {
                    process_kinds: CRASHES,
                    ..faults(0, 1, 0)
                },
                Init::SeedHeld,
                30,
            )
        },
    ];
    worlds.extend(super::region_worlds::ci());
    worlds.extend(super::restore_worlds::ci());
    worlds.extend(super::lww_worlds::ci());
    worlds
}

/// `DRLEASE_MODEL_DEEP=1` (with `--release`): three candidates with every kind of fault
/// (one of each class, so it stays within memory), and two-candidate worlds deeper, with a
/// slow network (late answers, requests landing after their caller gave up) and restores.
pub fn deep_worlds() -> Vec<World> {
    use Settings as S;
    let one_each = Faults {
        network: 1,
        process: 1,
        process_kinds: ALL_PROCESS,
        operator: 1,
        operator_kinds: MAINTENANCE,
        slow: false,
        region: 0,
        split: Split::No,
    };
    let mut worlds = vec![
        World {
            name: "deep: three candidates, short, long, confirm; one fault of each class",
            cands: vec![S::SHORT, S::LONG, S::CONFIRM],
            operator_lease: S::SHORT.lease,
            faults: one_each.clone(),
            init: Init::Seed,
            depth: 18,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "deep: three equal candidates from no item; one fault of each class",
            cands: vec![S::SHORT, S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: one_each,
            init: Init::Absent,
            depth: 22,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "deep: equal short settings; slow network, lost messages, eligibility, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                slow: true,
                ..faults(2, 2, 0)
            },
            init: Init::Seed,
            depth: 16,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "deep: equal short settings; every operator write and restores from a backup, kill, SIGTERM",
            cands: vec![S::SHORT, S::SHORT],
            operator_lease: S::SHORT.lease,
            faults: Faults {
                process_kinds: CRASHES,
                operator_kinds: ALL_OPERATOR,
                ..faults(0, 2, 2)
            },
            init: Init::Backup,
            depth: 16,
            liveness: false,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
        World {
            name: "deep liveness: three candidates, kill -9 or SIGTERM",
            cands: vec![S::CONFIRM, S::SHORT, S::SHORT],
            operator_lease: 3,
            faults: Faults {
                process_kinds: CRASHES,
                ..faults(0, 1, 0)
            },
            init: Init::Seed,
            depth: 44,
            liveness: true,
            honour_windows: true,
            mode: Mode::OneStore,
            eager_controllers: false,
            staggered: false,
            twins: false,
        },
    ];
    worlds.extend(super::region_worlds::deep());
    worlds.extend(super::restore_worlds::deep());
    worlds.extend(super::lww_worlds::deep());
    worlds.extend(super::request_worlds::worlds());
    worlds
}

/// The negative control: a core never told of the windows its gate granted releases while
/// one is open, and the next holder's window overlaps it. The checker must find that.
pub fn blind_to_windows() -> World {
    World {
        name: "negative control: the core is not told of the windows granted",
        cands: vec![Settings::SHORT, Settings::SHORT],
        operator_lease: 3,
        faults: Faults {
            process_kinds: CRASHES,
            ..faults(0, 1, 0)
        },
        init: Init::Seed,
        // The claim before taking the release at once costs two more actions.
        depth: 20,
        liveness: false,
        honour_windows: false,
        mode: Mode::OneStore,
        eager_controllers: false,
        staggered: false,
        twins: false,
    }
}

/// A world on one store (one write region) with the usual defaults: the operator's lease
/// 3, safety only, windows honoured, every candidate starting at once, one identity each.
pub fn one_store(
    name: &'static str,
    cands: Vec<Settings>,
    faults: Faults,
    init: Init,
    depth: usize,
) -> World {
    World {
        name,
        cands,
        operator_lease: 3,
        faults,
        init,
        depth,
        liveness: false,
        honour_windows: true,
        mode: Mode::OneStore,
        eager_controllers: false,
        staggered: false,
        twins: false,
    }
}
