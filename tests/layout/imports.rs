//! What each source file imports: every path it names (`crate::`, `super::`,
//! `super::super::`, `self::`, a child module's name, the items of `use` groups), resolved
//! from the module it is written in to the file that defines the module it reaches.

use std::collections::{BTreeMap, BTreeSet};

/// A module path from the crate root: `ops/history.rs` is `["ops", "history"]`.
pub type Module = Vec<String>;

/// The module a file defines: `ops/history.rs` is `ops::history`, `ops/mod.rs` is `ops`.
pub fn module_of(file: &str) -> Module {
    let mut parts: Module = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Open,
    Close,
    Other,
}

fn tokens(code: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = c.to_string();
            while let Some(&d) = chars.peek() {
                if !(d.is_alphanumeric() || d == '_') {
                    break;
                }
                word.push(d);
                chars.next();
            }
            out.push(Tok::Ident(word));
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push(Tok::Sep);
        } else if c == '{' {
            out.push(Tok::Open);
        } else if c == '}' {
            out.push(Tok::Close);
        } else if !c.is_whitespace() {
            out.push(Tok::Other);
        }
    }
    out
}

/// One path as written, in the module it is written in (a file's module, or an inline
/// `mod name { ... }` inside it), and whether it is inside an inline `tests` module.
#[derive(Debug, PartialEq)]
pub struct Written {
    pub module: Module,
    pub path: Vec<String>,
    pub in_tests: bool,
}

/// Every path of `code` (comments and literals already stripped) in file module `file`:
/// `a::{b, c::{d, e as f}}` gives `a::b`, `a::c::d` and `a::c::e`.
pub fn paths(file: &Module, code: &str) -> Vec<Written> {
    let toks = tokens(code);
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(word) if word == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(word) if i == 0 || toks[i - 1] != Tok::Sep => {
                let rooted = matches!(word.as_str(), "crate" | "super" | "self");
                if rooted || toks.get(i + 1) == Some(&Tok::Sep) {
                    let mut found = Vec::new();
                    i = path_at(&toks, i, Vec::new(), &mut found);
                    let mut module = file.clone();
                    module.extend(inline.iter().map(|(n, _)| n.clone()));
                    let in_tests = inline.iter().any(|(n, _)| n == "tests");
                    out.extend(found.into_iter().map(|path| Written {
                        module: module.clone(),
                        path,
                        in_tests,
                    }));
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn path_at(
    toks: &[Tok],
    mut i: usize,
    mut segments: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    while let Some(Tok::Ident(word)) = toks.get(i) {
        segments.push(word.clone());
        i += 1;
        if toks.get(i) != Some(&Tok::Sep) {
            break;
        }
        i += 1;
        if toks.get(i) == Some(&Tok::Open) {
            return group(toks, i + 1, segments, out);
        }
    }
    out.push(segments);
    i
}

fn group(toks: &[Tok], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match toks.get(i) {
            None => return i,
            Some(Tok::Close) => return i + 1,
            // `b as c`: the name given is no path.
            Some(Tok::Ident(word)) if word == "as" => i += 2,
            Some(Tok::Ident(_)) => i = path_at(toks, i, prefix.clone(), out),
            Some(_) => i += 1,
        }
    }
}

/// `path`, written in `module`, from the crate root; `None` when it leads into another
/// crate, to a local item or above the root.
pub fn resolve(module: &[String], path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let (mut base, rest): (Module, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "super" | "self" => {
            let mut base = module.to_vec();
            let mut rest = path;
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            (base, rest)
        }
        name => {
            let mut child = module.to_vec();
            child.push(name.to_string());
            if !modules.contains(&child) {
                return None;
            }
            (module.to_vec(), path)
        }
    };
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// The file module that defines `path`: the longest of `modules` it starts with.
pub fn defining(path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| modules.contains(m))
}

/// Each file's imports of other files (test code aside), leaving out a file's own
/// ancestors: a module's `mod.rs` declares its parts and holds what they share, so a part
/// using it is no cycle.
pub fn edges(files: &[(Module, String)]) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = BTreeMap::new();
    for (file, code) in files {
        let targets: BTreeSet<Module> = paths(file, code)
            .into_iter()
            .filter(|w| !w.in_tests)
            .filter_map(|w| resolve(&w.module, &w.path, &modules))
            .filter_map(|abs| defining(&abs, &modules))
            .filter(|target| !file.starts_with(target))
            .collect();
        graph.insert(file.clone(), targets);
    }
    graph
}

/// Every cycle of the graph, once each, as the files on it from the smallest.
pub fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let mut found: BTreeSet<Vec<Module>> = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    found.insert(trail.clone());
                } else if next > start && !trail.contains(next) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found.into_iter().collect()
}
