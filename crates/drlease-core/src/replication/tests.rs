use super::*;
use crate::{RegionMark, ReleaseClaim};

#[test]
fn only_a_later_write_replaces_a_replicas_copy() {
    assert!(later_write_wins(None, &1));
    assert!(later_write_wins(Some(&1), &2));
    assert!(
        !later_write_wins(Some(&2), &2),
        "the same write arriving again"
    );
    assert!(
        !later_write_wins(Some(&3), &2),
        "an older write arriving late"
    );
}

fn mark(region: &str, epoch: u64) -> RegionMark {
    RegionMark {
        region: region.into(),
        epoch,
        session: format!("s{epoch}"),
        owner: "o".into(),
    }
}

fn claim(session: &str) -> ReleaseClaim {
    ReleaseClaim {
        release_version: "v1".into(),
        session: session.into(),
        owner: "o".into(),
    }
}

/// Each replica checks a claim against its own copy: two regions can both claim one
/// release, and once the copies have crossed, both replicas keep the later claim.
#[test]
fn two_replicas_agree_on_the_later_of_two_claims_once_both_copies_arrived() {
    let (mut east, mut west) = (Replica::<u32>::default(), Replica::<u32>::default());
    let a = east.claim(&claim("a"), Some(1)).unwrap().unwrap();
    let b = west.claim(&claim("b"), Some(2)).unwrap().unwrap();
    assert_eq!(east.claim(&claim("b"), Some(3)), Err(Refused));
    assert!(east.receive(&b), "the later claim replaces the earlier");
    assert!(
        !west.receive(&a),
        "the earlier claim arrives late and is dropped"
    );
    assert_eq!(east.claimed_by("v1"), Some("b"));
    assert_eq!(west.claimed_by("v1"), Some("b"));
    assert_eq!(east, west);
}

/// A mark's condition is checked where it is written; a replicated copy is applied by its
/// stamp alone, as DynamoDB applies replicated writes.
#[test]
fn a_replicated_copy_is_applied_by_its_stamp_not_by_the_condition() {
    let mut east = Replica::<u32>::default();
    let mut west = Replica::<u32>::default();
    west.write_mark(&mark("east", 7), Some(1)).unwrap();
    let sent = east.write_mark(&mark("east", 5), Some(2)).unwrap().unwrap();
    assert_eq!(sent.key(), Key::Mark("east".into()));
    assert!(west.receive(&sent));
    assert_eq!(west.mark("east"), Some(&mark("east", 5)));
    assert!(!west.receive(&sent), "the same write arriving again");
}

/// A table of one copy: nothing is stamped and nothing is sent on.
#[test]
fn an_unstamped_write_sends_nothing() {
    let mut one = Replica::<u32>::new(None);
    assert_eq!(one.write_mark(&mark("r", 1), None), Ok(None));
    let written = one.put_item(None, None);
    assert_eq!((written.replaced, written.sent), (None, None));
    assert_eq!(one.stamps().count(), 0);
}

#[test]
fn restamping_keeps_what_each_key_holds() {
    let mut r = Replica::<u32>::default();
    r.write_mark(&mark("r", 1), Some(10)).unwrap();
    r.put_item(None, Some(20));
    r.restamp(|s| s / 10);
    assert_eq!(r.stamp(&Key::Mark("r".into())), Some(&1));
    assert_eq!(r.stamp(&Key::Item), Some(&2));
}
