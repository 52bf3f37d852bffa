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

/// How many findings of `rule` a JSON report has.
fn chained(report: &[u8], rule: &str) -> usize {
    levels(report, rule).len()
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

/// The confidence of `rule`'s findings in a JSON report, in report order.
fn levels(report: &[u8], rule: &str) -> Vec<String> {
    let doc: Value = serde_json::from_slice(report).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| format!("{}:{} {}", f["path"], f["line"], f["confidence"]))
        .collect()
}

#[test]
fn what_the_index_changes_in_per_file_findings_survives_a_warm_run() {
    // DATA008 in start-up code is demoted by the index (a refine); API001 limits clamped by
    // the callee are withdrawn (a vet). A warm run skips the index, so it must replay both.
    for (fixture, rule, changed, kept) in [
        (
            "fixtures/python/integrity/startup_seed",
            "DATA008",
            "\"users.py\":13 \"low\"",
            "\"users.py\":30 \"medium\"",
        ),
        (
            "fixtures/python/web/audit_portal",
            "API001",
            "\"app/routes.py\":14 ",
            "\"app/routes.py\":35 ",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(Path::new(fixture), dir.path());
        let low = ["--min-confidence", "low"];
        let cold = scan(dir.path(), &["--no-cache", "--min-confidence", "low"]);
        assert!(
            !levels(&cold, rule).is_empty(),
            "{fixture}: {rule} reported"
        );
        let first = scan(dir.path(), &low);
        let warm = scan(dir.path(), &low);
        assert!(dir.path().join(".strata-cache/cross-v1.json").exists());
        assert_eq!(cold, first, "{fixture}: the cache-filling run");
        assert_eq!(cold, warm, "{fixture}: the warm run");
        // The index's change is in the output: demoted, or withdrawn (the line is gone).
        let got = levels(&warm, rule);
        let has = |needle: &str| got.iter().any(|l| l.contains(needle));
        assert!(has(kept), "{fixture}: {got:?}");
        if rule == "DATA008" {
            assert!(has(changed), "{fixture}: demoted in the warm run: {got:?}");
        } else {
            assert!(
                !has(changed),
                "{fixture}: withdrawn in the warm run: {got:?}"
            );
        }
    }
}

#[test]
fn no_index_drops_cross_function_findings_and_keeps_its_own_cache() {
    // The chains of the project cross files: without the index they are not reported, and a
    // run without the index neither reuses nor spoils the cache of a run with it.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        Path::new("fixtures/python/error-handling/orderdesk"),
        dir.path(),
    );
    let cold = scan(dir.path(), &["--no-cache"]);
    let chains = chained(&cold, "ERR004");
    assert!(chains >= 2, "the project has chains");
    let alone = scan(dir.path(), &["--no-cache", "--no-index"]);
    assert!(
        chained(&alone, "ERR004") < chains,
        "the chains across files need the index"
    );
    let doc: Value = serde_json::from_slice(&alone).unwrap();
    assert!(
        doc["summary"]["call_graph"].is_null(),
        "no call graph without the index: {}",
        doc["summary"]
    );
    assert_eq!(
        scan(dir.path(), &[]),
        cold,
        "a run with the index fills the cache"
    );
    assert_eq!(
        scan(dir.path(), &["--no-index"]),
        alone,
        "the cache of a run with the index is not reused"
    );
    assert_eq!(
        scan(dir.path(), &[]),
        cold,
        "nor is the cache of a run without it"
    );
}
