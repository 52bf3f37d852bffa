//! Bad input never crashes the scanner: binary files, invalid UTF-8, huge and deeply
//! nested files, syntax errors. Each is reported in `errors` (or analysed anyway) and the
//! scan goes on.

use serde_json::Value;
use std::process::Command;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn scan_json(dir: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let out = strata()
        .args(["scan", "--format", "json", "--no-timing"])
        .args(extra)
        .arg(dir)
        .output()
        .expect("strata runs");
    let code = out.status.code().expect("exit code");
    assert_ne!(
        code,
        101,
        "strata panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

fn error_for<'a>(json: &'a Value, file: &str) -> Option<&'a Value> {
    json["errors"]
        .as_array()?
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(file)))
}

#[test]
fn bad_files_are_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("blob.py"), b"\x00\x01\x02binary\x00").unwrap();
    std::fs::write(d.join("latin.rs"), b"fn main() {}\n// caf\xe9\n").unwrap();
    // Over the size cap.
    let big = "x = 1\n".repeat(200_000);
    std::fs::write(d.join("big.py"), &big).unwrap();
    // Deeply nested expressions.
    let depth = 20_000;
    let nested = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
    std::fs::write(d.join("nested.py"), nested).unwrap();
    let lists = format!("y = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    std::fs::write(d.join("lists.py"), lists).unwrap();
    let concat = format!(
        "q = \"DELETE FROM t\"{}\ncur.execute(q)\n",
        " + x".repeat(depth)
    );
    std::fs::write(d.join("concat.py"), concat).unwrap();
    let rust_nested = format!("fn f() {{ {}0{} }}\n", "(".repeat(depth), ")".repeat(depth));
    std::fs::write(d.join("nested.rs"), rust_nested).unwrap();
    // A syntax error early in a SQL file does not hide the statement after it.
    std::fs::write(
        d.join("broken.sql"),
        "CREATE TABLE t (id INT,, PRIMARY KEY;\nDELETE FROM sessions;\n",
    )
    .unwrap();
    std::fs::write(d.join("empty.py"), b"").unwrap();

    let (code, json) = scan_json(d, &["--max-file-size", "1000000"]);
    assert_eq!(code, 1, "the DELETE finding makes the scan fail: {json}");

    let blob = error_for(&json, "blob.py").expect("binary file recorded");
    assert_eq!(blob["kind"], "skipped");
    assert!(blob["message"].as_str().unwrap().contains("binary"));
    let latin = error_for(&json, "latin.rs").expect("invalid UTF-8 recorded");
    assert!(latin["message"].as_str().unwrap().contains("UTF-8"));
    let big = error_for(&json, "big.py").expect("large file recorded");
    assert!(big["message"].as_str().unwrap().contains("limit"));
    let broken = error_for(&json, "broken.sql").expect("syntax error recorded");
    assert_eq!(broken["kind"], "syntax");
    assert_eq!(broken["line"], 1);

    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with("broken.sql") && f["line"] == 2),
        "statement after the broken one still analysed: {findings:?}"
    );
    // 9 files were found; 3 skipped.
    assert_eq!(json["summary"]["files_skipped"], 3);
    assert_eq!(json["summary"]["files_scanned"], 6);
}

#[test]
fn missing_path_is_a_usage_error() {
    let out = strata()
        .args(["scan", "does/not/exist"])
        .output()
        .expect("strata runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does/not/exist"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
}
