//! What one row is in the tree: a versioned, length-prefixed encoding of its
//! id and every audit column's raw bytes, exactly as SQLite stores them.
//!
//! Raw, with SQLite's storage class: the same bytes stored as TEXT and as a
//! BLOB are different rows. Every column of compat.md is covered, in its
//! order; one the table lacks (an old schema) is encoded as absent, so a
//! later migration that adds it changes no sealed leaf. A column a future
//! schema adds is not covered by version 1.

use rusqlite::types::ValueRef;
use vmware_policy::audit::schema::COLUMNS;

/// The encoding's version, the leaf's first byte.
pub const VERSION: u8 = 1;

const ABSENT: u8 = 0;
const NULL: u8 = 1;
const INTEGER: u8 = 2;
const REAL: u8 = 3;
const TEXT: u8 = 4;
const BLOB: u8 = 5;

/// The columns a leaf covers after the id, in order.
pub fn sealed_columns() -> &'static [&'static str] {
    &COLUMNS[1..]
}

/// The SELECT that reads what leaves need: the id, then each covered column
/// the table has (`present` says which; names come from our own constant list).
pub fn select(present: &[String]) -> (String, Vec<bool>) {
    let has: Vec<bool> = sealed_columns()
        .iter()
        .map(|c| present.iter().any(|p| p == c))
        .collect();
    let cols: Vec<String> = sealed_columns()
        .iter()
        .zip(&has)
        .filter(|(_, h)| **h)
        .map(|(c, _)| format!("\"{c}\""))
        .collect();
    let sql = format!(
        "SELECT id, {} FROM audit_log WHERE id > ?1 ORDER BY id",
        cols.join(", ")
    );
    (sql, has)
}

/// The leaf of the row `r` read by [`select`]'s statement.
pub fn encode(r: &rusqlite::Row<'_>, has: &[bool]) -> rusqlite::Result<(i64, Vec<u8>)> {
    let id: i64 = r.get(0)?;
    let mut out = Vec::with_capacity(512);
    out.push(VERSION);
    out.extend_from_slice(&id.to_be_bytes());
    let mut at = 1;
    for present in has {
        if !present {
            push(&mut out, ABSENT, &[]);
            continue;
        }
        match r.get_ref(at)? {
            ValueRef::Null => push(&mut out, NULL, &[]),
            ValueRef::Integer(i) => push(&mut out, INTEGER, &i.to_be_bytes()),
            ValueRef::Real(f) => push(&mut out, REAL, &f.to_bits().to_be_bytes()),
            ValueRef::Text(t) => push(&mut out, TEXT, t),
            ValueRef::Blob(b) => push(&mut out, BLOB, b),
        }
        at += 1;
    }
    Ok((id, out))
}

fn push(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn leaves(c: &Connection) -> Vec<Vec<u8>> {
        let present = vmware_policy::audit::schema::existing_columns(c).unwrap();
        let (sql, has) = select(&present);
        let mut st = c.prepare(&sql).unwrap();
        st.query_map([0], |r| encode(r, &has))
            .unwrap()
            .map(|l| l.unwrap().1)
            .collect()
    }

    #[test]
    fn the_same_bytes_stored_as_blob_are_another_row_and_a_missing_column_is_absent() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(vmware_policy::audit::schema::CREATE_TABLE)
            .unwrap();
        c.execute_batch(
            "INSERT INTO audit_log (id, ts, skill, tool, params) VALUES (1, 't', 's', 'x', '{}');
             INSERT INTO audit_log (id, ts, skill, tool, params) VALUES (2, 't', 's', 'x', X'7b7d');",
        )
        .unwrap();
        let l = leaves(&c);
        assert_eq!(l[0][0], VERSION);
        assert_eq!(&l[0][1..9], &1i64.to_be_bytes());
        assert_ne!(l[0][9..], l[1][9..], "'{{}}' as text and as a blob differ");

        // An old schema without the later columns: they are encoded as absent.
        let old = Connection::open_in_memory().unwrap();
        old.execute_batch(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, ts TEXT, skill TEXT, tool TEXT, params TEXT,
             result TEXT, status TEXT, duration_ms INTEGER, agent TEXT, workflow_id TEXT, user TEXT, risk_level TEXT);
             INSERT INTO audit_log VALUES (1, 't', 's', 'x', '{}', '{}', 'ok', 5, 'a', '', 'u', 'low');",
        )
        .unwrap();
        let l = leaves(&old);
        // The six later columns, each a tag and a zero length.
        assert!(l[0].ends_with(&[ABSENT, 0, 0, 0, 0].repeat(6)));
    }
}
