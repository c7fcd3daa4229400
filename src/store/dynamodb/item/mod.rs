//! The lease item's DynamoDB encoding: parsing it strictly, and building the conditional
//! update that writes it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::lease::operator::HandoverRequest;
use crate::lease::record::MAX_STORED_LEASE_DURATION_MS;
use crate::lease::{Expect, HandoverWrite, LeaseRecord, VersionKey, WriteRequest, FROZEN_OWNER};

pub const KEY: &str = "leaseName";
pub const OWNER: &str = "leaseOwner";
pub const UPDATED: &str = "updatedTime";
pub const NOTES: &str = "notes";
pub const VERSION: &str = "leaseVersion";
pub const EPOCH: &str = "epoch";
pub const DURATION: &str = "leaseDurationMs";
pub const SESSION: &str = "ownerSession";
pub const HANDOVER: &str = "handoverTo";
pub const HANDOVER_FROM: &str = "handoverFrom";
pub const RELEASED_BY: &str = "releasedBy";
pub const RELEASED_FROM: &str = "releasedFrom";
pub const OWNER_PRIORITY: &str = "ownerPriority";
pub const HANDOVER_REASON: &str = "handoverReason";
pub const HANDOVER_ID: &str = "handoverId";

type Item = HashMap<String, AttributeValue>;

fn type_name(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::Null(_) => "null (NULL)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::Ss(_) => "a string set (SS)",
        AttributeValue::Ns(_) => "a number set (NS)",
        AttributeValue::Bs(_) => "a binary set (BS)",
        _ => "an unknown type",
    }
}

fn string(item: &Item, name: &str) -> Result<Option<String>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{name} is {}, expected a string (S)",
            type_name(other)
        )),
    }
}

fn number<T: std::str::FromStr>(item: &Item, name: &str, what: &str) -> Result<Option<T>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} is {n}, expected {what}")),
        Some(other) => Err(format!(
            "{name} is {}, expected a number (N)",
            type_name(other)
        )),
    }
}

/// Parses an item. Anything drlease relies on that has the wrong type is an error: a
/// candidate must never take over on the strength of garbage.
pub fn parse(item: &Item) -> Result<LeaseRecord, String> {
    let owner = string(item, OWNER)?.ok_or_else(|| format!("{OWNER} is missing"))?;
    let lease_duration_ms: Option<u64> = number(item, DURATION, "a whole number of milliseconds")?;
    if let Some(ms) = lease_duration_ms {
        if ms > MAX_STORED_LEASE_DURATION_MS {
            return Err(format!(
                "{DURATION} is {ms}, more than the {MAX_STORED_LEASE_DURATION_MS} allowed"
            ));
        }
    }
    Ok(LeaseRecord {
        owner,
        updated_time: number(item, UPDATED, "whole epoch seconds")?,
        notes: string(item, NOTES)?,
        version: string(item, VERSION)?,
        epoch: number(
            item,
            EPOCH,
            "a whole number from 0 to 18446744073709551615 (above that no fencing token is \
             left: stop every drlease of this lease, delete the item, then start them)",
        )?,
        lease_duration_ms,
        owner_session: string(item, SESSION)?,
        handover_to: string(item, HANDOVER)?,
        handover_from: string(item, HANDOVER_FROM)?,
        released_by: string(item, RELEASED_BY)?,
        released_from: string(item, RELEASED_FROM)?,
        owner_priority: number(
            item,
            OWNER_PRIORITY,
            "a whole number from -2147483648 to 2147483647",
        )?,
        handover_reason: string(item, HANDOVER_REASON)?,
        handover_id: string(item, HANDOVER_ID)?,
    })
}

/// The pieces of one UpdateItem call.
#[derive(Debug, Default, PartialEq)]
pub struct Update {
    pub update_expression: String,
    pub condition_expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// A string (S) attribute value.
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// A number (N) attribute value.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Builds the conditional update for a write. Placeholders are single letters so that
/// only the names an expression really uses get declared (DynamoDB rejects unused ones).
pub fn update_for(req: &WriteRequest, wall_secs: i64) -> Update {
    let mut values = HashMap::from([
        (":owner".to_string(), s(&req.new.owner)),
        (":session".to_string(), s(&req.new.session)),
        (":version".to_string(), s(&req.new.version)),
        (":epoch".to_string(), n(req.new.epoch)),
        (":dur".to_string(), n(req.new.lease_duration_ms)),
        (":updated".to_string(), n(wall_secs)),
        (
            ":notes".to_string(),
            s(&format!("Created by drlease at {wall_secs}")),
        ),
    ]);
    let mut set = vec![
        "#o = :owner",
        "#s = :session",
        "#v = :version",
        "#e = :epoch",
        "#d = :dur",
        "#u = :updated",
        "#n = if_not_exists(#n, :notes)",
    ];
    let mut remove = Vec::new();
    match &req.new.handover {
        HandoverWrite::Keep => {}
        HandoverWrite::Clear => remove.extend(["#h", "#f", "#r", "#hid"]),
        HandoverWrite::Set { to, from } => {
            set.extend(["#h = :hto", "#f = :hfrom"]);
            values.insert(":hto".into(), s(to));
            values.insert(":hfrom".into(), s(from));
        }
    }
    // Release markers are set by the write that releases and removed by every other.
    for (value, placeholder, assignment, name) in [
        (&req.new.released_by, "#rb", "#rb = :rby", ":rby"),
        (&req.new.released_from, "#rf", "#rf = :rfrom", ":rfrom"),
    ] {
        match value {
            Some(v) => {
                set.push(assignment);
                values.insert(name.into(), s(v));
            }
            None => remove.push(placeholder),
        }
    }
    match req.new.priority {
        Some(p) => {
            set.push("#p = :prio");
            values.insert(":prio".into(), n(p));
        }
        None => remove.push("#p"),
    }
    let mut update_expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        update_expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    let condition_expression = condition(&req.expect, &mut values);
    let all_names = [
        ("#k", KEY),
        ("#o", OWNER),
        ("#s", SESSION),
        ("#v", VERSION),
        ("#e", EPOCH),
        ("#d", DURATION),
        ("#u", UPDATED),
        ("#n", NOTES),
        ("#h", HANDOVER),
        ("#f", HANDOVER_FROM),
        ("#rb", RELEASED_BY),
        ("#rf", RELEASED_FROM),
        ("#p", OWNER_PRIORITY),
        ("#r", HANDOVER_REASON),
        ("#hid", HANDOVER_ID),
    ];
    Update::new(update_expression, condition_expression, &all_names, values)
}

/// The compare half of a write. It mirrors `LeaseRecord::satisfies` (crates/drlease-core/src/record.rs),
/// the rule the memory store and the core reason with: change both together.
/// `tests/dynamodb_store.rs` (memory_and_dynamodb_agree_on_every_condition) holds them alike.
fn condition(expect: &Expect, values: &mut HashMap<String, AttributeValue>) -> String {
    match expect {
        Expect::AsRead {
            key,
            handover_to,
            handover_id,
        } => {
            let version = version_condition(key, values);
            let request = match handover_to {
                Some(to) => {
                    values.insert(":expHandoverTo".into(), s(to));
                    "#h = :expHandoverTo"
                }
                None => "attribute_not_exists(#h)",
            };
            let write = match handover_id {
                Some(id) => {
                    values.insert(":expHandoverId".into(), s(id));
                    "#hid = :expHandoverId"
                }
                None => "attribute_not_exists(#hid)",
            };
            format!("{version} AND {request} AND {write}")
        }
        Expect::Absent => "attribute_not_exists(#k)".to_string(),
        Expect::Version(key) => version_condition(key, values),
        Expect::Held {
            owner,
            session,
            version,
        } => {
            values.insert(":expOwner".into(), s(owner));
            values.insert(":expSession".into(), s(session));
            values.insert(":expVersion".into(), s(version));
            "#o = :expOwner AND #s = :expSession AND #v = :expVersion".to_string()
        }
    }
}

/// The item is still the version observed: its token, or for a legacy item (Admiral's, no
/// token) its owner and update time.
fn version_condition(key: &VersionKey, values: &mut HashMap<String, AttributeValue>) -> String {
    match key {
        VersionKey::Token(v) => {
            values.insert(":expVersion".into(), s(v));
            "#v = :expVersion".to_string()
        }
        VersionKey::Legacy {
            owner,
            updated_time,
        } => {
            values.insert(":expOwner".into(), s(owner));
            match updated_time {
                Some(t) => {
                    values.insert(":expUpdated".into(), n(t));
                    "attribute_not_exists(#v) AND #o = :expOwner AND #u = :expUpdated".to_string()
                }
                None => "attribute_not_exists(#v) AND #o = :expOwner AND attribute_not_exists(#u)"
                    .to_string(),
            }
        }
    }
}

impl Update {
    /// Declares, out of `all` (placeholder, attribute), only the names the expressions use.
    fn new(
        update_expression: String,
        condition_expression: String,
        all: &[(&str, &str)],
        values: HashMap<String, AttributeValue>,
    ) -> Update {
        Update {
            names: used_names(all, &update_expression, &condition_expression),
            update_expression,
            condition_expression,
            values,
        }
    }
}

/// The placeholders `update` or `condition` use, with the attribute each stands for
/// (DynamoDB rejects declared names an expression does not use).
fn used_names(all: &[(&str, &str)], update: &str, condition: &str) -> HashMap<String, String> {
    // Longest placeholder first, so that `#r` is not found inside `#rb`.
    let mut sorted: Vec<_> = all.to_vec();
    sorted.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    let mut rest = format!("{update} {condition}");
    let mut names = HashMap::new();
    for (p, a) in sorted {
        if rest.contains(p) {
            names.insert(p.to_string(), a.to_string());
            rest = rest.replace(p, "");
        }
    }
    names
}

/// The conditional update for a handover request ([`HandoverRequest::apply_to`] is the
/// rule it encodes). The version is left as it is.
pub fn handover_request(req: &HandoverRequest) -> Update {
    let mut values = HashMap::from([
        (":target".to_string(), s(&req.target)),
        (":hid".to_string(), s(&req.id)),
        (":version".to_string(), s(&req.expect_version)),
        (":released".to_string(), s("")),
        (":frozen".to_string(), s(FROZEN_OWNER)),
    ]);
    let mut condition_expression =
        "#v = :version AND #o <> :released AND #o <> :frozen".to_string();
    let update_expression = if req.failback {
        // No live request there: none, or a stale one naming the holder itself.
        condition_expression.push_str(" AND (attribute_not_exists(#h) OR #h = #o)");
        values.insert(
            ":reason".to_string(),
            s(crate::lease::record::HANDOVER_REASON_FAILBACK),
        );
        "SET #h = :target, #hid = :hid, #r = :reason".to_string()
    } else {
        "SET #h = :target, #hid = :hid REMOVE #r".to_string()
    };
    let all_names = [
        ("#hid", HANDOVER_ID),
        ("#h", HANDOVER),
        ("#v", VERSION),
        ("#o", OWNER),
        ("#r", HANDOVER_REASON),
    ];
    Update::new(update_expression, condition_expression, &all_names, values)
}

#[cfg(test)]
mod tests;
