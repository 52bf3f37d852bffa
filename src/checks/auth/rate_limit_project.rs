//! AUTH007, over the whole application: a route whose handler checks a password or a
//! one-time code (`verify_password(..)`, `check_password_hash(..)`, `authenticate(..)`,
//! `totp.verify(..)`) with nothing limiting the attempts: no limit on the route, no limiter
//! in its file (AUTH005 judges those files), no application-wide limit (limiter middleware,
//! DRF default throttles) and no lockout counter in the user model.

use crate::checks::RepoHit;
use crate::model::pyindex::FilePart;
use crate::model::routes::{RouteInfo, WebSummary};
use crate::model::summary::{FileSummary, Located, RepoContext, PY_APP_MARKERS};
use crate::source::re;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Calls that check a secret the caller supplies: a password, a one-time code.
static VERIFIER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?ix)(^|\.)(
          verify_password | check_password | check_password_hash | checkpw | verify_pass
        | authenticate | authenticate_user | authenticate_credentials | password_matches
        | verify_otp | verify_totp | verify_code | check_otp | check_totp | verify_2fa
        )$ | (^|\.)\w*(totp|otp|hotp)\w*\.verify$",
    )
    .expect("static regex")
});

/// A limiter: a package, a class or function of the project's own, a middleware.
static LIMITER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)rate_?limit|(^|[._])limiter|_limiter\b|throttl|token_?bucket|slowapi|(^|\.)axes(\.|$)")
        .expect("static regex")
});

/// A limit applied to every route at once (middleware, an app-wide default).
static GLOBAL: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)middleware|(^|\.)axes(\.|$)").expect("static regex"));

/// Columns that count failed sign-ins or lock an account.
static LOCKOUT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)login_?attempt|failed_?(login_?|auth_?)?attempt|failed_?logins?|locked_?(at|until|out)|lockout|is_locked")
        .expect("static regex")
});

/// Routes of the caller's own account (change password or email, delete the account).
static OWN_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)password|e-?mail|account|profile|/me\b|settings").expect("static regex")
});

/// What one application (a project root) does about attempts.
#[derive(Default)]
struct App<'a> {
    /// Routes of the app's Python web files: (file, route).
    routes: Vec<(&'a str, &'a RouteInfo)>,
    /// A limited route or a limiter call somewhere in the app, as it is written.
    limited: Option<String>,
    /// An app-wide limit or an account lockout: attempts are bounded everywhere.
    bounded: bool,
    /// Files that use a limiter themselves: AUTH005 judges their credential routes.
    limiter_files: Vec<&'a str>,
    parts: BTreeMap<&'a str, &'a FilePart>,
}

/// AUTH007: the handler checks a password or code and no limit applies to it.
pub fn credential_check_without_limit(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let roots = ctx.app_roots(PY_APP_MARKERS);
    let mut apps: BTreeMap<String, App<'_>> = BTreeMap::new();
    for (rel, _, s) in ctx.files {
        if !rel.ends_with(".py") {
            continue;
        }
        let app = apps.entry(roots.root_of(rel)).or_default();
        collect(app, rel, s);
    }
    for app in apps.values() {
        if app.bounded {
            continue;
        }
        report(app, out);
    }
}

fn collect<'a>(app: &mut App<'a>, rel: &'a str, s: &'a FileSummary) {
    let mut file_limits = false;
    for i in &s.imports {
        if LIMITER.is_match(&i.detail) {
            file_limits = true;
            app.bounded |= GLOBAL.is_match(&i.detail);
            app.limited.get_or_insert_with(|| i.detail.clone());
        }
    }
    if let Some(web) = &s.web {
        for r in &web.routes {
            if r.default_throttle {
                app.bounded = true;
            }
            if let Some(l) = &r.rate_limit {
                file_limits = true;
                app.limited.get_or_insert_with(|| l.clone());
            }
            app.routes.push((rel, r));
        }
        if throttles_by_default(web) {
            app.bounded = true;
        }
    }
    if let Some(p) = &s.pyindex {
        for (_, q) in &p.imports {
            if LIMITER.is_match(q) {
                file_limits = true;
                app.bounded |= GLOBAL.is_match(q);
                app.limited.get_or_insert_with(|| q.to_string());
            }
        }
        for f in &p.functions {
            for c in &f.calls {
                if LIMITER.is_match(&c.callee) {
                    file_limits = true;
                    app.limited.get_or_insert_with(|| c.callee.to_string());
                }
            }
        }
        app.parts.insert(rel, p);
    }
    for t in &s.tables {
        if t.columns.iter().any(|c| LOCKOUT.is_match(&c.name)) {
            app.bounded = true;
        }
    }
    if file_limits {
        app.limiter_files.push(rel);
    }
}

/// `REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": [...]}` in a settings module.
fn throttles_by_default(web: &WebSummary) -> bool {
    web.drf_settings
        .as_ref()
        .is_some_and(|d| format!("{d:?}").to_ascii_lowercase().contains("throttl"))
}

fn report(app: &App<'_>, out: &mut Vec<RepoHit>) {
    let mut seen = std::collections::HashSet::new();
    for &(rel, r) in &app.routes {
        if r.rate_limit.is_some()
            || r.methods
                .iter()
                .all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
            || (app.limiter_files.contains(&rel)
                && super::routes::credential_route(&r.path, &r.handler))
            || !seen.insert((rel, r.site))
        {
            continue;
        }
        // The signed-in caller re-entering their own password to change it: a stolen
        // session is the bigger problem there.
        if r.auth.is_some() && OWN_ACCOUNT.is_match(&format!("{} {}", r.path, r.handler)) {
            continue;
        }
        let Some(part) = app.parts.get(rel) else {
            continue;
        };
        let Some(verifier) = handler_verifier(part, r) else {
            continue;
        };
        let elsewhere = match &app.limited {
            Some(l) => format!("the application limits attempts elsewhere (`{l}`), not here"),
            None => "the application has no rate limiter, limiter middleware or account lockout"
                .to_string(),
        };
        out.push(RepoHit {
            path: rel.to_string(),
            at: Located {
                name: r.handler.clone(),
                detail: String::new(),
                line: r.line,
                column: 1,
                end_line: r.line,
                end_column: 1,
                start: r.span.0,
                end: r.span.1,
            },
            vars: vec![
                ("route", format!("{} {}", r.methods.join(", "), r.path)),
                ("handler", r.handler.clone()),
                ("verifier", verifier),
                ("elsewhere", elsewhere),
            ],
            confidence: None,
        });
    }
}

/// The credential check the route's handler calls, if any: the handler is the function of
/// that name defined nearest after the registration.
fn handler_verifier(part: &FilePart, r: &RouteInfo) -> Option<String> {
    let f = part
        .functions
        .iter()
        .filter(|f| f.name == r.handler && f.start >= r.span.0)
        .min_by_key(|f| f.start)?;
    f.calls
        .iter()
        .find(|c| VERIFIER.is_match(&c.callee))
        .map(|c| c.callee.to_string())
}
