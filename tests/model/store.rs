//! The store: one item, written only when its condition holds (`LeaseRecord::satisfies`,
//! `WriteRequest::apply`, `HandoverRequest::apply_to`, as the memory store does), and the
//! epochs it hands out.

use drlease::lease::{LeaseRecord, WriteKind};

use super::state::{EpochReuse, Reply, Request, State};

impl State {
    /// Replaces the item, keeping the old version for restores when `keep_history`.
    pub fn set_item(&mut self, next: Option<LeaseRecord>, keep_history: bool) {
        let old = std::mem::replace(&mut self.item, next);
        if let Some(old) = old {
            if keep_history {
                let now = self.now;
                match self
                    .history
                    .iter_mut()
                    .find(|(r, _)| r.version_key() == old.version_key())
                {
                    Some(entry) => entry.1 = Some(now),
                    None => self.history.push((old, Some(now))),
                }
            }
        }
        self.absent_since = match (&self.item, self.absent_since) {
            (None, Some(t)) => Some(t),
            (None, None) => Some(self.now),
            (Some(_), _) => None,
        };
    }

    /// A request reaches the store now.
    pub fn land(&mut self, req: &Request, keep_history: bool) -> Reply {
        match req {
            Request::Read => Reply::Read(self.item.clone()),
            Request::Write(w) => {
                if !LeaseRecord::satisfies(self.item.as_ref(), &w.expect) {
                    return Reply::Refused;
                }
                if w.kind.changes_owner() {
                    self.hand_out(w.new.epoch, &w.new.session);
                }
                if w.kind == WriteKind::Takeover {
                    self.takeovers = self.takeovers.saturating_add(1);
                }
                let next = w.apply(self.item.as_ref(), 0);
                self.set_item(Some(next.clone()), keep_history);
                Reply::Written(next)
            }
            Request::Claim(claim) => {
                // Claims are items of their own: restores and deletions of the lease item
                // leave them alone.
                match self
                    .claims
                    .iter()
                    .find(|(v, _)| *v == claim.release_version)
                {
                    Some((_, session)) if *session != claim.session => Reply::Refused,
                    Some(_) => Reply::Claimed,
                    None => {
                        self.claims
                            .push((claim.release_version.clone(), claim.session.clone()));
                        Reply::Claimed
                    }
                }
            }
            Request::Handover(h) => {
                let Some(mut r) = self.item.clone() else {
                    return Reply::Refused;
                };
                if h.apply_to(&mut r) {
                    // The version does not change: no history entry, no new version.
                    self.item = Some(r);
                    Reply::HandoverSet
                } else {
                    Reply::Refused
                }
            }
        }
    }

    /// An owner change landed with `epoch` for `session`: it must not repeat an epoch another
    /// tenure got, unless the store went backwards before.
    pub fn hand_out(&mut self, epoch: u64, session: &str) {
        if !self.rolled_back && self.epoch_reuse.is_none() {
            if let Some((_, first)) = self
                .epochs
                .iter()
                .find(|(e, s)| *e == epoch && s != session)
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
