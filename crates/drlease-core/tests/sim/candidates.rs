//! The candidates: each a `LeaseCore` on a clock of its own, started, woken and stepped
//! through the one driver of the Step protocol (`drlease_core::driver`).

use super::*;

pub(super) struct Candidate {
    pub(super) identity: String,
    pub(super) core: Option<LeaseCore>,
    pub(super) generation: u64,
    pub(super) rate: f64,
    pub(super) offset_ns: u64,
    pub(super) paused_until: u64,
    pub(super) wake_seq: u64,
    pub(super) busy: bool,
    pub(super) restarts: u64,
    /// The controller beside this candidate may write until here (on this host's clock).
    /// It outlives the sidecar process: a controller keeps its window when its sidecar
    /// dies, and keeps writing while its sidecar is paused.
    pub(super) granted_until: Mono,
    /// Whether the controller beside it is healthy. Like the controller, it outlives the
    /// sidecar: a restarted core is told at its first step.
    pub(super) eligible: bool,
    /// The version this process last received in an answer (`None`: absent, or nothing
    /// yet): to it, that version written back is no change at all.
    pub(super) received: Option<VersionKey>,
    /// How its current tenure began, and whether it answered active after sending that
    /// tenure's release: what a violation is explained with (`blame.rs`).
    pub(super) gained: Option<blame::Gained>,
    /// The epoch of the last release this process sent in its current tenure.
    pub(super) release_sent: Option<u64>,
    pub(super) active_after_release: bool,
    /// The last time one of its store calls failed or came back slower than the round trip
    /// the bounds assume, or its pause ended: double holders are timed from after it.
    pub(super) faulted_at: u64,
}

impl Candidate {
    pub(super) fn local(&self, real: u64) -> Mono {
        Mono::from_duration(Duration::from_nanos(
            self.offset_ns + (real as f64 * self.rate) as u64,
        ))
    }
    /// The first real time at which the local clock reads at least `t`.
    pub(super) fn real_at(&self, t: Mono) -> u64 {
        let local = t.as_duration().as_nanos() as u64;
        let since = local.saturating_sub(self.offset_ns) as f64 / self.rate;
        let mut real = since.ceil() as u64;
        while self.local(real) < t {
            real += 1;
        }
        real
    }
    pub(super) fn alive(&self) -> bool {
        self.core.is_some()
    }
}

impl Sim {
    pub(super) fn start(&mut self, c: usize, at: u64) {
        let regions = self.regions_of(c);
        let cand = &mut self.cands[c];
        cand.generation += 1;
        cand.restarts += 1;
        let session = format!("s{c}g{}", cand.generation);
        cand.core = Some(LeaseCore::new(CoreConfig {
            identity: cand.identity.clone(),
            session,
            timing: self.sc.settings[c].timing.clone(),
            store_is_private: false,
            affinity: Affinity {
                never_acquire: self.sc.affinity[c].never_acquire && self.sc.tell_observers,
                ..self.sc.affinity[c].clone()
            },
            regions,
        }));
        cand.busy = false;
        cand.paused_until = 0;
        cand.received = None;
        cand.gained = None;
        cand.release_sent = None;
        cand.active_after_release = false;
        self.wake(c, at);
    }

    pub(super) fn wake(&mut self, c: usize, at: u64) {
        self.cands[c].wake_seq += 1;
        let seq = self.cands[c].wake_seq;
        self.push(at, Ev::Wake { c, seq });
    }

    pub(super) fn step_candidate(&mut self, c: usize) {
        if !self.cands[c].alive() || self.cands[c].busy {
            return;
        }
        if self.cands[c].paused_until > self.now {
            let at = self.cands[c].paused_until;
            self.wake(c, at);
            return;
        }
        let local = self.cands[c].local(self.now);
        let granted = self.cands[c].granted_until;
        let honour = self.sc.honour_windows;
        let eligible = self.cands[c].eligible;
        let core = self.cands[c].core.as_mut().unwrap();
        if honour {
            core.set_granted_until(granted);
        }
        // As the loop does: a change of eligibility is taken in before the next step.
        if core.is_eligible() != eligible {
            core.set_eligible(eligible);
        }
        match core.next_step(local) {
            Step::Done => {
                // Released after a stop: the process exits.
                self.cands[c].core = None;
            }
            Step::Wait(t) => {
                let at = self.cands[c].real_at(t).max(self.now + 1);
                self.wake(c, at);
            }
            Step::Call(call) => {
                match &call {
                    Call::Write(req) => {
                        trace(self.now, None, || {
                            format!(
                                "cand-{c} sends {} {} expecting {:?}",
                                req.kind.as_str(),
                                req.new.version,
                                req.expect
                            )
                        });
                        self.note_sent(c, req);
                        self.aim_flap_at_release(c, req);
                    }
                    Call::RequestHandover(req) => trace(self.now, None, || {
                        format!("cand-{c} asks for failback {req:?}")
                    }),
                    _ => {}
                }
                self.send(c, call)
            }
        }
    }
}
