//! The README documents every rule and the commands it promises.

use strata::rules::Registry;

#[test]
fn readme_lists_every_rule() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let registry = Registry::builtin().expect("rules load");
    let missing: Vec<&str> = registry
        .rules
        .iter()
        .filter(|r| !readme.contains(&format!("`{}` {}", r.id, r.name)))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "README rules table lacks {missing:?}: run scripts/rules-table.sh"
    );
    assert!(readme.contains("cargo run --release -- scan fixtures/demo"));
    assert!(readme.contains("cargo test"));
}
