//! Settings: flags beat environment, environment beats the file, the file beats defaults.
//! Validated once, here; everything downstream takes the result as given.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::duration;
mod affinity;
mod eligibility;
pub mod file;
mod health_url;
mod lease_timing;
mod names;
mod parse;
mod serving;
mod types;

use affinity::resolve_affinity;
use eligibility::resolve_eligibility;
pub use eligibility::EligibilitySettings;
use lease_timing::resolve_timing;
use names::check_lease_name;
use parse::{non_empty, parse_positive_duration};
use serving::resolve_serving;
pub use serving::ServingSettings;
pub use types::{ConfigError, LogFormat, Source, StoreKind};

pub use health_url::HealthUrl;

use duration::{format_duration, parse_duration};
use file::FileConfig;

use crate::lease::FROZEN_OWNER;
use crate::store::dynamodb::ConnectOptions;
pub use crate::timing::{Timing, TimingError};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:9797";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
pub const DEFAULT_MEMORY_LEASE: &str = "drlease";

/// The raw settings as flags or environment gave them (clap merges those two): the one
/// list of settings. Each flag can also come from `DRLEASE_<FLAG>`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CommandLine {
    /// Config file: Admiral's DR file (`dynamoDB:` section), optionally with a `drlease:` section.
    #[arg(long, env = "DRLEASE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the lease lives: `dynamodb`, or `memory` for a single-process local run.
    #[arg(long, env = "DRLEASE_STORE", value_name = "dynamodb|memory")]
    pub store: Option<String>,
    /// HTTP listen address [default: 0.0.0.0:9797].
    #[arg(long, env = "DRLEASE_LISTEN", value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// This candidate's name in the lease [default: $POD_NAME, else the hostname].
    #[arg(long, env = "DRLEASE_IDENTITY")]
    pub identity: Option<String>,
    /// The lease item's key (Admiral's leaseName).
    #[arg(long, env = "DRLEASE_LEASE_NAME")]
    pub lease_name: Option<String>,
    /// DynamoDB table (Admiral's tableName).
    #[arg(long, env = "DRLEASE_TABLE")]
    pub table: Option<String>,
    /// AWS region [default: the SDK's, e.g. $AWS_REGION].
    #[arg(long, env = "DRLEASE_REGION")]
    pub region: Option<String>,
    /// DynamoDB endpoint override, e.g. a local DynamoDB-compatible server.
    #[arg(long, env = "DRLEASE_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// IAM role to assume through STS on top of the default credential chain.
    #[arg(long, env = "DRLEASE_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Renew / check interval, e.g. 15s or 500ms (Admiral's waitTimeInSeconds) [default: 15s].
    #[arg(long, env = "DRLEASE_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,
    /// Lease duration = interval x this [default: 3].
    #[arg(long, env = "DRLEASE_FAILURE_THRESHOLD", value_name = "N")]
    pub failure_threshold: Option<String>,
    /// How long the active stays active after a renewal [default: lease duration - interval].
    #[arg(long, env = "DRLEASE_RENEW_DEADLINE", value_name = "DURATION")]
    pub renew_deadline: Option<String>,
    /// After acquiring, wait this long and re-read before answering active (multi-Region
    /// eventually consistent tables) [default: 0s].
    #[arg(long, env = "DRLEASE_CONFIRM_DELAY", value_name = "DURATION")]
    pub confirm_delay: Option<String>,
    /// Log format: text or json [default: text]. The filter comes from RUST_LOG.
    #[arg(long, env = "DRLEASE_LOG_FORMAT", value_name = "text|json")]
    pub log_format: Option<String>,
    /// Acquire only while the controller answers 2xx at this http:// URL.
    #[arg(long, env = "DRLEASE_APP_HEALTH_URL", value_name = "URL")]
    pub app_health_url: Option<String>,
    /// Step down after this many consecutive failed health checks [default: 3].
    #[arg(long, env = "DRLEASE_APP_HEALTH_FAILURES", value_name = "N")]
    pub app_health_failures: Option<String>,
    /// Do not acquire for this long after start [default: 0s].
    #[arg(long, env = "DRLEASE_WARMUP", value_name = "DURATION")]
    pub warmup: Option<String>,
    /// Keep a heartbeat item in the table for `drlease status` and handover [default: true].
    #[arg(long, env = "DRLEASE_HEARTBEAT", value_name = "true|false")]
    pub heartbeat: Option<String>,
    /// A second listener serving only /role, /active, /passive, /health/ready and /watch,
    /// for the controller inside the pod, e.g. 127.0.0.1:9798 [default: none].
    #[arg(long, env = "DRLEASE_GATE_LISTEN", value_name = "IP:PORT")]
    pub gate_listen: Option<String>,
    /// Longest write window an active answer grants (capped by the validity left) [default: 2s].
    #[arg(long, env = "DRLEASE_WRITE_WINDOW", value_name = "DURATION")]
    pub write_window: Option<String>,
    /// Most /watch streams and blocking /role queries open at once [default: 256].
    #[arg(long, env = "DRLEASE_MAX_WATCHERS", value_name = "N")]
    pub max_watchers: Option<String>,
    /// Failover priority: higher is preferred (e.g. the primary region) [default: 0].
    #[arg(
        long,
        env = "DRLEASE_PRIORITY",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub priority: Option<String>,
    /// Take the lease back from a holder of lower priority once this pod has been healthy
    /// this long, through a planned handover, e.g. 5m [default: off].
    #[arg(long, env = "DRLEASE_FAILBACK_AFTER", value_name = "DURATION|off")]
    pub failback_after: Option<String>,
    /// An observer: serve the role, never hold the lease [default: false].
    #[arg(long, env = "DRLEASE_NEVER_ACQUIRE", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub never_acquire: Option<String>,
    /// For each flag that was set (by its long name), whether it came from the flag or the
    /// environment. Filled by the CLI from clap's matches.
    #[arg(skip)]
    pub sources: Vec<(String, Source)>,
}

/// What the process environment contributes besides `DRLEASE_*` (the identity fallbacks).
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub pod_name: Option<String>,
    pub hostname: Option<String>,
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
                r.record("identity", format!("{v} (from {from})"), Source::Default);
                v
            }
        };
        if identity == FROZEN_OWNER {
            return Err(ConfigError::new(
                "--identity",
                format!(
                    "'{FROZEN_OWNER}' is reserved for freezing the lease; choose another identity"
                ),
            ));
        }

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
            warnings: file
                .warnings
                .iter()
                .map(|w| format!("{w} (in {})", r.file_path))
                .collect(),
            provenance: r.provenance,
        })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
