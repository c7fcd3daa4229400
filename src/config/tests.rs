use super::*;
use crate::lease::FROZEN_OWNER;

fn cli() -> CommandLine {
    CommandLine::default()
}

fn env() -> Environment {
    Environment {
        pod_name: Some("pod-0".into()),
        hostname: Some("host-0".into()),
        ..Default::default()
    }
}

fn memory() -> CommandLine {
    CommandLine {
        store: Some("memory".into()),
        ..cli()
    }
}

fn file(text: &str) -> FileConfig {
    FileConfig::parse(text).expect("test YAML parses")
}

fn resolve(c: &CommandLine, f: &str) -> Result<Settings, ConfigError> {
    Settings::resolve_with_file(c, &env(), &file(f))
}

const ADMIRAL: &str = "
dynamoDB:
  leaseName: mylease
  podIdentifier: myname
  waitTimeInSeconds: 15
  failureThreshold: 3
  tableName: admiral-lease
  role: arn:aws:iam::123456789012:role/admiral
  region: us-west-2
";

#[test]
fn admirals_file_works_as_it_is() {
    let s = resolve(&cli(), ADMIRAL).unwrap();
    assert_eq!(s.store, StoreKind::DynamoDb);
    assert_eq!(s.lease_name, "mylease");
    assert_eq!(s.identity, "myname");
    assert_eq!(s.table.as_deref(), Some("admiral-lease"));
    assert_eq!(s.region.as_deref(), Some("us-west-2"));
    assert_eq!(
        s.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/admiral")
    );
    assert_eq!(s.timing.interval, Duration::from_secs(15));
    assert_eq!(s.timing.lease_duration, Duration::from_secs(45));
    assert_eq!(s.timing.renew_deadline, Duration::from_secs(30));
    assert_eq!(s.listen.to_string(), "0.0.0.0:9797");
}

#[test]
fn flags_beat_env_beat_file_beat_defaults() {
    let mut c = cli();
    c.interval = Some("500ms".into());
    c.sources.push(("interval".into(), Source::Flag));
    c.lease_name = Some("from-env".into());
    c.sources.push(("lease-name".into(), Source::Env));
    let s = resolve(&c, ADMIRAL).unwrap();
    assert_eq!(s.timing.interval, Duration::from_millis(500));
    assert_eq!(s.lease_name, "from-env");
    let src = |id: &str| s.provenance.iter().find(|(k, _, _)| *k == id).unwrap().2;
    assert_eq!(src("interval"), Source::Flag);
    assert_eq!(src("lease-name"), Source::Env);
    assert_eq!(src("table"), Source::File);
    assert_eq!(src("listen"), Source::Default);
}

#[test]
fn drlease_section_interval_beats_wait_time_in_seconds() {
    let text = format!("{ADMIRAL}drlease:\n  interval: 250ms\n  listen: 127.0.0.1:9999\n");
    let s = resolve(&cli(), &text).unwrap();
    assert_eq!(s.timing.interval, Duration::from_millis(250));
    assert_eq!(s.listen.to_string(), "127.0.0.1:9999");
}

#[test]
fn identity_falls_back_to_pod_name_then_hostname() {
    let s = Settings::resolve_with_file(&memory(), &env(), &FileConfig::default()).unwrap();
    assert_eq!(s.identity, "pod-0");
    let no_pod = Environment {
        pod_name: None,
        hostname: Some("host-0".into()),
        ..Default::default()
    };
    let s = Settings::resolve_with_file(&memory(), &no_pod, &FileConfig::default()).unwrap();
    assert_eq!(s.identity, "host-0");
    let none = Environment::default();
    let e = Settings::resolve_with_file(&memory(), &none, &FileConfig::default()).unwrap_err();
    assert!(e.message.contains("POD_NAME"), "{e}");
}

#[test]
fn the_memory_store_needs_no_table_and_names_a_default_lease() {
    let s = resolve(&memory(), "").unwrap();
    assert_eq!(s.store, StoreKind::Memory);
    assert_eq!(s.lease_name, DEFAULT_MEMORY_LEASE);
    assert_eq!(s.table, None);
}

fn err(c: &CommandLine, f: &str) -> String {
    resolve(c, f).unwrap_err().to_string()
}

fn with(f: impl FnOnce(&mut CommandLine)) -> CommandLine {
    let mut c = memory();
    f(&mut c);
    c
}

#[test]
fn no_store_is_an_error_that_says_how_to_choose_one() {
    let e = err(&cli(), "");
    assert!(e.starts_with("--store:"), "{e}");
    assert!(
        e.contains("--store memory") && e.contains("--store dynamodb"),
        "{e}"
    );
}

#[test]
fn unknown_store_is_refused() {
    let e = err(&with(|c| c.store = Some("redis".into())), "");
    assert!(e.contains("unknown store 'redis'"), "{e}");
}

#[test]
fn zero_and_negative_intervals_are_refused() {
    let e = err(&with(|c| c.interval = Some("0s".into())), "");
    assert!(
        e.starts_with("--interval:") && e.contains("greater than zero"),
        "{e}"
    );
    let e = err(&with(|c| c.interval = Some("-3s".into())), "");
    assert!(e.contains("negative"), "{e}");
    let e = err(
        &cli(),
        "dynamoDB:\n  leaseName: l\n  tableName: t\n  waitTimeInSeconds: 0\n",
    );
    assert!(e.starts_with("dynamoDB.waitTimeInSeconds in"), "{e}");
    let e = err(
        &cli(),
        "dynamoDB:\n  leaseName: l\n  tableName: t\n  waitTimeInSeconds: -5\n",
    );
    assert!(e.contains("negative"), "{e}");
    let e = err(&with(|c| c.interval = Some("15".into())), "");
    assert!(e.contains("no unit"), "{e}");
}

#[test]
fn an_env_value_is_named_as_the_variable() {
    let e = err(
        &with(|c| {
            c.interval = Some("soon".into());
            c.sources.push(("interval".into(), Source::Env));
        }),
        "",
    );
    assert!(e.starts_with("DRLEASE_INTERVAL:"), "{e}");
}

#[test]
fn failure_threshold_below_two_is_refused() {
    let e = err(&with(|c| c.failure_threshold = Some("1".into())), "");
    assert!(
        e.starts_with("--failure-threshold:") && e.contains("at least 2")
            || e.contains("between 2"),
        "{e}"
    );
    let e = err(&with(|c| c.failure_threshold = Some("three".into())), "");
    assert!(e.contains("not a whole number"), "{e}");
}

#[test]
fn renew_deadline_must_be_below_the_lease_and_above_the_interval() {
    let e = err(&with(|c| c.renew_deadline = Some("45s".into())), "");
    assert!(
        e.starts_with("--renew-deadline:") && e.contains("below the lease duration 45s"),
        "{e}"
    );
    let e = err(&with(|c| c.renew_deadline = Some("10s".into())), "");
    assert!(e.contains("at least the interval"), "{e}");
    let s = resolve(&with(|c| c.renew_deadline = Some("40s".into())), "").unwrap();
    assert_eq!(s.timing.renew_deadline, Duration::from_secs(40));
}

#[test]
fn empty_lease_name_and_table_are_refused() {
    let e = err(&with(|c| c.lease_name = Some("  ".into())), "");
    assert!(e.starts_with("--lease-name:") && e.contains("empty"), "{e}");
    let e = err(&cli(), "dynamoDB:\n  leaseName: l\n  tableName: ''\n");
    assert!(
        e.starts_with("dynamoDB.tableName in") && e.contains("empty"),
        "{e}"
    );
    let e = err(
        &CommandLine {
            store: Some("dynamodb".into()),
            lease_name: Some("l".into()),
            ..cli()
        },
        "",
    );
    assert!(e.starts_with("--table:"), "{e}");
    let e = err(
        &CommandLine {
            store: Some("dynamodb".into()),
            table: Some("t".into()),
            ..cli()
        },
        "",
    );
    assert!(e.starts_with("--lease-name:"), "{e}");
}

#[test]
fn unparseable_listen_address_is_refused() {
    let e = err(&with(|c| c.listen = Some("localhost".into())), "");
    assert!(e.starts_with("--listen:") && e.contains("IP:PORT"), "{e}");
    let e = err(&with(|c| c.listen = Some("0.0.0.0:99999".into())), "");
    assert!(e.contains("cannot parse"), "{e}");
}

#[test]
fn other_bad_values_are_named() {
    let e = err(&with(|c| c.log_format = Some("xml".into())), "");
    assert!(e.starts_with("--log-format:"), "{e}");
    let e = err(
        &with(|c| c.endpoint_url = Some("localhost:8000".into())),
        "",
    );
    assert!(e.contains("http://"), "{e}");
    let e = err(&with(|c| c.role_arn = Some("admiral-role".into())), "");
    assert!(e.contains("not an IAM role ARN"), "{e}");
    let e = err(&with(|c| c.identity = Some(FROZEN_OWNER.into())), "");
    assert!(e.contains("reserved"), "{e}");
}

#[test]
fn identities_with_control_characters_or_the_handover_wildcard_are_refused() {
    let e = err(&with(|c| c.identity = Some("*".into())), "");
    assert!(
        e.starts_with("--identity: '*' is reserved for a handover to any candidate"),
        "{e}"
    );
    let e = err(
        &with(|c| c.identity = Some("evil\nINFO forged\u{1b}]0;x".into())),
        "",
    );
    assert!(
        e.starts_with("--identity: identity 'evil\\nINFO forged\\u{1b}]0;x' contains the control character \\n"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = err(&memory(), "dynamoDB:\n  podIdentifier: \"a\\tb\"\n");
    assert!(e.starts_with("dynamoDB.podIdentifier in"), "{e}");
    let env = Environment {
        pod_name: Some("pod\u{7}".into()),
        ..Default::default()
    };
    let e = Settings::resolve_with_file(&memory(), &env, &file(""))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("POD_NAME: "), "{e}");
    let e = err(&with(|c| c.confirm_delay = Some("1m".into())), "");
    assert!(e.contains("half the renew deadline"), "{e}");
}

#[test]
fn yaml_syntax_errors_carry_the_line() {
    let e = FileConfig::parse("dynamoDB:\n  leaseName: [unclosed\n").unwrap_err();
    assert!(e.contains("line"), "{e}");
    // A wrong type names the key (the file's values are checked once parsed, so without a line).
    let e = FileConfig::parse("dynamoDB:\n  waitTimeInSeconds: soon\n").unwrap_err();
    assert!(
        e.starts_with("dynamoDB.waitTimeInSeconds: 'soon' is not a whole number"),
        "{e}"
    );
}

#[test]
fn unknown_keys_in_the_drlease_section_are_refused() {
    let e = FileConfig::parse("drlease:\n  intervall: 1s\n").unwrap_err();
    assert!(e.contains("intervall"), "{e}");
    // Admiral's section ignores extra keys, as Admiral does.
    assert!(FileConfig::parse("dynamoDB:\n  somethingElse: 1\n").is_ok());
}

#[test]
fn a_missing_file_is_named() {
    let c = CommandLine {
        config: Some("/nonexistent/dr.yaml".into()),
        ..memory()
    };
    let e = Settings::resolve(&c, &env()).unwrap_err().to_string();
    assert!(
        e.starts_with("--config:")
            && e.contains("/nonexistent/dr.yaml")
            && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn call_timeout_fits_inside_the_renew_deadline() {
    let s = resolve(&with(|c| c.interval = Some("200ms".into())), "").unwrap();
    assert!(s.timing.call_timeout() <= s.timing.renew_deadline / 2);
    let s = resolve(&memory(), "").unwrap();
    assert_eq!(s.timing.call_timeout(), Duration::from_secs(5));
}

#[test]
fn lease_names_that_collide_with_heartbeats_or_overflow_the_key_are_refused() {
    let e = err(&with(|c| c.lease_name = Some("a/candidates/b".into())), "");
    assert!(
        e.starts_with("--lease-name:") && e.contains("'/candidates/'"),
        "{e}"
    );
    let e = err(
        &cli(),
        "dynamoDB:\n  leaseName: x/candidates/y\n  tableName: t\n",
    );
    assert!(e.starts_with("dynamoDB.leaseName in"), "{e}");
    // 2048 bytes with the heartbeat suffix for identity pod-0 fits; one more does not.
    let fits = "l".repeat(2048 - "/candidates/".len() - "pod-0".len());
    assert!(resolve(&with(|c| c.lease_name = Some(fits.clone())), "").is_ok());
    let e = err(&with(|c| c.lease_name = Some(format!("{fits}l"))), "");
    assert!(
        e.starts_with("--lease-name:") && e.contains("2048-byte key limit"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
}

/// Review bug: `waitTimeInSecnds: 5` was silently ignored and the interval stayed 15 s.
#[test]
fn an_unknown_key_in_admirals_section_is_a_warning_and_in_ours_an_error() {
    let s = resolve(
        &cli(),
        "dynamoDB:\n  leaseName: l\n  tableName: t\n  waitTimeInSecnds: 5\n",
    )
    .unwrap();
    assert_eq!(s.timing.interval, Duration::from_secs(15));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].contains("did you mean waitTimeInSeconds?"),
        "{:?}",
        s.warnings
    );
    let e = FileConfig::parse("drlease:\n  warmUpp: 5s\n").unwrap_err();
    assert!(
        e.contains("drlease.warmUpp is not a setting; did you mean warmup?"),
        "{e}"
    );
}

#[test]
fn affinity_is_off_by_default_and_set_by_flag_or_file() {
    let s = resolve(&memory(), "").unwrap();
    assert_eq!(s.affinity, crate::lease::core::Affinity::default());
    let s = resolve(
        &with(|c| {
            c.priority = Some("-2".into());
            c.failback_after = Some("5m".into());
        }),
        "",
    )
    .unwrap();
    assert_eq!(s.affinity.priority, -2);
    assert_eq!(s.affinity.failback_after, Some(Duration::from_secs(300)));
    let s = resolve(
        &memory(),
        "drlease:\n  priority: 10\n  failbackAfter: 30s\n",
    )
    .unwrap();
    assert_eq!(s.affinity.priority, 10);
    assert_eq!(s.affinity.failback_after, Some(Duration::from_secs(30)));
    let s = resolve(&memory(), "drlease:\n  neverAcquire: true\n").unwrap();
    assert!(s.affinity.never_acquire);
    let s = resolve(&with(|c| c.failback_after = Some("off".into())), "").unwrap();
    assert_eq!(s.affinity.failback_after, None);
    let shown: Vec<_> = s
        .provenance
        .iter()
        .map(|(k, v, _)| (*k, v.as_str()))
        .collect();
    assert!(shown.contains(&("failback-after", "off")), "{shown:?}");
    assert!(shown.contains(&("priority", "0")), "{shown:?}");
}

#[test]
fn bad_affinity_settings_are_named() {
    let e = err(&with(|c| c.priority = Some("high".into())), "");
    assert!(
        e.starts_with("--priority:") && e.contains("whole number"),
        "{e}"
    );
    let e = err(&with(|c| c.priority = Some("99999999999".into())), "");
    assert!(e.starts_with("--priority:"), "{e}");
    let e = err(&with(|c| c.failback_after = Some("soon".into())), "");
    assert!(
        e.starts_with("--failback-after:") && e.contains("off"),
        "{e}"
    );
    let e = err(&with(|c| c.failback_after = Some("0s".into())), "");
    assert!(e.contains("greater than zero"), "{e}");
    let e = err(&with(|c| c.never_acquire = Some("maybe".into())), "");
    assert!(e.starts_with("--never-acquire:"), "{e}");
    let e = err(
        &with(|c| {
            c.never_acquire = Some("true".into());
            c.failback_after = Some("1m".into());
        }),
        "",
    );
    assert!(e.contains("observer") && e.contains("failback"), "{e}");
    let e = FileConfig::parse("drlease:\n  priority: first\n").unwrap_err();
    assert!(e.contains("priority"), "{e}");
}

#[test]
fn an_unknown_drlease_variable_is_a_warning_naming_the_closest_one() {
    let env = Environment {
        drlease_vars: vec![
            "DRLEASE_INTERVALL".into(),
            "DRLEASE_INTERVAL".into(),
            "DRLEASE_TEST_DYNAMODB_ENDPOINT".into(),
            "DRLEASE_GATE_LISTN".into(),
        ],
        ..env()
    };
    let s = Settings::resolve_with_file(&memory(), &env, &file("")).unwrap();
    assert_eq!(
        s.warnings,
        [
            "environment variable DRLEASE_INTERVALL is not a setting and is ignored; did you mean DRLEASE_INTERVAL?",
            "environment variable DRLEASE_GATE_LISTN is not a setting and is ignored; did you mean DRLEASE_GATE_LISTEN?",
        ]
    );
}
