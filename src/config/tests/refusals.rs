//! Settings refused at start: each error names the flag, variable or key to fix.

use super::*;

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
        e.starts_with("--lease-name:") && e.contains("contains '/'"),
        "{e}"
    );
    let e = err(
        &cli(),
        "dynamoDB:\n  leaseName: x/candidates/y\n  tableName: t\n",
    );
    assert!(e.starts_with("dynamoDB.leaseName in"), "{e}");
    // Any '/' (review: a lease named after another's region mark read as that mark).
    let e = err(
        &with(|c| c.lease_name = Some("a/regions/us-west-2".into())),
        "",
    );
    assert!(e.contains("another lease's items"), "{e}");
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

/// Keys of other item families. Only `/candidates/` is refused in a lease name, but drlease keys
/// three more item families under the lease name: `<lease>/regions/<region>` (region
/// marks), `<lease>/history/<epoch % 256>` (failover history) and
/// `<lease>/claims/<version>` (release claims). A second lease of the same table named
/// `app/regions/us-west-2` or `app/history/5` *is* lease `app`'s mark or history slot:
/// lease `app`'s conditional PutItem of its mark (`epoch <= :epoch`) or of a history
/// record (`epoch < :e`) replaces the other lease's item whenever its epoch is the higher
/// (the other holder's renewals then fail, its candidates read an item with no
/// `leaseOwner`), and lease `app`'s marks read parses the other lease's item as a mark
/// (no `markSession`: Malformed), which blocks every candidate of `app` (see
/// `a_malformed_peer_mark_blocks_every_candidate_and_silences_the_holder`). docs/regions.md
/// promises the other key families never collide with a lease ("they must not collide",
/// names.rs); expected: these names refused like `/candidates/`.
#[test]
fn lease_names_that_collide_with_marks_history_or_claims_are_refused() {
    for name in ["app/regions/us-west-2", "app/history/5", "app/claims/v1"] {
        let r = resolve(&with(|c| c.lease_name = Some(name.into())), "");
        assert!(
            r.is_err(),
            "lease name {name} accepted: its item is another lease's mark, history slot or claim"
        );
    }
}
