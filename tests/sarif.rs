//! SARIF output validates against the official SARIF 2.1.0 schema, and every result has a
//! location with a relative `uri` (GitHub rejects the whole upload otherwise).
//!
//! The schema is read from `../shared/schemas/sarif-schema-2.1.0.json` (next to the
//! repository in CI); the tests skip with a note when it is absent.

#[path = "support/draft4.rs"]
mod draft4;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::rules::finding::{self, Finding, RawFinding, RawStep};
use strata::rules::{Registry, RuleSet};
use strata::scan::{self, ScanResult};
use strata::source::lang::Lang;
use strata::source::SourceFile;

fn schema() -> Option<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("schema is JSON")),
        Err(_) => {
            eprintln!(
                "note: skipping SARIF schema validation: {} not found",
                path.display()
            );
            None
        }
    }
}

fn assert_valid(schema: &Value, doc: &Value) {
    let errors = draft4::Validator::new(schema).errors(doc);
    assert!(
        errors.is_empty(),
        "SARIF output violates the schema:\n{}",
        errors.join("\n")
    );
}

/// Structural checks GitHub code scanning relies on, beyond the schema.
fn assert_uploadable(doc: &Value) {
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in run["results"].as_array().unwrap() {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let locs = r["locations"].as_array().unwrap();
        assert_eq!(locs.len(), 1, "{r}");
        let uri = locs[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("every result has a uri");
        assert!(
            !uri.is_empty() && !uri.starts_with('/') && !uri.contains(':') && !uri.contains('\\'),
            "uri must be relative: {uri}"
        );
        let region = &locs[0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
        assert_eq!(
            r["partialFingerprints"]["strataFingerprint/v1"]
                .as_str()
                .map(str::len),
            Some(16)
        );
    }
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn sarif_from_the_command_line_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "db/migrations/0001 init.sql",
        "DELETE FROM sessions;\nUPDATE users\n   SET active = false;\n-- strata: ignore[DATA002] reviewed\nDELETE FROM tmp;\n-- strata: ignore\nSELECT 1;\n",
    );
    write(dir.path(), "db/ünïcode.sql", "delete from x;\n");
    write(dir.path(), "broken.sql", "CREATE TABLE t (id INT,, ;\n");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir.path())
        .args([
            "scan",
            "--format",
            "sarif",
            "--show-suppressed",
            "--min-confidence",
            "low",
            ".",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_uploadable(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"db/migrations/0001%20init.sql"), "{uris:?}");
    assert!(uris.contains(&"db/%C3%BCn%C3%AFcode.sql"), "{uris:?}");
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "reviewed"
    );
    let multi = results
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 2)
        .unwrap();
    assert_eq!(
        multi["locations"][0]["physicalLocation"]["region"]["endLine"],
        3
    );
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes
        .iter()
        .any(|n| n["properties"]["kind"] == "suppression"));
    let rule = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "DATA002")
        .expect("DATA002 ran");
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("**How to fix.**"));
    assert!(rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("integrity")));
    if let Some(schema) = schema() {
        assert_valid(&schema, &doc);
    }
}

#[test]
fn taint_traces_become_code_flows() {
    let registry = Registry::builtin().unwrap();
    let set = RuleSet::new(registry.rules.iter().collect()).unwrap();
    let rule_index = 0;
    let text = "def handler(request):\n    name = request.args[\"n\"]\n    path = \"/srv/\" + name\n    return open(path)\n";
    let file = SourceFile::new("app/views.py".into(), Lang::Python, text.into());
    let at = |s: &str| text.find(s).unwrap();
    let raw = RawFinding {
        rule: rule_index,
        start: at("open(path)"),
        end: at("open(path)") + "open(path)".len(),
        message: "user input reaches open()".into(),
        trace: vec![
            RawStep {
                start: at("request.args"),
                end: at("request.args") + 12,
                label: "source: request.args".into(),
            },
            RawStep {
                start: at("\"/srv/\" + name"),
                end: at("\"/srv/\" + name") + 14,
                label: "concatenated".into(),
            },
            RawStep {
                start: at("open(path)"),
                end: at("open(path)") + 10,
                label: "sink: open()".into(),
            },
        ],
        confidence: None,
        in_test: false,
    };
    let mut findings: Vec<Finding> = vec![Finding::new(&raw, set.rules[rule_index], &file)];
    finding::finalise(&mut findings);
    let summary = scan::summarise(&findings, 1, 0, BTreeMap::new(), set.rules.len());
    let result = ScanResult {
        findings,
        errors: Vec::new(),
        summary,
        sources: BTreeMap::new(),
        directives: BTreeMap::new(),
        audit: Default::default(),
    };
    let doc: Value =
        serde_json::from_str(&strata::cli::format::sarif::render(&result, &set)).unwrap();
    assert_uploadable(&doc);
    let flow = &doc["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"];
    let steps = flow.as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(
        steps[0]["location"]["message"]["text"],
        "source: request.args"
    );
    assert_eq!(
        steps[0]["location"]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert_eq!(
        steps[2]["location"]["physicalLocation"]["artifactLocation"]["uri"],
        "app/views.py"
    );
    if let Some(schema) = schema() {
        assert_valid(&schema, &doc);
    }
}

/// The focused validator really checks: each of these broken documents is rejected.
#[test]
fn the_validator_rejects_broken_sarif() {
    let Some(schema) = schema() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.sql", "DELETE FROM t;\n");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir.path())
        .args(["scan", "-f", "sarif", "--no-cache", "."])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = draft4::Validator::new(&schema);
    assert!(validator.errors(&doc).is_empty());
    let result = "/runs/0/results/0";
    type Breakage = Box<dyn Fn(&mut Value)>;
    let breakages: Vec<(&str, Breakage)> = vec![
        (
            "bad level",
            Box::new(|d| d.pointer_mut(result).unwrap()["level"] = "fatal".into()),
        ),
        (
            "message without text",
            Box::new(|d| d.pointer_mut(result).unwrap()["message"] = serde_json::json!({})),
        ),
        (
            "startLine 0",
            Box::new(|d| {
                d.pointer_mut(result).unwrap()["locations"][0]["physicalLocation"]["region"]
                    ["startLine"] = 0.into()
            }),
        ),
        (
            "startLine as a string",
            Box::new(|d| {
                d.pointer_mut(result).unwrap()["locations"][0]["physicalLocation"]["region"]
                    ["startLine"] = "1".into()
            }),
        ),
        (
            "unknown property",
            Box::new(|d| d.pointer_mut(result).unwrap()["file"] = "a.sql".into()),
        ),
        (
            "uri with a space",
            Box::new(|d| {
                d.pointer_mut(result).unwrap()["locations"][0]["physicalLocation"]
                    ["artifactLocation"]["uri"] = "a b.sql".into()
            }),
        ),
        ("wrong version", Box::new(|d| d["version"] = "2.0.0".into())),
        (
            "duplicate tags",
            Box::new(|d| {
                d["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"] =
                    serde_json::json!(["x", "x"])
            }),
        ),
        (
            "no driver name",
            Box::new(|d| {
                d["runs"][0]["tool"]["driver"]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            }),
        ),
    ];
    for (what, breakage) in breakages {
        let mut bad = doc.clone();
        breakage(&mut bad);
        assert!(
            !validator.errors(&bad).is_empty(),
            "accepted SARIF with {what}"
        );
    }
}

/// Every rule and every kind of finding in the fixtures makes valid, uploadable SARIF.
#[test]
fn sarif_for_all_fixtures_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["scan", "fixtures", "-f", "sarif", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_uploadable(&doc);
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() > 10);
    if let Some(schema) = schema() {
        assert_valid(&schema, &doc);
    }
}
