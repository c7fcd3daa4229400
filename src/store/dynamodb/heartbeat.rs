//! Candidate heartbeats: one small item per running sidecar, in the lease table, keyed
//! `<lease>/candidates/<identity>`, expired by DynamoDB's TTL on `expiresAt`. They never
//! touch the lease item; `drlease status` lists them and `drlease handover` checks its
//! target against them (with a Scan, in `candidates.rs`: operators only, never the sidecar). Attribute types that Admiral's checker also reads (it scans the
//! whole table) keep Admiral's types: `leaseName` S, `updatedTime` N.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::errors::classify;
use super::item::{self, n, s};
use super::DynamoStore;
use crate::store::StoreError;

pub const EXPIRES_AT: &str = "expiresAt";

/// One candidate's heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    pub identity: String,
    pub session: String,
    pub region: String,
    pub role: String,
    pub eligible: bool,
    /// Wall-clock milliseconds of this heartbeat (informational).
    pub at_ms: i64,
    /// How often this candidate writes its heartbeat.
    pub period_ms: u64,
    /// Failover priority (`--priority`); 0 on heartbeats of older versions.
    pub priority: i32,
    /// `--never-acquire`: serves the role, never holds.
    pub observer: bool,
}

impl Heartbeat {
    /// Alive if its last heartbeat is at most three periods old (plus 2 s for clock skew
    /// between the sidecar's host and the operator's).
    pub fn alive_at(&self, now_ms: i64) -> bool {
        // Items come from the table: saturate rather than overflow on garbage.
        let period = i64::try_from(self.period_ms).unwrap_or(i64::MAX);
        now_ms.saturating_sub(self.at_ms) <= period.saturating_mul(3).saturating_add(2000)
    }
}

/// Between the lease name and the identity in a heartbeat's key.
pub const HEARTBEAT_INFIX: &str = "/candidates/";

pub(super) fn prefix(lease: &str) -> String {
    format!("{lease}{HEARTBEAT_INFIX}")
}

pub(super) fn parse(item: &HashMap<String, AttributeValue>) -> Option<Heartbeat> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let num = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    Some(Heartbeat {
        identity: text("identity")?,
        session: text("session").unwrap_or_default(),
        region: text("region").unwrap_or_default(),
        role: text("role").unwrap_or_default(),
        eligible: item
            .get("eligible")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        at_ms: num("heartbeatMs")?,
        period_ms: num("periodMs").unwrap_or(0).max(0) as u64,
        priority: num("priority")
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or(0),
        observer: item
            .get("observer")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

impl DynamoStore {
    pub async fn put_heartbeat(&self, hb: &Heartbeat) -> Result<(), StoreError> {
        let secs = hb.at_ms / 1000;
        // Expired well after the candidate would count as dead, so `status` can still show
        // it as gone for a while.
        let ttl = secs.saturating_add((hb.period_ms.saturating_mul(10) / 1000).max(600) as i64);
        let item = HashMap::from([
            (
                item::KEY.to_string(),
                s(&format!("{}{}", prefix(self.lease_name()), hb.identity)),
            ),
            ("candidateOf".to_string(), s(self.lease_name())),
            ("identity".to_string(), s(&hb.identity)),
            ("session".to_string(), s(&hb.session)),
            ("region".to_string(), s(&hb.region)),
            ("role".to_string(), s(&hb.role)),
            ("eligible".to_string(), AttributeValue::Bool(hb.eligible)),
            ("heartbeatMs".to_string(), n(hb.at_ms)),
            ("periodMs".to_string(), n(hb.period_ms)),
            ("priority".to_string(), n(hb.priority)),
            ("observer".to_string(), AttributeValue::Bool(hb.observer)),
            (item::UPDATED.to_string(), n(secs)),
            (EXPIRES_AT.to_string(), n(ttl)),
        ]);
        self.connection()
            .client
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(())
    }

    /// Removes this process's heartbeat (not a newer process's with the same identity).
    pub async fn delete_heartbeat(&self, identity: &str, session: &str) -> Result<(), StoreError> {
        let result = self
            .connection()
            .client
            .delete_item()
            .table_name(self.table_name())
            .key(
                item::KEY,
                s(&format!("{}{identity}", prefix(self.lease_name()))),
            )
            .condition_expression("#s = :session")
            .expression_attribute_names("#s", "session")
            .expression_attribute_values(":session", s(session))
            .send()
            .await;
        match result.map_err(|e| classify(e, &self.ctx())) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_times_never_overflow() {
        let hb = Heartbeat {
            identity: "x".into(),
            session: "s".into(),
            region: String::new(),
            role: String::new(),
            eligible: true,
            at_ms: i64::MIN,
            period_ms: u64::MAX,
            priority: 0,
            observer: false,
        };
        assert!(hb.alive_at(i64::MAX));
        let old = Heartbeat {
            at_ms: 0,
            period_ms: 1000,
            ..hb
        };
        assert!(!old.alive_at(60_000));
        assert!(old.alive_at(4_000));
    }
}
