//! Finds the files to scan: `.gitignore`-aware, hidden directories skipped (but
//! `.github`), `--exclude` globs applied, language assigned by extension or shebang.

use crate::source::lang::Lang;
use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Candidate {
    pub abs: PathBuf,
    /// Display path: relative to the working directory when the file lies below it,
    /// otherwise as given; always with `/`.
    pub rel: String,
    pub lang: Lang,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown): with the
    /// size, lets the result cache trust an entry without reading the file again.
    pub mtime_ns: u64,
}

#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub excludes: Vec<String>,
    pub no_ignore: bool,
    /// Also scan vendored copies of other projects' packages ([`vendored_dirs`]).
    pub include_vendored: bool,
}

/// Directory names that hold copies of other projects' code when their entries are
/// well-known third-party packages (`lib/requests/`, `vendor/bs4/`).
const VENDOR_DIRS: &[&str] = &[
    "lib",
    "libs",
    "vendor",
    "vendored",
    "_vendor",
    "third_party",
    "thirdparty",
    "third-party",
    "extern",
    "externals",
    "deps",
    "packages",
    "site-packages",
];

/// The directories below the scan roots that hold vendored third-party Python packages:
/// a `lib/`, `vendor/`, `third_party/`... (not a package itself: no `__init__.py`) whose
/// entries include at least three well-known third-party packages (`requests`, `urllib3`,
/// `bs4`), as an application that puts its dependencies on `sys.path` ships them. Their
/// findings belong to those projects, not this one. Returns each directory's display
/// prefix (`app/lib/`) and how many candidates lie below it, in path order.
pub fn vendored_dirs(candidates: &[Candidate], roots: &[String]) -> Vec<(String, usize)> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut entries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut packages: BTreeSet<String> = BTreeSet::new();
    for c in candidates.iter().filter(|c| c.lang == Lang::Python) {
        let below = crate::source::context::below_root(&c.rel, roots);
        let base = &c.rel[..c.rel.len() - below.len()];
        let segs: Vec<&str> = below.split('/').collect();
        for i in 0..segs.len().saturating_sub(1) {
            if !VENDOR_DIRS.contains(&segs[i].to_ascii_lowercase().as_str()) {
                continue;
            }
            let dir = format!("{base}{}/", segs[..=i].join("/"));
            let entry = segs[i + 1];
            if i + 2 == segs.len() && entry == "__init__.py" {
                packages.insert(dir.clone());
            }
            let top = entry.strip_suffix(".py").unwrap_or(entry);
            entries.entry(dir).or_default().insert(top.to_string());
        }
    }
    let vendored: Vec<String> = entries
        .into_iter()
        .filter(|(dir, tops)| {
            !packages.contains(dir)
                && tops
                    .iter()
                    .filter(|t| crate::model::deps::known_third_party(t))
                    .count()
                    >= 3
        })
        .map(|(dir, _)| dir)
        .collect();
    // The outermost vendored directory counts its nested ones' files.
    let outer: Vec<&String> = vendored
        .iter()
        .filter(|d| {
            !vendored
                .iter()
                .any(|o| o != *d && d.starts_with(o.as_str()))
        })
        .collect();
    outer
        .into_iter()
        .map(|d| {
            let n = candidates
                .iter()
                .filter(|c| c.rel.starts_with(d.as_str()))
                .count();
            (d.clone(), n)
        })
        .collect()
}

/// A path problem found while walking (unreadable directory, bad glob...).
#[derive(Debug, Clone)]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
) -> Result<(Vec<Candidate>, Vec<WalkError>), String> {
    let cwd = std::env::current_dir().ok();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        if let Err(e) = std::fs::metadata(root) {
            // `exists()` is false for a dangling link or a link loop too: say which.
            let why = match std::fs::symlink_metadata(root) {
                Ok(m) if m.file_type().is_symlink() => {
                    if e.raw_os_error() == Some(40) {
                        "is a symbolic link loop".to_string()
                    } else {
                        format!("is a symbolic link that cannot be followed ({e})")
                    }
                }
                Ok(_) => format!("cannot be read ({e})"),
                Err(_) => "does not exist".to_string(),
            };
            return Err(format!("path {why}: {}", root.display()));
        }
        let mut overrides = OverrideBuilder::new(root);
        for glob in &opts.excludes {
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| format!("invalid --exclude glob `{glob}`: {e}"))?;
        }
        let overrides = overrides
            .build()
            .map_err(|e| format!("invalid --exclude glob: {e}"))?;
        let mut builder = WalkBuilder::new(root);
        builder
            .hidden(false)
            .git_ignore(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .require_git(false)
            .overrides(overrides)
            .filter_entry(|entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if !is_dir || entry.depth() == 0 {
                    return true;
                }
                let name = entry.file_name().to_string_lossy();
                !(name.starts_with('.') && name != ".github")
            });
        for entry in builder.build() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    errors.push(WalkError {
                        path: error_path(&err).unwrap_or_else(|| root.display().to_string()),
                        message: strip_path_prefix(&err.to_string()),
                    });
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let lang = match Lang::from_path(path) {
                Some(l) => l,
                None if path.extension().is_none() => match sniff_shebang(path) {
                    Some(l) => l,
                    None => continue,
                },
                None => continue,
            };
            let meta = entry.metadata().ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let mtime_ns = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0));
            out.push(Candidate {
                abs: path.to_path_buf(),
                rel: display_path(path, cwd.as_deref()),
                lang,
                size,
                mtime_ns,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.dedup_by(|a, b| a.rel == b.rel);
    Ok((out, errors))
}

/// The display prefixes (`fixtures/demo/`) of the directories among `roots`, which code
/// kinds are read below (`source::context::below_root`). The working directory and files
/// named on their own give none.
pub fn root_prefixes(roots: &[PathBuf]) -> Vec<String> {
    let cwd = std::env::current_dir().ok();
    let mut out: Vec<String> = roots
        .iter()
        .filter(|r| r.is_dir())
        .map(|r| display_path(r, cwd.as_deref()))
        .filter(|d| !d.is_empty() && d != ".")
        .map(|d| format!("{}/", d.trim_end_matches('/')))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn sniff_shebang(path: &Path) -> Option<Lang> {
    let mut head = [0u8; 128];
    let mut file = std::fs::File::open(path).ok()?;
    let n = file.read(&mut head).ok()?;
    Lang::from_shebang(&head[..n])
}

pub fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let rel = cwd
        .and_then(|c| {
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                c.join(path)
            };
            abs.strip_prefix(c).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn strip_path_prefix(msg: &str) -> String {
    msg.to_string()
}
