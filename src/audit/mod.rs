//! The audit log: many writers, many readers, one SQLite file shared with the
//! Python family.

pub mod conn;
pub mod format;
pub mod query;
pub mod rotate;
pub mod schema;
pub mod writer;

pub use conn::Durability;
pub use format::{python_json, python_ts};
pub use query::{AuditRow, ReadError, Reader};
pub use writer::{Appended, AuditEngine, AuditOptions, Record};
