//! Rules of the security layer: can an outsider get in or get data out?

pub mod baseline;
pub mod compare;
pub mod cors;
pub mod crypto;
pub mod datetimes;
pub mod dependencies;
pub mod execution;
pub mod exposure;
pub mod html_vet;
pub mod input_misuse;
pub mod logging;
pub mod rust;
pub mod rust_baseline;
pub mod secrets;
pub mod sql_strings;
pub mod stored_taint;
pub mod taint;
pub mod unsafe_apis;
pub mod webhooks;
pub mod workflow;
