//! Bad settings and a port in use: exit 2 with one line naming what to fix.

use crate::*;

#[test]
fn bad_settings_exit_2_with_one_line_naming_the_field() {
    let dir = std::env::temp_dir().join(common::unique("drlease-cfg"));
    let (bad_yaml, octal, big) = bad_files(&dir);
    let cases = cases(&bad_yaml, &octal, &big);
    for (args, expected) in cases {
        let (code, stderr) = run_expecting_failure(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr:?}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {stderr:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Config files that must be refused: a YAML syntax error on line 3, a number YAML 1.1
/// reads as octal, and a file over the size limit. Returns their paths.
fn bad_files(dir: &std::path::Path) -> (String, String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let bad_yaml = dir.join("bad.yaml");
    std::fs::write(&bad_yaml, "dynamoDB:\n  leaseName: l\n   tableName: t\n").unwrap();
    let bad_yaml = bad_yaml.to_str().unwrap().to_string();
    let octal = dir.join("octal.yaml");
    std::fs::write(&octal, "drlease:\n  store: memory\n  maxWatchers: 010\n").unwrap();
    let octal = octal.to_str().unwrap().to_string();
    let big = dir.join("big.yaml");
    std::fs::write(&big, "#".repeat(2 * 1024 * 1024)).unwrap();
    let big = big.to_str().unwrap().to_string();
    (bad_yaml, octal, big)
}

/// Each bad setting (arguments to `drlease`) with what its one line of error must say:
/// a table of data.
fn cases<'a>(bad_yaml: &'a str, octal: &'a str, big: &'a str) -> Vec<(Vec<&'a str>, &'static str)> {
    vec![
        (vec!["run"], "drlease: --store: no store configured"),
        (
            vec!["run", "--store", "memory", "--interval", "0s"],
            "drlease: --interval:",
        ),
        (
            vec!["run", "--store", "memory", "--failure-threshold", "1"],
            "drlease: --failure-threshold:",
        ),
        (
            vec!["run", "--store", "memory", "--renew-deadline", "45s"],
            "drlease: --renew-deadline:",
        ),
        (
            vec!["run", "--store", "memory", "--listen", "nowhere"],
            "drlease: --listen:",
        ),
        (
            vec!["run", "--store", "mongodb"],
            "drlease: --store: unknown store",
        ),
        (
            vec![
                "run",
                "--store",
                "dynamodb",
                "--table",
                "t",
                "--lease-name",
                "",
            ],
            "drlease: --lease-name:",
        ),
        (
            vec!["run", "--config", "/no/such/file.yaml"],
            "drlease: --config: cannot read /no/such/file.yaml",
        ),
        (vec!["run", "--config", bad_yaml], "line 3"),
        (vec!["run", "--config", big], "is over 1024 KiB"),
        (
            vec!["run", "--config", octal],
            "drlease.maxWatchers: '010' has a leading zero, which YAML 1.1 reads as octal",
        ),
        (
            vec!["run", "--store", "memory", "--priority", "top"],
            "drlease: --priority:",
        ),
        (
            vec!["run", "--store", "memory", "--failback-after", "later"],
            "drlease: --failback-after:",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--never-acquire",
                "--failback-after",
                "1m",
            ],
            "drlease: --never-acquire: an observer",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--peer-regions",
                "us-west-2",
                "--failback-after",
                "1m",
            ],
            "drlease: --failback-after: failback cannot work across the regions",
        ),
        (
            vec!["run", "--store", "memory", "--peer-regions", "us-west-2"],
            "drlease: --peer-regions: peer regions (us-west-2) are for a multi-Region eventually consistent global table",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--lease-name",
                "app/regions/us-west-2",
            ],
            "drlease: --lease-name: lease name 'app/regions/us-west-2' contains '/'",
        ),
        (
            vec!["run", "--store", "memory", "--identity", "*"],
            "drlease: --identity: '*' is reserved",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--identity",
                "evil\nINFO forged",
            ],
            "drlease: --identity: identity 'evil\\nINFO forged' contains the control character",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://[::1/x",
            ],
            "drlease: --app-health-url: 'http://[::1/x' opens an IPv6 address",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://a b/",
            ],
            "drlease: --app-health-url: 'http://a b/' contains a space",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://a/x\r\nX: 1",
            ],
            "drlease: --app-health-url: 'http://a/x\\r\\nX: 1' contains the character \\r",
        ),
        (
            vec![
                "run",
                "--store",
                "memory",
                "--app-health-url",
                "http://user:pw@a/",
            ],
            "carries credentials (user:password@): they are not supported",
        ),
    ]
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (code, stderr) = run_expecting_failure(&["run", "--store", "memory", "--listen", &listen]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--listen: cannot listen on"), "{stderr}");
}
