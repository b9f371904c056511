//! One file per subcommand, and what they share.

pub mod args;
pub mod common;
pub mod config;
pub mod demo;
pub mod export;
pub mod log;
pub mod log_fleet;
pub mod misc;
pub mod output;
pub mod policy;
pub mod progress;
pub mod rules;
pub mod rules_signed;
pub mod seal;
pub mod ship;
pub mod signals;
pub mod source;
pub mod stats;
pub mod style;
pub mod table;
