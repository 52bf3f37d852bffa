//! Findings: what a rule reports, located, with a fingerprint that survives line shifts.

use crate::rules::{Confidence, Layer, Rule, Severity};
use crate::source::SourceFile;
use serde::Serialize;
use std::collections::HashMap;

/// A match as a rule produces it: byte offsets into one file.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub trace: Vec<RawStep>,
    /// The check's own confidence for this match, when it differs from the rule's.
    pub confidence: Option<Confidence>,
    /// Inside test code the parse could see (`#[cfg(test)]` modules, `#[test]` functions).
    pub in_test: bool,
}

#[derive(Debug, Clone)]
pub struct RawStep {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TraceStep {
    /// The file of the step when the trace crosses functions and files (a call chain);
    /// absent when every step is in the finding's own file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub line: usize,
    pub column: usize,
    pub label: String,
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub rule: String,
    pub name: String,
    pub layer: Layer,
    pub severity: Severity,
    pub confidence: Confidence,
    pub cwe: Vec<String>,
    pub message: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub snippet: String,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
    /// Present only with `--show-suppressed`, on findings a suppression covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    /// Whitespace-normalised matched text; the stable part of the fingerprint.
    #[serde(skip)]
    pub matched: String,
    /// First and last line of the statement around the finding (its own lines when the
    /// language has no statements): a suppression comment anywhere in it applies.
    #[serde(skip)]
    pub statement: (usize, usize),
    /// Inside test code the parse could see (see [`RawFinding::in_test`]).
    #[serde(skip)]
    pub in_test: bool,
}

impl TraceStep {
    /// The step at byte `start` of `file`; with its path when `with_path`.
    pub fn at(file: &SourceFile, start: usize, label: &str, with_path: bool) -> TraceStep {
        let (line, column) = file.line_col(start);
        TraceStep {
            path: with_path.then(|| file.rel.clone()),
            line,
            column,
            label: label.to_string(),
            snippet: clip(file.line(line).trim(), SNIPPET_MAX),
        }
    }
}

/// Why a finding is not reported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Suppressed {
    /// `inline` (a `strata: ignore[...]` comment), `file` (`strata: ignore-file[...]`) or
    /// `config` (`per-file-ignores`).
    pub kind: &'static str,
    /// The text after the ids in the comment, or the glob of a per-file ignore.
    pub reason: Option<String>,
    /// Line of the suppression comment (inline and file kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

const SNIPPET_MAX: usize = 200;
const MATCHED_MAX: usize = 2000;

impl Finding {
    pub fn new(raw: &RawFinding, rule: &Rule, file: &SourceFile) -> Finding {
        let (line, column) = file.line_col(raw.start);
        let (end_line, end_column) = file.line_col(raw.end);
        let matched_text = file.text.get(raw.start..raw.end).unwrap_or("");
        let matched = normalise(matched_text);
        let trace = raw
            .trace
            .iter()
            .map(|s| TraceStep::at(file, s.start, &s.label, false))
            .collect();
        Finding {
            rule: rule.id.clone(),
            name: rule.name.clone(),
            layer: rule.layer,
            severity: rule.severity,
            confidence: raw.confidence.unwrap_or(rule.confidence),
            cwe: rule.cwe.clone(),
            message: raw.message.clone(),
            path: file.rel.clone(),
            line,
            column,
            end_line,
            end_column,
            snippet: clip(file.line(line).trim(), SNIPPET_MAX),
            fingerprint: String::new(),
            trace,
            suppressed: None,
            matched,
            statement: (line, end_line),
            in_test: raw.in_test,
        }
    }

    /// Widens the statement lines to the byte range of the enclosing statement.
    pub fn with_statement(mut self, file: &SourceFile, span: Option<(usize, usize)>) -> Finding {
        if let Some((start, end)) = span {
            let first = file.line_col(start).0;
            let last = file.line_col(end.saturating_sub(1).max(start)).0;
            self.statement = (first.min(self.line), last.max(self.end_line));
        }
        self
    }

    fn sort_key(&self) -> (&str, usize, usize, &str, usize, usize, &str) {
        (
            &self.path,
            self.line,
            self.column,
            &self.rule,
            self.end_line,
            self.end_column,
            &self.message,
        )
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Collapses all whitespace runs so re-indentation does not change a fingerprint.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MATCHED_MAX));
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() >= MATCHED_MAX {
            break;
        }
    }
    out
}

/// 64-bit FNV-1a: small, stable across platforms and releases.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Sorts findings into their canonical order, drops exact duplicates and assigns
/// fingerprints: rule + path + matched text + index among identical matches.
pub fn finalise(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for f in findings.iter_mut() {
        let key = (f.rule.clone(), f.path.clone(), f.matched.clone());
        let n = seen.entry(key).or_insert(0);
        let idx = n.to_string();
        f.fingerprint = format!("{:016x}", fnv1a(&[&f.rule, &f.path, &f.matched, &idx]));
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_under_whitespace() {
        assert_eq!(normalise("a(\n    b,  c)"), normalise("a( b, c)"));
        assert_ne!(fnv1a(&["a", "bc"]), fnv1a(&["ab", "c"]));
    }
}
