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

/// Version of the derived structures in the shared file; bump to rebuild them.
/// 2: the rollups (and the trigger that kept them, which every writer, the
/// Python package's included, paid for on each insert) moved to the readers'
/// sidecar index (`sidecar`).
pub const DERIVED_VERSION: &str = "2";

/// The indexes the writer keeps so `log` stays fast on millions of rows.
/// Only constant text; no user input.
const DERIVED: &str = "
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log(ts);
CREATE INDEX IF NOT EXISTS audit_log_status ON audit_log(status);
CREATE INDEX IF NOT EXISTS audit_log_tool ON audit_log(tool, skill);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// What version 1 put in the shared file and version 2 no longer keeps there.
const LEGACY_ROLLUPS: &str = "
DROP TRIGGER IF EXISTS audit_rollup_insert;
DROP TABLE IF EXISTS audit_rollup_status;
DROP TABLE IF EXISTS audit_rollup_tool;
DROP TABLE IF EXISTS audit_rollup_agent;
";

/// Whether the derived structures of this version are in place.
pub fn derived_ready(conn: &Connection) -> bool {
    conn.query_row(
        "SELECT value FROM audit_meta WHERE key = 'derived'",
        [],
        |r| r.get::<_, String>(0),
    )
    .is_ok_and(|v| v == DERIVED_VERSION)
}

/// Drop version 1's rollup trigger and tables if the file has them: one
/// short transaction at any size (nothing is rebuilt), so no writer, ours or
/// Python's, keeps paying for them on every insert.
fn drop_legacy_rollups(conn: &Connection) -> rusqlite::Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_rollup_insert'",
        [],
        |r| r.get(0),
    )?;
    if has {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {LEGACY_ROLLUPS} COMMIT;"))
            .inspect_err(|_| {
                let _ = conn.execute_batch("ROLLBACK");
            })?;
    }
    Ok(())
}

/// Rows under which a writer builds the derived structures by itself. Building
/// them holds the write lock (about 0.3 s at this size); on a bigger legacy
/// database that would outlast other writers' 5 s busy timeout, so it waits
/// for an explicit `vmware-audit db optimize`. A rotated file starts empty.
pub const AUTO_DERIVE_MAX_ROWS: i64 = 50_000;

/// Create the indexes if missing, in one transaction, and drop version 1's
/// rollups. Once per database file; a no-op after. With `auto`, the indexes
/// only for a database of at most [`AUTO_DERIVE_MAX_ROWS`] rows.
pub fn ensure_derived(conn: &Connection, auto: bool) -> rusqlite::Result<()> {
    if derived_ready(conn) {
        return Ok(());
    }
    drop_legacy_rollups(conn)?;
    if auto {
        let span: i64 = conn.query_row(
            "SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) FROM audit_log",
            [],
            |r| r.get(0),
        )?;
        if span > AUTO_DERIVE_MAX_ROWS {
            return Ok(());
        }
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        if !derived_ready(conn) {
            conn.execute_batch(DERIVED)?;
            conn.execute(
                "INSERT OR REPLACE INTO audit_meta (key, value) VALUES ('derived', ?1)",
                [DERIVED_VERSION],
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
