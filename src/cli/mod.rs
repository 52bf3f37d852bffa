//! Command-line interface (clap derive).

pub mod format;

pub use crate::scan::config::FailOn;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `strata --version`: the version, the commit it was built from ("unknown" outside a git
/// checkout) and the digest of the embedded rule files (see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("STRATA_GIT_COMMIT"),
    ", rules ",
    env!("STRATA_RULES_DIGEST"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version = VERSION,
    about = "Static audit scanner for Python, Rust and SQL services",
    long_about = "strata audits a repository in five layers: API surface, auth & ownership, \
                  data integrity, error handling and security. Exit codes: 0 nothing at or \
                  above --fail-on, 1 findings, 2 usage, configuration or I/O error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan paths (default: the current directory) and report findings.
    Scan(ScanArgs),
    /// Record the current findings so that later scans with --baseline report only new ones.
    Baseline(BaselineArgs),
    /// Write a commented starter configuration file (never overwrites).
    Init {
        /// File to create.
        #[arg(default_value = "strata.toml")]
        path: PathBuf,
    },
    /// List the rules.
    Rules(RulesArgs),
    /// List the web routes (FastAPI, Flask, axum, actix-web) with their full path, auth, rate limit and
    /// ownership check.
    Routes(RoutesArgs),
    /// Write the audit report: disposition, scorecard per layer with maturity levels,
    /// positive controls with evidence, routes, findings with why and fix, and a
    /// remediation queue (Markdown, self-contained HTML or JSON).
    Report(ReportArgs),
    /// Print a rule's documentation: what it finds, why it matters, how to fix it.
    Explain {
        /// Rule id, e.g. ERR001.
        id: String,
        /// Load extra rule files from this directory.
        #[arg(long = "rules", value_name = "DIR")]
        rules_dirs: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Jsonl,
    Sarif,
    Github,
    Junit,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

/// What decides which findings exist: shared by `scan` and `baseline`, so that a baseline
/// records exactly what the same scan would report.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Use this configuration file (strata.toml, or a pyproject.toml with [tool.strata])
    /// instead of searching upward from the first path.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long)]
    pub no_config: bool,
    /// Only these rule ids or layer ids (comma-separated or repeated); replaces the
    /// configuration's `select`.
    #[arg(long, value_delimiter = ',', value_name = "ID|LAYER")]
    pub select: Vec<String>,
    /// Skip these rule ids or layer ids (comma-separated or repeated); adds to the
    /// configuration's `ignore`.
    #[arg(long, value_delimiter = ',', value_name = "ID|LAYER")]
    pub ignore: Vec<String>,
    /// Skip paths matching this glob (repeatable); adds to the configuration's `exclude`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not respect .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Load extra rule files from this directory (repeatable); adds to the configuration's
    /// `rules`.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,
    /// Files larger than this many bytes are skipped (default: 2 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Do not read or write the result cache (`.strata-cache/` in the working directory),
    /// which lets a repeated run re-analyse only the files that changed.
    #[arg(long)]
    pub no_cache: bool,
    /// Analyse each file on its own, without the project index: no findings that cross
    /// functions or files, and per-file findings are not re-judged by what their callers
    /// and callees do. Faster and lighter on very large repositories.
    #[arg(long)]
    pub no_index: bool,
    /// Also report findings in test code (tests/, test_*.py, conftest.py, #[cfg(test)]).
    #[arg(long)]
    pub include_tests: bool,
    /// Also report findings in scripts, examples and docs (scripts/, dev/, tools/,
    /// examples/, docs/, seeding scripts).
    #[arg(long)]
    pub include_scripts: bool,
    /// Also scan vendored copies of other projects' packages (a `lib/`, `vendor/` or
    /// `third_party/` directory of well-known third-party packages), skipped by default.
    #[arg(long)]
    pub include_vendored: bool,
    /// Report findings in every migration, not only the newest of each migration
    /// directory (older ones already ran), rollbacks included.
    #[arg(long)]
    pub all_migrations: bool,
    /// Report only findings at or above this confidence (default: medium; `low` adds
    /// pattern-only guesses).
    #[arg(long, value_enum, value_name = "CONFIDENCE")]
    pub min_confidence: Option<ConfidenceArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    Low,
    Medium,
    High,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report only findings at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<SeverityArg>,
    /// Exit 1 when a finding at or above this severity is reported (default: low).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Report only findings that are not in this baseline file (see `strata baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report only findings on lines added or changed since this git revision.
    #[arg(long, value_name = "REV")]
    pub diff: Option<String>,
    /// Scan DIR as the context and report only findings in the PATHs given, so that
    /// cross-file rules see the whole tree; for hooks that pass the staged files:
    /// `strata scan --context . a.py b.py`.
    #[arg(long, value_name = "DIR", conflicts_with = "stdin_filename")]
    pub context: Option<PathBuf>,
    /// Read the source from stdin; NAME gives its language and the path in the report.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,
    /// Include suppressed findings, marked with `"suppressed"` and the reason.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Report `strata: ignore[...]` comments that suppress nothing, and fail on them.
    #[arg(long)]
    pub report_unused_suppressions: bool,
    /// Markdown format: prefix for file links, e.g.
    /// "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/blob/$GITHUB_SHA".
    #[arg(long, value_name = "URL")]
    pub link_base: Option<String>,
    /// Leave `summary.duration_ms` out of JSON so that repeated runs are byte-identical.
    #[arg(long)]
    pub no_timing: bool,
    /// Print nothing but the report (no summary on stderr).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A previous JSON report (`--format json`): the report then says what is new, what
    /// was fixed and how the scorecard changed since.
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Baseline file to write.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "strata-baseline.json"
    )]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Only rules of this layer.
    #[arg(long, value_name = "LAYER")]
    pub layer: Option<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Load extra rule files from this directory (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutesFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct RoutesArgs {
    /// Files or directories to read.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = RoutesFormat::Human)]
    pub format: RoutesFormat,
    /// Skip paths matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not respect .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
}
