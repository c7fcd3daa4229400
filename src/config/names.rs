//! Limits on the lease name and the identity that come from how the items are keyed and
//! what the table's values mean.

use super::ConfigError;
use crate::lease::{FROZEN_OWNER, HANDOVER_ANY};
use crate::store::dynamodb::heartbeat::HEARTBEAT_INFIX;
use crate::sys::printable::{is_unprintable, Printable};

/// An identity is written as `leaseOwner` and shown in logs, `status` and `handover`: no
/// control characters (they would be escaped everywhere, and no operator could type the
/// name back), and not one of the owner values that mean something else.
pub(super) fn check_identity(field: &str, identity: &str) -> Result<(), ConfigError> {
    if let Some(c) = identity.chars().find(|c| is_unprintable(*c)) {
        return Err(ConfigError::new(
            field,
            format!(
                "identity '{}' contains the control character {}; use letters, digits, '-', '.' \
                 or '_' (a pod name is always fine)",
                Printable(identity),
                c.escape_default()
            ),
        ));
    }
    let reserved = match identity {
        FROZEN_OWNER => "freezing the lease",
        HANDOVER_ANY => "a handover to any candidate",
        _ => return Ok(()),
    };
    Err(ConfigError::new(
        field,
        format!("'{identity}' is reserved for {reserved}; choose another identity"),
    ))
}

/// DynamoDB's limit on a partition key value, in bytes.
const MAX_KEY_BYTES: usize = 2048;

/// The lease name is a partition key, and so is each candidate's heartbeat key,
/// `<lease>/candidates/<identity>`: both must fit, and no two leases' keys may collide.
pub(super) fn check_lease_name(
    field: &str,
    lease: &str,
    identity: &str,
) -> Result<(), ConfigError> {
    // Every item drlease keeps beside the lease is keyed `<lease>/<kind>/...`: a lease
    // named `a/regions/x` would be lease `a`'s region mark, `a/history/3` its history.
    if lease.contains('/') {
        return Err(ConfigError::new(
            field,
            format!(
                "lease name '{lease}' contains '/', which drlease uses in the keys of the items \
                 it keeps beside the lease (<lease>{HEARTBEAT_INFIX}..., /claims/, /regions/, \
                 /history/), so another lease's items could be read as this one's; choose a \
                 name without '/'"
            ),
        ));
    }
    let key_bytes = lease.len() + HEARTBEAT_INFIX.len() + identity.len();
    if key_bytes > MAX_KEY_BYTES {
        return Err(ConfigError::new(
            field,
            format!(
                "lease name is {} bytes: with the heartbeat key '<lease>{HEARTBEAT_INFIX}<identity>' \
                 ({key_bytes} bytes for identity '{}') it exceeds DynamoDB's {MAX_KEY_BYTES}-byte \
                 key limit; use a shorter lease name or identity",
                lease.len(),
                truncated(identity, 40),
            ),
        ));
    }
    Ok(())
}

fn truncated(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}
