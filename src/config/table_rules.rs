//! What the table is, and the rules that follow (docs/regions.md, *Across regions*): read from its
//! description (`DescribeTable`) at start, or stated by hand with `--table-mode`; checked
//! against the region settings; the settings it implies filled in. Never a silent fall
//! back to one-region rules: a description that cannot be read stops the start.

use std::time::Duration;

use super::resolver::{own_key, Resolver};
use super::table_facts::field;
pub use super::table_facts::{Mode, TableRules, ASSUMED_LAG};
use super::{file, parse, parse_positive_duration, ConfigError, Settings, Source};
use crate::store::dynamodb::describe::{describe_shape, Consistency, TableShape};
use crate::store::dynamodb::Connection;
use crate::store::StoreError;
use crate::sys::duration::format_duration;

/// How often a running sidecar reads the description again (one `DescribeTable`).
pub const REREAD_EVERY: Duration = Duration::from_secs(300);

/// `--table-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableMode {
    /// Read the table's description.
    Auto,
    /// Every pod writes the same region's replica (the other replicas are for DR).
    OneWriteRegion,
    Mrec,
    Mrsc,
}

/// `--table-mode`, `--accept-outside-rule` and `--table-reread`.
#[derive(Clone, Debug)]
pub struct TableSettings {
    /// Read the table's description (auto), or the mode stated by hand.
    pub mode: TableMode,
    /// Start where the promise is outside its rule, and say so.
    pub accept_outside_rule: bool,
    /// How often a running sidecar reads the description again.
    pub reread: Duration,
}

pub(super) fn resolve_table_mode(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
) -> Result<TableSettings, ConfigError> {
    let mode = r.setting_or(
        "table-mode",
        &r.cli.table_mode,
        own_key("tableMode", own.and_then(|o| o.table_mode.as_ref())),
        |raw| match raw.text.trim() {
            "auto" => Ok(TableMode::Auto),
            "one-write-region" => Ok(TableMode::OneWriteRegion),
            "mrec" => Ok(TableMode::Mrec),
            "mrsc" => Ok(TableMode::Mrsc),
            other => Err(ConfigError::new(
                &raw.name,
                format!(
                    "'{other}' is not a table mode: use auto (read the table's description), \
                     one-write-region, mrec or mrsc"
                ),
            )),
        },
        |m| {
            match m {
                TableMode::Auto => "auto",
                TableMode::OneWriteRegion => "one-write-region",
                TableMode::Mrec => "mrec",
                TableMode::Mrsc => "mrsc",
            }
            .to_string()
        },
        TableMode::Auto,
    )?;
    let accept = r.setting_or(
        "accept-outside-rule",
        &r.cli.accept_outside_rule,
        own.and_then(|o| o.accept_outside_rule)
            .map(|b| ("drlease.acceptOutsideRule".to_string(), b.to_string())),
        parse::on_off,
        bool::to_string,
        false,
    )?;
    let reread = r.setting_or(
        "table-reread",
        &r.cli.table_reread,
        None,
        |raw| {
            let d = parse_positive_duration(raw, "table re-read period")?;
            if d < Duration::from_secs(1) {
                return Err(ConfigError::new(
                    &raw.name,
                    "the table re-read period must be at least 1s (default 5m)",
                ));
            }
            Ok(d)
        },
        |d| format_duration(*d),
        REREAD_EVERY,
    )?;
    Ok(TableSettings {
        mode,
        accept_outside_rule: accept,
        reread,
    })
}

/// Why the rules are not settled.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The description could not be read: the store's answer, and what to tell the operator.
    #[error("{1}")]
    Unread(StoreError, ConfigError),
    /// The settings do not fit the table.
    #[error(transparent)]
    Refused(#[from] ConfigError),
}

/// Reads the description (unless the mode is stated by hand) and settles the rules. A
/// throttled or unavailable read is tried three times.
pub async fn read_table_rules(
    settings: &mut Settings,
    conn: &Connection,
    table: &str,
) -> Result<TableRules, RulesError> {
    if settings.table_mode.mode != TableMode::Auto {
        return Ok(settle(settings, None)?);
    }
    let mut attempt = 0;
    let shape = loop {
        attempt += 1;
        match describe_shape(conn, table).await {
            Ok(shape) => break shape,
            Err(StoreError::Throttled(_) | StoreError::Unavailable(_) | StoreError::Timeout(_))
                if attempt < 3 =>
            {
                tokio::time::sleep(Duration::from_millis(500) * attempt).await;
            }
            Err(e) => {
                let message = unreadable(table, &conn.region, &e);
                return Err(RulesError::Unread(e, message));
            }
        }
    };
    Ok(settle(settings, Some(shape))?)
}

/// The error when the description cannot be read: the permission, and the way around it.
pub fn unreadable(table: &str, region: &str, e: &StoreError) -> ConfigError {
    ConfigError::new(
        "--table-mode auto",
        format!(
            "cannot read the description of table '{table}' in {region} ({e}); drlease reads \
             it (permission dynamodb:DescribeTable) to learn whether the table is global and \
             which regions replicate it, and does not guess one region. Grant \
             dynamodb:DescribeTable on the table to this pod's role (deploy/aws/\
             iam-policy-sidecar.json), or state the mode by hand: --table-mode \
             one-write-region, mrec (with --peer-regions) or mrsc (file: drlease.tableMode)"
        ),
    )
}

/// The rules for `shape` (or the mode stated by hand when `None`), filling in the peer
/// regions from the table when none are given.
pub fn settle(
    settings: &mut Settings,
    shape: Option<TableShape>,
) -> Result<TableRules, ConfigError> {
    let mode = match (&shape, settings.table_mode.mode) {
        (Some(s), _) => match s.consistency {
            Consistency::OneRegion => Mode::OneRegion,
            Consistency::Eventual => Mode::Mrec,
            Consistency::Strong => Mode::Mrsc,
        },
        (None, TableMode::OneWriteRegion) => Mode::OneWriteRegion,
        (None, TableMode::Mrec) => Mode::Mrec,
        (None, TableMode::Mrsc) => Mode::Mrsc,
        (None, TableMode::Auto) => {
            return Err(ConfigError::new(
                "--table-mode",
                "the table's description was not read: state the mode by hand",
            ))
        }
    };
    let mut rules = TableRules {
        mode,
        shape,
        from_table: Vec::new(),
        outside_rule: None,
        notes: Vec::new(),
    };
    let peers_given = given(settings, "peer-regions");
    match mode {
        Mode::OneRegion => {
            if !settings.timing.confirm_delay.is_zero() {
                rules.notes.push(
                    "the confirm delay is not needed on this table (it has no replica in \
                     another region): it only delays each new tenure"
                        .into(),
                );
            }
            if peers_given {
                rules.notes.push(format!(
                    "peerRegions ({}) does nothing on this table: it has no replica in another \
                     region (left in force: one read of region marks per renewal)",
                    settings.peer_regions.join(",")
                ));
            }
        }
        Mode::OneWriteRegion => {
            if peers_given {
                return Err(ConfigError::new(
                    field(settings, "peer-regions", "peerRegions"),
                    "--table-mode one-write-region says every pod writes this region's replica, \
                     so there are no peer regions: drop peerRegions, or use --table-mode mrec",
                ));
            }
        }
        Mode::Mrec => super::table_mrec::mrec(settings, peers_given, &mut rules)?,
        Mode::Mrsc => rules.notes.push(format!(
            "the table is multi-Region strongly consistent (MRSC): conditional writes are \
             linearizable across its regions, so no region marks and no confirm delay are \
             needed{}",
            if peers_given || !settings.timing.confirm_delay.is_zero() {
                " (the peerRegions / confirmDelay given are left in force; they only cost reads \
                 and delay)"
            } else {
                ""
            }
        )),
    }
    Ok(rules)
}

/// Whether setting `id` was given (flag, environment or file).
pub(super) fn given(settings: &Settings, id: &str) -> bool {
    settings
        .provenance
        .iter()
        .any(|(k, _, s)| *k == id && !matches!(s, Source::Default | Source::Table))
}
