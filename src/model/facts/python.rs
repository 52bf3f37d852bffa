//! Python facts: import/alias table, scopes, functions with decorators and parameters,
//! and the web routes declared in the file (FastAPI, Flask).

use super::Scope;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    /// Module-level names bound to an auth dependency, with the dependency:
    /// `CurrentUser = Annotated[User, Depends(get_current_user)]` -> `get_current_user`.
    pub auth_aliases: BTreeMap<String, String>,
    /// Module-level functions that take an auth dependency themselves, so that
    /// `Depends(get_owned_item)` counts as auth when `get_owned_item` depends on the user.
    pub auth_providers: BTreeSet<String>,
    /// `parent.include_router(child, prefix=.., dependencies=..)` and
    /// `parent.register_blueprint(child, url_prefix=..)` anywhere in the file.
    pub mounts: Vec<Mount>,
    /// Module-level classes (Django/DRF views, flask-restx resources, Starlette endpoints).
    pub classes: Vec<PyClass>,
    /// URL registrations whose view is named, not defined, here: Django `urlpatterns`
    /// entries, DRF `router.register(..)`, flask-restful `api.add_resource(..)`.
    pub url_entries: Vec<UrlEntry>,
    /// Module-level `X = callee(...)`: variable -> callee text and call text.
    pub assigned_calls: HashMap<String, (String, String)>,
}

/// A module-level class.
#[derive(Debug, Clone)]
pub struct PyClass {
    pub name: String,
    /// Base classes as written (keyword arguments such as `metaclass=` left out).
    pub bases: Vec<String>,
    /// The class statement, decorators included.
    pub start: usize,
    pub end: usize,
    /// The `class Name(...)` header line.
    pub header: (usize, usize),
    pub decorators: Vec<Decorator>,
    /// Class-level assignments (`permission_classes = [IsAuthenticated]`).
    pub attrs: Vec<ClassAttr>,
}

#[derive(Debug, Clone)]
pub struct ClassAttr {
    pub name: String,
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// One URL registration naming a view or another URL list.
#[derive(Debug, Clone)]
pub struct UrlEntry {
    /// The list or router the entry belongs to (`urlpatterns`, `router`, `api`).
    pub list: String,
    /// The URL pattern as Django/Flask concatenates it (regexes turned into `<name>`).
    pub pattern: String,
    /// An `include(...)` of another list rather than a view.
    pub include: bool,
    /// A DRF router registration: the view's own list/detail paths follow the pattern.
    pub append: bool,
    /// Module of the target as imported (may be relative, `.views`); `None`: this module.
    pub module: Option<String>,
    /// The view, class or list name in that module.
    pub name: String,
    pub start: usize,
}

/// A router or blueprint registered on another one.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The router it is registered on (`app`).
    pub parent: String,
    /// The registered router as written (`orders.router`, `bp`).
    pub child: String,
    /// `prefix=`/`url_prefix=` of the registration, when a string literal.
    pub prefix: Option<String>,
    /// Auth declared by the registration (`dependencies=[Depends(auth)]`).
    pub auth: Option<String>,
    pub start: usize,
    dependencies: Option<String>,
}

/// What the module-level pass sees that can only be resolved once all functions are known.
#[derive(Debug, Default)]
struct ModuleScratch {
    /// `X = <expr containing Depends/Security>`, resolved into `auth_aliases`.
    dependency_aliases: Vec<(String, String)>,
    /// Calls on a router variable that change its auth: `app.add_middleware(..)`,
    /// `app.include_router(r, dependencies=..)`, `bp.before_request(f)`.
    router_calls: Vec<RouterCall>,
}

#[derive(Debug, Clone)]
struct RouterCall {
    receiver: String,
    method: String,
    /// Text of the first positional argument and of the whole argument list.
    first_arg: String,
    args: String,
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
    Django,
    Drf,
    Starlette,
    FlaskRestx,
    FlaskRestful,
}

impl Framework {
    pub fn name(self) -> &'static str {
        match self {
            Framework::FastApi => "fastapi",
            Framework::Flask => "flask",
            Framework::Django => "django",
            Framework::Drf => "drf",
            Framework::Starlette => "starlette",
            Framework::FlaskRestx => "flask-restx",
            Framework::FlaskRestful => "flask-restful",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Router {
    pub framework: Framework,
    pub prefix: String,
    /// Auth declared for every route of the router: `dependencies=[Depends(auth)]` on the
    /// router, auth middleware, a `before_request` hook that checks the login.
    pub auth: Option<String>,
    /// Text of the router's `dependencies=` argument, if any.
    pub dependencies: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub framework: Framework,
    /// Variable the route is registered on (`app`, `router`, `bp`).
    pub router: String,
    pub methods: Vec<String>,
    /// Full path within the file: the router's prefix, then the decorator's path.
    pub path: String,
    /// The router's own prefix (`APIRouter(prefix=..)`, `Blueprint(url_prefix=..)`).
    pub prefix: String,
    /// Index into `PyFacts::functions`.
    pub function: usize,
    pub decorator_start: usize,
    pub decorator_end: usize,
    /// How the route declares auth, if it does: a dependency, decorator or router-level auth.
    pub auth: Option<String>,
    /// An auth check written in the handler body (a 401/403 answer, a token check, a
    /// redirect to the login page): weaker evidence than a declaration.
    pub body_auth: Option<String>,
    /// A Flask auth decorator written *above* the route decorator: Flask registers the
    /// function before that decorator wraps it, so the route is not protected by it.
    pub misplaced_auth: Option<String>,
    pub rate_limit: Option<String>,
    /// Handler name for messages (`order_detail`, `OrderViewSet.retrieve`).
    pub handler: String,
    /// Index into `PyFacts::classes` for class-based views and resources.
    pub class: Option<usize>,
    /// Name under which URL registrations in other files refer to the view (Django,
    /// DRF, flask-restful); `path` is then only the view's own part of the URL.
    pub view: Option<String>,
    /// Declared public on purpose (DRF `AllowAny`, `permission_classes = []`).
    pub public: bool,
    /// DRF view without `permission_classes`: the project's default permissions apply.
    pub default_auth: bool,
    /// DRF view without `throttle_classes`: the project's default throttles apply.
    pub default_throttle: bool,
    /// A route that addresses one object (DRF/Django detail views).
    pub detail: bool,
}

impl Route {
    /// `GET, POST /items/{item_id}`.
    pub fn describe(&self) -> String {
        if self.view.is_some() {
            // The URL prefix is registered in another file (urls.py, a router).
            return format!(
                "{} …/{}",
                self.methods.join(", "),
                self.path.trim_start_matches('/')
            );
        }
        format!("{} {}", self.methods.join(", "), self.path)
    }

    /// Identifies the place a route is declared, so that the methods of one class view or
    /// one function registered under several paths are reported once.
    pub fn site(&self) -> (usize, usize) {
        match self.class {
            Some(_) if self.function == usize::MAX => (usize::MAX, self.decorator_start),
            _ => (self.function, 0),
        }
    }

    /// Parameter names in the path: `{item_id}` (FastAPI), `<int:item_id>` (Flask).
    pub fn path_params(&self) -> Vec<PathParam> {
        path_params(&self.path)
    }

    /// Declared auth or an auth check in the body.
    pub fn has_auth(&self) -> bool {
        self.auth.is_some() || self.body_auth.is_some()
    }

    /// Declared auth, auth in the body, or the DRF project default (which the project
    /// settings decide; a file alone cannot tell).
    pub fn maybe_auth(&self) -> bool {
        self.has_auth() || self.default_auth
    }

    /// True when the route only reads (GET/HEAD/OPTIONS).
    pub fn is_read_only(&self) -> bool {
        self.methods
            .iter()
            .all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParam {
    pub name: String,
    /// Starlette/Flask converter (`int`, `path`, `uuid`), if the template names one.
    pub converter: Option<String>,
}

pub fn path_params(path: &str) -> Vec<PathParam> {
    static P: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\{\s*([A-Za-z_]\w*)\s*(?::\s*(\w+))?\s*\}|<\s*(?:(\w+)(?:\([^)]*\))?\s*:\s*)?([A-Za-z_]\w*)\s*>")
            .expect("static regex")
    });
    P.captures_iter(path)
        .map(|c| match c.get(1) {
            Some(name) => PathParam {
                name: name.as_str().to_string(),
                converter: c.get(2).map(|m| m.as_str().to_string()),
            },
            None => PathParam {
                name: c.get(4).map_or("", |m| m.as_str()).to_string(),
                converter: c.get(3).map(|m| m.as_str().to_string()),
            },
        })
        .collect()
}

pub(crate) static AUTH_DEP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(auth|user|token|login|principal|verify|permission|admin|api_?key|jwt|credential|require|role|scope|oauth|bearer|account|identity|signed|secur|guard|protect)")
        .expect("static regex")
});
static NOT_AUTH_DEP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(^|_)(db|database|settings|config|pagination|paginator|redis|cache|logger|service|repo|repository)($|_)")
        .expect("static regex")
});
pub(crate) static AUTH_DECORATOR: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?ix)(
        login_required | logged_in | signed_in | auth | permission | protected | verify
      | user_passes_test | ^requires$ | (^|\.)requires_\w+
      | roles?_(required|accepted) | has_(role|permission|scope)s?
      | (jwt|token|admin|staff|superuser|user|member|owner|group|team)s?_required
      | (admins?|staff|superusers?|members?|owners?|users?|authed|login|verified)_only
      | (^|\.)(requires?|ensure|check)_\w*(user|account|login|auth|admin|role|permission|scope|visibility|access|team|verified|token|key)
      | (^|\.)is_(super_?)?(admin|superuser)s?$
      )")
        .expect("static regex")
});
/// Route decorators themselves (a second `@bp.route` is not auth).
pub(crate) fn is_route_decorator(callee: &str) -> bool {
    callee
        .rsplit_once('.')
        .is_some_and(|(_, m)| FASTAPI_METHODS.contains(&m) || m == "route")
}
/// An auth check written in a handler or hook body: a 401/403 response, a token or
/// signature verification, a redirect to the login page.
pub(crate) static BODY_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?x)
        \babort\(\s*40[13]\b
        | \bstatus_code\s*=\s*40[13]\b
        | \bHTTP_40[13]_
        | \bHTTPException\(\s*40[13]\b
        | \braise\s+(?:\w+\.)*(?:Unauthorized|Forbidden|PermissionDenied|NotAuthenticated)\w*\b
        | \bverify_jwt_in_request\(
        | \bcurrent_user\.is_(?:authenticated|admin|superuser|staff)\b
        | \b(?:check|verify|validate|require|ensure|assert)_\w*(?:auth|token|signature|login|permission|admin|user|access|api_?key|jwt|session|role|scope|owner)\w*\(
        | \b(?:authenticate|authorize)(?:_\w+)?\(
        | \burl_for\(\s*["'][\w.]*login
        | \bhmac\.compare_digest\(
        | \brequest\.user\.is_(?:authenticated|staff|superuser)\b
        | \bHttpResponseForbidden\b | \bredirect_to_login\( | \.has_perms?\(
        | \bBadSignature\b | \bunsign\w*\(
        | \bexcept\s*\(?[\w.,\s]*\b(?:NotAuthorized|PermissionDenied|Forbidden)\b
        | \.raise_(?:not_)?\w*(?:visible|editable|deletable|viewable|allowed|permitted|authori[sz]ed)\w*\(
        "#,
    )
    .expect("static regex")
});
/// The first auth check of a handler body ([`BODY_AUTH`]), leaving out a sign-in test that
/// only adds to the page (`if request.user.is_authenticated:` with no `else`, filling in the
/// caller's own suggestions): the code around it runs for anonymous visitors too, so it
/// gates nothing.
pub(crate) fn body_auth_check(body: &str) -> Option<&str> {
    BODY_AUTH
        .find_iter(body)
        .find(|m| !enrichment_branch(body, m.start()))
        .map(|m| m.as_str())
}

/// Whether the match at `at` is the condition of `if <caller>.is_authenticated[ and ..]:`
/// (not negated) whose block has no `else`: an optional extra for signed-in callers.
fn enrichment_branch(body: &str, at: usize) -> bool {
    static POSITIVE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^([ \t]*)(?:el)?if\s+\(?\s*(?:self\.)?(?:request\.user|current_user)\.is_authenticated\b")
            .expect("static regex")
    });
    let line_start = body[..at].rfind('\n').map_or(0, |i| i + 1);
    let Some(c) = POSITIVE.captures(&body[line_start..]) else {
        return false;
    };
    if c.get(0).is_none_or(|m| line_start + m.end() < at) {
        return false;
    }
    let indent = c[1].len();
    // The first line after the block at the `if`'s indentation or less: `else` makes the
    // test a gate (the other branch answers anonymous callers).
    let rest = &body[line_start..];
    for line in rest.split('\n').skip(1) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if line.len() - t.len() <= indent {
            return !t.starts_with("else");
        }
    }
    true
}

pub(crate) static AUTH_MIDDLEWARE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(auth|jwt|token|login|permission|api_?key|bearer|oidc|oauth)")
        .expect("static regex")
});
/// Names of hooks that enforce auth (`require_login`, `check_api_key`, `auth_guard`).
static AUTH_HOOK_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(require|check|verify|ensure|enforce|protect|guard|restrict|authenticat|authoriz|login_required)")
        .expect("static regex")
});
/// Handler parameters named for the authenticated caller.
static AUTH_PARAM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(auth|authz|authorized|auth_subject|auth_context|authorization|principal|current_user|current_account|current_principal|identity)$")
        .expect("static regex")
});
/// Types of the signed-in caller (`User`, `UserModel`, `AuthenticatedUser`), not services
/// or schemas about users (`UserService`, `UserCreate`).
static USER_TYPE: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^\w*User(Model|InDB|DB|Orm)?$").expect("static regex"));
/// Dependencies that load a row named by the request (`valid_user_id`, `get_user_or_404`),
/// not the caller.
static LOOKUP_DEP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)valid|or_404|by_id|lookup|fetch|from_path").expect("static regex")
});
/// Modules whose aliases are auth dependencies (`authorized: auth.OrderSalesManage`).
static AUTH_MODULE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(auth|authz|authn|permissions?|security|access)$").expect("static regex")
});
/// Header/cookie parameters that carry credentials.
static AUTH_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(authorization|x_?api_?key|api_?key|x_?token|x_?auth\w*|\w*_token|token|\w*signature\w*|session(_?id)?|x_?hub_\w+)$")
        .expect("static regex")
});
pub(crate) static RATE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(limiter|rate_?limit|throttl|\blimit\b)").expect("static regex")
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

/// `(receiver, method name)` of a call on an attribute: `obj` and `attr` of `obj.attr(..)`.
pub fn method_call<'t>(call: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let func = call
        .child_by_field_name("function")
        .filter(|f| f.kind() == "attribute")?;
    Some((
        func.child_by_field_name("object")?,
        func.child_by_field_name("attribute")?,
    ))
}

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
        // Imports first: router assignments are recognised by what their callee resolves to.
        facts.walk(root, src);
        let mut scratch = ModuleScratch::default();
        facts.collect_module_level(root, src, &mut scratch);
        facts
            .scopes
            .sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        facts.functions.sort_by_key(|f| f.start);
        facts.collect_routes(src, &scratch);
        facts.collect_other_routes(root, src);
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

    fn collect_module_level(&mut self, root: Node<'_>, src: &str, scratch: &mut ModuleScratch) {
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
                if def.kind() == "class_definition" {
                    self.collect_class(child, def, src);
                }
            }
            if child.kind() == "expression_statement" {
                match child.named_child(0) {
                    Some(assign) if assign.kind() == "assignment" => {
                        self.collect_assigned_call(assign, src);
                        self.collect_router(assign, src);
                        collect_dependency_alias(assign, src, scratch);
                    }
                    Some(call) if call.kind() == "call" => collect_router_call(call, src, scratch),
                    _ => {}
                }
            }
        }
    }

    /// `router = routers.DefaultRouter()`, `ns = Namespace("tasks")`: remembered so that
    /// registrations on the variable can be recognised.
    fn collect_assigned_call(&mut self, assign: Node<'_>, src: &str) {
        let (Some(left), Some(right)) = (
            assign.child_by_field_name("left"),
            assign.child_by_field_name("right"),
        ) else {
            return;
        };
        if left.kind() != "identifier" || right.kind() != "call" {
            return;
        }
        let callee = right
            .child_by_field_name("function")
            .map(|f| text(f, src).to_string())
            .unwrap_or_default();
        // `router = add_item_urls(router)`: a helper that registers on the object it is
        // given and hands it back; the variable is still the router first assigned.
        let name = text(left, src);
        let passes_itself = right.child_by_field_name("arguments").is_some_and(|args| {
            let mut c = args.walk();
            let found = args
                .named_children(&mut c)
                .any(|a| a.kind() == "identifier" && text(a, src) == name);
            found
        });
        if passes_itself && self.assigned_calls.contains_key(name) {
            return;
        }
        self.assigned_calls.insert(
            text(left, src).to_string(),
            (callee, text(right, src).to_string()),
        );
    }

    fn collect_class(&mut self, outer: Node<'_>, def: Node<'_>, src: &str) {
        let Some(name) = def.child_by_field_name("name") else {
            return;
        };
        let mut bases = Vec::new();
        if let Some(sup) = def.child_by_field_name("superclasses") {
            let mut c = sup.walk();
            for b in sup.named_children(&mut c) {
                if b.kind() != "keyword_argument" && b.kind() != "comment" {
                    bases.push(text(b, src).to_string());
                }
            }
        }
        let mut attrs = Vec::new();
        let body = def.child_by_field_name("body");
        if let Some(body) = body {
            let mut c = body.walk();
            for stmt in body.named_children(&mut c) {
                if stmt.kind() != "expression_statement" {
                    continue;
                }
                let Some(assign) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
                    continue;
                };
                let (Some(left), Some(right)) = (
                    assign.child_by_field_name("left"),
                    assign.child_by_field_name("right"),
                ) else {
                    continue;
                };
                if left.kind() == "identifier" {
                    attrs.push(ClassAttr {
                        name: text(left, src).to_string(),
                        value: text(right, src).to_string(),
                        start: stmt.start_byte(),
                        end: stmt.end_byte(),
                    });
                }
            }
        }
        let header_end = body.map_or(def.end_byte(), |b| b.start_byte());
        let header_text = src.get(def.start_byte()..header_end).unwrap_or("");
        let header_end = header_text
            .find('\n')
            .map_or(header_end, |i| def.start_byte() + i);
        self.classes.push(PyClass {
            name: text(name, src).to_string(),
            bases,
            start: outer.start_byte(),
            end: def.end_byte(),
            header: (def.start_byte(), header_end),
            decorators: decorators_of(def, src),
            attrs,
        });
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
        let callee = text(func, src);
        let mut auth = None;
        let framework = match self.resolve(callee).as_deref() {
            Some("fastapi.FastAPI" | "fastapi.APIRouter" | "fastapi.routing.APIRouter") => {
                Framework::FastApi
            }
            Some("flask.Flask" | "flask.Blueprint") => Framework::Flask,
            // A project router class named for the auth it adds (`AdminAPIRouter`,
            // `UserAPIRouter`), imported from the project.
            Some(q) if AUTH_ROUTER_CLASS.is_match(callee) && !q.starts_with("fastapi.") => {
                auth = Some(callee.rsplit('.').next().unwrap_or(callee).to_string());
                Framework::FastApi
            }
            _ => return,
        };
        let args = right.child_by_field_name("arguments");
        let mut prefix = String::new();
        let mut dependencies = None;
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
                    (Some("dependencies"), Some(v)) => {
                        dependencies = Some(text(v, src).to_string())
                    }
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
                dependencies,
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
                "call" => self.collect_mount(node, src),
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

    fn collect_mount(&mut self, call: Node<'_>, src: &str) {
        let Some((obj, attr)) = method_call(call) else {
            return;
        };
        let method = text(attr, src);
        if !matches!(method, "include_router" | "register_blueprint" | "mount") {
            return;
        }
        let Some(args) = call.child_by_field_name("arguments") else {
            return;
        };
        if method == "mount" {
            self.collect_app_mount(call, obj, args, src);
            return;
        }
        let mut mount = Mount {
            parent: text(obj, src).to_string(),
            child: String::new(),
            prefix: None,
            auth: None,
            start: call.start_byte(),
            dependencies: None,
        };
        let mut c = args.walk();
        for arg in args.named_children(&mut c) {
            if arg.kind() != "keyword_argument" {
                if mount.child.is_empty() {
                    mount.child = text(arg, src).to_string();
                }
                continue;
            }
            let key = arg.child_by_field_name("name").map(|n| text(n, src));
            let value = arg.child_by_field_name("value");
            match (key, value) {
                (Some("prefix" | "url_prefix"), Some(v)) => {
                    // A prefix from a setting is shown as written: `[settings.API_V1_STR]`.
                    mount.prefix =
                        Some(string_value(v, src).unwrap_or_else(|| format!("[{}]", text(v, src))))
                }
                (Some("dependencies"), Some(v)) => {
                    mount.dependencies = Some(text(v, src).to_string())
                }
                (Some("router" | "blueprint"), Some(v)) => mount.child = text(v, src).to_string(),
                _ => {}
            }
        }
        if !mount.child.is_empty() {
            self.mounts.push(mount);
        }
    }

    /// `app.mount("/api/v1", app=api)`, `app.mount("/v2", api_v2)`: a sub-application
    /// mounted under a path; its routes are served below it. Static files and other ASGI
    /// apps built in the call (`StaticFiles(...)`) are no routers and are left out.
    fn collect_app_mount(&mut self, call: Node<'_>, obj: Node<'_>, args: Node<'_>, src: &str) {
        let mut path = None;
        let mut child = None;
        let mut positional = 0;
        let mut c = args.walk();
        for arg in args.named_children(&mut c) {
            if arg.kind() == "keyword_argument" {
                let key = arg.child_by_field_name("name").map(|n| text(n, src));
                let value = arg.child_by_field_name("value");
                match (key, value) {
                    (Some("path"), Some(v)) => path = Some(mount_path(v, src)),
                    (Some("app"), Some(v)) => child = Some(v),
                    _ => {}
                }
                continue;
            }
            match positional {
                0 => path = Some(mount_path(arg, src)),
                1 => child = Some(arg),
                _ => {}
            }
            positional += 1;
        }
        let (Some(path), Some(child)) = (path, child) else {
            return;
        };
        if !matches!(child.kind(), "identifier" | "attribute") {
            return;
        }
        self.mounts.push(Mount {
            parent: text(obj, src).to_string(),
            child: text(child, src).to_string(),
            prefix: Some(path.trim_end_matches('/').to_string()),
            auth: None,
            start: call.start_byte(),
            dependencies: None,
        });
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
                // `from . import views` binds views -> `.views`.
                Some(m) if m.chars().all(|c| c == '.') => format!("{m}{qual}"),
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
        let decorators = decorators_of(node, src);
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

    fn collect_routes(&mut self, src: &str, scratch: &ModuleScratch) {
        let fastapi = self.imports_package("fastapi");
        let flask = self.imports_package("flask");
        if !fastapi && !flask {
            return;
        }
        self.collect_decorator_routes(src, scratch, fastapi, flask);
    }

    fn collect_decorator_routes(
        &mut self,
        src: &str,
        scratch: &ModuleScratch,
        fastapi: bool,
        flask: bool,
    ) {
        self.resolve_auth_names(&scratch.dependency_aliases);
        for i in 0..self.mounts.len() {
            let auth = self.mounts[i]
                .dependencies
                .as_deref()
                .and_then(|d| self.auth_in_text(d));
            self.mounts[i].auth = auth;
        }
        self.apply_router_calls(&scratch.router_calls, src);
        let mut routes = Vec::new();
        for (fi, func) in self.functions.iter().enumerate() {
            for (di, d) in func.decorators.iter().enumerate() {
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
                let (auth, misplaced_auth) = self.route_auth(framework, func, di, known);
                let body_auth = body_auth_check(src.get(func.body.0..func.body.1).unwrap_or(""))
                    .map(|m| format!("check in body: {}", clip(m)));
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
                    prefix: prefix.to_string(),
                    function: fi,
                    decorator_start: d.start,
                    decorator_end: d.end,
                    auth,
                    body_auth,
                    misplaced_auth,
                    rate_limit,
                    handler: func.name.clone(),
                    class: None,
                    view: None,
                    public: false,
                    default_auth: false,
                    default_throttle: false,
                    detail: false,
                });
            }
        }
        self.routes = routes;
    }

    /// Fixed point over module-level aliases and functions: an alias is auth when its
    /// `Depends(...)` names an auth dependency; a function is an auth provider when one of
    /// its parameters is. Bounded: each round can only add names, and there are few.
    fn resolve_auth_names(&mut self, dependency_aliases: &[(String, String)]) {
        for _ in 0..8 {
            let mut changed = false;
            for (name, rhs) in dependency_aliases {
                if self.auth_aliases.contains_key(name) {
                    continue;
                }
                if let Some(dep) = self.auth_in_text(rhs) {
                    self.auth_aliases.insert(name.clone(), dep);
                    changed = true;
                }
            }
            let mut found = Vec::new();
            for f in &self.functions {
                if f.class.is_some() || self.auth_providers.contains(&f.name) {
                    continue;
                }
                if f.params.iter().any(|p| self.param_auth(p).is_some()) {
                    found.push(f.name.clone());
                }
            }
            changed |= !found.is_empty();
            self.auth_providers.extend(found);
            if !changed {
                break;
            }
        }
    }

    /// Router-wide auth declared by module-level calls in this file.
    fn apply_router_calls(&mut self, router_calls: &[RouterCall], src: &str) {
        let mut updates: Vec<(String, String)> = Vec::new();
        for call in router_calls {
            let auth = match call.method.as_str() {
                // app.include_router(router, dependencies=[Depends(auth)])
                "include_router" if call.args.contains("dependencies") => {
                    let deps = call.args.split_once("dependencies").map_or("", |(_, d)| d);
                    self.auth_in_text(deps).map(|a| (call.first_arg.clone(), a))
                }
                // app.add_middleware(AuthenticationMiddleware, backend=...)
                "add_middleware" if AUTH_MIDDLEWARE.is_match(&call.first_arg) => {
                    Some((call.receiver.clone(), call.first_arg.clone()))
                }
                // bp.before_request(require_login)
                "before_request" => self
                    .functions
                    .iter()
                    .find(|f| f.class.is_none() && f.name == call.first_arg)
                    .filter(|f| self.is_auth_hook(f, src))
                    .map(|f| (call.receiver.clone(), format!("before_request: {}", f.name))),
                _ => None,
            };
            updates.extend(auth);
        }
        // @bp.before_request / @app.middleware("http") functions that check auth.
        for f in &self.functions {
            for d in &f.decorators {
                let Some((recv, method)) = d.callee.rsplit_once('.') else {
                    continue;
                };
                if !self.routers.contains_key(recv) {
                    continue;
                }
                if matches!(method, "before_request" | "middleware") && self.is_auth_hook(f, src) {
                    updates.push((recv.to_string(), format!("{method}: {}", f.name)));
                }
            }
        }
        for (name, r) in &self.routers {
            if let Some(a) = r.dependencies.as_deref().and_then(|d| self.auth_in_text(d)) {
                updates.push((name.clone(), a));
            }
        }
        for (router, auth) in updates {
            if let Some(r) = self.routers.get_mut(&router) {
                r.auth.get_or_insert(auth);
            }
        }
    }

    /// Blueprints imported from other modules whose `before_request` hook, declared in this
    /// file (`@system_blueprint.before_request` over `@admin_required`), enforces auth:
    /// (local name of the blueprint, `before_request: hook`).
    pub fn imported_router_hooks(&self, src: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for f in self.functions.iter().filter(|f| f.class.is_none()) {
            for d in &f.decorators {
                let Some((recv, "before_request")) = d.callee.rsplit_once('.') else {
                    continue;
                };
                if self.routers.contains_key(recv) || !self.imports.contains_key(recv) {
                    continue;
                }
                if self.is_auth_hook(f, src) {
                    out.push((recv.to_string(), format!("before_request: {}", f.name)));
                }
            }
        }
        out
    }

    /// A `before_request`/middleware hook that authenticates: an auth decorator, a name
    /// that says it enforces something, or an auth check in its body. `load_user`-style
    /// hooks that only look the caller up do not count.
    fn is_auth_hook(&self, f: &PyFunction, src: &str) -> bool {
        f.decorators
            .iter()
            .any(|d| !is_route_decorator(&d.callee) && AUTH_DECORATOR.is_match(&d.callee))
            || AUTH_HOOK_NAME.is_match(&f.name)
            || BODY_AUTH.is_match(src.get(f.body.0..f.body.1).unwrap_or(""))
    }

    /// The auth dependency named in a piece of source text (`Depends(get_current_user)`,
    /// any `Security(...)`, or an auth alias), if any.
    fn auth_in_text(&self, s: &str) -> Option<String> {
        if let Some(i) = s.find("Security(") {
            return Some(clip(&s[i..]));
        }
        if let Some(dep) = dependency_names(s)
            .into_iter()
            .find(|d| self.is_auth_dep(d))
        {
            return Some(dep);
        }
        words(s)
            .find(|w| self.auth_aliases.contains_key(*w))
            .map(str::to_string)
    }

    fn is_auth_dep(&self, name: &str) -> bool {
        let last = name.rsplit('.').next().unwrap_or(name);
        self.auth_providers.contains(last) || is_auth_dependency(name)
    }

    /// How a handler parameter authenticates the request, if it does.
    fn param_auth(&self, p: &Param) -> Option<String> {
        for t in [&p.default, &p.annotation].into_iter().flatten() {
            if let Some(a) = self.auth_in_text(t) {
                return Some(a);
            }
        }
        if let Some(ann) = &p.annotation {
            // `user: CurrentUser` with the alias imported from a deps module.
            if let Some(w) =
                words(ann).find(|w| self.imports.contains_key(*w) && is_auth_alias_name(w))
            {
                return Some(w.to_string());
            }
            // `auth_subject: auth.OrganizationsRead`, `authz: AuthorizeOrgAccess`: a
            // parameter named for the caller, typed by an imported dependency alias.
            let head = ann.split(['.', '[']).next().unwrap_or("").trim();
            let auth_module = ann.contains('.') && AUTH_MODULE.is_match(head);
            if p.default.is_none()
                && (AUTH_PARAM_NAME.is_match(&p.name) || auth_module)
                && self.imports.contains_key(head)
            {
                return Some(format!("{}: {ann}", p.name));
            }
        }
        // `user_project: Tuple[UserModel, ProjectModel] = Depends(ProjectMember())`: an
        // injected value typed by the user model is the caller, so the dependency
        // authenticated them, whatever its name.
        if let (Some(ann), Some(dep)) = (
            &p.annotation,
            p.default
                .iter()
                .chain(&p.annotation)
                .flat_map(|t| dependency_names(t))
                .next(),
        ) {
            if words(ann).any(|w| USER_TYPE.is_match(w)) && !LOOKUP_DEP.is_match(&dep) {
                return Some(format!("{dep}()"));
            }
        }
        // `x_api_key: str = Header(...)`, `session_token: str = Cookie(None)`.
        let carrier = [&p.default, &p.annotation]
            .into_iter()
            .flatten()
            .any(|t| t.contains("Header(") || t.contains("Cookie("));
        (carrier && AUTH_PARAM.is_match(&p.name)).then(|| p.name.clone())
    }

    /// Auth of a class-based controller (fastapi-utils `@cbv`/`@controller`): a class
    /// attribute injected with an auth dependency (`user = Depends(get_current_user)`), in
    /// the class or an in-file base, or an imported base class named for it
    /// (`BaseAdminController`, `UserAPIView`).
    fn class_auth(&self, func: &PyFunction) -> Option<String> {
        static AUTH_BASE: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r"^(?:Base)?(?:Admin|User|Auth\w*|Authenticated|Private|Protected|Staff|Member|LoggedIn|Superuser)\w*(?:Controller|View|Resource|Router|Endpoint)$")
                .expect("static regex")
        });
        let name = func.class.as_deref()?;
        let mut chain: Vec<&PyClass> = self
            .classes
            .iter()
            .filter(|c| c.name == name && c.start <= func.start && func.end <= c.end)
            .collect();
        let mut i = 0;
        while i < chain.len() && chain.len() < 8 {
            for b in &chain[i].bases {
                let last = b.rsplit('.').next().unwrap_or(b);
                match self.classes.iter().find(|c| c.name == last) {
                    Some(c) if !chain.iter().any(|x| std::ptr::eq(*x, c)) => chain.push(c),
                    Some(_) => {}
                    None if AUTH_BASE.is_match(last) => return Some(format!("base class {last}")),
                    None => {}
                }
            }
            i += 1;
        }
        chain.iter().find_map(|c| self.class_attr_auth(c))
    }

    /// Auth a class injects through an attribute (`user: User = Depends(get_current_user)`).
    pub fn class_attr_auth(&self, c: &PyClass) -> Option<String> {
        c.attrs.iter().find_map(|a| self.auth_in_text(&a.value))
    }

    /// The auth a route declares, and a misplaced Flask auth decorator if there is one.
    fn route_auth(
        &self,
        framework: Framework,
        func: &PyFunction,
        route_decorator: usize,
        router: Option<&Router>,
    ) -> (Option<String>, Option<String>) {
        if let Some(a) = router.and_then(|r| r.auth.clone()) {
            return (Some(a), None);
        }
        match framework {
            Framework::FastApi => {
                if let Some(a) = self.class_auth(func) {
                    return (Some(a), None);
                }
                let d = &func.decorators[route_decorator];
                let from_decorator = d
                    .text
                    .split_once("dependencies")
                    .and_then(|(_, deps)| self.auth_in_text(deps));
                let auth =
                    from_decorator.or_else(|| func.params.iter().find_map(|p| self.param_auth(p)));
                (auth, None)
            }
            _ => {
                // Decorators apply bottom-up: only those below the route decorator wrap the
                // function Flask registers.
                let is_auth = |d: &Decorator| {
                    !is_route_decorator(&d.callee) && AUTH_DECORATOR.is_match(&d.callee)
                };
                let below = func.decorators[route_decorator + 1..]
                    .iter()
                    .find(|d| is_auth(d))
                    .map(|d| d.text.clone());
                let above = func.decorators[..route_decorator]
                    .iter()
                    .find(|d| is_auth(d))
                    .map(|d| d.text.clone());
                match below {
                    Some(a) => (Some(a), None),
                    None => (None, above),
                }
            }
        }
    }
}

/// The decorators of a function or class definition, outermost first.
fn decorators_of(node: Node<'_>, src: &str) -> Vec<Decorator> {
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
    decorators
}

/// `CurrentUser = Annotated[User, Depends(get_current_user)]`, `auth = Depends(verify)`.
fn collect_dependency_alias(assign: Node<'_>, src: &str, scratch: &mut ModuleScratch) {
    let (Some(left), Some(right)) = (
        assign.child_by_field_name("left"),
        assign.child_by_field_name("right"),
    ) else {
        return;
    };
    let rhs = text(right, src);
    if left.kind() == "identifier" && (rhs.contains("Depends(") || rhs.contains("Security(")) {
        scratch
            .dependency_aliases
            .push((text(left, src).to_string(), rhs.to_string()));
    }
}

/// Module-level `X.method(...)` calls that can give a router's routes auth.
fn collect_router_call(call: Node<'_>, src: &str, scratch: &mut ModuleScratch) {
    let Some((obj, attr)) = method_call(call) else {
        return;
    };
    let method = text(attr, src);
    if !matches!(
        method,
        "include_router" | "add_middleware" | "before_request" | "middleware"
    ) {
        return;
    }
    let args = call.child_by_field_name("arguments");
    let first_arg = args
        .and_then(|a| a.named_child(0))
        .filter(|a| a.kind() != "keyword_argument")
        .map(|a| text(a, src).to_string())
        .unwrap_or_default();
    scratch.router_calls.push(RouterCall {
        receiver: text(obj, src).to_string(),
        method: method.to_string(),
        first_arg,
        args: args.map(|a| text(a, src).to_string()).unwrap_or_default(),
    });
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

/// Type aliases that by convention carry an auth dependency (`CurrentUser`,
/// `AuthenticatedUser`, `AdminUserDep`), for aliases imported from another module.
/// A mount path as written: a string literal, or `[settings.API_PREFIX]` for a setting.
fn mount_path(v: Node<'_>, src: &str) -> String {
    string_value(v, src).unwrap_or_else(|| format!("[{}]", text(v, src)))
}

/// Router classes a project defines to add auth to every route (`AdminAPIRouter`).
static AUTH_ROUTER_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:^|\.)(?:Admin|User|Auth\w*|Authenticated|Private|Protected|Staff|Superuser)\w*APIRouter$")
        .expect("static regex")
});

pub fn is_auth_alias_name(name: &str) -> bool {
    static NOUN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(User|Admin|Superuser|Principal|Account|Member|Identity|Claims|Actor|Staff|Token|Auth)")
            .expect("static regex")
    });
    static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(Current|Authenticated|Authorized|LoggedIn|SignedIn|Verified|Active|Auth[A-Z_])|(Dep|Dependency|Required)$")
            .expect("static regex")
    });
    NOUN.is_match(name) && SHAPE.is_match(name) && !name.starts_with("Session")
}

/// Identifier-like words of a piece of source text.
pub(crate) fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// First line of a piece of source, at most 60 characters, for descriptions.
pub(crate) fn clip(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(60).collect()
}

pub fn is_auth_dependency(name: &str) -> bool {
    AUTH_DEP.is_match(name) && !NOT_AUTH_DEP.is_match(name)
}

/// Callees inside `Depends(...)`/`Security(...)` in a piece of source text.
pub fn dependency_names(s: &str) -> Vec<String> {
    static DEP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:Depends|Security)\(\s*([A-Za-z_][\w.]*)").expect("static regex")
    });
    DEP.captures_iter(s).map(|c| c[1].to_string()).collect()
}

pub(crate) fn first_string_arg(call: &str) -> Option<String> {
    static S: LazyLock<Regex> = LazyLock::new(|| {
        // `@bp.route("/x")`, `@app.get(path="/x")`, `@routes.route(org_scoped_rule("/x"))`
        re::new(r#"^[^(]*\(\s*(?:path\s*=\s*)?(?:[\w.]+\(\s*)?[rbuf]?["']([^"']*)["']"#)
            .expect("static regex")
    });
    S.captures(call).map(|c| c[1].to_string())
}

/// `methods=["GET", "POST"]` of a route decorator, upper-cased.
pub(crate) fn methods_list(call: &str) -> Option<Vec<String>> {
    static M: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\bmethods\s*=\s*[\[(]([^\])]*)[\])]").expect("static regex"));
    let caps = M.captures(call)?;
    let items: Vec<String> = caps[1]
        .split(',')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    (!items.is_empty()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    fn facts(src: &str) -> PyFacts {
        let tree = crate::source::parse::parse(Lang::Python, src, None).expect("parses");
        PyFacts::build(&tree, src)
    }

    fn route<'f>(f: &'f PyFacts, handler: &str) -> &'f Route {
        f.routes
            .iter()
            .find(|r| f.functions[r.function].name == handler)
            .expect("route exists")
    }

    #[test]
    fn router_prefix_and_router_level_auth() {
        let f = facts(
            "from fastapi import APIRouter, Depends\n\
             from .deps import get_current_user\n\
             router = APIRouter(prefix=\"/orders\", dependencies=[Depends(get_current_user)])\n\
             @router.get(\"/{order_id}\")\n\
             def read(order_id: int): ...\n",
        );
        let r = route(&f, "read");
        assert_eq!(r.path, "/orders/{order_id}");
        assert!(r.auth.is_some());
        assert_eq!(r.path_params()[0].name, "order_id");
    }

    #[test]
    fn auth_through_aliases_and_dependency_functions() {
        let f = facts(
            "from typing import Annotated\n\
             from fastapi import APIRouter, Depends\n\
             from .deps import get_current_user, SessionDep\n\
             router = APIRouter()\n\
             CurrentUser = Annotated[object, Depends(get_current_user)]\n\
             def owned_item(item_id: int, user: CurrentUser): ...\n\
             @router.get(\"/a\")\n\
             def a(user: CurrentUser): ...\n\
             @router.get(\"/b\")\n\
             def b(item = Depends(owned_item)): ...\n\
             @router.get(\"/c\")\n\
             def c(db: SessionDep): ...\n",
        );
        assert!(route(&f, "a").auth.is_some());
        assert!(route(&f, "b").auth.is_some());
        assert!(route(&f, "c").auth.is_none());
    }

    #[test]
    fn flask_decorator_order_and_hooks() {
        let f = facts(
            "from flask import Blueprint\n\
             from flask_login import login_required\n\
             bp = Blueprint(\"x\", __name__, url_prefix=\"/x\")\n\
             admin = Blueprint(\"admin\", __name__)\n\
             @admin.before_request\n\
             def require_admin(): ...\n\
             @bp.route(\"/ok\")\n\
             @login_required\n\
             def ok(): ...\n\
             @login_required\n\
             @bp.route(\"/wrong\")\n\
             def wrong(): ...\n\
             @admin.route(\"/users\")\n\
             def users(): ...\n",
        );
        assert!(route(&f, "ok").auth.is_some());
        let wrong = route(&f, "wrong");
        assert!(wrong.auth.is_none());
        assert_eq!(wrong.misplaced_auth.as_deref(), Some("login_required"));
        assert_eq!(wrong.path, "/x/wrong");
        assert!(route(&f, "users").auth.is_some());
    }

    #[test]
    fn path_params_of_both_frameworks() {
        let names: Vec<(String, Option<String>)> =
            path_params("/a/{item_id}/<int:post_id>/<slug>/{p:path}")
                .into_iter()
                .map(|p| (p.name, p.converter))
                .collect();
        assert_eq!(
            names,
            vec![
                ("item_id".into(), None),
                ("post_id".into(), Some("int".into())),
                ("slug".into(), None),
                ("p".into(), Some("path".into())),
            ]
        );
    }
}
