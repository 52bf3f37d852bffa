//! Error-handling checks for Rust request handlers.

use crate::checks::rust::{each_node, mentions, request_names, rust_facts, text};
use crate::checks::{FileContext, Hit};
use regex::Regex;
use std::sync::LazyLock;

/// ERR102: `.unwrap()`/`.expect()` on request-derived or I/O results inside a handler.
pub fn unwrap_in_handler(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    if facts.handlers.is_empty() {
        return;
    }
    static FALLIBLE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.await\s*$|\.parse(::<[^>]*>)?\(\)\s*$|from_str\(|from_slice\(|from_value\(|from_utf8\(|\.to_str\(\)\s*$|\bfs::|File::open|\.bytes\(\)|\.text\(\)|\.json\(\)")
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
        let what = if let Some(n) = from_request {
            format!("a value derived from the request (`{n}`)")
        } else if FALLIBLE.is_match(recv) {
            "an I/O or parse result".to_string()
        } else {
            return;
        };
        hits.push(
            Hit::new(field.start_byte(), call.end_byte())
                .var("method", method.to_string())
                .var("what", what)
                .var("handler", h.name.clone()),
        );
    });
}

/// ERR103: the result of a send/delivery is discarded and state is advanced right after.
pub fn ignored_delivery_result(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    static SEND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)\.(send|try_send|send_async|publish|deliver|send_email|send_mail|send_message|post)\s*\(.*$").expect("static regex")
    });
    static SIGNAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)shutdown|cancel|stop|done|signal|quit|close|ready|notify|waker|exit|kill|term|progress|log").expect("static regex")
    });
    static ADVANCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)mark_\w*(sent|delivered|done|processed|complete|published|notified)|(sent|delivered|published|notified)\w*\s*=\s*true|status\s*=\s*\w*::?(sent|delivered|done|published|complete)|set\s+\w*(status|sent|delivered|published)\w*\s*=|\.(ack|commit)\(|delete_\w*(outbox|pending|job|event)|remove_\w*(outbox|pending|job|event)")
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
        Regex::new(r"(Mutex|RwLock)\s*<\s*(std::collections::|collections::)?(HashMap|BTreeMap|HashSet)\b|\bDashMap\b")
            .expect("static regex")
    });
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)cache|session|seen|token|user|rate|memo|visit|client|request|result|response",
        )
        .expect("static regex")
    });
    static EVICT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.(remove|retain|clear|pop_first|pop_last|truncate|drain|split_off|evict\w*|invalidate\w*)\(|\blen\(\)\s*(>|>=)")
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
