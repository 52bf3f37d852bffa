//! Small helpers shared by the Python semantic checks: iterative tree walks and questions
//! about calls and names. Nothing here recurses on the tree.

use super::FileContext;
use crate::model::facts::python::{text, PyFacts, PyFunction};
use crate::model::facts::Facts;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

/// The Python facts of a file, if it is Python.
pub fn facts<'a>(ctx: &FileContext<'a>) -> Option<&'a PyFacts> {
    match ctx.facts {
        Facts::Python(f) => Some(f),
        _ => None,
    }
}

/// The Python facts of a file that declares web routes (checks about request paths).
pub fn route_facts<'a>(ctx: &FileContext<'a>) -> Option<&'a PyFacts> {
    facts(ctx).filter(|f| !f.routes.is_empty())
}

pub use crate::model::facts::{visit, visit_same_scope};

/// The smallest named node spanning exactly `start..end`, or the smallest containing it.
pub fn node_at(root: Node<'_>, start: usize, end: usize) -> Option<Node<'_>> {
    root.named_descendant_for_byte_range(start, end)
}

/// `(callee text, last name of the callee, argument list)` of a call node.
pub fn call_parts<'t, 's>(call: Node<'t>, src: &'s str) -> Option<(&'s str, &'s str, Node<'t>)> {
    if call.kind() != "call" {
        return None;
    }
    let func = call.child_by_field_name("function")?;
    let callee = text(func, src);
    let last = match func.kind() {
        "attribute" => func
            .child_by_field_name("attribute")
            .map_or(callee, |a| text(a, src)),
        _ => callee,
    };
    Some((callee, last, call.child_by_field_name("arguments")?))
}

/// Receiver text of an attribute call (`db.session` of `db.session.get(..)`).
pub fn receiver<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let func = call.child_by_field_name("function")?;
    (func.kind() == "attribute")
        .then(|| func.child_by_field_name("object"))
        .flatten()
        .map(|o| text(o, src))
}

/// Value of keyword argument `name` in an argument list.
pub fn keyword_arg<'t>(args: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let mut c = args.walk();
    let found = args.named_children(&mut c).find(|a| {
        a.kind() == "keyword_argument"
            && a.child_by_field_name("name").map(|n| text(n, src)) == Some(name)
    });
    found.and_then(|a| a.child_by_field_name("value"))
}

/// Positional argument `i` (0-based) of an argument list.
pub fn positional_arg(args: Node<'_>, i: usize) -> Option<Node<'_>> {
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|a| {
            !matches!(
                a.kind(),
                "keyword_argument" | "list_splat" | "dictionary_splat" | "comment"
            )
        })
        .nth(i);
    found
}

/// True when identifier `name` occurs under `node` as a variable (not an attribute name).
pub fn mentions(node: Node<'_>, name: &str, src: &str) -> bool {
    let mut found = false;
    visit(node, |n| {
        if found {
            return false;
        }
        if n.kind() == "identifier" && text(n, src) == name {
            let is_attr_name = n.parent().is_some_and(|p| {
                p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(n)
            });
            let is_kw_name = n.parent().is_some_and(|p| {
                p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(n)
            });
            found = !is_attr_name && !is_kw_name;
        }
        true
    });
    found
}

/// Code shown in a message: whitespace runs folded to one space, cut at 60 characters.
pub fn snippet(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        let mut c: String = one.chars().take(57).collect();
        c.push('…');
        c
    } else {
        one
    }
}

/// `name = value` with a plain name on the left: the assignment node, the name, the value.
pub fn name_assignment<'t, 's>(n: Node<'t>, src: &'s str) -> Option<(&'s str, Node<'t>)> {
    if n.kind() != "assignment" {
        return None;
    }
    let l = n
        .child_by_field_name("left")
        .filter(|l| l.kind() == "identifier")?;
    Some((text(l, src), n.child_by_field_name("right")?))
}

/// Module-level `name = value` statements: (assignment node, name, value).
pub fn module_assignments<'t, 's>(
    root: Node<'t>,
    src: &'s str,
) -> Vec<(Node<'t>, &'s str, Node<'t>)> {
    let mut c = root.walk();
    let stmts: Vec<Node<'t>> = root.named_children(&mut c).collect();
    stmts
        .into_iter()
        .filter(|s| s.kind() == "expression_statement")
        .filter_map(|s| s.named_child(0))
        .filter_map(|a| name_assignment(a, src).map(|(n, r)| (a, n, r)))
        .collect()
}

/// Strips `await`, parentheses and `x or default`.
pub fn unwrap_expr(mut node: Node<'_>) -> Node<'_> {
    for _ in 0..16 {
        let next = match node.kind() {
            "await" | "parenthesized_expression" => node.named_child(0),
            "boolean_operator" => node.child_by_field_name("left"),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// Strips parentheses only (`(True, n)` stays a tuple).
pub fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(c) => node = c,
            None => break,
        }
    }
    node
}

/// The first `return` under `node` in the same scope, if any.
pub fn first_return(node: Node<'_>) -> Option<Node<'_>> {
    let mut found = None;
    crate::model::facts::visit_same_scope(node, |m| {
        if found.is_none() && m.kind() == "return_statement" {
            found = Some(m);
        }
    });
    found
}

/// The `return` in the body of `if_stmt` when that body raises nothing: the early exit
/// of `if not secret: log(...); return`.
pub fn if_returns_without_raise(if_stmt: Node<'_>) -> Option<Node<'_>> {
    let body = if_stmt.child_by_field_name("consequence")?;
    if contains_kind(body, &["raise_statement"]) {
        return None;
    }
    first_return(body)
}

/// Whether a node of one of `kinds` occurs under `node` in the same scope.
pub fn contains_kind(node: Node<'_>, kinds: &[&str]) -> bool {
    let mut found = false;
    crate::model::facts::visit_same_scope(node, |m| {
        found |= kinds.contains(&m.kind());
    });
    found
}

/// Handler functions of the file's routes, and the module-level functions they call
/// directly by name (one level), as indexes into `facts.functions`, with the route the
/// function serves (`describe()` text) and the call site when reached through a helper.
pub(crate) fn request_path_functions(
    ctx: &FileContext<'_>,
    facts: &PyFacts,
) -> Vec<(usize, String, bool)> {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let mut out: Vec<(usize, String, bool)> = Vec::new();
    let mut seen = HashSet::new();
    for route in &facts.routes {
        if seen.insert(route.function) {
            out.push((route.function, route.describe(), false));
        }
    }
    let handlers: Vec<(usize, String)> = out.iter().map(|(i, r, _)| (*i, r.clone())).collect();
    for (fi, route) in handlers {
        let Some(f) = facts.functions.get(fi) else {
            continue;
        };
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        visit_same_scope(body, |n| {
            if n.kind() != "call" {
                return;
            }
            let Some(func) = n.child_by_field_name("function") else {
                return;
            };
            if func.kind() != "identifier" {
                return;
            }
            let name = text(func, src);
            if let Some(hi) = facts
                .functions
                .iter()
                .position(|g| g.class.is_none() && g.name == name && g.name != f.name)
            {
                if seen.insert(hi) {
                    out.push((hi, route.clone(), true));
                }
            }
        });
    }
    out
}

pub(crate) fn body_node<'t>(root: Node<'t>, f: &PyFunction) -> Option<Node<'t>> {
    node_at(root, f.body.0, f.body.1)
}

/// Root identifier of a call chain (`db` of `db.query(X).filter(..).first()`) and the
/// method names along it, outermost last.
pub(crate) fn chain<'s>(call: Node<'_>, src: &'s str) -> Option<(&'s str, Vec<&'s str>)> {
    let mut methods = Vec::new();
    let mut node = call;
    for _ in 0..64 {
        match node.kind() {
            "call" => node = node.child_by_field_name("function")?,
            "attribute" => {
                methods.push(text(node.child_by_field_name("attribute")?, src));
                node = node.child_by_field_name("object")?;
            }
            "subscript" => node = node.child_by_field_name("value")?,
            "identifier" => {
                methods.reverse();
                return Some((text(node, src), methods));
            }
            _ => return None,
        }
    }
    None
}

/// The name a Python expression stands for, for rules that judge a value by what it is
/// called: `token` for `token`, `self.token` or `get_token()`; the key for
/// `headers["X-Signature"]` and `headers.get("X-Signature")`. Literals and operators
/// have no name.
pub fn expr_name(node: Node<'_>, text: &str) -> Option<String> {
    let src = text.as_bytes();
    let mut node = node;
    // Bounded: each step goes to a strictly smaller child.
    for _ in 0..64 {
        match node.kind() {
            "identifier" => return node.utf8_text(src).ok().map(str::to_string),
            "attribute" => {
                return node
                    .child_by_field_name("attribute")?
                    .utf8_text(src)
                    .ok()
                    .map(str::to_string)
            }
            "subscript" => match node.child_by_field_name("subscript") {
                Some(key) if key.kind() == "string" => return string_literal(key, text),
                _ => node = node.child_by_field_name("value")?,
            },
            "call" => {
                let function = node.child_by_field_name("function")?;
                let method = function
                    .child_by_field_name("attribute")
                    .and_then(|m| m.utf8_text(src).ok());
                if function.kind() == "attribute"
                    && matches!(method, Some("get" | "getlist" | "getheader" | "pop"))
                {
                    let first = node
                        .child_by_field_name("arguments")
                        .and_then(|a| a.named_child(0))
                        .filter(|a| a.kind() == "string");
                    if let Some(key) = first {
                        return string_literal(key, text);
                    }
                }
                node = function;
            }
            "parenthesized_expression" | "await" => node = node.named_child(0)?,
            _ => return None,
        }
    }
    None
}

/// Content of a plain string literal (no interpolation).
fn string_literal(node: Node<'_>, text: &str) -> Option<String> {
    let mut out = String::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "string_content" => out.push_str(child.utf8_text(text.as_bytes()).ok()?),
            "string_start" | "string_end" => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Web framework packages: a file importing one is part of a web service.
pub const WEB_FRAMEWORKS: &[&str] = &[
    "flask",
    "fastapi",
    "starlette",
    "django",
    "rest_framework",
    "werkzeug",
    "aiohttp",
    "tornado",
    "falcon",
    "sanic",
    "bottle",
    "pyramid",
    "litestar",
    "quart",
];

/// A command-line program: it parses its own arguments (argparse, click, typer, fire) and
/// imports no web framework, so its coroutines serve the one user who started it.
pub fn is_command_line_module(facts: &PyFacts) -> bool {
    imports_command_line(facts.imports.values().map(String::as_str))
}

/// Of a module's imports (qualified names): an argument parser and no web framework.
pub fn imports_command_line<'q>(imports: impl Iterator<Item = &'q str>) -> bool {
    let packages: Vec<&str> = imports.map(|q| q.split('.').next().unwrap_or(q)).collect();
    packages
        .iter()
        .any(|p| matches!(*p, "argparse" | "click" | "typer" | "fire"))
        && !packages.iter().any(|p| WEB_FRAMEWORKS.contains(p))
}

/// `node` sits in a module-level function that this file calls only from its
/// `if __name__ == "__main__":` block (`def main(): app.run(debug=True)` ... `main()`): a
/// developer entry point like the guard itself.
pub fn in_main_only_function(node: Node<'_>, src: &str) -> bool {
    let mut cur = node.parent();
    let mut func = None;
    while let Some(p) = cur {
        if p.kind() == "function_definition" {
            func = Some(p);
        }
        cur = p.parent();
    }
    let Some(func) = func else {
        return false;
    };
    // Module level only (not a method).
    if func.parent().is_some_and(|p| p.kind() != "module") {
        return false;
    }
    let Some(name) = func.child_by_field_name("name").map(|n| text(n, src)) else {
        return false;
    };
    let Some(module) = func.parent() else {
        return false;
    };
    // A call of the function itself, not of one whose name ends like it (`run_main(`).
    let calls = |t: &str| {
        t.match_indices(&format!("{name}(")).any(|(i, _)| {
            !t[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
    };
    let mut from_guard = false;
    let mut cursor = module.walk();
    for stmt in module.named_children(&mut cursor) {
        if stmt.id() == func.id() {
            continue;
        }
        let t = text(stmt, src);
        if !calls(t) {
            continue;
        }
        let guard = stmt.kind() == "if_statement"
            && stmt
                .child_by_field_name("condition")
                .is_some_and(|c| is_main_condition(text(c, src).trim()));
        if !guard {
            return false;
        }
        from_guard = true;
    }
    from_guard
}

/// `__name__ == "__main__"` (either order, either quote).
static MAIN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"^__name__\s*==\s*['"]__main__['"]$|^['"]__main__['"]\s*==\s*__name__$"#)
        .expect("static regex")
});

fn is_main_condition(t: &str) -> bool {
    MAIN.is_match(t)
}

/// Inside `if __name__ == "__main__":` (either order): code that runs only when the module
/// is executed by hand as a script, never when imported.
pub fn in_main_guard(node: Node<'_>, src: &str) -> bool {
    let mut cur = node.parent();
    while let Some(p) = cur {
        if p.kind() == "if_statement"
            && p.child_by_field_name("condition")
                .is_some_and(|c| MAIN.is_match(text(c, src).trim()))
        {
            return true;
        }
        cur = p.parent();
    }
    false
}

/// An ACME challenge value: a `token` (or `challenge`, `validation`, `key_authorization`)
/// in a function that writes it into a DNS TXT record, compares it with a TXT answer or
/// uploads it as an HTTP-01 challenge (`"TXT"`, `txt_record`, `txtdata`, `_acme-challenge`,
/// `acme_token`, `.well-known/acme-challenge`). The CA reads that value from public DNS or
/// a public URL, so it is no credential. A name that says more (`api_token`,
/// `auth_token`) is the provider's credential and is not one.
pub fn acme_challenge_value(node: Node<'_>, src: &str) -> bool {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:(?:acme|challenge|dns|txt|record|validation)_)*(?:token|challenge|validation|key_?authorization|txt_?value)$")
            .expect("static regex")
    });
    static CHALLENGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)["']TXT["']|txt_?records?|\btxtdata\b|_acme-challenge|acme_?challenge|\bacme_token\b|upload_acme_token|\bdns-01\b|\bhttp-01\b|\.well-known/acme"#)
            .expect("static regex")
    });
    if !expr_name(node, src).is_some_and(|n| NAME.is_match(&n)) {
        return false;
    }
    enclosing_function(node)
        .is_some_and(|f| CHALLENGE.is_match(f.utf8_text(src.as_bytes()).unwrap_or("")))
}

/// The innermost `def` around `node` (itself when it is one).
pub fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut func = node;
    while func.kind() != "function_definition" {
        func = func.parent()?;
    }
    Some(func)
}
