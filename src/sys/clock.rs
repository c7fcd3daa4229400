//! Elapsed time for lease decisions.
//!
//! Every lease deadline is a point on a monotonic clock that keeps counting while the host
//! is suspended (`CLOCK_BOOTTIME` on Linux). The wall clock is never used for a decision:
//! it can jump, and a clock that stops during suspend would let a sleeping active wake up
//! believing its lease is still young.

use std::time::Duration;

/// Wall-clock seconds since the Unix epoch: only for informational fields (`updatedTime`,
/// heartbeat times, ages shown to operators), never for a lease decision.
pub fn wall_secs() -> i64 {
    wall_ms() / 1000
}

/// Wall-clock milliseconds since the Unix epoch; see [`wall_secs`].
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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

/// Source of `Mono` time. The lease loop and the HTTP handlers must share one.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Mono;
}

/// `CLOCK_BOOTTIME`: monotonic, and counts time spent in suspend.
#[derive(Clone, Copy, Debug, Default)]
pub struct BootClock;

impl Clock for BootClock {
    fn now(&self) -> Mono {
        // On the vDSO, like the libc call; CLOCK_BOOTTIME exists on every Linux since 2.6.39.
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Mono(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_clock_never_goes_backwards() {
        let clock = BootClock;
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        assert!(a > Mono::ZERO);
    }

    #[test]
    fn since_saturates_instead_of_panicking() {
        let early = Mono::from_duration(Duration::from_secs(1));
        let late = Mono::from_duration(Duration::from_secs(3));
        assert_eq!(late.since(early), Duration::from_secs(2));
        assert_eq!(early.since(late), Duration::ZERO);
    }
}

/// A clock moved by hand, for tests of code that reads the time itself.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: std::sync::atomic::AtomicU64,
}

#[cfg(test)]
impl ManualClock {
    pub fn new(start: Duration) -> Self {
        ManualClock {
            nanos: std::sync::atomic::AtomicU64::new(start.as_nanos() as u64),
        }
    }

    pub fn advance(&self, d: Duration) {
        self.nanos
            .fetch_add(d.as_nanos() as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> Mono {
        Mono(Duration::from_nanos(
            self.nanos.load(std::sync::atomic::Ordering::SeqCst),
        ))
    }
}
