//! Reading rows back: one reader for the CLI, the TUI and the tests.
//!
//! A reader never creates or migrates a database: it opens read-only, reads the
//! columns the table has (an old schema lacks the newer ones, a newer one may
//! have columns we do not know), and reads any value leniently (a foreign
//! process may have written a number where text belongs).

use std::path::Path;

use rusqlite::OptionalExtension;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::filter::Filter;
use super::schema::{self, COLUMNS};

/// One audit row as stored. Missing columns read as their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AuditRow {
    pub id: i64,
    pub ts: String,
    pub skill: String,
    pub tool: String,
    pub params: String,
    pub result: String,
    pub status: String,
    pub duration_ms: i64,
    pub agent: String,
    pub workflow_id: String,
    pub user: String,
    pub risk_level: String,
    pub rationale: String,
    pub approved_by: String,
    pub risk_tier: String,
    pub surface: String,
    pub correlation_id: String,
    pub role: String,
    /// The host a fleet row was shipped from (`--source postgres://`); empty,
    /// and left out of JSON, for a row of a local file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// What [`Reader::snapshot_after`] read, all in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSnapshot {
    pub db_uuid: Option<String>,
    pub rows: Vec<AuditRow>,
    pub max_id: i64,
}

/// A read-only view of one database file.
pub struct Reader {
    conn: Connection,
    select: String,
    present: Vec<String>,
    path: std::path::PathBuf,
}

/// Row order of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// Why a database could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// No file there (a reader never creates one).
    Missing(std::path::PathBuf),
    /// SQLite refused: not a database, locked, corrupt...
    Sqlite(rusqlite::Error),
    /// Something other than a regular file is there (a FIFO would block the
    /// open forever, a directory cannot be a database).
    NotAFile(std::path::PathBuf),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(p) => write!(f, "no audit database at {}", p.display()),
            ReadError::Sqlite(e) => write!(f, "{e}"),
            ReadError::NotAFile(p) => write!(
                f,
                "{} is not a regular file (a FIFO, device or directory); point --db at an audit database",
                p.display()
            ),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> ReadError {
        ReadError::Sqlite(e)
    }
}

/// A column [`Reader::has_value`] can look a value up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Status,
    RiskLevel,
}

impl Reader {
    /// Open `path` read-only. Fails if there is no file: readers never create one.
    pub fn open(path: &Path) -> Result<Reader, ReadError> {
        match std::fs::metadata(path) {
            Err(_) => return Err(ReadError::Missing(path.to_path_buf())),
            Ok(m) if !m.is_file() => return Err(ReadError::NotAFile(path.to_path_buf())),
            Ok(_) => {}
        }
        // NO_MUTEX: a Connection is used by one thread at a time; SQLite's own
        // per-call mutex cost ~8% of a full export.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_millis(
            super::conn::BUSY_TIMEOUT_MS,
        ))?;
        let present = schema::existing_columns(&conn)?;
        // Known column names only (constants), so the list is never user text.
        let cols: Vec<String> = COLUMNS
            .iter()
            .map(|c| {
                if present.iter().any(|p| p == c) {
                    format!("\"{c}\"")
                } else {
                    "NULL".to_string()
                }
            })
            .collect();
        let select = format!("SELECT {} FROM audit_log", cols.join(", "));
        Ok(Reader {
            conn,
            select,
            present,
            path: path.to_path_buf(),
        })
    }

    /// Rows with `id > after`, oldest first, at most `limit`.
    pub fn after(&self, after: i64, limit: usize) -> rusqlite::Result<Vec<AuditRow>> {
        let sql = format!("{} WHERE id > ?1 ORDER BY id LIMIT ?2", self.select);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params![after, limit as i64], row_from)?;
        rows.collect()
    }

    /// The newest `limit` rows, newest first (the Python CLI's order).
    pub fn latest(&self, limit: usize) -> rusqlite::Result<Vec<AuditRow>> {
        let sql = format!("{} ORDER BY id DESC LIMIT ?1", self.select);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([limit as i64], row_from)?;
        rows.collect()
    }

    /// Let `stop` interrupt a long query (checked every few thousand SQLite
    /// steps; a query it stops fails with `SQLITE_INTERRUPT`). `None` removes it.
    pub fn interrupt_when<F>(&mut self, stop: Option<F>)
    where
        F: FnMut() -> bool + Send + 'static,
    {
        let _ = self.conn.progress_handler(4096, stop);
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns the table has (an old database lacks the newer ones).
    pub fn columns(&self) -> &[String] {
        &self.present
    }

    /// Stream the rows `filter` selects, in `order`, at most `limit`, to `each`
    /// (which returns false to stop). Constant memory whatever the row count.
    pub fn for_each(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        self.for_each_ref(filter, order, limit, |r| each(r.clone()))
    }

    /// [`Reader::for_each`], each row lent in one buffer refilled in place:
    /// no allocation per row once its strings have grown (a full export).
    pub fn for_each_ref(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(&AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        let (clause, mut values) = filter.to_sql(&self.present);
        let dir = match order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        let sql = format!("{}{clause} ORDER BY id {dir} LIMIT ?", self.select);
        values.push(SqlValue::Integer(
            limit.map_or(-1, |l| l.min(i64::MAX as usize) as i64),
        ));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut row = AuditRow::default();
        while let Some(r) = rows.next()? {
            fill_row(r, &mut row)?;
            if !each(&row) {
                break;
            }
        }
        Ok(())
    }

    /// The file's `db_uuid`, its rows after `after` (oldest first, at most
    /// `limit`) and its highest id, read in one transaction: whatever a
    /// rotation does meanwhile, they are all of the one file that uuid names
    /// (what `ship` keys every row on).
    pub fn snapshot_after(&self, after: i64, limit: usize) -> rusqlite::Result<FileSnapshot> {
        self.conn.execute_batch("BEGIN")?;
        let read = (|| {
            Ok(FileSnapshot {
                db_uuid: super::db_uuid::read(&self.conn)?,
                rows: self.after(after, limit)?,
                max_id: self.max_id()?,
            })
        })();
        let _ = self.conn.execute_batch("COMMIT");
        read
    }

    /// [`Reader::for_each`] collected.
    pub fn query(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
    ) -> rusqlite::Result<Vec<AuditRow>> {
        let mut out = Vec::new();
        self.for_each(filter, order, limit, |r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }

    /// The highest id (0 for an empty table).
    pub fn max_id(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM audit_log", [], |r| {
                r.get(0)
            })
    }

    /// The lowest and highest id (`(None, 0)` for an empty table).
    pub fn id_bounds(&self) -> rusqlite::Result<(Option<i64>, i64)> {
        self.conn.query_row(
            // Two subqueries: SQLite answers a lone MIN or MAX of the rowid
            // with one seek, but MIN and MAX together with a full scan.
            "SELECT (SELECT MIN(id) FROM audit_log), (SELECT COALESCE(MAX(id), 0) FROM audit_log)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The lowest id, and the last id ever given (the AUTOINCREMENT sequence,
    /// 0 if there is none): an empty table whose sequence is past a reader's
    /// place had its rows archived.
    pub fn id_floor(&self) -> rusqlite::Result<(Option<i64>, i64)> {
        let first: Option<i64> = self
            .conn
            .query_row("SELECT MIN(id) FROM audit_log", [], |r| r.get(0))?;
        let seq: i64 = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        Ok((first, seq))
    }

    /// The id of the last row written at or before `ts` (the log's text time
    /// format), by binary search over ids, as lnav's `:goto` does: ids grow
    /// with time, so each probe is one rowid seek and no ts index is needed
    /// (a Python-written database has none). `None`: every row is later.
    pub fn last_id_at_or_before(&self, ts: &str) -> rusqlite::Result<Option<i64>> {
        let at_or_after = |id: i64| -> rusqlite::Result<Option<(i64, String)>> {
            self.conn
                .query_row(
                    "SELECT id, ts FROM audit_log WHERE id >= ?1 ORDER BY id LIMIT 1",
                    [id],
                    |r| Ok((r.get(0)?, text(r.get_ref(1)?))),
                )
                .optional()
        };
        let (Some(min), max) = self.id_bounds()? else {
            return Ok(None);
        };
        match at_or_after(min)? {
            Some((_, first)) if first.as_str() <= ts => {}
            _ => return Ok(None),
        }
        let (mut lo, mut hi) = (min, max);
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            match at_or_after(mid)? {
                Some((id, t)) if id <= hi && t.as_str() <= ts => lo = id,
                _ => hi = mid - 1,
            }
        }
        Ok(Some(lo))
    }

    /// The underlying read-only connection (for aggregate queries of this module's siblings).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Whether any row has `value` in the column `field` names (`status`,
    /// `risk_level`): to warn about a filter value that matches nothing.
    pub fn has_value(&self, field: Field, value: &str) -> rusqlite::Result<bool> {
        let sql = match field {
            Field::Status => "SELECT EXISTS(SELECT 1 FROM audit_log WHERE status = ?1)",
            Field::RiskLevel => "SELECT EXISTS(SELECT 1 FROM audit_log WHERE risk_level = ?1)",
        };
        self.conn.query_row(sql, [value], |r| r.get(0))
    }

    /// Each user and how many rows it has, most first (at most 1,000): the
    /// TUI's user picker (users have no rollup; this reads every row).
    pub fn user_counts(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        let mut st = self.conn.prepare(
            "SELECT user, COUNT(*) FROM audit_log GROUP BY user ORDER BY 2 DESC, 1 LIMIT 1000",
        )?;
        let rows = st.query_map([], |r| {
            Ok((text(r.get_ref(0)?), r.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    /// Number of rows.
    pub fn count(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
    }
}

/// Any stored value as text into `out` (cleared first), `default` for NULL: a
/// reader must show what is there, whatever its type.
fn put_text(out: &mut String, v: ValueRef<'_>, default: &str) {
    out.clear();
    match v {
        ValueRef::Null => out.push_str(default),
        ValueRef::Integer(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) => {
            use std::fmt::Write;
            let _ = write!(out, "{f}");
        }
        ValueRef::Text(t) | ValueRef::Blob(t) => match std::str::from_utf8(t) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(t)),
        },
    }
}

fn text(v: ValueRef<'_>) -> String {
    let mut s = String::new();
    put_text(&mut s, v, "");
    s
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    let mut row = AuditRow::default();
    fill_row(r, &mut row)?;
    Ok(row)
}

/// The row `r` into `row`, reusing its strings' room.
fn fill_row(r: &rusqlite::Row<'_>, row: &mut AuditRow) -> rusqlite::Result<()> {
    row.id = r.get_ref(0)?.as_i64().unwrap_or_default();
    let texts: [(usize, &mut String, &str); 16] = [
        (1, &mut row.ts, ""),
        (2, &mut row.skill, ""),
        (3, &mut row.tool, ""),
        (4, &mut row.params, "{}"),
        (5, &mut row.result, "{}"),
        (6, &mut row.status, "ok"),
        (8, &mut row.agent, "unknown"),
        (9, &mut row.workflow_id, ""),
        (10, &mut row.user, "unknown"),
        (11, &mut row.risk_level, "low"),
        (12, &mut row.rationale, ""),
        (13, &mut row.approved_by, ""),
        (14, &mut row.risk_tier, ""),
        (15, &mut row.surface, ""),
        (16, &mut row.correlation_id, ""),
        (17, &mut row.role, ""),
    ];
    for (i, out, default) in texts {
        put_text(out, r.get_ref(i)?, default);
    }
    row.duration_ms = match r.get_ref(7)? {
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => f as i64,
        ValueRef::Null => 0,
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            String::from_utf8_lossy(t).trim().parse().unwrap_or(0)
        }
    };
    row.host.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain scan, at every minute of the log and around it, with
    /// gaps in the ids (rows cut by a rotation) and rows sharing a second.
    #[test]
    fn the_last_row_at_or_before_a_time_is_found_by_binary_search() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        let c = Connection::open(&db).unwrap();
        c.execute_batch(schema::CREATE_TABLE).unwrap();
        let mut rows = Vec::new();
        let mut id = 1;
        for minute in 0..120 {
            for _ in 0..(minute % 3) {
                let ts = format!(
                    "2026-11-22T{:02}:{:02}:00+00:00",
                    10 + minute / 60,
                    minute % 60
                );
                c.execute(
                    "INSERT INTO audit_log (id, ts, skill, tool) VALUES (?1, ?2, 's', 't')",
                    rusqlite::params![id, ts],
                )
                .unwrap();
                rows.push((id, ts));
                id += if id % 7 == 0 { 5 } else { 1 };
            }
        }
        let reader = Reader::open(&db).unwrap();
        let scan = |t: &str| {
            rows.iter()
                .filter(|(_, ts)| ts.as_str() <= t)
                .map(|(i, _)| *i)
                .max()
        };
        for hour in [9, 10, 11, 12] {
            for minute in 0..60 {
                let t = format!("2026-11-22T{hour:02}:{minute:02}:30+00:00");
                assert_eq!(reader.last_id_at_or_before(&t).unwrap(), scan(&t), "{t}");
            }
        }
    }

    /// The lent rows, refilled in one buffer, are the rows read one by one:
    /// a long value, then a shorter one, then NULL (its default), a number
    /// where text is kept, invalid UTF-8.
    #[test]
    fn rows_lent_from_one_buffer_equal_rows_read_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        let c = Connection::open(&db).unwrap();
        // Untyped and without constraints, and without the newer columns
        // (they read as NULL): as an old or foreign file may be.
        c.execute_batch(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, ts, skill, tool, params, \
             result, status, duration_ms, agent, workflow_id, user, risk_level)",
        )
        .unwrap();
        let long = "x".repeat(5000);
        let values: [(&str, rusqlite::types::Value); 5] = [
            ("long", rusqlite::types::Value::Text(long)),
            ("short", rusqlite::types::Value::Text("y".into())),
            ("null", rusqlite::types::Value::Null),
            ("number", rusqlite::types::Value::Integer(42)),
            (
                "bytes",
                rusqlite::types::Value::Blob(vec![b'a', 0xff, b'b']),
            ),
        ];
        for (tool, v) in &values {
            c.execute(
                "INSERT INTO audit_log (ts, skill, tool, params, result, status, agent, \
                 workflow_id, user, risk_level, duration_ms) \
                 VALUES ('2026-11-22T10:00:00+00:00', 's', ?1, ?2, ?2, ?2, ?2, ?2, ?2, ?2, ?2)",
                rusqlite::params![tool, v],
            )
            .unwrap();
        }
        let reader = Reader::open(&db).unwrap();
        let one_by_one = reader.after(0, 100).unwrap();
        assert_eq!(one_by_one.len(), values.len());
        let mut lent = Vec::new();
        reader
            .for_each_ref(&Filter::default(), Order::OldestFirst, None, |r| {
                lent.push(r.clone());
                true
            })
            .unwrap();
        assert_eq!(lent, one_by_one);
        // NULLs read as their defaults, after a row that had values.
        assert_eq!(lent[2].params, "{}");
        assert_eq!(lent[2].status, "ok");
        assert_eq!(lent[2].user, "unknown");
        assert_eq!(lent[3].params, "42");
        assert_eq!(lent[3].duration_ms, 42);
    }
}
