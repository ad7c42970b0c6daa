//! Repository hygiene: every source file opens with a `//!` paragraph saying what it is for.

use std::path::Path;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

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
