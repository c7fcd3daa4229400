//! Listing the candidates' heartbeats: a Scan of the table, whose cost grows with the
//! table. For operator commands (`status`, `handover`) only: nothing on the sidecar's path
//! calls it, and `tests/iam_policy.rs` keeps the sidecar's files free of Scans.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::heartbeat::{parse, prefix, Heartbeat};
use super::item::{self, s};
use super::DynamoStore;
use crate::store::StoreError;

impl DynamoStore {
    /// Every candidate heartbeat of this lease. A Scan: for operator commands only, never
    /// for the sidecar's own loop (its cost grows with the table).
    pub async fn list_heartbeats(&self) -> Result<Vec<Heartbeat>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .connection()
                .client
                .scan()
                .table_name(self.table_name())
                .consistent_read(true)
                .filter_expression("begins_with(#k, :prefix)")
                .expression_attribute_names("#k", item::KEY)
                .expression_attribute_values(":prefix", s(&prefix(self.lease_name())))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(e, &self.ctx()))?;
            out.extend(page.items().iter().filter_map(parse));
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.identity.cmp(&b.identity));
        Ok(out)
    }
}
