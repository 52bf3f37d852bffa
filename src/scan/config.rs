//! Project configuration: `strata.toml`, or `[tool.strata]` in `pyproject.toml`, found by
//! walking up from the first scan path (or named with `--config`).
//!
//! Unknown keys and bad values are errors that point at the file, line and column: a typo
//! in a configuration file must never silently turn a check off. Rule ids are checked
//! against the registry after it is loaded (`Config::validate`), with the same positions.

pub use crate::model::taint::TaintConfig;
use crate::rules::{Confidence, Layer, Registry, Severity};
use clap::ValueEnum;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::Spanned;

pub const FILE_NAME: &str = "strata.toml";

/// The keys of a configuration, as written (kebab-case).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Rule or layer ids to run (all when empty).
    #[serde(default)]
    pub select: Vec<Spanned<String>>,
    /// Rule or layer ids not to run.
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
    /// Only rules of these layers run (in addition to `select`).
    #[serde(default)]
    pub layers: Vec<Spanned<String>>,
    /// Gitignore-style globs of paths not to scan.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// Glob -> rule or layer ids not reported for matching files.
    #[serde(default)]
    pub per_file_ignores: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// Rule id -> severity used instead of the rule's own.
    #[serde(default)]
    pub severity_overrides: BTreeMap<Spanned<String>, Severity>,
    pub fail_on: Option<FailOn>,
    pub min_severity: Option<Severity>,
    /// Report only findings at or above this confidence (default medium).
    pub min_confidence: Option<Confidence>,
    /// Also report findings in test code.
    #[serde(default)]
    pub include_tests: bool,
    /// Also report findings in scripts, examples and docs.
    #[serde(default)]
    pub include_scripts: bool,
    /// Also scan vendored copies of other projects' packages.
    #[serde(default)]
    pub include_vendored: bool,
    /// Report migration-safety findings in every migration, not only the newest.
    #[serde(default)]
    pub all_migrations: bool,
    pub max_file_size: Option<u64>,
    /// Extra rule directories, relative to the configuration file.
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub taint: TaintConfig,
    /// Thresholds of `strata report`'s disposition.
    #[serde(default)]
    pub report: ReportConfig,
}

/// `[report]`: when `strata report` says do not ship, or ship with conditions. Every
/// threshold is printed in the report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    /// The name the report's title gives the audited system (default: the repository
    /// name from `remote.origin.url`, else the name of the repository's directory).
    pub project: Option<String>,
    /// Do not ship with a finding at or above this severity anywhere (default critical).
    pub block_severity: Option<Severity>,
    /// Do not ship with a finding at or above this severity in an unauthenticated route
    /// handler (default high).
    pub block_public_severity: Option<Severity>,
    /// Do not ship with a scorecard layer at or below this level (default 0: off).
    pub block_level: Option<Spanned<u8>>,
    /// Ship with conditions with a finding at or above this severity (default high).
    pub condition_severity: Option<Severity>,
    /// Ship with conditions with a scorecard layer at or below this level (default 2).
    pub condition_level: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
struct Pyproject {
    #[serde(default)]
    tool: Option<PyTool>,
}

#[derive(Debug, Deserialize)]
struct PyTool {
    strata: Option<ConfigFile>,
}

/// A loaded configuration and where it came from.
#[derive(Debug, Default)]
pub struct Config {
    /// The file, or `None` when no configuration was found or `--no-config` was given.
    pub path: Option<PathBuf>,
    /// The directory relative paths in the file are resolved against.
    pub dir: PathBuf,
    pub file: ConfigFile,
    text: String,
}

/// A configuration problem with its position.
#[derive(Debug, Error, Diagnostic)]
#[error("invalid configuration {path}: {reason}")]
#[diagnostic(code(strata::scan::config))]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
    #[source_code]
    pub src: Option<NamedSource<String>>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

impl ConfigError {
    fn new(path: &Path, text: &str, reason: impl Into<String>, span: Option<SourceSpan>) -> Self {
        let cwd = std::env::current_dir().ok();
        let cwd = cwd.map(|c| c.canonicalize().unwrap_or(c));
        let shown = crate::scan::walk::display_path(path, cwd.as_deref());
        ConfigError {
            src: span.map(|_| NamedSource::new(&shown, text.to_string())),
            path: shown,
            reason: reason.into(),
            span,
        }
    }

    /// `path:line:col: reason`, the first line of every configuration error.
    pub fn one_line(&self) -> String {
        match (&self.src, self.span) {
            (Some(src), Some(span)) => {
                let (line, col) = line_col(src.inner(), span.offset());
                format!("{}:{line}:{col}: {}", self.path, self.reason)
            }
            _ => format!("{}: {}", self.path, self.reason),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn span_of<T>(s: &Spanned<T>) -> Option<SourceSpan> {
    let r = s.span();
    Some(SourceSpan::from((r.start, r.end.saturating_sub(r.start))))
}

impl Config {
    /// The configuration for a scan: `explicit` if given, else the nearest `strata.toml` or
    /// `pyproject.toml` with `[tool.strata]` at or above `start`, else the defaults.
    pub fn discover(start: &Path, explicit: Option<&Path>) -> Result<Config, Box<ConfigError>> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        let abs = if start.is_absolute() {
            start.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|d| d.join(start))
                .unwrap_or_else(|_| start.to_path_buf())
        };
        let abs = abs.canonicalize().unwrap_or(abs);
        let first_dir = if abs.is_dir() {
            Some(abs.as_path())
        } else {
            abs.parent()
        };
        for dir in first_dir.into_iter().flat_map(Path::ancestors) {
            let candidate = dir.join(FILE_NAME);
            // Anything by that name is the configuration: a directory or a FIFO named
            // `strata.toml` is reported by `load`, not skipped in silence.
            if std::fs::metadata(&candidate).is_ok() {
                return Config::load(&candidate);
            }
            let py = dir.join("pyproject.toml");
            if py.is_file() {
                // Only a pyproject.toml that configures strata stops the search.
                let text = std::fs::read_to_string(&py).unwrap_or_default();
                if text.contains("tool.strata") {
                    let config = Config::load(&py)?;
                    if config.path.is_some() {
                        return Ok(config);
                    }
                }
            }
        }
        Ok(Config::none())
    }

    /// No configuration: every default, paths relative to the working directory.
    pub fn none() -> Config {
        Config {
            path: None,
            dir: PathBuf::from("."),
            file: ConfigFile::default(),
            text: String::new(),
        }
    }

    /// Reads one file; `pyproject.toml` (by name) is read for its `[tool.strata]` table.
    pub fn load(path: &Path) -> Result<Config, Box<ConfigError>> {
        // A FIFO or a device would block or read forever; a directory is a mistake.
        let meta = std::fs::metadata(path).map_err(|e| {
            Box::new(ConfigError::new(
                path,
                "",
                format!("cannot read: {e}"),
                None,
            ))
        })?;
        if !meta.is_file() {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a FIFO, socket or device)"
            };
            return Err(Box::new(ConfigError::new(
                path,
                "",
                format!("cannot read: {what}; expected a strata.toml or pyproject.toml file"),
                None,
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Box::new(ConfigError::new(
                path,
                "",
                format!("cannot read: {e}"),
                None,
            ))
        })?;
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let parsed = if is_pyproject {
            toml::from_str::<Pyproject>(&text).map(|p| p.tool.and_then(|t| t.strata))
        } else {
            toml::from_str::<ConfigFile>(&text).map(Some)
        };
        let file = parsed.map_err(|e| {
            let span = e
                .span()
                .map(|r| SourceSpan::from((r.start, r.end.saturating_sub(r.start))));
            Box::new(ConfigError::new(
                path,
                &text,
                e.message().trim().to_string(),
                span,
            ))
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(match file {
            Some(file) => Config {
                path: Some(path.to_path_buf()),
                dir,
                file,
                text,
            },
            None => Config::none(),
        })
    }

    fn error<T>(&self, at: &Spanned<T>, reason: String) -> Box<ConfigError> {
        let path = self.path.as_deref().unwrap_or(Path::new(FILE_NAME));
        Box::new(ConfigError::new(path, &self.text, reason, span_of(at)))
    }

    /// Checks every rule id, layer id and glob against the loaded rules.
    pub fn validate(&self, registry: &Registry) -> Result<(), Box<ConfigError>> {
        let id_or_layer = |s: &Spanned<String>| -> Result<(), Box<ConfigError>> {
            let v = s.get_ref();
            if Layer::from_id(v).is_some() || registry.get(v).is_some() {
                Ok(())
            } else {
                Err(self.error(
                    s,
                    format!(
                        "unknown rule or layer id `{v}` (see `strata rules`; layers: {})",
                        layer_list()
                    ),
                ))
            }
        };
        for s in self.file.select.iter().chain(&self.file.ignore) {
            id_or_layer(s)?;
        }
        for s in &self.file.layers {
            if Layer::from_id(s.get_ref()).is_none() {
                return Err(self.error(
                    s,
                    format!(
                        "unknown layer `{}` (expected one of {})",
                        s.get_ref(),
                        layer_list()
                    ),
                ));
            }
        }
        for (glob, ids) in &self.file.per_file_ignores {
            if let Err(e) = compile_glob(glob.get_ref()) {
                return Err(self.error(glob, format!("invalid glob: {e}")));
            }
            for id in ids {
                id_or_layer(id)?;
            }
        }
        for s in &self.file.exclude {
            if let Err(e) = glob_for(s.get_ref()) {
                return Err(self.error(s, format!("invalid glob: {e}")));
            }
        }
        for id in self.file.severity_overrides.keys() {
            if registry.get(id.get_ref()).is_none() {
                return Err(self.error(
                    id,
                    format!("unknown rule id `{}` (see `strata rules`)", id.get_ref()),
                ));
            }
        }
        for level in [
            &self.file.report.block_level,
            &self.file.report.condition_level,
        ]
        .into_iter()
        .flatten()
        {
            if *level.get_ref() > 5 {
                return Err(self.error(
                    level,
                    format!(
                        "maturity level {} out of range (levels are 1 to 5; 0 turns the threshold off)",
                        level.get_ref()
                    ),
                ));
            }
        }
        for dir in &self.file.rules {
            if !self.dir.join(dir.get_ref()).is_dir() {
                return Err(self.error(
                    dir,
                    format!(
                        "rule directory `{}` does not exist (relative to {})",
                        dir.get_ref(),
                        self.dir.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn select(&self) -> Vec<String> {
        strings(&self.file.select)
    }
    pub fn ignore(&self) -> Vec<String> {
        strings(&self.file.ignore)
    }
    pub fn layers(&self) -> Vec<Layer> {
        self.file
            .layers
            .iter()
            .filter_map(|l| Layer::from_id(l.get_ref()))
            .collect()
    }
    /// `exclude` as a matcher of paths relative to the configuration's directory. A glob
    /// also excludes everything below a directory it matches.
    pub fn exclude_matcher(&self) -> Option<Exclude> {
        if self.file.exclude.is_empty() {
            return None;
        }
        let mut set = globset::GlobSetBuilder::new();
        for g in &self.file.exclude {
            let g = g.get_ref().trim_end_matches('/');
            for pattern in [g.to_string(), format!("{g}/**")] {
                if let Ok(glob) = glob_for(&pattern) {
                    set.add(glob);
                }
            }
        }
        let base = self.dir.canonicalize().ok()?;
        Some(Exclude {
            set: set.build().ok()?,
            base,
        })
    }
    /// Extra rule directories, resolved against the configuration's directory.
    pub fn rule_dirs(&self) -> Vec<PathBuf> {
        self.file
            .rules
            .iter()
            .map(|d| self.dir.join(d.get_ref()))
            .collect()
    }
    pub fn severity_overrides(&self) -> Vec<(String, Severity)> {
        self.file
            .severity_overrides
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), *v))
            .collect()
    }

    /// `per-file-ignores` compiled: (glob text, matcher, ids).
    pub fn per_file_ignores(&self) -> Vec<PerFileIgnore> {
        self.file
            .per_file_ignores
            .iter()
            .filter_map(|(glob, ids)| {
                Some(PerFileIgnore {
                    glob: glob.get_ref().clone(),
                    matcher: compile_glob(glob.get_ref()).ok()?,
                    ids: strings(ids),
                })
            })
            .collect()
    }

    /// Where the configuration came from, for messages: `strata.toml` or `pyproject.toml`.
    pub fn source_name(&self) -> String {
        self.path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| FILE_NAME.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct PerFileIgnore {
    pub glob: String,
    pub matcher: globset::GlobMatcher,
    pub ids: Vec<String>,
}

/// The configuration's `exclude` globs, anchored at its directory.
#[derive(Debug, Clone)]
pub struct Exclude {
    set: globset::GlobSet,
    base: PathBuf,
}

impl Exclude {
    /// `path` as strata shows it (relative to `cwd`, or absolute).
    pub fn is_excluded(&self, path: &Path, cwd: &Path) -> bool {
        let abs = cwd.join(path);
        let rel = match abs.strip_prefix(&self.base) {
            Ok(r) => r.to_path_buf(),
            Err(_) => match abs
                .canonicalize()
                .map(|a| a.strip_prefix(&self.base).map(Path::to_path_buf))
            {
                Ok(Ok(r)) => r,
                _ => return false,
            },
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let rel = rel.trim_start_matches("./");
        self.set.is_match(rel)
    }
}

/// Gitignore-like: a glob without `/` matches a file name at any depth.
fn glob_for(glob: &str) -> Result<globset::Glob, globset::Error> {
    let glob = glob.trim_start_matches("./");
    let pattern = if glob.contains('/') {
        glob.trim_start_matches('/').to_string()
    } else {
        format!("**/{glob}")
    };
    globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
}

fn compile_glob(glob: &str) -> Result<globset::GlobMatcher, globset::Error> {
    Ok(glob_for(glob)?.compile_matcher())
}

fn strings(v: &[Spanned<String>]) -> Vec<String> {
    v.iter().map(|s| s.get_ref().clone()).collect()
}

fn layer_list() -> String {
    Layer::ALL.map(|l| l.id()).join(", ")
}

/// The file `strata init` writes: every key, commented, with its default.
pub const STARTER: &str = r#"# strata configuration. Command-line flags override these values.
# Keys may also live in pyproject.toml under [tool.strata].
# Reference: docs/ci.md. Rule ids: `strata rules`; a rule's docs: `strata explain ID`.

# Rule ids or layer ids (api-surface, auth, integrity, error-handling, security) to run.
# Empty means every rule.
# select = ["integrity", "security", "ERR001"]

# Rule ids or layer ids not to run.
# ignore = []

# Only rules of these layers run.
# layers = []

# Globs of paths not to scan, relative to this file; a glob without `/` matches a name
# at any depth (.gitignore is respected as well).
# exclude = ["vendor", "**/migrations/legacy"]

# Exit 1 when a finding at or above this severity is reported:
# low, medium, high, critical, or never.
# fail-on = "low"

# Report only findings at or above this severity.
# min-severity = "low"

# Report only findings at or above this confidence ("low" adds pattern-only guesses).
# min-confidence = "medium"

# Findings in test code, in scripts/examples/docs, and migration-safety findings in
# migrations that already ran (all but the newest of each directory) are left out and
# counted in the summary; these turn them back on.
# include-tests = false
# include-scripts = false
# Vendored copies of other projects' packages (a lib/ or vendor/ directory of well-known
# third-party packages) are not scanned; this scans them.
# include-vendored = false
# all-migrations = false

# Files larger than this many bytes are skipped.
# max-file-size = 2097152

# Directories of your own rule files, relative to this file.
# rules = ["strata-rules"]

# Rules not reported for files matching a glob (a glob without `/` matches file names
# at any depth).
# [per-file-ignores]
# "tests/**" = ["SEC003"]
# "conftest.py" = ["error-handling"]

# Severity to use instead of a rule's own.
# [severity-overrides]
# DATA002 = "critical"

# Project-specific taint sources and sanitizers (qualified names), read by the
# taint-tracking rules.
# [taint]
# sources = ["myapp.http.query_param"]
# sanitizers = ["myapp.paths.safe_join"]

# Disposition thresholds of `strata report` (each is printed in the report).
# [report]
# block-severity = "critical"         # do not ship with a finding at or above this
# block-public-severity = "high"      # ... or at or above this in a public route handler
# block-level = 0                     # ... or with a layer at or below this level (0: off)
# condition-severity = "high"         # ship with conditions with a finding at or above this
# condition-level = 2                 # ... or with a layer at or below this level
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn starter_parses_and_sets_nothing() {
        let cfg: ConfigFile = toml::from_str(STARTER).expect("starter config parses");
        assert!(cfg.select.is_empty() && cfg.fail_on.is_none());
        // Uncommented, every example value is valid too.
        let uncommented: String = STARTER
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .filter(|l| l.starts_with('[') || l.starts_with('"') || l.contains(" = "))
            .collect::<Vec<_>>()
            .join("\n");
        let cfg: ConfigFile = toml::from_str(&uncommented)
            .unwrap_or_else(|e| panic!("uncommented starter: {e}\n{uncommented}"));
        assert_eq!(cfg.fail_on, Some(FailOn::Low));
        assert_eq!(cfg.per_file_ignores.len(), 2);
        assert_eq!(cfg.taint.sanitizers, ["myapp.paths.safe_join"]);
    }

    #[test]
    fn report_table_errors_point_at_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            FILE_NAME,
            "[report]\nblock-severty = \"high\"\n",
        );
        let line = Config::load(&p).unwrap_err().one_line();
        assert!(line.contains("strata.toml:2:1:"), "{line}");
        assert!(line.contains("block-severty"), "{line}");
        let p = write(dir.path(), FILE_NAME, "[report]\ncondition-level = 7\n");
        let config = Config::load(&p).unwrap();
        let reg = Registry::builtin().unwrap();
        let line = config.validate(&reg).unwrap_err().one_line();
        assert!(line.contains("strata.toml:2:19:"), "{line}");
        assert!(line.contains("out of range"), "{line}");
        let p = write(
            dir.path(),
            FILE_NAME,
            "[report]\nblock-public-severity = \"medium\"\ncondition-level = 3\n",
        );
        let config = Config::load(&p).unwrap();
        assert_eq!(
            config.file.report.block_public_severity,
            Some(Severity::Medium)
        );
        assert_eq!(
            config.file.report.condition_level.map(|l| *l.get_ref()),
            Some(3)
        );
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), FILE_NAME, "select = []\nfial-on = \"high\"\n");
        let err = Config::load(&p).unwrap_err();
        let line = err.one_line();
        assert!(line.contains("strata.toml:2:1:"), "{line}");
        assert!(line.contains("fial-on"), "{line}");
    }

    #[test]
    fn bad_value_points_at_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            FILE_NAME,
            "\n[severity-overrides]\nDATA002 = \"urgent\"\n",
        );
        let line = Config::load(&p).unwrap_err().one_line();
        assert!(line.contains("strata.toml:3:11:"), "{line}");
    }

    #[test]
    fn unknown_rule_id_points_at_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            FILE_NAME,
            "select = [\"integrity\",\n  \"NOPE42\"]\n",
        );
        let cfg = Config::load(&p).unwrap();
        let reg = Registry::builtin().unwrap();
        let line = cfg.validate(&reg).unwrap_err().one_line();
        assert!(line.contains("strata.toml:2:3:"), "{line}");
        assert!(line.contains("NOPE42"), "{line}");
    }

    #[test]
    fn pyproject_tool_table_is_read_with_positions() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.strata]\nfail-on = \"high\"\n\n[tool.strata.per-file-ignores]\n\"tests/**\" = [\"DATA002\"]\n",
        );
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let cfg = Config::discover(&dir.path().join("src"), None).unwrap();
        assert!(cfg.path.is_some());
        assert_eq!(cfg.file.fail_on, Some(FailOn::High));
        let pfi = cfg.per_file_ignores();
        assert!(pfi[0].matcher.is_match("tests/a/b.sql"));

        let bad = write(dir.path(), "pyproject.toml", "[tool.strata]\nselct = []\n");
        let line = Config::load(&bad).unwrap_err().one_line();
        assert!(line.contains("pyproject.toml:2:1:"), "{line}");
    }

    #[test]
    fn pyproject_without_tool_table_is_not_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "pyproject.toml",
            "[tool.black]\nline-length = 99\n",
        );
        assert!(Config::load(&p).unwrap().path.is_none());
    }

    #[test]
    fn glob_without_slash_matches_names_at_any_depth() {
        let m = compile_glob("conftest.py").unwrap();
        assert!(m.is_match("conftest.py") && m.is_match("a/b/conftest.py"));
        let m = compile_glob("tests/*.py").unwrap();
        assert!(m.is_match("tests/a.py") && !m.is_match("tests/x/a.py"));
    }
}
