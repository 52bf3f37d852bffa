//! Runs the rules of one file: prefilter, one parse, facts, one query traversal for all
//! declarative rules, then the semantic checks. Nothing here knows about output formats.

use crate::checks::{FileContext, Hit, Tally};
use crate::model::facts::{python::PyFacts, rust::RustFacts, Facts};
use crate::model::sql;
use crate::model::summary::{self, FileSummary};
use crate::rules::finding::{RawFinding, RawStep};
use crate::rules::{RuleKind, RuleSet};
use crate::source::lang::Lang;
use crate::source::parse::{parse, parse_python};
use crate::source::SourceFile;
use tree_sitter::{QueryCursor, StreamingIterator, Tree};

/// What analysing one file produced.
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub findings: Vec<RawFinding>,
    /// Whether the file needed a parse at all (some rule passed its prefilter).
    pub parsed: bool,
    /// Line of the first syntax error, if the parse had to recover.
    pub syntax_error_line: Option<usize>,
    /// A statement the declarative rules skipped because it holds a line of generated data
    /// longer than [`LONG_LINE`] bytes: (its first line, the longest line's length).
    pub skipped_statement: Option<(usize, usize)>,
    /// The file is larger than [`PARSE_LIMIT`]: only the rules that need no parse ran.
    pub too_large_to_parse: bool,
    /// For `findings[i]`, the byte range of its enclosing statement (for suppressions).
    pub statements: Vec<Option<(usize, usize)>>,
    /// What the file contributes to repository-level checks.
    pub summary: FileSummary,
    /// Sites each check examined and passed in this file, by rule index (rules that
    /// counted nothing are left out), in rule order.
    pub tallies: Vec<(usize, Tally)>,
}

const MATCH_LIMIT: u32 = 4096;
/// A line longer than this is generated data (a minified literal, an embedded blob): the
/// query engine's work grows with the square of a node's children on such lines, so the
/// declarative rules skip the statement that holds it (semantic checks still see it).
pub const LONG_LINE: usize = 20_000;
/// Files larger than this are not parsed (a syntax tree takes up to 200 times the bytes of
/// dense generated code); text rules (secrets) still read them. The default size cap
/// (2 MiB) stays below it; `--max-file-size` can raise the cap, not this limit.
pub const PARSE_LIMIT: usize = 4 << 20;
const MAX_START_DEPTH: u32 = 256;

pub fn analyze(file: &SourceFile, set: &RuleSet<'_>) -> FileOutcome {
    let mut out = FileOutcome::default();
    if !set.repo.is_empty() || !set.index.is_empty() {
        out.summary = summary::summarise(file);
    }
    // A TOML manifest that does not parse declares nothing: say so, with its position,
    // rather than let the dependency rules run on what is missing.
    if file.lang == Lang::Manifest && (file.rel.ends_with(".toml") || file.rel.ends_with("Pipfile"))
    {
        if let Err(e) = file.text.parse::<toml::Table>() {
            out.syntax_error_line = Some(e.span().map_or(1, |s| file.line_col(s.start).0));
        }
    }
    // Python files declaring ORM models feed the schema model: they need a tree even
    // when no per-file rule does (then they are parsed for this alone).
    let models = set.models
        && file.lang == Lang::Python
        && crate::model::orm::is_candidate(&file.rel, &file.text);
    // Web files feed the route inventory in the same way.
    let web = set.web && matches!(file.lang, Lang::Python | Lang::Rust);
    let kind = set.code_kind(&file.rel);
    // Python files in scope feed the project index in the same way.
    let index = !set.index.is_empty() && file.lang == Lang::Python && set.in_scope(kind);
    // Rust files in scope feed the crate index when a Rust rule reads it.
    let rust_index = set.rust_index
        && file.lang == Lang::Rust
        && set.in_scope(kind)
        && crate::model::rsindex::wanted(&file.text);
    let Some(lang_rules) = set.by_lang.get(&file.lang) else {
        if models {
            model_tables(file, &mut out);
        }
        if web {
            web_only(file, &mut out);
        }
        if index {
            index_only(file, &mut out);
        }
        if rust_index {
            rust_index_only(file, &mut out);
        }
        return out;
    };
    let seen = lang_rules.literals.present(&file.text);
    let present = |l: &str| lang_rules.literals.contains(&seen, &file.text, l);
    // Several rules share a prefilter regex (the route-file regex of the taint rules):
    // each distinct one is run over the text at most once.
    let mut tested: Vec<(String, bool)> = Vec::new();
    let mut matches = |r: &regex::Regex| {
        if let Some(&(_, m)) = tested.iter().find(|(p, _)| *p == r.as_str()) {
            return m;
        }
        let m = r.is_match(&file.text);
        tested.push((r.as_str().to_string(), m));
        m
    };
    let active: Vec<bool> = (0..set.rules.len())
        .map(|i| {
            lang_rules.rules.contains(&i)
                && set.rules[i].analyses(kind, set)
                && set.rules[i].wants_given(&file.rel, present, &mut matches)
        })
        .collect();
    run_regexes(file, set, &active, &mut out.findings);
    for &ri in &lang_rules.rules {
        if let (true, RuleKind::Text(check)) = (active[ri], &set.rules[ri].kind) {
            let mut hits = Vec::new();
            check(file, &mut hits);
            out.findings.extend(
                hits.into_iter()
                    .map(|h| to_raw(ri, &set.rules[ri].message, h)),
            );
        }
    }
    out.statements.resize(out.findings.len(), None);
    let any_query = lang_rules
        .rules
        .iter()
        .any(|&i| active[i] && matches!(set.rules[i].kind, RuleKind::Query(_)));
    let needs_tree = lang_rules.rules.iter().any(|&i| {
        active[i] && matches!(set.rules[i].kind, RuleKind::Query(_) | RuleKind::Check(_))
    });
    if needs_tree && file.text.len() > PARSE_LIMIT {
        out.too_large_to_parse = true;
        return out;
    }
    if !needs_tree || file.lang.ts_language().is_none() {
        if models {
            model_tables(file, &mut out);
        }
        if web {
            web_only(file, &mut out);
        }
        if index {
            index_only(file, &mut out);
        }
        if rust_index {
            rust_index_only(file, &mut out);
        }
        // A Rust file no tree rule needed but a text rule reported in: its test modules
        // decide whether those findings are test code (one parse, only for such files).
        if file.lang == Lang::Rust && !out.findings.is_empty() {
            if let Some(tree) = parse(Lang::Rust, &file.text, None) {
                let f = RustFacts::build(&tree, &file.text);
                for r in &mut out.findings {
                    r.in_test = f.in_test(r.start);
                }
            }
        }
        return out;
    }
    out.parsed = true;
    // Which files the prefilters let through to the parser (`scripts/bench.sh` context).
    if std::env::var_os("STRATA_DEBUG_PARSE").is_some() {
        eprintln!("parse {}", file.rel);
    }

    // SQL is parsed one statement at a time so that one broken statement cannot swallow
    // the ones after it; other languages are parsed whole.
    let units: Vec<Option<Vec<tree_sitter::Range>>> = if file.lang == Lang::Sql {
        sql::statement_ranges(file)
            .into_iter()
            .map(|r| Some(vec![r]))
            .collect()
    } else {
        vec![None]
    };

    for ranges in units {
        let parsed = if file.lang == Lang::Python {
            parse_python(&file.text)
        } else {
            parse(file.lang, &file.text, ranges.as_deref()).map(|t| (t, None))
        };
        let Some((tree, left_out)) = parsed else {
            continue;
        };
        let first_new = out.findings.len();
        if let (Some(at), None) = (left_out, out.syntax_error_line) {
            out.syntax_error_line = Some(file.line_col(at).0);
        }
        if tree.root_node().has_error() && out.syntax_error_line.is_none() {
            out.syntax_error_line = first_error_line(&tree, file);
        }
        let _flat = crate::source::flat::install(&tree);
        let facts = match file.lang {
            Lang::Python => {
                let f = PyFacts::build(&tree, &file.text);
                if !set.repo.is_empty() {
                    out.summary.web = crate::model::routes::web_summary(&f, file);
                }
                if models {
                    out.summary.tables = crate::model::orm::tables(&tree, file);
                }
                if index {
                    out.summary.pyindex = Some(index_part(&tree, &f, file));
                }
                Facts::Python(f)
            }
            Lang::Rust => {
                let f = RustFacts::build(&tree, &file.text);
                if !set.repo.is_empty() {
                    out.summary.web = crate::model::routes::rust_web_summary(&f, file);
                }
                if rust_index {
                    out.summary.rsindex = Some(rust_index_part(&tree, &f, file));
                }
                Facts::Rust(f)
            }
            Lang::Sql | Lang::Workflow | Lang::Dotenv | Lang::Manifest => Facts::None,
        };
        let ranges = query_ranges(&tree, &file.text);
        if let (Some(skip), None) = (ranges.skipped, out.skipped_statement) {
            out.skipped_statement = Some(skip);
        }
        // A file that no declarative rule is active for skips the query traversal: every
        // match it found would belong to an inactive rule.
        let queries = ranges.ranges.into_iter().filter(|_| any_query);
        for range in queries {
            run_queries(
                file,
                set,
                lang_rules,
                &active,
                &tree,
                &facts,
                range,
                &mut out.findings,
            );
        }
        for &ri in &lang_rules.rules {
            if !active[ri] {
                continue;
            }
            if let RuleKind::Check(check) = set.rules[ri].kind {
                let tally = std::cell::Cell::new(Tally::default());
                let ctx = FileContext {
                    file,
                    tree: &tree,
                    facts: &facts,
                    taint: &set.taint,
                    tally: &tally,
                };
                let mut hits = Vec::new();
                check(&ctx, &mut hits);
                add_tally(&mut out.tallies, ri, tally.get());
                out.findings.extend(
                    hits.into_iter()
                        .map(|h| to_raw(ri, &set.rules[ri].message, h)),
                );
            }
        }
        if let Facts::Rust(f) = &facts {
            // Every finding of the file, the text rules' (secrets) before the parse too.
            for r in &mut out.findings {
                r.in_test = r.in_test || f.in_test(r.start);
            }
        }
        out.statements.resize(first_new, None);
        for f in &out.findings[first_new..] {
            out.statements
                .push(crate::source::statement::span(&tree, f.start, f.end));
        }
    }
    out
}

/// Adds what rule `ri` counted in one parse unit (SQL files have one per statement).
fn add_tally(tallies: &mut Vec<(usize, Tally)>, ri: usize, t: Tally) {
    if t.examined == 0 {
        return;
    }
    match tallies.iter_mut().find(|(r, _)| *r == ri) {
        Some((_, have)) => have.add(t),
        None => {
            tallies.push((ri, t));
            tallies.sort_by_key(|(r, _)| *r);
        }
    }
}

/// The web summary of a file parsed for it alone (when it names a web framework).
fn web_only(file: &SourceFile, out: &mut FileOutcome) {
    out.summary.web = web_summary(file);
    if out.summary.web.is_some() {
        out.parsed = true;
    }
}

/// A Python file's part of the project index, with the datastore and file calls ERR013
/// knows as blocking.
fn index_part(tree: &Tree, facts: &PyFacts, file: &SourceFile) -> crate::model::pyindex::FilePart {
    let blocks = crate::checks::error_handling::flow::blocking_sites(facts, tree, &file.text);
    let mut part = crate::model::pyindex::file_part(tree, facts, file, blocks);
    part.stored = crate::checks::security::stored_taint::file_facts(tree, facts, &file.text);
    if file.text.contains("REST_FRAMEWORK") {
        part.drf_permissions = crate::model::routes::drf_settings(&file.text)
            .and_then(|d| d.permission)
            .map(|p| p.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
    }
    if file.text.contains("before_request") {
        part.router_hooks = crate::model::routes::imported_router_hooks(facts, file);
    }
    part.ddl_unique = crate::model::schema::embedded_unique(tree.root_node(), &file.text);
    if file.text.contains("fromtimestamp(") {
        part.naive_epoch_reads = crate::checks::security::datetimes::naive_epoch_reads(&file.text);
    }
    part
}

/// The index part of a Python file parsed for it alone.
fn index_only(file: &SourceFile, out: &mut FileOutcome) {
    if file.text.len() > PARSE_LIMIT {
        return;
    }
    if let Some((tree, _)) = parse_python(&file.text) {
        out.parsed = true;
        let _flat = crate::source::flat::install(&tree);
        let facts = PyFacts::build(&tree, &file.text);
        out.summary.pyindex = Some(index_part(&tree, &facts, file));
    }
}

/// A Rust file's part of the crate index, with the blocking calls ERR005 knows.
fn rust_index_part(
    tree: &Tree,
    facts: &RustFacts,
    file: &SourceFile,
) -> crate::model::rsindex::FilePart {
    use crate::checks::error_handling::rust::blocking_sites;
    let blocks = blocking_sites(facts, tree, &file.text);
    let client = crate::checks::rust::client_side(&file.rel, facts)
        || crate::checks::rust::vendored_path(&file.rel);
    crate::model::rsindex::file_part(tree, facts, &file.text, blocks, client)
}

/// The crate index part of a Rust file parsed for it alone (only files that define a
/// function: the rest add nothing to the call graph).
fn rust_index_only(file: &SourceFile, out: &mut FileOutcome) {
    if file.text.len() > PARSE_LIMIT {
        return;
    }
    if let Some(tree) = parse(Lang::Rust, &file.text, None) {
        out.parsed = true;
        let _flat = crate::source::flat::install(&tree);
        let facts = RustFacts::build(&tree, &file.text);
        out.summary.rsindex = Some(rust_index_part(&tree, &facts, file));
    }
}

/// Tables of a Python model file parsed for them alone.
fn model_tables(file: &SourceFile, out: &mut FileOutcome) {
    if let Some((tree, _)) = parse_python(&file.text) {
        out.parsed = true;
        out.summary.tables = crate::model::orm::tables(&tree, file);
    }
}

/// A Python or Rust file's web summary for `strata routes`: one parse, only for files
/// that mention a web framework's registration calls.
pub fn web_summary(file: &SourceFile) -> Option<crate::model::routes::WebSummary> {
    match file.lang {
        Lang::Python => {
            const MARKERS: &[&str] = &[
                "fastapi",
                "flask",
                "include_router",
                "register_blueprint",
                "urlpatterns",
                "REST_FRAMEWORK",
                "rest_framework",
                "django.views",
                "django.http",
                "django.shortcuts",
                "django.contrib.auth",
                "starlette",
                // Settings defaults that registration prefixes read (`settings.API_V1_STR`).
                "BaseSettings",
                // Django settings and the middleware they list.
                "MIDDLEWARE",
                "process_view",
            ];
            if !MARKERS.iter().any(|m| file.text.contains(m)) {
                return None;
            }
            let (tree, _) = parse_python(&file.text)?;
            crate::model::routes::web_summary(&PyFacts::build(&tree, &file.text), file)
        }
        Lang::Rust => {
            if !crate::model::facts::rust::registers_routes(&file.text) {
                return None;
            }
            let tree = parse(Lang::Rust, &file.text, None)?;
            crate::model::routes::rust_web_summary(&RustFacts::build(&tree, &file.text), file)
        }
        _ => None,
    }
}

/// Regex rules: matches over the raw text, no parse.
fn run_regexes(file: &SourceFile, set: &RuleSet<'_>, active: &[bool], out: &mut Vec<RawFinding>) {
    for (ri, rule) in set.rules.iter().enumerate() {
        let RuleKind::Regex(matchers) = &rule.kind else {
            continue;
        };
        if !active[ri] {
            continue;
        }
        for m in matchers {
            for caps in m.regex.captures_iter(&file.text) {
                let group = |name: &str| {
                    if name == "0" {
                        caps.get(0)
                    } else {
                        caps.name(name)
                    }
                };
                let Some(report) = group(&m.report) else {
                    continue;
                };
                let ok = m.predicates.iter().all(|p| {
                    let target = match &p.capture {
                        Some(c) => group(c),
                        None => Some(report),
                    };
                    target.is_some_and(|t| p.eval_text(t.as_str()) == Some(true))
                });
                if !ok {
                    continue;
                }
                let message = render(&rule.message, |var| group(var).map(|g| short(g.as_str())));
                out.push(RawFinding {
                    rule: ri,
                    start: report.start(),
                    end: report.end(),
                    message,
                    trace: Vec::new(),
                    confidence: None,
                    in_test: false,
                });
            }
        }
    }
}

/// Byte ranges the query runs over: the whole tree (`None`), or when some line is longer
/// than [`LONG_LINE`], the runs of top-level statements that hold no such line.
struct QueryRanges {
    ranges: Vec<Option<std::ops::Range<usize>>>,
    skipped: Option<(usize, usize)>,
}

fn query_ranges(tree: &Tree, text: &str) -> QueryRanges {
    let mut long = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.len() > LONG_LINE {
            long.push((start, start + line.len()));
        }
        start += line.len();
    }
    if long.is_empty() {
        return QueryRanges {
            ranges: vec![None],
            skipped: None,
        };
    }
    let root = tree.root_node();
    let mut ranges = Vec::new();
    let mut skipped = None;
    let mut run: Option<std::ops::Range<usize>> = None;
    let mut cursor = root.walk();
    for child in root.children(&mut cursor) {
        let (s, e) = (child.start_byte(), child.end_byte());
        if let Some(&(ls, le)) = long.iter().find(|&&(ls, le)| ls < e && s < le) {
            if skipped.is_none() {
                skipped = Some((child.start_position().row + 1, le - ls));
            }
            ranges.extend(run.take().map(Some));
        } else {
            run = Some(match run {
                Some(r) => r.start..e,
                None => s..e,
            });
        }
    }
    ranges.extend(run.map(Some));
    QueryRanges { ranges, skipped }
}

#[allow(clippy::too_many_arguments)]
fn run_queries(
    file: &SourceFile,
    set: &RuleSet<'_>,
    lang_rules: &crate::rules::LangRules,
    active: &[bool],
    tree: &Tree,
    facts: &Facts,
    range: Option<std::ops::Range<usize>>,
    out: &mut Vec<RawFinding>,
) {
    let Some(compiled) = lang_rules.query() else {
        return;
    };
    let query = &compiled.query;
    let names = query.capture_names();
    let mut cursor = QueryCursor::new();
    cursor.set_match_limit(MATCH_LIMIT);
    // Patterns start at most this deep: real code nests a few dozen levels; generated
    // code nesting thousands deep (a chain of 100,000 calls) would otherwise keep a state
    // in progress per level and make the traversal quadratic.
    cursor.set_max_start_depth(Some(MAX_START_DEPTH));
    if let Some(r) = range {
        cursor.set_byte_range(r);
    }
    let mut matches = cursor.matches(query, tree.root_node(), file.text.as_bytes());
    while let Some(m) = matches.next() {
        let (ri, mi) = compiled.pattern_owner[m.pattern_index];
        if !active[ri] {
            continue;
        }
        let rule = set.rules[ri];
        let RuleKind::Query(matchers) = &rule.kind else {
            continue;
        };
        let matcher = &matchers[mi];
        let capture = |name: &str| {
            m.captures()
                .iter()
                .find(|c| names[c.index as usize] == name)
                .map(|c| c.node)
        };
        let Some(report) = capture(&matcher.report) else {
            continue;
        };
        let ok = matcher.predicates.iter().all(|p| {
            let target = match &p.capture {
                Some(c) => capture(c),
                None => Some(report),
            };
            target.is_some_and(|node| p.eval(node, &file.text, facts))
        });
        if !ok {
            continue;
        }
        let message = render(&rule.message, |var| {
            capture(var).map(|n| short(n.utf8_text(file.text.as_bytes()).unwrap_or("")))
        });
        out.push(RawFinding {
            rule: ri,
            start: report.start_byte(),
            end: report.end_byte(),
            message,
            trace: Vec::new(),
            confidence: None,
            in_test: false,
        });
    }
}

fn to_raw(rule: usize, template: &str, hit: Hit) -> RawFinding {
    let message = render(template, |var| {
        hit.vars
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| short(v))
    });
    RawFinding {
        rule,
        start: hit.start,
        end: hit.end,
        message,
        trace: hit
            .trace
            .into_iter()
            .map(|(start, end, label)| RawStep { start, end, label })
            .collect(),
        confidence: hit.confidence,
        in_test: false,
    }
}

/// First line of a value, clipped, for use inside a one-line message.
fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 80 {
        let mut out: String = line.chars().take(80).collect();
        out.push('…');
        out
    } else if s.contains('\n') {
        format!("{line}…")
    } else {
        line.to_string()
    }
}

/// Fills `{name}` placeholders; unknown names are left as written.
pub fn render(template: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                let name = &after[..close];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn first_error_line(tree: &Tree, file: &SourceFile) -> Option<usize> {
    let mut cursor = tree.root_node().walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            return Some(file.line_col(node.start_byte()).0);
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn render_fills_known_placeholders() {
        let s = render("`{callee}` has no {what} {x y}", |k| match k {
            "callee" => Some("requests.get".into()),
            _ => None,
        });
        assert_eq!(s, "`requests.get` has no {what} {x y}");
    }
}
