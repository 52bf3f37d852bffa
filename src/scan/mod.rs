//! A whole scan: walk, read, analyse in parallel, then collect findings into their
//! canonical order. The result is the same whatever the thread count.

pub mod baseline;
pub mod cache;
pub mod config;
pub mod diff;
pub mod engine;
pub mod filter;
pub mod inventory;
pub mod peer;
pub mod report;
pub mod scope;
pub mod suppress;
pub mod walk;

use crate::scan::cache::{Cache, CrossHit, FileFacts, LazySummary};
use crate::source::content_hash;
use crate::source::context::CodeKind;

use crate::model::pyindex::CallStats;
use crate::model::summary::{self, FileSummary};
use crate::rules::finding::{self, Finding};
use crate::rules::{Layer, RuleSet, Severity};
use crate::scan::suppress::Directive;
use crate::scan::walk::{Candidate, WalkOptions};
use crate::source::lang::Lang;
use crate::source::{ReadOutcome, SourceFile};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub walk: WalkOptions,
    pub max_file_size: u64,
    /// Directory of the per-file result cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
}

/// A file strata could not read or analyse fully. Never fatal.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScanError {
    pub path: String,
    /// `skipped` (binary, too large, invalid UTF-8), `io`, or `syntax` (analysed anyway).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files_scanned: usize,
    pub files_by_language: BTreeMap<&'static str, usize>,
    pub files_skipped: usize,
    pub rules_run: usize,
    pub findings: usize,
    pub by_layer: BTreeMap<&'static str, usize>,
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Findings not reported because a suppression comment or `per-file-ignores` covers them.
    pub suppressed: usize,
    /// With `--baseline`: findings not reported because the baseline has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_baseline: Option<usize>,
    /// With `--diff`: findings not reported because no line of theirs changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_diff: Option<usize>,
    /// Findings the scope leaves out (test code, scripts, migrations that already ran,
    /// below the minimum confidence), by reason; see `scan::scope`.
    #[serde(skip_serializing_if = "not_reported_is_empty")]
    pub not_reported: scope::NotReported,
    /// The Python project index's call graph: call sites, how many resolved (present when a
    /// selected rule reads the index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_graph: Option<crate::model::pyindex::CallStats>,
    /// The Rust crate index's call graph, counted the same way (present when a selected
    /// Rust rule reads the index and the tree has Rust functions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_call_graph: Option<crate::model::pyindex::CallStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Debug)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub summary: Summary,
    /// Source of the files with findings, for code frames.
    pub sources: BTreeMap<String, String>,
    /// Suppression comments of every scanned file that has any, by path.
    pub directives: BTreeMap<String, Vec<Directive>>,
    /// What was examined, for the audit report (`strata report`).
    pub audit: AuditFacts,
}

/// What a scan examined besides its findings: the audit report's evidence for what the
/// code does right.
#[derive(Debug, Clone, Default)]
pub struct AuditFacts {
    /// Sites each rule's check examined and passed, summed over the scanned files, by rule
    /// id (rules that counted nothing are left out).
    pub examined: BTreeMap<String, crate::checks::Tally>,
    /// Lines of the scanned files, by language.
    pub lines_by_language: BTreeMap<&'static str, usize>,
    /// The route inventory composed from the files' web summaries (when a selected rule
    /// needs it, as AUTH006 does).
    pub routes: Vec<crate::model::routes::Row>,
}

struct FileResult {
    rel: String,
    lang: Lang,
    abs: PathBuf,
    summary: LazySummary,
    /// Content hash of the file (when the cache is on and the file was analysed).
    hash: Option<String>,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    directives: Vec<Directive>,
    scanned: bool,
    lines: usize,
    tallies: Vec<(usize, crate::checks::Tally)>,
}

pub fn run(opts: &ScanOptions, rules: &RuleSet<'_>) -> Result<ScanResult, String> {
    run_with(opts, rules, |_| true)
}

/// Like [`run`], scanning only the walked files `keep` accepts (the configuration's
/// `exclude`, which is anchored at the configuration file rather than at each path).
pub fn run_with(
    opts: &ScanOptions,
    rules: &RuleSet<'_>,
    keep: impl Fn(&Candidate) -> bool,
) -> Result<ScanResult, String> {
    let started = Instant::now();
    // The cache is read while the tree is walked: the two do not depend on each other.
    let (walked, cache) = std::thread::scope(|s| {
        let opening = opts
            .cache_dir
            .as_deref()
            .map(|d| s.spawn(move || Cache::open(d, rules)));
        let walked = walk::walk(&opts.paths, &opts.walk);
        (walked, opening.and_then(|h| h.join().ok()))
    });
    let (mut candidates, walk_errors) = walked?;
    candidates.retain(|c| keep(c));
    let vendored = if opts.walk.include_vendored {
        Vec::new()
    } else {
        walk::vendored_dirs(&candidates, &rules.kind_roots)
    };
    // The packages and modules a vendored directory ships, with the directory that holds
    // it: imports of them from the code around it are satisfied.
    let mut vendored_tops: Vec<(String, String)> = candidates
        .iter()
        .filter_map(|c| {
            let (d, _) = vendored
                .iter()
                .find(|(d, _)| c.rel.starts_with(d.as_str()))?;
            let entry = c.rel[d.len()..].split('/').next()?;
            let parent = d
                .trim_end_matches('/')
                .rsplit_once('/')
                .map_or("", |(p, _)| p);
            let top = entry.strip_suffix(".py").unwrap_or(entry).to_string();
            Some((parent.to_string(), top))
        })
        .collect();
    vendored_tops.sort();
    vendored_tops.dedup();
    candidates.retain(|c| !vendored.iter().any(|(d, _)| c.rel.starts_with(d.as_str())));
    let results: Vec<FileResult> = candidates
        .par_iter()
        .map(|c| scan_file(c, opts.max_file_size, rules, cache.as_ref()))
        .collect();
    let caching = cache.is_some();
    if let Some(cache) = cache {
        cache.save();
    }
    // The cross-file pass depends only on the scanned files' contents: a stored result
    // under the same key stands for it.
    let cross_pass = !rules.repo.is_empty() || !rules.index.is_empty();
    let cross_key = match (&opts.cache_dir, caching && cross_pass) {
        (Some(_), true) => results
            .iter()
            .filter(|r| r.scanned)
            .map(|r| r.hash.as_deref().map(|h| (r.rel.as_str(), h)))
            .collect::<Option<Vec<_>>>()
            .map(|files| {
                let shipped = vendored_tops.iter().map(|(d, t)| (d.as_str(), t.as_str()));
                cache::cross_key(rules, files.into_iter().chain(shipped))
            }),
        _ => None,
    };
    let stored_cross = match (&opts.cache_dir, &cross_key) {
        (Some(dir), Some(key)) => cache::load_cross(dir, key),
        _ => None,
    };
    let mut results = results;
    if cross_pass && stored_cross.is_none() {
        results.par_iter_mut().for_each(|r| {
            let s = std::mem::take(&mut r.summary);
            r.summary = LazySummary::Ready(Box::new(s.decode()));
        });
    }

    let mut findings = Vec::new();
    let mut errors: Vec<ScanError> = walk_errors
        .into_iter()
        .map(|e| ScanError {
            path: e.path,
            kind: "io".into(),
            line: None,
            message: e.message,
        })
        .collect();
    let mut by_lang: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut scanned = 0;
    let mut skipped = 0;
    let mut directives = BTreeMap::new();
    let mut summaries = Vec::with_capacity(if cross_pass { results.len() } else { 0 });
    let mut paths: Vec<(String, Lang, PathBuf)> = Vec::new();
    let mut audit = AuditFacts::default();
    for r in results {
        for (ri, t) in &r.tallies {
            audit
                .examined
                .entry(rules.rules[*ri].id.clone())
                .or_default()
                .add(*t);
        }
        if r.scanned && cross_pass && stored_cross.is_none() {
            summaries.push((
                r.rel.clone(),
                r.lang,
                r.summary.decode_boxed(),
                r.abs.clone(),
            ));
        }
        if r.scanned {
            paths.push((r.rel.clone(), r.lang, r.abs));
        }
        if r.scanned {
            scanned += 1;
            *by_lang.entry(r.lang.name()).or_insert(0) += 1;
            *audit.lines_by_language.entry(r.lang.name()).or_insert(0) += r.lines;
        } else {
            skipped += 1;
        }
        if !r.directives.is_empty() {
            directives.insert(r.rel, r.directives);
        }
        findings.extend(r.findings);
        errors.extend(r.errors);
    }
    let cross = match stored_cross {
        Some(c) => c,
        None => {
            let (index, adjust, (call_graph, rust_call_graph)) =
                index_hits(rules, &summaries, &paths, &findings);
            let web = if rules.web {
                summaries
                    .iter()
                    .filter_map(|(rel, _, s, _)| s.web.clone().map(|w| (rel.clone(), w)))
                    .collect()
            } else {
                Vec::new()
            };
            let cross = cache::Cross {
                key: cross_key.clone().unwrap_or_default(),
                index,
                repo: repo_hits(rules, summaries, &vendored_tops),
                call_graph,
                rust_call_graph,
                web,
                adjust,
            };
            if let (Some(dir), Some(_)) = (&opts.cache_dir, &cross_key) {
                cache::save_cross(dir, &cross);
            }
            cross
        }
    };
    apply_adjustments(&mut findings, &cross.adjust);
    if rules.web {
        audit.routes = crate::model::routes::inventory(&cross.web);
    }
    findings.extend(locate_index_hits(rules, &paths, &cross.index));
    findings.extend(locate_repo_hits(rules, &paths, &cross.repo));
    let (call_graph, rust_call_graph) = (cross.call_graph, cross.rust_call_graph);
    finding::finalise(&mut findings);
    errors.sort();
    let mut summary = summarise(&findings, scanned, skipped, by_lang, rules.rules.len());
    summary.call_graph = call_graph;
    summary.rust_call_graph = rust_call_graph;
    let mut sources = BTreeMap::new();
    for f in &findings {
        if !sources.contains_key(&f.path) {
            if let Some(c) = candidates.iter().find(|c| c.rel == f.path) {
                if let Ok(text) = std::fs::read(&c.abs) {
                    sources.insert(f.path.clone(), String::from_utf8_lossy(&text).into_owned());
                }
            }
        }
    }
    summary.duration_ms = Some(started.elapsed().as_millis() as u64);
    summary.not_reported.vendored_files = vendored.iter().map(|(_, n)| n).sum();
    summary.not_reported.vendored_dirs = vendored.into_iter().map(|(d, _)| d).collect();
    for c in &candidates {
        match rules.code_kind(&c.rel) {
            CodeKind::Test if !rules.include_tests => summary.not_reported.test_files += 1,
            CodeKind::Script if !rules.include_scripts => summary.not_reported.script_files += 1,
            _ => {}
        }
    }
    Ok(ScanResult {
        findings,
        errors,
        summary,
        sources,
        directives,
        audit,
    })
}

/// Runs the repository checks over every file's summary; the hits come out in the order
/// their findings are made in (by path, then rule, then as the check reported them).
fn repo_hits(
    rules: &RuleSet<'_>,
    summaries: Vec<(String, Lang, Box<FileSummary>, PathBuf)>,
    vendored: &[(String, String)],
) -> Vec<CrossHit> {
    if rules.repo.is_empty() {
        return Vec::new();
    }
    // The summaries move into the context (a copy of every summary would double the
    // memory the repository pass holds).
    let files: Vec<(String, Lang, Box<FileSummary>)> = summaries
        .into_iter()
        .map(|(rel, lang, s, _)| (rel, lang, s))
        .collect();
    let ctx = summary::RepoContext {
        files: &files,
        vendored,
    };
    let mut by_path: BTreeMap<String, Vec<(usize, crate::checks::RepoHit)>> = BTreeMap::new();
    for &ri in &rules.repo {
        let crate::rules::RuleKind::Repo(check) = rules.rules[ri].kind else {
            continue;
        };
        let mut hits = Vec::new();
        (check.run)(&ctx, &mut hits);
        for h in hits {
            by_path.entry(h.path.clone()).or_default().push((ri, h));
        }
    }
    let mut out = Vec::new();
    for (path, hits) in by_path {
        for (ri, h) in hits {
            let rule = rules.rules[ri];
            if rule
                .exclude_paths
                .as_ref()
                .is_some_and(|g| g.is_match(&path))
            {
                continue;
            }
            out.push(CrossHit {
                rule: rule.id.clone(),
                path: path.clone(),
                start: h.at.start,
                end: h.at.end,
                message: with_vars(&rule.message, &h.vars),
                confidence: h.confidence,
                trace: Vec::new(),
            });
        }
    }
    out
}

/// Reads and decodes a scanned file again to locate a cross-file finding in it.
fn load_scanned(paths: &[(String, Lang, PathBuf)], path: &str) -> Option<SourceFile> {
    let (rel, lang, abs) = paths.iter().find(|p| p.0 == path)?;
    let bytes = std::fs::read(abs).ok()?;
    match SourceFile::decode(rel.clone(), *lang, bytes) {
        ReadOutcome::Ok(f) => Some(f),
        ReadOutcome::Skipped(_) => None,
    }
}

fn rule_index(rules: &RuleSet<'_>, id: &str) -> Option<usize> {
    rules.rules.iter().position(|r| r.id == id)
}

fn raw_of(ri: usize, h: &CrossHit) -> finding::RawFinding {
    finding::RawFinding {
        rule: ri,
        start: h.start,
        end: h.end,
        message: h.message.clone(),
        trace: Vec::new(),
        confidence: h.confidence,
        in_test: false,
    }
}

/// The repository checks' findings, located in their files.
fn locate_repo_hits(
    rules: &RuleSet<'_>,
    paths: &[(String, Lang, PathBuf)],
    hits: &[CrossHit],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut file: Option<(&str, Option<SourceFile>)> = None;
    for h in hits {
        if file.as_ref().is_none_or(|(p, _)| *p != h.path) {
            file = Some((h.path.as_str(), load_scanned(paths, &h.path)));
        }
        let (Some((_, Some(f))), Some(ri)) = (&file, rule_index(rules, &h.rule)) else {
            continue;
        };
        out.push(Finding::new(&raw_of(ri, h), rules.rules[ri], f));
    }
    out
}

/// A rule's message with a check's values for its placeholders.
fn with_vars(template: &str, vars: &[(&'static str, String)]) -> String {
    engine::render(template, |var| {
        vars.iter().find(|(k, _)| *k == var).map(|(_, v)| v.clone())
    })
}

/// Builds the Python project index from the files' parts and runs the rules' index checks;
/// their findings carry traces across files.
/// The Python and the Rust call graph's counts.
type CallGraphs = (Option<CallStats>, Option<CallStats>);

fn index_hits(
    rules: &RuleSet<'_>,
    summaries: &[(String, Lang, Box<FileSummary>, PathBuf)],
    paths: &[(String, Lang, PathBuf)],
    findings: &[Finding],
) -> (Vec<CrossHit>, Vec<cache::Adjust>, CallGraphs) {
    if rules.index.is_empty() {
        return (Vec::new(), Vec::new(), (None, None));
    }
    let mut parts: Vec<(&str, &crate::model::pyindex::FilePart)> = summaries
        .iter()
        .filter_map(|(rel, _, s, _)| s.pyindex.as_ref().map(|p| (rel.as_str(), p)))
        .collect();
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let mut index = crate::model::pyindex::ProjectIndex::build(&parts);
    for (_, lang, s, _) in summaries {
        if *lang != Lang::Sql {
            continue;
        }
        for t in &s.tables {
            index.add_unique(&t.name.name, &t.unique);
        }
    }
    if rules.rust_index {
        let mut rparts: Vec<(&str, &crate::model::rsindex::FilePart)> = summaries
            .iter()
            .filter_map(|(rel, _, s, _)| s.rsindex.as_ref().map(|p| (rel.as_str(), p)))
            .collect();
        rparts.sort_by(|a, b| a.0.cmp(b.0));
        index.rust = crate::model::rsindex::CrateIndex::build(&rparts);
    }
    let mut out = Vec::new();
    let adjust = adjustments(rules, &index, paths, findings);
    for &ri in &rules.index {
        let rule = rules.rules[ri];
        let Some(check) = rule.index_check else {
            continue;
        };
        let mut hits = Vec::new();
        check(&index, &mut hits);
        for h in hits {
            if rule
                .exclude_paths
                .as_ref()
                .is_some_and(|g| g.is_match(&h.path))
            {
                continue;
            }
            out.push(CrossHit {
                rule: rule.id.clone(),
                message: with_vars(&rule.message, &h.vars),
                path: h.path,
                start: h.start,
                end: h.end,
                confidence: h.confidence,
                trace: h.trace,
            });
        }
    }
    let rust_stats = Some(index.rust.stats).filter(|s| s.calls > 0);
    (out, adjust, (Some(index.stats), rust_stats))
}

/// What the index changes in the per-file findings: a rule's `index_refine` re-rates a
/// finding (a race in code only start-up calls), its `index_vet` withdraws or demotes one the
/// index shows to be handled elsewhere.
fn adjustments(
    rules: &RuleSet<'_>,
    index: &crate::model::pyindex::ProjectIndex,
    paths: &[(String, Lang, PathBuf)],
    findings: &[Finding],
) -> Vec<cache::Adjust> {
    let mut refines = BTreeMap::new();
    let mut vets = BTreeMap::new();
    for &ri in &rules.index {
        let r = rules.rules[ri];
        if let Some(f) = r.index_refine {
            refines.insert(r.id.as_str(), f);
        }
        if let Some(v) = r.index_vet {
            vets.insert(r.id.as_str(), v);
        }
    }
    let mut out = Vec::new();
    if refines.is_empty() && vets.is_empty() {
        return out;
    }
    let mut files: BTreeMap<&str, Option<SourceFile>> = BTreeMap::new();
    for f in findings {
        let (refine, vet) = (refines.get(f.rule.as_str()), vets.get(f.rule.as_str()));
        if refine.is_none() && vet.is_none() {
            continue;
        }
        let file = files
            .entry(f.path.as_str())
            .or_insert_with(|| load_scanned(paths, &f.path));
        let Some(file) = file else { continue };
        let start = file.line_start(f.line);
        let mut to = f.confidence;
        if let Some(c) = refine.and_then(|refine| refine(index, &f.path, start)) {
            to = to.min(c);
        }
        let mut withdrawn = false;
        if let (Some(vet), true) = (vet, f.path.ends_with(".py")) {
            let at = file.text[start..]
                .char_indices()
                .nth(f.column.saturating_sub(1))
                .map_or(file.text.len(), |(i, _)| start + i);
            match vet(index, &f.path, &file.text, at) {
                crate::checks::Vet::Keep => {}
                crate::checks::Vet::Withdraw => withdrawn = true,
                crate::checks::Vet::Demote(c) => to = to.min(c),
            }
        }
        if withdrawn || to != f.confidence {
            out.push(cache::Adjust {
                rule: f.rule.clone(),
                path: f.path.clone(),
                line: f.line,
                column: f.column,
                to: (!withdrawn).then_some(to),
            });
        }
    }
    out
}

/// Applies the index's adjustments (fresh or from the cache) to the per-file findings.
fn apply_adjustments(findings: &mut Vec<Finding>, adjust: &[cache::Adjust]) {
    if adjust.is_empty() {
        return;
    }
    let by: BTreeMap<(&str, &str, usize, usize), Option<crate::rules::Confidence>> = adjust
        .iter()
        .map(|a| ((a.rule.as_str(), a.path.as_str(), a.line, a.column), a.to))
        .collect();
    findings.retain_mut(
        |f| match by.get(&(f.rule.as_str(), f.path.as_str(), f.line, f.column)) {
            None => true,
            Some(None) => false,
            Some(Some(c)) => {
                f.confidence = *c;
                true
            }
        },
    );
}

/// The index checks' findings, located in their files with their traces.
fn locate_index_hits(
    rules: &RuleSet<'_>,
    paths: &[(String, Lang, PathBuf)],
    hits: &[CrossHit],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut files: BTreeMap<String, Option<SourceFile>> = BTreeMap::new();
    let load = |files: &mut BTreeMap<String, Option<SourceFile>>, path: &str| -> bool {
        if !files.contains_key(path) {
            files.insert(path.to_string(), load_scanned(paths, path));
        }
        files.get(path).is_some_and(|f| f.is_some())
    };
    for h in hits {
        if !h.trace.iter().all(|(p, ..)| load(&mut files, p)) || !load(&mut files, &h.path) {
            continue;
        }
        let (Some(Some(file)), Some(ri)) = (files.get(&h.path), rule_index(rules, &h.rule)) else {
            continue;
        };
        let mut f = Finding::new(&raw_of(ri, h), rules.rules[ri], file);
        f.trace = h
            .trace
            .iter()
            .filter_map(|(p, start, _, label)| {
                let file = files.get(p)?.as_ref()?;
                Some(finding::TraceStep::at(file, *start, label, true))
            })
            .collect();
        out.push(f);
    }
    out
}

/// Scans source text given directly (stdin, tests) as if it were the file `rel`.
pub fn scan_text(rel: &str, lang: Lang, text: String, rules: &RuleSet<'_>) -> Vec<Finding> {
    let file = SourceFile::new(rel.to_string(), lang, text);
    let outcome = engine::analyze(&file, rules);
    let mut findings = to_findings(&outcome, rules, &file);
    finding::finalise(&mut findings);
    findings
}

/// A whole scan of one in-memory file (`--stdin-filename`), shaped like [`run`]'s result.
pub fn run_text(rel: &str, lang: Lang, bytes: Vec<u8>, rules: &RuleSet<'_>) -> ScanResult {
    let started = Instant::now();
    let mut errors = Vec::new();
    let mut findings = Vec::new();
    let mut directives = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut by_lang = BTreeMap::new();
    match SourceFile::decode(rel.to_string(), lang, bytes) {
        ReadOutcome::Ok(file) => {
            *by_lang.entry(lang.name()).or_insert(0) += 1;
            let outcome = engine::analyze(&file, rules);
            errors = outcome_errors(&outcome, rel, lang);
            findings = to_findings(&outcome, rules, &file);
            finding::finalise(&mut findings);
            let found = suppress::directives(&file.text, lang);
            if !found.is_empty() {
                directives.insert(rel.to_string(), found);
            }
            sources.insert(rel.to_string(), file.text);
        }
        ReadOutcome::Skipped(reason) => errors.push(ScanError {
            path: rel.to_string(),
            kind: "skipped".into(),
            line: None,
            message: reason,
        }),
    }
    let scanned = by_lang.values().sum();
    let mut summary = summarise(&findings, scanned, 1 - scanned, by_lang, rules.rules.len());
    summary.duration_ms = Some(started.elapsed().as_millis() as u64);
    ScanResult {
        findings,
        errors,
        summary,
        sources,
        directives,
        audit: AuditFacts::default(),
    }
}

fn scan_file(
    c: &Candidate,
    max_size: u64,
    rules: &RuleSet<'_>,
    cache: Option<&Cache>,
) -> FileResult {
    let mut result = FileResult {
        rel: c.rel.clone(),
        lang: c.lang,
        abs: c.abs.clone(),
        summary: LazySummary::default(),
        hash: None,
        findings: Vec::new(),
        errors: Vec::new(),
        directives: Vec::new(),
        scanned: false,
        lines: 0,
        tallies: Vec::new(),
    };
    let err = |kind: &str, line: Option<usize>, message: String| ScanError {
        path: c.rel.clone(),
        kind: kind.into(),
        line,
        message,
    };
    if c.size > max_size {
        result.errors.push(err(
            "skipped",
            None,
            format!(
                "file is {} bytes, over the {} byte limit (--max-file-size)",
                c.size, max_size
            ),
        ));
        return result;
    }
    let stat = trusted_stat(c);
    let mut stored = cache.and_then(|cache| cache.take(&c.rel));
    if let (Some(cache), Some(entry)) = (cache, stored.take_if(|e| e.holds_unread(stat))) {
        if let Some(outcome) = entry.outcome(rules) {
            // Unchanged since the cached run, and nothing in the outcome quotes its text.
            result.scanned = true;
            result.errors = outcome_errors(&outcome, &c.rel, c.lang);
            result.summary = entry.summary.clone();
            result.hash = Some(entry.hash.clone());
            result.tallies = outcome.tallies;
            result.lines = entry.lines;
            cache.keep(&c.rel, entry, false);
            return result;
        }
    }
    let bytes = match std::fs::read(&c.abs) {
        Ok(b) => b,
        Err(e) => {
            result
                .errors
                .push(err("io", None, format!("cannot read: {e}")));
            return result;
        }
    };
    let hash = cache.map(|_| content_hash(&bytes));
    let file = match SourceFile::decode(c.rel.clone(), c.lang, bytes) {
        ReadOutcome::Ok(f) => f,
        ReadOutcome::Skipped(reason) => {
            result.errors.push(err("skipped", None, reason));
            return result;
        }
    };
    result.scanned = true;
    result.directives = suppress::directives(&file.text, file.lang);
    result.lines = file.lines();
    let facts = hash.map(|hash| FileFacts {
        hash,
        stat,
        lines: result.lines,
        directives: !result.directives.is_empty(),
    });
    result.hash = facts.as_ref().map(|f| f.hash.clone());
    let cached = match (cache, stored, &facts) {
        (Some(cache), Some(mut entry), Some(facts)) if entry.hash == facts.hash => {
            let outcome = entry.outcome(rules);
            if outcome.is_some() {
                result.summary = entry.summary.clone();
                let updated = entry.stat != facts.stat || entry.lines != facts.lines;
                entry.stat = facts.stat;
                entry.lines = facts.lines;
                entry.directives = facts.directives;
                cache.keep(&c.rel, entry, updated);
            }
            outcome
        }
        _ => None,
    };
    // A cached outcome's summary is the entry's (set above); a fresh one's is the analysis'.
    let fresh = cached.is_none();
    let outcome = match cached {
        Some(o) => o,
        None => {
            // A defect in one check must not take the whole scan down: the file is listed
            // in `errors` and the other files are reported as usual.
            let analysed =
                std::panic::catch_unwind(AssertUnwindSafe(|| engine::analyze(&file, rules)));
            let o = match analysed {
                Ok(o) => o,
                Err(payload) => {
                    result
                        .errors
                        .push(err("internal", None, internal_error_message(&*payload)));
                    return result;
                }
            };
            if let (Some(cache), Some(facts)) = (cache, facts) {
                cache.put(&c.rel, facts, &o, rules);
            }
            o
        }
    };
    result.errors = outcome_errors(&outcome, &c.rel, c.lang);
    result.findings = to_findings(&outcome, rules, &file);
    if fresh {
        result.summary = LazySummary::Ready(Box::new(outcome.summary));
    }
    result.tallies = outcome.tallies;
    result
}

/// The `errors` entries an analysis outcome implies (syntax errors, parts not parsed).
fn outcome_errors(outcome: &engine::FileOutcome, rel: &str, lang: Lang) -> Vec<ScanError> {
    let err = |line: Option<usize>, kind: &str, message: String| ScanError {
        path: rel.to_string(),
        kind: kind.into(),
        line,
        message,
    };
    let mut out = Vec::new();
    if let Some(line) = outcome.syntax_error_line {
        out.push(err(Some(line), "syntax", syntax_message(lang).into()));
    }
    if outcome.too_large_to_parse {
        out.push(err(None, "skipped", too_large_message()));
    }
    if let Some((line, len)) = outcome.skipped_statement {
        out.push(err(Some(line), "skipped", skipped_statement_message(len)));
    }
    out
}

/// The file's size and modification time when a later run may trust them to mean "not
/// changed": known, and at least two seconds old, so that a write within the same clock
/// tick as this run's read is ruled out. Otherwise `(0, 0)`, and the next run reads and
/// hashes the file.
fn trusted_stat(c: &Candidate) -> (u64, u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    if c.mtime_ns == 0 || c.mtime_ns.saturating_add(2_000_000_000) > now {
        (0, 0)
    } else {
        (c.size, c.mtime_ns)
    }
}

/// The `errors` message for a file whose analysis panicked.
fn internal_error_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    format!(
        "internal error while analysing this file, no findings for it (please report it): {what}"
    )
}

fn to_findings(
    outcome: &engine::FileOutcome,
    rules: &RuleSet<'_>,
    file: &SourceFile,
) -> Vec<Finding> {
    let mut findings = outcome
        .findings
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            Finding::new(raw, rules.rules[raw.rule], file)
                .with_statement(file, outcome.statements.get(i).copied().flatten())
        })
        .collect::<Vec<_>>();
    if file.lang == Lang::Python {
        peer::acknowledge(&mut findings, file);
    }
    findings
}

/// Counts for the summary; called again after filtering so it describes what is reported.
fn too_large_message() -> String {
    format!(
        "larger than the {} MiB parse limit: only the rules that need no parse (secrets) ran",
        engine::PARSE_LIMIT >> 20
    )
}

fn skipped_statement_message(len: usize) -> String {
    format!(
        "statement with a {len}-byte line (generated data?) not matched by the query rules; \
         the rest of the file was analysed"
    )
}

fn not_reported_is_empty(n: &scope::NotReported) -> bool {
    n.total() == 0
}

pub fn summarise(
    findings: &[Finding],
    scanned: usize,
    skipped: usize,
    files_by_language: BTreeMap<&'static str, usize>,
    rules_run: usize,
) -> Summary {
    let mut by_layer: BTreeMap<&'static str, usize> =
        Layer::ALL.iter().map(|l| (l.id(), 0)).collect();
    let mut by_severity: BTreeMap<&'static str, usize> =
        Severity::ALL.iter().map(|s| (s.name(), 0)).collect();
    for f in findings {
        *by_layer.entry(f.layer.id()).or_insert(0) += 1;
        *by_severity.entry(f.severity.name()).or_insert(0) += 1;
    }
    Summary {
        files_scanned: scanned,
        files_by_language,
        files_skipped: skipped,
        rules_run,
        findings: findings.len(),
        by_layer,
        by_severity,
        suppressed: 0,
        in_baseline: None,
        outside_diff: None,
        not_reported: scope::NotReported::default(),
        call_graph: None,
        rust_call_graph: None,
        duration_ms: None,
    }
}

/// What a syntax error means for the scan of a file of this language.
fn syntax_message(lang: Lang) -> &'static str {
    match lang {
        Lang::Manifest => {
            "invalid TOML: this manifest's dependencies are not read, so the dependency rules (SEC011, SEC012) do not see them"
        }
        _ => "syntax error; the rest of the file was still analysed",
    }
}
