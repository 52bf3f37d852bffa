//! AUTH006, over the route inventory composed across files: a router file whose
//! state-changing routes are all public in an application whose write routes mostly require
//! auth (the router registered without the dependencies its siblings got).

use crate::checks::RepoHit;
use crate::model::routes::{inventory, Row, WebSummary};
use crate::model::summary::{Located, RepoContext};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Paths that are public by design: sign-in and recovery flows, webhooks (signed, not
/// authenticated), health and metrics probes, documentation.
static PUBLIC_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)login|logout|sign[-_]?(?:in|up|out)|register|token|refresh|oauth|sso|saml|callback|webhook|hook|health|status|ping|metrics|password|forgot|reset|verify|confirm|activate|invite|unsubscribe|contact|feedback|public|csp[-_]?report|docs|openapi|schema|captcha|stripe|slack|github|setup|install|onboard")
        .expect("static regex")
});

const STATE_CHANGING: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];

/// AUTH006: a file whose state-changing routes are all reachable without auth (as the
/// inventory composes it across files: router dependencies, include prefixes, DRF
/// defaults, auth layers), in an application where most state-changing routes require
/// auth. Per-file AUTH001 compares siblings; this finds the router whose registration
/// forgot the auth every other router got.
pub fn router_without_auth(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let files: Vec<(String, WebSummary)> = ctx
        .files
        .iter()
        .filter_map(|(rel, _, s)| s.web.clone().map(|w| (rel.clone(), w)))
        .collect();
    if files.is_empty() {
        return;
    }
    // One application per project root (the deepest directory with a manifest or
    // `manage.py` above the file): a monorepo's services are judged on their own.
    const ROOT_MARKERS: &[&str] = &[
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "requirements.txt",
        "manage.py",
        "Cargo.toml",
    ];
    let roots: Vec<&str> = ctx
        .files
        .iter()
        .filter_map(|(rel, _, _)| {
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
            ROOT_MARKERS.contains(&name).then_some(dir)
        })
        .collect();
    let root_of = |rel: &str| -> String {
        roots
            .iter()
            .filter(|d| d.is_empty() || rel.starts_with(&format!("{d}/")))
            .max_by_key(|d| d.len())
            .map_or(String::new(), |d| d.to_string())
    };
    let rows = inventory(&files);
    let mut apps: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for r in rows {
        apps.entry(root_of(&r.file)).or_default().push(r);
    }
    for rows in apps.values() {
        unauthenticated_files(rows, out);
    }
}

fn unauthenticated_files(rows: &[Row], out: &mut Vec<RepoHit>) {
    // Routes registered for development only are neither judged nor counted.
    let rows: Vec<&Row> = rows.iter().filter(|r| !r.dev_only).collect();
    let writes: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| {
            r.methods
                .iter()
                .any(|m| STATE_CHANGING.contains(&m.as_str()))
        })
        .filter(|r| !PUBLIC_PATH.is_match(&r.path) && !PUBLIC_PATH.is_match(&r.handler))
        .collect();
    let authed = writes.iter().filter(|r| r.auth.is_some()).count();
    // An application that mostly authenticates its writes, with enough of them to say so.
    if authed < 3 || authed * 3 < writes.len() * 2 {
        return;
    }
    let mut by_file: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        by_file.entry(r.file.as_str()).or_default().push(r);
    }
    for (file, file_rows) in by_file {
        // A file with any authenticated route is AUTH001's to judge.
        if file_rows.iter().any(|r| r.auth.is_some()) {
            continue;
        }
        let open: Vec<&&Row> = writes
            .iter()
            .filter(|r| r.file == file && r.auth.is_none())
            .collect();
        let Some(first) = open.iter().min_by_key(|r| (r.line, &r.path)) else {
            continue;
        };
        let mut listed: Vec<String> = open
            .iter()
            .map(|r| format!("`{} {}`", r.methods.join(","), r.path))
            .collect();
        listed.dedup();
        let more = listed.len().saturating_sub(3);
        listed.truncate(3);
        let mut routes = listed.join(", ");
        if more > 0 {
            routes.push_str(&format!(" and {more} more"));
        }
        let example = writes
            .iter()
            .find(|r| r.auth.is_some())
            .map(|r| {
                format!(
                    "`{} {}` requires `{}`",
                    r.methods.join(","),
                    r.path,
                    r.auth.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default();
        out.push(RepoHit {
            confidence: None,
            path: file.to_string(),
            at: Located {
                name: first.handler.clone(),
                detail: String::new(),
                line: first.line,
                column: 1,
                end_line: first.line,
                end_column: 1,
                start: first.span.0,
                end: first.span.1,
            },
            vars: vec![
                ("routes", routes),
                ("authed", authed.to_string()),
                ("writes", writes.len().to_string()),
                ("example", example),
            ],
        });
    }
}
