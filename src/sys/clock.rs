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

pub use drlease_core::clock::Mono;

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
        Mono::from_duration(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
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
        Mono::from_duration(Duration::from_nanos(
            self.nanos.load(std::sync::atomic::Ordering::SeqCst),
        ))
    }
}
