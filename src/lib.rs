//! strata: a static audit scanner for Python, Rust and SQL services.
//!
//! The folders are the pipeline, and imports only point down it (ARCHITECTURE.md):
//!
//! - [`cli`]: the command line and the output formats;
//! - [`scan`]: the scan driver (walk, read, cache, engine, filter, baseline, suppressions, diff);
//! - [`rules`]: the rule registry, its predicates, and the findings rules produce;
//! - [`checks`]: the semantic rules in Rust, one folder per audit layer;
//! - [`model`]: the model of the audited code (facts, routes, ORM and SQL schema, taint,
//!   dependency manifests, per-file summaries);
//! - [`source`]: languages, reading files, parsing.

pub mod checks;
pub mod cli;
pub mod model;
pub mod rules;
pub mod scan;
pub mod source;
