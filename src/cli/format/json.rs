//! JSON and JSON Lines. The shape is a contract: fields are added, never renamed or
//! given a new meaning.

use crate::scan::ScanResult;
use serde::Serialize;

pub const SCHEMA_VERSION: &str = "1";

#[derive(Serialize)]
struct Document<'a> {
    version: &'static str,
    schema: &'static str,
    findings: &'a [crate::rules::finding::Finding],
    errors: &'a [crate::scan::ScanError],
    summary: &'a crate::scan::Summary,
}

pub fn render(result: &ScanResult) -> String {
    let doc = Document {
        version: env!("CARGO_PKG_VERSION"),
        schema: SCHEMA_VERSION,
        findings: &result.findings,
        errors: &result.errors,
        summary: &result.summary,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("findings serialise");
    s.push('\n');
    s
}

/// One finding per line, for streaming into `jq -c` or a log pipeline.
pub fn render_lines(result: &ScanResult) -> String {
    let mut s = String::new();
    for f in &result.findings {
        s.push_str(&serde_json::to_string(f).expect("findings serialise"));
        s.push('\n');
    }
    s
}
