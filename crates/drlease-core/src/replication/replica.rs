//! One region's copy of a lease's keys, and the copies of landed writes sent between them.

use std::collections::BTreeMap;

use super::StampBook;
use crate::operator::HandoverRequest;
use crate::{LeaseRecord, RegionMark, ReleaseClaim, WriteRequest};

/// One key of a lease's part of the table: the lease item, one release's claim (by the
/// release's version token), one region's mark (by region).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Item,
    Claim(String),
    Mark(String),
}

/// What a key holds after a write (`None`: deleted).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Image {
    Item(Option<LeaseRecord>),
    Claim {
        release_version: String,
        session: Option<String>,
    },
    Mark {
        region: String,
        mark: Option<RegionMark>,
    },
}

impl Image {
    /// The key this is an image of.
    pub fn key(&self) -> Key {
        match self {
            Image::Item(_) => Key::Item,
            Image::Claim {
                release_version, ..
            } => Key::Claim(release_version.clone()),
            Image::Mark { region, .. } => Key::Mark(region.clone()),
        }
    }
}

/// A landed write as the other replicas receive it: the key's image after the write, and
/// the write's stamp.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replicated<S> {
    pub image: Image,
    pub stamp: S,
}

impl<S> Replicated<S> {
    pub fn key(&self) -> Key {
        self.image.key()
    }
}

/// The condition of a call did not hold against this copy: nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

/// A write of the lease item that landed: the item it replaced, and (stamped) its copy to
/// send on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemWrite<S> {
    pub replaced: Option<LeaseRecord>,
    pub sent: Option<Replicated<S>>,
}

/// One region's copy: the lease item, the release claims (release version to claiming
/// session) and the region marks (by region), with the stamp of the write each key holds.
///
/// Every call takes the stamp its write gets if it lands; `None` stamps nothing and sends
/// nothing on (a table of one copy, where there is nothing to order). Maps are ordered, so
/// a model checker can hash a copy and two equal copies are one state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replica<S> {
    item: Option<LeaseRecord>,
    claims: BTreeMap<String, String>,
    marks: BTreeMap<String, RegionMark>,
    stamps: StampBook<Key, S>,
}

impl<S> Default for Replica<S> {
    fn default() -> Self {
        Replica {
            item: None,
            claims: BTreeMap::new(),
            marks: BTreeMap::new(),
            stamps: StampBook::default(),
        }
    }
}

impl<S: Ord + Clone> Replica<S> {
    /// A copy holding `item`, unstamped: what was there before anything was written.
    pub fn new(item: Option<LeaseRecord>) -> Self {
        Replica {
            item,
            ..Self::default()
        }
    }

    /// This copy with a claim that was there before anything was written (unstamped).
    pub fn with_claim(mut self, release_version: String, session: String) -> Self {
        self.claims.insert(release_version, session);
        self
    }

    /// This copy with a mark that was there before anything was written (unstamped).
    pub fn with_mark(mut self, mark: RegionMark) -> Self {
        self.marks.insert(mark.region.clone(), mark);
        self
    }

    pub fn item(&self) -> Option<&LeaseRecord> {
        self.item.as_ref()
    }

    /// The session whose claim of the release `release_version` is here.
    pub fn claimed_by(&self, release_version: &str) -> Option<&str> {
        self.claims.get(release_version).map(String::as_str)
    }

    /// The marks here, by region.
    pub fn marks(&self) -> impl Iterator<Item = &RegionMark> {
        self.marks.values()
    }

    pub fn mark(&self, region: &str) -> Option<&RegionMark> {
        self.marks.get(region)
    }

    /// The stamp of the write `key` holds here (`None`: unstamped).
    pub fn stamp(&self, key: &Key) -> Option<&S> {
        self.stamps.get(key)
    }

    /// Every stamp held here.
    pub fn stamps(&self) -> impl Iterator<Item = &S> {
        self.stamps.stamps()
    }

    /// Replaces every stamp by `f` of it (which must keep their order).
    pub fn restamp(&mut self, f: impl FnMut(&S) -> S) {
        self.stamps.restamp(f);
    }

    /// A conditional write of the lease item: lands if [`LeaseRecord::satisfies`] holds
    /// against this copy. `updatedTime` is written as 0: it is informational, and equal
    /// writes must leave equal copies.
    pub fn write(&mut self, req: &WriteRequest, stamp: Option<S>) -> Result<ItemWrite<S>, Refused> {
        if !LeaseRecord::satisfies(self.item.as_ref(), &req.expect) {
            return Err(Refused);
        }
        let next = req.apply(self.item.as_ref(), 0);
        Ok(self.put_item(Some(next), stamp))
    }

    /// An unconditional write of the lease item (`None`: deleted): an operator's put, a
    /// restore, a deletion.
    pub fn put_item(&mut self, item: Option<LeaseRecord>, stamp: Option<S>) -> ItemWrite<S> {
        let replaced = std::mem::replace(&mut self.item, item);
        ItemWrite {
            replaced,
            sent: self.landed(Key::Item, stamp),
        }
    }

    /// A handover request: lands if [`HandoverRequest::apply_to`] applies to this copy's
    /// item (the version does not change).
    pub fn request_handover(
        &mut self,
        req: &HandoverRequest,
        stamp: Option<S>,
    ) -> Result<Option<Replicated<S>>, Refused> {
        if !self.item.as_mut().is_some_and(|r| req.apply_to(r)) {
            return Err(Refused);
        }
        Ok(self.landed(Key::Item, stamp))
    }

    /// A claim on a release: lands if [`ReleaseClaim::may_claim`] holds against the claim
    /// here (none, or this session's: it lands again, unchanged).
    pub fn claim(
        &mut self,
        claim: &ReleaseClaim,
        stamp: Option<S>,
    ) -> Result<Option<Replicated<S>>, Refused> {
        if !claim.may_claim(self.claimed_by(&claim.release_version)) {
            return Err(Refused);
        }
        let version = claim.release_version.clone();
        self.claims.insert(version.clone(), claim.session.clone());
        Ok(self.landed(Key::Claim(version), stamp))
    }

    /// A region's mark: lands if [`RegionMark::may_replace`] the mark of that region here.
    pub fn write_mark(
        &mut self,
        mark: &RegionMark,
        stamp: Option<S>,
    ) -> Result<Option<Replicated<S>>, Refused> {
        if !mark.may_replace(self.marks.get(&mark.region)) {
            return Err(Refused);
        }
        self.marks.insert(mark.region.clone(), mark.clone());
        Ok(self.landed(Key::Mark(mark.region.clone()), stamp))
    }

    /// A write of `key` landed here: stamped, its image is the copy to send on.
    fn landed(&mut self, key: Key, stamp: Option<S>) -> Option<Replicated<S>> {
        let stamp = stamp?;
        self.stamps.record(key.clone(), stamp.clone());
        Some(Replicated {
            image: self.image(key),
            stamp,
        })
    }

    /// What `key` holds here.
    fn image(&self, key: Key) -> Image {
        match key {
            Key::Item => Image::Item(self.item.clone()),
            Key::Claim(v) => Image::Claim {
                session: self.claims.get(&v).cloned(),
                release_version: v,
            },
            Key::Mark(r) => Image::Mark {
                mark: self.marks.get(&r).cloned(),
                region: r,
            },
        }
    }

    /// Whether `copy` would replace what its key holds here (see [`Self::receive`]).
    pub fn is_later(&self, copy: &Replicated<S>) -> bool {
        self.stamps.is_later(&copy.key(), &copy.stamp)
    }

    /// A copy written at another replica arrives: it replaces what the key holds here
    /// only if it was written later (last writer wins; an unstamped key was written before
    /// any stamped write). Whether it did.
    pub fn receive(&mut self, copy: &Replicated<S>) -> bool {
        if !self.stamps.receive(copy.key(), &copy.stamp) {
            return false;
        }
        match &copy.image {
            Image::Item(item) => self.item = item.clone(),
            Image::Claim {
                release_version,
                session,
            } => set(&mut self.claims, release_version, session),
            Image::Mark { region, mark } => set(&mut self.marks, region, mark),
        }
        true
    }
}

/// `key` of `map` becomes `value` (`None`: removed).
fn set<V: Clone>(map: &mut BTreeMap<String, V>, key: &str, value: &Option<V>) {
    match value {
        Some(v) => drop(map.insert(key.to_string(), v.clone())),
        None => drop(map.remove(key)),
    }
}
