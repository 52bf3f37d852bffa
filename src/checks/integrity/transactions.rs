//! DATA009: several writes on one request path committed separately (a commit between
//! writes, or autocommit drivers with no transaction around them), so a failure half-way
//! leaves half of the change behind.

use crate::checks::py::{body_node, request_path_functions};
use crate::checks::py::{call_parts, chain, visit};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{string_value, text, PyFunction};
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// Transaction scopes: a block inside one of these (or a function decorated with
/// `transaction.atomic`) is all-or-nothing.
static TX_SCOPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:atomic|transaction|begin|begin_nested|Transaction)\s*\(")
        .expect("static regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Write,
    Commit,
}

/// DATA009: a request handler that commits a write and then writes again (so a failure
/// of the later write leaves the earlier one committed), or that runs several writes on
/// an autocommit connection (asyncpg, Django ORM) with no transaction around them.
pub fn writes_without_transaction(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let autocommit = facts.imports_package("asyncpg") || facts.imports_package("django");
    for (fi, route, _) in request_path_functions(ctx, facts) {
        let Some(f) = facts.functions.get(fi) else {
            continue;
        };
        if in_transaction_fn(f) {
            continue;
        }
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let mut steps: Vec<(Step, Node<'_>)> = Vec::new();
        let mut transactional = false;
        visit(body, |n| {
            if n != body
                && matches!(
                    n.kind(),
                    "function_definition" | "lambda" | "class_definition" | "decorated_definition"
                )
            {
                return false;
            }
            match n.kind() {
                // Compensating writes in an `except` do not count.
                "except_clause" | "finally_clause" => return false,
                "with_statement" => {
                    let head = n
                        .child_by_field_name("body")
                        .map_or(text(n, src), |b| &src[n.start_byte()..b.start_byte()]);
                    if TX_SCOPE.is_match(head) {
                        transactional = true;
                        return false;
                    }
                }
                "call" => {
                    if let Some(step) = step_of(n, src) {
                        steps.push((step, n));
                    }
                }
                _ => {}
            }
            true
        });
        if transactional && !steps.iter().any(|(s, _)| *s == Step::Commit) {
            continue;
        }
        let mut hit: Option<(Node<'_>, Node<'_>, &str)> = None;
        // A commit with writes before it and a write after it.
        if let Some(ci) = steps.iter().position(|(s, _)| *s == Step::Commit) {
            let commit = steps[ci].1;
            let before = steps[..ci]
                .iter()
                .find(|(s, n)| *s == Step::Write && !exclusive(*n, commit));
            let after = steps[ci + 1..]
                .iter()
                .find(|(s, n)| *s == Step::Write && !exclusive(commit, *n));
            if let (Some((_, w1)), Some((_, w2))) = (before, after) {
                let _ = w1;
                hit = Some((steps[ci].1, *w2, "commit"));
            }
        } else if autocommit && !transactional {
            let writes: Vec<Node<'_>> = steps
                .iter()
                .filter(|(s, _)| *s == Step::Write)
                .map(|(_, n)| *n)
                .collect();
            // The first two writes that can both run (not the two arms of an `if`).
            'pairs: for (i, a) in writes.iter().enumerate() {
                for b in &writes[i + 1..] {
                    if !exclusive(*a, *b) {
                        hit = Some((*a, *b, "autocommit"));
                        break 'pairs;
                    }
                }
            }
        }
        let Some((at, later, how)) = hit else {
            continue;
        };
        let (line, _) = ctx.file.line_col(later.start_byte());
        let first = crate::checks::py::snippet(text(at, src));
        let second = crate::checks::py::snippet(text(later, src));
        let what = if how == "commit" {
            format!("`{first}` commits before `{second}` (line {line}) runs")
        } else {
            format!("`{first}` and `{second}` (line {line}) each commit on their own")
        };
        out.push(
            Hit::new(at.start_byte(), at.end_byte())
                .var("what", what)
                .var("function", f.name.clone())
                .var("route", route.clone()),
        );
    }
}

/// `a` and `b` sit in different arms of one `if`/`elif`/`else` (or `try`/`except`):
/// at most one of them runs.
fn exclusive(a: Node<'_>, b: Node<'_>) -> bool {
    let mut ancestors = Vec::new();
    let mut cur = Some(a);
    while let Some(n) = cur {
        ancestors.push(n);
        cur = n.parent();
    }
    // The child of the common ancestor on `b`'s side, and the common ancestor.
    let mut below = b;
    let mut cur = b.parent();
    while let Some(n) = cur {
        if let Some(pos) = ancestors.iter().position(|x| *x == n) {
            if !matches!(n.kind(), "if_statement" | "try_statement") || pos == 0 {
                return false;
            }
            let a_side = ancestors[pos - 1];
            let arm = |x: Node<'_>| {
                matches!(
                    x.kind(),
                    "block" | "else_clause" | "elif_clause" | "except_clause"
                )
            };
            return a_side != below && arm(a_side) && arm(below);
        }
        below = n;
        cur = n.parent();
    }
    false
}

fn in_transaction_fn(f: &PyFunction) -> bool {
    f.decorators
        .iter()
        .any(|d| d.callee.ends_with("atomic") || d.callee.ends_with("transactional"))
}

static WRITE_SQL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^\s*(?:with\b.*?\)\s*)?(?:insert\s+into|update\s+\S+\s+set|delete\s+from)\b")
        .expect("static regex")
});

/// What a call does to the database: a write (a SQL INSERT/UPDATE/DELETE, an ORM `add`,
/// `create`, `save`, `delete`, `update`) or a `commit`.
fn step_of(n: Node<'_>, src: &str) -> Option<Step> {
    let (callee, last, args) = call_parts(n, src)?;
    let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
    if recv.is_empty() {
        return None;
    }
    match last {
        "commit" if args.named_child_count() == 0 => Some(Step::Commit),
        "execute" | "executemany" | "fetchrow" | "fetchval" | "exec_driver_sql" => {
            let mut first = args.named_child(0)?;
            // `text("...")` around the SQL.
            if let Some((_, "text", inner)) = call_parts(first, src) {
                first = inner.named_child(0)?;
            }
            let sql = string_value(first, src).unwrap_or_default();
            let is_write = |w: &str| matches!(w, "insert" | "update" | "delete");
            let first_word_call = first.kind() == "call"
                && chain(first, src).is_some_and(|(root, methods)| {
                    is_write(root) || methods.iter().any(|m| is_write(m))
                });
            (WRITE_SQL.is_match(&sql) || first_word_call).then_some(Step::Write)
        }
        "add" | "add_all" | "merge" => (recv_is_session(recv)).then_some(Step::Write),
        "save" if args.named_child_count() == 0 || text(args, src).contains("update_fields") => {
            (!recv.contains('.') && recv != "self" && recv != "form" && recv != "serializer")
                .then_some(Step::Write)
        }
        "create" | "bulk_create" | "get_or_create" | "update_or_create" => {
            recv.contains(".objects").then_some(Step::Write)
        }
        "update" | "delete" => {
            (recv.contains(".objects") || recv.contains(".query(") || recv.contains(".filter("))
                .then_some(Step::Write)
        }
        _ => None,
    }
}

fn recv_is_session(recv: &str) -> bool {
    let last = recv.rsplit('.').next().unwrap_or(recv);
    matches!(
        last,
        "db" | "session" | "sess" | "s" | "db_session" | "dbsession"
    )
}
