//! Region affinity: priority, automatic failback, observers.

use std::time::Duration;

use super::region_name::check_region;
use super::{file, format_duration, parse, parse_duration, ConfigError, Resolver};
use crate::lease::core::Affinity;

pub(super) fn resolve_affinity(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
) -> Result<Affinity, ConfigError> {
    let key = |k: &str, v: Option<String>| v.map(|v| (format!("drlease.{k}"), v));
    let priority = r.setting_or(
        "priority",
        &r.cli.priority,
        key("priority", own.and_then(|o| o.priority.map(|p| p.to_string()))),
        |raw| {
            raw.text.trim().parse::<i32>().map_err(|_| {
                ConfigError::new(
                    &raw.name,
                    format!(
                        "'{}' is not a priority; expected a whole number (higher is preferred, default 0)",
                        raw.text
                    ),
                )
            })
        },
        i32::to_string,
        0,
    )?;
    let failback_after = r.setting_or(
        "failback-after",
        &r.cli.failback_after,
        key("failbackAfter", own.and_then(|o| o.failback_after.clone())),
        |raw| {
            if raw.text.trim().eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            let d = parse_duration(&raw.text).map_err(|e| {
                ConfigError::new(&raw.name, format!("failback delay {e} (or 'off')"))
            })?;
            if d.is_zero() {
                return Err(ConfigError::new(
                    &raw.name,
                    "failback delay must be greater than zero: it is how long the preferred \
                         candidate must stay healthy first (use 'off' to turn failback off)",
                ));
            }
            Ok(Some(d))
        },
        |d: &Option<Duration>| d.map_or("off".to_string(), format_duration),
        None,
    )?;
    let never_acquire = r.setting_or(
        "never-acquire",
        &r.cli.never_acquire,
        key(
            "neverAcquire",
            own.and_then(|o| o.never_acquire.map(|b| b.to_string())),
        ),
        parse::on_off,
        bool::to_string,
        false,
    )?;
    if never_acquire && failback_after.is_some() {
        let source = if r.cli.never_acquire.is_some() {
            "--never-acquire"
        } else {
            "drlease.neverAcquire"
        };
        return Err(ConfigError::new(
            source,
            "an observer (never-acquire) never takes the lease, so it cannot fail back: \
             drop failback-after for this pod",
        ));
    }
    Ok(Affinity {
        priority,
        failback_after,
        never_acquire,
    })
}

/// Failback asks by writing a request onto the lease item in this region's replica. On a
/// multi-Region eventually consistent table the holder renews on its own replica, and the
/// latest write wins: the request is overwritten, or writes an older version back over a
/// renewal, and the holder then stops without releasing (nobody active for a lease). So
/// the two settings are refused together rather than failing back badly.
pub(super) fn refuse_failback_across_regions(
    r: &Resolver<'_>,
    affinity: &Affinity,
    peer_regions: &[String],
) -> Result<(), ConfigError> {
    if affinity.failback_after.is_none() || peer_regions.is_empty() {
        return Ok(());
    }
    let source = if r.cli.failback_after.is_some() {
        "--failback-after"
    } else {
        "drlease.failbackAfter"
    };
    Err(ConfigError::new(
        source,
        "failback cannot work across the regions of an eventually consistent global table \
         (peer-regions is set): its request is written to this region's replica, where the \
         holder's renewals in its own region overwrite it; drop failback-after, and move the \
         lease back with `drlease handover --to <pod>` run against the holder's region",
    ))
}

/// Region marks are for a multi-Region eventually consistent table, where a confirm delay
/// of more than twice the replication lag is what keeps a double acquire from answering
/// active; with none, the marks are set up on a table whose rule is broken from the start.
/// So peer regions without a confirm delay are refused (not warned about: docs/regions.md's
/// rollout gives the pods their confirm delay first and their peer regions second, so a
/// correct rollout never passes through this state, and a warning would sit in a log).
pub(super) fn refuse_peers_without_confirm_delay(
    r: &Resolver<'_>,
    own: Option<&file::DrleaseSection>,
    peer_regions: &[String],
    confirm_delay: Duration,
) -> Result<(), ConfigError> {
    if peer_regions.is_empty() || !confirm_delay.is_zero() {
        return Ok(());
    }
    let file = own
        .and_then(|o| o.peer_regions.clone())
        .map(|v| ("drlease.peerRegions".to_string(), v));
    let source = r
        .pick_owned("peer-regions", &r.cli.peer_regions, file)
        .map_or_else(|| "--peer-regions".to_string(), |raw| raw.name);
    Err(ConfigError::new(
        &source,
        format!(
            "peer regions ({}) are for a multi-Region eventually consistent global table, which \
             also needs a confirm delay of more than twice its replication lag, and confirmDelay \
             is 0: set --confirm-delay (file: drlease.confirmDelay), e.g. 1s for a lag of up to \
             400 ms, on every pod before their peer regions",
            peer_regions.join(",")
        ),
    ))
}

/// `--peer-regions`: the other regions of a multi-Region eventually consistent table.
pub(super) fn resolve_peer_regions(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
    region: Option<&str>,
) -> Result<Vec<String>, ConfigError> {
    let file = own
        .and_then(|o| o.peer_regions.clone())
        .map(|v| ("drlease.peerRegions".to_string(), v));
    r.setting_or(
        "peer-regions",
        &r.cli.peer_regions,
        file,
        |raw| {
            let mut peers: Vec<String> = Vec::new();
            for name in raw.text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                check_region(name).map_err(|e| {
                    ConfigError::new(
                        &raw.name,
                        format!("{e}; list the other regions of the global table, comma separated"),
                    )
                })?;
                if region == Some(name) {
                    return Err(ConfigError::new(
                        &raw.name,
                        format!("'{name}' is this pod's own region: list only the other regions"),
                    ));
                }
                if peers.iter().any(|p| p == name) {
                    return Err(ConfigError::new(
                        &raw.name,
                        format!("'{name}' is listed twice"),
                    ));
                }
                peers.push(name.to_string());
            }
            Ok(peers)
        },
        |peers: &Vec<String>| {
            if peers.is_empty() {
                "none".to_string()
            } else {
                peers.join(",")
            }
        },
        Vec::new(),
    )
}
