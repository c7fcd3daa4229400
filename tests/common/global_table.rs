//! A multi-Region eventually consistent (MREC) global table on loopback: one moto server
//! per region, each behind a proxy of ours that forwards every request to its own region's
//! server (so conditions are checked against that replica only) and replicates every write
//! that landed to the other regions after a lag, last writer wins by write time. A
//! partition holds replication back; the heal delivers what was held, as DynamoDB does.
//!
//! `DescribeTable` answers as a real global table's description does (MREC of both
//! regions by default; an MRSC description, a replica added, or a refusal on demand:
//! `describe_as`).
//!
//! Write time is the proxy's own monotonic clock, shared by both regions: replicas agree
//! on which write is the latest, as DynamoDB's regions do within their clock error.
//!
//! The other models of such a table (the core's tests, the simulation, the model checker)
//! share `drlease::lease::replication::Replica`, which holds the items and checks the
//! conditions itself. Here moto holds the items and checks the conditions, as DynamoDB
//! does, written as the DynamoDB store's own condition expressions: that is what this
//! emulator tests. So the proxy keeps only the shared per-key stamp book
//! (`replication::StampBook`) and applies a replicated write by it (last writer wins).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::sidecar::free_port;
use drlease::lease::replication::StampBook;

mod describe;
pub use describe::Description;

type Item = HashMap<String, AttributeValue>;
/// (table, partition key value): one item of one replica.
type ItemId = (String, String);

/// One region: its moto server, its proxy, and what the proxy knows of its replica.
struct Replica {
    name: String,
    client: Client,
    upstream: SocketAddr,
    /// Write time of the version each item has in this replica.
    written_at: tokio::sync::Mutex<StampBook<ItemId, u128>>,
}

/// A write that landed, on its way to another replica.
#[derive(Clone)]
struct Replication {
    to: usize,
    id: ItemId,
    /// The item after the write; `None` when the write deleted it.
    image: Option<Item>,
    at: u128,
}

struct Shared {
    replicas: Vec<Replica>,
    epoch: Instant,
    lag: Mutex<(Duration, Duration)>,
    partitioned: Mutex<bool>,
    held: Mutex<Vec<Replication>>,
    /// Writes replicated (applied, dropped by last-writer-wins) so far.
    applied: Mutex<(u64, u64)>,
    /// What `DescribeTable` answers.
    description: Mutex<Description>,
}

pub struct GlobalTable {
    shared: Arc<Shared>,
    runtime: Arc<tokio::runtime::Runtime>,
    motos: Vec<Child>,
    /// The proxy's port per region: a sidecar of that region uses `endpoint(i)`.
    ports: Vec<u16>,
}

pub const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

impl GlobalTable {
    /// Starts one moto server per region and a replicating proxy in front of each, with
    /// replication after `lag` (plus up to `jitter`). `None` outside scripts/test.sh.
    pub fn start(lag: Duration, jitter: Duration) -> Option<GlobalTable> {
        super::endpoint()?;
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        );
        let mut motos = Vec::new();
        let mut replicas = Vec::new();
        for name in REGIONS {
            let port = free_port();
            motos.push(super::moto::start_moto(port));
            let endpoint = format!("http://127.0.0.1:{port}");
            replicas.push(Replica {
                name: name.to_string(),
                client: super::connection_in(&endpoint, name, Duration::from_secs(60)).client,
                upstream: format!("127.0.0.1:{port}").parse().unwrap(),
                written_at: Default::default(),
            });
        }
        let shared = Arc::new(Shared {
            replicas,
            epoch: Instant::now(),
            lag: Mutex::new((lag, jitter)),
            partitioned: Mutex::new(false),
            held: Mutex::new(Vec::new()),
            applied: Mutex::new((0, 0)),
            description: Mutex::new(Description::default()),
        });
        let mut ports = Vec::new();
        for i in 0..REGIONS.len() {
            let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
            ports.push(listener.local_addr().unwrap().port());
            let shared = shared.clone();
            runtime.spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(req, i, shared.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(client), service)
                            .await;
                    });
                }
            });
        }
        Some(GlobalTable {
            shared,
            runtime,
            motos,
            ports,
        })
    }

    pub fn region(&self, i: usize) -> &str {
        &self.shared.replicas[i].name
    }

    /// Where region `i`'s sidecars and operators send their requests.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// What every sidecar of region `i` on this emulator is given: the store, its region's
    /// endpoint and name, the table and the lease, and the timing.
    pub fn sidecar_args(
        &self,
        i: usize,
        table: &str,
        lease: &str,
        interval: &str,
        threshold: &str,
        confirm: &str,
    ) -> Vec<String> {
        let endpoint = self.endpoint(i);
        [
            "--store",
            "dynamodb",
            "--endpoint-url",
            &endpoint,
            "--region",
            self.region(i),
            "--table",
            table,
            "--lease-name",
            lease,
            "--interval",
            interval,
            "--failure-threshold",
            threshold,
            "--confirm-delay",
            confirm,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Creates the lease table in every region (a global table's replicas).
    pub fn create_table(&self, table: &str) {
        for r in &self.shared.replicas {
            let conn = drlease::store::dynamodb::Connection {
                client: r.client.clone(),
                region: r.name.clone(),
                call_timeout: Duration::from_secs(60),
            };
            self.runtime.block_on(async {
                drlease::store::dynamodb::table::create_table(&conn, table)
                    .await
                    .expect("create table");
                drlease::store::dynamodb::table::wait_active(&conn, table, Duration::from_secs(60))
                    .await
                    .expect("table active");
            });
        }
    }

    /// Changes what `DescribeTable` answers from now on (MREC of the two regions at start).
    pub fn describe_as(&self, d: Description) {
        *self.shared.description.lock().unwrap() = d;
    }

    /// Cuts replication between the regions (each replica still serves its own region).
    pub fn partition(&self) {
        *self.shared.partitioned.lock().unwrap() = true;
    }

    /// Resumes replication and delivers every write held back, oldest first.
    pub fn heal(&self) {
        *self.shared.partitioned.lock().unwrap() = false;
        let mut held = std::mem::take(&mut *self.shared.held.lock().unwrap());
        held.sort_by_key(|r| r.at);
        let shared = self.shared.clone();
        self.runtime.block_on(async move {
            for r in held {
                apply(&shared, r).await;
            }
        });
    }

    /// Writes replicated so far: applied, and dropped because the replica had a newer one.
    pub fn replicated(&self) -> (u64, u64) {
        *self.shared.applied.lock().unwrap()
    }
}

impl Drop for GlobalTable {
    fn drop(&mut self) {
        for m in &mut self.motos {
            let _ = m.kill();
            let _ = m.wait();
        }
    }
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// The DynamoDB operation of a request, from its X-Amz-Target header.
fn operation<B>(request: &Request<B>) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('.').next())
        .unwrap_or("")
        .to_string()
}

/// The item a write request names: its table and partition key value.
fn item_id(op: &str, body: &[u8]) -> Option<ItemId> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let table = v["TableName"].as_str()?.to_string();
    let key = match op {
        "PutItem" => &v["Item"]["leaseName"],
        _ => &v["Key"]["leaseName"],
    };
    Some((table, key["S"].as_str()?.to_string()))
}

async fn handle(
    request: Request<Incoming>,
    region: usize,
    shared: Arc<Shared>,
) -> Result<Response<ProxyBody>, Box<dyn std::error::Error + Send + Sync>> {
    let op = operation(&request);
    if op == "DescribeTable" && shared.description.lock().unwrap().denied {
        return Ok(describe::denied(&shared.replicas[region].name));
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let replica = &shared.replicas[region];
    let id = matches!(op.as_str(), "PutItem" | "UpdateItem" | "DeleteItem")
        .then(|| item_id(&op, &body))
        .flatten();
    // Writes of one replica pass one at a time, so the image read back is this write's.
    let guard = match &id {
        Some(_) => Some(replica.written_at.lock().await),
        None => None,
    };
    let stream = TcpStream::connect(replica.upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (head, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    if op == "DescribeTable" {
        return Ok(describe::answer(&shared, region, head, &body));
    }
    if let (Some(id), Some(mut written)) = (id, guard) {
        if head.status.is_success() {
            let image = replica
                .client
                .get_item()
                .table_name(&id.0)
                .key("leaseName", AttributeValue::S(id.1.clone()))
                .consistent_read(true)
                .send()
                .await?
                .item()
                .cloned();
            let at = shared.epoch.elapsed().as_nanos();
            written.record(id.clone(), at);
            drop(written);
            let (lag, jitter) = *shared.lag.lock().unwrap();
            for to in (0..shared.replicas.len()).filter(|&j| j != region) {
                let r = Replication {
                    to,
                    id: id.clone(),
                    image: image.clone(),
                    at,
                };
                let delay = lag + jitter.mul_f64(random_unit());
                let shared = shared.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    if *shared.partitioned.lock().unwrap() {
                        shared.held.lock().unwrap().push(r);
                        return;
                    }
                    apply(&shared, r).await;
                });
            }
        }
    }
    Ok(Response::from_parts(
        head,
        Full::new(body).map_err(|never| match never {}).boxed(),
    ))
}

/// Applies a replicated write unless the replica already has a newer one of that item.
async fn apply(shared: &Shared, r: Replication) {
    let replica = &shared.replicas[r.to];
    let mut written = replica.written_at.lock().await;
    if !written.is_later(&r.id, &r.at) {
        shared.applied.lock().unwrap().1 += 1;
        return;
    }
    let done = match &r.image {
        Some(item) => replica
            .client
            .put_item()
            .table_name(&r.id.0)
            .set_item(Some(item.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => replica
            .client
            .delete_item()
            .table_name(&r.id.0)
            .key("leaseName", AttributeValue::S(r.id.1.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    match done {
        Ok(()) => {
            written.record(r.id, r.at);
            shared.applied.lock().unwrap().0 += 1;
        }
        Err(e) => eprintln!("replication to {} failed: {e}", replica.name),
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) as f64 / u64::MAX as f64
}
