//! `drlease create-table`.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Settings;
use crate::lease::operator;
use crate::store::dynamodb::table::{create_table, enable_ttl, wait_active, Ttl};
use crate::store::dynamodb::DynamoStore;
use crate::store::{LeaseStore, StoreError};
use crate::sys::duration::format_duration;
use crate::sys::token::random_token;

pub async fn run(settings: &Settings, wait: bool) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let conn = store.connection();
    let table = store.table_name();
    let created_at = Instant::now();
    let created = create_table(conn, table)
        .await
        .with_context(|| format!("cannot create table '{table}'"))?;
    if !created {
        say!("table {table} already exists with the right key schema; its items are left as they are");
        if !wait {
            return Ok(());
        }
    } else {
        say!(
            "created table {table} in {} (partition key leaseName, on-demand)",
            conn.region
        );
    }
    wait_active(conn, table, Duration::from_secs(300))
        .await
        .with_context(|| format!("table '{table}' did not become usable"))?;
    let ttl = enable_ttl(conn, table)
        .await
        .with_context(|| format!("cannot turn on TTL for table '{table}'"))?;
    match ttl {
        Ttl::On => {
            say!("table {table} is ACTIVE; TTL on expiresAt is on (expires heartbeat items)")
        }
        Ttl::NotSupported => say!(
            "table {table} is ACTIVE; it is multi-Region strongly consistent (MRSC), where \
             DynamoDB does not support TTL: heartbeat items (one per pod) are not expired; \
             sidecars delete their own on shutdown, and any left behind are safe to delete \
             once a day older than their expiresAt"
        ),
    }
    if created {
        seed(settings, &store, created_at).await?;
    }
    Ok(())
}

/// Writes the released lease item into the table just created, so the first candidate is
/// active at once instead of timing an empty table for a lease duration. Not before one
/// lease duration has passed since the table was created: a table of the same name deleted
/// under a live holder leaves that holder active until its validity runs out, and the seed
/// is the one item a fresh candidate takes at once.
async fn seed(settings: &Settings, store: &DynamoStore, created_at: Instant) -> anyhow::Result<()> {
    let lease = &settings.lease_name;
    // The longest lease any pod may hold by (`--longest-lease`, at least our own): a holder
    // of the deleted table with longer settings must have run out first.
    let lease_duration = settings.timing.longest_lease;
    let left = lease_duration.saturating_sub(created_at.elapsed());
    if !left.is_zero() {
        say!(
            "waiting {} (one lease duration since the table was created) before seeding lease {lease}",
            format_duration(left)
        );
        tokio::time::sleep(left).await;
    }
    let req = operator::seed(random_token()?, lease_duration.as_millis() as u64);
    match store.write(&req).await {
        Ok(_) => {
            say!(
                "seeded lease {lease}: released, epoch 0; the first candidate acquires it at once"
            );
            Ok(())
        }
        Err(StoreError::ConditionFailed) => {
            say!("lease {lease} already has an item (a candidate wrote it first); left as it is");
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot seed lease '{lease}' (candidates still start, a lease duration later)"
        ))),
    }
}
