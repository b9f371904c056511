//! The fleet: every host's audit rows in one PostgreSQL database.
//!
//! `ship` sends a host's rows there exactly once (each row keyed by host,
//! database file and id; the cursor moves only after COMMIT); `--source
//! postgres://` reads them back through the same filter and output code as a
//! local file.

pub mod connect;
pub mod reader;
pub mod schema;
pub mod ship;
pub mod sql;

/// Serializes the shippers' batches (a transaction-level advisory lock), so
/// ingest_seq grows in commit order and a reader following it never passes a
/// row that commits later.
pub const INGEST_LOCK: i64 = 0x766d_7761_7564_6974; // "vmwaudit"
