//! `UPDATE`/`DELETE` without `WHERE`, in `.sql` files and in SQL string literals that
//! Python code passes to `execute`-like calls.

use super::{FileContext, Hit};
use crate::lang::Lang;
use crate::sql;

pub fn write_without_where(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    match ctx.file.lang {
        Lang::Sql => {
            // The engine parses one statement at a time: the tree's root spans it.
            let root = ctx.tree.root_node();
            let (start, end) = (root.start_byte(), root.end_byte());
            let stmt = &ctx.file.text[start..end];
            if let Some(verb) = sql::write_without_where(&sql::keywords(stmt)) {
                let at = first_code_offset(stmt).unwrap_or(0);
                out.push(Hit::new(start + at, end).var("verb", verb));
            }
        }
        Lang::Python => {
            for lit in super::embedded_sql::sql_literals(ctx) {
                if let Some(verb) = sql::write_without_where(&sql::keywords(&lit.sql)) {
                    out.push(Hit::new(lit.start, lit.end).var("verb", verb));
                }
            }
        }
        _ => {}
    }
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
