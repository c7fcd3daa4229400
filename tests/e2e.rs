//! End to end: real `drlease run` processes against moto on loopback.
//! Interval 200 ms, failure threshold 3: lease 600 ms, renew deadline 400 ms.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::sidecar::{
    decided_at, http, http_with_head, settle, valid_for_ms, wait_active, Sidecar, BIN, STARTUP,
};
use common::steady::steady;
use common::wait_until;

const INTERVAL: Duration = Duration::from_millis(200);
const LEASE: Duration = Duration::from_millis(600);

struct Lease {
    args: Vec<String>,
}

async fn dynamo_lease() -> Option<Lease> {
    let endpoint = common::endpoint()?;
    let conn = common::connection(&endpoint).await;
    let table = common::new_table(&conn).await;
    Some(Lease {
        args: args(&endpoint, &table),
    })
}

fn args(endpoint: &str, table: &str) -> Vec<String> {
    common::lease_args(endpoint, table, "e2e", "200ms", "3")
}

/// Polls every sidecar's /active every few ms on its own thread and counts the rounds in
/// which two answered 200 with write windows that share an instant. The requests of a
/// round go one after the other: two 200s alone could be a holder that answered, ended its
/// window, released, and a successor that acquired before it was asked (a stalled thread on
/// a loaded machine is enough). Each answer carries its decision instant (the host's
/// CLOCK_BOOTTIME) and the window it granted, so the windows tell.
struct DualActiveWatch {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u32>,
}

/// The write window an active answer granted, [decided, decided + valid) in ns.
fn window(port: u16) -> Option<(u64, u64)> {
    let (status, head, _) = http_with_head(port, "GET", "/active")?;
    if status != 200 {
        return None;
    }
    let at = decided_at(&head).expect("an active answer carries its decision instant");
    let valid = valid_for_ms(&head).expect("an active answer carries its window");
    Some((at, at + valid * 1_000_000))
}

impl DualActiveWatch {
    fn start(ports: Vec<u16>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut overlaps = 0;
            while !flag.load(Ordering::Relaxed) {
                let windows: Vec<(u64, u64)> = ports.iter().filter_map(|p| window(*p)).collect();
                let overlap = windows
                    .iter()
                    .enumerate()
                    .any(|(i, a)| windows[i + 1..].iter().any(|b| a.0.max(b.0) < a.1.min(b.1)));
                if overlap {
                    eprintln!("two write windows at once: {windows:?}");
                    overlaps += 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            overlaps
        });
        DualActiveWatch { stop, handle }
    }

    fn finish(self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

fn run_expecting_failure(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env_remove("DRLEASE_STORE")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The tests, one file per subject, in tests/e2e/.
mod e2e {
    mod bad_settings;
    mod failover;
    mod marks_in_the_table;
    mod outage;
}
