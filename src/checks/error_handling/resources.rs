//! Error-handling checks over Python (and, for Redis `KEYS`, Rust) code: commands that
//! block a shared server, caches that only grow, retry loops that never give up,
//! per-request client pools and unbounded reads on request paths.

use crate::checks::py::{
    body_node, call_parts, node_at, positional_arg, receiver, request_path_functions, visit,
    visit_same_scope,
};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{string_value, text};
use crate::source::lang::Lang;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tree_sitter::Node;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
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

/// ERR008: a module-level dict/list/set written by a request handler (or a helper it
/// calls) with no eviction anywhere in the file; `@cache`/`lru_cache(maxsize=None)` on a
/// function a handler calls with request-derived arguments.
pub fn unbounded_cache(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let containers = module_containers(root, src);
    let on_path = request_path_functions(ctx, facts);
    let mut reported = HashSet::new();
    for (fi, route, _) in &on_path {
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
            if reported.contains(name) || has_eviction(src, name) {
                return;
            }
            reported.insert(name.to_string());
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("name", name)
                    .var("how", how)
                    .var("route", route.clone())
                    .var("function", f.name.clone()),
            );
        });
    }
    // Unbounded memoisation of functions called with request data.
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
        if let Some(route) = called {
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
}

fn unbounded_memo(decorator: &str) -> bool {
    static MEMO: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^(functools\.)?(cache$|lru_cache\s*\(\s*(maxsize\s*=\s*)?None\s*[,)])")
    });
    MEMO.is_match(decorator.trim())
}

/// Module-level `NAME = {}` / `dict()` / `[]` / `set()` / `defaultdict(..)` /
/// `OrderedDict()`, by name.
fn module_containers(root: Node<'_>, src: &str) -> HashMap<String, usize> {
    static EMPTY: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(\{\}|\[\]|(dict|list|set|(collections\.)?(defaultdict|OrderedDict|Counter))\([^()]*\))$",
        )
    });
    let mut out = HashMap::new();
    for (a, name, r) in crate::checks::py::module_assignments(root, src) {
        if EMPTY.is_match(text(r, src)) {
            out.insert(name.to_string(), a.start_byte());
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

/// Whether the file ever shrinks or bounds container `name`.
fn has_eviction(src: &str, name: &str) -> bool {
    [
        format!("del {name}["),
        format!("{name}.pop("),
        format!("{name}.popitem("),
        format!("{name}.clear("),
        format!("{name}.remove("),
        format!("len({name})"),
        format!("{name}[:]"),
        format!("{name} = "),
    ]
    .iter()
    .any(|p| {
        // `NAME = ` counts only when it rebinds inside a function (indented).
        if p.ends_with(" = ") {
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
                    .var("route", route.clone())
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
        out.push(
            Hit::new(lit.start, lit.end)
                .var("what", format!("`SELECT` from `{table}`"))
                .var("route", route.clone())
                .var("function", fname.clone())
                .var("where", fallback_note(call, f.start, src)),
        );
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
    Regex::new(&format!(
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
