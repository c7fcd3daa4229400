use super::*;
use crate::lease::FROZEN_OWNER;

mod file_and_affinity;
mod pod_role;
mod refusals;
mod table_rules;
mod unknown_keys;

pub(super) fn cli() -> CommandLine {
    CommandLine::default()
}

pub(super) fn env() -> Environment {
    Environment {
        pod_name: Some("pod-0".into()),
        hostname: Some("host-0".into()),
        ..Default::default()
    }
}

pub(super) fn memory() -> CommandLine {
    CommandLine {
        store: Some("memory".into()),
        ..cli()
    }
}

pub(super) fn file(text: &str) -> FileConfig {
    FileConfig::parse(text).expect("test YAML parses")
}

pub(super) fn resolve(c: &CommandLine, f: &str) -> Result<Settings, ConfigError> {
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

pub(super) fn err(c: &CommandLine, f: &str) -> String {
    resolve(c, f).unwrap_err().to_string()
}

pub(super) fn with(f: impl FnOnce(&mut CommandLine)) -> CommandLine {
    let mut c = memory();
    f(&mut c);
    c
}
