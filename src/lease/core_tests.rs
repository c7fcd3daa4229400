//! Scenario tests of the lease core, on virtual time against the memory store's rules.

use std::time::Duration;

use super::*;
use crate::lease::operator;
use crate::lease::record::FROZEN_OWNER;
use crate::lease::Role;
use crate::store::memory::MemoryStore;

const INTERVAL: Duration = Duration::from_millis(100);
const LEASE: Duration = Duration::from_millis(300);
const RENEW_DEADLINE: Duration = Duration::from_millis(200);
const RTT: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(identity: &str, session: &str) -> CoreConfig {
    CoreConfig {
        identity: identity.into(),
        session: session.into(),
        interval: INTERVAL,
        lease_duration: LEASE,
        renew_deadline: RENEW_DEADLINE,
        confirm_delay: Duration::ZERO,
        store_is_private: false,
    }
}

fn private(identity: &str, session: &str) -> CoreConfig {
    CoreConfig {
        store_is_private: true,
        ..config(identity, session)
    }
}

/// Outcomes the harness can force on the next store call.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// The write lands but the answer is lost.
    LoseReply,
    /// The call fails without reaching the store.
    Unreachable,
}

struct Harness {
    core: LeaseCore,
    store: MemoryStore,
    now: Mono,
    fault: Fault,
    outage_until: Mono,
    malformed: bool,
    writes: Vec<(Mono, WriteRequest)>,
}

impl Harness {
    fn new(cfg: CoreConfig) -> Self {
        Harness {
            core: LeaseCore::new(cfg),
            store: MemoryStore::new("lease"),
            now: Mono::from_duration(Duration::from_secs(1000)),
            fault: Fault::None,
            outage_until: Mono::ZERO,
            malformed: false,
            writes: Vec::new(),
        }
    }

    fn with_item(self, record: LeaseRecord) -> Self {
        self.store.table().put("lease", record);
        self
    }

    fn item(&self) -> Option<LeaseRecord> {
        self.store.table().get("lease")
    }

    fn role(&self) -> Role {
        self.core.view().role_at(self.now)
    }

    fn down(&self) -> bool {
        self.now < self.outage_until
    }

    /// Runs one step; returns false when the core is done.
    fn step(&mut self) -> bool {
        match self.core.next_step(self.now) {
            Step::Done => return false,
            Step::Wait(t) => {
                assert!(t > self.now, "Wait must move time forward");
                self.now = t;
            }
            Step::Read => {
                let sent = self.now;
                self.now = self.now.plus(RTT);
                let result = if self.down() {
                    Err(StoreError::Unavailable("outage".into()))
                } else if self.malformed {
                    Err(StoreError::Malformed("leaseOwner is a number".into()))
                } else {
                    Ok(self.item())
                };
                self.core.on_read(sent, self.now, result);
            }
            Step::Write(req) => {
                let sent = self.now;
                self.now = self.now.plus(RTT);
                self.writes.push((sent, (*req).clone()));
                let result = if self.down() || self.fault == Fault::Unreachable {
                    Err(StoreError::Timeout(RTT))
                } else {
                    let r = self.store.write_now(&req);
                    if self.fault == Fault::LoseReply {
                        self.fault = Fault::None;
                        Err(StoreError::Timeout(RTT))
                    } else {
                        r
                    }
                };
                self.core.on_write(&req, sent, self.now, result);
            }
        }
        true
    }

    /// Steps until virtual time reaches `until`, checking `each` after every step.
    fn run_for(&mut self, d: Duration, mut each: impl FnMut(&Harness)) {
        let until = self.now.plus(d);
        for _ in 0..100_000 {
            if self.now >= until || !self.step() {
                return;
            }
            each(self);
        }
        panic!("core did not advance time");
    }

    fn run(&mut self, d: Duration) {
        self.run_for(d, |_| {});
    }
}

fn foreign(owner: &str, version: &str, epoch: u64) -> LeaseRecord {
    LeaseRecord {
        owner: owner.into(),
        updated_time: Some(1),
        version: Some(version.into()),
        epoch: Some(epoch),
        lease_duration_ms: Some(LEASE.as_millis() as u64),
        owner_session: Some(format!("{owner}-session")),
        ..Default::default()
    }
}

#[test]
fn fresh_start_on_a_private_store_becomes_active_at_once() {
    let mut h = Harness::new(private("a", "sa"));
    assert_eq!(h.role(), Role::Unknown);
    h.run_for(ms(5), |h| {
        assert_ne!(
            h.role(),
            Role::Passive,
            "no passive blip before the create lands"
        )
    });
    assert_eq!(h.role(), Role::Active);
    let item = h.item().unwrap();
    assert_eq!(item.owner, "a");
    assert_eq!(item.epoch, Some(1));
    assert_eq!(h.writes[0].1.kind, WriteKind::Create);
    assert_eq!(h.writes[0].1.expect, Expect::Absent);
}

#[test]
fn a_missing_item_in_a_shared_table_is_created_only_after_a_lease() {
    let mut h = Harness::new(config("a", "sa"));
    let start = h.now;
    h.run_for(LEASE, |h| assert_ne!(h.role(), Role::Active));
    assert_eq!(
        h.role(),
        Role::Passive,
        "decided: passive while the absence is timed"
    );
    h.run(ms(10));
    assert_eq!(h.role(), Role::Active);
    // Absence has no version to time: a released placeholder fills it, then is timed.
    let (sent, w) = &h.writes[0];
    assert_eq!(w.kind, WriteKind::Placeholder);
    assert_eq!(*sent, start.plus(RTT));
    let (sent, w) = &h.writes[1];
    assert_eq!(w.kind, WriteKind::Acquire);
    assert_eq!(*sent, start.plus(RTT * 2).plus(LEASE));
    assert_eq!(w.new.epoch, 1);
}

/// Found by the simulation's deletion actor: the item was created and deleted between two
/// reads that both found nothing, and the candidate took the second absence for the first.
#[test]
fn an_item_created_and_deleted_between_two_reads_does_not_shorten_the_wait() {
    let mut h = Harness::new(config("b", "sb"));
    h.run(ms(5));
    // Between our reads: a placeholder of ours is replaced by a holder, then deleted.
    h.store.table().put("lease", foreign("a", "v1", 1));
    h.store.table().remove("lease");
    let gone = h.now;
    h.run(LEASE * 3);
    let acquire = h
        .writes
        .iter()
        .find(|(_, w)| w.kind == WriteKind::Acquire)
        .expect("acquires in the end");
    assert!(acquire.0.since(gone) >= LEASE);
}

#[test]
fn the_active_renews_every_interval_and_never_lapses() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run_for(LEASE * 10, |h| assert_eq!(h.role(), Role::Active));
    let renewals = h
        .writes
        .iter()
        .filter(|(_, w)| w.kind == WriteKind::Renew)
        .count();
    assert!((29..=31).contains(&renewals), "renewals: {renewals}");
    let (last_sent, last) = h.writes.last().unwrap();
    assert_eq!(
        h.item().unwrap().version.as_deref(),
        Some(last.new.version.as_str())
    );
    assert_eq!(h.item().unwrap().epoch, Some(1), "renewal keeps the epoch");
    assert_eq!(
        h.core.view().active_until,
        Some(last_sent.plus(RENEW_DEADLINE))
    );
}

#[test]
fn a_renew_deadline_of_one_interval_still_never_lapses() {
    // failure threshold 2 with the default renew deadline (lease - interval = interval).
    let cfg = CoreConfig {
        lease_duration: INTERVAL * 2,
        renew_deadline: INTERVAL,
        ..private("a", "sa")
    };
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    h.run_for(INTERVAL * 30, |h| assert_eq!(h.role(), Role::Active));
    let renewals = h
        .writes
        .iter()
        .filter(|(_, w)| w.kind == WriteKind::Renew)
        .count();
    assert!(
        (58..=61).contains(&renewals),
        "renews every half deadline: {renewals}"
    );
}

#[test]
fn a_renewal_whose_answer_was_lost_counts_once_the_item_shows_it() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run(INTERVAL - ms(5));
    h.fault = Fault::LoseReply;
    let before = h.writes.len();
    // The renew (lost answer), the check read, and nothing else.
    while h.writes.len() == before {
        h.step();
    }
    let (lost_sent, lost) = h.writes.last().unwrap().clone();
    // The check read comes after a short back-off; the lease stays valid meanwhile.
    h.run_for(INTERVAL / 2, |h| assert_eq!(h.role(), Role::Active));
    assert_eq!(
        h.core.view().active_until,
        Some(lost_sent.plus(RENEW_DEADLINE))
    );
    assert_eq!(h.item().unwrap().version, Some(lost.new.version.clone()));
    assert_eq!(
        h.writes.len(),
        before + 1,
        "no second write for a landed renewal"
    );
}

#[test]
fn a_renewal_that_did_not_land_is_resent_with_the_same_token() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.run(INTERVAL - ms(5));
    h.fault = Fault::Unreachable;
    let before = h.writes.len();
    while h.writes.len() == before {
        h.step();
    }
    h.fault = Fault::None;
    while h.writes.len() == before + 1 {
        h.step();
    }
    let first = &h.writes[before].1;
    let second = &h.writes[before + 1].1;
    assert_eq!(first, second, "the retry must reuse the token");
    h.step();
    assert_eq!(h.role(), Role::Active);
    // Validity counts from the first attempt, which might have been the one to land.
    assert_eq!(
        h.core.view().active_until,
        Some(h.writes[before].0.plus(RENEW_DEADLINE))
    );
}

#[test]
fn foreign_renewals_keep_a_candidate_passive() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 4));
    let mut n = 0;
    let mut last_renew = h.now;
    // Renew on the holder's behalf every interval while the candidate runs.
    for _ in 0..400 {
        if h.now.since(last_renew) >= INTERVAL {
            n += 1;
            h.store
                .table()
                .put("lease", foreign("a", &format!("v{n}"), 4));
            last_renew = h.now;
        }
        h.step();
        assert_ne!(h.role(), Role::Active);
    }
    assert!(
        h.now.since(last_renew) < INTERVAL * 2 && n > 20,
        "ran {n} renewals"
    );
    assert!(h.writes.is_empty());
    assert_eq!(h.item().unwrap().owner, "a");
}

#[test]
fn takeover_is_sent_the_moment_the_observed_lease_runs_out() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 4));
    let start = h.now;
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    let (sent, w) = &h.writes[0];
    assert_eq!(w.kind, WriteKind::Takeover);
    // First read answered at start + RTT: that is when the version was noted.
    assert_eq!(*sent, start.plus(RTT).plus(LEASE));
    assert_eq!(w.new.epoch, 5, "epoch moves past the stored one");
    assert_eq!(h.item().unwrap().owner, "b");
}

#[test]
fn a_longer_lease_duration_in_the_item_is_honoured() {
    let mut item = foreign("a", "v0", 1);
    item.lease_duration_ms = Some(1000);
    let mut h = Harness::new(config("b", "sb")).with_item(item);
    let start = h.now;
    h.run(ms(990));
    assert!(h.writes.is_empty());
    h.run(ms(100));
    assert_eq!(h.writes[0].0, start.plus(RTT).plus(ms(1000)));
}

#[test]
fn a_fresh_process_waits_a_full_lease_even_when_updated_time_is_ancient() {
    let mut item = foreign("a", "v0", 1);
    item.updated_time = Some(0);
    let mut h = Harness::new(config("b", "sb")).with_item(item);
    h.run(LEASE - ms(1));
    assert!(h.writes.is_empty());
    assert_eq!(h.role(), Role::Passive);
}

/// What `holder`'s own release of its current version looks like in the store.
fn own_release(holder: &LeaseRecord, version: &str) -> LeaseRecord {
    LeaseRecord {
        owner: String::new(),
        version: Some(version.into()),
        owner_session: Some(String::new()),
        released_by: holder.owner_session.clone(),
        released_from: holder.version.clone(),
        ..holder.clone()
    }
}

#[test]
fn a_holders_own_release_of_a_tenure_we_saw_is_acquired_at_once() {
    let held = foreign("a", "v1", 7);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    // The holder renews (a version we never see) and then releases.
    let renewed = foreign("a", "v2", 7);
    h.store.table().put("lease", own_release(&renewed, "r"));
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes[0].1.kind, WriteKind::Acquire);
    assert_eq!(h.item().unwrap().epoch, Some(8));
}

#[test]
fn a_fresh_candidate_times_a_release_whose_tenure_it_did_not_see() {
    let released = own_release(&foreign("a", "v1", 7), "r");
    let mut h = Harness::new(config("b", "sb")).with_item(released);
    h.run(LEASE - ms(2));
    assert!(
        h.writes.is_empty(),
        "a restored release looks just like this"
    );
    h.run(ms(5));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn a_release_claiming_another_tenure_is_timed() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v1", 7));
    h.run(ms(5));
    // Released "by a" but at another epoch: not the tenure we saw.
    let mut other = foreign("a", "v2", 6);
    other.owner_session = Some("a-session".into());
    h.store.table().put("lease", own_release(&other, "r"));
    h.run(LEASE - ms(5));
    assert!(h.writes.is_empty());
}

/// The bug this rule fixes: `freeze` then `unfreeze` at once wrote a released item while
/// the holder was still inside its validity, and a candidate acquired it at once.
#[test]
fn freeze_then_unfreeze_at_once_is_timed_from_when_the_candidate_saw_the_freeze() {
    let held = foreign("a", "v1", 3);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    let freeze = operator::freeze(Some(&held), "f".into(), LEASE.as_millis() as u64);
    h.store.write_now(&freeze).unwrap();
    let frozen_at = h.now;
    h.run(INTERVAL);
    let frozen = h.item().unwrap();
    h.store
        .write_now(&operator::unfreeze(&frozen, "u".into(), 300))
        .unwrap();
    h.run_for(LEASE - INTERVAL - ms(5), |h| {
        assert_ne!(h.role(), Role::Active, "the holder may still be active")
    });
    h.run(INTERVAL * 2);
    assert_eq!(h.role(), Role::Active);
    let (sent, req) = &h.writes[0];
    assert_eq!(req.kind, WriteKind::Acquire);
    assert!(*sent >= frozen_at.plus(LEASE));
}

#[test]
fn an_unfreeze_after_a_long_freeze_is_acquired_at_the_next_read() {
    let frozen = operator::freeze(None, "f".into(), 300).apply(None, 0);
    let mut h = Harness::new(config("b", "sb")).with_item(frozen.clone());
    h.run(LEASE * 2);
    h.store
        .write_now(&operator::unfreeze(&frozen, "u".into(), 300))
        .unwrap();
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn the_seed_is_acquired_at_once_unless_a_higher_epoch_was_seen() {
    let mut fresh = Harness::new(config("b", "sb")).with_item(seed());
    fresh.run(ms(5));
    assert_eq!(fresh.role(), Role::Active);
    assert_eq!(fresh.item().unwrap().epoch, Some(1));

    // Someone who saw epoch 4 treats a seed that reappears as a restore: timed.
    let mut h = Harness::new(config("c", "sc")).with_item(foreign("a", "v1", 4));
    h.run(ms(5));
    h.store.table().put("lease", seed());
    h.run(LEASE - ms(10));
    assert!(h.writes.is_empty());
    assert!(h.core.view().rollbacks > 0);
}

#[test]
fn history_older_than_a_lease_is_forgotten() {
    // We saw a's tenure, then read nothing for longer than a lease (paused, or the store
    // was unreachable). The release we read now may be a restored copy: time it.
    let held = foreign("a", "v1", 7);
    let mut h = Harness::new(config("b", "sb")).with_item(held.clone());
    h.run(ms(5));
    h.outage_until = h.now.plus(LEASE * 2);
    h.run(LEASE * 2);
    h.store.table().put("lease", own_release(&held, "r"));
    h.run(INTERVAL * 2);
    assert!(h.item().unwrap().is_released());
    assert_eq!(h.role(), Role::Passive);
    h.run(LEASE);
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn release_stops_answering_active_before_writing() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(INTERVAL * 3);
    assert_eq!(h.role(), Role::Active);
    let epoch = h.item().unwrap().epoch;
    h.core.begin_release();
    assert_eq!(h.role(), Role::Passive, "passive before any store call");
    let Step::Write(req) = h.core.next_step(h.now) else {
        panic!("expected the release write")
    };
    assert_eq!(req.kind, WriteKind::Release);
    assert!(matches!(req.expect, Expect::Held { .. }));
    h.core.on_write(&req, h.now, h.now, h.store.write_now(&req));
    assert_eq!(h.core.next_step(h.now), Step::Done);
    let item = h.item().unwrap();
    assert_eq!(item.owner, "");
    assert_eq!(item.epoch, epoch, "release keeps the epoch");
}

#[test]
fn a_passive_candidate_releases_nothing() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 1));
    h.run(ms(5));
    h.core.begin_release();
    assert_eq!(h.core.next_step(h.now), Step::Done);
    assert_eq!(h.item().unwrap().owner, "a");
}

#[test]
fn a_frozen_lease_is_never_taken() {
    let mut h = Harness::new(config("b", "sb")).with_item(LeaseRecord {
        owner: FROZEN_OWNER.into(),
        updated_time: Some(5),
        ..Default::default()
    });
    h.run_for(LEASE * 20, |h| assert_eq!(h.role(), Role::Passive));
    assert!(h.writes.is_empty());
    assert!(h.core.view().frozen);
}

#[test]
fn freezing_under_an_active_makes_it_passive_at_its_next_renewal() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    h.store.table().put(
        "lease",
        LeaseRecord {
            owner: FROZEN_OWNER.into(),
            ..Default::default()
        },
    );
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Passive);
    h.run(LEASE * 10);
    assert_eq!(h.item().unwrap().owner, FROZEN_OWNER);
}

#[test]
fn a_live_twin_with_the_same_identity_is_a_conflict_and_keeps_us_passive() {
    let twin = |v: &str| LeaseRecord {
        owner_session: Some("twin-session".into()),
        ..foreign("a", v, 3)
    };
    let mut h = Harness::new(config("a", "sa")).with_item(twin("v0"));
    for n in 1..=20 {
        h.run(INTERVAL);
        h.store.table().put("lease", twin(&format!("v{n}")));
        assert_ne!(h.role(), Role::Active);
    }
    assert!(h.core.view().conflict);
    assert!(h.writes.is_empty());
    // The twin dies: its item stops changing, and it is taken over like any other.
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    assert!(!h.core.view().conflict);
}

#[test]
fn an_earlier_incarnation_is_not_a_conflict_and_is_taken_over() {
    let old = LeaseRecord {
        owner_session: Some("old-session".into()),
        ..foreign("a", "v0", 3)
    };
    let mut h = Harness::new(config("a", "sa")).with_item(old);
    h.run(LEASE + ms(10));
    assert!(!h.core.view().conflict);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.item().unwrap().epoch, Some(4));
}

#[test]
fn a_stalled_loop_stops_answering_active_at_the_deadline() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(INTERVAL * 2 + ms(50));
    let view = h.core.view();
    let until = view.active_until.unwrap();
    // No more steps: the loop is stalled. The published view expires on its own.
    assert_eq!(view.role_at(until), Role::Passive);
    assert_eq!(
        view.role_at(Mono::from_duration(until.as_duration() - ms(1))),
        Role::Active
    );
}

#[test]
fn a_store_outage_costs_the_lease_only_at_the_deadline() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(ms(5));
    let outage_start = h.now;
    h.outage_until = h.now.plus(LEASE * 3);
    let until = h.core.view().active_until.unwrap();
    h.run_for(LEASE * 2, |h| {
        let expected = if h.now < until {
            Role::Active
        } else {
            Role::Passive
        };
        assert_eq!(h.role(), expected, "at {:?}", h.now.since(outage_start));
    });
    // The store comes back with our item as we left it, a lease and more after our last
    // renewal. It may be a restored copy for all we know: it is timed like any other
    // version, then taken under a new epoch.
    h.run(LEASE * 2 + INTERVAL);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.item().unwrap().epoch, Some(2));
}

#[test]
fn a_malformed_item_is_never_taken_over() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 1));
    h.malformed = true;
    h.run_for(LEASE * 20, |h| assert_eq!(h.role(), Role::Passive));
    assert!(h.writes.is_empty());
    assert!(h.core.view().last_error.unwrap().contains("malformed"));
}

#[test]
fn an_item_that_vanishes_is_recreated_only_after_a_lease_and_above_the_old_epoch() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 41));
    h.run(INTERVAL);
    h.store.table().remove("lease");
    let gone = h.now;
    h.run(INTERVAL + ms(5));
    assert!(
        h.writes
            .iter()
            .all(|(_, w)| w.kind == WriteKind::Placeholder),
        "someone may still believe they hold it"
    );
    h.run(LEASE * 2);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes[0].1.kind, WriteKind::Placeholder);
    let (sent, w) = &h.writes[1];
    assert_eq!(w.kind, WriteKind::Acquire);
    assert!(sent.since(gone) >= LEASE);
    assert_eq!(w.new.epoch, 42);
    assert_eq!(h.core.view().rollbacks, 1);
}

#[test]
fn a_takeover_whose_answer_was_lost_still_makes_us_active() {
    let mut h = Harness::new(config("b", "sb")).with_item(foreign("a", "v0", 2));
    h.run(LEASE - ms(1));
    h.fault = Fault::LoseReply;
    h.run(INTERVAL / 2);
    assert_eq!(h.role(), Role::Active);
    assert_eq!(h.writes.len(), 1);
}

#[test]
fn two_candidates_racing_for_a_released_lease_get_one_winner() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    let mut b = Harness::new(config("b", "sb"));
    b.store = a.store.clone();
    b.now = a.now;
    // Both read the released item before either writes.
    assert_eq!(a.core.next_step(a.now), Step::Read);
    assert_eq!(b.core.next_step(b.now), Step::Read);
    a.core.on_read(a.now, a.now, Ok(a.item()));
    b.core.on_read(b.now, b.now, Ok(b.item()));
    a.run(ms(10));
    b.run(ms(10));
    assert_eq!(a.role(), Role::Active);
    assert_eq!(b.role(), Role::Passive);
    assert_eq!(a.item().unwrap().epoch, Some(1));
}

#[test]
fn confirm_delay_withholds_active_until_the_reread_agrees() {
    let mut cfg = private("a", "sa");
    cfg.confirm_delay = ms(50);
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    assert_eq!(h.role(), Role::Passive, "acquired but not yet confirmed");
    h.run(ms(50));
    assert_eq!(h.role(), Role::Active);
}

#[test]
fn confirm_delay_drops_an_acquire_that_another_region_overwrote() {
    let mut cfg = private("a", "sa");
    cfg.confirm_delay = ms(50);
    let mut h = Harness::new(cfg);
    h.run(ms(5));
    h.store.table().put("lease", foreign("z", "vz", 1));
    h.run(ms(60));
    assert_eq!(h.role(), Role::Passive);
    assert_eq!(h.item().unwrap().owner, "z");
}

/// The item `create-table` writes into a new table: acquired at once by a fresh candidate.
fn seed() -> LeaseRecord {
    operator::seed("seed".into(), LEASE.as_millis() as u64).apply(None, 0)
}

/// A second candidate on the same store and the same virtual time.
fn beside(h: &Harness, cfg: CoreConfig) -> Harness {
    let mut other = Harness::new(cfg);
    other.store = h.store.clone();
    other.now = h.now;
    other
}

#[test]
fn a_handover_request_moves_the_lease_to_its_target_only() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    assert_eq!(a.role(), Role::Active);
    // The target watches the holder, as a running candidate does.
    let mut b = beside(&a, config("b", "sb"));
    b.run(ms(5));
    let version = a.item().unwrap().version.unwrap();
    a.store.request_handover(&version, "b").unwrap();
    assert_eq!(
        a.item().unwrap().version.unwrap(),
        version,
        "the request keeps the version"
    );
    // The holder sees it in the item its next renewal returns, and steps down.
    a.run(INTERVAL + ms(5));
    assert_eq!(a.role(), Role::Passive);
    let item = a.item().unwrap();
    assert!(item.is_released());
    assert_eq!(item.handover_to.as_deref(), Some("b"));
    assert_eq!(item.handover_from.as_deref(), Some("a"));
    // Someone else waits as for a held lease...
    let mut c = beside(&a, config("c", "sc"));
    c.run(LEASE - ms(10));
    assert!(
        c.writes.is_empty(),
        "only the target may acquire during the handover"
    );
    // ...while the target acquires at its next read.
    b.run(INTERVAL + ms(5));
    assert_eq!(b.role(), Role::Active);
    let item = b.item().unwrap();
    assert_eq!(
        item.epoch,
        Some(2),
        "a took 1 when it acquired; the target gets 2"
    );
    assert_eq!(item.handover_to, None, "a new owner clears the handover");
}

#[test]
fn a_handover_to_a_dead_target_still_moves_the_lease_after_a_lease_duration() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    let version = a.item().unwrap().version.unwrap();
    a.store.request_handover(&version, "gone").unwrap();
    a.run(INTERVAL + ms(5));
    let mut c = beside(&a, config("c", "sc"));
    c.run(LEASE + ms(10));
    assert_eq!(c.role(), Role::Active);
}

#[test]
fn an_ineligible_holder_steps_down_to_anyone_else_and_does_not_return() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.run(ms(5));
    assert_eq!(a.role(), Role::Active);
    let mut c = beside(&a, config("c", "sc"));
    c.run(ms(5));
    a.core.set_eligible(false);
    assert_eq!(a.role(), Role::Passive, "passive before any store call");
    a.run(ms(5));
    let item = a.item().unwrap();
    assert!(item.is_released());
    assert_eq!(
        item.handover_to.as_deref(),
        Some(crate::lease::HANDOVER_ANY)
    );
    a.run(LEASE * 3);
    assert_eq!(a.role(), Role::Passive);
    assert!(a.item().unwrap().is_released());
    c.run(INTERVAL + ms(5));
    assert_eq!(
        c.role(),
        Role::Active,
        "anyone else who saw a hold it acquires at its next read"
    );
}

#[test]
fn an_ineligible_candidate_never_acquires_until_it_becomes_eligible() {
    let mut h = Harness::new(config("b", "sb")).with_item(seed());
    h.core.set_eligible(false);
    h.run_for(LEASE * 5, |h| assert_ne!(h.role(), Role::Active));
    assert!(h.writes.is_empty());
    assert_eq!(
        h.role(),
        Role::Passive,
        "still decides (passive) while ineligible"
    );
    h.core.set_eligible(true);
    h.run(INTERVAL + ms(5));
    assert_eq!(h.role(), Role::Active);
}

/// Review bug: the pod became ineligible while an acquire was unsettled; the resend went out,
/// landed, and the pod held the lease for good (the step-down was latched only when already
/// holding).
#[test]
fn an_acquire_unsettled_when_the_pod_becomes_ineligible_never_makes_an_active() {
    for fault in [Fault::Unreachable, Fault::LoseReply] {
        let mut h = Harness::new(config("b", "sb")).with_item(seed());
        h.fault = fault;
        h.run(ms(3));
        assert_eq!(h.writes.len(), 1, "the acquire went out, its fate unknown");
        h.fault = Fault::None;
        h.core.set_eligible(false);
        h.run_for(LEASE * 5, |h| assert_ne!(h.role(), Role::Active));
        let item = h.item().unwrap();
        assert_ne!(item.owner, "b", "an ineligible pod must not keep the lease");
    }
}
