//! Taint rules over Python handlers (see `crate::model::taint`): SQL injection (SEC020), command
//! injection (SEC021), SSRF (SEC022), path traversal (SEC023), and the weak path guard
//! `str(resolved).startswith(str(base))` (SEC024). A path whose tainted name was converted
//! with `int()` or confined with `relative_to()`/`commonpath()` before the file call is safe.

use crate::checks::py::{keyword_arg, node_at, positional_arg, visit};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::model::taint::{self, Taint};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Sql,
    Command,
    Ssrf,
    Path,
}

/// Runs the taint pass over every function that is a route or reads the request, and
/// reports the calls `kind` treats as sinks.
fn scan(ctx: &FileContext<'_>, kind: Kind, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let policy = taint::Policy::new(facts, ctx.taint);
    // SSRF: URL fields that a handler stores from request input, by field name.
    let mut stored: HashMap<String, Vec<taint::Step>> = HashMap::new();
    let mut reported = std::collections::HashSet::new();
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
        taint::run(body, src, env, &policy, |call, env| {
            if kind == Kind::Ssrf {
                record_stored_urls(call, src, env, &policy, &mut stored);
            }
            if let Some((arg, what, taint)) = sink(facts, call, src, env, &policy, kind) {
                let segment = if kind == Kind::Path {
                    single_segment(facts, fi, &taint, src, body_text)
                } else {
                    Segment::No
                };
                if segment == Segment::Confined {
                    return;
                }
                if kind == Kind::Path
                    && path_checked(
                        facts,
                        src,
                        &taint,
                        src.get(f.body.0..call.start_byte()).unwrap_or(""),
                    )
                {
                    return;
                }
                reported.insert(call.start_byte());
                let mut hit = Hit::new(call.start_byte(), call.end_byte())
                    .var("callee", what.clone())
                    .var("arg", text(arg, src));
                if segment == Segment::Last {
                    hit = hit.confidence(crate::checks::Confidence::Low);
                }
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
    if kind == Kind::Ssrf && !stored.is_empty() {
        stored_url_fetches(ctx, facts, &policy, &stored, &reported, out);
    }
}

/// Where SEC023's taint comes from, when it is a route parameter that holds one path
/// segment (`{name}`, `<name>`, `<slug:name>`: no `path` converter, so no `/`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Not a single-segment route parameter.
    No,
    /// The handler puts fixed path text after it (`f"{name}.html"`, `name + ".js"`,
    /// `Path(base, name, "static")`): `..` then names a fixed file one level up at most,
    /// never a file the caller chooses. Not reported.
    Confined,
    /// The last component: on POSIX `..` names only the directory's parent, itself a
    /// directory; on Windows a backslash climbs further. Reported with low confidence.
    Last,
}

fn single_segment(facts: &PyFacts, fi: usize, taint: &Taint, src: &str, body: &str) -> Segment {
    let Some(&(start, end, _)) = taint.trace.first() else {
        return Segment::No;
    };
    let origin = src.get(start..end).unwrap_or("");
    let name: String = origin
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        return Segment::No;
    }
    let n = regex::escape(&name);
    let segment = re::new(&format!(r"\{{{n}(?::[^}}]*)?\}}|<(?:(\w+):)?{n}>"));
    let single = facts.routes.iter().filter(|r| r.function == fi).any(|r| {
        segment.as_ref().is_ok_and(|re| {
            re.captures_iter(&r.path).any(|c| {
                let whole = c.get(0).map_or("", |m| m.as_str());
                let conv = c.get(1).map_or("", |m| m.as_str());
                !whole.contains(":path") && conv != "path"
            })
        })
    });
    if !single {
        return Segment::No;
    }
    let confined = re::new(&format!(
        r#"\{{{n}\}}[^"'}}\s]|\b{n}\s*\+\s*[rfbuRFBU]*["']|\b{n}\s*/\s*[rfbuRFBU]*["']|\b{n}\s*,\s*(?:[rfbuRFBU]*["']|\w)"#
    ))
    .is_ok_and(|re| re.is_match(body));
    if confined {
        Segment::Confined
    } else {
        Segment::Last
    }
}

/// A name on the taint's way to a file call was checked before the call: converted with
/// `int(name)` (an int-shaped string has no `/`), confined with `name.relative_to(base)`
/// / `name.is_relative_to(base)` / `os.path.commonpath([.., name])`, or handed first to a
/// validator of this file that rejects path separators (see `separator_validator`).
fn path_checked(facts: &PyFacts, src: &str, taint: &Taint, before: &str) -> bool {
    static FLOW: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"flows into `(\w+)`").expect("static regex"));
    taint
        .trace
        .iter()
        .filter_map(|(_, _, label)| FLOW.captures(label).map(|c| c[1].to_string()))
        .any(|name| {
            let n = regex::escape(&name);
            re::new(&format!(
                r"\bint\(\s*{n}\s*\)|\b{n}\.(?:is_)?relative_to\(|commonpath\([^\n]*\b{n}\b"
            ))
            .is_ok_and(|re| re.is_match(before))
                || separator_validator(facts, src, &name, before)
        })
}

/// `_validate_filename(filename, ...)` as a statement before the file call, where that
/// function of this file raises when its first parameter contains `/`, `\` or `..`
/// (`if "/" in filename or "\\" in filename: raise ...`): the name reaching the call
/// is one path segment that cannot climb.
fn separator_validator(facts: &PyFacts, src: &str, name: &str, before: &str) -> bool {
    let Ok(call) = re::new(&format!(
        r"(?m)^[ \t]*(\w+)\(\s*{}\s*[,)]",
        regex::escape(name)
    )) else {
        return false;
    };
    let validated = call.captures_iter(before).any(|c| {
        facts
            .functions
            .iter()
            .filter(|f| f.name == c[1] && f.class.is_none())
            .any(|f| {
                let Some(param) = f.params.first() else {
                    return false;
                };
                let body = src.get(f.body.0..f.body.1).unwrap_or("");
                let p = regex::escape(&param.name);
                let rejects = re::new(&format!(
                    r#"\bif\b[^\n]*(?:["'](?:/|\\\\|\.\.)["']|os\.sep)\s+in\s+{p}\b[^\n]*:\s*\n?\s*raise\b"#
                ));
                rejects.is_ok_and(|re| re.is_match(body))
            })
    });
    validated
}

/// URL-like field names: what a webhook or callback is stored as.
static URL_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:url|uri|href|endpoint|webhook|callback|target|\w+_(?:url|uri|endpoint)|(?:webhook|callback|hook)_\w+)$")
        .expect("static regex")
});

/// A store of request input under a URL-like field: `Webhook(url=body.url)`,
/// `hook.callback_url = payload.callback_url`.
fn record_stored_urls(
    n: Node<'_>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &taint::Policy,
    stored: &mut HashMap<String, Vec<taint::Step>>,
) {
    let mut store = |field: &str, value: Node<'_>, at: Node<'_>| {
        if !URL_FIELD.is_match(field) || stored.contains_key(field) {
            return;
        }
        if let Some(t) = taint::expr_taint(value, src, env, policy) {
            let mut trace = t.trace;
            trace.push((
                at.start_byte(),
                at.end_byte(),
                format!("stored as `{field}`"),
            ));
            stored.insert(field.to_string(), trace);
        }
    };
    match n.kind() {
        "assignment" => {
            let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            if l.kind() == "attribute" {
                if let Some(a) = l.child_by_field_name("attribute") {
                    store(text(a, src), r, n);
                }
            }
        }
        "call" => {
            let Some(args) = n.child_by_field_name("arguments") else {
                return;
            };
            let mut c = args.walk();
            for a in args.named_children(&mut c) {
                if a.kind() == "keyword_argument" {
                    if let (Some(k), Some(v)) = (
                        a.child_by_field_name("name"),
                        a.child_by_field_name("value"),
                    ) {
                        store(text(k, src), v, a);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Validators a fetch of a stored URL may be guarded by, besides configured sanitizers.
pub(super) static URL_VALIDATOR: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)\b(?:is_safe_url|is_allowed_url|url_is_safe|validate_\w*url\w*|check_\w*url\w*|ensure_\w*url\w*|is_public_\w+|is_private|is_global)\s*\(")
        .expect("static regex")
});

/// SEC022 for URLs read back from storage: an HTTP call anywhere in the module whose URL
/// is `x.<field>` for a field a handler stored from request input.
fn stored_url_fetches(
    ctx: &FileContext<'_>,
    facts: &PyFacts,
    policy: &taint::Policy,
    stored: &HashMap<String, Vec<taint::Step>>,
    reported: &std::collections::HashSet<usize>,
    out: &mut Vec<Hit>,
) {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    visit(root, |n| {
        if n.kind() != "call" || reported.contains(&n.start_byte()) {
            return true;
        }
        let Some(url) = http_url_arg(facts, n, src) else {
            return true;
        };
        let url = crate::checks::py::unwrap_expr(url);
        let field = match url.kind() {
            "attribute" => url.child_by_field_name("attribute").map(|a| text(a, src)),
            _ => None,
        };
        let Some(field) = field else {
            return true;
        };
        let Some(trace) = stored.get(field) else {
            return true;
        };
        // Validated where it is fetched.
        if let Some(f) = facts.function_at(n.start_byte()) {
            let body = src.get(f.body.0..n.start_byte()).unwrap_or("");
            if URL_VALIDATOR.is_match(body) || policy_mentions(policy, body) {
                return true;
            }
        }
        let resolved = n
            .child_by_field_name("function")
            .and_then(|f| facts.resolve(text(f, src)))
            .unwrap_or_default();
        let mut hit = Hit::new(n.start_byte(), n.end_byte())
            .var("callee", resolved.clone())
            .var("arg", text(url, src));
        hit.trace = trace.clone();
        hit.trace.push((
            url.start_byte(),
            url.end_byte(),
            format!("read back from storage and fetched by `{resolved}`"),
        ));
        out.push(hit);
        true
    });
}

fn policy_mentions(policy: &taint::Policy, body: &str) -> bool {
    policy
        .sanitizer_names()
        .any(|s| body.contains(&format!("{s}(")))
}

/// The URL argument of an outbound HTTP call (`requests`, `httpx`, `aiohttp`, `urllib`).
fn http_url_arg<'t>(facts: &PyFacts, call: Node<'t>, src: &str) -> Option<Node<'t>> {
    static HTTP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:requests|httpx|aiohttp)\.(?:[\w.]*\.)?(?:get|post|put|patch|delete|head|options|request|stream)$|^urllib\.request\.(?:urlopen|Request)$|^urllib3\.\w+$")
            .expect("static regex")
    });
    let func = call.child_by_field_name("function")?;
    let args = call.child_by_field_name("arguments")?;
    let callee = text(func, src);
    let resolved = facts.resolve(callee)?;
    if !HTTP.is_match(&resolved) {
        return None;
    }
    let method = callee.rsplit('.').next().unwrap_or(callee);
    let pos = if method == "request" { 1 } else { 0 };
    keyword_arg(args, "url", src).or_else(|| positional_arg(args, pos))
}

fn first_arg(args: Node<'_>) -> Option<Node<'_>> {
    positional_arg(args, 0)
}

pub(super) fn sink<'t>(
    facts: &PyFacts,
    call: Node<'t>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &taint::Policy,
    kind: Kind,
) -> Option<(Node<'t>, String, Taint)> {
    let func = call.child_by_field_name("function")?;
    let args = call.child_by_field_name("arguments")?;
    let callee = text(func, src);
    let method = callee.rsplit('.').next().unwrap_or(callee);
    let resolved = facts.resolve(callee).unwrap_or_default();
    let tainted = |n: Node<'t>| taint::expr_taint(n, src, env, policy).map(|t| (n, t));
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
            let url = http_url_arg(facts, call, src)?;
            // A fixed scheme and host with user input only in the path is not SSRF.
            static FIXED_HOST: LazyLock<Regex> = LazyLock::new(|| {
                re::new(r#"^[rbfuRBFU]*["'](?:https?://[^/{"']+[/?]|\{(?:[A-Z][A-Z0-9_]*|(?:settings|config|self)\.\w+)\}/)"#)
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
                re::new(r"^(?:open|io\.open|os\.open|os\.remove|os\.unlink|os\.rmdir|os\.removedirs|os\.rename|os\.listdir|shutil\.(?:copy|copy2|copyfile|copytree|move|rmtree|chown|make_archive|unpack_archive)|flask\.send_file|fastapi\.responses\.FileResponse|starlette\.responses\.FileResponse|aiofiles\.open)$")
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

/// Start bytes of the calls SEC020 reports, so that SEC027 leaves them to it.
pub(crate) fn sql_sink_calls(ctx: &FileContext<'_>) -> std::collections::HashSet<usize> {
    let mut hits = Vec::new();
    scan(ctx, Kind::Sql, &mut hits);
    hits.into_iter().map(|h| h.start).collect()
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
        re::new(r"(?:\.resolve|\.absolute|realpath|abspath|normpath)\(").expect("static regex")
    });
    let src = ctx.file.text.as_str();
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call" {
            return true;
        }
        let Some((recv, attr)) = crate::model::facts::python::method_call(n) else {
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
        let fn_start = crate::checks::py::facts(ctx)
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
    let Some(facts) = crate::checks::py::facts(ctx) else {
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
