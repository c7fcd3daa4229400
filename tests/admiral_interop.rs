//! A mixed fleet during a migration: Admiral's own DynamoDB state checker and drlease on
//! the same lease item, on moto. The checker below is a faithful port of the reference
//! sample (Admiral's DynamoDB DR state checker, `ExecuteStateCheck` in Admiral's repo): Scan the
//! table, pick the item by leaseName, and write the whole item back with an unconditional
//! PutItem of leaseName, leaseOwner, updatedTime and notes, judging liveness by comparing
//! updatedTime with its own wall clock. (The sample scans a hard-coded "admiral-lease";
//! the port scans the configured table, as the sample's PutItem does.)

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use common::sidecar::{role_json, wait_active, Sidecar, STARTUP};
use common::wait_until;
use drlease::store::dynamodb::Connection;

const SKIP_LEASE_CHECK_POD_NAME: &str = "SKIP-LEASE-POD";
const WAIT_SECONDS: i64 = 1;
const FAILURE_THRESHOLD: i64 = 2;

#[derive(Clone, Debug, Default)]
struct ReadWriteLease {
    lease_name: String,
    lease_owner: String,
    updated_time: i64,
    notes: String,
}

/// Admiral's checker, as in the sample. `read_only` mirrors CurrentAdmiralState.ReadOnly.
struct AdmiralChecker {
    conn: Connection,
    table: String,
    lease_name: String,
    pod: String,
    read_only: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

fn now_secs() -> i64 {
    drlease::sys::clock::wall_ms() / 1000
}

impl AdmiralChecker {
    async fn get_read_write_leases(&self) -> Result<Vec<ReadWriteLease>, String> {
        let out = self
            .conn
            .client
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // The sample reuses one struct across items (fields of one item leak into the
        // next when absent); the port does the same.
        let mut item = ReadWriteLease::default();
        let mut leases = Vec::new();
        for v in out.items() {
            if let Some(AttributeValue::S(s)) = v.get("leaseName") {
                item.lease_name = s.clone();
            }
            if let Some(AttributeValue::S(s)) = v.get("leaseOwner") {
                item.lease_owner = s.clone();
            }
            if let Some(AttributeValue::N(n)) = v.get("updatedTime") {
                item.updated_time = n
                    .parse()
                    .map_err(|_| "Failed to unmarshall record".to_string())?;
            }
            if let Some(AttributeValue::S(s)) = v.get("notes") {
                item.notes = s.clone();
            }
            leases.push(item.clone());
        }
        Ok(leases)
    }

    async fn updated_read_write_lease(&self, lease: &ReadWriteLease) {
        let item = HashMap::from([
            (
                "leaseName".to_string(),
                AttributeValue::S(lease.lease_name.clone()),
            ),
            (
                "leaseOwner".to_string(),
                AttributeValue::S(lease.lease_owner.clone()),
            ),
            (
                "updatedTime".to_string(),
                AttributeValue::N(lease.updated_time.to_string()),
            ),
            ("notes".to_string(), AttributeValue::S(lease.notes.clone())),
        ]);
        let _ = self
            .conn
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await;
    }

    async fn execute_state_check(&self) {
        let current_time = now_secs();
        let leases = match self.get_read_write_leases().await {
            Ok(l) => l,
            Err(_) => {
                self.read_only.store(true, Ordering::SeqCst);
                return;
            }
        };
        let mut lease = leases
            .into_iter()
            .find(|l| l.lease_name == self.lease_name)
            .unwrap_or_else(|| ReadWriteLease {
                lease_name: self.lease_name.clone(),
                notes: format!("Created at {current_time}"),
                ..Default::default()
            });
        if lease.lease_owner.is_empty() {
            lease.lease_owner = self.pod.clone();
            lease.updated_time = current_time;
            self.updated_read_write_lease(&lease).await;
        } else if lease.lease_owner == SKIP_LEASE_CHECK_POD_NAME {
            self.read_only.store(true, Ordering::SeqCst);
        } else if lease.lease_owner == self.pod {
            self.read_only.store(false, Ordering::SeqCst);
            lease.updated_time = current_time;
            self.updated_read_write_lease(&lease).await;
        } else if lease.updated_time < current_time - WAIT_SECONDS * FAILURE_THRESHOLD {
            lease.lease_owner = self.pod.clone();
            lease.updated_time = current_time;
            self.updated_read_write_lease(&lease).await;
        } else {
            self.read_only.store(true, Ordering::SeqCst);
        }
    }

    /// runStateCheck: starts read-only, checks at once, then every waitTimeInSeconds.
    fn spawn(self) {
        self.read_only.store(true, Ordering::SeqCst);
        tokio::spawn(async move {
            while !self.stop.load(Ordering::SeqCst) {
                self.execute_state_check().await;
                tokio::time::sleep(Duration::from_secs(WAIT_SECONDS as u64)).await;
            }
        });
    }
}

struct Admiral {
    read_only: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Admiral {
    fn start(conn: &Connection, table: &str, lease: &str, pod: &str) -> Admiral {
        let read_only = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        AdmiralChecker {
            conn: conn.clone(),
            table: table.into(),
            lease_name: lease.into(),
            pod: pod.into(),
            read_only: read_only.clone(),
            stop: stop.clone(),
        }
        .spawn();
        Admiral { read_only, stop }
    }

    fn writes(&self) -> bool {
        !self.read_only.load(Ordering::SeqCst)
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// drlease with the same settings as the Admiral pods (Admiral's DR file values).
fn drlease(endpoint: &str, table: &str, lease: &str, identity: &str) -> Sidecar {
    Sidecar::start(
        identity,
        &common::lease_args(endpoint, table, lease, "1s", "2"),
    )
}

const LEASE: Duration = Duration::from_secs((WAIT_SECONDS * FAILURE_THRESHOLD) as u64);

#[tokio::test(flavor = "multi_thread")]
async fn drlease_treats_admirals_renewals_as_live_and_takes_over_when_they_stop() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let admiral = Admiral::start(&conn, &table, "mixed", "admiral-0");
    // Admiral creates the lease, then takes it read-write on its next check.
    tokio::time::timeout(Duration::from_secs(5), async {
        while !admiral.writes() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("Admiral's checker holds the lease");

    let d = drlease(&endpoint, &table, "mixed", "drlease-0");
    wait_until(STARTUP, || d.role().as_deref() == Some("passive")).expect("passive");
    let watching = Instant::now();
    while watching.elapsed() < LEASE * 3 {
        assert!(
            !d.is_active(),
            "drlease took over a lease Admiral keeps renewing"
        );
        assert_eq!(role_json(d.port).unwrap()["holder"], "admiral-0");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    admiral.stop();
    let stopped = Instant::now();
    let took = wait_until(LEASE + Duration::from_secs(3), || d.is_active())
        .unwrap_or_else(|| panic!("drlease did not take over:\n{}", d.logs()));
    eprintln!(
        "drlease took over {:?} after Admiral's checker stopped ({took:?} of polling)",
        stopped.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admiral_treats_drleases_renewals_as_live_and_takes_over_when_they_stop() {
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    let mut d = drlease(&endpoint, &table, "mixed", "drlease-0");
    wait_until(STARTUP, || d.is_active()).expect("drlease holds the lease");

    let tenure = wait_active(&d, LEASE).expect("drlease answers active");
    let admiral = Admiral::start(&conn, &table, "mixed", "admiral-1");
    let watching = Instant::now();
    while watching.elapsed() < LEASE * 3 {
        assert!(
            !admiral.writes(),
            "Admiral took over a lease drlease keeps renewing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // drlease kept its tenure throughout (a renewal late past its deadline would make it
    // answer passive for a moment, in the same tenure: judged by the tenure, not one look).
    assert_eq!(
        wait_active(&d, LEASE).map(|v| v.epoch),
        Some(tenure.epoch),
        "drlease lost the lease while Admiral watched"
    );

    d.kill9();
    let killed = Instant::now();
    tokio::time::timeout(LEASE + Duration::from_secs(4), async {
        while !admiral.writes() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("Admiral's checker takes over once drlease stops renewing");
    eprintln!(
        "Admiral took over {:?} after drlease was killed",
        killed.elapsed()
    );
    admiral.stop();
}
