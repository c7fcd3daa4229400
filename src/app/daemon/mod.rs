//! `drlease run`: start-up as build -> spawn -> shut down. `build` makes every part and
//! binds the listeners (nothing is decided yet), `spawn` starts the tasks, and
//! `shutdown` waits for SIGTERM / SIGINT, stops granting write windows and releases the
//! lease before the process exits.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use tracing::{info, warn};

use crate::config::region_name::check_region;
use crate::config::table_rules::{read_table_rules, RulesError};
use crate::config::{Settings, StoreKind};
use crate::run::metrics::Metrics;
use crate::run::table_watch::{self, Reread, TableState};
use crate::store::dynamodb::describe::TableShape;
use crate::store::dynamodb::{connect, Connection, DynamoStore};
use crate::store::memory::MemoryStore;
use crate::store::HistoryStore;
use crate::store::LeaseStore;
use crate::store::StoreError;
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
            let store = DynamoStore::new(conn.clone(), table.clone(), settings.lease_name.clone());
            let watch = table_rules(&mut settings, conn, table, &store).await?;
            let heartbeats = settings.heartbeat.then(|| store.clone());
            run_on(settings, store, clock, heartbeats, Some(watch)).await
        }
    }
}

/// What the table is, read before anything is served: the rules it implies are settled
/// into `settings` (the peer regions of an MREC table), or the start refused. A table not
/// there yet, or an endpoint that does not answer, starts the pod passive with its lease
/// calls held back until the description is read (`table_watch::settle_later`).
async fn table_rules(
    settings: &mut Settings,
    conn: Connection,
    table: String,
    store: &DynamoStore,
) -> anyhow::Result<TableWatch> {
    let rules = match read_table_rules(settings, &conn, &table).await {
        Ok(rules) => rules,
        Err(RulesError::Unread(e, message)) if may_pass(&e) => {
            warn!("{message}; this pod stays passive, its lease calls held back, and reads the description again every interval");
            store.hold_back(Some(e));
            return Ok(TableWatch {
                state: Arc::new(TableState::unread(&settings.peer_regions)),
                store: store.clone(),
                conn,
                table,
                shape: None,
                outside_rule: false,
            });
        }
        Err(e) => return Err(e.into()),
    };
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
        store: store.clone(),
        conn,
        table,
        outside_rule: rules.outside_rule.is_some(),
        shape: Some(rules.shape),
    })
}

/// Reasons a description may be readable a little later: the pod waits for them passive.
/// A refused permission (or credentials) stops the start, naming it.
fn may_pass(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::TableMissing(_)
            | StoreError::Unavailable(_)
            | StoreError::Timeout(_)
            | StoreError::Throttled(_)
    )
}

/// The table's state for `/role`, and what the re-read task needs. `shape`: the
/// description read at start (`Some(Some)`), not read because the mode is stated by hand
/// (`Some(None)`: nothing to re-read), or not read yet (`None`).
struct TableWatch {
    state: Arc<TableState>,
    store: DynamoStore,
    conn: Connection,
    table: String,
    shape: Option<Option<TableShape>>,
    outside_rule: bool,
}

impl TableWatch {
    /// Starts the re-read task, or the wait for a description not read at start.
    fn spawn(self, settings: &Settings, metrics: Arc<Metrics>) {
        metrics.set_outside_rule(self.outside_rule);
        let w = Reread {
            conn: self.conn,
            table: self.table,
            state: self.state,
            metrics,
            period: settings.table_mode.reread,
        };
        match self.shape {
            Some(Some(shape)) => {
                tokio::spawn(table_watch::run(w, shape));
            }
            Some(None) => {}
            None => {
                let every = settings.timing.interval.min(Duration::from_secs(5));
                tokio::spawn(table_watch::settle_later(
                    w,
                    settings.clone(),
                    self.store,
                    every,
                ));
            }
        }
    }
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
        w.spawn(&settings, built.metrics.clone());
    }
    let running = spawn::spawn(built, store, heartbeats, &settings, clock.clone());
    shutdown::shut_down(running, &mut signals, &clock).await
}
