//! Claiming a release before acquiring it at once (`crate::claim` says why): the
//! step that asks for the claim, and what its answer means.
//!
//! Sets directly: `claimed`, and on an answer `observed`, `initialized`, `diagnostics`.

use super::observe::Item;
use super::LeaseCore;
use crate::clock::Mono;
use crate::record::LeaseRecord;
use crate::rules::{applies, R10};
use crate::ReleaseClaim;
use crate::StoreError;

impl LeaseCore {
    /// A release is acquired only once its claim is settled (ours, or refused and then
    /// timed in full): `None` when it is, else the claim to make first.
    pub(super) fn claim_first(&self, release: &LeaseRecord) -> Option<ReleaseClaim> {
        let version = release.version.as_ref()?;
        // R10 (revert: a release is acquired without claiming it).
        if self.claimed.as_ref() == Some(version) || !applies(R10) {
            return None;
        }
        Some(ReleaseClaim {
            release_version: version.clone(),
            session: self.cfg.session.clone(),
            owner: self.cfg.identity.clone(),
        })
    }

    /// The answer to a claim sent at `sent`, received at `now`.
    pub fn on_claim(&mut self, claim: &ReleaseClaim, now: Mono, result: Result<(), StoreError>) {
        match result {
            Ok(()) => {
                self.diagnostics.store_reachable = Some(true);
                self.claimed = Some(claim.release_version.clone());
            }
            Err(StoreError::ConditionFailed) => {
                self.diagnostics.store_reachable = Some(true);
                // Not acquiring at once after all: that is a decision (passive).
                self.initialized = true;
                // Someone else claimed this very release: it was taken before, and what we
                // see is a copy written back since (or its claimer never got to write). Its
                // holder may be alive behind it, and whatever clock we had for it ran from
                // before that tenure: time it afresh, from now, like any other version. A
                // holder behind it wrote last before the copy came back, so a full lease
                // from now outlasts it; and once that has passed it is taken without a claim
                // (a claimer that died before acquiring must not pin it for good).
                if let Some(o) = &mut self.observed {
                    let same = matches!(&o.item, Item::Present(r)
                        if r.version.as_deref() == Some(claim.release_version.as_str()));
                    if same {
                        o.open = false;
                        o.noted_at = now;
                    }
                }
                self.claimed = Some(claim.release_version.clone());
            }
            // Lost or failed: it may have landed; the claim is ours either way if it did, and
            // asking again is safe.
            Err(e) => self.store_failed(now, &e, true),
        }
    }
}
