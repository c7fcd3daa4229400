//! drlease's lease core: the pure lease logic, every rule of the promise. The item and
//! its conditions (`record`), the decision core (`core`), its timing (`timing`), the rule
//! that turns state into a role (`view`) and the write windows granted on it (`gate`),
//! the one driver of the core's `Step` protocol (`driver`), the in-process table
//! that applies store calls under the item's conditions (`table`), and the model of a
//! replicated table every test of regions builds on (`replication`).
//!
//! No I/O and no async runtime: the binary crate reads the clock, talks to the store and
//! serves HTTP, and feeds what happened in here. Its rules, by id, are in [`rules`]; the
//! design that explains them is the rustdoc of [`core`].

pub mod claim;
pub mod clock;
pub mod core;
pub mod driver;
pub mod duration;
pub mod gate;
pub mod history;
pub mod operator;
pub mod record;
pub mod region;
pub mod replication;
pub mod rules;
pub mod step;
mod store_error;
pub mod table;
pub mod timing;
pub mod view;

pub use self::core::{CoreConfig, LeaseCore};
pub use claim::ReleaseClaim;
pub use record::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    FROZEN_OWNER, HANDOVER_ANY,
};
pub use region::{RegionMark, Regions};
pub use step::{Call, Step};
pub use store_error::StoreError;
pub use timing::{Timing, TimingError};
pub use view::{Role, View};
