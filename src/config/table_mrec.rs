//! The rules of a multi-Region eventually consistent (MREC) table: the peer regions are
//! the table's other replica regions, the confirm delay is more than twice the lag, and
//! failback is refused.

use super::table_facts::{field, lag_rule, TableRules};
use super::{ConfigError, Settings, Source};

pub(super) fn mrec(
    settings: &mut Settings,
    peers_given: bool,
    rules: &mut TableRules,
) -> Result<(), ConfigError> {
    let own = settings.region.clone().unwrap_or_default();
    match rules.shape.as_ref().filter(|s| !s.is_legacy()) {
        Some(shape) => {
            let table_peers = shape.other_regions(&own);
            if peers_given {
                check_peers(settings, &own, &table_peers)?;
            } else {
                settings.peer_regions = table_peers.clone();
                let value = table_peers.join(",");
                for entry in settings.provenance.iter_mut() {
                    if entry.0 == "peer-regions" {
                        *entry = ("peer-regions", value.clone(), Source::Table);
                    }
                }
                rules.from_table.push(("peer-regions", value));
            }
        }
        None if settings.peer_regions.is_empty() => {
            let why = match &rules.shape {
                Some(_) => "the table is a global table of version 2017.11.29, whose description does not list its replicas",
                None => "--table-mode mrec is stated by hand, so the table's replicas are not read",
            };
            return Err(ConfigError::new(
                field(settings, "peer-regions", "peerRegions"),
                format!("{why}: list the table's other regions in peerRegions (comma separated)"),
            ));
        }
        None => {}
    }
    if settings.timing.confirm_delay.is_zero() {
        let rule = format!(
            "confirmDelay is 0 on a multi-Region eventually consistent (MREC) table: {}",
            lag_rule()
        );
        if !settings.table_mode.accept_outside_rule {
            return Err(ConfigError::new(
                field(settings, "confirm-delay", "confirmDelay"),
                format!(
                    "{rule}. Without it two regions can acquire at once and both answer active. \
                     Set confirmDelay (e.g. 2500ms); if every pod writes to one region's replica, \
                     say so with --table-mode one-write-region; or accept the promise outside its \
                     rule with --accept-outside-rule (file: drlease.acceptOutsideRule)"
                ),
            ));
        }
        rules.outside_rule = Some(format!(
            "{rule}; accepted by accept-outside-rule: two actives are possible after a double acquire"
        ));
    }
    if settings.affinity.failback_after.is_some() {
        return Err(ConfigError::new(
            field(settings, "failback-after", "failbackAfter"),
            "failback cannot work across the regions of an eventually consistent (MREC) \
             global table: its request is written to this region's replica, where the \
             holder's renewals in its own region overwrite it; drop failback-after, and move \
             the lease back with `drlease handover --to <pod>` run against the holder's region",
        ));
    }
    Ok(())
}

/// Given peer regions must be exactly the table's other replica regions.
fn check_peers(settings: &Settings, own: &str, table_peers: &[String]) -> Result<(), ConfigError> {
    let mut given = settings.peer_regions.clone();
    given.sort();
    if given == table_peers {
        return Ok(());
    }
    let missing: Vec<&str> = table_peers
        .iter()
        .filter(|r| !given.contains(r))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = given
        .iter()
        .filter(|r| !table_peers.contains(r))
        .map(String::as_str)
        .collect();
    let mut what = Vec::new();
    if !missing.is_empty() {
        what.push(format!("missing {}", missing.join(",")));
    }
    if !extra.is_empty() {
        what.push(format!("not a replica region: {}", extra.join(",")));
    }
    Err(ConfigError::new(
        field(settings, "peer-regions", "peerRegions"),
        format!(
            "peerRegions lists [{}] but the table's other replica regions (its description \
             read in {own}) are [{}] ({}): list exactly those, or leave peerRegions out to take \
             them from the table",
            settings.peer_regions.join(","),
            table_peers.join(","),
            what.join("; ")
        ),
    ))
}
