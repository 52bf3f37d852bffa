//! Semantic rules: Rust code over a parsed file and its facts. A rule file names its
//! check with `[check] builtin = "name"`; this module is the registry of those names.

use crate::facts::Facts;
use crate::source::SourceFile;
use tree_sitter::Tree;

mod alembic;
mod api;
mod api_uploads;
mod auth;
mod bare_except;
pub mod embedded_sql;
mod err_py;
mod integrity;
mod migrations;
pub(crate) mod py;
mod py_flow;
mod rust_data;
mod rust_err;
mod rust_sec;
pub(crate) mod rust_web;
mod secrets;
mod sql_races;
mod sql_writes;
mod taint_sinks;
mod workflow;

pub(crate) use api::pagination_bounds;

/// What a check sees of one file.
pub struct FileContext<'a> {
    pub file: &'a SourceFile,
    pub tree: &'a Tree,
    pub facts: &'a Facts,
    /// Project taint sources and sanitizers (configuration `[taint]`).
    pub taint: &'a crate::config::TaintConfig,
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
    ("check-then-insert", sql_races::check_then_insert),
    ("redis-keys", err_py::redis_keys),
    ("unbounded-request-cache", err_py::unbounded_cache),
    ("unbounded-retry-loop", err_py::unbounded_retry),
    ("fail-open-except", err_py::fail_open),
    ("client-per-request", err_py::client_per_request),
    ("unbounded-query-on-request-path", err_py::unbounded_query),
    ("sync-client-in-async", py_flow::sync_client_in_async),
    (
        "writes-without-transaction",
        py_flow::writes_without_transaction,
    ),
    ("swallowed-delivery-failure", py_flow::swallowed_delivery),
    (
        "add-not-null-column-without-default",
        migrations::add_not_null_column,
    ),
    ("upload-read-whole", api_uploads::upload_read_whole),
    ("retry-without-backoff", py_flow::retry_without_backoff),
    (
        "retried-post-without-idempotency-key",
        py_flow::retried_post,
    ),
    (
        "workflow-security-step-cannot-fail",
        workflow::security_step_cannot_fail,
    ),
    (
        "workflow-privileged-checkout-of-pr-code",
        workflow::privileged_checkout_of_pr_code,
    ),
    ("workflow-unpinned-action", workflow::unpinned_action),
    ("workflow-secret-echoed", workflow::secret_echoed),
    (
        "workflow-permissions-write-all",
        workflow::permissions_write_all,
    ),
    ("workflow-script-injection", workflow::script_injection),
    (
        "rust-cors-any-origin-with-credentials",
        rust_sec::cors_any_origin_with_credentials,
    ),
    ("rust-path-traversal", rust_sec::path_traversal),
    (
        "rust-shell-command-injection",
        rust_sec::shell_command_injection,
    ),
    ("rust-sql-built-with-format", rust_sec::sql_injection),
    ("rust-unwrap-in-handler", rust_err::unwrap_in_handler),
    (
        "rust-ignored-delivery-result",
        rust_err::ignored_delivery_result,
    ),
    (
        "rust-unbounded-channel-in-handler",
        rust_err::unbounded_channel_in_handler,
    ),
    (
        "rust-unbounded-static-cache",
        rust_err::unbounded_static_cache,
    ),
    (
        "rust-tls-verification-disabled",
        rust_sec::tls_verification_disabled,
    ),
    ("rust-route-outside-auth", rust_web::route_outside_auth),
    ("rust-id-path-param-string", rust_web::id_path_param_string),
    ("rust-unclamped-page-size", rust_web::unclamped_page_size),
    (
        "rust-route-missing-ownership-check",
        rust_web::route_missing_ownership_check,
    ),
    (
        "rust-insert-without-conflict-handling",
        rust_data::insert_without_conflict_handling,
    ),
];

/// A check over a file's raw text: runs without a parse, on any kind of file (secrets).
pub type TextCheckFn = fn(&SourceFile, &mut Vec<Hit>);

const TEXT_CHECKS: &[(&str, TextCheckFn)] = &[
    ("bare-except", bare_except::bare_except),
    ("secret-private-key", secrets::private_key),
    ("secret-api-token", secrets::api_token),
    ("secret-assignment", secrets::secret_assignment),
];

pub fn lookup_text(name: &str) -> Option<TextCheckFn> {
    TEXT_CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

pub fn lookup(name: &str) -> Option<CheckFn> {
    CHECKS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub fn names() -> Vec<&'static str> {
    CHECKS
        .iter()
        .map(|(n, _)| *n)
        .chain(TEXT_CHECKS.iter().map(|(n, _)| *n))
        .collect()
}
