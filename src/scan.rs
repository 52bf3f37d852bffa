//! A whole scan: walk, read, analyse in parallel, then collect findings into their
//! canonical order. The result is the same whatever the thread count.

use crate::engine;
use crate::finding::{self, Finding};
use crate::lang::Lang;
use crate::rules::{Layer, RuleSet, Severity};
use crate::source::{ReadOutcome, SourceFile};
use crate::walk::{self, Candidate, WalkOptions};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub walk: WalkOptions,
    pub max_file_size: u64,
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
}

struct FileResult {
    lang: Lang,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    scanned: bool,
}

pub fn run(opts: &ScanOptions, rules: &RuleSet<'_>) -> Result<ScanResult, String> {
    let started = Instant::now();
    let (candidates, walk_errors) = walk::walk(&opts.paths, &opts.walk)?;
    let results: Vec<FileResult> = candidates
        .par_iter()
        .map(|c| scan_file(c, opts.max_file_size, rules))
        .collect();

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
    for r in results {
        if r.scanned {
            scanned += 1;
            *by_lang.entry(r.lang.name()).or_insert(0) += 1;
        } else {
            skipped += 1;
        }
        findings.extend(r.findings);
        errors.extend(r.errors);
    }
    finding::finalise(&mut findings);
    errors.sort();
    let mut summary = summarise(&findings, scanned, skipped, by_lang, rules.rules.len());
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
    Ok(ScanResult {
        findings,
        errors,
        summary,
        sources,
    })
}

/// Scans source text given directly (stdin, tests) as if it were the file `rel`.
pub fn scan_text(rel: &str, lang: Lang, text: String, rules: &RuleSet<'_>) -> Vec<Finding> {
    let file = SourceFile::new(rel.to_string(), lang, text);
    let outcome = engine::analyze(&file, rules);
    let mut findings: Vec<Finding> = outcome
        .findings
        .iter()
        .map(|raw| Finding::new(raw, rules.rules[raw.rule], &file))
        .collect();
    finding::finalise(&mut findings);
    findings
}

fn scan_file(c: &Candidate, max_size: u64, rules: &RuleSet<'_>) -> FileResult {
    let mut result = FileResult {
        lang: c.lang,
        findings: Vec::new(),
        errors: Vec::new(),
        scanned: false,
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
    let bytes = match std::fs::read(&c.abs) {
        Ok(b) => b,
        Err(e) => {
            result
                .errors
                .push(err("io", None, format!("cannot read: {e}")));
            return result;
        }
    };
    let file = match SourceFile::decode(c.rel.clone(), c.lang, bytes) {
        ReadOutcome::Ok(f) => f,
        ReadOutcome::Skipped(reason) => {
            result.errors.push(err("skipped", None, reason));
            return result;
        }
    };
    result.scanned = true;
    let outcome = engine::analyze(&file, rules);
    if let Some(line) = outcome.syntax_error_line {
        result.errors.push(err(
            "syntax",
            Some(line),
            "syntax error; the rest of the file was still analysed".into(),
        ));
    }
    result.findings = outcome
        .findings
        .iter()
        .map(|raw| Finding::new(raw, rules.rules[raw.rule], &file))
        .collect();
    result
}

/// Counts for the summary; called again after filtering so it describes what is reported.
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
        duration_ms: None,
    }
}
