//! What the core reports but never decides on (`/role`'s rollbacks and last error), apart
//! from the state the rules decide on.

/// What the core reports but never decides on. It is left out of equality and hashing, so
/// a model checker counts two states that every rule treats alike as one.
#[derive(Clone, Debug, Default)]
pub(super) struct Diagnostics {
    /// Times a version this process had seen went back (a restore, a recreated item).
    pub(super) rollbacks: u64,
    /// The last store error or item problem, for `/role`.
    pub(super) last_error: Option<String>,
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
