//! A held tenure's stage, one value instead of three fields: where it is between the write
//! that made it the owner and the release that ends it, and so whether it may answer
//! active (docs/design.md, "A tenure's life").
//!
//! Sets nothing in the core: the holder (`holder.rs`) and the marks (`regions.rs`) move a
//! tenure from one stage to the next with these transitions.

use crate::clock::Mono;
use crate::rules::{applies, R14};
use crate::RegionMark;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Stage {
    /// R20: passive until a read sent at or after `at` still shows our version; then the
    /// region mark, if one is owed (R21).
    Confirming { at: Mono, mark: Option<RegionMark> },
    /// R21: confirmed; passive until this region's mark is written.
    Marking(RegionMark),
    /// Confirmed and marked: active while valid.
    Granting,
    /// R14: a release of this tenure was sent (to this target). It may have landed with its
    /// answer lost, and then the next holder is already in: never active again, whatever
    /// eligibility does next.
    Released { to: String },
}

impl Stage {
    /// A new tenure: confirming if it must (`confirm_at`), then marking if it owes a mark.
    pub(super) fn new_tenure(confirm_at: Option<Mono>, mark: Option<RegionMark>) -> Stage {
        match (confirm_at, mark) {
            (Some(at), mark) => Stage::Confirming { at, mark },
            (None, Some(mark)) => Stage::Marking(mark),
            (None, None) => Stage::Granting,
        }
    }

    /// After a renewal landed: a renewal confirms nothing, but never sends a tenure back
    /// to confirming either (none is sent before the confirm read); what it owes it keeps.
    /// A released tenure stays released (R14), even if a renewal were to land after its
    /// release was sent (one call at a time makes that impossible today).
    pub(super) fn renewed(self) -> Stage {
        match self {
            Stage::Confirming {
                mark: Some(mark), ..
            }
            | Stage::Marking(mark) => Stage::Marking(mark),
            Stage::Confirming { mark: None, .. } | Stage::Granting => Stage::Granting,
            released @ Stage::Released { .. } => released,
        }
    }

    /// A read sent at `sent` still showed our version: confirmed if it was sent late enough.
    pub(super) fn read_ours(&mut self, sent: Mono) {
        if let Stage::Confirming { at, mark } = self {
            if sent >= *at {
                *self = Stage::new_tenure(None, mark.take());
            }
        }
    }

    /// The confirm read is due at this time.
    pub(super) fn confirm_at(&self) -> Option<Mono> {
        match self {
            Stage::Confirming { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The mark to write now: confirmed, not yet marked.
    pub(super) fn mark_to_write(&self) -> Option<&RegionMark> {
        match self {
            Stage::Marking(mark) => Some(mark),
            _ => None,
        }
    }

    /// The target of the release this tenure sent.
    pub(super) fn released_to(&self) -> Option<&str> {
        match self {
            // R14 (revert: a sent release is forgotten once eligible again).
            Stage::Released { to } if applies(R14) => Some(to),
            _ => None,
        }
    }

    /// May this tenure answer active (while valid, and not stepping down)?
    pub(super) fn grants(&self) -> bool {
        match self {
            Stage::Granting => true,
            // R14's revert: the released tenure grants again like any other.
            Stage::Released { .. } => !applies(R14),
            Stage::Confirming { .. } | Stage::Marking(_) => false,
        }
    }
}
