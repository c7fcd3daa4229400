//! Command-line interface: `run` and the operator subcommands, all sharing one set of
//! settings flags. Each flag can also come from `DRLEASE_<FLAG>`.

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
    /// The failover history from the table: every change of owner, newest first.
    History(HistoryArgs),
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
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: crate::ops::Output,
}

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// How many changes to list, newest first (each is one read of the table).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub limit: u16,
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: crate::ops::Output,
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
            Command::History(a) => &a.settings,
            Command::Handover(a) => &a.settings,
            Command::CreateTable(a) => &a.settings,
        }
    }

    /// Commands that act on the table from outside (they imply the DynamoDB store).
    pub fn is_operator_command(&self) -> bool {
        !matches!(self, Command::Run(_) | Command::CheckConfig(_))
    }
}

/// The settings flags are config's [`CommandLine`]: one definition, read by clap here.
pub type SettingsArgs = CommandLine;

/// Which settings were given, and whether on the command line or in the environment. The
/// flag names come from clap's own definition of [`CommandLine`].
fn sources(matches: &ArgMatches) -> Vec<(String, Source)> {
    let settings = CommandLine::augment_args(clap::Command::new("settings"));
    settings
        .get_arguments()
        .filter_map(|arg| {
            let source = match matches.value_source(arg.get_id().as_str()) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                _ => return None,
            };
            Some((arg.get_long()?.to_string(), source))
        })
        .collect()
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
    let mut line = cli.command.settings().clone();
    line.sources = sources(&sub);
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
        assert!(line.sources.contains(&("interval".into(), Source::Flag)));
        assert!(line.sources.contains(&("store".into(), Source::Flag)));
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn never_acquire_is_a_bare_flag_too() {
        let (_, line) = parse_from(["drlease", "run", "--store", "memory", "--never-acquire"]);
        assert_eq!(line.never_acquire.as_deref(), Some("true"));
        let (_, line) = parse_from(["drlease", "run", "--priority", "-1"]);
        assert_eq!(line.priority.as_deref(), Some("-1"));
    }
}
