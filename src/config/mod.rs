//! Settings: flags beat environment, environment beats the file, the file beats defaults.
//! Validated once, here; everything downstream takes the result as given.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::duration;
pub mod file;
mod health_url;

pub use health_url::HealthUrl;

use duration::{format_duration, parse_duration};
use file::FileConfig;

use crate::lease::FROZEN_OWNER;
use crate::store::dynamodb::heartbeat::HEARTBEAT_INFIX;
use crate::store::dynamodb::ConnectOptions;
pub use crate::timing::{Timing, TimingError};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:9797";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
pub const DEFAULT_MEMORY_LEASE: &str = "drlease";

/// A bad setting: which one (as the user wrote it) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "file",
            Source::Default => "default",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    DynamoDb,
    Memory,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::DynamoDb => "dynamodb",
            StoreKind::Memory => "memory",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The raw settings as flags or environment gave them (clap merges those two).
#[derive(Clone, Debug, Default)]
pub struct CommandLine {
    pub config: Option<PathBuf>,
    pub store: Option<String>,
    pub listen: Option<String>,
    pub identity: Option<String>,
    pub lease_name: Option<String>,
    pub table: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub role_arn: Option<String>,
    pub interval: Option<String>,
    pub failure_threshold: Option<String>,
    pub renew_deadline: Option<String>,
    pub confirm_delay: Option<String>,
    pub log_format: Option<String>,
    pub app_health_url: Option<String>,
    pub app_health_failures: Option<String>,
    pub warmup: Option<String>,
    pub heartbeat: Option<String>,
    /// For each flag id that was set, whether it came from the flag or the environment.
    pub sources: Vec<(&'static str, Source)>,
}

/// What the process environment contributes besides `DRLEASE_*` (the identity fallbacks).
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub pod_name: Option<String>,
    pub hostname: Option<String>,
}

/// When this candidate may hold the lease.
#[derive(Clone, Debug, Default)]
pub struct EligibilitySettings {
    /// Acquire only while the controller answers 2xx here (plain http://).
    pub app_health_url: Option<HealthUrl>,
    /// Step down after this many consecutive failed health checks.
    pub app_health_failures: u32,
    /// Do not acquire for this long after start.
    pub warmup: Duration,
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
}

fn non_empty(raw: &Raw, what: &str) -> Result<String, ConfigError> {
    let v = raw.text.trim();
    if v.is_empty() {
        return Err(ConfigError::new(&raw.name, format!("{what} is empty")));
    }
    Ok(v.to_string())
}

/// DynamoDB's limit on a partition key value, in bytes.
const MAX_KEY_BYTES: usize = 2048;

/// The lease name is a partition key, and so is each candidate's heartbeat key,
/// `<lease>/candidates/<identity>`: both must fit, and they must not collide.
fn check_lease_name(field: &str, lease: &str, identity: &str) -> Result<(), ConfigError> {
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

fn parse_positive_duration(raw: &Raw, what: &str) -> Result<Duration, ConfigError> {
    let d = parse_duration(&raw.text)
        .map_err(|e| ConfigError::new(&raw.name, format!("{what} {e}")))?;
    if d.is_zero() {
        return Err(ConfigError::new(
            &raw.name,
            format!("{what} must be greater than zero"),
        ));
    }
    Ok(d)
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

        let listen = match pick!(
            "listen",
            &cli.listen,
            d("listen", own.and_then(|o| o.listen.as_ref()))
        ) {
            Some(raw) => {
                let addr: SocketAddr = raw.text.trim().parse().map_err(|_| {
                    ConfigError::new(
                        &raw.name,
                        format!(
                            "cannot parse listen address '{}'; expected IP:PORT such as {DEFAULT_LISTEN} or 127.0.0.1:9797",
                            raw.text
                        ),
                    )
                })?;
                r.record("listen", addr.to_string(), raw.source);
                addr
            }
            None => {
                r.record("listen", DEFAULT_LISTEN.into(), Source::Default);
                DEFAULT_LISTEN
                    .parse()
                    .expect("default listen address parses")
            }
        };

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

        let table = match pick!(
            "table",
            &cli.table,
            a("tableName", admiral.and_then(|x| x.table_name.as_ref()))
        ) {
            Some(raw) => {
                let v = non_empty(&raw, "table name")?;
                r.record("table", v.clone(), raw.source);
                Some(v)
            }
            None if store == StoreKind::DynamoDb => {
                return Err(ConfigError::new(
                    "--table",
                    "no table; set --table or tableName in the dynamoDB section",
                ))
            }
            None => None,
        };

        let region = match pick!(
            "region",
            &cli.region,
            a("region", admiral.and_then(|x| x.region.as_ref()))
        ) {
            Some(raw) => {
                let v = non_empty(&raw, "region")?;
                r.record("region", v.clone(), raw.source);
                Some(v)
            }
            None => None,
        };

        let endpoint_url = match pick!(
            "endpoint-url",
            &cli.endpoint_url,
            d("endpointUrl", own.and_then(|o| o.endpoint_url.as_ref()))
        ) {
            Some(raw) => {
                let v = non_empty(&raw, "endpoint URL")?;
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(ConfigError::new(
                        &raw.name,
                        format!("endpoint URL '{v}' must start with http:// or https://"),
                    ));
                }
                r.record("endpoint-url", v.clone(), raw.source);
                Some(v)
            }
            None => None,
        };

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

        let log_format = match pick!(
            "log-format",
            &cli.log_format,
            d("logFormat", own.and_then(|o| o.log_format.as_ref()))
        ) {
            Some(raw) => {
                let f = match raw.text.trim().to_ascii_lowercase().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => {
                        return Err(ConfigError::new(
                            &raw.name,
                            format!("unknown log format '{other}'; choose text or json"),
                        ))
                    }
                };
                r.record(
                    "log-format",
                    raw.text.trim().to_ascii_lowercase(),
                    raw.source,
                );
                f
            }
            None => {
                r.record("log-format", "text".into(), Source::Default);
                LogFormat::Text
            }
        };

        let eligibility = resolve_eligibility(&mut r, own)?;
        let heartbeat = match pick!(
            "heartbeat",
            &cli.heartbeat,
            d("heartbeat", own.and_then(|o| o.heartbeat.as_ref()))
        ) {
            Some(raw) => {
                let on = match raw.text.trim().to_ascii_lowercase().as_str() {
                    "true" | "on" | "yes" | "1" => true,
                    "false" | "off" | "no" | "0" => false,
                    other => {
                        return Err(ConfigError::new(
                            &raw.name,
                            format!("'{other}' is not true or false"),
                        ))
                    }
                };
                r.record("heartbeat", on.to_string(), raw.source);
                on
            }
            None => {
                r.record("heartbeat", "true".into(), Source::Default);
                true
            }
        };

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
            warnings: file
                .warnings
                .iter()
                .map(|w| format!("{w} (in {})", r.file_path))
                .collect(),
            provenance: r.provenance,
        })
    }
}

fn resolve_eligibility(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
) -> Result<EligibilitySettings, ConfigError> {
    let url_file = own
        .and_then(|o| o.app_health_url.clone())
        .map(|v| ("drlease.appHealthUrl", v));
    let app_health_url = match r.pick("app-health-url", &r.cli.app_health_url, url_file) {
        Some(raw) => {
            let v = non_empty(&raw, "app health URL")?;
            let url = HealthUrl::parse(&v).map_err(|e| ConfigError::new(&raw.name, e))?;
            r.record("app-health-url", v, raw.source);
            Some(url)
        }
        None => None,
    };
    let failures_file = own
        .and_then(|o| o.app_health_failures)
        .map(|n| ("drlease.appHealthFailures", n.to_string()));
    let app_health_failures = match r.pick(
        "app-health-failures",
        &r.cli.app_health_failures,
        failures_file,
    ) {
        Some(raw) => {
            let n: u32 = raw
                .text
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ConfigError::new(
                        &raw.name,
                        format!("'{}' is not a whole number of at least 1", raw.text),
                    )
                })?;
            r.record("app-health-failures", n.to_string(), raw.source);
            n
        }
        None => {
            r.record("app-health-failures", "3".into(), Source::Default);
            3
        }
    };
    let warmup_file = own
        .and_then(|o| o.warmup.clone())
        .map(|v| ("drlease.warmup", v));
    let warmup = match r.pick("warmup", &r.cli.warmup, warmup_file) {
        Some(raw) => {
            let d = parse_duration(&raw.text)
                .map_err(|e| ConfigError::new(&raw.name, format!("warm-up {e}")))?;
            r.record("warmup", format_duration(d), raw.source);
            d
        }
        None => {
            r.record("warmup", "0s".into(), Source::Default);
            Duration::ZERO
        }
    };
    Ok(EligibilitySettings {
        app_health_url,
        app_health_failures,
        warmup,
    })
}

fn resolve_timing(
    r: &mut Resolver<'_>,
    admiral: Option<&file::AdmiralSection>,
    own: Option<&file::DrleaseSection>,
) -> Result<Timing, ConfigError> {
    // drlease.interval (a duration) wins over Admiral's waitTimeInSeconds (whole seconds).
    let interval_file = own
        .and_then(|o| o.interval.clone())
        .map(|v| ("drlease.interval".to_string(), v))
        .or_else(|| {
            admiral
                .and_then(|x| x.wait_time_in_seconds)
                .map(|n| ("dynamoDB.waitTimeInSeconds".to_string(), format!("{n}s")))
        });
    let interval_raw = r.pick(
        "interval",
        &r.cli.interval,
        interval_file.as_ref().map(|(k, v)| (k.as_str(), v.clone())),
    );
    let interval = match &interval_raw {
        Some(raw) => {
            let d = parse_positive_duration(raw, "interval")?;
            r.record("interval", format_duration(d), raw.source);
            d
        }
        None => {
            r.record(
                "interval",
                format_duration(DEFAULT_INTERVAL),
                Source::Default,
            );
            DEFAULT_INTERVAL
        }
    };

    let threshold_file = admiral
        .and_then(|x| x.failure_threshold)
        .map(|n| ("dynamoDB.failureThreshold", n.to_string()));
    let failure_threshold = match r.pick(
        "failure-threshold",
        &r.cli.failure_threshold,
        threshold_file,
    ) {
        Some(raw) => {
            let n: i64 = raw.text.trim().parse().map_err(|_| {
                ConfigError::new(
                    &raw.name,
                    format!("failure threshold '{}' is not a whole number", raw.text),
                )
            })?;
            if !(2..=1000).contains(&n) {
                return Err(ConfigError::new(
                    &raw.name,
                    format!(
                        "failure threshold must be between 2 and 1000, got {n} (the lease is \
                         interval x threshold; below 2 it would expire before the next renewal)"
                    ),
                ));
            }
            r.record("failure-threshold", n.to_string(), raw.source);
            n as u32
        }
        None => {
            r.record(
                "failure-threshold",
                DEFAULT_FAILURE_THRESHOLD.to_string(),
                Source::Default,
            );
            DEFAULT_FAILURE_THRESHOLD
        }
    };
    let lease_duration = interval * failure_threshold;

    let renew_file = own
        .and_then(|o| o.renew_deadline.clone())
        .map(|v| ("drlease.renewDeadline", v));
    let renew_raw = r.pick("renew-deadline", &r.cli.renew_deadline, renew_file);
    let renew_deadline = match &renew_raw {
        Some(raw) => {
            let d = parse_positive_duration(raw, "renew deadline")?;
            r.record("renew-deadline", format_duration(d), raw.source);
            d
        }
        None => {
            let d = lease_duration - interval;
            r.record("renew-deadline", format_duration(d), Source::Default);
            d
        }
    };

    let confirm_file = own
        .and_then(|o| o.confirm_delay.clone())
        .map(|v| ("drlease.confirmDelay", v));
    let confirm_raw = r.pick("confirm-delay", &r.cli.confirm_delay, confirm_file);
    let confirm_delay = match &confirm_raw {
        Some(raw) => {
            let d = parse_duration(&raw.text)
                .map_err(|e| ConfigError::new(&raw.name, format!("confirm delay {e}")))?;
            r.record("confirm-delay", format_duration(d), raw.source);
            d
        }
        None => {
            r.record("confirm-delay", "0s".into(), Source::Default);
            Duration::ZERO
        }
    };
    let timing = Timing {
        interval,
        lease_duration,
        renew_deadline,
        confirm_delay,
    };
    // Every relation is checked once, by Timing; the error names the setting to change.
    timing.validate().map_err(|e| {
        let (raw, flag) = match e {
            TimingError::Interval(_) => (&interval_raw, "--interval"),
            TimingError::RenewDeadlineTooLong { .. }
            | TimingError::RenewDeadlineTooShort { .. } => (&renew_raw, "--renew-deadline"),
            TimingError::ConfirmDelayTooLong { .. } => (&confirm_raw, "--confirm-delay"),
        };
        let field = raw
            .as_ref()
            .map_or(flag.to_string(), |raw| raw.name.clone());
        ConfigError::new(field, e.to_string())
    })?;
    Ok(timing)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
