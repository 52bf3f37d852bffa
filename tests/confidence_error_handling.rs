//! Confidence of error-handling findings whose near misses are still reported: the fixture
//! annotations see every level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn retried_webhook_deliveries_are_low() {
    let found = confidences(&["fixtures/python/error-handling/err016_webhook_delivery.py"]);
    // A POST to the subscriber's `webhook.url`.
    assert_eq!(
        level(&found, "ERR016", "err016_webhook_delivery.py", 21),
        "low"
    );
    // A POST that creates a ticket, with a webhook's payload in hand.
    assert_eq!(
        level(&found, "ERR016", "err016_webhook_delivery.py", 35),
        "medium"
    );
}

#[test]
fn bare_excepts_whose_failure_surfaces_are_low() {
    let dir = "fixtures/python/error-handling";
    let found = confidences(&[
        &format!("{dir}/err002_surfaced_failures.py"),
        &format!("{dir}/reports/management/commands/purge_notices.py"),
    ]);
    // A 400 raised instead, a permission check that fails closed, the function's own "no
    // result"; then a check that fails open and a `None` given nowhere else.
    for line in [19, 28, 55] {
        assert_eq!(
            level(&found, "ERR002", "err002_surfaced_failures.py", line),
            "low"
        );
    }
    for line in [38, 63] {
        assert_eq!(
            level(&found, "ERR002", "err002_surfaced_failures.py", line),
            "high"
        );
    }
    // A command that tells its operator; then one that drops the failure.
    assert_eq!(level(&found, "ERR002", "purge_notices.py", 22), "low");
    assert_eq!(level(&found, "ERR002", "purge_notices.py", 27), "high");
}

#[test]
fn coroutines_on_private_loops_are_low() {
    let found = confidences(&["fixtures/python/error-handling/relay_jobs"]);
    // Awaited only inside `asyncio.run(..)` of a sync function, and its uncalled sibling in
    // the same module: low. The same helper chain under a route handler: medium.
    assert_eq!(level(&found, "ERR004", "notify.py", 17), "low");
    assert_eq!(level(&found, "ERR004", "notify.py", 23), "low");
    assert_eq!(level(&found, "ERR004", "pager.py", 13), "medium");
}

#[test]
fn bare_excepts_whose_failure_is_answered_are_low() {
    let dir = "fixtures/python/error-handling";
    let found = confidences(&[
        &format!("{dir}/err002_answered_failures.py"),
        &format!("{dir}/library_import.py"),
    ]);
    // Logged and answered (an empty page, a 500), reported to Sentry, rendered by Mako, a
    // blank display name, a cache file, an optional platform import, an unparsed line, a
    // `None` checked next, the function's own default, a `.first()` row.
    for line in [24, 34, 65, 74, 84, 105, 126, 138, 162, 186, 195] {
        assert_eq!(
            level(&found, "ERR002", "err002_answered_failures.py", line),
            "low",
            "line {line}"
        );
    }
    // A check answering `True`, a log call that raises, a default from the form, a file
    // that is no cache, a row written per line, a `None` stored, a catch after `except
    // Exception`.
    for line in [45, 55, 94, 116, 150, 174, 206] {
        assert_eq!(
            level(&found, "ERR002", "err002_answered_failures.py", line),
            "high",
            "line {line}"
        );
    }
    // A step of a one-time import of another application's data.
    assert_eq!(level(&found, "ERR002", "library_import.py", 13), "low");
}

#[test]
fn unfiltered_listing_only_platform_admins_reach_is_low() {
    let found = confidences(&["fixtures/python/web/chaos_lab"]);
    // Everyone but platform admins is forced to their own teams first: low. The same
    // listing any caller reaches by leaving the filter out: medium.
    assert_eq!(level(&found, "ERR012", "teams.py", 25), "low");
    assert_eq!(level(&found, "ERR012", "teams.py", 40), "medium");
}
