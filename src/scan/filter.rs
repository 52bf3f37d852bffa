//! Which rules run and which findings are reported: `--select`/`--ignore`/`layers` by rule
//! or layer id, `per-file-ignores`, and `--min-severity`. Inline suppressions, baselines
//! and `--diff` live in their own modules (`suppress`, `baseline`, `diff`).

use crate::rules::finding::{Finding, Suppressed};
use crate::rules::{Layer, Registry, Rule, Severity};
use crate::scan::config::PerFileIgnore;
use std::path::Path;

/// Rules selected by ids or layer ids; an unknown id is an error.
pub fn select_rules<'r>(
    registry: &'r Registry,
    select: &[String],
    ignore: &[String],
) -> Result<Vec<&'r Rule>, String> {
    select_rules_in(registry, select, ignore, &[])
}

/// Like [`select_rules`], restricted to `layers` when that is not empty.
pub fn select_rules_in<'r>(
    registry: &'r Registry,
    select: &[String],
    ignore: &[String],
    layers: &[Layer],
) -> Result<Vec<&'r Rule>, String> {
    for id in select.iter().chain(ignore) {
        if Layer::from_id(id).is_none() && registry.get(id).is_none() {
            return Err(format!(
                "unknown rule or layer id `{id}` (see `strata rules`; layers: {})",
                Layer::ALL.map(|l| l.id()).join(", ")
            ));
        }
    }
    Ok(registry
        .rules
        .iter()
        .filter(|r| select.is_empty() || names(r, select))
        .filter(|r| !names(r, ignore))
        .filter(|r| layers.is_empty() || layers.contains(&r.layer))
        .collect())
}

/// True when one of `ids` is the rule's id or its layer's id.
fn names(rule: &Rule, ids: &[String]) -> bool {
    ids.iter()
        .any(|id| id.eq_ignore_ascii_case(&rule.id) || id == rule.layer.id())
}

fn names_finding(f: &Finding, ids: &[String]) -> bool {
    ids.iter()
        .any(|id| id.eq_ignore_ascii_case(&f.rule) || id == f.layer.id())
}

/// Marks findings covered by `per-file-ignores` as suppressed. Globs are matched against the
/// path relative to the configuration file's directory (`config_dir`).
pub fn per_file_ignores(
    findings: &mut [Finding],
    ignores: &[PerFileIgnore],
    config_dir: &Path,
    config_name: &str,
) {
    if ignores.is_empty() {
        return;
    }
    let cwd = std::env::current_dir()
        .ok()
        .map(|c| c.canonicalize().unwrap_or(c));
    let base = config_dir.canonicalize().ok();
    for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
        let rel = relative_to(&f.path, cwd.as_deref(), base.as_deref());
        if let Some(hit) = ignores
            .iter()
            .find(|p| names_finding(f, &p.ids) && p.matcher.is_match(&rel))
        {
            f.suppressed = Some(Suppressed {
                kind: "config",
                reason: Some(format!(
                    "per-file-ignores \"{}\" in {config_name}",
                    hit.glob
                )),
                line: None,
            });
        }
    }
}

/// `path` (relative to the working directory, as findings show it) relative to `base`.
fn relative_to(path: &str, cwd: Option<&Path>, base: Option<&Path>) -> String {
    let (Some(cwd), Some(base)) = (cwd, base) else {
        return path.to_string();
    };
    let abs = cwd.join(path);
    let abs = abs.canonicalize().unwrap_or(abs);
    abs.strip_prefix(base)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| path.to_string())
}

pub fn min_severity(findings: &mut Vec<Finding>, min: Option<Severity>) {
    if let Some(min) = min {
        findings.retain(|f| f.severity >= min);
    }
}
