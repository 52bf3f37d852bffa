//! DATA010: one database connection shared by every request thread.
//!
//! Shapes, each stored where every caller sees it (a module-level name, `self.x`, `cls.x`, a
//! class attribute, a `global`):
//! - `sqlite3.connect(..., check_same_thread=False)`: the author turned off sqlite's own
//!   guard against use from several threads;
//! - `create_engine(..., poolclass=StaticPool)`: SQLAlchemy hands the same connection to
//!   every session;
//! - a single connection (`engine.connect()`, `psycopg2.connect(..)`, `duckdb.connect(..)`,
//!   `pymysql.connect(..)`, ...) that request-scoped sessions are bound to
//!   (`sessionmaker(bind=self.connection)` with `scoped_session`), that route handlers of the
//!   same file use, or that the file hands to threads.
//!
//! Not reported: the same calls made per request (a local), a file that guards its handle with
//! a lock (`threading.Lock()`, `RLock()`) or keeps one per thread (`threading.local()`).

use crate::checks::py::{facts, keyword_arg, visit};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use tree_sitter::Node;

const DRIVERS: &[&str] = &[
    "sqlite3.connect",
    "psycopg2.connect",
    "psycopg.connect",
    "duckdb.connect",
    "pymysql.connect",
    "MySQLdb.connect",
    "mysql.connector.connect",
    "pg8000.connect",
    "pg8000.native.Connection",
    "cx_Oracle.connect",
    "oracledb.connect",
    "pyodbc.connect",
];

pub fn shared_connection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    if src.contains("Lock(") || src.contains("threading.local") || src.contains("Semaphore(") {
        return;
    }
    let root = ctx.tree.root_node();
    visit(root, |n| {
        if n.kind() != "assignment" {
            return true;
        }
        let (Some(left), Some(right)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return true;
        };
        let right = crate::checks::py::unwrap_expr(right);
        if right.kind() != "call" {
            return true;
        }
        let Some(target) = shared_target(facts, n, left, src) else {
            return true;
        };
        if let Some(what) = shared_handle(facts, right, &target, src) {
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("target", target)
                    .var("what", what),
            );
        }
        true
    });
}

/// The name every caller shares, when `left` is one: `self.conn`, `cls.engine`, a module or
/// class attribute, a `global`.
fn shared_target(facts: &PyFacts, assign: Node<'_>, left: Node<'_>, src: &str) -> Option<String> {
    let t = text(left, src);
    match left.kind() {
        // Flask's `g` and the request live for one request.
        "attribute"
            if t.starts_with("g.") || t.starts_with("flask.g.") || t.starts_with("request.") =>
        {
            None
        }
        "attribute" => Some(t.to_string()),
        "identifier" => match facts.function_at(assign.start_byte()) {
            None => Some(t.to_string()),
            Some(f) => {
                let body = src.get(f.body.0..f.body.1).unwrap_or("");
                let global = body
                    .lines()
                    .any(|l| l.trim_start().starts_with("global ") && l.contains(t));
                global.then(|| t.to_string())
            }
        },
        _ => None,
    }
}

fn shared_handle(facts: &PyFacts, call: Node<'_>, target: &str, src: &str) -> Option<String> {
    let func = call.child_by_field_name("function")?;
    let args = call.child_by_field_name("arguments")?;
    let callee = text(func, src);
    let resolved = facts.resolve(callee).unwrap_or_default();
    let last = callee.rsplit('.').next().unwrap_or(callee);
    let no_thread_check =
        keyword_arg(args, "check_same_thread", src).is_some_and(|v| text(v, src) == "False");
    if resolved == "sqlite3.connect" && no_thread_check {
        return Some("one sqlite connection with `check_same_thread=False`".into());
    }
    if last == "create_engine" {
        let static_pool = keyword_arg(args, "poolclass", src)
            .is_some_and(|p| text(p, src).ends_with("StaticPool"));
        return static_pool.then(|| "an engine with `StaticPool` (one connection)".into());
    }
    let driver = DRIVERS.contains(&resolved.as_str());
    // `engine.connect()`, `self.engine.connect()`: a single connection off an engine.
    let engine_connect = last == "connect"
        && func.kind() == "attribute"
        && args.named_child_count() == 0
        && func
            .child_by_field_name("object")
            .is_some_and(|o| text(o, src).to_lowercase().contains("engine"));
    if !driver && !engine_connect {
        return None;
    }
    if driver && no_thread_check {
        return Some("one connection with `check_same_thread=False`".into());
    }
    let short = target.rsplit('.').next().unwrap_or(target);
    // Sessions bound to it, created per thread by `scoped_session`.
    let bound = mentions_word(src, &format!("bind={target}"))
        || mentions_word(src, &format!("bind=self.{short}"));
    if bound && src.contains("scoped_session") {
        return Some("one connection that every scoped session is bound to".into());
    }
    // Route handlers of this file use it.
    let used_by_handler = facts.routes.iter().any(|r| {
        facts
            .functions
            .get(r.function)
            .and_then(|f| src.get(f.body.0..f.body.1))
            .is_some_and(|b| mentions_word(b, short))
    });
    if used_by_handler {
        return Some("one connection that the route handlers share".into());
    }
    let threads = src.contains("ThreadPoolExecutor")
        || src.contains("threading.Thread")
        || src.contains("Thread(target");
    if threads && !src.contains("Pool(") {
        return Some("one connection that the file's threads share".into());
    }
    None
}

fn mentions_word(hay: &str, word: &str) -> bool {
    hay.match_indices(word).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}
