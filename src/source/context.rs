//! Where a file's code runs, from its path: production, tests or scripts; and whether it is
//! a migration (and which one of its directory). The scan's scope (`scan::scope`) and the
//! engine use it to leave test code, scripts and migrations that already ran out of the
//! default report.

/// Where a file's code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Production,
    Test,
    Script,
}

/// Directory names whose files are tests.
const TEST_DIRS: &[&str] = &[
    "tests",
    "test",
    "unittests",
    "unit_tests",
    "__tests__",
    "e2e",
    "e2etests",
    "e2e_tests",
    "integration_tests",
    "functional_tests",
    "testdata",
    "test_data",
    "testutils",
    "testing",
    // Mock servers that stand in for upstreams in tests and local runs.
    "mocks",
    "mock",
    "__mocks__",
];

/// Directory names whose files are scripts, examples or documentation, not the service.
const SCRIPT_DIRS: &[&str] = &[
    "scripts",
    "script",
    "dev",
    "tools",
    "examples",
    "example",
    "docs",
    "doc",
    "documentation",
    "benchmarks",
    "benches",
    "bench",
    "perf",
    "loadtest",
    "locust",
];

/// File names of one-off scripts around a service.
const SCRIPT_FILES: &[&str] = &[
    "populate.py",
    "seed.py",
    "seeds.py",
    "noxfile.py",
    "fabfile.py",
];

/// The part of `rel` below the scan root it was found under: `roots` are the display
/// prefixes of the directories scanned (`fixtures/demo/`, `home/me/dev/app/`), longest
/// first or in any order. A directory the user names is the project, whatever it is
/// called: `strata scan examples/shop` or a checkout under `~/dev/` is production code.
pub fn below_root<'a>(rel: &'a str, roots: &[String]) -> &'a str {
    roots
        .iter()
        .filter(|r| !r.is_empty() && rel.starts_with(r.as_str()))
        .map(|r| &rel[r.len()..])
        .min_by_key(|rest| rest.len())
        .unwrap_or(rel)
}

/// Where the file at `rel` (a `/`-separated path) runs: tests by directory or file name,
/// scripts by directory or file name, production otherwise. Workflows, manifests and
/// `.env` files are always production: they configure the real thing.
pub fn code_kind(rel: &str) -> CodeKind {
    let lower = rel.to_ascii_lowercase();
    if lower.starts_with(".github/") || lower.contains("/.github/") {
        return CodeKind::Production;
    }
    let segs: Vec<&str> = lower
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let Some((file, dirs)) = segs.split_last() else {
        return CodeKind::Production;
    };
    let is_code = [".py", ".pyi", ".rs", ".sql"]
        .iter()
        .any(|e| file.ends_with(e));
    if !is_code {
        return CodeKind::Production;
    }
    let stem = file.rsplit_once('.').map_or(*file, |(s, _)| s);
    let test_file = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || matches!(stem, "tests" | "test" | "conftest");
    if test_file || dirs.iter().any(|d| TEST_DIRS.contains(d)) {
        return CodeKind::Test;
    }
    // `setup.py` packages a project at its root (or one level down in a monorepo); deeper,
    // it is a module like any other (`app/handlers/setup.py`).
    let packaging = *file == "setup.py" && dirs.len() <= 1;
    let script_file = SCRIPT_FILES.contains(file) || stem.starts_with("seed_") || packaging;
    // `bin/` holds scripts at the top of a Python repository; in a Rust crate `src/bin/`
    // holds the program itself.
    let top_bin = dirs.first() == Some(&"bin") && file.ends_with(".py");
    // `extras/` at the top of a repository holds maintainer scripts and sample configs
    // (`extras/authors/generate_authors.py`); inside a package it is a module.
    let top_extras = dirs.first() == Some(&"extras");
    // `example_idatastorebackend/`, `flask_example/`, `hooks-example/`: sample plugins and
    // apps shipped for the users of a framework, like `examples/`.
    let example_dir = |d: &str| {
        demo_dir(d)
            || d.starts_with("example_")
            || d.starts_with("example-")
            || d.ends_with("_example")
            || d.ends_with("-example")
            || d.ends_with("_examples")
            || d.ends_with("-examples")
    };
    if script_file
        || top_bin
        || top_extras
        || dirs
            .iter()
            .any(|d| SCRIPT_DIRS.contains(d) || example_dir(d))
    {
        return CodeKind::Script;
    }
    CodeKind::Production
}

/// A demonstration or development project shipped with a library (`demo/`, `demodesk/`,
/// `demo_site/`, `devproject/`,
/// `shop-demo/`): quick-start settings and sample views, not the service. Words that only
/// begin like it (`democracy`, `demographics`, `demonstrations`) are not.
fn demo_dir(d: &str) -> bool {
    if d.ends_with("_demo") || d.ends_with("-demo") {
        return true;
    }
    // The development project a library's `manage.py` runs (`devproject/`, `dev_site/`).
    if let Some(rest) = d.strip_prefix("dev") {
        let rest = rest.trim_start_matches(['_', '-']);
        if ["project", "site", "app", "server"].contains(&rest) {
            return true;
        }
    }
    let Some(rest) = d.strip_prefix("demo") else {
        return false;
    };
    !["c", "g", "l", "n", "t"]
        .iter()
        .any(|w| rest.starts_with(w))
}

/// A migration file's place in its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationUnit {
    /// The directory whose entries are the migrations, relative like the file.
    pub dir: String,
    /// The entry of `dir` this migration is: a file, or for `NAME/up.sql` layouts the
    /// directory `NAME`.
    pub unit: String,
    /// A rollback: `down.sql`, `*.down.sql`, `*_down.sql`.
    pub rollback: bool,
}

/// The migration `rel` belongs to, if it is a migration: under a `migrations`, `migration`
/// or `migrate` directory, or an Alembic `versions` directory.
pub fn migration_unit(rel: &str) -> Option<MigrationUnit> {
    let segs: Vec<&str> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let (file, dirs) = segs.split_last()?;
    let lower_file = file.to_ascii_lowercase();
    let is_sql = lower_file.ends_with(".sql");
    let is_py = lower_file.ends_with(".py");
    if !(is_sql || is_py) || lower_file == "__init__.py" {
        return None;
    }
    let in_migrations = dirs.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        // Django's MIGRATION_MODULES may name another package (`db_migrations`).
        matches!(d.as_str(), "migrations" | "migration" | "migrate") || d.ends_with("_migrations")
    }) || (is_py
        && dirs
            .last()
            .is_some_and(|d| d.eq_ignore_ascii_case("versions")));
    if !in_migrations {
        return None;
    }
    let rollback = lower_file == "down.sql"
        || lower_file.ends_with(".down.sql")
        || lower_file.ends_with("_down.sql");
    // `2024-01-01-000000_name/up.sql` (Diesel), `20240101_name/migration.sql` (Prisma):
    // the migration is the directory.
    let per_dir =
        matches!(lower_file.as_str(), "up.sql" | "down.sql" | "migration.sql") && dirs.len() >= 2;
    let (dir, unit) = if per_dir {
        (
            dirs[..dirs.len() - 1].join("/"),
            dirs[dirs.len() - 1].to_string(),
        )
    } else {
        (dirs.join("/"), file.to_string())
    };
    Some(MigrationUnit {
        dir,
        unit,
        rollback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_and_script_paths() {
        for p in [
            "tests/test_api.py",
            "app/tests/factories.py",
            "server/conftest.py",
            "pkg/api_test.py",
            "crates/x/tests/it.rs",
            "src/foo/tests.rs",
            "e2e/flows.py",
            "mocks/llm-mock/main.py",
            "unittests/scans/sample/crypto.py",
        ] {
            assert_eq!(code_kind(p), CodeKind::Test, "{p}");
        }
        for p in [
            "scripts/backfill.py",
            "dev/cli.py",
            "examples/client.py",
            "docs/conf.py",
            "populate.py",
            "bin/release.py",
            "app/seed_demo.py",
            "ckanext/example_idatastorebackend/plugin.py",
            "extras/authors/generate_authors.py",
        ] {
            assert_eq!(code_kind(p), CodeKind::Script, "{p}");
        }
        for p in [
            "app/api/users.py",
            "src/bin/server.rs",
            "src/testing_helpers_are_prod.rs",
            ".github/workflows/test.yml",
            "requirements-test.txt",
            "app/contest.py",
            "app/handlers/setup.py",
            "app/extras/widgets.py",
            "demographics/views.py",
            "democracy/api.py",
            "demonstrations/models.py",
            "devices/views.py",
            "development/api.py",
        ] {
            assert_eq!(code_kind(p), CodeKind::Production, "{p}");
        }
        for p in [
            "demo/app.py",
            "demodesk/config/settings.py",
            "shop_demo/views.py",
            "devproject/settings.py",
            "dev_site/urls.py",
        ] {
            assert_eq!(code_kind(p), CodeKind::Script, "{p}");
        }
    }

    #[test]
    fn kinds_are_read_below_the_scan_root() {
        let roots = vec!["home/me/dev/app/".to_string(), "demo/".to_string()];
        // The directory the user names is the project, whatever its name or where it lives.
        assert_eq!(below_root("home/me/dev/app/api.py", &roots), "api.py");
        assert_eq!(
            code_kind(below_root("demo/app.py", &roots)),
            CodeKind::Production
        );
        // Below the root, the usual names still say what a file is.
        assert_eq!(
            code_kind(below_root("home/me/dev/app/tests/t.py", &roots)),
            CodeKind::Test
        );
        // A path under no root (a file named on the command line) is read whole.
        assert_eq!(below_root("scripts/x.py", &roots), "scripts/x.py");
        // The deepest root a file is under decides.
        let nested = vec!["a/".to_string(), "a/examples/b/".to_string()];
        assert_eq!(below_root("a/examples/b/c.py", &nested), "c.py");
    }

    #[test]
    fn migration_units() {
        let m = migration_unit("migrations/2020-01-01-000000_init/up.sql").unwrap();
        assert_eq!(m.dir, "migrations");
        assert_eq!(m.unit, "2020-01-01-000000_init");
        assert!(!m.rollback);
        assert!(
            migration_unit("migrations/2020-01-01-000000_init/down.sql")
                .unwrap()
                .rollback
        );
        let m = migration_unit("db/migrations/0002_add.sql").unwrap();
        assert_eq!(
            (m.dir.as_str(), m.unit.as_str()),
            ("db/migrations", "0002_add.sql")
        );
        assert!(
            migration_unit("x/migrations/0001.down.sql")
                .unwrap()
                .rollback
        );
        let m = migration_unit("app/alembic/versions/abc_add.py").unwrap();
        assert_eq!(m.dir, "app/alembic/versions");
        assert!(migration_unit("app/models.py").is_none());
        assert!(migration_unit("app/migrations/__init__.py").is_none());
    }
}
