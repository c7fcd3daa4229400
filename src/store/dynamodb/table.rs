//! Creating the lease table: partition key `leaseName` (S), on-demand billing.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};

use super::errors::{classify, CallContext};
use super::item;
use super::Connection;
use crate::store::StoreError;

/// Creates the table if it does not exist; returns whether it created it.
pub async fn create_table(conn: &Connection, table: &str) -> Result<bool, StoreError> {
    let ctx = CallContext {
        table,
        region: &conn.region,
        timeout: conn.call_timeout,
    };
    let result = conn
        .client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(item::KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Rejected(e.to_string()))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(item::KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| StoreError::Rejected(e.to_string()))?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) => {
            use aws_sdk_dynamodb::error::ProvideErrorMetadata;
            if e.code() == Some("ResourceInUseException") {
                Ok(false)
            } else {
                Err(classify(e, &ctx))
            }
        }
    }
}

/// Waits until the table is ACTIVE, up to `limit`.
pub async fn wait_active(
    conn: &Connection,
    table: &str,
    limit: Duration,
) -> Result<(), StoreError> {
    let ctx = CallContext {
        table,
        region: &conn.region,
        timeout: conn.call_timeout,
    };
    let start = tokio::time::Instant::now();
    loop {
        let out = conn
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| classify(e, &ctx))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
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
