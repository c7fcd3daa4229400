//! Fencing at the resource, with real processes and real API servers: two kube-apiservers
//! (two target clusters, scripts/kube.sh), two sidecars on the MREC global-table emulator
//! (one per region, with peer regions: their epochs never collide), and a controller per
//! region (clients/go/fence/cmd/fence-writer) writing ConfigMaps into both clusters under
//! the fence of the lease (deploy/kubernetes/fence).
//!
//! What is asserted is what the README's section on fencing promises: a controller whose
//! window ended writes nothing that either cluster admits once the newer holder's fence
//! is enforced there; during a partition longer than the lease, each cluster admits the
//! writes of one region only from the moment the higher epoch's fence is enforced; and
//! the delay between a raise and its enforcement is measured and printed.
//!
//! `scripts/test.sh --test fence` runs them.

#[path = "fence/cluster.rs"]
mod cluster;
mod common;
#[path = "fence/writer.rs"]
mod writer;

use std::time::Duration;

use cluster::Env;
use common::global_table::GlobalTable;
use common::sidecar::{role_json, Sidecar};
use common::wait_until;
use writer::{Plan, Record, Writer};

const LAG: Duration = Duration::from_millis(300);
const JITTER: Duration = Duration::from_millis(50);
const LEASE: Duration = Duration::from_millis(2500);
const PATIENCE: Duration = Duration::from_secs(60);

fn args(gt: &GlobalTable, region: usize, table: &str, lease: &str) -> Vec<String> {
    let mut args = gt.sidecar_args(region, table, lease, "500ms", "5", "750ms");
    args.extend([
        "--peer-regions".to_string(),
        gt.region(1 - region).to_string(),
    ]);
    args
}

/// A region's pod: its sidecar and its controller.
struct Pod {
    sidecar: Sidecar,
    writer: Writer,
}

/// East's pod, then once east holds the lease, west's: east is the first holder.
fn pods(env: &Env, gt: &GlobalTable, lease: &str, plans: [(u32, &str); 2]) -> [Pod; 2] {
    let table = common::unique("fence");
    gt.create_table(&table);
    let names = ["pod-east", "pod-west"];
    [0, 1].map(|i| {
        let sidecar = Sidecar::start(names[i], &args(gt, i, &table, lease));
        if i == 0 {
            wait_for("east holds the lease", || active(&sidecar));
        }
        let plan = Plan {
            lease,
            sidecar_port: sidecar.port,
            mode: "epoch",
            context: "admin",
            namespace: "default",
            burst: plans[i].0,
            interval: plans[i].1,
        };
        let writer = Writer::start(env, names[i], &plan);
        Pod { sidecar, writer }
    })
}

fn active(p: &Sidecar) -> bool {
    role_json(p.port).is_some_and(|v| v["role"] == "active")
}

fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_until(PATIENCE, cond).unwrap_or_else(|| panic!("gave up waiting: {what}"));
}

/// A write that lost a race with another writer's update of the same object (the API
/// server's optimistic concurrency): not admitted, and not the fence's doing.
fn conflict(r: &Record) -> bool {
    r.error
        .as_deref()
        .is_some_and(|e| e.contains("the object has been modified"))
}

/// Admitted writes in `cluster` sent at or after `since` (wall-clock ms).
fn admitted_since(writes: &[Record], cluster: usize, since: i64) -> Vec<&Record> {
    writes
        .iter()
        .filter(|r| r.cluster == cluster && r.ok && r.sent >= since)
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The holder's pod stalls (SIGSTOP) right after its controller got a window; the other
/// region takes over and writes; the stalled controller is continued and goes on writing
/// with the window it had: both clusters refuse every one of those writes.
#[test]
fn a_controller_continued_after_a_takeover_is_refused_by_both_clusters() {
    let Some(env) = cluster::env() else { return };
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    env.install();
    let lease = common::unique("stall");
    env.bind_epoch(&lease);
    // East never asks again after its first window (a controller acting on one answer).
    let [east, west] = pods(&env, &gt, &lease, [(0, "5ms"), (1, "20ms")]);
    wait_for("east active and writing to both clusters", || {
        active(&east.sidecar)
            && (0..2).all(|c| !admitted_since(&east.writer.writes(), c, 0).is_empty())
    });
    east.writer.signal(libc::SIGSTOP);
    east.sidecar.signal(libc::SIGSTOP);
    let stopped = now_ms();
    wait_for("west took over and wrote to both clusters", || {
        active(&west.sidecar)
            && (0..2).all(|c| !admitted_since(&west.writer.writes(), c, stopped).is_empty())
    });
    let continued = now_ms();
    east.sidecar.signal(libc::SIGCONT);
    east.writer.signal(libc::SIGCONT);
    wait_for("the continued controller wrote 20 times more", || {
        east.writer
            .writes()
            .iter()
            .filter(|r| r.sent >= continued)
            .count()
            >= 20
    });
    let writes = east.writer.writes();
    let after: Vec<_> = writes.iter().filter(|r| r.sent >= continued).collect();
    for c in 0..2 {
        assert!(
            after.iter().any(|r| r.cluster == c),
            "no write to cluster {c} after SIGCONT"
        );
    }
    let admitted: Vec<_> = after.iter().filter(|r| r.ok).collect();
    assert!(
        admitted.is_empty(),
        "stale writes admitted after the takeover: {admitted:?}"
    );
    assert!(
        after.iter().all(|r| r.stale || conflict(r)) && after.iter().any(|r| r.stale),
        "a refusal was neither a typed stale error nor a conflict: {after:?}"
    );
    let refused = after.iter().find(|r| r.stale).unwrap();
    let message = refused.error.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("lease={lease}")) && message.contains("ask the sidecar"),
        "the refusal does not name the lease and what to do: {message}"
    );
    eprintln!(
        "stalled controller: {} writes after SIGCONT, 0 admitted",
        after.len()
    );
}

/// The time (wall-clock ms) from which `cluster` enforced a fence of at least `epoch`,
/// from the writers' "enforced" records; None if no writer saw it enforced.
fn enforced_at(records: &[Record], cluster: usize, epoch: u64) -> Option<i64> {
    records
        .iter()
        .filter(|r| r.event == "enforced" && r.ok && r.cluster == cluster && r.epoch >= epoch)
        .map(|r| r.ms)
        .min()
}

/// A partition longer than the lease: both regions hold it (MREC, by design) and both
/// controllers write. In each cluster, once the higher epoch's fence is enforced, no
/// write of a lower epoch is admitted; after the heal, only the survivor's writes are.
#[test]
fn during_a_partition_each_cluster_admits_one_region_from_the_fence_on() {
    let Some(env) = cluster::env() else { return };
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    env.install();
    let lease = common::unique("split");
    env.bind_epoch(&lease);
    let [east, west] = pods(&env, &gt, &lease, [(1, "20ms"), (1, "20ms")]);
    wait_for("one region active", || {
        active(&east.sidecar) || active(&west.sidecar)
    });
    gt.partition();
    wait_for("both regions active during the partition", || {
        active(&east.sidecar) && active(&west.sidecar)
    });
    std::thread::sleep(LEASE);
    gt.heal();
    wait_for("one region active after the heal", || {
        active(&east.sidecar) != active(&west.sidecar)
    });
    let healed = now_ms();
    std::thread::sleep(LEASE);
    let records: Vec<Record> = [&east, &west]
        .iter()
        .flat_map(|p| p.writer.records())
        .collect();
    let top = records
        .iter()
        .filter(|r| r.ok && r.event == "raise")
        .map(|r| r.epoch)
        .max();
    let top = top.expect("no fence was raised");
    for c in 0..2 {
        let from = enforced_at(&records, c, top).expect("the top epoch's fence was enforced");
        let late: Vec<_> = records
            .iter()
            .filter(|r| {
                r.event == "write" && r.cluster == c && r.ok && r.epoch < top && r.sent >= from
            })
            .collect();
        assert!(
            late.is_empty(),
            "cluster {c} admitted lower epochs after enforcing {top}: {late:?}"
        );
        let after_heal = records
            .iter()
            .filter(|r| {
                r.event == "write"
                    && r.cluster == c
                    && r.ok
                    && r.sent >= healed + 2 * LEASE.as_millis() as i64
            })
            .filter(|r| r.epoch < top)
            .count();
        assert_eq!(
            after_heal, 0,
            "cluster {c} admitted a lower epoch after the heal"
        );
    }
    for c in 0..2 {
        assert_eq!(
            env.fence(c, &lease),
            Some(top),
            "cluster {c}'s fence is not at the top epoch"
        );
    }
    let epochs: std::collections::BTreeSet<u64> =
        records.iter().filter(|r| r.ok).map(|r| r.epoch).collect();
    eprintln!("partition: epochs written {epochs:?}, top {top}; no lower epoch admitted once it was enforced");
}

/// A controller that goes on writing every few milliseconds with its old window across a
/// failover (its sidecar killed with -9): counts its writes each cluster admitted after
/// the new holder's fence was raised (the enforcement delay) and after the new holder
/// saw it enforced (must be none).
#[test]
fn stale_writes_across_a_failover_stop_once_the_fence_is_enforced() {
    let Some(env) = cluster::env() else { return };
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    env.install();
    let lease = common::unique("failover");
    env.bind_epoch(&lease);
    let [mut east, west] = pods(&env, &gt, &lease, [(0, "2ms"), (1, "20ms")]);
    wait_for("east active and writing", || {
        active(&east.sidecar)
            && (0..2).all(|c| !admitted_since(&east.writer.writes(), c, 0).is_empty())
    });
    east.sidecar.kill9();
    let killed = now_ms();
    wait_for(
        "west raised and saw its fence enforced in both clusters",
        || {
            let r = west.writer.records();
            (0..2).all(|c| {
                r.iter()
                    .any(|x| x.event == "enforced" && x.ok && x.cluster == c && x.sent >= killed)
            })
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let stale = east.writer.writes();
    let new = west.writer.records();
    for c in 0..2 {
        let raise = new
            .iter()
            .find(|r| r.event == "raise" && r.ok && r.cluster == c && r.sent >= killed)
            .unwrap();
        let enforced = new
            .iter()
            .find(|r| r.event == "enforced" && r.ok && r.cluster == c && r.sent >= killed)
            .unwrap();
        let in_gap = admitted_since(&stale, c, raise.ms).len();
        let after = admitted_since(&stale, c, enforced.ms);
        eprintln!(
            "cluster {c}: fence {} raised, enforced {} ms after the raise was stored (WaitEnforced: {} ms); stale writes admitted after the raise: {in_gap}, after enforcement: {}",
            raise.epoch,
            enforced.ms - raise.ms,
            enforced.took_ms,
            after.len()
        );
        assert!(
            after.is_empty(),
            "cluster {c} admitted stale writes after the fence was enforced: {after:?}"
        );
    }
    east.writer.stop();
}

/// Admiral as it is: each region's controller writes as a user of its own and stamps
/// nothing; the companion next to each sidecar (drlease-fence) names its region's user on
/// the fence when its sidecar acquires. The stalled region's controller, continued after
/// the takeover, is refused by both clusters.
#[test]
fn writer_identity_mode_refuses_the_region_that_lost_the_lease() {
    let Some(env) = cluster::env() else { return };
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    env.install();
    let lease = common::unique("admiral");
    let ns = env.bind_writers(&lease);
    let table = common::unique("fence");
    gt.create_table(&table);
    let east = Sidecar::start("pod-east", &args(&gt, 0, &table, &lease));
    wait_for("east holds the lease", || active(&east));
    let west = Sidecar::start("pod-west", &args(&gt, 1, &table, &lease));
    let mut raisers = [
        writer::raiser(&env, &lease, east.port, "fence-writer-a"),
        writer::raiser(&env, &lease, west.port, "fence-writer-b"),
    ];
    let plan = |port, context| Plan {
        lease: &lease,
        sidecar_port: port,
        mode: "writer",
        context,
        namespace: &ns,
        burst: 0,
        interval: "5ms",
    };
    let a = Writer::start(&env, "writer-a", &plan(east.port, "writer-a"));
    let b = Writer::start(&env, "writer-b", &plan(west.port, "writer-b"));
    wait_for(
        "east active and its writer admitted in both clusters",
        || active(&east) && (0..2).all(|c| !admitted_since(&a.writes(), c, 0).is_empty()),
    );
    a.signal(libc::SIGSTOP);
    east.signal(libc::SIGSTOP);
    let stopped = now_ms();
    wait_for(
        "west took over and its writer was admitted in both clusters",
        || (0..2).all(|c| !admitted_since(&b.writes(), c, stopped).is_empty()),
    );
    let continued = now_ms();
    east.signal(libc::SIGCONT);
    a.signal(libc::SIGCONT);
    wait_for("writer a wrote 20 times more", || {
        a.writes().iter().filter(|r| r.sent >= continued).count() >= 20
    });
    let after: Vec<_> = a
        .writes()
        .into_iter()
        .filter(|r| r.sent >= continued)
        .collect();
    let admitted: Vec<_> = after.iter().filter(|r| r.ok).collect();
    assert!(
        admitted.is_empty(),
        "the region that lost the lease still wrote: {admitted:?}"
    );
    assert!(
        after.iter().all(|r| r.stale || conflict(r)) && after.iter().any(|r| r.stale),
        "a refusal was neither a typed stale error nor a conflict: {after:?}"
    );
    for r in &mut raisers {
        let _ = r.kill();
        let _ = r.wait();
    }
}
