//! A fault-injecting HTTP proxy between one sidecar and the store, for the chaos tests.
//! A hyper server takes each request, applies the current fault, and forwards it over a
//! hyper client connection of its own (one upstream connection per client connection), so
//! HTTP framing is hyper's, whatever the SDK and moto send.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Pass,
    /// Hold each request this long before forwarding it (it still lands).
    Latency(Duration),
    /// Swallow requests: no answer, the connection stays open.
    Blackhole,
    /// Reset the connection as soon as a request arrives.
    Reset,
    /// Answer with this status and DynamoDB error code instead of forwarding.
    Error {
        status: u16,
        code: &'static str,
    },
    /// Pass, until a request whose body contains `marker` arrives: that one lands, its
    /// answer is swallowed, and from then on the proxy is a black hole (a write that landed
    /// with its reply lost, then a link that drops every byte).
    LoseReplyThenBlackhole {
        marker: &'static str,
    },
    /// This fault for one DynamoDB operation (lower-case, e.g. `scan`); the rest pass.
    Only {
        op: &'static str,
        fault: Box<Fault>,
    },
}

type Counts = Arc<Mutex<HashMap<String, u64>>>;

pub struct FaultProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    counts: Counts,
    _runtime: Arc<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port, on its own runtime thread.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
        );
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let counts: Counts = Arc::default();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (f, c) = (fault.clone(), counts.clone());
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (f, c) = (f.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = serve(client, upstream, f, c).await;
                });
            }
        });
        FaultProxy {
            port,
            fault,
            counts,
            _runtime: runtime,
        }
    }

    /// Requests seen so far, by DynamoDB operation (`getitem`, `updateitem`, ...).
    pub fn counts(&self) -> HashMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }

    pub fn reset_counts(&self) {
        self.counts.lock().unwrap().clear();
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// The fault in force now (a fault may change itself, e.g. to a black hole).
    pub fn fault(&self) -> Fault {
        self.fault.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;
type Upstream = Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>;

/// The DynamoDB operation of a request, from its X-Amz-Target header, lower-cased.
fn operation(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('.').next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "other".into())
}

/// A DynamoDB-style error answer, as the service would send it.
fn error_answer(status: u16, code: &str) -> Response<ProxyBody> {
    let body = format!(
        "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"injected by the chaos proxy\"}}"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", code)
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("a valid response")
}

/// Why the proxy dropped a connection on purpose (a reset).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the chaos proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    request: Request<Incoming>,
    upstream_addr: SocketAddr,
    upstream: Upstream,
    fault: Arc<Mutex<Fault>>,
    counts: Counts,
) -> Result<Response<ProxyBody>, Box<dyn std::error::Error + Send + Sync>> {
    let op = operation(&request);
    *counts.lock().unwrap().entry(op.clone()).or_default() += 1;
    let current = match fault.lock().unwrap().clone() {
        Fault::Only { op: only, fault } if only == op => *fault,
        Fault::Only { .. } => Fault::Pass,
        other => other,
    };
    // The body is read whole (DynamoDB requests are small) so a fault can look into it.
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut lose_reply = false;
    match current {
        Fault::Pass | Fault::Only { .. } => {}
        Fault::LoseReplyThenBlackhole { marker } => {
            lose_reply = body.windows(marker.len()).any(|w| w == marker.as_bytes());
        }
        Fault::Latency(d) => tokio::time::sleep(d).await,
        // Never answer: the client times out, the connection stays open until it gives up.
        Fault::Blackhole => std::future::pending::<()>().await,
        // Failing the service makes hyper drop the connection; linger 0 makes that a reset.
        Fault::Reset => return Err(Box::new(Dropped)),
        Fault::Error { status, code } => return Ok(error_answer(status, code)),
    }
    let mut slot = upstream.lock().await;
    if slot.as_ref().is_none_or(|s| s.is_closed()) {
        let stream = TcpStream::connect(upstream_addr).await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        *slot = Some(sender);
    }
    let sender = slot.as_mut().expect("connected above");
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    if lose_reply {
        // Landed: read the store's answer to the end, then never pass it on.
        let _ = response.into_body().collect().await;
        *fault.lock().unwrap() = Fault::Blackhole;
        return std::future::pending().await;
    }
    Ok(response.map(|body| body.boxed()))
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    counts: Counts,
) -> Result<(), hyper::Error> {
    // Linger 0: a connection the proxy drops on purpose is reset, not closed; it does not
    // block (the deprecation warns about non-zero lingers).
    #[allow(deprecated)]
    let _ = client.set_linger(Some(Duration::ZERO));
    let connection: Upstream = Arc::default();
    let service = service_fn(move |request| {
        handle(
            request,
            upstream,
            connection.clone(),
            fault.clone(),
            counts.clone(),
        )
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(client), service)
        .await
}
