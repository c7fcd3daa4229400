//! The store: one replica per region (one in all, outside MREC), each a
//! `drlease_core::replication::Replica` that writes a key only when its condition holds
//! against its own copy, and the epochs it hands out. Under MREC every landed write is
//! stamped with its write time and sent on to the other replica (`regions.rs` delivers it).

use drlease_core::replication::Replicated;
use drlease_core::{LeaseRecord, WriteKind, WriteRequest};

use super::state::{EpochReuse, Replication, Reply, Request, Stamp, State};

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
    /// The write time a write landing now gets (one copy: none, nothing to order and no
    /// write time to tell equal states apart).
    fn next_stamp(&self, rules: Rules) -> Option<Stamp> {
        rules.lag.map(|_| self.stamps + 1)
    }

    /// A write landed on replica `r` now: its copy (stamped under MREC) on the way to the
    /// other replicas.
    fn send(&mut self, r: usize, sent: Option<Replicated<Stamp>>, rules: Rules) {
        let (Some(copy), Some(lag)) = (sent, rules.lag) else {
            return;
        };
        self.stamps = copy.stamp;
        for to in (0..self.replicas.len()).filter(|&to| to != r) {
            if self.partitioned {
                // Held back: the heal brings each item as it is then, not every
                // version it went through.
                self.replication
                    .retain(|m| m.to as usize != to || m.copy.key() != copy.key());
            }
            self.replication.push(Replication {
                to: to as u8,
                copy: copy.clone(),
                due: self.now + lag,
            });
        }
    }

    /// Replaces replica `r`'s item, keeping the old version for restores when the rules say
    /// so (the first replica only: restores are the operator's).
    pub fn set_item(&mut self, r: usize, next: Option<LeaseRecord>, rules: Rules) {
        let stamp = self.next_stamp(rules);
        let written = self.replicas[r].put_item(next, stamp);
        self.send(r, written.sent, rules);
        self.item_replaced(r, written.replaced, rules.keep_history && r == 0);
    }

    /// The item of replica `r` replaced `old` (a local write, or a replicated one that won):
    /// the history restores pick from, and since when the first replica has none.
    pub fn item_replaced(&mut self, r: usize, old: Option<LeaseRecord>, keep_history: bool) {
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
            self.absent_since = match (self.replicas[0].item(), self.absent_since) {
                (None, Some(t)) => Some(t),
                (None, None) => Some(self.now),
                (Some(_), _) => None,
            };
        }
    }

    /// A request reaches replica `r` now: applied under its condition against that
    /// replica's copy alone.
    pub fn land(&mut self, r: usize, req: &Request, rules: Rules) -> Reply {
        let stamp = self.next_stamp(rules);
        let replica = &mut self.replicas[r];
        let sent = match req {
            Request::Read => return Reply::Read(replica.item().cloned()),
            Request::ReadMarks => return Reply::Marks(replica.marks().cloned().collect()),
            Request::Write(w) => return self.land_write(r, w, rules),
            // Already ours: the conditional put lands again, unchanged.
            Request::Claim(claim) => replica.claim(claim, stamp),
            Request::WriteMark(mark) => replica.write_mark(mark, stamp),
            // The version does not change: no history entry, and the item stays.
            Request::Handover(h) => replica.request_handover(h, stamp),
        };
        let Ok(sent) = sent else {
            return Reply::Refused;
        };
        self.send(r, sent, rules);
        match req {
            Request::Claim(_) => Reply::Claimed,
            Request::WriteMark(_) => Reply::MarkWritten,
            _ => Reply::HandoverSet,
        }
    }

    /// A write of the lease item reaches replica `r`: the epochs it hands out, and the
    /// takeovers counted, when it lands.
    fn land_write(&mut self, r: usize, w: &WriteRequest, rules: Rules) -> Reply {
        let stamp = self.next_stamp(rules);
        let Ok(written) = self.replicas[r].write(w, stamp) else {
            return Reply::Refused;
        };
        if w.kind.changes_owner() && rules.epochs_at_landing {
            self.hand_out(w.new.epoch, &w.new.session, false);
        }
        if w.kind == WriteKind::Takeover {
            self.takeovers = self.takeovers.saturating_add(1);
        }
        self.send(r, written.sent, rules);
        self.item_replaced(r, written.replaced, rules.keep_history && r == 0);
        Reply::Written(self.replicas[r].item().cloned().expect("the write landed"))
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
