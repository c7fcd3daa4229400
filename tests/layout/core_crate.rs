//! The core as a crate of its own: what it may depend on, and how its files import.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{files_under, is_test_file};

/// What the core may depend on: nothing that does I/O, runs tasks or serves.
const CORE_DEPENDENCIES: &[&str] = &["serde", "thiserror"];

/// The lease core, a crate of its own.
fn core_crate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/drlease-core")
}

/// The core crate's sources, named from its `src/`.
pub fn core_files() -> Vec<(String, String)> {
    files_under(&core_crate().join("src"))
}

/// Inside the core each file names what it imports, so what it may reach is on its first
/// lines (test files excepted).
#[test]
fn the_core_names_its_imports() {
    let globbed: Vec<String> = core_files()
        .into_iter()
        .filter(|(name, text)| {
            name.starts_with("core/")
                && !is_test_file(name)
                && text.lines().any(|l| l.trim() == "use super::*;")
        })
        .map(|(name, _)| name)
        .collect();
    assert!(globbed.is_empty(), "use super::* in {globbed:?}");
}

/// Cargo holds the core's layering: a crate that depends on no runtime, store client or
/// server cannot do I/O or reach the layers that drive it. This keeps that list short.
#[test]
fn the_core_depends_on_nothing_that_does_io() {
    let manifest = fs::read_to_string(core_crate().join("Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#') {
            found.push(line.split(['=', ' ']).next().unwrap().to_string());
        }
    }
    assert!(!found.is_empty(), "no dependencies read from {manifest}");
    let extra: Vec<&String> = found
        .iter()
        .filter(|d| !CORE_DEPENDENCIES.contains(&d.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "the core crate depends on {extra:?}: keep I/O in the binary crate"
    );
}
