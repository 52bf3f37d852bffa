//! `strata report`: the audit report built from one scan. A disposition from explicit
//! thresholds, a scorecard per audit layer (plus CI and supply chain) with a maturity level
//! from a printed rubric, positive controls with their evidence (what the checks examined
//! and how much of it passed), the route inventory in brief, the findings with why and fix,
//! a remediation queue, and with a previous JSON report what changed.
//!
//! The model is built here and serialised as the JSON format; `cli/format/report.rs`
//! renders it as Markdown or HTML. Everything is ordered (vectors in a fixed order, maps
//! sorted), so the same tree gives the same bytes at any thread count.

use crate::checks::Tally;
use crate::model::routes::Row;
use crate::rules::finding::Finding;
use crate::rules::{Confidence, Layer, Rule, RuleSet, Severity};
use crate::scan::config::ReportConfig;
use crate::scan::ScanResult;
use crate::source::context::{migration_unit, CodeKind};
use crate::source::lang::Lang;
use crate::source::re;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const SCHEMA: &str = "strata-report/1";

/// Pass rates are rated from this many examined sites of a dimension up.
pub const MIN_SITES: u32 = 5;

/// An audit dimension: the five layers and CI / supply chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dim {
    Layer(Layer),
    Ci,
}

impl Dim {
    pub const ALL: [Dim; 6] = [
        Dim::Layer(Layer::ApiSurface),
        Dim::Layer(Layer::Auth),
        Dim::Layer(Layer::Integrity),
        Dim::Layer(Layer::ErrorHandling),
        Dim::Layer(Layer::Security),
        Dim::Ci,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Dim::Layer(l) => l.id(),
            Dim::Ci => "ci-supply-chain",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Dim::Layer(Layer::ApiSurface) => "API surface",
            Dim::Layer(Layer::Auth) => "Auth & ownership",
            Dim::Layer(Layer::Integrity) => "Data integrity",
            Dim::Layer(Layer::ErrorHandling) => "Error handling & reliability",
            Dim::Layer(Layer::Security) => "Security",
            Dim::Ci => "CI & supply chain",
        }
    }

    /// The dimension of a rule: CI and supply chain for rules over workflows and
    /// dependency manifests only, else the rule's layer.
    pub fn of_rule(rule: &Rule) -> Dim {
        if !rule.languages.is_empty()
            && rule
                .languages
                .iter()
                .all(|l| matches!(l, Lang::Workflow | Lang::Manifest))
        {
            Dim::Ci
        } else {
            Dim::Layer(rule.layer)
        }
    }
}

/// The whole report; its serialisation is the JSON format (`docs/report-schema.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub header: Header,
    pub disposition: Disposition,
    pub scorecard: Vec<ScoreRow>,
    pub rubric: Vec<RubricRow>,
    pub controls: Vec<Control>,
    pub routes: RouteSummary,
    pub findings: Vec<ReportFinding>,
    pub queue_rules: Vec<String>,
    pub queue: Vec<QueueItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// The name in the title: `[report] project`, else the last part of `repository`.
    pub project: String,
    /// `remote.origin.url` without credentials, else the repository's directory name.
    pub repository: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: Option<bool>,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`: `SOURCE_DATE_EPOCH` when set, else the time of the run.
    pub date: String,
    pub strata_version: &'static str,
    /// Hash of the ids and texts of the rules that ran.
    pub ruleset_digest: String,
    pub rules_run: usize,
    pub paths: Vec<String>,
    pub files: BTreeMap<String, LangCount>,
    pub files_skipped: usize,
    pub exclusions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LangCount {
    pub files: usize,
    pub lines: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Disposition {
    /// `ship`, `ship-with-conditions` or `do-not-ship`.
    pub verdict: &'static str,
    pub reasons: Vec<String>,
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub block_severity: Severity,
    pub block_public_severity: Severity,
    pub block_level: u8,
    pub condition_severity: Severity,
    pub condition_level: u8,
}

impl Thresholds {
    pub fn from_config(c: &ReportConfig) -> Thresholds {
        Thresholds {
            block_severity: c.block_severity.unwrap_or(Severity::Critical),
            block_public_severity: c.block_public_severity.unwrap_or(Severity::High),
            block_level: c.block_level.as_ref().map_or(0, |l| *l.get_ref()),
            condition_severity: c.condition_severity.unwrap_or(Severity::High),
            condition_level: c.condition_level.as_ref().map_or(2, |l| *l.get_ref()),
        }
    }

    /// The thresholds as sentences, in the order they are applied.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "Do not ship: any finding at or above {} severity.",
                self.block_severity
            ),
            format!(
                "Do not ship: any finding at or above {} severity in an unauthenticated route handler.",
                self.block_public_severity
            ),
            if self.block_level == 0 {
                "Do not ship on a level alone (block-level = 0).".to_string()
            } else {
                format!(
                    "Do not ship: any scorecard dimension at L{} or below.",
                    self.block_level
                )
            },
            format!(
                "Ship with conditions: any finding at or above {} severity, or any dimension at L{} or below.",
                self.condition_severity, self.condition_level
            ),
            "Ship: none of the above.".to_string(),
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    pub dimension: &'static str,
    pub title: &'static str,
    pub level: u8,
    /// Why this level: the rubric row that applied.
    pub basis: String,
    pub findings: BTreeMap<&'static str, usize>,
    pub examined: u32,
    pub passed: u32,
    /// Ids of the controls whose counts are the evidence.
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RubricRow {
    pub level: u8,
    pub name: &'static str,
    pub rule: &'static str,
}

pub const RUBRIC: [RubricRow; 5] = [
    RubricRow {
        level: 1,
        name: "absent",
        rule: "a critical finding, or under 50% of the examined sites pass (rates count from 5 examined sites)",
    },
    RubricRow {
        level: 2,
        name: "ad hoc",
        rule: "a high finding, or under 80% of the examined sites pass",
    },
    RubricRow {
        level: 3,
        name: "deliberate",
        rule: "a medium finding, under 95% of the examined sites pass, or fewer than 5 sites examined (too little evidence)",
    },
    RubricRow {
        level: 4,
        name: "consistent",
        rule: "only low findings, or some examined site fails",
    },
    RubricRow {
        level: 5,
        name: "governed",
        rule: "no finding and every examined site passes",
    },
];

/// A positive control: a property the code should have everywhere, with the number of
/// sites examined for it and how many have it.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    pub id: &'static str,
    pub dimension: &'static str,
    /// The property, stated as a claim.
    pub claim: &'static str,
    pub examined: u32,
    pub passed: u32,
    /// `holds` (every examined site passes), `partial`, or `not-examined`.
    pub status: &'static str,
    /// "42 outbound HTTP calls examined, 40 with a timeout".
    pub evidence: String,
    /// What counted: rule ids, or `route inventory`.
    pub source: Vec<&'static str>,
}

struct ControlDef {
    id: &'static str,
    dim: Dim,
    claim: &'static str,
    noun: &'static str,
    passed: &'static str,
    rules: &'static [&'static str],
}

/// Controls counted by checks (`FileContext::examined`).
const RULE_CONTROLS: &[ControlDef] = &[
    ControlDef {
        id: "http-timeouts",
        dim: Dim::Layer(Layer::ErrorHandling),
        claim: "Outbound HTTP calls set a timeout",
        noun: "outbound HTTP calls",
        passed: "with a timeout",
        rules: &["ERR001", "ERR101"],
    },
    ControlDef {
        id: "sql-parameterised",
        dim: Dim::Layer(Layer::Security),
        claim: "SQL is parameterised: no value is spliced into SQL text",
        noun: "SQL executions with readable text",
        passed: "parameterised or constant",
        rules: &["SEC027"],
    },
    ControlDef {
        id: "insert-conflicts",
        dim: Dim::Layer(Layer::Integrity),
        claim: "Inserts of natural keys on request paths handle conflicts",
        noun: "natural-key INSERTs on request paths",
        passed: "with ON CONFLICT or a caught uniqueness error",
        rules: &["DATA001"],
    },
    ControlDef {
        id: "concurrent-indexes",
        dim: Dim::Layer(Layer::Integrity),
        claim: "Migrations build indexes on existing tables concurrently",
        noun: "indexes on existing tables in migrations",
        passed: "built CONCURRENTLY",
        rules: &["DATA004"],
    },
    ControlDef {
        id: "actions-pinned",
        dim: Dim::Ci,
        claim: "Third-party workflow actions are pinned to commit SHAs",
        noun: "third-party action references",
        passed: "pinned to a full commit SHA or image digest",
        rules: &["SEC007"],
    },
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteSummary {
    pub total: usize,
    pub authenticated: usize,
    pub unauthenticated: usize,
    pub rate_limited: usize,
    /// Routes addressing a resource by id: `yes` ownership checked, `no`, `n.a.`.
    pub ownership: BTreeMap<String, usize>,
    pub by_framework: BTreeMap<String, usize>,
    pub unauthenticated_writes: Vec<RouteRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteRef {
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    pub file: String,
    pub line: usize,
    /// Public by its name (login, signup, token, webhook, health...): listed, not counted
    /// against the write-route control.
    pub public_by_design: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportFinding {
    /// `F-0001`, in report order (dimension, then severity, then path and line).
    pub id: String,
    pub rule: String,
    pub name: String,
    pub dimension: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub message: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub fingerprint: String,
    /// `public-route`, `route`, `service`, `migration`, `ci`, `dependencies`, `config`.
    pub exposure: &'static str,
    /// The route whose handler holds the finding, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Numbered source lines around the finding.
    pub frame: Vec<FrameLine>,
    pub why: String,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameLine {
    pub line: usize,
    pub text: String,
    /// One of the finding's own lines.
    pub hit: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    /// `R-01`, in the suggested order of work.
    pub id: String,
    /// `P0` (blocks shipping) to `P3`.
    pub priority: &'static str,
    /// severity × confidence × exposure, highest of the item's findings (see `queue_rules`).
    pub score: u32,
    pub rule: String,
    pub title: String,
    pub dimension: &'static str,
    /// The files of its findings.
    pub paths: Vec<String>,
    /// `S` (one or two sites in one file), `M` (up to ten in up to five files), `L` (more).
    pub effort: &'static str,
    pub fix: String,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub previous_commit: Option<String>,
    pub previous_date: Option<String>,
    pub new: Vec<String>,
    /// Findings of the previous report no longer found: `RULE path:line message`.
    pub fixed: Vec<String>,
    pub unchanged: usize,
    /// Dimension id -> [previous level, level now].
    pub levels: BTreeMap<String, [u8; 2]>,
}

/// What the report is built from besides the scan.
pub struct Inputs<'a> {
    pub paths: &'a [std::path::PathBuf],
    pub thresholds: Thresholds,
    /// `[report] project`: the name in the title.
    pub project: Option<String>,
    pub exclusions: Vec<String>,
    pub include_tests: bool,
    pub include_scripts: bool,
    /// A previous report's JSON (`--previous`).
    pub previous: Option<serde_json::Value>,
}

pub fn build(result: &ScanResult, set: &RuleSet<'_>, inputs: Inputs<'_>) -> Report {
    let start = inputs
        .paths
        .first()
        .map_or_else(|| Path::new(".").to_path_buf(), Clone::clone);
    let header = header(result, set, &inputs, &start);
    let rows: Vec<&Row> = result
        .audit
        .routes
        .iter()
        .filter(|r| !r.dev_only)
        .filter(|r| match set.code_kind(&r.file) {
            CodeKind::Production => true,
            CodeKind::Test => inputs.include_tests,
            CodeKind::Script => inputs.include_scripts,
        })
        .collect();
    let routes = route_summary(&rows);
    let controls = controls(result, &rows, set);
    let rule_of = |id: &str| set.rules.iter().find(|r| r.id == id).copied();
    let dim_of = |f: &Finding| rule_of(&f.rule).map_or(Dim::Layer(f.layer), Dim::of_rule);

    // Findings in report order: dimension, severity (highest first), path, line.
    let mut ordered: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    ordered.sort_by(|a, b| {
        (
            dim_of(a),
            std::cmp::Reverse(a.severity),
            &a.path,
            a.line,
            a.column,
            &a.rule,
        )
            .cmp(&(
                dim_of(b),
                std::cmp::Reverse(b.severity),
                &b.path,
                b.line,
                b.column,
                &b.rule,
            ))
    });
    let findings: Vec<ReportFinding> = ordered
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (exposure, route) = exposure(f, &rows);
            let rule = rule_of(&f.rule);
            ReportFinding {
                id: format!("F-{:04}", i + 1),
                rule: f.rule.clone(),
                name: f.name.clone(),
                dimension: dim_of(f).id(),
                severity: f.severity,
                confidence: f.confidence,
                message: f.message.clone(),
                path: f.path.clone(),
                line: f.line,
                column: f.column,
                fingerprint: f.fingerprint.clone(),
                exposure,
                route,
                frame: frame(result.sources.get(&f.path).map(String::as_str), f),
                why: rule.map_or_else(String::new, |r| r.docs.why.trim().to_string()),
                fix: rule.map_or_else(String::new, |r| r.docs.fix.trim().to_string()),
            }
        })
        .collect();

    let scorecard: Vec<ScoreRow> = Dim::ALL
        .iter()
        .map(|&d| score_row(d, &findings, &controls))
        .collect();
    let disposition = disposition(&inputs.thresholds, &findings, &scorecard);
    let queue = queue(&findings, &inputs.thresholds, set);
    let trend = inputs
        .previous
        .as_ref()
        .map(|p| trend(p, &findings, &scorecard));
    Report {
        schema: SCHEMA,
        header,
        disposition,
        scorecard,
        rubric: RUBRIC.to_vec(),
        controls,
        routes,
        findings,
        queue_rules: queue_rules(&inputs.thresholds),
        queue,
        trend,
    }
}

// ---------------------------------------------------------------------------------------
// Header

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The last part of a repository URL or path, without `.git`: `strata` for
/// `https://github.com/acme/strata.git` or `git@github.com:acme/strata`.
fn project_name(repository: &str) -> String {
    let last = repository
        .trim_end_matches('/')
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or(repository);
    let name = last.strip_suffix(".git").unwrap_or(last);
    if name.is_empty() {
        repository.to_string()
    } else {
        name.to_string()
    }
}

fn header(result: &ScanResult, set: &RuleSet<'_>, inputs: &Inputs<'_>, start: &Path) -> Header {
    let dir = if start.is_dir() {
        start.to_path_buf()
    } else {
        start
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf)
    };
    let top = git(&dir, &["rev-parse", "--show-toplevel"]);
    let repository = git(&dir, &["config", "--get", "remote.origin.url"])
        .filter(|u| !u.is_empty())
        .map(|u| strip_credentials(&u))
        .or_else(|| {
            top.as_deref()
                .and_then(|t| Path::new(t).file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| {
            dir.canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| ".".into())
        });
    let commit = top.as_ref().and_then(|_| git(&dir, &["rev-parse", "HEAD"]));
    let branch = commit
        .as_ref()
        .and_then(|_| git(&dir, &["rev-parse", "--abbrev-ref", "HEAD"]));
    let dirty = commit.as_ref().and_then(|_| {
        git(
            &dir,
            &["status", "--porcelain", "--untracked-files=no", "--", "."],
        )
        .map(|s| !s.is_empty())
    });
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let mut ids = String::new();
    for r in &set.rules {
        ids.push_str(&r.id);
        ids.push(':');
        ids.push_str(&r.digest);
        ids.push(',');
    }
    let mut files: BTreeMap<String, LangCount> = BTreeMap::new();
    for (lang, n) in &result.summary.files_by_language {
        files.entry(lang.to_string()).or_default().files = *n;
    }
    for (lang, n) in &result.audit.lines_by_language {
        files.entry(lang.to_string()).or_default().lines = *n;
    }
    let project = inputs
        .project
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| project_name(&repository));
    Header {
        project,
        repository,
        commit,
        branch,
        dirty,
        date: utc(epoch),
        strata_version: env!("CARGO_PKG_VERSION"),
        ruleset_digest: crate::source::content_hash(ids.as_bytes()),
        rules_run: set.rules.len(),
        paths: inputs
            .paths
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect(),
        files,
        files_skipped: result.summary.files_skipped,
        exclusions: inputs.exclusions.clone(),
    }
}

/// `https://user:token@host/x` -> `https://host/x`.
fn strip_credentials(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------
// Routes and controls

const OWNERSHIP_RULES: &[&str] = &["AUTH004", "AUTH101"];

const WRITE_METHODS: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];

fn is_write(r: &Row) -> bool {
    r.methods
        .iter()
        .any(|m| WRITE_METHODS.contains(&m.to_ascii_uppercase().as_str()))
}

/// Routes that are public by their purpose: signing in, signing up, tokens, password
/// resets, webhooks (verified by signature), OAuth callbacks, health probes.
fn public_by_design(r: &Row) -> bool {
    static PUBLIC: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re::new(
            r"(?i)log_?in|sign_?(in|up)|register|token|password|forgot|reset|verify|webhook|callback|oauth|sso|saml|health|ready|live|ping|csp-report|logout",
        )
        .expect("static regex")
    });
    PUBLIC.is_match(&r.path) || PUBLIC.is_match(&r.handler)
}

fn route_summary(rows: &[&Row]) -> RouteSummary {
    let mut s = RouteSummary {
        total: rows.len(),
        ..RouteSummary::default()
    };
    for r in rows {
        if r.auth.is_some() {
            s.authenticated += 1;
        } else {
            s.unauthenticated += 1;
            if is_write(r) {
                s.unauthenticated_writes.push(RouteRef {
                    methods: r.methods.clone(),
                    path: r.path.clone(),
                    handler: r.handler.clone(),
                    file: r.file.clone(),
                    line: r.line,
                    public_by_design: public_by_design(r),
                });
            }
        }
        if r.rate_limit.is_some() {
            s.rate_limited += 1;
        }
        *s.ownership.entry(r.ownership.clone()).or_default() += 1;
        *s.by_framework.entry(r.framework.clone()).or_default() += 1;
    }
    s
}

fn control(
    id: &'static str,
    dim: Dim,
    claim: &'static str,
    t: Tally,
    noun: &str,
    passed: &str,
    source: Vec<&'static str>,
) -> Control {
    let status = if t.examined == 0 {
        "not-examined"
    } else if t.passed == t.examined {
        "holds"
    } else {
        "partial"
    };
    let evidence = if t.examined == 0 {
        format!("no {noun} found")
    } else {
        format!("{} {noun} examined, {} {passed}", t.examined, t.passed)
    };
    Control {
        id,
        dimension: dim.id(),
        claim,
        examined: t.examined,
        passed: t.passed,
        status,
        evidence,
        source,
    }
}

fn controls(result: &ScanResult, rows: &[&Row], set: &RuleSet<'_>) -> Vec<Control> {
    let mut out = Vec::new();
    // Route controls, from the inventory.
    let tally = |it: &mut dyn Iterator<Item = bool>| {
        let mut t = Tally::default();
        for ok in it {
            t.examined += 1;
            t.passed += u32::from(ok);
        }
        t
    };
    let writes = tally(
        &mut rows
            .iter()
            .filter(|r| is_write(r) && !(r.auth.is_none() && public_by_design(r)))
            .map(|r| r.auth.is_some()),
    );
    out.push(control(
        "write-routes-auth",
        Dim::Layer(Layer::Auth),
        "Every write route requires authentication",
        writes,
        "write routes (POST/PUT/PATCH/DELETE, public-by-design ones aside)",
        "behind authentication",
        vec!["route inventory"],
    ));
    // A route loading a resource by id without comparing its owner in the handler may be
    // protected otherwise (permission dependencies, scoped queries): it fails only when
    // the ownership rules report it.
    let by_id = rows
        .iter()
        .filter(|r| r.ownership == "yes" || r.ownership == "no")
        .count();
    let compared = rows.iter().filter(|r| r.ownership == "yes").count();
    let reported = result
        .findings
        .iter()
        .filter(|f| OWNERSHIP_RULES.contains(&f.rule.as_str()))
        .count();
    let owned = Tally {
        examined: u32::try_from(by_id).unwrap_or(u32::MAX),
        passed: u32::try_from(by_id.saturating_sub(reported)).unwrap_or(u32::MAX),
    };
    let mut c = control(
        "ownership-checks",
        Dim::Layer(Layer::Auth),
        "Routes that address a resource by id check who owns it",
        owned,
        "routes addressing a resource by id",
        "without an ownership finding",
        vec!["route inventory", "AUTH004", "AUTH101"],
    );
    if by_id > 0 {
        c.evidence
            .push_str(&format!(" ({compared} compare the owner in the handler)"));
    }
    out.push(c);
    // Sizes only: an offset, a page number or a cursor has no natural upper bound.
    let pages = tally(
        &mut rows
            .iter()
            .flat_map(|r| r.pagination.iter())
            .filter(|p| {
                let n = p.name.to_ascii_lowercase();
                ![
                    "offset", "skip", "page", "start", "cursor", "after", "before",
                ]
                .contains(&n.as_str())
                    && !n.ends_with("offset")
                    && !n.ends_with("cursor")
            })
            .map(|p| p.max.is_some()),
    );
    out.push(control(
        "bounded-pagination",
        Dim::Layer(Layer::ApiSurface),
        "Page-size parameters have an upper bound",
        pages,
        "page-size parameters of routes",
        "with an upper bound",
        vec!["route inventory"],
    ));
    for def in RULE_CONTROLS {
        let ran: Vec<&'static str> = def
            .rules
            .iter()
            .copied()
            .filter(|id| set.rules.iter().any(|r| r.id == *id))
            .collect();
        if ran.is_empty() {
            continue;
        }
        let mut t = Tally::default();
        for id in &ran {
            if let Some(x) = result.audit.examined.get(*id) {
                t.add(*x);
            }
        }
        out.push(control(
            def.id, def.dim, def.claim, t, def.noun, def.passed, ran,
        ));
    }
    let order = |c: &Control| Dim::ALL.iter().position(|d| d.id() == c.dimension);
    out.sort_by_key(|c| (order(c), c.id));
    out
}

// ---------------------------------------------------------------------------------------
// Findings

/// Where a finding runs, and the route whose handler holds it (by line: a Python handler
/// starts at its route's decorator and ends where the next route of the file starts).
fn exposure(f: &Finding, rows: &[&Row]) -> (&'static str, Option<String>) {
    let lang = Lang::from_path(Path::new(&f.path));
    match lang {
        Some(Lang::Workflow) => return ("ci", None),
        Some(Lang::Manifest) => return ("dependencies", None),
        Some(Lang::Dotenv) => return ("config", None),
        _ => {}
    }
    if migration_unit(&f.path).is_some() || lang == Some(Lang::Sql) {
        return ("migration", None);
    }
    if lang == Some(Lang::Python) {
        let mut here: Vec<&&Row> = rows.iter().filter(|r| r.file == f.path).collect();
        here.sort_by_key(|r| r.line);
        let at = here.iter().rposition(|r| r.line <= f.line);
        if let Some(i) = at {
            let r = here[i];
            let next = here.get(i + 1).map_or(usize::MAX, |n| n.line);
            // Past the last route of a file, only its handler's likely extent counts.
            let within = f.line < next && (i + 1 < here.len() || f.line <= r.line + 80);
            if within {
                let name = format!("{} {}", r.methods.join(","), r.path);
                return (
                    if r.auth.is_none() {
                        "public-route"
                    } else {
                        "route"
                    },
                    Some(name),
                );
            }
        }
    }
    ("service", None)
}

fn frame(source: Option<&str>, f: &Finding) -> Vec<FrameLine> {
    let Some(src) = source else {
        return f
            .snippet
            .lines()
            .enumerate()
            .map(|(i, l)| FrameLine {
                line: f.line + i,
                text: l.to_string(),
                hit: true,
            })
            .collect();
    };
    let last = f.end_line.max(f.line).min(f.line + 6);
    let from = f.line.saturating_sub(2).max(1);
    let to = last + 1;
    src.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(n, _)| *n >= from && *n <= to)
        .map(|(n, l)| FrameLine {
            line: n,
            text: clip(l),
            hit: n >= f.line && n <= last,
        })
        .collect()
}

fn clip(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() > 160 {
        let mut s: String = line.chars().take(160).collect();
        s.push('…');
        s
    } else {
        line.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Scorecard and disposition

fn score_row(d: Dim, findings: &[ReportFinding], controls: &[Control]) -> ScoreRow {
    let mut counts: BTreeMap<&'static str, usize> =
        Severity::ALL.iter().map(|s| (s.name(), 0)).collect();
    for f in findings.iter().filter(|f| f.dimension == d.id()) {
        *counts.entry(f.severity.name()).or_default() += 1;
    }
    let mine: Vec<&Control> = controls.iter().filter(|c| c.dimension == d.id()).collect();
    let examined: u32 = mine.iter().map(|c| c.examined).sum();
    let passed: u32 = mine.iter().map(|c| c.passed).sum();
    let n = |s: Severity| counts[s.name()];
    // Fewer sites than this are too little evidence to rate on: such a dimension is
    // judged by its findings and capped at L3, like one where nothing was examined.
    let pct = if examined < MIN_SITES {
        None
    } else {
        Some(f64::from(passed) * 100.0 / f64::from(examined))
    };
    let rate = pct.map_or(String::new(), |p| {
        format!("{passed}/{examined} examined sites pass ({p:.0}%)")
    });
    let (level, basis) = if n(Severity::Critical) > 0 {
        (1, format!("{} critical finding(s)", n(Severity::Critical)))
    } else if pct.is_some_and(|p| p < 50.0) {
        (1, rate.clone())
    } else if n(Severity::High) > 0 {
        (2, format!("{} high finding(s)", n(Severity::High)))
    } else if pct.is_some_and(|p| p < 80.0) {
        (2, rate.clone())
    } else if n(Severity::Medium) > 0 {
        (3, format!("{} medium finding(s)", n(Severity::Medium)))
    } else if pct.is_none() {
        (
            3,
            if examined == 0 {
                "no finding, but nothing was examined: no evidence for a higher level".to_string()
            } else {
                format!(
                    "no finding, but only {examined} site(s) examined ({passed} pass): too little evidence for a higher level"
                )
            },
        )
    } else if pct.is_some_and(|p| p < 95.0) {
        (3, rate.clone())
    } else if n(Severity::Low) > 0 {
        (4, format!("{} low finding(s); {rate}", n(Severity::Low)))
    } else if passed < examined {
        (4, rate.clone())
    } else {
        (5, format!("no finding; {rate}"))
    };
    ScoreRow {
        dimension: d.id(),
        title: d.title(),
        level,
        basis,
        findings: counts,
        examined,
        passed,
        controls: mine.iter().map(|c| c.id).collect(),
    }
}

fn disposition(t: &Thresholds, findings: &[ReportFinding], card: &[ScoreRow]) -> Disposition {
    let mut block = Vec::new();
    let mut cond = Vec::new();
    let at = |s: Severity| findings.iter().filter(move |f| f.severity >= s);
    let ids = |fs: &[&ReportFinding]| {
        let mut s = fs
            .iter()
            .take(12)
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if fs.len() > 12 {
            s.push_str(", ...");
        }
        s
    };
    let worst: Vec<&ReportFinding> = at(t.block_severity).collect();
    if !worst.is_empty() {
        block.push(format!(
            "{} finding(s) at or above {} severity ({})",
            worst.len(),
            t.block_severity,
            ids(&worst)
        ));
    }
    let public: Vec<&ReportFinding> = at(t.block_public_severity)
        .filter(|f| f.exposure == "public-route")
        .collect();
    if !public.is_empty() {
        block.push(format!(
            "{} finding(s) at or above {} severity in unauthenticated route handlers ({})",
            public.len(),
            t.block_public_severity,
            ids(&public)
        ));
    }
    for row in card {
        if row.level <= t.block_level {
            block.push(format!("{} at L{} ({})", row.title, row.level, row.basis));
        } else if row.level <= t.condition_level {
            cond.push(format!("{} at L{} ({})", row.title, row.level, row.basis));
        }
    }
    let n = at(t.condition_severity).count();
    if n > 0 {
        cond.insert(
            0,
            format!(
                "{n} finding(s) at or above {} severity to fix",
                t.condition_severity
            ),
        );
    }
    let (verdict, reasons) = if !block.is_empty() {
        ("do-not-ship", block)
    } else if !cond.is_empty() {
        ("ship-with-conditions", cond)
    } else {
        ("ship", vec!["no threshold is reached".to_string()])
    };
    Disposition {
        verdict,
        reasons,
        thresholds: *t,
    }
}

// ---------------------------------------------------------------------------------------
// Remediation queue

fn severity_weight(s: Severity) -> u32 {
    match s {
        Severity::Critical => 8,
        Severity::High => 4,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

fn confidence_weight(c: Confidence) -> u32 {
    match c {
        Confidence::High => 3,
        Confidence::Medium => 2,
        Confidence::Low => 1,
    }
}

fn exposure_weight(e: &str) -> u32 {
    match e {
        "public-route" => 4,
        "route" => 3,
        "service" | "ci" | "config" => 2,
        _ => 1,
    }
}

fn queue_rules(t: &Thresholds) -> Vec<String> {
    vec![
        "score = severity (critical 8, high 4, medium 2, low 1) × confidence (high 3, medium 2, low 1) × exposure (public route 4, authenticated route 3, service code, CI or config 2, migration or dependency manifest 1)".to_string(),
        format!(
            "P0: blocks shipping (at or above {} anywhere, or at or above {} in an unauthenticated route handler); P1: high, or score 24 and above; P2: medium; P3: the rest",
            t.block_severity, t.block_public_severity
        ),
        "one item per rule (one root cause, one fix applied everywhere), ordered by priority, then score, then the number of findings".to_string(),
        "effort: S one or two sites in one file, M up to ten sites in up to five files, L more".to_string(),
    ]
}

fn queue(findings: &[ReportFinding], t: &Thresholds, set: &RuleSet<'_>) -> Vec<QueueItem> {
    let mut groups: BTreeMap<&str, Vec<&ReportFinding>> = BTreeMap::new();
    for f in findings {
        groups.entry(&f.rule).or_default().push(f);
    }
    let mut items: Vec<(u8, QueueItem)> = groups
        .into_iter()
        .map(|(rule, fs)| {
            let score = fs
                .iter()
                .map(|f| {
                    severity_weight(f.severity)
                        * confidence_weight(f.confidence)
                        * exposure_weight(f.exposure)
                })
                .max()
                .unwrap_or(0);
            let p = fs
                .iter()
                .map(|f| {
                    if f.severity >= t.block_severity
                        || (f.severity >= t.block_public_severity && f.exposure == "public-route")
                    {
                        0
                    } else if f.severity >= Severity::High || score >= 24 {
                        1
                    } else if f.severity >= Severity::Medium {
                        2
                    } else {
                        3
                    }
                })
                .min()
                .unwrap_or(3);
            let paths: Vec<String> = fs
                .iter()
                .map(|f| f.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let effort = match (fs.len(), paths.len()) {
                (0..=2, 1) => "S",
                (0..=10, 1..=5) => "M",
                _ => "L",
            };
            let r = set.rules.iter().find(|r| r.id == rule);
            (
                p,
                QueueItem {
                    id: String::new(),
                    priority: ["P0", "P1", "P2", "P3"][usize::from(p)],
                    score,
                    rule: rule.to_string(),
                    title: r.map_or_else(|| rule.to_string(), |r| r.summary.trim().to_string()),
                    dimension: fs[0].dimension,
                    paths,
                    effort,
                    fix: fs[0].fix.clone(),
                    findings: fs.iter().map(|f| f.id.clone()).collect(),
                },
            )
        })
        .collect();
    items.sort_by(|(pa, a), (pb, b)| {
        (
            pa,
            std::cmp::Reverse(a.score),
            std::cmp::Reverse(a.findings.len()),
            &a.rule,
        )
            .cmp(&(
                pb,
                std::cmp::Reverse(b.score),
                std::cmp::Reverse(b.findings.len()),
                &b.rule,
            ))
    });
    items
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut it))| {
            it.id = format!("R-{:02}", i + 1);
            it
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Trend

fn trend(prev: &serde_json::Value, findings: &[ReportFinding], card: &[ScoreRow]) -> Trend {
    let before: Vec<&serde_json::Value> = prev["findings"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let key = |rule: &str, path: &str, fp: &str| format!("{rule}\u{0}{path}\u{0}{fp}");
    let old: BTreeSet<String> = before
        .iter()
        .map(|f| {
            key(
                f["rule"].as_str().unwrap_or(""),
                f["path"].as_str().unwrap_or(""),
                f["fingerprint"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let now: BTreeSet<String> = findings
        .iter()
        .map(|f| key(&f.rule, &f.path, &f.fingerprint))
        .collect();
    let new = findings
        .iter()
        .filter(|f| !old.contains(&key(&f.rule, &f.path, &f.fingerprint)))
        .map(|f| f.id.clone())
        .collect();
    let fixed = before
        .iter()
        .filter(|f| {
            !now.contains(&key(
                f["rule"].as_str().unwrap_or(""),
                f["path"].as_str().unwrap_or(""),
                f["fingerprint"].as_str().unwrap_or(""),
            ))
        })
        .map(|f| {
            format!(
                "{} {}:{} {}",
                f["rule"].as_str().unwrap_or("?"),
                f["path"].as_str().unwrap_or("?"),
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    let unchanged = findings
        .iter()
        .filter(|f| old.contains(&key(&f.rule, &f.path, &f.fingerprint)))
        .count();
    let mut levels = BTreeMap::new();
    for row in card {
        let was = prev["scorecard"].as_array().and_then(|a| {
            a.iter()
                .find(|r| r["dimension"].as_str() == Some(row.dimension))
                .and_then(|r| r["level"].as_u64())
        });
        if let Some(was) = was {
            levels.insert(
                row.dimension.to_string(),
                [u8::try_from(was).unwrap_or(0), row.level],
            );
        }
    }
    Trend {
        previous_commit: prev["header"]["commit"].as_str().map(str::to_string),
        previous_date: prev["header"]["date"].as_str().map(str::to_string),
        new,
        fixed,
        unchanged,
        levels,
    }
}

/// Reads a previous report (`--previous`): it must be the JSON of `strata report`.
pub fn read_previous(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a JSON report ({e}); write one with `strata report --format json`",
            path.display()
        )
    })?;
    if v["schema"]
        .as_str()
        .is_none_or(|s| !s.starts_with("strata-report/"))
    {
        return Err(format!(
            "{}: not a strata report (no \"schema\": \"{SCHEMA}\"); write one with `strata report --format json`",
            path.display()
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn credentials_are_dropped_from_remote_urls() {
        assert_eq!(
            strip_credentials("https://x:tok@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:a/b.git"),
            "git@github.com:a/b.git"
        );
    }
}
