//! SEC029 webhook verification that can be bypassed: a verifier that accepts the event when
//! its secret (or webhook id) is unset or the signature header is missing, a signature
//! check run only when the secret or header happens to be present, and an HMAC computed
//! over a re-serialised body (`json.dumps(await request.json())`) instead of the raw bytes.
//! Comparing signatures with `==` is SEC004. A signed record read from a local file
//! (a license file checked by a module with no web framework, in a function that speaks of no
//! request, header, payload or event) is reported with low confidence.

use crate::checks::py::{body_node, if_returns_without_raise, name_assignment, snippet, unparen};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFunction};
use crate::model::facts::visit_same_scope;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

fn re(pattern: &str) -> Regex {
    re::new(pattern).expect("static regex")
}

/// Functions that verify (or receive) signed webhook deliveries.
static VERIFIER_FN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(webhook|signature|_sig$|^_*sig_|hmac|callback_auth)"));
/// A cryptographic signature, not a Python call signature.
static CRYPTO_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(hmac|webhook|compare_digest|digest|secret|x-[\w-]*sig|transmission|signing)")
});
/// Names that check rather than produce a signature.
static VERIFYING_FN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(verif|valid|check|auth|is_signed|receive|handle|webhook$|_hook$)"));
/// What a verifier needs: the shared secret, the configured webhook id, the signature
/// header.
static NEEDED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(secret|signing_?key|webhook_?id|hmac_?key|signature|_sig\b|\bsig_|^sig$|headers?\b|header_|cert|^all\()",
    )
});
/// A call that does the verifying.
static VERIFY_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(verify|validate|check)\w*(sig|hmac|webhook|payload|request|event)|compare_digest|construct_event",
    )
});

/// Words of a network delivery: a verifier of one names the request, its headers, payload
/// or body, or the event.
static DELIVERY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)webhook|request|header|payload|deliver|callback|(?:^|[^a-z])(?:body|events?)(?:[^a-z]|$)",
    )
});
/// The module reads a local file.
static LOCAL_READ: LazyLock<Regex> =
    LazyLock::new(|| re(r"\.read_(?:text|bytes)\(|\bopen\(|\bjson\.load\("));

/// `not secret`, `secret is None`, `not all(required_headers.values())`, either side of
/// an `or`: the text of what is tested for absence.
fn absent<'s>(cond: Node<'_>, src: &'s str) -> Option<&'s str> {
    let cond = unparen(cond);
    match cond.kind() {
        "not_operator" => cond.child_by_field_name("argument").map(|a| text(a, src)),
        "comparison_operator" => {
            let t = text(cond, src);
            (t.ends_with(" is None") || t.ends_with("== None") || t.ends_with("== \"\""))
                .then(|| cond.named_child(0).map(|c| text(c, src)))
                .flatten()
        }
        "boolean_operator" if text(cond, src).contains(" or ") => [
            cond.child_by_field_name("left"),
            cond.child_by_field_name("right"),
        ]
        .into_iter()
        .flatten()
        .find_map(|c| absent(c, src).filter(|t| NEEDED.is_match(t))),
        _ => None,
    }
}

/// `if secret:`, `if signature is not None:`, `if settings.WEBHOOK_SECRET and sig:`: the
/// text of what is tested for presence.
fn present<'s>(cond: Node<'_>, src: &'s str) -> Option<&'s str> {
    let cond = unparen(cond);
    match cond.kind() {
        "identifier" | "attribute" | "subscript" | "call" => Some(text(cond, src)),
        "comparison_operator" => {
            let t = text(cond, src);
            t.ends_with(" is not None")
                .then(|| cond.named_child(0).map(|c| text(c, src)))
                .flatten()
        }
        "boolean_operator" => Some(text(cond, src)),
        _ => None,
    }
}

/// SEC029: webhook signature verification that an unset secret, a missing header or a
/// re-serialised body defeats.
pub fn webhook_verification_bypass(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let web = crate::checks::py::WEB_FRAMEWORKS
        .iter()
        .any(|p| facts.imports_package(p));
    let reads_files = LOCAL_READ.is_match(src);
    for f in &facts.functions {
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let body_text = text(body, src);
        // A signed record the module reads from a local file (a license or cache file), in
        // a module with no web framework and a function that speaks of no delivery: nobody
        // posts it over the network, and whoever can edit the file runs the code too.
        let local = !web
            && reads_files
            && !DELIVERY.is_match(&format!("{} {}", f.name, text(f_node(body), src)));
        let first = out.len();
        // A verifier, not a signer: `get_signature`/`sign_payload` may skip when unset.
        let verifies = VERIFYING_FN.is_match(&f.name) || body_text.contains("compare_digest");
        if VERIFIER_FN.is_match(&f.name)
            && verifies
            && CRYPTO_CONTEXT.is_match(&format!("{} {body_text}", f.name))
        {
            skipped_when_unset(f, body, src, out);
        }
        conditional_verification(f, body, src, out);
        reserialised_body(f, body, src, out);
        if local {
            for h in &mut out[first..] {
                *h = std::mem::take(h).confidence(Confidence::Low);
            }
        }
    }
}

/// The whole function statement of a body (its parameters included).
fn f_node(body: Node<'_>) -> Node<'_> {
    body.parent().unwrap_or(body)
}

/// A verifier that returns (accepting) when what it needs is missing.
fn skipped_when_unset(f: &PyFunction, body: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    // A verifier that answers `False` for "reject" may answer `None` for it too.
    let mut bool_style = false;
    visit_same_scope(body, |n| {
        if n.kind() == "return_statement"
            && n.named_child(0).is_some_and(|v| text(v, src) == "False")
        {
            bool_style = true;
        }
    });
    visit_same_scope(body, |n| {
        if n.kind() != "if_statement" {
            return;
        }
        let Some(tested) = n
            .child_by_field_name("condition")
            .and_then(|c| absent(c, src))
            .filter(|t| NEEDED.is_match(t))
        else {
            return;
        };
        let Some(ret) = if_returns_without_raise(n) else {
            return;
        };
        let vt = ret.named_child(0).map_or("", |v| text(unparen(v), src));
        let accepts = vt == "True" || (!bool_style && matches!(vt, "" | "None"));
        if accepts {
            out.push(
                Hit::new(ret.start_byte(), ret.end_byte())
                    .var("function", f.name.clone())
                    .var(
                        "how",
                        format!(
                            "accepts the delivery unverified when `{}` is missing",
                            snippet(tested)
                        ),
                    ),
            );
        }
    });
}

/// `if secret: verify(...)` with no `else` that rejects: unset, the check never runs.
fn conditional_verification(f: &PyFunction, body: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    visit_same_scope(body, |n| {
        if n.kind() != "if_statement" || n.child_by_field_name("alternative").is_some() {
            return;
        }
        let Some(tested) = n
            .child_by_field_name("condition")
            .and_then(|c| present(c, src))
            .filter(|t| NEEDED.is_match(t) && !VERIFY_CALL.is_match(t))
        else {
            return;
        };
        let Some(cons) = n.child_by_field_name("consequence") else {
            return;
        };
        let mut verifies = false;
        visit_same_scope(cons, |m| {
            if m.kind() == "call"
                && m.child_by_field_name("function")
                    .is_some_and(|c| VERIFY_CALL.is_match(text(c, src)))
            {
                verifies = true;
            }
        });
        if !verifies {
            return;
        }
        let head_end = n
            .child_by_field_name("condition")
            .map_or(n.end_byte(), |c| c.end_byte());
        out.push(
            Hit::new(n.start_byte(), head_end)
                .var("function", f.name.clone())
                .var(
                    "how",
                    format!(
                        "verifies the signature only when `{}` is set",
                        snippet(tested)
                    ),
                ),
        );
    });
}

/// `hmac.new(key, json.dumps(payload).encode(), ...)`: the signature was made over the
/// sender's bytes, and re-serialising changes key order, spacing and escapes.
fn reserialised_body(f: &PyFunction, body: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    // Verification compares; signing what we send does not.
    let bt = text(body, src);
    if !(bt.contains("compare_digest")
        || (bt.contains("sig") && (bt.contains("==") || bt.contains("!="))))
    {
        return;
    }
    let mut dumped: Vec<&str> = Vec::new();
    visit_same_scope(body, |n| {
        if let Some((var, r)) = name_assignment(n, src) {
            if text(r, src).contains("json.dumps(") {
                dumped.push(var);
            }
        }
    });
    visit_same_scope(body, |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(func) = n.child_by_field_name("function") else {
            return;
        };
        let callee = text(func, src);
        let msg_index = match callee {
            "hmac.new" | "hmac.digest" | "hmac.HMAC" => 1,
            _ if callee.ends_with(".update") && text(body, src).contains("hmac") => 0,
            _ => return,
        };
        let Some(args) = n.child_by_field_name("arguments") else {
            return;
        };
        let mut c = args.walk();
        let positional: Vec<Node<'_>> = args
            .named_children(&mut c)
            .filter(|a| a.kind() != "keyword_argument" && a.kind() != "comment")
            .collect();
        let mut c = args.walk();
        let msg = positional.get(msg_index).copied().or_else(|| {
            args.named_children(&mut c)
                .filter(|a| a.kind() == "keyword_argument")
                .find(|a| {
                    a.child_by_field_name("name")
                        .is_some_and(|k| matches!(text(k, src), "msg" | "data"))
                })
                .and_then(|a| a.child_by_field_name("value"))
        });
        let Some(msg) = msg else { return };
        let mt = text(msg, src);
        let root_name = mt.split(['.', '(']).next().unwrap_or("");
        if mt.contains("json.dumps(") || dumped.contains(&root_name) {
            out.push(
                Hit::new(msg.start_byte(), msg.end_byte())
                    .var("function", f.name.clone())
                    .var(
                        "how",
                        format!(
                            "computes the HMAC over `{}`, a re-serialised body, not the raw request bytes",
                            snippet(mt)
                        ),
                    ),
            );
        }
    });
}
