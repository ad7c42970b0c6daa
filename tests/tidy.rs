//! Repository hygiene: every source file opens with a `//!` paragraph saying what it is for; no
//! function outside tests is over 80 lines; the top-level modules import each other without a cycle
//! and only downwards through the layers ARCHITECTURE.md draws; every effect and parameter is
//! documented.

#[path = "tidy/scan.rs"]
mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use scan::walk;

#[test]
fn every_source_file_has_a_module_doc() {
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:?}"
    );
}

#[test]
fn every_effect_and_parameter_is_documented() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/EFFECTS.md"))
            .unwrap();
    for fx in diuna::effects::REGISTRY {
        assert!(
            doc.contains(&format!("`{}`", fx.name())),
            "docs/EFFECTS.md lacks {}",
            fx.name()
        );
    }
    for p in diuna::effects::ParamId::ALL {
        assert!(
            doc.contains(p.name()),
            "docs/EFFECTS.md never mentions the parameter {}",
            p.name()
        );
    }
}

/// Functions a reader can hold in their head: none outside tests is longer than this.
const MAX_FUNCTION_LINES: usize = 80;

#[test]
fn no_function_outside_tests_is_over_80_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for src in scan::crate_sources(root) {
        for f in scan::functions(&src.code) {
            if f.lines > MAX_FUNCTION_LINES {
                let rel = src.path.strip_prefix(root).unwrap().display().to_string();
                long.push(format!("{rel}:{} {} ({} lines)", f.line, f.name, f.lines));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them by phase, section or entity):\n{}",
        long.join("\n")
    );
}

/// Which top-level modules each top-level module names through `crate::` in its non-test code, with
/// the first file that does.
fn module_graph(root: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for src in scan::crate_sources(root) {
        let from = scan::top_module(root, &src.path);
        let rel = src.path.strip_prefix(root).unwrap().display().to_string();
        let deps = graph.entry(from.clone()).or_default();
        for to in scan::crate_paths(&src.code) {
            if to != from {
                deps.entry(to).or_insert_with(|| rel.clone());
            }
        }
    }
    graph
}

/// A cycle through `node`, if any (depth-first search).
fn cycle_from(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let node = path.last().unwrap().clone();
    for next in graph.get(&node).into_iter().flat_map(|d| d.keys()) {
        if let Some(i) = path.iter().position(|p| p == next) {
            let mut cycle = path[i..].to_vec();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if done.contains(next) {
            continue;
        }
        path.push(next.clone());
        if let Some(c) = cycle_from(graph, path, done) {
            return Some(c);
        }
        path.pop();
    }
    done.insert(node);
    None
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = module_graph(root);
    assert!(graph.len() > 10, "{graph:?}");
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, &mut vec![start.clone()], &mut done) {
            let because: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            panic!(
                "module cycle: {}\n{}",
                cycle.join(" → "),
                because.join("\n")
            );
        }
    }
}

/// The layers ARCHITECTURE.md draws (the fenced block under `## Layering`), top first: each line names
/// modules before its first run of two spaces.
fn documented_layers(root: &Path) -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("\n## Layering")
        .nth(1)
        .expect("ARCHITECTURE.md has a ## Layering section");
    let block = section.split("```").nth(1).expect("a fenced block in it");
    block
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let names = l.split("  ").next().unwrap_or("");
            names.split(',').map(|n| n.trim().to_string()).collect()
        })
        .collect()
}

#[test]
fn every_import_points_down_the_layers_architecture_md_draws() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers = documented_layers(root);
    let level = |m: &str| layers.iter().position(|l| l.iter().any(|n| n == m));
    let mut wrong = Vec::new();
    for (from, deps) in module_graph(root) {
        if matches!(from.as_str(), "lib" | "main") {
            continue;
        }
        let Some(f) = level(&from) else {
            wrong.push(format!("{from} is not in ARCHITECTURE.md's layering"));
            continue;
        };
        for (to, file) in deps {
            if level(&to).is_none_or(|t| t <= f) {
                wrong.push(format!(
                    "{from} → {to} ({file}) does not point to a lower layer"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether `code` names `word` as a whole path segment (not inside a longer identifier).
fn names(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// ARCHITECTURE.md's "deliberately absent" invariants: which names may appear only where. Each row is
/// (the names, the files allowed to use them — path prefixes under `src/` — or, with `!`, the files
/// that must not).
const PLACES: [(&[&str], &[&str]); 6] = [
    // The render loop is the only owner of zone state: no lock in the engine.
    (&["Mutex", "RwLock"], &["!engine/"]),
    // Only src/mqtt/ imports rumqttc.
    (&["rumqttc"], &["mqtt/"]),
    // All of TLS is src/mqtt/tls.rs, behind the `tls` feature.
    (&["rustls"], &["mqtt/tls.rs"]),
    // Only src/output/ and src/input/gpio.rs touch the hardware crates.
    (&["rs_ws281x", "rppal"], &["output/", "input/gpio.rs"]),
    // Effects and palettes never read the clock, do I/O or spawn.
    (
        &[
            "Instant",
            "SystemTime",
            "fs",
            "net",
            "thread",
            "tokio",
            "File",
        ],
        &["!effects/", "!palette.rs"],
    ),
    // The render loop and the output thread never touch the tokio runtime (its channels are plain
    // data structures and may be used from any thread).
    (
        &[
            "spawn_blocking",
            "block_on",
            "runtime",
            "Handle",
            "block_in_place",
        ],
        &["!engine/", "!output/"],
    ),
];

#[test]
fn names_stay_where_architecture_md_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut wrong = Vec::new();
    for file in scan::crate_sources(root) {
        let rel = file.path.strip_prefix(&src).unwrap().display().to_string();
        for (words, places) in PLACES {
            let (deny, allow): (Vec<&str>, Vec<&str>) =
                places.iter().partition(|p| p.starts_with('!'));
            let barred = if allow.is_empty() {
                deny.iter().any(|p| rel.starts_with(&p[1..]))
            } else {
                !allow.iter().any(|p| rel.starts_with(p))
            };
            for w in words.iter().filter(|w| barred && names(&file.code, w)) {
                wrong.push(format!("src/{rel} names `{w}`"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn names_matches_whole_words_only() {
    assert!(names("use rumqttc::v5;", "rumqttc"));
    assert!(!names("let instants = 1; InstantX", "Instant"));
    assert!(names("std::time::Instant::now()", "Instant"));
}
