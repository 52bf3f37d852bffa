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
use crate::model::pyindex::{Name, ProjectIndex, Target};
use crate::model::stored::{FieldStore, FieldUse, ParamRef, SinkKind, StoredFacts};
use crate::model::taint::{self, Taint};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use tree_sitter::{Node, Tree};

/// Where a name gets a model row: `Hook(..)`, `Hook.objects..`, `Hook.query..`,
/// `session.get(Hook, ..)`, `get_object_or_404(Hook, ..)`, `select(Hook)`.
static ROW_OF: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:await\s+)?(?:[\w.]+\.)?([A-Z]\w*)\(|\b([A-Z]\w*)\.(?:objects|query)\b|\b(?:get|get_object_or_404|get_or_404|first_or_404|aget|aget_object_or_404)\(\s*([A-Z]\w*)\s*[,)]|\b(?:select|query)\(\s*([A-Z]\w*)\s*[,)]")
        .expect("static regex")
});

/// Loop sources: the same, without the constructor.
static ROWS_OF: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b([A-Z]\w*)\.(?:objects|query)\b|\b(?:select|query)\(\s*([A-Z]\w*)\s*[,)]")
        .expect("static regex")
});

/// Calls that build something other than a stored row.
static NOT_A_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:Exception|Error|Response|Request|Client|Session|Path|Schema|Form|In|Out|Create|Update|Read|Public|Payload|Body|Params|Query|Event|Message|Task|Job|Dict|List|Set|Tuple)$")
        .expect("static regex")
});

/// Checks before a use that clear a stored value for each sink family.
static PATH_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:is_relative_to|relative_to|commonpath|secure_filename|safe_join|basename)\(")
        .expect("static regex")
});

static HOST_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\.(?:hostname|netloc|host)\s+(?:not\s+)?in\b").expect("static regex")
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
    let a = annotated_class(a);
    (!a.is_empty() && !NOT_A_ROW.is_match(&a)).then_some(a)
}

/// The class an annotation names, request schemas included (`HookCreate`).
fn annotated_class(a: &str) -> String {
    let a = a.trim();
    let a = a
        .strip_prefix("Optional[")
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(a);
    let a = a.split('|').next().unwrap_or(a).trim();
    let a = a.rsplit('.').next().unwrap_or(a);
    if a.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && a.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        a.to_string()
    } else {
        String::new()
    }
}

fn row_model(re: &Regex, rhs: &str) -> Option<String> {
    let c = re.captures(rhs)?;
    let m = (1..c.len()).find_map(|i| c.get(i))?.as_str();
    (!NOT_A_ROW.is_match(m)).then(|| m.to_string())
}

/// A record read back: a cursor fetch, an asyncpg fetch, a collection's `find_one`/`find`.
static RECORD_READ: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?:^|[\w\]\)"'])\.(?:fetchone|fetchall|fetchmany|fetchrow|fetch|find_one|find)\("#)
        .expect("static regex")
});

/// The collection a `find`/`find_one` reads: `db.hooks.find_one(..)`, `db["hooks"].find(..)`.
static COLLECTION_READ: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(\w+)(?:\[["'](\w+)["']\])?\.(?:find_one|find)\("#).expect("static regex")
});

/// The table of the last `SELECT .. FROM t` written before a fetch.
static SELECT_FROM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)\bselect\s[^;"']*?\bfrom\s+[`"\[]?(\w+)"#).expect("static regex")
});

/// Names of the function that hold a record read from a table or collection, by its
/// (lower-case) name: `row = cur.fetchone()` after `SELECT .. FROM hooks`.
fn records(body: Node<'_>, src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    name_bindings(body, |_, l, r| {
        let rt = text(r, src);
        if !RECORD_READ.is_match(rt) {
            return;
        }
        let table = if let Some(c) = COLLECTION_READ.captures(rt) {
            c.get(2).or(c.get(1)).map(|m| m.as_str().to_string())
        } else {
            let upto = src.get(body.start_byte()..r.end_byte()).unwrap_or("");
            SELECT_FROM
                .captures_iter(upto)
                .last()
                .map(|c| c[1].to_string())
        };
        if let Some(t) = table {
            out.insert(text(l, src).to_string(), t.to_lowercase());
        }
    });
    out
}

/// Names of the function that hold a row of a model, by the model.
fn rows(f: &PyFunction, body: Node<'_>, src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for p in &f.params {
        if let Some(m) = p.annotation.as_deref().and_then(annotated_model) {
            out.insert(p.name.clone(), m);
        }
    }
    name_bindings(body, |looped, l, r| {
        let re = if looped { &ROWS_OF } else { &ROW_OF };
        if let Some(m) = row_model(re, text(r, src)) {
            out.insert(text(l, src).to_string(), m);
        }
    });
    out
}

/// Each plain name bound in `body`'s own scope, with what binds it: `name = value`
/// (`looped` false) or `for name in value` (`looped` true).
fn name_bindings<'t>(body: Node<'t>, mut each: impl FnMut(bool, Node<'t>, Node<'t>)) {
    crate::model::facts::visit_same_scope(body, |n| {
        let looped = match n.kind() {
            "assignment" => false,
            "for_statement" => true,
            _ => return,
        };
        if let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) {
            if l.kind() == "identifier" {
                each(looped, l, r);
            }
        }
    });
}

/// Handler parameters that stand for the caller, not for what the caller sent.
static CALLER_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:auth\w*|authz|current_\w+|principal|identity|subject|user|me|token|credentials)$|AuthSubject|Principal|Authz|Credentials")
        .expect("static regex")
});

/// A constructor with a keyword argument, a Django manager or an attribute assignment:
/// the shapes a store takes, to skip functions that have none.
static MAY_STORE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b[A-Z]\w*\(\s*(?:\w+\s*=|[^()]*,\s*\w+\s*=)|\.objects\.|(?i:insert\s+into)|\.insert(?:_one)?\(")
        .expect("static regex")
});

fn param_ref(f: &PyFunction, p: &crate::model::facts::python::Param) -> ParamRef {
    ParamRef {
        at: f.body.0,
        name: p.name.clone(),
        class: p
            .annotation
            .as_deref()
            .map(annotated_class)
            .unwrap_or_default(),
    }
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
        let is_route = facts.routes.iter().any(|r| r.function == fi);
        if is_route || body_text.contains("request.") {
            let env = taint::handler_sources(facts, f, is_route);
            for p in &f.params {
                let caller = CALLER_PARAM.is_match(&p.name)
                    || p.annotation
                        .as_deref()
                        .is_some_and(|a| CALLER_PARAM.is_match(a));
                if env.contains_key(&p.name) && !caller {
                    out.inputs.push(param_ref(f, p));
                }
            }
            taint::run(body, src, env, &policy, |n, env| {
                stores(n, src, env, &policy, &rows, f.body.0, &mut out.stores);
            });
        } else if !rows.is_empty() || MAY_STORE.is_match(body_text) {
            // A service or repository function: what its parameters carry is stored, and
            // is request input when a handler passes request input in (joined later).
            let env: HashMap<String, Taint> = f
                .params
                .iter()
                .filter(|p| !matches!(p.name.as_str(), "self" | "cls"))
                .map(|p| {
                    let t = Taint {
                        trace: vec![(p.start, p.end, format!("`{}` is passed in", p.name))],
                        formatted: false,
                    };
                    (p.name.clone(), t)
                })
                .collect();
            if !env.is_empty() {
                let mut found = Vec::new();
                taint::run(body, src, env, &policy, |n, env| {
                    stores(n, src, env, &policy, &rows, f.body.0, &mut found);
                });
                for mut st in found {
                    let Some(&(start, _, _)) = st.trace.first() else {
                        continue;
                    };
                    let Some(p) = f.params.iter().find(|p| p.start == start) else {
                        continue;
                    };
                    st.param = Some(param_ref(f, p));
                    out.stores.push(st);
                }
            }
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
                param: None,
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
            for (table, col, value) in table_writes(func, args, src) {
                store(&table, &col, value, n);
            }
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

/// `INSERT INTO t (c1, c2) VALUES (..)`: the table, the columns, and the value list.
static INSERT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)^\s*insert\s+(?:or\s+\w+\s+)?into\s+[`"\[]?(\w+)[`"\]]?\s*\(([^()]*)\)\s*values\s*\("#)
        .expect("static regex")
});

/// Calls that write a record into a collection or table: `db.hooks.insert_one({..})`.
static RECORD_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"^(?:[\w.]+\.)?(\w+)(?:\[["'](\w+)["']\])?\.(?:insert_one|insert|insert_many|replace_one)$"#)
        .expect("static regex")
});

/// The items of a parenthesised list that starts at `text[0]` (after its `(`), at depth 0,
/// with their byte offsets in `text`.
fn value_items(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut quote) = (0usize, 0usize, None::<char>);
    for (i, ch) in text.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '{' | '[') => depth += 1,
            (None, ')' | '}' | ']') if depth == 0 => {
                out.push((start, &text[start..i]));
                return out;
            }
            (None, ')' | '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push((start, &text[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    Vec::new()
}

/// The value of key `k` in a dict literal.
fn dict_value<'t>(d: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    let mut c = d.walk();
    let found = d.named_children(&mut c).find(|p| {
        p.kind() == "pair"
            && p.child_by_field_name("key")
                .is_some_and(|k| string_value(k, src).as_deref() == Some(key))
    });
    found.and_then(|p| p.child_by_field_name("value"))
}

/// A plain string literal's content.
fn string_value(n: Node<'_>, src: &str) -> Option<String> {
    if n.kind() != "string" {
        return None;
    }
    let t = text(n, src);
    let t = t.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let q = t.chars().next()?;
    Some(t.trim_matches(q).to_string())
}

/// Columns a call writes into a table or collection with the value each gets: a SQL
/// `INSERT INTO t (col, ..) VALUES (..)` with bound parameters (`%s`, `?`, `$1`, `:name`,
/// `%(name)s`) or values formatted into the text, and a record (`{"url": ..}`) handed to a
/// collection's `insert_one`/`insert`.
fn table_writes<'t>(func: Node<'t>, args: Node<'t>, src: &str) -> Vec<(String, String, Node<'t>)> {
    let mut out = Vec::new();
    let mut c = args.walk();
    let positional: Vec<Node<'t>> = args
        .named_children(&mut c)
        .filter(|a| !matches!(a.kind(), "keyword_argument" | "comment"))
        .collect();
    let Some(&first) = positional.first() else {
        return out;
    };
    if let Some(m) = RECORD_WRITE.captures(text(func, src)) {
        if first.kind() == "dictionary" {
            let table = m.get(2).or(m.get(1)).map_or("", |t| t.as_str());
            let mut c = first.walk();
            for p in first.named_children(&mut c).filter(|p| p.kind() == "pair") {
                if let (Some(k), Some(v)) = (
                    p.child_by_field_name("key")
                        .and_then(|k| string_value(k, src)),
                    p.child_by_field_name("value"),
                ) {
                    out.push((table.to_lowercase(), k, v));
                }
            }
        }
        return out;
    }
    // The query: a literal, or `text("..")` around one.
    let query = if first.kind() == "call" {
        first
            .child_by_field_name("arguments")
            .and_then(|a| a.named_child(0))
            .unwrap_or(first)
    } else {
        first
    };
    if !matches!(query.kind(), "string" | "concatenated_string") {
        return out;
    }
    let qt = text(query, src);
    let body = qt.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let body = body.trim_start_matches(['"', '\'']);
    let Some(m) = INSERT.captures(body) else {
        return out;
    };
    let table = m[1].to_lowercase();
    let cols: Vec<String> = m[2]
        .split(',')
        .map(|c| c.trim().trim_matches(['"', '`', '[', ']']).to_lowercase())
        .collect();
    let values_at = m.get(0).map_or(0, |g| g.end());
    let items = value_items(&body[values_at..]);
    if items.len() != cols.len() {
        return out;
    }
    let offset = query.start_byte() + (qt.len() - body.len()) + values_at;
    let params = positional.get(1).copied();
    let mut next = 0usize;
    for ((at, raw), col) in items.iter().zip(&cols) {
        let item = raw.trim();
        let value = if item == "%s" || item == "?" {
            next += 1;
            params
                .filter(|p| matches!(p.kind(), "tuple" | "list"))
                .and_then(|p| {
                    let mut c = p.walk();
                    let v = p
                        .named_children(&mut c)
                        .filter(|x| x.kind() != "comment")
                        .nth(next - 1);
                    v
                })
        } else if let Some(i) = item.strip_prefix('$').and_then(|i| i.parse::<usize>().ok()) {
            // asyncpg: `conn.execute("..$1..", a, b)`.
            positional.get(i).copied()
        } else if let Some(name) = item
            .strip_prefix(':')
            .or_else(|| item.strip_prefix("%(").and_then(|n| n.strip_suffix(")s")))
        {
            params
                .filter(|p| p.kind() == "dictionary")
                .and_then(|p| dict_value(p, name, src))
        } else {
            // A value formatted into the text: the interpolation inside this item.
            let (s, e) = (offset + at, offset + at + raw.len());
            let mut found = None;
            crate::model::facts::visit(query, |x| {
                if found.is_none()
                    && x.kind() == "interpolation"
                    && x.start_byte() >= s
                    && x.end_byte() <= e
                {
                    found = x.named_child(0);
                }
                found.is_none()
            });
            found
        };
        if let Some(v) = value {
            out.push((table.clone(), col.clone(), v));
        }
    }
    out
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
    let body_text = src.get(f.body.0..f.body.1).unwrap_or("");
    let records = if RECORD_READ.is_match(body_text) {
        records(body, src)
    } else {
        HashMap::new()
    };
    if rows.is_empty() && records.is_empty() {
        return;
    }
    // Every read of a row's field is a candidate source, known by where it is read.
    let mut env: HashMap<String, Taint> = HashMap::new();
    let mut origin: HashMap<usize, (String, String)> = HashMap::new();
    crate::model::facts::visit_same_scope(body, |n| {
        let (model, field) = match n.kind() {
            "attribute" => {
                let (Some(o), Some(a)) = (
                    n.child_by_field_name("object"),
                    n.child_by_field_name("attribute"),
                ) else {
                    return;
                };
                let Some(model) = rows.get(text(o, src)) else {
                    return;
                };
                (model, text(a, src).to_string())
            }
            // `row["url"]` of a record read from a table or collection.
            "subscript" => {
                let (Some(o), Some(k)) = (
                    n.child_by_field_name("value"),
                    n.child_by_field_name("subscript")
                        .and_then(|k| string_value(k, src)),
                ) else {
                    return;
                };
                let Some(table) = records.get(text(o, src)) else {
                    return;
                };
                (table, k.to_lowercase())
            }
            _ => return,
        };
        let key = text(n, src).to_string();
        if env.contains_key(&key) {
            return;
        }
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

/// A caller's step into a function whose parameter it feeds (file, call range, label),
/// and the parameter of the caller that fed it.
type Feed = ((String, usize, usize, String), Option<(usize, String)>);

/// Parameters (function, name) that receive request input: those of route handlers, and
/// those a function passes such a parameter to by name, through resolved calls of the
/// call graph (`service.create(session, body)`), with the call that fed each first.
fn request_params(ix: &ProjectIndex<'_>) -> HashMap<(usize, String), Option<Feed>> {
    let mut fed: HashMap<(usize, String), Option<Feed>> = HashMap::new();
    let mut work: Vec<(usize, String)> = Vec::new();
    for f in &ix.files {
        for p in &f.part.stored.inputs {
            if let Some(g) = ix.function_at(f.path, p.at) {
                if fed.insert((g, p.name.clone()), None).is_none() {
                    work.push((g, p.name.clone()));
                }
            }
        }
    }
    while let Some((g, name)) = work.pop() {
        let func = ix.function(g);
        for (ci, call) in func.calls.iter().enumerate() {
            let Some(Target::Project(c)) = ix.targets[g].get(ci) else {
                continue;
            };
            let callee = ix.function(*c);
            for (k, v) in &call.args {
                if *v != name {
                    continue;
                }
                let param = match k.strip_prefix('#') {
                    Some(i) => i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| callee.positional.get(i))
                        .map(Name::to_string),
                    None => callee
                        .params
                        .iter()
                        .chain(callee.typed_params.iter().map(|(p, _)| p))
                        .find(|p| *p == k)
                        .map(Name::to_string),
                };
                let Some(param) = param else {
                    continue;
                };
                if fed.contains_key(&(*c, param.clone())) {
                    continue;
                }
                let label = format!(
                    "`{name}` is passed to `{}` as `{param}`",
                    ix.display_name(*c)
                );
                let step = (ix.file_of(g).path.to_string(), call.start, call.end, label);
                fed.insert((*c, param.clone()), Some((step, Some((g, name.clone())))));
                work.push((*c, param));
            }
        }
    }
    fed
}

/// A step of a trace across files.
type Step = (String, usize, usize, String);

/// The calls that fed a parameter, from the route handler down (at most a dozen).
fn feed_steps(fed: &HashMap<(usize, String), Option<Feed>>, feed: &Option<Feed>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = feed.as_ref();
    while let Some((step, parent)) = at {
        steps.push(step.clone());
        if steps.len() >= 12 {
            break;
        }
        at = parent
            .as_ref()
            .and_then(|k| fed.get(k))
            .and_then(|f| f.as_ref());
    }
    steps.reverse();
    steps
}

/// Joins the stores and uses of every file for one sink family.
fn join(ix: &ProjectIndex<'_>, kind: SinkKind, out: &mut Vec<ChainHit>) {
    if !ix
        .files
        .iter()
        .any(|f| f.part.stored.uses.iter().any(|u| u.kind == kind))
    {
        return;
    }
    // Model classes of the project (ORM models by their columns).
    let models: std::collections::HashSet<&str> = ix
        .files
        .iter()
        .flat_map(|f| f.part.classes.iter())
        .filter(|c| c.owned.is_some())
        .map(|c| c.name.as_str())
        .collect();
    let fed = request_params(ix);
    // Classes route handlers take request input as (`body: HookIn`).
    let bodies: std::collections::HashSet<&str> = ix
        .files
        .iter()
        .flat_map(|f| f.part.stored.inputs.iter())
        .filter(|p| !p.class.is_empty())
        .map(|p| p.class.as_str())
        .collect();
    // The first store of each field, in path order: one a handler makes, or one of a
    // parameter a handler feeds (medium), else one of a parameter annotated with a request
    // body class (low: the function may be called with values of the project's own).
    type Stored<'s> = (&'s str, &'s FieldStore, Vec<Step>, Confidence);
    let mut stored: BTreeMap<(&str, &str), Stored<'_>> = BTreeMap::new();
    for f in &ix.files {
        for s in &f.part.stored.stores {
            let table = s.model.starts_with(|c: char| c.is_ascii_lowercase());
            if !table && !models.contains(s.model.as_str()) {
                continue;
            }
            let live = match &s.param {
                None => Some((Vec::new(), Confidence::Medium)),
                Some(p) => {
                    let g = ix.function_at(f.path, p.at);
                    match g.and_then(|g| fed.get(&(g, p.name.clone()))) {
                        Some(feed) => Some((feed_steps(&fed, feed), Confidence::Medium)),
                        None if bodies.contains(p.class.as_str()) => {
                            Some((Vec::new(), Confidence::Low))
                        }
                        None => None,
                    }
                }
            };
            let Some((step, conf)) = live else {
                continue;
            };
            let key = (s.model.as_str(), s.field.as_str());
            let better = stored
                .get(&key)
                .is_none_or(|(_, _, _, c)| *c == Confidence::Low && conf != Confidence::Low);
            if better {
                stored.insert(key, (f.path, s, step, conf));
            }
        }
    }
    if stored.is_empty() {
        return;
    }
    for f in &ix.files {
        for u in f.part.stored.uses.iter().filter(|u| u.kind == kind) {
            let Some((store_path, s, step, conf)) =
                stored.get(&(u.model.as_str(), u.field.as_str()))
            else {
                continue;
            };
            // A URL a handler stores and fetches in one file is the per-file rule's.
            if *store_path == f.path && kind == SinkKind::Ssrf && s.param.is_none() {
                continue;
            }
            let mut trace: Vec<Step> = step.clone();
            trace.extend(
                s.trace
                    .iter()
                    .map(|(a, b, l)| (store_path.to_string(), *a, *b, l.clone())),
            );
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
                confidence: Some(*conf),
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
