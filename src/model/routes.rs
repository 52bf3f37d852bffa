//! Route inventory: every web route of a repository with its full path, auth, rate limit
//! and ownership check, for `strata routes`.
//!
//! Each web file contributes a [`WebSummary`] (one parse, cached in
//! [`crate::model::summary::FileSummary`]): Python files from their [`PyFacts`] ([`web_summary`]),
//! Rust files from their [`RustFacts`] ([`rust_web_summary`]). [`inventory`] then composes
//! the prefixes and auth of registrations across files (`include_router`,
//! `register_blueprint`, axum `nest`/`merge`, actix `scope`/`configure`/`service`).

use crate::model::facts::python::{Framework, PyFacts, PyFunction, Route};
use crate::model::facts::rust::{ExtractorKind, RustFacts, RustHandler, RustRoute};
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What one Python file declares about web routes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSummary {
    pub routes: Vec<RouteInfo>,
    pub mounts: Vec<MountInfo>,
    /// Imports that name a registered router (`orders` -> `app.routers.orders`), with
    /// relative imports already resolved against the file's package.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub imports: BTreeMap<String, String>,
    /// Routers of the file with router-wide auth, and that auth.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub router_auth: BTreeMap<String, String>,
    /// URL registrations of views defined elsewhere (Django `urlpatterns`, DRF routers,
    /// flask-restful `add_resource`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<UrlInfo>,
    /// Module of the file (`shop/urls.py` -> `shop.urls`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub module: String,
    /// `REST_FRAMEWORK = {...}` defaults of a Django settings module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drf_settings: Option<DrfSettings>,
    /// Routers of the file built with a prefix (`APIRouter(prefix="/{organization}")`):
    /// routers registered on them are served below it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub router_prefixes: BTreeMap<String, String>,
    /// Module-level functions of the file that take the authenticated caller as a
    /// dependency (`def check_builder(user = Depends(check_user_exists))`): a route in
    /// another file that depends on one is authenticated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_providers: Vec<String>,
    /// Classes of the file that carry auth for the routes of their subclasses (a class
    /// attribute injected with an auth dependency), or that derive from other classes:
    /// class name -> (auth, absolute base names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, (Option<String>, Vec<String>)>,
    /// String defaults of a pydantic `BaseSettings` class (`API_V1_STR: str = "/api/v1"`),
    /// so that a registration prefix read from a setting resolves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
    /// Blueprints of other modules, by absolute dotted name (`pkg.api.system.system_blueprint`),
    /// whose `before_request` hook in this file enforces auth, with that hook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooked_routers: Vec<(String, String)>,
    /// Django middleware classes of the file, by absolute dotted name, that turn away
    /// callers without admin rights from one part of the site (a URL namespace or path
    /// prefix): see [`admin_guard_middleware`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_guards: Vec<String>,
    /// Django middleware classes of the file, by absolute dotted name, that send anonymous
    /// callers of one part of the site to the login page, with the path areas they guard
    /// (`orga` for `/orga/...`): see [`login_area_middleware`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login_areas: Vec<(String, Vec<String>)>,
    /// Paths the file lists as public in a module-level allow-list
    /// (`PUBLIC_PATHS = frozenset({"/", "/docs"})`): see [`public_allow_list`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_paths: Vec<String>,
}

/// The paths of a module-level allow-list of public endpoints (`PUBLIC_PATHS =
/// frozenset({"/", "/api/health"})`, `ANONYMOUS_ROUTES = [...]`, `AUTH_EXEMPT_PATHS`): the
/// string literals starting with `/` between the brackets of the assignment, comments left
/// out. The project declares those routes open on purpose.
pub fn public_allow_list(text: &str) -> Vec<String> {
    static LIST: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^[A-Z_]*(?:PUBLIC|ANONYMOUS|UNAUTHENTICATED|NO_AUTH|AUTH_EXEMPT|OPEN)[A-Z_]*(?:PATHS|ROUTES|URLS|ENDPOINTS)[ \t]*(?::[^=\n]*)?=[ \t]*(?:frozenset|set|tuple|list)?\(?[ \t]*[\[{(]")
            .expect("static regex")
    });
    static PATH: LazyLock<Regex> =
        LazyLock::new(|| re::new(r#"["'](/[^"'\s]*)["']"#).expect("static regex"));
    let mut out = Vec::new();
    for m in LIST.find_iter(text) {
        let mut depth = 0usize;
        let mut inner = String::new();
        for line in text[m.end() - 1..].lines() {
            let code = line.split_once('#').map_or(line, |(c, _)| c);
            let mut closed = false;
            for ch in code.chars() {
                match ch {
                    '[' | '{' | '(' => depth += 1,
                    ']' | '}' | ')' => {
                        depth = depth.saturating_sub(1);
                        closed = depth == 0;
                    }
                    _ => {}
                }
                if closed {
                    break;
                }
            }
            inner.push_str(code);
            inner.push('\n');
            if closed {
                break;
            }
        }
        out.extend(PATH.captures_iter(&inner).map(|c| c[1].to_string()));
    }
    out
}

/// Upper-case string fields of the file's pydantic settings classes, with their defaults.
fn settings_defaults(facts: &PyFacts) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in &facts.classes {
        if !c.bases.iter().any(|b| b.ends_with("BaseSettings")) {
            continue;
        }
        for a in &c.attrs {
            let v = a.value.trim();
            let quoted = v.len() >= 2
                && (v.starts_with('"') && v.ends_with('"')
                    || v.starts_with('\'') && v.ends_with('\''));
            if quoted
                && a.name
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
            {
                out.insert(a.name.clone(), v[1..v.len() - 1].to_string());
            }
        }
    }
    out
}

/// One URL registration: `path("orders/", include("orders.urls"))`,
/// `path("<int:pk>/", views.detail)`, `router.register("orders", OrderViewSet)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlInfo {
    /// The list or router it belongs to (`urlpatterns`, `router`).
    pub list: String,
    pub pattern: String,
    /// Names another list (`include(...)`) rather than a view.
    pub include: bool,
    /// A router registration: the view's own list/detail paths follow the pattern.
    pub append: bool,
    /// Absolute module and name of the target.
    pub module: String,
    pub name: String,
    pub line: usize,
}

/// Django project defaults: DRF's `REST_FRAMEWORK = {...}` and a login-enforcing entry of
/// `MIDDLEWARE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrfSettings {
    pub permission: Option<String>,
    pub throttle: Option<String>,
    /// A middleware that sends every anonymous request to the login page
    /// (`LoginRequiredMiddleware`, a project's `CheckLoginMiddleware`).
    #[serde(default)]
    pub login_middleware: Option<String>,
    /// Every entry of `MIDDLEWARE`, dotted as written
    /// (`misago.admin.middleware.AdminAuthMiddleware`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middleware: Vec<String>,
}

/// Reads `DEFAULT_PERMISSION_CLASSES`/`DEFAULT_THROTTLE_CLASSES` and the login-enforcing
/// `MIDDLEWARE` entry of a settings file's text.
pub fn drf_settings(text: &str) -> Option<DrfSettings> {
    static KEY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"["'](DEFAULT_PERMISSION_CLASSES|DEFAULT_THROTTLE_CLASSES)["']\s*:\s*[\[(]([^\])]*)[\])]"#)
            .expect("static regex")
    });
    static MIDDLEWARE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?m)^MIDDLEWARE\s*=\s*[\[(]([^\])]*)[\])]"#).expect("static regex")
    });
    // Django's `AuthenticationMiddleware` only identifies the caller; these turn anonymous
    // callers away.
    static LOGIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^\w*(login|auth\w*)_?required\w*middleware$|^(check|require|force|enforce)_?(login|auth)\w*middleware$")
            .expect("static regex")
    });
    // `MIDDLEWARE = DJANGO_MIDDLEWARE_CLASSES`: the list is bound under another name first.
    static ALIAS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^MIDDLEWARE\s*=\s*([A-Za-z_]\w*)\s*$").expect("static regex")
    });
    let aliased = || {
        let name = ALIAS.captures(text)?.get(1)?.as_str();
        re::new(&format!(r"(?m)^{name}\s*=\s*[\[(]([^\])]*)[\])]"))
            .ok()?
            .captures(text)
    };
    let mut out = DrfSettings::default();
    let entries = |list: &str| -> Vec<String> {
        list.lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .map(|x| x.trim_matches(['"', '\'']))
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    if let Some(c) = MIDDLEWARE.captures(text).or_else(aliased) {
        out.login_middleware = entries(&c[1])
            .iter()
            .map(|x| x.rsplit('.').next().unwrap_or(x))
            .find(|x| LOGIN.is_match(x))
            .map(str::to_string);
    }
    // Every middleware list of the settings, also one a project composes into its own
    // (`MIDDLEWARE = [...] + MISAGO_MIDDLEWARE`).
    static LISTS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?m)^[A-Z_]*MIDDLEWARE(?:_CLASSES)?\s*=\s*(?:\(?\s*\[([^\]]*)\]|\(([^)\[]*)\))"#)
            .expect("static regex")
    });
    out.middleware = LISTS
        .captures_iter(text)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .flat_map(|m| entries(m.as_str()))
        .collect();
    let i = text.find("REST_FRAMEWORK").unwrap_or(text.len());
    for c in KEY.captures_iter(&text[i..]) {
        let classes: Vec<&str> = c[2]
            .split(',')
            .map(|x| x.trim().trim_matches(['"', '\'']))
            .filter(|x| !x.is_empty() && !x.starts_with('#'))
            .map(|x| x.rsplit('.').next().unwrap_or(x))
            .collect();
        let v = classes.join(", ");
        match &c[1] {
            "DEFAULT_PERMISSION_CLASSES" => out.permission.get_or_insert(v),
            _ => out.throttle.get_or_insert(v),
        };
    }
    (out != DrfSettings::default()).then_some(out)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    pub framework: String,
    pub methods: Vec<String>,
    /// Router variable the route is declared on.
    pub router: String,
    /// The router's own prefix.
    pub router_prefix: String,
    /// The decorator's path.
    pub path: String,
    pub handler: String,
    pub line: usize,
    /// Byte range of the registration (decorator, `.route(..)` call) in the file.
    #[serde(default)]
    pub span: (usize, usize),
    pub path_params: Vec<PathParamInfo>,
    pub pagination: Vec<PageInfo>,
    pub auth: Option<String>,
    pub rate_limit: Option<String>,
    /// `yes`, `no` or `n.a.` (no id path parameter, or nothing loaded by it).
    pub ownership: String,
    /// Name URL registrations in other files use for the view (Django, DRF,
    /// flask-restful); the route is listed once per registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// DRF view relying on the project's `DEFAULT_PERMISSION_CLASSES`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_auth: bool,
    /// DRF view relying on the project's `DEFAULT_THROTTLE_CLASSES`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_throttle: bool,
    /// Declared public (`AllowAny`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// Auth the route declares itself (decorator, parameter, `dependencies=`), without
    /// its router's and without a check in the handler body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_auth: Option<String>,
    /// Declared auth, the route's own or its router's in this file (no body check).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
    /// Why the route-missing-auth comparison leaves the route out (public by design,
    /// WebSocket, administrative, ...), see [`crate::model::route_kinds::auth_exempt`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
    /// A Flask auth decorator written above the route decorator (so it does not apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misplaced_auth: Option<String>,
    /// Where the route is declared (one function registered under several paths, the
    /// methods of one class view): see [`Route::site`].
    #[serde(default)]
    pub site: (usize, usize),
    /// Absolute names of the bases of a class-based controller whose auth is not known in
    /// this file (`mealie.routes._base.BaseCrudController`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_bases: Vec<String>,
    /// Dependencies of a route without recognised auth, as absolute dotted names
    /// (`app.deps.check_builder`): one defined in another file may check the caller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<String>,
    /// The handler only computes its answer from the request (fixed numbers, a score of the
    /// posted body): see [`crate::model::route_kinds::computes_only`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub computes_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathParamInfo {
    pub name: String,
    /// The handler's annotation, else the path converter, else `None`.
    #[serde(rename = "type")]
    pub ty: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    pub name: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountInfo {
    pub parent: String,
    pub child: String,
    pub prefix: Option<String>,
    pub auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    pub line: usize,
    /// Registered only under a condition that names a development or test environment
    /// (`if settings.ENVIRONMENT == "local": app.include_router(...)`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev_only: bool,
}

/// Whether a handler that loads a resource by an id from the path checks the caller owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    Yes,
    /// Loaded by the id at this byte range, and never checked.
    No(usize, usize),
    NotApplicable,
}

impl Ownership {
    pub fn label(self) -> &'static str {
        match self {
            Ownership::Yes => "yes",
            Ownership::No(..) => "no",
            Ownership::NotApplicable => "n.a.",
        }
    }
}

/// Dotted module of a file path (`app/routers/orders.py` -> `app.routers.orders`,
/// `api/src/routes/mod.rs` -> `api.src.routes`).
pub fn module_of(rel: &str) -> String {
    if let Some(stem) = rel.strip_suffix(".rs") {
        let mut parts: Vec<&str> = stem.split('/').collect();
        let n = parts.len();
        let root_file = n >= 2 && parts[n - 2] == "src" && matches!(parts[n - 1], "main" | "lib");
        if parts.last() == Some(&"mod") || root_file {
            parts.pop();
        }
        return parts.join(".");
    }
    let stem = rel.strip_suffix(".py").unwrap_or(rel);
    let m = stem.replace('/', ".");
    m.strip_suffix(".__init__").map(str::to_string).unwrap_or(m)
}

/// `.routers.orders` imported from `app/main.py` -> `app.routers.orders`.
fn absolute(import: &str, rel: &str) -> String {
    let dots = import.chars().take_while(|c| *c == '.').count();
    if dots == 0 {
        return import.to_string();
    }
    let module = module_of(rel);
    let mut package: Vec<&str> = module.split('.').collect();
    if !rel.ends_with("__init__.py") {
        package.pop();
    }
    for _ in 1..dots {
        package.pop();
    }
    let rest = &import[dots..];
    let mut out = package.join(".");
    if !rest.is_empty() {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(rest);
    }
    out
}

/// Blueprints imported from other modules, by absolute dotted name, whose `before_request`
/// hook in this file enforces auth, with that hook.
pub fn imported_router_hooks(facts: &PyFacts, file: &SourceFile) -> Vec<(String, String)> {
    facts
        .imported_router_hooks(&file.text)
        .into_iter()
        .filter_map(|(local, auth)| {
            let q = facts.imports.get(&local)?;
            Some((absolute(q, &file.rel), auth))
        })
        .collect()
}

/// Middleware classes (a `process_view`, `process_request` or `__call__` method) that check
/// an admin predicate (`is_admin_authorized(request)`, `request.user.is_staff`) for the
/// requests of one part of the site (the resolved URL namespace, a path prefix) and turn the
/// others away (a redirect, a 403): listed in `MIDDLEWARE`, they guard the views routed
/// there.
fn admin_guard_middleware(facts: &PyFacts, src: &str) -> Vec<String> {
    static ADMIN_CHECK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:is_admin\w*|has_admin\w*|admin_authori[sz]ed)\s*\(|\.(?:is_staff|is_superuser)\b")
            .expect("static regex")
    });
    static SCOPE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\brequest\.(?:path|path_info|resolver_match)\b|namespace").expect("static regex")
    });
    static DENY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bredirect\(|HttpResponseRedirect\(|HttpResponseForbidden\(|PermissionDenied\b|status\s*=\s*40[13]\b|redirect_to_login\(")
            .expect("static regex")
    });
    facts
        .classes
        .iter()
        .filter(|c| {
            facts.functions.iter().any(|f| {
                f.class.as_deref() == Some(c.name.as_str())
                    && matches!(
                        f.name.as_str(),
                        "process_view" | "process_request" | "__call__"
                    )
            })
        })
        .filter(|c| {
            let body = src.get(c.start..c.end).unwrap_or("");
            ADMIN_CHECK.is_match(body) && SCOPE.is_match(body) && DENY.is_match(body)
        })
        .map(|c| c.name.clone())
        .collect()
}

/// Middleware classes (a `process_view`, `process_request` or `__call__` method) that send
/// anonymous callers (`request.user.is_anonymous`) to the login page for one part of the
/// site only: the URL namespace or path prefix named where that check is made, or in the
/// condition under which the method making it is called (`if "orga" in url.namespaces:
/// return self._handle_orga_url(request)`). Listed in `MIDDLEWARE`, they authenticate the
/// views routed under that path.
fn login_area_middleware(facts: &PyFacts, src: &str) -> Vec<(String, Vec<String>)> {
    static ANONYMOUS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.user\.is_anonymous\b|\bnot\s+request\.user\.is_authenticated\b")
            .expect("static regex")
    });
    static LOGIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)\bredirect_to_login\(|\b\w*login\w*_redirect\(|\bredirect\(\s*(?:reverse\(\s*)?["'][\w:./-]*login|settings\.LOGIN_URL\b"#)
            .expect("static regex")
    });
    static AREA: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"["']([a-z][\w-]*)["']\s+in\s+[\w.]*namespaces?\b|namespaces?(?:\[0\])?\s*==\s*["']([a-z][\w-]*)["']|\.startswith\(\s*["']/([a-z][\w-]*)/?["']\s*\)"#)
            .expect("static regex")
    });
    let areas = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = AREA
            .captures_iter(t)
            .filter_map(|c| c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)))
            .map(|m| m.as_str().to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let body =
        |f: &crate::model::facts::python::PyFunction| src.get(f.body.0..f.body.1).unwrap_or("");
    let mut out = Vec::new();
    for c in &facts.classes {
        let methods: Vec<&crate::model::facts::python::PyFunction> = facts
            .functions
            .iter()
            .filter(|f| f.class.as_deref() == Some(c.name.as_str()))
            .collect();
        if !methods.iter().any(|f| {
            matches!(
                f.name.as_str(),
                "process_view" | "process_request" | "__call__"
            )
        }) {
            continue;
        }
        let mut found = Vec::new();
        for m in methods
            .iter()
            .filter(|f| ANONYMOUS.is_match(body(f)) && LOGIN.is_match(body(f)))
        {
            let own = areas(body(m));
            if !own.is_empty() {
                found.extend(own);
                continue;
            }
            // The condition of the `if` under which another method calls this one.
            let call = format!("self.{}(", m.name);
            for caller in &methods {
                let b = body(caller);
                let Some(at) = b.find(&call) else {
                    continue;
                };
                let before = &b[..at];
                let cond = before.rfind("if ").map_or("", |i| &before[i..]);
                found.extend(areas(cond));
            }
        }
        found.sort();
        found.dedup();
        if !found.is_empty() {
            out.push((c.name.clone(), found));
        }
    }
    out
}

/// Django project roots (`""` or `dir/`) whose settings list an admin-guard middleware of
/// the project in `MIDDLEWARE`: their views under an `admin` package are served behind it.
pub fn admin_guarded_roots(files: &[(String, WebSummary)]) -> Vec<String> {
    let guards: Vec<&str> = files
        .iter()
        .flat_map(|(_, s)| s.admin_guards.iter().map(String::as_str))
        .collect();
    if guards.is_empty() {
        return Vec::new();
    }
    // The dotted names of `MIDDLEWARE` start at the package root, the guards' at the
    // repository: either may be longer.
    files
        .iter()
        .filter(|(_, s)| {
            s.drf_settings.as_ref().is_some_and(|d| {
                d.middleware
                    .iter()
                    .any(|m| guards.iter().any(|g| same_middleware(m, g)))
            })
        })
        .map(|(rel, _)| settings_root(rel))
        .collect()
}

/// Whether an entry of `MIDDLEWARE` (dotted from the package root, perhaps through the
/// package that re-exports the class: `pkg.common.middleware.EventMiddleware`) names a
/// middleware class found in the project (dotted from the repository:
/// `src.pkg.common.middleware.event.EventMiddleware`).
fn same_middleware(entry: &str, class: &str) -> bool {
    let (Some((em, ec)), Some((cm, cc))) = (entry.rsplit_once('.'), class.rsplit_once('.')) else {
        return entry == class;
    };
    ec == cc && format!(".{cm}.").contains(&format!(".{em}."))
        || entry.ends_with(&format!(".{class}"))
}

/// The directory that holds a settings module's package (`archery/settings.py` -> the
/// repository, `site/conf/settings.py` -> `site/`), as a prefix of the files under it.
fn settings_root(rel: &str) -> String {
    let package = rel.rsplit_once('/').map_or("", |(d, _)| d);
    let root = package.rsplit_once('/').map_or("", |(d, _)| d);
    if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    }
}

pub fn web_summary(facts: &PyFacts, file: &SourceFile) -> Option<WebSummary> {
    let settings = if file.text.contains("REST_FRAMEWORK") || file.text.contains("MIDDLEWARE") {
        drf_settings(&file.text)
    } else {
        None
    };
    let defaults = if file.text.contains("BaseSettings") {
        settings_defaults(facts)
    } else {
        BTreeMap::new()
    };
    let hooks = if file.text.contains("before_request") {
        imported_router_hooks(facts, file)
    } else {
        Vec::new()
    };
    let guards = if file.text.contains("process_view") || file.text.contains("__call__") {
        admin_guard_middleware(facts, &file.text)
    } else {
        Vec::new()
    };
    let login_areas =
        if file.text.contains("is_anonymous") || file.text.contains("is_authenticated") {
            login_area_middleware(facts, &file.text)
        } else {
            Vec::new()
        };
    let public_paths = public_allow_list(&file.text);
    if facts.routes.is_empty()
        && public_paths.is_empty()
        && hooks.is_empty()
        && guards.is_empty()
        && login_areas.is_empty()
        && facts.mounts.is_empty()
        && facts.url_entries.is_empty()
        && settings.is_none()
        && defaults.is_empty()
        && facts.auth_providers.is_empty()
        && !facts
            .classes
            .iter()
            .any(|c| facts.class_attr_auth(c).is_some())
    {
        return None;
    }
    let src = file.text.as_str();
    let mut out = WebSummary {
        module: module_of(&file.rel),
        drf_settings: settings,
        settings: defaults,
        public_paths,
        ..WebSummary::default()
    };
    for r in &facts.routes {
        let f = facts.functions.get(r.function);
        let local = r.path.strip_prefix(r.prefix.as_str()).unwrap_or(&r.path);
        let path_params = r
            .path_params()
            .into_iter()
            .map(|p| {
                let ann = f.and_then(|f| {
                    f.params
                        .iter()
                        .find(|q| q.name == p.name)
                        .and_then(|q| q.annotation.clone())
                });
                PathParamInfo {
                    ty: ann.or(p.converter),
                    name: p.name,
                }
            })
            .collect();
        let pagination = f
            .map(|f| {
                f.params
                    .iter()
                    .filter_map(|p| {
                        crate::model::facts::pagination::pagination_bounds(p).map(|(min, max)| {
                            PageInfo {
                                name: p.name.clone(),
                                min,
                                max,
                            }
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let router_auth = facts.routers.get(&r.router).and_then(|x| x.auth.as_ref());
        let own_auth = r.auth.clone().filter(|a| Some(a) != router_auth);
        let deps = if r.auth.is_none() {
            route_dependencies(facts, r, &file.rel)
        } else {
            Vec::new()
        };
        let class_bases = match (&r.auth, f.and_then(|f| f.class.as_deref())) {
            (None, Some(c)) if r.framework == Framework::FastApi => facts
                .classes
                .iter()
                .find(|k| k.name == c)
                .map(|k| absolute_bases(facts, &k.bases, &file.rel))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        out.routes.push(RouteInfo {
            own_auth,
            declared: r.auth.is_some(),
            exempt: crate::model::route_kinds::auth_exempt(facts, r, src).map(str::to_string),
            computes_only: crate::model::route_kinds::computes_only(facts, r, src),
            misplaced_auth: r.misplaced_auth.clone(),
            site: r.site(),
            deps,
            class_bases,
            framework: r.framework.name().to_string(),
            methods: r.methods.clone(),
            router: r.router.clone(),
            router_prefix: r.prefix.clone(),
            path: local.to_string(),
            handler: r.handler.clone(),
            line: file.line_col(r.decorator_start).0,
            span: (r.decorator_start, r.decorator_end),
            path_params,
            pagination,
            auth: r.auth.clone().or_else(|| r.body_auth.clone()),
            rate_limit: r.rate_limit.clone(),
            ownership: ownership(facts, src, r).label().to_string(),
            view: r.view.clone(),
            default_auth: r.default_auth,
            default_throttle: r.default_throttle,
            public: r.public,
        });
    }
    for e in &facts.url_entries {
        let module = match &e.module {
            Some(m) => absolute(m, &file.rel),
            None => module_of(&file.rel),
        };
        out.urls.push(UrlInfo {
            list: e.list.clone(),
            pattern: e.pattern.clone(),
            include: e.include,
            append: e.append,
            module,
            name: e.name.clone(),
            line: file.line_col(e.start).0,
        });
    }
    out.auth_providers = facts.auth_providers.iter().cloned().collect();
    out.hooked_routers = hooks;
    let module = module_of(&file.rel);
    out.admin_guards = guards
        .into_iter()
        .map(|c| format!("{module}.{c}"))
        .collect();
    out.login_areas = login_areas
        .into_iter()
        .map(|(c, a)| (format!("{module}.{c}"), a))
        .collect();
    for c in &facts.classes {
        let auth = facts.class_attr_auth(c);
        let bases = absolute_bases(facts, &c.bases, &file.rel);
        if auth.is_some() || !bases.is_empty() {
            out.classes.insert(c.name.clone(), (auth, bases));
        }
    }
    for (name, r) in &facts.routers {
        if let Some(a) = &r.auth {
            out.router_auth.insert(name.clone(), a.clone());
        }
        if !r.prefix.is_empty() {
            out.router_prefixes.insert(name.clone(), r.prefix.clone());
        }
    }
    for m in &facts.mounts {
        let head = m.child.split('.').next().unwrap_or("");
        if let Some(q) = facts.imports.get(head) {
            out.imports
                .insert(head.to_string(), absolute(q, &file.rel).to_string());
        }
        out.mounts.push(MountInfo {
            parent: m.parent.clone(),
            child: m.child.clone(),
            prefix: m.prefix.clone(),
            auth: m.auth.clone(),
            rate_limit: None,
            line: file.line_col(m.start).0,
            dev_only: under_dev_condition(src, m.start),
        });
    }
    Some(out)
}

/// Base classes as absolute dotted names: imported ones through the import table,
/// in-file ones under the file's module. Builtins and library classes are left out.
fn absolute_bases(facts: &PyFacts, bases: &[String], rel: &str) -> Vec<String> {
    bases
        .iter()
        .filter_map(|b| {
            let (head, rest) = match b.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (b.as_str(), None),
            };
            let q = match facts.imports.get(head) {
                Some(q) => absolute(q, rel),
                None if facts.classes.iter().any(|c| c.name == *b) => {
                    format!("{}.{b}", module_of(rel))
                }
                None => return None,
            };
            let top = q.split('.').next().unwrap_or("");
            if matches!(
                top,
                "fastapi"
                    | "pydantic"
                    | "typing"
                    | "abc"
                    | "enum"
                    | "starlette"
                    | "sqlalchemy"
                    | "sqlmodel"
            ) {
                return None;
            }
            Some(match rest {
                Some(r) => format!("{q}.{r}"),
                None => q,
            })
        })
        .collect()
}

/// The imported dependencies of a route (`dependencies=[Depends(check_builder)]`,
/// `x = Depends(deps.check_builder)`), as absolute dotted names.
fn route_dependencies(facts: &PyFacts, r: &Route, rel: &str) -> Vec<String> {
    let Some(f) = facts.functions.get(r.function) else {
        return Vec::new();
    };
    let mut texts: Vec<&str> = f
        .decorators
        .iter()
        .filter(|d| d.start == r.decorator_start)
        .map(|d| d.text.as_str())
        .collect();
    for p in &f.params {
        texts.extend(p.default.as_deref());
        texts.extend(p.annotation.as_deref());
    }
    let mut out = Vec::new();
    for t in texts {
        for name in crate::model::facts::python::dependency_names(t) {
            let (head, rest) = match name.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (name.as_str(), None),
            };
            let Some(q) = facts.imports.get(head) else {
                continue;
            };
            let mut full = absolute(q, rel);
            if let Some(r) = rest {
                full = format!("{full}.{r}");
            }
            if !out.contains(&full) {
                out.push(full);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Rust front end

/// The dotted module (as [`module_of`] names files) and function a Rust path names from
/// file `rel`: `api::router` -> `src.api.router`, `crate::routes::config` ->
/// `src.routes.config`, `super::x::f` from `src/a/b.rs` -> `src.a.x.f`. `None` for a bare
/// function of the file itself.
fn rust_target(path: &str, rel: &str, facts: &RustFacts) -> Option<String> {
    let segs: Vec<&str> = path.split("::").collect();
    let (head, rest) = segs.split_first()?;
    let expanded: Vec<String> = match facts.uses.get(*head) {
        Some(full) if !matches!(*head, "crate" | "self" | "super") => full
            .split("::")
            .chain(rest.iter().copied())
            .map(str::to_string)
            .collect(),
        _ if rest.is_empty() => return None,
        _ => segs.iter().map(|s| s.to_string()).collect(),
    };
    let module = module_of(rel);
    let mut base: Vec<String> = module.split('.').map(str::to_string).collect();
    let mut i = 0;
    match expanded.first().map(String::as_str) {
        Some("crate") => {
            // The crate root: the directory up to the last `src`, else the file's own.
            let dirs: Vec<&str> = rel.split('/').collect();
            let dirs = &dirs[..dirs.len().saturating_sub(1)];
            base = match dirs.iter().rposition(|d| *d == "src") {
                Some(p) => dirs[..=p].iter().map(|s| s.to_string()).collect(),
                None => dirs.iter().map(|s| s.to_string()).collect(),
            };
            i = 1;
        }
        Some("self") => i = 1,
        Some("super") => {
            while expanded.get(i).map(String::as_str) == Some("super") {
                base.pop();
                i += 1;
            }
        }
        _ => {}
    }
    let mut out = base;
    out.extend(expanded[i..].iter().cloned());
    Some(out.join("."))
}

/// Path parameters of a Rust route with the handler's `Path<..>` types.
fn rust_path_params(facts: &RustFacts, r: &RustRoute) -> Vec<PathParamInfo> {
    let names = r.path_params();
    let types: Vec<String> = r
        .handler_fn
        .and_then(|i| facts.handlers.get(i))
        .and_then(|h| h.extractors.iter().find(|x| x.kind == ExtractorKind::Path))
        .map(|x| crate::model::facts::rust::split_top(&x.inner))
        .unwrap_or_default();
    let typed = types.len() == names.len();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| PathParamInfo {
            ty: if typed { types.get(i).cloned() } else { None },
            name,
        })
        .collect()
}

/// A Rust file's routes and registrations for the inventory.
pub fn rust_web_summary(facts: &RustFacts, file: &SourceFile) -> Option<WebSummary> {
    if facts.routes.is_empty() && facts.mounts.is_empty() {
        return None;
    }
    let src = file.text.as_str();
    let mut out = WebSummary::default();
    for r in &facts.routes {
        out.routes.push(RouteInfo {
            framework: r.framework.name().to_string(),
            methods: r.methods.clone(),
            router: r.router.clone(),
            router_prefix: String::new(),
            path: r.path.clone(),
            handler: r.handler.clone(),
            line: file.line_col(r.reg_start).0,
            span: (r.reg_start, r.reg_end),
            path_params: rust_path_params(facts, r),
            pagination: Vec::new(),
            auth: r.auth.clone().or_else(|| r.body_auth.clone()),
            rate_limit: r.rate_limit.clone(),
            ownership: rust_ownership(facts, src, r).label().to_string(),
            ..RouteInfo::default()
        });
    }
    for m in &facts.mounts {
        if let Some(t) = rust_target(&m.child, &file.rel, facts) {
            out.imports.insert(m.child.clone(), t);
        }
        out.mounts.push(MountInfo {
            parent: m.parent.clone(),
            child: m.child.clone(),
            prefix: Some(m.prefix.clone()),
            auth: m.auth.clone(),
            rate_limit: m.rate_limit.clone(),
            line: file.line_col(m.start).0,
            dev_only: false,
        });
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Ownership

/// The route's path parameters that identify a stored resource.
pub fn id_params(route: &Route) -> Vec<String> {
    route
        .path_params()
        .into_iter()
        .map(|p| p.name)
        .filter(|n| is_id_param(n))
        .collect()
}

/// Path parameters that identify a stored resource.
pub fn is_id_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "id" | "pk" | "uuid" | "guid")
        || n.ends_with("_id")
        || n.ends_with("_pk")
        || n.ends_with("_uuid")
        || n.ends_with("id") && n.len() > 2 && name.chars().rev().nth(1) == Some('I')
}

/// Owner/tenant fields.
const OWNER: &str = r"(?:user_id|userid|owner_id|owner|owner_user_id|created_by(?:_id)?|author_id|author|account_id|tenant_id|org_id|organization_id|organisation_id|customer_id|team_id|workspace_id|creator_id|uploaded_by|company_id|member_id|profile_id)";

static OWNER_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    let o = OWNER;
    re::new(&format!(
        r#"(?x)
          \b{o}\s*(?:==|!=|\bis\b|\bin\b|\bIN\b)
        | (?:==|!=)\s*[\w.\[\]"']*\b{o}\b
        | [(,]\s*{o}(?:__\w+)?\s*=[^=]
        | \b{o}\s*=\s*(?:%s|%\(\w+\)s|:\w+|\?|\$\d+|\{{)
        | \b(?:get_\w+_or_40[134]|check_\w*(?:owner|access|permission|perm)\w*|ensure_\w*(?:owner|access|permission|can)\w*
            |require_\w*(?:owner|access|permission)\w*|verify_\w*(?:owner|access|permission)\w*|assert_\w*(?:owner|access|permission)\w*
            |authori[sz]e\w*|can_(?:access|view|read|edit|write|update|delete|manage)\w*|has_(?:access|permission|perm|object_permission)\w*
            |check_object_permissions|is_owner|is_owned_by|owned_by|user_can\w*|(?:object_)?permission_required
            |\w+_has_(?:access|permission|perm|object_permission)\w*|\w+_(?:permission|perm|access)_or_40[134])\s*\(
        | [(,]\s*\w+\s*=\s*(?:self\.)?request\.(?:space|tenant|organi[sz]ation|org|team|workspace|account|household|company)\b
        | \b(?:current_user|request\.user|g\.user|user|me|caller|principal|account)\.\w+\.(?:filter(?:_by)?|get|where|find|select|query|all|first)\b
        | \bfor_user\(|\bvisible_to\(|\bowned\w*\(
        | \.objects\.\w+\(\s*(?:\w+\s*=\s*)?(?:self\.)?request\.user\b
        | \b(?:get|load|fetch|find|query|list)_(?:filtered|visible|accessible|permitted|authori[sz]ed|owned|own|my)_\w*\(
        | \b\w+_(?:for_user|for_owner|for_caller|for_current_user|visible_to|accessible_by|owned_by)\(
        | (?:==|!=)\s*(?:current_user|g\.user|(?:self\.)?request\.user|self\.(?:current_)?user)\b | \b(?:current_user|g\.user|request\.user|self\.user)(?:\(\))?(?:\.id|\.email)?\s*(?:==|!=)
        | =\s*(?:self\.)?request\.user\b
        | (?:==|!=)\s*get_jwt_identity\(\) | \bget_jwt_identity\(\)\s*(?:==|!=)
        | [(,]\s*(?:self\.)?current_(?:org|organization|organisation|tenant|team|workspace|account)\b
        | \bis_\w*owner\w*\(
        | \bif\s+not\s+\w+\.(?:user_can_\w+|can_(?:access|view|read|edit|write|update|delete|manage)\w*|is_(?:accessible|viewable)\w*)\s*:
        | \b{o}\s*\.\s*eq\(
        | \b(?:current_user|g\.user|request\.user)\.(?:role_\w+|has_role|has_perms?)\s*\(
        | \.can\(\s*[\w.]+\s*,\s*(?:current_user|user|g\.user|request\.user|self\.user|caller|principal)\b
        | \b[A-Z]\w*Permission\(\s*[\w.]*\b(?:id|pk|uuid|\w+_id|\w+_pk)\s*[,)]
        | \b(?:raise|check|ensure|assert|require|verify|validate|is|can|has|may|deny|forbid)_\w*?(?:perm|visib|editable|deletable|viewable|allowed|owner|owned|accessible|access|authori[sz])\w*
            \(\s*(?:[^()]*?,\s*)?(?:\w+\s*=\s*)?(?:self\.)?(?:request\.user|current_user|g\.user)\b
        | \b\w*(?:visible|editable|deletable|viewable)_(?:to|by|for)\w*\(\s*(?:[^()]*?,\s*)?(?:\w+\s*=\s*)?(?:self\.)?(?:request\.user|current_user|g\.user)\b
        | \bexcept\s*\(?[\w.\s,]*\b(?:NotAuthorized|PermissionDenied|Forbidden|AccessDenied)\b
        | \bColumn::(?:UserId|OwnerId|Owner|AuthorId|Author|CreatedBy|CreatorId|TenantId|AccountId|OrgId|OrganizationId|CustomerId|TeamId|WorkspaceId)\b
        "#
    ))
    .expect("static regex")
});

/// True when a piece of code compares or filters by an owner/tenant field or the caller.
pub fn checks_owner(code: &str) -> bool {
    checks_owner_on(code, &CheckCtx::default())
}

/// What an owner check must not be confused with on one route.
#[derive(Debug, Default)]
struct CheckCtx<'a> {
    /// Path parameters that name a user (`/tokens/<user_id>`) on a route that writes: an owner
    /// column compared with one of them is scoped to the user in the URL, not to the caller.
    principal_ids: &'a [String],
    /// The route changes data: a view/read permission helper does not authorise it.
    writes: bool,
}

/// A role value (`UserRoles.owner`, `MemberRole.owner`): a role comparison, not an owner column.
static ROLE_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\b[A-Z]\w*Role\w*\.owner\b").expect("static regex"));

/// A permission helper named for viewing/reading (`check_shelf_view_permissions(`).
static VIEW_HELPER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^[A-Za-z_]*?(?:^|_)(?:view|read|show|see|visible)(?:_|\(|$)").expect("static regex")
});

/// Path parameters that identify a user (the principal) rather than a tenant.
pub fn is_principal_id(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "user_id"
            | "userid"
            | "user_pk"
            | "user_uuid"
            | "owner_id"
            | "author_id"
            | "creator_id"
            | "member_id"
            | "profile_id"
    )
}

/// Blanks owner comparisons whose other side is a path id naming a user
/// (`Token.user_id == user_id`, `get(user_id=user_id)`): not scoped to the caller.
fn without_path_principal(code: &str, ids: &[String]) -> String {
    let mut out = code.to_string();
    for id in ids {
        let id = regex::escape(id);
        let o = OWNER;
        let re = re::new(&format!(
            r#"[\w.\[\]"']*\b{o}\s*(?:==|!=)\s*{id}\b(?P<a>[.(\[])?|\b{id}\s*(?:==|!=)\s*[\w.]*\b{o}\b(?P<b>[.(\[])?|[(,]\s*{o}(?:__\w+)?\s*=\s*{id}\b(?P<c>[.(\[])?"#
        ))
        .expect("escaped regex");
        let spans: Vec<(usize, usize)> = re
            .captures_iter(&out)
            .filter(|c| c.name("a").is_none() && c.name("b").is_none() && c.name("c").is_none())
            .filter_map(|c| c.get(0).map(|m| (m.start(), m.end())))
            .collect();
        for (s, e) in spans.into_iter().rev() {
            // Keep a leading `(`/`,` so a load on the line still reads as one.
            let keep = usize::from(out[s..].starts_with(['(', ',']));
            out.replace_range(s + keep..e, &" ".repeat(e - s - keep));
        }
    }
    out
}

fn checks_owner_on(code: &str, ctx: &CheckCtx<'_>) -> bool {
    let code = if ctx.principal_ids.is_empty() {
        std::borrow::Cow::Borrowed(code)
    } else {
        std::borrow::Cow::Owned(without_path_principal(code, ctx.principal_ids))
    };
    // Django's `get_object_or_404(Model, pk=pk)` is a plain load, not an owner check.
    OWNER_CHECK.find_iter(&code).any(|m| {
        let t = m.as_str();
        let plain_load = t.starts_with("get_object_or_404") || t.starts_with("get_list_or_404");
        !(plain_load || ROLE_VALUE.is_match(t) || (ctx.writes && VIEW_HELPER.is_match(t)))
    })
}

/// A load (or change) of a stored resource on a line that mentions the id.
static LOAD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?ix)
          \.get(?:_or_404|_or_none)?\( | get_object_or_404\( | get_list_or_404\( | \.filter(?:_by)?\( | \.where\(
        | \bselect\( | (?-i:\bSELECT\b|\bUPDATE\b|\bDELETE\b) | \bselect\s.*\bfrom\b | \bupdate\s+\w+\s+set\b
        | \bdelete\s+from\b | \.query\( | \.find_one\( | \.find\( | \.first\(
        | \.one(?:_or_none)?\( | \.scalar(?:s|_one)?\( | \.execute\( | \.fetch\w*\( | \.objects\. | _by_id\( | \.delete\( | \.update\(
        | (?:^|[^.\w])(?:get|delete|update)\( | \bget_\w+\( | \bload_\w+\( | \bfetch_\w+\( | \bfind_\w+\( | \bread_\w+\( | \bdelete_\w+\( | \bupdate_\w+\(
        "#,
    )
    .expect("static regex")
});

/// Reads the handler and the same-file module functions it calls (two levels).
fn reachable<'f>(facts: &'f PyFacts, f: &'f PyFunction, src: &str) -> Vec<&'f PyFunction> {
    let mut out = vec![f];
    let mut i = 0;
    while i < out.len() && out.len() < 12 {
        let body = src.get(out[i].body.0..out[i].body.1).unwrap_or("");
        for g in &facts.functions {
            // Module functions by name; methods of the handler's own class by `self.name(`.
            let called = match (&g.class, &f.class) {
                (None, _) => body.contains(&format!("{}(", g.name)),
                (Some(gc), Some(fc)) if gc == fc => body.contains(&format!("self.{}(", g.name)),
                _ => false,
            };
            if called && g.start != f.start && !out.iter().any(|o| o.start == g.start) {
                out.push(g);
            }
        }
        i += 1;
        if i >= 3 {
            break;
        }
    }
    out
}

/// True when a word occurs in `s` as an identifier.
fn word_at(s: &str, i: usize, w: &str) -> bool {
    let before = s[..i].chars().next_back();
    let after = s[i + w.len()..].chars().next();
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    !ident(before) && !ident(after)
}

pub fn ownership(facts: &PyFacts, src: &str, route: &Route) -> Ownership {
    let ids = id_params(route);
    if let (Some(ci), Framework::Django | Framework::Drf) = (route.class, route.framework) {
        return class_ownership(facts, src, route, ci, &ids);
    }
    let Some(f) = facts.functions.get(route.function) else {
        return Ownership::NotApplicable;
    };
    // `@permission_classes([CreateExportPermissions])` on a DRF function view.
    if f.decorators
        .iter()
        .any(|d| d.callee.ends_with("permission_classes") && custom_permission(facts, src, &d.text))
        && !ids.is_empty()
    {
        return Ownership::Yes;
    }
    if ids.is_empty() {
        return Ownership::NotApplicable;
    }
    // A decorator that checks the caller owns the object (`@is_oauth_client_owner("client_id")`).
    if f.decorators.iter().any(|d| checks_owner(&d.text)) {
        return Ownership::Yes;
    }
    // A route dependency built from the project's permission classes
    // (`dependencies=[Depends(PermissionsDependency([TaskEditPermission]))]`): it authorises
    // the object named in the URL in code this file does not show.
    match function_ownership(facts, src, f, &ids, route) {
        Ownership::No(..)
            if [&route.auth, &route.body_auth]
                .into_iter()
                .flatten()
                .any(|a| custom_permission(facts, src, a)) =>
        {
            Ownership::Yes
        }
        o => o,
    }
}

/// Methods of a class view where an owner check protects a detail route.
const CHECKED_IN: &[&str] = &[
    "get_queryset",
    "get_object",
    "retrieve",
    "update",
    "partial_update",
    "destroy",
    "get",
    "put",
    "patch",
    "delete",
    "post",
    "dispatch",
    "initial",
    "test_func",
    "has_permission",
    "has_object_permission",
    "perform_update",
    "perform_destroy",
];

/// Permission classes or mixins named for an object-level check.
static OBJECT_PERMISSION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(owner|author|creator|object|ObjectPermission|IsSelf|IsUser\b)")
        .expect("static regex")
});

/// Django/DRF class-based views: an owner filter in `get_queryset`, an owner check in a
/// handler or `get_object`, or a permission class with `has_object_permission` protects
/// the detail route; otherwise the generic `get_object()` loads any row of `queryset`.
fn class_ownership(
    facts: &PyFacts,
    src: &str,
    route: &Route,
    ci: usize,
    ids: &[String],
) -> Ownership {
    let Some(cls) = facts.classes.get(ci) else {
        return Ownership::NotApplicable;
    };
    // A nested view whose scope to the parent in the URL is inconsistent in this file.
    if let Some(g) = crate::model::nested_scope::class_scope_gap(facts, src, ci) {
        return Ownership::No(g.start, g.end);
    }
    // The class and its in-file ancestors.
    let mut chain = vec![cls];
    let mut i = 0;
    while i < chain.len() && chain.len() < 8 {
        for b in &chain[i].bases {
            let name = b.rsplit('.').next().unwrap_or(b);
            if let Some(c) = facts.classes.iter().find(|c| c.name == name) {
                if !chain.iter().any(|x| std::ptr::eq(*x, c)) {
                    chain.push(c);
                }
            }
        }
        i += 1;
    }
    // A check decorated onto the class (`@method_decorator(object_permission_required(
    // "app.view_plan", (Plan, "pk", "pk")), name="dispatch")`), as on a function view.
    if chain
        .iter()
        .any(|c| c.decorators.iter().any(|d| checks_owner(&d.text)))
    {
        return Ownership::Yes;
    }
    let methods: Vec<&PyFunction> = facts
        .functions
        .iter()
        .filter(|f| {
            chain.iter().any(|c| {
                f.class.as_deref() == Some(c.name.as_str()) && f.start >= c.start && f.end <= c.end
            })
        })
        .collect();
    let body = |f: &PyFunction| src.get(f.body.0..f.body.1).unwrap_or("");
    if methods.iter().any(|f| {
        (CHECKED_IN.contains(&f.name.as_str()) && checks_owner(body(f)))
            || body(f).contains("check_object_permissions(")
    }) {
        return Ownership::Yes;
    }
    // A helper of the class that `get_queryset`/`get_object` call (`self._base_filters()`)
    // and that filters by the caller.
    let helper_checks = methods
        .iter()
        .filter(|f| CHECKED_IN.contains(&f.name.as_str()))
        .any(|f| {
            methods.iter().any(|g| {
                !CHECKED_IN.contains(&g.name.as_str())
                    && body(f).contains(&format!("self.{}(", g.name))
                    && checks_owner(body(g))
            })
        });
    if helper_checks {
        return Ownership::Yes;
    }
    // A base class from elsewhere in the project (`generic.ObjectEditView`,
    // `BaseResource`) may enforce object permissions in its own `dispatch`/`get_object`:
    // that cannot be seen from this file.
    let foreign_base = chain.iter().flat_map(|c| c.bases.iter()).any(|b| {
        let name = b.rsplit('.').next().unwrap_or(b);
        if facts.classes.iter().any(|c| c.name == name) || b == "object" {
            return false;
        }
        let q = facts.resolve(b).unwrap_or_default();
        !(q.starts_with("django.")
            || q.starts_with("rest_framework.")
            || q.starts_with("flask_restx.")
            || q.starts_with("flask_restful.")
            || q.starts_with("flask.")
            || q.starts_with("starlette."))
    });
    // Staff-only views (`test_func` returning `is_superuser`/`is_staff`) see every row.
    let staff_only = methods.iter().any(|f| {
        f.name == "test_func" && (body(f).contains("is_superuser") || body(f).contains("is_staff"))
    });
    if foreign_base || staff_only {
        return Ownership::NotApplicable;
    }
    let attr = |name: &str| {
        chain
            .iter()
            .find_map(|c| c.attrs.iter().find(|a| a.name == name))
    };
    // A detail view looked up by a secret from the link (`slug_field = "token"`): holding
    // the link is the authorisation (an invitation, a share link), not ownership of a row.
    static SECRET_SLUG: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)^["']\w*(?:token|secret|hash|key)["']$"#).expect("static regex")
    });
    if attr("slug_field").is_some_and(|a| SECRET_SLUG.is_match(a.value.trim())) {
        return Ownership::Yes;
    }
    // Permission classes of the project (`permission_classes = [NestedProjectPermissions]`,
    // or returned by `get_permissions()`): they authorise the object, or the parent named
    // in the URL that `get_queryset` filters by, in code this file does not show.
    let custom = attr("permission_classes")
        .is_some_and(|pc| custom_permission(facts, src, &pc.value))
        || methods
            .iter()
            .any(|f| f.name == "get_permissions" && custom_permission(facts, src, body(f)));
    if custom {
        return Ownership::Yes;
    }
    if let Some(pc) = attr("permission_classes") {
        let object_level = crate::model::facts::python::words(&pc.value).any(|w| {
            OBJECT_PERMISSION.is_match(w)
                || facts
                    .functions
                    .iter()
                    .any(|f| f.class.as_deref() == Some(w) && f.name == "has_object_permission")
        });
        if object_level {
            return Ownership::Yes;
        }
    }
    if chain
        .iter()
        .flat_map(|c| c.bases.iter())
        .any(|b| OBJECT_PERMISSION.is_match(b) && !b.ends_with("View"))
    {
        return Ownership::Yes;
    }
    if !route.detail || ids.is_empty() {
        return Ownership::NotApplicable;
    }
    // An abstract DRF base (`StandardFilterModelViewSet(ModelViewSet)` with only a shared
    // `get_queryset` filter): no `queryset` nor serializer of its own, so it cannot serve a
    // request; its concrete subclasses are judged where they are defined.
    let abstract_drf = route.framework == Framework::Drf
        && attr("queryset").is_none()
        && attr("serializer_class").is_none()
        && attr("model").is_none()
        && !methods
            .iter()
            .any(|f| f.name == "get_serializer_class" || f.name == "get_serializer");
    if abstract_drf {
        return Ownership::NotApplicable;
    }
    // A handler of its own that loads by the id.
    if let Some(f) = facts.functions.get(route.function) {
        match function_ownership(facts, src, f, ids, route) {
            Ownership::NotApplicable => {}
            o => return o,
        }
        let b = body(f);
        if !b.contains("get_object(") && !b.contains("super(") && !b.contains("get_queryset(") {
            return Ownership::NotApplicable;
        }
    }
    // The generic `get_object()`: any row of the queryset, by the id from the URL.
    if let Some(f) = methods.iter().find(|f| f.name == "get_object") {
        return Ownership::No(f.start, f.body.0);
    }
    if let Some(a) = attr("queryset") {
        return Ownership::No(a.start, a.end);
    }
    if let Some(f) = methods.iter().find(|f| f.name == "get_queryset") {
        return Ownership::No(f.start, f.body.0);
    }
    if let Some(a) = attr("model") {
        return Ownership::No(a.start, a.end);
    }
    Ownership::NotApplicable
}

/// Whether a piece of code names a permission class the project defines: imported from a
/// project module (not DRF, Django or a known auth package), or defined in this file with
/// `has_permission`/`has_object_permission`.
pub(crate) fn custom_permission(facts: &PyFacts, src: &str, text: &str) -> bool {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"[A-Za-z_][\w.]*").expect("static regex"));
    const BUILTIN: &[&str] = &[
        "rest_framework",
        "django",
        "oauth2_provider",
        "rest_framework_api_key",
        "knox",
        "rest_framework_simplejwt",
        "typing",
    ];
    NAME.find_iter(text).any(|m| {
        let name = m.as_str();
        let last = name.rsplit('.').next().unwrap_or(name);
        if !last.contains("Permission") && !last.starts_with("Is") && !last.starts_with("Has") {
            return false;
        }
        if facts.classes.iter().any(|c| c.name == last) {
            return facts.functions.iter().any(|f| {
                f.class.as_deref() == Some(last)
                    && matches!(f.name.as_str(), "has_permission" | "has_object_permission")
                    && !src
                        .get(f.body.0..f.body.1)
                        .unwrap_or("")
                        .trim()
                        .starts_with("return True")
            });
        }
        match facts.imports.get(name.split('.').next().unwrap_or(name)) {
            Some(q) => {
                let top = q.split('.').next().unwrap_or(q);
                !BUILTIN.contains(&top)
            }
            None => false,
        }
    })
}

static CALLER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:auth_subject|auth|subject|user|current_user|me|caller|principal|account|identity|claims|token_data|viewer|actor)$")
        .expect("static regex")
});

static CALLER_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)auth|user|account|principal|subject|claims|identity|viewer|actor")
        .expect("static regex")
});

/// `name` occurs in `hay` as a whole identifier.
fn word_in(hay: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(off) = hay[from..].find(name) {
        let i = from + off;
        if word_at(hay, i, name) {
            return true;
        }
        from = i + name.len();
    }
    false
}

/// A handler body that stores a change (a commit, a save, a delete, an attribute set).
static WRITES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:commit|save|delete|setattr|bulk_update|update)\(|\.(?:add|remove)\(")
        .expect("static regex")
});

/// A body that stores something whatever the method: an added row, a save, a commit.
static STORES: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\.add\(|\.save\(|commit\(").expect("static regex"));

/// The handler's parameters that stand for the caller, and names derived from them.
fn caller_names(f: &PyFunction, src: &str) -> Vec<String> {
    // ...and names derived from one (`customer = get_customer(auth_subject)`).
    let mut callers = caller_params(f);
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    for line in body.lines() {
        if let Some((lhs, rhs)) = line.trim().split_once('=') {
            let lhs = lhs.trim();
            if !rhs.starts_with('=')
                && lhs.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !lhs.is_empty()
                && callers.iter().any(|c| word_in(rhs, c))
                && !callers.iter().any(|c| c == lhs)
            {
                callers.push(lhs.to_string());
            }
        }
    }
    callers
}

fn caller_params(f: &PyFunction) -> Vec<String> {
    // Parameters that stand for the caller (`auth_subject: AuthSubject`, `user =
    // Depends(current_user)`): a load that receives one is scoped to the caller by the
    // service it calls (`meter_service.get(session, auth_subject, id)`).
    f.params
        .iter()
        .filter(|p| {
            !matches!(
                p.name.as_str(),
                "self" | "cls" | "session" | "db" | "request"
            ) && (CALLER_NAME.is_match(&p.name)
                || p.annotation
                    .as_deref()
                    .is_some_and(|a| CALLER_TYPE.is_match(a))
                || p.default.as_deref().is_some_and(|d| {
                    crate::model::facts::python::dependency_names(d)
                        .iter()
                        .any(|n| CALLER_TYPE.is_match(n))
                }))
        })
        .map(|p| p.name.to_string())
        .collect()
}

/// The handler hands the caller to a call (`service.update(db, id, current_user=current_user)`):
/// the project's services scope by the caller they are given.
pub fn passes_caller(f: &PyFunction, src: &str) -> bool {
    let body = src.get(f.body.0..f.body.1).unwrap_or("");
    caller_params(f).iter().any(|c| {
        let c = regex::escape(c);
        re::new(&format!(r"[(,]\s*(?:\w+\s*=\s*)?{c}\s*[,)]")).is_ok_and(|re| re.is_match(body))
    })
}

fn function_ownership(
    facts: &PyFacts,
    src: &str,
    f: &PyFunction,
    ids: &[String],
    route: &Route,
) -> Ownership {
    let funcs = reachable(facts, f, src);
    let handler_body = src.get(f.body.0..f.body.1).unwrap_or("");
    // A GET handler that stores a row it creates (`session.add(token)`, a commit) writes too.
    let writes =
        WRITES.is_match(handler_body) && (!route.is_read_only() || STORES.is_match(handler_body));
    let principal_ids: Vec<String> = if writes {
        ids.iter().filter(|i| is_principal_id(i)).cloned().collect()
    } else {
        Vec::new()
    };
    let in_handler = CheckCtx {
        principal_ids: &principal_ids,
        writes,
    };
    // Dependencies of the handler that take the caller and are defined here: a
    // `Depends(get_owned_item)` that checks inside.
    let mut checked = false;
    for p in &f.params {
        let Some(dep) = p.default.as_deref().or(p.annotation.as_deref()) else {
            continue;
        };
        for name in crate::model::facts::python::dependency_names(dep) {
            if let Some(g) = facts
                .functions
                .iter()
                .find(|g| g.class.is_none() && g.name == name)
            {
                let body = src.get(g.body.0..g.body.1).unwrap_or("");
                if checks_owner(body) {
                    checked = true;
                }
            }
        }
    }
    let callers = caller_names(f, src);
    let mut load = None;
    for g in &funcs {
        let body = src.get(g.body.0..g.body.1).unwrap_or("");
        let owner_checked = if g.start == f.start {
            checks_owner_on(body, &in_handler)
        } else {
            // A view permission helper does not authorise a change.
            !(writes && VIEW_HELPER.is_match(&format!("{}(", g.name))) && checks_owner(body)
        };
        if owner_checked {
            checked = true;
        }
        if load.is_some() {
            continue;
        }
        // In a helper, the id arrives under the helper's parameter names.
        let names: Vec<&str> = if g.start == f.start {
            ids.iter().map(String::as_str).collect()
        } else {
            g.params
                .iter()
                .map(|p| p.name.as_str())
                .filter(|n| is_id_param(n))
                .collect()
        };
        for id in names {
            let mut from = 0;
            while let Some(off) = body[from..].find(id) {
                let i = from + off;
                from = i + id.len();
                if !word_at(body, i, id) {
                    continue;
                }
                // The statement around the mention: its line and up to three before it.
                let line_start = body[..i].rfind('\n').map_or(0, |p| p + 1);
                let mut ctx_start = line_start;
                for _ in 0..3 {
                    match body[..ctx_start.saturating_sub(1)].rfind('\n') {
                        Some(p) if ctx_start > 0 => ctx_start = p + 1,
                        _ => break,
                    }
                }
                let line_end = body[i..].find('\n').map_or(body.len(), |p| i + p);
                let here = &body[line_start..line_end];
                let around = &body[ctx_start..line_end];
                // An outbound HTTP call, an insert: not a load of an existing resource.
                if here.contains("http")
                    || here.contains("requests.")
                    || around.contains("INSERT")
                    || here.contains("insert(")
                {
                    continue;
                }
                // The whole call the id is an argument of (`repo.update(\n id=id,\n user=user)`).
                let call = format!("{around}{}", call_rest(&body[line_end..], around));
                if g.start == f.start && callers.iter().any(|c| word_in(&call, c)) {
                    // Scoped by the caller it is given.
                    checked = true;
                    break;
                }
                if LOAD.is_match(here)
                    || (here.trim_start().starts_with('(') && LOAD.is_match(around))
                    || (!here.contains('=')
                        && here.trim_start().starts_with(['(', '"', '\''])
                        && LOAD.is_match(around))
                {
                    let start = g.body.0 + line_start + (here.len() - here.trim_start().len());
                    load = Some((start, g.body.0 + line_end));
                    break;
                }
                // The id among the arguments of a call opened on the line before
                // (`service.get(\n    db=db, item_id=item_id)`).
                let prev_start = body[..line_start.saturating_sub(1)]
                    .rfind('\n')
                    .map_or(0, |p| p + 1);
                let prev = body
                    .get(prev_start..line_start.saturating_sub(1))
                    .unwrap_or("");
                if line_start > 0 && prev.trim_end().ends_with('(') && LOAD.is_match(prev) {
                    let start = g.body.0 + prev_start + (prev.len() - prev.trim_start().len());
                    load = Some((start, g.body.0 + line_end));
                    break;
                }
            }
            if load.is_some() {
                break;
            }
        }
    }
    if !checked && token_bound(handler_body) {
        checked = true;
    }
    if let Some((s, e)) = load {
        if only_unlinked_from_caller(src, f, s, e) || only_reacted_by_caller(src, f, s, e) {
            checked = true;
        }
    }
    match (checked, load) {
        (true, _) => Ownership::Yes,
        (false, Some((s, e))) => Ownership::No(s, e),
        (false, None) => Ownership::NotApplicable,
    }
}

/// The handler verifies a token from the request (`verify_token(token, ...)`,
/// `serializer.loads(token)`, `signing.loads(signature)`) and compares what it yields with
/// an id (`if verified_id != project_id: abort(404)`): the token, bound to the object, is
/// the authorisation (a share or invitation link), not the caller's ownership.
fn token_bound(body: &str) -> bool {
    static VERIFY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"(?m)^\s*(\w+)\s*=\s*[\w.]*\b\w*(?:verify|validate|check|loads|unsign|decode)\w*\(\s*(?:\w+\s*=\s*)?\w*(?:token|signature|signed)\w*\s*[,)]",
        )
        .expect("static regex")
    });
    static COMPARE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"([\w.]+)\s*(?:!=|==)\s*([\w.]+)").expect("static regex"));
    VERIFY.captures_iter(body).any(|c| {
        let var = &c[1];
        let after = &body[c.get(0).map_or(0, |m| m.end())..];
        // `var != project_id`, or `x == var` / `x == var.id` (the verified value compared).
        COMPARE.captures_iter(after).any(|k| {
            let left = k[1].rsplit('.').next() == Some(var);
            (left && k[2].ends_with("id")) || k[2].split('.').next() == Some(var)
        })
    })
}

/// The object loaded at `start..end` (`book_list = get_object_or_404(List, id=list_id)`) is
/// only taken out of the caller's own relation (`request.user.saved_lists.remove(book_list)`):
/// the change is to the caller's data and the object is merely referenced. Adding to it
/// (`.add(`) is not covered: that links someone else's object, a private one included, to
/// the caller.
fn only_unlinked_from_caller(src: &str, f: &PyFunction, start: usize, end: usize) -> bool {
    static UNLINK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"(?:self\.)?(?:request\.user|current_user|g\.user)\.\w+\.(?:remove|discard)\(\s*(\w+)\s*\)",
        )
        .expect("static regex")
    });
    let Some(var) = loaded_name(src, start, end) else {
        return false;
    };
    let rest = src.get(end..f.body.1).unwrap_or("");
    let unlinks: Vec<(usize, usize)> = UNLINK
        .captures_iter(rest)
        .filter(|c| &c[1] == var)
        .filter_map(|c| c.get(0).map(|m| (m.start(), m.end())))
        .collect();
    if unlinks.is_empty() {
        return false;
    }
    used_only_within(rest, var, &unlinks)
}

/// A reaction handler (`endorse_suggestion`, `like_post`, `vote`, `star`) whose every use of
/// the object loaded at `start..end` records or withdraws the caller's own reaction: a method
/// given the caller (`item.endorse(request.user)`), a membership test of the caller
/// (`if request.user not in item.endorsement.all()`), or the caller added to or removed from
/// one of its relations (`post.likes.add(request.user)`). Reacting to what others published is
/// what any signed-in user is meant to do; nothing of the object is shown or changed besides.
fn only_reacted_by_caller(src: &str, f: &PyFunction, start: usize, end: usize) -> bool {
    static REACTION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:^|_)(?:un)?(?:endorse|like|vote|upvote|downvote|star|favou?rite|react|boost|applaud|clap)(?:_|$)")
            .expect("static regex")
    });
    const CALLER: &str = r"(?:self\.)?(?:request\.user|current_user|g\.user)";
    if !REACTION.is_match(&f.name) {
        return false;
    }
    let Some(var) = loaded_name(src, start, end) else {
        return false;
    };
    let v = regex::escape(var);
    let Ok(uses) = re::new(&format!(
        r"\b{v}\.\w+\(\s*{CALLER}\s*\)|{CALLER}\s+(?:not\s+)?in\s+{v}\.\w+(?:\.all\(\))?|\b{v}\.\w+\.(?:add|remove)\(\s*{CALLER}\s*\)"
    )) else {
        return false;
    };
    let rest = src.get(end..f.body.1).unwrap_or("");
    let spans: Vec<(usize, usize)> = uses.find_iter(rest).map(|m| (m.start(), m.end())).collect();
    if spans.is_empty() {
        return false;
    }
    used_only_within(rest, var, &spans)
}

/// The plain name a load statement at `start..end` assigns (`book = get_object_or_404(..)`).
pub fn loaded_name(src: &str, start: usize, end: usize) -> Option<&str> {
    src.get(start..end)
        .and_then(|t| t.split_once('='))
        .map(|(v, _)| v.trim())
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// Every use of the name `var` in `text` lies inside one of `spans`.
fn used_only_within(text: &str, var: &str, spans: &[(usize, usize)]) -> bool {
    let mut from = 0;
    while let Some(off) = text[from..].find(var) {
        let i = from + off;
        from = i + var.len();
        if word_at(text, i, var) && !spans.iter().any(|&(s, e)| s <= i && i < e) {
            return false;
        }
    }
    true
}

/// A load statement seen only as a call to a function this file does not define, whose
/// name is not a loader of the resource the id names (`get_download_link(book_id)`,
/// `helper.get_book_cover(book_id)`, next to `get_book(book_id)` or `get(db, book_id)`):
/// what it does with the id is in another file, where the project index follows it.
pub fn opaque_load(facts: &PyFacts, stmt: &str, ids: &[String]) -> bool {
    static DIRECT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r#"(?ix)
              \.get(?:_or_404|_or_none)?\( | get_object_or_404\( | get_list_or_404\( | \.filter(?:_by)?\( | \.where\(
            | \bselect\( | (?-i:\bSELECT\b|\bUPDATE\b|\bDELETE\b) | \bselect\s.*\bfrom\b | \bupdate\s+\w+\s+set\b
            | \bdelete\s+from\b | \.query\( | \.find_one\( | \.find\( | \.first\( | \.one(?:_or_none)?\(
            | \.scalar(?:s|_one)?\( | \.execute\( | \.fetch\w*\( | \.objects\. | _by_id\( | \.delete\( | \.update\(
            | (?:^|[^.\w])(?:get|delete|update)\(
            "#,
        )
        .expect("static regex")
    });
    static VERB_CALL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:get|load|fetch|find|read|delete|update)_(\w+)\(").expect("static regex")
    });
    if DIRECT.is_match(stmt) {
        return false;
    }
    let nouns: Vec<String> = ids
        .iter()
        .map(|i| {
            let l = i.to_ascii_lowercase();
            ["_id", "_uuid", "_pk", "id", "uuid"]
                .iter()
                .find_map(|s| l.strip_suffix(s))
                .unwrap_or(&l)
                .trim_end_matches('_')
                .to_string()
        })
        .collect();
    let mut calls = VERB_CALL.captures_iter(stmt).peekable();
    if calls.peek().is_none() {
        return false;
    }
    calls.all(|c| {
        let name = &c[0][..c[0].len() - 1];
        let noun = c[1].to_ascii_lowercase();
        let defined_here = facts.functions.iter().any(|f| name == f.name);
        let loader = nouns.iter().any(|n| {
            n.is_empty()
                || noun == *n
                || noun == format!("{n}s")
                || noun.starts_with(&format!("{n}_by_"))
                || noun.starts_with(&format!("{n}s_by_"))
        });
        !defined_here && !loader
    })
}

/// The rest of a call left open at the end of `head`: the lines of `rest` up to the one
/// that closes its brackets (at most eight lines).
fn call_rest<'s>(rest: &'s str, head: &str) -> &'s str {
    let depth = |t: &str| {
        t.chars().fold(0i32, |d, c| match c {
            '(' | '[' | '{' => d + 1,
            ')' | ']' | '}' => d - 1,
            _ => d,
        })
    };
    let mut open = depth(head);
    if open <= 0 {
        return "";
    }
    let mut end = 0;
    for (n, line) in rest.split_inclusive('\n').enumerate() {
        end += line.len();
        open += depth(line);
        if open <= 0 || n >= 8 {
            break;
        }
    }
    &rest[..end]
}

/// A load (or change) of a stored resource in a Rust statement that mentions the id.
static RUST_LOAD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?x)
          \b(?i:SELECT|UPDATE|DELETE)\b | _by_id\( | \.find\( | \.get\( | \.get_mut\( | \.remove\(
        | \.filter\( | \.first\( | \.get_result | \.load\( | \.one\( | \.fetch_\w+\( | \.find_\w+\(
        | \b(?:get|load|fetch|find|read|delete|update|remove)_\w+\( | \bquery(?:_as|_scalar)?!\(
        "#,
    )
    .expect("static regex")
});

/// `let id = path.into_inner();`, `let (org_id, id) = path.into_inner();`.
static REBIND: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"let\s+(?:mut\s+)?(\(?[\w\s,]+\)?)\s*(?::[^=]+)?=\s*\*?(\w+)(?:\.into_inner\(\)|\.0|\.clone\(\))?\s*;")
        .expect("static regex")
});

static IDENT: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\b[a-z_][a-z0-9_]*\b").expect("static regex"));

fn pattern_names(pattern: &str) -> Vec<String> {
    IDENT
        .find_iter(pattern)
        .map(|m| m.as_str())
        .filter(|n| !matches!(*n, "mut" | "ref" | "_" | "web"))
        .map(str::to_string)
        .collect()
}

/// Names a handler binds to the id of the resource from its `Path` extractor: every name
/// of the pattern when the route's path has an id parameter (`path: web::Path<i64>` for
/// `/orders/{order_id}`), else the id-like names (`Path(id)`) and a single scalar id.
pub fn rust_id_names(h: &RustHandler, route: Option<&RustRoute>) -> Vec<String> {
    let route_has_id = route.is_some_and(|r| r.path_params().iter().any(|p| is_id_param(p)));
    let mut out = Vec::new();
    for x in h
        .extractors
        .iter()
        .filter(|x| x.kind == ExtractorKind::Path)
    {
        let names = pattern_names(
            x.pattern
                .trim()
                .trim_start_matches("web::")
                .trim_start_matches("Path"),
        );
        let scalar = names.len() == 1
            && crate::model::facts::rust::TYPED_ID.is_match(x.inner.trim_start_matches("uuid::"));
        for n in names {
            if route_has_id || is_id_param(&n) || scalar {
                out.push(n);
            }
        }
    }
    out
}

/// Names bound by the handler's auth extractors (`user: AuthUser`, `Extension(claims)`).
pub fn rust_caller_names(h: &RustHandler) -> Vec<String> {
    h.extractors
        .iter()
        .filter(|x| x.kind == ExtractorKind::Auth)
        .flat_map(|x| {
            let p = x.pattern.trim();
            let inner = match p.find('(') {
                Some(i) => &p[i..],
                None => p,
            };
            pattern_names(inner)
        })
        .collect()
}

fn has_word(hay: &str, w: &str) -> bool {
    hay.match_indices(w).any(|(i, _)| word_at(hay, i, w))
}

/// The statement around byte `i` of `body`: from the end of the previous statement or
/// block opening to the next `;` (bounded).
fn rust_statement(body: &str, i: usize) -> (usize, usize) {
    let lo = i.saturating_sub(800);
    let lo = (lo..=i).find(|&k| body.is_char_boundary(k)).unwrap_or(i);
    let mut start = body[lo..i]
        .rfind([';', '{', '}'])
        .map_or(lo, |p| lo + p + 1);
    // Leading blank and comment lines belong to no statement.
    loop {
        let rest = &body[start..i];
        let t = rest.trim_start();
        let skipped = start + (rest.len() - t.len());
        if t.starts_with("//") {
            match body[skipped..i].find('\n') {
                Some(n) => start = skipped + n + 1,
                None => break,
            }
        } else {
            start = skipped;
            break;
        }
    }
    let hi = (i + 800).min(body.len());
    let hi = (hi..=body.len())
        .find(|&k| body.is_char_boundary(k))
        .unwrap_or(body.len());
    let end = body[i..hi].find(';').map_or(hi, |p| i + p + 1);
    (start, end)
}

/// Same-file functions the handler calls by name (two levels).
fn rust_reachable<'f>(facts: &'f RustFacts, h: &'f RustHandler, src: &str) -> Vec<&'f RustHandler> {
    let mut out = vec![h];
    let mut i = 0;
    while i < out.len() && out.len() < 12 && i < 3 {
        let body = src.get(out[i].body_start..out[i].body_end).unwrap_or("");
        for g in &facts.handlers {
            if !out.iter().any(|o| o.start == g.start)
                && body.contains(&format!("{}(", g.name))
                && !g.name.is_empty()
            {
                out.push(g);
            }
        }
        i += 1;
    }
    out
}

/// Ownership of a Rust handler that loads a resource by an id from the path.
pub fn rust_handler_ownership(
    facts: &RustFacts,
    src: &str,
    h: &RustHandler,
    route: Option<&RustRoute>,
) -> Ownership {
    let mut ids = rust_id_names(h, route);
    if ids.is_empty() {
        return Ownership::NotApplicable;
    }
    let callers = rust_caller_names(h);
    let funcs = rust_reachable(facts, h, src);
    let mut checked = false;
    let mut load = None;
    for g in &funcs {
        let body = src.get(g.body_start..g.body_end).unwrap_or("");
        if checks_owner(body) {
            checked = true;
        }
        if load.is_some() {
            continue;
        }
        let mut names: Vec<String> = if g.start == h.start {
            ids.clone()
        } else {
            g.extractors
                .iter()
                .flat_map(|x| pattern_names(&x.pattern))
                .filter(|n| is_id_param(n))
                .collect()
        };
        // `let id = path.into_inner();`
        for c in REBIND.captures_iter(body) {
            if names.iter().any(|n| n == &c[2]) {
                for n in pattern_names(&c[1]) {
                    if !names.contains(&n) {
                        names.push(n.clone());
                        ids.push(n);
                    }
                }
            }
        }
        'names: for id in &names {
            for (i, _) in body.match_indices(id.as_str()) {
                if !word_at(body, i, id) {
                    continue;
                }
                let (s, e) = rust_statement(body, i);
                let stmt = &body[s..e];
                if stmt.trim_start().starts_with("let") && REBIND.is_match(stmt) {
                    continue;
                }
                // An outbound call, an insert: not a load of an existing resource.
                if stmt.contains("INSERT")
                    || stmt.contains("insert")
                    || stmt.contains("http")
                    || stmt.contains(".send(")
                    || !RUST_LOAD.is_match(stmt)
                {
                    continue;
                }
                // The caller goes into the load: `repo.get_note(id, user.id)`, `.bind(user.id)`.
                if callers.iter().any(|c| has_word(stmt, c)) {
                    checked = true;
                    break 'names;
                }
                let lead = stmt.len() - stmt.trim_start().len();
                load = Some((g.body_start + s + lead, g.body_start + e));
                break 'names;
            }
        }
    }
    match (checked, load) {
        (true, _) => Ownership::Yes,
        (false, Some((s, e))) => Ownership::No(s, e),
        (false, None) => Ownership::NotApplicable,
    }
}

/// Ownership column of a Rust route.
pub fn rust_ownership(facts: &RustFacts, src: &str, route: &RustRoute) -> Ownership {
    match route.handler_fn.and_then(|i| facts.handlers.get(i)) {
        Some(h) => rust_handler_ownership(facts, src, h, Some(route)),
        None => Ownership::NotApplicable,
    }
}

// ---------------------------------------------------------------------------------------
// Inventory

/// One row of `strata routes`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub methods: Vec<String>,
    pub path: String,
    pub framework: String,
    pub handler: String,
    pub file: String,
    pub line: usize,
    #[serde(skip)]
    pub span: (usize, usize),
    /// Reached only through a development-only registration.
    #[serde(skip)]
    pub dev_only: bool,
    pub path_params: Vec<PathParamInfo>,
    pub pagination: Vec<PageInfo>,
    pub auth: Option<String>,
    pub rate_limit: Option<String>,
    pub ownership: String,
    /// The application the route is served by: `file:object` of the root of its
    /// registration chain (the `FastAPI()`/`Flask()`/`Router` that is included nowhere),
    /// when that root registers other routers; empty when the route's own router is
    /// registered nowhere the inventory can see (or for URL-list registrations).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app: String,
}

/// A registration edge: the router `child` of file `child_file` is registered on
/// `parent` of `parent_file`.
struct Edge<'a> {
    parent_file: usize,
    parent: &'a str,
    prefix: Option<&'a str>,
    auth: Option<&'a str>,
    rate_limit: Option<&'a str>,
    dev_only: bool,
}

static DEV_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^[ \t]*(?:el)?if\b.*\b(?:local|dev|development|debug|test|testing)\b")
        .expect("static regex")
});

/// The statement at `at` sits inside an `if` whose condition names a development or test
/// environment (the nearest less-indented line above it).
fn under_dev_condition(src: &str, at: usize) -> bool {
    let Some(before) = src.get(..at) else {
        return false;
    };
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(&src[line_start..at.max(line_start)]);
    if own == 0 {
        return false;
    }
    for l in before[..line_start].lines().rev().take(50) {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) < own {
            return DEV_CONDITION.is_match(l);
        }
    }
    false
}

fn find_module(modules: &[String], module: &str) -> Option<usize> {
    modules
        .iter()
        .position(|m| m == module)
        .or_else(|| {
            let suffix = format!(".{module}");
            modules.iter().position(|m| m.ends_with(&suffix))
        })
        .or_else(|| {
            modules
                .iter()
                .position(|m| module.ends_with(&format!(".{m}")))
        })
}

/// The file of a module, among files of the same language as `from`.
fn find_file(files: &[(String, WebSummary)], from: usize, module: &str) -> Option<usize> {
    let rust = |rel: &str| rel.ends_with(".rs");
    let lang = rust(&files[from].0);
    let modules: Vec<Option<String>> = files
        .iter()
        .map(|(rel, _)| (rust(rel) == lang).then(|| module_of(rel)))
        .collect();
    // Among several files of that module name (a monorepo's services, fixtures), the one
    // nearest to the importing file.
    let from_rel = files[from].0.as_str();
    let shared = |rel: &str| {
        rel.split('/')
            .zip(from_rel.split('/'))
            .take_while(|(a, b)| a == b)
            .count()
    };
    let find = |pred: &dyn Fn(&str) -> bool| {
        modules
            .iter()
            .enumerate()
            .filter(|(_, m)| m.as_deref().is_some_and(pred))
            .max_by_key(|(i, _)| (shared(&files[*i].0), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    };
    find(&|m| m == module)
        .or_else(|| {
            let suffix = format!(".{module}");
            find(&|m| m.ends_with(&suffix))
        })
        .or_else(|| find(&|m| module.ends_with(&format!(".{m}"))))
}

/// Prefix composition: Python concatenates, axum and actix join path segments.
fn cat(a: &str, b: &str, rust: bool) -> String {
    if rust {
        crate::model::facts::rust::join_path(a, b)
    } else {
        format!("{a}{b}")
    }
}

/// A registration chain being walked up: file, router, outer prefixes, the prefix the
/// innermost registration gives the route's own router, inherited auth and rate limit.
struct Chain {
    file: usize,
    router: String,
    outer: String,
    own: Option<String>,
    auth: Option<String>,
    rate: Option<String>,
    dev_only: bool,
    depth: usize,
}

/// A finished chain: outer prefixes, own-prefix override, auth, rate limit, registered
/// for development only, the application at its root (see [`Row::app`]).
type Done = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    String,
);

/// Composes prefixes and auth across files: one row per route and registration path.
pub fn inventory(files: &[(String, WebSummary)]) -> Vec<Row> {
    // (child file, child router) -> edges
    let mut edges: BTreeMap<(usize, String), Vec<Edge<'_>>> = BTreeMap::new();
    for (fi, (_, s)) in files.iter().enumerate() {
        for m in &s.mounts {
            let (head, var) = match m.child.rsplit_once('.') {
                Some((obj, var)) => (obj, var),
                None => (m.child.as_str(), m.child.as_str()),
            };
            let target = match s.imports.get(head.split('.').next().unwrap_or(head)) {
                Some(q) if head == m.child => {
                    // `from app.routers.orders import router`: module is all but the last.
                    let (module, var) = q.rsplit_once('.').unwrap_or(("", q));
                    find_file(files, fi, module).map(|f| (f, var.to_string()))
                }
                Some(q) => {
                    let rest = head.split_once('.').map(|(_, r)| r);
                    let module = match rest {
                        Some(r) => format!("{q}.{r}"),
                        None => q.clone(),
                    };
                    find_file(files, fi, &module).map(|f| (f, var.to_string()))
                }
                None if head == m.child => Some((fi, var.to_string())),
                None => None,
            };
            if let Some(key) = target {
                edges.entry(key).or_default().push(Edge {
                    parent_file: fi,
                    parent: &m.parent,
                    prefix: m.prefix.as_deref(),
                    auth: m.auth.as_deref(),
                    rate_limit: m.rate_limit.as_deref(),
                    dev_only: m.dev_only,
                });
            }
        }
    }
    // Objects other routers are registered on: the roots that are applications.
    let composing: std::collections::BTreeSet<(usize, &str)> = edges
        .values()
        .flatten()
        .map(|e| (e.parent_file, e.parent))
        .collect();
    // Settings defaults by name, when the project agrees on one value.
    let mut settings: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (_, s) in files {
        for (k, v) in &s.settings {
            let e = settings.entry(k.as_str()).or_insert(Some(v.as_str()));
            if *e != Some(v.as_str()) {
                *e = None;
            }
        }
    }
    // `[settings.API_V1_STR]` (a prefix read from a setting) -> its default, when known.
    let resolve = |p: &str| -> String {
        p.strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .and_then(|x| {
                settings
                    .get(x.rsplit('.').next().unwrap_or(x))
                    .copied()
                    .flatten()
            })
            .map_or_else(|| p.to_string(), |v| v.trim_end_matches('/').to_string())
    };
    // A dependency defined in another file that takes the caller authenticates the route.
    let provider_auth = |fi: usize, r: &RouteInfo| -> Option<String> {
        r.deps.iter().find_map(|d| {
            let (module, func) = d.rsplit_once('.')?;
            let t = find_file(files, fi, module)?;
            files[t]
                .1
                .auth_providers
                .iter()
                .any(|p| p == func)
                .then(|| func.to_string())
        })
    };
    // A controller class whose base (in another file, or further up) injects auth.
    let class_auth = |fi: usize, r: &RouteInfo| -> Option<String> {
        let mut todo: Vec<(usize, String, usize)> =
            r.class_bases.iter().map(|b| (fi, b.clone(), 0)).collect();
        while let Some((from, base, depth)) = todo.pop() {
            let (module, class) = base.rsplit_once('.')?;
            // The module itself, else a submodule of that package that defines the class
            // (re-exported by the package's `__init__`).
            let t = find_file(files, from, module)
                .filter(|&t| files[t].1.classes.contains_key(class))
                .or_else(|| {
                    let package = format!("{module}.");
                    files.iter().position(|(rel, w)| {
                        w.classes.contains_key(class)
                            && (module_of(rel).starts_with(&package)
                                || module_of(rel).contains(&format!(".{package}")))
                    })
                });
            let Some(t) = t else {
                continue;
            };
            let Some((auth, bases)) = files[t].1.classes.get(class) else {
                continue;
            };
            if let Some(a) = auth {
                return Some(format!("{class}: {a}"));
            }
            if depth < 6 {
                todo.extend(bases.iter().map(|b| (t, b.clone(), depth + 1)));
            }
        }
        None
    };
    // Blueprints whose `before_request` hook, declared in another file, enforces auth.
    let mut hooked: BTreeMap<(usize, &str), &str> = BTreeMap::new();
    for (fi, (_, s)) in files.iter().enumerate() {
        for (name, auth) in &s.hooked_routers {
            let Some((module, var)) = name.rsplit_once('.') else {
                continue;
            };
            if let Some(t) = find_file(files, fi, module) {
                hooked.entry((t, var)).or_insert(auth.as_str());
            }
        }
    }
    let mut rows = Vec::new();
    for (fi, (rel, s)) in files.iter().enumerate() {
        let rust = rel.ends_with(".rs");
        for r in &s.routes {
            let own_auth = r
                .auth
                .clone()
                .or_else(|| provider_auth(fi, r))
                .or_else(|| class_auth(fi, r))
                .or_else(|| hooked.get(&(fi, r.router.as_str())).map(|a| a.to_string()));
            if r.view.is_some() {
                // Listed through the registrations that name it (`url_rows`).
                continue;
            }
            let mut done: Vec<Done> = Vec::new();
            let mut stack = vec![Chain {
                file: fi,
                router: r.router.clone(),
                outer: String::new(),
                own: None,
                auth: None,
                rate: None,
                dev_only: false,
                depth: 0,
            }];
            while let Some(c) = stack.pop() {
                let parents = edges.get(&(c.file, c.router.clone()));
                match parents {
                    Some(ps) if c.depth < 8 && done.len() < 16 => {
                        for e in ps {
                            // The parent router's own constructor prefix comes first.
                            let parent_prefix = files[e.parent_file]
                                .1
                                .router_prefixes
                                .get(e.parent)
                                .map_or(String::new(), |p| resolve(p));
                            let edge_prefix = e.prefix.map(&resolve);
                            let (p_outer, p_own) = if c.file == fi && c.router == r.router {
                                (parent_prefix, edge_prefix)
                            } else {
                                (
                                    cat(&parent_prefix, edge_prefix.as_deref().unwrap_or(""), rust),
                                    c.own.clone(),
                                )
                            };
                            let parent_auth =
                                || files[e.parent_file].1.router_auth.get(e.parent).cloned();
                            stack.push(Chain {
                                file: e.parent_file,
                                router: e.parent.to_string(),
                                outer: cat(&p_outer, &c.outer, rust),
                                own: p_own,
                                auth: c
                                    .auth
                                    .clone()
                                    .or_else(|| e.auth.map(str::to_string))
                                    .or_else(parent_auth),
                                rate: c.rate.clone().or_else(|| e.rate_limit.map(str::to_string)),
                                dev_only: c.dev_only || e.dev_only,
                                depth: c.depth + 1,
                            });
                        }
                    }
                    _ => {
                        // The root of the chain is an application when routers are
                        // registered on it (one file may serve several applications).
                        let app = if composing.contains(&(c.file, c.router.as_str())) {
                            format!("{}:{}", files[c.file].0, c.router)
                        } else {
                            String::new()
                        };
                        done.push((c.outer, c.own, c.auth, c.rate, c.dev_only, app))
                    }
                }
            }
            done.sort();
            done.dedup();
            for (outer, own, auth, rate, dev_only, app) in done {
                let own_prefix = match (r.framework.as_str(), own) {
                    // Flask: `register_blueprint(bp, url_prefix=..)` replaces the blueprint's.
                    ("flask", Some(p)) => p,
                    (_, Some(p)) => cat(&p, &r.router_prefix, rust),
                    (_, None) => r.router_prefix.clone(),
                };
                let mut path = cat(&cat(&outer, &own_prefix, rust), &r.path, rust);
                if path.is_empty() {
                    path.push('/');
                }
                rows.push(Row {
                    methods: r.methods.clone(),
                    path,
                    framework: r.framework.clone(),
                    handler: r.handler.clone(),
                    file: rel.clone(),
                    line: r.line,
                    span: r.span,
                    dev_only,
                    path_params: r.path_params.clone(),
                    pagination: r.pagination.clone(),
                    auth: own_auth.clone().or(auth),
                    rate_limit: r.rate_limit.clone().or(rate),
                    ownership: r.ownership.clone(),
                    app,
                });
            }
        }
    }
    url_rows(files, &mut rows);
    rows.sort_by(|a, b| {
        (&a.path, &a.methods, &a.file, a.line, &a.app)
            .cmp(&(&b.path, &b.methods, &b.file, b.line, &b.app))
    });
    rows.dedup_by(|a, b| {
        (&a.path, &a.methods, &a.file, a.line, &a.app)
            == (&b.path, &b.methods, &b.file, b.line, &b.app)
    });
    rows
}

/// At most this many rows come from URL registrations (include cycles, huge projects).
const MAX_URL_ROWS: usize = 100_000;

/// Rows of views registered by URL lists (Django `urlpatterns` with `include()`, DRF
/// routers, flask-restful `add_resource`): every list no other list includes is a root;
/// patterns are concatenated down the includes to the views they name.
fn url_rows(files: &[(String, WebSummary)], rows: &mut Vec<Row>) {
    if files.iter().all(|(_, s)| s.urls.is_empty()) {
        return;
    }
    let modules: Vec<String> = files.iter().map(|(rel, _)| module_of(rel)).collect();
    let mut memo: BTreeMap<String, Option<usize>> = BTreeMap::new();
    let mut locate = |m: &str| -> Option<usize> {
        *memo
            .entry(m.to_string())
            .or_insert_with(|| find_module(&modules, m))
    };
    let mut lists: BTreeMap<(usize, &str), Vec<&UrlInfo>> = BTreeMap::new();
    for (fi, (_, s)) in files.iter().enumerate() {
        for u in &s.urls {
            lists.entry((fi, u.list.as_str())).or_default().push(u);
        }
    }
    // Which lists include which: a list included by another is not a root.
    let mut includes: BTreeMap<(usize, &str), Vec<(usize, &str)>> = BTreeMap::new();
    for (&from, us) in &lists {
        for u in us.iter().filter(|u| u.include) {
            if let Some(t) = locate(&u.module) {
                includes.entry(from).or_default().push((t, u.name.as_str()));
            }
        }
    }
    // An include that leads back to the list that makes it (a plugin loop that rebinds
    // `urlpatterns` to each plugin's list and includes it into a list the root
    // includes) does not make that list a child: else a cycle leaves the URLconf with no
    // root and nothing in it routed.
    let reaches = |from: (usize, &str), to: (usize, &str)| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from];
        while let Some(k) = todo.pop() {
            if k == to {
                return true;
            }
            if seen.insert(k) && seen.len() < 256 {
                todo.extend(includes.get(&k).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut included: std::collections::BTreeSet<(usize, &str)> = Default::default();
    for (&from, targets) in &includes {
        for &t in targets {
            if !reaches(t, from) {
                included.insert(t);
            }
        }
    }
    let defaults = files
        .iter()
        .filter_map(|(_, s)| s.drf_settings.as_ref())
        .max_by_key(|d| (d.permission.is_some(), d.throttle.is_some()));
    let default_auth = defaults
        .and_then(|d| d.permission.as_deref())
        .filter(|p| !p.contains("AllowAny"))
        .map(|p| format!("DRF default: {p}"));
    // A login middleware guards the Django project whose settings name it: the files under
    // the directory that holds the settings package (`archery/settings.py` -> the
    // repository, `site/conf/settings.py` -> `site/`).
    let login_middlewares: Vec<(String, String)> = files
        .iter()
        .filter_map(|(rel, s)| {
            let m = s.drf_settings.as_ref()?.login_middleware.as_ref()?;
            Some((settings_root(rel), format!("middleware: {m}")))
        })
        .collect();
    let login_middleware = |rel: &str| {
        login_middlewares
            .iter()
            .find(|(root, _)| rel.starts_with(root.as_str()))
            .map(|(_, m)| m.clone())
    };
    // Middleware that sends anonymous callers of one path area to the login page, by the
    // settings root that lists it: (root, class, areas).
    let area_guards: Vec<(String, &str, &[String])> = {
        let guards: Vec<&(String, Vec<String>)> = files
            .iter()
            .flat_map(|(_, s)| s.login_areas.iter())
            .collect();
        files
            .iter()
            .filter_map(|(rel, s)| Some((rel, s.drf_settings.as_ref()?)))
            .flat_map(|(rel, d)| {
                guards
                    .iter()
                    .filter(|(g, _)| d.middleware.iter().any(|m| same_middleware(m, g)))
                    .map(|(g, areas)| {
                        let class = g.rsplit('.').next().unwrap_or(g);
                        (settings_root(rel), class, areas.as_slice())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let area_login = |rel: &str, path: &str| {
        area_guards.iter().find_map(|(root, class, areas)| {
            let inside = areas.iter().any(|a| {
                path.strip_prefix('/')
                    .and_then(|p| p.strip_prefix(a.as_str()))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            });
            (rel.starts_with(root.as_str()) && inside).then(|| {
                format!(
                    "middleware: {class} (anonymous callers of /{} go to the login)",
                    areas.join(", /")
                )
            })
        })
    };
    let default_throttle = defaults
        .and_then(|d| d.throttle.as_deref())
        .filter(|t| !t.is_empty())
        .map(|t| format!("DRF default: {t}"));
    let mut stack: Vec<(usize, &str, String, usize)> = lists
        .keys()
        .filter(|k| !included.contains(k))
        .map(|&(f, l)| (f, l, String::new(), 0))
        .collect();
    stack.reverse();
    while let Some((f, list, prefix, depth)) = stack.pop() {
        let Some(entries) = lists.get(&(f, list)) else {
            continue;
        };
        for u in entries {
            let pattern = format!("{prefix}{}", u.pattern);
            if u.include {
                if depth < 10 {
                    if let Some(t) = locate(&u.module) {
                        stack.push((t, u.name.as_str(), pattern, depth + 1));
                    }
                }
                continue;
            }
            let Some(t) = locate(&u.module) else {
                continue;
            };
            let (rel, s) = &files[t];
            for r in s
                .routes
                .iter()
                .filter(|r| r.view.as_deref() == Some(u.name.as_str()))
            {
                if rows.len() >= MAX_URL_ROWS {
                    return;
                }
                let full = if u.append {
                    format!("{pattern}{}", r.path)
                } else {
                    pattern.clone()
                };
                let mut path = format!("/{full}");
                while path.contains("//") {
                    path = path.replace("//", "/");
                }
                let path_params = crate::model::facts::python::path_params(&path)
                    .into_iter()
                    .map(|p| PathParamInfo {
                        ty: p.converter.or_else(|| {
                            r.path_params
                                .iter()
                                .find(|q| q.name == p.name)
                                .and_then(|q| q.ty.clone())
                        }),
                        name: p.name,
                    })
                    .collect();
                let auth = r
                    .auth
                    .clone()
                    .or_else(|| {
                        (r.default_auth && r.framework == "drf")
                            .then(|| default_auth.clone())
                            .flatten()
                    })
                    .or_else(|| login_middleware(rel))
                    .or_else(|| area_login(rel, &path));
                let rate_limit = r.rate_limit.clone().or_else(|| {
                    r.default_throttle
                        .then(|| default_throttle.clone())
                        .flatten()
                });
                rows.push(Row {
                    methods: r.methods.clone(),
                    path,
                    framework: r.framework.clone(),
                    handler: r.handler.clone(),
                    file: rel.clone(),
                    line: r.line,
                    span: r.span,
                    dev_only: false,
                    path_params,
                    pagination: r.pagination.clone(),
                    auth,
                    rate_limit,
                    ownership: r.ownership.clone(),
                    app: String::new(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_loads_are_calls_not_named_for_the_resource() {
        let facts = PyFacts::default();
        let ids = ["book_id".to_string()];
        let opaque = |t: &str| opaque_load(&facts, t, &ids);
        assert!(opaque("return get_download_link(book_id, fmt, client)"));
        assert!(opaque("cover = helper.get_book_cover(book_id)"));
        assert!(!opaque("book = calibre_db.get_book(book_id)"));
        assert!(!opaque("book = get_book_by_uuid(book_id)"));
        assert!(!opaque("return get(db, book_id)"));
        assert!(!opaque("book = Book.query.get(book_id)"));
        assert!(!opaque("notify(book_id)"));
        let any = ["id".to_string()];
        assert!(!opaque_load(&facts, "return get_download_link(id)", &any));
    }

    #[test]
    fn calls_continue_to_their_closing_bracket() {
        let rest = "\n    user=user,\n    x=1,\n)\nother()\n";
        assert_eq!(
            call_rest(rest, "repo.update(\n    id=id,"),
            "\n    user=user,\n    x=1,\n)\n"
        );
        assert_eq!(call_rest(rest, "x = load(id)"), "");
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        assert_eq!(
            absolute(".routers.orders", "app/main.py"),
            "app.routers.orders"
        );
        assert_eq!(absolute("..core", "app/api/__init__.py"), "app.core");
        assert_eq!(absolute("app.x", "a/b.py"), "app.x");
        assert_eq!(module_of("app/routers/__init__.py"), "app.routers");
    }

    #[test]
    fn middleware_bound_under_another_name_is_read() {
        let m = drf_settings(
            "BASE = [\n  'django.contrib.auth.middleware.AuthenticationMiddleware',\n  'app.middleware.LoginRequiredMiddleware',\n]\nMIDDLEWARE = BASE\n",
        );
        assert_eq!(
            m.and_then(|m| m.login_middleware).as_deref(),
            Some("LoginRequiredMiddleware")
        );
        let none = drf_settings("BASE = ['django.contrib.auth.middleware.AuthenticationMiddleware']\nMIDDLEWARE = BASE\n");
        assert_eq!(none.and_then(|m| m.login_middleware), None);
    }

    #[test]
    fn drf_settings_are_read() {
        let s = drf_settings(
            "REST_FRAMEWORK = {\n 'DEFAULT_PERMISSION_CLASSES': ('rest_framework.permissions.AllowAny',),\n}",
        )
        .expect("settings");
        assert_eq!(s.permission.as_deref(), Some("AllowAny"));
        assert_eq!(s.throttle, None);
        let m = drf_settings(
            "MIDDLEWARE = (\n  'django.contrib.auth.middleware.AuthenticationMiddleware',\n  # 'x.LoginRequiredMiddleware',\n  'common.middleware.check_login_middleware.CheckLoginMiddleware',\n)",
        )
        .expect("settings");
        assert_eq!(m.login_middleware.as_deref(), Some("CheckLoginMiddleware"));
        let only_identifies = drf_settings(
            "MIDDLEWARE = ['django.contrib.auth.middleware.AuthenticationMiddleware', 'x.RemoteUserMiddleware']",
        );
        // Middleware that only identifies the caller is recorded, but enforces nothing.
        let only_identifies = only_identifies.expect("settings");
        assert_eq!(only_identifies.login_middleware, None);
        assert_eq!(only_identifies.permission, None);
    }

    #[test]
    fn registration_prefix_and_auth_across_files() {
        let route = |router: &str, prefix: &str, path: &str| RouteInfo {
            framework: "fastapi".into(),
            methods: vec!["GET".into()],
            router: router.into(),
            router_prefix: prefix.into(),
            path: path.into(),
            handler: "h".into(),
            ownership: "n.a.".into(),
            ..RouteInfo::default()
        };
        let mut main = WebSummary::default();
        main.mounts.push(MountInfo {
            parent: "app".into(),
            child: "api_router".into(),
            prefix: Some("/api/v1".into()),
            ..MountInfo::default()
        });
        main.imports
            .insert("api_router".into(), "app.api.main.api_router".into());
        let mut api = WebSummary::default();
        api.mounts.push(MountInfo {
            parent: "api_router".into(),
            child: "items.router".into(),
            prefix: Some("/items".into()),
            auth: Some("get_current_user".into()),
            ..MountInfo::default()
        });
        api.imports
            .insert("items".into(), "app.api.routes.items".into());
        let mut items = WebSummary::default();
        items.routes.push(route("router", "", "/{id}"));
        let mut bp = WebSummary::default();
        bp.routes.push(RouteInfo {
            framework: "flask".into(),
            ..route("bp", "/old", "/x")
        });
        bp.mounts.push(MountInfo {
            parent: "app".into(),
            child: "bp".into(),
            prefix: Some("/new".into()),
            ..MountInfo::default()
        });
        let rows = inventory(&[
            ("app/main.py".into(), main),
            ("app/api/main.py".into(), api),
            ("app/api/routes/items.py".into(), items),
            ("web/bp.py".into(), bp),
        ]);
        let paths: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.path.as_str(), r.auth.as_deref()))
            .collect();
        assert_eq!(
            paths,
            [
                ("/api/v1/items/{id}", Some("get_current_user")),
                ("/new/x", None)
            ]
        );
    }

    #[test]
    fn id_params() {
        for n in ["id", "item_id", "orderId", "pk", "user_uuid"] {
            assert!(is_id_param(n), "{n}");
        }
        for n in ["slug", "paid", "name", "valid"] {
            assert!(!is_id_param(n), "{n}");
        }
    }
}
