//! `UPDATE`/`DELETE` without `WHERE`, in `.sql` files and in SQL string literals that
//! Python code passes to `execute`-like calls and Rust code to sqlx, diesel `sql_query`
//! or a client's `execute`/`query`.

use crate::checks::{Confidence, FileContext, Hit};
use crate::model::sql;
use crate::source::lang::Lang;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

pub fn write_without_where(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    match ctx.file.lang {
        Lang::Sql => {
            // The engine parses one statement at a time: the tree's root spans it.
            let (start, end) = sql::unit_span(ctx.tree);
            let stmt = &ctx.file.text[start..end];
            // A rollback file restores an earlier shape: its whole-table writes undo a
            // backfill and only run when someone rolls back by hand.
            if crate::model::schema::is_rollback_file(&ctx.file.rel) {
                return;
            }
            let words = sql::keywords(stmt);
            if let Some(verb) = sql::write_without_where(&words) {
                let text = ctx.file.text.as_str();
                if verb == "UPDATE"
                    && (backfills_new_columns(stmt, text)
                        || joins_a_source(&words)
                        || inner_join_update(&words)
                        || touches_rows_only(stmt)
                        || single_row_table(&words))
                {
                    return;
                }
                if verb == "DELETE" && empties_before_reshaping(&words, &text[end..]) {
                    return;
                }
                let at = first_code_offset(stmt).unwrap_or(0);
                let mut hit = Hit::new(start + at, end).var("verb", verb);
                // In a migration a whole-table UPDATE is almost always a deliberate backfill:
                // the pattern alone is weak evidence.
                if verb == "UPDATE" && in_migrations_dir(&ctx.file.rel) {
                    hit = hit.confidence(Confidence::Low);
                }
                out.push(hit);
            }
        }
        Lang::Python => {
            // Data migrations rewrite whole tables on purpose (backfills, reshaping).
            if crate::checks::integrity::alembic::is_migration_module(ctx) {
                return;
            }
            let facts = crate::checks::py::facts(ctx);
            let literals = crate::checks::embedded_sql::sql_literals(ctx);
            for lit in &literals {
                let words = sql::keywords(&lit.sql);
                if let Some(verb) = sql::write_without_where(&words) {
                    // A settings table holds one row: the table is that row.
                    if verb == "UPDATE"
                        && (inner_join_update(&words)
                            || touches_rows_only(&lit.sql)
                            || single_row_table(&words)
                            || backfills_after_add_column(ctx, &words, lit.start, lit.end))
                    {
                        continue;
                    }
                    let func = facts.and_then(|f| f.function_at(lit.start));
                    if let Some(f) = func {
                        let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
                        let cli = f.decorators.iter().any(|d| d.callee.ends_with(".command"));
                        let body = &ctx.file.text[lit.start.min(f.body.1)..f.body.1];
                        if wipes_on_purpose(&f.name, &params, cli)
                            || reinserts_in_transaction(&ctx.file.text[f.body.0..f.body.1], body)
                            || unfiltered_branch(ctx, &params, &words, lit, &literals)
                        {
                            continue;
                        }
                    }
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
                    let words = sql::keywords(&sql);
                    if let Some(verb) = sql::write_without_where(&words) {
                        if verb == "UPDATE"
                            && (inner_join_update(&words) || touches_rows_only(&sql))
                        {
                            return;
                        }
                        if let Some(f) = crate::checks::rust::enclosing_fn(n) {
                            let name = f
                                .child_by_field_name("name")
                                .map_or("", |x| crate::checks::rust::text(x, src));
                            let params = rust_params(f, src);
                            let params: Vec<&str> = params.iter().map(String::as_str).collect();
                            let body = crate::checks::rust::text(f, src);
                            let after = &src[end.min(f.end_byte())..f.end_byte()];
                            if wipes_on_purpose(name, &params, false)
                                || reinserts_in_transaction(body, after)
                            {
                                return;
                            }
                        }
                        out.push(Hit::new(start, end).var("verb", verb));
                    }
                },
            );
        }
        _ => {}
    }
}

/// An UPDATE run in the same block right after an `ALTER TABLE t ADD COLUMN` of the table
/// it writes (a schema upgrade in code: `except OperationalError:` adds the column, then
/// fills it in or normalises the rows): the in-code twin of a migration's backfill, meant to
/// touch every row once.
fn backfills_after_add_column(
    ctx: &FileContext<'_>,
    words: &[String],
    start: usize,
    end: usize,
) -> bool {
    let Some(table) = target_table(words) else {
        return false;
    };
    let Some(mut node) = ctx.tree.root_node().descendant_for_byte_range(start, end) else {
        return false;
    };
    while node.kind() != "block" {
        match node.parent() {
            Some(p) => node = p,
            None => return false,
        }
    }
    let before = &ctx.file.text[node.start_byte()..start.max(node.start_byte())];
    static ADD_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)\balter\s+table\s+(?:\w+\.)?["`]?([^\s"`]+?)["`]?\s+add\b"#)
            .expect("static regex")
    });
    ADD_COLUMN
        .captures_iter(before)
        .any(|c| c[1].eq_ignore_ascii_case(&table))
}

/// The whole-table write is one branch of an `if` on a parameter whose other branch runs
/// the same write with a `WHERE` bound to that parameter (`if graph_hash is not None: DELETE .. WHERE graph_hash = ?`
/// `else: DELETE FROM t`): an optional filter, and the caller who leaves it out asks for
/// every row on purpose (`invalidate()` clears the whole cache).
fn unfiltered_branch(
    ctx: &FileContext<'_>,
    params: &[&str],
    words: &[String],
    lit: &crate::checks::embedded_sql::SqlLiteral,
    literals: &[crate::checks::embedded_sql::SqlLiteral],
) -> bool {
    let Some(table) = target_table(words) else {
        return false;
    };
    let verb = words.iter().find(|w| *w == "UPDATE" || *w == "DELETE");
    let src = ctx.file.text.as_str();
    let Some(mut node) = ctx
        .tree
        .root_node()
        .descendant_for_byte_range(lit.start, lit.end)
    else {
        return false;
    };
    for _ in 0..12 {
        let Some(parent) = node.parent() else {
            return false;
        };
        if parent.kind() == "function_definition" {
            return false;
        }
        if parent.kind() == "if_statement" {
            // The parameters the condition tests.
            let mut tested: Vec<&str> = Vec::new();
            if let Some(c) = parent.child_by_field_name("condition") {
                crate::model::facts::visit(c, |n| {
                    let name = &src[n.byte_range()];
                    if n.kind() == "identifier" && name != "self" && params.contains(&name) {
                        tested.push(name);
                    }
                    true
                });
            }
            // The other branch: the `if` body for the `else`, the `else` for the body.
            let other = if parent.child_by_field_name("consequence") == Some(node) {
                parent.child_by_field_name("alternative")
            } else if node.kind() == "else_clause" {
                parent.child_by_field_name("consequence")
            } else {
                None
            };
            if let Some(other) = other.filter(|_| !tested.is_empty()) {
                // The filtered write binds the tested parameter.
                let binds = |o: &crate::checks::embedded_sql::SqlLiteral| {
                    let call = &src[o.start..o.end];
                    tested.iter().any(|t| {
                        call.match_indices(t).any(|(i, _)| {
                            let ident = |c: char| c.is_alphanumeric() || c == '_';
                            !call[..i].ends_with(ident) && !call[i + t.len()..].starts_with(ident)
                        })
                    })
                };
                return literals.iter().any(|o| {
                    let w = sql::keywords(&o.sql);
                    o.start >= other.start_byte()
                        && o.end <= other.end_byte()
                        && binds(o)
                        && sql::write_without_where(&w).is_none()
                        && w.iter().find(|x| *x == "UPDATE" || *x == "DELETE") == verb
                        && target_table(&w).as_deref() == Some(table.as_str())
                });
            }
        }
        node = parent;
    }
    false
}

/// A file under a `migrations`-like directory.
fn in_migrations_dir(path: &str) -> bool {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    dir.split('/').any(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("migration") || c == "migrate" || c == "versions" || c == "revisions"
    })
}

/// Names of the table an UPDATE/DELETE writes (the word after UPDATE / DELETE FROM,
/// `ONLY` skipped), lower-cased and unqualified.
fn target_table(words: &[String]) -> Option<String> {
    let at = words.iter().position(|w| w == "UPDATE" || w == "DELETE")?;
    let mut rest = words[at + 1..].iter().map(String::as_str);
    let mut w = rest.next()?;
    while matches!(w, "FROM" | "ONLY") {
        w = rest.next()?;
    }
    Some(w.rsplit('.').next().unwrap_or(w).to_ascii_lowercase())
}

/// `UPDATE t a JOIN s b ON .. SET ..` (MySQL's multi-table update): an inner join writes
/// only the rows that match the source, like a WHERE on it.
fn inner_join_update(words: &[String]) -> bool {
    let Some(at) = words.iter().position(|w| w == "UPDATE") else {
        return false;
    };
    let Some(set) = words[at..].iter().position(|w| w == "SET").map(|i| at + i) else {
        return false;
    };
    let head = &words[at + 1..set];
    head.iter().any(|w| w == "JOIN")
        && head.iter().any(|w| w == "ON" || w == "USING")
        && !head
            .iter()
            .any(|w| matches!(w.as_str(), "LEFT" | "RIGHT" | "FULL" | "CROSS" | "OUTER"))
}

/// `UPDATE t SET c = c`: every assignment writes a column's own value back. Nothing
/// changes; the statement touches every row on purpose (to fire triggers, bump a
/// modification time maintained by the database).
fn touches_rows_only(stmt: &str) -> bool {
    static SET: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?is)\bset\s+(.*?)\s*;?\s*$").expect("static regex"));
    static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^\s*["`]?([A-Za-z_][\w]*)["`]?\s*=\s*["`]?([A-Za-z_][\w]*)["`]?\s*$"#)
            .expect("static regex")
    });
    let Some(assignments) = SET.captures(stmt).and_then(|c| c.get(1)) else {
        return false;
    };
    assignments.as_str().split(',').all(|a| {
        ASSIGN
            .captures(a)
            .is_some_and(|c| c[1].eq_ignore_ascii_case(&c[2]))
    })
}

/// `UPDATE t SET .. FROM source`: every row of `t` joined to a CTE or subquery the
/// statement computes on purpose (PostgreSQL's join update).
fn joins_a_source(words: &[String]) -> bool {
    let Some(set) = words.iter().position(|w| w == "SET") else {
        return false;
    };
    let at = words.iter().position(|w| w == "UPDATE").unwrap_or(0);
    at < set
        && words[set..].iter().any(|w| w == "FROM")
        && words.first().is_some_and(|w| w == "WITH")
}

/// A settings or instance-wide aggregate table that holds one row by design
/// (`site_settings`, `local_site`, `site_aggregates`, `app_config`).
fn single_row_table(words: &[String]) -> bool {
    static SINGLE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:\w+_)?(?:site|settings?|config|configuration|preferences)(?:_aggregates)?$")
            .expect("static regex")
    });
    target_table(words).is_some_and(|t| SINGLE.is_match(&t))
}

/// `DELETE FROM t` in a migration followed by an `ALTER TABLE t` in the same file: the
/// table is emptied on purpose before its shape changes (rows that cannot be carried over).
fn empties_before_reshaping(words: &[String], rest_of_file: &str) -> bool {
    let Some(table) = target_table(words) else {
        return false;
    };
    let re = format!(
        r#"(?i)\balter\s+table\s+(?:only\s+)?(?:if\s+exists\s+)?(?:\w+\.)?"?{}"?\s"#,
        regex::escape(&table)
    );
    re::new(&re).is_ok_and(|r| r.is_match(rest_of_file))
}

/// A function whose whole purpose is to empty a table: `delete_all`, `clear`, `reset`,
/// `wipe`, `drop_table`, `truncate_*` taking no key to filter by (only the receiver or a
/// connection), or a CLI command (`@cli.command`) named for deleting.
fn wipes_on_purpose(name: &str, params: &[&str], cli_command: bool) -> bool {
    const CONN: &[&str] = &[
        "self",
        "cls",
        "conn",
        "connection",
        "db",
        "session",
        "cursor",
        "cur",
        "pool",
        "tx",
        "transaction",
        "executor",
        "client",
    ];
    let name = name.to_ascii_lowercase();
    let verb = name.split('_').next().unwrap_or("");
    let wipe_name = matches!(
        verb,
        "clear" | "reset" | "wipe" | "drop" | "truncate" | "empty"
    ) || name.ends_with("_all")
        || name == "delete_everything";
    let delete_name = wipe_name || matches!(verb, "delete" | "purge" | "remove");
    let no_key = params.iter().all(|p| {
        CONN.contains(
            &p.trim_start_matches(['&', '*', '_'])
                .to_ascii_lowercase()
                .as_str(),
        )
    });
    (wipe_name && no_key) || (cli_command && delete_name)
}

/// The delete runs inside a transaction the same function opens, and rows are written
/// back after it: a delete-and-reinsert (re-key, rebuild) that either fully happens or not.
fn reinserts_in_transaction(function: &str, after: &str) -> bool {
    let f = function.to_ascii_lowercase();
    let a = after.to_ascii_lowercase();
    let opens = f.contains(".begin(")
        || f.contains("(\"begin")
        || f.contains("('begin")
        || f.contains("transaction(")
        || f.contains("atomic(")
        || f.contains(".atomic");
    let writes_back = a.contains("insert") || a.contains("save") || a.contains("bulk_create");
    opens && writes_back && (a.contains("commit") || f.contains("with "))
}

/// Parameter names of a Rust function (`self` for any receiver).
fn rust_params(f: tree_sitter::Node<'_>, src: &str) -> Vec<String> {
    let Some(ps) = f.child_by_field_name("parameters") else {
        return Vec::new();
    };
    let mut c = ps.walk();
    ps.named_children(&mut c)
        .filter_map(|p| match p.kind() {
            "self_parameter" => Some("self".to_string()),
            "parameter" => p.child_by_field_name("pattern").map(|x| {
                crate::checks::rust::text(x, src)
                    .trim_start_matches("mut ")
                    .to_string()
            }),
            _ => None,
        })
        .collect()
}

/// An `UPDATE t SET a = .., b = ..` whose columns are all added (`ADD COLUMN`) by the
/// same file: the backfill of a new column, meant to touch every row.
fn backfills_new_columns(stmt: &str, file: &str) -> bool {
    static ADDED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?"?(\w+)"?"#)
            .expect("static regex")
    });
    let added: Vec<String> = ADDED
        .captures_iter(file)
        .map(|c| c[1].to_ascii_lowercase())
        .collect();
    let set = set_columns(&stmt[first_code_offset(stmt).unwrap_or(0)..]);
    !set.is_empty() && set.iter().all(|c| added.contains(c))
}

/// Columns assigned by an UPDATE's SET list (top level only, lower-cased).
fn set_columns(stmt: &str) -> Vec<String> {
    let lower = stmt.to_ascii_lowercase();
    static SET: LazyLock<Regex> = LazyLock::new(|| re::new(r"\sset\s").expect("static regex"));
    let Some(m) = SET.find(&lower) else {
        return Vec::new();
    };
    let at = m.end() - 5;
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
