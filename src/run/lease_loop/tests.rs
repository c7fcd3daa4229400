//! The loop against a store that hangs: the release still ends by its deadline.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::lease::operator::HandoverRequest;
use crate::lease::timing::Timing;
use crate::lease::{CoreConfig, LeaseRecord, WriteRequest};
use crate::lease::{LeaseCore, Role};
use crate::run::eligibility::{AppHealth, Eligibility};
use crate::run::metrics::Metrics;
use crate::run::publish::{channel, Identity};
use crate::store::memory::MemoryStore;
use crate::store::{LeaseStore, StoreError};
use crate::sys::clock::{Clock, Mono};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Tokio's clock as a `Clock`, so that paused test time drives the core too.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Mono {
        Mono::from_duration(self.0.elapsed())
    }
}

/// The memory store, until `down` is set: then every call hangs, as a blackholed
/// network does.
#[derive(Clone)]
struct Flaky {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl Flaky {
    async fn hang_if_down(&self) {
        if self.down.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

impl LeaseStore for Flaky {
    async fn read(&self) -> Result<Option<LeaseRecord>, StoreError> {
        self.hang_if_down().await;
        self.inner.read().await
    }

    async fn write(&self, req: &WriteRequest) -> Result<LeaseRecord, StoreError> {
        self.hang_if_down().await;
        self.inner.write(req).await
    }

    async fn request_handover(&self, req: &HandoverRequest) -> Result<(), StoreError> {
        self.hang_if_down().await;
        self.inner.request_handover(req).await
    }

    async fn claim(&self, claim: &crate::lease::ReleaseClaim) -> Result<(), StoreError> {
        self.hang_if_down().await;
        self.inner.claim(claim).await
    }

    async fn read_marks(
        &self,
        regions: &[String],
    ) -> Result<Vec<crate::lease::RegionMark>, StoreError> {
        self.hang_if_down().await;
        self.inner.read_marks(regions).await
    }

    async fn write_mark(&self, mark: &crate::lease::RegionMark) -> Result<(), StoreError> {
        self.hang_if_down().await;
        self.inner.write_mark(mark).await
    }
}

/// With the defaults (interval 15 s, call timeout 5 s, release deadline 10 s), SIGTERM
/// during an outage after the lease has lapsed must not sleep a full interval past the
/// release deadline.
#[tokio::test(start_paused = true)]
async fn a_release_during_an_outage_ends_by_the_release_deadline() {
    let clock: Arc<dyn Clock> = Arc::new(TokioClock(tokio::time::Instant::now()));
    let interval = Duration::from_secs(15);
    let call_timeout = Duration::from_secs(5);
    let core = LeaseCore::new(CoreConfig {
        identity: "a".into(),
        session: "sa".into(),
        timing: Timing {
            interval,
            lease_duration: interval * 3,
            renew_deadline: interval * 2,
            confirm_delay: Duration::ZERO,
            longest_lease: interval * 3,
        },
        store_is_private: true,
        affinity: Default::default(),
        regions: None,
    });
    let who = Identity {
        identity: "a".into(),
        lease: "l".into(),
        session: "sa".into(),
        affinity: Default::default(),
        table: None,
    };
    let eligible = Eligibility {
        warm: true,
        app: AppHealth::NotChecked,
    };
    let (publisher, shared) = channel(
        clock.clone(),
        who,
        interval * 3,
        eligible,
        Duration::from_secs(2),
    );
    let (_eligibility_tx, eligibility) = watch::channel(eligible);
    let down = Arc::new(AtomicBool::new(false));
    let store = Flaky {
        inner: MemoryStore::new("l"),
        down: down.clone(),
    };
    let metrics = Arc::new(Metrics::new("l"));
    let lease_loop = LeaseLoop::new(
        core,
        store,
        clock.clone(),
        publisher,
        metrics,
        call_timeout,
        eligibility,
    );
    let (stop_tx, stop_rx) = watch::channel(None);
    let task = tokio::spawn(lease_loop.run(stop_rx));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(shared.role().0, Role::Active);
    down.store(true, Ordering::SeqCst);
    // Just past the renew deadline (30 s), with the back-off after the failed call that
    // found it lapsed running until 47 s.
    tokio::time::sleep(interval * 2 + Duration::from_secs(2)).await;
    assert_eq!(shared.role().0, Role::Passive);
    let release_deadline = call_timeout * 2;
    let signalled = clock.now();
    stop_tx
        .send(Some(signalled.plus(release_deadline)))
        .unwrap();
    task.await.unwrap();
    let took = clock.now().since(signalled);
    assert!(
        took <= release_deadline,
        "the release took {took:?}, past its deadline of {release_deadline:?}"
    );
}
