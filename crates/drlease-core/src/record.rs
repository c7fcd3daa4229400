//! The lease item as drlease sees it, and the writes it makes.
//!
//! The item stays readable by Admiral's own checker: `leaseOwner`, `updatedTime` and
//! `notes` keep their meaning. drlease adds a version token, an epoch (fencing token),
//! the holder's lease duration and a per-process session.

use crate::rules::{applies, R27, R28, R3};

/// Admiral's convention: an item held by this owner freezes every candidate passive.
pub const FROZEN_OWNER: &str = "SKIP-LEASE-POD";

/// The longest `leaseDurationMs` accepted from the store. A larger value is treated as
/// garbage rather than obeyed, or one bad write could pin every candidate passive for years.
pub const MAX_STORED_LEASE_DURATION_MS: u64 = 24 * 3600 * 1000;

/// One lease item, parsed. Optional fields are absent on items Admiral wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LeaseRecord {
    pub owner: String,
    pub updated_time: Option<i64>,
    pub notes: Option<String>,
    pub version: Option<String>,
    pub epoch: Option<u64>,
    pub lease_duration_ms: Option<u64>,
    pub owner_session: Option<String>,
    /// A planned handover's target (`*`: any candidate but `handover_from`).
    pub handover_to: Option<String>,
    /// Who released the lease for the handover.
    pub handover_from: Option<String>,
    /// On a released item: the session of the holder that released it itself. Only such a
    /// release can be acquired at once (see the lease core).
    pub released_by: Option<String>,
    /// On a released item: the version the release replaced ([`VersionKey::marker`]), or
    /// `""` for the seed `create-table` writes into a new table. A candidate that saw that
    /// version keeps timing from when it first saw it.
    pub released_from: Option<String>,
    /// The holder's failover priority (`--priority`), written with every renewal, so a
    /// candidate of higher priority can tell from the lease item alone (no Scan) that it
    /// is preferred. Absent on items written by Admiral or an older drlease: priority 0.
    pub owner_priority: Option<i32>,
    /// Why a handover was requested: [`HANDOVER_REASON_FAILBACK`], or absent for an
    /// operator's `drlease handover`.
    pub handover_reason: Option<String>,
    /// A fresh token for each write of a handover request (`handoverId`): tells two writes
    /// of the same request apart (R25, R27). Absent on requests written by an older
    /// drlease, and after any write that clears the request.
    pub handover_id: Option<String>,
}

/// `handoverTo` value that lets any candidate but the one that released acquire.
pub const HANDOVER_ANY: &str = "*";

/// `handoverReason` of a request a preferred candidate made for itself (`--failback-after`).
pub const HANDOVER_REASON_FAILBACK: &str = "failback";

/// What identifies one write of the item. Items written by Admiral carry no
/// `leaseVersion`; for them the pair (`leaseOwner`, `updatedTime`) serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VersionKey {
    Token(String),
    Legacy {
        owner: String,
        updated_time: Option<i64>,
    },
}

impl VersionKey {
    /// The version as one string, for `releasedFrom`. Tokens never contain `@`, so a legacy
    /// key cannot be mistaken for one.
    pub fn marker(&self) -> String {
        match self {
            VersionKey::Token(t) => t.clone(),
            VersionKey::Legacy {
                owner,
                updated_time,
            } => match updated_time {
                Some(t) => format!("{owner}@{t}"),
                None => format!("{owner}@"),
            },
        }
    }
}

impl LeaseRecord {
    /// The seed `create-table` writes: released, epoch 0, replacing nothing.
    pub fn is_seed(&self) -> bool {
        self.is_released()
            && self.released_from.as_deref() == Some("")
            && self.epoch.unwrap_or(0) == 0
    }

    pub fn version_key(&self) -> VersionKey {
        match &self.version {
            Some(token) => VersionKey::Token(token.clone()),
            None => VersionKey::Legacy {
                owner: self.owner.clone(),
                updated_time: self.updated_time,
            },
        }
    }

    pub fn is_released(&self) -> bool {
        self.owner.is_empty()
    }

    pub fn is_frozen(&self) -> bool {
        self.owner == FROZEN_OWNER
    }

    /// Held by a candidate: neither released nor frozen.
    pub fn is_held(&self) -> bool {
        !self.is_released() && !self.is_frozen()
    }

    /// The holder's priority; items without one (Admiral's, older drlease's) count as 0.
    pub fn priority(&self) -> i32 {
        self.owner_priority.unwrap_or(0)
    }

    /// A handover request that still means something: one naming the holder itself (an
    /// operator racing a handover that already happened) asks for nothing.
    pub fn has_live_request(&self) -> bool {
        self.handover_to
            .as_ref()
            .is_some_and(|to| self.is_released() || to != &self.owner)
    }

    /// The handover under way (or asked for) is a failback.
    pub fn is_failback(&self) -> bool {
        self.handover_reason.as_deref() == Some(HANDOVER_REASON_FAILBACK)
    }

    /// For a held item with a handover request: will `identity` be allowed to acquire it
    /// once the holder releases it?
    pub fn open_to_after_release(&self, identity: &str) -> bool {
        match self.handover_to.as_deref() {
            None => false,
            Some(HANDOVER_ANY) => self.owner != identity,
            Some(target) => target == identity,
        }
    }

    /// For a released item: may `identity` acquire it at once? During a planned handover
    /// only the named target may (or, for `*`, anyone but the one that released it).
    pub fn open_to(&self, identity: &str) -> bool {
        match self.handover_to.as_deref() {
            None => true,
            Some(HANDOVER_ANY) => self.handover_from.as_deref() != Some(identity),
            Some(target) => target == identity,
        }
    }

    /// True when this record was written by the process with this identity and session.
    pub fn is_held_by(&self, identity: &str, session: &str) -> bool {
        self.owner == identity && self.owner_session.as_deref() == Some(session)
    }

    /// Whether a conditional write expecting `expect` would be accepted against this item.
    /// The memory store uses this directly; the DynamoDB store encodes the same rule as a
    /// condition expression (`condition` in src/store/dynamodb/item/mod.rs), and the
    /// integration tests hold the two to the same behaviour.
    pub fn satisfies(record: Option<&LeaseRecord>, expect: &Expect) -> bool {
        if !applies(R3) {
            // R3 (revert: every write lands).
            return true;
        }
        match (expect, record) {
            (Expect::Absent, None) => true,
            (Expect::Absent, Some(_)) => false,
            (_, None) => false,
            (Expect::Version(key), Some(r)) => &r.version_key() == key,
            (
                Expect::AsRead {
                    key,
                    handover_to,
                    handover_id,
                },
                Some(r),
            ) => {
                // R27 (revert: the version alone, whatever request was written on it).
                // R28 (revert: the same target written again is the request read).
                let same_write = r.handover_id == *handover_id || !applies(R28);
                &r.version_key() == key
                    && ((r.handover_to == *handover_to && same_write) || !applies(R27))
            }
            (
                Expect::Held {
                    owner,
                    session,
                    version,
                },
                Some(r),
            ) => {
                &r.owner == owner
                    && r.owner_session.as_ref() == Some(session)
                    && r.version.as_ref() == Some(version)
            }
        }
    }
}

/// The condition a write is made under: the compare half of compare-and-swap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expect {
    /// The item must not exist.
    Absent,
    /// The item must still be exactly the write that was observed.
    Version(VersionKey),
    /// A candidate's takeover or acquire: the item must still be the version it read, with
    /// the handover request it read (none, or the same target written by the same write:
    /// its `handoverId`). On a table replicated with last writer wins, a request written at
    /// one replica on a version the holder has renewed since is a later write of that
    /// version: it brings the version back there without changing it, so the version
    /// alone cannot tell the candidate that timed it that something was written since
    /// (R27); and the same request written again is told apart by its id alone.
    AsRead {
        key: VersionKey,
        handover_to: Option<String>,
        handover_id: Option<String>,
    },
    /// The item must still be this process's own last write (renew and release).
    Held {
        owner: String,
        session: String,
        version: String,
    },
}

/// Why a write is made; used for logs and metrics, the store treats all alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteKind {
    /// No item yet.
    Create,
    /// The item was released (`leaseOwner = ""`).
    Acquire,
    /// The holder stopped renewing for a full lease duration.
    Takeover,
    /// The holder extends its own lease.
    Renew,
    /// The holder gives the lease up.
    Release,
    /// An operator freezes the lease (`leaseOwner = SKIP-LEASE-POD`).
    Freeze,
    /// An operator releases a frozen lease.
    Unfreeze,
    /// `create-table` writes the first, released item into a new table.
    Seed,
    /// A candidate replaces a missing item with a released one, to time its version.
    Placeholder,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Acquire => "acquire",
            WriteKind::Takeover => "takeover",
            WriteKind::Renew => "renew",
            WriteKind::Release => "release",
            WriteKind::Freeze => "freeze",
            WriteKind::Unfreeze => "unfreeze",
            WriteKind::Seed => "seed",
            WriteKind::Placeholder => "placeholder",
        }
    }

    /// Writes that make this process the owner under a new epoch.
    pub fn changes_owner(self) -> bool {
        matches!(
            self,
            WriteKind::Create | WriteKind::Acquire | WriteKind::Takeover
        )
    }
}

/// What a write does to the handover attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HandoverWrite {
    /// Leave them: a renewal must not erase a handover request made since.
    Keep,
    /// Remove them: a new owner, a plain release, a freeze.
    Clear,
    /// A release for a handover: only `to` (or, for `*`, anyone but `from`) may acquire.
    Set { to: String, from: String },
}

/// The drlease-managed attributes a write sets. `updatedTime` is stamped by the store
/// from the wall clock: it is informational, for humans and Admiral's checker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LeaseState {
    pub owner: String,
    pub session: String,
    pub version: String,
    pub epoch: u64,
    pub lease_duration_ms: u64,
    pub handover: HandoverWrite,
    /// Release markers (`releasedBy`, `releasedFrom`); `None` removes the attribute.
    pub released_by: Option<String>,
    pub released_from: Option<String>,
    /// The owner's priority; `None` (released items, operators' writes) removes it.
    pub priority: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WriteRequest {
    pub kind: WriteKind,
    pub expect: Expect,
    pub new: LeaseState,
}

impl WriteRequest {
    /// Applies this write to a record, as the store would.
    pub fn apply(&self, previous: Option<&LeaseRecord>, wall_secs: i64) -> LeaseRecord {
        let previous_reason = previous.and_then(|p| p.handover_reason.clone());
        let previous_id = previous.and_then(|p| p.handover_id.clone());
        // A release for a handover keeps the request's reason, so everyone sees a failback,
        // and its id (as DynamoDB's update, which leaves both, does).
        let (handover_to, handover_from, handover_reason, handover_id) = match &self.new.handover {
            HandoverWrite::Keep => (
                previous.and_then(|p| p.handover_to.clone()),
                previous.and_then(|p| p.handover_from.clone()),
                previous_reason,
                previous_id,
            ),
            HandoverWrite::Clear => (None, None, None, None),
            HandoverWrite::Set { to, from } => (
                Some(to.clone()),
                Some(from.clone()),
                previous_reason,
                previous_id,
            ),
        };
        LeaseRecord {
            owner: self.new.owner.clone(),
            updated_time: Some(wall_secs),
            notes: previous
                .and_then(|p| p.notes.clone())
                .or_else(|| Some(format!("Created by drlease at {wall_secs}"))),
            version: Some(self.new.version.clone()),
            epoch: Some(self.new.epoch),
            lease_duration_ms: Some(self.new.lease_duration_ms),
            owner_session: Some(self.new.session.clone()),
            handover_to,
            handover_from,
            released_by: self.new.released_by.clone(),
            released_from: self.new.released_from.clone(),
            owner_priority: self.new.priority,
            handover_reason,
            handover_id,
        }
    }
}

#[cfg(test)]
mod tests;
