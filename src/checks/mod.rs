//! Semantic rules: Rust code over a parsed file and its facts. A rule file names its
//! check with `[check] builtin = "name"`; this module is the registry of those names.

use crate::facts::Facts;
use crate::source::SourceFile;
use tree_sitter::Tree;

mod api;
mod auth;
pub mod embedded_sql;
mod integrity;
mod migrations;
pub(crate) mod py;
mod sql_writes;
mod taint_sinks;
mod workflow;

pub(crate) use api::pagination_bounds;

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
        "route-missing-ownership-check",
        auth::route_missing_ownership_check,
    ),
    (
        "sensitive-route-without-rate-limit",
        auth::sensitive_route_without_rate_limit,
    ),
    ("taint-sql-injection", taint_sinks::sql_injection),
    ("taint-command-injection", taint_sinks::command_injection),
    ("taint-ssrf", taint_sinks::ssrf),
    ("taint-path-traversal", taint_sinks::path_traversal),
    ("weak-path-prefix-guard", taint_sinks::weak_path_guard),
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
