//! A fault-injecting HTTP proxy between one sidecar and the store, for the chaos tests.
//! It handles one request at a time per connection (requests and responses are framed by
//! Content-Length, as the AWS SDK and moto both send them) and applies the current fault
//! to each request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Reads one HTTP message (head + Content-Length body). `None` on a clean EOF.
async fn read_message(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let msg: Vec<u8> = buf.drain(..total).collect();
            return Ok(Some(msg));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The DynamoDB operation of a request, from its X-Amz-Target header, lower-cased.
fn operation(request: &[u8]) -> String {
    let end = find(request, b"\r\n\r\n").unwrap_or(0);
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("x-amz-target:"))
        .and_then(|v| v.trim().rsplit('.').next().map(str::to_string))
        .unwrap_or_else(|| "other".into())
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    counts: Counts,
) -> std::io::Result<()> {
    let mut cbuf = Vec::new();
    let mut up: Option<(TcpStream, Vec<u8>)> = None;
    while let Some(request) = read_message(&mut client, &mut cbuf).await? {
        let op = operation(&request);
        *counts.lock().unwrap().entry(op.clone()).or_default() += 1;
        let current = match fault.lock().unwrap().clone() {
            Fault::Only { op: only, fault } if only == op => *fault,
            Fault::Only { .. } => Fault::Pass,
            other => other,
        };
        match current {
            Fault::Pass | Fault::Only { .. } => {}
            Fault::Latency(d) => tokio::time::sleep(d).await,
            Fault::Blackhole => {
                // Hold the connection until the client gives up on it.
                let mut sink = [0u8; 1024];
                while client.read(&mut sink).await? > 0 {}
                return Ok(());
            }
            Fault::Reset => {
                // Linger 0 makes the close a reset; it does not block (the deprecation
                // warns about non-zero lingers).
                #[allow(deprecated)]
                client.set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            Fault::Error { status, code } => {
                let body = format!("{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"injected by the chaos proxy\"}}");
                let response = format!(
                    "HTTP/1.1 {status} Injected\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                client.write_all(response.as_bytes()).await?;
                continue;
            }
        }
        if up.is_none() {
            up = Some((TcpStream::connect(upstream).await?, Vec::new()));
        }
        let (server, sbuf) = up.as_mut().unwrap();
        server.write_all(&request).await?;
        let Some(response) = read_message(server, sbuf).await? else {
            return Ok(());
        };
        client.write_all(&response).await?;
        let head = String::from_utf8_lossy(&response[..find(&response, b"\r\n\r\n").unwrap_or(0)])
            .to_ascii_lowercase();
        if head.contains("connection: close") {
            return Ok(());
        }
    }
    Ok(())
}
