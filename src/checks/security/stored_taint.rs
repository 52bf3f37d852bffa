//! Second-order taint (SEC020–SEC023 across files): request input a handler stores in a
//! model field (`PartnerHook(url=body.url)`, `hook.url = body.url`,
//! `Hook.objects.create(url=..)`) makes that field attacker-controlled project-wide; a read
//! of the field on a row of that model elsewhere (`hook.url` where `hook` was loaded with
//! `session.get(Hook, id)`, `Hook.objects.get(..)`, `select(Hook)`, built, or annotated
//! `hook: Hook`) that reaches a SQL, command, URL or file sink is reported there, medium
//! confidence, with a trace from the store to the use. A check that leaves the function
//! before the store or before the use (allow-list, URL validator, host check,
//! `is_relative_to`) clears it. Per file, [`file_facts`] finds the stores and the uses (kept
//! in the file's project index part); the index checks join them by (model, field).

use super::taint::{sink, Kind, URL_VALIDATOR};
use crate::checks::py::node_at;
use crate::checks::{ChainHit, Confidence};
use crate::model::facts::python::{text, PyFacts, PyFunction};
use crate::model::pyindex::ProjectIndex;
use crate::model::stored::{FieldStore, FieldUse, SinkKind, StoredFacts};
use crate::model::taint::{self, Taint};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use tree_sitter::{Node, Tree};

/// Where a name gets a model row: `Hook(..)`, `Hook.objects..`, `Hook.query..`,
/// `session.get(Hook, ..)`, `get_object_or_404(Hook, ..)`, `select(Hook)`.
static ROW_OF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:await\s+)?(?:[\w.]+\.)?([A-Z]\w*)\(|\b([A-Z]\w*)\.(?:objects|query)\b|\b(?:get|get_object_or_404|get_or_404|first_or_404|aget|aget_object_or_404)\(\s*([A-Z]\w*)\s*[,)]|\b(?:select|query)\(\s*([A-Z]\w*)\s*[,)]")
        .expect("static regex")
});

/// Loop sources: the same, without the constructor.
static ROWS_OF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Z]\w*)\.(?:objects|query)\b|\b(?:select|query)\(\s*([A-Z]\w*)\s*[,)]")
        .expect("static regex")
});

/// Calls that build something other than a stored row.
static NOT_A_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Exception|Error|Response|Request|Client|Session|Path|Schema|Form|In|Out|Create|Update|Read|Public|Payload|Body|Params|Query|Event|Message|Task|Job|Dict|List|Set|Tuple)$")
        .expect("static regex")
});

/// Checks before a use that clear a stored value for each sink family.
static PATH_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:is_relative_to|relative_to|commonpath|secure_filename|safe_join|basename)\(")
        .expect("static regex")
});

static HOST_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.(?:hostname|netloc|host)\s+(?:not\s+)?in\b").expect("static regex")
});

fn sink_kind(k: Kind) -> SinkKind {
    match k {
        Kind::Sql => SinkKind::Sql,
        Kind::Command => SinkKind::Command,
        Kind::Ssrf => SinkKind::Ssrf,
        Kind::Path => SinkKind::Path,
    }
}

/// A model class name from an annotation: `Hook`, `Optional[Hook]`, `Hook | None`.
fn annotated_model(a: &str) -> Option<String> {
    let a = a.trim();
    let a = a
        .strip_prefix("Optional[")
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(a);
    let a = a.split('|').next().unwrap_or(a).trim();
    let a = a.rsplit('.').next().unwrap_or(a);
    (a.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && a.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !NOT_A_ROW.is_match(a))
    .then(|| a.to_string())
}

fn row_model(re: &Regex, rhs: &str) -> Option<String> {
    let c = re.captures(rhs)?;
    let m = (1..c.len()).find_map(|i| c.get(i))?.as_str();
    (!NOT_A_ROW.is_match(m)).then(|| m.to_string())
}

/// Names of the function that hold a row of a model, by the model.
fn rows(f: &PyFunction, body: Node<'_>, src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for p in &f.params {
        if let Some(m) = p.annotation.as_deref().and_then(annotated_model) {
            out.insert(p.name.clone(), m);
        }
    }
    crate::model::facts::visit_same_scope(body, |n| {
        let re = match n.kind() {
            "assignment" => &ROW_OF,
            "for_statement" => &ROWS_OF,
            _ => return,
        };
        let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return;
        };
        if l.kind() != "identifier" {
            return;
        }
        let model = row_model(re, text(r, src));
        if let Some(m) = model {
            out.insert(text(l, src).to_string(), m);
        }
    });
    out
}

fn is_request_fn(facts: &PyFacts, fi: usize, body_text: &str) -> bool {
    facts.routes.iter().any(|r| r.function == fi) || body_text.contains("request.")
}

/// The stores and uses of one file.
pub fn file_facts(tree: &Tree, facts: &PyFacts, src: &str) -> StoredFacts {
    let mut out = StoredFacts::default();
    let root = tree.root_node();
    let policy = taint::Policy::default();
    for (fi, f) in facts.functions.iter().enumerate() {
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        let body_text = src.get(f.body.0..f.body.1).unwrap_or("");
        let rows = rows(f, body, src);
        if is_request_fn(facts, fi, body_text) {
            let is_route = facts.routes.iter().any(|r| r.function == fi);
            let env = taint::handler_sources(facts, f, is_route);
            taint::run(body, src, env, &policy, |n, env| {
                stores(n, src, env, &policy, &rows, f.body.0, &mut out.stores);
            });
        }
        uses(facts, f, body, src, &rows, &policy, &mut out.uses);
    }
    out
}

/// Records `Model(field=tainted)`, `Model.objects.create(field=tainted)` and
/// `row.field = tainted` (row a model's) unless checked before.
fn stores(
    n: Node<'_>,
    src: &str,
    env: &HashMap<String, Taint>,
    policy: &taint::Policy,
    rows: &HashMap<String, String>,
    body_start: usize,
    out: &mut Vec<FieldStore>,
) {
    let before = src.get(body_start..n.start_byte()).unwrap_or("");
    if URL_VALIDATOR.is_match(before) || HOST_CHECK.is_match(before) || PATH_CHECK.is_match(before)
    {
        return;
    }
    let mut store = |model: &str, field: &str, value: Node<'_>, at: Node<'_>| {
        if field.starts_with('_') || out.iter().any(|s| s.model == model && s.field == field) {
            return;
        }
        if let Some(t) = taint::expr_taint(value, src, env, policy) {
            let mut trace = t.trace;
            trace.push((
                at.start_byte(),
                at.end_byte(),
                format!("stored as `{model}.{field}`"),
            ));
            out.push(FieldStore {
                model: model.to_string(),
                field: field.to_string(),
                trace,
            });
        }
    };
    match n.kind() {
        "assignment" => {
            let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            if l.kind() != "attribute" {
                return;
            }
            let (Some(o), Some(a)) = (
                l.child_by_field_name("object"),
                l.child_by_field_name("attribute"),
            ) else {
                return;
            };
            if let Some(model) = rows.get(text(o, src)) {
                store(model, text(a, src), r, n);
            }
        }
        "call" => {
            let (Some(func), Some(args)) = (
                n.child_by_field_name("function"),
                n.child_by_field_name("arguments"),
            ) else {
                return;
            };
            let callee = text(func, src);
            let model = if let Some(m) = callee
                .strip_suffix(".objects.create")
                .or_else(|| callee.strip_suffix(".objects.update_or_create"))
                .or_else(|| callee.strip_suffix(".objects.get_or_create"))
            {
                m.rsplit('.').next().unwrap_or(m)
            } else {
                callee.rsplit('.').next().unwrap_or(callee)
            };
            if !model.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                || NOT_A_ROW.is_match(model)
            {
                return;
            }
            let mut c = args.walk();
            let kws: Vec<Node<'_>> = args
                .named_children(&mut c)
                .filter(|a| a.kind() == "keyword_argument")
                .collect();
            for a in kws {
                if let (Some(k), Some(v)) = (
                    a.child_by_field_name("name"),
                    a.child_by_field_name("value"),
                ) {
                    store(model, text(k, src), v, a);
                }
            }
        }
        _ => {}
    }
}

/// Fields of model rows that reach a sink in `f`.
fn uses(
    facts: &PyFacts,
    f: &PyFunction,
    body: Node<'_>,
    src: &str,
    rows: &HashMap<String, String>,
    policy: &taint::Policy,
    out: &mut Vec<FieldUse>,
) {
    if rows.is_empty() {
        return;
    }
    // Every read of a row's field is a candidate source, known by where it is read.
    let mut env: HashMap<String, Taint> = HashMap::new();
    let mut origin: HashMap<usize, (String, String)> = HashMap::new();
    crate::model::facts::visit_same_scope(body, |n| {
        if n.kind() != "attribute" {
            return;
        }
        let (Some(o), Some(a)) = (
            n.child_by_field_name("object"),
            n.child_by_field_name("attribute"),
        ) else {
            return;
        };
        let Some(model) = rows.get(text(o, src)) else {
            return;
        };
        let key = text(n, src).to_string();
        if env.contains_key(&key) {
            return;
        }
        let field = text(a, src).to_string();
        origin.insert(n.start_byte(), (model.clone(), field.clone()));
        env.insert(
            key.clone(),
            Taint {
                trace: vec![(
                    n.start_byte(),
                    n.end_byte(),
                    format!("`{key}` is read back from a stored `{model}`"),
                )],
                formatted: false,
            },
        );
    });
    if env.is_empty() {
        return;
    }
    taint::run(body, src, env, policy, |call, env| {
        if call.kind() != "call" {
            return;
        }
        for kind in [Kind::Sql, Kind::Command, Kind::Ssrf, Kind::Path] {
            let Some((arg, callee, t)) = sink(facts, call, src, env, policy, kind) else {
                continue;
            };
            let Some(&(start, _, _)) = t.trace.first() else {
                continue;
            };
            let Some((model, field)) = origin.get(&start) else {
                continue;
            };
            let before = src.get(f.body.0..call.start_byte()).unwrap_or("");
            let checked = match kind {
                Kind::Ssrf => URL_VALIDATOR.is_match(before) || HOST_CHECK.is_match(before),
                Kind::Path => PATH_CHECK.is_match(before),
                _ => false,
            };
            if checked {
                continue;
            }
            let mut trace = t.trace;
            trace.push((
                arg.start_byte(),
                arg.end_byte(),
                format!("reaches `{callee}`"),
            ));
            out.push(FieldUse {
                model: model.clone(),
                field: field.clone(),
                kind: sink_kind(kind),
                start: call.start_byte(),
                end: call.end_byte(),
                callee,
                arg: text(arg, src).to_string(),
                trace,
            });
        }
    });
}

/// Joins the stores and uses of every file for one sink family.
fn join(ix: &ProjectIndex<'_>, kind: SinkKind, out: &mut Vec<ChainHit>) {
    // Model classes of the project (ORM models by their columns).
    let models: std::collections::HashSet<&str> = ix
        .files
        .iter()
        .flat_map(|f| f.part.classes.iter())
        .filter(|c| c.owned.is_some())
        .map(|c| c.name.as_str())
        .collect();
    // The first store of each field, in path order.
    let mut stored: BTreeMap<(&str, &str), (&str, &FieldStore)> = BTreeMap::new();
    for f in &ix.files {
        for s in &f.part.stored.stores {
            if models.contains(s.model.as_str()) {
                stored
                    .entry((s.model.as_str(), s.field.as_str()))
                    .or_insert((f.path, s));
            }
        }
    }
    if stored.is_empty() {
        return;
    }
    for f in &ix.files {
        for u in f.part.stored.uses.iter().filter(|u| u.kind == kind) {
            let Some((store_path, s)) = stored.get(&(u.model.as_str(), u.field.as_str())) else {
                continue;
            };
            // A URL stored and fetched in one file is the per-file rule's.
            if *store_path == f.path && kind == SinkKind::Ssrf {
                continue;
            }
            let mut trace: Vec<(String, usize, usize, String)> = s
                .trace
                .iter()
                .map(|(a, b, l)| (store_path.to_string(), *a, *b, l.clone()))
                .collect();
            trace.extend(
                u.trace
                    .iter()
                    .map(|(a, b, l)| (f.path.to_string(), *a, *b, l.clone())),
            );
            out.push(ChainHit {
                path: f.path.to_string(),
                start: u.start,
                end: u.end,
                vars: vec![("callee", u.callee.clone()), ("arg", u.arg.clone())],
                confidence: Some(Confidence::Medium),
                trace,
            });
        }
    }
}

pub fn second_order_sql(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    join(ix, SinkKind::Sql, out)
}

pub fn second_order_command(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    join(ix, SinkKind::Command, out)
}

pub fn second_order_ssrf(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    join(ix, SinkKind::Ssrf, out)
}

pub fn second_order_path(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    join(ix, SinkKind::Path, out)
}
