//! The lease: its item, the pure decision core, and the view it publishes.

pub mod claim;
pub mod core;
pub mod operator;
pub mod record;
pub mod region;
mod store_error;
pub mod view;

pub use self::core::{CoreConfig, LeaseCore, Step};
pub use claim::ReleaseClaim;
pub use record::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    FROZEN_OWNER, HANDOVER_ANY,
};
pub use region::{RegionMark, Regions};
pub use store_error::StoreError;
pub use view::{Role, View};
