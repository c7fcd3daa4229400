//! Failover history: one record per change of owner, written once by the new holder into
//! the lease table, so that any pod (after any restart) and any operator can answer "when
//! did we fail over, why, and how long was nobody active?".
//!
//! Records live in a ring of slots keyed `<lease>/history/<epoch % 256>`: read by key
//! only (never Scan or Query, so the sidecar's IAM needs nothing new), bounded on tables
//! without TTL, and linked newest to oldest by `previous_epoch`, because epochs are not
//! consecutive (regions stripe them, a freeze keeps one). A slot that holds another epoch
//! was reused by a newer change: the history known ends there.

use serde::{Deserialize, Serialize};

/// Slots in the ring: 256 changes of owner are kept at least.
pub const SLOTS: u64 = 256;
/// The most records one answer lists (each is one GetItem).
pub const MAX_LIMIT: usize = 50;
/// Between the lease name and the slot in a record's key.
pub const HISTORY_INFIX: &str = "/history/";

pub fn slot_key(lease: &str, epoch: u64) -> String {
    format!("{lease}{HISTORY_INFIX}{}", epoch % SLOTS)
}

/// How the lease changed hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The first holder this lease ever had (no owner before it).
    First,
    /// Acquired a lease its holder released (a shutdown, a step-down).
    AcquiredRelease,
    /// Took over after the holder's lease ran out without a release (a crash, a cut).
    Takeover,
    /// A planned handover (`drlease handover`) released to this pod or to anyone.
    Handover,
    /// A holder of lower priority handed the lease back to this preferred pod.
    Failback,
    /// Acquired after an operator unfroze the lease.
    AfterUnfreeze,
}

impl How {
    pub const ALL: [How; 6] = [
        How::First,
        How::AcquiredRelease,
        How::Takeover,
        How::Handover,
        How::Failback,
        How::AfterUnfreeze,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            How::First => "first",
            How::AcquiredRelease => "acquired_release",
            How::Takeover => "takeover",
            How::Handover => "handover",
            How::Failback => "failback",
            How::AfterUnfreeze => "after_unfreeze",
        }
    }

    pub fn parse(text: &str) -> Option<How> {
        How::ALL.into_iter().find(|h| h.as_str() == text)
    }
}

/// One change of owner, as the new holder recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub epoch: u64,
    /// The epoch before this one, as the new holder saw it; the link to the older record.
    pub previous_epoch: Option<u64>,
    /// The holder before, when the new holder saw one.
    pub previous_owner: Option<String>,
    pub owner: String,
    /// The new holder's process (tells a resend from another process's record).
    pub session: String,
    pub how: How,
    /// In words, for a person.
    pub reason: String,
    pub region: String,
    /// Wall-clock unix milliseconds at which the new holder first answered active.
    pub at_ms: i64,
    /// How long nobody was active as far as the new holder can tell: from the last sign
    /// of life of the previous holder it saw (a renewal received, or the release) to its
    /// own first active answer. `None` when it saw none.
    pub gap_ms: Option<u64>,
}

impl Change {
    /// The condition of the record's write, which the stores mirror: a free slot, a slot
    /// of an older epoch (the ring wrapped), or this very record again (a resend).
    pub fn may_replace(&self, existing: Option<&Change>) -> bool {
        existing.is_none_or(|e| {
            e.epoch < self.epoch || (e.epoch == self.epoch && e.session == self.session)
        })
    }
}

/// Why a listing stops where it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum End {
    /// As many records as asked for.
    Limit,
    /// The oldest record listed is the first change this lease had.
    First,
    /// No record of this epoch: not written (an older table, a failed write, one still
    /// on its way) or removed (a restore, TTL).
    NotRecorded { epoch: u64 },
    /// Its slot holds a newer change now: the ring wrapped.
    Overwritten { epoch: u64 },
}

impl End {
    pub fn describe(&self) -> String {
        match self {
            End::Limit => "more may be older: ask for a higher limit (at most 50)".into(),
            End::First => "that was the first holder of this lease".into(),
            End::NotRecorded { epoch } => format!(
                "history ends here: no record of epoch {epoch} (not written, or the table \
                 predates failover history, or was restored)"
            ),
            End::Overwritten { epoch } => {
                format!("history ends here: epoch {epoch}'s slot was reused by a newer change")
            }
        }
    }
}

/// What the slot of `epoch` held means for a listing: the record to list, or where the
/// listing ends.
pub fn link(epoch: u64, found: Option<Change>) -> Result<Change, End> {
    match found {
        None => Err(End::NotRecorded { epoch }),
        Some(c) if c.epoch != epoch => Err(End::Overwritten { epoch }),
        Some(c) => Ok(c),
    }
}

/// The epoch to read after `change`, or where the listing ends. A link that does not go
/// down (garbage written by hand) ends it too, so a listing can never loop.
pub fn next(change: &Change) -> Result<u64, End> {
    match change.previous_epoch {
        Some(p) if p < change.epoch && change.how != How::First => Ok(p),
        _ => Err(End::First),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(epoch: u64, previous: Option<u64>, session: &str) -> Change {
        Change {
            epoch,
            previous_epoch: previous,
            previous_owner: None,
            owner: "a".into(),
            session: session.into(),
            how: How::Takeover,
            reason: String::new(),
            region: String::new(),
            at_ms: 0,
            gap_ms: None,
        }
    }

    #[test]
    fn a_slot_takes_a_newer_epoch_or_the_same_record_again_never_an_older_one() {
        let there = change(300, Some(299), "s");
        assert!(
            change(300, Some(299), "s").may_replace(Some(&there)),
            "a resend"
        );
        assert!(
            !change(300, Some(299), "t").may_replace(Some(&there)),
            "another process"
        );
        assert!(
            change(556, Some(555), "t").may_replace(Some(&there)),
            "the ring wrapped"
        );
        assert!(
            !change(44, Some(43), "s").may_replace(Some(&there)),
            "older"
        );
        assert!(change(44, None, "s").may_replace(None));
        assert_eq!(slot_key("l", 300), "l/history/44");
        assert_eq!(slot_key("l", 44), slot_key("l", 300));
    }

    #[test]
    fn a_listing_ends_at_a_missing_or_reused_slot_and_never_loops() {
        assert_eq!(link(7, None), Err(End::NotRecorded { epoch: 7 }));
        assert_eq!(
            link(7, Some(change(263, Some(262), "s"))),
            Err(End::Overwritten { epoch: 7 })
        );
        let c = link(7, Some(change(7, Some(5), "s"))).unwrap();
        assert_eq!(next(&c), Ok(5));
        assert_eq!(next(&change(7, Some(7), "s")), Err(End::First), "no loop");
        assert_eq!(next(&change(7, Some(9), "s")), Err(End::First), "no loop");
        assert_eq!(next(&change(1, None, "s")), Err(End::First));
    }

    #[test]
    fn how_round_trips_through_its_name() {
        for how in How::ALL {
            assert_eq!(How::parse(how.as_str()), Some(how));
            let json = serde_json::to_string(&how).unwrap();
            assert_eq!(json, format!("\"{}\"", how.as_str()));
        }
        assert_eq!(How::parse("nonsense"), None);
    }
}
