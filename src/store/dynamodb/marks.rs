//! Region marks in DynamoDB: `<lease>/regions/<region>`, written only by that region's
//! holders (conditional on the epoch never going down), read by key with strongly
//! consistent GetItems of the local replica. Why they exist: `crate::lease::region`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::item::{self, n, s};
use super::DynamoStore;
use crate::lease::region::mark_key;
use crate::lease::{RegionMark, StoreError};
use crate::sys::clock::wall_secs;

const EPOCH: &str = "epoch";
const SESSION: &str = "markSession";
const OWNER: &str = "markOwner";
const REGION: &str = "markRegion";

impl DynamoStore {
    pub(super) async fn get_marks(
        &self,
        regions: &[String],
    ) -> Result<Vec<RegionMark>, StoreError> {
        let mut marks = Vec::new();
        for region in regions {
            let out = self
                .connection()
                .client
                .get_item()
                .table_name(self.table_name())
                .key(item::KEY, s(&mark_key(self.lease_name(), region)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| classify(e, &self.ctx()))?;
            if let Some(found) = out.item() {
                match parse(found, region) {
                    Ok(mark) => marks.push(mark),
                    // One bad item must not block every candidate (they read the marks
                    // before acquiring) nor hide the other regions' marks from a holder:
                    // it counts as no mark, said once.
                    Err(why) => warn_once(&mark_key(self.lease_name(), region), &why),
                }
            }
        }
        Ok(marks)
    }

    pub(super) async fn put_mark(&self, mark: &RegionMark) -> Result<(), StoreError> {
        let item = HashMap::from([
            (
                item::KEY.to_string(),
                s(&mark_key(self.lease_name(), &mark.region)),
            ),
            ("markOf".to_string(), s(self.lease_name())),
            (REGION.to_string(), s(&mark.region)),
            (EPOCH.to_string(), n(mark.epoch)),
            (SESSION.to_string(), s(&mark.session)),
            (OWNER.to_string(), s(&mark.owner)),
            (item::UPDATED.to_string(), n(wall_secs())),
        ]);
        self.connection()
            .client
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k) OR #e <= :epoch")
            .expression_attribute_names("#k", item::KEY)
            .expression_attribute_names("#e", EPOCH)
            .expression_attribute_values(":epoch", n(mark.epoch))
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(())
    }
}

fn parse(item: &HashMap<String, AttributeValue>, region: &str) -> Result<RegionMark, String> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(format!(
            "region mark of {region}: {name} is missing or not a string (S)"
        )),
    };
    let epoch = match item.get(EPOCH) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| {
            format!("region mark of {region}: epoch is {v}, expected a whole number")
        })?,
        _ => {
            return Err(format!(
                "region mark of {region}: epoch is missing or not a number (N)"
            ))
        }
    };
    Ok(RegionMark {
        region: text(REGION)?,
        epoch,
        session: text(SESSION)?,
        owner: text(OWNER)?,
    })
}

/// A malformed mark is logged once per item and text, not at every read.
fn warn_once(key: &str, why: &str) {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let line = format!("{key}: {why}");
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.contains(&line) && said.len() < 64 {
        tracing::warn!(
            item = %crate::sys::printable::Printable(key),
            "region mark is malformed and is ignored (as if that region had no mark): {}; fix or \
             delete that item (its region's next holder writes it again)",
            crate::sys::printable::Printable(why)
        );
        said.push(line);
    }
}
