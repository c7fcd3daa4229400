//! `drlease status [--watch] [--output text|json]`.

use std::time::Duration;

use serde::Serialize;

use super::check::TableSummary;
use super::{read_lease, Output};
use crate::config::Settings;
use crate::lease::history::Change;
use crate::lease::{LeaseRecord, HANDOVER_ANY};
use crate::store::dynamodb::heartbeat::Heartbeat;
use crate::store::dynamodb::DynamoStore;
use crate::sys::clock::wall_ms;

#[derive(Serialize)]
struct Candidate {
    identity: String,
    region: String,
    role: String,
    eligible: bool,
    priority: i32,
    observer: bool,
    alive: bool,
    last_heartbeat_age_seconds: f64,
    session: String,
}

#[derive(Serialize)]
struct Status {
    lease: String,
    table: String,
    region: String,
    /// `held`, `released`, `frozen` or `absent`.
    state: &'static str,
    holder: Option<String>,
    /// The holder's priority as written in the item; null unless held.
    holder_priority: Option<i32>,
    epoch: Option<u64>,
    version: Option<String>,
    /// From the item's wall-clock `updatedTime`: informational only.
    last_renewal_age_seconds: Option<f64>,
    frozen: bool,
    handover_to: Option<String>,
    handover_from: Option<String>,
    /// The handover asked for or under way is a failback by priority.
    handover_is_failback: bool,
    candidates: Vec<Candidate>,
    candidates_error: Option<String>,
    /// The newest record of the failover history, when there is one.
    last_change: Option<Change>,
    /// Why there is none, or why it could not be read.
    last_change_note: Option<String>,
    /// What the table is (its description), and what these settings become on it.
    table_mode: super::check::TableSummary,
}

fn state_of(record: Option<&LeaseRecord>) -> &'static str {
    match record {
        None => "absent",
        Some(r) if r.is_frozen() => "frozen",
        Some(r) if r.is_released() => "released",
        Some(_) => "held",
    }
}

async fn gather(store: &DynamoStore, table_mode: &TableSummary) -> anyhow::Result<Status> {
    let record = read_lease(store).await?;
    let now = wall_ms();
    let (candidates, candidates_error) = match store.list_heartbeats().await {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let candidates = candidates
        .into_iter()
        .map(|h: Heartbeat| Candidate {
            alive: h.alive_at(now),
            last_heartbeat_age_seconds: now.saturating_sub(h.at_ms) as f64 / 1000.0,
            identity: h.identity,
            region: h.region,
            role: h.role,
            eligible: h.eligible,
            priority: h.priority,
            observer: h.observer,
            session: h.session,
        })
        .collect();
    let r = record.as_ref();
    let (last_change, last_change_note) = last_change(store, r).await;
    Ok(Status {
        last_change,
        last_change_note,
        lease: store.lease_name().to_string(),
        table: store.table_name().to_string(),
        region: store.connection().region.clone(),
        state: state_of(r),
        holder: r.map(|r| r.owner.clone()),
        holder_priority: r.filter(|r| r.is_held()).map(|r| r.priority()),
        epoch: r.and_then(|r| r.epoch),
        version: r.and_then(|r| r.version.clone()),
        last_renewal_age_seconds: r
            .and_then(|r| r.updated_time)
            .map(|t| now.saturating_sub(t.saturating_mul(1000)) as f64 / 1000.0),
        frozen: r.is_some_and(|r| r.is_frozen()),
        handover_to: r.and_then(|r| r.handover_to.clone()),
        handover_from: r.and_then(|r| r.handover_from.clone()),
        handover_is_failback: r.is_some_and(|r| r.handover_to.is_some() && r.is_failback()),
        candidates,
        candidates_error,
        table_mode: table_mode.clone(),
    })
}

/// The newest record of the failover history (one GetItem, a few more when the newest
/// change has none) and, when it is not the change that made the item's epoch, why. A
/// failure to read it is a note, not an error: status is about the lease.
async fn last_change(
    store: &DynamoStore,
    record: Option<&LeaseRecord>,
) -> (Option<Change>, Option<String>) {
    let Some(epoch) = record.and_then(|r| r.epoch) else {
        return (None, Some("no history recorded: no lease item yet".into()));
    };
    match crate::store::history::list(store, epoch, 1).await {
        Ok(l) => {
            let note = (l.entries.is_empty() || l.unrecorded_newest.is_some()).then(|| l.note());
            (l.entries.into_iter().next(), note)
        }
        Err(e) => (None, Some(format!("cannot read the failover history: {e}"))),
    }
}

fn print_text(s: &Status) {
    say!("lease      {} (table {}, {})", s.lease, s.table, s.region);
    let holder = match s.state {
        "absent" => "none: no lease item yet".to_string(),
        "frozen" => "none: FROZEN (SKIP-LEASE-POD); `drlease unfreeze` to resume".to_string(),
        "released" => "none: released".to_string(),
        _ => format!(
            "{} (priority {})",
            s.holder.clone().unwrap_or_default(),
            s.holder_priority.unwrap_or(0)
        ),
    };
    print_table(&s.table_mode);
    say!("holder     {holder}");
    if let Some(e) = s.epoch {
        say!("epoch      {e}");
    }
    if let Some(v) = &s.version {
        say!("version    {v}");
    }
    if let Some(age) = s.last_renewal_age_seconds {
        say!("renewed    {age:.1}s ago (by the writer's wall clock)");
    }
    let what = if s.handover_is_failback {
        "failback"
    } else {
        "handover"
    };
    match (&s.handover_to, s.state) {
        (Some(to), "held") => say!(
            "handover   {what} requested, to {}",
            if to == HANDOVER_ANY {
                "any other candidate"
            } else {
                to
            }
        ),
        (Some(to), "released") => say!(
            "handover   {what} in progress from {} to {}",
            s.handover_from.as_deref().unwrap_or("?"),
            if to == HANDOVER_ANY {
                "any other candidate"
            } else {
                to
            }
        ),
        _ => say!("handover   none"),
    }
    if let Some(c) = &s.last_change {
        say!("last change {}", super::history::headline(c, wall_ms()));
        say!("           {} (drlease history lists more)", c.reason);
    }
    match (&s.last_change, &s.last_change_note) {
        (None, Some(note)) => say!("last change {note}"),
        (Some(_), Some(note)) => say!("           {note}"),
        _ => {}
    }
    print_candidates(s);
}

/// The table's mode and regions, and what the settings given become on it.
fn print_table(t: &TableSummary) {
    if let Some(mode) = t.mode {
        let witness = t
            .witness
            .as_ref()
            .map_or(String::new(), |w| format!(", witness {w}"));
        say!(
            "table      {mode}: replica regions {}{witness}",
            t.replica_regions.join(",")
        );
        say!(
            "           peer regions {}{}",
            if t.peer_regions.is_empty() {
                "none".to_string()
            } else {
                t.peer_regions.join(",")
            },
            if t.from_table.is_empty() {
                String::new()
            } else {
                format!(" (from the table: {})", t.from_table.join(" "))
            }
        );
    }
    for note in &t.notes {
        say!("table      note: {note}");
    }
}

/// The candidates seen through their heartbeats, one line each.
fn print_candidates(s: &Status) {
    match &s.candidates_error {
        Some(e) => say!("candidates unknown: {e}"),
        None if s.candidates.is_empty() => {
            say!("candidates none seen (heartbeats are off, or no sidecar runs)")
        }
        None => {
            say!("candidates");
            say!(
                "  {:<28} {:<14} {:<20} {:<8} {:<6} LAST HEARTBEAT",
                "IDENTITY",
                "REGION",
                "ROLE",
                "PRIORITY",
                "ALIVE"
            );
            for c in &s.candidates {
                let role = if c.observer {
                    format!("{} (observer)", c.role)
                } else if c.eligible {
                    c.role.clone()
                } else {
                    format!("{} (ineligible)", c.role)
                };
                say!(
                    "  {:<28} {:<14} {:<20} {:<8} {:<6} {:.1}s ago",
                    c.identity,
                    c.region,
                    role,
                    c.priority,
                    if c.alive { "yes" } else { "no" },
                    c.last_heartbeat_age_seconds
                );
            }
        }
    }
}

pub async fn run(settings: &Settings, watch: bool, output: Output) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let period = settings.timing.interval.max(Duration::from_secs(1));
    let table_mode = super::check::summary(settings, store.connection()).await;
    loop {
        let status = gather(&store, &table_mode).await?;
        match output {
            Output::Json => say!("{}", serde_json::to_string(&status)?),
            Output::Text => {
                if watch {
                    say!(
                        "--- {}",
                        httpdate::fmt_http_date(std::time::SystemTime::now())
                    );
                }
                print_text(&status);
            }
        }
        if !watch {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
