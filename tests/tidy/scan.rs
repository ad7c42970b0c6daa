//! A small Rust source scanner for the tidy checks: blanks out comments, strings and character
//! literals (keeping line breaks, so line numbers stay true), drops test code (`#[cfg(test)]` items and
//! the files they declare), and finds function bodies and `crate::` paths in what is left.
//!
//! It is not a parser; it is exact for the code in this repository (no macro defines a function, no
//! raw identifier, no brace inside a signature) and is checked by its own tests below.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One source file of the crate, already reduced to non-test code.
pub struct Source {
    pub path: PathBuf,
    /// The text with comments, strings and test items blanked out (same lines as the file).
    pub code: String,
}

/// Every non-test source file under `src/`, each reduced to its non-test code.
pub fn crate_sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut test_files = BTreeSet::new();
    let mut out = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let (code, declared) = without_tests(&blank(&text));
        for name in declared {
            test_files.insert(module_file(path, &name));
        }
        out.push(Source {
            path: path.clone(),
            code,
        });
    }
    out.retain(|s| {
        !test_files
            .iter()
            .any(|t| s.path == t.with_extension("rs") || s.path.starts_with(t))
    });
    out
}

/// Every `.rs` file below `dir`.
pub fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The file (or, for its children, the directory prefix) of module `name` declared in `parent`.
fn module_file(parent: &Path, name: &str) -> PathBuf {
    let stem = parent.file_stem().unwrap().to_string_lossy();
    let dir = parent.parent().unwrap();
    let base = if matches!(&*stem, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(&*stem)
    };
    // `name.rs` and `name/…` both start with this prefix once the extension is dropped.
    base.join(name)
}

/// The top-level module a file belongs to (`src/engine/zone.rs` → `engine`, `src/app.rs` → `app`).
pub fn top_module(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root.join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `text` with the inside of comments, string literals and character literals replaced by spaces
/// (line breaks kept), so that braces and words in them do not count.
pub fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let clear = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                clear(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                let mut j = i;
                while j < b.len() {
                    if b[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if b[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                clear(&mut out, i, j);
                i = j;
            }
            b'r' if raw_string_start(b, i).is_some() => {
                let (hashes, open) = raw_string_start(b, i).unwrap();
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let end = find(b, open + 1, &close).unwrap_or(b.len());
                clear(&mut out, open + 1, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                clear(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => i = char_literal(text, i, &mut out),
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// At an `r` that opens a raw string (`r"`, `r#"`, `br"` …, not part of an identifier): the number
/// of `#`s and the index of the opening quote.
fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let prev = i.checked_sub(1).map(|p| b[p]);
    let prev_ok = match prev {
        Some(b'b') => i < 2 || !is_ident(b[i - 2]),
        Some(c) => !is_ident(c),
        None => true,
    };
    if !prev_ok {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some((hashes, i + 1 + hashes))
}

/// Skips a character literal at `i` (blanking it) or steps over a lifetime's or label's quote.
fn char_literal(text: &str, i: usize, out: &mut [u8]) -> usize {
    let b = text.as_bytes();
    let end = if b.get(i + 1) == Some(&b'\\') {
        b.get(i + 3..)
            .and_then(|r| r.iter().position(|&c| c == b'\''))
            .map(|p| i + 3 + p)
    } else {
        // One character (maybe several UTF-8 bytes) and a closing quote; otherwise a lifetime.
        let len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
        (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
    };
    match end {
        Some(e) => {
            for c in &mut out[i + 1..e] {
                *c = b' ';
            }
            e + 1
        }
        None => i + 1,
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    (from..=b.len().saturating_sub(needle.len())).find(|&j| b[j..].starts_with(needle))
}

/// Index just past the `}` matching the `{` at `open`.
pub fn matching_brace(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    b.len()
}

/// Blanked `code` without its `#[cfg(test)]` items; also the names of modules declared as
/// `#[cfg(test)] mod name;` (whole test files).
pub fn without_tests(code: &str) -> (String, Vec<String>) {
    let mut out = code.as_bytes().to_vec();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]").map(|p| from + p) {
        let item = at + "#[cfg(test)]".len();
        let rest = &code[item..];
        let semi = rest.find(';').map(|p| item + p);
        let brace = rest.find('{').map(|p| item + p);
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (Some(s), None) => s + 1,
            (_, Some(b)) => matching_brace(code.as_bytes(), b),
            (None, None) => code.len(),
        };
        let head = code[item..end].trim();
        if let Some(name) = head.strip_prefix("mod ").and_then(|h| h.strip_suffix(';')) {
            files.push(name.trim().to_string());
        }
        for c in &mut out[at..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    (String::from_utf8(out).unwrap_or_default(), files)
}

/// A function found in blanked code: its name, first line (1-based) and length in lines (the `fn`
/// line to the closing brace).
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// Every function with a body in blanked `code`.
pub fn functions(code: &str) -> Vec<Function> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn ").map(|p| from + p) {
        from = at + 3;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        if name.is_empty() {
            continue; // `fn(` in a type
        }
        let (semi, brace) = (code[at..].find(';'), code[at..].find('{'));
        let Some(open) = brace
            .filter(|&o| semi.is_none_or(|s| o < s))
            .map(|o| at + o)
        else {
            continue; // a declaration without a body
        };
        let close = matching_brace(b, open);
        let line = code[..at].matches('\n').count() + 1;
        let last = code[..close].matches('\n').count() + 1;
        out.push(Function {
            name,
            line,
            lines: last - line + 1,
        });
    }
    out
}

/// The top-level modules named by `crate::…` paths in blanked `code`.
pub fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && is_ident(code.as_bytes()[i - 1]) {
            continue;
        }
        let name: String = code[i + 7..]
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_strings_and_chars_are_blanked_lines_kept() {
        let src = "let a = \"{\"; // }\nlet b = '{'; /* { */ let c = r#\"}\"#;\n'x: loop {}\n";
        let out = blank(src);
        assert_eq!(out.lines().count(), src.lines().count());
        assert_eq!(out.matches('{').count(), 1, "{out}");
        assert_eq!(out.matches('}').count(), 1, "{out}");
        assert!(out.contains("'x: loop"), "a label is not a char: {out}");
    }

    #[test]
    fn test_items_and_test_files_are_dropped() {
        let src = "fn a() {}\n#[cfg(test)]\nmod tests {\n fn b() { crate::x::y(); }\n}\n#[cfg(test)]\nmod more;\n";
        let (code, files) = without_tests(&blank(src));
        assert_eq!(files, ["more"]);
        assert!(!code.contains("crate::x"));
        assert_eq!(functions(&code).len(), 1);
    }

    #[test]
    fn functions_are_measured_from_fn_to_closing_brace() {
        let src = "pub fn long(\n  a: u8,\n) -> u8 {\n  a\n}\ntrait T { fn decl(&self); }\nfn f(x: fn(u8)) {}\n";
        let fns = functions(&blank(src));
        let names: Vec<_> = fns.iter().map(|f| (f.name.as_str(), f.lines)).collect();
        assert_eq!(names, [("long", 5), ("f", 1)]);
    }

    #[test]
    fn crate_paths_name_top_level_modules() {
        let code =
            blank("use crate::engine::Command;\nlet x = crate::color::hsv(1);\n// crate::mqtt\n");
        let got: Vec<_> = crate_paths(&code).into_iter().collect();
        assert_eq!(got, ["color", "engine"]);
    }
}
