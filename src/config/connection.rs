//! Where the table is and how to reach it: table, region, endpoint, role to assume.

use super::region_name::check_region;
use super::resolver::{admiral_key, own_key, Resolver};
use super::{file, non_empty, parse, ConfigError, Source, StoreKind};

pub(super) struct Connection {
    pub(super) table: Option<String>,
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) role_arn: Option<String>,
}

pub(super) fn resolve_connection(
    r: &mut Resolver<'_>,
    store: StoreKind,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<Connection, ConfigError> {
    let cli = r.cli;
    let table = r.setting(
        "table",
        &cli.table,
        admiral_key("tableName", admiral.and_then(|x| x.table_name.as_ref())),
        |raw| non_empty(raw, "table name"),
        String::clone,
    )?;
    if table.is_none() && store == StoreKind::DynamoDb {
        return Err(ConfigError::new(
            "--table",
            "no table; set --table or tableName in the dynamoDB section",
        ));
    }
    let region = r.setting(
        "region",
        &cli.region,
        admiral_key("region", admiral.and_then(|x| x.region.as_ref())),
        |raw| {
            let v = non_empty(raw, "region")?;
            check_region(&v).map_err(|e| ConfigError::new(&raw.name, e))?;
            Ok(v)
        },
        String::clone,
    )?;
    let endpoint_url = r.setting(
        "endpoint-url",
        &cli.endpoint_url,
        own_key("endpointUrl", own.and_then(|o| o.endpoint_url.as_ref())),
        parse::endpoint_url,
        String::clone,
    )?;
    let role_arn = resolve_role_arn(r, admiral)?;
    Ok(Connection {
        table,
        region,
        endpoint_url,
        role_arn,
    })
}

/// An IAM role ARN, or none; an empty `role` in Admiral's file means none.
fn resolve_role_arn(
    r: &mut Resolver<'_>,
    admiral: Option<&file::AdmiralSection>,
) -> Result<Option<String>, ConfigError> {
    let file = admiral_key("role", admiral.and_then(|x| x.role.as_ref()));
    match r.pick_owned("role-arn", &r.cli.role_arn, file) {
        Some(raw) if raw.text.trim().is_empty() && raw.source == Source::File => Ok(None),
        Some(raw) => {
            let v = non_empty(&raw, "role ARN")?;
            if !v.starts_with("arn:") {
                return Err(ConfigError::new(
                    &raw.name,
                    format!(
                        "'{v}' is not an IAM role ARN; expected arn:aws:iam::ACCOUNT:role/NAME"
                    ),
                ));
            }
            r.record("role-arn", v.clone(), raw.source);
            Ok(Some(v))
        }
        None => Ok(None),
    }
}
