//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers: a few serde structs,
//! tested against the official schema (tests/sarif.rs).
//!
//! GitHub rejects a whole upload when one result lacks a location, and ignores
//! `originalUriBaseIds`: every result here has exactly one location whose `uri` is the
//! finding's path, relative and `/`-separated.

use crate::rules::finding::{Finding, TraceStep};
use crate::rules::{Confidence, Layer, Rule, RuleSet, Severity};
use crate::scan::{ScanError, ScanResult};
use crate::source::lang::Lang;
use serde::Serialize;
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const FINGERPRINT_KEY: &str = "strataFingerprint/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: Vec<Invocation<'a>>,
    results: Vec<SarifResult<'a>>,
    column_kind: &'static str,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

fn msg(text: impl Into<String>) -> Message {
    Message { text: text.into() }
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    code_flows: Vec<CodeFlow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    layer: Layer,
    severity: Severity,
    confidence: Confidence,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    cwe: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeFlow {
    thread_flows: Vec<ThreadFlow>,
}

#[derive(Serialize)]
struct ThreadFlow {
    locations: Vec<ThreadFlowLocation>,
}

#[derive(Serialize)]
struct ThreadFlowLocation {
    location: Location,
}

#[derive(Serialize)]
struct SarifSuppression {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
struct Notification<'a> {
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    properties: NotificationProperties<'a>,
}

#[derive(Serialize)]
struct NotificationProperties<'a> {
    kind: &'a str,
}

/// SARIF `level` of a severity: high and critical fail a check, medium warns.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score) for rules it treats as security rules.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// Layers whose findings are security findings in GitHub's sense (ownership checks are).
fn is_security(layer: Layer) -> bool {
    matches!(layer, Layer::Security | Layer::Auth)
}

/// A path as a relative URI reference: `/` kept, anything outside RFC 3986's unreserved
/// characters percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn code_lang(rule: &Rule) -> &'static str {
    match rule.languages.first() {
        Some(Lang::Workflow) => "yaml",
        Some(l) => l.name(),
        None => "",
    }
}

fn descriptor<'a>(rule: &'a Rule) -> ReportingDescriptor<'a> {
    let d = &rule.docs;
    let text = format!(
        "{}\n\nWhy it matters: {}\n\nHow to fix: {}\n\nBad:\n{}\n\nGood:\n{}",
        d.what.trim(),
        d.why.trim(),
        d.fix.trim(),
        d.bad.trim_end(),
        d.good.trim_end()
    );
    let lang = code_lang(rule);
    let markdown = format!(
        "**{}**\n\n{}\n\n**Why it matters.** {}\n\n**How to fix.** {}\n\nBad:\n\n```{lang}\n{}\n```\n\nGood:\n\n```{lang}\n{}\n```\n\nLayer `{}`, severity {}, confidence {}{}. Run `strata explain {}` for these docs.",
        rule.summary.trim(),
        d.what.trim(),
        d.why.trim(),
        d.fix.trim(),
        d.bad.trim_end(),
        d.good.trim_end(),
        rule.layer,
        rule.severity,
        rule.confidence.name(),
        if rule.cwe.is_empty() {
            String::new()
        } else {
            format!(", {}", rule.cwe.join(", "))
        },
        rule.id
    );
    let mut tags = vec![rule.layer.id().to_string()];
    if is_security(rule.layer) && rule.layer != Layer::Security {
        tags.push("security".into());
    }
    for cwe in &rule.cwe {
        tags.push(cwe.clone());
        if let Some(n) = cwe.strip_prefix("CWE-") {
            tags.push(format!("external/cwe/cwe-{n}"));
        }
    }
    ReportingDescriptor {
        id: &rule.id,
        name: &rule.name,
        short_description: msg(rule.summary.trim()),
        full_description: msg(d.what.trim()),
        help: MultiformatMessage { text, markdown },
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties {
            tags,
            precision: precision(rule.confidence),
            security_severity: is_security(rule.layer).then(|| security_severity(rule.severity)),
        },
    }
}

fn location(path: &str, region: Region, message: Option<Message>) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(path) },
            region: Some(region),
        },
        message,
    }
}

fn step_location(path: &str, s: &TraceStep) -> ThreadFlowLocation {
    ThreadFlowLocation {
        location: location(
            s.path.as_deref().unwrap_or(path),
            Region {
                start_line: s.line.max(1),
                start_column: Some(s.column.max(1)),
                end_line: None,
                end_column: None,
                snippet: (!s.snippet.is_empty()).then(|| msg(s.snippet.clone())),
            },
            Some(msg(if s.label.is_empty() { "step" } else { &s.label })),
        ),
    }
}

fn sarif_result<'a>(f: &'a Finding, rule_index: usize) -> SarifResult<'a> {
    let region = Region {
        start_line: f.line.max(1),
        start_column: Some(f.column.max(1)),
        end_line: Some(f.end_line.max(f.line).max(1)),
        end_column: Some(f.end_column.max(1)),
        snippet: (!f.snippet.is_empty()).then(|| msg(f.snippet.clone())),
    };
    let code_flows = if f.trace.is_empty() {
        Vec::new()
    } else {
        vec![CodeFlow {
            thread_flows: vec![ThreadFlow {
                locations: f.trace.iter().map(|s| step_location(&f.path, s)).collect(),
            }],
        }]
    };
    let suppressions = f
        .suppressed
        .iter()
        .map(|s| SarifSuppression {
            kind: if s.kind == "config" {
                "external"
            } else {
                "inSource"
            },
            justification: s.reason.clone(),
        })
        .collect();
    SarifResult {
        rule_id: &f.rule,
        rule_index,
        level: level(f.severity),
        message: msg(f.message.clone()),
        locations: vec![location(&f.path, region, None)],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.as_str())]),
        code_flows,
        suppressions,
        properties: ResultProperties {
            layer: f.layer,
            severity: f.severity,
            confidence: f.confidence,
            cwe: &f.cwe,
        },
    }
}

fn notification(e: &ScanError) -> Notification<'_> {
    let region = e.line.map(|l| Region {
        start_line: l.max(1),
        start_column: None,
        end_line: None,
        end_column: None,
        snippet: None,
    });
    Notification {
        level: match e.kind.as_str() {
            "io" | "suppression" | "internal" => "warning",
            _ => "note",
        },
        message: msg(e.message.clone()),
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: uri(&e.path) },
                region,
            },
            message: None,
        }],
        properties: NotificationProperties { kind: &e.kind },
    }
}

pub fn render(result: &ScanResult, rules: &RuleSet<'_>) -> String {
    let index: BTreeMap<&str, usize> = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let results = result
        .findings
        .iter()
        .filter_map(|f| index.get(f.rule.as_str()).map(|&i| sarif_result(f, i)))
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "strata",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules: rules.rules.iter().map(|r| descriptor(r)).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: result.errors.iter().map(notification).collect(),
            }],
            results,
            column_kind: "unicodeCodePoints",
        }],
    };
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri("src/app/main.py"), "src/app/main.py");
        assert_eq!(uri("a b/ü.py"), "a%20b/%C3%BC.py");
        assert_eq!(uri("dir\\x.rs"), "dir/x.rs");
    }
}
