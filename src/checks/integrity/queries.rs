//! Integrity checks over Python code: inserts of natural keys in request paths without
//! conflict handling (DATA001) and queries run once per row of another query (DATA003).

use crate::checks::embedded_sql::sql_literals;
use crate::checks::py::{
    call_parts, node_at, positional_arg, receiver, unwrap_expr, visit, visit_same_scope,
};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{string_value, text};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tree_sitter::Node;

// ---------------------------------------------------------------------------------------
// DATA001

static INSERT_COLUMNS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)\bINSERT\s+(?:OR\s+\w+\s+|IGNORE\s+)?INTO\s+([\w."`\[\]]+)\s*\(([^)]*)\)"#)
        .expect("static regex")
});

/// Columns whose values are unique by nature: a second insert of the same value is a
/// duplicate (or, with a unique index, an unhandled `IntegrityError`).
static NATURAL_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)^(e_?mail(_address)?|user_?name|login|slug|handle|nick_?name|code|sku|isbn|ean|upc|phone(_number)?|domain|host_?name|external_?id|ext_?id|idempotency_?key|request_?id|order_?(number|no)|invoice_?(number|no)|account_?(number|no)|fingerprint|checksum|content_?hash)$",
    )
    .expect("static regex")
});

/// Columns an association row may carry beside its foreign keys.
static ASSOCIATION_EXTRA: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(created(_at|_on)?|updated(_at|_on)?|added_at|joined_at|timestamp|role|position|sort_order)$")
        .expect("static regex")
});

static CONFLICT_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(IntegrityError|UniqueViolation|Duplicate\w*|UniqueConstraint\w*|ConstraintViolation\w*)",
    )
    .expect("static regex")
});

/// `(table, why)` when an INSERT writes a natural key and has no conflict clause.
pub(crate) fn risky_insert(sql: &str) -> Option<(String, String)> {
    natural_key_insert(sql).and_then(|(table, why, handled)| (!handled).then_some((table, why)))
}

/// `(table, why, handled)` when an INSERT writes a natural key (or an association row);
/// `handled` when the statement itself resolves a conflict (`ON CONFLICT`, `INSERT OR
/// IGNORE`, `ON DUPLICATE KEY`, `MERGE`, `WHERE NOT EXISTS`).
pub(crate) fn natural_key_insert(sql: &str) -> Option<(String, String, bool)> {
    let words = crate::model::sql::keywords(sql);
    let handled = words
        .iter()
        .any(|w| matches!(w.as_str(), "CONFLICT" | "DUPLICATE" | "MERGE"))
        || words.windows(2).any(|w| {
            matches!(
                (w[0].as_str(), w[1].as_str()),
                ("INSERT", "OR") | ("INSERT", "IGNORE") | ("NOT", "EXISTS")
            )
        });
    let caps = INSERT_COLUMNS.captures(sql)?;
    let table = caps[1].trim_matches(['"', '`', '[', ']']).to_string();
    let columns: Vec<String> = caps[2]
        .split(',')
        .map(|c| c.trim().trim_matches(['"', '`', '[', ']']).to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(key) = columns.iter().find(|c| NATURAL_KEY.is_match(c)) {
        return Some((table, format!("the natural key `{key}`"), handled));
    }
    let fks: Vec<&String> = columns.iter().filter(|c| c.ends_with("_id")).collect();
    let association = fks.len() >= 2
        && columns
            .iter()
            .all(|c| c.ends_with("_id") || ASSOCIATION_EXTRA.is_match(c));
    if association {
        let pair = fks
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Some((table, format!("the association ({pair})"), handled));
    }
    None
}

/// True when `node` runs inside the body of a `try` that catches a uniqueness error,
/// searching no higher than `stop`.
pub(crate) fn caught_conflict(node: Node<'_>, stop: usize, src: &str) -> bool {
    let mut child = node;
    let mut cur = node.parent();
    while let Some(p) = cur {
        if p.start_byte() < stop {
            break;
        }
        if p.kind() == "try_statement"
            && p.child_by_field_name("body") == Some(child)
            && catches_conflict(p, src)
        {
            return true;
        }
        child = p;
        cur = p.parent();
    }
    false
}

/// A `try` with an `except` that catches a uniqueness error (`IntegrityError`, ..).
pub(crate) fn catches_conflict(try_stmt: Node<'_>, src: &str) -> bool {
    let mut c = try_stmt.walk();
    let catches = try_stmt.named_children(&mut c).any(|clause| {
        clause.kind() == "except_clause"
            && clause
                .child_by_field_name("value")
                .is_some_and(|v| CONFLICT_EXCEPTION.is_match(text(v, src)))
    });
    catches
}

/// A `SELECT .. FROM table .. WHERE ..` of `table`.
fn selects_from(sql: &str, table: &str) -> bool {
    let words = crate::model::sql::keywords(sql);
    if words.first().map(String::as_str) != Some("SELECT") || !words.iter().any(|w| w == "WHERE") {
        return false;
    }
    let t = table
        .rsplit('.')
        .next()
        .unwrap_or(table)
        .to_ascii_lowercase();
    words.windows(2).any(|w| {
        w[0] == "FROM"
            && w[1]
                .trim_matches(['"', '`', '[', ']'])
                .rsplit('.')
                .next()
                .is_some_and(|x| x.eq_ignore_ascii_case(&t))
    })
}

/// The text of a call's arguments after the first (the values bound to the SQL).
/// A `text("..")` wrapper counts as the first argument of the call around it
/// (`session.execute(text(".."), {..})`).
fn values_of(call: Node<'_>, src: &str) -> String {
    let call = call
        .parent()
        .filter(|p| p.kind() == "argument_list" && p.named_child(0) == Some(call))
        .and_then(|p| p.parent())
        .filter(|p| p.kind() == "call")
        .unwrap_or(call);
    let Some(args) = call.child_by_field_name("arguments") else {
        return String::new();
    };
    let mut c = args.walk();
    let values: Vec<&str> = args
        .named_children(&mut c)
        .skip(1)
        .map(|a| text(a, src))
        .collect();
    values.join(" ")
}

/// A name assigned a freshly generated id in `before` (`team_id = uuid.uuid4().hex[:12]`,
/// `token = secrets.token_urlsafe()`) that the insert call `call` passes as a value.
fn fresh_id_passed(before: &str, call: &str) -> bool {
    static FRESH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:str\()?(?:uuid\.)?(?:uuid[14]|uuid7|ulid|new_ulid|nanoid|generate_id|token_hex|token_urlsafe)\(|(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*=[ \t]*(?:str\()?(?:secrets|ulid|nanoid)\.\w+\(")
            .expect("static regex")
    });
    let params = call;
    FRESH.captures_iter(before).any(|c| {
        let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        params.match_indices(name).any(|(i, _)| {
            let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
            !params[..i].ends_with(ident) && !params[i + name.len()..].starts_with(ident)
        })
    })
}

/// DATA001: an INSERT of a natural key, in a request handler, without conflict handling.
pub fn insert_without_conflict_handling(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    orm_association_inserts(ctx, out);
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let all = sql_literals(ctx);
    let literals: Vec<_> = all
        .iter()
        .filter_map(|l| natural_key_insert(&l.sql).map(|r| (l, r)))
        .collect();
    if literals.is_empty() {
        return;
    }
    // Module-level functions that handlers call directly by name: name -> call sites.
    let helpers: HashSet<&str> = facts
        .functions
        .iter()
        .filter(|f| f.class.is_none())
        .map(|f| f.name.as_str())
        .collect();
    let mut calls: HashMap<String, Vec<(usize, Node<'_>)>> = HashMap::new(); // name -> (route idx, call)
    for (ri, route) in facts.routes.iter().enumerate() {
        let Some(f) = facts.functions.get(route.function) else {
            continue;
        };
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        visit_same_scope(body, |n| {
            if n.kind() != "call" {
                return;
            }
            if let Some(func) = n
                .child_by_field_name("function")
                .filter(|f| f.kind() == "identifier")
            {
                let name = text(func, src);
                if helpers.contains(name) && name != f.name {
                    calls.entry(name.to_string()).or_default().push((ri, n));
                }
            }
        });
    }
    // Every natural-key insert on a request path is examined (the audit report's
    // "inserts on natural keys handle conflicts" control); it passes when the statement,
    // the handler or every calling handler resolves the conflict.
    for (lit, (table, why, handled)) in literals {
        let Some(f) = facts.function_at(lit.start) else {
            continue;
        };
        let Some(call) = node_at(root, lit.start, lit.end) else {
            continue;
        };
        // Directly in a handler, else in a helper that a handler calls.
        let direct = facts.routes.iter().find(|r| {
            facts
                .functions
                .get(r.function)
                .is_some_and(|h| h.start == f.start)
        });
        let sites = match direct {
            Some(_) => None,
            None if f.class.is_some() => continue,
            None => match calls.get(&f.name) {
                Some(sites) => Some(sites),
                None => continue,
            },
        };
        if handled || caught_conflict(call, f.start, src) {
            ctx.examined(true);
            continue;
        }
        // The function looks the row up in the same table first (`SELECT .. FROM
        // team_members WHERE ..`, then 409): a double submit is answered, and the race
        // between the look-up and the insert is DATA008's (as in the ORM shape below).
        let looked_up = all
            .iter()
            .any(|o| o.start >= f.start && o.end <= lit.start && selects_from(&o.sql, &table));
        // One side of the association is an id the function has just generated
        // (`team_id = uuid.uuid4().hex`): the pair is new by construction.
        let fresh = why.starts_with("the association")
            && fresh_id_passed(&src[f.start..lit.start], &values_of(call, src));
        if looked_up || fresh {
            continue;
        }
        let (route, via) = match (direct, sites) {
            (Some(r), _) => (r, String::new()),
            (None, Some(sites)) => {
                let unprotected = sites.iter().find(|(ri, site)| {
                    let h = facts.functions.get(facts.routes[*ri].function);
                    !h.is_some_and(|h| caught_conflict(*site, h.start, src))
                });
                let Some((ri, _)) = unprotected else {
                    ctx.examined(true);
                    continue;
                };
                (&facts.routes[*ri], format!(", via `{}()`", f.name))
            }
            (None, None) => continue,
        };
        ctx.examined(false);
        let handler = facts
            .functions
            .get(route.function)
            .map_or("?", |h| h.name.as_str());
        out.push(
            Hit::new(lit.start, lit.end)
                .var("table", table)
                .var("why", why)
                .var("route", route.describe())
                .var("handler", handler)
                .var("via", via),
        );
    }
}

/// Rows that only say "this user marked that object": one per pair is meant.
static ASSOCIATION_MODEL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:\w*(?:Favou?rite|Like|Follow|Follower|Bookmark|Star|Upvote|Vote|Reaction|Subscription|Watch|Watcher)|(?:Team|Group|Project|Org|Organi[sz]ation)?Membership)$")
        .expect("static regex")
});

/// The keyword names of a call's arguments.
fn keyword_names(args: Node<'_>, src: &str) -> Vec<String> {
    let mut c = args.walk();
    let names = args
        .named_children(&mut c)
        .filter(|a| a.kind() == "keyword_argument")
        .filter_map(|a| a.child_by_field_name("name"))
        .map(|k| text(k, src).to_string())
        .collect();
    names
}

/// The HTTP verb methods of a class-based resource or view (`QueryFavoriteResource.post`).
fn verb_method(
    facts: &crate::model::facts::python::PyFacts,
    f: &crate::model::facts::python::PyFunction,
) -> bool {
    matches!(f.name.as_str(), "post" | "put" | "patch")
        && f.class.as_deref().is_some_and(|c| {
            facts.classes.iter().any(|k| {
                k.name == c
                    && k.bases.iter().any(|b| {
                        let b = b.rsplit('.').next().unwrap_or(b);
                        b.ends_with("Resource") || b.ends_with("View") || b.ends_with("Handler")
                    })
            })
        })
}

/// DATA001, ORM shape: a request handler adds an association row (a favorite, like,
/// follow, vote, membership: `session.add(Favorite(user=.., object=..))`,
/// `Like.objects.create(..)`) with no look-up of an existing one and no `IntegrityError`
/// handler: a double click or a retry stores the pair twice, or answers 500 once a unique
/// constraint exists.
fn orm_association_inserts(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    for (fi, f) in facts.functions.iter().enumerate() {
        let route = facts.routes.iter().find(|r| r.function == fi);
        let writes_route = route.is_some_and(|r| !r.is_read_only());
        if !writes_route && !verb_method(facts, f) {
            continue;
        }
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        let body_text = src.get(f.body.0..f.body.1).unwrap_or("");
        // (call reported, model name, the built row's keyword names)
        let mut found: Option<(Node<'_>, String, Vec<String>)> = None;
        let mut built: HashMap<String, (String, Vec<String>)> = HashMap::new();
        visit_same_scope(body, |n| {
            if found.is_some() {
                return;
            }
            let ctor = |call: Node<'_>| -> Option<(String, Vec<String>)> {
                let func = call.child_by_field_name("function")?;
                let name = text(func, src).rsplit('.').next().unwrap_or("").to_string();
                if !ASSOCIATION_MODEL.is_match(&name) {
                    return None;
                }
                let kws = keyword_names(call.child_by_field_name("arguments")?, src);
                (kws.len() >= 2).then_some((name, kws))
            };
            if n.kind() == "assignment" {
                if let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) {
                    if let Some(m) = (r.kind() == "call").then(|| ctor(r)).flatten() {
                        built.insert(text(l, src).to_string(), m);
                    }
                }
                return;
            }
            if n.kind() != "call" {
                return;
            }
            let Some((callee, last, args)) = call_parts(n, src) else {
                return;
            };
            if last == "add" {
                let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
                if !recv.ends_with("session") {
                    return;
                }
                let Some(arg) = positional_arg(args, 0) else {
                    return;
                };
                let m = if arg.kind() == "call" {
                    ctor(arg)
                } else {
                    built.get(text(arg, src)).cloned()
                };
                if let Some((name, kws)) = m {
                    found = Some((n, name, kws));
                }
            } else if last == "create" && callee.ends_with(".objects.create") {
                let model = callee.split('.').rev().nth(2).unwrap_or("");
                if ASSOCIATION_MODEL.is_match(model) {
                    let kws = keyword_names(args, src);
                    if kws.len() >= 2 {
                        found = Some((n, model.to_string(), kws));
                    }
                }
            }
        });
        let Some((call, model, kws)) = found else {
            continue;
        };
        // A look-up of the pair first is DATA008's race (or a toggle); a handled conflict is fine.
        let looked_up = [
            format!("{model}.query"),
            format!("{model}.objects.filter"),
            format!("{model}.objects.get"),
            format!("select({model}"),
            format!("query({model}"),
        ]
        .iter()
        .any(|p| body_text.contains(p.as_str()))
            || body_text.contains("get_or_create")
            || body_text.contains("exists()");
        // `session.add(row)` then `try: session.commit() except IntegrityError: ..`.
        let handled = ["IntegrityError", "UniqueViolation"]
            .iter()
            .any(|e| body_text.contains(e));
        if handled {
            continue;
        }
        if looked_up || caught_conflict(call, f.start, src) || after_failed_get(call, src) {
            continue;
        }
        let handler = match &f.class {
            Some(c) => format!("{c}.{}", f.name),
            None => f.name.clone(),
        };
        let route_name = route.map_or_else(|| handler.clone(), |r| r.describe());
        out.push(
            Hit::new(call.start_byte(), call.end_byte())
                .var("table", model.clone())
                .var(
                    "why",
                    format!("an association row (`{}`)", kws.join("`, `")),
                )
                .var("route", route_name)
                .var("handler", f.name.clone())
                .var("via", String::new()),
        );
    }
}

/// The insert runs in an `except Model.DoesNotExist:` (or `NoResultFound`) handler: the
/// row is created because a look-up just failed, the get-then-create of DATA008.
fn after_failed_get(call: Node<'_>, src: &str) -> bool {
    let mut cur = call.parent();
    while let Some(p) = cur {
        if matches!(p.kind(), "function_definition" | "lambda") {
            return false;
        }
        if p.kind() == "except_clause" {
            let caught = p
                .child_by_field_name("value")
                .or_else(|| p.named_child(0))
                .map_or("", |v| text(v, src));
            if caught.contains("DoesNotExist") || caught.contains("NoResultFound") {
                return true;
            }
        }
        cur = p.parent();
    }
    false
}

// ---------------------------------------------------------------------------------------
// DATA003

/// Variables assigned a query result, per scope: `(scope start, name)` ->
/// `QueryVar`: what one assignment of a query result says.
type QueryVars = HashMap<(usize, String), Vec<QueryVar>>;

#[derive(Clone)]
struct QueryVar {
    at: usize,
    page: bool,
    /// Related rows are loaded with the query.
    eager: bool,
    /// The rows come from a helper (`get_standings()`): only queries keyed by the row count.
    helper: bool,
    /// The query caps its rows (`.limit(n)`, `[:n]`, `LIMIT n`): a top-N list.
    bounded: bool,
}

/// The rows a loop walks.
struct Rows {
    what: String,
    eager: bool,
    helper: bool,
    bounded: bool,
}

/// Query text that caps its rows at a small fixed number (`.limit(10)`, `[:5]`, `LIMIT 10`),
/// or a top-N ranking (an aggregate grouped, ordered and limited: `group_by(..)` ...
/// `.limit(limit)`). A page of a listing whose size the caller picks is not capped here:
/// its N+1 grows with the page size asked for.
fn caps_rows(t: &str) -> bool {
    static FIXED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.limit\(\s*\d+\s*\)|\[\s*(?:0\s*)?:\s*\d+\s*\]|(?i:\bLIMIT\s+\d+)|\.top\(\s*\d+")
            .expect("static regex")
    });
    static LIMITED: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\.limit\(|(?i:\bLIMIT\b)").expect("static regex"));
    static RANKED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.group_by\(|(?i:\bGROUP\s+BY\b)|\.annotate\(").expect("static regex")
    });
    FIXED.is_match(t) || (LIMITED.is_match(t) && RANKED.is_match(t))
}

/// Query text that selects only the rows sharing one value of a near-unique key
/// (`Profile.objects.filter(code=code)`, `filter_by(slug=slug)`): a handful of rows (one
/// user's profiles across events), not a table.
fn keyed_rows(t: &str) -> bool {
    static KEYED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:filter|filter_by)\(\s*(?:code|slug|uuid|token|short_code)(?:__iexact)?\s*=\s*[\w.]+\s*\)")
            .expect("static regex")
    });
    KEYED.is_match(t)
}

/// Query text whose rows are few by their nature: the distinct days it selects
/// (`query(func.date(..))` ... `.distinct()`, Django's `.dates(..)`), which a schedule spans a
/// few of; the rows linking one user to one object (`filter_by(user=self, event_id=event_id)`:
/// a user's roles in one event); and rows of a window of a day or less (`now - Event.ends_at <
/// timedelta(days=1)`), which a periodic job walks once per window. Only the rows the loop
/// walks: unlike a cap, this says nothing of values later derived from them.
fn bounded_by_nature(t: &str) -> bool {
    static DAYS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?s)\b(?:query|select)\(\s*func\.date\(.*\.distinct\(|\.dates\(\s*['\x22]")
            .expect("static regex")
    });
    static PAIR: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\.(?:filter|filter_by)\(([^()]*)\)").expect("static regex"));
    static USER_KEY: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?:^|[(,\s])user(?:_id)?\s*=[^=]").expect("static regex"));
    static OTHER_KEY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|[(,\s])(?:[a-z]\w*_id|[a-z]\w*_pk)\s*=[^=]").expect("static regex")
    });
    static SHORT_WINDOW: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"<=?\s*(?:datetime\.)?timedelta\(\s*(?:days\s*=\s*1|hours\s*=\s*\d{1,2}|minutes\s*=\s*\d+)\s*\)")
            .expect("static regex")
    });
    DAYS.is_match(t)
        || PAIR.captures_iter(t).any(|c| {
            let args = &c[1];
            USER_KEY.is_match(args)
                && OTHER_KEY
                    .find_iter(args)
                    .any(|m| !m.as_str().contains("user_id"))
        })
        || SHORT_WINDOW.is_match(t)
}

/// Names assigned a capped query earlier in the same scope: (scope, name).
type Capped = HashSet<(usize, String)>;

/// `text` caps its rows itself or uses a query assigned capped (`s = select(..).limit(n)`,
/// then `session.execute(s).fetchall()`).
fn capped_text(t: &str, scope: usize, capped: &Capped) -> bool {
    caps_rows(t)
        || keyed_rows(t)
        || capped
            .iter()
            .any(|(sc, name)| *sc == scope && mentions(t, &[name.as_str()]))
}

/// A query that loads related rows with it (`selectinload`, `joinedload`, `select_related`,
/// `prefetch_related`, ...): reading a relationship per row costs no query.
fn loads_eagerly(query: &str) -> bool {
    [
        "selectinload",
        "joinedload",
        "subqueryload",
        "contains_eager",
        "immediateload",
        "select_related",
        "prefetch_related",
        "lazy=",
    ]
    .iter()
    .any(|m| query.contains(m))
}

/// A helper that returns rows by its name: `get_standings()`, `list_members(..)`,
/// `self.fetch_orders()`.
fn is_row_helper(node: Node<'_>, src: &str) -> bool {
    static HELPER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(get|list|fetch|load|find|query|search|all)_\w+$").expect("static regex")
    });
    let Some((callee, last, _)) = call_parts(node, src) else {
        return false;
    };
    let head = callee.split('.').next().unwrap_or("");
    HELPER.is_match(last) && (!callee.contains('.') || matches!(head, "self" | "cls"))
}

/// A Django related manager walked whole: `org.projects.all()`, `user.order_set.all()`.
fn is_related_manager_all(node: Node<'_>, src: &str) -> bool {
    let Some((_, last, args)) = call_parts(node, src) else {
        return false;
    };
    let recv = receiver(node, src).unwrap_or("");
    let parts: Vec<&str> = recv.split('.').collect();
    last == "all"
        && args.named_child_count() == 0
        && parts.len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        && !is_db_receiver(recv)
        && parts[0] != "self"
        && (parts[1].ends_with("_set") || (parts[1].ends_with('s') && !parts[1].ends_with("ss")))
}

/// Receivers that are database handles: `cur`, `conn`, `db`, `db.session`, `get_db()`.
fn is_db_receiver(recv: &str) -> bool {
    static DB: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(c|con|cur|cursor|conn|connection|db|database|session|sess|engine|tx|txn|transaction|pool|\w+_(cursor|cur|conn|connection|db|session))$|^(get_)?(db|database|conn|connection|session|cursor)$|^connect$")
            .expect("static regex")
    });
    let r = recv.trim().trim_end_matches("()");
    let last = r.rsplit('.').next().unwrap_or(r);
    DB.is_match(last)
}

/// Django queryset methods that return another queryset (iterating it runs the query).
const QUERYSET_METHODS: &[&str] = &[
    "all",
    "filter",
    "exclude",
    "order_by",
    "select_related",
    "prefetch_related",
    "values",
    "values_list",
    "annotate",
    "only",
    "defer",
    "distinct",
    "iterator",
    "using",
    "reverse",
];
/// SQLAlchemy `Query` methods that return another query.
const QUERY_METHODS: &[&str] = &[
    "all",
    "filter",
    "filter_by",
    "order_by",
    "join",
    "outerjoin",
    "options",
    "limit",
    "offset",
    "yield_per",
    "distinct",
    "group_by",
];

/// Whether iterating the value of `node` walks the rows of a query.
fn is_query_result(node: Node<'_>, src: &str) -> bool {
    let node = unwrap_expr(node);
    let Some((_, last, args)) = call_parts(node, src) else {
        return false;
    };
    let t = text(node, src);
    let recv = receiver(node, src).unwrap_or("");
    match last {
        "fetchall" | "fetchmany" => true,
        "all" | "unique" | "scalars" | "mappings"
            if [
                "query(",
                ".query.",
                "select(",
                "execute(",
                "scalars(",
                ".objects.",
                ".filter(",
                ".filter_by(",
                ".where(",
                ".exec(",
            ]
            .iter()
            .any(|m| t.contains(m)) =>
        {
            true
        }
        _ if recv.contains(".objects") && QUERYSET_METHODS.contains(&last) => true,
        _ if (recv.contains(".query(") || recv.contains(".query.") || recv.ends_with(".query"))
            && QUERY_METHODS.contains(&last) =>
        {
            true
        }
        "query" => is_db_receiver(recv),
        "execute" | "exec" | "scalars" | "fetch" if is_db_receiver(recv) => {
            // A literal statement must be a read.
            match positional_arg(args, 0).and_then(|a| string_value(a, src)) {
                Some(sql) => {
                    let w = crate::model::sql::keywords(&sql);
                    matches!(w.first().map(String::as_str), Some("SELECT" | "WITH"))
                }
                None => true,
            }
        }
        _ => false,
    }
}

/// A call that reads with a query: `cur.execute("SELECT ..")`, `session.get(..)`,
/// `Model.objects.get(..)`, `Model.query.filter_by(..).first()`, `get_object_or_404(..)`.
/// Per-row writes are not N+1 reads: they often carry values computed per row.
fn is_db_read(node: Node<'_>, src: &str) -> bool {
    let Some((callee, last, args)) = call_parts(node, src) else {
        return false;
    };
    let recv = receiver(node, src).unwrap_or("");
    if matches!(callee, "get_object_or_404" | "get_list_or_404") {
        return true;
    }
    if recv.contains(".objects") || recv.ends_with(".query") || recv.contains(".query.") {
        // Django querysets and Flask-SQLAlchemy queries are lazy: `filter()` builds, the
        // terminal call (or iteration, see `is_iterated`) runs the query.
        const RUNS: &[&str] = &[
            "get",
            "first",
            "last",
            "exists",
            "count",
            "aggregate",
            "earliest",
            "latest",
            "in_bulk",
            "one",
            "one_or_none",
            "scalar",
            "get_or_404",
            "first_or_404",
            "one_or_404",
            "paginate",
        ];
        let runs = RUNS.contains(&last) || (last == "all" && recv.contains(".query"));
        return runs || (is_iterated(node, src) && !matches!(last, "create" | "update" | "delete"));
    }
    if args.named_child_count() == 0 || !is_db_receiver(recv) {
        return false;
    }
    match last {
        "execute" | "exec" | "execute_fetchall" => {
            positional_arg(args, 0).is_some_and(|a| statement_is_read(a, node, src))
        }
        "scalar" | "scalars" | "fetch" | "fetchrow" | "fetchval" | "query" | "get" | "get_one" => {
            true
        }
        _ => false,
    }
}

/// Whether a call's value is iterated right there: a nested `for`, a comprehension,
/// `list(..)`/`len(..)`.
fn is_iterated(node: Node<'_>, src: &str) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        "for_statement" | "for_in_clause" => parent.child_by_field_name("right") == Some(node),
        "argument_list" => parent
            .parent()
            .and_then(|call| call.child_by_field_name("function"))
            .is_some_and(|f| {
                f.kind() == "identifier" && matches!(text(f, src), "list" | "len" | "set" | "tuple")
            }),
        _ => false,
    }
}

/// Whether the statement given to `execute` reads: a `SELECT` literal (also in `text()`),
/// a `select(...)` construct, or a local variable assigned one earlier in the function.
fn statement_is_read(stmt: Node<'_>, call: Node<'_>, src: &str) -> bool {
    let read = |e: Node<'_>| -> Option<bool> {
        let e = unwrap_expr(e);
        if let Some(sql) = string_value(e, src) {
            let w = crate::model::sql::keywords(&sql);
            return Some(matches!(
                w.first().map(String::as_str),
                Some("SELECT" | "WITH")
            ));
        }
        if let Some((callee, _, a)) = call_parts(e, src) {
            if callee == "text" || callee.ends_with(".text") {
                let sql = string_value(positional_arg(a, 0)?, src)?;
                let w = crate::model::sql::keywords(&sql);
                return Some(matches!(
                    w.first().map(String::as_str),
                    Some("SELECT" | "WITH")
                ));
            }
            let t = text(e, src);
            if t.starts_with("select(") || t.contains(".select(") || t.starts_with("sa.select(") {
                return Some(true);
            }
        }
        None
    };
    if stmt.kind() != "identifier" {
        return read(stmt).unwrap_or(false);
    }
    // The latest `name = ...` before the call in the enclosing function.
    let name = text(stmt, src);
    let mut scope = call;
    while let Some(p) = scope.parent() {
        scope = p;
        if p.kind() == "function_definition" {
            break;
        }
    }
    let mut value = None;
    visit_same_scope(scope, |n| {
        if n.kind() == "assignment" && n.end_byte() <= call.start_byte() {
            if let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                if l.kind() == "identifier" && text(l, src) == name {
                    value = Some(r);
                }
            }
        }
    });
    value.and_then(read).unwrap_or(false)
}

/// The rows a `for` iterates, described, when they come from a query: directly
/// (`for u in session.query(User).all()`) or through a variable assigned one earlier in the
/// same function (`rows = cur.fetchall()`).
fn query_rows(
    iterable: Node<'_>,
    scope: usize,
    assigned: &QueryVars,
    capped: &Capped,
    ctx: &FileContext<'_>,
) -> Option<Rows> {
    let src = ctx.file.text.as_str();
    let mut node = unwrap_expr(iterable);
    // `rows[:10]`: the loop walks a capped slice of the rows.
    let mut sliced = false;
    for _ in 0..4 {
        match node.kind() {
            "call" => {
                let (callee, _, args) = call_parts(node, src)?;
                if matches!(
                    callee,
                    "enumerate" | "list" | "reversed" | "sorted" | "tqdm" | "iter"
                ) {
                    node = unwrap_expr(positional_arg(args, 0)?);
                    continue;
                }
                break;
            }
            "subscript" => {
                let mut c = node.walk();
                sliced |= node
                    .children_by_field_name("subscript", &mut c)
                    .any(|s| s.kind() == "slice" && caps_rows(&format!("[{}]", text(s, src))));
                node = node.child_by_field_name("value")?;
            }
            _ => break,
        }
    }
    // `want_page`: only a `paginate()` result (whose `.items` are rows) will do.
    let lookup = |name: &str, want_page: bool| {
        assigned
            .get(&(scope, name.to_string()))?
            .iter()
            .rev()
            .find(|v| v.at < iterable.start_byte() && (v.page || !want_page))
            .map(|v| Rows {
                what: format!("`{name}` (query on line {})", ctx.file.line_col(v.at).0),
                eager: v.eager,
                helper: v.helper,
                bounded: v.bounded || sliced,
            })
    };
    match node.kind() {
        "identifier" => lookup(text(node, src), false),
        // Flask-SQLAlchemy: `page = query.paginate(..)`; `for p in page.items`.
        "attribute" => {
            let obj = node.child_by_field_name("object")?;
            let attr = node.child_by_field_name("attribute")?;
            (obj.kind() == "identifier" && text(attr, src) == "items")
                .then(|| lookup(text(obj, src), true))
                .flatten()
        }
        _ => {
            let helper = is_row_helper(node, src) || is_related_manager_all(node, src);
            (helper || is_query_result(node, src)).then(|| Rows {
                what: format!("`{}`", crate::checks::py::snippet(text(node, src))),
                eager: loads_eagerly(text(node, src)),
                helper,
                bounded: sliced
                    || capped_text(text(node, src), scope, capped)
                    || bounded_by_nature(text(node, src)),
            })
        }
    }
}

/// DATA003: a query inside a loop over the rows of another query (N+1).
pub fn query_in_loop(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    // Data migrations walk rows one by one on purpose, once; so does a seeding script.
    if crate::checks::integrity::alembic::is_migration_module(ctx) || seeds_fake_data(ctx) {
        return;
    }
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let scope_of = |byte: usize| facts.function_at(byte).map_or(0, |f| f.start);
    // (scope, name) -> (assignment start, right-hand side, is a paginate() result)
    let mut assigned: QueryVars = HashMap::new();
    let mut capped: Capped = HashSet::new();
    let mut reported: HashSet<usize> = HashSet::new();
    let lazy = relationship_names(root, src);
    visit(root, |n| {
        match n.kind() {
            "assignment" => {
                if let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) {
                    if l.kind() == "identifier" {
                        let rr = unwrap_expr(r);
                        let page =
                            call_parts(rr, src).is_some_and(|(_, last, _)| last == "paginate");
                        let scope = scope_of(n.start_byte());
                        let bounded = capped_text(text(rr, src), scope, &capped);
                        let name = (scope, text(l, src).to_string());
                        if bounded {
                            capped.insert(name.clone());
                        } else {
                            capped.remove(&name);
                        }
                        // `documents = list(documents_qs)`: the rows of an earlier query.
                        let copied = (rr.kind() == "call" && !is_query_result(rr, src))
                            .then(|| query_rows(rr, scope, &assigned, &capped, ctx))
                            .flatten();
                        let helper = copied.is_none() && is_row_helper(rr, src);
                        if page || copied.is_some() || helper || is_query_result(rr, src) {
                            let eager = copied
                                .as_ref()
                                .map_or_else(|| loads_eagerly(text(rr, src)), |r| r.eager);
                            assigned
                                .entry((scope, text(l, src).to_string()))
                                .or_default()
                                .push(QueryVar {
                                    at: n.start_byte(),
                                    page,
                                    eager,
                                    helper: copied.as_ref().map_or(helper, |r| r.helper),
                                    bounded: bounded
                                        || bounded_by_nature(text(rr, src))
                                        || copied.is_some_and(|r| r.bounded),
                                });
                        }
                    }
                }
            }
            "for_statement" => {
                if let (Some(it), Some(body)) = (
                    n.child_by_field_name("right"),
                    n.child_by_field_name("body"),
                ) {
                    let target = n.child_by_field_name("left").map_or("", |l| text(l, src));
                    if repair_function(ctx, facts, n.start_byte()) {
                        return true;
                    }
                    if let Some(rows) =
                        query_rows(it, scope_of(n.start_byte()), &assigned, &capped, ctx)
                    {
                        report_first_db_call(body, &rows, target, &lazy, ctx, &mut reported, out);
                    }
                }
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {
                let mut c = n.walk();
                let clauses: Vec<Node<'_>> = n
                    .named_children(&mut c)
                    .filter(|c| c.kind() == "for_in_clause")
                    .collect();
                if let Some(body) = n.child_by_field_name("body") {
                    for clause in clauses {
                        let Some(it) = clause.child_by_field_name("right") else {
                            continue;
                        };
                        if repair_function(ctx, facts, n.start_byte()) {
                            break;
                        }
                        let target = clause
                            .child_by_field_name("left")
                            .map_or("", |l| text(l, src));
                        if let Some(rows) =
                            query_rows(it, scope_of(n.start_byte()), &assigned, &capped, ctx)
                        {
                            report_first_db_call(
                                body,
                                &rows,
                                target,
                                &lazy,
                                ctx,
                                &mut reported,
                                out,
                            );
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
        true
    });
}

/// A module that imports a fake-data generator (`faker`, `loremipsum`, `names`, `mimesis`):
/// a seeding script that fills a development database, run by hand, not a service path.
fn seeds_fake_data(ctx: &FileContext<'_>) -> bool {
    static FAKE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^(?:import|from)\s+(?:faker|loremipsum|lorem|names|mimesis)\b")
            .expect("static regex")
    });
    FAKE.is_match(&ctx.file.text)
}

/// The read is the start of a chain that ends in a write
/// (`session.query(T).filter(..).delete()`, `T.objects.filter(..).update(..)`): a per-row
/// write, not an N+1 read.
fn chain_ends_in_write(node: Node<'_>, src: &str) -> bool {
    let mut cur = node;
    let mut last = None;
    while let Some(attr) = cur.parent().filter(|p| p.kind() == "attribute") {
        let Some(call) = attr
            .parent()
            .filter(|c| c.kind() == "call" && c.child_by_field_name("function") == Some(attr))
        else {
            break;
        };
        last = attr
            .child_by_field_name("attribute")
            .map(|a| text(a, src).to_string());
        cur = call;
    }
    last.is_some_and(|m| {
        matches!(
            m.as_str(),
            "delete"
                | "update"
                | "insert"
                | "create"
                | "bulk_create"
                | "bulk_update"
                | "update_or_create"
                | "get_or_create"
        )
    })
}

/// `model.objects.count()` with a lower-case `model` variable: a different table on every
/// iteration (a loop over model classes), which no join or prefetch could batch.
fn dynamic_model(call: Node<'_>, src: &str) -> bool {
    let t = text(call, src);
    let head = t.split(['.', '(']).next().unwrap_or("");
    matches!(
        head,
        "model" | "model_class" | "cls" | "klass" | "model_cls"
    ) && (t.contains(".objects") || t.contains(".query"))
}

/// A one-off data repair (`def fix_dangling_refs(session)`, `repair_*`, `backfill_*`, or
/// a module under `fixes/`): it walks the rows once, like a data migration.
fn repair_function(
    ctx: &FileContext<'_>,
    facts: &crate::model::facts::python::PyFacts,
    at: usize,
) -> bool {
    let path = ctx.file.rel.as_str();
    path.contains("/fixes/")
        || path.starts_with("fixes/")
        || facts.function_at(at).is_some_and(|f| {
            ["fix_", "repair_", "backfill_"]
                .iter()
                .any(|p| f.name.starts_with(p))
                || migration_helper(f, &ctx.file.text)
        })
}

/// A function given Django's historical app registry (`def move_hosts(apps, ..)` that
/// loads its models with `apps.get_model(..)`): written for a data migration's
/// `RunPython`, it walks the rows once, like the migration itself.
fn migration_helper(f: &crate::model::facts::python::PyFunction, src: &str) -> bool {
    f.params.iter().any(|p| p.name == "apps")
        && src
            .get(f.body.0..f.body.1)
            .is_some_and(|b| b.contains("apps.get_model("))
}

/// `Model.objects.filter(id=row.id).exists()` inside `for row in ...`: the loop re-reads
/// the row it stands on (has it been deleted meanwhile?), a deliberate freshness check,
/// not a lookup of related rows one by one.
fn rereads_loop_row(call: Node<'_>, target: &str, src: &str) -> bool {
    if target.is_empty() || !target.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    static ROW: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:filter|get|filter_by)\(\s*(?:id|pk)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\.(?:id|pk)\s*\)")
            .expect("static regex")
    });
    ROW.captures(text(call, src))
        .is_some_and(|c| &c[1] == target)
}

/// A read whose every argument is a literal (`User.objects.get(username="bot")`,
/// `ContentType.objects.get(model="queue")`): the same row on every iteration, a lookup to
/// hoist out of the loop, not one query per row that one query for all rows could replace.
fn constant_lookup(call: Node<'_>) -> bool {
    let mut constant = true;
    let mut args = 0;
    visit(call, |n| {
        if n.kind() == "argument_list" {
            let mut c = n.walk();
            for a in n.named_children(&mut c) {
                let v = if a.kind() == "keyword_argument" {
                    a.child_by_field_name("value")
                } else {
                    Some(a)
                };
                args += 1;
                constant &= v.is_some_and(is_literal);
            }
        }
        constant
    });
    constant && args > 0
}

/// A literal value: a plain string (no interpolation), a number, `True`/`False`/`None`.
fn is_literal(n: Node<'_>) -> bool {
    match n.kind() {
        "integer" | "float" | "true" | "false" | "none" => true,
        "string" => {
            let mut c = n.walk();
            let plain = n
                .named_children(&mut c)
                .all(|p| p.kind() != "interpolation");
            plain
        }
        "concatenated_string" => {
            let mut c = n.walk();
            let all = n.named_children(&mut c).all(is_literal);
            all
        }
        _ => false,
    }
}

/// Names the file's models declare as relationships (`x = relationship(..)`,
/// `x = db.relationship(..)`, Django `x = models.ForeignKey(..)`): reading one per row
/// loads it with a query of its own unless the query loaded it eagerly.
fn relationship_names(root: Node<'_>, src: &str) -> HashSet<String> {
    static REL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(\w+\.)*(relationship|relation|ForeignKey|OneToOneField)$")
            .expect("static regex")
    });
    let mut names = HashSet::new();
    visit(root, |n| {
        if n.kind() == "assignment" {
            if let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                let in_class = n
                    .parent()
                    .and_then(|p| p.parent())
                    .is_some_and(|b| b.kind() == "block")
                    && n.parent()
                        .and_then(|p| p.parent())
                        .and_then(|b| b.parent())
                        .is_some_and(|c| c.kind() == "class_definition");
                if in_class && l.kind() == "identifier" {
                    if let Some((callee, _, _)) = call_parts(unwrap_expr(r), src) {
                        if REL.is_match(callee) {
                            names.insert(text(l, src).to_string());
                        }
                    }
                }
            }
        }
        true
    });
    names
}

/// The loop variables of a `for` target (`team`, `i, team`, `(k, row)`).
fn target_names(target: &str) -> Vec<&str> {
    target
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect()
}

/// Whether `t` names one of the loop variables as a word.
fn mentions(t: &str, names: &[&str]) -> bool {
    names.iter().any(|n| {
        t.match_indices(n).any(|(i, _)| {
            let before = t[..i].chars().next_back();
            let after = t[i + n.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// A query built per row and keyed by it: `Solves.query.filter_by(team_id=team.id)`,
/// `Feature.objects.filter(project=project)`; it runs when the loop reads it.
fn is_per_row_query(node: Node<'_>, names: &[&str], src: &str) -> bool {
    let Some((_, last, args)) = call_parts(node, src) else {
        return false;
    };
    let recv = receiver(node, src).unwrap_or("");
    let builder = (recv.ends_with(".query") || recv.ends_with(".objects"))
        && matches!(last, "filter" | "filter_by" | "exclude" | "where");
    builder && mentions(text(args, src), names)
}

/// A per-object permission check (`has_perms_owner_aware(user, "view", doc)`,
/// `user.has_perm("app.view", obj)`): object permissions are read from the database for
/// every object.
fn is_object_permission_check(node: Node<'_>, names: &[&str], src: &str) -> bool {
    static PERM: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"^(has_(obj(ect)?_)?perms?(_\w+)?|get_(user_)?perms|check_(object_)?perms?(_\w+)?)$",
        )
        .expect("static regex")
    });
    let Some((_, last, args)) = call_parts(node, src) else {
        return false;
    };
    PERM.is_match(last) && args.named_child_count() >= 2 && mentions(text(args, src), names)
}

/// A SQLAlchemy primary-key get of the row a loop row refers to: `X.query.get(row.x_id)`
/// (Flask-SQLAlchemy) or `session.get(Model, row.x_id)`.
fn identity_mapped_get(node: Node<'_>, names: &[&str], src: &str) -> bool {
    let Some((callee, last, args)) = call_parts(node, src) else {
        return false;
    };
    if last != "get" {
        return false;
    }
    let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
    let session = recv
        .rsplit('.')
        .next()
        .is_some_and(|r| r.ends_with("session"));
    let key = if recv.ends_with(".query") && args.named_child_count() == 1 {
        positional_arg(args, 0)
    } else if session && args.named_child_count() == 2 {
        positional_arg(args, 1)
    } else {
        None
    };
    key.is_some_and(|k| {
        let k = text(k, src);
        k.split_once('.').is_some_and(|(base, attr)| {
            names.contains(&base) && attr.ends_with("_id") && is_name(attr)
        })
    })
}

/// The loop body commits (`session.commit()`, `db.session.commit()`, `session_commit(..)`).
fn commits_per_row(body: Node<'_>, src: &str) -> bool {
    let mut commits = false;
    visit_same_scope(body, |n| {
        if n.kind() == "call" {
            commits |= call_parts(n, src)
                .is_some_and(|(_, last, _)| last == "commit" || last.ends_with("_commit"));
        }
    });
    commits
}

/// The loop body switches the connection to the row's tenant or schema before the read
/// (`set_session_tenant(db, tenant_id)`, `use_tenant(..)`, `with tenant_context(tenant):`,
/// `schema_context(..)`, `SET LOCAL app.tenant_id = ..`, `SET search_path ..`): row-level
/// security or a schema per tenant scopes every query to one tenant, so no single query
/// could read all the tenants' rows. One query per tenant is the design.
fn switches_tenant_per_row(read: Node<'_>, body: Node<'_>, src: &str) -> bool {
    static SWITCH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:set|use|switch|activate|enter|bind)_\w*(?:tenant|schema|search_path)\w*$|^\w*(?:tenant|schema)_context$")
            .expect("static regex")
    });
    static SET_SQL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^\s*SET\s+(?:LOCAL\s+|SESSION\s+)?(?:search_path|[\w.]*tenant\w*)\b|\bset_config\(\s*'[\w.]*tenant")
            .expect("static regex")
    });
    let mut switches = false;
    visit_same_scope(body, |n| {
        if switches || n.kind() != "call" || n.start_byte() >= read.start_byte() {
            return;
        }
        switches = call_parts(n, src).is_some_and(|(_, last, args)| {
            SWITCH.is_match(last)
                || positional_arg(args, 0).is_some_and(|a| {
                    let a = match a.kind() {
                        "call" => a
                            .child_by_field_name("arguments")
                            .and_then(|x| positional_arg(x, 0))
                            .unwrap_or(a),
                        _ => a,
                    };
                    string_value(a, src).is_some_and(|v| SET_SQL.is_match(&v))
                })
        });
    });
    switches
}

/// The loop body sends an HTTP request (`requests.get(..)`, `httpx.post(..)`,
/// `urlopen(..)`).
fn requests_per_row(body: Node<'_>, src: &str) -> bool {
    static HTTP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:requests|httpx)\.(?:get|post|put|patch|delete|head|request)$|^(?:urllib\.request\.)?urlopen$")
            .expect("static regex")
    });
    let mut sends = false;
    visit_same_scope(body, |n| {
        if !sends && n.kind() == "call" {
            sends = call_parts(n, src).is_some_and(|(callee, _, _)| HTTP.is_match(callee));
        }
    });
    sends
}

/// The read looks up a row of `Model` (`Model.objects.filter(..)`) and the same loop body
/// creates a `Model` row (`Model.objects.create(..)`, `Model(..)`): a per-row upsert.
fn upserts_per_row(read: Node<'_>, body: Node<'_>, src: &str) -> bool {
    let t = text(read, src);
    let Some(model) = t
        .split_once(".objects.")
        .map(|(m, _)| m)
        .filter(|m| m.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .filter(|m| m.chars().all(|c| c.is_alphanumeric() || c == '_'))
    else {
        return false;
    };
    let mut creates = false;
    visit_same_scope(body, |n| {
        if !creates && n.kind() == "call" {
            creates = call_parts(n, src).is_some_and(|(callee, _, _)| {
                callee == model
                    || callee
                        .strip_prefix(model)
                        .and_then(|r| r.strip_prefix(".objects."))
                        .is_some_and(|m| {
                            matches!(m, "create" | "get_or_create" | "update_or_create")
                        })
            });
        }
    });
    creates
}

/// The read's row is assigned (`status = Status.objects.get(..)`) and the loop body saves
/// it (`status.save()`) or deletes it (`status.delete()`, `session.delete(status)`): a
/// read-modify-write per row, or the load an ORM delete of that row needs.
fn saves_read_row(read: Node<'_>, body: Node<'_>, src: &str) -> bool {
    let Some(name) = read
        .parent()
        .filter(|p| p.kind() == "assignment")
        .and_then(|p| p.child_by_field_name("left"))
        .filter(|l| l.kind() == "identifier")
        .map(|l| text(l, src))
    else {
        return false;
    };
    let (save, delete) = (format!("{name}.save"), format!("{name}.delete"));
    let mut saves = false;
    visit_same_scope(body, |n| {
        if !saves && n.kind() == "call" {
            saves = call_parts(n, src).is_some_and(|(callee, last, args)| {
                callee == save
                    || callee == delete
                    || (last == "delete"
                        && callee.ends_with("session.delete")
                        && positional_arg(args, 0).is_some_and(|a| text(a, src) == name))
            });
        }
    });
    saves
}

/// The read's arguments name a collection the loop body grows (`used.append(..)`,
/// `seen.add(..)`, `used += [..]`): each row's query depends on the rows before it.
fn depends_on_earlier_rows(read: Node<'_>, body: Node<'_>, src: &str) -> bool {
    let Some((_, _, args)) = call_parts(read, src) else {
        return false;
    };
    let mut grown: Vec<&str> = Vec::new();
    visit_same_scope(body, |n| match n.kind() {
        "call" => {
            if let Some((callee, last, _)) = call_parts(n, src) {
                if let Some((recv, _)) = callee.rsplit_once('.') {
                    if matches!(last, "append" | "add" | "extend" | "update") && is_name(recv) {
                        grown.push(recv);
                    }
                }
            }
        }
        "augmented_assignment" => {
            if let Some(l) = n
                .child_by_field_name("left")
                .filter(|l| l.kind() == "identifier")
            {
                grown.push(text(l, src));
            }
        }
        _ => {}
    });
    // The read's own call chain (`Media.objects.exclude(id__in=used).filter(..).first()`).
    let mut chain = text(args, src).to_string();
    let mut cur = read;
    while let Some(f) = cur.child_by_field_name("function") {
        let Some(obj) = f.child_by_field_name("object") else {
            break;
        };
        if let Some((_, _, a)) = call_parts(obj, src) {
            chain.push_str(text(a, src));
        }
        cur = obj;
    }
    !grown.is_empty() && mentions(&chain, &grown)
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A Django management command (`<app>/management/commands/<name>.py`).
fn is_management_command(ctx: &FileContext<'_>) -> bool {
    let p = ctx.file.rel.as_str();
    p.contains("/management/commands/") || p.starts_with("management/commands/")
}

/// Every call of the loop body reads rows or prints (`self.stdout.write(..)`, `print(..)`,
/// `self.style.SUCCESS(..)`): the loop writes nothing and sends nothing.
fn only_prints(body: Node<'_>, src: &str) -> bool {
    let mut quiet = true;
    visit_same_scope(body, |n| {
        if quiet && n.kind() == "call" {
            quiet = call_parts(n, src).is_some_and(|(callee, last, _)| {
                let output = callee == "print"
                    || ["self.stdout.", "self.stderr.", "self.style.", "sys.stdout."]
                        .iter()
                        .any(|p| callee.starts_with(p));
                let read = callee.contains(".objects.")
                    && (QUERYSET_METHODS.contains(&last) || is_db_read(n, src));
                output || read
            });
        }
    });
    quiet
}

/// Whether `call` sits in a counting loop nested in the row loop's `body` (`while day <
/// end:`, `for _ in range(n):`) and does not name the row: a calendar or counter lookup
/// repeated per step (`Holiday.objects.filter(date=day)`), whose cost is the step count
/// of a window, not one extra query per row.
fn in_counting_loop(call: Node<'_>, body: Node<'_>, names: &[&str], src: &str) -> bool {
    if mentions(text(call, src), names) {
        return false;
    }
    let mut node = call.parent();
    while let Some(n) = node {
        if n.id() == body.id() {
            return false;
        }
        match n.kind() {
            "while_statement" => return true,
            "for_statement" => {
                let counting = n
                    .child_by_field_name("right")
                    .and_then(|r| call_parts(r, src))
                    .is_some_and(|(callee, _, _)| callee == "range");
                if counting {
                    return true;
                }
            }
            _ => {}
        }
        node = n.parent();
    }
    false
}

fn report_first_db_call(
    body: Node<'_>,
    rows: &Rows,
    target: &str,
    lazy: &HashSet<String>,
    ctx: &FileContext<'_>,
    reported: &mut HashSet<usize>,
    out: &mut Vec<Hit>,
) {
    let src = ctx.file.text.as_str();
    let names = target_names(target);
    let mut found: Option<Node<'_>> = None;
    visit_same_scope(body, |n| {
        if found.is_some() {
            return;
        }
        if n.kind() == "call" {
            let keyed = mentions(text(n, src), &names);
            let read = (is_db_read(n, src) && (keyed || !rows.helper))
                || (rows.helper && is_per_row_query(n, &names, src))
                || is_object_permission_check(n, &names, src);
            // The loop's own row is no cursor (`for c in connectors: c.get("name")`).
            let on_row = receiver(n, src).is_some_and(|r| names.contains(&r.trim()));
            if read
                && !on_row
                && !dynamic_model(n, src)
                && !rereads_loop_row(n, target, src)
                && !chain_ends_in_write(n, src)
                && (keyed || !constant_lookup(n))
            {
                found = Some(n);
            }
        } else if n.kind() == "attribute" && !rows.eager && !rows.helper {
            // `row.data_source.id`: a lazy relationship loaded for every row.
            let obj = n.child_by_field_name("object");
            let rel = obj.filter(|o| o.kind() == "attribute").and_then(|o| {
                Some((
                    o.child_by_field_name("object")?,
                    o.child_by_field_name("attribute")?,
                ))
            });
            if let Some((base, attr)) = rel {
                if base.kind() == "identifier"
                    && names.contains(&text(base, src))
                    && lazy.contains(text(attr, src))
                {
                    found = Some(n);
                }
            }
        }
    });
    if let Some(call) = found {
        if reported.insert(call.start_byte()) {
            let mut hit = Hit::new(call.start_byte(), call.end_byte())
                .var("call", crate::checks::py::snippet(text(call, src)))
                .var("rows", rows.what.clone());
            // A capped top-N list costs at most N extra queries; a loop that commits every
            // row processes rows one transaction at a time on purpose (a job draining a
            // queue), where the row's own read is part of its work. Both are leads only.
            // A loop that sends an HTTP request per row (a sync job downloading each
            // remote file) spends its time on the network: the query is not the cost. A
            // read of the table the same row then writes (look up, create when missing)
            // is a per-row upsert whose write is inherent, and so is a read of the row the
            // body then saves. A read whose filter uses what earlier rows collected
            // (`exclude(id__in=used)`, then `used.append(..)`) depends on the order of
            // the rows: no single query replaces it. A management command that only
            // prints what it reads is an operator's report run by hand. A lookup repeated
            // per step of a counting loop inside the row loop (the days of a window) is
            // not keyed by the row. A primary-key get of a row the loop row refers to
            // (`session.get(Author, book.author_id)`, `Person.query.get(bill.payer_id)`) is
            // answered from the session's identity map once that row is loaded: one query
            // per distinct referenced row (a project's few members), not one per row. A
            // loop that switches the connection to each row's tenant before reading (row-
            // level security, a schema per tenant) reads per tenant by design.
            if rows.bounded
                || identity_mapped_get(call, &names, src)
                || in_counting_loop(call, body, &names, src)
                || commits_per_row(body, src)
                || requests_per_row(body, src)
                || switches_tenant_per_row(call, body, src)
                || upserts_per_row(call, body, src)
                || saves_read_row(call, body, src)
                || depends_on_earlier_rows(call, body, src)
                || (is_management_command(ctx) && only_prints(body, src))
            {
                hit = hit.confidence(crate::checks::Confidence::Low);
            }
            out.push(hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_keys_and_associations() {
        assert!(risky_insert("INSERT INTO users (email, name) VALUES (?, ?)").is_some());
        assert!(
            risky_insert("INSERT INTO follows (follower_id, followed_id) VALUES (%s, %s)")
                .is_some()
        );
        assert!(
            risky_insert("INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)").is_none()
        );
        assert!(risky_insert(
            "INSERT INTO users (email) VALUES ($1) ON CONFLICT (email) DO NOTHING"
        )
        .is_none());
        assert!(risky_insert("INSERT OR IGNORE INTO tags (slug) VALUES (?)").is_none());
        assert!(risky_insert(
            "INSERT INTO t (email) VALUES (%s) ON DUPLICATE KEY UPDATE n = n + 1"
        )
        .is_none());
        assert!(risky_insert("INSERT INTO logs VALUES (?, ?)").is_none());
    }

    #[test]
    fn db_receivers() {
        for r in [
            "cur",
            "conn",
            "db.session",
            "self.session",
            "get_db()",
            "g.db",
            "read_cursor",
        ] {
            assert!(is_db_receiver(r), "{r}");
        }
        for r in ["row", "cache", "requests", "self.client", "data"] {
            assert!(!is_db_receiver(r), "{r}");
        }
    }
}
