//! MREC worlds about last writer wins late in a tenure (R24, R19, R25, R27, R28): they start from a
//! holder in west whose calls were lost for a few quanta (`Init::CutOffHolder`,
//! `cut_off_holder.rs`), while east's candidate times its last write from when it first
//! saw it, 0.0 s, and may take it over at 0.8 s.

use super::catalog::faults;
use super::world::{CutOff, Faults, Init, Mode, OperatorKind, Settings, World};

/// The holder acquired at 0.0 s and answers active from 0.3 s (its confirm delay); its
/// calls are lost from then until 0.7 s, past its renewal budget (99% of the lease less
/// half the confirm delay: 0.642 s after the acquire was sent), with its first renewal
/// unsettled. Its next attempt may land just before east's takeover, at the end of the
/// lease, and reach east after it: only the budget (R24) keeps it from counting.
const PAST_THE_BUDGET: CutOff = CutOff {
    quanta: 4,
    renewals: 0,
    request: false,
    holder_loses_only: false,
    rewrites: 0,
    retry_same_id: false,
};

/// A world from a cut-off holder (`init`), two MREC candidates, lag 1.
pub fn world(name: &'static str, init: CutOff, faults: Faults, marks: bool, depth: usize) -> World {
    World {
        name,
        cands: vec![Settings::MREC, Settings::MREC],
        operator_lease: 3,
        faults,
        init: Init::CutOffHolder(init),
        depth,
        liveness: false,
        honour_windows: true,
        mode: Mode::Mrec { lag: 1, marks },
        eager_controllers: true,
        staggered: false,
        twins: false,
    }
}

pub fn ci() -> Vec<World> {
    vec![
        // R25: a request on the version the holder renewed since keeps its clock: two
        // actives in 29 actions.
        request_written(),
        // R27: the same request missed by a lost read; a takeover that expects only the
        // version lands over it: two actives in 35 actions.
        request_on_the_previous_version(),
        // R28: the same request written again five times behind the holder's renewals, told
        // apart by nothing but its id: two actives in 34 actions.
        request_rewritten_to_the_same_target(),
        // R24: a renewal past the budget counted gives two actives in 30 actions.
        world(
            "MREC from a holder in west cut off until past its renewal budget; lost messages",
            PAST_THE_BUDGET,
            faults(2, 0, 0),
            true,
            32,
        ),
        // R19: the same, with a confirm delay and no --peer-regions (no region marks, as
        // during their rollout): the guards must be on all the same. No partition: without
        // marks a double holder outlives a heal (a known limit, `across_regions.rs`
        // `limit_a_pod_without_peer_regions_...`).
        world(
            "MREC, a confirm delay without --peer-regions (no region marks), from a holder in west cut off until past its renewal budget; lost messages",
            PAST_THE_BUDGET,
            faults(2, 0, 0),
            false,
            28,
        ),
    ]
}

/// R27's case, found by this world with every rule in before R27 existed: the holder's calls are lost from 0.3 s to 0.5 s; its unsettled renewal is resent and
/// lands at 0.5 s, within its budget, and its next one at 0.6 s; then an operator's
/// handover request to east's candidate is written at east's replica on the version there,
/// the acquire, before either renewal arrives: the later write, it drops both everywhere
/// (R25's case). R25 has east's candidate time that version again once it sees the
/// request, but its read at 0.6 s is lost, and at 0.8 s it takes over on the clock it
/// started at 0.0 s, before the holder's renewal of 0.7 s reaches east; the holder, its
/// next calls lost, answers active until 1.5 s, east from 1.1 s. With R27 the takeover
/// expects the item as read, without a request: refused, east reads, sees the request and
/// times the version again (R25).
fn request_on_the_previous_version() -> World {
    world(
        "MREC from a holder in west cut off until late in its renewal budget, two renewals landed, a handover request at east's replica on the version before them; lost messages",
        CutOff {
            quanta: 2,
            renewals: 2,
            request: true,
            holder_loses_only: false,
            rewrites: 0,
            retry_same_id: false,
        },
        faults(2, 0, 0),
        true,
        // 35 actions catch R27; 48 reach a race of the two replicas (the sanity property),
        // which with R27 comes after the refused takeover and the read that follows it.
        48,
    )
}

/// R25's case without the finding's lost read: two renewals of the holder landed within
/// its budget, at 0.5 s and 0.6 s, and an operator's handover request is written at east's
/// replica on the version before them (the acquire) before they get there; only the
/// holder's messages may be lost from then on, so east's candidate reads every quantum and
/// sees the request. Without R25 it takes over at 0.8 s on the clock it started at 0.0 s.
fn request_seen(request_written: bool) -> CutOff {
    CutOff {
        quanta: 2,
        renewals: 2,
        request: request_written,
        holder_loses_only: true,
        rewrites: 0,
        retry_same_id: false,
    }
}

/// R25, with the request already written when the checker starts.
fn request_written() -> World {
    world(
        "MREC from a holder in west cut off until late in its renewal budget, two renewals landed, a handover request at east's replica on the version before them; the holder's messages lost",
        request_seen(true),
        faults(2, 0, 0),
        true,
        // 29 actions catch R25; 48 reach east's takeover on the clock it restarted at
        // 0.6 s (1.4 s), the race the sanity property asks for.
        48,
    )
}

/// The same, the checker choosing when the request lands (about 20 times the states).
pub fn deep() -> Vec<World> {
    vec![world(
        "deep: MREC from a holder in west cut off until late in its renewal budget, two renewals landed, an operator's handover request at east's replica at any moment; the holder's messages lost",
        request_seen(false),
        Faults {
            operator_kinds: &[OperatorKind::Handover],
            ..faults(2, 0, 1)
        },
        true,
        48,
    )]
}

/// R28's case (found by review as a limit of R27): the same handover request written again
/// at east's replica five times, each right after a renewal of the holder landed at west
/// and before it got to east. Under last writer wins each drops the renewal behind it.
/// Were the request identical to the one on the item, east's candidate could see nothing
/// change (R25 would not re-time the version, R27's condition would still match): it would
/// time the version from its first sight of the request and take over while the holder is
/// valid. Each write has an id of its own (R28), so each is a new request: re-timed, and a
/// takeover expecting an earlier one is refused. Three lost messages of the holder.
fn request_rewritten_to_the_same_target() -> World {
    world(
        "MREC from a holder in west cut off late in its budget, a handover request at east's replica written again five times behind its renewals; the holder's messages lost",
        CutOff {
            quanta: 2,
            renewals: 2,
            request: true,
            holder_loses_only: true,
            rewrites: 5,
            retry_same_id: false,
        },
        faults(3, 0, 0),
        true,
        48,
    )
}
