//! What a Python function does with stored rows, for the project index's data summaries
//! (`crate::model::pyindex`): it compares or filters by an owner (the caller, a tenant, an
//! organisation, a permission helper), loads a row by an id parameter with no owner filter
//! (a repository loader), looks a row up by a natural key (`filter_by(email=..).first()`),
//! inserts a row; and which of its calls are decided by a look-up (`x = lookup(..)` then
//! `if x is None: create(..)`, or `if x: return/raise` before a later call). Computed from
//! the function's own text while the file is parsed; the index joins them bottom-up.

use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use tree_sitter::Node;

/// A function's own data facts (byte ranges are file-absolute).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFacts {
    /// Compares or filters by an owner/tenant field or the caller, or calls an access helper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
    /// Names the current caller ambiently (`current_user`, `g.user`, `request.user`,
    /// `get_jwt_identity()`): an owner check here is about whoever is calling, not about
    /// a user id handed in as an argument.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub caller: bool,
    /// Loads a row by one of its id parameters, with no owner filter: the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<(usize, usize)>,
    /// Looks a row up by a natural key: the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<(usize, usize)>,
    /// Inserts a row, with no conflict handling of its own: the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert: Option<(usize, usize)>,
    /// Handles a unique-key conflict (`except IntegrityError`, `ON CONFLICT`, `get_or_create`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
    /// Calls decided by a look-up: (look-up call start, decided call start, look-up line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<(usize, usize, usize)>,
    /// The function is a route handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteInfo>,
    /// Queries rows without narrowing them to anyone: it names no user, owner or caller
    /// and filters by no visibility column, except under an `if` on a request option (`if
    /// show: query = query.filter(Item.user_id == args["user"].id)`, a "mine only" toggle).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_rows: bool,
    /// The function is the handler of a read-only route without path parameters: a
    /// collection endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collection: bool,
}

impl DataFacts {
    pub fn is_empty(&self) -> bool {
        *self == DataFacts::default()
    }
}

/// A route handler as the ownership rule needs it across files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    /// `GET /notes/{note_id}`.
    pub describe: String,
    pub path: String,
    /// The auth the route declares (empty: the project's default).
    #[serde(default)]
    pub auth: String,
    /// Path parameters that are ids.
    pub ids: Vec<String>,
    pub decorator: (usize, usize),
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Authenticated (or may be), and not a public page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authed: bool,
    /// The per-file ownership rule decides this route itself: it reports it, or it sees a
    /// check (an owner comparison, a permission dependency, the caller handed on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decided: bool,
    /// Calls of the handler whose arguments name an id parameter: their start bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_calls: Vec<usize>,
}

static CALLER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:current_user|g\.user|request\.user|current_identity)\b|\bget_jwt_identity\(")
        .expect("static regex")
});

static LOAD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"\.get\(|\.filter(?:_by)?\(|\.where\(|\.query\(|\.one(?:_or_none)?\(|\.first\(|get_object_or_404\(|\.scalars?\(|\.scalar_one(?:_or_none)?\(|\.execute\(|\.find_one\(|\bSELECT\b|\.objects\."#,
    )
    .expect("static regex")
});

/// Natural keys: values that identify a row by themselves.
const NATURAL_KEY: &str = r"email|username|user_name|login|slug|handle|code|sku|phone|phone_number|domain|external_id|idempotency_key|request_id|fingerprint|checksum";

static LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(&format!(
        r#"(?s)(?:\.filter_by\(|\.filter\(|\.where\(|\.get\(|\.find_one\()[^\n]*?\b(?:\w+\.)?(?:{NATURAL_KEY})\b\s*(?:==|=)|(?is)\bSELECT\b[^"']*?\bWHERE\b[^"']*?\b(?:{NATURAL_KEY})\s*="#
    ))
    .expect("static regex")
});

static ONE_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\.first\(\)|one_or_none\(\)|\.one\(\)|\.scalar\(\)|\.exists\(\)|fetchone\(\)|\.get\(|\.find_one\(")
        .expect("static regex")
});

static INSERT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i:\binsert\s+into\b)|\b\w*session\.add\(|\bdb\.add\(|\.objects\.create\(|\.insert_one\(")
        .expect("static regex")
});

static CONFLICT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"IntegrityError|UniqueViolation|Duplicate\w*Error|(?i:on\s+conflict|on\s+duplicate\s+key|insert\s+or\s+ignore)|get_or_create|on_conflict_do")
        .expect("static regex")
});

/// The line of `body` (offset `base` in the file) around byte `i`.
fn line_at(body: &str, base: usize, i: usize) -> (usize, usize) {
    let s = body[..i].rfind('\n').map_or(0, |p| p + 1);
    let e = body[i..].find('\n').map_or(body.len(), |p| i + p);
    let lead = body[s..e].len() - body[s..e].trim_start().len();
    (base + s + lead, base + e)
}

fn word_at(s: &str, i: usize, w: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    !ident(s[..i].chars().next_back()) && !ident(s[i + w.len()..].chars().next())
}

/// A function's own facts from its body and parameter names.
pub fn data_facts(body: Node<'_>, params: &[&str], src: &str) -> DataFacts {
    let base = body.start_byte();
    let code = text(body, src);
    // A helper handed the user (`def switch_active_space(user, space)`) that looks the row
    // up by that user (`UserSpace.objects.get(space=space, user=user)`): a membership check.
    static BY_USER_PARAM: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"[(,]\s*(?:user|member|account)\s*=\s*(user|member|account)\b\s*[,)]")
            .expect("static regex")
    });
    let by_user_param = BY_USER_PARAM
        .captures_iter(code)
        .any(|c| params.contains(&&c[1]));
    let mut d = DataFacts {
        owner: crate::model::routes::checks_owner(code) || by_user_param,
        caller: CALLER.is_match(code),
        conflict: CONFLICT.is_match(code),
        ..DataFacts::default()
    };
    if !d.owner {
        'ids: for id in params
            .iter()
            .filter(|p| crate::model::routes::is_id_param(p))
        {
            let mut from = 0;
            while let Some(off) = code[from..].find(id) {
                let i = from + off;
                from = i + id.len();
                if !word_at(code, i, id) {
                    continue;
                }
                let (s, e) = line_at(code, 0, i);
                let here = &code[s..e];
                // The statement may open on the line before (`query(\n  Item.id == item_id)`).
                let prev_start = code[..s.saturating_sub(1)].rfind('\n').map_or(0, |p| p + 1);
                let prev = code.get(prev_start..s.saturating_sub(1)).unwrap_or("");
                if INSERT.is_match(here) || here.contains("http") {
                    continue;
                }
                if LOAD.is_match(here) {
                    d.load = Some((base + s, base + e));
                    break 'ids;
                }
                if s > 0 && prev.trim_end().ends_with('(') && LOAD.is_match(prev) {
                    let lead = prev.len() - prev.trim_start().len();
                    d.load = Some((base + prev_start + lead, base + e));
                    break 'ids;
                }
            }
        }
    }
    if let Some(m) = LOOKUP.find(code) {
        if ONE_ROW.is_match(&code[m.start()..]) && !INSERT.is_match(&code[..m.start()]) {
            d.lookup = Some(line_at(code, base, m.start()));
        }
    }
    if !d.conflict {
        if let Some(m) = INSERT.find(code) {
            d.insert = Some(line_at(code, base, m.start()));
        }
    }
    d.guards = guards(body, src);
    d.all_rows = all_rows(body, src);
    d
}

/// A query of stored rows (`session_query(Item)`, `Item.query`, `Item.objects.all()`).
static ROWS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"query|\w_query\(|\.objects\.|select\(|\.find\(").expect("static regex")
});

/// Names a user, an owner or the caller (`args["user"]`, `g.user`, `owner_id`), or a
/// visibility column (`published`, `is_private`): the rows may be narrowed to someone.
static NARROWS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?x)
          \[\s*["'](?:user|current_user|caller|owner|principal|identity)["']\s*\]
        | (?:current_user|user|users|user_id|owner|owner_id|creator|caller|principal|identity|tenant|tenant_id|account|account_id|org_id|team_id|member|members)
        | (?i:publish|public|private|visib|draft|hidden|shared|approved|unlisted|permission|role|admin|staff|superuser|space|workspace|organi[sz]ation)
        "#,
    )
    .expect("static regex")
});

/// Whether a body queries rows and narrows them to nobody ([`DataFacts::all_rows`]): every
/// mention of a user, owner, caller or visibility column sits under an `if` whose condition
/// names none of them (an option of the request), comments left out.
fn all_rows(body: Node<'_>, src: &str) -> bool {
    let code = text(body, src);
    if !ROWS.is_match(code) {
        return false;
    }
    let base = body.start_byte();
    let mut optional: Vec<(usize, usize)> = Vec::new();
    crate::model::facts::visit_same_scope(body, |n| {
        if !matches!(n.kind(), "if_statement" | "elif_clause") {
            return;
        }
        let (Some(cond), Some(cons)) = (
            n.child_by_field_name("condition"),
            n.child_by_field_name("consequence"),
        ) else {
            return;
        };
        // The branch taken on a request option; an `else` stays (it runs by default).
        if !NARROWS.is_match(text(cond, src)) {
            optional.push((cons.start_byte(), cons.end_byte()));
        }
    });
    let mut rest = String::with_capacity(code.len());
    let mut at = base;
    optional.sort_unstable();
    for (s, e) in optional {
        if s >= at {
            rest.push_str(src.get(at..s).unwrap_or(""));
            at = e;
        }
    }
    rest.push_str(src.get(at..body.end_byte()).unwrap_or(""));
    !rest
        .lines()
        .map(|l| l.split_once('#').map_or(l, |(c, _)| c))
        .any(|l| NARROWS.is_match(l))
}

/// `x is None`, `not x`, `x is not None`, `x`: (the name, true when the row is missing).
fn missing_test<'s>(cond: Node<'_>, src: &'s str) -> Option<(&'s str, bool)> {
    let mut cond = cond;
    while cond.kind() == "parenthesized_expression" {
        cond = cond.named_child(0)?;
    }
    let t = text(cond, src).trim();
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if let Some(rest) = t.strip_prefix("not ") {
        return name(rest.trim()).then_some((rest.trim(), true));
    }
    if let Some(n) = t.strip_suffix(" is None") {
        return name(n.trim()).then_some((n.trim(), true));
    }
    if let Some(n) = t.strip_suffix(" is not None") {
        return name(n.trim()).then_some((n.trim(), false));
    }
    name(t).then_some((t, false))
}

/// Whether a block leaves the function (`return`/`raise` as its last statement).
pub fn leaves(block: Node<'_>) -> bool {
    let n = block.named_child_count();
    n > 0
        && block
            .named_child((n - 1) as u32)
            .is_some_and(|s| matches!(s.kind(), "return_statement" | "raise_statement"))
}

/// Calls decided by a look-up in a function body (nested functions and classes left out).
fn guards(body: Node<'_>, src: &str) -> Vec<(usize, usize, usize)> {
    const MAX: usize = 64;
    let mut assigned: Vec<(&str, usize)> = Vec::new();
    // (look-up, from): calls after `from` run only when the look-up found nothing.
    let mut decided: Vec<(usize, usize)> = Vec::new();
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    static KINDS: crate::source::kinds::KindSet =
        crate::source::kinds::KindSet::new(&["assignment", "if_statement", "call"]);
    let kinds = KINDS.of(body);
    crate::model::facts::visit_same_scope(body, |n| match kinds.kind(n) {
        "assignment" => {
            let (Some(l), Some(mut r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            if r.kind() == "await" {
                match r.named_child(0) {
                    Some(c) => r = c,
                    None => return,
                }
            }
            if l.kind() == "identifier" && r.kind() == "call" {
                assigned.push((text(l, src), r.start_byte()));
            }
        }
        "if_statement" => {
            if let Some((lookup, inside)) = decision(n, src, &assigned) {
                if inside {
                    if let Some(cons) = n.child_by_field_name("consequence") {
                        crate::model::facts::visit_same_scope(cons, |c| {
                            if c.kind() == "call" && out.len() < MAX {
                                out.push((lookup, c.start_byte(), 0));
                            }
                        });
                    }
                } else {
                    decided.push((lookup, n.end_byte()));
                }
            }
        }
        "call" => {
            for &(l, from) in &decided {
                if n.start_byte() >= from && out.len() < MAX {
                    out.push((l, n.start_byte(), 0));
                }
            }
        }
        _ => {}
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// The look-up an `if` decides on, and whether the decided calls are inside it (`if x is
/// None: create(..)`, `if not lookup(..): create(..)`) or after it (`if x: return x`).
fn decision(i: Node<'_>, src: &str, assigned: &[(&str, usize)]) -> Option<(usize, bool)> {
    let cond = i.child_by_field_name("condition")?;
    let cons = i.child_by_field_name("consequence")?;
    if cond.kind() == "not_operator" {
        if let Some(arg) = cond.child_by_field_name("argument") {
            let arg = if arg.kind() == "await" {
                arg.named_child(0).unwrap_or(arg)
            } else {
                arg
            };
            if arg.kind() == "call" {
                return Some((arg.start_byte(), true));
            }
        }
    }
    let (name, missing) = missing_test(cond, src)?;
    let &(_, lookup) = assigned
        .iter()
        .rev()
        .find(|(n, at)| *n == name && *at < i.start_byte())?;
    if missing {
        Some((lookup, true))
    } else if leaves(cons) {
        Some((lookup, false))
    } else {
        None
    }
}

/// Collection endpoints of a file (read-only routes without path parameters): their
/// handlers' body starts.
pub fn collections(facts: &PyFacts) -> Vec<usize> {
    facts
        .routes
        .iter()
        .filter(|r| r.is_read_only() && r.path_params().is_empty())
        .filter_map(|r| facts.functions.get(r.function))
        .map(|f| f.body.0)
        .collect()
}

/// Route handlers of a file, for [`RouteInfo`]: (body start, info).
pub fn routes(facts: &PyFacts, src: &str) -> Vec<(usize, RouteInfo)> {
    let mut out = Vec::new();
    for r in &facts.routes {
        let Some(f) = facts.functions.get(r.function) else {
            continue;
        };
        let ids = crate::model::routes::id_params(r);
        if ids.is_empty() {
            continue;
        }
        let ownership = crate::model::routes::ownership(facts, src, r);
        let owner_aware = facts.functions.iter().enumerate().any(|(i, g)| {
            i != r.function
                && crate::model::routes::checks_owner(src.get(g.body.0..g.body.1).unwrap_or(""))
        }) || facts.routes.iter().any(|o| {
            o.function != r.function
                && facts
                    .functions
                    .get(o.function)
                    .is_some_and(|g| crate::model::routes::passes_caller(g, src))
        });
        let decided = match ownership {
            crate::model::routes::Ownership::Yes => true,
            crate::model::routes::Ownership::No(..) => owner_aware,
            crate::model::routes::Ownership::NotApplicable => false,
        } || crate::model::routes::passes_caller(f, src);
        out.push((
            f.body.0,
            RouteInfo {
                describe: r.describe(),
                path: r.path.clone(),
                auth: r
                    .auth
                    .clone()
                    .or_else(|| r.body_auth.clone())
                    .unwrap_or_default(),
                ids,
                decorator: (r.decorator_start, r.decorator_end),
                read_only: r.is_read_only(),
                authed: r.maybe_auth() && !r.public,
                decided,
                id_calls: Vec::new(),
            },
        ));
    }
    out
}
