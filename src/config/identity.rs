//! Which store, who this pod is, and which lease it runs for: the settings with no
//! default worth guessing, so each error says where to set them.

use super::resolver::{admiral_key, own_key, Resolver};
use super::{
    check_identity, check_lease_name, file, non_empty, ConfigError, Environment, Source, StoreKind,
    DEFAULT_MEMORY_LEASE,
};

/// Explicit, or implied by Admiral's dynamoDB section. Never a silent fallback.
pub(super) fn resolve_store(
    r: &mut Resolver<'_>,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<StoreKind, ConfigError> {
    let raw = r.pick_owned(
        "store",
        &r.cli.store,
        own_key("store", own.and_then(|o| o.store.as_ref())),
    );
    let (store, source) =
        match raw {
            Some(raw) => {
                let kind = match raw.text.trim().to_ascii_lowercase().as_str() {
                    "dynamodb" => StoreKind::DynamoDb,
                    "memory" => StoreKind::Memory,
                    other => {
                        return Err(ConfigError::new(
                            &raw.name,
                            format!("unknown store '{other}'; choose dynamodb or memory"),
                        ))
                    }
                };
                (kind, raw.source)
            }
            None if admiral.is_some() => (StoreKind::DynamoDb, Source::File),
            None => return Err(ConfigError::new(
                "--store",
                "no store configured; pass --store dynamodb (with --table and --lease-name, or \
                 --config FILE holding Admiral's dynamoDB section), or --store memory for a \
                 single-process local run",
            )),
        };
    r.record("store", store.to_string(), source);
    Ok(store)
}

/// Set, else the pod name, else the hostname.
pub(super) fn resolve_identity(
    r: &mut Resolver<'_>,
    env: &Environment,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<String, ConfigError> {
    let file = admiral_key(
        "podIdentifier",
        admiral.and_then(|x| x.pod_identifier.as_ref()),
    )
    .or_else(|| own_key("identity", own.and_then(|o| o.identity.as_ref())));
    if let Some(raw) = r.pick_owned("identity", &r.cli.identity, file) {
        let v = non_empty(&raw, "identity")?;
        check_identity(&raw.name, &v)?;
        r.record("identity", v.clone(), raw.source);
        return Ok(v);
    }
    let (v, from) = match (&env.pod_name, &env.hostname) {
        (Some(p), _) if !p.trim().is_empty() => (p.trim().to_string(), "POD_NAME"),
        (_, Some(h)) if !h.trim().is_empty() => (h.trim().to_string(), "hostname"),
        _ => {
            return Err(ConfigError::new(
                "--identity",
                "no identity: set --identity, podIdentifier in the file, or POD_NAME \
                 (the pod name from the downward API); the hostname was unavailable",
            ))
        }
    };
    check_identity(from, &v)?;
    r.record("identity", format!("{v} (from {from})"), Source::Default);
    Ok(v)
}

/// Required with DynamoDB (every candidate of one controller must use the same name).
pub(super) fn resolve_lease_name(
    r: &mut Resolver<'_>,
    store: StoreKind,
    identity: &str,
    admiral: Option<&file::AdmiralSection>,
) -> Result<String, ConfigError> {
    let file = admiral_key("leaseName", admiral.and_then(|x| x.lease_name.as_ref()));
    match r.pick_owned("lease-name", &r.cli.lease_name, file) {
        Some(raw) => {
            let v = non_empty(&raw, "lease name")?;
            check_lease_name(&raw.name, &v, identity)?;
            r.record("lease-name", v.clone(), raw.source);
            Ok(v)
        }
        None if store == StoreKind::Memory => {
            r.record("lease-name", DEFAULT_MEMORY_LEASE.into(), Source::Default);
            Ok(DEFAULT_MEMORY_LEASE.into())
        }
        None => Err(ConfigError::new(
            "--lease-name",
            "no lease name; set --lease-name or leaseName in the dynamoDB section (every \
             candidate of one controller must use the same name)",
        )),
    }
}
