//! The layout `docs/architecture.md` describes, held by a test: `src/` shows the layers (at
//! most eight folders or files besides `lib.rs` and `main.rs`), the core is a crate that
//! depends on nothing that does I/O, no source file is over 400 lines, no function over 80
//! (in the tests and the bench too, tables of data aside), no layer imports from one above
//! it, and no two files of a crate import each other, directly or through others.

use std::fs;
use std::path::{Path, PathBuf};

mod layout {
    pub mod core_crate;
    pub mod imports;
}

use layout::core_crate::core_files;
use layout::imports::{self, module_of, Module};

const MAX_ENTRIES: usize = 8;
const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 80;

/// Lowest first: a module may import from its own layer and the ones before it. `http`
/// and `ops` sit side by side and never import each other.
const LAYERS: &[(&str, usize)] = &[
    ("sys", 0),
    ("lease", 1),
    ("store", 2),
    ("config", 3),
    ("run", 4),
    ("http", 5),
    ("ops", 5),
    ("app", 6),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The binary crate's sources, named from `src/`.
fn all_files() -> Vec<(String, String)> {
    files_under(&src())
}

/// Every source file of the workspace, named from the repository's root.
fn workspace_files() -> Vec<(String, String)> {
    let core = core_files()
        .into_iter()
        .map(|(name, text)| (format!("crates/drlease-core/src/{name}"), text));
    all_files()
        .into_iter()
        .map(|(name, text)| (format!("src/{name}"), text))
        .chain(core)
        .collect()
}

pub fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            (name, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The tests and the bench, held to the same sizes as `src/`.
fn test_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["tests", "benches", "examples", "crates/drlease-core/tests"]
        .iter()
        .flat_map(|d| {
            files_under(&root.join(d))
                .into_iter()
                .map(move |(name, text)| (format!("{d}/{name}"), text))
        })
        .collect()
}

/// Functions that are tables of data (one entry per case or world), not code doing jobs.
const DATA_TABLES: &[&str] = &[
    "tests/e2e/bad_settings.rs: fn cases",
    "crates/drlease-core/tests/model/catalog.rs: fn ci_worlds",
    "crates/drlease-core/tests/model/catalog.rs: fn deep_worlds",
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// Test code may reach above its layer: the core's scenario tests run on the memory store,
/// whose conditions are the ones DynamoDB enforces.
pub fn is_test_file(name: &str) -> bool {
    name.ends_with("tests.rs") || name.contains("/tests/")
}

/// Strips what could hold a brace that is not code: a line comment, string and char
/// literals (simply: enough for this code base, which the test itself checks).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' => {
                // A char literal ('{', '\n'); a lifetime ('a) has no closing quote soon.
                let rest: String = chars.clone().take(3).collect();
                if let Some(escaped) = rest.strip_prefix('\\') {
                    if let Some(end) = escaped.find('\'') {
                        for _ in 0..end + 2 {
                            chars.next();
                        }
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Each function's name and length in lines, from its `fn` line to its closing brace.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = code_of(line);
        let words: Vec<&str> = code.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            continue;
        };
        let before_ok = words[..at]
            .iter()
            .all(|w| w.starts_with("pub") || matches!(*w, "async" | "const" | "unsafe"));
        if !before_ok {
            continue;
        }
        let name = words
            .get(at + 1)
            .map_or("", |w| w.split(['(', '<']).next().unwrap_or(""));
        let mut depth = 0i32;
        let mut opened = false;
        for (j, later) in lines[i..].iter().enumerate() {
            let code = code_of(later);
            if !opened && code.contains(';') && !code.contains('{') {
                break; // a declaration without a body
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth == 0 {
                found.push((name.to_string(), j + 1));
                break;
            }
        }
    }
    found
}

#[test]
fn src_shows_the_layers_and_nothing_else() {
    let entries: Vec<String> = fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lib.rs" && n != "main.rs")
        .collect();
    assert!(
        entries.len() <= MAX_ENTRIES,
        "src/ has {} entries besides lib.rs and main.rs: {entries:?}",
        entries.len()
    );
    for entry in &entries {
        assert!(
            layer(entry.trim_end_matches(".rs")).is_some(),
            "src/{entry} is in no layer: add it to LAYERS here and to docs/architecture.md"
        );
    }
}

#[test]
fn no_source_file_is_over_400_lines() {
    let files: Vec<(String, String)> = workspace_files().into_iter().chain(test_files()).collect();
    let long: Vec<String> = files
        .iter()
        .filter(|(_, text)| text.lines().count() > MAX_FILE_LINES)
        .map(|(name, text)| format!("{name}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "split these by job: {long:#?}");
}

#[test]
fn no_function_is_over_80_lines() {
    let mut long = Vec::new();
    for (name, text) in workspace_files().into_iter().chain(test_files()) {
        for (f, lines) in functions(&text) {
            let which = format!("{name}: fn {f}");
            if lines > MAX_FN_LINES && !DATA_TABLES.contains(&which.as_str()) {
                long.push(format!("{which}, {lines} lines"));
            }
        }
    }
    assert!(long.is_empty(), "split these by job: {long:#?}");
}

#[test]
fn the_function_counter_counts() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n}\n\npub(crate) async fn b(x: u8) -> u8 {\n    x\n}\n";
    assert_eq!(
        functions(text),
        [("a".to_string(), 4), ("b".to_string(), 3)]
    );
}

/// The source files (test files aside) as their modules and their code, comments and
/// literals stripped.
fn source_modules(files: Vec<(String, String)>) -> Vec<(Module, String)> {
    files
        .into_iter()
        .filter(|(name, _)| !is_test_file(name) && name != "lib.rs" && name != "main.rs")
        .map(|(name, text)| {
            let code: Vec<String> = text.lines().map(code_of).collect();
            (module_of(&name), code.join("\n"))
        })
        .collect()
}

#[test]
fn no_layer_imports_from_a_higher_one() {
    let files = source_modules(all_files());
    let modules = files.iter().map(|(m, _)| m.clone()).collect();
    let mut wrong = Vec::new();
    for (file, code) in &files {
        let Some(own) = layer(&file[0]) else {
            continue;
        };
        for written in imports::paths(file, code) {
            let Some(target) = imports::resolve(&written.module, &written.path, &modules) else {
                continue;
            };
            if written.in_tests {
                continue;
            }
            if target
                .first()
                .and_then(|m| layer(m))
                .is_some_and(|l| l > own)
            {
                wrong.push(format!(
                    "{}: imports {} ({})",
                    file.join("/"),
                    target.join("::"),
                    written.path.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "imports from a higher layer: {wrong:#?}");
}

/// Files that import each other (directly or round a longer loop) cannot be understood,
/// tested or moved one at a time: the shared part belongs in a file both import, or in
/// their module's `mod.rs`. A file using its own module's `mod.rs` is no cycle.
#[test]
fn no_files_import_each_other() {
    let core = imports::edges(&source_modules(core_files()));
    // The reader finds imports in the core too: the holder's handlers write records.
    assert!(
        core[&module_of("core/holder.rs")].contains(&module_of("record.rs")),
        "the import reader found no edge core/holder -> record: {core:#?}"
    );
    let graph = imports::edges(&source_modules(all_files()));
    // The reader finds imports at all: `status` prints `history`'s headline.
    assert!(
        graph[&module_of("ops/status.rs")].contains(&module_of("ops/history.rs")),
        "the import reader found no edge ops/status -> ops/history: {graph:#?}"
    );
    let loops: Vec<String> = imports::cycles(&graph)
        .into_iter()
        .chain(imports::cycles(&core))
        .map(|cycle| {
            let mut names: Vec<String> = cycle.iter().map(|m| m.join("/")).collect();
            names.push(names[0].clone());
            names.join(" -> ")
        })
        .collect();
    assert!(loops.is_empty(), "import cycles: {loops:#?}");
}

#[test]
fn the_import_reader_resolves_super_groups_and_inline_modules() {
    let files: Vec<(Module, String)> = [
        ("ops/mod.rs", "mod history;\nmod status;\npub fn read() {}"),
        ("ops/history.rs", "use super::status::{self, Output as O};\nuse super::read;"),
        ("ops/status.rs", "fn f() { super::super::ops::history::headline(); }"),
        ("http/watch.rs", "use super::super::{run::events::Event, ops};\nmod tests { use super::*; use crate::app::x; }"),
        ("run/events.rs", ""),
        ("app/mod.rs", ""),
    ]
    .iter()
    .map(|(name, code)| (module_of(name), code.to_string()))
    .collect();
    let graph = imports::edges(&files);
    let names = |file: &str| -> Vec<String> {
        graph[&module_of(file)]
            .iter()
            .map(|m| m.join("/"))
            .collect()
    };
    assert_eq!(
        names("ops/history.rs"),
        ["ops/status"],
        "the mod.rs it reads is no edge"
    );
    assert_eq!(names("ops/status.rs"), ["ops/history"]);
    assert_eq!(
        names("http/watch.rs"),
        ["ops", "run/events"],
        "inline tests aside"
    );
    assert_eq!(names("ops/mod.rs"), Vec::<String>::new());
    let cycles = imports::cycles(&graph);
    assert_eq!(
        cycles,
        [vec![
            module_of("ops/history.rs"),
            module_of("ops/status.rs")
        ]]
    );
}
