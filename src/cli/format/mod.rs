//! Report formats. Each module turns a finished scan into text; none decides what a
//! finding is.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
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
        Format::Human => human::render(result, rules, opts.color),
        Format::Json => json::render(result),
        Format::Jsonl => json::render_lines(result),
        Format::Sarif => sarif::render(result, rules),
        Format::Github => github::render(result),
        Format::Junit => junit::render(result, rules),
        Format::Markdown => markdown::render(result, rules, opts.link_base.as_deref()),
    }
}
