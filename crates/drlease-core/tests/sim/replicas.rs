//! The store's copies across regions (`topology.rs` draws them), each the core's shared
//! model of a replica (`drlease_core::replication::Replica`). One copy is "in hand" at a
//! time, in `Sim::replica`: the event being run acts on it exactly as on one store, and
//! every other copy is parked. Outside an event the first region's copy is in hand. What
//! stays here is delivery: when each copy arrives.
//!
//! MREC: each replica checks every conditional write against its own copy; every write
//! that landed (lease item, claim, mark, handover request, an operator's write) reaches the
//! other replicas after the lag plus jitter, and there the last writer wins by write time
//! (the origin replica's real time; ties broken alike everywhere, by region, then by the
//! order of writes). A partition cuts a region off from the others: what it wrote, and what
//! was written for it, is held and arrives after the heal. A region's pods always reach
//! their own replica.

use std::mem::{swap, take};

use drlease_core::replication::Replicated;

use super::topology::Mode;
use super::{trace, Ev, Rng, Sim, MS};

/// Write time on the origin replica, the origin region, and the write's sequence number.
pub(super) type Stamp = (u64, usize, u64);

/// One region's copy: the core's shared model of a replica.
pub(super) type Replica = drlease_core::replication::Replica<Stamp>;

/// A landed write on its way to another replica.
#[derive(Debug)]
pub(super) struct Replication {
    from: usize,
    to: usize,
    copy: Replicated<Stamp>,
}

/// Replication's state: partitions, spikes, and what is held back.
#[derive(Default)]
pub(super) struct ReplState {
    pub(super) parked: Vec<Replica>,
    pub(super) hand: usize,
    /// Per region: cut off from the others until then.
    pub(super) cut_until: Vec<u64>,
    held: Vec<Replication>,
    spike_until: u64,
    spike_lag: u64,
    /// Replication works normally again from here: every write held by a partition or
    /// slowed by a spike has arrived.
    pub(super) settled_at: u64,
    writes: u64,
}

impl Sim {
    fn mrec(&self) -> bool {
        self.sc.topology.mode == Mode::Mrec
    }

    /// Puts region `r`'s copy in hand (parking the one there).
    pub(super) fn hold_replica(&mut self, r: usize) {
        let hand = self.repl.hand;
        if r == hand {
            return;
        }
        swap(&mut self.replica, &mut self.repl.parked[hand]);
        swap(&mut self.replica, &mut self.repl.parked[r]);
        self.repl.hand = r;
    }

    /// Whether region `r` is cut off from the others now.
    pub(super) fn cut_off(&self, r: usize) -> bool {
        self.repl.cut_until.get(r).is_some_and(|&t| self.now < t)
    }

    /// The stamp a write landing now on the copy in hand gets (MREC; one copy: none).
    pub(super) fn stamp(&self) -> Option<Stamp> {
        self.mrec()
            .then(|| (self.now, self.repl.hand, self.repl.writes + 1))
    }

    /// A write landed on the copy in hand: send its copy to the other replicas (MREC).
    pub(super) fn replicate_landed(&mut self, sent: Option<Replicated<Stamp>>) {
        let Some(copy) = sent else {
            return;
        };
        self.repl.writes += 1;
        let from = self.repl.hand;
        for to in 0..self.sc.topology.regions.len() {
            if to == from {
                continue;
            }
            let at = self.now + self.replication_lag();
            let rep = Replication {
                from,
                to,
                copy: copy.clone(),
            };
            self.push(at, Ev::Replicate(Box::new(rep)));
        }
    }

    /// The lag of one replication: the drawn lag and jitter, or a spike's.
    fn replication_lag(&mut self) -> u64 {
        let t = &self.sc.topology;
        let jitter = self.regions_rng.range(0, t.jitter.as_nanos() as u64);
        if self.faults && self.now < self.repl.spike_until {
            let lag = self.repl.spike_lag + jitter;
            self.repl.settled_at = self.repl.settled_at.max(self.now + lag);
            return lag;
        }
        t.lag.as_nanos() as u64 + jitter
    }

    /// A replicated write arrives: applied if newer than what the replica has (last writer
    /// wins), held if either end is cut off.
    pub(super) fn replicate(&mut self, rep: Box<Replication>) {
        if self.cut_off(rep.from) || self.cut_off(rep.to) {
            self.repl.held.push(*rep);
            return;
        }
        let back = self.repl.hand;
        self.hold_replica(rep.to);
        let newer = self.replica.receive(&rep.copy);
        trace(self.now, self.replica.item(), || {
            format!(
                "{:?} from {} reaches {}: {}",
                rep.copy.key(),
                self.sc.topology.regions[rep.from],
                self.sc.topology.regions[rep.to],
                if newer { "applied" } else { "older, dropped" }
            )
        });
        self.hold_replica(back);
    }

    /// Region `r` cut off from the others (MREC: replication stops; MRSC: every call from
    /// it fails) for a while.
    pub(super) fn partition(&mut self, r: usize, for_ns: u64) {
        let until = self.now + for_ns;
        self.repl.cut_until[r] = self.repl.cut_until[r].max(until);
        self.trace(|| format!("region {} cut off", self.sc.topology.regions[r]));
        self.push(until, Ev::Heal);
    }

    /// Writes held by a partition whose ends are both reachable again are sent on.
    pub(super) fn heal(&mut self) {
        let held = take(&mut self.repl.held);
        let mut resent = false;
        for rep in held {
            if self.cut_off(rep.from) || self.cut_off(rep.to) {
                self.repl.held.push(rep);
                continue;
            }
            resent = true;
            let at = self.now + self.replication_lag();
            self.repl.settled_at = self.repl.settled_at.max(at);
            self.push(at, Ev::Replicate(Box::new(rep)));
        }
        if self.repl.cut_until.iter().all(|&t| t <= self.now) || resent {
            self.repl.settled_at = self.repl.settled_at.max(self.now);
        }
    }

    /// The quiet phase: every partition heals and spikes end.
    pub(super) fn heal_all(&mut self) {
        if self.repl.cut_until.iter().any(|&t| t > self.now) || self.now < self.repl.spike_until {
            self.trace(|| "every region reachable again".into());
        }
        for t in &mut self.repl.cut_until {
            *t = (*t).min(self.now);
        }
        self.repl.spike_until = 0;
        self.heal();
    }

    /// Replication slows to `lag_ns` for a while (MREC outside the rule).
    pub(super) fn spike(&mut self, for_ns: u64, lag_ns: u64) {
        self.repl.spike_until = self.repl.spike_until.max(self.now + for_ns);
        self.repl.spike_lag = lag_ns;
    }

    /// Whether replication is disturbed now (cut off, or slower writes still on their way).
    pub(super) fn replication_disturbed(&self) -> bool {
        self.repl.cut_until.iter().any(|&t| self.now < t)
            || self.now < self.repl.settled_at
            || self.now < self.repl.spike_until
    }
}

impl Sim {
    /// Partitions and lag spikes (MREC outside the rule), regions cut off (MRSC), from a
    /// stream of their own. Some partitions outlast the chaos: their heal comes with the
    /// quiet phase, where no other fault blurs the stated bound.
    pub(super) fn schedule_regions(&mut self) {
        let t = self.sc.topology.clone();
        self.repl.parked = (0..t.regions.len()).map(|_| Replica::default()).collect();
        self.repl.cut_until = vec![0; t.regions.len()];
        let mut r = Rng::new(self.sc.seed ^ 0x0C07_0FF5);
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let n = t.regions.len() as u64;
        let when = |r: &mut Rng| {
            if r.chance(0.35) {
                chaos.saturating_sub(r.range(lease / 2, lease * 3))
            } else {
                r.range(lease, chaos)
            }
        };
        if t.partitions {
            for _ in 0..r.range(1, 3) {
                let at = when(&mut r);
                let region = r.range(0, n - 1) as usize;
                let for_ns = r.range(lease / 5, lease * 4);
                self.push(at, Ev::Partition { region, for_ns });
            }
        }
        if t.spikes {
            let confirm = self.sc.longest_confirm_delay().as_nanos() as u64;
            for _ in 0..r.range(1, 3) {
                let at = when(&mut r);
                let lag_ns = r.range(confirm / 2 + MS, lease * 2);
                let for_ns = r.range(lease / 5, lease * 3);
                self.push(at, Ev::Spike { for_ns, lag_ns });
            }
        }
    }
}
