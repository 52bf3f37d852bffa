//! Rules of the auth & ownership layer: can a caller reach routes or rows that are not theirs?

pub mod jwt_peek;
pub mod ownership_chain;
pub mod rate_limit_project;
pub mod relay_read;
pub mod router_auth;
pub mod routes;
pub mod rust_routes;
pub mod signed_token;
pub mod token_exchange;
