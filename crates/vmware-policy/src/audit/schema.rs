//! The `audit_log` table shared with the Python family, and its in-place migration.

use rusqlite::Connection;

/// The DDL, column for column as the Python package writes it.
pub const CREATE_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          TEXT    NOT NULL,
    skill       TEXT    NOT NULL,
    tool        TEXT    NOT NULL,
    params      TEXT    NOT NULL DEFAULT '{}',
    result      TEXT    NOT NULL DEFAULT '{}',
    status      TEXT    NOT NULL DEFAULT 'ok',
    duration_ms INTEGER NOT NULL DEFAULT 0,
    agent       TEXT    NOT NULL DEFAULT 'unknown',
    workflow_id TEXT    NOT NULL DEFAULT '',
    user        TEXT    NOT NULL DEFAULT 'unknown',
    risk_level  TEXT    NOT NULL DEFAULT 'low',
    rationale   TEXT    NOT NULL DEFAULT '',
    approved_by TEXT    NOT NULL DEFAULT '',
    risk_tier   TEXT    NOT NULL DEFAULT '',
    surface     TEXT    NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    role        TEXT    NOT NULL DEFAULT ''
)
";

/// Columns added after the original 12; an older database gains them in place.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("rationale", "TEXT NOT NULL DEFAULT ''"),
    ("approved_by", "TEXT NOT NULL DEFAULT ''"),
    ("risk_tier", "TEXT NOT NULL DEFAULT ''"),
    ("surface", "TEXT NOT NULL DEFAULT ''"),
    ("correlation_id", "TEXT NOT NULL DEFAULT ''"),
    ("role", "TEXT NOT NULL DEFAULT ''"),
];

/// Every column a row has, in table order.
pub const COLUMNS: &[&str] = &[
    "id",
    "ts",
    "skill",
    "tool",
    "params",
    "result",
    "status",
    "duration_ms",
    "agent",
    "workflow_id",
    "user",
    "risk_level",
    "rationale",
    "approved_by",
    "risk_tier",
    "surface",
    "correlation_id",
    "role",
];

/// The insert, with every value bound.
pub const INSERT: &str = "INSERT INTO audit_log (ts, skill, tool, params, result, status, duration_ms, agent, \
     workflow_id, user, risk_level, rationale, approved_by, risk_tier, surface, correlation_id, role) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

/// The columns the table has now.
pub fn existing_columns(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA table_info(audit_log)")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

/// Create the table if missing and add the columns an older database lacks.
/// Idempotent, and safe when another process migrates at the same moment.
pub fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    // Read first: a write lock is taken only when something must change, so a
    // writer opening a database another process is busy with does not contend.
    let mut existing = existing_columns(conn)?;
    if existing.is_empty() {
        conn.execute_batch(CREATE_TABLE)?;
        existing = existing_columns(conn)?;
    }
    for (name, decl) in MIGRATIONS {
        if existing.iter().any(|c| c == name) {
            continue;
        }
        // Both names are constants of this module, never user input.
        match conn.execute_batch(&format!("ALTER TABLE audit_log ADD COLUMN {name} {decl}")) {
            Ok(()) => {}
            Err(e) if e.to_string().contains("duplicate column name") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What earlier versions kept in the shared file besides rows, and no version
/// keeps there now: version 1's rollup tables and the trigger that kept them,
/// version 2's indexes on `ts`, `status` and `(tool, skill)`. Every insert
/// paid for them (a guarded durable row wrote 4x the WAL frames of the row
/// alone), the Python package's too, and building them held the write lock
/// for seconds. The readers' sidecar (`sidecar`) answers what they answered.
/// Each is dropped in its own transaction; an index is first read whole
/// within that transaction, before it takes the write lock, so the drop
/// itself walks pages in memory.
const LEGACY: [(&str, &str); 7] = [
    (
        "audit_rollup_insert",
        "DROP TRIGGER IF EXISTS audit_rollup_insert",
    ),
    (
        "audit_rollup_status",
        "DROP TABLE IF EXISTS audit_rollup_status",
    ),
    (
        "audit_rollup_tool",
        "DROP TABLE IF EXISTS audit_rollup_tool",
    ),
    (
        "audit_rollup_agent",
        "DROP TABLE IF EXISTS audit_rollup_agent",
    ),
    ("audit_log_ts", "DROP INDEX IF EXISTS audit_log_ts"),
    ("audit_log_status", "DROP INDEX IF EXISTS audit_log_status"),
    ("audit_log_tool", "DROP INDEX IF EXISTS audit_log_tool"),
];

/// What of [`LEGACY`] the file still has: (name, its DROP).
fn legacy_present(conn: &Connection) -> rusqlite::Result<Vec<(&'static str, &'static str)>> {
    let mut st = conn.prepare_cached("SELECT 1 FROM sqlite_master WHERE name = ?1")?;
    let mut out = Vec::new();
    for (name, drop) in LEGACY {
        if st.exists([name])? {
            out.push((name, drop));
        }
    }
    Ok(out)
}

/// Drop what earlier versions derived in the shared file, if it has any:
/// short transactions (pages go to the free list, unzeroed; nothing is
/// rebuilt), once per file; a read of the schema after.
pub fn drop_legacy(conn: &Connection) -> rusqlite::Result<()> {
    let present = legacy_present(conn)?;
    if present.is_empty() {
        return Ok(());
    }
    // Zeroing every freed page (a build option some SQLites default to)
    // would write each index page to the WAL again under the lock.
    conn.execute_batch("PRAGMA secure_delete = OFF")?;
    // Room to hold an index whole while it is dropped (256 MB at most, for
    // this once per file), then back to what it was.
    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA cache_size = -262144")?;
    let mut result = Ok(());
    for (name, drop) in present {
        result = if drop.starts_with("DROP INDEX") {
            drop_index_warm(conn, name, drop)
        } else {
            drop_locked(conn, drop)
        };
        if result.is_err() {
            break;
        }
    }
    let _ = conn.execute_batch(&format!(
        "PRAGMA cache_size = {cache}; PRAGMA shrink_memory;"
    ));
    result
}

/// Read the index whole in a read transaction, then drop it in the same one
/// (SQLite upgrades it to a write): the write lock is held for a walk of
/// cached pages, not for reading the index from the file (the longest hold
/// on a 3M-row file: 45-57 ms against 213). If another writer committed in between,
/// the upgrade is refused: again, then the plain way.
fn drop_index_warm(conn: &Connection, name: &str, drop: &str) -> rusqlite::Result<()> {
    let warm = warm_query(name);
    for _ in 0..5 {
        conn.execute_batch("BEGIN")?;
        let done = conn
            .query_row(&warm, [], |r| r.get::<_, i64>(0))
            .and_then(|_| conn.execute_batch(drop))
            .and_then(|_| conn.execute_batch("COMMIT"));
        match done {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                let busy = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                    if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked));
                if !busy {
                    return Err(e);
                }
            }
        }
    }
    drop_locked(conn, drop)
}

/// A read of every page of index `name`: a count of its first column. A
/// plain `count(*)` is answered from the smallest index, whatever INDEXED BY
/// says, and left the one to drop cold (30,000 page reads under the lock at
/// 3M rows).
fn warm_query(name: &str) -> String {
    let column = match name {
        "audit_log_ts" => "ts",
        "audit_log_status" => "status",
        _ => "tool",
    };
    // `name` and `column` are constants.
    format!("SELECT count(\"{column}\") FROM audit_log INDEXED BY \"{name}\"")
}

fn drop_locked(conn: &Connection, drop: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {drop}; COMMIT;"))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each index's warm read walks that index, not a smaller one.
    #[test]
    fn the_warm_read_of_each_legacy_index_scans_that_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, ts TEXT, status TEXT, tool TEXT, skill TEXT);
             CREATE INDEX audit_log_ts ON audit_log(ts);
             CREATE INDEX audit_log_status ON audit_log(status);
             CREATE INDEX audit_log_tool ON audit_log(tool, skill);",
        )
        .unwrap();
        for name in ["audit_log_ts", "audit_log_status", "audit_log_tool"] {
            let plan: String = conn
                .query_row(
                    &format!("EXPLAIN QUERY PLAN {}", warm_query(name)),
                    [],
                    |r| r.get(3),
                )
                .unwrap();
            assert!(plan.ends_with(&format!("INDEX {name}")), "{name}: {plan}");
        }
    }
}
