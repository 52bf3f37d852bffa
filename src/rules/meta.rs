//! Rule metadata shared by every rule, declarative or semantic.

pub use crate::checks::Confidence;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    ApiSurface,
    Auth,
    Integrity,
    ErrorHandling,
    Security,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::ApiSurface,
        Layer::Auth,
        Layer::Integrity,
        Layer::ErrorHandling,
        Layer::Security,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Layer::ApiSurface => "api-surface",
            Layer::Auth => "auth",
            Layer::Integrity => "integrity",
            Layer::ErrorHandling => "error-handling",
            Layer::Security => "security",
        }
    }

    /// Rule id prefix of the layer (`ERR003` belongs to `error-handling`).
    pub fn prefix(self) -> &'static str {
        match self {
            Layer::ApiSurface => "API",
            Layer::Auth => "AUTH",
            Layer::Integrity => "DATA",
            Layer::ErrorHandling => "ERR",
            Layer::Security => "SEC",
        }
    }

    pub fn from_id(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.id() == s)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn from_name(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.name() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub what: String,
    pub why: String,
    pub fix: String,
    pub bad: String,
    pub good: String,
}
