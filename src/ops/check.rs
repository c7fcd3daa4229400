//! `drlease check-config`: with access to the table, what the table is and the rules that
//! follow, as `run` would settle them at start.

use std::time::Duration;

use crate::config::region_name::check_region;
use crate::config::table_rules::{read_table_rules, settle, RulesError, TableMode, TableRules};
use crate::config::{ConfigError, Settings, StoreKind};
use crate::store::dynamodb::connect;

/// What `check-config` found of the table.
pub enum TableCheck {
    /// The memory store: no table.
    NoTable,
    /// The table could not be reached or described: why (`run` would refuse to start).
    Unread(String),
    Rules(TableRules),
}

/// Settles the table's rules into `settings` as `run` does; a refusal is an error, a table
/// that cannot be reached is said, not an error (check-config also runs without access).
pub async fn table(settings: &mut Settings) -> Result<TableCheck, ConfigError> {
    if settings.store != StoreKind::DynamoDb {
        return Ok(TableCheck::NoTable);
    }
    if settings.table_mode.mode != TableMode::Auto {
        return settle(settings, None).map(TableCheck::Rules);
    }
    let Some(table) = settings.table.clone() else {
        return Ok(TableCheck::NoTable);
    };
    let conn = match connect(&settings.connect_options(Duration::from_secs(3), 1)).await {
        Ok(conn) => conn,
        Err(e) => return Ok(TableCheck::Unread(e)),
    };
    check_region(&conn.region).map_err(|e| ConfigError::new("region", e))?;
    settings.region = Some(conn.region.clone());
    match read_table_rules(settings, &conn, &table).await {
        Ok(rules) => Ok(TableCheck::Rules(rules)),
        Err(RulesError::Unread(_, e)) => Ok(TableCheck::Unread(e.message)),
        Err(RulesError::Refused(e)) => Err(e),
    }
}

/// What `status` says of the table: its mode and regions as the description says, and
/// what the settings given here would become on it (or why a sidecar would refuse them).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TableSummary {
    /// `one-region`, `one-write-region`, `mrec` or `mrsc`; null when not read.
    pub mode: Option<&'static str>,
    pub replica_regions: Vec<String>,
    pub witness: Option<String>,
    /// The peer regions with these settings, and those taken from the table.
    pub peer_regions: Vec<String>,
    pub from_table: Vec<String>,
    /// Why the description could not be read, or why a sidecar with these settings
    /// would refuse to start, or what it would warn about.
    pub notes: Vec<String>,
}

/// The table's mode for `status`, read with the operator's connection.
pub async fn summary(
    settings: &Settings,
    conn: &crate::store::dynamodb::Connection,
) -> TableSummary {
    let mut settings = settings.clone();
    settings.region = Some(conn.region.clone());
    let table = settings.table.clone().unwrap_or_default();
    match read_table_rules(&mut settings, conn, &table).await {
        Ok(rules) => TableSummary {
            mode: Some(rules.mode.as_str()),
            replica_regions: rules
                .shape
                .as_ref()
                .map(|s| s.replicas.clone())
                .unwrap_or_default(),
            witness: rules.shape.as_ref().and_then(|s| s.witness.clone()),
            peer_regions: settings.peer_regions.clone(),
            from_table: rules
                .from_table
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            notes: rules
                .notes
                .iter()
                .chain(&rules.outside_rule)
                .cloned()
                .collect(),
        },
        Err(e) => TableSummary {
            notes: vec![e.to_string()],
            ..Default::default()
        },
    }
}
