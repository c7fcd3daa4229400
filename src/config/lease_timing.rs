//! The timing settings: parsed here, their relations checked by [`Timing::validate`].

use std::time::Duration;

use super::{
    file, format_duration, parse_duration, parse_positive_duration, ConfigError, Resolver, Source,
    Timing, TimingError, DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL,
};

pub(super) fn resolve_timing(
    r: &mut Resolver<'_>,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<Timing, ConfigError> {
    // drlease.interval (a duration) wins over Admiral's waitTimeInSeconds (whole seconds).
    let interval_file = own
        .and_then(|o| o.interval.clone())
        .map(|v| ("drlease.interval".to_string(), v))
        .or_else(|| {
            admiral
                .and_then(|x| x.wait_time_in_seconds)
                .map(|n| ("dynamoDB.waitTimeInSeconds".to_string(), format!("{n}s")))
        });
    let interval_raw = r.pick(
        "interval",
        &r.cli.interval,
        interval_file.as_ref().map(|(k, v)| (k.as_str(), v.clone())),
    );
    let interval = match &interval_raw {
        Some(raw) => {
            let d = parse_positive_duration(raw, "interval")?;
            r.record("interval", format_duration(d), raw.source);
            d
        }
        None => {
            r.record(
                "interval",
                format_duration(DEFAULT_INTERVAL),
                Source::Default,
            );
            DEFAULT_INTERVAL
        }
    };

    let threshold_file = admiral
        .and_then(|x| x.failure_threshold)
        .map(|n| ("dynamoDB.failureThreshold", n.to_string()));
    let failure_threshold = match r.pick(
        "failure-threshold",
        &r.cli.failure_threshold,
        threshold_file,
    ) {
        Some(raw) => {
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
            r.record("failure-threshold", n.to_string(), raw.source);
            n as u32
        }
        None => {
            r.record(
                "failure-threshold",
                DEFAULT_FAILURE_THRESHOLD.to_string(),
                Source::Default,
            );
            DEFAULT_FAILURE_THRESHOLD
        }
    };
    let lease_duration = interval * failure_threshold;

    let renew_file = own
        .and_then(|o| o.renew_deadline.clone())
        .map(|v| ("drlease.renewDeadline", v));
    let renew_raw = r.pick("renew-deadline", &r.cli.renew_deadline, renew_file);
    let renew_deadline = match &renew_raw {
        Some(raw) => {
            let d = parse_positive_duration(raw, "renew deadline")?;
            r.record("renew-deadline", format_duration(d), raw.source);
            d
        }
        None => {
            let d = lease_duration - interval;
            r.record("renew-deadline", format_duration(d), Source::Default);
            d
        }
    };

    let confirm_file = own
        .and_then(|o| o.confirm_delay.clone())
        .map(|v| ("drlease.confirmDelay", v));
    let confirm_raw = r.pick("confirm-delay", &r.cli.confirm_delay, confirm_file);
    let confirm_delay = match &confirm_raw {
        Some(raw) => {
            let d = parse_duration(&raw.text)
                .map_err(|e| ConfigError::new(&raw.name, format!("confirm delay {e}")))?;
            r.record("confirm-delay", format_duration(d), raw.source);
            d
        }
        None => {
            r.record("confirm-delay", "0s".into(), Source::Default);
            Duration::ZERO
        }
    };
    let longest_file = own
        .and_then(|o| o.longest_lease.clone())
        .map(|v| ("drlease.longestLease", v));
    let longest_raw = r.pick("longest-lease", &r.cli.longest_lease, longest_file);
    let longest_lease = match &longest_raw {
        Some(raw) => {
            let d = parse_positive_duration(raw, "longest lease")?;
            r.record("longest-lease", format_duration(d), raw.source);
            d
        }
        None => {
            r.record(
                "longest-lease",
                format_duration(lease_duration),
                Source::Default,
            );
            lease_duration
        }
    };
    let timing = Timing {
        interval,
        lease_duration,
        renew_deadline,
        confirm_delay,
        longest_lease,
    };
    // Every relation is checked once, by Timing; the error names the setting to change.
    timing.validate().map_err(|e| {
        let (raw, flag) = match e {
            TimingError::Interval(_) => (&interval_raw, "--interval"),
            TimingError::RenewDeadlineTooLong { .. }
            | TimingError::RenewDeadlineTooShort { .. } => (&renew_raw, "--renew-deadline"),
            TimingError::ConfirmDelayTooLong { .. } => (&confirm_raw, "--confirm-delay"),
            TimingError::LongestLease { .. } => (&longest_raw, "--longest-lease"),
        };
        let field = raw
            .as_ref()
            .map_or(flag.to_string(), |raw| raw.name.clone());
        ConfigError::new(field, e.to_string())
    })?;
    Ok(timing)
}
