//! `drlease freeze` / `drlease unfreeze`: maintenance mode through Admiral's
//! `SKIP-LEASE-POD` convention. Both are conditional on the item as read, so a concurrent
//! change is refused rather than overwritten; a freeze that only raced the holder's own
//! renewal is tried again on the renewed version.

use anyhow::bail;

use super::{describe_holder, holder_region_is_here, live_heartbeat, read_lease};
use crate::config::Settings;
use crate::lease::operator;
use crate::store::dynamodb::DynamoStore;
use crate::store::{LeaseStore, StoreError};
use crate::sys::token::random_token;

pub async fn freeze(settings: &Settings) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let mut current = read_lease(&store).await?;
    if current.as_ref().is_some_and(|r| r.is_frozen()) {
        say!("lease {} is already frozen", settings.lease_name);
        return Ok(());
    }
    let was = describe_holder(current.as_ref());
    if let Some(held) = current.as_ref().filter(|r| !r.is_released()) {
        check_region(&store, &held.owner).await?;
    }
    // The longest lease in force (`--longest-lease`), which is at least our own.
    let lease_ms = settings.timing.longest_lease.as_millis() as u64;
    // The holder renews every interval, changing the version under us: try again while
    // that is all that changed (the same owner), as `handover` does.
    for _ in 0..MAX_ATTEMPTS {
        let req = operator::freeze(current.as_ref(), random_token()?, lease_ms);
        match store.write(&req).await {
            Ok(_) => {
                say!(
                    "froze lease {} (was held by {was}); every candidate is passive within one \
                     interval and stays passive until `drlease unfreeze`",
                    settings.lease_name
                );
                return Ok(());
            }
            Err(StoreError::ConditionFailed) => {
                let now = read_lease(&store).await?;
                let same_owner = match (&current, &now) {
                    (Some(before), Some(after)) => before.owner == after.owner,
                    _ => false,
                };
                if !same_owner {
                    bail!(
                        "the lease changed while freezing (it was held by {was}, now by {}); \
                         nothing was written: run freeze again",
                        describe_holder(now.as_ref())
                    );
                }
                current = now;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot freeze the lease")),
        }
    }
    bail!("the lease kept changing while freezing; nothing was written: run freeze again")
}

/// On a global table, a freeze must be written where the holder renews (see
/// `holder_region_is_here`). Without the holder's heartbeat (no Scan allowed, or
/// `--heartbeat false`) that cannot be checked: the freeze goes ahead, and the operator is
/// told to confirm it with `drlease status` against the holder's region.
async fn check_region(store: &DynamoStore, holder: &str) -> anyhow::Result<()> {
    let unknown = |why: String| {
        say!(
            "warning: {why}, so this command cannot check that the holder {holder} renews in \
             this region; on a global table confirm the freeze with `drlease status` against \
             the holder's region"
        );
    };
    match store.list_heartbeats().await {
        Ok(candidates) => {
            let heartbeat = live_heartbeat(&candidates, holder);
            if heartbeat.is_none() {
                unknown(format!(
                    "no live heartbeat of {holder} (--heartbeat false?)"
                ));
            }
            holder_region_is_here(store, heartbeat, holder, "freeze")
        }
        Err(e) => {
            unknown(format!("cannot list the candidates' heartbeats ({e})"));
            Ok(())
        }
    }
}

/// Renewals raced this many times in a row means something else is writing the item.
const MAX_ATTEMPTS: usize = 20;

pub async fn unfreeze(settings: &Settings) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let current = read_lease(&store).await?;
    let Some(record) = current.filter(|r| r.is_frozen()) else {
        let now = read_lease(&store).await.ok().flatten();
        bail!(
            "lease {} is not frozen (held by {}); nothing to do",
            settings.lease_name,
            describe_holder(now.as_ref())
        );
    };
    // The longest lease in force (`--longest-lease`), which is at least our own.
    let lease_ms = settings.timing.longest_lease.as_millis() as u64;
    let req = operator::unfreeze(&record, random_token()?, lease_ms);
    match store.write(&req).await {
        Ok(_) => {
            say!(
                "unfroze lease {}: released; a candidate that has seen it frozen for a lease duration \
                 acquires it at its next read (any other after one lease duration)",
                settings.lease_name
            );
            Ok(())
        }
        Err(StoreError::ConditionFailed) => {
            let now = read_lease(&store).await.ok().flatten();
            bail!(
                "the lease changed while unfreezing (now held by {}); nothing was written",
                describe_holder(now.as_ref())
            )
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot unfreeze the lease")),
    }
}
