//! AUTH006, over the route inventory composed across files: a router file whose
//! state-changing routes are all public in an application whose write routes mostly require
//! auth (the router registered without the dependencies its siblings got).

use crate::checks::RepoHit;
use crate::model::routes::{admin_guarded_roots, inventory, RouteInfo, Row, WebSummary};
use crate::model::summary::{Located, RepoContext, PY_APP_MARKERS};
use crate::source::re;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Paths that are public by design: sign-in and recovery flows (an `/auth/` router),
/// webhooks (signed, not authenticated), health and metrics probes, server information,
/// documentation.
static PUBLIC_PATH: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)login|logout|sign[-_]?(?:in|up|out)|register|token|refresh|oauth|sso|saml|callback|webhook|hook|health|status|ping|metrics|password|forgot|reset|recover|verify|confirm|activate|invite|unsubscribe|contact|feedback|public|csp[-_]?report|docs|openapi|schema|captcha|stripe|slack|github|setup|install|onboard|(?:^|/)auth(?:/|$)|(?:^|/)(?:get_)?(?:server_)?(?:info|version)(?:/|$)")
        .expect("static regex")
});

const STATE_CHANGING: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];

/// AUTH006: a file whose state-changing routes are all reachable without auth (as the
/// inventory composes it across files: router dependencies, include prefixes, DRF
/// defaults, auth layers), in an application where most state-changing routes require
/// auth. Per-file AUTH001 compares siblings; this finds the router whose registration
/// forgot the auth every other router got.
pub fn router_without_auth(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let files: Vec<(String, WebSummary)> = ctx
        .files
        .iter()
        .filter_map(|(rel, _, s)| s.web.clone().map(|w| (rel.clone(), w)))
        .collect();
    if files.is_empty() {
        return;
    }
    // One application per project root (the deepest directory with a manifest or
    // `manage.py` above the file): a monorepo's services are judged on their own.
    let roots = ctx.app_roots(&[PY_APP_MARKERS, &["Cargo.toml"]].concat());
    let mut rows = inventory(&files);
    guarded_by_base(ctx, &mut rows);
    let mut projects: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for r in rows {
        projects.entry(roots.root_of(&r.file)).or_default().push(r);
    }
    // A write whose handler only builds its response (it can change nothing but the
    // visitor's own session): the project index, built only when asked.
    let parts = index_parts(ctx);
    let index = std::cell::OnceCell::new();
    let session_only = |r: &Row| {
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        super::relay_read::handler_at(ix, &r.file, r.span.0, &r.handler)
            .is_some_and(|h| super::relay_read::responds_only(ix, h))
    };
    // Views in an `admin` package of a Django project whose `MIDDLEWARE` lists an admin
    // guard (a middleware that turns away non-admins for the admin URL namespace or path
    // prefix): the registration that puts them under that namespace is not followed, so
    // the guard is likely but not proven to cover them.
    let guarded = admin_guarded_roots(&files);
    let admin_area = |r: &Row| {
        let (dir, _) = r.file.rsplit_once('/').unwrap_or(("", ""));
        dir.split('/').any(|d| d == "admin")
            && guarded.iter().any(|root| r.file.starts_with(root.as_str()))
    };
    let demoted = |r: &Row| admin_area(r) || session_only(r);
    // Handlers that only compute their answer from the request (fixed numbers, a score
    // of the posted body; `route_kinds::computes_only`) have nothing behind them to
    // protect: they are not open writes.
    let stateless: std::collections::HashSet<(&str, (usize, usize))> = files
        .iter()
        .flat_map(|(rel, w)| {
            w.routes
                .iter()
                .filter(|r| r.computes_only)
                .map(move |r| (rel.as_str(), r.span))
        })
        .collect();
    let open_write = |r: &Row| !stateless.contains(&(r.file.as_str(), r.span));
    let mut hits = Vec::new();
    for rows in projects.into_values() {
        for app in applications(rows) {
            unauthenticated_files(&app, &demoted, &open_write, &mut hits);
        }
    }
    // A router served by two applications is judged in each; report it once.
    let mut seen = std::collections::BTreeSet::new();
    out.extend(
        hits.into_iter()
            .filter(|h| seen.insert((h.path.clone(), h.at.line, h.at.column))),
    );
}

/// Class-based Django views without declared auth whose class, or a project base class in
/// any file (`WgerPermissionMixin` from a shared module), enforces auth in `dispatch()` or
/// `test_func()`: the inventory reads the view's own file only; the project index follows
/// the bases. Built only when such a write route is open.
fn guarded_by_base(ctx: &RepoContext<'_>, rows: &mut [Row]) {
    let open = |r: &Row| {
        r.auth.is_none()
            && matches!(r.framework.as_str(), "django" | "drf")
            && r.methods
                .iter()
                .any(|m| STATE_CHANGING.contains(&m.as_str()))
    };
    if !rows.iter().any(open) {
        return;
    }
    let parts = index_parts(ctx);
    let ix = crate::model::pyindex::ProjectIndex::build(&parts);
    for r in rows.iter_mut().filter(|r| open(r)) {
        let class = r.handler.split('.').next().unwrap_or(&r.handler);
        if let Some(g) = ix.class_guard(&r.file, class) {
            r.auth = Some(format!("{} (a base class)", ix.display_name(g)));
        }
    }
}

/// The project index's parts (path, part of each Python file), sorted by path.
fn index_parts<'a>(ctx: &RepoContext<'a>) -> Vec<(&'a str, &'a crate::model::pyindex::FilePart)> {
    let mut parts: Vec<(&str, &crate::model::pyindex::FilePart)> = ctx
        .files
        .iter()
        .filter_map(|(rel, _, s)| s.pyindex.as_ref().map(|p| (rel.as_str(), p)))
        .collect();
    parts.sort_by(|a, b| a.0.cmp(b.0));
    parts
}

/// The applications of one project: the routes composed into each application object
/// (`app = FastAPI()` with its included routers), judged apart because a second
/// application (an internal gateway, an admin app on its own port) does not share the
/// first one's auth. Routes whose registration the inventory could not follow join the
/// largest application, as they did when a project was one application.
fn applications(rows: Vec<Row>) -> Vec<Vec<Row>> {
    let mut apps: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut loose = Vec::new();
    for r in rows {
        if r.app.is_empty() {
            loose.push(r);
        } else {
            apps.entry(r.app.clone()).or_default().push(r);
        }
    }
    let largest = apps
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.clone());
    match largest {
        Some(k) => {
            if let Some(v) = apps.get_mut(&k) {
                v.extend(loose);
            }
            apps.into_values().collect()
        }
        None => vec![loose],
    }
}

fn unauthenticated_files(
    rows: &[Row],
    demoted: &dyn Fn(&Row) -> bool,
    open_write: &dyn Fn(&Row) -> bool,
    out: &mut Vec<RepoHit>,
) {
    // Routes registered for development only are neither judged nor counted.
    let rows: Vec<&Row> = rows.iter().filter(|r| !r.dev_only).collect();
    let writes: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| {
            r.methods
                .iter()
                .any(|m| STATE_CHANGING.contains(&m.as_str()))
        })
        .filter(|r| !PUBLIC_PATH.is_match(&r.path) && !PUBLIC_PATH.is_match(&r.handler))
        .collect();
    let authed = writes.iter().filter(|r| r.auth.is_some()).count();
    // An application that mostly authenticates its writes, with enough of them to say so.
    if authed < 3 || authed * 3 < writes.len() * 2 {
        return;
    }
    let mut by_file: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        by_file.entry(r.file.as_str()).or_default().push(r);
    }
    for (file, file_rows) in by_file {
        // A file with any authenticated route is AUTH001's to judge.
        if file_rows.iter().any(|r| r.auth.is_some()) {
            continue;
        }
        let open: Vec<&&Row> = writes
            .iter()
            .filter(|r| r.file == file && r.auth.is_none() && open_write(r))
            .collect();
        let Some(first) = open.iter().min_by_key(|r| (r.line, &r.path)) else {
            continue;
        };
        let mut listed: Vec<String> = open
            .iter()
            .map(|r| format!("`{} {}`", r.methods.join(","), r.path))
            .collect();
        listed.dedup();
        let more = listed.len().saturating_sub(3);
        listed.truncate(3);
        let mut routes = listed.join(", ");
        if more > 0 {
            routes.push_str(&format!(" and {more} more"));
        }
        let example = writes
            .iter()
            .find(|r| r.auth.is_some())
            .map(|r| {
                format!(
                    "`{} {}` requires `{}`",
                    r.methods.join(","),
                    r.path,
                    r.auth.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default();
        // Handlers that only answer (a dismissed banner kept in the session): nothing of
        // the service's data behind them, the pattern alone. Likewise admin views behind
        // the project's admin-guard middleware.
        let confidence = open
            .iter()
            .all(|r| demoted(r))
            .then_some(crate::checks::Confidence::Low);
        out.push(RepoHit {
            confidence,
            path: file.to_string(),
            at: located(&first.handler, first.line, first.span),
            vars: vec![
                ("routes", routes),
                ("authed", authed.to_string()),
                ("writes", writes.len().to_string()),
                ("example", example),
            ],
        });
    }
}

/// Auth that is a permission or role on top of the login (`PermissionsDependency([...])`,
/// `require_role("editor")`, `has_scope`), rather than the login itself.
static PERMISSION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)perm|role|scope|polic|privilege|can_|allowed|owner|admin|superuser|staff")
        .expect("static regex")
});

/// How the inventory composes a route: authenticated on every registration path (by its
/// own declaration, its router, or the registrations above it), and its full path.
struct Composed {
    authed: bool,
    auth: Option<String>,
    path: String,
}

/// AUTH001, over the route inventory: a route without auth on a router whose other routes
/// mostly declare it. Auth composed at registration (`include_router(..., dependencies=...)`,
/// a parent router's `dependencies`, a dependency from another file that takes the caller)
/// counts. A route that is authenticated by its registration but declares no permission
/// while the routes on the same object (reads included) all do is reported as a missing
/// permission.
pub fn route_missing_auth(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let files: Vec<(String, WebSummary)> = ctx
        .files
        .iter()
        .filter(|(rel, _, _)| rel.ends_with(".py"))
        .filter_map(|(rel, _, s)| s.web.clone().map(|w| (rel.clone(), w)))
        .collect();
    if files.is_empty() {
        return;
    }
    // The project index, built only when a route is to be judged: whether a public read's
    // handler relays data fetched over HTTP and touches nothing stored, whether a Django
    // view-shaped function is called by project code.
    let parts = index_parts(ctx);
    let index = std::cell::OnceCell::new();
    let handler = |rel: &str, r: &RouteInfo| {
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        super::relay_read::handler_at(ix, rel, r.span.0, &r.handler).map(|h| (ix, h))
    };
    let relays_only = |rel: &str, r: &RouteInfo| {
        handler(rel, r).is_some_and(|(ix, h)| super::relay_read::relays_only(ix, h))
    };
    // A view-shaped function that project code calls (`return render_report(request, obj)`
    // in the actions of a viewset).
    let called =
        |rel: &str, r: &RouteInfo| handler(rel, r).is_some_and(|(ix, h)| !ix.callers(h).is_empty());
    // A function view, or a class view all of whose method handlers do.
    let sets_preference_only = |rel: &str, r: &RouteInfo| {
        if let Some((ix, h)) = handler(rel, r) {
            return super::relay_read::sets_preference_only(ix, h);
        }
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        let methods = super::relay_read::class_view_methods(ix, rel, r.span.0, &r.handler);
        !methods.is_empty()
            && methods
                .iter()
                .all(|&h| super::relay_read::sets_preference_only(ix, h))
    };
    // A function view, or a class view all of whose method handlers do: `Some(true)` when
    // one of them looks the object of the path up first.
    let redirects_only = |rel: &str, r: &RouteInfo| -> Option<bool> {
        if let Some((ix, h)) = handler(rel, r) {
            return super::relay_read::redirects_only(ix, h);
        }
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        let methods = super::relay_read::class_view_methods(ix, rel, r.span.0, &r.handler);
        if methods.is_empty() {
            return None;
        }
        let mut looks_up = false;
        for &h in &methods {
            looks_up |= super::relay_read::redirects_only(ix, h)?;
        }
        Some(looks_up)
    };
    // A read that builds its page from constants only, or whose reads are all scoped by
    // the caller: a function view, or the methods of a class view.
    let view_fns = |rel: &str, r: &RouteInfo| -> Vec<usize> {
        if let Some((_, h)) = handler(rel, r) {
            return vec![h];
        }
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        super::relay_read::class_methods(ix, rel, r.span.0, &r.handler)
    };
    let nothing_private = |rel: &str, r: &RouteInfo| {
        let fns = view_fns(rel, r);
        let ix = index.get_or_init(|| crate::model::pyindex::ProjectIndex::build(&parts));
        let serving: Vec<usize> = fns
            .iter()
            .copied()
            .filter(|&g| {
                let n = ix.function(g).name.as_str();
                fns.len() == 1 || matches!(n, "get" | "head")
            })
            .collect();
        !serving.is_empty()
            && serving
                .iter()
                .all(|&g| super::relay_read::static_only(ix, g))
            || !fns.is_empty()
                && !r
                    .path_params
                    .iter()
                    .any(|p| crate::model::routes::is_id_param(&p.name))
                && super::relay_read::caller_scoped(ix, &fns)
    };
    // Paths the project lists as public in an allow-list of its auth code.
    let allow_listed: std::collections::HashSet<&str> = files
        .iter()
        .flat_map(|(_, w)| w.public_paths.iter().map(String::as_str))
        .collect();
    let mut composed: BTreeMap<(String, (usize, usize)), Composed> = BTreeMap::new();
    for r in inventory(&files).into_iter().filter(|r| !r.dev_only) {
        let c = composed
            .entry((r.file.clone(), r.span))
            .or_insert_with(|| Composed {
                authed: true,
                auth: None,
                path: r.path.clone(),
            });
        c.authed &= r.auth.is_some();
        if c.auth.is_none() {
            c.auth = r.auth.clone();
        }
    }
    for (rel, summary) in &files {
        let mut by_router: BTreeMap<&str, Vec<&RouteInfo>> = BTreeMap::new();
        for r in &summary.routes {
            if matches!(
                r.exempt.as_deref(),
                Some(
                    "websocket"
                        | "project default permissions"
                        | "public by design"
                        | "off by default"
                )
            ) {
                continue;
            }
            by_router.entry(r.router.as_str()).or_default().push(r);
        }
        for routes in by_router.values() {
            let mut seen = std::collections::HashSet::new();
            let considered: Vec<&RouteInfo> = routes
                .iter()
                .copied()
                .filter(|r| seen.insert(r.site))
                .collect();
            let view = |r: &RouteInfo| composed.get(&(rel.clone(), r.span));
            let composed_auth = |r: &RouteInfo| view(r).is_some_and(|c| c.authed);
            for r in &considered {
                if r.exempt.is_some() || r.auth.is_some() {
                    // Declared auth, or a check in the handler body.
                    continue;
                }
                let others = || considered.iter().filter(|s| s.site != r.site);
                // A Django view function that no URLconf names while its module's other
                // views are registered, or that other project functions call: a helper
                // the views call, not a route.
                if r.framework == "django"
                    && view(r).is_none()
                    && (others().any(|s| view(s).is_some()) || called(rel, r))
                {
                    continue;
                }
                if composed_auth(r) {
                    let siblings: Vec<&&RouteInfo> = others().collect();
                    out.extend(missing_permission(rel, r, &siblings, view(r)));
                    continue;
                }
                // Public reads next to authenticated writes are a common, deliberate
                // design: a read is compared with the other reads, a write with the other
                // writes or else with all siblings. Only declared or composed auth counts
                // for siblings: a 403 somewhere in a body is not a policy.
                let read_only = is_read_only(r);
                let same_kind: Vec<&&RouteInfo> =
                    others().filter(|s| is_read_only(s) == read_only).collect();
                let all: Vec<&&RouteInfo> = others().collect();
                let sibling_authed = |s: &RouteInfo| s.declared || composed_auth(s);
                let majority = |group: &[&&RouteInfo]| {
                    let authed = group.iter().filter(|s| sibling_authed(s)).count();
                    (authed >= 2 && authed * 2 > group.len()).then_some(authed)
                };
                let (siblings, authed) = match majority(&same_kind) {
                    Some(a) => (same_kind, a),
                    None if !read_only => match majority(&all) {
                        Some(a) => (all, a),
                        None => continue,
                    },
                    None => continue,
                };
                // A language or theme switch: sets a cookie and redirects, touching no
                // data of the service; public by design.
                if sets_preference_only(rel, r) {
                    continue;
                }
                // A public area by its full path (`/validate/...` of an authentication
                // API mounted under that prefix), a static page, or a read scoped by the
                // caller.
                let full = view(r).map_or(r.path.as_str(), |c| c.path.as_str());
                if crate::model::route_kinds::segments(full)
                    .any(|s| crate::model::route_kinds::PUBLIC_SEGMENT.is_match(s))
                    || read_only && nothing_private(rel, r)
                {
                    continue;
                }
                // A view that only redirects: to a page that checks its own access, built
                // at most from the object of the path, whose existence is all it tells.
                let redirect = redirects_only(rel, r);
                if redirect == Some(false) {
                    continue;
                }
                let example = siblings
                    .iter()
                    .find_map(|s| {
                        s.own_auth
                            .clone()
                            .filter(|_| s.declared)
                            .or_else(|| view(s).and_then(|c| c.auth.clone()))
                    })
                    .unwrap_or_else(|| "auth".to_string());
                let note = match &r.misplaced_auth {
                    Some(d) => {
                        let name = d.split('(').next().unwrap_or(d);
                        format!("; `@{name}` is above the route decorator, so it does not apply")
                    }
                    None => String::new(),
                };
                let mut found = hit(
                    rel,
                    r,
                    view(r).map(|c| c.path.clone()),
                    vec![
                        ("what", "auth".to_string()),
                        ("authed", authed.to_string()),
                        ("siblings", siblings.len().to_string()),
                        ("router", format!("`{}`", r.router)),
                        ("auth", example),
                        ("note", note),
                    ],
                );
                // A read that only relays public data fetched from elsewhere: no data of
                // this service behind it, the pattern alone.
                // A path the project's auth code lists as public on purpose
                // (`PUBLIC_PATHS = frozenset({"/", ...})`): a deliberate choice to review,
                // not a forgotten check.
                let listed = view(r).map_or_else(
                    || format!("{}{}", r.router_prefix, r.path),
                    |c| c.path.clone(),
                );
                if read_only && relays_only(rel, r)
                    || redirect == Some(true)
                    || allow_listed.contains(listed.as_str())
                {
                    found.confidence = Some(crate::checks::Confidence::Low);
                }
                out.push(found);
            }
        }
    }
}

/// A route registration located by its line and byte range.
fn located(handler: &str, line: usize, span: (usize, usize)) -> Located {
    Located {
        name: handler.to_string(),
        detail: String::new(),
        line,
        column: 1,
        end_line: line,
        end_column: 1,
        start: span.0,
        end: span.1,
    }
}

fn is_read_only(r: &RouteInfo) -> bool {
    r.methods
        .iter()
        .all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
}

fn hit(
    rel: &str,
    r: &RouteInfo,
    path: Option<String>,
    mut vars: Vec<(&'static str, String)>,
) -> RepoHit {
    let route = format!(
        "{} {}",
        r.methods.join(", "),
        path.unwrap_or_else(|| format!("{}{}", r.router_prefix, r.path))
    );
    vars.push(("route", route));
    vars.push(("handler", r.handler.clone()));
    RepoHit {
        confidence: None,
        path: rel.to_string(),
        at: located(&r.handler, r.line, r.span),
        vars,
    }
}

/// A route authenticated only by its registration, declaring no permission, while the
/// other routes on the same object (the same id path parameter) mostly declare one and
/// even the reads of that object do: any signed-in caller can act on an object it could
/// not otherwise view. A create on the collection or an object whose reads are open to
/// every member is a different policy on purpose, and is not reported.
fn missing_permission(
    rel: &str,
    r: &RouteInfo,
    others: &[&&RouteInfo],
    composed: Option<&Composed>,
) -> Option<RepoHit> {
    if r.own_auth.is_some() {
        return None;
    }
    let id = r
        .path_params
        .iter()
        .map(|p| p.name.as_str())
        .find(|n| crate::model::routes::is_id_param(n))?;
    let marker = format!("{{{id}}}");
    let object: Vec<&&RouteInfo> = others
        .iter()
        .copied()
        .filter(|s| s.path.contains(&marker))
        .collect();
    let permitted = |s: &RouteInfo| {
        s.own_auth
            .as_deref()
            .is_some_and(|a| PERMISSION.is_match(a))
    };
    let with: Vec<&&RouteInfo> = object.iter().copied().filter(|s| permitted(s)).collect();
    if with.len() < 2 || with.len() * 2 <= object.len() || !with.iter().any(|s| is_read_only(s)) {
        return None;
    }
    let example = with
        .iter()
        .find_map(|s| s.own_auth.clone())
        .unwrap_or_default();
    let login = composed
        .and_then(|c| c.auth.clone())
        .or_else(|| r.auth.clone())
        .unwrap_or_default();
    Some(hit(
        rel,
        r,
        composed.map(|c| c.path.clone()),
        vec![
            ("what", "permission".to_string()),
            ("authed", with.len().to_string()),
            ("siblings", object.len().to_string()),
            ("router", format!("the same `{{{id}}}`")),
            ("auth", example),
            (
                "note",
                format!(
                    "; it only requires the login (`{login}`), so any signed-in caller can use it"
                ),
            ),
        ],
    ))
}
