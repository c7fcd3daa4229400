//! The timing settings: parsed here, their relations checked by [`Timing::validate`].

use std::time::Duration;

use super::resolver::{own_key, Raw, Resolver};
use super::{
    file, format_duration, parse_duration, parse_positive_duration, ConfigError, Timing,
    TimingError, DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL,
};

pub(super) fn resolve_timing(
    r: &mut Resolver<'_>,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<Timing, ConfigError> {
    let cli = r.cli;
    let (interval, interval_name) = r.setting_or_named(
        "interval",
        &cli.interval,
        interval_file(admiral, own),
        |raw| parse_positive_duration(raw, "interval"),
        |d| format_duration(*d),
        DEFAULT_INTERVAL,
    )?;
    let failure_threshold = r.setting_or(
        "failure-threshold",
        &cli.failure_threshold,
        admiral
            .and_then(|x| x.failure_threshold)
            .map(|n| ("dynamoDB.failureThreshold".to_string(), n.to_string())),
        failure_threshold,
        u32::to_string,
        DEFAULT_FAILURE_THRESHOLD,
    )?;
    let lease_duration = interval * failure_threshold;
    let (renew_deadline, renew_name) = r.setting_or_named(
        "renew-deadline",
        &cli.renew_deadline,
        own_key("renewDeadline", own.and_then(|o| o.renew_deadline.as_ref())),
        |raw| parse_positive_duration(raw, "renew deadline"),
        |d| format_duration(*d),
        lease_duration - interval,
    )?;
    let (confirm_delay, confirm_name) = r.setting_or_named(
        "confirm-delay",
        &cli.confirm_delay,
        own_key("confirmDelay", own.and_then(|o| o.confirm_delay.as_ref())),
        |raw| {
            parse_duration(&raw.text)
                .map_err(|e| ConfigError::new(&raw.name, format!("confirm delay {e}")))
        },
        |d| format_duration(*d),
        Duration::ZERO,
    )?;
    let (longest_lease, longest_name) = r.setting_or_named(
        "longest-lease",
        &cli.longest_lease,
        own_key("longestLease", own.and_then(|o| o.longest_lease.as_ref())),
        |raw| parse_positive_duration(raw, "longest lease"),
        |d| format_duration(*d),
        lease_duration,
    )?;
    let timing = Timing {
        interval,
        lease_duration,
        renew_deadline,
        confirm_delay,
        longest_lease,
    };
    // Every relation is checked once, by Timing; the error names the setting to change.
    timing.validate().map_err(|e| {
        let (name, flag) = match e {
            TimingError::Interval(_) => (interval_name, "--interval"),
            TimingError::RenewDeadlineTooLong { .. }
            | TimingError::RenewDeadlineTooShort { .. } => (renew_name, "--renew-deadline"),
            TimingError::ConfirmDelayTooLong { .. } => (confirm_name, "--confirm-delay"),
            TimingError::LongestLease { .. } => (longest_name, "--longest-lease"),
        };
        ConfigError::new(name.unwrap_or_else(|| flag.to_string()), e.to_string())
    })?;
    Ok(timing)
}

/// drlease.interval (a duration) wins over Admiral's waitTimeInSeconds (whole seconds).
fn interval_file(
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Option<(String, String)> {
    own.and_then(|o| o.interval.clone())
        .map(|v| ("drlease.interval".to_string(), v))
        .or_else(|| {
            admiral
                .and_then(|x| x.wait_time_in_seconds)
                .map(|n| ("dynamoDB.waitTimeInSeconds".to_string(), format!("{n}s")))
        })
}

/// Admiral's `failureThreshold`: the lease is interval x threshold.
fn failure_threshold(raw: &Raw) -> Result<u32, ConfigError> {
    let n: i64 = raw.text.trim().parse().map_err(|_| {
        ConfigError::new(
            &raw.name,
            format!("failure threshold '{}' is not a whole number", raw.text),
        )
    })?;
    if !(2..=1000).contains(&n) {
        return Err(ConfigError::new(
            &raw.name,
            format!(
                "failure threshold must be between 2 and 1000, got {n} (the lease is \
                 interval x threshold; below 2 it would expire before the next renewal)"
            ),
        ));
    }
    Ok(n as u32)
}
