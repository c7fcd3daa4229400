//! Region marks: how the holders of two regions of a multi-Region eventually consistent
//! (MREC) global table find each other.
//!
//! On MREC a conditional write is checked against the local replica only, and the latest
//! write wins everywhere once writes stop. Two regions can both hold the lease (a lag above
//! half the confirm delay, a partition), and while both renew, each replica's own renewals
//! are newer than what arrives from the other region, so the lease item alone never tells
//! either of them. So each confirmed holder also writes its region's mark,
//! `<lease>/regions/<region>`, an item that only its region's holders write (conditions in
//! one region are linearizable), so it replicates without conflict. A holder reads the
//! other regions' marks after every renewal; of two holders the one whose mark ranks lower
//! (epoch, then session) stops at once, without writing: the other's renewals then win the
//! lease item everywhere. Once replication works, a double holder ends within one lag plus
//! one renew period plus a round trip. A candidate reads the marks before it acquires, so
//! its epoch is above every confirmed holder's it can see.

use crate::rules::{applies, R23};

/// The tenure a region's confirmed holder had when it wrote its mark.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegionMark {
    pub region: String,
    pub epoch: u64,
    pub session: String,
    pub owner: String,
}

impl RegionMark {
    /// The mark's condition: it lands unless the region's mark there has a higher epoch (a
    /// later tenure of that region marked already). The in-process table, the simulation
    /// and the model check it here; the DynamoDB store encodes it as
    /// `attribute_not_exists(#k) OR #e <= :epoch` (`src/store/dynamodb/marks.rs`).
    pub fn may_replace(&self, there: Option<&RegionMark>) -> bool {
        there.is_none_or(|m| m.epoch <= self.epoch)
    }

    /// Of two holders, the one to keep the lease: the higher epoch, then the greater
    /// session. Both sides compute it alike from the same two marks.
    pub fn outranks(&self, other: &RegionMark) -> bool {
        (self.epoch, &self.session) > (other.epoch, &other.session)
    }
}

/// This pod's region and the other regions of the global table (`--peer-regions`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Regions {
    pub own: String,
    pub peers: Vec<String>,
}

impl Regions {
    /// The fencing token for a new tenure of this region: the first above `base` that is
    /// this region's. Each region of the table has its own residue modulo the number of
    /// regions (by their sorted names, which every pod computes alike from the same
    /// list), so two regions acquiring at once, cut off from each other or within a lag,
    /// never hand out the same epoch: a controller fencing on it can tell their writes
    /// apart. Within one region conditions are linearizable, and the marks read before
    /// acquiring put a new tenure above every confirmed one. `None` when no such token is
    /// left below `u64::MAX`.
    pub fn next_epoch_above(&self, base: u64) -> Option<u64> {
        if !applies(R23) {
            // R23 (revert: the next epoch, whichever region's it is).
            return base.checked_add(1);
        }
        let mut all: Vec<&str> = std::iter::once(self.own.as_str())
            .chain(self.peers.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        let n = all.len() as u64;
        let own = all.iter().position(|r| *r == self.own).unwrap_or(0) as u64;
        let first = base.checked_add(1)?;
        first.checked_add((own + n - first % n) % n)
    }
}

/// The mark item's key for a lease and a region.
pub fn mark_key(lease: &str, region: &str) -> String {
    format!("{lease}/regions/{region}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(epoch: u64, session: &str) -> RegionMark {
        RegionMark {
            region: "r".into(),
            epoch,
            session: session.into(),
            owner: "o".into(),
        }
    }

    /// R21: a stale tenure's mark must not lower its region's mark under a later tenure of
    /// that region (its refusal is how the stale tenure learns it is over).
    #[test]
    fn a_mark_replaces_only_a_mark_of_the_same_or_a_lower_epoch() {
        assert!(mark(5, "s").may_replace(None));
        assert!(mark(5, "s").may_replace(Some(&mark(4, "t"))));
        assert!(mark(5, "s").may_replace(Some(&mark(5, "s"))));
        assert!(!mark(5, "s").may_replace(Some(&mark(6, "t"))));
    }

    #[test]
    fn exactly_one_of_two_distinct_marks_outranks_the_other() {
        for (a, b) in [
            (mark(5, "a"), mark(6, "a")),
            (mark(6, "a"), mark(6, "b")),
            (mark(7, "z"), mark(6, "zz")),
        ] {
            assert!(a.outranks(&b) != b.outranks(&a), "{a:?} {b:?}");
        }
        assert!(!mark(6, "a").outranks(&mark(6, "a")));
    }

    fn regions(own: &str, peers: &[&str]) -> Regions {
        Regions {
            own: own.into(),
            peers: peers.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn regions_acquiring_from_the_same_epoch_never_share_a_token() {
        let table = ["us-east-1", "us-west-2", "eu-west-1"];
        for base in [0, 1, 2, 3, 7, 1000, u64::MAX - 10] {
            let tokens: Vec<u64> = table
                .iter()
                .map(|own| {
                    let peers: Vec<&str> = table.iter().copied().filter(|r| r != own).collect();
                    regions(own, &peers).next_epoch_above(base).unwrap()
                })
                .collect();
            for (i, t) in tokens.iter().enumerate() {
                assert!(*t > base && *t <= base + 3, "{base}: {tokens:?}");
                assert!(!tokens[i + 1..].contains(t), "{base}: {tokens:?}");
            }
        }
        // The peers' order in a pod's list does not matter; every pod sorts the names.
        assert_eq!(
            regions("b", &["c", "a"]).next_epoch_above(4),
            regions("b", &["a", "c"]).next_epoch_above(4)
        );
    }

    #[test]
    fn no_token_is_left_when_the_region_has_none_below_the_limit() {
        assert_eq!(regions("a", &["b"]).next_epoch_above(u64::MAX), None);
        // u64::MAX is odd: the second region's, so the first has none above MAX - 1.
        assert_eq!(regions("a", &["b"]).next_epoch_above(u64::MAX - 1), None);
        assert_eq!(
            regions("b", &["a"]).next_epoch_above(u64::MAX - 1),
            Some(u64::MAX)
        );
    }

    /// A limit of the rollout. The residue a region's epochs take depends on the list of
    /// regions each pod has (`--peer-regions`), so during the rolling change docs/regions.md
    /// prescribes for adding a region (every pod of every region, one region after the
    /// other) two regions can hand out the same epoch: here us-east-1 has not yet been given
    /// eu-west-1 (2 regions: its epochs are even), us-west-2 already has (3 regions: its
    /// epochs are 2 mod 3). From base 7 both acquire epoch 8. docs/regions.md (*Across regions*):
    /// two holders of a partition have "different epochs: each region hands out its own
    /// ... so a controller that fences on the epoch can tell their writes apart"; the
    /// rollout caveat only says the double holder is not bounded. Expected: distinct
    /// tokens whatever the lists (or docs/regions.md saying otherwise).
    #[test]
    #[ignore = "a limit (docs/regions.md, rollout of peer regions): two regions whose pods list different region sets hand out the same epoch"]
    fn regions_with_different_lists_never_share_a_token() {
        let east = regions("us-east-1", &["us-west-2"]);
        let west = regions("us-west-2", &["us-east-1", "eu-west-1"]);
        for base in 0..30 {
            let (e, w) = (east.next_epoch_above(base), west.next_epoch_above(base));
            assert_ne!(e, w, "both regions acquire epoch {e:?} above {base}");
        }
    }
}
