//! The Python project index: modules and their files (package layout, `__init__`, src
//! layouts, relative imports, re-exports), symbols (functions, methods, classes,
//! module-level instances), imports with their aliases, and a call graph with resolved
//! edges. Each file contributes a [`FilePart`], computed while the file is parsed and
//! cached with its summary; [`ProjectIndex::build`] joins them in the repository pass.
//!
//! On top of the call graph, function summaries are computed bottom-up over strongly
//! connected components (so recursion and import cycles terminate): whether a synchronous
//! function blocks the thread it runs on, and through which chain of calls.

use crate::model::facts::python::{text, PyFacts};
use crate::model::pydata::DataFacts;
use crate::source::names::Names as _;
use crate::source::re;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tree_sitter::{Node, Tree};

/// A name kept by the index (a callee, a parameter, an argument): shared by every record
/// of the file that spells it the same way, so a name written a thousand times in a file
/// is held once. It reads as a `str`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

/// The names of one file's part, each held once.
#[derive(Default)]
pub struct Names(HashSet<Name>);

impl Names {
    pub fn get(&mut self, s: &str) -> Name {
        if let Some(n) = self.0.get(s) {
            return n.clone();
        }
        let n = Name::from(s);
        self.0.insert(n.clone());
        n
    }

    /// The shared copy of `n` (a name decoded on its own from the cache).
    fn share(&mut self, n: &mut Name) {
        match self.0.get(n.as_str()) {
            Some(have) => *n = have.clone(),
            None => {
                self.0.insert(n.clone());
            }
        }
    }
}

/// A function's own data facts, held only when it has any: most functions touch no
/// stored rows, and the facts take more room than the rest of the function's record.
/// It reads as [`DataFacts`] (the empty facts when there are none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnData(Option<Box<DataFacts>>);

static NO_DATA: DataFacts = DataFacts {
    owner: false,
    caller: false,
    load: None,
    lookup: None,
    insert: None,
    conflict: false,
    guards: Vec::new(),
    route: None,
    all_rows: false,
    collection: false,
};

impl OwnData {
    pub fn new(d: DataFacts) -> OwnData {
        OwnData((!d.is_empty()).then(|| Box::new(d)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The facts to change (kept only if they end up saying something, see [`Self::settle`]).
    fn make_mut(&mut self) -> &mut DataFacts {
        self.0.get_or_insert_with(Box::default)
    }

    /// Drops facts that say nothing.
    fn settle(&mut self) {
        if self.0.as_deref().is_some_and(DataFacts::is_empty) {
            self.0 = None;
        }
        if let Some(d) = self.0.as_deref_mut() {
            d.guards.shrink_to_fit();
        }
    }
}

impl std::ops::Deref for OwnData {
    type Target = DataFacts;
    fn deref(&self) -> &DataFacts {
        self.0.as_deref().unwrap_or(&NO_DATA)
    }
}

impl Serialize for OwnData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for OwnData {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DataFacts::deserialize(d).map(OwnData::new)
    }
}

/// How a call site reaches its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// Called in place: on the caller's thread (the event loop for a coroutine).
    Direct,
    /// Handed to a thread: `asyncio.to_thread(f)`, `loop.run_in_executor(None, f)`,
    /// `run_in_threadpool(f)`, `executor.submit(f)`, `Thread(target=f)`.
    Thread,
    /// A FastAPI dependency, `Depends(f)`: the framework calls it (sync ones in a thread).
    Depends,
}

/// A call site inside a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The callee as written when it is a dotted name (`helper`, `svc.get`,
    /// `self._load`); empty otherwise (`f()()`, `x[0]()`).
    pub callee: Name,
    pub kind: CallKind,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaited: bool,
    pub start: usize,
    pub end: usize,
    /// Arguments that are plain names, by keyword (`limit=limit` -> (`limit`, `limit`)) or
    /// by position (`#0`, counting the arguments the callee's parameters receive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(Name, Name)>,
}

/// A call that blocks the thread on a synchronous datastore client or the file system
/// (what ERR013 knows), found in the file's own analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSite {
    /// The call as shown to a reader (`db.query(...)`, `open(...)`).
    pub what: String,
    /// What it waits for (`waits for PostgreSQL synchronously`).
    pub kind: String,
    /// A file-system call (`open()`), not a network round trip.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub file: bool,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    /// The class whose body defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<usize>,
    /// The function whose body defines it (a nested `def`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_async: bool,
    /// Start-up, shutdown or entry-point code (`lifespan`, `@app.on_event("startup")`,
    /// `main`): it runs before or after the loop serves anything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub startup: bool,
    /// Its result is kept after the first call (`@functools.cache`, `@lru_cache`, or a
    /// module global it returns when already set): whatever it blocks on runs once per
    /// process (per argument), not on every call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub memoised: bool,
    pub start: usize,
    pub end: usize,
    /// Parameters with the class their annotation names (`svc: Service` -> `Service`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub typed_params: Vec<(Name, Name)>,
    /// Other parameter names (they shadow module-level names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Name>,
    /// Local names bound to a constructor call: `c = Client(..)` -> (`c`, `Client`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locals: Vec<(Name, Name)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Call>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockSite>,
    /// What it does with stored rows itself (see `crate::model::pydata`).
    #[serde(default, skip_serializing_if = "OwnData::is_empty")]
    pub data: OwnData,
    /// Parameters whose value it bounds before use: clamped (`min(limit, 1000)`, a clamp
    /// helper) or handed to a parameter the remote service caps (`MaxKeys=limit`). Each
    /// with its position as a caller passes it (`self`/`cls` not counted; `None`:
    /// keyword-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bounds: Vec<(Option<usize>, Name)>,
    /// The parameters a caller may pass by position, in order (`self`/`cls` not counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positional: Vec<Name>,
    /// A view's `dispatch()` or `test_func()` (a method every request passes through)
    /// whose body enforces auth: a login redirect, a 401/403, a permission test.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guards: bool,
    /// Every return is the output of an HTML cleaner or a constant
    /// (`crate::model::html_clean`): callers may mark its result safe.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cleans_html: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Class {
    pub name: String,
    /// Base classes as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<Name>,
    /// Attributes set from a constructor in a method: `self._client = httpx.Client()`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(Name, Name)>,
    /// Defined inside a function (not reachable by name from other modules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
    /// An ORM model (class-level `Column(..)`/`mapped_column(..)`/`*Field(..)`): whether
    /// a row can belong to someone, by an owner/tenant column or a reference to another
    /// table (`ForeignKey`, `relationship`). `None`: not a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned: Option<bool>,
    /// An ORM model (Django, SQLAlchemy, SQLModel): its field sets with a uniqueness
    /// guarantee (`unique=True`, `OneToOneField`, `Meta.unique_together`,
    /// `UniqueConstraint`), by column name (`user_id` for a foreign key `user`), a
    /// primary key named `id` left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<Name>>,
    /// The model is a Django model (its `unique` sets come from Django fields or `Meta`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub django: bool,
}

/// What one Python file contributes to the project index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePart {
    /// Local name -> qualified name as imported (relative ones keep their dots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<(Name, Name)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Function>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<Class>,
    /// Module-level names bound to a constructor call: `client = ApiClient()`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<(Name, Name)>,
    /// Model fields stored from request input and read back into sinks (second-order taint).
    #[serde(
        default,
        skip_serializing_if = "crate::model::stored::StoredFacts::is_empty"
    )]
    pub stored: crate::model::stored::StoredFacts,
    /// Class names of DRF's `DEFAULT_PERMISSION_CLASSES` when the file is a settings
    /// module that sets them (`REST_FRAMEWORK = {...}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drf_permissions: Vec<String>,
    /// Blueprints of other modules, by absolute dotted name, whose `before_request` hook in
    /// this file enforces auth (`@realm_blueprint.before_request` over `@admin_required`),
    /// with that hook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub router_hooks: Vec<(String, String)>,
    /// Attributes this file reads back as a naive local epoch:
    /// `datetime.fromtimestamp(key.issued_at)` -> `issued_at` (see SEC001's index vet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub naive_epoch_reads: Vec<String>,
    /// Tables the file's string literals create (`CREATE TABLE t (.., PRIMARY KEY (a, b))`,
    /// `CREATE UNIQUE INDEX ..`: a schema run from Python), with the column sets each keeps
    /// unique; joined into `ProjectIndex::sql_unique` like the `.sql` files' tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ddl_unique: Vec<(String, Vec<Vec<String>>)>,
}

impl FilePart {
    /// Gives back the room the lists grew into while the part was built: a scan holds
    /// every file's part until the repository pass, so slack adds up on large projects.
    fn shrink(&mut self) {
        self.imports.shrink_to_fit();
        self.classes.shrink_to_fit();
        self.instances.shrink_to_fit();
        self.functions.shrink_to_fit();
        for c in &mut self.classes {
            c.bases.shrink_to_fit();
            c.attrs.shrink_to_fit();
        }
        for f in &mut self.functions {
            f.typed_params.shrink_to_fit();
            f.params.shrink_to_fit();
            f.locals.shrink_to_fit();
            f.calls.shrink_to_fit();
            for c in &mut f.calls {
                c.args.shrink_to_fit();
            }
            f.blocks.shrink_to_fit();
            f.bounds.shrink_to_fit();
            f.positional.shrink_to_fit();
            f.data.settle();
        }
    }

    /// Makes the part's equal names one shared name each (a part decoded from the cache
    /// holds a copy per mention) and gives back the room its lists grew into.
    pub fn compact(&mut self) {
        let mut names = Names::default();
        let mut pair = |(a, b): &mut (Name, Name)| {
            names.share(a);
            names.share(b);
        };
        self.imports.iter_mut().for_each(&mut pair);
        self.instances.iter_mut().for_each(&mut pair);
        for c in &mut self.classes {
            c.attrs.iter_mut().for_each(&mut pair);
        }
        for f in &mut self.functions {
            f.typed_params.iter_mut().for_each(&mut pair);
            f.locals.iter_mut().for_each(&mut pair);
            for c in &mut f.calls {
                c.args.iter_mut().for_each(&mut pair);
            }
        }
        for c in &mut self.classes {
            c.bases.iter_mut().for_each(|b| names.share(b));
        }
        for f in &mut self.functions {
            f.params.iter_mut().for_each(|p| names.share(p));
            f.positional.iter_mut().for_each(|p| names.share(p));
            f.bounds.iter_mut().for_each(|(_, p)| names.share(p));
            f.calls.iter_mut().for_each(|c| names.share(&mut c.callee));
        }
        self.shrink();
    }
}

/// Calls that hand a function to a thread, by what they resolve to, and the position of
/// the function among the positional arguments.
const OFFLOADS: &[(&str, usize)] = &[
    ("asyncio.to_thread", 0),
    ("starlette.concurrency.run_in_threadpool", 0),
    ("fastapi.concurrency.run_in_threadpool", 0),
    ("anyio.to_thread.run_sync", 0),
    ("asyncer.asyncify", 0),
    ("asgiref.sync.sync_to_async", 0),
];

const DEPENDS: &[&str] = &[
    "fastapi.Depends",
    "fastapi.Security",
    "fastapi.params.Depends",
];

enum Frame {
    Class(usize),
    Func(usize),
    Lambda,
}

/// Builds a file's part of the index from its tree. `blocks` are the file's datastore and
/// file-system calls (see `checks::error_handling::flow::blocking_sites`); each goes to
/// the innermost function around it.
/// Methods of a class-based view that every request passes through.
const GUARD_METHODS: &[&str] = &["dispatch", "test_func"];

pub fn file_part(
    tree: &Tree,
    facts: &PyFacts,
    file: &SourceFile,
    blocks: Vec<BlockSite>,
) -> FilePart {
    let src = file.text.as_str();
    let mut part = FilePart::default();
    let mut names = Names::default();
    let mut imports: Vec<(Name, Name)> = facts
        .imports
        .iter()
        .map(|(k, v)| (names.get(k), names.get(v)))
        .collect();
    imports.sort();
    part.imports = imports;
    let routes = crate::model::pydata::routes(facts, src);
    let collections = crate::model::pydata::collections(facts);
    let mut frames: Vec<(usize, Frame)> = Vec::new();
    static KINDS: crate::source::kinds::KindSet = crate::source::kinds::KindSet::new(&[
        "class_definition",
        "function_definition",
        "lambda",
        "call",
        "assignment",
    ]);
    let kinds = KINDS.of(tree.root_node());
    let cx = PartBuilder {
        src,
        facts,
        routes: &routes,
        collections: &collections,
    };
    // Frames are keyed by where their node's subtree ends: a position of the flattened tree
    // when one is installed (one array read per node), a cursor depth otherwise.
    if let Some(sub) = crate::source::flat::subtree(tree.root_node()) {
        for i in sub.start()..sub.end() {
            while frames.last().is_some_and(|(e, _)| i >= *e) {
                frames.pop();
            }
            let (node, past) = sub.at(i);
            if !kinds.has_id(sub.kind_id(i), || node) {
                continue;
            }
            if let Some(f) = cx.enter(node, node.kind(), &frames, &mut part, &mut names) {
                frames.push((past, f));
            }
        }
    } else {
        let mut cursor = tree.walk();
        let mut depth = 0usize;
        'walk: loop {
            let node = cursor.node();
            while frames.last().is_some_and(|(d, _)| *d >= depth) {
                frames.pop();
            }
            if let Some(f) = cx.enter(node, kinds.kind(node), &frames, &mut part, &mut names) {
                frames.push((depth, f));
            }
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
                depth -= 1;
            }
        }
    }
    cx.finish(&mut part, blocks, file);
    model_unique_sets(tree, file, &mut part, &mut names);
    part.shrink();
    part
}

/// What [`file_part`] reads while it walks a file's tree.
struct PartBuilder<'s> {
    src: &'s str,
    facts: &'s PyFacts,
    routes: &'s [(usize, crate::model::pydata::RouteInfo)],
    collections: &'s [usize],
}

impl PartBuilder<'_> {
    /// Records what `node` (of kind `kind` when it is one of the walked kinds, `""`
    /// otherwise) adds to the part; the frame it opens, if any.
    fn enter(
        &self,
        node: Node<'_>,
        kind: &str,
        frames: &[(usize, Frame)],
        part: &mut FilePart,
        names: &mut Names,
    ) -> Option<Frame> {
        let (src, facts, routes, collections) =
            (self.src, self.facts, self.routes, self.collections);
        let mut push = None;
        match kind {
            "class_definition" => {
                let name = node
                    .child_by_field_name("name")
                    .map(|n| text(n, src).to_string())
                    .unwrap_or_default();
                let mut bases = Vec::new();
                if let Some(sup) = node.child_by_field_name("superclasses") {
                    let mut c = sup.walk();
                    for b in sup.named_children(&mut c) {
                        if let Some(d) = dotted(b, src) {
                            bases.push(names.get(&d));
                        }
                    }
                }
                let local = frames.iter().any(|(_, f)| matches!(f, Frame::Func(_)));
                let owned = model_ownership(node, src);
                part.classes.push(Class {
                    name,
                    bases,
                    attrs: Vec::new(),
                    local,
                    owned,
                    unique: Vec::new(),
                    django: false,
                });
                push = Some(Frame::Class(part.classes.len() - 1));
            }
            "function_definition" => {
                let name = node
                    .child_by_field_name("name")
                    .map(|n| text(n, src).to_string())
                    .unwrap_or_default();
                let (class, parent) = match frames.last() {
                    Some((_, Frame::Class(c))) => (Some(*c), None),
                    Some((_, Frame::Func(f))) => (None, Some(*f)),
                    _ => (None, None),
                };
                let startup = is_startup(node, &name, src);
                let mut f = Function {
                    name,
                    class,
                    parent,
                    is_async: node.child(0).is_some_and(|c| c.kind() == "async"),
                    startup,
                    memoised: is_memoised(node, src),
                    start: node.start_byte(),
                    end: node.end_byte(),
                    typed_params: Vec::new(),
                    params: Vec::new(),
                    locals: Vec::new(),
                    calls: Vec::new(),
                    blocks: Vec::new(),
                    data: OwnData::default(),
                    bounds: Vec::new(),
                    positional: Vec::new(),
                    guards: false,
                    cleans_html: crate::model::html_clean::returns_cleaned(node, src),
                };
                if class.is_some() && GUARD_METHODS.contains(&f.name.as_str()) {
                    f.guards = node.child_by_field_name("body").is_some_and(|b| {
                        crate::model::facts::python::BODY_AUTH.is_match(text(b, src))
                    });
                }
                let mut order: Vec<(Option<usize>, String)> = Vec::new();
                if let Some(plist) = node.child_by_field_name("parameters") {
                    let mut c = plist.walk();
                    let mut positional = true;
                    for p in plist.named_children(&mut c) {
                        if matches!(
                            p.kind(),
                            "keyword_separator" | "list_splat_pattern" | "dictionary_splat_pattern"
                        ) {
                            positional = false;
                        }
                        let before = f.params.len() + f.typed_params.len();
                        param(p, src, &mut f, names);
                        if f.params.len() + f.typed_params.len() > before {
                            if let Some(name) = param_name(p, src) {
                                order.push((positional.then_some(order.len()), name));
                            }
                        }
                    }
                }
                // A method's `self`/`cls` is not passed by its callers.
                if class.is_some()
                    && order
                        .first()
                        .is_some_and(|(_, n)| n == "self" || n == "cls")
                {
                    order.remove(0);
                    for (pos, _) in &mut order {
                        *pos = pos.map(|p| p.saturating_sub(1));
                    }
                }
                f.positional = order
                    .iter()
                    .filter(|(p, _)| p.is_some())
                    .map(|(_, n)| names.get(n))
                    .collect();
                if let Some(body) = node.child_by_field_name("body") {
                    // `bounded` walks the body once per parameter: only when the body's
                    // text names a bound at all, and the parameter.
                    let body_text = text(body, src);
                    let may_bound = may_bound(body_text);
                    f.bounds = order
                        .into_iter()
                        .filter(|(_, n)| {
                            may_bound && body_text.contains(n.as_str()) && bounded(body, n, src)
                        })
                        .map(|(p, n)| (p, names.get(&n)))
                        .collect();
                    let params: Vec<&str> = f
                        .params
                        .iter()
                        .chain(f.typed_params.iter().map(|(p, _)| p))
                        .map(Name::as_str)
                        .collect();
                    f.data = OwnData::new(crate::model::pydata::data_facts(body, &params, src));
                    if let Some((_, info)) = routes.iter().find(|(b, _)| *b == body.start_byte()) {
                        f.data.make_mut().route = Some(info.clone());
                    }
                    if collections.contains(&body.start_byte()) {
                        f.data.make_mut().collection = true;
                    }
                }
                part.functions.push(f);
                push = Some(Frame::Func(part.functions.len() - 1));
            }
            "lambda" => push = Some(Frame::Lambda),
            "call" => {
                if let Some((_, Frame::Func(fi))) = frames.last() {
                    record_call(node, src, facts, &mut part.functions[*fi], names);
                }
            }
            "assignment" => record_assignment(node, src, frames, part, names),
            _ => {}
        }
        push
    }

    /// Joins what the walk found: guards between known calls, route calls naming an id,
    /// and each blocking call to the innermost function around it.
    fn finish(&self, part: &mut FilePart, blocks: Vec<BlockSite>, file: &SourceFile) {
        let src = self.src;
        for f in &mut part.functions {
            let starts: Vec<usize> = f
                .calls
                .iter()
                .filter(|c| c.kind == CallKind::Direct)
                .map(|c| c.start)
                .collect();
            // Guards between calls the index knows; route calls that name an id.
            let Some(data) = f.data.0.as_deref_mut() else {
                continue;
            };
            data.guards
                .retain(|(l, c, _)| starts.contains(l) && starts.contains(c));
            for g in &mut data.guards {
                g.2 = file.line_col(g.0).0;
            }
            if let Some(info) = data.route.as_mut() {
                info.id_calls = f
                    .calls
                    .iter()
                    .filter(|c| c.kind == CallKind::Direct)
                    .filter(|c| {
                        let t = src.get(c.start..c.end).unwrap_or("");
                        let args = t.find('(').map_or("", |i| &t[i..]);
                        info.ids.iter().any(|id| {
                            args.match_indices(id.as_str()).any(|(i, _)| {
                                let ident = |ch: Option<char>| {
                                    ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '_')
                                };
                                !ident(args[..i].chars().next_back())
                                    && !ident(args[i + id.len()..].chars().next())
                            })
                        })
                    })
                    .map(|c| c.start)
                    .collect();
            }
        }
        for b in blocks {
            // Innermost function around the call: the last one starting before it.
            if let Some(f) = part
                .functions
                .iter_mut()
                .rev()
                .find(|f| f.start <= b.start && b.end <= f.end)
            {
                f.blocks.push(b);
            }
        }
    }
}

/// Records on the file's ORM model classes the field sets the database keeps unique.
fn model_unique_sets(tree: &Tree, file: &SourceFile, part: &mut FilePart, names: &mut Names) {
    if !crate::model::orm::is_candidate(&file.rel, &file.text) {
        return;
    }
    for t in crate::model::orm::tables(tree, file) {
        if t.orm == "alembic" || t.model.is_empty() {
            continue;
        }
        let sets: Vec<Vec<Name>> = t
            .unique
            .iter()
            .filter(|set| !set.is_empty() && set.as_slice() != ["id"])
            .map(|set| set.iter().map(|c| names.get(c)).collect())
            .collect();
        if let Some(c) = part
            .classes
            .iter_mut()
            .find(|c| !c.local && c.name == t.model)
        {
            c.unique = sets;
            c.django = t.orm == "django";
        }
    }
}

/// Start-up, shutdown and entry-point functions, by name or decorator.
fn is_startup(def: Node<'_>, name: &str, src: &str) -> bool {
    static NAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re::new(r"(?i)lifespan|startup|shutdown|^_?main$|^_?run_?(app|server)?$|^cli_?")
            .expect("static regex")
    });
    if NAME.is_match(name) {
        return true;
    }
    let Some(decorated) = def.parent().filter(|p| p.kind() == "decorated_definition") else {
        return false;
    };
    let mut c = decorated.walk();
    let found = decorated.named_children(&mut c).any(|d| {
        d.kind() == "decorator" && {
            let t = text(d, src);
            t.contains("asynccontextmanager")
                || t.contains("on_event")
                || t.contains("lifespan")
                || t.contains(".command")
        }
    });
    found
}

/// A function whose result is kept after the first call: decorated with a memoising
/// cache (`functools.cache`, `lru_cache`, `cachetools.cached`), or one that declares a
/// module global and, in an `if` on that global among its first statements, returns it
/// when it is already set (`global _caps` / `if _caps is not None: return _caps`).
fn is_memoised(def: Node<'_>, src: &str) -> bool {
    static CACHE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re::new(r"^@\s*(?:functools\.|cachetools\.)?(?:cache|lru_cache|cached)\b")
            .expect("static regex")
    });
    if let Some(decorated) = def.parent().filter(|p| p.kind() == "decorated_definition") {
        let mut c = decorated.walk();
        let cached = decorated
            .named_children(&mut c)
            .any(|d| d.kind() == "decorator" && CACHE.is_match(text(d, src)));
        if cached {
            return true;
        }
    }
    let Some(body) = def.child_by_field_name("body") else {
        return false;
    };
    let mut c = body.walk();
    let stmts: Vec<Node<'_>> = body
        .named_children(&mut c)
        .filter(|s| s.kind() != "comment")
        .take(4)
        .collect();
    let globals: Vec<&str> = stmts
        .iter()
        .filter(|s| s.kind() == "global_statement")
        .flat_map(|s| {
            let mut c = s.walk();
            s.named_children(&mut c)
                .filter(|n| n.kind() == "identifier")
                .map(|n| text(n, src))
                .collect::<Vec<_>>()
        })
        .collect();
    stmts.iter().any(|s| {
        if s.kind() != "if_statement" {
            return false;
        }
        let (Some(cond), Some(cons)) = (
            s.child_by_field_name("condition"),
            s.child_by_field_name("consequence"),
        ) else {
            return false;
        };
        let cond = text(cond, src);
        let Some(name) = globals
            .iter()
            .find(|g| cond == **g || cond == format!("{g} is not None"))
        else {
            return false;
        };
        let mut c = cons.walk();
        let returned = cons.named_children(&mut c).any(|r| {
            r.kind() == "return_statement" && text(r, src).trim() == format!("return {name}")
        });
        returned
    })
}

/// `a`, `a.b.c` for identifiers and attribute chains of identifiers.
fn dotted(node: Node<'_>, src: &str) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text(node, src).to_string()),
        "attribute" => {
            let obj = dotted(node.child_by_field_name("object")?, src)?;
            let attr = node.child_by_field_name("attribute")?;
            Some(format!("{obj}.{}", text(attr, src)))
        }
        _ => None,
    }
}

/// The class an annotation names: `Service`, `Optional[Service]`,
/// `Annotated[Service, Depends()]`, `Service | None`.
fn annotated_class(ty: Node<'_>, src: &str) -> Option<String> {
    let t = text(ty, src).trim();
    let t = t
        .strip_prefix("Annotated[")
        .or_else(|| t.strip_prefix("Optional["))
        .unwrap_or(t);
    let name: String = t
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    (!name.is_empty() && name.chars().next().is_some_and(|c| !c.is_ascii_digit())).then_some(name)
}

fn param(p: Node<'_>, src: &str, f: &mut Function, names: &mut Names) {
    let (name, ty) = match p.kind() {
        "identifier" => (Some(p), None),
        "typed_parameter" => (p.named_child(0), p.child_by_field_name("type")),
        "default_parameter" => (p.child_by_field_name("name"), None),
        "typed_default_parameter" => (p.child_by_field_name("name"), p.child_by_field_name("type")),
        _ => (None, None),
    };
    let Some(name) = name.filter(|n| n.kind() == "identifier") else {
        return;
    };
    let name = names.get(text(name, src));
    match ty.and_then(|t| annotated_class(t, src)) {
        Some(class) => f.typed_params.push((name, names.get(&class))),
        None => f.params.push(name),
    }
}

/// A column of an ORM model (`Column(..)`, `db.Column(..)`, `mapped_column(..)`,
/// Django/peewee `*Field(..)`).
static COLUMN_CALL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    re::new(r"^(?:[\w.]+\.)?(?:Column|mapped_column|\w*Field)$").expect("static regex")
});

/// Column names that tie a row to an owner, a tenant or another row.
static OWNING_COLUMN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    re::new(
        r"(?i)^(?:user|owner|created_by|creator|author|account|tenant|org|organi[sz]ation|customer|team|workspace|member|group|project|company)(?:_id)?$|_(?:id|pk|uuid)$",
    )
    .expect("static regex")
});

/// For a class with at least two ORM columns: whether a row can belong to someone (an
/// owning column, or a reference to another table); `None` when it is not a model.
fn model_ownership(class: Node<'_>, src: &str) -> Option<bool> {
    let body = class.child_by_field_name("body")?;
    let mut columns = 0;
    let mut owning = false;
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        let Some(a) = stmt
            .named_child(0)
            .filter(|a| stmt.kind() == "expression_statement" && a.kind() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(right)) = (
            a.child_by_field_name("left"),
            a.child_by_field_name("right"),
        ) else {
            continue;
        };
        let callee = (right.kind() == "call")
            .then(|| right.child_by_field_name("function"))
            .flatten()
            .map_or("", |f| text(f, src));
        if left.kind() == "identifier" && COLUMN_CALL.is_match(callee) {
            columns += 1;
            owning |= OWNING_COLUMN.is_match(text(left, src));
        }
        let rhs = text(right, src);
        owning |= rhs.contains("ForeignKey")
            || rhs.contains("relationship(")
            || rhs.contains("OneToOne")
            || rhs.contains("ManyToMany");
    }
    (columns >= 2).then_some(owning)
}

/// The name a parameter node declares.
fn param_name(p: Node<'_>, src: &str) -> Option<String> {
    let name = match p.kind() {
        "identifier" => Some(p),
        "typed_parameter" => p.named_child(0),
        "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name"),
        _ => None,
    }?;
    (name.kind() == "identifier").then(|| text(name, src).to_string())
}

/// Keywords and dictionary keys of remote APIs that cap the value themselves (S3
/// `MaxKeys` at 1000, AWS `MaxResults`/`MaxItems`, the `max-keys` query parameter).
static SERVICE_CAPPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    re::new(r"^(?:MaxKeys|MaxResults|MaxItems|MaxRecords|max-keys)$").expect("static regex")
});

/// False when `body_text` cannot hold what [`bounded`] looks for: every callee it accepts
/// ends in a word containing `min`, `max`, `clamp` or `bound` (in any case), and every
/// capped keyword or key contains `max`.
fn may_bound(body_text: &str) -> bool {
    static WORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["min", "max", "clamp", "bound"])
            .expect("static patterns")
    });
    WORDS.is_match(body_text)
}

/// True when `body` bounds the value of `name`: `min(..)`/`max(..)` or a clamp/bound
/// helper around it, or hands it to a parameter a remote service caps.
fn bounded(body: Node<'_>, name: &str, src: &str) -> bool {
    static IDENT: crate::source::kinds::KindSet =
        crate::source::kinds::KindSet::new(&["identifier"]);
    static SKIP: crate::source::kinds::KindSet =
        crate::source::kinds::KindSet::new(&["function_definition", "class_definition"]);
    static LOOK: crate::source::kinds::KindSet =
        crate::source::kinds::KindSet::new(&["call", "keyword_argument", "pair"]);
    let (ident, skip, look) = (IDENT.of(body), SKIP.of(body), LOOK.of(body));
    let mentions = |n: Node<'_>| {
        let mut hit = false;
        crate::model::facts::visit(n, |x| {
            hit |= ident.has(x) && text(x, src) == name;
            !hit
        });
        hit
    };
    let mut found = false;
    crate::model::facts::visit(body, |n| {
        if found || skip.has(n) {
            return false;
        }
        match look.kind(n) {
            "call" => {
                let callee = n
                    .child_by_field_name("function")
                    .and_then(|c| dotted(c, src))
                    .unwrap_or_default();
                let last = callee
                    .rsplit('.')
                    .next()
                    .unwrap_or(&callee)
                    .to_ascii_lowercase();
                if matches!(last.as_str(), "min" | "max")
                    || last.contains("clamp")
                    || last.contains("bound")
                {
                    found |= n.child_by_field_name("arguments").is_some_and(mentions);
                }
            }
            "keyword_argument" => {
                let key = n.child_by_field_name("name").map_or("", |k| text(k, src));
                found |= SERVICE_CAPPED.is_match(key)
                    && n.child_by_field_name("value").is_some_and(mentions);
            }
            "pair" => {
                let key = n
                    .child_by_field_name("key")
                    .filter(|k| k.kind() == "string")
                    .map_or("", |k| text(k, src).trim_matches(|c| c == '"' || c == '\''));
                found |= SERVICE_CAPPED.is_match(key)
                    && n.child_by_field_name("value").is_some_and(mentions);
            }
            _ => {}
        }
        !found
    });
    found
}

fn positional(args: Node<'_>, i: usize) -> Option<Node<'_>> {
    let mut c = args.walk();
    let found = args
        .named_children(&mut c)
        .filter(|a| !matches!(a.kind(), "keyword_argument" | "comment"))
        .nth(i);
    found
}

fn keyword<'t>(args: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let mut c = args.walk();
    let found = args.named_children(&mut c).find(|a| {
        a.kind() == "keyword_argument"
            && a.child_by_field_name("name").map(|n| text(n, src)) == Some(name)
    });
    found.and_then(|a| a.child_by_field_name("value"))
}

/// The function a reference names: `helper`, `self.load`, `partial(helper, x)`.
fn function_ref(node: Node<'_>, src: &str, facts: &PyFacts) -> Option<String> {
    if node.kind() == "call" {
        let callee = dotted(node.child_by_field_name("function")?, src)?;
        let q = facts.resolve(&callee)?;
        if q == "functools.partial" {
            return function_ref(
                positional(node.child_by_field_name("arguments")?, 0)?,
                src,
                facts,
            );
        }
        return None;
    }
    dotted(node, src)
}

fn record_call(node: Node<'_>, src: &str, facts: &PyFacts, f: &mut Function, names: &mut Names) {
    let callee = node
        .child_by_field_name("function")
        .and_then(|c| dotted(c, src))
        .unwrap_or_default();
    let awaited = node.parent().is_some_and(|p| p.kind() == "await");
    let mut passed = Vec::new();
    if let Some(args) = node.child_by_field_name("arguments") {
        let mut c = args.walk();
        let mut pos = 0usize;
        for a in args.named_children(&mut c) {
            match a.kind() {
                "comment" => {}
                "keyword_argument" => {
                    if let (Some(k), Some(v)) = (
                        a.child_by_field_name("name"),
                        a.child_by_field_name("value")
                            .filter(|v| v.kind() == "identifier"),
                    ) {
                        passed.push((names.get(text(k, src)), names.get(text(v, src))));
                    }
                }
                "identifier" => {
                    const AT: [&str; 8] = ["#0", "#1", "#2", "#3", "#4", "#5", "#6", "#7"];
                    let key = match AT.get(pos) {
                        Some(k) => names.get(k),
                        None => names.get(&format!("#{pos}")),
                    };
                    passed.push((key, names.get(text(a, src))));
                    pos += 1;
                }
                _ => pos += 1,
            }
        }
    }
    f.calls.push(Call {
        callee: names.get(&callee),
        kind: CallKind::Direct,
        awaited,
        start: node.start_byte(),
        end: node.end_byte(),
        args: passed,
    });
    if callee.is_empty() {
        return;
    }
    let Some(args) = node.child_by_field_name("arguments") else {
        return;
    };
    let last = callee.rsplit('.').next().unwrap_or(&callee);
    let q = facts.resolve(&callee).unwrap_or_default();
    let (target, kind) = if let Some((_, i)) = OFFLOADS.iter().find(|(n, _)| *n == q) {
        (positional(args, *i), CallKind::Thread)
    } else if last == "run_in_executor" {
        (positional(args, 1), CallKind::Thread)
    } else if last == "submit" && callee.contains('.') {
        (positional(args, 0), CallKind::Thread)
    } else if q == "threading.Thread" {
        (keyword(args, "target", src), CallKind::Thread)
    } else if DEPENDS.contains(&q.as_str()) {
        (
            positional(args, 0).or_else(|| keyword(args, "dependency", src)),
            CallKind::Depends,
        )
    } else {
        return;
    };
    if let Some(name) = target.and_then(|t| function_ref(t, src, facts)) {
        f.calls.push(Call {
            callee: names.get(&name),
            kind,
            awaited: false,
            start: node.start_byte(),
            end: node.end_byte(),
            args: Vec::new(),
        });
    }
}

fn record_assignment(
    node: Node<'_>,
    src: &str,
    frames: &[(usize, Frame)],
    part: &mut FilePart,
    names: &mut Names,
) {
    let (Some(left), Some(right)) = (
        node.child_by_field_name("left"),
        node.child_by_field_name("right"),
    ) else {
        return;
    };
    if right.kind() != "call" {
        return;
    }
    let Some(ctor) = right
        .child_by_field_name("function")
        .and_then(|c| dotted(c, src))
    else {
        return;
    };
    let ctor = names.get(&ctor);
    match frames.last() {
        None if left.kind() == "identifier" => {
            part.instances.push((names.get(text(left, src)), ctor));
        }
        Some((_, Frame::Class(ci))) if left.kind() == "identifier" => {
            part.classes[*ci]
                .attrs
                .push((names.get(text(left, src)), ctor));
        }
        Some((_, Frame::Func(fi))) => {
            let f = &mut part.functions[*fi];
            if left.kind() == "identifier" {
                f.locals.push((names.get(text(left, src)), ctor));
            } else if let (Some(class), Some(d)) = (f.class, dotted(left, src)) {
                if let Some(attr) = d.strip_prefix("self.").filter(|a| !a.contains('.')) {
                    part.classes[class].attrs.push((names.get(attr), ctor));
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// The project: modules, resolution, call graph.

/// Calls that block the thread, by the qualified name they resolve to (what ERR004
/// reports directly inside `async def`).
pub const BLOCKING_CALLS: &[&str] = &[
    "time.sleep",
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.patch",
    "requests.delete",
    "requests.head",
    "requests.options",
    "requests.request",
    "httpx.get",
    "httpx.post",
    "httpx.put",
    "httpx.patch",
    "httpx.delete",
    "httpx.head",
    "httpx.options",
    "httpx.request",
    "httpx.stream",
    "urllib.request.urlopen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "os.system",
    "socket.create_connection",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
];

/// Synchronous HTTP client classes whose request methods block.
const SYNC_HTTP_CLIENTS: &[&str] = &[
    "requests.Session",
    "requests.session",
    "requests.sessions.Session",
    "httpx.Client",
    "urllib3.PoolManager",
];

const HTTP_METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream",
    "urlopen",
];

/// Whether an external call, by its qualified name, blocks the thread.
pub fn blocks_thread(q: &str) -> bool {
    if BLOCKING_CALLS.contains(&q) {
        return true;
    }
    match q.rsplit_once('.') {
        Some((class, method)) => {
            SYNC_HTTP_CLIENTS.contains(&class) && HTTP_METHODS.contains(&method)
        }
        None => false,
    }
}

const BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "aiter",
    "anext",
    "__import__",
];

/// A function of the project: file index and index into that file's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId {
    pub file: usize,
    pub func: usize,
}

/// What a call site resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A function or method of the project.
    Project(usize),
    /// A project class without its own `__init__`, or a builtin.
    Known,
    /// A qualified name outside the project (`requests.get`, `httpx.Client.get`), shared
    /// by every call site that names it (a large project has millions of call sites and
    /// far fewer such names).
    External(std::sync::Arc<str>),
    Unresolved,
}

#[derive(Debug, Clone)]
enum Sym {
    Fn(usize),
    Class(usize, usize),
    Inst(usize, usize),
    ExtInst(String),
    Module(usize),
    External(String),
    Builtin,
    None,
}

/// One file of the index.
pub struct IndexFile<'a> {
    pub path: &'a str,
    pub module: String,
    /// The package relative imports start from.
    package: String,
    /// How many leading directories of its path are above its package root.
    root: usize,
    pub part: &'a FilePart,
    /// Global id of its first function.
    first: usize,
    top_fns: HashMap<&'a str, usize>,
    /// Functions defined inside another function, by (enclosing function, name): the
    /// first of that name, as Python's scoping reads it.
    nested: HashMap<(usize, &'a str), usize>,
    /// Methods by (class, name): the first of that name.
    methods: HashMap<(usize, &'a str), usize>,
    classes: HashMap<&'a str, usize>,
    instances: HashMap<&'a str, &'a str>,
    imports: HashMap<&'a str, &'a str>,
}

/// Resolved, unresolved and project-internal call counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CallStats {
    /// Call sites inside functions.
    pub calls: usize,
    /// Resolved to a project function or class, a builtin, or an imported name.
    pub resolved: usize,
    /// Of those, resolved to a function of the project (an edge of the call graph).
    pub project: usize,
    /// `resolved / calls`, rounded to three decimals.
    pub resolved_ratio: f64,
}

/// Why a function blocks: a call of its own, or a call to a function that blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `calls[i]` of the function is a blocking external call.
    Call(u32),
    /// `blocks[i]` of the function (a datastore or file call).
    Site(u32),
    /// `calls[i]` calls project function `callee`, which blocks.
    Via(u32, u32),
}

/// A call position or function id as a summary keeps it: summaries are held per
/// function of the project, so their entries are kept to half a word each.
fn small(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// How a function comes by a data summary: its own code, or `calls[i]` to a function
/// that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Own,
    /// `calls[i]` to project function `callee`.
    Call(u32, u32),
}

/// What a function does with stored rows, itself or through what it calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataSummary {
    /// Compares or filters by an owner, or calls (or depends on) a function that does.
    pub owner: Option<Via>,
    /// Loads a row by an id parameter with no owner filter on the way.
    pub load: Option<Via>,
    /// Looks a row up by a natural key.
    pub lookup: Option<Via>,
    /// Inserts a row with no conflict handling on the way.
    pub insert: Option<Via>,
}

/// The kinds of blocking a summary tracks: network and process calls (ERR004's), sync
/// datastore clients and file access (ERR013's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Call = 0,
    Store = 1,
    File = 2,
}

pub struct ProjectIndex<'a> {
    pub files: Vec<IndexFile<'a>>,
    /// Every function, by global id.
    pub fns: Vec<FnId>,
    /// Per function, per call site: what it resolves to.
    pub targets: Vec<Vec<Target>>,
    pub stats: CallStats,
    /// Per function: why it blocks the thread, per [`BlockKind`].
    pub blocks: Vec<[Option<Why>; 3]>,
    /// Per function: what it does with stored rows, itself or through its callees.
    pub data: Vec<DataSummary>,
    /// Module name -> the files that may be it (one in a plain project; several in a
    /// monorepo or a src layout, where the one nearest the importing file wins).
    modules: HashMap<String, Vec<usize>>,
    /// Files with directories above their package root (a `src` layout, a monorepo's
    /// services), by the last component of their module name: such a file also answers
    /// to its name with some of those directories in front (`app.models` for
    /// `services/api/app/models.py`), when no module has that exact name.
    loose: HashMap<&'a str, Vec<usize>>,
    /// The file whose call is being resolved (for picking among same-named modules).
    from: std::cell::Cell<usize>,
    /// The Rust crates of the tree (`crate::model::rsindex`), joined next to the Python
    /// project so that index checks of either language take one argument.
    pub rust: crate::model::rsindex::CrateIndex<'a>,
    /// The tables the project's `.sql` files declare, by name (last segment, lower-case),
    /// with the column sets each piece keeps unique (primary key, `UNIQUE`, unique index),
    /// joined over every file that creates or alters the table.
    pub sql_unique: HashMap<String, Vec<Vec<String>>>,
}

const MAX_DEPTH: usize = 12;

impl<'a> ProjectIndex<'a> {
    /// Joins a table's unique column sets into `sql_unique`, without repeats.
    pub fn add_unique(&mut self, table: &str, unique: &[Vec<String>]) {
        let sets = self.sql_unique.entry(table.to_string()).or_default();
        for u in unique {
            if !sets.contains(u) {
                sets.push(u.clone());
            }
        }
    }

    /// Joins the parts of every Python file (path, part), sorted by path.
    pub fn build(parts: &[(&'a str, &'a FilePart)]) -> ProjectIndex<'a> {
        let paths: HashSet<&str> = parts.iter().map(|(p, _)| *p).collect();
        let mut files = Vec::new();
        let mut fns = Vec::new();
        let mut modules: HashMap<String, Vec<usize>> = HashMap::new();
        let mut loose: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (fi, (path, part)) in parts.iter().enumerate() {
            let (module, package, root) = module_names(path, &paths);
            modules.entry(module.clone()).or_default().push(fi);
            if root > 0 {
                if let Some(last) = module_comps(path).last() {
                    loose.entry(last).or_default().push(fi);
                }
            }
            let mut top_fns = HashMap::new();
            let mut nested = HashMap::new();
            let mut methods = HashMap::new();
            for (i, f) in part.functions.iter().enumerate() {
                if let Some(c) = f.class {
                    methods.entry((c, f.name.as_str())).or_insert(i);
                }
                if f.class.is_none() && f.parent.is_none() {
                    top_fns.insert(f.name.as_str(), fns.len() + i);
                }
                if let Some(p) = f.parent {
                    nested.entry((p, f.name.as_str())).or_insert(i);
                }
            }
            let classes = part
                .classes
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.local)
                .map(|(i, c)| (c.name.as_str(), i))
                .collect();
            files.push(IndexFile {
                path,
                module,
                package,
                root,
                part,
                first: fns.len(),
                top_fns,
                nested,
                methods,
                classes,
                instances: part
                    .instances
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect(),
                imports: part
                    .imports
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect(),
            });
            fns.extend((0..part.functions.len()).map(|func| FnId { file: fi, func }));
        }
        let mut index = ProjectIndex {
            files,
            targets: Vec::with_capacity(fns.len()),
            blocks: Vec::new(),
            data: Vec::new(),
            fns,
            stats: CallStats::default(),
            modules,
            loose,
            from: std::cell::Cell::new(0),
            rust: Default::default(),
            sql_unique: HashMap::new(),
        };
        for (_, part) in parts {
            for (table, sets) in &part.ddl_unique {
                index.add_unique(table, sets);
            }
        }
        let mut names: HashSet<std::sync::Arc<str>> = HashSet::new();
        for g in 0..index.fns.len() {
            let calls = &index.function(g).calls;
            let mut targets = Vec::with_capacity(calls.len());
            for c in calls {
                let t = match index.resolve_call(g, &c.callee) {
                    Target::External(q) => match names.get(&q) {
                        Some(shared) => Target::External(shared.clone()),
                        None => {
                            names.insert(q.clone());
                            Target::External(q)
                        }
                    },
                    t => t,
                };
                if c.kind == CallKind::Direct {
                    index.stats.calls += 1;
                    match t {
                        Target::Project(_) => {
                            index.stats.resolved += 1;
                            index.stats.project += 1;
                        }
                        Target::Known | Target::External(_) => index.stats.resolved += 1,
                        Target::Unresolved => {}
                    }
                }
                targets.push(t);
            }
            index.targets.push(targets);
        }
        if index.stats.calls > 0 {
            let r = index.stats.resolved as f64 / index.stats.calls as f64;
            index.stats.resolved_ratio = (r * 1000.0).round() / 1000.0;
        }
        let sccs = index.sccs();
        index.blocks = index.blocking_summaries(&sccs);
        index.data = index.data_summaries(&sccs);
        index
    }

    pub fn function(&self, g: usize) -> &'a Function {
        let id = self.fns[g];
        &self.files[id.file].part.functions[id.func]
    }

    /// The innermost function of file `path` whose text holds byte `at`.
    pub fn enclosing(&self, path: &str, at: usize) -> Option<usize> {
        let fi = self.files.iter().position(|f| f.path == path)?;
        (0..self.fns.len())
            .filter(|&g| self.fns[g].file == fi)
            .filter(|&g| {
                let f = self.function(g);
                f.start <= at && at < f.end
            })
            .min_by_key(|&g| self.function(g).end - self.function(g).start)
    }

    pub fn file_of(&self, g: usize) -> &IndexFile<'a> {
        &self.files[self.fns[g].file]
    }

    /// The innermost function of file `path` whose text holds `byte`.
    pub fn function_at(&self, path: &str, byte: usize) -> Option<usize> {
        let fi = self
            .files
            .binary_search_by(|f| f.path.cmp(path))
            .ok()
            .or_else(|| self.files.iter().position(|f| f.path == path))?;
        let file = &self.files[fi];
        file.part
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.start <= byte && byte < f.end)
            .min_by_key(|(_, f)| f.end - f.start)
            .map(|(i, _)| file.first + i)
    }

    /// The project functions with a resolved call of `g`.
    pub fn callers(&self, g: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .targets
            .iter()
            .enumerate()
            .filter(|(_, ts)| {
                ts.iter()
                    .any(|t| matches!(t, Target::Project(c) if *c == g))
            })
            .map(|(c, _)| c)
            .collect();
        out.dedup();
        out
    }

    /// The methods `g` overrides: the same-named methods of its class's project base
    /// classes. A base class's `self.forward()` resolves to the base's own `forward`; at run
    /// time it reaches the subclass's, so callers of those are callers of `g` too.
    pub fn overridden(&self, g: usize) -> Vec<usize> {
        let f = self.function(g);
        let Some(class) = f.class else {
            return Vec::new();
        };
        self.bases(self.fns[g].file, class, 0)
            .into_iter()
            .filter_map(|(fj, c)| self.method(fj, c, &f.name, 1))
            .filter(|&m| m != g)
            .collect()
    }

    /// `Class.method` or `function` for messages.
    pub fn display_name(&self, g: usize) -> String {
        let id = self.fns[g];
        let f = self.function(g);
        match f.class {
            Some(c) => format!("{}.{}", self.files[id.file].part.classes[c].name, f.name),
            None => f.name.clone(),
        }
    }

    /// The file of module `name`: among several, the one sharing the longest directory
    /// prefix with the file being resolved (then the first by path).
    fn module(&self, name: &str) -> Option<usize> {
        let longer;
        let fis = match self.modules.get(name) {
            Some(fis) => fis,
            None => {
                longer = self.longer_names(name);
                &longer
            }
        };
        if fis.len() == 1 {
            return fis.first().copied();
        }
        let from = self.files.get(self.from.get()).map_or("", |f| f.path);
        let shared = |p: &str| {
            p.split('/')
                .zip(from.split('/'))
                .take_while(|(a, b)| a == b)
                .count()
        };
        let best = fis.iter().map(|&fi| shared(self.files[fi].path)).max()?;
        fis.iter()
            .copied()
            .find(|&fi| shared(self.files[fi].path) == best)
    }

    /// The files answering to dotted `name` with directories above their package root in
    /// front (`a.b` for `x/a/b.py` when `x` is above the root), in path order.
    fn longer_names(&self, name: &str) -> Vec<usize> {
        let Some((_, last)) = name.rsplit_once('.') else {
            return Vec::new();
        };
        let Some(fis) = self.loose.get(last) else {
            return Vec::new();
        };
        let want: Vec<&str> = name.split('.').collect();
        fis.iter()
            .copied()
            .filter(|&fi| {
                let file = &self.files[fi];
                let comps = module_comps(file.path);
                comps.len() >= want.len()
                    && comps.len() - want.len() < file.root
                    && comps[comps.len() - want.len()..] == want[..]
            })
            .collect()
    }

    /// An import's qualified name made absolute (relative imports against the file's
    /// package).
    fn absolute(&self, fi: usize, q: &str) -> String {
        let dots = q.chars().take_while(|c| *c == '.').count();
        if dots == 0 {
            return q.to_string();
        }
        let mut base: Vec<&str> = self.files[fi]
            .package
            .split('.')
            .filter(|s| !s.is_empty())
            .collect();
        for _ in 1..dots {
            base.pop();
        }
        let rest = &q[dots..];
        if !rest.is_empty() {
            base.push(rest);
        }
        base.join(".")
    }

    fn lookup_qual(&self, q: &str, depth: usize) -> Sym {
        if depth > MAX_DEPTH || q.is_empty() {
            return Sym::None;
        }
        let parts: Vec<&str> = q.split('.').collect();
        for k in (1..=parts.len()).rev() {
            let name = parts[..k].join(".");
            if let Some(fj) = self.module(&name) {
                let mut sym = Sym::Module(fj);
                for p in &parts[k..] {
                    sym = self.member(sym, p, depth + 1);
                }
                return sym;
            }
        }
        Sym::External(q.to_string())
    }

    /// A module-level name of file `fi`.
    fn lookup_name(&self, fi: usize, name: &str, depth: usize) -> Sym {
        if depth > MAX_DEPTH {
            return Sym::None;
        }
        let f = &self.files[fi];
        if let Some(&g) = f.top_fns.get(name) {
            return Sym::Fn(g);
        }
        if let Some(&c) = f.classes.get(name) {
            return Sym::Class(fi, c);
        }
        if let Some(ctor) = f.instances.get(name) {
            return self.instance_of(fi, ctor, depth + 1);
        }
        if let Some(q) = f.imports.get(name) {
            return self.lookup_qual(&self.absolute(fi, q), depth + 1);
        }
        Sym::None
    }

    fn lookup_dotted(&self, fi: usize, text: &str, depth: usize) -> Sym {
        let mut parts = text.split('.');
        let Some(head) = parts.next() else {
            return Sym::None;
        };
        let mut sym = self.lookup_name(fi, head, depth);
        for p in parts {
            sym = self.member(sym, p, depth + 1);
        }
        sym
    }

    fn instance_of(&self, fi: usize, ctor: &str, depth: usize) -> Sym {
        match self.lookup_dotted(fi, ctor, depth + 1) {
            Sym::Class(fj, c) => Sym::Inst(fj, c),
            Sym::External(q) => Sym::ExtInst(q),
            _ => Sym::None,
        }
    }

    fn member(&self, sym: Sym, attr: &str, depth: usize) -> Sym {
        if depth > MAX_DEPTH {
            return Sym::None;
        }
        match sym {
            Sym::Module(fj) => {
                let sub = format!("{}.{attr}", self.files[fj].module);
                if let Some(fk) = self.module(&sub) {
                    // A name the package's `__init__` binds wins over the submodule.
                    match self.lookup_name(fj, attr, depth + 1) {
                        Sym::None => Sym::Module(fk),
                        s => s,
                    }
                } else {
                    self.lookup_name(fj, attr, depth + 1)
                }
            }
            Sym::Class(fj, c) => match self.method(fj, c, attr, depth + 1) {
                Some(g) => Sym::Fn(g),
                None => Sym::None,
            },
            Sym::Inst(fj, c) => {
                if let Some(g) = self.method(fj, c, attr, depth + 1) {
                    return Sym::Fn(g);
                }
                match self.attr_ctor(fj, c, attr, depth + 1) {
                    Some((fk, ctor)) => self.instance_of(fk, ctor, depth + 1),
                    None => Sym::None,
                }
            }
            // A longer name may be a module of a namespace package (`import pkg.sub`).
            Sym::External(q) => self.lookup_qual(&format!("{q}.{attr}"), depth + 1),
            Sym::ExtInst(q) => Sym::External(format!("{q}.{attr}")),
            Sym::Fn(_) | Sym::Builtin | Sym::None => Sym::None,
        }
    }

    /// The project classes `class` of file `fi` derives from.
    fn bases(&self, fi: usize, class: usize, depth: usize) -> Vec<(usize, usize)> {
        self.files[fi].part.classes[class]
            .bases
            .iter()
            .filter_map(|b| match self.lookup_dotted(fi, b, depth + 1) {
                Sym::Class(fj, c) if (fj, c) != (fi, class) => Some((fj, c)),
                _ => None,
            })
            .collect()
    }

    /// The guard method (`dispatch()`/`test_func()` that enforces auth, see
    /// [`Function::guards`]) of top-level class `class` of file `path` or of one of its
    /// project base classes, in whichever file they live.
    pub fn class_guard(&self, path: &str, class: &str) -> Option<usize> {
        let fi = self.files.iter().position(|f| f.path == path)?;
        let &c = self.files[fi].classes.get(class)?;
        let mut seen = vec![(fi, c)];
        let mut i = 0;
        while i < seen.len() && seen.len() < 16 {
            let (fj, cj) = seen[i];
            i += 1;
            let file = &self.files[fj];
            let found = GUARD_METHODS.iter().find_map(|m| {
                let g = file.first + file.methods.get(&(cj, *m))?;
                self.function(g).guards.then_some(g)
            });
            if found.is_some() {
                return found;
            }
            for b in self.bases(fj, cj, 0) {
                if !seen.contains(&b) {
                    seen.push(b);
                }
            }
        }
        None
    }

    /// A method of a class or of its project base classes.
    fn method(&self, fi: usize, class: usize, name: &str, depth: usize) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        let file = &self.files[fi];
        if let Some(i) = file.methods.get(&(class, name)) {
            return Some(file.first + i);
        }
        self.bases(fi, class, depth)
            .into_iter()
            .find_map(|(fj, c)| self.method(fj, c, name, depth + 1))
    }

    /// The constructor an attribute is set from in some method: `self._client = Client()`.
    fn attr_ctor(
        &self,
        fi: usize,
        class: usize,
        attr: &str,
        depth: usize,
    ) -> Option<(usize, &'a str)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let part = self.files[fi].part;
        if let Some((_, ctor)) = part.classes[class].attrs.iter().find(|(a, _)| a == attr) {
            return Some((fi, ctor.as_str()));
        }
        self.bases(fi, class, depth)
            .into_iter()
            .find_map(|(fj, c)| self.attr_ctor(fj, c, attr, depth + 1))
    }

    /// Resolves the callee text of a call in function `g`.
    fn resolve_call(&self, g: usize, callee: &str) -> Target {
        if callee.is_empty() {
            return Target::Unresolved;
        }
        let id = self.fns[g];
        let fi = id.file;
        self.from.set(fi);
        let mut parts = callee.split('.');
        let head = parts.next().unwrap_or("");
        let mut sym = self.local_name(fi, id.func, head);
        for p in parts {
            sym = self.member(sym, p, 1);
        }
        match sym {
            Sym::Fn(t) => Target::Project(t),
            Sym::Class(fj, c) => match self.method(fj, c, "__init__", 1) {
                Some(t) => Target::Project(t),
                None => Target::Known,
            },
            Sym::Builtin => Target::Known,
            Sym::External(q) => Target::External(q.into()),
            Sym::ExtInst(_) | Sym::Inst(..) | Sym::Module(_) | Sym::None => Target::Unresolved,
        }
    }

    /// What `name` means inside function `func` of file `fi`: its parameters and locals,
    /// `self`/`cls`, nested functions, then the module's names and the builtins.
    fn local_name(&self, fi: usize, func: usize, name: &str) -> Sym {
        let file = &self.files[fi];
        let fns = &file.part.functions;
        let mut cur = Some(func);
        let mut steps = 0;
        while let Some(k) = cur {
            steps += 1;
            if steps > 64 {
                break;
            }
            let f = &fns[k];
            if let (Some(c), "self" | "cls") = (f.class, name) {
                return if name == "self" {
                    Sym::Inst(fi, c)
                } else {
                    Sym::Class(fi, c)
                };
            }
            if let Some((_, ty)) = f.typed_params.iter().find(|(p, _)| p == name) {
                return self.instance_of(fi, ty, 1);
            }
            if f.params.iter().any(|p| p == name) {
                return Sym::None;
            }
            if let Some((_, ctor)) = f.locals.iter().rev().find(|(l, _)| l == name) {
                return self.instance_of(fi, ctor, 1);
            }
            if let Some(i) = file.nested.get(&(k, name)) {
                return Sym::Fn(file.first + i);
            }
            cur = f.parent;
        }
        match self.lookup_name(fi, name, 1) {
            Sym::None if BUILTINS.contains(&name) => Sym::Builtin,
            s => s,
        }
    }

    /// The strongly connected components of the direct-call graph, callees first
    /// (Tarjan's algorithm, iterative).
    fn sccs(&self) -> Vec<Vec<usize>> {
        let n = self.fns.len();
        let succ = |v: usize| -> Vec<usize> {
            let calls = &self.function(v).calls;
            self.targets[v]
                .iter()
                .zip(calls)
                .filter_map(|(t, c)| match t {
                    Target::Project(w) if c.kind == CallKind::Direct => Some(*w),
                    _ => None,
                })
                .collect()
        };
        const NONE: usize = usize::MAX;
        let mut index = vec![NONE; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut out = Vec::new();
        let mut next = 0usize;
        for root in 0..n {
            if index[root] != NONE {
                continue;
            }
            let mut work: Vec<(usize, Vec<usize>, usize)> = vec![(root, succ(root), 0)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some((v, ws, i)) = work.last_mut() {
                let v = *v;
                if *i < ws.len() {
                    let w = ws[*i];
                    *i += 1;
                    if index[w] == NONE {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, succ(w), 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    work.pop();
                    if let Some((u, _, _)) = work.last() {
                        low[*u] = low[*u].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut comp = Vec::new();
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            comp.push(w);
                            if w == v {
                                break;
                            }
                        }
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
        out
    }

    /// Bottom-up over the components: a synchronous function blocks when it makes a
    /// blocking call itself or calls (directly, not through a thread) a synchronous
    /// function that blocks. Coroutines block nobody who calls them: the call only makes
    /// the coroutine.
    fn blocking_summaries(&self, sccs: &[Vec<usize>]) -> Vec<[Option<Why>; 3]> {
        let n = self.fns.len();
        let mut why: Vec<[Option<Why>; 3]> = vec![[None; 3]; n];
        let mut comp_of = vec![0usize; n];
        for (k, comp) in sccs.iter().enumerate() {
            for &v in comp {
                comp_of[v] = k;
            }
        }
        for (k, comp) in sccs.iter().enumerate() {
            for kind in 0..3 {
                // Own calls and calls out of the component first, then inside it until
                // nothing changes (each round settles at least one function).
                for &v in comp {
                    why[v][kind] = self.own_block(v, kind, &why, |w| comp_of[w] != k);
                }
                for _ in 0..comp.len() {
                    let mut changed = false;
                    for &v in comp {
                        if why[v][kind].is_none() {
                            why[v][kind] = self.own_block(v, kind, &why, |w| comp_of[w] == k);
                            changed |= why[v][kind].is_some();
                        }
                    }
                    if !changed {
                        break;
                    }
                }
            }
        }
        why
    }

    fn own_block(
        &self,
        v: usize,
        kind: usize,
        why: &[[Option<Why>; 3]],
        callee_ok: impl Fn(usize) -> bool,
    ) -> Option<Why> {
        let f = self.function(v);
        if f.is_async || f.memoised {
            return None;
        }
        match kind {
            0 => {
                if let Some(i) = f.calls.iter().zip(&self.targets[v]).position(|(c, t)| {
                    c.kind == CallKind::Direct
                        && !c.awaited
                        && matches!(t, Target::External(q) if blocks_thread(q))
                }) {
                    return Some(Why::Call(small(i)));
                }
            }
            _ => {
                let file = kind == BlockKind::File as usize;
                if let Some(i) = f.blocks.iter().position(|b| b.file == file) {
                    return Some(Why::Site(small(i)));
                }
            }
        }
        f.calls
            .iter()
            .zip(&self.targets[v])
            .enumerate()
            .find_map(|(i, (c, t))| match t {
                Target::Project(w)
                    if c.kind == CallKind::Direct
                        && callee_ok(*w)
                        && *w != v
                        && why[*w][kind].is_some() =>
                {
                    Some(Why::Via(small(i), small(*w)))
                }
                _ => None,
            })
    }

    /// Bottom-up over the call graph (callees first, then rounds until nothing changes, so
    /// recursion and cycles terminate): a function checks ownership when it or any function
    /// it calls or depends on (`Depends`) does; loads a row by id with no owner filter when it
    /// does so itself or through a direct callee, and nothing on its way checks an owner;
    /// looks up by a natural key itself or as a thin wrapper (at most three calls) of a
    /// look-up; inserts a row itself or through a callee, with no conflict handling on the way.
    fn data_summaries(&self, sccs: &[Vec<usize>]) -> Vec<DataSummary> {
        let n = self.fns.len();
        let mut out: Vec<DataSummary> = (0..n)
            .map(|v| {
                let d = &self.function(v).data;
                DataSummary {
                    owner: d.owner.then_some(Via::Own),
                    load: d.load.map(|_| Via::Own),
                    lookup: d.lookup.map(|_| Via::Own),
                    insert: d.insert.map(|_| Via::Own),
                }
            })
            .collect();
        let order: Vec<usize> = sccs.iter().flatten().copied().collect();
        // Callees come first, so a round settles all but cycles and `Depends` edges.
        for _ in 0..32 {
            let mut changed = false;
            for &v in &order {
                let f = self.function(v);
                let edges =
                    || {
                        f.calls.iter().zip(&self.targets[v]).enumerate().filter_map(
                            |(i, (c, t))| match t {
                                Target::Project(w) if *w != v => Some((i, c.kind, *w)),
                                _ => None,
                            },
                        )
                    };
                let cur = out[v];
                let mut next = cur;
                if next.owner.is_none() {
                    next.owner = edges()
                        .find(|(_, k, w)| {
                            matches!(k, CallKind::Direct | CallKind::Depends)
                                && out[*w].owner.is_some()
                        })
                        .map(|(i, _, w)| Via::Call(small(i), small(w)));
                }
                let direct = || edges().filter(|(_, k, _)| *k == CallKind::Direct);
                if next.load.is_none() && next.owner.is_none() {
                    next.load = direct()
                        .find(|(_, _, w)| out[*w].load.is_some())
                        .map(|(i, _, w)| Via::Call(small(i), small(w)));
                }
                if next.owner.is_some() && next.load.is_some_and(|l| l != Via::Own) {
                    next.load = None;
                }
                if next.lookup.is_none() && f.calls.len() <= 3 {
                    next.lookup = direct()
                        .find(|(_, _, w)| out[*w].lookup.is_some())
                        .map(|(i, _, w)| Via::Call(small(i), small(w)));
                }
                if next.insert.is_none() && !f.data.conflict {
                    next.insert = direct()
                        .find(|(_, _, w)| out[*w].insert.is_some())
                        .map(|(i, _, w)| Via::Call(small(i), small(w)));
                }
                if next != cur {
                    out[v] = next;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        out
    }

    /// The step "`cur` calls `next`" at `calls[i]` of `cur`.
    fn call_step(&self, cur: usize, i: usize, next: usize) -> Step {
        let c = &self.function(cur).calls[i];
        Step {
            func: cur,
            start: c.start,
            end: c.end,
            label: format!(
                "`{}` calls `{}`",
                self.display_name(cur),
                self.display_name(next)
            ),
        }
    }

    /// The chain of a data summary from function `g` down to the statement that does it:
    /// (function, byte range, label) per step; `fact` picks the summary and the own range.
    pub fn data_chain(
        &self,
        g: usize,
        pick: impl Fn(&DataSummary) -> Option<Via>,
        own: impl Fn(&DataFacts) -> Option<(usize, usize)>,
        what: &str,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut cur = g;
        for _ in 0..self.fns.len() + 1 {
            let f = self.function(cur);
            match pick(&self.data[cur]) {
                Some(Via::Call(i, next)) => {
                    let (i, next) = (i as usize, next as usize);
                    steps.push(self.call_step(cur, i, next));
                    cur = next;
                }
                Some(Via::Own) => {
                    if let Some((start, end)) = own(&f.data) {
                        steps.push(Step {
                            func: cur,
                            start,
                            end,
                            label: format!("`{}` {what}", self.display_name(cur)),
                        });
                    }
                    break;
                }
                None => break,
            }
        }
        steps
    }

    /// The chain from a call site in function `g` (its `calls[call]`, which reaches the
    /// blocking function `callee`) down to the blocking call: (function, byte range,
    /// label) per step.
    pub fn chain(&self, g: usize, call: usize, callee: usize, kind: usize) -> Vec<Step> {
        let c = &self.function(g).calls[call];
        let mut steps = vec![Step {
            func: g,
            start: c.start,
            end: c.end,
            label: format!(
                "`{}` is called on the event loop",
                self.display_name(callee)
            ),
        }];
        let mut cur = callee;
        for _ in 0..self.fns.len() + 1 {
            let f = self.function(cur);
            match self.blocks[cur][kind] {
                Some(Why::Via(i, next)) => {
                    let (i, next) = (i as usize, next as usize);
                    steps.push(self.call_step(cur, i, next));
                    cur = next;
                }
                Some(Why::Call(i)) => {
                    let i = i as usize;
                    let q = match &self.targets[cur][i] {
                        Target::External(q) => q.to_string(),
                        _ => f.calls[i].callee.to_string(),
                    };
                    steps.push(Step {
                        func: cur,
                        start: f.calls[i].start,
                        end: f.calls[i].end,
                        label: format!("`{q}` blocks the thread"),
                    });
                    break;
                }
                Some(Why::Site(i)) => {
                    let b = &f.blocks[i as usize];
                    steps.push(Step {
                        func: cur,
                        start: b.start,
                        end: b.end,
                        label: format!("`{}` {}", b.what, b.kind),
                    });
                    break;
                }
                None => break,
            }
        }
        steps
    }
}

/// One step of a call chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub func: usize,
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// A file's module name (from the `__init__.py` chain above it), the package its relative
/// imports start from, and alternative names (with the directories above the package
/// root: src layouts and namespace packages, where the import root is not known).
fn module_names(path: &str, paths: &HashSet<&str>) -> (String, String, usize) {
    let comps = module_comps(path);
    let is_init = is_package_init(path);
    // How many leading directories are above the package root.
    let dirs = if is_init {
        comps.len()
    } else {
        comps.len().saturating_sub(1)
    };
    let mut root = dirs;
    let lead = if path.starts_with('/') { "/" } else { "" };
    while root > 0 {
        let dir = comps[..root].join("/");
        let init = format!("{lead}{dir}/__init__.py");
        if !paths.contains(init.as_str()) {
            break;
        }
        root -= 1;
    }
    let module = comps[root..].join(".");
    let package = if is_init {
        module.clone()
    } else {
        comps[root..comps.len().saturating_sub(1)].join(".")
    };
    (module, package, root)
}

/// The file is a package's `__init__` module (`.py` or `.pyi`).
fn is_package_init(path: &str) -> bool {
    path.strip_suffix(".pyi")
        .or_else(|| path.strip_suffix(".py"))
        .unwrap_or(path)
        .rsplit('/')
        .find(|c| !c.is_empty() && *c != ".")
        == Some("__init__")
}

/// The path components a file's module name is made of: without the extension, and
/// without `__init__` for a package's own module.
fn module_comps(path: &str) -> Vec<&str> {
    let stem_path = path
        .strip_suffix(".pyi")
        .or_else(|| path.strip_suffix(".py"))
        .unwrap_or(path);
    let mut comps: Vec<&str> = stem_path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if comps.last() == Some(&"__init__") {
        comps.pop();
    }
    comps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    fn part(path: &str, src: &str) -> FilePart {
        let tree = crate::source::parse::parse(Lang::Python, src, None).expect("parse");
        let facts = PyFacts::build(&tree, src);
        let file = SourceFile::new(path.into(), Lang::Python, src.into());
        file_part(&tree, &facts, &file, Vec::new())
    }

    #[test]
    fn modules_follow_the_package_layout() {
        let paths: HashSet<&str> = [
            "src/app/__init__.py",
            "src/app/api/__init__.py",
            "src/app/api/routes.py",
        ]
        .into_iter()
        .collect();
        let (m, p, root) = module_names("src/app/api/routes.py", &paths);
        assert_eq!(
            (m.as_str(), p.as_str(), root),
            ("app.api.routes", "app.api", 1)
        );
        let (m, p, _) = module_names("src/app/__init__.py", &paths);
        assert_eq!((m.as_str(), p.as_str()), ("app", "app"));
        // The directory above the root may be named too, when no module has that name.
        let empty = FilePart::default();
        let mut sorted: Vec<&str> = paths.iter().copied().collect();
        sorted.sort();
        let parts: Vec<(&str, &FilePart)> = sorted.iter().map(|p| (*p, &empty)).collect();
        let ix = ProjectIndex::build(&parts);
        let routes = ix.module("app.api.routes").map(|fi| ix.files[fi].path);
        assert_eq!(routes, Some("src/app/api/routes.py"));
        let longer = ix.module("src.app.api.routes").map(|fi| ix.files[fi].path);
        assert_eq!(longer, Some("src/app/api/routes.py"));
        assert_eq!(ix.module("src.app.api.other"), None);
        assert_eq!(ix.module("api.routes"), None);
    }

    #[test]
    fn calls_resolve_across_files_and_chains_terminate() {
        let a = part(
            "pkg/api.py",
            "from .services import svc\nfrom . import helpers as h\nimport asyncio\n\
             async def route():\n    svc.load()\n    h.slow()\n    await asyncio.to_thread(h.slow)\n    x.unknown()\n",
        );
        let b = part(
            "pkg/services.py",
            "from .helpers import slow\nclass Service:\n    def load(self):\n        return self._inner()\n    \
             def _inner(self):\n        return slow()\nsvc = Service()\n",
        );
        let c = part(
            "pkg/helpers.py",
            "import time\nfrom .helpers import slow as again\ndef slow():\n    time.sleep(1)\n    ping()\n\
             def ping():\n    pong()\ndef pong():\n    ping()\n",
        );
        let init = FilePart::default();
        let parts = [
            ("pkg/__init__.py", &init),
            ("pkg/api.py", &a),
            ("pkg/helpers.py", &c),
            ("pkg/services.py", &b),
        ];
        let ix = ProjectIndex::build(&parts);
        let route = (0..ix.fns.len())
            .find(|&g| ix.function(g).name == "route")
            .expect("route");
        let t = &ix.targets[route];
        let names: Vec<String> = t
            .iter()
            .map(|t| match t {
                Target::Project(g) => ix.display_name(*g),
                Target::External(q) => q.to_string(),
                Target::Known => "known".into(),
                Target::Unresolved => "?".into(),
            })
            .collect();
        assert_eq!(
            names,
            ["Service.load", "slow", "asyncio.to_thread", "slow", "?"]
        );
        let load = match t[0] {
            Target::Project(g) => g,
            _ => unreachable!(),
        };
        let chain = ix.chain(route, 0, load, BlockKind::Call as usize);
        let labels: Vec<&str> = chain.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "`Service.load` is called on the event loop",
                "`Service.load` calls `Service._inner`",
                "`Service._inner` calls `slow`",
                "`time.sleep` blocks the thread",
            ]
        );
        // ping <-> pong is a cycle that blocks nothing.
        let ping = (0..ix.fns.len())
            .find(|&g| ix.function(g).name == "ping")
            .expect("ping");
        assert_eq!(ix.blocks[ping][0], None);
        assert_eq!(ix.stats.calls, 10);
        assert_eq!(ix.stats.resolved, 9);
    }
}
