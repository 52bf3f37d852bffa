//! ERR001: outbound HTTP calls that can wait forever (`requests` and `urlopen` without a
//! timeout, any client given `timeout=None`), with the confidence their context gives:
//! low in a data-source connector, whose calls run the user's queries under the host
//! application's own query time limit.

use crate::checks::py::{call_parts, keyword_arg, positional_arg, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use regex::Regex;
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
        let Some(lib) = facts.resolve(callee).as_deref().and_then(library) else {
            return true;
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
        if *connector.get_or_insert_with(|| data_source_connector(src)) {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
        true
    });
}

/// `None`, `httpx.Timeout(None)`, `Timeout(timeout=None)`.
fn waits_forever(v: &str) -> bool {
    static NONE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(None|(httpx\.)?Timeout\(\s*(timeout\s*=\s*)?None\s*\))$")
            .expect("static regex")
    });
    NONE.is_match(v.trim())
}

fn local_url(args: &str) -> bool {
    static LOCAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\(\s*[rRbBuUfF]*["'](?:data|file):"#).expect("static regex")
    });
    LOCAL.is_match(args)
}

/// The enclosing function (at module level: the file) names a `localhost` URL: a health
/// probe of this container's own server, killed by the runtime after its own timeout.
fn probes_localhost(call: Node<'_>, facts: &PyFacts, src: &str) -> bool {
    static LOCALHOST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)://(localhost|127\.0\.0\.1|\[::1\])[:/"'{]"#).expect("static regex")
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
        Regex::new(r"(?m)^[ \t]+def (run_query|test_connection)\(\s*self\b").expect("static regex")
    });
    RUNNER.is_match(src)
}
