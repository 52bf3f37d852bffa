//! Request data written where its shape does harm:
//! SEC043 mass assignment: the whole request body spread into an ORM row
//! (`Model.objects.create(**request.POST)`, `User(**request.get_json())` saved to the
//! session), so the client sets `is_admin`, `role`, `owner_id` or `balance` too;
//! SEC044 CSV/formula injection: a CSV download written with `csv.writer`/`DictWriter`/
//! `to_csv` whose cells are not defused (a leading `=`, `+`, `-`, `@` runs as a formula in
//! the spreadsheet that opens it);
//! SEC045 NaN injection: `float()` of a request value used without a NaN check (`nan`
//! compares false with everything, so `if amount > balance` lets it through).

use super::baseline::{run, Call, Rule, Scan};
use crate::checks::py::{positional_arg, snippet, unparen};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::text;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// A read of the request's whole body or query (not one field of it).
static REQUEST_WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:await\s+)?\(?(?:await\s+)?(?:self\.)?request\.(?:POST|GET|data|json|form|args|values|query_params|get_json\([^)]*\)|json\(\)|form\(\)|POST\.dict\(\)|GET\.dict\(\)|data\.dict\(\)|POST\.copy\(\)|data\.copy\(\))\)?$|^json\.loads\((?:self\.)?request\.(?:body|data|get_data\(\))\)$")
        .expect("re")
});

/// One field of the request (`request.args.get("x")`, `request.form["x"]`).
static REQUEST_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:self\.)?request\.(?:POST|GET|data|json|form|args|values|query_params|params|headers|cookies|COOKIES|get_json\(\))(?:\.get\(|\[)")
        .expect("re")
});

/// ORM writes that take column values as keywords.
static ORM_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:\.objects|_set|\.filter\(.*\)|\.exclude\(.*\)|\.all\(\))\.(?:create|update|update_or_create|get_or_create)$|\.values$")
        .expect("re")
});

/// SEC043
pub fn mass_assignment(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::MassAssignment, out);
}

/// SEC044
pub fn csv_injection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::CsvInjection, out);
}

/// SEC045
pub fn nan_injection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::NanInjection, out);
}

/// A name assigned from `pattern` in the function before `before`: `data = request.json`.
fn assigned_from(s: &Scan<'_, '_>, name: &str, before: usize, pattern: &Regex) -> bool {
    let Some(f) = s.facts.function_at(before) else {
        return false;
    };
    let mut found = false;
    let root = s.ctx.tree.root_node();
    let Some(body) = root.descendant_for_byte_range(f.start, f.end) else {
        return false;
    };
    crate::checks::py::visit(body, |n| {
        if found || n.start_byte() >= before {
            return false;
        }
        if n.kind() == "assignment" {
            if let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                if text(l, s.src) == name && pattern.is_match(text(unparen(r), s.src)) {
                    found = true;
                }
            }
        }
        true
    });
    found
}

/// The function edits the dict before spreading it (`data.pop("id")`,
/// `data["author_id"] = user.id`, `del data["role"]`): it decides some fields itself.
fn curated(s: &Scan<'_, '_>, name: &str, before: usize) -> bool {
    let Some(f) = s.facts.function_at(before) else {
        return false;
    };
    let body = &s.src[f.start..before.max(f.start)];
    let n = regex::escape(name);
    re::new(&format!(
        r"\b{n}\.(?:pop|update|setdefault)\(|\b{n}\[[^\]]+\]\s*=[^=]|\bdel\s+{n}\["
    ))
    .is_ok_and(|re| re.is_match(body))
}

/// SEC043, one call.
pub fn mass_assignment_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let mut cur = c.args.walk();
    let splat = c
        .args
        .named_children(&mut cur)
        .find(|a| a.kind() == "dictionary_splat")
        .and_then(|a| a.named_child(0));
    let Some(splat) = splat else { return };
    let spread = text(unparen(splat), src);
    let conf = if REQUEST_WHOLE.is_match(spread) {
        Confidence::High
    } else if splat.kind() == "identifier"
        && assigned_from(s, spread, c.node.start_byte(), &REQUEST_WHOLE)
        && !curated(s, spread, c.node.start_byte())
    {
        Confidence::Medium
    } else {
        return;
    };
    // Where the values go: an ORM write, or a model row the function adds or saves.
    let orm = ORM_WRITE.is_match(c.written) || {
        let class = c
            .last()
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_uppercase());
        class
            && !NOT_A_ROW.is_match(c.last())
            && s.function_text(c.node.start_byte()).contains(".add(")
            || class && saved(c.node, src)
    };
    if !orm {
        return;
    }
    out.push(
        c.at()
            .var("callee", snippet(c.written))
            .var("input", snippet(spread))
            .confidence(conf),
    );
}

/// Classes that validate or wrap the data rather than store it.
static NOT_A_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:Form|Serializer|Schema|Response|Request|Error|Exception|Dict|Config|Settings|Params|Filter|Validator|In|Create|Update|Payload|Body)$")
        .expect("re")
});

/// `obj = Model(**data); obj.save()`: the constructed row is saved in the function.
fn saved(call: Node<'_>, src: &str) -> bool {
    let Some(p) = call.parent() else { return false };
    if p.kind() != "assignment" {
        return false;
    }
    let Some(target) = p.child_by_field_name("left") else {
        return false;
    };
    let name = text(target, src);
    let mut scope = p;
    while let Some(up) = scope.parent() {
        scope = up;
        if scope.kind() == "function_definition" {
            break;
        }
    }
    let rest = &src[p.end_byte().min(scope.end_byte())..scope.end_byte()];
    rest.contains(&format!("{name}.save("))
}

/// A function that defuses formula cells, or a library that does.
static CSV_DEFUSED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?i)defusedcsv|formula|startswith\(\s*\(?\s*['"][=+\-@]|lstrip\(\s*['"][=+\-@]|escape_csv|csv_escape|sanitize_csv|csv_safe|safe_csv|injection|['"]\\t['"]\s*\+|["']'["']\s*\+"#)
        .expect("re")
});

/// The function serves the file as a download.
static DOWNLOAD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"text/csv|Content-Disposition|attachment|HttpResponse\(|StreamingHttpResponse\(|StreamingResponse\(|make_response\(|send_file\(|FileResponse\(|Response\("#)
        .expect("re")
});

/// SEC044, one call.
pub fn csv_injection_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let writer = matches!(c.name.as_str(), "csv.writer" | "csv.DictWriter")
        || (c.last() == "to_csv" && c.written.contains('.'));
    if !writer || !s.web {
        return;
    }
    let Some(f) = s.facts.function_at(c.node.start_byte()) else {
        return;
    };
    let body = &s.src[f.start..f.end];
    if !DOWNLOAD.is_match(body) || CSV_DEFUSED.is_match(body) || CSV_DEFUSED.is_match(s.src) {
        return;
    }
    // Rows of constants only (a header, a template) cannot carry a formula.
    if !(body.contains("writerow") || body.contains("to_csv")) {
        return;
    }
    if c.last() != "to_csv" && cells_not_text(body) {
        return;
    }
    let conf = if super::baseline::in_handler(s.facts, c.node.start_byte()) {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    out.push(c.at().var("callee", snippet(c.written)).confidence(conf));
}

/// Every row the function writes is a list of cells that cannot start a formula: constants,
/// translated labels (`_("Date")`), and fields named for dates and numbers (`entry.date`,
/// `row.weight`, `order.total`, `item.id`). A row passed whole (`writerow(row)`) may hold
/// anything.
fn cells_not_text(body: &str) -> bool {
    static ROW: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\.writerows?\(\s*([^\n]*)\)\s*$").expect("re"));
    static CELL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?x)^(?:
            [rbuRBU]?["'][^"'=+@-][^"']*["'] | -?\d+(?:\.\d+)? | None | True | False
          | _\(\s*["'][^"']*["']\s*\) | gettext(?:_lazy)?\(\s*["'][^"']*["']\s*\)
          | (?:[A-Za-z_]\w*\.)*(?i:(?:\w+_)?(?:date|time|datetime|timestamp|day|month|year|weight|height|amount|price|cost|total|count|quantity|qty|id|pk|number|size|score|duration|percent|percentage|calories|age)|\w+_(?:at|on|id|count|total))
        )$"#)
        .expect("re")
    });
    let mut rows = 0;
    for line in body.lines() {
        let Some(m) = ROW.captures(line.trim_end()) else {
            continue;
        };
        let arg = m[1].trim();
        let Some(inner) = arg
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .or_else(|| arg.strip_prefix('(').and_then(|a| a.strip_suffix(')')))
        else {
            return false;
        };
        if !inner
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .all(|c| CELL.is_match(c))
        {
            return false;
        }
        rows += 1;
    }
    rows > 0
}

/// A NaN or infinity check, or a conversion that refuses NaN.
static NAN_GUARD: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"isnan|isfinite|isinf|allow_inf_nan|math\.inf|Decimal").expect("re"));

/// SEC045, one call.
pub fn nan_injection_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    if c.written != "float" || c.name != "float" {
        return;
    }
    let Some(arg) = positional_arg(c.args, 0) else {
        return;
    };
    let t = text(unparen(arg), s.src);
    let direct = REQUEST_FIELD.is_match(t);
    let via_name = !direct
        && arg.kind() == "identifier"
        && assigned_from(s, t, c.node.start_byte(), &REQUEST_FIELD);
    if !(direct || via_name) {
        return;
    }
    let Some(f) = s.facts.function_at(c.node.start_byte()) else {
        return;
    };
    if NAN_GUARD.is_match(&s.src[f.start..f.end]) {
        return;
    }
    // Where the number goes: stored in place (`order.amount = float(...)`), or a name
    // that a rejecting check compares or that is stored later.
    let Some(p) = c.node.parent() else { return };
    let harmful = match p.kind() {
        "assignment" | "augmented_assignment" => {
            let left = p.child_by_field_name("left");
            match left {
                Some(l) if l.kind() == "identifier" => {
                    used_harmfully(s, text(l, s.src), p.end_byte(), f.end)
                }
                Some(_) => true,
                None => false,
            }
        }
        "keyword_argument" => !passed_to_read(p, s.src),
        _ => false,
    };
    if harmful {
        out.push(c.at().var("input", snippet(t)));
    }
}

/// A read that narrows what it returns (`search(q, min_confidence=x)`,
/// `Book.objects.filter(price__lte=x)`).
static READ_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:\w*search\w*|filter|exclude|find\w*|query|lookup|get|select|rank\w*|match\w*|nearest|closest|suggest\w*)$")
        .expect("re")
});

/// The keyword argument `kw` goes to a read that only narrows the caller's own results: a
/// threshold there stores nothing and moves no amount, and NaN only matches nothing.
fn passed_to_read(kw: Node<'_>, src: &str) -> bool {
    let call = kw
        .parent()
        .filter(|a| a.kind() == "argument_list")
        .and_then(|a| a.parent())
        .filter(|c| c.kind() == "call");
    call.and_then(|c| c.child_by_field_name("function"))
        .is_some_and(|f| {
            let t = text(f, src);
            READ_CALL.is_match(t.rsplit('.').next().unwrap_or(t))
        })
}

/// After `from`, `name` is compared in the condition of a check that rejects (its block
/// starts with `raise`, `return` or `abort(...)`), or stored (an attribute, an item, a
/// keyword argument, `+=`/`-=`).
fn used_harmfully(s: &Scan<'_, '_>, name: &str, from: usize, to: usize) -> bool {
    let root = s.ctx.tree.root_node();
    let Some(scope) = root.descendant_for_byte_range(from, from) else {
        return false;
    };
    let mut scope = scope;
    while scope.end_byte() < to {
        match scope.parent() {
            Some(p) => scope = p,
            None => break,
        }
    }
    let is_name = |n: Node<'_>| n.kind() == "identifier" && text(n, s.src) == name;
    // The name itself, not a threshold handed to a read whose results are what is kept
    // (`data["results"] = search(q, min_confidence=x)`).
    let mentions = |n: Node<'_>| {
        let mut found = false;
        crate::checks::py::visit(n, |m| {
            found |= is_name(m);
            let read_arg = m.kind() == "keyword_argument" && passed_to_read(m, s.src);
            !(found || read_arg)
        });
        found
    };
    let mut harmful = false;
    crate::checks::py::visit(scope, |n| {
        if harmful || n.end_byte() <= from || n.start_byte() >= to {
            return false;
        }
        if n.start_byte() < from {
            return true;
        }
        match n.kind() {
            "if_statement" => {
                let cond = n.child_by_field_name("condition");
                let compared = cond.is_some_and(|c| {
                    let mut hit = false;
                    crate::checks::py::visit(c, |m| {
                        if m.kind() == "comparison_operator" && mentions(m) {
                            hit = true;
                        }
                        !hit
                    });
                    hit
                });
                let rejects = n
                    .child_by_field_name("consequence")
                    .and_then(|b| b.named_child(0))
                    .is_some_and(|first| {
                        matches!(first.kind(), "raise_statement" | "return_statement")
                            || text(first, s.src).starts_with("abort(")
                    });
                harmful = compared && rejects;
            }
            "assignment" | "augmented_assignment" => {
                let left_kind = n.child_by_field_name("left").map(|l| l.kind());
                let stored = matches!(left_kind, Some("attribute" | "subscript"))
                    || n.kind() == "augmented_assignment";
                harmful = stored && n.child_by_field_name("right").is_some_and(mentions);
            }
            "keyword_argument" => {
                harmful = n.child_by_field_name("value").is_some_and(is_name)
                    && !passed_to_read(n, s.src);
            }
            _ => {}
        }
        !harmful
    });
    harmful
}
