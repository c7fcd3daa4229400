//! When the core's next calls may go out: the cadence of routine reads and the back-off
//! after a failed call. Part of the state the rules decide on (R8, R13: when to read and
//! retry is when a holder renews and a candidate notices), kept apart from what a read
//! teaches (`observe.rs`) and from what is only reported (`diagnostics.rs`).

use crate::clock::Mono;

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
