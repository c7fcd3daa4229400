//! `drlease run`: start-up as build -> spawn -> shut down. `build` makes every part and
//! binds the listeners (nothing is decided yet), `spawn` starts the tasks, and
//! `shutdown` waits for SIGTERM / SIGINT, stops granting write windows and releases the
//! lease before the process exits.

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Settings, StoreKind};
use crate::store::dynamodb::{connect, DynamoStore};
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
            run_on(settings, store, clock, None).await
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
            if settings.peer_regions.contains(&conn.region) {
                anyhow::bail!(
                    "--peer-regions lists {}, this pod's own region: list only the other regions",
                    conn.region
                );
            }
            // The region marks are keyed by the region the SDK resolved.
            settings.region = Some(conn.region.clone());
            let store = DynamoStore::new(conn, table, settings.lease_name.clone());
            let heartbeats = settings.heartbeat.then(|| store.clone());
            run_on(settings, store, clock, heartbeats).await
        }
    }
}

/// The daemon on one store, from the signal handlers to the exit.
async fn run_on<S: LeaseStore + HistoryStore>(
    settings: Settings,
    store: S,
    clock: Arc<dyn Clock>,
    heartbeats: Option<DynamoStore>,
) -> anyhow::Result<()> {
    // Before anything is served: see `ShutdownSignals`.
    let mut signals = ShutdownSignals::install()?;
    let built = build::build(&settings, clock.clone()).await?;
    let running = spawn::spawn(built, store, heartbeats, &settings, clock.clone());
    shutdown::shut_down(running, &mut signals, &clock).await
}
