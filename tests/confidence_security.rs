//! Confidence of the security findings whose near misses are still reported: the fixture
//! annotations see every level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn sql_near_misses_are_low() {
    let found = confidences(&[
        "fixtures/python/security/sec027_backup_jobs.py",
        "fixtures/python/security/sec027_grid_builder.py",
        "fixtures/rust/worker/src/schemas.rs",
    ]);
    // Quotes escaped by hand; an integer id by name; free text.
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 39), "low");
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 47), "low");
    assert_eq!(
        level(&found, "SEC027", "sec027_backup_jobs.py", 52),
        "medium"
    );
    // A quoted identifier in DDL.
    assert_eq!(level(&found, "SEC027", "sec027_backup_jobs.py", 85), "low");
    // Identifier and clause positions, an id list joined unquoted into IN (...): low. A value
    // in quotes, after a comparison, or joined in quotes: medium.
    for line in [21, 23, 25, 27, 35, 41] {
        assert_eq!(
            level(&found, "SEC027", "sec027_grid_builder.py", line),
            "low"
        );
    }
    for line in [47, 54] {
        assert_eq!(
            level(&found, "SEC027", "sec027_grid_builder.py", line),
            "medium"
        );
    }
    // A quoted identifier in DDL; a value in a literal.
    assert_eq!(level(&found, "SEC107", "schemas.rs", 9), "low");
    assert_eq!(level(&found, "SEC107", "schemas.rs", 16), "medium");
}

#[test]
fn weak_digests_of_a_cache_validator_are_low() {
    let found = confidences(&["fixtures/python/security/sec032_feed_etag.py"]);
    // An ETag: low. The same digest as a token: medium.
    assert_eq!(level(&found, "SEC032", "sec032_feed_etag.py", 9), "low");
    assert_eq!(level(&found, "SEC032", "sec032_feed_etag.py", 15), "medium");
}

#[test]
fn shuffled_secure_characters_are_low() {
    let found = confidences(&["fixtures/python/security/sec034_pin_mixer.py"]);
    // Characters drawn with `secrets`, only shuffled by `random`: low. Characters drawn with
    // `random` and shuffled: medium.
    assert_eq!(level(&found, "SEC034", "sec034_pin_mixer.py", 13), "low");
    assert_eq!(level(&found, "SEC034", "sec034_pin_mixer.py", 22), "medium");
}

#[test]
fn logged_objects_and_rows_a_helper_is_handed_are_low() {
    let found = confidences(&["fixtures/python/security/sec025_device_logs.py"]);
    // A name holding an object whose methods are called; an email of a row a helper handed
    // the request receives: low. The code itself; a route handler's parameter: medium.
    assert_eq!(level(&found, "SEC025", "sec025_device_logs.py", 17), "low");
    assert_eq!(
        level(&found, "SEC025", "sec025_device_logs.py", 25),
        "medium"
    );
    assert_eq!(level(&found, "SEC025", "sec025_device_logs.py", 33), "low");
    assert_eq!(
        level(&found, "SEC025", "sec025_device_logs.py", 41),
        "medium"
    );
}

#[test]
fn epochs_read_back_as_local_time_are_low() {
    let found = confidences(&["fixtures/python/security/sec001_key_store"]);
    // An epoch of naive UTC stored under a name another file reads back with a naive
    // `fromtimestamp`: the offset cancels, low. One nobody reads back that way: high.
    assert_eq!(level(&found, "SEC001", "keys.py", 11), "low");
    assert_eq!(level(&found, "SEC001", "keys.py", 17), "high");
}

#[test]
fn jwt_from_the_token_endpoint_is_low() {
    let found = confidences(&["fixtures/python/auth/sso_callback.py"]);
    // Received from the identity provider's token endpoint by the OAuth callback, two
    // helpers up: low. A bearer token from the client: the rule's usual level.
    assert_eq!(level(&found, "AUTH003", "sso_callback.py", 16), "low");
    assert_eq!(level(&found, "AUTH003", "sso_callback.py", 39), "medium");
}

#[test]
fn stored_by_a_function_no_route_reaches_is_low() {
    let found = confidences(&["fixtures/python/taint/hook_relay"]);
    // Stored by a service a handler feeds: the rule's level. Stored from a parameter that is
    // only annotated with a request body class: low.
    assert_eq!(level(&found, "SEC022", "worker.py", 25), "medium");
    assert_eq!(level(&found, "SEC022", "worker.py", 34), "low");
    assert_eq!(level(&found, "SEC023", "worker.py", 51), "medium");
}

#[test]
fn tokens_every_caller_made_are_low() {
    let found = confidences(&["fixtures/python/security/sec004_server_made_values.py"]);
    // A helper every caller hands a value it computed itself: low. The same helper shape
    // fed with request data: medium.
    assert_eq!(
        level(&found, "SEC004", "sec004_server_made_values.py", 24),
        "low"
    );
    assert_eq!(
        level(&found, "SEC004", "sec004_server_made_values.py", 45),
        "medium"
    );
}

#[test]
fn markup_joined_from_object_state_is_low() {
    let found = confidences(&["fixtures/python/security/sec042_widget_markup.py"]);
    // Markup joined from the object's own attributes: low. The same joined with request
    // data: medium.
    assert_eq!(
        level(&found, "SEC042", "sec042_widget_markup.py", 75),
        "low"
    );
    assert_eq!(
        level(&found, "SEC042", "sec042_widget_markup.py", 79),
        "medium"
    );
    // A stored row's `__str__` next to a date a helper of the file formats: low. The caller's
    // text next to the same: medium.
    assert_eq!(
        level(&found, "SEC042", "sec042_widget_markup.py", 108),
        "low"
    );
    assert_eq!(
        level(&found, "SEC042", "sec042_widget_markup.py", 114),
        "medium"
    );
}

#[test]
fn sample_secrets_of_a_self_test_and_debug_of_a_shared_settings_base_are_low() {
    let found = confidences(&[
        "fixtures/secrets/app/vault.py",
        "fixtures/secrets/app/otp_bridge.py",
        "fixtures/python/security/baseline/tracker",
        "fixtures/python/security/baseline/shop",
        "fixtures/python/security/baseline/confhub",
    ]);
    // A password in the module's `if __name__ == "__main__":` self-test; a key in the
    // module itself stays medium.
    assert_eq!(level(&found, "SEC016", "vault.py", 32), "low");
    assert_eq!(level(&found, "SEC016", "vault.py", 26), "medium");
    // A shipped default handed to the settings lookup as its fallback, and an analytics
    // stream's ingestion secret: low. A key used as is and the same keyword without a
    // measurement stream stay medium.
    assert_eq!(level(&found, "SEC016", "otp_bridge.py", 10), "low");
    assert_eq!(level(&found, "SEC016", "otp_bridge.py", 13), "medium");
    assert_eq!(level(&found, "SEC016", "otp_bridge.py", 27), "low");
    assert_eq!(level(&found, "SEC016", "otp_bridge.py", 35), "medium");
    // `DEBUG = True` in the shared base of a settings package; in the deployed module it
    // stays medium.
    assert_eq!(level(&found, "SEC038", "common.py", 5), "low");
    assert_eq!(level(&found, "SEC038", "production.py", 5), "medium");
    // A wildcard host list explained by the project's own host-checking middleware; the same
    // list with no such middleware stays medium.
    assert_eq!(level(&found, "SEC038", "settings.py", 16), "low");
    assert_eq!(level(&found, "SEC038", "production.py", 8), "medium");
}

#[test]
fn findings_a_peer_suppression_names_are_low() {
    let found = confidences(&["fixtures/python/security/peer_acknowledged.py"]);
    // Bandit's `# nosec B305` and Ruff's `# noqa: S311` name the same weakness: low.
    assert_eq!(level(&found, "SEC033", "peer_acknowledged.py", 10), "low");
    assert_eq!(level(&found, "SEC034", "peer_acknowledged.py", 17), "low");
    // A bare `# nosec`, and one naming another test: the rule's level.
    assert_eq!(
        level(&found, "SEC033", "peer_acknowledged.py", 24),
        "medium"
    );
    assert_eq!(
        level(&found, "SEC033", "peer_acknowledged.py", 31),
        "medium"
    );
}

#[test]
fn imports_that_come_with_a_development_dependency_are_low() {
    let found = confidences(&["fixtures/manifests/forked_names"]);
    // astroid comes only with pylint, which the lint group declares; pylint itself is
    // declared only there: both low. An import nothing declares: the rule's level.
    assert_eq!(level(&found, "SEC011", "checkers.py", 5), "low");
    assert_eq!(level(&found, "SEC011", "checkers.py", 7), "low");
    assert_eq!(level(&found, "SEC011", "styles.py", 13), "medium");
    // Imports the file acknowledges as missing where the linter runs (`# pylint:
    // disable=import-error` above, `# type: ignore[import-not-found]` on the line): low.
    assert_eq!(level(&found, "SEC011", "hosted.py", 4), "low");
    assert_eq!(level(&found, "SEC011", "hosted.py", 9), "low");
}

#[test]
fn weakly_missing_imports_are_low() {
    // Declared by the sibling application that installs the workspace package: low; declared
    // nowhere: medium. `typing_extensions` without a lock file: low.
    let found = confidences(&["fixtures/manifests/workspace_checks"]);
    assert_eq!(level(&found, "SEC011", "github.py", 5), "low");
    assert_eq!(level(&found, "SEC011", "github.py", 8), "medium");
    let found = confidences(&["fixtures/manifests/forked_names"]);
    assert_eq!(level(&found, "SEC011", "shapes.py", 8), "low");
    // The transport errors of the declared client, caught next to it: low; the same kind of
    // import in a file that does not use the client: medium.
    let found = confidences(&["fixtures/manifests/locked_shop"]);
    assert_eq!(level(&found, "SEC012", "mesh.py", 9), "low");
    assert_eq!(level(&found, "SEC012", "relay.py", 5), "medium");
}

#[test]
fn debugger_in_a_function_only_the_main_guard_calls_is_low() {
    let found = confidences(&["fixtures/python/security/flask_entry"]);
    assert_eq!(level(&found, "SEC038", "run.py", 14), "low");
    assert_eq!(level(&found, "SEC038", "run.py", 21), "medium");
}

#[test]
fn signed_local_license_file_is_low() {
    let found = confidences(&["fixtures/python/security/sec029_license_file.py"]);
    // A license record read back from the user's own file, in a module with no web
    // framework: low. The same check in a verifier of posted payloads: the rule's level.
    assert_eq!(level(&found, "SEC029", "sec029_license_file.py", 28), "low");
    assert_eq!(
        level(&found, "SEC029", "sec029_license_file.py", 37),
        "medium"
    );
}

#[test]
fn a_self_update_from_the_projects_own_release_archive_is_low() {
    let found = confidences(&["fixtures/python/security/sec037_self_update.py"]);
    // The release installed over the program; then sample data extracted as it comes.
    assert_eq!(level(&found, "SEC037", "sec037_self_update.py", 19), "low");
    assert_eq!(
        level(&found, "SEC037", "sec037_self_update.py", 32),
        "medium"
    );
}
