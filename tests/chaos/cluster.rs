//! The sidecars under test: two or more, each behind its own fault-injecting proxy to one
//! store, and the operator's commands run beside them.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::common;
use crate::common::proxy::FaultProxy;
use crate::common::sidecar::{role_json, Sidecar, BIN};

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn sidecar_args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "chaos", "200ms", "3")
}

/// The timing of the reported freeze/unfreeze bug: interval 1 s, failure threshold 3. At
/// 200 ms the operator's two commands take longer than the holder's renew period, so the
/// holder always notices the freeze before the unfreeze lands and the race never opens.
pub const SLOW_INTERVAL: Duration = Duration::from_secs(1);
pub const SLOW_LEASE: Duration = Duration::from_secs(3);

pub fn slow_args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "chaos", "1s", "3")
}

pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

pub fn new_table(endpoint: &str) -> String {
    runtime().block_on(async {
        let conn = common::connection(endpoint).await;
        common::new_table(&conn).await
    })
}

/// Two or more sidecars, each behind its own proxy to one store.
pub struct Cluster {
    pub sidecars: Vec<Sidecar>,
    pub proxies: Vec<FaultProxy>,
    /// Where the operator's commands go: straight to the store, past the proxies.
    pub endpoint: String,
    pub table: String,
}

impl Cluster {
    pub fn new(endpoint: &str, identities: &[&str]) -> Cluster {
        Self::on(endpoint, &new_table(endpoint), identities)
    }

    pub fn on(endpoint: &str, table: &str, identities: &[&str]) -> Cluster {
        Self::with_args(endpoint, table, identities, sidecar_args)
    }

    pub fn with_args(
        endpoint: &str,
        table: &str,
        identities: &[&str],
        args: fn(&str, &str) -> Vec<String>,
    ) -> Cluster {
        let mut proxies = Vec::new();
        let mut sidecars = Vec::new();
        for id in identities {
            let proxy = FaultProxy::start(addr_of(endpoint));
            sidecars.push(Sidecar::start(id, &args(&proxy.url(), table)));
            proxies.push(proxy);
        }
        Cluster {
            sidecars,
            proxies,
            endpoint: endpoint.to_string(),
            table: table.to_string(),
        }
    }

    /// Runs an operator command with this cluster's table and `settings`.
    pub fn operator_with(
        &self,
        settings: fn(&str, &str) -> Vec<String>,
        sub: &str,
        extra: &[&str],
    ) -> Operator {
        operator_command(&settings(&self.endpoint, &self.table), sub, extra)
    }

    pub fn all(&self) -> Vec<&Sidecar> {
        self.sidecars.iter().collect()
    }

    /// Every sidecar's log, for a failure message.
    pub fn logs(&self) -> String {
        self.sidecars
            .iter()
            .map(|s| format!("--- {} ---\n{}", s.identity, s.logs()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn ports(&self) -> Vec<u16> {
        self.sidecars.iter().map(|s| s.port).collect()
    }

    /// Waits for exactly one active and everyone else decided passive; returns the active.
    pub fn settle(&self) -> usize {
        common::sidecar::settle(&self.all(), common::sidecar::STARTUP)
    }

    pub fn epoch_of(&self, i: usize) -> u64 {
        role_json(self.sidecars[i].port)
            .and_then(|v| v["epoch"].as_u64())
            .unwrap_or(0)
    }
}

/// What an operator command printed, and how it exited.
pub struct Operator {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `drlease <sub> <settings> <extra>` as an operator would.
pub fn operator_command(settings: &[String], sub: &str, extra: &[&str]) -> Operator {
    let out = Command::new(BIN)
        .arg(sub)
        .args(settings)
        .args(extra)
        .env_remove("DRLEASE_STORE")
        .output()
        .unwrap();
    Operator {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// The epoch in an operator command's description of the holder ("pod-a (epoch 3)").
pub fn epoch_in(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once("(epoch ")?;
    rest.split(')').next()?.parse().ok()
}
