//! Two replicas of a multi-Region eventually consistent (MREC) table under the real core:
//! each region's cores share one memory store (conditions checked against it alone), and
//! every change of the lease item or of a region mark reaches the other replica one lag
//! later, where the latest write wins (by the time it was written). A partition holds the
//! queue back; a heal lets it through. Used by the review's cross-region scenarios
//! (`across_regions.rs`).

use super::*;
use crate::replication::later_write_wins;
use crate::{RegionMark, Regions};

/// A core in `own` whose peers are `peers`, with a confirm delay.
pub(super) fn in_region(
    identity: &str,
    session: &str,
    own: &str,
    peers: &[&str],
    confirm: Duration,
) -> CoreConfig {
    let mut cfg = config(identity, session);
    cfg.regions = Some(Regions {
        own: own.into(),
        peers: peers.iter().map(|p| p.to_string()).collect(),
    });
    cfg.timing.confirm_delay = confirm;
    cfg
}

#[derive(Clone)]
enum Change {
    Item(Box<Option<LeaseRecord>>),
    Mark(RegionMark),
}

/// The two replicas and what is on its way between them.
pub(super) struct Replicas {
    pub(super) stores: [MemoryStore; 2],
    regions: [String; 2],
    pub(super) lag: Duration,
    /// Up to this much more lag per change, drawn from `seed` (an LCG: reproducible).
    pub(super) jitter: Duration,
    pub(super) seed: u64,
    pub(super) partitioned: bool,
    /// Per replica: the item as last seen and when (and on which replica) it was written:
    /// last writer wins, ties to the higher replica, alike on both.
    item: [(Option<LeaseRecord>, (Mono, usize)); 2],
    mark: [Option<RegionMark>; 2],
    /// (due, to, change, written at and where)
    queue: Vec<(Mono, usize, Change, (Mono, usize))>,
}

impl Replicas {
    pub(super) fn new(regions: [&str; 2], lag: Duration) -> Self {
        Replicas {
            stores: [MemoryStore::new("lease"), MemoryStore::new("lease")],
            regions: [regions[0].into(), regions[1].into()],
            lag,
            jitter: Duration::ZERO,
            seed: 1,
            partitioned: false,
            item: [(None, (Mono::ZERO, 0)), (None, (Mono::ZERO, 0))],
            mark: [None, None],
            queue: Vec::new(),
        }
    }

    /// A core on replica `side`, at `now`.
    pub(super) fn pod(&self, side: usize, cfg: CoreConfig, now: Mono) -> Harness {
        let mut h = Harness::new(cfg);
        h.store = self.stores[side].clone();
        h.now = now;
        h
    }

    fn lag(&mut self) -> Duration {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let spread = self.jitter.as_micros() as u64 + 1;
        self.lag + Duration::from_micros((self.seed >> 33) % spread)
    }

    /// Notes what changed on each replica since the last tick (written at `now`), and
    /// delivers what is due unless partitioned.
    pub(super) fn tick(&mut self, now: Mono) {
        for side in 0..2 {
            let current = self.stores[side].table().get("lease");
            if current != self.item[side].0 {
                self.item[side] = (current.clone(), (now, side));
                let lag = self.lag();
                self.queue.push((
                    now.plus(lag),
                    1 - side,
                    Change::Item(Box::new(current)),
                    (now, side),
                ));
            }
            let mark = self.stores[side]
                .read_marks_now(std::slice::from_ref(&self.regions[side]))
                .pop();
            if mark != self.mark[side] {
                self.mark[side] = mark.clone();
                if let Some(m) = mark {
                    let lag = self.lag();
                    self.queue
                        .push((now.plus(lag), 1 - side, Change::Mark(m), (now, side)));
                }
            }
        }
        if self.partitioned {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|q| q.0 <= now);
        self.queue = later;
        for (_, to, change, written) in due {
            match change {
                Change::Item(record) if later_write_wins(Some(&self.item[to].1), &written) => {
                    match &*record {
                        Some(r) => self.stores[to].table().put("lease", r.clone()),
                        None => self.stores[to].table().remove("lease"),
                    }
                    self.item[to] = (*record, written);
                }
                Change::Item(_) => {}
                Change::Mark(m) => {
                    let _ = self.stores[to].write_mark_now(&m);
                }
            }
        }
    }

    /// Steps the cores in time order for `d` (each on the replica it was made on), ticking
    /// the replicas after every step; `each` sees the cores and the time after each step.
    pub(super) fn run(
        &mut self,
        hs: &mut [&mut Harness],
        d: Duration,
        mut each: impl FnMut(&mut Replicas, &mut [&mut Harness], Mono),
    ) {
        self.run_while(hs, d, |r, hs, t| {
            each(r, hs, t);
            true
        });
    }

    /// As `run`, until `each` says stop (false) or `d` has passed.
    pub(super) fn run_while(
        &mut self,
        hs: &mut [&mut Harness],
        d: Duration,
        mut each: impl FnMut(&mut Replicas, &mut [&mut Harness], Mono) -> bool,
    ) {
        let until = hs.iter().map(|h| h.now).max().unwrap_or(Mono::ZERO).plus(d);
        for _ in 0..1_000_000 {
            let Some(next) = (0..hs.len())
                .filter(|&i| hs[i].now < until)
                .min_by_key(|&i| hs[i].now)
            else {
                return;
            };
            let t = hs[next].now;
            // What is due by now has arrived before this core's call reaches its replica.
            self.tick(t);
            if !hs[next].step() {
                hs[next].now = until;
            }
            self.tick(t);
            if !each(self, hs, t) {
                return;
            }
        }
        panic!("the cores did not advance time");
    }
}

/// East's pod holds (alone for a while), then west's pod starts on its replica.
pub(super) fn east_holds_then_west_starts(
    r: &mut Replicas,
    east: CoreConfig,
    west: CoreConfig,
) -> (Harness, Harness) {
    r.stores[0].table().put("lease", seed());
    let start = Mono::from_duration(Duration::from_secs(1000));
    let mut a = r.pod(0, east, start);
    r.run(&mut [&mut a], ms(1500), |_, _, _| {});
    assert_eq!(a.role(), Role::Active, "east holds");
    let b = r.pod(1, west, a.now);
    (a, b)
}

/// How many of `hs` answer active at `t`.
pub(super) fn actives(hs: &[&mut Harness], t: Mono) -> usize {
    hs.iter()
        .filter(|h| h.core.view().role_at(t) == Role::Active)
        .count()
}
