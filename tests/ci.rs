//! strata as a CI step: exit codes, configuration (and its error positions), inline
//! suppressions, baselines that survive line shifts, `--diff` on a temporary git
//! repository, `--stdin-filename`, `strata init`, and the CI output formats.
//!
//! Every test works in its own temporary directory with small files of its own, using
//! DATA002 (`UPDATE`/`DELETE` without `WHERE`, high severity).

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn strata_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.current_dir(dir)
        .args(args)
        // Keep git (for --diff) away from the machine's configuration and from any
        // repository above the temporary directory.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("strata runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(run.code, 101, "strata panicked: {}", run.stderr);
    run
}

fn strata(dir: &Path, args: &[&str]) -> Run {
    strata_in(dir, args, None)
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn findings(doc: &Value) -> Vec<(String, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn lines(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(p, l)| (p.to_string(), *l)).collect()
}

// ---------------------------------------------------------------- exit codes

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "clean/ok.sql",
        "SELECT 1;\nDELETE FROM t WHERE id = 1;\n",
    );
    write(d, "dirty/bad.sql", "DELETE FROM t;\n");

    assert_eq!(strata(d, &["scan", "clean"]).code, 0);
    assert_eq!(strata(d, &["scan", "dirty"]).code, 1);
    assert_eq!(strata(d, &["scan", "dirty", "--fail-on", "never"]).code, 0);

    // Only a medium finding (DATA002 lowered by a severity override): --fail-on high passes.
    write(
        d,
        "medium/strata.toml",
        "[severity-overrides]\nDATA002 = \"medium\"\n",
    );
    write(d, "medium/m.sql", "UPDATE t SET a = 1;\n");
    let r = strata(d, &["scan", "medium", "--fail-on", "high", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["findings"][0]["severity"], "medium");
    assert_eq!(
        strata(d, &["scan", "medium", "--fail-on", "medium"]).code,
        1
    );

    let r = strata(d, &["scan", "no/such/path"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);

    let r = strata(d, &["scan", "dirty", "--select", "NOPE42"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NOPE42"), "{}", r.stderr);

    assert_eq!(strata(d, &["scan", "dirty", "--format", "yaml"]).code, 2);

    // A malformed rule file: one line naming the file, line and column, exit 2.
    write(
        d,
        "myrules/DATA900-bad.toml",
        "id = \"DATA900\"\nname = \"bad\"\nlayer = \"integrity\"\nseverity = \"severe\"\n",
    );
    let r = strata(d, &["scan", "dirty", "--rules", "myrules"]);
    assert_eq!(r.code, 2);
    let first = r.stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("DATA900-bad.toml:4:12:") && first.contains("severe"),
        "{}",
        r.stderr
    );

    // A malformed configuration: file:line:col, exit 2.
    write(
        d,
        "badcfg/strata.toml",
        "select = []\nfail-on = \"sometimes\"\n",
    );
    write(d, "badcfg/x.sql", "SELECT 1;\n");
    let r = strata(d, &["scan", "badcfg"]);
    assert_eq!(r.code, 2);
    let first = r.stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("strata.toml:2:11:") && first.contains("sometimes"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------- configuration

#[test]
fn config_errors_point_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "x.sql", "DELETE FROM t;\n");
    let cases: &[(&str, &str, &str)] = &[
        (
            "strata.toml",
            "select = [\"integrity\"]\n\n[per-file-ignore]\n\"a\" = []\n",
            "strata.toml:3:2:",
        ),
        (
            "strata.toml",
            "[per-file-ignores]\n\"tests/**\" = [\"DATA002\", \"ERR999\"]\n",
            "strata.toml:2:26:",
        ),
        (
            "strata.toml",
            "max-file-size = \"big\"\n",
            "strata.toml:1:17:",
        ),
        ("strata.toml", "layers = [\"integrty\"]\n", "strata.toml:1:11:"),
        (
            "strata.toml",
            "rules = [\"missing-dir\"]\n",
            "strata.toml:1:10:",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"svc\"\n\n[tool.strata]\nignore = [\"DATA002\"]\nfail_on = \"high\"\n",
            "pyproject.toml:6:1:",
        ),
    ];
    for (name, text, want) in cases {
        let _ = std::fs::remove_file(d.join("strata.toml"));
        let _ = std::fs::remove_file(d.join("pyproject.toml"));
        write(d, name, text);
        let r = strata(d, &["scan", "."]);
        assert_eq!(r.code, 2, "{name}: {text}\n{}", r.stderr);
        assert!(
            r.stderr.lines().next().unwrap_or("").contains(want),
            "{text}\nwant {want} in: {}",
            r.stderr
        );
    }
    let _ = std::fs::remove_file(d.join("pyproject.toml"));
    let r = strata(d, &["scan", ".", "--config", "nope.toml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nope.toml"), "{}", r.stderr);
}

#[test]
fn config_is_discovered_applied_and_overridden_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "strata.toml",
        "select = [\"security\"]\nexclude = [\"vendor/**\"]\nrules = [\"house-rules\"]\n\n[per-file-ignores]\n\"legacy/**\" = [\"integrity\"]\n",
    );
    write(
        d,
        "house-rules/DATA900-copy.toml",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules/integrity/DATA002-write-without-where.toml"),
        )
        .unwrap()
        .replace("\"DATA002\"", "\"DATA900\"")
        .replace("name = \"write-without-where\"", "name = \"house-write\""),
    );
    write(d, "db/a.sql", "DELETE FROM t;\n");
    write(d, "legacy/b.sql", "DELETE FROM t;\n");
    write(d, "vendor/c.sql", "DELETE FROM t;\n");

    // `select = ["security"]`: DATA002 does not run; found from a subdirectory upward.
    let r = strata(d, &["scan", "db", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(findings(&r.json()).is_empty());

    // --select replaces the configuration's select; exclude, per-file-ignores and the
    // extra rule directory still apply.
    let r = strata(
        d,
        &[
            "scan",
            ".",
            "--select",
            "integrity",
            "-f",
            "json",
            "--show-suppressed",
        ],
    );
    assert_eq!(r.code, 1);
    let doc = r.json();
    let got: Vec<(String, String, bool)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f.get("suppressed").is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("DATA002".to_string(), "db/a.sql".to_string(), false),
            ("DATA900".to_string(), "db/a.sql".to_string(), false),
            ("DATA002".to_string(), "legacy/b.sql".to_string(), true),
            ("DATA900".to_string(), "legacy/b.sql".to_string(), true),
        ]
    );
    let sup = &doc["findings"][2]["suppressed"];
    assert_eq!(sup["kind"], "config");
    assert!(sup["reason"].as_str().unwrap().contains("legacy/**"));
    assert_eq!(doc["summary"]["suppressed"], 2);
    assert_eq!(doc["summary"]["findings"], 2);

    // `exclude` is anchored at the configuration file, also for files passed one by one
    // (pre-commit) and for a scan of the excluded directory itself.
    for args in [
        &[
            "scan",
            "vendor/c.sql",
            "db/a.sql",
            "--select",
            "DATA002",
            "-f",
            "json",
        ][..],
        &["scan", "vendor", "db", "--select", "DATA002", "-f", "json"][..],
    ] {
        let r = strata(d, args);
        assert_eq!(findings(&r.json()), lines(&[("db/a.sql", 1)]), "{args:?}");
    }
    let r = strata(
        &d.join("vendor"),
        &["scan", ".", "--select", "DATA002", "-f", "json"],
    );
    assert!(findings(&r.json()).is_empty(), "{}", r.stdout);

    // --ignore adds to the configuration; --no-config drops it all.
    let r = strata(
        d,
        &[
            "scan",
            ".",
            "--select",
            "integrity",
            "--ignore",
            "DATA900",
            "-f",
            "json",
        ],
    );
    assert_eq!(findings(&r.json()), lines(&[("db/a.sql", 1)]));
    let r = strata(d, &["scan", ".", "--no-config", "-f", "json"]);
    assert_eq!(
        findings(&r.json()),
        lines(&[("db/a.sql", 1), ("legacy/b.sql", 1), ("vendor/c.sql", 1)])
    );
}

#[test]
fn init_writes_a_starter_config_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = strata(d, &["init"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(d.join("strata.toml")).unwrap();
    assert!(text.contains("# fail-on = \"low\""));
    let r = strata(d, &["init"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("strata.toml")).unwrap(),
        text
    );
    // The starter file is a valid configuration.
    write(d, "a.sql", "DELETE FROM t;\n");
    assert_eq!(strata(d, &["scan", "."]).code, 1);
}

// ---------------------------------------------------------------- suppressions

const SUPPRESSED_SQL: &str = "\
DELETE FROM a; -- strata: ignore[DATA002] same line
-- strata: ignore[DATA002] line above, table is rebuilt nightly
DELETE FROM b;
-- strata: ignore[ERR005]
-- strata: ignore[data002] stacked comments
DELETE FROM c;
UPDATE d
   SET x = 1 -- strata: ignore[DATA002] inside the statement
 ;
DELETE FROM e; -- strata: ignore
DELETE FROM f; -- strata: ignore[NOPE1]
DELETE FROM g;
";

#[test]
fn inline_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "m.sql", SUPPRESSED_SQL);
    let r = strata(d, &["scan", ".", "-f", "json"]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    // Bare and unknown-id suppressions do not fail open.
    assert_eq!(
        findings(&doc),
        lines(&[("m.sql", 10), ("m.sql", 11), ("m.sql", 12)])
    );
    assert_eq!(doc["summary"]["suppressed"], 4);
    let errors: Vec<(u64, &str)> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "suppression")
        .map(|e| (e["line"].as_u64().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, 10);
    assert!(errors[0].1.contains("names no rule ids"));
    assert_eq!(errors[1].0, 11);
    assert!(errors[1].1.contains("unknown rule id NOPE1"));

    // Reasons are shown with --show-suppressed.
    let doc = strata(d, &["scan", ".", "-f", "json", "--show-suppressed"]).json();
    let shown: Vec<(u64, Value)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_some())
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["suppressed"]["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (1, Value::from("same line")),
            (3, Value::from("line above, table is rebuilt nightly")),
            (6, Value::from("stacked comments")),
            (7, Value::from("inside the statement")),
        ]
    );
    assert_eq!(doc["summary"]["findings"], 3);
}

#[test]
fn suppression_on_any_line_of_a_python_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "jobs.py",
        "def purge(cur):\n    rows = retry(cur.execute(\"DELETE FROM sessions\"),\n                 attempts=3)  # strata: ignore[DATA002] nightly purge\n    if cur.execute(\"DELETE FROM tokens\"):\n        log()  # strata: ignore[DATA002]\n    return rows\n",
    );
    let doc = strata(d, &["scan", ".", "-f", "json", "--show-suppressed"]).json();
    let got: Vec<(u64, bool)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f.get("suppressed").is_some()))
        .collect();
    // The comment on the statement's last line covers line 2; a comment inside an `if`
    // body does not cover the condition.
    assert_eq!(got, [(2, true), (4, false)]);
}

#[test]
fn file_level_and_unused_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "gen.sql",
        "-- strata: ignore-file[DATA002] generated by the schema tool\nDELETE FROM a;\nDELETE FROM b;\n",
    );
    write(
        d,
        "ok.sql",
        "-- strata: ignore[DATA002] stale\nDELETE FROM a WHERE id = 1;\n",
    );
    let r = strata(d, &["scan", ".", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.json()["errors"].as_array().unwrap().is_empty());

    let r = strata(
        d,
        &["scan", ".", "-f", "json", "--report-unused-suppressions"],
    );
    assert_eq!(r.code, 1);
    let doc = r.json();
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "ok.sql");
    assert_eq!(errors[0]["line"], 1);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("unused suppression"));
    // A suppression for a rule that did not run is not judged.
    let r = strata(
        d,
        &[
            "scan",
            ".",
            "--report-unused-suppressions",
            "--select",
            "ERR005",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

// ---------------------------------------------------------------- baselines

#[test]
fn baseline_survives_inserted_lines_and_reindentation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "db/m.sql",
        "DELETE FROM sessions;\nUPDATE users SET active = false;\nDELETE FROM sessions;\n",
    );
    write(
        d,
        "app/jobs.py",
        "def purge(cur):\n    cur.execute(\"DELETE FROM cache\")\n",
    );
    let r = strata(d, &["baseline", ".", "-o", "strata-baseline.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("strata-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(base["format"], "strata-baseline/1");
    assert_eq!(base["findings"].as_array().unwrap().len(), 4);
    assert_eq!(base["findings"][0]["rule"], "DATA002");

    let r = strata(d, &["scan", ".", "--baseline", "strata-baseline.json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Lines inserted above, statements re-indented and re-wrapped, the Python call moved
    // into a class; and one new finding, identical in text to two old ones.
    write(
        d,
        "db/m.sql",
        "-- housekeeping\n\nBEGIN;\n    DELETE   FROM sessions;\n  UPDATE users\n     SET active = false;\nDELETE FROM sessions;\nDELETE FROM sessions;\nCOMMIT;\n",
    );
    write(
        d,
        "app/jobs.py",
        "import logging\n\n\nclass Jobs:\n    def purge(self, cur):\n        logging.info(\"purge\")\n        cur.execute(\"DELETE FROM cache\")\n",
    );
    let r = strata(
        d,
        &[
            "scan",
            ".",
            "--baseline",
            "strata-baseline.json",
            "-f",
            "json",
        ],
    );
    assert_eq!(r.code, 1);
    let doc = r.json();
    assert_eq!(findings(&doc), lines(&[("db/m.sql", 8)]));
    assert_eq!(doc["summary"]["in_baseline"], 4);

    let r = strata(d, &["scan", ".", "--baseline", "missing.json"]);
    assert_eq!(r.code, 2);
    write(
        d,
        "broken.json",
        "{\"format\": \"strata-baseline/1\",\n \"findings\": [}",
    );
    let r = strata(d, &["scan", ".", "--baseline", "broken.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("broken.json:2:"), "{}", r.stderr);
}

// ---------------------------------------------------------------- diff mode

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=strata",
            "-c",
            "user.email=strata@example.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn diff_mode_reports_only_changed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let r = &repo;
    write(
        r,
        "db/a.sql",
        "DELETE FROM old1;\nSELECT 1;\nDELETE FROM old2;\n",
    );
    write(r, "db/b.sql", "DELETE FROM untouched;\n");
    git(r, &["init", "-q"]);
    git(r, &["add", "."]);
    git(r, &["commit", "-qm", "base"]);

    // One line changed, one added; a new untracked file; b.sql untouched.
    write(
        r,
        "db/a.sql",
        "DELETE FROM old1;\nDELETE FROM changed;\nDELETE FROM old2;\nDELETE FROM added;\n",
    );
    write(r, "db/new.sql", "DELETE FROM fresh;\n");

    let res = strata(r, &["scan", ".", "--diff", "HEAD", "-f", "json"]);
    assert_eq!(res.code, 1, "{}", res.stderr);
    let doc = res.json();
    assert_eq!(
        findings(&doc),
        lines(&[("db/a.sql", 2), ("db/a.sql", 4), ("db/new.sql", 1)])
    );
    assert_eq!(doc["summary"]["outside_diff"], 3);

    // From a subdirectory: paths are relative to it, and still map onto git's.
    let sub = r.join("db");
    let res = strata(&sub, &["scan", ".", "--diff", "HEAD", "-f", "json"]);
    assert_eq!(
        findings(&res.json()),
        lines(&[("a.sql", 2), ("a.sql", 4), ("new.sql", 1)])
    );

    // Committed changes count against an older revision too.
    git(r, &["add", "."]);
    git(r, &["commit", "-qm", "change"]);
    let res = strata(r, &["scan", "db", "--diff", "HEAD~1", "-f", "json"]);
    assert_eq!(findings(&res.json()).len(), 3);
    let res = strata(r, &["scan", "db", "--diff", "HEAD"]);
    assert_eq!(res.code, 0, "{}", res.stdout);

    let res = strata(r, &["scan", ".", "--diff", "no-such-branch"]);
    assert_eq!(res.code, 2);
    assert!(
        res.stderr.contains("unknown revision `no-such-branch`"),
        "{}",
        res.stderr
    );

    let outside = dir.path().join("plain");
    write(&outside, "x.sql", "DELETE FROM t;\n");
    let res = strata(&outside, &["scan", ".", "--diff", "HEAD"]);
    assert_eq!(res.code, 2);
    assert!(res.stderr.contains("git repository"), "{}", res.stderr);
}

// ---------------------------------------------------------------- stdin

#[test]
fn stdin_filename_scans_stdin_as_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = strata_in(
        d,
        &[
            "scan",
            "--stdin-filename",
            "db/migrations/7.sql",
            "-f",
            "json",
        ],
        Some("SELECT 1;\nDELETE FROM t;\nDELETE FROM u; -- strata: ignore[DATA002] ok\n"),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = r.json();
    assert_eq!(findings(&doc), lines(&[("db/migrations/7.sql", 2)]));
    assert_eq!(doc["summary"]["files_scanned"], 1);

    let r = strata_in(d, &["scan", "--stdin-filename", "notes.txt"], Some("x"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("notes.txt"), "{}", r.stderr);
}

// ---------------------------------------------------------------- formats

#[test]
fn github_junit_and_markdown_formats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "we,ird:name.sql", "DELETE FROM t;\n");
    write(d, "b.sql", "UPDATE t\n SET a = 1;\n");
    write(d, "c.sql", "UPDATE t SET a = '<x> & \"y\"';\n");

    let r = strata(d, &["scan", ".", "-f", "github"]);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    // Columns only for single-line findings; `:` and `,` escaped in properties.
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::error file=b.sql,line=1,endLine=2,col=1,title=DATA002 write-without-where::UPDATE without WHERE"
        )),
        "{}",
        r.stdout
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("::error file=we%2Cird%3Aname.sql,line=1,endLine=1,col=1,endColumn=15,")),
        "{}",
        r.stdout
    );

    let r = strata(d, &["scan", ".", "-f", "junit", "--no-timing"]);
    assert!(r
        .stdout
        .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(r
        .stdout
        .contains("<testsuite name=\"DATA002 write-without-where\" tests=\"3\" failures=\"3\""));
    assert!(
        r.stdout.contains("&lt;x&gt; &amp; &quot;y&quot;"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches("<failure ").count(), 3);

    let r = strata(
        d,
        &[
            "scan",
            ".",
            "-f",
            "markdown",
            "--link-base",
            "https://example.invalid/o/r/blob/abc/",
        ],
    );
    assert!(
        r.stdout.contains("| integrity | 0 | 3 | 0 | 0 | 3 |"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("[b.sql:1](https://example.invalid/o/r/blob/abc/b.sql#L1-L2)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(
        "we,ird:name.sql:1](https://example.invalid/o/r/blob/abc/we%2Cird%3Aname.sql#L1)"
    ));
}
