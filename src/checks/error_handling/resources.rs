//! Error-handling checks over Python (and, for Redis `KEYS`, Rust) code: commands that
//! block a shared server, caches that only grow, retry loops that never give up,
//! per-request client pools and unbounded reads on request paths.

use crate::checks::py::{
    body_node, call_parts, node_at, positional_arg, receiver, request_path_functions, snippet,
    visit, visit_same_scope,
};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{string_value, text, Param, PyFacts, PyFunction};
use crate::source::lang::Lang;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tree_sitter::Node;

fn re(pattern: &str) -> Regex {
    re::new(pattern).expect("static regex")
}

// ---------------------------------------------------------------------------------------
// ERR006 Redis KEYS

const REDIS_PACKAGES: &[&str] = &[
    "redis",
    "aioredis",
    "coredis",
    "fakeredis",
    "rediscluster",
    "walrus",
    "django_redis",
];

static REDISH_RECEIVER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(redis|^r$|^rds$|^rdb$|^rc$|^red$|^valkey)"));

/// ERR006: Redis `KEYS` (Python `r.keys("x:*")`, `execute_command("KEYS", ..)`; Rust
/// `redis::cmd("KEYS")`, `con.keys(pattern)`).
pub fn redis_keys(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    match ctx.file.lang {
        Lang::Python => redis_keys_py(ctx, out),
        Lang::Rust => redis_keys_rust(ctx, out),
        _ => {}
    }
}

fn redis_keys_py(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let imports_redis = REDIS_PACKAGES.iter().any(|p| facts.imports_package(p));
    visit(ctx.tree.root_node(), |n| {
        let Some((_, last, args)) = call_parts(n, src) else {
            return true;
        };
        let Some(recv) = receiver(n, src) else {
            return true;
        };
        let recv_last = recv.rsplit('.').next().unwrap_or(recv);
        let redisy = REDISH_RECEIVER.is_match(recv_last) && !recv_last.contains('(');
        let nargs = args.named_child_count();
        let hit = match last {
            // `dict.keys()` takes no argument: `x.keys(pattern)` is a store's KEYS.
            "keys" if nargs >= 1 => {
                imports_redis
                    && positional_arg(args, 0)
                        .is_some_and(|a| a.kind() != "string" || pattern_like(a, src))
                    || redisy && recv_last.to_ascii_lowercase().contains("redis")
            }
            "keys" => imports_redis && redisy,
            "execute_command" => {
                (imports_redis || redisy)
                    && positional_arg(args, 0)
                        .and_then(|a| string_value(a, src))
                        .is_some_and(|s| s.eq_ignore_ascii_case("keys"))
            }
            _ => false,
        };
        if hit {
            let pattern = positional_arg(args, 0)
                .map_or_else(|| "*".to_string(), |a| text(a, src).to_string());
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("call", text(n, src))
                    .var("pattern", pattern),
            );
        }
        true
    });
}

/// A string argument that is a glob pattern (a literal key name is still `KEYS`, but a
/// cheap one; `keys("user:*")` is the outage).
fn pattern_like(a: Node<'_>, src: &str) -> bool {
    string_value(a, src).is_some_and(|s| s.contains(['*', '?', '[', '{']))
}

fn redis_keys_rust(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    let uses_redis = src.contains("redis::") || src.contains("use redis");
    if !uses_redis {
        return;
    }
    static KEYS_METHOD: LazyLock<Regex> = LazyLock::new(|| re(r"\.keys\s*(::\s*<.*>)?$"));
    static CMD: LazyLock<Regex> = LazyLock::new(|| re(r"(^|::)cmd$"));
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call_expression" {
            return true;
        }
        let (Some(func), Some(args)) = (
            n.child_by_field_name("function"),
            n.child_by_field_name("arguments"),
        ) else {
            return true;
        };
        let f = text(func, src);
        let first = args.named_child(0);
        let hit = if CMD.is_match(f) {
            first.is_some_and(|a| {
                a.kind() == "string_literal"
                    && text(a, src).trim_matches('"').eq_ignore_ascii_case("keys")
            })
        } else {
            KEYS_METHOD.is_match(f) && first.is_some()
        };
        if hit {
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("call", text(n, src))
                    .var("pattern", first.map_or("*", |a| text(a, src))),
            );
        }
        true
    });
}

// ---------------------------------------------------------------------------------------
// ERR008 unbounded in-memory caches

/// ERR008: a module-level (or class-level) dict/list/set that only grows. In a file with
/// routes: written by a request handler (or a helper it calls). In any module: a memo cache
/// (written with a key derived from the function's arguments, nested `C[k][k2] = v` and
/// `setdefault` too, and read in the same function) with no eviction anywhere in the file.
/// `@cache`/`lru_cache(maxsize=None)` on a function a handler calls with request-derived
/// arguments, or whose arguments name per-user/per-request values.
pub fn unbounded_cache(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let containers = module_containers(root, src);
    let class_containers = class_containers(root, src);
    let mut reported = HashSet::new();
    if !facts.routes.is_empty() {
        request_path_caches(ctx, facts, &containers, &mut reported, out);
    }
    let service = service_module(ctx, facts);
    for f in &facts.functions {
        let scope = MemoScope {
            root,
            src,
            containers: &containers,
            class_containers: &class_containers,
            service,
        };
        memo_caches(f, &scope, &mut reported, out);
    }
    unbounded_memo_functions(ctx, facts, out);
}

/// Containers a route handler (or a module function it calls) grows.
fn request_path_caches(
    ctx: &FileContext<'_>,
    facts: &PyFacts,
    containers: &HashMap<String, usize>,
    reported: &mut HashSet<String>,
    out: &mut Vec<Hit>,
) {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    for (fi, route, _) in &request_path_functions(ctx, facts) {
        let Some(f) = facts.functions.get(*fi) else {
            continue;
        };
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let locals: HashSet<String> = f.params.iter().map(|p| p.name.clone()).collect();
        visit_same_scope(body, |n| {
            let Some((name, how)) = container_write(n, src) else {
                return;
            };
            if locals.contains(name) || !containers.contains_key(name) {
                return;
            }
            if reported.contains(name) || has_eviction(src, name, false) {
                return;
            }
            reported.insert(name.to_string());
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("name", name)
                    .var("how", how)
                    .var("route", format!("serving `{route}`"))
                    .var("function", f.name.clone()),
            );
        });
    }
}

/// A memo cache in any function: `C[key] = v`, `C[key][k2] = v`, `C.setdefault(key, ..)`,
/// `C[key].append(..)` on a module container (or `self.C`/`cls.C` on a class-level one)
/// with a key built from the function's arguments, the container read in the same
/// function (or named as a cache), and nothing in the file that evicts from it.
fn memo_caches(
    f: &PyFunction,
    scope: &MemoScope<'_, '_>,
    reported: &mut HashSet<String>,
    out: &mut Vec<Hit>,
) {
    let MemoScope {
        root,
        src,
        containers,
        class_containers,
        service,
    } = *scope;
    let params: Vec<&Param> = f
        .params
        .iter()
        .filter(|p| !matches!(p.name.as_str(), "self" | "cls"))
        .collect();
    if params.is_empty() {
        return;
    }
    let Some(body) = body_node(root, f) else {
        return;
    };
    let body_text = text(body, src);
    // Only writes to a module or class container count: a body that names none has none.
    if !containers
        .keys()
        .chain(class_containers.keys())
        .any(|c| body_text.contains(c.as_str()))
    {
        return;
    }
    let derived = derived_locals(body, &params, src);
    visit_same_scope(body, |n| {
        let Some(w) = keyed_write(n, src) else {
            return;
        };
        let class_attr = match w.via {
            None => {
                if !containers.contains_key(w.name) || params.iter().any(|p| p.name == w.name) {
                    return;
                }
                false
            }
            Some(via) => {
                let Some(class) = class_containers.get(w.name) else {
                    return;
                };
                let own = f.class.as_deref() == Some(class.as_str());
                if !(own && matches!(via, "self" | "cls")) && via != class {
                    return;
                }
                true
            }
        };
        if reported.contains(w.name) || has_eviction(src, w.name, class_attr) {
            return;
        }
        // The key comes from the arguments (directly or through a local built from them).
        let key_text = text(w.key, src);
        let mut sources: Vec<(&str, Option<&str>, &str)> = Vec::new();
        for p in &params {
            if crate::checks::py::mentions(w.key, &p.name, src) {
                sources.push((&p.name, p.annotation.as_deref(), &p.name));
            }
        }
        for (local, expr) in &derived {
            if crate::checks::py::mentions(w.key, local, src) {
                sources.push((local, None, text(*expr, src)));
            }
        }
        if sources.is_empty() || closed_key(w.key, src, &params, &derived, 0) {
            return;
        }
        if sources
            .iter()
            .all(|(name, ann, _)| closed_param(name, *ann))
        {
            return;
        }
        // A registry stores what it is given (`REGISTRY[name] = func`): not a cache.
        if let Some(v) = w.value {
            if v.kind() == "identifier" && params.iter().any(|p| p.name == text(v, src)) {
                return;
            }
            if matches!(v.kind(), "lambda" | "true" | "false" | "none") {
                return;
            }
        }
        let reads = body_text.matches(w.name).count() >= 2;
        if !reads && !CACHE_NAME.is_match(w.name) {
            return;
        }
        reported.insert(w.name.to_string());
        let entity = std::iter::once(key_text)
            .chain(sources.iter().map(|(_, _, e)| *e))
            .any(|t| ENTITY_KEY.is_match(t));
        let entity = entity && service;
        let shown = if class_attr {
            format!("{}.{}", f.class.as_deref().unwrap_or("cls"), w.name)
        } else {
            w.name.to_string()
        };
        let mut hit = Hit::new(n.start_byte(), n.end_byte())
            .var("name", shown)
            .var(
                "how",
                format!("one entry per distinct `{}`", snippet(key_text)),
            )
            .var("route", "a memo cache of the process")
            .var("function", f.name.clone());
        if !entity {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    });
}

/// What the memo-cache search needs of the file.
struct MemoScope<'t, 'a> {
    root: Node<'t>,
    src: &'a str,
    containers: &'a HashMap<String, usize>,
    class_containers: &'a HashMap<String, String>,
    /// The module belongs to a long-running service (see `service_module`).
    service: bool,
}

/// A module of a long-running service: it imports a web framework, an HTTP client, a
/// database or queue client, or lives under a server/service/api folder. Library code
/// (parsers, math, formatting) keeps process-wide memo tables on purpose.
fn service_module(ctx: &FileContext<'_>, facts: &PyFacts) -> bool {
    const SERVICE_PACKAGES: &[&str] = &[
        "fastapi",
        "flask",
        "django",
        "starlette",
        "aiohttp",
        "tornado",
        "sanic",
        "litestar",
        "requests",
        "httpx",
        "sqlalchemy",
        "sqlmodel",
        "psycopg",
        "psycopg2",
        "asyncpg",
        "pymongo",
        "motor",
        "redis",
        "celery",
        "dramatiq",
        "boto3",
        "grpc",
        "kafka",
        "aiokafka",
        "pika",
        "aio_pika",
    ];
    static SERVICE_PATH: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(^|/)(server|services?|api|backend|handlers|routers|routes|views|endpoints|workers?)(/|\.py$)",
        )
    });
    SERVICE_PACKAGES.iter().any(|p| facts.imports_package(p))
        || SERVICE_PATH.is_match(&ctx.file.rel)
}

/// `@cache`/`@lru_cache(maxsize=None)` on a module function: reported when a route handler
/// of the file calls it with one of its parameters, or when its own parameters name
/// per-user or per-request values (`user_id`, `token`, `email`, `url`...).
fn unbounded_memo_functions(ctx: &FileContext<'_>, facts: &PyFacts, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let handler_params: HashMap<usize, HashSet<&str>> = facts
        .routes
        .iter()
        .filter_map(|r| {
            let f = facts.functions.get(r.function)?;
            Some((
                r.function,
                f.params.iter().map(|p| p.name.as_str()).collect(),
            ))
        })
        .collect();
    for (gi, g) in facts.functions.iter().enumerate() {
        if g.class.is_some() || g.params.is_empty() {
            continue;
        }
        let Some(dec) = g.decorators.iter().find(|d| unbounded_memo(&d.text)) else {
            continue;
        };
        // A handler calling it with one of its own parameters.
        let called = facts.routes.iter().find_map(|r| {
            let h = facts.functions.get(r.function)?;
            if r.function == gi {
                return None;
            }
            let body = body_node(root, h)?;
            let params = handler_params.get(&r.function)?;
            let mut found = None;
            visit_same_scope(body, |n| {
                if found.is_some() {
                    return;
                }
                if let Some((callee, _, args)) = call_parts(n, src) {
                    if callee == g.name
                        && params
                            .iter()
                            .any(|p| crate::checks::py::mentions(args, p, src))
                    {
                        found = Some(r.describe());
                    }
                }
            });
            found
        });
        let route = match called {
            Some(route) => format!("serving `{route}`"),
            None if service_module(ctx, facts)
                && g.params.iter().any(|p| {
                    REQUEST_PARAM.is_match(&p.name)
                        && !closed_param(&p.name, p.annotation.as_deref())
                }) =>
            {
                "memoised per user or request argument".to_string()
            }
            None => continue,
        };
        out.push(
            Hit::new(dec.start, dec.end)
                .var("name", g.name.clone())
                .var(
                    "how",
                    format!(
                        "one memoised result per distinct argument (`@{}`)",
                        dec.text
                    ),
                )
                .var("route", route)
                .var("function", g.name.clone()),
        );
    }
}

/// Names that say "cache": a single write to one of these is enough.
static CACHE_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(cache|memo|_seen$|^seen|lookup|by_)"));

/// Keys that stand for per-user, per-request or per-tenant values: they grow with traffic.
static ENTITY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(^|[^a-z])(ids?|uuid|guid|pk|token|user(name)?|email|url|uri|session|tenant|org(anization)?|project|account|customer|client|ip|addr(ess)?|host|query|sql|prompt|repo|owner|slug|phone|conversation|chat|message|request|req|workspace|team)s?($|[^a-z])",
    )
});

/// Memoised-function parameters that carry per-user/per-request values.
static REQUEST_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(user(_?id|name)?|.*_user_id|account_id|customer_id|tenant_id|org_id|session(_id|_key)?|token|access_token|api_key|email|ip|ip_address|remote_addr|url|request_url|query|prompt)$",
    )
});

/// Parameters whose values come from a closed set (a type, an enum, a flag, a configured
/// name): a cache keyed by them stays small.
fn closed_param(name: &str, annotation: Option<&str>) -> bool {
    static CLOSED_NAME: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)^(cls|klass|typ|type_?|kind|.*_(type|kind|cls|class|enum|mode|level|format|fmt|lang|locale|dialect|func|fn|callback|handler|setting|option|flag)s?|lang(uage)?|locale|mode|level|fmt|format|field|attr|func|fn|f|callback|handler|method|dialect|engine|flag|enabled|setting|option|config|conf|settings|loop|module|model|model_name|config_name|provider|backend|name|size|n|width|height|precision|version|(queue|topic|bucket|table|index|stream|channel|exchange|metric|event|task|actor|job|setting|env)_?names?)$",
        )
    });
    static CLOSED_ANNOTATION: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(^|[^A-Za-z])(bool|type|Type|Literal|Callable)([^A-Za-z]|$)|(Enum|Type|Kind|Mode|Level|Flag)$",
        )
    });
    CLOSED_NAME.is_match(name) || annotation.is_some_and(|a| CLOSED_ANNOTATION.is_match(a.trim()))
}

/// Keys from a closed set: a type or an object's identity (`type(x)`, `id(x)`,
/// `x.__class__`, `cls`), a constant, a parameter that names a kind or setting, or a
/// tuple (or local) made of those only: one entry per class or setting, not per request.
fn closed_key(
    key: Node<'_>,
    src: &str,
    params: &[&Param],
    derived: &[(String, Node<'_>)],
    depth: usize,
) -> bool {
    if depth > 4 {
        return false;
    }
    let t = text(key, src);
    match key.kind() {
        "tuple" | "parenthesized_expression" | "expression_list" => {
            let mut c = key.walk();
            let parts: Vec<Node<'_>> = key
                .named_children(&mut c)
                .filter(|n| n.kind() != "comment")
                .collect();
            !parts.is_empty()
                && parts
                    .iter()
                    .all(|p| closed_key(*p, src, params, derived, depth + 1))
        }
        "string" | "integer" | "float" | "true" | "false" | "none" => true,
        "identifier" => {
            if let Some(p) = params.iter().find(|p| p.name == t) {
                return closed_param(&p.name, p.annotation.as_deref());
            }
            derived
                .iter()
                .find(|(l, _)| l == t)
                .is_some_and(|(_, v)| closed_key(*v, src, params, derived, depth + 1))
                || t == "cls"
        }
        "call" => t.starts_with("type(") || t.starts_with("id("),
        "attribute" => t.ends_with("__class__") || t.ends_with("__name__"),
        _ => false,
    }
}

/// Locals assigned from an expression over the parameters (or over such locals), with
/// that expression: `key = project.id`, `cache_key = f"{user}:{page}"`.
fn derived_locals<'t>(body: Node<'t>, params: &[&Param], src: &str) -> Vec<(String, Node<'t>)> {
    let mut out: Vec<(String, Node<'t>)> = Vec::new();
    for _ in 0..2 {
        visit_same_scope(body, |n| {
            let Some((name, value)) = crate::checks::py::name_assignment(n, src) else {
                return;
            };
            if out.iter().any(|(l, _)| l == name) {
                return;
            }
            let from_param = params
                .iter()
                .any(|p| crate::checks::py::mentions(value, &p.name, src))
                || out
                    .iter()
                    .any(|(l, _)| crate::checks::py::mentions(value, l, src));
            if from_param {
                out.push((name.to_string(), value));
            }
        });
    }
    out
}

/// A keyed write to a container: its name, the receiver when it is an attribute
/// (`self` of `self._cache[k] = v`), the key nearest the container and the stored value.
struct KeyedWrite<'t, 's> {
    name: &'s str,
    via: Option<&'s str>,
    key: Node<'t>,
    value: Option<Node<'t>>,
}

/// `C[k] = v`, `C[k][k2] = v`, `C.setdefault(k, ..)`, `C[k].append(..)` (also with
/// `self.C`/`cls.C`/`Class.C`), the key not a literal.
fn keyed_write<'t, 's>(n: Node<'t>, src: &'s str) -> Option<KeyedWrite<'t, 's>> {
    let (target, key, value) = match n.kind() {
        "assignment" => {
            let l = n.child_by_field_name("left")?;
            if l.kind() != "subscript" {
                return None;
            }
            let (base, key) = innermost_subscript(l)?;
            (base, key, n.child_by_field_name("right"))
        }
        "call" => {
            let (_, last, args) = call_parts(n, src)?;
            let func = n.child_by_field_name("function")?;
            let obj = func.child_by_field_name("object")?;
            match last {
                "setdefault" => (obj, positional_arg(args, 0)?, positional_arg(args, 1)),
                "append" | "add" | "extend" | "update" if obj.kind() == "subscript" => {
                    let (base, key) = innermost_subscript(obj)?;
                    (base, key, None)
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    if matches!(
        key.kind(),
        "string" | "integer" | "float" | "true" | "false" | "none" | "concatenated_string"
    ) {
        return None;
    }
    let (name, via) = match target.kind() {
        "identifier" => (text(target, src), None),
        "attribute" => {
            let obj = target.child_by_field_name("object")?;
            if obj.kind() != "identifier" {
                return None;
            }
            (
                text(target.child_by_field_name("attribute")?, src),
                Some(text(obj, src)),
            )
        }
        _ => return None,
    };
    Some(KeyedWrite {
        name,
        via,
        key,
        value,
    })
}

/// The container and the key nearest to it of `C[k]`, `C[k][k2]`...
fn innermost_subscript(mut s: Node<'_>) -> Option<(Node<'_>, Node<'_>)> {
    for _ in 0..16 {
        let v = s.child_by_field_name("value")?;
        if v.kind() != "subscript" {
            return Some((v, s.child_by_field_name("subscript")?));
        }
        s = v;
    }
    None
}

fn unbounded_memo(decorator: &str) -> bool {
    static MEMO: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^(functools\.)?(cache$|lru_cache\s*\(\s*(maxsize\s*=\s*)?None\s*[,)])")
    });
    MEMO.is_match(decorator.trim())
}

static EMPTY_CONTAINER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(\{\}|\[\]|(dict|list|set|(collections\.)?(defaultdict|OrderedDict|Counter))\([^()]*\))$")
});

/// Module-level `NAME = {}` / `dict()` / `[]` / `set()` / `defaultdict(..)` /
/// `OrderedDict()`, by name.
fn module_containers(root: Node<'_>, src: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (a, name, r) in crate::checks::py::module_assignments(root, src) {
        if EMPTY_CONTAINER.is_match(text(r, src)) {
            out.insert(name.to_string(), a.start_byte());
        }
    }
    out
}

/// Class-level `NAME = {}` (in the body of a module-level class): attribute → class.
fn class_containers(root: Node<'_>, src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut c = root.walk();
    for stmt in root.named_children(&mut c) {
        let class = match stmt.kind() {
            "class_definition" => stmt,
            "decorated_definition" => match stmt.child_by_field_name("definition") {
                Some(d) if d.kind() == "class_definition" => d,
                _ => continue,
            },
            _ => continue,
        };
        let (Some(cname), Some(body)) = (
            class.child_by_field_name("name"),
            class.child_by_field_name("body"),
        ) else {
            continue;
        };
        let mut bc = body.walk();
        for s in body.named_children(&mut bc) {
            let Some(a) = (s.kind() == "expression_statement")
                .then(|| s.named_child(0))
                .flatten()
            else {
                continue;
            };
            if let Some((name, r)) = crate::checks::py::name_assignment(a, src) {
                if EMPTY_CONTAINER.is_match(text(r, src)) {
                    out.insert(name.to_string(), text(cname, src).to_string());
                }
            }
        }
    }
    out
}

/// `NAME[key] = v` (key not a constant), `NAME.append(..)`, `NAME.setdefault(..)`,
/// `NAME.add(..)`: the container's name and what grows it.
fn container_write<'s>(n: Node<'_>, src: &'s str) -> Option<(&'s str, &'static str)> {
    match n.kind() {
        "assignment" => {
            let l = n.child_by_field_name("left")?;
            if l.kind() != "subscript" {
                return None;
            }
            let v = l.child_by_field_name("value")?;
            let key = l.child_by_field_name("subscript")?;
            if v.kind() != "identifier" || matches!(key.kind(), "string" | "integer") {
                return None;
            }
            Some((text(v, src), "one key per distinct value"))
        }
        "call" => {
            let (_, last, _) = call_parts(n, src)?;
            let recv = receiver(n, src)?;
            if !recv.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            match last {
                "append" | "extend" => Some((recv, "one element per call")),
                "setdefault" | "add" => Some((recv, "one entry per distinct value")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether the file ever shrinks or bounds container `name` (a class attribute when
/// `attr`: also through `self.`/`cls.`, and rebinding it on an instance counts).
fn has_eviction(src: &str, name: &str, attr: bool) -> bool {
    let mut patterns = vec![
        format!("del {name}["),
        format!("{name}.pop("),
        format!("{name}.popitem("),
        format!("{name}.clear("),
        format!("{name}.remove("),
        format!("{name}.discard("),
        format!("len({name})"),
        format!("{name}[:]"),
        format!("{name} = "),
    ];
    if attr {
        for via in ["self", "cls"] {
            patterns.push(format!("del {via}.{name}["));
            patterns.push(format!("len({via}.{name})"));
            patterns.push(format!("{via}.{name} = "));
        }
    }
    patterns.iter().any(|p| {
        // `NAME = ` counts only when it rebinds inside a function (indented).
        if p.ends_with(" = ") && !p.contains('.') {
            src.match_indices(p.as_str())
                .any(|(i, _)| i > 0 && src[..i].ends_with([' ', '\t']))
        } else {
            src.contains(p.as_str())
        }
    })
}

// ---------------------------------------------------------------------------------------
// ERR009 unbounded retry loops

static RETRYABLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(^|[.(\s,])(Exception|BaseException|OSError|IOError|\w*(Connection|Connect|Timeout|Request|HTTP|Http|Operational|Redis|Transport|Network|URL|Client|API|Api|RateLimit|Throttl|Service|Unavailable|Database|DB|Socket|Kafka|Broker|Amqp|AMQP)\w*(Error|Exception)|socket\.error|\w*Timeout)($|[.)\s,])",
    )
});
static NOT_RETRY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(InterruptedError|BlockingIOError|KeyboardInterrupt|EINTR|StopIteration|queue\.Empty|\bEmpty\b)",
    )
});

/// ERR009: `while True:` whose `try` exits on success and whose `except` catches a
/// failure and loops again, with no exit anywhere else: the retry never gives up.
pub fn unbounded_retry(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "while_statement" {
            return true;
        }
        let Some(cond) = n.child_by_field_name("condition") else {
            return true;
        };
        if !matches!(text(cond, src), "True" | "1") {
            return true;
        }
        let Some(body) = n.child_by_field_name("body") else {
            return true;
        };
        if let Some(hit) = retry_forever(n, body, src) {
            out.push(hit);
        }
        true
    });
}

fn retry_forever(loop_node: Node<'_>, body: Node<'_>, src: &str) -> Option<Hit> {
    // The `try` directly in the loop body.
    let mut c = body.walk();
    let stmts: Vec<Node<'_>> = body.named_children(&mut c).collect();
    let tries: Vec<Node<'_>> = stmts
        .iter()
        .copied()
        .filter(|s| s.kind() == "try_statement")
        .collect();
    if tries.len() != 1 {
        return None;
    }
    let t = tries[0];
    let t_body = t.child_by_field_name("body")?;
    let mut c = t.walk();
    let clauses: Vec<Node<'_>> = t.named_children(&mut c).collect();
    let else_clause = clauses.iter().find(|c| c.kind() == "else_clause").copied();
    // Success leaves the loop: an unconditional `return`/`break` at the top of the `try`
    // body or its `else` (a conditional one is a server loop's shutdown check).
    let direct_exit = |block: Node<'_>| {
        let mut c = block.walk();
        let found = block.named_children(&mut c).any(|s| {
            matches!(s.kind(), "return_statement" | "break_statement" | "block")
                && (s.kind() != "block" || {
                    let mut c2 = s.walk();
                    let f = s
                        .named_children(&mut c2)
                        .any(|x| matches!(x.kind(), "return_statement" | "break_statement"));
                    f
                })
        });
        found
    };
    let success_exits = direct_exit(t_body) || else_clause.is_some_and(direct_exit);
    if !success_exits {
        return None;
    }
    // Interactive prompts retry on bad input until the user gets it right.
    if text(t_body, src).contains("input(") || text(t_body, src).contains("getpass(") {
        return None;
    }
    let handlers: Vec<Node<'_>> = clauses
        .iter()
        .copied()
        .filter(|c| c.kind() == "except_clause")
        .collect();
    let mut retried = None;
    for h in &handlers {
        let caught = h.child_by_field_name("value").map(|v| text(v, src));
        if caught.is_some_and(|c| NOT_RETRY.is_match(c)) {
            continue;
        }
        let broad = caught.is_none_or(|c| RETRYABLE.is_match(c));
        if broad && !exits(*h, src) {
            retried = Some((*h, caught.unwrap_or("everything").to_string()));
            break;
        }
    }
    let (_, caught) = retried?;
    // Any other way out of the loop (an attempt counter, a deadline) bounds it.
    for s in &stmts {
        if *s != t && exits(*s, src) {
            return None;
        }
    }
    if let Some(f) = clauses.iter().find(|c| c.kind() == "finally_clause") {
        if exits(*f, src) {
            return None;
        }
    }
    let backoff = text(body, src).contains("sleep(");
    let what = if backoff {
        "with no attempt limit or deadline"
    } else {
        "with no attempt limit and no pause between attempts"
    };
    let hit = Hit::new(loop_node.start_byte(), loop_node.end_byte())
        .var("caught", caught)
        .var("what", what);
    // A wait-for-dependency script: the loop runs at module level (no caller to hang) and
    // pauses between attempts; the process supervisor that started it owns the deadline.
    if backoff && at_module_level(loop_node) {
        return Some(hit.confidence(Confidence::Low));
    }
    Some(hit)
}

/// No function or class encloses `node`.
fn at_module_level(node: Node<'_>) -> bool {
    let mut cur = node.parent();
    while let Some(p) = cur {
        if matches!(
            p.kind(),
            "function_definition" | "class_definition" | "lambda"
        ) {
            return false;
        }
        cur = p.parent();
    }
    true
}

/// Whether `node` contains a `break`, `return` or `raise` that leaves the enclosing loop
/// (not inside a nested loop, function or class; `break` in a nested loop does not count).
fn exits(node: Node<'_>, src: &str) -> bool {
    let _ = src;
    let mut found = false;
    visit(node, |n| {
        if found {
            return false;
        }
        match n.kind() {
            "return_statement" | "raise_statement" => {
                found = true;
                false
            }
            "break_statement" => {
                found = true;
                false
            }
            "call" => {
                // sys.exit(), os._exit()
                let t = n
                    .child_by_field_name("function")
                    .map(|f| text(f, src))
                    .unwrap_or("");
                if matches!(t, "sys.exit" | "exit" | "os._exit" | "quit") {
                    found = true;
                }
                true
            }
            "function_definition"
            | "class_definition"
            | "lambda"
            | "for_statement"
            | "while_statement"
                if n != node =>
            {
                // Nested loops: their `break` is theirs, but a `return`/`raise` inside
                // still leaves; look only for those.
                if matches!(n.kind(), "for_statement" | "while_statement") {
                    let mut inner = false;
                    visit(n, |m| {
                        if matches!(
                            m.kind(),
                            "function_definition" | "class_definition" | "lambda"
                        ) {
                            return false;
                        }
                        if matches!(m.kind(), "return_statement" | "raise_statement") {
                            inner = true;
                        }
                        !inner
                    });
                    found = inner;
                }
                false
            }
            _ => true,
        }
    });
    found
}

// ---------------------------------------------------------------------------------------
// ERR011 outbound client per request

const CLIENT_CLASSES: &[&str] = &[
    "httpx.Client",
    "httpx.AsyncClient",
    "aiohttp.ClientSession",
    "requests.Session",
    "requests.session",
    "requests.sessions.Session",
    "urllib3.PoolManager",
];

/// ERR011: an HTTP client (a connection pool) constructed inside a request handler and
/// neither context-managed nor closed there.
pub fn client_per_request(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    for (fi, route, _) in request_path_functions(ctx, facts) {
        let Some(f) = facts.functions.get(fi) else {
            continue;
        };
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let body_text = text(body, src);
        visit_same_scope(body, |n| {
            let Some((callee, _, _)) = call_parts(n, src) else {
                return;
            };
            let Some(q) = facts.resolve(callee) else {
                return;
            };
            if !CLIENT_CLASSES.contains(&q.as_str()) {
                return;
            }
            // `with Client() as c:` / `async with ClientSession() as s:` closes it.
            let mut p = n.parent();
            for _ in 0..3 {
                match p {
                    Some(x) if matches!(x.kind(), "with_item" | "as_pattern" | "with_clause") => {
                        return
                    }
                    Some(x) => p = x.parent(),
                    None => break,
                }
            }
            // `c = Client()` later closed or entered.
            if let Some(a) = n.parent().filter(|a| a.kind() == "assignment") {
                if let Some(l) = a.child_by_field_name("left") {
                    let v = text(l, src);
                    if [
                        format!("{v}.close("),
                        format!("{v}.aclose("),
                        format!("with {v}"),
                        format!("return {v}"),
                        format!("yield {v}"),
                    ]
                    .iter()
                    .any(|p| mentions_whole(body_text, p))
                    {
                        return;
                    }
                }
            }
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("client", q)
                    .var("route", format!("serving `{route}`"))
                    .var("function", f.name.clone()),
            );
        });
    }
}

// ---------------------------------------------------------------------------------------
// ERR012 unbounded reads on a request path

/// ERR012: a `SELECT` with no `WHERE`, `LIMIT` or aggregate, or an ORM `.all()` with no
/// filter or limit, run by a request handler (or a helper it calls); worst in an
/// `except` fallback.
pub fn unbounded_query(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let on_path = request_path_functions(ctx, facts);
    let by_start: HashMap<usize, (String, String)> = on_path
        .iter()
        .filter_map(|(fi, r, _)| {
            let f = facts.functions.get(*fi)?;
            Some((f.start, (r.clone(), f.name.clone())))
        })
        .collect();
    let mut reported = HashSet::new();
    for lit in crate::checks::embedded_sql::sql_literals(ctx) {
        let Some(f) = facts.function_at(lit.start) else {
            continue;
        };
        let Some((route, fname)) = by_start.get(&f.start) else {
            continue;
        };
        let Some(table) = unbounded_select(&lit.sql) else {
            continue;
        };
        let Some(call) = node_at(root, lit.start, lit.end) else {
            continue;
        };
        if !reported.insert(lit.start) {
            continue;
        }
        let mut hit = Hit::new(lit.start, lit.end)
            .var("what", format!("`SELECT` from `{table}`"))
            .var("route", route.clone())
            .var("function", fname.clone())
            .var("where", fallback_note(call, f.start, src));
        if admin_only_branch(call, src) {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    }
    for (fi, route, _) in &on_path {
        let Some(f) = facts.functions.get(*fi) else {
            continue;
        };
        let Some(body) = body_node(root, f) else {
            continue;
        };
        visit_same_scope(body, |n| {
            let Some((_, last, args)) = call_parts(n, src) else {
                return;
            };
            if last != "all" || args.named_child_count() != 0 {
                return;
            }
            let chain = n
                .child_by_field_name("function")
                .and_then(|f| f.child_by_field_name("object"))
                .map_or("", |o| text(o, src));
            if !orm_unbounded(chain)
                || wipes_table(chain, text(body, src))
                || !reported.insert(n.start_byte())
            {
                return;
            }
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var(
                        "what",
                        format!("`{}`", crate::checks::py::snippet(text(n, src))),
                    )
                    .var("route", route.clone())
                    .var("function", f.name.clone())
                    .var("where", fallback_note(n, f.start, src)),
            );
        });
    }
}

/// Whether `node` runs only when a filter `V` is empty (`if V: <filtered> else: <node>`,
/// `if not V: <node>`) while an earlier `if` of the function on a privileged role sets `V`
/// for everyone else (`if not is_admin(user): user_id = user.id`): only platform admins
/// reach the unfiltered query, the others are forced to their own rows. An operator's
/// listing, weaker evidence of a request that grows with the data: low confidence.
fn admin_only_branch(node: Node<'_>, src: &str) -> bool {
    static PRIVILEGED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)admin|superuser|staff|is_root|platform_owner").expect("static regex")
    });
    let name = |n: Node<'_>| {
        let t = text(n, src).trim();
        (!t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(t)
    };
    // The `if` whose empty-filter branch holds the node, and the filter's name.
    let mut branch = None;
    let mut cur = node;
    while let Some(p) = cur.parent() {
        if p.kind() == "function_definition" {
            break;
        }
        if p.kind() == "if_statement" {
            if let Some(cond) = p.child_by_field_name("condition") {
                let in_else = p.child_by_field_name("alternative").is_some_and(|a| {
                    a.start_byte() <= node.start_byte() && node.end_byte() <= a.end_byte()
                });
                let filter = if cond.kind() == "not_operator" {
                    cond.child_by_field_name("argument")
                        .and_then(name)
                        .filter(|_| !in_else)
                } else {
                    name(cond).filter(|_| in_else)
                };
                if let Some(v) = filter {
                    branch = Some((p, v));
                    break;
                }
            }
        }
        cur = p;
    }
    let Some((at, var)) = branch else {
        return false;
    };
    let Some(func) = std::iter::successors(at.parent(), |n| n.parent())
        .find(|n| n.kind() == "function_definition")
        .and_then(|f| f.child_by_field_name("body"))
    else {
        return false;
    };
    let Ok(sets) = re::new(&format!(r"(?m)^\s*{}\s*=[^=]", regex::escape(var))) else {
        return false;
    };
    let mut forced = false;
    crate::model::facts::visit_same_scope(func, |n| {
        if forced || n.kind() != "if_statement" || n.start_byte() >= at.start_byte() {
            return;
        }
        let (Some(cond), Some(cons)) = (
            n.child_by_field_name("condition"),
            n.child_by_field_name("consequence"),
        ) else {
            return;
        };
        let c = text(cond, src);
        forced = c.trim_start().starts_with("not ")
            && PRIVILEGED.is_match(c)
            && sets.is_match(text(cons, src));
    });
    forced
}

/// `pat` occurs in `hay` and is not followed by more of a name or an attribute access.
fn mentions_whole(hay: &str, pat: &str) -> bool {
    hay.match_indices(pat).any(|(i, _)| {
        let next = hay[i + pat.len()..].chars().next();
        pat.ends_with('(') || !next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    })
}

fn fallback_note(node: Node<'_>, stop: usize, src: &str) -> String {
    let mut cur = node.parent();
    while let Some(p) = cur {
        if p.start_byte() < stop {
            break;
        }
        if p.kind() == "except_clause" {
            let caught = p
                .child_by_field_name("value")
                .map_or("an exception".to_string(), |v| {
                    format!("`{}`", text(v, src))
                });
            return format!(
                " inside the `except` fallback for {caught}: when the primary path fails, every request loads the whole table at once"
            );
        }
        cur = p.parent();
    }
    String::new()
}

/// The table of a `SELECT ... FROM t` with no `WHERE`, `LIMIT`/`FETCH`/`TOP`, `GROUP BY`
/// or aggregate: it returns every row.
fn unbounded_select(sql: &str) -> Option<String> {
    let words = crate::model::sql::keywords(sql);
    if !matches!(words.first().map(String::as_str), Some("SELECT")) {
        return None;
    }
    const BOUNDS: &[&str] = &[
        "WHERE", "LIMIT", "FETCH", "TOP", "GROUP", "HAVING", "COUNT", "SUM", "MAX", "MIN", "AVG",
        "EXISTS", "JOIN", "UNION", "OFFSET", "DISTINCT", "ROWNUM",
    ];
    if words.iter().any(|w| BOUNDS.contains(&w.as_str())) {
        return None;
    }
    let from = words.iter().position(|w| w == "FROM")?;
    let table = words.get(from + 1)?.to_ascii_lowercase();
    if small_table(&table) {
        return None;
    }
    // Placeholders in a FROM of a generated query.
    if !table.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some(table)
}

/// Tables that are small by nature (lookup, configuration and form-definition tables),
/// by table name or ORM model name (`UserFields` -> `user_fields`).
fn small_table(name: &str) -> bool {
    static SMALL: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(^|_)(settings?|config(uration)?s?|countr(y|ies)|currenc(y|ies)|languages?|locales?|roles?|permissions?|categor(y|ies)|types?|statuses|enums?|feature_flags?|flags|plans?|tiers?|brackets?|divisions?|fields?|pages?|sqlite_master|pg_\w+|information_schema|dual)$",
        )
    });
    let mut snake = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(ch.to_ascii_lowercase());
    }
    SMALL.is_match(&snake)
}

/// The function deletes every row of the chain's model too (`Model.query.delete()`,
/// `session.query(Model).delete()`, `delete(Model)` with nothing after): a reset action that
/// visits each row before the bulk delete means to touch them all.
fn wipes_table(chain: &str, body: &str) -> bool {
    let c: String = chain.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(model) = model_of(c.trim_start_matches("await")) else {
        return false;
    };
    let m = regex::escape(model);
    re::new(&format!(
        r"\b{m}\.query\.delete\(\s*\)|query\(\s*{m}\s*\)\.delete\(\s*\)|\bdelete\(\s*{m}\s*\)\s*\)"
    ))
    .is_ok_and(|r| r.is_match(body))
}

/// The model an ORM chain reads: `Model.query`, `query(Model)`, `select(Model)`.
fn model_of(chain: &str) -> Option<&str> {
    static MODEL: LazyLock<Regex> =
        LazyLock::new(|| re(r"^(\w+)\.query$|(?:query|select)\((\w+)\)"));
    MODEL
        .captures(chain)
        .and_then(|m| m.get(1).or_else(|| m.get(2)))
        .map(|m| m.as_str())
}

/// An ORM query chain with no filter or limit: `Model.query`, `session.query(Model)`,
/// `session.scalars(select(Model))`, `session.execute(select(Model)).scalars()`.
fn orm_unbounded(chain: &str) -> bool {
    static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(\w+\.query|[\w.]*session\.query\(\w+\)|[\w.]*session\.(scalars|execute)\((sa\.)?select\(\w+\)\)(\.scalars\(\))?|[\w.]*session\.exec\(select\(\w+\)\))$",
        )
    });
    let c: String = chain.chars().filter(|c| !c.is_whitespace()).collect();
    let c = c.trim_start_matches("await");
    if !SHAPE.is_match(c) {
        return false;
    }
    !small_table(model_of(c).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_selects() {
        assert_eq!(
            unbounded_select("SELECT * FROM orders").as_deref(),
            Some("orders")
        );
        assert!(unbounded_select("SELECT * FROM orders WHERE id = ?").is_none());
        assert!(unbounded_select("SELECT * FROM orders LIMIT 100").is_none());
        assert!(unbounded_select("SELECT count(*) FROM orders").is_none());
        assert!(unbounded_select("SELECT code FROM countries").is_none());
    }

    #[test]
    fn orm_chains() {
        assert!(orm_unbounded("User.query"));
        assert!(orm_unbounded("db.session.query(User)"));
        assert!(orm_unbounded("session.scalars(select(Order))"));
        assert!(!orm_unbounded("User.query.filter_by(active=True)"));
        assert!(!orm_unbounded("session.scalars(select(Order).limit(50))"));
    }

    #[test]
    fn memo_decorators() {
        assert!(unbounded_memo("functools.cache"));
        assert!(unbounded_memo("lru_cache(maxsize=None)"));
        assert!(unbounded_memo("lru_cache(None)"));
        assert!(!unbounded_memo("lru_cache(maxsize=1024)"));
        assert!(!unbounded_memo("cached_property"));
    }
}
