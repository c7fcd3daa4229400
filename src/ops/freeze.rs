//! `drlease freeze` / `drlease unfreeze`: maintenance mode through Admiral's
//! `SKIP-LEASE-POD` convention. Both are conditional on the item as read, so a concurrent
//! change is refused rather than overwritten.

use anyhow::bail;

use super::{describe_holder, read_lease};
use crate::config::Settings;
use crate::lease::{Expect, HandoverWrite, LeaseState, WriteKind, WriteRequest, FROZEN_OWNER};
use crate::store::{LeaseStore, StoreError};
use crate::token::random_token;

pub async fn freeze(settings: &Settings) -> anyhow::Result<()> {
    let store = super::open(settings).await?;
    let current = read_lease(&store).await?;
    if current.as_ref().is_some_and(|r| r.is_frozen()) {
        println!("lease {} is already frozen", settings.lease_name);
        return Ok(());
    }
    let was = describe_holder(current.as_ref());
    let req = WriteRequest {
        kind: WriteKind::Freeze,
        expect: match &current {
            Some(r) => Expect::Version(r.version_key()),
            None => Expect::Absent,
        },
        new: LeaseState {
            owner: FROZEN_OWNER.to_string(),
            session: String::new(),
            version: random_token()?,
            epoch: current.as_ref().and_then(|r| r.epoch).unwrap_or(0),
            lease_duration_ms: settings.timing.lease_duration.as_millis() as u64,
            handover: HandoverWrite::Clear,
        },
    };
    match store.write(&req).await {
        Ok(_) => {
            println!(
                "froze lease {} (was held by {was}); every candidate is passive within one \
                 interval and stays passive until `drlease unfreeze`",
                settings.lease_name
            );
            Ok(())
        }
        Err(StoreError::ConditionFailed) => {
            let now = read_lease(&store).await.ok().flatten();
            bail!(
                "the lease changed while freezing (it was held by {was}, now by {}); nothing \
                 was written: run freeze again",
                describe_holder(now.as_ref())
            )
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot freeze the lease")),
    }
}

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
    let req = WriteRequest {
        kind: WriteKind::Unfreeze,
        expect: Expect::Version(record.version_key()),
        new: LeaseState {
            owner: String::new(),
            session: String::new(),
            version: random_token()?,
            epoch: record.epoch.unwrap_or(0),
            lease_duration_ms: record
                .lease_duration_ms
                .unwrap_or(settings.timing.lease_duration.as_millis() as u64),
            handover: HandoverWrite::Clear,
        },
    };
    match store.write(&req).await {
        Ok(_) => {
            println!(
                "unfroze lease {}: released; a healthy candidate acquires it at its next read",
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
