//! Random tokens: per-process sessions, and versions written by operator commands.

/// 24 hex characters of OS randomness.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness from the OS for a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
