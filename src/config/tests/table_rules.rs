//! The rules the table's description implies (docs/regions.md, *Across regions*), one test per
//! answer: one region, MREC (peer regions from the table, given ones checked, confirm
//! delay 0 refused or accepted, failback refused), MRSC, the mode stated by hand.

use super::*;
use crate::config::table_rules::{settle, Mode, TableMode};
use crate::store::dynamodb::describe::{Consistency, TableShape};

fn dynamo(f: impl FnOnce(&mut CommandLine)) -> Settings {
    let mut c = CommandLine {
        store: Some("dynamodb".into()),
        table: Some("t".into()),
        lease_name: Some("l".into()),
        region: Some("us-east-1".into()),
        ..cli()
    };
    f(&mut c);
    resolve(&c, "").expect("settings resolve")
}

fn shape(consistency: Consistency, replicas: &[&str]) -> Option<TableShape> {
    Some(TableShape {
        consistency,
        replicas: replicas.iter().map(|r| r.to_string()).collect(),
        witness: None,
        version: Some("2019.11.21".into()),
        unsettled: Vec::new(),
    })
}

fn mrec() -> Option<TableShape> {
    shape(
        Consistency::Eventual,
        &["eu-west-1", "us-east-1", "us-west-2"],
    )
}

fn err(mut s: Settings, table: Option<TableShape>) -> String {
    settle(&mut s, table).unwrap_err().to_string()
}

#[test]
fn one_region_runs_as_before_and_says_peer_regions_do_nothing() {
    let mut s = dynamo(|_| {});
    let rules = settle(&mut s, shape(Consistency::OneRegion, &["us-east-1"])).unwrap();
    assert_eq!(rules.mode, Mode::OneRegion);
    assert!(rules.notes.is_empty() && rules.outside_rule.is_none());
    assert!(s.peer_regions.is_empty());
    // Peer regions need a confirm delay whatever the table (refused before it is read).
    let mut s = dynamo(|c| {
        c.peer_regions = Some("us-west-2".into());
        c.confirm_delay = Some("1s".into());
    });
    let rules = settle(&mut s, shape(Consistency::OneRegion, &["us-east-1"])).unwrap();
    assert!(
        rules.notes.iter().any(|n| n.contains("does nothing")),
        "{:?}",
        rules.notes
    );
}

#[test]
fn on_mrec_the_peer_regions_come_from_the_table_unless_given() {
    let mut s = dynamo(|c| c.confirm_delay = Some("2500ms".into()));
    let rules = settle(&mut s, mrec()).unwrap();
    assert_eq!(rules.mode, Mode::Mrec);
    assert_eq!(s.peer_regions, vec!["eu-west-1", "us-west-2"]);
    assert_eq!(
        rules.from_table,
        vec![("peer-regions", "eu-west-1,us-west-2".into())]
    );
    assert!(s
        .provenance
        .contains(&("peer-regions", "eu-west-1,us-west-2".into(), Source::Table)));
    // Given in another order: the same set, accepted as given.
    let mut s = dynamo(|c| {
        c.confirm_delay = Some("2500ms".into());
        c.peer_regions = Some("us-west-2,eu-west-1".into());
    });
    assert!(settle(&mut s, mrec()).unwrap().from_table.is_empty());
}

#[test]
fn given_peer_regions_that_miss_a_replica_or_name_another_region_are_refused() {
    let e = err(
        dynamo(|c| {
            c.confirm_delay = Some("2500ms".into());
            c.peer_regions = Some("us-west-2,ap-south-1".into());
        }),
        mrec(),
    );
    assert!(e.starts_with("--peer-regions:"), "{e}");
    assert!(e.contains("[us-west-2,ap-south-1]"), "{e}");
    assert!(e.contains("[eu-west-1,us-west-2]"), "{e}");
    assert!(
        e.contains("missing eu-west-1") && e.contains("not a replica region: ap-south-1"),
        "{e}"
    );
}

#[test]
fn a_confirm_delay_of_zero_on_mrec_is_refused_unless_accepted_by_name() {
    let e = err(dynamo(|_| {}), mrec());
    assert!(e.starts_with("confirmDelay (not set):"), "{e}");
    assert!(e.contains("more than twice the replication lag"), "{e}");
    assert!(
        e.contains("lag of up to 1s") && e.contains("--accept-outside-rule"),
        "{e}"
    );
    let mut s = dynamo(|c| c.accept_outside_rule = Some("true".into()));
    let rules = settle(&mut s, mrec()).unwrap();
    assert!(rules
        .outside_rule
        .is_some_and(|w| w.contains("confirmDelay is 0")));
    // Stated by hand as one write region: no confirm delay needed, no peers.
    let mut s = dynamo(|c| c.table_mode = Some("one-write-region".into()));
    assert_eq!(s.table_mode.mode, TableMode::OneWriteRegion);
    assert_eq!(settle(&mut s, None).unwrap().mode, Mode::OneWriteRegion);
}

#[test]
fn failback_stays_refused_on_mrec_even_with_peers_from_the_table() {
    let e = err(
        dynamo(|c| {
            c.confirm_delay = Some("2500ms".into());
            c.failback_after = Some("1m".into());
        }),
        mrec(),
    );
    assert!(
        e.starts_with("--failback-after:") && e.contains("handover"),
        "{e}"
    );
}

#[test]
fn mrsc_needs_no_marks_nor_confirm_delay_and_says_so() {
    let mut s = dynamo(|_| {});
    let table = shape(
        Consistency::Strong,
        &["us-east-1", "us-east-2", "us-west-2"],
    );
    let rules = settle(&mut s, table).unwrap();
    assert_eq!(rules.mode, Mode::Mrsc);
    assert!(s.peer_regions.is_empty());
    assert!(rules.notes[0].contains("no region marks and no confirm delay are needed"));
}

#[test]
fn mrec_stated_by_hand_or_a_legacy_table_needs_the_peer_regions_given() {
    let e = err(
        dynamo(|c| {
            c.table_mode = Some("mrec".into());
            c.confirm_delay = Some("2s".into());
        }),
        None,
    );
    assert!(
        e.contains("stated by hand") && e.contains("peerRegions"),
        "{e}"
    );
    let legacy = Some(TableShape {
        version: Some("2017.11.29".into()),
        ..shape(Consistency::Eventual, &["us-east-1"]).unwrap()
    });
    let e = err(dynamo(|c| c.confirm_delay = Some("2s".into())), legacy);
    assert!(e.contains("2017.11.29"), "{e}");
    let e = resolve(
        &CommandLine {
            table_mode: Some("global".into()),
            ..memory()
        },
        "",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a table mode"), "{e}");
}

#[test]
fn region_names_are_checked_one_way_for_region_and_peers() {
    for (region, peers) in [
        ("US-WEST-2", None),
        ("us-east-1", Some("west-2")),
        ("us-east-1", Some("useast1")),
        ("us-east-1", Some("US-EAST-1")),
    ] {
        let c = CommandLine {
            store: Some("dynamodb".into()),
            table: Some("t".into()),
            lease_name: Some("l".into()),
            region: Some(region.into()),
            peer_regions: peers.map(String::from),
            ..cli()
        };
        let e = resolve(&c, "").unwrap_err().to_string();
        assert!(
            e.contains("is not an AWS region name"),
            "{region} {peers:?}: {e}"
        );
    }
}
