//! Claiming a release before acquiring it at once (`crate::claim` says why): the
//! step that asks for the claim, and what its answer means.
//!
//! Sets directly: `initialized`; the claim settled and its clock through the `learn`
//! handler (`observe.rs`), reachability through `answers` (`pacing.rs`).

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
        if self.known.claimed.as_ref() == Some(version) || !applies(R10) {
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
                self.answers().reached();
                self.learn().claimed(&claim.release_version);
            }
            Err(StoreError::ConditionFailed) => {
                self.answers().reached();
                // Not acquiring at once after all: that is a decision (passive).
                self.initialized = true;
                // Someone else claimed this very release: time it afresh.
                self.learn().claim_refused(&claim.release_version, now);
            }
            // Lost or failed: it may have landed; the claim is ours either way if it did, and
            // asking again is safe.
            Err(e) => self.store_failed(now, &e, true),
        }
    }
}
