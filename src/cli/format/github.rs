//! GitHub Actions workflow commands: one annotation per finding, shown on the pull
//! request's diff. `::error file=...,line=...,endLine=...,col=...,endColumn=...,title=...::msg`
//!
//! Values are escaped as the runner expects: `%`, `\r` and `\n` everywhere, and also `:`
//! and `,` in properties (they separate properties).

use crate::rules::finding::Finding;
use crate::rules::Severity;
use crate::scan::ScanResult;
use std::fmt::Write;

/// Escapes the message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

fn annotation(out: &mut String, f: &Finding) {
    let title = format!("{} {}", f.rule, f.name);
    let mut props = format!(
        "file={},line={},endLine={}",
        escape_property(&f.path),
        f.line,
        f.end_line.max(f.line)
    );
    // GitHub uses columns only for annotations within one line.
    if f.end_line <= f.line {
        let _ = write!(
            props,
            ",col={},endColumn={}",
            f.column,
            f.end_column.max(f.column)
        );
    } else {
        let _ = write!(props, ",col={}", f.column);
    }
    let _ = write!(props, ",title={}", escape_property(&title));
    let message = format!(
        "{} ({} severity, {}; strata explain {})",
        f.message, f.severity, f.layer, f.rule
    );
    let _ = writeln!(
        out,
        "::{} {props}::{}",
        command(f.severity),
        escape_data(&message)
    );
}

pub fn render(result: &ScanResult) -> String {
    let mut out = String::new();
    for f in result.findings.iter().filter(|f| f.suppressed.is_none()) {
        annotation(&mut out, f);
    }
    for e in &result.errors {
        let kind = match e.kind.as_str() {
            "io" | "suppression" | "internal" => "warning",
            _ => "notice",
        };
        let mut props = format!("file={}", escape_property(&e.path));
        if let Some(l) = e.line {
            let _ = write!(props, ",line={l}");
        }
        let _ = write!(
            props,
            ",title={}",
            escape_property(&format!("strata {}", e.kind))
        );
        let _ = writeln!(out, "::{kind} {props}::{}", escape_data(&e.message));
    }
    let s = &result.summary;
    let _ = writeln!(
        out,
        "strata: {} finding{} ({} file{} scanned, {} rules)",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        s.files_scanned,
        if s.files_scanned == 1 { "" } else { "s" },
        s.rules_run
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
