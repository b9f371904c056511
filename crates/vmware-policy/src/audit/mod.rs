//! The audit log: many writers, many readers, one SQLite file shared with the
//! Python family.

mod archive_order;
mod commit;
pub mod conn;
mod cut;
pub mod db_uuid;
pub mod filter;
pub mod format;
pub mod generate;
pub mod history;
pub mod query;
pub mod receipt;
pub mod record;
pub mod rotate;
pub mod schema;
pub mod ship_hold;
pub mod sidecar;
pub mod stats;
pub mod status;
pub mod tail;
pub mod writer;

pub use conn::Durability;
pub use filter::Filter;
pub use format::{python_json, python_ts};
pub use history::History;
pub use query::{AuditRow, Field, FileSnapshot, Order, ReadError, Reader};
pub use receipt::Receipt;
pub use stats::{Bucket, Stats};
pub use writer::{Appended, AuditEngine, AuditOptions, Flush, Record};
