//! Terminal output: a code frame per finding, then a summary line per layer.

use crate::rules::finding::Finding;
use crate::rules::{Layer, RuleSet, Severity};
use crate::scan::ScanResult;
use std::fmt::Write;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity) -> String {
        let code = match sev {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
        };
        self.wrap(code, sev.name())
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

const FRAME_MAX_LINES: usize = 6;

pub fn render(result: &ScanResult, rules: &RuleSet<'_>, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    for f in &result.findings {
        frame(
            &mut out,
            f,
            result.sources.get(&f.path).map(String::as_str),
            rules,
            &p,
        );
    }
    for e in &result.errors {
        let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {}{at}: {} ({})",
            p.dim("note:"),
            e.path,
            e.message,
            e.kind
        );
    }
    if !result.errors.is_empty() {
        out.push('\n');
    }
    for layer in Layer::ALL {
        let in_layer: Vec<&Finding> = result
            .findings
            .iter()
            .filter(|f| f.layer == layer && f.suppressed.is_none())
            .collect();
        if in_layer.is_empty() {
            let _ = writeln!(out, "{:<15} {}", layer.id(), p.dim("no findings"));
            continue;
        }
        let mut parts = Vec::new();
        for sev in Severity::ALL.iter().rev() {
            let n = in_layer.iter().filter(|f| f.severity == *sev).count();
            if n > 0 {
                parts.push(format!("{n} {}", p.severity(*sev)));
            }
        }
        let _ = writeln!(
            out,
            "{:<15} {} finding{} ({})",
            layer.id(),
            in_layer.len(),
            plural(in_layer.len()),
            parts.join(", ")
        );
    }
    let _ = writeln!(out, "{}", p.bold(&summary_line(result)));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn summary_line(result: &ScanResult) -> String {
    let s = &result.summary;
    let files_with: std::collections::BTreeSet<&str> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.path.as_str())
        .collect();
    let time = s
        .duration_ms
        .map(|ms| format!(" in {:.2}s", ms as f64 / 1000.0))
        .unwrap_or_default();
    let mut hidden = Vec::new();
    if s.suppressed > 0 {
        hidden.push(format!("{} suppressed", s.suppressed));
    }
    if let Some(n) = s.in_baseline.filter(|&n| n > 0) {
        hidden.push(format!("{n} in the baseline"));
    }
    if let Some(n) = s.outside_diff.filter(|&n| n > 0) {
        hidden.push(format!("{n} outside the diff"));
    }
    hidden.extend(s.not_reported.describe());
    let hidden = if hidden.is_empty() {
        String::new()
    } else {
        format!(" ({})", hidden.join(", "))
    };
    let graph = |cg: &Option<crate::model::pyindex::CallStats>, lang: &str| match cg {
        Some(cg) if cg.calls > 0 => format!(
            "; {:.0}% of {} {lang}calls resolved",
            cg.resolved_ratio * 100.0,
            cg.calls
        ),
        _ => String::new(),
    };
    let calls = format!(
        "{}{}",
        graph(&s.call_graph, ""),
        graph(&s.rust_call_graph, "Rust ")
    );
    format!(
        "{} finding{}{hidden} in {} file{}; {} file{} scanned{time}, {} rules{calls}",
        s.findings,
        plural(s.findings),
        files_with.len(),
        plural(files_with.len()),
        s.files_scanned,
        plural(s.files_scanned),
        s.rules_run
    )
}

fn frame(out: &mut String, f: &Finding, source: Option<&str>, rules: &RuleSet<'_>, p: &Paint) {
    let _ = writeln!(
        out,
        "{} {} {} {}",
        p.bold(&f.rule),
        p.severity(f.severity),
        p.dim(&format!("[{}]", f.layer)),
        f.name
    );
    let _ = writeln!(out, "  {} {}:{}:{}", p.dim("-->"), f.path, f.line, f.column);
    let lines: Vec<&str> = source
        .map(|s| {
            crate::source::comments::lines(s)
                .into_iter()
                .map(|(_, l)| l)
                .collect()
        })
        .unwrap_or_default();
    let last = f.end_line.min(f.line + FRAME_MAX_LINES - 1);
    let width = last.to_string().len();
    let gutter = |n: Option<usize>| match n {
        Some(n) => p.dim(&format!("{n:>width$} |")),
        None => p.dim(&format!("{:>width$} |", "")),
    };
    if lines.is_empty() {
        let _ = writeln!(out, "{} {}", gutter(Some(f.line)), f.snippet);
    } else {
        for n in f.line..=last {
            let text = lines.get(n - 1).copied().unwrap_or("");
            let _ = writeln!(out, "{} {}", gutter(Some(n)), text.trim_end());
            if n == f.line {
                let start = f.column.saturating_sub(1);
                let end = if f.end_line == f.line {
                    f.end_column.saturating_sub(1).max(start + 1)
                } else {
                    text.chars().count().max(start + 1)
                };
                let pad: String = text
                    .chars()
                    .take(start)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let marks = "^".repeat(end - start);
                let label = if f.end_line == f.line {
                    format!(" {}", f.message)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{} {pad}{}",
                    gutter(None),
                    p.severity_mark(f.severity, &format!("{marks}{label}"))
                );
            }
        }
        if f.end_line > last {
            let _ = writeln!(out, "{} ...", gutter(None));
        }
        if f.end_line != f.line {
            let _ = writeln!(out, "{} {}", gutter(None), f.message);
        }
    }
    for step in &f.trace {
        let _ = writeln!(
            out,
            "  {} {}:{} {}: {}",
            p.dim("trace"),
            step.path.as_deref().unwrap_or(&f.path),
            step.line,
            step.label,
            step.snippet
        );
    }
    if let Some(rule) = rules.rules.iter().find(|r| r.id == f.rule) {
        let _ = writeln!(
            out,
            "  {} {}",
            p.dim("= help:"),
            first_sentence(&rule.docs.fix)
        );
    }
    if let Some(sup) = &f.suppressed {
        let at = sup
            .line
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{at}: {}",
            p.dim("= suppressed:"),
            sup.kind,
            sup.reason.as_deref().unwrap_or("no reason given")
        );
    }
    let _ = writeln!(out, "  {} strata explain {}\n", p.dim("= docs:"), f.rule);
}

impl Paint {
    fn severity_mark(&self, sev: Severity, s: &str) -> String {
        let code = match sev {
            Severity::Critical => "35",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, s)
    }
}

fn first_sentence(s: &str) -> String {
    let s = s.trim().replace('\n', " ");
    match s.find(". ") {
        Some(i) => s[..=i].to_string(),
        None => s,
    }
}
