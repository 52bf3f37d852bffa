//! Repository checks over Python imports and dependency manifests: modules imported but
//! not declared (SEC011), declared only as another package's dependency (SEC012), and
//! unpinned lines in an otherwise pinned requirements file (SEC013).

use crate::checks::RepoHit;
use crate::model::deps::*;
use crate::model::summary::{FileSummary, Located, RepoContext};
use crate::source::lang::Lang;
use std::collections::HashSet;

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
];
/// Modules provided by the runtime, not by a distribution (type checkers, Pyodide).
const PLATFORM_MODULES: &[&str] = &["_typeshed", "pyodide", "pyodide_js", "micropip", "js"];
const UNCHECKED_FILES: &[&str] = &[
    "setup.py",
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

/// An import the project's manifests do not declare.
struct Missing {
    hit: RepoHit,
    /// A declared distribution that requires the missing one.
    via: Option<String>,
}

fn missing_imports(ctx: &RepoContext<'_>) -> Vec<Missing> {
    // Project roots: directories holding a dependency manifest.
    let manifests: Vec<(&str, &FileSummary)> = ctx
        .files
        .iter()
        .filter(|(_, _, s)| s.manifest)
        .map(|(p, _, s)| (dir_of(p), s))
        .collect();
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
    for (_, s) in &manifests {
        if !s.project_name.is_empty() {
            first_party.insert(normalise(&s.project_name).replace('-', "_"));
        }
    }
    let mut out = Vec::new();
    for (path, lang, summary) in ctx.files {
        if *lang != Lang::Python || summary.imports.is_empty() {
            continue;
        }
        let file = path.rsplit('/').next().unwrap_or(path);
        if UNCHECKED_FILES.contains(&file)
            || file.ends_with(".pyi")
            || path.split('/').any(|c| UNCHECKED_DIRS.contains(&c))
        {
            continue;
        }
        let roots: Vec<&FileSummary> = manifests
            .iter()
            .filter(|(d, _)| is_under(path, d))
            .map(|(_, s)| *s)
            .collect();
        if roots.is_empty()
            || roots.iter().all(|s| s.opaque) && roots.iter().all(|s| s.declared.is_empty())
        {
            continue;
        }
        let test = is_test_path(path);
        if test && roots.iter().all(|s| s.declared_dev.is_empty()) {
            // Test dependencies live somewhere strata does not read (tox.ini, CI).
            continue;
        }
        let declared: HashSet<String> = roots
            .iter()
            .flat_map(|s| {
                s.declared
                    .iter()
                    .chain(s.declared_dev.iter().filter(|_| test))
            })
            .map(|l| normalise(&l.name))
            .collect();
        let mut seen: HashSet<&str> = HashSet::new();
        for imp in &summary.imports {
            let top = imp.name.as_str();
            if is_stdlib(top)
                || PLATFORM_MODULES.contains(&top)
                || first_party.contains(top)
                || !seen.insert(top)
            {
                continue;
            }
            let candidates = distributions_for(&imp.detail);
            if declared
                .iter()
                .any(|d| candidates.iter().any(|c| satisfies(d, c)))
            {
                continue;
            }
            let dist = candidates
                .first()
                .cloned()
                .unwrap_or_else(|| normalise(top));
            let via = candidates.iter().find_map(|c| {
                requirers(c)
                    .iter()
                    .find(|r| declared.contains(**r))
                    .map(|r| r.to_string())
            });
            out.push(Missing {
                hit: RepoHit {
                    confidence: None,
                    path: path.clone(),
                    at: imp.clone(),
                    vars: vec![("module", imp.detail.clone()), ("dist", dist)],
                },
                via,
            });
        }
    }
    out
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
        let unpinned = reqs.len() - pinned;
        if pinned < 3 || unpinned == 0 || unpinned * 4 > reqs.len() {
            continue;
        }
        for l in reqs.into_iter().filter(|l| !is_pinned(&l.detail)) {
            out.push(RepoHit {
                confidence: None,
                path: path.clone(),
                at: l.clone(),
                vars: vec![
                    ("dist", l.name.clone()),
                    ("pinned", pinned.to_string()),
                    ("total", (pinned + unpinned).to_string()),
                ],
            });
        }
    }
}
