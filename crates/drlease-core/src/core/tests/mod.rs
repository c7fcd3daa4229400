//! Scenario tests of the lease core, on virtual time against the memory store's rules:
//! the harness and fixtures here, the scenarios one file per concern.

use std::time::Duration;

use super::*;
use crate::driver::{self, Answered, Call, Step};
use crate::operator;
use crate::record::{Expect, FROZEN_OWNER};
use crate::table::MemoryStore;
use crate::Role;

pub(super) const INTERVAL: Duration = Duration::from_millis(100);
pub(super) const LEASE: Duration = Duration::from_millis(300);
pub(super) const RENEW_DEADLINE: Duration = Duration::from_millis(200);
pub(super) const RTT: Duration = Duration::from_millis(1);

mod across_regions;
mod candidate;
mod clocks;
mod failback;
mod holder;
mod mark_reads;
mod one_region;
mod region_sweeps;
mod regions;
mod releases;
mod renewals;
mod replicas;
mod requests;
mod restored_releases;
mod step_down;
mod unsettled;
mod view;
mod windows;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn config(identity: &str, session: &str) -> CoreConfig {
    CoreConfig {
        identity: identity.into(),
        session: session.into(),
        timing: Timing {
            interval: INTERVAL,
            lease_duration: LEASE,
            renew_deadline: RENEW_DEADLINE,
            confirm_delay: Duration::ZERO,
            longest_lease: LEASE,
        },
        store_is_private: false,
        affinity: Affinity::default(),
        regions: None,
    }
}

pub(super) fn private(identity: &str, session: &str) -> CoreConfig {
    CoreConfig {
        store_is_private: true,
        ..config(identity, session)
    }
}

/// Outcomes the harness can force on the next store call.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Fault {
    None,
    /// The write lands but the answer is lost.
    LoseReply,
    /// The call fails without reaching the store.
    Unreachable,
    /// Handover requests fail without reaching the store; everything else goes through.
    DropRequests,
    /// A peer region's mark item does not parse: every marks read is `Malformed`, as the
    /// DynamoDB store answers it.
    MalformedMarks,
}

pub(super) struct Harness {
    pub(super) core: LeaseCore,
    pub(super) store: MemoryStore,
    pub(super) now: Mono,
    pub(super) fault: Fault,
    pub(super) outage_until: Mono,
    pub(super) malformed: bool,
    pub(super) writes: Vec<(Mono, WriteRequest)>,
    /// Handover requests this core sent (failback): when, what, and whether it applied.
    pub(super) requests: Vec<(Mono, operator::HandoverRequest, bool)>,
    /// A controller asking before every step for a write window this long, as the HTTP
    /// side grants it; `granted` is where the latest one ends.
    pub(super) window: Option<Duration>,
    pub(super) granted: Mono,
    /// Release claims this core made, and whether each was granted.
    pub(super) claims: Vec<(crate::ReleaseClaim, bool)>,
}

impl Harness {
    pub(super) fn new(cfg: CoreConfig) -> Self {
        Harness {
            core: LeaseCore::new(cfg),
            store: MemoryStore::new("lease"),
            now: Mono::from_duration(Duration::from_secs(1000)),
            fault: Fault::None,
            outage_until: Mono::ZERO,
            malformed: false,
            writes: Vec::new(),
            requests: Vec::new(),
            window: None,
            granted: Mono::ZERO,
            claims: Vec::new(),
        }
    }

    pub(super) fn with_item(self, record: LeaseRecord) -> Self {
        self.store.table().put("lease", record);
        self
    }

    pub(super) fn item(&self) -> Option<LeaseRecord> {
        self.store.table().get("lease")
    }

    pub(super) fn role(&self) -> Role {
        self.core.view().role_at(self.now)
    }

    pub(super) fn down(&self) -> bool {
        self.now < self.outage_until
    }

    /// Runs one step; returns false when the core is done.
    /// Steps until the core has sent one more write (the write, answered, is the last
    /// in `writes`).
    pub(super) fn step_to_next_write(&mut self) {
        let sent = self.writes.len();
        while self.writes.len() == sent {
            assert!(self.step(), "the core stopped before its next write");
        }
    }

    pub(super) fn step(&mut self) -> bool {
        if let Some(window) = self.window {
            if let Some(until) = self.core.view().active_until {
                if self.now < until {
                    self.granted = self.granted.max(until.min(self.now.plus(window)));
                }
            }
            self.core.set_granted_until(self.granted);
        }
        let call = match self.core.next_step(self.now) {
            Step::Done => return false,
            Step::Wait(t) => {
                assert!(t > self.now, "Wait must move time forward");
                self.now = t;
                return true;
            }
            Step::Call(call) => call,
        };
        let sent = self.now;
        self.now = self.now.plus(RTT);
        let answered = self.answer(call, sent);
        driver::deliver(&mut self.core, sent, self.now, answered);
        true
    }

    /// The memory store's answer to `call`, under the faults set, at `self.now`.
    fn answer(&mut self, call: Call, sent: Mono) -> Answered {
        let lost = self.down() || self.fault == Fault::Unreachable;
        match call {
            Call::Read => Answered::Read(if self.down() {
                Err(StoreError::Unavailable("outage".into()))
            } else if self.malformed {
                Err(StoreError::Malformed("leaseOwner is a number".into()))
            } else {
                Ok(self.item())
            }),
            Call::Write(req) => {
                self.writes.push((sent, (*req).clone()));
                let result = if lost {
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
                Answered::Write(req, result)
            }
            Call::ReadMarks(regions) => Answered::ReadMarks(if lost {
                Err(StoreError::Timeout(RTT))
            } else if self.fault == Fault::MalformedMarks {
                Err(StoreError::Malformed(
                    "region mark of west: markSession is missing or not a string (S)".into(),
                ))
            } else {
                Ok(self.store.read_marks_now(&regions))
            }),
            Call::WriteMark(mark) => {
                let result = if lost {
                    Err(StoreError::Timeout(RTT))
                } else {
                    self.store.write_mark_now(&mark)
                };
                Answered::WriteMark(mark, result)
            }
            Call::Claim(claim) => {
                let result = if lost {
                    Err(StoreError::Timeout(RTT))
                } else {
                    self.store.claim_now(&claim)
                };
                self.claims.push(((*claim).clone(), result.is_ok()));
                Answered::Claim(claim, result)
            }
            Call::RequestHandover(req) => {
                let dropped = matches!(self.fault, Fault::Unreachable | Fault::DropRequests);
                let result = if self.down() || dropped {
                    Err(StoreError::Timeout(RTT))
                } else {
                    self.store.request_handover_now(&req)
                };
                self.requests.push((sent, (*req).clone(), result.is_ok()));
                Answered::RequestHandover(req, result)
            }
        }
    }

    /// Steps until virtual time reaches `until`, checking `each` after every step.
    pub(super) fn run_for(&mut self, d: Duration, mut each: impl FnMut(&Harness)) {
        let until = self.now.plus(d);
        for _ in 0..100_000 {
            if self.now >= until || !self.step() {
                return;
            }
            each(self);
        }
        panic!("core did not advance time");
    }

    pub(super) fn run(&mut self, d: Duration) {
        self.run_for(d, |_| {});
    }
}

pub(super) fn foreign(owner: &str, version: &str, epoch: u64) -> LeaseRecord {
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

/// What `holder`'s own release of its current version looks like in the store.
pub(super) fn own_release(holder: &LeaseRecord, version: &str) -> LeaseRecord {
    LeaseRecord {
        owner: String::new(),
        version: Some(version.into()),
        owner_session: Some(String::new()),
        released_by: holder.owner_session.clone(),
        released_from: holder.version.clone(),
        ..holder.clone()
    }
}

/// The item `create-table` writes into a new table: acquired at once by a fresh candidate.
pub(super) fn seed() -> LeaseRecord {
    operator::seed("seed".into(), LEASE.as_millis() as u64).apply(None, 0)
}

/// Several candidates on one store, stepped in time order for `d`, `each` checked after
/// every step.
pub(super) fn run_together(
    hs: &mut [&mut Harness],
    d: Duration,
    mut each: impl FnMut(&mut [&mut Harness]),
) {
    let until = hs.iter().map(|h| h.now).max().unwrap_or(Mono::ZERO).plus(d);
    for _ in 0..1_000_000 {
        let Some(next) = (0..hs.len())
            .filter(|&i| hs[i].now < until)
            .min_by_key(|&i| hs[i].now)
        else {
            return;
        };
        if !hs[next].step() {
            hs[next].now = until;
        }
        each(hs);
    }
    panic!("the cores did not advance time");
}

/// A second candidate on the same store and the same virtual time.
pub(super) fn beside(h: &Harness, cfg: CoreConfig) -> Harness {
    let mut other = Harness::new(cfg);
    other.store = h.store.clone();
    other.now = h.now;
    other
}
