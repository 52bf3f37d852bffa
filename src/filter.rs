//! Which rules run and which findings are reported: `--select`/`--ignore` by rule or
//! layer id, and `--min-severity`.

use crate::finding::Finding;
use crate::rules::{Layer, Registry, Rule, Severity};

/// Rules selected by ids or layer ids; an unknown id is an error.
pub fn select_rules<'r>(
    registry: &'r Registry,
    select: &[String],
    ignore: &[String],
) -> Result<Vec<&'r Rule>, String> {
    for id in select.iter().chain(ignore) {
        if Layer::from_id(id).is_none() && registry.get(id).is_none() {
            return Err(format!(
                "unknown rule or layer id `{id}` (see `strata rules`; layers: {})",
                Layer::ALL.map(|l| l.id()).join(", ")
            ));
        }
    }
    let hits = |rule: &Rule, ids: &[String]| {
        ids.iter()
            .any(|id| id.eq_ignore_ascii_case(&rule.id) || id == rule.layer.id())
    };
    Ok(registry
        .rules
        .iter()
        .filter(|r| select.is_empty() || hits(r, select))
        .filter(|r| !hits(r, ignore))
        .collect())
}

pub fn min_severity(findings: &mut Vec<Finding>, min: Option<Severity>) {
    if let Some(min) = min {
        findings.retain(|f| f.severity >= min);
    }
}
