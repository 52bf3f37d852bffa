//! Repository checks over Python imports and dependency manifests: modules imported but
//! not declared (SEC011), declared only as another package's dependency (SEC012), and
//! unpinned lines in an otherwise pinned requirements file (SEC013). Lock files, when the
//! project has them, say what is installed and through which declared package; without
//! one a small table of well-known requirements stands in. Weaker shapes are low: an
//! import another manifest of the repository declares, `typing_extensions` without a lock
//! file, and the error classes of a declared client's transport caught next to the client.

use crate::checks::{Confidence, RepoHit};
use crate::model::deps::lock::{LockDep, LockGraph, LockedDist, Reach, Reaches};
use crate::model::deps::venv::top_level_map;
use crate::model::deps::*;
use crate::model::summary::{FileSummary, Located, RepoContext};
use crate::source::lang::Lang;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Directories whose code is not part of what the project ships or tests (examples,
/// docs snippets, helper scripts): their imports are not checked.
const UNCHECKED_DIRS: &[&str] = &[
    "docs",
    "doc",
    "docs_src",
    "examples",
    "example",
    "scripts",
    "script",
    "benchmarks",
    "benchmark",
    "bench",
    "tools",
    "contrib",
    "tutorial",
    "tutorials",
    "notebooks",
    "site-packages",
    ".venv",
    "venv",
    "node_modules",
    "build",
    // In-tree build backends (`backend-path = ["_build"]`): run by the build frontend with
    // the `[build-system] requires` it installed.
    "_build",
    "dist",
    ".tox",
    ".nox",
    "vendor",
    "_vendor",
    "third_party",
    "release",
    "releasing",
    ".github",
    "ci",
    ".ci",
    "devtools",
    "dev",
    "bin",
    "docker",
    "eval",
    "evals",
    "load_tests",
    "loadtests",
];
/// Modules provided by the runtime, not by a distribution (type checkers, Pyodide).
const PLATFORM_MODULES: &[&str] = &["_typeshed", "pyodide", "pyodide_js", "micropip", "js"];
const UNCHECKED_FILES: &[&str] = &[
    "setup.py",
    "hatch_build.py",
    "noxfile.py",
    "fabfile.py",
    "tasks.py",
    "manage.py",
    "conf.py",
];

fn is_test_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path.split('/')
        .any(|c| matches!(c, "tests" | "test" | "testing"))
        || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn is_under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.starts_with(dir) && path[dir.len()..].starts_with('/')
}

/// Distributions that are part of a declared parent by design: their parent pins them and
/// documents importing them (`starlette` under FastAPI, `pydantic_core` errors under
/// Pydantic, `botocore` exceptions under boto3). Importing them is not a hidden
/// dependency. `*` means any parent (`typing_extensions` comes with nearly everything).
const COMPANIONS: &[(&str, &[&str])] = &[
    ("starlette", &["fastapi", "fastmcp"]),
    ("pydantic-core", &["pydantic"]),
    ("annotated-types", &["pydantic"]),
    ("typing-inspection", &["pydantic"]),
    ("botocore", &["boto3", "aiobotocore"]),
    ("s3transfer", &["boto3"]),
    ("asgiref", &["django"]),
    ("kombu", &["celery"]),
    ("billiard", &["celery"]),
    ("vine", &["celery"]),
    ("transaction", &["zope-sqlalchemy"]),
    ("alembic", &["flask-migrate"]),
    // Template packs are installed next to the forms library they render for, and its
    // tags are what the templates load; history triggers are the tracker's own layer.
    (
        "django-crispy-forms",
        &["crispy-bootstrap5", "crispy-bootstrap4", "crispy-tailwind"],
    ),
    ("django-pgtrigger", &["django-pghistory"]),
    ("werkzeug", &["flask"]),
    ("jinja2", &["flask"]),
    ("itsdangerous", &["flask"]),
    ("click", &["flask", "typer"]),
    ("markupsafe", &["jinja2", "flask"]),
    ("google-api-core", &["google-cloud-*"]),
    ("httplib2", &["google-api-python-client"]),
    ("oauthlib", &["flask-dance", "requests-oauthlib"]),
    ("sqlalchemy", &["flask-sqlalchemy", "sqlmodel"]),
    ("httpcore", &["httpx"]),
    ("django-stubs-ext", &["django-stubs"]),
    ("opentelemetry-api", &["opentelemetry-sdk", "logfire"]),
    ("opentelemetry-sdk", &["logfire"]),
    ("pluggy", &["pytest"]),
    ("aliyun-python-sdk-core", &["aliyun-python-sdk-*"]),
    ("alibabacloud-tea-openapi", &["alibabacloud-*"]),
    ("alibabacloud-tea-util", &["alibabacloud-*"]),
    ("typing-extensions", &["*"]),
];

/// Is `dist` a companion of a parent the project declares, or installs (`installed`)?
fn is_companion(dist: &str, declared: &HashSet<String>, installed: impl Fn(&str) -> bool) -> bool {
    COMPANIONS
        .iter()
        .find(|(d, _)| *d == dist)
        .is_some_and(|(_, ps)| {
            ps.iter()
                .any(|p| *p == "*" || declared.iter().any(|d| satisfies(d, p)) || installed(p))
        })
}

/// Is `dist` a part of `parent` by name (`bittensor-wallet` of `bittensor`, `pydantic-core`
/// of `pydantic`)? A parent that requires a distribution named after itself split it out
/// and releases the two together: importing the part is using the parent.
fn part_of(dist: &str, parent: &str) -> bool {
    dist.strip_prefix(parent)
        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('-'))
}

/// Does an extra of a declared requirement name a later word of `dist` (`httpx` of
/// `opentelemetry-instrumentation-httpx`)? The extra is how the project declared it.
fn asked_by_extra(proj: &Project, dist: &str) -> bool {
    dist.split('-')
        .skip(1)
        .any(|w| w.len() > 2 && proj.extras.contains(w))
}

/// An import the project's manifests do not declare.
struct Missing {
    hit: RepoHit,
    /// A declared distribution that requires the missing one.
    via: Option<String>,
}

/// Requirements files in a `requirements/` directory serve the project above it.
fn root_of(path: &str) -> &str {
    let dir = dir_of(path);
    if dir == "requirements" {
        ""
    } else if dir.ends_with("/requirements") {
        dir_of(dir)
    } else {
        dir
    }
}

/// `dir/rel` with `.` and `..` resolved.
fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

/// One manifest with what it declares, its `-r` includes folded in.
struct Root<'a> {
    dir: &'a str,
    summary: &'a FileSummary,
    declared: Vec<&'a Located>,
    dev: Vec<&'a Located>,
}

fn roots<'a>(ctx: &RepoContext<'a>) -> Vec<Root<'a>> {
    let by_path: HashMap<&str, &FileSummary> = ctx
        .files
        .iter()
        .map(|(p, _, s)| (p.as_str(), &**s))
        .collect();
    let mut out = Vec::new();
    for (path, _, s) in ctx.files.iter().filter(|(_, _, s)| s.manifest) {
        let mut root = Root {
            dir: root_of(path),
            summary: s,
            declared: s.declared.iter().collect(),
            dev: s.declared_dev.iter().collect(),
        };
        // `-r other.txt`, followed a few levels deep.
        let includer_dev = s.declared.is_empty() && !s.declared_dev.is_empty();
        let mut queue: Vec<(String, usize)> = s
            .includes
            .iter()
            .map(|i| (join(dir_of(path), i), 0))
            .collect();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some((inc, depth)) = queue.pop() {
            if depth > 4 || !seen.insert(inc.clone()) {
                continue;
            }
            let Some(other) = by_path.get(inc.as_str()) else {
                continue;
            };
            if includer_dev {
                root.dev.extend(other.declared.iter());
            } else {
                root.declared.extend(other.declared.iter());
            }
            root.dev.extend(other.declared_dev.iter());
            queue.extend(
                other
                    .includes
                    .iter()
                    .map(|i| (join(dir_of(&inc), i), depth + 1)),
            );
        }
        out.push(root);
    }
    out
}

fn lock_deps(reqs: &[&Located]) -> Vec<LockDep> {
    reqs.iter()
        .map(|l| LockDep {
            name: normalise(&l.name),
            extras: requirement_extras(&l.detail),
        })
        .collect()
}

/// What the manifests covering one Python file declare, and what their lock files and
/// virtual environment install.
struct Project {
    runtime: HashSet<String>,
    dev: HashSet<String>,
    /// Extras asked of declared requirements, compacted (`flagsmith-common[task-processor]`
    /// gives `taskprocessor`): a plug-in extra usually names the module it enables.
    extras: HashSet<String>,
    lock: Option<Reaches>,
    lock_name: String,
    venv: HashMap<String, Vec<String>>,
    opaque: bool,
}

fn project(ctx: &RepoContext<'_>, covering: &[&Root<'_>], file: &str) -> Project {
    let runtime_reqs: Vec<&Located> = covering.iter().flat_map(|r| r.declared.clone()).collect();
    let dev_reqs: Vec<&Located> = covering.iter().flat_map(|r| r.dev.clone()).collect();
    // The nearest directory above the file holding lock files.
    let lock_dir = ctx
        .files
        .iter()
        .filter(|(p, _, s)| !s.locked.is_empty() && is_under(file, dir_of(p)))
        .map(|(p, _, _)| dir_of(p))
        .max_by_key(|d| d.len());
    let lock = lock_dir.map(|dir| {
        let files: Vec<&[LockedDist]> = ctx
            .files
            .iter()
            .filter(|(p, _, s)| !s.locked.is_empty() && dir_of(p) == dir)
            .map(|(_, _, s)| s.locked.as_slice())
            .collect();
        LockGraph::new(&files).reaches(&lock_deps(&runtime_reqs), &lock_deps(&dev_reqs))
    });
    let lock_name = lock_dir
        .and_then(|dir| {
            ctx.files
                .iter()
                .find(|(p, _, s)| !s.locked.is_empty() && dir_of(p) == dir)
                .map(|(p, _, _)| p.rsplit('/').next().unwrap_or(p).to_string())
        })
        .unwrap_or_default();
    let mut venv = HashMap::new();
    for r in covering {
        for (top, dists) in top_level_map(r.dir) {
            venv.entry(top).or_insert(dists);
        }
    }
    Project {
        runtime: runtime_reqs.iter().map(|l| normalise(&l.name)).collect(),
        dev: dev_reqs.iter().map(|l| normalise(&l.name)).collect(),
        extras: runtime_reqs
            .iter()
            .flat_map(|l| requirement_extras(&l.detail))
            .map(|e| compact(&e))
            .collect(),
        lock,
        lock_name,
        venv,
        opaque: covering.iter().all(|r| r.summary.opaque)
            && covering.iter().all(|r| r.declared.is_empty()),
    }
}

/// A directory without `__init__.py` right where its manifest is: a helper script of the
/// repository (`serve.py`, `populate.py`), not part of the package.
fn is_root_script(ctx: &RepoContext<'_>, path: &str, covering: &[&Root<'_>]) -> bool {
    let dir = dir_of(path);
    let init = if dir.is_empty() {
        "__init__.py".to_string()
    } else {
        format!("{dir}/__init__.py")
    };
    covering.iter().any(|r| r.dir == dir) && !ctx.files.iter().any(|(p, _, _)| *p == init)
}

/// How an import stands against what the project declares and installs.
enum Verdict {
    Fine,
    /// Not declared for the running code; the reason for the message.
    Undeclared(&'static str),
    /// Declared, but in a development group only: which group a plug-in's dependency
    /// belongs in is a judgement call (reported with low confidence).
    DevOnly,
    /// Not declared; installed only with a distribution declared for development.
    DevTransitive,
    /// Installed only through this distribution.
    Transitive(String),
}

fn judge(proj: &Project, dotted: &str, top: &str, test: bool, script: bool) -> (Verdict, String) {
    let mut candidates = distributions_for(dotted);
    for d in proj.venv.get(top).into_iter().flatten() {
        if !candidates.contains(d) {
            candidates.insert(0, d.clone());
        }
    }
    let dist = candidates
        .first()
        .cloned()
        .unwrap_or_else(|| normalise(top));
    // The locked distribution carrying exactly this name, if any.
    let locked_exact = proj.lock.as_ref().and_then(|l| {
        candidates
            .iter()
            .find(|c| !c.ends_with('*') && l.contains(c))
            .cloned()
    });
    let provided = |names: &HashSet<String>| {
        names.iter().any(|d| {
            candidates.iter().any(|c| satisfies(d, c))
                || provides_by_name(d, dotted) && locked_exact.as_ref().is_none_or(|e| e == d)
        })
    };
    if provided(&proj.runtime) || test && provided(&proj.dev) {
        return (Verdict::Fine, dist);
    }
    let dev_declared = provided(&proj.dev);
    if locked_exact.is_none() && proj.extras.contains(&compact(top)) {
        return (Verdict::Fine, dist);
    }
    let Some(lock) = &proj.lock else {
        let via = candidates.iter().find_map(|c| {
            requirers(c).iter().find_map(|r| {
                let mut parents: Vec<&String> =
                    proj.runtime.iter().filter(|d| satisfies(d, r)).collect();
                parents.sort();
                parents.first().map(|d| d.to_string())
            })
        });
        // Brought by a distribution declared only for development (`astroid` in a pylint
        // plug-in, with `pylint` in the lint requirements): where it belongs is the same
        // judgement call as for the parent itself.
        let via_dev = via.is_none()
            && candidates.iter().any(|c| {
                requirers(c)
                    .iter()
                    .any(|r| proj.dev.iter().any(|d| satisfies(d, r)))
            });
        return match via {
            Some(v)
                if !dev_declared
                    && (is_companion(&dist, &proj.runtime, |p| p == v) || part_of(&dist, &v)) =>
            {
                (Verdict::Fine, dist)
            }
            Some(v) => (Verdict::Transitive(v), dist),
            None if via_dev && script => (Verdict::Fine, dist),
            None if via_dev => (Verdict::DevTransitive, dist),
            None if dev_declared && script => (Verdict::Fine, dist),
            None if dev_declared => (Verdict::DevOnly, dist),
            None => (
                Verdict::Undeclared("no dependency manifest of this project declares it"),
                dist,
            ),
        };
    };
    // The distribution the lock file installs for this import.
    let target = locked_exact.or_else(|| {
        let loose: Vec<&String> = lock
            .locked
            .iter()
            .filter(|n| provides_loosely(n, dotted))
            .collect();
        loose
            .iter()
            .find(|n| proj.runtime.contains(n.as_str()))
            .or(loose.first())
            .map(|n| n.to_string())
    });
    let Some(target) = target else {
        return (
            Verdict::Undeclared(
                "no dependency manifest of this project declares it and its lock file does not install it",
            ),
            dist,
        );
    };
    if proj.runtime.contains(&target) || test && proj.dev.contains(&target) {
        return (Verdict::Fine, target);
    }
    let dev_declared = dev_declared || proj.dev.contains(&target);
    let installed = |p: &str| matches!(lock.of(p), Some(Reach::Runtime(_)));
    match lock.of(&target) {
        Some(Reach::Runtime(_))
            if !dev_declared && is_companion(&target, &proj.runtime, installed) =>
        {
            (Verdict::Fine, target)
        }
        // Asked for by an extra of the declared parent: `logfire[httpx]` installs
        // `opentelemetry-instrumentation-httpx` on purpose.
        Some(Reach::Runtime(_)) if !dev_declared && asked_by_extra(proj, &target) => {
            (Verdict::Fine, target)
        }
        Some(Reach::Runtime(via)) if !dev_declared && part_of(&target, &via) => {
            (Verdict::Fine, target)
        }
        Some(Reach::Runtime(via)) => (Verdict::Transitive(via), target),
        Some(Reach::Dev) if test || script => (Verdict::Fine, target),
        Some(Reach::Dev) if dev_declared => (Verdict::DevOnly, target),
        Some(Reach::Dev) => (
            Verdict::Undeclared(
                "only development dependencies install it, not the project's own requirements",
            ),
            target,
        ),
        Some(Reach::Locked(parent)) => {
            if !dev_declared
                && (is_companion(&target, &proj.runtime, installed)
                    || asked_by_extra(proj, &target))
            {
                (Verdict::Fine, target)
            } else {
                (
                    Verdict::Transitive(parent.unwrap_or_else(|| proj.lock_name.clone())),
                    target,
                )
            }
        }
        None => (Verdict::Fine, target),
    }
}

/// A package the project around `path` ships a copy of (`lib/requests/`, put on
/// `sys.path` at start-up).
fn vendored_here(ctx: &RepoContext<'_>, path: &str, top: &str) -> bool {
    ctx.vendored
        .iter()
        .any(|(dir, t)| t == top && (dir.is_empty() || is_under(path, dir)))
}

fn missing_imports(ctx: &RepoContext<'_>) -> Vec<Missing> {
    let manifests = roots(ctx);
    if manifests.is_empty() {
        return Vec::new();
    }
    // First-party names: every package directory and module of the scanned Python code,
    // and the projects' own names.
    let mut first_party: HashSet<String> = HashSet::new();
    for (path, lang, _) in ctx.files {
        if *lang != Lang::Python {
            continue;
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        if let Some(last) = parts.pop() {
            first_party.insert(
                last.trim_end_matches(".pyi")
                    .trim_end_matches(".py")
                    .to_string(),
            );
        }
        first_party.extend(parts.iter().map(|p| p.to_string()));
    }
    for r in &manifests {
        if !r.summary.project_name.is_empty() {
            first_party.insert(normalise(&r.summary.project_name).replace('-', "_"));
        }
    }
    let mut projects: HashMap<Vec<usize>, Project> = HashMap::new();
    // One finding per missing distribution and project: the other files importing it are
    // evidence, not more work (one manifest line fixes them all).
    let mut groups: BTreeMap<(Vec<usize>, String, bool), Vec<Missing>> = BTreeMap::new();
    for (path, lang, summary) in ctx.files {
        if *lang != Lang::Python || summary.imports.is_empty() && summary.flag_imports.is_empty() {
            continue;
        }
        let file = path.rsplit('/').next().unwrap_or(path);
        // `tasks.py` at the top of a repository runs invoke; inside a package (a directory
        // with `__init__.py`) it is the package's Celery tasks, shipped code like any other.
        let dir = dir_of(path);
        let in_package = !dir.is_empty()
            && ctx
                .files
                .iter()
                .any(|(p, _, _)| p.strip_prefix(dir).is_some_and(|r| r == "/__init__.py"));
        if (UNCHECKED_FILES.contains(&file) && !(file == "tasks.py" && in_package))
            || file.starts_with("example")
            || file.ends_with(".pyi")
            || path.split('/').any(|c| UNCHECKED_DIRS.contains(&c))
        {
            continue;
        }
        let covering_ix: Vec<usize> = (0..manifests.len())
            .filter(|&i| is_under(path, manifests[i].dir))
            .collect();
        if covering_ix.is_empty() {
            continue;
        }
        let covering: Vec<&Root<'_>> = covering_ix.iter().map(|&i| &manifests[i]).collect();
        let proj = projects
            .entry(covering_ix.clone())
            .or_insert_with(|| project(ctx, &covering, path));
        if proj.opaque {
            continue;
        }
        let test = is_test_path(path);
        if test && covering.iter().all(|r| r.dev.is_empty()) {
            // Test dependencies live somewhere strata does not read (tox.ini, CI).
            continue;
        }
        let script = is_root_script(ctx, path, &covering);
        let mut seen: HashSet<&str> = HashSet::new();
        let imports = summary
            .imports
            .iter()
            .map(|i| (i, false))
            .chain(summary.flag_imports.iter().map(|i| (i, true)));
        for (imp, flagged) in imports {
            let top = imp.name.as_str();
            if is_stdlib(top)
                || PLATFORM_MODULES.contains(&top)
                || first_party.contains(top)
                || vendored_here(ctx, path, top)
                || !seen.insert(top)
            {
                continue;
            }
            let (verdict, dist) = judge(proj, &imp.detail, top, test, script);
            let low = flagged
                || matches!(verdict, Verdict::DevOnly | Verdict::DevTransitive)
                || match &verdict {
                    Verdict::Undeclared(_) => {
                        proj.lock.is_none() && comes_with_anything(&dist)
                            || declared_by_sibling(&manifests, &covering_ix, &dist)
                    }
                    Verdict::Transitive(via) => raised_through(summary, &imp.detail, via),
                    _ => false,
                };
            let (reason, via) = match verdict {
                Verdict::Fine => continue,
                Verdict::Undeclared(reason) => (reason, None),
                Verdict::DevOnly => ("it is declared only as a development dependency", None),
                Verdict::DevTransitive => (
                    "it comes only with a distribution declared for development",
                    None,
                ),
                Verdict::Transitive(via) => ("", Some(via)),
            };
            groups
                .entry((covering_ix.clone(), dist.clone(), via.is_some()))
                .or_default()
                .push(Missing {
                    hit: RepoHit {
                        // An import under `if settings.X:` is an optional plug-in more often
                        // than not.
                        confidence: low.then_some(Confidence::Low),
                        path: path.clone(),
                        at: imp.clone(),
                        vars: vec![
                            ("module", imp.detail.clone()),
                            ("dist", dist),
                            ("reason", reason.to_string()),
                        ],
                    },
                    via,
                });
        }
    }
    groups.into_values().filter_map(merge_sites).collect()
}

/// A companion of any parent (`typing-extensions`): without a lock file strata cannot see
/// which of the project's dependencies installs it, and nearly every typed library does.
fn comes_with_anything(dist: &str) -> bool {
    COMPANIONS
        .iter()
        .any(|(d, ps)| *d == dist && ps.contains(&"*"))
}

/// Another manifest of the repository, not one covering the file, declares `dist` for its
/// running code: a workspace package (`packages/checks`) whose own manifest lacks what the
/// applications installing it declare. A standalone install breaks; the deployed one works.
fn declared_by_sibling(manifests: &[Root<'_>], covering: &[usize], dist: &str) -> bool {
    manifests.iter().enumerate().any(|(i, r)| {
        !covering.contains(&i) && r.declared.iter().any(|l| normalise(&l.name) == dist)
    })
}

/// `from websockets.exceptions import ConnectionClosedError` in a file that uses the declared
/// client it comes through (`bittensor`): the errors that client raises from its own
/// transport, caught around its calls. Declaring the transport is hygiene.
fn raised_through(summary: &FileSummary, dotted: &str, via: &str) -> bool {
    let errors = dotted
        .rsplit('.')
        .next()
        .is_some_and(|m| matches!(m, "exceptions" | "errors" | "exc" | "error"));
    errors
        && dotted.contains('.')
        && summary
            .imports
            .iter()
            .any(|i| provides_by_name(via, &i.detail))
}

/// The first import site of one missing distribution (a strong one before those under a
/// setting, the shipped code before its tests), naming the other files that import it.
fn merge_sites(mut sites: Vec<Missing>) -> Option<Missing> {
    let key = |m: &Missing| {
        (
            m.hit.confidence.is_some(),
            is_test_path(&m.hit.path),
            m.hit.path.clone(),
            m.hit.at.start,
        )
    };
    sites.sort_by_key(key);
    let mut sites = sites.into_iter();
    let mut first = sites.next()?;
    let mut others: Vec<String> = sites.map(|m| m.hit.path).collect();
    others.sort();
    others.dedup();
    others.retain(|p| *p != first.hit.path);
    let also = match others.len() {
        0 => String::new(),
        n if n <= 3 => format!(
            " (also in {})",
            others
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        n => format!(
            " (also in {} and {} more files)",
            others[..2]
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            n - 2
        ),
    };
    first.hit.vars.push(("also", also));
    Some(first)
}

/// SEC011: a module imported by the project that no manifest declares.
pub fn undeclared_imports(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    out.extend(
        missing_imports(ctx)
            .into_iter()
            .filter(|m| m.via.is_none())
            .map(|m| m.hit),
    );
}

/// SEC012: a module imported directly but only installed as another dependency's
/// dependency.
pub fn transitive_only_imports(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    for m in missing_imports(ctx) {
        if let Some(via) = m.via {
            let mut hit = m.hit;
            hit.vars.push(("via", via));
            out.push(hit);
        }
    }
}

/// Linters, formatters and test helpers: never imported by the running service.
const DEV_TOOLS: &[&str] = &[
    "pytest",
    "pytest-cov",
    "pytest-django",
    "pytest-asyncio",
    "pytest-mock",
    "coverage",
    "flake8",
    "pylint",
    "black",
    "isort",
    "mypy",
    "ruff",
    "pre-commit",
    "tox",
    "parameterized",
    "factory-boy",
    "faker",
    "mccabe",
    "pycodestyle",
    "pyflakes",
];

/// SEC013: a requirement without a pinned version in a `requirements*.txt` that pins
/// (nearly) everything else, i.e. an application's lock-style requirements.
pub fn unpinned_requirements(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    for (path, lang, summary) in ctx.files {
        if *lang != Lang::Manifest || !path.ends_with(".txt") {
            continue;
        }
        let reqs: Vec<&Located> = summary
            .declared
            .iter()
            .chain(&summary.declared_dev)
            .collect();
        let pinned = reqs.iter().filter(|l| is_pinned(&l.detail)).count();
        // A range with an upper bound (`markdown>=2.6,<2.7`) is a choice, not a slip.
        let open = reqs.iter().filter(|l| !is_bounded(&l.detail)).count();
        if pinned < 3 || open == 0 || open * 4 > reqs.len() {
            continue;
        }
        // `bleach==6.3.0` then `bleach[css]`: the second line only asks for an extra of
        // the version the first one pins.
        let pinned_names: HashSet<String> = reqs
            .iter()
            .filter(|l| is_pinned(&l.detail))
            .map(|l| normalise(&l.name))
            .collect();
        for l in reqs
            .iter()
            .copied()
            .filter(|l| !is_bounded(&l.detail) && !pinned_names.contains(&normalise(&l.name)))
        {
            // A linter or test helper in the file floats CI results, not the service.
            let tool = DEV_TOOLS.contains(&normalise(&l.name).as_str());
            out.push(RepoHit {
                confidence: tool.then_some(Confidence::Low),
                path: path.clone(),
                at: l.clone(),
                vars: vec![
                    ("dist", l.name.clone()),
                    ("pinned", pinned.to_string()),
                    ("total", reqs.len().to_string()),
                ],
            });
        }
    }
}
