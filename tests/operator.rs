//! Operator commands against moto, with real sidecars: status, handover, freeze,
//! unfreeze, create-table, check-config. (The controller health gate: tests/eligibility.rs.)

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::operator::{fixture, settle, text, INTERVAL};
use common::sidecar::{role_json, wait_active, Sidecar, BIN, STARTUP};
use common::wait_until;
use drlease::store::dynamodb::heartbeat::Heartbeat;
use drlease::store::dynamodb::DynamoStore;
use drlease::store::LeaseStore;

/// The tests, one file per subject, in tests/operator/.
mod operator {
    mod command_line;
    mod handover;
    mod refusals;
    mod table_and_config;
}
