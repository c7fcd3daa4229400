//! One state of the world: the clock, each candidate's process (its real `LeaseCore`, its
//! call in flight, its gate) and controller, the store with its history, and the
//! bookkeeping the properties need. Everything derives Hash and Eq, so the checker can tell
//! states apart and never explores one twice.

use std::time::Duration;

use drlease_core::clock::Mono;
use drlease_core::operator::HandoverRequest;
use drlease_core::replication::Replicated;
use drlease_core::{LeaseCore, LeaseRecord, RegionMark, Role, WriteRequest};

use super::world::QUANTUM_MS;

/// Each host's monotonic clock has its own origin (in quanta), as real hosts' do.
const CLOCK_ORIGIN: [u64; 3] = [1000, 3017, 5039];

/// Candidate `c`'s clock reading at model time `q` (quanta).
pub fn local(c: usize, q: u32) -> Mono {
    Mono::from_duration(Duration::from_millis(
        (q as u64 + CLOCK_ORIGIN[c]) * QUANTUM_MS,
    ))
}

/// The first model time at which candidate `c`'s clock reads at least `t` (a wait that
/// ends between two quanta ends at the next one: the loop woke a little late).
pub fn model_time(c: usize, t: Mono) -> u32 {
    let ms = t.as_duration().as_millis() as u64;
    let q = ms.div_ceil(QUANTUM_MS);
    q.saturating_sub(CLOCK_ORIGIN[c]) as u32
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    Read,
    Write(Box<WriteRequest>),
    Handover(Box<HandoverRequest>),
    /// A claim on a release, before acquiring it (an item of its own in the store).
    Claim(Box<drlease_core::ReleaseClaim>),
    /// Every region's mark (ours included), read by key.
    ReadMarks,
    /// This region's mark, written unless a higher epoch is there.
    WriteMark(Box<RegionMark>),
}

/// What the store answered, once the request landed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    Read(Option<LeaseRecord>),
    Written(LeaseRecord),
    /// The condition did not hold (a write), or the handover request did not apply.
    Refused,
    HandoverSet,
    /// The claim is ours (created now, or already).
    Claimed,
    Marks(Vec<RegionMark>),
    MarkWritten,
    /// MRSC: the caller's region is cut off from the others; nothing landed.
    Unavailable,
    /// MRSC: another region wrote the item at the same moment; nothing landed.
    WriteConflict,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fate {
    /// On its way to the store; the answer will come.
    Flying,
    /// Landed; the answer is on its way back.
    Landed(Box<Reply>),
    /// Landed, but the answer is lost: the caller times out.
    AnswerLost,
    /// Lost before landing: the caller times out and it never lands.
    Lost,
    /// Still on its way when the caller times out; it may land afterwards.
    Late,
}

/// A store call the loop is waiting for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    pub req: Request,
    pub sent: u32,
    /// The loop gives up at this model time (call timeout, or the release deadline).
    pub timeout_at: u32,
    pub fate: Fate,
}

/// A request whose caller is gone or gave up, still on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Orphan {
    pub from: usize,
    pub req: Request,
    /// After this model time it is lost for good.
    pub expiry: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Io {
    /// Waiting until this model time (or a wake-up: eligibility, SIGTERM, an answer).
    Idle {
        wake_at: u32,
    },
    Busy(Box<Op>),
    /// No process (killed, or exited after SIGTERM).
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cand {
    pub core: Option<LeaseCore>,
    pub io: Io,
    /// Processes started so far under this identity: the next session's suffix.
    pub generation: u8,
    /// The process's gate: where the latest window it granted ends (model time). Gone with
    /// the process.
    pub gate_until: u32,
    /// The controller's window, from any process of this candidate: it outlives a crash.
    pub controller_until: u32,
    /// SIGTERM: the gate no longer grants, and the process exits by this model time.
    pub release_deadline: Option<u32>,
    /// SIGSTOP: the process takes no step, reads no answer and grants no window.
    pub paused: bool,
}

impl Cand {
    /// What `/active` answers: the core's view at this instant, and passive from SIGTERM on
    /// (the signal handler revokes the gate before the loop hears of it).
    pub fn is_active(&self, c: usize, now: u32) -> bool {
        self.release_deadline.is_none()
            && self
                .core
                .as_ref()
                .is_some_and(|k| k.view().role_at(local(c, now)) == Role::Active)
    }

    pub fn window_open(&self, now: u32) -> bool {
        now < self.controller_until
    }
}

/// How many faults of each class are left to this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Budget {
    pub network: u8,
    pub process: u8,
    pub operator: u8,
    /// Partitions (MREC), cut-off regions and write conflicts (MRSC).
    pub region: u8,
}

/// An epoch handed out twice to different tenures (sessions) with no rollback before it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EpochReuse {
    pub epoch: u64,
    pub first: String,
    pub second: String,
}

/// Where a write stands in last-writer-wins order. Write time is the instant the write
/// landed, and the model orders every landing, so two writes never tie: replicas agree on
/// the latest, as DynamoDB's regions do within their clock error (and as the emulator's
/// shared clock makes them). Renumbered densely after every action (`regions.rs`): only the
/// order counts, and equal orders make equal states.
pub type Stamp = u32;

/// One region's copy of the table: the lease item, the release claims and the region marks,
/// each with the write time of the version it holds (the core's shared model of a
/// replicated table; a key with no write time was there before the run). Release claims are
/// items of their own, which a restore or deletion of the lease item leaves alone.
pub type Replica = drlease_core::replication::Replica<Stamp>;

/// A landed write on its way to another replica (MREC).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replication {
    pub to: u8,
    /// The key's image after the write, and the write time.
    pub copy: Replicated<Stamp>,
    /// It arrives by this model time, unless a partition holds it back (the heal sets it
    /// anew).
    pub due: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub now: u32,
    pub cands: Vec<Cand>,
    /// One copy (one store, MRSC), or one per region (MREC). Operators and restores write
    /// to the first.
    pub replicas: Vec<Replica>,
    /// Landed writes not yet applied to the other replica.
    pub replication: Vec<Replication>,
    /// The latest write time handed out (see `Stamp`).
    pub stamps: Stamp,
    /// MREC: replication is held back until the heal.
    pub partitioned: bool,
    /// MREC: when the last partition healed.
    pub healed_at: Option<u32>,
    /// MRSC: the region cut off from the others (its pods' requests fail as unavailable).
    pub cut_off: Option<u8>,
    /// Every version the item had, with the model time it was last replaced (`None`: before
    /// the run, in a backup), only kept when restores may happen: it is what they pick from.
    pub history: Vec<(LeaseRecord, Option<u32>)>,
    /// Since when the item has been missing (`create-table` waits before seeding).
    pub absent_since: Option<u32>,
    pub orphans: Vec<Orphan>,
    pub budget: Budget,
    /// Tokens the operator's writes used so far.
    pub operator_writes: u8,
    /// A version went backwards (restore) or vanished (deletion): epochs may repeat after it.
    pub rolled_back: bool,
    /// (epoch, session) of every owner change that landed.
    pub epochs: Vec<(u64, String)>,
    pub epoch_reuse: Option<EpochReuse>,
    /// Takeovers that landed (a lease timed out on someone, not released).
    pub takeovers: u8,
    /// Liveness worlds only: since when nobody has been active.
    pub idle_since: Option<u32>,
    /// Liveness worlds only: someone active stopped being active with no fault to cause it.
    pub lapsed: bool,
}

impl State {
    pub fn actives(&self) -> Vec<usize> {
        (0..self.cands.len())
            .filter(|&c| self.cands[c].is_active(c, self.now))
            .collect()
    }

    /// The first replica: the only one outside MREC, and the operator's.
    pub fn item(&self) -> Option<&LeaseRecord> {
        self.replicas[0].item()
    }

    pub fn open_windows(&self) -> Vec<usize> {
        (0..self.cands.len())
            .filter(|&c| self.cands[c].window_open(self.now))
            .collect()
    }
}
