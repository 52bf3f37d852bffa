//! Error-handling checks for Rust request handlers.

use crate::checks::rust::{
    called_names, client_side, each_node, mentions, registered_with_to, request_names,
    route_target, rust_facts, serves_requests, takes_request_input, text, vendored_path,
};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::rust::{ExtractorKind, RustFacts};
use crate::model::facts::Scope;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

/// The innermost named function (not a closure or `async` block) around `byte`.
fn named_fn(facts: &RustFacts, byte: usize) -> Option<&Scope> {
    let upto = facts.scopes.partition_point(|s| s.start <= byte);
    facts.scopes[..upto]
        .iter()
        .rev()
        .find(|s| s.end >= byte && !s.name.starts_with('<'))
}

/// Functions of the file that a request handler reaches by calling them by name, directly
/// or through other functions of the file.
fn reachable_from_handlers(facts: &RustFacts, src: &str) -> HashSet<String> {
    let roots = facts
        .handlers
        .iter()
        .filter(|h| {
            facts
                .routes
                .iter()
                .any(|r| route_target(&r.handler) == h.name)
                || registered_with_to(src, &h.name)
                || h.extractors
                    .iter()
                    .any(|x| !matches!(x.kind, ExtractorKind::Other | ExtractorKind::State))
        })
        .map(|h| (h.body_start, h.body_end))
        .collect();
    called_closure(facts, src, roots, HashSet::new())
}

/// The names of the file's functions that the code in `roots` calls by name, directly or
/// through other functions of the file, added to `seen`.
fn called_closure(
    facts: &RustFacts,
    src: &str,
    mut todo: Vec<(usize, usize)>,
    mut seen: HashSet<String>,
) -> HashSet<String> {
    let mut budget = 256;
    while let Some((start, end)) = todo.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        for name in called_names(src.get(start..end).unwrap_or("")) {
            if seen.contains(name) {
                continue;
            }
            if let Some(f) = facts
                .scopes
                .iter()
                .find(|s| s.name == name && !s.name.starts_with('<'))
            {
                seen.insert(name.to_string());
                todo.push((f.start, f.end));
            }
        }
    }
    seen
}

/// Inside code that runs once when the program stops: a function named like shutdown or
/// cleanup, or an `async` block bound to such a name (`let shutdown_signal = async { .. }`).
fn in_shutdown_path(node: Node<'_>, fn_name: &str, src: &str) -> bool {
    static SHUTDOWN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)shutdown|graceful|cleanup|teardown|on_exit|terminate").expect("static regex")
    });
    if SHUTDOWN.is_match(fn_name) {
        return true;
    }
    let mut cur = node.parent();
    for _ in 0..256 {
        let Some(c) = cur else { return false };
        match c.kind() {
            "function_item" => return false,
            "let_declaration"
                if c.child_by_field_name("pattern")
                    .is_some_and(|p| SHUTDOWN.is_match(text(p, src))) =>
            {
                return true;
            }
            _ => {}
        }
        cur = c.parent();
    }
    false
}

/// Calls that park the OS thread they run on.
const BLOCKING: &[&str] = &[
    "std::thread::sleep",
    "std::fs::read",
    "std::fs::read_to_string",
    "std::fs::write",
    "std::fs::copy",
    "std::fs::remove_file",
    "std::fs::remove_dir_all",
    "std::fs::create_dir_all",
    "std::fs::read_dir",
    "std::fs::metadata",
    "std::fs::rename",
    "std::fs::File::open",
    "std::fs::File::create",
    "std::net::TcpStream::connect",
    "std::net::TcpStream::connect_timeout",
    "std::net::TcpListener::bind",
    "std::net::UdpSocket::bind",
    "postgres::Client::connect",
    "postgres::Config::connect",
    "rusqlite::Connection::open",
    "rusqlite::Connection::open_with_flags",
    "mysql::Conn::new",
    "mysql::Pool::new",
    "redis::Client::get_connection",
    // Password hashing is built to take tens to hundreds of milliseconds of CPU.
    "bcrypt::hash",
    "bcrypt::hash_with_result",
    "bcrypt::hash_with_salt",
    "bcrypt::verify",
    "argon2::hash_encoded",
    "argon2::hash_raw",
    "argon2::verify_encoded",
    "argon2::verify_raw",
    "scrypt::scrypt",
    "pbkdf2::pbkdf2",
    "pbkdf2::pbkdf2_hmac",
    "pbkdf2::pbkdf2_hmac_array",
];

/// File-system calls that only touch metadata: microseconds, unless the disk is gone.
const METADATA_ONLY: &[&str] = &[
    "std::fs::metadata",
    "std::fs::remove_file",
    "std::fs::create_dir_all",
    "std::fs::rename",
];

/// ERR005: a blocking call (sleep, file system, `std::net`, a synchronous database client,
/// `reqwest::blocking`, password hashing) directly inside an `async fn` or `async` block.
/// High confidence in a request handler or a function one reaches; medium elsewhere in a
/// server; low in command-line, client-side and vendored code, on the shutdown path, and
/// for metadata-only file calls off the request path.
pub fn blocking_call_in_async(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    let hashing_crate = facts.uses.values().any(|p| {
        let head = p.split("::").next().unwrap_or(p);
        matches!(head, "argon2" | "password_hash" | "scrypt" | "pbkdf2")
    });
    let mut reachable: Option<HashSet<String>> = None;
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        let (callee, resolved) = match f.kind() {
            "identifier" | "scoped_identifier" => {
                let t = text(f, src);
                let q = facts.resolve(t).unwrap_or_default();
                if !(BLOCKING.contains(&q.as_str()) || q.starts_with("reqwest::blocking::")) {
                    return;
                }
                (t.to_string(), q)
            }
            // `Argon2::default().hash_password(..)` through the `PasswordHasher` trait.
            "field_expression" if hashing_crate => {
                let m = f
                    .child_by_field_name("field")
                    .map(|x| text(x, src))
                    .unwrap_or("");
                if !matches!(m, "hash_password" | "verify_password") {
                    return;
                }
                (m.to_string(), m.to_string())
            }
            _ => return,
        };
        let at = call.start_byte();
        if !ctx.facts.scope_at(at).is_some_and(|s| s.is_async) {
            return;
        }
        let fn_name = named_fn(facts, at).map_or("", |s| s.name.as_str());
        // `#[tokio::main] async fn main` blocks once at start-up, before anything is served.
        if fn_name == "main" {
            return;
        }
        let on_request_path = facts.handler_at(at).is_some()
            || (!fn_name.is_empty()
                && (facts
                    .routes
                    .iter()
                    .any(|r| route_target(&r.handler) == fn_name)
                    || registered_with_to(src, fn_name)))
            || reachable
                .get_or_insert_with(|| reachable_from_handlers(facts, src))
                .contains(fn_name);
        let confidence = if static_asset_read(call, &resolved, src) {
            Some(Confidence::Low)
        } else if on_request_path {
            None
        } else if vendored_path(&ctx.file.rel)
            || client_side(&ctx.file.rel, facts)
            || in_shutdown_path(call, fn_name, src)
            || METADATA_ONLY.contains(&resolved.as_str())
        {
            Some(Confidence::Low)
        } else {
            Some(Confidence::Medium)
        };
        let mut hit = Hit::new(call.start_byte(), call.end_byte()).var("callee", callee);
        if let Some(c) = confidence {
            hit = hit.confidence(c);
        }
        hits.push(hit);
    });
}

/// The file's calls that block the thread, for the crate index (`crate::model::rsindex`):
/// the calls ERR005 knows, less metadata-only file calls and static asset reads.
pub fn blocking_sites(
    facts: &RustFacts,
    tree: &tree_sitter::Tree,
    src: &str,
) -> Vec<crate::model::rsindex::Site> {
    let mut out = Vec::new();
    each_node(tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        if !matches!(f.kind(), "identifier" | "scoped_identifier") {
            return;
        }
        let q = facts.resolve(text(f, src)).unwrap_or_default();
        if !(BLOCKING.contains(&q.as_str()) || q.starts_with("reqwest::blocking::"))
            || METADATA_ONLY.contains(&q.as_str())
            || static_asset_read(call, &q, src)
        {
            return;
        }
        out.push(crate::model::rsindex::Site {
            name: q,
            start: call.start_byte(),
            end: call.end_byte(),
            spawned: false,
        });
    });
    out
}

/// `std::fs::read_to_string(assets.join("index.html"))`: a small front-end file the page
/// cache holds after the first request; a performance nit, not a stalled executor.
fn static_asset_read(call: Node<'_>, resolved: &str, src: &str) -> bool {
    static ASSET: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#""[^"]*\.(html?|m?js|css|svg|ico|webmanifest)""#).expect("static regex")
    });
    matches!(resolved, "std::fs::read" | "std::fs::read_to_string")
        && call
            .child_by_field_name("arguments")
            .is_some_and(|a| ASSET.is_match(text(a, src)))
}

/// ERR101: `reqwest::Client::new()`/`::default()`/`reqwest::get` with no `.timeout(` in the
/// same function. High confidence in a file that serves requests; medium in other code,
/// and in client-side code that polls under a deadline (`.elapsed()`) the missing timeout
/// defeats; low in command-line and client-side code otherwise, in `main`, and in
/// one-shot health checks, whose caller (a container probe) owns the timeout.
pub fn reqwest_without_timeout(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    static TIMEOUT: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\.timeout\(").expect("static regex"));
    static HEALTH: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)health|liveness|readiness|probe").expect("static regex"));
    let mut serves: Option<bool> = None;
    let mut deadline: Option<HashSet<String>> = None;
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        if !matches!(f.kind(), "identifier" | "scoped_identifier") {
            return;
        }
        let t = text(f, src);
        let q = facts.resolve(t).unwrap_or_default();
        let builder = matches!(
            q.as_str(),
            "reqwest::Client::builder" | "reqwest::ClientBuilder::new"
        );
        if !builder
            && !matches!(
                q.as_str(),
                "reqwest::Client::new" | "reqwest::Client::default" | "reqwest::get"
            )
        {
            return;
        }
        let at = call.start_byte();
        let scope = named_fn(facts, at);
        let (start, end) = scope.map_or((0, src.len()), |s| (s.start, s.end));
        let before = src.get(start..at).unwrap_or("");
        let after = src.get(call.end_byte()..end).unwrap_or("");
        let timed = TIMEOUT.is_match(before) || TIMEOUT.is_match(after);
        ctx.examined(timed);
        // A builder without `.timeout(..)` is only counted: its client may get a per-request
        // timeout, which this rule does not follow.
        if timed || builder {
            return;
        }
        let fn_name = scope.map_or("", |s| s.name.as_str());
        let one_shot = fn_name == "main"
            || HEALTH.is_match(fn_name)
            || HEALTH.is_match(ctx.file.rel.rsplit('/').next().unwrap_or(""))
            || health_branch(call, src);
        let confidence = if one_shot {
            Some(Confidence::Low)
        } else if *serves.get_or_insert_with(|| serves_requests(facts, src)) {
            None
        } else if client_side(&ctx.file.rel, facts) || vendored_path(&ctx.file.rel) {
            let polled = deadline
                .get_or_insert_with(|| reached_from_deadline_loops(facts, src))
                .contains(fn_name);
            Some(if polled {
                Confidence::Medium
            } else {
                Confidence::Low
            })
        } else {
            Some(Confidence::Medium)
        };
        let mut hit = Hit::new(call.start_byte(), call.end_byte()).var("callee", t.to_string());
        if let Some(c) = confidence {
            hit = hit.confidence(c);
        }
        hits.push(hit);
    });
}

/// Inside an `if`/`match` arm whose condition or pattern names a health check
/// (`if let Some(Commands::Healthcheck { .. }) = args.command { .. }`).
fn health_branch(node: Node<'_>, src: &str) -> bool {
    let mut cur = node.parent();
    for _ in 0..256 {
        let Some(c) = cur else { return false };
        let head = match c.kind() {
            "function_item" => return false,
            "if_expression" => c.child_by_field_name("condition").map(|x| text(x, src)),
            "match_arm" => c.child_by_field_name("pattern").map(|x| text(x, src)),
            _ => None,
        };
        if head.is_some_and(|h| h.to_ascii_lowercase().contains("health")) {
            return true;
        }
        cur = c.parent();
    }
    false
}

/// Functions of the file called, directly or through others, from a function that polls
/// under a deadline (`start.elapsed() > timeout`), and those functions themselves.
fn reached_from_deadline_loops(facts: &RustFacts, src: &str) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut roots: Vec<(usize, usize)> = Vec::new();
    for s in facts.scopes.iter().filter(|s| !s.name.starts_with('<')) {
        if src
            .get(s.start..s.end)
            .is_some_and(|b| b.contains(".elapsed()"))
        {
            seen.insert(s.name.clone());
            roots.push((s.start, s.end));
        }
    }
    called_closure(facts, src, roots, seen)
}

/// ERR102: `.unwrap()`/`.expect()` on request-derived or I/O results inside a handler.
pub fn unwrap_in_handler(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    if facts.handlers.is_empty() {
        return;
    }
    static FALLIBLE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.await\s*$|\.parse(::<[^>]*>)?\(\)\s*$|from_str\(|from_slice\(|from_value\(|from_utf8\(|\.to_str\(\)\s*$|\bfs::|File::open|\.bytes\(\)|\.text\(\)|\.json\(\)")
            .expect("static regex")
    });
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        if f.kind() != "field_expression" {
            return;
        }
        let Some(field) = f.child_by_field_name("field") else {
            return;
        };
        let method = text(field, src);
        if method != "unwrap" && method != "expect" {
            return;
        }
        let Some(h) = facts.handler_at(call.start_byte()) else {
            return;
        };
        let recv = f
            .child_by_field_name("value")
            .map(|v| text(v, src))
            .unwrap_or("");
        if recv.contains(".lock()") || recv.contains(".read()") || recv.contains(".write()") {
            return;
        }
        let from_request = mentions(recv, &request_names(h)).filter(|_| {
            recv.contains("parse")
                || recv.contains("from_")
                || recv.contains("get(")
                || recv.contains("to_str")
                || recv.contains("try_into")
                || recv.contains("decode")
        });
        let what = if let Some(n) = &from_request {
            format!("a value derived from the request (`{n}`)")
        } else if FALLIBLE.is_match(recv) {
            "an I/O or parse result".to_string()
        } else {
            return;
        };
        if states_invariant(call, src) {
            return;
        }
        let mut hit = Hit::new(field.start_byte(), call.end_byte())
            .var("method", method.to_string())
            .var("what", what)
            .var("handler", h.name.clone());
        if from_request.is_none()
            && (REFERENCED_ROW.is_match(recv) || in_caught_blocking_task(call, src))
        {
            hit = hit.confidence(Confidence::Low);
        }
        hits.push(hit);
    });
}

/// A row looked up by a key another loaded row stores (`Organization::find_by_uuid(
/// &member.org_uuid, &conn).await.unwrap()`): `None` only when the data is inconsistent,
/// an invariant of the schema more than an unhandled error. Pattern only.
static REFERENCED_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:::|\.)(?:find|get|load|fetch)\w*\(\s*&?[a-z_]\w*\.\w*(?:uuid|_id)\b(?:[^()]|\([^()]*\))*\)\s*\.await\s*$")
        .expect("static regex")
});

/// Inside the closure of a `spawn_blocking(..)` whose join result the handler turns into
/// an error (`.await.unwrap_or_else(|_| Err(..))`, `.await.map_err(..)?`, `.await?`): a
/// panic there ends that task and the handler still answers.
fn in_caught_blocking_task(call: Node<'_>, src: &str) -> bool {
    let mut cur = call.parent();
    while let Some(n) = cur {
        match n.kind() {
            "function_item" => return false,
            "closure_expression" => {
                let Some(spawn) = n
                    .parent()
                    .filter(|a| a.kind() == "arguments")
                    .and_then(|a| a.parent())
                    .filter(|c| c.kind() == "call_expression")
                else {
                    return false;
                };
                let named = spawn
                    .child_by_field_name("function")
                    .is_some_and(|f| text(f, src).ends_with("spawn_blocking"));
                let Some(aw) = spawn.parent().filter(|p| p.kind() == "await_expression") else {
                    return false;
                };
                let handled = aw.parent().is_some_and(|p| match p.kind() {
                    "try_expression" => true,
                    "field_expression" => p.child_by_field_name("field").is_some_and(|f| {
                        matches!(
                            text(f, src),
                            "map_err" | "unwrap_or_else" | "unwrap_or" | "unwrap_or_default"
                        )
                    }),
                    _ => false,
                });
                return named && handled;
            }
            _ => cur = n.parent(),
        }
    }
    false
}

/// The `expect` message (or a comment at the end of its line) states an invariant the
/// author relies on: `.expect("Grantee user should exist")`, `// Should never fail`. A
/// deliberate assertion, not an unhandled error.
fn states_invariant(call: Node<'_>, src: &str) -> bool {
    static INVARIANT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\b(should|must|will|can) (never|always|not) (fail|happen|panic)|\bshould (always )?(exist|succeed|be valid)|\bnever (fails?|happens?)|\binfallible\b|\b(can't|cannot) fail\b|\balways (valid|exists?|succeeds?)\b")
            .expect("static regex")
    });
    let args = call
        .child_by_field_name("arguments")
        .map(|a| text(a, src))
        .unwrap_or("");
    let line_end = src[call.end_byte()..]
        .find('\n')
        .map_or(src.len(), |i| call.end_byte() + i);
    let rest = &src[call.end_byte()..line_end];
    let comment = rest.find("//").map_or("", |i| &rest[i..]);
    INVARIANT.is_match(args) || INVARIANT.is_match(comment)
}

/// ERR103: the result of a send/delivery is discarded and state is advanced right after.
pub fn ignored_delivery_result(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    static SEND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?s)\.(send|try_send|send_async|publish|deliver|send_email|send_mail|send_message|post)\s*\(.*$").expect("static regex")
    });
    static SIGNAL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)shutdown|cancel|stop|done|signal|quit|close|ready|notify|waker|exit|kill|term|progress|log").expect("static regex")
    });
    static ADVANCE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)mark_\w*(sent|delivered|done|processed|complete|published|notified)|(sent|delivered|published|notified)\w*\s*=\s*true|status\s*=\s*\w*::?(sent|delivered|done|published|complete)|set\s+\w*(status|sent|delivered|published)\w*\s*=|\.(ack|commit)\(|delete_\w*(outbox|pending|job|event)|remove_\w*(outbox|pending|job|event)")
            .expect("static regex")
    });
    each_node(
        ctx.tree.root_node(),
        &["let_declaration", "expression_statement"],
        |stmt| {
            let t = text(stmt, src);
            let (expr, how) = if stmt.kind() == "let_declaration" {
                match stmt.child_by_field_name("pattern") {
                    Some(p) if text(p, src) == "_" => (
                        stmt.child_by_field_name("value")
                            .map(|v| text(v, src))
                            .unwrap_or(""),
                        "`let _ =`",
                    ),
                    _ => return,
                }
            } else if let Some(inner) = t.trim_end().strip_suffix(".ok();") {
                (inner, "`.ok()`")
            } else {
                return;
            };
            let expr = expr.trim_end().trim_end_matches(".await").trim_end();
            if !expr.ends_with(')') {
                return;
            }
            let Some(m) = SEND.find(expr) else { return };
            let recv = &expr[..m.start()];
            if SIGNAL.is_match(recv.rsplit(['.', ' ', '(']).next().unwrap_or(recv)) {
                return;
            }
            // What runs after the discarded send, up to the end of the enclosing block.
            let Some(block) = stmt.parent() else { return };
            let rest = src.get(stmt.end_byte()..block.end_byte()).unwrap_or("");
            let Some(adv) = ADVANCE.find(rest) else {
                return;
            };
            hits.push(
                Hit::new(stmt.start_byte(), stmt.end_byte())
                    .var("how", how)
                    .var("call", expr.to_string())
                    .var("advance", adv.as_str().to_string()),
            );
        },
    );
}

/// ERR104: an unbounded channel created while serving a request.
pub fn unbounded_channel_in_handler(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    if facts.handlers.is_empty() {
        return;
    }
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        if !matches!(
            f.kind(),
            "identifier" | "scoped_identifier" | "generic_function"
        ) {
            return;
        }
        let t = text(f, src);
        let t = t.split("::<").next().unwrap_or(t);
        let q = facts.resolve(t).unwrap_or_default();
        let unbounded = matches!(
            q.as_str(),
            "tokio::sync::mpsc::unbounded_channel"
                | "futures::channel::mpsc::unbounded"
                | "crossbeam_channel::unbounded"
                | "crossbeam::channel::unbounded"
                | "flume::unbounded"
                | "async_channel::unbounded"
                | "std::sync::mpsc::channel"
        );
        if !unbounded {
            return;
        }
        let Some(h) = facts.handler_at(call.start_byte()) else {
            return;
        };
        // A function counts as a handler by a parameter type alone (`stop: CancellationToken`
        // reads like an auth extractor): without a route, a request extractor or a server
        // framework in the file, it is a background worker, not a request path.
        let routed = facts
            .routes
            .iter()
            .any(|r| route_target(&r.handler) == h.name);
        if !routed && !takes_request_input(h) && !serves_requests(facts, src) {
            return;
        }
        hits.push(
            Hit::new(call.start_byte(), call.end_byte())
                .var("callee", q)
                .var("handler", h.name.clone()),
        );
    });
}

/// ERR105: a process-wide map named like a cache with no eviction where it is used.
pub fn unbounded_static_cache(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    static TYPE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(Mutex|RwLock)\s*<\s*(std::collections::|collections::)?(HashMap|BTreeMap|HashSet)\b|\bDashMap\b")
            .expect("static regex")
    });
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)cache|session|seen|token|user|rate|memo|visit|client|request|result|response")
            .expect("static regex")
    });
    static EVICT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(remove|retain|clear|pop_first|pop_last|truncate|drain|split_off|evict\w*|invalidate\w*)\(|\blen\(\)\s*(>|>=)")
            .expect("static regex")
    });
    each_node(ctx.tree.root_node(), &["static_item"], |item| {
        let (Some(name), Some(ty)) = (
            item.child_by_field_name("name"),
            item.child_by_field_name("type"),
        ) else {
            return;
        };
        let name_t = text(name, src);
        if !TYPE.is_match(text(ty, src)) || !NAME.is_match(name_t) {
            return;
        }
        // Every use of the static, up to the end of the function that uses it.
        let evicts = src.match_indices(name_t).any(|(i, _)| {
            if i >= item.start_byte() && i < item.end_byte() {
                return false;
            }
            let end = ctx
                .facts
                .scope_at(i)
                .map_or(src.len(), |s| s.end)
                .min(src.len());
            src.get(i..end).is_some_and(|w| EVICT.is_match(w))
        });
        if !evicts {
            hits.push(Hit::new(item.start_byte(), item.end_byte()).var("name", name_t.to_string()));
        }
    });
}
