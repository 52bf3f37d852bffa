//! What the default report leaves out, and counts instead, so that it is what a team would
//! gate a merge on:
//!
//! - findings in test code (`tests/`, `test_*.py`, `conftest.py`, `#[cfg(test)]`, `#[test]`)
//!   and in scripts (`scripts/`, `dev/`, `tools/`, `examples/`, `docs/`, seeding scripts),
//!   unless the rule is about committed secrets (`test-code = true`);
//! - findings in migrations that already ran (migration-safety rules; in Python migrations
//!   also the error-handling, security, API and auth rules about the code they run, but not
//!   the committed-secrets rules): every migration of a directory but the newest
//!   (Alembic: the heads of the revision graph, none when all of them predate the pinned
//!   `certifi` release by two years), and rollbacks (`down.sql`, `*.down.sql`);
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

/// Days from 0000-03-01 to the date `y-m-d` (proleptic Gregorian): dates compare by it.
fn day_number(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1
}

/// `YYYY-MM-DD` or `YYYY.M.D` at the start of `s`, as a day number.
fn date_at(s: &str, sep: char) -> Option<i64> {
    let mut parts = s.splitn(3, sep);
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let d: i64 = d.parse().ok()?;
    ((1990..2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| day_number(y, m, d))
}

/// The `Create Date:` Alembic writes in a revision's docstring.
fn alembic_create_date(text: &str) -> Option<i64> {
    let at = text.find("Create Date:")?;
    date_at(text[at + "Create Date:".len()..].trim_start(), '-')
}

/// The release date of the `certifi` the project's requirements or lock file pins
/// (`certifi==2026.6.17`; `name = "certifi"` then `version = "2024.8.30"` in `poetry.lock` or
/// `uv.lock`), in the nearest directory from `dir` up to `root` that has one. certifi is
/// versioned by its release date and sits in nearly every Python lock file, so its pin says
/// when the project's dependencies were last resolved, read from the tree and not from the
/// calendar.
fn locked_certifi_date(dir: &Path, root: &Path) -> Option<i64> {
    let mut cur = Some(dir);
    for _ in 0..8 {
        let d = cur?;
        let mut files: Vec<PathBuf> = vec![d.join("poetry.lock"), d.join("uv.lock")];
        for sub in [d.to_path_buf(), d.join("requirements")] {
            if let Ok(entries) = std::fs::read_dir(&sub) {
                let mut reqs: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("requirements") && n.ends_with(".txt"))
                    })
                    .collect();
                reqs.sort();
                files.extend(reqs);
            }
        }
        let mut seen = false;
        let mut newest: Option<i64> = None;
        for f in files.iter().take(32) {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            seen = true;
            let mut rest = text.as_str();
            while let Some(i) = rest.find("certifi") {
                let after = &rest[i + "certifi".len()..];
                let version = if let Some(v) = after.strip_prefix("==") {
                    Some(v)
                } else if let Some(v) = after.strip_prefix('"') {
                    // `name = "certifi"` then `version = "..."` on the next line.
                    v.trim_start()
                        .strip_prefix("version")
                        .and_then(|v| v.trim_start().strip_prefix('='))
                        .and_then(|v| v.trim_start().strip_prefix('"'))
                } else {
                    None
                };
                if let Some(day) = version.and_then(|v| date_at(v, '.')) {
                    newest = newest.max(Some(day));
                }
                rest = after;
            }
        }
        if seen {
            return newest;
        }
        if d == root {
            return None;
        }
        cur = d.parent();
    }
    None
}

/// Heads whose `Create Date:` is this many days older than the project's pinned certifi
/// release have shipped long ago (see `newest_units`).
const STALE_HEAD_DAYS: i64 = 730;

/// The newest migrations of the directory `dir` (absolute): the last entry in natural order,
/// or for Alembic revision files the heads of the revision graph. `None` when the directory
/// cannot be read (then nothing is treated as historical).
///
/// An Alembic graph whose heads were all created more than two years before the release of
/// the `certifi` the project pins has no newest migration: the project's dependencies were
/// resolved again long after its last revision, so that revision has shipped in releases
/// since and every maintained install has run it (a project that stopped adding
/// migrations, not a pull request adding one). Both dates are read from the tree, so the
/// outcome does not change with the day of the scan.
fn newest_units(dir: &Path, root: &Path, per_dir: bool, ext: &str) -> Option<Vec<String>> {
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
                let created: Option<Vec<i64>> = heads
                    .iter()
                    .map(|h| alembic_create_date(&std::fs::read_to_string(dir.join(h)).ok()?))
                    .collect();
                let stale = created.is_some_and(|c| {
                    locked_certifi_date(dir, root)
                        .is_some_and(|locked| c.iter().all(|&day| locked - day > STALE_HEAD_DAYS))
                });
                return Some(if stale { Vec::new() } else { heads });
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
                        newest_units(&dir, base, per_dir, ext)
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
    fn alembic_heads_long_before_the_locked_certifi_are_not_newest() {
        let dir = std::env::temp_dir().join(format!("strata-stale-{}", std::process::id()));
        let versions = dir.join("alembic").join("versions");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(
            versions.join("a1_first.py"),
            "\"\"\"first\n\nCreate Date: 2021-03-04 10:00:00\n\"\"\"\nrevision = \"a1\"\ndown_revision = None\n",
        )
        .unwrap();
        let heads = |lock: &str| {
            std::fs::write(dir.join("uv.lock"), lock).unwrap();
            newest_units(&versions, &dir, false, ".py").unwrap()
        };
        // `uv.lock`/`poetry.lock` name the package, then its version on the next line.
        let stale = heads("[[package]]\nname = \"certifi\"\nversion = \"2024.8.30\"\n");
        let fresh = heads("[[package]]\nname = \"certifi\"\nversion = \"2022.12.7\"\n");
        std::fs::remove_dir_all(&dir).ok();
        assert!(stale.is_empty(), "{stale:?}");
        assert_eq!(fresh, vec!["a1_first.py".to_string()]);
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
        let heads = newest_units(&dir, &dir, false, ".py").unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(heads, vec!["aaa_third.py".to_string()]);
    }
}
