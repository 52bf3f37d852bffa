//! Per-file result cache keyed by content hash, so a repeated local run re-parses only
//! the files that changed. Results are stored before filtering (suppressions, baselines
//! and severity thresholds apply afterwards), so a cached run reports exactly what a fresh
//! one would.
//!
//! An entry also records the file's size and modification time: when both are unchanged
//! (and were old enough to trust when stored) and the outcome needs nothing from the
//! file's text, the file is not read at all.
//!
//! The cache is one JSON file under `.strata-cache/`; it is discarded whole when the rule
//! set or the strata binary changes. Entries are decoded lazily, each on the thread that
//! scans its file. Any problem reading or writing it only disables it.

use crate::checks::Tally;
use crate::model::summary::FileSummary;
use crate::rules::finding::{RawFinding, RawStep};
use crate::rules::RuleSet;
use crate::scan::engine::FileOutcome;
use crate::source::content_hash;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE_NAME: &str = "results-v1.json";
/// The cross-file results (index and repository findings) of the last run, see [`Cross`].
const CROSS_NAME: &str = "cross-v1.json";

/// A file's summary as the cache holds it: decoded when the run needs it (the repository
/// pass, when no stored cross-file result fits), kept as its JSON text otherwise.
#[derive(Debug, Clone)]
pub enum LazySummary {
    Ready(Box<FileSummary>),
    Raw(Box<RawValue>),
}

impl Default for LazySummary {
    fn default() -> Self {
        LazySummary::Ready(Box::default())
    }
}

impl LazySummary {
    fn is_empty(&self) -> bool {
        matches!(self, LazySummary::Ready(s) if s.is_empty())
    }

    /// The summary, decoded and kept boxed: the repository pass holds every file's, and
    /// a list of them inline would hold (and, growing, copy) a kilobyte per file.
    pub fn decode_boxed(self) -> Box<FileSummary> {
        match self {
            LazySummary::Ready(s) => s,
            raw => Box::new(raw.decode()),
        }
    }

    /// The summary, decoded (a text that no longer decodes is an empty summary).
    pub fn decode(self) -> FileSummary {
        match self {
            LazySummary::Ready(s) => *s,
            LazySummary::Raw(r) => {
                let mut s: FileSummary = serde_json::from_str(r.get()).unwrap_or_default();
                // Decoded names are a copy per mention: share them as a fresh part does.
                if let Some(p) = s.pyindex.as_mut() {
                    p.compact();
                }
                s
            }
        }
    }
}

impl Serialize for LazySummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LazySummary::Ready(x) => x.serialize(s),
            LazySummary::Raw(r) => r.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for LazySummary {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(LazySummary::Raw)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Content hash of the file's bytes.
    pub hash: String,
    pub syntax_error_line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_statement: Option<(usize, usize)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_large_to_parse: bool,
    pub findings: Vec<CachedFinding>,
    #[serde(default)]
    pub statements: Vec<Option<(usize, usize)>>,
    #[serde(default, skip_serializing_if = "LazySummary::is_empty")]
    pub summary: LazySummary,
    /// Sites each check examined and passed (rule id, counts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tallies: Vec<(String, Tally)>,
    /// Size and modification time (ns) the file had when it was analysed; `(0, 0)` when
    /// they are not to be trusted (unknown, or too recent to rule out a later write in the
    /// same clock tick).
    #[serde(default)]
    pub stat: (u64, u64),
    /// Number of lines of the file.
    #[serde(default)]
    pub lines: usize,
    /// Whether the file holds a suppression comment (then its text is read on every run).
    #[serde(default)]
    pub directives: bool,
}

/// What the cache needs to know about a file besides its analysis.
pub struct FileFacts {
    pub hash: String,
    /// Trusted size and modification time, or `(0, 0)`.
    pub stat: (u64, u64),
    pub lines: usize,
    pub directives: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedFinding {
    pub rule: String,
    pub start: usize,
    pub end: usize,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<(usize, usize, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<crate::rules::Confidence>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_test: bool,
}

#[derive(Serialize)]
struct Stored {
    key: String,
    entries: HashMap<String, Entry>,
}

/// The stored file as read: each entry is decoded only when its file is scanned, on the
/// worker thread that scans it.
#[derive(Deserialize)]
struct StoredRaw {
    key: String,
    entries: HashMap<String, Box<RawValue>>,
}

pub struct Cache {
    dir: PathBuf,
    key: String,
    old: Mutex<HashMap<String, Box<RawValue>>>,
    new: Mutex<HashMap<String, Entry>>,
    /// Whether an entry was added or replaced in this run (else, with every old entry
    /// seen again, the stored cache is already what `save` would write).
    changed: std::sync::atomic::AtomicBool,
}

/// What the cached results depend on: this binary and the rules that ran.
fn cache_key(rules: &RuleSet<'_>) -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{mtime}", m.len())
        })
        .unwrap_or_default();
    let mut ids = format!(
        "{:?}{:?};tests={},scripts={};roots={:?};index={},{};",
        rules.taint.sources,
        rules.taint.sanitizers,
        rules.include_tests,
        rules.include_scripts,
        rules.kind_roots,
        rules.index.len(),
        rules.rust_index
    );
    for r in &rules.rules {
        ids.push_str(&r.id);
        ids.push(':');
        ids.push_str(&r.digest);
        ids.push(',');
    }
    format!(
        "{}|{exe}|{}",
        env!("CARGO_PKG_VERSION"),
        content_hash(ids.as_bytes())
    )
}

impl Cache {
    /// Opens (or starts) the cache in `dir`; never fails: a cache that cannot be read is
    /// simply empty.
    pub fn open(dir: &Path, rules: &RuleSet<'_>) -> Cache {
        let key = cache_key(rules);
        let old = std::fs::read(dir.join(FILE_NAME))
            .ok()
            .and_then(|b| serde_json::from_slice::<StoredRaw>(&b).ok())
            .filter(|s| s.key == key)
            .map(|s| s.entries)
            .unwrap_or_default();
        Cache {
            dir: dir.to_path_buf(),
            key,
            old: Mutex::new(old),
            new: Mutex::new(HashMap::new()),
            changed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Takes the stored entry of `path` (each path is asked for once per run); an entry
    /// that cannot be decoded is no entry.
    pub fn take(&self, path: &str) -> Option<Entry> {
        let raw = self.old.lock().ok()?.remove(path)?;
        serde_json::from_str(raw.get()).ok()
    }

    /// Keeps a stored entry that still holds (a hit), to be written back by `save`;
    /// `updated` when its file's size, time or line count changed.
    pub fn keep(&self, path: &str, entry: Entry, updated: bool) {
        if updated {
            self.changed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.remember(path, entry);
    }

    pub fn put(&self, path: &str, facts: FileFacts, outcome: &FileOutcome, rules: &RuleSet<'_>) {
        let entry = Entry {
            hash: facts.hash,
            stat: facts.stat,
            lines: facts.lines,
            directives: facts.directives,
            syntax_error_line: outcome.syntax_error_line,
            skipped_statement: outcome.skipped_statement,
            too_large_to_parse: outcome.too_large_to_parse,
            findings: outcome
                .findings
                .iter()
                .map(|f| CachedFinding {
                    rule: rules.rules[f.rule].id.clone(),
                    start: f.start,
                    end: f.end,
                    message: f.message.clone(),
                    trace: f
                        .trace
                        .iter()
                        .map(|s| (s.start, s.end, s.label.clone()))
                        .collect(),
                    confidence: f.confidence,
                    in_test: f.in_test,
                })
                .collect(),
            statements: outcome.statements.clone(),
            summary: LazySummary::Ready(Box::new(outcome.summary.clone())),
            tallies: outcome
                .tallies
                .iter()
                .map(|(ri, t)| (rules.rules[*ri].id.clone(), *t))
                .collect(),
        };
        self.changed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.remember(path, entry);
    }

    fn remember(&self, path: &str, entry: Entry) {
        if let Ok(mut new) = self.new.lock() {
            new.insert(path.to_string(), entry);
        }
    }

    /// Writes the entries seen in this run (files no longer scanned drop out). Errors are
    /// ignored: the cache is an optimisation.
    pub fn save(self) {
        let entries = match self.new.into_inner() {
            Ok(e) => e,
            Err(_) => return,
        };
        // Nothing added or replaced and no stored entry left unseen: the file on disk
        // already holds exactly these entries.
        let unseen = self.old.into_inner().map_or(1, |o| o.len());
        if !self.changed.into_inner() && unseen == 0 && !entries.is_empty() {
            return;
        }
        let stored = Stored {
            key: self.key,
            entries,
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let _ = std::fs::write(self.dir.join(".gitignore"), "# created by strata\n*\n");
        let Ok(bytes) = serde_json::to_vec(&stored) else {
            return;
        };
        let tmp = self
            .dir
            .join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, self.dir.join(FILE_NAME));
        }
    }
}

impl Entry {
    /// Whether the entry can stand for its file without the file being read: the file's
    /// size and time are trusted and unchanged, and nothing in the outcome needs its text
    /// (findings quote the code; suppression comments are read from it).
    pub fn holds_unread(&self, stat: (u64, u64)) -> bool {
        stat != (0, 0) && self.stat == stat && self.findings.is_empty() && !self.directives
    }

    /// The outcome the entry stores, with rule indices of `rules` (`None` when a rule it
    /// names is no longer in the set); its summary is left empty (see `Entry::summary`).
    pub fn outcome(&self, rules: &RuleSet<'_>) -> Option<FileOutcome> {
        outcome_of(self, rules)
    }
}

fn outcome_of(entry: &Entry, rules: &RuleSet<'_>) -> Option<FileOutcome> {
    let mut findings = Vec::with_capacity(entry.findings.len());
    for f in &entry.findings {
        let rule = rules.rules.iter().position(|r| r.id == f.rule)?;
        findings.push(RawFinding {
            rule,
            start: f.start,
            end: f.end,
            message: f.message.clone(),
            trace: f
                .trace
                .iter()
                .map(|(start, end, label)| RawStep {
                    start: *start,
                    end: *end,
                    label: label.clone(),
                })
                .collect(),
            confidence: f.confidence,
            in_test: f.in_test,
        });
    }
    let mut tallies = Vec::with_capacity(entry.tallies.len());
    for (id, t) in &entry.tallies {
        tallies.push((rules.rules.iter().position(|r| &r.id == id)?, *t));
    }
    Some(FileOutcome {
        tallies,
        findings,
        parsed: false,
        syntax_error_line: entry.syntax_error_line,
        skipped_statement: entry.skipped_statement,
        too_large_to_parse: entry.too_large_to_parse,
        statements: entry.statements.clone(),
        // The summary stays in the entry, to be decoded only if the run needs it.
        summary: FileSummary::default(),
    })
}

/// A located cross-file finding before it is located: what the index and repository
/// checks reported (message rendered, trace steps with their files).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossHit {
    pub rule: String,
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<crate::rules::Confidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<(String, usize, usize, String)>,
}

/// What the repository pass computed from every file's summary: it depends on nothing
/// else, so a run whose files all have the contents of the stored run (same paths, same
/// hashes, same rules and binary) takes it as it is instead of building the index again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cross {
    pub key: String,
    pub index: Vec<CrossHit>,
    pub repo: Vec<CrossHit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_graph: Option<crate::model::pyindex::CallStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust_call_graph: Option<crate::model::pyindex::CallStats>,
    /// The web summaries the route inventory is composed from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub web: Vec<(String, crate::model::routes::WebSummary)>,
    /// What the index changed in the per-file findings (withdrawn or demoted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjust: Vec<Adjust>,
}

/// A per-file finding the project index re-judged: withdrawn (`to` is `None`) or demoted to
/// the confidence `to`. Findings are named by rule, path, line and column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Adjust {
    pub rule: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<crate::rules::Confidence>,
}

/// The key of a cross-file result: the rules and binary, and every scanned file's path and
/// content hash in scan order.
pub fn cross_key<'a>(
    rules: &RuleSet<'_>,
    files: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut all = cache_key(rules);
    for (path, hash) in files {
        all.push('\n');
        all.push_str(path);
        all.push('\0');
        all.push_str(hash);
    }
    content_hash(all.as_bytes())
}

/// The stored cross-file result when its key is `key`.
pub fn load_cross(dir: &Path, key: &str) -> Option<Cross> {
    let bytes = std::fs::read(dir.join(CROSS_NAME)).ok()?;
    serde_json::from_slice::<Cross>(&bytes)
        .ok()
        .filter(|c| c.key == key)
}

/// Stores a cross-file result (errors ignored: the cache is an optimisation).
pub fn save_cross(dir: &Path, cross: &Cross) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let _ = std::fs::write(dir.join(".gitignore"), "# created by strata\n*\n");
    let Ok(bytes) = serde_json::to_vec(cross) else {
        return;
    };
    let tmp = dir.join(format!("{CROSS_NAME}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(CROSS_NAME));
    }
}
