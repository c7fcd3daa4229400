//! `drlease create-table`.

use std::time::Duration;

use anyhow::Context;

use crate::config::Settings;
use crate::store::dynamodb::table::{create_table, enable_ttl, wait_active};

pub async fn run(settings: &Settings, wait: bool) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let conn = store.connection();
    let table = store.table_name();
    let created = create_table(conn, table)
        .await
        .with_context(|| format!("cannot create table '{table}'"))?;
    if created {
        println!(
            "created table {table} in {} (partition key leaseName, on-demand)",
            conn.region
        );
    } else {
        println!("table {table} already exists with the right key schema");
    }
    if !wait {
        println!("run `drlease create-table --wait` to wait until it is ACTIVE and turn on TTL for the heartbeat items");
        return Ok(());
    }
    wait_active(conn, table, Duration::from_secs(300))
        .await
        .with_context(|| format!("table '{table}' did not become usable"))?;
    enable_ttl(conn, table)
        .await
        .with_context(|| format!("cannot turn on TTL for table '{table}'"))?;
    println!("table {table} is ACTIVE; TTL on expiresAt is on (expires heartbeat items)");
    Ok(())
}
