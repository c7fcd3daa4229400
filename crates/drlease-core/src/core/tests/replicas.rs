//! Two replicas of a multi-Region eventually consistent (MREC) table under the real core:
//! each region's cores share one memory store (conditions checked against it alone), and
//! every change of the lease item or of a region mark reaches the other replica one lag
//! later, where the latest write wins (by the time it was written: the shared model of a
//! replica, `crate::replication::Replica`, keeps the stamps and applies what arrives). The
//! ticks are the delivery: a partition holds the queue back; a heal lets it through. Used by
//! the review's cross-region scenarios (`across_regions.rs`, `region_sweeps.rs`).

use super::*;
use crate::replication::{Image, Replica, Replicated};
use crate::Regions;

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

/// A write's stamp: when it was written (its tick) and on which replica; last writer wins,
/// ties to the higher replica, alike on both.
type Stamp = (Mono, usize);

/// The two replicas and what is on its way between them.
pub(super) struct Replicas {
    pub(super) stores: [MemoryStore; 2],
    regions: [String; 2],
    pub(super) lag: Duration,
    /// Up to this much more lag per change, drawn from `seed` (an LCG: reproducible).
    pub(super) jitter: Duration,
    pub(super) seed: u64,
    pub(super) partitioned: bool,
    /// Per replica: what its store held when last seen, with each key's stamp. The cores
    /// call the memory stores (the harness runs on them), so a change found there is a
    /// local write: stamped here, its copy goes on the queue.
    seen: [Replica<Stamp>; 2],
    /// (due, to, copy)
    queue: Vec<(Mono, usize, Replicated<Stamp>)>,
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
            seen: [Replica::default(), Replica::default()],
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
    /// delivers what is due unless partitioned. Release claims stay on their replica: no
    /// scenario here needs them across.
    pub(super) fn tick(&mut self, now: Mono) {
        for side in 0..2 {
            let current = self.stores[side].table().get("lease");
            if self.seen[side].item() != current.as_ref() {
                let written = self.seen[side].put_item(current, Some((now, side)));
                self.send(now, side, written.sent);
            }
            // Only this region's cores write its mark; the other's arrives by replication.
            let mark = self.stores[side]
                .read_marks_now(std::slice::from_ref(&self.regions[side]))
                .pop();
            if let Some(m) = mark.filter(|m| self.seen[side].mark(&m.region) != Some(m)) {
                // The store took it under the mark's condition; so does its copy here.
                let sent = self.seen[side].write_mark(&m, Some((now, side)));
                self.send(now, side, sent.ok().flatten());
            }
        }
        if self.partitioned {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|q| q.0 <= now);
        self.queue = later;
        for (_, to, copy) in due {
            if !self.seen[to].receive(&copy) {
                continue;
            }
            match &copy.image {
                Image::Item(Some(r)) => self.stores[to].table().put("lease", r.clone()),
                Image::Item(None) => self.stores[to].table().remove("lease"),
                Image::Mark { mark: Some(m), .. } => {
                    let _ = self.stores[to].write_mark_now(m);
                }
                Image::Mark { mark: None, .. } | Image::Claim { .. } => {}
            }
        }
    }

    /// A write found on replica `from` at `now`: its copy reaches the other one a lag later.
    fn send(&mut self, now: Mono, from: usize, sent: Option<Replicated<Stamp>>) {
        if let Some(copy) = sent {
            let lag = self.lag();
            self.queue.push((now.plus(lag), 1 - from, copy));
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
