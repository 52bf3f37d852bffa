//! Confidence of the security findings whose near misses are still reported: the fixture
//! annotations see every level, so the levels themselves are pinned here.

use std::process::Command;

/// (rule, file name, line, confidence) of every finding under `paths`.
fn confidences(paths: &[&str]) -> Vec<(String, String, usize, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "scan",
            "--format",
            "json",
            "--no-cache",
            "-q",
            "--fail-on",
            "never",
            "--min-confidence",
            "low",
        ])
        .args(paths)
        .output()
        .expect("strata runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    let field = |f: &serde_json::Value, k: &str| f[k].as_str().unwrap_or("").to_string();
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = field(f, "path");
            (
                field(f, "rule"),
                path.rsplit('/').next().unwrap_or(&path).to_string(),
                f["line"].as_u64().unwrap_or(0) as usize,
                field(f, "confidence"),
            )
        })
        .collect()
}

fn level(found: &[(String, String, usize, String)], rule: &str, file: &str, line: usize) -> String {
    found
        .iter()
        .find(|(r, f, l, _)| r == rule && f == file && *l == line)
        .map(|(_, _, _, c)| c.clone())
        .unwrap_or_else(|| panic!("{rule} not reported at {file}:{line}"))
}

#[test]
fn sql_near_misses_are_low() {
    let found = confidences(&[
        "fixtures/python/security/sec027_backup_jobs.py",
        "fixtures/rust/worker/src/schemas.rs",
    ]);
    // Quotes escaped by hand; an integer id by name; free text.
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 37), "low");
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 45), "low");
    assert_eq!(
        level(&found, "SEC027", "sec027_backup_jobs.py", 50),
        "medium"
    );
    // A quoted identifier in DDL.
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 83), "low");
    // A quoted identifier in DDL; a value in a literal.
    assert_eq!(level(&found, "SEC107", "schemas.rs", 9), "low");
    assert_eq!(level(&found, "SEC107", "schemas.rs", 16), "medium");
}
