//! SEC028: CORS in Python web apps that trusts every origin and allows credentials.
//!
//! Shapes: FastAPI/Starlette `CORSMiddleware` (`app.add_middleware(CORSMiddleware, ...)`,
//! `Middleware(CORSMiddleware, ...)`) with `allow_origins` containing `"*"` (written there or
//! in the value a name is assigned, e.g. an environment variable that defaults to `"*"`) or an
//! `allow_origin_regex` that matches anything, together with `allow_credentials=True`;
//! flask-cors `CORS(app, ...)`/`@cross_origin(...)` with `supports_credentials=True` and the
//! default or a wildcard origin; django-cors-headers settings `CORS_ALLOW_ALL_ORIGINS = True`
//! (or `CORS_ORIGIN_ALLOW_ALL`, or a match-all origin regex) with `CORS_ALLOW_CREDENTIALS =
//! True`; and a handler that copies the request's `Origin` header into
//! `Access-Control-Allow-Origin` in a file that sends `Access-Control-Allow-Credentials`.

use crate::checks::py::{facts, keyword_arg, module_assignments, node_at, positional_arg, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{string_value, text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// How sure we are the origin is a wildcard.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wild {
    /// Written as `"*"` where the middleware is configured.
    Literal,
    /// A default (an unset environment variable) or a value built elsewhere.
    Default,
}

static ANY_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^\^?(?:\(?\.[*+]\)?|\*|https?\??://\.[*+]|\(https?\|https\)://\.[*+])\$?$")
        .expect("static regex")
});

static STAR: LazyLock<Regex> =
    LazyLock::new(|| re::new(r#"(?:^|[^\w])[rbu]?["']\*["']"#).expect("static regex"));

pub fn cors_wildcard_with_credentials(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    visit(root, |n| {
        if n.kind() == "call" {
            if let Some(hit) = middleware(facts, root, n, src) {
                out.push(hit);
            }
        }
        true
    });
    django_settings(root, src, out);
    reflected_origin(facts, root, src, out);
}

fn middleware(facts: &PyFacts, root: Node<'_>, call: Node<'_>, src: &str) -> Option<Hit> {
    let func = call.child_by_field_name("function")?;
    let args = call.child_by_field_name("arguments")?;
    let callee = text(func, src);
    let last = callee.rsplit('.').next().unwrap_or(callee);
    let first = positional_arg(args, 0).map_or("", |a| text(a, src));
    let starlette = last == "CORSMiddleware"
        || (matches!(last, "add_middleware" | "Middleware") && first.ends_with("CORSMiddleware"));
    let resolved = facts.resolve(callee).unwrap_or_default();
    let flask = resolved.starts_with("flask_cors.") && matches!(last, "CORS" | "cross_origin");
    let (wild, creds) = if starlette {
        let mut wild =
            keyword_arg(args, "allow_origins", src).and_then(|o| wildcard(facts, root, o, src, 0));
        if wild.is_none() {
            wild = keyword_arg(args, "allow_origin_regex", src).and_then(|r| {
                let v = string_value(r, src)?;
                ANY_REGEX.is_match(&v).then_some(Wild::Literal)
            });
        }
        (wild, keyword_arg(args, "allow_credentials", src))
    } else if flask {
        let wild = match keyword_arg(args, "origins", src) {
            Some(o) => wildcard(facts, root, o, src, 0),
            None => match keyword_arg(args, "resources", src) {
                // The default for every resource is `*`.
                None => Some(Wild::Literal),
                Some(r) => {
                    let t = text(r, src);
                    (r.kind() == "dictionary" && (!t.contains("origins") || STAR.is_match(t)))
                        .then_some(Wild::Literal)
                }
            },
        };
        (wild, keyword_arg(args, "supports_credentials", src))
    } else {
        return None;
    };
    let wild = wild?;
    if !is_true(root, creds?, src) {
        return None;
    }
    let mut hit = Hit::new(call.start_byte(), call.end_byte()).var(
        "origin",
        if wild == Wild::Literal {
            "every origin".to_string()
        } else {
            "every origin when the configured list is unset".to_string()
        },
    );
    if wild == Wild::Default {
        hit = hit.confidence(Confidence::Medium);
    }
    Some(hit)
}

fn is_true(root: Node<'_>, v: Node<'_>, src: &str) -> bool {
    match v.kind() {
        "true" => true,
        "identifier" => {
            let name = text(v, src);
            module_assignments(root, src)
                .iter()
                .any(|(_, n, val)| *n == name && val.kind() == "true")
        }
        _ => false,
    }
}

/// Whether an origin list is, or may default to, `"*"`.
fn wildcard(facts: &PyFacts, root: Node<'_>, v: Node<'_>, src: &str, depth: usize) -> Option<Wild> {
    if depth > 3 {
        return None;
    }
    match v.kind() {
        "string" => (string_value(v, src).as_deref() == Some("*")).then_some(Wild::Literal),
        "list" | "tuple" | "set" => {
            let mut c = v.walk();
            let star = v
                .named_children(&mut c)
                .any(|e| e.kind() == "string" && string_value(e, src).as_deref() == Some("*"));
            star.then_some(Wild::Literal)
        }
        "identifier" => {
            let name = text(v, src);
            let scope = facts
                .function_at(v.start_byte())
                .and_then(|f| node_at(root, f.body.0, f.body.1));
            let mut values = Vec::new();
            if let Some(scope) = scope {
                crate::checks::py::visit_same_scope(scope, |n| {
                    if let Some((l, r)) = crate::checks::py::name_assignment(n, src) {
                        if l == name {
                            values.push(r);
                        }
                    }
                });
            }
            if values.is_empty() {
                values = module_assignments(root, src)
                    .into_iter()
                    .filter(|(_, n, _)| *n == name)
                    .map(|(_, _, v)| v)
                    .collect();
            }
            values
                .into_iter()
                .find_map(|val| wildcard(facts, root, val, src, depth + 1).map(|_| Wild::Default))
        }
        "attribute" | "subscript" => None,
        _ => {
            // `os.getenv("ORIGINS", "*").split(",")`, a comprehension over such a value.
            if STAR.is_match(text(v, src)) {
                return Some(Wild::Default);
            }
            // A comprehension or call over a name that may be `*`.
            let mut found = None;
            visit(v, |c| {
                if found.is_some() {
                    return false;
                }
                if c.kind() == "identifier" && c != v {
                    let is_attr = c.parent().is_some_and(|p| {
                        p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(c)
                    });
                    if !is_attr {
                        found = wildcard(facts, root, c, src, depth + 1);
                    }
                }
                true
            });
            found.map(|_| Wild::Default)
        }
    }
}

/// django-cors-headers settings.
fn django_settings(root: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let assigns = module_assignments(root, src);
    let creds = assigns
        .iter()
        .any(|(_, n, v)| *n == "CORS_ALLOW_CREDENTIALS" && v.kind() == "true");
    if !creds {
        return;
    }
    for (a, n, v) in &assigns {
        let all =
            matches!(*n, "CORS_ALLOW_ALL_ORIGINS" | "CORS_ORIGIN_ALLOW_ALL") && v.kind() == "true";
        let regex = matches!(
            *n,
            "CORS_ALLOWED_ORIGIN_REGEXES" | "CORS_ORIGIN_REGEX_WHITELIST"
        ) && {
            let mut c = v.walk();
            let any = v
                .named_children(&mut c)
                .any(|e| string_value(e, src).is_some_and(|s| ANY_REGEX.is_match(&s)));
            any
        };
        if all || regex {
            out.push(Hit::new(a.start_byte(), a.end_byte()).var("origin", "every origin"));
        }
    }
}

/// `response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin")`.
fn reflected_origin(facts: &PyFacts, root: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    static CREDS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)access-control-allow-credentials["']\s*[\]:,]\s*=?\s*["']?true|supports_credentials\s*=\s*True|allow_credentials\s*=\s*True"#)
            .expect("static regex")
    });
    static ORIGIN_READ: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)headers\.get\(\s*["']origin["']|headers\[\s*["']origin["']\s*\]|["']HTTP_ORIGIN["']"#)
            .expect("static regex")
    });
    if !CREDS.is_match(src) || !ORIGIN_READ.is_match(src) {
        return;
    }
    visit(root, |n| {
        let value = match n.kind() {
            "assignment" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return true;
                };
                let key = l.child_by_field_name("subscript");
                if l.kind() != "subscript"
                    || !key.is_some_and(|k| {
                        string_value(k, src)
                            .is_some_and(|s| s.eq_ignore_ascii_case("access-control-allow-origin"))
                    })
                {
                    return true;
                }
                r
            }
            "pair" => {
                let (Some(k), Some(v)) =
                    (n.child_by_field_name("key"), n.child_by_field_name("value"))
                else {
                    return true;
                };
                if !string_value(k, src)
                    .is_some_and(|s| s.eq_ignore_ascii_case("access-control-allow-origin"))
                {
                    return true;
                }
                v
            }
            _ => return true,
        };
        let f = facts.function_at(n.start_byte());
        let body = f.map_or("", |f| src.get(f.body.0..f.body.1).unwrap_or(""));
        let vt = text(value, src);
        let reflected = ORIGIN_READ.is_match(vt)
            || (value.kind() == "identifier" && {
                let name = regex::escape(vt);
                re::new(&format!(r"(?m)^\s*{name}\s*=\s*[^\n]*"))
                    .ok()
                    .and_then(|re| re.find(body))
                    .is_some_and(|m| ORIGIN_READ.is_match(m.as_str()))
            });
        // An allow-list check on the origin.
        let checked = re::new(
            r"(?i)\borigin\w*\s+(?:not\s+)?in\b|\borigin\w*\s*(?:==|!=)|fullmatch|\.match\(",
        )
        .is_ok_and(|re| re.is_match(body));
        if reflected && !checked {
            out.push(
                Hit::new(n.start_byte(), n.end_byte()).var("origin", "the request's own Origin"),
            );
        }
        true
    });
}
