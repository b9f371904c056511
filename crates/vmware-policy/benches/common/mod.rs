//! The floor every durable row is measured against: one row, one commit, a
//! plain rusqlite connection on the same schema in WAL with synchronous=FULL.
#![allow(dead_code)]

use std::time::Duration;

use rusqlite::Connection;
use vmware_policy::audit::schema;

/// One row, autocommit, its INSERT parsed each time (rusqlite's `execute`):
/// the floor the figures were taken against.
pub fn raw_commit(conn: &Connection) {
    conn.execute(schema::INSERT, ROW).unwrap();
}

/// The same with the statement cached, as our writer's are: the stricter
/// floor (a 17-column INSERT costs ~20 µs to parse on this VM, more cold).
pub fn raw_commit_cached(conn: &Connection) {
    conn.prepare_cached(schema::INSERT)
        .unwrap()
        .execute(ROW)
        .unwrap();
}

const ROW: &[&dyn rusqlite::ToSql] = rusqlite::params![
    "2026-11-21T20:18:00.123456+00:00",
    "nsx_security",
    "list_dfw_policies",
    "{\"limit\": 10}",
    "1",
    "ok",
    0,
    "unknown",
    "",
    "root",
    "low",
    "",
    "",
    "",
    "",
    "",
    ""
];

pub fn open_raw(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("PRAGMA synchronous=FULL").unwrap();
    conn.execute_batch(schema::CREATE_TABLE).unwrap();
    conn
}
