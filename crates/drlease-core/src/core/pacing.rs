//! When the core's next calls may go out: the cadence of routine reads and the back-off
//! after a failed call. Part of the state the rules decide on (R8, R13: when to read and
//! retry is when a holder renews and a candidate notices), kept apart from what a read
//! teaches (`observe.rs`) and from what is only reported (`diagnostics.rs`).
//!
//! [`Answers`] is the handler for how a store call went: it borrows the pacing and the
//! diagnostics, and nothing else, so the outcome of a call (answered, refused, failed)
//! cannot change what the core knows or holds; the callers decide that apart.

use super::diagnostics::Diagnostics;
use super::LeaseCore;
use crate::clock::Mono;
use crate::timing::Timing;
use crate::StoreError;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Pacing {
    /// The next routine read of the item.
    pub(super) next_read_at: Mono,
    /// Send time of the latest read of the item.
    pub(super) last_read_sent: Mono,
    /// No call before this: the back-off after a failed one (`Mono::ZERO` once a call
    /// was answered).
    pub(super) not_before: Mono,
    /// Send time of the latest read of the other regions' marks.
    pub(super) peer_marks_read: Option<Mono>,
}

/// The handler for how a store call went.
pub(super) struct Answers<'a> {
    timing: &'a Timing,
    pacing: &'a mut Pacing,
    diagnostics: &'a mut Diagnostics,
}

impl LeaseCore {
    /// The handler for how a store call went (borrowing only what it may change).
    pub(super) fn answers(&mut self) -> Answers<'_> {
        Answers {
            timing: &self.cfg.timing,
            pacing: &mut self.pacing,
            diagnostics: &mut self.diagnostics,
        }
    }

    /// A call failed or its answer was lost at `now`: back off. `urgent`: a write whose
    /// fate is unknown, or a holder's call, retried soon while its lease is still valid.
    pub(super) fn store_failed(&mut self, now: Mono, e: &StoreError, urgent: bool) {
        // Once a held lease has lapsed there is no deadline left to save: back off.
        let lapsed = matches!(&self.holding, Some(h) if now >= h.valid_until);
        self.answers().failed(now, e, urgent && !lapsed);
    }
}

impl Answers<'_> {
    /// The store answered, even if it refused: it is reachable.
    pub(super) fn reached(&mut self) {
        self.diagnostics.store_reachable = Some(true);
    }

    /// The store answered and did as asked: the back-off is over.
    pub(super) fn done(&mut self) {
        self.reached();
        self.pacing.not_before = Mono::ZERO;
    }

    /// The call failed: no call before a quick retry (`quick`) or an interval from `now`.
    fn failed(&mut self, now: Mono, e: &StoreError, quick: bool) {
        self.diagnostics.store_reachable = Some(false);
        self.diagnostics.last_error = Some(e.to_string());
        let delay = if quick {
            self.timing.quick_retry()
        } else {
            self.timing.interval
        };
        self.pacing.not_before = now.plus(delay);
    }
}
