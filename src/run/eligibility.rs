//! The eligibility gate: a candidate may hold the lease only after its warm-up and while
//! the controller next to it answers 2xx on its health URL. A crashed controller beside a
//! live sidecar must not pin the lease.

use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{EligibilitySettings, HealthUrl};

impl HealthUrl {
    /// One GET; the status code, or why there is none.
    pub async fn probe(&self, timeout: Duration) -> Result<u16, String> {
        let attempt = async {
            let mut stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: drlease\r\nConnection: close\r\n\r\n",
                self.path,
                self.host_header()
            );
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| format!("send: {e}"))?;
            let mut head = Vec::with_capacity(64);
            let mut buf = [0u8; 256];
            while !head.contains(&b'\n') && head.len() < 1024 {
                let n = stream
                    .read(&mut buf)
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let line = String::from_utf8_lossy(&head);
            line.split_whitespace()
                .nth(1)
                .and_then(|code| code.parse::<u16>().ok())
                .ok_or_else(|| "no HTTP status line in the answer".to_string())
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppHealth {
    /// No health URL configured.
    #[default]
    NotChecked,
    /// Configured, no answer yet.
    Unknown,
    Healthy,
    Unhealthy,
}

/// Whether this candidate may hold the lease, and why not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Eligibility {
    pub warm: bool,
    pub app: AppHealth,
}

impl Eligibility {
    pub fn eligible(&self) -> bool {
        self.warm && matches!(self.app, AppHealth::NotChecked | AppHealth::Healthy)
    }
}

/// Starts the warm-up timer and the health prober; returns the eligibility to watch.
pub fn spawn(settings: &EligibilitySettings, interval: Duration) -> watch::Receiver<Eligibility> {
    let initial = Eligibility {
        warm: settings.warmup.is_zero(),
        app: if settings.app_health_url.is_some() {
            AppHealth::Unknown
        } else {
            AppHealth::NotChecked
        },
    };
    let (tx, rx) = watch::channel(initial);
    if !settings.warmup.is_zero() {
        let tx = tx.clone();
        let warmup = settings.warmup;
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            info!("warm-up over: may acquire the lease");
            tx.send_modify(|g| g.warm = true);
        });
    }
    if let Some(url) = &settings.app_health_url {
        let failures_to_fail = settings.app_health_failures.max(1);
        tokio::spawn(probe_loop(url.clone(), interval, failures_to_fail, tx));
    }
    rx
}

async fn probe_loop(
    url: HealthUrl,
    interval: Duration,
    failures_to_fail: u32,
    tx: watch::Sender<Eligibility>,
) {
    let timeout = interval.min(Duration::from_secs(2));
    let mut failures = 0u32;
    loop {
        let outcome = url.probe(timeout).await;
        let healthy = matches!(outcome, Ok(code) if (200..300).contains(&code));
        let before = tx.borrow().app;
        let after = if healthy {
            failures = 0;
            AppHealth::Healthy
        } else {
            failures += 1;
            match before {
                AppHealth::Healthy if failures < failures_to_fail => AppHealth::Healthy,
                AppHealth::Unknown => AppHealth::Unknown,
                _ => AppHealth::Unhealthy,
            }
        };
        if after != before {
            match (&outcome, after) {
                (_, AppHealth::Healthy) => info!("controller healthy: may hold the lease"),
                (Ok(code), _) => warn!(
                    status = code,
                    failures, "controller unhealthy: will not hold the lease"
                ),
                (Err(e), _) => {
                    warn!(error = %e, failures, "controller unhealthy: will not hold the lease")
                }
            }
            tx.send_modify(|g| g.app = after);
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eligible_only_when_warm_and_the_app_is_healthy_or_unchecked() {
        let g = |warm, app| Eligibility { warm, app }.eligible();
        assert!(g(true, AppHealth::NotChecked));
        assert!(g(true, AppHealth::Healthy));
        assert!(!g(true, AppHealth::Unknown));
        assert!(!g(true, AppHealth::Unhealthy));
        assert!(!g(false, AppHealth::Healthy));
    }

    #[tokio::test]
    async fn probes_a_real_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let url = HealthUrl::parse(&format!("http://127.0.0.1:{port}/healthz")).unwrap();
        assert_eq!(url.probe(Duration::from_secs(2)).await, Ok(200));
        assert_eq!(url.probe(Duration::from_secs(2)).await, Ok(503));
    }
}
