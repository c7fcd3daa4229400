//! One function per scenario: it builds a cluster, applies its fault, and reports what the
//! observer saw. The table of scenarios, with their bounds, is in main.rs.

use std::time::{Duration, Instant};

use crate::cluster::{
    epoch_in, new_table, operator_command, sidecar_args, slow_args, Cluster, SLOW_INTERVAL,
    SLOW_LEASE,
};
use crate::common::proxy::Fault;
use crate::common::sidecar::{http, receive, role_json, send, wait_active, wait_new_tenure};
use crate::common::steady::steady;
use crate::common::wait_until;
use crate::observer::Observer;
use crate::{RunResult, INTERVAL, LEASE, SLACK};

pub fn failover_to(obs: &Observer, survivor: usize, from: Instant, limit: Duration) -> Duration {
    let deadline = from + limit + Duration::from_millis(500);
    while Instant::now() < deadline {
        if let Some(t) = obs.first_active_after(survivor, from) {
            return t - from;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no failover within {limit:?}");
}

pub fn other(i: usize) -> usize {
    1 - i
}

pub fn kill9(endpoint: &str) -> RunResult {
    let mut c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.sidecars[active].kill9();
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

pub fn sigstop(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let victim = &c.sidecars[active];
    let t = Instant::now();
    victim.signal(libc::SIGSTOP);
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    std::thread::sleep((LEASE * 2).saturating_sub(t.elapsed()));
    // A request queued while it is frozen is answered the instant it wakes: passive. It is
    // sent (connected and written) before the SIGCONT, so it is queued for certain; a
    // thread given 50 ms to send it could be late on a loaded machine, and the check would
    // then test an ordinary request.
    let port = victim.port;
    let queued = send(port, "GET", "/role?format=text")
        .expect("the frozen process's socket takes the request");
    victim.signal(libc::SIGCONT);
    let first = receive(queued);
    assert_eq!(
        first.map(|(_, _, body)| body),
        Some("passive\n".into()),
        "the woken process must answer passive at once"
    );
    wait_until(Duration::from_secs(3), || {
        role_json(port).and_then(|v| v["holder"].as_str().map(String::from))
            == Some(c.sidecars[other(active)].identity.clone())
    })
    .expect("the woken process learns the new holder");
    std::thread::sleep(LEASE);
    assert!(!c.sidecars[active].is_active());
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

pub fn sigterm(endpoint: &str) -> RunResult {
    let mut c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.sidecars[active].signal(libc::SIGTERM);
    let took = failover_to(&obs, other(active), t, INTERVAL + SLACK);
    assert_eq!(
        c.sidecars[active].wait_exit(Duration::from_secs(5)),
        Some(0)
    );
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

/// Breaks the active's link to the store with `fault`; the other sidecar must take over,
/// and the old active must not come back when the link heals.
pub fn link_fault(endpoint: &str, fault: Fault, limit: Duration) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let t = Instant::now();
    c.proxies[active].set(fault);
    let took = failover_to(&obs, other(active), t, limit);
    let (old, new) = (&c.sidecars[active], &c.sidecars[other(active)]);
    let tenure = wait_active(new, Duration::from_secs(2))
        .unwrap_or_else(|| panic!("the new holder stopped answering active\n{}", c.logs()));
    // The fault lasts a lease more, then heals.
    std::thread::sleep(LEASE);
    c.proxies[active].set(Fault::Pass);
    // "Stays passive once healed" means something only once the old holder has reached the
    // store again: wait for it to report the store reachable and the new tenure, rather
    // than for a fixed time that a loaded machine may not give it.
    wait_until(Duration::from_secs(10), || {
        role_json(old.port).is_some_and(|v| {
            v["store_reachable"] == true
                && v["holder"].as_str() == Some(new.identity.as_str())
                && v["epoch"].as_u64() == Some(tenure.epoch)
        })
    })
    .unwrap_or_else(|| panic!("the old holder never saw the new tenure\n{}", c.logs()));
    // The old holder stays passive once healed, and the new one keeps its tenure: unless
    // the store stalls past the new holder's deadline meanwhile (seen under load), after
    // which a later tenure is the rules at work, and never the old one back.
    steady(new, &tenure, &[old], LEASE * 2);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

pub fn blackhole(endpoint: &str) -> RunResult {
    link_fault(endpoint, Fault::Blackhole, LEASE + INTERVAL + SLACK)
}

pub fn latency(endpoint: &str) -> RunResult {
    // Above the interval (and the 200 ms call timeout): writes still land, but late.
    let added = Duration::from_millis(250);
    link_fault(
        endpoint,
        Fault::Latency(added),
        LEASE + INTERVAL + added + SLACK,
    )
}

pub fn reset(endpoint: &str) -> RunResult {
    link_fault(endpoint, Fault::Reset, LEASE + INTERVAL + SLACK)
}

pub fn http500(endpoint: &str) -> RunResult {
    let fault = Fault::Error {
        status: 500,
        code: "InternalServerError",
    };
    link_fault(endpoint, fault, LEASE + INTERVAL + SLACK)
}

/// Short throttling bursts on every link: the holder rides them out (same epoch, nobody
/// else ever active); then a long burst on the active's link forces a failover.
pub fn throttling(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let epoch = wait_active(&c.sidecars[active], Duration::from_secs(2))
        .expect("the settled holder answers active")
        .epoch;
    let throttle = Fault::Error {
        status: 400,
        code: "ThrottlingException",
    };
    for _ in 0..5 {
        for p in &c.proxies {
            p.set(throttle.clone());
        }
        std::thread::sleep(Duration::from_millis(100));
        for p in &c.proxies {
            p.set(Fault::Pass);
        }
        std::thread::sleep(INTERVAL * 2);
    }
    // Role and epoch from one answer: asked separately, the two could belong to two
    // different tenures.
    let after = wait_active(&c.sidecars[active], Duration::from_secs(2))
        .expect("the holder is active after the bursts");
    assert_eq!(after.epoch, epoch, "short bursts must not change the owner");
    // The other pod saw no other tenure either: its last read is of the same one.
    let seen = c.sidecars[other(active)].view();
    assert!(
        seen.as_ref()
            .is_some_and(|v| !v.active() && v.epoch == epoch),
        "the other pod after the bursts: {seen:?}"
    );
    let t = Instant::now();
    c.proxies[active].set(throttle);
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

pub fn same_identity(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["twin", "twin"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let passive = other(active);
    let tenure = wait_active(&c.sidecars[active], LEASE).expect("the settled twin is active");
    wait_until(Duration::from_secs(3), || {
        role_json(c.sidecars[passive].port).is_some_and(|v| v["conflict"] == true)
    })
    .expect("the passive twin reports the conflict");
    steady(
        &c.sidecars[active],
        &tenure,
        &[&c.sidecars[passive]],
        LEASE * 3,
    );
    let metrics = http(c.sidecars[passive].port, "GET", "/metrics").unwrap().1;
    assert!(metrics.contains("drlease_identity_conflict{lease=\"chaos\"} 1"));
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: None,
    }
}

/// A random duration in [0, max), for faults at random phases of the renewal cycle.
pub fn random_below(max: Duration) -> Duration {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    max.mul_f64(u64::from_le_bytes(b) as f64 / u64::MAX as f64)
}

/// The reported bug: `drlease freeze` then `drlease unfreeze` at once left both pods
/// answering active for about half a second (interval 1 s, threshold 3). Repeated at random
/// phases of the renewal cycle; "failover" is the longest time from an unfreeze to a pod
/// active again.
pub fn freeze_unfreeze(endpoint: &str) -> RunResult {
    let table = new_table(endpoint);
    let c = Cluster::with_args(endpoint, &table, &["pod-a", "pod-b"], slow_args);
    let obs = Observer::start(&c.ports());
    c.settle();
    let mut slowest = Duration::ZERO;
    for _ in 0..4 {
        std::thread::sleep(random_below(SLOW_INTERVAL));
        let freeze = c.operator_with(slow_args, "freeze", &[]);
        assert_eq!(freeze.code, Some(0), "freeze: {}", freeze.stderr);
        // The tenure the freeze ended, as the freeze itself read it.
        let frozen = epoch_in(&freeze.stdout)
            .unwrap_or_else(|| panic!("freeze names no holder epoch: {}", freeze.stdout));
        let unfreeze = c.operator_with(slow_args, "unfreeze", &[]);
        assert_eq!(unfreeze.code, Some(0), "unfreeze: {}", unfreeze.stderr);
        // Right after the unfreeze the old holder still answers active, with the frozen
        // tenure, until its next renewal is refused or its deadline passes (up to an
        // interval at 1 s): "a pod is active" would be that tenure, at once. A pod active
        // again means a new tenure, with an epoch above the frozen one.
        let (_, _, took) =
            wait_new_tenure(&c.all(), frozen, SLOW_LEASE + SLOW_INTERVAL + SLACK * 2)
                .unwrap_or_else(|| {
                    panic!(
                        "no new tenure (epoch above {frozen}) after the unfreeze\n{}",
                        c.logs()
                    )
                });
        slowest = slowest.max(took);
    }
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(slowest),
    }
}

/// A planned handover racing a takeover: the holder is frozen (SIGSTOP) at a random phase,
/// an operator asks it to hand over to the other pod, and it wakes (SIGCONT) at a random
/// moment around the other pod's takeover, to find its own handover request.
pub fn handover_races_takeover(endpoint: &str) -> RunResult {
    let c = Cluster::new(endpoint, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    let target = c.sidecars[other(active)].identity.clone();
    std::thread::sleep(random_below(INTERVAL));
    let t = Instant::now();
    c.sidecars[active].signal(libc::SIGSTOP);
    std::thread::sleep(random_below(LEASE / 2));
    let settings = sidecar_args(&c.endpoint, &c.table);
    let handover = std::thread::spawn(move || {
        operator_command(&settings, "handover", &["--to", &target, "--timeout", "5s"])
    });
    std::thread::sleep(random_below(LEASE));
    c.sidecars[active].signal(libc::SIGCONT);
    let handover = handover.join().unwrap();
    // Either the handover completes, or the takeover got there first and the request found
    // the lease changed: both are fine, two actives are not.
    assert!(
        handover.code == Some(0) || handover.stderr.contains("the lease changed"),
        "handover: {}",
        handover.stderr
    );
    let took = failover_to(&obs, other(active), t, LEASE + INTERVAL + SLACK);
    std::thread::sleep(LEASE);
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}
