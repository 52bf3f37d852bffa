//! Integrity checks for Rust services: inserts of natural keys in create handlers
//! without conflict handling (DATA101).

use crate::checks::rust::{each_node, enclosing_fn, in_test_code, rust_facts, text};
use crate::checks::{FileContext, Hit};
use crate::model::facts::rust::{string_value, ExtractorKind, RustFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// A unique violation handled by the code around the insert: sqlx, diesel,
/// tokio-postgres, sea-orm, or the Postgres/MySQL/SQLite codes.
static HANDLED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)is_unique_violation|unique_?violation|on_constraint\(|\.constraint\(\)|\b23505\b|\bER_DUP_ENTRY\b|\b1062\b|\b2067\b|SQLITE_CONSTRAINT_UNIQUE|UNIQUE constraint failed|duplicate key")
        .expect("static regex")
});

/// Receivers of a tokio-postgres / diesel / generic client `execute`/`query` call.
static RECV: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(client|conn|connection|tx|txn|transaction|db|pool|pg|session)\W*$")
        .expect("static regex")
});

/// The SQL text a call runs, when it is a literal: sqlx `query*` functions and macros,
/// diesel `sql_query`, a client's `execute`/`query`.
pub(crate) fn sql_of(
    node: Node<'_>,
    src: &str,
    facts: &RustFacts,
) -> Option<(usize, usize, String, String)> {
    match node.kind() {
        "call_expression" => {
            let f = node.child_by_field_name("function")?;
            let args = node.child_by_field_name("arguments")?;
            let callee = match f.kind() {
                "field_expression" => {
                    let recv = f.child_by_field_name("value").map_or("", |v| text(v, src));
                    let m = f.child_by_field_name("field").map_or("", |v| text(v, src));
                    if !matches!(
                        m,
                        "execute" | "query" | "query_one" | "query_opt" | "batch_execute"
                    ) || !RECV.is_match(recv)
                    {
                        return None;
                    }
                    format!("{}.{m}", recv.rsplit('.').next().unwrap_or(recv))
                }
                "identifier" | "scoped_identifier" | "generic_function" => {
                    let t = text(f, src);
                    let t = t.split("::<").next().unwrap_or(t);
                    let q = facts.resolve(t).unwrap_or_default();
                    if !(q.starts_with("sqlx::query")
                        || q == "diesel::sql_query"
                        || q == "diesel::dsl::sql_query")
                    {
                        return None;
                    }
                    q
                }
                _ => return None,
            };
            let first = args
                .named_children(&mut args.walk())
                .find(|c| !c.kind().ends_with("comment"))?;
            let sql = string_value(first, src)?;
            Some((first.start_byte(), first.end_byte(), sql, callee))
        }
        "macro_invocation" => {
            let m = node.child_by_field_name("macro")?;
            let name = text(m, src);
            let q = facts.resolve(name).unwrap_or_default();
            if !matches!(
                q.as_str(),
                "sqlx::query"
                    | "sqlx::query_as"
                    | "sqlx::query_scalar"
                    | "sqlx::query_unchecked"
                    | "sqlx::query_as_unchecked"
            ) {
                return None;
            }
            let tt = node
                .named_children(&mut node.walk())
                .find(|c| c.kind() == "token_tree")?;
            let lit = tt
                .named_children(&mut tt.walk())
                .find(|c| matches!(c.kind(), "string_literal" | "raw_string_literal"))?;
            let sql = string_value(lit, src)?;
            Some((lit.start_byte(), lit.end_byte(), sql, format!("{q}!")))
        }
        _ => None,
    }
}

fn fn_name(f: Node<'_>, src: &str) -> String {
    f.child_by_field_name("name")
        .map(|n| text(n, src).to_string())
        .unwrap_or_default()
}

/// Whether handler `hi` serves a create: a POST (or any-method) route, or, when the file
/// does not register it, a request body extractor and a name that is not an update.
fn is_create(facts: &RustFacts, hi: usize) -> Option<String> {
    let h = &facts.handlers[hi];
    let routes: Vec<_> = facts.routes_of(hi).collect();
    if !routes.is_empty() {
        return routes
            .iter()
            .find(|r| r.methods.iter().any(|m| m == "POST" || m == "*"))
            .map(|r| r.describe());
    }
    let body = h
        .extractors
        .iter()
        .any(|x| matches!(x.kind, ExtractorKind::Json | ExtractorKind::Form));
    let update = ["update", "put", "edit", "patch", "replace", "upsert"]
        .iter()
        .any(|p| h.name.starts_with(p));
    (body && !update).then(|| format!("handler {}", h.name))
}

/// DATA101: an INSERT of a natural key in a create handler without conflict handling.
pub fn insert_without_conflict_handling(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    let Some(facts) = rust_facts(ctx) else { return };
    if facts.handlers.is_empty() {
        return;
    }
    each_node(
        ctx.tree.root_node(),
        &["call_expression", "macro_invocation"],
        |node| {
            let Some((start, end, sql, callee)) = sql_of(node, src, facts) else {
                return;
            };
            let Some((table, why)) = crate::checks::integrity::queries::risky_insert(&sql) else {
                return;
            };
            let Some(func) = enclosing_fn(node) else {
                return;
            };
            if in_test_code(node, src) {
                return;
            }
            let fbody = text(func, src);
            if HANDLED.is_match(fbody) {
                return;
            }
            let name = fn_name(func, src);
            // The handler itself, or handlers that call this function by name.
            let mut sites: Vec<(usize, String)> = Vec::new(); // (handler, via)
            if let Some(hi) = facts
                .handlers
                .iter()
                .position(|h| h.start == func.start_byte())
            {
                if facts.handler_at(node.start_byte()).is_some() {
                    sites.push((hi, String::new()));
                } else {
                    let call = format!("{name}(");
                    for (ci, c) in facts.handlers.iter().enumerate() {
                        if ci == hi {
                            continue;
                        }
                        let body = src.get(c.body_start..c.body_end).unwrap_or("");
                        if body.contains(&call)
                            && facts.handler_at(c.body_start + 1).is_some()
                            && !HANDLED.is_match(body)
                        {
                            sites.push((ci, format!(", via `{name}`")));
                        }
                    }
                }
            }
            let Some((hi, via, route)) = sites
                .into_iter()
                .find_map(|(hi, via)| is_create(facts, hi).map(|r| (hi, via, r)))
            else {
                return;
            };
            hits.push(
                Hit::new(start, end)
                    .var("table", table)
                    .var("why", why)
                    .var("route", route)
                    .var("handler", facts.handlers[hi].name.clone())
                    .var("via", via)
                    .var("callee", callee),
            );
        },
    );
}
