//! `drlease history [--limit N] [-o text|json]`: the failover history from the table,
//! newest first, for a person at 3 a.m. (or a program). Reads the lease item for the
//! current epoch, then one record per change (GetItem only).

use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use super::{read_lease, Output};
use crate::config::Settings;
use crate::lease::history::{Change, End};
use crate::store::dynamodb::DynamoStore;
use crate::store::history::{list, Listing};
use crate::sys::clock::wall_ms;

#[derive(Serialize)]
struct Answer {
    lease: String,
    table: String,
    epoch: Option<u64>,
    changes: Vec<Change>,
    end: End,
    #[serde(skip_serializing_if = "Option::is_none")]
    unrecorded_newest: Option<u64>,
    note: String,
}

/// The history from the lease item's epoch; an absent item has none.
pub async fn read(store: &DynamoStore, limit: usize) -> anyhow::Result<(Option<u64>, Listing)> {
    let epoch = read_lease(store).await?.and_then(|r| r.epoch);
    let listing = match epoch {
        Some(head) => list(store, head, limit).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot read the failover history of lease '{}' in table '{}': {e}",
                store.lease_name(),
                store.table_name()
            )
        })?,
        None => Listing::none(End::NotRecorded { epoch: 0 }),
    };
    Ok((epoch, listing))
}

pub async fn run(settings: &Settings, limit: usize, output: Output) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let (epoch, listing) = read(&store, limit).await?;
    let note = listing.note();
    let answer = Answer {
        lease: store.lease_name().to_string(),
        table: store.table_name().to_string(),
        epoch,
        changes: listing.entries,
        end: listing.end,
        unrecorded_newest: listing.unrecorded_newest,
        note,
    };
    match output {
        Output::Json => say!("{}", serde_json::to_string(&answer)?),
        Output::Text => print_text(&answer, wall_ms()),
    }
    Ok(())
}

fn print_text(a: &Answer, now_ms: i64) {
    say!(
        "lease {} (table {}): {} change{} of owner, newest first",
        a.lease,
        a.table,
        a.changes.len(),
        if a.changes.len() == 1 { "" } else { "s" }
    );
    if let Some(e) = a.unrecorded_newest {
        say!("(epoch {e}: a change of owner with no record; see the last line)");
    }
    for c in &a.changes {
        say!("{}", headline(c, now_ms));
        say!("    {}", c.reason);
    }
    say!("{}", a.note);
}

/// One change in a line: when, epoch, how, who from and to, the gap, where.
pub fn headline(c: &Change, now_ms: i64) -> String {
    let from = c.previous_owner.as_deref().unwrap_or("-");
    format!(
        "{} ({} ago)  epoch {}  {}  {} -> {}  {}{}",
        when(c.at_ms),
        ago(now_ms.saturating_sub(c.at_ms)),
        c.epoch,
        c.how.as_str(),
        from,
        c.owner,
        gap(c.gap_ms),
        if c.region.is_empty() {
            String::new()
        } else {
            format!("  in {}", c.region)
        }
    )
}

fn when(at_ms: i64) -> String {
    // A record is outside input: keep it within the years a date can be written for.
    let ms = at_ms.clamp(0, 253_402_300_799_000) as u64;
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms))
}

fn gap(gap_ms: Option<u64>) -> String {
    match gap_ms {
        Some(ms) => format!("nobody active for {:.1}s", ms as f64 / 1000.0),
        None => "gap unknown (no earlier holder seen)".to_string(),
    }
}

fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::history::How;

    #[test]
    fn a_headline_says_when_how_who_and_how_long() {
        let c = Change {
            epoch: 8,
            previous_epoch: Some(7),
            previous_owner: Some("admiral-0".into()),
            owner: "admiral-1".into(),
            session: "s".into(),
            how: How::Takeover,
            reason: "took over".into(),
            region: "us-west-2".into(),
            at_ms: 1_795_000_000_000,
            gap_ms: Some(31_250),
        };
        let line = headline(&c, 1_795_000_000_000 + 3_600_000);
        assert_eq!(
            line,
            "Wed, 18 Nov 2026 11:06:40 GMT (60m ago)  epoch 8  takeover  admiral-0 -> admiral-1  \
             nobody active for 31.2s  in us-west-2"
        );
        let garbage = Change {
            at_ms: i64::MAX,
            gap_ms: None,
            previous_owner: None,
            region: String::new(),
            ..c
        };
        let line = headline(&garbage, 0);
        assert!(line.contains("- -> admiral-1  gap unknown"), "{line}");
    }
}
