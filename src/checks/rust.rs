//! Small helpers shared by the Rust semantic checks: the file's facts, node text, iterative
//! walks, request-derived names, the enclosing function and test code.

use crate::checks::FileContext;
use crate::model::facts::rust::{ExtractorKind, RustFacts, RustHandler};
use crate::model::facts::Facts;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

pub(crate) fn rust_facts<'a>(ctx: &'a FileContext<'_>) -> Option<&'a RustFacts> {
    match ctx.facts {
        Facts::Rust(f) => Some(f),
        _ => None,
    }
}

pub(crate) fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// Calls `f` on every node of one of `kinds`, iteratively.
pub(crate) fn each_node<'t>(root: Node<'t>, kinds: &[&str], mut f: impl FnMut(Node<'t>)) {
    crate::model::facts::visit(root, |node| {
        if kinds.contains(&node.kind()) {
            f(node);
        }
        true
    });
}

/// Names bound from the request by a handler's `Path`/`Query`/`Json`/`Form` extractors
/// (`Path(id)` -> `id`, `path: web::Path<String>` -> `path`).
pub(crate) fn request_names(h: &RustHandler) -> Vec<String> {
    static IDENT: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\b[a-z_][a-z0-9_]*\b").expect("static regex"));
    let mut out = Vec::new();
    for x in &h.extractors {
        if !matches!(
            x.kind,
            ExtractorKind::Path | ExtractorKind::Query | ExtractorKind::Json | ExtractorKind::Form
        ) {
            continue;
        }
        for m in IDENT.find_iter(&x.pattern) {
            if !matches!(m.as_str(), "mut" | "ref" | "_") {
                out.push(m.as_str().to_string());
            }
        }
    }
    out
}

pub(crate) fn mentions(hay: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .find(|n| {
            hay.match_indices(n.as_str()).any(|(i, _)| {
                let before = hay[..i].chars().next_back();
                let after = hay[i + n.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .cloned()
}

pub(crate) fn enclosing_fn(n: Node<'_>) -> Option<Node<'_>> {
    let mut cur = n.parent();
    for _ in 0..256 {
        let c = cur?;
        if c.kind() == "function_item" {
            return Some(c);
        }
        cur = c.parent();
    }
    None
}

/// Inside `#[cfg(test)] mod ..` or a `#[test]`-like function.
pub(crate) fn in_test_code(node: Node<'_>, src: &str) -> bool {
    let mut cur = Some(node);
    for _ in 0..256 {
        let Some(c) = cur else { return false };
        if matches!(c.kind(), "mod_item" | "function_item") {
            let mut prev = c.prev_named_sibling();
            while let Some(p) = prev {
                if p.kind() != "attribute_item" {
                    break;
                }
                let t = text(p, src);
                if t.contains("cfg(test)") || t.contains("test]") || t.contains("::test") {
                    return true;
                }
                prev = p.prev_named_sibling();
            }
        }
        cur = c.parent();
    }
    false
}

/// Whether the file serves requests: outside its test code, it registers axum/actix-web
/// routes, defines handlers that take request extractors, or names a server framework
/// (axum, actix-web, warp, rocket, poem, salvo, tide, tonic, a hyper server).
pub(crate) fn serves_requests(facts: &RustFacts, src: &str) -> bool {
    const SERVERS: &[&str] = &[
        "axum::",
        "actix_web::",
        "actix_http::",
        "warp::",
        "rocket::",
        "poem::",
        "salvo::",
        "tide::",
        "tonic::",
        "hyper::server",
        "hyper::service",
    ];
    facts.routes.iter().any(|r| !facts.in_test(r.reg_start))
        || facts
            .handlers
            .iter()
            .any(|h| !facts.in_test(h.start) && takes_request_input(h))
        || SERVERS.iter().any(|s| {
            src.match_indices(s).any(|(i, _)| {
                let word_start = !src[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_');
                word_start && !facts.in_test(i)
            })
        })
}

/// Whether the file hands the function `name` to a router as a handler: `.to(name)`,
/// `.to(name::<B>)` (actix-web `web::route().to(..)`, `default_service`).
pub(crate) fn registered_with_to(src: &str, name: &str) -> bool {
    let needle = format!(".to({name}");
    src.match_indices(&needle).any(|(i, _)| {
        !src[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A handler parameter that reads the request: `Path`, `Query`, `Json` or `Form`.
pub(crate) fn takes_request_input(h: &RustHandler) -> bool {
    h.extractors.iter().any(|x| {
        matches!(
            x.kind,
            ExtractorKind::Path | ExtractorKind::Query | ExtractorKind::Json | ExtractorKind::Form
        )
    })
}

/// The function a route names, without its path and generic arguments
/// (`handlers::index::<Backend>` -> `index`).
pub(crate) fn route_target(handler: &str) -> &str {
    let h = handler.split("::<").next().unwrap_or(handler);
    h.rsplit("::").next().unwrap_or(h).trim()
}

/// A path in a vendored copy of another project (`vendor/`, `third_party/`).
pub(crate) fn vendored_path(rel: &str) -> bool {
    rel.split('/').any(|seg| {
        matches!(
            seg,
            "vendor" | "vendored" | "third_party" | "third-party" | "thirdparty"
        )
    })
}

/// Code of a command-line program or a client library rather than a server: a crate or
/// folder named like one (`svix-cli/`, `src/bin/`, `command/`, `cmds/`, `*-client/`), or a
/// file that uses a terminal-interface crate (clap, dialoguer, indicatif, crossterm,
/// ratatui).
pub(crate) fn client_side(rel: &str, facts: &RustFacts) -> bool {
    const TERMINAL: &[&str] = &[
        "clap",
        "dialoguer",
        "inquire",
        "indicatif",
        "crossterm",
        "ratatui",
        "rustyline",
        "rpassword",
    ];
    let dirs: Vec<&str> = rel.split('/').collect();
    let named = dirs[..dirs.len().saturating_sub(1)].iter().any(|seg| {
        let seg = seg.to_ascii_lowercase();
        matches!(
            seg.as_str(),
            "cli" | "bin" | "cmd" | "cmds" | "command" | "commands" | "client" | "tui"
        ) || seg.ends_with("-cli")
            || seg.ends_with("_cli")
            || seg.starts_with("cli-")
            || seg.ends_with("-client")
            || seg.ends_with("_client")
            || seg.ends_with("-tui")
    });
    named
        || facts.uses.values().any(|p| {
            let head = p.split("::").next().unwrap_or(p);
            TERMINAL.contains(&head)
        })
}

/// Names of the functions a function calls by name (`helper(..)`, `Self::helper(..)`,
/// `self.helper(..)`), from its text.
pub(crate) fn called_names(body: &str) -> Vec<&str> {
    static CALL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b([a-z_][a-z0-9_]*)\s*(?:::<[^>]*>)?\(").expect("static regex")
    });
    CALL.captures_iter(body)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect()
}
