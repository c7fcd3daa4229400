//! The pure lease logic: every rule of the promise lives under this folder. The item and
//! its conditions (`record`), the decision core (`core`), its timing (`timing`), the rule
//! that turns state into a role (`view`) and the write windows granted on it (`gate`),
//! and the one driver of the core's `Step` protocol (`driver`).

pub(crate) mod claim;
pub mod core;
pub mod driver;
pub mod gate;
pub mod history;
pub mod operator;
pub(crate) mod record;
pub(crate) mod region;
pub mod rules;
mod store_error;
pub mod timing;
pub(crate) mod view;

pub use self::core::{CoreConfig, LeaseCore, Step};
pub use claim::ReleaseClaim;
pub use record::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    FROZEN_OWNER, HANDOVER_ANY,
};
pub use region::{RegionMark, Regions};
pub use store_error::StoreError;
pub use timing::{Timing, TimingError};
pub use view::{Role, View};
