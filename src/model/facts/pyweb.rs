//! Web routes that are not FastAPI/Flask route decorators: Django function and class-based
//! views and `urlpatterns`, Django REST framework views, viewsets and routers, Starlette
//! `Route`/`Mount` lists, and flask-restx/flask-restful `Resource` classes.
//!
//! Django and flask-restful register views in another file than the one that defines them
//! (`urls.py`, `api.add_resource(..)` in the app factory). A view's route then carries the
//! view's own part of the URL (`<pk>/` of a detail view) and `view` = its name; the
//! registrations of the file are kept as [`UrlEntry`]s and composed across files by
//! `routes::inventory`.

use super::python::{
    clip, first_string_arg, string_value, text, Decorator, Framework, PyClass, PyFacts, PyFunction,
    Route, UrlEntry, AUTH_DECORATOR, AUTH_MIDDLEWARE, RATE_LIMIT,
};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;
use tree_sitter::Node;

const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// DRF viewset actions: (name, detail, method).
const VIEWSET_ACTIONS: &[(&str, bool, &str)] = &[
    ("list", false, "GET"),
    ("create", false, "POST"),
    ("retrieve", true, "GET"),
    ("update", true, "PUT"),
    ("partial_update", true, "PATCH"),
    ("destroy", true, "DELETE"),
];

type Methods = (&'static [&'static str], &'static [&'static str]);

/// Methods a generic view base provides: (collection route, detail route).
fn generic_methods(base: &str) -> Option<Methods> {
    Some(match base {
        "ModelViewSet" => (&["GET", "POST"], &["GET", "PUT", "PATCH", "DELETE"]),
        "ReadOnlyModelViewSet" => (&["GET"], &["GET"]),
        "ListModelMixin" | "ListAPIView" | "ListView" => (&["GET"], &[]),
        "CreateModelMixin" | "CreateAPIView" => (&["POST"], &[]),
        "ListCreateAPIView" => (&["GET", "POST"], &[]),
        "RetrieveModelMixin" | "RetrieveAPIView" | "DetailView" => (&[], &["GET"]),
        "UpdateModelMixin" | "UpdateAPIView" => (&[], &["PUT", "PATCH"]),
        "DestroyModelMixin" | "DestroyAPIView" => (&[], &["DELETE"]),
        "RetrieveUpdateAPIView" => (&[], &["GET", "PUT", "PATCH"]),
        "RetrieveDestroyAPIView" => (&[], &["GET", "DELETE"]),
        "RetrieveUpdateDestroyAPIView" => (&[], &["GET", "PUT", "PATCH", "DELETE"]),
        "UpdateView" | "DeleteView" => (&[], &["GET", "POST"]),
        "CreateView" | "FormView" => (&["GET", "POST"], &[]),
        "TemplateView" | "RedirectView" | "ArchiveIndexView" | "YearArchiveView"
        | "MonthArchiveView" | "DayArchiveView" => (&["GET"], &[]),
        _ => return None,
    })
}

/// Base classes of Django/DRF views.
static VIEW_BASE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(\w*View|\w*APIView|\w*ViewSet|\w*ViewSetMixin|\w+ModelMixin)$")
        .expect("static regex")
});
/// Mixins that require a logged-in or permitted user.
static AUTH_MIXIN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(Auth(?:[A-Z]\w*)?Mixin$|(?i)LoginRequired|PermissionRequired|UserPassesTest|StaffRequired|StaffMemberRequired|SuperuserRequired|SuperUserRequired|AdminRequired|AuthRequired|AuthenticationRequired|Authenticated\w*Mixin|\w+Required\w*Mixin)")
        .expect("static regex")
});
/// DRF permission classes that let anyone in.
static ALLOW_ANY: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\bAllowAny\b").expect("static regex"));
/// A function view's body returns a response.
static RESPONSE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(render|render_to_response|redirect|get_object_or_404|\w*Response|Http404|HttpResponse\w*)\(|\braise\s+Http404\b")
        .expect("static regex")
});
/// A function view that handles form posts as well as reads.
static HANDLES_WRITES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"\brequest\.(method\b|POST\b|FILES\b|body\b|data\b)|\.is_valid\(\)"#)
        .expect("static regex")
});
static KWARGS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"\bkwargs(?:\[\s*|\.get\(\s*)["'](\w+)["']"#).expect("static regex")
});

/// Last segment of a dotted name (`generics.ListAPIView` -> `ListAPIView`).
fn last(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name).trim()
}

/// The `def` line of a function (with its decorators): where its findings are reported.
fn def_site(f: &PyFunction, src: &str) -> (usize, usize) {
    let start = f.decorators.first().map_or(f.start, |d| d.start);
    let end = src
        .get(f.start..f.end)
        .and_then(|t| t.find('\n'))
        .map_or(f.end, |i| f.start + i);
    (start, end)
}

/// `^orders/(?P<pk>\d+)/$` -> `orders/<pk>/`.
pub(crate) fn regex_to_path(re: &str) -> String {
    static GROUP: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)").expect("static regex"));
    static UNNAMED: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\((?:[^()?]|\([^()]*\))*\)").expect("static regex"));
    let s = re.trim_start_matches('^');
    let s = s
        .strip_suffix("\\Z")
        .or_else(|| s.strip_suffix('$'))
        .unwrap_or(s);
    let s = GROUP.replace_all(s, "<$1>");
    let s = UNNAMED.replace_all(&s, "<arg>");
    s.replace("\\.", ".").replace("\\-", "-").replace('?', "")
}

/// Path parameters of a handler's signature after `request` (or `self, request`), as a
/// Django-style path: `def detail(request, pk)` -> `<pk>/`.
fn signature_path(f: &PyFunction, skip: usize) -> String {
    f.params
        .iter()
        .skip(skip)
        .filter(|p| p.name != "format")
        .map(|p| format!("<{}>/", p.name))
        .collect()
}

/// A view class, with its in-file ancestry.
struct ClassInfo {
    idx: usize,
    /// The class and its local ancestors, nearest first.
    chain: Vec<usize>,
    /// Last segments of all bases over the chain.
    bases: Vec<String>,
    /// Some base is neither local nor from Django/DRF: auth may come from it.
    foreign_base: Option<String>,
}

impl PyFacts {
    pub(super) fn collect_other_routes(&mut self, root: Node<'_>, src: &str) {
        let django = self.imports_package("django") || self.imports_package("rest_framework");
        let starlette = self.imports_package("starlette");
        let restx = self.imports_package("flask_restx");
        let restful = self.imports_package("flask_restful");
        if !(django || starlette || restx || restful) {
            return;
        }
        let mut reg = Registrations::default();
        self.collect_registrations(root, src, &mut reg);
        let mut routes = Vec::new();
        if django {
            self.django_function_views(src, &mut routes);
            self.django_class_views(src, &mut routes);
        }
        if restx || restful {
            let fw = if restx {
                Framework::FlaskRestx
            } else {
                Framework::FlaskRestful
            };
            self.resource_routes(src, fw, &reg, &mut routes);
        }
        if starlette {
            self.starlette_routes(src, &reg, &mut routes);
        }
        self.url_entries = reg.entries;
        self.routes.extend(routes);
    }

    fn methods_of<'f>(
        &'f self,
        class: &'f PyClass,
    ) -> impl Iterator<Item = (usize, &'f PyFunction)> {
        self.functions.iter().enumerate().filter(move |(_, f)| {
            f.class.as_deref() == Some(class.name.as_str())
                && f.start >= class.start
                && f.end <= class.end
        })
    }

    fn class_info(&self, idx: usize) -> ClassInfo {
        let by_name: HashMap<&str, usize> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let mut chain = vec![idx];
        let mut bases = Vec::new();
        let mut foreign_base = None;
        let mut i = 0;
        while i < chain.len() && chain.len() < 8 {
            for b in &self.classes[chain[i]].bases {
                let name = last(b);
                bases.push(name.to_string());
                match by_name.get(b.as_str()) {
                    Some(&j) if !chain.contains(&j) => chain.push(j),
                    Some(_) => {}
                    None => {
                        let q = self.resolve(b).unwrap_or_default();
                        let known = q.starts_with("django.")
                            || q.starts_with("rest_framework.")
                            || q.starts_with("flask_restx.")
                            || q.starts_with("flask_restful.")
                            || !q.contains('.')
                            || name == "object";
                        if !known && foreign_base.is_none() {
                            foreign_base = Some(b.clone());
                        }
                    }
                }
            }
            i += 1;
        }
        ClassInfo {
            idx,
            chain,
            bases,
            foreign_base,
        }
    }

    /// A class attribute, looked up along the in-file ancestry.
    fn class_attr(&self, info: &ClassInfo, name: &str) -> Option<&super::python::ClassAttr> {
        info.chain
            .iter()
            .find_map(|&c| self.classes[c].attrs.iter().find(|a| a.name == name))
    }

    /// Methods of the class and its in-file ancestors, nearest definition first.
    fn chain_methods(&self, info: &ClassInfo) -> Vec<(usize, &PyFunction)> {
        let mut out: Vec<(usize, &PyFunction)> = Vec::new();
        for &c in &info.chain {
            for (i, f) in self.methods_of(&self.classes[c]) {
                if !out.iter().any(|(_, g)| g.name == f.name) {
                    out.push((i, f));
                }
            }
        }
        out
    }

    /// `def detail(request, pk)` with a response or a view decorator, at module level.
    fn django_function_views(&self, src: &str, routes: &mut Vec<Route>) {
        let mut open_ends: Vec<usize> = Vec::new();
        for (fi, f) in self.functions.iter().enumerate() {
            while open_ends.last().is_some_and(|&e| e < f.start) {
                open_ends.pop();
            }
            let nested = !open_ends.is_empty();
            open_ends.push(f.end);
            if nested || f.class.is_some() || f.name.starts_with('_') {
                continue;
            }
            if f.params.first().map(|p| p.name.as_str()) != Some("request") {
                continue;
            }
            let resolved: Vec<String> = f
                .decorators
                .iter()
                .map(|d| self.resolve(&d.callee).unwrap_or_default())
                .collect();
            let view_decorator = resolved
                .iter()
                .any(|q| q.starts_with("django.") || q.starts_with("rest_framework."));
            let body = src.get(f.body.0..f.body.1).unwrap_or("");
            if !view_decorator && !RESPONSE.is_match(body) {
                continue;
            }
            let api_view = f.decorators.iter().find(|d| last(&d.callee) == "api_view");
            let mut methods = None;
            for d in &f.decorators {
                methods = methods.or(match last(&d.callee) {
                    "require_POST" => Some(vec!["POST".to_string()]),
                    "require_GET" | "require_safe" => Some(vec!["GET".to_string()]),
                    "require_http_methods" | "api_view" => quoted_list(&d.text),
                    _ => None,
                });
            }
            let methods = methods.unwrap_or_else(|| {
                static ONLY_GET: LazyLock<Regex> = LazyLock::new(|| {
                    re::new(
                        r#"^\s*(?:"""[\s\S]*?"""\s*)?if\s+request\.method\s*!=\s*["']GET["']\s*:"#,
                    )
                    .expect("static regex")
                });
                if api_view.is_some() || ONLY_GET.is_match(body) {
                    // `if request.method != "GET": return HttpResponse(status=405)` first.
                    vec!["GET".into()]
                } else if HANDLES_WRITES.is_match(body) {
                    vec!["GET".into(), "POST".into()]
                } else {
                    vec!["GET".into()]
                }
            });
            let mut auth = None;
            let mut public = false;
            let mut rate_limit = None;
            let mut permission_decl = false;
            for d in &f.decorators {
                match last(&d.callee) {
                    "permission_classes" => {
                        permission_decl = true;
                        if ALLOW_ANY.is_match(&d.text) || empty_list_arg(&d.text) {
                            public = true;
                        } else {
                            auth = Some(clip(&d.text));
                        }
                    }
                    "throttle_classes" if !empty_list_arg(&d.text) => {
                        rate_limit = Some(clip(&d.text));
                    }
                    "throttle_classes" => {}
                    "authentication_classes" | "api_view" => {}
                    c if AUTH_DECORATOR.is_match(c) => {
                        auth.get_or_insert_with(|| clip(&d.text));
                    }
                    c if RATE_LIMIT.is_match(c) => {
                        rate_limit.get_or_insert_with(|| clip(&d.text));
                    }
                    _ => {}
                }
            }
            if auth.is_none() && !public {
                // A dispatcher that hands the request to decorated views of this module
                // (`if request.method == "POST": return create_check(request)`).
                auth = self
                    .functions
                    .iter()
                    .filter(|g| g.class.is_none() && g.start != f.start)
                    .filter(|g| body.contains(&format!("{}(request", g.name)))
                    .find_map(|g| {
                        g.decorators
                            .iter()
                            .find(|d| AUTH_DECORATOR.is_match(&d.callee))
                            .map(|d| format!("via {}: {}", g.name, clip(&d.text)))
                    });
            }
            let drf = api_view.is_some();
            let (site_start, site_end) = def_site(f, src);
            routes.push(Route {
                framework: if drf {
                    Framework::Drf
                } else {
                    Framework::Django
                },
                router: "views".into(),
                methods,
                path: signature_path(f, 1),
                prefix: String::new(),
                function: fi,
                decorator_start: site_start,
                decorator_end: site_end,
                default_auth: drf && auth.is_none() && !permission_decl,
                default_throttle: drf && rate_limit.is_none(),
                auth,
                body_auth: body_auth(body),
                misplaced_auth: None,
                rate_limit,
                handler: f.name.clone(),
                class: None,
                view: Some(f.name.clone()),
                public,
                detail: false,
            });
        }
    }

    fn django_class_views(&self, src: &str, routes: &mut Vec<Route>) {
        let infos: Vec<ClassInfo> = (0..self.classes.len())
            .map(|i| self.class_info(i))
            .filter(|info| info.bases.iter().any(|b| VIEW_BASE.is_match(b)))
            .collect();
        for info in infos {
            let class = &self.classes[info.idx];
            if class.name.ends_with("Mixin") || class.name.starts_with('_') {
                continue;
            }
            let drf = info.bases.iter().any(|b| {
                b.ends_with("APIView") || b.ends_with("ViewSet") || b.ends_with("ModelMixin")
            });
            let viewset = info.bases.iter().any(|b| b.ends_with("ViewSet"));
            let methods = self.chain_methods(&info);
            let mut list: BTreeSet<&str> = BTreeSet::new();
            let mut detail: BTreeSet<&str> = BTreeSet::new();
            for b in &info.bases {
                if let Some((l, d)) = generic_methods(b) {
                    list.extend(l.iter().copied());
                    detail.extend(d.iter().copied());
                }
            }
            let mut handler_fn = None;
            let mut detail_fn = None;
            let mut sig_path = String::new();
            for (i, f) in &methods {
                if viewset {
                    if let Some((_, is_detail, m)) =
                        VIEWSET_ACTIONS.iter().find(|(n, _, _)| *n == f.name)
                    {
                        if *is_detail {
                            detail.insert(m);
                            detail_fn.get_or_insert(*i);
                        } else {
                            list.insert(m);
                            handler_fn.get_or_insert(*i);
                        }
                    }
                } else if HTTP_METHODS.contains(&f.name.as_str()) {
                    let m: &'static str = match f.name.as_str() {
                        "get" => "GET",
                        "post" => "POST",
                        "put" => "PUT",
                        "patch" => "PATCH",
                        "delete" => "DELETE",
                        "head" => "HEAD",
                        _ => "OPTIONS",
                    };
                    if m != "HEAD" && m != "OPTIONS" {
                        list.insert(m);
                    }
                    handler_fn.get_or_insert(*i);
                    if sig_path.is_empty() {
                        sig_path = signature_path(f, 2);
                    }
                }
            }
            let lookup = ["lookup_url_kwarg", "lookup_field", "pk_url_kwarg"]
                .iter()
                .find_map(|k| self.class_attr(&info, k))
                .map(|a| a.value.trim_matches(['"', '\'', ' ']).to_string())
                .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .unwrap_or_else(|| "pk".into());
            if sig_path.is_empty() {
                for (_, f) in &methods {
                    let body = src.get(f.body.0..f.body.1).unwrap_or("");
                    for c in KWARGS_KEY.captures_iter(body) {
                        let p = format!("<{}>/", &c[1]);
                        if !sig_path.contains(&p) {
                            sig_path.push_str(&p);
                        }
                    }
                }
            }
            // Auth: permission classes, mixins, `method_decorator(login_required)`.
            let mut auth = None;
            let mut public = false;
            let permission = self.class_attr(&info, "permission_classes");
            if let Some(pc) = permission {
                if ALLOW_ANY.is_match(&pc.value) || is_empty_list(&pc.value) {
                    public = true;
                } else {
                    auth = Some(format!("permission_classes = {}", clip(&pc.value)));
                }
            }
            if auth.is_none() {
                auth = info.bases.iter().find(|b| AUTH_MIXIN.is_match(b)).cloned();
            }
            let decorated = |ds: &[Decorator]| {
                ds.iter()
                    .find(|d| {
                        last(&d.callee) == "method_decorator"
                            && AUTH_DECORATOR
                                .is_match(d.text.trim_start_matches("method_decorator"))
                    })
                    .map(|d| clip(&d.text))
            };
            if auth.is_none() {
                auth = info
                    .chain
                    .iter()
                    .find_map(|&c| decorated(&self.classes[c].decorators))
                    .or_else(|| {
                        methods
                            .iter()
                            .filter(|(_, f)| f.name == "dispatch")
                            .find_map(|(_, f)| {
                                decorated(&f.decorators).or_else(|| {
                                    f.decorators
                                        .iter()
                                        .find(|d| AUTH_DECORATOR.is_match(&d.callee))
                                        .map(|d| clip(&d.text))
                                })
                            })
                    });
            }
            if auth.is_none() {
                // Every handler method decorated with auth.
                let handlers: Vec<&PyFunction> = methods
                    .iter()
                    .map(|(_, f)| *f)
                    .filter(|f| HTTP_METHODS.contains(&f.name.as_str()))
                    .collect();
                let all = !handlers.is_empty()
                    && handlers.iter().all(|f| {
                        decorated(&f.decorators).is_some()
                            || f.decorators
                                .iter()
                                .any(|d| AUTH_DECORATOR.is_match(&d.callee))
                    });
                if all {
                    auth = handlers[0].decorators.first().map(|d| clip(&d.text));
                }
            }
            let default_auth = auth.is_none()
                && !public
                && ((drf && permission.is_none()) || info.foreign_base.is_some());
            let mut rate_limit = None;
            let throttle = self.class_attr(&info, "throttle_classes");
            if let Some(t) = throttle.filter(|t| !is_empty_list(&t.value)) {
                rate_limit = Some(format!("throttle_classes = {}", clip(&t.value)));
            }
            if rate_limit.is_none() {
                rate_limit = info
                    .chain
                    .iter()
                    .flat_map(|&c| self.classes[c].decorators.iter())
                    .chain(methods.iter().flat_map(|(_, f)| f.decorators.iter()))
                    .find(|d| RATE_LIMIT.is_match(&d.text))
                    .map(|d| clip(&d.text));
            }
            let default_throttle = drf && rate_limit.is_none() && throttle.is_none();
            let bodies: String = methods
                .iter()
                .filter_map(|(_, f)| src.get(f.body.0..f.body.1))
                .collect::<Vec<_>>()
                .join("\n");
            let body_auth = body_auth(&bodies);
            let framework = if drf {
                Framework::Drf
            } else {
                Framework::Django
            };
            let site = (
                class.decorators.first().map_or(class.start, |d| d.start),
                class.header.1,
            );
            let base = Route {
                framework,
                router: "views".into(),
                methods: Vec::new(),
                path: String::new(),
                prefix: String::new(),
                function: usize::MAX,
                decorator_start: site.0,
                decorator_end: site.1,
                auth,
                body_auth,
                misplaced_auth: None,
                rate_limit,
                handler: class.name.clone(),
                class: Some(info.idx),
                view: Some(class.name.clone()),
                public,
                default_auth,
                default_throttle,
                detail: false,
            };
            let sorted = |s: &BTreeSet<&str>| -> Vec<String> {
                let order = ["GET", "POST", "PUT", "PATCH", "DELETE"];
                order
                    .iter()
                    .filter(|m| s.contains(*m))
                    .map(|m| m.to_string())
                    .collect()
            };
            if viewset {
                if !list.is_empty() {
                    routes.push(Route {
                        methods: sorted(&list),
                        function: handler_fn.unwrap_or(usize::MAX),
                        ..base.clone()
                    });
                }
                if !detail.is_empty() {
                    routes.push(Route {
                        methods: sorted(&detail),
                        path: format!("<{lookup}>/"),
                        function: detail_fn.unwrap_or(usize::MAX),
                        detail: true,
                        ..base.clone()
                    });
                }
                self.viewset_actions(&info, &base, &lookup, src, routes);
            } else {
                let mut all = list.clone();
                all.extend(detail.iter().copied());
                if all.is_empty() {
                    continue;
                }
                let is_detail = !detail.is_empty()
                    || sig_path
                        .split('/')
                        .any(|p| crate::model::routes::is_id_param(p.trim_matches(['<', '>'])));
                let path = if sig_path.is_empty() && !detail.is_empty() {
                    format!("<{lookup}>/")
                } else {
                    sig_path
                };
                routes.push(Route {
                    methods: sorted(&all),
                    path,
                    function: handler_fn.unwrap_or(usize::MAX),
                    detail: is_detail,
                    ..base
                });
            }
        }
    }

    /// `@action(detail=True, methods=["post"])` methods of a viewset.
    fn viewset_actions(
        &self,
        info: &ClassInfo,
        base: &Route,
        lookup: &str,
        src: &str,
        routes: &mut Vec<Route>,
    ) {
        let _ = src;
        for (i, f) in self.methods_of(&self.classes[info.idx]) {
            let Some(d) = f.decorators.iter().find(|d| last(&d.callee) == "action") else {
                continue;
            };
            let detail = d.text.contains("detail=True");
            let methods = quoted_list_kw(&d.text, "methods").unwrap_or_else(|| vec!["GET".into()]);
            let segment = kw_string(&d.text, "url_path").unwrap_or_else(|| f.name.clone());
            let mut auth = base.auth.clone();
            let mut public = base.public;
            let mut default_auth = base.default_auth;
            if let Some(pc) = kw_text(&d.text, "permission_classes") {
                default_auth = false;
                if ALLOW_ANY.is_match(pc) || is_empty_list(pc) {
                    public = true;
                    auth = None;
                } else {
                    public = false;
                    auth = Some(format!("permission_classes={}", clip(pc)));
                }
            }
            let mut rate_limit = base.rate_limit.clone();
            let mut default_throttle = base.default_throttle;
            if let Some(t) = kw_text(&d.text, "throttle_classes") {
                default_throttle = false;
                rate_limit = (!is_empty_list(t)).then(|| format!("throttle_classes={}", clip(t)));
            }
            routes.push(Route {
                methods,
                path: if detail {
                    format!("<{lookup}>/{segment}/")
                } else {
                    format!("{segment}/")
                },
                function: i,
                decorator_start: d.start,
                decorator_end: d.end,
                auth,
                public,
                default_auth,
                rate_limit,
                default_throttle,
                handler: format!("{}.{}", base.handler, f.name),
                detail,
                ..base.clone()
            });
        }
    }

    /// flask-restx/flask-restful `Resource` classes: one route per HTTP method.
    fn resource_routes(
        &self,
        src: &str,
        framework: Framework,
        reg: &Registrations,
        routes: &mut Vec<Route>,
    ) {
        for (ci, class) in self.classes.iter().enumerate() {
            let info = self.class_info(ci);
            let is_resource = info.bases.iter().any(|b| b.ends_with("Resource"));
            if !is_resource {
                continue;
            }
            // (router variable, path) from `@ns.route("/x")` and `api.add_resource(C, "/x")`.
            let mut paths: Vec<(String, String)> = Vec::new();
            for d in &class.decorators {
                if let Some((recv, "route")) = d.callee.rsplit_once('.') {
                    if let Some(p) = first_string_arg(&d.text) {
                        paths.push((
                            recv.to_string(),
                            format!("{}{p}", self.namespace_prefix(recv)),
                        ));
                    }
                }
            }
            for (recv, cls, p) in &reg.resources {
                if *cls == class.name {
                    paths.push((recv.clone(), format!("{}{p}", self.namespace_prefix(recv))));
                }
            }
            let method_decorators = self.class_attr(&info, "method_decorators");
            let class_decorators = self.class_attr(&info, "decorators");
            let methods = self.chain_methods(&info);
            for (fi, f) in &methods {
                if !HTTP_METHODS.contains(&f.name.as_str()) {
                    continue;
                }
                let method = f.name.to_uppercase();
                let body = src.get(f.body.0..f.body.1).unwrap_or("");
                let own_auth = f
                    .decorators
                    .iter()
                    .find(|d| AUTH_DECORATOR.is_match(&d.callee))
                    .map(|d| clip(&d.text));
                let list_auth = [method_decorators, class_decorators]
                    .into_iter()
                    .flatten()
                    .find(|a| decorators_apply(&a.value, &f.name, |t| AUTH_DECORATOR.is_match(t)))
                    .map(|a| format!("{} = {}", a.name, clip(&a.value)));
                let rate_limit = f
                    .decorators
                    .iter()
                    .find(|d| RATE_LIMIT.is_match(&d.callee))
                    .map(|d| clip(&d.text))
                    .or_else(|| {
                        [method_decorators, class_decorators]
                            .into_iter()
                            .flatten()
                            .find(|a| {
                                decorators_apply(&a.value, &f.name, |t| RATE_LIMIT.is_match(t))
                            })
                            .map(|a| format!("{} = {}", a.name, clip(&a.value)))
                    });
                // A project base class (`BaseResource` with `decorators = [login_required]`)
                // may declare auth this file cannot see.
                let default_auth =
                    own_auth.is_none() && list_auth.is_none() && info.foreign_base.is_some();
                let (start, end) = def_site(f, src);
                // `method_decorators = {"post": [login_required]}` leaves the other
                // methods public on purpose, and so does an explicitly empty list (a
                // `PublicResource` base next to `AuthResource`s).
                let public = own_auth.is_none()
                    && list_auth.is_none()
                    && method_decorators.is_some_and(|a| {
                        let v = a.value.trim();
                        (v.starts_with('{') && AUTH_DECORATOR.is_match(v))
                            || matches!(v, "[]" | "()")
                    });
                let base = Route {
                    framework,
                    router: "resources".into(),
                    methods: vec![method.clone()],
                    path: signature_path_flask(f),
                    prefix: String::new(),
                    function: *fi,
                    decorator_start: start,
                    decorator_end: end,
                    auth: own_auth.or(list_auth),
                    body_auth: body_auth(body),
                    misplaced_auth: None,
                    rate_limit,
                    handler: format!("{}.{}", class.name, f.name),
                    class: Some(ci),
                    view: Some(class.name.clone()),
                    public,
                    default_auth,
                    default_throttle: false,
                    detail: false,
                };
                if paths.is_empty() {
                    routes.push(base);
                    continue;
                }
                for (recv, path) in &paths {
                    let router_auth = self.namespace_auth(recv);
                    routes.push(Route {
                        router: recv.clone(),
                        path: path.clone(),
                        view: None,
                        auth: base.auth.clone().or(router_auth),
                        ..base.clone()
                    });
                }
            }
        }
    }

    /// `ns = Namespace("tasks")` -> `/tasks`; `Namespace("x", path="/y")` -> `/y`.
    fn namespace_prefix(&self, var: &str) -> String {
        let Some((callee, call)) = self.assigned_calls.get(var) else {
            return String::new();
        };
        if !(last(callee) == "Namespace" || last(callee) == "namespace") {
            return String::new();
        }
        if let Some(p) = kw_string(call, "path") {
            return p;
        }
        first_string_arg(call)
            .map(|n| format!("/{}", n.trim_matches('/')))
            .unwrap_or_default()
    }

    /// `Namespace(.., decorators=[login_required])`, `Api(app, decorators=[..])`.
    fn namespace_auth(&self, var: &str) -> Option<String> {
        let (_, call) = self.assigned_calls.get(var)?;
        let decorators = kw_text(call, "decorators")?;
        AUTH_DECORATOR
            .is_match(decorators)
            .then(|| format!("{var}: decorators={}", clip(decorators)))
    }

    /// Starlette `Route("/path", endpoint)` entries of this file whose endpoint is defined here.
    fn starlette_routes(&self, src: &str, reg: &Registrations, routes: &mut Vec<Route>) {
        for r in &reg.starlette {
            let prefix = reg.mount_vars.get(&r.list).cloned().unwrap_or_default();
            let path = format!("{prefix}{}", r.path);
            let mut targets: Vec<(usize, Vec<String>)> = Vec::new();
            if let Some(fi) = self
                .functions
                .iter()
                .position(|f| f.class.is_none() && f.name == r.endpoint)
            {
                let methods = r
                    .methods
                    .clone()
                    .unwrap_or_else(|| vec![if r.websocket { "WS" } else { "GET" }.to_string()]);
                targets.push((fi, methods));
            } else if let Some(class) = self.classes.iter().find(|c| c.name == r.endpoint) {
                for (fi, f) in self.methods_of(class) {
                    if HTTP_METHODS.contains(&f.name.as_str()) {
                        targets.push((fi, vec![f.name.to_uppercase()]));
                    }
                }
            }
            for (fi, methods) in targets {
                let f = &self.functions[fi];
                let body = src.get(f.body.0..f.body.1).unwrap_or("");
                let auth = f
                    .decorators
                    .iter()
                    .find(|d| AUTH_DECORATOR.is_match(&d.callee))
                    .map(|d| clip(&d.text))
                    .or_else(|| reg.app_auth.clone());
                let rate_limit = f
                    .decorators
                    .iter()
                    .find(|d| RATE_LIMIT.is_match(&d.callee))
                    .map(|d| clip(&d.text));
                routes.push(Route {
                    framework: Framework::Starlette,
                    router: r.list.clone(),
                    methods,
                    path: path.clone(),
                    prefix: prefix.clone(),
                    function: fi,
                    decorator_start: r.start,
                    decorator_end: r.end,
                    auth,
                    body_auth: body_auth(body),
                    misplaced_auth: None,
                    rate_limit,
                    handler: f.name.clone(),
                    class: None,
                    view: None,
                    public: false,
                    default_auth: false,
                    default_throttle: false,
                    detail: false,
                });
            }
        }
    }

    /// One pass over the calls of the file: Django `path()`/`re_path()`/`include()`, DRF
    /// `router.register()`, `api.add_resource()`, Starlette `Route`/`Mount`/`Starlette`.
    fn collect_registrations(&self, root: Node<'_>, src: &str, reg: &mut Registrations) {
        let mut mounts: Vec<(String, String)> = Vec::new();
        super::visit(root, |n| {
            match n.kind() {
                "call" => self.registration_call(n, src, reg, &mut mounts),
                "attribute" => self.router_urls(n, src, reg),
                _ => {}
            }
            true
        });
        for (var, prefix) in mounts {
            reg.mount_vars.entry(var).or_insert(prefix);
        }
    }

    fn url_fn(&self, call: Node<'_>, src: &str) -> Option<&'static str> {
        let f = call.child_by_field_name("function")?;
        let q = self.resolve(text(f, src))?;
        if !q.starts_with("django.") {
            return None;
        }
        match last(&q) {
            "path" => Some("path"),
            "re_path" | "url" => Some("re_path"),
            "include" => Some("include"),
            _ => None,
        }
    }

    fn starlette_fn(&self, call: Node<'_>, src: &str) -> Option<&'static str> {
        let f = call.child_by_field_name("function")?;
        let q = self.resolve(text(f, src))?;
        if !q.starts_with("starlette.") && !q.starts_with("fastapi.") {
            return None;
        }
        match last(&q) {
            "Route" => Some("Route"),
            "WebSocketRoute" => Some("WebSocketRoute"),
            "Mount" => Some("Mount"),
            "Starlette" => Some("Starlette"),
            _ => None,
        }
    }

    /// The URL pattern of a Django `path()`/`re_path()` call.
    fn url_pattern(&self, call: Node<'_>, src: &str, kind: &str) -> Option<String> {
        let arg = positional(call, 0).or_else(|| keyword(call, src, "route"))?;
        let s = string_value(arg, src)?;
        Some(if kind == "re_path" {
            regex_to_path(&s)
        } else {
            s
        })
    }

    /// Patterns of the enclosing `path("api/", include([...]))` calls, outermost first,
    /// and the module-level list the entry belongs to.
    fn url_context(
        &self,
        node: Node<'_>,
        src: &str,
        want: fn(&PyFacts, Node<'_>, &str) -> Option<String>,
    ) -> (String, String) {
        let mut prefix = String::new();
        let mut list = String::new();
        let mut cur = node.parent();
        let mut depth = 0;
        while let Some(p) = cur {
            depth += 1;
            if depth > 64 {
                break;
            }
            if p.kind() == "call" {
                if let Some(pre) = want(self, p, src) {
                    prefix = format!("{pre}{prefix}");
                }
            }
            if matches!(p.kind(), "assignment" | "augmented_assignment")
                && p.parent()
                    .and_then(|s| s.parent())
                    .is_some_and(|m| m.kind() == "module")
            {
                if let Some(left) = p
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "identifier")
                {
                    list = text(left, src).to_string();
                }
            }
            cur = p.parent();
        }
        (prefix, list)
    }

    fn registration_call(
        &self,
        call: Node<'_>,
        src: &str,
        reg: &mut Registrations,
        mounts: &mut Vec<(String, String)>,
    ) {
        if let Some(kind) = self.url_fn(call, src) {
            if kind == "include" {
                return;
            }
            let Some(pattern) = self.url_pattern(call, src, kind) else {
                return;
            };
            let (prefix, list) = self.url_context(call, src, |facts, p, src| {
                let kind = facts.url_fn(p, src)?;
                (kind != "include")
                    .then(|| facts.url_pattern(p, src, kind))
                    .flatten()
            });
            let list = if list.is_empty() {
                "urlpatterns".to_string()
            } else {
                list
            };
            let Some(view) = positional(call, 1).or_else(|| keyword(call, src, "view")) else {
                return;
            };
            if let Some((include, module, name)) = self.url_target(view, src) {
                reg.entries.push(UrlEntry {
                    list,
                    pattern: format!("{prefix}{pattern}"),
                    include,
                    append: false,
                    module,
                    name,
                    start: call.start_byte(),
                });
            }
            return;
        }
        if let Some(kind) = self.starlette_fn(call, src) {
            let path = positional(call, 0)
                .or_else(|| keyword(call, src, "path"))
                .and_then(|a| string_value(a, src));
            let mount_prefix = |facts: &PyFacts, p: Node<'_>, src: &str| {
                (facts.starlette_fn(p, src)? == "Mount")
                    .then(|| positional(p, 0).and_then(|a| string_value(a, src)))
                    .flatten()
            };
            match kind {
                "Route" | "WebSocketRoute" => {
                    let Some(path) = path else { return };
                    let Some(endpoint) =
                        positional(call, 1).or_else(|| keyword(call, src, "endpoint"))
                    else {
                        return;
                    };
                    let (prefix, list) = self.url_context(call, src, mount_prefix);
                    let methods = keyword(call, src, "methods")
                        .and_then(|m| quoted_list(&format!("({})", text(m, src))));
                    reg.starlette.push(StarletteRoute {
                        list: if list.is_empty() {
                            "routes".into()
                        } else {
                            list
                        },
                        path: format!("{prefix}{path}"),
                        endpoint: text(endpoint, src).to_string(),
                        methods,
                        websocket: kind == "WebSocketRoute",
                        start: call.start_byte(),
                        end: call.end_byte(),
                    });
                }
                "Mount" => {
                    let Some(path) = path else { return };
                    if let Some(var) = keyword(call, src, "routes")
                        .or_else(|| positional(call, 1))
                        .filter(|v| v.kind() == "identifier")
                    {
                        let (prefix, _) = self.url_context(call, src, mount_prefix);
                        mounts.push((text(var, src).to_string(), format!("{prefix}{path}")));
                    }
                }
                _ => {
                    // Starlette(routes=..., middleware=[Middleware(RequireAuth), ...]).
                    // `AuthenticationMiddleware` only identifies the caller (`request.user`);
                    // `@requires(...)` enforces, so it is not auth on its own.
                    if let Some(mw) = keyword(call, src, "middleware") {
                        static MW: LazyLock<Regex> = LazyLock::new(|| {
                            re::new(r"Middleware\(\s*([\w.]+)").expect("static regex")
                        });
                        for c in MW.captures_iter(text(mw, src)) {
                            let name = last(&c[1]);
                            if AUTH_MIDDLEWARE.is_match(name) && name != "AuthenticationMiddleware"
                            {
                                reg.app_auth.get_or_insert_with(|| name.to_string());
                            }
                        }
                    }
                }
            }
            return;
        }
        // router.register(r"orders", OrderViewSet), api.add_resource(Cls, "/a", "/b")
        let Some((obj, attr)) = super::python::method_call(call) else {
            return;
        };
        let recv = text(obj, src);
        match text(attr, src) {
            "register" if self.is_drf_router(recv) => {
                let (Some(prefix), Some(view)) = (
                    positional(call, 0).and_then(|a| string_value(a, src)),
                    positional(call, 1).or_else(|| keyword(call, src, "viewset")),
                ) else {
                    return;
                };
                let Some((_, module, name)) = self.url_target(view, src) else {
                    return;
                };
                let trailing = self
                    .assigned_calls
                    .get(recv)
                    .is_none_or(|(_, c)| !c.contains("trailing_slash=False"));
                let mut pattern = prefix.trim_start_matches('^').to_string();
                if trailing && !pattern.is_empty() && !pattern.ends_with('/') {
                    pattern.push('/');
                }
                reg.entries.push(UrlEntry {
                    list: recv.to_string(),
                    pattern,
                    include: false,
                    append: true,
                    module,
                    name,
                    start: call.start_byte(),
                });
            }
            // `api.add_resource(..)`, redash's `api.add_org_resource(..)`.
            a if a.starts_with("add_") && a.ends_with("resource") => {
                let Some(cls) = positional(call, 0) else {
                    return;
                };
                let mut i = 1;
                while let Some(p) = positional(call, i).and_then(|a| string_value(a, src)) {
                    i += 1;
                    let name = text(cls, src);
                    if self.classes.iter().any(|c| c.name == name) {
                        reg.resources.push((recv.to_string(), name.to_string(), p));
                    } else if let Some((_, module, name)) = self.url_target(cls, src) {
                        reg.entries.push(UrlEntry {
                            list: recv.to_string(),
                            pattern: p,
                            include: false,
                            append: false,
                            module,
                            name,
                            start: call.start_byte(),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn is_drf_router(&self, var: &str) -> bool {
        self.assigned_calls
            .get(var)
            .is_some_and(|(callee, _)| last(callee).ends_with("Router"))
    }

    /// `urlpatterns += router.urls` (outside an `include(...)`).
    fn router_urls(&self, node: Node<'_>, src: &str, reg: &mut Registrations) {
        let (Some(obj), Some(attr)) = (
            node.child_by_field_name("object"),
            node.child_by_field_name("attribute"),
        ) else {
            return;
        };
        if text(attr, src) != "urls" || !self.is_drf_router(text(obj, src)) {
            return;
        }
        if node
            .parent()
            .is_some_and(|p| p.kind() == "argument_list" || p.kind() == "call")
        {
            return;
        }
        let (prefix, list) = self.url_context(node, src, |_, _, _| None);
        if list.is_empty() || list == text(obj, src) {
            return;
        }
        reg.entries.push(UrlEntry {
            list,
            pattern: prefix,
            include: true,
            append: false,
            module: None,
            name: text(obj, src).to_string(),
            start: node.start_byte(),
        });
    }

    /// What a `path()` view argument names: (include, module as imported, name).
    fn url_target(&self, node: Node<'_>, src: &str) -> Option<(bool, Option<String>, String)> {
        match node.kind() {
            "call" => {
                let f = node.child_by_field_name("function")?;
                let ft = text(f, src);
                if let Some(cls) = ft.strip_suffix(".as_view") {
                    return self.name_target(cls).map(|(m, n)| (false, m, n));
                }
                if self
                    .resolve(ft)
                    .is_some_and(|q| q.starts_with("django.") && last(&q) == "include")
                {
                    let arg = positional(node, 0)?;
                    let arg = if arg.kind() == "tuple" {
                        arg.named_child(0)?
                    } else {
                        arg
                    };
                    if let Some(s) = string_value(arg, src) {
                        return Some((true, Some(s), "urlpatterns".into()));
                    }
                    return match arg.kind() {
                        "identifier" => {
                            let name = text(arg, src);
                            match self.imports.get(name) {
                                Some(q) => Some((true, Some(q.clone()), "urlpatterns".into())),
                                None => Some((true, None, name.to_string())),
                            }
                        }
                        "attribute" => {
                            let t = text(arg, src);
                            let obj = t.strip_suffix(".urls")?;
                            self.name_target(obj).map(|(m, n)| (true, m, n))
                        }
                        _ => None,
                    };
                }
                None
            }
            "identifier" | "attribute" => {
                let t = text(node, src);
                if t.ends_with(".urls") {
                    return None;
                }
                self.name_target(t).map(|(m, n)| (false, m, n))
            }
            _ => None,
        }
    }

    /// `views.order_detail` -> (`.views`, `order_detail`); a local name -> (None, name).
    fn name_target(&self, t: &str) -> Option<(Option<String>, String)> {
        let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        let head = t.split('.').next().unwrap_or(&t);
        if self.imports.contains_key(head) {
            let q = self.resolve(&t)?;
            let (m, n) = q.rsplit_once('.')?;
            return Some((Some(m.to_string()), n.to_string()));
        }
        // A view, class or list of this module.
        (!t.contains('.')).then_some((None, t))
    }
}

#[derive(Default)]
struct Registrations {
    entries: Vec<UrlEntry>,
    starlette: Vec<StarletteRoute>,
    /// Route lists mounted by variable: `Mount("/api", routes=api_routes)`.
    mount_vars: HashMap<String, String>,
    /// Auth middleware on the `Starlette(...)` app.
    app_auth: Option<String>,
    /// `api.add_resource(LocalClass, "/path")`: (receiver, class, path).
    resources: Vec<(String, String, String)>,
}

struct StarletteRoute {
    list: String,
    path: String,
    endpoint: String,
    methods: Option<Vec<String>>,
    websocket: bool,
    start: usize,
    end: usize,
}

fn positional(call: Node<'_>, i: usize) -> Option<Node<'_>> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|a| a.kind() != "keyword_argument" && a.kind() != "comment")
        .nth(i);
    found
}

fn keyword<'t>(call: Node<'t>, src: &str, name: &str) -> Option<Node<'t>> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|a| a.kind() == "keyword_argument")
        .find(|a| {
            a.child_by_field_name("name")
                .is_some_and(|n| text(n, src) == name)
        })
        .and_then(|a| a.child_by_field_name("value"));
    found
}

fn body_auth(body: &str) -> Option<String> {
    super::python::body_auth_check(body).map(|m| format!("check in body: {}", clip(m)))
}

/// `["GET", "POST"]` inside a decorator or call text, upper-cased.
fn quoted_list(t: &str) -> Option<Vec<String>> {
    static L: LazyLock<Regex> =
        LazyLock::new(|| re::new(r#"\(\s*[\[(]([^\])]*)[\])]"#).expect("static regex"));
    let caps = L.captures(t)?;
    let items: Vec<String> = caps[1]
        .split(',')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    (!items.is_empty()).then_some(items)
}

fn quoted_list_kw(t: &str, kw: &str) -> Option<Vec<String>> {
    let v = kw_text(t, kw)?;
    quoted_list(&format!("({v})"))
}

/// The text of a keyword argument's value in a call's text (up to its closing bracket
/// for lists, else to the next comma).
fn kw_text<'a>(t: &'a str, kw: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(off) = t[from..].find(kw) {
        let i = from + off;
        from = i + kw.len();
        let before = t[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = t[i + kw.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let end = if rest.starts_with(['[', '(', '{']) {
            let mut depth = 0i32;
            let mut end = rest.len();
            for (j, c) in rest.char_indices() {
                match c {
                    '[' | '(' | '{' => depth += 1,
                    ']' | ')' | '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        } else {
            rest.find([',', ')']).unwrap_or(rest.len())
        };
        return Some(rest[..end].trim());
    }
    None
}

fn kw_string(t: &str, kw: &str) -> Option<String> {
    let v = kw_text(t, kw)?;
    let v = v.trim_start_matches(['r', 'f', 'u']);
    (v.starts_with(['"', '\''])).then(|| v.trim_matches(['"', '\'']).to_string())
}

fn is_empty_list(v: &str) -> bool {
    matches!(
        v.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .as_str(),
        "[]" | "()" | "tuple()" | "list()"
    )
}

/// `@permission_classes([])`.
fn empty_list_arg(t: &str) -> bool {
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    compact.ends_with("([])") || compact.ends_with("(())")
}

/// Whether a `method_decorators`/`decorators` value applies a matching decorator to
/// method `m`: any item of a list, or the items under key `m` of a dict.
fn decorators_apply(value: &str, m: &str, is: impl Fn(&str) -> bool) -> bool {
    let v = value.trim();
    if v.starts_with('{') {
        static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r#"["'](\w+)["']\s*:\s*(\[[^\]]*\]|\([^)]*\)|[\w.]+)"#).expect("static regex")
        });
        return ENTRY.captures_iter(v).any(|c| &c[1] == m && is(&c[2]));
    }
    is(v)
}

/// Flask-style path of a resource method's parameters: `get(self, task_id)` -> `/<task_id>`.
fn signature_path_flask(f: &PyFunction) -> String {
    f.params
        .iter()
        .skip(1)
        .map(|p| format!("/<{}>", p.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_patterns_become_paths() {
        assert_eq!(regex_to_path(r"^orders/(?P<pk>\d+)/$"), "orders/<pk>/");
        assert_eq!(
            regex_to_path(r"^(?P<slug>[-\w]+)/(?P<id>[0-9a-f]{8}(-[0-9a-f]{4})?)/$"),
            "<slug>/<id>/"
        );
        assert_eq!(regex_to_path(r"^api/v1/"), "api/v1/");
    }

    #[test]
    fn keyword_values_in_call_text() {
        let t = r#"action(detail=True, methods=["post", "put"], url_path="mark-paid")"#;
        assert_eq!(kw_text(t, "detail"), Some("True"));
        assert_eq!(
            quoted_list_kw(t, "methods"),
            Some(vec!["POST".to_string(), "PUT".to_string()])
        );
        assert_eq!(kw_string(t, "url_path").as_deref(), Some("mark-paid"));
        assert!(decorators_apply(
            r#"{"get": [login_required]}"#,
            "get",
            |t| t.contains("login")
        ));
        assert!(!decorators_apply(
            r#"{"post": [login_required]}"#,
            "get",
            |t| t.contains("login")
        ));
    }
}
