//! The default scope of a scan (`scan::scope`): test code, scripts, migrations that already
//! ran and low-confidence findings are left out and counted; each option brings its part
//! back.

#[path = "support/process.rs"]
mod process;

use std::path::Path;

fn strata(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--no-config"];
    all.extend_from_slice(args);
    all.push(".");
    process::scan_json(Some(dir), &all)
}

fn rules_at(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

/// Writes `text` to `rel` under `dir`, creating its directories.
fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| write(dir.path(), p, s);
    w(
        "app/client.py",
        "import requests\n\ndef fetch(u):\n    return requests.get(u)\n",
    );
    w(
        "tests/test_client.py",
        "import requests\n\ndef test_fetch():\n    requests.get('http://stub')\n",
    );
    w(
        "scripts/backfill.py",
        "import requests\n\nrequests.post('http://localhost/backfill')\n",
    );
    w(
        "db/migrations/0001_a.sql",
        "CREATE INDEX a_idx ON accounts (email);\n",
    );
    w(
        "db/migrations/0002_b.sql",
        "CREATE INDEX b_idx ON orders (customer_id);\n",
    );
    w(
        "crates/api/src/lib.rs",
        "#[cfg(test)]\nmod tests {\n    fn c() -> reqwest::Client {\n        reqwest::Client::new()\n    }\n}\n",
    );
    w(
        "app/store.py",
        "import pickle\n\ndef load(b):\n    return pickle.loads(b)\n",
    );
    dir
}

#[test]
fn default_scope_leaves_out_tests_scripts_and_old_migrations() {
    let dir = project();
    let v = strata(dir.path(), &[]);
    assert_eq!(
        rules_at(&v),
        [
            "ERR001 app/client.py:4",
            "SEC002 app/store.py:4",
            "DATA004 db/migrations/0002_b.sql:1",
        ]
    );
    let n = &v["summary"]["not_reported"];
    assert_eq!(n["historical_migrations"], 1);
    assert_eq!(n["test_code"], 1, "the #[cfg(test)] module: {n}");
    assert_eq!(n["test_files"], 1);
    assert_eq!(n["script_files"], 1);
}

#[test]
fn options_bring_each_part_back() {
    let dir = project();
    let all = strata(
        dir.path(),
        &["--include-tests", "--include-scripts", "--all-migrations"],
    );
    let got = rules_at(&all);
    for want in [
        "ERR001 tests/test_client.py:4",
        "ERR001 scripts/backfill.py:3",
        "DATA004 db/migrations/0001_a.sql:1",
        "ERR101 crates/api/src/lib.rs:4",
    ] {
        assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
    }
    assert!(
        all["summary"].get("not_reported").is_none(),
        "{}",
        all["summary"]
    );

    // SEC002 is a medium-confidence rule: a higher minimum leaves it out and counts it.
    let high = strata(dir.path(), &["--min-confidence", "high"]);
    assert!(!rules_at(&high).iter().any(|g| g.starts_with("SEC002")));
    assert_eq!(high["summary"]["not_reported"]["low_confidence"], 2);
}

#[test]
fn the_configuration_sets_the_scope_too() {
    let dir = project();
    std::fs::write(
        dir.path().join("strata.toml"),
        "include-tests = true\nmin-confidence = \"high\"\n",
    )
    .unwrap();
    let v = process::scan_json(Some(dir.path()), &["."]);
    let got = rules_at(&v);
    assert!(
        got.iter().any(|g| g == "ERR001 tests/test_client.py:4"),
        "{got:?}"
    );
    assert!(!got.iter().any(|g| g.starts_with("SEC002")), "{got:?}");
}

#[test]
fn unittests_are_test_code() {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| write(dir.path(), p, s);
    // Sample input of a parser's tests.
    w(
        "unittests/scans/sample/crypto.py",
        "import pickle\n\ndef load(b):\n    return pickle.loads(b)\n",
    );
    // The same code in the service is reported.
    w(
        "app/digest.py",
        "import pickle\n\ndef load(b):\n    return pickle.loads(b)\n",
    );
    let v = strata(dir.path(), &[]);
    let got = rules_at(&v);
    assert!(
        got.iter().any(|g| g.ends_with("app/digest.py:4")),
        "{got:?}"
    );
    assert!(!got.iter().any(|g| g.contains("unittests/")), "{got:?}");
    assert_eq!(v["summary"]["not_reported"]["test_files"], 1);
    let all = rules_at(&strata(dir.path(), &["--include-tests"]));
    assert!(
        all.iter()
            .any(|g| g.contains("unittests/scans/sample/crypto.py")),
        "{all:?}"
    );
}

#[test]
fn code_in_python_migrations_that_already_ran_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| write(dir.path(), p, s);
    let data_migration = "import pickle\n\ndef forwards(apps, schema_editor):\n    for row in apps.get_model('app', 'Pref').objects.all():\n        row.value = pickle.loads(row.blob)\n";
    // Django's MIGRATION_MODULES may point at `db_migrations/`: the same rule applies.
    for d in ["app/migrations", "app/db_migrations"] {
        w(&format!("{d}/0001_initial.py"), "OPS = []\n");
        w(&format!("{d}/0002_depickle.py"), data_migration);
        w(&format!("{d}/0003_latest.py"), data_migration);
    }
    let v = strata(dir.path(), &[]);
    assert_eq!(
        rules_at(&v),
        [
            "SEC002 app/db_migrations/0003_latest.py:5",
            "SEC002 app/migrations/0003_latest.py:5",
        ]
    );
    assert_eq!(v["summary"]["not_reported"]["historical_migrations"], 2);
    let all = rules_at(&strata(dir.path(), &["--all-migrations"]));
    assert_eq!(all.len(), 4, "{all:?}");
}

#[test]
fn code_kinds_are_read_below_the_directory_scanned() {
    // A checkout under `~/dev/` or a project called `examples`, scanned by its path from
    // outside: the directory named is the project, not a script directory.
    let outer = tempfile::tempdir().unwrap();
    write(
        outer.path(),
        "dev/shop/app/store.py",
        "import pickle\n\ndef load(b):\n    return pickle.loads(b)\n",
    );
    write(
        outer.path(),
        "dev/shop/tests/test_store.py",
        "import pickle\n\ndef test_load():\n    pickle.loads(b'')\n",
    );
    let v = process::scan_json(Some(outer.path()), &["--no-config", "dev/shop"]);
    assert_eq!(rules_at(&v), ["SEC002 dev/shop/app/store.py:4"]);
    assert_eq!(v["summary"]["not_reported"]["test_files"], 1);
    // The same from the project's parent by absolute path.
    let abs = outer.path().join("dev/shop");
    let v = process::scan_json(Some(outer.path()), &["--no-config", abs.to_str().unwrap()]);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn a_demo_project_shipped_with_a_library_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| write(dir.path(), p, s);
    // Quick-start settings of the demo site next to a reusable app.
    w(
        "demodesk/config/settings.py",
        "DEBUG = True\nSECRET_KEY = \"k8#vQz1!pL0m$Xw7^Tn3@Rb6&Yc2*Hd5\"\n",
    );
    // The same settings in the product are reported.
    w(
        "site/settings.py",
        "DEBUG = True\nSECRET_KEY = \"k8#vQz1!pL0m$Xw7^Tn3@Rb6&Yc2*Hd5\"\n",
    );
    let v = strata(dir.path(), &[]);
    let got = rules_at(&v);
    assert!(
        got.iter().any(|g| g == "SEC016 site/settings.py:2"),
        "{got:?}"
    );
    assert!(!got.iter().any(|g| g.contains("demodesk/")), "{got:?}");
    assert_eq!(v["summary"]["not_reported"]["script_files"], 1);
    // Scanning the demo itself reports it.
    let own = rules_at(&process::scan_json(
        Some(dir.path()),
        &["--no-config", "demodesk"],
    ));
    assert!(
        own.iter().any(|g| g.starts_with("SEC016 demodesk/")),
        "{own:?}"
    );
}

#[test]
fn vendored_packages_are_skipped_and_counted_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| write(dir.path(), p, s);
    let fetch = "import requests\n\ndef fetch(u):\n    return requests.get(u)\n";
    w("requirements.txt", "requests==2.32.3\n");
    w("app/client.py", fetch);
    for pkg in ["requests", "urllib3", "certifi"] {
        w(&format!("lib/{pkg}/__init__.py"), fetch);
    }
    // A package of the application that happens to be called `lib` is its own code.
    w("app/lib/__init__.py", "");
    w("app/lib/ping.py", fetch);
    let v = strata(dir.path(), &[]);
    assert_eq!(
        rules_at(&v),
        ["ERR001 app/client.py:4", "ERR001 app/lib/ping.py:4"]
    );
    let nr = &v["summary"]["not_reported"];
    assert_eq!(nr["vendored_files"], 3, "{nr}");
    assert_eq!(nr["vendored_dirs"], serde_json::json!(["lib/"]), "{nr}");
    let all = strata(dir.path(), &["--include-vendored"]);
    assert_eq!(rules_at(&all).len(), 5, "{:?}", rules_at(&all));
    assert!(all["summary"]["not_reported"]["vendored_files"].is_null());
}
