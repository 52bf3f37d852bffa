//! Lock files (`uv.lock`, `poetry.lock`, `Pipfile.lock`): what is installed and why. A lock
//! file lists every distribution a project installs with the distributions each one
//! requires, so it tells an import that merely happens to work (installed through another
//! package) from one that is missing altogether, and names the package it comes through.

use super::normalise;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// One requirement edge: a distribution (normalised) and the extras it is asked for with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockDep {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

/// One locked distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedDist {
    /// Normalised distribution name.
    pub name: String,
    /// What it requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<LockDep>,
    /// What each of its extras adds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<(String, Vec<LockDep>)>,
    /// The project's own entry (uv: an editable, virtual or workspace source): its
    /// development groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev: Vec<LockDep>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
    /// Installed for development only (Poetry `category = "dev"`, Pipfile `develop`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev_only: bool,
}

/// Is this file name a lock file strata reads?
pub fn is_lock_file(name: &str) -> bool {
    matches!(name, "uv.lock" | "poetry.lock" | "Pipfile.lock")
}

/// Parses a lock file; unknown or broken files give an empty list.
pub fn parse_lock(file: &SourceFile) -> Vec<LockedDist> {
    let name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    match name {
        "Pipfile.lock" => parse_pipfile_lock(&file.text),
        "poetry.lock" => parse_poetry_lock(&file.text),
        _ => parse_uv_lock(&file.text),
    }
}

fn uv_deps(v: Option<&toml::Value>) -> Vec<LockDep> {
    let mut out: Vec<LockDep> = Vec::new();
    for d in v.and_then(|v| v.as_array()).into_iter().flatten() {
        let Some(name) = d.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let extras = d
            .get("extra")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(normalise))
            .collect();
        let dep = LockDep {
            name: normalise(name),
            extras,
        };
        if !out.contains(&dep) {
            out.push(dep);
        }
    }
    out
}

fn uv_groups(v: Option<&toml::Value>) -> Vec<(String, Vec<LockDep>)> {
    v.and_then(|v| v.as_table())
        .into_iter()
        .flatten()
        .map(|(k, v)| (normalise(k), uv_deps(Some(v))))
        .collect()
}

/// The `[[package]]` entries of a TOML lock file with their names.
fn toml_packages(text: &str) -> Vec<(String, toml::Value)> {
    let Ok(mut doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(toml::Value::Array(packages)) = doc.remove("package") else {
        return Vec::new();
    };
    packages
        .into_iter()
        .filter_map(|p| Some((p.get("name")?.as_str()?.to_string(), p)))
        .collect()
}

/// `uv.lock`: `[[package]]` with `dependencies`, `[package.optional-dependencies]` and,
/// for the project itself, `[package.dev-dependencies]`.
pub fn parse_uv_lock(text: &str) -> Vec<LockedDist> {
    let mut out = Vec::new();
    for (name, p) in &toml_packages(text) {
        let name = name.as_str();
        let root = p.get("source").and_then(|s| s.as_table()).is_some_and(|s| {
            s.contains_key("editable") || s.contains_key("virtual") || s.contains_key("workspace")
        });
        out.push(LockedDist {
            name: normalise(name),
            deps: uv_deps(p.get("dependencies")),
            extras: uv_groups(p.get("optional-dependencies")),
            dev: uv_groups(p.get("dev-dependencies"))
                .into_iter()
                .flat_map(|(_, d)| d)
                .collect(),
            root,
            dev_only: false,
        });
    }
    out
}

/// A Poetry dependency value: `"*"`, `{version = "..", extras = [..]}` or a list of those.
fn poetry_extras(v: &toml::Value) -> Vec<String> {
    match v {
        toml::Value::Table(t) => t
            .get("extras")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(normalise))
            .collect(),
        toml::Value::Array(a) => a.iter().flat_map(poetry_extras).collect(),
        _ => Vec::new(),
    }
}

/// `poetry.lock`: `[[package]]` with `[package.dependencies]` and `[package.extras]`
/// (requirement strings).
pub fn parse_poetry_lock(text: &str) -> Vec<LockedDist> {
    let mut out = Vec::new();
    for (name, p) in &toml_packages(text) {
        let name = name.as_str();
        let deps = p
            .get("dependencies")
            .and_then(|d| d.as_table())
            .into_iter()
            .flatten()
            .map(|(k, v)| LockDep {
                name: normalise(k),
                extras: poetry_extras(v),
            })
            .collect();
        let extras = p
            .get("extras")
            .and_then(|e| e.as_table())
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let reqs = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().and_then(super::requirement_name))
                    .map(|n| LockDep {
                        name: normalise(n),
                        extras: Vec::new(),
                    })
                    .collect();
                (normalise(k), reqs)
            })
            .collect();
        let dev_only = p.get("category").and_then(|c| c.as_str()) == Some("dev")
            || p.get("groups").and_then(|g| g.as_array()).is_some_and(|g| {
                !g.is_empty() && g.iter().all(|x| x.as_str().is_some_and(|s| s != "main"))
            });
        out.push(LockedDist {
            name: normalise(name),
            deps,
            extras,
            dev: Vec::new(),
            root: false,
            dev_only,
        });
    }
    out
}

/// `Pipfile.lock` (JSON): `default` and `develop` maps, no requirement graph.
pub fn parse_pipfile_lock(text: &str) -> Vec<LockedDist> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (section, dev_only) in [("default", false), ("develop", true)] {
        for (name, _) in doc
            .get(section)
            .and_then(|s| s.as_object())
            .into_iter()
            .flatten()
        {
            out.push(LockedDist {
                name: normalise(name),
                dev_only,
                ..LockedDist::default()
            });
        }
    }
    out
}

/// The dependency graph of one project's lock files.
pub struct LockGraph<'a> {
    dists: HashMap<&'a str, &'a LockedDist>,
}

/// Where a locked distribution comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Installed for the running code, through this directly declared distribution.
    Runtime(String),
    /// Installed by development groups only.
    Dev,
    /// Locked, but through nothing strata can trace: the distribution requiring it, if any.
    Locked(Option<String>),
}

impl<'a> LockGraph<'a> {
    pub fn new(files: &[&'a [LockedDist]]) -> LockGraph<'a> {
        let mut dists = HashMap::new();
        for f in files {
            for d in f.iter() {
                dists.entry(d.name.as_str()).or_insert(d);
            }
        }
        LockGraph { dists }
    }

    /// Declared roots (name, extras) plus the lock's own project entries.
    fn roots(&self, declared: &[LockDep], dev: bool) -> Vec<LockDep> {
        let mut roots: Vec<LockDep> = declared.to_vec();
        let mut own: Vec<&&LockedDist> = self.dists.values().filter(|d| d.root).collect();
        own.sort_by(|a, b| a.name.cmp(&b.name));
        for d in own {
            if dev {
                roots.extend(d.dev.iter().cloned());
            } else {
                roots.extend(d.deps.iter().cloned());
                roots.extend(d.extras.iter().flat_map(|(_, e)| e.iter().cloned()));
            }
        }
        roots
    }

    /// Every distribution reachable from `roots`, with the root it is reached through
    /// (breadth first: the shortest chain, the first declared root on ties).
    fn reach(&self, roots: &[LockDep]) -> HashMap<String, String> {
        let mut via: HashMap<String, String> = HashMap::new();
        let mut seen: std::collections::HashSet<(String, Option<String>)> = Default::default();
        let mut queue: VecDeque<(String, Option<String>, String)> = VecDeque::new();
        let push =
            |queue: &mut VecDeque<(String, Option<String>, String)>, dep: &LockDep, root: &str| {
                queue.push_back((dep.name.clone(), None, root.to_string()));
                for e in &dep.extras {
                    queue.push_back((dep.name.clone(), Some(e.clone()), root.to_string()));
                }
            };
        for r in roots {
            push(&mut queue, r, &r.name);
        }
        let mut steps = 0;
        while let Some((name, extra, root)) = queue.pop_front() {
            steps += 1;
            if steps > 200_000 || !seen.insert((name.clone(), extra.clone())) {
                continue;
            }
            via.entry(name.clone()).or_insert_with(|| root.clone());
            let Some(d) = self.dists.get(name.as_str()) else {
                continue;
            };
            let edges: &[LockDep] = match &extra {
                None => &d.deps,
                Some(e) => d
                    .extras
                    .iter()
                    .find(|(k, _)| k == e)
                    .map_or(&[][..], |(_, v)| v.as_slice()),
            };
            for dep in edges {
                push(&mut queue, dep, &root);
            }
        }
        via
    }

    /// What the project's declared runtime and development requirements reach.
    pub fn reaches(&self, runtime: &[LockDep], dev: &[LockDep]) -> Reaches {
        let mut parents: HashMap<String, String> = HashMap::new();
        let mut names: Vec<&&LockedDist> = self.dists.values().collect();
        names.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &names {
            for e in &p.deps {
                parents
                    .entry(e.name.clone())
                    .or_insert_with(|| p.name.clone());
            }
        }
        Reaches {
            runtime: self.reach(&self.roots(runtime, false)),
            dev: self.reach(&self.roots(dev, true)),
            dev_only: names
                .iter()
                .filter(|d| d.dev_only)
                .map(|d| d.name.clone())
                .collect(),
            locked: names.iter().map(|d| d.name.clone()).collect(),
            parents,
        }
    }
}

/// The distributions a project's requirements reach in its lock files.
#[derive(Debug, Default)]
pub struct Reaches {
    runtime: HashMap<String, String>,
    dev: HashMap<String, String>,
    dev_only: std::collections::HashSet<String>,
    /// Every locked distribution, sorted.
    pub locked: Vec<String>,
    parents: HashMap<String, String>,
}

impl Reaches {
    pub fn contains(&self, dist: &str) -> bool {
        self.locked
            .binary_search_by(|n| n.as_str().cmp(dist))
            .is_ok()
    }

    /// Where the locked `dist` comes from; `None` when it is not locked.
    pub fn of(&self, dist: &str) -> Option<Reach> {
        if !self.contains(dist) {
            return None;
        }
        if let Some(root) = self.runtime.get(dist) {
            return Some(Reach::Runtime(root.clone()));
        }
        if self.dev_only.contains(dist) || self.dev.contains_key(dist) {
            return Some(Reach::Dev);
        }
        Some(Reach::Locked(self.parents.get(dist).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UV: &str = r#"
version = 1
[[package]]
name = "shop"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "fastapi" }, { name = "celery", extra = ["redis"] }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "fastapi"
version = "0.115.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "starlette" }, { name = "pydantic" }]

[[package]]
name = "celery"
version = "5.4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "kombu" }]
[package.optional-dependencies]
redis = [{ name = "redis" }]

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "pluggy" }]

[[package]]
name = "pydantic"
version = "2.10.0"
[[package]]
name = "redis"
version = "5.2.0"
[[package]]
name = "pluggy"
version = "1.5.0"
"#;

    #[test]
    fn uv_lock_graph_names_the_declared_parent() {
        let dists = parse_uv_lock(UV);
        assert_eq!(dists.len(), 7);
        assert!(dists[0].root && dists[0].dev[0].name == "pytest");
        let g = LockGraph::new(&[&dists]);
        let runtime = [LockDep {
            name: "fastapi".into(),
            extras: vec![],
        }];
        let r = g.reaches(&runtime, &[]);
        assert_eq!(r.of("pydantic"), Some(Reach::Runtime("fastapi".into())));
        // Through the project's own entry: celery[redis].
        assert_eq!(r.of("redis"), Some(Reach::Runtime("celery".into())));
        assert_eq!(r.of("pluggy"), Some(Reach::Dev));
        assert_eq!(r.of("numpy"), None);
    }

    #[test]
    fn poetry_lock_is_read() {
        let text = "[[package]]\nname = \"zope.sqlalchemy\"\ncategory = \"main\"\nversion = \"1.3\"\n\
                    [package.dependencies]\ntransaction = \">=1.6.0\"\nSQLAlchemy = {version = \">=1\", extras = [\"asyncio\"]}\n\
                    [package.extras]\ntest = [\"zope.testing (>=1)\"]\n\
                    [[package]]\nname = \"pytest\"\ncategory = \"dev\"\nversion = \"8\"\n";
        let dists = parse_poetry_lock(text);
        assert_eq!(dists[0].name, "zope-sqlalchemy");
        let sqla = dists[0].deps.iter().find(|d| d.name == "sqlalchemy");
        assert_eq!(
            sqla.map(|d| d.extras.clone()),
            Some(vec!["asyncio".to_string()])
        );
        assert_eq!(dists[0].extras[0].1[0].name, "zope-testing");
        assert!(dists[1].dev_only);
    }

    #[test]
    fn pipfile_lock_is_read() {
        let dists = parse_pipfile_lock(r#"{"default": {"Flask": {}}, "develop": {"pytest": {}}}"#);
        assert_eq!(dists[0].name, "flask");
        assert!(dists[1].dev_only);
    }
}
