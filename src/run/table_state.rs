//! The table as the sidecar found it at start, as `/role` shows it: apart from the re-read
//! task (table_watch.rs), so that what publishes the role needs nothing of that task.

use std::sync::Mutex;

use serde::Serialize;

use crate::config::table_rules::TableRules;

/// What `/role` says of the table.
#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    /// `one-region`, `one-write-region`, `mrec` or `mrsc`.
    pub mode: &'static str,
    /// The table's replica regions as read at start (empty when stated by hand).
    pub replica_regions: Vec<String>,
    /// The other regions whose marks this pod reads.
    pub peer_regions: Vec<String>,
    /// Why the promise is outside its rule (accepted with `--accept-outside-rule`).
    pub outside_rule: Option<String>,
    /// What changed in the table since start: restart the pods to follow it.
    pub changed: Option<String>,
}

/// Shared between the re-read task and the HTTP handlers.
#[derive(Debug)]
pub struct TableState {
    report: Mutex<TableReport>,
}

impl TableState {
    pub fn new(rules: &TableRules, peer_regions: &[String]) -> TableState {
        TableState {
            report: Mutex::new(report_of(rules, peer_regions)),
        }
    }

    /// Before the description is read (the table missing, or its endpoint unreachable).
    pub fn unread(peer_regions: &[String]) -> TableState {
        TableState {
            report: Mutex::new(TableReport {
                mode: "unread",
                replica_regions: Vec::new(),
                peer_regions: peer_regions.to_vec(),
                outside_rule: None,
                changed: None,
            }),
        }
    }

    pub fn report(&self) -> TableReport {
        self.report
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut TableReport)) {
        if let Ok(mut r) = self.report.lock() {
            f(&mut r);
        }
    }
}

pub(crate) fn report_of(rules: &TableRules, peer_regions: &[String]) -> TableReport {
    TableReport {
        mode: rules.mode.as_str(),
        replica_regions: rules
            .shape
            .as_ref()
            .map(|s| s.replicas.clone())
            .unwrap_or_default(),
        peer_regions: peer_regions.to_vec(),
        outside_rule: rules.outside_rule.clone(),
        changed: None,
    }
}
