//! The holes of issue 19, with real processes: each gave two actives before its fix.
//! - A health flap during a step-down whose release landed with its answer lost.
//! - A holder with long settings frozen and unfrozen by an operator with short ones.

use std::time::{Duration, Instant};

use crate::cluster::{addr_of, new_table, operator_command, sidecar_args, slow_args, Cluster};
use crate::common;
use crate::common::controller::FakeController;
use crate::common::proxy::{Fault, FaultProxy};
use crate::common::sidecar::{role_json, Sidecar};
use crate::common::wait_until;
use crate::observer::Observer;
use crate::scenarios::other;
use crate::{RunResult, SLACK};

/// Interval 200 ms x 10 in the health-flap scenario.
const LONG_LEASE: Duration = Duration::from_secs(2);

/// Only a holder's own release carries `releasedBy` (`:rby` in the UpdateItem).
const RELEASE_MARKER: &str = ":rby";

/// The controller of the active pod turns unhealthy, the pod steps down, its release lands
/// but the answer is lost and the link then drops every byte; the controller turns healthy
/// again. The other pod acquires the release at once; the old holder must not answer
/// active again (before the fix it did, until its old deadline).
pub fn health_flap_with_lost_release(endpoint: &str) -> RunResult {
    let table = new_table(endpoint);
    let controllers = [FakeController::start(200), FakeController::start(200)];
    let mut proxies = Vec::new();
    let mut sidecars = Vec::new();
    for (id, controller) in ["pod-a", "pod-b"].iter().zip(&controllers) {
        let proxy = FaultProxy::start(addr_of(endpoint));
        // Threshold 10: the old holder's deadline is far off when its controller recovers.
        let mut args = common::lease_args(&proxy.url(), &table, "chaos", "200ms", "10");
        args.extend(
            [
                "--app-health-url",
                &controller.url(),
                "--app-health-failures",
                "1",
                // Short windows: the release goes out long before the old deadline.
                "--write-window",
                "130ms",
            ]
            .map(String::from),
        );
        sidecars.push(Sidecar::start(id, &args));
        proxies.push(proxy);
    }
    let c = Cluster {
        sidecars,
        proxies,
        endpoint: endpoint.to_string(),
        table,
    };
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    c.proxies[active].set(Fault::LoseReplyThenBlackhole {
        marker: RELEASE_MARKER,
    });
    let t = Instant::now();
    controllers[active].set(500);
    // The release landed (its answer lost): the controller recovers at once.
    wait_until(LONG_LEASE + SLACK * 2, || {
        c.proxies[active].fault() == Fault::Blackhole
    })
    .expect("the holder stepped down and its release landed");
    controllers[active].set(200);
    // The other pod saw the holder's own release of a tenure it watched: it takes it at once.
    wait_until(LONG_LEASE + SLACK * 2, || {
        c.sidecars[other(active)].is_active()
    })
    .expect("the other pod took the released lease");
    let took = t.elapsed();
    // The old holder is healthy again and cut off from the store: watch it past its old
    // renew deadline while the observer counts overlapping windows.
    let watch_until = Instant::now() + LONG_LEASE + SLACK;
    while Instant::now() < watch_until {
        assert_ne!(
            role_json(c.sidecars[active].port).map(|v| v["role"].clone()),
            Some("active".into()),
            "the pod that released answered active again"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    c.proxies[active].set(Fault::Pass);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

/// A holder at interval 1 s x 3 (lease 3 s), a candidate at 200 ms x 3, as during a rolling
/// change of `waitTimeInSeconds`; right after a renewal an operator with the short settings
/// runs `freeze` then `unfreeze`. Before the fix the candidate timed the old holder by the
/// operator's 600 ms and both were active for over a second.
pub fn freeze_with_shorter_settings(endpoint: &str) -> RunResult {
    let table = new_table(endpoint);
    let slow_proxy = FaultProxy::start(addr_of(endpoint));
    let slow = Sidecar::start("pod-slow", &slow_args(&slow_proxy.url(), &table));
    wait_until(Duration::from_secs(10), || slow.is_active()).expect("the slow pod holds");
    let fast_proxy = FaultProxy::start(addr_of(endpoint));
    let fast = Sidecar::start("pod-fast", &sidecar_args(&fast_proxy.url(), &table));
    wait_until(Duration::from_secs(10), || {
        fast.role().as_deref() == Some("passive")
    })
    .expect("the fast pod decided passive");
    let c = Cluster {
        sidecars: vec![slow, fast],
        proxies: vec![slow_proxy, fast_proxy],
        endpoint: endpoint.to_string(),
        table,
    };
    let obs = Observer::start(&c.ports());
    // Right after a renewal: the validity left jumps up.
    let validity = || {
        role_json(c.sidecars[0].port)
            .and_then(|v| v["validity_left_seconds"].as_f64())
            .unwrap_or(0.0)
    };
    let mut last = validity();
    wait_until(Duration::from_secs(5), || {
        let now = validity();
        let renewed = now > last;
        last = now;
        renewed
    })
    .expect("the slow pod renews");
    let before = c.epoch_of(0);
    let short = sidecar_args(&c.endpoint, &c.table);
    let freeze = operator_command(&short, "freeze", &[]);
    assert_eq!(freeze.code, Some(0), "freeze: {}", freeze.stderr);
    let unfreeze = operator_command(&short, "unfreeze", &[]);
    assert_eq!(unfreeze.code, Some(0), "unfreeze: {}", unfreeze.stderr);
    let t = Instant::now();
    // The old tenure may answer active until its next renewal fails: wait for a new one.
    let new_tenure = || {
        c.sidecars.iter().any(|s| {
            role_json(s.port).is_some_and(|v| {
                v["role"] == "active" && v["epoch"].as_u64().is_some_and(|e| e > before)
            })
        })
    };
    let took = wait_until(Duration::from_secs(3) * 2 + SLACK * 2, new_tenure)
        .map(|_| t.elapsed())
        .expect("a new tenure is active after the unfreeze");
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}
