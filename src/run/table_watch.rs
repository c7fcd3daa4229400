//! The table as the sidecar found it at start, and the re-read of its description while
//! it runs (every `--table-reread`, 5 minutes by default: one `DescribeTable`). A table
//! changed under a running fleet (a replica added or removed, another mode) is logged once,
//! shown in `/role` and `drlease_table_changed`; the pod keeps the rules it started with
//! until it is restarted (docs/regions.md, *Across regions*).

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::config::table_rules::settle;
use crate::config::table_rules::unreadable;
use crate::config::Settings;
use crate::lease::StoreError;
use crate::run::metrics::Metrics;
use crate::run::table_state::report_of;
pub use crate::run::table_state::TableState;
use crate::store::dynamodb::describe::{describe_shape, Consistency, TableShape};
use crate::store::dynamodb::{Connection, DynamoStore};

/// Where the re-read task reads, and what it compares with.
pub struct Reread {
    pub conn: Connection,
    pub table: String,
    pub state: Arc<TableState>,
    pub metrics: Arc<Metrics>,
    pub period: Duration,
    /// This pod runs with a confirm delay (the rules across regions can hold).
    pub confirm_delay: bool,
}

/// The description could not be read at start for a reason that may pass (the table not
/// there yet, the endpoint unreachable, throttling): the pod runs passive, its lease calls
/// held back by the store, and reads it again every `every`. Once read, the rules are
/// settled as at start: if they are the ones the pod started with, the lease calls go
/// through and the re-read continues as usual; if not (peer regions taken from the table,
/// or a refusal), the process exits with the reason, having held nothing, so that its
/// restart takes them.
pub async fn settle_later(w: Reread, mut settings: Settings, store: DynamoStore, every: Duration) {
    let shape = loop {
        tokio::time::sleep(every).await;
        match describe_shape(&w.conn, &w.table).await {
            Ok(shape) => break shape,
            // A refused permission does not pass by waiting: stop, as at start.
            Err(e @ StoreError::Auth(_)) => {
                error!(error = %unreadable(&w.table, &w.conn.region, &e), "the pod exits, having held nothing");
                std::process::exit(1);
            }
            Err(e) => store.hold_back(Some(e)),
        }
    };
    let started_with = settings.peer_regions.clone();
    match settle(&mut settings, Some(shape.clone())) {
        Ok(rules) if settings.peer_regions == started_with => {
            for note in rules.notes.iter().chain(&rules.outside_rule) {
                warn!("{note}");
            }
            info!(mode = rules.mode.as_str(), replica_regions = %shape.replicas.join(","), "the table's description is read: the lease calls go through");
            w.metrics.set_outside_rule(rules.outside_rule.is_some());
            w.state.update(|r| *r = report_of(&rules, &started_with));
            store.hold_back(None);
            run(w, shape).await
        }
        Ok(_) => {
            error!(
                "the table's description, read now, gives the peer regions [{}], not the [{}] this pod started with: it exits (having held nothing) so that its restart takes them",
                settings.peer_regions.join(","),
                started_with.join(",")
            );
            std::process::exit(1);
        }
        Err(e) => {
            error!(error = %e, "the table's description, read now, refuses these settings: the pod exits, having held nothing");
            std::process::exit(2);
        }
    }
}

/// A table that became multi-Region eventually consistent under a pod started without a
/// confirm delay (it kept its one-region rules): the promise is outside its rule until
/// the pods are restarted, and they must be given a confirm delay first, or the restart
/// is refused. Says so in `/role`, the metric and the change's words.
fn with_outside_rule(
    what: String,
    now: &TableShape,
    confirm_delay: bool,
    metrics: &Metrics,
    state: &TableState,
) -> String {
    let became_mrec =
        now.consistency == Consistency::Eventual && state.report().mode == "one-region";
    if !became_mrec || confirm_delay {
        return what;
    }
    let why = "the table is now multi-Region eventually consistent and this pod runs with a confirm delay of 0 (one-region rules): two pods may both answer active after a failover until every pod runs with a confirmDelay of more than twice the replication lag";
    metrics.set_outside_rule(true);
    state.update(|r| r.outside_rule = Some(why.to_string()));
    format!("{what}; {why}: set confirmDelay on every pod before restarting them (a restart with a confirm delay of 0 is refused on such a table)")
}

/// How the table differs from the one at start, in words; `None` when it does not.
pub fn difference(start: &TableShape, now: &TableShape) -> Option<String> {
    if start.consistency == now.consistency && start.replicas == now.replicas {
        return None;
    }
    Some(format!(
        "the table changed since this pod started: its replica regions were [{}] ({:?}), now \
         [{}] ({:?})",
        start.replicas.join(","),
        start.consistency,
        now.replicas.join(","),
        now.consistency
    ))
}

/// Re-reads the description every `period` until the process ends. A change is logged
/// once (and again only if the table changes once more); a failed read is logged once per
/// run of failures: the rules stay the ones the pod started with either way.
pub async fn run(w: Reread, start: TableShape) {
    let Reread {
        conn,
        table,
        state,
        metrics,
        period,
        confirm_delay,
    } = w;
    let mut last_change: Option<String> = None;
    let mut failing = false;
    loop {
        tokio::time::sleep(period).await;
        let now = match describe_shape(&conn, &table).await {
            Ok(now) => now,
            Err(e) => {
                if !failing {
                    warn!(error = %e, table = %table, "cannot re-read the table's description (dynamodb:DescribeTable); this pod keeps the rules it started with");
                }
                failing = true;
                continue;
            }
        };
        if failing {
            info!(table = %table, "the table's description is readable again");
            failing = false;
        }
        let change = difference(&start, &now)
            .map(|what| with_outside_rule(what, &now, confirm_delay, &metrics, &state));
        if change != last_change {
            match &change {
                Some(what) => warn!(
                    "{what}; this pod keeps the rules it started with (peer regions [{}]) until it is restarted: restart every pod of the lease (e.g. kubectl rollout restart), so each takes the table as it is now",
                    state.report().peer_regions.join(",")
                ),
                None => info!(table = %table, "the table is again as it was when this pod started"),
            }
            metrics.set_table_changed(change.is_some());
            state.update(|r| r.changed = change.clone());
            last_change = change;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dynamodb::describe::Consistency;

    fn shape(replicas: &[&str]) -> TableShape {
        TableShape {
            consistency: if replicas.len() > 1 {
                Consistency::Eventual
            } else {
                Consistency::OneRegion
            },
            replicas: replicas.iter().map(|r| r.to_string()).collect(),
            witness: None,
            version: None,
            unsettled: Vec::new(),
        }
    }

    #[test]
    fn a_replica_added_or_removed_is_a_change_and_a_status_is_not() {
        let two = shape(&["us-east-1", "us-west-2"]);
        let three = shape(&["eu-west-1", "us-east-1", "us-west-2"]);
        assert!(difference(&two, &three).is_some_and(|d| d.contains("eu-west-1")));
        assert!(difference(&three, &two).is_some());
        let mut updating = two.clone();
        updating.unsettled = vec!["us-west-2 (UPDATING)".into()];
        assert_eq!(difference(&two, &updating), None);
    }
}
