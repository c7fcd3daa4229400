//! What led to a violation: how each writer involved gained its tenure, over which
//! version written by whom, and whether it answered active after sending its own release.
//! Appended to "two actives" and "two writers" so that a failing seed says which known
//! hole it falls into without a trace being read.

use std::collections::HashMap;

use drlease_core::{LeaseRecord, VersionKey, WriteKind, WriteRequest};

use super::{Sim, Violation};

/// Who wrote each version of the item, and who wrote the one it holds now.
#[derive(Default)]
pub(super) struct Provenance {
    written_by: HashMap<VersionKey, String>,
    /// The current item's writer (a version seen before comes back as a restored copy).
    item_by: String,
    /// The candidate that wrote the current item, if one did (not a restored copy).
    item_writer: Option<usize>,
}

/// How a candidate's current tenure began.
#[derive(Clone, Debug)]
pub(super) struct Gained {
    at_ms: f64,
    /// The takeover the tenure goes back to: its own, or for a release acquired at once,
    /// the one that began the releasing tenure (a chain of handovers passes it on).
    root: Root,
}

#[derive(Clone, Debug)]
struct Root {
    taker: usize,
    at_ms: f64,
    kind: WriteKind,
    /// Who wrote the version it replaced.
    over: String,
    /// The lease duration that version declared.
    over_lease_ms: u64,
    over_restored_release: bool,
}

impl Sim {
    /// The item changed: remember who wrote it (a version that was there before is a
    /// restored copy of its first writer's).
    pub(super) fn note_written(&mut self, by: impl FnOnce() -> String) {
        self.blame.item_writer = None;
        let Some(key) = self.replica.item().map(|r| r.version_key()) else {
            self.blame.item_by = "nobody (absent)".into();
            return;
        };
        // Every write makes a new token: a token seen before is back by a restore.
        self.blame.item_by = match self.blame.written_by.get(&key) {
            Some(first) => format!("restored copy of {first}"),
            None => {
                let by = by();
                self.blame.written_by.insert(key, by.clone());
                by
            }
        };
    }

    /// A write by `c` (of `generation`) landed over `replaced`.
    pub(super) fn note_landed(
        &mut self,
        (c, generation): (usize, u64),
        req: &WriteRequest,
        replaced: Option<&LeaseRecord>,
    ) {
        let (replaced_by, replaced_writer) = (self.item_by(), self.blame.item_writer);
        // A release of a restored copy (of a version of its own) passes the restore on.
        let restored = req.kind == WriteKind::Release && replaced_by.starts_with("restored");
        self.note_written(|| {
            if restored {
                format!("cand-{c} release of a restored copy")
            } else {
                format!("cand-{c} {}", req.kind.as_str())
            }
        });
        if self.cands[c].generation != generation {
            return; // a dead process's write: nobody holds it
        }
        self.blame.item_writer = Some(c);
        if req.kind.changes_owner() {
            let released = replaced.is_some_and(|r| r.released_by.is_some());
            // A holder's own release, acquired: the tenure goes back to the releaser's.
            let inherited = replaced_writer
                .filter(|_| released && req.kind == WriteKind::Acquire)
                .and_then(|r| self.cands[r].gained.as_ref())
                .map(|g| g.root.clone());
            let root = inherited.unwrap_or_else(|| Root {
                taker: c,
                at_ms: self.now as f64 / super::MS as f64,
                kind: req.kind,
                over: replaced_by.clone(),
                over_lease_ms: replaced.and_then(|r| r.lease_duration_ms).unwrap_or(0),
                over_restored_release: released && replaced_by.starts_with("restored copy"),
            });
            self.cands[c].gained = Some(Gained {
                at_ms: self.now as f64 / super::MS as f64,
                root,
            });
            self.cands[c].release_sent = None;
            self.cands[c].active_after_release = false;
        }
    }

    /// `c` sends a write: a release ends its tenure, whatever comes back.
    pub(super) fn note_sent(&mut self, c: usize, req: &WriteRequest) {
        if req.kind == WriteKind::Release {
            self.cands[c].release_sent = Some(req.new.epoch);
        }
    }

    pub(super) fn item_by(&self) -> String {
        self.blame.item_by.clone()
    }

    /// Called with every check: an active answer for a tenure whose release was sent (it
    /// may land at any moment, and let the next holder in at once).
    pub(super) fn note_actives(&mut self, actives: &[(usize, u64)]) {
        for &(i, epoch) in actives {
            if self.cands[i].release_sent == Some(epoch) {
                self.cands[i].active_after_release = true;
            }
        }
    }

    /// The writers involved, and the known hole that fits.
    pub(super) fn explain(&self, who: &[usize]) -> String {
        let mut lines = vec![format!("[{}]", self.hole(who))];
        for &i in who {
            let s = &self.sc.settings[i].timing;
            let gained = match &self.cands[i].gained {
                Some(g) => format!(
                    "gained at {:.1} ms, going back to the {} by cand-{} at {:.1} ms over {} \
                     (leaseDurationMs {})",
                    g.at_ms,
                    g.root.kind.as_str(),
                    g.root.taker,
                    g.root.at_ms,
                    g.root.over,
                    g.root.over_lease_ms
                ),
                None => "no tenure gained".into(),
            };
            lines.push(format!(
                "#{i}: lease {:?}, renew deadline {:?}; {gained}{}",
                s.lease_duration,
                s.renew_deadline,
                if self.cands[i].active_after_release {
                    "; answered active after sending its own release"
                } else {
                    ""
                }
            ));
        }
        lines.join("; ")
    }

    fn hole(&self, who: &[usize]) -> &'static str {
        if who.iter().any(|&i| self.cands[i].active_after_release) {
            return "hole 1: active again after sending its own release";
        }
        let Some((latest, g)) = who
            .iter()
            .filter_map(|&i| self.cands[i].gained.as_ref().map(|g| (i, &g.root)))
            .max_by(|a, b| {
                let at = |i: usize| self.cands[i].gained.as_ref().map_or(0.0, |g| g.at_ms);
                at(a.0).total_cmp(&at(b.0))
            })
        else {
            return "unclassified";
        };
        let taker = g.taker;
        if g.over_restored_release && g.kind == WriteKind::Acquire {
            return "hole 3: a restored release acquired at once";
        }
        if g.over.contains("Seed") {
            // Acquired at once by a process that never saw an epoch: only the command's
            // wait stands between it and an earlier holder.
            let outlived = who
                .iter()
                .filter(|&&i| i != latest && i != taker)
                .any(|&i| self.sc.settings[i].timing.renew_deadline > self.sc.operator_lease);
            return if outlived {
                "hole 2, create-table: the seed written after the operator's shorter lease"
            } else {
                "create-table run twice: one command's seed lands in the table the other recreated"
            };
        }
        let timed = self.sc.settings[taker]
            .timing
            .lease_duration
            .max(std::time::Duration::from_millis(g.over_lease_ms));
        let outlived = who
            .iter()
            .filter(|&&i| i != latest && i != taker)
            .any(|&i| self.sc.settings[i].timing.renew_deadline > timed);
        if !outlived {
            // Timed long enough for the version it saw, but not for the tenure in between.
            return if g.over_restored_release {
                "hole 3, timed: a restored release timed from the clock of the tenure it ended"
            } else {
                "unclassified"
            };
        }
        if g.over.contains("Freeze") || g.over.contains("Unfreeze") {
            "hole 2: timed with the operator's shorter lease (freeze / unfreeze)"
        } else if g.over.contains("restored") {
            "hole 2, restore: a restored version declaring a shorter lease"
        } else if g.over.contains("placeholder") {
            "hole 2, deletion: the placeholder timed with the taker's own shorter lease"
        } else {
            "hole 2, other: timed shorter than the other writer's renew deadline"
        }
    }
}

impl Violation {
    /// What kind of failure: the known hole it fits (see `Sim::explain`), or the check that
    /// failed.
    pub fn kind(&self) -> String {
        let kind = match (self.what.find('['), self.what.find(']')) {
            (Some(b), Some(e)) if e > b => self.what[b + 1..e].to_string(),
            _ => self.what.split(':').next().unwrap_or_default().to_string(),
        };
        if self.mode == "one store" {
            kind
        } else {
            format!("{kind} ({})", self.mode)
        }
    }
}
