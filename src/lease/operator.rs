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
};

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
            lease_duration_ms: lease_ms,
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: None,
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
            lease_duration_ms: frozen.lease_duration_ms.unwrap_or(lease_ms),
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: Some(frozen.version_key().marker()),
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
        },
    }
}

/// Asks the holder to hand over to `target` (`*`: anyone else): sets `handoverTo` without
/// changing the version, only if the item is still at `expect_version` and held by a
/// candidate (not released, not frozen). Returns whether it applied. The DynamoDB store
/// encodes the same condition.
pub fn request_handover(record: &mut LeaseRecord, expect_version: &str, target: &str) -> bool {
    let held = !record.is_released() && !record.is_frozen();
    if !held || record.version.as_deref() != Some(expect_version) {
        return false;
    }
    record.handover_to = Some(target.to_string());
    true
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
        assert!(!request_handover(&mut held, "other", "b"));
        assert!(request_handover(&mut held, "v", "b"));
        assert_eq!(held.handover_to.as_deref(), Some("b"));
        let mut f = frozen();
        assert!(
            !request_handover(&mut f, "f1", "b"),
            "a frozen item is refused"
        );
        assert_eq!(f.handover_to, None);
        let mut released = LeaseRecord {
            version: Some("r".into()),
            ..Default::default()
        };
        assert!(!request_handover(&mut released, "r", "b"));
    }
}
