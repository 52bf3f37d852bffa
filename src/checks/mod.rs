//! Semantic rules: Rust code over a parsed file and its facts. A rule file names its
//! check with `[check] builtin = "name"`; this module is the registry of those names.

use crate::model::facts::Facts;
use crate::model::summary::{Located, RepoContext};
use crate::source::SourceFile;
use tree_sitter::Tree;

pub mod api_surface;
pub mod auth;
pub mod embedded_sql;
pub mod error_handling;
pub mod integrity;
pub(crate) mod py;
pub(crate) mod rust;
pub mod security;

/// How strong the evidence behind a finding is: `high`, proven on this path; `medium`,
/// likely; `low`, the pattern alone. A rule declares its usual confidence; a check may
/// report a hit with more or less (see [`Hit::confidence`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What a check sees of one file.
pub struct FileContext<'a> {
    pub file: &'a SourceFile,
    pub tree: &'a Tree,
    pub facts: &'a Facts,
    /// Project taint sources and sanitizers (configuration `[taint]`).
    pub taint: &'a crate::model::taint::TaintConfig,
    /// What the running check examined in this file (see [`FileContext::examined`]).
    pub tally: &'a std::cell::Cell<Tally>,
}

/// How many sites a check examined (outbound HTTP calls, SQL executions, workflow steps
/// naming an action...) and how many of them passed, i.e. gave no finding at any
/// confidence. The audit report derives maturity levels and positive controls from it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub examined: u32,
    pub passed: u32,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.examined = self.examined.saturating_add(other.examined);
        self.passed = self.passed.saturating_add(other.passed);
    }
}

impl FileContext<'_> {
    /// Counts one site the check looked at; `passed` when it reports nothing there.
    pub fn examined(&self, passed: bool) {
        let mut t = self.tally.get();
        t.add(Tally {
            examined: 1,
            passed: u32::from(passed),
        });
        self.tally.set(t);
    }
}

/// A finding as a check reports it: a byte range, the values for the rule's message
/// placeholders, and for taint-like findings the steps that led there.
#[derive(Debug, Default, Clone)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub vars: Vec<(&'static str, String)>,
    pub trace: Vec<(usize, usize, String)>,
    /// The evidence for this hit when it differs from the rule's usual confidence.
    pub confidence: Option<Confidence>,
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

    /// Reports this hit with `c` instead of the rule's usual confidence: stronger when the
    /// check proved more (a request value reaches the sink), weaker when it saw only the
    /// pattern.
    pub fn confidence(mut self, c: Confidence) -> Hit {
        self.confidence = Some(c);
        self
    }
}

pub type CheckFn = fn(&FileContext<'_>, &mut Vec<Hit>);

const CHECKS: &[(&str, CheckFn)] = &[
    (
        "unbounded-pagination-parameter",
        api_surface::params::unbounded_pagination_parameter,
    ),
    (
        "unclamped-request-pagination",
        api_surface::params::unclamped_request_pagination,
    ),
    (
        "id-path-param-typed-str",
        api_surface::params::id_path_param_typed_str,
    ),
    (
        "admin-route-without-auth",
        auth::routes::admin_route_without_auth,
    ),
    (
        "route-missing-ownership-check",
        auth::routes::route_missing_ownership_check,
    ),
    (
        "sensitive-route-without-rate-limit",
        auth::routes::sensitive_route_without_rate_limit,
    ),
    (
        "non-constant-time-compare",
        security::compare::non_constant_time_compare,
    ),
    (
        "naive-utc-datetime",
        security::datetimes::naive_utc_datetime,
    ),
    (
        "sensitive-data-logged",
        security::logging::sensitive_data_logged,
    ),
    ("taint-sql-injection", security::taint::sql_injection),
    ("sql-from-strings", security::sql_strings::sql_from_strings),
    (
        "cors-wildcard-with-credentials",
        security::cors::cors_wildcard_with_credentials,
    ),
    ("config-leak", security::exposure::config_leak),
    (
        "shared-db-connection",
        integrity::shared_connections::shared_connection,
    ),
    (
        "taint-command-injection",
        security::taint::command_injection,
    ),
    ("taint-ssrf", security::taint::ssrf),
    ("taint-path-traversal", security::taint::path_traversal),
    ("weak-path-prefix-guard", security::taint::weak_path_guard),
    ("code-execution", security::execution::code_execution),
    ("shell-command", security::execution::shell_command),
    ("weak-hash", security::crypto::weak_hash),
    ("weak-cipher", security::crypto::weak_cipher),
    ("insecure-random", security::crypto::insecure_random),
    ("xml-untrusted", security::unsafe_apis::xml_untrusted),
    (
        "insecure-file-permissions",
        security::unsafe_apis::insecure_file_permissions,
    ),
    ("tar-extraction", security::unsafe_apis::tar_extraction),
    ("debug-enabled", security::unsafe_apis::debug_enabled),
    ("old-tls", security::unsafe_apis::old_tls),
    ("ssh-host-key", security::unsafe_apis::ssh_host_key),
    ("unsafe-loader", security::unsafe_apis::unsafe_loader),
    ("unescaped-html", security::unsafe_apis::unescaped_html),
    ("mass-assignment", security::input_misuse::mass_assignment),
    ("csv-injection", security::input_misuse::csv_injection),
    ("nan-injection", security::input_misuse::nan_injection),
    (
        "rust-dangerous-cert-verifier",
        security::rust_baseline::dangerous_verifier,
    ),
    ("rust-weak-hash", security::rust_baseline::weak_hash),
    ("rust-temp-dir-path", security::rust_baseline::temp_dir_path),
    (
        "rust-sensitive-header",
        security::rust_baseline::sensitive_header,
    ),
    (
        "rust-exe-path-trust",
        security::rust_baseline::exe_path_trust,
    ),
    (
        "insert-without-conflict-handling",
        integrity::queries::insert_without_conflict_handling,
    ),
    ("query-in-loop", integrity::queries::query_in_loop),
    (
        "sql-write-without-where",
        integrity::write_without_where::write_without_where,
    ),
    (
        "sql-index-without-concurrently",
        integrity::migrations::index_without_concurrently,
    ),
    (
        "check-then-insert",
        integrity::check_then_insert::check_then_insert,
    ),
    ("redis-keys", error_handling::resources::redis_keys),
    (
        "blind-except-swallowed",
        error_handling::bare_except::blind_except,
    ),
    (
        "http-call-without-timeout",
        error_handling::http_timeout::http_call_without_timeout,
    ),
    (
        "unbounded-request-cache",
        error_handling::resources::unbounded_cache,
    ),
    (
        "unbounded-retry-loop",
        error_handling::resources::unbounded_retry,
    ),
    ("fail-open-except", error_handling::fail_open::fail_open),
    (
        "client-per-request",
        error_handling::resources::client_per_request,
    ),
    (
        "unbounded-query-on-request-path",
        error_handling::resources::unbounded_query,
    ),
    (
        "sync-client-in-async",
        error_handling::flow::sync_client_in_async,
    ),
    (
        "writes-without-transaction",
        integrity::transactions::writes_without_transaction,
    ),
    (
        "swallowed-delivery-failure",
        error_handling::flow::swallowed_delivery,
    ),
    (
        "add-not-null-column-without-default",
        integrity::migrations::add_not_null_column,
    ),
    ("upload-read-whole", api_surface::uploads::upload_read_whole),
    (
        "retry-without-backoff",
        error_handling::flow::retry_without_backoff,
    ),
    (
        "retried-post-without-idempotency-key",
        error_handling::flow::retried_post,
    ),
    (
        "webhook-verification-bypass",
        security::webhooks::webhook_verification_bypass,
    ),
    (
        "workflow-security-step-cannot-fail",
        security::workflow::security_step_cannot_fail,
    ),
    (
        "workflow-privileged-checkout-of-pr-code",
        security::workflow::privileged_checkout_of_pr_code,
    ),
    (
        "workflow-unpinned-action",
        security::workflow::unpinned_action,
    ),
    ("workflow-secret-echoed", security::workflow::secret_echoed),
    (
        "workflow-permissions-write-all",
        security::workflow::permissions_write_all,
    ),
    (
        "workflow-script-injection",
        security::workflow::script_injection,
    ),
    (
        "rust-cors-any-origin-with-credentials",
        security::rust::cors_any_origin_with_credentials,
    ),
    ("rust-path-traversal", security::rust::path_traversal),
    (
        "rust-shell-command-injection",
        security::rust::shell_command_injection,
    ),
    ("rust-sql-built-with-format", security::rust::sql_injection),
    (
        "rust-unwrap-in-handler",
        error_handling::rust::unwrap_in_handler,
    ),
    (
        "rust-ignored-delivery-result",
        error_handling::rust::ignored_delivery_result,
    ),
    (
        "rust-blocking-call-in-async",
        error_handling::rust::blocking_call_in_async,
    ),
    (
        "rust-reqwest-without-timeout",
        error_handling::rust::reqwest_without_timeout,
    ),
    (
        "rust-unbounded-channel-in-handler",
        error_handling::rust::unbounded_channel_in_handler,
    ),
    (
        "rust-unbounded-static-cache",
        error_handling::rust::unbounded_static_cache,
    ),
    (
        "rust-tls-verification-disabled",
        security::rust::tls_verification_disabled,
    ),
    (
        "rust-route-outside-auth",
        auth::rust_routes::route_outside_auth,
    ),
    (
        "rust-id-path-param-string",
        api_surface::rust_params::id_path_param_string,
    ),
    (
        "rust-unclamped-page-size",
        api_surface::rust_params::unclamped_page_size,
    ),
    (
        "rust-route-missing-ownership-check",
        auth::rust_routes::route_missing_ownership_check,
    ),
    (
        "rust-insert-without-conflict-handling",
        integrity::rust_inserts::insert_without_conflict_handling,
    ),
];

/// A check over a file's raw text: runs without a parse, on any kind of file (secrets).
pub type TextCheckFn = fn(&SourceFile, &mut Vec<Hit>);

const TEXT_CHECKS: &[(&str, TextCheckFn)] = &[
    ("bare-except", error_handling::bare_except::bare_except),
    ("secret-private-key", security::secrets::private_key),
    ("secret-api-token", security::secrets::api_token),
    ("secret-assignment", security::secrets::secret_assignment),
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

// ---------------------------------------------------------------------------------------
// Repository checks: run once over every file's summary after the per-file pass.

/// A repository check's finding, already located.
#[derive(Debug, Clone)]
pub struct RepoHit {
    pub path: String,
    pub at: Located,
    pub vars: Vec<(&'static str, String)>,
    /// The evidence for this finding when it differs from the rule's usual confidence.
    pub confidence: Option<Confidence>,
}

pub type RepoCheckFn = fn(&RepoContext<'_>, &mut Vec<RepoHit>);

/// A repository check and what it needs from the per-file pass.
#[derive(Debug, Clone, Copy)]
pub struct RepoCheck {
    pub run: RepoCheckFn,
    /// Reads tables declared by Python ORM models (`crate::model::orm`): model files are then
    /// parsed even when no per-file rule needs their tree.
    pub needs_models: bool,
    /// Reads the web summaries of Python and Rust files (`crate::model::routes`): web files are
    /// then parsed even when no per-file rule needs their tree.
    pub needs_web: bool,
    /// Reads the files' parts of the Python project index (`crate::model::pyindex`): Python
    /// files then contribute one even when no index check is selected.
    pub needs_index: bool,
}

/// Registry of repository checks, by the name rule files use in `[check] builtin`.
const REPO_CHECKS: &[(&str, RepoCheckFn)] = &[
    (
        "python-undeclared-import",
        security::dependencies::undeclared_imports,
    ),
    (
        "python-transitive-only-import",
        security::dependencies::transitive_only_imports,
    ),
    (
        "requirements-unpinned",
        security::dependencies::unpinned_requirements,
    ),
    (
        "natural-key-without-unique",
        integrity::schema_keys::natural_key_without_unique,
    ),
    (
        "foreign-key-without-index",
        integrity::schema_keys::foreign_key_without_index,
    ),
    (
        "router-without-auth",
        auth::router_auth::router_without_auth,
    ),
    ("route-missing-auth", auth::router_auth::route_missing_auth),
    (
        "credential-check-without-limit",
        auth::rate_limit_project::credential_check_without_limit,
    ),
];

pub fn repo_lookup(name: &str) -> Option<RepoCheck> {
    REPO_CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, f)| RepoCheck {
            run: *f,
            needs_models: MODEL_CHECKS.contains(n),
            needs_web: WEB_CHECKS.contains(n),
            needs_index: INDEX_READERS.contains(n),
        })
}

/// Checks over the route inventory.
const WEB_CHECKS: &[&str] = &[
    "router-without-auth",
    "route-missing-auth",
    "credential-check-without-limit",
];

/// Repository checks that read the project index parts.
const INDEX_READERS: &[&str] = &[
    "credential-check-without-limit",
    "route-missing-auth",
    "router-without-auth",
];

/// Checks over the schema model, which Python ORM classes contribute to.
const MODEL_CHECKS: &[&str] = &[
    "natural-key-without-unique",
    "foreign-key-without-index",
    "credential-check-without-limit",
];

// ---------------------------------------------------------------------------------------
// Index checks: run once over the Python project index (`crate::model::pyindex`) after the
// per-file pass, for rules whose per-file match cannot see across functions and files. A
// rule names one with `index-check = "name"` next to its own `[match]` or `[check]`.

/// An index check's finding: the call it is reported at, and a trace whose steps may lie in
/// other files (path, byte range, label).
#[derive(Debug, Clone)]
pub struct ChainHit {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub vars: Vec<(&'static str, String)>,
    pub confidence: Option<Confidence>,
    pub trace: Vec<(String, usize, usize, String)>,
}

impl ChainHit {
    /// A finding at `start..end` in the file of function `g`, with the steps as its trace.
    pub fn at(
        ix: &crate::model::pyindex::ProjectIndex<'_>,
        g: usize,
        (start, end): (usize, usize),
        steps: &[crate::model::pyindex::Step],
        vars: Vec<(&'static str, String)>,
        confidence: Option<Confidence>,
    ) -> ChainHit {
        ChainHit {
            path: ix.file_of(g).path.to_string(),
            start,
            end,
            vars,
            confidence,
            trace: steps
                .iter()
                .map(|s| {
                    (
                        ix.file_of(s.func).path.to_string(),
                        s.start,
                        s.end,
                        s.label.clone(),
                    )
                })
                .collect(),
        }
    }
}

pub type IndexCheckFn = fn(&crate::model::pyindex::ProjectIndex<'_>, &mut Vec<ChainHit>);

const INDEX_CHECKS: &[(&str, IndexCheckFn)] = &[
    (
        "blocking-call-via-helpers",
        error_handling::blocking_chain::blocking_call_via_helpers,
    ),
    (
        "sync-client-via-helpers",
        error_handling::blocking_chain::sync_client_via_helpers,
    ),
    (
        "check-then-insert-via-helpers",
        integrity::insert_chain::check_then_insert_via_helpers,
    ),
    (
        "ownership-via-loader",
        auth::ownership_chain::ownership_via_loader,
    ),
    (
        "rust-blocking-via-helpers",
        error_handling::rust_chain::blocking_via_helpers,
    ),
    ("second-order-sql", security::stored_taint::second_order_sql),
    (
        "second-order-command",
        security::stored_taint::second_order_command,
    ),
    (
        "second-order-ssrf",
        security::stored_taint::second_order_ssrf,
    ),
    (
        "second-order-path",
        security::stored_taint::second_order_path,
    ),
];

/// What an index vet makes of a per-file finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vet {
    Keep,
    /// Handled elsewhere (a callee clamps, a helper filters by the owner): withdrawn.
    Withdraw,
    /// The index weakens the evidence: reported with this confidence.
    Demote(Confidence),
}

/// An index vet: given a per-file finding of its rule (the file's path and text, the byte
/// offset the finding starts at), what the project index makes of it. A rule names one
/// with `index-vet = "name"`.
pub type IndexVetFn = fn(&crate::model::pyindex::ProjectIndex<'_>, &str, &str, usize) -> Vet;

const INDEX_VETS: &[(&str, IndexVetFn)] = &[
    (
        "limit-bounded-by-callee",
        api_surface::bound_chain::limit_bounded_by_callee,
    ),
    (
        "owner-filter-in-callee",
        auth::ownership_chain::owner_filter_in_callee,
    ),
    ("unverified-decode", auth::jwt_peek::unverified_decode),
    ("admin-route-hooked", auth::routes::admin_route_hooked),
    (
        "signed-token-in-callee",
        auth::signed_token::signed_token_in_callee,
    ),
    (
        "create-covered-by-unique",
        integrity::insert_chain::create_covered_by_unique,
    ),
    ("cleaned-by-helper", security::html_vet::cleaned_by_helper),
    (
        "epoch-read-back-naive",
        security::datetimes::epoch_read_back_naive,
    ),
];

pub fn index_vet_lookup(name: &str) -> Option<IndexVetFn> {
    INDEX_VETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub fn index_lookup(name: &str) -> Option<IndexCheckFn> {
    INDEX_CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Re-judges one of the rule's per-file findings (path, a byte on its line) with what the
/// project index knows across files: a weaker confidence when the evidence says so.
pub type IndexRefineFn =
    fn(&crate::model::pyindex::ProjectIndex<'_>, &str, usize) -> Option<Confidence>;

/// Per index check: how it re-judges its rule's per-file findings.
const INDEX_REFINES: &[(&str, IndexRefineFn)] = &[(
    "check-then-insert-via-helpers",
    integrity::insert_chain::startup_only,
)];

pub fn index_refine_lookup(name: &str) -> Option<IndexRefineFn> {
    INDEX_REFINES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

pub fn repo_names() -> Vec<&'static str> {
    REPO_CHECKS.iter().map(|(n, _)| *n).collect()
}
