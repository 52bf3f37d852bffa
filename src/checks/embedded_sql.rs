//! SQL that lives in Python string literals: the first argument of `execute`-like calls,
//! directly or through a local variable assigned a literal earlier in the same function.

use super::FileContext;
use crate::model::facts::python::{string_value, text};
use crate::source::names::Names as _;
use std::collections::HashMap;
use tree_sitter::Node;

/// Methods and functions whose first argument is SQL.
pub const SQL_SINKS: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "exec_driver_sql",
    "text",
    "raw",
    "read_sql",
    "read_sql_query",
    "fetch",
    "fetchrow",
    "fetchval",
    "fetchall_sql",
];

#[derive(Debug, Clone)]
pub struct SqlLiteral {
    /// Byte range of the call that runs the SQL.
    pub start: usize,
    pub end: usize,
    /// Literal text (f-string interpolations kept as written: `{user_id}`).
    pub sql: String,
    /// The call's callee as written (`cur.execute`).
    pub callee: String,
    /// Whether the SQL is an f-string or built with `%`/`.format`/`+`.
    pub interpolated: bool,
}

pub fn sql_literals(ctx: &FileContext<'_>) -> Vec<SqlLiteral> {
    let src = ctx.file.text.as_str();
    // Local `name = "SQL..."` assignments, keyed by name, in source order, with the
    // function they are made in.
    let mut assigned: HashMap<String, Vec<(usize, usize, String, bool)>> = HashMap::new();
    let mut out = Vec::new();
    crate::model::facts::visit(ctx.tree.root_node(), |node| {
        match node.kind() {
            "assignment" => {
                if let (Some(l), Some(r)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) {
                    if l.kind() == "identifier" {
                        if let Some((sql, interp)) = sql_text(r, src) {
                            assigned.entry(text(l, src).to_string()).or_default().push((
                                node.start_byte(),
                                enclosing_function(node),
                                sql,
                                interp,
                            ));
                        }
                    }
                }
            }
            "call" => {
                if let Some(lit) = sql_call(node, src, &assigned) {
                    out.push(lit);
                }
            }
            _ => {}
        }
        true
    });
    out
}

fn sql_call(
    node: Node<'_>,
    src: &str,
    assigned: &HashMap<String, Vec<(usize, usize, String, bool)>>,
) -> Option<SqlLiteral> {
    let func = node.child_by_field_name("function")?;
    let callee = text(func, src);
    let last = callee.rsplit('.').next().unwrap_or(callee);
    if !SQL_SINKS.contains(&last) {
        return None;
    }
    let args = node.child_by_field_name("arguments")?;
    let first = args.named_child(0)?;
    let (sql, interpolated) = if first.kind() == "identifier" {
        let name = text(first, src);
        // Only an assignment of the same function: a parameter of a generic wrapper
        // (`def action(self, query)`) is not the `query` some other function built.
        let func = enclosing_function(node);
        let (_, _, sql, interp) = assigned
            .get(name)?
            .iter()
            .rev()
            .find(|(at, f, _, _)| *at < node.start_byte() && *f == func)?;
        (sql.clone(), *interp)
    } else {
        sql_text(first, src)?
    };
    Some(SqlLiteral {
        start: node.start_byte(),
        end: node.end_byte(),
        sql,
        callee: callee.to_string(),
        interpolated,
    })
}

/// Start byte of the function around `node` (0 at module level).
fn enclosing_function(node: Node<'_>) -> usize {
    let mut cur = node.parent();
    while let Some(p) = cur {
        if matches!(p.kind(), "function_definition" | "lambda") {
            return p.start_byte();
        }
        cur = p.parent();
    }
    0
}

/// SQL text of an expression when it is a string that looks like SQL. Walks down the
/// left side of `+`/`%` chains and `.format` calls iteratively: generated code can nest
/// them thousands deep.
fn sql_text(mut node: Node<'_>, src: &str) -> Option<(String, bool)> {
    let mut interpolated = false;
    loop {
        match node.kind() {
            "string" | "concatenated_string" => {
                let is_f = text(node, src)
                    .trim_start_matches(['r', 'R', 'b', 'B', 'u', 'U'])
                    .starts_with(['f', 'F']);
                let value = string_value(node, src)?;
                return looks_like_sql(&value).then_some((value, interpolated || is_f));
            }
            "binary_operator" => {
                let op = node.child_by_field_name("operator").map(|o| text(o, src));
                if op == Some("+") {
                    // "DELETE FROM " + TABLE + " WHERE id = ?": every literal of the
                    // concatenation counts, other operands stand as `{expr}`.
                    let value = concatenation(node, src)?;
                    return looks_like_sql(&value).then_some((value, true));
                }
                node = node.child_by_field_name("left")?;
                interpolated = true;
            }
            "call" => {
                // "...".format(...)
                let func = node.child_by_field_name("function")?;
                if func.kind() != "attribute" || !text(func, src).ends_with(".format") {
                    return None;
                }
                node = func.child_by_field_name("object")?;
                interpolated = true;
            }
            "parenthesized_expression" => node = node.named_child(0)?,
            _ => return None,
        }
    }
}

/// The text of a `+` chain: string operands by value, other operands as `{expr}`. None
/// when its first operand is not a string (not a SQL literal being built).
fn concatenation(node: Node<'_>, src: &str) -> Option<String> {
    let mut out = String::new();
    let mut stack = vec![node];
    let mut first = true;
    while let Some(n) = stack.pop() {
        let is_plus = n.kind() == "binary_operator"
            && n.child_by_field_name("operator")
                .is_some_and(|o| text(o, src) == "+");
        if is_plus {
            stack.push(n.child_by_field_name("right")?);
            stack.push(n.child_by_field_name("left")?);
            continue;
        }
        let n = if n.kind() == "parenthesized_expression" {
            n.named_child(0)?
        } else {
            n
        };
        match n.kind() {
            "string" | "concatenated_string" => out.push_str(&string_value(n, src)?),
            // `"DELETE FROM " + t + " WHERE id IN (%s)" % marks`: `%` binds tighter than
            // `+`, so the template is an operand of its own; its text is still SQL.
            "binary_operator"
                if !first
                    && n.child_by_field_name("operator")
                        .is_some_and(|o| text(o, src) == "%")
                    && n.child_by_field_name("left")
                        .is_some_and(|l| matches!(l.kind(), "string" | "concatenated_string")) =>
            {
                let l = n.child_by_field_name("left")?;
                out.push_str(&string_value(l, src)?);
            }
            _ if first => return None,
            _ => {
                out.push('{');
                out.push_str(text(n, src));
                out.push('}');
            }
        }
        first = false;
    }
    Some(out)
}

pub fn looks_like_sql(s: &str) -> bool {
    let words = crate::model::sql::keywords(s);
    match words.first().map(String::as_str) {
        Some("SELECT" | "WITH") => words.iter().any(|w| w == "FROM"),
        Some("INSERT") => words.iter().any(|w| w == "INTO"),
        Some("UPDATE") => words.iter().any(|w| w == "SET"),
        Some("DELETE") => words.iter().any(|w| w == "FROM"),
        _ => false,
    }
}
