//! The Rust crate index: every function of a crate's files (its module from the file's place
//! under `src/` and from inline `mod` blocks, its `impl` type), its call sites as written, the
//! `use` aliases that resolve them, the blocking calls it makes and the routes its file
//! registers. Joined after the per-file pass into a call graph over the crate and its
//! workspace siblings, so that a rule can follow an `async` handler into a synchronous helper
//! of another module.
//!
//! A file's [`FilePart`] comes from its own parse and is cached with its other results; the
//! [`CrateIndex`] is rebuilt from the parts on every run.

use crate::model::facts::rust::RustFacts;
use crate::source::names::Names as _;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use tree_sitter::{Node, Tree};

/// What one Rust file contributes to the crate index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePart {
    /// `use` aliases: (name in this file, full path as written), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fns: Vec<FnPart>,
    /// Handlers the file registers as routes, as written (`handlers::get_user`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// Command-line, client-side or vendored code: a stalled executor there stalls one user.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client: bool,
    /// Calls not kept because they cannot name a function of the crates: into the standard
    /// library (`std::`, `core::`, `alloc::`), and methods on values of unknown type
    /// (`conn.query(..)`). Counted for the call graph's resolved ratio.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub external: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether a Rust file takes part in the crate index: it has `async` code (a caller) or a
/// call ERR005 knows as blocking (a helper at the end of a chain). Other files are not
/// parsed for the index, so a chain through a helper file with neither is not followed.
pub fn wanted(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "async",
        "fs::",
        "File::",
        "sleep",
        "blocking",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "rusqlite",
        "postgres",
        "mysql",
        "redis",
        "bcrypt",
        "argon2",
        "scrypt",
        "pbkdf2",
    ];
    text.contains("fn ") && MARKERS.iter().any(|m| text.contains(m))
}

/// A function (free, in an `impl` or a trait) of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FnPart {
    pub name: String,
    /// Inline `mod` blocks around it, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub module: Vec<String>,
    /// The `impl` (or trait) type it belongs to, without generics; empty for a free function.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_async: bool,
    /// Takes request extractors or is registered as a route in its own file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handler: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_test: bool,
    /// The function's name in the file (byte range).
    pub start: usize,
    pub end: usize,
    /// Calls made on the function's own thread (not in a closure handed to
    /// `spawn_blocking`, `block_in_place` or a blocking pool), in source order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Site>,
    /// Calls that block the thread, made on the function's own thread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Site>,
}

/// A call: the callee as written (`db::load`, `Self::parse`, `self.read`, `.read` for a
/// method on anything else), or for a blocking call what it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub name: String,
    pub start: usize,
    pub end: usize,
    /// Inside the future handed to `spawn`: it runs as a task of its own, later.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spawned: bool,
}

/// Calls whose closure argument runs on another thread than the caller's.
const OFFLOAD: &[&str] = &[
    "spawn_blocking",
    "block_in_place",
    "block",
    "interact",
    "run",
    "run_blocking",
    "spawn",
];

/// The file's part. `blocks` are the file's blocking calls (from the error-handling rules'
/// list), `client` whether the file is command-line, client-side or vendored code.
pub fn file_part(
    tree: &Tree,
    facts: &RustFacts,
    src: &str,
    blocks: Vec<Site>,
    client: bool,
) -> FilePart {
    let mut uses: Vec<(String, String)> = facts
        .uses
        .iter()
        .map(|(a, p)| (a.clone(), p.clone()))
        .collect();
    uses.sort();
    let mut part = FilePart {
        uses,
        fns: Vec::new(),
        routes: Vec::new(),
        client,
        external: 0,
        unknown: 0,
    };
    let mut routes: Vec<String> = facts.routes.iter().map(|r| r.handler.clone()).collect();
    routes.extend(facts.mounts.iter().map(|m| m.child.clone()));
    routes.sort();
    routes.dedup();
    part.routes = routes;
    // Modules and owners are interned: the stack carries indices.
    let mut modules: Vec<Vec<String>> = vec![Vec::new()];
    let mut owners: Vec<String> = vec![String::new()];
    let mut offloaded: Vec<(usize, usize)> = Vec::new();
    let mut spawned: Vec<(usize, usize)> = Vec::new();
    // Per function of `part.fns`: the byte range of its item.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    const NONE: usize = usize::MAX;
    // (node, module, owner, function)
    let mut stack: Vec<(Node<'_>, usize, usize, usize)> = vec![(tree.root_node(), 0, 0, NONE)];
    while let Some((node, m, o, f)) = stack.pop() {
        let (mut m, mut o, mut f) = (m, o, f);
        match node.kind() {
            "mod_item" => {
                let name = field_text(node, "name", src);
                let mut path = modules[m].clone();
                path.push(name.to_string());
                modules.push(path);
                m = modules.len() - 1;
                o = 0;
            }
            "impl_item" | "trait_item" => {
                let ty = node
                    .child_by_field_name(if node.kind() == "impl_item" {
                        "type"
                    } else {
                        "name"
                    })
                    .map(|t| type_name(text(t, src)))
                    .unwrap_or_default();
                owners.push(ty);
                o = owners.len() - 1;
            }
            "function_item" => {
                let name = node.child_by_field_name("name");
                let start = node.start_byte();
                let body = node.child_by_field_name("body");
                let is_async = node
                    .named_children(&mut node.walk())
                    .find(|c| c.kind() == "function_modifiers")
                    .is_some_and(|c| text(c, src).contains("async"));
                let handler = body.is_some_and(|b| {
                    facts
                        .handler_at(b.start_byte() + 1)
                        .is_some_and(|h| h.body_start == b.start_byte())
                });
                ranges.push((start, node.end_byte()));
                part.fns.push(FnPart {
                    name: name.map(|n| text(n, src).to_string()).unwrap_or_default(),
                    module: modules[m].clone(),
                    owner: owners[o].clone(),
                    is_async,
                    handler,
                    in_test: facts.in_test(start),
                    start: name.map_or(start, |n| n.start_byte()),
                    end: name.map_or(start, |n| n.end_byte()),
                    calls: Vec::new(),
                    blocks: Vec::new(),
                });
                f = part.fns.len() - 1;
                if let Some(b) = body {
                    stack.push((b, m, o, f));
                }
                continue;
            }
            "call_expression" if f != NONE => {
                if let Some(callee) = node
                    .child_by_field_name("function")
                    .and_then(|c| callee(c, src))
                {
                    let last = callee.rsplit(['.', ':']).next().unwrap_or("");
                    let inside = |r: &Vec<(usize, usize)>| {
                        r.iter()
                            .any(|&(s, e)| s <= node.start_byte() && node.end_byte() <= e)
                    };
                    let in_spawn = inside(&spawned);
                    if matches!(last, "spawn" | "spawn_local") {
                        if let Some(args) = node.child_by_field_name("arguments") {
                            spawned.push((args.start_byte(), args.end_byte()));
                        }
                    }
                    if OFFLOAD.contains(&last) {
                        if let Some(args) = node.child_by_field_name("arguments") {
                            for a in args.named_children(&mut args.walk()) {
                                if a.kind() == "closure_expression" {
                                    offloaded.push((a.start_byte(), a.end_byte()));
                                }
                            }
                        }
                    }
                    let head = callee.split("::").next().unwrap_or("");
                    if callee.starts_with('.') {
                        part.unknown += 1;
                    } else if matches!(head, "std" | "core" | "alloc") {
                        part.external += 1;
                    } else {
                        part.fns[f].calls.push(Site {
                            name: callee,
                            start: node.start_byte(),
                            end: node.end_byte(),
                            spawned: in_spawn,
                        });
                    }
                }
            }
            "closure_expression" if offloaded.contains(&(node.start_byte(), node.end_byte())) => {
                // Runs on a blocking pool: neither its calls nor its blocking count.
                continue;
            }
            _ => {}
        }
        let mut c = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut c).collect();
        for child in children.into_iter().rev() {
            stack.push((child, m, o, f));
        }
    }
    // Each blocking call belongs to the innermost function around it, unless offloaded.
    let mut blocks = blocks;
    blocks.retain(|b| !offloaded.iter().any(|&(s, e)| s <= b.start && b.end <= e));
    for b in blocks {
        if let Some(i) = ranges
            .iter()
            .enumerate()
            .filter(|(_, &(s, e))| s <= b.start && b.end <= e)
            .min_by_key(|(_, &(s, e))| e - s)
            .map(|(i, _)| i)
        {
            if let Some(func) = part.fns.get_mut(i) {
                func.blocks.push(b);
            }
        }
    }
    // A function that calls nothing the index keeps and blocks nothing adds no edge.
    part.fns
        .retain(|f| !f.calls.is_empty() || !f.blocks.is_empty());
    part
}

fn text<'a>(n: Node<'_>, src: &'a str) -> &'a str {
    n.utf8_text(src.as_bytes()).unwrap_or("")
}

fn field_text<'a>(n: Node<'_>, field: &'static str, src: &'a str) -> &'a str {
    n.child_by_field_name(field).map_or("", |c| text(c, src))
}

/// `a::Foo<T>` → `Foo`; `&'a mut Foo` → `Foo`.
fn type_name(t: &str) -> String {
    let t = t.split('<').next().unwrap_or(t);
    let t = t.rsplit("::").next().unwrap_or(t);
    t.trim_start_matches(['&', ' '])
        .trim_start_matches("mut ")
        .trim()
        .to_string()
}

/// The callee of a call as written: a path, `self.m`, or `.m` for a method on anything else.
fn callee(f: Node<'_>, src: &str) -> Option<String> {
    match f.kind() {
        "identifier" | "scoped_identifier" => Some(
            text(f, src)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
        ),
        "generic_function" => f
            .child_by_field_name("function")
            .and_then(|g| callee(g, src)),
        "field_expression" => {
            let field = field_text(f, "field", src);
            let value = f.child_by_field_name("value").map_or("", |v| text(v, src));
            Some(if value == "self" {
                format!("self.{field}")
            } else {
                format!(".{field}")
            })
        }
        _ => None,
    }
}

/// One step of a chain: the file, the byte range and what happens there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// Why a synchronous function blocks: a blocking call of its own (index into `blocks`), or
/// a call (index into `calls`) to a function that blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Own(usize),
    Via(usize, usize),
}

/// The crates of the scanned tree, joined.
#[derive(Debug, Default)]
pub struct CrateIndex<'a> {
    /// (path, part, crate root, module of the file)
    files: Vec<(&'a str, &'a FilePart, usize, Vec<String>)>,
    /// Every function: (file, index in the file's part).
    pub fns: Vec<(usize, usize)>,
    /// Per function, per call: the function it resolves to.
    pub targets: Vec<Vec<Option<usize>>>,
    /// Per function: why it blocks (synchronous functions only).
    pub blocks: Vec<Option<Why>>,
    /// Per function: reached from a route handler (itself one, or called by one, transitively).
    pub on_request: Vec<bool>,
    /// Per function: runs only at start-up: `main` calls it (not as a spawned task),
    /// directly or further down, and no route handler reaches it.
    pub startup: Vec<bool>,
    /// Call sites; resolved to a function of the crates, or to a path outside them
    /// (`std::..`, an imported crate's, a constructor such as `Some`); the ratio.
    pub stats: crate::model::pyindex::CallStats,
}

impl<'a> CrateIndex<'a> {
    /// Joins the parts of every Rust file (path, part), sorted by path.
    pub fn build(parts: &[(&'a str, &'a FilePart)]) -> CrateIndex<'a> {
        let mut roots: Vec<String> = Vec::new();
        let mut files = Vec::new();
        for (path, part) in parts {
            let (root, module) = crate_place(path);
            let ri = match roots.iter().position(|r| *r == root) {
                Some(i) => i,
                None => {
                    roots.push(root);
                    roots.len() - 1
                }
            };
            files.push((*path, *part, ri, module));
        }
        let mut ix = CrateIndex {
            files,
            ..CrateIndex::default()
        };
        let mut free: HashMap<(usize, String, &str), usize> = HashMap::new();
        let mut methods: HashMap<(usize, &str, &str), Vec<usize>> = HashMap::new();
        for (fi, (_, part, root, module)) in ix.files.iter().enumerate() {
            let part: &'a FilePart = part;
            for (i, f) in part.fns.iter().enumerate() {
                let id = ix.fns.len();
                ix.fns.push((fi, i));
                if f.owner.is_empty() {
                    let mut m = module.clone();
                    m.extend(f.module.iter().cloned());
                    free.entry((*root, m.join("::"), f.name.as_str()))
                        .or_insert(id);
                } else {
                    methods
                        .entry((*root, f.owner.as_str(), f.name.as_str()))
                        .or_default()
                        .push(id);
                }
            }
        }
        let names: Vec<String> = roots
            .iter()
            .map(|r| r.rsplit('/').next().unwrap_or(r).replace('-', "_"))
            .collect();
        let resolver = Resolver {
            names: &names,
            free: &free,
            methods: &methods,
        };
        let mut targets = Vec::with_capacity(ix.fns.len());
        for &(fi, i) in &ix.fns {
            let (_, part, root, module) = &ix.files[fi];
            let f = &part.fns[i];
            let mut here = module.clone();
            here.extend(f.module.iter().cloned());
            let t: Vec<Option<usize>> = f
                .calls
                .iter()
                .map(|c| resolver.resolve(&c.name, *root, &here, &f.owner, &part.uses, 0))
                .collect();
            ix.stats.calls += t.len();
            for (c, x) in f.calls.iter().zip(&t) {
                if x.is_some() {
                    ix.stats.project += 1;
                    ix.stats.resolved += 1;
                } else if outside(&c.name, &part.uses) {
                    ix.stats.resolved += 1;
                }
            }
            targets.push(t);
        }
        ix.targets = targets;
        for (_, part, _, _) in &ix.files {
            ix.stats.calls += part.external + part.unknown;
            ix.stats.resolved += part.external;
        }
        if ix.stats.calls > 0 {
            let r = ix.stats.resolved as f64 / ix.stats.calls as f64;
            ix.stats.resolved_ratio = (r * 1000.0).round() / 1000.0;
        }
        ix.blocks = ix.blocking();
        // Route handlers: flagged in their file, or registered by any file of the crate.
        let mut todo: Vec<usize> = (0..ix.fns.len())
            .filter(|&g| ix.function(g).handler)
            .collect();
        for (_, part, root, module) in &ix.files {
            for r in &part.routes {
                if let Some(g) = resolver.resolve(r, *root, module, "", &part.uses, 0) {
                    todo.push(g);
                }
            }
        }
        let mut on_request = vec![false; ix.fns.len()];
        while let Some(g) = todo.pop() {
            if std::mem::replace(&mut on_request[g], true) {
                continue;
            }
            todo.extend(ix.targets[g].iter().flatten().copied());
        }
        let mut startup = vec![false; ix.fns.len()];
        let mut todo: Vec<usize> = (0..ix.fns.len())
            .filter(|&g| {
                let f = ix.function(g);
                f.name == "main" && f.owner.is_empty() && !f.in_test
            })
            .collect();
        while let Some(g) = todo.pop() {
            if std::mem::replace(&mut startup[g], true) {
                continue;
            }
            let calls = &ix.function(g).calls;
            todo.extend(
                ix.targets[g]
                    .iter()
                    .zip(calls)
                    .filter(|(_, c)| !c.spawned)
                    .filter_map(|(t, _)| *t),
            );
        }
        for (s, r) in startup.iter_mut().zip(&on_request) {
            *s = *s && !r;
        }
        ix.on_request = on_request;
        ix.startup = startup;
        ix
    }

    pub fn function(&self, g: usize) -> &'a FnPart {
        let (fi, i) = self.fns[g];
        &self.files[fi].1.fns[i]
    }

    pub fn path_of(&self, g: usize) -> &'a str {
        self.files[self.fns[g].0].0
    }

    pub fn client(&self, g: usize) -> bool {
        self.files[self.fns[g].0].1.client
    }

    /// A display name: `Type::method` or `function`.
    pub fn display_name(&self, g: usize) -> String {
        let f = self.function(g);
        if f.owner.is_empty() {
            f.name.clone()
        } else {
            format!("{}::{}", f.owner, f.name)
        }
    }

    /// Why each synchronous function blocks, until nothing changes: a function is marked
    /// only from ones already marked, so the reasons never loop.
    fn blocking(&self) -> Vec<Option<Why>> {
        let mut why: Vec<Option<Why>> = vec![None; self.fns.len()];
        for _ in 0..32 {
            let mut changed = false;
            for g in 0..self.fns.len() {
                let f = self.function(g);
                if why[g].is_some() || f.is_async {
                    continue;
                }
                let found = if f.blocks.is_empty() {
                    self.targets[g].iter().enumerate().find_map(|(c, t)| {
                        t.filter(|&h| h != g && !self.function(h).is_async && why[h].is_some())
                            .map(|h| Why::Via(c, h))
                    })
                } else {
                    Some(Why::Own(0))
                };
                if found.is_some() {
                    why[g] = found;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        why
    }

    /// The chain from call `call` of `g` down to the blocking call: the call, each helper's
    /// call further down, and the blocking call itself.
    pub fn chain(&self, g: usize, call: usize) -> Vec<Step> {
        let site = &self.function(g).calls[call];
        let mut out = vec![Step {
            path: self.path_of(g).to_string(),
            start: site.start,
            end: site.end,
            label: format!("`{}` runs on the async executor's thread", site.name),
        }];
        let mut at = self.targets[g][call];
        let mut seen = HashSet::new();
        while let Some(h) = at {
            if !seen.insert(h) || out.len() > 16 {
                break;
            }
            let f = self.function(h);
            match self.blocks[h] {
                Some(Why::Own(b)) => {
                    let s = &f.blocks[b];
                    out.push(Step {
                        path: self.path_of(h).to_string(),
                        start: s.start,
                        end: s.end,
                        label: format!(
                            "`{}` in `{}` blocks the thread",
                            s.name,
                            self.display_name(h)
                        ),
                    });
                    at = None;
                }
                Some(Why::Via(c, next)) => {
                    let s = &f.calls[c];
                    out.push(Step {
                        path: self.path_of(h).to_string(),
                        start: s.start,
                        end: s.end,
                        label: format!("synchronous `{}` calls `{}`", self.display_name(h), s.name),
                    });
                    at = Some(next);
                }
                None => at = None,
            }
        }
        out
    }
}

/// A callee that is not the crates' own but known: a path into another crate (`std::fs::read`,
/// `serde_json::from_str`, a `use`d name of one), or a constructor (`Some`, `Ok`, `Json`).
fn outside(callee: &str, uses: &[(String, String)]) -> bool {
    if callee.starts_with('.') || callee.starts_with("self.") {
        return false;
    }
    let head = callee.split("::").next().unwrap_or(callee);
    let head = match uses.binary_search_by(|(a, _)| a.as_str().cmp(head)) {
        Ok(i) => uses[i].1.split("::").next().unwrap_or(""),
        Err(_) if !callee.contains("::") => {
            return head.starts_with(|c: char| c.is_ascii_uppercase());
        }
        Err(_) => head,
    };
    !matches!(head, "crate" | "self" | "super" | "Self")
}

/// The crate root directory of a file and its module path: `api/src/db/users.rs` →
/// (`api`, [`db`, `users`]); `lib.rs`, `main.rs` and `mod.rs` name their directory.
fn crate_place(path: &str) -> (String, Vec<String>) {
    let (root, rest) = match path.rfind("src/") {
        Some(i) if i == 0 || path[..i].ends_with('/') => {
            (path[..i].trim_end_matches('/').to_string(), &path[i + 4..])
        }
        _ => match path.rfind('/') {
            Some(i) => (path[..i].to_string(), &path[i + 1..]),
            None => (String::new(), path),
        },
    };
    let mut module: Vec<String> = rest.split('/').map(str::to_string).collect();
    if let Some(last) = module.pop() {
        let stem = last.trim_end_matches(".rs");
        let top = module.is_empty();
        if !(matches!(stem, "mod") || (top && matches!(stem, "lib" | "main"))) {
            module.push(stem.to_string());
        }
    }
    (root, module)
}

struct Resolver<'r, 'a> {
    /// Per crate root: the crate's name (its directory, `-` as `_`).
    names: &'r [String],
    free: &'r HashMap<(usize, String, &'a str), usize>,
    methods: &'r HashMap<(usize, &'a str, &'a str), Vec<usize>>,
}

impl Resolver<'_, '_> {
    /// The function a callee written in module `here` of crate `root` names, if it is one
    /// of the crates' own.
    fn resolve(
        &self,
        callee: &str,
        root: usize,
        here: &[String],
        owner: &str,
        uses: &[(String, String)],
        depth: usize,
    ) -> Option<usize> {
        if depth > 4 {
            return None;
        }
        if let Some(m) = callee.strip_prefix("self.") {
            return self.method(root, owner, m);
        }
        if callee.starts_with('.') || callee.is_empty() {
            return None;
        }
        let callee = callee.split("::<").next().unwrap_or(callee);
        let segs: Vec<&str> = callee.trim_start_matches("::").split("::").collect();
        let head = segs[0];
        let rest = &segs[1..];
        let (crate_root, base): (usize, Vec<String>) = match head {
            "crate" => (root, Vec::new()),
            "self" => (root, here.to_vec()),
            "super" => {
                let mut m = here.to_vec();
                let mut i = 0;
                while segs.get(i) == Some(&"super") {
                    m.pop();
                    i += 1;
                }
                return self.lookup(root, m, &segs[i..]);
            }
            "Self" => return rest.first().and_then(|m| self.method(root, owner, m)),
            _ => {
                if let Ok(i) = uses.binary_search_by(|(a, _)| a.as_str().cmp(head)) {
                    let full = &uses[i].1;
                    let expanded = if rest.is_empty() {
                        full.clone()
                    } else {
                        format!("{full}::{}", rest.join("::"))
                    };
                    if expanded != callee {
                        return self.resolve(&expanded, root, here, owner, &[], depth + 1);
                    }
                }
                // A function, submodule or type of this module; a path from the crate
                // root (2015 edition); another crate of the workspace.
                if let Some(g) = self.lookup(root, here.to_vec(), &segs) {
                    return Some(g);
                }
                if rest.is_empty() {
                    return None;
                }
                if let Some(g) = self.lookup(root, Vec::new(), &segs) {
                    return Some(g);
                }
                (self.crate_named(head)?, Vec::new())
            }
        };
        self.lookup(crate_root, base, rest)
    }

    fn lookup(&self, root: usize, mut module: Vec<String>, rest: &[&str]) -> Option<usize> {
        let (&last, init) = rest.split_last()?;
        if let Some(&ty) = init.last() {
            if ty.starts_with(|c: char| c.is_ascii_uppercase()) {
                return self.method(root, ty, last);
            }
        }
        module.extend(init.iter().map(|s| s.to_string()));
        self.free.get(&(root, module.join("::"), last)).copied()
    }

    fn method(&self, root: usize, owner: &str, name: &str) -> Option<usize> {
        match self.methods.get(&(root, owner, name)) {
            Some(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// A workspace crate by the name code `use`s: its directory name, or a name that ends
    /// in `_` and it (`lemmy_db_schema` for `crates/db_schema`), when only one fits.
    fn crate_named(&self, head: &str) -> Option<usize> {
        if let Some(i) = self.names.iter().position(|n| n == head) {
            return Some(i);
        }
        let mut fits = self.names.iter().enumerate().filter(|(_, n)| {
            !n.is_empty()
                && head
                    .strip_suffix(n.as_str())
                    .is_some_and(|p| p.ends_with('_'))
        });
        match (fits.next(), fits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::crate_place;

    #[test]
    fn modules_follow_the_src_layout() {
        assert_eq!(crate_place("api/src/lib.rs"), ("api".into(), vec![]));
        assert_eq!(
            crate_place("api/src/db/users.rs"),
            ("api".into(), vec!["db".to_string(), "users".to_string()])
        );
        assert_eq!(
            crate_place("src/db/mod.rs"),
            (String::new(), vec!["db".to_string()])
        );
        assert_eq!(
            crate_place("crates/x-y/src/main.rs"),
            ("crates/x-y".into(), vec![])
        );
    }
}
