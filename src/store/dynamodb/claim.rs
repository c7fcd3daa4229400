//! Release claims in DynamoDB: one item per claimed release, `<lease>/claims/<version>`,
//! created by a conditional PutItem and kept (no `expiresAt`: a release written back from a
//! backup of any age must still find its claim).
//! Why they exist: `crate::lease::claim`.

use std::collections::HashMap;

use super::errors::classify;
use super::item::{self, n, s};
use super::DynamoStore;
use crate::lease::claim::claim_key;
use crate::lease::{ReleaseClaim, StoreError};
use crate::sys::clock::wall_secs;

pub const CLAIMED_BY: &str = "claimedBy";

impl DynamoStore {
    pub(super) async fn put_claim(&self, claim: &ReleaseClaim) -> Result<(), StoreError> {
        let now = wall_secs();
        let item = HashMap::from([
            (
                item::KEY.to_string(),
                s(&claim_key(self.lease_name(), &claim.release_version)),
            ),
            ("claimOf".to_string(), s(self.lease_name())),
            (CLAIMED_BY.to_string(), s(&claim.session)),
            ("claimedByOwner".to_string(), s(&claim.owner)),
            (item::UPDATED.to_string(), n(now)),
        ]);
        // Absent, or already ours: a resend after a lost answer succeeds.
        self.connection()
            .client
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k) OR #c = :session")
            .expression_attribute_names("#k", item::KEY)
            .expression_attribute_names("#c", CLAIMED_BY)
            .expression_attribute_values(":session", s(&claim.session))
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(())
    }
}
