//! The DynamoDB store against a real DynamoDB-compatible server (moto, started by
//! scripts/test.sh): conditional writes, Admiral's items, missing tables, bad credentials
//! and garbage items.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use drlease::lease::operator::HandoverRequest;
use drlease::lease::{
    Expect, HandoverWrite, LeaseRecord, LeaseState, VersionKey, WriteKind, WriteRequest,
    FROZEN_OWNER,
};
use drlease::store::dynamodb::item::{n, s};
use drlease::store::dynamodb::{Connection, DynamoStore};
use drlease::store::memory::MemoryStore;
use drlease::store::{LeaseStore, StoreError};

fn write(kind: WriteKind, expect: Expect, owner: &str, version: &str, epoch: u64) -> WriteRequest {
    WriteRequest {
        kind,
        expect,
        new: LeaseState {
            owner: owner.into(),
            session: format!("{owner}-session"),
            version: version.into(),
            epoch,
            lease_duration_ms: 45_000,
            handover: HandoverWrite::Clear,
            released_by: None,
            released_from: None,
            priority: (!owner.is_empty()).then_some(7),
        },
    }
}

fn held(owner: &str, version: &str) -> Expect {
    Expect::Held {
        owner: owner.into(),
        session: format!("{owner}-session"),
        version: version.into(),
    }
}

fn token(v: &str) -> Expect {
    Expect::Version(VersionKey::Token(v.into()))
}

/// A candidate's condition: version `v`, with a handover request to `to` (or none), written
/// by the write `id` (or by an older drlease, without one).
fn as_read(v: &str, to: Option<&str>, id: Option<&str>) -> Expect {
    Expect::AsRead {
        key: VersionKey::Token(v.into()),
        handover_to: to.map(str::to_string),
        handover_id: id.map(str::to_string),
    }
}

struct Fixture {
    conn: Connection,
    table: String,
    store: DynamoStore,
}

async fn fixture() -> Option<Fixture> {
    let endpoint = common::endpoint()?;
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let store = DynamoStore::new(conn.clone(), table.clone(), "mylease");
    Some(Fixture { conn, table, store })
}

impl Fixture {
    /// Writes an item as Admiral (or a careless human) would: unconditional PutItem.
    async fn put_raw(&self, attrs: &[(&str, AttributeValue)]) {
        let mut item: HashMap<String, AttributeValue> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        item.insert("leaseName".into(), AttributeValue::S("mylease".into()));
        self.conn
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put_item");
    }
}

/// The tests, one file per subject, in tests/dynamodb_store/.
mod dynamodb_store {
    mod agreement;
    mod items;
    mod writes;
}
