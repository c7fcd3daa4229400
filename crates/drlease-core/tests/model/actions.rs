//! Every choice the world may make in a state: the nondeterminism the checker branches on.

use super::state::{Fate, Io, Request, State};
use super::world::{Mode, OperatorKind, ProcessKind};
use super::LeaseModel;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The candidate's loop takes its next step (it is due).
    Step(usize),
    /// Its request reaches the store; the answer is still on its way back.
    Land(usize),
    /// Its request reaches the store and the answer comes back at once.
    Deliver(usize),
    /// The answer of its landed request arrives.
    Answer(usize),
    /// Fault: the request landed, the answer is lost.
    LoseAnswer(usize),
    /// Fault: the request is lost before it lands.
    LoseRequest(usize),
    /// Fault (slow worlds): the request is held up past the call timeout; it may land later.
    Delay(usize),
    /// The call timeout fires: the core gets a timeout error.
    Timeout(usize),
    /// A request whose caller is gone or gave up lands now.
    LandOrphan(usize),
    /// Time advances by one quantum.
    Tick,
    /// The controller asks and is granted a write window.
    Grant(usize),
    /// The controller's health flips.
    Eligible(usize, bool),
    Kill(usize),
    Term(usize),
    /// A stopped candidate starts again: fresh core, new session, same identity.
    Restart(usize),
    /// SIGSTOP (or a VM paused): the process takes no step and reads no answer, its call
    /// stays under way, and time passes it by.
    Pause(usize),
    /// SIGCONT: it goes on where it stopped, its clock jumped by the pause.
    Resume(usize),
    Freeze,
    Unfreeze,
    /// `drlease handover` to this identity (`*`: anyone).
    Handover(String),
    Delete,
    Seed,
    /// The version at this index of the history is written back.
    Restore(usize),
    /// MREC: the replicated write at this index arrives.
    Replicate(usize),
    /// MREC fault: replication stops until the heal.
    Partition,
    Heal,
    /// MRSC fault: this region is cut off from the others until it is back.
    CutOff(u8),
    Reconnect,
    /// MRSC fault: the candidate's write is refused, another region writing the item at the
    /// same moment (`ReplicatedWriteConflictException`); it did not land.
    Conflict(usize),
}

impl LeaseModel {
    pub fn enabled(&self, s: &State, out: &mut Vec<Action>) {
        let w = &self.world;
        for (c, cand) in s.cands.iter().enumerate() {
            let process =
                |k: ProcessKind| s.budget.process > 0 && w.faults.process_kinds.contains(&k);
            if cand.paused {
                self.paused_actions(s, c, out);
                continue;
            }
            if cand.core.is_some() && process(ProcessKind::Pause) {
                out.push(Action::Pause(c));
            }
            match &cand.io {
                Io::Stopped => out.push(Action::Restart(c)),
                Io::Idle { wake_at } => {
                    if *wake_at <= s.now {
                        out.push(Action::Step(c));
                    }
                    if process(ProcessKind::Eligibility) {
                        let eligible = cand.core.as_ref().is_some_and(|k| k.is_eligible());
                        out.push(Action::Eligible(c, !eligible));
                    }
                }
                Io::Busy(op) => {
                    let network = s.budget.network > 0 && self.may_lose(c);
                    match &op.fate {
                        Fate::Flying => {
                            out.push(Action::Deliver(c));
                            out.push(Action::Land(c));
                            if network {
                                out.push(Action::LoseRequest(c));
                                if w.faults.slow {
                                    out.push(Action::Delay(c));
                                }
                            }
                        }
                        Fate::Landed(_) => {
                            out.push(Action::Answer(c));
                            if network {
                                out.push(Action::LoseAnswer(c));
                            }
                        }
                        Fate::AnswerLost | Fate::Lost | Fate::Late => {}
                    }
                    // A call still under way at its timeout is one more network fault.
                    let doomed = matches!(op.fate, Fate::AnswerLost | Fate::Lost | Fate::Late);
                    if s.now >= op.timeout_at && (doomed || network) {
                        out.push(Action::Timeout(c));
                    }
                }
            }
            if cand.core.is_some() {
                if !self.world.eager_controllers && self.grant_extends(s, c) {
                    out.push(Action::Grant(c));
                }
                if process(ProcessKind::Kill) {
                    out.push(Action::Kill(c));
                }
                if process(ProcessKind::Term) && cand.release_deadline.is_none() {
                    out.push(Action::Term(c));
                }
            }
        }
        for i in 0..s.orphans.len() {
            out.push(Action::LandOrphan(i));
        }
        self.region_actions(s, out);
        if s.budget.operator > 0 {
            self.operator_actions(s, out);
        }
        if self.may_tick(s) {
            out.push(Action::Tick);
        }
    }

    /// What may happen to a paused process: the request it sent lands (the network goes on
    /// without it; the answer waits for the process), kill -9 (a stopped process dies too),
    /// and SIGCONT.
    fn paused_actions(&self, s: &State, c: usize, out: &mut Vec<Action>) {
        out.push(Action::Resume(c));
        if let Io::Busy(op) = &s.cands[c].io {
            if op.fate == Fate::Flying {
                out.push(Action::Land(c));
            }
        }
        if s.budget.process > 0 && self.world.faults.process_kinds.contains(&ProcessKind::Kill) {
            out.push(Action::Kill(c));
        }
    }

    /// Time moves on only once every running candidate has taken its due step and every
    /// call that must end in this quantum has ended: the loops run promptly. A paused
    /// process (a fault of its own, `Pause`) holds nothing up: its steps and timeouts wait
    /// for it, and it finds the time jumped when it resumes.
    fn may_tick(&self, s: &State) -> bool {
        s.replication_in_time()
            && s.cands.iter().all(|cand| match &cand.io {
                _ if cand.paused => true,
                Io::Stopped => true,
                Io::Idle { wake_at } => *wake_at > s.now,
                Io::Busy(op) => {
                    s.now < op.timeout_at
                        && (self.world.faults.slow
                            || !matches!(op.fate, Fate::Flying | Fate::Landed(_)))
                }
            })
    }

    fn region_actions(&self, s: &State, out: &mut Vec<Action>) {
        let faults = s.budget.region > 0;
        match self.world.mode {
            Mode::OneStore => {}
            Mode::Mrec { .. } => {
                if !s.partitioned {
                    out.extend((0..s.replication.len()).map(Action::Replicate));
                    if faults {
                        out.push(Action::Partition);
                    }
                } else {
                    out.push(Action::Heal);
                }
            }
            Mode::Mrsc => {
                if s.cut_off.is_some() {
                    out.push(Action::Reconnect);
                } else if faults {
                    out.extend((0..s.cands.len() as u8).map(Action::CutOff));
                }
                // Two writes under way at once from two regions: either may be refused.
                let writing: Vec<usize> = (0..s.cands.len())
                    .filter(|&c| match &s.cands[c].io {
                        Io::Busy(op) => {
                            op.fate == Fate::Flying && matches!(op.req, Request::Write(_))
                        }
                        _ => false,
                    })
                    .collect();
                if faults && writing.len() > 1 {
                    out.extend(writing.into_iter().map(Action::Conflict));
                }
            }
        }
    }

    fn operator_actions(&self, s: &State, out: &mut Vec<Action>) {
        for kind in self.world.faults.operator_kinds {
            match kind {
                OperatorKind::Freeze => {
                    if !s.item().is_some_and(|r| r.is_frozen()) {
                        out.push(Action::Freeze);
                    }
                }
                OperatorKind::Unfreeze => {
                    if s.item().is_some_and(|r| r.is_frozen()) {
                        out.push(Action::Unfreeze);
                    }
                }
                OperatorKind::Handover => {
                    if let Some(r) = s.item().filter(|r| r.is_held()) {
                        for target in self.identities.iter().map(String::as_str).chain(["*"]) {
                            if target != r.owner && r.handover_to.as_deref() != Some(target) {
                                out.push(Action::Handover(target.to_string()));
                            }
                        }
                    }
                }
                OperatorKind::Delete => {
                    if s.item().is_some() {
                        out.push(Action::Delete);
                    }
                }
                OperatorKind::Seed => {
                    if s.absent_since
                        .is_some_and(|t| s.now >= t + self.world.longest_lease())
                    {
                        out.push(Action::Seed);
                    }
                }
                OperatorKind::Restore => {
                    let current = s.item().map(|r| r.version_key());
                    for (i, (r, replaced)) in s.history.iter().enumerate() {
                        let old = replaced.is_none_or(|t| s.now >= t + 2 * self.world.max_lease());
                        if !r.is_seed() && Some(r.version_key()) != current && old {
                            out.push(Action::Restore(i));
                        }
                    }
                }
            }
        }
    }
}
