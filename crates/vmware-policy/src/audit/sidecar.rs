//! The readers' own derived data, kept out of the shared file: a sidecar
//! SQLite file per database file, in `.vmware-audit-index/` beside it (0700,
//! files 0600), holding hourly rollups by status, skill, tool, agent and risk,
//! and each hour's id range. Writers (ours and Python's) only append rows;
//! a reader brings the sidecar up to date from the id where the last reader
//! stopped, in its own file, so no reader ever takes the shared file's write
//! lock. A sidecar is never needed for a correct answer: missing, stale,
//! unwritable or corrupt, it is rebuilt or bypassed and the rows are scanned.
//!
//! A sidecar is named for the file it indexes, by the file's `db_uuid` or, for
//! a file without one, by its first row: Python's rename rotation keeps both
//! with the renamed file; our copy rotation leaves the archive with the old
//! name and gives the live file a new one (a new uuid, or a new first row).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::filter::Filter;
use super::query::Reader;

/// Bump to rebuild every sidecar (a change of what it holds).
const VERSION: &str = "1";
/// Ids folded in per transaction while building (progress is said between).
const CHUNK: i64 = 200_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollup (
    hour TEXT NOT NULL, status TEXT NOT NULL, skill TEXT NOT NULL, tool TEXT NOT NULL,
    agent TEXT NOT NULL, risk TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (hour, status, skill, tool, agent, risk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hours (
    hour TEXT PRIMARY KEY, min_id INTEGER NOT NULL, max_id INTEGER NOT NULL) WITHOUT ROWID;
";

/// One rollup group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub hour: String,
    pub status: String,
    pub skill: String,
    pub tool: String,
    pub agent: String,
    pub risk: String,
    pub n: u64,
}

/// A sidecar brought up to date: rows with ids up to [`Sidecar::indexed_to`]
/// are folded in.
pub struct Sidecar {
    conn: Connection,
    indexed_to: i64,
}

/// Where the sidecars of the database files beside `db` live.
pub fn dir_for(db: &Path) -> PathBuf {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(".vmware-audit-index")
}

/// `VMWARE_AUDIT_NO_INDEX=1`: scan, never read or write sidecars (the plain
/// scan the tests compare with, and a way out).
pub fn disabled() -> bool {
    std::env::var_os("VMWARE_AUDIT_NO_INDEX").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The name of the file `reader` reads: its db_uuid, else its first row.
fn identity(reader: &Reader) -> rusqlite::Result<Option<String>> {
    if let Some(u) = super::db_uuid::read(reader.conn())? {
        return Ok(Some(format!("uuid-{u}")));
    }
    let first: Option<(i64, String, String, String)> = reader
        .conn()
        .query_row(
            "SELECT id, CAST(ts AS TEXT), CAST(tool AS TEXT), CAST(params AS TEXT) \
             FROM audit_log ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(first.map(|(id, ts, tool, params)| {
        let mut h = Sha256::new();
        h.update(id.to_le_bytes());
        for part in [ts, tool, params] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let hex: String = h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("first-{hex}")
    }))
}

impl Sidecar {
    /// The sidecar of the file `reader` reads, with every row up to the
    /// file's newest folded in (`progress(done, total)` is told while a large
    /// backlog is built). `None` when there is none to use (disabled, an
    /// empty file, a directory we cannot write): the caller scans.
    pub fn refreshed(reader: &Reader, progress: &mut dyn FnMut(u64, u64)) -> Option<Sidecar> {
        if disabled() {
            return None;
        }
        let name = identity(reader).ok()??;
        let dir = dir_for(reader.path());
        make_private_dir(&dir).ok()?;
        let path = dir.join(format!("{name}.sqlite"));
        match Sidecar::open_and_update(&path, reader, progress) {
            Ok(s) => Some(s),
            Err(_) => {
                // Corrupt or from a foreign hand: start again, once.
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_extension("sqlite-journal"));
                Sidecar::open_and_update(&path, reader, progress).ok()
            }
        }
    }

    fn open_and_update(
        path: &Path,
        reader: &Reader,
        progress: &mut dyn FnMut(u64, u64),
    ) -> rusqlite::Result<Sidecar> {
        let conn = open_private(path)?;
        // Another reader building it at the same time: wait for it, then
        // find it (nearly) up to date.
        conn.busy_timeout(Duration::from_secs(120))?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if version.as_deref() != Some(VERSION) {
            conn.execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM rollup; DELETE FROM hours; DELETE FROM meta;",
            )?;
            conn.execute(
                "INSERT INTO meta VALUES ('version', ?1), ('indexed_to', '0')",
                [VERSION],
            )?;
            conn.execute_batch("COMMIT")?;
        }
        let indexed_to = update(&conn, reader, progress)?;
        Ok(Sidecar { conn, indexed_to })
    }

    /// Rows with ids up to this are in the rollups; later ones are not.
    pub fn indexed_to(&self) -> i64 {
        self.indexed_to
    }

    /// The rollup groups of hours after `hour` (all with `None`).
    pub fn groups_after(&self, hour: Option<&str>) -> rusqlite::Result<Vec<Group>> {
        let mut st = self.conn.prepare_cached(
            "SELECT hour, status, skill, tool, agent, risk, n FROM rollup WHERE hour > ?1",
        )?;
        let rows = st.query_map([hour.unwrap_or("")], |r| {
            Ok(Group {
                hour: r.get(0)?,
                status: r.get(1)?,
                skill: r.get(2)?,
                tool: r.get(3)?,
                agent: r.get(4)?,
                risk: r.get(5)?,
                n: r.get::<_, i64>(6)?.max(0) as u64,
            })
        })?;
        rows.collect()
    }

    /// The lowest id of the rows of `hour` and every later hour, if any.
    pub fn first_id_from(&self, hour: &str) -> rusqlite::Result<Option<i64>> {
        self.conn.query_row(
            "SELECT MIN(min_id) FROM hours WHERE hour >= ?1",
            [hour],
            |r| r.get(0),
        )
    }

    /// The ids of the rows of `hour` (`2026-11-21T20`), if it has any.
    pub fn hour_ids(&self, hour: &str) -> rusqlite::Result<Option<(i64, i64)>> {
        self.conn
            .query_row(
                "SELECT min_id, max_id FROM hours WHERE hour = ?1",
                [hour],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }
}

/// Fold the rows after the last reader's stop into the rollups, a chunk of
/// ids per transaction. Returns the id folded to.
fn update(
    conn: &Connection,
    reader: &Reader,
    progress: &mut dyn FnMut(u64, u64),
) -> rusqlite::Result<i64> {
    let newest = reader.max_id()?;
    let get = |conn: &Connection| -> rusqlite::Result<i64> {
        conn.query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'indexed_to'",
            [],
            |r| r.get(0),
        )
    };
    let present = reader.columns();
    let col = |c: &str| {
        if present.iter().any(|p| p == c) {
            format!("COALESCE(CAST(\"{c}\" AS TEXT), '')")
        } else {
            "''".to_string()
        }
    };
    // Column names are constants (or '' for one an old database lacks).
    let sql = format!(
        "SELECT substr(CAST(ts AS TEXT), 1, 13), {}, {}, {}, {}, {}, COUNT(*), MIN(id), MAX(id) \
         FROM audit_log WHERE id > ?1 AND id <= ?2 GROUP BY 1, 2, 3, 4, 5, 6",
        col("status"),
        col("skill"),
        col("tool"),
        col("agent"),
        col("risk_level"),
    );
    let first = get(conn)?;
    let start = if newest < first {
        // The file shrank under its name (its rows cut): start again.
        conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM rollup; DELETE FROM hours; \
             UPDATE meta SET value = '0' WHERE key = 'indexed_to'; COMMIT;",
        )?;
        0
    } else {
        first
    };
    let total = (newest - start).max(0) as u64;
    let mut read = reader.conn().prepare(&sql)?;
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let step = (|| {
            // Another reader may have gone further while we waited.
            let from = get(conn)?.max(0);
            if from >= newest {
                return Ok(None);
            }
            let to = newest.min(from.saturating_add(CHUNK));
            let mut rows = read.query(params![from, to])?;
            let mut add = conn.prepare_cached(
                "INSERT INTO rollup VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT DO UPDATE SET n = n + excluded.n",
            )?;
            let mut hour = conn.prepare_cached(
                "INSERT INTO hours VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET \
                 min_id = min(min_id, excluded.min_id), max_id = max(max_id, excluded.max_id)",
            )?;
            while let Some(r) = rows.next()? {
                let h: String = r.get(0)?;
                add.execute(params![
                    h,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?
                ])?;
                hour.execute(params![h, r.get::<_, i64>(7)?, r.get::<_, i64>(8)?])?;
            }
            conn.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'indexed_to'",
                [to.to_string()],
            )?;
            Ok(Some(to))
        })();
        match step {
            Ok(Some(to)) => {
                conn.execute_batch("COMMIT")?;
                progress((to - start).max(0) as u64, total);
            }
            Ok(None) => {
                conn.execute_batch("COMMIT")?;
                return Ok(newest);
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Open (creating it 0600) a sidecar, never through a symlink.
fn open_private(path: &Path) -> rusqlite::Result<Connection> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    if let Err(e) = created {
        return Err(rusqlite::Error::InvalidPath(PathBuf::from(format!(
            "{}: {e}",
            path.display()
        ))));
    }
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Losing a sidecar costs a rebuild, never a row: no fsync per chunk.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    Ok(conn)
}

/// `filter` with an id bound from `since` for the file `reader` reads: rows
/// at or after `since` have ids from the lowest of their hours on, so the
/// rows before are never read (a file with no ts index otherwise reads all
/// of them to find that few or none match). The same rows; `filter` as it is
/// when no sidecar can be used.
pub fn narrow(reader: &Reader, filter: &Filter) -> Filter {
    let Some(since) = &filter.since else {
        return filter.clone();
    };
    let Some(side) = Sidecar::refreshed(reader, &mut |_, _| {}) else {
        return filter.clone();
    };
    let hour: String = since.chars().take(13).collect();
    let from = match side.first_id_from(&hour) {
        Ok(Some(lo)) => lo - 1,
        // No indexed row is that recent: only rows written since it was
        // brought up to date can be.
        Ok(None) => side.indexed_to(),
        Err(_) => return filter.clone(),
    };
    Filter {
        after_id: Some(filter.after_id.map_or(from, |a| a.max(from))),
        ..filter.clone()
    }
}
