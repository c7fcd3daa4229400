//! Settings: flags beat environment, environment beats the file, the file beats defaults.
//! Validated once, here; everything downstream takes the result as given.

use std::net::SocketAddr;
use std::time::Duration;

mod affinity;
mod command_line;
mod eligibility;
mod env_names;
pub mod file;
mod file_values;
mod health_url;
mod lease_timing;
mod names;
mod parse;
mod serving;
mod types;

pub use crate::sys::logging::LogFormat;
use affinity::{resolve_affinity, resolve_peer_regions};
pub use command_line::CommandLine;
use eligibility::resolve_eligibility;
pub use eligibility::EligibilitySettings;
use lease_timing::resolve_timing;
use names::{check_identity, check_lease_name};
use parse::{non_empty, parse_positive_duration};
use serving::resolve_serving;
pub use serving::ServingSettings;
pub use types::{ConfigError, Source, StoreKind};

pub use health_url::HealthUrl;

use crate::sys::duration::{format_duration, parse_duration};
use file::FileConfig;

pub use crate::lease::timing::{Timing, TimingError};
use crate::store::dynamodb::ConnectOptions;

pub const DEFAULT_LISTEN: &str = "0.0.0.0:9797";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
pub const DEFAULT_MEMORY_LEASE: &str = "drlease";

/// What the process environment contributes besides `DRLEASE_*` (the identity fallbacks).
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub pod_name: Option<String>,
    pub hostname: Option<String>,
    /// The names of the `DRLEASE_*` variables set, to warn about misspelt ones.
    pub drlease_vars: Vec<String>,
}

/// The effective, validated settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub store: StoreKind,
    pub listen: SocketAddr,
    pub identity: String,
    pub lease_name: String,
    pub table: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub role_arn: Option<String>,
    pub timing: Timing,
    pub log_format: LogFormat,
    pub eligibility: EligibilitySettings,
    /// Keep a heartbeat item per candidate in the table (for `drlease status`, handover).
    pub heartbeat: bool,
    pub serving: ServingSettings,
    /// Priority, failback, observer.
    pub affinity: crate::lease::core::Affinity,
    /// The other regions of a multi-Region eventually consistent table (region marks).
    pub peer_regions: Vec<String>,
    /// Problems worth a warning that do not stop the process (unknown keys in Admiral's
    /// section of the file, which Admiral reads too).
    pub warnings: Vec<String>,
    /// Each setting's name, effective value and source, for `check-config` and the log.
    pub provenance: Vec<(&'static str, String, Source)>,
}

/// One raw value and where it came from, so an error can name the exact flag, variable
/// or file key the user has to fix.
struct Raw {
    text: String,
    source: Source,
    name: String,
}

struct Resolver<'a> {
    cli: &'a CommandLine,
    file_path: String,
    provenance: Vec<(&'static str, String, Source)>,
}

impl Resolver<'_> {
    /// The flag or environment value of setting `id`, else the file's.
    fn pick(
        &self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(&str, String)>,
    ) -> Option<Raw> {
        if let Some(text) = cli {
            let source = self
                .cli
                .sources
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, s)| *s)
                .unwrap_or(Source::Flag);
            let name = match source {
                Source::Env => format!("DRLEASE_{}", id.to_uppercase().replace('-', "_")),
                _ => format!("--{id}"),
            };
            return Some(Raw {
                text: text.clone(),
                source,
                name,
            });
        }
        file.map(|(key, text)| Raw {
            text,
            source: Source::File,
            name: format!("{key} in {}", self.file_path),
        })
    }

    fn record(&mut self, id: &'static str, value: String, source: Source) {
        self.provenance.push((id, value, source));
    }

    /// One setting: the flag or environment value, else the file's (`file`: key and text),
    /// parsed by `parse`; records the effective value (as `show` writes it) and its source.
    /// `None` when it is set nowhere.
    fn setting<T>(
        &mut self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
        parse: impl FnOnce(&Raw) -> Result<T, ConfigError>,
        show: impl Fn(&T) -> String,
    ) -> Result<Option<T>, ConfigError> {
        let file = file.as_ref().map(|(k, v)| (k.as_str(), v.clone()));
        let Some(raw) = self.pick(id, cli, file) else {
            return Ok(None);
        };
        let value = parse(&raw)?;
        self.record(id, show(&value), raw.source);
        Ok(Some(value))
    }

    /// As [`Resolver::setting`], with a default (recorded as the default) when unset.
    fn setting_or<T>(
        &mut self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
        parse: impl FnOnce(&Raw) -> Result<T, ConfigError>,
        show: impl Fn(&T) -> String,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.setting(id, cli, file, parse, &show)? {
            Some(value) => Ok(value),
            None => {
                self.record(id, show(&default), Source::Default);
                Ok(default)
            }
        }
    }
}

impl Settings {
    /// How to reach DynamoDB with these settings. The lease loop retries on its own
    /// schedule (one attempt per call); one-shot operator commands can afford the SDK's.
    pub fn connect_options(&self, call_timeout: Duration, max_attempts: u32) -> ConnectOptions {
        ConnectOptions {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            role_arn: self.role_arn.clone(),
            call_timeout,
            max_attempts,
            identity: self.identity.clone(),
        }
    }

    /// Loads the file named by `cli.config` (if any) and resolves every setting.
    pub fn resolve(cli: &CommandLine, env: &Environment) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        Self::resolve_with_file(cli, env, &file)
    }

    pub fn resolve_with_file(
        cli: &CommandLine,
        env: &Environment,
        file: &FileConfig,
    ) -> Result<Settings, ConfigError> {
        let mut r = Resolver {
            cli,
            file_path: cli
                .config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the config file".into()),
            provenance: Vec::new(),
        };
        let admiral = file.dynamodb.as_ref();
        let own = file.drlease.as_ref();
        let a = |key: &str, v: Option<&String>| v.map(|v| (format!("dynamoDB.{key}"), v.clone()));
        let d = |key: &str, v: Option<&String>| v.map(|v| (format!("drlease.{key}"), v.clone()));
        macro_rules! pick {
            ($id:expr, $cli:expr, $file:expr) => {{
                let f: Option<(String, String)> = $file;
                r.pick($id, $cli, f.as_ref().map(|(k, v)| (k.as_str(), v.clone())))
            }};
        }

        // Store: explicit, or implied by Admiral's dynamoDB section. Never a silent fallback.
        let store_raw = pick!(
            "store",
            &cli.store,
            d("store", own.and_then(|o| o.store.as_ref()))
        );
        let (store, store_source) = match store_raw {
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
        r.record("store", store.to_string(), store_source);

        let listen = r.setting_or(
            "listen",
            &cli.listen,
            d("listen", own.and_then(|o| o.listen.as_ref())),
            parse::listen,
            SocketAddr::to_string,
            DEFAULT_LISTEN
                .parse()
                .expect("default listen address parses"),
        )?;

        let identity_file = a(
            "podIdentifier",
            admiral.and_then(|x| x.pod_identifier.as_ref()),
        )
        .or_else(|| d("identity", own.and_then(|o| o.identity.as_ref())));
        let identity = match pick!("identity", &cli.identity, identity_file) {
            Some(raw) => {
                let v = non_empty(&raw, "identity")?;
                check_identity(&raw.name, &v)?;
                r.record("identity", v.clone(), raw.source);
                v
            }
            None => {
                let (v, from) =
                    match (&env.pod_name, &env.hostname) {
                        (Some(p), _) if !p.trim().is_empty() => (p.trim().to_string(), "POD_NAME"),
                        (_, Some(h)) if !h.trim().is_empty() => (h.trim().to_string(), "hostname"),
                        _ => return Err(ConfigError::new(
                            "--identity",
                            "no identity: set --identity, podIdentifier in the file, or POD_NAME \
                             (the pod name from the downward API); the hostname was unavailable",
                        )),
                    };
                check_identity(from, &v)?;
                r.record("identity", format!("{v} (from {from})"), Source::Default);
                v
            }
        };

        let lease_name =
            match pick!(
                "lease-name",
                &cli.lease_name,
                a("leaseName", admiral.and_then(|x| x.lease_name.as_ref()))
            ) {
                Some(raw) => {
                    let v = non_empty(&raw, "lease name")?;
                    check_lease_name(&raw.name, &v, &identity)?;
                    r.record("lease-name", v.clone(), raw.source);
                    v
                }
                None if store == StoreKind::Memory => {
                    r.record("lease-name", DEFAULT_MEMORY_LEASE.into(), Source::Default);
                    DEFAULT_MEMORY_LEASE.into()
                }
                None => return Err(ConfigError::new(
                    "--lease-name",
                    "no lease name; set --lease-name or leaseName in the dynamoDB section (every \
                     candidate of one controller must use the same name)",
                )),
            };

        let table = r.setting(
            "table",
            &cli.table,
            a("tableName", admiral.and_then(|x| x.table_name.as_ref())),
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
            a("region", admiral.and_then(|x| x.region.as_ref())),
            |raw| non_empty(raw, "region"),
            String::clone,
        )?;
        let endpoint_url = r.setting(
            "endpoint-url",
            &cli.endpoint_url,
            d("endpointUrl", own.and_then(|o| o.endpoint_url.as_ref())),
            parse::endpoint_url,
            String::clone,
        )?;

        let role_arn = match pick!(
            "role-arn",
            &cli.role_arn,
            a("role", admiral.and_then(|x| x.role.as_ref()))
        ) {
            Some(raw) if raw.text.trim().is_empty() && raw.source == Source::File => None,
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
                Some(v)
            }
            None => None,
        };

        let timing = resolve_timing(&mut r, admiral, own)?;

        let log_format = r.setting_or(
            "log-format",
            &cli.log_format,
            d("logFormat", own.and_then(|o| o.log_format.as_ref())),
            parse::log_format,
            |f| f.as_str().to_string(),
            LogFormat::Text,
        )?;
        let eligibility = resolve_eligibility(&mut r, own)?;
        let heartbeat = r.setting_or(
            "heartbeat",
            &cli.heartbeat,
            d("heartbeat", own.and_then(|o| o.heartbeat.as_ref())),
            parse::on_off,
            bool::to_string,
            true,
        )?;
        let serving = resolve_serving(&mut r, own, listen)?;
        let affinity = resolve_affinity(&mut r, own)?;
        let peer_regions = resolve_peer_regions(&mut r, own, region.as_deref())?;

        Ok(Settings {
            store,
            listen,
            identity,
            lease_name,
            table,
            region,
            endpoint_url,
            role_arn,
            timing,
            log_format,
            eligibility,
            heartbeat,
            serving,
            affinity,
            peer_regions,
            warnings: env_names::unknown(&env.drlease_vars)
                .into_iter()
                .chain(
                    file.warnings
                        .iter()
                        .map(|w| format!("{w} (in {})", r.file_path)),
                )
                .collect(),
            provenance: r.provenance,
        })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
