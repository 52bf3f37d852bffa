//! Report formats. Each module turns a finished scan into text; none decides what a
//! finding is.

pub mod human;
pub mod json;
pub mod rules;

use crate::cli::Format;
use crate::rules::RuleSet;
use crate::scan::ScanResult;

pub fn render(format: Format, result: &ScanResult, rules: &RuleSet<'_>, color: bool) -> String {
    match format {
        Format::Human => human::render(result, rules, color),
        Format::Json => json::render(result),
        Format::Jsonl => json::render_lines(result),
    }
}
