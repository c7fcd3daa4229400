//! Shared helpers for the integration and end-to-end tests.
#![allow(dead_code)]

pub mod controller;
pub mod docs;
pub mod global_table;
pub mod kubernetes;
pub mod moto;
pub mod operator;
pub mod proxy;
pub mod sidecar;
pub mod sse;
pub mod steady;

use std::time::Duration;

use drlease::store::dynamodb::{table, Connection};

/// The moto endpoint started by scripts/test.sh. Without it these tests cannot run: they
/// fail under the test script and in CI, and are skipped (loudly) under a bare `cargo test`.
pub fn endpoint_var(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
                || std::env::var("DRLEASE_REQUIRE_STORE").is_ok_and(|v| v == "1");
            if required {
                panic!("{var} is not set: run the tests with scripts/test.sh, which starts moto");
            }
            eprintln!("SKIPPED: {var} not set; run scripts/test.sh to test against moto");
            None
        }
    }
}

pub fn endpoint() -> Option<String> {
    endpoint_var("DRLEASE_TEST_DYNAMODB_ENDPOINT")
}

/// `drlease run` arguments for a sidecar on the DynamoDB store at `endpoint`.
pub fn lease_args(
    endpoint: &str,
    table: &str,
    lease: &str,
    interval: &str,
    threshold: &str,
) -> Vec<String> {
    [
        "--store",
        "dynamodb",
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        "--table",
        table,
        "--lease-name",
        lease,
        "--interval",
        interval,
        "--failure-threshold",
        threshold,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{suffix}")
}

/// A client for a loopback endpoint, with static test credentials: the tests never let
/// the SDK look further down its credential chain (which ends at the EC2 metadata
/// address, off this machine).
pub async fn connection(endpoint: &str) -> Connection {
    connection_with_timeout(endpoint, Duration::from_secs(5))
}

pub fn connection_with_timeout(endpoint: &str, timeout: Duration) -> Connection {
    connection_in(endpoint, "us-east-1", timeout)
}

/// A client for a loopback endpoint in `region` (moto keeps one backend per region).
pub fn connection_in(endpoint: &str, region: &str, timeout: Duration) -> Connection {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(timeout)
                .connect_timeout(timeout)
                .build(),
        )
        .build();
    Connection {
        client: aws_sdk_dynamodb::Client::from_conf(config),
        region: region.into(),
        call_timeout: timeout,
    }
}

/// A fresh table with the lease schema. Set-up gets a generous call timeout of its own:
/// on a loaded CI machine moto's first DynamoDB call (which imports its backend) has
/// taken longer than the tests' 5 s, and a slow set-up proves nothing about drlease.
pub async fn new_table(conn: &Connection) -> String {
    let setup_timeout = Duration::from_secs(60);
    let config = conn
        .client
        .config()
        .to_builder()
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_timeout(setup_timeout)
                .connect_timeout(setup_timeout)
                .build(),
        )
        .build();
    let setup = Connection {
        client: aws_sdk_dynamodb::Client::from_conf(config),
        region: conn.region.clone(),
        call_timeout: setup_timeout,
    };
    let name = unique("drlease-test");
    table::create_table(&setup, &name)
        .await
        .expect("create table");
    table::wait_active(&setup, &name, Duration::from_secs(60))
        .await
        .expect("table active");
    name
}

/// Polls `cond` every 5 ms until it holds or `limit` passes; returns the time it took.
pub fn wait_until(limit: Duration, cond: impl FnMut() -> bool) -> Option<Duration> {
    poll_until(limit, Duration::from_millis(5), cond)
}

/// Polls `cond` every `every` until it holds or `limit` passes; returns the time it took.
pub fn poll_until(
    limit: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    let start = std::time::Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(every);
    }
}
