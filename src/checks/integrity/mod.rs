//! Rules of the data-integrity layer: can input create duplicates, lose writes or lock tables?

pub mod alembic;
pub mod check_then_insert;
pub mod insert_chain;
pub mod migrations;
pub mod queries;
pub mod rust_inserts;
pub mod schema_keys;
pub mod shared_connections;
pub mod transactions;
pub mod write_without_where;
