//! What packaging relies on: `strata --version` (version, commit, rule-set digest),
//! `scan --context . FILE...` as the pre-commit hooks use it (the tree as context, only the named files
//! reported), and the release workflows passing strata's own workflow rules.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn strata(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("strata runs");
    assert_ne!(
        out.status.code(),
        Some(101),
        "strata panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn findings(out: &Output) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    v["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The same FNV-1a as build.rs, over `path\0text\0` of the rule files in path order.
fn rules_digest(root: &Path) -> String {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy();
                out.push((rel.replace('\\', "/"), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("rules"), &root.join("rules"), &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, text) in &files {
        for &b in rel.as_bytes().iter().chain(&[0]).chain(text).chain(&[0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[test]
fn version_names_the_commit_and_the_rule_set() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = strata(root, &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    let re = regex::Regex::new(
        r"^strata (\d+\.\d+\.\d+\S*) \(commit ([0-9a-f]{7,40}|unknown), rules ([0-9a-f]{16})\)\n$",
    )
    .unwrap();
    let caps = re
        .captures(&line)
        .unwrap_or_else(|| panic!("unexpected --version output: {line:?}"));
    assert_eq!(&caps[1], env!("CARGO_PKG_VERSION"));
    assert_eq!(&caps[3], rules_digest(root), "digest of rules/*.toml");
    // Built from a git checkout of strata: the commit is HEAD's.
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from);
    let own_checkout = top.is_some_and(|t| {
        t.canonicalize().ok() == root.canonicalize().ok()
            && std::env::var_os("STRATA_GIT_COMMIT").is_none()
    });
    if own_checkout {
        let head = git(&["rev-parse", "--short=12", "HEAD"]).expect("HEAD");
        assert_eq!(&caps[2], head);
    }
    // `-V` says the same.
    let short = strata(root, &["-V"]);
    assert_eq!(String::from_utf8(short.stdout).unwrap(), line);
}

/// A project whose manifest lives beside, not inside, the files a hook passes: SEC011
/// (import not declared in the manifest) needs the manifest as context.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("requirements.txt", "fastapi==0.115.0\n");
    write(
        "app/a.py",
        "import requests\n\n\ndef f():\n    return requests.get('https://example.com', timeout=5)\n",
    );
    write(
        "app/b.py",
        "import httpx\n\n\ndef g():\n    return httpx.get('https://example.com', timeout=5)\n",
    );
    dir
}

#[test]
fn only_reports_the_named_files_with_the_tree_as_context() {
    let dir = project();
    let scan = |args: &[&str]| {
        let mut all = vec!["scan", "--format", "json", "--no-cache"];
        all.extend_from_slice(args);
        strata(dir.path(), &all)
    };
    let everything = findings(&scan(&[]));
    assert!(everything.contains(&("SEC011".into(), "app/a.py".into())));
    assert!(everything.contains(&("SEC011".into(), "app/b.py".into())));

    // Scanning the file alone loses the manifest: nothing to judge the import against.
    let alone = scan(&["app/a.py"]);
    assert_eq!(alone.status.code(), Some(0));
    assert!(findings(&alone).is_empty());

    // `--context .` keeps the tree as context and reports a.py alone.
    let only = scan(&["--context", ".", "app/a.py"]);
    assert_eq!(only.status.code(), Some(1));
    assert_eq!(
        findings(&only),
        vec![("SEC011".to_string(), "app/a.py".to_string())]
    );

    // A file without findings: exit 0, nothing reported.
    std::fs::write(dir.path().join("app/c.py"), "X = 1\n").unwrap();
    let clean = scan(&["--context", ".", "app/c.py"]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(findings(&clean).is_empty());

    // A directory covers the files below it; options may follow `--context DIR` (pre-commit
    // appends the hook's `args` after the entry, then the files).
    let dirs = scan(&[
        "--context",
        ".",
        "--fail-on",
        "high",
        "app",
        "requirements.txt",
    ]);
    assert_eq!(findings(&dirs).len(), 2);
    assert_eq!(
        dirs.status.code(),
        Some(0),
        "medium findings under --fail-on high"
    );

    // A path that does not exist is a usage error, not a silent pass.
    let missing = scan(&["--context", ".", "app/gone.py"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("app/gone.py"));
}

#[test]
fn release_workflows_pass_strata_own_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = strata(
        root,
        &[
            "scan",
            ".github/workflows",
            "--format",
            "json",
            "--no-cache",
            "--no-config",
        ],
    );
    let found = findings(&out);
    assert!(found.is_empty(), "findings in .github/workflows: {found:?}");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["summary"]["files_scanned"].as_u64().unwrap_or(0) >= 1,
        "no workflow was scanned: {}",
        v["summary"]
    );
}

#[test]
fn packaging_files_agree_with_cargo() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).expect(rel);
    let toml = |rel: &str| read(rel).parse::<toml::Table>().expect(rel);
    let cargo = toml("Cargo.toml");
    let version = cargo["package"]["version"].as_str().unwrap();

    // The wheel: the binary only, under the name the README gives.
    let py = toml("pyproject.toml");
    assert_eq!(py["project"]["name"].as_str(), Some("strata-audit"));
    assert_eq!(py["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    // strata reads `[tool.strata]` from pyproject.toml (any mention of it stops the upward
    // search for a configuration): this file must not change how the repository is scanned.
    assert!(!read("pyproject.toml").contains("tool.strata"));
    assert!(read("README.md").contains("pip install strata-audit"));

    // The pre-commit mirror installs the wheel of this version.
    let mirror = toml("pre-commit/pyproject.toml");
    assert_eq!(mirror["project"]["version"].as_str(), Some(version));
    let deps: Vec<&str> = mirror["project"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert_eq!(deps, [format!("strata-audit=={version}")]);

    // Every hook reads the repository as context and reports the files pre-commit passes.
    for rel in [
        ".pre-commit-hooks.yaml",
        "pre-commit/.pre-commit-hooks.yaml",
    ] {
        let text = read(rel);
        let entries: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("entry:"))
            .map(str::trim)
            .collect();
        assert!(!entries.is_empty(), "{rel} has no hook");
        for e in entries {
            assert_eq!(e, "strata scan --quiet --context .", "{rel}");
        }
    }
    assert!(read("pre-commit/.pre-commit-hooks.yaml").contains("language: python"));
}
