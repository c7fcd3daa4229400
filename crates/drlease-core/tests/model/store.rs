//! The store: one replica per region (one in all, outside MREC), each writing an item only
//! when its condition holds against its own copy (`LeaseRecord::satisfies`,
//! `WriteRequest::apply`, `HandoverRequest::apply_to`, claims and marks as the memory store
//! does), and the epochs it hands out. Every landed write is stamped with its write time and,
//! under MREC, sent on to the other replica (`regions.rs` delivers it).

use drlease_core::{LeaseRecord, WriteKind};

use super::state::{Copy, EpochReuse, Replication, Reply, Request, State};

/// What the world's rules make of a landed write.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Keep every replaced version of the first replica, for restores.
    pub keep_history: bool,
    /// MREC: a landed write reaches the other replica within this many quanta.
    pub lag: Option<u32>,
    /// One copy: an owner change that lands hands out its epoch. Under MREC two owner
    /// changes can land on two replicas and one of them is dropped, so an epoch counts as
    /// handed out when its tenure answers active (`mod.rs`).
    pub epochs_at_landing: bool,
}

impl State {
    /// A write lands on replica `r` now: its write time, and its copy on the way to the
    /// other replicas.
    fn stamp(&mut self, r: usize, copy: Copy, rules: Rules) -> u32 {
        // One copy: nothing to order, and no write time to tell equal states apart.
        let Some(lag) = rules.lag else {
            return 0;
        };
        self.stamps += 1;
        let at = self.stamps;
        {
            for to in (0..self.replicas.len()).filter(|&to| to != r) {
                if self.partitioned {
                    // Held back: the heal brings each item as it is then, not every
                    // version it went through.
                    self.replication
                        .retain(|m| m.to as usize != to || !m.copy.same_item(&copy));
                }
                self.replication.push(Replication {
                    to: to as u8,
                    copy: copy.clone(),
                    at,
                    due: self.now + lag,
                });
            }
        }
        at
    }

    /// Replaces replica `r`'s item, keeping the old version for restores when the rules say
    /// so (the first replica only: restores are the operator's).
    pub fn set_item(&mut self, r: usize, next: Option<LeaseRecord>, rules: Rules) {
        let at = self.stamp(r, Copy::Item(next.clone()), rules);
        self.replicas[r].item_at = at;
        self.replace_item(r, next, rules.keep_history && r == 0);
    }

    /// The item of replica `r` becomes `next` (a local write, or a replicated one that won).
    pub fn replace_item(&mut self, r: usize, next: Option<LeaseRecord>, keep_history: bool) {
        let old = std::mem::replace(&mut self.replicas[r].item, next);
        if let Some(old) = old {
            if keep_history {
                let now = self.now;
                match self
                    .history
                    .iter_mut()
                    .find(|(h, _)| h.version_key() == old.version_key())
                {
                    Some(entry) => entry.1 = Some(now),
                    None => self.history.push((old, Some(now))),
                }
            }
        }
        if r == 0 {
            self.absent_since = match (&self.replicas[0].item, self.absent_since) {
                (None, Some(t)) => Some(t),
                (None, None) => Some(self.now),
                (Some(_), _) => None,
            };
        }
    }

    /// A request reaches replica `r` now.
    pub fn land(&mut self, r: usize, req: &Request, rules: Rules) -> Reply {
        let item = self.replicas[r].item.clone();
        match req {
            Request::Read => Reply::Read(item),
            Request::Write(w) => {
                if !LeaseRecord::satisfies(item.as_ref(), &w.expect) {
                    return Reply::Refused;
                }
                if w.kind.changes_owner() && rules.epochs_at_landing {
                    self.hand_out(w.new.epoch, &w.new.session, false);
                }
                if w.kind == WriteKind::Takeover {
                    self.takeovers = self.takeovers.saturating_add(1);
                }
                let next = w.apply(item.as_ref(), 0);
                self.set_item(r, Some(next.clone()), rules);
                Reply::Written(next)
            }
            Request::Claim(claim) => {
                let claimed_by = self.replicas[r]
                    .claims
                    .iter()
                    .find(|(v, _, _)| *v == claim.release_version)
                    .map(|(_, session, _)| session.as_str());
                match claim.may_claim(claimed_by) {
                    false => Reply::Refused,
                    // Already ours: the conditional put lands again, unchanged.
                    true => {
                        let (version, session) =
                            (claim.release_version.clone(), claim.session.clone());
                        self.put_claim(r, version, session, rules);
                        Reply::Claimed
                    }
                }
            }
            Request::ReadMarks => Reply::Marks(
                self.replicas[r]
                    .marks
                    .iter()
                    .map(|(m, _)| m.clone())
                    .collect(),
            ),
            Request::WriteMark(mark) => {
                let there = self.replicas[r]
                    .marks
                    .iter()
                    .map(|(m, _)| m)
                    .find(|m| m.region == mark.region);
                if !mark.may_replace(there) {
                    return Reply::Refused;
                }
                let at = self.stamp(r, Copy::Mark((**mark).clone()), rules);
                self.put_mark(r, (**mark).clone(), at);
                Reply::MarkWritten
            }
            Request::Handover(h) => {
                let Some(mut next) = item else {
                    return Reply::Refused;
                };
                if h.apply_to(&mut next) {
                    // The version does not change: no history entry.
                    self.set_item(
                        r,
                        Some(next),
                        Rules {
                            keep_history: false,
                            ..rules
                        },
                    );
                    Reply::HandoverSet
                } else {
                    Reply::Refused
                }
            }
        }
    }

    fn put_claim(&mut self, r: usize, version: String, session: String, rules: Rules) {
        let copy = Copy::Claim {
            version: version.clone(),
            session: session.clone(),
        };
        let at = self.stamp(r, copy, rules);
        self.replace_claim(r, version, session, at);
    }

    pub fn replace_claim(&mut self, r: usize, version: String, session: String, at: u32) {
        let claims = &mut self.replicas[r].claims;
        claims.retain(|(v, _, _)| *v != version);
        claims.push((version, session, at));
        claims.sort();
    }

    pub fn put_mark(&mut self, r: usize, mark: drlease_core::RegionMark, at: u32) {
        let marks = &mut self.replicas[r].marks;
        marks.retain(|(m, _)| m.region != mark.region);
        marks.push((mark, at));
        marks.sort_by(|(a, _), (b, _)| a.region.cmp(&b.region));
    }

    /// An owner change landed (or, under MREC, answered active) with `epoch` for
    /// `session`: it must not repeat an epoch another tenure got, unless the store went
    /// backwards before.
    ///
    /// With per-region epochs (`per_region`: MREC with region marks, R23) two regions never
    /// share one, whatever went backwards: a partition lets both acquire from one base.
    pub fn hand_out(&mut self, epoch: u64, session: &str, per_region: bool) {
        // Sessions are identity + generation; candidate `a` is in region 0, `b` in 1.
        let region = |s: &str| s.bytes().next().map(|b| b.wrapping_sub(b'a') % 2);
        if self.epoch_reuse.is_none() {
            let clash =
                |s: &String| !self.rolled_back || (per_region && region(s) != region(session));
            if let Some((_, first)) = self
                .epochs
                .iter()
                .find(|(e, s)| *e == epoch && s != session && clash(s))
            {
                self.epoch_reuse = Some(EpochReuse {
                    epoch,
                    first: first.clone(),
                    second: session.to_string(),
                });
            }
        }
        if !self.epochs.iter().any(|(e, s)| *e == epoch && s == session) {
            self.epochs.push((epoch, session.to_string()));
        }
    }
}
