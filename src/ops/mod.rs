//! Operator commands: they act on the lease table with the operator's own credentials, so
//! IAM is the access control. Same settings (config file, flags, environment) as `run`.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::{Settings, StoreKind};
use crate::lease::LeaseRecord;
use crate::store::dynamodb::{connect, DynamoStore};
use crate::store::LeaseStore;

/// Prints one line for the operator. Lines carry text from the table (owners, identities,
/// regions) that anyone with write access to it chose: control characters are escaped, so
/// no line can clear the operator's screen, retitle the window or fake another line.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::sys::stdout::line(format_args!(
            "{}",
            $crate::sys::printable::Printable(&format!($($arg)*))
        ))
    };
}

pub mod freeze;
pub mod handover;
pub mod status;
pub mod table;

/// Opens the lease table. Operator commands can afford the SDK's retries.
pub async fn open(settings: &Settings) -> anyhow::Result<DynamoStore> {
    if settings.store != StoreKind::DynamoDb {
        bail!(
            "--store: operator commands work on the DynamoDB table; the memory store lives \
             inside one sidecar process and cannot be reached from outside"
        );
    }
    let table = settings
        .table
        .clone()
        .context("--table: no table configured")?;
    let conn = connect(&settings.connect_options(Duration::from_secs(10), 3))
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(DynamoStore::new(conn, table, settings.lease_name.clone()))
}

/// The lease item, with a message that says what to do when it cannot be read.
pub async fn read_lease(store: &DynamoStore) -> anyhow::Result<Option<LeaseRecord>> {
    store.read().await.with_context(|| {
        format!(
            "cannot read lease '{}' in table '{}'",
            store.lease_name(),
            store.table_name()
        )
    })
}

/// Who holds the lease, in words.
pub fn describe_holder(record: Option<&LeaseRecord>) -> String {
    match record {
        None => "nobody (no lease item yet)".to_string(),
        Some(r) if r.is_frozen() => "nobody: frozen (SKIP-LEASE-POD)".to_string(),
        Some(r) if r.is_released() => "nobody: released".to_string(),
        Some(r) => format!("{} (epoch {})", r.owner, r.epoch.unwrap_or(0)),
    }
}
