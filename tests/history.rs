//! Failover history with real processes on moto: the changes of owner a kill -9, a
//! SIGTERM, a freeze/unfreeze and a failback make are recorded by the new holders, and
//! after every pod restarted, `/history` on any pod and `drlease history` list them in
//! order with their reasons and gaps. A table without history says so.

mod common;

use std::time::Duration;

use common::operator::{fixture, text, Fixture};
use common::sidecar::{http, Sidecar, STARTUP};
use common::wait_until;
use serde_json::Value;

/// The tests, one file per subject, in tests/history/.
mod history {
    mod failovers;
    mod no_history;
}

/// Lease duration of the fixture: 200 ms x 3.
const LEASE: Duration = Duration::from_millis(600);

/// `GET /history?limit=N` on a sidecar, when it answers 200.
fn history_of(port: u16, limit: usize) -> Option<Value> {
    let (status, body) = http(port, "GET", &format!("/history?limit={limit}"))?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// The `how` of each change, oldest first.
fn hows(history: &Value) -> Vec<String> {
    let mut hows: Vec<String> = history["changes"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["how"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    hows.reverse();
    hows
}

/// Waits until some sidecar answers active; returns its index.
fn active_one(pods: &[&Sidecar]) -> usize {
    let mut found = None;
    wait_until(STARTUP, || {
        found = pods.iter().position(|p| p.is_active());
        found.is_some()
    })
    .unwrap_or_else(|| panic!("nobody active"));
    found.unwrap()
}

/// Waits until `pod`'s history lists `how` as its newest change.
fn newest_is(pod: &Sidecar, how: &str) -> Value {
    let mut last = Value::Null;
    wait_until(STARTUP, || {
        last = history_of(pod.port, 50).unwrap_or(Value::Null);
        hows(&last).last().map(String::as_str) == Some(how)
    })
    .unwrap_or_else(|| panic!("{} never listed {how} as newest: {last}", pod.identity));
    last
}

fn cli_history(f: &Fixture, extra: &[&str]) -> (Option<i32>, String, String) {
    text(&f.cli("history", extra))
}
