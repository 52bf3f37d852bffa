//! The rule registry: rule files (embedded from `rules/` at build time, plus `--rules DIR`),
//! parsed, validated and compiled into one tree-sitter query per language.

pub mod finding;
pub mod meta;
pub mod predicate;

pub use meta::{Confidence, Docs, Layer, Severity};
pub use predicate::Predicate;

use crate::checks;
use crate::source::context::CodeKind;
use crate::source::lang::Lang;
use crate::source::re;
use include_dir::{include_dir, Dir};
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

static BUILTIN_RULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// One rule file as written on disk.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RuleFile {
    id: String,
    name: String,
    layer: Layer,
    severity: Severity,
    confidence: Confidence,
    #[serde(default)]
    cwe: Vec<String>,
    languages: Vec<String>,
    summary: String,
    message: String,
    docs: Docs,
    /// Literal substrings of which at least one must occur in a file for the rule to run.
    #[serde(default)]
    prefilter: Vec<String>,
    /// A regex the file must match too (or a list of regexes it must all match), tested
    /// only when a literal matched: lets a rule skip the parse of files that mention its
    /// names but not in the shape it looks for.
    prefilter_regex: Option<OneOrMany<String>>,
    /// Globs of paths the rule does not apply to (e.g. test code for rules about
    /// production data paths).
    #[serde(default)]
    exclude_paths: Vec<String>,
    /// Also report in test code and scripts (committed keys and tokens leak from anywhere);
    /// other rules are about production code and leave those out by default.
    #[serde(default)]
    test_code: bool,
    /// A migration-safety rule: reported by default only in the newest migration of each
    /// migration directory (older ones already ran) and never in rollbacks.
    #[serde(default)]
    migration_safety: bool,
    #[serde(rename = "match")]
    matcher: Option<OneOrMany<MatchSpec>>,
    check: Option<CheckSpec>,
    /// A check over the Python project index that reports under this rule too (what the
    /// rule's own match cannot see across functions and files).
    index_check: Option<String>,
    /// A test over the Python project index that withdraws this rule's per-file findings
    /// the index shows to be handled elsewhere (a callee that clamps, an owner filter in
    /// a helper).
    index_vet: Option<String>,
}

/// One value or a list of them. Deserialized by hand rather than `#[serde(untagged)]`,
/// which replaces the inner error ("unknown field `bogus`") by "did not match any variant".
#[derive(Debug)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| T::deserialize(v).map_err(D::Error::custom))
                .collect::<Result<Vec<T>, _>>()
                .map(OneOrMany::Many),
            v => T::deserialize(v)
                .map(OneOrMany::One)
                .map_err(D::Error::custom),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchSpec {
    /// A tree-sitter query over the file's syntax tree...
    query: Option<String>,
    /// ...or a regex over the raw text (secrets, text-only files). `report` names a capture
    /// group (or `0` for the whole match).
    regex: Option<String>,
    #[serde(default, rename = "where")]
    predicates: Vec<predicate::PredicateSpec>,
    report: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    builtin: String,
}

/// A validated rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub layer: Layer,
    pub severity: Severity,
    pub confidence: Confidence,
    pub cwe: Vec<String>,
    pub languages: Vec<Lang>,
    pub summary: String,
    pub message: String,
    pub docs: Docs,
    pub prefilter: Vec<String>,
    pub prefilter_regex: Vec<regex::Regex>,
    pub exclude_paths: Option<globset::GlobSet>,
    /// Reported in test code and scripts too (see `scan::scope`).
    pub test_code: bool,
    /// Reported only in the newest migration of a directory by default (see `scan::scope`).
    pub migration_safety: bool,
    pub kind: RuleKind,
    /// Also reports what this check over the project index finds (see `checks::ChainHit`).
    pub index_check: Option<checks::IndexCheckFn>,
    /// Re-judges the rule's per-file findings with the project index (see
    /// `checks::IndexRefineFn`): a race in code only start-up calls.
    pub index_refine: Option<checks::IndexRefineFn>,
    /// Withdraws per-file findings the project index shows to be handled elsewhere.
    pub index_vet: Option<checks::IndexVetFn>,
    /// Where the rule came from: `builtin:rules/...` or a user path.
    pub origin: String,
    /// Hash of the rule file's text: cached results are discarded when it changes.
    pub digest: String,
}

#[derive(Debug)]
pub enum RuleKind {
    Query(Vec<QueryMatcher>),
    Regex(Vec<RegexMatcher>),
    Check(checks::CheckFn),
    /// A check over the raw text: no parse, any kind of file.
    Text(checks::TextCheckFn),
    /// Runs once per scan over what every file contributed (`repo::FileSummary`).
    Repo(crate::checks::RepoCheck),
}

/// A declarative rule over raw text: no parse needed.
#[derive(Debug)]
pub struct RegexMatcher {
    pub regex: regex::Regex,
    pub predicates: Vec<Predicate>,
    pub report: String,
}

#[derive(Debug)]
pub struct QueryMatcher {
    pub query: String,
    pub predicates: Vec<Predicate>,
    pub report: String,
}

impl Rule {
    pub fn applies_to(&self, lang: Lang) -> bool {
        self.languages.contains(&lang)
    }

    /// True when the file may contain a match: its path is not excluded and it contains
    /// one of the prefilter literals (a cheap test before any parse).
    /// Whether this rule analyses a file of `kind` in a rule set that includes what `set`
    /// says: production code always; tests and scripts when asked, or when the rule is about
    /// committed secrets (`test-code = true`).
    pub fn analyses(&self, kind: CodeKind, set: &RuleSet<'_>) -> bool {
        self.test_code
            || match kind {
                CodeKind::Production => true,
                CodeKind::Test => set.include_tests,
                CodeKind::Script => set.include_scripts,
            }
    }

    /// `present` says whether the file contains a prefilter literal (the language's
    /// [`Literals`] automaton finds every rule's literals in one pass over the text);
    /// `matches` whether a prefilter regex matches the file's text (rules that share a
    /// regex let the caller test it once per file).
    pub fn wants_given(
        &self,
        rel_path: &str,
        present: impl Fn(&str) -> bool,
        matches: impl FnMut(&regex::Regex) -> bool,
    ) -> bool {
        if self
            .exclude_paths
            .as_ref()
            .is_some_and(|g| g.is_match(rel_path))
        {
            return false;
        }
        (self.prefilter.is_empty() || self.prefilter.iter().any(|p| present(p.as_str())))
            && self.prefilter_regex.iter().all(matches)
    }
}

/// A rule file that could not be loaded, pointing at the file and position.
#[derive(Debug, Error, Diagnostic)]
#[error("invalid rule file {path}: {reason}")]
#[diagnostic(code(strata::rule_file))]
pub struct RuleError {
    pub path: String,
    pub reason: String,
    #[source_code]
    pub src: Option<NamedSource<String>>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

impl RuleError {
    fn new(
        path: &str,
        text: &str,
        reason: impl Into<String>,
        span: Option<SourceSpan>,
    ) -> Box<Self> {
        Box::new(RuleError {
            path: path.to_string(),
            reason: reason.into(),
            src: span.map(|_| NamedSource::new(path, text.to_string())),
            span,
        })
    }

    /// One line, `path:line:col: reason`, for logs and tests.
    pub fn one_line(&self) -> String {
        match (&self.src, self.span) {
            (Some(src), Some(span)) => {
                let text = src.inner();
                let before = &text[..span.offset().min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("{}:{line}:{col}: {}", self.path, self.reason)
            }
            _ => format!("{}: {}", self.path, self.reason),
        }
    }
}

/// All rules, in id order.
#[derive(Debug, Default)]
pub struct Registry {
    pub rules: Vec<Rule>,
}

impl Registry {
    /// The rules shipped inside the binary.
    pub fn builtin() -> Result<Registry, Box<RuleError>> {
        let mut files = Vec::new();
        collect_embedded(&BUILTIN_RULES, &mut files);
        let mut registry = Registry::default();
        for (path, text) in files {
            // Built-in queries are compiled once, combined, when a scan needs them; the
            // fixture tests compile every one of them.
            registry.add(parse_rule(&format!("rules/{path}"), &text, false)?)?;
        }
        registry.sort();
        Ok(registry)
    }

    /// Adds every `*.toml` rule below `dir` (a user's own rules).
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), Box<RuleError>> {
        if !dir.is_dir() {
            return Err(RuleError::new(
                &dir.display().to_string(),
                "",
                "not a directory",
                None,
            ));
        }
        let mut paths: Vec<_> = ignore::WalkBuilder::new(dir)
            .standard_filters(false)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .map(|e| e.into_path())
            .collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| RuleError::new(&shown, "", format!("cannot read: {e}"), None))?;
            self.add(parse_rule(&shown, &text, true)?)?;
        }
        self.sort();
        Ok(())
    }

    fn add(&mut self, rule: Rule) -> Result<(), Box<RuleError>> {
        if let Some(prev) = self.rules.iter().find(|r| r.id == rule.id) {
            return Err(RuleError::new(
                &rule.origin,
                "",
                format!("rule id {} is already defined by {}", rule.id, prev.origin),
                None,
            ));
        }
        self.rules.push(rule);
        Ok(())
    }

    fn sort(&mut self) {
        self.rules.sort_by_key(|r| id_order(&r.id));
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }
}

/// Orders `ERR2` before `ERR10`, and layers in their documented order.
fn id_order(id: &str) -> (usize, String, u32) {
    let prefix: String = id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let num = id[prefix.len()..].parse().unwrap_or(u32::MAX);
    let layer = Layer::ALL
        .iter()
        .position(|l| l.prefix() == prefix)
        .unwrap_or(Layer::ALL.len());
    (layer, prefix, num)
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        if file.path().extension().is_some_and(|e| e == "toml") {
            let text = String::from_utf8_lossy(file.contents()).into_owned();
            out.push((file.path().display().to_string(), text));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
    out.sort();
}

/// Finds the span of `key = ` in a TOML text, for diagnostics on semantic errors.
fn key_span(text: &str, key: &str) -> Option<SourceSpan> {
    let re = re::new(&format!(r"(?m)^\s*{}\s*=", regex::escape(key))).ok()?;
    re.find(text)
        .map(|m| SourceSpan::from((m.start(), m.len())))
}

/// Parses and validates one rule file. With `compile_queries`, each query is compiled on
/// its own so that an error points at the rule file, line and column (user rules).
fn parse_rule(path: &str, text: &str, compile_queries: bool) -> Result<Rule, Box<RuleError>> {
    let mut file: RuleFile = toml::from_str(text).map_err(|e| {
        let span = e
            .span()
            .map(|r| SourceSpan::from((r.start, r.end - r.start)));
        RuleError::new(path, text, e.message().trim().to_string(), span)
    })?;
    let err = |key: &str, reason: String| RuleError::new(path, text, reason, key_span(text, key));

    let id_ok = re::new(r"^[A-Z]+[0-9]+$").expect("static regex");
    if !id_ok.is_match(&file.id) {
        return Err(err(
            "id",
            format!("rule id `{}` must look like ERR003", file.id),
        ));
    }
    if !file.id.starts_with(file.layer.prefix())
        || !file.id[file.layer.prefix().len()..].starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(err(
            "id",
            format!(
                "rule id `{}` does not match its layer `{}` (expected prefix {})",
                file.id,
                file.layer,
                file.layer.prefix()
            ),
        ));
    }
    let mut languages = Vec::new();
    for l in &file.languages {
        match Lang::from_name(l) {
            Some(lang) => languages.push(lang),
            None => {
                return Err(err(
                    "languages",
                    format!("unknown language `{l}` (expected python, rust, sql or workflow)"),
                ))
            }
        }
    }
    if languages.is_empty() {
        return Err(err(
            "languages",
            "a rule needs at least one language".into(),
        ));
    }
    let kind = match (file.matcher, file.check) {
        (Some(_), Some(_)) => {
            return Err(err(
                "builtin",
                "a rule has either [match] or [check], not both".into(),
            ))
        }
        (None, None) => {
            return Err(RuleError::new(
                path,
                text,
                "a rule needs a [match] query or a [check] builtin",
                None,
            ))
        }
        (None, Some(check)) => match (
            checks::lookup(&check.builtin),
            crate::checks::repo_lookup(&check.builtin),
            checks::lookup_text(&check.builtin),
        ) {
            (Some(f), _, _) => RuleKind::Check(f),
            (None, Some(f), _) => RuleKind::Repo(f),
            (None, None, Some(f)) => RuleKind::Text(f),
            (None, None, None) => {
                return Err(err(
                    "builtin",
                    format!(
                        "unknown builtin check `{}` (known: {})",
                        check.builtin,
                        checks::names()
                            .into_iter()
                            .chain(crate::checks::repo_names())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        },
        (Some(m), None) => {
            let specs = match m {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            let regex_count = specs.iter().filter(|s| s.regex.is_some()).count();
            if regex_count == specs.len() {
                let mut matchers = Vec::new();
                for spec in specs {
                    matchers.push(compile_regex_matcher(path, text, spec)?);
                }
                RuleKind::Regex(matchers)
            } else if regex_count == 0 {
                let mut matchers = Vec::new();
                for spec in specs {
                    matchers.push(compile_matcher(
                        path,
                        text,
                        &languages,
                        spec,
                        compile_queries,
                    )?);
                }
                RuleKind::Query(matchers)
            } else {
                return Err(err(
                    "regex",
                    "all [match] entries of a rule use `query`, or all use `regex`".into(),
                ));
            }
        }
    };
    let exclude_paths = if file.exclude_paths.is_empty() {
        None
    } else {
        let mut b = globset::GlobSetBuilder::new();
        for g in &file.exclude_paths {
            let glob = globset::Glob::new(g)
                .map_err(|e| err("exclude-paths", format!("invalid glob `{g}`: {e}")))?;
            b.add(glob);
        }
        Some(
            b.build()
                .map_err(|e| err("exclude-paths", format!("invalid globs: {e}")))?,
        )
    };
    let index_check = match &file.index_check {
        Some(name) => Some(
            checks::index_lookup(name)
                .ok_or_else(|| err("index-check", format!("unknown index check `{name}`")))?,
        ),
        None => None,
    };
    let index_refine = file
        .index_check
        .as_deref()
        .and_then(checks::index_refine_lookup);
    let index_vet = match &file.index_vet {
        Some(name) => Some(
            checks::index_vet_lookup(name)
                .ok_or_else(|| err("index-vet", format!("unknown index vet `{name}`")))?,
        ),
        None => None,
    };
    let prefilter_regex = match file.prefilter_regex.take() {
        Some(OneOrMany::One(r)) => vec![r],
        Some(OneOrMany::Many(rs)) => rs,
        None => Vec::new(),
    }
    .iter()
    .map(|r| re::new(r).map_err(|e| err("prefilter-regex", format!("invalid regex: {e}"))))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Rule {
        id: file.id,
        name: file.name,
        layer: file.layer,
        severity: file.severity,
        confidence: file.confidence,
        cwe: file.cwe,
        languages,
        summary: file.summary,
        message: file.message,
        docs: file.docs,
        prefilter: file.prefilter,
        prefilter_regex,
        exclude_paths,
        test_code: file.test_code,
        migration_safety: file.migration_safety,
        kind,
        index_check,
        index_refine,
        index_vet,
        origin: path.to_string(),
        digest: crate::source::content_hash(text.as_bytes()),
    })
}

fn compile_matcher(
    path: &str,
    text: &str,
    languages: &[Lang],
    spec: MatchSpec,
    compile_queries: bool,
) -> Result<QueryMatcher, Box<RuleError>> {
    let Some(query_src) = spec.query else {
        return Err(RuleError::new(
            path,
            text,
            "a [match] needs a `query` or a `regex`",
            key_span(text, "report"),
        ));
    };
    for &lang in languages {
        let Some(grammar) = lang.ts_language() else {
            return Err(RuleError::new(
                path,
                text,
                format!(
                    "language `{}` has no syntax tree: use a `regex` match",
                    lang.name()
                ),
                key_span(text, "languages"),
            ));
        };
        let names: Vec<String> = if compile_queries {
            let query = tree_sitter::Query::new(&grammar, &query_src).map_err(|e| {
                // Point into the query string inside the TOML file when we can find it.
                let span = text
                    .find(query_src.lines().next().unwrap_or(""))
                    .map(|start| {
                        let line_start: usize = query_src
                            .split_inclusive('\n')
                            .take(e.row)
                            .map(str::len)
                            .sum();
                        SourceSpan::from((start + line_start + e.column, 1))
                    });
                RuleError::new(
                    path,
                    text,
                    format!(
                        "invalid {} query: {:?} error: {}",
                        lang.name(),
                        e.kind,
                        e.message
                    ),
                    span,
                )
            })?;
            query
                .capture_names()
                .iter()
                .map(|n| n.to_string())
                .collect()
        } else {
            capture_names_in(&query_src)
        };
        if !names.contains(&spec.report) {
            return Err(RuleError::new(
                path,
                text,
                format!(
                    "`report` names capture @{} which the query does not define",
                    spec.report
                ),
                key_span(text, "report"),
            ));
        }
        for p in &spec.predicates {
            if let Some(c) = &p.capture {
                if !names.contains(c) {
                    return Err(RuleError::new(
                        path,
                        text,
                        format!("predicate names capture @{c} which the query does not define"),
                        key_span(text, "where"),
                    ));
                }
            }
        }
    }
    let predicates = spec
        .predicates
        .into_iter()
        .map(|p| p.compile())
        .collect::<Result<Vec<_>, String>>()
        .map_err(|reason| RuleError::new(path, text, reason, key_span(text, "where")))?;
    Ok(QueryMatcher {
        query: query_src,
        predicates,
        report: spec.report,
    })
}

/// Capture names written in a query (`@name`), without compiling it.
fn capture_names_in(query: &str) -> Vec<String> {
    static CAPTURE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| re::new(r"@([A-Za-z_][A-Za-z0-9_.-]*)").expect("static regex"));
    CAPTURE
        .captures_iter(query)
        .map(|c| c[1].to_string())
        .collect()
}

fn compile_regex_matcher(
    path: &str,
    text: &str,
    spec: MatchSpec,
) -> Result<RegexMatcher, Box<RuleError>> {
    let src = spec.regex.unwrap_or_default();
    let regex = re::new(&src).map_err(|e| {
        RuleError::new(
            path,
            text,
            format!("invalid regex: {e}"),
            key_span(text, "regex"),
        )
    })?;
    let known_group =
        spec.report == "0" || regex.capture_names().flatten().any(|n| n == spec.report);
    if !known_group {
        return Err(RuleError::new(
            path,
            text,
            format!(
                "`report` names group `{}` which the regex does not define (use \"0\" for the whole match)",
                spec.report
            ),
            key_span(text, "report"),
        ));
    }
    let mut predicates = Vec::new();
    for p in spec.predicates {
        let p = p
            .compile()
            .map_err(|reason| RuleError::new(path, text, reason, key_span(text, "where")))?;
        if p.eval_text("").is_none() {
            return Err(RuleError::new(
                path,
                text,
                "regex rules support only `matches`/`not-matches` predicates",
                key_span(text, "where"),
            ));
        }
        if let Some(c) = &p.capture {
            if regex.capture_names().flatten().all(|n| n != c) {
                return Err(RuleError::new(
                    path,
                    text,
                    format!("predicate names group `{c}` which the regex does not define"),
                    key_span(text, "where"),
                ));
            }
        }
        predicates.push(p);
    }
    Ok(RegexMatcher {
        regex,
        predicates,
        report: spec.report,
    })
}

/// What a scan runs: the selected rules, and per language one combined query.
pub struct RuleSet<'r> {
    pub rules: Vec<&'r Rule>,
    pub by_lang: BTreeMap<Lang, LangRules>,
    /// Indices into `rules` of the repository-level checks, run once after all files.
    pub repo: Vec<usize>,
    /// Project taint sources and sanitizers from the configuration, for taint checks.
    pub taint: crate::model::taint::TaintConfig,
    /// Some repository check reads tables of Python ORM models.
    pub models: bool,
    /// Some repository check reads the route inventory.
    pub web: bool,
    /// Indices into `rules` of the rules with an index check: Python files then contribute
    /// their part of the project index (`crate::model::pyindex`).
    pub index: Vec<usize>,
    /// Some index rule is a Rust rule: Rust files contribute their part of the crate index
    /// (`crate::model::rsindex`).
    pub rust_index: bool,
    /// Per-file rules also analyse test code (otherwise only rules with `test-code = true`
    /// do; see `source::context`).
    pub include_tests: bool,
    /// Per-file rules also analyse scripts, examples and docs.
    pub include_scripts: bool,
    /// The display prefixes of the directories scanned: a file's code kind is read from
    /// its path below them (`scan::walk::root_prefixes`).
    pub kind_roots: Vec<String>,
}

pub struct LangRules {
    /// Indices into `RuleSet::rules` of the rules for this language.
    pub rules: Vec<usize>,
    lang: Lang,
    /// All declarative matchers of the language, concatenated, and where each starts:
    /// (byte offset, rule index, matcher index).
    source: String,
    starts: Vec<(usize, usize, usize)>,
    /// Compiled on first use, so a scan compiles only the languages it meets.
    compiled: std::sync::OnceLock<Option<CompiledQuery>>,
    /// Every prefilter literal of the language's rules, in one automaton.
    pub literals: Literals,
}

/// The prefilter literals of a language's rules in one Aho-Corasick automaton: one pass over
/// a file's bytes says which literals it contains, instead of one substring search per
/// literal per rule.
pub struct Literals {
    automaton: Option<aho_corasick::AhoCorasick>,
    ids: std::collections::HashMap<String, usize>,
}

impl Literals {
    fn new<'a>(literals: impl Iterator<Item = &'a str>) -> Literals {
        let mut ids = std::collections::HashMap::new();
        let mut patterns: Vec<&str> = Vec::new();
        for l in literals {
            if !ids.contains_key(l) {
                ids.insert(l.to_string(), patterns.len());
                patterns.push(l);
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            // A full DFA: the Python rules' 281 literals make a table of 0.8 MiB, and the
            // overlapping search (every literal, not the leftmost) runs 2-2.5 times as fast
            // as on the default NFA.
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&patterns)
                .ok()
        };
        Literals { automaton, ids }
    }

    /// Which literals `text` contains, by id (stops once all are found).
    pub fn present(&self, text: &str) -> Vec<bool> {
        let mut seen = vec![false; self.ids.len()];
        let Some(ac) = &self.automaton else {
            return seen;
        };
        let mut left = seen.len();
        for m in ac.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            if !seen[id] {
                seen[id] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        seen
    }

    /// Whether `literal` is among `seen` (from [`Literals::present`] on the same text);
    /// a literal the automaton was not built with is looked up in `text` directly.
    pub fn contains(&self, seen: &[bool], text: &str, literal: &str) -> bool {
        match self.ids.get(literal) {
            Some(&id) => seen[id],
            None => text.contains(literal),
        }
    }
}

/// One query for all declarative rules of a language.
pub struct CompiledQuery {
    pub query: tree_sitter::Query,
    /// For each pattern of `query`: (rule index in `RuleSet::rules`, matcher index).
    pub pattern_owner: Vec<(usize, usize)>,
}

impl<'r> RuleSet<'r> {
    /// Compiles every language's query now, naming the rule whose query does not compile.
    /// Scans compile lazily; tests and `strata rules --check` use this.
    pub fn compile_all(&self) -> Result<(), String> {
        for (lang, lr) in &self.by_lang {
            if lr.starts.is_empty() || lr.query().is_some() {
                continue;
            }
            let grammar = lang
                .ts_language()
                .ok_or_else(|| format!("{} has no grammar", lang.name()))?;
            for &(_, ri, mi) in &lr.starts {
                if let RuleKind::Query(ms) = &self.rules[ri].kind {
                    if let Err(e) = tree_sitter::Query::new(&grammar, &ms[mi].query) {
                        return Err(format!(
                            "{}: invalid {} query at line {}, column {}: {}",
                            self.rules[ri].origin,
                            lang.name(),
                            e.row + 1,
                            e.column + 1,
                            e.message
                        ));
                    }
                }
            }
            return Err(format!(
                "the combined {} query does not compile",
                lang.name()
            ));
        }
        Ok(())
    }
}

impl LangRules {
    /// The combined query, or `None` when the language has no declarative rules (or, for
    /// a combination that fails to compile, which rule validation makes unreachable).
    pub fn query(&self) -> Option<&CompiledQuery> {
        self.compiled
            .get_or_init(|| {
                if self.starts.is_empty() {
                    return None;
                }
                let grammar = self.lang.ts_language()?;
                let query = tree_sitter::Query::new(&grammar, &self.source).ok()?;
                let pattern_owner = (0..query.pattern_count())
                    .map(|p| {
                        let at = query.start_byte_for_pattern(p);
                        let k = self.starts.partition_point(|s| s.0 <= at).saturating_sub(1);
                        (self.starts[k].1, self.starts[k].2)
                    })
                    .collect();
                Some(CompiledQuery {
                    query,
                    pattern_owner,
                })
            })
            .as_ref()
    }
}

impl<'r> RuleSet<'r> {
    /// Whether code of this kind is analysed at all (production always; tests and scripts
    /// when asked).
    /// Where the file at display path `rel` runs, read below the scan root it lies in.
    pub fn code_kind(&self, rel: &str) -> CodeKind {
        crate::source::context::code_kind(crate::source::context::below_root(rel, &self.kind_roots))
    }

    pub fn in_scope(&self, kind: CodeKind) -> bool {
        match kind {
            CodeKind::Production => true,
            CodeKind::Test => self.include_tests,
            CodeKind::Script => self.include_scripts,
        }
    }

    pub fn new(rules: Vec<&'r Rule>) -> Result<RuleSet<'r>, String> {
        let mut by_lang = BTreeMap::new();
        for lang in Lang::ALL {
            let idxs: Vec<usize> = (0..rules.len())
                .filter(|&i| {
                    rules[i].applies_to(lang) && !matches!(rules[i].kind, RuleKind::Repo(_))
                })
                .collect();
            if idxs.is_empty() {
                continue;
            }
            let mut source = String::new();
            let mut starts = Vec::new(); // (byte offset, rule idx, matcher idx)
            for &ri in &idxs {
                if let RuleKind::Query(ms) = &rules[ri].kind {
                    for (mi, m) in ms.iter().enumerate() {
                        starts.push((source.len(), ri, mi));
                        source.push_str(&m.query);
                        source.push('\n');
                    }
                }
            }
            let literals = Literals::new(
                idxs.iter()
                    .flat_map(|&ri| rules[ri].prefilter.iter().map(String::as_str)),
            );
            by_lang.insert(
                lang,
                LangRules {
                    rules: idxs,
                    lang,
                    source,
                    starts,
                    compiled: std::sync::OnceLock::new(),
                    literals,
                },
            );
        }
        let repo = (0..rules.len())
            .filter(|&i| matches!(rules[i].kind, RuleKind::Repo(_)))
            .collect();
        let models = rules
            .iter()
            .any(|r| matches!(r.kind, RuleKind::Repo(c) if c.needs_models));
        let web = rules
            .iter()
            .any(|r| matches!(r.kind, RuleKind::Repo(c) if c.needs_web));
        // Repository checks that read the index parts make the files contribute them.
        let index = (0..rules.len())
            .filter(|&i| {
                rules[i].index_check.is_some()
                    || rules[i].index_vet.is_some()
                    || matches!(rules[i].kind, RuleKind::Repo(c) if c.needs_index)
            })
            .collect::<Vec<usize>>();
        let rust_index = index
            .iter()
            .any(|&i| rules[i].index_check.is_some() && rules[i].languages.contains(&Lang::Rust));
        Ok(RuleSet {
            index,
            rust_index,
            rules,
            by_lang,
            repo,
            taint: crate::model::taint::TaintConfig::default(),
            models,
            web,
            include_tests: false,
            include_scripts: false,
            kind_roots: Vec::new(),
        })
    }
}
