//! Fixtures are the spec: every `expect: ID` annotation must produce exactly that finding
//! on the next code line, every `ok: ID` line must stay silent, and nothing else may be
//! reported anywhere under `fixtures/`.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use strata::rules::{Confidence, Registry, RuleSet};
use strata::scan::scope::{self, Scope};
use strata::scan::walk::WalkOptions;
use strata::scan::{self, ScanOptions};

#[derive(Default)]
struct Annotations {
    /// (path, line) -> rule ids expected there.
    expect: BTreeMap<(String, usize), BTreeSet<String>>,
    /// (path, line) -> rule ids that must not fire there.
    ok: BTreeMap<(String, usize), BTreeSet<String>>,
}

fn annotations(path: &str, text: &str) -> Annotations {
    let re =
        Regex::new(r"(?:#|//|--)\s*(expect|ok):\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)").unwrap();
    let comment_only = Regex::new(r"^\s*(#|//|--)").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut ann = Annotations::default();
    for (i, line) in lines.iter().enumerate() {
        for caps in re.captures_iter(line) {
            // A comment-only line annotates the next code line; a trailing comment its own.
            let target = if comment_only.is_match(line) {
                let next = (i + 1..lines.len()).find(|&j| {
                    let l = lines[j].trim();
                    !l.is_empty() && !comment_only.is_match(lines[j])
                });
                match next {
                    Some(j) => j + 1,
                    None => panic!("{path}:{}: annotation with no code line after it", i + 1),
                }
            } else {
                i + 1
            };
            let ids = caps[2].split(',').map(|s| s.trim().to_string());
            let map = if &caps[1] == "expect" {
                &mut ann.expect
            } else {
                &mut ann.ok
            };
            map.entry((path.to_string(), target))
                .or_default()
                .extend(ids);
        }
    }
    ann
}

/// The annotations of every file under `fixtures/`.
fn all_annotations() -> Annotations {
    let mut all = Annotations::default();
    let mut files = 0;
    for entry in ignore::WalkBuilder::new("fixtures")
        .hidden(false)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
    {
        let path = entry.path().to_string_lossy().replace('\\', "/");
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        files += 1;
        let a = annotations(&path, &text);
        all.expect.extend(a.expect);
        all.ok.extend(a.ok);
    }
    assert!(files > 0, "no fixture files found");
    all
}

/// The recall issue asks for at least three `expect:` shapes and two `ok:` near misses per
/// defect family; `bench/realworld/FAMILIES.md` maps each family to its rules.
#[test]
fn every_recall_family_has_three_hits_and_two_near_misses() {
    let table = std::fs::read_to_string("bench/realworld/FAMILIES.md").expect("FAMILIES.md");
    let row = Regex::new(r"^\| *[0-9]+ *\| *([^|]+?) *\| *([^|]+?) *\|$").unwrap();
    let id = Regex::new(r"\b[A-Z]+[0-9]{3}\b").unwrap();
    let Annotations { expect, ok } = all_annotations();
    let count = |map: &BTreeMap<(String, usize), BTreeSet<String>>, rules: &[&str]| {
        map.values()
            .filter(|ids| ids.iter().any(|i| rules.contains(&i.as_str())))
            .count()
    };
    let mut families = 0;
    let mut problems = Vec::new();
    for line in table.lines() {
        let Some(caps) = row.captures(line) else {
            continue;
        };
        let rules: Vec<&str> = id.find_iter(&caps[2]).map(|m| m.as_str()).collect();
        assert!(!rules.is_empty(), "family without rules: {line}");
        families += 1;
        let (hits, near) = (count(&expect, &rules), count(&ok, &rules));
        if hits < 3 || near < 2 {
            problems.push(format!(
                "{}: {hits} expect, {near} ok (rules {rules:?})",
                &caps[1]
            ));
        }
    }
    assert_eq!(
        families, 14,
        "FAMILIES.md lists the issue's fourteen families"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn fixtures_match_their_annotations() {
    let registry = Registry::builtin().expect("builtin rules load");
    let mut set = RuleSet::new(registry.rules.iter().collect()).expect("rule set");
    set.compile_all().expect("every built-in query compiles");
    // The bundled demo is a project of its own, scanned by its path (`strata scan
    // fixtures/demo`): its code is production code there, not a library's demo site.
    set.kind_roots = vec!["fixtures/demo/".to_string()];
    let opts = ScanOptions {
        paths: vec![PathBuf::from("fixtures")],
        walk: WalkOptions {
            excludes: vec![],
            no_ignore: true,
            include_vendored: false,
        },
        max_file_size: scan::DEFAULT_MAX_FILE_SIZE,
        cache_dir: None,
    };
    let mut result = scan::run(&opts, &set).expect("scan runs");
    // The default scope (no test code, no scripts, newest migrations only), at every
    // confidence: `ok:` lines in test code and old migrations show what the scope leaves out.
    let scope = Scope {
        min_confidence: Confidence::Low,
        ..Scope::default()
    };
    let cwd = std::env::current_dir().expect("cwd");
    scope::apply(&mut result.findings, &set, &scope, &cwd);

    let Annotations { expect, ok } = all_annotations();

    let mut problems = Vec::new();
    let mut found: BTreeMap<(String, usize), BTreeSet<String>> = BTreeMap::new();
    for f in &result.findings {
        found
            .entry((f.path.clone(), f.line))
            .or_default()
            .insert(f.rule.clone());
        let expected = expect
            .get(&(f.path.clone(), f.line))
            .is_some_and(|ids| ids.contains(&f.rule));
        if !expected {
            let near_miss = ok
                .get(&(f.path.clone(), f.line))
                .is_some_and(|ids| ids.contains(&f.rule));
            problems.push(format!(
                "{}:{}: unexpected {} ({}){}: {}",
                f.path,
                f.line,
                f.rule,
                f.message,
                if near_miss { " on an `ok` line" } else { "" },
                f.snippet
            ));
        }
    }
    for ((path, line), ids) in &expect {
        for id in ids {
            let hit = found
                .get(&(path.clone(), *line))
                .is_some_and(|s| s.contains(id));
            if !hit {
                problems.push(format!("{path}:{line}: missing {id}"));
            }
        }
    }

    // Every rule is specified by at least one hit and one near miss.
    let expected_ids: BTreeSet<&String> = expect.values().flatten().collect();
    let ok_ids: BTreeSet<&String> = ok.values().flatten().collect();
    for rule in &registry.rules {
        if !expected_ids.contains(&rule.id) {
            problems.push(format!("rule {} has no `expect:` fixture", rule.id));
        }
        if !ok_ids.contains(&rule.id) {
            problems.push(format!("rule {} has no `ok:` near-miss fixture", rule.id));
        }
    }
    for id in expected_ids.iter().chain(ok_ids.iter()) {
        if registry.get(id).is_none() {
            problems.push(format!("fixtures annotate unknown rule {id}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} fixture problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
