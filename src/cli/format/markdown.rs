//! A Markdown report an auditor can paste into a pull request or an issue: a summary table
//! per layer and severity, then the findings grouped by layer with `file:line` links and
//! how to fix each rule.

use super::sarif::uri;
use crate::rules::finding::Finding;
use crate::rules::{Layer, RuleSet, Severity};
use crate::scan::ScanResult;
use std::fmt::Write;

/// Text safe inside a table cell: no line breaks, pipes escaped, no raw HTML.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// An inline code span that survives backticks and pipes inside the code.
fn code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn link(f: &Finding, base: Option<&str>) -> String {
    let anchor = if f.end_line > f.line {
        format!("#L{}-L{}", f.line, f.end_line)
    } else {
        format!("#L{}", f.line)
    };
    let target = match base {
        Some(b) if !b.is_empty() => format!("{}/{}{anchor}", b.trim_end_matches('/'), uri(&f.path)),
        _ => format!("{}{anchor}", uri(&f.path)),
    };
    format!("[{}:{}]({target})", cell(&f.path), f.line)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn render(result: &ScanResult, rules: &RuleSet<'_>, link_base: Option<&str>) -> String {
    let reported: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    let suppressed: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .collect();
    let s = &result.summary;
    let mut out = String::new();
    let _ = writeln!(out, "## strata audit report\n");
    let files: std::collections::BTreeSet<&str> =
        reported.iter().map(|f| f.path.as_str()).collect();
    let mut facts = vec![
        format!(
            "**{} finding{}** in {} file{}",
            reported.len(),
            plural(reported.len()),
            files.len(),
            plural(files.len())
        ),
        format!(
            "{} file{} scanned",
            s.files_scanned,
            plural(s.files_scanned)
        ),
        format!("{} rules", s.rules_run),
    ];
    if s.suppressed > 0 {
        facts.push(format!("{} suppressed", s.suppressed));
    }
    if let Some(n) = s.in_baseline {
        facts.push(format!("{n} in the baseline"));
    }
    if let Some(n) = s.outside_diff {
        facts.push(format!("{n} outside the diff"));
    }
    facts.push(format!("strata {}", env!("CARGO_PKG_VERSION")));
    let _ = writeln!(out, "{}\n", facts.join(" · "));

    let sevs: Vec<Severity> = Severity::ALL.iter().rev().copied().collect();
    let _ = writeln!(out, "| Layer | Critical | High | Medium | Low | Total |");
    let _ = writeln!(out, "|:--|--:|--:|--:|--:|--:|");
    for layer in Layer::ALL {
        let row: Vec<usize> = sevs
            .iter()
            .map(|&sev| {
                reported
                    .iter()
                    .filter(|f| f.layer == layer && f.severity == sev)
                    .count()
            })
            .collect();
        let total: usize = row.iter().sum();
        let cells: Vec<String> = row.iter().map(usize::to_string).collect();
        let _ = writeln!(out, "| {} | {} | {total} |", layer.id(), cells.join(" | "));
    }
    let totals: Vec<String> = sevs
        .iter()
        .map(|&sev| {
            reported
                .iter()
                .filter(|f| f.severity == sev)
                .count()
                .to_string()
        })
        .collect();
    let _ = writeln!(
        out,
        "| **Total** | {} | **{}** |\n",
        totals.join(" | "),
        reported.len()
    );

    for layer in Layer::ALL {
        let mut mine: Vec<&&Finding> = reported.iter().filter(|f| f.layer == layer).collect();
        if mine.is_empty() {
            continue;
        }
        // Most severe first; the canonical order (path, line) within a severity.
        mine.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let _ = writeln!(
            out,
            "### {} ({} finding{})\n",
            layer.id(),
            mine.len(),
            plural(mine.len())
        );
        let _ = writeln!(out, "| Severity | Rule | Location | Finding |");
        let _ = writeln!(out, "|:--|:--|:--|:--|");
        for f in &mine {
            let _ = writeln!(
                out,
                "| {} | `{}` {} | {} | {}<br>{} |",
                f.severity,
                f.rule,
                cell(&f.name),
                link(f, link_base),
                cell(&f.message),
                code(&f.snippet)
            );
        }
        out.push('\n');
        let mut seen = std::collections::BTreeSet::new();
        for f in &mine {
            if !seen.insert(f.rule.as_str()) {
                continue;
            }
            if let Some(rule) = rules.rules.iter().find(|r| r.id == f.rule) {
                let _ = writeln!(
                    out,
                    "<details><summary>{} {}: how to fix</summary>\n\n{}\n\n{}\n\n</details>\n",
                    rule.id,
                    cell(&rule.name),
                    rule.docs.why.trim(),
                    rule.docs.fix.trim()
                );
            }
        }
    }

    if !suppressed.is_empty() {
        let _ = writeln!(out, "### Suppressed ({})\n", suppressed.len());
        let _ = writeln!(out, "| Rule | Location | How | Reason |");
        let _ = writeln!(out, "|:--|:--|:--|:--|");
        for f in &suppressed {
            let sup = f.suppressed.as_ref().expect("filtered");
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                f.rule,
                link(f, link_base),
                sup.kind,
                cell(sup.reason.as_deref().unwrap_or("(no reason given)"))
            );
        }
        out.push('\n');
    }

    if !result.errors.is_empty() {
        let _ = writeln!(out, "### Notes\n");
        for e in &result.errors {
            let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "- `{}{at}` ({}): {}",
                e.path.replace('`', "'"),
                e.kind,
                cell(&e.message)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_code_are_table_safe() {
        assert_eq!(cell("a|b\n<c>"), "a\\|b &lt;c&gt;");
        assert_eq!(code("x | `y`"), "`` x \\| `y` ``");
    }
}
