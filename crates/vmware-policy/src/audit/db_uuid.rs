//! Which database file rows came from, across rotations: a `db_uuid` kept in
//! the file itself (`audit_meta`, key `db_uuid`).
//!
//! Python's rotation renames the live file (the archive keeps the uuid, the new
//! live file has none until one of ours gives it one, and its ids restart at
//! 1); ours copies it (the archive copy keeps the uuid and the live file gets a
//! fresh one in the same transaction that cuts the archived rows). So one uuid
//! is always one file, and (db_uuid, id) names one row for good: what sealing
//! and shipping key on. A file nobody gave a uuid while it was live (an
//! archive rotated before any seal) is named by its first row instead, with
//! nothing written to it: writing would change its mtime, which both
//! retentions read.

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

const KEY: &str = "db_uuid";

/// The uuid the file holds, if it holds one.
pub fn read(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_meta: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'audit_meta'",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM audit_meta WHERE key = ?1", [KEY], |r| {
        r.get(0)
    })
    .optional()
}

/// The file's uuid, given one first if it has none (one small transaction).
pub fn ensure(conn: &Connection) -> rusqlite::Result<String> {
    if let Some(id) = read(conn)? {
        return Ok(id);
    }
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    )?;
    let result = (|| {
        conn.execute(
            "INSERT OR IGNORE INTO audit_meta (key, value) VALUES (?1, ?2)",
            [KEY, &fresh()],
        )?;
        conn.query_row("SELECT value FROM audit_meta WHERE key = ?1", [KEY], |r| {
            r.get::<_, String>(0)
        })
    })();
    match result {
        Ok(id) => conn.execute_batch("COMMIT").map(|_| id),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Inside a rotation's transaction: the live file, its old rows now in an
/// archive that keeps the old uuid, becomes a new file with a new uuid.
pub(crate) fn renew(conn: &Connection) -> rusqlite::Result<()> {
    if read(conn)?.is_some() {
        conn.execute(
            "UPDATE audit_meta SET value = ?2 WHERE key = ?1",
            [KEY, &fresh()],
        )?;
    }
    Ok(())
}

/// A new random uuid (version 4 layout). Unique, not secret: the randomness
/// of std's hasher keys, the time, the process and a counter.
pub fn fresh() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
    seed.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut h = Sha256::new();
    h.update(seed.finish().to_le_bytes());
    h.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            .to_le_bytes(),
    );
    h.update(std::process::id().to_le_bytes());
    let mut b: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The name of a file with no uuid: `derived-` and a digest of its first row
/// (all of it, id included), so it is the same whatever path the file has.
pub fn derived(first_row: &[u8]) -> String {
    let digest = Sha256::digest(first_row);
    let hex: String = digest[..16].iter().map(|x| format!("{x:02x}")).collect();
    format!("derived-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_is_given_once_and_renewed_by_a_rotation() {
        let c = Connection::open_in_memory().unwrap();
        assert_eq!(read(&c).unwrap(), None);
        let a = ensure(&c).unwrap();
        assert_eq!(ensure(&c).unwrap(), a, "given once");
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        renew(&c).unwrap();
        let b = read(&c).unwrap().unwrap();
        assert_ne!(a, b);
        assert_ne!(fresh(), fresh());
    }
}
