//! What the table's rules are made of, shared by the rules of each mode (table_rules.rs,
//! table_mrec.rs): the mode, the rules in force, the lag the confirm-delay rule assumes,
//! and how a setting is named in an error.

use std::time::Duration;

use super::{Settings, Source};
use crate::store::dynamodb::describe::TableShape;
use crate::sys::duration::format_duration;

/// The replication lag the confirm-delay rule assumes when it names a value: DynamoDB's
/// replication between regions is typically under a second (the table's
/// `ReplicationLatency` metric says what yours is).
pub const ASSUMED_LAG: Duration = Duration::from_secs(1);

/// What the sidecar runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    OneRegion,
    OneWriteRegion,
    Mrec,
    Mrsc,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::OneRegion => "one-region",
            Mode::OneWriteRegion => "one-write-region",
            Mode::Mrec => "mrec",
            Mode::Mrsc => "mrsc",
        }
    }
}

/// The rules in force, and where they came from.
#[derive(Clone, Debug)]
pub struct TableRules {
    pub mode: Mode,
    /// The description read at start; `None` when the mode was stated by hand.
    pub shape: Option<TableShape>,
    /// The settings whose effective value came from the table: (name, value).
    pub from_table: Vec<(&'static str, String)>,
    /// Why the promise is outside its rule, when the operator accepted that.
    pub outside_rule: Option<String>,
    /// What the operator should hear: settings not needed here, what the mode implies.
    pub notes: Vec<String>,
}

impl TableRules {
    /// `mode`, `replicas`, `from table`, one line each, for `check-config` and `status`.
    pub fn describe(&self, own: &str) -> Vec<(&'static str, String)> {
        let replicas = match &self.shape {
            Some(s) if s.is_legacy() => "not listed (a global table of version 2017.11.29)".into(),
            Some(s) => {
                let mut v = s.replicas.join(",");
                if let Some(w) = &s.witness {
                    v.push_str(&format!(" (witness {w})"));
                }
                if !s.unsettled.is_empty() {
                    v.push_str(&format!(" (not active: {})", s.unsettled.join(", ")));
                }
                v
            }
            None => "not read (mode stated by --table-mode)".into(),
        };
        let origin = if self.shape.is_some() {
            "from the table's description"
        } else {
            "stated by --table-mode"
        };
        let from = self
            .from_table
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        vec![
            ("table-mode", format!("{} ({origin})", self.mode.as_str())),
            (
                "replica-regions",
                format!(
                    "{replicas}; this pod: {}",
                    if own.is_empty() {
                        "the SDK's region"
                    } else {
                        own
                    }
                ),
            ),
            (
                "from-table",
                if from.is_empty() {
                    "nothing".into()
                } else {
                    from.join(" ")
                },
            ),
        ]
    }
}

/// How the user wrote setting `id`, for an error: the flag, the variable or the file key.
pub(super) fn field(settings: &Settings, id: &str, key: &str) -> String {
    match settings.provenance.iter().find(|(k, _, _)| *k == id) {
        Some((_, _, Source::Env)) => format!("DRLEASE_{}", id.to_uppercase().replace('-', "_")),
        Some((_, _, Source::File)) => format!("drlease.{key}"),
        Some((_, _, Source::Flag)) => format!("--{id}"),
        _ => format!("{key} (not set)"),
    }
}

pub(super) fn lag_rule() -> String {
    format!(
        "the rule is a confirmDelay of more than twice the replication lag (assuming a lag of \
         up to {}: more than {}; the table's ReplicationLatency metric says what yours is)",
        format_duration(ASSUMED_LAG),
        format_duration(ASSUMED_LAG * 2)
    )
}
