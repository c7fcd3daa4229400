//! What happened to the role, and why: a bounded log that `/events` lists, `/watch`
//! streams and blocking `/role` queries wait on.
//!
//! An event is recorded only when something a controller or an operator acts on changes:
//! role, holder, epoch, frozen, eligibility. Two writers record: the lease loop (with the
//! reason it knows) and the deadline timer (`run::deadline`), which pushes a loss of
//! validity at the deadline instant even while the loop is stuck in a store call.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::watch;

use crate::lease::{Role, View};
use crate::run::eligibility::Eligibility;
use crate::sys::clock::Mono;

pub mod reason;

/// How many events `/events` keeps.
pub const KEPT: usize = 100;

/// The facts an event is about; a new event is recorded only when these change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub role: Role,
    /// The owner in the last observed item (`""` when released), null before any read.
    pub holder: Option<String>,
    pub epoch: Option<u64>,
    pub frozen: bool,
    pub eligible: bool,
}

impl Facts {
    /// The facts of `view` with `role` as answered now (the gate's or the view's reading).
    pub fn of(role: Role, view: &View, eligibility: Eligibility) -> Facts {
        Facts {
            role,
            holder: view.holder.clone(),
            epoch: view.epoch,
            frozen: view.frozen,
            eligible: eligibility.eligible(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Increases by one per event; `X-Drlease-Index` and the SSE `id`.
    pub index: u64,
    /// Wall-clock time, for people ("why did we fail over at 03:12?").
    pub time: String,
    /// The decision instant on the host's CLOCK_BOOTTIME (as `X-Drlease-Decided-At-Ns`).
    pub decided_at_ns: u64,
    #[serde(flatten)]
    pub facts: Facts,
    pub store_reachable: Option<bool>,
    pub reason: String,
    /// The event as JSON, serialized once for every watcher.
    #[serde(skip)]
    pub json: Arc<str>,
}

#[derive(Debug, Default)]
struct Inner {
    recent: VecDeque<Arc<Event>>,
    last_index: u64,
}

#[derive(Debug)]
pub struct EventLog {
    inner: Mutex<Inner>,
    /// The latest index: watchers wait on it, and a slow one simply skips ahead.
    notify: watch::Sender<u64>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            inner: Mutex::default(),
            notify: watch::channel(0).0,
        }
    }
}

impl EventLog {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an event if `facts` differ from the latest event's; returns its index.
    pub fn record(
        &self,
        at: Mono,
        facts: Facts,
        store_reachable: Option<bool>,
        reason: String,
    ) -> Option<u64> {
        let mut inner = self.lock();
        if inner.recent.back().is_some_and(|e| e.facts == facts) {
            return None;
        }
        let index = inner.last_index + 1;
        let mut event = Event {
            index,
            time: httpdate::fmt_http_date(std::time::SystemTime::now()),
            decided_at_ns: at.as_duration().as_nanos() as u64,
            facts,
            store_reachable,
            reason,
            json: Arc::from(""),
        };
        event.json = serde_json::to_string(&event)
            .unwrap_or_else(|_| "{}".into())
            .into();
        if inner.recent.len() == KEPT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(Arc::new(event));
        inner.last_index = index;
        drop(inner);
        self.notify.send_replace(index);
        Some(index)
    }

    /// The index of the latest event (0 before the first).
    pub fn index(&self) -> u64 {
        self.lock().last_index
    }

    pub fn latest(&self) -> Option<Arc<Event>> {
        self.lock().recent.back().cloned()
    }

    /// Events after `index`, oldest first; when some were already dropped from the log,
    /// only what is left (the latest always among them).
    pub fn after(&self, index: u64) -> Vec<Arc<Event>> {
        self.lock()
            .recent
            .iter()
            .filter(|e| e.index > index)
            .cloned()
            .collect()
    }

    pub fn recent(&self) -> Vec<Arc<Event>> {
        self.after(0)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(role: Role, epoch: u64) -> Facts {
        Facts {
            role,
            holder: Some("a".into()),
            epoch: Some(epoch),
            frozen: false,
            eligible: true,
        }
    }

    #[test]
    fn only_changes_are_recorded_and_the_log_is_bounded() {
        let log = EventLog::default();
        let mut rx = log.subscribe();
        assert_eq!(
            log.record(Mono::ZERO, facts(Role::Active, 1), Some(true), "x".into()),
            Some(1)
        );
        assert_eq!(
            log.record(Mono::ZERO, facts(Role::Active, 1), Some(false), "y".into()),
            None,
            "same facts"
        );
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 1);
        for epoch in 2..250 {
            let role = if epoch % 2 == 0 {
                Role::Passive
            } else {
                Role::Active
            };
            log.record(Mono::ZERO, facts(role, epoch), None, "z".into());
        }
        assert_eq!(log.recent().len(), KEPT);
        assert_eq!(log.index(), 249);
        assert_eq!(log.after(247).len(), 2);
        assert_eq!(log.after(0).first().unwrap().index, 150);
        let latest = log.latest().unwrap();
        let v: serde_json::Value = serde_json::from_str(&latest.json).unwrap();
        assert_eq!(v["index"], 249);
        assert_eq!(v["role"], "active");
        assert_eq!(v["reason"], "z");
    }
}
