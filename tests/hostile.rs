//! Hostile and odd input (issue: two hangs, lost findings, fail-open suppressions). Each
//! reproduction is made here, in a temporary directory: nothing large is committed. A run
//! that has not finished after a generous bound is a hang and fails the test (the bound is a
//! hang detector, not a performance assertion: the same scans take about a second).

#[path = "support/process.rs"]
mod process;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let (code, stdout, stderr) = process::run(Some(dir), args, stdin);
    Run {
        code,
        stdout,
        stderr,
    }
}

fn scan(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--no-config"];
    args.extend_from_slice(extra);
    process::scan_json(Some(dir), &args)
}

fn found(v: &Value) -> Vec<(String, String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn has(v: &Value, rule: &str, path: &str, line: u64) -> bool {
    found(v).contains(&(rule.to_string(), path.to_string(), line))
}

#[test]
fn deep_call_chains_and_attribute_chains_do_not_hang() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, middle: String| {
        std::fs::write(
            d.path().join(name),
            format!("import requests\nx = {middle}\nrequests.get(u)\n"),
        )
        .unwrap();
    };
    w("chain.py", format!("f{}", "(1)".repeat(100_000)));
    w(
        "nested.py",
        format!("{}{}", "f(".repeat(100_000), ")".repeat(100_000)),
    );
    w("attrs.py", format!("a{}", ".b".repeat(200_000)));
    w("fine.py", "1".into());
    let v = scan(d.path(), &["."]);
    for f in ["attrs.py", "chain.py", "fine.py", "nested.py"] {
        assert!(has(&v, "ERR001", f, 3), "{f}: {:?}", found(&v));
    }
}

#[test]
fn a_megabyte_line_is_linear_and_huge_files_are_not_parsed() {
    let d = tempfile::tempdir().unwrap();
    let items = vec!["1"; 800_000].join(",");
    std::fs::write(
        d.path().join("data.py"),
        format!("import requests\nx = [{items}]\nrequests.get(u)\n"),
    )
    .unwrap();
    let v = scan(d.path(), &["."]);
    assert!(has(&v, "ERR001", "data.py", 3), "{:?}", found(&v));
    let e = &v["errors"][0];
    assert_eq!(
        (e["kind"].as_str(), e["line"].as_u64()),
        (Some("skipped"), Some(2)),
        "{e}"
    );

    // Past the parse limit (even with the size cap raised) only the text rules run, so
    // memory stays bounded; the committed key is still found.
    let big = vec!["1"; 2_600_000].join(",");
    std::fs::write(
        d.path().join("data.py"),
        format!("import requests\nAWS_KEY_ID = \"AKIAQSTRATAFIXTURE09\"\nx = [{big}]\nrequests.get(u)\n"),
    )
    .unwrap();
    let v = scan(d.path(), &["--max-file-size", "100000000", "."]);
    assert!(has(&v, "SEC015", "data.py", 2), "{:?}", found(&v));
    assert!(!has(&v, "ERR001", "data.py", 4));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("parse limit"));
}

#[test]
fn a_byte_order_mark_keeps_its_findings() {
    let d = tempfile::tempdir().unwrap();
    let src = b"\xef\xbb\xbfimport pickle\npickle.loads(x)\n";
    std::fs::write(d.path().join("bom.py"), src).unwrap();
    let v = scan(d.path(), &["."]);
    assert!(has(&v, "SEC002", "bom.py", 2), "{:?}", found(&v));
    let r = run(
        d.path(),
        &[
            "scan",
            "--format",
            "json",
            "--no-config",
            "-q",
            "--fail-on",
            "never",
            "--stdin-filename",
            "s.py",
        ],
        Some(src),
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(has(&v, "SEC002", "s.py", 2), "{:?}", found(&v));
}

#[test]
fn only_real_comments_suppress() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("s.py"),
        "import requests\n\"\"\"\n# strata: ignore-file[ERR001]\n\"\"\"\n\
         x = \"# strata: ignore[ERR001]\"; requests.get(u)\n\
         requests.get(v)  # strata: ignore[ERR001] reviewed: internal probe\n",
    )
    .unwrap();
    let v = scan(d.path(), &["."]);
    assert_eq!(found(&v), [("ERR001".to_string(), "s.py".to_string(), 5)]);
    assert_eq!(v["summary"]["suppressed"], 1);
}

#[test]
fn lone_carriage_returns_end_lines() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("cr.py"),
        "import pickle\rx = 1\rpickle.loads(x)\r",
    )
    .unwrap();
    let v = scan(d.path(), &["."]);
    assert!(has(&v, "SEC002", "cr.py", 3), "{:?}", found(&v));
    assert_eq!(v["findings"][0]["column"], 1);
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
}

#[test]
fn absurd_job_counts_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let r = run(d.path(), &["scan", "-j", "100000", "."], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--jobs 100000"), "{}", r.stderr);
}

fn user_rule_dir(d: &Path, name: &str, id: &str, extra_where: &str) {
    let dir = d.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}-eval.toml")),
        format!(
            "id = \"{id}\"\nname = \"eval-call\"\nlayer = \"security\"\nseverity = \"low\"\n\
             confidence = \"medium\"\nlanguages = [\"python\"]\nsummary = \"eval\"\nmessage = \"eval\"\n\
             [docs]\nwhat = \"w\"\nwhy = \"w\"\nfix = \"f\"\nbad = \"eval(x)\"\ngood = \"x\"\n\
             [match]\nquery = \"(call function: (identifier) @f) @c\"\nreport = \"c\"\n\
             where = [{{ capture = \"f\", matches = \"^eval$\"{extra_where} }}]\n"
        ),
    )
    .unwrap();
}

#[test]
fn the_same_rules_directory_twice_is_loaded_once() {
    let d = tempfile::tempdir().unwrap();
    user_rule_dir(d.path(), "my-rules", "SEC950", "");
    std::fs::write(d.path().join("strata.toml"), "rules = [\"my-rules\"]\n").unwrap();
    std::fs::write(d.path().join("e.py"), "eval(x)\n").unwrap();
    let v = process::scan_json(
        Some(d.path()),
        &["--rules", "my-rules", "--rules", "./my-rules", "."],
    );
    assert!(has(&v, "SEC950", "e.py", 1), "{:?}", found(&v));
}

#[test]
fn an_unknown_where_key_is_named() {
    let d = tempfile::tempdir().unwrap();
    user_rule_dir(d.path(), "bad-rules", "SEC951", ", bogus-key = [\"x\"]");
    std::fs::write(d.path().join("e.py"), "eval(x)\n").unwrap();
    let r = run(
        d.path(),
        &["scan", "--no-config", "--rules", "bad-rules", "."],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown field `bogus-key`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_configuration_that_is_not_a_file_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("conf.toml")).unwrap();
    for cfg in ["conf.toml", "/dev/null"] {
        let r = run(d.path(), &["scan", "--config", cfg, "."], None);
        assert_eq!(r.code, 2, "{cfg}");
        assert!(r.stderr.contains("cannot read"), "{cfg}: {}", r.stderr);
    }
    #[cfg(unix)]
    {
        let fifo = d.path().join("fifo.toml");
        let ok = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let r = run(d.path(), &["scan", "--config", "fifo.toml", "."], None);
            assert_eq!(r.code, 2);
            assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        }
    }
}

#[test]
fn a_discovered_strata_toml_that_is_no_file_is_reported() {
    // Found by discovery rather than named: a directory (and, on Unix, a FIFO) called
    // `strata.toml` is an error, not a silently ignored configuration.
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("strata.toml")).unwrap();
    std::fs::write(d.path().join("a.py"), "x = 1\n").unwrap();
    let r = run(d.path(), &["scan", "."], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("a directory"), "{}", r.stderr);
    #[cfg(unix)]
    {
        let e = tempfile::tempdir().unwrap();
        std::fs::write(e.path().join("a.py"), "x = 1\n").unwrap();
        let ok = Command::new("mkfifo")
            .arg(e.path().join("strata.toml"))
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let r = run(e.path(), &["scan", "."], None);
            assert_eq!(r.code, 2, "{}", r.stderr);
            assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_on_the_command_line_says_so() {
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("b", d.path().join("a")).unwrap();
    std::os::unix::fs::symlink("a", d.path().join("b")).unwrap();
    let r = run(d.path(), &["scan", "a"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("symbolic link loop"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn control_characters_are_escaped_in_text_formats() {
    let d = tempfile::tempdir().unwrap();
    let name = "e\u{1b}[2Jx.py";
    std::fs::write(
        d.path().join(name),
        "import pickle\npickle.loads(x)  # \u{1b}[31mred\n",
    )
    .unwrap();
    for fmt in ["human", "github", "markdown"] {
        let r = run(
            d.path(),
            &["scan", "--no-cache", "--no-config", "-f", fmt, "."],
            None,
        );
        assert!(
            !r.stdout.contains('\u{1b}'),
            "{fmt}: raw ESC in {:?}",
            r.stdout
        );
        assert!(r.stdout.contains("\\x1b"), "{fmt}: {}", r.stdout);
    }
}

#[test]
fn a_sql_write_after_another_statement_on_the_same_line_is_found() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("a.sql"),
        "BEGIN; DELETE FROM users; COMMIT;\n",
    )
    .unwrap();
    std::fs::write(d.path().join("b.sql"), "SELECT 1; UPDATE u SET b = 1;\n").unwrap();
    let v = scan(d.path(), &["--min-confidence", "low", "."]);
    assert!(has(&v, "DATA002", "a.sql", 1), "{:?}", found(&v));
    assert!(has(&v, "DATA002", "b.sql", 1), "{:?}", found(&v));
}

#[test]
fn a_workflow_step_with_a_yaml_anchor_is_analysed() {
    let d = tempfile::tempdir().unwrap();
    let wf = d.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("greet.yml"),
        "on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - &greet\n        run: echo \"${{ github.event.issue.title }}\"\n",
    )
    .unwrap();
    let v = scan(d.path(), &["."]);
    assert!(
        has(&v, "SEC010", ".github/workflows/greet.yml", 7),
        "{:?}",
        found(&v)
    );
}

#[test]
fn an_invalid_pyproject_is_reported_with_its_position() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\ndependencies = [\n",
    )
    .unwrap();
    std::fs::write(d.path().join("app.py"), "import requests\n").unwrap();
    let v = scan(d.path(), &["."]);
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "pyproject.toml")
        .unwrap_or_else(|| panic!("no error for pyproject.toml: {}", v["errors"]));
    assert_eq!(e["kind"], "syntax", "{e}");
    assert!(e["line"].as_u64().is_some_and(|l| l >= 3), "{e}");
    assert!(e["message"].as_str().unwrap().contains("TOML"), "{e}");
}
