//! `strata report` rendered as Markdown (renders on GitHub) or as one self-contained HTML
//! file (inline CSS and SVG, no script, fonts or images); the JSON format is the report
//! model itself (`scan::report`, documented in docs/report-schema.md).

use crate::rules::Severity;
use crate::scan::report::{Control, Dim, FrameLine, Report, ReportFinding, Trend};
use std::fmt::Write;

pub fn render_json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("report serialises");
    s.push('\n');
    s
}

fn verdict_text(v: &str) -> &'static str {
    match v {
        "do-not-ship" => "Do not ship",
        "ship-with-conditions" => "Ship with conditions",
        _ => "Ship",
    }
}

fn status_text(s: &str) -> &'static str {
    match s {
        "holds" => "holds",
        "partial" => "partial",
        _ => "not examined",
    }
}

fn level_name(level: u8) -> &'static str {
    crate::scan::report::RUBRIC
        .iter()
        .find(|r| r.level == level)
        .map_or("", |r| r.name)
}

fn lang_of(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "py" | "pyi" => "python",
        "rs" => "rust",
        "sql" => "sql",
        "yml" | "yaml" => "yaml",
        "toml" => "toml",
        _ => "text",
    }
}

fn files_text(r: &Report) -> String {
    r.header
        .files
        .iter()
        .map(|(l, c)| format!("{l}: {} files, {} lines", c.files, c.lines))
        .collect::<Vec<_>>()
        .join("; ")
}

fn commit_text(r: &Report) -> String {
    match &r.header.commit {
        Some(c) => format!(
            "{c} (branch {}, {})",
            r.header.branch.as_deref().unwrap_or("?"),
            match r.header.dirty {
                Some(true) => "uncommitted changes in the audited paths",
                Some(false) => "clean",
                None => "state unknown",
            }
        ),
        None => "not a git checkout: no pinned commit".to_string(),
    }
}

fn severity_counts(m: &std::collections::BTreeMap<&'static str, usize>) -> String {
    Severity::ALL
        .iter()
        .rev()
        .map(|s| m.get(s.name()).copied().unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

// ---------------------------------------------------------------------------------------
// Markdown

/// Text for Markdown: HTML neutralised outside the message's own code spans (inside a code
/// span GitHub shows text as written, entities included). With unbalanced backticks there
/// are no code spans, so everything is escaped.
fn md(s: &str) -> String {
    let balanced = s.matches('`').count() % 2 == 0;
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for c in s.chars() {
        match c {
            '`' if balanced => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '&' if !in_code => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// [`md`] for a table cell: pipes escaped too (GFM applies that inside code spans as well).
fn cell(s: &str) -> String {
    md(s).replace('|', "\\|")
}

/// Inline code that survives any backticks in `s`.
fn md_code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn md_frame(out: &mut String, lang: &str, lines: &[FrameLine]) {
    let body: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{}{:>5} | {}",
                if l.hit { ">" } else { " " },
                l.line,
                l.text
            )
        })
        .collect();
    let longest = body
        .iter()
        .flat_map(|l| l.split(|c| c != '`').map(str::len))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}");
    for l in body {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(out, "{fence}");
}

/// The header table, the same rows in every format: the repository (when the title
/// names the project otherwise), commit, date, tool, paths, what was scanned and what was not.
fn header_rows(r: &Report) -> Vec<(&'static str, String)> {
    let h = &r.header;
    let mut rows = Vec::new();
    if h.repository != h.project {
        rows.push(("Repository", h.repository.clone()));
    }
    rows.extend([
        ("Commit", commit_text(r)),
        ("Date", h.date.clone()),
        (
            "Tool",
            format!(
                "strata {}, rule set {} ({} rules)",
                h.strata_version, h.ruleset_digest, h.rules_run
            ),
        ),
        ("Paths", h.paths.join(", ")),
        ("Scanned", files_text(r)),
        (
            "Not examined",
            if h.exclusions.is_empty() {
                "nothing".to_string()
            } else {
                h.exclusions.join("; ")
            },
        ),
    ]);
    rows
}

pub fn render_markdown(r: &Report) -> String {
    let mut o = String::new();
    let h = &r.header;
    let _ = writeln!(o, "# Audit report: {}\n", md(&h.project));
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in header_rows(r) {
        let _ = writeln!(o, "| {k} | {} |", cell(&v));
    }
    let d = &r.disposition;
    let _ = writeln!(o, "\n## Disposition: {}\n", verdict_text(d.verdict));
    for reason in &d.reasons {
        let _ = writeln!(o, "- {}", md(reason));
    }
    let _ = writeln!(o, "\nThresholds, applied in this order:\n");
    for t in d.thresholds.describe() {
        let _ = writeln!(o, "1. {}", md(&t));
    }

    let _ = writeln!(o, "\n## Scorecard\n");
    let _ = writeln!(
        o,
        "| Dimension | Level | Findings (C / H / M / L) | Examined sites passing | Basis |\n|---|---|---|---|---|"
    );
    for row in &r.scorecard {
        let _ = writeln!(
            o,
            "| {} | **L{}** {} | {} | {} | {} |",
            row.title,
            row.level,
            level_name(row.level),
            severity_counts(&row.findings),
            if row.examined == 0 {
                "none examined".to_string()
            } else {
                format!("{} / {}", row.passed, row.examined)
            },
            cell(&row.basis)
        );
    }
    let _ = writeln!(
        o,
        "\nRubric: a dimension gets the first level whose condition applies (findings are the ones reported; examined sites are counted by the positive controls below).\n"
    );
    let _ = writeln!(o, "| Level | Condition |\n|---|---|");
    for row in &r.rubric {
        let _ = writeln!(o, "| L{} {} | {} |", row.level, row.name, md(row.rule));
    }

    let _ = writeln!(o, "\n## Positive controls\n");
    let _ = writeln!(
        o,
        "| Control | Dimension | Status | Evidence |\n|---|---|---|---|"
    );
    for c in &r.controls {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} ({}) |",
            cell(c.claim),
            dim_title(c.dimension),
            status_mark(c),
            cell(&c.evidence),
            cell(&c.source.join(", "))
        );
    }

    let rs = &r.routes;
    let _ = writeln!(o, "\n## Routes\n");
    let _ = writeln!(
        o,
        "{} routes: {} behind authentication, {} without; {} rate-limited; ownership checked on {} of {} routes addressing a resource by id.",
        rs.total,
        rs.authenticated,
        rs.unauthenticated,
        rs.rate_limited,
        rs.ownership.get("yes").copied().unwrap_or(0),
        rs.ownership.get("yes").copied().unwrap_or(0) + rs.ownership.get("no").copied().unwrap_or(0)
    );
    if !rs.unauthenticated_writes.is_empty() {
        let _ = writeln!(
            o,
            "\nUnauthenticated write routes:\n\n| Method | Path | Handler | Where | Public by design |\n|---|---|---|---|---|"
        );
        for w in &rs.unauthenticated_writes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(&w.methods.join(",")),
                md_code(&w.path),
                md_code(&w.handler),
                md_code(&format!("{}:{}", w.file, w.line)),
                if w.public_by_design {
                    "yes (by name)"
                } else {
                    "no"
                }
            );
        }
    }

    let _ = writeln!(o, "\n## Remediation queue\n");
    if r.queue.is_empty() {
        let _ = writeln!(o, "Nothing to remediate.");
    } else {
        let _ = writeln!(
            o,
            "| # | Priority | Item | Where | Findings | Effort | Score |\n|---|---|---|---|---|---|---|"
        );
        for q in &r.queue {
            let _ = writeln!(
                o,
                "| {} | {} | {} {} | {} | {} | {} | {} |",
                q.id,
                q.priority,
                q.rule,
                cell(&q.title),
                shown_paths(&q.paths, md_code),
                q.findings
                    .iter()
                    .map(|f| format!("[{f}](#{})", f.to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" "),
                q.effort,
                q.score
            );
        }
        let _ = writeln!(o);
        for rule in &r.queue_rules {
            let _ = writeln!(o, "- {}", md(rule));
        }
    }

    let _ = writeln!(o, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(o, "No finding is reported.");
    }
    for d in Dim::ALL {
        let mine: Vec<&ReportFinding> = r
            .findings
            .iter()
            .filter(|f| f.dimension == d.id())
            .collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {}\n", d.title());
        for f in mine {
            let _ = writeln!(
                o,
                "<a id=\"{}\"></a>\n#### {} · {} · {} {}\n",
                f.id.to_ascii_lowercase(),
                f.id,
                f.severity,
                f.rule,
                md(&f.name)
            );
            let _ = writeln!(
                o,
                "{}  \n{} · confidence {} · exposure: {}{}\n",
                md(&f.message),
                md_code(&format!("{}:{}:{}", f.path, f.line, f.column)),
                f.confidence.name(),
                f.exposure,
                f.route
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({})", md(r)))
            );
            md_frame(&mut o, lang_of(&f.path), &f.frame);
            if !f.why.is_empty() {
                let _ = writeln!(o, "\n**Why it matters.** {}", md(&f.why));
            }
            if !f.fix.is_empty() {
                let _ = writeln!(o, "\n**Fix.** {}", md(&f.fix));
            }
            let _ = writeln!(o);
        }
    }
    if let Some(t) = &r.trend {
        let (previous, new, scorecard) =
            trend_text(t, md, |f| format!("[{f}](#{})", f.to_ascii_lowercase()));
        let _ = writeln!(o, "## Since the previous report\n\n{previous}\n");
        if !t.new.is_empty() {
            let _ = writeln!(o, "New: {new}\n");
        }
        if !t.fixed.is_empty() {
            let _ = writeln!(o, "Fixed:\n");
            for f in &t.fixed {
                let _ = writeln!(o, "- {}", md(f));
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o, "Scorecard: {scorecard}");
    }
    o
}

/// The trend section's sentences for both formats, escaped with `escape`: the comparison with
/// the previous report, the new findings' links (made by `link` from a fingerprint), and the
/// scorecard levels that changed.
fn trend_text(
    t: &Trend,
    escape: fn(&str) -> String,
    link: impl Fn(&str) -> String,
) -> (String, String, String) {
    let previous = format!(
        "Previous report: commit {}, {}. {} new, {} fixed, {} unchanged.",
        escape(t.previous_commit.as_deref().unwrap_or("unknown")),
        escape(t.previous_date.as_deref().unwrap_or("undated")),
        t.new.len(),
        t.fixed.len(),
        t.unchanged
    );
    let new = t.new.iter().map(|f| link(f)).collect::<Vec<_>>().join(" ");
    let changed: Vec<String> = t
        .levels
        .iter()
        .filter(|(_, [a, b])| a != b)
        .map(|(d, [a, b])| format!("{}: L{a} → L{b}", dim_title(d)))
        .collect();
    let scorecard = if changed.is_empty() {
        "no level changed".to_string()
    } else {
        escape(&changed.join("; "))
    };
    (previous, new, scorecard)
}

/// The first files of a queue item, then how many more.
fn shown_paths(paths: &[String], show: impl Fn(&str) -> String) -> String {
    let mut s = paths
        .iter()
        .take(4)
        .map(|p| show(p))
        .collect::<Vec<_>>()
        .join(" ");
    if paths.len() > 4 {
        let _ = write!(s, " and {} more", paths.len() - 4);
    }
    s
}

fn dim_title(id: &str) -> &'static str {
    Dim::ALL
        .iter()
        .find(|d| d.id() == id)
        .map_or("?", |d| d.title())
}

fn status_mark(c: &Control) -> &'static str {
    match c.status {
        "holds" => "✔ holds",
        "partial" => "✘ partial",
        _ => "– not examined",
    }
}

// ---------------------------------------------------------------------------------------
// HTML

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;max-width:1040px;margin:2em auto;padding:0 1.2em}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #dfe3ea;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.6em}table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border:1px solid #dfe3ea;padding:.35em .55em;text-align:left;vertical-align:top}th{background:#f3f5f8}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #e3e7ed;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.hit{background:#fff1c2;display:block}
.verdict{font-size:1.3em;font-weight:700;padding:.5em .8em;border-radius:6px;display:inline-block}
.do-not-ship{background:#fde2e1;color:#8a1c16}.ship-with-conditions{background:#fff3cd;color:#6b4d00}.ship{background:#dcf5e3;color:#1a5c2e}
.lvl{font-weight:700;padding:0 .4em;border-radius:4px;color:#fff}
.l1{background:#b42318}.l2{background:#d9730d}.l3{background:#b59a00}.l4{background:#3b7d23}.l5{background:#19692c}
.sev{font-weight:600;text-transform:uppercase;font-size:.8em;padding:.05em .4em;border-radius:3px;color:#fff}
.critical{background:#7a1010}.high{background:#b42318}.medium{background:#d9730d}.low{background:#6b7280}
.holds{color:#19692c;font-weight:600}.partial{color:#b42318;font-weight:600}.not-examined{color:#6b7280}
.finding{border:1px solid #dfe3ea;border-radius:6px;padding:.2em 1em .6em;margin:1em 0;page-break-inside:avoid}
.meta{color:#4b5563;font-size:.92em}.charts{display:flex;gap:2em;flex-wrap:wrap}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}.finding,tr{page-break-inside:avoid}h2{page-break-after:avoid}}
"#;

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7a1010",
        Severity::High => "#b42318",
        Severity::Medium => "#d9730d",
        Severity::Low => "#6b7280",
    }
}

fn level_color(l: u8) -> &'static str {
    match l {
        1 => "#b42318",
        2 => "#d9730d",
        3 => "#b59a00",
        4 => "#3b7d23",
        _ => "#19692c",
    }
}

/// Findings per dimension, stacked by severity.
fn findings_chart(r: &Report) -> String {
    let max = r
        .scorecard
        .iter()
        .map(|row| row.findings.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h) = (190.0, 260.0, 26.0);
    let height = row_h * r.scorecard.len() as f64 + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Findings per dimension and severity\"><title>Findings per dimension and severity</title>",
        label_w + bar_w + 50.0
    );
    for (i, row) in r.scorecard.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 15.0,
            esc(row.title)
        );
        let mut x = label_w;
        for sev in Severity::ALL.iter().rev() {
            let n = row.findings.get(sev.name()).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / max as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"{}\"><title>{n} {}</title></rect>",
                sev_color(*sev),
                sev.name()
            );
            x += w;
        }
        let total: usize = row.findings.values().sum();
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{total}</text>",
            x + 4.0,
            y + 14.0
        );
    }
    let y = row_h * r.scorecard.len() as f64 + 20.0;
    let mut x = label_w;
    for sev in Severity::ALL.iter().rev() {
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\" font-size=\"11\">{}</text>",
            y - 9.0,
            sev_color(*sev),
            x + 13.0,
            sev.name()
        );
        x += 65.0;
    }
    s.push_str("</svg>");
    s
}

/// Maturity level per dimension, L1 to L5.
fn level_chart(r: &Report) -> String {
    let (label_w, step, row_h) = (190.0, 48.0, 26.0);
    let height = row_h * r.scorecard.len() as f64 + 24.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Maturity level per dimension\"><title>Maturity level per dimension</title>",
        label_w + step * 5.0 + 10.0
    );
    for l in 1..=5u8 {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#4b5563\">L{l}</text>",
            label_w + step * f64::from(l) - 16.0,
            height - 4.0
        );
    }
    for (i, row) in r.scorecard.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{}\" height=\"18\" fill=\"#eef1f5\"/><rect x=\"{label_w}\" y=\"{y}\" width=\"{}\" height=\"18\" fill=\"{}\"><title>L{}</title></rect>",
            y + 15.0,
            esc(row.title),
            step * 5.0,
            step * f64::from(row.level),
            level_color(row.level),
            row.level
        );
    }
    s.push_str("</svg>");
    s
}

fn html_frame(o: &mut String, lines: &[FrameLine]) {
    o.push_str("<pre>");
    for l in lines {
        let text = format!("{:>5} | {}", l.line, esc(&l.text));
        if l.hit {
            let _ = write!(o, "<span class=\"hit\">{text}</span>");
        } else {
            let _ = writeln!(o, "{text}");
        }
    }
    o.push_str("</pre>");
}

pub fn render_html(r: &Report) -> String {
    let h = &r.header;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Audit report: {}</title><style>{CSS}</style></head><body>\n",
        esc(&h.project)
    );
    let _ = writeln!(o, "<h1>Audit report: {}</h1>", esc(&h.project));
    let _ = writeln!(o, "<table class=\"header\">");
    for (k, v) in header_rows(r) {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    o.push_str("</table>\n");

    let d = &r.disposition;
    let _ = writeln!(
        o,
        "<h2 id=\"disposition\">Disposition</h2><p><span class=\"verdict {}\">{}</span></p><ul>",
        d.verdict,
        verdict_text(d.verdict)
    );
    for reason in &d.reasons {
        let _ = writeln!(o, "<li>{}</li>", esc(reason));
    }
    o.push_str("</ul><p class=\"meta\">Thresholds, applied in this order:</p><ol class=\"meta\">");
    for t in d.thresholds.describe() {
        let _ = writeln!(o, "<li>{}</li>", esc(&t));
    }
    o.push_str("</ol>\n");

    o.push_str("<h2 id=\"scorecard\">Scorecard</h2>\n<div class=\"charts\">");
    o.push_str(&level_chart(r));
    o.push_str(&findings_chart(r));
    o.push_str("</div>\n<table><tr><th>Dimension</th><th>Level</th><th>Findings (C / H / M / L)</th><th>Examined sites passing</th><th>Basis</th></tr>\n");
    for row in &r.scorecard {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><span class=\"lvl l{}\">L{}</span> {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(row.title),
            row.level,
            row.level,
            level_name(row.level),
            severity_counts(&row.findings),
            if row.examined == 0 {
                "none examined".to_string()
            } else {
                format!("{} / {}", row.passed, row.examined)
            },
            esc(&row.basis)
        );
    }
    o.push_str("</table>\n<p class=\"meta\">Rubric: a dimension gets the first level whose condition applies.</p><table class=\"meta\"><tr><th>Level</th><th>Condition</th></tr>");
    for row in &r.rubric {
        let _ = writeln!(
            o,
            "<tr><td>L{} {}</td><td>{}</td></tr>",
            row.level,
            row.name,
            esc(row.rule)
        );
    }
    o.push_str("</table>\n");

    o.push_str("<h2 id=\"controls\">Positive controls</h2>\n<table><tr><th>Control</th><th>Dimension</th><th>Status</th><th>Evidence</th></tr>\n");
    for c in &r.controls {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{} <span class=\"meta\">({})</span></td></tr>",
            esc(c.claim),
            dim_title(c.dimension),
            c.status,
            status_text(c.status),
            esc(&c.evidence),
            esc(&c.source.join(", "))
        );
    }
    o.push_str("</table>\n");

    let rs = &r.routes;
    let _ = writeln!(
        o,
        "<h2 id=\"routes\">Routes</h2><p>{} routes: {} behind authentication, {} without; {} rate-limited; ownership checked on {} of {} routes addressing a resource by id.</p>",
        rs.total,
        rs.authenticated,
        rs.unauthenticated,
        rs.rate_limited,
        rs.ownership.get("yes").copied().unwrap_or(0),
        rs.ownership.get("yes").copied().unwrap_or(0) + rs.ownership.get("no").copied().unwrap_or(0)
    );
    if !rs.unauthenticated_writes.is_empty() {
        o.push_str("<p>Unauthenticated write routes:</p><table><tr><th>Method</th><th>Path</th><th>Handler</th><th>Where</th><th>Public by design</th></tr>\n");
        for w in &rs.unauthenticated_writes {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}:{}</code></td><td>{}</td></tr>",
                esc(&w.methods.join(",")),
                esc(&w.path),
                esc(&w.handler),
                esc(&w.file),
                w.line,
                if w.public_by_design { "yes (by name)" } else { "no" }
            );
        }
        o.push_str("</table>\n");
    }

    o.push_str("<h2 id=\"queue\">Remediation queue</h2>\n");
    if r.queue.is_empty() {
        o.push_str("<p>Nothing to remediate.</p>\n");
    } else {
        o.push_str("<table><tr><th>#</th><th>Priority</th><th>Item</th><th>Where</th><th>Findings</th><th>Effort</th><th>Score</th></tr>\n");
        for q in &r.queue {
            let _ = writeln!(
                o,
                "<tr id=\"{}\"><td>{}</td><td>{}</td><td><b>{}</b> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                q.id.to_ascii_lowercase(),
                q.id,
                q.priority,
                esc(&q.rule),
                esc(&q.title),
                shown_paths(&q.paths, |p| format!("<code>{}</code>", esc(p))),
                q.findings
                    .iter()
                    .map(|f| format!("<a href=\"#{}\">{f}</a>", f.to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" "),
                q.effort,
                q.score
            );
        }
        o.push_str("</table>\n<ul class=\"meta\">");
        for rule in &r.queue_rules {
            let _ = writeln!(o, "<li>{}</li>", esc(rule));
        }
        o.push_str("</ul>\n");
    }

    o.push_str("<h2 id=\"findings\">Findings</h2>\n");
    if r.findings.is_empty() {
        o.push_str("<p>No finding is reported.</p>\n");
    }
    for d in Dim::ALL {
        let mine: Vec<&ReportFinding> = r
            .findings
            .iter()
            .filter(|f| f.dimension == d.id())
            .collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(o, "<h3>{}</h3>", esc(d.title()));
        for f in mine {
            let _ = writeln!(
                o,
                "<div class=\"finding\" id=\"{}\"><h4>{} <span class=\"sev {}\">{}</span> {} {}</h4>",
                f.id.to_ascii_lowercase(),
                f.id,
                f.severity.name(),
                f.severity.name(),
                esc(&f.rule),
                esc(&f.name)
            );
            let _ = writeln!(
                o,
                "<p>{}<br><span class=\"meta\"><code>{}:{}:{}</code> · confidence {} · exposure: {}{}</span></p>",
                esc(&f.message),
                esc(&f.path),
                f.line,
                f.column,
                f.confidence.name(),
                f.exposure,
                f.route
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({})", esc(r)))
            );
            html_frame(&mut o, &f.frame);
            if !f.why.is_empty() {
                let _ = writeln!(o, "<p><b>Why it matters.</b> {}</p>", esc(&f.why));
            }
            if !f.fix.is_empty() {
                let _ = writeln!(o, "<p><b>Fix.</b> {}</p>", esc(&f.fix));
            }
            o.push_str("</div>\n");
        }
    }
    if let Some(t) = &r.trend {
        let (previous, new, scorecard) = trend_text(t, esc, |f| {
            format!("<a href=\"#{}\">{f}</a>", f.to_ascii_lowercase())
        });
        let _ = writeln!(
            o,
            "<h2 id=\"trend\">Since the previous report</h2><p>{previous}</p>"
        );
        if !t.new.is_empty() {
            let _ = writeln!(o, "<p>New: {new}</p>");
        }
        if !t.fixed.is_empty() {
            o.push_str("<p>Fixed:</p><ul>");
            for f in &t.fixed {
                let _ = writeln!(o, "<li>{}</li>", esc(f));
            }
            o.push_str("</ul>");
        }
        let _ = writeln!(o, "<p>Scorecard: {scorecard}</p>");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(md("a <b> `<b>` | c"), "a &lt;b&gt; `<b>` | c");
        assert_eq!(md("a `<b>"), "a `&lt;b&gt;");
        assert_eq!(cell("`a|b`"), "`a\\|b`");
        assert_eq!(md_code("a`b"), "``a`b``");
    }
}
