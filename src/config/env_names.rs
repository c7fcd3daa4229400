//! `DRLEASE_*` variables that are no setting. clap reads the ones it knows and ignores the
//! rest, so a misspelt `DRLEASE_INTERVALL` would be a setting silently not applied, where
//! an unknown key in the file's `drlease:` section is an error. A variable can be left
//! over from another version or set for a whole namespace, so this is a warning (in
//! `check-config`'s list and the log at start), naming the closest setting.

use clap::Args;

use super::file_keys::closest;
use super::CommandLine;

/// Variables the project's own tools read (tests, benchmarks, simulation, chaos runs, the
/// Go client's tests): set for whole test runs, never settings.
const TOOLING_PREFIXES: &[&str] = &[
    "DRLEASE_TEST_",
    "DRLEASE_BENCH_",
    "DRLEASE_SIM_",
    "DRLEASE_CHAOS_",
    "DRLEASE_KUBE_",
];
const TOOLING_NAMES: &[&str] = &[
    "DRLEASE_REQUIRE_STORE",
    "DRLEASE_REQUIRE_KUBE",
    "DRLEASE_CACHE",
    "DRLEASE_BIN",
    "DRLEASE_BINARY",
    "DRLEASE_GATE_URL",
];

/// One warning per name in `set` that is neither a setting's variable nor the tools'.
pub(super) fn unknown(set: &[String]) -> Vec<String> {
    // The variables come from clap's own definition of the settings: never listed twice.
    let definition = CommandLine::augment_args(clap::Command::new("settings"));
    let known: Vec<String> = definition
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .filter_map(|name| name.to_str().map(str::to_string))
        .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut names: Vec<&String> = set
        .iter()
        .filter(|name| !known.contains(&name.as_str()))
        .filter(|name| !TOOLING_NAMES.contains(&name.as_str()))
        .filter(|name| !TOOLING_PREFIXES.iter().any(|p| name.starts_with(p)))
        .collect();
    names.dedup();
    names
        .into_iter()
        .map(|name| match closest(name, &known) {
            Some(near) => format!(
                "environment variable {name} is not a setting and is ignored; did you mean {near}?"
            ),
            None => format!("environment variable {name} is not a setting and is ignored"),
        })
        .collect()
}
