//! Check-then-insert races (DATA008): a function reads a table for an existing row, then
//! inserts into the same table under a condition, with no conflict handling.

use crate::checks::embedded_sql::sql_literals;
use crate::checks::integrity::queries::caught_conflict;
use crate::checks::py::{node_at, visit_same_scope};
use crate::checks::{FileContext, Hit};
use regex::Regex;
use std::sync::LazyLock;

static SELECT_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^\s*SELECT\b.*?\bFROM\s+["`\[]?([\w.]+)["`\]]?(\s+(AS\s+)?\w+)?\s+WHERE\b"#)
        .expect("static regex")
});
static INSERT_INTO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^\s*INSERT\s+INTO\s+["`\[]?([\w.]+)"#).expect("static regex")
});

fn last_segment(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase()
}

/// An INSERT that handles its conflict in SQL.
fn handles_conflict(sql: &str) -> bool {
    let words = crate::model::sql::keywords(sql);
    words
        .iter()
        .any(|w| matches!(w.as_str(), "CONFLICT" | "DUPLICATE" | "MERGE"))
        || words.windows(2).any(|w| {
            matches!(
                (w[0].as_str(), w[1].as_str()),
                ("INSERT", "OR") | ("INSERT", "IGNORE") | ("NOT", "EXISTS")
            )
        })
}

/// DATA008: `SELECT ... FROM t WHERE ...`, then an `if`, then `INSERT INTO t` in the same
/// function, without `ON CONFLICT` and outside a `try` that catches `IntegrityError`.
pub fn check_then_insert(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let lits = sql_literals(ctx);
    for (ii, ins) in lits.iter().enumerate() {
        let Some(caps) = INSERT_INTO.captures(&ins.sql) else {
            continue;
        };
        if handles_conflict(&ins.sql) {
            continue;
        }
        let table = last_segment(&caps[1]);
        let Some(f) = facts.function_at(ins.start) else {
            continue;
        };
        let check = lits[..ii].iter().rev().find(|sel| {
            sel.start >= f.start
                && facts
                    .function_at(sel.start)
                    .is_some_and(|g| g.start == f.start)
                && SELECT_FROM
                    .captures(&sel.sql)
                    .is_some_and(|c| last_segment(&c[1]) == table)
        });
        let Some(sel) = check else { continue };
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        // A decision between the read and the write.
        let mut decided = false;
        visit_same_scope(body, |n| {
            if n.kind() == "if_statement"
                && n.start_byte() > sel.start
                && n.start_byte() < ins.start
            {
                decided = true;
            }
        });
        if !decided {
            continue;
        }
        let Some(call) = node_at(root, ins.start, ins.end) else {
            continue;
        };
        if caught_conflict(call, f.start, src) {
            continue;
        }
        out.push(
            Hit::new(ins.start, ins.end)
                .var("table", table)
                .var("line", ctx.file.line_col(sel.start).0.to_string())
                .var("function", f.name.clone()),
        );
    }
}
