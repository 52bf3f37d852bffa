//! `UPDATE`/`DELETE` without `WHERE`, in `.sql` files and in SQL string literals that
//! Python code passes to `execute`-like calls and Rust code to sqlx, diesel `sql_query`
//! or a client's `execute`/`query`.

use crate::checks::{FileContext, Hit};
use crate::model::sql;
use crate::source::lang::Lang;
use regex::Regex;
use std::sync::LazyLock;

pub fn write_without_where(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    match ctx.file.lang {
        Lang::Sql => {
            // The engine parses one statement at a time: the tree's root spans it.
            let root = ctx.tree.root_node();
            let (start, end) = (root.start_byte(), root.end_byte());
            let stmt = &ctx.file.text[start..end];
            if let Some(verb) = sql::write_without_where(&sql::keywords(stmt)) {
                if verb == "UPDATE" && backfills_new_columns(stmt, &ctx.file.text) {
                    return;
                }
                let at = first_code_offset(stmt).unwrap_or(0);
                out.push(Hit::new(start + at, end).var("verb", verb));
            }
        }
        Lang::Python => {
            // Data migrations rewrite whole tables on purpose (backfills, reshaping).
            if crate::checks::integrity::alembic::is_migration_module(ctx) {
                return;
            }
            for lit in crate::checks::embedded_sql::sql_literals(ctx) {
                if let Some(verb) = sql::write_without_where(&sql::keywords(&lit.sql)) {
                    out.push(Hit::new(lit.start, lit.end).var("verb", verb));
                }
            }
        }
        Lang::Rust => {
            let Some(facts) = crate::checks::rust::rust_facts(ctx) else {
                return;
            };
            let src = ctx.file.text.as_str();
            crate::checks::rust::each_node(
                ctx.tree.root_node(),
                &["call_expression", "macro_invocation"],
                |n| {
                    let Some((start, end, sql, _)) =
                        crate::checks::integrity::rust_inserts::sql_of(n, src, facts)
                    else {
                        return;
                    };
                    if crate::checks::rust::in_test_code(n, src) {
                        return;
                    }
                    if let Some(verb) = sql::write_without_where(&sql::keywords(&sql)) {
                        if verb == "DELETE" && deliberate_rust_wipe(n, src) {
                            return;
                        }
                        out.push(Hit::new(start, end).var("verb", verb));
                    }
                },
            );
        }
        _ => {}
    }
}

/// A whole-table `DELETE` that is the point of its Rust function: a method named for it
/// (`delete_all`, `clear`, `wipe`, `reset`, `purge_all`), or one that empties the table and
/// writes every row back inside one transaction (`begin()` .. `commit()`: re-keying,
/// re-encrypting, rebuilding a local store).
fn deliberate_rust_wipe(node: tree_sitter::Node<'_>, src: &str) -> bool {
    static WIPE_FN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(delete_all\w*|clear\w*|truncate\w*|wipe\w*|reset\w*|purge_all\w*|remove_all\w*|drop_all\w*|delete_everything)$")
            .expect("static regex")
    });
    static REWRITE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?is)\.begin\(\).*\.commit\(\)").expect("static regex"));
    static WRITE_BACK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bfor\b[^{]*\{[^}]*(insert|save|push|put)\w*\s*\(|insert\s+into")
            .expect("static regex")
    });
    let Some(func) = crate::checks::rust::enclosing_fn(node) else {
        return false;
    };
    let name = func
        .child_by_field_name("name")
        .and_then(|n| n.utf8_text(src.as_bytes()).ok())
        .unwrap_or("");
    if WIPE_FN.is_match(name) {
        return true;
    }
    let body = func.utf8_text(src.as_bytes()).unwrap_or("");
    let after = src.get(node.end_byte()..func.end_byte()).unwrap_or("");
    REWRITE.is_match(body) && WRITE_BACK.is_match(after) && after.contains(".commit()")
}

/// An `UPDATE t SET a = .., b = ..` whose columns are all added (`ADD COLUMN`) by the
/// same file: the backfill of a new column, meant to touch every row.
fn backfills_new_columns(stmt: &str, file: &str) -> bool {
    static ADDED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?"?(\w+)"?"#)
            .expect("static regex")
    });
    let added: Vec<String> = ADDED
        .captures_iter(file)
        .map(|c| c[1].to_ascii_lowercase())
        .collect();
    let set = set_columns(stmt);
    !set.is_empty() && set.iter().all(|c| added.contains(c))
}

/// Columns assigned by an UPDATE's SET list (top level only, lower-cased).
fn set_columns(stmt: &str) -> Vec<String> {
    let lower = stmt.to_ascii_lowercase();
    let Some(at) = lower.find(" set ").or_else(|| lower.find("\nset ")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut item = String::new();
    let flush = |item: &mut String, out: &mut Vec<String>| {
        if let Some((lhs, _)) = item.split_once('=') {
            let col = lhs.trim().trim_matches('"').to_ascii_lowercase();
            if !col.is_empty() && col.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push(col);
            }
        }
        item.clear();
    };
    for ch in stmt[at + 5..].chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                flush(&mut item, &mut out);
                continue;
            }
            ';' if depth == 0 => break,
            _ => {}
        }
        item.push(ch);
    }
    flush(&mut item, &mut out);
    out
}

/// Offset of the first character that is not whitespace or inside a comment.
fn first_code_offset(stmt: &str) -> Option<usize> {
    let mut i = 0;
    let b = stmt.as_bytes();
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if stmt[i..].starts_with("--") {
            i += stmt[i..].find('\n').map_or(b.len() - i, |n| n + 1);
        } else if stmt[i..].starts_with("/*") {
            i += stmt[i..].find("*/").map_or(b.len() - i, |n| n + 2);
        } else {
            return Some(i);
        }
    }
    None
}
