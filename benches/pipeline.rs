//! Microbenchmark of the per-file pipeline (prefilter, parse, facts, queries, checks) on the
//! project's own fixtures, one benchmark per language: `cargo bench --bench pipeline`.
//! A change that slows the analysis of a file shows up here before it reaches a scan.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use strata::rules::{Registry, RuleSet};
use strata::source::lang::Lang;

/// Every fixture file of `lang` under `fixtures/`, as (relative path, text), sorted.
fn fixtures(lang: Lang) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut stack = vec![root.clone()];
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if Lang::from_path(&p) == Some(lang) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let rel = p
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            Some((rel, text))
        })
        .collect()
}

fn pipeline(c: &mut Criterion) {
    let registry = Registry::builtin().expect("builtin rules load");
    let set = RuleSet::new(registry.rules.iter().collect()).expect("rule set");
    let mut group = c.benchmark_group("pipeline");
    for lang in [Lang::Python, Lang::Rust, Lang::Sql] {
        let files = fixtures(lang);
        if files.is_empty() {
            continue;
        }
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(
            format!("{} fixtures ({} files)", lang.name(), files.len()),
            |b| {
                b.iter(|| {
                    for (rel, text) in &files {
                        black_box(strata::scan::scan_text(rel, lang, text.clone(), &set));
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = pipeline
}
criterion_main!(benches);
