//! Intra-procedural taint tracking for Python web handlers.
//!
//! Sources: a route handler's request parameters (not its dependencies) and `request.*`
//! reads (Flask, Django, Starlette). Taint flows through assignments, f-strings, `+`, `%`,
//! `.format`, `os.path.join`, `Path(..) /`, containers and calls (conservatively: a call
//! with a tainted argument returns taint). Sanitisers: `int()`, `float()`, `uuid.UUID()`,
//! `Path(x).name`/`.stem`, `os.path.basename()`, an allow-list or regex check that leaves
//! the function (`if x not in ALLOWED: abort(400)`, `if not re.match(r"^[a-z]+$", x):
//! raise`), a `Path.resolve().is_relative_to(base)` or `p.absolute().parent != base` check
//! that leaves the function.
//!
//! One forward pass over the function's statements in source order, iterative.

use crate::model::facts::python::{text, PyFacts, PyFunction};
use crate::model::facts::visit_same_scope;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

/// A step of a trace: byte range and what happened there.
pub type Step = (usize, usize, String);

#[derive(Debug, Clone)]
pub struct Taint {
    pub trace: Vec<Step>,
    /// Built by string formatting (f-string, `%`, `+`, `.format`).
    pub formatted: bool,
}

/// What a sink sees: a tainted expression, with the trace that led there.
pub struct Flow<'t> {
    pub call: Node<'t>,
    pub callee: String,
    pub arg: Node<'t>,
    pub taint: Taint,
}

/// Project-specific taint sources and sanitizers (configuration `[taint]`), as the callee
/// spellings they have in one file: `myapp.urls.validate_url` imported as
/// `from myapp.urls import validate_url as check` is spelled `check` there.
#[derive(Debug, Default)]
pub struct Policy {
    sources: Vec<String>,
    sanitizers: Vec<String>,
}

impl Policy {
    pub fn new(facts: &PyFacts, cfg: &crate::model::taint::TaintConfig) -> Policy {
        let spell = |names: &[String]| {
            let mut out = Vec::new();
            for q in names {
                for (local, imported) in &facts.imports {
                    if q == imported {
                        out.push(local.clone());
                    } else if let Some(rest) = q.strip_prefix(imported.as_str()) {
                        if let Some(rest) = rest.strip_prefix('.') {
                            out.push(format!("{local}.{rest}"));
                        }
                    }
                }
                // Defined in this very file.
                if let Some(last) = q.rsplit('.').next() {
                    if facts.local_defs.contains(last) {
                        out.push(last.to_string());
                    }
                }
            }
            out.sort();
            out.dedup();
            out
        };
        Policy {
            sources: spell(&cfg.sources),
            sanitizers: spell(&cfg.sanitizers),
        }
    }

    fn is_sanitizer(&self, callee: &str) -> bool {
        self.sanitizers.iter().any(|s| s == callee)
    }

    pub fn sanitizer_names(&self) -> impl Iterator<Item = &str> {
        self.sanitizers.iter().map(String::as_str)
    }

    fn is_source(&self, callee: &str) -> bool {
        self.sources.iter().any(|s| s == callee)
    }
}

/// Direct reads of the request.
static REQUEST_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\brequest\.(?:args|form|json|values|files|headers|cookies|get_json\(|GET|POST|body|data|query_params|path_params|FILES|META)\b")
        .expect("static regex")
});

/// Annotations of parameters that are not request input, or only safe request input.
static SAFE_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:int|float|bool|UUID|uuid\.UUID|datetime|date|Decimal|PositiveInt|NonNegativeInt|conint\(.*|Session|AsyncSession|Request|Response|BackgroundTasks|WebSocket|HTTPConnection)$")
        .expect("static regex")
});

/// A whole expression that yields a safe value whatever its input.
static SANITISER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:int|float|bool|len|uuid\.UUID|UUID|secure_filename|werkzeug\.utils\.secure_filename|quote|urllib\.parse\.quote|shlex\.quote|escape|html\.escape|hash|hashlib\.\w+|safe_join|werkzeug\.utils\.safe_join|werkzeug\.security\.safe_join)\(")
        .expect("static regex")
});

/// The last component of a path, which cannot climb: `Path(name).name`, `Path(f).stem`.
static LAST_COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:pathlib\.)?(?:Pure\w*)?Path\((?s:.*)\)\.(?:name|stem)$|^(?:os\.path|posixpath)\.basename\(")
        .expect("static regex")
});

/// The sources of a handler: request parameters of a route, by name.
pub fn handler_sources(facts: &PyFacts, f: &PyFunction, is_route: bool) -> HashMap<String, Taint> {
    let mut out = HashMap::new();
    if !is_route {
        return out;
    }
    for p in &f.params {
        if matches!(
            p.name.as_str(),
            "self" | "cls" | "request" | "db" | "session"
        ) {
            continue;
        }
        let dep = [&p.default, &p.annotation]
            .into_iter()
            .flatten()
            .any(|t| t.contains("Depends(") || t.contains("Security("));
        if dep {
            continue;
        }
        if let Some(a) = &p.annotation {
            let base = a.trim();
            let base = base
                .strip_prefix("Annotated[")
                .map(|b| b.split(',').next().unwrap_or(b).trim())
                .unwrap_or(base);
            if SAFE_TYPE.is_match(base)
                || facts.imports.get(base).is_some_and(|q| q.contains("deps"))
            {
                continue;
            }
            // Pydantic models and other classes: their string fields are input too, but
            // reported only when a field reaches a sink by attribute (`body.url`).
        }
        out.insert(
            p.name.clone(),
            Taint {
                trace: vec![(p.start, p.end, format!("`{}` is request input", p.name))],
                formatted: false,
            },
        );
    }
    out
}

fn is_formatting(n: Node<'_>, src: &str) -> bool {
    match n.kind() {
        "string" => {
            let mut c = n.walk();
            let has = n
                .named_children(&mut c)
                .any(|ch| ch.kind() == "interpolation");
            has
        }
        "binary_operator" => {
            let op = n.child_by_field_name("operator").map(|o| text(o, src));
            matches!(op, Some("+" | "%"))
        }
        "call" => n
            .child_by_field_name("function")
            .is_some_and(|f| text(f, src).ends_with(".format") || text(f, src).ends_with(".join")),
        "concatenated_string" => true,
        _ => false,
    }
}

/// The taint of an expression, if any: a tainted name in it or a request read.
pub fn expr_taint(
    n: Node<'_>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &Policy,
) -> Option<Taint> {
    expr_taint_at(n, src, env, policy, 0)
}

/// Bounded: method chains recurse on their receiver at most 16 deep.
fn expr_taint_at(
    n: Node<'_>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &Policy,
    depth: usize,
) -> Option<Taint> {
    if depth > 16 {
        return None;
    }
    // `await call(..)` is what the call returns.
    if n.kind() == "await" {
        return expr_taint_at(n.named_child(0)?, src, env, policy, depth + 1);
    }
    // `a if cond else b` yields `a` or `b`, never the condition.
    if n.kind() == "conditional_expression" {
        let mut c = n.walk();
        let parts: Vec<Node<'_>> = n.named_children(&mut c).collect();
        return [parts.first(), parts.get(2)]
            .into_iter()
            .flatten()
            .find_map(|p| expr_taint_at(*p, src, env, policy, depth + 1));
    }
    if matches!(
        n.kind(),
        "generator_expression" | "list_comprehension" | "set_comprehension"
    ) {
        // What the comprehension yields: `(safe_join(root, p) for p in parts)` is clean.
        return expr_taint_at(n.child_by_field_name("body")?, src, env, policy, depth + 1);
    }
    let t = text(n, src);
    if SANITISER.is_match(t) || LAST_COMPONENT.is_match(t) {
        return None;
    }
    let formatted = is_formatting(n, src);
    if n.kind() == "call" {
        let callee = n
            .child_by_field_name("function")
            .map_or("", |f| text(f, src));
        if policy.is_sanitizer(callee) {
            return None;
        }
        if policy.is_source(callee) {
            return Some(Taint {
                trace: vec![(
                    n.start_byte(),
                    n.end_byte(),
                    format!("`{callee}(..)` is a configured taint source"),
                )],
                formatted: false,
            });
        }
        if !propagates(n, src, env, policy, depth) {
            return None;
        }
    }
    if let Some(m) = REQUEST_SOURCE.find(t) {
        let start = n.start_byte() + m.start();
        return Some(Taint {
            trace: vec![(
                start,
                start + m.len(),
                format!("`{}` is request input", m.as_str()),
            )],
            formatted,
        });
    }
    // The first tainted identifier in the expression (not an attribute name, not a
    // keyword argument's name, not inside a string but in an interpolation).
    let mut best: Option<&Taint> = None;
    crate::model::facts::visit(n, |x| {
        if best.is_some() {
            return false;
        }
        // A tainted field read (`hook.url`, `row["url"]` in a second-order environment).
        if matches!(x.kind(), "attribute" | "subscript") {
            if let Some(t) = env.get(text(x, src)) {
                best = Some(t);
                return false;
            }
        }
        if x.kind() == "identifier" {
            let p = x.parent();
            let is_attr_name = p.is_some_and(|p| {
                p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(x)
            });
            let is_kw_name = p.is_some_and(|p| {
                p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(x)
            });
            if !is_attr_name && !is_kw_name {
                if let Some(t) = env.get(text(x, src)) {
                    best = Some(t);
                }
            }
        }
        // Lambdas and comprehensions bind their own names; still conservative enough.
        true
    });
    best.map(|taint| Taint {
        trace: taint.trace.clone(),
        formatted: formatted || taint.formatted,
    })
}

/// Whether a call's result carries its arguments' taint: string and path operations, a
/// method of a tainted value, containers. Other functions are assumed to return something
/// else (a record, a file object): precision over recall.
fn propagates(
    call: Node<'_>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &Policy,
    depth: usize,
) -> bool {
    static PROPAGATING: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:str|repr|format|f|list|tuple|dict|set|sorted|reversed|Path|pathlib\.Path|PurePath|os\.path\.\w+|posixpath\.\w+|os\.fspath|urljoin|urllib\.parse\.urljoin|[\w.]+\.joinpath|[\w.]+\.with_name|[\w.]+\.with_suffix|\w+\.format|\w+\.join|\w+\.replace|\w+\.strip|\w+\.lower|\w+\.upper)$")
            .expect("static regex")
    });
    let Some(func) = call.child_by_field_name("function") else {
        return false;
    };
    let callee = text(func, src);
    if PROPAGATING.is_match(callee) || REQUEST_SOURCE.is_match(callee) {
        return true;
    }
    // `name.strip()`, `request.args.get("x")`, `target.resolve()`: a method of a tainted value.
    func.kind() == "attribute"
        && func
            .child_by_field_name("object")
            .is_some_and(|o| expr_taint_at(o, src, env, policy, depth + 1).is_some())
}

/// Names an `if` condition vets when its body leaves the function: `x not in ALLOWED`,
/// `not p.is_relative_to(base)`, `not x.isdigit()`, `not RE.fullmatch(x)`.
fn vetted_names(cond: &str) -> Vec<String> {
    static VET: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(\w+)(?:\.\w+\(\))?\s+(?:not\s+)?in\s+[\w.]+\s*$|(\w+)(?:\.\w+\(\))?\s+not\s+in\s+|not\s+(\w+)(?:\.resolve\(\))?\.is_relative_to\(|not\s+(\w+)\.(?:isdigit|isalnum|isidentifier)\(\)|not\s+re\.(?:fullmatch|match)\(\s*[rbuRBU]*(?:"[^"]*"|'[^']*')\s*,\s*(\w+)|not\s+[\w.]+\.(?:fullmatch|match)\(\s*(\w+)|(\w+)\.(?:absolute|resolve)\(\)\.parent\s*!="#)
            .expect("static regex")
    });
    VET.captures_iter(cond)
        .filter_map(|c| {
            (1..=7)
                .find_map(|i| c.get(i))
                .map(|m| m.as_str().to_string())
        })
        .collect()
}

/// Names passed directly to a configured sanitizer called in `node`.
fn validated_names(node: Node<'_>, src: &str, policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    if policy.sanitizers.is_empty() {
        return out;
    }
    crate::model::facts::visit(node, |x| {
        if x.kind() == "call" {
            let callee = x
                .child_by_field_name("function")
                .map_or("", |f| text(f, src));
            if policy.is_sanitizer(callee) {
                if let Some(args) = x.child_by_field_name("arguments") {
                    let mut c = args.walk();
                    for a in args.named_children(&mut c) {
                        if a.kind() == "identifier" {
                            out.push(text(a, src).to_string());
                        }
                    }
                }
            }
        }
        true
    });
    out
}

fn leaves(block: Node<'_>, src: &str) -> bool {
    let t = text(block, src);
    t.contains("raise") || t.contains("abort(") || t.contains("return")
}

/// Walks `body` in source order, keeping the taint of local names, and calls `sink` on
/// each call with the taint of each of its arguments.
pub fn run<'t>(
    body: Node<'t>,
    src: &str,
    mut env: HashMap<String, Taint>,
    policy: &Policy,
    mut sink: impl FnMut(Node<'t>, &HashMap<String, Taint>),
) {
    visit_same_scope(body, |n| match n.kind() {
        "assignment" | "augmented_assignment" => {
            // Sinks that look at stores (`hook.url = body.url`) see the assignment first.
            sink(n, &env);
            let (Some(left), Some(right)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            let names: Vec<String> = match left.kind() {
                "identifier" => vec![text(left, src).to_string()],
                "pattern_list" | "tuple_pattern" => {
                    let mut c = left.walk();
                    left.named_children(&mut c)
                        .filter(|x| x.kind() == "identifier")
                        .map(|x| text(x, src).to_string())
                        .collect()
                }
                _ => Vec::new(),
            };
            let augmented = n.kind() == "augmented_assignment";
            match expr_taint(right, src, &env, policy) {
                Some(mut t) => {
                    for name in names {
                        t.trace.push((
                            n.start_byte(),
                            n.end_byte(),
                            format!("flows into `{name}`"),
                        ));
                        env.insert(name, t.clone());
                    }
                }
                None if !augmented => {
                    for name in names {
                        env.remove(&name);
                    }
                }
                None => {}
            }
        }
        "for_statement" => {
            if let (Some(left), Some(right)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                if left.kind() == "identifier" {
                    if let Some(mut t) = expr_taint(right, src, &env, policy) {
                        t.trace
                            .push((left.start_byte(), left.end_byte(), "iterated".into()));
                        env.insert(text(left, src).to_string(), t);
                    }
                }
            }
        }
        "if_statement" => {
            let (Some(cond), Some(cons)) = (
                n.child_by_field_name("condition"),
                n.child_by_field_name("consequence"),
            ) else {
                return;
            };
            let cond_text = text(cond, src);
            // `if x in ALLOWED:` vets x inside; `if x not in ALLOWED: abort()` after.
            let positive = !cond_text.contains("not ") && !cond_text.contains("!=");
            if positive || leaves(cons, src) {
                for name in vetted_names(cond_text) {
                    env.remove(&name);
                }
                // `if not validate_url(url): abort(400)` with a configured validator.
                for name in validated_names(cond, src, policy) {
                    env.remove(&name);
                }
            }
        }
        "call" => {
            // `validate_url(url)` as a statement: a configured validator that raises.
            if n.parent()
                .is_some_and(|p| p.kind() == "expression_statement")
            {
                for name in validated_names(n, src, policy) {
                    env.remove(&name);
                }
            }
            sink(n, &env)
        }
        _ => {}
    });
}

/// Project-specific taint sources and sanitizers (qualified names such as
/// `myapp.http.query_param`), read by taint-tracking rules.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaintConfig {
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub sanitizers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vetting_conditions() {
        assert_eq!(vetted_names("fmt not in ALLOWED"), ["fmt"]);
        assert_eq!(vetted_names("not target.is_relative_to(base)"), ["target"]);
        assert_eq!(vetted_names("not p.resolve().is_relative_to(BASE)"), ["p"]);
        assert_eq!(
            vetted_names(r#"not re.match(r"^[a-z_]+$", page)"#),
            ["page"]
        );
        assert_eq!(vetted_names("dest.absolute().parent != UPLOADS"), ["dest"]);
    }
}
