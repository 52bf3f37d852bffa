//! Rules of the API-surface layer: does every endpoint bound and type its input?

pub mod bound_chain;
pub mod params;
pub mod rust_params;
pub mod uploads;
