//! Python rules about what happens around a datastore or delivery call: synchronous
//! datastore clients inside coroutines (ERR013), delivery failures swallowed before state
//! moves on (ERR014), retries without backoff (ERR015) and retried non-idempotent POSTs
//! (ERR016).

use crate::checks::py::body_node;
use crate::checks::py::{call_parts, chain, visit, visit_same_scope};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::model::pyindex::BlockSite;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

// ---------------------------------------------------------------------------------------
// ERR013 synchronous datastore client inside `async def`

/// Constructors of synchronous clients, by the qualified name they resolve to, and what
/// they talk to.
const SYNC_CLIENTS: &[(&str, Store)] = &[
    ("sqlite3.connect", Store::Sql("SQLite")),
    ("psycopg2.connect", Store::Sql("PostgreSQL")),
    ("psycopg.connect", Store::Sql("PostgreSQL")),
    ("psycopg.Connection.connect", Store::Sql("PostgreSQL")),
    ("duckdb.connect", Store::Sql("DuckDB")),
    ("pymysql.connect", Store::Sql("MySQL")),
    ("MySQLdb.connect", Store::Sql("MySQL")),
    ("mysql.connector.connect", Store::Sql("MySQL")),
    ("sqlalchemy.create_engine", Store::Sql("database")),
    ("sqlalchemy.orm.Session", Store::Sql("database")),
    ("sqlmodel.Session", Store::Sql("database")),
    ("sqlmodel.create_engine", Store::Sql("database")),
    ("redis.Redis", Store::Redis),
    ("redis.StrictRedis", Store::Redis),
    ("redis.from_url", Store::Redis),
    ("redis.Redis.from_url", Store::Redis),
    ("redis.client.Redis", Store::Redis),
    ("pymongo.MongoClient", Store::Mongo),
    ("kafka.KafkaProducer", Store::Kafka),
    ("confluent_kafka.Producer", Store::Kafka),
];

/// Session factories: `SessionLocal = sessionmaker(bind=engine)`.
const SESSION_FACTORIES: &[&str] = &[
    "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.scoped_session",
];

/// Annotations of a synchronous session parameter (`db: Session = Depends(get_db)`).
const SESSION_TYPES: &[&str] = &[
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session",
    "sqlmodel.Session",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Sql(&'static str),
    Redis,
    Mongo,
    Kafka,
    File,
}

impl Store {
    fn label(self) -> &'static str {
        match self {
            Store::Sql(s) => s,
            Store::Redis => "Redis",
            Store::Mongo => "MongoDB",
            Store::Kafka => "Kafka",
            Store::File => "the file system",
        }
    }

    /// Whether calling `method` on a client (or anything reached from it) waits for the
    /// server.
    fn blocks(self, method: &str) -> bool {
        match self {
            Store::Sql(_) => matches!(
                method,
                "execute"
                    | "executemany"
                    | "executescript"
                    | "exec_driver_sql"
                    | "fetchone"
                    | "fetchall"
                    | "fetchmany"
                    | "commit"
                    | "rollback"
                    | "flush"
                    | "refresh"
                    | "get"
                    | "scalar"
                    | "scalars"
                    | "first"
                    | "one"
                    | "one_or_none"
                    | "all"
                    | "count"
                    | "sql"
                    | "connect"
                    | "merge"
            ),
            Store::Redis => !matches!(
                method,
                "pipeline" | "pubsub" | "lock" | "register_script" | "close"
            ),
            Store::Mongo => matches!(
                method,
                "find"
                    | "find_one"
                    | "insert_one"
                    | "insert_many"
                    | "update_one"
                    | "update_many"
                    | "replace_one"
                    | "delete_one"
                    | "delete_many"
                    | "aggregate"
                    | "count_documents"
                    | "find_one_and_update"
                    | "find_one_and_delete"
                    | "bulk_write"
            ),
            Store::Kafka => method == "flush",
            Store::File => false,
        }
    }
}

/// ERR013: a call on a synchronous database, Redis, MongoDB or Kafka client, or the
/// builtin `open()`, made directly inside `async def`.
pub fn sync_client_in_async(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    if !facts.functions.iter().any(|f| f.is_async) {
        return;
    }
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let (module, factories) = module_clients(root, facts, src);
    let command_line = crate::checks::py::is_command_line_module(facts);
    for f in facts.functions.iter().filter(|f| f.is_async) {
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let mut bound = module.clone();
        bind_params(f, facts, &mut bound);
        let found = blocking_in(body, facts, src, &mut bound, &factories);
        let count = found.len();
        let only_files = found.iter().all(|(_, _, s)| matches!(s, Store::File));
        let first = found.into_iter().next();
        if let Some((n, what, store)) = first {
            let more = match count {
                0 | 1 => String::new(),
                2 => " (and 1 more call in this function)".to_string(),
                k => format!(" (and {} more calls in this function)", k - 1),
            };
            let kind = store_kind(store);
            let mut hit = Hit::new(n.start_byte(), n.end_byte())
                .var("call", what)
                .var("kind", kind)
                .var("function", f.name.clone())
                .var("more", more);
            // Local file access in a plain module coroutine that takes nothing: a start-up
            // or maintenance routine called by name (no route decorator, no request data),
            // where a small file read or write costs microseconds once.
            // A command-line program's coroutines: nothing else waits on its loop.
            // File output of an opt-in developer tool: the call sits under a condition on a
            // profiling or debug switch (`if settings.SERVER_PROFILING_ENABLED:` around the
            // middleware, `if profiling:` around the report write).
            if command_line
                || (only_files
                    && f.params.is_empty()
                    && f.decorators.is_empty()
                    && f.class.is_none())
                || (only_files && under_developer_switch(n, src))
            {
                hit = hit.confidence(Confidence::Low);
            }
            out.push(hit);
        }
    }
}

/// Whether node `n` runs only when an `if` around it (in its function or around the
/// function's definition) tests a profiling or debug switch and holds.
fn under_developer_switch(n: Node<'_>, src: &str) -> bool {
    static SWITCH: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)profil|\bdebug|_debug\b|debug_").expect("static regex"));
    let mut cur = n.parent();
    while let Some(p) = cur {
        let in_consequence = p
            .child_by_field_name("consequence")
            .is_some_and(|c| c.start_byte() <= n.start_byte() && n.end_byte() <= c.end_byte());
        if p.kind() == "if_statement"
            && in_consequence
            && p.child_by_field_name("condition")
                .is_some_and(|c| SWITCH.is_match(text(c, src)))
        {
            return true;
        }
        cur = p.parent();
    }
    false
}

/// The blocking calls directly in `body` (its own scope), in source order, following the
/// clients that assignments and `with .. as` bind on the way.
fn blocking_in<'t>(
    body: Node<'t>,
    facts: &PyFacts,
    src: &str,
    bound: &mut HashMap<String, Store>,
    factories: &[String],
) -> Vec<(Node<'t>, String, Store)> {
    let mut found = Vec::new();
    visit_same_scope(body, |n| match n.kind() {
        "assignment" => {
            if let Some((name, r)) = crate::checks::py::name_assignment(n, src) {
                match client_made_by(r, facts, src, bound, factories) {
                    Some(s) => {
                        bound.insert(name.to_string(), s);
                    }
                    None => {
                        bound.remove(name);
                    }
                }
            }
        }
        "as_pattern" => {
            // `with engine.connect() as conn:`
            let value = n.named_child(0);
            let alias = n
                .child_by_field_name("alias")
                .and_then(|a| a.named_child(0).or(Some(a)));
            if let (Some(v), Some(al)) = (value, alias) {
                if al.kind() == "identifier" {
                    if let Some(s) = client_made_by(v, facts, src, bound, factories) {
                        bound.insert(text(al, src).to_string(), s);
                    }
                }
            }
        }
        "call" => {
            if let Some((what, store)) = blocking_call(n, facts, src, bound, factories) {
                found.push((n, what, store));
            }
        }
        _ => {}
    });
    found
}

/// The module's clients and session factories (`conn = sqlite3.connect(..)`,
/// `SessionLocal = sessionmaker(..)`).
fn module_clients(
    root: Node<'_>,
    facts: &PyFacts,
    src: &str,
) -> (HashMap<String, Store>, Vec<String>) {
    let mut module: HashMap<String, Store> = HashMap::new();
    let mut factories: Vec<String> = Vec::new();
    for (_, name, r) in crate::checks::py::module_assignments(root, src) {
        if let Some(store) = client_made_by(r, facts, src, &module, &factories) {
            module.insert(name.to_string(), store);
        } else if is_sync_factory(r, facts, src) {
            factories.push(name.to_string());
        }
    }
    (module, factories)
}

/// Parameters annotated with a synchronous session type bind a database client; other
/// parameters shadow module-level clients.
fn bind_params(
    f: &crate::model::facts::python::PyFunction,
    facts: &PyFacts,
    bound: &mut HashMap<String, Store>,
) {
    for p in &f.params {
        if p.annotation.as_deref().is_some_and(|a| {
            let ty = annotated_type(a);
            facts
                .resolve(ty)
                .is_some_and(|q| SESSION_TYPES.contains(&q.as_str()))
        }) {
            bound.insert(p.name.clone(), Store::Sql("database"));
        } else {
            bound.remove(&p.name);
        }
    }
}

/// Modules whose synchronous clients ERR013 knows; a file importing none of them (and
/// calling no `open(`) has no blocking site.
const CLIENT_PACKAGES: &[&str] = &[
    "sqlite3",
    "psycopg2",
    "psycopg",
    "duckdb",
    "pymysql",
    "MySQLdb",
    "mysql",
    "sqlalchemy",
    "sqlmodel",
    "redis",
    "pymongo",
    "kafka",
    "confluent_kafka",
];

/// Every call of the file that waits on a synchronous datastore client or the file
/// system, in any function (what ERR013 reports inside `async def`), for the project
/// index: a synchronous helper with one blocks the coroutine that calls it.
pub fn blocking_sites(facts: &PyFacts, tree: &tree_sitter::Tree, src: &str) -> Vec<BlockSite> {
    if !src.contains("open(") && !CLIENT_PACKAGES.iter().any(|p| facts.imports_package(p)) {
        return Vec::new();
    }
    let root = tree.root_node();
    let (module, factories) = module_clients(root, facts, src);
    let mut out = Vec::new();
    for f in &facts.functions {
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let mut bound = module.clone();
        bind_params(f, facts, &mut bound);
        for (n, what, store) in blocking_in(body, facts, src, &mut bound, &factories) {
            out.push(BlockSite {
                what,
                kind: store_kind(store),
                file: matches!(store, Store::File),
                start: n.start_byte(),
                end: n.end_byte(),
            });
        }
    }
    out
}

fn store_kind(store: Store) -> String {
    match store {
        Store::File => "reads or writes a file synchronously".to_string(),
        s => format!("waits for {} synchronously", s.label()),
    }
}

/// `Annotated[Session, Depends(get_db)]` -> `Session`; `Optional[...]`/`X | None` are
/// left alone (a session is not optional in a handler).
fn annotated_type(a: &str) -> &str {
    let a = a.trim();
    match a.strip_prefix("Annotated[") {
        Some(rest) => rest.split(',').next().unwrap_or(rest).trim(),
        None => a,
    }
}

fn is_sync_factory(r: Node<'_>, facts: &PyFacts, src: &str) -> bool {
    let Some((callee, _, args)) = call_parts(r, src) else {
        return false;
    };
    let Some(q) = facts.resolve(callee) else {
        return false;
    };
    if !SESSION_FACTORIES.contains(&q.as_str()) {
        return false;
    }
    // `sessionmaker(class_=AsyncSession)` makes async sessions.
    !text(args, src).contains("Async")
}

/// The store a client expression talks to: a constructor call, a factory call, or a call
/// on a bound client that returns another handle (`conn.cursor()`, `engine.connect()`).
fn client_made_by(
    r: Node<'_>,
    facts: &PyFacts,
    src: &str,
    bound: &HashMap<String, Store>,
    factories: &[String],
) -> Option<Store> {
    let (callee, last, _) = call_parts(r, src)?;
    if factories.iter().any(|f| f == callee) {
        return Some(Store::Sql("database"));
    }
    if let Some(q) = facts.resolve(callee) {
        if let Some((_, s)) = SYNC_CLIENTS.iter().find(|(n, _)| *n == q) {
            return Some(*s);
        }
    }
    if matches!(last, "cursor" | "connect" | "begin" | "pipeline") {
        let (root, _) = chain(r, src)?;
        return bound.get(root).copied();
    }
    None
}

fn blocking_call(
    n: Node<'_>,
    facts: &PyFacts,
    src: &str,
    bound: &HashMap<String, Store>,
    factories: &[String],
) -> Option<(String, Store)> {
    if n.parent().is_some_and(|p| p.kind() == "await") {
        return None;
    }
    // Only the outermost call of a chain is looked at.
    if n.parent()
        .is_some_and(|p| p.kind() == "attribute" && p.child_by_field_name("object") == Some(n))
    {
        return None;
    }
    let (callee, _, _) = call_parts(n, src)?;
    if callee == "open" && facts.resolve("open").as_deref() == Some("open") {
        return Some(("open(...)".to_string(), Store::File));
    }
    if factories.iter().any(|f| f == callee) {
        return None;
    }
    if let Some(q) = facts.resolve(callee) {
        if let Some((_, s)) = SYNC_CLIENTS.iter().find(|(n, _)| *n == q) {
            // Creating an engine or a Redis client does not connect yet.
            if matches!(s, Store::Sql(_))
                && !q.ends_with("create_engine")
                && !q.ends_with(".Session")
            {
                return Some((format!("{callee}(...)"), *s));
            }
            return None;
        }
    }
    let (root, methods) = chain(n, src)?;
    let store = *bound.get(root)?;
    if !methods.iter().any(|m| store.blocks(m)) {
        return None;
    }
    let func = n.child_by_field_name("function")?;
    Some((crate::checks::py::snippet(text(func, src)) + "(...)", store))
}

// ---------------------------------------------------------------------------------------
// ERR014 delivery failure swallowed, state advanced anyway

static DELIVERY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:send|deliver|publish|notify|page|dispatch|post|push|emit|enqueue|trigger)(?:_\w+)?$|_(?:send|deliver|publish|notify|page|webhook|email|sms|alert)$")
        .expect("static regex")
});

static ADVANCE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)\b(?:sent|fired|delivered|notified|published|processed|acked|done|completed|last_sent\w*|last_notified\w*|sent_at|delivered_at|notified_at|fired_at)\b|\bstatus\b|\bstate\b")
        .expect("static regex")
});

static ADVANCE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:mark_\w+|ack|acknowledge|set_status|advance\w*|commit)$|_as_(?:sent|delivered|done|fired|processed)$")
        .expect("static regex")
});

/// ERR014: a `try` around a delivery call (send, publish, notify, webhook...) whose
/// `except` logs and carries on, followed in the same block by a statement that records
/// the delivery as done (`alert.fired = True`, `mark_sent(..)`, an UPDATE setting a
/// status).
pub fn swallowed_delivery(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "try_statement" {
            return true;
        }
        let Some(t_body) = n.child_by_field_name("body") else {
            return true;
        };
        let Some(delivery) = delivery_call(t_body, src) else {
            return true;
        };
        let mut c = n.walk();
        let clauses: Vec<Node<'_>> = n.named_children(&mut c).collect();
        if clauses.iter().any(|c| c.kind() == "else_clause") {
            return true;
        }
        let Some(handler) = clauses.iter().copied().find(|c| {
            c.kind() == "except_clause" && swallows(*c, src) && !domain_error_only(*c, src)
        }) else {
            return true;
        };
        // The next statements of the enclosing block, until one leaves it.
        let mut next = n.next_named_sibling();
        for _ in 0..8 {
            let Some(s) = next else {
                break;
            };
            if matches!(
                s.kind(),
                "return_statement" | "raise_statement" | "break_statement" | "continue_statement"
            ) {
                break;
            }
            if let Some(what) =
                advances_state(s, src).filter(|_| !records_subject(&delivery, s, src))
            {
                let caught = handler
                    .child_by_field_name("value")
                    .or_else(|| handler.named_child(0).filter(|v| v.kind() != "block"))
                    .map_or("everything".to_string(), |v| text(v, src).to_string());
                out.push(
                    Hit::new(handler.start_byte(), handler.end_byte())
                        .var("delivery", delivery)
                        .var("caught", caught)
                        .var("advance", what)
                        .var("line", ctx.file.line_col(s.start_byte()).0.to_string()),
                );
                break;
            }
            next = s.next_named_sibling();
        }
        true
    });
}

/// `send_revocation_notification(cert)` then `cert.status = "revoked"`: the status literal
/// names the event the notice is about (a word of the callee other than the delivery verb
/// and its object, sharing its first four letters), so it records that event, which
/// happened before the notice, not the notice's delivery. `alert.status = "sent"` names the
/// delivery itself and stays reported.
fn records_subject(delivery: &str, s: Node<'_>, src: &str) -> bool {
    const DELIVERY_WORDS: &[&str] = &[
        "send",
        "deliver",
        "publish",
        "notify",
        "page",
        "dispatch",
        "post",
        "push",
        "emit",
        "enqueue",
        "trigger",
        "notification",
        "notifications",
        "email",
        "emails",
        "mail",
        "message",
        "messages",
        "alert",
        "alerts",
        "webhook",
        "webhooks",
        "sms",
    ];
    let inner = if s.kind() == "expression_statement" {
        s.named_child(0)
    } else {
        Some(s)
    };
    let Some(value) = inner
        .filter(|i| i.kind() == "assignment")
        .and_then(|i| i.child_by_field_name("right"))
        .filter(|v| v.kind() == "string")
    else {
        return false;
    };
    let value = text(value, src)
        .trim_matches(['"', '\''])
        .to_ascii_lowercase();
    if value.len() < 4
        || !value.chars().all(|c| c.is_ascii_alphabetic())
        || ADVANCE.is_match(&value)
    {
        return false;
    }
    let callee = delivery.trim_end_matches("(...)");
    let last = callee
        .rsplit('.')
        .next()
        .unwrap_or(callee)
        .to_ascii_lowercase();
    let found = last
        .split('_')
        .any(|w| w.len() >= 4 && !DELIVERY_WORDS.contains(&w) && w.get(..4) == value.get(..4));
    found
}

/// An `except` clause that catches only the application's own verdicts on the request
/// (`NotAuthorized`, `NotFound`, `ValidationError`, `PermissionDenied`, `ValueError`...):
/// a failed delivery raises none of them, so what it swallows is another call's answer.
fn domain_error_only(handler: Node<'_>, src: &str) -> bool {
    static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:\w+\.)*(?:not_?authori[sz]ed|unauthori[sz]ed|forbidden|permission_?denied|not_?found|does_?not_?exist|validation_?error|integrity_?error|data_?error|value_?error|key_?error|type_?error|lookup_?error|index_?error)$")
            .expect("static regex")
    });
    let Some(value) = handler.named_child(0).filter(|v| v.kind() != "block") else {
        return false;
    };
    let value = if value.kind() == "as_pattern" {
        match value.named_child(0) {
            Some(v) => v,
            None => return false,
        }
    } else {
        value
    };
    let names: Vec<&str> = match value.kind() {
        "tuple" | "parenthesized_expression" => {
            let mut c = value.walk();
            value.named_children(&mut c).map(|k| text(k, src)).collect()
        }
        _ => vec![text(value, src)],
    };
    !names.is_empty() && names.iter().all(|n| DOMAIN.is_match(n.trim()))
}

/// The first delivery-like call in a `try` body, as `recv.send(...)`.
fn delivery_call(body: Node<'_>, src: &str) -> Option<String> {
    let mut found = None;
    visit_same_scope(body, |n| {
        if found.is_some() {
            return;
        }
        let Some((callee, last, _)) = call_parts(n, src) else {
            return;
        };
        if DELIVERY.is_match(last) && !matches!(last, "post_init" | "postprocess") {
            found = Some(format!("{}(...)", crate::checks::py::snippet(callee)));
        }
    });
    found
}

/// An `except` clause that neither re-raises, returns, continues, breaks nor records the
/// failure in a variable the code could test.
fn swallows(handler: Node<'_>, src: &str) -> bool {
    let Some(block) = handler
        .named_children(&mut handler.walk())
        .find(|c| c.kind() == "block")
    else {
        return false;
    };
    let mut leaves = false;
    visit_same_scope(block, |n| match n.kind() {
        "raise_statement" | "return_statement" | "continue_statement" | "break_statement" => {
            leaves = true
        }
        "assignment" | "augmented_assignment" => leaves = true,
        "call" => {
            // Retrying or queueing the failure is handling it.
            if let Some((_, last, _)) = call_parts(n, src) {
                if last.contains("retry")
                    || last.contains("requeue")
                    || last.starts_with("mark_failed")
                    || last.contains("fail")
                    || last == "nack"
                {
                    leaves = true;
                }
            }
        }
        _ => {}
    });
    !leaves
}

/// A statement recording the delivery as done: an assignment to a `sent`/`status`-like
/// attribute or key, a `mark_sent(..)`-like call, or SQL setting such a column.
fn advances_state(s: Node<'_>, src: &str) -> Option<String> {
    let inner = if s.kind() == "expression_statement" {
        s.named_child(0)?
    } else {
        s
    };
    match inner.kind() {
        "assignment" | "augmented_assignment" => {
            let l = inner.child_by_field_name("left")?;
            if matches!(l.kind(), "attribute" | "subscript") && ADVANCE.is_match(text(l, src)) {
                return Some(format!(
                    "`{}`",
                    crate::checks::py::snippet(text(inner, src))
                ));
            }
            None
        }
        "call" | "await" => {
            let call = if inner.kind() == "await" {
                inner.named_child(0)?
            } else {
                inner
            };
            let (_, last, args) = call_parts(call, src)?;
            if ADVANCE_CALL.is_match(last) && last != "commit" {
                return Some(format!("`{}`", crate::checks::py::snippet(text(call, src))));
            }
            if matches!(last, "execute" | "update") {
                let a = text(args, src);
                let upper = a.to_ascii_uppercase();
                if upper.contains("UPDATE") && ADVANCE.is_match(a) {
                    return Some(format!("`{}`", crate::checks::py::snippet(text(call, src))));
                }
            }
            None
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// ERR015 retries with no pause, ERR016 non-idempotent requests retried

/// A retry loop: `for .. in range(..)` or `while True`/`while attempt < n` whose body is a
/// `try` that leaves the loop on success and whose `except` goes round again (it may
/// re-raise on the last attempt).
struct RetryLoop<'t> {
    node: Node<'t>,
    try_body: Node<'t>,
}

fn retry_loop<'t>(n: Node<'t>, src: &str) -> Option<RetryLoop<'t>> {
    match n.kind() {
        "for_statement" => {
            let right = n.child_by_field_name("right")?;
            let (callee, _, _) = call_parts(right, src)?;
            if callee != "range" {
                return None;
            }
        }
        "while_statement" => {}
        _ => return None,
    }
    let body = n.child_by_field_name("body")?;
    let mut c = body.walk();
    let stmts: Vec<Node<'t>> = body.named_children(&mut c).collect();
    let t = stmts
        .iter()
        .copied()
        .find(|s| s.kind() == "try_statement")?;
    let t_body = t.child_by_field_name("body")?;
    let mut c = t.walk();
    let clauses: Vec<Node<'t>> = t.named_children(&mut c).collect();
    let top_exit = |block: Node<'_>| {
        let mut c = block.walk();
        let found = block
            .named_children(&mut c)
            .any(|s| matches!(s.kind(), "return_statement" | "break_statement"));
        found
    };
    let else_exit = clauses
        .iter()
        .any(|c| c.kind() == "else_clause" && c.named_child(0).is_some_and(top_exit));
    if !top_exit(t_body) && !else_exit {
        return None;
    }
    let handlers: Vec<Node<'t>> = clauses
        .iter()
        .copied()
        .filter(|c| c.kind() == "except_clause")
        .collect();
    // Some handler goes round again: no unconditional raise/return/break at its top.
    let retries = handlers.iter().any(|h| {
        let mut c = h.walk();
        let block = h.named_children(&mut c).find(|x| x.kind() == "block");
        block.is_some_and(|b| {
            let mut c = b.walk();
            let leaves = b.named_children(&mut c).any(|s| {
                matches!(
                    s.kind(),
                    "raise_statement" | "return_statement" | "break_statement"
                )
            });
            !leaves
        })
    });
    retries.then_some(RetryLoop {
        node: n,
        try_body: t_body,
    })
}

static PAUSE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)\bsleep\s*\(|backoff|\bwait\w*\s*\(|\bdelay\w*\s*\(|Event\(\)\.wait")
        .expect("static regex")
});

/// ERR015: a retry loop with no pause between attempts.
pub fn retry_without_backoff(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    visit(ctx.tree.root_node(), |n| {
        // `while True` retry loops are ERR009's, which also says when they do not pause.
        if n.kind() != "for_statement" {
            return true;
        }
        let Some(r) = retry_loop(n, src) else {
            return true;
        };
        if PAUSE.is_match(text(r.node, src)) {
            return true;
        }
        let Some(call) = first_remote_call(r.try_body, src) else {
            return true;
        };
        out.push(Hit::new(n.start_byte(), n.end_byte()).var("call", call));
        true
    });
}

static REMOTE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:(?:get|post|put|patch|delete|head|request|send|fetch|upload|download|invoke|publish|query|execute)(?:_\w+)?|urlopen|connect|call)$")
        .expect("static regex")
});

/// Receivers that talk to another process: clients, sessions, connections, SDK stubs.
static REMOTE_RECV: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:^|[._])(?:requests|httpx|urllib\w*|aiohttp|client|\w*_client|session|conn\w*|cursor|cur|db|http\w*|api|redis|sock\w*|stub|channel|s3|sqs|sns|producer|bucket|smtp\w*|ftp\w*)$")
        .expect("static regex")
});

/// The first call in a `try` body that goes over the network: a request-like method on
/// a client-like receiver.
fn first_remote_call(body: Node<'_>, src: &str) -> Option<String> {
    let mut found = None;
    visit_same_scope(body, |n| {
        if found.is_some() {
            return;
        }
        if let Some((callee, last, _)) = call_parts(n, src) {
            let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
            if !recv.is_empty() && REMOTE_CALL.is_match(last) && REMOTE_RECV.is_match(recv) {
                found = Some(format!("{}(...)", crate::checks::py::snippet(callee)));
            }
        }
    });
    found
}

/// `requests.post(..)`, `client.post(..)`, `session.request("POST", ..)`, `urlopen(Request(.., method="POST"))`.
fn is_post(call: Node<'_>, src: &str) -> bool {
    let Some((callee, last, args)) = call_parts(call, src) else {
        return false;
    };
    if !callee.contains('.') {
        return false;
    }
    match last {
        "post" => true,
        "request" | "fetch" => {
            let first = args.named_child(0).map_or("", |a| text(a, src));
            first.trim_matches(['"', '\'']).eq_ignore_ascii_case("post")
                || crate::checks::py::keyword_arg(args, "method", src).is_some_and(|m| {
                    text(m, src)
                        .trim_matches(['"', '\''])
                        .eq_ignore_ascii_case("post")
                })
        }
        _ => false,
    }
}

/// An idempotency key, or a protocol whose writes are idempotent by design: Prometheus
/// remote write stores one sample per series and timestamp, so a resent batch changes
/// nothing.
static IDEMPOTENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)idempoten|request[-_]?id|dedup|remote[-_]?write").expect("static regex")
});

/// The POST delivers a webhook: its URL is a subscriber's (`webhook.url`, `webhook_url`).
/// Webhook delivery is at-least-once by convention and the receiver, an endpoint the sender
/// does not run, is expected to tolerate a repeat; the missing delivery id is worth a look,
/// not a merge gate.
fn webhook_delivery(call: Node<'_>, src: &str) -> bool {
    let Some(args) = call.child_by_field_name("arguments") else {
        return false;
    };
    let hook = |n: Node<'_>| text(n, src).to_ascii_lowercase().contains("webhook");
    // The URL: `url=`, else a positional argument (after the method of `request("POST", ..)`).
    if let Some(u) = crate::checks::py::keyword_arg(args, "url", src) {
        return hook(u);
    }
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|a| a.kind() != "keyword_argument")
        .take(2)
        .any(hook);
    found
}

/// The POST asks for a one-way state change (`/certificates/{id}/revocations`,
/// `/deactivate`, `/cancel`): a second revocation of a revoked certificate revokes nothing
/// more, so the retry cannot double an effect. The URL is the `url=` argument or the first
/// positional one, or the string a name holding it was last assigned in `scope`.
fn one_way_transition(call: Node<'_>, src: &str, scope: Node<'_>) -> bool {
    static ACTION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)/(?:revoke|revocations?|deactivate|deactivations?|disable|cancel|cancell?ations?)/?["']?\s*\)?$"#)
            .expect("static regex")
    });
    let Some(args) = call.child_by_field_name("arguments") else {
        return false;
    };
    let url = crate::checks::py::keyword_arg(args, "url", src).or_else(|| {
        let mut c = args.walk();
        let first = args
            .named_children(&mut c)
            .find(|a| a.kind() != "keyword_argument");
        first
    });
    let Some(url) = url else {
        return false;
    };
    let name = text(url, src).trim();
    if url.kind() != "identifier" {
        return ACTION.is_match(name);
    }
    // The value the name was last given before the call: `url = f"{base}/revoke"`.
    let before = src.get(scope.start_byte()..call.start_byte()).unwrap_or("");
    let last = before.lines().rev().find_map(|l| {
        let value = l
            .trim_start()
            .strip_prefix(name)?
            .trim_start()
            .strip_prefix('=')?;
        (!value.starts_with('=')).then(|| value.trim())
    });
    last.is_some_and(|v| ACTION.is_match(v))
}

/// A tenacity retry condition that names nothing but `TryAgain`.
static ONLY_TRY_AGAIN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"retry\s*=\s*(tenacity\.)?retry_if_exception_type\(\s*(tenacity\.)?TryAgain\s*,?\s*\)")
        .expect("static regex")
});

/// ERR016: a POST sent again by a retry loop, a `@retry`-decorated function, or a urllib3
/// `Retry` allowing POST, with no idempotency key.
pub fn retried_post(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let mut report = |call: Node<'_>, how: String, scope: Node<'_>| {
        if IDEMPOTENT.is_match(text(scope, src)) || one_way_transition(call, src, scope) {
            return;
        }
        let callee = crate::checks::py::snippet(text(
            call.child_by_field_name("function").unwrap_or(call),
            src,
        ));
        let mut hit = Hit::new(call.start_byte(), call.end_byte())
            .var("what", format!("`{callee}(...)` is a POST that {how}"));
        if webhook_delivery(call, src) {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    };
    // Retry loops.
    visit(root, |n| {
        let Some(r) = retry_loop(n, src) else {
            return true;
        };
        let mut post = None;
        visit_same_scope(r.try_body, |c| {
            if post.is_none() && c.kind() == "call" && is_post(c, src) {
                post = Some(c);
            }
        });
        if let Some(p) = post {
            let (line, _) = ctx.file.line_col(r.node.start_byte());
            let scope = facts
                .function_at(n.start_byte())
                .and_then(|f| crate::checks::py::node_at(root, f.start, f.end))
                .unwrap_or(r.node);
            report(
                p,
                format!("the retry loop on line {line} sends it again"),
                scope,
            );
        }
        true
    });
    // `@retry(...)` / `@backoff.on_exception(...)` functions.
    for f in &facts.functions {
        let Some(d) = f.decorators.iter().find(|d| {
            let q = facts.resolve(&d.callee).unwrap_or_default();
            q.starts_with("tenacity.retry")
                || q.starts_with("backoff.on_exception")
                || q.starts_with("retrying.retry")
                || q.starts_with("stamina.retry")
        }) else {
            continue;
        };
        // `retry_if_exception_type(...)` limited to connect errors is safe: the request
        // never reached the server.
        if d.text.contains("ConnectError") || d.text.contains("ConnectTimeout") {
            continue;
        }
        // `retry=retry_if_exception_type(TryAgain)`: only the function's own `raise
        // TryAgain` (a poll that is not done yet) sends it again, never a failed request.
        if ONLY_TRY_AGAIN.is_match(&d.text) {
            continue;
        }
        let Some(def) = crate::checks::py::node_at(root, f.start, f.end) else {
            continue;
        };
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let mut post = None;
        visit_same_scope(body, |c| {
            if post.is_none() && c.kind() == "call" && is_post(c, src) {
                post = Some(c);
            }
        });
        if let Some(p) = post {
            report(
                p,
                format!("`@{}` on `{}` sends it again", d.callee, f.name),
                def,
            );
        }
    }
    // urllib3 `Retry(allowed_methods=..POST..)` / `method_whitelist`.
    visit(root, |n| {
        let Some((callee, _, args)) = call_parts(n, src) else {
            return true;
        };
        let q = facts.resolve(callee).unwrap_or_default();
        if !(q.ends_with("urllib3.util.retry.Retry")
            || q.ends_with("urllib3.Retry")
            || q == "urllib3.util.Retry")
        {
            return true;
        }
        let methods = crate::checks::py::keyword_arg(args, "allowed_methods", src)
            .or_else(|| crate::checks::py::keyword_arg(args, "method_whitelist", src));
        let Some(m) = methods else {
            return true;
        };
        let mt = text(m, src);
        if mt.to_ascii_uppercase().contains("POST") || mt == "None" || mt == "False" {
            let scope = facts
                .function_at(n.start_byte())
                .and_then(|f| crate::checks::py::node_at(root, f.start, f.end))
                .unwrap_or(root);
            if !IDEMPOTENT.is_match(text(scope, src)) {
                out.push(Hit::new(n.start_byte(), n.end_byte()).var(
                    "what",
                    format!(
                        "`{}(..)` with `{}` resends POST requests",
                        crate::checks::py::snippet(callee),
                        crate::checks::py::snippet(mt)
                    ),
                ));
            }
        }
        true
    });
}
