//! The store restarted empty under two sidecars: a new tenure, with an epoch above any
//! both pods had seen.

use std::time::{Duration, Instant};

use crate::cluster::{runtime, Cluster};
use crate::common;
use crate::common::proxy::Fault;
use crate::common::sidecar::{free_port, role_json, wait_active};
use crate::common::wait_until;
use crate::observer::Observer;
use crate::scenarios::other;
use crate::RunResult;

/// The store restarted empty: a moto of our own, killed and started again on the same
/// port, without the table or the item. Nobody who saw an epoch hands out a lower one.
pub fn store_restarted_empty(_shared_endpoint: &str) -> RunResult {
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let start_moto = || common::moto::start_moto(port);
    let create_table = |table: &str| {
        runtime().block_on(async {
            let conn = common::connection(&endpoint).await;
            drlease::store::dynamodb::table::create_table(&conn, table)
                .await
                .unwrap();
        })
    };
    let mut store = start_moto();
    let table = common::unique("restart");
    create_table(&table);
    let c = Cluster::on(&endpoint, &table, &["pod-a", "pod-b"]);
    let obs = Observer::start(&c.ports());
    let active = c.settle();
    // Hand the lease around a little so the epoch is above 1.
    c.proxies[active].set(Fault::Blackhole);
    let old_holder = other(active);
    // Role and epoch from one answer, so the epoch is the tenure that was seen active.
    let tenure = wait_active(&c.sidecars[old_holder], Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover from the black-holed pod\n{}", c.logs()));
    c.proxies[active].set(Fault::Pass);
    let before = tenure.epoch;
    assert!(before >= 2, "epoch before the restart: {before}");
    // The rule is about epochs a process has *seen*: let both see the current one. (A
    // process that never saw it cannot carry it across a store that forgot it.)
    wait_until(Duration::from_secs(3), || c.epoch_of(active) == before)
        .expect("the old holder observes the new epoch");

    store.kill().unwrap();
    store.wait().unwrap();
    let mut store = start_moto();
    create_table(&table);
    // Timed from the table being back: moto's own start-up (seconds on a loaded machine)
    // is not the sidecars' failover.
    let t = Instant::now();
    // The old holder stays active, with the old epoch, until its renew deadline: when moto
    // comes back quickly its tenure is still running, and "someone is active" would be
    // that tenure, not a new one. Wait for what the scenario means: the old tenure over,
    // then a holder with an epoch above the old one. Each answer is one /role snapshot
    // (role and epoch together), so a pod that changes between two requests cannot
    // mislead it.
    let new_owner = wait_for_a_higher_epoch(&c, old_holder, before);
    let took = new_owner.map(|_| t.elapsed()).unwrap_or_else(|| {
        panic!(
            "no pod active with an epoch above {before} within 20 s of the store restart\n\
             --- {} ---\n{}\n--- {} ---\n{}",
            c.sidecars[0].identity,
            c.sidecars[0].logs(),
            c.sidecars[1].identity,
            c.sidecars[1].logs()
        )
    });
    store.kill().unwrap();
    let _ = store.wait();
    let obs = obs.finish();
    RunResult {
        dual_active: obs.dual_active(),
        failover: Some(took),
    }
}

/// Waits up to 20 s for a holder with an epoch above `before`; panics if a pod answers
/// active with an epoch no higher once the old tenure is over (a reused fencing token).
fn wait_for_a_higher_epoch(c: &Cluster, old_holder: usize, before: u64) -> Option<Duration> {
    let mut old_tenure_over = false;
    let mut reused = None;
    let new_owner = wait_until(Duration::from_secs(20), || {
        let snapshots: Vec<Option<(bool, u64)>> = (0..c.sidecars.len())
            .map(|i| {
                role_json(c.sidecars[i].port)
                    .map(|v| (v["role"] == "active", v["epoch"].as_u64().unwrap_or(0)))
            })
            .collect();
        if let Some(Some((false, _))) = snapshots.get(old_holder) {
            old_tenure_over = true;
        }
        for (i, s) in snapshots.iter().enumerate() {
            match s {
                Some((true, e)) if *e > before => return true,
                // After the old tenure is over, an active pod with an epoch no higher than
                // the old one would be a new tenure reusing a token both pods had seen.
                Some((true, e)) if old_tenure_over || i != old_holder => {
                    reused.get_or_insert((i, *e));
                }
                _ => {}
            }
        }
        false
    });
    if let Some((i, e)) = reused {
        panic!(
            "pod {} was active with epoch {e} after the restart; both pods had seen epoch {before}",
            c.sidecars[i].identity
        );
    }
    new_owner
}
