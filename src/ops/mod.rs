//! Operator commands: they act on the lease table with the operator's own credentials, so
//! IAM is the access control. Same settings (config file, flags, environment) as `run`.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::{Settings, StoreKind};
use crate::lease::LeaseRecord;
use crate::store::dynamodb::heartbeat::Heartbeat;
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

/// How `status` and `history` print: lines for a person, or one JSON document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub mod check;
pub mod freeze;
pub mod handover;
pub mod history;
pub mod status;
pub mod table;

/// Whether the settings can drive an operator command at all: a settings error (exit 2,
/// like every other bad setting), told before anything is tried.
pub fn check_settings(settings: &Settings) -> Result<(), String> {
    if settings.store != StoreKind::DynamoDb {
        return Err(
            "--store: operator commands work on the DynamoDB table; the memory store \
                    lives inside one sidecar process and cannot be reached from outside: \
                    give --store dynamodb (or leave it out) and the table's settings"
                .into(),
        );
    }
    Ok(())
}

/// Opens the lease table. Operator commands can afford the SDK's retries.
pub async fn open(settings: &Settings) -> anyhow::Result<DynamoStore> {
    check_settings(settings).map_err(anyhow::Error::msg)?;
    let table = settings
        .table
        .clone()
        .context("--table: no table configured")?;
    let conn = connect(&settings.connect_options(Duration::from_secs(10), 3))
        .await
        .map_err(anyhow::Error::msg)?;
    // Regions are compared by name (the holder's heartbeat, the marks): one spelling.
    crate::config::region_name::check_region(&conn.region)
        .map_err(|e| anyhow::anyhow!("the AWS region (from --region or AWS_REGION): {e}"))?;
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

/// The holder's heartbeat, if it is alive by this machine's clock.
pub fn live_heartbeat<'a>(candidates: &'a [Heartbeat], holder: &str) -> Option<&'a Heartbeat> {
    let now = crate::sys::clock::wall_ms();
    candidates
        .iter()
        .find(|c| c.identity == holder && c.alive_at(now))
}

/// On a multi-Region eventually consistent table a write to another region's replica
/// races the holder's renewals there, and the latest write wins: a handover request or a
/// freeze would be overwritten (or write an old version back over a renewal). Refuse
/// rather than report a change that does not hold. A holder without a live heartbeat
/// (dead, or `--heartbeat false`) renews nowhere, or cannot be told: nothing to refuse.
pub fn holder_region_is_here(
    store: &DynamoStore,
    heartbeat: Option<&Heartbeat>,
    holder: &str,
    command: &str,
) -> anyhow::Result<()> {
    let here = &store.connection().region;
    if let Some(h) = heartbeat {
        if !h.region.is_empty() && &h.region != here {
            bail!(
                "the holder {holder} runs in region {}, this command writes to {here}'s replica: \
                 on a global table the holder's renewals there would overwrite it; run the \
                 {command} against {} (--region {}, or its endpoint); nothing was written",
                h.region,
                h.region,
                h.region
            );
        }
    }
    Ok(())
}
