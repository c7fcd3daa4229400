//! A deterministic discrete-event simulation of several lease candidates sharing one
//! store, under seeded faults. It drives the real `LeaseCore`; the store applies the same
//! conditional-write rules as `MemoryStore` (which the moto tests hold to DynamoDB's).
//!
//! Time is virtual (nanoseconds of "real" time). Each candidate sees it through its own
//! clock, which may run fast or slow within the drift the configuration allows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use drlease::clock::Mono;
use drlease::lease::{operator, CoreConfig, LeaseCore, LeaseRecord, Role, Step, WriteRequest};
use drlease::store::StoreError;
use drlease::timing::Timing;

/// SplitMix64: small, seedable, good enough for fault schedules.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo + 1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() as f64 / u64::MAX as f64) < p
    }
    pub fn unit(&mut self) -> f64 {
        self.next() as f64 / u64::MAX as f64
    }
}

const MS: u64 = 1_000_000;

/// What one seed runs.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub candidates: usize,
    /// Drawn from the ranges [`Timing::validate`] accepts, and checked by it.
    pub timing: Timing,
    pub call_timeout: Duration,
    /// Clock rates lie in [1 - drift, 1 + drift].
    pub drift: f64,
    /// Two candidates share an identity.
    pub twins: bool,
    pub chaos: Duration,
    /// Normal one-way network delay bound.
    pub max_delay: Duration,
    /// Operators and other tools write the item too (see [`Action`]).
    pub operators: bool,
}

impl Scenario {
    pub fn from_seed(seed: u64) -> Scenario {
        let mut r = Rng::new(seed);
        let interval = Duration::from_millis(r.range(50, 200));
        let threshold = r.range(2, 5) as u32;
        let mut timing = Timing {
            interval,
            lease_duration: interval * threshold,
            renew_deadline: Duration::ZERO,
            confirm_delay: Duration::ZERO,
        };
        // Anywhere the config accepts: at least the interval, at most 99% of the lease.
        let lo = interval.as_nanos() as u64;
        let hi = timing.max_renew_deadline().as_nanos() as u64;
        timing.renew_deadline =
            Duration::from_nanos(if r.chance(0.3) { hi } else { r.range(lo, hi) });
        if r.chance(0.2) {
            let below_half = timing.renew_deadline.as_nanos() as u64 / 2 - 1;
            timing.confirm_delay = Duration::from_nanos(r.range(0, below_half));
        }
        if let Err(e) = timing.validate() {
            panic!("seed {seed} drew a timing the config refuses: {e}");
        }
        let lease = timing.lease_duration;
        Scenario {
            seed,
            candidates: r.range(3, 5) as usize,
            call_timeout: timing.call_timeout(),
            timing,
            // With renew deadline at 99% of the lease, rates within +/-0.4% keep the
            // holder's deadline before any candidate's takeover.
            drift: 0.004,
            twins: r.chance(0.15),
            chaos: lease * 25,
            max_delay: Duration::from_millis(5),
            // From a stream of its own, so the draws above are those of earlier versions
            // of this simulation and old regression seeds replay as they did.
            operators: Rng::new(seed ^ 0x0DE5_EED5).chance(0.6),
        }
    }
}

/// A write to the item by someone other than a candidate, at a random time.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// `drlease freeze`.
    Freeze,
    /// `drlease unfreeze` (if frozen).
    Unfreeze,
    /// `drlease handover` to a candidate, to nobody alive, or to anyone (`*`).
    Handover(Option<usize>),
    /// The item deleted by hand.
    Delete,
    /// An older version written back in place (a restore, or a tool replaying a copy). A real
    /// restore brings back a version superseded long ago; here, one not current for at least
    /// two leases. (A version that comes back sooner than a candidate's read cadence is, to
    /// that candidate, no change at all: nothing that polls can tell, so it is not modelled.)
    /// The seed is never restored: a restored seed is, to a fresh candidate, a new table.
    Restore,
    /// The table dropped and recreated by `drlease create-table`: the item vanishes, and the
    /// seed is written one lease duration later (the command's wait).
    Recreate,
    /// `create-table`'s seed, conditional on the item's absence.
    Seed,
}

#[derive(Debug)]
enum Ev {
    Wake { c: usize, seq: u64 },
    Apply { op: u64 },
    Respond { op: u64 },
    Pause { c: usize, for_ns: u64 },
    Crash { c: usize, down_ns: u64 },
    Stop { c: usize, down_ns: u64 },
    Restart { c: usize },
    Outage { for_ns: u64 },
    Operator(Action),
}

enum OpKind {
    Read,
    Write(Box<WriteRequest>),
}

struct Reply {
    kind: OpKind,
    sent_local: Mono,
}

struct Op {
    c: usize,
    generation: u64,
    kind: OpKind,
    sent_local: Mono,
    timed_out: bool,
    /// Whether the request reaches the store at all.
    lands: bool,
    responded: bool,
    applied: Option<Result<Option<LeaseRecord>, StoreError>>,
}

struct Candidate {
    identity: String,
    core: Option<LeaseCore>,
    generation: u64,
    rate: f64,
    offset_ns: u64,
    paused_until: u64,
    wake_seq: u64,
    busy: bool,
    restarts: u64,
}

impl Candidate {
    fn local(&self, real: u64) -> Mono {
        Mono::from_duration(Duration::from_nanos(
            self.offset_ns + (real as f64 * self.rate) as u64,
        ))
    }
    /// The first real time at which the local clock reads at least `t`.
    fn real_at(&self, t: Mono) -> u64 {
        let local = t.as_duration().as_nanos() as u64;
        let since = local.saturating_sub(self.offset_ns) as f64 / self.rate;
        let mut real = since.ceil() as u64;
        while self.local(real) < t {
            real += 1;
        }
        real
    }
    fn alive(&self) -> bool {
        self.core.is_some()
    }
}

fn trace(now: u64, what: &str, item: &Option<LeaseRecord>) {
    if std::env::var_os("DRLEASE_SIM_TRACE").is_some() {
        eprintln!("{:>10.3} ms  {what}: {item:?}", now as f64 / MS as f64);
    }
}

/// What went wrong in a run, with enough to replay it.
#[derive(Debug)]
pub struct Violation {
    pub seed: u64,
    pub at_ms: f64,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub events: u64,
    pub owner_changes: u64,
    /// Time from killing the settled holder to a healthy candidate answering active.
    pub failover: Duration,
    pub failover_bound: Duration,
}

pub struct Sim {
    sc: Scenario,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Ev>>,
    ops: HashMap<u64, Op>,
    next_op: u64,
    cands: Vec<Candidate>,
    item: Option<LeaseRecord>,
    outage_until: u64,
    faults: bool,
    highest_landed_epoch: u64,
    last_active: Option<(String, u64)>,
    stats: Outcome,
    /// Every version the item had, with the time it was replaced: what a restore picks from.
    history: Vec<(LeaseRecord, u64)>,
    /// A deletion or restore happened: epochs can repeat from here on (a candidate that
    /// never saw the higher epoch hands out the same number again), so only the promise of
    /// one active at a time is checked.
    rolled_back: bool,
    op_tokens: u64,
}

impl Sim {
    pub fn new(sc: Scenario) -> Sim {
        let mut rng = Rng::new(sc.seed.wrapping_mul(31).wrapping_add(7));
        let mut cands = Vec::new();
        for i in 0..sc.candidates {
            let identity = if sc.twins && i == 1 {
                "cand-0".to_string()
            } else {
                format!("cand-{i}")
            };
            let rate = 1.0 + (rng.unit() * 2.0 - 1.0) * sc.drift;
            cands.push(Candidate {
                identity,
                core: None,
                generation: 0,
                rate,
                offset_ns: rng.range(1, 10_000) * MS,
                paused_until: 0,
                wake_seq: 0,
                busy: false,
                restarts: 0,
            });
        }
        let mut sim = Sim {
            sc,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            ops: HashMap::new(),
            next_op: 0,
            cands,
            item: None,
            outage_until: 0,
            faults: true,
            highest_landed_epoch: 0,
            last_active: None,
            stats: Outcome::default(),
            history: Vec::new(),
            rolled_back: false,
            op_tokens: 0,
        };
        for c in 0..sim.cands.len() {
            let start = sim.rng.range(0, sim.sc.timing.interval.as_nanos() as u64);
            sim.start(c, start);
        }
        sim.schedule_faults();
        if sim.sc.operators {
            sim.schedule_operators();
        }
        sim
    }

    fn push(&mut self, at: u64, ev: Ev) {
        let id = self.events.len();
        self.events.push(Some(ev));
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, id)));
    }

    fn lease_ns(&self) -> u64 {
        self.sc.timing.lease_duration.as_nanos() as u64
    }

    fn schedule_faults(&mut self) {
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let n = self.cands.len();
        let count = self.rng.range(3, 10);
        for _ in 0..count {
            let at = self.rng.range(lease, chaos);
            let c = self.rng.range(0, n as u64 - 1) as usize;
            let ev = match self.rng.range(0, 3) {
                0 => Ev::Pause {
                    c,
                    for_ns: self.rng.range(lease / 10, lease * 3),
                },
                1 => Ev::Crash {
                    c,
                    down_ns: self.rng.range(0, lease * 2),
                },
                2 => Ev::Stop {
                    c,
                    down_ns: self.rng.range(0, lease * 2),
                },
                _ => Ev::Outage {
                    for_ns: self.rng.range(lease / 5, lease * 2),
                },
            };
            self.push(at, ev);
        }
    }

    fn schedule_operators(&mut self) {
        let mut r = Rng::new(self.sc.seed ^ 0x0FE2_A702);
        let chaos = self.sc.chaos.as_nanos() as u64;
        let lease = self.lease_ns();
        let interval = self.sc.timing.interval.as_nanos() as u64;
        let n = self.cands.len() as u64;
        for _ in 0..r.range(2, 8) {
            let at = r.range(lease, chaos);
            let action = match r.range(0, 9) {
                // The reported bug: freeze, then unfreeze at once.
                0 | 1 => {
                    self.push(at + r.range(0, interval), Ev::Operator(Action::Unfreeze));
                    Action::Freeze
                }
                2 => Action::Freeze,
                3 => Action::Unfreeze,
                4 => Action::Handover(Some(r.range(0, n) as usize)), // n: nobody alive
                5 => Action::Handover(None),
                6 => Action::Delete,
                7 => Action::Restore,
                _ => Action::Recreate,
            };
            self.push(at, Ev::Operator(action));
        }
    }

    /// `DRLEASE_SIM_TRACE=1` with `DRLEASE_SIM_SEED`: every change of the item, as it happens.
    fn trace(&self, what: &str) {
        trace(self.now, what, &self.item);
    }

    fn set_item(&mut self, item: Option<LeaseRecord>) {
        if let Some(old) = self.item.take() {
            self.history.push((old, self.now));
        }
        self.item = item;
    }

    fn token(&mut self) -> String {
        self.op_tokens += 1;
        format!("op{}", self.op_tokens)
    }

    fn operate(&mut self, action: Action) {
        self.operate_quietly(action);
        self.trace(&format!("operator {action:?}"));
    }

    fn operate_quietly(&mut self, action: Action) {
        let lease_ms = self.sc.timing.lease_duration.as_millis() as u64;
        match action {
            Action::Freeze => {
                if !self.item.as_ref().is_some_and(|r| r.is_frozen()) {
                    let token = self.token();
                    let req = operator::freeze(self.item.as_ref(), token, lease_ms);
                    let next = req.apply(self.item.as_ref(), 0);
                    self.set_item(Some(next));
                }
            }
            Action::Unfreeze => {
                if let Some(frozen) = self.item.clone().filter(|r| r.is_frozen()) {
                    let req = operator::unfreeze(&frozen, self.token(), lease_ms);
                    self.set_item(Some(req.apply(Some(&frozen), 0)));
                }
            }
            Action::Handover(target) => {
                let target = match target {
                    Some(i) if i < self.cands.len() => self.cands[i].identity.clone(),
                    Some(_) => "gone".to_string(),
                    None => drlease::lease::HANDOVER_ANY.to_string(),
                };
                if let Some(mut r) = self.item.clone() {
                    let version = r.version.clone().unwrap_or_default();
                    if operator::request_handover(&mut r, &version, &target) {
                        self.set_item(Some(r));
                    }
                }
            }
            Action::Delete => {
                self.rolled_back = true;
                self.set_item(None);
            }
            Action::Restore => {
                // Not current for two leases: measured from the last time the version was
                // replaced (a version restored before counts from its latest replacement).
                let recent = self.now.saturating_sub(2 * self.lease_ns());
                let fresh: std::collections::HashSet<_> = self
                    .history
                    .iter()
                    .filter(|(_, replaced)| *replaced > recent)
                    .map(|(r, _)| r.version_key())
                    .collect();
                let current = self.item.as_ref().map(|r| r.version_key());
                let choices: Vec<LeaseRecord> = self
                    .history
                    .iter()
                    .map(|(r, _)| r)
                    .filter(|r| !r.is_seed() && !fresh.contains(&r.version_key()))
                    .filter(|r| Some(r.version_key()) != current)
                    .cloned()
                    .collect();
                if !choices.is_empty() {
                    let pick = self.rng.range(0, choices.len() as u64 - 1) as usize;
                    self.rolled_back = true;
                    self.set_item(Some(choices[pick].clone()));
                }
            }
            Action::Recreate => {
                self.rolled_back = true;
                self.set_item(None);
                // create-table waits one lease duration on its own clock, which may run fast.
                let wait = (self.lease_ns() as f64 * (1.0 - self.sc.drift)) as u64;
                self.push(self.now + wait, Ev::Operator(Action::Seed));
            }
            Action::Seed => {
                if self.item.is_none() {
                    let req = operator::seed(self.token(), lease_ms);
                    self.set_item(Some(req.apply(None, 0)));
                }
            }
        }
    }

    fn start(&mut self, c: usize, at: u64) {
        let cand = &mut self.cands[c];
        cand.generation += 1;
        cand.restarts += 1;
        let session = format!("s{c}g{}", cand.generation);
        cand.core = Some(LeaseCore::new(CoreConfig {
            identity: cand.identity.clone(),
            session,
            timing: self.sc.timing.clone(),
            store_is_private: false,
        }));
        cand.busy = false;
        cand.paused_until = 0;
        self.wake(c, at);
    }

    fn wake(&mut self, c: usize, at: u64) {
        self.cands[c].wake_seq += 1;
        let seq = self.cands[c].wake_seq;
        self.push(at, Ev::Wake { c, seq });
    }

    fn delay(&mut self) -> u64 {
        let max = self.sc.max_delay.as_nanos() as u64;
        if self.faults && self.rng.chance(0.04) {
            // A slow path: sometimes past the call timeout, so the request lands late.
            self.rng
                .range(max, self.sc.call_timeout.as_nanos() as u64 * 2)
        } else {
            self.rng.range(max / 50, max)
        }
    }

    fn send(&mut self, c: usize, kind: OpKind) {
        let id = self.next_op;
        self.next_op += 1;
        let timeout = self.sc.call_timeout.as_nanos() as u64;
        let d1 = self.delay();
        let d2 = self.delay();
        let mut lands = true;
        let mut respond_at = self.now + d1 + d2;
        let mut timed_out = false;
        if self.faults {
            if self.rng.chance(0.03) {
                // Lost reply: it lands, the answer never comes.
                respond_at = self.now + timeout;
                timed_out = true;
            } else if self.rng.chance(0.03) {
                lands = false;
                respond_at = self.now + timeout;
                timed_out = true;
            }
        }
        if d1 + d2 > timeout {
            respond_at = self.now + timeout;
            timed_out = true;
        }
        let cand = &self.cands[c];
        let op = Op {
            c,
            generation: cand.generation,
            kind,
            sent_local: cand.local(self.now),
            timed_out,
            lands,
            responded: false,
            applied: None,
        };
        self.ops.insert(id, op);
        self.cands[c].busy = true;
        if lands {
            // Pushed first, so at equal times the store sees it before the answer goes out.
            self.push(self.now + d1, Ev::Apply { op: id });
        }
        self.push(respond_at, Ev::Respond { op: id });
    }

    fn apply(&mut self, id: u64) -> Result<(), String> {
        let down = self.now < self.outage_until;
        let Some(op) = self.ops.get_mut(&id) else {
            return Ok(());
        };
        if down {
            op.applied = Some(Err(StoreError::Unavailable("outage".into())));
            if op.responded {
                self.ops.remove(&id);
            }
            return Ok(());
        }
        let result = match &op.kind {
            OpKind::Read => Ok(self.item.clone()),
            OpKind::Write(req) => {
                if LeaseRecord::satisfies(self.item.as_ref(), &req.expect) {
                    let stored_epoch = self.item.as_ref().and_then(|r| r.epoch).unwrap_or(0);
                    if req.new.epoch < stored_epoch {
                        return Err(format!(
                            "write lowers the epoch {stored_epoch} -> {}",
                            req.new.epoch
                        ));
                    }
                    if req.kind.changes_owner() {
                        if req.new.epoch <= self.highest_landed_epoch && !self.rolled_back {
                            return Err(format!(
                                "new owner {} got epoch {} but {} was handed out before",
                                req.new.owner, req.new.epoch, self.highest_landed_epoch
                            ));
                        }
                        self.stats.owner_changes += 1;
                    }
                    self.highest_landed_epoch = self.highest_landed_epoch.max(req.new.epoch);
                    let next = req.apply(self.item.as_ref(), 0);
                    if let Some(old) = self.item.replace(next) {
                        self.history.push((old, self.now));
                    }
                    let what = format!("cand-{} {}", op.c, req.kind.as_str());
                    trace(self.now, &what, &self.item);
                    Ok(self.item.clone())
                } else {
                    Err(StoreError::ConditionFailed)
                }
            }
        };
        op.applied = Some(result);
        if op.responded {
            // The sender gave up long ago; the write landed anyway.
            self.ops.remove(&id);
        }
        Ok(())
    }

    fn respond(&mut self, id: u64) {
        let Some(op) = self.ops.get(&id) else { return };
        let c = op.c;
        if self.cands[c].generation == op.generation
            && self.cands[c].alive()
            && self.cands[c].paused_until > self.now
        {
            let at = self.cands[c].paused_until;
            self.push(at, Ev::Respond { op: id });
            return;
        }
        let op = self.ops.get_mut(&id).unwrap();
        op.responded = true;
        let timeout = self.sc.call_timeout;
        let outcome = if op.timed_out {
            Err(StoreError::Timeout(timeout))
        } else {
            op.applied
                .clone()
                .unwrap_or(Err(StoreError::Timeout(timeout)))
        };
        let (generation, sent_local) = (op.generation, op.sent_local);
        let kind = if !op.lands || op.applied.is_some() {
            self.ops.remove(&id).unwrap().kind
        } else {
            // Still in the network: keep it for its Apply, answer with a copy.
            match &op.kind {
                OpKind::Read => OpKind::Read,
                OpKind::Write(r) => OpKind::Write(r.clone()),
            }
        };
        let op = (kind, sent_local);
        if self.cands[c].generation != generation || !self.cands[c].alive() {
            return; // the process that sent it is gone
        }
        let now_local = self.cands[c].local(self.now);
        let core = self.cands[c].core.as_mut().unwrap();
        let op = Reply {
            kind: op.0,
            sent_local: op.1,
        };
        if let OpKind::Read = &op.kind {
            let what = format!(
                "cand-{c} read answered {:?}",
                outcome
                    .as_ref()
                    .map(|r| r.as_ref().and_then(|r| r.version.clone()))
            );
            trace(self.now, &what, &None);
        }
        match &op.kind {
            OpKind::Read => core.on_read(op.sent_local, now_local, outcome),
            OpKind::Write(req) => core.on_write(
                req,
                op.sent_local,
                now_local,
                outcome.map(|written| written.expect("a landed write returns the item")),
            ),
        }
        self.cands[c].busy = false;
        self.wake(c, self.now);
    }

    fn step_candidate(&mut self, c: usize) {
        if !self.cands[c].alive() || self.cands[c].busy {
            return;
        }
        if self.cands[c].paused_until > self.now {
            let at = self.cands[c].paused_until;
            self.wake(c, at);
            return;
        }
        let local = self.cands[c].local(self.now);
        let step = self.cands[c].core.as_mut().unwrap().next_step(local);
        match step {
            Step::Done => {
                // Released after a stop: the process exits.
                self.cands[c].core = None;
            }
            Step::Wait(t) => {
                let at = self.cands[c].real_at(t).max(self.now + 1);
                self.wake(c, at);
            }
            Step::Read => self.send(c, OpKind::Read),
            Step::Write(req) => {
                let what = format!(
                    "cand-{c} sends {} {} expecting {:?}",
                    req.kind.as_str(),
                    req.new.version,
                    req.expect
                );
                trace(self.now, &what, &None);
                self.send(c, OpKind::Write(req))
            }
        }
    }

    /// Roles as each live, running candidate would answer `/active` right now.
    fn actives(&self) -> Vec<(usize, u64)> {
        self.cands
            .iter()
            .enumerate()
            .filter(|(_, k)| k.alive() && k.paused_until <= self.now)
            .filter_map(|(i, k)| {
                let view = k.core.as_ref().unwrap().view();
                (view.role_at(k.local(self.now)) == Role::Active)
                    .then(|| (i, view.epoch.unwrap_or(0)))
            })
            .collect()
    }

    fn check(&mut self) -> Result<(), String> {
        let actives = self.actives();
        if actives.len() > 1 {
            let who: Vec<String> = actives
                .iter()
                .map(|(i, e)| format!("{}#{i} (epoch {e})", self.cands[*i].identity))
                .collect();
            return Err(format!("two actives at once: {}", who.join(", ")));
        }
        if let Some(&(i, epoch)) = actives.first() {
            let session = format!("{i}/{}", self.cands[i].generation);
            if let Some((last_session, last_epoch)) = &self.last_active {
                if *last_session != session && epoch <= *last_epoch && !self.rolled_back {
                    return Err(format!(
                        "active {session} has epoch {epoch}, not above the previous active's {last_epoch}"
                    ));
                }
            }
            self.last_active = Some((session, epoch));
        }
        Ok(())
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.sc.seed,
            at_ms: self.now as f64 / MS as f64,
            what,
        }
    }

    /// Runs events until virtual time `until`; `stop_when` ends it early.
    fn run_until(
        &mut self,
        until: u64,
        mut stop_when: impl FnMut(&Sim) -> bool,
    ) -> Result<bool, Violation> {
        while let Some(Reverse((at, _, id))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = at;
            self.stats.events += 1;
            let ev = self.events[id].take().expect("each event runs once");
            match ev {
                Ev::Wake { c, seq } if self.cands[c].wake_seq == seq => self.step_candidate(c),
                Ev::Apply { op } => self.apply(op).map_err(|e| self.violation(e))?,
                Ev::Respond { op } => self.respond(op),
                Ev::Pause { c, for_ns } if self.faults && self.cands[c].alive() => {
                    self.cands[c].paused_until = self.now + for_ns;
                }
                Ev::Crash { c, down_ns } if self.faults && self.cands[c].alive() => {
                    self.cands[c].core = None;
                    self.cands[c].generation += 1;
                    self.push(self.now + down_ns, Ev::Restart { c });
                }
                Ev::Stop { c, down_ns } if self.faults => {
                    if let Some(core) = self.cands[c].core.as_mut() {
                        core.begin_release();
                        self.push(self.now + down_ns, Ev::Restart { c });
                    }
                }
                Ev::Restart { c } => {
                    if !self.cands[c].alive() {
                        self.start(c, self.now);
                    } else if self.cands[c]
                        .core
                        .as_ref()
                        .is_some_and(|k| k.is_releasing())
                    {
                        // Still releasing: try again shortly.
                        self.push(
                            self.now + self.sc.timing.interval.as_nanos() as u64,
                            Ev::Restart { c },
                        );
                    }
                }
                Ev::Outage { for_ns } if self.faults => {
                    self.outage_until = self.outage_until.max(self.now + for_ns);
                }
                // A seed or an unfreeze already on its way completes; new actions stop with
                // the chaos phase.
                Ev::Operator(a @ (Action::Seed | Action::Unfreeze)) => self.operate(a),
                Ev::Operator(a) if self.faults => self.operate(a),
                _ => {}
            }
            self.check().map_err(|e| self.violation(e))?;
            if stop_when(self) {
                return Ok(true);
            }
        }
        self.now = self.now.max(until);
        Ok(false)
    }

    /// The chaos phase, then a quiet phase that checks liveness: once the settled holder
    /// dies and the store is reachable, a healthy candidate is active within the bound.
    pub fn run(mut self) -> Result<Outcome, Violation> {
        let chaos_end = self.sc.chaos.as_nanos() as u64;
        self.run_until(chaos_end, |_| false)?;

        // Quiet: no new faults; bring everyone back; the operator ends any maintenance.
        self.faults = false;
        self.outage_until = 0;
        self.operate(Action::Unfreeze);
        for c in 0..self.cands.len() {
            self.cands[c].paused_until = 0;
            if self.cands[c].alive() {
                self.wake(c, self.now);
            }
        }
        let lease = self.lease_ns();
        let interval = self.sc.timing.interval.as_nanos() as u64;
        // Restarts and late landings from the chaos phase all finish within this.
        let settle = self.now + lease * 6 + interval * 4;
        self.run_until(settle, |_| false)?;
        let restart_pending = self.cands.iter().any(|k| !k.alive());
        if restart_pending {
            for c in 0..self.cands.len() {
                if !self.cands[c].alive() {
                    self.start(c, self.now);
                }
            }
            let again = self.now + lease * 6 + interval * 4;
            self.run_until(again, |_| false)?;
        }
        let actives = self.actives();
        if actives.len() != 1 {
            return Err(self.violation(format!(
                "after settling, {} candidates are active (expected 1)",
                actives.len()
            )));
        }
        // Kill the holder; measure the failover.
        let (holder, _) = actives[0];
        self.cands[holder].core = None;
        self.cands[holder].generation += 1;
        let killed = self.now;
        let rtt = 2 * self.sc.max_delay.as_nanos() as u64;
        let slow = 1.0 / (1.0 - self.sc.drift);
        // A confirm delay adds its wait and one more read after the takeover.
        let confirm = self.sc.timing.confirm_delay.as_nanos() as u64;
        let confirm_cost = if confirm > 0 {
            (confirm as f64 * slow) as u64 + rtt
        } else {
            0
        };
        let bound = ((lease + interval) as f64 * slow) as u64 + 2 * rtt + confirm_cost + MS;
        let became_active = self.run_until(killed + bound * 2, |s| !s.actives().is_empty())?;
        let took = self.now - killed;
        self.stats.failover = Duration::from_nanos(took);
        self.stats.failover_bound = Duration::from_nanos(bound);
        if !became_active || took > bound {
            return Err(self.violation(format!(
                "no failover within the bound: took {:.1} ms, bound {:.1} ms (lease {:?}, interval {:?})",
                took as f64 / MS as f64,
                bound as f64 / MS as f64,
                self.sc.timing.lease_duration,
                self.sc.timing.interval
            )));
        }
        Ok(self.stats)
    }
}
