//! The controller's side, against real `drlease run` processes: write windows, pushed
//! role changes, blocking queries, the gate-only listener, and a neighbour trying to starve
//! the gate of connections.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sidecar::{free_port, http, http_with_head, valid_for_ms, Launch, Sidecar, STARTUP};
use common::sse::SseReader;
use common::wait_until;

fn memory_args(extra: &[&str]) -> Vec<String> {
    ["--store", "memory", "--interval", "500ms"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// The tests, one file per subject, in tests/gate/.
mod gate {
    mod answers;
    mod malformed;
    mod shutdown;
    mod starvation;
}
