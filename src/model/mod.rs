//! The model of the code under audit: what strata knows about a file or a repository before
//! any rule judges it. Per-file facts (imports, scopes, functions, routes), the route
//! inventory composed across files, the schema model (SQL and ORM), SQL text questions,
//! intra-procedural taint, dependency manifests and the per-file summaries that repository
//! checks read. Nothing here reports a finding by itself; it only uses `source`.

pub mod deps;
pub mod facts;
pub mod html_clean;
pub mod nested_scope;
pub mod orm;
pub mod pydata;
pub mod pyindex;
pub mod route_kinds;
pub mod routes;
pub mod rsindex;
pub mod schema;
pub mod sql;
pub mod stored;
pub mod summary;
pub mod taint;
