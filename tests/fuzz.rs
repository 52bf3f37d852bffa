//! Fuzzing over random and mutated inputs, bounded so that it runs in CI (issue: hostile and
//! odd input). The seeds are the repository's own fixtures (Python, SQL, workflow YAML, Rust,
//! manifests); each round writes a batch of mutated copies (byte flips, inserted hostile
//! tokens, deleted and duplicated spans, splices of two seeds, deep nesting, truncation) and
//! scans the batch in one run. Three properties:
//!
//! 1. no input panics: the process never exits 101, and no file is listed with an `internal`
//!    error (the engine turns a panic in one file's analysis into such an error);
//! 2. no input hangs: every batch finishes within a generous bound (a hang detector, not a
//!    performance assertion: a batch takes well under a second);
//! 3. a garbage block appended after the last top-level statement of a Python or SQL file does
//!    not change the findings on the lines before it.
//!
//! The generator is a fixed-seed xorshift, so a failure names a seed and a file that
//! reproduce it (`STRATA_FUZZ_ROUNDS` and `STRATA_FUZZ_SEED` widen the search locally).

#[path = "support/process.rs"]
mod process;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const HANG: Duration = Duration::from_secs(120);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Tokens that have broken scanners before: quotes and string prefixes left open, line
/// continuations, lone carriage returns, a byte-order mark, suppression comments, SQL dollar
/// quotes and comments, YAML anchors, aliases, tags and merge keys, workflow expressions.
const HOSTILE: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "    ",
    "\\\n",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "f\"{",
    "rb'",
    "#",
    "# strata: ignore[ERR001]",
    "# strata: ignore-file[SEC002]",
    "def ",
    "async def f(",
    "class ",
    "lambda",
    "await ",
    "yield",
    "@app.get(\"/x\")\n",
    "\u{feff}",
    "\u{2028}",
    "é",
    "𝕏",
    "$$",
    "$tag$",
    "--",
    "/*",
    "*/",
    ";",
    "BEGIN;",
    "CREATE INDEX i ON t (",
    "INSERT INTO t VALUES (",
    "UPDATE t SET a = 1",
    "&anchor ",
    "*anchor",
    "!!str ",
    "<<: *a\n",
    "- ",
    "${{ ",
    " }}",
    "run: |\n",
    "fn ",
    "unsafe {",
    "r#\"",
    "\"#",
    "impl",
    "::",
    "'a",
    "#[test]",
    "macro_rules! m {",
    "=",
    "+",
    ".",
    ",",
    "0x",
    "1e999",
    "\0",
];

/// Garbage for property 3: no names, imports, string openers or suppression comments, which
/// could legitimately change what the lines before mean.
const INERT: &[&str] = &[
    "(", ")", "[", "]", "{", "}", ":", "\n", "\t", "    ", "=", "+", "-", "*", ".", ",", "1", "0x",
    "1e999", " ", "@", "%", "&", "|", "^", "~", "<", ">", "!", "?", ";", "$",
];

fn seeds() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixtures readable")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let ext = name.rsplit('.').next().unwrap_or("");
            if matches!(ext, "py" | "sql" | "yml" | "yaml" | "rs" | "toml" | "txt") {
                out.push((name, std::fs::read(&p).expect("fixture readable")));
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 100,
        "expected the fixture corpus, found {}",
        out.len()
    );
    out
}

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(b.len() + 1);
        match rng.below(8) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let tok = rng.pick(HOSTILE).as_bytes().to_vec();
                b.splice(at..at, tok);
            }
            3 => {
                let end = (at + rng.below(200)).min(b.len());
                b.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(400)).min(b.len());
                let span = b[at..end].to_vec();
                b.splice(at..at, span);
            }
            5 => {
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(600)).min(other.len());
                b.splice(at..at, other[from..end].iter().copied());
            }
            6 => {
                let depth = 1 + rng.below(3000);
                let (open, close) = *rng.pick(&[("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")")]);
                let mut nest = open.repeat(depth);
                if rng.below(2) == 0 {
                    nest.push_str(&close.repeat(depth));
                }
                b.splice(at..at, nest.into_bytes());
            }
            _ => b.truncate(at),
        }
    }
    b
}

fn scan(dir: &Path) -> Value {
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir)
        .args([
            "scan",
            ".",
            "--format",
            "json",
            "--no-cache",
            "--no-timing",
            "-q",
            "--fail-on",
            "never",
            "--include-tests",
            "--include-scripts",
            "--min-confidence",
            "low",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata starts");
    let what = format!("on the batch in {}", dir.display());
    let (status, stdout, stderr) = process::wait_bounded(child, HANG, &what);
    assert_eq!(
        status.code(),
        Some(0),
        "strata failed on the batch in {}: {stderr}",
        dir.display()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{stdout}"))
}

fn internal_errors(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter(|e| e["kind"] == "internal")
                .map(|e| format!("{}: {}", e["path"], e["message"]))
                .collect()
        })
        .unwrap_or_default()
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where a mutated seed goes: workflow YAML only counts under `.github/workflows`, manifests
/// by their own names, everything else by its extension.
fn target_path(name: &str, i: usize) -> PathBuf {
    if name.ends_with(".yml") || name.ends_with(".yaml") {
        PathBuf::from(format!(".github/workflows/f{i}_{name}"))
    } else if name.ends_with(".toml") || name.ends_with(".txt") {
        PathBuf::from(format!("m{i}/{name}"))
    } else {
        PathBuf::from(format!("f{i}_{name}"))
    }
}

#[test]
fn mutated_inputs_never_panic_or_hang() {
    let seeds = seeds();
    let rounds = env_num("STRATA_FUZZ_ROUNDS", 6);
    let base = env_num("STRATA_FUZZ_SEED", 0x5eed);
    for round in 0..rounds {
        let seed = base + round;
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let dir = tempfile::tempdir().unwrap();
        for i in 0..120 {
            let (name, bytes) = rng.pick(&seeds);
            let (_, other) = rng.pick(&seeds);
            let data = if i % 10 == 0 {
                // Pure noise now and then.
                (0..rng.below(4000))
                    .map(|_| rng.next() as u8)
                    .collect::<Vec<u8>>()
            } else {
                mutate(&mut rng, bytes, other)
            };
            let path = dir.path().join(target_path(name, i));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, data).unwrap();
        }
        let report = scan(dir.path());
        let internal = internal_errors(&report);
        assert!(
            internal.is_empty(),
            "seed {seed}: analysis panicked on {internal:?}"
        );
        assert!(
            report["summary"]["files_scanned"].as_u64().unwrap_or(0) > 0,
            "seed {seed}: nothing was scanned"
        );
    }
}

/// `(rule, line, column)` of the findings in `path` that start before `limit`.
fn findings_before(report: &Value, path: &str, limit: u64) -> BTreeSet<(String, u64, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == path && f["line"].as_u64().unwrap() < limit)
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn appended_garbage_does_not_change_earlier_findings() {
    let seeds: Vec<(String, Vec<u8>)> = seeds()
        .into_iter()
        .filter(|(n, b)| (n.ends_with(".py") || n.ends_with(".sql")) && !b.is_empty())
        .collect();
    let mut rng = Rng(env_num("STRATA_FUZZ_SEED", 0x5eed) | 1);
    let clean = tempfile::tempdir().unwrap();
    let dirty = tempfile::tempdir().unwrap();
    let mut limits = Vec::new();
    for (i, (name, bytes)) in seeds.iter().enumerate() {
        let rel = format!("f{i}_{name}");
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        // A top-level statement closes whatever block the file ended in, so the garbage
        // after it belongs to no function or statement of the seed.
        text.push_str(if name.ends_with(".sql") {
            "\nSELECT 1;\n"
        } else {
            "\n_fuzz_end = 0\n"
        });
        let lines = text.lines().count() as u64;
        let garbage: String = (0..1 + rng.below(60)).map(|_| *rng.pick(INERT)).collect();
        std::fs::write(clean.path().join(&rel), &text).unwrap();
        std::fs::write(dirty.path().join(&rel), format!("{text}{garbage}\n")).unwrap();
        limits.push((rel, lines, garbage));
    }
    let before = scan(clean.path());
    let after = scan(dirty.path());
    let mut changed = Vec::new();
    for (rel, lines, garbage) in &limits {
        let a = findings_before(&before, rel, *lines);
        let b = findings_before(&after, rel, *lines);
        if a != b {
            changed.push(format!(
                "{rel} with {garbage:?} appended: lost {:?}, gained {:?}",
                a.difference(&b).collect::<Vec<_>>(),
                b.difference(&a).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        before["findings"].as_array().unwrap().len() > 50,
        "the seeds should produce findings"
    );
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}
