//! Auth-layer checks over the route inventory: a route without auth among authenticated
//! siblings (AUTH001) and admin-looking routes without any auth (AUTH002).

use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{Framework, PyFacts, Route};
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

/// Path segments of routes that are public by design: authentication itself, health and
/// documentation endpoints, webhooks (authenticated by a signature, which SEC rules check).
static PUBLIC_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
          log[-_]?in | log[-_]?out | sign[-_]?(in|up|out) | register | registration | join
        | auth | oauth2? | sso | saml | openid | oidc | callback | authorize
        | token | access[-_]token | refresh([-_]token)? | login[-_]\w+
        | password[-_]?(recovery|reset|forgot)[-\w]* | (reset|forgot|recover)[-_]password
        | verify([-_]email)? | confirm[-\w]* | activate | unsubscribe | invitations?[-_]accept
        | health([-_]?(check|z))? | healthz | ready | readyz | readiness | live | livez | liveness
        | ping | status | version | metrics | heartbeat
        | docs | redoc | openapi(\.json)? | swagger[-\w.]*
        | public | webhooks? | hooks? | newsletter | contact | validate | redeem | claim
        | favicon\.ico | robots\.txt | sitemap\.xml | static
        )$",
    )
    .expect("static regex")
});

/// Handler names of public routes, for paths that do not say so (`@app.post("/")`).
static PUBLIC_HANDLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|_)(login|logout|signin|signup|sign_in|sign_up|register|registration|health|healthcheck|webhook|callback|public|home|index|landing|about|welcome|password_reset|reset_password|forgot_password|activate|activation|verify_email|confirm_email)(_|$)")
        .expect("static regex")
});

/// Path segments of administrative endpoints.
static ADMIN_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
          _?admins?([-_]\w+)* | administration | _?internal | _?debug([-_]\w+)* | ops
        | manage | management | superusers? | sudo | back[-_]?office | _?console
        )$",
    )
    .expect("static regex")
});

/// Literal path segments (parameters removed).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{') && !s.starts_with('<'))
}

/// Public by design: by path, handler name, registration shape, a credential in the path,
/// a login-flow request type, or a handler that serves anonymous callers on purpose.
fn is_public(facts: &PyFacts, route: &Route, src: &str) -> bool {
    let handler = snake(handler_name(facts, route));
    route.public
        || segments(&route.path).any(|s| PUBLIC_SEGMENT.is_match(s))
        || PUBLIC_HANDLER.is_match(&handler)
        || PUBLIC_SEGMENT.is_match(&handler)
        || is_signup(route)
        || route
            .path_params()
            .iter()
            .any(|p| CAPABILITY_PARAM.is_match(&p.name))
        || facts.functions.get(route.function).is_some_and(|f| {
            f.params.iter().any(|p| {
                p.annotation
                    .as_deref()
                    .is_some_and(|a| AUTH_FLOW_TYPE.is_match(a) || a.contains("Anonymous"))
            }) || src
                .get(f.body.0..f.body.1)
                .is_some_and(|b| b.contains("anonymous"))
        })
}

/// `PasswordResetView.post` -> `password_reset_view.post`, so that class-based view names
/// read like function names.
fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            out.push(if c == '.' { '_' } else { c });
        }
    }
    out
}

/// Path parameters that are the credential themselves (`/invites/{token}`,
/// `/checkout/{client_secret}`): a capability URL is authenticated by knowing it.
static CAPABILITY_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|_)(token|secret|signature|client_secret|invite_code|magic_code|key|code)$")
        .expect("static regex")
});

/// Request types of login, registration and recovery flows (`AuthenticationSessionStart`,
/// `LoginRequest`, `PasswordResetIn`).
static AUTH_FLOW_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(login|sign_?in|sign_?up|register|registration|authenticat|password_?reset|reset_?password|magic_?link|\botp\b|OAuth2PasswordRequestForm)")
        .expect("static regex")
});

/// `POST /users` (or `/accounts`, `/members`) on its own is how APIs register users
/// (the RealWorld spec, Flask-RESTful tutorials): public by design.
fn is_signup(route: &Route) -> bool {
    let last = route
        .path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    route.methods.iter().all(|m| m == "POST") && matches!(last, "users" | "accounts" | "members")
}

/// A parameter of a FastAPI read handler whose type is an alias imported from another
/// module (`common: CommonParameters`): a GET has no body, so it is injected by a
/// dependency this file cannot see, which may well authenticate the caller.
fn opaque_dependency<'f>(facts: &'f PyFacts, route: &Route) -> Option<&'f str> {
    static NOT_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(db|database|session|settings|config|background|^request$|^response$|^websocket$|cache|redis|logger|http_?client)")
            .expect("static regex")
    });
    const PLAIN_TYPES: &[&str] = &[
        "typing",
        "typing_extensions",
        "pydantic",
        "datetime",
        "uuid",
        "decimal",
        "enum",
        "collections",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "sqlmodel",
        "pathlib",
        "ipaddress",
    ];
    if route.framework != Framework::FastApi || !route.is_read_only() {
        return None;
    }
    let f = facts.functions.get(route.function)?;
    let in_path: HashSet<String> = route.path_params().into_iter().map(|p| p.name).collect();
    f.params.iter().find_map(|p| {
        if p.default.is_some() || in_path.contains(&p.name) {
            return None;
        }
        let ann = p.annotation.as_deref()?.trim();
        if !ann
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return None;
        }
        let head = ann.split('.').next().unwrap_or(ann);
        let qualified = facts.imports.get(head)?;
        let package = qualified.split('.').next().unwrap_or(qualified);
        (!PLAIN_TYPES.contains(&package) && !NOT_AUTH.is_match(ann)).then_some(ann)
    })
}

/// A handler that answers 404 unless a setting or environment variable enables it: the
/// usual way to keep a debug endpoint out of production.
fn env_gated(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static GATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)\b(settings\.\w*(debug|env|environment|testing|mode)\w*|config(\.get\(|\[)\s*["']\w*(debug|safe_mode|env|testing)\w*["']|os\.environ|getenv\()"#)
            .expect("static regex")
    });
    static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"abort\(\s*404|status_code\s*=\s*404|HTTP_404|HTTPException\(\s*404|NotFound\(")
            .expect("static regex")
    });
    let Some(f) = facts.functions.get(route.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    GATE.is_match(body) && NOT_FOUND.is_match(body)
}

fn admin_segment(route: &Route) -> Option<&str> {
    admin_path_segment(&route.path)
}

/// The first administrative literal segment of a path (`/admin/users/{id}` -> `admin`).
pub(crate) fn admin_path_segment(path: &str) -> Option<&str> {
    segments(path).find(|s| ADMIN_SEGMENT.is_match(s))
}

/// A public page (`/profiles/{id}`) by its path or handler name.
pub(crate) fn is_public_page(path: &str, handler: &str) -> bool {
    PUBLIC_PAGE.is_match(handler) || segments(path).any(|s| PUBLIC_PAGE.is_match(s))
}

/// Auth that grants access to everything (admins, staff).
pub(crate) fn is_privileged_auth(auth: &str) -> bool {
    PRIVILEGED_AUTH.is_match(auth)
}

/// The file names an owner/tenant field or the caller somewhere.
pub(crate) fn names_owner_field(src: &str) -> bool {
    OWNER_FIELD.is_match(src)
}

fn handler_name<'f>(_facts: &'f PyFacts, route: &'f Route) -> &'f str {
    route.handler.as_str()
}

/// A note for a Flask auth decorator that does not apply because of its position.
fn misplaced_note(route: &Route) -> String {
    match &route.misplaced_auth {
        Some(d) => {
            let name = d.split('(').next().unwrap_or(d);
            format!("; `@{name}` is above the route decorator, so it does not apply")
        }
        None => String::new(),
    }
}

/// AUTH001: a route with no auth on a router whose other routes mostly declare it.
pub fn route_missing_auth(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let mut by_router: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for r in &facts.routes {
        if r.methods.iter().any(|m| m == "WS") {
            // WebSocket endpoints authenticate inside the handshake handler.
            continue;
        }
        if r.default_auth {
            // DRF project defaults or an imported base class decide: unknown here.
            continue;
        }
        by_router.entry(r.router.as_str()).or_default().push(r);
    }
    for routes in by_router.values() {
        // Public-by-design routes neither get reported nor dilute the majority; a function
        // registered under several paths counts once.
        let mut seen = HashSet::new();
        let considered: Vec<&Route> = routes
            .iter()
            .copied()
            .filter(|r| !is_public(facts, r, &ctx.file.text))
            .filter(|r| seen.insert(r.site()))
            .collect();
        for r in &considered {
            if r.has_auth() || admin_segment(r).is_some() {
                // Admin-looking routes without auth are AUTH002's.
                continue;
            }
            if opaque_dependency(facts, r).is_some() {
                continue;
            }
            // Public reads next to authenticated writes are a common, deliberate design: a
            // read-only route is compared with the read-only siblings, a write with the
            // other writes, or else with all siblings (a write is at least as sensitive
            // as the reads). Only declared auth counts for siblings: a 403 somewhere in a
            // body is not a policy.
            let others = || considered.iter().filter(|s| s.site() != r.site());
            let same_kind: Vec<&&Route> = others()
                .filter(|s| s.is_read_only() == r.is_read_only())
                .collect();
            let all: Vec<&&Route> = others().collect();
            let majority = |group: &[&&Route]| {
                let authed = group.iter().filter(|s| s.auth.is_some()).count();
                (authed >= 2 && authed * 2 > group.len()).then_some(authed)
            };
            let (siblings, authed) = match majority(&same_kind) {
                Some(a) => (same_kind, a),
                None if !r.is_read_only() => match majority(&all) {
                    Some(a) => (all, a),
                    None => continue,
                },
                None => continue,
            };
            let example = siblings
                .iter()
                .find_map(|s| s.auth.as_deref())
                .unwrap_or("auth")
                .to_string();
            out.push(
                Hit::new(r.decorator_start, r.decorator_end)
                    .var("route", r.describe())
                    .var("handler", handler_name(facts, r))
                    .var("authed", authed.to_string())
                    .var("siblings", siblings.len().to_string())
                    .var("router", r.router.clone())
                    .var("auth", example)
                    .var("note", misplaced_note(r)),
            );
        }
    }
}

/// AUTH002: an admin-looking route with no auth at all.
pub fn admin_route_without_auth(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    for r in &facts.routes {
        if r.has_auth() {
            continue;
        }
        let Some(segment) = admin_segment(r) else {
            continue;
        };
        let handler = handler_name(facts, r);
        if is_public(facts, r, &ctx.file.text) || env_gated(facts, r, &ctx.file.text) {
            // `/admin/login` is how admins get in; a debug route that 404s unless a
            // setting enables it is kept out of production on purpose.
            continue;
        }
        out.push(
            Hit::new(r.decorator_start, r.decorator_end)
                .var("route", r.describe())
                .var("handler", handler)
                .var("segment", segment)
                .var("note", misplaced_note(r)),
        );
    }
}

/// Owner/tenant fields: a file that names none has no notion of per-user data to check.
static OWNER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(user_id|owner_id|owner|created_by|author_id|author|account_id|tenant_id|org_id|organization_id|customer_id|team_id|workspace_id|creator_id|current_user|request\.user|g\.user)\b")
        .expect("static regex")
});

static PUBLIC_PAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(public|profiles?|public_\w+|\w+_public)$").expect("static regex")
});

/// Auth that grants access to everything (admins, staff): no per-object check expected.
static PRIVILEGED_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(admin|superuser|staff|internal|service|system|permission_required|PermissionRequired|DjangoModelPermissions)")
        .expect("static regex")
});

/// AUTH004: an authenticated route that loads a resource by an id from the path and never
/// checks that it belongs to the caller.
pub fn route_missing_ownership_check(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    if facts.routes.is_empty() || !OWNER_FIELD.is_match(src) {
        return;
    }
    // Functions of the file that compare or filter by an owner: the data here is per-user.
    let owner_aware: Vec<usize> = facts
        .functions
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            crate::model::routes::checks_owner(src.get(f.body.0..f.body.1).unwrap_or(""))
        })
        .map(|(i, _)| i)
        .collect();
    let mut seen = HashSet::new();
    for r in &facts.routes {
        if !r.maybe_auth() || r.public || admin_segment(r).is_some() || seen.contains(&r.site()) {
            continue;
        }
        if !owner_aware.iter().any(|&i| i != r.function) {
            continue;
        }
        // Public profile pages show anyone's record on purpose.
        if PUBLIC_PAGE.is_match(handler_name(facts, r))
            || snake(handler_name(facts, r))
                .split(['_', '.'])
                .any(|w| w == "public")
            || segments(&r.path).any(|s| PUBLIC_PAGE.is_match(s))
        {
            continue;
        }
        let auth = r
            .auth
            .as_deref()
            .or(r.body_auth.as_deref())
            .unwrap_or("the project's default permission classes");
        if PRIVILEGED_AUTH.is_match(auth) {
            continue;
        }
        // Background job ids (RQ, Celery `job_id`) are random server-made handles: knowing one is
        // the capability, there is no owner row behind it.
        if r.path_params()
            .iter()
            .filter(|p| crate::model::routes::is_id_param(&p.name))
            .any(|p| p.name == "job_id")
        {
            continue;
        }
        let crate::model::routes::Ownership::No(start, end) =
            crate::model::routes::ownership(facts, src, r)
        else {
            continue;
        };
        seen.insert(r.site());
        let param = r
            .path_params()
            .into_iter()
            .map(|p| p.name)
            .find(|n| crate::model::routes::is_id_param(n))
            .unwrap_or_default();
        let mut hit = Hit::new(start, end)
            .var("route", r.describe())
            .var("handler", handler_name(facts, r))
            .var("param", param.clone())
            .var("auth", auth);
        hit.trace = vec![
            (
                r.decorator_start,
                r.decorator_end,
                format!("`{param}` comes from the path; the caller is authenticated by `{auth}`"),
            ),
            (
                start,
                end,
                "resource loaded by that id; no owner/tenant comparison or caller filter follows"
                    .to_string(),
            ),
        ];
        out.push(hit);
    }
}

/// Routes an attacker hammers: credential checks, token issuance, account creation,
/// password reset and one-time codes.
static SENSITIVE_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
          log[-_]?in | sign[-_]?in | sign[-_]?up | register | registration | authenticate
        | token | access[-_]token | refresh([-_]token)? | login[-_]\w+
        | password[-_]?(recovery|reset|forgot)[-\w]* | (reset|forgot|recover)[-_]password | reset
        | otp | verify[-\w]* | mfa | 2fa | totp | magic[-_]link | verification[-\w]* | resend[-\w]*
        )$",
    )
    .expect("static regex")
});
static SENSITIVE_HANDLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|_)(login|signin|sign_in|signup|sign_up|register|authenticate|token|reset_password|password_reset|forgot_password|recover_password|verify_otp|verify_code|otp|mfa|totp|magic_link)(_|$)")
        .expect("static regex")
});
/// The file rate-limits some routes itself (a decorator on a route, a limiter object).
static LIMITER_USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*@\s*[\w.]*(limiter|rate_?limit|ratelimit|throttle)\w*[\w.]*\s*(\(|$)")
        .expect("static regex")
});
/// Limits applied to every route of the app or a blueprint at once.
static GLOBAL_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bdefault_limits\s*=|\bapplication_limits\s*=|\blimiter\.limit\([^)]*\)\(\s*\w+\s*\)|SlowAPIMiddleware|\bRateLimitMiddleware\b")
        .expect("static regex")
});

/// AUTH005: the file rate-limits routes, but a login/token/signup/reset/OTP route is not.
pub fn sensitive_route_without_rate_limit(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let uses_limiter = facts.routes.iter().any(|r| r.rate_limit.is_some())
        || facts.imports_package("slowapi")
        || facts.imports_package("flask_limiter")
        || LIMITER_USE.is_match(src);
    if !uses_limiter || GLOBAL_LIMIT.is_match(src) {
        return;
    }
    let mut seen = HashSet::new();
    for r in &facts.routes {
        if r.rate_limit.is_some() || r.default_throttle || !seen.insert(r.site()) {
            continue;
        }
        let handler = handler_name(facts, r);
        let what = segments(&r.path)
            .find(|s| SENSITIVE_SEGMENT.is_match(s))
            .map(|s| format!("/{s}"))
            .or_else(|| {
                SENSITIVE_HANDLER
                    .is_match(handler)
                    .then(|| handler.to_string())
            });
        let Some(what) = what else {
            continue;
        };
        // Showing a login form is not the attack surface; submitting it is.
        if r.is_read_only() && !what.contains("verify") && !what.contains("otp") {
            continue;
        }
        out.push(
            Hit::new(r.decorator_start, r.decorator_end)
                .var("route", r.describe())
                .var("handler", handler)
                .var("what", what),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_segments() {
        for s in [
            "login",
            "signup",
            "token",
            "health",
            "healthz",
            "webhooks",
            "password-recovery",
            "reset-password",
            "openapi.json",
        ] {
            assert!(PUBLIC_SEGMENT.is_match(s), "{s}");
        }
        for s in ["items", "api-tokens", "users", "me", "tokens"] {
            assert!(!PUBLIC_SEGMENT.is_match(s), "{s}");
        }
        for s in [
            "admin",
            "admin-stats",
            "_internal",
            "internal",
            "debug",
            "ops",
            "superusers",
        ] {
            assert!(ADMIN_SEGMENT.is_match(s), "{s}");
        }
        assert!(!ADMIN_SEGMENT.is_match("sentry-debug"));
        assert!(!ADMIN_SEGMENT.is_match("stops"));
    }
}
