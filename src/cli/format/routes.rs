//! `strata routes` output: the route inventory as an aligned table, Markdown or JSON.

use crate::model::routes::Row;
use serde::Serialize;

fn params_text(r: &Row) -> String {
    r.path_params
        .iter()
        .map(|p| match &p.ty {
            Some(t) => format!("{}: {t}", p.name),
            None => p.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pages_text(r: &Row) -> String {
    r.pagination
        .iter()
        .map(|p| {
            let b = |v: Option<i64>| v.map_or("?".to_string(), |v| v.to_string());
            format!("{} [{}..{}]", p.name, b(p.min), b(p.max))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(s: &Option<String>) -> String {
    s.as_deref()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "none".into())
}

fn columns(r: &Row) -> [String; 8] {
    [
        r.methods.join(","),
        r.path.clone(),
        format!("{} ({}:{})", r.handler, r.file, r.line),
        params_text(r),
        pages_text(r),
        cell(&r.auth),
        cell(&r.rate_limit),
        r.ownership.clone(),
    ]
}

const HEADERS: [&str; 8] = [
    "METHOD",
    "PATH",
    "HANDLER",
    "PARAMS",
    "PAGINATION",
    "AUTH",
    "RATE LIMIT",
    "OWNERSHIP",
];

pub fn render_human(rows: &[Row]) -> String {
    let cells: Vec<[String; 8]> = rows.iter().map(columns).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for c in &cells {
        for (i, v) in c.iter().enumerate() {
            widths[i] = widths[i].max(v.chars().count().min(60));
        }
    }
    let mut out = String::new();
    let mut line = |vals: &[String]| {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            let v: String = v.chars().take(60).collect();
            if i + 1 == vals.len() {
                s.push_str(&v);
            } else {
                s.push_str(&format!("{v:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&HEADERS.map(String::from));
    for c in &cells {
        line(c);
    }
    let unauth = rows.iter().filter(|r| r.auth.is_none()).count();
    let no_owner = rows.iter().filter(|r| r.ownership == "no").count();
    out.push_str(&format!(
        "\n{} routes, {unauth} without auth, {no_owner} loading a resource by id without an ownership check\n",
        rows.len()
    ));
    out
}

pub fn render_markdown(rows: &[Row]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n|{}\n", HEADERS.join(" | "), "---|".repeat(8));
    for r in rows {
        let c = columns(r);
        let c: Vec<String> = c.iter().map(|v| esc(v)).collect();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} |\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        ));
    }
    out
}

pub fn render_json(rows: &[Row]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        routes: &'a [Row],
    }
    let mut s = serde_json::to_string_pretty(&Out { routes: rows }).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
