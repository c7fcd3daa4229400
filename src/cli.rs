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
    let line = match &cli.command {
        Command::Run(a) | Command::CheckConfig(a) => a.to_command_line(&sub),
    };
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
