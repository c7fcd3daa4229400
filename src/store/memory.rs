//! The in-process store: the embedded default for local runs, and the substrate of the
//! simulation tests. The table and its conditions are the core's ([`drlease_core::table`]),
//! the same ones the DynamoDB store enforces; this file only makes them a [`LeaseStore`].

use super::{HistoryStore, LeaseStore, StoreError};
use crate::lease::history::Change;
use crate::lease::operator::HandoverRequest;
use crate::lease::{LeaseRecord, RegionMark, ReleaseClaim, WriteRequest};

pub use crate::lease::table::{MemoryStore, MemoryTable};

impl LeaseStore for MemoryStore {
    async fn read(&self) -> Result<Option<LeaseRecord>, StoreError> {
        Ok(self.read_now())
    }

    async fn write(&self, req: &WriteRequest) -> Result<LeaseRecord, StoreError> {
        self.write_now(req)
    }

    async fn request_handover(&self, req: &HandoverRequest) -> Result<(), StoreError> {
        self.request_handover_now(req)
    }

    async fn claim(&self, claim: &ReleaseClaim) -> Result<(), StoreError> {
        self.claim_now(claim)
    }

    async fn read_marks(&self, regions: &[String]) -> Result<Vec<RegionMark>, StoreError> {
        Ok(self.read_marks_now(regions))
    }

    async fn write_mark(&self, mark: &RegionMark) -> Result<(), StoreError> {
        self.write_mark_now(mark)
    }
}

impl HistoryStore for MemoryStore {
    async fn put_change(&self, change: &Change) -> Result<(), StoreError> {
        self.put_change_now(change)
    }

    async fn get_change(&self, epoch: u64) -> Result<Option<Change>, StoreError> {
        Ok(self.get_change_now(epoch))
    }
}
