use std::sync::Mutex;

use super::*;
use crate::run::eligibility::Eligibility;
use crate::run::events::Facts;

/// An API server in memory: records what it was asked, fails while `failure` is set.
#[derive(Default)]
struct FakeApi {
    labels: Mutex<Vec<Role>>,
    events: Mutex<Vec<Change>>,
    failure: Mutex<Option<Failure>>,
}

impl FakeApi {
    fn fail(&self) -> Result<(), Failure> {
        match self.failure.lock().unwrap().clone() {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}

impl PodApi for &FakeApi {
    async fn set_label(&self, role: Role) -> Result<(), Failure> {
        self.fail()?;
        self.labels.lock().unwrap().push(role);
        Ok(())
    }

    async fn record_event(&self, change: &Change) -> Result<(), Failure> {
        self.fail()?;
        self.events.lock().unwrap().push(change.clone());
        Ok(())
    }
}

fn record(log: &EventLog, role: Role, epoch: u64, holder: &str, reason: &str) {
    let facts = Facts {
        role,
        holder: Some(holder.into()),
        epoch: Some(epoch),
        frozen: false,
        eligible: Eligibility::default().eligible(),
    };
    log.record(Mono::ZERO, facts, Some(true), reason.into());
}

#[test]
fn only_changes_of_role_count_and_undecided_is_none() {
    let log = EventLog::default();
    let mut follower = Follower::default();
    record(&log, Role::Unknown, 0, "", "starting");
    follower.update(&log);
    assert_eq!(follower.latest(), None);
    record(&log, Role::Passive, 3, "pod-b", "first decision: passive");
    record(&log, Role::Passive, 4, "pod-c", "pod-c took over");
    follower.update(&log);
    let change = follower.latest().unwrap();
    assert_eq!(
        (change.seq, change.role, change.epoch),
        (1, Role::Passive, Some(3))
    );
    record(
        &log,
        Role::Active,
        5,
        "pod-a",
        "took over from pod-c after its lease ran out",
    );
    follower.update(&log);
    let change = follower.latest().unwrap();
    assert_eq!((change.seq, change.role), (2, Role::Active));
    assert_eq!(change.event_reason(), "BecameActive");
    assert_eq!(
        change.event_message("mylease"),
        "active: took over from pod-c after its lease ran out; lease mylease, epoch 5, holder pod-a"
    );
}

#[tokio::test]
async fn after_an_outage_the_pod_shows_the_latest_role_once_not_a_replay() {
    let log = EventLog::default();
    let api = FakeApi::default();
    let mut follower = Follower::default();
    let mut shown = Shown::default();
    *api.failure.lock().unwrap() = Some(Failure::Unreachable("connection refused".into()));
    for (role, epoch) in [(Role::Active, 1), (Role::Passive, 2), (Role::Active, 3)] {
        record(&log, role, epoch, "pod-a", "x");
        follower.update(&log);
        assert!(!shown.converge(&&api, &follower.latest().unwrap()).await);
    }
    *api.failure.lock().unwrap() = None;
    assert!(shown.converge(&&api, &follower.latest().unwrap()).await);
    assert_eq!(*api.labels.lock().unwrap(), vec![Role::Active]);
    let events = api.events.lock().unwrap().clone();
    assert_eq!(
        events.len(),
        1,
        "one Event, for the latest change: {events:?}"
    );
    assert_eq!((events[0].seq, events[0].epoch), (3, Some(3)));
    // Converged: nothing more is asked until the role changes again.
    assert!(shown.converge(&&api, &follower.latest().unwrap()).await);
    assert_eq!(api.labels.lock().unwrap().len(), 1);
    assert_eq!(api.events.lock().unwrap().len(), 1);
}

#[test]
fn each_kind_of_failure_is_logged_once_until_it_clears() {
    let refused = Failure::Refused {
        permission: "patch on pods in namespace ns".into(),
        message: "forbidden".into(),
    };
    let mut failing = None;
    assert!(log_once(&mut failing, &refused, "label"));
    assert!(
        !log_once(&mut failing, &refused, "label"),
        "the same refusal again"
    );
    let down = Failure::Unreachable("refused".into());
    assert!(log_once(&mut failing, &down, "label"), "another kind");
    assert!(!log_once(&mut failing, &down, "label"));
}

#[tokio::test(start_paused = true)]
async fn the_task_retries_then_labels_passive_on_shutdown() {
    let log = Arc::new(EventLog::default());
    let api = FakeApi::default();
    let clock: Arc<dyn Clock> = Arc::new(crate::sys::clock::ManualClock::new(Duration::ZERO));
    let (stop, stop_rx) = watch::channel(None::<Mono>);
    *api.failure.lock().unwrap() = Some(Failure::Unreachable("down".into()));
    record(&log, Role::Active, 1, "pod-a", "acquired the lease");
    let task = run(&api, log.clone(), stop_rx, clock.clone());
    let drive = async {
        // The API server comes back after a few retries.
        tokio::time::sleep(Duration::from_secs(10)).await;
        *api.failure.lock().unwrap() = None;
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(*api.labels.lock().unwrap(), vec![Role::Active]);
        record(&log, Role::Passive, 1, "pod-a", "shutting down");
        stop.send_replace(Some(clock.now().plus(Duration::from_secs(5))));
    };
    tokio::join!(task, drive);
    assert_eq!(
        *api.labels.lock().unwrap(),
        vec![Role::Active, Role::Passive]
    );
    let reasons: Vec<_> = api
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.reason.clone())
        .collect();
    assert_eq!(reasons, vec!["acquired the lease", "shutting down"]);
}

#[tokio::test(start_paused = true)]
async fn a_renewal_recorded_after_the_shutdown_began_still_ends_passive() {
    let log = Arc::new(EventLog::default());
    let api = FakeApi::default();
    let clock: Arc<dyn Clock> = Arc::new(crate::sys::clock::ManualClock::new(Duration::ZERO));
    let (stop, stop_rx) = watch::channel(None::<Mono>);
    record(&log, Role::Active, 1, "pod-a", "acquired the lease");
    let task = run(&api, log.clone(), stop_rx, clock.clone());
    let drive = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The shutdown's event, the stop, and the loop finishing a renewal after them.
        record(&log, Role::Passive, 1, "pod-a", "shutting down");
        stop.send_replace(Some(clock.now().plus(Duration::from_secs(1))));
        record(&log, Role::Active, 1, "pod-a", "renewed");
    };
    tokio::join!(task, drive);
    assert_eq!(api.labels.lock().unwrap().last(), Some(&Role::Passive));
    let events = api.events.lock().unwrap();
    assert_eq!(
        events.last().map(|c| c.role),
        Some(Role::Passive),
        "{events:?}"
    );
}
