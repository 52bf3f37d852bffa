//! Confidence of the error-handling (Rust and Python), workflow and shell-command findings
//! on their fixtures: the fixture annotations see every level, so the levels themselves are
//! pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn rust_blocking_and_timeout_levels() {
    let found = confidences(&[
        "fixtures/rust/notes-cli",
        "fixtures/rust/actix-shop/src/passwords.rs",
    ]);
    // In a handler and in a function a handler calls.
    assert_eq!(level(&found, "ERR005", "passwords.rs", 19), "high");
    assert_eq!(level(&found, "ERR005", "passwords.rs", 45), "high");
    // On the shutdown path.
    assert_eq!(level(&found, "ERR005", "passwords.rs", 53), "low");
    // Command-line code; under a polling deadline; a one-shot health probe.
    assert_eq!(level(&found, "ERR005", "sync.rs", 14), "low");
    assert_eq!(level(&found, "ERR101", "sync.rs", 16), "low");
    assert_eq!(level(&found, "ERR101", "sync.rs", 36), "medium");
    assert_eq!(level(&found, "ERR101", "health.rs", 7), "low");
}

#[test]
fn rust_blocking_through_helpers_levels() {
    let found = confidences(&["fixtures/rust/report-service"]);
    // A route handler (registered in another file) calls a blocking helper of another module.
    assert_eq!(level(&found, "ERR005", "handlers.rs", 7), "high");
    assert_eq!(level(&found, "ERR005", "handlers.rs", 12), "high");
    // A chain ending in a file read: usually a small local file.
    assert_eq!(level(&found, "ERR005", "handlers.rs", 40), "low");
    // A background job no handler reaches; start-up code `main` runs; a command-line binary.
    assert_eq!(level(&found, "ERR005", "audit.rs", 7), "medium");
    assert_eq!(level(&found, "ERR005", "main.rs", 28), "low");
    assert_eq!(level(&found, "ERR005", "export.rs", 11), "low");
}

#[test]
fn workflow_levels() {
    let found = confidences(&["fixtures/workflows/.github/workflows"]);
    // A version tag in a read-only job without secrets; a branch; a job with a secret.
    assert_eq!(level(&found, "SEC007", "checks.yml", 17), "low");
    assert_eq!(level(&found, "SEC007", "checks.yml", 20), "high");
    assert_eq!(level(&found, "SEC007", "checks.yml", 32), "high");
    // A token that can only comment on pull requests, without secrets, is low; an OIDC
    // token or code-scanning write is not.
    assert_eq!(level(&found, "SEC007", "pr-comment.yml", 17), "low");
    assert_eq!(level(&found, "SEC007", "pr-comment.yml", 19), "low");
    assert_eq!(level(&found, "SEC007", "pr-comment.yml", 30), "high");
    assert_eq!(level(&found, "SEC007", "pr-comment.yml", 39), "high");
    // The job's own token under declared read/status scopes is no secret; undeclared, it is.
    assert_eq!(level(&found, "SEC007", "coverage-token.yml", 18), "low");
    assert_eq!(level(&found, "SEC007", "coverage-token.yml", 28), "high");
    // A reusable workflow sees its caller's event.
    assert_eq!(level(&found, "SEC010", "reusable-e2e.yml", 18), "low");
}

#[test]
fn python_error_handling_levels() {
    let dir = "fixtures/python/error-handling";
    let found = confidences(&[
        &format!("{dir}/err001_connectors.py"),
        &format!("{dir}/err001_command_line.py"),
        &format!("{dir}/http_clients.py"),
        &format!("{dir}/err009_wait_for_broker.py"),
        &format!("{dir}/retries.py"),
        &format!("{dir}/err013_startup_files.py"),
        &format!("{dir}/err013_command_line.py"),
    ]);
    // A data-source connector's calls.
    for line in [18, 23, 28] {
        assert_eq!(level(&found, "ERR001", "err001_connectors.py", line), "low");
    }
    // A command-line program's call on its session.
    assert_eq!(level(&found, "ERR001", "err001_command_line.py", 16), "low");
    // Outside a connector: the rule's own level.
    assert_eq!(level(&found, "ERR001", "http_clients.py", 14), "high");
    // A wait-for-dependency loop at module level; a retry loop in a function.
    assert_eq!(
        level(&found, "ERR009", "err009_wait_for_broker.py", 17),
        "low"
    );
    assert_eq!(level(&found, "ERR009", "retries.py", 17), "medium");
    // A start-up coroutine writing a local file; a coroutine given request data; a route.
    assert_eq!(
        level(&found, "ERR013", "err013_startup_files.py", 18),
        "low"
    );
    assert_eq!(
        level(&found, "ERR013", "err013_startup_files.py", 25),
        "medium"
    );
    assert_eq!(
        level(&found, "ERR013", "err013_startup_files.py", 34),
        "medium"
    );
    // A profiling middleware's report, written only when the switch is on.
    assert_eq!(
        level(&found, "ERR013", "err013_startup_files.py", 48),
        "low"
    );
    // A command-line program's coroutine.
    assert_eq!(level(&found, "ERR013", "err013_command_line.py", 12), "low");
}

#[test]
fn rust_static_asset_levels() {
    let found = confidences(&["fixtures/rust/asset-server/src/pages.rs"]);
    assert_eq!(level(&found, "ERR005", "pages.rs", 15), "low");
    assert_eq!(level(&found, "ERR005", "pages.rs", 25), "high");
}

#[test]
fn python_shell_command_levels() {
    let found = confidences(&["fixtures/python/security/baseline/sec030_031_execution.py"]);
    // Built only from the function's parameters (directly or through a local): low, as a
    // variable is; built from configuration in place: the rule's medium.
    for (line, want) in [(81, "low"), (161, "low"), (155, "medium")] {
        let got = level(&found, "SEC031", "sec030_031_execution.py", line);
        assert_eq!(got, want, "SEC031 at line {line}");
    }
}

#[test]
fn python_best_effort_and_command_levels() {
    let dir = "fixtures/python/error-handling";
    let found = confidences(&[
        &format!("{dir}/err002_low_stakes.py"),
        &format!("{dir}/err003_best_effort.py"),
        &format!("{dir}/err004_memoised.py"),
        &format!("{dir}/cli/presets.py"),
        &format!("{dir}/err001_cli_commands.py"),
        &format!("{dir}/update-ranges.py"),
        &format!("{dir}/err001_invoke_tasks.py"),
        &format!("{dir}/err002_thumbnails.py"),
    ]);
    // Import-time fallback, logged traceback, inside `finally`, a setting switched off;
    // then a swallowed statement timeout.
    for line in [13, 22, 37, 47] {
        assert_eq!(level(&found, "ERR002", "err002_low_stakes.py", line), "low");
    }
    assert_eq!(level(&found, "ERR002", "err002_low_stakes.py", 55), "high");
    // A font or a cover that cannot be used while drawing a picture; then a download.
    for line in [17, 28] {
        assert_eq!(level(&found, "ERR002", "err002_thumbnails.py", line), "low");
    }
    assert_eq!(level(&found, "ERR002", "err002_thumbnails.py", 37), "high");
    // Skipping an item, a second failure, a teardown step; then a dropped hook failure.
    for line in [20, 32, 42] {
        assert_eq!(
            level(&found, "ERR003", "err003_best_effort.py", line),
            "low"
        );
    }
    assert_eq!(level(&found, "ERR003", "err003_best_effort.py", 71), "high");
    // Usage telemetry that must not break the command; then the same handler around a save.
    assert_eq!(level(&found, "ERR003", "err003_best_effort.py", 80), "low");
    assert_eq!(level(&found, "ERR003", "err003_best_effort.py", 88), "high");
    // A helper only a `finally` calls (a "stopped" notice); the same one called at start.
    assert_eq!(level(&found, "ERR003", "err003_best_effort.py", 104), "low");
    assert_eq!(
        level(&found, "ERR003", "err003_best_effort.py", 111),
        "high"
    );
    // A blocking helper on a served loop; on a command-line program's loop.
    assert_eq!(level(&found, "ERR004", "err004_memoised.py", 39), "medium");
    assert_eq!(level(&found, "ERR004", "presets.py", 19), "low");
    // A command of the click group; a service function; a script that is no module.
    assert_eq!(level(&found, "ERR001", "err001_cli_commands.py", 22), "low");
    assert_eq!(
        level(&found, "ERR001", "err001_cli_commands.py", 31),
        "high"
    );
    assert_eq!(level(&found, "ERR001", "update-ranges.py", 11), "low");
    // A task of the invoke task file; a helper of the same module.
    assert_eq!(level(&found, "ERR001", "err001_invoke_tasks.py", 13), "low");
    assert_eq!(
        level(&found, "ERR001", "err001_invoke_tasks.py", 21),
        "high"
    );
}

#[test]
fn python_narrow_and_one_time_handler_levels() {
    let dir = "fixtures/python/error-handling";
    let found = confidences(&[
        &format!("{dir}/err002_narrow_bodies.py"),
        &format!("{dir}/err003_rows_and_items.py"),
        &format!("{dir}/integrations/cookbook_export.py"),
        &format!("{dir}/ledger/migrations/0004_copy_currency.py"),
    ]);
    // A row with a default when missing (twice), a logged failure (twice), a usage tally,
    // an item skipped in a loop, conversions of values at hand (three); then a lookup keyed
    // by form input.
    for line in [57, 67, 76, 88, 101, 111, 128, 138, 150] {
        assert_eq!(
            level(&found, "ERR002", "err002_narrow_bodies.py", line),
            "low"
        );
    }
    assert_eq!(
        level(&found, "ERR002", "err002_narrow_bodies.py", 119),
        "high"
    );
    // One insert of a row that may exist; a loop item skipped; an optional lookup's
    // attribute; then a broad catch that names no expected failure.
    for line in [15, 26, 55] {
        assert_eq!(
            level(&found, "ERR003", "err003_rows_and_items.py", line),
            "low"
        );
    }
    assert_eq!(
        level(&found, "ERR003", "err003_rows_and_items.py", 61),
        "high"
    );
    // Optional pieces of an imported recipe; a one-time data migration.
    for line in [15, 20] {
        assert_eq!(level(&found, "ERR003", "cookbook_export.py", line), "low");
    }
    assert_eq!(level(&found, "ERR002", "0004_copy_currency.py", 12), "low");
    assert_eq!(level(&found, "ERR003", "0004_copy_currency.py", 20), "low");
}

#[test]
fn rust_unwrap_levels() {
    let found = confidences(&["fixtures/rust/actix-shop/src/live.rs"]);
    // Request input; a row a loaded row references; inside a caught blocking task.
    assert_eq!(level(&found, "ERR102", "live.rs", 38), "medium");
    assert_eq!(level(&found, "ERR102", "live.rs", 102), "low");
    assert_eq!(level(&found, "ERR102", "live.rs", 114), "low");
}
