//! strata: a static audit scanner for Python, Rust and SQL services.
//!
//! Data flows one way: walk -> parse -> facts -> rules -> findings -> filter -> report.
//! See ARCHITECTURE.md for the map.

pub mod baseline;
pub mod cache;
pub mod checks;
pub mod cli;
pub mod config;
pub mod deps;
pub mod diff;
pub mod engine;
pub mod facts;
pub mod filter;
pub mod finding;
pub mod lang;
pub mod orm;
pub mod repo;
pub mod report;
pub mod routes;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod source;
pub mod sql;
pub mod statement;
pub mod suppress;
pub mod taint;
pub mod walk;
