//! Points on the monotonic clock the lease decisions are made on.
//!
//! Every lease deadline is a point on a monotonic clock that keeps counting while the host
//! is suspended (`CLOCK_BOOTTIME` on Linux); the binary reads it, the core only compares
//! and adds. The wall clock is never used for a decision: it can jump, and a clock that
//! stops during suspend would let a sleeping active wake up believing its lease is young.

use std::time::Duration;

/// A point on a monotonic clock, as the time elapsed since that clock's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mono(Duration);

impl Mono {
    pub const ZERO: Mono = Mono(Duration::ZERO);

    pub fn from_duration(since_origin: Duration) -> Self {
        Mono(since_origin)
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Mono) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    pub fn plus(self, d: Duration) -> Mono {
        Mono(self.0.saturating_add(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_saturates_instead_of_panicking() {
        let early = Mono::from_duration(Duration::from_secs(1));
        let late = Mono::from_duration(Duration::from_secs(3));
        assert_eq!(late.since(early), Duration::from_secs(2));
        assert_eq!(early.since(late), Duration::ZERO);
    }
}
