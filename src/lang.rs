//! Languages strata reads and how a file is assigned to one.

use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    Rust,
    Sql,
    /// GitHub Actions workflow files (`.github/workflows/*.yml`).
    Workflow,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Python, Lang::Rust, Lang::Sql, Lang::Workflow];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Rust => "rust",
            Lang::Sql => "sql",
            Lang::Workflow => "workflow",
        }
    }

    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    pub fn ts_language(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Sql => tree_sitter_sequel::LANGUAGE.into(),
            Lang::Workflow => tree_sitter_yaml::LANGUAGE.into(),
        }
    }

    /// Marker that starts a line comment, used for fixture annotations and suppressions.
    pub fn comment_prefix(self) -> &'static str {
        match self {
            Lang::Python | Lang::Workflow => "#",
            Lang::Rust => "//",
            Lang::Sql => "--",
        }
    }

    /// Language by path alone; files without an extension may still be Python by shebang.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "py" | "pyi" => Some(Lang::Python),
            "rs" => Some(Lang::Rust),
            "sql" => Some(Lang::Sql),
            "yml" | "yaml" if is_workflow_path(path) => Some(Lang::Workflow),
            _ => None,
        }
    }

    /// A file with no extension whose first line is a python shebang.
    pub fn from_shebang(head: &[u8]) -> Option<Lang> {
        if !head.starts_with(b"#!") {
            return None;
        }
        let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        let line = String::from_utf8_lossy(&head[..line_end]);
        line.contains("python").then_some(Lang::Python)
    }
}

fn is_workflow_path(path: &Path) -> bool {
    let parent = path.parent();
    let dir = parent.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    let grand = parent
        .and_then(|p| p.parent())
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    dir == Some("workflows") && grand == Some(".github")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_path() {
        assert_eq!(Lang::from_path(Path::new("a/b.py")), Some(Lang::Python));
        assert_eq!(Lang::from_path(Path::new("a/b.pyi")), Some(Lang::Python));
        assert_eq!(Lang::from_path(Path::new("src/lib.rs")), Some(Lang::Rust));
        assert_eq!(Lang::from_path(Path::new("m/001.sql")), Some(Lang::Sql));
        assert_eq!(
            Lang::from_path(Path::new(".github/workflows/ci.yml")),
            Some(Lang::Workflow)
        );
        assert_eq!(Lang::from_path(Path::new("config/app.yml")), None);
        assert_eq!(
            Lang::from_shebang(b"#!/usr/bin/env python3\nprint(1)"),
            Some(Lang::Python)
        );
        assert_eq!(Lang::from_shebang(b"#!/bin/sh\n"), None);
    }
}
