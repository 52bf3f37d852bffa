//! Rules of the security layer: can an outsider get in or get data out?

pub mod compare;
pub mod datetimes;
pub mod dependencies;
pub mod logging;
pub mod rust;
pub mod secrets;
pub mod taint;
pub mod webhooks;
pub mod workflow;
