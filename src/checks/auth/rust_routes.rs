//! Route-level checks for axum and actix-web: auth coverage, id path parameters,
//! page sizes.

use crate::checks::rust::{each_node, rust_facts, text};
use crate::checks::{FileContext, Hit};
use crate::model::facts::rust::{split_top, ExtractorKind, TYPED_ID};
use regex::Regex;
use std::sync::LazyLock;

static PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)health|status|ready|readiness|live|ping|metrics|version|login|logout|sign_?in|sign_?up|register|token|oauth|callback|webhook|public|static|assets|favicon|docs|openapi|swagger|robots|well-known|index|root|home|verify|reset|forgot|invite")
        .expect("static regex")
});

/// AUTH102: a route with no auth while most routes of the file have it.
pub fn route_outside_auth(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let Some(facts) = rust_facts(ctx) else { return };
    let routes = &facts.routes;
    let with_auth = routes.iter().filter(|r| r.auth.is_some()).count();
    if with_auth < 2 || with_auth * 2 <= routes.len() {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for r in routes {
        if r.auth.is_some()
            || r.methods.iter().all(|m| m == "OPTIONS")
            || PUBLIC.is_match(&r.path)
            || PUBLIC.is_match(&r.handler)
            || !seen.insert((r.reg_start, r.handler.clone()))
        {
            continue;
        }
        let example = routes
            .iter()
            .find_map(|o| o.auth.clone())
            .unwrap_or_default();
        hits.push(
            Hit::new(r.reg_start, r.reg_end)
                .var("route", r.describe())
                .var("handler", r.handler.clone())
                .var("count", format!("{with_auth} of {}", routes.len()))
                .var("auth", example),
        );
    }
}

fn is_id_name(n: &str) -> bool {
    n == "id" || n.ends_with("_id") || n == "uuid" || n.ends_with("Id")
}

/// API102: an id path parameter extracted as `String` where the service's ids are typed.
pub fn id_path_param_string(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    // (handler index, extractor index, param name, type)
    let mut params: Vec<(usize, usize, String, String)> = Vec::new();
    for (hi, h) in facts.handlers.iter().enumerate() {
        for (xi, x) in h.extractors.iter().enumerate() {
            if x.kind != ExtractorKind::Path {
                continue;
            }
            let types = split_top(&x.inner);
            let route_names: Option<Vec<String>> =
                facts.routes_of(hi).next().map(|r| r.path_params());
            let names: Vec<String> = match route_names {
                Some(n) if n.len() == types.len() => n,
                _ => {
                    // `Path((org_id, id))` / `Path(id)`: the bound names.
                    let pat = x.pattern.trim();
                    let pat = pat
                        .strip_prefix("Path(")
                        .or_else(|| pat.strip_prefix("web::Path("))
                        .and_then(|p| p.strip_suffix(')'))
                        .unwrap_or(pat);
                    let n = split_top(pat);
                    if n.len() != types.len() {
                        continue;
                    }
                    n
                }
            };
            for (n, t) in names.into_iter().zip(types) {
                params.push((hi, xi, n, t));
            }
        }
    }
    let typed = params
        .iter()
        .find(|(_, _, n, t)| is_id_name(n) && TYPED_ID.is_match(t))
        .map(|(_, _, n, t)| format!("{n}: {t}"));
    for (hi, xi, n, t) in &params {
        if !is_id_name(n) || !matches!(t.as_str(), "String" | "&str" | "std::string::String") {
            continue;
        }
        let h = &facts.handlers[*hi];
        let body = src.get(h.body_start..h.body_end).unwrap_or("");
        let parsed =
            body.contains("parse_str(") || body.contains(".parse::<") || body.contains(".parse()");
        let Some(evidence) = typed
            .clone()
            .or_else(|| parsed.then(|| "the handler parses it".to_string()))
        else {
            continue;
        };
        let x = &h.extractors[*xi];
        hits.push(
            Hit::new(x.start, x.end)
                .var("param", n.clone())
                .var("handler", h.name.clone())
                .var("evidence", evidence),
        );
    }
}

/// API101: a page-size field of a `Query<T>` struct used without an upper bound.
pub fn unclamped_page_size(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    static PAGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(limit|per_page|page_size|pagesize|take|size|count|max_results|first|last)$")
            .expect("static regex")
    });
    // struct name -> [(field, validated)]
    let mut structs: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    each_node(ctx.tree.root_node(), &["struct_item"], |s| {
        let (Some(name), Some(body)) =
            (s.child_by_field_name("name"), s.child_by_field_name("body"))
        else {
            return;
        };
        let mut fields = Vec::new();
        let mut c = body.walk();
        let mut attrs = String::new();
        for f in body.named_children(&mut c) {
            match f.kind() {
                "attribute_item" => attrs.push_str(text(f, src)),
                "field_declaration" => {
                    if let Some(n) = f.child_by_field_name("name") {
                        let ty = f
                            .child_by_field_name("type")
                            .map(|t| text(t, src))
                            .unwrap_or("");
                        let numeric = ty.contains("i32")
                            || ty.contains("i64")
                            || ty.contains("u32")
                            || ty.contains("u64")
                            || ty.contains("usize")
                            || ty.contains("u16")
                            || ty.contains("u8")
                            || ty.contains("isize");
                        let name = text(n, src).to_string();
                        if numeric && PAGE.is_match(&name) {
                            let validated = attrs.contains("range")
                                || attrs.contains("deserialize_with")
                                || attrs.contains("try_from");
                            fields.push((name, validated));
                        }
                    }
                    attrs.clear();
                }
                _ => attrs.clear(),
            }
        }
        if !fields.is_empty() {
            structs.push((text(name, src).to_string(), fields));
        }
    });
    if structs.is_empty() {
        return;
    }
    static BOUND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.clamp\(|\.min\(|cmp::min\(|\bmin\(|\.validate\(|Valid<|MAX_\w*|_MAX\b|> *\d+|>= *\d+|\.take\(\d").expect("static regex")
    });
    for h in &facts.handlers {
        for x in &h.extractors {
            if x.kind != ExtractorKind::Query {
                continue;
            }
            let ty = x.inner.rsplit("::").next().unwrap_or(&x.inner);
            let Some((_, fields)) = structs.iter().find(|(n, _)| n == ty) else {
                continue;
            };
            let body = src.get(h.body_start..h.body_end).unwrap_or("");
            if BOUND.is_match(body) || x.ty.contains("Valid") {
                continue;
            }
            for (field, validated) in fields {
                if *validated {
                    continue;
                }
                let needle = format!(".{field}");
                let Some(pos) = body.find(&needle) else {
                    continue;
                };
                let start = h.body_start + pos + 1;
                hits.push(
                    Hit::new(start, start + field.len())
                        .var("field", field.clone())
                        .var("handler", h.name.clone()),
                );
            }
        }
    }
}

static PRIVILEGED_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)admin|superuser|staff").expect("static regex"));

/// AUTH101: an authenticated handler loads a resource by an id from the path and never
/// compares its owner with the caller nor filters by the caller.
pub fn route_missing_ownership_check(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    use crate::model::routes::{checks_owner, rust_handler_ownership, Ownership};
    let src = ctx.file.text.as_str();
    let Some(facts) = rust_facts(ctx) else { return };
    if !crate::checks::auth::routes::names_owner_field(src) {
        return;
    }
    // Functions that compare or filter by an owner: the data of this file is per-user.
    let owner_aware: Vec<usize> = facts
        .handlers
        .iter()
        .enumerate()
        .filter(|(_, h)| checks_owner(src.get(h.body_start..h.body_end).unwrap_or("")))
        .map(|(i, _)| i)
        .collect();
    for (hi, h) in facts.handlers.iter().enumerate() {
        if !h.extractors.iter().any(|x| x.kind == ExtractorKind::Path)
            || facts.in_test(h.start)
            || !owner_aware.iter().any(|&i| i != hi)
        {
            continue;
        }
        let routes: Vec<_> = facts.routes_of(hi).collect();
        let extractor_auth = h
            .extractors
            .iter()
            .find(|x| x.kind == ExtractorKind::Auth)
            .map(crate::model::facts::rust::Extractor::type_name);
        let Some(auth) = routes
            .iter()
            .find_map(|r| r.auth.clone())
            .or(extractor_auth)
        else {
            continue;
        };
        // An admin extractor (`AdminUser`, `_admin: AdminRole`) grants access to all rows.
        let privileged = crate::checks::auth::routes::is_privileged_auth(&auth)
            || h.extractors.iter().any(|x| {
                (x.kind == ExtractorKind::Auth
                    && crate::checks::auth::routes::is_privileged_auth(&x.ty))
                    || PRIVILEGED_TYPE.is_match(&x.type_name())
            });
        if privileged
            || routes.iter().any(|r| {
                crate::checks::auth::routes::admin_path_segment(&r.path).is_some()
                    || crate::checks::auth::routes::is_public_page(&r.path, &h.name)
            })
            || crate::checks::auth::routes::is_public_page("", &h.name)
        {
            continue;
        }
        let route = routes.first().copied();
        let Ownership::No(start, end) = rust_handler_ownership(facts, src, h, route) else {
            continue;
        };
        let param = route
            .and_then(|r| {
                r.path_params()
                    .into_iter()
                    .find(|p| crate::model::routes::is_id_param(p))
            })
            .or_else(|| {
                crate::model::routes::rust_id_names(h, route)
                    .into_iter()
                    .next()
            })
            .unwrap_or_default();
        let described = route.map_or_else(|| format!("handler {}", h.name), |r| r.describe());
        let path_x = h
            .extractors
            .iter()
            .find(|x| x.kind == ExtractorKind::Path)
            .map_or((h.start, h.start), |x| (x.start, x.end));
        let mut hit = Hit::new(start, end)
            .var("route", described)
            .var("handler", h.name.clone())
            .var("param", param.clone())
            .var("auth", auth.clone());
        hit.trace = vec![
            (
                path_x.0,
                path_x.1,
                format!("`{param}` comes from the path; the caller is authenticated by `{auth}`"),
            ),
            (
                start,
                end,
                "resource loaded by that id; no owner/tenant comparison or caller filter follows"
                    .to_string(),
            ),
        ];
        hits.push(hit);
    }
}
