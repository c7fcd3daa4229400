//! Failover history records in DynamoDB: `<lease>/history/<epoch % 256>`, one PutItem
//! per change of owner by the new holder, read by key with GetItem (why this shape:
//! `crate::lease::history`). A garbage attribute reads as no record rather than an
//! error: history is for people and must never stop a listing of what is readable.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::heartbeat::EXPIRES_AT;
use super::item::{self, n, s};
use super::DynamoStore;
use crate::lease::history::{slot_key, Change, How};
use crate::lease::StoreError;
use crate::store::HistoryStore;

/// Kept this long where the table has TTL on `expiresAt`; the ring bounds it elsewhere.
const RETENTION_SECS: i64 = 90 * 24 * 3600;

fn to_item(lease: &str, c: &Change) -> HashMap<String, AttributeValue> {
    let secs = c.at_ms / 1000;
    let mut item = HashMap::from([
        (item::KEY.to_string(), s(&slot_key(lease, c.epoch))),
        ("historyOf".to_string(), s(lease)),
        ("epoch".to_string(), n(c.epoch)),
        ("owner".to_string(), s(&c.owner)),
        ("session".to_string(), s(&c.session)),
        ("how".to_string(), s(c.how.as_str())),
        ("reason".to_string(), s(&c.reason)),
        ("region".to_string(), s(&c.region)),
        ("atMs".to_string(), n(c.at_ms)),
        (item::UPDATED.to_string(), n(secs)),
        (
            EXPIRES_AT.to_string(),
            n(secs.saturating_add(RETENTION_SECS)),
        ),
    ]);
    if let Some(p) = c.previous_epoch {
        item.insert("previousEpoch".into(), n(p));
    }
    if let Some(p) = &c.previous_owner {
        item.insert("previousOwner".into(), s(p));
    }
    if let Some(g) = c.gap_ms {
        item.insert("gapMs".into(), n(g));
    }
    item
}

fn parse(item: &HashMap<String, AttributeValue>) -> Option<Change> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let num = |k: &str| item.get(k).and_then(|v| v.as_n().ok());
    Some(Change {
        epoch: num("epoch")?.parse().ok()?,
        previous_epoch: num("previousEpoch").and_then(|v| v.parse().ok()),
        previous_owner: text("previousOwner"),
        owner: text("owner")?,
        session: text("session").unwrap_or_default(),
        how: How::parse(&text("how")?)?,
        reason: text("reason").unwrap_or_default(),
        region: text("region").unwrap_or_default(),
        at_ms: num("atMs").and_then(|v| v.parse().ok()).unwrap_or(0),
        gap_ms: num("gapMs").and_then(|v| v.parse().ok()),
    })
}

impl HistoryStore for DynamoStore {
    async fn put_change(&self, change: &Change) -> Result<(), StoreError> {
        self.connection()
            .client
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(to_item(self.lease_name(), change)))
            // Change::may_replace, as a condition.
            .condition_expression("attribute_not_exists(#k) OR #e < :e OR (#e = :e AND #s = :s)")
            .expression_attribute_names("#k", item::KEY)
            .expression_attribute_names("#e", "epoch")
            .expression_attribute_names("#s", "session")
            .expression_attribute_values(":e", n(change.epoch))
            .expression_attribute_values(":s", s(&change.session))
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(())
    }

    async fn get_change(&self, epoch: u64) -> Result<Option<Change>, StoreError> {
        let out = self
            .connection()
            .client
            .get_item()
            .table_name(self.table_name())
            .key(item::KEY, s(&slot_key(self.lease_name(), epoch)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(out.item().and_then(parse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_garbage_reads_as_none() {
        let change = Change {
            epoch: 300,
            previous_epoch: Some(299),
            previous_owner: Some("a".into()),
            owner: "b".into(),
            session: "s".into(),
            how: How::Takeover,
            reason: "took over".into(),
            region: "us-east-1".into(),
            at_ms: 1_700_000_000_123,
            gap_ms: Some(4500),
        };
        let item = to_item("l", &change);
        assert_eq!(item[item::KEY], s("l/history/44"));
        assert_eq!(parse(&item), Some(change.clone()));
        let first = Change {
            previous_epoch: None,
            previous_owner: None,
            gap_ms: None,
            how: How::First,
            ..change
        };
        assert_eq!(parse(&to_item("l", &first)), Some(first));
        let mut bad = item.clone();
        bad.insert("how".into(), s("sideways"));
        assert_eq!(parse(&bad), None);
        let mut bad = item;
        bad.insert("epoch".into(), s("300"));
        assert_eq!(parse(&bad), None);
    }
}
