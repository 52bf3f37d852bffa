//! Rules of the error-handling layer: what happens when a dependency fails or is slow?

pub mod bare_except;
pub mod blocking_chain;
pub mod fail_open;
pub mod flow;
pub mod http_timeout;
pub mod private_loop;
pub mod resources;
pub mod rust;
pub mod rust_chain;
