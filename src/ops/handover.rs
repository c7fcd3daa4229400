//! `drlease handover [--to IDENTITY] [--timeout D]`: a planned failover. The active sees
//! the request at its next renewal, stops answering active and releases; during the
//! handover only the target (or, without `--to`, any other candidate) may acquire at once.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{describe_holder, holder_region_is_here, live_heartbeat, read_lease};
use crate::config::Settings;
use crate::lease::operator::HandoverRequest;
use crate::lease::{LeaseRecord, HANDOVER_ANY};
use crate::store::dynamodb::heartbeat::Heartbeat;
use crate::store::dynamodb::DynamoStore;
use crate::store::{LeaseStore, StoreError};
use crate::sys::clock::wall_ms;
use crate::sys::duration::format_duration;
use crate::sys::token::random_token;

pub async fn run(
    settings: &Settings,
    to: Option<String>,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let lease = &settings.lease_name;
    let Some(record) = read_lease(&store).await? else {
        bail!(
            "lease {lease} has no item in table {}: nothing to hand over",
            store.table_name()
        );
    };
    let version = held_version(&record, lease)?;
    let from = record.owner.clone();
    // The candidates' heartbeats tell a live target from a typo: without them, say so rather
    // than calling every target unknown.
    let candidates = store.list_heartbeats().await.with_context(|| {
        format!(
            "cannot list the candidates' heartbeats in table {} (a Scan), which the handover \
             needs to check its target; nothing was written: check the operator's access \
             (dynamodb:Scan on the table) and try again",
            store.table_name()
        )
    })?;
    holder_region_is_here(
        &store,
        live_heartbeat(&candidates, &from),
        &from,
        "handover",
    )?;
    check_target(&store, &candidates, &from, to.as_deref(), lease)?;
    let target = to.clone().unwrap_or_else(|| HANDOVER_ANY.to_string());
    if record.handover_to.as_deref() == Some(target.as_str()) {
        // Written again, the same request would ask for nothing new, and on a global table
        // it is a later write of the item that can drop a renewal of the holder still on
        // its way here. Candidates tell such a write apart by its id and time the version
        // again (docs/design.md, R28), which only delays the handover: write nothing.
        say!("a handover of lease {lease} to {target} is already requested; nothing written");
    } else {
        request(&store, version, &target, &from).await?;
    }
    let started = Instant::now();
    // The holder's own lease duration (in the item) beats this command's settings.
    let lease_duration = record
        .lease_duration_ms
        .map(Duration::from_millis)
        .unwrap_or(settings.timing.lease_duration)
        .max(settings.timing.lease_duration);
    let limit = timeout.unwrap_or(lease_duration * 4 + Duration::from_secs(10));
    say!(
        "handover of lease {lease} from {from} to {} requested; waiting up to {}",
        to.as_deref().unwrap_or("any other candidate"),
        format_duration(limit)
    );
    wait_for_new_holder(&store, lease, &from, to.as_deref(), started, limit).await
}

/// The version to hand over from: only a lease drlease holds can be handed over.
fn held_version(record: &LeaseRecord, lease: &str) -> anyhow::Result<String> {
    if record.is_frozen() {
        bail!("lease {lease} is frozen (SKIP-LEASE-POD): unfreeze it first");
    }
    if record.is_released() {
        bail!("lease {lease} is released: nobody to hand over from (a candidate acquires it at its next read)");
    }
    let Some(version) = record.version.clone() else {
        bail!(
            "lease {lease} is held by {} through Admiral's own checker (no leaseVersion): drlease cannot hand it over",
            record.owner
        );
    };
    Ok(version)
}

/// The target must be a live, eligible candidate that may hold the lease; without one,
/// some other live candidate must exist.
fn check_target(
    store: &DynamoStore,
    candidates: &[Heartbeat],
    from: &str,
    to: Option<&str>,
    lease: &str,
) -> anyhow::Result<()> {
    let now = wall_ms();
    let alive_others: Vec<_> = candidates
        .iter()
        .filter(|c| c.identity != from && c.alive_at(now) && !c.observer)
        .collect();
    if let Some(target) = to {
        if target == from {
            bail!("{target} already holds lease {lease}");
        }
        match candidates.iter().find(|c| c.identity == target) {
            None => {
                let known: Vec<&str> = candidates.iter().map(|c| c.identity.as_str()).collect();
                bail!(
                    "unknown candidate '{target}': no heartbeat for it in table {} (known: {}); \
                     is it running, with heartbeats on?",
                    store.table_name(),
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                );
            }
            Some(c) if !c.alive_at(now) => bail!(
                "candidate '{target}' is not alive: its last heartbeat was {:.0}s ago",
                now.saturating_sub(c.at_ms) as f64 / 1000.0
            ),
            Some(c) if c.observer => bail!(
                "candidate '{target}' is an observer (--never-acquire): it never holds the lease; choose another target"
            ),
            Some(c) if !c.eligible => bail!(
                "candidate '{target}' is alive but ineligible (warming up, or its controller is unhealthy)"
            ),
            Some(_) => {}
        }
    } else if alive_others.is_empty() {
        bail!("no other live candidate for lease {lease} to take over (see `drlease status`)");
    }
    Ok(())
}

/// Writes the request. The holder renews every interval, changing the version: retry
/// while it is only that.
async fn request(
    store: &DynamoStore,
    mut version: String,
    target: &str,
    from: &str,
) -> anyhow::Result<()> {
    let mut attempts = 0;
    loop {
        // A new id for every write: the store sends each once (R28).
        let id = random_token()?;
        match store
            .request_handover(&HandoverRequest::by_operator(&version, target, &id))
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) if attempts < 20 => {
                attempts += 1;
                let now = read_lease(store).await?;
                match now.as_ref() {
                    Some(r) if r.owner == from && r.version.is_some() => {
                        version = r.version.clone().unwrap_or_default();
                    }
                    other => bail!(
                        "the lease changed while requesting the handover (now held by {}); nothing was written",
                        describe_holder(other)
                    ),
                }
            }
            Err(StoreError::ConditionFailed) => bail!(
                "the lease kept changing while requesting the handover; nothing was written: try again"
            ),
            Err(e) => {
                // The answer may have been lost after the request landed: read it back.
                let landed = read_lease(store)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.handover_id.as_deref() == Some(id.as_str()));
                if landed {
                    return Ok(());
                }
                return Err(anyhow::Error::new(e).context(
                    "cannot request the handover; it was not written: check the store and try again",
                ));
            }
        }
    }
}

/// Reads until another pod holds the lease (the target, when there is one) or `limit`
/// has passed since `started`.
async fn wait_for_new_holder(
    store: &DynamoStore,
    lease: &str,
    from: &str,
    to: Option<&str>,
    started: Instant,
    limit: Duration,
) -> anyhow::Result<()> {
    // A one-off command: poll briskly whatever the interval, so the time it reports is
    // the handover's, not the polling's.
    let poll = Duration::from_millis(50);
    loop {
        let now = read_lease(store).await?;
        if let Some(r) = &now {
            if !r.is_released() && !r.is_frozen() && r.owner != from {
                let took = started.elapsed();
                if to.is_some_and(|t| t != r.owner) {
                    bail!(
                        "lease {lease} went to {} (epoch {}) instead of {} after {:.2}s",
                        r.owner,
                        r.epoch.unwrap_or(0),
                        to.unwrap_or(""),
                        took.as_secs_f64()
                    );
                }
                say!(
                    "handed over lease {lease} from {from} to {} (epoch {}) in {:.2}s",
                    r.owner,
                    r.epoch.unwrap_or(0),
                    took.as_secs_f64()
                );
                return Ok(());
            }
        }
        if started.elapsed() > limit {
            bail!(
                "the handover did not complete within {}: lease {lease} is now held by {}",
                format_duration(limit),
                describe_holder(now.as_ref())
            );
        }
        tokio::time::sleep(poll).await;
    }
}
