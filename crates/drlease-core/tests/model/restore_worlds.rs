//! Worlds about history that goes stale: a process paused longer than a lease while a
//! restore writes back what it last read (R13).

use super::catalog::{faults, one_store};
use super::world::{Faults, Init, OperatorKind, ProcessKind, Settings, World};

pub fn ci() -> Vec<World> {
    vec![paused_past_a_restore(
        "from a holder, equal short settings; a pause (SIGSTOP) of either, a restore",
        0,
        30,
    )]
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
