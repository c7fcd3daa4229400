//! What the core reports but never decides on (`/role`'s rollbacks, last error, store
//! reachability, failback counts and the last region conflict found), apart from the state
//! the rules decide on.

/// What the core reports but never decides on. It is left out of equality and hashing, so
/// a model checker counts two states that every rule treats alike as one.
#[derive(Clone, Debug, Default)]
pub(super) struct Diagnostics {
    /// Times a version this process had seen went back (a restore, a recreated item).
    pub(super) rollbacks: u64,
    /// The last store error or item problem, for `/role`.
    pub(super) last_error: Option<String>,
    /// Whether the last store call was answered (`None`: none yet).
    pub(super) store_reachable: Option<bool>,
    /// Failbacks this process gained (acquired through its own request) and lost (gave
    /// the lease to a preferred candidate).
    pub(super) failbacks_gained: u64,
    pub(super) failbacks_lost: u64,
    /// What the last region conflict found (the count, which a model property reads, stays
    /// in the state).
    pub(super) region_conflict: Option<String>,
}

impl PartialEq for Diagnostics {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Diagnostics {}

impl std::hash::Hash for Diagnostics {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}
