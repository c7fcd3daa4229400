//! A lease for the operator tests: a fresh table on moto, sidecars on it, and the CLI run
//! as an operator would.

use std::process::{Command, Output};
use std::time::Duration;

use super::sidecar::{Sidecar, BIN};
use drlease::store::dynamodb::DynamoStore;

pub const INTERVAL: Duration = Duration::from_millis(200);

pub struct Fixture {
    pub endpoint: String,
    pub table: String,
    pub lease: String,
}

pub async fn fixture() -> Option<Fixture> {
    let endpoint = super::endpoint()?;
    let conn = super::connection(&endpoint).await;
    let table = super::new_table(&conn).await;
    Some(Fixture {
        endpoint,
        table,
        lease: super::unique("ops"),
    })
}

impl Fixture {
    pub fn common_args(&self) -> Vec<String> {
        [
            "--endpoint-url",
            &self.endpoint,
            "--region",
            "us-east-1",
            "--table",
            &self.table,
            "--lease-name",
            &self.lease,
            "--interval",
            "200ms",
            "--failure-threshold",
            "3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn sidecar(&self, identity: &str, extra: &[&str]) -> Sidecar {
        let mut args = vec!["--store".to_string(), "dynamodb".to_string()];
        args.extend(self.common_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        Sidecar::start(identity, &args)
    }

    /// Runs `drlease <sub> ...` as an operator would.
    pub fn cli(&self, sub: &str, extra: &[&str]) -> Output {
        Command::new(BIN)
            .arg(sub)
            .args(self.common_args())
            .args(extra)
            .env_remove("DRLEASE_STORE")
            .output()
            .unwrap()
    }

    pub async fn store(&self) -> DynamoStore {
        let conn = super::connection(&self.endpoint).await;
        DynamoStore::new(conn, self.table.clone(), self.lease.clone())
    }
}

pub fn text(o: &Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Waits for exactly one of the two to be active; returns its index.
pub fn settle(a: &Sidecar, b: &Sidecar) -> usize {
    super::sidecar::settle(&[a, b], super::sidecar::STARTUP)
}
