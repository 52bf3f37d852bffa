//! Small helpers shared by the Rust semantic checks: the file's facts, node text, iterative
//! walks, request-derived names, the enclosing function and test code.

use crate::checks::FileContext;
use crate::model::facts::rust::{ExtractorKind, RustFacts, RustHandler};
use crate::model::facts::Facts;
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
        LazyLock::new(|| Regex::new(r"\b[a-z_][a-z0-9_]*\b").expect("static regex"));
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
