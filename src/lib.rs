//! drlease: a DR lease sidecar. See README.md for what it does and how to run it.

pub mod clock;
pub mod lease;
pub mod store;
