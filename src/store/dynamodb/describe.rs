//! What the table says it is (`DescribeTable`): one region, multi-Region eventually
//! consistent (MREC) or strongly consistent (MRSC), and the regions of its replicas. The
//! sidecar reads it at start and every few minutes while it runs (one call each time).

use aws_sdk_dynamodb::types::{MultiRegionConsistency, TableDescription};

use super::errors::{classify, CallContext};
use super::Connection;
use crate::store::StoreError;

/// The global table version whose replicas `DescribeTable` does not list.
pub const LEGACY_VERSION: &str = "2017.11.29";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// No replica in another region.
    OneRegion,
    /// MREC: each region's conditional writes check only its own replica.
    Eventual,
    /// MRSC: one linearizable copy across the regions.
    Strong,
}

/// The table as its description says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub consistency: Consistency,
    /// Every region with a replica, the one asked included, sorted; for a legacy global
    /// table (version 2017.11.29) only the one asked: its replicas are not described.
    pub replicas: Vec<String>,
    /// The witness region of an MRSC table with two replicas.
    pub witness: Option<String>,
    /// `GlobalTableVersion`, when the table is global.
    pub version: Option<String>,
    /// Replicas that are not ACTIVE, as `region (STATUS)`.
    pub unsettled: Vec<String>,
}

impl TableShape {
    /// The regions with a replica other than `own`.
    pub fn other_regions(&self, own: &str) -> Vec<String> {
        self.replicas
            .iter()
            .filter(|r| *r != own)
            .cloned()
            .collect()
    }

    /// A legacy global table: replicated, but `DescribeTable` does not say where.
    pub fn is_legacy(&self) -> bool {
        self.version.as_deref() == Some(LEGACY_VERSION)
    }
}

/// The shape of a description read in region `own`. Whether `Replicas` lists the region
/// asked or only the others, the result is the same. `EVENTUAL` without a replica in
/// another region is one region: nothing else writes it.
pub fn shape_of(desc: &TableDescription, own: &str) -> TableShape {
    let mut replicas: Vec<String> = desc
        .replicas()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .chain(std::iter::once(own.to_string()))
        .collect();
    replicas.sort();
    replicas.dedup();
    let unsettled = desc
        .replicas()
        .iter()
        .filter_map(|r| {
            let status = r.replica_status()?.as_str();
            (status != "ACTIVE").then(|| format!("{} ({status})", r.region_name().unwrap_or("?")))
        })
        .collect();
    let version = desc.global_table_version().map(str::to_string);
    let legacy = version.as_deref() == Some(LEGACY_VERSION);
    let consistency = match desc.multi_region_consistency() {
        Some(MultiRegionConsistency::Strong) => Consistency::Strong,
        _ if replicas.len() > 1 || legacy => Consistency::Eventual,
        _ => Consistency::OneRegion,
    };
    let witness = desc
        .global_table_witnesses()
        .iter()
        .find_map(|w| w.region_name().map(str::to_string));
    TableShape {
        consistency,
        replicas,
        witness,
        version,
        unsettled,
    }
}

/// Reads the table's description in the connection's region (one `DescribeTable`).
pub async fn describe_shape(conn: &Connection, table: &str) -> Result<TableShape, StoreError> {
    let ctx = CallContext {
        table,
        region: &conn.region,
        timeout: conn.call_timeout,
    };
    let out = conn
        .client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(e, &ctx))?;
    let desc = out
        .table()
        .ok_or_else(|| StoreError::Rejected("DescribeTable returned no table".into()))?;
    Ok(shape_of(desc, &conn.region))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        GlobalTableWitnessDescription, ReplicaDescription, ReplicaStatus,
    };

    use super::*;

    fn replica(region: &str, status: ReplicaStatus) -> ReplicaDescription {
        ReplicaDescription::builder()
            .region_name(region)
            .replica_status(status)
            .build()
    }

    #[test]
    fn a_table_without_replicas_is_one_region() {
        let shape = shape_of(&TableDescription::builder().build(), "us-east-1");
        assert_eq!(shape.consistency, Consistency::OneRegion);
        assert_eq!(shape.replicas, vec!["us-east-1"]);
    }

    #[test]
    fn replicas_listed_with_or_without_the_region_asked_give_one_shape() {
        let others = TableDescription::builder()
            .global_table_version("2019.11.21")
            .replicas(replica("us-west-2", ReplicaStatus::Active))
            .build();
        let all = TableDescription::builder()
            .global_table_version("2019.11.21")
            .replicas(replica("us-west-2", ReplicaStatus::Active))
            .replicas(replica("us-east-1", ReplicaStatus::Creating))
            .build();
        for desc in [others, all.clone()] {
            let shape = shape_of(&desc, "us-east-1");
            assert_eq!(shape.consistency, Consistency::Eventual);
            assert_eq!(shape.other_regions("us-east-1"), vec!["us-west-2"]);
        }
        assert_eq!(
            shape_of(&all, "us-east-1").unsettled,
            vec!["us-east-1 (CREATING)"]
        );
    }

    #[test]
    fn strong_consistency_and_the_witness_are_read() {
        let desc = TableDescription::builder()
            .multi_region_consistency(MultiRegionConsistency::Strong)
            .replicas(replica("us-east-2", ReplicaStatus::Active))
            .global_table_witnesses(
                GlobalTableWitnessDescription::builder()
                    .region_name("us-west-2")
                    .build(),
            )
            .build();
        let shape = shape_of(&desc, "us-east-1");
        assert_eq!(shape.consistency, Consistency::Strong);
        assert_eq!(shape.witness.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn a_legacy_global_table_is_eventual_with_unknown_replicas() {
        let desc = TableDescription::builder()
            .global_table_version(LEGACY_VERSION)
            .build();
        let shape = shape_of(&desc, "us-east-1");
        assert_eq!(shape.consistency, Consistency::Eventual);
        assert!(shape.is_legacy());
        assert!(shape.other_regions("us-east-1").is_empty());
    }
}
