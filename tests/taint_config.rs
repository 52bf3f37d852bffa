//! Configuration `[taint]`: project sources make a helper's result request input, project
//! sanitizers (URL validators) clear what they were given.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const APP: &str = r#"import requests
from fastapi import APIRouter

from myapp.http import query_param
from myapp.urls import validate_url

router = APIRouter()


@router.post("/fetch")
def fetch(url: str):
    validate_url(url)
    return requests.get(url, timeout=5).text


@router.get("/proxy")
def proxy():
    target = query_param("target")
    return requests.get(target, timeout=5).text
"#;

/// Lines of the SEC022 findings of a scan of `dir`.
fn ssrf_lines(dir: &Path) -> Vec<u64> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "scan",
            "--no-cache",
            "--select",
            "SEC022",
            "--format",
            "json",
        ])
        .arg(dir)
        .output()
        .expect("strata runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["line"].as_u64().expect("line"))
        .collect()
}

#[test]
fn configured_sources_and_sanitizers_change_taint_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), APP).unwrap();

    // Without configuration the validator is an unknown call and the helper's result
    // is not request input.
    assert_eq!(ssrf_lines(dir.path()), [13]);

    std::fs::write(
        dir.path().join("strata.toml"),
        "[taint]\nsources = [\"myapp.http.query_param\"]\nsanitizers = [\"myapp.urls.validate_url\"]\n",
    )
    .unwrap();
    assert_eq!(ssrf_lines(dir.path()), [19]);
}
