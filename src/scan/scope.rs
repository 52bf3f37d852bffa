//! What the default report leaves out, and counts instead, so that it is what a team would
//! gate a merge on:
//!
//! - findings in test code (`tests/`, `test_*.py`, `conftest.py`, `#[cfg(test)]`, `#[test]`)
//!   and in scripts (`scripts/`, `dev/`, `tools/`, `examples/`, `docs/`, seeding scripts),
//!   unless the rule is about committed secrets (`test-code = true`);
//! - findings in migrations that already ran (migration-safety rules; in Python migrations
//!   also the error-handling, security, API and auth rules about the code they run, but not
//!   the committed-secrets rules): every migration of a directory but the newest
//!   (Alembic: the heads of the revision graph), and rollbacks (`down.sql`, `*.down.sql`);
//! - findings whose confidence is below the minimum (default `medium`: pattern-only guesses
//!   are shown on request).
//!
//! Each is counted in the summary (`not_reported`) and has an option that turns it back on.

use crate::rules::finding::Finding;
use crate::rules::{Confidence, RuleSet};
use crate::source::context::{migration_unit, CodeKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What the report includes besides production code at the minimum confidence.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub include_tests: bool,
    pub include_scripts: bool,
    pub all_migrations: bool,
    pub min_confidence: Confidence,
}

impl Default for Scope {
    fn default() -> Scope {
        Scope {
            include_tests: false,
            include_scripts: false,
            all_migrations: false,
            min_confidence: Confidence::Medium,
        }
    }
}

/// Findings left out of the report, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotReported {
    #[serde(skip_serializing_if = "is_zero")]
    pub test_code: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub scripts: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub historical_migrations: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub rollback_migrations: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub low_confidence: usize,
    /// Test files that only the secrets rules analysed (findings of other rules there are
    /// never computed, so they are counted as files).
    #[serde(skip_serializing_if = "is_zero")]
    pub test_files: usize,
    /// Script, example and documentation files left to the secrets rules likewise.
    #[serde(skip_serializing_if = "is_zero")]
    pub script_files: usize,
    /// Files in vendored copies of other projects' packages (`scan::walk::vendored_dirs`),
    /// not scanned at all.
    #[serde(skip_serializing_if = "is_zero")]
    pub vendored_files: usize,
    /// Those directories (`lib/`, `vendor/`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vendored_dirs: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl NotReported {
    pub fn total(&self) -> usize {
        self.test_code
            + self.scripts
            + self.historical_migrations
            + self.rollback_migrations
            + self.low_confidence
            + self.test_files
            + self.script_files
            + self.vendored_files
    }

    /// `12 in test code (--include-tests), 3 below the minimum confidence (...)`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |n: usize, what: String| {
            if n > 0 {
                out.push(format!("{n} {what}"));
            }
        };
        push(self.test_code, "in test code (--include-tests)".into());
        push(self.scripts, "in scripts (--include-scripts)".into());
        push(
            self.historical_migrations,
            "in migrations that already ran (--all-migrations)".into(),
        );
        push(
            self.rollback_migrations,
            "in rollback migrations (--all-migrations)".into(),
        );
        push(
            self.low_confidence,
            "below the minimum confidence (--min-confidence low)".into(),
        );
        if self.test_files > 0 {
            out.push(format!(
                "{} test file{} not analysed (--include-tests)",
                self.test_files,
                if self.test_files == 1 { "" } else { "s" }
            ));
        }
        if self.script_files > 0 {
            out.push(format!(
                "{} script/example file{} not analysed (--include-scripts)",
                self.script_files,
                if self.script_files == 1 { "" } else { "s" }
            ));
        }
        if self.vendored_files > 0 {
            out.push(format!(
                "{} file{} of vendored packages in {} not analysed (--include-vendored)",
                self.vendored_files,
                if self.vendored_files == 1 { "" } else { "s" },
                self.vendored_dirs
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }
}

/// Natural order: digit runs compare as numbers (`V2__x` before `V10__x`).
fn natural_key(s: &str) -> Vec<(u8, u128, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digit = c.is_ascii_digit();
        let mut run = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() != digit {
                break;
            }
            run.push(c);
            chars.next();
        }
        if digit {
            out.push((0, run.parse::<u128>().unwrap_or(u128::MAX), String::new()));
        } else {
            out.push((1, 0, run.to_ascii_lowercase()));
        }
    }
    out
}

/// `revision = "abc"` / `down_revision = ("a", "b")` values of an Alembic revision file.
fn alembic_ids(text: &str, key: &str) -> Option<Vec<String>> {
    for line in text.lines() {
        let l = line.trim_start();
        let Some(rest) = l.strip_prefix(key) else {
            continue;
        };
        let rest = rest.trim_start();
        // `revision: str = "..."` (typed) or `revision = "..."`.
        let rest = match rest.strip_prefix(':') {
            Some(r) => r.split_once('=').map(|(_, v)| v)?,
            None => rest.strip_prefix('=')?,
        };
        let ids = rest
            .split(['"', '\''])
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
            .collect();
        return Some(ids);
    }
    None
}

/// The newest migrations of the directory `dir` (absolute): the last entry in natural order,
/// or for Alembic revision files the heads of the revision graph. `None` when the directory
/// cannot be read (then nothing is treated as historical).
fn newest_units(dir: &Path, per_dir: bool, ext: &str) -> Option<Vec<String>> {
    let mut units = Vec::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if per_dir {
            if is_dir {
                units.push(name);
            }
        } else if !is_dir
            && name.to_ascii_lowercase().ends_with(ext)
            && name != "__init__.py"
            && migration_unit(&format!("migrations/{name}")).is_some_and(|m| !m.rollback)
        {
            units.push(name);
        }
    }
    if units.is_empty() {
        return None;
    }
    if ext == ".py" {
        // Alembic: heads are revisions no other revision names as its down_revision.
        let mut revs: Vec<(String, String, Vec<String>)> = Vec::new();
        for u in &units {
            let text = std::fs::read_to_string(dir.join(u)).unwrap_or_default();
            if let (Some(rev), Some(down)) = (
                alembic_ids(&text, "revision"),
                alembic_ids(&text, "down_revision"),
            ) {
                if let Some(r) = rev.into_iter().next() {
                    revs.push((u.clone(), r, down));
                }
            }
        }
        if revs.len() == units.len() {
            let parents: std::collections::HashSet<&str> = revs
                .iter()
                .flat_map(|(_, _, d)| d.iter().map(String::as_str))
                .collect();
            let heads: Vec<String> = revs
                .iter()
                .filter(|(_, r, _)| !parents.contains(r.as_str()))
                .map(|(u, _, _)| u.clone())
                .collect();
            if !heads.is_empty() {
                return Some(heads);
            }
        }
    }
    units.sort_by_key(|u| natural_key(u));
    units.pop().map(|u| vec![u])
}

/// Leaves out of `findings` what `scope` does not include and counts it. `base` is the
/// directory finding paths are relative to (the working directory). `rules` says which
/// rules keep test code and which are migration-safety rules.
pub fn apply(
    findings: &mut Vec<Finding>,
    rules: &RuleSet<'_>,
    scope: &Scope,
    base: &Path,
) -> NotReported {
    let mut counts = NotReported::default();
    // Rules about the code a migration runs (not about the schema it leaves behind, which
    // the integrity rules judge on the final schema).
    let code_rule = |r: &crate::rules::Rule| {
        !r.test_code && !matches!(r.layer, crate::rules::meta::Layer::Integrity)
    };
    let flags: HashMap<&str, (bool, bool, bool)> = rules
        .rules
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                (r.test_code, r.migration_safety, code_rule(r)),
            )
        })
        .collect();
    let mut newest: BTreeMap<(String, bool, String), Option<Vec<String>>> = BTreeMap::new();
    findings.retain(|f| {
        let (test_code, migration_safety, code_rule) =
            flags.get(f.rule.as_str()).copied().unwrap_or_default();
        if !test_code {
            let kind = if f.in_test {
                CodeKind::Test
            } else {
                rules.code_kind(&f.path)
            };
            match kind {
                CodeKind::Test if !scope.include_tests => {
                    counts.test_code += 1;
                    return false;
                }
                CodeKind::Script if !scope.include_scripts => {
                    counts.scripts += 1;
                    return false;
                }
                _ => {}
            }
        }
        // The code of a Python migration that already ran (a data migration's except
        // clause, a depickling step) runs again only on a fresh install: not actionable
        // either. Committed secrets stay reported wherever they are.
        if (migration_safety || (code_rule && f.path.ends_with(".py"))) && !scope.all_migrations {
            if let Some(m) = migration_unit(&f.path) {
                if m.rollback {
                    counts.rollback_migrations += 1;
                    return false;
                }
                let per_dir = m.unit != f.path.rsplit('/').next().unwrap_or("");
                let ext = if f.path.ends_with(".py") {
                    ".py"
                } else {
                    ".sql"
                };
                let heads = newest
                    .entry((m.dir.clone(), per_dir, ext.to_string()))
                    .or_insert_with(|| {
                        let dir: PathBuf = base.join(&m.dir);
                        newest_units(&dir, per_dir, ext)
                    });
                if heads.as_ref().is_some_and(|h| !h.contains(&m.unit)) {
                    counts.historical_migrations += 1;
                    return false;
                }
            }
        }
        if f.confidence < scope.min_confidence {
            counts.low_confidence += 1;
            return false;
        }
        true
    });
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["V10__b.sql", "V2__a.sql", "V1__x.sql"];
        v.sort_by_key(|u| natural_key(u));
        assert_eq!(v, ["V1__x.sql", "V2__a.sql", "V10__b.sql"]);
    }

    #[test]
    fn alembic_heads_follow_the_revision_graph() {
        let dir = std::env::temp_dir().join(format!("strata-scope-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Names sort against the graph on purpose: the head is `aaa`, not `zzz`.
        std::fs::write(
            dir.join("zzz_first.py"),
            "revision = \"r1\"\ndown_revision = None\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("mmm_second.py"),
            "revision: str = 'r2'\ndown_revision = 'r1'\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("aaa_third.py"),
            "revision = \"r3\"\ndown_revision = (\"r2\",)\n",
        )
        .unwrap();
        let heads = newest_units(&dir, false, ".py").unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(heads, vec!["aaa_third.py".to_string()]);
    }
}
