//! The readers' own derived data, kept out of the shared file: a sidecar
//! SQLite file per database file, in `.vmware-audit-index/` beside it (0700,
//! files 0600). Writers (ours and Python's) only append rows; a reader brings
//! the sidecar up to date from the id where the last reader stopped, in its
//! own file, so no reader ever takes the shared file's write lock. A sidecar
//! is never needed for a correct answer: missing, stale, unwritable or
//! corrupt, it is rebuilt or bypassed and the rows are scanned.
//!
//! It holds three parts, each brought up to date on its own, when first
//! needed, from its own mark:
//! - [`rollup`]: each hour's id range, and per hour the count of each value
//!   of status, skill, tool, agent and risk (what `stats` prints, and which
//!   hours a `since` reaches); with it, [`vals`]: which blocks of 4 ids hold
//!   each of those values (which rows a column filter can select). Built by
//!   the first `stats` or filtered `log`.
//! - [`keyed`]: the ids of each workflow and correlation id.
//! - [`grams`]: which blocks of 16 ids hold each trigram of tool, params and
//!   result (a substring search reads only those).
//!
//! A sidecar is named for the file it indexes, by the file's `db_uuid` or, for
//! a file without one, by its first row: Python's rename rotation keeps both
//! with the renamed file; our copy rotation leaves the archive with the old
//! name and gives the live file a new one (a new uuid, or a new first row).
//! When a new sidecar is made, those no database beside it is named by any
//! more (a deleted archive's) are removed ([`prune`]).

mod blocks;
mod grams;
mod keyed;
mod narrow;
mod prune;
mod ranges;
mod rollup;
mod vals;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::query::Reader;

pub use narrow::{narrow, narrow_with_progress};
pub use rollup::Col;

/// Bump to rebuild every sidecar (a change of what it holds).
const VERSION: &str = "6";
/// Ids folded in per transaction while building (progress is said between).
const CHUNK: i64 = 200_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cols (
    hour TEXT NOT NULL, col INTEGER NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (hour, col, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hours (
    hour TEXT PRIMARY KEY, min_id INTEGER NOT NULL, max_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keyed (
    kind INTEGER NOT NULL, value TEXT NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (kind, value, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grams (key INTEGER PRIMARY KEY, bits BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vals (
    col INTEGER NOT NULL, value TEXT NOT NULL, seg INTEGER NOT NULL, bits BLOB NOT NULL,
    PRIMARY KEY (col, value, seg)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vnames (
    col INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (col, value)) WITHOUT ROWID;
";

/// The mark of each part: rows with ids up to it are folded in.
const MARKS: [&str; 3] = ["rollup_to", "keyed_to", "grams_to"];

/// A sidecar whose rollups are up to date: rows with ids up to
/// [`Sidecar::indexed_to`] are folded in.
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
    /// The sidecar of the file `reader` reads, with its rollups up to the
    /// file's newest row (`progress(done, total)` is told while a large
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
        if !path.exists()
            && let Some(db_dir) = reader.path().parent()
        {
            let db_dir = if db_dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                db_dir
            };
            prune::prune(db_dir, &dir);
        }
        match Sidecar::open_and_update(&path, reader, progress) {
            Ok(s) => Some(s),
            Err(e) if is_corrupt(&e) => {
                // Corrupt: start again, once. (Any other failure, such as
                // another reader's long build, is left alone: we scan.)
                remove(&path);
                Sidecar::open_and_update(&path, reader, progress).ok()
            }
            Err(_) => None,
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
            in_transaction(&conn, |c| {
                // Tables of another version may be laid out otherwise.
                c.execute_batch(
                    "DROP TABLE IF EXISTS cols; DROP TABLE IF EXISTS hours; \
                     DROP TABLE IF EXISTS keyed; DROP TABLE IF EXISTS grams; \
                     DROP TABLE IF EXISTS vals; DROP TABLE IF EXISTS vnames;",
                )?;
                c.execute_batch(SCHEMA)?;
                clear(c)?;
                c.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('version', ?1)",
                    [VERSION],
                )?;
                Ok(())
            })?;
        }
        // Once per use: every part's mark is checked against the file here,
        // before any part is brought up to date.
        clear_if_shrunk(&conn, reader, reader.max_id()?)?;
        let indexed_to = rollup::update(&conn, reader, progress)?;
        Ok(Sidecar { conn, indexed_to })
    }

    /// Rows with ids up to this are in the rollups; later ones are not.
    pub fn indexed_to(&self) -> i64 {
        self.indexed_to
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.code,
        rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
    ))
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Forget everything derived (a new version, or a file that shrank).
fn clear(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM cols; DELETE FROM hours; DELETE FROM keyed; DELETE FROM grams; DELETE FROM vals; DELETE FROM vnames; \
         DELETE FROM meta WHERE key != 'version';",
    )
}

/// The mark of one part (0: nothing folded in yet).
fn mark(conn: &Connection, key: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Set a part's mark, with what the last row folded in looked like.
fn set_mark(conn: &Connection, reader: &Reader, key: &str, to: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta VALUES (?1, ?2), (?1 || '_row', ?3)",
        rusqlite::params![key, to.to_string(), last_row_at(reader, to)?],
    )?;
    Ok(())
}

/// The id, time and tool of the last row with an id up to `id` ("" if none).
fn last_row_at(reader: &Reader, id: i64) -> rusqlite::Result<String> {
    Ok(reader
        .conn()
        .query_row(
            "SELECT id || ' ' || CAST(ts AS TEXT) || ' ' || CAST(tool AS TEXT) FROM audit_log \
             WHERE id <= ?1 ORDER BY id DESC LIMIT 1",
            [id],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten()
        .unwrap_or_default())
}

/// Whether a part's mark no longer describes the file: its newest id is
/// below it, or the row at it is not the one folded in (rows cut under the
/// file's name, then more written).
fn stale(conn: &Connection, reader: &Reader, key: &str, newest: i64) -> rusqlite::Result<bool> {
    let m = mark(conn, key)?;
    if m == 0 {
        return Ok(false);
    }
    if m > newest {
        return Ok(true);
    }
    let seen: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1 || '_row'",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seen.is_none_or(|s| s != last_row_at(reader, m).unwrap_or_default()))
}

/// Start again when any part's mark no longer describes the file: what was
/// folded in is of rows it no longer has.
fn clear_if_shrunk(conn: &Connection, reader: &Reader, newest: i64) -> rusqlite::Result<()> {
    let any = |c: &Connection| -> rusqlite::Result<bool> {
        for k in MARKS {
            if stale(c, reader, k, newest)? {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if any(conn)? {
        in_transaction(conn, |c| if any(c)? { clear(c) } else { Ok(()) })?;
    }
    Ok(())
}

/// `body` in one write transaction (rolled back if it fails).
fn in_transaction<T>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match body(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Fold the ids after `key`'s mark up to the file's newest into one part,
/// a chunk at a time (`chunk_end(from, newest)` says where a chunk ends), one
/// transaction each; `fold(from, to)` does the work of one chunk. Returns
/// the mark reached.
fn build(
    conn: &Connection,
    reader: &Reader,
    key: &str,
    chunk_end: impl Fn(i64, i64) -> i64,
    progress: &mut dyn FnMut(u64, u64),
    mut fold: impl FnMut(&Connection, i64, i64) -> rusqlite::Result<()>,
) -> rusqlite::Result<i64> {
    let (first, newest) = reader.id_bounds()?;
    // Ids below the file's first row hold nothing to read.
    let floor = first.map_or(newest, |first| first - 1);
    let start = mark(conn, key)?.max(floor);
    let total = (newest - start).max(0) as u64;
    loop {
        let step = in_transaction(conn, |c| {
            // Another reader may have gone further while we waited.
            let from = mark(c, key)?.max(floor);
            if from >= newest {
                return Ok(None);
            }
            let to = chunk_end(from, newest).clamp(from + 1, newest);
            fold(c, from, to)?;
            set_mark(c, reader, key, to)?;
            Ok(Some(to))
        })?;
        match step {
            Some(to) => progress((to - start).max(0) as u64, total),
            None => return mark(conn, key),
        }
    }
}

/// The chunk every part but `grams` uses.
fn plain_chunk(from: i64, _newest: i64) -> i64 {
    from.saturating_add(CHUNK)
}

/// Any stored value as text, borrowed when it is valid UTF-8 text (what
/// the readers show: NULL reads as empty).
fn text(v: ValueRef<'_>) -> Cow<'_, str> {
    match v {
        ValueRef::Null => Cow::Borrowed(""),
        ValueRef::Integer(i) => Cow::Owned(i.to_string()),
        ValueRef::Real(f) => Cow::Owned(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t),
    }
}

/// Any stored value's bytes as [`text`] would read them, unchecked: what
/// the build numbers values by (made text once per distinct value).
fn raw(v: ValueRef<'_>) -> Cow<'_, [u8]> {
    match v {
        ValueRef::Null => Cow::Borrowed(b""),
        ValueRef::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
        ValueRef::Real(f) => Cow::Owned(f.to_string().into_bytes()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Cow::Borrowed(t),
    }
}

/// `"col"`, or `''` for a column an old database lacks (names are constants).
fn column(reader: &Reader, c: &str) -> String {
    if reader.columns().iter().any(|p| p == c) {
        format!("\"{c}\"")
    } else {
        "''".to_string()
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
