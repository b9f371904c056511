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
