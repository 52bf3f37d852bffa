//! Repository-level checks: facts every file contributes cheaply (no parse), gathered
//! after the per-file pass, and checks that need the whole repository at once (imports
//! against the dependency manifests, a schema spread over many migrations).
//!
//! A file's [`FileSummary`] is computed from its text alone, so it is cached with the
//! file's other results and never needs a second parse.

use crate::model::deps;
use crate::source::lang::Lang;
use crate::source::re;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};

/// A name at a place in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    pub name: String,
    /// Extra detail about the name (e.g. the full dotted import, a version specifier).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte range in the file.
    pub start: usize,
    pub end: usize,
}

impl Located {
    pub fn at(file: &SourceFile, start: usize, end: usize, name: &str, detail: &str) -> Located {
        let (line, column) = file.line_col(start);
        let (end_line, end_column) = file.line_col(end);
        Located {
            name: name.to_string(),
            detail: detail.to_string(),
            line,
            column,
            end_line,
            end_column,
            start,
            end,
        }
    }
}

/// What one file contributes to repository-level checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// Python: imported modules (`name` = top-level module, `detail` = full dotted path),
    /// at their import statement. Relative imports are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Located>,
    /// Python: imports that run only under a module-level `if` on configuration
    /// (`if settings.FEATURE_ENABLED:`), the shape of an optional plug-in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flag_imports: Vec<Located>,
    /// Manifests: declared dependencies (`name` = distribution name, `detail` = the
    /// requirement as written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<Located>,
    /// Manifests: development, test and docs dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared_dev: Vec<Located>,
    /// Manifests: the project's own distribution name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project_name: String,
    /// The file is a dependency manifest (not, say, a `pyproject.toml` of tool settings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manifest: bool,
    /// The manifest computes its dependencies in a way strata cannot read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opaque: bool,
    /// Requirements files: the files included with `-r`, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    /// Lock files (`uv.lock`, `poetry.lock`, `Pipfile.lock`): every locked distribution
    /// with what it requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<deps::lock::LockedDist>,
    /// Python web files: routes and router registrations, from the parsed facts (filled
    /// by the engine when the file is parsed; see `routes::web_summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<crate::model::routes::WebSummary>,
    /// SQL: tables declared or altered by the file; Python: tables of ORM models and
    /// Alembic operations (filled by the engine from the parse, see `crate::model::orm`). The
    /// schema model, see `crate::model::schema`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<crate::model::schema::TableDef>,
    /// Python: `Model.some_id` attribute references (model class, key-like attribute), the
    /// columns code filters and joins by. Sorted, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_refs: Vec<String>,
    /// Python and Rust: natural-key columns the code looks rows up by, as `qualifier.column`
    /// (lower-case; the qualifier is the model class or table, `*` when the code does not
    /// say). See `natural_key_lookups`. Sorted, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_lookups: Vec<String>,
    /// Python: the file's part of the project index (symbols, imports, calls), filled by
    /// the engine from the parse when a rule reads the index (see `crate::model::pyindex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pyindex: Option<crate::model::pyindex::FilePart>,
    /// Rust: the file's part of the crate index (functions, calls, blocking calls), filled
    /// by the engine from the parse when a Rust rule reads the index (see
    /// `crate::model::rsindex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsindex: Option<crate::model::rsindex::FilePart>,
}

impl FileSummary {
    pub fn is_empty(&self) -> bool {
        self == &FileSummary::default()
    }
}

/// Computes a file's summary from its text. Cheap: line-oriented, no parse.
pub fn summarise(file: &SourceFile) -> FileSummary {
    let mut s = FileSummary::default();
    let name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    let manifest = match file.lang {
        Lang::Python => {
            (s.imports, s.flag_imports) = python_imports(file);
            // Data migrations name old columns once; they are not how the code reads.
            let migration = file.rel.contains("migrations/")
                || file.rel.contains("alembic/")
                || file.text.contains("down_revision");
            if !migration {
                s.key_refs = key_refs(&file.text);
                // A test that fetches the row it just made by its slug says nothing about
                // how the application finds rows.
                if !crate::model::orm::is_test_path(&file.rel) {
                    s.key_lookups = natural_key_lookups(&file.text);
                }
            }
            (name == "setup.py").then(|| deps::parse_setup_py(file))
        }
        Lang::Rust => {
            s.key_lookups = natural_key_lookups(&file.text);
            None
        }
        Lang::Manifest if deps::lock::is_lock_file(name) => {
            s.locked = deps::lock::parse_lock(file);
            None
        }
        Lang::Manifest if name.ends_with(".txt") => Some(deps::parse_requirements(file)),
        Lang::Manifest if name == "setup.cfg" => Some(deps::parse_setup_cfg(file)),
        Lang::Manifest => Some(deps::parse_toml_manifest(file)),
        _ => None,
    };
    if let Some(m) = manifest {
        s.declared = m.declared;
        s.declared_dev = m.dev;
        s.project_name = m.name;
        s.manifest = m.is_manifest;
        s.opaque = m.opaque;
        s.includes = m.includes;
    }
    if file.lang == Lang::Sql {
        s.tables = crate::model::schema::tables(file);
    }
    s
}

/// Natural-key columns (`email`, `username`, `slug`, `external_id`, ...) that code finds
/// rows by: `Model.email == x` (SQLAlchemy), `users::email.eq(x)` (Diesel),
/// `Model.objects.get(email=x)`/`filter_by(slug=x)`, `WHERE email = ?` in SQL text.
/// Each as `qualifier.column`, the qualifier lower-case (`*` when unknown).
fn natural_key_lookups(text: &str) -> Vec<String> {
    const COL: &str =
        r"(e_?mail(?:_address)?|user_?name|login|handle|slug|external_?id|idempotency_?key|sku)";
    static SOURCES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        [
            // SQLAlchemy: `User.email == x`, `func.lower(User.email) == x`, `.ilike(..)`.
            format!(r"(?-u:\b)([A-Z]\w*)\.{COL}(?-u:\b)\s*\)?\s*(?:==|\.(?:ilike|like|in_|is_)\()"),
            // SQLAlchemy Core: `deliveries.c.idempotency_key == key`.
            format!(r"\.c\.(){COL}(?-u:\b)\s*\)?\s*(?:==|\.(?:ilike|like|in_)\()"),
            // Diesel: `users::email.eq(x)`, `dsl::slug.eq_any(..)`.
            format!(r"(?-u:\b)(\w+)::{COL}\s*\.\s*(?:eq|eq_any|ilike|like)\s*\("),
            // Diesel with the table's `dsl::*` in scope: `email.eq(x)`.
            format!(r"(?:^|[^\w.:])(){COL}\s*\.\s*(?:eq|eq_any|ilike|like)\s*\("),
            // Django / Flask-SQLAlchemy keyword filters, the model when the chain names it.
            format!(
                r"(?:(?-u:\b)([A-Z]\w*)\.(?:objects|query)\.(?:\w+\([^()]*\)\.)*)?(?:filter_by|filter|get|get_or_create|update_or_create|exclude|get_object_or_404)\([^()]*?(?-u:\b){COL}(?:__(?:i?exact|in))?\s*=[^=]"
            ),
            // SQL text: `WHERE email = ?`, `AND lower(u.email) = lower($1)`.
            format!(
                r#"(?i)(?-u:\b)(?:where|and|or)\s+(?:lower\s*\(\s*)?(?:\w+\.)?["`]?{COL}["`]?\s*\)?\s*(?:=|ilike(?-u:\b)|like(?-u:\b)|in\s*\()"#
            ),
        ]
        .into()
    });
    // ASCII word boundaries: a Unicode `\b` sends the search on a file with any non-ASCII
    // text to the slow NFA engine.
    static PATTERNS: std::sync::LazyLock<Vec<regex::Regex>> = std::sync::LazyLock::new(|| {
        SOURCES
            .iter()
            .map(|p| re::new(p).expect("static regex"))
            .collect()
    });
    // One pass says which patterns match at all (most files match none of them).
    static ANY: std::sync::LazyLock<regex::RegexSet> = std::sync::LazyLock::new(|| {
        regex::RegexSet::new(SOURCES.iter().map(|p| re::ascii(p))).expect("static regex")
    });
    if !text.contains("mail")
        && !text.contains("name")
        && !text.contains("login")
        && !text.contains("handle")
        && !text.contains("slug")
        && !text.contains("xternal")
        && !text.contains("dempotency")
        && !text.contains("sku")
    {
        return Vec::new();
    }
    let matched = ANY.matches(text);
    if !matched.matched_any() {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, re) in PATTERNS.iter().enumerate() {
        if !matched.matched(i) {
            continue;
        }
        for c in re.captures_iter(text) {
            // A fixed key (`Category.objects.get(slug="first-category")`) fetches a row the
            // project seeded itself, as a test fetches the row it just made: it says
            // nothing about how the application finds rows by what it is given. The Django
            // pattern ends on the value's first character.
            let whole = c.get(0).expect("match");
            let value_at = if i == 4 { whole.end() - 1 } else { whole.end() };
            if text
                .get(value_at..)
                .is_some_and(|rest| rest.trim_start().starts_with(['"', '\'']))
            {
                continue;
            }
            // The SQL pattern has one group, the column.
            let (qual, col) = if i == 5 {
                (None, c.get(1))
            } else {
                (c.get(1), c.get(2))
            };
            let Some(col) = col else {
                continue;
            };
            let qual = match qual.map(|q| q.as_str().to_ascii_lowercase()) {
                Some(q) if !q.is_empty() && !matches!(q.as_str(), "dsl" | "schema" | "self") => q,
                _ => "*".to_string(),
            };
            out.push(format!("{qual}.{}", col.as_str().to_ascii_lowercase()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `Model.owner_id`-like references in a Python file's text: the key columns its queries
/// (`where(Item.owner_id == user.id)`, `join(.., Payout.account_id == ..)`) and
/// relationships (`foreign_keys="[User.account_id]"`) use.
fn key_refs(text: &str) -> Vec<String> {
    // By hand rather than with a regex: every Python file goes through here, and the only
    // anchor is the `id` at the end, so each `id` is found with a substring search and the
    // `Model.<name>id` before it is read backwards.
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(k) = text[from..].find("id") {
        let end = from + k + 2;
        from = end;
        if b.get(end).is_some_and(|&c| word(c) || c >= 0x80) {
            continue;
        }
        // The attribute: `[a-z_][a-z0-9_]*` ending in `id`.
        let mut a = end - 2;
        while a > 0 && matches!(b[a - 1], b'a'..=b'z' | b'0'..=b'9' | b'_') {
            a -= 1;
        }
        if a == 0 || b[a - 1] != b'.' || b[a].is_ascii_digit() {
            continue;
        }
        // The class: `[A-Z][A-Za-z0-9_]*` starting at a word boundary.
        let dot = a - 1;
        let mut c = dot;
        while c > 0 && word(b[c - 1]) {
            c -= 1;
        }
        if c == dot || !b[c].is_ascii_uppercase() || (c > 0 && b[c - 1] >= 0x80) {
            continue;
        }
        out.push(format!("{}.{}", &text[c..dot], &text[a..end]));
    }
    out.sort();
    out.dedup();
    out
}

/// `import a.b, c as d` and `from a.b import c` at the start of a logical line, outside
/// triple-quoted strings. Continuation lines of parenthesised imports do not name modules.
/// Conditional imports are left out: inside `try:` with an `except ImportError` (or
/// `ModuleNotFoundError`, `Exception`, bare), inside such an `except` block, under
/// `if TYPE_CHECKING:`, under version or platform checks, and inside functions (lazy
/// imports, the usual form of an optional dependency), and imports of a module the file
/// probes with `find_spec("name")`. Imports under a module-level `if` on anything else
/// (a setting, a feature flag) come second.
fn python_imports(file: &SourceFile) -> (Vec<Located>, Vec<Located>) {
    let probed: Vec<&str> = if file.text.contains("find_spec(") {
        FIND_SPEC
            .captures_iter(&file.text)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str())
            .collect()
    } else {
        Vec::new()
    };
    // (byte offset, indent, trimmed text) of every code line outside triple strings.
    let mut lines: Vec<(usize, usize, &str)> = Vec::new();
    let mut in_triple: Option<&str> = None;
    let mut offset = 0;
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(q) = in_triple {
            if line.matches(q).count() % 2 == 1 {
                in_triple = None;
            }
            continue;
        }
        for q in ["\"\"\"", "'''"] {
            if line.matches(q).count() % 2 == 1 {
                in_triple = Some(q);
            }
        }
        if in_triple.is_some() || trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        lines.push((start, indent, trimmed));
    }
    // `# pylint: disable=import-error` on a line of its own at module level: the author
    // knows the modules imported after it are missing where the linter runs (a private
    // extension installed only on some deployments).
    let acknowledged_from = IMPORT_ERROR_ACK.find_iter(&file.text).find_map(|m| {
        let line_start = file.text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        file.text[line_start..m.start()]
            .trim()
            .is_empty()
            .then_some(line_start)
    });
    let mut out = Vec::new();
    let mut flagged = Vec::new();
    for (k, &(start, indent, trimmed)) in lines.iter().enumerate() {
        let (modules, kw_len) = if let Some(rest) = trimmed.strip_prefix("import ") {
            (rest, 7)
        } else if let Some(rest) = trimmed.strip_prefix("from ") {
            match rest.split_once(" import") {
                Some((module, _)) => (module, 5),
                None => continue,
            }
        } else {
            continue;
        };
        let guard = if indent > 0 {
            guard_of(&lines, k)
        } else {
            Guard::None
        };
        if guard == Guard::Optional {
            continue;
        }
        let code = modules.split('#').next().unwrap_or("");
        let mut col = start + indent + kw_len;
        for part in code.split(',') {
            let lead = part.len() - part.trim_start().len();
            let name = part.split_whitespace().next().unwrap_or("");
            let name = name.trim_matches(|c| c == '(' || c == ')' || c == '\\');
            let valid = !name.is_empty()
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            let top = name.split('.').next().unwrap_or(name);
            if valid && !(indent > 0 && probed.contains(&top)) {
                let begin = col + lead;
                let loc = Located::at(file, begin, begin + name.len(), top, name);
                // Acknowledged on its own line (`# type: ignore[import]` too) or above.
                let acknowledged = acknowledged_from.is_some_and(|a| a <= start)
                    || trimmed
                        .split_once('#')
                        .is_some_and(|(_, c)| IMPORT_ERROR_ACK.is_match(&format!("#{c}")));
                if guard == Guard::Flag || acknowledged {
                    flagged.push(loc);
                } else {
                    out.push(loc);
                }
            }
            col += part.len() + 1;
            if trimmed.starts_with("from ") {
                break;
            }
        }
    }
    (out, flagged)
}

/// A comment that silences the linter's or type checker's missing-module error.
static IMPORT_ERROR_ACK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    re::new(
        r"#\s*(?:pylint:\s*disable=[\w\-, ]*\bimport-error\b|type:\s*ignore\[import|pyright:\s*ignore\[reportMissingImports)",
    )
    .expect("static regex")
});

static FIND_SPEC: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    re::new(r#"find_spec\(\s*["']([A-Za-z_][A-Za-z0-9_]*)"#).expect("static regex")
});

/// How the import on a code line is guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    None,
    /// Runs only where its absence is tolerated (see `python_imports`).
    Optional,
    /// Under a module-level `if` on configuration.
    Flag,
}

/// How the import on code line `k` is guarded. Looks at the enclosing block openers
/// (bounded walk back).
fn guard_of(lines: &[(usize, usize, &str)], k: usize) -> Guard {
    let mut flag = false;
    let mut indent = lines[k].1;
    let mut j = k;
    let mut steps = 0;
    while j > 0 && indent > 0 && steps < 2000 {
        j -= 1;
        steps += 1;
        let (_, ind, text) = lines[j];
        let t = text.trim_end();
        // Closing brackets of a multi-line signature or call are not block openers.
        if ind >= indent || t.starts_with([')', ']', '}']) {
            continue;
        }
        indent = ind;
        if t.starts_with("try:") {
            // The handlers of this `try`: the next lines back at its indent.
            let handles = lines[k + 1..]
                .iter()
                .filter(|(_, i, _)| *i <= ind)
                .take_while(|(_, i, x)| *i == ind && x.starts_with("except"))
                .any(|(_, _, x)| catches_import_error(x));
            if handles {
                return Guard::Optional;
            }
        } else if t.starts_with("except") && catches_import_error(t)
            || t.starts_with("with ")
                && t.contains("suppress(")
                && (t.contains("ImportError") || t.contains("ModuleNotFoundError"))
            || t.contains("TYPE_CHECKING")
            || t.starts_with("if sys.")
            || t.starts_with("elif sys.")
            || t.starts_with("if platform.")
            || t.starts_with("if os.name")
            || t.starts_with("else:")
                && lines[..j]
                    .iter()
                    .rev()
                    .find(|(_, i, _)| *i == ind)
                    .is_some_and(|(_, _, x)| x.contains("sys.") || x.contains("TYPE_CHECKING"))
        {
            return Guard::Optional;
        } else if t.starts_with("def ") || t.starts_with("async def ") {
            // A function-local import: the usual way to make an optional dependency lazy.
            return Guard::Optional;
        } else if ind == 0 && (t.starts_with("if ") || t.starts_with("elif ")) {
            flag = true;
        }
    }
    if flag {
        Guard::Flag
    } else {
        Guard::None
    }
}

fn catches_import_error(line: &str) -> bool {
    let t = line.trim_end();
    t.starts_with("except")
        && (t.starts_with("except:")
            || t.contains("ImportError")
            || t.contains("ModuleNotFoundError")
            || t.contains("Exception"))
}

/// Everything repository checks see.
pub struct RepoContext<'a> {
    /// Every scanned file: path, language and summary; sorted by path.
    pub files: &'a [(String, Lang, Box<FileSummary>)],
    /// The top-level packages and modules of vendored directories, which are not scanned
    /// (`scan::walk::vendored_dirs`) but ship with the project: `(dir, name)` where `dir`
    /// holds the vendored directory (`""` at the top).
    pub vendored: &'a [(String, String)],
}

/// Files that mark the root of a Python application (its manifest, or Django's
/// `manage.py`).
pub const PY_APP_MARKERS: &[&str] = &[
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "manage.py",
];

/// The application roots of a repository: the directories holding one of the given
/// manifest files (`pyproject.toml`, `manage.py`...), so that a monorepo's services are
/// judged one by one.
pub struct AppRoots<'a> {
    roots: Vec<&'a str>,
}

impl<'a> RepoContext<'a> {
    /// The directories that hold a file named in `markers`.
    pub fn app_roots(&self, markers: &[&str]) -> AppRoots<'a> {
        let roots = self
            .files
            .iter()
            .filter_map(|(rel, _, _)| {
                let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
                markers.contains(&name).then_some(dir)
            })
            .collect();
        AppRoots { roots }
    }
}

impl AppRoots<'_> {
    /// The deepest application root above `rel` (`""`: the repository root).
    pub fn root_of(&self, rel: &str) -> String {
        self.roots
            .iter()
            .filter(|d| d.is_empty() || rel.starts_with(&format!("{d}/")))
            .max_by_key(|d| d.len())
            .map_or(String::new(), |d| d.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refs_are_model_attributes_ending_in_id() {
        let src = "q.filter(Order.customer_id == c.id, Item.id.in_(ids))\n\
                   x = order.user_id + Team.valid + é.Fooid + Abc.grid_id2 + _Z.idx + Zeta.ref_id\n\
                   (Order.customer_id)";
        assert_eq!(
            key_refs(src),
            ["Item.id", "Order.customer_id", "Team.valid", "Zeta.ref_id"]
        );
    }

    #[test]
    fn python_imports_are_found_outside_strings() {
        let src = "import os, requests as r\nfrom yaml.loader import SafeLoader\n\
                   from . import sibling\n\"\"\"\nimport not_code\n\"\"\"\n    import json  # lazy\n";
        let f = SourceFile::new("a.py".into(), Lang::Python, src.into());
        let names: Vec<(String, usize, usize)> = python_imports(&f)
            .0
            .into_iter()
            .map(|l| (l.detail, l.line, l.column))
            .collect();
        assert_eq!(
            names,
            [
                ("os".to_string(), 1, 8),
                ("requests".to_string(), 1, 12),
                ("yaml.loader".to_string(), 2, 6),
                ("json".to_string(), 7, 12),
            ]
        );
    }
}

#[cfg(test)]
mod conditional_tests {
    use super::*;

    #[test]
    fn guarded_imports_are_left_out() {
        let src = "try:\n    import orjson\nexcept ImportError:\n    import json as orjson\n\
                   try:\n    import needed\nexcept KeyError:\n    pass\n\
                   if TYPE_CHECKING:\n    from boto3 import Session\n\
                   def f():\n    import lazy\n";
        let f = SourceFile::new("a.py".into(), Lang::Python, src.into());
        let names: Vec<String> = python_imports(&f).0.into_iter().map(|l| l.detail).collect();
        assert_eq!(names, ["needed"]);
    }
}
