//! The write time of the version each key of one replica holds.

use std::collections::BTreeMap;

use super::later_write_wins;

/// Per key, the stamp of the write a replica holds (a key without one holds what was there
/// before anything was stamped, or nothing). A `BTreeMap`, so a model checker can hash it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StampBook<K, S> {
    stamps: BTreeMap<K, S>,
}

impl<K, S> Default for StampBook<K, S> {
    fn default() -> Self {
        StampBook {
            stamps: BTreeMap::new(),
        }
    }
}

impl<K: Ord, S: Ord + Clone> StampBook<K, S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stamp of the write `key` holds, if any.
    pub fn get(&self, key: &K) -> Option<&S> {
        self.stamps.get(key)
    }

    /// A write of `key` landed here (local) or was applied here (replicated).
    pub fn record(&mut self, key: K, stamp: S) {
        self.stamps.insert(key, stamp);
    }

    /// Whether a copy of `key` stamped `stamp` replaces what is here: last writer wins.
    pub fn is_later(&self, key: &K, stamp: &S) -> bool {
        later_write_wins(self.stamps.get(key), stamp)
    }

    /// Records `stamp` for `key` if it is later than what is here; whether it was.
    pub fn receive(&mut self, key: K, stamp: &S) -> bool {
        let later = self.is_later(&key, stamp);
        if later {
            self.record(key, stamp.clone());
        }
        later
    }

    /// Every stamp, in key order.
    pub fn stamps(&self) -> impl Iterator<Item = &S> {
        self.stamps.values()
    }

    /// Replaces every stamp by `f` of it (which must keep their order).
    pub fn restamp(&mut self, mut f: impl FnMut(&S) -> S) {
        for s in self.stamps.values_mut() {
            *s = f(s);
        }
    }
}
