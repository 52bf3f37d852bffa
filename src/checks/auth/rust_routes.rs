//! Auth checks for axum and actix-web routes: a route outside the auth most of its file has
//! (AUTH102) and a handler that loads a resource by a path id without an owner check (AUTH101).

use crate::checks::rust::rust_facts;
use crate::checks::{FileContext, Hit};
use crate::model::facts::rust::ExtractorKind;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

static PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)health|status|ready|readiness|live|ping|metrics|version|login|logout|sign_?in|sign_?up|register|token|oauth|callback|webhook|public|static|assets|favicon|docs|openapi|swagger|robots|well-known|index|root|home|verify|reset|forgot|invite")
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

static PRIVILEGED_TYPE: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)admin|superuser|staff").expect("static regex"));

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
