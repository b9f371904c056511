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
const VERSION: &str = "2";
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
CREATE TABLE IF NOT EXISTS keyed (
    kind INTEGER NOT NULL, value TEXT NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (kind, value, id)) WITHOUT ROWID;
";

/// What `keyed` holds: the ids of the rows of each workflow and each
/// correlation id (rare values a filter names one at a time, which no index
/// of the shared file covers).
const WORKFLOW: i64 = 1;
const CORRELATION: i64 = 2;

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
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                ) =>
            {
                // Corrupt: start again, once. (Any other failure, such as
                // another reader's long build, is left alone: we scan.)
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
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
            conn.execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM rollup; DELETE FROM hours; DELETE FROM keyed; \
                 DELETE FROM meta;",
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

    /// The ids, in order, of the rows with one of `workflows` (if any are
    /// given) and one of `correlations` (likewise).
    pub fn keyed_ids(
        &self,
        workflows: &[String],
        correlations: &[String],
    ) -> rusqlite::Result<Vec<i64>> {
        let of = |kind: i64,
                  values: &[String]|
         -> rusqlite::Result<Option<std::collections::BTreeSet<i64>>> {
            if values.is_empty() {
                return Ok(None);
            }
            let mut st = self
                .conn
                .prepare_cached("SELECT id FROM keyed WHERE kind = ?1 AND value = ?2")?;
            let mut ids = std::collections::BTreeSet::new();
            for v in values {
                for id in st.query_map(params![kind, v], |r| r.get::<_, i64>(0))? {
                    ids.insert(id?);
                }
            }
            Ok(Some(ids))
        };
        Ok(
            match (of(WORKFLOW, workflows)?, of(CORRELATION, correlations)?) {
                (Some(a), Some(b)) => a.intersection(&b).copied().collect(),
                (Some(a), None) | (None, Some(a)) => a.into_iter().collect(),
                (None, None) => Vec::new(),
            },
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
            "BEGIN IMMEDIATE; DELETE FROM rollup; DELETE FROM hours; DELETE FROM keyed; \
             UPDATE meta SET value = '0' WHERE key = 'indexed_to'; COMMIT;",
        )?;
        0
    } else {
        first
    };
    let total = (newest - start).max(0) as u64;
    let mut read = reader.conn().prepare(&sql)?;
    let keys_sql = format!(
        "SELECT id, {wf}, {cid} FROM audit_log WHERE id > ?1 AND id <= ?2 AND ({wf} != '' OR {cid} != '')",
        wf = col("workflow_id"),
        cid = col("correlation_id"),
    );
    let mut read_keys = reader.conn().prepare(&keys_sql)?;
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
            let mut keyed =
                conn.prepare_cached("INSERT OR IGNORE INTO keyed VALUES (?1, ?2, ?3)")?;
            let mut keys = read_keys.query(params![from, to])?;
            while let Some(r) = keys.next()? {
                let id: i64 = r.get(0)?;
                for (kind, i) in [(WORKFLOW, 1), (CORRELATION, 2)] {
                    let v: String = r.get(i)?;
                    if !v.is_empty() {
                        keyed.execute(params![kind, v, id])?;
                    }
                }
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

/// The id ranges of the file `reader` reads that can hold rows `filter`
/// selects, as filters, oldest first: from `since`, the rows from the lowest
/// id of its hour and later ones on (a file with no ts index otherwise reads
/// all rows to find that few or none match); for workflow and correlation
/// ids, each stretch of ids the sidecar lists for them, and the rows written
/// since it was brought up to date. The same rows as `filter`; `filter` as it
/// is when no sidecar can be used.
pub fn narrow(reader: &Reader, filter: &Filter) -> Vec<Filter> {
    let keyed = !filter.workflow_ids.is_empty() || !filter.correlation_ids.is_empty();
    if filter.since.is_none() && !keyed {
        return vec![filter.clone()];
    }
    let Some(side) = Sidecar::refreshed(reader, &mut |_, _| {}) else {
        return vec![filter.clone()];
    };
    let mut f = filter.clone();
    if let Some(since) = &filter.since {
        let hour: String = since.chars().take(13).collect();
        let from = match side.first_id_from(&hour) {
            Ok(Some(lo)) => lo - 1,
            // No indexed row is that recent: only rows written since it was
            // brought up to date can be.
            Ok(None) => side.indexed_to(),
            Err(_) => return vec![filter.clone()],
        };
        f.after_id = Some(f.after_id.map_or(from, |a| a.max(from)));
    }
    if !keyed {
        return vec![f];
    }
    let Ok(ids) = side.keyed_ids(&filter.workflow_ids, &filter.correlation_ids) else {
        return vec![f];
    };
    // Runs of consecutive listed ids become one range each (a workflow's rows
    // come in bursts); then everything the sidecar has not seen yet.
    let mut out: Vec<Filter> = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    let push = |lo: i64, hi: i64, out: &mut Vec<Filter>| {
        out.push(Filter {
            after_id: Some(f.after_id.map_or(lo - 1, |a| a.max(lo - 1))),
            before_id: Some(f.before_id.map_or(hi + 1, |b| b.min(hi + 1))),
            ..f.clone()
        })
    };
    for id in ids {
        run = match run {
            Some((lo, hi)) if id <= hi + 64 => Some((lo, id)),
            Some((lo, hi)) => {
                push(lo, hi, &mut out);
                Some((id, id))
            }
            None => Some((id, id)),
        };
    }
    if let Some((lo, hi)) = run {
        push(lo, hi, &mut out);
    }
    let upto = side.indexed_to();
    out.push(Filter {
        after_id: Some(f.after_id.map_or(upto, |a| a.max(upto))),
        ..f.clone()
    });
    out.retain(|r| match (r.after_id, r.before_id) {
        (Some(a), Some(b)) => a + 1 < b,
        _ => true,
    });
    out
}
