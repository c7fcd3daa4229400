//! The in-process table: the item, its claims, region marks and history records in maps,
//! every call applied synchronously under the same conditions DynamoDB enforces. The
//! binary's memory store and the core's own tests run on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::claim::claim_key;
use crate::history::{slot_key, Change};
use crate::operator::HandoverRequest;
use crate::region::mark_key;
use crate::{LeaseRecord, RegionMark, ReleaseClaim, StoreError, WriteRequest};

/// Wall-clock seconds, for the item's informational `updatedTime` only: never a decision.
fn wall_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A table of lease items, shared by every `MemoryStore` cloned from it.
#[derive(Clone, Debug, Default)]
pub struct MemoryTable {
    items: Arc<Mutex<HashMap<String, LeaseRecord>>>,
    /// Release claims: claim key to the claiming session.
    claims: Arc<Mutex<HashMap<String, String>>>,
    /// Region marks, by mark key.
    marks: Arc<Mutex<HashMap<String, RegionMark>>>,
    /// Failover history records, by slot key.
    history: Arc<Mutex<HashMap<String, Change>>>,
}

impl MemoryTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn store(&self, lease: impl Into<String>) -> MemoryStore {
        MemoryStore {
            table: self.clone(),
            lease: lease.into(),
        }
    }

    pub fn get(&self, lease: &str) -> Option<LeaseRecord> {
        self.lock().get(lease).cloned()
    }

    /// Overwrites an item unconditionally, as an operator or Admiral's checker would.
    pub fn put(&self, lease: &str, record: LeaseRecord) {
        self.lock().insert(lease.to_string(), record);
    }

    pub fn remove(&self, lease: &str) {
        self.lock().remove(lease);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LeaseRecord>> {
        // A panic while holding this lock cannot leave a half-written record (every
        // mutation is a single insert), so a poisoned lock is safe to keep using.
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone, Debug)]
pub struct MemoryStore {
    table: MemoryTable,
    lease: String,
}

impl MemoryStore {
    pub fn new(lease: impl Into<String>) -> Self {
        MemoryTable::new().store(lease)
    }

    pub fn table(&self) -> &MemoryTable {
        &self.table
    }

    /// The lease this store reads and writes.
    pub fn lease(&self) -> &str {
        &self.lease
    }

    /// The item, read synchronously.
    pub fn read_now(&self) -> Option<LeaseRecord> {
        self.table.get(&self.lease)
    }

    /// The write, applied synchronously.
    pub fn write_now(&self, req: &WriteRequest) -> Result<LeaseRecord, StoreError> {
        let mut items = self.table.lock();
        let current = items.get(&self.lease);
        if !LeaseRecord::satisfies(current, &req.expect) {
            return Err(StoreError::ConditionFailed);
        }
        let next = req.apply(current, wall_secs());
        items.insert(self.lease.clone(), next.clone());
        Ok(next)
    }

    /// The claim, applied synchronously.
    pub fn claim_now(&self, claim: &ReleaseClaim) -> Result<(), StoreError> {
        let key = claim_key(&self.lease, &claim.release_version);
        let mut claims = self.table.claims.lock().unwrap_or_else(|e| e.into_inner());
        if !claim.may_claim(claims.get(&key).map(String::as_str)) {
            return Err(StoreError::ConditionFailed);
        }
        claims.insert(key, claim.session.clone());
        Ok(())
    }

    /// The marks of `regions` that exist, read synchronously.
    pub fn read_marks_now(&self, regions: &[String]) -> Vec<RegionMark> {
        let marks = self.table.marks.lock().unwrap_or_else(|e| e.into_inner());
        regions
            .iter()
            .filter_map(|r| marks.get(&mark_key(&self.lease, r)).cloned())
            .collect()
    }

    /// The mark, written synchronously unless a higher epoch is there.
    pub fn write_mark_now(&self, mark: &RegionMark) -> Result<(), StoreError> {
        let mut marks = self.table.marks.lock().unwrap_or_else(|e| e.into_inner());
        let key = mark_key(&self.lease, &mark.region);
        if !mark.may_replace(marks.get(&key)) {
            return Err(StoreError::ConditionFailed);
        }
        marks.insert(key, mark.clone());
        Ok(())
    }

    /// The handover request, applied synchronously.
    pub fn request_handover_now(&self, req: &HandoverRequest) -> Result<(), StoreError> {
        let mut items = self.table.lock();
        let applied = items.get_mut(&self.lease).is_some_and(|r| req.apply_to(r));
        if applied {
            Ok(())
        } else {
            Err(StoreError::ConditionFailed)
        }
    }

    /// The history record, written synchronously unless the one there may not be replaced.
    pub fn put_change_now(&self, change: &Change) -> Result<(), StoreError> {
        let mut history = self.table.history.lock().unwrap_or_else(|e| e.into_inner());
        let key = slot_key(&self.lease, change.epoch);
        if !change.may_replace(history.get(&key)) {
            return Err(StoreError::ConditionFailed);
        }
        history.insert(key, change.clone());
        Ok(())
    }

    /// The history record of `epoch`, read synchronously.
    pub fn get_change_now(&self, epoch: u64) -> Option<Change> {
        let history = self.table.history.lock().unwrap_or_else(|e| e.into_inner());
        history.get(&slot_key(&self.lease, epoch)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FROZEN_OWNER;

    /// The memory store must refuse a handover request on a frozen item, as DynamoDB's
    /// condition does.
    #[test]
    fn a_handover_request_on_a_frozen_item_is_refused_as_dynamodb_does() {
        let store = MemoryStore::new("l");
        let frozen = LeaseRecord {
            owner: FROZEN_OWNER.into(),
            version: Some("f".into()),
            ..Default::default()
        };
        store.table().put("l", frozen.clone());
        assert!(matches!(
            store.request_handover_now(&HandoverRequest::by_operator("f", "b", "h12")),
            Err(StoreError::ConditionFailed)
        ));
        assert_eq!(store.table().get("l"), Some(frozen));
    }
}
