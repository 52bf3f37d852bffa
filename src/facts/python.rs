//! Python facts: import/alias table, scopes, functions with decorators and parameters,
//! and the web routes declared in the file (FastAPI, Flask).

use super::Scope;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tree_sitter::{Node, Tree};

#[derive(Debug, Default)]
pub struct PyFacts {
    /// Local name bound by an import -> qualified name (`r` -> `requests`).
    pub imports: HashMap<String, String>,
    /// Names defined at module level by `def`/`class` (they shadow builtins).
    pub local_defs: HashSet<String>,
    pub scopes: Vec<Scope>,
    pub functions: Vec<PyFunction>,
    /// Module-level `X = APIRouter(...)`/`FastAPI(...)`/`Blueprint(...)`/`Flask(...)`.
    pub routers: HashMap<String, Router>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct PyFunction {
    pub name: String,
    pub is_async: bool,
    /// Byte range of the `def` (without decorators).
    pub start: usize,
    pub end: usize,
    /// Byte range of the body block.
    pub body: (usize, usize),
    pub decorators: Vec<Decorator>,
    pub params: Vec<Param>,
    pub class: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Decorator {
    /// The decorator expression without `@`.
    pub text: String,
    /// Callee when the decorator is a call (`app.get` of `@app.get("/x")`), else the text.
    pub callee: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub annotation: Option<String>,
    pub default: Option<String>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    FastApi,
    Flask,
}

impl Framework {
    pub fn name(self) -> &'static str {
        match self {
            Framework::FastApi => "fastapi",
            Framework::Flask => "flask",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Router {
    pub framework: Framework,
    pub prefix: String,
    /// Auth dependency declared on the router itself (`dependencies=[Depends(auth)]`).
    pub auth: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub framework: Framework,
    /// Variable the route is registered on (`app`, `router`, `bp`).
    pub router: String,
    pub methods: Vec<String>,
    pub path: String,
    /// Index into `PyFacts::functions`.
    pub function: usize,
    pub decorator_start: usize,
    pub decorator_end: usize,
    /// How the route is authenticated, if it is: a dependency, decorator or router-level auth.
    pub auth: Option<String>,
    pub rate_limit: Option<String>,
}

static AUTH_DEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(auth|user|token|login|principal|verify|permission|admin|api_?key|jwt|credential|require|role|scope|oauth|bearer|account|identity|signed|secur|guard|protect)")
        .expect("static regex")
});
static NOT_AUTH_DEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|_)(db|database|settings|config|pagination|paginator|redis|cache|logger|service|repo|repository)($|_)")
        .expect("static regex")
});
static AUTH_DECORATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(login_required|auth|permission|roles?_(required|accepted)|jwt_required|token_required|admin_required|requires?_|protected|verify|signed_in)")
        .expect("static regex")
});
static RATE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(limiter|rate_?limit|throttl|\blimit\b)").expect("static regex")
});

const FASTAPI_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "options",
    "head",
    "api_route",
    "websocket",
];

pub fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// Text of a string literal without prefix and quotes (`f"a{b}"` -> `a{b}`); implicit
/// concatenation (`"a" "b"`) is joined.
pub fn string_value(mut node: Node<'_>, src: &str) -> Option<String> {
    while node.kind() == "parenthesized_expression" {
        node = node.named_child(0)?;
    }
    let parts: Vec<Node<'_>> = match node.kind() {
        "string" => vec![node],
        "concatenated_string" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor).collect()
        }
        _ => return None,
    };
    let mut out = String::new();
    for part in parts {
        if part.kind() != "string" {
            return None;
        }
        let mut cursor = part.walk();
        for child in part.named_children(&mut cursor) {
            if matches!(
                child.kind(),
                "string_content" | "interpolation" | "escape_sequence"
            ) {
                out.push_str(text(child, src));
            }
        }
    }
    Some(out)
}

impl PyFacts {
    pub fn build(tree: &Tree, src: &str) -> PyFacts {
        let mut facts = PyFacts::default();
        let root = tree.root_node();
        facts.collect_module_level(root, src);
        facts.walk(root, src);
        facts
            .scopes
            .sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        facts.functions.sort_by_key(|f| f.start);
        facts.collect_routes(src);
        facts
    }

    pub fn resolve(&self, callee: &str) -> Option<String> {
        let callee: String = callee.chars().filter(|c| !c.is_whitespace()).collect();
        if callee.is_empty() || callee.contains(['(', '[', '"', '\'']) {
            return None;
        }
        let (head, rest) = match callee.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (callee.as_str(), None),
        };
        if let Some(q) = self.imports.get(head) {
            return Some(match rest {
                Some(r) => format!("{q}.{r}"),
                None => q.clone(),
            });
        }
        if rest.is_none() && !self.local_defs.contains(head) {
            // A builtin such as `open` or `eval`, unless the module defines its own.
            return Some(callee);
        }
        None
    }

    /// True when the module imports anything from `package` (or a submodule).
    pub fn imports_package(&self, package: &str) -> bool {
        self.imports
            .values()
            .any(|q| q == package || q.starts_with(&format!("{package}.")))
    }

    pub fn function_at(&self, byte: usize) -> Option<&PyFunction> {
        let upto = self.functions.partition_point(|f| f.start <= byte);
        self.functions[..upto].iter().rev().find(|f| f.end >= byte)
    }

    fn collect_module_level(&mut self, root: Node<'_>, src: &str) {
        let mut cursor = root.walk();
        for child in root.named_children(&mut cursor) {
            let def = if child.kind() == "decorated_definition" {
                child.child_by_field_name("definition")
            } else {
                Some(child)
            };
            if let Some(def) = def {
                if matches!(def.kind(), "function_definition" | "class_definition") {
                    if let Some(name) = def.child_by_field_name("name") {
                        self.local_defs.insert(text(name, src).to_string());
                    }
                }
            }
            if child.kind() == "expression_statement" {
                if let Some(assign) = child.named_child(0).filter(|n| n.kind() == "assignment") {
                    self.collect_router(assign, src);
                }
            }
        }
    }

    fn collect_router(&mut self, assign: Node<'_>, src: &str) {
        let (Some(left), Some(right)) = (
            assign.child_by_field_name("left"),
            assign.child_by_field_name("right"),
        ) else {
            return;
        };
        if left.kind() != "identifier" || right.kind() != "call" {
            return;
        }
        let Some(func) = right.child_by_field_name("function") else {
            return;
        };
        let framework = match self.resolve(text(func, src)).as_deref() {
            Some("fastapi.FastAPI" | "fastapi.APIRouter" | "fastapi.routing.APIRouter") => {
                Framework::FastApi
            }
            Some("flask.Flask" | "flask.Blueprint") => Framework::Flask,
            _ => return,
        };
        let args = right.child_by_field_name("arguments");
        let mut prefix = String::new();
        let mut auth = None;
        if let Some(args) = args {
            let mut c = args.walk();
            for arg in args.named_children(&mut c) {
                if arg.kind() != "keyword_argument" {
                    continue;
                }
                let key = arg.child_by_field_name("name").map(|n| text(n, src));
                let value = arg.child_by_field_name("value");
                match (key, value) {
                    (Some("prefix" | "url_prefix"), Some(v)) => {
                        prefix = string_value(v, src).unwrap_or_default()
                    }
                    (Some("dependencies"), Some(v)) => auth = auth_in_dependencies(v, src),
                    _ => {}
                }
            }
        }
        self.routers.insert(
            text(left, src).to_string(),
            Router {
                framework,
                prefix,
                auth,
            },
        );
    }

    fn walk(&mut self, root: Node<'_>, src: &str) {
        let mut cursor = root.walk();
        let mut class_stack: Vec<(usize, String)> = Vec::new();
        loop {
            let node = cursor.node();
            match node.kind() {
                "import_statement" => self.collect_import(node, src, None),
                "import_from_statement" => {
                    let module = node
                        .child_by_field_name("module_name")
                        .map(|m| text(m, src).to_string());
                    self.collect_import(node, src, module);
                }
                "class_definition" => {
                    if let Some(name) = node.child_by_field_name("name") {
                        class_stack.push((node.end_byte(), text(name, src).to_string()));
                    }
                }
                "function_definition" => {
                    while class_stack
                        .last()
                        .is_some_and(|(end, _)| *end < node.start_byte())
                    {
                        class_stack.pop();
                    }
                    let class = class_stack.last().map(|(_, n)| n.clone());
                    self.collect_function(node, src, class);
                }
                "lambda" => self.scopes.push(Scope {
                    name: "<lambda>".into(),
                    is_async: false,
                    start: node.start_byte(),
                    end: node.end_byte(),
                }),
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
                    return;
                }
            }
        }
    }

    fn collect_import(&mut self, node: Node<'_>, src: &str, module: Option<String>) {
        let mut cursor = node.walk();
        for name in node.children_by_field_name("name", &mut cursor) {
            let (qual, alias) = match name.kind() {
                "aliased_import" => {
                    let q = name.child_by_field_name("name").map(|n| text(n, src));
                    let a = name.child_by_field_name("alias").map(|n| text(n, src));
                    match (q, a) {
                        (Some(q), Some(a)) => (q.to_string(), a.to_string()),
                        _ => continue,
                    }
                }
                "dotted_name" => {
                    let q = text(name, src).to_string();
                    match &module {
                        // `from a.b import c` binds c -> a.b.c
                        Some(_) => (q.clone(), q),
                        // `import a.b` binds a -> a
                        None => {
                            let head = q.split('.').next().unwrap_or(&q).to_string();
                            (head.clone(), head)
                        }
                    }
                }
                _ => continue,
            };
            let qualified = match &module {
                Some(m) => format!("{m}.{qual}"),
                None => qual,
            };
            self.imports.insert(alias, qualified);
        }
    }

    fn collect_function(&mut self, node: Node<'_>, src: &str, class: Option<String>) {
        let name = node
            .child_by_field_name("name")
            .map(|n| text(n, src).to_string())
            .unwrap_or_default();
        let is_async = node.child(0).is_some_and(|c| c.kind() == "async");
        self.scopes.push(Scope {
            name: name.clone(),
            is_async,
            start: node.start_byte(),
            end: node.end_byte(),
        });
        let mut decorators = Vec::new();
        if let Some(parent) = node.parent().filter(|p| p.kind() == "decorated_definition") {
            let mut c = parent.walk();
            for d in parent.named_children(&mut c) {
                if d.kind() != "decorator" {
                    continue;
                }
                let Some(expr) = d.named_child(0) else {
                    continue;
                };
                let callee = if expr.kind() == "call" {
                    expr.child_by_field_name("function")
                        .map(|f| text(f, src).to_string())
                        .unwrap_or_default()
                } else {
                    text(expr, src).to_string()
                };
                decorators.push(Decorator {
                    text: text(expr, src).to_string(),
                    callee,
                    start: expr.start_byte(),
                    end: expr.end_byte(),
                });
            }
        }
        let mut params = Vec::new();
        if let Some(plist) = node.child_by_field_name("parameters") {
            let mut c = plist.walk();
            for p in plist.named_children(&mut c) {
                params.extend(param(p, src));
            }
        }
        let body = node
            .child_by_field_name("body")
            .map(|b| (b.start_byte(), b.end_byte()))
            .unwrap_or((node.end_byte(), node.end_byte()));
        self.functions.push(PyFunction {
            name,
            is_async,
            start: node.start_byte(),
            end: node.end_byte(),
            body,
            decorators,
            params,
            class,
        });
    }

    fn collect_routes(&mut self, src: &str) {
        let fastapi = self.imports_package("fastapi");
        let flask = self.imports_package("flask");
        if !fastapi && !flask {
            return;
        }
        let mut routes = Vec::new();
        for (fi, func) in self.functions.iter().enumerate() {
            for d in &func.decorators {
                let Some((router, method)) = d.callee.rsplit_once('.') else {
                    continue;
                };
                let known = self.routers.get(router);
                let framework = match known.map(|r| r.framework) {
                    Some(f) => f,
                    None if fastapi && FASTAPI_METHODS.contains(&method) => Framework::FastApi,
                    None if flask && method == "route" => Framework::Flask,
                    None => continue,
                };
                let methods: Vec<String> = match (framework, method) {
                    (Framework::FastApi, m) if FASTAPI_METHODS.contains(&m) => match m {
                        "api_route" => methods_list(&d.text).unwrap_or_else(|| vec!["GET".into()]),
                        "websocket" => vec!["WS".into()],
                        _ => vec![m.to_uppercase()],
                    },
                    (Framework::Flask, "route") => {
                        methods_list(&d.text).unwrap_or_else(|| vec!["GET".into()])
                    }
                    (Framework::Flask, m)
                        if matches!(m, "get" | "post" | "put" | "patch" | "delete") =>
                    {
                        vec![m.to_uppercase()]
                    }
                    _ => continue,
                };
                let path = first_string_arg(&d.text).unwrap_or_default();
                let prefix = known.map(|r| r.prefix.as_str()).unwrap_or("");
                let auth = route_auth(framework, func, d, known, src);
                let rate_limit = func
                    .decorators
                    .iter()
                    .find(|o| o.start != d.start && RATE_LIMIT.is_match(&o.callee))
                    .map(|o| o.text.clone());
                routes.push(Route {
                    framework,
                    router: router.to_string(),
                    methods,
                    path: format!("{prefix}{path}"),
                    function: fi,
                    decorator_start: d.start,
                    decorator_end: d.end,
                    auth,
                    rate_limit,
                });
            }
        }
        self.routes = routes;
    }
}

fn param(p: Node<'_>, src: &str) -> Option<Param> {
    let (name_node, annotation, default) = match p.kind() {
        "identifier" => (Some(p), None, None),
        "typed_parameter" => (
            p.named_child(0).filter(|n| n.kind() == "identifier"),
            p.child_by_field_name("type"),
            None,
        ),
        "default_parameter" => (
            p.child_by_field_name("name"),
            None,
            p.child_by_field_name("value"),
        ),
        "typed_default_parameter" => (
            p.child_by_field_name("name"),
            p.child_by_field_name("type"),
            p.child_by_field_name("value"),
        ),
        _ => (None, None, None),
    };
    let name = text(name_node?, src).to_string();
    Some(Param {
        name,
        annotation: annotation.map(|a| text(a, src).to_string()),
        default: default.map(|d| text(d, src).to_string()),
        start: p.start_byte(),
        end: p.end_byte(),
    })
}

/// The auth a route has, described for the route table; `None` if it has none.
fn route_auth(
    framework: Framework,
    func: &PyFunction,
    route_decorator: &Decorator,
    router: Option<&Router>,
    src: &str,
) -> Option<String> {
    let _ = src;
    if let Some(a) = router.and_then(|r| r.auth.clone()) {
        return Some(a);
    }
    match framework {
        Framework::FastApi => {
            if let Some(dep) = dependency_names(&route_decorator.text)
                .into_iter()
                .find(|d| is_auth_dependency(d))
            {
                return Some(dep);
            }
            for p in &func.params {
                let Some(default) = &p.default else { continue };
                if default.starts_with("Security(") {
                    return Some(default.clone());
                }
                if let Some(dep) = dependency_names(default)
                    .into_iter()
                    .find(|d| is_auth_dependency(d))
                {
                    return Some(dep);
                }
            }
            // `user: Annotated[User, Depends(current_user)]`
            for p in &func.params {
                if let Some(ann) = &p.annotation {
                    if let Some(dep) = dependency_names(ann)
                        .into_iter()
                        .find(|d| is_auth_dependency(d))
                    {
                        return Some(dep);
                    }
                }
            }
            None
        }
        Framework::Flask => func
            .decorators
            .iter()
            .find(|d| d.start != route_decorator.start && AUTH_DECORATOR.is_match(&d.callee))
            .map(|d| d.text.clone()),
    }
}

pub fn is_auth_dependency(name: &str) -> bool {
    AUTH_DEP.is_match(name) && !NOT_AUTH_DEP.is_match(name)
}

/// Callees inside `Depends(...)`/`Security(...)` in a piece of source text.
pub fn dependency_names(s: &str) -> Vec<String> {
    static DEP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:Depends|Security)\(\s*([A-Za-z_][\w.]*)").expect("static regex")
    });
    DEP.captures_iter(s).map(|c| c[1].to_string()).collect()
}

fn auth_in_dependencies(v: Node<'_>, src: &str) -> Option<String> {
    dependency_names(text(v, src))
        .into_iter()
        .find(|d| is_auth_dependency(d))
}

fn first_string_arg(call: &str) -> Option<String> {
    static S: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^[^(]*\(\s*(?:path\s*=\s*)?[rbuf]?["']([^"']*)["']"#).expect("static regex")
    });
    S.captures(call).map(|c| c[1].to_string())
}

/// `methods=["GET", "POST"]` of a route decorator, upper-cased.
fn methods_list(call: &str) -> Option<Vec<String>> {
    static M: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bmethods\s*=\s*[\[(]([^\])]*)[\])]").expect("static regex"));
    let caps = M.captures(call)?;
    let items: Vec<String> = caps[1]
        .split(',')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    (!items.is_empty()).then_some(items)
}
