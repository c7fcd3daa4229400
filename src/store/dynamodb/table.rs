//! Creating the lease table: partition key `leaseName` (S), on-demand billing, TTL on the
//! heartbeat items' `expiresAt` (where the table supports it: not MRSC).

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, MultiRegionConsistency,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::errors::{classify, CallContext};
use super::heartbeat::EXPIRES_AT;
use super::item;
use super::Connection;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("table '{table}' exists with key schema {found}; drlease needs partition key leaseName (S) and no sort key: choose another --table")]
    WrongSchema { table: String, found: String },
}

fn ctx<'a>(conn: &'a Connection, table: &'a str) -> CallContext<'a> {
    CallContext {
        table,
        region: &conn.region,
        timeout: conn.call_timeout,
    }
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(e.to_string())
}

/// Creates the table if it does not exist; returns whether it created it. An existing
/// table must have the lease key schema.
pub async fn create_table(conn: &Connection, table: &str) -> Result<bool, TableError> {
    let result = conn
        .client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(item::KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(item::KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(invalid)?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ResourceInUseException") => {
            check_schema(conn, table).await?;
            Ok(false)
        }
        Err(e) => Err(classify(e, &ctx(conn, table)).into()),
    }
}

async fn describe(conn: &Connection, table: &str) -> Result<Option<TableDescription>, StoreError> {
    let out = conn
        .client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(e, &ctx(conn, table)))?;
    Ok(out.table().cloned())
}

async fn check_schema(conn: &Connection, table: &str) -> Result<(), TableError> {
    let Some(desc) = describe(conn, table).await? else {
        return Ok(());
    };
    let keys = desc.key_schema();
    let types = desc.attribute_definitions();
    let key_ok = keys.len() == 1
        && keys[0].attribute_name() == item::KEY
        && keys[0].key_type() == &KeyType::Hash
        && types.iter().any(|a| {
            a.attribute_name() == item::KEY && a.attribute_type() == &ScalarAttributeType::S
        });
    if key_ok {
        return Ok(());
    }
    let found = keys
        .iter()
        .map(|k| {
            let ty = types
                .iter()
                .find(|a| a.attribute_name() == k.attribute_name())
                .map(|a| a.attribute_type().as_str().to_string())
                .unwrap_or_default();
            format!("{} ({ty}, {})", k.attribute_name(), k.key_type().as_str())
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(TableError::WrongSchema {
        table: table.to_string(),
        found,
    })
}

/// Waits until the table is ACTIVE, up to `limit`.
pub async fn wait_active(
    conn: &Connection,
    table: &str,
    limit: Duration,
) -> Result<(), StoreError> {
    let start = tokio::time::Instant::now();
    loop {
        let desc = describe(conn, table).await?;
        if desc.as_ref().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(StoreError::Unavailable(format!(
                "table '{table}' did not become ACTIVE within {limit:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What `enable_ttl` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Ttl {
    On,
    /// A multi-Region strongly consistent (MRSC) table: DynamoDB does not support TTL
    /// there, so heartbeat items are never expired by the table.
    NotSupported,
}

/// Turns on TTL for the heartbeat items (idempotent). The table must be ACTIVE.
pub async fn enable_ttl(conn: &Connection, table: &str) -> Result<Ttl, StoreError> {
    let strong = describe(conn, table)
        .await?
        .and_then(|d| d.multi_region_consistency().cloned())
        == Some(MultiRegionConsistency::Strong);
    if strong {
        return Ok(Ttl::NotSupported);
    }
    let current = conn
        .client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(e, &ctx(conn, table)))?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(Ttl::On);
    }
    conn.client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(invalid)?,
        )
        .send()
        .await
        .map_err(|e| classify(e, &ctx(conn, table)))?;
    Ok(Ttl::On)
}
