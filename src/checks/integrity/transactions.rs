//! DATA009: several writes on one request path committed separately (a commit between
//! writes, or autocommit drivers with no transaction around them), so a failure half-way
//! leaves half of the change behind.

use crate::checks::py::{body_node, request_path_functions};
use crate::checks::py::{call_parts, chain, visit};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{string_value, text, PyFunction};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// Transaction scopes: a block inside one of these (or a function decorated with
/// `transaction.atomic`) is all-or-nothing.
static TX_SCOPE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:atomic|transaction|begin|begin_nested|Transaction)\s*\(").expect("static regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Write,
    Commit,
}

/// DATA009: a request handler that commits a write and then writes again (so a failure
/// of the later write leaves the earlier one committed), or that runs several writes on
/// an autocommit connection (asyncpg, Django ORM) with no transaction around them.
pub fn writes_without_transaction(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let autocommit = facts.imports_package("asyncpg") || facts.imports_package("django");
    for (fi, route, _) in request_path_functions(ctx, facts) {
        let Some(f) = facts.functions.get(fi) else {
            continue;
        };
        if in_transaction_fn(f) {
            continue;
        }
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let mut steps: Vec<(Step, Node<'_>)> = Vec::new();
        let mut transactional = false;
        visit(body, |n| {
            if n != body
                && matches!(
                    n.kind(),
                    "function_definition" | "lambda" | "class_definition" | "decorated_definition"
                )
            {
                return false;
            }
            match n.kind() {
                // Compensating writes in an `except` do not count.
                "except_clause" | "finally_clause" => return false,
                "with_statement" => {
                    let head = n
                        .child_by_field_name("body")
                        .map_or(text(n, src), |b| &src[n.start_byte()..b.start_byte()]);
                    if TX_SCOPE.is_match(head) {
                        transactional = true;
                        return false;
                    }
                }
                "call" => {
                    if let Some(step) = step_of(n, src) {
                        steps.push((step, n));
                    }
                }
                _ => {}
            }
            true
        });
        if transactional && !steps.iter().any(|(s, _)| *s == Step::Commit) {
            continue;
        }
        let mut hit: Option<(Node<'_>, Node<'_>, &str)> = None;
        // Every write the earlier one can be stranded by, for the confidence below.
        let mut stranding: Vec<Node<'_>> = Vec::new();
        // The earlier write the later ones can strand.
        let mut first_write: Option<Node<'_>> = None;
        // A commit with writes before it and a write after it, both on one path.
        'commits: for (ci, (step, commit)) in steps.iter().enumerate() {
            if *step != Step::Commit {
                continue;
            }
            let before: Vec<Node<'_>> = steps[..ci]
                .iter()
                .filter(|(s, n)| {
                    *s == Step::Write && !exclusive(*n, *commit) && !create_if_missing(*n, src)
                })
                .map(|(_, n)| *n)
                .collect();
            for &w1 in &before {
                for (s, w2) in &steps[ci + 1..] {
                    if *s == Step::Write && independent(w1, *w2, src) && !exclusive(*commit, *w2) {
                        hit = Some((*commit, *w2, "commit"));
                        first_write = Some(w1);
                        stranding = steps[ci + 1..]
                            .iter()
                            .filter(|(s, n)| {
                                *s == Step::Write
                                    && independent(w1, *n, src)
                                    && !exclusive(*commit, *n)
                            })
                            .map(|(_, n)| *n)
                            .collect();
                        break 'commits;
                    }
                }
            }
        }
        if hit.is_none()
            && autocommit
            && !transactional
            && !steps.iter().any(|(s, _)| *s == Step::Commit)
        {
            let writes: Vec<Node<'_>> = steps
                .iter()
                .filter(|(s, _)| *s == Step::Write)
                .map(|(_, n)| *n)
                .collect();
            // The first two writes that can both run (not the two arms of an `if`).
            'pairs: for (i, a) in writes.iter().enumerate() {
                if create_if_missing(*a, src) {
                    continue;
                }
                for b in &writes[i + 1..] {
                    if independent(*a, *b, src) {
                        hit = Some((*a, *b, "autocommit"));
                        first_write = Some(*a);
                        stranding = writes[i + 1..]
                            .iter()
                            .filter(|b| independent(*a, **b, src))
                            .copied()
                            .collect();
                        break 'pairs;
                    }
                }
            }
        }
        let Some((at, later, how)) = hit else {
            continue;
        };
        let (line, _) = ctx.file.line_col(later.start_byte());
        let first = crate::checks::py::snippet(text(at, src));
        let second = crate::checks::py::snippet(text(later, src));
        let what = if how == "commit" {
            format!("`{first}` commits before `{second}` (line {line}) runs")
        } else {
            format!("`{first}` and `{second}` (line {line}) each commit on their own")
        };
        let mut hit = Hit::new(at.start_byte(), at.end_byte())
            .var("what", what)
            .var("function", f.name.clone())
            .var("route", route.clone());
        // Every later write runs only under a flag the caller passes (`if with_project:`):
        // the earlier write alone is the state every call without the flag leaves, so a
        // half-done change is one the code supports.
        if stranding
            .iter()
            .all(|w| optional_write(*w, at, body, f, src))
            || first_write.is_some_and(|a| side_record(a, &stranding, body, src))
        {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        out.push(hit);
    }
}

/// `w` runs inside an `if` whose condition is a bare parameter of `f` (`if
/// with_project:`) and that does not also hold `first`. (A loop over the request's items
/// is not optional: an order committed before its lines is the defect itself.)
fn optional_write(w: Node<'_>, first: Node<'_>, body: Node<'_>, f: &PyFunction, src: &str) -> bool {
    let holds_first =
        |n: Node<'_>| n.start_byte() <= first.start_byte() && first.end_byte() <= n.end_byte();
    let mut cur = w.parent();
    while let Some(n) = cur {
        if n == body || holds_first(n) {
            return false;
        }
        if n.kind() == "if_statement" {
            let flag = n.child_by_field_name("condition").is_some_and(|c| {
                c.kind() == "identifier"
                    && (f.params.iter().any(|p| p.name == text(c, src))
                        || request_flag(body, text(c, src), src))
            });
            let in_body = n
                .child_by_field_name("consequence")
                .is_some_and(|b| b.start_byte() <= w.start_byte() && w.end_byte() <= b.end_byte());
            if flag && in_body {
                return true;
            }
        }
        cur = n.parent();
    }
    false
}

/// `name` is bound in `body` from the request (`remove = request.data.get("remove")`): a
/// switch the caller flips for an extra action.
fn request_flag(body: Node<'_>, name: &str, src: &str) -> bool {
    let mut found = false;
    visit(body, |n| {
        if n.kind() == "assignment" {
            let bound = n
                .child_by_field_name("left")
                .is_some_and(|l| l.kind() == "identifier" && text(l, src) == name);
            let from_request = n
                .child_by_field_name("right")
                .is_some_and(|r| text(r, src).starts_with("request."));
            found |= bound && from_request;
        }
        !found
    });
    found
}

/// The earlier write `a` and the writes it can be stranded by form no change across rows
/// that a later request relies on: a record about the change (history, audit, note,
/// follow-up rows) on either side when nothing later deletes, a time stamp (`last_used =
/// now(); save()`), idempotent set-updates that a retry finishes, or follow-ups that
/// are each saved only when valid (partial by design).
fn side_record(a: Node<'_>, later: &[Node<'_>], body: Node<'_>, src: &str) -> bool {
    if later.is_empty() {
        return false;
    }
    // A delete after `a` (an instance `.delete()` too) makes the change destructive.
    let mut destructive = false;
    visit(body, |n| {
        if n.kind() == "call" && n.start_byte() >= a.end_byte() {
            destructive |= call_parts(n, src).is_some_and(|(_, last, _)| last == "delete")
                || text(n, src).to_ascii_lowercase().contains("delete from");
        }
        !destructive
    });
    let neutral = |w: Node<'_>| {
        call_parts(w, src)
            .is_some_and(|(_, last, _)| matches!(last, "get_or_create" | "update_or_create"))
    };
    let side = |w: Node<'_>| record_write(w, src) || stamp(w, src) || validated_item(w, src);
    (record_write(a, src) && !destructive)
        || stamp(a, src)
        || validated_item(a, src)
        || (set_update(a, src) && later.iter().all(|w| set_update(*w, src)))
        || (later.iter().all(|w| side(*w) || neutral(*w)) && later.iter().any(|w| side(*w)))
}

/// Row kinds that record what happened rather than being the change: `NoteHistory`,
/// `TicketChange`, `AuditLog`, a `note`/`history`/`followup` variable.
static RECORD_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)(?:^|_)(?:history|histories|log|logs|audit|audits|note|notes|followup|followups|activity|activities|event|events|comment|comments|notification|notifications)$|[a-z](?:History|Log|Audit|Note|Notes|FollowUp|Followup|Change|Activity|Event|Comment|Notification)s?$",
    )
    .expect("static regex")
});

/// The model or variable a write is about: `Model` of `Model.objects.create(..)`,
/// `db.add(Model(..))`, or the receiver/target name of `note.save()`.
fn write_subject<'s>(w: Node<'_>, src: &'s str) -> Option<&'s str> {
    let (callee, last, args) = call_parts(w, src)?;
    if let Some((model, _)) = callee.split_once(".objects") {
        return Some(model.rsplit('.').next().unwrap_or(model));
    }
    if matches!(last, "add" | "add_all") {
        let arg = args.named_child(0)?;
        let (ctor, _, _) = call_parts(arg, src)?;
        return Some(ctor.rsplit('.').next().unwrap_or(ctor));
    }
    written_name(w, src)
}

fn record_write(w: Node<'_>, src: &str) -> bool {
    write_subject(w, src).is_some_and(|n| RECORD_NAME.is_match(n))
}

/// `x.save()` right after assignments that only stamp times on `x` (`x.last_used =
/// timezone.now()`), or `x.save(update_fields=[..])` naming only time fields.
fn stamp(w: Node<'_>, src: &str) -> bool {
    let Some((_, "save", args)) = call_parts(w, src) else {
        return false;
    };
    let time_field = |f: &str| {
        f.contains("last_")
            || ["_at", "_time", "_date", "_on"]
                .iter()
                .any(|s| f.ends_with(s))
    };
    let fields = text(args, src);
    if let Some(list) = fields.split_once("update_fields").map(|(_, l)| l) {
        let names: Vec<&str> = list
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|t| !t.is_empty())
            .collect();
        return !names.is_empty() && names.iter().all(|n| time_field(n));
    }
    let Some(name) = written_name(w, src) else {
        return false;
    };
    let Some(stmt) = w.parent().filter(|p| p.kind() == "expression_statement") else {
        return false;
    };
    let mut stamped = 0;
    let mut prev = stmt.prev_named_sibling();
    while let Some(p) = prev {
        if p.kind() == "comment" {
            prev = p.prev_named_sibling();
            continue;
        }
        let Some(asg) = p
            .named_child(0)
            .filter(|x| matches!(x.kind(), "assignment" | "augmented_assignment"))
        else {
            break;
        };
        let (Some(l), Some(r)) = (
            asg.child_by_field_name("left"),
            asg.child_by_field_name("right"),
        ) else {
            break;
        };
        let lt = text(l, src);
        if !lt.starts_with(name) || !lt[name.len()..].starts_with('.') {
            break;
        }
        let rt = text(r, src);
        // A counter bump (`survey.num_responses += 1`) is a stamp too.
        let bump = asg.kind() == "augmented_assignment" && rt == "1";
        let time = r.kind() == "call"
            && ["now()", "today()", "time()", "utcnow()"]
                .iter()
                .any(|s| rt.ends_with(s));
        if !(bump || time) {
            return false;
        }
        stamped += 1;
        prev = p.prev_named_sibling();
    }
    stamped > 0
}

/// A queryset set-update (`Model.objects.filter(..).update(status=..)`): running it again
/// gives the same rows.
fn set_update(w: Node<'_>, src: &str) -> bool {
    call_parts(w, src).is_some_and(|(callee, last, _)| {
        last == "update" && (callee.contains(".objects") || callee.contains(".filter("))
    })
}

/// `x.save()` in a loop, under `if valid:` where `valid = x.is_valid()` (or `if
/// x.is_valid():`): each item is saved only when it is valid, the rest are shown again, so
/// a partial save is what the code intends.
fn validated_item(w: Node<'_>, src: &str) -> bool {
    let Some(name) = written_name(w, src) else {
        return false;
    };
    let check = format!("{name}.is_valid()");
    let mut cur = w.parent();
    let mut guarded = false;
    while let Some(p) = cur {
        match p.kind() {
            "function_definition" => return false,
            "for_statement" => return guarded,
            "if_statement" => {
                if let Some(c) = p.child_by_field_name("condition") {
                    let t = text(c, src);
                    if t == check {
                        guarded = true;
                    } else if c.kind() == "identifier" {
                        // `valid = x.is_valid()` in the loop body before the `if`.
                        let mut prev = p.prev_named_sibling();
                        while let Some(q) = prev {
                            let qt = text(q, src);
                            if qt.starts_with(t) && qt.contains(&check) {
                                guarded = true;
                                break;
                            }
                            prev = q.prev_named_sibling();
                        }
                    }
                }
            }
            _ => {}
        }
        cur = p.parent();
    }
    false
}

/// `a` and `b` sit in different arms of one `if`/`elif`/`else` (or `try`/`except`):
/// at most one of them runs.
fn exclusive(a: Node<'_>, b: Node<'_>) -> bool {
    let mut ancestors = Vec::new();
    let mut cur = Some(a);
    while let Some(n) = cur {
        ancestors.push(n);
        cur = n.parent();
    }
    // The child of the common ancestor on `b`'s side, and the common ancestor.
    let mut below = b;
    let mut cur = b.parent();
    while let Some(n) = cur {
        if let Some(pos) = ancestors.iter().position(|x| *x == n) {
            if !matches!(n.kind(), "if_statement" | "try_statement") || pos == 0 {
                return false;
            }
            let a_side = ancestors[pos - 1];
            let arm = |x: Node<'_>| {
                matches!(
                    x.kind(),
                    "block" | "else_clause" | "elif_clause" | "except_clause"
                )
            };
            return a_side != below && arm(a_side) && arm(below);
        }
        below = n;
        cur = n.parent();
    }
    false
}

/// Whether `b` can run after `a` on one path and its failure would strand `a`: not the
/// two arms of an `if`, not after a `return` that follows `a`, not guarded by a flag `a`'s
/// branch sets, not two sibling `if`s that dispatch on different values of one input, and
/// not a later write whose failure the handler catches on its own (`except
/// IntegrityError: rollback()`).
fn independent(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    !exclusive(a, b)
        && !leaves_after(a, b, src)
        && !flag_guarded(a, b, src)
        && !dispatch_arms(a, b, src)
        && !failure_handled(b, src)
        && !best_effort(a, b, src)
        && !same_row(a, b, src)
        && !state_fixup(a, b, src)
}

/// The name a write is about: the receiver of `recipe.save()` / `tb.delete()`, or the
/// target of `recipe = serializer.save()` / `unit = Unit.objects.create(..)`.
fn written_name<'s>(n: Node<'_>, src: &'s str) -> Option<&'s str> {
    if let Some(asg) = n
        .parent()
        .filter(|p| p.kind() == "assignment" || p.kind() == "await")
        .and_then(|p| {
            if p.kind() == "await" {
                p.parent().filter(|q| q.kind() == "assignment")
            } else {
                Some(p)
            }
        })
    {
        let left = asg.child_by_field_name("left")?;
        return (left.kind() == "identifier").then(|| text(left, src));
    }
    let (callee, last, _) = call_parts(n, src)?;
    let recv = callee.strip_suffix(last)?.strip_suffix('.')?;
    (matches!(last, "save" | "delete" | "refresh_from_db") && is_name(recv) && !recv.contains('.'))
        .then(|| {
            let start = n.start_byte();
            &src[start..start + recv.len()]
        })
}

/// `b` saves the very row `a` created or saved (`recipe = serializer.save()` then, with the
/// image attached, `recipe.save()`): a failure of `b` leaves that row as `a` committed it,
/// a complete row the code was content to commit, not half of a change across rows.
fn same_row(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let is_save = call_parts(b, src).is_some_and(|(_, last, _)| last == "save");
    is_save && matches!((written_name(a, src), written_name(b, src)), (Some(x), Some(y)) if x == y)
}

/// `a` sits in an `if` (not holding `b`) that tests the current state of the row `a`
/// writes (`if bot.chat_id == "": bot.chat_id = ..; bot.save()`, the `else` of `if not
/// unit:`): a fix-up that a retry finds done and skips, so leaving it behind is the state
/// the next request expects.
fn state_fixup(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let Some(name) = written_name(a, src) else {
        return false;
    };
    let mut cur = a.parent();
    while let Some(p) = cur {
        if p.kind() == "function_definition"
            || p.start_byte() <= b.start_byte() && b.end_byte() <= p.end_byte()
        {
            return false;
        }
        if p.kind() == "if_statement" {
            if let Some(c) = p.child_by_field_name("condition") {
                let mut mentions = false;
                visit(c, |x| {
                    mentions |= x.kind() == "identifier"
                        && text(x, src) == name
                        && x.parent().is_none_or(|q| {
                            q.kind() != "attribute" || q.child_by_field_name("object") == Some(x)
                        });
                    !mentions
                });
                if mentions {
                    return true;
                }
            }
        }
        cur = p.parent();
    }
    false
}

/// `b` sits in a `try` of its own (one that does not hold `a`) whose handlers all carry on
/// (log, `pass`): no `raise`, `return` or `abort`. The code has said a failure of `b` leaves
/// `a` standing and the request succeeds: a best-effort follow-up, not a half-done change.
fn best_effort(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let mut below = b;
    let mut cur = b.parent();
    while let Some(p) = cur {
        if p.kind() == "function_definition" {
            return false;
        }
        if p.kind() == "try_statement" && p.child_by_field_name("body") == Some(below) {
            if p.start_byte() <= a.start_byte() && a.end_byte() <= p.end_byte() {
                return false;
            }
            let mut c = p.walk();
            let handlers: Vec<Node<'_>> = p
                .named_children(&mut c)
                .filter(|h| h.kind() == "except_clause")
                .collect();
            return !handlers.is_empty()
                && handlers.iter().all(|h| {
                    let mut found = false;
                    visit(*h, |n| {
                        found |= matches!(n.kind(), "raise_statement" | "return_statement")
                            || n.kind() == "call" && {
                                let t = text(n, src);
                                t.starts_with("abort(") || t.contains("HTTPException(")
                            };
                        !found
                    });
                    !found
                });
        }
        below = p;
        cur = p.parent();
    }
    false
}

/// The statements of `n`'s ancestors up to (not including) the block that also holds
/// `other`: `(block, statement in it)` pairs, innermost first.
fn own_blocks<'t>(n: Node<'t>, other: Node<'t>) -> Vec<(Node<'t>, Node<'t>)> {
    let mut out = Vec::new();
    let mut stmt = n;
    while let Some(p) = stmt.parent() {
        if matches!(p.kind(), "block" | "module") {
            if p.start_byte() <= other.start_byte() && other.end_byte() <= p.end_byte() {
                break;
            }
            out.push((p, stmt));
        }
        stmt = p;
    }
    out
}

/// The statements that follow `stmt` in `block`.
fn later_siblings<'t>(block: Node<'t>, stmt: Node<'t>) -> Vec<Node<'t>> {
    let mut c = block.walk();
    block
        .named_children(&mut c)
        .filter(|s| s.start_byte() >= stmt.end_byte())
        .collect()
}

/// `a`'s branch ends with a `return`/`raise` before `b` could run (`if unsubscribe:
/// delete(); return redirect(..)` then a create below).
fn leaves_after(a: Node<'_>, b: Node<'_>, _src: &str) -> bool {
    own_blocks(a, b).into_iter().any(|(block, stmt)| {
        later_siblings(block, stmt)
            .iter()
            .any(|s| matches!(s.kind(), "return_statement" | "raise_statement"))
    })
}

/// `b` runs under `if not saved:` and `a`'s branch sets `saved = True`.
fn flag_guarded(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let mut flags: Vec<&str> = Vec::new();
    for (block, stmt) in own_blocks(a, b) {
        for s in later_siblings(block, stmt) {
            let Some(asg) = s.named_child(0).filter(|x| x.kind() == "assignment") else {
                continue;
            };
            if let (Some(l), Some(r)) = (
                asg.child_by_field_name("left"),
                asg.child_by_field_name("right"),
            ) {
                if l.kind() == "identifier" && text(r, src) == "True" {
                    flags.push(text(l, src));
                }
            }
        }
    }
    if flags.is_empty() {
        return false;
    }
    let mut cur = b.parent();
    while let Some(n) = cur {
        if n.kind() == "if_statement"
            && !(n.start_byte() <= a.start_byte() && a.end_byte() <= n.end_byte())
        {
            if let Some(c) = n.child_by_field_name("condition") {
                let t = text(c, src).trim();
                if let Some(name) = t.strip_prefix("not ") {
                    if flags.contains(&name.trim()) {
                        return true;
                    }
                }
            }
        }
        cur = n.parent();
    }
    false
}

/// The nearest enclosing `if` statement of `n` that does not hold `other`.
fn own_if<'t>(n: Node<'t>, other: Node<'t>) -> Option<Node<'t>> {
    let mut cur = n.parent();
    let mut found = None;
    while let Some(p) = cur {
        if p.start_byte() <= other.start_byte() && other.end_byte() <= p.end_byte() {
            break;
        }
        if p.kind() == "if_statement" {
            found = Some(p);
        }
        cur = p.parent();
    }
    found
}

/// What an `if` condition compares one input against: `(input, test, value)` for each
/// `"save" in request.POST`, `kind == "cron"`, `token.startswith("n.")` joined by `and`.
fn dispatch_tests(cond: Node<'_>, src: &str, out: &mut Vec<(String, &'static str, String)>) {
    let cond = if cond.kind() == "parenthesized_expression" {
        cond.named_child(0).unwrap_or(cond)
    } else {
        cond
    };
    match cond.kind() {
        "boolean_operator"
            if cond
                .child_by_field_name("operator")
                .is_some_and(|o| text(o, src) == "and") =>
        {
            for side in ["left", "right"] {
                if let Some(x) = cond.child_by_field_name(side) {
                    dispatch_tests(x, src, out);
                }
            }
        }
        "comparison_operator" => {
            let (Some(l), Some(r)) = (cond.named_child(0), cond.named_child(1)) else {
                return;
            };
            let op = text(cond, src)
                [l.end_byte() - cond.start_byte()..r.start_byte() - cond.start_byte()]
                .trim();
            match op {
                "in" => {
                    if let Some(v) = string_value(l, src) {
                        out.push((text(r, src).to_string(), "in", v));
                    }
                }
                "==" => {
                    if let Some(v) = string_value(r, src) {
                        out.push((text(l, src).to_string(), "==", v));
                    } else if let Some(v) = string_value(l, src) {
                        out.push((text(r, src).to_string(), "==", v));
                    }
                }
                _ => {}
            }
        }
        "call" => {
            if let Some((callee, "startswith", args)) = call_parts(cond, src) {
                let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
                if let Some(v) = args.named_child(0).and_then(|a| string_value(a, src)) {
                    out.push((recv.to_string(), "startswith", v));
                }
            }
        }
        _ => {}
    }
}

/// `a` and `b` sit in two different `if`s that each handle another value of one input
/// (`if "leave" in request.POST: ...` / `if "tz" in request.POST: ...`, `if
/// code.startswith("n."): ...` / `if code.startswith("r."): ...`): separate actions of
/// one endpoint, one per request.
fn dispatch_arms(a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let (Some(ia), Some(ib)) = (own_if(a, b), own_if(b, a)) else {
        return false;
    };
    let tests = |i: Node<'_>| {
        let mut v = Vec::new();
        if let Some(c) = i.child_by_field_name("condition") {
            dispatch_tests(c, src, &mut v);
        }
        v
    };
    let (ta, tb) = (tests(ia), tests(ib));
    ta.iter().any(|(subj, how, va)| {
        tb.iter().any(|(s2, h2, vb)| {
            subj == s2
                && how == h2
                && va != vb
                && (*how != "startswith"
                    || !(va.starts_with(vb.as_str()) || vb.starts_with(va.as_str())))
        })
    })
}

/// A write that only creates a row when a lookup found none (`get_or_create`, or under
/// `if user is None:` / `if not topic:`): leaving it behind is the state the next request
/// expects, not half of a change.
fn create_if_missing(n: Node<'_>, src: &str) -> bool {
    if call_parts(n, src)
        .is_some_and(|(_, last, _)| matches!(last, "get_or_create" | "update_or_create"))
    {
        return true;
    }
    let mut cur = n.parent();
    while let Some(p) = cur {
        if matches!(
            p.kind(),
            "function_definition" | "elif_clause" | "else_clause"
        ) {
            return false;
        }
        if p.kind() == "if_statement" {
            if let Some(c) = p.child_by_field_name("condition") {
                let t = text(c, src).trim();
                let missing = t.strip_suffix(" is None").is_some_and(is_name)
                    || t.strip_prefix("not ").is_some_and(is_name);
                if missing {
                    return true;
                }
            }
        }
        cur = p.parent();
    }
    false
}

fn is_name(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// The write sits in a `try` whose handler rolls back or catches `IntegrityError`: the
/// handler decided what a failure of this write leaves behind.
fn failure_handled(n: Node<'_>, src: &str) -> bool {
    let mut below = n;
    let mut cur = n.parent();
    while let Some(p) = cur {
        if p.kind() == "function_definition" {
            return false;
        }
        if p.kind() == "try_statement" && p.child_by_field_name("body") == Some(below) {
            let mut c = p.walk();
            return p.named_children(&mut c).any(|h| {
                h.kind() == "except_clause" && {
                    let t = text(h, src);
                    t.contains("IntegrityError") || t.contains("rollback()")
                }
            });
        }
        below = p;
        cur = p.parent();
    }
    false
}

fn in_transaction_fn(f: &PyFunction) -> bool {
    f.decorators
        .iter()
        .any(|d| d.callee.ends_with("atomic") || d.callee.ends_with("transactional"))
}

static WRITE_SQL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?is)^\s*(?:with\b.*?\)\s*)?(?:insert\s+into|update\s+\S+\s+set|delete\s+from)\b")
        .expect("static regex")
});

/// What a call does to the database: a write (a SQL INSERT/UPDATE/DELETE, an ORM `add`,
/// `create`, `save`, `delete`, `update`) or a `commit`.
fn step_of(n: Node<'_>, src: &str) -> Option<Step> {
    let (callee, last, args) = call_parts(n, src)?;
    let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
    if recv.is_empty() {
        return None;
    }
    match last {
        "commit" if args.named_child_count() == 0 => Some(Step::Commit),
        "execute" | "executemany" | "fetchrow" | "fetchval" | "exec_driver_sql" => {
            let mut first = args.named_child(0)?;
            // `text("...")` around the SQL.
            if let Some((_, "text", inner)) = call_parts(first, src) {
                first = inner.named_child(0)?;
            }
            let sql = string_value(first, src).unwrap_or_default();
            let is_write = |w: &str| matches!(w, "insert" | "update" | "delete");
            let first_word_call = first.kind() == "call"
                && chain(first, src).is_some_and(|(root, methods)| {
                    is_write(root) || methods.iter().any(|m| is_write(m))
                });
            (WRITE_SQL.is_match(&sql) || first_word_call).then_some(Step::Write)
        }
        "add" | "add_all" | "merge" => (recv_is_session(recv)).then_some(Step::Write),
        "save" if args.named_child_count() == 0 || text(args, src).contains("update_fields") => {
            (!recv.contains('.') && recv != "self" && recv != "form" && recv != "serializer")
                .then_some(Step::Write)
        }
        "create" | "bulk_create" | "get_or_create" | "update_or_create" => {
            recv.contains(".objects").then_some(Step::Write)
        }
        "update" | "delete" => {
            (recv.contains(".objects") || recv.contains(".query(") || recv.contains(".filter("))
                .then_some(Step::Write)
        }
        _ => None,
    }
}

fn recv_is_session(recv: &str) -> bool {
    let last = recv.rsplit('.').next().unwrap_or(recv);
    matches!(
        last,
        "db" | "session" | "sess" | "s" | "db_session" | "dbsession"
    )
}
