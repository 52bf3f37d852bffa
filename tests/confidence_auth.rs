//! Confidence of auth and API-surface findings whose evidence the code weakens: the
//! fixture annotations see every level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn ownership_of_library_metadata_is_low() {
    let found = confidences(&["fixtures/python/auth/kobo_library"]);
    // A custom column's definition: a model with no owner column and no reference to
    // another table. A user's source loaded by id: the rule's usual level.
    assert_eq!(level(&found, "AUTH004", "views.py", 45), "low");
    assert_eq!(level(&found, "AUTH004", "views.py", 37), "medium");
}

#[test]
fn page_size_behind_a_privileged_gate_is_low() {
    let found = confidences(&["fixtures/python/auth/kobo_library"]);
    // Export and staff-only routes turn away everyone else before the query.
    assert_eq!(level(&found, "API002", "exports.py", 18), "low");
    assert_eq!(level(&found, "API002", "exports.py", 32), "low");
    // A permission every user passes; an admin branch that is not a gate.
    assert_eq!(level(&found, "API002", "exports.py", 42), "medium");
    assert_eq!(level(&found, "API002", "exports.py", 56), "medium");
    // A staff-only decorator is the same gate; the same view without it stays medium.
    let shop = confidences(&["fixtures/python/web/django_shop"]);
    assert_eq!(level(&shop, "API002", "views.py", 58), "low");
    assert_eq!(level(&shop, "API002", "views.py", 49), "medium");
}

#[test]
fn unauthenticated_relay_of_public_data_is_low() {
    let found = confidences(&["fixtures/python/auth/extension_catalog"]);
    // Release notes fetched from public manifests, nothing stored: low. The stored
    // installation row: the rule's usual level.
    assert_eq!(level(&found, "AUTH001", "api.py", 28), "low");
    assert_eq!(level(&found, "AUTH001", "api.py", 39), "medium");
}

#[test]
fn decode_in_a_warned_development_backend_is_low() {
    let found = confidences(&["fixtures/python/auth/dev_backend.py"]);
    // A `Null*` stand-in that warns when built: low. The same class without the warning:
    // the rule's usual level.
    assert_eq!(level(&found, "AUTH003", "dev_backend.py", 22), "low");
    assert_eq!(level(&found, "AUTH003", "dev_backend.py", 33), "medium");
}

#[test]
fn open_write_that_only_sets_a_session_flag_is_low() {
    let found = confidences(&["fixtures/python/web/vault_flask"]);
    // The banner dismissal changes the visitor's own session and nothing stored.
    assert_eq!(level(&found, "AUTH006", "banner.py", 10), "low");
}

#[test]
fn open_admin_view_behind_an_admin_middleware_is_low() {
    let found = confidences(&["fixtures/python/web/forum_site"]);
    // A view of an `admin` package in a project whose middleware list turns non-staff away
    // from the admin namespace: low. An open view outside the admin area: medium.
    assert_eq!(level(&found, "AUTH006", "views.py", 11), "low");
    assert_eq!(level(&found, "AUTH006", "views.py", 9), "medium");
}

#[test]
fn open_redirect_built_from_a_lookup_is_low() {
    let shop = confidences(&["fixtures/python/web/django_shop"]);
    // Redirects to the order's page after `get_object_or_404`: it tells only whether the
    // order exists. The same shape that also saves the row: the rule's usual level.
    assert_eq!(level(&shop, "AUTH001", "tracking.py", 43), "low");
    assert_eq!(level(&shop, "AUTH001", "tracking.py", 50), "medium");
}

#[test]
fn weak_ownership_and_guessing_targets_are_low() {
    let found = confidences(&["fixtures/python/web/flask_meetups"]);
    // A read answering only names; the same read with the organiser's address stays medium.
    assert_eq!(level(&found, "AUTH004", "groups.py", 47), "low");
    assert_eq!(level(&found, "AUTH004", "groups.py", 56), "medium");
    // A signed-in re-check of the caller's own password, a resend that checks nothing, a
    // reset found by its random token; a one-time code, a confirmed code and a reset by
    // code stay medium.
    assert_eq!(level(&found, "AUTH005", "accounts.py", 23), "low");
    assert_eq!(level(&found, "AUTH005", "accounts.py", 39), "low");
    assert_eq!(level(&found, "AUTH005", "accounts.py", 57), "low");
    assert_eq!(level(&found, "AUTH005", "accounts.py", 31), "medium");
    assert_eq!(level(&found, "AUTH005", "accounts.py", 49), "medium");
    assert_eq!(level(&found, "AUTH005", "accounts.py", 68), "medium");
}

#[test]
fn allow_listed_route_and_names_only_walk_are_low() {
    let found = confidences(&["fixtures/python/web/chaos_lab"]);
    // A path the project's `PUBLIC_PATHS` lists on purpose: low. The same open read off
    // the list: the rule's usual level.
    assert_eq!(level(&found, "AUTH001", "dashboard.py", 16), "low");
    assert_eq!(level(&found, "AUTH001", "dashboard.py", 33), "medium");
    // A load in a helper whose handler answers only a login and a type: low. A caller's
    // note store read by id: medium.
    assert_eq!(level(&found, "AUTH004", "lab.py", 102), "low");
    assert_eq!(level(&found, "AUTH004", "lab.py", 62), "medium");
}
