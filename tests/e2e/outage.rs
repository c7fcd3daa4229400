//! SIGTERM during a store outage still exits by the release deadline.

use crate::*;

/// Once, SIGTERM during a store outage slept a full interval past the release
/// deadline once the lease had lapsed, and the heartbeat's deletion and the HTTP server
/// waited on fixed timeouts of their own after it (6.1 s to exit at interval 2 s, where the
/// deadline is 4 s).
#[test]
fn sigterm_during_a_store_outage_exits_within_the_release_deadline() {
    use common::proxy::{Fault, FaultProxy};
    use drlease::lease::operator;
    use drlease::store::dynamodb::DynamoStore;
    use drlease::store::LeaseStore;
    let Some(endpoint) = common::endpoint() else {
        return;
    };
    // The proxy runs its own runtime: set the table up on another, outside any runtime.
    // Seeded as create-table does, so the sidecar is active at once.
    let table = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = common::connection(&endpoint).await;
        let table = common::new_table(&conn).await;
        let store = DynamoStore::new(conn, table.clone(), "outage");
        store
            .write(&operator::seed("seed".into(), 6000))
            .await
            .unwrap();
        table
    });
    let upstream = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("moto endpoint is http://IP:PORT");
    let proxy = FaultProxy::start(upstream);
    // Interval 3 s, threshold 2: renew deadline 3 s, call timeout 1.5 s, release deadline 3 s.
    let args = common::lease_args(&proxy.url(), &table, "outage", "3s", "2");
    let mut a = Sidecar::start("pod-a", &args);
    wait_until(STARTUP, || a.is_active()).expect("a becomes active");
    proxy.set(Fault::Blackhole);
    wait_until(Duration::from_secs(10), || !a.is_active()).expect("the lease lapses");
    a.signal(libc::SIGTERM);
    let sent = Instant::now();
    let code = a.wait_exit(Duration::from_secs(15));
    let took = sent.elapsed();
    eprintln!("exit after SIGTERM during an outage: {took:?} (release deadline 3s)");
    assert_eq!(code, Some(0), "clean exit:\n{}", a.logs());
    assert!(
        took < Duration::from_secs(3) + Duration::from_secs(1),
        "took {took:?}:\n{}",
        a.logs()
    );
    assert!(a.logs().contains("gave up releasing"), "{}", a.logs());
}
