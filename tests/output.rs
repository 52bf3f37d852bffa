//! The JSON contract: top-level shape, every finding field with its type, and
//! byte-identical output whatever the thread count.

use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("strata runs");
    let code = out.status.code().expect("exit code");
    assert_ne!(code, 101, "panic: {}", String::from_utf8_lossy(&out.stderr));
    (code, out.stdout)
}

#[test]
fn json_document_has_the_documented_shape() {
    let (code, stdout) = run(&["scan", "fixtures", "--format", "json"]);
    assert_eq!(code, 1, "fixtures contain findings");
    let doc: Value = serde_json::from_slice(&stdout).expect("valid JSON");
    let mut top: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, ["errors", "findings", "schema", "summary", "version"]);
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));

    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    let strings = [
        "rule",
        "name",
        "layer",
        "severity",
        "confidence",
        "message",
        "path",
        "snippet",
        "fingerprint",
    ];
    let numbers = ["line", "column", "end_line", "end_column"];
    for f in findings {
        for k in strings {
            assert!(f[k].is_string(), "finding.{k} is a string: {f}");
        }
        for k in numbers {
            assert!(
                f[k].as_u64().is_some_and(|n| n >= 1),
                "finding.{k} >= 1: {f}"
            );
        }
        assert!(f["cwe"].as_array().unwrap().iter().all(Value::is_string));
        assert!([
            "api-surface",
            "auth",
            "integrity",
            "error-handling",
            "security"
        ]
        .contains(&f["layer"].as_str().unwrap()));
        assert!(["low", "medium", "high", "critical"].contains(&f["severity"].as_str().unwrap()));
        assert!(["low", "medium", "high"].contains(&f["confidence"].as_str().unwrap()));
        assert!(!f["path"].as_str().unwrap().contains('\\'));
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 16);
        assert!(f["end_line"].as_u64() >= f["line"].as_u64());
    }
    let summary = &doc["summary"];
    for k in [
        "files_scanned",
        "files_skipped",
        "rules_run",
        "findings",
        "duration_ms",
    ] {
        assert!(summary[k].as_u64().is_some(), "summary.{k}: {summary}");
    }
    assert_eq!(
        summary["findings"].as_u64().unwrap() as usize,
        findings.len()
    );
    let by_layer = summary["by_layer"].as_object().unwrap();
    assert_eq!(by_layer.len(), 5, "every layer is listed, zero or not");
    let total: u64 = by_layer.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total as usize, findings.len());
    let by_sev: u64 = summary["by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_sev as usize, findings.len());
    let per_lang: u64 = summary["files_by_language"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(Some(per_lang), summary["files_scanned"].as_u64());
    assert!(doc["errors"].is_array());
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    for format in ["json", "jsonl"] {
        let one = run(&[
            "scan",
            "fixtures",
            "--no-timing",
            "--no-cache",
            "-f",
            format,
            "--jobs",
            "1",
        ])
        .1;
        let many = run(&[
            "scan",
            "fixtures",
            "--no-timing",
            "--no-cache",
            "-f",
            format,
            "--jobs",
            "8",
        ])
        .1;
        assert!(!one.is_empty());
        assert!(
            one == many,
            "{format} output differs between --jobs 1 and --jobs 8"
        );
    }
}

#[test]
fn jsonl_has_one_finding_per_line() {
    let (_, json) = run(&["scan", "fixtures", "--no-timing", "-f", "json"]);
    let (_, jsonl) = run(&["scan", "fixtures", "--no-timing", "-f", "jsonl"]);
    let doc: Value = serde_json::from_slice(&json).unwrap();
    let lines: Vec<Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(&Value::Array(lines), &doc["findings"]);
}

/// A file whose size and modification time are those of the cached run is not read again
/// (as make and Ruff's cache do); any change of either makes the run read and hash it.
#[test]
fn cached_runs_trust_unchanged_size_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("app.py");
    let set_time = |secs: u64| {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        std::fs::File::options()
            .write(true)
            .open(&py)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    let scan = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .current_dir(dir.path())
            .args(["scan", ".", "-f", "json", "--no-timing"])
            .args(extra)
            .output()
            .expect("strata runs");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let count = |v: &Value| v["findings"].as_array().unwrap().len();
    let clean = "import yaml\ndef f(s):\n    return yaml.safe_load(s)\n";
    let risky = "import yaml\ndef f(s):\n    return yaml.load(s)     \n";
    assert_eq!(clean.len(), risky.len());
    std::fs::write(&py, clean).unwrap();
    set_time(1_600_000_000);
    assert_eq!(count(&scan(&[])), 0);
    assert_eq!(count(&scan(&[])), 0, "served from the cache");
    // Same size, same time: the cached result stands, which shows the file was not read.
    std::fs::write(&py, risky).unwrap();
    set_time(1_600_000_000);
    assert_eq!(count(&scan(&[])), 0, "size and time unchanged: not read");
    assert_eq!(count(&scan(&["--no-cache"])), 1, "the edit is real");
    // A new time (as any editor or checkout leaves) makes the run read the file.
    set_time(1_600_000_100);
    assert_eq!(count(&scan(&[])), 1, "new time: read and re-analysed");
    assert_eq!(count(&scan(&[])), 1, "and cached with its finding");
}

#[test]
fn cached_runs_match_fresh_runs_and_see_edits() {
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("m.sql");
    std::fs::write(&sql, "DELETE FROM sessions;\n").unwrap();
    let scan = || {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .current_dir(dir.path())
            .args(["scan", ".", "-f", "json", "--no-timing"])
            .output()
            .expect("strata runs");
        out.stdout
    };
    let fresh = scan();
    assert!(dir.path().join(".strata-cache").is_dir(), "cache written");
    let cached = scan();
    assert_eq!(fresh, cached, "a cached run reports what a fresh one does");
    let doc: Value = serde_json::from_slice(&cached).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);

    std::fs::write(&sql, "DELETE FROM sessions WHERE expired;\n").unwrap();
    let edited: Value = serde_json::from_slice(&scan()).unwrap();
    assert_eq!(
        edited["findings"].as_array().unwrap().len(),
        0,
        "edit re-analysed"
    );

    let no_cache = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir.path())
        .args(["scan", ".", "-f", "json", "--no-timing", "--no-cache"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(serde_json::from_slice::<Value>(&no_cache).unwrap(), edited);
}
