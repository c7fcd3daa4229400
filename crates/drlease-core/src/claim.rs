//! A claim on one release of the lease: the one thing a restored copy of the lease item
//! cannot bring back.
//!
//! A holder's own release may be acquired at once by a candidate that saw that tenure
//! held. Judged from the lease item alone, a release written back by a restore (after the
//! next holder acquired it) looks exactly like the live one, and a second candidate would
//! acquire it at once beside the first. So acquiring a release at once takes two writes:
//! first a claim item of its own, keyed by the release's version token and created only if
//! absent (or already ours), then the usual conditional write of the lease item. Each
//! release can be claimed once; a restore of the lease item does not restore the claim, so
//! whoever finds it claimed by someone else times the release like any other version.

/// Claims the release whose version token is `release_version` for this session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReleaseClaim {
    pub release_version: String,
    /// The claiming process (`ownerSession`): a resend after a lost answer finds its own
    /// claim and succeeds.
    pub session: String,
    /// The claiming identity, for people reading the table.
    pub owner: String,
}

impl ReleaseClaim {
    /// The claim's condition: it lands where no claim of that release exists, or where the
    /// one there is this session's (a resend after a lost answer). `claimed_by` is the
    /// session of the claim already there. The in-process table, the simulation and the
    /// model check it here; the DynamoDB store encodes it as `attribute_not_exists(#k) OR
    /// #c = :session` (`src/store/dynamodb/claim.rs`).
    pub fn may_claim(&self, claimed_by: Option<&str>) -> bool {
        claimed_by.is_none_or(|s| s == self.session)
    }
}

/// The claim item's key for a lease: beside the heartbeats (`<lease>/candidates/...`).
pub fn claim_key(lease: &str, release_version: &str) -> String {
    format!("{lease}/claims/{release_version}")
}

// Claims are never expired: a release written back from a backup of any age must still
// find its claim (one small item per release taken; safe to delete only those older than
// every backup that might be written back item by item).
