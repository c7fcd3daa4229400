//! The writes operators make, as pure requests: `drlease freeze`, `unfreeze`, `handover`
//! and the seed `create-table` writes. The CLI sends them; the simulation applies the very
//! same requests at random times, as one more writer the candidates must survive.
//!
//! None of them makes the item acquirable at once: only a holder's own release does (see
//! the lease core). An unfreeze records the frozen version it replaced (`releasedFrom`),
//! so a candidate that saw that version keeps timing from when it first saw it: a lease
//! frozen for longer than a lease duration is acquired at the next read after unfreezing.

use super::record::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, WriteKind, WriteRequest, FROZEN_OWNER,
    HANDOVER_REASON_FAILBACK,
};
use crate::rules::{applies, R17};

/// The lease an operator's write declares: never shorter than what the item declared.
/// The holder behind the item may have longer settings than the operator (any rolling
/// change of `waitTimeInSeconds`); a candidate times the new version by what it declares,
/// so declaring the operator's own shorter lease would let it take over while that holder
/// is still inside its validity.
fn declared_lease_ms(current: Option<&LeaseRecord>, lease_ms: u64) -> u64 {
    current
        .and_then(|r| r.lease_duration_ms)
        .unwrap_or(0)
        .max(lease_ms)
}

/// Freezes the lease (Admiral's `SKIP-LEASE-POD`), conditional on the item as read.
pub fn freeze(current: Option<&LeaseRecord>, version: String, lease_ms: u64) -> WriteRequest {
    WriteRequest {
        kind: WriteKind::Freeze,
        expect: match current {
            Some(r) => Expect::Version(r.version_key()),
            None => Expect::Absent,
        },
        new: LeaseState {
            owner: FROZEN_OWNER.to_string(),
            session: String::new(),
            version,
            epoch: current.and_then(|r| r.epoch).unwrap_or(0),
            lease_duration_ms: declared_lease_ms(current, lease_ms),
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: None,
            priority: None,
        },
    }
}

/// Releases a frozen lease, conditional on the frozen version, and names that version so
/// candidates keep timing it rather than acquiring at once.
pub fn unfreeze(frozen: &LeaseRecord, version: String, lease_ms: u64) -> WriteRequest {
    WriteRequest {
        kind: WriteKind::Unfreeze,
        expect: Expect::Version(frozen.version_key()),
        new: LeaseState {
            owner: String::new(),
            session: String::new(),
            version,
            epoch: frozen.epoch.unwrap_or(0),
            lease_duration_ms: declared_lease_ms(Some(frozen), lease_ms),
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: Some(frozen.version_key().marker()),
            priority: None,
        },
    }
}

/// The item `create-table` writes into a table it has just created: released, epoch 0,
/// replacing nothing, so the first candidate acquires it at once.
pub fn seed(version: String, lease_ms: u64) -> WriteRequest {
    WriteRequest {
        kind: WriteKind::Seed,
        expect: Expect::Absent,
        new: LeaseState {
            owner: String::new(),
            session: String::new(),
            version,
            epoch: 0,
            lease_duration_ms: lease_ms,
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: Some(String::new()),
            priority: None,
        },
    }
}

/// Asks the holder to hand the lease over: sets `handoverTo` (and `handoverReason`) on the
/// lease item without changing its version, so the holder's next renewal still matches
/// and sees the request in the item it gets back. Made by `drlease handover` and, for
/// itself, by a preferred candidate failing back; both stores encode [`Self::apply_to`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HandoverRequest {
    /// Applies only while the item is still at this version and held by a candidate (not
    /// released, not frozen).
    pub expect_version: String,
    /// Who may acquire once the holder releases (`*`: anyone but the holder).
    pub target: String,
    /// A failback: marked as such, and never replaces a live request already on the item
    /// (an operator's handover wins over automatic failback).
    pub failback: bool,
    /// Fresh for every write of a request (`handoverId`), even of the same target again:
    /// across regions a request rewritten behind the holder's renewals drops them (last
    /// writer wins), and only a new id tells a candidate that it was written again.
    pub id: String,
}

impl HandoverRequest {
    /// An operator's request (`drlease handover`), written with the fresh token `id`.
    pub fn by_operator(expect_version: &str, target: &str, id: &str) -> Self {
        HandoverRequest {
            expect_version: expect_version.to_string(),
            target: target.to_string(),
            failback: false,
            id: id.to_string(),
        }
    }

    /// Applies the request to `record` as the store would; returns whether it applied.
    pub fn apply_to(&self, record: &mut LeaseRecord) -> bool {
        if !record.is_held() || record.version.as_deref() != Some(self.expect_version.as_str()) {
            return false;
        }
        if self.failback && record.has_live_request() {
            return false;
        }
        record.handover_to = Some(self.target.clone());
        record.handover_reason = self.failback.then(|| HANDOVER_REASON_FAILBACK.to_string());
        record.handover_id = Some(self.id.clone());
        if !applies(R17) {
            // R17 (revert: the request is a release made for the holder, open to its
            // target at once).
            record.released_by = record.owner_session.take();
            record.released_from = record.version.clone();
            record.handover_from = Some(std::mem::take(&mut record.owner));
            record.version = record.version.as_ref().map(|v| format!("{v}.released"));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frozen() -> LeaseRecord {
        LeaseRecord {
            owner: FROZEN_OWNER.into(),
            version: Some("f1".into()),
            epoch: Some(4),
            ..Default::default()
        }
    }

    #[test]
    fn an_unfreeze_names_the_frozen_version_and_never_claims_a_holders_release() {
        let req = unfreeze(&frozen(), "u1".into(), 1000);
        let item = req.apply(Some(&frozen()), 0);
        assert!(item.is_released());
        assert_eq!(item.released_from.as_deref(), Some("f1"));
        assert_eq!(item.released_by, None);
        assert_eq!(item.epoch, Some(4), "an unfreeze keeps the epoch");
        assert!(!item.is_seed());
    }

    /// Issue 19, item 2: `freeze` wrote the operator's own lease and `unfreeze` copied it,
    /// so a candidate timed a holder with 6 s settings by an operator's 600 ms.
    #[test]
    fn operators_never_declare_a_shorter_lease_than_the_item_did() {
        let held = LeaseRecord {
            owner: "a".into(),
            version: Some("v".into()),
            lease_duration_ms: Some(6000),
            ..Default::default()
        };
        let frozen = freeze(Some(&held), "f".into(), 600).apply(Some(&held), 0);
        assert_eq!(frozen.lease_duration_ms, Some(6000));
        let released = unfreeze(&frozen, "u".into(), 600).apply(Some(&frozen), 0);
        assert_eq!(released.lease_duration_ms, Some(6000));
        // A longer operator lease is kept: the longest anyone could be timing by.
        let longer = freeze(Some(&held), "f".into(), 9000).apply(Some(&held), 0);
        assert_eq!(longer.lease_duration_ms, Some(9000));
    }

    #[test]
    fn the_seed_is_released_at_epoch_zero_and_only_into_an_empty_slot() {
        let req = seed("s".into(), 1000);
        assert_eq!(req.expect, Expect::Absent);
        assert!(req.apply(None, 0).is_seed());
    }

    #[test]
    fn a_handover_request_needs_a_held_item_at_that_version() {
        let mut held = LeaseRecord {
            owner: "a".into(),
            version: Some("v".into()),
            ..Default::default()
        };
        assert!(!HandoverRequest::by_operator("other", "b", "h1").apply_to(&mut held));
        assert!(HandoverRequest::by_operator("v", "b", "h1").apply_to(&mut held));
        assert_eq!(held.handover_to.as_deref(), Some("b"));
        assert!(!held.is_failback());
        let mut f = frozen();
        assert!(
            !HandoverRequest::by_operator("f1", "b", "h1").apply_to(&mut f),
            "a frozen item is refused"
        );
        assert_eq!(f.handover_to, None);
        let mut released = LeaseRecord {
            version: Some("r".into()),
            ..Default::default()
        };
        assert!(!HandoverRequest::by_operator("r", "b", "h1").apply_to(&mut released));
    }

    #[test]
    fn a_failback_request_never_replaces_a_request_already_made() {
        let failback = HandoverRequest {
            expect_version: "v".into(),
            target: "a".into(),
            failback: true,
            id: "f1".into(),
        };
        let mut held = LeaseRecord {
            owner: "b".into(),
            version: Some("v".into()),
            ..Default::default()
        };
        assert!(failback.apply_to(&mut held));
        assert!(held.is_failback());
        let mut asked = LeaseRecord {
            handover_to: Some("c".into()),
            handover_reason: None,
            ..held.clone()
        };
        assert!(
            !failback.apply_to(&mut asked),
            "the operator's request stays"
        );
        assert_eq!(asked.handover_to.as_deref(), Some("c"));
        // A stale request naming the holder itself asks for nothing: it does not block.
        let mut stale = LeaseRecord {
            handover_to: Some("b".into()),
            ..held.clone()
        };
        assert!(failback.apply_to(&mut stale));
        assert_eq!(stale.handover_to.as_deref(), Some("a"));
        // An operator's request replaces a failback request, and is not marked failback.
        assert!(HandoverRequest::by_operator("v", "c", "h2").apply_to(&mut held));
        assert!(!held.is_failback());
    }
}
