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

/// The tenure a region's confirmed holder had when it wrote its mark.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegionMark {
    pub region: String,
    pub epoch: u64,
    pub session: String,
    pub owner: String,
}

impl RegionMark {
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
}
