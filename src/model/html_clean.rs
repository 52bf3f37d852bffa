//! HTML sanitisers a Python function hands its result through: a function whose every
//! return is the output of an HTML cleaner (`bleach.clean`, `nh3.clean`, a bleach
//! `Cleaner`'s `.clean(..)`), possibly marked safe, or a constant (`return ""`). The
//! project index records it per function, so a caller in another file that marks the
//! helper's result safe (`mark_safe(render_markdown(text))`) is known to mark cleaned
//! markup, not raw input.

use crate::model::facts::python::text;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// A cleaner call as written: `bleach.clean`, `nh3.clean`, `cleaner.clean`,
/// `self.cleaner.clean`, `safelink_cleaner().clean`, `sanitize_html`, `clean_html`.
static CLEANER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)(?:^|\.)(?:bleach|nh3)\.clean$|cleaner(?:\(\))?\.clean$|(?:^|\.)(?:sanitize_html|sanitise_html|clean_html)$",
    )
    .expect("static regex")
});

/// Calls that mark text safe without changing it.
const MARKERS: &[&str] = &["mark_safe", "Markup", "SafeString", "SafeText"];

/// Whether `call` (a `call` node) is an HTML cleaner's call.
pub fn is_cleaner_call(call: Node<'_>, src: &str) -> bool {
    call.kind() == "call"
        && call
            .child_by_field_name("function")
            .is_some_and(|f| CLEANER.is_match(text(f, src)))
}

/// Whether function `func` (a `function_definition`) returns only cleaned markup or
/// constants, with at least one cleaned return.
pub fn returns_cleaned(func: Node<'_>, src: &str) -> bool {
    let code = text(func, src);
    if !(code.contains("clean") || code.contains("saniti")) {
        return false;
    }
    let Some(body) = func.child_by_field_name("body") else {
        return false;
    };
    let (mut cleaned, mut all) = (0usize, true);
    crate::model::facts::visit_same_scope(body, |n| {
        if !all || n.kind() != "return_statement" {
            return;
        }
        match n.named_child(0) {
            None => {}
            Some(v) => match value(v, body, src, 0) {
                Some(true) => cleaned += 1,
                Some(false) => {}
                None => all = false,
            },
        }
    });
    all && cleaned > 0
}

/// `Some(true)`: cleaned markup; `Some(false)`: a constant; `None`: anything else.
fn value(v: Node<'_>, body: Node<'_>, src: &str, depth: usize) -> Option<bool> {
    if depth > 6 {
        return None;
    }
    let mut v = v;
    while v.kind() == "parenthesized_expression" {
        v = v.named_child(0)?;
    }
    match v.kind() {
        "none" | "true" | "false" | "integer" => Some(false),
        "string" => {
            let mut c = v.walk();
            let interpolated = v
                .named_children(&mut c)
                .any(|k| k.kind() == "interpolation");
            (!interpolated).then_some(false)
        }
        "call" if is_cleaner_call(v, src) => Some(true),
        "call" => {
            let f = text(v.child_by_field_name("function")?, src);
            let last = f.rsplit('.').next().unwrap_or(f);
            if !MARKERS.contains(&last) {
                return None;
            }
            let arg = v.child_by_field_name("arguments")?.named_child(0)?;
            value(arg, body, src, depth + 1).filter(|c| *c)
        }
        "identifier" => bound_to_cleaner(text(v, src), body, src, depth + 1).then_some(true),
        _ => None,
    }
}

/// Every binding of local `name` in `body` is an assignment of a cleaner's output.
fn bound_to_cleaner(name: &str, body: Node<'_>, src: &str, depth: usize) -> bool {
    let (mut seen, mut all) = (0usize, true);
    crate::model::facts::visit_same_scope(body, |n| {
        if !all {
            return;
        }
        let left = match n.kind() {
            "assignment" | "augmented_assignment" => n.child_by_field_name("left"),
            "for_statement" | "named_expression" | "as_pattern" => {
                n.child_by_field_name("left").or_else(|| n.named_child(0))
            }
            _ => return,
        };
        let Some(left) = left else { return };
        let lt = text(left, src);
        if lt == name && n.kind() == "assignment" {
            seen += 1;
            all = n
                .child_by_field_name("right")
                .is_some_and(|r| value(r, body, src, depth) == Some(true));
        } else if lt
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == name)
        {
            all = false;
        }
    });
    all && seen > 0
}
