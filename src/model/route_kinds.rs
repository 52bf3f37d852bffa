//! What a route is by design, from its path, handler and request types: public on purpose
//! (sign-in and recovery flows, health probes, webhooks, static assets, endpoints whose
//! docstring says they need no auth), administrative, or fed by a dependency this file
//! cannot see. The auth rules and the route inventory share these answers.

use crate::model::facts::python::{Framework, PyFacts, Route};
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Path segments of routes that are public by design: authentication itself, health and
/// documentation endpoints, webhooks (authenticated by a signature, which SEC rules check).
pub static PUBLIC_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?ix)^(
          log[-_]?in | log[-_]?out | sign[-_]?(in|up|out) | register | registration | join
        | auth | oauth2? | sso | saml | openid | oidc | callback | authorize
        | token | access[-_]token | refresh([-_]token)? | login[-_]\w+
        | password[-_]?(recovery|reset|forgot)[-\w]* | (reset|forgot|recover)[-_]password
        | verify([-_]email)? | confirm[-\w]* | activate | unsubscribe | invitations?[-_]accept
        | health([-_]?(check|z))? | healthz | ready | readyz | readiness | live | livez | liveness
        | ping | status | version | metrics | heartbeat | gtg | good[-_]to[-_]go
        | docs | redoc | openapi(\.json)? | swagger[-\w.]*
        | public | webhooks? | hooks? | newsletter | contact | validate | redeem | claim
        | favicon(\.ico)? | robots\.txt | sitemap\.xml | static | assets | logo | manifest\.json
        | setup | install(ation)? | onboard(ing)? | bootstrap
        )$",
    )
    .expect("static regex")
});

/// Handler names of public routes, for paths that do not say so (`@app.post("/")`). A
/// federated server's remote follow (`remote_follow`) serves visitors whose account lives on
/// another server: it looks up their home server and sends them there.
static PUBLIC_HANDLER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(^|_)(login|logout|signin|signup|sign_in|sign_up|register|registration|health|healthcheck|webhook|callback|public|home|index|landing|about|welcome|password_reset|reset_password|forgot_password|activate|activation|verify_email|confirm_email|logo|favicon|serve_static|static_file|init_view|setup_view|install_view|init_?db|initial_configuration|invite_request|request_invite|request_invitation|waitlist|waiting_list|remote_follow|remote_interaction)(_|$)")
        .expect("static regex")
});

/// Path segments of administrative endpoints.
pub static ADMIN_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?ix)^(
          _?admins?([-_]\w+)* | administration | _?internal | _?debug([-_]\w+)* | ops
        | manage | management | superusers? | sudo | back[-_]?office | _?console
        )$",
    )
    .expect("static regex")
});

/// Literal path segments (parameters removed).
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{') && !s.starts_with('<'))
}

/// Public by design: by path, handler name, registration shape, a credential in the path,
/// a login-flow request type, or a handler that serves anonymous callers on purpose.
pub fn is_public(facts: &PyFacts, route: &Route, src: &str) -> bool {
    let handler = snake(&route.handler);
    route.public
        || segments(&route.path).any(|s| PUBLIC_SEGMENT.is_match(s))
        || PUBLIC_HANDLER.is_match(&handler)
        || PUBLIC_SEGMENT.is_match(&handler)
        || is_signup(route)
        || route
            .path_params()
            .iter()
            .any(|p| CAPABILITY_PARAM.is_match(&p.name))
        || public_reads_of_class(facts, route)
        || signs_in(facts, route, src)
        || status_badge(facts, route, src)
        || facts.functions.get(route.function).is_some_and(|f| {
            f.params.iter().any(|p| {
                p.annotation
                    .as_deref()
                    .is_some_and(|a| AUTH_FLOW_TYPE.is_match(a) || a.contains("Anonymous"))
            }) || src.get(f.body.0..f.body.1).is_some_and(|b| {
                b.contains("anonymous") || documented_public(b) || public_by_setting(b)
            })
        })
}

/// A status badge (`/badge/{kind}.svg`, `/badges/coverage`) whose handler draws an SVG
/// image: made to be embedded in READMEs and dashboards like a CI badge, which no viewer
/// can authenticate. A `badges` listing that answers JSON (a user's achievements) is not
/// one.
fn status_badge(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static BADGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:badges?|shields?)(?:\.(?:svg|png))?$").expect("static regex")
    });
    route.is_read_only()
        && segments(&route.path).any(|s| BADGE.is_match(s))
        && (route.path.to_ascii_lowercase().ends_with(".svg")
            || facts
                .functions
                .get(route.function)
                .and_then(|f| src.get(f.body.0..f.body.1))
                .is_some_and(|b| b.to_ascii_lowercase().contains("svg")))
}

/// A class view whose writing methods each carry an auth decorator
/// (`@method_decorator(login_required)` on `post`) while its reads carry none: the author
/// decided per method, and the undecorated page is public on purpose.
fn public_reads_of_class(facts: &PyFacts, route: &Route) -> bool {
    let Some(class) = route.class.and_then(|ci| facts.classes.get(ci)) else {
        return false;
    };
    let methods: Vec<_> = facts
        .functions
        .iter()
        .filter(|f| f.class.as_deref() == Some(class.name.as_str()))
        .filter(|f| {
            matches!(
                f.name.as_str(),
                "get" | "head" | "post" | "put" | "patch" | "delete"
            )
        })
        .collect();
    let authed = |f: &crate::model::facts::python::PyFunction| {
        f.decorators.iter().any(|d| {
            let callee = d.callee.rsplit('.').next().unwrap_or(&d.callee);
            let inner = if callee == "method_decorator" {
                d.text
                    .trim_start_matches('@')
                    .trim_start_matches("method_decorator")
            } else {
                callee
            };
            crate::model::facts::python::AUTH_DECORATOR.is_match(inner)
        })
    };
    let (with, without): (Vec<&crate::model::facts::python::PyFunction>, Vec<_>) =
        methods.iter().copied().partition(|f| authed(f));
    !with.is_empty()
        && !without.is_empty()
        && with
            .iter()
            .all(|f| !matches!(f.name.as_str(), "get" | "head"))
        && without
            .iter()
            .all(|f| matches!(f.name.as_str(), "get" | "head"))
}

/// A sign-in flow: the handler, or a method of its class view, checks a password and signs
/// the visitor in (`user.check_password(password)` then `login(request, user)`, reactivating
/// an account). Whoever calls it is not signed in yet.
fn signs_in(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:check_password(?:_hash)?|verify_password|authenticate)\s*\(")
            .expect("static regex")
    });
    static LOGIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|[^.\w])(?:auth\.)?(?:login|login_user)\s*\(").expect("static regex")
    });
    let class = route
        .class
        .and_then(|ci| facts.classes.get(ci))
        .map(|c| c.name.as_str());
    facts
        .functions
        .iter()
        .enumerate()
        .filter(|(i, f)| *i == route.function || class.is_some() && f.class.as_deref() == class)
        .any(|(_, f)| {
            let body = src.get(f.body.0..f.body.1).unwrap_or("");
            PASSWORD.is_match(body) && LOGIN.is_match(body)
        })
}

/// The handler answers only when a setting opens it to the public
/// (`if config.get("ALLOW_PUBLIC_PROJECT_CREATION")`, `settings.REGISTRATION_OPEN`): anonymous
/// use is the operator's documented choice, not a missing check.
fn public_by_setting(body: &str) -> bool {
    static SETTING: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?:settings\.|config\.get\(\s*["']|config\[\s*["']|getenv\(\s*["']|environ\.get\(\s*["'])(?:ALLOW|ENABLE)_(?:PUBLIC|ANONYMOUS|OPEN)_\w+|(?:settings\.|config\.get\(\s*["']|config\[\s*["'])\w*(?:SIGNUP|REGISTRATION)S?_(?:OPEN|ENABLED|ALLOWED)"#)
            .expect("static regex")
    });
    SETTING.is_match(body)
}

/// The handler's docstring says the endpoint needs no authentication ("This endpoint
/// doesn't require authentication", "No authentication required", "public endpoint").
fn documented_public(body: &str) -> bool {
    static DOC: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?is)^\s*[rRuU]?("""|''')(?:[^"']|"[^"]|'[^'])*?\b(?:(?:does\s*n[o']t|do\s*n[o']t|not)\s+(?:require|need)\s+(?:any\s+)?auth\w*|no\s+auth\w*\s+(?:is\s+)?(?:required|needed)|without\s+auth\w*|public\s+endpoint|unauthenticated\s+endpoint)"#)
            .expect("static regex")
    });
    DOC.is_match(body)
}

/// An `async` FastAPI handler that awaits nothing and takes no dependency: it computes its
/// answer from the request alone (decode an invoice, estimate a fee), so there is nothing
/// stored behind it to protect.
pub fn stateless_handler(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static STATEFUL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\bawait\b|\b(db|session|conn|cursor|repo\w*|crud|redis|cache|settings|os|subprocess|requests|httpx|open)\b\s*[.(\[]|\.(save|delete|create|update|query|execute|filter|get)\(")
            .expect("static regex")
    });
    let Some(f) = async_without_dependencies(facts, route) else {
        return false;
    };
    !STATEFUL.is_match(src.get(f.body.0..f.body.1).unwrap_or(""))
}

/// The handler of a FastAPI route when it is `async` and takes no dependency
/// (`Depends(...)`/`Security(...)` in a parameter's default or annotation).
fn async_without_dependencies<'f>(
    facts: &'f PyFacts,
    route: &Route,
) -> Option<&'f crate::model::facts::python::PyFunction> {
    if route.framework != Framework::FastApi {
        return None;
    }
    let f = facts.functions.get(route.function)?;
    let injected = f.params.iter().any(|p| {
        [&p.default, &p.annotation]
            .into_iter()
            .flatten()
            .any(|t| t.contains("Depends(") || t.contains("Security("))
    });
    (f.is_async && !injected).then_some(f)
}

/// An `async` FastAPI handler that only computes its answer from the request (a sync
/// one may well block on a store it does not name): it takes no dependency, awaits nothing, names no store, connection, file or HTTP client, calls no
/// method that reads or changes a store (`.get(`, `.save(`, `.submit(`, `.append(`...),
/// writes no subscript, declares no `global`, and calls methods only on objects it built
/// from arguments (`engine = Engine(evidence)`), not on one fetched from a getter without
/// any (`store = get_store()`, the process-wide state). It returns fixed numbers or scores
/// the posted body; nothing is stored or read.
pub fn computes_only(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static STATEFUL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bawait\b|\bglobal\b|\b(?:db|session|conn|connection|cursor|repo|repository|crud|redis|cache|settings|os|subprocess|requests|httpx|urllib|open|store|storage)\b\s*[.(\[]|\.(?:save|delete|create|update|query|execute|filter|get|submit|add|append|extend|insert|put|set|setdefault|remove|pop|write\w*|read\w*|load\w*|fetch\w*|send\w*)\(|\w\[[^\]\n]*\]\s*[-+*/|&]?=[^=]")
            .expect("static regex")
    });
    static ARGLESS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^\s*([A-Za-z_]\w*)\s*=\s*[A-Za-z_][\w.]*\(\s*\)").expect("static regex")
    });
    let Some(f) = async_without_dependencies(facts, route) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    !body.trim().is_empty()
        && !STATEFUL.is_match(body)
        && !ARGLESS.captures_iter(body).any(|c| {
            let used = format!("{}.", &c[1]);
            body.match_indices(&used).any(|(i, _)| {
                !body[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '.')
            })
        })
}

/// `PasswordResetView.post` -> `password_reset_view.post`, so that class-based view names
/// read like function names.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            // `InitDBView` -> `init_db_view`: an acronym ends before the capital that starts
            // the next word.
            let acronym_end = i > 0
                && chars[i - 1].is_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev_lower || acronym_end {
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
/// A Lightning payment request (`/{payment_request}/pay-with-nfc`, `/{bolt11}`) is handed
/// to whoever should pay it: routes keyed by it serve that payer, who has no account here.
static CAPABILITY_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(^|_)(token|secret|signature|client_secret|invite_code|magic_code|key|code)$|^(payment_request|bolt11)$")
        .expect("static regex")
});

/// Request types of login, registration and recovery flows (`AuthenticationSessionStart`,
/// `LoginRequest`, `PasswordResetIn`).
static AUTH_FLOW_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(login|sign_?in|sign_?up|register|registration|authenticat|password_?reset|reset_?password|magic_?link|\botp\b|OAuth2PasswordRequestForm|session_?code|login_?code|verification_?code|magic_?code|one_?time_?code)")
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
pub fn opaque_dependency<'f>(facts: &'f PyFacts, route: &Route) -> Option<&'f str> {
    static NOT_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(db|database|session|settings|config|background|^request$|^response$|^websocket$|cache|redis|logger|http_?client)")
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

/// Why AUTH001 does not judge a route, if it does not: WebSocket endpoints (they
/// authenticate in the handshake), DRF views on the project defaults, public-by-design and
/// administrative routes (AUTH002's), read routes fed by an opaque dependency, and
/// stateless handlers.
pub fn auth_exempt(facts: &PyFacts, route: &Route, src: &str) -> Option<&'static str> {
    if route.methods.iter().any(|m| m == "WS") {
        Some("websocket")
    } else if route.default_auth {
        Some("project default permissions")
    } else if is_public(facts, route, src) {
        Some("public by design")
    } else if off_by_default(facts, route, src) {
        Some("off by default")
    } else if admin_path_segment(&route.path).is_some() {
        Some("administrative")
    } else if opaque_dependency(facts, route).is_some() {
        Some("opaque dependency")
    } else if stateless_handler(facts, route, src) {
        Some("stateless")
    } else {
        None
    }
}

/// A route that is not part of the running service: under a `/testing/` segment (pages
/// for front-end tests), or a handler that answers 404 unless a flag turns it on
/// (`if cli_param.reconnect_enable: ... else: abort(404)`).
fn off_by_default(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static FLAG: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^\s*if\s+(?:not\s+)?[\w.]*?\w*(?:enable|enabled|debug|testing)\w*\s*:")
            .expect("static regex")
    });
    static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"abort\(\s*404|status_code\s*=\s*404|HTTP_404|HTTPException\(\s*404|NotFound\(|Http404")
            .expect("static regex")
    });
    if segments(&route.path).any(|s| matches!(s, "testing" | "_testing" | "__test__")) {
        return true;
    }
    facts.functions.get(route.function).is_some_and(|f| {
        let body = src.get(f.body.0..f.body.1).unwrap_or("");
        FLAG.is_match(body) && NOT_FOUND.is_match(body)
    })
}

/// The first administrative literal segment of a path (`/admin/users/{id}` -> `admin`).
pub fn admin_path_segment(path: &str) -> Option<&str> {
    segments(path).find(|s| ADMIN_SEGMENT.is_match(s))
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
            "gtg",
            "webhooks",
            "password-recovery",
            "reset-password",
            "openapi.json",
            "logo",
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

    #[test]
    fn documented_public_reads_the_docstring() {
        assert!(documented_public(
            "\n    \"\"\"Deactivate a key.\n\n    This endpoint doesn't require authentication.\n    \"\"\"\n    pass"
        ));
        assert!(!documented_public(
            "\n    x = 1  # doesn't require authentication\n"
        ));
    }
}
