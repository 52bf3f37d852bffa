//! Taint rules over Python handlers (see `crate::taint`): SQL injection (SEC020), command
//! injection (SEC021), SSRF (SEC022), path traversal (SEC023), and the weak path guard
//! `str(resolved).startswith(str(base))` (SEC024).

use super::py::{keyword_arg, node_at, positional_arg, visit};
use super::{FileContext, Hit};
use crate::facts::python::{text, PyFacts};
use crate::taint::{self, Taint};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sql,
    Command,
    Ssrf,
    Path,
}

/// Runs the taint pass over every function that is a route or reads the request, and
/// reports the calls `kind` treats as sinks.
fn scan(ctx: &FileContext<'_>, kind: Kind, out: &mut Vec<Hit>) {
    let Some(facts) = super::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    for (fi, f) in facts.functions.iter().enumerate() {
        let is_route = facts.routes.iter().any(|r| r.function == fi);
        let body_text = src.get(f.body.0..f.body.1).unwrap_or("");
        if !is_route && !body_text.contains("request.") {
            continue;
        }
        let env = taint::handler_sources(facts, f, is_route);
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        taint::run(body, src, env, |call, env| {
            if let Some((arg, what, taint)) = sink(facts, call, src, env, kind) {
                let mut hit = Hit::new(call.start_byte(), call.end_byte())
                    .var("callee", what.clone())
                    .var("arg", text(arg, src));
                hit.trace = taint.trace;
                hit.trace.push((
                    arg.start_byte(),
                    arg.end_byte(),
                    format!("reaches `{what}`"),
                ));
                out.push(hit);
            }
        });
    }
}

fn first_arg(args: Node<'_>) -> Option<Node<'_>> {
    positional_arg(args, 0)
}

fn sink<'t>(
    facts: &PyFacts,
    call: Node<'t>,
    src: &str,
    env: &HashMap<String, Taint>,
    kind: Kind,
) -> Option<(Node<'t>, String, Taint)> {
    let func = call.child_by_field_name("function")?;
    let args = call.child_by_field_name("arguments")?;
    let callee = text(func, src);
    let method = callee.rsplit('.').next().unwrap_or(callee);
    let resolved = facts.resolve(callee).unwrap_or_default();
    let tainted = |n: Node<'t>| taint::expr_taint(n, src, env).map(|t| (n, t));
    match kind {
        Kind::Sql => {
            let is_sink = matches!(
                method,
                "execute" | "executemany" | "raw" | "read_sql" | "read_sql_query" | "executescript"
            ) || resolved == "sqlalchemy.text"
                || resolved == "sqlalchemy.sql.text";
            if !is_sink {
                return None;
            }
            let (arg, t) = first_arg(args).and_then(tainted)?;
            (t.formatted).then(|| (arg, callee.to_string(), t))
        }
        Kind::Command => {
            let is_sink = matches!(
                resolved.as_str(),
                "os.system" | "os.popen" | "eval" | "exec"
            ) || (resolved.starts_with("subprocess.")
                && keyword_arg(args, "shell", src).is_some_and(|v| text(v, src) == "True"));
            if !is_sink {
                return None;
            }
            let (arg, t) = first_arg(args).and_then(tainted)?;
            Some((arg, resolved, t))
        }
        Kind::Ssrf => {
            static HTTP: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r"^(?:requests|httpx|aiohttp)\.(?:[\w.]*\.)?(?:get|post|put|patch|delete|head|options|request|stream)$|^urllib\.request\.(?:urlopen|Request)$|^urllib3\.\w+$")
                    .expect("static regex")
            });
            if !HTTP.is_match(&resolved) {
                return None;
            }
            let pos = if method == "request" { 1 } else { 0 };
            let url = keyword_arg(args, "url", src).or_else(|| positional_arg(args, pos))?;
            // A fixed scheme and host with user input only in the path is not SSRF.
            static FIXED_HOST: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r#"^[rbfuRBFU]*["'](?:https?://[^/{"']+[/?]|\{(?:[A-Z][A-Z0-9_]*|(?:settings|config|self)\.\w+)\}/)"#)
                    .expect("static regex")
            });
            if FIXED_HOST.is_match(text(url, src)) {
                return None;
            }
            let (arg, t) = tainted(url)?;
            Some((arg, resolved, t))
        }
        Kind::Path => {
            static FILE: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r"^(?:open|io\.open|os\.open|os\.remove|os\.unlink|os\.rmdir|os\.removedirs|os\.rename|os\.listdir|shutil\.\w+|flask\.send_file|fastapi\.responses\.FileResponse|starlette\.responses\.FileResponse|aiofiles\.open)$")
                    .expect("static regex")
            });
            if FILE.is_match(&resolved) {
                let path = keyword_arg(args, "path", src).or_else(|| first_arg(args))?;
                let (arg, t) = tainted(path)?;
                return Some((arg, resolved, t));
            }
            // `Path(user).read_text()`, `target.open()`.
            if matches!(
                method,
                "read_text" | "read_bytes" | "write_text" | "write_bytes" | "unlink" | "rmdir"
            ) || (method == "open" && func.kind() == "attribute")
            {
                let recv = func.child_by_field_name("object")?;
                let (arg, t) = tainted(recv)?;
                return Some((arg, callee.to_string(), t));
            }
            None
        }
    }
}

pub fn sql_injection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    scan(ctx, Kind::Sql, out)
}

pub fn command_injection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    scan(ctx, Kind::Command, out)
}

pub fn ssrf(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    scan(ctx, Kind::Ssrf, out)
}

pub fn path_traversal(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    scan(ctx, Kind::Path, out)
}

/// SEC024: `str(resolved).startswith(str(base))`: a prefix test on a resolved path.
pub fn weak_path_guard(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    static RESOLVED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:\.resolve|\.absolute|realpath|abspath|normpath)\(").expect("static regex")
    });
    let src = ctx.file.text.as_str();
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call" {
            return true;
        }
        let Some(func) = n
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
        else {
            return true;
        };
        let (Some(recv), Some(attr)) = (
            func.child_by_field_name("object"),
            func.child_by_field_name("attribute"),
        ) else {
            return true;
        };
        if text(attr, src) != "startswith" {
            return true;
        }
        let recv_text = text(recv, src);
        let inner = recv_text
            .strip_prefix("str(")
            .and_then(|r| r.strip_suffix(')'))
            .or_else(|| {
                recv_text
                    .strip_prefix("os.fspath(")
                    .and_then(|r| r.strip_suffix(')'))
            })
            .unwrap_or(recv_text);
        // The receiver is a resolved path: written inline, or a name assigned from one in
        // the enclosing function.
        let resolved = RESOLVED.is_match(recv_text)
            || (inner.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !inner.is_empty()
                && assigned_from_resolved(ctx, n.start_byte(), inner, &RESOLVED));
        // `startswith(base + os.sep)`, `startswith(os.path.join(base, ""))` end at a separator.
        let arg = n
            .child_by_field_name("arguments")
            .map_or("", |a| text(a, src));
        let boundary = arg.contains("os.sep")
            || arg.contains("os.path.join(")
            || arg.contains("\"/\"")
            || arg.contains("'/'");
        let before = ctx.file.text.get(..n.start_byte()).unwrap_or("");
        let fn_start = super::py::facts(ctx)
            .and_then(|f| f.function_at(n.start_byte()))
            .map_or(0, |f| f.body.0);
        let sep_added = before.get(fn_start..).is_some_and(|b| b.contains("sep"));
        if resolved && !boundary && !sep_added && is_guard(n, src) {
            out.push(Hit::new(n.start_byte(), n.end_byte()).var("guard", text(n, src)));
        }
        true
    });
}

/// The call decides an `if` that leaves the function (raise, abort, return) or an `assert`.
fn is_guard(call: Node<'_>, src: &str) -> bool {
    let mut cur = call;
    for _ in 0..4 {
        let Some(p) = cur.parent() else {
            return false;
        };
        match p.kind() {
            "not_operator" | "parenthesized_expression" | "boolean_operator" => cur = p,
            "assert_statement" => return true,
            "if_statement" => {
                return p.child_by_field_name("condition") == Some(cur)
                    && p.child_by_field_name("consequence").is_some_and(|c| {
                        let t = text(c, src);
                        t.contains("raise") || t.contains("abort(") || t.contains("return")
                    });
            }
            _ => return false,
        }
    }
    false
}

fn assigned_from_resolved(ctx: &FileContext<'_>, at: usize, name: &str, re: &Regex) -> bool {
    let Some(facts) = super::py::facts(ctx) else {
        return false;
    };
    let Some(f) = facts.function_at(at) else {
        return false;
    };
    let body = ctx.file.text.get(f.body.0..at).unwrap_or("");
    body.lines().any(|l| {
        let l = l.trim_start();
        l.strip_prefix(name)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .is_some_and(|r| !r.starts_with('=') && re.is_match(r))
    })
}
