//! Auth-layer checks over the route inventory: a route without auth among authenticated
//! siblings (AUTH001) and admin-looking routes without any auth (AUTH002).

use crate::checks::{FileContext, Hit, Vet};
use crate::model::facts::python::{PyFacts, Route};
use crate::model::pyindex::ProjectIndex;
pub(crate) use crate::model::route_kinds::admin_path_segment;
use crate::model::route_kinds::{is_public, segments, snake};
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// A handler that answers 404 unless a setting or environment variable enables it: the
/// usual way to keep a debug endpoint out of production.
fn env_gated(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static GATE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)\b(settings\.\w*(debug|env|environment|testing|mode)\w*|config(\.get\(|\[)\s*["']\w*(debug|safe_mode|env|testing)\w*["']|os\.environ|getenv\()"#)
            .expect("static regex")
    });
    static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"abort\(\s*404|status_code\s*=\s*404|HTTP_404|HTTPException\(\s*404|NotFound\(")
            .expect("static regex")
    });
    let Some(f) = facts.functions.get(route.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    GATE.is_match(body) && NOT_FOUND.is_match(body)
}

/// An admin route that shows nothing of the service: its handler calls only URL, redirect
/// and template builders (an index page of links to the admin endpoints, a redirect from
/// `/admin` to `/admin/`), or it is the admin sign-in itself (it checks a password).
fn links_or_signs_in(facts: &PyFacts, route: &Route, src: &str) -> bool {
    static CALL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"([A-Za-z_][\w.]*)\s*\(").expect("static regex"));
    static LINK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:url_for|reverse|redirect|RedirectResponse|HttpResponseRedirect|HttpResponsePermanentRedirect|render_template|render|TemplateResponse|_|gettext|list|dict|str)$")
            .expect("static regex")
    });
    static SIGN_IN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:check_password_hash|check_password|verify_password|authenticate_user|login_user)\s*\(")
            .expect("static regex")
    });
    let Some(f) = facts.functions.get(route.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    if SIGN_IN.is_match(body) {
        return true;
    }
    let mut calls = CALL
        .captures_iter(body)
        .map(|c| c.get(1).map_or("", |m| m.as_str()));
    let mut any = false;
    calls.all(|c| {
        any = true;
        LINK.is_match(c.rsplit('.').next().unwrap_or(c))
    }) && any
}

fn admin_segment(route: &Route) -> Option<&str> {
    admin_path_segment(&route.path)
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
        if is_public(facts, r, &ctx.file.text)
            || env_gated(facts, r, &ctx.file.text)
            || links_or_signs_in(facts, r, &ctx.file.text)
        {
            // `/admin/login` is how admins get in; a debug route that 404s unless a
            // setting enables it is kept out of production on purpose; an index of links
            // or a redirect shows nothing, and a password form is the way in.
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

/// AUTH002's vet: the route's blueprint runs a `before_request` hook declared in another
/// module that enforces auth (`@realm_blueprint.before_request` over `@admin_required` in
/// the project's `before_after.py`): every route of that blueprint passes through it, so
/// the admin route is not open. The finding starts at the route decorator
/// (`@realm_blueprint.route(...)`), which names the blueprint.
pub fn admin_route_hooked(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    static ROUTER: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^@?\s*([A-Za-z_]\w*)\.\w+\s*\(").expect("static regex"));
    let Some(var) = text
        .get(at..)
        .and_then(|t| ROUTER.captures(t))
        .map(|c| c[1].to_string())
    else {
        return Vet::Keep;
    };
    let Some(module) = ix.files.iter().find(|f| f.path == path).map(|f| &f.module) else {
        return Vet::Keep;
    };
    let target = format!("{module}.{var}");
    // Absolute names are built from the repository path (`src.pkg.api.realm`), the
    // index's modules from the package root (`pkg.api.realm`): either may be longer.
    let same = |name: &str| {
        name == target
            || name.ends_with(&format!(".{target}"))
            || target.ends_with(&format!(".{name}"))
    };
    let hooked = ix
        .files
        .iter()
        .any(|f| f.path != path && f.part.router_hooks.iter().any(|(n, _)| same(n)));
    if hooked {
        Vet::Withdraw
    } else {
        Vet::Keep
    }
}

/// Owner/tenant fields: a file that names none has no notion of per-user data to check.
static OWNER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(user_id|owner_id|owner|created_by|author_id|author|account_id|tenant_id|org_id|organization_id|customer_id|team_id|workspace_id|creator_id|current_user|request\.user|g\.user)\b")
        .expect("static regex")
});

static PUBLIC_PAGE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(public|profiles?|public_\w+|\w+_public)$").expect("static regex")
});

/// Auth that grants access to everything (admins, staff): no per-object check expected.
static PRIVILEGED_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(admin|superuser|staff|internal|service|system|permission_required|PermissionRequired|DjangoModelPermissions)")
        .expect("static regex")
});

/// A class view behind Django's model permissions (`PermissionRequiredMixin` among its
/// bases, whichever mixin the route's auth names first, `LoginRequiredMixin` included):
/// a staff tool that may see every row.
fn model_permission_view(facts: &PyFacts, r: &Route) -> bool {
    r.class
        .and_then(|ci| facts.classes.get(ci))
        .is_some_and(|c| {
            c.bases.iter().any(|b| {
                let name = b.rsplit('.').next().unwrap_or(b);
                name == "PermissionRequiredMixin" || name == "DjangoModelPermissions"
            })
        })
}

/// A decorator that restricts the handler to administrators (`@admin_required` below the
/// login decorator): they may see everything.
static ADMIN_DECORATOR: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:^|\.)(?:(?:admin|superuser|staff)s?_(?:required|only)|requires?_(?:admin|superuser|staff)|is_(?:admin|superuser))$")
        .expect("static regex")
});

fn admin_decorated(facts: &PyFacts, r: &Route) -> bool {
    facts.functions.get(r.function).is_some_and(|f| {
        f.decorators
            .iter()
            .any(|d| ADMIN_DECORATOR.is_match(&d.callee))
    })
}

/// AUTH004: an authenticated route that loads a resource by an id from the path and never
/// checks that it belongs to the caller.
pub fn route_missing_ownership_check(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    if facts.routes.is_empty() {
        return;
    }
    let names_owner = OWNER_FIELD.is_match(src);
    // Functions of the file that compare or filter by an owner: the data here is per-user.
    let owner_aware: Vec<usize> = if names_owner {
        facts
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                crate::model::routes::checks_owner(src.get(f.body.0..f.body.1).unwrap_or(""))
            })
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    let mut seen = HashSet::new();
    let mut gaps_seen = HashSet::new();
    for r in &facts.routes {
        if !r.maybe_auth() || r.public || admin_segment(r).is_some() || seen.contains(&r.site()) {
            continue;
        }
        // A nested Django/DRF view whose scope to the parent in the URL is inconsistent
        // within this file: decided by the file itself, with or without owner fields.
        if let Some(gap) = r
            .class
            .filter(|_| {
                matches!(
                    r.framework,
                    crate::model::facts::python::Framework::Django
                        | crate::model::facts::python::Framework::Drf
                )
            })
            .and_then(|ci| crate::model::nested_scope::class_scope_gap(facts, src, ci))
        {
            let auth = r.auth.as_deref().or(r.body_auth.as_deref()).unwrap_or("");
            if PRIVILEGED_AUTH.is_match(auth)
                || admin_decorated(facts, r)
                || model_permission_view(facts, r)
            {
                continue;
            }
            if gaps_seen.insert((gap.start, gap.end)) {
                out.push(scope_gap_hit(r, facts, gap));
            }
            continue;
        }
        if !names_owner {
            continue;
        }
        // ...or whose other handlers hand the caller to the services that load the data.
        let passes_caller = || {
            facts.routes.iter().any(|o| {
                o.function != r.function
                    && facts
                        .functions
                        .get(o.function)
                        .is_some_and(|f| crate::model::routes::passes_caller(f, src))
            })
        };
        if !owner_aware.iter().any(|&i| i != r.function) && !passes_caller() {
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
        if PRIVILEGED_AUTH.is_match(auth)
            || admin_decorated(facts, r)
            || model_permission_view(facts, r)
        {
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
        if contact_form(facts, r, src) {
            continue;
        }
        let crate::model::routes::Ownership::No(start, end) =
            crate::model::routes::ownership(facts, src, r)
        else {
            continue;
        };
        // A look-up in an in-process store that a collection route of the module lists
        // in full to its callers: the id selects nothing they cannot already see.
        if listed_by_sibling(facts, r, src, start, end) {
            continue;
        }
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
        // Loaded through the controller (`self.repos.items.get_one(id)`) of a class-based
        // view whose base carries the caller: its repositories are often scoped by it in
        // code this file does not show.
        let through_self = src.get(start..end).is_some_and(|t| t.contains("self."))
            && facts
                .functions
                .get(r.function)
                .is_some_and(|f| f.class.is_some());
        if through_self && r.framework == crate::model::facts::python::Framework::FastApi {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        // The id only goes to a helper of another file that is not named as its loader
        // (`get_download_link(book_id)`): the pattern alone; the project index follows it.
        let ids = crate::model::routes::id_params(r);
        if src
            .get(start..end)
            .is_some_and(|t| crate::model::routes::opaque_load(facts, t, &ids))
        {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        // A read that answers only the names of the object and of its related rows (a graph
        // of labels): nothing but what lists of those rows commonly show everyone.
        if names_only(facts, r, src, start, end) {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
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

/// Words that name the caller or an owner: a store made with one, or a listing that
/// mentions one, may be narrowed to someone.
static NAMES_CALLER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:current_user|request\.user|g\.user|user|users|user_id|owner\w*|caller|principal|tenant\w*|account_id|org_id|team_id|member\w*)\b")
        .expect("static regex")
});

/// What `var` is made from in `body`: `var = Maker(args)` (`engine = IncidentEngine()`,
/// `graph = get_graph()`), the maker's dotted name, when the arguments name no caller.
fn made_by<'s>(body: &'s str, var: &str) -> Option<&'s str> {
    let made = re::new(&format!(
        r"(?m)^[ \t]*{}[ \t]*=[ \t]*(?:await[ \t]+)?([A-Za-z_][\w.]*)\(([^()\n]*)\)[ \t]*(?:#.*)?$",
        regex::escape(var)
    ))
    .ok()?;
    let c = made.captures(body)?;
    let maker = c.get(1)?.as_str();
    (!NAMES_CALLER.is_match(&c[2])).then_some(maker)
}

/// A look-up by id through an in-process store the handler makes without the caller
/// (`engine = IncidentEngine()` then `incident = engine.get_incident(incident_id)`, `graph =
/// get_graph()` then `graph.get_component(component_id)`) while a read route of the same
/// module without path parameters makes the same store the same way and lists it
/// (`for c in graph.components`, `engine.list_incidents()`) without naming a user, an owner
/// or the caller: a shared catalog, a built-in list or one process-wide model, whose every
/// entry the module already shows to its callers. A write handler that stores anything, a
/// store made with the caller and a listing narrowed by one keep the finding.
fn listed_by_sibling(facts: &PyFacts, r: &Route, src: &str, start: usize, end: usize) -> bool {
    static RECEIVER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^\s*(?:[A-Za-z_]\w*\s*=\s*)?(?:await\s+)?([A-Za-z_]\w*)\.\w+\(")
            .expect("static regex")
    });
    static STORES: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:commit|save\w*|delete\w*|update\w*|insert\w*|bulk_\w+|write\w*)\(|\.(?:add|remove)\(")
            .expect("static regex")
    });
    let body_of = |fi: usize| {
        facts
            .functions
            .get(fi)
            .and_then(|f| src.get(f.body.0..f.body.1))
            .unwrap_or("")
    };
    let Some(f) = facts.functions.get(r.function) else {
        return false;
    };
    if !(f.body.0..f.body.1).contains(&start) {
        return false;
    }
    let Some(recv) = src
        .get(start..end)
        .and_then(|t| RECEIVER.captures(t))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
    else {
        return false;
    };
    let body = body_of(r.function);
    let Some(maker) = made_by(body, recv) else {
        return false;
    };
    if !r.is_read_only() && STORES.is_match(body) {
        return false;
    }
    facts.routes.iter().any(|o| {
        if o.function == r.function || !o.is_read_only() || !o.path_params().is_empty() {
            return false;
        }
        let listing = body_of(o.function);
        if NAMES_CALLER.is_match(listing) || crate::model::routes::checks_owner(listing) {
            return false;
        }
        let made = re::new(&format!(
            r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*=[ \t]*(?:await[ \t]+)?{}\(",
            regex::escape(maker)
        ));
        let Ok(made) = made else {
            return false;
        };
        let lists = made.captures_iter(listing).any(|c| {
            let v = regex::escape(&c[1]);
            re::new(&format!(
                r"\bin\s+(?:sorted\(|list\()?{v}\.|\b{v}\.(?:list|all|search|iter)\w*\("
            ))
            .is_ok_and(|lists| lists.is_match(listing))
        });
        lists
    })
}

/// A contact form (`POST /groups/<id>/contact-organizer`, `contact_seller`): the handler
/// messages the people behind a resource and stores nothing; the resource itself is neither
/// shown nor changed.
fn contact_form(facts: &PyFacts, r: &Route, src: &str) -> bool {
    static STORES: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:commit|save\w*|delete\w*|update|bulk_\w+)\(|\.(?:add|remove)\(")
            .expect("static regex")
    });
    let named = segments(&r.path).any(|s| s.to_ascii_lowercase().starts_with("contact"))
        || snake(handler_name(facts, r)).starts_with("contact_");
    named
        && facts
            .functions
            .get(r.function)
            .is_some_and(|f| !STORES.is_match(src.get(f.body.0..f.body.1).unwrap_or("")))
}

/// A read-only handler whose answer, past the load at `start..end`, reads no attribute but a
/// name (`dict(name=authority.name, children=[{"name": c.name} for c in
/// authority.certificates])`): the labels of the object and of its related rows, which the
/// collection pages commonly show to every user. Weaker evidence of a leak: low confidence.
/// A load in a helper of the file (`_fetch_account(account_id)`) is followed from the
/// handler's `x = _fetch_account(...)`; dictionary reads (`x.get("login")`, `x["name"]`) are
/// attribute reads, and a sub-object taken from the loaded one (`owner = x.get("owner") or
/// {}`) may be read for its labels too (`owner.get("login")`, `owner.get("type")`).
fn names_only(facts: &PyFacts, r: &Route, src: &str, start: usize, end: usize) -> bool {
    static ATTR: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(\s*\()?").expect("static regex")
    });
    static LABEL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:name|title|label|display_name|login|username|type|kind)$")
            .expect("static regex")
    });
    static DICT_READ: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"\.get\(\s*["']([A-Za-z_]\w*)["'][^()]*\)|\[\s*["']([A-Za-z_]\w*)["']\s*\]"#)
            .expect("static regex")
    });
    if !r.is_read_only() {
        return false;
    }
    let Some(f) = facts.functions.get(r.function) else {
        return false;
    };
    // The loaded name and the handler's code after it.
    let (var, after) = if (f.body.0..f.body.1).contains(&start) {
        match crate::model::routes::loaded_name(src, start, end) {
            Some(v) => (v.to_string(), end),
            None => return false,
        }
    } else {
        let Some(helper) = facts
            .functions
            .iter()
            .find(|h| h.class.is_none() && (h.body.0..h.body.1).contains(&start))
        else {
            return false;
        };
        let body = src.get(f.body.0..f.body.1).unwrap_or("");
        let Ok(call) = re::new(&format!(
            r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*=[ \t]*(?:await[ \t]+)?{}\(.*$",
            regex::escape(&helper.name)
        )) else {
            return false;
        };
        match call.captures(body) {
            Some(c) => (c[1].to_string(), f.body.0 + c.get(0).map_or(0, |m| m.end())),
            None => return false,
        }
    };
    let rest = DICT_READ
        .replace_all(
            src.get(after..f.body.1).unwrap_or(""),
            |c: &regex::Captures<'_>| {
                format!(".{}", c.get(1).or(c.get(2)).map_or("", |m| m.as_str()))
            },
        )
        .into_owned();
    if !rest.contains("return") {
        return false;
    }
    // Sub-objects taken from the loaded one: read for their labels only.
    let mut walked: Vec<String> = Vec::new();
    let mut labels = 0;
    for c in ATTR.captures_iter(&rest) {
        let (obj, attr, call) = (&c[1], &c[2], c.get(3).is_some());
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let assigned_to = rest[..whole.start]
            .rsplit('\n')
            .next()
            .and_then(|l| l.trim().strip_suffix('='))
            .map(str::trim)
            .filter(|w| !w.is_empty() && w.chars().all(|ch| ch.is_alphanumeric() || ch == '_'));
        if LABEL.is_match(attr) && !call {
            labels += 1;
        } else if obj == var && !call && rest.contains(&format!("in {var}.{attr}")) {
            // A relation walked only to name its rows is fine.
        } else if let (true, false, Some(w)) = (obj == var, call, assigned_to) {
            walked.push(w.to_string());
        } else {
            return false;
        }
    }
    // A walked sub-object is used only for its attributes (never handed on whole).
    let bare = |w: &str| {
        rest.match_indices(w).any(|(i, _)| {
            let before = rest[..i].chars().next_back();
            let after = rest[i + w.len()..].trim_start_matches([' ', '\t']);
            let ident = |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
            !ident(before)
                && !ident(after.chars().next())
                && before != Some('.')
                && !after.starts_with('.')
                && (!after.starts_with('=') || after.starts_with("=="))
        })
    };
    labels > 0 && !walked.iter().any(|w| bare(w))
}

/// AUTH004 for a nested view whose scope to the parent named in the URL is inconsistent in
/// its file (`model::nested_scope`).
fn scope_gap_hit(r: &Route, facts: &PyFacts, gap: crate::model::nested_scope::ScopeGap) -> Hit {
    let auth = r
        .auth
        .as_deref()
        .or(r.body_auth.as_deref())
        .unwrap_or("the project's default permission classes")
        .to_string();
    let mut hit = Hit::new(gap.start, gap.end)
        .var("route", r.describe())
        .var("handler", handler_name(facts, r))
        .var("param", gap.kwarg.clone())
        .var("auth", auth.clone());
    hit.trace = vec![
        (
            r.decorator_start,
            r.decorator_end,
            format!(
                "`{}` comes from the URL; the caller is authenticated by `{auth}`",
                gap.kwarg
            ),
        ),
        (gap.start, gap.end, gap.note),
    ];
    hit
}

/// Routes an attacker hammers: credential checks, token issuance, account creation,
/// password reset and one-time codes.
static SENSITIVE_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
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
    re::new(r"(?i)(^|_)(login|signin|sign_in|signup|sign_up|register|authenticate|token|reset_password|password_reset|forgot_password|recover_password|verify_otp|verify_code|otp|mfa|totp|magic_link)(_|$)")
        .expect("static regex")
});
/// A route AUTH005 judges as a credential endpoint, by path segment or handler name.
pub(super) fn credential_route(path: &str, handler: &str) -> bool {
    segments(path).any(|s| SENSITIVE_SEGMENT.is_match(s)) || SENSITIVE_HANDLER.is_match(handler)
}

/// The file rate-limits some routes itself (a decorator on a route, a limiter object).
static LIMITER_USE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?m)^\s*@\s*[\w.]*(limiter|rate_?limit|ratelimit|throttle)\w*[\w.]*\s*(\(|$)")
        .expect("static regex")
});
/// Limits applied to every route of the app or a blueprint at once.
static GLOBAL_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\bdefault_limits\s*=|\bapplication_limits\s*=|\blimiter\.limit\([^)]*\)\(\s*\w+\s*\)|SlowAPIMiddleware|\bRateLimitMiddleware\b")
        .expect("static regex")
});

/// A "send me the verification email again" route for the signed-in user: it takes no code
/// or token (no such parameter, no request data read) and mails the caller's own address,
/// so there is nothing to guess and nobody else to flood.
/// A parameter that carries a secret the route checks.
static SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)token|code|otp|pin|password|secret|key|signature").expect("static regex")
});
/// The handler reads the request's data itself.
static READS_INPUT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\brequest\.(form|json|args|values|data|get_json|POST|GET|body|query_params)\b")
        .expect("static regex")
});

fn resends_own_verification(facts: &PyFacts, r: &Route, src: &str, what: &str) -> bool {
    static SENDS: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)^/?(verification|resend)").expect("static regex"));
    static OWN_USER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bcurrent_user\b|\brequest\.user\b|\bg\.user\b").expect("static regex")
    });
    if !SENDS.is_match(what) {
        return false;
    }
    let Some(f) = facts.functions.get(r.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    let user_param = f.params.iter().any(|p| {
        [&p.default, &p.annotation]
            .into_iter()
            .flatten()
            .any(|t| t.contains("current_user") || t.contains("CurrentUser"))
    });
    !f.params.iter().any(|p| SECRET_PARAM.is_match(&p.name))
        && !READS_INPUT.is_match(body)
        && (OWN_USER.is_match(body) || user_param)
}

/// A route that takes no secret at all: no secret-named parameter, no request data read in
/// the handler and no credential named in it, and either signed-in callers only (a token
/// refresh or logout behind `@jwt_required`) or matched only as a `/verify...` or
/// `/token` step (`/orders/<id>/verify` re-reading a payment's status). Nothing there can be
/// guessed, so a limit protects nothing.
fn takes_no_secret(facts: &PyFacts, r: &Route, src: &str, what: &str) -> bool {
    static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)password|passwd|otp|totp|\bcode\b|\bpin\b|credential|authenticate|check_\w+|verify_\w+")
            .expect("static regex")
    });
    let Some(f) = facts.functions.get(r.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    let weak_word = {
        let w = what.trim_start_matches('/').to_ascii_lowercase();
        w.starts_with("verify") || w == "token" || w.starts_with("refresh")
    };
    // Every parameter is a path part with no secret in its name, the request, or the
    // signed-in user (a FastAPI body or form parameter is input).
    let path_params = r.path_params();
    let plain = |p: &crate::model::facts::python::Param| {
        matches!(p.name.as_str(), "self" | "request" | "cls")
            || path_params.iter().any(|q| q.name == p.name) && !SECRET_PARAM.is_match(&p.name)
            || p.default
                .as_deref()
                .is_some_and(|d| d.contains("Depends(") && d.to_ascii_lowercase().contains("user"))
    };
    (r.auth.is_some() || weak_word)
        && f.params.iter().all(plain)
        && !path_params.iter().any(|p| SECRET_PARAM.is_match(&p.name))
        && !READS_INPUT.is_match(body)
        && !CREDENTIAL.is_match(body)
}

/// A social sign-in through an outside provider (`/oauth/login/<provider>`): the code or
/// token the caller brings is checked by the provider, which limits its own attempts.
fn social_login(r: &Route) -> bool {
    static SOCIAL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)^(oauth2?|social|sso)$").expect("static regex"));
    segments(&r.path).any(|s| SOCIAL.is_match(s))
        && r.path_params()
            .iter()
            .any(|p| matches!(p.name.as_str(), "provider" | "backend" | "provider_name"))
}

/// Signed, time-limited tokens: itsdangerous serializers and their exceptions, Django's
/// `signing` module.
static SIGNED_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(itsdangerous|BadSignature|SignatureExpired|BadTimeSignature|URLSafe(?:Timed)?Serializer|TimestampSigner|signing\.loads|django\.core\.signing)\b")
        .expect("static regex")
});

/// A limiter the project wrote itself, called inside views: `TokenBucket.authorize_login(..)`,
/// `RateLimiter(...).hit(..)`, `ratelimit.check(..)`.
static OWN_LIMITER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"\b(\w*TokenBucket|\w*RateLimiter|\w*Throttle[rd]?|ratelimit|rate_limiter)\s*(\(|\.\w+\()",
    )
    .expect("static regex")
});

/// Django function views (`def login_totp(request):`, routed from `urls.py`) in a file that
/// calls its own limiter in some views: a credential view that never calls it.
/// A body or decorator that calls a limiter.
static LIMITED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)TokenBucket|rate_?limit|throttle|limiter").expect("static regex")
});

/// Views that take a one-time second-factor code.
static OTP_VIEW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(^|_)(totp|otp|mfa|2fa|two_factor)(_|$)").expect("static regex")
});

fn django_views_without_limit(facts: &PyFacts, src: &str, out: &mut Vec<Hit>) {
    let routed: HashSet<usize> = facts.routes.iter().map(|r| r.function).collect();
    for (fi, f) in facts.functions.iter().enumerate() {
        if f.class.is_some()
            || routed.contains(&fi)
            || f.params.first().is_none_or(|p| p.name != "request")
            || !SENSITIVE_HANDLER.is_match(&f.name)
        {
            continue;
        }
        let body = src.get(f.body.0..f.body.1).unwrap_or("");
        // A view that only renders a form, or that is limited by a decorator or in its body.
        let posts = body.contains("POST") || body.contains("request.method");
        if !posts
            || LIMITED.is_match(body)
            || f.decorators.iter().any(|d| LIMITED.is_match(&d.text))
        {
            continue;
        }
        let end = src[f.start..]
            .find(f.name.as_str())
            .map_or(f.start + 3, |i| f.start + i + f.name.len());
        let hit = Hit::new(f.start, end)
            .var("route", format!("view `{}`", f.name))
            .var("handler", f.name.clone())
            .var("what", f.name.clone());
        // The limiter may be called in a form or helper this file does not show; but a
        // second-factor code entered before sign-in (no login decorator) is a short secret
        // the file's own limiter plainly does not guard.
        let signed_in = f
            .decorators
            .iter()
            .any(|d| d.text.contains("login_required") || d.text.contains("sudo"));
        out.push(if OTP_VIEW.is_match(&f.name) && !signed_in {
            hit
        } else {
            hit.confidence(crate::checks::Confidence::Low)
        });
    }
}

/// A credential route where a limit guards little, each weaker evidence of a brute-force
/// target (low confidence):
/// - a signed-in step that re-checks the caller's own password (`/fresh-login`,
///   `/verify-password` behind `@jwt_required`, naming `current_user`): only whoever already
///   holds a session can guess, against one account; a one-time code is still a target;
/// - a "send the verification mail again" route that checks nothing the caller sends (no
///   password, code or token verified): nothing to guess, only mail to send;
/// - a step that finds the row by a token from the request (`filter_by(reset_password=token)`)
///   and checks no password: the token's strength lies in how it is made (SEC034 reports a
///   weak generator), and a random token cannot be guessed online.
fn weak_guess_target(facts: &PyFacts, r: &Route, src: &str, what: &str) -> bool {
    static CALLER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bcurrent_user\b|\brequest\.user\b|\bg\.user\b").expect("static regex")
    });
    static CODE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)otp|totp|mfa|2fa|two_factor|\bcode\b|\bpin\b").expect("static regex")
    });
    static CHECKS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)password|passwd|otp|totp|\bcode\b|\bpin\b|credential|authenticate|check_\w+|verify_\w+|\.loads\(")
            .expect("static regex")
    });
    static TOKEN_LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:filter_by|filter|get|get_or_404|one|first)\(\s*(?:[\w.]+\s*==?\s*)?\w*token\w*\s*[,)]|\.(?:filter_by|filter|get)\([^()]*\w+\s*=\s*\w*token\w*\s*[,)]")
            .expect("static regex")
    });
    static PASSWORD_CHECK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"check_password|verify_password|is_correct_password|authenticate\(|compare_digest")
            .expect("static regex")
    });
    let Some(f) = facts.functions.get(r.function) else {
        return false;
    };
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    let handler = handler_name(facts, r);
    let code = CODE.is_match(what) || CODE.is_match(handler) || OTP_VIEW.is_match(handler);
    let own_password = r.auth.is_some() && !code && CALLER.is_match(body) && !CODE.is_match(body);
    let resend = {
        let w = what.trim_start_matches('/').to_ascii_lowercase();
        (w.starts_with("resend")
            || w.starts_with("verification")
            || segments(&r.path).any(|s| s.to_ascii_lowercase().starts_with("resend"))
            || snake(handler).starts_with("resend"))
            && !CHECKS.is_match(body)
    };
    let by_token = !code && TOKEN_LOOKUP.is_match(body) && !PASSWORD_CHECK.is_match(body);
    own_password || resend || by_token
}

/// AUTH005: the file rate-limits routes, but a login/token/signup/reset/OTP route is not.
pub fn sensitive_route_without_rate_limit(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let own_limiter = OWN_LIMITER.is_match(src);
    let decorated = facts.routes.iter().any(|r| r.rate_limit.is_some())
        || facts.imports_package("slowapi")
        || facts.imports_package("flask_limiter")
        || LIMITER_USE.is_match(src);
    let uses_limiter = decorated || own_limiter;
    if !uses_limiter || GLOBAL_LIMIT.is_match(src) {
        return;
    }
    if own_limiter {
        django_views_without_limit(facts, src, out);
    }
    let signed_token_file = SIGNED_TOKEN.is_match(src);
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
        if resends_own_verification(facts, r, src, &what)
            || takes_no_secret(facts, r, src, &what)
            || social_login(r)
        {
            continue;
        }
        // The project's own limiter called in the handler body.
        if own_limiter
            && facts
                .functions
                .get(r.function)
                .is_some_and(|f| LIMITED.is_match(src.get(f.body.0..f.body.1).unwrap_or("")))
        {
            continue;
        }
        // A token from the path that the server signed (itsdangerous, Django signing):
        // a forged one fails the signature check, there is nothing to guess.
        if signed_token_file
            && r.path_params()
                .iter()
                .any(|p| p.name.to_ascii_lowercase().contains("token"))
        {
            continue;
        }
        let weak = weak_guess_target(facts, r, src, &what);
        let mut hit = Hit::new(r.decorator_start, r.decorator_end)
            .var("route", r.describe())
            .var("handler", handler)
            .var("what", what);
        // Only a limiter called inside some views: it may as well be called in a form or a
        // helper this file does not show; but a second-factor code entered before sign-in
        // (no auth on the route) is a short secret that plainly needs its own limit.
        let unguarded_code = OTP_VIEW.is_match(handler) && r.auth.is_none();
        if !(decorated || unguarded_code) || weak {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        out.push(hit);
    }
}
