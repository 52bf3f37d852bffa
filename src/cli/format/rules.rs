//! `strata rules` and `strata explain`.

use crate::rules::{Layer, Registry, Rule, RuleKind};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct RuleRow<'a> {
    id: &'a str,
    name: &'a str,
    layer: Layer,
    severity: &'a str,
    confidence: &'a str,
    cwe: &'a [String],
    languages: Vec<&'static str>,
    kind: &'static str,
    summary: &'a str,
}

fn row(r: &Rule) -> RuleRow<'_> {
    RuleRow {
        id: &r.id,
        name: &r.name,
        layer: r.layer,
        severity: r.severity.name(),
        confidence: r.confidence.name(),
        cwe: &r.cwe,
        languages: r.languages.iter().map(|l| l.name()).collect(),
        kind: match r.kind {
            RuleKind::Query(_) => "query",
            RuleKind::Check(_) => "semantic",
            RuleKind::Regex(_) => "regex",
            RuleKind::Repo(_) => "repository",
            RuleKind::Text(_) => "text",
        },
        summary: &r.summary,
    }
}

pub fn list(reg: &Registry, layer: Option<Layer>, json: bool) -> String {
    let rules: Vec<&Rule> = reg
        .rules
        .iter()
        .filter(|r| layer.is_none_or(|l| r.layer == l))
        .collect();
    if json {
        let rows: Vec<RuleRow<'_>> = rules.iter().map(|r| row(r)).collect();
        let mut s = serde_json::to_string_pretty(&rows).expect("rules serialise");
        s.push('\n');
        return s;
    }
    let mut out = String::new();
    for r in &rules {
        let langs: Vec<&str> = r.languages.iter().map(|l| l.name()).collect();
        let _ = writeln!(
            out,
            "{:<8} {:<15} {:<8} {:<6} {:<40} {:<16} {}",
            r.id,
            r.layer.id(),
            r.severity.name(),
            r.confidence.name(),
            r.name,
            langs.join(","),
            r.summary
        );
    }
    let _ = writeln!(out, "{} rules", rules.len());
    out
}

pub fn explain(r: &Rule, color: bool) -> String {
    let h = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let langs: Vec<&str> = r.languages.iter().map(|l| l.name()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{} {}: {}", h(&r.id), r.name, r.summary);
    let _ = writeln!(
        out,
        "layer: {}   severity: {}   confidence: {}   cwe: {}   languages: {}\n",
        r.layer,
        r.severity,
        r.confidence.name(),
        if r.cwe.is_empty() {
            "-".to_string()
        } else {
            r.cwe.join(", ")
        },
        langs.join(", ")
    );
    for (title, body) in [
        ("What it finds", &r.docs.what),
        ("Why it matters", &r.docs.why),
        ("How to fix", &r.docs.fix),
    ] {
        let _ = writeln!(
            out,
            "{}\n  {}\n",
            h(title),
            body.trim().replace('\n', "\n  ")
        );
    }
    for (title, body) in [("Bad", &r.docs.bad), ("Good", &r.docs.good)] {
        let _ = writeln!(out, "{}", h(title));
        for line in body.trim_end().lines() {
            let _ = writeln!(out, "    {line}");
        }
        out.push('\n');
    }
    out
}
