//! The lease's timing, and every relation between its parts, validated in one place.
//!
//! The config layer parses into a [`Timing`] and calls [`Timing::validate`]; the lease core
//! takes it as given; the simulation draws its scenarios from the same ranges and checks
//! them with the same function. A relation added here is enforced everywhere at once.

use std::time::Duration;

use crate::duration::format_duration;
use crate::rules::{applies, R26, R8};

/// How often the lease is renewed and checked, and how long it lasts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timing {
    /// Renew / check period (Admiral's `waitTimeInSeconds`).
    pub interval: Duration,
    /// How long a version must stay unchanged before a candidate takes it over
    /// (interval x failure threshold).
    pub lease_duration: Duration,
    /// How long the holder stays active after the send time of its last successful write.
    pub renew_deadline: Duration,
    /// After acquiring, wait this long and re-read before answering active. Zero: off.
    pub confirm_delay: Duration,
    /// The longest lease any pod of this lease may be holding by (`--longest-lease`): every
    /// version is timed by at least this. Settings differ between pods during a rolling
    /// change of the interval or threshold, and a pod that never read the holder's declared
    /// lease (it started after the item was deleted, recreated or restored) cannot know it.
    /// At least `lease_duration`; equal to it when not set.
    pub longest_lease: Duration,
}

/// A timing relation that does not hold, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error("interval {} is out of range; use between {} and {}", format_duration(*.0), format_duration(Timing::MIN_INTERVAL), format_duration(Timing::MAX_INTERVAL))]
    Interval(Duration),
    #[error("renew deadline {} must be below the lease duration {} (interval {} x failure threshold {}) with 1% to spare for clock drift: at most {}", format_duration(*.deadline), format_duration(*.lease), format_duration(*.interval), .lease.as_nanos() / .interval.as_nanos().max(1), format_duration(*.max))]
    RenewDeadlineTooLong {
        deadline: Duration,
        lease: Duration,
        interval: Duration,
        max: Duration,
    },
    #[error("renew deadline {} must be at least the interval {} (the active renews every interval, or every half deadline if that is shorter)", format_duration(*.deadline), format_duration(*.interval))]
    RenewDeadlineTooShort {
        deadline: Duration,
        interval: Duration,
    },
    #[error("confirm delay {} must be shorter than half the renew deadline ({}), or a new owner would spend its lease waiting", format_duration(*.delay), format_duration(*.half_deadline))]
    ConfirmDelayTooLong {
        delay: Duration,
        half_deadline: Duration,
    },
    #[error("longest lease {} must be at least this pod's own lease duration {} and at most 24h: it is the longest lease any pod of this lease uses (during a rolling change, the longer of the old and new interval x threshold)", format_duration(*.longest), format_duration(*.lease))]
    LongestLease { longest: Duration, lease: Duration },
}

impl Timing {
    pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
    pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
    /// The renew deadline may be at most this share of the lease duration: the holder's
    /// clock may run up to 0.4% slower than a candidate's (the simulation's drift), and
    /// the 1% left over keeps its deadline before any candidate's takeover.
    pub const MAX_DEADLINE_SHARE: f64 = 0.99;
    /// Store calls never take longer than this, whatever the interval.
    pub const MAX_CALL_TIMEOUT: Duration = Duration::from_secs(5);

    /// Checks every relation the lease's safety and liveness rest on:
    /// - `MIN_INTERVAL <= interval <= MAX_INTERVAL`;
    /// - `interval <= renew deadline <= 99% of the lease duration`: below the interval the
    ///   holder could not renew in time; above 99% clock drift could let its validity
    ///   outlast a candidate's wait;
    /// - `confirm delay < renew deadline / 2`, or a new owner would spend its lease waiting;
    /// - `lease duration <= longest lease <= 24 h`: a candidate times a version by the
    ///   longest lease any pod could be timing it by, which is never shorter than its own.
    ///
    /// The call timeout ([`Timing::call_timeout`]) is at most half the renew deadline by
    /// construction, so a renewal started in time lands before the validity it extends.
    pub fn validate(&self) -> Result<(), TimingError> {
        if self.interval < Self::MIN_INTERVAL || self.interval > Self::MAX_INTERVAL {
            return Err(TimingError::Interval(self.interval));
        }
        let max = self.max_renew_deadline();
        // R26 (revert: any renew deadline is accepted, even past the lease).
        if self.renew_deadline > max && applies(R26) {
            return Err(TimingError::RenewDeadlineTooLong {
                deadline: self.renew_deadline,
                lease: self.lease_duration,
                interval: self.interval,
                max,
            });
        }
        if self.renew_deadline < self.interval {
            return Err(TimingError::RenewDeadlineTooShort {
                deadline: self.renew_deadline,
                interval: self.interval,
            });
        }
        let day = Duration::from_millis(crate::record::MAX_STORED_LEASE_DURATION_MS);
        if self.longest_lease < self.lease_duration || self.longest_lease > day {
            return Err(TimingError::LongestLease {
                longest: self.longest_lease,
                lease: self.lease_duration,
            });
        }
        if self.confirm_delay >= self.renew_deadline / 2 {
            return Err(TimingError::ConfirmDelayTooLong {
                delay: self.confirm_delay,
                half_deadline: self.renew_deadline / 2,
            });
        }
        Ok(())
    }

    /// The longest renew deadline [`Timing::validate`] accepts.
    pub fn max_renew_deadline(&self) -> Duration {
        self.lease_duration.mul_f64(Self::MAX_DEADLINE_SHARE)
    }

    /// The longest any single store call may take: short enough that a call started while
    /// active cannot outlive the renew deadline, and never absurdly long.
    pub fn call_timeout(&self) -> Duration {
        self.interval
            .min(self.renew_deadline / 2)
            .min(Self::MAX_CALL_TIMEOUT)
    }

    /// How long a shutdown may take, from the signal to the exit: the release, and the
    /// heartbeat's deletion beside it. Two calls' worth, well inside Kubernetes' grace period.
    pub fn release_deadline(&self) -> Duration {
        self.call_timeout() * 2
    }

    /// How often the holder renews. Normally the interval; with a renew deadline under two
    /// intervals, half the deadline, so that a renewal (a call is bounded by half the
    /// deadline) lands before the validity it extends runs out. Renewing more often never
    /// weakens safety: it only changes the version more often.
    pub fn renew_period(&self) -> Duration {
        if !applies(R8) {
            // R8 (revert: renew every interval, however close the deadline).
            return self.interval;
        }
        self.interval.min(self.renew_deadline / 2)
    }

    /// How soon a failed call is retried while the outcome matters (holding, or a write
    /// whose fate is unknown). Quick, so a blip does not cost the lease.
    pub fn quick_retry(&self) -> Duration {
        (self.interval / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(interval_ms: u64, lease_ms: u64, deadline_ms: u64, confirm_ms: u64) -> Timing {
        Timing {
            interval: Duration::from_millis(interval_ms),
            lease_duration: Duration::from_millis(lease_ms),
            renew_deadline: Duration::from_millis(deadline_ms),
            confirm_delay: Duration::from_millis(confirm_ms),
            longest_lease: Duration::from_millis(lease_ms),
        }
    }

    #[test]
    fn every_relation_is_checked() {
        assert_eq!(timing(1000, 3000, 2000, 0).validate(), Ok(()));
        assert!(matches!(
            timing(5, 3000, 2000, 0).validate(),
            Err(TimingError::Interval(_))
        ));
        assert!(matches!(
            timing(1000, 3000, 2980, 0).validate(),
            Err(TimingError::RenewDeadlineTooLong { .. })
        ));
        assert!(matches!(
            timing(1000, 3000, 900, 0).validate(),
            Err(TimingError::RenewDeadlineTooShort { .. })
        ));
        assert!(matches!(
            timing(1000, 3000, 2000, 1000).validate(),
            Err(TimingError::ConfirmDelayTooLong { .. })
        ));
        let mut shorter = timing(1000, 3000, 2000, 0);
        shorter.longest_lease = Duration::from_millis(2999);
        assert!(matches!(
            shorter.validate(),
            Err(TimingError::LongestLease { .. })
        ));
        let mut beyond_a_day = timing(1000, 3000, 2000, 0);
        beyond_a_day.longest_lease = Duration::from_secs(24 * 3600 + 1);
        assert!(matches!(
            beyond_a_day.validate(),
            Err(TimingError::LongestLease { .. })
        ));
    }

    #[test]
    fn a_call_never_outlives_half_the_deadline() {
        let t = timing(1000, 2000, 1000, 0);
        assert_eq!(t.call_timeout(), Duration::from_millis(500));
        assert_eq!(t.renew_period(), Duration::from_millis(500));
        assert_eq!(t.release_deadline(), Duration::from_secs(1));
        let slow = timing(60_000, 180_000, 120_000, 0);
        assert_eq!(slow.call_timeout(), Timing::MAX_CALL_TIMEOUT);
    }
}
