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
    /// `.env` files: no grammar, read by text rules (secrets).
    Dotenv,
    /// Dependency manifests (`requirements*.txt`, `requirements/*.txt`, `pyproject.toml`,
    /// `Pipfile`, `setup.cfg`) and lock files (`uv.lock`, `poetry.lock`, `Pipfile.lock`):
    /// no grammar, read by text rules and repository checks.
    Manifest,
}

impl Lang {
    pub const ALL: [Lang; 6] = [
        Lang::Python,
        Lang::Rust,
        Lang::Sql,
        Lang::Workflow,
        Lang::Dotenv,
        Lang::Manifest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Rust => "rust",
            Lang::Sql => "sql",
            Lang::Workflow => "workflow",
            Lang::Dotenv => "dotenv",
            Lang::Manifest => "manifest",
        }
    }

    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The tree-sitter grammar; `None` for text-only kinds of file.
    pub fn ts_language(self) -> Option<tree_sitter::Language> {
        Some(match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Sql => tree_sitter_sequel::LANGUAGE.into(),
            Lang::Workflow => tree_sitter_yaml::LANGUAGE.into(),
            Lang::Dotenv | Lang::Manifest => return None,
        })
    }

    /// Marker that starts a line comment, used for fixture annotations and suppressions.
    pub fn comment_prefix(self) -> &'static str {
        match self {
            Lang::Python | Lang::Workflow | Lang::Dotenv | Lang::Manifest => "#",
            Lang::Rust => "//",
            Lang::Sql => "--",
        }
    }

    /// Language by path alone; files without an extension may still be Python by shebang.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
            return Some(Lang::Dotenv);
        }
        let in_requirements_dir = path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|d| d == "requirements");
        if (name.starts_with("requirements") || in_requirements_dir) && name.ends_with(".txt")
            || matches!(
                name,
                "pyproject.toml"
                    | "Pipfile"
                    | "setup.cfg"
                    | "uv.lock"
                    | "poetry.lock"
                    | "Pipfile.lock"
            )
        {
            return Some(Lang::Manifest);
        }
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
            Lang::from_path(Path::new("deploy/.env.production")),
            Some(Lang::Dotenv)
        );
        assert_eq!(
            Lang::from_path(Path::new("requirements-dev.txt")),
            Some(Lang::Manifest)
        );
        assert_eq!(
            Lang::from_path(Path::new("pyproject.toml")),
            Some(Lang::Manifest)
        );
        assert_eq!(Lang::from_path(Path::new("notes.txt")), None);
        assert_eq!(
            Lang::from_shebang(b"#!/usr/bin/env python3\nprint(1)"),
            Some(Lang::Python)
        );
        assert_eq!(Lang::from_shebang(b"#!/bin/sh\n"), None);
    }
}
