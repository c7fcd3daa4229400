//! A discovery path, readably: one line per action, with the item and every candidate's
//! role after it.

use drlease_core::replication::Image;
use drlease_core::{Expect, HandoverWrite, LeaseRecord, WriteRequest};
use stateright::Path;

use super::actions::Action;
use super::state::{local, Fate, Io, Reply, Request, State};
use super::world::{QUANTUM_MS, REGIONS};
use super::LeaseModel;

fn t(q: u32) -> String {
    format!("{:.1}s", (q as u64 * QUANTUM_MS) as f64 / 1000.0)
}

/// Epochs near the top read as `MAX-n`.
pub fn epoch(e: u64) -> String {
    match u64::MAX - e {
        0 => "MAX".into(),
        n if n < 100 => format!("MAX-{n}"),
        _ => e.to_string(),
    }
}

pub fn item(r: Option<&LeaseRecord>) -> String {
    let Some(r) = r else {
        return "absent".into();
    };
    let v = r.version.as_deref().unwrap_or("-");
    let e = r.epoch.map_or("-".into(), epoch);
    let lease = r
        .lease_duration_ms
        .map_or("-".into(), |ms| format!("{ms}ms"));
    let mut out = if r.is_frozen() {
        format!("frozen v={v} e{e} lease {lease}")
    } else if r.is_released() {
        let by = r.released_by.as_deref().unwrap_or("-");
        let from = r.released_from.as_deref().unwrap_or("-");
        format!("released v={v} e{e} lease {lease} by={by} from={from}")
    } else {
        let session = r.owner_session.as_deref().unwrap_or("-");
        format!("held by {session} v={v} e{e} lease {lease}")
    };
    if let Some(to) = &r.handover_to {
        out.push_str(&format!(" handover to {to}"));
        if let Some(id) = &r.handover_id {
            out.push_str(&format!(" ({id})"));
        }
    }
    out
}

fn write(w: &WriteRequest) -> String {
    let expect = match &w.expect {
        Expect::Absent => "absent".to_string(),
        Expect::Version(k) => format!("v={}", k.marker()),
        Expect::AsRead {
            key,
            handover_to,
            handover_id,
        } => match (handover_to, handover_id) {
            (Some(to), Some(id)) => format!("v={} handover to {to} ({id})", key.marker()),
            (Some(to), None) => format!("v={} handover to {to}", key.marker()),
            (None, _) => format!("v={}", key.marker()),
        },
        Expect::Held { version, .. } => format!("own v={version}"),
    };
    let to = match &w.new.handover {
        HandoverWrite::Set { to, .. } => format!(" to {to}"),
        _ => String::new(),
    };
    format!(
        "{}{to} v={} e{} (if {expect})",
        w.kind.as_str(),
        w.new.version,
        epoch(w.new.epoch)
    )
}

fn request(r: &Request) -> String {
    match r {
        Request::Read => "read".into(),
        Request::Write(w) => write(w),
        Request::Handover(h) => format!("failback request to {}", h.target),
        Request::Claim(c) => format!("claim of release {}", c.release_version),
        Request::ReadMarks => "read of the region marks".into(),
        Request::WriteMark(m) => format!("mark of {} at e{}", m.region, epoch(m.epoch)),
    }
}

fn reply(r: &Reply) -> String {
    match r {
        Reply::Read(i) => format!("read {}", item(i.as_ref())),
        Reply::Written(_) => "written".into(),
        Reply::Refused => "refused (condition failed)".into(),
        Reply::HandoverSet => "request set".into(),
        Reply::Claimed => "claimed".into(),
        Reply::Marks(marks) => {
            let marks: Vec<String> = marks
                .iter()
                .map(|m| format!("{} e{} {}", m.region, epoch(m.epoch), m.session))
                .collect();
            format!("marks [{}]", marks.join(", "))
        }
        Reply::MarkWritten => "mark written".into(),
        Reply::Unavailable => "unavailable (region cut off)".into(),
        Reply::WriteConflict => "refused: replicated write conflict".into(),
    }
}

fn landed(s: &State, c: usize) -> String {
    match &s.cands[c].io {
        Io::Busy(op) => match &op.fate {
            Fate::Landed(r) => reply(r),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

impl LeaseModel {
    fn roles(&self, s: &State) -> String {
        (0..s.cands.len())
            .map(|c| {
                let k = &s.cands[c];
                let id = &self.identities[c];
                let role = match &k.core {
                    None => "down".to_string(),
                    Some(core) => {
                        let view = core.view();
                        let role = view.role_at(local(c, s.now)).as_str().to_string();
                        match view.active_until {
                            Some(until) if role == "active" => {
                                let left = until.since(local(c, s.now)).as_millis();
                                format!("active {left}ms more")
                            }
                            _ => role,
                        }
                    }
                };
                let window = if k.window_open(s.now) {
                    format!(", window to {}", t(k.controller_until))
                } else {
                    String::new()
                };
                format!("{id}: {role}{window}")
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn describe(&self, before: &State, action: &Action, after: &State) -> String {
        let id = |c: &usize| self.identities[*c].clone();
        match action {
            Action::Step(c) => match &after.cands[*c].io {
                Io::Busy(op) => format!("{} sends {}", id(c), request(&op.req)),
                Io::Idle { wake_at } => format!("{} waits until {}", id(c), t(*wake_at)),
                Io::Stopped => format!("{} exits", id(c)),
            },
            Action::Land(c) => format!("{}'s request lands: {}", id(c), landed(after, *c)),
            Action::Deliver(c) => self.describe_delivery(before, *c),
            Action::Answer(c) => format!("{} gets the answer: {}", id(c), landed(before, *c)),
            Action::LoseAnswer(c) => format!("{}'s answer is lost", id(c)),
            Action::LoseRequest(c) => format!("{}'s request is lost before it lands", id(c)),
            Action::Delay(c) => format!("{}'s request is held up past its timeout", id(c)),
            Action::Timeout(c) => format!("{}'s call times out", id(c)),
            Action::LandOrphan(i) => {
                let o = &before.orphans[*i];
                format!(
                    "{}'s {} lands after its caller gave up",
                    id(&o.from),
                    request(&o.req)
                )
            }
            Action::Tick => "time passes".into(),
            Action::Grant(c) => format!(
                "{}'s controller is granted a window until {}",
                id(c),
                t(after.cands[*c].controller_until)
            ),
            Action::Eligible(c, true) => format!("{} becomes eligible", id(c)),
            Action::Eligible(c, false) => format!("{} becomes ineligible", id(c)),
            Action::Kill(c) => format!("{} is killed (kill -9)", id(c)),
            Action::Term(c) => format!("{} gets SIGTERM", id(c)),
            Action::Restart(c) => format!("{} starts again (new session)", id(c)),
            Action::Pause(c) => format!("{} is paused (SIGSTOP)", id(c)),
            Action::Resume(c) => format!("{} resumes (SIGCONT)", id(c)),
            Action::Freeze => "operator freezes".into(),
            Action::Unfreeze => "operator unfreezes".into(),
            Action::Handover(to) => format!("operator requests a handover to {to}"),
            Action::Delete => "operator deletes the item".into(),
            Action::Seed => "create-table seeds the item".into(),
            Action::Restore(i) => format!(
                "a restore writes back {}",
                item(Some(&before.history[*i].0))
            ),
            Action::Replicate(i) => describe_replication(before, *i),
            Action::Partition => "the regions are partitioned".into(),
            Action::Heal => "the partition heals".into(),
            Action::CutOff(r) => format!("region {} is cut off", REGIONS[*r as usize]),
            Action::Reconnect => "the region is back".into(),
            Action::Conflict(c) => format!("{}'s write meets a replicated write conflict", id(c)),
        }
    }

    /// A request that lands and is answered in one step, told with what it found.
    fn describe_delivery(&self, before: &State, c: usize) -> String {
        let Io::Busy(op) = &before.cands[c].io else {
            return String::new();
        };
        let mut probe = before.clone();
        self.apply(&mut probe, Action::Land(c));
        let what = match &op.req {
            Request::Read => "read".to_string(),
            Request::Write(w) => w.kind.as_str().to_string(),
            Request::Handover(_) => "request".to_string(),
            Request::Claim(_) => "claim".to_string(),
            Request::ReadMarks => "read of the marks".to_string(),
            Request::WriteMark(_) => "mark".to_string(),
        };
        format!(
            "{}'s {what} lands and is answered: {}",
            self.identities[c],
            landed(&probe, c)
        )
    }

    /// The item, in each replica when there are several.
    fn items(&self, s: &State) -> String {
        if s.replicas.len() == 1 {
            return item(s.item());
        }
        s.replicas
            .iter()
            .enumerate()
            .map(|(r, rep)| format!("{}: {}", REGIONS[r], item(rep.item())))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The path, one line per action, then what is wrong at its end.
    pub fn format_path(&self, path: &Path<State, Action>) -> String {
        let steps = path.clone().into_vec();
        let mut out = String::new();
        for pair in steps.windows(2) {
            let (before, Some(action)) = &pair[0] else {
                continue;
            };
            let after = &pair[1].0;
            out.push_str(&format!(
                "  {:>5}  {:<58} | item: {} | {}\n",
                t(before.now),
                self.describe(before, action, after),
                self.items(after),
                self.roles(after)
            ));
        }
        if let Some(reuse) = &path.last_state().epoch_reuse {
            out.push_str(&format!(
                "  epoch {} handed out to {} and again to {}\n",
                epoch(reuse.epoch),
                reuse.first,
                reuse.second
            ));
        }
        out
    }
}

/// A write replicated to the other copy: applied, or older and dropped.
fn describe_replication(before: &State, i: usize) -> String {
    let m = &before.replication[i];
    let what = match &m.copy.image {
        Image::Item(i) => item(i.as_ref()),
        Image::Claim {
            release_version,
            session,
        } => format!(
            "claim {release_version} by {}",
            session.as_deref().unwrap_or("-")
        ),
        Image::Mark { region, mark } => match mark {
            Some(mark) => format!("mark of {region} e{}", epoch(mark.epoch)),
            None => format!("mark of {region} deleted"),
        },
    };
    let to = REGIONS[m.to as usize];
    let landed = if before.replication_wins(i) {
        "applied"
    } else {
        "older, dropped"
    };
    format!("replicated to {to}: {what} ({landed})")
}
