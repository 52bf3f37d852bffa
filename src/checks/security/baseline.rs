//! Shared ground of the baseline rules (SEC030–SEC042), the checks Bandit and Ruff's `S`
//! rules make, narrowed to uses whose input or context makes them a risk: one walk over
//! the calls of a file with their import-resolved names, and the questions those rules ask
//! about an argument (constant? built in place from other values?) and its context (a web
//! file, a request handler, a name that says "password").

use crate::checks::py::facts;
use crate::checks::FileContext;
use crate::model::facts::python::{text, PyFacts};
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// A call of the file: the node, the callee as written, its import-resolved name (the
/// written text when it resolves to nothing) and the argument list.
pub struct Call<'t, 's> {
    pub node: Node<'t>,
    pub written: &'s str,
    pub name: String,
    pub args: Node<'t>,
}

impl Call<'_, '_> {
    /// Last dotted part of the callee (`extractall` of `tf.extractall`).
    pub fn last(&self) -> &str {
        self.written.rsplit('.').next().unwrap_or(self.written)
    }
}

/// Every call of a Python file, in source order.
pub fn calls<'a>(ctx: &FileContext<'a>) -> Option<(&'a PyFacts, Vec<Call<'a, 'a>>)> {
    let facts = facts(ctx)?;
    let src: &'a str = ctx.file.text.as_str();
    let mut out = Vec::new();
    crate::checks::py::visit(ctx.tree.root_node(), |n| {
        if n.kind() == "call" {
            if let (Some(f), Some(args)) = (
                n.child_by_field_name("function"),
                n.child_by_field_name("arguments"),
            ) {
                if args.kind() == "argument_list" {
                    let written = text(f, src);
                    let name = facts
                        .resolve(written)
                        .unwrap_or_else(|| written.to_string());
                    out.push(Call {
                        node: n,
                        written,
                        name,
                        args,
                    });
                }
            }
        }
        true
    });
    Some((facts, out))
}

/// What an argument is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Literals only (strings without interpolation, numbers, containers of them,
    /// UPPER_CASE module constants).
    Constant,
    /// Text built in place from non-constant values: an f-string with interpolations,
    /// `%`, `+`, `.format(..)`, `" ".join(..)` of non-constants.
    Built,
    /// Anything else: a variable, an attribute, a call's result.
    Opaque,
}

static CONST_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Z][A-Z0-9_]+$").expect("re"));

/// The shape of an expression (bounded: deep nests count as opaque).
pub fn shape(node: Node<'_>, src: &str) -> Shape {
    shape_at(node, src, 0)
}

fn shape_at(node: Node<'_>, src: &str, depth: usize) -> Shape {
    if depth > 12 {
        return Shape::Opaque;
    }
    let join = |a: Shape, b: Shape| match (a, b) {
        (Shape::Constant, Shape::Constant) => Shape::Constant,
        _ => Shape::Built,
    };
    match node.kind() {
        "string" => {
            let mut c = node.walk();
            let interpolated = node
                .named_children(&mut c)
                .any(|ch| ch.kind() == "interpolation");
            if interpolated {
                Shape::Built
            } else {
                Shape::Constant
            }
        }
        "concatenated_string" => {
            let mut c = node.walk();
            let kids: Vec<Node<'_>> = node.named_children(&mut c).collect();
            kids.into_iter()
                .map(|k| shape_at(k, src, depth + 1))
                .fold(Shape::Constant, join)
        }
        "integer" | "float" | "true" | "false" | "none" => Shape::Constant,
        "parenthesized_expression" => node
            .named_child(0)
            .map_or(Shape::Opaque, |c| shape_at(c, src, depth + 1)),
        "list" | "tuple" | "set" => {
            let mut c = node.walk();
            let kids: Vec<Node<'_>> = node.named_children(&mut c).collect();
            let mut out = Shape::Constant;
            for k in kids {
                match shape_at(k, src, depth + 1) {
                    Shape::Constant => {}
                    _ => out = Shape::Built,
                }
            }
            out
        }
        "identifier" | "attribute" if CONST_NAME.is_match(text(node, src)) => Shape::Constant,
        "binary_operator" => {
            let (Some(l), Some(r)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            ) else {
                return Shape::Opaque;
            };
            let (ls, rs) = (shape_at(l, src, depth + 1), shape_at(r, src, depth + 1));
            let stringy = is_stringy(l) || is_stringy(r);
            match (ls, rs) {
                (Shape::Constant, Shape::Constant) => Shape::Constant,
                _ if stringy => Shape::Built,
                _ => Shape::Opaque,
            }
        }
        "call" => {
            // "...".format(x), " ".join(parts)
            let Some(f) = node.child_by_field_name("function") else {
                return Shape::Opaque;
            };
            let args = node.child_by_field_name("arguments");
            if f.kind() == "attribute" {
                let obj = f.child_by_field_name("object");
                let attr = f.child_by_field_name("attribute").map(|a| text(a, src));
                if let (Some(obj), Some("format" | "join")) = (obj, attr) {
                    if is_stringy(obj) {
                        let all_const = args.is_none_or(|a| {
                            let mut c = a.walk();
                            let kids: Vec<Node<'_>> = a.named_children(&mut c).collect();
                            kids.into_iter().all(|k| {
                                let v = if k.kind() == "keyword_argument" {
                                    k.child_by_field_name("value").unwrap_or(k)
                                } else {
                                    k
                                };
                                shape_at(v, src, depth + 1) == Shape::Constant
                            })
                        });
                        return if all_const {
                            Shape::Constant
                        } else {
                            Shape::Built
                        };
                    }
                }
            }
            Shape::Opaque
        }
        _ => Shape::Opaque,
    }
}

fn is_stringy(n: Node<'_>) -> bool {
    let n = crate::checks::py::unparen(n);
    matches!(n.kind(), "string" | "concatenated_string")
        || (n.kind() == "binary_operator"
            && (n.child_by_field_name("left").is_some_and(is_stringy)
                || n.child_by_field_name("right").is_some_and(is_stringy)))
}

/// The file belongs to a web service (imports a web framework or declares routes).
pub fn web_file(facts: &PyFacts) -> bool {
    !facts.routes.is_empty()
        || crate::checks::py::WEB_FRAMEWORKS
            .iter()
            .any(|p| facts.imports_package(p))
}

/// The call sits in a route handler of this file.
pub fn in_handler(facts: &PyFacts, byte: usize) -> bool {
    facts.routes.iter().any(|r| {
        facts
            .functions
            .get(r.function)
            .is_some_and(|f| f.start <= byte && byte <= f.end)
    })
}

pub use crate::checks::py::in_main_guard;

/// The names a value flows into: the assignment target(s) around it, the keyword it is
/// passed as, and the enclosing function's name when it is returned or yielded.
pub fn destination_names(node: Node<'_>, src: &str, facts: &PyFacts) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = node;
    for _ in 0..10 {
        let Some(p) = cur.parent() else { break };
        match p.kind() {
            "assignment" | "augmented_assignment" => {
                if let Some(l) = p.child_by_field_name("left") {
                    out.push(text(l, src).to_string());
                }
                break;
            }
            "keyword_argument" => {
                if let Some(n) = p.child_by_field_name("name") {
                    out.push(text(n, src).to_string());
                }
                break;
            }
            "pair" => {
                if let Some(k) = p.child_by_field_name("key") {
                    out.push(text(k, src).trim_matches(['"', '\'']).to_string());
                }
                break;
            }
            "return_statement" | "yield" | "lambda" => {
                if let Some(f) = facts.function_at(node.start_byte()) {
                    out.push(f.name.clone());
                }
                break;
            }
            "expression_statement" | "block" | "module" | "function_definition" => break,
            _ => cur = p,
        }
    }
    out
}

/// `usedforsecurity=False` or another keyword with a literal `False`/`True` value.
pub fn keyword_is(args: Node<'_>, name: &str, value: &str, src: &str) -> bool {
    crate::checks::py::keyword_arg(args, name, src).is_some_and(|v| text(v, src) == value)
}
