//! The code's shape, checked like rust-analyzer's tidy tests: no source file over
//! [`FILE_MAX_LINES`], no function over [`FN_MAX_LINES`], no import cycle between modules. A
//! newcomer reads one file to change one thing; these keep it so.
//!
//! The function scan is a heuristic on rustfmt's layout (a `fn` line and the `}` at the same
//! indentation), which is what `cargo fmt` guarantees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FILE_MAX_LINES: usize = 600;
const FN_MAX_LINES: usize = 80;

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path: PathBuf = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).expect("under src");
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                files.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| text.lines().count() > FILE_MAX_LINES)
        .map(|(path, text)| format!("src/{path}: {} lines", text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern (limit {FILE_MAX_LINES}):\n{}",
        long.join("\n")
    );
}

/// `(first line, length, name)` of every function body in `text`.
fn functions(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let Some(name) = fn_name(trimmed) else {
            continue;
        };
        if trimmed.ends_with(';') {
            continue; // a declaration in a trait
        }
        if trimmed.ends_with('}') && trimmed.matches('{').count() == trimmed.matches('}').count() {
            found.push((i + 1, 1, name));
            continue;
        }
        let closing = lines[i + 1..].iter().position(|l| {
            l.len() > indent && l[..indent].trim().is_empty() && l[indent..].starts_with('}')
        });
        if let Some(offset) = closing {
            found.push((i + 1, offset + 2, name));
        }
    }
    found
}

fn fn_name(trimmed: &str) -> Option<String> {
    let mut rest = trimmed;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let after = rest.strip_prefix("fn ")?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn no_function_is_over_the_line_limit() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        for (line, length, name) in functions(&text) {
            if length > FN_MAX_LINES {
                long.push(format!("src/{path}:{line} {name}: {length} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these into named pieces (limit {FN_MAX_LINES}):\n{}",
        long.join("\n")
    );
}

/// The module path of a file: `exec/steps/mod.rs` → `exec::steps`, `lib.rs` → ``.
fn module_of(path: &str) -> String {
    let stem = path.trim_end_matches(".rs");
    let parts: Vec<&str> = stem
        .split('/')
        .filter(|p| !matches!(*p, "mod" | "lib" | "main"))
        .collect();
    parts.join("::")
}

/// Which file-module a path like `plan::planner::Plan` names: its longest prefix that is one.
fn resolve(path: &[&str], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn path_after(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .next()
        .unwrap_or("")
        .split("::")
        .filter(|s| !s.is_empty())
        .collect()
}

/// Edges between file-modules from `crate::` and `super::` paths. A module naming its own
/// descendant (declaring or re-exporting it) is not an edge: only sideways and upward uses are.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources();
    let modules: BTreeSet<String> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let me = module_of(path);
        // What `super::` names from this file's top level: the parent module.
        let mut parent: Vec<&str> = me.split("::").filter(|s| !s.is_empty()).collect();
        parent.pop();
        // Inline modules (`mod tests {`) open by indentation; `super::` inside one is this file.
        let mut inline: Vec<usize> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if inline
                .last()
                .is_some_and(|&i| indent == i && trimmed.starts_with('}'))
            {
                inline.pop();
                continue;
            }
            if trimmed.starts_with("//") {
                continue;
            }
            if (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod "))
                && trimmed.ends_with('{')
            {
                inline.push(indent);
                continue;
            }
            let mut targets = Vec::new();
            for (at, _) in line.match_indices("crate::") {
                if line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue; // `noderoll_crate::` and the like
                }
                let p = path_after(&line[at + "crate::".len()..]);
                targets.extend(resolve(&p, &modules));
            }
            for (at, _) in line.match_indices("super::") {
                if line[..at].ends_with("super::") {
                    continue;
                }
                let mut rest = &line[at..];
                let mut ups = 0;
                while let Some(r) = rest.strip_prefix("super::") {
                    ups += 1;
                    rest = r;
                }
                if ups <= inline.len() {
                    continue; // names something in this file
                }
                let ups = ups - inline.len();
                let mut base = parent.clone();
                for _ in 1..ups {
                    base.pop();
                }
                let mut p = base;
                p.extend(path_after(rest));
                targets.extend(resolve(&p, &modules));
            }
            for target in targets {
                let descendant = target.starts_with(&format!("{me}::")) || me.is_empty();
                if target != me && !descendant {
                    graph.entry(me.clone()).or_default().insert(target);
                }
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                s.low.entry(v).and_modify(|l| *l = (*l).min(lw));
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                s.low.entry(v).and_modify(|l| *l = (*l).min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let at = s.stack.iter().rposition(|x| *x == v).expect("on the stack");
            let component: Vec<String> = s.stack.drain(at..).map(String::from).collect();
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn no_import_cycle_between_modules() {
    let found: Vec<String> = cycles(&import_graph())
        .into_iter()
        .map(|mut c| {
            c.sort();
            c.join(" <-> ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "these modules import each other (move what they share into a module both use):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_only_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let mut found = cycles(&graph);
    assert_eq!(found.len(), 1);
    found[0].sort();
    assert_eq!(found[0], ["a", "b", "c"]);
}

#[test]
fn the_function_scan_measures_bodies_and_skips_declarations() {
    let text = "fn one() {\n    x();\n}\nfn tiny() { 1 }\ntrait T {\n    fn two(&self);\n}\n    pub(crate) async fn three() {\n        y();\n        z();\n    }\n";
    let found = functions(text);
    assert_eq!(
        found,
        [
            (1, 3, "one".to_string()),
            (4, 1, "tiny".to_string()),
            (8, 4, "three".to_string())
        ]
    );
}
