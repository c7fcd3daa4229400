//! What a store call can report, as the lease core reads it. It lives with the core, which
//! decides on it; the stores (the binary's `store` layer) produce it and re-export it.

use std::time::Duration;

/// Why a store call failed. Every variant but `ConditionFailed` and `Malformed` leaves the
/// outcome of a write unknown: the write may or may not have landed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum StoreError {
    #[error("the lease item changed since it was read (conditional write refused)")]
    ConditionFailed,
    #[error("{0}")]
    TableMissing(String),
    #[error("store call timed out after {0:?}; check connectivity to the DynamoDB endpoint")]
    Timeout(Duration),
    #[error("store throttled the request ({0}); it is retried, raise the table's capacity if it persists")]
    Throttled(String),
    #[error("store refused the credentials ({0}); check the AWS credentials and the IAM policy for the table")]
    Auth(String),
    #[error(
        "the lease item is malformed ({0}); no candidate takes it over: fix or delete the item"
    )]
    Malformed(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A multi-Region strongly consistent table refused the write because another region
    /// wrote the same item at the same moment (`ReplicatedWriteConflictException`): it did
    /// not land, and asking again is safe.
    #[error("another region wrote the lease item at the same moment ({0}); the write did not land and is retried")]
    WriteConflict(String),
    #[error("store rejected the request: {0}")]
    Rejected(String),
}

impl StoreError {
    /// The `result` label of `drlease_store_requests_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            StoreError::ConditionFailed => "condition_failed",
            StoreError::TableMissing(_) => "table_missing",
            StoreError::Timeout(_) => "timeout",
            StoreError::Throttled(_) => "throttled",
            StoreError::Auth(_) => "auth",
            StoreError::Malformed(_) => "malformed",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::WriteConflict(_) => "write_conflict",
            StoreError::Rejected(_) => "rejected",
        }
    }
}
