//! Rust facts: the `use` table and function-like scopes (`async fn`, closures, `async` blocks).

use super::Scope;
use crate::source::names::Names as _;
use crate::source::re;
use std::collections::HashMap;
use tree_sitter::{Node, Tree};

#[derive(Debug, Default)]
pub struct RustFacts {
    /// Name bound by a `use` item -> full path (`sleep` -> `std::thread::sleep`).
    pub uses: HashMap<String, String>,
    pub scopes: Vec<Scope>,
    /// Byte ranges of test functions and `#[cfg(test)]` modules.
    pub test_ranges: Vec<(usize, usize)>,
    /// Functions defined in the file, with their extractor parameters (only filled in
    /// files that register routes).
    pub handlers: Vec<RustHandler>,
    /// axum / actix-web routes registered in the file.
    pub routes: Vec<RustRoute>,
    /// Routers of other files (or of functions this file does not define) registered
    /// here: `.nest("/api", api::router())`, `.configure(orders::config)`,
    /// `.service(handlers::get_user)`.
    pub mounts: Vec<RustMount>,
}

/// A registration of a router built elsewhere, with the prefix and auth this file gives it.
#[derive(Debug, Clone)]
pub struct RustMount {
    /// Function whose router registers it (`main`, `app`).
    pub parent: String,
    /// The function as written (`api::router`, `handlers::get_user`).
    pub child: String,
    /// Prefix composed within this file (`/api/v1`).
    pub prefix: String,
    pub auth: Option<String>,
    pub rate_limit: Option<String>,
    pub start: usize,
    pub end: usize,
}

fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// `#[test]`, `#[tokio::test]`, `#[actix_rt::test]`... directly above a function, or
/// `#[cfg(test)]` above a module.
fn is_test_item(node: Node<'_>, src: &str) -> bool {
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev {
        if p.kind() != "attribute_item" {
            break;
        }
        let t = text(p, src);
        if t.contains("test]")
            || t.contains("::test")
            || t.contains("test(")
            || t.contains("(test)")
        {
            return true;
        }
        prev = p.prev_named_sibling();
    }
    false
}

impl RustFacts {
    pub fn build(tree: &Tree, src: &str) -> RustFacts {
        let mut facts = RustFacts::default();
        let mut cursor = tree.root_node().walk();
        loop {
            let node = cursor.node();
            match node.kind() {
                "use_declaration" => {
                    if let Some(arg) = node.child_by_field_name("argument") {
                        facts.collect_use(arg, "", src, 0);
                    }
                }
                "mod_item" if is_test_item(node, src) => {
                    facts.test_ranges.push((node.start_byte(), node.end_byte()));
                }
                "function_item" => {
                    let is_test = is_test_item(node, src);
                    if is_test {
                        facts.test_ranges.push((node.start_byte(), node.end_byte()));
                    }
                    // A test function runs on a test runtime where blocking is harmless.
                    let is_async = !is_test
                        && node
                            .named_children(&mut node.walk())
                            .find(|c| c.kind() == "function_modifiers")
                            .is_some_and(|m| text(m, src).contains("async"));
                    let name = node
                        .child_by_field_name("name")
                        .map(|n| text(n, src).to_string())
                        .unwrap_or_default();
                    facts.push_scope(node, name, is_async);
                }
                "closure_expression" => facts.push_scope(node, "<closure>".into(), false),
                "async_block" => facts.push_scope(node, "<async block>".into(), true),
                _ => {}
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    facts
                        .scopes
                        .sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
                    facts.build_routes(tree, src);
                    return facts;
                }
            }
        }
    }

    fn push_scope(&mut self, node: Node<'_>, name: String, is_async: bool) {
        self.scopes.push(Scope {
            name,
            is_async,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }

    fn collect_use(&mut self, node: Node<'_>, prefix: &str, src: &str, depth: usize) {
        if depth > 16 {
            return;
        }
        let join = |p: &str, s: &str| {
            if p.is_empty() {
                s.to_string()
            } else {
                format!("{p}::{s}")
            }
        };
        match node.kind() {
            "identifier" | "scoped_identifier" | "crate" | "self" | "super" => {
                let full = join(prefix, text(node, src));
                let last = full.rsplit("::").next().unwrap_or(&full).to_string();
                if last == "self" {
                    let parent = full.trim_end_matches("::self").to_string();
                    let name = parent.rsplit("::").next().unwrap_or(&parent).to_string();
                    self.uses.insert(name, parent);
                } else {
                    self.uses.insert(last, full);
                }
            }
            "use_as_clause" => {
                if let (Some(path), Some(alias)) = (
                    node.child_by_field_name("path"),
                    node.child_by_field_name("alias"),
                ) {
                    self.uses
                        .insert(text(alias, src).to_string(), join(prefix, text(path, src)));
                }
            }
            "scoped_use_list" => {
                let path = node
                    .child_by_field_name("path")
                    .map(|p| join(prefix, text(p, src)))
                    .unwrap_or_else(|| prefix.to_string());
                if let Some(list) = node.child_by_field_name("list") {
                    self.collect_use(list, &path, src, depth + 1);
                }
            }
            "use_list" => {
                let mut c = node.walk();
                for child in node.named_children(&mut c) {
                    self.collect_use(child, prefix, src, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Full path of a callee: the head segment goes through the `use` table.
    pub fn in_test(&self, byte: usize) -> bool {
        self.test_ranges.iter().any(|&(s, e)| s <= byte && byte < e)
    }

    pub fn resolve(&self, callee: &str) -> Option<String> {
        let callee: String = callee.chars().filter(|c| !c.is_whitespace()).collect();
        let callee = callee.trim_start_matches("::");
        let (head, rest) = match callee.split_once("::") {
            Some((h, r)) => (h, Some(r)),
            None => (callee, None),
        };
        Some(match (self.uses.get(head), rest) {
            (Some(full), Some(r)) => format!("{full}::{r}"),
            (Some(full), None) => full.clone(),
            (None, _) => callee.to_string(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Route inventory: axum and actix-web.
// ---------------------------------------------------------------------------------------

/// Web framework of a Rust route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustFramework {
    Axum,
    Actix,
}

impl RustFramework {
    pub fn name(self) -> &'static str {
        match self {
            RustFramework::Axum => "axum",
            RustFramework::Actix => "actix-web",
        }
    }
}

/// What a handler parameter extracts from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractorKind {
    Path,
    Query,
    Json,
    Form,
    State,
    Extension,
    ReqData,
    /// A custom extractor that authenticates the caller (`AuthUser`, `Claims`...).
    Auth,
    Other,
}

/// One parameter of a handler: `Path(id): Path<Uuid>`.
#[derive(Debug, Clone)]
pub struct Extractor {
    pub kind: ExtractorKind,
    /// Pattern as written (`Path(id)`, `q`).
    pub pattern: String,
    /// Type as written (`Path<Uuid>`).
    pub ty: String,
    /// The type argument (`Uuid` of `Path<Uuid>`), or the whole type for other kinds.
    pub inner: String,
    pub start: usize,
    pub end: usize,
}

impl Extractor {
    /// The extracted type's name: `AuthUser`, `User` of `web::ReqData<User>`, `Claims` of
    /// `Extension<Claims>`.
    pub fn type_name(&self) -> String {
        let (head, inner) = split_type(&self.ty);
        if matches!(head.as_str(), "Extension" | "ReqData" | "Data" | "State") && !inner.is_empty()
        {
            split_type(&inner).0
        } else {
            head
        }
    }
}

/// A handler function defined in the file.
#[derive(Debug, Clone)]
pub struct RustHandler {
    pub name: String,
    pub start: usize,
    pub end: usize,
    pub body_start: usize,
    pub body_end: usize,
    pub is_async: bool,
    pub extractors: Vec<Extractor>,
}

/// One route of an axum or actix-web service, with prefixes composed within the file.
///
/// It has the columns of the Python [`crate::model::facts::python::Route`] so both can fill one
/// `strata routes` table:
///
/// | Python `Route` | `RustRoute` |
/// |---|---|
/// | `framework` (`fastapi`, `flask`) | `framework` (`axum`, `actix-web`) |
/// | `router` (variable the route is registered on) | `router` (variable or function that builds the router) |
/// | `methods` | `methods` (`*` for any method) |
/// | `path` (with the router prefix) | `path` (with `nest`/`scope` prefixes) |
/// | `function` (index into `functions`) | `handler` (name) and `handler_fn` (index into `RustFacts::handlers`, when defined in this file) |
/// | `decorator_start`/`decorator_end` | `reg_start`/`reg_end`: the `.route(..)` call, or the name of a `#[get(..)]` function |
/// | `auth` | `auth`: auth layer/`wrap` middleware or auth extractor |
/// | `body_auth` | `body_auth`: always `None` for now |
/// | `misplaced_auth` | — (no Rust equivalent) |
/// | `rate_limit` | `rate_limit`: a governor/rate-limit layer |
/// | `path_params()` | `path_params()` (same `{id}` syntax; `:id` and `*rest` converted) |
#[derive(Debug, Clone)]
pub struct RustRoute {
    pub framework: RustFramework,
    pub router: String,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    pub handler_fn: Option<usize>,
    pub reg_start: usize,
    pub reg_end: usize,
    pub auth: Option<String>,
    pub body_auth: Option<String>,
    pub rate_limit: Option<String>,
}

impl RustRoute {
    pub fn describe(&self) -> String {
        format!("{} {}", self.methods.join(", "), self.path)
    }

    /// Parameter names in the path: `{id}`, `{*rest}`, `:id`, `*rest`.
    pub fn path_params(&self) -> Vec<String> {
        let mut out = Vec::new();
        for seg in self.path.split('/') {
            let name = if let Some(s) = seg.strip_prefix('{') {
                s.trim_end_matches('}').trim_start_matches(['*', ':'])
            } else if let Some(s) = seg.strip_prefix(':') {
                s
            } else if let Some(s) = seg.strip_prefix('*') {
                s
            } else {
                continue;
            };
            let name = name.split(':').next().unwrap_or(name).trim();
            if !name.is_empty() {
                out.push(name.to_string());
            }
        }
        out
    }
}

use regex::Regex;
use std::sync::LazyLock;

static AUTH_LAYER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)auth|jwt|bearer|login|require_?user|ValidateRequestHeaderLayer|HttpAuthentication|api_?key|guard|protect|access_?control|acl")
        .expect("static regex")
});
/// An auth layer or middleware; CORS layers name `AUTHORIZATION` headers without
/// authenticating anyone.
fn is_auth_layer(t: &str) -> bool {
    const NOT_AUTH: &[&str] = &[
        "Cors",
        "cors",
        "TraceLayer",
        "Trace",
        "Compression",
        "Timeout",
        "SetResponseHeader",
        "SetRequestHeader",
        "PropagateHeader",
        "Logger",
        "DefaultHeaders",
        "NormalizePath",
        "Compress",
        "CatchPanic",
        "RequestId",
        "SetRequestId",
        "Sensitive",
    ];
    let head = t.split(['(', '<']).next().unwrap_or(t);
    AUTH_LAYER.is_match(t) && !NOT_AUTH.iter().any(|n| head.contains(n))
}

static RATE_LAYER: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)governor|rate_?limit|ratelimit|throttl").expect("static regex"));
static AUTH_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(Auth\w*|\w*(User|Claims|Principal|Identity|Session|Account|Admin|Token|Auth|Authed|Authenticated|Caller|Member|ApiKey|BearerAuth|BasicAuth))$")
        .expect("static regex")
});
static AUTH_IMPL_BODY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)authoriz|bearer|unauthori[sz]ed|\btoken|cookie|session|jwt|api_?key|decode")
        .expect("static regex")
});
const VERBS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "any",
];

fn fn_name(node: Node<'_>, src: &str) -> String {
    node.child_by_field_name("name")
        .map(|n| text(n, src).to_string())
        .unwrap_or_default()
}

/// Text of a string literal without quotes (`r#"..."#` too).
pub fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    if !matches!(node.kind(), "string_literal" | "raw_string_literal") {
        return None;
    }
    let t = text(node, src);
    let t = t.trim_start_matches('r').trim_start_matches('#');
    let t = t.trim_end_matches('#');
    Some(t.strip_prefix('"')?.strip_suffix('"')?.to_string())
}

/// The last segment of a path-like expression: `routing::get` -> `get`, `h` -> `h`.
fn last_segment(node: Node<'_>, src: &str) -> String {
    let t = text(node, src);
    let t = t.split('<').next().unwrap_or(t);
    t.rsplit("::").next().unwrap_or(t).trim().to_string()
}

/// A method chain `base.m1(a).m2(b)`: the base expression and the calls, innermost first,
/// each as (method name, arguments, method name node).
struct Chain<'t> {
    node: Node<'t>,
    base: Node<'t>,
    calls: Vec<(String, Node<'t>, Node<'t>)>,
    owner: String,
}

pub fn unroll<'t>(call: Node<'t>, src: &str) -> (Node<'t>, Vec<(String, Node<'t>, Node<'t>)>) {
    let mut calls = Vec::new();
    let mut node = call;
    loop {
        if node.kind() == "call_expression" {
            if let (Some(f), Some(args)) = (
                node.child_by_field_name("function"),
                node.child_by_field_name("arguments"),
            ) {
                if f.kind() == "field_expression" {
                    if let (Some(value), Some(field)) = (
                        f.child_by_field_name("value"),
                        f.child_by_field_name("field"),
                    ) {
                        calls.push((text(field, src).to_string(), args, field));
                        node = value;
                        continue;
                    }
                }
            }
        }
        break;
    }
    calls.reverse();
    (node, calls)
}

fn args_of<'t>(args: Node<'t>) -> Vec<Node<'t>> {
    let mut c = args.walk();
    args.named_children(&mut c)
        .filter(|n| n.kind() != "line_comment" && n.kind() != "block_comment")
        .collect()
}

pub fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_string();
    }
    if path.is_empty() || path == "/" {
        return prefix.to_string();
    }
    format!(
        "{}/{}",
        prefix.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

const ROUTE_MARKERS: &[&str] = &[
    ".route(",
    ".nest(",
    ".service(",
    ".configure(",
    "#[get",
    "#[post",
    "#[put",
    "#[delete",
    "#[patch",
    "#[route",
    "#[head",
    "#[options",
];

const HANDLER_MARKERS: &[&str] = &[
    "axum",
    "actix",
    "Path<",
    "Query<",
    "Json<",
    "Form<",
    "HttpRequest",
    "Responder",
    "IntoResponse",
];

/// Whether a file's text registers routes or handlers (`.route(`, `#[get(`...).
pub fn registers_routes(src: &str) -> bool {
    ROUTE_MARKERS.iter().any(|m| src.contains(m))
}

struct RouteBuilder<'a, 't> {
    src: &'a str,
    uses: &'a HashMap<String, String>,
    chains: Vec<Chain<'t>>,
    by_start: HashMap<usize, usize>,
    /// `let name = <chain>`: (name, start, chain index).
    lets: Vec<(String, usize, usize)>,
    /// fn name -> chains it returns (tail expression) or, for `cfg: &mut ServiceConfig`
    /// functions, every chain on `cfg`.
    fn_chains: HashMap<String, Vec<usize>>,
    /// fn name -> (methods, path, attribute range) from `#[get("/x")]`.
    attr_routes: HashMap<String, (Vec<String>, String, usize, usize)>,
    handlers: &'a [RustHandler],
    consumed: Vec<bool>,
    attr_used: std::collections::HashSet<String>,
    budget: usize,
}

struct Pending {
    framework: RustFramework,
    methods: Vec<String>,
    path: String,
    handler: String,
    reg: (usize, usize),
    auth: Option<String>,
    rate: Option<String>,
    /// A registration of a router this file does not build: the callee as written.
    mount: Option<String>,
}

impl<'t> RouteBuilder<'_, 't> {
    /// Routes of chain `ci` under `prefix`. Depth-bounded; `budget` caps total work.
    fn resolve(&mut self, ci: usize, prefix: &str, depth: usize, out: &mut Vec<Pending>) {
        if depth > 8 || self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let first = out.len();
        let base = self.chains[ci].base;
        let calls = self.chains[ci].calls.clone();
        let mut prefix = prefix.to_string();
        let mut resource: Option<String> = None;
        let mut is_actix = false;
        // The base: a scope/resource, a variable holding a chain, a function returning one.
        match base.kind() {
            "call_expression" => {
                let f = base.child_by_field_name("function");
                let name = f.map(|f| last_segment(f, self.src)).unwrap_or_default();
                let arg0 = base
                    .child_by_field_name("arguments")
                    .and_then(|a| args_of(a).first().copied())
                    .and_then(|a| string_value(a, self.src));
                match name.as_str() {
                    "scope" => {
                        is_actix = true;
                        prefix = join_path(&prefix, &arg0.unwrap_or_default());
                    }
                    "resource" => {
                        is_actix = true;
                        resource = Some(join_path(&prefix, &arg0.unwrap_or_default()));
                    }
                    _ => {
                        if let Some(f) = f {
                            self.resolve_expr_fn(f, &prefix, depth, out);
                        }
                    }
                }
            }
            "identifier" => {
                let name = text(base, self.src).to_string();
                if let Some(prev) = self.let_before(&name, base.start_byte()) {
                    self.consumed[prev] = true;
                    self.resolve(prev, &prefix, depth + 1, out);
                }
            }
            _ => {}
        }
        let mut wraps: Vec<String> = Vec::new();
        let mut rate_wraps: Vec<String> = Vec::new();
        for (method, args, call) in &calls {
            let a = args_of(*args);
            match method.as_str() {
                "route" if a.len() == 2 => {
                    let Some(p) = string_value(a[0], self.src) else {
                        continue;
                    };
                    let path = join_path(&prefix, &p);
                    for (methods, handler, fw) in self.method_router(a[1]) {
                        out.push(self.pending(fw, methods, path.clone(), handler, *call, *args));
                    }
                }
                "route" if a.len() == 1 => {
                    if let Some(path) = resource.clone() {
                        for (methods, handler, _) in self.method_router(a[0]) {
                            out.push(self.pending(
                                RustFramework::Actix,
                                methods,
                                path.clone(),
                                handler,
                                *call,
                                *args,
                            ));
                        }
                    }
                }
                "to" if a.len() == 1 => {
                    if let Some(path) = resource.clone() {
                        let h = last_segment(a[0], self.src);
                        out.push(self.pending(
                            RustFramework::Actix,
                            vec!["*".into()],
                            path,
                            h,
                            *call,
                            *args,
                        ));
                    }
                }
                "nest" | "nest_service" if a.len() == 2 => {
                    let Some(p) = string_value(a[0], self.src) else {
                        continue;
                    };
                    let np = join_path(&prefix, &p);
                    self.resolve_expr(a[1], &np, depth, out);
                }
                "merge" if a.len() == 1 => self.resolve_expr(a[0], &prefix, depth, out),
                "service" if a.len() == 1 => {
                    is_actix = true;
                    self.resolve_expr(a[0], &prefix, depth, out)
                }
                "configure" if a.len() == 1 => {
                    is_actix = true;
                    self.resolve_expr_fn(a[0], &prefix, depth, out)
                }
                "layer" | "route_layer" if a.len() == 1 => {
                    let t = text(a[0], self.src);
                    if is_auth_layer(t) {
                        let label = short_label(t);
                        for p in &mut out[first..] {
                            p.auth.get_or_insert_with(|| label.clone());
                        }
                    }
                    if RATE_LAYER.is_match(t) {
                        let label = short_label(t);
                        for p in &mut out[first..] {
                            p.rate.get_or_insert_with(|| label.clone());
                        }
                    }
                }
                "wrap" | "wrap_fn" if a.len() == 1 => {
                    is_actix = true;
                    let t = text(a[0], self.src);
                    if is_auth_layer(t) {
                        wraps.push(short_label(t));
                    }
                    if RATE_LAYER.is_match(t) {
                        rate_wraps.push(short_label(t));
                    }
                }
                _ => {}
            }
        }
        // actix `wrap` covers the whole scope/app whatever the order.
        if is_actix {
            for p in &mut out[first..] {
                if let Some(w) = wraps.first() {
                    p.auth.get_or_insert_with(|| w.clone());
                }
                if let Some(w) = rate_wraps.first() {
                    p.rate.get_or_insert_with(|| w.clone());
                }
            }
        }
    }

    fn pending(
        &self,
        framework: RustFramework,
        methods: Vec<String>,
        path: String,
        handler: String,
        call: Node<'_>,
        args: Node<'_>,
    ) -> Pending {
        Pending {
            framework,
            methods,
            path,
            handler,
            reg: (call.start_byte(), args.end_byte()),
            auth: None,
            rate: None,
            mount: None,
        }
    }

    /// Whether a path names a function of this crate (`api::router` with `mod api;`,
    /// `crate::routes::config`, an imported `use crate::handlers::get_user`), not a
    /// constructor (`ServeDir::new`) or another crate's function.
    fn crate_local(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split("::").map(str::trim).collect();
        // Module paths and functions are lower case; `ServeDir::new` is a constructor.
        if !segs
            .iter()
            .all(|s| s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_'))
        {
            return false;
        }
        let local_path = |p: &str| {
            p.starts_with("crate::") || p.starts_with("self::") || p.starts_with("super::")
        };
        let head = segs[0];
        if matches!(head, "crate" | "self" | "super") {
            return true;
        }
        match self.uses.get(head) {
            Some(full) => local_path(full),
            None if segs.len() == 1 => true,
            None => {
                // `mod api;` in this file.
                self.src.match_indices("mod ").any(|(i, _)| {
                    let rest = &self.src[i + 4..];
                    rest.strip_prefix(head)
                        .is_some_and(|r| r.trim_start().starts_with(';'))
                        && (i == 0
                            || !self.src[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
                })
            }
        }
    }

    fn mount(&self, f: Node<'_>, prefix: &str) -> Pending {
        let callee: String = text(f, self.src)
            .split("::<")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        Pending {
            framework: RustFramework::Axum,
            methods: Vec::new(),
            path: prefix.to_string(),
            handler: String::new(),
            reg: (f.start_byte(), f.end_byte()),
            auth: None,
            rate: None,
            mount: Some(callee),
        }
    }

    fn let_before(&self, name: &str, before: usize) -> Option<usize> {
        self.lets
            .iter()
            .filter(|(n, s, _)| n == name && *s < before)
            .max_by_key(|(_, s, _)| *s)
            .map(|(_, _, c)| *c)
    }

    /// An argument of `nest`/`merge`/`service`: a chain, a variable, a function call,
    /// or (actix) the name of a `#[get(..)]` handler.
    fn resolve_expr(&mut self, e: Node<'t>, prefix: &str, depth: usize, out: &mut Vec<Pending>) {
        if let Some(&ci) = self.by_start.get(&e.start_byte()) {
            self.consumed[ci] = true;
            self.resolve(ci, prefix, depth + 1, out);
            return;
        }
        match e.kind() {
            "identifier" | "scoped_identifier" => {
                let name = last_segment(e, self.src);
                if let Some((methods, path, s, en)) = self.attr_routes.get(&name).cloned() {
                    self.attr_used.insert(name.clone());
                    out.push(Pending {
                        framework: RustFramework::Actix,
                        methods,
                        path: join_path(prefix, &path),
                        handler: name,
                        reg: (s, en),
                        auth: None,
                        rate: None,
                        mount: None,
                    });
                } else if let Some(ci) = self.let_before(&name, e.start_byte()) {
                    self.consumed[ci] = true;
                    self.resolve(ci, prefix, depth + 1, out);
                } else if !self.fn_chains.contains_key(&name) && self.crate_local(text(e, self.src))
                {
                    // A handler or config function of another file.
                    out.push(self.mount(e, prefix));
                }
            }
            "call_expression" => {
                let Some(f) = e.child_by_field_name("function") else {
                    return;
                };
                if f.kind() == "field_expression" {
                    // `users::router().layer(auth)`: the router, then its layers.
                    let (base, calls) = unroll(e, self.src);
                    if depth >= 8 {
                        return;
                    }
                    let before = out.len();
                    self.resolve_expr(base, prefix, depth + 1, out);
                    for (method, args, _) in &calls {
                        let a = args_of(*args);
                        if !matches!(method.as_str(), "layer" | "route_layer" | "wrap")
                            || a.len() != 1
                        {
                            continue;
                        }
                        let t = text(a[0], self.src);
                        for p in &mut out[before..] {
                            if is_auth_layer(t) {
                                p.auth.get_or_insert_with(|| short_label(t));
                            }
                            if RATE_LAYER.is_match(t) {
                                p.rate.get_or_insert_with(|| short_label(t));
                            }
                        }
                    }
                    return;
                }
                let name = last_segment(f, self.src);
                if matches!(name.as_str(), "scope" | "resource") {
                    // A bare `web::scope("/x")` with nothing on it.
                    return;
                }
                let before = out.len();
                self.resolve_expr_fn(f, prefix, depth, out);
                // A wrapper of this file (`with_feature(state, Feature::Blog,
                // blogs::new(state))`): the routers among its arguments.
                let local_fn = self.handlers.iter().any(|h| h.name == name);
                if out.len() == before && local_fn && depth < 8 {
                    if let Some(args) = e.child_by_field_name("arguments") {
                        for a in args_of(args) {
                            let qualified = a
                                .child_by_field_name("function")
                                .is_some_and(|g| text(g, self.src).contains("::"));
                            if a.kind() == "call_expression" && qualified {
                                self.resolve_expr(a, prefix, depth + 1, out);
                            }
                        }
                    }
                }
            }
            "reference_expression" | "parenthesized_expression" => {
                if let Some(inner) = e.named_child(0) {
                    self.resolve_expr(inner, prefix, depth, out);
                }
            }
            _ => {}
        }
    }

    fn resolve_expr_fn(&mut self, f: Node<'t>, prefix: &str, depth: usize, out: &mut Vec<Pending>) {
        let name = last_segment(f, self.src);
        let t = text(f, self.src);
        // `api::router()` names another module's function even when this file has a
        // function of the same name; `Self::routes()` and bare names are local first.
        let local = !t.contains("::") || t.starts_with("Self::") || t.starts_with("self::");
        match self.fn_chains.get(&name).cloned() {
            Some(list) if local => {
                for ci in list {
                    self.consumed[ci] = true;
                    self.resolve(ci, prefix, depth + 1, out);
                }
            }
            _ if (f.kind() == "identifier" || f.kind() == "scoped_identifier")
                && !(local && self.handlers.iter().any(|h| h.name == name))
                && self.crate_local(t) =>
            {
                out.push(self.mount(f, prefix));
            }
            _ => {}
        }
    }

    /// `get(h).post(h2)` (axum) or `web::get().to(h)` (actix): (methods, handler, framework).
    fn method_router(&self, e: Node<'_>) -> Vec<(Vec<String>, String, RustFramework)> {
        let mut out = Vec::new();
        let mut node = e;
        let mut actix_to: Option<String> = None;
        // Walk from the outermost call down the receiver chain.
        for _ in 0..32 {
            if node.kind() != "call_expression" {
                break;
            }
            let (Some(f), Some(args)) = (
                node.child_by_field_name("function"),
                node.child_by_field_name("arguments"),
            ) else {
                break;
            };
            let a = args_of(args);
            let (name, next) = match f.kind() {
                "field_expression" => (
                    f.child_by_field_name("field")
                        .map(|x| text(x, self.src).to_string())
                        .unwrap_or_default(),
                    f.child_by_field_name("value"),
                ),
                _ => (last_segment(f, self.src), None),
            };
            let lname = name.to_ascii_lowercase();
            if name == "to" && a.len() == 1 {
                actix_to = Some(last_segment(a[0], self.src));
            } else if VERBS.contains(&lname.as_str()) {
                let m = if lname == "any" {
                    "*".to_string()
                } else {
                    lname.to_ascii_uppercase()
                };
                if a.len() == 1 {
                    out.push((vec![m], handler_name(a[0], self.src), RustFramework::Axum));
                } else if a.is_empty() {
                    if let Some(h) = actix_to.take() {
                        out.push((vec![m], h, RustFramework::Actix));
                    }
                }
            } else if name == "on" && a.len() == 2 {
                let m = text(a[0], self.src);
                let m = m.rsplit("::").next().unwrap_or(m).to_string();
                out.push((vec![m], handler_name(a[1], self.src), RustFramework::Axum));
            } else if name == "method" && a.len() == 1 {
                if let Some(h) = actix_to.take() {
                    let m = text(a[0], self.src);
                    let m = m.rsplit("::").next().unwrap_or(m).to_string();
                    out.push((vec![m], h, RustFramework::Actix));
                }
            } else if name == "route" && a.is_empty() {
                if let Some(h) = actix_to.take() {
                    out.push((vec!["*".into()], h, RustFramework::Actix));
                }
            }
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        out.reverse();
        out
    }
}

fn handler_name(node: Node<'_>, src: &str) -> String {
    match node.kind() {
        "closure_expression" => "<closure>".into(),
        "identifier" | "scoped_identifier" | "generic_function" => last_segment(node, src),
        _ => text(node, src).chars().take(40).collect(),
    }
}

fn short_label(t: &str) -> String {
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        let mut s: String = t.chars().take(60).collect();
        s.push('…');
        s
    } else {
        t
    }
}

/// `#[get("/x")]`, `#[route("/x", method = "GET", method = "POST")]` above a fn.
fn attr_route(node: Node<'_>, src: &str) -> Option<(Vec<String>, String, usize, usize)> {
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev {
        if p.kind() != "attribute_item" {
            if p.kind() == "line_comment" || p.kind() == "block_comment" {
                prev = p.prev_named_sibling();
                continue;
            }
            break;
        }
        let t = text(p, src);
        static ATTR: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r#"^#\[\s*(?:actix_web::|web::)?(get|post|put|delete|patch|head|options|trace|route)\s*\(\s*"([^"]*)"(.*)\)\s*\]$"#)
                .expect("static regex")
        });
        static METHOD: LazyLock<Regex> =
            LazyLock::new(|| re::new(r#"method\s*=\s*"(\w+)""#).expect("static regex"));
        let flat: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(c) = ATTR.captures(&flat) {
            let verb = c.get(1).map_or("", |m| m.as_str());
            let path = c.get(2).map_or("", |m| m.as_str()).to_string();
            let methods = if verb == "route" {
                let rest = c.get(3).map_or("", |m| m.as_str());
                let ms: Vec<String> = METHOD
                    .captures_iter(rest)
                    .filter_map(|m| m.get(1).map(|x| x.as_str().to_ascii_uppercase()))
                    .collect();
                if ms.is_empty() {
                    vec!["*".into()]
                } else {
                    ms
                }
            } else {
                vec![verb.to_ascii_uppercase()]
            };
            // Reported at the function's name: the attribute line is not code to
            // every tool.
            let at = node.child_by_field_name("name").unwrap_or(p);
            return Some((methods, path, at.start_byte(), at.end_byte()));
        }
        prev = p.prev_named_sibling();
    }
    None
}

/// Base type name and its first type argument: `web::Path<(u32, String)>` ->
/// (`Path`, `(u32, String)`).
pub fn split_type(ty: &str) -> (String, String) {
    let flat: String = ty.split_whitespace().collect::<Vec<_>>().join(" ");
    let (head, inner) = match flat.find('<') {
        Some(i) => (
            &flat[..i],
            flat[i + 1..].strip_suffix('>').unwrap_or(&flat[i + 1..]),
        ),
        None => (flat.as_str(), ""),
    };
    let head = head.trim_start_matches('&').trim();
    let head = head.rsplit("::").next().unwrap_or(head).to_string();
    (head, inner.trim().to_string())
}

fn handler_info(node: Node<'_>, src: &str, auth_types: &[String]) -> Option<RustHandler> {
    let body = node.child_by_field_name("body")?;
    let params = node.child_by_field_name("parameters")?;
    let is_async = node
        .named_children(&mut node.walk())
        .find(|c| c.kind() == "function_modifiers")
        .is_some_and(|m| text(m, src).contains("async"));
    let mut extractors = Vec::new();
    let mut c = params.walk();
    for p in params.named_children(&mut c) {
        if p.kind() != "parameter" {
            continue;
        }
        let (Some(pat), Some(ty)) = (
            p.child_by_field_name("pattern"),
            p.child_by_field_name("type"),
        ) else {
            continue;
        };
        let ty_text = text(ty, src).to_string();
        let (head, inner) = split_type(&ty_text);
        let inner_head = split_type(&inner).0;
        let kind = match head.as_str() {
            "Path" => ExtractorKind::Path,
            "Query" => ExtractorKind::Query,
            "Json" => ExtractorKind::Json,
            "Form" => ExtractorKind::Form,
            "State" | "Data" => ExtractorKind::State,
            "Extension" | "ReqData" if is_auth_type(&inner_head, auth_types) => ExtractorKind::Auth,
            "Extension" => ExtractorKind::Extension,
            "ReqData" => ExtractorKind::ReqData,
            h if is_auth_type(h, auth_types) => ExtractorKind::Auth,
            "Option" if is_auth_type(&inner_head, auth_types) => ExtractorKind::Other,
            _ => ExtractorKind::Other,
        };
        extractors.push(Extractor {
            kind,
            pattern: text(pat, src).to_string(),
            ty: ty_text.clone(),
            inner: if inner.is_empty() { ty_text } else { inner },
            start: p.start_byte(),
            end: p.end_byte(),
        });
    }
    Some(RustHandler {
        name: fn_name(node, src),
        start: node.start_byte(),
        end: node.end_byte(),
        body_start: body.start_byte(),
        body_end: body.end_byte(),
        is_async,
        extractors,
    })
}

fn is_auth_type(name: &str, auth_types: &[String]) -> bool {
    auth_types.iter().any(|t| t == name)
        || (AUTH_TYPE.is_match(name)
            && !matches!(name, "Session" | "UserAgent" | "TypedHeader" | "CookieJar"))
}

impl RustFacts {
    /// Builds `routes` and `handlers`. Only files that look like they register routes
    /// pay for it.
    fn build_routes(&mut self, tree: &Tree, src: &str) {
        let registers = ROUTE_MARKERS.iter().any(|m| src.contains(m));
        if !registers && !HANDLER_MARKERS.iter().any(|m| src.contains(m)) {
            return;
        }
        let mut chains: Vec<Chain<'_>> = Vec::new();
        let mut fns: Vec<Node<'_>> = Vec::new();
        let mut lets: Vec<(String, usize, Node<'_>)> = Vec::new();
        let mut auth_types: Vec<String> = Vec::new();
        let mut current_fn: Vec<(usize, String)> = Vec::new();
        let mut chain_starts = std::collections::HashSet::new();
        let mut cursor = tree.root_node().walk();
        'walk: loop {
            let node = cursor.node();
            while current_fn
                .last()
                .is_some_and(|(end, _)| node.start_byte() >= *end)
            {
                current_fn.pop();
            }
            match node.kind() {
                "function_item" => {
                    fns.push(node);
                    current_fn.push((node.end_byte(), fn_name(node, src)));
                }
                "impl_item" => {
                    if let (Some(tr), Some(ty)) = (
                        node.child_by_field_name("trait"),
                        node.child_by_field_name("type"),
                    ) {
                        let tr = split_type(text(tr, src)).0;
                        if matches!(tr.as_str(), "FromRequestParts" | "FromRequest")
                            && AUTH_IMPL_BODY.is_match(text(node, src))
                        {
                            auth_types.push(split_type(text(ty, src)).0);
                        }
                    }
                }
                "let_declaration" => {
                    if let (Some(pat), Some(val)) = (
                        node.child_by_field_name("pattern"),
                        node.child_by_field_name("value"),
                    ) {
                        let name = text(pat, src).trim_start_matches("mut ").trim().to_string();
                        lets.push((name, node.start_byte(), val));
                    }
                }
                // A receiver starts where its outer call starts, and pre-order visits
                // the outer call first (`Node::parent` is O(depth)).
                "call_expression" if registers && chain_starts.insert(node.start_byte()) => {
                    let (base, calls) = unroll(node, src);
                    if !calls.is_empty() {
                        chains.push(Chain {
                            node,
                            base,
                            calls,
                            owner: current_fn
                                .last()
                                .map(|(_, n)| n.clone())
                                .unwrap_or_default(),
                        });
                    }
                }
                _ => {}
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        // Keep only chains that register or compose routes, outside tests (a test
        // builds the app again to call it).
        let tests = self.test_ranges.clone();
        chains.retain(|c| {
            !tests
                .iter()
                .any(|&(s, e)| s <= c.node.start_byte() && c.node.start_byte() < e)
        });
        chains.retain(|c| {
            c.calls.iter().any(|(m, _, _)| {
                matches!(
                    m.as_str(),
                    "route" | "nest" | "merge" | "service" | "configure" | "to" | "nest_service"
                )
            })
        });
        let by_start: HashMap<usize, usize> = chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.node.start_byte(), i))
            .collect();
        let lets: Vec<(String, usize, usize)> = lets
            .into_iter()
            .filter_map(|(n, s, v)| by_start.get(&v.start_byte()).map(|&ci| (n, s, ci)))
            .collect();
        let mut fn_chains: HashMap<String, Vec<usize>> = HashMap::new();
        let mut attr_routes = HashMap::new();
        for f in &fns {
            let name = fn_name(*f, src);
            if let Some(r) = attr_route(*f, src) {
                attr_routes.insert(name.clone(), r);
            }
            if let Some(h) = handler_info(*f, src, &auth_types) {
                self.handlers.push(h);
            }
            let Some(body) = f.child_by_field_name("body") else {
                continue;
            };
            let params = f
                .child_by_field_name("parameters")
                .map(|p| text(p, src))
                .unwrap_or("");
            let cfg_param = params.contains("ServiceConfig");
            for (i, c) in chains.iter().enumerate() {
                if c.node.start_byte() < body.start_byte() || c.node.end_byte() > body.end_byte() {
                    continue;
                }
                let is_tail = body
                    .named_child(body.named_child_count().saturating_sub(1) as u32)
                    .is_some_and(|t| t.start_byte() == c.node.start_byte());
                let on_cfg = cfg_param && c.base.kind() == "identifier";
                if is_tail || on_cfg {
                    fn_chains.entry(name.clone()).or_default().push(i);
                }
            }
            // `let app = ...; app` at the tail.
            if let Some(t) = body.named_child(body.named_child_count().saturating_sub(1) as u32) {
                if t.kind() == "identifier" {
                    let v = text(t, src);
                    if let Some(&(_, _, ci)) = lets
                        .iter()
                        .filter(|(n, s, _)| n == v && *s < t.start_byte())
                        .max_by_key(|(_, s, _)| *s)
                    {
                        fn_chains.entry(name.clone()).or_default().push(ci);
                    }
                }
            }
        }
        let n = chains.len();
        let mut b = RouteBuilder {
            src,
            uses: &self.uses,
            chains,
            by_start,
            lets,
            fn_chains,
            attr_routes,
            handlers: &self.handlers,
            consumed: vec![false; n],
            attr_used: Default::default(),
            budget: 4096,
        };
        let mut per_chain: Vec<Vec<Pending>> = Vec::with_capacity(n);
        for ci in 0..n {
            let mut out = Vec::new();
            b.resolve(ci, "", 0, &mut out);
            per_chain.push(out);
        }
        let mut pending: Vec<(String, Pending)> = Vec::new();
        for (ci, out) in per_chain.into_iter().enumerate() {
            if !b.consumed[ci] {
                let owner = b.chains[ci].owner.clone();
                pending.extend(out.into_iter().map(|p| (owner.clone(), p)));
            }
        }
        // `#[get("/x")]` handlers not registered in this file: their own path.
        let mut unused: Vec<_> = b
            .attr_routes
            .iter()
            .filter(|(k, _)| !b.attr_used.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        unused.sort_by_key(|(_, v)| v.2);
        for (name, (methods, path, s, e)) in unused {
            // Named after the handler, so that `.service(handlers::name)` in another
            // file finds it.
            pending.push((
                name.clone(),
                Pending {
                    framework: RustFramework::Actix,
                    methods,
                    path,
                    handler: name.clone(),
                    reg: (s, e),
                    auth: None,
                    rate: None,
                    mount: None,
                },
            ));
        }
        let handlers = b.handlers;
        let (mounts, pending): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, p)| p.mount.is_some());
        let mut mounts: Vec<RustMount> = mounts
            .into_iter()
            .map(|(owner, p)| RustMount {
                parent: owner,
                child: p.mount.unwrap_or_default(),
                prefix: p.path,
                auth: p.auth,
                rate_limit: p.rate,
                start: p.reg.0,
                end: p.reg.1,
            })
            .collect();
        mounts.sort_by_key(|m| m.start);
        let mut routes: Vec<RustRoute> = pending
            .into_iter()
            .map(|(owner, p)| {
                let handler_fn = handlers.iter().position(|h| h.name == p.handler);
                let auth = p.auth.or_else(|| {
                    handler_fn.and_then(|i| {
                        handlers[i]
                            .extractors
                            .iter()
                            .find(|x| x.kind == ExtractorKind::Auth)
                            .map(Extractor::type_name)
                    })
                });
                RustRoute {
                    framework: p.framework,
                    router: owner,
                    methods: p.methods,
                    path: p.path,
                    handler: p.handler,
                    handler_fn,
                    reg_start: p.reg.0,
                    reg_end: p.reg.1,
                    auth,
                    body_auth: None,
                    rate_limit: p.rate,
                }
            })
            .collect();
        routes.sort_by_key(|r| r.reg_start);
        self.routes = routes;
        self.mounts = mounts;
    }

    /// The handler whose body contains `byte`, if that function looks like a request
    /// handler: a route names it, or it takes request extractors.
    pub fn handler_at(&self, byte: usize) -> Option<&RustHandler> {
        self.handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.body_start <= byte && byte < h.body_end)
            .min_by_key(|(_, h)| h.body_end - h.body_start)
            .filter(|(i, h)| {
                self.routes.iter().any(|r| r.handler_fn == Some(*i))
                    || h.extractors
                        .iter()
                        .any(|x| !matches!(x.kind, ExtractorKind::Other | ExtractorKind::State))
            })
            .map(|(_, h)| h)
    }

    /// The routes whose handler is the function `handler` (index into `handlers`).
    pub fn routes_of(&self, handler: usize) -> impl Iterator<Item = &RustRoute> {
        self.routes
            .iter()
            .filter(move |r| r.handler_fn == Some(handler))
    }
}

pub fn split_top(s: &str) -> Vec<String> {
    let s = s.trim();
    let inner = match s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(i) => i,
        None => return vec![s.to_string()],
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

pub static TYPED_ID: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(Uuid|uuid::Uuid|[iu](8|16|32|64|128|size)|NonZero\w+|\w+Id)$")
        .expect("static regex")
});

#[cfg(test)]
mod route_tests {
    use super::*;

    fn routes(src: &str) -> Vec<String> {
        let tree = crate::source::parse::parse(crate::source::lang::Lang::Rust, src, None).unwrap();
        let f = RustFacts::build(&tree, src);
        f.routes
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} -> {} auth={}",
                    r.framework.name(),
                    r.methods.join(","),
                    r.path,
                    r.handler,
                    r.auth.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn axum_routes_with_nesting_and_layers() {
        let got = routes(include_str!(
            "../../../fixtures/rust/axum-notes/src/main.rs"
        ));
        assert_eq!(got, [
            "axum GET /api/v1/notes -> list_notes auth=AuthUser",
            "axum POST /api/v1/notes -> create_note auth=AuthUser",
            "axum GET /api/v1/notes/search -> search_notes auth=AuthUser",
            "axum GET /api/v1/notes/{id} -> get_note auth=AuthUser",
            "axum DELETE /api/v1/notes/{id} -> delete_note auth=-",
            "axum GET /api/v1/notes/{id}/history -> note_history auth=AuthUser",
            "axum GET /api/v1/admin/stats -> admin_stats auth=middleware::from_fn(require_auth)",
            "axum POST /api/v1/admin/export -> export_notes auth=middleware::from_fn(require_auth)",
            "axum GET /health -> health auth=-",
            "axum DELETE /legacy/:id -> delete_note auth=-",
        ], "{got:#?}");
    }

    #[test]
    fn actix_routes_with_scopes_and_wrap() {
        let got = routes(include_str!(
            "../../../fixtures/rust/actix-shop/src/main.rs"
        ));
        assert_eq!(got, [
            "actix-web GET /api/orders -> list_orders auth=HttpAuthentication::bearer(validator)",
            "actix-web GET /api/orders/{order_id} -> get_order auth=HttpAuthentication::bearer(validator)",
            "actix-web POST /api/orders -> create_order auth=HttpAuthentication::bearer(validator)",
            "actix-web DELETE /v1/orders/{order_id} -> cancel_order auth=-",
            "actix-web GET /api/invoices/{invoice_id} -> invoice auth=HttpAuthentication::bearer(validator)",
            "actix-web GET /status -> status auth=-",
        ], "{got:#?}");
    }

    #[test]
    fn path_params_of_both_syntaxes() {
        let r = |p: &str| RustRoute {
            framework: RustFramework::Axum,
            router: String::new(),
            methods: vec![],
            path: p.into(),
            handler: String::new(),
            handler_fn: None,
            reg_start: 0,
            reg_end: 0,
            auth: None,
            body_auth: None,
            rate_limit: None,
        };
        assert_eq!(
            r("/u/{user_id}/f/{*rest}").path_params(),
            ["user_id", "rest"]
        );
        assert_eq!(r("/u/:id/*path").path_params(), ["id", "path"]);
        assert_eq!(r("/o/{id:\\d+}").path_params(), ["id"]);
    }

    #[test]
    fn cors_and_trace_layers_are_not_auth_and_tests_register_nothing() {
        let src = r#"
            fn app() -> Router {
                Router::new()
                    .route("/items/{id}", get(item))
                    .layer(CorsLayer::new().allow_headers([AUTHORIZATION]))
                    .layer(TraceLayer::new_for_http().make_span_with(|r| auth_span(r)))
            }
            #[cfg(test)]
            mod tests {
                fn app() -> Router { Router::new().route("/items/{id}", get(item)) }
            }
        "#;
        assert_eq!(routes(src), ["axum GET /items/{id} -> item auth=-"]);
    }

    #[test]
    fn routers_of_other_modules_are_mounts() {
        let src = r#"
            mod blogs;
            use crate::routes::users;
            fn app() -> Router {
                Router::new()
                    .nest("/blogs", with_feature(Feature::Blog, blogs::new(state)))
                    .nest("/users", users::router().layer(from_fn(require_auth)))
                    .nest_service("/static", ServeDir::new("static"))
            }
            fn with_feature(f: Feature, r: Router) -> Router { r.layer(gate(f)) }
        "#;
        let tree = crate::source::parse::parse(crate::source::lang::Lang::Rust, src, None).unwrap();
        let f = RustFacts::build(&tree, src);
        let got: Vec<String> = f
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} auth={}",
                    m.parent,
                    m.prefix,
                    m.child,
                    m.auth.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "app /blogs blogs::new auth=-",
                "app /users users::router auth=from_fn(require_auth)"
            ]
        );
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let mut src = String::from("fn app() -> Router { Router::new()");
        for i in 0..5000 {
            src.push_str(&format!(".route(\"/r{i}\", get(h))"));
        }
        src.push_str(" }");
        let tree =
            crate::source::parse::parse(crate::source::lang::Lang::Rust, &src, None).unwrap();
        let f = RustFacts::build(&tree, &src);
        assert_eq!(f.routes.len(), 5000);
    }
}
