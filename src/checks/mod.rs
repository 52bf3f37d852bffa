//! Semantic rules: Rust code over a parsed file and its facts. A rule file names its
//! check with `[check] builtin = "name"`; this module is the registry of those names.

use crate::facts::Facts;
use crate::source::SourceFile;
use tree_sitter::Tree;

mod api;
mod auth;
pub mod embedded_sql;
mod err_py;
mod integrity;
mod migrations;
mod py;
mod sql_races;
mod sql_writes;
mod workflow;

/// What a check sees of one file.
pub struct FileContext<'a> {
    pub file: &'a SourceFile,
    pub tree: &'a Tree,
    pub facts: &'a Facts,
}

/// A finding as a check reports it: a byte range, the values for the rule's message
/// placeholders, and for taint-like findings the steps that led there.
#[derive(Debug, Default)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub vars: Vec<(&'static str, String)>,
    pub trace: Vec<(usize, usize, String)>,
}

impl Hit {
    pub fn new(start: usize, end: usize) -> Hit {
        Hit {
            start,
            end,
            ..Hit::default()
        }
    }

    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Hit {
        self.vars.push((name, value.into()));
        self
    }
}

pub type CheckFn = fn(&FileContext<'_>, &mut Vec<Hit>);

const CHECKS: &[(&str, CheckFn)] = &[
    (
        "unbounded-pagination-parameter",
        api::unbounded_pagination_parameter,
    ),
    (
        "unclamped-request-pagination",
        api::unclamped_request_pagination,
    ),
    ("id-path-param-typed-str", api::id_path_param_typed_str),
    ("route-missing-auth", auth::route_missing_auth),
    ("admin-route-without-auth", auth::admin_route_without_auth),
    (
        "insert-without-conflict-handling",
        integrity::insert_without_conflict_handling,
    ),
    ("query-in-loop", integrity::query_in_loop),
    ("sql-write-without-where", sql_writes::write_without_where),
    (
        "sql-index-without-concurrently",
        migrations::index_without_concurrently,
    ),
    ("check-then-insert", sql_races::check_then_insert),
    ("redis-keys", err_py::redis_keys),
    ("unbounded-request-cache", err_py::unbounded_cache),
    ("unbounded-retry-loop", err_py::unbounded_retry),
    ("fail-open-except", err_py::fail_open),
    ("client-per-request", err_py::client_per_request),
    ("unbounded-query-on-request-path", err_py::unbounded_query),
    (
        "workflow-security-step-cannot-fail",
        workflow::security_step_cannot_fail,
    ),
];

pub fn lookup(name: &str) -> Option<CheckFn> {
    CHECKS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub fn names() -> Vec<&'static str> {
    CHECKS.iter().map(|(n, _)| *n).collect()
}
