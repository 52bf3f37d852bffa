//! docs/peers.md maps every Bandit test and every Ruff `S` rule to a strata rule or a
//! reason: the rules it names must exist, and no peer check may be left out.

use regex::Regex;
use std::collections::BTreeSet;
use strata::rules::Registry;

fn table() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string("docs/peers.md").expect("docs/peers.md");
    doc.lines()
        .filter(|l| {
            l.starts_with("| (B")
                || l.starts_with("| —")
                || (l.starts_with("| B") && !l.starts_with("| Bandit"))
        })
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_rule_named_in_peers_exists() {
    let registry = Registry::builtin().expect("rules load");
    let known: BTreeSet<&str> = registry.rules.iter().map(|r| r.id.as_str()).collect();
    let id = Regex::new(r"\b(?:SEC|AUTH|ERR|API|DATA)[0-9]{3}\b").unwrap();
    let rows = table();
    assert!(rows.len() > 60, "peers table has {} rows", rows.len());
    let mut missing = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), 5, "row {row:?} needs 5 columns");
        let (strata, how) = (&row[3], &row[4]);
        let ids: Vec<&str> = id.find_iter(strata).map(|m| m.as_str()).collect();
        // A row names strata rules, or says why strata does not report it.
        assert!(
            !ids.is_empty() || (strata == "—" && how.len() > 20),
            "row {row:?} names no rule and gives no reason"
        );
        for text in [strata, how] {
            missing.extend(
                id.find_iter(text)
                    .map(|m| m.as_str().to_string())
                    .filter(|m| !known.contains(m.as_str())),
            );
        }
    }
    assert!(
        missing.is_empty(),
        "docs/peers.md names unknown rules: {missing:?}"
    );
}

#[test]
fn every_peer_check_has_a_row() {
    let rows = table();
    let cell = |i: usize| -> BTreeSet<String> {
        let id = Regex::new(r"\b[BS][0-9]{3}\b").unwrap();
        rows.iter()
            .flat_map(|r| {
                id.find_iter(&r[i])
                    .map(|m| m.as_str().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (bandit, ruff) = (cell(0), cell(1));
    // Bandit 1.9 test ids and Ruff 0.17 `S` rules.
    let bandit_ids = "B101 B102 B103 B104 B105 B106 B107 B108 B110 B112 B113 B201 B202 B301 B302 \
        B303 B304 B305 B306 B307 B308 B310 B311 B312 B313 B314 B315 B316 B317 B318 B319 B321 \
        B323 B324 B401 B402 B403 B404 B405 B406 B407 B408 B409 B411 B412 B413 B415 B501 B502 \
        B503 B504 B505 B506 B507 B508 B509 B601 B602 B603 B604 B605 B606 B607 B608 B609 B610 \
        B611 B612 B613 B614 B615 B701 B702 B703 B704";
    let ruff_ids = "S101 S102 S103 S104 S105 S106 S107 S108 S110 S112 S113 S201 S202 S301 S302 \
        S303 S304 S305 S306 S307 S308 S310 S311 S312 S313 S314 S315 S316 S317 S318 S319 S320 \
        S321 S323 S324 S401 S402 S403 S404 S405 S406 S407 S408 S409 S410 S411 S412 S413 S415 \
        S501 S502 S503 S504 S505 S506 S507 S508 S509 S601 S602 S603 S604 S605 S606 S607 S608 \
        S609 S610 S611 S612 S701 S702 S704";
    let lost: Vec<&str> = bandit_ids
        .split_whitespace()
        .filter(|b| !bandit.contains(*b))
        .chain(ruff_ids.split_whitespace().filter(|s| !ruff.contains(*s)))
        .collect();
    assert!(lost.is_empty(), "docs/peers.md lacks rows for {lost:?}");
}
