use std::process::ExitCode;

use drlease::app::cli::{self, Command};
use drlease::app::daemon;
use drlease::config::table_rules::RulesError;
use drlease::config::{Environment, Settings};
use drlease::ops;
use drlease::sys::duration::parse_duration;
use drlease::sys::logging;
use drlease::sys::printable::{printable, Printable};
use drlease::sys::stdout;

fn hostname() -> Option<String> {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_str().ok()?;
    (!name.is_empty()).then(|| name.to_string())
}

fn main() -> ExitCode {
    let (command, line) = cli::parse();
    let env = Environment {
        pod_name: std::env::var("POD_NAME").ok(),
        pod_namespace: std::env::var("POD_NAMESPACE").ok(),
        kubeconfig: std::env::var("KUBECONFIG").ok(),
        hostname: hostname(),
        drlease_vars: std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| name.starts_with("DRLEASE_"))
            .collect(),
    };
    let settings = match Settings::resolve(&line, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("drlease: {}", Printable(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    if command.is_operator_command() {
        if let Err(e) = ops::check_settings(&settings) {
            eprintln!("drlease: {e}");
            return ExitCode::from(2);
        }
    }
    // `run` logs them and `check-config` lists them; a one-off command says them first.
    if !matches!(command, Command::Run(_) | Command::CheckConfig(_)) {
        for w in &settings.warnings {
            eprintln!("drlease: warning: {}", Printable(w));
        }
    }
    match command {
        Command::CheckConfig(_) => check_config(settings),
        Command::Run(_) => {
            logging::init(settings.log_format);
            for w in &settings.warnings {
                tracing::warn!("{w}");
            }
            finish(block_on(daemon::run(settings)), true)
        }
        Command::Status(a) => finish(
            block_on(ops::status::run(&settings, a.watch, a.output)),
            false,
        ),
        Command::History(a) => finish(
            block_on(ops::history::run(&settings, a.limit.into(), a.output)),
            false,
        ),
        Command::Freeze(_) => finish(block_on(ops::freeze::freeze(&settings)), false),
        Command::Unfreeze(_) => finish(block_on(ops::freeze::unfreeze(&settings)), false),
        Command::CreateTable(a) => finish(block_on(ops::table::run(&settings, a.wait)), false),
        Command::Handover(a) => {
            let timeout = match a.timeout.as_deref().map(parse_duration).transpose() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("drlease: --timeout: {e}");
                    return ExitCode::from(2);
                }
            };
            finish(
                block_on(ops::handover::run(&settings, a.to, timeout)),
                false,
            )
        }
    }
}

/// Every effective setting and its source; with access to the table, what it is.
fn check_config(mut settings: Settings) -> ExitCode {
    let table = match block_on(async { Ok(ops::check::table(&mut settings).await) }) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            eprintln!("drlease: {}", Printable(&e.to_string()));
            return ExitCode::from(2);
        }
        Err(e) => return finish(Err(e), false),
    };
    stdout::line(format_args!("{:<19} {:<40} source", "setting", "value"));
    for (name, value, source) in &settings.provenance {
        let value = printable(value);
        stdout::line(format_args!("{name:<19} {value:<40} {source}"));
    }
    let own = settings.region.clone().unwrap_or_default();
    match &table {
        ops::check::TableCheck::NoTable => {}
        ops::check::TableCheck::Unread(why) => stdout::line(format_args!(
            "warning: the table's description was not read, so its mode is not checked here \
             (`drlease run` reads it at start and refuses to start without it): {}",
            Printable(why)
        )),
        ops::check::TableCheck::Rules(rules) => {
            for (name, value) in rules.describe(&own) {
                let value = printable(&value);
                stdout::line(format_args!("{name:<19} {value}"));
            }
            for note in rules.notes.iter().chain(&rules.outside_rule) {
                stdout::line(format_args!("warning: {}", Printable(note)));
            }
        }
    }
    for w in &settings.warnings {
        stdout::line(format_args!("warning: {}", Printable(w)));
    }
    ExitCode::SUCCESS
}

fn block_on<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(work)
}

fn finish(result: anyhow::Result<()>, logged: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if logged {
                tracing::error!(error = format!("{e:#}"), "drlease failed");
            }
            // Errors can quote the table (an owner, an identity): escaped for the terminal.
            eprintln!("drlease: {}", Printable(&format!("{e:#}")));
            // Settings the table refuses are bad settings, as at resolution: exit 2.
            match e.downcast_ref::<RulesError>() {
                Some(RulesError::Refused(_)) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
