//! Baselines: the findings a project has accepted for now, so that CI fails only on new
//! ones. Findings are matched by rule, path and fingerprint; the fingerprint ignores line
//! numbers and whitespace (see `finding.rs`), so inserted lines and re-indentation do not
//! turn old findings into new ones. Line and message are recorded for the humans who read
//! the file in review.

use crate::rules::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

pub const FORMAT: &str = "strata-baseline/1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always `strata-baseline/1`.
    pub format: String,
    /// strata version that wrote the file (informative).
    pub version: String,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub message: String,
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline {
            format: FORMAT.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            findings: findings
                .iter()
                .map(|f| Entry {
                    rule: f.rule.clone(),
                    path: f.path.clone(),
                    fingerprint: f.fingerprint.clone(),
                    line: f.line,
                    message: f.message.clone(),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("baseline serialises");
        s.push('\n');
        s
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: invalid baseline: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if b.format != FORMAT {
            return Err(format!(
                "{}: unsupported baseline format `{}` (expected `{FORMAT}`)",
                path.display(),
                b.format
            ));
        }
        Ok(b)
    }

    /// Removes findings the baseline has; returns how many were removed.
    pub fn filter(&self, findings: &mut Vec<Finding>) -> usize {
        let known: HashSet<(&str, &str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.rule.as_str(), e.path.as_str(), e.fingerprint.as_str()))
            .collect();
        let before = findings.len();
        findings.retain(|f| {
            !known.contains(&(f.rule.as_str(), f.path.as_str(), f.fingerprint.as_str()))
        });
        before - findings.len()
    }
}
