//! Review worlds (review30): handover requests against a holder cut off late in its
//! tenure, beyond the CI set. Run with `DRLEASE_MODEL_DEEP=1 DRLEASE_MODEL_WORLD=review`.

use super::catalog::faults;
use super::world::{CutOff, Faults, Init, Mode, OperatorKind, ProcessKind, Settings, World};

fn world(name: &'static str, init: CutOff, faults: Faults, depth: usize) -> World {
    World {
        name,
        cands: vec![Settings::MREC, Settings::MREC],
        operator_lease: 3,
        faults,
        init: Init::CutOffHolder(init),
        depth,
        liveness: false,
        honour_windows: true,
        mode: Mode::Mrec {
            lag: 1,
            marks: true,
        },
        eager_controllers: true,
        staggered: false,
        twins: false,
    }
}

fn retried(rewrites: u8) -> CutOff {
    CutOff {
        quanta: 2,
        renewals: 2,
        request: true,
        holder_loses_only: true,
        rewrites,
        retry_same_id: true,
    }
}

const HANDOVERS: &[OperatorKind] = &[OperatorKind::Handover];
const REQUESTS_AND_FREEZES: &[OperatorKind] = &[
    OperatorKind::Handover,
    OperatorKind::Freeze,
    OperatorKind::Unfreeze,
];
const PAUSE: &[ProcessKind] = &[ProcessKind::Pause];

/// Sizes (release build, 23 GB machine): retried once, depth 48: 3,099,784 unique states, no
/// violation; retried twice or five times ran out of memory (over 22 GB) at depths 48 and 36.
/// The two operator worlds at depth 30 (DRLEASE_MODEL_DEPTH=30): 1,666,837 and 1,444,016
/// unique, no violation (the replica race, the sanity property, is not reached that shallow).
pub fn worlds() -> Vec<World> {
    vec![
        world(
            "review: request retried once with the same id (SDK retry) behind a renewal; the holder's messages lost",
            retried(1),
            faults(3, 0, 0),
            48,
        ),
        world(
            "review: request retried twice with the same id (SDK retry, 3 attempts) behind renewals; the holder's messages lost",
            retried(2),
            faults(3, 0, 0),
            48,
        ),
        world(
            "review: request retried five times with the same id behind renewals; the holder's messages lost",
            retried(5),
            faults(3, 0, 0),
            48,
        ),
        world(
            "review: cut-off holder, up to three operator handover requests (any target) at any moment; lost messages anywhere",
            CutOff {
                quanta: 2,
                renewals: 2,
                request: false,
                holder_loses_only: false,
                rewrites: 0,
                retry_same_id: false,
            },
            Faults {
                operator_kinds: HANDOVERS,
                ..faults(1, 0, 2)
            },
            40,
        ),
        world(
            "review: cut-off holder, a request on the old version, then operator requests/freeze/unfreeze and a SIGSTOP of either; the holder's messages lost",
            CutOff {
                quanta: 2,
                renewals: 2,
                request: true,
                holder_loses_only: true,
                rewrites: 0,
                retry_same_id: false,
            },
            Faults {
                operator_kinds: REQUESTS_AND_FREEZES,
                process_kinds: PAUSE,
                ..faults(1, 1, 1)
            },
            40,
        ),
    ]
}
