//! Carrying out the call the core asked for: bounded in time, counted, logged, and
//! answered back as [`Answered`] for the driver to deliver.

use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::LeaseLoop;
use crate::lease::driver::{Answered, Call};
use crate::lease::WriteKind;
use crate::store::{LeaseStore, StoreError};

impl<S: LeaseStore> LeaseLoop<S> {
    pub(super) async fn carry(&self, call: Call, left: Option<Duration>) -> Answered {
        let started = Instant::now();
        match call {
            Call::Read => {
                let result = self.bounded(self.store.read(), left).await;
                self.count("read", &result, started);
                debug!(?result, "read lease item");
                Answered::Read(result)
            }
            Call::Write(req) => {
                let result = self.bounded(self.store.write(&req), left).await;
                self.count(req.kind.as_str(), &result, started);
                debug!(
                    kind = req.kind.as_str(),
                    epoch = req.new.epoch,
                    ?result,
                    "wrote lease item"
                );
                if result.is_ok() && req.kind == WriteKind::Release {
                    info!("released the lease");
                }
                Answered::Write(req, result)
            }
            Call::RequestHandover(req) => {
                let result = self.bounded(self.store.request_handover(&req), left).await;
                self.count("handover_request", &result, started);
                match &result {
                    Ok(()) => info!(
                        holder = self.last.holder.as_deref().unwrap_or(""),
                        holder_priority = self.last.holder_priority.unwrap_or(0),
                        priority = self.core.config().affinity.priority,
                        "asked the holder of lower priority to hand the lease over (failback)"
                    ),
                    Err(e) => debug!(error = %e, "failback request not applied"),
                }
                Answered::RequestHandover(req, result)
            }
            Call::ReadMarks(regions) => {
                let result = self.bounded(self.store.read_marks(&regions), left).await;
                self.count("read_marks", &result, started);
                debug!(?result, "read the other regions' marks");
                Answered::ReadMarks(result)
            }
            Call::WriteMark(mark) => {
                let result = self.bounded(self.store.write_mark(&mark), left).await;
                self.count("write_mark", &result, started);
                debug!(?result, epoch = mark.epoch, "wrote this region's mark");
                Answered::WriteMark(mark, result)
            }
            Call::Claim(claim) => {
                let result = self.bounded(self.store.claim(&claim), left).await;
                self.count("claim", &result, started);
                match &result {
                    Err(StoreError::ConditionFailed) => warn!(
                        release = %claim.release_version,
                        "this release was claimed by another candidate already (one that \
                         read it first, or, if this keeps happening, the item was written back \
                         by a restore); timing it like any other version"
                    ),
                    _ => debug!(?result, "claimed the release"),
                }
                Answered::Claim(claim, result)
            }
        }
    }

    /// Every call is bounded here too, whatever the store does on its own, and by the
    /// release deadline (`left`) when releasing.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
        left: Option<Duration>,
    ) -> Result<T, StoreError> {
        let limit = left.map_or(self.call_timeout, |l| l.min(self.call_timeout));
        match tokio::time::timeout(limit, call).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(limit)),
        }
    }

    fn count<T>(&self, op: &str, result: &Result<T, StoreError>, started: Instant) {
        let label = match result {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        self.metrics
            .store_request(op, label, started.elapsed().as_secs_f64());
    }
}
