//! Region marks on a multi-Region eventually consistent table (`crate::region` says
//! why): a confirmed holder writes its region's mark before it answers active, reads the
//! other regions' marks after every renewal and stops if one outranks its own; a candidate
//! reads them before it acquires, so its epoch is above theirs. Off without
//! `--peer-regions`.
//!
//! Sets directly: `holding` (its owed mark and peer check), `pacing` (when the marks were
//! read), `region_conflicts` and the conflict's text; the epochs the marks show through
//! the `learn` handler (`observe.rs`), reachability through `answers` (`pacing.rs`).

use super::stage::Stage;
use super::{Call, LeaseCore, Step};
use crate::clock::Mono;
use crate::rules::{applies, R21, R22};
use crate::StoreError;
use crate::{RegionMark, Regions};

impl LeaseCore {
    fn regions(&self) -> Option<&Regions> {
        self.cfg.regions.as_ref()
    }

    /// Our mark for a tenure at `epoch` (what a new tenure owes, when regions are on).
    pub(super) fn own_mark(&self, epoch: u64) -> Option<RegionMark> {
        // R21 (revert: no mark is written, and none outranks us).
        if !applies(R21) {
            return None;
        }
        Some(RegionMark {
            region: self.regions()?.own.clone(),
            epoch,
            session: self.cfg.session.clone(),
            owner: self.cfg.identity.clone(),
        })
    }

    /// Holding and confirmed: the mark to write, or the peers' marks to read (after a
    /// renewal, while there is time before the next one). `None`: nothing owed.
    pub(super) fn mark_step(&self, now: Mono, renew_at: Mono) -> Option<Step> {
        let h = self.holding.as_ref()?;
        if let Some(mark) = h.stage.mark_to_write() {
            return Some(self.when_due(
                now,
                self.pacing.not_before,
                Step::Call(Call::WriteMark(Box::new(mark.clone()))),
            ));
        }
        (h.check_peers && now < renew_at && now >= self.pacing.not_before)
            .then(|| self.read_marks())
    }

    /// A read of every region's mark, this one's included (its epoch is the floor for a
    /// new tenure of ours, R22).
    fn read_marks(&self) -> Step {
        let regions = self
            .regions()
            .map(|r| {
                std::iter::once(r.own.clone())
                    .chain(r.peers.clone())
                    .collect()
            })
            .unwrap_or_default();
        Step::Call(Call::ReadMarks(regions))
    }

    /// A candidate about to acquire reads the peers' marks first, unless it has within an
    /// interval: the new epoch goes above every confirmed holder's it can see.
    pub(super) fn marks_before_acquiring(&self, now: Mono) -> Option<Step> {
        self.regions()?;
        // R22 (revert: acquire without reading the marks).
        if !applies(R22) {
            return None;
        }
        let fresh = self
            .pacing
            .peer_marks_read
            .is_some_and(|sent| now.since(sent) <= self.cfg.timing.interval);
        (!fresh).then(|| self.when_due(now, self.pacing.not_before, self.read_marks()))
    }

    /// The answer to a read of the other regions' marks sent at `sent`, received at `now`.
    pub fn on_marks(&mut self, sent: Mono, now: Mono, result: Result<Vec<RegionMark>, StoreError>) {
        let marks = match result {
            Ok(marks) => marks,
            Err(e) => {
                if let Some(h) = &mut self.holding {
                    // Not worth the lease: try again after the next renewal.
                    h.check_peers = false;
                } else {
                    self.store_failed(now, &e, false);
                }
                return;
            }
        };
        self.answers().reached();
        self.pacing.peer_marks_read = Some(sent);
        self.learn().marks_seen(&marks);
        let own_region = self.regions().map(|r| r.own.clone()).unwrap_or_default();
        let marks: Vec<RegionMark> = marks
            .into_iter()
            .filter(|m| m.region != own_region)
            .collect();
        let Some(epoch) = self.holding.as_ref().map(|h| h.epoch) else {
            return;
        };
        if let Some(h) = &mut self.holding {
            h.check_peers = false;
        }
        let Some(ours) = self.own_mark(epoch) else {
            return;
        };
        if let Some(winner) = marks.iter().find(|m| m.outranks(&ours)) {
            // Two regions hold: the lower mark stops at once, without writing, and the
            // other's renewals win the lease item everywhere.
            self.region_conflicts += 1;
            self.diagnostics.region_conflict = Some(format!(
                "region {} holds this lease too ({} at epoch {}, above ours at {}): stopped \
                 holding; the regions were cut off, or replication lagged past the confirm delay",
                winner.region, winner.owner, winner.epoch, ours.epoch
            ));
            self.end_tenure();
        }
    }

    /// The answer to writing our region's mark.
    pub fn on_mark_written(
        &mut self,
        mark: &RegionMark,
        now: Mono,
        result: Result<(), StoreError>,
    ) {
        if self.holding.as_ref().is_none_or(|h| h.epoch != mark.epoch) {
            return;
        }
        match result {
            Ok(()) => {
                self.answers().reached();
                if let Some(h) = &mut self.holding {
                    if h.stage.mark_to_write().is_some() {
                        h.stage = Stage::Granting;
                    }
                    h.check_peers = true;
                }
            }
            // A later holder of our own region marked a higher epoch: this tenure is over.
            Err(StoreError::ConditionFailed) => {
                self.answers().reached();
                self.end_tenure();
            }
            Err(e) => self.store_failed(now, &e, true),
        }
    }
}
