//! Small OS helpers with no knowledge of the lease: clocks, durations as people write them,
//! random tokens, the open-file limit, logging, text safe to print, and a Kubernetes API
//! client.

pub mod clock;
/// Durations as operators write them; the core formats its messages with the same rules.
pub use drlease_core::duration;
pub mod fd_limit;
pub mod kube_client;
pub mod logging;
pub mod printable;
pub mod stdout;
pub(crate) mod token;
