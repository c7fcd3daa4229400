//! Command-line interface: `run` and the operator subcommands, all sharing one set of
//! settings flags. Each flag can also come from `DRLEASE_<FLAG>`. An operator command's
//! help lists its own flags, then only the settings it uses ([`OPERATOR_SETTINGS`]); the
//! sidecar's other settings are still accepted (a shared config file, a pod's
//! environment) but not listed.

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
    /// Output format: text for people, json for scripts (one object per print).
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
    /// Output format: text for people, json for scripts (the shape of GET /history).
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

/// The settings an operator command uses (by long flag name): where the table is, how to
/// reach it, and the lease's timing (waits, timeouts, the `--watch` period). Its help
/// lists these under their own heading, after the command's own flags.
pub const OPERATOR_SETTINGS: &[&str] = &[
    "config",
    "allow-unknown-keys",
    "lease-name",
    "table",
    "region",
    "endpoint-url",
    "role-arn",
    "interval",
    "failure-threshold",
    "longest-lease",
];

const OPERATOR_COMMANDS: &[&str] = &[
    "status",
    "history",
    "handover",
    "freeze",
    "unfreeze",
    "create-table",
];

const SETTINGS_HEADING: &str =
    "Settings (each also DRLEASE_<FLAG>; file keys: docs/reference.md, Configuration reference)";

/// The command line as clap parses it: [`Cli`], with each operator command's help cut
/// down to its own flags and the settings it uses.
pub fn command() -> clap::Command {
    let settings: Vec<String> = CommandLine::augment_args(clap::Command::new("settings"))
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let mut cli = Cli::command();
    for &name in OPERATOR_COMMANDS {
        cli = cli.mut_subcommand(name, |mut sub| {
            for id in &settings {
                sub = sub.mut_arg(id, |arg| {
                    let shown = arg
                        .get_long()
                        .is_some_and(|long| OPERATOR_SETTINGS.contains(&long));
                    if shown {
                        arg.help_heading(SETTINGS_HEADING)
                    } else {
                        arg.hide(true)
                    }
                });
            }
            sub
        });
    }
    cli
}

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
    let matches = command().get_matches_from(args);
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
        command().debug_assert();
    }

    fn help(name: &str) -> String {
        let mut cli = command();
        cli.find_subcommand_mut(name)
            .unwrap()
            .render_long_help()
            .to_string()
    }

    /// Issue 28: every operator command's help listed the sidecar's 27 settings, with the
    /// command's own flags at the bottom.
    #[test]
    fn operator_commands_list_only_their_own_flags_and_the_settings_they_use() {
        for &name in OPERATOR_COMMANDS {
            let text = help(name);
            for sidecar_only in [
                "--listen",
                "--gate-listen",
                "--priority",
                "--write-window",
                "--never-acquire",
                "--app-health-url",
            ] {
                assert!(
                    !text.contains(&format!("{sidecar_only} ")),
                    "{name} --help lists {sidecar_only}:\n{text}"
                );
            }
            for setting in OPERATOR_SETTINGS {
                assert!(
                    text.contains(&format!("--{setting} ")),
                    "{name} --help misses --{setting}:\n{text}"
                );
            }
            let heading = text.find(SETTINGS_HEADING).expect(name);
            assert!(text.contains("--help"), "{text}");
            assert!(
                text.find("--help").unwrap() < heading,
                "{name}: its own flags come before the settings:\n{text}"
            );
        }
        let handover = help("handover");
        assert!(handover.find("--to ").unwrap() < handover.find("--table ").unwrap());
        assert!(help("status").contains("Output format"));
        assert!(help("history").contains("Output format"));
        assert!(help("create-table").contains("--wait"));
        // `run` still lists every setting.
        let mut cli = command();
        let run = cli.find_subcommand_mut("run").unwrap().render_long_help();
        assert!(run.to_string().contains("--gate-listen "));
    }

    /// Every flag a command shows has a description (`-o/--output` had none).
    #[test]
    fn every_listed_flag_is_documented() {
        let cli = command();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                let documented = arg.get_help().or(arg.get_long_help()).is_some();
                assert!(
                    documented,
                    "{} --{:?} has no description",
                    sub.get_name(),
                    arg.get_long()
                );
            }
        }
    }

    /// The sidecar's other settings stay accepted by operator commands (a shared config
    /// file, a pod's DRLEASE_* environment): hidden, not refused.
    #[test]
    fn operator_commands_still_accept_every_setting() {
        let (command, line) = parse_from([
            "drlease",
            "status",
            "--table",
            "t",
            "--gate-listen",
            "127.0.0.1:9798",
            "-o",
            "json",
        ]);
        assert!(matches!(command, Command::Status(_)));
        assert_eq!(line.gate_listen.as_deref(), Some("127.0.0.1:9798"));
        assert_eq!(line.store.as_deref(), Some("dynamodb"));
    }

    #[test]
    fn never_acquire_is_a_bare_flag_too() {
        let (_, line) = parse_from(["drlease", "run", "--store", "memory", "--never-acquire"]);
        assert_eq!(line.never_acquire.as_deref(), Some("true"));
        let (_, line) = parse_from(["drlease", "run", "--priority", "-1"]);
        assert_eq!(line.priority.as_deref(), Some("-1"));
    }
}
