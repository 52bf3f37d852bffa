//! Check-then-insert races (DATA008): a function reads a table for an existing row, then
//! inserts into the same table under a condition, with no conflict handling.

use crate::checks::embedded_sql::sql_literals;
use crate::checks::integrity::queries::{catches_conflict, caught_conflict};
use crate::checks::py::{call_parts, node_at, visit_same_scope};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::text;
use crate::model::pydata::leaves;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

static SELECT_FROM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)^\s*SELECT\b.*?\bFROM\s+["`\[]?([\w.]+)["`\]]?(\s+(AS\s+)?\w+)?\s+WHERE\b"#)
        .expect("static regex")
});
static INSERT_INTO: LazyLock<Regex> =
    LazyLock::new(|| re::new(r#"(?is)^\s*INSERT\s+INTO\s+["`\[]?([\w.]+)"#).expect("static regex"));

/// A string literal that creates or changes the schema.
static DDL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?i)["']\s*(?:CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)|ALTER\s+TABLE)\b"#)
        .expect("static regex")
});

fn last_segment(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase()
}

/// An INSERT that handles its conflict in SQL.
fn handles_conflict(sql: &str) -> bool {
    let words = crate::model::sql::keywords(sql);
    words
        .iter()
        .any(|w| matches!(w.as_str(), "CONFLICT" | "DUPLICATE" | "MERGE"))
        || words.windows(2).any(|w| {
            matches!(
                (w[0].as_str(), w[1].as_str()),
                ("INSERT", "OR") | ("INSERT", "IGNORE") | ("NOT", "EXISTS")
            )
        })
}

/// DATA008: `SELECT ... FROM t WHERE ...`, then an `if`, then `INSERT INTO t` in the same
/// function, without `ON CONFLICT` and outside a `try` that catches `IntegrityError`.
pub fn check_then_insert(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    orm_check_then_insert(ctx, out);
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let lits = sql_literals(ctx);
    for (ii, ins) in lits.iter().enumerate() {
        let Some(caps) = INSERT_INTO.captures(&ins.sql) else {
            continue;
        };
        if handles_conflict(&ins.sql) {
            continue;
        }
        let table = last_segment(&caps[1]);
        let Some(f) = facts.function_at(ins.start) else {
            continue;
        };
        let check = lits[..ii].iter().rev().find(|sel| {
            sel.start >= f.start
                && facts
                    .function_at(sel.start)
                    .is_some_and(|g| g.start == f.start)
                && SELECT_FROM
                    .captures(&sel.sql)
                    .is_some_and(|c| last_segment(&c[1]) == table)
        });
        let Some(sel) = check else { continue };
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        // A decision between the read and the write.
        let mut decided = false;
        visit_same_scope(body, |n| {
            if n.kind() == "if_statement"
                && n.start_byte() > sel.start
                && n.start_byte() < ins.start
            {
                decided = true;
            }
        });
        if !decided {
            continue;
        }
        let Some(call) = node_at(root, ins.start, ins.end) else {
            continue;
        };
        if caught_conflict(call, f.start, src) {
            continue;
        }
        // A function that also creates tables or indexes is a schema set-up routine (a
        // `dbcheck()` run when the application starts, before it serves anyone): its seed rows
        // have no concurrent writer. A lead only.
        let schema_setup = DDL.is_match(src.get(f.body.0..f.body.1).unwrap_or(""));
        let mut hit = Hit::new(ins.start, ins.end);
        if schema_setup {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        out.push(
            hit.var("what", format!("INSERT INTO {table}"))
                .var("line", ctx.file.line_col(sel.start).0.to_string())
                .var("function", f.name.clone()),
        );
    }
}

// ---------------------------------------------------------------------------------------
// ORM shapes: a lookup by key, a decision on its result, then a create.

/// A lookup of one row by a key: `get_by_email(..)`, `find_user_by_handle(..)`,
/// `Model.query.filter_by(..).first()`, `session.scalars(select(..)).one_or_none()`,
/// `Model.objects.filter(..).exists()`.
fn is_orm_lookup(call: Node<'_>, src: &str) -> bool {
    static BY_KEY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(get|find|fetch|lookup|load|select)(_\w+)?_by_\w+$").expect("static regex")
    });
    let Some((_, last, _)) = call_parts(call, src) else {
        return false;
    };
    // A locking read (`with_for_update()`) does not help: a missing row locks nothing.
    let t = text(call, src);
    if BY_KEY.is_match(last) {
        return true;
    }
    let chain = [".filter(", ".filter_by(", ".where(", "select("]
        .iter()
        .any(|m| t.contains(m));
    chain
        && matches!(
            last,
            "first" | "one_or_none" | "scalar_one_or_none" | "exists" | "scalar"
        )
}

/// A check that raises when a key is taken: `_assert_code_available(..)`,
/// `ensure_slug_unique(..)`, `check_email_not_taken(..)`.
fn is_availability_assert(call: Node<'_>, src: &str) -> bool {
    static ASSERT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^_?(assert|ensure|check|validate|verify)_\w*(available|unique|not_exists?|not_taken|not_used|free|uniqueness)$")
            .expect("static regex")
    });
    call_parts(call, src).is_some_and(|(_, last, _)| ASSERT.is_match(last))
}

/// A row created: `create_by_email(..)`, `repository.create(..)`, `Model.objects.create(..)`,
/// `session.add(..)`.
fn is_orm_create(call: Node<'_>, src: &str) -> bool {
    let Some((callee, last, args)) = call_parts(call, src) else {
        return false;
    };
    let creates = (last == "create" || last.starts_with("create_") || last.starts_with("insert_"))
        && !last.contains("_or_")
        && !last.contains("_table")
        && !last.contains("_index");
    let added = last == "add" && {
        let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
        let r = recv.rsplit('.').next().unwrap_or(recv);
        // `session.add(obj)` of a loaded row is an update: only a row built right there counts.
        let built = crate::checks::py::positional_arg(args, 0).is_some_and(|a| {
            a.kind() == "call"
                && a.child_by_field_name("function").is_some_and(|f| {
                    let name = text(f, src).rsplit('.').next().unwrap_or("");
                    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                })
        });
        matches!(r, "session" | "db_session" | "sess" | "db") && built
    };
    (creates || added) && !remote_call(call, src)
}

/// A create sent to another service, not a row inserted: a call on an HTTP client or SDK
/// object (`gitlab_client.create_hook(..)`, `stripe.Customer.create(..)`), or one inside a
/// `try` whose handlers catch only network errors (`except requests.RequestException`).
fn remote_call(call: Node<'_>, src: &str) -> bool {
    static SDK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(stripe|boto3|requests|httpx|aiohttp|github|gitlab|slack_sdk)$|(client|_api|sdk)$")
            .expect("static regex")
    });
    static NETWORK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(requests|httpx|aiohttp|urllib3?|botocore|stripe|gitlab|github|slack_sdk)\.|^(RequestException|HTTPError|HTTPStatusError|ConnectionError|Timeout|TimeoutError|ConnectTimeout|ReadTimeout|ClientError|ClientResponseError|ApiException|APIError|GitlabError|GithubException|SlackApiError|StripeError)$")
            .expect("static regex")
    });
    let callee = call
        .child_by_field_name("function")
        .map_or("", |f| text(f, src));
    if let Some((recv, _)) = callee.rsplit_once('.') {
        let root = recv.split('.').next().unwrap_or(recv);
        let last = recv.rsplit('.').next().unwrap_or(recv);
        if SDK.is_match(root) || SDK.is_match(last) {
            return true;
        }
    }
    let mut child = call;
    let mut cur = call.parent();
    while let Some(p) = cur {
        if matches!(p.kind(), "function_definition" | "lambda") {
            break;
        }
        if p.kind() == "try_statement" && p.child_by_field_name("body") == Some(child) {
            let mut c = p.walk();
            let caught: Vec<String> = p
                .named_children(&mut c)
                .filter(|cl| cl.kind() == "except_clause")
                .filter_map(|cl| cl.child_by_field_name("value"))
                .flat_map(|v| {
                    let v = crate::checks::py::unwrap_expr(v);
                    let v = if v.kind() == "as_pattern" {
                        v.named_child(0).unwrap_or(v)
                    } else {
                        v
                    };
                    let t = text(v, src).trim_matches(|c| c == '(' || c == ')');
                    t.split(',')
                        .map(|e| e.trim().to_string())
                        .filter(|e| !e.is_empty())
                        .collect::<Vec<_>>()
                })
                .collect();
            if !caught.is_empty() && caught.iter().all(|e| NETWORK.is_match(e)) {
                return true;
            }
        }
        child = p;
        cur = p.parent();
    }
    false
}

/// The name a statement assigns from a lookup: `user = await repo.get_by_email(email)`.
fn lookup_assignment<'t>(stmt: Node<'t>, src: &'t str) -> Option<(&'t str, Node<'t>)> {
    let expr = if stmt.kind() == "expression_statement" {
        stmt.named_child(0)?
    } else {
        stmt
    };
    if expr.kind() != "assignment" {
        return None;
    }
    let left = expr.child_by_field_name("left")?;
    let right = crate::checks::py::unwrap_expr(expr.child_by_field_name("right")?);
    let right = if right.kind() == "await" {
        right.named_child(0)?
    } else {
        right
    };
    (left.kind() == "identifier" && right.kind() == "call" && is_orm_lookup(right, src))
        .then(|| (text(left, src), right))
}

/// `x is None`, `not x`, `x is not None`, `x`: (tests `x`, true when the row is missing).
fn missing_test<'s>(cond: Node<'_>, src: &'s str) -> Option<(&'s str, bool)> {
    let cond = crate::checks::py::unwrap_expr(cond);
    let t = text(cond, src).trim();
    if let Some(rest) = t.strip_prefix("not ") {
        let rest = rest.trim();
        return is_name(rest).then_some((rest, true));
    }
    if let Some(name) = t.strip_suffix(" is None") {
        return is_name(name.trim()).then_some((name.trim(), true));
    }
    if let Some(name) = t.strip_suffix(" is not None") {
        return is_name(name.trim()).then_some((name.trim(), false));
    }
    is_name(t).then_some((t, false))
}

/// `row and <more>` (an `and` whose left operand tests the row): the test holds only
/// when something besides the row's existence does.
fn and_more(cond: Node<'_>, src: &str) -> bool {
    let c = crate::checks::py::unparen(cond);
    c.kind() == "boolean_operator"
        && c.child_by_field_name("operator")
            .is_some_and(|o| text(o, src) == "and")
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The first create call in `node` (same scope), or a `Model(...)` construction assigned to
/// `var` (a row built when the lookup found none).
fn first_create<'t>(node: Node<'t>, var: Option<&str>, src: &str) -> Option<Node<'t>> {
    let mut found = None;
    visit_same_scope(node, |n| {
        if found.is_some() {
            return;
        }
        if n.kind() == "call" && is_orm_create(n, src) {
            found = Some(n);
        } else if n.kind() == "assignment" {
            let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            let built = r.kind() == "call"
                && r.child_by_field_name("function").is_some_and(|f| {
                    let name = text(f, src).rsplit('.').next().unwrap_or("");
                    f.kind() != "call"
                        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                        && name.chars().any(|c| c.is_ascii_lowercase())
                });
            if built && var.is_some_and(|v| text(l, src) == v) {
                found = Some(r);
            }
        }
    });
    found
}

/// The create only stages the row (`db.add(row)`, or `row = Model(..)`), and a later
/// statement of its block or of an enclosing one (in the function) holds a `try` that commits
/// or flushes (`db.commit()`) and catches the uniqueness error: the INSERT runs at that
/// commit, where the conflict is handled (roll back, read the winner's row).
fn commit_caught(create: Node<'_>, stop: usize, src: &str) -> bool {
    let staged = call_parts(create, src).is_some_and(|(_, last, _)| {
        matches!(last, "add" | "add_all") || last.starts_with(|c: char| c.is_ascii_uppercase())
    });
    if !staged {
        return false;
    }
    let commits = |n: Node<'_>| {
        let mut found = false;
        visit_same_scope(n, |k| {
            found |= k.kind() == "call"
                && call_parts(k, src)
                    .is_some_and(|(_, last, _)| matches!(last, "commit" | "flush"));
        });
        found
    };
    let mut cur = create;
    while let Some(p) = cur.parent() {
        if p.start_byte() < stop || p.kind() == "function_definition" {
            break;
        }
        if p.kind() == "block" {
            let mut next = cur.next_named_sibling();
            while let Some(s) = next {
                // Also a `try` nested in the statement (`if commit: try: db.commit() ..`).
                let mut handled = false;
                visit_same_scope(s, |k| {
                    handled |= k.kind() == "try_statement"
                        && catches_conflict(k, src)
                        && k.child_by_field_name("body").is_some_and(commits);
                });
                if handled {
                    return true;
                }
                next = s.next_named_sibling();
            }
        }
        cur = p;
    }
    false
}

/// The look-up and the create both take one and the same mapping spread as keywords
/// (`filter(**obj)` ... `create(**obj)`) and nothing else.
fn same_spread(lookup: Node<'_>, create: Node<'_>, src: &str) -> bool {
    static SPREAD: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\(\s*\*\*(\w+)\s*\)").expect("static regex"));
    let spread = |t: &str| SPREAD.captures(t).map(|c| c[1].to_string());
    let l = spread(text(lookup, src));
    l.is_some() && l == spread(text(create, src))
}

/// DATA008, ORM shapes: a lookup by key (`get_by_email`, `.filter_by(..).first()`,
/// `.exists()`) or an availability assertion, then a create decided by it, in one function
/// without an `IntegrityError` handler (a locking read locks no missing row).
pub fn orm_check_then_insert(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    if crate::checks::integrity::alembic::is_migration_module(ctx) {
        return;
    }
    static IDEMPOTENT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(_or_create|_or_reuse|_or_register|upsert|^ensure_|^(find|fetch)_or_)")
            .expect("static regex")
    });
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    for (fi, f) in facts.functions.iter().enumerate() {
        let Some(body) = node_at(root, f.body.0, f.body.1) else {
            continue;
        };
        let mut asserted = false;
        // (statement, looked-up name, lookup call) in order, at any block depth.
        let mut hit: Option<(Node<'_>, Node<'_>)> = None; // (create, lookup)
                                                          // The create is reached past `if row and <more>: return/raise`: the row stops it
                                                          // only under a further condition.
        let mut conditional = false;
        // (name, lookup, where the creates it decides start): a create past an
        // `if row: return/raise` is decided by the look-up, one inside that `if` is not.
        let mut pending: Vec<(Option<&str>, Node<'_>, Option<usize>, bool)> = Vec::new();
        // The create is reached past an `if row: raise ..` (a friendly "already exists").
        let mut past_raise = false;
        visit_same_scope(body, |n| {
            if hit.is_some() {
                return;
            }
            if let Some((name, call)) = lookup_assignment(n, src) {
                pending.push((Some(name), call, None, false));
                return;
            }
            if n.kind() == "call" && is_availability_assert(n, src) {
                asserted = true;
                pending.push((None, n, Some(n.end_byte()), false));
                return;
            }
            if n.kind() == "if_statement" {
                let Some(cond) = n.child_by_field_name("condition") else {
                    return;
                };
                let Some(cons) = n.child_by_field_name("consequence") else {
                    return;
                };
                // `if not Model.objects.filter(..).exists(): create`
                let inline = crate::checks::py::unwrap_expr(cond);
                if inline.kind() == "not_operator" {
                    if let Some(arg) = inline.child_by_field_name("argument") {
                        let arg = crate::checks::py::unwrap_expr(arg);
                        if arg.kind() == "call" && is_orm_lookup(arg, src) {
                            if let Some(c) = first_create(cons, None, src) {
                                hit = Some((c, arg));
                                return;
                            }
                        }
                    }
                }
                let Some((name, missing)) = missing_test(cond, src) else {
                    return;
                };
                let Some(p) = pending.iter_mut().rev().find(|p| p.0 == Some(name)) else {
                    return;
                };
                if missing {
                    if let Some(c) = first_create(cons, Some(name), src) {
                        hit = Some((c, p.1));
                    }
                } else if leaves(cons) {
                    // `if user is not None: return user`, then the create below.
                    p.2 = Some(n.end_byte());
                    p.3 = and_more(cond, src);
                    past_raise = cons
                        .named_child(cons.named_child_count().saturating_sub(1) as u32)
                        .is_some_and(|s| s.kind() == "raise_statement");
                }
                return;
            }
            if n.kind() == "call" && is_orm_create(n, src) {
                if let Some(p) = pending
                    .iter()
                    .rev()
                    .find(|p| p.2.is_some_and(|after| after <= n.start_byte()))
                {
                    hit = Some((n, p.1));
                    conditional = p.3;
                }
            }
        });
        let Some((create, lookup)) = hit else {
            continue;
        };
        if caught_conflict(create, f.start, src) || commit_caught(create, f.start, src) {
            continue;
        }
        let what = call_parts(create, src)
            .map(|(c, _, _)| format!("{c}(..)"))
            .unwrap_or_default();
        // Medium where the code promises one row per key: a get-or-create/upsert, an
        // explicit availability check, or a request handler that creates what it did not
        // find; elsewhere (set-up code, CLI
        // commands, jobs) the pattern alone is a low-confidence lead.
        // A handler that answers "already exists" before creating has a unique constraint
        // behind it more often than not: the race costs a 500, a low-confidence lead.
        // A lookup made `..._for_update` shows the author meant to serialise creates by key;
        // a locking read of a missing row locks nothing, so the promise is broken.
        let locked_lookup = call_parts(lookup, src).is_some_and(|(_, last, _)| {
            last.ends_with("_for_update") || text(lookup, src).contains("with_for_update(")
        });
        let promised = IDEMPOTENT.is_match(&f.name)
            || asserted
            || locked_lookup
            || (!past_raise && facts.routes.iter().any(|r| r.function == fi));
        // `if notes and note_type.is_single: return 400`: one row per key is the rule only
        // for some rows (a setting of the type, a flag), and most creates through here are
        // meant to add another row with the same key. The race is real only for those rows,
        // which the pattern cannot tell: a low-confidence lead.
        // `Model.objects.filter(**row).first()`, then `Model.objects.create(**row)`: the look-up
        // matches the whole row, not a key, so no one row per key is promised; a repeat of
        // identical data (an import run twice) is skipped. A lead only.
        let whole_row = same_spread(lookup, create, src);
        let mut hit = Hit::new(create.start_byte(), create.end_byte());
        if !promised || conditional || whole_row {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        out.push(
            hit.var("what", what)
                .var("line", ctx.file.line_col(lookup.start_byte()).0.to_string())
                .var("function", f.name.clone()),
        );
    }
}
