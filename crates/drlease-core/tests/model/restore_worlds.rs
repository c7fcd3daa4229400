//! Worlds about history that goes stale: a process paused longer than a lease while a
//! restore writes back what it last read (R13), and region marks left above the lease
//! item's epoch by an item deleted and seeded again (R22).

use super::catalog::{faults, one_store};
use super::world::{Faults, Init, Mode, OperatorKind, ProcessKind, Settings, World};

pub fn ci() -> Vec<World> {
    vec![
        paused_past_a_restore(
            "from a holder, equal short settings; a pause (SIGSTOP) of either, a restore",
            0,
            30,
        ),
        seed_over_marks(92),
    ]
}

pub fn deep() -> Vec<World> {
    vec![paused_past_a_restore(
        "deep: from a holder, equal short settings; a pause (SIGSTOP) of either, a restore, a lost message",
        1,
        30,
    )]
}

/// A holder renewing and a candidate that read it; either may be paused (SIGSTOP) for as
/// long as the checker likes, and a restore may write back any version not current for two
/// leases: the version the paused one last read, back under a holder that renewed past it.
/// Without R13 the candidate, resumed, times that version from its read before the pause and
/// takes it over beside the holder.
fn paused_past_a_restore(name: &'static str, network: u8, depth: usize) -> World {
    World {
        // Fewer choices (no moment of asking), and the longest windows there are.
        eager_controllers: true,
        ..one_store(
            name,
            vec![Settings::SHORT, Settings::SHORT],
            Faults {
                process_kinds: &[ProcessKind::Pause],
                operator_kinds: &[OperatorKind::Restore],
                ..faults(network, 1, 1)
            },
            Init::SeedHeld,
            depth,
        )
    }
}

/// MREC, region marks on: the item was deleted and `create-table` seeded it again (epoch 0),
/// but the marks of the earlier item are still there (east's at 6, west's at 7), and no
/// process remembers those epochs. A candidate reads every region's marks before acquiring
/// (R22) and goes above them; without that, its tenure goes below its own region's mark,
/// the mark is refused, the tenure ends without answering active and the next one climbs
/// one epoch a lease: no one active for several leases, past the failover bound.
fn seed_over_marks(depth: usize) -> World {
    World {
        name: "MREC liveness: create-table's seed over region marks an earlier item left (east 6, west 7)",
        cands: vec![Settings::MREC, Settings::MREC],
        operator_lease: 3,
        faults: faults(0, 0, 0),
        init: Init::SeedOverMarks,
        depth,
        liveness: true,
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
