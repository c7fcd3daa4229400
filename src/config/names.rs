//! Limits on the lease name that come from how the items are keyed.

use super::ConfigError;
use crate::store::dynamodb::heartbeat::HEARTBEAT_INFIX;

/// DynamoDB's limit on a partition key value, in bytes.
const MAX_KEY_BYTES: usize = 2048;

/// The lease name is a partition key, and so is each candidate's heartbeat key,
/// `<lease>/candidates/<identity>`: both must fit, and they must not collide.
pub(super) fn check_lease_name(
    field: &str,
    lease: &str,
    identity: &str,
) -> Result<(), ConfigError> {
    if lease.contains(HEARTBEAT_INFIX) {
        return Err(ConfigError::new(
            field,
            format!(
                "lease name '{lease}' contains '{HEARTBEAT_INFIX}', which drlease uses for \
                 heartbeat keys; choose a name without it"
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
