//! `drlease run`: start-up as build -> spawn -> shut down. `build` makes every part and
//! binds the listeners (nothing is decided yet), `spawn` starts the tasks, and
//! `shutdown` waits for SIGTERM / SIGINT, stops granting write windows and releases the
//! lease before the process exits.

use std::sync::Arc;

use anyhow::Context;

use tracing::{info, warn};

use crate::config::region_name::check_region;
use crate::config::table_rules::read_table_rules;
use crate::config::{Settings, StoreKind};
use crate::run::table_watch::TableState;
use crate::store::dynamodb::describe::TableShape;
use crate::store::dynamodb::{connect, Connection, DynamoStore};
use crate::store::memory::MemoryStore;
use crate::store::HistoryStore;
use crate::store::LeaseStore;
use crate::sys::clock::{BootClock, Clock};

mod build;
mod shutdown;
mod spawn;

use shutdown::ShutdownSignals;

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(BootClock);
    match settings.store {
        StoreKind::Memory => {
            let store = MemoryStore::new(settings.lease_name.clone());
            run_on(settings, store, clock, None, None).await
        }
        StoreKind::DynamoDb => {
            let table = settings
                .table
                .clone()
                .context("--table: no table configured")?;
            // The loop retries on its own schedule: no SDK retries inside a call.
            let conn = connect(&settings.connect_options(settings.timing.call_timeout(), 1))
                .await
                .map_err(anyhow::Error::msg)?;
            check_region(&conn.region).map_err(|e| {
                anyhow::anyhow!("the AWS region (from --region or AWS_REGION): {e}")
            })?;
            if settings.peer_regions.contains(&conn.region) {
                anyhow::bail!(
                    "--peer-regions lists {}, this pod's own region: list only the other regions",
                    conn.region
                );
            }
            // The region marks are keyed by the region the SDK resolved.
            settings.region = Some(conn.region.clone());
            let watch = table_rules(&mut settings, &conn, &table).await?;
            let store = DynamoStore::new(conn, table, settings.lease_name.clone());
            let heartbeats = settings.heartbeat.then(|| store.clone());
            run_on(settings, store, clock, heartbeats, Some(watch)).await
        }
    }
}

/// What the table is, read before anything is served: the rules it implies are settled
/// into `settings` (the peer regions of an MREC table), or the start refused.
async fn table_rules(
    settings: &mut Settings,
    conn: &Connection,
    table: &str,
) -> anyhow::Result<TableWatch> {
    let rules = read_table_rules(settings, conn, table).await?;
    for note in &rules.notes {
        warn!("{note}");
    }
    if let Some(why) = &rules.outside_rule {
        warn!("the promise is outside its rule: {why}");
    }
    let from_table: Vec<String> = rules
        .from_table
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    info!(
        mode = rules.mode.as_str(),
        replica_regions = %rules.shape.as_ref().map(|s| s.replicas.join(",")).unwrap_or_default(),
        peer_regions = %settings.peer_regions.join(","),
        from_table = %from_table.join(" "),
        stated_by_hand = rules.shape.is_none(),
        "the table"
    );
    Ok(TableWatch {
        state: Arc::new(TableState::new(&rules, &settings.peer_regions)),
        reread: rules
            .shape
            .map(|shape| (conn.clone(), table.to_string(), shape)),
        outside_rule: rules.outside_rule.is_some(),
    })
}

/// The table's state for `/role`, and what the re-read task needs (none when the mode was
/// stated by hand: then the description is not read at all).
struct TableWatch {
    state: Arc<TableState>,
    reread: Option<(Connection, String, TableShape)>,
    outside_rule: bool,
}

/// The daemon on one store, from the signal handlers to the exit.
async fn run_on<S: LeaseStore + HistoryStore>(
    settings: Settings,
    store: S,
    clock: Arc<dyn Clock>,
    heartbeats: Option<DynamoStore>,
    watch: Option<TableWatch>,
) -> anyhow::Result<()> {
    // Before anything is served: see `ShutdownSignals`.
    let mut signals = ShutdownSignals::install()?;
    let state = watch.as_ref().map(|w| w.state.clone());
    let built = build::build(&settings, clock.clone(), state).await?;
    if let Some(w) = watch {
        built.metrics.set_outside_rule(w.outside_rule);
        if let Some((conn, table, shape)) = w.reread {
            tokio::spawn(crate::run::table_watch::run(
                conn,
                table,
                shape,
                w.state,
                built.metrics.clone(),
                settings.table_mode.reread,
            ));
        }
    }
    let running = spawn::spawn(built, store, heartbeats, &settings, clock.clone());
    shutdown::shut_down(running, &mut signals, &clock).await
}
