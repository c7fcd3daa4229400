//! The operator commands' command line (issue 28, item 6): each command's help lists its
//! own flags and the settings it uses, a memory store is a settings error (exit 2), and an
//! unreachable store is one plain line. None of these needs moto.

use crate::*;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(BIN);
    // Only the flags given here: no DRLEASE_* of the test run (each would be a setting, or
    // a warning line on stderr).
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DRLEASE_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    text(&out)
}

#[test]
fn each_operator_commands_help_lists_its_own_flags_first_and_no_sidecar_settings() {
    for (command, own) in [
        ("status", &["--watch", "--output"][..]),
        ("history", &["--limit", "--output"][..]),
        ("handover", &["--to", "--timeout"][..]),
        ("freeze", &[][..]),
        ("unfreeze", &[][..]),
        ("create-table", &["--wait"][..]),
    ] {
        let (code, help, _) = run(&[command, "--help"]);
        assert_eq!(code, Some(0), "{command} --help");
        for flag in own {
            assert!(
                help.contains(flag),
                "{command} --help misses {flag}:\n{help}"
            );
        }
        for sidecar in ["--listen ", "--gate-listen", "--priority", "--max-watchers"] {
            assert!(
                !help.contains(sidecar),
                "{command} --help lists {sidecar}:\n{help}"
            );
        }
        let settings = help.find("Settings").expect("a settings heading");
        assert!(help.find("--help").unwrap() < settings, "{help}");
        assert!(help.contains("--table "), "{help}");
        let flags = help
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .count();
        // Its own (at most 3 with --help) and the 10 settings it uses, not the sidecar's 27.
        assert!(flags <= 13, "{command} --help lists {flags} flags:\n{help}");
    }
}

#[test]
fn output_is_documented() {
    let (_, help, _) = run(&["status", "--help"]);
    let line = help.lines().find(|l| l.contains("--output")).unwrap();
    assert!(line.contains("Output format"), "{line}");
}

/// docs/reference.md promised exit code 2 for a bad setting; `--store memory` exited 1.
#[test]
fn the_memory_store_on_an_operator_command_is_a_settings_error() {
    for command in [
        "status",
        "history",
        "handover",
        "freeze",
        "unfreeze",
        "create-table",
    ] {
        let (code, _, err) = run(&[command, "--store", "memory", "--table", "t"]);
        assert_eq!(code, Some(2), "{command}: {err}");
        assert!(
            err.contains("--store") && err.contains("memory store"),
            "{err}"
        );
    }
}

/// `status` against a store nobody listens on printed the SDK's debug structures.
#[test]
fn an_unreachable_store_is_one_plain_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is gone: nothing listens on the port.
    let endpoint = format!("http://127.0.0.1:{port}");
    let (code, _, err) = run(&[
        "status",
        "--endpoint-url",
        &endpoint,
        "--region",
        "us-east-1",
        "--table",
        "t",
        "--lease-name",
        "l",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot read lease 'l' in table 't'"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for debug in ["DispatchFailure(", "ConnectorError", "source:", "{"] {
        assert!(!err.contains(debug), "debug structure {debug:?} in: {err}");
    }
}
