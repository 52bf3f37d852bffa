//! API-surface checks over Python web handlers: pagination parameters without bounds
//! (API001, API002) and identifier path parameters typed as any string (API003).

use crate::checks::py::{
    call_parts, keyword_arg, mentions, node_at, positional_arg, unwrap_expr, visit,
    visit_same_scope,
};
use crate::checks::{FileContext, Hit};
use crate::model::facts::pagination::{bound, classify, PageParam, LOWER, UPPER};
use crate::model::facts::python::{string_value, text, Framework, Param, PyFunction};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tree_sitter::Node;

/// The type inside `Annotated[T, ...]`, else the annotation itself.
fn annotated_base(ann: &str) -> &str {
    let ann = ann.trim();
    let Some(inner) = ann
        .strip_prefix("Annotated[")
        .or_else(|| ann.strip_prefix("typing.Annotated["))
    else {
        return ann;
    };
    let mut depth = 0i32;
    for (i, c) in inner.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => return inner[..i].trim(),
            _ => {}
        }
    }
    inner.trim_end_matches(']').trim()
}

static INT_DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^\s*-?\d+\s*$|^(?:\w+\.)?(?:Query|Path|Field)\(\s*(?:default\s*=\s*)?-?\d+\s*[,)]")
        .expect("static regex")
});

/// A page size above this is no bound at all (`lt=2147483647`).
const MAX_SENSIBLE_PAGE: i64 = 10_000;

/// Whether a parameter or field is an integer, from its annotation or its default.
fn is_int(annotation: Option<&str>, default: Option<&str>) -> bool {
    match annotation {
        Some(ann) => {
            let base = annotated_base(ann);
            base.contains("conint(")
                || base
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|t| matches!(t, "int" | "PositiveInt" | "NonNegativeInt" | "StrictInt"))
        }
        None => default.is_some_and(|d| INT_DEFAULT.is_match(d)),
    }
}

/// Which bound is missing from a declaration, if one is: `(missing, impact)`.
fn missing_bound(kind: PageParam, decl: &str) -> Option<(&'static str, &'static str)> {
    // A literal bound must mean something: a page size up to 2^31 or down to -1 is
    // unbounded in practice.
    let lower = bound(&LOWER, decl);
    let upper = bound(&UPPER, decl);
    let lower_ok =
        lower.is_some_and(|v| kind == PageParam::Offset || !matches!(v, Some(v) if v < 0));
    let upper_ok = upper.is_some_and(|v| !matches!(v, Some(v) if v > MAX_SENSIBLE_PAGE));
    const ALL_ROWS: &str = "a client can ask for every row in one request";
    const NEGATIVE: &str = "a negative value reaches the query";
    match kind {
        PageParam::Size if !lower_ok && !upper_ok => Some((
            "bounds (`ge`/`le`)",
            "a client can ask for every row in one request, or send a negative size",
        )),
        PageParam::Size if !upper_ok && upper.is_some() => Some((
            "sensible upper bound (the declared one is above 10000)",
            ALL_ROWS,
        )),
        PageParam::Size if !upper_ok => Some(("upper bound (`le`/`lt`)", ALL_ROWS)),
        PageParam::Size if !lower_ok && lower.is_some() => Some((
            "non-negative lower bound (the declared one allows negatives)",
            NEGATIVE,
        )),
        PageParam::Size if !lower_ok => Some(("lower bound (`ge`/`gt`)", NEGATIVE)),
        PageParam::Offset if !lower_ok => Some(("lower bound (`ge`)", NEGATIVE)),
        _ => None,
    }
}

/// True when `body` clamps `target` (`limit` or `params.limit`): `min(..)`/`max(..)`/a
/// clamp helper around it, or an ordering/membership comparison with a constant.
fn clamped(body: Node<'_>, target: &str, src: &str) -> bool {
    let is_target =
        |n: Node<'_>| matches!(n.kind(), "identifier" | "attribute") && text(n, src) == target;
    let mut found = false;
    visit_same_scope(body, |n| {
        if found {
            return;
        }
        match n.kind() {
            "call" => {
                if let Some((callee, last, args)) = call_parts(n, src) {
                    let lc = callee.to_ascii_lowercase();
                    if matches!(last, "min" | "max") || lc.contains("clamp") || lc.contains("bound")
                    {
                        let mut hit = false;
                        visit(args, |a| {
                            hit |= is_target(a);
                            !hit
                        });
                        found |= hit;
                    }
                }
            }
            "comparison_operator" => {
                let mut c = n.walk();
                let operands: Vec<Node<'_>> = n.named_children(&mut c).collect();
                let mut c = n.walk();
                let ops: Vec<&str> = n
                    .children(&mut c)
                    .filter(|ch| !ch.is_named())
                    .map(|ch| ch.kind())
                    .collect();
                let ordering = ops.iter().any(|o| matches!(*o, "<" | ">" | "<=" | ">="));
                let membership = ops.iter().any(|o| matches!(*o, "in" | "not in" | "not"));
                if operands.iter().any(|o| is_target(*o)) {
                    let other_is_constant = operands
                        .iter()
                        .any(|o| !is_target(*o) && o.kind() != "call");
                    found |= (ordering && other_is_constant)
                        || (membership && operands.first().is_some_and(|o| is_target(*o)));
                }
            }
            _ => {}
        }
    });
    found
}

fn body_node<'t>(ctx: &FileContext<'t>, f: &PyFunction) -> Option<Node<'t>> {
    node_at(ctx.tree.root_node(), f.body.0, f.body.1)
}

/// Module-level classes of the file by name.
fn classes<'t>(root: Node<'t>, src: &str) -> HashMap<String, Node<'t>> {
    let mut out = HashMap::new();
    let mut c = root.walk();
    for child in root.named_children(&mut c) {
        let def = if child.kind() == "decorated_definition" {
            child.child_by_field_name("definition")
        } else {
            Some(child)
        };
        if let Some(def) = def.filter(|d| d.kind() == "class_definition") {
            if let Some(name) = def.child_by_field_name("name") {
                out.insert(text(name, src).to_string(), def);
            }
        }
    }
    out
}

/// Annotated class-level fields: `(name, annotation, default, start, end)`.
fn class_fields<'s>(
    class: Node<'_>,
    src: &'s str,
) -> Vec<(&'s str, &'s str, Option<&'s str>, usize, usize)> {
    let mut out = Vec::new();
    let Some(body) = class.child_by_field_name("body") else {
        return out;
    };
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        let Some(assign) = stmt
            .named_child(0)
            .filter(|a| stmt.kind() == "expression_statement" && a.kind() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(ty)) = (
            assign.child_by_field_name("left"),
            assign.child_by_field_name("type"),
        ) else {
            continue;
        };
        if left.kind() != "identifier" {
            continue;
        }
        out.push((
            text(left, src),
            text(ty, src),
            assign.child_by_field_name("right").map(|r| text(r, src)),
            assign.start_byte(),
            assign.end_byte(),
        ));
    }
    out
}

/// API001: FastAPI pagination parameters without declared bounds.
pub fn unbounded_pagination_parameter(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    if !facts.imports_package("fastapi") {
        return;
    }
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let classes = classes(root, src);
    let handlers: HashSet<usize> = facts.routes.iter().map(|r| r.function).collect();
    let mut reported: HashSet<usize> = HashSet::new();
    for route in facts
        .routes
        .iter()
        .filter(|r| r.framework == Framework::FastApi)
    {
        let Some(handler) = facts.functions.get(route.function) else {
            continue;
        };
        let route_desc = route.describe();
        let handler_body = body_node(ctx, handler);
        let mut report = |start: usize,
                          end: usize,
                          param: &str,
                          where_: String,
                          (missing, impact): (&str, &str)| {
            if reported.insert(start) {
                out.push(page_hit(
                    start,
                    end,
                    param,
                    route_desc.clone(),
                    where_,
                    missing,
                    impact,
                ));
            }
        };
        if route
            .auth
            .as_deref()
            .is_some_and(|a| PRIVILEGED.is_match(a))
        {
            // Only administrators page through it: the caller is the trust boundary.
            continue;
        }
        for p in &handler.params {
            // A parameter of the handler itself.
            if let Some(kind) = classify(&p.name) {
                if let Some(problem) = param_problem(kind, p) {
                    if !handler_body.is_some_and(|b| clamped(b, &p.name, src)) {
                        report(
                            p.start,
                            p.end,
                            &p.name,
                            format!("handler `{}`", handler.name),
                            problem,
                        );
                    }
                }
                continue;
            }
            let decl = [p.annotation.as_deref(), p.default.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            // A model of query parameters declared in this file (`params: Page = Depends()`,
            // `Annotated[Page, Query()]`); a request body model's `size` is not a page size.
            let query_model = decl.contains("Depends(") || decl.contains("Query(");
            if let Some((cname, class)) = words(&decl)
                .find_map(|w| classes.get(w).map(|c| (w, *c)))
                .filter(|_| query_model)
            {
                let class_text = text(class, src);
                for (field, ann, default, start, end) in class_fields(class, src) {
                    let Some(kind) = classify(field) else {
                        continue;
                    };
                    if !is_int(Some(ann), default) {
                        continue;
                    }
                    let decl = format!("{ann} {}", default.unwrap_or(""));
                    let Some(problem) = missing_bound(kind, &decl) else {
                        continue;
                    };
                    let validated = class_text.contains("validator(")
                        && (class_text.contains(&format!("\"{field}\""))
                            || class_text.contains(&format!("'{field}'")));
                    let target = format!("{}.{field}", p.name);
                    if validated || handler_body.is_some_and(|b| clamped(b, &target, src)) {
                        continue;
                    }
                    report(
                        start,
                        end,
                        field,
                        format!("field of `{cname}` in handler `{}`", handler.name),
                        problem,
                    );
                }
                for init in facts
                    .functions
                    .iter()
                    .filter(|f| f.class.as_deref() == Some(cname) && f.name == "__init__")
                {
                    check_dependency_params(
                        ctx,
                        init,
                        &format!("`{cname}.__init__` used by handler `{}`", handler.name),
                        &mut report,
                    );
                }
                continue;
            }
            // A dependency function of this file (`page: Page = Depends(pagination)`).
            for dep in crate::model::facts::python::dependency_names(&decl) {
                let Some((fi, f)) = facts
                    .functions
                    .iter()
                    .enumerate()
                    .find(|(_, f)| f.class.is_none() && f.name == dep)
                else {
                    continue;
                };
                if handlers.contains(&fi) {
                    continue;
                }
                check_dependency_params(
                    ctx,
                    f,
                    &format!("dependency `{}` of handler `{}`", f.name, handler.name),
                    &mut report,
                );
            }
        }
    }
    standalone_dependencies(ctx, &handlers, &mut reported, out);
}

/// Auth that only administrators pass.
static PRIVILEGED: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)(admin|superuser|staff)").expect("static regex"));

/// A pagination hit; a missing lower bound alone (a negative offset or size only makes
/// the query fail) is reported with low confidence.
fn page_hit(
    start: usize,
    end: usize,
    param: &str,
    route: String,
    handler: String,
    missing: &str,
    impact: &str,
) -> Hit {
    let hit = Hit::new(start, end)
        .var("param", param)
        .var("route", route)
        .var("handler", handler)
        .var("missing", missing)
        .var("impact", impact);
    if missing.contains("lower bound") {
        hit.confidence(crate::checks::Confidence::Low)
    } else {
        hit
    }
}

/// Module-level functions that are FastAPI dependencies by their own declaration (a
/// parameter defaults to `Query(...)`) and are not routes: shared pagination parameters
/// (`def common_parameters(page: int = Query(1), items_per_page: int = Query(5, ...))`)
/// that routes of other files depend on.
fn standalone_dependencies(
    ctx: &FileContext<'_>,
    handlers: &HashSet<usize>,
    reported: &mut HashSet<usize>,
    out: &mut Vec<Hit>,
) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    for (fi, f) in facts.functions.iter().enumerate() {
        if handlers.contains(&fi) || f.class.is_some() {
            continue;
        }
        if !f
            .params
            .iter()
            .any(|p| p.default.as_deref().is_some_and(|d| d.contains("Query(")))
        {
            continue;
        }
        let body = body_node(ctx, f);
        for p in &f.params {
            let Some(kind) = classify(&p.name) else {
                continue;
            };
            let Some((missing, impact)) = param_problem(kind, p) else {
                continue;
            };
            if body.is_some_and(|b| clamped(b, &p.name, &ctx.file.text))
                || !reported.insert(p.start)
            {
                continue;
            }
            out.push(page_hit(
                p.start,
                p.end,
                &p.name,
                "the routes that depend on it".to_string(),
                format!("dependency `{}`", f.name),
                missing,
                impact,
            ));
        }
    }
}

fn check_dependency_params(
    ctx: &FileContext<'_>,
    f: &PyFunction,
    where_: &str,
    report: &mut impl FnMut(usize, usize, &str, String, (&'static str, &'static str)),
) {
    let body = body_node(ctx, f);
    for p in &f.params {
        let Some(kind) = classify(&p.name) else {
            continue;
        };
        let Some(problem) = param_problem(kind, p) else {
            continue;
        };
        if body.is_some_and(|b| clamped(b, &p.name, &ctx.file.text)) {
            continue;
        }
        report(p.start, p.end, &p.name, where_.to_string(), problem);
    }
}

fn param_problem(kind: PageParam, p: &Param) -> Option<(&'static str, &'static str)> {
    if !is_int(p.annotation.as_deref(), p.default.as_deref()) {
        return None;
    }
    let decl = format!(
        "{} {}",
        p.annotation.as_deref().unwrap_or(""),
        p.default.as_deref().unwrap_or("")
    );
    // Body, form, header and cookie values are not query-string pagination.
    if ["Body(", "Form(", "File(", "Header(", "Cookie("]
        .iter()
        .any(|c| decl.contains(c))
    {
        return None;
    }
    missing_bound(kind, &decl)
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// API003: FastAPI `{..._id}` path parameters annotated as plain `str`. Reported with the
/// rule's confidence when another route of the file types an id as `UUID`/`int` (the
/// project's ids are not strings), else with low confidence: string ids may be the design
/// (uuid hex kept as text, short ids, extension names).
pub fn id_path_param_typed_str(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    if !facts.imports_package("fastapi") {
        return;
    }
    let src = ctx.file.text.as_str();
    let fastapi_routes = || {
        facts
            .routes
            .iter()
            .filter(|r| r.framework == Framework::FastApi)
    };
    // Some id path parameter of the file is typed (`UUID4`, `int`, `OrganizationID`).
    let typed_ids = fastapi_routes().any(|route| {
        let Some(handler) = facts.functions.get(route.function) else {
            return false;
        };
        route.path_params().iter().any(|pp| {
            is_id_name(&pp.name)
                && (pp.converter.is_some()
                    || handler.params.iter().any(|p| {
                        p.name == pp.name
                            && p.annotation
                                .as_deref()
                                .is_some_and(|a| typed_id(annotated_base(a)))
                    }))
        })
    });
    // Names another route of the file types `UUID4 | str`: addressed by id or slug, so a
    // string on purpose.
    let id_or_slug: HashSet<&str> = fastapi_routes()
        .filter_map(|route| facts.functions.get(route.function))
        .flat_map(|h| h.params.iter())
        .filter(|p| {
            p.annotation.as_deref().is_some_and(|a| {
                let base = annotated_base(a);
                base.contains('|') && base.split('|').any(|t| t.trim() == "str")
            })
        })
        .map(|p| p.name.as_str())
        .collect();
    let stripe = src.contains("stripe") || src.contains("Stripe");
    let mut reported = HashSet::new();
    for route in fastapi_routes() {
        let Some(handler) = facts.functions.get(route.function) else {
            continue;
        };
        let body = src.get(handler.body.0..handler.body.1).unwrap_or("");
        for pp in route.path_params() {
            if pp.converter.is_some() || !is_id_name(&pp.name) || string_by_design(&pp.name) {
                continue;
            }
            if stripe && STRIPE_ID.is_match(&pp.name) {
                // Stripe object ids (`pm_...`, `cus_...`) are strings.
                continue;
            }
            let Some(p) = handler.params.iter().find(|p| p.name == pp.name) else {
                continue;
            };
            let Some(how) = unconstrained_str(p) else {
                continue;
            };
            if parses_itself(body, &p.name) {
                continue;
            }
            if reported.insert(p.start) {
                let mut hit = Hit::new(p.start, p.end)
                    .var("param", p.name.clone())
                    .var("route", route.describe())
                    .var("handler", handler.name.clone())
                    .var("how", how);
                if !typed_ids
                    || id_or_slug.contains(p.name.as_str())
                    || body_node(ctx, handler)
                        .is_some_and(|b| only_to_integration(b, src, &p.name, facts))
                {
                    hit = hit.confidence(crate::checks::Confidence::Low);
                }
                out.push(hit);
            }
        }
    }
}

/// Every use of the id in the handler is an argument of a call on a client imported from an
/// integration or SDK module (`polar_self_service.get_order(org.id, order_id)`, imported
/// from `app.integrations.billing.service`): the id belongs to the other system, whose
/// format this application does not own; the pattern alone remains.
fn only_to_integration(
    body: Node<'_>,
    src: &str,
    name: &str,
    facts: &crate::model::facts::python::PyFacts,
) -> bool {
    static INTEGRATION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(^|\.)(integrations?|sdk|[a-z_]*_sdk|clients?)(\.|$)").expect("static regex")
    });
    let integration_call = |call: Node<'_>| {
        let Some(mut cur) = call.child_by_field_name("function") else {
            return false;
        };
        while cur.kind() == "attribute" {
            let Some(obj) = cur.child_by_field_name("object") else {
                return false;
            };
            cur = obj;
        }
        cur.kind() == "identifier"
            && facts
                .imports
                .get(text(cur, src))
                .is_some_and(|q| INTEGRATION.is_match(q))
    };
    let mut uses = 0usize;
    let mut forwarded = 0usize;
    visit(body, |n| {
        if n.kind() == "identifier" && text(n, src) == name {
            uses += 1;
            let mut up = n.parent();
            while let Some(a) = up {
                if a.kind() == "call" {
                    if integration_call(a) {
                        forwarded += 1;
                    }
                    break;
                }
                if matches!(a.kind(), "block" | "function_definition") {
                    break;
                }
                up = a.parent();
            }
        }
        true
    });
    uses > 0 && uses == forwarded
}

/// An annotation that types an id: `UUID`, `UUID4`, `int`, `PositiveInt`, an alias named
/// for an id (`OrganizationID`, `PrimaryKey`).
fn typed_id(ann: &str) -> bool {
    if ann.split('|').any(|t| t.trim() == "str") {
        return false;
    }
    let last = ann.rsplit('.').next().unwrap_or(ann).trim();
    last.starts_with("UUID")
        || matches!(
            last,
            "int" | "PositiveInt" | "PrimaryKey" | "ObjectId" | "PydanticObjectId"
        )
        || (last.len() > 2
            && last.ends_with("ID")
            && last.chars().next().is_some_and(char::is_uppercase))
}

/// Ids that are strings by nature: OAuth client ids, public keys, channel names,
/// transaction hashes.
fn string_by_design(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "client_id"
        || n.ends_with("_client_id")
        || n.contains("pubkey")
        || n.contains("public_key")
        || n == "channel_id"
        || n == "txid"
        || n == "tx_id"
}

static STRIPE_ID: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:stripe_\w+|payment_method|payment_intent|setup_intent|checkout_session|price|product|subscription|invoice|charge|customer|account)_id$")
        .expect("static regex")
});

/// The handler converts the string itself (`UUID(order_id)`, `int(item_id)`) and answers
/// a bad value on its own.
fn parses_itself(body: &str, name: &str) -> bool {
    ["UUID(", "UUID4(", "int(", "ObjectId("].iter().any(|c| {
        body.match_indices(c).any(|(i, _)| {
            body[i + c.len()..]
                .trim_start()
                .strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with([')', ',']))
        })
    })
}

fn is_id_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || (name.ends_with("Id") && name.len() > 2)
}

/// How a path parameter accepts any string: `typed `str``, `not annotated`.
fn unconstrained_str(p: &Param) -> Option<&'static str> {
    static CONSTRAINED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(pattern|regex|max_length|min_length)\s*=|\bconstr\(|StringConstraints\(")
            .expect("static regex")
    });
    let decl = format!(
        "{} {}",
        p.annotation.as_deref().unwrap_or(""),
        p.default.as_deref().unwrap_or("")
    );
    if CONSTRAINED.is_match(&decl) {
        return None;
    }
    match p.annotation.as_deref().map(annotated_base) {
        Some("str") => Some("typed `str`"),
        None if p.default.is_none() => Some("not annotated, so it is any string"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// API002: page sizes read from the request (query string or form) that reach a query
// unclamped.

static REQUEST_READ: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:self\.)?(?:flask\.)?request\.(?:args|GET|POST|query_params|values|form|data)(?:\.get)?$")
        .expect("static regex")
});

/// If `expr` reads a page-size-like query parameter (`request.args.get("limit", type=int)`,
/// `int(request.GET.get("per_page", 20))`, `request.args["size"]`), the parameter's name.
fn request_page_size(expr: Node<'_>, src: &str) -> Option<String> {
    let mut node = unwrap_expr(expr);
    // int(...) / abs(...) wrappers; min/max are clamps and end the search.
    for _ in 0..4 {
        match call_parts(node, src) {
            Some(("int" | "abs", _, args)) => {
                node = unwrap_expr(positional_arg(args, 0)?);
            }
            _ => break,
        }
    }
    let (target, key) = match node.kind() {
        "call" => {
            let (callee, _, args) = call_parts(node, src)?;
            (callee, positional_arg(args, 0)?)
        }
        "subscript" => (
            text(node.child_by_field_name("value")?, src),
            node.child_by_field_name("subscript")?,
        ),
        _ => return None,
    };
    if !REQUEST_READ.is_match(target) || (node.kind() == "call" && !target.ends_with(".get")) {
        return None;
    }
    let key = string_value(key, src)?;
    (classify(&key) == Some(PageParam::Size)).then_some(key)
}

/// Whether a query-like expression (`Post.objects.filter(..)`, `select(..)`, `q.all()`) is
/// what a slice applies to.
fn looks_like_query(s: &str) -> bool {
    [
        ".objects.",
        ".filter(",
        ".exclude(",
        ".order_by(",
        ".all()",
        ".query",
        "select(",
        ".where(",
        ".find(",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// Where `var` (or an inline request read) is used as a page size in a query, if `node` is
/// such a use: `.limit(var)`, `paginate(per_page=var)`, `Paginator(qs, var)`, a SQL
/// `LIMIT` parameter, `qs[:var]`.
fn page_size_sink<'t>(
    node: Node<'t>,
    src: &str,
    uses: &dyn Fn(Node<'t>) -> bool,
    query_vars: &HashSet<String>,
) -> Option<(Node<'t>, &'static str)> {
    match node.kind() {
        "call" => {
            let (callee, last, args) = call_parts(node, src)?;
            match last {
                "limit" | "fetchmany" | "take" => {
                    let a = positional_arg(args, 0)?;
                    (uses(a) && callee.contains('.')).then_some((node, "a query's limit"))
                }
                "paginate" => {
                    // A bare `paginate(...)` is the project's own helper, which may clamp;
                    // Flask-SQLAlchemy's is a method (`query.paginate`, `db.paginate`).
                    if !callee.contains('.') || keyword_arg(args, "max_per_page", src).is_some() {
                        return None;
                    }
                    let a = keyword_arg(args, "per_page", src).or_else(|| {
                        // Flask-SQLAlchemy 2: paginate(page, per_page); db.paginate(select, ...)
                        let first = positional_arg(args, 0)?;
                        let idx = if text(first, src).contains("select(") {
                            2
                        } else {
                            1
                        };
                        positional_arg(args, idx)
                    })?;
                    uses(a).then_some((node, "the page size of `paginate`"))
                }
                "Paginator" => {
                    let a =
                        keyword_arg(args, "per_page", src).or_else(|| positional_arg(args, 1))?;
                    uses(a).then_some((node, "the page size of `Paginator`"))
                }
                _ if crate::checks::embedded_sql::SQL_SINKS.contains(&last) => {
                    let first = positional_arg(args, 0)?;
                    let sql = text(first, src);
                    let kw =
                        crate::model::sql::keywords(&string_value(first, src).unwrap_or_default());
                    let has_limit = kw
                        .iter()
                        .any(|w| w == "LIMIT" || w == "TOP" || w == "FETCH");
                    if !has_limit {
                        return None;
                    }
                    let mut c = args.walk();
                    let used = args.named_children(&mut c).any(|a| {
                        if a == first {
                            sql.starts_with(['f', 'F']) && uses(a)
                        } else {
                            uses(a)
                        }
                    });
                    used.then_some((node, "a SQL `LIMIT`"))
                }
                _ => None,
            }
        }
        "subscript" => {
            let value = node.child_by_field_name("value")?;
            let slice = node.child_by_field_name("subscript")?;
            if slice.kind() != "slice" || !uses(slice) {
                return None;
            }
            let v = text(value, src);
            let query =
                looks_like_query(v) || (value.kind() == "identifier" && query_vars.contains(v));
            query.then_some((node, "a queryset slice"))
        }
        _ => None,
    }
}

/// API002: a page size read from the request (query string or form) that reaches a query without
/// an upper bound.
pub fn unclamped_request_pagination(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    for f in &facts.functions {
        let Some(body) = body_node(ctx, f) else {
            continue;
        };
        // Statements of this function in order (nested defs have their own turn).
        let mut sources: Vec<(Node<'_>, String, String)> = Vec::new(); // (assignment, var, key)
        let mut nodes: Vec<Node<'_>> = Vec::new();
        let mut query_vars: HashSet<String> = HashSet::new();
        visit_same_scope(body, |n| {
            nodes.push(n);
            if n.kind() != "assignment" {
                return;
            }
            let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            if l.kind() != "identifier" {
                return;
            }
            if let Some(key) = request_page_size(r, src) {
                sources.push((n, text(l, src).to_string(), key));
            } else if looks_like_query(text(r, src)) {
                query_vars.insert(text(l, src).to_string());
            }
        });
        // Inline reads: `.limit(request.args.get("limit", type=int))`.
        let inline = |a: Node<'_>| {
            let mut hit = false;
            visit(a, |n| {
                if !hit && matches!(n.kind(), "call" | "subscript") {
                    hit = request_page_size(n, src).is_some() && !inside_clamp(n, a, src);
                }
                !hit
            });
            hit
        };
        // A gate that turns away every caller without a privileged role or permission
        // before the query: staff and export tools, not an endpoint anyone can page.
        // A decorator that admits only superusers or staff (`@superuser_required`,
        // `@staff_member_required`, `@user_passes_test(lambda u: u.is_superuser)`) is the
        // same gate.
        let staff_only = f
            .decorators
            .iter()
            .any(|d| STAFF_DECORATOR.is_match(&d.text));
        let gated = |at: usize| staff_only || privileged_gate_before(&nodes, at, src);
        let level = |hit: Hit, at: usize| {
            if gated(at) {
                hit.confidence(crate::checks::Confidence::Low)
            } else {
                hit
            }
        };
        for n in &nodes {
            if let Some((sink, what)) = page_size_sink(*n, src, &inline, &query_vars) {
                out.push(level(
                    Hit::new(sink.start_byte(), sink.end_byte())
                        .var("key", inline_key(sink, src))
                        .var("sink", what)
                        .var("via", ""),
                    sink.start_byte(),
                ));
            }
        }
        for (assign, var, key) in &sources {
            let optional = assign
                .child_by_field_name("right")
                .is_some_and(|r| read_without_default(r, src));
            let after = assign.end_byte();
            let uses_var = |a: Node<'_>| uses_unclamped(a, var, src);
            let mut stop = false;
            for n in nodes.iter().filter(|n| n.start_byte() >= after) {
                if stop {
                    break;
                }
                if is_clamp_or_reassign(*n, var, src) {
                    stop = true;
                    continue;
                }
                if let Some((sink, what)) = page_size_sink(*n, src, &uses_var, &query_vars) {
                    if optional && only_when_given(sink, var, body, src) {
                        continue;
                    }
                    let mut hit = Hit::new(assign.start_byte(), assign.end_byte())
                        .var("key", key.clone())
                        .var("sink", what)
                        .var(
                            "via",
                            if var == key {
                                String::new()
                            } else {
                                format!(", read into `{var}`")
                            },
                        );
                    hit.trace = vec![
                        (
                            assign.start_byte(),
                            assign.end_byte(),
                            format!("`{var}` read from the request (`{key}`)"),
                        ),
                        (
                            sink.start_byte(),
                            sink.end_byte(),
                            format!("used as {what} without an upper bound"),
                        ),
                    ];
                    out.push(level(hit, sink.start_byte()));
                    break;
                }
            }
        }
    }
}

/// `request.GET.get("limit")` or `.get("limit", None)`: a read with no default, so a caller
/// who leaves the parameter out gets no page size at all.
fn read_without_default(expr: Node<'_>, src: &str) -> bool {
    let node = unwrap_expr(expr);
    let Some((callee, _, args)) = call_parts(node, src) else {
        return false;
    };
    REQUEST_READ.is_match(callee)
        && callee.ends_with(".get")
        && keyword_arg(args, "default", src).is_none()
        && positional_arg(args, 1).is_none_or(|d| text(d, src) == "None")
}

/// The sink only runs under an `if` that tests the parameter was given (`if limit:`, `if
/// limit is not None:`) and has no `else`, or an `else` that runs the same query unsliced:
/// without the parameter the query is not sliced at all, so the caller's value can only
/// shrink it. An unbounded default is another finding.
fn only_when_given(sink: Node<'_>, var: &str, body: Node<'_>, src: &str) -> bool {
    let mut cur = sink;
    while let Some(p) = cur.parent() {
        if p == body {
            break;
        }
        if p.kind() == "if_statement"
            && p.child_by_field_name("alternative")
                .is_none_or(|alt| runs_unsliced(alt, sink, src))
            && p.child_by_field_name("consequence").is_some_and(|c| {
                c.start_byte() <= sink.start_byte() && sink.end_byte() <= c.end_byte()
            })
            && p.child_by_field_name("condition").is_some_and(|c| {
                let t = text(c, src).trim();
                t == var || t.strip_suffix("is not None").map(str::trim) == Some(var)
            })
        {
            return true;
        }
        cur = p;
    }
    false
}

/// `else: rows = Alert.objects.filter(user=request.user)` for the sink
/// `Alert.objects.filter(user=request.user)[:int(limit)]`: the other branch runs the query
/// the slice applies to with no slice at all.
fn runs_unsliced(alt: Node<'_>, sink: Node<'_>, src: &str) -> bool {
    let Some(query) = sink
        .child_by_field_name("value")
        .filter(|_| sink.kind() == "subscript")
        .map(|v| text(v, src))
    else {
        return false;
    };
    let branch = text(alt, src);
    alt.kind() == "else_clause"
        && looks_like_query(query)
        && branch.match_indices(query).next().is_some()
        && branch
            .match_indices(query)
            .all(|(i, _)| !branch[i + query.len()..].trim_start().starts_with('['))
}

/// A negated test of a privileged role or permission: `not user.is_admin`,
/// `not Model.can(obj, user, 'export')`, `not has_permission(user, "manage_course")`.
static STAFF_DECORATOR: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:superuser_required|staff_member_required|staff_required|admin_required|is_superuser|is_staff)\b")
        .expect("static regex")
});

static PRIVILEGED_TEST: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"\bnot\s+(?:[\w.]+\.)?(?:is_(?:admin|staff|superuser)\b|(?:can|has_perms?|has_permission|has_role|check_permission|user_can)\s*\([^()]*['"]\w*(?:admin|staff|superuser|export|manage)\w*['"])"#,
    )
    .expect("static regex")
});

/// True when an `if` before byte `at` of the function turns away callers that fail a
/// privileged role or permission test (its block returns, raises or aborts).
fn privileged_gate_before(nodes: &[Node<'_>], at: usize, src: &str) -> bool {
    nodes.iter().any(|n| {
        n.kind() == "if_statement"
            && n.end_byte() <= at
            && n.child_by_field_name("condition")
                .is_some_and(|c| PRIVILEGED_TEST.is_match(text(c, src)))
            && n.child_by_field_name("consequence").is_some_and(|b| {
                crate::model::pydata::leaves(b)
                    || b.named_child(b.named_child_count().saturating_sub(1) as u32)
                        .is_some_and(|last| {
                            last.kind() == "expression_statement"
                                && text(last, src).trim_start().starts_with("abort(")
                        })
            })
    })
}

fn inline_key(sink: Node<'_>, src: &str) -> String {
    let mut key = String::new();
    visit(sink, |n| {
        if key.is_empty() && matches!(n.kind(), "call" | "subscript") {
            if let Some(k) = request_page_size(n, src) {
                key = k;
            }
        }
        key.is_empty()
    });
    key
}

/// True when `n` sits inside a `min(..)`/`max(..)`/clamp call below `top`.
fn inside_clamp(n: Node<'_>, top: Node<'_>, src: &str) -> bool {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if let Some((callee, last, _)) = call_parts(p, src) {
            if matches!(last, "min" | "max") || callee.to_ascii_lowercase().contains("clamp") {
                return true;
            }
        }
        if p == top {
            break;
        }
        cur = p.parent();
    }
    false
}

/// `var` occurs under `a` outside any `min`/`max`/clamp call.
fn uses_unclamped(a: Node<'_>, var: &str, src: &str) -> bool {
    if !mentions(a, var, src) {
        return false;
    }
    let mut hit = false;
    visit(a, |n| {
        if !hit && n.kind() == "identifier" && text(n, src) == var && !inside_clamp(n, a, src) {
            let attr_name = n.parent().is_some_and(|p| {
                p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(n)
            });
            hit = !attr_name;
        }
        !hit
    });
    hit
}

/// A statement that bounds `var` or gives it a new value: `var = min(var, 100)`,
/// `if var > 100: abort(400)`, `var = 50`, `check_page_size(var)`.
fn is_clamp_or_reassign(n: Node<'_>, var: &str, src: &str) -> bool {
    match n.kind() {
        "assignment" | "augmented_assignment" => {
            let assigns = n
                .child_by_field_name("left")
                .is_some_and(|l| l.kind() == "identifier" && text(l, src) == var);
            assigns && !grows(n, var, src)
        }
        "comparison_operator" => clamped(n, var, src),
        "call" => {
            let Some((_, last, args)) = call_parts(n, src) else {
                return false;
            };
            // Words of the helper's own name (`check_page_size`, `validate_limit`,
            // `clamp`), not of a longer word (`get_checkbox_sorted` checks nothing).
            let helper = name_words(last).iter().any(|w| {
                [
                    "clamp",
                    "clamped",
                    "bound",
                    "bounded",
                    "bounds",
                    "valid",
                    "validate",
                    "validated",
                    "check",
                    "checked",
                    "ensure",
                    "assert",
                    "cap",
                    "capped",
                ]
                .contains(&w.as_str())
            });
            (helper || matches!(last, "min" | "max")) && mentions(args, var, src)
        }
        _ => false,
    }
}

/// The lowercase words of a snake_case or camelCase name (`checkPageSize` → check, page,
/// size).
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_') {
        let mut cur = String::new();
        for c in part.chars() {
            if c.is_ascii_uppercase() && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
        }
        if !cur.is_empty() {
            words.push(cur);
        }
    }
    words
}

/// `limit = offset + limit`, `limit += offset`: the caller's value still sets the page's
/// end, only larger; it is no clamp.
fn grows(assign: Node<'_>, var: &str, src: &str) -> bool {
    let Some(right) = assign.child_by_field_name("right").map(unwrap_expr) else {
        return false;
    };
    let op = assign
        .child_by_field_name("operator")
        .map_or("", |o| text(o, src));
    if assign.kind() == "augmented_assignment" {
        return op == "+=" && right.kind() != "call";
    }
    right.kind() == "binary_operator"
        && right
            .child_by_field_name("operator")
            .is_some_and(|o| text(o, src) == "+")
        && [
            right.child_by_field_name("left"),
            right.child_by_field_name("right"),
        ]
        .into_iter()
        .flatten()
        .any(|side| side.kind() == "identifier" && text(side, src) == var)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names_are_read_by_word() {
        assert_eq!(name_words("checkPageSize"), ["check", "page", "size"]);
        assert_eq!(
            name_words("get_checkbox_sorted"),
            ["get", "checkbox", "sorted"]
        );
    }

    #[test]
    fn classifies_pagination_names() {
        assert_eq!(classify("limit"), Some(PageParam::Size));
        assert_eq!(classify("pageSize"), Some(PageParam::Size));
        assert_eq!(classify("results_limit"), Some(PageParam::Size));
        assert_eq!(classify("rate_limit"), None);
        assert_eq!(classify("skip"), Some(PageParam::Offset));
        assert_eq!(classify("page"), Some(PageParam::Offset));
        assert_eq!(classify("pages"), None);
    }

    #[test]
    fn reads_int_types() {
        assert!(is_int(Some("int"), None));
        assert!(is_int(Some("Annotated[int | None, Query(le=10)]"), None));
        assert!(is_int(Some("Optional[int]"), None));
        assert!(is_int(Some("conint(ge=1, le=100)"), None));
        assert!(is_int(None, Some("100")));
        assert!(is_int(None, Some("Query(20, le=100)")));
        assert!(!is_int(Some("str"), Some("\"10\"")));
        assert!(!is_int(None, Some("None")));
        assert_eq!(annotated_base("Annotated[int, Query(ge=1)]"), "int");
    }

    #[test]
    fn finds_missing_bounds() {
        assert!(missing_bound(PageParam::Size, "int Query(20, ge=1, le=100)").is_none());
        assert!(missing_bound(PageParam::Size, "int Query(20, ge=1)").is_some());
        assert!(missing_bound(PageParam::Offset, "int Query(0, ge=0)").is_none());
        assert!(missing_bound(PageParam::Offset, "int 0").is_some());
        assert!(missing_bound(PageParam::Size, "conint(ge=1, le=50) 10").is_none());
        assert!(missing_bound(PageParam::Size, "int Query(5, gt=-2, lt=2147483647)").is_some());
        assert!(missing_bound(PageParam::Size, "int Query(5, ge=1, le=MAX_PAGE)").is_none());
        assert!(missing_bound(PageParam::Size, "int Query(5, gt=-1, lt=101)").is_none());
        assert!(missing_bound(PageParam::Size, "int Query(5, gt=-2, lt=101)").is_some());
        // `max_length=` and `title=` are not bounds.
        assert!(
            missing_bound(PageParam::Size, "int Query(20, title=\"x\", max_length=3)").is_some()
        );
    }
}
