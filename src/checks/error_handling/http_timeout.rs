//! ERR001: outbound HTTP calls that can wait forever (`requests` and `urlopen` without a
//! timeout, any client given `timeout=None`), with the confidence their context gives:
//! low in a data-source connector, whose calls run the user's queries under the host
//! application's own query time limit, and in a command-line program. Calls on a `requests.Session` the file creates (a
//! module name, a class attribute, `self.x`, a local, `with ... as s`) count as `requests`
//! calls; a name bound to anything else as well (an aiohttp session, a parameter) does not.

use crate::checks::py::{call_parts, keyword_arg, positional_arg, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

const REQUESTS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request",
];
const HTTPX: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "stream",
    "Client",
    "AsyncClient",
];

/// Which library a resolved callee belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Lib {
    /// `requests`: no timeout by default.
    Requests,
    /// `urllib.request.urlopen`: the socket default, none unless a process sets one.
    Urlopen,
    /// `httpx`: 5 seconds by default; only `timeout=None` waits forever.
    Httpx,
}

fn library(q: &str) -> Option<Lib> {
    if q == "urllib.request.urlopen" {
        return Some(Lib::Urlopen);
    }
    let in_list = |prefix: &str, names: &[&str]| {
        q.strip_prefix(prefix)
            .is_some_and(|rest| names.contains(&rest))
    };
    if in_list("requests.", REQUESTS) || in_list("requests.api.", REQUESTS) {
        return Some(Lib::Requests);
    }
    if in_list("httpx.", HTTPX) {
        return Some(Lib::Httpx);
    }
    None
}

/// What the call says about its timeout.
enum Timeout<'s> {
    Given(&'s str),
    Absent,
    /// `**kwargs` may carry one.
    Unknown,
}

fn timeout_of<'s>(args: Node<'_>, src: &'s str) -> Timeout<'s> {
    if let Some(v) = keyword_arg(args, "timeout", src) {
        return Timeout::Given(text(v, src));
    }
    if has_kind(args, "dictionary_splat") {
        Timeout::Unknown
    } else {
        Timeout::Absent
    }
}

/// An argument of this kind (`list_splat` for `*args`, `dictionary_splat` for `**kwargs`).
fn has_kind(args: Node<'_>, kind: &str) -> bool {
    let mut c = args.walk();
    let found = args.named_children(&mut c).any(|a| a.kind() == kind);
    found
}

/// ERR001: `requests.*` and `urllib.request.urlopen` without a timeout, and any of them or
/// an `httpx` function or client given `timeout=None`.
pub fn http_call_without_timeout(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let mut connector: Option<bool> = None;
    let mut sessions: Option<Sessions> = None;
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call" {
            return true;
        }
        // A callee that is itself a call or a subscript (`f(1)(1)`, `handlers[k](..)`) is not
        // a library function; checking the kind first keeps deep chains linear.
        if !n
            .child_by_field_name("function")
            .is_some_and(|f| matches!(f.kind(), "identifier" | "attribute"))
        {
            return true;
        }
        let Some((callee, _, args)) = call_parts(n, src) else {
            return true;
        };
        if callee.len() > 256 {
            return true;
        }
        let lib = match facts.resolve(callee).as_deref().and_then(library) {
            Some(lib) => lib,
            None if sessions
                .get_or_insert_with(|| Sessions::collect(ctx.tree.root_node(), facts, src))
                .called_on(n, facts, src) =>
            {
                Lib::Requests
            }
            None => return true,
        };
        let forever = match timeout_of(args, src) {
            Timeout::Given(v) => waits_forever(v),
            Timeout::Unknown => false,
            Timeout::Absent => {
                let missing = match lib {
                    Lib::Httpx => false,
                    Lib::Requests => true,
                    // `urlopen(url, data, 10)`; `data:` and `file:` URLs never touch the
                    // network.
                    Lib::Urlopen => {
                        positional_arg(args, 2).is_none()
                            && !has_kind(args, "list_splat")
                            && !local_url(text(args, src))
                    }
                };
                missing && !probes_localhost(n, facts, src)
            }
        };
        if forever && crate::checks::py::in_main_guard(n, src) {
            return true;
        }
        ctx.examined(!forever);
        if !forever {
            return true;
        }
        let mut hit = Hit::new(n.start_byte(), n.end_byte()).var("callee", callee);
        // A data-source connector, or a command-line program: the user at the terminal
        // owns the wait and can interrupt it.
        // So does a maintainer's script whose file name is no module name
        // (`update-data.py`: it can only be run, never imported), and a command of the
        // service's command-line group (`@cli.command("perf-test")`).
        if *connector.get_or_insert_with(|| {
            data_source_connector(src)
                || crate::checks::py::is_command_line_module(facts)
                || !importable(&ctx.file.rel)
        }) || in_cli_command(facts, n.start_byte())
        {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
        true
    });
}

/// The file's name is a Python module name (`update_data.py`, not `update-data.py`).
fn importable(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem = name.strip_suffix(".py").unwrap_or(name);
    stem.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Inside a function (or a function nested in one) decorated as a command of a
/// command-line group: `@click.command()`, `@cli.command("perf-test")`, `@app.command()`,
/// or as a task of a task runner an administrator starts from a shell (`@task` of invoke or
/// fabric: `invoke load-fixtures`).
fn in_cli_command(facts: &PyFacts, at: usize) -> bool {
    facts
        .functions
        .iter()
        .filter(|f| f.start <= at && at <= f.end)
        .any(|f| {
            f.decorators.iter().any(|d| {
                d.callee == "command"
                    || d.callee.ends_with(".command")
                    || facts.resolve(&d.callee).is_some_and(|r| {
                        matches!(
                            r.as_str(),
                            "invoke.task"
                                | "invoke.tasks.task"
                                | "fabric.task"
                                | "fabric.api.task"
                                | "fabric.tasks.task"
                        )
                    })
            })
        })
}

/// `None`, `httpx.Timeout(None)`, `Timeout(timeout=None)`.
fn waits_forever(v: &str) -> bool {
    static NONE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(None|(httpx\.)?Timeout\(\s*(timeout\s*=\s*)?None\s*\))$").expect("static regex")
    });
    NONE.is_match(v.trim())
}

fn local_url(args: &str) -> bool {
    static LOCAL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r#"^\(\s*[rRbBuUfF]*["'](?:data|file):"#).expect("static regex"));
    LOCAL.is_match(args)
}

/// The enclosing function (at module level: the file) names a `localhost` URL: a health
/// probe of this container's own server, killed by the runtime after its own timeout.
fn probes_localhost(call: Node<'_>, facts: &PyFacts, src: &str) -> bool {
    static LOCALHOST: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)://(localhost|127\.0\.0\.1|\[::1\])[:/"'{]"#).expect("static regex")
    });
    let (start, end) = facts
        .function_at(call.start_byte())
        .map_or((0, src.len()), |f| (f.start, f.end));
    let before = src.get(start..call.start_byte()).unwrap_or("");
    let after = src.get(call.end_byte()..end).unwrap_or("");
    LOCALHOST.is_match(before) || LOCALHOST.is_match(after)
}

/// The file implements a data-source connector: a class with the query-runner methods
/// (`def run_query(self, ..)`, `def test_connection(self)`). Its HTTP calls are the user's
/// queries against their own data source, legitimately long, and the host application
/// bounds them with its query time limit and job timeouts; connection tests and schema
/// refreshes run as jobs with their own deadlines.
fn data_source_connector(src: &str) -> bool {
    static RUNNER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^[ \t]+def (run_query|test_connection)\(\s*self\b").expect("static regex")
    });
    RUNNER.is_match(src)
}

const SESSION_CLASSES: &[&str] = &[
    "requests.Session",
    "requests.session",
    "requests.sessions.Session",
];

/// Where a name is bound: the module, a function (by its start byte), or a class (its
/// attributes, read as `self.x`, `cls.x` or `Class.x`).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Scope {
    Module,
    Function(usize),
    Class(String),
}

/// The names this file binds to a `requests.Session()`: `true` when every binding of the
/// name in its scope is a session, `false` when any is something else (an aiohttp
/// session, an httpx client, a parameter), so a name that is only sometimes a session
/// stays silent. `None` bindings (`self.session = None` before it is opened) say nothing.
struct Sessions {
    names: HashMap<(Scope, String), bool>,
}

impl Sessions {
    fn collect(root: Node<'_>, facts: &PyFacts, src: &str) -> Self {
        let mut s = Sessions {
            names: HashMap::new(),
        };
        // A session given default timeouts by a mounted adapter or a wrapped `request`
        // cannot be judged call by call.
        static DEFAULT_TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r"(?i)class \w+\([^)]*HTTPAdapter|timeout\w*adapter|adapter\w*timeout|partial\([^)]*\.request\b")
                .expect("static regex")
        });
        if !src.contains("Session") && !src.contains("session(") || DEFAULT_TIMEOUT.is_match(src) {
            return s;
        }
        for f in &facts.functions {
            for p in &f.params {
                if matches!(p.name.as_str(), "self" | "cls") {
                    continue;
                }
                let session = p
                    .annotation
                    .as_deref()
                    .and_then(|a| facts.resolve(a))
                    .is_some_and(|q| SESSION_CLASSES.contains(&q.as_str()));
                s.bind(
                    Scope::Function(f.start),
                    p.name.trim_start_matches('*'),
                    session,
                );
            }
        }
        // Assignments first, then `with X as name` (X may be a name bound above).
        let mut withs = Vec::new();
        visit(root, |n| {
            match n.kind() {
                "assignment" => {
                    if let (Some(l), Some(r)) = (
                        n.child_by_field_name("left"),
                        n.child_by_field_name("right"),
                    ) {
                        let r = crate::checks::py::unparen(r);
                        if text(r, src) != "None" {
                            let session = constructs_session(r, facts, src);
                            if let Some((scope, key)) = binding_key(l, n, facts, src) {
                                s.bind(scope, &key, session);
                            }
                        }
                    }
                }
                "as_pattern" if n.parent().is_some_and(|p| p.kind() == "with_item") => {
                    withs.push(n);
                }
                _ => {}
            }
            true
        });
        for n in withs {
            let (Some(value), Some(alias)) = (n.named_child(0), n.child_by_field_name("alias"))
            else {
                continue;
            };
            let Some(target) = alias.named_child(0).filter(|t| t.kind() == "identifier") else {
                continue;
            };
            let session = constructs_session(value, facts, src) || s.is_session(value, facts, src);
            if let Some((scope, key)) = binding_key(target, n, facts, src) {
                s.bind(scope, &key, session);
            }
        }
        s
    }

    fn bind(&mut self, scope: Scope, name: &str, session: bool) {
        self.names
            .entry((scope, name.to_string()))
            .and_modify(|v| *v &= session)
            .or_insert(session);
    }

    /// `X.get(..)` (any `requests` verb) where `X` is a session name here.
    fn called_on(&self, call: Node<'_>, facts: &PyFacts, src: &str) -> bool {
        if self.names.is_empty() {
            return false;
        }
        let Some(func) = call
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
        else {
            return false;
        };
        let (Some(obj), Some(attr)) = (
            func.child_by_field_name("object"),
            func.child_by_field_name("attribute"),
        ) else {
            return false;
        };
        REQUESTS.contains(&text(attr, src)) && self.is_session(obj, facts, src)
    }

    /// The expression names a session: the innermost scope that binds it decides.
    fn is_session(&self, expr: Node<'_>, facts: &PyFacts, src: &str) -> bool {
        let at = expr.start_byte();
        match expr.kind() {
            "identifier" => {
                let name = text(expr, src).to_string();
                let mut fs: Vec<_> = facts
                    .functions
                    .iter()
                    .filter(|f| f.body.0 <= at && at <= f.end)
                    .collect();
                fs.sort_by_key(|f| std::cmp::Reverse(f.start));
                fs.iter()
                    .map(|f| Scope::Function(f.start))
                    .chain([Scope::Module])
                    .find_map(|scope| self.names.get(&(scope, name.clone())).copied())
                    .unwrap_or(false)
            }
            "attribute" => {
                let (Some(obj), Some(attr)) = (
                    expr.child_by_field_name("object"),
                    expr.child_by_field_name("attribute"),
                ) else {
                    return false;
                };
                if obj.kind() != "identifier" {
                    return false;
                }
                let class = match text(obj, src) {
                    "self" | "cls" => facts
                        .functions
                        .iter()
                        .filter(|f| f.body.0 <= at && at <= f.end)
                        .max_by_key(|f| f.start)
                        .and_then(|f| f.class.clone()),
                    other => facts
                        .classes
                        .iter()
                        .any(|c| c.name == other)
                        .then(|| other.to_string()),
                };
                class.is_some_and(|c| {
                    self.names
                        .get(&(Scope::Class(c), text(attr, src).to_string()))
                        .copied()
                        .unwrap_or(false)
                })
            }
            _ => false,
        }
    }
}

/// `requests.Session()` (through imports: `from requests import Session`).
fn constructs_session(value: Node<'_>, facts: &PyFacts, src: &str) -> bool {
    value.kind() == "call"
        && value
            .child_by_field_name("function")
            .and_then(|f| facts.resolve(text(f, src)))
            .is_some_and(|q| SESSION_CLASSES.contains(&q.as_str()))
}

/// The scope and key a binding target names: `name` in its function (or the module, or a
/// class body: a class attribute), `self.x`/`cls.x` in the method's class.
fn binding_key(
    target: Node<'_>,
    stmt: Node<'_>,
    facts: &PyFacts,
    src: &str,
) -> Option<(Scope, String)> {
    let at = stmt.start_byte();
    let func = facts
        .functions
        .iter()
        .filter(|f| f.body.0 <= at && at <= f.end)
        .max_by_key(|f| f.start);
    match target.kind() {
        "identifier" => {
            let name = text(target, src).to_string();
            // A statement directly in a class body binds a class attribute.
            let class_body = stmt
                .parent()
                .and_then(|p| p.parent())
                .and_then(|p| p.parent())
                .filter(|c| c.kind() == "class_definition")
                .and_then(|c| c.child_by_field_name("name"))
                .map(|c| text(c, src).to_string());
            if let Some(class) = class_body {
                return Some((Scope::Class(class), name));
            }
            Some((
                func.map_or(Scope::Module, |f| Scope::Function(f.start)),
                name,
            ))
        }
        "attribute" => {
            let obj = target.child_by_field_name("object")?;
            let attr = target.child_by_field_name("attribute")?;
            if !matches!(text(obj, src), "self" | "cls") {
                return None;
            }
            Some((
                Scope::Class(func?.class.clone()?),
                text(attr, src).to_string(),
            ))
        }
        _ => None,
    }
}
