//! Writes whose answer was lost or refused: read back, resend, or give up.
//!
//! Sets directly: `unsettled`.

use super::{LeaseCore, Step};
use crate::clock::Mono;
use crate::record::{LeaseRecord, WriteKind, WriteRequest};
use crate::rules::{applies, R13, R16};

/// A write that was sent and whose outcome is not settled yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Unsettled {
    pub(super) req: WriteRequest,
    /// Send time of the first attempt: if any attempt landed, it landed after this.
    pub(super) first_sent: Mono,
    /// The answer was lost or refused: read the item back before doing anything else.
    pub(super) needs_check: bool,
    /// A read showed the item unchanged: the same request (same token) may be sent again.
    pub(super) resend: bool,
}

impl LeaseCore {
    /// A write whose fate is unknown comes first: read it back, or send it again.
    pub(super) fn unsettled_step(&mut self, now: Mono) -> Option<Step> {
        let p = self.unsettled.as_ref()?;
        if p.needs_check {
            return Some(self.when_due(now, self.pacing.not_before, Step::READ));
        }
        // R16 (revert: an acquire is resent whether or not we still want the lease).
        if p.resend && p.req.kind.changes_owner() && !self.wants_to_hold() && applies(R16) {
            // Became ineligible (or is shutting down) since: do not resend. If the first
            // attempt lands after all, a read shows the item held by us and we release it.
            self.unsettled = None;
        } else if p.resend {
            let req = p.req.clone();
            // A release is resent only once every window granted since has ended, like
            // its first attempt.
            let at = if req.kind == WriteKind::Release {
                self.release_not_before()
            } else {
                self.pacing.not_before
            };
            return Some(self.write_when_due(now, at, req));
        }
        None
    }

    /// After a read: did the write whose answer we lost land?
    pub(super) fn resolve_unsettled(&mut self, now: Mono) {
        let Some(p) = self.unsettled.take() else {
            return;
        };
        let stored = self.known.record();
        if stored.and_then(|r| r.version.as_deref()) == Some(p.req.new.version.as_str()) {
            self.write_landed(&p.req, p.first_sent, p.first_sent, now);
            return;
        }
        // A decision is good for one lease at most: past that, the item may have changed and
        // been restored to what we expected, and the resend would land on the copy.
        // R13 (revert: resent however long ago the first attempt was).
        let fresh = now.since(p.first_sent) <= self.cfg.timing.lease_duration || !applies(R13);
        if p.needs_check && fresh && LeaseRecord::satisfies(stored, &p.req.expect) {
            // Nothing changed, so the write did not land (yet). Send the very same request
            // again: if the first attempt is still in flight, only one of them can land.
            self.unsettled = Some(Unsettled {
                needs_check: false,
                resend: true,
                ..p
            });
        }
    }

    pub(super) fn mark_unsettled(&mut self, req: &WriteRequest, first_sent: Mono) {
        self.unsettled = Some(Unsettled {
            req: req.clone(),
            first_sent,
            needs_check: true,
            resend: false,
        });
    }
}
