//! Report formats. Each module turns a finished scan into text; none decides what a
//! finding is.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod report;
pub mod routes;
pub mod rules;
pub mod sarif;

use crate::cli::Format;
use crate::rules::RuleSet;
use crate::scan::ScanResult;

/// Presentation choices that are not part of the scan result.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Colour and terminal niceties (human format only).
    pub color: bool,
    /// Markdown: prefix for file links.
    pub link_base: Option<String>,
}

pub fn render(
    format: Format,
    result: &ScanResult,
    rules: &RuleSet<'_>,
    opts: &RenderOptions,
) -> String {
    match format {
        Format::Human => human::render(&printable(result), rules, opts.color),
        Format::Json => json::render(result),
        Format::Jsonl => json::render_lines(result),
        Format::Sarif => sarif::render(result, rules),
        Format::Github => github::render(&printable(result)),
        Format::Junit => junit::render(result, rules),
        Format::Markdown => markdown::render(&printable(result), rules, opts.link_base.as_deref()),
    }
}

/// `s` with control characters (ESC and the other C0 bytes but tab, and DEL) written as
/// `\x1b`: a file name or a line of scanned code must not drive the reader's terminal.
/// `keep_lines` keeps line breaks (for whole sources).
pub fn escape_controls(s: &str, keep_lines: bool) -> String {
    let control = |c: char| {
        (c.is_ascii_control() && c != '\t' && !(keep_lines && (c == '\n' || c == '\r')))
            || ('\u{80}'..='\u{9f}').contains(&c)
    };
    if !s.chars().any(control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if control(c) {
                format!("\\x{:02x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The scan result with every text that came from the scanned files escaped for the text
/// formats a person reads in a terminal or a rendered page (JSON, SARIF and JUnit escape
/// control characters themselves).
fn printable(r: &ScanResult) -> ScanResult {
    let e = |s: &str| escape_controls(s, false);
    let findings = r
        .findings
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.path = e(&f.path);
            f.snippet = e(&f.snippet);
            f.message = e(&f.message);
            for s in &mut f.trace {
                s.label = e(&s.label);
                s.snippet = e(&s.snippet);
            }
            f
        })
        .collect();
    let errors = r
        .errors
        .iter()
        .map(|x| {
            let mut x = x.clone();
            x.path = e(&x.path);
            x.message = e(&x.message);
            x
        })
        .collect();
    ScanResult {
        findings,
        errors,
        summary: r.summary.clone(),
        sources: r
            .sources
            .iter()
            .map(|(k, v)| (e(k), escape_controls(v, true)))
            .collect(),
        directives: r.directives.clone(),
        audit: r.audit.clone(),
    }
}
