//! The least-privilege IAM policies in deploy/aws must grant every DynamoDB operation the
//! code calls, and the sidecar's policy every operation the sidecar itself calls. A new
//! SDK call without a policy change fails here, not in production.

use std::collections::BTreeSet;
use std::path::Path;

/// SDK client method -> IAM action.
const OPERATIONS: &[(&str, &str)] = &[
    (".get_item()", "dynamodb:GetItem"),
    (".update_item()", "dynamodb:UpdateItem"),
    (".put_item()", "dynamodb:PutItem"),
    (".delete_item()", "dynamodb:DeleteItem"),
    (".scan()", "dynamodb:Scan"),
    (".query()", "dynamodb:Query"),
    (".batch_write_item()", "dynamodb:BatchWriteItem"),
    (".batch_get_item()", "dynamodb:BatchGetItem"),
    (".transact_write_items()", "dynamodb:TransactWriteItems"),
    (".create_table()", "dynamodb:CreateTable"),
    (".describe_table()", "dynamodb:DescribeTable"),
    (".update_table()", "dynamodb:UpdateTable"),
    (".describe_time_to_live()", "dynamodb:DescribeTimeToLive"),
    (".update_time_to_live()", "dynamodb:UpdateTimeToLive"),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files under `src/` whose path contains any of `parts` (all when empty), with their
/// path relative to `src/` and their text.
fn source_files(parts: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|file| {
            let rel = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            (rel, file)
        })
        .filter(|(rel, _)| parts.is_empty() || parts.iter().any(|p| rel.contains(p)))
        .map(|(rel, file)| (rel, std::fs::read_to_string(file).unwrap()))
        .collect()
}

/// The IAM actions called from files under `src/` whose path contains any of `parts`.
fn actions_called(parts: &[&str]) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for (_, text) in source_files(parts) {
        // Only the non-test part of the file.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (call, action) in OPERATIONS {
            if code.contains(call) {
                actions.insert(action.to_string());
            }
        }
    }
    actions
}

fn granted(policy: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/aws")
        .join(policy);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_policies_grant_every_operation_the_code_calls() {
    let all = actions_called(&[]);
    assert!(
        all.contains("dynamodb:UpdateItem"),
        "the scan found the code's calls: {all:?}"
    );
    let union: BTreeSet<String> = granted("iam-policy-sidecar.json")
        .union(&granted("iam-policy-operator.json"))
        .cloned()
        .collect();
    let missing: Vec<_> = all.difference(&union).collect();
    assert!(
        missing.is_empty(),
        "the code calls {missing:?}, which no policy in deploy/aws grants"
    );
}

/// The files whose calls run in the sidecar process (`drlease run`).
const SIDECAR_FILES: &[&str] = &[
    "store/dynamodb/mod.rs",
    "store/dynamodb/heartbeat.rs",
    "store/dynamodb/item/",
    "store/dynamodb/claim.rs",
    "store/dynamodb/marks.rs",
    "store/dynamodb/describe.rs",
    "app/daemon/",
    "run/",
    "lease/",
];

#[test]
fn the_sidecar_policy_grants_what_the_sidecar_calls() {
    let needed = actions_called(SIDECAR_FILES);
    let policy = granted("iam-policy-sidecar.json");
    let missing: Vec<_> = needed.difference(&policy).collect();
    assert!(
        missing.is_empty(),
        "the sidecar calls {missing:?}, not in iam-policy-sidecar.json"
    );
    // Least privilege: nothing the sidecar never calls.
    let extra: Vec<_> = policy.difference(&needed).collect();
    assert!(
        extra.is_empty(),
        "iam-policy-sidecar.json grants {extra:?}, which the sidecar never calls"
    );
}

/// The sidecar's store cost must not grow with the table: no Scan (nor Query) anywhere on
/// its path, failback included, and none in its policy.
#[test]
fn nothing_on_the_sidecars_path_scans() {
    let sidecar = actions_called(SIDECAR_FILES);
    for action in ["dynamodb:Scan", "dynamodb:Query"] {
        assert!(
            !sidecar.contains(action),
            "the sidecar's files call {action}: its cost would grow with the table"
        );
        assert!(!granted("iam-policy-sidecar.json").contains(action));
    }
    // And no sidecar file reaches the operators' Scan through a helper.
    for (rel, text) in source_files(SIDECAR_FILES) {
        assert!(
            !text.contains("list_heartbeats"),
            "{rel} lists the heartbeats (a Scan) on the sidecar's path"
        );
    }
}

#[test]
fn the_cloudformation_policies_match_the_json_ones() {
    for template in ["global-table.yaml", "global-table-mrsc.yaml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/aws")
            .join(template);
        let doc: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (resource, json) in [
            ("SidecarPolicy", "iam-policy-sidecar.json"),
            ("OperatorPolicy", "iam-policy-operator.json"),
        ] {
            let actions: BTreeSet<String> = doc["Resources"][resource]["Properties"]
                ["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["Action"].as_array().unwrap().iter())
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                actions,
                granted(json),
                "{template} {resource} differs from {json}"
            );
        }
    }
}
