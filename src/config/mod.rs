//! Settings: flags beat environment, environment beats the file, the file beats defaults.
//! Validated once, here; everything downstream takes the result as given.

use std::net::SocketAddr;
use std::time::Duration;

mod affinity;
mod command_line;
mod connection;
mod eligibility;
mod env_names;
pub(crate) mod file;
mod file_keys;
mod file_values;
mod health_url;
mod identity;
mod lease_timing;
mod names;
mod parse;
mod pod_role;
pub mod region_name;
mod resolver;
mod serving;
mod table_facts;
mod table_mrec;
pub mod table_rules;
mod types;

pub use crate::sys::logging::LogFormat;
use affinity::{
    refuse_failback_across_regions, refuse_peers_without_confirm_delay, resolve_affinity,
    resolve_peer_regions,
};
pub use command_line::CommandLine;
use connection::resolve_connection;
use eligibility::resolve_eligibility;
pub use eligibility::EligibilitySettings;
use identity::{resolve_identity, resolve_lease_name, resolve_store};
use lease_timing::resolve_timing;
use names::{check_identity, check_lease_name};
use parse::{non_empty, parse_positive_duration};
use pod_role::resolve_pod_role;
pub use pod_role::PodRoleSettings;
use resolver::{own_key, Raw, Resolver};
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
    /// POD_NAMESPACE, from the Downward API (for the role label).
    pub pod_namespace: Option<String>,
    /// KUBECONFIG (for the role label, outside a cluster).
    pub kubeconfig: Option<String>,
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
    /// The role label on this pod's Pod and its Events; `None`: off.
    pub pod_role: Option<PodRoleSettings>,
    /// `--table-mode`, `--accept-outside-rule`, `--table-reread`.
    pub table_mode: table_rules::TableSettings,
    /// Problems worth a warning that do not stop the process (unknown `DRLEASE_*`
    /// variables; unknown keys in the file with `--allow-unknown-keys`).
    pub warnings: Vec<String>,
    /// Each setting's name, effective value and source, for `check-config` and the log.
    pub provenance: Vec<(&'static str, String, Source)>,
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
        let file_warnings = file_keys::refuse_or_warn(&mut r, &file.unknown)?;
        let admiral = file.dynamodb.as_ref();
        let own = file.drlease.as_ref();
        let store = resolve_store(&mut r, admiral, own)?;
        let listen = r.setting_or(
            "listen",
            &cli.listen,
            own_key("listen", own.and_then(|o| o.listen.as_ref())),
            parse::listen,
            SocketAddr::to_string,
            default_listen(),
        )?;
        let identity = resolve_identity(&mut r, env, admiral, own)?;
        let lease_name = resolve_lease_name(&mut r, store, &identity, admiral)?;
        let connection = resolve_connection(&mut r, store, admiral, own)?;
        let timing = resolve_timing(&mut r, admiral, own)?;
        let log_format = r.setting_or(
            "log-format",
            &cli.log_format,
            own_key("logFormat", own.and_then(|o| o.log_format.as_ref())),
            parse::log_format,
            |f| f.as_str().to_string(),
            LogFormat::Text,
        )?;
        let eligibility = resolve_eligibility(&mut r, own)?;
        let heartbeat = r.setting_or(
            "heartbeat",
            &cli.heartbeat,
            own_key("heartbeat", own.and_then(|o| o.heartbeat.as_ref())),
            parse::on_off,
            bool::to_string,
            true,
        )?;
        let serving = resolve_serving(&mut r, own, listen)?;
        let affinity = resolve_affinity(&mut r, own)?;
        let peer_regions = resolve_peer_regions(&mut r, own, connection.region.as_deref())?;
        refuse_failback_across_regions(&r, &affinity, &peer_regions)?;
        let pod_role = resolve_pod_role(&mut r, env, own)?;
        refuse_peers_without_confirm_delay(&r, own, &peer_regions, timing.confirm_delay)?;
        let table_mode = table_rules::resolve_table_mode(&mut r, own)?;
        let warnings = env_names::unknown(&env.drlease_vars)
            .into_iter()
            .chain(file_warnings)
            .collect();
        Ok(Settings {
            store,
            listen,
            identity,
            lease_name,
            table: connection.table,
            region: connection.region,
            endpoint_url: connection.endpoint_url,
            role_arn: connection.role_arn,
            timing,
            log_format,
            eligibility,
            heartbeat,
            serving,
            affinity,
            peer_regions,
            pod_role,
            table_mode,
            warnings,
            provenance: r.provenance,
        })
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .expect("default listen address parses")
}

#[cfg(test)]
mod tests;
