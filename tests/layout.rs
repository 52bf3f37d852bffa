//! The layout rule of ARCHITECTURE.md, checked on the sources: imports point down the
//! pipeline (cli -> scan -> rules -> checks -> model -> source), never up, and a check of one
//! audit layer does not reach into another layer's folder (shared helpers live at the top of
//! `checks/`). A `crate::` path in code (not in a comment or a string) is an import.

use std::path::{Path, PathBuf};

/// Top-level folders of `src/`, lowest first.
const LAYERS: &[&str] = &["source", "model", "checks", "rules", "scan", "cli"];
const CHECK_LAYERS: &[&str] = &[
    "api_surface",
    "auth",
    "error_handling",
    "integrity",
    "security",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a Rust file with comments and the contents of string literals blanked out.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + close.len();
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // a char literal such as '"'
            out.push_str("' '");
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let mut j = i + 2;
            while j < b.len() && b[j] != b'\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `(line, first segment, second segment)` of every `crate::a::b` path in the code.
fn crate_paths(code: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `$crate::` or `my_crate::`
            }
            let mut segs = rest.split("::").map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            });
            let a = segs.next().unwrap_or_default();
            let b = segs.next().unwrap_or_default();
            out.push((n + 1, a, b));
        }
    }
    out
}

#[test]
fn imports_point_down_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut seen = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let parts: Vec<&str> = rel.iter().map(|s| s.to_str().unwrap()).collect();
        if parts.len() < 2 {
            continue; // lib.rs, main.rs: the crate root sees everything
        }
        let Some(own) = rank(parts[0]) else {
            bad.push(format!(
                "{}: top-level folder not in the layout",
                rel.display()
            ));
            continue;
        };
        let own_check_layer = (parts[0] == "checks" && parts.len() >= 3).then(|| parts[1]);
        let text = std::fs::read_to_string(f).unwrap();
        for (line, a, b) in crate_paths(&code_only(&text)) {
            seen += 1;
            let Some(r) = rank(&a) else {
                bad.push(format!(
                    "{}:{line}: crate::{a} is not a layer",
                    rel.display()
                ));
                continue;
            };
            if r > own {
                bad.push(format!(
                    "{}:{line}: {} imports upward from {}",
                    rel.display(),
                    parts[0],
                    a
                ));
            }
            if a == "checks" && CHECK_LAYERS.contains(&b.as_str()) {
                if let Some(mine) = own_check_layer {
                    if mine != b {
                        bad.push(format!(
                            "{}:{line}: checks/{mine} reaches into checks/{b}",
                            rel.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        seen > 100,
        "the scan of src/ found only {seen} crate:: paths"
    );
    assert!(bad.is_empty(), "layout violations:\n{}", bad.join("\n"));
}

#[test]
fn the_checker_sees_violations() {
    let code = code_only(
        "use crate::scan::engine; // crate::cli::x\nlet s = \"crate::cli\";\nfn f() { crate::model::routes::x() }",
    );
    let paths = crate_paths(&code);
    assert_eq!(
        paths,
        vec![
            (1, "scan".to_string(), "engine".to_string()),
            (3, "model".to_string(), "routes".to_string())
        ]
    );
}
