//! Reports written into docs/: a section replaced in place, and the commit it came from.
//! No moto, no processes: the simulation (in the core crate's tests) reaches this file
//! alone.
#![allow(dead_code)]

/// Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a file under
/// docs/ (appending the section if it is not there yet), leaving the rest as it is.
pub fn write_doc_section(file: &str, name: &str, body: &str) {
    let path = repository_root().join("docs").join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let section = format!("{begin}\n{body}\n{end}");
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &old[..b], &old[e + end.len()..]),
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(&path, new).unwrap();
}

/// The workspace's root (where `Cargo.lock` is), from whichever crate's tests run.
fn repository_root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .expect("the workspace root, with Cargo.lock, above the crate")
}

/// The short commit hash of the checkout, for reports.
pub fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
