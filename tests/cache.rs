//! The result cache across files: a warm run takes the stored cross-file result (index and
//! repository findings) only while every file is as it was, and a one-file edit gives
//! exactly what a run without the cache gives.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Copies the files under `from` into `to`, keeping the layout.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn scan(dir: &Path, extra: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir)
        .args(["scan", ".", "-f", "json", "--no-timing"])
        .args(extra)
        .output()
        .expect("strata runs");
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The cross-file findings (their traces name other files) of a JSON report, by rule.
fn chained(report: &[u8], rule: &str) -> usize {
    let doc: Value = serde_json::from_slice(report).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .count()
}

#[test]
fn a_one_file_edit_gives_what_a_cold_run_gives() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        Path::new("fixtures/python/error-handling/orderdesk"),
        dir.path(),
    );
    let cold = scan(dir.path(), &["--no-cache"]);
    assert!(chained(&cold, "ERR004") >= 2, "the project has chains");
    let first = scan(dir.path(), &[]);
    assert!(
        dir.path().join(".strata-cache/cross-v1.json").is_file(),
        "cross-file result stored"
    );
    assert_eq!(
        first, cold,
        "a run that fills the cache reports what a cold one does"
    );
    let warm = scan(dir.path(), &[]);
    assert_eq!(warm, cold, "a warm run reports what a cold one does");

    // The helper at the end of one chain no longer blocks: the chain through it goes.
    let helper = dir.path().join("orderdesk/services/pricing.py");
    let text = std::fs::read_to_string(&helper).unwrap();
    let edited = text.replacen("resp = requests.get(", "resp = _offline_lookup(", 1);
    assert_ne!(text, edited);
    std::fs::write(&helper, edited).unwrap();
    let after_edit = scan(dir.path(), &[]);
    let cold_after_edit = scan(dir.path(), &["--no-cache"]);
    assert_eq!(
        after_edit, cold_after_edit,
        "an edit re-runs the cross-file pass"
    );
    assert!(
        chained(&after_edit, "ERR004") < chained(&cold, "ERR004"),
        "the edit changed the cross-file findings"
    );
    // And back: the stored result of the edited tree does not stand for the original.
    std::fs::write(&helper, text).unwrap();
    assert_eq!(scan(dir.path(), &[]), cold);
}
