//! Command-line interface: `run` and the operator subcommands, all sharing one set of
//! settings flags. Each flag can also come from `DRLEASE_<FLAG>`.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{CommandLine, Source};

#[derive(Parser, Debug)]
#[command(
    name = "drlease",
    version,
    about = "DR lease sidecar: tells an active/passive controller whether its pod may write"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the sidecar: hold or watch the lease, serve the role over HTTP.
    Run(SettingsArgs),
    /// Validate the settings; print each effective value and where it came from.
    CheckConfig(SettingsArgs),
    /// Show the holder, epoch, handover and every live candidate.
    Status(StatusArgs),
    /// Planned failover (a DR drill): the active releases to a target.
    Handover(HandoverArgs),
    /// Maintenance: every candidate passive until unfrozen (Admiral's SKIP-LEASE-POD).
    Freeze(SettingsArgs),
    /// End maintenance: release the frozen lease.
    Unfreeze(SettingsArgs),
    /// Create the lease table (idempotent) and seed the lease item in a new one.
    CreateTable(CreateTableArgs),
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Keep printing, every interval (at least 1 s), until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: crate::ops::status::Output,
}

#[derive(Args, Debug, Clone)]
pub struct HandoverArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// The candidate to hand over to [default: any other live candidate].
    #[arg(long, value_name = "IDENTITY")]
    pub to: Option<String>,
    /// Give up after this long [default: 4 lease durations + 10s].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CreateTableArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// For an existing table: wait until it is ACTIVE and turn on TTL for the heartbeat
    /// items. A table this command creates always gets both, and the seeded lease item.
    #[arg(long)]
    pub wait: bool,
}

impl Command {
    pub fn settings(&self) -> &SettingsArgs {
        match self {
            Command::Run(a)
            | Command::CheckConfig(a)
            | Command::Freeze(a)
            | Command::Unfreeze(a) => a,
            Command::Status(a) => &a.settings,
            Command::Handover(a) => &a.settings,
            Command::CreateTable(a) => &a.settings,
        }
    }

    /// Commands that act on the table from outside (they imply the DynamoDB store).
    pub fn is_operator_command(&self) -> bool {
        !matches!(self, Command::Run(_) | Command::CheckConfig(_))
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct SettingsArgs {
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
}

const IDS: &[(&str, &str)] = &[
    ("config", "config"),
    ("store", "store"),
    ("listen", "listen"),
    ("identity", "identity"),
    ("lease_name", "lease-name"),
    ("table", "table"),
    ("region", "region"),
    ("endpoint_url", "endpoint-url"),
    ("role_arn", "role-arn"),
    ("interval", "interval"),
    ("failure_threshold", "failure-threshold"),
    ("renew_deadline", "renew-deadline"),
    ("confirm_delay", "confirm-delay"),
    ("log_format", "log-format"),
    ("app_health_url", "app-health-url"),
    ("app_health_failures", "app-health-failures"),
    ("warmup", "warmup"),
    ("heartbeat", "heartbeat"),
];

impl SettingsArgs {
    fn to_command_line(&self, matches: &ArgMatches) -> CommandLine {
        let sources = IDS
            .iter()
            .filter_map(|(id, name)| match matches.value_source(id) {
                Some(ValueSource::CommandLine) => Some((*name, Source::Flag)),
                Some(ValueSource::EnvVariable) => Some((*name, Source::Env)),
                _ => None,
            })
            .collect();
        CommandLine {
            config: self.config.clone(),
            store: self.store.clone(),
            listen: self.listen.clone(),
            identity: self.identity.clone(),
            lease_name: self.lease_name.clone(),
            table: self.table.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            role_arn: self.role_arn.clone(),
            interval: self.interval.clone(),
            failure_threshold: self.failure_threshold.clone(),
            renew_deadline: self.renew_deadline.clone(),
            confirm_delay: self.confirm_delay.clone(),
            log_format: self.log_format.clone(),
            app_health_url: self.app_health_url.clone(),
            app_health_failures: self.app_health_failures.clone(),
            warmup: self.warmup.clone(),
            heartbeat: self.heartbeat.clone(),
            sources,
        }
    }
}

/// Parses the process arguments (exits with clap's message on a usage error).
pub fn parse() -> (Command, CommandLine) {
    parse_from(std::env::args_os())
}

pub fn parse_from<I, T>(args: I) -> (Command, CommandLine)
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let mut line = cli.command.settings().to_command_line(&sub);
    if cli.command.is_operator_command() && line.store.is_none() && line.config.is_none() {
        line.store = Some("dynamodb".into());
    }
    (cli.command, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_marked_as_flags() {
        let (_, line) = parse_from(["drlease", "run", "--store", "memory", "--interval", "1s"]);
        assert_eq!(line.store.as_deref(), Some("memory"));
        assert!(line.sources.contains(&("interval", Source::Flag)));
        assert!(line.sources.contains(&("store", Source::Flag)));
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
